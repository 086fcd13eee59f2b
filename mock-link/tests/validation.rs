//! Every spend-request validation rule: a 400 whose `param` names the field, nothing created.

mod common;

use common::{Api, CONTEXT, card_request, spt_request, start, with};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// (case, body, expected param, expected code)
fn invalid_bodies() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    let long_key = "k".repeat(41);
    let many_keys: serde_json::Map<String, Value> = (0..51)
        .map(|index| (format!("key{index}"), json!("v")))
        .collect();
    vec![
        (
            "unknown payment_details",
            with(card_request(), json!({"payment_details": "csmrpd_other"})),
            "payment_details",
            "parameter_invalid",
        ),
        (
            "payment_details not a string",
            with(card_request(), json!({"payment_details": 7})),
            "payment_details",
            "parameter_invalid",
        ),
        (
            "unknown credential_type",
            with(card_request(), json!({"credential_type": "crypto"})),
            "credential_type",
            "parameter_invalid",
        ),
        (
            "missing amount",
            with(card_request(), json!({"amount": null})),
            "amount",
            "parameter_missing",
        ),
        (
            "zero amount",
            with(card_request(), json!({"amount": 0})),
            "amount",
            "parameter_invalid",
        ),
        (
            "negative amount",
            with(card_request(), json!({"amount": -5})),
            "amount",
            "parameter_invalid",
        ),
        (
            "amount above 500000",
            with(card_request(), json!({"amount": 500_001})),
            "amount",
            "amount_too_large",
        ),
        (
            "fractional amount",
            with(card_request(), json!({"amount": 10.5})),
            "amount",
            "parameter_invalid",
        ),
        (
            "amount as a string",
            with(card_request(), json!({"amount": "100"})),
            "amount",
            "parameter_invalid",
        ),
        (
            "currency not three letters",
            with(card_request(), json!({"currency": "dollars"})),
            "currency",
            "parameter_invalid",
        ),
        (
            "currency not a string",
            with(card_request(), json!({"currency": 840})),
            "currency",
            "parameter_invalid",
        ),
        (
            "missing context",
            with(card_request(), json!({"context": null})),
            "context",
            "parameter_missing",
        ),
        (
            "context of 99 characters",
            with(card_request(), json!({"context": "x".repeat(99)})),
            "context",
            "parameter_invalid",
        ),
        (
            "card without merchant_name",
            with(card_request(), json!({"merchant_name": null})),
            "merchant_name",
            "parameter_missing",
        ),
        (
            "card with empty merchant_name",
            with(card_request(), json!({"merchant_name": " "})),
            "merchant_name",
            "parameter_invalid",
        ),
        (
            "card without merchant_url",
            with(card_request(), json!({"merchant_url": null})),
            "merchant_url",
            "parameter_missing",
        ),
        (
            "card with a non-http merchant_url",
            with(card_request(), json!({"merchant_url": "ftp://shop"})),
            "merchant_url",
            "parameter_invalid",
        ),
        (
            "card with network_id",
            with(card_request(), json!({"network_id": "profile_x"})),
            "network_id",
            "parameter_invalid",
        ),
        (
            "spt with merchant_name",
            with(spt_request(), json!({"merchant_name": "Shop"})),
            "merchant_name",
            "parameter_invalid",
        ),
        (
            "spt with merchant_url",
            with(
                spt_request(),
                json!({"merchant_url": "https://shop.example"}),
            ),
            "merchant_url",
            "parameter_invalid",
        ),
        (
            "spt without network_id",
            with(spt_request(), json!({"network_id": null})),
            "network_id",
            "parameter_missing",
        ),
        (
            "spt with empty network_id",
            with(spt_request(), json!({"network_id": ""})),
            "network_id",
            "parameter_invalid",
        ),
        (
            "line_items not an array",
            with(card_request(), json!({"line_items": {"name": "x"}})),
            "line_items",
            "parameter_invalid",
        ),
        (
            "line item not an object",
            with(card_request(), json!({"line_items": ["x"]})),
            "line_items[0]",
            "parameter_invalid",
        ),
        (
            "line item without name",
            with(card_request(), json!({"line_items": [{"quantity": 1}]})),
            "line_items[0].name",
            "parameter_missing",
        ),
        (
            "line item with empty name",
            with(card_request(), json!({"line_items": [{"name": ""}]})),
            "line_items[0].name",
            "parameter_invalid",
        ),
        (
            "line item with zero quantity",
            with(
                card_request(),
                json!({"line_items": [{"name": "a"}, {"name": "b", "quantity": 0}]}),
            ),
            "line_items[1].quantity",
            "parameter_invalid",
        ),
        (
            "line item with negative unit_amount",
            with(
                card_request(),
                json!({"line_items": [{"name": "a", "unit_amount": -1}]}),
            ),
            "line_items[0].unit_amount",
            "parameter_invalid",
        ),
        (
            "line item with numeric sku",
            with(
                card_request(),
                json!({"line_items": [{"name": "a", "sku": 12}]}),
            ),
            "line_items[0].sku",
            "parameter_invalid",
        ),
        (
            "total with unknown type",
            with(
                card_request(),
                json!({"totals": [{"type": "vat", "amount": 1}]}),
            ),
            "totals[0].type",
            "parameter_invalid",
        ),
        (
            "total without type",
            with(card_request(), json!({"totals": [{"amount": 1}]})),
            "totals[0].type",
            "parameter_missing",
        ),
        (
            "total without amount",
            with(card_request(), json!({"totals": [{"type": "tax"}]})),
            "totals[0].amount",
            "parameter_missing",
        ),
        (
            "total with text amount",
            with(
                card_request(),
                json!({"totals": [{"type": "tax", "amount": "1"}]}),
            ),
            "totals[0].amount",
            "parameter_invalid",
        ),
        (
            "request_approval not a boolean",
            with(card_request(), json!({"request_approval": "yes"})),
            "request_approval",
            "parameter_invalid",
        ),
        (
            "test not a boolean",
            with(card_request(), json!({"test": 1})),
            "test",
            "parameter_invalid",
        ),
        (
            "approval_details not an object",
            with(card_request(), json!({"approval_details": "click"})),
            "approval_details",
            "parameter_invalid",
        ),
        (
            "approval_details with unknown method",
            with(
                card_request(),
                json!({"approval_details": {"approval_method": "telepathy"}}),
            ),
            "approval_details.approval_method",
            "parameter_invalid",
        ),
        (
            "approval_details without method",
            with(
                card_request(),
                json!({"approval_details": {"app_name": "x"}}),
            ),
            "approval_details.approval_method",
            "parameter_missing",
        ),
        (
            "metadata not an object",
            with(card_request(), json!({"metadata": ["a"]})),
            "metadata",
            "parameter_invalid",
        ),
        (
            "metadata with 51 keys",
            with(card_request(), json!({"metadata": many_keys})),
            "metadata",
            "parameter_invalid",
        ),
        (
            "metadata key of 41 characters",
            with(card_request(), json!({"metadata": {long_key: "v"}})),
            "metadata",
            "parameter_invalid",
        ),
        (
            "metadata value of 501 characters",
            with(
                card_request(),
                json!({"metadata": {"note": "v".repeat(501)}}),
            ),
            "metadata.note",
            "parameter_invalid",
        ),
        (
            "metadata value not a string",
            with(card_request(), json!({"metadata": {"count": 3}})),
            "metadata.count",
            "parameter_invalid",
        ),
        (
            "expires_at from a client not on the allow-list",
            with(card_request(), json!({"expires_at": 1_000})),
            "expires_at",
            "expires_at_not_supported",
        ),
        (
            "recurring with an unknown interval",
            with(
                card_request(),
                json!({"recurring": {"interval": "fortnight"}}),
            ),
            "recurring.interval",
            "parameter_invalid",
        ),
        (
            "recurring without an interval",
            with(card_request(), json!({"recurring": {"interval_count": 2}})),
            "recurring.interval",
            "parameter_missing",
        ),
        (
            "recurring with a zero count",
            with(
                card_request(),
                json!({"recurring": {"interval": "week", "interval_count": 0}}),
            ),
            "recurring.interval_count",
            "parameter_invalid",
        ),
        (
            "expires_at not an integer",
            with(card_request(), json!({"expires_at": "soon"})),
            "expires_at",
            "parameter_invalid",
        ),
        (
            "unknown execution_method",
            with(card_request(), json!({"execution_method": "teleport"})),
            "execution_method",
            "parameter_invalid",
        ),
        (
            "link_pay_token without merchant_account_id",
            with(
                card_request(),
                json!({"execution_method": "link_pay_token"}),
            ),
            "merchant_account_id",
            "parameter_missing",
        ),
        (
            "merchant_account_id without execution_method",
            with(card_request(), json!({"merchant_account_id": "acct_1"})),
            "merchant_account_id",
            "parameter_invalid",
        ),
        (
            "link_pay_token on an spt request",
            with(
                spt_request(),
                json!({"execution_method": "link_pay_token", "merchant_account_id": "acct_1"}),
            ),
            "execution_method",
            "parameter_invalid",
        ),
    ]
}

#[tokio::test]
async fn every_invalid_field_gets_a_400_naming_it_and_creates_nothing() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    for (case, body, param, code) in invalid_bodies() {
        let (status, answer) = api.post("/spend_requests", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {answer}");
        assert_eq!(answer["error"]["param"], param, "{case}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{case}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(param),
            "{case}: message names the field: {message}"
        );
    }
    let (_, list) = api.get("/spend_requests?include_history=true").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn boundary_values_are_accepted() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let metadata: serde_json::Map<String, Value> = (0..50)
        .map(|index| (format!("{index:0>40}"), json!("v".repeat(500))))
        .collect();
    let body = with(
        card_request(),
        json!({
            "amount": 500_000,
            "currency": "EUR",
            "context": "x".repeat(100),
            "metadata": metadata,
            "test": true,
            "execution_method": "link_pay_token",
            "merchant_account_id": "acct_123",
        }),
    );
    let created = api.create(body).await;
    assert_eq!(created["currency"], "eur");
    assert_eq!(created["test"], true);
    let minimum = api.create(with(spt_request(), json!({"amount": 1}))).await;
    assert_eq!(minimum["credential_type"], "shared_payment_token");
    assert!(minimum["merchant_name"].is_null());
    assert_eq!(minimum["context"], CONTEXT);
}

#[tokio::test]
async fn malformed_bodies_get_json_4xx() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let url = format!("{}/spend_requests", link.base_url());
    let cases: Vec<(&str, &str, StatusCode, &str)> = vec![
        (
            "application/json",
            "{not json",
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "application/json",
            "[1,2]",
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "text/plain",
            "amount=1",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
        ),
    ];
    for (content_type, body, status, code) in cases {
        let response = api
            .http
            .post(&url)
            .bearer_auth(&api.access_token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let (got, answer) = common::read(response).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}");
    }
    let oversized = format!("{{\"context\": \"{}\"}}", "x".repeat(300 * 1024));
    let response = api
        .http
        .post(&url)
        .bearer_auth(&api.access_token)
        .header("content-type", "application/json")
        .body(oversized)
        .send()
        .await
        .unwrap();
    let (status, answer) = common::read(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer["error"]["code"], "body_too_large");
}

#[tokio::test]
async fn an_account_without_payment_methods_is_told_so() {
    let link = start().await;
    let user = link
        .control()
        .create_user(json!({"email": "empty@example.com"}))
        .await
        .unwrap();
    let api = Api::login(&link, user["id"].as_str().unwrap()).await;
    let (status, body) = api.post("/spend_requests", card_request()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "payment_details");
    assert_eq!(body["error"]["no_payment_method"], true);
}

#[tokio::test]
async fn extractor_rejections_are_json_too() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, body) = api.get("/spend_requests/%FF%FE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_request");
    let response = reqwest::get(format!("{}/verify?code=a&code=b", link.base_url()))
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    let (_, body) = common::read(response).await;
    assert!(body["error"]["message"].is_string());
}

#[tokio::test]
async fn without_payment_details_the_default_method_pays() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = api
        .create(with(card_request(), json!({"payment_details": null})))
        .await;
    assert_eq!(created["payment_details"], "csmrpd_default_visa");
    let (status, body) = api
        .post(
            "/spend_requests",
            with(card_request(), json!({"payment_details": ""})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "payment_details");
}
