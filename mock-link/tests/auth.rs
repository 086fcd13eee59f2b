//! The auth host: device code, polling outcomes, refresh with rotation, revocation, expiry.

mod common;

use std::time::Duration;

use common::{CLIENT_ID, DEVICE_GRANT, post_form, read, start};
use mock_link::MockLink;
use reqwest::StatusCode;
use serde_json::Value;

async fn device_code(link: &MockLink) -> Value {
    let (status, body) = post_form(
        link,
        "/device/code",
        &[
            ("client_id", CLIENT_ID),
            ("connection_label", "test-client on laptop"),
            ("client_hint", "test-client"),
            ("authorization_details[][type]", "source"),
            ("authorization_details[][actions][]", "read_balances"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn poll(link: &MockLink, device_code: &str) -> (StatusCode, Value) {
    post_form(
        link,
        "/device/token",
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", CLIENT_ID),
        ],
    )
    .await
}

async fn refresh(link: &MockLink, refresh_token: &str) -> (StatusCode, Value) {
    post_form(
        link,
        "/device/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
        ],
    )
    .await
}

async fn userinfo_status(link: &MockLink, access_token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/userinfo", link.base_url()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn device_code_answers_the_rfc_8628_fields_and_a_phrase() {
    let link = start().await;
    let code = device_code(&link).await;
    let user_code = code["user_code"].as_str().unwrap();
    assert_eq!(
        user_code.split('-').count(),
        3,
        "a three-word phrase: {user_code}"
    );
    assert_eq!(
        code["verification_uri"],
        format!("{}/verify", link.base_url())
    );
    assert_eq!(
        code["verification_uri_complete"],
        format!("{}/verify?code={user_code}", link.base_url())
    );
    assert_eq!(code["expires_in"], 600);
    assert_eq!(code["interval"], 0);
    assert!(code["device_code"].as_str().unwrap().len() > 20);
}

#[tokio::test]
async fn device_code_records_label_hint_and_authorization_details() {
    let link = start().await;
    device_code(&link).await;
    let codes = link.control().get("/device_codes").await.unwrap();
    let recorded = &codes["data"][0];
    assert_eq!(recorded["connection_label"], "test-client on laptop");
    assert_eq!(recorded["client_hint"], "test-client");
    assert_eq!(recorded["authorization_details"][0]["type"], "source");
    assert_eq!(
        recorded["authorization_details"][0]["actions"][0],
        "read_balances"
    );
}

#[tokio::test]
async fn device_code_without_client_id_is_invalid_request() {
    let link = start().await;
    let (status, body) = post_form(&link, "/device/code", &[("scope", "userinfo:read")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("client_id")
    );
}

#[tokio::test]
async fn device_code_with_a_json_body_is_refused_in_oauth_shape() {
    let link = start().await;
    let (status, body) = read(
        reqwest::Client::new()
            .post(format!("{}/device/code", link.base_url()))
            .json(&serde_json::json!({"client_id": CLIENT_ID}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_of(&body), "invalid_request");
}

#[tokio::test]
async fn polling_before_approval_is_authorization_pending_then_tokens_after() {
    let link = start().await;
    let code = device_code(&link).await;
    let device = code["device_code"].as_str().unwrap();
    let (status, body) = poll(&link, device).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "authorization_pending");

    link.control()
        .approve_device(code["user_code"].as_str().unwrap())
        .await
        .unwrap();
    let (status, tokens) = poll(&link, device).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "userinfo:read payment_methods.agentic");
    assert_eq!(tokens["authorization_details"][0]["type"], "source");
    assert_eq!(
        userinfo_status(&link, tokens["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );

    // The device code is spent.
    let (status, body) = poll(&link, device).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");
}

#[tokio::test]
async fn denied_device_gets_access_denied() {
    let link = start().await;
    let code = device_code(&link).await;
    link.control()
        .deny_device(code["user_code"].as_str().unwrap())
        .await
        .unwrap();
    let (status, body) = poll(&link, code["device_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "access_denied");
}

#[tokio::test]
async fn device_code_expires_on_the_virtual_clock() {
    let link = start().await;
    let code = device_code(&link).await;
    link.control()
        .advance_clock(Duration::from_secs(601))
        .await
        .unwrap();
    let (status, body) = poll(&link, code["device_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "expired_token");
    // Too late to approve as well.
    let refused = link
        .control()
        .approve_device(code["user_code"].as_str().unwrap())
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn polling_faster_than_the_interval_gets_slow_down() {
    let link = MockLink::builder()
        .device_poll_interval(Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    let code = device_code(&link).await;
    assert_eq!(code["interval"], 5);
    let device = code["device_code"].as_str().unwrap();
    let (_, first) = poll(&link, device).await;
    assert_eq!(error_of(&first), "authorization_pending");
    let (status, second) = poll(&link, device).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&second), "slow_down");
    // slow_down raised the interval by 5 s (RFC 8628): the old interval is no longer enough,
    // and polling too early again raises it once more.
    link.control()
        .advance_clock(Duration::from_secs(5))
        .await
        .unwrap();
    let (_, third) = poll(&link, device).await;
    assert_eq!(error_of(&third), "slow_down");
    link.control()
        .advance_clock(Duration::from_secs(15))
        .await
        .unwrap();
    let (_, fourth) = poll(&link, device).await;
    assert_eq!(error_of(&fourth), "authorization_pending");
}

#[tokio::test]
async fn unknown_device_code_and_unknown_grant_type_are_refused() {
    let link = start().await;
    let (status, body) = poll(&link, "ldc_nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");

    let (status, body) = post_form(&link, "/device/token", &[("grant_type", "password")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "unsupported_grant_type");

    let (status, body) = post_form(&link, "/device/token", &[("grant_type", DEVICE_GRANT)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_request");
}

#[tokio::test]
async fn access_token_expiry_gives_401_and_refresh_rotates() {
    let link = start().await;
    let tokens = link.control().issue_tokens("usr_default").await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    link.control()
        .advance_clock(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        userinfo_status(&link, access).await,
        StatusCode::UNAUTHORIZED
    );

    let (status, fresh) = refresh(&link, refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_ne!(fresh["refresh_token"], tokens["refresh_token"]);
    assert_ne!(fresh["access_token"], tokens["access_token"]);
    assert_eq!(
        userinfo_status(&link, fresh["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );

    // The old refresh token was rotated away.
    let (status, body) = refresh(&link, refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");
    // The new one works once.
    let (status, _) = refresh(&link, fresh["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn expired_refresh_token_and_unknown_refresh_token_are_invalid_grant() {
    let link = MockLink::builder()
        .refresh_token_lifetime(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let tokens = link.control().issue_tokens("usr_default").await.unwrap();
    link.control()
        .advance_clock(Duration::from_secs(2))
        .await
        .unwrap();
    let (status, body) = refresh(&link, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");

    let (_, body) = refresh(&link, "link_rt_unknown").await;
    assert_eq!(error_of(&body), "invalid_grant");

    let (status, body) =
        post_form(&link, "/device/token", &[("grant_type", "refresh_token")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_request");
}

#[tokio::test]
async fn revoke_is_idempotent_and_kills_the_whole_session() {
    let link = start().await;
    let tokens = link.control().issue_tokens("usr_default").await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let http = reqwest::Client::new();
    for _ in 0..2 {
        let status = http
            .post(format!("{}/device/revoke", link.base_url()))
            .form(&[("client_id", CLIENT_ID), ("token", access)])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(
        userinfo_status(&link, access).await,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = refresh(&link, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");

    let (status, body) = read(
        http.post(format!("{}/device/revoke", link.base_url()))
            .form(&[("client_id", CLIENT_ID)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_request");
}

#[tokio::test]
async fn api_calls_without_or_with_a_bad_token_get_401_json() {
    let link = start().await;
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{}/payment-details", link.base_url()))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("www-authenticate"));
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_token");
    assert!(body["error"]["message"].is_string());

    let (status, _) = read(
        http.get(format!("{}/payment-details", link.base_url()))
            .bearer_auth("link_at_forged")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn control_expire_token_makes_the_access_token_401() {
    let link = start().await;
    let tokens = link.control().issue_tokens("usr_default").await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    link.control().expire_token(access).await.unwrap();
    let (status, body) = read(
        reqwest::Client::new()
            .get(format!("{}/userinfo", link.base_url()))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "token_expired");
}

#[tokio::test]
async fn an_ineligible_account_gets_per_scope_eligibility_instead_of_tokens() {
    let link = start().await;
    link.control()
        .create_user(serde_json::json!({
            "id": "usr_abroad",
            "ineligible_scopes": {"payment_methods.agentic": ["unsupported_country"]},
        }))
        .await
        .unwrap();
    let code = device_code(&link).await;
    link.control()
        .approve_device_as(code["user_code"].as_str().unwrap(), "usr_abroad")
        .await
        .unwrap();
    let (status, body) = poll(&link, code["device_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "account_ineligible");
    let verdict = &body["eligibility"]["payment_methods.agentic"];
    assert_eq!(verdict["eligible"], false);
    assert_eq!(verdict["ineligibility_reasons"][0], "unsupported_country");
    assert_eq!(body["eligibility"]["userinfo:read"]["eligible"], true);
    // Nothing was issued, and the code is spent.
    let (_, again) = poll(&link, code["device_code"].as_str().unwrap()).await;
    assert_eq!(error_of(&again), "invalid_grant");
}

#[tokio::test]
async fn a_scripted_slow_down_holds_even_an_approved_code_and_raises_its_interval() {
    let link = MockLink::builder()
        .device_poll_interval(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    link.control()
        .post(
            "/scripts/device_codes",
            serde_json::json!({"outcome": "slow_down"}),
        )
        .await
        .unwrap();
    let code = device_code(&link).await;
    let device = code["device_code"].as_str().unwrap();
    let (status, first) = poll(&link, device).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&first), "slow_down");
    // The user's approval does not lift the back-off.
    link.control()
        .approve_device(code["user_code"].as_str().unwrap())
        .await
        .unwrap();
    // The interval is now 1 + 5 s: 5 s later is still too early ...
    link.control()
        .advance_clock(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(error_of(&poll(&link, device).await.1), "slow_down");
    // ... and after that second slow_down, 11 s are needed.
    link.control()
        .advance_clock(Duration::from_secs(11))
        .await
        .unwrap();
    let (status, tokens) = poll(&link, device).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["access_token"].is_string());
}

/// Who asks is checked before what is asked: without a token every API-host read is 401,
/// even with a query it would refuse (found by schemathesis: `/insights?insights=` was 400).
#[tokio::test]
async fn a_missing_token_is_401_before_any_query_check() {
    let link = start().await;
    let http = reqwest::Client::new();
    for path in [
        "/insights?insights=",
        "/insights/available_types?limit=0",
        "/sources?limit=0",
        "/balances?starting_after=x&ending_before=y",
        "/transactions?date_start=never",
        "/spend_requests?include_history=maybe",
        "/spend_requests/lsrq_missing?include=everything",
    ] {
        let response = http
            .get(format!("{}{path}", link.base_url()))
            .send()
            .await
            .unwrap();
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_token", "{path}");
    }
}
