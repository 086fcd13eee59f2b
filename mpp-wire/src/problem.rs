//! Problem Details (RFC 9457) for the `Payment` scheme's failures.

use serde::{Deserialize, Serialize};

/// Where the problem type URIs live.
pub const PROBLEM_TYPE_BASE: &str = "https://paymentauth.org/problems/";

/// The problem types a merchant answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    /// No credential was sent.
    PaymentRequired,
    /// The amount is too low.
    PaymentInsufficient,
    /// The challenge or the authorization expired.
    PaymentExpired,
    /// The proof is invalid (stripe: SPT unknown, used, for another merchant, over limit).
    VerificationFailed,
    /// The method is not accepted.
    MethodUnsupported,
    /// The credential could not be decoded.
    MalformedCredential,
    /// The challenge id is unknown (never issued, tampered) or already used.
    /// An expired challenge is [`ProblemType::PaymentExpired`] (draft -02).
    InvalidChallenge,
    /// The payment needs the payer to act (a PaymentIntent in `requires_action`).
    PaymentActionRequired,
    /// The request is malformed apart from the credential (e.g. several credentials). 400.
    BadRequest,
    /// The credential decodes but its payload is not what the method expects.
    InvalidPayload,
    /// The server could not reach its payment processor or failed itself. 500.
    InternalPaymentError,
}

impl ProblemType {
    /// Every problem type of draft -02 (the first eight in the order of the
    /// earlier table, then those -02 added).
    pub const ALL: [ProblemType; 11] = [
        Self::PaymentRequired,
        Self::PaymentInsufficient,
        Self::PaymentExpired,
        Self::VerificationFailed,
        Self::MethodUnsupported,
        Self::MalformedCredential,
        Self::InvalidChallenge,
        Self::PaymentActionRequired,
        Self::BadRequest,
        Self::InvalidPayload,
        Self::InternalPaymentError,
    ];

    /// The code that ends the type URI.
    pub fn code(self) -> &'static str {
        match self {
            Self::PaymentRequired => "payment-required",
            Self::PaymentInsufficient => "payment-insufficient",
            Self::PaymentExpired => "payment-expired",
            Self::VerificationFailed => "verification-failed",
            Self::MethodUnsupported => "method-unsupported",
            Self::MalformedCredential => "malformed-credential",
            Self::InvalidChallenge => "invalid-challenge",
            Self::PaymentActionRequired => "payment-action-required",
            Self::BadRequest => "bad-request",
            Self::InvalidPayload => "invalid-payload",
            Self::InternalPaymentError => "internal-payment-error",
        }
    }

    /// The HTTP status that carries it (draft -02): 400 for an unsupported
    /// method or a bad request, 500 for an internal payment error, else 402.
    pub fn status(self) -> u16 {
        match self {
            Self::MethodUnsupported | Self::BadRequest => 400,
            Self::InternalPaymentError => 500,
            _ => 402,
        }
    }

    /// A short human title.
    pub fn title(self) -> &'static str {
        match self {
            Self::PaymentRequired => "Payment required",
            Self::PaymentInsufficient => "Payment insufficient",
            Self::PaymentExpired => "Payment expired",
            Self::VerificationFailed => "Payment verification failed",
            Self::MethodUnsupported => "Payment method unsupported",
            Self::MalformedCredential => "Malformed payment credential",
            Self::InvalidChallenge => "Invalid payment challenge",
            Self::PaymentActionRequired => "Payment action required",
            Self::BadRequest => "Bad request",
            Self::InvalidPayload => "Invalid payment payload",
            Self::InternalPaymentError => "Internal payment error",
        }
    }

    /// The full type URI.
    pub fn uri(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.code())
    }

    /// Reads a type URI (or a bare code) back.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let code = uri.strip_prefix(PROBLEM_TYPE_BASE).unwrap_or(uri);
        Self::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// A Problem Details body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The type URI.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Problem {
    /// A problem of `kind` with a detail for this occurrence.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            type_uri: kind.uri(),
            title: kind.title().to_owned(),
            status: kind.status(),
            detail: detail.into(),
        }
    }

    /// The known type of this problem, if it is one of the scheme's.
    pub fn kind(&self) -> Option<ProblemType> {
        ProblemType::from_uri(&self.type_uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip_and_statuses_follow_the_spec() {
        for kind in ProblemType::ALL {
            assert_eq!(ProblemType::from_uri(&kind.uri()), Some(kind));
        }
        let statuses: Vec<(&str, u16)> = ProblemType::ALL
            .into_iter()
            .map(|p| (p.code(), p.status()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("payment-required", 402),
                ("payment-insufficient", 402),
                ("payment-expired", 402),
                ("verification-failed", 402),
                ("method-unsupported", 400),
                ("malformed-credential", 402),
                ("invalid-challenge", 402),
                ("payment-action-required", 402),
                ("bad-request", 400),
                ("invalid-payload", 402),
                ("internal-payment-error", 500),
            ]
        );
        let json = serde_json::to_value(Problem::new(ProblemType::PaymentExpired, "late")).unwrap();
        assert_eq!(
            json["type"],
            "https://paymentauth.org/problems/payment-expired"
        );
        assert_eq!(json["status"], 402);
    }
}
