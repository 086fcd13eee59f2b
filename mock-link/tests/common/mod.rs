//! Shared helpers for the integration tests: a started mock-link, a logged-in client,
//! and valid spend-request bodies to vary.
#![allow(dead_code)]

use std::time::Duration;

use mock_link::MockLink;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "lwlpk_test_client";
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A context long enough to pass validation (>= 100 characters).
pub const CONTEXT: &str = "Buying a pair of running shoes for the user, who asked for size 42 trail shoes under one hundred dollars.";

/// A mock-link that lets clients poll as fast as they like.
pub async fn start() -> MockLink {
    MockLink::builder()
        .device_poll_interval(Duration::ZERO)
        .start()
        .await
        .expect("mock-link starts")
}

/// Status and JSON body of a response.
pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body)
}

/// Posts a form to `path` at `link` (the OAuth routes take forms) and reads the answer.
pub async fn post_form(link: &MockLink, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    read(
        reqwest::Client::new()
            .post(format!("{}{path}", link.base_url()))
            .form(form)
            .send()
            .await
            .expect("send"),
    )
    .await
}

/// A client of the API host with a bearer token.
pub struct Api {
    pub http: reqwest::Client,
    pub base_url: String,
    pub access_token: String,
}

impl Api {
    /// Logs `user_id` in through the control API.
    pub async fn login(link: &MockLink, user_id: &str) -> Self {
        let tokens = link.control().issue_tokens(user_id).await.expect("tokens");
        Self {
            http: reqwest::Client::new(),
            base_url: link.base_url().to_owned(),
            access_token: tokens["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Logs `user_id` in with the default scope plus `extra_scope`.
    pub async fn with_scope(link: &MockLink, user_id: &str, extra_scope: &str) -> Self {
        let scope = format!("{} {extra_scope}", mock_link::DEFAULT_SCOPE);
        let tokens = link
            .control()
            .issue_tokens_for_client(user_id, "control", &scope)
            .await
            .expect("tokens");
        Self {
            http: reqwest::Client::new(),
            base_url: link.base_url().to_owned(),
            access_token: tokens["access_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn default_user(link: &MockLink) -> Self {
        Self::login(link, "usr_default").await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        read(
            self.http
                .get(format!("{}{path}", self.base_url))
                .bearer_auth(&self.access_token)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        read(
            self.http
                .post(format!("{}{path}", self.base_url))
                .bearer_auth(&self.access_token)
                .json(&body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// Creates a spend request and asserts it was accepted.
    pub async fn create(&self, body: Value) -> Value {
        let (status, created) = self.post("/spend_requests", body).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        created
    }

    /// Creates a spend request, asserts it was accepted, and returns its id.
    pub async fn create_id(&self, body: Value) -> String {
        let created = self.create(body).await;
        created["id"].as_str().expect("an id").to_owned()
    }

    /// Creates a spend request that asks for approval at once (`request_approval: true`) and
    /// returns its id.
    pub async fn create_pending(&self, body: Value) -> String {
        self.create_id(with(body, json!({"request_approval": true})))
            .await
    }
}

/// A valid card spend request body.
pub fn card_request() -> Value {
    json!({
        "payment_details": "csmrpd_default_visa",
        "amount": 4999,
        "currency": "usd",
        "merchant_name": "Trail Shoes Inc",
        "merchant_url": "https://trailshoes.example",
        "context": CONTEXT,
        "line_items": [{"name": "Trail shoe", "quantity": 1, "unit_amount": 4999}],
        "totals": [{"type": "total", "display_text": "Total", "amount": 4999}],
    })
}

/// A valid SPT spend request body for the seeded merchant's network.
pub fn spt_request() -> Value {
    json!({
        "payment_details": "csmrpd_default_visa",
        "credential_type": "shared_payment_token",
        "network_id": "profile_mock_merchant",
        "amount": 2500,
        "currency": "usd",
        "context": CONTEXT,
    })
}

/// `base` with `changes` merged in (a `null` change removes the field).
pub fn with(mut base: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            base.as_object_mut().unwrap().remove(key);
        } else {
            base[key] = value.clone();
        }
    }
    base
}

/// An SPT spend request (the seeded merchant's network, 2500 usd cents, with `changes`)
/// that the user approved through the control API; returns (spend request id, spt).
pub async fn approved_spt(link: &MockLink, api: &Api, changes: Value) -> (String, String) {
    let id = api.create_pending(with(spt_request(), changes)).await;
    let approved = link.control().approve_spend_request(&id).await.unwrap();
    let spt = approved["shared_payment_token"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, spt)
}
