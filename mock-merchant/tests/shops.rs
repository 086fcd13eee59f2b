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

async fn post_as_browser(env: &Env, url: &str, form: &[(&str, String)]) -> (StatusCode, String) {
    let response = env
        .http
        .post(url)
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn get_as_browser(env: &Env, url: &str) -> reqwest::Response {
    env.http
        .get(url)
        .header("accept", "text/html,*/*;q=0.8")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_card_is_refused_above_its_spend_requests_amount_or_in_another_currency() {
    let env = Env::start().await;
    let url = env.merchant.url("card-shop", "/checkout");
    let small = env.card_for(2350, "usd").await;
    let (status, body) = post_form(&env, &url, &card_form(&small)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("49.99 USD is above the 23.50 USD this card was approved for"),
        "{body}"
    );
    let euros = env.card_for(9999, "eur").await;
    let (status, body) = post_form(&env, &url, &card_form(&euros)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("in EUR, not USD"), "{body}");
    // A card approved for more than the order is fine.
    let larger = env.card_for(6000, "usd").await;
    let (status, body) = post_form(&env, &url, &card_form(&larger)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let placed: Vec<_> = env
        .merchant
        .ledger_of("card-shop")
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(placed, ["order_declined", "order_declined", "order_placed"]);
}

#[tokio::test]
async fn a_card_whose_spend_request_already_succeeded_is_refused() {
    let env = Env::start().await;
    let card = env.card().await;
    let ledger = env.link.control().ledger().await.unwrap();
    let id = ledger[0].spend_request_id.as_deref().unwrap();
    env.link
        .control()
        .succeed_spend_request(id, serde_json::json!({}))
        .await
        .unwrap();
    let url = env.merchant.url("card-shop", "/checkout");
    let (status, body) = post_form(&env, &url, &card_form(&card)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("is succeeded, not approved"), "{body}");
}

#[tokio::test]
async fn declined_attempts_use_up_no_order_numbers() {
    let env = Env::start().await;
    let url = env.merchant.url("card-shop", "/checkout");
    let card = env.card().await;
    let mut bad = card_form(&card);
    bad[4].1 = "1".to_owned();
    for _ in 0..3 {
        let (status, _) = post_form(&env, &url, &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, page) = post_form(&env, &url, &card_form(&card)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(">ord_000001<"), "{page}");
    let second = env.card().await;
    let (_, page) = post_form(&env, &url, &card_form(&second)).await;
    assert!(page.contains(">ord_000002<"), "{page}");
}

#[tokio::test]
async fn checkout_errors_render_on_the_form_for_a_browser_and_stay_json_for_programs() {
    let env = Env::start().await;
    let url = env.merchant.url("card-shop", "/checkout");
    let card = env.card().await;
    let mut form = card_form(&card);
    form[4].1 = "12x".to_owned(); // cvc
    form[8].1 = String::new(); // country
    let (status, page) = post_as_browser(&env, &url, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains(r#"role="alert""#), "{page}");
    assert!(
        page.contains(r#"id="cvc" name="cvc" autocomplete="cc-csc" inputmode="numeric" value="12x" required aria-invalid="true" aria-describedby="cvc-error""#),
        "{page}"
    );
    assert!(page.contains(r#"id="country-error""#), "{page}");
    // What was typed is kept.
    for (_, value) in form.iter().filter(|(_, v)| !v.is_empty()) {
        assert!(page.contains(&format!(r#"value="{value}""#)), "{value}");
    }
    // An issuer refusal shows on the form too.
    let small = env.card_for(100, "usd").await;
    let (status, page) = post_as_browser(&env, &url, &card_form(&small)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"id="decline""#) && page.contains("above the 1.00 USD"));

    // A program posting JSON gets JSON: a problem, then the order.
    let mut json_card = serde_json::Map::new();
    for (name, value) in card_form(&card) {
        json_card.insert(name.to_owned(), value.into());
    }
    json_card.insert("cvc".to_owned(), "1".into());
    let refused = env.http.post(&url).json(&json_card).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    json_card.insert("cvc".to_owned(), card["cvc"].clone());
    json_card.insert("exp_month".to_owned(), card["exp_month"].clone());
    let placed = env.http.post(&url).json(&json_card).send().await.unwrap();
    assert_eq!(placed.status(), StatusCode::OK);
    let order: serde_json::Value = placed.json().await.unwrap();
    assert_eq!(order["order"], "ord_000001");
    assert_eq!(order["amount"], 4999);
    assert_eq!(order["currency"], "usd");
}

#[tokio::test]
async fn shop_pages_show_items_and_totals_in_one_table_with_the_stylesheet() {
    let env = Env::start().await;
    for path in ["/", "/checkout"] {
        let page = get_as_browser(&env, &env.merchant.url("card-shop", path))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(page.matches("<table").count(), 1, "{page}");
        for text in [
            "TRS-42",
            "Lightweight trail shoes",
            "Unit price",
            "Line total",
            "$39.99",
            "$10.00",
            r#"id="total">$49.99"#,
            r#"name="viewport""#,
            r#"href="/assets/mock-merchant.css""#,
            "Test double.",
        ] {
            assert!(page.contains(text), "{path}: {text}");
        }
    }
    let form = env
        .get(&env.merchant.url("card-shop", "/checkout"))
        .await
        .text;
    for name in ["name", "card_number", "exp_month", "cvc", "postal_code"] {
        assert!(
            form.contains(&format!(r#"<label for="{name}">"#)),
            "{name} has a label"
        );
    }
    let css = env
        .http
        .get(format!(
            "{}/assets/mock-merchant.css",
            env.merchant.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains(":focus-visible"));
    // On a shop's own host name too.
    let host = format!("card-shop.localhost:{}", env.merchant.address().port());
    let css = env
        .http
        .get(format!(
            "{}/assets/mock-merchant.css",
            env.merchant.base_url()
        ))
        .header("host", host)
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
}

#[tokio::test]
async fn small_ones_trailing_slash_no_agents_link_and_a_way_back() {
    let env = Env::start().await;
    let bare = env
        .http
        .get(format!("{}/m/card-shop", env.merchant.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(bare.headers()["location"], "/m/card-shop/");

    let no_agents = env.get(&env.merchant.url("no-agents", "/")).await.text;
    assert!(no_agents.contains("No Agents Outfitters"), "{no_agents}");
    assert!(!no_agents.contains("Card Shop"), "{no_agents}");
    assert!(
        no_agents.contains(r#"href="/m/no-agents/agents.txt""#),
        "{no_agents}"
    );
    let agents = env
        .get(&format!(
            "{}/m/no-agents/agents.txt",
            env.merchant.base_url()
        ))
        .await;
    assert_eq!(agents.status, StatusCode::OK);
    assert!(!agents.text.contains("Card Shop"));

    let missing = get_as_browser(
        &env,
        &format!("{}/m/nowhere/at-all", env.merchant.base_url()),
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let page = missing.text().await.unwrap();
    assert!(page.contains(r#"<a href="/">"#), "{page}");
    let unknown = get_as_browser(&env, &env.merchant.url("nobody", "/")).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap().contains(r#"<a href="/">"#));
    // Programs still get Problem Details.
    let missing = env
        .get(&format!("{}/m/nowhere/at-all", env.merchant.base_url()))
        .await;
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn the_catalogue_is_a_page_for_browsers_and_json_for_programs() {
    let env = Env::start().await;
    let page = get_as_browser(&env, &format!("{}/", env.merchant.base_url())).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let page = page.text().await.unwrap();
    for merchant in mock_merchant::CATALOGUE {
        assert!(
            page.contains(&format!(r#"id="merchant-{}""#, merchant.id)),
            "{}",
            merchant.id
        );
    }
    let shop_url = env.merchant.url("card-shop", "/");
    assert!(page.contains(&format!(r#"href="{shop_url}""#)), "{page}");
    let json = env.get(&format!("{}/", env.merchant.base_url())).await;
    assert_eq!(
        json.json()["merchants"].as_array().unwrap().len(),
        mock_merchant::CATALOGUE.len()
    );
}

#[tokio::test]
async fn the_card_shop_sends_mock_links_control_token_when_it_checks_a_card() {
    const TOKEN: &str = "mlct_card_shop_test_token";
    let guarded = || mock_link::MockLink::builder().control_token(TOKEN);
    // Without the token mock-link refuses the check: the issuer can't be asked.
    let env = Env::start_with(guarded(), |merchant| merchant).await;
    let card = env.card().await;
    let url = env.merchant.url("card-shop", "/checkout");
    let (status, body) = post_form(&env, &url, &card_form(&card)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    // With it the card is checked and the order placed.
    let env = Env::start_with(guarded(), |merchant| merchant.link_control_token(TOKEN)).await;
    let card = env.card().await;
    let url = env.merchant.url("card-shop", "/checkout");
    let (status, body) = post_form(&env, &url, &card_form(&card)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
