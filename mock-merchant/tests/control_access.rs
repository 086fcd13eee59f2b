//! D6: the control API answers only the local test that started the server:
//! its own Host and Origin, JSON posts, an optional token, or not at all.

use mock_merchant::MockMerchant;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

async fn merchant(
    configure: impl FnOnce(mock_merchant::MockMerchantBuilder) -> mock_merchant::MockMerchantBuilder,
) -> MockMerchant {
    configure(MockMerchant::builder().link("http://127.0.0.1:9"))
        .start()
        .await
        .unwrap()
}

/// Status and JSON body of `method path` with `headers`.
async fn call(
    shop: &MockMerchant,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = Client::new().request(method, format!("{}{path}", shop.base_url()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn a_foreign_host_or_origin_is_refused_with_403() {
    let shop = merchant(|b| b).await;
    let (status, body) = call(
        &shop,
        Method::GET,
        "/__control/ledger",
        &[("host", "evil.example")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden_host");
    for origin in ["http://evil.example", "null"] {
        let (status, body) = call(
            &shop,
            Method::POST,
            "/__control/reset",
            &[JSON, ("origin", origin)],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(body["code"], "forbidden_origin");
    }
    // Its own names are fine, the shops' host names included.
    let port = shop.address().port().to_string();
    for host in ["127.0.0.1", "localhost", "card-shop.localhost"] {
        let host = format!("{host}:{port}");
        let (status, _) = call(&shop, Method::GET, "/__control/ledger", &[("host", &host)]).await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
    let origin = format!("http://localhost:{port}");
    let (status, _) = call(
        &shop,
        Method::POST,
        "/__control/reset",
        &[JSON, ("origin", &origin)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The merchants themselves answer any host.
    let (status, _) = call(
        &shop,
        Method::GET,
        "/m/api/report",
        &[("host", "evil.example")],
    )
    .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
}

#[tokio::test]
async fn control_posts_must_be_json() {
    let shop = merchant(|b| b).await;
    for headers in [vec![("content-type", "text/plain")], vec![]] {
        let (status, body) = call(&shop, Method::POST, "/__control/reset", &headers).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{headers:?}");
        assert_eq!(body["code"], "unsupported_content_type");
    }
    let (status, _) = call(&shop, Method::POST, "/__control/reset", &[JSON]).await;
    assert_eq!(status, StatusCode::OK);
    // A method no control route takes is 405, not a complaint about the body (schemathesis).
    for method in [Method::TRACE, Method::OPTIONS] {
        let (status, body) = call(&shop, method.clone(), "/__control/clock", &[]).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(body["status"], 405);
    }
}

#[tokio::test]
async fn a_control_token_is_required_when_set() {
    let shop = merchant(|b| b.control_token("mmct_test_token")).await;
    assert_eq!(shop.control_token(), Some("mmct_test_token"));
    let (status, body) = call(&shop, Method::GET, "/__control/ledger", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "control_token_required");
    let wrong = [("authorization", "Bearer nope")];
    let (status, body) = call(&shop, Method::GET, "/__control/ledger", &wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "invalid_control_token");
    let right = [("authorization", "Bearer mmct_test_token")];
    let (status, _) = call(&shop, Method::GET, "/__control/ledger", &right).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_non_loopback_bind_generates_a_token() {
    let shop = merchant(|b| b.bind(std::net::SocketAddr::from(([0, 0, 0, 0], 0)))).await;
    let token = shop.control_token().expect("generated").to_owned();
    assert!(token.starts_with("mmct_") && token.len() > 40, "{token}");
    let (status, _) = call(&shop, Method::GET, "/__control/ledger", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn no_control_turns_the_control_api_off() {
    let shop = merchant(|b| b.no_control()).await;
    let (status, body) = call(&shop, Method::GET, "/__control/ledger", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "control_disabled");
    let (status, _) = call(&shop, Method::GET, "/m/api/report", &[]).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    assert!(
        !shop.ledger().is_empty(),
        "the Rust API still reads the ledger"
    );
}
