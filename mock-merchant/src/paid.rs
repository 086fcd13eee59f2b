//! The paid HTTP endpoints: a 402 with challenges, then the paid retry
//! (verified and settled by [`crate::verify`]) answered with the resource and
//! a receipt, or a Problem with fresh challenges.

use axum::body::{Bytes, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mpp_wire::mpp::PaymentCredential;
use mpp_wire::{ProblemType, format_receipt, parse_credential, spt_of, stripe_receipt};
use serde_json::json;

use crate::challenges::{self, Binding, Layout, Offer, Terms};
use crate::knobs::{Change, Knobs, Target};
use crate::ledger::LedgerEntry;
use crate::respond::{payment_problem, payment_required, plain_problem};
use crate::state::{AppState, PaidAnswer};
use crate::verify::{self, Accepts, Outcome};

/// Largest request body a paid endpoint reads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Where a paid retry is sent instead of being verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryRedirect {
    /// `307` to `/m/api/report` on this origin.
    SameOrigin,
    /// `307` to `/m/api/report` on the other origin.
    CrossOrigin,
}

/// One paid endpoint.
#[derive(Debug, Clone, Copy)]
pub struct PaidSpec {
    /// The merchant id.
    pub merchant: &'static str,
    /// The full path.
    pub path: &'static str,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Price in cents (usd).
    pub amount: u64,
    /// What is sold.
    pub description: &'static str,
    /// How the challenges are spread over fields.
    pub layout: Layout,
    /// Whether a stripe challenge is offered (and accepted).
    pub stripe: bool,
    /// The credential field when not `Authorization`.
    pub header: Option<&'static str>,
    /// Every challenge after the first for a route changes a term (the
    /// amount, unless the query names another with `change=`).
    pub rising_terms: bool,
    /// A paid retry is redirected rather than verified.
    pub redirect_retry: Option<RetryRedirect>,
    /// The network id the stripe challenge names, when not the configured one.
    pub network_id: Option<&'static str>,
    /// The stripe intent offered and accepted: `charge` or `session`.
    pub intent: &'static str,
    /// Whether the merchant's fault knobs apply (not to the redirect landing).
    pub faults: bool,
}

const fn spec(merchant: &'static str, path: &'static str, method: &'static str) -> PaidSpec {
    PaidSpec {
        merchant,
        path,
        method,
        amount: 2500,
        description: "One premium market report",
        layout: Layout::OneValue,
        stripe: true,
        header: None,
        rising_terms: false,
        redirect_retry: None,
        network_id: None,
        intent: "charge",
        faults: true,
    }
}

/// The network id the `other-network` merchant names in its challenges.
pub const OTHER_NETWORK_ID: &str = "profile_other_network";

/// Every paid endpoint of the catalogue.
pub const PAID: &[PaidSpec] = &[
    spec("api", "/m/api/report", "GET"),
    PaidSpec {
        amount: 4200,
        description: "Place an order for one premium dataset",
        ..spec("api", "/m/api/orders", "POST")
    },
    PaidSpec {
        layout: Layout::Split,
        ..spec("api-split", "/m/api-split/report", "GET")
    },
    PaidSpec {
        amount: 4200,
        description: "Place an order for one premium dataset",
        layout: Layout::Split,
        ..spec("api-split", "/m/api-split/orders", "POST")
    },
    PaidSpec {
        stripe: false,
        ..spec("no-stripe", "/m/no-stripe/report", "GET")
    },
    PaidSpec {
        header: Some("Payment-Authorization"),
        ..spec("credential-header", "/m/credential-header/report", "GET")
    },
    PaidSpec {
        header: Some(UNSUPPORTED_HEADER),
        ..spec("unsupported-header", "/m/unsupported-header/report", "GET")
    },
    PaidSpec {
        amount: 1000,
        rising_terms: true,
        ..spec("changing-terms", "/m/changing-terms/report", "GET")
    },
    PaidSpec {
        intent: "session",
        description: "Open a metered session on the premium API",
        ..spec("api-session", "/m/api-session/stream", "GET")
    },
    PaidSpec {
        network_id: Some(OTHER_NETWORK_ID),
        ..spec("other-network", "/m/other-network/report", "GET")
    },
    PaidSpec {
        redirect_retry: Some(RetryRedirect::SameOrigin),
        ..spec("redirects", "/m/redirects/paid-retry-same-origin", "GET")
    },
    PaidSpec {
        redirect_retry: Some(RetryRedirect::CrossOrigin),
        ..spec("redirects", "/m/redirects/paid-retry-cross-origin", "GET")
    },
    PaidSpec {
        faults: false,
        ..spec("redirects", LANDING_PATH, "GET")
    },
];

/// The header the `unsupported-header` merchant names (outside draft -02's allow-list).
pub const UNSUPPORTED_HEADER: &str = "X-Payment";

/// Where the redirect knobs point: a paid route of the same price, without knobs.
pub const LANDING_PATH: &str = "/m/redirects/landing";

/// One paid request being answered.
struct Exchange<'a> {
    state: &'a AppState,
    spec: &'a PaidSpec,
    route: String,
    /// The absolute URL requested, as the client addressed it.
    url: String,
    body: Bytes,
    accept_payment: Option<String>,
    knobs: Knobs,
}

impl Exchange<'_> {
    fn record(&self, event: &str) -> LedgerEntry {
        LedgerEntry::new(self.spec.merchant, &self.route, event).url(&self.url)
    }

    /// The field later challenges of this route change: the knob, or at
    /// `changing-terms` the query's `change=` (the amount by default).
    fn change(&self) -> Option<Change> {
        if self.spec.rising_terms {
            let named = self.query_param("change");
            return Some(
                named
                    .and_then(|n| Change::from_name(&n))
                    .unwrap_or(Change::Amount),
            );
        }
        self.knobs.change_refreshed
    }

    /// The value of `name` in the query.
    fn query_param(&self, name: &str) -> Option<String> {
        let query = self.route.split_once('?').map_or("", |(_, q)| q);
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .unwrap_or_default()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
    }

    /// With `strict=1` on a `changing-terms` route whose amount rises: the
    /// amount of the latest challenge issued, below which a challenge is stale.
    fn current_price(&self) -> Option<u64> {
        let strict = self
            .query_param("strict")
            .is_some_and(|v| v == "1" || v == "true");
        if !(self.spec.rising_terms && strict && self.change() == Some(Change::Amount)) {
            return None;
        }
        let probes = self.state.probes_of(&self.route);
        (probes > 0).then(|| self.spec.amount + 500 * (probes - 1))
    }

    /// Fresh challenges for this request, recorded in the ledger. Every 402
    /// after the first of a route changes the field `change()` names.
    fn issue(&self) -> Vec<String> {
        let shared = self.state;
        let mut terms = Terms {
            amount: self.spec.amount.to_string(),
            currency: "usd".to_owned(),
            network_id: self
                .spec
                .network_id
                .map_or_else(|| shared.config.network_id.clone(), str::to_owned),
            description: self.spec.description.to_owned(),
            payment_method_types: vec!["card", "link"],
            reversed_keys: false,
        };
        let mut realm = format!("mock-merchant/{}", self.spec.merchant);
        let mut intent = self.spec.intent;
        let mut header = self.spec.header;
        let mut digest = challenges::body_digest(&self.body);
        let mut revision = None;
        let before = shared.next_probe(&self.route);
        if before > 0
            && let Some(change) = self.change()
        {
            match change {
                Change::Amount => terms.amount = (self.spec.amount + 500 * before).to_string(),
                Change::Currency => terms.currency = "eur".to_owned(),
                Change::NetworkId => terms.network_id = "profile_changed_terms".to_owned(),
                Change::Intent => {
                    intent = if intent == "charge" {
                        "session"
                    } else {
                        "charge"
                    }
                }
                Change::Realm => realm = "mock-merchant/elsewhere".to_owned(),
                Change::PaymentMethodTypes => terms.payment_method_types = vec!["card"],
                Change::Digest => digest = challenges::body_digest(b"another body"),
                Change::Opaque => revision = Some(before),
                Change::Header => header = alternate_header(header),
                Change::Description => terms.description.push_str(" (revised wording)"),
                Change::Benign => {}
                Change::KeyOrder => terms.reversed_keys = true,
            }
        }
        let binding = Binding {
            secret: &shared.config.challenge_secret,
            realm: &realm,
            route: &self.route,
            expires: Some(challenges::expires_after(
                shared.clock.now(),
                shared.config.challenge_lifetime,
                shared.next_issue(),
            )),
            digest,
            header,
            revision,
            slot: shared.config.header_slot,
        };
        let [tempo_charge, tempo_session, lightning] = challenges::distractors(&binding, &terms);
        let mut offers: Vec<Offer> = vec![tempo_charge];
        if self.spec.stripe {
            let stripe = challenges::stripe(&binding, &terms, intent);
            shared.remember_issued(
                &stripe.challenge.id,
                challenges::Issued::new(&self.route, &stripe, &terms),
            );
            offers.push(stripe);
        }
        offers.extend([tempo_session, lightning]);
        let offers = challenges::rank_by_preference(offers, self.accept_payment.as_deref());
        for offer in &offers {
            let c = &offer.challenge;
            let mut entry = self
                .record("challenge_issued")
                .challenge(&c.id)
                .method(c.method.as_str(), c.intent.as_str());
            if c.method.as_str() == "stripe" {
                entry = entry.detail(format!("{} {}", terms.amount, terms.currency));
            }
            shared.record(entry);
        }
        challenges::lay_out(&offers, self.spec.layout)
    }

    /// A rejection: recorded, with fresh challenges when it is a 402.
    fn reject(
        &self,
        kind: ProblemType,
        status: StatusCode,
        detail: String,
        credential: Option<&PaymentCredential>,
    ) -> Response {
        let mut entry = self.record("rejected").problem(kind.code()).detail(&detail);
        if let Some(credential) = credential {
            entry = entry
                .challenge(&credential.challenge.id)
                .spt(spt_of(credential));
        }
        self.state.record(entry);
        let challenges = if status == StatusCode::PAYMENT_REQUIRED {
            self.issue()
        } else {
            Vec::new()
        };
        payment_problem(kind, status, detail, &challenges)
    }

    fn reject_402(
        &self,
        kind: ProblemType,
        detail: impl Into<String>,
        credential: Option<&PaymentCredential>,
    ) -> Response {
        self.reject(
            kind,
            StatusCode::PAYMENT_REQUIRED,
            detail.into(),
            credential,
        )
    }
}

/// Whether a header value is a `Payment` credential (scheme compared case-insensitively).
pub fn is_payment_value(value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value);
    text.split_ascii_whitespace()
        .next()
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("payment"))
}

fn payment_values<'h>(headers: &'h HeaderMap, field: &str) -> Vec<&'h HeaderValue> {
    headers
        .get_all(field)
        .iter()
        .filter(|v| is_payment_value(v.as_bytes()))
        .collect()
}

/// The other field a `header` change flips to: `Payment-Authorization` for a
/// route using `Authorization`, and back.
fn alternate_header(header: Option<&'static str>) -> Option<&'static str> {
    match header {
        None => Some("Payment-Authorization"),
        Some(_) => None,
    }
}

/// The absolute URL a request addressed (`http://<Host><path>?<query>`).
pub fn requested_url(state: &AppState, headers: &HeaderMap, path_and_query: &str) -> String {
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) => format!("http://{host}{path_and_query}"),
        None => format!("{}{path_and_query}", state.base_url),
    }
}

/// Answers `redirect` instead of the route, recorded as `redirected`.
fn redirect(exchange: &Exchange<'_>, location: &str, status: u16, why: &str) -> Response {
    exchange.state.record(
        exchange
            .record("redirected")
            .detail(format!("{status} to {location} ({why})")),
    );
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
    let mut response = status.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Where a knob's redirect points.
fn knob_location(state: &AppState, to: Target) -> String {
    match to {
        Target::SameOrigin => format!("{}{LANDING_PATH}", state.base_url),
        Target::CrossOrigin => format!("{}{LANDING_PATH}", state.cross_origin),
    }
}

/// Answers a request to the paid endpoint `spec`.
pub async fn serve(state: AppState, spec: &'static PaidSpec, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or(spec.path, |p| p.as_str());
    let route = format!("{} {path_and_query}", parts.method);
    if parts.method.as_str() != spec.method {
        let mut response = plain_problem(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} accepts {} only", spec.path, spec.method),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(spec.method));
        return response;
    }
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return plain_problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("bodies are limited to {MAX_BODY_BYTES} bytes"),
        );
    };
    let exchange = Exchange {
        state: &state,
        spec,
        url: requested_url(&state, &parts.headers, path_and_query),
        route,
        body,
        accept_payment: parts
            .headers
            .get("accept-payment")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        knobs: if spec.faults {
            state.knobs_of(spec.merchant)
        } else {
            Knobs::default()
        },
    };
    // The field the route's challenges select; with a `header` change, later
    // challenges select the other one, so both are read.
    let field = spec.header.unwrap_or("Authorization");
    let mut fields = vec![field];
    if exchange.change() == Some(Change::Header) {
        fields.push(alternate_header(spec.header).unwrap_or("Authorization"));
    }
    let values: Vec<(&str, &HeaderValue)> = fields
        .iter()
        .flat_map(|f| {
            payment_values(&parts.headers, f)
                .into_iter()
                .map(|v| (*f, v))
        })
        .collect();
    let (received_in, value) = match values.as_slice() {
        [] => {
            if let Some(knob) = exchange.knobs.redirect_reprobe
                && state.probes_of(&exchange.route) > 0
            {
                let location = knob_location(&state, knob.to);
                return redirect(&exchange, &location, knob.status(), "re-probe after a 402");
            }
            let detail = if spec.header.is_some()
                && !payment_values(&parts.headers, "authorization").is_empty()
            {
                format!(
                    "this merchant expects the credential in the {field} header, not Authorization"
                )
            } else {
                format!(
                    "{} requires payment: {}; see the challenges in WWW-Authenticate",
                    spec.path, spec.description
                )
            };
            let challenges = exchange.issue();
            return payment_required(ProblemType::PaymentRequired, detail, &challenges);
        }
        [(field, value)] => (*field, *value),
        several => {
            return exchange.reject(
                ProblemType::BadRequest,
                StatusCode::BAD_REQUEST,
                format!(
                    "{} Payment credentials in one request; send one",
                    several.len()
                ),
                None,
            );
        }
    };
    if let Some(knob) = exchange.knobs.redirect_paid_retry {
        let location = knob_location(&state, knob.to);
        return redirect(&exchange, &location, knob.status(), "paid retry");
    }
    if let Some(legacy) = spec.redirect_retry {
        let location = match legacy {
            RetryRedirect::SameOrigin => "/m/api/report".to_owned(),
            RetryRedirect::CrossOrigin => format!("{}/m/api/report", state.cross_origin),
        };
        return redirect(&exchange, &location, 307, "paid retry");
    }
    let idempotency = parts
        .headers
        .get("idempotency-key")
        .map(|key| IdempotentRetry {
            key: format!(
                "{} {}",
                exchange.route,
                String::from_utf8_lossy(key.as_bytes())
            ),
            credential: String::from_utf8_lossy(value.as_bytes()).into_owned(),
        });
    if let Some(retry) = &idempotency
        && let Some(stored) = state.paid_answer(&retry.key)
    {
        return replay(&exchange, retry, &stored);
    }
    let credential = match value.to_str().ok().map(parse_credential) {
        Some(Ok(credential)) => credential,
        Some(Err(error)) => {
            return exchange.reject_402(ProblemType::MalformedCredential, error.to_string(), None);
        }
        None => {
            return exchange.reject_402(
                ProblemType::MalformedCredential,
                "the credential is not visible ASCII",
                None,
            );
        }
    };
    verify_and_settle(&exchange, &credential, received_in, idempotency.as_ref()).await
}

/// A paid retry carrying an `Idempotency-Key`: its key (scoped by route)
/// and the credential it presented.
struct IdempotentRetry {
    key: String,
    credential: String,
}

/// The stored answer again for the same key, credential and body (the
/// client lost the first one: draft -02's SHOULD); a 422 for another
/// request under that key. Nothing is verified or settled again.
fn replay(exchange: &Exchange<'_>, retry: &IdempotentRetry, stored: &PaidAnswer) -> Response {
    let same_body = stored.body_digest == challenges::body_digest(&exchange.body);
    if stored.credential != retry.credential || !same_body {
        let detail = "this Idempotency-Key was already used for another request (a different credential or body); use a new key";
        exchange.state.record(
            exchange
                .record("rejected")
                .problem("idempotency-key-reused")
                .detail(detail),
        );
        return plain_problem(StatusCode::UNPROCESSABLE_ENTITY, detail);
    }
    exchange.state.record(
        exchange
            .record("replayed")
            .reference(stored.body["payment_intent"].as_str().unwrap_or_default())
            .detail("the stored answer to the same Idempotency-Key, credential and body"),
    );
    let mut response = crate::respond::paid(&stored.body, &stored.receipt);
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

async fn verify_and_settle(
    exchange: &Exchange<'_>,
    credential: &PaymentCredential,
    received_in: &str,
    idempotency: Option<&IdempotentRetry>,
) -> Response {
    let state = exchange.state;
    let spec = exchange.spec;
    let echo = &credential.challenge;
    let spt = spt_of(credential);
    let accepts = Accepts {
        stripe: spec.stripe,
        intent: spec.intent,
        received_in: Some(received_in),
        minimum_amount: exchange.current_price(),
        payer_refused: exchange.knobs.refuses(credential.source.as_deref()),
    };
    match verify::pay(state, accepts, &exchange.route, &exchange.body, credential).await {
        Outcome::Paid {
            payment_intent,
            amount,
            currency,
        } => {
            state.record(
                exchange
                    .record("paid")
                    .challenge(&echo.id)
                    .method("stripe", spec.intent)
                    .spt(spt)
                    .reference(&payment_intent)
                    .detail(format!("{amount} {currency}")),
            );
            let receipt = format_receipt(&stripe_receipt(&payment_intent));
            let received = (!exchange.body.is_empty())
                .then(|| String::from_utf8_lossy(&exchange.body).into_owned());
            let body = json!({
                "merchant": spec.merchant,
                "route": exchange.route,
                "resource": spec.description,
                "amount": amount,
                "currency": currency,
                "payment_intent": payment_intent,
                "received_body": received,
            });
            if let Some(retry) = idempotency {
                state.remember_paid(
                    &retry.key,
                    PaidAnswer {
                        credential: retry.credential.clone(),
                        body_digest: challenges::body_digest(&exchange.body),
                        body: body.clone(),
                        receipt: receipt.clone(),
                    },
                );
            }
            crate::respond::paid(&body, &receipt)
        }
        Outcome::Rejected(rejection) => exchange.reject(
            rejection.kind,
            rejection.status,
            rejection.detail,
            Some(credential),
        ),
        Outcome::Forbidden(detail) => {
            state.record(
                exchange
                    .record("rejected")
                    .challenge(&echo.id)
                    .spt(spt)
                    .problem("forbidden")
                    .detail(&detail),
            );
            plain_problem(StatusCode::FORBIDDEN, detail)
        }
        Outcome::Unavailable(detail) => {
            state.record(
                exchange
                    .record("rejected")
                    .challenge(&echo.id)
                    .spt(spt)
                    .problem(ProblemType::InternalPaymentError.code())
                    .detail(&detail),
            );
            payment_problem(
                ProblemType::InternalPaymentError,
                StatusCode::INTERNAL_SERVER_ERROR,
                detail,
                &[],
            )
        }
    }
}
