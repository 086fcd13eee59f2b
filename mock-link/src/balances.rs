//! Sources (cards and bank accounts), their balances, and the transaction history, each a
//! cursor-paginated list: `limit` 1-100 (default 10), `starting_after`, `ending_before`.

use std::ops::Range;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::auth::authenticate;
use crate::body::{Form, parse_query};
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::model::AppState;
use crate::model::accounts::{Transaction, User};

/// The most items one page may hold.
pub const MAX_LIMIT: usize = 100;
const DEFAULT_LIMIT: usize = 10;

/// The source id of a card payment method (`csmrpd_x` → `src_x`).
pub fn card_source_id(payment_method_id: &str) -> String {
    format!(
        "src_{}",
        payment_method_id
            .strip_prefix("csmrpd_")
            .unwrap_or(payment_method_id)
    )
}

/// The actions a source grants to an agent (mock-link grants both everywhere).
const GRANTED_ACTIONS: [&str; 2] = ["read_balances", "read_transactions"];

fn sources(user: &User) -> Vec<Value> {
    let cards = user.payment_methods.iter().filter_map(|method| {
        let card = method.card_details.as_ref()?;
        Some(json!({
            "id": card_source_id(&method.id),
            "object": "source",
            "name": method.name,
            "type": "card",
            "capabilities": {},
            "granted_actions": GRANTED_ACTIONS,
            "external_connection": null,
            "bank_account": null,
            "card": {
                "brand": card.brand,
                "last4": card.last4,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
                "payment_method": method.id,
            },
        }))
    });
    let banks = user.bank_accounts.iter().map(|bank| {
        json!({
            "id": bank.id,
            "object": "source",
            "name": format!("{} •••• {}", bank.institution_name, bank.last4),
            "type": "bank_account",
            "capabilities": {},
            "granted_actions": GRANTED_ACTIONS,
            "external_connection": null,
            "bank_account": {"bank_name": bank.institution_name, "last4": bank.last4},
            "card": null,
        })
    });
    cards.chain(banks).collect()
}

fn balances(user: &User, as_of: &str) -> Vec<Value> {
    let cards = user
        .payment_methods
        .iter()
        .filter(|method| method.card_details.is_some())
        .map(|method| {
            let used = user
                .transactions
                .iter()
                .filter(|txn| txn.source_id == card_source_id(&method.id) && txn.amount < 0)
                .map(|txn| -txn.amount)
                .sum::<i64>();
            json!({
                "object": "balance",
                "source_id": card_source_id(&method.id),
                "type": "credit",
                "cash": null,
                "credit": {"used": {"usd": used}},
                "current": used,
                "currency": "usd",
                "as_of": as_of,
            })
        });
    let banks = user.bank_accounts.iter().map(|bank| {
        json!({
            "object": "balance",
            "source_id": bank.id,
            "type": "cash",
            "cash": {"available": {bank.currency.clone(): bank.available}},
            "credit": null,
            "current": bank.available,
            "currency": bank.currency,
            "as_of": as_of,
        })
    });
    cards.chain(banks).collect()
}

/// Reads `limit`, `starting_after`, `ending_before`.
pub(crate) struct Page {
    limit: usize,
    starting_after: Option<String>,
    ending_before: Option<String>,
}

impl Page {
    pub(crate) fn from_query(query: &Form) -> Result<Self> {
        Self::from_query_or(query, DEFAULT_LIMIT)
    }

    /// As `from_query`, with `default_limit` when the query has no `limit`.
    pub(crate) fn from_query_or(query: &Form, default_limit: usize) -> Result<Self> {
        let limit = match query.get("limit") {
            None => default_limit,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                .ok_or_else(|| {
                    Error::invalid_param(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let starting_after = query.non_empty("starting_after").map(str::to_owned);
        let ending_before = query.non_empty("ending_before").map(str::to_owned);
        if starting_after.is_some() && ending_before.is_some() {
            return Err(Error::invalid_param(
                "ending_before",
                "cannot be combined with starting_after",
            ));
        }
        Ok(Self {
            limit,
            starting_after,
            ending_before,
        })
    }

    /// The most items a page holds.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// The cursor `starting_after`, if sent.
    pub(crate) fn starting_after(&self) -> Option<&str> {
        self.starting_after.as_deref()
    }

    /// The cursor `ending_before`, if sent.
    pub(crate) fn ending_before(&self) -> Option<&str> {
        self.ending_before.as_deref()
    }

    /// One page of `items` (already in list order, each with an `id` or `source_id` key).
    pub(crate) fn apply(&self, items: Vec<Value>) -> Result<Value> {
        let keys: Vec<&str> = items
            .iter()
            .map(|item| {
                item.get("id")
                    .or_else(|| item.get("source_id"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            })
            .collect();
        let (range, has_more) = self.window(&keys)?;
        Ok(json!({ "object": "list", "data": &items[range], "has_more": has_more }))
    }

    /// Which of the items with these keys (in list order) are on the page, and whether
    /// more follow in the paging direction; a caller with many items pages their keys
    /// and builds only the page's objects.
    pub(crate) fn window(&self, keys: &[&str]) -> Result<(Range<usize>, bool)> {
        let position = |cursor: &str, param: &str| {
            keys.iter().position(|key| *key == cursor).ok_or_else(|| {
                Error::invalid_param(param, format!("no item '{cursor}' in this list"))
            })
        };
        Ok(if let Some(cursor) = &self.starting_after {
            let start = position(cursor, "starting_after")? + 1;
            let end = (start + self.limit).min(keys.len());
            (start..end, end < keys.len())
        } else if let Some(cursor) = &self.ending_before {
            let end = position(cursor, "ending_before")?;
            let start = end.saturating_sub(self.limit);
            (start..end, start > 0)
        } else {
            let end = self.limit.min(keys.len());
            (0..end, end < keys.len())
        })
    }
}

/// `GET /sources`
#[utoipa::path(
    get,
    path = "/sources",
    tag = "balances",
    security(("link_access_token" = [])),
    params(crate::api_schemas::PageQuery),
    responses(
        (status = 200, description = "Cards and bank accounts", body = crate::api_schemas::ListPage),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
    )
)]
pub async fn list_sources(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    // Who asks comes first: a request without a valid token is 401 whatever its query.
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    let page = Page::from_query(&parse_query(query.as_deref())?)?;
    page.apply(sources(user)).map(Json)
}

/// `GET /balances`
#[utoipa::path(
    get,
    path = "/balances",
    tag = "balances",
    security(("link_access_token" = [])),
    params(crate::api_schemas::PageQuery),
    responses(
        (status = 200, description = "Each source's balance", body = crate::api_schemas::ListPage),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
    )
)]
pub async fn list_balances(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    // Who asks comes first: a request without a valid token is 401 whatever its query.
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    let page = Page::from_query(&parse_query(query.as_deref())?)?;
    let as_of = rfc3339(store.now());
    page.apply(balances(user, &as_of)).map(Json)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A date as unix seconds: an integer, or `YYYY-MM-DD` (midnight UTC).
fn parse_date(param: &str, text: &str) -> Result<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    let parts: Vec<&str> = text.split('-').collect();
    if let [year, month, day] = parts.as_slice()
        && year.len() == 4
        && let (Ok(year), Ok(month), Ok(day)) = (
            year.parse::<i64>(),
            month.parse::<i64>(),
            day.parse::<i64>(),
        )
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
    {
        return Ok(days_from_civil(year, month, day) * 86_400);
    }
    Err(Error::invalid_param(
        param,
        "must be unix seconds or a YYYY-MM-DD date",
    ))
}

/// The filters of `GET /transactions`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // The OpenAPI parameters of a query read pair by pair.
pub(crate) struct TransactionFilters {
    /// Unix seconds or `YYYY-MM-DD` (also `start_date`).
    date_start: Option<String>,
    /// Unix seconds or `YYYY-MM-DD`, inclusive (also `end_date`).
    date_end: Option<String>,
    category: Option<String>,
    /// `link` or `external_connection`.
    origin: Option<String>,
    /// Comma-separated source ids.
    sources: Option<String>,
}

/// `GET /transactions` with `date_start`, `date_end` (inclusive day; `start_date` and
/// `end_date` are accepted too), `category`, `origin`, `sources[]` filters and cursor pagination.
#[utoipa::path(
    get,
    path = "/transactions",
    tag = "balances",
    security(("link_access_token" = [])),
    params(crate::api_schemas::PageQuery, TransactionFilters),
    responses(
        (status = 200, description = "Transactions, newest first", body = crate::api_schemas::ListPage),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
    )
)]
pub async fn list_transactions(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    let query = parse_query(query.as_deref())?;
    let page = Page::from_query(&query)?;
    let start_param = if query.get("date_start").is_some() {
        "date_start"
    } else {
        "start_date"
    };
    let end_param = if query.get("date_end").is_some() {
        "date_end"
    } else {
        "end_date"
    };
    let start = query
        .non_empty(start_param)
        .map(|text| parse_date(start_param, text))
        .transpose()?;
    let end = query
        .non_empty(end_param)
        .map(|text| {
            // A bare date covers the whole day.
            parse_date(end_param, text).map(|seconds| {
                if text.contains('-') {
                    seconds + 86_399
                } else {
                    seconds
                }
            })
        })
        .transpose()?;
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err(Error::invalid_param(
            end_param,
            "must not be before the start date",
        ));
    }
    let origin = query.non_empty("origin");
    if let Some(origin) = origin
        && !matches!(origin, "link" | "external_connection")
    {
        return Err(Error::invalid_param(
            "origin",
            "must be link or external_connection",
        ));
    }
    let category = query.non_empty("category");
    let wanted_sources: Vec<&str> = query
        .pairs
        .iter()
        .filter(|(key, _)| key == "sources[]" || key == "sources")
        .flat_map(|(_, value)| value.split(','))
        .filter(|value| !value.is_empty())
        .collect();
    let items: Vec<Value> = user
        .transactions
        .iter()
        .filter(|txn| start.is_none_or(|start| txn.created >= start))
        .filter(|txn| end.is_none_or(|end| txn.created <= end))
        .filter(|txn| origin.is_none_or(|origin| txn.origin == origin))
        .filter(|txn| category.is_none_or(|category| txn.category == category))
        .filter(|txn| wanted_sources.is_empty() || wanted_sources.contains(&txn.source_id.as_str()))
        .map(Transaction::to_json)
        .collect();
    page.apply(items).map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_convert_to_unix_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 1, 30) * 86_400, 1_769_731_200);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn dates_parse_as_seconds_or_days_and_refuse_junk() {
        assert_eq!(parse_date("d", "86400").unwrap(), 86_400);
        assert_eq!(parse_date("d", "1970-01-02").unwrap(), 86_400);
        assert!(parse_date("d", "2026-13-01").is_err());
        assert!(parse_date("d", "yesterday").is_err());
    }
}
