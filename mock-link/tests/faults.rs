//! Fault injection per route and per count: statuses, latency, dropped connections, HTML bodies.

mod common;

use std::time::{Duration, Instant};

use common::{Api, post_form, start};
use mock_link::{ArmedFault, Fault};
use reqwest::StatusCode;
use serde_json::json;

fn fault(method: Option<&str>, path: &str, count: u32, fault: Fault) -> ArmedFault {
    ArmedFault {
        method: method.map(str::to_owned),
        path: path.to_owned(),
        count,
        fault,
    }
}

#[tokio::test]
async fn a_status_fault_fails_the_next_n_calls_in_the_route_shape() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    link.control()
        .inject_fault(&fault(
            Some("GET"),
            "/userinfo",
            2,
            Fault::Status { status: 503 },
        ))
        .await
        .unwrap();
    for _ in 0..2 {
        let (status, body) = api.get("/userinfo").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "injected_fault");
    }
    let (status, _) = api.get("/userinfo").await;
    assert_eq!(status, StatusCode::OK);

    link.control()
        .inject_fault(&fault(None, "/device/*", 1, Fault::Status { status: 500 }))
        .await
        .unwrap();
    let (status, body) = post_form(&link, "/device/code", &[("client_id", "x")]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], "invalid_request", "OAuth shape: {body}");
    let log = link.control().received_requests().await.unwrap();
    assert_eq!(log.last().unwrap().status, 500);
}

#[tokio::test]
async fn a_non_json_fault_serves_an_html_page() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    link.control()
        .inject_fault(&fault(
            None,
            "/payment-details",
            1,
            Fault::NonJson { status: None },
        ))
        .await
        .unwrap();
    let response = api
        .http
        .get(format!("{}/payment-details", link.base_url()))
        .bearer_auth(&api.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with("<html>"));
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
}

#[tokio::test]
async fn a_drop_fault_leaves_the_client_without_a_response() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    link.control()
        .inject_fault(&fault(None, "/spend_requests", 1, Fault::Drop))
        .await
        .unwrap();
    let outcome = api
        .http
        .get(format!("{}/spend_requests", link.base_url()))
        .bearer_auth(&api.access_token)
        .send()
        .await;
    let failed = match outcome {
        Err(_) => true,
        Ok(response) => response.text().await.is_err(),
    };
    assert!(failed, "the client must not get a usable response");
    let (status, _) = api.get("/spend_requests").await;
    assert_eq!(status, StatusCode::OK, "only one call was faulted");
}

#[tokio::test]
async fn a_latency_fault_delays_then_answers_normally() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    link.control()
        .inject_fault(&fault(None, "/userinfo", 1, Fault::Latency { millis: 300 }))
        .await
        .unwrap();
    let started = Instant::now();
    let (status, body) = api.get("/userinfo").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["email"], "jenny.rosen@example.com");
}

#[tokio::test]
async fn faults_can_be_listed_cleared_and_are_validated() {
    let link = start().await;
    link.control()
        .inject_fault(&fault(None, "/userinfo", 3, Fault::Drop))
        .await
        .unwrap();
    let listed = link.control().get("/faults").await.unwrap();
    assert_eq!(listed["data"][0]["count"], 3);
    assert_eq!(listed["data"][0]["fault"]["kind"], "drop");
    let client = reqwest::Client::new();
    let cleared = client
        .delete(format!("{}/__control/faults", link.base_url()))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(cleared, StatusCode::OK);
    let api = Api::default_user(&link).await;
    assert_eq!(api.get("/userinfo").await.0, StatusCode::OK);

    for invalid in [
        json!({"path": "/userinfo", "fault": {"kind": "status", "status": 200}}),
        json!({"path": "/userinfo", "fault": {"kind": "explode"}}),
        json!({"path": "/__control/reset", "fault": {"kind": "drop"}}),
        json!({"path": "/userinfo", "count": 0, "fault": {"kind": "drop"}}),
        json!({"path": "/userinfo", "fault": {"kind": "latency", "millis": 600000}}),
    ] {
        let refused = link.control().post("/faults", invalid.clone()).await;
        assert!(
            matches!(
                refused,
                Err(mock_link::ControlError::Status { status: 400, .. })
            ),
            "{invalid}"
        );
    }
}
