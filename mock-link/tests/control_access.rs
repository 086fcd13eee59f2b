//! D6: the control API refuses foreign hosts and origins and non-JSON posts, can require a
//! token, and can be switched off; the rest of mock-link is unaffected.

mod common;

use std::time::Duration;

use common::{read, start};
use mock_link::MockLink;
use reqwest::StatusCode;

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn a_foreign_host_is_refused_with_403_json_and_loopback_names_are_served() {
    let link = start().await;
    let url = format!("{}/__control/clock", link.base_url());
    let port = link.address().port();
    for host in [
        "evil.example",
        "evil.example:80",
        "127.0.0.1.nip.io",
        "localhost.evil.example",
    ] {
        let (status, body) =
            read(http().get(&url).header("host", host).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{host}");
        assert_eq!(body["error"]["code"], "forbidden_host", "{host}");
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".to_owned(),
        format!("[::1]:{port}"),
    ] {
        let status = http()
            .get(&url)
            .header("host", &host)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK, "{host}");
    }
    // Client paths do not care about Host.
    let status = http()
        .get(format!("{}/userinfo", link.base_url()))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_foreign_origin_is_refused_and_a_loopback_origin_is_served() {
    let link = start().await;
    let url = format!("{}/__control/reset", link.base_url());
    for origin in [
        "https://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
    ] {
        let (status, body) = read(
            http()
                .post(&url)
                .header("origin", origin)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(body["error"]["code"], "forbidden_origin", "{origin}");
    }
    let status = http()
        .post(&url)
        .header("origin", link.base_url())
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn control_posts_must_be_json_even_without_a_body() {
    let link = start().await;
    link.control()
        .advance_clock(Duration::from_secs(60))
        .await
        .unwrap();
    let url = format!("{}/__control/reset", link.base_url());
    for (content_type, body) in [
        (Some("text/plain"), "{}"),
        (Some("application/x-www-form-urlencoded"), "a=b"),
        (Some("multipart/form-data; boundary=x"), ""),
        (None, ""),
    ] {
        let mut request = http().post(&url).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, answer) = read(request.send().await.unwrap()).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(answer["error"]["code"], "unsupported_content_type");
    }
    let clock = link.control().get("/clock").await.unwrap();
    assert_eq!(
        clock["offset_seconds"], 60.0,
        "no refused reset went through"
    );
    // A method no control route takes is 405, not a complaint about the body (schemathesis).
    for method in [reqwest::Method::TRACE, reqwest::Method::OPTIONS] {
        let request = http().request(method.clone(), &url).send().await.unwrap();
        let (status, answer) = read(request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(answer["error"]["code"], "method_not_allowed");
    }
}

#[tokio::test]
async fn a_control_token_is_required_as_a_bearer_when_set() {
    let link = MockLink::builder()
        .control_token("ctl-secret-1")
        .start()
        .await
        .unwrap();
    let url = format!("{}/__control/clock", link.base_url());
    let (status, body) = read(http().get(&url).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "control_token_required");
    let (status, body) = read(http().get(&url).bearer_auth("wrong").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_control_token");
    let status = http()
        .get(&url)
        .bearer_auth("ctl-secret-1")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    // The client of the running instance sends it.
    assert_eq!(link.control_token(), Some("ctl-secret-1"));
    link.control().reset().await.unwrap();
    // Client paths need no control token.
    let status = http()
        .post(format!("{}/device/code", link.base_url()))
        .form(&[("client_id", "lwlpk_x")])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn no_control_answers_404_on_every_control_path_and_serves_the_rest() {
    let link = MockLink::builder().no_control().start().await.unwrap();
    for path in [
        "/__control/clock",
        "/__control/requests",
        "/__control/tokens",
    ] {
        let (status, body) = read(
            http()
                .get(format!("{}{path}", link.base_url()))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["error"]["code"], "resource_missing");
    }
    let status = http()
        .get(format!("{}/device/code", link.base_url()))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn binding_a_non_loopback_address_generates_a_control_token() {
    let link = MockLink::builder()
        .bind("0.0.0.0:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let token = link.control_token().expect("a generated token").to_owned();
    assert!(token.len() >= 32);
    let url = format!("http://127.0.0.1:{}/__control/clock", link.address().port());
    assert_eq!(
        http().get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        http()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}
