//! Link's stripe challenge selection and validation: the one function that the
//! reference client's `mpp decode`, mock-merchant's self-checks and the
//! conformance suite's oracle all call.
//!
//! Given the raw `WWW-Authenticate` values of a 402, [`select_stripe_challenge`]
//! finds the first `Payment` challenge with `method="stripe"` and intent
//! `charge` or `session`, validates it (the `mpp` crate checks the challenge
//! fields, Link's rules check the request) and returns its decoded view, or an
//! error that names the field at fault.
//!
//! Where `mpp` and the spec summary differ, the decision is taken here (see
//! `docs/mpp-wire.md`):
//! - `request` may carry `=` padding or the standard alphabet's `+` and `/`
//!   (accepted, as `mpp` and mppx do; the spec says base64url without padding);
//! - `header` may name any field (`mpp` accepts only `Payment-Authorization`):
//!   the challenge decodes, and [`StripeChallenge::credential_field`] applies
//!   draft -02's allow-list before a client pays;
//! - `expires` is optional and an expired challenge still decodes: decoding is
//!   for reading, [`StripeChallenge::ensure_payable`] refuses to pay it;
//! - `method` is compared as written: `Stripe` is not a valid method name
//!   (lowercase only) and is ignored like any other method;
//! - duplicate params are rejected, unknown params ignored.

use mpp::{PaymentChallenge, PaymentCredential};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth_params::{RawChallenge, decode_field_value, split_challenges};
use crate::credential_header::{CredentialHeader, UnsupportedCredentialHeader};

/// Largest total size of the `WWW-Authenticate` values read, in bytes.
/// Parsing is linear; the bound only keeps memory in check.
pub const MAX_HEADER_BYTES: usize = 256 * 1024;

/// Largest `request` param, in bytes (the `mpp` crate's bound, kept here).
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// The intents a Link spend request can pay.
pub const PAYABLE_INTENTS: [&str; 2] = ["charge", "session"];

/// Why no payable stripe challenge could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No `Payment` challenge at all (not an MPP 402).
    #[error("no Payment challenge in WWW-Authenticate")]
    NoPaymentChallenge,
    /// Payment challenges, but none for stripe charge or session: Link cannot pay.
    #[error(
        "no stripe charge or session challenge (offered: {}): Link cannot pay this merchant",
        if offered.is_empty() { "none readable".to_owned() } else { offered.join(", ") }
    )]
    NoStripeChallenge {
        /// `method/intent` of every Payment challenge seen, in order.
        offered: Vec<String>,
    },
    /// The stripe challenge is malformed: `field` names the param or request member.
    #[error("invalid stripe challenge: {field}: {reason}")]
    InvalidField {
        /// `id`, `realm`, `intent`, `request`, `expires`, `digest`, `opaque`, `header`,
        /// or a request member such as `request.amount`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The values are larger than [`MAX_HEADER_BYTES`].
    #[error("WWW-Authenticate is {len} bytes, over the limit of {max}")]
    TooLarge {
        /// Total bytes received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The challenge has expired (only from [`StripeChallenge::ensure_payable`]).
    #[error("the stripe challenge expired at {expires}")]
    Expired {
        /// The challenge's `expires`.
        expires: String,
    },
}

impl DecodeError {
    /// A stable snake_case code, as used in the corpus.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoPaymentChallenge => "no_payment_challenge",
            Self::NoStripeChallenge { .. } => "no_stripe_challenge",
            Self::InvalidField { .. } => "invalid_field",
            Self::TooLarge { .. } => "too_large",
            Self::Expired { .. } => "expired",
        }
    }

    /// The field at fault, for [`DecodeError::InvalidField`].
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }

    fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The decoded view of a stripe challenge: what `mpp decode` prints, plus what
/// a client needs to pay it.
#[derive(Debug, Clone, Serialize)]
pub struct StripeChallenge {
    /// Challenge id, echoed unchanged in the credential.
    pub id: String,
    /// Protection space.
    pub realm: String,
    /// Always `stripe`.
    pub method: String,
    /// `charge` or `session`.
    pub intent: String,
    /// Display text; never trusted for the amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// RFC 9530 digest of the body the paid retry must carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// RFC 3339 expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The merchant's Stripe business network profile (`profile_...`).
    pub network_id: String,
    /// The decoded `request` JSON object.
    pub request_json: Map<String, Value>,
    /// The field the challenge names for the credential, as written
    /// (`Authorization` when it names none). It may be outside the allow-list:
    /// check [`StripeChallenge::credential_field`] before paying.
    #[serde(skip)]
    pub credential_header: String,
    /// The challenge as `mpp` validated it, for building the credential. Its
    /// `header` is the challenge's `header` param as written (unchecked), so
    /// that the credential echoes it.
    #[serde(skip)]
    pub challenge: PaymentChallenge,
}

impl StripeChallenge {
    /// The amount asked for, in the currency's smallest unit.
    pub fn amount(&self) -> &str {
        self.request_json
            .get("amount")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The ISO currency code, as the merchant wrote it.
    pub fn currency(&self) -> &str {
        self.request_json
            .get("currency")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// When the challenge stops being payable, if it says.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires
            .as_deref()
            .and_then(|e| OffsetDateTime::parse(e, &Rfc3339).ok())
    }

    /// Whether the challenge has expired at `now`.
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at().is_some_and(|at| at <= now)
    }

    /// Refuses a challenge that has expired at `now`: clients must not pay one.
    pub fn ensure_payable(&self, now: OffsetDateTime) -> Result<(), DecodeError> {
        match &self.expires {
            Some(expires) if self.is_expired_at(now) => Err(DecodeError::Expired {
                expires: expires.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Where the credential goes, by draft -02's allow-list: `Authorization`
    /// (no `header`, or `Authorization` in any case) or `Payment-Authorization`.
    /// Any other header is an error (code `unsupported_credential_header`,
    /// field `header`): the client must not pay and sends no credential.
    pub fn credential_field(&self) -> Result<CredentialHeader, UnsupportedCredentialHeader> {
        CredentialHeader::from_param(self.challenge.header.as_deref())
    }

    /// The credential that pays this challenge with a shared payment token:
    /// `{"spt"}` for `charge`, `{"action":"open","grantedToken"}` for `session`.
    /// Its echoed challenge carries `header` exactly when the challenge had one
    /// (draft -02), unchanged.
    pub fn spt_credential(&self, spt: &str) -> PaymentCredential {
        let payload = if self.intent == "session" {
            serde_json::json!({ "action": "open", "grantedToken": spt })
        } else {
            serde_json::json!({ "spt": spt })
        };
        PaymentCredential::new(self.challenge.to_echo(), payload)
    }
}

/// Selects and validates the stripe challenge among the `WWW-Authenticate`
/// values of a response, each given as the bytes received (one per field, or
/// several challenges comma-joined in one).
pub fn select_stripe_challenge<V: AsRef<[u8]>>(
    values: impl IntoIterator<Item = V>,
) -> Result<StripeChallenge, DecodeError> {
    let values: Vec<V> = values.into_iter().collect();
    let len: usize = values.iter().map(|v| v.as_ref().len()).sum();
    if len > MAX_HEADER_BYTES {
        return Err(DecodeError::TooLarge {
            len,
            max: MAX_HEADER_BYTES,
        });
    }

    let mut saw_payment = false;
    let mut offered = Vec::new();
    for value in &values {
        for challenge in split_challenges(&decode_field_value(value.as_ref())) {
            if !challenge.is_payment() {
                continue;
            }
            saw_payment = true;
            let method = challenge.param("method");
            let intent = challenge.param("intent");
            if method == Some("stripe") && intent.is_none_or(|i| PAYABLE_INTENTS.contains(&i)) {
                return validate(&challenge);
            }
            offered.push(format!(
                "{}/{}",
                method.unwrap_or("?"),
                intent.unwrap_or("?")
            ));
        }
    }
    if saw_payment {
        Err(DecodeError::NoStripeChallenge { offered })
    } else {
        Err(DecodeError::NoPaymentChallenge)
    }
}

/// Validates the selected challenge: syntax, then the fields `mpp` binds, then
/// Link's rules for the request.
fn validate(raw: &RawChallenge) -> Result<StripeChallenge, DecodeError> {
    if let Some((field, reason)) = &raw.syntax_error {
        return Err(DecodeError::invalid(field.to_ascii_lowercase(), reason));
    }
    if let Some(after) = &raw.stray_word_after {
        return Err(DecodeError::invalid(
            after.to_ascii_lowercase(),
            "unexpected text after the value (a missing comma, or a value with spaces that lost its quotes)",
        ));
    }
    if let Some(name) = raw.duplicate_param() {
        return Err(DecodeError::invalid(
            name.to_ascii_lowercase(),
            "duplicate parameter",
        ));
    }
    for required in ["id", "realm", "intent", "request"] {
        match raw.param(required) {
            None => return Err(DecodeError::invalid(required, "missing")),
            Some("") if required != "realm" => {
                return Err(DecodeError::invalid(required, "empty"));
            }
            Some(_) => {}
        }
    }
    let request_raw = raw.param("request").unwrap_or_default();
    let request_json = decode_request(request_raw)?;
    let credential_header = credential_header(raw.param("header"))?;

    // Hand the bound fields to `mpp`: its deserializer runs the same checks as
    // its header parser (intent, expires, digest and opaque formats).
    let mut fields = Map::new();
    for name in [
        "id",
        "realm",
        "method",
        "intent",
        "request",
        "expires",
        "description",
        "digest",
        "opaque",
    ] {
        if let Some(value) = raw.param(name) {
            fields.insert(name.to_owned(), Value::String(value.to_owned()));
        }
    }
    let mut challenge: PaymentChallenge =
        serde_json::from_value(Value::Object(fields)).map_err(|e| mpp_field_error(&e))?;
    // `mpp` accepts only `Payment-Authorization` here; keep what was written
    // so that the credential echoes it and `credential_field` can judge it.
    challenge.header = raw.param("header").map(str::to_owned);

    let network_id = validate_stripe_request(&request_json)?;
    Ok(StripeChallenge {
        id: challenge.id.clone(),
        realm: challenge.realm.clone(),
        method: challenge.method.as_str().to_owned(),
        intent: challenge.intent.as_str().to_owned(),
        description: challenge.description.clone(),
        digest: challenge.digest.clone(),
        expires: challenge.expires.clone(),
        network_id,
        request_json,
        credential_header,
        challenge,
    })
}

/// Decodes `request`: base64url (padding and the standard alphabet tolerated)
/// of a JSON object.
fn decode_request(raw: &str) -> Result<Map<String, Value>, DecodeError> {
    if raw.len() > MAX_REQUEST_BYTES {
        return Err(DecodeError::invalid(
            "request",
            format!("longer than {MAX_REQUEST_BYTES} bytes"),
        ));
    }
    let bytes =
        mpp::base64url_decode(raw).map_err(|_| DecodeError::invalid("request", "not base64url"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(DecodeError::invalid(
            "request",
            format!("not a JSON object (a {})", json_kind(&other)),
        )),
        Err(e) => Err(DecodeError::invalid("request", format!("not JSON: {e}"))),
    }
}

/// Link's rules for a stripe request; returns the network id.
fn validate_stripe_request(request: &Map<String, Value>) -> Result<String, DecodeError> {
    match request.get("amount") {
        None => return Err(DecodeError::invalid("request.amount", "missing")),
        Some(Value::String(amount)) => {
            if amount.is_empty() || !amount.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DecodeError::invalid(
                    "request.amount",
                    format!("{amount:?} is not an integer in the smallest currency unit"),
                ));
            }
        }
        Some(other) => {
            return Err(DecodeError::invalid(
                "request.amount",
                format!("must be a string, not a {}", json_kind(other)),
            ));
        }
    }
    match request.get("currency") {
        None => return Err(DecodeError::invalid("request.currency", "missing")),
        Some(Value::String(c)) if c.is_empty() => {
            return Err(DecodeError::invalid("request.currency", "empty"));
        }
        Some(Value::String(_)) => {}
        Some(other) => {
            return Err(DecodeError::invalid(
                "request.currency",
                format!("must be a string, not a {}", json_kind(other)),
            ));
        }
    }
    let nested = request
        .get("methodDetails")
        .and_then(|d| d.get("networkId"))
        .and_then(Value::as_str);
    let top_level = request.get("networkId").and_then(Value::as_str);
    match nested.or(top_level) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(DecodeError::invalid(
            "request.methodDetails.networkId",
            "missing (nor a top-level networkId)",
        )),
    }
}

/// The credential header a challenge names: `Authorization` by default, else
/// any RFC 9110 field name.
fn credential_header(named: Option<&str>) -> Result<String, DecodeError> {
    match named {
        None => Ok("Authorization".to_owned()),
        Some(name) if is_field_name(name) => Ok(name.to_owned()),
        Some(name) => Err(DecodeError::invalid(
            "header",
            format!("{name:?} is not a header field name"),
        )),
    }
}

fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Maps an `mpp` validation message to the field it is about.
fn mpp_field_error(error: &serde_json::Error) -> DecodeError {
    let message = error.to_string();
    let lower = message.to_ascii_lowercase();
    let field = ["intent", "expires", "digest", "opaque", "method", "request"]
        .into_iter()
        .find(|f| lower.contains(f))
        .unwrap_or("challenge");
    DecodeError::invalid(field, message)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        mpp::base64url_encode(json.as_bytes())
    }

    /// Found by the fuzzer in CI: a challenge naming `header=ibm` decodes,
    /// and is refused before any credential is made for it.
    #[test]
    fn a_fuzzed_challenge_with_an_unknown_header_decodes_and_gets_no_credential() {
        let values = [
            &br#"trnwiY3VycmVuY3kiOiJ1c2QiLCJtZXRobt=charge", request="e30""#[..],
            &br#"payment id="s", realm="r", method="stripe", intent="charge", request="eyJhbW91bnQiOiIxNTAwIiwiY3VycmVuY3kiOiJ1c2QiLCJtZXRob2REZXRhaWxzIjp7Im5ldHdvcmtJZCI6InByb2ZpbGVfMSIsInBheW1lbnRNZXRob2RUeXBlcyI6WyJjYXJkIiwibGluayJdfX0", descrxBf7kbu9DBPE=:",header=ibm"#[..],
        ];
        let challenge = select_stripe_challenge(values).expect("decodes");
        let refused = challenge
            .credential_field()
            .expect_err("ibm is not allowed");
        assert_eq!(refused.field(), "header");
    }

    fn stripe(request: &str) -> String {
        format!(
            r#"Payment id="ch_1", realm="shop", method="stripe", intent="charge", request="{}""#,
            b64(request)
        )
    }

    const GOOD: &str =
        r#"{"amount":"1500","currency":"usd","methodDetails":{"networkId":"profile_1"}}"#;

    #[test]
    fn picks_stripe_among_distractors() {
        let value = format!(
            r#"Bearer realm="x", Payment id="t", realm="shop", method="tempo", intent="charge", request="{}", {}"#,
            b64("{}"),
            stripe(GOOD)
        );
        let c = select_stripe_challenge([value]).unwrap();
        assert_eq!(c.network_id, "profile_1");
        assert_eq!(c.amount(), "1500");
        assert_eq!(c.currency(), "usd");
        assert_eq!(c.credential_header, "Authorization");
    }

    #[test]
    fn names_the_field_at_fault() {
        let cases = [
            (
                r#"{"amount":1500,"currency":"usd","networkId":"p"}"#,
                "request.amount",
            ),
            (r#"{"amount":"1","networkId":"p"}"#, "request.currency"),
            (
                r#"{"amount":"1","currency":"usd"}"#,
                "request.methodDetails.networkId",
            ),
            ("[1]", "request"),
        ];
        for (request, field) in cases {
            let err = select_stripe_challenge([stripe(request)]).unwrap_err();
            assert_eq!(err.field(), Some(field), "{request}: {err}");
        }
    }

    #[test]
    fn no_stripe_is_not_supported() {
        let value = format!(
            r#"Payment id="t", realm="r", method="tempo", intent="charge", request="{}""#,
            b64("{}")
        );
        let err = select_stripe_challenge([value]).unwrap_err();
        assert_eq!(err.code(), "no_stripe_challenge");
        assert!(err.to_string().contains("tempo/charge"));
        let err = select_stripe_challenge(["Bearer realm=\"x\""]).unwrap_err();
        assert_eq!(err, DecodeError::NoPaymentChallenge);
    }

    #[test]
    fn session_credential_opens_with_the_granted_token() {
        let value = stripe(GOOD).replace("intent=\"charge\"", "intent=\"session\"");
        let c = select_stripe_challenge([value]).unwrap();
        let credential = c.spt_credential("spt_1");
        assert_eq!(credential.payload["action"], "open");
        assert_eq!(credential.payload["grantedToken"], "spt_1");
        assert_eq!(credential.challenge.id, "ch_1");
    }

    #[test]
    fn expired_challenges_decode_but_are_not_payable() {
        let value = format!(r#"{}, expires="2020-01-01T00:00:00Z""#, stripe(GOOD));
        let c = select_stripe_challenge([value]).unwrap();
        let err = c.ensure_payable(OffsetDateTime::now_utc()).unwrap_err();
        assert_eq!(err.code(), "expired");
    }

    #[test]
    fn the_credential_header_allow_list_is_checked_apart_from_decoding() {
        let cases = [
            ("", Ok(CredentialHeader::Authorization), None),
            (
                r#", header="authorization""#,
                Ok(CredentialHeader::Authorization),
                Some("authorization"),
            ),
            (
                r#", header="Payment-Authorization""#,
                Ok(CredentialHeader::PaymentAuthorization),
                Some("Payment-Authorization"),
            ),
            (
                r#", header="X-Payment""#,
                Err("X-Payment"),
                Some("X-Payment"),
            ),
        ];
        for (param, field, echoed) in cases {
            let c = select_stripe_challenge([format!("{}{param}", stripe(GOOD))])
                .unwrap_or_else(|e| panic!("{param}: decodes ({e})"));
            match (c.credential_field(), field) {
                (Ok(got), Ok(expected)) => assert_eq!(got, expected, "{param}"),
                (Err(error), Err(header)) => {
                    assert_eq!(error.code(), "unsupported_credential_header");
                    assert_eq!(error.field(), "header");
                    assert_eq!(error.header, header);
                }
                (got, expected) => panic!("{param}: {got:?} but expected {expected:?}"),
            }
            // The credential echoes `header` unchanged exactly when the
            // challenge had one (draft -02).
            let value = crate::format_credential(&c.spt_credential("spt_1"));
            let json: Value = serde_json::from_slice(
                &mpp::base64url_decode(value.trim_start_matches("Payment ")).unwrap(),
            )
            .unwrap();
            assert_eq!(
                json["challenge"].get("header").and_then(Value::as_str),
                echoed,
                "{param}"
            );
            // `mpp` reads an echoed default back as none, and refuses an echo
            // outside the allow-list (a merchant built on it answers
            // malformed-credential).
            let parsed = crate::parse_credential(&value);
            match c.credential_field() {
                Ok(CredentialHeader::PaymentAuthorization) => {
                    assert_eq!(parsed.unwrap().challenge.header.as_deref(), echoed);
                }
                Ok(CredentialHeader::Authorization) => {
                    assert_eq!(parsed.unwrap().challenge.header, None);
                }
                Err(_) => assert!(parsed.is_err()),
            }
        }
    }
}
