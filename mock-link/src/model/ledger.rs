//! The issuer's ledger: every credential issued, redeemed, refused or revoked.

use std::borrow::Cow;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::clock::unix_seconds;
use crate::model::granted_token::Terms;
use crate::model::spend_request::SpendRequest;

/// One line of the issuer's record: a credential issued, redeemed, or a redemption refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub at: i64,
    /// `issued`, `redeemed`, `redemption_refused` or `revoked` (test helper).
    /// (`Cow`: built from constants, read back from a `--state` database.)
    #[schema(value_type = String)]
    pub event: Cow<'static, str>,
    #[schema(value_type = String)]
    pub credential_type: Cow<'static, str>,
    /// The SPT id, or `card ending 1234` (never a full card number).
    pub credential: String,
    /// `spend_request` (Link minted it on approval) or `test_helper` (a seller made it).
    #[schema(value_type = String)]
    pub source: Cow<'static, str>,
    /// The spend request it was issued for; `null` for a test-helper token.
    pub spend_request_id: Option<String>,
    pub network_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    /// The network id of the merchant that tried to redeem.
    pub merchant_network_id: Option<String>,
    pub payment_intent: Option<String>,
    pub reason: Option<String>,
}

impl LedgerEntry {
    /// A credential issued on approval.
    pub(crate) fn issued(request: &SpendRequest, credential: String, now: SystemTime) -> Self {
        Self {
            at: unix_seconds(now),
            event: "issued".into(),
            credential_type: request.input.credential_type.as_str().into(),
            credential,
            source: "spend_request".into(),
            spend_request_id: Some(request.id.clone()),
            network_id: request.input.network_id.clone(),
            amount: request.input.amount,
            currency: request.input.currency.clone(),
            merchant_network_id: None,
            payment_intent: None,
            reason: None,
        }
    }

    /// An event of an SPT, however it was minted.
    pub(crate) fn for_token(
        event: &'static str,
        terms: &Terms,
        merchant_network_id: Option<&str>,
        payment_intent: Option<String>,
        reason: Option<String>,
        now: SystemTime,
    ) -> Self {
        Self {
            at: unix_seconds(now),
            event: event.into(),
            credential_type: "shared_payment_token".into(),
            credential: terms.id.clone(),
            source: terms.source().into(),
            spend_request_id: terms.spend_request_id.clone(),
            network_id: Some(terms.network_id.clone()),
            amount: terms.max_amount,
            currency: terms.currency.clone(),
            merchant_network_id: merchant_network_id.map(str::to_owned),
            payment_intent,
            reason,
        }
    }

    /// A redemption attempt: `payment_intent` when it succeeded, `reason` when refused.
    pub(crate) fn redemption(
        terms: &Terms,
        merchant_network_id: &str,
        payment_intent: Option<String>,
        reason: Option<String>,
        now: SystemTime,
    ) -> Self {
        let event = if payment_intent.is_some() {
            "redeemed"
        } else {
            "redemption_refused"
        };
        Self::for_token(
            event,
            terms,
            Some(merchant_network_id),
            payment_intent,
            reason,
            now,
        )
    }
}
