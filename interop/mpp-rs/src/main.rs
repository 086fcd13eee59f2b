//! The `mpp` crate (tempoxyz/mpp-rs) as an interop peer for interop/run.sh.
//!
//! `interop-mpp-rs serve <stripe api base> <secret key> <network id>`: a
//! merchant on the crate's own axum server and stripe charge method, settling
//! at the given Stripe API base (mock-link). Serves `GET /paid` (25.00 usd) on
//! 127.0.0.1 with a free port and prints `listening http://127.0.0.1:<port>`
//! once it accepts connections.
//!
//! `interop-mpp-rs client <url> <issue-spt command...>`: the crate's client
//! (`ChargeClient` with a `StripeProvider`) pays <url>; its
//! `create_token` runs the command with `<network id> <amount> <currency>`
//! appended and reads an SPT on stdout. Prints one JSON line: status, the
//! receipt as the crate parses it, the body, or the error.
//!
//! `interop-mpp-rs decode`: reads mpp-testkit corpus cases (JSON lines with
//! `name` and `headers`) on stdin and prints, per case, what the crate's
//! parser makes of it under Link's selection rule (`{"name", "outcome", "id"?,
//! "reason"?}`).
use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;
use axum::{Json, Router, routing::get};
use base64::Engine;
use mpp::client::{ChargeClient, StripeProvider};
use mpp::protocol::core::{PaymentChallenge, parse_receipt, parse_www_authenticate_all_bytes};
use mpp::protocol::methods::stripe::CreateTokenResult;
use mpp::server::axum::{ChargeChallenger, ChargeConfig, MppCharge, WithReceipt};
use mpp::server::{Mpp, StripeConfig, stripe};
use serde_json::{Value, json};

struct Report;
impl ChargeConfig for Report {
    fn amount() -> &'static str {
        "25.00"
    }
    fn description() -> Option<&'static str> {
        Some("interop report")
    }
}

/// `WithReceipt` writes the receipt as `Payment-Receipt`.
async fn paid(charge: MppCharge<Report>) -> WithReceipt<Json<Value>> {
    let body = json!({"paid": true, "reference": charge.receipt.reference});
    WithReceipt {
        receipt: charge.receipt,
        body: Json(body),
    }
}

async fn serve(api_base: &str, secret_key: &str, network_id: &str) -> anyhow::Result<()> {
    let mpp = Mpp::create_stripe(
        stripe(StripeConfig {
            secret_key,
            network_id,
            payment_method_types: &["card"],
            currency: "usd",
            decimals: 2,
        })
        .realm("interop.mpp-rs")
        .secret_key("interop-mpp-rs-challenge-binding-key-0123456789")
        .stripe_api_base(api_base),
    )
    .context("configure the mpp server")?;
    let app = Router::new()
        .route("/paid", get(paid))
        .with_state(Arc::new(mpp) as Arc<dyn ChargeChallenger>);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Link's selection rule on what the crate parsed: the first stripe charge or
/// session challenge whose request has digit `amount`, a `currency` and a
/// network id. Challenges the crate could not parse are skipped.
fn select(headers: &[Vec<u8>]) -> Value {
    let parsed = parse_www_authenticate_all_bytes(headers.iter().map(Vec::as_slice));
    let stripe: Option<PaymentChallenge> = parsed.into_iter().flatten().find(|c| {
        c.method.as_str() == "stripe" && matches!(c.intent.as_str(), "charge" | "session")
    });
    let Some(challenge) = stripe else {
        return json!({"outcome": "reject", "reason": "no parsable stripe challenge"});
    };
    let request = match challenge.request.decode_value() {
        Ok(Value::Object(map)) => map,
        Ok(_) => return json!({"outcome": "reject", "reason": "request is not an object"}),
        Err(e) => return json!({"outcome": "reject", "reason": format!("request: {e}")}),
    };
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).filter(|s| !s.is_empty())
    }
    let amount_ok =
        text(request.get("amount")).is_some_and(|a| a.bytes().all(|b| b.is_ascii_digit()));
    let network = text(
        request
            .get("methodDetails")
            .and_then(|d| d.get("networkId")),
    )
    .or(text(request.get("networkId")));
    if !amount_ok || text(request.get("currency")).is_none() || network.is_none() {
        return json!({"outcome": "reject", "reason": "request lacks amount, currency or networkId"});
    }
    json!({"outcome": "accept", "id": challenge.id, "network_id": network})
}

/// The case's field values as bytes: `headers` (text) or `headers_base64`
/// (bytes that are not UTF-8, read as ISO-8859-1 like a client would).
fn field_values(case: &Value) -> anyhow::Result<Vec<Vec<u8>>> {
    if let Ok(text) = serde_json::from_value::<Vec<String>>(case["headers"].clone()) {
        return Ok(text.into_iter().map(String::into_bytes).collect());
    }
    let encoded: Vec<String> = serde_json::from_value(case["headers_base64"].clone())
        .context("a corpus case without `headers` or `headers_base64`")?;
    let engine = base64::engine::general_purpose::STANDARD;
    Ok(encoded
        .iter()
        .map(|v| engine.decode(v))
        .collect::<Result<_, _>>()?)
}

fn decode() -> anyhow::Result<()> {
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let case: Value = serde_json::from_str(&line).context("a corpus line is not JSON")?;
        let headers = field_values(&case)?;
        let mut verdict = select(&headers);
        verdict["name"] = case["name"].clone();
        println!("{verdict}");
    }
    Ok(())
}

/// Runs the SPT-issuing command for the challenge's terms.
async fn issue_spt(
    command: Vec<String>,
    terms: [String; 3],
) -> Result<CreateTokenResult, mpp::MppError> {
    let output = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .args(terms)
        .output()
        .await
        .map_err(|e| mpp::MppError::Http(format!("issue-spt: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(mpp::MppError::Http(format!("issue-spt failed: {stderr}")));
    }
    let spt = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Ok(CreateTokenResult {
        spt,
        external_id: None,
    })
}

async fn client(url: &str, command: Vec<String>) -> anyhow::Result<()> {
    let provider = StripeProvider::new(move |params| {
        let terms = [params.network_id, params.amount, params.currency];
        Box::pin(issue_spt(command.clone(), terms))
    });
    // ChargeClient (redirects off) is the crate's client for either
    // credential field; `send_with_payment` on a plain reqwest client refuses
    // `Payment-Authorization` challenges.
    let client = ChargeClient::new(reqwest::Client::builder())?;
    let request = client
        .request(reqwest::Method::GET, url)
        .header("Accept-Payment", "stripe/charge");
    let sent = client.send_with_payment(request, &provider).await;
    let mut out = json!({"url": url});
    match sent {
        Ok(response) => {
            out["status"] = json!(response.status().as_u16());
            if let Some(value) = response.headers().get("payment-receipt") {
                match value
                    .to_str()
                    .map_err(|e| e.to_string())
                    .and_then(|v| parse_receipt(v).map_err(|e| e.to_string()))
                {
                    Ok(receipt) => {
                        out["receipt"] = json!({"status": receipt.status, "method": receipt.method, "reference": receipt.reference})
                    }
                    Err(e) => out["receipt_error"] = json!(e),
                }
            }
            let body = response.text().await.unwrap_or_default();
            out["body"] = serde_json::from_str(&body).unwrap_or(json!(body));
        }
        Err(e) => out["error"] = json!(e.to_string()),
    }
    println!("{out}");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, api_base, secret_key, network_id] if cmd == "serve" => {
            serve(api_base, secret_key, network_id).await
        }
        [cmd] if cmd == "decode" => decode(),
        [cmd, url, command @ ..] if cmd == "client" && !command.is_empty() => {
            client(url, command.to_vec()).await
        }
        _ => anyhow::bail!(
            "usage: interop-mpp-rs serve <stripe api base> <secret key> <network id> | client <url> <cmd...> | decode"
        ),
    }
}
