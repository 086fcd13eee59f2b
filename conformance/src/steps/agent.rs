//! The agent runs the client.

use cucumber::{given, when};
use serde_json::Value;

use crate::route::MerchantRoute;
use crate::step_error::{StepResult, bail};
use crate::steps::user::approve;
use crate::world::LinkWorld;

#[given("a user who is not logged in")]
async fn not_logged_in(_w: &mut LinkWorld) {}

#[given("a logged-in user with a default card")]
async fn logged_in(w: &mut LinkWorld) -> StepResult {
    w.login(None).await
}

#[given("a logged-in user with an empty wallet")]
async fn logged_in_empty(w: &mut LinkWorld) -> StepResult {
    w.link
        .control()
        .create_user(serde_json::json!({"id": "usr_empty", "email": "empty@example.com", "name": "Empty Wallet"}))
        .await?;
    w.login(Some("usr_empty")).await
}

#[when(expr = "the agent runs {string}")]
#[given(expr = "the agent ran {string}")]
async fn runs(w: &mut LinkWorld, command: String) -> StepResult {
    let op = w.op(&command)?;
    w.remember_polling(&op);
    w.run(&op).await?;
    if op.group == "mpp" && op.command == "pay" && op.flag("spend-request-id").is_none() {
        w.follow_pay_hand_over().await?;
    }
    if w.polling.as_ref() == Some(&op) {
        w.follow_polling().await?;
    }
    Ok(())
}

#[when(expr = "the agent starts {string}")]
async fn starts(w: &mut LinkWorld, command: String) -> StepResult {
    let op = w.op(&command)?;
    w.start(&op).await
}

#[when("the agent's command finishes")]
async fn finishes(w: &mut LinkWorld) -> StepResult {
    w.finish().await?;
    w.follow_polling().await
}

#[when("the agent finishes the login")]
async fn finishes_login(w: &mut LinkWorld) -> StepResult {
    if w.background.is_some() {
        w.finish().await?;
    }
    let done = w
        .last()?
        .last()
        .is_some_and(|v| v["authenticated"] == true || v.get("code").is_some());
    if !done && w.last()?.exit == 0 {
        w.follow_next().await?;
    }
    Ok(())
}

#[when("the agent follows the _next command")]
async fn follows_next(w: &mut LinkWorld) -> StepResult {
    let has_next = w
        .last()?
        .last()
        .and_then(|v| v.pointer("/_next/command"))
        .is_some();
    if !has_next {
        bail!("no _next.command: {}", w.last()?.describe());
    }
    w.follow_next().await
}

/// Creates a spend request through the client (the world remembers its id).
async fn create(w: &mut LinkWorld, command: &str) -> StepResult {
    let out = w.run_text(command).await?;
    if out.exit != 0 {
        bail!("creating the spend request failed: {}", out.describe());
    }
    // The world took the new id from the output; fail here if there was none.
    w.last_id()?;
    Ok(())
}

const CARD: &str = "spend-request create --credential-type card --amount 1500 --currency usd --merchant-name 'Example Times' --merchant-url https://times.example --context {context}";

#[given("a card spend request pending approval")]
#[when("the agent creates a card spend request and asks for approval")]
async fn card_pending(w: &mut LinkWorld) -> StepResult {
    create(w, &format!("{CARD} --request-approval")).await
}

#[given("a card spend request that was never sent for approval")]
async fn card_created(w: &mut LinkWorld) -> StepResult {
    create(w, CARD).await
}

#[given("an approved card spend request")]
async fn card_approved(w: &mut LinkWorld) -> StepResult {
    card_pending(w).await?;
    approve(w).await
}

/// GETs a URL as the agent's plain HTTP client would.
async fn http_get(url: &str) -> StepResult<reqwest::Response> {
    Ok(mock_link::loopback_http_client().get(url).send().await?)
}

/// Creates a shared payment token spend request for what `route` charges (or `amount`).
async fn spt_request(w: &mut LinkWorld, route: &MerchantRoute, amount: Option<&str>) -> StepResult {
    let challenge = route.probe(&w.shop).await?;
    let amount = match amount {
        Some(a) => a.to_owned(),
        None => challenge
            .request_json
            .get("amount")
            .and_then(Value::as_str)
            .ok_or("the challenge has no amount")?
            .to_owned(),
    };
    create(
        w,
        &format!(
            "spend-request create --credential-type shared_payment_token --network-id {} --amount {amount} --currency usd --context {{context}} --request-approval",
            challenge.network_id
        ),
    )
    .await
}

#[given(expr = "an approved shared payment token spend request for {string}")]
async fn spt_approved(w: &mut LinkWorld, route: MerchantRoute) -> StepResult {
    spt_request(w, &route, None).await?;
    approve(w).await
}

#[given(expr = "an approved shared payment token spend request of {string} for {string}")]
async fn spt_approved_amount(
    w: &mut LinkWorld,
    amount: String,
    route: MerchantRoute,
) -> StepResult {
    spt_request(w, &route, Some(&amount)).await?;
    approve(w).await
}

#[given(expr = "a shared payment token spend request for {string} pending approval")]
async fn spt_pending(w: &mut LinkWorld, route: MerchantRoute) -> StepResult {
    spt_request(w, &route, None).await
}

#[when(expr = "the agent remembers the spend request as {string}")]
#[given(expr = "the agent remembers the spend request as {string}")]
async fn remember(w: &mut LinkWorld, name: String) -> StepResult {
    let id = w.spend_request_id()?.to_owned();
    w.notes.insert(name, id);
    Ok(())
}

#[when("the agent logs out and logs in again")]
async fn logs_in_again(w: &mut LinkWorld) -> StepResult {
    w.run_text("auth logout").await?;
    w.login(None).await
}

#[when(expr = "the agent decodes the challenge of {string}")]
async fn decodes(w: &mut LinkWorld, url: String) -> StepResult {
    let url = w.expand(&url);
    let response = http_get(&url).await?;
    if response.status() != 402 {
        bail!("{url} answered {} instead of 402", response.status());
    }
    let values: Vec<String> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let op = crate::op::Op::decode_challenge(&values);
    w.run(&op).await?;
    Ok(())
}

#[given("merchants' challenges expire as soon as they are issued")]
async fn instant_expiry(w: &mut LinkWorld) -> StepResult {
    w.restart_shop(std::time::Duration::ZERO).await
}

#[when(expr = "the agent's browser fetches {string}")]
async fn fetches(w: &mut LinkWorld, url: String) -> StepResult {
    let response = http_get(&w.expand(&url)).await?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    w.notes.insert("page_status".into(), status.to_string());
    w.notes.insert("page".into(), body);
    Ok(())
}

#[when(expr = "the agent pays {string} with POST data {string} and the header {string}")]
async fn pays_post(w: &mut LinkWorld, url: String, data: String, header: String) -> StepResult {
    let id = w.spend_request_id()?.to_owned();
    let op = crate::op::Op {
        group: "mpp".into(),
        command: "pay".into(),
        positional: vec![("url".into(), w.expand(&url))],
        flags: vec![
            ("spend-request-id".into(), Some(id)),
            ("method".into(), Some("POST".into())),
            ("data".into(), Some(data)),
            ("header".into(), Some(header)),
        ],
    };
    w.run(&op).await?;
    Ok(())
}

#[when(expr = "the agent runs {string} for a person to read")]
async fn runs_human(w: &mut LinkWorld, command: String) -> StepResult {
    w.run_human(&command).await?;
    Ok(())
}

/// A newer version, published two ways: `LINK_UPDATE_FEED` (a URL answering
/// the latest version as text, for any client) and an npm registry (what a
/// Node client such as the public link-cli asks, through `npm_config_registry`).
#[given(expr = "a newer client version {string} is published on the update feed")]
async fn update_feed(w: &mut LinkWorld, version: String) -> StepResult {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let latest = version.clone();
    let app = axum::Router::new()
        .route("/latest", get(move || async move { format!("{latest}\n") }))
        .fallback(get(move |uri: axum::http::Uri| async move {
            // GET /<package> (scoped names arrive as @scope%2fname).
            let package = uri
                .path()
                .trim_start_matches('/')
                .replace("%2f", "/")
                .replace("%2F", "/");
            axum::Json(serde_json::json!({
                "name": package,
                "dist-tags": { "latest": version },
                "versions": { version.as_str(): { "name": package, "version": version } },
            }))
        }));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    w.servers.push(crate::world::AbortOnDrop(task));
    w.add_env("LINK_UPDATE_FEED", format!("{base}/latest"));
    w.add_env("npm_config_registry", format!("{base}/"));
    Ok(())
}
