//! The credential a client sends (`Authorization: Payment <base64url JSON>`)
//! and the receipt a merchant answers with (`Payment-Receipt`).
//!
//! Both are the `mpp` crate's types and codecs; this module adds the errors
//! and views Link's tools need.

use mpp::{PaymentCredential, Receipt};
use serde_json::Value;

use crate::problem::ProblemType;

/// Why an `Authorization` value is not a usable Payment credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed payment credential: {reason}")]
pub struct CredentialError {
    /// What is wrong with it.
    pub reason: String,
}

impl CredentialError {
    /// The problem type a merchant answers with.
    pub fn problem(&self) -> ProblemType {
        ProblemType::MalformedCredential
    }
}

/// Formats a credential as the value of its header (`Payment <base64url>`).
pub fn format_credential(credential: &PaymentCredential) -> String {
    // Serializing our own credential (strings and JSON values) cannot fail.
    mpp::format_authorization(credential).unwrap_or_default()
}

/// Parses a credential header value (`Payment <base64url JSON>`).
pub fn parse_credential(value: &str) -> Result<PaymentCredential, CredentialError> {
    mpp::parse_authorization(value).map_err(|e| CredentialError {
        reason: e.to_string(),
    })
}

/// The shared payment token a stripe credential carries: `payload.spt`
/// (charge) or `payload.grantedToken` (session).
pub fn spt_of(credential: &PaymentCredential) -> Option<&str> {
    credential
        .payload
        .get("spt")
        .or_else(|| credential.payload.get("grantedToken"))
        .and_then(Value::as_str)
}

/// Why a `Payment-Receipt` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable Payment-Receipt: {reason}")]
pub struct ReceiptError {
    /// What is wrong with it.
    pub reason: String,
}

/// Formats the receipt of a stripe payment settled by PaymentIntent `reference`.
pub fn stripe_receipt(reference: &str) -> Receipt {
    Receipt::success("stripe", reference)
}

/// Formats a receipt as its header value.
pub fn format_receipt(receipt: &Receipt) -> String {
    mpp::format_receipt(receipt).unwrap_or_default()
}

/// Parses a `Payment-Receipt` value.
pub fn parse_receipt(value: &str) -> Result<Receipt, ReceiptError> {
    mpp::parse_receipt(value.trim()).map_err(|e| ReceiptError {
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select_stripe_challenge;

    #[test]
    fn credential_round_trips_and_carries_the_spt() {
        let request = mpp::base64url_encode(
            br#"{"amount":"100","currency":"usd","methodDetails":{"networkId":"profile_a"}}"#,
        );
        let header = format!(
            r#"Payment id="c1", realm="r", method="stripe", intent="charge", request="{request}""#
        );
        let challenge = select_stripe_challenge([header]).unwrap();
        let value = format_credential(&challenge.spt_credential("spt_123"));
        assert!(value.starts_with("Payment "));
        let parsed = parse_credential(&value).unwrap();
        assert_eq!(spt_of(&parsed), Some("spt_123"));
        assert_eq!(parsed.challenge.id, "c1");
        assert_eq!(parsed.challenge.request.raw(), request);
    }

    #[test]
    fn garbage_credentials_are_malformed() {
        for value in ["", "Payment", "Payment !!!", "Bearer abc", "Payment e30"] {
            let err = parse_credential(value).unwrap_err();
            assert_eq!(err.problem(), ProblemType::MalformedCredential, "{value}");
        }
    }

    #[test]
    fn receipt_round_trips() {
        let value = format_receipt(&stripe_receipt("pi_1"));
        let receipt = parse_receipt(&value).unwrap();
        assert_eq!(receipt.reference, "pi_1");
        assert_eq!(receipt.method.as_str(), "stripe");
        assert!(parse_receipt("not base64 !").is_err());
    }
}
