//! Who may use the control API: loopback (or bind-address) `Host` and `Origin` only, JSON
//! bodies only (no cross-site form or `text/plain` post), an optional bearer token, or nobody
//! (`--no-control`). A middleware in front of every route; other paths pass untouched.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::Error;

/// The prefix of a generated control token (redacted like every other token).
pub const CONTROL_TOKEN_PREFIX: &str = "mlct_";

/// The control API's access rules, fixed when mock-link starts.
#[derive(Debug, Clone)]
pub struct ControlAccess {
    /// `false`: every control path answers 404.
    pub enabled: bool,
    /// When set, control calls need `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// The address mock-link is bound to; its literal is an allowed `Host` too.
    pub bind: IpAddr,
}

impl ControlAccess {
    /// Whether `host` (a `Host` header or an origin's authority, port optional) names this
    /// server rather than someone else's domain (a DNS-rebinding page sends its own name).
    fn allows_host(&self, host: &str) -> bool {
        let name = match host.strip_prefix('[') {
            Some(rest) => match rest.split_once(']') {
                Some((name, _)) => name,
                None => return false,
            },
            None => host.rsplit_once(':').map_or(host, |(name, port)| {
                if port.bytes().all(|byte| byte.is_ascii_digit()) {
                    name
                } else {
                    host
                }
            }),
        };
        if name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        match name.parse::<IpAddr>() {
            Ok(ip) => {
                ip.is_loopback()
                    || ip == self.bind
                    // Bound to every interface, any of the machine's addresses may be used;
                    // an IP literal cannot be a rebound name.
                    || self.bind.is_unspecified()
            }
            Err(_) => false,
        }
    }

    fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), Error> {
        if !self.enabled {
            return Err(Error::api(
                StatusCode::NOT_FOUND,
                "resource_missing",
                "the control API is turned off (--no-control)",
            ));
        }
        let text = |name| headers.get(name).map(|value| value.to_str().unwrap_or(""));
        if let Some(host) = text(header::HOST)
            && !self.allows_host(host)
        {
            return Err(Error::api(
                StatusCode::FORBIDDEN,
                "forbidden_host",
                "the control API only answers to a loopback Host (or the bind address)",
            ));
        }
        if let Some(origin) = text(header::ORIGIN) {
            let authority = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            if !authority.is_some_and(|authority| self.allows_host(authority)) {
                return Err(Error::api(
                    StatusCode::FORBIDDEN,
                    "forbidden_origin",
                    "the control API refuses requests from other origins",
                ));
            }
        }
        if let Some(token) = &self.token {
            let sent = text(header::AUTHORIZATION)
                .and_then(|value| value.strip_prefix("Bearer "))
                .map(str::trim);
            match sent {
                None => {
                    return Err(Error::api(
                        StatusCode::UNAUTHORIZED,
                        "control_token_required",
                        "the control API needs Authorization: Bearer <control token>",
                    ));
                }
                Some(sent) if !same_secret(sent, token) => {
                    return Err(Error::api(
                        StatusCode::UNAUTHORIZED,
                        "invalid_control_token",
                        "the control token is not valid",
                    ));
                }
                Some(_) => {}
            }
        }
        // POST is the one write a page of another site can send without a CORS preflight
        // (which mock-link never grants); any other method goes on to the router, which
        // answers 405 where it does not apply.
        let writes = *method == Method::POST;
        let content_type = text(header::CONTENT_TYPE)
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if writes && content_type != "application/json" && !content_type.ends_with("+json") {
            return Err(Error::api(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_content_type",
                "control requests must be application/json (a cross-site form cannot send it)",
            ));
        }
        Ok(())
    }
}

/// Compares without stopping at the first differing byte.
fn same_secret(sent: &str, expected: &str) -> bool {
    sent.len() == expected.len()
        && sent
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

/// Middleware: applies [`ControlAccess`] to `/__control` paths.
pub async fn guard(
    State(access): State<Arc<ControlAccess>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/__control")
        && let Err(error) = access.check(request.method(), request.headers())
    {
        let mut response = error.into_response();
        if response.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        return response;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(bind: &str) -> ControlAccess {
        ControlAccess {
            enabled: true,
            token: None,
            bind: bind.parse().unwrap(),
        }
    }

    #[test]
    fn hosts_are_judged_by_name_not_by_prefix() {
        let loopback = access("127.0.0.1");
        for host in [
            "127.0.0.1:4010",
            "localhost",
            "LOCALHOST:1",
            "[::1]:4010",
            "127.0.0.2",
        ] {
            assert!(loopback.allows_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "127.0.0.1.nip.io:4010",
            "10.0.0.5:4010",
            "[::1",
        ] {
            assert!(!loopback.allows_host(host), "{host}");
        }
        assert!(access("10.0.0.5").allows_host("10.0.0.5:4010"));
        assert!(access("0.0.0.0").allows_host("192.168.1.20:4010"));
        assert!(!access("0.0.0.0").allows_host("rebound.example:4010"));
    }
}
