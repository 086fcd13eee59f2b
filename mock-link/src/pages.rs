//! Human pages (server-rendered HTML forms, no JavaScript): device verification,
//! spend-request approval, 3-D Secure completion, adding a payment method.
//!
//! They stand in for the Link app on the user's phone. Bad input gets an HTML page with a
//! 4xx status (a person reads it), never a 5xx.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use crate::auth::{DeviceCodeRef, decide_device_code, device_code_is_open, normalize_phrase};
use crate::body::parse_form;
use crate::error::{Error, ErrorShape};
use crate::ids::random_id;
use crate::model::AppState;
use crate::model::accounts::{DEFAULT_USER_ID, PaymentMethod};
use crate::model::spend_request::lifecycle::{apply_event, expire_due_requests};
use crate::model::spend_request::state_machine::{Event, Resolution, State as Status};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
h1{font-size:1.4rem}.phrase{font-size:1.6rem;font-weight:600;letter-spacing:.05em}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}\
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}.context{white-space:pre-wrap;background:#f5f5f5;padding:.8rem}\
.error{color:#a00}";

fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · mock Link" }
                style { (STYLE) }
            }
            body {
                h1 { (title) }
                (body)
                p { small { "mock-link: an offline stand-in for Link. Nothing here moves money." } }
            }
        }
    }
}

fn respond(status: StatusCode, title: &str, body: Markup) -> Response {
    (status, Html(page(title, body).into_string())).into_response()
}

fn problem(status: StatusCode, message: &str) -> Response {
    respond(
        status,
        "Something is not right",
        html! { p.error { (message) } },
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

#[derive(Debug, Deserialize)]
struct VerifyQuery {
    code: Option<String>,
}

/// `GET /verify[?code=phrase]`: enter or confirm the phrase, then approve or deny.
async fn verify_page(State(state): State<AppState>, Query(query): Query<VerifyQuery>) -> Response {
    let Some(user_code) = query.code.filter(|code| !code.trim().is_empty()) else {
        return respond(
            StatusCode::OK,
            "Connect a device",
            html! {
                p { "Enter the phrase your device shows." }
                form method="get" action="/verify" {
                    label for="code" { "Phrase " }
                    input id="code" name="code" type="text" autocomplete="off" required;
                    " "
                    button type="submit" { "Continue" }
                }
            },
        );
    };
    let store = state.lock();
    let now = store.now();
    let Some(code) = store
        .device_codes
        .iter()
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
            p { "Make sure your device shows this phrase:" }
            p.phrase id="phrase" { (code.user_code) }
            table {
                tr { th { "Device" } td { (code.connection_label.as_deref().unwrap_or("unnamed device")) } }
                tr { th { "App" } td { (code.client_hint.as_deref().unwrap_or("unknown")) } }
                tr { th { "Access" } td { (code.scope) } }
            }
            form method="post" action="/verify" {
                input type="hidden" name="user_code" value=(code.user_code);
                p {
                    label for="user_id" { "Sign in as " }
                    select id="user_id" name="user_id" {
                        @for (id, label) in &users {
                            option value=(id) selected[id == DEFAULT_USER_ID] { (label) }
                        }
                    }
                }
                button type="submit" name="decision" value="approve" { "Approve" }
                button type="submit" name="decision" value="deny" { "Deny" }
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
            html! { p id="result" { "Approved. You can return to your device." } },
        ),
        Ok(_) => respond(
            StatusCode::OK,
            "Device denied",
            html! { p id="result" { "Denied. The device was not connected." } },
        ),
        Err(error) => problem_from(&error),
    }
}

/// `GET /approve/{id}`: what the agent wants to spend, with approve and deny buttons.
async fn approval_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let mut store = state.lock();
    expire_due_requests(&mut store);
    let Some(request) = store.spend_requests.iter().find(|request| request.id == id) else {
        return problem(StatusCode::NOT_FOUND, "No such spend request.");
    };
    let input = &request.input;
    let decidable = request.state == Status::PendingApproval;
    let merchant = input
        .merchant_name
        .clone()
        .or_else(|| {
            input
                .network_id
                .as_ref()
                .map(|network| format!("Merchant network {network}"))
        })
        .unwrap_or_default();
    let method = match (&input.card_brand, &input.card_last4) {
        (Some(brand), Some(last4)) => format!("{brand} ending {last4}"),
        _ => input.payment_details.clone(),
    };
    respond(
        StatusCode::OK,
        "Approve a purchase",
        html! {
            table {
                tr { th { "Merchant" } td id="merchant" { (merchant) } }
                @if let Some(url) = &input.merchant_url { tr { th { "Website" } td { (url) } } }
                tr { th { "Amount" } td id="amount" { (format_amount(input.amount, &input.currency)) } }
                tr { th { "Pay with" } td { (method) } }
                tr { th { "Credential" } td { (input.credential_type.as_str()) } }
                tr { th { "Status" } td id="status" { (request.state.status()) } }
            }
            @if !input.line_items.is_empty() {
                h2 { "Items" }
                table id="line-items" {
                    tr { th { "Item" } th { "Qty" } th { "Price" } }
                    @for item in &input.line_items {
                        tr {
                            td { (item["name"].as_str().unwrap_or_default()) }
                            td { (item["quantity"].as_i64().unwrap_or(1)) }
                            td { @if let Some(unit) = item["unit_amount"].as_i64() { (format_amount(unit, &input.currency)) } }
                        }
                    }
                }
            }
            @if !input.totals.is_empty() {
                table id="totals" {
                    @for total in &input.totals {
                        tr {
                            th { (total["display_text"].as_str().or(total["type"].as_str()).unwrap_or_default()) }
                            td { (format_amount(total["amount"].as_i64().unwrap_or_default(), &input.currency)) }
                        }
                    }
                }
            }
            h2 { "Why the agent is asking" }
            p.context id="context" { (input.context) }
            @if decidable {
                form method="post" action={ "/approve/" (request.id) } {
                    button type="submit" name="decision" value="approve" { "Approve" }
                    button type="submit" name="decision" value="deny" { "Deny" }
                }
            } @else {
                p { "This request is " (request.state.status()) "; there is nothing to decide." }
            }
        },
    )
}

/// `POST /approve/{id}` with `decision` (approve|deny).
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
        Ok(next) => respond(
            StatusCode::OK,
            "Done",
            html! { p id="result" { "The request is now " (next.status()) ". You can return to your agent." } },
        ),
        Err(error) => problem_from(&error),
    }
}

/// `GET /three_d_secure/{id}`: the bank's extra step.
async fn three_d_secure_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let mut store = state.lock();
    expire_due_requests(&mut store);
    let Some(request) = store.spend_requests.iter().find(|request| request.id == id) else {
        return problem(StatusCode::NOT_FOUND, "No such spend request.");
    };
    let Status::RequiresAction(resolution) = request.state else {
        return problem(
            StatusCode::CONFLICT,
            &format!(
                "This request is {}; no authentication is needed.",
                request.state.status()
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
            p { "Amount: " (format_amount(request.input.amount, &request.input.currency)) }
            @if completable {
                form method="post" action={ "/three_d_secure/" (request.id) } {
                    button type="submit" { "Complete authentication" }
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
            html! { p id="result" { "The request is now " (next.status()) "." } },
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
                p {
                    label for="user_id" { "Account " }
                    select id="user_id" name="user_id" {
                        @for (id, label) in &users {
                            option value=(id) selected[*id == selected] { (label) }
                        }
                    }
                }
                p {
                    label for="brand" { "Card brand " }
                    select id="brand" name="brand" {
                        option value="visa" { "Visa" }
                        option value="mastercard" { "Mastercard" }
                        option value="amex" { "American Express" }
                        option value="discover" { "Discover" }
                    }
                }
                p {
                    label for="last4" { "Last four digits " }
                    input id="last4" name="last4" type="text" inputmode="numeric" pattern="[0-9]{4}" required;
                }
                p {
                    label for="nickname" { "Nickname (optional) " }
                    input id="nickname" name="nickname" type="text";
                }
                p {
                    label { input type="checkbox" name="is_default" value="true"; " Make default" }
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
        return problem(StatusCode::NOT_FOUND, "No such account.");
    };
    user.add_payment_method(method);
    respond(
        StatusCode::OK,
        "Card added",
        html! { p id="result" { "Added " (brand) " ending " (last4) " as " code { (id) } "." } },
    )
}

/// `GET /verify-account?user_id=`: the identity check an account must pass before spending.
async fn verify_account_page(
    State(state): State<AppState>,
    Query(query): Query<AddMethodQuery>,
) -> Response {
    let store = state.lock();
    let user_id = query.user_id.unwrap_or_else(|| DEFAULT_USER_ID.into());
    let Some(user) = store.user(&user_id) else {
        return problem(StatusCode::NOT_FOUND, "No such account.");
    };
    if !user.requires_verification {
        return respond(
            StatusCode::OK,
            "Account verified",
            html! { p id="result" { "This account is already verified." } },
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
        return problem(StatusCode::NOT_FOUND, "No such account.");
    };
    user.requires_verification = false;
    respond(
        StatusCode::OK,
        "Account verified",
        html! { p id="result" { "Verified. Your agent can ask again." } },
    )
}

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
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
    use super::format_amount;

    #[test]
    fn amounts_are_shown_in_major_units() {
        assert_eq!(format_amount(4999, "usd"), "49.99 USD");
        assert_eq!(format_amount(5, "eur"), "0.05 EUR");
        assert_eq!(format_amount(500, "jpy"), "500 JPY");
    }
}
