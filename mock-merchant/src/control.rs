//! The control API's handlers (`/__control`: ledger, clock, knobs, reset) and the schema types
//! their `#[utoipa::path]` annotations name. The router (`server.rs`) mounts them behind the
//! access guard; the OpenAPI document (`control_openapi.rs`) lists them.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::knobs::Knobs;
use crate::ledger::LedgerEntry;
use crate::paid::PAID;
use crate::respond::plain_problem;
use crate::state::AppState;

/// `POST /__control/clock/advance`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AdvanceBody {
    /// Whole seconds, not negative; the clock is at most 100 years ahead in all (422 past it).
    #[schema(minimum = 0, maximum = 3_153_600_000_u64)]
    seconds: u64,
}

/// The merchants' clock.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ClockObject {
    /// RFC 3339.
    now: String,
    /// How far the clock runs ahead of the real one, in whole seconds.
    offset_seconds: u64,
}

/// What `POST /__control/reset` answers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ResetAnswer {
    /// Always `true`.
    reset: bool,
}

/// The ledger, oldest first.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct LedgerList {
    pub(crate) data: Vec<LedgerEntry>,
}

/// The knobs of every merchant that has some set, by merchant id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct KnobsByMerchant {
    data: BTreeMap<String, Knobs>,
}

/// Any JSON object.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(value_type = Object)]
pub(crate) struct JsonObject(#[allow(dead_code)] serde_json::Map<String, serde_json::Value>);

/// `GET /__control/ledger[?merchant=<id>]`.
#[utoipa::path(
    get,
    path = "/__control/ledger",
    tag = "control",
    params(("merchant" = Option<String>, Query, description = "Only this merchant's entries")),
    responses(
        (status = 200, description = "What every merchant saw and did, in order", body = LedgerList),
    )
)]
pub(crate) async fn control_ledger(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Json<Value> {
    let merchant =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query.as_deref().unwrap_or(""))
            .unwrap_or_default()
            .into_iter()
            .find(|(name, _)| name == "merchant")
            .map(|(_, value)| value);
    Json(json!({ "data": state.ledger(merchant.as_deref()) }))
}

/// The merchant ids knobs apply to: those with paid HTTP routes.
fn knob_merchant(id: &str) -> Option<&'static str> {
    PAID.iter()
        .map(|spec| spec.merchant)
        .find(|merchant| *merchant == id)
}

fn no_knob_merchant(id: &str) -> Response {
    plain_problem(
        StatusCode::NOT_FOUND,
        format!("no paid HTTP merchant {id:?}: knobs apply to merchants with paid routes"),
    )
}

/// `GET /__control/knobs`: `{"data": {"<merchant>": knobs}}` for merchants with knobs set.
#[utoipa::path(
    get,
    path = "/__control/knobs",
    tag = "control",
    responses(
        (status = 200, description = "The knobs of every merchant that has some set", body = KnobsByMerchant),
    )
)]
pub(crate) async fn control_all_knobs(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.all_knobs() }))
}

/// `GET /__control/merchants/{id}/knobs`.
#[utoipa::path(
    get,
    path = "/__control/merchants/{id}/knobs",
    tag = "control",
    params(("id" = String, Path, description = "A merchant with paid HTTP routes", example = "api")),
    responses(
        (status = 200, description = "The merchant's knobs", body = crate::knobs::Knobs),
        (status = 404, response = crate::respond::ProblemBody),
    )
)]
pub(crate) async fn control_knobs(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    match knob_merchant(&id) {
        Some(merchant) => Json(state.knobs_of(merchant)).into_response(),
        None => no_knob_merchant(&id),
    }
}

/// `PUT /__control/merchants/{id}/knobs` with the knobs as JSON (replacing the previous ones).
#[utoipa::path(
    put,
    path = "/__control/merchants/{id}/knobs",
    tag = "control",
    params(("id" = String, Path, description = "A merchant with paid HTTP routes", example = "api")),
    request_body(content = crate::knobs::Knobs, content_type = "application/json"),
    responses(
        (status = 200, description = "The merchant's knobs from now on", body = crate::knobs::Knobs),
        (status = 404, response = crate::respond::ProblemBody),
        (status = 422, response = crate::respond::ProblemBody),
    )
)]
pub(crate) async fn control_set_knobs(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(merchant) = knob_merchant(&id) else {
        return no_knob_merchant(&id);
    };
    // A JSON object only: serde would also read a struct from an array (`[null, null]`).
    let knobs = match serde_json::from_slice::<serde_json::Map<String, Value>>(&body)
        .and_then(|object| serde_json::from_value::<Knobs>(Value::Object(object)))
    {
        Ok(knobs) => knobs,
        Err(error) => {
            return plain_problem(StatusCode::UNPROCESSABLE_ENTITY, format!("knobs: {error}"));
        }
    };
    if let Err(reason) = knobs.validate() {
        return plain_problem(StatusCode::UNPROCESSABLE_ENTITY, format!("knobs: {reason}"));
    }
    state.set_knobs(merchant, knobs);
    Json(state.knobs_of(merchant)).into_response()
}

/// `DELETE /__control/merchants/{id}/knobs`: every knob off.
#[utoipa::path(
    delete,
    path = "/__control/merchants/{id}/knobs",
    tag = "control",
    params(("id" = String, Path, description = "A merchant with paid HTTP routes", example = "api")),
    responses(
        (status = 200, description = "Every knob off", body = crate::knobs::Knobs),
        (status = 404, response = crate::respond::ProblemBody),
    )
)]
pub(crate) async fn control_clear_knobs(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    match knob_merchant(&id) {
        Some(merchant) => {
            state.set_knobs(merchant, Knobs::default());
            Json(state.knobs_of(merchant)).into_response()
        }
        None => no_knob_merchant(&id),
    }
}

/// `POST /__control/reset`: forgets the ledger, claims, probes, charged cards and knobs.
#[utoipa::path(
    post,
    path = "/__control/reset",
    tag = "control",
    request_body(content = serde_json::Value, content_type = "application/json", description = "Ignored (send `{}`): control writes are JSON"),
    responses(
        (status = 200, description = "Ledger, claims, probes, charged cards and knobs forgotten", body = ResetAnswer),
    )
)]
pub(crate) async fn control_reset(State(state): State<AppState>) -> Json<Value> {
    state.reset();
    Json(json!({ "reset": true }))
}

#[utoipa::path(
    get,
    path = "/__control/clock",
    tag = "control",
    responses(
        (status = 200, description = "The merchants' clock", body = ClockObject),
    )
)]
pub(crate) async fn control_clock(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "now": crate::clock::rfc3339(state.clock.now()),
        "offset_seconds": state.clock.offset_seconds(),
    }))
}

/// `POST /__control/clock/advance {"seconds": n}`: 422 unless `n` is a non-negative integer
/// that keeps the clock at most 100 years ahead.
#[utoipa::path(
    post,
    path = "/__control/clock/advance",
    tag = "control",
    request_body(content = AdvanceBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The clock after the jump", body = ClockObject),
        (status = 422, response = crate::respond::ProblemBody),
    )
)]
pub(crate) async fn control_advance_clock(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(advance) = serde_json::from_slice::<AdvanceBody>(&body) else {
        return plain_problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "expected {\"seconds\": <non-negative integer>}",
        );
    };
    match state
        .clock
        .try_advance(Duration::from_secs(advance.seconds))
    {
        Ok(()) => control_clock(State(state)).await.into_response(),
        Err(refused) => plain_problem(StatusCode::UNPROCESSABLE_ENTITY, refused.to_string()),
    }
}
