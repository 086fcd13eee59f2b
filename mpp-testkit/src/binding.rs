//! Challenge-binding vectors (`mpp-testkit/corpus/binding.jsonl`): the HMAC
//! input and id of a challenge in both layouts of the credential `header`
//! slot, so a merchant library in any language can check its binding.
//!
//! draft-httpauth-payment-02 appends `header` as an eighth slot after
//! `opaque`, only when present (`realm|method|intent|request|expires|digest|opaque|header`);
//! the `mpp` crate 0.18 puts it just before `opaque`
//! (`...|digest|header|opaque`). Without a header (or with the default
//! `Authorization`) both are the seven legacy slots. mock-merchant binds in
//! draft -02's layout unless told otherwise (`docs/mpp-wire.md`).
//!
//! One JSON object per line: `{"name", "about", "secret", "params": {realm,
//! method, intent, request, expires?, digest?, opaque?, header?},
//! "draft_02": {"hmac_input", "id"}, "mpp_0_18": {"hmac_input", "id"}}`.

use mpp_wire::{BindingParams, HeaderSlot};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The params of one vector, as they appear on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// `realm`.
    pub realm: String,
    /// `method`.
    pub method: String,
    /// `intent`.
    pub intent: String,
    /// `request`, base64url of JCS JSON.
    pub request: String,
    /// `expires`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// `digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `opaque`, base64url of JCS JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opaque: Option<String>,
    /// `header`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
}

impl Params {
    /// The params as mpp-wire binds them.
    pub fn binding(&self) -> BindingParams<'_> {
        BindingParams {
            realm: &self.realm,
            method: &self.method,
            intent: &self.intent,
            request: &self.request,
            expires: self.expires.as_deref(),
            digest: self.digest.as_deref(),
            opaque: self.opaque.as_deref(),
            header: self.header.as_deref(),
        }
    }
}

/// The input and id in one layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    /// The exact string the HMAC is computed over.
    pub hmac_input: String,
    /// base64url (no padding) of HMAC-SHA256(secret, hmac_input).
    pub id: String,
}

/// One vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingVector {
    /// Stable name.
    pub name: String,
    /// What it checks.
    pub about: String,
    /// The HMAC key (UTF-8 bytes).
    pub secret: String,
    /// The challenge params.
    pub params: Params,
    /// draft-httpauth-payment-02's layout.
    pub draft_02: Bound,
    /// The `mpp` crate 0.18's layout.
    pub mpp_0_18: Bound,
}

fn b64(value: &serde_json::Value) -> String {
    mpp_wire::mpp::base64url_encode(value.to_string().as_bytes())
}

fn vector(name: &str, about: &str, secret: &str, params: Params) -> BindingVector {
    let bound = |slot| Bound {
        hmac_input: params.binding().hmac_input(slot),
        id: params.binding().bound_id(secret, slot),
    };
    BindingVector {
        name: name.to_owned(),
        about: about.to_owned(),
        secret: secret.to_owned(),
        draft_02: bound(HeaderSlot::AfterOpaque),
        mpp_0_18: bound(HeaderSlot::BeforeOpaque),
        params,
    }
}

/// Every vector, in a stable order.
pub fn vectors() -> Vec<BindingVector> {
    let golden = "test-vector-secret";
    let amount = b64(&json!({"amount": "1000000"}));
    let pi = b64(&json!({"pi": "pi_3abc123XYZ"}));
    let base = Params {
        realm: "api.example.com".into(),
        method: "tempo".into(),
        intent: "charge".into(),
        request: amount,
        expires: None,
        digest: None,
        opaque: None,
        header: None,
    };
    let stripe = Params {
        realm: "mock-merchant/credential-header".into(),
        method: "stripe".into(),
        intent: "charge".into(),
        request: b64(&json!({
            "amount": "2500", "currency": "usd", "description": "One premium market report",
            "methodDetails": {"networkId": "profile_mock_merchant", "paymentMethodTypes": ["card", "link"]},
        })),
        expires: Some("2026-12-01T12:05:00.000001Z".into()),
        digest: None,
        opaque: Some(b64(&json!({"route": "GET /m/credential-header/report"}))),
        header: Some("Payment-Authorization".into()),
    };
    vec![
        vector(
            "legacy_required_only",
            "the cross-SDK golden vector \"required fields only\" (mppx, pympp, mpp): no header, both layouts agree",
            golden,
            base.clone(),
        ),
        vector(
            "legacy_with_opaque",
            "the cross-SDK opaque golden vector {pi}: no header, both layouts agree",
            golden,
            Params {
                opaque: Some(pi.clone()),
                ..base.clone()
            },
        ),
        vector(
            "header_default_authorization",
            "header=\"Authorization\" is the default: no eighth slot in either layout",
            golden,
            Params {
                opaque: Some(pi.clone()),
                header: Some("Authorization".into()),
                ..base.clone()
            },
        ),
        vector(
            "header_payment_authorization_with_opaque",
            "Payment-Authorization with opaque and expires: draft -02 ...|opaque|Payment-Authorization, mpp 0.18 ...|Payment-Authorization|opaque",
            golden,
            Params {
                expires: Some("2025-01-06T12:00:00Z".into()),
                opaque: Some(pi),
                header: Some("Payment-Authorization".into()),
                ..base.clone()
            },
        ),
        vector(
            "header_payment_authorization_no_opaque",
            "Payment-Authorization without opaque: draft -02 ends ||Payment-Authorization, mpp 0.18 ends |Payment-Authorization|",
            golden,
            Params {
                header: Some("Payment-Authorization".into()),
                ..base
            },
        ),
        vector(
            "mock_merchant_credential_header",
            "a challenge as mock-merchant's credential-header merchant issues it (stripe, expires, route opaque, Payment-Authorization), with its default key",
            "mock-merchant-challenge-binding-key-0123456789",
            stripe,
        ),
    ]
}

/// The vectors as JSON Lines.
pub fn to_jsonl(vectors: &[BindingVector]) -> String {
    vectors
        .iter()
        .map(|v| serde_json::to_string(v).unwrap_or_default() + "\n")
        .collect()
}

/// Reads the vectors back.
pub fn from_jsonl(text: &str) -> Result<Vec<BindingVector>, serde_json::Error> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}
