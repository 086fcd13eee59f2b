//! Stripe's granted-token endpoints for sellers: the view-only token, the test helpers that
//! create and revoke one, and redeeming it on `POST /v1/payment_intents` in either form.

mod common;

use std::time::Duration;

use common::{Api, read, spt_request, start};
use mock_link::{MockLink, SellerClient};
use reqwest::StatusCode;
use serde_json::Value;

const SECRET_KEY: &str = "sk_test_mock_merchant";
const NETWORK_ID: &str = "profile_mock_merchant";
const TOKENS: &str = "/v1/shared_payment/granted_tokens";
const TEST_HELPER: &str = "/v1/test_helpers/shared_payment/granted_tokens";

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn post(link: &MockLink, path: &str, form: &[(&str, String)]) -> (StatusCode, Value) {
    read(
        reqwest::Client::new()
            .post(format!("{}{path}", link.base_url()))
            .bearer_auth(SECRET_KEY)
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn get_token(link: &MockLink, key: &str, id: &str) -> (StatusCode, Value) {
    read(
        reqwest::Client::new()
            .get(format!("{}{TOKENS}/{id}", link.base_url()))
            .bearer_auth(key)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn helper_form(max_amount: &str, extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("payment_method", "pm_card_visa".to_owned()),
        ("usage_limits[currency]", "usd".to_owned()),
        ("usage_limits[max_amount]", max_amount.to_owned()),
    ];
    for (key, value) in extra {
        form.retain(|(name, _)| name != key);
        form.push((leak(key), (*value).to_owned()));
    }
    form
}

/// Test-only: form keys must be `&'static str`.
fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

/// A test-helper token of the seeded merchant.
async fn test_token(link: &MockLink, max_amount: &str) -> String {
    let (status, token) = post(link, TEST_HELPER, &helper_form(max_amount, &[])).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    token["id"].as_str().unwrap().to_owned()
}

fn pay_form(token_param: &str, spt: &str, amount: &str) -> Vec<(&'static str, String)> {
    vec![
        ("amount", amount.to_owned()),
        ("currency", "usd".to_owned()),
        (leak(token_param), spt.to_owned()),
        ("confirm", "true".to_owned()),
        ("automatic_payment_methods[enabled]", "true".to_owned()),
        (
            "automatic_payment_methods[allow_redirects]",
            "never".to_owned(),
        ),
    ]
}

async fn pay(link: &MockLink, spt: &str, amount: &str) -> (StatusCode, Value) {
    post(
        link,
        "/v1/payment_intents",
        &pay_form("shared_payment_granted_token", spt, amount),
    )
    .await
}

/// An approved SPT spend request for 2500 usd; returns (spend request id, spt).
async fn link_minted_token(link: &MockLink) -> (String, String) {
    let api = Api::default_user(link).await;
    let id = api.create_pending(spt_request()).await;
    let approved = link.control().approve_spend_request(&id).await.unwrap();
    let spt = approved["shared_payment_token"]["id"].as_str().unwrap();
    (id, spt.to_owned())
}

#[tokio::test]
async fn a_link_minted_token_is_visible_to_its_seller_and_shows_its_redemption() {
    let link = start().await;
    let (_, spt) = link_minted_token(&link).await;

    let (status, token) = get_token(&link, SECRET_KEY, &spt).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["id"], spt.as_str());
    assert_eq!(token["object"], "shared_payment.granted_token");
    assert_eq!(token["livemode"], false);
    assert!(token["created"].as_i64().unwrap() > 0);
    assert_eq!(token["usage_limits"]["currency"], "usd");
    assert_eq!(token["usage_limits"]["max_amount"], 2500);
    assert!(
        token["usage_limits"]["expires_at"].as_i64().unwrap() > token["created"].as_i64().unwrap()
    );
    assert_eq!(
        token["agent_details"]["network_business_profile"],
        "profile_mock_link"
    );
    assert_eq!(token["deactivated_at"], Value::Null);
    assert_eq!(token["deactivated_reason"], Value::Null);
    assert_eq!(token["usage_details"]["amount_captured"]["value"], 0);
    assert_eq!(token["payment_method_details"]["type"], "card");
    assert_eq!(token["payment_method_details"]["card"]["last4"], "4242");

    let (status, intent) = pay(&link, &spt, "2000").await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    let (_, token) = get_token(&link, SECRET_KEY, &spt).await;
    assert_eq!(token["deactivated_reason"], "consumed");
    assert!(token["deactivated_at"].is_i64());
    assert_eq!(token["usage_details"]["amount_captured"]["value"], 2000);
}

#[tokio::test]
async fn unknown_tokens_other_sellers_and_missing_keys_are_refused() {
    let link = start().await;
    let (_, spt) = link_minted_token(&link).await;
    link.control()
        .add_merchant("sk_test_other_shop", "profile_other_shop")
        .await
        .unwrap();

    for (key, id) in [
        (SECRET_KEY, "spt_unknown"),
        ("sk_test_other_shop", spt.as_str()),
    ] {
        let (status, body) = get_token(&link, key, id).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(code(&body), "resource_missing");
        assert!(body["error"]["message"].is_string());
        assert!(body["error"].get("param").is_some());
    }
    let (status, body) = get_token(&link, "sk_test_nobody", &spt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "api_key_invalid");
    let status = reqwest::get(format!("{}{TOKENS}/{spt}", link.base_url()))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_test_helper_makes_a_token_with_the_asked_limits() {
    let link = start().await;
    let (status, token) = post(
        &link,
        TEST_HELPER,
        &helper_form(
            "1500",
            &[
                ("payment_method", "pm_card_mastercard"),
                ("usage_limits[currency]", "EUR"),
                ("shared_metadata[order]", "o_1"),
                ("seller_details[network_id]", "internal"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let id = token["id"].as_str().unwrap();
    assert!(id.starts_with("spt_"));
    assert_eq!(token["object"], "shared_payment.granted_token");
    assert_eq!(token["usage_limits"]["currency"], "eur");
    assert_eq!(token["usage_limits"]["max_amount"], 1500);
    assert_eq!(token["shared_metadata"]["order"], "o_1");
    assert_eq!(
        token["payment_method_details"]["card"]["brand"],
        "mastercard"
    );
    assert_eq!(
        token["agent_details"]["network_business_profile"],
        Value::Null
    );
    assert_eq!(token["deactivated_reason"], Value::Null);
    // Without expires_at it lives as long as a Link-minted token (1 h by default).
    let lifetime =
        token["usage_limits"]["expires_at"].as_i64().unwrap() - token["created"].as_i64().unwrap();
    assert!((3599..=3601).contains(&lifetime), "{lifetime}");

    let (status, again) = get_token(&link, SECRET_KEY, id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["usage_limits"], token["usage_limits"]);
}

#[tokio::test]
async fn the_test_helper_names_missing_and_invalid_parameters() {
    let link = start().await;
    let full = helper_form("1000", &[]);
    for missing in [
        "payment_method",
        "usage_limits[currency]",
        "usage_limits[max_amount]",
    ] {
        let form: Vec<_> = full
            .iter()
            .filter(|(k, _)| *k != missing)
            .cloned()
            .collect();
        let (status, body) = post(&link, TEST_HELPER, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{missing}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(code(&body), "parameter_missing");
        assert_eq!(body["error"]["param"], missing);
    }
    let past = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 60)
        .to_string();
    for (param, value, expected) in [
        (
            "usage_limits[max_amount]",
            "-5",
            "parameter_invalid_integer",
        ),
        (
            "usage_limits[max_amount]",
            "ten",
            "parameter_invalid_integer",
        ),
        ("usage_limits[currency]", "dollars", "parameter_invalid"),
        (
            "usage_limits[expires_at]",
            past.as_str(),
            "parameter_invalid",
        ),
        ("payment_method", "card_visa", "resource_missing"),
    ] {
        let (status, body) =
            post(&link, TEST_HELPER, &helper_form("1000", &[(param, value)])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{param}={value}: {body}");
        assert_eq!(code(&body), expected, "{param}={value}");
        assert_eq!(body["error"]["param"], param);
    }
    let (status, _) = read(
        reqwest::Client::new()
            .post(format!("{}{TEST_HELPER}", link.base_url()))
            .form(&full)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_test_token_is_redeemed_once_within_its_limits_in_either_form() {
    let link = start().await;
    let spt = test_token(&link, "1000").await;

    // Over max_amount and another currency: refused, not consumed.
    let (status, body) = pay(&link, &spt, "1001").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "amount_too_large");
    let mut eur = pay_form("shared_payment_granted_token", &spt, "500");
    eur[1].1 = "eur".into();
    let (status, body) = post(&link, "/v1/payment_intents", &eur).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        code(&body),
        "shared_payment_granted_token_currency_mismatch"
    );

    // Another seller cannot use a token granted to this one.
    link.control()
        .add_merchant("sk_test_other_shop", "profile_other_shop")
        .await
        .unwrap();
    let (status, body) = read(
        reqwest::Client::new()
            .post(format!("{}/v1/payment_intents", link.base_url()))
            .bearer_auth("sk_test_other_shop")
            .form(&pay_form("shared_payment_granted_token", &spt, "500"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "shared_payment_granted_token_network_mismatch");

    let (status, intent) = post(
        &link,
        "/v1/payment_intents",
        &pay_form(
            "payment_method_data[shared_payment_granted_token]",
            &spt,
            "1000",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount_received"], 1000);

    for param in [
        "shared_payment_granted_token",
        "payment_method_data[shared_payment_granted_token]",
    ] {
        let (status, body) =
            post(&link, "/v1/payment_intents", &pay_form(param, &spt, "1000")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&body), "token_already_used");
        assert_eq!(body["error"]["param"], param);
    }
    let (_, token) = get_token(&link, SECRET_KEY, &spt).await;
    assert_eq!(token["deactivated_reason"], "consumed");
    assert_eq!(token["usage_details"]["amount_captured"]["value"], 1000);
}

#[tokio::test]
async fn both_token_params_must_name_the_same_token() {
    let link = start().await;
    let first = test_token(&link, "1000").await;
    let second = test_token(&link, "1000").await;
    let mut form = pay_form("shared_payment_granted_token", &first, "100");
    form.push((
        "payment_method_data[shared_payment_granted_token]",
        second.clone(),
    ));
    let (status, body) = post(&link, "/v1/payment_intents", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "parameters_exclusive");
    assert_eq!(
        body["error"]["param"],
        "payment_method_data[shared_payment_granted_token]"
    );

    form.pop();
    form.push(("payment_method_data[shared_payment_granted_token]", first));
    let (status, body) = post(&link, "/v1/payment_intents", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn an_expired_test_token_is_refused_on_the_virtual_clock() {
    let link = start().await;
    let spt = test_token(&link, "1000").await;
    link.control()
        .advance_clock(Duration::from_secs(3601))
        .await
        .unwrap();
    let (status, body) = pay(&link, &spt, "100").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "shared_payment_granted_token_expired");
    let (_, token) = get_token(&link, SECRET_KEY, &spt).await;
    assert_eq!(token["deactivated_reason"], "expired");
    assert_eq!(token["deactivated_at"], token["usage_limits"]["expires_at"]);
}

#[tokio::test]
async fn a_revoked_token_is_refused_whoever_minted_it() {
    let link = start().await;
    let helper_token = test_token(&link, "1000").await;
    let (request_id, link_token) = link_minted_token(&link).await;
    for spt in [&helper_token, &link_token] {
        let (status, token) = post(&link, &format!("{TEST_HELPER}/{spt}/revoke"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{token}");
        assert_eq!(token["deactivated_reason"], "revoked");
        assert!(token["deactivated_at"].is_i64());

        let (status, body) = pay(&link, spt, "100").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(code(&body), "shared_payment_granted_token_revoked");
        assert_eq!(body["error"]["param"], "shared_payment_granted_token");
    }
    // Revoking is the seller's test switch: the spend request itself stays approved.
    let request = link.control().spend_request(&request_id).await.unwrap();
    assert_eq!(request["status"], "approved");

    let (status, body) = post(&link, &format!("{TEST_HELPER}/spt_unknown/revoke"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "resource_missing");
}

#[tokio::test]
async fn revoking_a_consumed_token_leaves_it_consumed() {
    let link = start().await;
    let spt = test_token(&link, "1000").await;
    let (status, _) = pay(&link, &spt, "1000").await;
    assert_eq!(status, StatusCode::OK);
    let (status, token) = post(&link, &format!("{TEST_HELPER}/{spt}/revoke"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token["deactivated_reason"], "consumed");
}

#[tokio::test]
async fn declining_test_payment_methods_decline_without_consuming() {
    let link = start().await;
    let (status, token) = post(
        &link,
        TEST_HELPER,
        &helper_form("1000", &[("payment_method", "pm_card_chargeDeclined")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let spt = token["id"].as_str().unwrap();
    for _ in 0..2 {
        let (status, body) = pay(&link, spt, "100").await;
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(body["error"]["type"], "card_error");
        assert_eq!(code(&body), "card_declined");
    }
    let (_, token) = get_token(&link, SECRET_KEY, spt).await;
    assert_eq!(token["deactivated_reason"], Value::Null);
}

#[tokio::test]
async fn mpp_idempotency_keys_replay_under_preview_versions() {
    let link = start().await;
    let spt = test_token(&link, "1000").await;
    let form = pay_form(
        "payment_method_data[shared_payment_granted_token]",
        &spt,
        "700",
    );
    let send = |key: String, version: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/v1/payment_intents", link.base_url()))
            .basic_auth(SECRET_KEY, Some(""))
            .header("idempotency-key", key)
            .header("stripe-version", version)
            .form(&form)
            .send()
    };
    let key = format!("mpp_ch_Xy-9_{spt}");
    let first = send(key.clone(), "2026-07-29.preview").await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["stripe-version"], "2026-07-29.preview");
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();

    let replay = send(key, "2026-04-22.preview").await.unwrap();
    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], first["id"]);

    // The same token under the other key style is a new request: already used.
    let other = send(format!("ch_Xy-9_{spt}"), "2026-04-22.preview")
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    let other: Value = other.json().await.unwrap();
    assert_eq!(code(&other), "token_already_used");

    // The key carries the token: the request log must not.
    let log = serde_json::to_string(&link.control().received_requests().await.unwrap()).unwrap();
    assert!(log.contains("mpp_ch_Xy-9_spt_[REDACTED]"), "{log}");
    assert!(!log.contains(spt.trim_start_matches("spt_")), "{log}");
}

#[tokio::test]
async fn the_ledger_records_test_tokens_like_link_tokens_and_the_log_hides_them() {
    let link = start().await;
    let redeemed = test_token(&link, "1000").await;
    let revoked = test_token(&link, "1000").await;
    let (status, _) = post(
        &link,
        "/v1/payment_intents",
        &pay_form(
            "payment_method_data[shared_payment_granted_token]",
            &redeemed,
            "900",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    post(&link, &format!("{TEST_HELPER}/{revoked}/revoke"), &[]).await;
    pay(&link, &revoked, "100").await;
    get_token(&link, SECRET_KEY, &redeemed).await;

    let ledger = link.control().ledger().await.unwrap();
    let events = |spt: &str| -> Vec<String> {
        ledger
            .iter()
            .filter(|entry| entry.credential == spt)
            .map(|entry| entry.event.to_string())
            .collect()
    };
    assert_eq!(events(&redeemed), ["issued", "redeemed"]);
    assert_eq!(
        events(&revoked),
        ["issued", "revoked", "redemption_refused"]
    );
    for entry in ledger
        .iter()
        .filter(|entry| entry.credential == redeemed.as_str())
    {
        assert_eq!(entry.source, "test_helper");
        assert_eq!(entry.spend_request_id, None);
        assert_eq!(entry.credential_type, "shared_payment_token");
        assert_eq!(entry.network_id.as_deref(), Some(NETWORK_ID));
        assert_eq!(entry.amount, 1000);
    }
    let redemption = ledger
        .iter()
        .find(|entry| entry.event == "redeemed")
        .unwrap();
    assert_eq!(redemption.merchant_network_id.as_deref(), Some(NETWORK_ID));
    assert!(
        redemption
            .payment_intent
            .as_deref()
            .unwrap()
            .starts_with("pi_")
    );
    let refused = ledger
        .iter()
        .find(|entry| entry.event == "redemption_refused")
        .unwrap();
    assert_eq!(
        refused.reason.as_deref(),
        Some("shared_payment_granted_token_revoked")
    );

    let log = serde_json::to_string(&link.control().received_requests().await.unwrap()).unwrap();
    assert!(
        log.contains("/v1/shared_payment/granted_tokens/spt_[REDACTED]"),
        "{log}"
    );
    for spt in [&redeemed, &revoked] {
        let secret = spt.trim_start_matches("spt_");
        assert!(
            !log.contains(secret),
            "an SPT leaked into the request log: {log}"
        );
    }
}

#[tokio::test]
async fn sixty_four_concurrent_redemptions_of_a_test_token_succeed_exactly_once() {
    let link = start().await;
    let seller = SellerClient::new(link.base_url(), SECRET_KEY);
    let spt = seller.mint_test_token(1000, "usd").await.unwrap();
    let attempts: Vec<_> = (0..64)
        .map(|attempt| {
            let seller = seller.clone();
            let spt = spt.clone();
            // Half name the token top-level, half in payment_method_data.
            let param = if attempt % 2 == 0 {
                "shared_payment_granted_token"
            } else {
                "payment_method_data[shared_payment_granted_token]"
            };
            tokio::spawn(async move {
                let form = [
                    ("amount", "1000"),
                    ("currency", "usd"),
                    (param, spt.as_str()),
                    ("confirm", "true"),
                ];
                seller.create_payment_intent(&form, None).await.unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for attempt in attempts {
        answers.push(attempt.await.unwrap());
    }
    let succeeded = answers.iter().filter(|a| a.status == 200).count();
    let used = answers
        .iter()
        .filter(|a| a.error_code() == Some("token_already_used"))
        .count();
    assert_eq!((succeeded, used), (1, 63));

    let token = seller.granted_token(&spt).await.unwrap();
    assert_eq!(token.body["deactivated_reason"], "consumed");
    let revoked = seller.revoke_test_token("spt_unknown").await.unwrap();
    assert_eq!(revoked.status, 404);
    assert_eq!(revoked.error_code(), Some("resource_missing"));
}
