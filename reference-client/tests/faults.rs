//! link-ref under every fault kind mock-link can inject: exactly one JSON
//! error, exit 1, never past its timeout (issue 14, ERR-02).

mod common;

use std::time::{Duration, Instant};

use common::{Env, Run, context};
use serde_json::{Value, json};

/// `LINK_HTTP_TIMEOUT` for these runs.
const HTTP_TIMEOUT: Duration = Duration::from_millis(500);
/// What a run may take beyond its timeouts: process start, a cold TLS setup, a busy CI machine.
const SLACK: Duration = Duration::from_millis(2500);

/// Every fault kind, each with the latency beyond `HTTP_TIMEOUT`.
fn every_fault() -> Vec<Value> {
    vec![
        json!({"kind": "status", "status": 500}),
        json!({"kind": "status", "status": 502}),
        json!({"kind": "status", "status": 503}),
        json!({"kind": "status", "status": 504}),
        json!({"kind": "status", "status": 429}),
        json!({"kind": "latency", "millis": 2000}),
        json!({"kind": "drop"}),
        json!({"kind": "non_json", "status": null}),
        json!({"kind": "non_json", "status": 200}),
        json!({"kind": "non_json", "status": 404}),
    ]
}

/// Arms `fault` on every Link route for the next `count` calls.
async fn arm(env: &Env, fault: &Value, count: u32) {
    env.arm_fault(json!({"path": "/*", "count": count, "fault": fault}))
        .await;
}

/// Asserts one JSON error object on stdout, nothing else, exit 1; returns it.
fn one_json_error(run: &Run, what: &str) -> Value {
    assert_eq!(run.code, 1, "{what}: {run:?}");
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "{what}: not exactly one line: {run:?}");
    let error: Value = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {run:?}"));
    assert!(
        error["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{what}: {error}"
    );
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {error}"
    );
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
    error
}

async fn faulted_env() -> Env {
    let mut env = Env::start().await;
    env.login().await;
    env.extra_env.push((
        "LINK_HTTP_TIMEOUT".into(),
        HTTP_TIMEOUT.as_secs_f64().to_string(),
    ));
    env
}

/// The id of a spend request created (before any fault is armed) and waiting for approval.
async fn pending_request(env: &Env) -> String {
    env.json(&[
        "spend-request",
        "create",
        "--amount",
        "1500",
        "--merchant-name",
        "Example Times",
        "--merchant-url",
        "https://times.example",
        "--context",
        &context(),
        "--request-approval",
    ])
    .await
    .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_on_a_data_command_is_one_json_error_within_the_timeout() {
    let env = faulted_env().await;
    let id = pending_request(&env).await;
    let context = context();
    let commands: Vec<Vec<&str>> = vec![
        vec!["payment-methods", "list"],
        vec!["spend-request", "retrieve", &id],
        vec!["spend-request", "list"],
        vec!["user-info", "retrieve"],
        vec![
            "spend-request",
            "create",
            "--amount",
            "900",
            "--merchant-name",
            "Shop",
            "--merchant-url",
            "https://shop.example",
            "--context",
            &context,
        ],
    ];
    for fault in every_fault() {
        for args in &commands {
            let what = format!("{} under {fault}", args.join(" "));
            arm(&env, &fault, 1).await;
            let started = Instant::now();
            let run = env.json(args).await;
            let took = started.elapsed();
            one_json_error(&run, &what);
            assert!(took < HTTP_TIMEOUT + SLACK, "{what}: took {took:?}");
            env.link.control().http_delete("/faults").await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_under_every_lasting_fault_ends_at_its_timeout() {
    let env = faulted_env().await;
    let id = pending_request(&env).await;
    let timeout = Duration::from_secs(1);
    for fault in every_fault() {
        let what = format!("retrieve --interval under {fault}");
        arm(&env, &fault, 1000).await;
        let started = Instant::now();
        let run = env
            .json(&[
                "spend-request",
                "retrieve",
                &id,
                "--interval",
                "0.05",
                "--timeout",
                &timeout.as_secs_f64().to_string(),
            ])
            .await;
        let took = started.elapsed();
        let error = one_json_error(&run, &what);
        // A request in flight when the timeout comes may run its own timeout out.
        assert!(
            took < timeout + HTTP_TIMEOUT + SLACK,
            "{what}: took {took:?}"
        );
        if error["retryable"] == true {
            assert_eq!(error["code"], "POLLING_TIMEOUT", "{what}: {error}");
        }
        env.link.control().http_delete("/faults").await.unwrap();
    }
}
