//! Every failure a command can end with: a code from the contract and a
//! message, printed as `{"code","message"}` on stdout with exit code 1.

use serde::Serialize;
use serde_json::{Map, Value};

/// A command's failure.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ClientError {
    /// Stable code (`NOT_AUTHENTICATED`, `POLLING_TIMEOUT`, ...).
    pub code: String,
    /// What went wrong, for a person; never holds a token.
    pub message: String,
    /// Extra fields (`retryable`, `fieldErrors`, `duplicate_spend_request`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The codes this client answers with. The contract's codes come first; the
/// rest are this client's own, for failures the contract does not name.
pub mod codes {
    pub const NOT_AUTHENTICATED: &str = "NOT_AUTHENTICATED";
    pub const INVALID_INPUT: &str = "INVALID_INPUT";
    pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const POLLING_TIMEOUT: &str = "POLLING_TIMEOUT";
    pub const NO_PAYMENT_METHOD: &str = "NO_PAYMENT_METHOD";
    pub const INVALID_RESPONSE: &str = "INVALID_RESPONSE";
    pub const OUTPUT_FILE_EXISTS: &str = "OUTPUT_FILE_EXISTS";
    pub const OUTPUT_FILE_WRITE_ERROR: &str = "OUTPUT_FILE_WRITE_ERROR";
    pub const SPEND_REQUEST_RATE_LIMITED: &str = "spend_request_rate_limited";
    pub const UNKNOWN: &str = "UNKNOWN";
    // This client's own.
    pub const NETWORK_ERROR: &str = "NETWORK_ERROR";
    pub const SERVER_ERROR: &str = "SERVER_ERROR";
    pub const API_ERROR: &str = "API_ERROR";
    pub const ACCESS_DENIED: &str = "ACCESS_DENIED";
    pub const LOGIN_EXPIRED: &str = "LOGIN_EXPIRED";
    pub const CORRUPT_CREDENTIALS: &str = "CORRUPT_CREDENTIALS";
    pub const NOT_PAYABLE: &str = "NOT_PAYABLE";
    pub const NO_STRIPE_CHALLENGE: &str = "NO_STRIPE_CHALLENGE";
    pub const INVALID_CHALLENGE: &str = "INVALID_CHALLENGE";
    pub const CHALLENGE_EXPIRED: &str = "CHALLENGE_EXPIRED";
    pub const SPEND_REQUEST_NOT_APPROVED: &str = "SPEND_REQUEST_NOT_APPROVED";
    pub const WRONG_CREDENTIAL_TYPE: &str = "WRONG_CREDENTIAL_TYPE";
    pub const NETWORK_MISMATCH: &str = "NETWORK_MISMATCH";
    pub const AMOUNT_MISMATCH: &str = "AMOUNT_MISMATCH";
    pub const TERMS_CHANGED: &str = "TERMS_CHANGED";
    pub const CROSS_ORIGIN_REDIRECT: &str = "CROSS_ORIGIN_REDIRECT";
    pub const SPT_UNAVAILABLE: &str = "SPT_UNAVAILABLE";
    pub const REDIRECT_REFUSED: &str = "REDIRECT_REFUSED";
    pub const REVOKE_FAILED: &str = "REVOKE_FAILED";
    pub const PAYMENT_OUTCOME_UNKNOWN: &str = "PAYMENT_OUTCOME_UNKNOWN";
}

impl ClientError {
    /// An error with `code` and `message`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// Adds an extra field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// `INVALID_INPUT`: a flag or argument that cannot be used.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(codes::INVALID_INPUT, message)
    }

    /// `VALIDATION_ERROR` naming the field.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(codes::VALIDATION_ERROR, format!("{field}: {message}")).with(
            "fieldErrors",
            serde_json::json!([{ "field": field, "message": message }]),
        )
    }

    /// `NOT_AUTHENTICATED` with the way out.
    pub fn not_authenticated(detail: &str) -> Self {
        Self::new(
            codes::NOT_AUTHENTICATED,
            format!("{detail}: run `link-ref auth login` first"),
        )
    }

    /// The JSON object printed for this error.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self)
            .unwrap_or_else(|_| serde_json::json!({"code": self.code, "message": self.message}))
    }
}

/// Result of a command.
pub type Result<T> = std::result::Result<T, ClientError>;
