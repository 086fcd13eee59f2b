//! Fault injection: the next N calls to a route fail the way a sick network or service would
//! (an error status, latency, a dropped connection, a non-JSON body). Armed through
//! `POST /__control/faults`, applied by the request middleware.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorShape, Result};

/// The longest latency a fault may add.
pub const MAX_LATENCY: Duration = Duration::from_secs(60);

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Answer with this status (400-599) and a JSON error in the route's shape.
    Status { status: u16 },
    /// Wait this long, then answer normally.
    Latency { millis: u64 },
    /// Close the connection without a usable response.
    Drop,
    /// Answer with an HTML page instead of JSON (a proxy's error page); status default 502.
    NonJson { status: Option<u16> },
}

/// A fault armed for a route: `path` exact, or a prefix when it ends with `*`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArmedFault {
    /// Only this method (any when absent).
    pub method: Option<String>,
    pub path: String,
    /// How many matching calls fail (default 1).
    #[serde(default = "one")]
    #[schema(value_type = u64, maximum = 4294967295.0)]
    pub count: u32,
    pub fault: Fault,
}

fn one() -> u32 {
    1
}

impl ArmedFault {
    /// Refuses faults that could not be applied.
    pub(crate) fn validate(&self) -> Result<()> {
        if !self.path.starts_with('/') {
            return Err(Error::invalid_param("path", "must start with /"));
        }
        if self.path.starts_with("/__control") {
            return Err(Error::invalid_param(
                "path",
                "the control API cannot be faulted",
            ));
        }
        if let Some(method) = &self.method
            && Method::from_bytes(method.as_bytes()).is_err()
        {
            return Err(Error::invalid_param("method", "is not an HTTP method"));
        }
        if self.count == 0 {
            return Err(Error::invalid_param("count", "must be at least 1"));
        }
        match &self.fault {
            Fault::Status { status } if !(400..=599).contains(status) => Err(Error::invalid_param(
                "fault.status",
                "must be between 400 and 599",
            )),
            Fault::NonJson {
                status: Some(status),
            } if !(200..=599).contains(status) => Err(Error::invalid_param(
                "fault.status",
                "must be between 200 and 599",
            )),
            Fault::Latency { millis } if Duration::from_millis(*millis) > MAX_LATENCY => Err(
                Error::invalid_param("fault.millis", "must be at most 60000"),
            ),
            _ => Ok(()),
        }
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        let method_matches = self
            .method
            .as_deref()
            .is_none_or(|wanted| wanted.eq_ignore_ascii_case(method.as_str()));
        let path_matches = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        };
        method_matches && path_matches
    }
}

/// Takes one use of the first fault armed for this call, dropping it once used up.
pub fn take(armed: &mut Vec<ArmedFault>, method: &Method, path: &str) -> Option<Fault> {
    let index = armed.iter().position(|fault| fault.matches(method, path))?;
    let fault = armed[index].fault.clone();
    armed[index].count -= 1;
    if armed[index].count == 0 {
        armed.remove(index);
    }
    Some(fault)
}

/// A body whose first read fails, so the server aborts the connection.
struct BrokenBody;

impl futures_core::Stream for BrokenBody {
    type Item = std::result::Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by an injected fault",
        ))))
    }
}

/// The response for a fault that answers instead of the handler (`None` for latency).
pub fn response(fault: &Fault, path: &str) -> Option<Response> {
    match fault {
        Fault::Latency { .. } => None,
        Fault::Status { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            Some(
                Error::in_shape(
                    ErrorShape::for_path(path),
                    status,
                    "injected_fault",
                    "this failure was injected through the mock-link control API",
                )
                .into_response(),
            )
        }
        Fault::NonJson { status } => {
            let status =
                StatusCode::from_u16(status.unwrap_or(502)).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut response = (
                status,
                format!(
                    "<html><head><title>{status}</title></head><body><h1>{status}</h1><p>upstream proxy error</p></body></html>"
                ),
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            Some(response)
        }
        Fault::Drop => Some(Response::new(Body::from_stream(BrokenBody))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn armed(path: &str, count: u32) -> ArmedFault {
        ArmedFault {
            method: Some("POST".into()),
            path: path.into(),
            count,
            fault: Fault::Drop,
        }
    }

    #[test]
    fn a_fault_is_used_count_times_then_disarmed() {
        let mut faults = vec![armed("/device/token", 2)];
        assert!(take(&mut faults, &Method::GET, "/device/token").is_none());
        assert!(take(&mut faults, &Method::POST, "/device/token").is_some());
        assert!(take(&mut faults, &Method::POST, "/device/token").is_some());
        assert!(take(&mut faults, &Method::POST, "/device/token").is_none());
        assert!(faults.is_empty());
    }

    #[test]
    fn a_trailing_star_matches_a_prefix() {
        let mut faults = vec![armed("/spend_requests*", 1)];
        assert!(take(&mut faults, &Method::POST, "/device/code").is_none());
        assert!(take(&mut faults, &Method::POST, "/spend_requests/lsrq_1/cancel").is_some());
    }

    #[test]
    fn impossible_faults_are_refused() {
        let mut fault = armed("/x", 1);
        fault.fault = Fault::Status { status: 200 };
        assert!(fault.validate().is_err());
        assert!(armed("/__control/reset", 1).validate().is_err());
        assert!(armed("/x", 0).validate().is_err());
        assert!(armed("x", 1).validate().is_err());
    }
}
