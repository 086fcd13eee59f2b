//! The mocks' pages in a real headless Chromium, used as a person would: clicks and typing
//! change the mocks' state. Each page is saved as a screenshot under
//! `target/browser-screenshots/` (see `docs/pages.md`). Without Chromium these tests print
//! a loud skip; with `CI=true` they fail.

use std::time::Duration;

use headless_browser::Browser;
use mock_link::{MockLink, Resolution};
use mock_merchant::MockMerchant;
use serde_json::{Value, json};

const CONTEXT: &str = "Buying trail running shoes and socks for the user, who asked for them for a race next weekend and chose this shop.";

/// A logged-in Link user talking to mock-link's API, as an agent's client does.
struct Agent {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Agent {
    async fn logged_in(link: &MockLink) -> Self {
        let tokens = link.control().issue_tokens("usr_default").await.unwrap();
        Self::with_token(link, tokens["access_token"].as_str().unwrap())
    }

    fn with_token(link: &MockLink, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: link.base_url().to_owned(),
            token: token.to_owned(),
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.bearer_auth(&self.token).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        body
    }

    /// A card spend request for `amount` cents at card-shop, sent for approval.
    async fn card_request(&self, amount: u64, merchant_url: &str) -> Value {
        let items = json!([
            {"name": "Trail Running Shoes", "description": "Lightweight trail shoes, size 42.", "sku": "TRS-42", "quantity": 1, "unit_amount": amount - 1000},
            {"name": "Running Socks", "description": "Merino blend, size M.", "sku": "SCK-M-2", "quantity": 2, "unit_amount": 500},
        ]);
        self.call(
            self.http
                .post(format!("{}/spend_requests", self.base))
                .json(&json!({
                    "payment_details": "csmrpd_default_visa",
                    "amount": amount,
                    "currency": "usd",
                    "merchant_name": "Card Shop",
                    "merchant_url": merchant_url,
                    "context": CONTEXT,
                    "line_items": items,
                    "totals": [
                        {"type": "subtotal", "display_text": "Subtotal", "amount": amount},
                        {"type": "shipping", "display_text": "Shipping", "amount": 0},
                        {"type": "total", "display_text": "Total", "amount": amount},
                    ],
                    "request_approval": true,
                })),
        )
        .await
    }

    async fn retrieve(&self, id: &str, include: &str) -> Value {
        self.call(self.http.get(format!(
            "{}/spend_requests/{id}?include={include}",
            self.base
        )))
        .await
    }
}

async fn start_link() -> MockLink {
    MockLink::builder()
        .device_poll_interval(Duration::ZERO)
        .start()
        .await
        .expect("mock-link starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_connects_a_device_decides_purchases_completes_3ds_and_adds_a_card() {
    let Some(browser) = Browser::start_or_skip("link pages").await else {
        return;
    };
    let link = start_link().await;
    let base = link.base_url().to_owned();
    let http = reqwest::Client::new();

    // The device login: the person opens the verification URL and clicks Approve.
    let code: Value = http
        .post(format!("{base}/device/code"))
        .form(&[
            ("client_id", "lwlpk_browser_test"),
            ("connection_label", "Jenny's laptop"),
            ("client_hint", "link-cli"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    browser
        .goto(code["verification_uri_complete"].as_str().unwrap())
        .await
        .unwrap();
    let phrase = browser.text("#phrase").await.unwrap();
    assert_eq!(phrase, code["user_code"].as_str().unwrap());
    assert_eq!(browser.text("#device").await.unwrap(), "Jenny's laptop");
    browser.screenshot("link-01-verify-device").await.unwrap();
    browser.click(r#"button[value="approve"]"#).await.unwrap();
    browser
        .wait_for_text("#result", "The device is connected")
        .await
        .unwrap();
    browser.screenshot("link-02-device-approved").await.unwrap();
    let tokens: Value = http
        .post(format!("{base}/device/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", code["device_code"].as_str().unwrap()),
            ("client_id", "lwlpk_browser_test"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let agent = Agent::with_token(
        &link,
        tokens["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{tokens}")),
    );

    // A purchase approved by clicking.
    let shop = "http://127.0.0.1:4020/m/card-shop/";
    let approved = agent.card_request(4999, shop).await;
    browser
        .goto(approved["approval_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(browser.text("#amount").await.unwrap(), "49.99 USD");
    assert_eq!(
        browser.text("#payment-method").await.unwrap(),
        "Visa ending 4242"
    );
    browser
        .screenshot("link-03-approve-purchase")
        .await
        .unwrap();
    browser.click(r#"button[value="approve"]"#).await.unwrap();
    browser
        .wait_for_text("#result", "You approved the purchase")
        .await
        .unwrap();
    browser
        .screenshot("link-04-purchase-approved")
        .await
        .unwrap();
    let id = approved["id"].as_str().unwrap();
    let after = agent.retrieve(id, "card").await;
    assert_eq!(after["status"], "approved");
    assert!(after["card"]["number"].is_string());

    // A purchase denied by clicking.
    let denied = agent.card_request(2999, shop).await;
    browser
        .goto(denied["approval_url"].as_str().unwrap())
        .await
        .unwrap();
    browser.click(r#"button[value="deny"]"#).await.unwrap();
    browser
        .wait_for_text("#result", "You denied the purchase")
        .await
        .unwrap();
    browser.screenshot("link-05-purchase-denied").await.unwrap();
    let after = agent.retrieve(denied["id"].as_str().unwrap(), "card").await;
    assert_eq!(after["status"], "denied");
    assert!(after["card"].is_null());

    // 3-D Secure: from the approval page to the bank's step, then approved.
    let secure = agent.card_request(3999, shop).await;
    let secure_id = secure["id"].as_str().unwrap();
    link.control()
        .require_action(secure_id, Resolution::AutoResume)
        .await
        .unwrap();
    browser
        .goto(secure["approval_url"].as_str().unwrap())
        .await
        .unwrap();
    browser
        .wait_for_text("#status", "Waiting for 3-D Secure")
        .await
        .unwrap();
    browser
        .screenshot("link-06-approval-waiting-for-3ds")
        .await
        .unwrap();
    browser.click("#three-d-secure").await.unwrap();
    browser
        .wait_for_text("h1", "Confirm with your bank")
        .await
        .unwrap();
    assert_eq!(
        browser.text("#three-ds-merchant").await.unwrap(),
        "Card Shop"
    );
    browser
        .wait_for_text("#line-items", "Running Socks")
        .await
        .unwrap();
    browser.screenshot("link-07-three-d-secure").await.unwrap();
    browser.click("main form button").await.unwrap();
    browser
        .wait_for_text("#result", "The purchase is approved")
        .await
        .unwrap();
    assert_eq!(agent.retrieve(secure_id, "").await["status"], "approved");

    // Adding a card to the wallet.
    browser
        .goto(&format!("{base}/payment-methods/add"))
        .await
        .unwrap();
    browser.select("#brand", "mastercard").await.unwrap();
    browser.fill("#last4", "5454").await.unwrap();
    browser.fill("#nickname", "Travel").await.unwrap();
    browser.screenshot("link-08-add-card").await.unwrap();
    browser.click("main form button").await.unwrap();
    browser
        .wait_for_text("#result", "Added Mastercard ending 5454")
        .await
        .unwrap();
    browser.screenshot("link-09-card-added").await.unwrap();
    let methods: Value = agent
        .call(agent.http.get(format!("{base}/payment-details")))
        .await;
    assert!(
        methods.to_string().contains("\"Travel\""),
        "the new card is in the wallet: {methods}"
    );

    browser.quit().await;
    link.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_pays_card_shop_with_a_card_issued_by_mock_link() {
    let Some(browser) = Browser::start_or_skip("card-shop checkout").await else {
        return;
    };
    let link = start_link().await;
    let merchant = MockMerchant::builder()
        .link(link.base_url())
        .start()
        .await
        .expect("mock-merchant starts");
    let agent = Agent::logged_in(&link).await;
    let request = agent
        .card_request(4999, &merchant.url("card-shop", "/"))
        .await;
    let id = request["id"].as_str().unwrap();
    link.control().approve_spend_request(id).await.unwrap();
    let card = agent.retrieve(id, "card").await["card"].clone();
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };

    browser
        .goto(&format!("{}/", merchant.base_url()))
        .await
        .unwrap();
    browser
        .wait_for_text("#merchant-card-shop", "card checkout")
        .await
        .unwrap();
    browser.screenshot("merchant-01-catalogue").await.unwrap();
    browser
        .click(&format!(
            r#"#merchant-card-shop a[href="{}"]"#,
            merchant.url("card-shop", "/")
        ))
        .await
        .unwrap();
    browser.wait_for_text("#total", "$49.99").await.unwrap();
    browser.screenshot("merchant-02-product").await.unwrap();
    browser.click("a.button").await.unwrap();
    browser.wait_for_text("h1", "Checkout").await.unwrap();
    browser.screenshot("merchant-03-checkout").await.unwrap();

    // Typed with a wrong CVC first: the error shows on the form, what was typed stays.
    let number = text(&card["number"]);
    let cvc = text(&card["cvc"]);
    let wrong_cvc = if cvc == "999" { "998" } else { "999" };
    let fields = [
        ("#name", "Jenny Rosen".to_owned()),
        ("#card_number", number.clone()),
        ("#exp_month", text(&card["exp_month"])),
        ("#exp_year", text(&card["exp_year"])),
        ("#cvc", wrong_cvc.to_owned()),
        ("#address_line1", text(&card["billing_address"]["line1"])),
        ("#city", text(&card["billing_address"]["city"])),
        (
            "#postal_code",
            text(&card["billing_address"]["postal_code"]),
        ),
        ("#country", text(&card["billing_address"]["country"])),
    ];
    for (field, value) in &fields {
        browser.fill(field, value).await.unwrap();
    }
    browser.click("#checkout button").await.unwrap();
    browser
        .wait_for_text("#errors", "CVC or expiry does not match")
        .await
        .unwrap();
    let kept = browser
        .find("#card_number")
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(number.as_str()), "the input is kept");
    browser
        .screenshot("merchant-04-checkout-refused")
        .await
        .unwrap();

    browser.fill("#cvc", &cvc).await.unwrap();
    browser.click("#checkout button").await.unwrap();
    browser
        .wait_for_text("h1", "Order confirmed")
        .await
        .unwrap();
    assert_eq!(browser.text("#order-id").await.unwrap(), "ord_000001");
    assert_eq!(
        browser.text("#last4").await.unwrap(),
        number[number.len() - 4..]
    );
    browser
        .screenshot("merchant-05-confirmation")
        .await
        .unwrap();
    let events: Vec<String> = merchant
        .ledger_of("card-shop")
        .into_iter()
        .map(|entry| entry.event)
        .collect();
    assert_eq!(events, ["order_declined", "order_placed"]);

    // The same checkout on a phone, and the two other shops.
    browser.resize(390, 844).await.unwrap();
    browser
        .goto(&merchant.url("card-shop", "/checkout"))
        .await
        .unwrap();
    browser.wait_for_text("h1", "Checkout").await.unwrap();
    let width: Value = browser
        .client()
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(
        width.as_u64().unwrap() <= 390,
        "nothing wider than the phone"
    );
    browser
        .screenshot("merchant-06-checkout-phone")
        .await
        .unwrap();
    browser.resize(1024, 900).await.unwrap();
    browser.goto(&merchant.url("no-agents", "/")).await.unwrap();
    browser
        .wait_for_text("#no-agents", "not permitted")
        .await
        .unwrap();
    browser.screenshot("merchant-07-no-agents").await.unwrap();
    browser.click("#no-agents a").await.unwrap();
    browser.wait_for_text("body", "Disallow: /").await.unwrap();
    browser
        .goto(&merchant.url("card-sh0p", "/checkout"))
        .await
        .unwrap();
    browser.wait_for_text("h1", "Checkout").await.unwrap();
    browser
        .screenshot("merchant-08-look-alike-checkout")
        .await
        .unwrap();

    browser.quit().await;
    merchant.shutdown().await;
    link.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_follows_what_a_client_does_without_a_reload() {
    let Some(browser) = Browser::start_or_skip("dashboard").await else {
        return;
    };
    let link = start_link().await;
    let agent = Agent::logged_in(&link).await;
    browser
        .goto(&format!("{}/", link.base_url()))
        .await
        .unwrap();
    browser
        .wait_for_text("#users", "Jenny Rosen")
        .await
        .unwrap();
    // A mark on this page's window: a full reload would lose it.
    browser
        .client()
        .execute("window.stillTheSamePage = true;", vec![])
        .await
        .unwrap();

    let request = agent
        .card_request(4999, "http://127.0.0.1:4020/m/card-shop/")
        .await;
    let id = request["id"].as_str().unwrap();
    let row = format!("#sr-{id}");
    browser
        .wait_for_text(&row, "Waiting for your approval")
        .await
        .unwrap();
    browser
        .wait_for_text("#request-log", "POST /spend_requests")
        .await
        .unwrap();
    let same: Value = browser
        .client()
        .execute("return window.stillTheSamePage === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!(true), "updated in place, not reloaded");
    browser.screenshot("link-10-dashboard").await.unwrap();

    // Approving from the dashboard comes back to it with the card issued.
    browser
        .click(&format!(r#"{row} button[value="approve"]"#))
        .await
        .unwrap();
    browser.wait_for_text(&row, "Approved").await.unwrap();
    browser
        .wait_for_text("#credentials", "card ending")
        .await
        .unwrap();
    browser
        .screenshot("link-11-dashboard-approved")
        .await
        .unwrap();
    assert_eq!(agent.retrieve(id, "").await["status"], "approved");

    browser.quit().await;
    link.shutdown().await;
}
