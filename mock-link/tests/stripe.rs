//! The Stripe subset: `POST /v1/payment_intents` redeeming an SPT exactly once.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{Api, approved_spt, read, start};
use mock_link::MockLink;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SECRET_KEY: &str = "sk_test_mock_merchant";

fn pay_form(spt: &str, amount: &str, currency: &str) -> Vec<(&'static str, String)> {
    vec![
        ("amount", amount.to_owned()),
        ("currency", currency.to_owned()),
        ("shared_payment_granted_token", spt.to_owned()),
        ("confirm", "true".to_owned()),
        ("automatic_payment_methods[enabled]", "true".to_owned()),
        (
            "automatic_payment_methods[allow_redirects]",
            "never".to_owned(),
        ),
        ("metadata[challenge_id]", "ch_123".to_owned()),
    ]
}

async fn pay(link: &MockLink, key: &str, form: &[(&str, String)]) -> (StatusCode, Value) {
    read(
        reqwest::Client::new()
            .post(format!("{}/v1/payment_intents", link.base_url()))
            .bearer_auth(key)
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn redeeming_an_approved_spt_succeeds_once_and_marks_the_request_succeeded() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (id, spt) = approved_spt(&link, &api, json!({})).await;

    let (status, intent) = pay(&link, SECRET_KEY, &pay_form(&spt, "2500", "usd")).await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    assert!(intent["id"].as_str().unwrap().starts_with("pi_"));
    assert_eq!(intent["object"], "payment_intent");
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount"], 2500);
    assert_eq!(intent["currency"], "usd");
    assert_eq!(intent["metadata"]["challenge_id"], "ch_123");

    let (status, again) = pay(&link, SECRET_KEY, &pay_form(&spt, "2500", "usd")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(again["error"]["type"], "invalid_request_error");
    assert_eq!(code(&again), "token_already_used");
    assert_eq!(again["error"]["param"], "shared_payment_granted_token");

    let (_, request) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(request["status"], "succeeded");
    assert_eq!(request["payment_status_details"]["outcome"], "success");
    assert_eq!(request["payment_status_details"]["amount"], 2500);

    let ledger = link.control().ledger().await.unwrap();
    let events: Vec<&str> = ledger.iter().map(|e| e.event.as_ref()).collect();
    assert_eq!(events, vec!["issued", "redeemed", "redemption_refused"]);
    assert_eq!(
        ledger[1].merchant_network_id.as_deref(),
        Some("profile_mock_merchant")
    );
    assert_eq!(ledger[1].payment_intent.as_deref(), intent["id"].as_str());
    assert_eq!(ledger[2].reason.as_deref(), Some("token_already_used"));
}

#[tokio::test]
async fn an_amount_below_the_approved_one_is_fine_above_is_refused_without_consuming() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, spt) = approved_spt(&link, &api, json!({})).await;
    let (status, body) = pay(&link, SECRET_KEY, &pay_form(&spt, "2501", "usd")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "amount_too_large");
    assert_eq!(body["error"]["param"], "amount");
    let (status, body) = pay(&link, SECRET_KEY, &pay_form(&spt, "2000", "usd")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["amount"], 2000);
}

#[tokio::test]
async fn wrong_currency_network_and_expired_tokens_are_refused() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, spt) = approved_spt(&link, &api, json!({})).await;
    let (_, body) = pay(&link, SECRET_KEY, &pay_form(&spt, "2500", "eur")).await;
    assert_eq!(
        code(&body),
        "shared_payment_granted_token_currency_mismatch"
    );

    link.control()
        .add_merchant("sk_test_other_shop", "profile_other_shop")
        .await
        .unwrap();
    let (status, body) = pay(&link, "sk_test_other_shop", &pay_form(&spt, "2500", "usd")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "shared_payment_granted_token_network_mismatch");

    link.control()
        .advance_clock(Duration::from_secs(3601))
        .await
        .unwrap();
    let (_, body) = pay(&link, SECRET_KEY, &pay_form(&spt, "2500", "usd")).await;
    assert_eq!(code(&body), "shared_payment_granted_token_expired");
}

#[tokio::test]
async fn a_token_from_a_canceled_request_is_refused() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (id, spt) = approved_spt(&link, &api, json!({})).await;
    api.post(&format!("/spend_requests/{id}/cancel"), json!({}))
        .await;
    let (_, body) = pay(&link, SECRET_KEY, &pay_form(&spt, "2500", "usd")).await;
    assert_eq!(code(&body), "shared_payment_granted_token_invalid");
}

#[tokio::test]
async fn secret_key_works_as_basic_username_and_bad_keys_get_401() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, spt) = approved_spt(&link, &api, json!({})).await;
    let http = reqwest::Client::new();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SECRET_KEY}:"));
    let (status, body) = read(
        http.post(format!("{}/v1/payment_intents", link.base_url()))
            .header("authorization", format!("Basic {basic}"))
            .form(&pay_form(&spt, "2500", "usd"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = pay(&link, "sk_test_unknown", &pay_form(&spt, "1", "usd")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "api_key_invalid");
    assert!(!body.to_string().contains("sk_test_unknown"), "key masked");

    let (status, body) = read(
        http.post(format!("{}/v1/payment_intents", link.base_url()))
            .form(&pay_form(&spt, "1", "usd"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "api_key_missing");
}

#[tokio::test]
async fn missing_and_malformed_parameters_are_stripe_errors() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, spt) = approved_spt(&link, &api, json!({})).await;
    let full = pay_form(&spt, "2500", "usd");
    for (param, expected_code) in [
        ("amount", "parameter_missing"),
        ("currency", "parameter_missing"),
        ("shared_payment_granted_token", "parameter_missing"),
        ("confirm", "parameter_invalid"),
    ] {
        let form: Vec<(&str, String)> = full.iter().filter(|(k, _)| *k != param).cloned().collect();
        let (status, body) = pay(&link, SECRET_KEY, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{param}");
        assert_eq!(body["error"]["param"], param, "{body}");
        assert_eq!(code(&body), expected_code, "{body}");
    }
    let (_, body) = pay(&link, SECRET_KEY, &pay_form(&spt, "ten", "usd")).await;
    assert_eq!(code(&body), "parameter_invalid_integer");
    let (_, body) = pay(&link, SECRET_KEY, &pay_form("spt_unknown", "1", "usd")).await;
    assert_eq!(code(&body), "resource_missing");
    // Nothing above consumed the token.
    let (status, _) = pay(&link, SECRET_KEY, &full).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = read(
        reqwest::Client::new()
            .post(format!("{}/v1/payment_intents", link.base_url()))
            .bearer_auth(SECRET_KEY)
            .json(&json!({"amount": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_first_answer() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, spt) = approved_spt(&link, &api, json!({})).await;
    let http = reqwest::Client::new();
    let send = |key: &'static str, amount: &'static str| {
        http.post(format!("{}/v1/payment_intents", link.base_url()))
            .bearer_auth(SECRET_KEY)
            .header("idempotency-key", key)
            .header("stripe-version", "2026-07-29.preview")
            .form(&pay_form(&spt, amount, "usd"))
            .send()
    };
    let first = send("mpp_ch_1_spt", "2500").await.unwrap();
    assert!(first.headers().get("idempotent-replayed").is_none());
    assert_eq!(first.headers()["stripe-version"], "2026-07-29.preview");
    let (status, first) = read(first).await;
    assert_eq!(status, StatusCode::OK);

    let second = send("mpp_ch_1_spt", "2500").await.unwrap();
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let (status, second) = read(second).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second, first);

    // Same key and parameters in another order: still a replay.
    let mut reordered = pay_form(&spt, "2500", "usd");
    reordered.reverse();
    let third = http
        .post(format!("{}/v1/payment_intents", link.base_url()))
        .bearer_auth(SECRET_KEY)
        .header("idempotency-key", "mpp_ch_1_spt")
        .form(&reordered)
        .send()
        .await
        .unwrap();
    assert_eq!(third.headers()["idempotent-replayed"], "true");
    assert_eq!(read(third).await.1, first);

    // Same key, other parameters: an idempotency error.
    let (status, body) = read(send("mpp_ch_1_spt", "2400").await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["type"], "idempotency_error");

    // A new key is a new attempt, and the token is spent.
    let (_, body) = read(send("mpp_ch_2_spt", "2500").await.unwrap()).await;
    assert_eq!(code(&body), "token_already_used");
    let redeemed = link
        .control()
        .ledger()
        .await
        .unwrap()
        .iter()
        .filter(|entry| entry.event == "redeemed")
        .count();
    assert_eq!(redeemed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_redemptions_succeed_exactly_once() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, spt) = approved_spt(&link, &api, json!({})).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/payment_intents", link.base_url());
    let attempts = (0..64).map(|_| {
        let http = http.clone();
        let url = url.clone();
        let form = pay_form(&spt, "2500", "usd");
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(SECRET_KEY)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let mut statuses = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        statuses.push(attempt.await.unwrap());
    }
    let succeeded = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((succeeded, refused), (1, 63), "{statuses:?}");
}

#[tokio::test]
async fn a_payment_intent_can_be_retrieved_by_the_merchant_that_created_it() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, spt) = approved_spt(&link, &api, json!({})).await;
    let (_, intent) = pay(&link, SECRET_KEY, &pay_form(&spt, "2500", "usd")).await;
    let id = intent["id"].as_str().unwrap();
    let http = reqwest::Client::new();
    let get = |key: &'static str, id: String| {
        http.get(format!("{}/v1/payment_intents/{id}", link.base_url()))
            .bearer_auth(key)
            .send()
    };
    let (status, fetched) = read(get(SECRET_KEY, id.to_owned()).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, intent);

    link.control()
        .add_merchant("sk_test_other_shop", "profile_other_shop")
        .await
        .unwrap();
    let (status, body) = read(get("sk_test_other_shop", id.to_owned()).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "resource_missing");
    let (status, _) = read(get(SECRET_KEY, "pi_unknown".into()).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = read(get("sk_test_nobody", id.to_owned()).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
