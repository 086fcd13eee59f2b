//! auth login, status, logout, refresh (AUTH-01..10).

mod common;

use common::Env;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_without_a_session_is_not_authenticated() {
    let env = Env::start().await;
    let status = env.json(&["auth", "status"]).await.ok();
    assert_eq!(status["authenticated"], false);
    assert!(
        status["credentials_path"]
            .as_str()
            .unwrap()
            .ends_with("session.json")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_prints_the_url_at_once_then_polls_until_approved() {
    let env = Env::start().await;
    let mut login = env.spawn(&[
        "auth",
        "login",
        "--client-name",
        "Conformance Bot",
        "--interval",
        "0.05",
    ]);
    let first = login.next_json().await;
    let url = first["verification_url"].as_str().unwrap();
    assert!(url.starts_with(env.link.base_url()), "{url}");
    let phrase = first["phrase"].as_str().unwrap().to_owned();
    // The name reached Link as the connection label.
    let codes = env.link.control().get("/device_codes").await.unwrap();
    assert!(
        codes["data"][0]["connection_label"]
            .as_str()
            .unwrap()
            .starts_with("Conformance Bot on ")
    );
    env.link.control().approve_device(&phrase).await.unwrap();
    let (code, rest) = login.finish().await;
    assert_eq!(code, 0);
    assert_eq!(rest.last().unwrap()["authenticated"], true);
    assert!(env.session_path().exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.session_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never a full token in the output.
    let status = env.json(&["auth", "status"]).await.ok();
    assert!(status["access_token"].as_str().unwrap().ends_with("..."));
    let session: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.session_path()).unwrap()).unwrap();
    let token = session["access_token"].as_str().unwrap();
    assert!(!status.to_string().contains(token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_never_polls_faster_than_the_server_interval() {
    // The mock asks for 0.2 s between polls and answers slow_down to anything faster;
    // asked for 0.01 s, the client still keeps to the server's interval.
    let env = Env::with(
        mock_link::MockLink::builder().device_poll_interval(std::time::Duration::from_millis(200)),
    )
    .await;
    let run = env
        .json(&["auth", "login", "--interval", "0.01", "--timeout", "1.5"])
        .await;
    // The client never polls faster than the server's interval, so no slow_down is earned.
    let log = env.request_paths().await;
    let polls = log.iter().filter(|p| p.ends_with("/device/token")).count();
    assert!(
        (1..=8).contains(&polls),
        "polled {polls} times in 1.5 s at a 0.2 s interval"
    );
    let statuses: Vec<_> = env
        .link
        .control()
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.path == "/device/token")
        .map(|r| r.status)
        .collect();
    assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
    run.error("POLLING_TIMEOUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_login_fails_and_stores_nothing() {
    let env = Env::start().await;
    let mut login = env.spawn(&["auth", "login", "--interval", "0.05"]);
    let phrase = login.next_json().await["phrase"]
        .as_str()
        .unwrap()
        .to_owned();
    env.link.control().deny_device(&phrase).await.unwrap();
    let (code, rest) = login.finish().await;
    assert_eq!(code, 1);
    assert_eq!(rest.last().unwrap()["code"], "ACCESS_DENIED");
    assert!(!env.session_path().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_login_code_fails() {
    let env = Env::start().await;
    let mut login = env.spawn(&["auth", "login", "--interval", "0.05"]);
    let phrase = login.next_json().await["phrase"]
        .as_str()
        .unwrap()
        .to_owned();
    env.link.control().expire_device(&phrase).await.unwrap();
    let (code, rest) = login.finish().await;
    assert_eq!(code, 1);
    assert_eq!(rest.last().unwrap()["code"], "LOGIN_EXPIRED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_zero_hands_the_login_to_auth_status() {
    let env = Env::start().await;
    let first = env.json(&["auth", "login", "--interval", "0"]).await.ok();
    assert!(
        first["_next"]["command"]
            .as_str()
            .unwrap()
            .starts_with("auth status --interval")
    );
    let pending = env.json(&["auth", "status"]).await.ok();
    assert_eq!(pending["pending"], true);
    assert_eq!(pending["phrase"], first["phrase"]);
    env.link
        .control()
        .approve_device(first["phrase"].as_str().unwrap())
        .await
        .unwrap();
    let status = env
        .json(&[
            "auth",
            "status",
            "--interval",
            "0.05",
            "--max-attempts",
            "20",
        ])
        .await
        .ok();
    assert_eq!(status["authenticated"], true);
    // Logged in: login says so instead of starting again.
    let again = env.json(&["auth", "login"]).await.ok();
    assert_eq!(again["authenticated"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_token_at_link() {
    let env = Env::start().await;
    env.login().await;
    let session: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.session_path()).unwrap()).unwrap();
    let token = session["access_token"].as_str().unwrap().to_owned();
    let out = env.json(&["auth", "logout"]).await.ok();
    assert_eq!(out["logged_out"], true);
    assert_eq!(out["revoked"], true);
    assert!(!env.session_path().exists());
    let status = reqwest::Client::new()
        .get(format!("{}/userinfo", env.link.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refreshed_once_and_rotated() {
    let env = Env::start().await;
    env.login().await;
    let before: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.session_path()).unwrap()).unwrap();
    env.link
        .control()
        .post("/tokens/expire", json!({"token": before["access_token"]}))
        .await
        .unwrap();
    let methods = env.json(&["payment-methods", "list"]).await.ok();
    assert!(methods.as_array().is_some_and(|m| !m.is_empty()));
    let after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.session_path()).unwrap()).unwrap();
    assert_ne!(after["access_token"], before["access_token"]);
    assert_ne!(
        after["refresh_token"], before["refresh_token"],
        "refresh tokens rotate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_session_fails_with_not_authenticated() {
    let env = Env::start().await;
    env.login().await;
    let session: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.session_path()).unwrap()).unwrap();
    for key in ["access_token", "refresh_token"] {
        env.link
            .control()
            .revoke_token(session[key].as_str().unwrap())
            .await
            .unwrap();
    }
    env.json(&["user-info", "retrieve"])
        .await
        .error("NOT_AUTHENTICATED");
    // The dead session is gone: a new login starts instead of "already logged in".
    assert!(!env.session_path().exists());
    let again = env.json(&["auth", "login", "--interval", "0"]).await.ok();
    assert!(again["phrase"].is_string(), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_commands_without_a_session_send_nothing() {
    let env = Env::start().await;
    for args in [
        &["payment-methods", "list"][..],
        &["spend-request", "list"],
        &["spend-request", "retrieve", "lsrq_1"],
        &["user-info", "retrieve"],
        &["shipping-address", "list"],
    ] {
        env.json(args).await.error("NOT_AUTHENTICATED");
    }
    assert!(
        env.request_paths().await.is_empty(),
        "{:?}",
        env.request_paths().await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_session_file_is_a_clear_error() {
    let env = Env::start().await;
    std::fs::create_dir_all(env.session_path().parent().unwrap()).unwrap();
    std::fs::write(env.session_path(), "{oops").unwrap();
    let e = env
        .json(&["auth", "status"])
        .await
        .error("CORRUPT_CREDENTIALS");
    assert!(e["message"].as_str().unwrap().contains("session.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_a_newer_version_from_the_update_feed() {
    let mut env = Env::start().await;
    env.login().await;
    let feed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/latest", feed.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new().route("/latest", axum::routing::get(|| async { "99.0.0\n" }));
        axum::serve(feed, app).await.unwrap();
    });
    env.extra_env.push(("LINK_UPDATE_FEED".into(), url));
    let status = env.json(&["auth", "status"]).await.ok();
    assert_eq!(status["update"]["latest"], "99.0.0");
    assert_eq!(status["update"]["current"], env!("CARGO_PKG_VERSION"));
    assert!(status["update"]["update_command"].as_str().is_some());
}

/// Arms `count` faults on Link's device token endpoint.
async fn fault_token_poll(env: &Env, fault: serde_json::Value, count: u32) {
    env.arm_fault(
        json!({"method": "POST", "path": "/device/token", "count": count, "fault": fault}),
    )
    .await;
}

/// The fault kinds a sick Link or network produces on the token poll.
fn transient_faults() -> Vec<serde_json::Value> {
    vec![
        json!({"kind": "status", "status": 503}),
        json!({"kind": "status", "status": 500}),
        json!({"kind": "drop"}),
        json!({"kind": "latency", "millis": 1500}),
        json!({"kind": "non_json", "status": 502}),
        json!({"kind": "non_json", "status": 200}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_login_survives_transient_failures_of_the_token_poll() {
    let mut env = Env::start().await;
    env.extra_env
        .push(("LINK_HTTP_TIMEOUT".into(), "0.5".into()));
    let first = env.json(&["auth", "login", "--interval", "0"]).await.ok();
    let phrase = first["phrase"].as_str().unwrap().to_owned();
    for fault in transient_faults() {
        fault_token_poll(&env, fault.clone(), 1).await;
        let run = env.json(&["auth", "status"]).await;
        assert_eq!(run.code, 1, "{fault}: {run:?}");
        assert_eq!(run.json()["pending"], true, "{fault}: {run:?}");
        assert!(
            env.session_path().exists(),
            "{fault}: the pending login was deleted"
        );
        let pending = env.json(&["auth", "status"]).await.ok();
        assert_eq!(pending["pending"], true, "{fault}: {pending}");
        assert_eq!(pending["phrase"], first["phrase"], "{fault}");
    }
    env.link.control().approve_device(&phrase).await.unwrap();
    let status = env.json(&["auth", "status"]).await.ok();
    assert_eq!(status["authenticated"], true, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_status_interval_polls_on_through_transient_failures() {
    let mut env = Env::start().await;
    env.extra_env
        .push(("LINK_HTTP_TIMEOUT".into(), "0.5".into()));
    let first = env.json(&["auth", "login", "--interval", "0"]).await.ok();
    env.link
        .control()
        .approve_device(first["phrase"].as_str().unwrap())
        .await
        .unwrap();
    fault_token_poll(&env, json!({"kind": "status", "status": 503}), 1).await;
    fault_token_poll(&env, json!({"kind": "drop"}), 1).await;
    fault_token_poll(&env, json!({"kind": "non_json", "status": 502}), 1).await;
    let status = env
        .json(&["auth", "status", "--interval", "0.05", "--timeout", "10"])
        .await
        .ok();
    assert_eq!(status["authenticated"], true, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_login_polls_on_through_a_transient_failure() {
    let env = Env::start().await;
    let mut login = env.spawn(&["auth", "login", "--interval", "0.05", "--timeout", "10"]);
    let phrase = login.next_json().await["phrase"]
        .as_str()
        .unwrap()
        .to_owned();
    fault_token_poll(&env, json!({"kind": "status", "status": 503}), 2).await;
    env.link.control().approve_device(&phrase).await.unwrap();
    let (code, rest) = login.finish().await;
    assert_eq!(code, 0, "{rest:?}");
    assert_eq!(rest.last().unwrap()["authenticated"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_denied_expired_or_unknown_codes_end_a_pending_login() {
    let env = Env::start().await;
    // Denied.
    let first = env.json(&["auth", "login", "--interval", "0"]).await.ok();
    env.link
        .control()
        .deny_device(first["phrase"].as_str().unwrap())
        .await
        .unwrap();
    env.json(&["auth", "status"]).await.error("ACCESS_DENIED");
    assert!(!env.session_path().exists());
    // Expired.
    let first = env.json(&["auth", "login", "--interval", "0"]).await.ok();
    env.link
        .control()
        .expire_device(first["phrase"].as_str().unwrap())
        .await
        .unwrap();
    env.json(&["auth", "status"]).await.error("LOGIN_EXPIRED");
    assert!(!env.session_path().exists());
    // A code Link no longer knows (invalid_grant).
    env.json(&["auth", "login", "--interval", "0"]).await.ok();
    let mut session: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.session_path()).unwrap()).unwrap();
    session["pending_login"]["device_code"] = json!("unknown_device_code");
    std::fs::write(env.session_path(), session.to_string()).unwrap();
    let run = env
        .json(&["auth", "status", "--interval", "0.05", "--timeout", "5"])
        .await;
    run.error("LOGIN_EXPIRED");
    assert!(!env.session_path().exists());
}

/// Whether `token` still works at Link's API.
async fn token_works(env: &Env, token: &str) -> bool {
    reqwest::Client::new()
        .get(format!("{}/userinfo", env.link.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .is_success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_whose_revocation_fails_keeps_the_session_and_exits_1() {
    let mut env = Env::start().await;
    env.extra_env
        .push(("LINK_HTTP_TIMEOUT".into(), "0.5".into()));
    env.login().await;
    let session: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.session_path()).unwrap()).unwrap();
    let token = session["access_token"].as_str().unwrap().to_owned();
    for fault in [
        json!({"kind": "status", "status": 503}),
        json!({"kind": "drop"}),
        json!({"kind": "non_json", "status": 502}),
    ] {
        // (A latency fault is left out: mock-link revokes once the delay is
        // over, so the token would die after the client gave up.)
        // One retry is allowed: both tries fail.
        env.arm_fault(json!({"path": "/device/revoke", "count": 2, "fault": fault}))
            .await;
        let run = env.json(&["auth", "logout"]).await;
        let e = run.error("REVOKE_FAILED");
        assert_eq!(e["retryable"], true, "{fault}: {e}");
        assert!(!run.stdout.contains(&token), "{fault}: token leaked");
        assert!(env.session_path().exists(), "{fault}: session forgotten");
        assert!(token_works(&env, &token).await, "{fault}");
        assert_eq!(
            env.json(&["auth", "status"]).await.ok()["authenticated"],
            true
        );
        env.link.control().http_delete("/faults").await.unwrap();
    }
    // One failure is retried; then the logout goes through.
    env.arm_fault(
        json!({"path": "/device/revoke", "count": 1, "fault": {"kind": "status", "status": 503}}),
    )
    .await;
    let out = env.json(&["auth", "logout"]).await.ok();
    assert_eq!(out["revoked"], true);
    assert!(!env.session_path().exists());
    assert!(!token_works(&env, &token).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_whose_polling_runs_out_under_failures_is_finished_by_auth_status() {
    let mut env = Env::start().await;
    env.extra_env
        .push(("LINK_HTTP_TIMEOUT".into(), "0.5".into()));
    fault_token_poll(&env, json!({"kind": "status", "status": 503}), 1000).await;
    let mut login = env.spawn(&["auth", "login", "--interval", "0.05", "--timeout", "1"]);
    let phrase = login.next_json().await["phrase"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, rest) = login.finish().await;
    assert_eq!(code, 1);
    let e = rest.last().unwrap();
    assert_eq!(e["code"], "POLLING_TIMEOUT", "{e}");
    assert_eq!(e["pending"], true, "{e}");
    assert_eq!(e["last_error"]["code"], "SERVER_ERROR", "{e}");
    // Link recovers, the user approves: the same login finishes.
    env.link.control().http_delete("/faults").await.unwrap();
    env.link.control().approve_device(&phrase).await.unwrap();
    let status = env.json(&["auth", "status"]).await.ok();
    assert_eq!(status["authenticated"], true, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_forgets_the_session_only_when_link_refuses_the_refresh_token() {
    let mut env = Env::start().await;
    env.extra_env
        .push(("LINK_HTTP_TIMEOUT".into(), "0.5".into()));
    env.login().await;
    let session: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.session_path()).unwrap()).unwrap();
    env.link
        .control()
        .post("/tokens/expire", json!({"token": session["access_token"]}))
        .await
        .unwrap();
    // The refresh fails for reasons that say nothing about the refresh token.
    for fault in [
        json!({"kind": "status", "status": 503}),
        json!({"kind": "status", "status": 429}),
        json!({"kind": "drop"}),
        json!({"kind": "non_json", "status": 404}),
        json!({"kind": "non_json", "status": 200}),
    ] {
        fault_token_poll(&env, fault.clone(), 1).await;
        let run = env.json(&["payment-methods", "list"]).await;
        assert_eq!(run.code, 1, "{fault}: {run:?}");
        assert!(
            env.session_path().exists(),
            "{fault}: the session was forgotten"
        );
    }
    // The refresh token still works.
    env.json(&["payment-methods", "list"]).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_that_loses_the_race_to_another_process_keeps_its_tokens() {
    let env = Env::start().await;
    let first = env.json(&["auth", "login", "--interval", "0"]).await.ok();
    env.link
        .control()
        .approve_device(first["phrase"].as_str().unwrap())
        .await
        .unwrap();
    // Process A's poll is held at Link; process B redeems the code meanwhile.
    fault_token_poll(&env, json!({"kind": "latency", "millis": 1500}), 1).await;
    let slow = env.spawn(&["auth", "status"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let armed = env.link.control().get("/faults").await.unwrap();
        if armed["data"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "A never polled");
        tokio::task::yield_now().await;
    }
    let b = env.json(&["auth", "status"]).await.ok();
    assert_eq!(b["authenticated"], true);
    // A then hears that the code was already used: it must not delete B's tokens.
    let (code, rest) = slow.finish().await;
    assert_eq!(code, 1);
    assert_eq!(rest.last().unwrap()["code"], "LOGIN_EXPIRED");
    let status = env.json(&["auth", "status"]).await.ok();
    assert_eq!(status["authenticated"], true, "{status}");
}
