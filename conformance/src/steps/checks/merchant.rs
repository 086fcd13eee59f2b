//! What reached mock-merchant: payments and credentials (where they went,
//! SAFE-01, SAFE-04), and the pages the agent's browser fetched.

use cucumber::then;

use crate::step_error::{StepResult, check};
use crate::world::LinkWorld;

#[then(expr = "the merchant {string} was paid {int} time(s)")]
async fn merchant_paid(w: &mut LinkWorld, merchant: String, count: usize) -> StepResult {
    let n = w
        .shop
        .ledger_of(&merchant)
        .iter()
        .filter(|e| e.event == "paid")
        .count();
    check(n == count, || format!("{merchant} was paid {n} time(s)"))
}

#[then(expr = "the merchant {string} received no credential")]
async fn merchant_no_credential(w: &mut LinkWorld, merchant: String) -> StepResult {
    let entries = w.shop.ledger_of(&merchant);
    let n = entries
        .iter()
        .filter(|e| e.event == "credential_received" || e.event == "paid")
        .count();
    check(n == 0, || format!("{merchant} received {n} credential(s)"))
}

#[then(expr = "no merchant received a credential")]
async fn no_merchant_credential(w: &mut LinkWorld) -> StepResult {
    let entries = w.shop.ledger();
    let n = entries
        .iter()
        .filter(|e| e.event == "credential_received" || e.event == "paid")
        .count();
    check(n == 0, || format!("merchants received {n} credential(s)"))
}

#[then(expr = "the merchant {string} received {int} credential(s)")]
async fn merchant_credentials(w: &mut LinkWorld, merchant: String, count: usize) -> StepResult {
    let entries = w.shop.ledger_of(&merchant);
    let n = entries
        .iter()
        .filter(|e| e.event == "credential_received")
        .count();
    check(n == count, || {
        format!("{merchant} received {n} credential(s): {entries:?}")
    })
}

#[then(expr = "the page contains {string}")]
async fn page_contains(w: &mut LinkWorld, text: String) -> StepResult {
    let page = w.notes.get("page").ok_or("no page fetched")?;
    check(page.contains(&text), || format!("the page lacks {text:?}"))
}

#[then(expr = "the page answered {int}")]
async fn page_status(w: &mut LinkWorld, status: u16) -> StepResult {
    let got = w.notes.get("page_status").ok_or("no page fetched")?;
    check(*got == status.to_string(), || {
        format!("the page answered {got}")
    })
}

/// The `credential_received` entries of every merchant.
fn credentials_received(w: &LinkWorld) -> Vec<mock_merchant::LedgerEntry> {
    w.shop
        .ledger()
        .into_iter()
        .filter(|e| e.event == "credential_received")
        .collect()
}

/// A URL without its query, for comparing where requests went.
fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[then(expr = "no credential was sent to {string}")]
async fn no_credential_to(w: &mut LinkWorld, url: String) -> StepResult {
    let url = w.expand(&url);
    let sent: Vec<String> = credentials_received(w)
        .into_iter()
        .filter_map(|e| e.url)
        .filter(|u| without_query(u) == without_query(&url))
        .collect();
    check(sent.is_empty(), || {
        format!("{} credential(s) went to {url}", sent.len())
    })
}

#[then("no credential was sent to the redirect's landing")]
async fn no_credential_to_landing(w: &mut LinkWorld) -> StepResult {
    let landing = "/m/redirects/landing";
    let sent: Vec<String> = credentials_received(w)
        .into_iter()
        .filter_map(|e| e.url)
        .filter(|u| without_query(u).ends_with(landing))
        .collect();
    check(sent.is_empty(), || {
        format!("the credential followed the redirect: {sent:?}")
    })
}

#[then("every credential went to a URL that answered 402")]
async fn credentials_where_402(w: &mut LinkWorld) -> StepResult {
    let ledger = w.shop.ledger();
    let challenged: Vec<&str> = ledger
        .iter()
        .filter(|e| e.event == "challenge_issued")
        .filter_map(|e| e.url.as_deref().map(without_query))
        .collect();
    let stray: Vec<String> = credentials_received(w)
        .into_iter()
        .filter_map(|e| e.url)
        .filter(|u| !challenged.contains(&without_query(u)))
        .collect();
    check(stray.is_empty(), || {
        format!("credentials went where no 402 came from: {stray:?}")
    })
}

#[then(expr = "the merchant {string} received every credential in {string}")]
async fn credential_field(w: &mut LinkWorld, merchant: String, field: String) -> StepResult {
    let fields: Vec<Option<String>> = credentials_received(w)
        .into_iter()
        .filter(|e| e.merchant == merchant)
        .map(|e| e.header)
        .collect();
    let all_there = fields
        .iter()
        .all(|f| f.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(&field)));
    check(!fields.is_empty() && all_there, || {
        format!("{merchant} received credentials in {fields:?}, expected {field}")
    })
}
