//! Where a client sends its credential: the `header` allow-list of
//! draft-httpauth-payment-02.
//!
//! A challenge without `header` (or with `Authorization`, any case) selects
//! `Authorization`; `header="Payment-Authorization"` (any case) selects that
//! field, and the client keeps its own `Authorization`. Any other value is a
//! challenge the client must not pay: it sends no credential anywhere.
//!
//! Decoding does not refuse such a challenge (it is well formed, and `mpp
//! decode` shows it); [`crate::StripeChallenge::credential_field`] is the check
//! a client runs before paying.

use std::fmt;

/// The HTTP field a credential travels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialHeader {
    /// `Authorization` (the default): the credential replaces any caller `Authorization`.
    Authorization,
    /// `Payment-Authorization`: the caller's `Authorization` is kept.
    PaymentAuthorization,
}

impl CredentialHeader {
    /// The field name, as the draft spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorization => "Authorization",
            Self::PaymentAuthorization => "Payment-Authorization",
        }
    }

    /// Reads a challenge's `header` param (`None` when absent).
    pub fn from_param(header: Option<&str>) -> Result<Self, UnsupportedCredentialHeader> {
        match header {
            None => Ok(Self::Authorization),
            Some(name) if name.eq_ignore_ascii_case("Authorization") => Ok(Self::Authorization),
            Some(name) if name.eq_ignore_ascii_case("Payment-Authorization") => {
                Ok(Self::PaymentAuthorization)
            }
            Some(name) => Err(UnsupportedCredentialHeader {
                header: name.to_owned(),
            }),
        }
    }
}

impl fmt::Display for CredentialHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A challenge names a credential header outside the allow-list: a client
/// must not pay it and sends no credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported payment credential header {header:?}: only Authorization (default) and Payment-Authorization are supported"
)]
pub struct UnsupportedCredentialHeader {
    /// The header the challenge named, as written.
    pub header: String,
}

impl UnsupportedCredentialHeader {
    /// The stable code.
    pub const CODE: &'static str = "unsupported_credential_header";

    /// The stable code, `unsupported_credential_header`.
    pub fn code(&self) -> &'static str {
        Self::CODE
    }

    /// The challenge param at fault: `header`.
    pub fn field(&self) -> &'static str {
        "header"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_is_authorization_and_payment_authorization_in_any_case() {
        for (param, expected) in [
            (None, CredentialHeader::Authorization),
            (Some("Authorization"), CredentialHeader::Authorization),
            (Some("authorization"), CredentialHeader::Authorization),
            (
                Some("Payment-Authorization"),
                CredentialHeader::PaymentAuthorization,
            ),
            (
                Some("PAYMENT-authorization"),
                CredentialHeader::PaymentAuthorization,
            ),
        ] {
            assert_eq!(
                CredentialHeader::from_param(param),
                Ok(expected),
                "{param:?}"
            );
        }
        for other in [
            "X-Payment",
            "Payment-Credential",
            "Cookie",
            "Proxy-Authorization",
        ] {
            let error = CredentialHeader::from_param(Some(other)).unwrap_err();
            assert_eq!(error.code(), "unsupported_credential_header");
            assert_eq!(error.field(), "header");
            assert_eq!(error.header, other);
            assert!(error.to_string().contains(other));
        }
    }
}
