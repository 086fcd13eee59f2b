//! An end-to-end purchase in one process: a mock Link, the mock merchants, and link-ref's
//! library as the agent. It logs in, asks for a shared payment token for a 402 API, the user
//! approves (through mock-link's control API), and it pays, printing the receipt.
//!
//! ```sh
//! cargo run -p reference-client --example purchase
//! ```

use link_ref::output::Collect;
use link_ref::{Config, Operation};
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Runs one link-ref operation (named as its MCP tool) and returns what it printed.
async fn link_ref(config: &Config, tool: &str, arguments: Value) -> Result<Value> {
    let mut out = Collect::default();
    Operation::from_tool(tool, arguments)?
        .run(config.clone(), &mut out)
        .await?;
    Ok(out.into_value())
}

#[tokio::main]
async fn main() -> Result<()> {
    let link = mock_link::MockLink::builder().start().await?;
    let shop = mock_merchant::MockMerchant::builder()
        .link(link.base_url())
        .start()
        .await?;
    let home = tempfile::tempdir()?;
    let session = home.path().join("session.json");
    let config = Config::from_lookup(|name| match name {
        "LINK_AUTH_BASE_URL" | "LINK_API_BASE_URL" => Some(link.base_url().to_owned()),
        "LINK_AUTH_FILE" => Some(session.display().to_string()),
        _ => None,
    });

    // Device login: the agent shows the phrase, the user approves it.
    let login = link_ref(&config, "auth_login", json!({"interval": 0})).await?;
    let phrase = login["phrase"].as_str().ok_or("no phrase")?;
    link.control().approve_device(phrase).await?;
    let status = link_ref(&config, "auth_status", json!({})).await?;
    println!("logged in: {}", status["authenticated"]);

    // A spend request for a shared payment token on the merchant's network, approved by the user.
    let created = link_ref(
        &config,
        "spend-request_create",
        json!({
            "credentialType": "shared_payment_token",
            "networkId": mock_merchant::DEFAULT_NETWORK_ID,
            "amount": "2500",
            "context": "The monthly market report from the example merchant's paid API, bought once for the user's weekly review.",
            "requestApproval": true,
        }),
    )
    .await?;
    let id = created["id"].as_str().ok_or("no spend request id")?;
    link.control().approve_spend_request(id).await?;
    println!("spend request {id} approved");

    // The 402 API: link-ref decodes the challenge, fetches the token and pays.
    let url = shop.url("api", "/report");
    let paid = link_ref(
        &config,
        "mpp_pay",
        json!({"url": url, "spendRequestId": id}),
    )
    .await?;
    println!(
        "paid {url}: HTTP {}, receipt {} ({})",
        paid["status"], paid["receipt"]["reference"], paid["receipt"]["status"]
    );
    if paid["receipt"]["status"] != "success" {
        return Err(format!("the purchase did not succeed: {paid}").into());
    }
    shop.shutdown().await;
    link.shutdown().await;
    Ok(())
}
