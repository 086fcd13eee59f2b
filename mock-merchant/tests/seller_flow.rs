//! PAY-11, the seller's half without a Link client: a merchant developer mints test SPTs with
//! Stripe's test helper (served by mock-link), pays its own 402 route with one, sees it
//! redeemed once, revokes another and sees it refused.

mod common;

use common::Env;
use reqwest::StatusCode;
use serde_json::Value;

const TEST_HELPER: &str = "/v1/test_helpers/shared_payment/granted_tokens";

/// A POST to mock-link's Stripe subset with the merchant's secret key.
async fn stripe_post(env: &Env, path: &str, form: &[(&str, &str)]) -> Value {
    let response = env
        .http
        .post(format!("{}{path}", env.link.base_url()))
        .bearer_auth("sk_test_mock_merchant")
        .header("stripe-version", "2026-04-22.preview")
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn mint(env: &Env, max_amount: &str) -> String {
    let token = stripe_post(
        env,
        TEST_HELPER,
        &[
            ("payment_method", "pm_card_visa"),
            ("usage_limits[currency]", "usd"),
            ("usage_limits[max_amount]", max_amount),
        ],
    )
    .await;
    token["id"].as_str().unwrap().to_owned()
}

async fn granted_token(env: &Env, spt: &str) -> Value {
    env.http
        .get(format!(
            "{}/v1/shared_payment/granted_tokens/{spt}",
            env.link.base_url()
        ))
        .bearer_auth("sk_test_mock_merchant")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_test_helper_token_pays_once_and_a_revoked_one_is_refused() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = mint(&env, challenge.amount()).await;

    let paid = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    assert!(paid.header("payment-receipt").is_some());
    let token = granted_token(&env, &spt).await;
    assert_eq!(token["deactivated_reason"], "consumed");
    assert_eq!(
        token["usage_details"]["amount_captured"]["value"].to_string(),
        challenge.amount()
    );

    // Redeemed once: the same token on a fresh challenge is refused.
    let again = env.challenge(&url).await;
    let replay = env.get_paid(&url, &Env::credential(&again, &spt)).await;
    assert_eq!(
        replay.status,
        StatusCode::PAYMENT_REQUIRED,
        "{}",
        replay.text
    );
    assert!(replay.header("payment-receipt").is_none());
    assert!(
        replay.text.contains("token_already_used"),
        "{}",
        replay.text
    );
    assert_eq!(
        env.link_events(&spt).await,
        ["issued", "redeemed", "redemption_refused"]
    );

    let revoked = mint(&env, challenge.amount()).await;
    let token = stripe_post(&env, &format!("{TEST_HELPER}/{revoked}/revoke"), &[]).await;
    assert_eq!(token["deactivated_reason"], "revoked");
    let fresh = env.challenge(&url).await;
    let refused = env.get_paid(&url, &Env::credential(&fresh, &revoked)).await;
    assert_eq!(
        refused.status,
        StatusCode::PAYMENT_REQUIRED,
        "{}",
        refused.text
    );
    assert!(refused.header("payment-receipt").is_none());
    assert!(
        refused
            .text
            .contains("shared_payment_granted_token_revoked"),
        "{}",
        refused.text
    );
    assert_eq!(
        env.link_events(&revoked).await,
        ["issued", "revoked", "redemption_refused"]
    );
}
