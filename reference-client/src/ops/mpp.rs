//! `mpp decode` and `mpp pay`: the 402 flow on top of the shared MPP wire
//! layer (`mpp-wire`), with the client-safety rules: no credential across a
//! cross-origin redirect, a refreshed challenge must keep its terms, the
//! caller's `Authorization` is replaced, never doubled, and an SPT only goes
//! to the network it was approved for.

use std::future::Future;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Map, Value, json};

use mpp_wire::{CredentialHeader, DecodeError, StripeChallenge, select_stripe_challenge};

use crate::args::{CreateArgs, DecodeArgs, PayArgs};
use crate::error::{ClientError, Result, codes};
use crate::link::{Link, network_error};
use crate::ops::Poller;
use crate::ops::spend_requests::{create_request, parse_amount, wait_for_terminal};
use crate::output::Emit;
use crate::sanitize::{clean_json, clean_text};

/// What a spend request is retrieved with to get its token.
const SPT_INCLUDE: &str = "shared_payment_token";

/// Redirects followed within one origin before giving up.
const MAX_REDIRECTS: usize = 5;

/// Maps a decoding failure to the client's error codes.
pub fn decode_error(error: &DecodeError) -> ClientError {
    match error {
        DecodeError::NoPaymentChallenge | DecodeError::NoStripeChallenge { .. } => {
            ClientError::new(
                codes::NO_STRIPE_CHALLENGE,
                format!("not supported by Link: {error}"),
            )
        }
        DecodeError::InvalidField { field, .. } => {
            ClientError::new(codes::INVALID_CHALLENGE, clean_text(&error.to_string()))
                .with("field", field.clone())
        }
        DecodeError::TooLarge { .. } => {
            ClientError::new(codes::INVALID_CHALLENGE, error.to_string())
        }
        DecodeError::Expired { .. } => ClientError::new(
            codes::CHALLENGE_EXPIRED,
            format!("{error}: ask the merchant for a new one (probe the URL again)"),
        ),
    }
}

/// The decoded view printed by `mpp decode`.
pub fn decoded_view(challenge: &StripeChallenge) -> Value {
    clean_json(serde_json::to_value(challenge).unwrap_or_default())
}

/// `mpp decode`.
pub async fn decode(args: DecodeArgs, out: &mut dyn Emit) -> Result<()> {
    let challenge = select_stripe_challenge(args.challenge.iter().map(String::as_bytes))
        .map_err(|e| decode_error(&e))?;
    out.emit(decoded_view(&challenge));
    Ok(())
}

/// One HTTP request to a merchant, re-sendable.
#[derive(Debug, Clone)]
struct Call {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<String>,
}

/// A merchant's answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn www_authenticate(&self) -> Vec<&[u8]> {
        self.headers
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .map(HeaderValue::as_bytes)
            .collect()
    }

    /// `{status, headers, body, receipt?}`, everything the merchant wrote cleaned of control characters.
    fn to_json(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for name in self.headers.keys() {
            let values: Vec<String> = self
                .headers
                .get_all(name)
                .iter()
                .map(|v| clean_text(&String::from_utf8_lossy(v.as_bytes())))
                .collect();
            headers.insert(clean_text(name.as_str()), json!(values.join(", ")));
        }
        let text = String::from_utf8_lossy(&self.body);
        let body = serde_json::from_str::<Value>(&text)
            .unwrap_or_else(|_| Value::String(text.into_owned()));
        let mut out =
            json!({"status": self.status.as_u16(), "headers": headers, "body": clean_json(body)});
        if let Some(value) = self
            .headers
            .get("payment-receipt")
            .and_then(|v| v.to_str().ok())
        {
            out["receipt"] = match mpp_wire::parse_receipt(value) {
                Ok(receipt) => clean_json(serde_json::to_value(receipt).unwrap_or_default()),
                Err(e) => json!({"error": clean_text(&e.to_string())}),
            };
        }
        out
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Sends `call` once, with `credential` if given; redirects are not followed.
async fn send_once(
    link: &Link,
    call: &Call,
    credential: Option<(&HeaderName, &HeaderValue)>,
) -> Result<Answer> {
    let mut request = link
        .http()
        .request(call.method.clone(), call.url.clone())
        .headers(call.headers.clone());
    if let Some((name, value)) = credential {
        request = request.header(name, value);
    }
    if let Some(body) = &call.body {
        request = request.body(body.clone());
    }
    let response = request
        .send()
        .await
        .map_err(|e| network_error(call.url.as_str(), &e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| network_error(call.url.as_str(), &e))?
        .to_vec();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Probes `call` before any credential exists, following redirects within its
/// origin only (301 to 303 turn it into a body-less GET). Returns the answer
/// and the request that got it: after approval that request is pinned, and the
/// credential goes only to the URL that answered. A redirect to another origin
/// is refused: a credential (or the next step's) must never reach a host the
/// user did not name.
async fn probe(link: &Link, call: &Call) -> Result<(Answer, Call)> {
    let mut current = call.clone();
    for _ in 0..=MAX_REDIRECTS {
        let answer = send_once(link, &current, None).await?;
        let Some(location) = answer
            .status
            .is_redirection()
            .then(|| answer.headers.get(reqwest::header::LOCATION))
            .flatten()
            .and_then(|l| l.to_str().ok())
        else {
            return Ok((answer, current));
        };
        let target = current.url.join(location).map_err(|_| {
            ClientError::new(
                codes::INVALID_RESPONSE,
                "the merchant redirected to an unreadable Location",
            )
        })?;
        if !same_origin(&call.url, &target) {
            return Err(ClientError::new(
                codes::CROSS_ORIGIN_REDIRECT,
                format!(
                    "{} redirected to another origin ({}): not followed, no payment sent there",
                    clean_text(call.url.as_str()),
                    clean_text(target.origin().ascii_serialization().as_str())
                ),
            )
            .with("location", clean_text(target.as_str())));
        }
        if matches!(answer.status.as_u16(), 301..=303) {
            current.method = Method::GET;
            current.body = None;
            current.headers.remove(reqwest::header::CONTENT_TYPE);
        }
        current.url = target;
    }
    Err(ClientError::new(
        codes::INVALID_RESPONSE,
        format!("more than {MAX_REDIRECTS} redirects"),
    ))
}

/// Sends the pinned request after approval (the re-probe, or the paid retry
/// with its credential): a redirect is refused, never followed.
async fn send_pinned(
    link: &Link,
    call: &Call,
    credential: Option<(&HeaderName, &HeaderValue)>,
) -> Result<Answer> {
    let answer = send_once(link, call, credential).await?;
    if !answer.status.is_redirection() {
        return Ok(answer);
    }
    let status = answer.status.as_u16();
    let message = if credential.is_some() {
        format!(
            "Paid MPP request returned redirect {status}; refusing to forward the payment credential"
        )
    } else {
        format!(
            "MPP challenge destination redirected with status {status} after approval; nothing was sent"
        )
    };
    let mut error = ClientError::new(codes::REDIRECT_REFUSED, message).with("status", status);
    if let Some(location) = answer
        .headers
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
    {
        error = error.with("location", clean_text(location));
    }
    Err(error)
}

/// MPP requests go over HTTPS; plain HTTP only to this machine, on the exact
/// hosts `127.0.0.1`, `localhost` and `[::1]` (for development and the mocks).
fn ensure_safe_target(url: &Url) -> Result<()> {
    // The parsed host is normalised (`127.1` is `127.0.0.1`, `[0::1]` is `[::1]`).
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() == "https" || (url.scheme() == "http" && loopback) {
        return Ok(());
    }
    Err(ClientError::invalid_input(format!(
        "MPP requests require HTTPS (HTTP is allowed only for localhost development): {}",
        clean_text(url.as_str())
    )))
}

fn build_call(args: &PayArgs) -> Result<Call> {
    let url = Url::parse(&args.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            ClientError::invalid_input(format!("{:?} is not an http(s) URL", args.url))
        })?;
    ensure_safe_target(&url)?;
    let method = match &args.method {
        Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
            .map_err(|_| ClientError::invalid_input(format!("{m:?} is not an HTTP method")))?,
        None if args.data.is_some() => Method::POST,
        None => Method::GET,
    };
    let mut headers = HeaderMap::new();
    for raw in &args.headers {
        let (name, value) = raw.split_once(':').ok_or_else(|| {
            ClientError::invalid_input(format!("header {raw:?} is not `Name: value`"))
        })?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            ClientError::invalid_input(format!("{:?} is not a header name", name.trim()))
        })?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| {
            ClientError::invalid_input(format!("the value of header {name} is not valid"))
        })?;
        headers.append(name, value);
    }
    if args.data.is_some() && !headers.contains_key(reqwest::header::CONTENT_TYPE) {
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    Ok(Call {
        method,
        url,
        headers,
        body: args.data.clone(),
    })
}

/// What an approved challenge pins: every field but `id` and `expires`, the
/// request and `opaque` as JSON (so key order does not matter), `header` by
/// the field it selects, realm and description without terminal controls.
fn pinned_terms(c: &StripeChallenge) -> Map<String, Value> {
    let opaque = c.challenge.opaque.as_ref().map(|o| {
        mpp_wire::mpp::base64url_decode(o.raw())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .unwrap_or_else(|| json!(o.raw()))
    });
    let mut terms = Map::new();
    for (key, value) in [
        ("realm", json!(clean_text(&c.realm))),
        ("method", json!(c.method)),
        ("intent", json!(c.intent)),
        ("request", Value::Object(c.request_json.clone())),
        (
            "description",
            json!(c.description.as_deref().map(clean_text)),
        ),
        ("digest", json!(c.digest)),
        // By the field it selects: `authorization` and no header are the same.
        (
            "header",
            json!(
                c.credential_field()
                    .map(|f| f.as_str().to_owned())
                    .unwrap_or_else(|e| e.header)
            ),
        ),
        ("opaque", json!(opaque)),
    ] {
        terms.insert(key.to_owned(), value);
    }
    terms
}

/// The pinned fields that differ between two challenges, request members by
/// path (`request.amount`, `request.methodDetails.networkId`, ...).
fn changed_terms(approved: &StripeChallenge, now: &StripeChallenge) -> Vec<String> {
    fn diff(prefix: &str, a: &Map<String, Value>, b: &Map<String, Value>, out: &mut Vec<String>) {
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for key in keys {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match (a.get(key), b.get(key)) {
                (Some(Value::Object(x)), Some(Value::Object(y))) if path.starts_with("request") => {
                    diff(&path, x, y, out)
                }
                (x, y) if x != y => out.push(clean_text(&path)),
                _ => {}
            }
        }
    }
    let mut changed = Vec::new();
    diff(
        "",
        &pinned_terms(approved),
        &pinned_terms(now),
        &mut changed,
    );
    changed
}

/// Refuses a refreshed challenge whose pinned terms differ from the approved one's.
fn ensure_unchanged(approved: &StripeChallenge, now: &StripeChallenge) -> Result<()> {
    let changed = changed_terms(approved, now);
    if changed.is_empty() {
        return Ok(());
    }
    Err(ClientError::new(
        codes::TERMS_CHANGED,
        format!(
            "MPP challenge changed after approval; refusing to use the approved payment credential (changed: {})",
            changed.join(", ")
        ),
    )
    .with("changed", changed))
}

/// The challenge an agent approved, carried across runs by `--approved-challenge`.
fn approved_challenge(raw: &str) -> Result<StripeChallenge> {
    select_stripe_challenge([raw]).map_err(|e| {
        ClientError::invalid_input(format!(
            "--approved-challenge is not a stripe challenge: {}",
            clean_text(&e.to_string())
        ))
    })
}

/// The approved challenge as a `WWW-Authenticate` value for `--approved-challenge`:
/// the stripe challenge alone, written again (so that none of the merchant's
/// other challenges, nor its raw escapes, travel with it); the raw header if
/// it cannot be written.
fn approved_header(challenge: &StripeChallenge, probe: &Answer) -> String {
    // Written escaped, terminal controls in the realm or description would
    // still reach the agent's log; the terms compare both cleaned too.
    let mut written = challenge.challenge.clone();
    written.realm = clean_text(&written.realm);
    written.description = written.description.as_deref().map(clean_text);
    mpp_wire::format_challenge(&written, written.header.as_deref()).unwrap_or_else(|_| {
        probe
            .www_authenticate()
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// Quotes one argument for a POSIX shell (left bare when it is plainly safe).
fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if safe {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// `_next` of the whole flow's spend request: how to finish the payment in
/// another run if this one stops before paying. `pay_argv` (no shell needed)
/// pays the pinned request with the approved challenge; `pay_command` is the
/// same, shell-quoted.
fn pay_next(id: &str, call: &Call, approved_header: &str) -> Value {
    let mut args: Vec<String> = vec![
        "pay".into(),
        call.url.to_string(),
        "--spend-request-id".into(),
        id.to_owned(),
        "--approved-challenge".into(),
        approved_header.to_owned(),
        "--method".into(),
        call.method.to_string(),
    ];
    if let Some(body) = &call.body {
        args.extend(["--data".into(), body.clone()]);
    }
    for (name, value) in &call.headers {
        args.extend([
            "--header".into(),
            format!("{name}: {}", String::from_utf8_lossy(value.as_bytes())),
        ]);
    }
    let args: Vec<String> = args.iter().map(|a| clean_text(a)).collect();
    let poll = format!(
        "spend-request retrieve {} --interval 2 --max-attempts 300",
        shell_quote(id)
    );
    json!({
        "poll_command": poll,
        "pay_command": format!(
            "mpp {}",
            args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
        ),
        "pay_argv": {"command": "mpp", "args": args},
        "until": "status changes from pending_approval, then run pay_argv",
    })
}

/// The field the credential goes in, by draft -02's allow-list: `Authorization`
/// (no `header`, or `Authorization`) or `Payment-Authorization`. Any other is
/// refused before anything is created or sent.
fn credential_field(challenge: &StripeChallenge) -> Result<HeaderName> {
    match challenge.credential_field() {
        Ok(CredentialHeader::Authorization) => Ok(reqwest::header::AUTHORIZATION),
        Ok(CredentialHeader::PaymentAuthorization) => {
            Ok(HeaderName::from_static("payment-authorization"))
        }
        Err(e) => Err(ClientError::new(
            codes::INVALID_CHALLENGE,
            format!(
                "Unsupported payment credential header {:?}. Only Authorization (default) and Payment-Authorization are supported; nothing was sent",
                clean_text(&e.header)
            ),
        )
        .with("field", e.field())),
    }
}

fn payable_challenge(answer: &Answer) -> Result<StripeChallenge> {
    let challenge =
        select_stripe_challenge(answer.www_authenticate()).map_err(|e| decode_error(&e))?;
    challenge
        .ensure_payable(time::OffsetDateTime::now_utc())
        .map_err(|e| decode_error(&e))?;
    Ok(challenge)
}

/// Checks that an approved spend request may pay `challenge`: an approved
/// `shared_payment_token` request for the challenge's network, amount and currency.
fn check_request(request: &Value, challenge: &StripeChallenge) -> Result<()> {
    let id = request
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("the spend request");
    let field = |k: &str| request.get(k).and_then(Value::as_str).unwrap_or_default();
    if field("credential_type") != "shared_payment_token" {
        return Err(ClientError::new(
            codes::WRONG_CREDENTIAL_TYPE,
            format!(
                "{id} has credential type {:?}: mpp pay needs a shared_payment_token spend request",
                field("credential_type")
            ),
        ));
    }
    if field("status") == "succeeded" {
        return Err(ClientError::new(
            codes::SPEND_REQUEST_NOT_APPROVED,
            format!(
                "{id} already paid a merchant: its token is used up; create a new spend request"
            ),
        ));
    }
    if field("status") != "approved" {
        return Err(ClientError::new(
            codes::SPEND_REQUEST_NOT_APPROVED,
            format!(
                "{id} is {:?}, not approved: nothing was sent to the merchant",
                field("status")
            ),
        ));
    }
    if field("network_id") != challenge.network_id {
        return Err(ClientError::new(
            codes::NETWORK_MISMATCH,
            format!(
                "{id} was approved for network {:?} but the merchant's challenge names {:?}: the token is not sent",
                field("network_id"),
                clean_text(&challenge.network_id)
            ),
        ));
    }
    let approved = request.get("amount").and_then(Value::as_u64).unwrap_or(0);
    let asked: u64 = challenge.amount().parse().unwrap_or(u64::MAX);
    if asked > approved {
        return Err(ClientError::new(
            codes::AMOUNT_MISMATCH,
            format!(
                "the merchant asks {asked} but {id} approved at most {approved}: the token is not sent"
            ),
        ));
    }
    if !field("currency").eq_ignore_ascii_case(challenge.currency()) {
        return Err(ClientError::new(
            codes::AMOUNT_MISMATCH,
            format!(
                "the merchant asks in {:?} but {id} is in {:?}",
                clean_text(challenge.currency()),
                field("currency")
            ),
        ));
    }
    Ok(())
}

/// The shared payment token of a spend request, if Link has minted it yet
/// (`{"id": "spt_..."}`, or the id alone).
fn token_of(request: &Value) -> Option<String> {
    let token = request.get("shared_payment_token");
    token
        .and_then(|t| t.get("id"))
        .or(token)
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The token of an approved spend request. Link may mint it a few seconds
/// after approval: when `request` (the retrieval at 0 s) has none, it is
/// retrieved again after each of `delays` but the first (by default at 1, 2,
/// 3, 5, 7, 9 and 11 s), and without a token the payment stops there.
async fn await_token<F, Fut>(
    request: &Value,
    delays: &[Duration],
    mut retrieve: F,
) -> Result<String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Value>>,
{
    if let Some(token) = token_of(request) {
        return Ok(token);
    }
    for delay in delays.iter().skip(1) {
        tokio::time::sleep(*delay).await;
        if let Some(token) = token_of(&retrieve().await?) {
            return Ok(token);
        }
    }
    let id = request
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("the spend request");
    let waited: Duration = delays.iter().skip(1).sum();
    Err(ClientError::new(
        codes::SPT_UNAVAILABLE,
        format!(
            "Failed to retrieve shared payment token: {id} is approved but Link had no token after {} retrievals over {} s; nothing was sent to the merchant, run the same command again later",
            delays.len().max(1),
            waited.as_secs_f64()
        ),
    )
    .with("retryable", true))
}

/// The token of `request` once checked against `challenge`, retrieved again
/// while Link has not minted it.
async fn token_for(link: &Link, request: &Value, challenge: &StripeChallenge) -> Result<String> {
    check_request(request, challenge)?;
    let id = request
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let include = [SPT_INCLUDE.to_owned()];
    await_token(request, &link.config().spt_retry_delays, || {
        crate::ops::spend_requests::fetch(link, id, &include)
    })
    .await
}

fn default_context(call: &Call, challenge: &StripeChallenge) -> String {
    let what = challenge
        .description
        .as_deref()
        .map(clean_text)
        .unwrap_or_else(|| "the requested resource".into());
    format!(
        "Machine payment of {} {} (smallest unit) to {} for {} at {}, requested by an agent through an HTTP 402 challenge. Approve only if you expect this purchase.",
        challenge.amount(),
        challenge.currency().to_ascii_uppercase(),
        clean_text(&challenge.realm),
        what,
        clean_text(call.url.as_str()),
    )
}

/// The merchant failed (a 5xx, or no answer) after the credential carrying the
/// spend request's token was sent: it may have been charged or not. Never
/// `retryable`: sending the token again could pay twice.
fn outcome_unknown(spend_request_id: &str, what: &str) -> ClientError {
    let id = clean_text(spend_request_id);
    ClientError::new(
        codes::PAYMENT_OUTCOME_UNKNOWN,
        format!(
            "the merchant {what} after the payment credential (the shared payment token of spend request {id}) was sent: the payment may not have completed, or may have. Check with the merchant and `link-ref spend-request retrieve {id}` before paying again"
        ),
    )
    .with("credential_sent", true)
    .with("spend_request_id", id)
    .with("retryable", false)
}

/// `mpp pay <url>`.
pub async fn pay(link: &Link, args: PayArgs, out: &mut dyn Emit) -> Result<()> {
    let mut call = build_call(&args)?;
    let wanted_amount = args.amount.as_deref().map(parse_amount).transpose()?;
    let pinned = args
        .approved_challenge
        .as_deref()
        .map(approved_challenge)
        .transpose()?;

    // With an approved spend request in hand the URL is already pinned: no
    // redirect is followed. The whole flow probes first, redirects allowed.
    let probe = match &args.spend_request_id {
        Some(_) => send_pinned(link, &call, None).await?,
        None => {
            let (answer, effective) = probe(link, &call).await?;
            call = effective;
            answer
        }
    };
    if probe.status != StatusCode::PAYMENT_REQUIRED {
        out.emit(probe.to_json());
        return Ok(());
    }
    let mut challenge = payable_challenge(&probe)?;
    credential_field(&challenge)?;
    // The challenge the user approved must be the one paid: with
    // `--approved-challenge`, a refreshed challenge with other terms is refused.
    if let Some(approved) = &pinned {
        ensure_unchanged(approved, &challenge)?;
    }
    if let Some(amount) = wanted_amount
        && amount.to_string() != challenge.amount()
    {
        return Err(ClientError::new(
            codes::AMOUNT_MISMATCH,
            format!(
                "--amount {amount} differs from the challenge's amount {}: nothing created",
                clean_text(challenge.amount())
            ),
        ));
    }

    let include = vec![SPT_INCLUDE.to_owned()];
    // Never a credential without a token: none is built until Link has one.
    let (spt, spend_request_id) = match &args.spend_request_id {
        Some(id) => {
            let request = crate::ops::spend_requests::fetch(link, id, &include).await?;
            (token_for(link, &request, &challenge).await?, id.clone())
        }
        None => {
            let created = create_request(
                link,
                &CreateArgs {
                    payment_method_id: args.payment_method_id.clone(),
                    credential_type: Some("shared_payment_token".into()),
                    network_id: Some(challenge.network_id.clone()),
                    amount: Some(challenge.amount().to_owned()),
                    currency: Some(challenge.currency().to_owned()),
                    context: Some(
                        args.context
                            .clone()
                            .unwrap_or_else(|| default_context(&call, &challenge)),
                    ),
                    request_approval: true,
                    ..CreateArgs::default()
                },
            )
            .await?;
            let id = created
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let mut shown = created;
            if let Some(object) = shown.as_object_mut() {
                let approved_header = approved_header(&challenge, &probe);
                object.insert("_next".into(), pay_next(&id, &call, &approved_header));
            }
            out.emit(shown);
            // As the `_next` hint of `create` says: every 2 s, at most 300 times.
            let poller = Poller::new(
                args.interval.unwrap_or(2.0),
                args.timeout,
                args.max_attempts.or(Some(300)),
                "the spend request's approval",
            )?;
            let approved = wait_for_terminal(link, &id, &include, poller).await?;
            let spt = token_for(link, &approved, &challenge).await?;
            // The challenge may have expired while the user decided: probe again,
            // and pay the fresh challenge only if its terms are the same.
            let again = send_pinned(link, &call, None).await?;
            if again.status != StatusCode::PAYMENT_REQUIRED {
                out.emit(again.to_json());
                return Ok(());
            }
            let fresh = payable_challenge(&again)?;
            credential_field(&fresh)?;
            ensure_unchanged(&challenge, &fresh)?;
            check_request(&approved, &fresh)?;
            challenge = fresh;
            (spt, id)
        }
    };

    let header_name = credential_field(&challenge)?;
    let header_value = HeaderValue::from_str(&mpp_wire::format_credential(
        &challenge.spt_credential(&spt),
    ))
    .map_err(|_| {
        ClientError::new(
            codes::INVALID_CHALLENGE,
            "the credential is not a valid header value",
        )
    })?;
    // The credential replaces whatever the caller put in its field (never two
    // Authorization values); in Payment-Authorization, Authorization stays the app's.
    call.headers.remove(&header_name);
    let paid = match send_pinned(link, &call, Some((&header_name, &header_value))).await {
        Ok(paid) => paid,
        Err(e) if e.code == codes::NETWORK_ERROR => {
            return Err(
                outcome_unknown(&spend_request_id, "did not answer").with("detail", e.message)
            );
        }
        Err(e) => return Err(e),
    };
    let answer = paid.to_json();
    if paid.status.is_server_error() {
        let mut error = outcome_unknown(
            &spend_request_id,
            &format!("answered {}", paid.status.as_u16()),
        );
        for key in ["status", "headers", "body"] {
            error = error.with(key, answer[key].clone());
        }
        return Err(error);
    }
    if paid.status == StatusCode::PAYMENT_REQUIRED {
        let problem = answer["body"]["type"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned();
        let mut error = ClientError::new(
            codes::NOT_PAYABLE,
            format!(
                "the merchant refused the payment ({problem}); do not retry with the same spend request, create a new one"
            ),
        );
        for key in ["status", "headers", "body"] {
            error = error.with(key, answer[key].clone());
        }
        return Err(error.with("problem", problem));
    }
    out.emit(answer);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn approved(token: Option<&str>) -> Value {
        let mut request = json!({"id": "lsrq_1", "status": "approved"});
        if let Some(token) = token {
            request["shared_payment_token"] = json!({"id": token});
        }
        request
    }

    fn challenge_with(extra: &str) -> StripeChallenge {
        let request = mpp_wire::mpp::base64url_encode(
            br#"{"amount":"100","currency":"usd","methodDetails":{"networkId":"profile_a"}}"#,
        );
        select_stripe_challenge([format!(
            r#"Payment id="c1", realm="shop", method="stripe", intent="charge", request="{request}"{extra}"#
        )])
        .unwrap()
    }

    #[test]
    fn plain_http_only_to_the_exact_loopback_hosts() {
        for ok in [
            "https://shop.example/x",
            "http://127.0.0.1:4020/m/api/report",
            "http://localhost/x",
            "http://LOCALHOST:80/x",
            "http://[::1]:8080/x",
            "http://127.1/x",
        ] {
            assert!(ensure_safe_target(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        for refused in [
            "http://shop.example/x",
            "http://127.0.0.2/x",
            "http://localhost.shop.example/x",
            "http://[::2]/x",
            "http://0.0.0.0/x",
        ] {
            let e = ensure_safe_target(&Url::parse(refused).unwrap()).unwrap_err();
            assert_eq!(e.code, codes::INVALID_INPUT, "{refused}");
            assert!(e.message.starts_with("MPP requests require HTTPS"), "{e}");
        }
    }

    fn with_request(request: &str, extra: &str) -> StripeChallenge {
        let request = mpp_wire::mpp::base64url_encode(request.as_bytes());
        select_stripe_challenge([format!(
            r#"Payment id="c1", realm="shop", method="stripe", intent="charge", request="{request}"{extra}"#
        )])
        .unwrap()
    }

    #[test]
    fn pinning_ignores_id_expiry_and_key_order_and_names_what_changed() {
        let base = r#"{"amount":"100","currency":"usd","methodDetails":{"networkId":"p","paymentMethodTypes":["card","link"]}}"#;
        let approved = with_request(base, r#", description="tea""#);
        let same = with_request(
            r#"{"methodDetails":{"paymentMethodTypes":["card","link"],"networkId":"p"},"currency":"usd","amount":"100"}"#,
            r#", description="tea", expires="2999-01-01T00:00:00Z""#,
        );
        assert!(changed_terms(&approved, &same).is_empty());
        let cases = [
            (
                r#"{"amount":"200","currency":"usd","methodDetails":{"networkId":"p","paymentMethodTypes":["card","link"]}}"#,
                r#", description="tea""#,
                vec!["request.amount"],
            ),
            (
                r#"{"amount":"100","currency":"usd","methodDetails":{"networkId":"q","paymentMethodTypes":["card"]}}"#,
                r#", description="tea""#,
                vec![
                    "request.methodDetails.networkId",
                    "request.methodDetails.paymentMethodTypes",
                ],
            ),
            (
                r#"{"amount":"100","currency":"usd","decimals":2,"methodDetails":{"networkId":"p","paymentMethodTypes":["card","link"]}}"#,
                r#", description="tea""#,
                vec!["request.decimals"],
            ),
            (base, r#", description="coffee""#, vec!["description"]),
            (
                base,
                r#", description="tea", header="Payment-Authorization""#,
                vec!["header"],
            ),
            (
                base,
                r#", description="tea", opaque="eyJyIjoiMSJ9""#,
                vec!["opaque"],
            ),
        ];
        for (request, extra, expected) in cases {
            let now = with_request(request, extra);
            assert_eq!(
                changed_terms(&approved, &now),
                expected,
                "{extra} {request}"
            );
            let e = ensure_unchanged(&approved, &now).unwrap_err();
            assert_eq!(e.code, codes::TERMS_CHANGED);
            assert!(
                e.message
                    .starts_with("MPP challenge changed after approval")
            );
        }
    }

    #[test]
    fn the_hand_over_pays_the_pinned_request_with_the_approved_challenge() {
        let call = Call {
            method: Method::POST,
            url: Url::parse("http://127.0.0.1:9/m/api/orders").unwrap(),
            headers: {
                let mut h = HeaderMap::new();
                h.insert("x-order-ref", HeaderValue::from_static("it's $(here)"));
                h
            },
            body: Some(r#"{"sku":"tea"}"#.into()),
        };
        let next = pay_next("lsrq_1", &call, "Payment id=\"c1\"");
        assert_eq!(next["pay_argv"]["command"], "mpp");
        let args: Vec<&str> = next["pay_argv"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "pay",
                "http://127.0.0.1:9/m/api/orders",
                "--spend-request-id",
                "lsrq_1",
                "--approved-challenge",
                "Payment id=\"c1\"",
                "--method",
                "POST",
                "--data",
                r#"{"sku":"tea"}"#,
                "--header",
                "x-order-ref: it's $(here)",
            ]
        );
        assert_eq!(
            next["pay_command"],
            r#"mpp pay http://127.0.0.1:9/m/api/orders --spend-request-id lsrq_1 --approved-challenge 'Payment id="c1"' --method POST --data '{"sku":"tea"}' --header 'x-order-ref: it'\''s $(here)'"#
        );
        assert_eq!(
            next["poll_command"],
            "spend-request retrieve lsrq_1 --interval 2 --max-attempts 300"
        );
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn the_credential_goes_only_in_an_allowed_field() {
        assert_eq!(
            credential_field(&challenge_with("")).unwrap(),
            reqwest::header::AUTHORIZATION
        );
        assert_eq!(
            credential_field(&challenge_with(r#", header="authorization""#)).unwrap(),
            reqwest::header::AUTHORIZATION
        );
        assert_eq!(
            credential_field(&challenge_with(r#", header="Payment-Authorization""#)).unwrap(),
            "payment-authorization"
        );
        let e = credential_field(&challenge_with(r#", header="X-Payment""#)).unwrap_err();
        assert_eq!(e.code, codes::INVALID_CHALLENGE);
        assert_eq!(e.extra["field"], "header");
        assert!(e.message.contains("X-Payment"), "{e}");
    }

    #[tokio::test]
    async fn a_token_minted_late_is_retrieved_again_until_it_is_there() {
        let delays = [Duration::ZERO; 8];
        let calls = AtomicUsize::new(0);
        let token = await_token(&approved(None), &delays, || async {
            // Link mints the token on the third retrieval after the first.
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(approved((n == 3).then_some("spt_late")))
        })
        .await
        .unwrap();
        assert_eq!(token, "spt_late");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_token_already_there_needs_no_second_retrieval() {
        let token = await_token(&approved(Some("spt_1")), &[Duration::ZERO; 8], || async {
            panic!("retrieved again although the token was there")
        })
        .await
        .unwrap();
        assert_eq!(token, "spt_1");
        // The bare-string form some answers use.
        let bare = json!({"id": "lsrq_1", "shared_payment_token": "spt_2"});
        assert_eq!(token_of(&bare).as_deref(), Some("spt_2"));
        assert_eq!(token_of(&json!({"shared_payment_token": {"id": ""}})), None);
    }

    #[tokio::test]
    async fn without_a_token_after_the_whole_schedule_it_fails_retryable() {
        let delays = [Duration::ZERO; 8];
        let calls = AtomicUsize::new(0);
        let error = await_token(&approved(None), &delays, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(approved(None))
        })
        .await
        .unwrap_err();
        // The first retrieval was the caller's; seven more follow it.
        assert_eq!(calls.load(Ordering::SeqCst), 7);
        assert_eq!(error.code, codes::SPT_UNAVAILABLE);
        assert!(
            error
                .message
                .starts_with("Failed to retrieve shared payment token"),
            "{error}"
        );
        assert_eq!(error.extra["retryable"], true);
    }

    #[tokio::test]
    async fn a_failed_retrieval_stops_the_retries() {
        let error = await_token(&approved(None), &[Duration::ZERO; 8], || async {
            Err(ClientError::new(codes::NOT_FOUND, "gone"))
        })
        .await
        .unwrap_err();
        assert_eq!(error.code, codes::NOT_FOUND);
    }
}
