//! `GET /insights/available_types` and `GET /insights?insights[]=...` (link-cli 1.x
//! `insights`): figures computed from the user's transaction history, paginated like the other
//! lists (`limit`, `starting_after`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::auth::authenticate;
use crate::balances::Page;
use crate::body::parse_query;
use crate::clock::unix_seconds;
use crate::error::{Error, Result};
use crate::model::AppState;
use crate::model::accounts::User;

/// Every insight type mock-link computes: (id, description).
pub const INSIGHT_TYPES: &[(&str, &str)] = &[
    (
        "top_brand_by_transaction_count_per_category_t180d",
        "The merchant you paid most often in each spending category",
    ),
    (
        "spend_by_category_t30d",
        "How much you spent in each category",
    ),
    (
        "transaction_count_t30d",
        "How many card and account transactions you made",
    ),
];

/// The figures of insight `id` for `user` (`[{label, value}]`).
fn insight_data(id: &str, user: &User) -> Vec<Value> {
    let spending = || user.transactions.iter().filter(|txn| txn.amount < 0);
    match id {
        "top_brand_by_transaction_count_per_category_t180d" => {
            let mut counts: BTreeMap<&str, BTreeMap<&str, u32>> = BTreeMap::new();
            for txn in spending() {
                *counts
                    .entry(txn.category.as_str())
                    .or_default()
                    .entry(txn.description.as_str())
                    .or_default() += 1;
            }
            counts
                .into_iter()
                .filter_map(|(category, brands)| {
                    let (brand, count) = brands.into_iter().max_by_key(|(_, count)| *count)?;
                    Some(json!({
                        "label": category,
                        "value": {
                            "type": "number_of_items",
                            "number_of_items": {"label": brand, "count": count},
                        },
                    }))
                })
                .collect()
        }
        "spend_by_category_t30d" => {
            let mut totals: BTreeMap<(&str, &str), i64> = BTreeMap::new();
            for txn in spending() {
                *totals
                    .entry((txn.category.as_str(), txn.currency.as_str()))
                    .or_default() += -txn.amount;
            }
            totals
                .into_iter()
                .map(|((category, currency), amount)| {
                    json!({
                        "label": category,
                        "value": {"type": "amount", "amount": {"value": amount, "currency": currency}},
                    })
                })
                .collect()
        }
        _ => vec![json!({
            "label": "Transactions",
            "value": {"type": "count", "count": {"value": user.transactions.len()}},
        })],
    }
}

/// `GET /insights/available_types`
#[utoipa::path(
    get,
    path = "/insights/available_types",
    tag = "insights",
    security(("link_access_token" = [])),
    params(crate::api_schemas::PageQuery),
    responses(
        (status = 200, description = "The insight types", body = crate::api_schemas::ListPage),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
    )
)]
pub async fn available_types(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    // Who asks comes first: a request without a valid token is 401 whatever its query.
    let store = state.lock();
    authenticate(&store, &headers)?;
    let page = Page::from_query(&parse_query(query.as_deref())?)?;
    let types = INSIGHT_TYPES
        .iter()
        .map(|(id, description)| {
            json!({ "id": id, "description": description, "authorization_remediation": null })
        })
        .collect();
    page.apply(types).map(Json)
}

/// `GET /insights?insights[]=X&insights[]=Y` (every type when none is named).
#[utoipa::path(
    get,
    path = "/insights",
    tag = "insights",
    security(("link_access_token" = [])),
    params(crate::api_schemas::PageQuery, ("insights" = Option<String>, Query, description = "An insight type (repeatable, also `insights[]`); all when absent")),
    responses(
        (status = 200, description = "The insights asked for", body = crate::api_schemas::ListPage),
        (status = 400, response = crate::error::ApiErrorBody),
        (status = 401, response = crate::error::ApiErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    let query = parse_query(query.as_deref())?;
    let page = Page::from_query(&query)?;
    let mut wanted = Vec::new();
    for (key, value) in &query.pairs {
        if key != "insights[]" && key != "insights" {
            continue;
        }
        let Some((id, _)) = INSIGHT_TYPES.iter().find(|(id, _)| id == value) else {
            return Err(Error::invalid_param(
                "insights",
                format!("unknown insight type '{value}' (see /insights/available_types)"),
            ));
        };
        if !wanted.contains(id) {
            wanted.push(*id);
        }
    }
    let as_of = unix_seconds(store.now());
    let insights = INSIGHT_TYPES
        .iter()
        .filter(|(id, _)| wanted.is_empty() || wanted.contains(id))
        .map(|(id, description)| {
            json!({
                "id": id,
                "description": description,
                "status": "ready",
                "as_of": as_of,
                "data": insight_data(id, user),
                "error_code": null,
                "error_message": null,
                "authorization_remediation": null,
            })
        })
        .collect();
    page.apply(insights).map(Json)
}
