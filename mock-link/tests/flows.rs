//! Whole stories the way a Link client and an MPP merchant live them (ids from flows.md).

mod common;

use std::time::Duration;

use common::{CLIENT_ID, CONTEXT, DEVICE_GRANT, read};
use mock_link::MockLink;
use mock_link::{SpendOutcome, SpendRequestScript};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Client {
    http: reqwest::Client,
    base_url: String,
    access_token: String,
    refresh_token: String,
    refreshes: u32,
}

impl Client {
    /// AUTH-02/03: device login, polling at the server's interval until the user approves.
    async fn login(link: &MockLink) -> Self {
        let http = reqwest::Client::new();
        let base_url = link.base_url().to_owned();
        let (_, code) = read(
            http.post(format!("{base_url}/device/code"))
                .form(&[
                    ("client_id", CLIENT_ID),
                    ("scope", "userinfo:read payment_methods.agentic"),
                    ("connection_label", "flow-test on ci"),
                    ("client_hint", "flow-test"),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await;
        let interval = Duration::from_secs(code["interval"].as_u64().unwrap());
        let device_code = code["device_code"].as_str().unwrap().to_owned();
        let mut tokens = Value::Null;
        for poll in 0..5 {
            if poll == 2 {
                // The human approves on the verification page between two polls.
                let status = http
                    .post(format!("{base_url}/verify"))
                    .form(&[
                        ("user_code", code["user_code"].as_str().unwrap()),
                        ("decision", "approve"),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, StatusCode::OK);
            }
            let (status, body) = read(
                http.post(format!("{base_url}/device/token"))
                    .form(&[
                        ("grant_type", DEVICE_GRANT),
                        ("device_code", &device_code),
                        ("client_id", CLIENT_ID),
                    ])
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            if status == StatusCode::OK {
                tokens = body;
                break;
            }
            assert_eq!(body["error"], "authorization_pending");
            // Wait the interval on the virtual clock instead of sleeping.
            link.control().advance_clock(interval).await.unwrap();
        }
        assert!(tokens.is_object(), "logged in");
        Self {
            http,
            base_url,
            access_token: tokens["access_token"].as_str().unwrap().to_owned(),
            refresh_token: tokens["refresh_token"].as_str().unwrap().to_owned(),
            refreshes: 0,
        }
    }

    /// AUTH-08: a 401 makes the client refresh once (rotation) and retry.
    async fn call(&mut self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        for attempt in 0..2 {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base_url))
                .bearer_auth(&self.access_token);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let (status, answer) = read(request.send().await.unwrap()).await;
            if status == StatusCode::UNAUTHORIZED && attempt == 0 {
                let (status, tokens) = read(
                    self.http
                        .post(format!("{}/device/token", self.base_url))
                        .form(&[
                            ("grant_type", "refresh_token"),
                            ("refresh_token", self.refresh_token.as_str()),
                            ("client_id", CLIENT_ID),
                        ])
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{tokens}");
                assert_ne!(tokens["refresh_token"], self.refresh_token.as_str());
                self.access_token = tokens["access_token"].as_str().unwrap().to_owned();
                self.refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
                self.refreshes += 1;
                continue;
            }
            assert!(status.is_success(), "{method} {path}: {status} {answer}");
            return answer;
        }
        unreachable!("the loop returns or retries once")
    }
}

#[tokio::test]
async fn spt_story_login_approve_pay_once_then_logout() {
    let link = MockLink::builder()
        .device_poll_interval(Duration::from_secs(5))
        .access_token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let mut client = Client::login(&link).await;

    // PM-01: exactly one default payment method.
    let methods = client
        .call(reqwest::Method::GET, "/payment-details", None)
        .await;
    let default = methods["payment_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|method| method["is_default"] == true)
        .unwrap()["id"]
        .clone();

    // SR-05: the user approves after the agent has polled twice.
    link.control()
        .script_next_spend_request(&SpendRequestScript {
            outcome: SpendOutcome::Approve,
            after_polls: 2,
        })
        .await
        .unwrap();
    let created = client
        .call(
            reqwest::Method::POST,
            "/spend_requests",
            Some(json!({
                "payment_details": default,
                "credential_type": "shared_payment_token",
                "network_id": "profile_mock_merchant",
                "amount": 1999,
                "currency": "usd",
                "context": CONTEXT,
                "request_approval": true,
            })),
        )
        .await;
    assert_eq!(created["status"], "pending_approval");
    let id = created["id"].as_str().unwrap().to_owned();

    // AUTH-08 in the middle of polling: the access token expires, the client refreshes.
    link.control()
        .advance_clock(Duration::from_secs(60))
        .await
        .unwrap();
    let mut approved = Value::Null;
    for _ in 0..5 {
        let polled = client
            .call(
                reqwest::Method::GET,
                &format!("/spend_requests/{id}?include=shared_payment_token"),
                None,
            )
            .await;
        if polled["status"] != "pending_approval" {
            approved = polled;
            break;
        }
    }
    assert_eq!(approved["status"], "approved");
    assert_eq!(client.refreshes, 1, "the expired token was refreshed once");
    let spt = approved["shared_payment_token"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // PAY-03/04: the merchant redeems once; the same SPT again is refused.
    let pay = |idempotency_key: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/v1/payment_intents", link.base_url()))
            .bearer_auth("sk_test_mock_merchant")
            .header("idempotency-key", idempotency_key)
            .form(&[
                ("amount", "1999"),
                ("currency", "usd"),
                ("shared_payment_granted_token", spt.as_str()),
                ("confirm", "true"),
                ("automatic_payment_methods[enabled]", "true"),
                ("automatic_payment_methods[allow_redirects]", "never"),
            ])
            .send()
    };
    let (status, intent) = read(pay("mpp_challenge1_spt").await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(intent["status"], "succeeded");
    let (status, refused) = read(pay("mpp_challenge2_spt").await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"]["code"], "token_already_used");
    let finished = client
        .call(reqwest::Method::GET, &format!("/spend_requests/{id}"), None)
        .await;
    assert_eq!(finished["status"], "succeeded");

    // AUTH-07: logout revokes at Link; the old token then gets 401.
    let status = client
        .http
        .post(format!("{}/device/revoke", link.base_url()))
        .form(&[
            ("client_id", CLIENT_ID),
            ("token", client.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    let status = client
        .http
        .get(format!("{}/userinfo", link.base_url()))
        .bearer_auth(&client.access_token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The issuer's record tells the same story.
    let ledger = link.control().ledger().await.unwrap();
    let events: Vec<&str> = ledger.iter().map(|e| e.event.as_ref()).collect();
    assert_eq!(events, vec!["issued", "redeemed", "redemption_refused"]);
}
