//! The card network's view for the card shop: asks mock-link's control API
//! whether a card number was issued by Link, with this CVC and expiry, is
//! still within its `valid_until` on mock-link's clock, and whether its spend
//! request allows this charge (its amount at most, in its currency, while it is
//! approved), as the real service refuses a one-time card used beyond its terms.

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
    let mut request = shared.http.get(&url);
    if let Some(token) = &shared.config.link_control_token {
        request = request.bearer_auth(token);
    }
    let response = request
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

/// A charge the shop asks the issuer to allow: amount in the smallest unit, lower-case currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge<'a> {
    pub amount: u64,
    pub currency: &'a str,
}

/// `49.99 USD`.
pub fn display_amount(amount: u64, currency: &str) -> String {
    format!(
        "{}.{:02} {}",
        amount / 100,
        amount % 100,
        currency.to_ascii_uppercase()
    )
}

/// Why the spend request behind a card does not allow `charge`, if it does not.
fn refusal_by_terms(request: &Value, charge: Charge<'_>) -> Option<String> {
    let status = request["status"].as_str().unwrap_or_default();
    if !matches!(status, "approved" | "submitted") {
        return Some(format!(
            "card_declined: the spend request behind this card is {}, not approved",
            status.replace('_', " ")
        ));
    }
    let currency = request["currency"].as_str().unwrap_or_default();
    if !currency.eq_ignore_ascii_case(charge.currency) {
        return Some(format!(
            "card_declined: this card was approved for payments in {}, not {}",
            currency.to_ascii_uppercase(),
            charge.currency.to_ascii_uppercase()
        ));
    }
    let approved = request["amount"].as_u64().unwrap_or(0);
    (charge.amount > approved).then(|| {
        format!(
            "card_declined: {} is above the {} this card was approved for",
            display_amount(charge.amount, charge.currency),
            display_amount(approved, currency)
        )
    })
}

/// Checks `number` (digits only) with `cvc`, `exp_month`, `exp_year` at mock-link, and that
/// its spend request allows `charge`.
pub async fn check_card(
    shared: &Shared,
    number: &str,
    cvc: &str,
    exp_month: u64,
    exp_year: u64,
    charge: Charge<'_>,
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
            Some(valid_until) if now < valid_until => match refusal_by_terms(&request, charge) {
                Some(reason) => IssuerAnswer::Declined(reason),
                None => IssuerAnswer::Valid,
            },
            _ => {
                IssuerAnswer::Declined("card_expired: the card is past its valid_until".to_owned())
            }
        };
    }
    IssuerAnswer::Declined(format!(
        "card_declined: the card ending {last4} was not issued by Link"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CHARGE: Charge<'static> = Charge {
        amount: 4999,
        currency: "usd",
    };

    #[test]
    fn a_charge_within_the_approved_amount_and_currency_passes() {
        let request = json!({"status": "approved", "amount": 4999, "currency": "usd"});
        assert_eq!(refusal_by_terms(&request, CHARGE), None);
        let more = json!({"status": "submitted", "amount": 6000, "currency": "USD"});
        assert_eq!(refusal_by_terms(&more, CHARGE), None);
    }

    #[test]
    fn above_the_amount_another_currency_or_not_approved_is_declined() {
        let less = json!({"status": "approved", "amount": 2350, "currency": "usd"});
        let reason = refusal_by_terms(&less, CHARGE).unwrap();
        assert!(
            reason.contains("49.99 USD is above the 23.50 USD"),
            "{reason}"
        );
        let euros = json!({"status": "approved", "amount": 9999, "currency": "eur"});
        assert!(
            refusal_by_terms(&euros, CHARGE)
                .unwrap()
                .contains("in EUR, not USD")
        );
        let canceled = json!({"status": "canceled", "amount": 9999, "currency": "usd"});
        assert!(
            refusal_by_terms(&canceled, CHARGE)
                .unwrap()
                .contains("canceled")
        );
    }
}
