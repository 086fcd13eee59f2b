//! The one error type of mock-link, and the three wire shapes it renders to.
//!
//! - API host and control API: `{"error": {"message", "code", ...extra}}`
//! - auth host (OAuth): `{"error", "error_description", ...extra}`
//! - Stripe subset (`/v1`): `{"error": {"type", "code", "message", "param"}}`

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::{ToResponse, ToSchema};

/// Which wire shape an error takes; chosen by the host the path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// `/device/...`
    OAuth,
    /// `/v1/...`
    Stripe,
    /// Everything else (API host, control API, pages).
    Api,
}

impl ErrorShape {
    /// The shape used for requests to `path`.
    pub fn for_path(path: &str) -> Self {
        if path.starts_with("/device/") {
            Self::OAuth
        } else if path.starts_with("/v1/") {
            Self::Stripe
        } else {
            Self::Api
        }
    }
}

/// Every failure a handler can answer with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API-host (or control API) error.
    #[error("{status} {code}: {message}")]
    Api {
        status: StatusCode,
        code: String,
        message: String,
        /// Extra members of the `error` object (e.g. `param`, `duplicate_spend_request`).
        extra: Map<String, Value>,
    },
    /// An OAuth error on the auth host.
    #[error("{status} {error}: {description}")]
    OAuth {
        status: StatusCode,
        error: String,
        description: String,
        /// Extra top-level members (e.g. `eligibility`).
        extra: Map<String, Value>,
    },
    /// A Stripe-shaped error on `/v1`.
    #[error("{status} {kind}/{code}: {message}")]
    Stripe {
        status: StatusCode,
        kind: &'static str,
        code: String,
        message: String,
        param: Option<String>,
    },
}

impl Error {
    /// An API error without extra members.
    pub fn api(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self::Api {
            status,
            code: code.to_owned(),
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// 400 naming the offending field in `param` and in the message.
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        Self::param_error("parameter_invalid", param, message)
    }

    /// 400 with its own `code`, naming the offending field in `param` and in the message.
    pub fn param_error(code: &str, param: &str, message: impl Into<String>) -> Self {
        let mut extra = Map::new();
        extra.insert("param".into(), Value::String(param.to_owned()));
        Self::Api {
            status: StatusCode::BAD_REQUEST,
            code: code.to_owned(),
            message: format!("{param}: {}", message.into()),
            extra,
        }
    }

    /// 400 for a required field that is absent.
    pub fn missing_param(param: &str) -> Self {
        let mut extra = Map::new();
        extra.insert("param".into(), Value::String(param.to_owned()));
        Self::Api {
            status: StatusCode::BAD_REQUEST,
            code: "parameter_missing".into(),
            message: format!("{param}: this field is required"),
            extra,
        }
    }

    /// 404 for an unknown resource.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::api(
            StatusCode::NOT_FOUND,
            "resource_missing",
            format!("No such {what}: '{id}'"),
        )
    }

    /// 401 on the API host.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::api(StatusCode::UNAUTHORIZED, "invalid_token", message)
    }

    /// An OAuth error with status 400.
    pub fn oauth(error: &str, description: impl Into<String>) -> Self {
        Self::OAuth {
            status: StatusCode::BAD_REQUEST,
            error: error.to_owned(),
            description: description.into(),
            extra: Map::new(),
        }
    }

    /// A Stripe `invalid_request_error` with status 400.
    pub fn stripe(code: &str, message: impl Into<String>, param: Option<&str>) -> Self {
        Self::Stripe {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: code.to_owned(),
            message: message.into(),
            param: param.map(str::to_owned),
        }
    }

    /// The same problem rendered in `shape` (used by shared plumbing such as body parsing).
    pub fn in_shape(shape: ErrorShape, status: StatusCode, code: &str, message: &str) -> Self {
        match shape {
            ErrorShape::Api => Self::api(status, code, message),
            ErrorShape::OAuth => Self::OAuth {
                status,
                error: if status == StatusCode::UNAUTHORIZED {
                    "invalid_client".into()
                } else {
                    "invalid_request".into()
                },
                description: message.to_owned(),
                extra: Map::new(),
            },
            ErrorShape::Stripe => Self::Stripe {
                status,
                kind: "invalid_request_error",
                code: code.to_owned(),
                message: message.to_owned(),
                param: None,
            },
        }
    }

    /// Adds a member to an API error's `error` object or to an OAuth error's body
    /// (no-op for Stripe errors).
    pub fn with_extra(mut self, key: &str, value: Value) -> Self {
        if let Self::Api { extra, .. } | Self::OAuth { extra, .. } = &mut self {
            extra.insert(key.to_owned(), value);
        }
        self
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Api { status, .. } | Self::OAuth { status, .. } | Self::Stripe { status, .. } => {
                *status
            }
        }
    }

    /// The JSON body this error answers with.
    pub fn body(&self) -> Value {
        match self {
            Self::Api {
                code,
                message,
                extra,
                ..
            } => {
                let mut object = Map::new();
                object.insert("message".into(), Value::String(message.clone()));
                object.insert("code".into(), Value::String(code.clone()));
                for (key, value) in extra {
                    object.insert(key.clone(), value.clone());
                }
                json!({ "error": object })
            }
            Self::OAuth {
                error,
                description,
                extra,
                ..
            } => {
                let mut object = Map::new();
                object.insert("error".into(), Value::String(error.clone()));
                object.insert(
                    "error_description".into(),
                    Value::String(description.clone()),
                );
                for (key, value) in extra {
                    object.insert(key.clone(), value.clone());
                }
                Value::Object(object)
            }
            Self::Stripe {
                kind,
                code,
                message,
                param,
                ..
            } => {
                json!({ "error": { "type": kind, "code": code, "message": message, "param": param } })
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self.body())).into_response();
        if status == StatusCode::UNAUTHORIZED && matches!(self, Self::Api { .. }) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

/// The body of an API-host or control-API error, as [`Error::body`] renders it (the OpenAPI
/// schema; a test checks every shape deserializes into it).
#[derive(Debug, Deserialize, ToSchema, ToResponse)]
#[response(description = "An error in the API host's shape")]
#[allow(dead_code)] // Read by the tests; the document uses the schema.
pub struct ApiErrorBody {
    pub error: ApiErrorDetail,
}

/// The `error` object of [`ApiErrorBody`]; some errors add more members (e.g.
/// `duplicate_spend_request`, `required_scope`, `verification_url`).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // Read by the tests; the document uses the schema.
pub struct ApiErrorDetail {
    pub message: String,
    /// A stable machine-readable code (`parameter_invalid`, `invalid_token`, ...).
    pub code: String,
    /// The request field at fault, when one is.
    #[serde(default)]
    pub param: Option<String>,
}

/// The body of an auth-host (OAuth, RFC 6749 section 5.2) error.
#[derive(Debug, Deserialize, ToSchema, ToResponse)]
#[response(description = "An OAuth error (RFC 6749 section 5.2)")]
#[allow(dead_code)] // Read by the tests; the document uses the schema.
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_grant`, `authorization_pending`, `slow_down`, ...
    pub error: String,
    pub error_description: String,
    /// What the account lacks, with `account_ineligible`.
    #[serde(default)]
    pub eligibility: Option<Value>,
}

/// The body of a Stripe-shaped error on `/v1`.
#[derive(Debug, Deserialize, ToSchema, ToResponse)]
#[response(description = "A Stripe error")]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Read by the tests; the document uses the schema.
pub struct StripeErrorBody {
    pub error: StripeErrorDetail,
}

/// The `error` object of [`StripeErrorBody`].
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Read by the tests; the document uses the schema.
pub struct StripeErrorDetail {
    /// `invalid_request_error`, `card_error`, `authentication_error`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub code: String,
    pub message: String,
    pub param: Option<String>,
}

/// The result type of every handler.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenAPI error schemas match what every shape really renders.
    #[test]
    fn every_error_shape_deserializes_into_its_schema() {
        let api = Error::invalid_param("amount", "must be positive")
            .with_extra("duplicate_spend_request", json!({"id": "lsrq_1"}));
        let body: ApiErrorBody = serde_json::from_value(api.body()).unwrap();
        assert_eq!(body.error.param.as_deref(), Some("amount"));
        let plain: ApiErrorBody = serde_json::from_value(Error::unauthorized("no").body()).unwrap();
        assert_eq!(plain.error.code, "invalid_token");

        let oauth = Error::oauth("account_ineligible", "no").with_extra("eligibility", json!({}));
        let body: OAuthErrorBody = serde_json::from_value(oauth.body()).unwrap();
        assert_eq!(body.error, "account_ineligible");
        assert!(body.eligibility.is_some());

        for param in [None, Some("amount")] {
            let stripe = Error::stripe("parameter_missing", "amount is required", param);
            let body: StripeErrorBody = serde_json::from_value(stripe.body()).unwrap();
            assert_eq!(body.error.param.as_deref(), param);
        }
    }
}
