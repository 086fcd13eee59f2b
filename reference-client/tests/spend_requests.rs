//! payment methods and spend requests (PM-*, SR-*, PAY-01, PAY-02).

mod common;

use common::{Env, context};
use mock_link::Resolution;
use mock_link::passes_luhn;

async fn logged_in() -> Env {
    let env = Env::start().await;
    env.login().await;
    env
}

fn card_args(amount: &str) -> Vec<String> {
    [
        "spend-request",
        "create",
        "--amount",
        amount,
        "--merchant-name",
        "Example Times",
        "--merchant-url",
        "https://times.example",
        "--context",
        &context(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

async fn create(env: &Env, extra: &[&str]) -> serde_json::Value {
    create_for(env, "1500", extra).await
}

async fn create_for(env: &Env, amount: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = card_args(amount);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    env.json(&refs).await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_methods_have_exactly_one_default_and_add_gives_a_url() {
    let env = logged_in().await;
    let methods = env.json(&["payment-methods", "list"]).await.ok();
    let defaults = methods
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["is_default"] == true)
        .count();
    assert_eq!(defaults, 1);
    let add = env.json(&["payment-methods", "add"]).await.ok();
    assert!(
        add["url"]
            .as_str()
            .unwrap()
            .starts_with(env.link.base_url())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_wallet_gives_no_payment_method() {
    let env = Env::start().await;
    env.link
        .control()
        .create_user(serde_json::json!({"id": "usr_empty", "payment_methods": []}))
        .await
        .unwrap();
    let first = env.json(&["auth", "login", "--interval", "0"]).await.ok();
    env.link
        .control()
        .approve_device_as(first["phrase"].as_str().unwrap(), "usr_empty")
        .await
        .unwrap();
    env.json(&["auth", "status"]).await.ok();
    assert_eq!(
        env.json(&["payment-methods", "list"]).await.ok(),
        serde_json::json!([])
    );
    let args = card_args("1500");
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    env.json(&refs).await.error("NO_PAYMENT_METHOD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_request_with_approval_is_pending_with_a_next_command() {
    let env = logged_in().await;
    let request = create(&env, &["--request-approval"]).await;
    assert_eq!(request["status"], "pending_approval");
    assert!(
        request["approval_url"]
            .as_str()
            .unwrap()
            .starts_with("http")
    );
    let id = request["id"].as_str().unwrap();
    assert_eq!(
        request["_next"]["command"],
        format!("spend-request retrieve {id} --interval 2 --max-attempts 300")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_flags_fail_before_any_request() {
    let env = logged_in().await;
    let before = env.request_paths().await.len();
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "--amount",
                "1500",
                "--context",
                "too short",
                "--merchant-name",
                "A",
                "--merchant-url",
                "https://a.example",
            ],
            "VALIDATION_ERROR",
        ),
        (
            &[
                "--amount",
                "-5",
                "--context",
                &context(),
                "--merchant-name",
                "A",
                "--merchant-url",
                "https://a.example",
            ],
            "VALIDATION_ERROR",
        ),
        (
            &[
                "--amount",
                "ten",
                "--context",
                &context(),
                "--merchant-name",
                "A",
                "--merchant-url",
                "https://a.example",
            ],
            "VALIDATION_ERROR",
        ),
        (
            &[
                "--amount",
                "1500",
                "--context",
                &context(),
                "--credential-type",
                "cash",
                "--merchant-name",
                "A",
                "--merchant-url",
                "https://a.example",
            ],
            "VALIDATION_ERROR",
        ),
        (
            &[
                "--amount",
                "1500",
                "--context",
                &context(),
                "--credential-type",
                "shared_payment_token",
                "--network-id",
                "profile_x",
                "--merchant-name",
                "A",
            ],
            "VALIDATION_ERROR",
        ),
        (
            &[
                "--amount",
                "1500",
                "--context",
                &context(),
                "--credential-type",
                "shared_payment_token",
            ],
            "VALIDATION_ERROR",
        ),
    ];
    for (flags, code) in cases {
        let mut args = vec!["spend-request", "create"];
        args.extend_from_slice(flags);
        env.json(&args).await.error(code);
    }
    assert_eq!(
        env.request_paths().await.len(),
        before,
        "nothing reached Link"
    );
    env.json(&["spend-request", "create", "--no-such-flag"])
        .await
        .error("INVALID_INPUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_ends_with_the_approved_request_and_its_card() {
    let env = logged_in().await;
    let id = create(&env, &["--request-approval"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let poll = env.spawn(&[
        "spend-request",
        "retrieve",
        &id,
        "--interval",
        "0.05",
        "--include",
        "card",
        "--max-attempts",
        "400",
    ]);
    env.link.control().approve_spend_request(&id).await.unwrap();
    let (code, values) = poll.finish().await;
    assert_eq!(code, 0);
    let approved = values.last().unwrap();
    assert_eq!(approved["status"], "approved");
    let card = &approved["card"];
    assert!(passes_luhn(card["number"].as_str().unwrap()), "{card}");
    for key in [
        "cvc",
        "exp_month",
        "exp_year",
        "billing_address",
        "valid_until",
    ] {
        assert!(!card[key].is_null(), "card lacks {key}: {card}");
    }
    // Human output masks the number.
    let human = env
        .run(&["spend-request", "retrieve", &id, "--include", "card"])
        .await;
    assert_eq!(human.code, 0);
    assert!(!human.stdout.contains(card["number"].as_str().unwrap()));
    assert!(
        human
            .stdout
            .contains(&card["number"].as_str().unwrap()[12..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_requests_end_polling_without_a_card() {
    let env = logged_in().await;
    let id = create(&env, &["--request-approval"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = env
        .json(&["spend-request", "retrieve", &id, "--include", "card"])
        .await
        .ok();
    assert!(before["card"].is_null(), "no card before approval");
    env.link.control().deny_spend_request(&id).await.unwrap();
    let denied = env
        .json(&[
            "spend-request",
            "retrieve",
            &id,
            "--include",
            "card",
            "--interval",
            "0.05",
        ])
        .await
        .ok();
    assert_eq!(denied["status"], "denied");
    assert!(denied["card"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_requests_are_terminal() {
    let env = logged_in().await;
    let id = create(&env, &["--request-approval"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.link.control().expire_spend_request(&id).await.unwrap();
    let expired = env
        .json(&["spend-request", "retrieve", &id, "--interval", "0.05"])
        .await
        .ok();
    assert_eq!(expired["status"], "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_that_runs_out_is_a_retryable_timeout() {
    let env = logged_in().await;
    let id = create(&env, &["--request-approval"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let e = env
        .json(&[
            "spend-request",
            "retrieve",
            &id,
            "--interval",
            "0.01",
            "--max-attempts",
            "3",
        ])
        .await
        .error("POLLING_TIMEOUT");
    assert_eq!(e["retryable"], true);
    let polls = env
        .request_paths()
        .await
        .iter()
        .filter(|p| p.ends_with(&id))
        .count();
    assert_eq!(polls, 3);
    // Polling again later still works.
    env.link.control().approve_spend_request(&id).await.unwrap();
    let approved = env
        .json(&[
            "spend-request",
            "retrieve",
            &id,
            "--interval",
            "0.01",
            "--timeout",
            "5",
        ])
        .await
        .ok();
    assert_eq!(approved["status"], "approved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_approval_gives_a_link_and_a_next_command() {
    let env = logged_in().await;
    let id = create(&env, &[]).await["id"].as_str().unwrap().to_owned();
    let out = env
        .json(&["spend-request", "request-approval", &id])
        .await
        .ok();
    assert_eq!(out["id"], id.as_str());
    assert!(out["approval_link"].as_str().unwrap().starts_with("http"));
    assert!(out["_next"]["command"].as_str().unwrap().contains(&id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_changes_a_request_before_approval_only() {
    let env = logged_in().await;
    let id = create(&env, &[]).await["id"].as_str().unwrap().to_owned();
    let updated = env
        .json(&[
            "spend-request",
            "update",
            &id,
            "--amount",
            "2000",
            "--line-item",
            r#"{"name":"Tea","quantity":2,"unit_amount":1000}"#,
        ])
        .await
        .ok();
    assert_eq!(updated["amount"], 2000);
    assert_eq!(updated["line_items"][0]["name"], "Tea");
    env.json(&["spend-request", "request-approval", &id])
        .await
        .ok();
    env.link.control().approve_spend_request(&id).await.unwrap();
    env.json(&["spend-request", "update", &id, "--amount", "3000"])
        .await
        .error("VALIDATION_ERROR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requires_action_polls_through_3ds_and_stops_otherwise() {
    let env = logged_in().await;
    let id = create(&env, &["--request-approval"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.link
        .control()
        .require_action(&id, Resolution::AutoResume)
        .await
        .unwrap();
    let poll = env.spawn(&[
        "spend-request",
        "retrieve",
        &id,
        "--interval",
        "0.05",
        "--max-attempts",
        "400",
    ]);
    env.link.control().complete_action(&id).await.unwrap();
    env.link.control().approve_spend_request(&id).await.ok();
    let (code, values) = poll.finish().await;
    assert_eq!(code, 0);
    assert_eq!(values.last().unwrap()["status"], "approved");

    let other = create_for(&env, "1700", &["--request-approval"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.link
        .control()
        .require_action(&other, Resolution::CreateNewSpendRequest)
        .await
        .unwrap();
    let stopped = env
        .json(&[
            "spend-request",
            "retrieve",
            &other,
            "--interval",
            "0.05",
            "--max-attempts",
            "50",
        ])
        .await
        .ok();
    assert_eq!(stopped["status"], "requires_action");
    assert!(
        stopped["_next"]["message"]
            .as_str()
            .unwrap()
            .contains("create a new spend request")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_live_request_is_rate_limited_naming_the_first() {
    let env = logged_in().await;
    let first = create(&env, &["--request-approval"]).await;
    let mut args = card_args("1500");
    args.push("--request-approval".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let e = env.json(&refs).await.error("spend_request_rate_limited");
    assert_eq!(e["duplicate_spend_request"]["id"], first["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_list_with_and_without_history() {
    let env = logged_in().await;
    let kept = create(&env, &[]).await["id"].as_str().unwrap().to_owned();
    let gone = create_for(&env, "999", &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let canceled = env.json(&["spend-request", "cancel", &gone]).await.ok();
    assert_eq!(canceled["status"], "canceled");
    let ids = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let live = ids(env.json(&["spend-request", "list"]).await.ok());
    assert!(live.contains(&kept) && !live.contains(&gone));
    let all = ids(env
        .json(&["spend-request", "list", "--include-history"])
        .await
        .ok());
    assert!(all.contains(&kept) && all.contains(&gone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_mode_and_output_file() {
    let env = logged_in().await;
    let request = create(&env, &["--request-approval", "--test"]).await;
    assert_eq!(request["test"], true);
    let id = request["id"].as_str().unwrap().to_owned();
    env.link.control().approve_spend_request(&id).await.unwrap();
    let file = env.home.path().join("card.json");
    let file_arg = file.to_str().unwrap();
    let shown = env
        .json(&[
            "spend-request",
            "retrieve",
            &id,
            "--include",
            "card",
            "--output-file",
            file_arg,
        ])
        .await
        .ok();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(passes_luhn(saved["card"]["number"].as_str().unwrap()));
    assert_ne!(
        shown["card"]["number"], saved["card"]["number"],
        "the printed copy is masked"
    );
    env.json(&[
        "spend-request",
        "retrieve",
        &id,
        "--include",
        "card",
        "--output-file",
        file_arg,
    ])
    .await
    .error("OUTPUT_FILE_EXISTS");
    env.json(&[
        "spend-request",
        "retrieve",
        &id,
        "--include",
        "card",
        "--output-file",
        file_arg,
        "--force",
    ])
    .await
    .ok();
    let unwritable = env.home.path().join("no/such/dir/card.json");
    env.json(&[
        "spend-request",
        "retrieve",
        &id,
        "--output-file",
        unwritable.to_str().unwrap(),
    ])
    .await
    .error("OUTPUT_FILE_WRITE_ERROR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_requests_are_not_found_and_user_commands_work() {
    let env = logged_in().await;
    env.json(&["spend-request", "retrieve", "lsrq_doesnotexist"])
        .await
        .error("NOT_FOUND");
    env.json(&["spend-request", "retrieve", "../etc"])
        .await
        .error("INVALID_INPUT");
    let me = env.json(&["user-info", "retrieve"]).await.ok();
    assert!(me["email"].as_str().unwrap().contains('@'));
    let addresses = env.json(&["shipping-address", "list"]).await.ok();
    assert!(!addresses.as_array().unwrap().is_empty(), "{addresses}");
}

/// The body of the last `POST /spend_requests` that reached mock-link.
async fn last_create_body(env: &Env) -> serde_json::Value {
    let log = env.link.control().received_requests().await.unwrap();
    log.iter()
        .rev()
        .find(|r| r.method == "POST" && r.path == "/spend_requests")
        .map(|r| r.body.clone())
        .expect("a create reached Link")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_1x_create_terms_travel_as_body_fields() {
    let env = logged_in().await;
    let expires_at = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400)
        .to_string();
    let mut args = card_args("1500");
    args.extend(
        [
            "--idempotency-key",
            "order-42",
            "--expires-at",
            &expires_at,
            "--recurring-interval",
            "month",
            "--recurring-interval-count",
            "3",
            "--format",
            "json",
        ]
        .map(String::from),
    );
    // Whether Link honours `expires_at` for this client is Link's call (SR-16):
    // what the client must get right is the body.
    env.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let body = last_create_body(&env).await;
    assert_eq!(body["idempotency_key"], "order-42", "{body}");
    assert_eq!(body["expires_at"].as_u64().unwrap().to_string(), expires_at);
    assert_eq!(
        body["recurring"],
        serde_json::json!({"interval": "month", "interval_count": 3})
    );

    // A count without its interval is refused before anything reaches Link.
    let before = env.request_paths().await.len();
    let mut args = card_args("1500");
    args.extend(["--recurring-interval-count", "2"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let e = env.json(&refs).await.error("INVALID_INPUT");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("recurring-interval"),
        "{e}"
    );
    assert_eq!(env.request_paths().await.len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_method_retrieve_and_update_name_the_method_in_the_path() {
    let env = logged_in().await;
    env.json(&["payment-methods", "retrieve", "csmrpd_nobody_has"])
        .await
        .error("NOT_FOUND");
    env.json(&[
        "payment-methods",
        "update",
        "csmrpd_nobody_has",
        "--nickname",
        "Travel",
    ])
    .await
    .error("NOT_FOUND");
    let log = env.link.control().received_requests().await.unwrap();
    let update = log
        .iter()
        .rev()
        .find(|r| r.method == "POST" && r.path == "/payment-details/csmrpd_nobody_has")
        .expect("the update reached Link");
    assert_eq!(update.body, serde_json::json!({"nickname": "Travel"}));
    assert!(
        log.iter()
            .any(|r| r.method == "GET" && r.path == "/payment-details/csmrpd_nobody_has")
    );

    // An id that would change the path is refused before any request.
    let before = env.request_paths().await.len();
    env.json(&["payment-methods", "retrieve", "../spend_requests"])
        .await
        .error("INVALID_INPUT");
    assert_eq!(env.request_paths().await.len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_method_is_retrieved_renamed_and_listed_with_its_nickname() {
    let env = logged_in().await;
    let methods = env.json(&["payment-methods", "list"]).await.ok();
    let id = methods[0]["id"].as_str().unwrap().to_owned();
    let method = env.json(&["payment-methods", "retrieve", &id]).await.ok();
    assert_eq!(method["id"], id.as_str());
    let renamed = env
        .json(&[
            "payment-methods",
            "update",
            &id,
            "--nickname",
            "Travel card",
        ])
        .await
        .ok();
    assert_eq!(renamed["nickname"], "Travel card", "{renamed}");
    let listed = env.json(&["payment-methods", "list"]).await.ok();
    let shown = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id.as_str())
        .unwrap();
    assert_eq!(shown["nickname"], "Travel card");
    // An empty nickname clears it.
    let cleared = env
        .json(&["payment-methods", "update", &id, "--nickname", ""])
        .await
        .ok();
    assert!(cleared["nickname"].is_null(), "{cleared}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_retried_with_its_idempotency_key_gives_the_same_request() {
    let env = logged_in().await;
    let first = create(&env, &["--idempotency-key", "retry-1"]).await;
    let again = create(&env, &["--idempotency-key", "retry-1"]).await;
    assert_eq!(first["id"], again["id"]);
    let listed = env.json(&["spend-request", "list"]).await.ok();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    // Another body under the same key is Link's error, passed on.
    let mut args = card_args("2500");
    args.extend(["--idempotency-key", "retry-1"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = env.json(&refs).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.json()["code"].is_string());
}

/// Arms `count` faults on GET of the spend request `id`.
async fn fault_retrieve(env: &Env, id: &str, fault: serde_json::Value, count: u32) {
    env.arm_fault(serde_json::json!({"method": "GET", "path": format!("/spend_requests/{id}"), "count": count, "fault": fault})).await;
}

fn polls_of(paths: &[String], id: &str) -> usize {
    paths.iter().filter(|p| p.ends_with(id)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_retries_transient_failures_within_its_bounds() {
    let mut env = logged_in().await;
    env.extra_env
        .push(("LINK_HTTP_TIMEOUT".into(), "0.5".into()));
    let id = create(&env, &["--request-approval"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.link.control().approve_spend_request(&id).await.unwrap();
    // Each transient failure is retried: the poll ends with the request.
    for fault in [
        serde_json::json!({"kind": "status", "status": 503}),
        serde_json::json!({"kind": "status", "status": 429}),
        serde_json::json!({"kind": "drop"}),
        serde_json::json!({"kind": "non_json", "status": 502}),
        serde_json::json!({"kind": "latency", "millis": 1500}),
    ] {
        fault_retrieve(&env, &id, fault, 1).await;
    }
    let approved = env
        .json(&[
            "spend-request",
            "retrieve",
            &id,
            "--interval",
            "0.05",
            "--timeout",
            "20",
        ])
        .await
        .ok();
    assert_eq!(approved["status"], "approved");
    // Every fault was used up, so the command polled through all five.
    let armed = env.link.control().get("/faults").await.unwrap();
    assert_eq!(armed["data"].as_array().map(Vec::len), Some(0), "{armed}");

    // Failures that go on: POLLING_TIMEOUT when the time runs out, naming the last failure.
    fault_retrieve(
        &env,
        &id,
        serde_json::json!({"kind": "status", "status": 503}),
        1000,
    )
    .await;
    let started = std::time::Instant::now();
    let e = env
        .json(&[
            "spend-request",
            "retrieve",
            &id,
            "--interval",
            "0.05",
            "--timeout",
            "1",
        ])
        .await
        .error("POLLING_TIMEOUT");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e["retryable"], true);
    assert_eq!(e["last_error"]["code"], "SERVER_ERROR", "{e}");
    // ... or when the attempts run out.
    let before = polls_of(&env.request_paths().await, &id);
    env.json(&[
        "spend-request",
        "retrieve",
        &id,
        "--interval",
        "0.01",
        "--max-attempts",
        "3",
    ])
    .await
    .error("POLLING_TIMEOUT");
    assert_eq!(polls_of(&env.request_paths().await, &id) - before, 3);
    env.link.control().http_delete("/faults").await.unwrap();

    // A failure that is not transient ends the polling at once.
    fault_retrieve(
        &env,
        &id,
        serde_json::json!({"kind": "status", "status": 404}),
        1,
    )
    .await;
    let before = polls_of(&env.request_paths().await, &id);
    env.json(&[
        "spend-request",
        "retrieve",
        &id,
        "--interval",
        "0.01",
        "--timeout",
        "5",
    ])
    .await
    .error("NOT_FOUND");
    assert_eq!(polls_of(&env.request_paths().await, &id) - before, 1);
}
