//! proptest strategies: valid stripe challenges, distractor challenges of
//! other methods and schemes, and whole `WWW-Authenticate` headers that mix
//! them in any order and formatting.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::render::{Challenge, Style, render_fields, style};

/// A valid stripe challenge, as the merchant means it.
#[derive(Debug, Clone, PartialEq)]
pub struct StripeSpec {
    /// Challenge id.
    pub id: String,
    /// Protection space.
    pub realm: String,
    /// `charge` or `session`.
    pub intent: String,
    /// Smallest-unit amount, as the string the wire carries.
    pub amount: String,
    /// ISO currency code.
    pub currency: String,
    /// `profile_...`.
    pub network_id: String,
    /// Write the network id at the top level of the request instead of in `methodDetails`.
    pub network_id_top_level: bool,
    /// Optional display text (may hold quotes, commas and backslashes).
    pub description: Option<String>,
    /// Optional RFC 3339 expiry.
    pub expires: Option<String>,
    /// Optional body digest.
    pub digest: Option<String>,
    /// Optional `externalId` in the request.
    pub external_id: Option<String>,
}

impl StripeSpec {
    /// The request JSON the challenge carries.
    pub fn request_json(&self) -> Value {
        let mut request = Map::new();
        request.insert("amount".into(), json!(self.amount));
        request.insert("currency".into(), json!(self.currency));
        if let Some(d) = &self.description {
            request.insert("description".into(), json!(d));
        }
        if let Some(e) = &self.external_id {
            request.insert("externalId".into(), json!(e));
        }
        if self.network_id_top_level {
            request.insert("networkId".into(), json!(self.network_id));
        } else {
            request.insert(
                "methodDetails".into(),
                json!({ "networkId": self.network_id, "paymentMethodTypes": ["card", "link"] }),
            );
        }
        Value::Object(request)
    }

    /// The challenge, with `request` encoded as the spec says (base64url, no
    /// padding, of the JCS serialization).
    pub fn challenge(&self) -> Challenge {
        let mut c = Challenge::new(
            "Payment",
            [
                ("id", self.id.as_str()),
                ("realm", self.realm.as_str()),
                ("method", "stripe"),
                ("intent", self.intent.as_str()),
            ],
        );
        c.set("request", encode_request(&self.request_json()));
        if let Some(d) = &self.description {
            c.set("description", d.clone());
        }
        if let Some(e) = &self.expires {
            c.set("expires", e.clone());
        }
        if let Some(d) = &self.digest {
            c.set("digest", d.clone());
        }
        c
    }
}

/// base64url without padding of the JCS (RFC 8785) serialization of `value`.
pub fn encode_request(value: &Value) -> String {
    let jcs = serde_json_canonicalizer::to_string(value).unwrap_or_else(|_| value.to_string());
    mpp::base64url_encode(jcs.as_bytes())
}

/// Display text with the characters that stress quoted-strings.
pub fn description() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,;=\"\\\\'!?.()-]{0,40}"
}

/// A realistic amount in the smallest unit: cents to thousands of dollars.
pub fn amount() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => 50u64..10_000,
        2 => 10_000u64..500_000,
        1 => 1u64..50,
    ]
    .prop_map(|a| a.to_string())
}

/// A challenge id: base64url of 16-32 bytes, like the HMAC binding produces.
pub fn challenge_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{22,43}"
}

/// A network id (`profile_...`).
pub fn network_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{8,24}".prop_map(|s| format!("profile_{s}"))
}

/// An RFC 3339 timestamp in the future (2030-2039), in the forms servers write.
pub fn future_timestamp() -> impl Strategy<Value = String> {
    (
        2030u32..2040,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        any::<bool>(),
    )
        .prop_map(|(y, mo, d, h, mi, millis)| {
            if millis {
                format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:00.000Z")
            } else {
                format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:00Z")
            }
        })
}

/// Any valid stripe challenge.
pub fn stripe_spec() -> impl Strategy<Value = StripeSpec> {
    (
        (
            challenge_id(),
            prop_oneof!["[a-z]{3,10}\\.example", Just("api".to_owned())],
            prop_oneof![4 => Just("charge"), 1 => Just("session")],
            amount(),
            prop_oneof![4 => Just("usd"), 1 => Just("eur"), 1 => Just("gbp")],
            network_id(),
        ),
        (
            prop::bool::weighted(0.2),
            prop::option::of(description()),
            prop::option::of(future_timestamp()),
            prop::option::of("[A-Za-z0-9+/]{43}=".prop_map(|d| format!("sha-256=:{d}:"))),
            prop::option::of("ord_[0-9]{4,8}"),
        ),
    )
        .prop_map(
            |(
                (id, realm, intent, amount, currency, network_id),
                (network_id_top_level, description, expires, digest, external_id),
            )| StripeSpec {
                id,
                realm,
                intent: intent.to_owned(),
                amount,
                currency: currency.to_owned(),
                network_id,
                network_id_top_level,
                description,
                expires,
                digest,
                external_id,
            },
        )
}

/// A `Payment` challenge for another method (tempo charge or session,
/// lightning, card, solana, evm) or a stripe intent Link cannot pay.
pub fn distractor_challenge() -> impl Strategy<Value = Challenge> {
    let request = prop_oneof![
        ("[0-9]{3,7}", "[0-9a-f]{40}").prop_map(|(amount, addr)| (
            "tempo",
            "charge",
            json!({"amount": amount, "currency": "0x20c0000000000000000000000000000000000000",
                   "recipient": format!("0x{addr}"), "methodDetails": {"chainId": 4217}})
        )),
        ("[0-9]{2,5}", "[0-9a-f]{40}").prop_map(|(amount, addr)| (
            "tempo",
            "session",
            json!({"amount": amount, "unitType": "request", "currency": "0x20c0000000000000000000000000000000000000",
                   "recipient": format!("0x{addr}"), "methodDetails": {"chainId": 4217}})
        )),
        "[a-z0-9]{40,80}".prop_map(|invoice| (
            "lightning",
            "charge",
            json!({"amount": "1000", "currency": "BTC", "methodDetails": {"invoice": format!("lnbc10n1{invoice}")}})
        )),
        "[0-9]{3,6}".prop_map(|amount| (
            "card",
            "charge",
            json!({"amount": amount, "currency": "usd", "methodDetails": {"encryption": "jwe", "kid": "k1"}})
        )),
        "[1-9A-HJ-NP-Za-km-z]{32,44}".prop_map(|recipient| (
            "solana",
            "charge",
            json!({"amount": "5000", "currency": "USDC", "recipient": recipient})
        )),
        network_id().prop_map(|network| (
            "stripe",
            "subscription",
            json!({"amount": "999", "currency": "usd", "interval": "month", "methodDetails": {"networkId": network}})
        )),
    ];
    (
        challenge_id(),
        request,
        prop::option::of(future_timestamp()),
    )
        .prop_map(|(id, (method, intent, request), expires)| {
            let mut c = Challenge::new(
                "Payment",
                [
                    ("id", id.as_str()),
                    ("realm", "api"),
                    ("method", method),
                    ("intent", intent),
                ],
            );
            c.set("request", encode_request(&request));
            if let Some(e) = expires {
                c.set("expires", e);
            }
            c
        })
}

/// A challenge of another auth scheme (Bearer, Basic, DPoP, Negotiate token68).
pub fn other_scheme_challenge() -> impl Strategy<Value = Challenge> {
    prop_oneof![
        "[a-z]{3,8}".prop_map(|realm| Challenge::new(
            "Bearer",
            [("realm", realm.as_str()), ("error", "invalid_token")]
        )),
        "[a-z]{3,8}".prop_map(|realm| Challenge::new(
            "Basic",
            [("realm", realm.as_str()), ("charset", "UTF-8")]
        )),
        Just(Challenge::new("DPoP", [("algs", "ES256 PS256")])),
        "[A-Za-z0-9+/]{8,20}={0,2}".prop_map(|token| Challenge {
            scheme: "Negotiate".into(),
            params: Vec::new(),
            token68: Some(token),
        }),
    ]
}

/// A whole header: challenges in order, written as one or more field values.
#[derive(Debug, Clone)]
pub struct GeneratedHeader {
    /// The field values, as sent.
    pub values: Vec<String>,
    /// The stripe challenge among them, if any.
    pub stripe: Option<StripeSpec>,
    /// The challenges in order, before writing.
    pub challenges: Vec<Challenge>,
    /// The formatting used.
    pub style: Style,
}

/// Distractors: other Payment methods and other schemes, 0 to `max` of them.
pub fn distractors(max: usize) -> impl Strategy<Value = Vec<Challenge>> {
    vec(
        prop_oneof![3 => distractor_challenge(), 1 => other_scheme_challenge()],
        0..=max,
    )
}

/// Writes `challenges` in `style`, splitting fields at random.
pub fn written(
    challenges: Vec<Challenge>,
    style: Style,
    stripe: Option<StripeSpec>,
) -> impl Strategy<Value = GeneratedHeader> {
    let n = challenges.len();
    vec(prop::bool::weighted(0.3), n).prop_map(move |new_field| GeneratedHeader {
        values: render_fields(&challenges, &new_field, &style),
        stripe: stripe.clone(),
        challenges: challenges.clone(),
        style: style.clone(),
    })
}

/// A header with one valid stripe challenge among up to five distractors, in
/// any order and formatting.
pub fn header_with_stripe() -> impl Strategy<Value = GeneratedHeader> {
    (stripe_spec(), distractors(5), style())
        .prop_flat_map(|(spec, others, style)| {
            let mut all = others;
            all.push(spec.challenge());
            (Just(spec), Just(all).prop_shuffle(), Just(style))
        })
        .prop_flat_map(|(spec, all, style)| written(all, style, Some(spec)))
}

/// A header with no stripe challenge Link can pay.
pub fn header_without_stripe() -> impl Strategy<Value = GeneratedHeader> {
    (vec(distractor_challenge(), 1..=4), distractors(2), style())
        .prop_flat_map(|(payment, others, style)| {
            let mut all = payment;
            all.extend(others);
            (Just(all).prop_shuffle(), Just(style))
        })
        .prop_flat_map(|(all, style)| written(all, style, None))
}
