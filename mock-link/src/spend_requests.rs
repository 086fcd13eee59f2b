//! Spend requests on the API host: create, create_delegated, update, retrieve, list, cancel,
//! request_approval. The record, its rules and every change after creation live in
//! [`crate::model::spend_request`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use crate::auth::{authenticated_grant, authenticated_user_id};
use crate::balances::Page;
use crate::body::{parse_json_object, parse_query};
use crate::clock::{from_unix_seconds, later, unix_seconds};
use crate::error::{Error, Result};
use crate::ids::random_id;
use crate::model::AppState;
use crate::model::spend_request::index::PageRequest;
use crate::model::spend_request::lifecycle::{
    apply_event, expire_due_requests, run_script_on_poll, transition_error,
};
use crate::model::spend_request::state_machine::{Event, State as Status, transition};
use crate::model::spend_request::validation::{check_expires_at, validate};
use crate::model::spend_request::{IdempotentCreate, Include, SpendRequest};
use crate::model::store::{Grant, Store};

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
    let Some(position) = store
        .spend_requests
        .by_idempotency_key(user_id, &create.key)
    else {
        return Ok(None);
    };
    let earlier = &store.spend_requests[position];
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

fn owned_request_index(store: &Store, user_id: &str, id: &str) -> Result<usize> {
    store
        .spend_request_index(id)
        .filter(|&index| store.spend_requests[index].user_id == user_id)
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
        return Ok(Json(store.spend_request_json(earlier, Include::default())));
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
    // Only the user's open requests with the same amount are compared (an index).
    if let Some(existing) = store
        .spend_requests
        .open_duplicate(&user_id, &input)
        .map(|position| &store.spend_requests[position])
    {
        let existing_json = store.spend_request_json(existing, Include::default());
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
    store.add_spend_request(request);
    if delegated {
        apply_event(&mut store, &id, Event::ApproveProgrammatically)?;
    } else if request_approval {
        apply_event(&mut store, &id, Event::RequestApproval)?;
    }
    let body = store
        .spend_request(&id)
        .map(|request| store.spend_request_json(request, Include::default()))
        .unwrap_or(Value::Null);
    tracing::info!(spend_request = %id, delegated, "spend request created");
    Ok(Json(body))
}

/// `POST /spend_requests`
#[utoipa::path(
    post,
    path = "/spend_requests",
    tag = "spend_requests",
    security(("link_access_token" = [])),
    request_body(content = crate::api_schemas::SpendRequestCreate, content_type = "application/json"),
    responses(
        (status = 200, description = "The spend request", body = crate::model::spend_request::SpendRequestObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
        (status = 403, response = crate::error::ApiErrorBody),
        (status = 429, response = crate::error::ApiErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    create_spend_request(&state, &headers, &body, false)
}

/// `POST /spend_requests/create_delegated`
#[utoipa::path(
    post,
    path = "/spend_requests/create_delegated",
    tag = "spend_requests",
    security(("link_access_token" = [])),
    request_body(content = crate::api_schemas::SpendRequestCreate, content_type = "application/json"),
    responses(
        (status = 200, description = "The spend request", body = crate::model::spend_request::SpendRequestObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
        (status = 403, response = crate::error::ApiErrorBody),
        (status = 429, response = crate::error::ApiErrorBody),
    )
)]
pub async fn create_delegated(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    create_spend_request(&state, &headers, &body, true)
}

/// `POST /spend_requests/{id}`: changes fields while the request is not yet decided.
#[utoipa::path(
    post,
    path = "/spend_requests/{id}",
    tag = "spend_requests",
    security(("link_access_token" = [])),
    params(("id" = String, Path, description = "The spend request (`lsrq_...`)")),
    request_body(content = crate::api_schemas::SpendRequestCreate, content_type = "application/json"),
    responses(
        (status = 200, description = "The spend request", body = crate::model::spend_request::SpendRequestObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    path = "/spend_requests/{id}/update_delegated",
    tag = "spend_requests",
    security(("link_access_token" = [])),
    params(("id" = String, Path, description = "The spend request (`lsrq_...`)")),
    request_body(content = crate::api_schemas::SpendRequestCreate, content_type = "application/json"),
    responses(
        (status = 200, description = "The spend request", body = crate::model::spend_request::SpendRequestObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
        (status = 403, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
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
    let mut request = store.spend_requests.at_mut(index);
    if let Some(expires_at) = input.expires_at {
        request.expires_at = from_unix_seconds(expires_at);
    }
    request.fields = merged;
    request.input = input;
    request.updated_at = now;
    drop(request);
    if delegated {
        apply_event(&mut store, id, Event::ApproveProgrammatically)?;
    }
    let request = &store.spend_requests[index];
    Ok(Json(store.spend_request_json(request, Include::default())))
}

/// `GET /spend_requests/{id}?include=card,shared_payment_token`
#[utoipa::path(
    get,
    path = "/spend_requests/{id}",
    tag = "spend_requests",
    security(("link_access_token" = [])),
    params(("id" = String, Path, description = "The spend request (`lsrq_...`)"), ("include" = Option<String>, Query, description = "Comma-separated: `card`, `shared_payment_token`, `link_pay_token`")),
    responses(
        (status = 200, description = "The spend request", body = crate::model::spend_request::SpendRequestObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let mut store = state.lock();
    let user_id = authenticated_user_id(&store, &headers)?;
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
    expire_due_requests(&mut store);
    let index = owned_request_index(&store, &user_id, &id)?;
    run_script_on_poll(&mut store, index);
    let request = &store.spend_requests[index];
    Ok(Json(store.spend_request_json(request, include)))
}

/// `GET /spend_requests[?include_history=true&limit=N&starting_after=ID&ending_before=ID]`:
/// newest first, a page of at most `limit` (1-100, default 100). The user's requests are
/// indexed (all, and those not yet history), so a page costs its own requests, not the history.
#[utoipa::path(
    get,
    path = "/spend_requests",
    tag = "spend_requests",
    security(("link_access_token" = [])),
    params(("include_history" = Option<bool>, Query, description = "Also list decided requests"), crate::api_schemas::PageQuery),
    responses(
        (status = 200, description = "Newest first", body = SpendRequestList),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let mut store = state.lock();
    let user_id = authenticated_user_id(&store, &headers)?;
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
    expire_due_requests(&mut store);
    let (positions, has_more) = store.spend_requests.page(
        &user_id,
        include_history,
        PageRequest {
            limit: page.limit(),
            starting_after: page.starting_after(),
            ending_before: page.ending_before(),
        },
    )?;
    let data: Vec<Value> = positions
        .into_iter()
        .map(|position| {
            store.spend_request_json(&store.spend_requests[position], Include::default())
        })
        .collect();
    Ok(Json(
        json!({ "object": "list", "data": data, "has_more": has_more }),
    ))
}

/// A page of spend requests, as [`list`] answers it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct SpendRequestList {
    /// Always `list`.
    object: String,
    data: Vec<crate::model::spend_request::SpendRequestObject>,
    has_more: bool,
}

/// What [`request_approval`] answers.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ApprovalLinks {
    id: String,
    approval_url: String,
    /// The same URL, under the contract's name.
    approval_link: String,
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
        store.spend_request_json(request, Include::default()),
        request.approval_url(&store.base_url),
    ))
}

/// `POST /spend_requests/{id}/cancel`
#[utoipa::path(
    post,
    path = "/spend_requests/{id}/cancel",
    tag = "spend_requests",
    security(("link_access_token" = [])),
    params(("id" = String, Path, description = "The spend request (`lsrq_...`)")),
    responses(
        (status = 200, description = "The spend request", body = crate::model::spend_request::SpendRequestObject),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    path = "/spend_requests/{id}/request_approval",
    tag = "spend_requests",
    security(("link_access_token" = [])),
    params(("id" = String, Path, description = "The spend request (`lsrq_...`)")),
    responses(
        (status = 200, description = "Where the user approves it", body = ApprovalLinks),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
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
