//! Small protocol hygiene: `Retry-After` on every 402, a cacheable
//! discovery document, and a query's bounded share of `WWW-Authenticate`.

mod common;

use common::Env;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn every_402_carries_a_small_retry_after() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let probe = env.get(&url).await;
    probe.assert_402("payment-required");
    assert_eq!(probe.header("retry-after"), Some("1"));
    let refused = env.get_paid(&url, "Payment not-a-credential").await;
    refused.assert_402("malformed-credential");
    assert_eq!(refused.header("retry-after"), Some("1"));
    let hostile = env.get(&env.merchant.url("hostile", "/huge-body")).await;
    assert_eq!(hostile.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(hostile.header("retry-after"), Some("1"));
    // Not on other answers.
    let free = env.get(&env.merchant.url("api", "/free")).await;
    assert_eq!(free.header("retry-after"), None);
}

#[tokio::test]
async fn the_discovery_document_says_how_long_it_may_be_cached() {
    let env = Env::start().await;
    for url in [
        format!("{}/openapi.json", env.merchant.base_url()),
        env.merchant.url("api", "/openapi.json"),
    ] {
        let answer = env.get(&url).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("cache-control"), Some("public, max-age=300"));
    }
}

#[tokio::test]
async fn a_long_query_adds_a_hash_not_itself_to_www_authenticate_and_still_pays() {
    let env = Env::start().await;
    let query = format!("q={}", "x".repeat(60 * 1024));
    let url = format!("{}?{query}", env.merchant.url("api", "/report"));
    let probe = env.get(&url).await;
    probe.assert_402("payment-required");
    let total: usize = probe.www_authenticate().iter().map(String::len).sum();
    assert!(total < 8 * 1024, "WWW-Authenticate is {total} bytes");
    let challenge = probe.stripe_challenge();
    let spt = env.spt().await;
    let credential = Env::credential(&challenge, &spt);
    // Bound to that exact query: another long one is refused...
    let other = format!(
        "{}?q={}",
        env.merchant.url("api", "/report"),
        "y".repeat(60 * 1024)
    );
    env.get_paid(&other, &credential)
        .await
        .assert_402("invalid-challenge");
    // ...and the one it was issued for is paid.
    let paid = env
        .send(Method::GET, &url, &[("authorization", &credential)], None)
        .await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
}
