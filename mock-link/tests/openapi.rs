//! The OpenAPI document: the committed copy is what the code generates, and the server serves it.

use std::path::PathBuf;

const COMMITTED: &str = "../docs/openapi/mock-link.json";

fn generated() -> String {
    let mut text =
        serde_json::to_string_pretty(&mock_link::openapi()).expect("the document serializes");
    text.push('\n');
    text
}

/// Fails when `docs/openapi/mock-link.json` is stale; `BLESS=1 cargo test -p mock-link --test
/// openapi` (or `scripts/openapi --bless`) writes it anew.
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
        "docs/openapi/mock-link.json differs from what the code generates; \
         run `scripts/openapi --bless` and commit it"
    );
}

#[test]
fn document_is_openapi_3_1_with_every_host() {
    let document: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/device/token",
        "/spend_requests/{id}",
        "/v1/payment_intents",
        "/__control/clock/advance",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    // Pages are HTML for people, not API.
    assert!(!paths.contains_key("/verify"));
    let create = &document["components"]["schemas"]["SpendRequestCreate"]["properties"];
    assert_eq!(
        create["amount"]["maximum"].as_i64(),
        Some(mock_link::limits::MAX_AMOUNT)
    );
}

#[tokio::test]
async fn server_serves_the_document_with_cache_control() {
    let link = mock_link::MockLink::start().await;
    let response = reqwest::get(format!("{}/openapi.json", link.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let served: serde_json::Value = response.json().await.unwrap();
    let generated: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(served, generated);
    link.shutdown().await;
}
