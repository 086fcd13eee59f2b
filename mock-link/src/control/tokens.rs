//! `/__control/tokens[/...]`: logins made without the device flow, and revoking or expiring
//! them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{DEFAULT_SCOPE, open_grant, revoke_token};
use crate::clock::unix_seconds;
use crate::error::{Error, Result};
use crate::model::AppState;
use crate::model::accounts::DEFAULT_USER_ID;
use crate::model::store::Store;

use super::parse;

/// `POST /__control/tokens`: a login without the device flow (defaults: the seeded user, the
/// default scope, client `control`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct IssueTokensBody {
    user_id: Option<String>,
    scope: Option<String>,
    /// The OAuth client the login belongs to (default `control`).
    client_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/__control/tokens",
    tag = "control",
    request_body(content = IssueTokensBody, content_type = "application/json"),
    responses(
        (status = 200, description = "A fresh login session", body = crate::auth::TokenResponse),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn issue_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body: IssueTokensBody = parse(&headers, &body)?;
    let user_id = body.user_id.unwrap_or(DEFAULT_USER_ID.into());
    let mut store = state.lock();
    if store.user(&user_id).is_none() {
        return Err(Error::not_found("user", &user_id));
    }
    let scope = body.scope.unwrap_or(DEFAULT_SCOPE.into());
    let client_id = body.client_id.unwrap_or("control".into());
    Ok(Json(open_grant(
        &mut store,
        &user_id,
        &scope,
        &client_id,
        Some("control API".into()),
        Vec::new(),
    )))
}

/// Which tokens a token control call acts on: one token by value, or every session of a
/// user (so a suite outside this process, which never sees token values, can act too).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenSelector {
    token: Option<String>,
    user_id: Option<String>,
}

enum Selected {
    Token(String),
    User(String),
}

impl TokenSelector {
    fn resolve(self, store: &Store) -> Result<Selected> {
        match (self.token, self.user_id) {
            (Some(token), None) => Ok(Selected::Token(token)),
            (None, Some(user_id)) => {
                if store.user(&user_id).is_none() {
                    return Err(Error::not_found("user", &user_id));
                }
                Ok(Selected::User(user_id))
            }
            (None, None) => Err(Error::missing_param("token")),
            (Some(_), Some(_)) => Err(Error::invalid_param(
                "user_id",
                "give either token or user_id, not both",
            )),
        }
    }
}

/// What `POST /__control/tokens/revoke` answers.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct RevokedAnswer {
    revoked: bool,
    /// How many login sessions were revoked.
    grants: usize,
}

/// What `POST /__control/tokens/expire` answers.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ExpiredAnswer {
    expired: bool,
    /// How many tokens were expired.
    tokens: usize,
}

/// One token as `GET /__control/tokens` shows it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct TokenRecord {
    token: String,
    /// `access` or `refresh`.
    kind: String,
    user_id: Option<String>,
    grant_id: String,
    /// Unix seconds.
    expires_at: i64,
    expired: bool,
    used: bool,
    revoked: bool,
}

/// What `GET /__control/tokens` answers.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct TokenRecordList {
    data: Vec<TokenRecord>,
}

/// The ids of the live (not revoked) grants of `user_id`.
fn live_grants_of(store: &Store, user_id: &str) -> Vec<String> {
    store
        .grants
        .iter()
        .filter(|(_, grant)| grant.user_id == user_id && !grant.revoked)
        .map(|(id, _)| id.clone())
        .collect()
}

#[utoipa::path(
    post,
    path = "/__control/tokens/revoke",
    tag = "control",
    request_body(content = TokenSelector, content_type = "application/json"),
    responses(
        (status = 200, description = "The sessions revoked", body = RevokedAnswer),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn revoke_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let selector: TokenSelector = parse(&headers, &body)?;
    let mut store = state.lock();
    match selector.resolve(&store)? {
        Selected::Token(token) => {
            if !revoke_token(&mut store, &token) {
                return Err(Error::not_found("token", "[REDACTED]"));
            }
            Ok(Json(json!({ "revoked": true, "grants": 1 })))
        }
        Selected::User(user_id) => {
            let grants = live_grants_of(&store, &user_id);
            for id in &grants {
                if let Some(grant) = store.grants.get_mut(id) {
                    grant.revoked = true;
                }
            }
            Ok(Json(json!({ "revoked": true, "grants": grants.len() })))
        }
    }
}

/// Expires one token (access or refresh) by value, or every access token of a user's live
/// sessions (their refresh tokens stay valid, so a client can refresh).
#[utoipa::path(
    post,
    path = "/__control/tokens/expire",
    tag = "control",
    request_body(content = TokenSelector, content_type = "application/json"),
    responses(
        (status = 200, description = "The tokens expired", body = ExpiredAnswer),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 404, response = crate::error::ApiErrorBody),
    )
)]
pub(super) async fn expire_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let selector: TokenSelector = parse(&headers, &body)?;
    let mut store = state.lock();
    let now = store.now();
    match selector.resolve(&store)? {
        Selected::Token(token) => {
            if let Some(access) = store.access_tokens.get_mut(&token) {
                access.expires_at = now;
            } else if let Some(refresh) = store.refresh_tokens.get_mut(&token) {
                refresh.expires_at = now;
            } else {
                return Err(Error::not_found("token", "[REDACTED]"));
            }
            Ok(Json(json!({ "expired": true, "tokens": 1 })))
        }
        Selected::User(user_id) => {
            let grants = live_grants_of(&store, &user_id);
            // Only the tokens that change are borrowed mutably (each is then saved).
            let live: Vec<String> = store
                .access_tokens
                .iter()
                .filter(|(_, access)| grants.contains(&access.grant_id) && access.expires_at > now)
                .map(|(token, _)| token.clone())
                .collect();
            for token in &live {
                if let Some(access) = store.access_tokens.get_mut(token) {
                    access.expires_at = now;
                }
            }
            let expired = live.len();
            Ok(Json(json!({ "expired": true, "tokens": expired })))
        }
    }
}

/// Every token issued, with its user and state: the control API is for tests, so values are
/// shown in full (a suite checks that none of them leaks into a client's output).
#[utoipa::path(
    get,
    path = "/__control/tokens",
    tag = "control",
    responses(
        (status = 200, description = "Every token issued", body = TokenRecordList),
    )
)]
pub(super) async fn list_tokens(State(state): State<AppState>) -> Json<Value> {
    let store = state.lock();
    let now = store.now();
    let describe = |token: &str, kind: &str, grant_id: &str, expires_at, used: bool| {
        let grant = store.grants.get(grant_id);
        json!({
            "token": token,
            "kind": kind,
            "user_id": grant.map(|g| g.user_id.as_str()),
            "grant_id": grant_id,
            "expires_at": unix_seconds(expires_at),
            "expired": expires_at <= now,
            "used": used,
            "revoked": grant.is_none_or(|g| g.revoked),
        })
    };
    let access = store
        .access_tokens
        .iter()
        .map(|(token, t)| describe(token, "access", &t.grant_id, t.expires_at, false));
    let refresh = store
        .refresh_tokens
        .iter()
        .map(|(token, t)| describe(token, "refresh", &t.grant_id, t.expires_at, t.used));
    let mut data: Vec<Value> = access.chain(refresh).collect();
    data.sort_by(|a, b| a["token"].as_str().cmp(&b["token"].as_str()));
    Json(json!({ "data": data }))
}
