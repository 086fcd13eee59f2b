//! Link failing under the client: 5xx, non-JSON, dropped connections, timeouts (ERR-01, ERR-02).

mod common;

use common::Env;
use serde_json::json;

async fn fault(env: &Env, fault: serde_json::Value) {
    env.arm_fault(json!({"method": "GET", "path": "/payment-details", "count": 1, "fault": fault}))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_failures_are_json_errors_without_secrets() {
    let mut env = Env::start().await;
    env.login().await;
    env.extra_env
        .push(("LINK_HTTP_TIMEOUT".into(), "0.5".into()));
    let session = std::fs::read_to_string(env.session_path()).unwrap();
    let session: serde_json::Value = serde_json::from_str(&session).unwrap();
    let cases = [
        (json!({"kind": "status", "status": 503}), "SERVER_ERROR"),
        (json!({"kind": "non_json", "status": 502}), "SERVER_ERROR"),
        (
            json!({"kind": "non_json", "status": 200}),
            "INVALID_RESPONSE",
        ),
        (json!({"kind": "drop"}), "NETWORK_ERROR"),
        (json!({"kind": "latency", "millis": 3000}), "NETWORK_ERROR"),
    ];
    for (kind, code) in cases {
        fault(&env, kind.clone()).await;
        let run = env.json(&["payment-methods", "list"]).await;
        let e = run.error(code);
        for secret in ["access_token", "refresh_token"] {
            let token = session[secret].as_str().unwrap();
            assert!(
                !run.stdout.contains(token) && !run.stderr.contains(token),
                "{kind}: token leaked"
            );
        }
        assert!(e["message"].is_string(), "{kind}");
        // The fault was for one call: the next works.
        env.json(&["payment-methods", "list"]).await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_link_is_a_network_error() {
    let mut env = Env::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    env.extra_env
        .push(("LINK_AUTH_BASE_URL".into(), url.clone()));
    env.extra_env.push(("LINK_API_BASE_URL".into(), url));
    env.json(&["auth", "login", "--interval", "0"])
        .await
        .error("NETWORK_ERROR");
    env.extra_env
        .push(("LINK_ACCESS_TOKEN".into(), "link_at_fake".into()));
    let e = env
        .json(&["user-info", "retrieve"])
        .await
        .error("NETWORK_ERROR");
    assert!(!e["message"].as_str().unwrap().contains("link_at_fake"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_are_json_errors_and_help_is_not() {
    let env = Env::start().await;
    for args in [
        &["spend-request", "bogus"][..],
        &["spend-request", "retrieve"],
        &["mpp", "decode"],
        &["--format", "xml", "auth", "status"],
        &[],
    ] {
        let run = env.run(args).await;
        run.error("INVALID_INPUT");
    }
    let help = env.run(&["--help"]).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("spend-request"));
    let version = env.run(&["--version"]).await;
    assert_eq!(version.code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_formats_carry_the_same_object() {
    let env = Env::start().await;
    env.login().await;
    let json = env.json(&["user-info", "retrieve"]).await.ok();
    let jsonl = env
        .run(&["user-info", "retrieve", "--format", "jsonl"])
        .await;
    let lines = jsonl.values();
    assert_eq!(lines[0], json!({"type": "chunk", "data": json}));
    assert_eq!(lines[1]["type"], "done");
    assert_eq!(lines[1]["ok"], true);
    assert_eq!(lines[1]["meta"]["command"], "user-info retrieve");
    let yaml = env
        .run(&["user-info", "retrieve", "--format", "yaml"])
        .await;
    assert_eq!(yaml.code, 0);
    assert!(yaml.stdout.contains(json["email"].as_str().unwrap()));
    let human = env.run(&["user-info", "retrieve"]).await;
    assert_eq!(human.code, 0);
    assert!(human.stdout.contains("email:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_that_must_verify_gets_the_verification_url() {
    let env = Env::start().await;
    env.link
        .control()
        .create_user(json!({"id": "usr_unverified", "requires_verification": true}))
        .await
        .unwrap();
    let first = env.json(&["auth", "login", "--interval", "0"]).await.ok();
    env.link
        .control()
        .approve_device_as(first["phrase"].as_str().unwrap(), "usr_unverified")
        .await
        .unwrap();
    env.json(&["auth", "status"]).await.ok();
    let e = env
        .json(&[
            "spend-request",
            "create",
            "--amount",
            "1000",
            "--merchant-name",
            "Shop",
            "--merchant-url",
            "https://shop.example",
            "--context",
            &common::context(),
            "--payment-method-id",
            "csmrpd_magic_approve",
        ])
        .await
        .error("API_ERROR");
    assert!(
        e["verification_url"].as_str().unwrap().starts_with("http"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_exposes_the_tools_over_streamable_http() {
    let env = Env::start().await;
    let mut serve = env.spawn(&["serve", "--port", "0"]);
    let url = serve.next_json().await["mcp_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"));
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value, session: Option<String>| {
        let mut request = http
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .json(&body);
        if let Some(id) = session {
            request = request.header("mcp-session-id", id);
        }
        request.send()
    };
    let init = post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}),
        None,
    )
    .await
    .unwrap();
    assert!(init.status().is_success(), "{}", init.status());
    let session = init
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let _ = init.text().await.unwrap();
    post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        session.clone(),
    )
    .await
    .unwrap();
    let list = post(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        session,
    )
    .await
    .unwrap();
    let body = list.text().await.unwrap();
    // A JSON body, or server-sent events whose data lines carry the JSON.
    let message: serde_json::Value = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:").map(str::trim).or(Some(l)))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|m| m["id"] == 2)
        .unwrap_or_else(|| panic!("no tools/list answer in {body}"));
    assert_eq!(message["result"]["tools"].as_array().unwrap().len(), 17);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_http_timeout_is_refused_before_any_request() {
    let mut env = Env::start().await;
    env.login().await;
    let before = env.request_paths().await.len();
    for bad in ["0", "-1", "abc", "NaN", "inf", "1e400", "1e30", "10s"] {
        env.extra_env.push(("LINK_HTTP_TIMEOUT".into(), bad.into()));
        for args in [
            &["payment-methods", "list"][..],
            &["auth", "status"],
            &["auth", "logout"],
            &["spend-request", "retrieve", "lsrq_1", "--interval", "1"],
        ] {
            let e = env.json(args).await.error("INVALID_INPUT");
            let message = e["message"].as_str().unwrap();
            assert!(message.contains("LINK_HTTP_TIMEOUT"), "{bad}: {message}");
        }
        env.extra_env.pop();
    }
    assert_eq!(
        env.request_paths().await.len(),
        before,
        "a request was sent"
    );
    assert!(env.session_path().exists(), "logout ran with a bad timeout");
    // A valid value, fractional or whole, is used.
    for good in ["2.5", "30"] {
        env.extra_env
            .push(("LINK_HTTP_TIMEOUT".into(), good.into()));
        env.json(&["payment-methods", "list"]).await.ok();
        env.extra_env.pop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ca_certificates_plain_http_works_and_https_says_why_not() {
    let mut env = Env::start().await;
    // An empty certificate file and directory: the system trust store holds nothing, as in a
    // container built FROM scratch.
    let no_certs = tempfile::tempdir().unwrap();
    let empty_file = no_certs.path().join("none.pem");
    std::fs::write(&empty_file, "").unwrap();
    env.extra_env
        .push(("SSL_CERT_FILE".into(), empty_file.display().to_string()));
    env.extra_env
        .push(("SSL_CERT_DIR".into(), no_certs.path().display().to_string()));
    env.login().await;
    env.json(&["payment-methods", "list"]).await.ok();

    env.extra_env
        .push(("LINK_API_BASE_URL".into(), "https://127.0.0.1:9".into()));
    let e = env
        .json(&["payment-methods", "list"])
        .await
        .error("NETWORK_ERROR");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("no trusted certificate authorities") && message.contains("SSL_CERT_FILE"),
        "{message}"
    );
}
