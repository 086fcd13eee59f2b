//! How a payment made with a spend request's credential ended: `payment_status_details` on the
//! wire, written by redemption (`POST /v1/payment_intents`) and by the control API.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::unix_seconds;

/// Whether the payment went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    Success,
    Failure,
}

/// The outcome of the last payment attempt with the credential (`payment_status_details`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentStatus {
    pub outcome: PaymentOutcome,
    /// Why it failed (`card_declined`, `authentication_required`, ...).
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub amount: i64,
    pub currency: String,
    /// Unix seconds on the virtual clock.
    pub created: i64,
    pub refund_details: Value,
}

impl PaymentStatus {
    /// A payment of `amount` `currency` at `now` that ended in `outcome`, without refunds.
    pub fn new(
        outcome: PaymentOutcome,
        code: Option<String>,
        decline_code: Option<String>,
        amount: i64,
        currency: String,
        now: SystemTime,
    ) -> Self {
        Self {
            outcome,
            code,
            decline_code,
            amount,
            currency,
            created: unix_seconds(now),
            refund_details: Value::Null,
        }
    }
}
