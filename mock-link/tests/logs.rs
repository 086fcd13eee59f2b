//! Tracing output never carries tokens, card numbers or SPTs.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Api, CLIENT_ID, DEVICE_GRANT, card_request, read, spt_request};

#[derive(Clone)]
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

#[tokio::test]
async fn logs_of_a_full_flow_hold_no_secret() {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = Capture(buffer.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let link = common::start().await;
    let http = reqwest::Client::new();
    let (_, code) = read(
        http.post(format!("{}/device/code", link.base_url()))
            .form(&[("client_id", CLIENT_ID)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let device_code = code["device_code"].as_str().unwrap().to_owned();
    link.control()
        .approve_device(code["user_code"].as_str().unwrap())
        .await
        .unwrap();
    let (_, tokens) = read(
        http.post(format!("{}/device/token", link.base_url()))
            .form(&[("grant_type", DEVICE_GRANT), ("device_code", &device_code)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let api = Api {
        http: http.clone(),
        base_url: link.base_url().to_owned(),
        access_token: tokens["access_token"].as_str().unwrap().to_owned(),
    };
    let card_id = api.create_pending(card_request()).await;
    link.control()
        .approve_spend_request(&card_id)
        .await
        .unwrap();
    let (_, card) = api
        .get(&format!("/spend_requests/{card_id}?include=card"))
        .await;
    let spt_id = api.create_pending(spt_request()).await;
    link.control().approve_spend_request(&spt_id).await.unwrap();
    let (_, spt) = api
        .get(&format!(
            "/spend_requests/{spt_id}?include=shared_payment_token"
        ))
        .await;
    let spt = spt["shared_payment_token"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    http.post(format!("{}/v1/payment_intents", link.base_url()))
        .bearer_auth("sk_test_mock_merchant")
        .form(&[
            ("amount", "2500"),
            ("currency", "usd"),
            ("shared_payment_granted_token", spt.as_str()),
            ("confirm", "true"),
        ])
        .send()
        .await
        .unwrap();
    link.shutdown().await;

    let logs = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/v1/payment_intents"),
        "requests are logged: {logs}"
    );
    assert!(logs.contains("credential issued"));
    for secret in [
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        device_code.as_str(),
        card["card"]["number"].as_str().unwrap(),
        spt.as_str(),
        "sk_test_mock_merchant",
    ] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }
}
