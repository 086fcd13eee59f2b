//! The control API's OpenAPI document: the committed copy is what the code generates, the server
//! serves it under `/__control`, and `/openapi.json` stays the MPP discovery document.

use std::path::PathBuf;

use mock_merchant::MockMerchant;
use serde_json::Value;

const COMMITTED: &str = "../docs/openapi/mock-merchant-control.json";

fn generated() -> String {
    let document = mock_merchant::control_openapi();
    let mut text = serde_json::to_string_pretty(&document).expect("the document serializes");
    text.push('\n');
    text
}

/// Fails when `docs/openapi/mock-merchant-control.json` is stale; `scripts/openapi --bless`
/// (`BLESS=1` on this test) writes it anew.
#[test]
fn committed_document_is_fresh() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    let generated = generated();
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write the document");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi/mock-merchant-control.json differs from what the code generates; \
         run `scripts/openapi --bless` and commit it"
    );
}

#[tokio::test]
async fn control_document_is_served_and_discovery_stays() {
    let merchant = MockMerchant::start("http://127.0.0.1:9").await;
    let response = reqwest::get(format!("{}/__control/openapi.json", merchant.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let served: Value = response.json().await.unwrap();
    assert_eq!(served, serde_json::from_str::<Value>(&generated()).unwrap());
    assert!(served["paths"]["/__control/merchants/{id}/knobs"]["put"].is_object());

    let discovery: Value = reqwest::get(format!("{}/openapi.json", merchant.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = discovery["paths"].as_object().unwrap();
    assert!(paths.keys().all(|path| !path.starts_with("/__control")));
    assert!(
        paths
            .values()
            .any(|item| item["get"]["x-payment-info"].is_object())
    );
    merchant.shutdown().await;
}
