//! The Stripe subset merchants use to redeem an SPT: `POST /v1/payment_intents`
//! (form-encoded, secret key as Bearer or Basic username, `Idempotency-Key` replay), the token
//! named top-level or as `payment_method_data[shared_payment_granted_token]`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::body::{Form, parse_form};
use crate::clock::unix_seconds;
use crate::error::{Error, ErrorShape};
use crate::ids::random_id;
use crate::model::AppState;
use crate::model::accounts::Merchant;
use crate::model::granted_token::Terms;
use crate::model::ledger::LedgerEntry;
use crate::model::scripts::{magic_behaviour, magic_declines, magic_payment_requires_action};
use crate::model::spend_request::lifecycle::{Change, apply, expire_due_requests};
use crate::model::spend_request::payment::{PaymentOutcome, PaymentStatus};
use crate::model::store::{Store, StoredResponse};

/// The secret key a request authenticates with: `Bearer sk_...` or Basic with the key as username.
fn secret_key(headers: &HeaderMap) -> Result<String, Error> {
    let missing = || {
        Error::Stripe {
        status: StatusCode::UNAUTHORIZED,
        kind: "invalid_request_error",
        code: "api_key_missing".into(),
        message: "You did not provide an API key. Use Authorization: Bearer sk_test_... or HTTP Basic with the key as username.".into(),
        param: None,
    }
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(missing)?;
    if let Some(key) = value.strip_prefix("Bearer ") {
        return Ok(key.trim().to_owned());
    }
    if let Some(encoded) = value.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(missing)?;
        let username = decoded.split(':').next().unwrap_or_default();
        return Ok(username.to_owned());
    }
    Err(missing())
}

fn masked(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("sk_****{tail}")
}

pub(crate) fn required<'a>(form: &'a Form, param: &str) -> Result<&'a str, Error> {
    form.non_empty(param).ok_or_else(|| {
        Error::stripe(
            "parameter_missing",
            format!("Missing required param: {param}."),
            Some(param),
        )
    })
}

/// The required currency `param`, lowercased: three ASCII letters.
pub(crate) fn valid_currency(form: &Form, param: &str) -> Result<String, Error> {
    let currency = required(form, param)?.to_ascii_lowercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(Error::stripe(
            "parameter_invalid",
            format!("Invalid currency: {currency}."),
            Some(param),
        ));
    }
    Ok(currency)
}

/// The merchant whose secret key authenticates the request (401 for a missing or unknown key).
pub(crate) fn authenticated_merchant(
    store: &Store,
    headers: &HeaderMap,
) -> Result<Merchant, Error> {
    let key = secret_key(headers)?;
    store
        .merchants
        .iter()
        .find(|merchant| merchant.secret_key == key)
        .cloned()
        .ok_or_else(|| Error::Stripe {
            status: StatusCode::UNAUTHORIZED,
            kind: "invalid_request_error",
            code: "api_key_invalid".into(),
            message: format!("Invalid API Key provided: {}", masked(&key)),
            param: None,
        })
}

const TOKEN_PARAM: &str = "shared_payment_granted_token";
const NESTED_TOKEN_PARAM: &str = "payment_method_data[shared_payment_granted_token]";

/// The token a PaymentIntent names, with the param it came in: the top-level
/// `shared_payment_granted_token` or `payment_method_data[shared_payment_granted_token]`
/// (API version 2026-04-22.preview). Both naming the same token is fine; different ones, a 400.
fn named_token(form: &Form) -> Result<(String, &'static str), Error> {
    match (
        form.non_empty(TOKEN_PARAM),
        form.non_empty(NESTED_TOKEN_PARAM),
    ) {
        (Some(top), Some(nested)) if top != nested => Err(Error::stripe(
            "parameters_exclusive",
            format!("{TOKEN_PARAM} and {NESTED_TOKEN_PARAM} name different tokens; send one."),
            Some(NESTED_TOKEN_PARAM),
        )),
        (Some(top), _) => Ok((top.to_owned(), TOKEN_PARAM)),
        (None, Some(nested)) => Ok((nested.to_owned(), NESTED_TOKEN_PARAM)),
        (None, None) => Err(Error::stripe(
            "parameter_missing",
            format!("Missing required param: {TOKEN_PARAM}."),
            Some(TOKEN_PARAM),
        )),
    }
}

/// How a redemption that passed every check ends.
enum Outcome {
    Decline { decline_code: &'static str },
    RequiresAction,
    Succeed,
}

/// Stripe's test PaymentMethods that fail, for test-helper tokens; any other `pm_` succeeds.
fn test_payment_method_outcome(payment_method: &str) -> Outcome {
    match payment_method {
        "pm_card_authenticationRequired" | "pm_card_threeDSecure2Required" => {
            Outcome::RequiresAction
        }
        _ if payment_method.contains("chargeDeclinedInsufficientFunds") => Outcome::Decline {
            decline_code: "insufficient_funds",
        },
        _ if payment_method.contains("chargeDeclined") => Outcome::Decline {
            decline_code: "generic_decline",
        },
        _ => Outcome::Succeed,
    }
}

fn outcome(store: &Store, terms: &Terms) -> Outcome {
    if let Some(token) = store.test_granted_tokens.get(&terms.id) {
        return test_payment_method_outcome(&token.payment_method);
    }
    let Some(token) = store.shared_payment_tokens.get(&terms.id) else {
        return Outcome::Succeed;
    };
    let request = store.spend_request(&token.spend_request_id);
    let behaviour = request
        .map(|request| magic_behaviour(&request.input.payment_details, request.input.amount))
        .unwrap_or_default();
    if magic_declines(behaviour).is_some_and(|declines| token.declined_attempts < declines) {
        Outcome::Decline {
            decline_code: "generic_decline",
        }
    } else if magic_payment_requires_action(behaviour) {
        Outcome::RequiresAction
    } else {
        Outcome::Succeed
    }
}

/// Why `terms` cannot pay `amount` `currency` for `merchant_network_id`, if it cannot.
fn refusal(
    store: &Store,
    terms: &Terms,
    param: &str,
    merchant_network_id: &str,
    amount: i64,
    currency: &str,
) -> Option<Error> {
    let param = Some(param);
    let request_redeemable = || {
        terms.spend_request_id.as_ref().is_none_or(|id| {
            store
                .spend_request(id)
                .is_some_and(|request| request.is_redeemable())
        })
    };
    let error = if terms.redeemed_by.is_some() {
        Error::stripe(
            "token_already_used",
            "This shared payment granted token has already been used.",
            param,
        )
    } else if terms.revoked_at.is_some() {
        Error::stripe(
            "shared_payment_granted_token_revoked",
            "This shared payment granted token has been revoked.",
            param,
        )
    } else if store.now() >= terms.expires_at {
        Error::stripe(
            "shared_payment_granted_token_expired",
            "This shared payment granted token has expired.",
            param,
        )
    } else if !request_redeemable() {
        Error::stripe(
            "shared_payment_granted_token_invalid",
            "This shared payment granted token is no longer usable (its spend request is not approved).",
            param,
        )
    } else if terms.network_id != merchant_network_id {
        Error::stripe(
            "shared_payment_granted_token_network_mismatch",
            "This shared payment granted token was issued for another network (business profile).",
            param,
        )
    } else if currency != terms.currency {
        Error::stripe(
            "shared_payment_granted_token_currency_mismatch",
            format!(
                "This shared payment granted token is for {}, not {currency}.",
                terms.currency
            ),
            Some("currency"),
        )
    } else if amount > terms.max_amount {
        Error::stripe(
            "amount_too_large",
            format!(
                "The amount exceeds the token's max_amount of {}.",
                terms.max_amount
            ),
            Some("amount"),
        )
    } else {
        return None;
    };
    Some(error)
}

fn metadata(form: &Form) -> Map<String, Value> {
    form.pairs
        .iter()
        .filter_map(|(key, value)| {
            key.strip_prefix("metadata[")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(|name| (name.to_owned(), Value::String(value.clone())))
        })
        .collect()
}

/// The parameters in a canonical order: a retry that sends them in another order (the `mpp`
/// crate builds metadata from a hash map) is still the same request.
fn fingerprint(form: &Form) -> String {
    let mut pairs = form.pairs.clone();
    pairs.sort();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Validates and redeems; everything under one lock so an SPT is redeemed at most once.
fn create_payment_intent(
    store: &mut Store,
    secret_key: &str,
    merchant_network_id: &str,
    form: &Form,
) -> Result<Value, Error> {
    let amount: i64 = required(form, "amount")?
        .parse()
        .ok()
        .filter(|amount| *amount > 0)
        .ok_or_else(|| {
            Error::stripe(
                "parameter_invalid_integer",
                "Invalid positive integer: amount.",
                Some("amount"),
            )
        })?;
    let currency = valid_currency(form, "currency")?;
    let (spt_id, param) = named_token(form)?;
    match form.get("confirm") {
        Some("true") => {}
        _ => {
            return Err(Error::stripe(
                "parameter_invalid",
                "mock-link only supports confirm=true with shared_payment_granted_token.",
                Some("confirm"),
            ));
        }
    }
    expire_due_requests(store);
    let now = store.now();
    let terms = store.token_terms(&spt_id).ok_or_else(|| {
        Error::stripe(
            "resource_missing",
            "No such shared payment granted token.",
            Some(param),
        )
    })?;
    if let Some(error) = refusal(store, &terms, param, merchant_network_id, amount, &currency) {
        let reason = match &error {
            Error::Stripe { code, .. } => code.clone(),
            other => other.to_string(),
        };
        store.ledger.push(LedgerEntry::redemption(
            &terms,
            merchant_network_id,
            None,
            Some(reason),
            now,
        ));
        return Err(error);
    }
    let requires_action = match outcome(store, &terms) {
        Outcome::Decline { decline_code } => {
            return Err(decline(
                store,
                &terms,
                merchant_network_id,
                amount,
                &currency,
                decline_code,
            ));
        }
        Outcome::RequiresAction => true,
        Outcome::Succeed => false,
    };
    let payment_intent_id = random_id("pi_");
    if let Some(stored) = store.shared_payment_tokens.get_mut(&spt_id) {
        stored.redeemed_by = Some(payment_intent_id.clone());
    }
    if let Some(stored) = store.test_granted_tokens.get_mut(&spt_id) {
        stored.redeemed_by = Some(payment_intent_id.clone());
    }
    if let Some(id) = &terms.spend_request_id {
        let (outcome, code) = if requires_action {
            (
                PaymentOutcome::Failure,
                Some("authentication_required".to_owned()),
            )
        } else {
            (PaymentOutcome::Success, None)
        };
        let status = PaymentStatus::new(outcome, code, None, amount, currency.clone(), now);
        let redeemed = Change::Redeemed {
            payment_intent: payment_intent_id.clone(),
            status,
        };
        // Refusal checked above that the request exists and is redeemable.
        let _ = apply(store, id, redeemed);
    }
    store.ledger.push(LedgerEntry::redemption(
        &terms,
        merchant_network_id,
        Some(payment_intent_id.clone()),
        requires_action.then(|| "requires_action".to_owned()),
        now,
    ));
    tracing::info!(payment_intent = %payment_intent_id, "shared payment token redeemed");
    let mut intent = json!({
        "id": payment_intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": if requires_action { 0 } else { amount },
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        "created": unix_seconds(now),
        "currency": currency,
        "description": form.get("description"),
        "latest_charge": if requires_action { None } else { Some(random_id("ch_")) },
        "livemode": false,
        "metadata": metadata(form),
        "next_action": null,
        "payment_method": random_id("pm_"),
        "payment_method_types": ["card", "link"],
        "shared_payment_granted_token": spt_id,
        "status": if requires_action { "requires_action" } else { "succeeded" },
    });
    if requires_action {
        intent["next_action"] = json!({ "type": "use_stripe_sdk", "use_stripe_sdk": {} });
    }
    store
        .payment_intents
        .insert(payment_intent_id, (secret_key.to_owned(), intent.clone()));
    Ok(intent)
}

/// A declined charge: the token is not consumed; a Link token's spend request records it.
fn decline(
    store: &mut Store,
    terms: &Terms,
    merchant_network_id: &str,
    amount: i64,
    currency: &str,
    decline_code: &str,
) -> Error {
    let now = store.now();
    if let Some(stored) = store.shared_payment_tokens.get_mut(&terms.id) {
        stored.declined_attempts += 1;
    }
    store.ledger.push(LedgerEntry::redemption(
        terms,
        merchant_network_id,
        None,
        Some("card_declined".into()),
        now,
    ));
    if let Some(id) = &terms.spend_request_id {
        let status = PaymentStatus::new(
            PaymentOutcome::Failure,
            Some("card_declined".to_owned()),
            Some(decline_code.to_owned()),
            amount,
            currency.to_owned(),
            now,
        );
        let _ = apply(store, id, Change::Declined(status));
    }
    Error::Stripe {
        status: StatusCode::PAYMENT_REQUIRED,
        kind: "card_error",
        code: "card_declined".into(),
        message: "Your card was declined.".into(),
        param: None,
    }
}

/// The `POST /v1/payment_intents` form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The OpenAPI schema of a form read field by field.
pub(crate) struct PaymentIntentForm {
    /// A positive integer, in the currency's smallest unit.
    #[schema(pattern = "^[1-9][0-9]{0,17}$")]
    amount: String,
    #[schema(pattern = "^[A-Za-z]{3}$")]
    currency: String,
    /// mock-link supports only confirming at once.
    #[schema(pattern = "^true$")]
    confirm: String,
    /// `spt_...` (or `payment_method_data[shared_payment_granted_token]`).
    shared_payment_granted_token: Option<String>,
    description: Option<String>,
}

/// The PaymentIntent [`create_payment_intent`] builds.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct PaymentIntentObject {
    /// `pi_...`
    id: String,
    /// Always `payment_intent`.
    object: String,
    amount: i64,
    amount_capturable: i64,
    amount_received: i64,
    capture_method: String,
    confirmation_method: String,
    /// Unix seconds.
    created: i64,
    currency: String,
    description: Option<String>,
    latest_charge: Option<String>,
    livemode: bool,
    metadata: Map<String, Value>,
    /// `{type: use_stripe_sdk, ...}` when `requires_action`.
    next_action: Option<Value>,
    payment_method: String,
    payment_method_types: Vec<String>,
    shared_payment_granted_token: String,
    /// `succeeded` or `requires_action`.
    status: String,
}

/// `POST /v1/payment_intents`
#[utoipa::path(
    post,
    path = "/v1/payment_intents",
    tag = "stripe",
    security(("stripe_secret_key" = []), ("stripe_secret_key_basic" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same parameters")),
    request_body(content = PaymentIntentForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The confirmed PaymentIntent", body = PaymentIntentObject),
        (status = 400, response = crate::error::StripeErrorBody),
        (status = 401, response = crate::error::StripeErrorBody),
        (status = 402, response = crate::error::StripeErrorBody),
    )
)]
pub async fn payment_intents(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = match secret_key(&headers) {
        Ok(key) => key,
        Err(error) => return error.into_response(),
    };
    let form = match parse_form(&headers, &body, ErrorShape::Stripe) {
        Ok(form) => form,
        Err(error) => return error.into_response(),
    };
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
        .map(str::to_owned);
    let fingerprint = fingerprint(&form);
    let mut store = state.lock();
    let merchant = match authenticated_merchant(&store, &headers) {
        Ok(merchant) => merchant,
        Err(error) => return error.into_response(),
    };
    let mut replayed = false;
    let (status, body) = match idempotency_key.as_ref().and_then(|idempotency_key| {
        store
            .idempotency
            .get(&(key.clone(), idempotency_key.clone()))
    }) {
        Some(stored) if stored.request_fingerprint != fingerprint => {
            let error = Error::Stripe {
                status: StatusCode::BAD_REQUEST,
                kind: "idempotency_error",
                code: "idempotency_key_in_use".into(),
                message: "Keys for idempotent requests can only be used with the same parameters they were first used with.".into(),
                param: None,
            };
            (error.status(), error.body())
        }
        Some(stored) => {
            replayed = true;
            (
                StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
                stored.body.clone(),
            )
        }
        None => {
            let (status, body) =
                match create_payment_intent(&mut store, &key, &merchant.network_id, &form) {
                    Ok(body) => (StatusCode::OK, body),
                    Err(error) => (error.status(), error.body()),
                };
            if let Some(idempotency_key) = &idempotency_key {
                store.idempotency.insert(
                    (key.clone(), idempotency_key.clone()),
                    StoredResponse {
                        request_fingerprint: fingerprint,
                        status: status.as_u16(),
                        body: body.clone(),
                    },
                );
            }
            (status, body)
        }
    };
    drop(store);
    let mut response = (status, Json(body)).into_response();
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&random_id("req_")) {
        response_headers.insert("request-id", value);
    }
    if let Some(idempotency_key) = idempotency_key
        && let Ok(value) = HeaderValue::from_str(&idempotency_key)
    {
        response_headers.insert("idempotency-key", value);
    }
    if replayed {
        response_headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    if let Some(version) = headers.get("stripe-version") {
        response_headers.insert("stripe-version", version.clone());
    }
    response
}

/// `GET /v1/payment_intents/{id}`: a PaymentIntent the same secret key created.
#[utoipa::path(
    get,
    path = "/v1/payment_intents/{id}",
    tag = "stripe",
    security(("stripe_secret_key" = []), ("stripe_secret_key_basic" = [])),
    params(("id" = String, Path, description = "`pi_...`")),
    responses(
        (status = 200, description = "The PaymentIntent", body = PaymentIntentObject),
        (status = 401, response = crate::error::StripeErrorBody),
        (status = 404, response = crate::error::StripeErrorBody),
    )
)]
pub async fn retrieve_payment_intent(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, Error> {
    let store = state.lock();
    let key = authenticated_merchant(&store, &headers)?.secret_key;
    match store.payment_intents.get(&id) {
        Some((owner, intent)) if *owner == key => Ok(Json(intent.clone())),
        _ => Err(Error::Stripe {
            status: StatusCode::NOT_FOUND,
            kind: "invalid_request_error",
            code: "resource_missing".into(),
            message: format!("No such payment_intent: '{id}'"),
            param: Some("intent".into()),
        }),
    }
}
