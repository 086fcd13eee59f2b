//! The dashboard at `/`: users, login sessions and device codes, spend requests (approve or
//! deny from here), issued credentials and redemptions, and the request log, secrets
//! redacted. A small inline script fetches [`LIVE_PATH`] every second and swaps the
//! content in when it changed, so it follows what clients do without a full reload.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};

use super::{brand_label, credential_label, format_amount, layout, merchant_label, status_pill};
use crate::clock::rfc3339;
use crate::model::AppState;
use crate::model::ledger::LedgerEntry;
use crate::model::spend_request::lifecycle::expire_due_requests;
use crate::model::spend_request::state_machine::{Resolution, State as Status};
use crate::model::store::{DeviceDecision, Store};

/// The dashboard's live part, as an HTML fragment.
pub const LIVE_PATH: &str = "/dashboard/live";

/// How many rows each section shows, newest first.
const ROWS: usize = 25;

/// Swaps `#live` for the fetched fragment when it changed, unless the person is using a
/// control inside it (focus would be lost). No external script, no framework.
const POLL_SCRIPT: &str = r#"(function () {
  var live = document.getElementById("live");
  var stamp = document.getElementById("updated");
  var last = null, busy = false;
  function tick() {
    if (busy) return;
    busy = true;
    fetch("/dashboard/live", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var focused = live.contains(document.activeElement) && document.activeElement !== live;
        if (html !== last && !focused) { live.innerHTML = html; last = html; }
        stamp.textContent = "Updated " + new Date().toLocaleTimeString();
      })
      .catch(function () { stamp.textContent = "mock-link is not answering"; })
      .then(function () { busy = false; });
  }
  setInterval(tick, 1000);
})();"#;

fn clock_time(time: SystemTime) -> String {
    let text = rfc3339(time);
    text.get(11..19).unwrap_or(&text).to_owned()
}

fn clock_time_of_seconds(seconds: i64) -> String {
    clock_time(crate::clock::from_unix_seconds(seconds))
}

/// An SPT or other token id shown without its secret part; cards are already `card ending 1234`.
fn redacted_credential(credential: &str) -> String {
    match credential.split_once('_') {
        Some((prefix, rest)) if !credential.starts_with("card") => {
            let tail = &rest[rest.len().saturating_sub(4)..];
            format!("{prefix}_…{tail}")
        }
        _ => credential.to_owned(),
    }
}

fn spend_requests(store: &Store) -> Markup {
    let requests: Vec<_> = store.spend_requests.iter().rev().take(ROWS).collect();
    html! {
        h2 id="spend-requests-heading" { "Spend requests" }
        @if requests.is_empty() {
            p.empty { "No spend requests yet. An agent creates them with " code { "POST /spend_requests" } "." }
        } @else {
            div.scroll {
                table id="spend-requests" aria-labelledby="spend-requests-heading" {
                    thead { tr {
                        th scope="col" { "Request" } th scope="col" { "Merchant" } th.num scope="col" { "Amount" }
                        th scope="col" { "Credential" } th scope="col" { "Status" } th scope="col" { "Decide" }
                    } }
                    tbody {
                        @for request in requests {
                            @let approve = format!("/approve/{}", request.id);
                            tr id={ "sr-" (request.id) } {
                                td { a href=(approve) { code { (request.id) } } span.desc { (clock_time(request.created_at)) } }
                                td { (merchant_label(request)) }
                                td.num { (format_amount(request.input.amount, &request.input.currency)) }
                                td { (credential_label(request.input.credential_type)) }
                                td { (status_pill(request.state)) }
                                td {
                                    div.actions {
                                        @match request.state {
                                            Status::PendingApproval => {
                                                (super::decision_form(&approve, "approve", "Approve", false, Some("/")))
                                                (super::decision_form(&approve, "deny", "Deny", true, Some("/")))
                                            },
                                            Status::RequiresAction(resolution) => {
                                                @if resolution == Resolution::AutoResume {
                                                    a href={ "/three_d_secure/" (request.id) } { "3-D Secure" }
                                                }
                                                (super::decision_form(&approve, "deny", "Deny", true, Some("/")))
                                            },
                                            _ => span.empty { "decided" },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn users(store: &Store) -> Markup {
    html! {
        h2 id="users-heading" { "Users" }
        div.scroll {
            table id="users" aria-labelledby="users-heading" {
                thead { tr { th scope="col" { "User" } th scope="col" { "Payment methods" } th scope="col" { "Account" } } }
                tbody {
                    @for user in &store.users {
                        tr id={ "user-" (user.id) } {
                            td { (user.name) span.desc { (user.email) " · " code { (user.id) } } }
                            td {
                                @if user.payment_methods.is_empty() { span.empty { "none" } }
                                @for method in &user.payment_methods {
                                    span.desc {
                                        @match &method.card_details {
                                            Some(card) => { (brand_label(&card.brand)) " ending " (card.last4) },
                                            None => { (method.name) },
                                        }
                                        @if let Some(nickname) = &method.nickname { " (" (nickname) ")" }
                                        @if method.is_default { " · default" }
                                    }
                                }
                                a href={ "/payment-methods/add?user_id=" (user.id) } { "Add a card" }
                            }
                            td {
                                @if user.requires_verification {
                                    a href={ "/verify-account?user_id=" (user.id) } { "Needs verification" }
                                } @else { "Verified" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn sessions(store: &Store) -> Markup {
    let now = store.now();
    let mut grants: Vec<_> = store.grants.iter().collect();
    grants.sort_by(|a, b| b.0.cmp(a.0));
    let live_tokens = |grant_id: &str| {
        store
            .access_tokens
            .values()
            .filter(|token| token.grant_id == grant_id && token.expires_at > now)
            .count()
    };
    let codes: Vec<_> = store.device_codes.values().rev().take(ROWS).collect();
    html! {
        h2 id="sessions-heading" { "Login sessions" }
        @if grants.is_empty() {
            p.empty { "Nobody is logged in. A client starts with " code { "POST /device/code" } "." }
        } @else {
            div.scroll {
                table id="sessions" aria-labelledby="sessions-heading" {
                    thead { tr { th scope="col" { "User" } th scope="col" { "Client" } th scope="col" { "Access" } th scope="col" { "State" } } }
                    tbody {
                        @for (grant_id, grant) in grants.iter().take(ROWS) {
                            tr {
                                td { code { (grant.user_id) } }
                                td { (grant.connection_label.as_deref().unwrap_or(&grant.client_id)) span.desc { code { (grant.client_id) } } }
                                td { (super::scope_label(&grant.scope)) }
                                td {
                                    @if grant.revoked { "Logged out" }
                                    @else { (live_tokens(grant_id)) " live access token(s)" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !codes.is_empty() {
            table id="device-codes" {
                caption { "Device logins" }
                thead { tr { th scope="col" { "Phrase" } th scope="col" { "Device" } th scope="col" { "State" } } }
                tbody {
                    @for code in codes {
                        tr {
                            td { code { (code.user_code) } }
                            td { (code.connection_label.as_deref().or(code.client_hint.as_deref()).unwrap_or("unnamed device")) }
                            td {
                                @match &code.decision {
                                    DeviceDecision::Pending if code.expires_at > now => {
                                        a href={ "/verify?code=" (code.user_code) } { "Waiting: approve or deny" }
                                    },
                                    DeviceDecision::Pending => "Expired",
                                    DeviceDecision::Approved { user_id } => { "Approved for " code { (user_id) } },
                                    DeviceDecision::Denied => "Denied",
                                    DeviceDecision::Redeemed => "Logged in",
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn ledger_event(entry: &LedgerEntry) -> &str {
    match entry.event.as_ref() {
        "issued" => "Issued",
        "redeemed" => "Redeemed",
        "redemption_refused" => "Redemption refused",
        "revoked" => "Revoked",
        other => other,
    }
}

fn credentials(store: &Store) -> Markup {
    let entries: Vec<_> = store.ledger.iter().rev().take(ROWS).collect();
    html! {
        h2 id="credentials-heading" { "Issued credentials and redemptions" }
        @if entries.is_empty() {
            p.empty { "No credential issued yet: approving a spend request issues one." }
        } @else {
            div.scroll {
                table id="credentials" aria-labelledby="credentials-heading" {
                    thead { tr { th scope="col" { "Time" } th scope="col" { "Event" } th scope="col" { "Credential" } th.num scope="col" { "Amount" } th scope="col" { "Details" } } }
                    tbody {
                        @for entry in entries {
                            tr {
                                td { (clock_time_of_seconds(entry.at)) }
                                td { (ledger_event(entry)) }
                                td { (redacted_credential(&entry.credential)) }
                                td.num { (format_amount(entry.amount, &entry.currency)) }
                                td {
                                    @if let Some(id) = &entry.spend_request_id { a href={ "/approve/" (id) } { code { (id) } } " " }
                                    @if let Some(pi) = &entry.payment_intent { code { (pi) } " " }
                                    @if let Some(reason) = &entry.reason { span.error { (reason) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn request_log(store: &Store) -> Markup {
    let entries: Vec<_> = store.request_log.iter().rev().take(ROWS).collect();
    html! {
        h2 id="log-heading" { "Request log (newest first, secrets redacted)" }
        @if entries.is_empty() {
            p.empty { "No client request yet." }
        } @else {
            div.scroll {
                table id="request-log" aria-labelledby="log-heading" {
                    thead { tr { th scope="col" { "Time" } th scope="col" { "Request" } th.num scope="col" { "Status" } } }
                    tbody {
                        @for entry in entries {
                            tr {
                                td { (clock_time_of_seconds(entry.at)) }
                                td {
                                    code { (entry.method) " " (entry.path) @if let Some(query) = &entry.query { "?" (query) } }
                                    @if !entry.body.is_null() {
                                        details {
                                            summary { "Body" }
                                            pre.log { (serde_json::to_string_pretty(&entry.body).unwrap_or_default()) }
                                        }
                                    }
                                }
                                td.num { (entry.status) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn live_markup(store: &Store) -> Markup {
    html! {
        (spend_requests(store))
        (sessions(store))
        (credentials(store))
        (users(store))
        (request_log(store))
    }
}

/// `GET /`: the dashboard.
pub async fn page(State(state): State<AppState>) -> Response {
    let mut store = state.lock();
    expire_due_requests(&mut store);
    let body = html! {
        p {
            "Everything this mock-link knows, live. Approve or deny waiting purchases here, or open a request. "
            span.hint id="updated" aria-live="polite" { "Refreshes every second." }
        }
        div id="live" { (live_markup(&store)) }
    };
    Html(layout("Dashboard", true, body, Some(POLL_SCRIPT)).into_string()).into_response()
}

/// `GET /dashboard/live`: the dashboard's content, for the poll script.
pub async fn live(State(state): State<AppState>) -> Response {
    let mut store = state.lock();
    expire_due_requests(&mut store);
    let mut response = (StatusCode::OK, live_markup(&store).into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::redacted_credential;

    #[test]
    fn token_ids_lose_their_secret_part() {
        assert_eq!(redacted_credential("spt_abcdef123456"), "spt_…3456");
        assert_eq!(redacted_credential("card ending 4242"), "card ending 4242");
    }
}
