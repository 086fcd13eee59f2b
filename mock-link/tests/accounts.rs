//! Payment details, user info, shipping addresses, and isolation between users.

mod common;

use common::{Api, card_request, start, with};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_seeded_user_has_two_methods_with_exactly_one_default() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, body) = api.get("/payment-details").await;
    assert_eq!(status, StatusCode::OK);
    let methods = body["payment_details"].as_array().unwrap();
    assert_eq!(methods.len(), 2);
    let defaults: Vec<_> = methods.iter().filter(|m| m["is_default"] == true).collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["id"], "csmrpd_default_visa");
    assert_eq!(defaults[0]["type"], "card");
    assert_eq!(defaults[0]["name"], "Visa •••• 4242");
    assert_eq!(defaults[0]["card_details"]["brand"], "visa");
    assert_eq!(defaults[0]["card_details"]["last4"], "4242");
    assert!(defaults[0]["card_details"]["exp_year"].is_u64());
}

#[tokio::test]
async fn userinfo_and_shipping_addresses_of_the_seeded_user() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, me) = api.get("/userinfo").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "jenny.rosen@example.com");
    assert_eq!(me["name"], "Jenny Rosen");
    assert_eq!(me["first_name"], "Jenny");
    assert_eq!(me["last_name"], "Rosen");
    assert!(me["phone"].is_string());
    let (status, addresses) = api.get("/shipping_addresses").await;
    assert_eq!(status, StatusCode::OK);
    let home = &addresses["shipping_addresses"][0];
    assert_eq!(home["is_default"], true);
    assert_eq!(home["address"]["line_1"], "510 Townsend St");
    assert_eq!(home["address"]["country_code"], "US");
}

#[tokio::test]
async fn a_seeded_user_without_methods_lists_none_and_can_get_one() {
    let link = start().await;
    let user = link
        .control()
        .create_user(json!({"email": "nomethods@example.com", "name": "Nora Method"}))
        .await
        .unwrap();
    let user_id = user["id"].as_str().unwrap();
    let api = Api::login(&link, user_id).await;
    let (_, body) = api.get("/payment-details").await;
    assert_eq!(body["payment_details"], json!([]));
    let (_, me) = api.get("/userinfo").await;
    assert_eq!(me["email"], "nomethods@example.com");
    assert_eq!(me["last_name"], "Method");

    link.control()
        .add_payment_method(
            user_id,
            json!({"brand": "amex", "last4": "0005", "id": "csmrpd_nora_amex"}),
        )
        .await
        .unwrap();
    let (_, body) = api.get("/payment-details").await;
    assert_eq!(body["payment_details"][0]["id"], "csmrpd_nora_amex");
    assert_eq!(body["payment_details"][0]["is_default"], true);
}

#[tokio::test]
async fn users_see_only_their_own_spend_requests_and_methods() {
    let link = start().await;
    let jenny = Api::default_user(&link).await;
    let other = link
        .control()
        .create_user(json!({"payment_methods": [{"id": "csmrpd_other_visa", "brand": "visa", "last4": "1111"}]}))
        .await
        .unwrap();
    let other = Api::login(&link, other["id"].as_str().unwrap()).await;

    let id = jenny.create_id(card_request()).await;
    let (status, _) = other.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other
        .post(&format!("/spend_requests/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other
        .post(&format!("/spend_requests/{id}"), json!({"amount": 1}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = other.get("/spend_requests?include_history=true").await;
    assert_eq!(list["data"], json!([]));

    // Jenny's payment method is not the other user's to spend.
    let (status, body) = other.post("/spend_requests", card_request()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "payment_details");
    let mine = other
        .create(with(
            card_request(),
            json!({"payment_details": "csmrpd_other_visa"}),
        ))
        .await;
    assert_eq!(mine["card_last4"], "1111");
    let (_, methods) = other.get("/payment-details").await;
    assert_eq!(methods["payment_details"].as_array().unwrap().len(), 1);

    // Identical bodies from two users are not duplicates of each other.
    let (_, jenny_list) = jenny.get("/spend_requests").await;
    assert_eq!(jenny_list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_account_that_must_verify_gets_403_with_a_verification_url() {
    let link = start().await;
    link.control()
        .create_user(json!({
            "id": "usr_unverified",
            "requires_verification": true,
            "payment_methods": [{"id": "csmrpd_unverified_visa"}],
        }))
        .await
        .unwrap();
    let api = Api::login(&link, "usr_unverified").await;
    let (status, body) = api
        .post(
            "/spend_requests",
            with(
                card_request(),
                json!({"payment_details": "csmrpd_unverified_visa"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "account_verification_required");
    assert!(
        body["error"]["verification_url"]
            .as_str()
            .unwrap()
            .starts_with(link.base_url())
    );
    assert!(body["error"]["support_url"].is_string());

    // The user verifies on the page; the same request then goes through.
    let verification_url = body["error"]["verification_url"].as_str().unwrap();
    let page = reqwest::get(verification_url).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Verify"));
    let verified = reqwest::Client::new()
        .post(format!("{}/verify-account", link.base_url()))
        .form(&[("user_id", "usr_unverified")])
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::OK);
    api.create(with(
        card_request(),
        json!({"payment_details": "csmrpd_unverified_visa"}),
    ))
    .await;
}
