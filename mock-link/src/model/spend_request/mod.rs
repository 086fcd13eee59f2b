//! Spend requests as mock-link keeps them: the record, its wire object, and the one door for
//! every change after creation ([`lifecycle`]). The rules of which status may follow which
//! live in [`state_machine`]; field validation in [`validation`]; issued cards and SPTs in
//! [`credentials`]; how a payment with the credential ended in [`payment`].

pub mod credentials;
pub mod index;
pub mod lifecycle;
pub mod payment;
pub mod state_machine;
pub mod validation;

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::clock::{rfc3339, unix_seconds};
use crate::model::scripts::SpendRequestScript;
use credentials::{CardCredential, SharedPaymentToken};
use payment::PaymentStatus;
use state_machine::{Event, Resolution, State as Status, transition};
use validation::{CredentialType, SpendRequestInput};

/// The extra step asked of the user while a request is `requires_action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextAction {
    pub kind: String,
    pub display_message: String,
    pub expires_at: SystemTime,
}

impl NextAction {
    /// The step the issuer asks for, by how it resolves.
    pub fn for_resolution(resolution: Resolution, expires_at: SystemTime) -> Self {
        let (kind, display_message) = match resolution {
            Resolution::AutoResume => (
                "three_d_secure",
                "Complete 3-D Secure authentication to continue.",
            ),
            Resolution::CreateNewSpendRequest => (
                "update_payment_method",
                "This request cannot continue; create a new spend request.",
            ),
            Resolution::CreateNewSpendRequestAfterCompletion => (
                "identity_verification",
                "Complete the requested step, then create a new spend request.",
            ),
        };
        Self {
            kind: kind.into(),
            display_message: display_message.into(),
            expires_at,
        }
    }
}

/// One spend request and everything that happened to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpendRequest {
    pub id: String,
    pub user_id: String,
    /// The body fields as last accepted (create, then merged updates).
    pub fields: Map<String, Value>,
    pub input: SpendRequestInput,
    pub state: Status,
    pub next_action: Option<NextAction>,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub expires_at: SystemTime,
    pub card: Option<CardCredential>,
    pub shared_payment_token: Option<String>,
    pub payment_intent: Option<String>,
    /// The outcome of the last redemption attempt (`payment_status_details`).
    pub payment_status: Option<PaymentStatus>,
    /// An outcome decided ahead of time, applied on a later retrieve.
    pub script: Option<SpendRequestScript>,
    /// How many times the owner retrieved it (drives scripts).
    pub polls: u32,
    /// The create call's `idempotency_key` with the body it came with: a replay of that body
    /// answers this request again, another body under the same key is refused.
    pub idempotency: Option<IdempotentCreate>,
    /// This request's own SPT delay (control API), instead of the global one.
    pub spt_delay: Option<Duration>,
    /// When its SPT shows on retrieve (PAY-10: a token minted a little after approval).
    pub spt_available_at: Option<SystemTime>,
    /// The Link Pay Token issued on approval of a `link_pay_token` request (or a 0.13.1
    /// card request with `execution_method: link_pay_token`).
    pub link_pay_token: Option<String>,
}

impl SpendRequestInput {
    /// Whether approval issues a Link Pay Token (1.x or 0.13.1 form).
    pub fn wants_link_pay_token(&self) -> bool {
        self.credential_type == CredentialType::LinkPayToken
            || self.execution_method.as_deref() == Some("link_pay_token")
    }
}

/// What a create with an `idempotency_key` is remembered by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotentCreate {
    pub key: String,
    /// The whole create body (JSON maps compare regardless of key order).
    pub body: Map<String, Value>,
    /// Whether it came through `create_delegated`.
    pub delegated: bool,
}

impl SpendRequest {
    /// Where the user approves it.
    pub fn approval_url(&self, base_url: &str) -> String {
        format!("{base_url}/approve/{}", self.id)
    }

    /// The Link transaction of a succeeded request, derived from its id (`ltxn_...`).
    pub fn link_transaction_id(&self) -> String {
        format!("ltxn_{}", self.id.strip_prefix("lsrq_").unwrap_or(&self.id))
    }

    /// Whether a merchant may redeem its credential now.
    pub fn is_redeemable(&self) -> bool {
        transition(self.state, Event::Redeem).is_ok()
    }

    /// The wire object. `base_url` builds its links; `minted_spt` is its shared payment token
    /// once minted (see `Store::spend_request_json`). Credentials are shown only when
    /// `include` asks for them and only once approved.
    pub fn to_json(
        &self,
        base_url: &str,
        minted_spt: Option<&SharedPaymentToken>,
        include: Include,
    ) -> Value {
        let Include {
            card: include_card,
            shared_payment_token: include_spt,
            link_pay_token: include_lpt,
        } = include;
        let input = &self.input;
        let status_details = match (self.state, &self.next_action) {
            (Status::RequiresAction(resolution), Some(action)) => json!({
                "requires_action": {
                    "next_action": {
                        "type": action.kind,
                        "resolution": resolution,
                        "display_message": action.display_message,
                        "action_url": format!("{}/three_d_secure/{}", base_url, self.id),
                        "expires_at": unix_seconds(action.expires_at),
                    }
                }
            }),
            _ => Value::Null,
        };
        let payment_status_details =
            serde_json::to_value(&self.payment_status).unwrap_or(Value::Null);
        let mut object = json!({
            "id": self.id,
            "object": "spend_request",
            "status": self.state.status(),
            "merchant_name": input.merchant_name,
            "merchant_url": input.merchant_url,
            "context": input.context,
            "amount": input.amount,
            "currency": input.currency,
            "line_items": input.line_items,
            "totals": input.totals,
            "payment_details": input.payment_details,
            "credential_type": input.credential_type,
            "network_id": input.network_id,
            "card_brand": input.card_brand,
            "card_last4": input.card_last4,
            "approval_url": self.approval_url(base_url),
            "status_details": status_details,
            "payment_status_details": payment_status_details,
            "metadata": input.metadata,
            "recurring": input.recurring,
            "test": input.test,
            "approval_details": input.approval_details,
            "execution_method": input.execution_method,
            "merchant_account_id": input.merchant_account_id,
            "expires_at": unix_seconds(self.expires_at),
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        });
        // A settled payment's record in the user's Link activity (link-cli#214).
        let (link_transaction_id, activity_url) = if self.state == Status::Succeeded {
            let transaction = self.link_transaction_id();
            let url = format!("{}/activity/{transaction}", base_url);
            (Value::String(transaction), Value::String(url))
        } else {
            (Value::Null, Value::Null)
        };
        object["link_transaction_id"] = link_transaction_id;
        object["activity_url"] = activity_url;
        let shows_credential = self.state.shows_credential();
        if include_lpt
            && shows_credential
            && let Some(token) = &self.link_pay_token
        {
            object["link_pay_token"] = Value::String(token.clone());
        }
        if include_card
            && shows_credential
            && let Some(card) = &self.card
        {
            object["card"] = serde_json::to_value(card).unwrap_or(Value::Null);
        }
        if include_spt
            && shows_credential
            && let Some(spt) = minted_spt
        {
            object["shared_payment_token"] = json!({
                "id": spt.id,
                "valid_until": unix_seconds(spt.valid_until),
            });
        }
        object
    }
}

/// The spend request's wire object as [`SpendRequest::to_json`] builds it: the OpenAPI schema,
/// kept here so it cannot drift (a test deserializes real objects into it, unknown members
/// refused).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SpendRequestObject {
    /// `lsrq_...`
    pub id: String,
    /// Always `spend_request`.
    pub object: String,
    /// `created`, `pending_approval`, `requires_action`, `approved`, `submitted`, `denied`,
    /// `expired`, `canceled`, `succeeded` or `failed`.
    pub status: String,
    pub merchant_name: Option<String>,
    pub merchant_url: Option<String>,
    pub context: String,
    /// In the currency's smallest unit.
    pub amount: i64,
    pub currency: String,
    pub line_items: Vec<Value>,
    pub totals: Vec<Value>,
    /// The payment method's id (`csmrpd_...`).
    pub payment_details: String,
    /// `card`, `shared_payment_token` or `link_pay_token`.
    pub credential_type: String,
    pub network_id: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub approval_url: String,
    /// `{requires_action: {next_action}}` while `requires_action`, else `null`.
    pub status_details: Option<Value>,
    /// The last payment attempt with the credential, or `null`.
    pub payment_status_details: Option<Value>,
    pub metadata: Map<String, Value>,
    /// `{interval, interval_count}`, or `null`.
    pub recurring: Option<Value>,
    pub test: bool,
    pub approval_details: Option<Value>,
    pub execution_method: Option<String>,
    pub merchant_account_id: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// `ltxn_...` once succeeded.
    pub link_transaction_id: Option<String>,
    pub activity_url: Option<String>,
    /// With `include=link_pay_token`, once approved.
    #[serde(default)]
    pub link_pay_token: Option<String>,
    /// The issued card, with `include=card`, once approved.
    #[serde(default)]
    pub card: Option<Value>,
    /// `{id, valid_until}`, with `include=shared_payment_token`, once approved.
    #[serde(default)]
    pub shared_payment_token: Option<Value>,
}

/// Which credentials a retrieve asks for (`include=card,shared_payment_token,link_pay_token`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Include {
    pub card: bool,
    pub shared_payment_token: bool,
    pub link_pay_token: bool,
}
