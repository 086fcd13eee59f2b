//! `/__control/device_codes`: the human's side of the device flow (approve, deny, expire).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{DeviceCodeRef, decide_device_code, find_device_code};
use crate::clock::unix_seconds;
use crate::error::{Error, Result};
use crate::model::AppState;
use crate::model::store::DeviceCode;

use super::parse;

/// Names a device code by its phrase or its device code.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct DeviceCodeSelector {
    user_code: Option<String>,
    device_code: Option<String>,
    /// Who approves (default: the seeded user).
    user_id: Option<String>,
}

impl DeviceCodeSelector {
    fn reference(&self) -> Result<DeviceCodeRef<'_>> {
        match (&self.user_code, &self.device_code) {
            (Some(user_code), _) => Ok(DeviceCodeRef::Phrase(user_code)),
            (None, Some(device_code)) => Ok(DeviceCodeRef::DeviceCode(device_code)),
            (None, None) => Err(Error::missing_param("user_code")),
        }
    }
}

async fn device_code_decision(
    state: AppState,
    headers: HeaderMap,
    body: Bytes,
    approve: bool,
) -> Result<Json<Value>> {
    let selector: DeviceCodeSelector = parse(&headers, &body)?;
    let mut store = state.lock();
    let code = decide_device_code(
        &mut store,
        selector.reference()?,
        selector.user_id.as_deref(),
        approve,
    )?;
    Ok(Json(device_code_json(&code)))
}

/// A device code as [`device_code_json`] shows it to a test.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct DeviceCodeRecord {
    user_code: String,
    client_id: String,
    scope: String,
    connection_label: Option<String>,
    client_hint: Option<String>,
    authorization_details: Vec<Value>,
    /// `{status: pending|approved|denied|redeemed}` (`user_id` when approved).
    decision: Value,
    polls: u32,
    /// Unix seconds.
    expires_at: i64,
}

/// What `GET /__control/device_codes` answers, newest first.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct DeviceCodeRecordList {
    data: Vec<DeviceCodeRecord>,
}

fn device_code_json(code: &DeviceCode) -> Value {
    json!({
        "user_code": code.user_code,
        "client_id": code.client_id,
        "scope": code.scope,
        "connection_label": code.connection_label,
        "client_hint": code.client_hint,
        "authorization_details": code.authorization_details,
        "decision": code.decision,
        "polls": code.polls,
        "expires_at": unix_seconds(code.expires_at),
    })
}

#[utoipa::path(
    post,
    path = "/__control/device_codes/approve",
    tag = "control",
    request_body(content = DeviceCodeSelector, content_type = "application/json"),
    responses(
        (status = 200, description = "The approved device code", body = DeviceCodeRecord),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn approve_device_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    device_code_decision(state, headers, body, true).await
}

#[utoipa::path(
    post,
    path = "/__control/device_codes/deny",
    tag = "control",
    request_body(content = DeviceCodeSelector, content_type = "application/json"),
    responses(
        (status = 200, description = "The denied device code", body = DeviceCodeRecord),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn deny_device_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    device_code_decision(state, headers, body, false).await
}

#[utoipa::path(
    post,
    path = "/__control/device_codes/expire",
    tag = "control",
    request_body(content = DeviceCodeSelector, content_type = "application/json"),
    responses(
        (status = 200, description = "The expired device code", body = DeviceCodeRecord),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn expire_device_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let selector: DeviceCodeSelector = parse(&headers, &body)?;
    let mut store = state.lock();
    let now = store.now();
    let code = find_device_code(&mut store, selector.reference()?)?;
    code.expires_at = now;
    Ok(Json(device_code_json(code)))
}

#[utoipa::path(
    get,
    path = "/__control/device_codes",
    tag = "control",
    responses(
        (status = 200, description = "Every device code, newest first", body = DeviceCodeRecordList),
    )
)]
pub(super) async fn list_device_codes(State(state): State<AppState>) -> Json<Value> {
    let store = state.lock();
    let data: Vec<Value> = store
        .device_codes
        .values()
        .rev()
        .map(device_code_json)
        .collect();
    Json(json!({ "data": data }))
}
