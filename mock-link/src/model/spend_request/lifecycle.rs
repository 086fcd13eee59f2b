//! The one door for changes to a spend request after its creation: events from the user
//! and the network, expiry on the virtual clock, redemption and its payment status, and the
//! credentials issued on approval.

use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use serde_json::Value;

use super::NextAction;
use super::credentials::{SharedPaymentToken, issue_card};
use super::payment::{PaymentOutcome, PaymentStatus};
use super::state_machine::{Event, State as Status, TransitionError, transition};
use super::validation::CredentialType;
use crate::clock::{later, unix_seconds};
use crate::error::{Error, Result};
use crate::ids::random_secret;
use crate::model::ledger::LedgerEntry;
use crate::model::scripts::{MAGIC_SPT_DELAY, magic_behaviour, magic_on_approval_request};
use crate::model::store::Store;

/// A change to a spend request after its creation: the user, the payment network or the
/// clock acting on it. [`apply`] is the one door every handler goes through.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A state-machine event, with its side effects (see [`apply_event`]).
    Event(Event),
    /// The request expires now, and its `expires_at` says so (control API, scripts).
    ExpireNow,
    /// A payment with the credential settled outside the Stripe subset (control API `succeed`
    /// and `fail`): the request succeeds or fails with this status.
    Settled(PaymentStatus),
    /// A merchant redeemed the SPT with `payment_intent`: the request succeeds, unless the
    /// status is a failure (the issuer asks for authentication), when it stays as it is.
    Redeemed {
        payment_intent: String,
        status: PaymentStatus,
    },
    /// The issuer declined a redemption: the request stays as it is and records why.
    Declined(PaymentStatus),
}

/// Applies `change` to request `id`; answers the request's state afterwards.
pub fn apply(store: &mut Store, id: &str, change: Change) -> Result<Status> {
    let event = match &change {
        Change::Event(event) => Some(*event),
        Change::ExpireNow => Some(Event::Expire),
        Change::Settled(status) => Some(match status.outcome {
            PaymentOutcome::Success => Event::Redeem,
            PaymentOutcome::Failure => Event::Fail,
        }),
        Change::Redeemed { .. } | Change::Declined(_) => None,
    };
    if let Some(event) = event {
        apply_event(store, id, event)?;
    }
    let now = store.now();
    let mut request = store
        .spend_request_mut(id)
        .ok_or_else(|| Error::not_found("spend request", id))?;
    match change {
        Change::Event(_) => {}
        // Already expired by the event above: no longer open, so no sweep looks at it.
        Change::ExpireNow => request.expires_at = now,
        Change::Settled(status) | Change::Declined(status) => {
            request.payment_status = Some(status);
        }
        Change::Redeemed {
            payment_intent,
            status,
        } => {
            if status.outcome == PaymentOutcome::Success
                && let Ok(next) = transition(request.state, Event::Redeem)
            {
                request.state = next;
            }
            request.payment_intent = Some(payment_intent);
            request.payment_status = Some(status);
            request.updated_at = now;
        }
    }
    Ok(request.state)
}

/// Marks every open request whose `expires_at` has passed as `expired`: the open requests
/// are indexed by `expires_at`, so this looks at the due ones only.
pub fn expire_due_requests(store: &mut Store) {
    let now = store.now();
    for position in store.spend_requests.due(now) {
        let mut request = store.spend_requests.at_mut(position);
        if let Ok(next) = transition(request.state, Event::Expire) {
            request.state = next;
            request.next_action = None;
            request.updated_at = now;
        }
    }
}

/// The 400 an API caller gets for a refused transition.
pub fn transition_error(error: TransitionError) -> Error {
    Error::api(
        StatusCode::BAD_REQUEST,
        "invalid_spend_request_state",
        error.to_string(),
    )
    .with_extra("status", Value::String(error.from.status().into()))
}

/// Applies `event` to request `id` with its side effects (credentials on approval,
/// ledger entries, magic follow-ups). The caller has checked ownership.
pub fn apply_event(store: &mut Store, id: &str, event: Event) -> Result<Status> {
    expire_due_requests(store);
    let now = store.now();
    let credential_lifetime = store.config.credential_lifetime;
    let next_action_lifetime = store.config.spend_request_expiry;
    let index = store
        .spend_request_index(id)
        .ok_or_else(|| Error::not_found("spend request", id))?;
    let current = store.spend_requests[index].state;
    let next = transition(current, event).map_err(transition_error)?;
    let became_approved = next == Status::Approved && current != Status::Approved;
    {
        let mut request = store.spend_requests.at_mut(index);
        request.state = next;
        request.updated_at = now;
        request.next_action = match next {
            Status::RequiresAction(resolution) => Some(NextAction::for_resolution(
                resolution,
                later(now, next_action_lifetime),
            )),
            _ => None,
        };
    }
    if became_approved {
        issue_credential(store, index, now, credential_lifetime);
    }
    if event == Event::RequestApproval && current == Status::Created {
        let input = &store.spend_requests[index].input;
        let behaviour = magic_behaviour(&input.payment_details, input.amount).to_owned();
        let (follow_up, script) = magic_on_approval_request(&behaviour);
        if script.is_some() {
            store.spend_requests.at_mut(index).script = script;
        }
        if let Some(follow_up) = follow_up {
            return apply_event(store, id, follow_up);
        }
    }
    Ok(next)
}

/// Counts a retrieve of request `index` and applies its script when it is due and allowed.
pub fn run_script_on_poll(store: &mut Store, index: usize) {
    let mut request = store.spend_requests.at_mut(index);
    request.polls += 1;
    let Some(script) = request.script else {
        return;
    };
    if request.polls <= script.after_polls {
        return;
    }
    let id = request.id.clone();
    drop(request);
    let change = match script.outcome.event() {
        Event::Expire => Change::ExpireNow,
        event => Change::Event(event),
    };
    match apply(store, &id, change) {
        Ok(_) => {
            if let Some(mut request) = store.spend_request_mut(&id) {
                request.script = None;
            }
        }
        // Not allowed yet (e.g. approve while still `created`): keep waiting, unless the
        // request is over, when the script can never apply.
        Err(_) => {
            if let Some(mut request) = store.spend_request_mut(&id)
                && !request.state.is_open()
            {
                request.script = None;
            }
        }
    }
}

fn issue_credential(store: &mut Store, index: usize, now: SystemTime, lifetime: Duration) {
    let valid_until = later(now, lifetime);
    let request = store.spend_requests[index].clone();
    if request.input.wants_link_pay_token() {
        let token = random_secret("lpt_");
        store.spend_requests.at_mut(index).link_pay_token = Some(token.clone());
        if request.input.credential_type == CredentialType::LinkPayToken {
            store.ledger.push(LedgerEntry::issued(&request, token, now));
            tracing::info!(spend_request = %request.id, "link pay token issued");
            return;
        }
    }
    let entry = match request.input.credential_type {
        CredentialType::Card | CredentialType::LinkPayToken => {
            let (brand, billing) = store
                .user(&request.user_id)
                .map(|user| {
                    (
                        request
                            .input
                            .card_brand
                            .clone()
                            .unwrap_or_else(|| "visa".into()),
                        user.billing_address(),
                    )
                })
                .unwrap_or_else(|| ("visa".into(), Default::default()));
            let card = issue_card(&brand, billing, now, unix_seconds(valid_until));
            let last4 = card.number[card.number.len() - 4..].to_owned();
            store.spend_requests.at_mut(index).card = Some(card);
            LedgerEntry::issued(&request, format!("card ending {last4}"), now)
        }
        CredentialType::SharedPaymentToken => {
            let spt = SharedPaymentToken {
                id: random_secret("spt_"),
                spend_request_id: request.id.clone(),
                network_id: request.input.network_id.clone().unwrap_or_default(),
                amount: request.input.amount,
                currency: request.input.currency.clone(),
                valid_until,
                redeemed_by: None,
                declined_attempts: 0,
            };
            let entry = LedgerEntry::issued(&request, spt.id.clone(), now);
            let delay = request.spt_delay.unwrap_or_else(|| {
                let behaviour =
                    magic_behaviour(&request.input.payment_details, request.input.amount);
                if behaviour == "csmrpd_magic_spt_delay" {
                    MAGIC_SPT_DELAY
                } else {
                    store.spt_delay
                }
            });
            let mut issued_for = store.spend_requests.at_mut(index);
            issued_for.spt_available_at = Some(later(now, delay));
            issued_for.shared_payment_token = Some(spt.id.clone());
            drop(issued_for);
            store.shared_payment_tokens.insert(spt.id.clone(), spt);
            entry
        }
    };
    tracing::info!(spend_request = %request.id, "credential issued");
    store.ledger.push(entry);
}
