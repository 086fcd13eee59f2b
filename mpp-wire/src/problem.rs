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
    /// The challenge id is unknown, expired or already used.
    InvalidChallenge,
    /// The payment needs the payer to act (a PaymentIntent in `requires_action`).
    PaymentActionRequired,
}

impl ProblemType {
    /// Every problem type, in the order of the spec's table.
    pub const ALL: [ProblemType; 8] = [
        Self::PaymentRequired,
        Self::PaymentInsufficient,
        Self::PaymentExpired,
        Self::VerificationFailed,
        Self::MethodUnsupported,
        Self::MalformedCredential,
        Self::InvalidChallenge,
        Self::PaymentActionRequired,
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
        }
    }

    /// The HTTP status that carries it: 400 for an unsupported method, else 402.
    pub fn status(self) -> u16 {
        match self {
            Self::MethodUnsupported => 400,
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
        assert_eq!(ProblemType::MethodUnsupported.status(), 400);
        assert_eq!(ProblemType::VerificationFailed.status(), 402);
        let json = serde_json::to_value(Problem::new(ProblemType::PaymentExpired, "late")).unwrap();
        assert_eq!(
            json["type"],
            "https://paymentauth.org/problems/payment-expired"
        );
        assert_eq!(json["status"], 402);
    }
}
