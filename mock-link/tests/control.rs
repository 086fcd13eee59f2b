//! The control API: request log with redaction, reset, seeding, error shapes for unknown routes.

mod common;

use common::{Api, post_form, read, spt_request, start};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_request_log_records_calls_with_secrets_redacted() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(spt_request()).await;
    let approved = link.control().approve_spend_request(&id).await.unwrap();
    let spt = approved["shared_payment_token"]["id"].as_str().unwrap();
    api.get(&format!(
        "/spend_requests/{id}?include=shared_payment_token"
    ))
    .await;
    reqwest::Client::new()
        .post(format!("{}/v1/payment_intents", link.base_url()))
        .bearer_auth("sk_test_mock_merchant")
        .form(&[
            ("amount", "2500"),
            ("currency", "usd"),
            ("shared_payment_granted_token", spt),
            ("confirm", "true"),
        ])
        .send()
        .await
        .unwrap();
    reqwest::Client::new()
        .post(format!("{}/device/revoke", link.base_url()))
        .form(&[("token", api.access_token.as_str())])
        .send()
        .await
        .unwrap();

    let log = link.control().received_requests().await.unwrap();
    let summary: Vec<(String, String, u16)> = log
        .iter()
        .map(|entry| (entry.method.clone(), entry.path.clone(), entry.status))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("POST".into(), "/spend_requests".into(), 200),
            ("GET".into(), format!("/spend_requests/{id}"), 200),
            ("POST".into(), "/v1/payment_intents".into(), 200),
            ("POST".into(), "/device/revoke".into(), 200),
        ]
    );
    assert_eq!(log[0].body["amount"], 2500);
    assert_eq!(log[0].headers["authorization"], "Bearer [REDACTED]");
    assert_eq!(
        log[1].query.as_deref(),
        Some("include=shared_payment_token")
    );
    assert_eq!(log[2].body["shared_payment_granted_token"], "[REDACTED]");
    assert_eq!(log[2].body["amount"], "2500");
    assert_eq!(log[3].body["token"], "[REDACTED]");
    let everything = serde_json::to_string(&log).unwrap();
    assert!(!everything.contains(spt), "SPT leaked into the log");
    assert!(!everything.contains(&api.access_token), "token leaked");
    assert!(
        !everything.contains("sk_test_mock_merchant"),
        "secret key leaked"
    );
}

#[tokio::test]
async fn reset_forgets_requests_users_and_the_clock() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    api.create(common::card_request()).await;
    let user = link.control().create_user(json!({})).await.unwrap();
    link.control()
        .advance_clock(std::time::Duration::from_secs(100))
        .await
        .unwrap();
    link.control().reset().await.unwrap();
    let clock = link.control().get("/clock").await.unwrap();
    assert_eq!(clock["offset_seconds"], 0.0);
    assert!(link.control().received_requests().await.unwrap().is_empty());
    // Tokens are gone too.
    let (status, _) = api.get("/spend_requests").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        link.control()
            .issue_tokens(user["id"].as_str().unwrap())
            .await
            .is_err()
    );
    let fresh = Api::default_user(&link).await;
    let (_, list) = fresh.get("/spend_requests?include_history=true").await;
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn control_errors_are_json_and_name_the_problem() {
    let link = start().await;
    let missing = link.control().approve_spend_request("lsrq_nope").await;
    match missing {
        Err(mock_link::ControlError::Status { status, body }) => {
            assert_eq!(status, 404);
            assert_eq!(body["error"]["code"], "resource_missing");
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    let bad = link
        .control()
        .post("/clock/advance", json!({"seconds": "soon"}))
        .await;
    assert!(matches!(
        bad,
        Err(mock_link::ControlError::Status { status: 400, .. })
    ));
    let huge = link
        .control()
        .post("/clock/advance", json!({"seconds": 1e300}))
        .await;
    assert!(matches!(
        huge,
        Err(mock_link::ControlError::Status { status: 400, .. })
    ));
    let negative = link
        .control()
        .post("/clock/advance", json!({"seconds": -1.0}))
        .await;
    assert!(matches!(
        negative,
        Err(mock_link::ControlError::Status { status: 400, .. })
    ));
    let bad_key = link.control().add_merchant("pk_live_x", "profile_x").await;
    assert!(matches!(
        bad_key,
        Err(mock_link::ControlError::Status { status: 400, .. })
    ));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_host_shape() {
    let link = start().await;
    let http = reqwest::Client::new();
    let (status, body) = read(
        http.get(format!("{}/nope", link.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "resource_missing");

    let (status, body) = read(
        http.get(format!("{}/device/code", link.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"], "invalid_request");

    let (status, body) = read(
        http.get(format!("{}/v1/charges", link.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn device_codes_can_be_approved_for_another_user() {
    let link = start().await;
    let user = link
        .control()
        .create_user(json!({"email": "second@example.com"}))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let (_, code) = read(
        http.post(format!("{}/device/code", link.base_url()))
            .form(&[("client_id", common::CLIENT_ID)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    link.control()
        .approve_device_as(
            code["user_code"].as_str().unwrap(),
            user["id"].as_str().unwrap(),
        )
        .await
        .unwrap();
    let (_, tokens) = read(
        http.post(format!("{}/device/token", link.base_url()))
            .form(&[
                ("grant_type", common::DEVICE_GRANT),
                ("device_code", code["device_code"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (_, me) = read(
        http.get(format!("{}/userinfo", link.base_url()))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(me["email"], "second@example.com");
}

#[tokio::test]
async fn a_builder_seed_adds_users_and_merchants_and_survives_reset() {
    let seed = mock_link::Seed::from_json(
        r#"{
            "users": [{
                "id": "usr_alice", "email": "alice@example.com", "name": "Alice Example",
                "payment_methods": [{"id": "csmrpd_alice_mc", "brand": "mastercard", "last4": "5555"}],
                "shipping_addresses": [{"name": "Alice Example", "line_1": "1 Main St", "country_code": "US"}]
            }],
            "merchants": [{"secret_key": "sk_test_shop", "network_id": "profile_shop"}]
        }"#,
    )
    .unwrap();
    let link = mock_link::MockLink::builder()
        .seed(seed)
        .start()
        .await
        .unwrap();
    link.control().reset().await.unwrap();
    let alice = Api::login(&link, "usr_alice").await;
    let (_, methods) = alice.get("/payment-details").await;
    assert_eq!(methods["payment_details"][0]["id"], "csmrpd_alice_mc");
    assert_eq!(methods["payment_details"][0]["is_default"], true);
    let (_, addresses) = alice.get("/shipping_addresses").await;
    assert_eq!(
        addresses["shipping_addresses"][0]["address"]["line_1"],
        "1 Main St"
    );
    // The seeded merchant key is known (an unknown SPT, not an unknown key).
    let (status, body) = read(
        reqwest::Client::new()
            .post(format!("{}/v1/payment_intents", link.base_url()))
            .bearer_auth("sk_test_shop")
            .form(&[
                ("amount", "1"),
                ("currency", "usd"),
                ("shared_payment_granted_token", "spt_x"),
                ("confirm", "true"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "resource_missing");
}

#[tokio::test]
async fn invalid_seeds_are_refused() {
    assert!(mock_link::Seed::from_json(r#"{"users": [{"emial": "typo"}]}"#).is_err());
    let bad = mock_link::Seed::from_json(r#"{"users": [{"payment_methods": [{"last4": "12"}]}]}"#)
        .unwrap();
    assert!(
        mock_link::MockLink::builder()
            .seed(bad)
            .start()
            .await
            .is_err()
    );
    let link = start().await;
    let refused = link
        .control()
        .post(
            "/seed",
            json!({"merchants": [{"secret_key": "pk_x", "network_id": "p"}]}),
        )
        .await;
    assert!(matches!(
        refused,
        Err(mock_link::ControlError::Status { status: 400, .. })
    ));
    let added = link
        .control()
        .post("/seed", json!({"users": [{"id": "usr_bob"}]}))
        .await
        .unwrap();
    assert_eq!(added["users"][0]["id"], "usr_bob");
}

#[tokio::test]
async fn the_example_seed_file_loads_and_lists_its_users() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/seed.example.json")).unwrap();
    let seed = mock_link::Seed::from_json(&text).unwrap();
    let link = mock_link::MockLink::builder()
        .seed(seed)
        .start()
        .await
        .unwrap();
    let users = link.control().get("/users").await.unwrap();
    let ids: Vec<&str> = users["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "usr_default",
            "usr_alice",
            "usr_empty_wallet",
            "usr_unverified",
            "usr_abroad"
        ]
    );
    let empty = Api::login(&link, "usr_empty_wallet").await;
    assert_eq!(
        empty.get("/payment-details").await.1["payment_details"],
        json!([])
    );
}

async fn new_code(link: &mock_link::MockLink) -> serde_json::Value {
    post_form(link, "/device/code", &[("client_id", common::CLIENT_ID)])
        .await
        .1
}

async fn poll(link: &mock_link::MockLink, device_code: &str) -> serde_json::Value {
    post_form(
        link,
        "/device/token",
        &[
            ("grant_type", common::DEVICE_GRANT),
            ("device_code", device_code),
        ],
    )
    .await
    .1
}

#[tokio::test]
async fn device_codes_can_be_expired_and_named_by_device_code() {
    let link = start().await;
    let expiring = new_code(&link).await;
    link.control()
        .expire_device(expiring["user_code"].as_str().unwrap())
        .await
        .unwrap();
    let answer = poll(&link, expiring["device_code"].as_str().unwrap()).await;
    assert_eq!(answer["error"], "expired_token");

    let by_secret = new_code(&link).await;
    let approved = link
        .control()
        .post(
            "/device_codes/approve",
            json!({"device_code": by_secret["device_code"]}),
        )
        .await
        .unwrap();
    assert_eq!(approved["decision"]["status"], "approved");
    assert!(
        approved.get("device_code").is_none(),
        "the control API never echoes the secret"
    );
    let tokens = poll(&link, by_secret["device_code"].as_str().unwrap()).await;
    assert!(tokens["access_token"].is_string());

    let missing = link.control().post("/device_codes/deny", json!({})).await;
    assert!(matches!(
        missing,
        Err(mock_link::ControlError::Status { status: 400, .. })
    ));
    let unknown = link.control().deny_device("no-such-phrase").await;
    assert!(matches!(
        unknown,
        Err(mock_link::ControlError::Status { status: 404, .. })
    ));
}

#[tokio::test]
async fn control_revocation_ends_the_session_and_scripts_are_listed() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    link.control()
        .revoke_token(&api.access_token)
        .await
        .unwrap();
    assert_eq!(api.get("/userinfo").await.0, StatusCode::UNAUTHORIZED);
    assert!(
        link.control()
            .revoke_token("link_at_unknown")
            .await
            .is_err()
    );

    link.control()
        .post(
            "/scripts/spend_requests",
            json!({"outcome": "deny", "after_polls": 1}),
        )
        .await
        .unwrap();
    let scripts = link.control().get("/scripts").await.unwrap();
    assert_eq!(scripts["spend_requests"][0]["outcome"], "deny");
    assert_eq!(scripts["spend_requests"][0]["after_polls"], 1);
    assert_eq!(scripts["device_codes"], json!([]));
    let bad = link
        .control()
        .post("/scripts/spend_requests", json!({"outcome": "explode"}))
        .await;
    assert!(matches!(
        bad,
        Err(mock_link::ControlError::Status { status: 400, .. })
    ));
}

#[tokio::test]
async fn sessions_are_revoked_and_expired_by_user_without_knowing_a_token() {
    let link = start().await;
    let first = Api::default_user(&link).await;
    let second = Api::default_user(&link).await;
    let control = link.control();

    let listed = control.tokens().await.unwrap();
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(listed.iter().all(|t| t["user_id"] == "usr_default"));
    assert!(
        listed
            .iter()
            .any(|t| t["kind"] == "access" && t["token"] == first.access_token.as_str())
    );

    // Expiring by user ends both access tokens but leaves the refresh tokens usable.
    let expired = control
        .expire_user_access_tokens("usr_default")
        .await
        .unwrap();
    assert_eq!(expired["tokens"], 2);
    assert_eq!(first.get("/userinfo").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(second.get("/userinfo").await.0, StatusCode::UNAUTHORIZED);
    let tokens = control.tokens().await.unwrap();
    assert!(
        tokens
            .iter()
            .all(|t| (t["kind"] == "access") == (t["expired"] == true))
    );

    // Revoking by user ends every session of that user.
    let third = Api::default_user(&link).await;
    let revoked = control.revoke_user_sessions("usr_default").await.unwrap();
    assert_eq!(revoked["grants"], 3);
    assert_eq!(third.get("/userinfo").await.0, StatusCode::UNAUTHORIZED);
    assert!(
        control
            .tokens()
            .await
            .unwrap()
            .iter()
            .all(|t| t["revoked"] == true)
    );

    // Unknown users, neither selector, or both, are the caller's mistakes.
    for (body, status) in [
        (json!({"user_id": "usr_nobody"}), 404),
        (json!({}), 400),
        (json!({"user_id": "usr_default", "token": "link_at_x"}), 400),
        (json!({"user": "usr_default"}), 400),
    ] {
        let answer = control.post("/tokens/revoke", body.clone()).await;
        assert!(
            matches!(answer, Err(mock_link::ControlError::Status { status: s, .. }) if s == status),
            "{body}: {answer:?}"
        );
    }
}

#[tokio::test]
async fn the_request_log_has_millisecond_times() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    api.get("/userinfo").await;
    let log = link.control().received_requests().await.unwrap();
    let entry = log.last().unwrap();
    let (at, at_ms) = (entry.at, entry.at_ms);
    assert_eq!(at, at_ms / 1000, "{entry:?}");
}

#[tokio::test]
async fn advancing_the_clock_past_its_100_year_bound_is_refused_and_moves_nothing() {
    let link = start().await;
    link.control()
        .advance_clock(mock_link::limits::MAX_SPAN)
        .await
        .unwrap();
    let before = link.control().get("/clock").await.unwrap();
    let error = link
        .control()
        .advance_clock(std::time::Duration::from_secs(3600))
        .await
        .unwrap_err();
    match error {
        mock_link::ControlError::Status { status, body } => {
            assert_eq!(status, 400);
            assert_eq!(body["error"]["param"], "seconds");
        }
        other => panic!("{other}"),
    }
    let after = link.control().get("/clock").await.unwrap();
    assert_eq!(before["offset_seconds"], after["offset_seconds"]);
}
