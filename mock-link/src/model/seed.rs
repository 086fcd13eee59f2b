//! Seed data: extra users, payment methods, addresses and merchants, from a JSON file
//! (`mock-link --seed FILE`), the builder, or `POST /__control/seed`.
//!
//! ```json
//! {
//!   "users": [{
//!     "id": "usr_alice", "email": "alice@example.com", "name": "Alice Example",
//!     "payment_methods": [{"id": "csmrpd_alice_visa", "brand": "visa", "last4": "4242"}],
//!     "shipping_addresses": [{"name": "Alice Example", "line_1": "1 Main St",
//!                             "locality": "Springfield", "postal_code": "12345", "country_code": "US"}]
//!   }],
//!   "merchants": [{"secret_key": "sk_test_shop", "network_id": "profile_shop"}]
//! }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::ids::random_id;
use crate::model::accounts::{Address, Merchant, PaymentMethod, ShippingAddress, User};

/// A payment method to seed (a card; only its brand and last four digits are known).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPaymentMethod {
    pub id: Option<String>,
    pub brand: Option<String>,
    pub last4: Option<String>,
    #[serde(default)]
    pub is_default: bool,
    pub nickname: Option<String>,
}

impl NewPaymentMethod {
    /// The payment method, or a 400 naming the bad field.
    pub fn build(&self) -> Result<PaymentMethod> {
        let last4 = self.last4.clone().unwrap_or_else(|| "4242".into());
        if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid_param("last4", "must be four digits"));
        }
        let brand = self.brand.as_deref().unwrap_or("visa");
        if !matches!(brand, "visa" | "mastercard" | "amex" | "discover") {
            return Err(Error::invalid_param(
                "brand",
                "must be visa, mastercard, amex or discover",
            ));
        }
        let mut method = PaymentMethod::card(
            self.id.clone().unwrap_or_else(|| random_id("csmrpd_")),
            brand,
            &last4,
            self.is_default,
        );
        method.nickname = self.nickname.clone();
        Ok(method)
    }
}

/// A user to seed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub payment_methods: Vec<NewPaymentMethod>,
    #[serde(default)]
    pub shipping_addresses: Vec<Address>,
    /// Scopes the account cannot grant, with reasons: `{"payment_methods.agentic": ["unsupported_country"]}`.
    #[serde(default)]
    pub ineligible_scopes: BTreeMap<String, Vec<String>>,
    /// Spend requests are refused until the account verifies (403 with `verification_url`).
    #[serde(default)]
    pub requires_verification: bool,
}

impl SeedUser {
    /// The user, or a 400 naming the bad field.
    pub fn build(&self) -> Result<User> {
        let mut user = User::new_empty(
            self.email
                .clone()
                .unwrap_or_else(|| format!("{}@example.com", random_id("user_"))),
            self.name.clone().unwrap_or_else(|| "Test User".into()),
        );
        if let Some(id) = &self.id {
            if id.is_empty() {
                return Err(Error::invalid_param("id", "must not be empty"));
            }
            user.id = id.clone();
        }
        if let Some(phone) = &self.phone {
            user.phone = phone.clone();
        }
        for method in &self.payment_methods {
            user.add_payment_method(method.build()?);
        }
        user.ineligible_scopes = self.ineligible_scopes.clone();
        user.requires_verification = self.requires_verification;
        for (index, address) in self.shipping_addresses.iter().enumerate() {
            user.shipping_addresses.push(ShippingAddress {
                id: random_id("csmrsa_"),
                is_default: index == 0,
                nickname: format!("Address {}", index + 1),
                address: address.clone(),
            });
        }
        Ok(user)
    }
}

/// Everything a seed can add.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub merchants: Vec<Merchant>,
}

impl Seed {
    /// Parses a seed file's JSON.
    pub fn from_json(text: &str) -> std::result::Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The seed's users, built; fails on an invalid user or merchant.
    pub fn users(&self) -> Result<Vec<User>> {
        let mut users = Vec::with_capacity(self.users.len());
        for seed in &self.users {
            users.push(seed.build()?);
        }
        for merchant in &self.merchants {
            if !merchant.secret_key.starts_with("sk_test_") {
                return Err(Error::invalid_param(
                    "secret_key",
                    "must start with sk_test_",
                ));
            }
            if merchant.network_id.is_empty() {
                return Err(Error::invalid_param("network_id", "must not be empty"));
            }
        }
        Ok(users)
    }
}
