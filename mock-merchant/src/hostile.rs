//! The hostile merchant (`hostile`): the test kit's labelled malformed
//! challenges served by name, a `WWW-Authenticate` over the decoder's size
//! bound, and answers laced with terminal control sequences.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mpp_testkit::mutations::{Mutation, canonical_spec, plain_style};
use mpp_testkit::render::render_challenge;
use serde_json::{Value, json};

use crate::challenges::{self, Binding, Terms};
use crate::respond::{PROBLEM_JSON, append_all, plain_problem};
use crate::state::AppState;

/// A Bearer challenge written before every hostile Payment challenge.
const BEARER: &str = r#"Bearer realm="hostile""#;

/// Bytes of padding in `/m/hostile/huge-header` (over `mpp_wire::MAX_HEADER_BYTES`).
pub const HUGE_HEADER_BYTES: usize = 300 * 1024;

/// ANSI and OSC sequences a merchant might use to spoof a terminal.
pub const ESCAPES: &str = "\u{1b}[2J\u{1b}[H\u{1b}[31mPAYMENT APPROVED, press enter\u{1b}[0m \u{1b}]8;;https://evil.example/\u{7}details\u{1b}]8;;\u{7} \u{1b}]0;pwned\u{7}";

/// C1 controls (UTF-8 encoded, so valid header bytes): CSI `\u{9b}` and OSC `\u{9d}`.
pub const C1_ESCAPES: &str = "\u{9b}2J\u{9b}31mPAID\u{9b}0m \u{9d}0;pwned\u{9c}";

fn find(name: &str) -> Option<Mutation> {
    Mutation::ALL.into_iter().find(|m| m.name() == name)
}

fn hostile_402(values: &[String], body: Value) -> Response {
    let mut response = (StatusCode::PAYMENT_REQUIRED, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    append_all(headers, header::WWW_AUTHENTICATE, values);
    response
}

/// The stripe spec the mutations spoil, naming this server's network.
fn spec(state: &AppState) -> mpp_testkit::strategies::StripeSpec {
    let mut spec = canonical_spec();
    spec.network_id = state.config.network_id.clone();
    spec
}

/// `GET /m/hostile/mutations`: every mutation with its URL and the outcome a decoder must reach.
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let spec = spec(&state);
    let items: Vec<Value> = Mutation::ALL
        .into_iter()
        .map(|m| {
            json!({
                "name": m.name(),
                "url": format!("{}/m/hostile/mutation/{}", state.base_url, m.name()),
                "expect": m.apply(&spec).1,
            })
        })
        .collect();
    Json(json!({ "data": items }))
}

/// `GET /m/hostile/mutation/{name}`: a 402 carrying that mutated stripe challenge after a Bearer one.
pub async fn mutation(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let Some(mutation) = find(&name) else {
        let names: Vec<String> = Mutation::ALL.into_iter().map(Mutation::name).collect();
        return plain_problem(
            StatusCode::NOT_FOUND,
            format!("no mutation {name:?}; known: {}", names.join(", ")),
        );
    };
    let (challenge, expect) = mutation.apply(&spec(&state));
    let value = format!("{BEARER}, {}", render_challenge(&challenge, &plain_style()));
    hostile_402(
        &[value],
        json!({
            "type": "https://paymentauth.org/problems/payment-required",
            "title": "Payment required",
            "status": 402,
            "detail": format!("hostile merchant: mutation {}", mutation.name()),
            "mutation": mutation.name(),
            "expect": expect,
        }),
    )
}

/// `GET /m/hostile/huge-header`: a distractor with a 300 KiB description, then a valid stripe challenge.
pub async fn huge_header(State(state): State<AppState>) -> Response {
    let stripe = render_challenge(&spec(&state).challenge(), &plain_style());
    let padding = "x".repeat(HUGE_HEADER_BYTES);
    let value = format!(
        r#"Payment id="pad", realm="hostile", method="tempo", intent="charge", request="e30", description="{padding}", {stripe}"#
    );
    hostile_402(
        &[value],
        json!({
            "type": "https://paymentauth.org/problems/payment-required",
            "title": "Payment required",
            "status": 402,
            "detail": format!("WWW-Authenticate over {HUGE_HEADER_BYTES} bytes"),
        }),
    )
}

/// Bytes of the problem body of `/m/hostile/huge-body`.
pub const HUGE_BODY_BYTES: usize = 8 * 1024 * 1024;

/// `WWW-Authenticate` fields in `/m/hostile/many-fields` (under common client limits of 100 headers).
pub const MANY_FIELDS: usize = 80;

/// `GET /m/hostile/huge-body`: a valid 402 whose Problem detail is 8 MiB.
pub async fn huge_body(State(state): State<AppState>) -> Response {
    let stripe = render_challenge(&spec(&state).challenge(), &plain_style());
    hostile_402(
        &[stripe],
        json!({
            "type": "https://paymentauth.org/problems/payment-required",
            "title": "Payment required",
            "status": 402,
            "detail": "x".repeat(HUGE_BODY_BYTES),
        }),
    )
}

/// `GET /m/hostile/many-fields`: 79 distractor fields, then the stripe challenge in the last one.
pub async fn many_fields(State(state): State<AppState>) -> Response {
    let mut fields: Vec<String> = (1..MANY_FIELDS)
        .map(|i| {
            format!(r#"Payment id="d{i}", realm="hostile", method="tempo", intent="charge", request="e30""#)
        })
        .collect();
    fields.push(render_challenge(&spec(&state).challenge(), &plain_style()));
    hostile_402(
        &fields,
        json!({
            "type": "https://paymentauth.org/problems/payment-required",
            "title": "Payment required",
            "status": 402,
            "detail": format!("{MANY_FIELDS} WWW-Authenticate fields"),
        }),
    )
}

/// `GET /m/hostile/control-chars`: a 402 whose stripe challenge description,
/// a header and the Problem detail carry terminal control sequences.
pub async fn control_chars(State(state): State<AppState>) -> Response {
    let description = format!("Premium report {C1_ESCAPES}");
    let terms = Terms {
        amount: "2500".to_owned(),
        currency: "usd".to_owned(),
        network_id: state.config.network_id.clone(),
        description,
        payment_method_types: vec!["card", "link"],
        reversed_keys: false,
    };
    let binding = Binding {
        secret: &state.config.challenge_secret,
        realm: "mock-merchant/hostile",
        route: "GET /m/hostile/control-chars",
        expires: Some(challenges::expires_after(
            state.clock.now(),
            state.config.challenge_lifetime,
            state.next_issue(),
        )),
        digest: None,
        header: None,
        revision: None,
        slot: state.config.header_slot,
    };
    let stripe = challenges::stripe(&binding, &terms, "charge");
    let mut response = hostile_402(
        &[format!("{BEARER}, {}", stripe.written())],
        json!({
            "type": "https://paymentauth.org/problems/payment-required",
            "title": format!("Payment required {ESCAPES}"),
            "status": 402,
            "detail": ESCAPES,
        }),
    );
    append_all(
        response.headers_mut(),
        HeaderName::from_static("x-merchant-message"),
        &[format!("Thanks {C1_ESCAPES}")],
    );
    response
}

/// `GET /m/hostile/control-chars-ok`: a plain 200 text body with escape sequences.
pub async fn control_chars_ok() -> Response {
    let mut response = (StatusCode::OK, format!("Your order: {ESCAPES}\n")).into_response();
    append_all(
        response.headers_mut(),
        HeaderName::from_static("x-merchant-message"),
        &[format!("Thanks {C1_ESCAPES}")],
    );
    response
}
