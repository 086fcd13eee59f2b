//! The card network's view for the card shop: asks mock-link's control API
//! whether a card number was issued by Link, with this CVC and expiry, and is
//! still within its `valid_until` on mock-link's clock.

use serde_json::Value;

use crate::state::Shared;

/// What the issuer says about a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerAnswer {
    /// Issued by Link, details match, still valid.
    Valid,
    /// Refused, with a `card_declined: ...` / `card_expired: ...` reason.
    Declined(String),
    /// The issuer could not be asked.
    Unavailable(String),
}

async fn get_json(shared: &Shared, path: &str) -> Result<Value, String> {
    let url = format!(
        "{}/__control{path}",
        shared.config.link_url.trim_end_matches('/')
    );
    let response = shared
        .http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("card issuer unreachable: {e}"))?;
    if !response.status().is_success() {
        return Err(format!(
            "card issuer answered {} for {path}",
            response.status()
        ));
    }
    response
        .json()
        .await
        .map_err(|e| format!("card issuer answered without JSON: {e}"))
}

fn as_u64(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Checks `number` (digits only) with `cvc`, `exp_month`, `exp_year` at mock-link.
pub async fn check_card(
    shared: &Shared,
    number: &str,
    cvc: &str,
    exp_month: u64,
    exp_year: u64,
) -> IssuerAnswer {
    let last4 = &number[number.len().saturating_sub(4)..];
    let ledger = match get_json(shared, "/ledger").await {
        Ok(ledger) => ledger,
        Err(reason) => return IssuerAnswer::Unavailable(reason),
    };
    let candidates: Vec<String> = ledger["data"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|e| e["event"] == "issued")
        .filter(|e| {
            e["credential"]
                .as_str()
                .is_some_and(|c| c.starts_with("card") && c.ends_with(last4))
        })
        .filter_map(|e| e["spend_request_id"].as_str().map(str::to_owned))
        .collect();
    for id in candidates {
        let request = match get_json(shared, &format!("/spend_requests/{id}")).await {
            Ok(request) => request,
            Err(reason) => return IssuerAnswer::Unavailable(reason),
        };
        let card = &request["card"];
        if card["number"].as_str() != Some(number) {
            continue;
        }
        if card["cvc"].as_str() != Some(cvc)
            || as_u64(&card["exp_month"]) != Some(exp_month)
            || as_u64(&card["exp_year"]) != Some(exp_year)
        {
            return IssuerAnswer::Declined(
                "card_declined: the CVC or expiry does not match the card".to_owned(),
            );
        }
        let now = match get_json(shared, "/clock").await {
            Ok(clock) => clock["now"].as_i64().unwrap_or(i64::MAX),
            Err(reason) => return IssuerAnswer::Unavailable(reason),
        };
        return match card["valid_until"].as_i64() {
            Some(valid_until) if now < valid_until => IssuerAnswer::Valid,
            _ => {
                IssuerAnswer::Declined("card_expired: the card is past its valid_until".to_owned())
            }
        };
    }
    IssuerAnswer::Declined(format!(
        "card_declined: the card ending {last4} was not issued by Link"
    ))
}
