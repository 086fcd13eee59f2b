//! `POST /agent_observations`: what an agent reports about a merchant (the `report` command).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};

use crate::auth::authenticated_user_id;
use crate::body::parse_json_object;
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::ids::random_id;
use crate::model::AppState;

/// The longest free-form context.
pub const MAX_CONTEXT_CHARS: usize = 500;
const OUTCOMES: &[&str] = &["success", "blocked", "abandoned"];
/// The tags the public client offers.
pub const TAGS: &[&str] = &[
    "stripe_checkout",
    "captcha",
    "anti_bot_script",
    "cdn_block",
    "waf_block",
    "dns_block",
    "rate_limited",
    "login_required",
    "3ds_challenge",
    "page_inaccessible",
    "timeout",
    "site_error",
    "payment_declined",
    "other",
];

fn optional_string(body: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(Error::invalid_param(key, "must be a string")),
    }
}

/// The `POST /agent_observations` body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // The OpenAPI schema of a body read field by field.
pub(crate) struct ObservationBody {
    /// A bare domain name.
    #[schema(pattern = "^[^\\s/]*[^\\s/.][^\\s/]*$")]
    domain: String,
    #[schema(pattern = "^(success|blocked|abandoned)$")]
    outcome: String,
    spend_request_id: String,
    tags: Option<Vec<String>>,
    step: Option<String>,
    /// Also accepted as `context`.
    #[schema(max_length = 500)]
    freeform_context: Option<String>,
}

/// The observation [`create`] answers.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct AgentObservation {
    /// `aobs_...`
    id: String,
    /// Always `agent_observation`.
    object: String,
    domain: String,
    outcome: String,
    spend_request_id: String,
    tags: Vec<String>,
    step: Option<String>,
    freeform_context: Option<String>,
    /// Always `recorded`.
    status: String,
    /// RFC 3339.
    created_at: String,
}

/// `POST /agent_observations`
#[utoipa::path(
    post,
    path = "/agent_observations",
    tag = "agent_observations",
    security(("link_access_token" = [])),
    request_body(content = ObservationBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The recorded observation", body = AgentObservation),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let body = parse_json_object(&headers, &body)?;
    let mut store = state.lock();
    let user_id = authenticated_user_id(&store, &headers)?;
    let domain = optional_string(&body, "domain")?
        .filter(|domain| !domain.trim().is_empty())
        .ok_or_else(|| Error::missing_param("domain"))?;
    if domain.contains(char::is_whitespace) || domain.contains('/') {
        return Err(Error::invalid_param("domain", "must be a bare domain name"));
    }
    let outcome =
        optional_string(&body, "outcome")?.ok_or_else(|| Error::missing_param("outcome"))?;
    if !OUTCOMES.contains(&outcome.as_str()) {
        return Err(Error::invalid_param(
            "outcome",
            "must be success, blocked or abandoned",
        ));
    }
    let spend_request_id = optional_string(&body, "spend_request_id")?
        .ok_or_else(|| Error::missing_param("spend_request_id"))?;
    let id = &spend_request_id;
    if store
        .spend_request(id)
        .is_none_or(|request| request.user_id != user_id)
    {
        return Err(Error::invalid_param(
            "spend_request_id",
            format!("no spend request '{id}' on this account"),
        ));
    }
    let tags = match body.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(tags))
            if tags
                .iter()
                .all(|tag| tag.as_str().is_some_and(|tag| TAGS.contains(&tag))) =>
        {
            tags.clone()
        }
        Some(_) => {
            return Err(Error::invalid_param(
                "tags",
                format!("must be an array of: {}", TAGS.join(", ")),
            ));
        }
    };
    let step = optional_string(&body, "step")?;
    // The public client sends `freeform_context`; `context` is accepted too.
    let context_param = if body.contains_key("freeform_context") {
        "freeform_context"
    } else {
        "context"
    };
    let context = optional_string(&body, context_param)?;
    if let Some(context) = &context
        && context.chars().count() > MAX_CONTEXT_CHARS
    {
        return Err(Error::invalid_param(
            context_param,
            format!("must be at most {MAX_CONTEXT_CHARS} characters"),
        ));
    }
    let observation = json!({
        "id": random_id("aobs_"),
        "object": "agent_observation",
        "domain": domain,
        "outcome": outcome,
        "spend_request_id": spend_request_id,
        "tags": tags,
        "step": step,
        "freeform_context": context,
        "status": "recorded",
        "created_at": rfc3339(store.now()),
    });
    let mut recorded = observation.clone();
    recorded["user_id"] = Value::String(user_id);
    store.agent_observations.push(recorded);
    Ok(Json(observation))
}
