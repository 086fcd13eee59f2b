//! Every response shape in one place: Problem Details (402 with fresh
//! challenges and `Cache-Control: no-store`, other 4xx/5xx), and the paid
//! answer with its receipt and `Cache-Control: private`.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mpp_wire::{Problem, ProblemType};

/// `application/problem+json`.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A Problem Details body (RFC 9457) as every error of mock-merchant's control API renders it:
/// the OpenAPI schema (a test checks real answers deserialize into it).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema, utoipa::ToResponse)]
#[response(
    description = "Problem Details (RFC 9457)",
    content_type = "application/problem+json"
)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ProblemBody {
    /// `about:blank` for these.
    #[serde(rename = "type")]
    type_uri: String,
    title: String,
    status: u16,
    #[serde(default)]
    detail: Option<String>,
    /// The control API's access refusals name their reason (`forbidden_host`, ...).
    #[serde(default)]
    code: Option<String>,
}

/// A problem that is not one of the Payment scheme's (404, 405, 422, 502...).
pub fn plain_problem(status: StatusCode, detail: impl Into<String>) -> Response {
    let problem = Problem {
        type_uri: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: detail.into(),
    };
    problem_response(status, &problem, &[])
}

/// A Payment problem of `kind` with the given status (usually `kind`'s own).
pub fn payment_problem(
    kind: ProblemType,
    status: StatusCode,
    detail: impl Into<String>,
    challenges: &[String],
) -> Response {
    let mut problem = Problem::new(kind, detail);
    problem.status = status.as_u16();
    problem_response(status, &problem, challenges)
}

/// A 402 (or `kind`'s status) with fresh challenges, one `WWW-Authenticate` field each.
pub fn payment_required(
    kind: ProblemType,
    detail: impl Into<String>,
    challenges: &[String],
) -> Response {
    let status = StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::PAYMENT_REQUIRED);
    payment_problem(kind, status, detail, challenges)
}

fn problem_response(status: StatusCode, problem: &Problem, challenges: &[String]) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    append_all(headers, header::WWW_AUTHENTICATE, challenges);
    response
}

/// Appends one field per value; values that are not valid field values are skipped.
pub fn append_all(headers: &mut HeaderMap, name: HeaderName, values: &[String]) {
    for value in values {
        match HeaderValue::from_str(value) {
            Ok(value) => {
                headers.append(name.clone(), value);
            }
            Err(_) => tracing::warn!(%name, "skipped a header value that is not a valid field"),
        }
    }
}

/// 200 with a JSON body, `Payment-Receipt` and `Cache-Control: private`.
pub fn paid(body: &serde_json::Value, receipt: &str) -> Response {
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    if let Ok(value) = HeaderValue::from_str(receipt) {
        headers.insert(HeaderName::from_static("payment-receipt"), value);
    }
    response
}

/// How long `/openapi.json` may be cached: the catalogue changes only with a new build.
pub const OPENAPI_CACHE_CONTROL: &str = "public, max-age=300";
