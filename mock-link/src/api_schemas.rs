//! Schema types the handlers' `#[utoipa::path]` annotations share: envelopes, pages, the
//! approval policy and the spend-request create body. They live apart from the document
//! ([`crate::openapi`]), which names the handlers, so handlers and document import one way.

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

/// Any JSON object (a record whose members are documented in `docs/mock-link.md`).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(value_type = Object)]
pub(crate) struct JsonObject(#[allow(dead_code)] Map<String, Value>);

/// `{}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmptyObject {}

/// `{data: [...]}`: every record of a kind, for a test.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct DataList {
    data: Vec<JsonObject>,
}

/// A cursor-paginated list (`object: "list"`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ListPage {
    /// Always `list`.
    object: String,
    data: Vec<JsonObject>,
    has_more: bool,
}

/// A page of the request log.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct RequestLogPage {
    /// Always `list`.
    object: String,
    data: Vec<crate::LoggedRequest>,
    has_more: bool,
}

/// The credential ledger.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct LedgerList {
    data: Vec<crate::LedgerEntry>,
}

/// The cursor of a paginated list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // The OpenAPI parameters of a query read pair by pair.
pub(crate) struct PageQuery {
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// An item id: the page after it.
    starting_after: Option<String>,
    /// An item id: the page before it (not with `starting_after`).
    ending_before: Option<String>,
}

/// An approval policy: `{rules: [{action, limits: {per_purchase: {amount, currency}},
/// allowed_payment_methods?}]}` (`accounts::validate_approval_policy` checks it and stores
/// only these members: others sent are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct ApprovalPolicy {
    rules: Vec<ApprovalRule>,
}

/// One rule of an [`ApprovalPolicy`].
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct ApprovalRule {
    action: String,
    limits: ApprovalLimits,
    #[serde(default)]
    allowed_payment_methods: Option<Vec<String>>,
}

/// The limits of an [`ApprovalRule`].
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct ApprovalLimits {
    per_purchase: PerPurchaseLimit,
}

/// The most one purchase may cost.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct PerPurchaseLimit {
    amount: i64,
    /// Three letters.
    currency: String,
}

/// The body of a spend-request create or update (`model::spend_request::validation` reads it
/// member by member; on update every member is optional and merged into the request).
#[derive(ToSchema)]
#[schema(example = json!({
    // Keys in order: the document is the same whether serde_json keeps insertion order or not.
    "amount": 2500,
    "approval_details": {"app_name": "schema example", "approval_method": "programmatic"},
    "context": "Buying one premium market report from the mock merchant for the user, who asked for today's edition of it.",
    "credential_type": "shared_payment_token",
    "currency": "usd",
    "network_id": "profile_mock_merchant",
    "payment_details": "csmrpd_default_visa",
    "request_approval": true
}))]
#[allow(dead_code)]
pub(crate) struct SpendRequestCreate {
    /// A payment method of the account (`csmrpd_...`); default: the default one.
    payment_details: Option<String>,
    /// `card` (default), `shared_payment_token` or `link_pay_token`.
    credential_type: Option<String>,
    /// The merchant's network (business profile) id; `shared_payment_token` only.
    network_id: Option<String>,
    /// In the currency's smallest unit.
    #[schema(minimum = 1, maximum = 500_000)] // `limits::MAX_AMOUNT` (checked by a test)
    amount: i64,
    /// Three letters (default `usd`).
    currency: Option<String>,
    /// Required for `card`.
    merchant_name: Option<String>,
    /// Required for `card`.
    merchant_url: Option<String>,
    /// Why the agent spends, for the user.
    #[schema(min_length = 100)]
    context: String,
    line_items: Option<Vec<Value>>,
    totals: Option<Vec<Value>>,
    /// Ask the user to approve at once.
    request_approval: Option<bool>,
    test: Option<bool>,
    /// Required by `create_delegated`.
    approval_details: Option<Value>,
    metadata: Option<Map<String, Value>>,
    /// Unix seconds; only for OAuth clients allowed to send it.
    expires_at: Option<i64>,
    /// `{interval, interval_count}`.
    recurring: Option<Value>,
    execution_method: Option<String>,
    /// Required for `link_pay_token`.
    merchant_account_id: Option<String>,
    /// At most 255 bytes: a retry with the same body answers the same request (create only).
    #[schema(min_length = 1)]
    idempotency_key: Option<String>,
}

/// Checks that `value` (a real answer) deserializes into the schema type `T`: the schemas of
/// hand-built JSON cannot drift from what is sent.
#[cfg(test)]
pub(crate) fn conforms<T: serde::de::DeserializeOwned>(value: Value) -> T {
    let text = value.to_string();
    serde_json::from_value(value).unwrap_or_else(|error| {
        panic!(
            "{} does not match its schema: {error}\n{text}",
            std::any::type_name::<T>()
        )
    })
}
