//! Spend requests over the API host: lifecycle, every state transition, credentials,
//! duplicates, expiry, update, list and cancel.

mod common;

use std::time::Duration;

use common::{Api, card_request, spt_request, start, with};
use mock_link::Resolution;
use mock_link::passes_luhn;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn create_returns_a_created_request_with_an_approval_url() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = api.create(card_request()).await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("lsrq_"));
    assert_eq!(created["status"], "created");
    assert_eq!(created["credential_type"], "card");
    assert_eq!(created["card_brand"], "visa");
    assert_eq!(created["card_last4"], "4242");
    assert_eq!(created["amount"], 4999);
    assert_eq!(created["line_items"][0]["name"], "Trail shoe");
    assert_eq!(
        created["approval_url"],
        format!("{}/approve/{id}", link.base_url())
    );
    assert!(created.get("card").is_none());
}

#[tokio::test]
async fn request_approval_flag_on_create_goes_straight_to_pending_approval() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = api
        .create(with(card_request(), json!({"request_approval": true})))
        .await;
    assert_eq!(created["status"], "pending_approval");
}

#[tokio::test]
async fn request_approval_endpoint_returns_the_link_and_moves_to_pending() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_id(card_request()).await;
    let (status, body) = api
        .post(&format!("/spend_requests/{id}/request_approval"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id);
    assert_eq!(body["approval_url"], body["approval_link"]);
    assert_eq!(
        body["approval_link"],
        format!("{}/approve/{id}", link.base_url())
    );
    let (_, fetched) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(fetched["status"], "pending_approval");
}

#[tokio::test]
async fn approved_card_request_shows_a_luhn_valid_card_only_with_include_card() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;

    // Before approval: no card, even when asked.
    let (_, pending) = api.get(&format!("/spend_requests/{id}?include=card")).await;
    assert!(pending.get("card").is_none());

    link.control().approve_spend_request(&id).await.unwrap();
    let (_, plain) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(plain["status"], "approved");
    assert!(plain.get("card").is_none());

    let (status, with_card) = api
        .get(&format!(
            "/spend_requests/{id}?include=card,shared_payment_token"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let card = &with_card["card"];
    let number = card["number"].as_str().unwrap();
    assert!(passes_luhn(number), "{number}");
    assert!(number.starts_with('4'), "visa test number: {number}");
    assert_eq!(card["brand"], "visa");
    assert_eq!(card["cvc"].as_str().unwrap().len(), 3);
    assert!(card["exp_month"].as_u64().unwrap() >= 1);
    assert!(card["exp_year"].as_u64().unwrap() >= 2027);
    assert_eq!(card["billing_address"]["postal_code"], "94103");
    let now = link.control().get("/clock").await.unwrap()["now"]
        .as_i64()
        .unwrap();
    assert!(card["valid_until"].as_i64().unwrap() > now);
    assert!(
        with_card["created_at"].as_str().unwrap().ends_with('Z'),
        "RFC 3339"
    );
    assert!(with_card.get("shared_payment_token").is_none());
}

#[tokio::test]
async fn mastercard_payment_method_gets_a_mastercard_test_number() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api
        .create_id(with(
            card_request(),
            json!({"request_approval": true, "payment_details": "csmrpd_default_mastercard"}),
        ))
        .await;
    link.control().approve_spend_request(&id).await.unwrap();
    let (_, body) = api
        .get(&format!("/spend_requests/{id}?include[]=card"))
        .await;
    assert_eq!(body["card"]["brand"], "mastercard");
    let number = body["card"]["number"].as_str().unwrap();
    assert!(number.starts_with('5') && passes_luhn(number), "{number}");
}

#[tokio::test]
async fn denied_request_never_shows_a_card() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;
    let denied = link.control().deny_spend_request(&id).await.unwrap();
    assert_eq!(denied["status"], "denied");
    assert!(denied.get("card").is_none());
    let (_, body) = api.get(&format!("/spend_requests/{id}?include=card")).await;
    assert_eq!(body["status"], "denied");
    assert!(body.get("card").is_none());
    // Denied is final.
    assert!(link.control().approve_spend_request(&id).await.is_err());
}

#[tokio::test]
async fn approved_spt_request_shows_the_token_only_with_include() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(spt_request()).await;
    link.control().approve_spend_request(&id).await.unwrap();
    let (_, plain) = api.get(&format!("/spend_requests/{id}")).await;
    assert!(plain.get("shared_payment_token").is_none());
    let (_, body) = api
        .get(&format!(
            "/spend_requests/{id}?include=shared_payment_token"
        ))
        .await;
    let spt = body["shared_payment_token"]["id"].as_str().unwrap();
    assert!(spt.starts_with("spt_"));
    assert!(body["shared_payment_token"]["valid_until"].is_i64());
    assert!(body.get("card").is_none());
}

#[tokio::test]
async fn create_delegated_is_approved_at_once_and_needs_approval_details() {
    let link = start().await;
    let api = Api::with_scope(&link, "usr_default", "spend_requests:approve").await;
    let (status, body) = api
        .post("/spend_requests/create_delegated", card_request())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "approval_details");

    let delegated = with(
        card_request(),
        json!({"approval_details": {"approved_at": 1_700_000_000, "approval_method": "voice", "app_name": "Assistant", "external_user_id": "u-1"}}),
    );
    let (status, body) = api
        .post("/spend_requests/create_delegated", delegated)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "approved");
    assert_eq!(body["approval_details"]["approval_method"], "voice");
    let id = body["id"].as_str().unwrap();
    let (_, with_card) = api.get(&format!("/spend_requests/{id}?include=card")).await;
    assert!(passes_luhn(with_card["card"]["number"].as_str().unwrap()));
}

#[tokio::test]
async fn update_changes_fields_before_approval_and_is_refused_after() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_id(card_request()).await;
    let (status, updated) = api
        .post(
            &format!("/spend_requests/{id}"),
            json!({"amount": 6000, "line_items": [{"name": "Socks", "quantity": 2}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["amount"], 6000);
    assert_eq!(updated["line_items"][0]["name"], "Socks");
    assert_eq!(updated["merchant_name"], "Trail Shoes Inc");

    // An update is validated like a create.
    let (status, body) = api
        .post(&format!("/spend_requests/{id}"), json!({"amount": 0}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "amount");

    api.post(&format!("/spend_requests/{id}/request_approval"), json!({}))
        .await;
    link.control().approve_spend_request(&id).await.unwrap();
    let (status, body) = api
        .post(&format!("/spend_requests/{id}"), json!({"amount": 7000}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_spend_request_state");
    assert_eq!(body["error"]["status"], "approved");
}

#[tokio::test]
async fn cancel_moves_to_canceled_and_list_hides_it_without_history() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let open = api.create_id(card_request()).await;
    let canceled = api
        .create_id(with(card_request(), json!({"amount": 100})))
        .await;
    let (status, body) = api
        .post(&format!("/spend_requests/{canceled}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "canceled");

    let (_, list) = api.get("/spend_requests").await;
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|request| request["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![open.as_str()]);

    let (_, history) = api.get("/spend_requests?include_history=true").await;
    let ids: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|request| request["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![canceled.as_str(), open.as_str()]);

    // Canceling again is refused.
    let (status, body) = api
        .post(&format!("/spend_requests/{canceled}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_spend_request_state");

    let (status, _) = api.get("/spend_requests?include_history=maybe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn open_requests_expire_on_the_virtual_clock() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;
    link.control()
        .advance_clock(Duration::from_secs(12 * 3600))
        .await
        .unwrap();
    // The access token expired meanwhile (1 h): log in again.
    let api = Api::default_user(&link).await;
    let (_, body) = api.get(&format!("/spend_requests/{id}?include=card")).await;
    assert_eq!(body["status"], "expired");
    assert!(body.get("card").is_none());
    assert!(link.control().approve_spend_request(&id).await.is_err());
}

#[tokio::test]
async fn explicit_expires_at_is_honoured_and_control_expire_works() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    link.control()
        .set_expires_at_clients(&["control"])
        .await
        .unwrap();
    let now = link.control().get("/clock").await.unwrap()["now"]
        .as_i64()
        .unwrap();
    let created = api
        .create(with(card_request(), json!({"expires_at": now + 4 * 3600})))
        .await;
    assert_eq!(created["expires_at"], now + 4 * 3600);
    let id = created["id"].as_str().unwrap();
    let expired = link.control().expire_spend_request(id).await.unwrap();
    assert_eq!(expired["status"], "expired");
}

#[tokio::test]
async fn identical_open_request_is_rate_limited_with_the_existing_one() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let first = api.create(card_request()).await;
    let (status, body) = api.post("/spend_requests", card_request()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "spend_request_rate_limited");
    assert_eq!(body["error"]["duplicate_spend_request"]["id"], first["id"]);
    // A different amount is not a duplicate; neither is the same body once the first is canceled.
    api.create(with(card_request(), json!({"amount": 5000})))
        .await;
    let id = first["id"].as_str().unwrap();
    api.post(&format!("/spend_requests/{id}/cancel"), json!({}))
        .await;
    api.create(card_request()).await;
}

#[tokio::test]
async fn requires_action_auto_resume_shows_next_action_and_completes_to_approved() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;
    link.control()
        .require_action(&id, Resolution::AutoResume)
        .await
        .unwrap();
    let (_, body) = api.get(&format!("/spend_requests/{id}?include=card")).await;
    assert_eq!(body["status"], "requires_action");
    let next_action = &body["status_details"]["requires_action"]["next_action"];
    assert_eq!(next_action["resolution"], "auto_resume");
    assert_eq!(next_action["type"], "three_d_secure");
    assert_eq!(
        next_action["action_url"],
        format!("{}/three_d_secure/{id}", link.base_url())
    );
    assert!(next_action["display_message"].is_string());
    assert!(next_action["expires_at"].is_i64());
    assert!(body.get("card").is_none());

    link.control().complete_action(&id).await.unwrap();
    let (_, body) = api.get(&format!("/spend_requests/{id}?include=card")).await;
    assert_eq!(body["status"], "approved");
    assert!(body["status_details"].is_null());
    assert!(passes_luhn(body["card"]["number"].as_str().unwrap()));
}

#[tokio::test]
async fn requires_action_create_new_spend_request_cannot_be_completed() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;
    link.control()
        .require_action(&id, Resolution::CreateNewSpendRequest)
        .await
        .unwrap();
    let (_, body) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(
        body["status_details"]["requires_action"]["next_action"]["resolution"],
        "create_new_spend_request"
    );
    assert!(link.control().complete_action(&id).await.is_err());
    // The agent can still cancel it.
    let (status, body) = api
        .post(&format!("/spend_requests/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "canceled");
}

#[tokio::test]
async fn requires_action_after_completion_fails_once_completed() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;
    link.control()
        .require_action(&id, Resolution::CreateNewSpendRequestAfterCompletion)
        .await
        .unwrap();
    let completed = link.control().complete_action(&id).await.unwrap();
    assert_eq!(completed["status"], "failed");
    assert!(completed.get("card").is_none());
}

#[tokio::test]
async fn requires_action_can_be_denied_or_expire() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let denied = api.create_pending(card_request()).await;
    link.control()
        .require_action(&denied, Resolution::AutoResume)
        .await
        .unwrap();
    assert_eq!(
        link.control().deny_spend_request(&denied).await.unwrap()["status"],
        "denied"
    );
    let expiring = api
        .create_id(with(
            card_request(),
            json!({"request_approval": true, "amount": 10}),
        ))
        .await;
    link.control()
        .require_action(&expiring, Resolution::AutoResume)
        .await
        .unwrap();
    link.control()
        .advance_clock(Duration::from_secs(12 * 3600))
        .await
        .unwrap();
    // The access token expired meanwhile (1 h): log in again.
    let api = Api::default_user(&link).await;
    let (_, body) = api.get(&format!("/spend_requests/{expiring}")).await;
    assert_eq!(body["status"], "expired");
}

#[tokio::test]
async fn approving_a_created_request_that_was_never_sent_for_approval_is_refused() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_id(card_request()).await;
    let refused = link.control().approve_spend_request(&id).await;
    assert!(refused.is_err(), "{refused:?}");
}

#[tokio::test]
async fn unknown_spend_request_is_404_json() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, body) = api.get("/spend_requests/lsrq_missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "resource_missing");
    let (status, _) = api
        .post("/spend_requests/lsrq_missing/cancel", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api.get("/spend_requests/lsrq_x?include=cards").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "include");
}

#[tokio::test]
async fn an_approved_card_request_can_be_marked_succeeded_or_failed() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let mut ids = Vec::new();
    for amount in [100, 200, 300] {
        let id = api
            .create_id(with(
                card_request(),
                json!({"request_approval": true, "amount": amount}),
            ))
            .await;
        link.control().approve_spend_request(&id).await.unwrap();
        ids.push(id);
    }
    let succeeded = link
        .control()
        .post(&format!("/spend_requests/{}/succeed", ids[0]), json!({}))
        .await
        .unwrap();
    assert_eq!(succeeded["status"], "succeeded");
    assert_eq!(succeeded["payment_status_details"]["outcome"], "success");
    let failed = link
        .control()
        .post(&format!("/spend_requests/{}/fail", ids[1]), json!({}))
        .await
        .unwrap();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["payment_status_details"]["code"], "card_declined");
    // The card stays visible after success, never after failure.
    let (_, body) = api
        .get(&format!("/spend_requests/{}?include=card", ids[0]))
        .await;
    assert!(body["card"]["number"].is_string());
    let (_, body) = api
        .get(&format!("/spend_requests/{}?include=card", ids[1]))
        .await;
    assert!(body.get("card").is_none());
    // A pending request cannot be failed; a canceled approved one cannot succeed.
    api.post(&format!("/spend_requests/{}/cancel", ids[2]), json!({}))
        .await;
    assert!(
        link.control()
            .post(&format!("/spend_requests/{}/succeed", ids[2]), json!({}))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_pending_request_can_be_canceled() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;
    let (status, body) = api
        .post(&format!("/spend_requests/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "canceled");
    assert!(link.control().approve_spend_request(&id).await.is_err());
}

#[tokio::test]
async fn a_request_survives_revocation_and_is_found_after_a_new_login() {
    let link = start().await;
    let first = Api::default_user(&link).await;
    let id = first.create_pending(card_request()).await;
    link.control()
        .revoke_token(&first.access_token)
        .await
        .unwrap();
    let (status, _) = first.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let second = Api::default_user(&link).await;
    let (status, body) = second.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "pending_approval");
}

#[tokio::test]
async fn the_list_pages_newest_first_with_limit_and_cursors() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let mut made = Vec::new();
    for amount in [101, 102, 103] {
        let created = api
            .create(with(card_request(), json!({ "amount": amount })))
            .await;
        made.push(created["id"].as_str().unwrap().to_owned());
    }
    let ids = |list: &serde_json::Value| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|request| request["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let (_, everything) = api.get("/spend_requests").await;
    assert_eq!(
        ids(&everything),
        vec![made[2].clone(), made[1].clone(), made[0].clone()]
    );
    assert_eq!(everything["has_more"], false);

    let (_, first) = api.get("/spend_requests?limit=2").await;
    assert_eq!(ids(&first), vec![made[2].clone(), made[1].clone()]);
    assert_eq!(first["has_more"], true);

    let (_, rest) = api
        .get(&format!(
            "/spend_requests?limit=2&starting_after={}",
            made[1]
        ))
        .await;
    assert_eq!(ids(&rest), vec![made[0].clone()]);
    assert_eq!(rest["has_more"], false);

    let (_, before) = api
        .get(&format!("/spend_requests?ending_before={}", made[0]))
        .await;
    assert_eq!(ids(&before), vec![made[2].clone(), made[1].clone()]);

    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "starting_after=lsrq_unknown",
    ] {
        let (status, body) = api.get(&format!("/spend_requests?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let param = bad.split('=').next().unwrap();
        assert_eq!(body["error"]["param"], param, "{bad}");
    }
}
