//! Spend requests on the API host: create, create_delegated, update, retrieve, list, cancel,
//! request_approval. The rules of which status may follow which live in [`state_machine`];
//! field validation in [`validation`]; issued cards and SPTs in [`credentials`].

pub mod credentials;
pub mod state_machine;
pub mod validation;

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::auth::{authenticated_grant, authenticated_user_id};
use crate::balances::Page;
use crate::body::{parse_json_object, parse_query};
use crate::clock::{from_unix_seconds, later, rfc3339, unix_seconds};
use crate::control::LedgerEntry;
use crate::error::{Error, Result};
use crate::ids::{random_id, random_secret};
use crate::scripts::{
    MAGIC_SPT_DELAY, SpendRequestScript, magic_behaviour, magic_on_approval_request,
};
use crate::server::AppState;
use crate::store::{Grant, SharedPaymentToken, Store};
use credentials::{CardCredential, issue_card};
use state_machine::{Event, Resolution, State as Status, TransitionError, transition};
use validation::{CredentialType, SpendRequestInput, check_expires_at, validate};

/// The extra step asked of the user while a request is `requires_action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextAction {
    pub kind: String,
    pub display_message: String,
    pub expires_at: SystemTime,
}

impl NextAction {
    /// The step the issuer asks for, by how it resolves.
    pub fn for_resolution(resolution: Resolution, expires_at: SystemTime) -> Self {
        let (kind, display_message) = match resolution {
            Resolution::AutoResume => (
                "three_d_secure",
                "Complete 3-D Secure authentication to continue.",
            ),
            Resolution::CreateNewSpendRequest => (
                "update_payment_method",
                "This request cannot continue; create a new spend request.",
            ),
            Resolution::CreateNewSpendRequestAfterCompletion => (
                "identity_verification",
                "Complete the requested step, then create a new spend request.",
            ),
        };
        Self {
            kind: kind.into(),
            display_message: display_message.into(),
            expires_at,
        }
    }
}

/// One spend request and everything that happened to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpendRequest {
    pub id: String,
    pub user_id: String,
    /// The body fields as last accepted (create, then merged updates).
    pub fields: Map<String, Value>,
    pub input: SpendRequestInput,
    pub state: Status,
    pub next_action: Option<NextAction>,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub expires_at: SystemTime,
    pub card: Option<CardCredential>,
    pub shared_payment_token: Option<String>,
    pub payment_intent: Option<String>,
    /// The outcome of the last redemption attempt (`payment_status_details`).
    pub payment_status: Option<Value>,
    /// An outcome decided ahead of time, applied on a later retrieve.
    pub script: Option<SpendRequestScript>,
    /// How many times the owner retrieved it (drives scripts).
    pub polls: u32,
    /// The create call's `idempotency_key` with the body it came with: a replay of that body
    /// answers this request again, another body under the same key is refused.
    pub idempotency: Option<IdempotentCreate>,
    /// This request's own SPT delay (control API), instead of the global one.
    pub spt_delay: Option<Duration>,
    /// When its SPT shows on retrieve (PAY-10: a token minted a little after approval).
    pub spt_available_at: Option<SystemTime>,
    /// The Link Pay Token issued on approval of a `link_pay_token` request (or a 0.13.1
    /// card request with `execution_method: link_pay_token`).
    pub link_pay_token: Option<String>,
}

impl SpendRequestInput {
    /// Whether approval issues a Link Pay Token (1.x or 0.13.1 form).
    pub fn wants_link_pay_token(&self) -> bool {
        self.credential_type == CredentialType::LinkPayToken
            || self.execution_method.as_deref() == Some("link_pay_token")
    }
}

/// What a create with an `idempotency_key` is remembered by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotentCreate {
    pub key: String,
    /// The whole create body (JSON maps compare regardless of key order).
    pub body: Map<String, Value>,
    /// Whether it came through `create_delegated`.
    pub delegated: bool,
}

/// The longest `idempotency_key`, in UTF-8 bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// The create body's `idempotency_key`: a string of 1..=255 UTF-8 bytes, or absent.
fn idempotency_key(fields: &Map<String, Value>) -> Result<Option<String>> {
    match fields.get("idempotency_key") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(key)) if (1..=MAX_IDEMPOTENCY_KEY_BYTES).contains(&key.len()) => {
            Ok(Some(key.clone()))
        }
        Some(Value::String(_)) => Err(Error::invalid_param(
            "idempotency_key",
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY_BYTES} bytes of UTF-8"),
        )),
        Some(_) => Err(Error::invalid_param("idempotency_key", "must be a string")),
    }
}

/// The request an earlier create with the same `idempotency_key` made, when `create` replays
/// it; a 400 `idempotency_key_reused` when the key came with another body.
fn idempotent_replay<'a>(
    store: &'a Store,
    user_id: &str,
    create: &IdempotentCreate,
) -> Result<Option<&'a SpendRequest>> {
    // Cheapest test first: `create` runs this over every spend request.
    let Some(earlier) = store.spend_requests.iter().find(|request| {
        request
            .idempotency
            .as_ref()
            .is_some_and(|earlier| earlier.key == create.key)
            && request.user_id == user_id
    }) else {
        return Ok(None);
    };
    if earlier.idempotency.as_ref() == Some(create) {
        return Ok(Some(earlier));
    }
    Err(Error::api(
        StatusCode::BAD_REQUEST,
        "idempotency_key_reused",
        format!(
            "idempotency_key: this key was already used for spend request {} with other parameters; \
             use a new key for a new spend request",
            earlier.id
        ),
    )
    .with_extra("param", Value::String("idempotency_key".into()))
    .with_extra("type", Value::String("idempotency_error".into())))
}

impl SpendRequest {
    fn approval_url(&self, base_url: &str) -> String {
        format!("{base_url}/approve/{}", self.id)
    }

    /// The Link transaction of a succeeded request, derived from its id (`ltxn_...`).
    pub fn link_transaction_id(&self) -> String {
        format!("ltxn_{}", self.id.strip_prefix("lsrq_").unwrap_or(&self.id))
    }

    /// The wire object; credentials only when asked for and only once approved.
    pub fn to_json(&self, store: &Store, include_card: bool, include_spt: bool) -> Value {
        self.to_json_with(
            store,
            Include {
                card: include_card,
                shared_payment_token: include_spt,
                link_pay_token: false,
            },
        )
    }

    /// The wire object with the credentials `include` asks for (each only once approved).
    pub fn to_json_with(&self, store: &Store, include: Include) -> Value {
        let Include {
            card: include_card,
            shared_payment_token: include_spt,
            link_pay_token: include_lpt,
        } = include;
        let input = &self.input;
        let status_details = match (self.state, &self.next_action) {
            (Status::RequiresAction(resolution), Some(action)) => json!({
                "requires_action": {
                    "next_action": {
                        "type": action.kind,
                        "resolution": resolution,
                        "display_message": action.display_message,
                        "action_url": format!("{}/three_d_secure/{}", store.base_url, self.id),
                        "expires_at": unix_seconds(action.expires_at),
                    }
                }
            }),
            _ => Value::Null,
        };
        let payment_status_details = self.payment_status.clone().unwrap_or(Value::Null);
        let mut object = json!({
            "id": self.id,
            "object": "spend_request",
            "status": self.state.status(),
            "merchant_name": input.merchant_name,
            "merchant_url": input.merchant_url,
            "context": input.context,
            "amount": input.amount,
            "currency": input.currency,
            "line_items": input.line_items,
            "totals": input.totals,
            "payment_details": input.payment_details,
            "credential_type": input.credential_type,
            "network_id": input.network_id,
            "card_brand": input.card_brand,
            "card_last4": input.card_last4,
            "approval_url": self.approval_url(&store.base_url),
            "status_details": status_details,
            "payment_status_details": payment_status_details,
            "metadata": input.metadata,
            "recurring": input.recurring,
            "test": input.test,
            "approval_details": input.approval_details,
            "execution_method": input.execution_method,
            "merchant_account_id": input.merchant_account_id,
            "expires_at": unix_seconds(self.expires_at),
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        });
        // A settled payment's record in the user's Link activity (link-cli#214).
        let (link_transaction_id, activity_url) = if self.state == Status::Succeeded {
            let transaction = self.link_transaction_id();
            let url = format!("{}/activity/{transaction}", store.base_url);
            (Value::String(transaction), Value::String(url))
        } else {
            (Value::Null, Value::Null)
        };
        object["link_transaction_id"] = link_transaction_id;
        object["activity_url"] = activity_url;
        let shows_credential = self.state.shows_credential();
        if include_lpt
            && shows_credential
            && let Some(token) = &self.link_pay_token
        {
            object["link_pay_token"] = Value::String(token.clone());
        }
        if include_card
            && shows_credential
            && let Some(card) = &self.card
        {
            object["card"] = serde_json::to_value(card).unwrap_or(Value::Null);
        }
        let spt_minted = self
            .spt_available_at
            .is_none_or(|available_at| store.now() >= available_at);
        if include_spt
            && shows_credential
            && spt_minted
            && let Some(spt) = self
                .shared_payment_token
                .as_ref()
                .and_then(|id| store.shared_payment_tokens.get(id))
        {
            object["shared_payment_token"] = json!({
                "id": spt.id,
                "valid_until": unix_seconds(spt.valid_until),
            });
        }
        object
    }
}

/// Which credentials a retrieve asks for (`include=card,shared_payment_token,link_pay_token`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Include {
    pub card: bool,
    pub shared_payment_token: bool,
    pub link_pay_token: bool,
}

/// Marks every open request whose `expires_at` has passed as `expired`.
pub fn expire_due_requests(store: &mut Store) {
    let now = store.now();
    for request in &mut store.spend_requests {
        if request.state.is_open()
            && now >= request.expires_at
            && let Ok(next) = transition(request.state, Event::Expire)
        {
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
/// ledger entries). The caller has checked ownership.
pub fn apply_event(store: &mut Store, id: &str, event: Event) -> Result<Status> {
    expire_due_requests(store);
    let now = store.now();
    let credential_lifetime = store.config.credential_lifetime;
    let next_action_lifetime = store.config.spend_request_expiry;
    let index = store
        .spend_requests
        .iter()
        .position(|request| request.id == id)
        .ok_or_else(|| Error::not_found("spend request", id))?;
    let current = store.spend_requests[index].state;
    let next = transition(current, event).map_err(transition_error)?;
    let became_approved = next == Status::Approved && current != Status::Approved;
    {
        let request = &mut store.spend_requests[index];
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
            store.spend_requests[index].script = script;
        }
        if let Some(follow_up) = follow_up {
            return apply_event(store, id, follow_up);
        }
    }
    Ok(next)
}

/// Counts a retrieve of request `index` and applies its script when it is due and allowed.
fn run_script_on_poll(store: &mut Store, index: usize) {
    let request = &mut store.spend_requests[index];
    request.polls += 1;
    let Some(script) = request.script else {
        return;
    };
    if request.polls <= script.after_polls {
        return;
    }
    let id = request.id.clone();
    let event = script.outcome.event();
    match apply_event(store, &id, event) {
        Ok(_) => {
            let now = store.now();
            if let Some(request) = store.spend_request_mut(&id) {
                request.script = None;
                if event == Event::Expire {
                    request.expires_at = now;
                }
            }
        }
        // Not allowed yet (e.g. approve while still `created`): keep waiting, unless the
        // request is over, when the script can never apply.
        Err(_) => {
            if let Some(request) = store.spend_request_mut(&id)
                && !request.state.is_open()
            {
                request.script = None;
            }
        }
    }
}

fn issue_credential(
    store: &mut Store,
    index: usize,
    now: SystemTime,
    lifetime: std::time::Duration,
) {
    let valid_until = later(now, lifetime);
    let request = store.spend_requests[index].clone();
    if request.input.wants_link_pay_token() {
        let token = random_secret("lpt_");
        store.spend_requests[index].link_pay_token = Some(token.clone());
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
            store.spend_requests[index].card = Some(card);
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
            store.spend_requests[index].spt_available_at = Some(later(now, delay));
            store.spend_requests[index].shared_payment_token = Some(spt.id.clone());
            store.shared_payment_tokens.insert(spt.id.clone(), spt);
            entry
        }
    };
    tracing::info!(spend_request = %request.id, "credential issued");
    store.ledger.push(entry);
}

fn owned_request_index(store: &Store, user_id: &str, id: &str) -> Result<usize> {
    store
        .spend_requests
        .iter()
        .position(|request| request.id == id && request.user_id == user_id)
        .ok_or_else(|| Error::not_found("spend request", id))
}

/// The scope a caller needs to approve on the user's behalf (`create_delegated`,
/// `update_delegated`); link-cli cannot request it, a test gets it from `POST /__control/tokens`.
pub const APPROVE_SCOPE: &str = "spend_requests:approve";

fn require_approve_scope(grant: &Grant) -> Result<()> {
    if grant
        .scope
        .split_whitespace()
        .any(|scope| scope == APPROVE_SCOPE)
    {
        return Ok(());
    }
    Err(Error::api(
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        format!("approving on the user's behalf needs the scope {APPROVE_SCOPE}"),
    )
    .with_extra("required_scope", Value::String(APPROVE_SCOPE.into())))
}

fn create_spend_request(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    delegated: bool,
) -> Result<Json<Value>> {
    let fields = parse_json_object(headers, body)?;
    let idempotency = idempotency_key(&fields)?.map(|key| IdempotentCreate {
        key,
        body: fields.clone(),
        delegated,
    });
    let mut store = state.lock();
    let grant = authenticated_grant(&store, headers)?;
    if delegated {
        require_approve_scope(grant)?;
    }
    let user_id = grant.user_id.clone();
    let client_id = grant.client_id.clone();
    if store
        .user(&user_id)
        .is_some_and(|user| user.requires_verification)
    {
        return Err(Error::api(
            StatusCode::FORBIDDEN,
            "account_verification_required",
            "this account must verify its identity before it can approve spending",
        )
        .with_extra(
            "verification_url",
            Value::String(format!(
                "{}/verify-account?user_id={user_id}",
                store.base_url
            )),
        )
        .with_extra(
            "support_url",
            Value::String("https://support.link.com".into()),
        ));
    }
    expire_due_requests(&mut store);
    // A replay comes before the duplicate check: the request it made is open and identical.
    if let Some(create) = &idempotency
        && let Some(earlier) = idempotent_replay(&store, &user_id, create)?
    {
        tracing::info!(spend_request = %earlier.id, "idempotent create replayed");
        return Ok(Json(earlier.to_json(&store, false, false)));
    }
    let now = store.now();
    let methods = store
        .user(&user_id)
        .map(|user| user.payment_methods.clone())
        .unwrap_or_default();
    let input = validate(&fields, &methods)?;
    if let Some(expires_at) = input.expires_at {
        check_expires_at(
            expires_at,
            unix_seconds(now),
            store.expires_at_clients.contains(&client_id),
        )?;
    }
    if delegated && input.approval_details.is_none() {
        return Err(Error::missing_param("approval_details"));
    }
    // `duplicates` compares the amount first, so most requests are passed over without
    // comparing a string (this scan runs over every spend request on each create).
    if let Some(existing) = store.spend_requests.iter().find(|request| {
        request.state.is_open() && request.input.duplicates(&input) && request.user_id == user_id
    }) {
        let existing_json = existing.to_json(&store, false, false);
        return Err(Error::api(
            StatusCode::TOO_MANY_REQUESTS,
            "spend_request_rate_limited",
            format!(
                "an identical spend request ({}) is still open; retrieve it instead of creating another",
                existing.id
            ),
        )
        .with_extra("duplicate_spend_request", existing_json));
    }
    let expires_at = input
        .expires_at
        .map(from_unix_seconds)
        .unwrap_or(later(now, store.config.spend_request_expiry));
    let request_approval = input.request_approval;
    let request = SpendRequest {
        id: random_id("lsrq_"),
        user_id,
        fields,
        input,
        state: Status::Created,
        next_action: None,
        created_at: now,
        updated_at: now,
        expires_at,
        card: None,
        shared_payment_token: None,
        payment_intent: None,
        payment_status: None,
        script: store.spend_request_scripts.pop_front(),
        polls: 0,
        idempotency,
        spt_delay: None,
        spt_available_at: None,
        link_pay_token: None,
    };
    let id = request.id.clone();
    store.spend_requests.push(request);
    if delegated {
        apply_event(&mut store, &id, Event::ApproveProgrammatically)?;
    } else if request_approval {
        apply_event(&mut store, &id, Event::RequestApproval)?;
    }
    let body = store
        .spend_requests
        .iter()
        .rev() // it was pushed last
        .find(|request| request.id == id)
        .map(|request| request.to_json(&store, false, false))
        .unwrap_or(Value::Null);
    tracing::info!(spend_request = %id, delegated, "spend request created");
    Ok(Json(body))
}

/// `POST /spend_requests`
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    create_spend_request(&state, &headers, &body, false)
}

/// `POST /spend_requests/create_delegated`
pub async fn create_delegated(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    create_spend_request(&state, &headers, &body, true)
}

/// `POST /spend_requests/{id}`: changes fields while the request is not yet decided.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    update_spend_request(&state, &id, &headers, &body, false)
}

/// `POST /spend_requests/{id}/update_delegated`: an update that also approves on the user's
/// behalf (`spend-request update --approve`); needs the scope `spend_requests:approve`.
pub async fn update_delegated(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    update_spend_request(&state, &id, &headers, &body, true)
}

fn update_spend_request(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    body: &Bytes,
    delegated: bool,
) -> Result<Json<Value>> {
    let patch = parse_json_object(headers, body)?;
    let mut store = state.lock();
    let grant = authenticated_grant(&store, headers)?;
    if delegated {
        require_approve_scope(grant)?;
    }
    let user_id = grant.user_id.clone();
    let client_allowed = store.expires_at_clients.contains(&grant.client_id);
    expire_due_requests(&mut store);
    let index = owned_request_index(&store, &user_id, id)?;
    let current = store.spend_requests[index].state;
    transition(current, Event::Edit).map_err(transition_error)?;
    let mut merged = store.spend_requests[index].fields.clone();
    // Only an `expires_at` sent now is judged against the clock and the allow-list.
    let patch_expires_at = patch.get("expires_at").and_then(Value::as_i64);
    for (key, value) in patch {
        if key == "request_approval" {
            continue;
        }
        merged.insert(key, value);
    }
    let methods = store
        .user(&user_id)
        .map(|user| user.payment_methods.clone())
        .unwrap_or_default();
    let now = store.now();
    if let Some(expires_at) = patch_expires_at {
        check_expires_at(expires_at, unix_seconds(now), client_allowed)?;
    }
    let input = validate(&merged, &methods)?;
    let request = &mut store.spend_requests[index];
    if let Some(expires_at) = input.expires_at {
        request.expires_at = from_unix_seconds(expires_at);
    }
    request.fields = merged;
    request.input = input;
    request.updated_at = now;
    if delegated {
        apply_event(&mut store, id, Event::ApproveProgrammatically)?;
    }
    let request = store.spend_requests[index].clone();
    Ok(Json(request.to_json(&store, false, false)))
}

/// `GET /spend_requests/{id}?include=card,shared_payment_token`
pub async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let query = parse_query(query.as_deref())?;
    let mut include = Include::default();
    for (key, value) in &query.pairs {
        if key != "include" && key != "include[]" {
            continue;
        }
        for item in value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            match item {
                "card" => include.card = true,
                "shared_payment_token" => include.shared_payment_token = true,
                "link_pay_token" => include.link_pay_token = true,
                other => {
                    return Err(Error::invalid_param(
                        "include",
                        format!(
                            "unknown value '{other}' (card, shared_payment_token, link_pay_token)"
                        ),
                    ));
                }
            }
        }
    }
    let mut store = state.lock();
    let user_id = authenticated_user_id(&store, &headers)?;
    expire_due_requests(&mut store);
    let index = owned_request_index(&store, &user_id, &id)?;
    run_script_on_poll(&mut store, index);
    let request = &store.spend_requests[index];
    Ok(Json(request.to_json_with(&store, include)))
}

/// `GET /spend_requests[?include_history=true&limit=N&starting_after=ID&ending_before=ID]`:
/// newest first, a page of at most `limit` (1-100, default 100); only the page is serialized,
/// so a long history costs a scan of ids, not of bodies.
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let query = parse_query(query.as_deref())?;
    let include_history = match query.get("include_history") {
        None => false,
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(_) => {
            return Err(Error::invalid_param(
                "include_history",
                "must be true or false",
            ));
        }
    };
    let page = Page::from_query_or(&query, LIST_DEFAULT_LIMIT)?;
    let mut store = state.lock();
    let user_id = authenticated_user_id(&store, &headers)?;
    expire_due_requests(&mut store);
    let listed: Vec<&SpendRequest> = store
        .spend_requests
        .iter()
        .rev()
        .filter(|request| request.user_id == user_id)
        .filter(|request| include_history || !request.state.is_history())
        .collect();
    let ids: Vec<&str> = listed.iter().map(|request| request.id.as_str()).collect();
    let (range, has_more) = page.window(&ids)?;
    let data: Vec<Value> = listed[range]
        .iter()
        .map(|request| request.to_json(&store, false, false))
        .collect();
    Ok(Json(
        json!({ "object": "list", "data": data, "has_more": has_more }),
    ))
}

/// Without `limit` a list page holds the most a page may (the contract's list has no
/// paging, and a client that sends none should see what a test made).
const LIST_DEFAULT_LIMIT: usize = crate::balances::MAX_LIMIT;

fn apply_owned_event(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    event: Event,
) -> Result<(Value, String)> {
    let mut store = state.lock();
    let user_id = authenticated_user_id(&store, headers)?;
    owned_request_index(&store, &user_id, id)?;
    apply_event(&mut store, id, event)?;
    let index = owned_request_index(&store, &user_id, id)?;
    let request = &store.spend_requests[index];
    Ok((
        request.to_json(&store, false, false),
        request.approval_url(&store.base_url),
    ))
}

/// `POST /spend_requests/{id}/cancel`
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let (object, _) = apply_owned_event(&state, &headers, &id, Event::Cancel)?;
    Ok(Json(object))
}

/// `POST /spend_requests/{id}/request_approval` → `{id, approval_url, approval_link}`
/// (the contract names `approval_link`, the public client reads `approval_url`).
pub async fn request_approval(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let (_, approval_link) = apply_owned_event(&state, &headers, &id, Event::RequestApproval)?;
    Ok(Json(
        json!({ "id": id, "approval_url": approval_link, "approval_link": approval_link }),
    ))
}
