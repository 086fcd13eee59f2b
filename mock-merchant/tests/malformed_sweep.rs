//! A malformed-input sweep over every route and method of mock-link and of
//! mock-merchant: bad JSON, wrong content types, undecodable and oversized bodies,
//! bad query strings, missing or bad credentials, and methods a route does not
//! serve. No answer is a 5xx (bar the documented `GET /m/plain/error`), every 4xx
//! carries a JSON body (bar mock-link's human pages, which answer HTML to a person),
//! and both servers still answer afterwards.

mod common;

use std::future::Future;

use common::Env;
use reqwest::{Method, StatusCode};

/// Larger than every body limit of both servers (256 KiB to 2 MiB).
const OVERSIZED: usize = 2 * 1024 * 1024 + 1024;

/// mock-link's routes and methods, as its router (`server.rs`, `control.rs`,
/// `pages.rs`) declares them. `{sr}` is a live spend request; reset comes last so the
/// sweep keeps its state until then.
const LINK_ROUTES: &[(&str, &[&str])] = &[
    ("/device/code", &["POST"]),
    ("/device/token", &["POST"]),
    ("/device/revoke", &["POST"]),
    ("/spend_requests", &["GET", "POST"]),
    ("/spend_requests/create_delegated", &["POST"]),
    ("/spend_requests/{sr}", &["GET", "POST"]),
    ("/spend_requests/{sr}/cancel", &["POST"]),
    ("/spend_requests/{sr}/update_delegated", &["POST"]),
    ("/spend_requests/{sr}/request_approval", &["POST"]),
    ("/payment-details", &["GET"]),
    ("/payment-details/csmrpd_default_visa", &["GET", "POST"]),
    ("/userinfo", &["GET"]),
    ("/approval-policy", &["GET"]),
    ("/insights", &["GET"]),
    ("/insights/available_types", &["GET"]),
    ("/shipping_addresses", &["GET"]),
    ("/sources", &["GET"]),
    ("/balances", &["GET"]),
    ("/transactions", &["GET"]),
    ("/agent_observations", &["POST"]),
    ("/v1/payment_intents", &["POST"]),
    ("/v1/payment_intents/pi_unknown", &["GET"]),
    ("/v1/shared_payment/granted_tokens/spt_unknown", &["GET"]),
    ("/v1/test_helpers/shared_payment/granted_tokens", &["POST"]),
    (
        "/v1/test_helpers/shared_payment/granted_tokens/spt_unknown/revoke",
        &["POST"],
    ),
    ("/verify", &["GET", "POST"]),
    ("/approve/{sr}", &["GET", "POST"]),
    ("/three_d_secure/{sr}", &["GET", "POST"]),
    ("/verify-account", &["GET", "POST"]),
    ("/payment-methods/add", &["GET", "POST"]),
    ("/wallet", &["GET"]),
    ("/", &["GET"]),
    ("/dashboard/live", &["GET"]),
    ("/assets/mock-link.css", &["GET"]),
    ("/__control/clock", &["GET"]),
    ("/__control/clock/advance", &["POST"]),
    ("/__control/device_codes", &["GET"]),
    ("/__control/device_codes/approve", &["POST"]),
    ("/__control/device_codes/deny", &["POST"]),
    ("/__control/device_codes/expire", &["POST"]),
    ("/__control/spend_requests/{sr}", &["GET"]),
    ("/__control/spend_requests/{sr}/approve", &["POST"]),
    ("/__control/spend_requests/{sr}/spt_delay", &["POST"]),
    ("/__control/faults", &["GET", "POST", "DELETE"]),
    ("/__control/scripts", &["GET"]),
    ("/__control/scripts/device_codes", &["POST"]),
    ("/__control/scripts/spend_requests", &["POST"]),
    ("/__control/spend_requests/{sr}/script", &["POST"]),
    ("/__control/magic", &["GET"]),
    ("/__control/settings", &["GET", "POST"]),
    ("/__control/agent_observations", &["GET"]),
    ("/__control/requests", &["GET"]),
    ("/__control/ledger", &["GET"]),
    ("/__control/seed", &["POST"]),
    ("/__control/users", &["GET", "POST"]),
    ("/__control/users/usr_default/payment_methods", &["POST"]),
    (
        "/__control/users/usr_default/approval_policy",
        &["POST", "DELETE"],
    ),
    ("/__control/merchants", &["POST"]),
    ("/__control/tokens", &["GET", "POST"]),
    ("/__control/tokens/revoke", &["POST"]),
    ("/__control/tokens/expire", &["POST"]),
    ("/__control/reset", &["POST"]),
];

/// mock-link's human pages answer bad input with an HTML page (docs/mock-link.md).
const LINK_HTML_PAGES: &[&str] = &[
    "/verify",
    "/approve/",
    "/three_d_secure/",
    "/verify-account",
    "/payment-methods/add",
    "/wallet",
];

/// mock-merchant's routes besides the paid ones (`mock_merchant::PAID`, which
/// serve every method), as its router (`server.rs`) declares them.
const MERCHANT_ROUTES: &[(&str, &[&str])] = &[
    ("/", &["GET"]),
    ("/assets/mock-merchant.css", &["GET"]),
    ("/openapi.json", &["GET"]),
    ("/m/api/openapi.json", &["GET"]),
    ("/m/api/free", &["GET"]),
    ("/m/mcp", &["POST"]),
    ("/m/plain/ok", &["GET"]),
    ("/m/plain/error", &["GET"]),
    ("/m/redirects/same-origin", &["GET"]),
    ("/m/redirects/cross-origin", &["GET"]),
    ("/m/hostile/mutations", &["GET"]),
    ("/m/hostile/mutation/no-such-mutation", &["GET"]),
    ("/m/hostile/huge-header", &["GET"]),
    ("/m/hostile/many-fields", &["GET"]),
    ("/m/hostile/control-chars", &["GET"]),
    ("/m/hostile/control-chars-ok", &["GET"]),
    ("/m/card-shop", &["GET"]),
    ("/m/card-shop/", &["GET"]),
    ("/m/card-shop/checkout", &["GET", "POST"]),
    ("/m/card-shop/agents.txt", &["GET"]),
    ("/m/card-shop/llm.txt", &["GET"]),
    ("/m/collector/collect", &["POST"]),
    ("/__control/ledger", &["GET"]),
    ("/__control/clock", &["GET"]),
    ("/__control/clock/advance", &["POST"]),
    ("/__control/knobs", &["GET"]),
    ("/__control/merchants/api/knobs", &["GET", "PUT", "DELETE"]),
    ("/__control/reset", &["POST"]),
];

/// The documented 5xx: the plain merchant always fails on `GET /m/plain/error`.
const MERCHANT_DOCUMENTED_500: (&str, &str) = ("GET", "/m/plain/error");

const ALL_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// One malformed request: a query suffix, content type and body.
struct Variant {
    name: &'static str,
    query: String,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
}

fn variants() -> Vec<Variant> {
    let variant = |name, query: &str, content_type, body: Option<&[u8]>| Variant {
        name,
        query: query.to_owned(),
        content_type,
        body: body.map(<[u8]>::to_vec),
    };
    vec![
        variant("empty", "", None, None),
        variant(
            "truncated JSON",
            "",
            Some("application/json"),
            Some(br#"{"amount": "#),
        ),
        variant(
            "JSON of the wrong shape",
            "",
            Some("application/json"),
            Some(br#"[1, {"amount": -1e999}, null]"#),
        ),
        variant("JSON as text/plain", "", Some("text/plain"), Some(b"{}")),
        variant(
            "broken form",
            "",
            Some("application/x-www-form-urlencoded"),
            Some(b"a=%zz&&=&amount[]=x&amount=-1"),
        ),
        variant(
            "bytes that are not UTF-8",
            "",
            Some("application/json"),
            Some(&[0xff, 0xfe, 0x00, 0x80, b'{']),
        ),
        variant(
            "a bad query string",
            "?%zz=%ff&limit=-1&limit=abc&include[]=&&=&starting_after=%00",
            None,
            None,
        ),
        Variant {
            name: "a 16 KiB query",
            query: format!("?q={}", "a%20".repeat(4096)),
            content_type: None,
            body: None,
        },
    ]
}

/// A body over every limit, sent only where a route reads bodies: a route that
/// answers without reading may close the connection under a client still sending.
fn oversized() -> Variant {
    Variant {
        name: "an oversized body",
        query: String::new(),
        content_type: Some("application/json"),
        body: Some(vec![b' '; OVERSIZED]),
    }
}

/// One answer that broke the rules, described for the failure message.
struct Finding(String);

/// What one check found.
enum Outcome {
    Fine,
    /// An oversized request's connection closed before its answer was read.
    Closed,
    Finding(String),
}

struct Sweep {
    http: reqwest::Client,
    /// For oversized bodies: a connection the server may close is never pooled and
    /// reused by the next request.
    unpooled: reqwest::Client,
    requests: usize,
    findings: Vec<Finding>,
    /// Oversized requests whose connection closed before the answer was read.
    closed: usize,
    /// Whether a 4xx must carry JSON (not only "no 5xx, still alive").
    json_4xx: bool,
}

impl Sweep {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            unpooled: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            requests: 0,
            findings: Vec::new(),
            closed: 0,
            json_4xx: true,
        }
    }

    /// One request and the check of its answer: below 500 unless `may_fail`, and a
    /// JSON body on every 4xx unless `html_ok`. The request is built now and sent
    /// when the returned future runs, so a route's requests can run together.
    fn check(
        &self,
        method: &str,
        url: &str,
        variant: &Variant,
        authorization: Option<&str>,
        (may_fail, html_ok): (bool, bool),
    ) -> impl Future<Output = Outcome> + Send + use<> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let oversized = variant.body.as_ref().is_some_and(|b| b.len() >= OVERSIZED);
        let client = if oversized {
            &self.unpooled
        } else {
            &self.http
        };
        let mut request = client.request(method.clone(), format!("{url}{}", variant.query));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if let Some(content_type) = variant.content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = &variant.body {
            request = request.body(body.clone());
        }
        let credentials = if authorization.is_some() {
            "credentials"
        } else {
            "no credentials"
        };
        let what = format!("{method} {url} with {} ({credentials})", variant.name);
        let json_4xx = self.json_4xx;
        async move {
            let response = match request.send().await {
                Ok(response) => response,
                // A server may answer an oversized body early and close the connection
                // while the client is still sending it; the client then sees no answer.
                // That is fine as long as the server stays up (checked at the end).
                Err(_) if oversized => return Outcome::Closed,
                Err(error) => return Outcome::Finding(format!("{what}: no answer: {error}")),
            };
            let status = response.status();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let text = response.text().await.unwrap_or_default();
            if status.is_server_error() && !may_fail {
                return Outcome::Finding(format!("{what}: {status} {text:.200}"));
            }
            if status.is_client_error() && json_4xx {
                let is_json = content_type.contains("json")
                    && serde_json::from_str::<serde_json::Value>(&text).is_ok();
                let is_html = content_type.starts_with("text/html");
                if !(is_json || html_ok && is_html) {
                    return Outcome::Finding(format!(
                        "{what}: {status} with a {content_type:?} body {text:.200}"
                    ));
                }
            }
            Outcome::Fine
        }
    }

    /// Runs `checks` together and tallies them.
    async fn run(&mut self, checks: Vec<impl Future<Output = Outcome> + Send + 'static>) {
        let tasks: Vec<_> = checks.into_iter().map(tokio::spawn).collect();
        for task in tasks {
            self.requests += 1;
            match task.await.expect("a check panicked") {
                Outcome::Fine => {}
                Outcome::Closed => self.closed += 1,
                Outcome::Finding(finding) => self.findings.push(Finding(finding)),
            }
        }
    }

    /// Every variant with and without `authorization` on each declared method, then
    /// every other method once.
    async fn route(
        &mut self,
        url: &str,
        methods: &[&str],
        authorization: &str,
        may_fail: impl Fn(&str) -> bool,
        html_ok: bool,
    ) {
        let mut checks = Vec::new();
        for method in methods {
            for variant in &variants() {
                for auth in [None, Some(authorization)] {
                    let allowed = (may_fail(method), html_ok);
                    checks.push(self.check(method, url, variant, auth, allowed));
                }
            }
        }
        let empty = &variants()[0];
        for method in ALL_METHODS.iter().filter(|m| !methods.contains(m)) {
            checks.push(self.check(method, url, empty, Some(authorization), (false, html_ok)));
        }
        self.run(checks).await;
    }

    /// The oversized body, with credentials, on each method of the route that reads a body.
    async fn oversized(&mut self, url: &str, methods: &[&str], authorization: &str, html_ok: bool) {
        let checks = methods
            .iter()
            .filter(|m| **m != "GET")
            .map(|method| {
                self.check(
                    method,
                    url,
                    &oversized(),
                    Some(authorization),
                    (false, html_ok),
                )
            })
            .collect();
        self.run(checks).await;
    }

    fn assert_clean(&self, server: &str) {
        let findings: Vec<&str> = self.findings.iter().map(|f| f.0.as_str()).collect();
        assert!(
            findings.is_empty(),
            "{} of {} requests to {server} broke the rules:\n{}",
            findings.len(),
            self.requests,
            findings.join("\n")
        );
    }
}

/// A pending SPT spend request of the token's user; returns its id. Amounts differ\n/// per call: mock-link refuses an identical open request.
async fn pending_spend_request(env: &Env, access_token: &str, amount: usize) -> String {
    let created: serde_json::Value = env
        .http
        .post(format!("{}/spend_requests", env.link.base_url()))
        .bearer_auth(access_token)
        .json(&serde_json::json!({
            "payment_details": "csmrpd_default_visa",
            "credential_type": "shared_payment_token",
            "network_id": mock_merchant::DEFAULT_NETWORK_ID,
            "amount": amount,
            "currency": "usd",
            "context": common::CONTEXT,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned()
}

/// Asserts `url` still answers 200 with JSON, on a new connection.
async fn assert_alive(url: &str) {
    let response = reqwest::Client::new()
        .get(url)
        .send()
        .await
        .expect("still answering");
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.json::<serde_json::Value>().await.expect("JSON");
}

/// Sweeps every mock-link route with the malformed variants, or with the oversized body.
async fn sweep_link(env: &Env, sweep: &mut Sweep, oversized_only: bool) {
    let link = &env.link;
    for (index, (path, methods)) in LINK_ROUTES.iter().enumerate() {
        // A fresh session and spend request per route: an earlier route may have
        // revoked tokens or moved the request on.
        let access_token =
            link.control().issue_tokens("usr_default").await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
        let spend_request = pending_spend_request(env, &access_token, 1000 + index).await;
        let authorization = if path.starts_with("/v1/") {
            "Bearer sk_test_mock_merchant".to_owned()
        } else {
            format!("Bearer {access_token}")
        };
        let path = path.replace("{sr}", &spend_request);
        let html_ok = LINK_HTML_PAGES.iter().any(|page| path.starts_with(page));
        let url = format!("{}{path}", link.base_url());
        if oversized_only {
            sweep
                .oversized(&url, methods, &authorization, html_ok)
                .await;
        } else {
            sweep
                .route(&url, methods, &authorization, |_| false, html_ok)
                .await;
        }
    }
}

/// Sweeps every mock-merchant route with the malformed variants, or with the oversized body.
async fn sweep_merchant(env: &Env, sweep: &mut Sweep, oversized_only: bool) {
    // A credential that decodes to JSON but is no credential at all.
    let authorization = "Payment e30";
    let paid = mock_merchant::PAID
        .iter()
        .map(|spec| (spec.path, ALL_METHODS));
    // The paid routes last: each refusal adds a ledger entry with the full URL, and
    // `GET /__control/ledger` answers them all.
    for (path, methods) in MERCHANT_ROUTES.iter().copied().chain(paid) {
        let url = format!("{}{path}", env.merchant.base_url());
        let may_fail = |method: &str| (method, path) == MERCHANT_DOCUMENTED_500;
        if oversized_only {
            sweep.oversized(&url, methods, authorization, false).await;
        } else {
            sweep
                .route(&url, methods, authorization, may_fail, false)
                .await;
        }
    }
}

fn merchant_route_count() -> usize {
    mock_merchant::PAID.len() + MERCHANT_ROUTES.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mock_link_route_answers_malformed_input_with_a_4xx_json_error() {
    let env = Env::start().await;
    let mut sweep = Sweep::new();
    sweep_link(&env, &mut sweep, false).await;
    sweep_link(&env, &mut sweep, true).await;
    eprintln!(
        "malformed-input sweep: {} requests over {} mock-link routes ({} oversized closed early)",
        sweep.requests,
        LINK_ROUTES.len(),
        sweep.closed
    );
    sweep.assert_clean("mock-link");
    assert_alive(&format!("{}/__control/clock", env.link.base_url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mock_merchant_route_answers_malformed_input_with_a_4xx_json_error() {
    let env = Env::start().await;
    let mut sweep = Sweep::new();
    sweep_merchant(&env, &mut sweep, false).await;
    // Oversized bodies: no 5xx and no crash here; their JSON bodies are checked below.
    sweep.json_4xx = false;
    sweep_merchant(&env, &mut sweep, true).await;
    eprintln!(
        "malformed-input sweep: {} requests over {} mock-merchant routes ({} oversized closed early)",
        sweep.requests,
        merchant_route_count(),
        sweep.closed
    );
    sweep.assert_clean("mock-merchant");
    assert_alive(&format!("{}/__control/clock", env.merchant.base_url())).await;
    assert_alive(&format!("{}/__control/clock", env.link.base_url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_at_every_mock_merchant_route_get_a_413_json_problem() {
    let env = Env::start().await;
    let mut sweep = Sweep::new();
    sweep_merchant(&env, &mut sweep, true).await;
    sweep.assert_clean("mock-merchant");
}
