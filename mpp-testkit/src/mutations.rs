//! Labelled mutations: malformed or unusual stripe challenges, each with the
//! outcome a Link decoder must reach.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::render::{Challenge, Style};
use crate::strategies::{GeneratedHeader, StripeSpec, distractors, encode_request, stripe_spec};

/// What a decoder must do with a header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Expectation {
    /// Select the stripe challenge and report these values.
    Accept {
        /// The challenge id.
        id: String,
        /// The network id read from the request.
        network_id: String,
        /// `charge` or `session`.
        intent: String,
        /// The amount string.
        amount: String,
        /// The currency.
        currency: String,
        /// The challenge is past its `expires`: decodes, but must not be paid.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        expired: bool,
        /// The header the credential goes in, when not `Authorization`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credential_header: Option<String>,
        /// That header is outside draft -02's allow-list (`Authorization`,
        /// `Payment-Authorization`): the challenge decodes, but a client must
        /// not pay it (`unsupported_credential_header`) and sends no credential.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unsupported_credential_header: bool,
    },
    /// Reject the header.
    Reject {
        /// `no_payment_challenge`, `no_stripe_challenge`, `invalid_field` or `too_large`.
        code: String,
        /// For `invalid_field`: the field at fault.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
}

impl Expectation {
    /// Acceptance of `spec` as generated.
    pub fn accept(spec: &StripeSpec) -> Self {
        Self::Accept {
            id: spec.id.clone(),
            network_id: spec.network_id.clone(),
            intent: spec.intent.clone(),
            amount: spec.amount.clone(),
            currency: spec.currency.clone(),
            expired: false,
            credential_header: None,
            unsupported_credential_header: false,
        }
    }

    /// Rejection with `code`, naming `field` if given.
    pub fn reject(code: &str, field: Option<&str>) -> Self {
        Self::Reject {
            code: code.to_owned(),
            field: field.map(str::to_owned),
        }
    }

    /// What a decoder's answer looks like in the same terms, for comparison.
    pub fn of_decoded(
        result: &Result<mpp_wire::StripeChallenge, mpp_wire::DecodeError>,
        now: time::OffsetDateTime,
    ) -> Self {
        match result {
            Ok(c) => Self::Accept {
                id: c.id.clone(),
                network_id: c.network_id.clone(),
                intent: c.intent.clone(),
                amount: c.amount().to_owned(),
                currency: c.currency().to_owned(),
                expired: c.is_expired_at(now),
                credential_header: (c.credential_header != "Authorization")
                    .then(|| c.credential_header.clone()),
                unsupported_credential_header: c.credential_field().is_err(),
            },
            Err(e) => Self::reject(e.code(), e.field()),
        }
    }
}

/// One way to spoil (or stretch) a valid stripe challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mutation {
    /// Leave `id` out.
    MissingId,
    /// `id=""`.
    EmptyId,
    /// Leave `realm` out.
    MissingRealm,
    /// Leave `intent` out.
    MissingIntent,
    /// Leave `request` out.
    MissingRequest,
    /// Write `id` twice.
    DuplicateId,
    /// Write `request` twice.
    DuplicateRequest,
    /// `request` is not base64url at all.
    RequestNotBase64,
    /// `request` decodes to bytes that are not JSON.
    RequestNotJson,
    /// `request` is JSON but an array.
    RequestNotObject,
    /// `request` keeps its `=` padding.
    RequestPadded,
    /// `request` uses the standard alphabet (`+`, `/`).
    RequestStandardAlphabet,
    /// `request` keys not in JCS order, with whitespace.
    RequestNotJcs,
    /// `amount` as a JSON number.
    AmountAsNumber,
    /// No `amount`.
    MissingAmount,
    /// `amount` with a decimal point.
    AmountDecimal,
    /// No `currency`.
    MissingCurrency,
    /// No network id anywhere.
    MissingNetworkId,
    /// Network id at the top level of the request only.
    NetworkIdTopLevel,
    /// `expires` in the past.
    Expired,
    /// `expires` not RFC 3339.
    BadExpires,
    /// `digest` not `sha-256=...`.
    BadDigest,
    /// Unknown params added.
    UnknownParams,
    /// `header="Payment-Credential"`.
    OtherCredentialHeader,
    /// A 20 KiB `request` (over the 16 KiB bound).
    OversizedRequest,
    /// A 40 KiB `description` (long, but valid).
    LongDescription,
}

impl Mutation {
    /// Every mutation.
    pub const ALL: [Mutation; 26] = [
        Self::MissingId,
        Self::EmptyId,
        Self::MissingRealm,
        Self::MissingIntent,
        Self::MissingRequest,
        Self::DuplicateId,
        Self::DuplicateRequest,
        Self::RequestNotBase64,
        Self::RequestNotJson,
        Self::RequestNotObject,
        Self::RequestPadded,
        Self::RequestStandardAlphabet,
        Self::RequestNotJcs,
        Self::AmountAsNumber,
        Self::MissingAmount,
        Self::AmountDecimal,
        Self::MissingCurrency,
        Self::MissingNetworkId,
        Self::NetworkIdTopLevel,
        Self::Expired,
        Self::BadExpires,
        Self::BadDigest,
        Self::UnknownParams,
        Self::OtherCredentialHeader,
        Self::OversizedRequest,
        Self::LongDescription,
    ];

    /// The snake_case name used in the corpus and by the hostile merchant.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Applies the mutation to `spec`'s challenge; returns it and the expected outcome.
    pub fn apply(self, spec: &StripeSpec) -> (Challenge, Expectation) {
        let mut c = spec.challenge();
        let mut request = spec.request_json();
        let invalid = |field: &str| Expectation::reject("invalid_field", Some(field));
        let mut expect = Expectation::accept(spec);
        match self {
            Self::MissingId => {
                c.remove("id");
                expect = invalid("id");
            }
            Self::EmptyId => {
                c.set("id", "");
                expect = invalid("id");
            }
            Self::MissingRealm => {
                c.remove("realm");
                expect = invalid("realm");
            }
            Self::MissingIntent => {
                c.remove("intent");
                expect = invalid("intent");
            }
            Self::MissingRequest => {
                c.remove("request");
                expect = invalid("request");
            }
            Self::DuplicateId => {
                c.params.push(("id".into(), spec.id.clone()));
                expect = invalid("id");
            }
            Self::DuplicateRequest => {
                let r = c.param("request").unwrap_or_default().to_owned();
                c.params.push(("request".into(), r));
                expect = invalid("request");
            }
            Self::RequestNotBase64 => {
                c.set("request", "not*base64!");
                expect = invalid("request");
            }
            Self::RequestNotJson => {
                c.set("request", mpp::base64url_encode(b"amount=100&currency=usd"));
                expect = invalid("request");
            }
            Self::RequestNotObject => {
                c.set("request", mpp::base64url_encode(b"[\"100\",\"usd\"]"));
                expect = invalid("request");
            }
            Self::RequestPadded => {
                let raw = padded(c.param("request").unwrap_or_default());
                c.set("request", raw);
            }
            Self::RequestStandardAlphabet => {
                // Make sure the encoding has `-` or `_` to translate.
                request["externalId"] = json!("~~~>>>???");
                let raw = encode_request(&request).replace('-', "+").replace('_', "/");
                c.set("request", raw);
            }
            Self::RequestNotJcs => {
                let mut text = String::from("{ ");
                let object = request.as_object().cloned().unwrap_or_default();
                let mut entries: Vec<_> = object.iter().collect();
                entries.reverse();
                let parts: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{:?} : {}", k, v))
                    .collect();
                text.push_str(&parts.join(" , "));
                text.push_str(" }");
                c.set("request", mpp::base64url_encode(text.as_bytes()));
            }
            Self::AmountAsNumber => {
                request["amount"] = json!(spec.amount.parse::<u64>().unwrap_or(100));
                c.set("request", encode_request(&request));
                expect = invalid("request.amount");
            }
            Self::MissingAmount => {
                remove_key(&mut request, "amount");
                c.set("request", encode_request(&request));
                expect = invalid("request.amount");
            }
            Self::AmountDecimal => {
                request["amount"] = json!("12.50");
                c.set("request", encode_request(&request));
                expect = invalid("request.amount");
            }
            Self::MissingCurrency => {
                remove_key(&mut request, "currency");
                c.set("request", encode_request(&request));
                expect = invalid("request.currency");
            }
            Self::MissingNetworkId => {
                remove_key(&mut request, "networkId");
                if let Some(details) = request.get_mut("methodDetails") {
                    remove_key(details, "networkId");
                }
                c.set("request", encode_request(&request));
                expect = invalid("request.methodDetails.networkId");
            }
            Self::NetworkIdTopLevel => {
                remove_key(&mut request, "methodDetails");
                request["networkId"] = json!(spec.network_id);
                c.set("request", encode_request(&request));
            }
            Self::Expired => {
                c.set("expires", "2021-03-04T05:06:07Z");
                if let Expectation::Accept { expired, .. } = &mut expect {
                    *expired = true;
                }
            }
            Self::BadExpires => {
                c.set("expires", "tomorrow at noon");
                expect = invalid("expires");
            }
            Self::BadDigest => {
                c.set("digest", "md5=abc");
                expect = invalid("digest");
            }
            Self::UnknownParams => {
                c.params.insert(1, ("x-trace".into(), "abc, def".into()));
                c.params.push(("version".into(), "2".into()));
            }
            Self::OtherCredentialHeader => {
                c.set("header", "Payment-Credential");
                if let Expectation::Accept {
                    credential_header,
                    unsupported_credential_header,
                    ..
                } = &mut expect
                {
                    *credential_header = Some("Payment-Credential".into());
                    *unsupported_credential_header = true;
                }
            }
            Self::OversizedRequest => {
                request["externalId"] = json!("x".repeat(20 * 1024));
                c.set("request", encode_request(&request));
                expect = invalid("request");
            }
            Self::LongDescription => {
                c.set("description", "long \\ \"text\", ".repeat(40 * 1024 / 16));
            }
        }
        (c, expect)
    }
}

fn remove_key(value: &mut Value, key: &str) {
    if let Some(object) = value.as_object_mut() {
        object.remove(key);
    }
}

fn padded(raw: &str) -> String {
    let pad = (4 - raw.len() % 4) % 4;
    // Some length of padding must show; a multiple of 4 gets an extra JSON space.
    if pad == 0 {
        let mut bytes = mpp::base64url_decode(raw).unwrap_or_default();
        bytes.push(b' ');
        let raw = mpp::base64url_encode(&bytes);
        let pad = (4 - raw.len() % 4) % 4;
        return format!("{raw}{}", "=".repeat(pad));
    }
    format!("{raw}{}", "=".repeat(pad))
}

/// A header holding a mutated stripe challenge among distractors, with the
/// outcome a decoder must reach.
#[derive(Debug, Clone)]
pub struct MutatedHeader {
    /// Which mutation.
    pub mutation: Mutation,
    /// The header, as written.
    pub header: GeneratedHeader,
    /// The outcome.
    pub expect: Expectation,
}

/// Any mutation applied to any stripe challenge, among distractors.
pub fn mutated_header() -> impl Strategy<Value = MutatedHeader> {
    (
        proptest::sample::select(Mutation::ALL.to_vec()),
        stripe_spec(),
        distractors(3),
        crate::render::style(),
    )
        .prop_flat_map(|(mutation, spec, others, style)| {
            let (challenge, expect) = mutation.apply(&spec);
            let mut all = others;
            all.push(challenge);
            (
                Just(mutation),
                Just(spec),
                Just(all).prop_shuffle(),
                Just(style),
                Just(expect),
            )
        })
        .prop_flat_map(|(mutation, spec, all, style, expect)| {
            crate::strategies::written(all, style, Some(spec)).prop_map(move |header| {
                MutatedHeader {
                    mutation,
                    header,
                    expect: expect.clone(),
                }
            })
        })
}

/// The canonical stripe challenge the corpus mutates.
pub fn canonical_spec() -> StripeSpec {
    StripeSpec {
        id: "qB3wErTyUiOpAsDfGhJkLzXcVbNm1234567890abcde".into(),
        realm: "api.shop.example".into(),
        intent: "charge".into(),
        amount: "2500".into(),
        currency: "usd".into(),
        network_id: "profile_1MqDcVKA5SAgXE".into(),
        network_id_top_level: false,
        description: Some("One \"premium\" report, delivered".into()),
        expires: Some("2031-01-01T00:00:00Z".into()),
        digest: None,
        external_id: None,
    }
}

/// The style the corpus writes in unless a case says otherwise.
pub fn plain_style() -> Style {
    Style::default()
}
