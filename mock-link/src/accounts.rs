//! The API-host handlers that read a user's records (`/payment-details`, `/userinfo`,
//! `/shipping_addresses`, `/approval-policy`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::auth::{authenticate, authenticated_user_id};
use crate::body::parse_json_object;
use crate::error::{Error, Result};
use crate::model::AppState;

/// `GET /payment-details` → `{payment_details, unavailable_count}`. A 1.x client's response
/// validation needs the integer `unavailable_count` (methods Link cannot offer to agents); every
/// mock-link method is usable, so it is 0. A 0.13.1 client reads only `payment_details`.
#[utoipa::path(
    get,
    path = "/payment-details",
    tag = "accounts",
    security(("link_access_token" = [])),
    responses(
        (status = 200, description = "The caller's payment methods", body = PaymentDetailsList),
        (status = 401, response = crate::error::ApiErrorBody),
    )
)]
pub async fn list_payment_details(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    Ok(Json(json!({
        "payment_details": user.payment_methods,
        "unavailable_count": 0,
    })))
}

/// What [`list_payment_details`] answers.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct PaymentDetailsList {
    payment_details: Vec<crate::model::accounts::PaymentMethod>,
    /// Methods Link cannot offer to agents: always 0 here.
    unavailable_count: u32,
}

/// What [`list_shipping_addresses`] answers.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ShippingAddressList {
    shipping_addresses: Vec<crate::model::accounts::ShippingAddress>,
}

/// The `POST /payment-details/{id}` body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The OpenAPI schema of a body read field by field.
pub(crate) struct NicknameBody {
    /// At most 100 characters; `""` clears the name.
    nickname: String,
}

/// The longest payment-method nickname, in characters.
pub const MAX_NICKNAME_CHARS: usize = 100;

/// `GET /payment-details/{id}`: one of the caller's payment methods (404 otherwise).
#[utoipa::path(
    get,
    path = "/payment-details/{id}",
    tag = "accounts",
    security(("link_access_token" = [])),
    params(("id" = String, Path, description = "The payment method (`csmrpd_...`)", example = "csmrpd_default_visa")),
    responses(
        (status = 200, description = "The payment method", body = crate::model::accounts::PaymentMethod),
        (status = 401, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub async fn retrieve_payment_details(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    let method = user
        .payment_methods
        .iter()
        .find(|method| method.id == id)
        .ok_or_else(|| Error::not_found("payment method", &id))?;
    Ok(Json(serde_json::to_value(method).unwrap_or(Value::Null)))
}

/// `POST /payment-details/{id}` `{nickname}`: renames a payment method; `""` clears the name.
#[utoipa::path(
    post,
    path = "/payment-details/{id}",
    tag = "accounts",
    security(("link_access_token" = [])),
    params(("id" = String, Path, description = "The payment method (`csmrpd_...`)", example = "csmrpd_default_visa")),
    request_body(content = NicknameBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The renamed payment method", body = crate::model::accounts::PaymentMethod),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub async fn update_payment_details(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let fields = parse_json_object(&headers, &body)?;
    let nickname = match fields.get("nickname") {
        Some(Value::String(nickname)) if nickname.chars().count() <= MAX_NICKNAME_CHARS => {
            nickname.trim().to_owned()
        }
        Some(Value::String(_)) => {
            return Err(Error::invalid_param(
                "nickname",
                format!("must be at most {MAX_NICKNAME_CHARS} characters"),
            ));
        }
        None | Some(Value::Null) => return Err(Error::missing_param("nickname")),
        Some(_) => return Err(Error::invalid_param("nickname", "must be a string")),
    };
    let mut store = state.lock();
    let user_id = authenticated_user_id(&store, &headers)?;
    let method = store
        .user_mut(&user_id)
        .and_then(|user| {
            user.payment_methods
                .iter_mut()
                .find(|method| method.id == id)
        })
        .ok_or_else(|| Error::not_found("payment method", &id))?;
    method.nickname = (!nickname.is_empty()).then_some(nickname);
    Ok(Json(serde_json::to_value(&*method).unwrap_or(Value::Null)))
}

/// `GET /approval-policy`: the caller's policy, or 404 `approval_policy_not_found`.
#[utoipa::path(
    get,
    path = "/approval-policy",
    tag = "accounts",
    security(("link_access_token" = [])),
    responses(
        (status = 200, description = "The caller's approval policy", body = crate::api_schemas::ApprovalPolicy),
        (status = 401, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub async fn approval_policy(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let store = state.lock();
    let user_id = authenticated_user_id(&store, &headers)?;
    store
        .approval_policies
        .get(&user_id)
        .cloned()
        .map(Json)
        .ok_or_else(|| {
            Error::api(
                axum::http::StatusCode::NOT_FOUND,
                "approval_policy_not_found",
                "this account has no approval policy",
            )
        })
}

/// Checks an approval policy `{rules: [{action, limits: {per_purchase: {amount, currency}},
/// allowed_payment_methods?}]}` and returns it as stored (currencies lower-cased).
pub fn validate_approval_policy(policy: &Value) -> Result<Value> {
    let rules = policy
        .get("rules")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::invalid_param("rules", "must be an array"))?;
    let mut checked = Vec::with_capacity(rules.len());
    for (index, rule) in rules.iter().enumerate() {
        let param = |field: &str| format!("rules[{index}].{field}");
        let action = rule
            .get("action")
            .and_then(Value::as_str)
            .filter(|action| !action.trim().is_empty())
            .ok_or_else(|| Error::invalid_param(&param("action"), "must be a non-empty string"))?;
        let limit = rule.pointer("/limits/per_purchase");
        let amount = limit
            .and_then(|limit| limit.get("amount"))
            .and_then(Value::as_i64)
            .filter(|amount| *amount >= 0)
            .ok_or_else(|| {
                Error::invalid_param(
                    &param("limits.per_purchase.amount"),
                    "must be an integer >= 0",
                )
            })?;
        let currency = limit
            .and_then(|limit| limit.get("currency"))
            .and_then(Value::as_str)
            .filter(|currency| {
                currency.len() == 3 && currency.chars().all(|c| c.is_ascii_alphabetic())
            })
            .ok_or_else(|| {
                Error::invalid_param(
                    &param("limits.per_purchase.currency"),
                    "must be a three-letter currency code",
                )
            })?
            .to_ascii_lowercase();
        let mut checked_rule = json!({
            "action": action,
            "limits": {"per_purchase": {"amount": amount, "currency": currency}},
        });
        match rule.get("allowed_payment_methods") {
            None | Some(Value::Null) => {}
            Some(Value::Array(methods)) if methods.iter().all(Value::is_string) => {
                checked_rule["allowed_payment_methods"] = Value::Array(methods.clone());
            }
            Some(_) => {
                return Err(Error::invalid_param(
                    &param("allowed_payment_methods"),
                    "must be an array of payment-method ids",
                ));
            }
        }
        checked.push(checked_rule);
    }
    Ok(json!({ "rules": checked }))
}

/// `GET /userinfo`
#[utoipa::path(
    get,
    path = "/userinfo",
    tag = "accounts",
    security(("link_access_token" = [])),
    responses(
        (status = 200, description = "Who the token belongs to", body = crate::model::accounts::Userinfo),
        (status = 401, response = crate::error::ApiErrorBody),
    )
)]
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>> {
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    Ok(Json(user.userinfo()))
}

/// `GET /shipping_addresses`
#[utoipa::path(
    get,
    path = "/shipping_addresses",
    tag = "accounts",
    security(("link_access_token" = [])),
    responses(
        (status = 200, description = "The caller's saved addresses", body = ShippingAddressList),
        (status = 401, response = crate::error::ApiErrorBody),
    )
)]
pub async fn list_shipping_addresses(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    Ok(Json(
        json!({ "shipping_addresses": user.shipping_addresses }),
    ))
}
