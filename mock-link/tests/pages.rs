//! The human pages: plain HTML forms a person (or a headless browser) can submit.

mod common;

use common::{Api, CLIENT_ID, DEVICE_GRANT, card_request, post_form, read, start, with};
use mock_link::Resolution;
use reqwest::StatusCode;
use serde_json::json;

async fn page(url: String) -> (StatusCode, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    (status, response.text().await.unwrap())
}

async fn submit(url: String, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn verification_page_shows_the_phrase_escapes_labels_and_approves() {
    let link = start().await;
    let http = reqwest::Client::new();
    let (_, code) = read(
        http.post(format!("{}/device/code", link.base_url()))
            .form(&[
                ("client_id", CLIENT_ID),
                ("connection_label", "<script>alert(1)</script> on laptop"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let user_code = code["user_code"].as_str().unwrap();

    let (status, entry) = page(format!("{}/verify", link.base_url())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(entry.contains("<form method=\"get\" action=\"/verify\""));

    let (status, html) = page(
        code["verification_uri_complete"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(user_code));
    assert!(html.contains("&lt;script&gt;"), "label is escaped");
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("value=\"approve\""));

    let (status, done) = submit(
        format!("{}/verify", link.base_url()),
        &[("user_code", user_code), ("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("Approved"));
    let (status, tokens) = read(
        http.post(format!("{}/device/token", link.base_url()))
            .form(&[
                ("grant_type", DEVICE_GRANT),
                ("device_code", code["device_code"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // The phrase is used up now.
    let (status, _) = page(
        code["verification_uri_complete"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
    .await;
    assert_eq!(status, StatusCode::GONE);
}

#[tokio::test]
async fn verification_page_deny_and_unknown_phrase() {
    let link = start().await;
    let (_, code) = post_form(&link, "/device/code", &[("client_id", CLIENT_ID)]).await;
    let (status, html) = submit(
        format!("{}/verify", link.base_url()),
        &[
            ("user_code", code["user_code"].as_str().unwrap()),
            ("decision", "deny"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Denied"));
    let codes = link.control().get("/device_codes").await.unwrap();
    assert_eq!(codes["data"][0]["decision"]["status"], "denied");

    let (status, _) = page(format!("{}/verify?code=no-such-phrase", link.base_url())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = submit(
        format!("{}/verify", link.base_url()),
        &[("user_code", "x"), ("decision", "maybe")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn approval_page_shows_the_purchase_and_approves_it() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = api
        .create(with(
            card_request(),
            json!({
                "request_approval": true,
                "merchant_name": "Trail & <Shoes>",
                "totals": [{"type": "total", "display_text": "Total due", "amount": 4999}],
            }),
        ))
        .await;
    let id = created["id"].as_str().unwrap();
    let (status, html) = page(created["approval_url"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Trail &amp; &lt;Shoes&gt;"));
    assert!(html.contains("49.99 USD"));
    assert!(html.contains("Trail shoe"));
    assert!(html.contains("Total due"));
    assert!(html.contains(common::CONTEXT));
    assert!(
        html.contains("Visa ending 4242"),
        "brands read as people write them"
    );
    assert!(
        html.contains(">Waiting for your approval<"),
        "statuses in words"
    );
    assert!(html.contains("One-time card"));

    let (status, done) = submit(
        created["approval_url"].as_str().unwrap().to_owned(),
        &[("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("approved"));
    let (_, body) = api.get(&format!("/spend_requests/{id}?include=card")).await;
    assert_eq!(body["status"], "approved");
    assert!(body["card"]["number"].is_string());

    // Nothing left to decide.
    let (_, html) = page(created["approval_url"].as_str().unwrap().to_owned()).await;
    assert!(!html.contains("value=\"approve\""));
    let (status, _) = submit(
        created["approval_url"].as_str().unwrap().to_owned(),
        &[("decision", "deny")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn approval_page_denies() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = api
        .create(with(card_request(), json!({"request_approval": true})))
        .await;
    let (status, _) = submit(
        created["approval_url"].as_str().unwrap().to_owned(),
        &[("decision", "deny")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api
        .get(&format!(
            "/spend_requests/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(body["status"], "denied");
    let (status, _) = page(format!("{}/approve/lsrq_unknown", link.base_url())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn three_d_secure_page_completes_the_action() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;
    let (status, _) = page(format!("{}/three_d_secure/{id}", link.base_url())).await;
    assert_eq!(status, StatusCode::CONFLICT, "no action required yet");
    link.control()
        .require_action(&id, Resolution::AutoResume)
        .await
        .unwrap();
    let (_, body) = api.get(&format!("/spend_requests/{id}")).await;
    let action_url = body["status_details"]["requires_action"]["next_action"]["action_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, html) = page(action_url.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Complete authentication"));
    let (status, done) = submit(action_url, &[]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (_, body) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(body["status"], "approved");
}

#[tokio::test]
async fn add_payment_method_page_adds_a_card_to_the_wallet() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, html) = page(format!("{}/payment-methods/add", link.base_url())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("name=\"last4\""));
    let (status, wallet) = page(format!("{}/wallet", link.base_url())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(wallet.contains("action=\"/payment-methods/add\""));
    let (status, done) = submit(
        format!("{}/payment-methods/add", link.base_url()),
        &[
            ("user_id", "usr_default"),
            ("brand", "amex"),
            ("last4", "0005"),
            ("nickname", "Work card"),
            ("is_default", "true"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (_, body) = api.get("/payment-details").await;
    let methods = body["payment_details"].as_array().unwrap();
    assert_eq!(methods.len(), 3);
    let added = methods
        .iter()
        .find(|m| m["nickname"] == "Work card")
        .unwrap();
    assert_eq!(added["card_details"]["brand"], "amex");
    assert_eq!(added["is_default"], true);
    assert_eq!(
        methods.iter().filter(|m| m["is_default"] == true).count(),
        1
    );

    let (status, _) = submit(
        format!("{}/payment-methods/add", link.base_url()),
        &[("last4", "12")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_action_page_offers_nothing_to_complete_for_create_new_spend_request() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;
    link.control()
        .require_action(&id, Resolution::CreateNewSpendRequest)
        .await
        .unwrap();
    let (status, html) = page(format!("{}/three_d_secure/{id}", link.base_url())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("Complete authentication"));
    assert!(html.contains("new request"));
    let (status, _) = submit(format!("{}/three_d_secure/{id}", link.base_url()), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_phrase_typed_with_spaces_and_capitals_is_recognised() {
    let link = start().await;
    let (_, code) = post_form(&link, "/device/code", &[("client_id", CLIENT_ID)]).await;
    let phrase = code["user_code"].as_str().unwrap();
    let typed = phrase.replace('-', "  ").to_uppercase();
    let response = reqwest::Client::new()
        .get(format!("{}/verify", link.base_url()))
        .query(&[("code", typed.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains(phrase));
    let (status, _) = submit(
        format!("{}/verify", link.base_url()),
        &[("user_code", typed.as_str()), ("decision", "approve")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn verify_account_refuses_a_missing_or_malformed_body_with_400_json() {
    let link = common::start().await;
    let url = format!("{}/verify-account", link.base_url());
    let http = reqwest::Client::new();
    let cases = [
        (None, ""),
        (Some("application/x-www-form-urlencoded"), ""),
        (Some("application/x-www-form-urlencoded"), "user_id="),
        (Some("application/x-www-form-urlencoded"), "other=1"),
        (Some("application/json"), "{\"user_id\": \"usr_default\"}"),
        (Some("text/plain"), "garbage"),
    ];
    for (content_type, body) in cases {
        let mut request = http.post(&url).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, answer) = common::read(request.send().await.unwrap()).await;
        assert!(
            status == 400 || status == 415,
            "{content_type:?} {body:?}: {status}"
        );
        assert!(answer["error"]["code"].is_string(), "{answer}");
    }
}

fn text_of(html: &str) -> String {
    // The visible text: tags and attributes dropped.
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

#[tokio::test]
async fn a_request_waiting_for_3ds_links_to_it_and_can_be_denied_and_the_3ds_page_shows_the_purchase()
 {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let created = api
        .create(with(
            card_request(),
            json!({
                "request_approval": true,
                "line_items": [{"name": "Trail shoe", "description": "Size 42", "sku": "TRS-42", "quantity": 2, "unit_amount": 2000}],
                "totals": [{"type": "subtotal", "display_text": "Subtotal", "amount": 4000}, {"type": "total", "display_text": "Total", "amount": 4999}],
            }),
        ))
        .await;
    let id = created["id"].as_str().unwrap();
    link.control()
        .require_action(id, Resolution::AutoResume)
        .await
        .unwrap();
    let approval_url = created["approval_url"].as_str().unwrap().to_owned();
    let (status, html) = page(approval_url.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!(r#"href="/three_d_secure/{id}""#)),
        "{html}"
    );
    assert!(html.contains(r#"value="deny""#), "{html}");
    assert!(!html.contains(r#"value="approve""#));
    let visible = text_of(&html);
    for internal in ["requires_action", "pending_approval", "This request is"] {
        assert!(!visible.contains(internal), "{internal} in {visible}");
    }
    assert!(visible.contains("Waiting for 3-D Secure"));

    let (status, html) = page(format!("{}/three_d_secure/{id}", link.base_url())).await;
    assert_eq!(status, StatusCode::OK);
    for shown in [
        "Trail Shoes Inc",
        "Trail shoe",
        "Size 42",
        "TRS-42",
        "20.00 USD",
        "40.00 USD",
        "Subtotal",
        "49.99 USD",
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }

    let (status, done) = submit(approval_url, &[("decision", "deny")]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("You denied the purchase"));
    let (_, body) = api.get(&format!("/spend_requests/{id}")).await;
    assert_eq!(body["status"], "denied");
}

#[tokio::test]
async fn verify_account_without_a_user_says_so() {
    let link = start().await;
    let (status, html) = page(format!("{}/verify-account", link.base_url())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("This link names no account"), "{html}");
    assert!(!html.contains("already verified"), "{html}");
    assert!(html.contains("No account is waiting for verification"));
    link.control()
        .create_user(json!({"id": "usr_unverified", "requires_verification": true}))
        .await
        .unwrap();
    let (_, html) = page(format!("{}/verify-account", link.base_url())).await;
    assert!(
        html.contains(r#"<option value="usr_unverified">"#),
        "{html}"
    );
}

#[tokio::test]
async fn error_pages_link_back_and_every_page_uses_the_served_stylesheet() {
    let link = start().await;
    let (status, html) = page(format!("{}/approve/lsrq_nothing", link.base_url())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        html.contains(r#"<a href="/">Back to the dashboard</a>"#),
        "{html}"
    );
    for path in ["/", "/verify", "/payment-methods/add", "/verify-account"] {
        let (_, html) = page(format!("{}{path}", link.base_url())).await;
        assert!(
            html.contains(r#"<link rel="stylesheet" href="/assets/mock-link.css">"#),
            "{path}"
        );
        assert!(html.contains(r#"name="viewport""#), "{path}");
        assert!(html.contains("Test double."), "{path}");
    }
    let css = reqwest::get(format!("{}/assets/mock-link.css", link.base_url()))
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains(":focus-visible"));
}

#[tokio::test]
async fn the_dashboard_shows_state_decides_requests_and_stays_out_of_the_request_log() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let id = api.create_pending(card_request()).await;
    let (status, html) = page(format!("{}/", link.base_url())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!(r#"id="sr-{id}""#)), "{html}");
    assert!(html.contains(r#"id="user-usr_default""#));
    assert!(html.contains("<script>"), "the poll script is inline");
    assert!(!html.contains("<script src"), "no external script");
    let (status, live) = page(format!("{}/dashboard/live", link.base_url())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(live.contains(&format!(r#"id="sr-{id}""#)));
    assert!(live.contains(r#"name="return_to" value="/""#));
    assert!(
        live.contains("POST /spend_requests"),
        "the request log is shown"
    );

    // Approving from the dashboard goes back to it.
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/approve/{id}", link.base_url()))
        .form(&[("decision", "approve"), ("return_to", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    let (_, live) = page(format!("{}/dashboard/live", link.base_url())).await;
    assert!(live.contains(r#"data-status="approved""#), "{live}");
    assert!(
        live.contains("card ending"),
        "the issued card, by its last digits"
    );
    let card = api
        .get(&format!("/spend_requests/{id}?include=card"))
        .await
        .1["card"]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!live.contains(&card), "never a full card number");

    let logged: Vec<String> = link
        .control()
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.path)
        .collect();
    assert!(
        !logged
            .iter()
            .any(|path| path == "/" || path == "/dashboard/live"),
        "{logged:?}"
    );
}
