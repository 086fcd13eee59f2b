//! mpp decode and mpp pay against mock-merchant and mock-link (MER-*, PAY-*, SAFE-*, ERR-03).

mod common;

use common::{Env, Run, Stub, context, stripe_challenge};
use mock_merchant::MockMerchant;
use mpp_testkit::Expectation;
use serde_json::Value;

struct Shop {
    env: Env,
    shop: MockMerchant,
}

async fn shop() -> Shop {
    let env = Env::start().await;
    env.login().await;
    let shop = MockMerchant::builder()
        .link(env.link.base_url())
        .start()
        .await
        .expect("merchant starts");
    Shop { env, shop }
}

impl Shop {
    /// `mpp pay <url>` without a spend request: approves the request it
    /// creates, returns the exit code and what followed the created request.
    async fn pay_approving(&self, url: &str) -> (i32, Vec<Value>) {
        let mut pay = self.env.spawn(&[
            "mpp",
            "pay",
            url,
            "--interval",
            "0.05",
            "--max-attempts",
            "400",
        ]);
        let created = pay.next_json().await;
        assert_eq!(created["status"], "pending_approval", "{created}");
        self.env
            .link
            .control()
            .approve_spend_request(created["id"].as_str().unwrap())
            .await
            .unwrap();
        pay.finish().await
    }

    /// Creates an SPT spend request for `network` and `amount` with approval
    /// requested (plus `extra` flags); returns its id.
    async fn create_spt(&self, network: &str, amount: &str, extra: &[&str]) -> String {
        let context = context();
        let mut args = vec![
            "spend-request",
            "create",
            "--credential-type",
            "shared_payment_token",
            "--network-id",
            network,
            "--amount",
            amount,
            "--context",
            &context,
            "--request-approval",
        ];
        args.extend_from_slice(extra);
        let created = self.env.json(&args).await.ok();
        created["id"].as_str().unwrap().to_owned()
    }

    /// An approved SPT spend request for `network` and `amount`.
    async fn approved_spt(&self, network: &str, amount: &str) -> String {
        let id = self.create_spt(network, amount, &[]).await;
        self.env
            .link
            .control()
            .approve_spend_request(&id)
            .await
            .unwrap();
        id
    }

    /// `link-ref mpp pay URL --spend-request-id ID`.
    async fn pay(&self, id: &str, url: &str) -> Run {
        self.env
            .json(&["mpp", "pay", url, "--spend-request-id", id])
            .await
    }

    fn events(&self, merchant: &str, event: &str) -> usize {
        self.shop
            .ledger_of(merchant)
            .iter()
            .filter(|e| e.event == event)
            .count()
    }

    async fn redemptions(&self) -> usize {
        let ledger = self.env.link.control().ledger().await.unwrap();
        ledger.iter().filter(|e| e.event == "redeemed").count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decode_agrees_with_every_corpus_case() {
    let env = Env::start().await;
    let corpus = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mpp-testkit/corpus/decode.jsonl"
    ))
    .unwrap();
    let mut checked = 0;
    for case in mpp_testkit::corpus::from_jsonl(&corpus).unwrap() {
        // Arguments are UTF-8 strings of at most 128 KiB each (the OS limit): the
        // Latin-1 and oversized cases are covered by mpp-wire's own tests.
        let Some(headers) = &case.headers else {
            continue;
        };
        if headers.iter().any(|h| h.len() > 100_000) {
            continue;
        }
        let mut args = vec!["mpp", "decode"];
        for h in headers {
            args.extend(["--challenge", h.as_str()]);
        }
        let run = env.json(&args).await;
        match &case.expect {
            Expectation::Accept {
                id,
                network_id,
                intent,
                ..
            } => {
                let out = run.ok();
                assert_eq!(out["network_id"], network_id.as_str(), "{}", case.name);
                assert_eq!(out["id"], id.as_str(), "{}", case.name);
                assert_eq!(out["intent"], intent.as_str(), "{}", case.name);
                assert_eq!(out["method"], "stripe");
                assert!(out["request_json"].is_object());
            }
            Expectation::Reject { code, field } => {
                let expected = if code.starts_with("no_") {
                    "NO_STRIPE_CHALLENGE"
                } else {
                    "INVALID_CHALLENGE"
                };
                let e = run.error(expected);
                if let Some(field) = field {
                    assert_eq!(e["field"], field.as_str(), "{}", case.name);
                    assert!(
                        e["message"].as_str().unwrap().contains(field.as_str()),
                        "{}",
                        case.name
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} cases checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pays_a_402_with_an_approved_spt_exactly_once() {
    let s = shop().await;
    let url = s.shop.url("api", "/report");
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    let paid = s.pay(&id, &url).await.ok();
    assert_eq!(paid["status"], 200);
    assert_eq!(paid["receipt"]["status"], "success");
    assert!(
        paid["receipt"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("pi_")
    );
    assert_eq!(s.events("api", "paid"), 1);
    assert_eq!(s.redemptions().await, 1, "redeemed at Link exactly once");

    // The same spend request again: its token is used up; the documented
    // recovery is a new spend request, and nothing reaches the merchant.
    let e = s.pay(&id, &url).await.error("SPEND_REQUEST_NOT_APPROVED");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("create a new spend request"),
        "{e}"
    );
    assert_eq!(s.events("api", "credential_received"), 1);
    assert_eq!(s.events("api", "paid"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_card_and_unapproved_requests_before_sending_a_credential() {
    let s = shop().await;
    let url = s.shop.url("api", "/report");
    let card = s
        .env
        .json(&[
            "spend-request",
            "create",
            "--amount",
            "2500",
            "--merchant-name",
            "Shop",
            "--merchant-url",
            "https://shop.example",
            "--context",
            &context(),
            "--request-approval",
        ])
        .await
        .ok();
    let card_id = card["id"].as_str().unwrap();
    s.env
        .link
        .control()
        .approve_spend_request(card_id)
        .await
        .unwrap();
    s.env
        .json(&["mpp", "pay", &url, "--spend-request-id", card_id])
        .await
        .error("WRONG_CREDENTIAL_TYPE");

    let pending = s.create_spt("profile_mock_merchant", "2500", &[]).await;
    s.env
        .json(&["mpp", "pay", &url, "--spend-request-id", &pending])
        .await
        .error("SPEND_REQUEST_NOT_APPROVED");
    assert_eq!(
        s.events("api", "credential_received"),
        0,
        "no credential was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_non_402_answers_through() {
    let s = shop().await;
    let ok = s
        .env
        .json(&["mpp", "pay", &s.shop.url("plain", "/ok")])
        .await
        .ok();
    assert_eq!(ok["status"], 200);
    let error = s
        .env
        .json(&["mpp", "pay", &s.shop.url("plain", "/error")])
        .await
        .ok();
    assert_eq!(error["status"], 500);
    assert!(error["body"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_retry_carries_the_same_body_and_headers() {
    let s = shop().await;
    let id = s.approved_spt("profile_mock_merchant", "4200").await;
    let body = r#"{"sku":"tea","quantity":2}"#;
    let paid = s
        .env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("api", "/orders"),
            "--spend-request-id",
            &id,
            "--data",
            body,
            "--header",
            "X-Order-Ref: abc-123",
        ])
        .await
        .ok();
    assert_eq!(paid["status"], 200, "{paid}");
    let received: Value = match &paid["body"]["received_body"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    assert_eq!(received, serde_json::from_str::<Value>(body).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_without_a_spend_request_id() {
    let s = shop().await;
    let url = s.shop.url("api", "/report");
    let mut pay = s.env.spawn(&[
        "mpp",
        "pay",
        &url,
        "--interval",
        "0.05",
        "--max-attempts",
        "400",
    ]);
    let created = pay.next_json().await;
    assert_eq!(created["status"], "pending_approval");
    assert_eq!(created["credential_type"], "shared_payment_token");
    assert_eq!(created["network_id"], "profile_mock_merchant");
    assert_eq!(created["amount"], 2500);
    s.env
        .link
        .control()
        .approve_spend_request(created["id"].as_str().unwrap())
        .await
        .unwrap();
    let (code, rest) = pay.finish().await;
    assert_eq!(code, 0, "{rest:?}");
    assert_eq!(rest.last().unwrap()["status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_stripe_challenge_is_not_supported_and_creates_nothing() {
    let s = shop().await;
    let before = s.env.request_paths().await.len();
    s.env
        .json(&["mpp", "pay", &s.shop.url("no-stripe", "/report")])
        .await
        .error("NO_STRIPE_CHALLENGE");
    assert_eq!(
        s.env.request_paths().await.len(),
        before,
        "nothing created at Link"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_follows_a_cross_origin_redirect_with_or_before_a_credential() {
    let s = shop().await;
    s.env
        .json(&["mpp", "pay", &s.shop.url("redirects", "/cross-origin")])
        .await
        .error("CROSS_ORIGIN_REDIRECT");
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    s.env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("redirects", "/paid-retry-cross-origin"),
            "--spend-request-id",
            &id,
        ])
        .await
        .error("REDIRECT_REFUSED");
    assert_eq!(s.redemptions().await, 0, "the SPT was not redeemed");
    assert_eq!(s.events("api", "credential_received"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_only_while_probing() {
    let s = shop().await;
    // The whole flow probes (redirects followed in the origin) and pays the
    // URL that answered 402.
    let (code, rest) = s
        .pay_approving(&s.shop.url("redirects", "/same-origin"))
        .await;
    assert_eq!(code, 0, "{rest:?}");
    assert_eq!(rest.last().unwrap()["status"], 200);
    assert_eq!(s.events("api", "paid"), 1);

    // With an approved spend request the URL is pinned: a redirect there, or
    // on the paid retry even within the origin, is refused.
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    let e = s
        .env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("redirects", "/same-origin"),
            "--spend-request-id",
            &id,
        ])
        .await
        .error("REDIRECT_REFUSED");
    assert_eq!(e["status"], 302, "{e}");
    let e = s
        .env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("redirects", "/paid-retry-same-origin"),
            "--spend-request-id",
            &id,
        ])
        .await
        .error("REDIRECT_REFUSED");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("refusing to forward the payment credential"),
        "{e}"
    );
    assert_eq!(s.redemptions().await, 1, "only the whole flow's payment");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_of_the_re_probe_after_approval_is_refused() {
    let s = shop().await;
    let challenge = stripe_challenge("c1", "2500", "");
    let stub = Stub::start(vec![
        (402, vec![("www-authenticate", challenge)]),
        (307, vec![("location", "/elsewhere".to_owned())]),
    ])
    .await;
    let (code, rest) = s.pay_approving(&format!("{}/buy", stub.url)).await;
    assert_eq!(code, 1);
    assert_eq!(rest.last().unwrap()["code"], "REDIRECT_REFUSED", "{rest:?}");
    assert_eq!(
        stub.requests(),
        2,
        "the probe and the re-probe, nothing after"
    );
    assert_eq!(stub.credentials_received(), 0);
    assert_eq!(s.redemptions().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_host_is_refused_before_any_request() {
    let s = shop().await;
    let before = s.env.request_paths().await.len();
    let e = s
        .env
        .json(&["mpp", "pay", "http://shop.invalid/report"])
        .await
        .error("INVALID_INPUT");
    assert!(
        e["message"].as_str().unwrap().contains("require HTTPS"),
        "{e}"
    );
    assert_eq!(s.env.request_paths().await.len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_whose_terms_changed_after_approval_is_refused() {
    let s = shop().await;
    // Every pinned field (1.x: all but id and expires) is refused...
    for change in [
        "amount",
        "currency",
        "network_id",
        "intent",
        "realm",
        "payment_method_types",
        "digest",
        "opaque",
        "header",
        "description",
    ] {
        let url = format!(
            "{}?change={change}",
            s.shop.url("changing-terms", "/report")
        );
        let (code, rest) = s.pay_approving(&url).await;
        assert_eq!(code, 1, "{change}: {rest:?}");
        assert_eq!(rest.last().unwrap()["code"], "TERMS_CHANGED", "{change}");
    }
    assert_eq!(s.redemptions().await, 0);
    assert_eq!(s.events("changing-terms", "credential_received"), 0);

    // ...while a new id and expiry, or the same request with its keys in
    // another order, are paid.
    for change in ["benign", "key_order"] {
        let url = format!(
            "{}?change={change}",
            s.shop.url("changing-terms", "/report")
        );
        let (code, rest) = s.pay_approving(&url).await;
        assert_eq!(code, 0, "{change}: {rest:?}");
        assert_eq!(rest.last().unwrap()["status"], 200, "{change}");
    }
}

/// Starts the whole flow on `url`, lets it hand over (one poll of a pending
/// request), then the user approves: returns the hand-over `_next`.
async fn hand_over(s: &Shop, url: &str) -> Value {
    let run = s
        .env
        .json(&[
            "mpp",
            "pay",
            url,
            "--interval",
            "0.01",
            "--max-attempts",
            "1",
        ])
        .await;
    let values = run.values();
    assert_eq!(values.last().unwrap()["code"], "POLLING_TIMEOUT", "{run:?}");
    let created = &values[0];
    s.env
        .link
        .control()
        .approve_spend_request(created["id"].as_str().unwrap())
        .await
        .unwrap();
    created["_next"].clone()
}

fn argv(next: &Value) -> Vec<String> {
    assert_eq!(next["pay_argv"]["command"], "mpp");
    let mut args: Vec<String> = vec!["mpp".into()];
    args.extend(
        next["pay_argv"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned()),
    );
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_hands_over_a_pinned_pay_argv() {
    let s = shop().await;
    // Through a redirect: the hand-over pays the URL that answered 402.
    let next = hand_over(&s, &s.shop.url("redirects", "/same-origin")).await;
    assert!(
        next["poll_command"]
            .as_str()
            .unwrap()
            .starts_with("spend-request retrieve ")
    );
    assert!(
        next["pay_command"]
            .as_str()
            .unwrap()
            .starts_with("mpp pay ")
    );
    let args = argv(&next);
    assert_eq!(args[2], s.shop.url("api", "/report"), "{args:?}");
    assert!(args.contains(&"--approved-challenge".to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let paid = s.env.json(&refs).await.ok();
    assert_eq!(paid["status"], 200, "{paid}");
    assert_eq!(s.redemptions().await, 1);

    // The merchant changed its price between the two runs: refused, unpaid.
    let url = format!("{}?change=amount", s.shop.url("changing-terms", "/report"));
    let args = argv(&hand_over(&s, &url).await);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    s.env.json(&refs).await.error("TERMS_CHANGED");
    assert_eq!(s.events("changing-terms", "credential_received"), 0);
    assert_eq!(s.redemptions().await, 1);

    // An approved challenge that is not one is refused before any request.
    let before = s.env.request_paths().await.len();
    s.env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("api", "/report"),
            "--spend-request-id",
            "lsrq_x",
            "--approved-challenge",
            "Bearer realm=x",
        ])
        .await
        .error("INVALID_INPUT");
    assert_eq!(s.env.request_paths().await.len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amount_flag_that_differs_from_the_challenge_is_refused() {
    let s = shop().await;
    let before = s.env.request_paths().await.len();
    s.env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("api", "/report"),
            "--amount",
            "100",
        ])
        .await
        .error("AMOUNT_MISMATCH");
    assert_eq!(s.env.request_paths().await.len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_goes_in_the_named_header_and_replaces_a_caller_authorization() {
    let s = shop().await;
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    let paid = s
        .env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("credential-header", "/report"),
            "--spend-request-id",
            &id,
            "--header",
            "Authorization: Bearer app-token",
        ])
        .await
        .ok();
    assert_eq!(paid["status"], 200, "{paid}");

    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    let paid = s
        .env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("api", "/report"),
            "--spend-request-id",
            &id,
            "--header",
            "Authorization: Bearer stale",
        ])
        .await
        .ok();
    assert_eq!(
        paid["status"], 200,
        "a Bearer beside the credential would be two Authorization values: {paid}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_spt_is_never_sent_to_another_network() {
    let s = shop().await;
    let id = s.approved_spt("profile_someone_else", "2500").await;
    s.env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("api", "/report"),
            "--spend-request-id",
            &id,
        ])
        .await
        .error("NETWORK_MISMATCH");
    assert_eq!(s.events("api", "credential_received"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_control_characters_from_a_merchant_are_stripped() {
    let s = shop().await;
    for path in ["/control-chars", "/control-chars-ok"] {
        // The 402 starts the whole flow: one poll, then POLLING_TIMEOUT; what
        // was printed on the way (the spend request, built from the merchant's
        // description) must be clean too.
        let run = s
            .env
            .json(&[
                "mpp",
                "pay",
                &s.shop.url("hostile", path),
                "--interval",
                "0.01",
                "--max-attempts",
                "1",
            ])
            .await;
        assert!(!run.stdout.is_empty());
        let printed = &run.stdout;
        assert!(
            !printed
                .chars()
                .any(|c| c == '\u{1b}' || c == '\u{9b}' || c == '\u{9d}' || c == '\u{7}'),
            "{path}: {printed:?}"
        );
        // The JSON escapes of those characters must not be there either.
        for escape in ["\\u001b", "\\u009b", "\\u009d", "\\u0007"] {
            assert!(!printed.contains(escape), "{path}: {printed}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_issuer_declines_is_not_payable() {
    let s = shop().await;
    let id = s
        .create_spt(
            "profile_mock_merchant",
            "2500",
            &["--payment-method-id", "csmrpd_magic_decline"],
        )
        .await;
    let approved = s.env.json(&["spend-request", "retrieve", &id]).await.ok();
    assert_eq!(approved["status"], "approved", "{approved}");
    let e = s
        .env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("api", "/report"),
            "--spend-request-id",
            &id,
        ])
        .await
        .error("NOT_PAYABLE");
    assert_eq!(e["status"], 402);
    assert!(
        e["problem"]
            .as_str()
            .unwrap()
            .ends_with("verification-failed"),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("create a new one"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_challenge_is_never_paid() {
    let env = Env::start().await;
    env.login().await;
    let shop = MockMerchant::builder()
        .link(env.link.base_url())
        .challenge_lifetime(std::time::Duration::ZERO)
        .start()
        .await
        .unwrap();
    let before = env.request_paths().await.len();
    env.json(&["mpp", "pay", &shop.url("api", "/report")])
        .await
        .error("CHALLENGE_EXPIRED");
    assert_eq!(
        env.request_paths().await.len(),
        before,
        "nothing created at Link"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_minted_after_approval_is_retrieved_again_then_paid_once() {
    let mut s = shop().await;
    s.env.extra_env.push((
        "LINK_SPT_RETRY_DELAYS".into(),
        "0,0.2,0.2,0.2,0.2,0.2".into(),
    ));
    let url = s.shop.url("api", "/report");
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    // Link shows the token 0.5 s (on its clock) from now: the first retrieval
    // finds none, a later one finds it.
    s.env
        .link
        .control()
        .post(
            &format!("/spend_requests/{id}/spt_delay"),
            serde_json::json!({"seconds": 0.5}),
        )
        .await
        .unwrap();
    let paid = s.pay(&id, &url).await.ok();
    assert_eq!(paid["status"], 200, "{paid}");
    let retrievals = s
        .env
        .request_paths()
        .await
        .iter()
        .filter(|p| *p == &format!("GET /spend_requests/{id}"))
        .count();
    assert!(retrievals >= 2, "retrieved {retrievals} times");
    assert_eq!(s.events("api", "credential_received"), 1);
    assert_eq!(s.redemptions().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_never_comes_stops_the_payment_without_a_credential() {
    let mut s = shop().await;
    s.env
        .extra_env
        .push(("LINK_SPT_RETRY_DELAYS".into(), "0,0.05,0.05".into()));
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    s.env
        .link
        .control()
        .post(
            &format!("/spend_requests/{id}/spt_delay"),
            serde_json::json!({"seconds": 600}),
        )
        .await
        .unwrap();
    let e = s
        .env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("api", "/report"),
            "--spend-request-id",
            &id,
        ])
        .await
        .error("SPT_UNAVAILABLE");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed to retrieve shared payment token"),
        "{e}"
    );
    assert_eq!(e["retryable"], true);
    assert_eq!(s.events("api", "credential_received"), 0);
    assert_eq!(s.redemptions().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_naming_another_credential_header_is_refused_with_nothing_sent() {
    let s = shop().await;
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    let challenge = stripe_challenge("c1", "2500", r#", header="X-Payment""#);
    let stub = Stub::start(vec![(402, vec![("www-authenticate", challenge)])]).await;
    let url = format!("{}/buy", stub.url);
    let before = s.env.request_paths().await.len();
    let e = s.pay(&id, &url).await.error("INVALID_CHALLENGE");
    assert_eq!(e["field"], "header", "{e}");
    // The whole flow creates nothing either.
    s.env
        .json(&["mpp", "pay", &url])
        .await
        .error("INVALID_CHALLENGE");
    assert_eq!(s.env.request_paths().await.len(), before, "nothing at Link");
    assert_eq!(stub.requests(), 2, "only the two probes");
    assert_eq!(stub.credentials_received(), 0);
    assert_eq!(s.redemptions().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_authorization_carries_the_credential_and_keeps_the_callers_authorization() {
    let s = shop().await;
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    let challenge = stripe_challenge("c1", "2500", r#", header="Payment-Authorization""#);
    let stub = Stub::start(vec![
        (402, vec![("www-authenticate", challenge)]),
        (200, vec![]),
    ])
    .await;
    let paid = s
        .env
        .json(&[
            "mpp",
            "pay",
            &format!("{}/buy", stub.url),
            "--spend-request-id",
            &id,
            "--header",
            "Authorization: Bearer app-token",
        ])
        .await
        .ok();
    assert_eq!(paid["status"], 200, "{paid}");
    let seen = stub.seen.lock().unwrap().clone();
    let retry = &seen.last().unwrap().2;
    let values = |name: &str| -> Vec<&str> {
        retry
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(values("authorization"), ["Bearer app-token"]);
    let credential = values("payment-authorization");
    assert_eq!(credential.len(), 1);
    assert!(credential[0].starts_with("Payment "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_merchant_redirect_knobs_after_approval_are_refused() {
    let s = shop().await;
    let knobs = |value: Value| serde_json::from_value::<mock_merchant::Knobs>(value).unwrap();
    // The re-probe after approval is redirected within the origin.
    s.shop.set_knobs(
        "api",
        knobs(serde_json::json!({"redirect_reprobe": {"to": "same-origin", "status": 307}})),
    );
    let (code, rest) = s.pay_approving(&s.shop.url("api", "/report")).await;
    assert_eq!(code, 1);
    assert_eq!(rest.last().unwrap()["code"], "REDIRECT_REFUSED", "{rest:?}");
    assert_eq!(s.events("api", "credential_received"), 0);
    assert_eq!(s.events("redirects", "credential_received"), 0);

    // The paid retry is redirected: the credential went only to the URL that
    // answered 402, and the redirect is not followed with it.
    s.shop.set_knobs(
        "api",
        knobs(serde_json::json!({"redirect_paid_retry": {"to": "same-origin", "status": 302}})),
    );
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    s.env
        .json(&[
            "mpp",
            "pay",
            &s.shop.url("api", "/report"),
            "--spend-request-id",
            &id,
        ])
        .await
        .error("REDIRECT_REFUSED");
    assert_eq!(s.events("api", "credential_received"), 1);
    assert_eq!(s.events("redirects", "credential_received"), 0);
    assert_eq!(s.redemptions().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_merchants_hand_over_is_clean_and_still_matches_its_challenge() {
    let s = shop().await;
    let next = hand_over(&s, &s.shop.url("hostile", "/control-chars")).await;
    let printed = next.to_string();
    for escape in ["\\u001b", "\\u009b", "\\u009d", "\\u0007"] {
        assert!(!printed.contains(escape), "{printed}");
    }
    let args = argv(&next);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = s.env.json(&refs).await;
    // The hostile route never settles; what matters is that the cleaned
    // approved challenge still matches the merchant's (pinning passed, the
    // payment was attempted).
    assert_eq!(run.json()["code"], "NOT_PAYABLE", "{run:?}");
}

/// Asserts the error of a payment whose outcome is unknown: the credential
/// went out with the spend request's token, and the agent is told so.
fn assert_outcome_unknown(e: &Value, id: &str) {
    assert_eq!(e["credential_sent"], true, "{e}");
    assert_eq!(e["spend_request_id"], id, "{e}");
    assert_eq!(e["retryable"], false, "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("may not have completed"), "{message}");
    assert!(!e.to_string().contains("spt_"), "the token leaked: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_failure_after_the_credential_was_sent_is_an_unknown_outcome() {
    let mut s = shop().await;
    let url = s.shop.url("api", "/report");
    // The merchant's settlement at Link fails: the merchant answers 5xx.
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    s.env.arm_fault(serde_json::json!({"method": "POST", "path": "/v1/payment_intents", "fault": {"kind": "status", "status": 503}})).await;
    let e = s.pay(&id, &url).await.error("PAYMENT_OUTCOME_UNKNOWN");
    assert_outcome_unknown(&e, &id);
    assert!(e["status"].as_u64().is_some_and(|st| st >= 500), "{e}");
    assert!(e["body"].is_object() || e["body"].is_string(), "{e}");
    assert_eq!(s.events("api", "credential_received"), 1);

    // The merchant answers so late that the client gives up: the credential was sent.
    s.env
        .extra_env
        .push(("LINK_HTTP_TIMEOUT".into(), "0.5".into()));
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    s.env.arm_fault(serde_json::json!({"method": "POST", "path": "/v1/payment_intents", "fault": {"kind": "latency", "millis": 1500}})).await;
    let e = s.pay(&id, &url).await.error("PAYMENT_OUTCOME_UNKNOWN");
    assert_outcome_unknown(&e, &id);
    assert!(e["status"].is_null(), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_502_from_the_paid_retry_is_an_unknown_outcome_and_a_500_before_paying_is_passed_through()
{
    let s = shop().await;
    let id = s.approved_spt("profile_mock_merchant", "2500").await;
    let stub = Stub::start(vec![
        (
            402,
            vec![("www-authenticate", stripe_challenge("ch_1", "2500", ""))],
        ),
        (502, vec![]),
    ])
    .await;
    let e = s
        .env
        .json(&[
            "mpp",
            "pay",
            &format!("{}/paid", stub.url),
            "--spend-request-id",
            &id,
        ])
        .await
        .error("PAYMENT_OUTCOME_UNKNOWN");
    assert_outcome_unknown(&e, &id);
    assert_eq!(e["status"], 502);
    assert_eq!(stub.credentials_received(), 1);
    // Before any credential, a 5xx is the merchant's answer, passed through.
    let plain = s
        .env
        .json(&["mpp", "pay", &s.shop.url("plain", "/error")])
        .await
        .ok();
    assert_eq!(plain["status"], 500);
}
