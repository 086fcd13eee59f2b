//! Verifying and settling a stripe credential, whatever carried it (an HTTP
//! header or MCP `_meta`): the checks in the spec's order (method, binding,
//! route, expiry, body digest, SPT), the claim on the challenge id, and
//! settlement at the Stripe API.

use axum::http::StatusCode;
use mpp_wire::mpp::PaymentCredential;
use mpp_wire::{ProblemType, spt_of};
use serde_json::Value;

use crate::challenges;
use crate::clock::parse_rfc3339;
use crate::settle::{Settlement, settle};
use crate::state::{ClaimOutcome, Shared};

/// What a route accepts.
#[derive(Debug, Clone, Copy)]
pub struct Accepts<'a> {
    /// Whether stripe is accepted at all.
    pub stripe: bool,
    /// `charge` or `session`.
    pub intent: &'a str,
    /// The HTTP field the credential came in (`None` over MCP): it must be
    /// the one its challenge selected (`header`, bound in the id).
    pub received_in: Option<&'a str>,
    /// The current price: a challenge asking less is `payment-insufficient`.
    pub minimum_amount: Option<u64>,
    /// The merchant's policy refuses this payer: 403 once the credential verifies.
    pub payer_refused: bool,
}

/// Why a credential was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The problem type.
    pub kind: ProblemType,
    /// The HTTP status (400 or 402).
    pub status: StatusCode,
    /// What happened.
    pub detail: String,
}

impl Rejection {
    fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            kind,
            status: StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::PAYMENT_REQUIRED),
            detail: detail.into(),
        }
    }
}

/// How a paid request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Settled: the PaymentIntent, and what was paid.
    Paid {
        /// `pi_...`.
        payment_intent: String,
        /// Smallest currency unit.
        amount: String,
        /// `usd`.
        currency: String,
    },
    /// Refused with a Payment problem.
    Rejected(Rejection),
    /// A valid payment the merchant's policy refuses (403, no challenge); the
    /// SPT was not redeemed.
    Forbidden(String),
    /// The Stripe API could not be used (a 502 over HTTP).
    Unavailable(String),
}

fn rejected(kind: ProblemType, detail: impl Into<String>) -> Outcome {
    Outcome::Rejected(Rejection::new(kind, detail))
}

/// Checks `credential` for a request to `route` with `body`, then claims its
/// challenge and settles its SPT.
pub async fn pay(
    shared: &Shared,
    accepts: Accepts<'_>,
    route: &str,
    body: &[u8],
    credential: &PaymentCredential,
) -> Outcome {
    let echo = &credential.challenge;
    let (method, intent) = (echo.method.as_str(), echo.intent.as_str());
    if !(accepts.stripe && method == "stripe" && intent == accepts.intent) {
        let accepted = if accepts.stripe {
            format!("stripe/{}", accepts.intent)
        } else {
            "none (no stripe challenge offered)".to_owned()
        };
        return rejected(
            ProblemType::MethodUnsupported,
            format!("{method}/{intent} is not accepted here; accepted: {accepted}"),
        );
    }
    let Some(expires) = echo.expires.as_deref() else {
        return rejected(
            ProblemType::InvalidChallenge,
            "the echoed challenge has no expires; this merchant only accepts challenges that expire",
        );
    };
    let selected = echo.header.as_deref().unwrap_or("Authorization");
    if let Some(received) = accepts.received_in
        && !received.eq_ignore_ascii_case(selected)
    {
        return rejected(
            ProblemType::InvalidChallenge,
            format!(
                "the credential came in {received} but its challenge selects {selected} (echo header unchanged)"
            ),
        );
    }
    if !challenges::is_bound(
        &shared.config.challenge_secret,
        echo,
        echo.header.as_deref(),
        shared.config.header_slot,
    ) {
        return rejected(
            ProblemType::InvalidChallenge,
            "unknown challenge id, or its params were altered (the id does not bind them)",
        );
    }
    match challenges::echoed_route(echo) {
        Some(bound) if bound == challenges::bound_route(route) => {}
        other => {
            return rejected(
                ProblemType::InvalidChallenge,
                format!(
                    "the challenge was issued for {}, not {route}",
                    other.as_deref().unwrap_or("another request"),
                ),
            );
        }
    }
    // Whoever holds the binding key can mint a valid id over any terms, so
    // the echo must be a challenge this route issued, unchanged.
    let Some(issued) = shared
        .issued(&echo.id)
        .filter(|issued| issued.matches(route, echo))
    else {
        return rejected(
            ProblemType::InvalidChallenge,
            "the echoed challenge is not one this route issued (its id, realm, method, intent, request or opaque differ)",
        );
    };
    let (amount, currency) = (issued.amount.as_str(), issued.currency.as_str());
    match parse_rfc3339(expires) {
        Some(at) if at > shared.clock.now() => {}
        _ => {
            return rejected(
                ProblemType::PaymentExpired,
                format!("the challenge expired at {expires}"),
            );
        }
    }
    let body_matches = match echo.digest.as_deref() {
        Some(digest) => mpp_wire::mpp::body_digest::verify(digest, body),
        None => body.is_empty(),
    };
    if !body_matches {
        return rejected(
            ProblemType::InvalidChallenge,
            "the request body does not match the challenge's digest",
        );
    }
    if let Some(minimum) = accepts.minimum_amount
        && amount.parse::<u64>().is_ok_and(|asked| asked < minimum)
    {
        return rejected(
            ProblemType::PaymentInsufficient,
            format!("the challenge asks {amount} but the price is now {minimum}"),
        );
    }
    if accepts.intent == "session"
        && credential.payload.get("action").and_then(Value::as_str) != Some("open")
    {
        return rejected(
            ProblemType::InvalidPayload,
            "a session credential must open the session: {\"action\": \"open\", \"grantedToken\": ...}",
        );
    }
    let Some(spt) = spt_of(credential).filter(|s| !s.is_empty()) else {
        return rejected(ProblemType::InvalidPayload, "the payload carries no spt");
    };
    if accepts.payer_refused {
        return Outcome::Forbidden(format!(
            "this merchant does not serve payer {}",
            credential.source.as_deref().unwrap_or("(no source)")
        ));
    }
    match shared.claim(&echo.id, spt) {
        ClaimOutcome::Claimed => {}
        ClaimOutcome::SameSpt => {
            return rejected(
                ProblemType::VerificationFailed,
                "this credential was already presented (replay)",
            );
        }
        ClaimOutcome::OtherSpt => {
            return rejected(
                ProblemType::InvalidChallenge,
                "this challenge was already used",
            );
        }
    }
    let settlement = settle(shared, &echo.id, spt, amount, currency).await;
    shared.settle_claim(&echo.id, matches!(settlement, Settlement::Paid(_)));
    match settlement {
        Settlement::Paid(payment_intent) => Outcome::Paid {
            payment_intent,
            amount: amount.to_owned(),
            currency: currency.to_owned(),
        },
        Settlement::Refused(kind, detail) => rejected(kind, detail),
        Settlement::Unavailable(detail) => Outcome::Unavailable(detail),
    }
}
