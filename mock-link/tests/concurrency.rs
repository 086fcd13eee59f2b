//! Exactly-once under contention: 1,000 concurrent redemptions of one SPT, approve
//! racing deny on one spend request, and concurrent refreshes of one refresh token.
//! Every racer waits at a barrier so the requests really overlap.

mod common;

use std::future::Future;
use std::sync::Arc;

use common::{Api, approved_spt, read, spt_request, start};
use mock_link::ControlError;
use mock_link::MockLink;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

const SECRET_KEY: &str = "sk_test_mock_merchant";
const REDEMPTIONS: usize = 1_000;

/// Runs `n` copies of `attempt(i)` at once, each released by one shared barrier,
/// and returns their outcomes in order.
async fn race<F, Fut, T>(n: usize, attempt: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let attempt = attempt(i);
            tokio::spawn(async move {
                barrier.wait().await;
                attempt.await
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(n);
    for task in tasks {
        outcomes.push(task.await.expect("a racer panicked"));
    }
    outcomes
}

/// A client that closes each connection after its answer, like many separate
/// clients: a server's connection cap then frees a slot at once instead of when an
/// idle keep-alive connection times out.
fn unpooled_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// 1,000 concurrent `POST /v1/payment_intents` with `spt`; `idempotency_key(i)` picks
/// each attempt's key. Returns each (status, body).
async fn redeem_concurrently(
    link: &MockLink,
    spt: &str,
    idempotency_key: impl Fn(usize) -> Option<String>,
) -> Vec<(StatusCode, Value)> {
    let http = unpooled_client();
    let url = format!("{}/v1/payment_intents", link.base_url());
    let form = [
        ("amount", "2500"),
        ("currency", "usd"),
        ("shared_payment_granted_token", spt),
        ("confirm", "true"),
    ]
    .map(|(name, value)| (name, value.to_owned()));
    race(REDEMPTIONS, |i| {
        let mut request = http.post(&url).bearer_auth(SECRET_KEY).form(&form);
        if let Some(key) = idempotency_key(i) {
            request = request.header("idempotency-key", key);
        }
        async move { read(request.send().await.expect("send")).await }
    })
    .await
}

async fn redeemed_events(link: &MockLink, spt: &str) -> usize {
    link.control()
        .ledger()
        .await
        .unwrap()
        .iter()
        .filter(|e| e.credential == spt && e.event == "redeemed")
        .count()
}

/// Exactly one 200; every other answer is `token_already_used`.
fn assert_one_success(outcomes: &[(StatusCode, Value)]) {
    let succeeded = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .count();
    let already_used = outcomes
        .iter()
        .filter(|(s, body)| {
            *s == StatusCode::BAD_REQUEST && body["error"]["code"] == "token_already_used"
        })
        .count();
    eprintln!("{REDEMPTIONS} concurrent redemptions tried, {succeeded} succeeded");
    assert_eq!((succeeded, already_used), (1, REDEMPTIONS - 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_redemptions_of_one_spt_succeed_exactly_once() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, spt) = approved_spt(&link, &api, json!({})).await;
    let outcomes = redeem_concurrently(&link, &spt, |_| None).await;
    assert_one_success(&outcomes);
    assert_eq!(redeemed_events(&link, &spt).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_redemptions_with_distinct_idempotency_keys_succeed_exactly_once() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, spt) = approved_spt(&link, &api, json!({})).await;
    let outcomes = redeem_concurrently(&link, &spt, |i| Some(format!("key-{i}"))).await;
    assert_one_success(&outcomes);
    assert_eq!(redeemed_events(&link, &spt).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_redemptions_under_one_idempotency_key_replay_one_payment() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, spt) = approved_spt(&link, &api, json!({})).await;
    let outcomes = redeem_concurrently(&link, &spt, |_| Some("one-key".to_owned())).await;
    let (status, first) = &outcomes[0];
    assert_eq!(*status, StatusCode::OK, "{first}");
    assert!(
        outcomes.iter().all(|outcome| outcome == &outcomes[0]),
        "every replay is the one payment intent"
    );
    assert_eq!(redeemed_events(&link, &spt).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_racing_deny_has_one_winner_and_the_request_agrees_with_it() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    for round in 0..50 {
        let id = api.create_pending(spt_request()).await;
        let control = link.control().clone();
        let outcomes = race(2, |i| {
            let (control, id) = (control.clone(), id.clone());
            async move {
                if i == 0 {
                    control.approve_spend_request(&id).await
                } else {
                    control.deny_spend_request(&id).await
                }
            }
        })
        .await;
        let winners: Vec<&Value> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        for loser in outcomes.iter().filter_map(|o| o.as_ref().err()) {
            assert!(
                matches!(loser, ControlError::Status { status, .. } if (400..500).contains(status)),
                "round {round}: the loser gets a 4xx, got {loser}"
            );
        }
        let winner_status = winners[0]["status"].as_str().unwrap();
        assert!(
            ["approved", "denied"].contains(&winner_status),
            "round {round}: {}",
            winners[0]
        );
        let has_token = winners[0]["shared_payment_token"]["id"].is_string();
        assert_eq!(
            has_token,
            winner_status == "approved",
            "round {round}: {}",
            winners[0]
        );
        // Both the owner's view and the control view agree with the winner.
        let (_, owned) = api.get(&format!("/spend_requests/{id}")).await;
        assert_eq!(owned["status"], winner_status, "round {round}");
        let stored = link.control().spend_request(&id).await.unwrap();
        assert_eq!(stored["status"], winner_status, "round {round}");
        assert_eq!(
            stored["shared_payment_token"]["id"], winners[0]["shared_payment_token"]["id"],
            "round {round}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_refresh_token_mint_exactly_one_pair() {
    const REFRESHES: usize = 100;
    let link = start().await;
    let tokens = link.control().issue_tokens("usr_default").await.unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let http = unpooled_client();
    let url = format!("{}/device/token", link.base_url());
    let outcomes = race(REFRESHES, |_| {
        let request = http.post(&url).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", common::CLIENT_ID),
        ]);
        async move { read(request.send().await.expect("send")).await }
    })
    .await;
    let pairs: Vec<&Value> = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .map(|(_, body)| body)
        .collect();
    let invalid_grant = outcomes
        .iter()
        .filter(|(s, body)| *s == StatusCode::BAD_REQUEST && body["error"] == "invalid_grant")
        .count();
    assert_eq!(
        (pairs.len(), invalid_grant),
        (1, REFRESHES - 1),
        "{outcomes:?}"
    );
    let fresh = pairs[0];
    assert_ne!(fresh["refresh_token"], tokens["refresh_token"]);
    // The one new pair works.
    let (status, _) = read(
        http.get(format!("{}/userinfo", link.base_url()))
            .bearer_auth(fresh["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
