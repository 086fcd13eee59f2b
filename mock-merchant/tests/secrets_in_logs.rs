//! No secret in the servers' logs: mock-link and mock-merchant run in this process
//! under a `tracing` subscriber capturing everything at TRACE, through a device login,
//! a refresh, an SPT purchase at the paid API and a card purchase at the card shop.
//! Then no access or refresh token, device code, SPT, card number or secret key
//! appears in what was logged, nor in mock-link's request log.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::{Env, card_form};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CLIENT_ID: &str = "lwlpk_test_client";
const SECRET_KEY: &str = "sk_test_mock_merchant";

/// Everything logged by this test binary, from the first subscriber call on.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        logs
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn form_post(env: &Env, url: String, form: &[(&str, &str)]) -> Value {
    let response = env.http.post(url).form(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A device login, a refresh, an SPT purchase at the paid API and a card purchase at
/// the card shop; returns every secret that went over the wire, named.
async fn login_and_buy(env: &Env) -> Vec<(&'static str, String)> {
    let link = env.link.base_url().to_owned();
    let mut secrets: Vec<(&'static str, String)> = vec![("secret key", SECRET_KEY.to_owned())];

    // Device login, approved through the control API, then one refresh.
    let code = form_post(
        env,
        format!("{link}/device/code"),
        &[("client_id", CLIENT_ID)],
    )
    .await;
    let device_code = code["device_code"].as_str().unwrap();
    env.link
        .control()
        .approve_device(code["user_code"].as_str().unwrap())
        .await
        .unwrap();
    let tokens = form_post(
        env,
        format!("{link}/device/token"),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", CLIENT_ID),
        ],
    )
    .await;
    let refreshed = form_post(
        env,
        format!("{link}/device/token"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", CLIENT_ID),
        ],
    )
    .await;
    secrets.push(("device code", device_code.to_owned()));
    for pair in [&tokens, &refreshed] {
        for kind in ["access_token", "refresh_token"] {
            secrets.push((kind, pair[kind].as_str().unwrap().to_owned()));
        }
    }
    let access_token = refreshed["access_token"].as_str().unwrap();

    // An SPT purchase at the paid API with the logged-in user's spend request.
    let created: Value = env
        .http
        .post(format!("{link}/spend_requests"))
        .bearer_auth(access_token)
        .json(&json!({
            "payment_details": "csmrpd_default_visa",
            "credential_type": "shared_payment_token",
            "network_id": mock_merchant::DEFAULT_NETWORK_ID,
            "amount": 2500,
            "currency": "usd",
            "context": common::CONTEXT,
            "request_approval": true,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let approved = env
        .link
        .control()
        .approve_spend_request(created["id"].as_str().unwrap())
        .await
        .unwrap();
    let spt = approved["shared_payment_token"]["id"].as_str().unwrap();
    secrets.push(("SPT", spt.to_owned()));
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let paid = env.get_paid(&url, &Env::credential(&challenge, spt)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);

    // A card purchase at the card shop.
    let card = env.card().await;
    let number = card["number"].as_str().unwrap();
    secrets.push(("card number", number.to_owned()));
    let checkout = env
        .http
        .post(env.merchant.url("card-shop", "/checkout"))
        .form(&card_form(&card))
        .send()
        .await
        .unwrap();
    assert_eq!(checkout.status(), StatusCode::OK);
    secrets
}

/// The secrets found in `text`, with their kind.
fn leaks(secrets: &[(&str, String)], text: &str) -> Vec<String> {
    secrets
        .iter()
        .filter(|(_, secret)| text.contains(secret.as_str()))
        .map(|(kind, secret)| format!("{kind} {secret}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_and_two_purchases_log_no_secret_at_trace_level() {
    let logs = captured();
    let env = Env::start().await;
    let secrets = login_and_buy(&env).await;
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.contains("mock-link listening") && text.contains("mock-merchant listening"),
        "the capture sees both servers"
    );
    assert!(
        text.contains("/v1/payment_intents"),
        "the capture sees mock-link's request lines"
    );
    eprintln!(
        "{} bytes of TRACE logs checked for {} secrets",
        text.len(),
        secrets.len()
    );
    let leaks = leaks(&secrets, &text);
    assert!(leaks.is_empty(), "secrets in the logs: {leaks:?}\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_and_two_purchases_leave_no_secret_in_the_request_log() {
    let env = Env::start().await;
    let secrets = login_and_buy(&env).await;
    let log =
        serde_json::to_string(&env.link.control().received_requests().await.unwrap()).unwrap();
    let leaks = leaks(&secrets, &log);
    assert!(leaks.is_empty(), "secrets in the request log: {leaks:?}");
}
