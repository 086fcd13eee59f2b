//! No panics on any input: generated credentials (garbage, and valid ones with
//! one echoed field spoiled), odd `Accept-Payment` values and bodies always get
//! a 400 or 402 Problem Details answer, never a 5xx, and never a receipt.

mod common;

use common::{Answer, Env};
use mpp_wire::format_credential;
use mpp_wire::mpp;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// How to spoil a valid credential.
#[derive(Debug, Clone)]
enum Spoil {
    /// A whole header value of random visible bytes after `Payment `.
    Garbage(String),
    /// base64url of random text.
    EncodedGarbage(String),
    /// A JSON credential with a field replaced by a random string.
    Field(&'static str, String),
    /// A random JSON payload.
    Payload(String),
}

fn spoil() -> impl Strategy<Value = Spoil> {
    let field = prop::sample::select(vec![
        "id", "realm", "method", "intent", "request", "expires", "digest", "opaque", "header",
    ]);
    prop_oneof![
        "[ -~]{0,200}".prop_map(Spoil::Garbage),
        ".{0,200}".prop_map(Spoil::EncodedGarbage),
        (field, "[ -~]{0,80}").prop_map(|(f, v)| Spoil::Field(f, v)),
        "[ -~]{0,80}".prop_map(Spoil::Payload),
    ]
}

fn credential_value(valid: &Value, spoil: &Spoil) -> String {
    match spoil {
        Spoil::Garbage(text) => format!("Payment {text}"),
        Spoil::EncodedGarbage(text) => {
            format!("Payment {}", mpp::base64url_encode(text.as_bytes()))
        }
        Spoil::Field(field, value) => {
            let mut credential = valid.clone();
            credential["challenge"][*field] = json!(value);
            format!(
                "Payment {}",
                mpp::base64url_encode(credential.to_string().as_bytes())
            )
        }
        Spoil::Payload(text) => {
            let mut credential = valid.clone();
            credential["payload"] = serde_json::from_str(text).unwrap_or(json!(text));
            format!(
                "Payment {}",
                mpp::base64url_encode(credential.to_string().as_bytes())
            )
        }
    }
}

fn assert_problem(answer: &Answer, context: &str) {
    assert!(
        answer.status == StatusCode::BAD_REQUEST || answer.status == StatusCode::PAYMENT_REQUIRED,
        "{context}: {} {}",
        answer.status,
        answer.text
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json"),
        "{context}"
    );
    assert!(answer.header("payment-receipt").is_none(), "{context}");
    if answer.status == StatusCode::PAYMENT_REQUIRED {
        assert!(!answer.www_authenticate().is_empty(), "{context}");
    }
}

#[tokio::test]
async fn spoiled_credentials_always_get_a_problem_never_a_panic_or_a_payment() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    let valid: Value =
        serde_json::to_value(challenge.spt_credential(&spt)).expect("a credential serializes");
    let mut runner = TestRunner::deterministic();
    let strategy = (spoil(), "[ -~]{0,60}");
    for case in 0..300 {
        let (spoil, accept_payment) = strategy.new_tree(&mut runner).unwrap().current();
        let value = credential_value(&valid, &spoil);
        let context = format!("case {case}: {spoil:?}");
        // A spoiled field may by chance equal the original (e.g. `header` absent → ""):
        // only the unchanged credential could pay, and then only once.
        let answer = env
            .send(
                Method::GET,
                &url,
                &[
                    ("authorization", &value),
                    ("accept-payment", &accept_payment),
                ],
                None,
            )
            .await;
        if answer.status == StatusCode::OK {
            assert!(matches!(spoil, Spoil::Field("header", _)), "{context}");
            continue;
        }
        assert_problem(&answer, &context);
    }
    let redeemed = env
        .link_events(&spt)
        .await
        .into_iter()
        .filter(|e| e == "redeemed")
        .count();
    assert!(redeemed <= 1);
}

#[tokio::test]
async fn odd_bodies_and_digests_on_post_get_problems() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/orders");
    let mut runner = TestRunner::deterministic();
    for case in 0..100 {
        let (body, retry_body) = ("(?s).{0,300}", "(?s).{0,300}")
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let body = Some(body.as_str()).filter(|b| !b.is_empty());
        let probe = env.send(Method::POST, &url, &[], body).await;
        assert_problem(&probe, &format!("probe {case}"));
        let challenge = probe.stripe_challenge();
        assert_eq!(challenge.digest.is_some(), body.is_some());
        if retry_body.as_str() == body.unwrap_or_default() {
            continue;
        }
        let credential = format_credential(&challenge.spt_credential("spt_not_real"));
        let retry = env
            .send(
                Method::POST,
                &url,
                &[("authorization", &credential)],
                Some(&retry_body)
                    .filter(|b| !b.is_empty())
                    .map(String::as_str),
            )
            .await;
        assert_problem(&retry, &format!("retry {case}"));
        assert_eq!(
            retry.problem(),
            "invalid-challenge",
            "retry {case}: {}",
            retry.text
        );
    }
    // A made-up opaque in the legacy object form is read, not a panic.
    let probe = env.send(Method::POST, &url, &[], Some("{}")).await;
    let mut credential =
        serde_json::to_value(probe.stripe_challenge().spt_credential("spt_x")).unwrap();
    credential["challenge"]["opaque"] = json!({"route": "GET /elsewhere"});
    let value = format!(
        "Payment {}",
        mpp::base64url_encode(credential.to_string().as_bytes())
    );
    let answer = env
        .send(Method::POST, &url, &[("authorization", &value)], Some("{}"))
        .await;
    assert_problem(&answer, "legacy opaque");
    assert_eq!(answer.problem(), "invalid-challenge");
}

#[tokio::test]
async fn an_oversized_body_on_a_paid_route_is_a_413_problem() {
    let env = Env::start().await;
    let response = env
        .http
        .post(env.merchant.url("api", "/orders"))
        .body(vec![b'{'; mock_merchant::limits::MAX_BODY_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}
