//! Issuing challenges: the stripe charge a Link client pays, the distractor
//! methods a realistic merchant lists beside it, their HMAC-bound ids, and how
//! they are laid out over `WWW-Authenticate` fields.
//!
//! Every challenge is bound (`mpp_wire::BindingParams`, the `mpp` crate's
//! HMAC) over realm, method, intent, request, `expires`, `digest`, `opaque`,
//! which carries the route (`METHOD /path?query`) so a credential cannot be
//! replayed elsewhere, and the credential header when not `Authorization`
//! (after `opaque` as draft -02 says, or before it as the `mpp` crate does:
//! `Config::header_slot`).
//! `expires` carries a per-server sequence number as its microseconds, so two
//! challenges issued in the same second for the same request still get
//! different ids while every term a client compares stays the same.

use mpp_wire::mpp::accept_payment::{self, HasMethodIntent};
use mpp_wire::mpp::{Base64UrlJson, ChallengeEcho, PaymentChallenge};
use mpp_wire::{BindingParams, HeaderSlot, format_challenge};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::clock::{later, rfc3339};

/// A Tempo token contract (distractor requests only).
const TEMPO_TOKEN: &str = "0x20c0000000000000000000000000000000000000";
/// A Tempo recipient (distractor requests only).
const TEMPO_RECIPIENT: &str = "0x742d35Cc6634C0532925a3b844Bc9e7595f8fE00";

/// One challenge as issued, with the field its credential must travel in.
#[derive(Debug, Clone)]
pub struct Offer {
    /// The challenge.
    pub challenge: PaymentChallenge,
    /// `Payment-Credential` and the like; `None` for `Authorization`.
    pub header: Option<&'static str>,
}

impl HasMethodIntent for Offer {
    fn method(&self) -> &str {
        self.challenge.method.as_str()
    }
    fn intent(&self) -> &str {
        self.challenge.intent.as_str()
    }
}

impl Offer {
    /// The `WWW-Authenticate` text of this challenge.
    pub fn written(&self) -> String {
        format_challenge(&self.challenge, self.header).unwrap_or_else(|error| {
            tracing::error!(%error, "a challenge the merchant built could not be written");
            String::new()
        })
    }
}

/// A stripe challenge as this server issued it, remembered by id so that a
/// credential's echo is compared with what its route offered (D8): a valid
/// HMAC alone proves nothing to whoever holds the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// `METHOD /path?query` (or the MCP route) it was issued for.
    pub route: String,
    /// The echoable params, as written.
    params: [Option<String>; 8],
    /// What settlement charges: the issued amount, never the echoed one.
    pub amount: String,
    /// The issued currency.
    pub currency: String,
}

/// The bound params, owned, in one order.
fn owned(params: BindingParams<'_>) -> [Option<String>; 8] {
    [
        Some(params.realm),
        Some(params.method),
        Some(params.intent),
        Some(params.request),
        params.expires,
        params.digest,
        params.opaque,
        params.header,
    ]
    .map(|param| param.map(str::to_owned))
}

impl Issued {
    /// The stripe `offer` issued for `route` at `terms`.
    pub fn new(route: &str, offer: &Offer, terms: &Terms) -> Self {
        let echo = offer.challenge.to_echo();
        Self {
            route: route.to_owned(),
            params: owned(BindingParams::of_echo(&echo, offer.header)),
            amount: terms.amount.clone(),
            currency: terms.currency.clone(),
        }
    }

    /// Whether `echo`, presented at `route`, is this challenge unchanged.
    pub fn matches(&self, route: &str, echo: &ChallengeEcho) -> bool {
        self.route == route
            && self.params == owned(BindingParams::of_echo(echo, echo.header.as_deref()))
    }
}

/// What is being sold, as the stripe request states it.
#[derive(Debug, Clone)]
pub struct Terms {
    /// Smallest currency unit, as a decimal string.
    pub amount: String,
    /// `usd`.
    pub currency: String,
    /// The merchant's network id.
    pub network_id: String,
    /// Display text.
    pub description: String,
    /// `methodDetails.paymentMethodTypes`.
    pub payment_method_types: Vec<&'static str>,
    /// Write the request JSON with its keys in reverse order (not JCS).
    pub reversed_keys: bool,
}

/// The request identity a challenge is bound to.
#[derive(Debug, Clone)]
pub struct Binding<'a> {
    /// The HMAC key.
    pub secret: &'a str,
    /// Protection space.
    pub realm: &'a str,
    /// `METHOD /path?query`.
    pub route: &'a str,
    /// RFC 3339 expiry, if any.
    pub expires: Option<String>,
    /// RFC 9530 digest of the request body, if it had one.
    pub digest: Option<String>,
    /// The credential field, when not `Authorization`.
    pub header: Option<&'static str>,
    /// A revision number added to `opaque` (a changed refreshed challenge).
    pub revision: Option<u64>,
    /// Where a non-default `header` goes in the HMAC input.
    pub slot: HeaderSlot,
}

/// `expires` for a challenge issued at `now` (whole seconds) living
/// `lifetime`, with `sequence` as its microseconds (unique per issue).
pub fn expires_after(now: OffsetDateTime, lifetime: std::time::Duration, sequence: u64) -> String {
    let lifetime = time::Duration::try_from(lifetime).unwrap_or(time::Duration::MINUTE);
    let micros = i64::try_from(sequence % 1_000_000).unwrap_or(0);
    rfc3339(later(
        later(now, lifetime),
        time::Duration::microseconds(micros),
    ))
}

/// RFC 9530 `sha-256=:<base64>:` of `body`, or `None` for an empty body.
pub fn body_digest(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    // `mpp` writes `sha-256=<base64>`; the spec's form wraps the bytes in colons.
    let plain = mpp_wire::mpp::body_digest::compute(body);
    let hash = plain.strip_prefix("sha-256=").unwrap_or(&plain);
    Some(format!("sha-256=:{hash}:"))
}

/// The longest query bound in `opaque` as is; a longer one is bound by its
/// SHA-256, so that a 60 KB query does not make every challenge 60 KB.
pub const MAX_BOUND_QUERY_BYTES: usize = 256;

/// How `opaque` names `route` (`METHOD /path?query`): as is, or with a query
/// over [`MAX_BOUND_QUERY_BYTES`] replaced by `sha-256=<base64>` of it.
pub fn bound_route(route: &str) -> String {
    match route.split_once('?') {
        Some((target, query)) if query.len() > MAX_BOUND_QUERY_BYTES => {
            let hash = mpp_wire::mpp::body_digest::compute(query.as_bytes());
            format!("{target}?{hash}")
        }
        _ => route.to_owned(),
    }
}

/// The opaque object naming the route (the same on every re-probe, so a
/// client comparing terms sees no change), with a revision when one is given.
fn route_opaque(route: &str, revision: Option<u64>) -> Option<Base64UrlJson> {
    let route = bound_route(route);
    let opaque = match revision {
        Some(revision) => json!({ "route": route, "revision": revision.to_string() }),
        None => json!({ "route": route }),
    };
    Base64UrlJson::from_value(&opaque).ok()
}

/// The route a credential's echoed `opaque` names.
pub fn echoed_route(echo: &ChallengeEcho) -> Option<String> {
    let value = echo.opaque.as_ref()?.decode_value().ok()?;
    value.get("route")?.as_str().map(str::to_owned)
}

/// A bound challenge for `method`/`intent` with `request`.
pub fn bound(
    binding: &Binding<'_>,
    method: &str,
    intent: &str,
    request: &Value,
    description: Option<&str>,
) -> Offer {
    let request =
        Base64UrlJson::from_value(request).unwrap_or_else(|_| Base64UrlJson::from_raw("e30"));
    bound_raw(binding, method, intent, request, description)
}

/// A bound challenge whose `request` is already encoded.
fn bound_raw(
    binding: &Binding<'_>,
    method: &str,
    intent: &str,
    request: Base64UrlJson,
    description: Option<&str>,
) -> Offer {
    let opaque = route_opaque(binding.route, binding.revision);
    let id = BindingParams {
        realm: binding.realm,
        method,
        intent,
        request: request.raw(),
        expires: binding.expires.as_deref(),
        digest: binding.digest.as_deref(),
        opaque: opaque.as_ref().map(Base64UrlJson::raw),
        header: binding.header,
    }
    .bound_id(binding.secret, binding.slot);
    let mut challenge = PaymentChallenge::new(id, binding.realm, method, intent, request);
    challenge.expires = binding.expires.clone();
    challenge.digest = binding.digest.clone();
    challenge.opaque = opaque;
    challenge.description = description.map(str::to_owned);
    Offer {
        challenge,
        header: binding.header,
    }
}

/// Whether the echoed challenge is one this server issued for `header`:
/// its id is the HMAC of its params in layout `slot`.
pub fn is_bound(
    secret: &str,
    echo: &ChallengeEcho,
    header: Option<&str>,
    slot: HeaderSlot,
) -> bool {
    let expected = BindingParams::of_echo(echo, header).bound_id(secret, slot);
    // Not constant-time: this is a test double, not a payment server.
    expected == echo.id
}

/// The stripe charge request for `terms`.
pub fn stripe_request(terms: &Terms) -> Value {
    json!({
        "amount": terms.amount,
        "currency": terms.currency,
        "description": terms.description,
        "methodDetails": {
            "networkId": terms.network_id,
            "paymentMethodTypes": terms.payment_method_types,
        },
    })
}

/// JSON text of `value` with its object keys (top level only) in reverse order.
fn reversed_json(value: &Value) -> String {
    let Some(object) = value.as_object() else {
        return value.to_string();
    };
    let members: Vec<String> = object
        .iter()
        .rev()
        .map(|(key, value)| format!("{}:{value}", Value::String(key.clone())))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// The stripe challenge for `intent` (`charge`, or `session` opened with an SPT).
pub fn stripe(binding: &Binding<'_>, terms: &Terms, intent: &str) -> Offer {
    let request = stripe_request(terms);
    let request = if terms.reversed_keys {
        Base64UrlJson::from_raw(mpp_wire::mpp::base64url_encode(
            reversed_json(&request).as_bytes(),
        ))
    } else {
        Base64UrlJson::from_value(&request).unwrap_or_else(|_| Base64UrlJson::from_raw("e30"))
    };
    bound_raw(binding, "stripe", intent, request, Some(&terms.description))
}

/// Tempo charge, Tempo session and Lightning charge challenges for the same
/// price (a Link client must ignore them).
pub fn distractors(binding: &Binding<'_>, terms: &Terms) -> [Offer; 3] {
    let tempo_charge = bound(
        binding,
        "tempo",
        "charge",
        &json!({
            "amount": format!("{}0000", terms.amount),
            "currency": TEMPO_TOKEN,
            "recipient": TEMPO_RECIPIENT,
            "methodDetails": { "chainId": 42431 },
        }),
        Some(&terms.description),
    );
    let tempo_session = bound(
        binding,
        "tempo",
        "session",
        &json!({
            "amount": "100",
            "unitType": "request",
            "currency": TEMPO_TOKEN,
            "recipient": TEMPO_RECIPIENT,
            "suggestedDeposit": "1000000",
            "methodDetails": { "chainId": 42431 },
        }),
        None,
    );
    let lightning = bound(
        binding,
        "lightning",
        "charge",
        &json!({
            "amount": terms.amount,
            "currency": "sat",
            "methodDetails": {
                "invoice": "lnbcrt25u1pjmockmerchantinvoicexxxxxxxxxxxxxxxxxxxxxxxxxxxxqq",
            },
        }),
        None,
    );
    [tempo_charge, tempo_session, lightning]
}

/// Orders offers by an `Accept-Payment` value (`stripe/charge, tempo/*;q=0.5`),
/// as `mpp` ranks them; an absent, unreadable or all-excluding value leaves
/// the merchant's own order.
pub fn rank_by_preference(offers: Vec<Offer>, accept_payment: Option<&str>) -> Vec<Offer> {
    let Some(preferences) = accept_payment
        .and_then(|value| accept_payment::parse(value).ok())
        .filter(|entries| !entries.is_empty())
    else {
        return offers;
    };
    let ranked: Vec<Offer> = accept_payment::rank(&offers, &preferences)
        .into_iter()
        .cloned()
        .collect();
    if ranked.is_empty() { offers } else { ranked }
}

/// How a 402 spreads its challenges over `WWW-Authenticate` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// All challenges comma-joined in one field value.
    OneValue,
    /// One field per challenge, with `Bearer` and `Basic` challenges mixed in
    /// (one of them sharing a field with Payment challenges).
    Split,
}

/// The `WWW-Authenticate` field values for `offers`.
pub fn lay_out(offers: &[Offer], layout: Layout) -> Vec<String> {
    let written: Vec<String> = offers.iter().map(Offer::written).collect();
    match layout {
        Layout::OneValue => vec![written.join(", ")],
        Layout::Split => {
            let mut fields = vec![r#"Bearer realm="mock-merchant", scope="reports""#.to_owned()];
            let (alone, shared) =
                written.split_at(written.len().saturating_sub(2).max(1).min(written.len()));
            fields.extend(alone.iter().cloned());
            if !shared.is_empty() {
                let mut mixed = vec![r#"Basic realm="legacy""#.to_owned()];
                mixed.extend(shared.iter().cloned());
                fields.push(mixed.join(", "));
            }
            fields
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(header: Option<&'static str>) -> Binding<'static> {
        Binding {
            secret: "a-challenge-secret-of-at-least-32-bytes",
            realm: "mock-merchant/test",
            route: "GET /m/test/report",
            expires: Some("2030-01-01T00:00:00.000001Z".to_owned()),
            digest: body_digest(b"{}"),
            header,
            revision: None,
            slot: HeaderSlot::default(),
        }
    }

    fn terms() -> Terms {
        Terms {
            amount: "2500".to_owned(),
            currency: "usd".to_owned(),
            network_id: "profile_test".to_owned(),
            description: "A report".to_owned(),
            payment_method_types: vec!["card", "link"],
            reversed_keys: false,
        }
    }

    #[test]
    fn an_issued_stripe_challenge_is_bound_and_decodes() {
        for header in [None, Some("Payment-Authorization"), Some("X-Payment")] {
            let offer = stripe(&binding(header), &terms(), "charge");
            let decoded = mpp_wire::select_stripe_challenge([offer.written()]).unwrap();
            assert_eq!(decoded.network_id, "profile_test");
            let echo = decoded.challenge.to_echo();
            let slot = HeaderSlot::AfterOpaque;
            assert!(is_bound(binding(header).secret, &echo, header, slot));
            assert!(!is_bound(
                binding(header).secret,
                &echo,
                Some("Other-Header"),
                slot
            ));
            assert!(!is_bound(
                "another-secret-of-at-least-32-bytes!!",
                &echo,
                header,
                slot
            ));
            // The mpp crate's layout gives another id when there is a header.
            assert_eq!(
                is_bound(
                    binding(header).secret,
                    &echo,
                    header,
                    HeaderSlot::BeforeOpaque
                ),
                header.is_none()
            );
            assert_eq!(echoed_route(&echo).as_deref(), Some("GET /m/test/report"));
        }
    }

    #[test]
    fn the_split_layout_mixes_schemes_and_keeps_every_challenge() {
        let b = binding(None);
        let mut offers = distractors(&b, &terms()).to_vec();
        offers.insert(1, stripe(&b, &terms(), "charge"));
        let fields = lay_out(&offers, Layout::Split);
        assert!(fields[0].starts_with("Bearer "));
        assert!(fields.last().unwrap().starts_with("Basic "));
        let payments: usize = fields.iter().map(|f| f.matches("Payment ").count()).sum();
        assert_eq!(payments, 4);
        assert_eq!(lay_out(&offers, Layout::OneValue).len(), 1);
    }

    #[test]
    fn body_digest_is_the_rfc_9530_form_and_verifies() {
        let digest = body_digest(b"hello").unwrap();
        assert!(digest.starts_with("sha-256=:") && digest.ends_with(':'));
        assert!(mpp_wire::mpp::body_digest::verify(&digest, b"hello"));
        assert!(!mpp_wire::mpp::body_digest::verify(&digest, b"hello!"));
        assert_eq!(body_digest(b""), None);
    }
}
