//! What mock-link knows of a shared payment token, whichever way it was minted: a seller's
//! test-helper token, and the terms redemption and the seller view read.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A token a seller made with the test helper, "as if an agent had shared one".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestGrantedToken {
    pub id: String,
    /// The network id of the merchant that made it: only that merchant can see or redeem it.
    pub network_id: String,
    /// The test PaymentMethod it shares (`pm_card_visa`, `pm_card_chargeDeclined`, ...).
    pub payment_method: String,
    pub max_amount: i64,
    pub currency: String,
    pub created: SystemTime,
    pub expires_at: SystemTime,
    pub shared_metadata: Map<String, Value>,
    /// The PaymentIntent that redeemed it, once redeemed.
    pub redeemed_by: Option<String>,
}

/// What redemption and the seller view need of a token, whichever way it was minted.
#[derive(Debug, Clone)]
pub struct Terms {
    pub id: String,
    /// The spend request it was issued for; `None` for a test-helper token.
    pub spend_request_id: Option<String>,
    pub network_id: String,
    pub max_amount: i64,
    pub currency: String,
    pub created: SystemTime,
    pub expires_at: SystemTime,
    pub redeemed_by: Option<String>,
    pub revoked_at: Option<SystemTime>,
}

impl Terms {
    /// Where the token came from, as the ledger names it.
    pub fn source(&self) -> &'static str {
        if self.spend_request_id.is_some() {
            "spend_request"
        } else {
            "test_helper"
        }
    }
}

impl TestGrantedToken {
    /// Its terms, revoked at `revoked_at` if it was.
    pub fn terms(&self, revoked_at: Option<SystemTime>) -> Terms {
        Terms {
            id: self.id.clone(),
            spend_request_id: None,
            network_id: self.network_id.clone(),
            max_amount: self.max_amount,
            currency: self.currency.clone(),
            created: self.created,
            expires_at: self.expires_at,
            redeemed_by: self.redeemed_by.clone(),
            revoked_at,
        }
    }
}
