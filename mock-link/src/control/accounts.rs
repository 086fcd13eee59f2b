//! `/__control/seed`, `/__control/users[/...]` and `/__control/merchants`: the accounts a
//! test adds, and a user's approval policy.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::accounts::validate_approval_policy;
use crate::body::parse_json_object;
use crate::error::{Error, Result};
use crate::model::AppState;
use crate::model::accounts::Merchant;
use crate::model::seed::{NewPaymentMethod, Seed, SeedUser};

use super::parse;

/// What `POST /__control/seed` answers.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct SeedAnswer {
    /// The users as stored.
    users: Vec<crate::api_schemas::JsonObject>,
    merchants: Vec<Merchant>,
}

#[utoipa::path(
    post,
    path = "/__control/users",
    tag = "control",
    request_body(content = SeedUser, content_type = "application/json"),
    responses(
        (status = 200, description = "The user as stored (replacing one with the same id)", body = crate::api_schemas::JsonObject),
        (status = 400, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body: SeedUser = parse(&headers, &body)?;
    let user = body.build()?;
    let json = serde_json::to_value(&user).unwrap_or(Value::Null);
    let mut store = state.lock();
    store.users.retain(|existing| existing.id != user.id);
    store.users.push(user);
    Ok(Json(json))
}

#[utoipa::path(
    post,
    path = "/__control/seed",
    tag = "control",
    request_body(content = Seed, content_type = "application/json"),
    responses(
        (status = 200, description = "The users and merchants added", body = SeedAnswer),
        (status = 400, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn apply_seed(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let seed: Seed = parse(&headers, &body)?;
    let users = state.lock().apply_seed(&seed)?;
    Ok(Json(json!({ "users": users, "merchants": seed.merchants })))
}

#[utoipa::path(
    get,
    path = "/__control/users",
    tag = "control",
    responses(
        (status = 200, description = "Every user", body = crate::api_schemas::DataList),
    )
)]
pub(super) async fn list_users(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.lock().users }))
}

#[utoipa::path(
    post,
    path = "/__control/users/{id}/payment_methods",
    tag = "control",
    params(("id" = String, Path, description = "The user (`usr_...`)", example = "usr_default")),
    request_body(content = NewPaymentMethod, content_type = "application/json"),
    responses(
        (status = 200, description = "The user with the new payment method", body = crate::api_schemas::JsonObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn add_payment_method(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body: NewPaymentMethod = parse(&headers, &body)?;
    let method = body.build()?;
    let mut store = state.lock();
    let user = store
        .user_mut(&user_id)
        .ok_or_else(|| Error::not_found("user", &user_id))?;
    user.add_payment_method(method);
    Ok(Json(serde_json::to_value(&*user).unwrap_or(Value::Null)))
}

#[utoipa::path(
    post,
    path = "/__control/merchants",
    tag = "control",
    request_body(content = Merchant, content_type = "application/json"),
    responses(
        (status = 200, description = "The merchant added", body = Merchant),
        (status = 400, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn add_merchant(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let merchant: Merchant = parse(&headers, &body)?;
    if !merchant.secret_key.starts_with("sk_test_") {
        return Err(Error::invalid_param(
            "secret_key",
            "must start with sk_test_",
        ));
    }
    let mut store = state.lock();
    store
        .merchants
        .retain(|existing| existing.secret_key != merchant.secret_key);
    store.merchants.push(merchant.clone());
    Ok(Json(serde_json::to_value(merchant).unwrap_or(Value::Null)))
}

/// `POST /__control/users/{id}/approval_policy`: the user's policy from now on.
#[utoipa::path(
    post,
    path = "/__control/users/{id}/approval_policy",
    tag = "control",
    params(("id" = String, Path, description = "The user (`usr_...`)", example = "usr_default")),
    request_body(content = crate::api_schemas::ApprovalPolicy, content_type = "application/json"),
    responses(
        (status = 200, description = "The policy as stored", body = crate::api_schemas::ApprovalPolicy),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn set_approval_policy(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let policy = validate_approval_policy(&Value::Object(parse_json_object(&headers, &body)?))?;
    let mut store = state.lock();
    if store.user(&user_id).is_none() {
        return Err(Error::not_found("user", &user_id));
    }
    store.approval_policies.insert(user_id, policy.clone());
    Ok(Json(policy))
}

/// `DELETE /__control/users/{id}/approval_policy`: the user has no policy again.
#[utoipa::path(
    delete,
    path = "/__control/users/{id}/approval_policy",
    tag = "control",
    params(("id" = String, Path, description = "The user (`usr_...`)", example = "usr_default")),
    responses(
        (status = 200, description = "No policy any more", body = crate::api_schemas::EmptyObject),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn clear_approval_policy(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Json<Value>> {
    let mut store = state.lock();
    if store.user(&user_id).is_none() {
        return Err(Error::not_found("user", &user_id));
    }
    store.approval_policies.remove(&user_id);
    Ok(Json(json!({})))
}
