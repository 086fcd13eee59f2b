//! Human pages (server-rendered HTML forms, escaped by maud): device verification,
//! spend-request approval, 3-D Secure completion, adding a payment method, account
//! verification, and the dashboard at `/` ([`dashboard`]).
//!
//! They stand in for the Link app on the user's phone. Bad input gets an HTML page with a
//! 4xx status (a person reads it) and a link back, never a 5xx. The only script is the
//! dashboard's inline poll; the one stylesheet is served by mock-link itself (offline).

mod dashboard;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::{DeviceCodeRef, decide_device_code, device_code_is_open, normalize_phrase};
use crate::body::parse_form;
use crate::error::{Error, ErrorShape};
use crate::ids::random_id;
use crate::model::AppState;
use crate::model::accounts::{DEFAULT_USER_ID, PaymentMethod};
use crate::model::spend_request::SpendRequest;
use crate::model::spend_request::lifecycle::{apply_event, expire_due_requests};
use crate::model::spend_request::state_machine::{Event, Resolution, State as Status};
use crate::model::spend_request::validation::CredentialType;

/// Where the stylesheet is served.
pub const STYLESHEET_PATH: &str = "/assets/mock-link.css";

const STYLESHEET: &str = include_str!("../assets/mock-link.css");

/// Paths a person's browser reads that are not client traffic: kept out of the request log
/// (and out of reach of faults), so an open dashboard polling every second does not flood it.
pub fn is_unlogged(path: &str) -> bool {
    matches!(path, "/" | dashboard::LIVE_PATH | STYLESHEET_PATH)
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        STYLESHEET,
    )
        .into_response()
}

fn layout(title: &str, wide: bool, body: Markup, script: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · mock Link" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
                // No favicon request (it would land in the logs as a 404).
                link rel="icon" href="data:,";
            }
            body {
                p.notice role="note" {
                    strong { "Test double." }
                    " mock-link is an offline stand-in for Link, for testing Link clients. Nothing here moves money."
                }
                header.bar {
                    a.home href="/" { "mock Link" }
                    nav aria-label="Pages" {
                        a href="/" { "Dashboard" }
                        a href="/verify" { "Connect a device" }
                        a href="/payment-methods/add" { "Add a card" }
                    }
                }
                main.wide[wide] {
                    h1 { (title) }
                    (body)
                }
                @if let Some(script) = script {
                    script { (maud::PreEscaped(script)) }
                }
            }
        }
    }
}

fn respond(status: StatusCode, title: &str, body: Markup) -> Response {
    (status, Html(layout(title, false, body, None).into_string())).into_response()
}

fn problem(status: StatusCode, message: &str) -> Response {
    respond(
        status,
        "Something is not right",
        html! {
            p.error id="error" { (message) }
            p { a href="/" { "Back to the dashboard" } }
        },
    )
}

fn problem_from(error: &Error) -> Response {
    let message = match error {
        Error::Api { message, .. } | Error::Stripe { message, .. } => message.clone(),
        Error::OAuth { description, .. } => description.clone(),
    };
    problem(error.status(), &message)
}

/// Formats an amount in the smallest unit as e.g. `49.99 USD`.
pub fn format_amount(amount: i64, currency: &str) -> String {
    const ZERO_DECIMAL: &[&str] = &["jpy", "krw", "vnd", "clp", "isk", "ugx"];
    let currency_upper = currency.to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&currency) {
        return format!("{amount} {currency_upper}");
    }
    let sign = if amount < 0 { "-" } else { "" };
    let amount = amount.unsigned_abs();
    format!(
        "{sign}{}.{:02} {currency_upper}",
        amount / 100,
        amount % 100
    )
}

/// A spend request's status in words, and how it looks (`waiting`, `good`, `bad`).
pub fn status_label(state: Status) -> (&'static str, &'static str) {
    match state {
        Status::Created => ("Not sent for approval", ""),
        Status::PendingApproval => ("Waiting for your approval", "waiting"),
        Status::RequiresAction(Resolution::AutoResume) => ("Waiting for 3-D Secure", "waiting"),
        Status::RequiresAction(_) => ("Needs a new request", "bad"),
        Status::Approved => ("Approved", "good"),
        Status::Submitted => ("Payment submitted", "good"),
        Status::Succeeded => ("Paid", "good"),
        Status::Denied => ("Denied", "bad"),
        Status::Expired => ("Expired", "bad"),
        Status::Canceled => ("Canceled", "bad"),
        Status::Failed => ("Payment failed", "bad"),
    }
}

fn status_pill(state: Status) -> Markup {
    let (label, class) = status_label(state);
    html! { span class={ "status " (class) } data-status=(state.status()) { (label) } }
}

/// What the agent receives once approved, in words.
pub fn credential_label(kind: CredentialType) -> &'static str {
    match kind {
        CredentialType::Card => "One-time card",
        CredentialType::SharedPaymentToken => "Shared payment token (SPT)",
        CredentialType::LinkPayToken => "Link Pay Token",
    }
}

/// A card brand as people write it: `visa` → `Visa`, `amex` → `American Express`.
pub fn brand_label(brand: &str) -> String {
    match brand.to_ascii_lowercase().as_str() {
        "visa" => "Visa".to_owned(),
        "mastercard" => "Mastercard".to_owned(),
        "amex" | "american_express" => "American Express".to_owned(),
        "discover" => "Discover".to_owned(),
        "diners" => "Diners Club".to_owned(),
        "jcb" => "JCB".to_owned(),
        "unionpay" => "UnionPay".to_owned(),
        _ => {
            let mut chars = brand.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        }
    }
}

fn merchant_label(request: &SpendRequest) -> String {
    let input = &request.input;
    input
        .merchant_name
        .clone()
        .or_else(|| {
            input
                .network_id
                .as_ref()
                .map(|network| format!("Merchant network {network}"))
        })
        .unwrap_or_default()
}

fn payment_method_label(request: &SpendRequest) -> String {
    let input = &request.input;
    match (&input.card_brand, &input.card_last4) {
        (Some(brand), Some(last4)) => format!("{} ending {last4}", brand_label(brand)),
        _ => input.payment_details.clone(),
    }
}

/// Line items and totals in one table: each total sits under the line-total column.
fn items_table(request: &SpendRequest) -> Markup {
    let input = &request.input;
    let currency = &input.currency;
    let money = |value: &Value| value.as_i64().map(|cents| format_amount(cents, currency));
    html! {
        table id="line-items" {
            caption { "What the agent wants to buy" }
            thead {
                tr {
                    th scope="col" { "Item" }
                    th scope="col" { "SKU" }
                    th.num scope="col" { "Unit price" }
                    th.num scope="col" { "Qty" }
                    th.num scope="col" { "Line total" }
                }
            }
            tbody {
                @for item in &input.line_items {
                    @let quantity = item["quantity"].as_i64().unwrap_or(1);
                    tr {
                        td {
                            (item["name"].as_str().unwrap_or_default())
                            @if let Some(description) = item["description"].as_str() { span.desc { (description) } }
                        }
                        td { @if let Some(sku) = item["sku"].as_str() { code { (sku) } } }
                        td.num { (money(&item["unit_amount"]).unwrap_or_default()) }
                        td.num { (quantity) }
                        td.num {
                            @if let Some(unit) = item["unit_amount"].as_i64() {
                                (format_amount(unit.saturating_mul(quantity), currency))
                            }
                        }
                    }
                }
                @if input.line_items.is_empty() {
                    tr { td colspan="5" .empty { "No line items were sent." } }
                }
            }
            tfoot id="totals" {
                @for total in &input.totals {
                    @let is_total = total["type"] == "total";
                    tr.total[is_total] {
                        th colspan="4" scope="row" {
                            (total["display_text"].as_str().or(total["type"].as_str()).unwrap_or_default())
                        }
                        td.num { (money(&total["amount"]).unwrap_or_default()) }
                    }
                }
                @if !input.totals.iter().any(|total| total["type"] == "total") {
                    tr.total { th colspan="4" scope="row" { "Amount" } td.num { (format_amount(input.amount, currency)) } }
                }
            }
        }
    }
}

/// Merchant, amount, payment method, credential, status, items and the agent's reason.
fn purchase_summary(request: &SpendRequest) -> Markup {
    let input = &request.input;
    html! {
        table.summary {
            tr { th scope="row" { "Merchant" } td id="merchant" { (merchant_label(request)) } }
            @if let Some(url) = &input.merchant_url { tr { th scope="row" { "Website" } td { (url) } } }
            tr { th scope="row" { "Amount" } td id="amount" .amount { (format_amount(input.amount, &input.currency)) } }
            tr { th scope="row" { "Pay with" } td id="payment-method" { (payment_method_label(request)) } }
            tr { th scope="row" { "The agent receives" } td id="credential" { (credential_label(input.credential_type)) } }
            @if let Some(network) = &input.network_id { tr { th scope="row" { "Merchant network" } td { code { (network) } } } }
            tr { th scope="row" { "Status" } td id="status" { (status_pill(request.state)) } }
        }
        (items_table(request))
        h2 { "Why the agent is asking" }
        p.context id="context" { (input.context) }
    }
}

fn decision_form(
    action: &str,
    decision: &str,
    label: &str,
    secondary: bool,
    return_to: Option<&str>,
) -> Markup {
    html! {
        form method="post" action=(action) {
            @if let Some(return_to) = return_to { input type="hidden" name="return_to" value=(return_to); }
            button.secondary[secondary] .small[return_to.is_some()] type="submit" name="decision" value=(decision) { (label) }
        }
    }
}

#[derive(Debug, Deserialize)]
struct VerifyQuery {
    code: Option<String>,
}

/// The OAuth scopes a device asks for, in words.
fn scope_label(scope: &str) -> String {
    let words: Vec<&str> = scope
        .split_whitespace()
        .map(|scope| match scope {
            "userinfo:read" => "see your name and email",
            "payment_methods.agentic" => "ask to pay with your cards",
            "spend_requests:approve" => "approve purchases on your behalf",
            other => other,
        })
        .collect();
    words.join("; ")
}

/// `GET /verify[?code=phrase]`: enter or confirm the phrase, then approve or deny.
async fn verify_page(State(state): State<AppState>, Query(query): Query<VerifyQuery>) -> Response {
    let Some(user_code) = query.code.filter(|code| !code.trim().is_empty()) else {
        return respond(
            StatusCode::OK,
            "Connect a device",
            html! {
                form method="get" action="/verify" {
                    div.field {
                        label for="code" { "Phrase your device shows" }
                        input id="code" name="code" type="text" autocomplete="off" autocapitalize="none" spellcheck="false" placeholder="amber-otter-plum" required;
                    }
                    button type="submit" { "Continue" }
                }
            },
        );
    };
    let store = state.lock();
    let now = store.now();
    let Some(code) = store
        .device_codes
        .values()
        .rev()
        .find(|code| code.user_code == normalize_phrase(&user_code))
    else {
        return problem(
            StatusCode::NOT_FOUND,
            "No device is waiting with this phrase. Check the phrase and try again.",
        );
    };
    if !device_code_is_open(code, now) {
        return problem(
            StatusCode::GONE,
            "This phrase has expired or was already used. Start the login again on your device.",
        );
    }
    let users: Vec<(String, String)> = store
        .users
        .iter()
        .map(|user| (user.id.clone(), format!("{} <{}>", user.name, user.email)))
        .collect();
    respond(
        StatusCode::OK,
        "Connect a device",
        html! {
            p { "A device wants to use your Link account. Make sure it shows this phrase:" }
            p.phrase id="phrase" { (code.user_code) }
            table {
                tr { th scope="row" { "Device" } td id="device" { (code.connection_label.as_deref().unwrap_or("unnamed device")) } }
                tr { th scope="row" { "App" } td id="client" { (code.client_hint.as_deref().unwrap_or("unknown")) } }
                tr { th scope="row" { "Access asked for" } td { (scope_label(&code.scope)) } }
            }
            form method="post" action="/verify" {
                input type="hidden" name="user_code" value=(code.user_code);
                div.field {
                    label for="user_id" { "Sign in as" }
                    select id="user_id" name="user_id" {
                        @for (id, label) in &users {
                            option value=(id) selected[id == DEFAULT_USER_ID] { (label) }
                        }
                    }
                }
                div.actions {
                    button type="submit" name="decision" value="approve" { "Approve" }
                    button.secondary type="submit" name="decision" value="deny" { "Deny" }
                }
            }
        },
    )
}

/// `POST /verify` with `user_code`, `decision` (approve|deny), optional `user_id`.
async fn verify_submit(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match parse_form(&headers, &body, ErrorShape::Api) {
        Ok(form) => form,
        Err(error) => return problem_from(&error),
    };
    let Some(user_code) = form.non_empty("user_code") else {
        return problem(StatusCode::BAD_REQUEST, "The phrase is missing.");
    };
    let approve = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return problem(StatusCode::BAD_REQUEST, "Choose Approve or Deny."),
    };
    let mut store = state.lock();
    match decide_device_code(
        &mut store,
        DeviceCodeRef::Phrase(user_code.trim()),
        form.non_empty("user_id"),
        approve,
    ) {
        Ok(_) if approve => respond(
            StatusCode::OK,
            "Device connected",
            html! { p.result id="result" { "Approved. The device is connected to your account; you can return to it." } },
        ),
        Ok(_) => respond(
            StatusCode::OK,
            "Device denied",
            html! { p.result id="result" { "Denied. The device was not connected." } },
        ),
        Err(error) => problem_from(&error),
    }
}

/// `GET /approve/{id}`: what the agent wants to spend, with approve and deny buttons (or the
/// way to 3-D Secure when the bank asks for it first).
async fn approval_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let mut store = state.lock();
    expire_due_requests(&mut store);
    let Some(request) = store.spend_request(&id) else {
        return problem(StatusCode::NOT_FOUND, "No spend request has this id.");
    };
    let action = format!("/approve/{}", request.id);
    respond(
        StatusCode::OK,
        "Approve a purchase",
        html! {
            (purchase_summary(request))
            @match request.state {
                Status::PendingApproval => div.actions {
                    (decision_form(&action, "approve", "Approve", false, None))
                    (decision_form(&action, "deny", "Deny", true, None))
                },
                Status::RequiresAction(resolution) => {
                    @if resolution == Resolution::AutoResume {
                        p id="next-step" { "Your bank asks you to confirm this purchase with 3-D Secure before it is approved." }
                        div.actions {
                            a.button id="three-d-secure" href={ "/three_d_secure/" (request.id) } { "Continue to 3-D Secure" }
                            (decision_form(&action, "deny", "Deny", true, None))
                        }
                    } @else {
                        p id="next-step" { "This purchase cannot go on with this request: the agent has to start a new one. You can still deny it." }
                        div.actions { (decision_form(&action, "deny", "Deny", true, None)) }
                    }
                },
                other => p id="decided" {
                    "This request is already decided (" (status_label(other).0) "); there is nothing left to do here. "
                    a href="/" { "Back to the dashboard" }
                },
            }
        },
    )
}

/// `POST /approve/{id}` with `decision` (approve|deny); `return_to=/` goes back to the
/// dashboard instead of answering a page.
async fn approval_submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match parse_form(&headers, &body, ErrorShape::Api) {
        Ok(form) => form,
        Err(error) => return problem_from(&error),
    };
    let event = match form.get("decision") {
        Some("approve") => Event::Approve,
        Some("deny") => Event::Deny,
        _ => return problem(StatusCode::BAD_REQUEST, "Choose Approve or Deny."),
    };
    let mut store = state.lock();
    match apply_event(&mut store, &id, event) {
        Ok(_) if form.get("return_to") == Some("/") => Redirect::to("/").into_response(),
        Ok(next) => respond(
            StatusCode::OK,
            if event == Event::Approve {
                "Purchase approved"
            } else {
                "Purchase denied"
            },
            html! {
                p.result id="result" data-status=(next.status()) {
                    @if event == Event::Approve {
                        "You approved the purchase. The agent can now retrieve its credential; you can return to it."
                    } @else {
                        "You denied the purchase. The agent gets no credential."
                    }
                }
                p { a href="/" { "Back to the dashboard" } }
            },
        ),
        Err(error) => problem_from(&error),
    }
}

/// `GET /three_d_secure/{id}`: the bank's extra step, showing what is being confirmed.
async fn three_d_secure_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let mut store = state.lock();
    expire_due_requests(&mut store);
    let Some(request) = store.spend_request(&id) else {
        return problem(StatusCode::NOT_FOUND, "No spend request has this id.");
    };
    let Status::RequiresAction(resolution) = request.state else {
        return problem(
            StatusCode::CONFLICT,
            &format!(
                "This request needs no authentication now (it is {}).",
                status_label(request.state).0.to_lowercase()
            ),
        );
    };
    let completable = resolution != Resolution::CreateNewSpendRequest;
    let message = request
        .next_action
        .as_ref()
        .map(|action| action.display_message.clone())
        .unwrap_or_default();
    respond(
        StatusCode::OK,
        "Confirm with your bank",
        html! {
            p id="message" { (message) }
            p { "Your bank (a test double) asks you to confirm this purchase of "
                strong { (format_amount(request.input.amount, &request.input.currency)) }
                " at " strong id="three-ds-merchant" { (merchant_label(request)) } "." }
            (purchase_summary(request))
            @if completable {
                div.actions {
                    form method="post" action={ "/three_d_secure/" (request.id) } {
                        button type="submit" { "Complete authentication" }
                    }
                    a href={ "/approve/" (request.id) } { "Back to the request" }
                }
            } @else {
                p { "There is nothing to complete here; ask your agent to start a new request." }
            }
        },
    )
}

/// `POST /three_d_secure/{id}`
async fn three_d_secure_submit(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let mut store = state.lock();
    match apply_event(&mut store, &id, Event::CompleteAction) {
        Ok(next) => respond(
            StatusCode::OK,
            "Authentication complete",
            html! {
                p.result id="result" data-status=(next.status()) {
                    @if next == Status::Approved {
                        "Confirmed. The purchase is approved; you can return to your agent."
                    } @else {
                        "Confirmed. The request is now " (status_label(next).0.to_lowercase()) "; your agent will tell you what comes next."
                    }
                }
                p { a href="/" { "Back to the dashboard" } }
            },
        ),
        Err(error) => problem_from(&error),
    }
}

#[derive(Debug, Deserialize)]
struct AddMethodQuery {
    user_id: Option<String>,
}

/// `GET /payment-methods/add[?user_id=]`: the wallet's add-a-card form.
async fn add_payment_method_page(
    State(state): State<AppState>,
    Query(query): Query<AddMethodQuery>,
) -> Response {
    let store = state.lock();
    let selected = query.user_id.unwrap_or_else(|| DEFAULT_USER_ID.into());
    let users: Vec<(String, String)> = store
        .users
        .iter()
        .map(|user| (user.id.clone(), format!("{} <{}>", user.name, user.email)))
        .collect();
    respond(
        StatusCode::OK,
        "Add a payment method",
        html! {
            form method="post" action="/payment-methods/add" {
                div.field {
                    label for="user_id" { "Account" }
                    select id="user_id" name="user_id" {
                        @for (id, label) in &users {
                            option value=(id) selected[*id == selected] { (label) }
                        }
                    }
                }
                div.field {
                    label for="brand" { "Card brand" }
                    select id="brand" name="brand" {
                        option value="visa" { "Visa" }
                        option value="mastercard" { "Mastercard" }
                        option value="amex" { "American Express" }
                        option value="discover" { "Discover" }
                    }
                }
                div.field {
                    label for="last4" { "Last four digits" }
                    input id="last4" name="last4" type="text" inputmode="numeric" pattern="[0-9]{4}" maxlength="4" aria-describedby="last4-hint" required;
                    span.hint id="last4-hint" { "A test card: only its brand and last four digits are kept." }
                }
                div.field {
                    label for="nickname" { "Nickname (optional)" }
                    input id="nickname" name="nickname" type="text";
                }
                div.field.check {
                    label { input type="checkbox" id="is_default" name="is_default" value="true"; " Make it the default card" }
                }
                button type="submit" { "Add card" }
            }
        },
    )
}

/// `POST /payment-methods/add`
async fn add_payment_method_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match parse_form(&headers, &body, ErrorShape::Api) {
        Ok(form) => form,
        Err(error) => return problem_from(&error),
    };
    let last4 = form.get("last4").unwrap_or_default().trim();
    if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
        return problem(
            StatusCode::BAD_REQUEST,
            "The last four digits must be four digits.",
        );
    }
    let brand = match form.get("brand").unwrap_or("visa") {
        brand @ ("visa" | "mastercard" | "amex" | "discover") => brand,
        _ => return problem(StatusCode::BAD_REQUEST, "Unknown card brand."),
    };
    let user_id = form
        .non_empty("user_id")
        .unwrap_or(DEFAULT_USER_ID)
        .to_owned();
    let mut method = PaymentMethod::card(
        random_id("csmrpd_"),
        brand,
        last4,
        form.get("is_default") == Some("true"),
    );
    method.nickname = form.non_empty("nickname").map(str::to_owned);
    let id = method.id.clone();
    let mut store = state.lock();
    let Some(user) = store.user_mut(&user_id) else {
        return problem(StatusCode::NOT_FOUND, "No account has this id.");
    };
    user.add_payment_method(method);
    respond(
        StatusCode::OK,
        "Card added",
        html! {
            p.result id="result" { "Added " (brand_label(brand)) " ending " (last4) " as " code { (id) } "." }
            p { a href="/" { "Back to the dashboard" } " · " a href="/payment-methods/add" { "Add another card" } }
        },
    )
}

/// `GET /verify-account?user_id=`: the identity check an account must pass before spending.
/// Without `user_id` it says so and offers the accounts that are waiting for it.
async fn verify_account_page(
    State(state): State<AppState>,
    Query(query): Query<AddMethodQuery>,
) -> Response {
    let store = state.lock();
    let Some(user_id) = query.user_id.filter(|id| !id.trim().is_empty()) else {
        let waiting: Vec<(&str, String)> = store
            .users
            .iter()
            .filter(|user| user.requires_verification)
            .map(|user| (user.id.as_str(), format!("{} <{}>", user.name, user.email)))
            .collect();
        return respond(
            StatusCode::OK,
            "Verify your identity",
            html! {
                p id="no-account" { "This link names no account. Open the link your agent's error gave you, or choose the account here." }
                @if waiting.is_empty() {
                    p.empty id="result" { "No account is waiting for verification." }
                } @else {
                    form method="get" action="/verify-account" {
                        div.field {
                            label for="user_id" { "Account to verify" }
                            select id="user_id" name="user_id" {
                                @for (id, label) in &waiting { option value=(id) { (label) } }
                            }
                        }
                        button type="submit" { "Continue" }
                    }
                }
            },
        );
    };
    let Some(user) = store.user(&user_id) else {
        return problem(StatusCode::NOT_FOUND, "No account has this id.");
    };
    if !user.requires_verification {
        return respond(
            StatusCode::OK,
            "Account verified",
            html! { p.result id="result" { "The account of " (user.name) " is already verified; nothing to do." } },
        );
    }
    respond(
        StatusCode::OK,
        "Verify your identity",
        html! {
            p { "Link needs to confirm it is you, " (user.name) ", before an agent can spend for you." }
            form method="post" action="/verify-account" {
                input type="hidden" name="user_id" value=(user.id);
                button type="submit" { "Verify" }
            }
        },
    )
}

/// `POST /verify-account` with `user_id`.
async fn verify_account_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The page's form always sends `user_id`: a body without one (or no body, or not a form)
    // is a script's mistake, answered in JSON instead of verifying the default account.
    let form = match parse_form(&headers, &body, ErrorShape::Api) {
        Ok(form) => form,
        Err(error) => return error.into_response(),
    };
    let Some(user_id) = form.non_empty("user_id").map(str::to_owned) else {
        return Error::param_error(
            "parameter_missing",
            "user_id",
            "user_id is required (the verify-account form sends it)",
        )
        .into_response();
    };
    let mut store = state.lock();
    let Some(user) = store.user_mut(&user_id) else {
        return problem(StatusCode::NOT_FOUND, "No account has this id.");
    };
    user.requires_verification = false;
    respond(
        StatusCode::OK,
        "Account verified",
        html! { p.result id="result" { "Verified. Your agent can ask again." } },
    )
}

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::page))
        .route(dashboard::LIVE_PATH, get(dashboard::live))
        .route(STYLESHEET_PATH, get(stylesheet))
        .route("/verify", get(verify_page).post(verify_submit))
        .route("/approve/{id}", get(approval_page).post(approval_submit))
        .route(
            "/three_d_secure/{id}",
            get(three_d_secure_page).post(three_d_secure_submit),
        )
        .route(
            "/verify-account",
            get(verify_account_page).post(verify_account_submit),
        )
        .route(
            "/payment-methods/add",
            get(add_payment_method_page).post(add_payment_method_submit),
        )
        // The public client opens `https://app.link.com/wallet`; the same page on this host.
        .route("/wallet", get(add_payment_method_page))
}

#[cfg(test)]
mod tests {
    use super::{brand_label, format_amount, scope_label};

    #[test]
    fn brands_and_scopes_read_as_people_write_them() {
        assert_eq!(brand_label("visa"), "Visa");
        assert_eq!(brand_label("amex"), "American Express");
        assert_eq!(brand_label("cartes_bancaires"), "Cartes_bancaires");
        assert_eq!(
            scope_label("userinfo:read payment_methods.agentic"),
            "see your name and email; ask to pay with your cards"
        );
    }

    #[test]
    fn amounts_are_shown_in_major_units() {
        assert_eq!(format_amount(4999, "usd"), "49.99 USD");
        assert_eq!(format_amount(5, "eur"), "0.05 EUR");
        assert_eq!(format_amount(500, "jpy"), "500 JPY");
    }
}
