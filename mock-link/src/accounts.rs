//! Users, their payment methods and shipping addresses, and the merchants that redeem SPTs;
//! plus the API-host handlers that read them (`/payment-details`, `/userinfo`, `/shipping_addresses`).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{authenticate, authenticated_user_id};
use crate::body::parse_json_object;
use crate::clock::calendar_date;
use crate::error::{Error, Result};
use crate::ids::random_id;
use crate::server::AppState;

/// The id of the user every mock-link starts with.
pub const DEFAULT_USER_ID: &str = "usr_default";
/// The default user's default card.
pub const DEFAULT_CARD_ID: &str = "csmrpd_default_visa";
/// The default user's second payment method.
pub const SECOND_CARD_ID: &str = "csmrpd_default_mastercard";
/// The secret key of the seeded merchant.
pub const DEFAULT_MERCHANT_SECRET_KEY: &str = "sk_test_mock_merchant";
/// The network (business profile) id of the seeded merchant.
pub const DEFAULT_MERCHANT_NETWORK_ID: &str = "profile_mock_merchant";

/// A Link account holder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub payment_methods: Vec<PaymentMethod>,
    pub shipping_addresses: Vec<ShippingAddress>,
    /// Bank accounts (sources besides the cards).
    #[serde(default)]
    pub bank_accounts: Vec<BankAccount>,
    /// Scopes this account may not grant, with the reasons (e.g. `unsupported_country`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ineligible_scopes: BTreeMap<String, Vec<String>>,
    /// When set, creating a spend request answers 403 with a `verification_url`.
    #[serde(default)]
    pub requires_verification: bool,
    /// Account history served by `GET /transactions`, newest first.
    #[serde(skip)]
    pub transactions: Vec<Transaction>,
}

/// A linked bank account: a source with a balance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BankAccount {
    pub id: String,
    pub institution_name: String,
    pub last4: String,
    pub available: i64,
    pub currency: String,
}

/// One transaction in the account history.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub id: String,
    /// Negative for money out.
    pub amount: i64,
    pub currency: String,
    pub description: String,
    pub category: String,
    /// `link` (paid through Link) or `external_connection`.
    pub origin: String,
    pub source_id: String,
    /// Unix seconds (midnight UTC of the transaction's date).
    pub created: i64,
}

impl Transaction {
    /// The wire object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "transaction",
            "source_id": self.source_id,
            "amount": self.amount,
            "currency": self.currency,
            "created_date": calendar_date(self.created),
            "description": self.description,
            "origin": self.origin,
            "category": self.category,
            "status": "posted",
        })
    }
}

/// Card details shown in `GET /payment-details` (never the full number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardDetails {
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
}

/// A payment method in the user's wallet (`csmrpd_...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// What the wallet shows, e.g. `Visa •••• 4242`.
    pub name: String,
    pub is_default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_details: Option<CardDetails>,
}

/// A postal address in Link's shipping-address shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Address {
    pub name: String,
    pub line_1: String,
    pub line_2: String,
    pub locality: String,
    pub dependent_locality: String,
    pub administrative_area: String,
    pub postal_code: String,
    pub sorting_code: String,
    pub country_code: String,
}

/// A saved shipping address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShippingAddress {
    pub id: String,
    pub is_default: bool,
    pub nickname: String,
    pub address: Address,
}

/// A merchant known to the Stripe subset: its secret key and its network id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Merchant {
    pub secret_key: String,
    pub network_id: String,
}

impl Merchant {
    /// `sk_test_mock_merchant` on network `profile_mock_merchant`.
    pub fn default_merchant() -> Self {
        Self {
            secret_key: DEFAULT_MERCHANT_SECRET_KEY.into(),
            network_id: DEFAULT_MERCHANT_NETWORK_ID.into(),
        }
    }
}

impl PaymentMethod {
    /// A card payment method.
    pub fn card(id: String, brand: &str, last4: &str, is_default: bool) -> Self {
        let display_brand = match brand {
            "visa" => "Visa",
            "mastercard" => "Mastercard",
            "amex" => "American Express",
            "discover" => "Discover",
            other => other,
        };
        Self {
            id,
            kind: "card".into(),
            name: format!("{display_brand} •••• {last4}"),
            is_default,
            nickname: None,
            card_details: Some(CardDetails {
                brand: brand.into(),
                last4: last4.into(),
                exp_month: 12,
                exp_year: 2034,
            }),
        }
    }
}

/// 30 transactions over 30 days (from 2026-01-30 back), newest first, ids `txn_default_01`...
fn default_transactions() -> Vec<Transaction> {
    const KINDS: [(&str, &str, &str, &str); 5] = [
        (
            "Corner Grocery",
            "groceries",
            "external_connection",
            "src_default_visa",
        ),
        (
            "Noodle Bar",
            "dining",
            "external_connection",
            "src_default_mastercard",
        ),
        ("Rail Pass", "travel", "link", "src_default_visa"),
        (
            "Paycheck",
            "income",
            "external_connection",
            "src_default_checking",
        ),
        ("Book Shop", "shopping", "link", "src_default_mastercard"),
    ];
    const LAST_DAY: i64 = 1_769_731_200; // 2026-01-30T00:00:00Z
    (1..=30)
        .map(|index: i64| {
            let (description, category, origin, source_id) =
                KINDS[(index as usize - 1) % KINDS.len()];
            let amount = if category == "income" {
                250_000
            } else {
                -(1_000 + index * 137)
            };
            Transaction {
                id: format!("txn_default_{index:02}"),
                amount,
                currency: "usd".into(),
                description: description.into(),
                category: category.into(),
                origin: origin.into(),
                source_id: source_id.into(),
                created: LAST_DAY - (index - 1) * 86_400,
            }
        })
        .collect()
}

impl User {
    /// Jenny Rosen with a default Visa and a Mastercard.
    pub fn default_user() -> Self {
        Self {
            id: DEFAULT_USER_ID.into(),
            email: "jenny.rosen@example.com".into(),
            name: "Jenny Rosen".into(),
            first_name: "Jenny".into(),
            last_name: "Rosen".into(),
            phone: "+15555550100".into(),
            payment_methods: vec![
                PaymentMethod::card(DEFAULT_CARD_ID.into(), "visa", "4242", true),
                PaymentMethod::card(SECOND_CARD_ID.into(), "mastercard", "4444", false),
            ],
            shipping_addresses: vec![ShippingAddress {
                id: "csmrsa_default_home".into(),
                is_default: true,
                nickname: "Home".into(),
                address: Address {
                    name: "Jenny Rosen".into(),
                    line_1: "510 Townsend St".into(),
                    locality: "San Francisco".into(),
                    administrative_area: "CA".into(),
                    postal_code: "94103".into(),
                    country_code: "US".into(),
                    ..Address::default()
                },
            }],
            bank_accounts: vec![BankAccount {
                id: "src_default_checking".into(),
                institution_name: "Test Bank".into(),
                last4: "6789".into(),
                available: 125_000,
                currency: "usd".into(),
            }],
            ineligible_scopes: BTreeMap::new(),
            requires_verification: false,
            transactions: default_transactions(),
        }
    }

    /// Puts back the account history, which a `--state` snapshot leaves out: it is fixed
    /// (the seeded user's 30 transactions; every other account has none).
    pub fn restore_history(&mut self) {
        if self.id == DEFAULT_USER_ID && self.transactions.is_empty() {
            self.transactions = default_transactions();
        }
    }

    /// A new user with a random id and no payment method or address.
    pub fn new_empty(email: String, name: String) -> Self {
        let mut parts = name.splitn(2, ' ');
        let first_name = parts.next().unwrap_or_default().to_owned();
        let last_name = parts.next().unwrap_or_default().to_owned();
        Self {
            id: random_id("usr_"),
            email,
            name,
            first_name,
            last_name,
            phone: "+15555550199".into(),
            payment_methods: Vec::new(),
            shipping_addresses: Vec::new(),
            bank_accounts: Vec::new(),
            ineligible_scopes: BTreeMap::new(),
            requires_verification: false,
            transactions: Vec::new(),
        }
    }

    /// Adds a payment method; the first one (or one asked to be) becomes the only default.
    pub fn add_payment_method(&mut self, mut method: PaymentMethod) {
        if self.payment_methods.is_empty() {
            method.is_default = true;
        }
        if method.is_default {
            for existing in &mut self.payment_methods {
                existing.is_default = false;
            }
        }
        self.payment_methods.push(method);
    }

    /// The user's billing address: the default shipping address, or a placeholder.
    pub fn billing_address(&self) -> Address {
        self.shipping_addresses
            .iter()
            .find(|address| address.is_default)
            .or(self.shipping_addresses.first())
            .map(|address| address.address.clone())
            .unwrap_or_else(|| Address {
                name: self.name.clone(),
                line_1: "1 Test Street".into(),
                locality: "San Francisco".into(),
                administrative_area: "CA".into(),
                postal_code: "94103".into(),
                country_code: "US".into(),
                ..Address::default()
            })
    }

    /// Per-scope eligibility for `scope` (space-separated), or `None` when every scope is allowed.
    pub fn eligibility(&self, scope: &str) -> Option<Value> {
        let scopes: Vec<&str> = scope.split_whitespace().collect();
        if !scopes
            .iter()
            .any(|scope| self.ineligible_scopes.contains_key(*scope))
        {
            return None;
        }
        let verdicts: serde_json::Map<String, Value> = scopes
            .iter()
            .map(|scope| {
                let reasons = self
                    .ineligible_scopes
                    .get(*scope)
                    .cloned()
                    .unwrap_or_default();
                (
                    (*scope).to_owned(),
                    json!({ "eligible": reasons.is_empty(), "ineligibility_reasons": reasons }),
                )
            })
            .collect();
        Some(Value::Object(verdicts))
    }

    /// `GET /userinfo` body.
    pub fn userinfo(&self) -> Value {
        json!({
            "email": self.email,
            "name": self.name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
        })
    }
}

/// `GET /payment-details` → `{payment_details, unavailable_count}`. A 1.x client's response
/// validation needs the integer `unavailable_count` (methods Link cannot offer to agents); every
/// mock-link method is usable, so it is 0. A 0.13.1 client reads only `payment_details`.
pub async fn list_payment_details(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    Ok(Json(json!({
        "payment_details": user.payment_methods,
        "unavailable_count": 0,
    })))
}

/// The longest payment-method nickname, in characters.
pub const MAX_NICKNAME_CHARS: usize = 100;

/// `GET /payment-details/{id}`: one of the caller's payment methods (404 otherwise).
pub async fn retrieve_payment_details(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    let method = user
        .payment_methods
        .iter()
        .find(|method| method.id == id)
        .ok_or_else(|| Error::not_found("payment method", &id))?;
    Ok(Json(serde_json::to_value(method).unwrap_or(Value::Null)))
}

/// `POST /payment-details/{id}` `{nickname}`: renames a payment method; `""` clears the name.
pub async fn update_payment_details(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let fields = parse_json_object(&headers, &body)?;
    let nickname = match fields.get("nickname") {
        Some(Value::String(nickname)) if nickname.chars().count() <= MAX_NICKNAME_CHARS => {
            nickname.trim().to_owned()
        }
        Some(Value::String(_)) => {
            return Err(Error::invalid_param(
                "nickname",
                format!("must be at most {MAX_NICKNAME_CHARS} characters"),
            ));
        }
        None | Some(Value::Null) => return Err(Error::missing_param("nickname")),
        Some(_) => return Err(Error::invalid_param("nickname", "must be a string")),
    };
    let mut store = state.lock();
    let user_id = authenticated_user_id(&store, &headers)?;
    let method = store
        .user_mut(&user_id)
        .and_then(|user| {
            user.payment_methods
                .iter_mut()
                .find(|method| method.id == id)
        })
        .ok_or_else(|| Error::not_found("payment method", &id))?;
    method.nickname = (!nickname.is_empty()).then_some(nickname);
    Ok(Json(serde_json::to_value(&*method).unwrap_or(Value::Null)))
}

/// `GET /approval-policy`: the caller's policy, or 404 `approval_policy_not_found`.
pub async fn approval_policy(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let store = state.lock();
    let user_id = authenticated_user_id(&store, &headers)?;
    store
        .approval_policies
        .get(&user_id)
        .cloned()
        .map(Json)
        .ok_or_else(|| {
            Error::api(
                axum::http::StatusCode::NOT_FOUND,
                "approval_policy_not_found",
                "this account has no approval policy",
            )
        })
}

/// Checks an approval policy `{rules: [{action, limits: {per_purchase: {amount, currency}},
/// allowed_payment_methods?}]}` and returns it as stored (currencies lower-cased).
pub fn validate_approval_policy(policy: &Value) -> Result<Value> {
    let rules = policy
        .get("rules")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::invalid_param("rules", "must be an array"))?;
    let mut checked = Vec::with_capacity(rules.len());
    for (index, rule) in rules.iter().enumerate() {
        let param = |field: &str| format!("rules[{index}].{field}");
        let action = rule
            .get("action")
            .and_then(Value::as_str)
            .filter(|action| !action.trim().is_empty())
            .ok_or_else(|| Error::invalid_param(&param("action"), "must be a non-empty string"))?;
        let limit = rule.pointer("/limits/per_purchase");
        let amount = limit
            .and_then(|limit| limit.get("amount"))
            .and_then(Value::as_i64)
            .filter(|amount| *amount >= 0)
            .ok_or_else(|| {
                Error::invalid_param(
                    &param("limits.per_purchase.amount"),
                    "must be an integer >= 0",
                )
            })?;
        let currency = limit
            .and_then(|limit| limit.get("currency"))
            .and_then(Value::as_str)
            .filter(|currency| {
                currency.len() == 3 && currency.chars().all(|c| c.is_ascii_alphabetic())
            })
            .ok_or_else(|| {
                Error::invalid_param(
                    &param("limits.per_purchase.currency"),
                    "must be a three-letter currency code",
                )
            })?
            .to_ascii_lowercase();
        let mut checked_rule = json!({
            "action": action,
            "limits": {"per_purchase": {"amount": amount, "currency": currency}},
        });
        match rule.get("allowed_payment_methods") {
            None | Some(Value::Null) => {}
            Some(Value::Array(methods)) if methods.iter().all(Value::is_string) => {
                checked_rule["allowed_payment_methods"] = Value::Array(methods.clone());
            }
            Some(_) => {
                return Err(Error::invalid_param(
                    &param("allowed_payment_methods"),
                    "must be an array of payment-method ids",
                ));
            }
        }
        checked.push(checked_rule);
    }
    Ok(json!({ "rules": checked }))
}

/// `GET /userinfo`
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>> {
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    Ok(Json(user.userinfo()))
}

/// `GET /shipping_addresses`
pub async fn list_shipping_addresses(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>> {
    let store = state.lock();
    let user = authenticate(&store, &headers)?;
    Ok(Json(
        json!({ "shipping_addresses": user.shipping_addresses }),
    ))
}
