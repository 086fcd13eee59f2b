//! Users, their payment methods, bank accounts and shipping addresses, and the merchants that
//! redeem SPTs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::calendar_date;
use crate::ids::random_id;

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CardDetails {
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
}

/// A payment method in the user's wallet (`csmrpd_...`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShippingAddress {
    pub id: String,
    pub is_default: bool,
    pub nickname: String,
    pub address: Address,
}

/// A merchant known to the Stripe subset: its secret key and its network id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Merchant {
    pub secret_key: String,
    pub network_id: String,
}

impl Merchant {
    /// `sk_test_mock_merchant` on network `profile_mock_merchant`.
    pub(crate) fn default_merchant() -> Self {
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

    /// `GET /userinfo` body ([`Userinfo`]).
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

/// The object [`User::userinfo`] builds: its OpenAPI schema.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct Userinfo {
    email: String,
    name: String,
    first_name: String,
    last_name: String,
    phone: String,
}
