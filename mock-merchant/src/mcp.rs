//! The MCP merchant (`mcp`): a JSON-RPC endpoint (`POST /m/mcp`) with one paid
//! tool. A payment challenge is JSON-RPC error `-32042` carrying the
//! challenges (with `request` as plain JSON), the credential travels in
//! `params._meta["org.paymentauth/credential"]`, the receipt in the result's
//! `_meta["org.paymentauth/receipt"]`, and a refused credential is `-32043`
//! (or `-32602` when malformed). Messages are built with the `mpp` crate's
//! `mcp` helpers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mpp_wire::mpp::PaymentChallenge;
use mpp_wire::mpp::error::PaymentErrorDetails;
use mpp_wire::mpp::mcp;
use mpp_wire::{Problem, ProblemType, stripe_receipt};
use serde_json::{Value, json};

use crate::challenges::{self, Binding, Terms};
use crate::ledger::LedgerEntry;
use crate::state::AppState;
use crate::verify::{self, Accepts, Outcome};

/// The merchant id.
pub const MERCHANT: &str = "mcp";
/// The paid tool.
pub const PAID_TOOL: &str = "premium_report";
/// The free tool.
pub const FREE_TOOL: &str = "free_quote";
/// The paid tool's price in cents.
pub const PRICE: u64 = 2500;
/// The route a paid tool call's challenges are bound to.
pub const ROUTE: &str = "MCP tools/call premium_report";

fn reply(id: Value, result: Value) -> Response {
    Json(json!({ "jsonrpc": "2.0", "id": id, "result": result })).into_response()
}

fn error(id: Value, error: Value) -> Response {
    Json(json!({ "jsonrpc": "2.0", "id": id, "error": error })).into_response()
}

fn plain_error(id: Value, code: i64, message: &str) -> Response {
    error(id, json!({ "code": code, "message": message }))
}

/// Fresh challenges for the paid tool: tempo charge, stripe charge, tempo session, lightning.
fn offers(state: &AppState) -> Vec<PaymentChallenge> {
    let terms = Terms {
        amount: PRICE.to_string(),
        currency: "usd".to_owned(),
        network_id: state.config.network_id.clone(),
        description: "One premium market report, as an MCP tool result".to_owned(),
        payment_method_types: vec!["card", "link"],
        reversed_keys: false,
    };
    let binding = Binding {
        secret: &state.config.challenge_secret,
        realm: "mock-merchant/mcp",
        route: ROUTE,
        expires: Some(challenges::expires_after(
            state.clock.now(),
            state.config.challenge_lifetime,
            state.next_issue(),
        )),
        digest: None,
        header: None,
        revision: None,
        slot: state.config.header_slot,
    };
    let [tempo_charge, tempo_session, lightning] = challenges::distractors(&binding, &terms);
    let stripe = challenges::stripe(&binding, &terms, "charge");
    state.remember_issued(
        &stripe.challenge.id,
        challenges::Issued::new(ROUTE, &stripe, &terms),
    );
    let offers: Vec<PaymentChallenge> = [tempo_charge, stripe, tempo_session, lightning]
        .into_iter()
        .map(|offer| offer.challenge)
        .collect();
    for c in &offers {
        state.record(
            LedgerEntry::new(MERCHANT, ROUTE, "challenge_issued")
                .challenge(&c.id)
                .method(c.method.as_str(), c.intent.as_str()),
        );
    }
    offers
}

/// `-32042` (or, with `problem`, the code `mpp` gives that problem) with every fresh challenge.
fn payment_error(state: &AppState, id: Value, problem: Option<&Problem>) -> Response {
    let offers = offers(state);
    let Some(first) = offers.first() else {
        return plain_error(id, -32603, "no challenge could be issued");
    };
    let mut mcp_error = match problem {
        None => mcp::payment_required_error(first),
        Some(problem) => {
            let mut details = PaymentErrorDetails::new(problem.type_uri.clone());
            details.title = problem.title.clone();
            details.status = problem.status;
            details.detail = problem.detail.clone();
            mcp::payment_required_error_with_problem(first, details)
        }
    };
    if let Some(data) = mcp_error.data.as_mut() {
        data.challenges = offers;
    }
    error(id, serde_json::to_value(&mcp_error).unwrap_or(Value::Null))
}

async fn call_paid(state: &AppState, id: Value, params: &Value) -> Response {
    let Some(meta) = params
        .get("_meta")
        .filter(|m| m.get(mcp::CREDENTIAL_META_KEY).is_some())
    else {
        return payment_error(state, id, None);
    };
    let Some(credential) = mcp::extract_credential(meta) else {
        state.record(LedgerEntry::new(MERCHANT, ROUTE, "rejected").problem("malformed-credential"));
        let problem = Problem::new(
            ProblemType::MalformedCredential,
            "the credential in _meta is not a Payment credential",
        );
        return payment_error(state, id, Some(&problem));
    };
    let echo = &credential.challenge;
    let spt = mpp_wire::spt_of(&credential);
    state.record(
        LedgerEntry::new(MERCHANT, ROUTE, "credential_received")
            .challenge(&echo.id)
            .method(echo.method.as_str(), echo.intent.as_str())
            .spt(spt),
    );
    let accepts = Accepts {
        stripe: true,
        intent: "charge",
        received_in: None,
        minimum_amount: None,
        payer_refused: false,
    };
    match verify::pay(state, accepts, ROUTE, b"", &credential).await {
        Outcome::Paid {
            payment_intent,
            amount,
            currency,
        } => {
            state.record(
                LedgerEntry::new(MERCHANT, ROUTE, "paid")
                    .challenge(&echo.id)
                    .method("stripe", "charge")
                    .spt(spt)
                    .reference(&payment_intent)
                    .detail(format!("{amount} {currency}")),
            );
            let mut result = json!({
                "content": [{
                    "type": "text",
                    "text": format!("Premium report (paid {amount} {currency}, {payment_intent}): markets were calm."),
                }],
                "isError": false,
            });
            mcp::attach_receipt(&mut result, &stripe_receipt(&payment_intent), &echo.id);
            reply(id, result)
        }
        Outcome::Rejected(rejection) => {
            state.record(
                LedgerEntry::new(MERCHANT, ROUTE, "rejected")
                    .challenge(&echo.id)
                    .spt(spt)
                    .problem(rejection.kind.code())
                    .detail(&rejection.detail),
            );
            let mut problem = Problem::new(rejection.kind, rejection.detail);
            problem.status = rejection.status.as_u16();
            payment_error(state, id, Some(&problem))
        }
        Outcome::Unavailable(detail) => plain_error(id, -32603, &detail),
        // Policy knobs apply to HTTP merchants only.
        Outcome::Forbidden(detail) => plain_error(id, -32003, &detail),
    }
}

fn tools() -> Value {
    json!({
        "tools": [
            {
                "name": PAID_TOOL,
                "description": "A premium market report. Costs $25.00, paid with the Payment scheme (stripe charge among others).",
                "inputSchema": { "type": "object", "properties": { "topic": { "type": "string" } } },
            },
            {
                "name": FREE_TOOL,
                "description": "A free price quote.",
                "inputSchema": { "type": "object", "properties": {} },
            },
        ]
    })
}

/// `POST /m/mcp`: one JSON-RPC message in, one out (notifications get 202).
pub async fn rpc(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return plain_error(Value::Null, -32700, "Parse error");
    };
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return plain_error(
            message.get("id").cloned().unwrap_or(Value::Null),
            -32600,
            "Invalid Request",
        );
    };
    let Some(id) = message.get("id").cloned() else {
        // A notification: nothing to answer.
        return StatusCode::ACCEPTED.into_response();
    };
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    match method {
        "initialize" => reply(
            id,
            json!({
                "protocolVersion": params.get("protocolVersion").cloned().unwrap_or(json!("2025-06-18")),
                "capabilities": { "tools": {} },
                "serverInfo": { "name": "mock-merchant", "version": env!("CARGO_PKG_VERSION") },
            }),
        ),
        "ping" => reply(id, json!({})),
        "tools/list" => reply(id, tools()),
        "tools/call" => match params.get("name").and_then(Value::as_str) {
            Some(PAID_TOOL) => call_paid(&state, id, &params).await,
            Some(FREE_TOOL) => reply(
                id,
                json!({ "content": [{ "type": "text", "text": "A premium report costs $25.00." }], "isError": false }),
            ),
            _ => plain_error(id, -32602, "Unknown tool"),
        },
        _ => plain_error(id, -32601, "Method not found"),
    }
}
