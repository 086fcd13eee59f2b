//! The card checkout, the agents.txt / llm.txt pages, and the look-alike shop.

mod common;

use common::{Env, card_form};
use reqwest::StatusCode;

async fn post_form(env: &Env, url: &str, form: &[(&str, String)]) -> (StatusCode, String) {
    let response = env.http.post(url).form(form).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_card_issued_by_mock_link_buys_once_and_gets_a_confirmation() {
    let env = Env::start().await;
    let product = env.get(&env.merchant.url("card-shop", "/")).await;
    assert_eq!(product.status, StatusCode::OK);
    assert!(product.text.contains("$49.99"));
    let form = env.get(&env.merchant.url("card-shop", "/checkout")).await;
    for field in [
        "cc-number",
        "cc-exp-month",
        "cc-exp-year",
        "cc-csc",
        "postal-code",
    ] {
        assert!(form.text.contains(field), "{field}");
    }
    assert!(form.text.contains(r#"action="/m/card-shop/checkout""#));

    let card = env.card().await;
    let url = env.merchant.url("card-shop", "/checkout");
    let (status, page) = post_form(&env, &url, &card_form(&card)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let number = card["number"].as_str().unwrap();
    assert!(page.contains(&number[number.len() - 4..]));
    assert!(page.contains("ord_"));
    assert!(!page.contains(number), "never echo the full number");

    let (status, again) = post_form(&env, &url, &card_form(&card)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.contains("card_declined"), "{again}");
    let events: Vec<String> = env
        .merchant
        .ledger_of("card-shop")
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["order_placed", "order_declined"]);
}

#[tokio::test]
async fn bad_card_details_are_refused_field_by_field() {
    let env = Env::start().await;
    let card = env.card().await;
    let url = env.merchant.url("card-shop", "/checkout");
    let mut form = card_form(&card);
    let number = card["number"].as_str().unwrap();
    let last = number.chars().last().unwrap().to_digit(10).unwrap();
    form[1].1 = format!("{}{}", &number[..number.len() - 1], (last + 1) % 10);
    form[3].1 = "2001".to_owned();
    form[4].1 = "12".to_owned();
    form[8].1 = String::new();
    let (status, body) = post_form(&env, &url, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["card_number", "exp_month/exp_year", "cvc", "country"] {
        assert!(body.contains(field), "{field}: {body}");
    }
    // Garbage bodies are refused the same way, not a panic.
    let response = env
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("%%%&&&=")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let huge = env
        .http
        .post(&url)
        .body(vec![b'a'; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.headers()["content-type"], "application/problem+json");
    // The card still works afterwards.
    let (status, _) = post_form(&env, &url, &card_form(&card)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_card_expires_on_the_merchant_clock() {
    let env = Env::start().await;
    let card = env.card().await;
    env.merchant
        .advance_clock(std::time::Duration::from_secs(10 * 366 * 24 * 3600));
    let (status, body) = post_form(
        &env,
        &env.merchant.url("card-shop", "/checkout"),
        &card_form(&card),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("expired"), "{body}");
}

#[tokio::test]
async fn agents_txt_welcomes_or_forbids_and_the_look_alike_posts_elsewhere() {
    let env = Env::start().await;
    let welcome = env.get(&env.merchant.url("card-shop", "/agents.txt")).await;
    assert!(welcome.text.contains("Allow: /"));
    let llm = env.get(&env.merchant.url("card-shop", "/llm.txt")).await;
    assert!(llm.text.contains("Agents may buy"));

    let forbid = env.get(&env.merchant.url("no-agents", "/agents.txt")).await;
    assert!(forbid.text.contains("Disallow: /"));
    let llm = env.get(&env.merchant.url("no-agents", "/llm.txt")).await;
    assert!(llm.text.contains("not permitted"));

    let look_alike = env.get(&env.merchant.url("card-sh0p", "/")).await;
    assert!(look_alike.text.contains("Card Shop"), "same branding");
    let form = env.get(&env.merchant.url("card-sh0p", "/checkout")).await;
    let action = format!(
        r#"action="{}/m/collector/collect""#,
        env.merchant.cross_origin()
    );
    assert!(form.text.contains(&action), "{}", form.text);
    // Its own checkout URL does not take orders.
    let card = env.card().await;
    let (status, _) = post_form(
        &env,
        &env.merchant.url("card-sh0p", "/checkout"),
        &card_form(&card),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // What the collector keeps: the last four digits only.
    let (status, _) = post_form(
        &env,
        &format!("{}/m/collector/collect", env.merchant.base_url()),
        &card_form(&card),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let collected = env.merchant.ledger_of("collector");
    assert_eq!(collected.len(), 1);
    let number = card["number"].as_str().unwrap();
    let detail = collected[0].detail.clone().unwrap();
    assert!(detail.ends_with(&number[number.len() - 4..]) && !detail.contains(number));
    let unknown = env.get(&env.merchant.url("nobody", "/agents.txt")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_issuer_refuses_unknown_cards_wrong_cvcs_and_cards_past_valid_until() {
    let env = Env::start().await;
    let url = env.merchant.url("card-shop", "/checkout");
    let card = env.card().await;

    let mut unknown = card_form(&card);
    unknown[1].1 = "4242424242424242".to_owned();
    let (status, body) = post_form(&env, &url, &unknown).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("not issued by Link"), "{body}");

    let mut wrong_cvc = card_form(&card);
    let cvc = card["cvc"].as_str().unwrap();
    wrong_cvc[4].1 = if cvc == "999" { "998" } else { "999" }.to_owned();
    let (status, body) = post_form(&env, &url, &wrong_cvc).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("CVC or expiry"), "{body}");

    env.link
        .control()
        .advance_clock(std::time::Duration::from_secs(3601))
        .await
        .unwrap();
    let (status, body) = post_form(&env, &url, &card_form(&card)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("valid_until"), "{body}");
}

#[tokio::test]
async fn without_the_issuer_check_any_luhn_valid_card_buys() {
    let link = mock_link::MockLink::builder().start().await.unwrap();
    let merchant = mock_merchant::MockMerchant::builder()
        .link(link.base_url())
        .verify_cards_at_link(false)
        .start()
        .await
        .unwrap();
    let form = [
        ("name", "Jenny Rosen"),
        ("card_number", "4242 4242 4242 4242"),
        ("exp_month", "12"),
        ("exp_year", "2099"),
        ("cvc", "123"),
        ("address_line1", "1 Main St"),
        ("city", "San Francisco"),
        ("postal_code", "94103"),
        ("country", "US"),
    ];
    let response = reqwest::Client::new()
        .post(merchant.url("card-shop", "/checkout"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("4242"));
}
