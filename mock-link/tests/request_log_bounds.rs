//! D5: the request log is bounded by bytes (a prefix of each body, a total cap dropping the
//! oldest) and paginated.

mod common;

use common::start;
use serde_json::{Value, json};

#[tokio::test]
async fn a_large_body_is_kept_as_a_bounded_prefix_flagged_truncated() {
    let link = start().await;
    let big = "x".repeat(200 * 1024);
    reqwest::Client::new()
        .post(format!("{}/spend_requests", link.base_url()))
        .json(&json!({"context": big, "token": "opaque-secret"}))
        .send()
        .await
        .unwrap();
    let log = link.control().received_requests().await.unwrap();
    let entry = &log[0];
    assert!(entry.truncated);
    let kept = serde_json::to_string(&entry.body).unwrap();
    assert!(kept.len() <= 9 * 1024, "kept {} bytes", kept.len());
    assert!(!kept.contains("opaque-secret"), "redacted before being cut");
    reqwest::Client::new()
        .get(format!("{}/userinfo", link.base_url()))
        .send()
        .await
        .unwrap();
    let log = link.control().received_requests().await.unwrap();
    assert!(!log[1].truncated);
}

#[tokio::test]
async fn the_whole_log_stays_under_its_byte_cap_dropping_the_oldest() {
    let link = start().await;
    let http = reqwest::Client::new();
    // Each body is past the per-entry bound, so every entry is as large as the log allows,
    // and 600 of them are more than the byte cap holds.
    let big = "y".repeat(mock_link::limits::MAX_LOGGED_BODY_BYTES + 1024);
    let send = |query: String| {
        http.post(format!("{}/spend_requests?{query}", link.base_url()))
            .json(&json!({ "context": big }))
            .send()
    };
    for batch in 0..150 {
        let sent = (0..4).map(|index| send(format!("n={}", batch * 4 + index)));
        for answer in futures::future::join_all(sent).await {
            answer.unwrap();
        }
    }
    send("n=last".into()).await.unwrap();
    let answer = http
        .get(format!("{}/__control/requests", link.base_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        answer.len() <= mock_link::limits::MAX_LOGGED_BYTES + 64 * 1024,
        "the log answered {} bytes",
        answer.len()
    );
    let log: Value = serde_json::from_str(&answer).unwrap();
    let data = log["data"].as_array().unwrap();
    assert!(data.len() > 300, "still many entries: {}", data.len());
    assert!(data.len() < 601, "some were dropped");
    assert_eq!(data.last().unwrap()["query"], "n=last", "the newest stays");
    assert!(
        !data.iter().any(|entry| entry["query"] == "n=0"),
        "the oldest went first"
    );
}

#[tokio::test]
async fn the_log_pages_with_limit_and_starting_after() {
    let link = start().await;
    let http = reqwest::Client::new();
    for index in 0..5 {
        http.get(format!("{}/userinfo?n={index}", link.base_url()))
            .send()
            .await
            .unwrap();
    }
    let page = link.control().get("/requests?limit=2").await.unwrap();
    assert_eq!(page["has_more"], true);
    let first: Vec<&Value> = page["data"].as_array().unwrap().iter().collect();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["query"], "n=0");
    let last_id = first[1]["id"].as_str().unwrap();
    let page = link
        .control()
        .get(&format!("/requests?limit=10&starting_after={last_id}"))
        .await
        .unwrap();
    assert_eq!(page["has_more"], false);
    let rest: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["query"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["n=2", "n=3", "n=4"]);
    // Without parameters: every entry, as before.
    assert_eq!(link.control().received_requests().await.unwrap().len(), 5);
    for bad in ["limit=0", "limit=abc", "starting_after=req_nope"] {
        let error = link
            .control()
            .get(&format!("/requests?{bad}"))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("400"), "{bad}: {error}");
    }
}
