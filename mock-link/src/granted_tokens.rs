//! Stripe's seller view of a shared payment token (`shared_payment.granted_token`, API version
//! 2026-04-22.preview): `GET /v1/shared_payment/granted_tokens/{id}` for every SPT mock-link
//! knows, whether Link minted it for an approved spend request or a seller made it with the test
//! helper `POST /v1/test_helpers/shared_payment/granted_tokens`; and the helper's `/revoke`.

use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use crate::body::{Form, parse_form};
use crate::clock::{from_unix_seconds, later, unix_seconds};
use crate::error::{Error, ErrorShape, Result};
use crate::ids::random_secret;
use crate::model::AppState;
use crate::model::accounts::Merchant;
use crate::model::granted_token::{Terms, TestGrantedToken};
use crate::model::ledger::LedgerEntry;
use crate::model::spend_request::lifecycle::expire_due_requests;
use crate::model::store::Store;
use crate::stripe::{authenticated_merchant, required, valid_currency};

/// The PaymentIntent that redeemed the token, if any.
fn redeeming_intent<'a>(store: &'a Store, terms: &Terms) -> Option<&'a Value> {
    terms
        .redeemed_by
        .as_ref()
        .and_then(|id| store.payment_intents.get(id))
        .map(|(_, intent)| intent)
}

/// Why and since when the token can no longer be used, if it cannot.
/// Redemption refuses in its own order (with its own codes); this is the seller view.
pub fn deactivation(store: &Store, terms: &Terms) -> Option<(SystemTime, &'static str)> {
    if let Some(at) = terms.revoked_at {
        return Some((at, "revoked"));
    }
    if terms.redeemed_by.is_some() {
        let at = redeeming_intent(store, terms)
            .and_then(|intent| intent["created"].as_i64())
            .map(from_unix_seconds)
            .unwrap_or(terms.created);
        return Some((at, "consumed"));
    }
    // A Link token dies with its spend request (canceled): Link, the issuer, revoked it.
    if let Some(request_id) = &terms.spend_request_id {
        let request = store.spend_request(request_id);
        match request {
            Some(request) if request.is_redeemable() => {}
            Some(request) => return Some((request.updated_at, "revoked")),
            None => return Some((terms.created, "revoked")),
        }
    }
    (store.now() >= terms.expires_at).then_some((terms.expires_at, "expired"))
}

/// `payment_method_details` of a card: brand and last4, the rest Stripe's test defaults.
fn card_details(brand: &str, last4: &str, name: Option<&str>) -> Value {
    json!({
        "type": "card",
        "billing_details": {
            "address": {"city": null, "country": null, "line1": null, "line2": null,
                        "postal_code": null, "state": null},
            "email": null,
            "name": name,
            "phone": null,
        },
        "card": {
            "brand": brand,
            "country": "US",
            "display_brand": brand,
            "exp_month": 12,
            "exp_year": 2034,
            "funding": "credit",
            "last4": last4,
            "networks": {"available": [brand], "preferred": null},
            "wallet": null,
        },
    })
}

/// Brand and last4 of a Stripe test PaymentMethod id (`pm_card_mastercard` → mastercard 4444).
fn test_card(payment_method: &str) -> (&'static str, &'static str) {
    let name = payment_method.strip_prefix("pm_card_").unwrap_or_default();
    [
        ("mastercard", "mastercard", "4444"),
        ("amex", "amex", "8431"),
        ("discover", "discover", "1117"),
    ]
    .into_iter()
    .find(|(prefix, _, _)| name.starts_with(prefix))
    .map(|(_, brand, last4)| (brand, last4))
    .unwrap_or(("visa", "4242"))
}

fn payment_method_details(store: &Store, terms: &Terms) -> Value {
    if let Some(token) = store.test_granted_tokens.get(&terms.id) {
        let (brand, last4) = test_card(&token.payment_method);
        return card_details(brand, last4, None);
    }
    let request = terms
        .spend_request_id
        .as_ref()
        .and_then(|id| store.spend_request(id));
    let brand = request
        .and_then(|request| request.input.card_brand.as_deref())
        .unwrap_or("visa");
    let last4 = request
        .and_then(|request| request.input.card_last4.as_deref())
        .unwrap_or("4242");
    let name = request
        .and_then(|request| store.user(&request.user_id))
        .map(|user| user.name.as_str());
    card_details(brand, last4, name)
}

/// The `shared_payment.granted_token` object [`to_json`] builds.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct GrantedTokenObject {
    /// `spt_...`
    id: String,
    /// Always `shared_payment.granted_token`.
    object: String,
    agent_details: Value,
    /// Unix seconds.
    created: i64,
    deactivated_at: Option<i64>,
    /// `consumed`, `expired` or `revoked`.
    deactivated_reason: Option<String>,
    livemode: bool,
    payment_method_details: Value,
    shared_metadata: Map<String, Value>,
    usage_details: Value,
    usage_limits: Value,
}

/// The `POST /v1/test_helpers/shared_payment/granted_tokens` form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The OpenAPI schema of a form read field by field.
pub(crate) struct TestTokenForm {
    /// A Stripe test PaymentMethod, `pm_...`.
    #[schema(pattern = "^pm_")]
    payment_method: String,
    #[schema(rename = "usage_limits[currency]", pattern = "^[A-Za-z]{3}$")]
    currency: String,
    /// A positive integer.
    #[schema(rename = "usage_limits[max_amount]", pattern = "^[1-9][0-9]{0,17}$")]
    max_amount: String,
    /// Unix seconds in the future.
    /// Empty is the same as absent (the credential lifetime).
    #[schema(rename = "usage_limits[expires_at]", pattern = "^([1-9][0-9]{0,17})?$")]
    expires_at: Option<String>,
}

/// The `shared_payment.granted_token` object.
pub fn to_json(store: &Store, terms: &Terms) -> Value {
    let deactivation = deactivation(store, terms);
    let captured = redeeming_intent(store, terms)
        .and_then(|intent| intent["amount_received"].as_i64())
        .unwrap_or(0);
    let shared_metadata = store
        .test_granted_tokens
        .get(&terms.id)
        .map(|token| token.shared_metadata.clone())
        .unwrap_or_default();
    // Link (the agent's wallet) shared Link-minted tokens; the test helper names no agent.
    let agent_profile = terms.spend_request_id.as_ref().map(|_| "profile_mock_link");
    json!({
        "id": terms.id,
        "object": "shared_payment.granted_token",
        "agent_details": {"network_business_profile": agent_profile},
        "created": unix_seconds(terms.created),
        "deactivated_at": deactivation.map(|(at, _)| unix_seconds(at)),
        "deactivated_reason": deactivation.map(|(_, reason)| reason),
        "livemode": false,
        "payment_method_details": payment_method_details(store, terms),
        "shared_metadata": shared_metadata,
        "usage_details": {"amount_captured": {"value": captured, "currency": terms.currency}},
        "usage_limits": {
            "currency": terms.currency,
            "expires_at": unix_seconds(terms.expires_at),
            "max_amount": terms.max_amount,
            "recurring_interval": null,
        },
    })
}

/// The token `id` as `merchant` may see it: tokens are granted to one network, so any other
/// merchant gets the same 404 as for an unknown id.
fn visible_terms(store: &Store, merchant: &Merchant, id: &str) -> Result<Terms> {
    store
        .token_terms(id)
        .filter(|terms| terms.network_id == merchant.network_id)
        .ok_or_else(|| Error::Stripe {
            status: StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            code: "resource_missing".into(),
            message: format!("No such shared_payment.granted_token: '{id}'"),
            param: Some("shared_payment_granted_token".into()),
        })
}

/// `GET /v1/shared_payment/granted_tokens/{id}`
#[utoipa::path(
    get,
    path = "/v1/shared_payment/granted_tokens/{id}",
    tag = "stripe",
    security(("stripe_secret_key" = []), ("stripe_secret_key_basic" = [])),
    params(("id" = String, Path, description = "`spt_...`")),
    responses(
        (status = 200, description = "The token", body = GrantedTokenObject),
        (status = 401, response = crate::error::StripeErrorBody),
        (status = 404, response = crate::error::StripeErrorBody),
    )
)]
pub async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let mut store = state.lock();
    let merchant = authenticated_merchant(&store, &headers)?;
    expire_due_requests(&mut store);
    let terms = visible_terms(&store, &merchant, &id)?;
    Ok(Json(to_json(&store, &terms)))
}

/// `shared_metadata[k]=v` pairs.
fn shared_metadata(form: &Form) -> Map<String, Value> {
    form.pairs
        .iter()
        .filter_map(|(key, value)| {
            key.strip_prefix("shared_metadata[")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(|name| (name.to_owned(), Value::String(value.clone())))
        })
        .collect()
}

fn positive_integer(form: &Form, param: &str) -> Result<i64> {
    required(form, param)?
        .parse()
        .ok()
        .filter(|value: &i64| *value > 0)
        .ok_or_else(|| {
            Error::stripe(
                "parameter_invalid_integer",
                format!("Invalid positive integer: {param}."),
                Some(param),
            )
        })
}

/// Reads and checks the test helper's parameters into a new token of `merchant`.
fn new_test_token(store: &Store, merchant: &Merchant, form: &Form) -> Result<TestGrantedToken> {
    let payment_method = required(form, "payment_method")?;
    if !payment_method.starts_with("pm_") {
        return Err(Error::stripe(
            "resource_missing",
            format!("No such PaymentMethod: '{payment_method}'"),
            Some("payment_method"),
        ));
    }
    let currency = valid_currency(form, "usage_limits[currency]")?;
    let max_amount = positive_integer(form, "usage_limits[max_amount]")?;
    let now = store.now();
    let expires_at = match form.non_empty("usage_limits[expires_at]") {
        None => later(now, store.config.credential_lifetime),
        Some(_) => {
            let at = from_unix_seconds(positive_integer(form, "usage_limits[expires_at]")?);
            if at <= now {
                return Err(Error::stripe(
                    "parameter_invalid",
                    "usage_limits[expires_at] must be in the future.",
                    Some("usage_limits[expires_at]"),
                ));
            }
            at
        }
    };
    Ok(TestGrantedToken {
        id: random_secret("spt_"),
        network_id: merchant.network_id.clone(),
        payment_method: payment_method.to_owned(),
        max_amount,
        currency,
        created: now,
        expires_at,
        shared_metadata: shared_metadata(form),
        redeemed_by: None,
    })
}

/// `POST /v1/test_helpers/shared_payment/granted_tokens`: a token granted to the caller's
/// network, redeemable once by the caller within `usage_limits`.
#[utoipa::path(
    post,
    path = "/v1/test_helpers/shared_payment/granted_tokens",
    tag = "stripe",
    security(("stripe_secret_key" = []), ("stripe_secret_key_basic" = [])),
    request_body(content = TestTokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A new test token", body = GrantedTokenObject),
        (status = 400, response = crate::error::StripeErrorBody),
        (status = 401, response = crate::error::StripeErrorBody),
    )
)]
pub async fn create_test_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let form = parse_form(&headers, &body, ErrorShape::Stripe)?;
    let mut store = state.lock();
    let merchant = authenticated_merchant(&store, &headers)?;
    let token = new_test_token(&store, &merchant, &form)?;
    let terms = token.terms(None);
    store.test_granted_tokens.insert(token.id.clone(), token);
    let now = store.now();
    store.ledger.push(LedgerEntry::for_token(
        "issued", &terms, None, None, None, now,
    ));
    tracing::info!(network = %merchant.network_id, "test shared payment token created");
    Ok(Json(to_json(&store, &terms)))
}

/// `POST /v1/test_helpers/shared_payment/granted_tokens/{id}/revoke`: the token can no longer
/// be redeemed. A token already deactivated (consumed, expired, revoked) is returned unchanged.
#[utoipa::path(
    post,
    path = "/v1/test_helpers/shared_payment/granted_tokens/{id}/revoke",
    tag = "stripe",
    security(("stripe_secret_key" = []), ("stripe_secret_key_basic" = [])),
    params(("id" = String, Path, description = "`spt_...`")),
    responses(
        (status = 200, description = "The revoked token", body = GrantedTokenObject),
        (status = 401, response = crate::error::StripeErrorBody),
        (status = 404, response = crate::error::StripeErrorBody),
    )
)]
pub async fn revoke_test_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let mut store = state.lock();
    let merchant = authenticated_merchant(&store, &headers)?;
    expire_due_requests(&mut store);
    let terms = visible_terms(&store, &merchant, &id)?;
    if deactivation(&store, &terms).is_none() {
        let now = store.now();
        store.revoked_tokens.insert(id.clone(), now);
        store.ledger.push(LedgerEntry::for_token(
            "revoked", &terms, None, None, None, now,
        ));
        tracing::info!("shared payment token revoked");
    }
    let terms = visible_terms(&store, &merchant, &id)?;
    Ok(Json(to_json(&store, &terms)))
}
