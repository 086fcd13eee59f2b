//! Scripted behaviour (outcomes after N polls) and magic payment-method ids.

mod common;

use common::{
    Api, CLIENT_ID, DEVICE_GRANT, card_request, post_form, read, spt_request, start, with,
};
use mock_link::MockLink;
use mock_link::{DeviceOutcome, DeviceScript, SpendOutcome, SpendRequestScript};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn new_device_code(link: &MockLink) -> String {
    let (_, code) = post_form(link, "/device/code", &[("client_id", CLIENT_ID)]).await;
    code["device_code"].as_str().unwrap().to_owned()
}

async fn poll(link: &MockLink, device_code: &str) -> (StatusCode, Value) {
    post_form(
        link,
        "/device/token",
        &[("grant_type", DEVICE_GRANT), ("device_code", device_code)],
    )
    .await
}

#[tokio::test]
async fn a_device_script_approves_after_n_polls() {
    let link = start().await;
    link.control()
        .script_next_device_code(&DeviceScript {
            outcome: DeviceOutcome::Approve,
            after_polls: 2,
            user_id: None,
        })
        .await
        .unwrap();
    let device_code = new_device_code(&link).await;
    for _ in 0..2 {
        let (_, body) = poll(&link, &device_code).await;
        assert_eq!(body["error"], "authorization_pending");
    }
    let (status, tokens) = poll(&link, &device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    // The script was used up: the next device code waits for a human again.
    let next = new_device_code(&link).await;
    let (_, body) = poll(&link, &next).await;
    assert_eq!(body["error"], "authorization_pending");
}

#[tokio::test]
async fn device_scripts_deny_and_expire_in_order() {
    let link = start().await;
    for outcome in [DeviceOutcome::Deny, DeviceOutcome::Expire] {
        link.control()
            .script_next_device_code(&DeviceScript {
                outcome,
                after_polls: 0,
                user_id: None,
            })
            .await
            .unwrap();
    }
    let denied = new_device_code(&link).await;
    let expired = new_device_code(&link).await;
    assert_eq!(poll(&link, &denied).await.1["error"], "access_denied");
    assert_eq!(poll(&link, &expired).await.1["error"], "expired_token");
    assert_eq!(poll(&link, &expired).await.1["error"], "expired_token");

    let unknown_user = link
        .control()
        .script_next_device_code(&DeviceScript {
            outcome: DeviceOutcome::Approve,
            after_polls: 0,
            user_id: Some("usr_nobody".into()),
        })
        .await;
    assert!(unknown_user.is_err());
}

#[tokio::test]
async fn a_spend_request_script_approves_after_n_retrieves() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    link.control()
        .script_next_spend_request(&SpendRequestScript {
            outcome: SpendOutcome::Approve,
            after_polls: 2,
        })
        .await
        .unwrap();
    let id = api.create_pending(card_request()).await;
    for _ in 0..2 {
        let (_, body) = api.get(&format!("/spend_requests/{id}?include=card")).await;
        assert_eq!(body["status"], "pending_approval");
    }
    let (_, body) = api.get(&format!("/spend_requests/{id}?include=card")).await;
    assert_eq!(body["status"], "approved");
    assert!(body["card"]["number"].is_string());
}

#[tokio::test]
async fn an_approve_script_waits_until_approval_is_requested() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_id(card_request()).await;
    link.control()
        .script_spend_request(
            &id,
            &SpendRequestScript {
                outcome: SpendOutcome::Approve,
                after_polls: 0,
            },
        )
        .await
        .unwrap();
    let (_, body) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(body["status"], "created");
    api.post(&format!("/spend_requests/{id}/request_approval"), json!({}))
        .await;
    let (_, body) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(body["status"], "approved");
}

#[tokio::test]
async fn a_require_action_script_then_completion() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;
    link.control()
        .post(
            &format!("/spend_requests/{id}/script"),
            json!({"outcome": "require_action", "resolution": "create_new_spend_request_after_completion"}),
        )
        .await
        .unwrap();
    let (_, body) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(body["status"], "requires_action");
    assert_eq!(
        body["status_details"]["requires_action"]["next_action"]["resolution"],
        "create_new_spend_request_after_completion"
    );
}

async fn created_with_magic(api: &Api, body: Value, magic: &str) -> Value {
    api.create(with(
        body,
        json!({"payment_details": magic, "request_approval": true}),
    ))
    .await
}

#[tokio::test]
async fn magic_payment_methods_decide_at_once() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let approved = created_with_magic(&api, card_request(), "csmrpd_magic_approve").await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["card_last4"], "0000");
    let denied = created_with_magic(
        &api,
        with(card_request(), json!({"amount": 2})),
        "csmrpd_magic_deny",
    )
    .await;
    assert_eq!(denied["status"], "denied");
    let expired = created_with_magic(
        &api,
        with(card_request(), json!({"amount": 3})),
        "csmrpd_magic_expire",
    )
    .await;
    assert_eq!(expired["status"], "expired");
    let new_request = created_with_magic(
        &api,
        with(card_request(), json!({"amount": 4})),
        "csmrpd_magic_new_request",
    )
    .await;
    assert_eq!(new_request["status"], "requires_action");
    assert_eq!(
        new_request["status_details"]["requires_action"]["next_action"]["resolution"],
        "create_new_spend_request"
    );
    let magic = link.control().get("/magic").await.unwrap();
    assert!(magic["data"].as_array().unwrap().len() >= 7);
}

#[tokio::test]
async fn magic_3ds_requires_action_then_resumes_on_the_next_retrieve() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = created_with_magic(&api, card_request(), "csmrpd_magic_3ds").await;
    assert_eq!(created["status"], "requires_action");
    assert_eq!(
        created["status_details"]["requires_action"]["next_action"]["resolution"],
        "auto_resume"
    );
    let id = created["id"].as_str().unwrap();
    let (_, body) = api.get(&format!("/spend_requests/{id}?include=card")).await;
    assert_eq!(body["status"], "approved");
    assert!(body["card"]["number"].is_string());
}

async fn redeem(link: &MockLink, spt: &str) -> (StatusCode, Value) {
    read(
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
            .unwrap(),
    )
    .await
}

async fn magic_spt(link: &MockLink, api: &Api, magic: &str) -> String {
    let created = created_with_magic(api, spt_request(), magic).await;
    assert_eq!(created["status"], "approved");
    let approved = link
        .control()
        .spend_request(created["id"].as_str().unwrap())
        .await
        .unwrap();
    approved["shared_payment_token"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn magic_decline_declines_every_redemption_without_consuming() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let spt = magic_spt(&link, &api, "csmrpd_magic_decline").await;
    for _ in 0..2 {
        let (status, body) = redeem(&link, &spt).await;
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(body["error"]["type"], "card_error");
        assert_eq!(body["error"]["code"], "card_declined");
    }
}

#[tokio::test]
async fn magic_decline_once_fails_first_then_succeeds() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let spt = magic_spt(&link, &api, "csmrpd_magic_decline_once").await;
    let (status, _) = redeem(&link, &spt).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    let (status, body) = redeem(&link, &spt).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "succeeded");
    let (status, _) = redeem(&link, &spt).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "then spent");
}

#[tokio::test]
async fn magic_amounts_script_outcomes_with_a_real_payment_method() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let denied = api
        .create(with(
            card_request(),
            json!({"amount": 400_002, "request_approval": true}),
        ))
        .await;
    assert_eq!(denied["status"], "denied");
    assert_eq!(denied["card_last4"], "4242");
    let declined = api
        .create(with(
            spt_request(),
            json!({"amount": 400_006, "request_approval": true}),
        ))
        .await;
    assert_eq!(declined["status"], "approved");
    let spt = link
        .control()
        .spend_request(declined["id"].as_str().unwrap())
        .await
        .unwrap()["shared_payment_token"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = read(
        reqwest::Client::new()
            .post(format!("{}/v1/payment_intents", link.base_url()))
            .bearer_auth("sk_test_mock_merchant")
            .form(&[
                ("amount", "400006"),
                ("currency", "usd"),
                ("shared_payment_granted_token", spt.as_str()),
                ("confirm", "true"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    let (_, request) = api
        .get(&format!(
            "/spend_requests/{}",
            declined["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(request["payment_status_details"]["outcome"], "failure");
    assert_eq!(request["payment_status_details"]["code"], "card_declined");
    let magic = link.control().get("/magic").await.unwrap();
    assert_eq!(magic["data"][1]["amount"], 400_002);
}

#[tokio::test]
async fn magic_pi_requires_action_uses_the_token_without_success() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let spt = magic_spt(&link, &api, "csmrpd_magic_pi_requires_action").await;
    let (status, intent) = redeem(&link, &spt).await;
    assert_eq!(status, StatusCode::OK, "{intent}");
    assert_eq!(intent["status"], "requires_action");
    assert_eq!(intent["next_action"]["type"], "use_stripe_sdk");
    assert_eq!(intent["amount_received"], 0);
    let (status, again) = redeem(&link, &spt).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(again["error"]["code"], "token_already_used");
    let ledger = link.control().ledger().await.unwrap();
    let redeemed = ledger.iter().find(|e| e.event == "redeemed").unwrap();
    assert_eq!(redeemed.reason.as_deref(), Some("requires_action"));
}

/// A variant's index is not its name: serde alone would read `"outcome": 0` as `approve`
/// (found by schemathesis), and `"kind": 0` as a status fault.
#[tokio::test]
async fn tagged_control_bodies_need_the_variant_name() {
    let link = start().await;
    for (path, body, param) in [
        ("/scripts/spend_requests", json!({"outcome": 0}), "outcome"),
        (
            "/faults",
            json!({"path": "/userinfo", "fault": {"kind": 0, "status": 503}}),
            "fault.kind",
        ),
    ] {
        match link.control().post(path, body).await {
            Err(mock_link::ControlError::Status { status, body }) => {
                assert_eq!(status, 400, "{path}: {body}");
                assert!(
                    body["error"]["message"].as_str().unwrap().contains(param),
                    "{body}"
                );
            }
            other => panic!("{path} accepted an index: {other:?}"),
        }
    }
    let scripts = link.control().get("/scripts").await.unwrap();
    assert_eq!(scripts["spend_requests"], json!([]));
    assert_eq!(
        link.control().get("/faults").await.unwrap()["data"],
        json!([])
    );
}
