//! The router: every merchant side by side on one listener, the control API
//! under `/__control`, discovery at `/openapi.json`.

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};

use crate::catalogue::CATALOGUE;
use crate::control;
use crate::ledger::LedgerEntry;
use crate::paid::{self, PAID};
use crate::respond::{OPENAPI_CACHE_CONTROL, plain_problem};
use crate::state::AppState;
use crate::{hostile, shop};

/// The whole server: requests to `<merchant-id>.localhost[:port]` are first
/// routed as if their path were prefixed with `/m/<merchant-id>`.
/// Every Payment credential in any header of any request is recorded in the
/// ledger (`credential_received` with its field and the URL addressed) before
/// the request is answered, so a test can prove where credentials went.
pub fn router(state: AppState) -> Router {
    let state_for_body = state.clone();
    Router::new()
        .fallback_service(routes(state.clone()))
        .layer(axum::middleware::map_request_with_state(
            state,
            route_by_host,
        ))
        .layer(axum::middleware::map_response(retry_after_on_402))
        .layer(axum::middleware::from_fn_with_state(
            state_for_body.clone(),
            read_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(state_for_body.config.control.clone()),
            crate::control_access::guard,
        ))
}

/// Reads the whole request body, at most [`paid::MAX_BODY_BYTES`], within
/// the body timeout (D4: a body shorter than its `Content-Length` no longer
/// holds the connection): 408 or 413 Problem Details otherwise.
async fn read_body(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let limit = paid::MAX_BODY_BYTES;
    let timeout = state.config.limits.body_timeout;
    let body = match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return plain_problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("bodies are limited to {limit} bytes (or the body could not be read)"),
            );
        }
        Err(_) => {
            return plain_problem(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} ms",
                    timeout.as_millis()
                ),
            );
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(body)))
        .await
}

/// `Retry-After` on every 402 (draft -02 SHOULD): a client may retry at
/// once with a credential; one second keeps a loop without one polite.
pub const RETRY_AFTER_SECONDS: &str = "1";

async fn retry_after_on_402(mut response: Response) -> Response {
    if response.status() == StatusCode::PAYMENT_REQUIRED {
        response
            .headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert(HeaderValue::from_static(RETRY_AFTER_SECONDS));
    }
    response
}

/// The merchant id of a path `/m/<id>/...`, or `-`.
fn merchant_of_path(path: &str) -> &str {
    path.strip_prefix("/m/")
        .and_then(|rest| rest.split('/').next())
        .filter(|id| !id.is_empty())
        .unwrap_or("-")
}

/// Records every `Payment` credential of `request` (addressed as `url`).
fn record_credentials(state: &AppState, request: &Request, url: &str) {
    let path_and_query = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let route = format!("{} {path_and_query}", request.method());
    let merchant = merchant_of_path(request.uri().path());
    for (name, value) in request.headers() {
        if !paid::is_payment_value(value.as_bytes()) {
            continue;
        }
        let mut entry = LedgerEntry::new(merchant, &route, "credential_received")
            .header(name.as_str())
            .url(url);
        match value.to_str().ok().map(mpp_wire::parse_credential) {
            Some(Ok(credential)) => {
                let echo = &credential.challenge;
                entry = entry
                    .challenge(&echo.id)
                    .method(echo.method.as_str(), echo.intent.as_str())
                    .spt(mpp_wire::spt_of(&credential));
            }
            _ => entry = entry.detail("not a decodable Payment credential"),
        }
        state.record(entry);
    }
}

/// The merchant a `Host` value names: `<id>.localhost` with an optional port.
pub fn merchant_of_host(host: &str) -> Option<&'static str> {
    let name = host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            name
        } else {
            host
        }
    });
    let id = name.strip_suffix(".localhost")?;
    CATALOGUE
        .iter()
        .map(|m| m.id)
        .chain(["collector"])
        .find(|known| known.eq_ignore_ascii_case(id))
}

/// Rewrites `/path` to `/m/<id>/path` for a request sent to `<id>.localhost`,
/// and records its credentials.
async fn route_by_host(State(state): State<AppState>, mut request: Request) -> Request {
    let url = paid::requested_url(
        &state,
        request.headers(),
        request.uri().path_and_query().map_or("/", |p| p.as_str()),
    );
    rewrite_for_host(&mut request);
    record_credentials(&state, &request, &url);
    request
}

fn rewrite_for_host(request: &mut Request) {
    let Some(id) = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(merchant_of_host)
    else {
        return;
    };
    let path = request.uri().path();
    if path.starts_with("/m/") || path.starts_with("/__control") || path.starts_with("/assets/") {
        return;
    }
    let rewritten = match request.uri().query() {
        Some(query) => format!("/m/{id}{path}?{query}"),
        None => format!("/m/{id}{path}"),
    };
    if let Ok(uri) = rewritten.parse() {
        *request.uri_mut() = uri;
    }
}

fn routes(state: AppState) -> Router {
    let mut router = Router::new();
    for spec in PAID {
        router = router.route(
            spec.path,
            any(move |State(state): State<AppState>, request: Request| {
                paid::serve(state, spec, request)
            }),
        );
    }
    router
        .route("/", get(index))
        .route(crate::pages::STYLESHEET_PATH, get(crate::pages::stylesheet))
        .route("/openapi.json", get(openapi))
        .route("/m/api/openapi.json", get(openapi))
        .route("/m/api/free", get(free))
        .route("/m/mcp", post(crate::mcp::rpc))
        .route("/m/plain/ok", get(plain_ok))
        .route("/m/plain/error", get(plain_error))
        .route("/m/redirects/same-origin", get(redirect_same_origin))
        .route("/m/redirects/cross-origin", get(redirect_cross_origin))
        .route("/m/hostile/mutations", get(hostile::list))
        .route("/m/hostile/mutation/{name}", get(hostile::mutation))
        .route("/m/hostile/huge-header", get(hostile::huge_header))
        .route("/m/hostile/huge-body", get(hostile::huge_body))
        .route("/m/hostile/many-fields", get(hostile::many_fields))
        .route("/m/hostile/control-chars", get(hostile::control_chars))
        .route(
            "/m/hostile/control-chars-ok",
            get(hostile::control_chars_ok),
        )
        .route("/m/{shop}", get(shop::shop_root))
        .route("/m/{shop}/", get(shop::product))
        .route(
            "/m/{shop}/checkout",
            get(shop::checkout_form).post(shop::checkout),
        )
        .route("/m/{shop}/agents.txt", get(shop::agents_txt))
        .route("/m/{shop}/llm.txt", get(shop::llm_txt))
        .route("/m/collector/collect", post(shop::collect))
        .route(
            "/__control/openapi.json",
            get(crate::control_openapi::serve),
        )
        .route("/__control/ledger", get(control::control_ledger))
        .route("/__control/clock", get(control::control_clock))
        .route("/__control/reset", post(control::control_reset))
        .route(
            "/__control/clock/advance",
            post(control::control_advance_clock),
        )
        .route("/__control/knobs", get(control::control_all_knobs))
        .route(
            "/__control/merchants/{id}/knobs",
            get(control::control_knobs)
                .put(control::control_set_knobs)
                .delete(control::control_clear_knobs),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The MCP endpoint and the control API read at most what a paid route does.
        .layer(axum::extract::DefaultBodyLimit::max(paid::MAX_BODY_BYTES))
        .with_state(state)
}

async fn not_found(request: Request) -> Response {
    let detail = format!("no merchant serves {}", request.uri().path());
    if crate::pages::wants_html(request.headers()) {
        return crate::pages::error_page(
            StatusCode::NOT_FOUND,
            &detail,
            ("/", "See every mock merchant"),
        );
    }
    plain_problem(StatusCode::NOT_FOUND, detail)
}

async fn method_not_allowed(request: Request) -> Response {
    plain_problem(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} does not accept {}",
            request.uri().path(),
            request.method()
        ),
    )
}

/// `GET /`: the catalogue with absolute URLs, as a page to a browser.
async fn index(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if crate::pages::wants_html(&headers) {
        return crate::pages::catalogue_page(&state.base_url);
    }
    let merchants: Vec<Value> = CATALOGUE
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "urls": m.paths.iter().map(|p| format!("{}{p}", state.base_url)).collect::<Vec<_>>(),
                "proves": m.proves,
            })
        })
        .collect();
    Json(json!({ "merchants": merchants })).into_response()
}

/// `GET /openapi.json`: the paid operations with `x-payment-info`.
async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    let mut paths = serde_json::Map::new();
    for spec in PAID
        .iter()
        .filter(|s| s.stripe && s.redirect_retry.is_none())
    {
        let operation = json!({
            "summary": spec.description,
            "x-payment-info": {
                "intent": spec.intent,
                "method": "stripe",
                "amount": spec.amount.to_string(),
                "currency": "usd",
                "description": spec.description,
            },
            "responses": {
                "200": { "description": "The resource, with a Payment-Receipt" },
                "402": { "description": "Payment required" },
            },
        });
        let entry = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[spec.method.to_ascii_lowercase()] = operation;
    }
    paths.insert(
        "/m/api/free".to_owned(),
        json!({ "get": { "summary": "A free endpoint", "responses": { "200": { "description": "Free" } } } }),
    );
    let document = json!({
        "openapi": "3.1.0",
        "info": { "title": "mock-merchant", "version": env!("CARGO_PKG_VERSION") },
        "servers": [{ "url": state.base_url }],
        "paths": paths,
    });
    (
        [(header::CACHE_CONTROL, OPENAPI_CACHE_CONTROL)],
        Json(document),
    )
}

async fn free() -> Response {
    Json(json!({ "merchant": "api", "resource": "free sample", "price": "0" })).into_response()
}

async fn plain_ok() -> Json<Value> {
    Json(json!({ "merchant": "plain", "status": "ok" }))
}

async fn plain_error() -> Response {
    plain_problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the plain merchant always fails here",
    )
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn redirect_same_origin() -> Response {
    redirect(StatusCode::FOUND, "/m/api/report")
}

async fn redirect_cross_origin(State(state): State<AppState>) -> Response {
    redirect(
        StatusCode::TEMPORARY_REDIRECT,
        &format!("{}/m/api/report", state.cross_origin),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_select_merchants() {
        assert_eq!(
            merchant_of_host("card-sh0p.localhost:4020"),
            Some("card-sh0p")
        );
        assert_eq!(merchant_of_host("API.localhost"), Some("api"));
        assert_eq!(merchant_of_host("collector.localhost:1"), Some("collector"));
        assert_eq!(merchant_of_host("127.0.0.1:4020"), None);
        assert_eq!(merchant_of_host("nobody.localhost"), None);
        assert_eq!(merchant_of_host("card-shop.localhost.evil:80"), None);
    }
}
