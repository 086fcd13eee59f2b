//! Who may use the control API (D6): it hands out the ledger, moves the
//! clock and resets everything, so it answers only the local test that
//! started the server. Checked before anything else, in this order: turned
//! off (404), a foreign `Host` (403, DNS rebinding) or `Origin` (403), a
//! missing or wrong control token (401), a body that is not JSON (415: a web
//! page cannot send JSON cross-site without a CORS preflight, never granted).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::respond::PROBLEM_JSON;

/// The control API's path prefix.
pub const PREFIX: &str = "/__control";

/// Who may use the control API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlAccess {
    /// Off: every control path is 404 (the Rust API still works).
    pub enabled: bool,
    /// `Authorization: Bearer <token>` required when set.
    pub token: Option<String>,
    /// The address the server is bound to (also an accepted `Host`).
    pub bind: IpAddr,
}

/// A control refusal: Problem Details with a `code`.
fn refusal(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
    });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// Whether `host` (`name[:port]`, `[v6]:port`) names this server: `localhost`
/// and its subdomains (the shops' names), a loopback or the bound address,
/// or any IP literal when bound to every interface.
fn is_own_host(access: &ControlAccess, host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(inside, _)| inside),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    name.parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback() || ip == access.bind || access.bind.is_unspecified())
}

/// Whether `origin` (`scheme://host[:port]`) is this server.
fn is_own_origin(access: &ControlAccess, origin: &str) -> bool {
    ["http://", "https://"]
        .iter()
        .find_map(|scheme| origin.strip_prefix(scheme))
        .is_some_and(|host| !host.contains('/') && is_own_host(access, host))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|media| media.trim().to_ascii_lowercase())
        .is_some_and(|media| media == "application/json" || media.ends_with("+json"))
}

/// The refusal `request` to the control API gets, if any.
fn refuse(access: &ControlAccess, request: &Request) -> Option<Response> {
    if !access.enabled {
        return Some(refusal(
            StatusCode::NOT_FOUND,
            "control_disabled",
            "the control API is turned off (--no-control)",
        ));
    }
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .map(|v: &HeaderValue| v.to_str().unwrap_or("\u{fffd}"))
    };
    if let Some(host) = text(header::HOST)
        && !is_own_host(access, host)
    {
        return Some(refusal(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "the control API answers only requests addressed to this server (localhost or its address)",
        ));
    }
    if let Some(origin) = text(header::ORIGIN)
        && !is_own_origin(access, origin)
    {
        return Some(refusal(
            StatusCode::FORBIDDEN,
            "forbidden_origin",
            "the control API refuses requests from another origin",
        ));
    }
    if let Some(token) = &access.token {
        let presented = text(header::AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer "));
        let refused = match presented {
            None => Some((
                "control_token_required",
                "send Authorization: Bearer <control token>",
            )),
            Some(presented) if presented != token => Some((
                "invalid_control_token",
                "the control token is not this server's",
            )),
            Some(_) => None,
        };
        if let Some((code, detail)) = refused {
            let mut response = refusal(StatusCode::UNAUTHORIZED, code, detail);
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Some(response);
        }
    }
    // POST is the one write a page of another site can send without a CORS preflight (which
    // mock-merchant never grants); any other method goes on to the router, which answers 405
    // where it does not apply.
    if request.method() == Method::POST && !is_json(headers) {
        return Some(refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
            "control requests with a body must be Content-Type: application/json (an empty body too)",
        ));
    }
    None
}

/// The middleware guarding `/__control`, with the server's access settings as its state.
pub async fn guard(
    State(access): State<Arc<ControlAccess>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with(PREFIX)
        && let Some(refused) = refuse(&access, &request)
    {
        return refused;
    }
    next.run(request).await
}
