//! Shared helpers: an in-process mock-link and mock-merchant, approved SPTs,
//! probes and paid retries.
#![allow(dead_code)]

use mock_link::MockLink;
use mock_merchant::MockMerchant;
use mpp_wire::{StripeChallenge, format_credential, select_stripe_challenge};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A context long enough for mock-link's validation.
pub const CONTEXT: &str = "Buying one premium market report from the mock merchant's paid API for the user, who asked for it today.";

/// The challenge HMAC key the tests' merchant uses, so they can forge bound echoes.
pub const CHALLENGE_SECRET: &str = "link-harness-tests-known-challenge-key-0123456789";

/// A running mock-link, a mock-merchant settling there, and a logged-in Link user.
pub struct Env {
    pub link: MockLink,
    pub merchant: MockMerchant,
    pub http: reqwest::Client,
    access_token: String,
}

/// A response, read.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Self {
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap_or_default(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `WWW-Authenticate` field value.
    pub fn www_authenticate(&self) -> Vec<String> {
        self.headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    /// The stripe challenge, through the shared selection.
    pub fn stripe_challenge(&self) -> StripeChallenge {
        select_stripe_challenge(self.www_authenticate()).unwrap_or_else(|e| {
            panic!("no stripe challenge ({e}) in {:?}", self.www_authenticate())
        })
    }

    /// The problem type code of a Problem Details body.
    pub fn problem(&self) -> String {
        let body = self.json();
        let uri = body["type"].as_str().unwrap_or_default();
        uri.rsplit('/').next().unwrap_or_default().to_owned()
    }

    /// Asserts a 402 of problem `code` with a fresh stripe challenge, no-store and no receipt.
    pub fn assert_402(&self, code: &str) {
        assert_eq!(self.status, StatusCode::PAYMENT_REQUIRED, "{}", self.text);
        assert_eq!(self.problem(), code, "{}", self.text);
        assert_eq!(self.json()["status"], 402);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert!(
            self.header("payment-receipt").is_none(),
            "no receipt on errors"
        );
        assert!(!self.www_authenticate().is_empty(), "a fresh challenge");
    }
}

impl Env {
    pub async fn start() -> Self {
        Self::start_with(MockLink::builder(), |merchant| merchant).await
    }

    /// Both mocks from these builders (the merchant's link and challenge secret set here).
    pub async fn start_with(
        link: mock_link::MockLinkBuilder,
        merchant: impl FnOnce(mock_merchant::MockMerchantBuilder) -> mock_merchant::MockMerchantBuilder,
    ) -> Self {
        let link = link.start().await.expect("mock-link starts");
        let merchant = merchant(MockMerchant::builder())
            .link(link.base_url())
            .challenge_secret(CHALLENGE_SECRET)
            .start()
            .await
            .expect("mock-merchant starts");
        let tokens = link
            .control()
            .issue_tokens("usr_default")
            .await
            .expect("tokens");
        Self {
            access_token: tokens["access_token"].as_str().unwrap().to_owned(),
            link,
            merchant,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// An approved SPT for `amount` cents usd on `network_id`.
    pub async fn spt_for(&self, amount: u64, network_id: &str) -> String {
        let response = self
            .http
            .post(format!("{}/spend_requests", self.link.base_url()))
            .bearer_auth(&self.access_token)
            .json(&json!({
                "payment_details": "csmrpd_default_visa",
                "credential_type": "shared_payment_token",
                "network_id": network_id,
                "amount": amount,
                "currency": "usd",
                "context": CONTEXT,
                "request_approval": true,
            }))
            .send()
            .await
            .unwrap();
        let created: Value = response.json().await.unwrap();
        let id = created["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"));
        let approved = self.link.control().approve_spend_request(id).await.unwrap();
        approved["shared_payment_token"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A card issued by mock-link for an approved card spend request (`number`, `cvc`,
    /// `exp_month`, `exp_year`, `billing_address`, `valid_until`).
    pub async fn card(&self) -> Value {
        self.card_for(4999, "usd").await
    }

    /// A card issued for a spend request of `amount` (cents) in `currency`.
    pub async fn card_for(&self, amount: u64, currency: &str) -> Value {
        let created: Value = self
            .http
            .post(format!("{}/spend_requests", self.link.base_url()))
            .bearer_auth(&self.access_token)
            .json(&json!({
                "payment_details": "csmrpd_default_visa",
                "amount": amount,
                "currency": currency,
                "merchant_name": "Card Shop",
                "merchant_url": self.merchant.url("card-shop", "/"),
                "context": CONTEXT,
                "line_items": [{"name": "Trail Running Shoes", "quantity": 1, "unit_amount": amount}],
                "totals": [{"type": "total", "display_text": "Total", "amount": amount}],
                "request_approval": true,
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{created}"));
        self.link.control().approve_spend_request(id).await.unwrap();
        let with_card: Value = self
            .http
            .get(format!(
                "{}/spend_requests/{id}?include=card",
                self.link.base_url()
            ))
            .bearer_auth(&self.access_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        with_card["card"].clone()
    }

    /// An approved SPT for 2500 cents on the merchant's network.
    pub async fn spt(&self) -> String {
        self.spt_for(2500, mock_merchant::DEFAULT_NETWORK_ID).await
    }

    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut request = self.http.request(method, url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        Answer::read(request.send().await.expect("send")).await
    }

    pub async fn get(&self, url: &str) -> Answer {
        self.send(Method::GET, url, &[], None).await
    }

    /// Sends `credential` (a header value) to `url` in `Authorization`.
    pub async fn get_paid(&self, url: &str, credential: &str) -> Answer {
        self.send(Method::GET, url, &[("authorization", credential)], None)
            .await
    }

    /// Probes `url` and returns the stripe challenge.
    pub async fn challenge(&self, url: &str) -> StripeChallenge {
        let probe = self.get(url).await;
        probe.assert_402("payment-required");
        probe.stripe_challenge()
    }

    /// The `Authorization` value paying `challenge` with `spt`.
    pub fn credential(challenge: &StripeChallenge, spt: &str) -> String {
        format_credential(&challenge.spt_credential(spt))
    }

    /// mock-link's ledger events for `spt`.
    pub async fn link_events(&self, spt: &str) -> Vec<String> {
        self.link
            .control()
            .ledger()
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.credential == spt)
            .map(|e| e.event.into_owned())
            .collect()
    }
}

/// The card-shop checkout form filled with a card issued by mock-link.
pub fn card_form(card: &Value) -> Vec<(&'static str, String)> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    vec![
        ("name", "Jenny Rosen".to_owned()),
        ("card_number", text(&card["number"])),
        ("exp_month", text(&card["exp_month"])),
        ("exp_year", text(&card["exp_year"])),
        ("cvc", text(&card["cvc"])),
        ("address_line1", text(&card["billing_address"]["line1"])),
        ("city", text(&card["billing_address"]["city"])),
        ("postal_code", text(&card["billing_address"]["postal_code"])),
        ("country", text(&card["billing_address"]["country"])),
    ]
}
