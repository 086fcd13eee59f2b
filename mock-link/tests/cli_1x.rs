//! What a 1.x link-cli client needs from mock-link (link-cli-1x.md section 1): response shapes
//! its zod validation accepts, and the body fields and endpoints it added. Everything a 0.13.1
//! client reads must stay as it was.

mod common;

use std::time::Duration;

use common::{Api, card_request, start};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An RFC 3339 / ISO-8601 UTC timestamp such as `2026-01-30T12:00:00Z`.
fn is_iso_timestamp(value: &Value) -> bool {
    value.as_str().is_some_and(|text| {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
    })
}

#[tokio::test]
async fn spend_requests_carry_iso_timestamps_and_request_approval_answers_approval_link() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = api.create(card_request()).await;
    assert!(is_iso_timestamp(&created["created_at"]), "{created}");
    assert!(is_iso_timestamp(&created["updated_at"]), "{created}");
    let id = created["id"].as_str().unwrap();

    let (status, answer) = api
        .post(&format!("/spend_requests/{id}/request_approval"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["id"], id);
    let link_url = answer["approval_link"].as_str().expect("approval_link");
    // 0.13.1 reads approval_url: it stays, with the same value.
    assert_eq!(answer["approval_url"].as_str(), Some(link_url));

    let (_, listed) = api.get("/spend_requests").await;
    for request in listed["data"].as_array().unwrap() {
        assert!(is_iso_timestamp(&request["created_at"]), "{request}");
        assert!(is_iso_timestamp(&request["updated_at"]), "{request}");
    }
}

#[tokio::test]
async fn payment_methods_have_a_name_and_the_list_an_unavailable_count() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, body) = api.get("/payment-details").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["unavailable_count"], json!(0));
    let methods = body["payment_details"]
        .as_array()
        .expect("0.13.1 reads this array");
    assert!(!methods.is_empty());
    for method in methods {
        assert!(
            method["name"].as_str().is_some_and(|name| !name.is_empty()),
            "{method}"
        );
    }
}

#[tokio::test]
async fn an_agent_user_agent_suffix_is_accepted_on_auth_and_api_hosts() {
    let link = start().await;
    let http = reqwest::Client::new();
    let agent = "link-cli/1.3.0 AIAgent/claude-code";
    let code = http
        .post(format!("{}/device/code", link.base_url()))
        .header("User-Agent", agent)
        .form(&[("client_id", common::CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(code.status(), StatusCode::OK);
    let api = Api::default_user(&link).await;
    let listed = http
        .get(format!("{}/payment-details", link.base_url()))
        .header("User-Agent", agent)
        .bearer_auth(&api.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_server_enforces_the_amount_cap_naming_amount() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let max = mock_link::limits::MAX_AMOUNT;
    let accepted = api
        .create(common::with(card_request(), json!({ "amount": max })))
        .await;
    assert_eq!(accepted["amount"], json!(max));
    let (status, refused) = api
        .post(
            "/spend_requests",
            common::with(card_request(), json!({ "amount": max + 1 })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["code"], "amount_too_large");
    assert_eq!(refused["error"]["param"], "amount");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_same_request_and_refuses_another_body() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let body = common::with(
        card_request(),
        json!({ "idempotency_key": "order-42-attempt" }),
    );
    let first = api.create(body.clone()).await;
    // The same body again (a retry after a lost answer): the same request, not a duplicate 429.
    let replay = api.create(body.clone()).await;
    assert_eq!(replay["id"], first["id"]);
    let (_, listed) = api.get("/spend_requests").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");

    let (status, refused) = api
        .post(
            "/spend_requests",
            common::with(body.clone(), json!({ "amount": 5000 })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["code"], "idempotency_key_reused");
    assert_eq!(refused["error"]["param"], "idempotency_key");

    // Keys belong to a user: another user's same key is a new request.
    link.control()
        .create_user(json!({"id": "usr_other", "payment_methods": [{"id": "csmrpd_other"}]}))
        .await
        .unwrap();
    let other = Api::login(&link, "usr_other").await;
    let theirs = other
        .create(common::with(
            body,
            json!({ "payment_details": "csmrpd_other" }),
        ))
        .await;
    assert_ne!(theirs["id"], first["id"]);
}

#[tokio::test]
async fn an_idempotency_key_must_be_1_to_255_bytes() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    for key in [json!(""), json!("é".repeat(128)), json!(42)] {
        let (status, refused) = api
            .post(
                "/spend_requests",
                common::with(card_request(), json!({ "idempotency_key": key })),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{key}: {refused}");
        assert_eq!(refused["error"]["param"], "idempotency_key");
    }
    // 255 bytes exactly (multi-byte characters count as their bytes).
    let longest = format!("{}a", "é".repeat(127));
    assert_eq!(longest.len(), 255);
    api.create(common::with(
        card_request(),
        json!({ "idempotency_key": longest }),
    ))
    .await;
}

/// The virtual clock's current unix time.
async fn clock_now(link: &mock_link::MockLink) -> i64 {
    link.control().get("/clock").await.unwrap()["now"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn without_expires_at_a_request_expires_twelve_hours_after_creation() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = api.create(card_request()).await;
    let id = created["id"].as_str().unwrap();
    let created_at = time::OffsetDateTime::parse(
        created["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    assert_eq!(
        created["expires_at"].as_i64().unwrap() - created_at,
        12 * 3600
    );
    link.control()
        .advance_clock(Duration::from_secs(12 * 3600 - 60))
        .await
        .unwrap();
    // Through the control API: the access token (1 h) has long expired.
    assert_eq!(
        link.control().spend_request(id).await.unwrap()["status"],
        "created"
    );
    link.control()
        .advance_clock(Duration::from_secs(120))
        .await
        .unwrap();
    // Through the control API: the access token (1 h) has long expired.
    assert_eq!(
        link.control().spend_request(id).await.unwrap()["status"],
        "expired"
    );
}

#[tokio::test]
async fn expires_at_is_refused_for_clients_not_on_the_allow_list() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let in_range = clock_now(&link).await + 4 * 3600;
    let (status, refused) = api
        .post(
            "/spend_requests",
            common::with(card_request(), json!({ "expires_at": in_range })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["code"], "expires_at_not_supported");
    assert_eq!(
        refused["error"]["message"],
        "expires_at is not supported for this client"
    );
    // Allowing another client changes nothing for this one.
    link.control()
        .set_expires_at_clients(&["lwlpk_partner"])
        .await
        .unwrap();
    let (status, _) = api
        .post(
            "/spend_requests",
            common::with(card_request(), json!({ "expires_at": in_range })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A mock-link whose allow-list holds `lwlpk_partner`, and that client's API session.
async fn partner_link() -> (mock_link::MockLink, Api) {
    let link = mock_link::MockLink::builder()
        .expires_at_client("lwlpk_partner")
        .start()
        .await
        .unwrap();
    let tokens = link
        .control()
        .issue_tokens_for_client("usr_default", "lwlpk_partner", mock_link::DEFAULT_SCOPE)
        .await
        .unwrap();
    let api = Api {
        http: reqwest::Client::new(),
        base_url: link.base_url().to_owned(),
        access_token: tokens["access_token"].as_str().unwrap().to_owned(),
    };
    (link, api)
}

#[tokio::test]
async fn an_expires_at_brought_forward_by_an_update_still_expires_the_request() {
    let (link, api) = partner_link().await;
    let now = clock_now(&link).await;
    let id = api.create_id(card_request()).await;
    // A retrieve sweeps for expiry and learns that nothing is due for 12 hours ...
    let (status, _) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    // ... then the update brings the expiry forward to 4 hours.
    let (status, updated) = api
        .post(
            &format!("/spend_requests/{id}"),
            json!({ "expires_at": now + 4 * 3600 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    link.control()
        .advance_clock(Duration::from_secs(4 * 3600 + 1))
        .await
        .unwrap();
    assert_eq!(
        link.control().spend_request(&id).await.unwrap()["status"],
        "expired"
    );
}

#[tokio::test]
async fn an_allowed_client_sets_expires_at_between_three_hours_and_seven_days() {
    let (link, api) = partner_link().await;
    let now = clock_now(&link).await;
    for (expires_at, why) in [
        (now + 3 * 3600 - 120, "under three hours"),
        (now + 7 * 24 * 3600 + 60, "over seven days"),
    ] {
        let (status, refused) = api
            .post(
                "/spend_requests",
                common::with(card_request(), json!({ "expires_at": expires_at })),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {refused}");
        assert_eq!(refused["error"]["param"], "expires_at", "{why}");
    }
    let created = api
        .create(common::with(
            card_request(),
            json!({ "expires_at": now + 4 * 3600 }),
        ))
        .await;
    assert_eq!(created["expires_at"], now + 4 * 3600);
    let id = created["id"].as_str().unwrap();
    link.control()
        .advance_clock(Duration::from_secs(4 * 3600 + 1))
        .await
        .unwrap();
    // Through the control API: the access token (1 h) has long expired.
    assert_eq!(
        link.control().spend_request(id).await.unwrap()["status"],
        "expired"
    );
}

#[tokio::test]
async fn recurring_terms_are_echoed_and_null_when_absent() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let plain = api.create(card_request()).await;
    assert_eq!(plain["recurring"], Value::Null);
    let monthly = api
        .create(common::with(
            card_request(),
            json!({ "amount": 1500, "recurring": {"interval": "month", "interval_count": 3} }),
        ))
        .await;
    assert_eq!(
        monthly["recurring"],
        json!({"interval": "month", "interval_count": 3})
    );
    let yearly = api
        .create(common::with(
            card_request(),
            json!({ "amount": 1600, "recurring": {"interval": "year"} }),
        ))
        .await;
    assert_eq!(
        yearly["recurring"],
        json!({"interval": "year", "interval_count": 1})
    );
    let id = monthly["id"].as_str().unwrap();
    assert_eq!(
        api.get(&format!("/spend_requests/{id}")).await.1["recurring"]["interval"],
        "month"
    );
}

/// A card request of the default user, approved through the control API.
async fn approved_card_request(link: &mock_link::MockLink, api: &Api, amount: i64) -> String {
    let id = api
        .create_id(common::with(
            card_request(),
            json!({ "request_approval": true, "amount": amount }),
        ))
        .await;
    link.control().approve_spend_request(&id).await.unwrap();
    id
}

#[tokio::test]
async fn submitted_then_succeeded_carries_payment_status_details_and_the_transaction() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = approved_card_request(&link, &api, 4999).await;

    let submitted = link.control().submit_spend_request(&id).await.unwrap();
    assert_eq!(submitted["status"], "submitted");
    let (_, seen) = api.get(&format!("/spend_requests/{id}?include=card")).await;
    assert_eq!(seen["status"], "submitted");
    assert_eq!(seen["payment_status_details"], Value::Null);
    assert_eq!(seen["link_transaction_id"], Value::Null);
    assert!(
        seen["card"]["number"].is_string(),
        "the card stays visible: {seen}"
    );
    let (_, listed) = api.get("/spend_requests").await;
    assert_eq!(listed["data"][0]["status"], "submitted", "not history yet");

    link.control()
        .succeed_spend_request(&id, json!({ "amount": 4500 }))
        .await
        .unwrap();
    let (_, done) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(done["status"], "succeeded");
    let details = &done["payment_status_details"];
    assert_eq!(details["outcome"], "success");
    assert_eq!(details["amount"], 4500);
    assert_eq!(details["currency"], "usd");
    assert_eq!(details["code"], Value::Null);
    assert_eq!(details["decline_code"], Value::Null);
    assert_eq!(details["refund_details"], Value::Null);
    assert!(details["created"].is_i64());
    let transaction = done["link_transaction_id"].as_str().unwrap();
    assert!(transaction.starts_with("ltxn_"), "{transaction}");
    assert!(
        done["activity_url"]
            .as_str()
            .is_some_and(|url| url.ends_with(transaction)),
        "{done}"
    );
}

#[tokio::test]
async fn failed_carries_the_decline_and_other_states_refuse_submit() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = approved_card_request(&link, &api, 4999).await;
    link.control()
        .fail_spend_request(&id, json!({ "decline_code": "insufficient_funds" }))
        .await
        .unwrap();
    let (_, failed) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["payment_status_details"]["outcome"], "failure");
    assert_eq!(failed["payment_status_details"]["code"], "card_declined");
    assert_eq!(
        failed["payment_status_details"]["decline_code"],
        "insufficient_funds"
    );
    assert_eq!(failed["link_transaction_id"], Value::Null);

    let pending = api
        .create(common::with(
            card_request(),
            json!({ "request_approval": true, "amount": 777 }),
        ))
        .await;
    let pending_id = pending["id"].as_str().unwrap();
    match link.control().submit_spend_request(pending_id).await {
        Err(mock_link::ControlError::Status { status, body }) => {
            assert_eq!(status, 400);
            assert_eq!(body["error"]["code"], "invalid_spend_request_state");
        }
        other => panic!("submitting a pending request: {other:?}"),
    }
    match link
        .control()
        .spend_request_event(pending_id, "teleport", json!({}))
        .await
    {
        Err(mock_link::ControlError::Status { status, .. }) => assert_eq!(status, 404),
        other => panic!("an unknown event: {other:?}"),
    }
}

/// An SPT request of the default user with `changes`, sent for approval.
async fn spt_request_for_approval(api: &Api, changes: Value) -> String {
    let created = api
        .create(common::with(
            common::with(common::spt_request(), json!({ "request_approval": true })),
            changes,
        ))
        .await;
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_spt_delay_hides_the_token_after_approval_until_the_clock_passes_it() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = spt_request_for_approval(&api, json!({})).await;
    link.control()
        .post(
            &format!("/spend_requests/{id}/spt_delay"),
            json!({ "seconds": 3 }),
        )
        .await
        .unwrap();
    link.control().approve_spend_request(&id).await.unwrap();
    let path = format!("/spend_requests/{id}?include=shared_payment_token");
    let (_, early) = api.get(&path).await;
    assert_eq!(early["status"], "approved");
    assert!(early.get("shared_payment_token").is_none(), "{early}");
    link.control()
        .advance_clock(Duration::from_secs(3))
        .await
        .unwrap();
    let (_, minted) = api.get(&path).await;
    assert!(
        minted["shared_payment_token"]["id"]
            .as_str()
            .is_some_and(|spt| spt.starts_with("spt_")),
        "{minted}"
    );
}

#[tokio::test]
async fn a_global_spt_delay_and_the_magic_input_delay_every_token() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let settings = link
        .control()
        .post("/settings", json!({ "spt_delay_seconds": 2.5 }))
        .await
        .unwrap();
    assert_eq!(settings["spt_delay_seconds"], 2.5);
    let id = spt_request_for_approval(&api, json!({})).await;
    link.control().approve_spend_request(&id).await.unwrap();
    let path = format!("/spend_requests/{id}?include=shared_payment_token");
    assert!(api.get(&path).await.1.get("shared_payment_token").is_none());
    link.control()
        .post("/settings", json!({ "spt_delay_seconds": 0 }))
        .await
        .unwrap();

    // The magic amount: approved at once, the token 5 s later.
    let magic = spt_request_for_approval(&api, json!({ "amount": 400_009 })).await;
    let path = format!("/spend_requests/{magic}?include=shared_payment_token");
    let (_, approved) = api.get(&path).await;
    assert_eq!(approved["status"], "approved");
    assert!(approved.get("shared_payment_token").is_none(), "{approved}");
    link.control()
        .advance_clock(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(api.get(&path).await.1["shared_payment_token"]["id"].is_string());

    let (status, refused) = api_control_error(
        link.control()
            .post("/settings", json!({ "spt_delay_seconds": -1 }))
            .await,
    );
    assert_eq!(status, 400, "{refused}");
}

/// The status and body of a control call that must fail.
fn api_control_error(result: Result<Value, mock_link::ControlError>) -> (u16, Value) {
    match result {
        Err(mock_link::ControlError::Status { status, body }) => (status, body),
        other => panic!("expected an error status: {other:?}"),
    }
}

#[tokio::test]
async fn a_payment_method_is_retrieved_and_renamed_and_the_list_shows_the_nickname() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, method) = api.get("/payment-details/csmrpd_default_mastercard").await;
    assert_eq!(status, StatusCode::OK, "{method}");
    assert_eq!(method["id"], "csmrpd_default_mastercard");
    assert!(method["name"].is_string());

    let (status, renamed) = api
        .post(
            "/payment-details/csmrpd_default_mastercard",
            json!({ "nickname": "Travel card" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["nickname"], "Travel card");
    let (_, listed) = api.get("/payment-details").await;
    let listed_method = listed["payment_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|method| method["id"] == "csmrpd_default_mastercard")
        .unwrap()
        .clone();
    assert_eq!(listed_method["nickname"], "Travel card");

    let (_, cleared) = api
        .post(
            "/payment-details/csmrpd_default_mastercard",
            json!({ "nickname": "" }),
        )
        .await;
    assert!(cleared.get("nickname").is_none(), "{cleared}");
    assert!(
        api.get("/payment-details/csmrpd_default_mastercard")
            .await
            .1
            .get("nickname")
            .is_none()
    );
}

#[tokio::test]
async fn unknown_payment_methods_and_bad_nicknames_are_refused() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, missing) = api.get("/payment-details/csmrpd_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], "resource_missing");
    let (status, _) = api
        .post("/payment-details/csmrpd_nope", json!({ "nickname": "x" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (body, param) in [
        (json!({}), "nickname"),
        (json!({ "nickname": 7 }), "nickname"),
        (json!({ "nickname": "n".repeat(101) }), "nickname"),
    ] {
        let (status, refused) = api
            .post("/payment-details/csmrpd_default_visa", body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(refused["error"]["param"], param);
    }
    // Another user's method is as unknown as a missing one.
    link.control()
        .create_user(json!({"id": "usr_other", "payment_methods": [{"id": "csmrpd_other"}]}))
        .await
        .unwrap();
    let (status, _) = api.get("/payment-details/csmrpd_other").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn lpt_request() -> Value {
    json!({
        "payment_details": "csmrpd_default_visa",
        "credential_type": "link_pay_token",
        "merchant_account_id": "  acct_1Merchant  ",
        "amount": 1800,
        "currency": "usd",
        "context": common::CONTEXT,
    })
}

#[tokio::test]
async fn a_link_pay_token_request_shows_its_token_only_with_include_after_approval() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = api
        .create(common::with(
            lpt_request(),
            json!({ "request_approval": true }),
        ))
        .await;
    assert_eq!(created["credential_type"], "link_pay_token");
    assert_eq!(created["merchant_account_id"], "acct_1Merchant");
    let id = created["id"].as_str().unwrap();
    let path = format!("/spend_requests/{id}?include=link_pay_token");
    assert!(api.get(&path).await.1.get("link_pay_token").is_none());
    link.control().approve_spend_request(id).await.unwrap();
    let (_, approved) = api.get(&path).await;
    let token = approved["link_pay_token"].as_str().expect("link_pay_token");
    assert!(token.starts_with("lpt_"), "{approved}");
    assert!(approved.get("card").is_none());
    let (_, plain) = api.get(&format!("/spend_requests/{id}")).await;
    assert!(plain.get("link_pay_token").is_none());
    // The bracket form is read too.
    let (_, bracket) = api
        .get(&format!("/spend_requests/{id}?include[]=link_pay_token"))
        .await;
    assert_eq!(bracket["link_pay_token"], token);
}

#[tokio::test]
async fn the_0_13_1_link_pay_token_shape_is_still_accepted() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = api
        .create(common::with(
            card_request(),
            json!({ "request_approval": true, "execution_method": "link_pay_token",
                    "merchant_account_id": "acct_1Merchant" }),
        ))
        .await;
    assert_eq!(created["credential_type"], "card");
    assert_eq!(created["execution_method"], "link_pay_token");
    let id = created["id"].as_str().unwrap();
    link.control().approve_spend_request(id).await.unwrap();
    let (_, approved) = api
        .get(&format!("/spend_requests/{id}?include=card,link_pay_token"))
        .await;
    assert!(approved["card"]["number"].is_string());
    assert!(approved["link_pay_token"].is_string());
}

#[tokio::test]
async fn link_pay_token_rules_name_the_field() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    for (body, param) in [
        (
            common::with(lpt_request(), json!({ "merchant_account_id": null })),
            "merchant_account_id",
        ),
        (
            common::with(lpt_request(), json!({ "merchant_account_id": "  " })),
            "merchant_account_id",
        ),
        (
            common::with(lpt_request(), json!({ "network_id": "profile_x" })),
            "network_id",
        ),
        (
            common::with(
                common::spt_request(),
                json!({ "merchant_account_id": "acct_1" }),
            ),
            "merchant_account_id",
        ),
    ] {
        let (status, refused) = api.post("/spend_requests", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {refused}");
        assert_eq!(refused["error"]["param"], param, "{body}");
    }
}

#[tokio::test]
async fn delegated_routes_need_the_approve_scope() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let delegated = common::with(
        card_request(),
        json!({ "approval_details": {"approval_method": "programmatic"} }),
    );
    let (status, refused) = api
        .post("/spend_requests/create_delegated", delegated.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["code"], "insufficient_scope");
    assert_eq!(refused["error"]["required_scope"], "spend_requests:approve");

    let created = api.create(card_request()).await;
    let id = created["id"].as_str().unwrap();
    let update_path = format!("/spend_requests/{id}/update_delegated");
    let (status, refused) = api.post(&update_path, json!({ "amount": 4000 })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(refused["error"]["code"], "insufficient_scope");
    assert_eq!(
        api.get(&format!("/spend_requests/{id}")).await.1["amount"],
        4999
    );

    let approver = Api::with_scope(&link, "usr_default", mock_link::APPROVE_SCOPE).await;
    let (status, updated) = approver.post(&update_path, json!({ "amount": 4000 })).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["status"], "approved");
    assert_eq!(updated["amount"], 4000);
    let (_, with_card) = approver
        .get(&format!("/spend_requests/{id}?include=card"))
        .await;
    assert!(with_card["card"]["number"].is_string());
    // Once approved there is nothing left to approve.
    let (status, again) = approver.post(&update_path, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    assert_eq!(again["error"]["code"], "invalid_spend_request_state");

    let (status, created) = approver
        .post(
            "/spend_requests/create_delegated",
            common::with(delegated, json!({ "amount": 3000 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["status"], "approved");
}

#[tokio::test]
async fn the_approval_policy_is_404_until_the_control_api_sets_one() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, missing) = api.get("/approval-policy").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], "approval_policy_not_found");

    let policy = json!({"rules": [
        {"action": "auto_approve", "limits": {"per_purchase": {"amount": 5000, "currency": "USD"}},
         "allowed_payment_methods": ["csmrpd_default_visa"]},
        {"action": "require_approval", "limits": {"per_purchase": {"amount": 50000, "currency": "usd"}}},
    ]});
    link.control()
        .post("/users/usr_default/approval_policy", policy)
        .await
        .unwrap();
    let (status, body) = api.get("/approval-policy").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rules"][0]["action"], "auto_approve");
    assert_eq!(
        body["rules"][0]["limits"]["per_purchase"],
        json!({"amount": 5000, "currency": "usd"})
    );
    assert_eq!(
        body["rules"][0]["allowed_payment_methods"][0],
        "csmrpd_default_visa"
    );
    assert!(body["rules"][1].get("allowed_payment_methods").is_none());

    let (status, refused) = api_control_error(
        link.control()
            .post(
                "/users/usr_default/approval_policy",
                json!({"rules": [{"action": "x", "limits": {"per_purchase": {"amount": -1, "currency": "usd"}}}]}),
            )
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(
        refused["error"]["param"],
        "rules[0].limits.per_purchase.amount"
    );
    link.control()
        .http_delete("/users/usr_default/approval_policy")
        .await
        .unwrap();
    assert_eq!(api.get("/approval-policy").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn insights_list_their_types_and_figures_from_the_history() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, types) = api.get("/insights/available_types").await;
    assert_eq!(status, StatusCode::OK, "{types}");
    assert_eq!(types["has_more"], false);
    let ids: Vec<&str> = types["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kind| {
            assert!(kind["description"].is_string());
            kind["id"].as_str().unwrap()
        })
        .collect();
    assert!(ids.contains(&"top_brand_by_transaction_count_per_category_t180d"));
    let (_, first) = api.get("/insights/available_types?limit=1").await;
    assert_eq!(first["data"].as_array().unwrap().len(), 1);
    assert_eq!(first["has_more"], true);

    let (status, page) = api
        .get("/insights?insights[]=top_brand_by_transaction_count_per_category_t180d&insights[]=spend_by_category_t30d")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let insights = page["data"].as_array().unwrap();
    assert_eq!(insights.len(), 2);
    for insight in insights {
        assert_eq!(insight["status"], "ready");
        assert!(insight["as_of"].is_i64());
        for figure in insight["data"].as_array().unwrap() {
            assert!(figure["label"].is_string(), "{figure}");
            assert!(figure["value"].is_object(), "{figure}");
        }
    }
    let brands = &insights[0]["data"];
    let groceries = brands
        .as_array()
        .unwrap()
        .iter()
        .find(|figure| figure["label"] == "groceries")
        .unwrap();
    assert_eq!(
        groceries["value"]["number_of_items"]["label"],
        "Corner Grocery"
    );
    assert_eq!(groceries["value"]["number_of_items"]["count"], 6);

    let (status, refused) = api.get("/insights?insights[]=crystal_ball").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["param"], "insights");
}
