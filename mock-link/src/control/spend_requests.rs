//! `/__control/spend_requests/{id}[/...]`: the issuer's view of a spend request and the events
//! the human or the payment network cause, through the one door of
//! [`crate::model::spend_request::lifecycle`].

use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::body::parse_json_object;
use crate::clock::later;
use crate::error::{Error, Result};
use crate::model::AppState;
use crate::model::scripts::SpendRequestScript;
use crate::model::spend_request::lifecycle::{Change, apply, expire_due_requests};
use crate::model::spend_request::payment::{PaymentOutcome, PaymentStatus};
use crate::model::spend_request::state_machine::{Event, Resolution};
use crate::model::spend_request::{Include, SpendRequest};
use crate::model::store::Store;

use super::{delay_seconds, parse, parse_tagged};

/// The full spend request as the issuer sees it (credentials included once approved).
fn spend_request_json(store: &Store, id: &str) -> Result<Value> {
    let request = store
        .spend_request(id)
        .ok_or_else(|| Error::not_found("spend request", id))?;
    let include = Include {
        card: true,
        shared_payment_token: true,
        link_pay_token: false,
    };
    Ok(store.spend_request_json(request, include))
}

/// Overrides for the `payment_status_details` a `succeed` or `fail` records; a member given as
/// `null` sets `null` (e.g. `"decline_code": null`).
#[derive(Debug, Default)]
struct PaymentOutcomeBody {
    code: Option<Option<String>>,
    decline_code: Option<Option<String>>,
    amount: Option<i64>,
    currency: Option<String>,
    refund_details: Option<Value>,
}

/// The body of `POST /__control/spend_requests/{id}/{event}`; which members apply depends on
/// the event, the others are ignored.
#[derive(Debug, Default)]
struct SpendRequestEventBody {
    /// `require_action` only.
    resolution: Option<Resolution>,
    /// `succeed` and `fail` only.
    outcome: PaymentOutcomeBody,
}

/// The OpenAPI schema of [`SpendRequestEventBody`] (read member by member).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct SpendRequestEventSchema {
    /// `require_action` only (required there).
    resolution: Option<Resolution>,
    /// `succeed` and `fail`: overrides `payment_status_details.code`.
    code: Option<String>,
    decline_code: Option<String>,
    amount: Option<i64>,
    currency: Option<String>,
    refund_details: Option<Value>,
}

impl SpendRequestEventBody {
    fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Self> {
        let object = parse_json_object(headers, body)?;
        let nullable_string = |key: &str| -> Result<Option<Option<String>>> {
            match object.get(key) {
                None => Ok(None),
                Some(Value::Null) => Ok(Some(None)),
                Some(Value::String(text)) => Ok(Some(Some(text.clone()))),
                Some(_) => Err(Error::invalid_param(key, "must be a string or null")),
            }
        };
        let resolution = match object.get("resolution") {
            None | Some(Value::Null) => None,
            Some(value) => Some(serde_json::from_value(value.clone()).map_err(|_| {
                Error::invalid_param(
                    "resolution",
                    "must be auto_resume, create_new_spend_request or                      create_new_spend_request_after_completion",
                )
            })?),
        };
        let amount = match object.get("amount") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_i64()
                    .ok_or_else(|| Error::invalid_param("amount", "must be an integer"))?,
            ),
        };
        let currency = nullable_string("currency")?.flatten();
        Ok(Self {
            resolution,
            outcome: PaymentOutcomeBody {
                code: nullable_string("code")?,
                decline_code: nullable_string("decline_code")?,
                amount,
                currency,
                refund_details: object.get("refund_details").cloned(),
            },
        })
    }
}

/// The event a control path segment names.
fn spend_request_event_named(name: &str, body: &SpendRequestEventBody) -> Result<Event> {
    Ok(match name {
        "approve" => Event::Approve,
        "deny" => Event::Deny,
        "expire" => Event::Expire,
        "complete_action" => Event::CompleteAction,
        "submit" => Event::Submit,
        "succeed" => Event::Redeem,
        "fail" => Event::Fail,
        "require_action" => Event::RequireAction(
            body.resolution
                .ok_or_else(|| Error::missing_param("resolution"))?,
        ),
        other => {
            return Err(Error::api(
                StatusCode::NOT_FOUND,
                "resource_missing",
                format!(
                    "no spend-request event '{other}' (approve, deny, expire, require_action, \
                     complete_action, submit, succeed, fail)"
                ),
            ));
        }
    })
}

impl PaymentOutcomeBody {
    /// The status of a payment made with the credential (outside the Stripe subset, e.g. a
    /// card typed into a checkout) that settled in `outcome`, with these overrides.
    fn status(
        self,
        request: &SpendRequest,
        outcome: PaymentOutcome,
        now: SystemTime,
    ) -> PaymentStatus {
        let (code, decline_code) = match outcome {
            PaymentOutcome::Success => (None, None),
            PaymentOutcome::Failure => (
                Some("card_declined".to_owned()),
                Some("generic_decline".to_owned()),
            ),
        };
        let mut status = PaymentStatus::new(
            outcome,
            self.code.unwrap_or(code),
            self.decline_code.unwrap_or(decline_code),
            self.amount.unwrap_or(request.input.amount),
            self.currency
                .unwrap_or_else(|| request.input.currency.clone()),
            now,
        );
        status.refund_details = self.refund_details.unwrap_or(Value::Null);
        status
    }
}

/// `POST /__control/spend_requests/{id}/{event}`: one state-machine event, as the human or the
/// payment network would cause it.
#[utoipa::path(
    post,
    path = "/__control/spend_requests/{id}/{event}",
    tag = "control",
    params(("id" = String, Path, description = "The spend request (`lsrq_...`)"), ("event" = String, Path, description = "`approve`, `deny`, `expire`, `require_action`, `complete_action`, `submit`, `succeed` or `fail`")),
    request_body(content = SpendRequestEventSchema, content_type = "application/json"),
    responses(
        (status = 200, description = "The spend request after the event", body = crate::model::spend_request::SpendRequestObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn spend_request_event(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body = SpendRequestEventBody::parse(&headers, &body)?;
    let event = spend_request_event_named(&name, &body)?;
    let mut store = state.lock();
    let settled = |outcome| -> Result<Change> {
        let request = store
            .spend_request(&id)
            .ok_or_else(|| Error::not_found("spend request", &id))?;
        Ok(Change::Settled(body.outcome.status(
            request,
            outcome,
            store.now(),
        )))
    };
    let change = match event {
        Event::Expire => Change::ExpireNow,
        Event::Redeem => settled(PaymentOutcome::Success)?,
        Event::Fail => settled(PaymentOutcome::Failure)?,
        event => Change::Event(event),
    };
    apply(&mut store, &id, change)?;
    spend_request_json(&store, &id).map(Json)
}

#[utoipa::path(
    get,
    path = "/__control/spend_requests/{id}",
    tag = "control",
    params(("id" = String, Path, description = "The spend request (`lsrq_...`)")),
    responses(
        (status = 200, description = "Any user's spend request, with its credentials", body = crate::model::spend_request::SpendRequestObject),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn get_spend_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let mut store = state.lock();
    expire_due_requests(&mut store);
    spend_request_json(&store, &id).map(Json)
}

#[utoipa::path(
    post,
    path = "/__control/spend_requests/{id}/script",
    tag = "control",
    params(("id" = String, Path, description = "The spend request (`lsrq_...`)")),
    request_body(content = SpendRequestScript, content_type = "application/json"),
    responses(
        (status = 200, description = "The spend request with its script", body = crate::model::spend_request::SpendRequestObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn script_spend_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let script: SpendRequestScript = parse_tagged(&headers, &body, &["/outcome"])?;
    let mut store = state.lock();
    let mut request = store
        .spend_request_mut(&id)
        .ok_or_else(|| Error::not_found("spend request", &id))?;
    request.script = Some(script);
    request.polls = 0;
    drop(request);
    spend_request_json(&store, &id).map(Json)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SptDelayBody {
    #[schema(minimum = 0)]
    seconds: f64,
}

/// `POST /__control/spend_requests/{id}/spt_delay {seconds}`: its SPT shows that long after
/// approval (after approval: it hides the minted token for `seconds` from now).
#[utoipa::path(
    post,
    path = "/__control/spend_requests/{id}/spt_delay",
    tag = "control",
    params(("id" = String, Path, description = "The spend request (`lsrq_...`)")),
    request_body(content = SptDelayBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The spend request with its SPT delay", body = crate::model::spend_request::SpendRequestObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn set_spt_delay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body: SptDelayBody = parse(&headers, &body)?;
    let delay = delay_seconds("seconds", body.seconds)?;
    let mut store = state.lock();
    let now = store.now();
    let mut request = store
        .spend_request_mut(&id)
        .ok_or_else(|| Error::not_found("spend request", &id))?;
    request.spt_delay = Some(delay);
    // Already approved: the minted token hides for `seconds` from now.
    if request.spt_available_at.is_some() {
        request.spt_available_at = Some(later(now, delay));
    }
    drop(request);
    spend_request_json(&store, &id).map(Json)
}
