//! `--state PATH`: sessions, spend requests, credentials and the SPT ledger survive a restart
//! of the library server and a SIGKILL of the binary under load.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Api, CLIENT_ID, DEVICE_GRANT, card_request, read, spt_request, with};
use mock_link::{LedgerEntry, MockLink};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

const SECRET_KEY: &str = "sk_test_mock_merchant";

async fn start_on(path: &Path) -> MockLink {
    MockLink::builder()
        .device_poll_interval(Duration::ZERO)
        .state(path)
        .start()
        .await
        .expect("mock-link starts on its state database")
}

/// Logs in through the device flow; answers (access token, refresh token).
async fn device_login(link: &MockLink) -> (String, String) {
    let http = reqwest::Client::new();
    let (_, code) = read(
        http.post(format!("{}/device/code", link.base_url()))
            .form(&[("client_id", CLIENT_ID)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    link.control()
        .approve_device(code["user_code"].as_str().unwrap())
        .await
        .unwrap();
    let (status, tokens) = read(
        http.post(format!("{}/device/token", link.base_url()))
            .form(&[
                ("grant_type", DEVICE_GRANT),
                ("device_code", code["device_code"].as_str().unwrap()),
                ("client_id", CLIENT_ID),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = |name: &str| tokens[name].as_str().unwrap().to_owned();
    (token("access_token"), token("refresh_token"))
}

/// The form a merchant sends to redeem `spt` for `amount`.
fn redeem_form(spt: &str, amount: i64) -> Vec<(&'static str, String)> {
    vec![
        ("amount", amount.to_string()),
        ("currency", "usd".to_owned()),
        ("shared_payment_granted_token", spt.to_owned()),
        ("confirm", "true".to_owned()),
    ]
}

async fn redeem(
    http: &reqwest::Client,
    base_url: &str,
    spt: &str,
    amount: i64,
) -> reqwest::Result<(StatusCode, Value)> {
    let response = http
        .post(format!("{base_url}/v1/payment_intents"))
        .bearer_auth(SECRET_KEY)
        .form(&redeem_form(spt, amount))
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.json().await?))
}

/// How many times the ledger says each SPT was redeemed.
fn redemptions(ledger: &[LedgerEntry]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for entry in ledger.iter().filter(|entry| entry.event == "redeemed") {
        *counts.entry(entry.credential.clone()).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn sessions_spend_requests_and_the_spt_ledger_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");

    let link = start_on(&path).await;
    let (access_token, refresh_token) = device_login(&link).await;
    let api = Api {
        http: reqwest::Client::new(),
        base_url: link.base_url().to_owned(),
        access_token: access_token.clone(),
    };
    let card = api
        .create(with(card_request(), json!({"request_approval": true})))
        .await;
    let card_id = card["id"].as_str().unwrap().to_owned();
    let card_number = link
        .control()
        .approve_spend_request(&card_id)
        .await
        .unwrap()["card"]["number"]
        .clone();
    assert!(card_number.is_string());
    let spt_id = api.create_pending(spt_request()).await;
    let approved = link.control().approve_spend_request(&spt_id).await.unwrap();
    let spt = approved["shared_payment_token"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, intent) = redeem(&api.http, link.base_url(), &spt, 2500)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{intent}");
    link.control()
        .advance_clock(Duration::from_secs(60))
        .await
        .unwrap();
    link.shutdown().await;

    let link = start_on(&path).await;
    let api = Api {
        base_url: link.base_url().to_owned(),
        ..api
    };
    let (status, me) = api.get("/userinfo").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the session token is still valid: {me}"
    );
    let (status, card) = api
        .get(&format!("/spend_requests/{card_id}?include=card"))
        .await;
    assert_eq!(status, StatusCode::OK, "{card}");
    assert_eq!(card["status"], "approved");
    assert_eq!(card["card"]["number"], card_number, "the same card");
    assert!(
        card["approval_url"]
            .as_str()
            .unwrap()
            .starts_with(link.base_url()),
        "URLs follow the new listener"
    );
    let (_, paid) = api.get(&format!("/spend_requests/{spt_id}")).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");

    let (status, again) = redeem(&api.http, link.base_url(), &spt, 2500)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    assert_eq!(again["error"]["code"], "token_already_used");
    let ledger = link.control().ledger().await.unwrap();
    assert_eq!(redemptions(&ledger).get(&spt), Some(&1));
    let clock = link.control().get("/clock").await.unwrap();
    assert_eq!(
        clock["offset_seconds"], 60.0,
        "the clock offset survives: {clock}"
    );

    let (status, rotated) = read(
        api.http
            .post(format!("{}/device/token", link.base_url()))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.as_str()),
                ("client_id", CLIENT_ID),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the refresh token survives: {rotated}"
    );
    link.shutdown().await;
}

#[tokio::test]
async fn a_second_mock_link_on_the_same_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let _first = start_on(&path).await;
    let error = MockLink::builder().state(&path).start().await.unwrap_err();
    assert!(error.to_string().contains("in use"), "{error}");
}

/// A `mock-link --state` child process and the base URL it printed.
struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    fn spawn(path: &Path) -> Self {
        Self::spawn_binary(Path::new(env!("CARGO_BIN_EXE_mock-link")), path)
    }

    fn spawn_binary(binary: &Path, path: &Path) -> Self {
        let mut child = Command::new(binary)
            .args(["--port", "0", "--device-poll-interval", "0", "--state"])
            .arg(path)
            .env("RUST_LOG", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("a first line").unwrap();
        let base_url = first
            .strip_prefix("export LINK_AUTH_BASE_URL=")
            .expect("the auth base is exported")
            .to_owned();
        // Keep the pipe open for the lines printed after: a closed stdout would kill the server.
        std::thread::spawn(move || lines.for_each(drop));
        wait_until_listening(&base_url);
        Self { child, base_url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls the port until it accepts a connection (bounded: 5 s).
fn wait_until_listening(base_url: &str) {
    let address = base_url.strip_prefix("http://").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(address).is_err() {
        assert!(Instant::now() < deadline, "{base_url} never answered");
        std::thread::yield_now();
    }
}

/// What the load saw answered before the kill.
#[derive(Default)]
struct Answered {
    /// Spend requests whose create was answered 2xx.
    created: Vec<String>,
    /// SPTs whose redemption was answered 2xx.
    redeemed: Vec<String>,
    /// SPTs sent for redemption whose answer never came (the kill).
    unknown: Vec<String>,
}

const TASKS: usize = 8;
const CREATES_PER_TASK: usize = 25;
const SPTS_PER_TASK: usize = 5;
/// The kill comes once this many creates were answered: mid-load.
const KILL_AFTER_CREATES: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_answered_change_and_redeems_no_spt_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut server = Server::spawn(&path);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let control = mock_link::ControlClient::new(server.base_url.clone());
    let tokens = control.issue_tokens("usr_default").await.unwrap();
    let api = Arc::new(Api {
        http: http.clone(),
        base_url: server.base_url.clone(),
        access_token: tokens["access_token"].as_str().unwrap().to_owned(),
    });
    let mut spts = Vec::new();
    for index in 0..TASKS * SPTS_PER_TASK {
        let amount = 1000 + index as i64;
        let created = api
            .create(with(
                spt_request(),
                json!({"amount": amount, "request_approval": true}),
            ))
            .await;
        let approved = control
            .approve_spend_request(created["id"].as_str().unwrap())
            .await
            .unwrap();
        let spt = approved["shared_payment_token"]["id"].as_str().unwrap();
        spts.push((spt.to_owned(), amount));
    }

    let answered = Arc::new(Mutex::new(Answered::default()));
    let creates_answered = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (api, answered, creates_answered, enough) = (
            api.clone(),
            answered.clone(),
            creates_answered.clone(),
            enough.clone(),
        );
        let my_spts = spts[task * SPTS_PER_TASK..(task + 1) * SPTS_PER_TASK].to_vec();
        tasks.push(tokio::spawn(async move {
            for round in 0..CREATES_PER_TASK {
                // Every fifth round also redeems one SPT, so redemptions run all through the load.
                if round % (CREATES_PER_TASK / SPTS_PER_TASK) == 0 {
                    let (spt, amount) = &my_spts[round / (CREATES_PER_TASK / SPTS_PER_TASK)];
                    match redeem(&api.http, &api.base_url, spt, *amount).await {
                        Ok((status, _)) if status.is_success() => {
                            answered.lock().await.redeemed.push(spt.clone())
                        }
                        Ok((status, body)) => panic!("redemption refused: {status} {body}"),
                        Err(_) => {
                            answered.lock().await.unknown.push(spt.clone());
                            return;
                        }
                    }
                }
                let body = with(
                    card_request(),
                    json!({"amount": 5000 + task * CREATES_PER_TASK + round}),
                );
                let sent = api
                    .http
                    .post(format!("{}/spend_requests", api.base_url))
                    .bearer_auth(&api.access_token)
                    .json(&body)
                    .send()
                    .await;
                let Ok(response) = sent else { return };
                let status = response.status();
                let Ok(created) = response.json::<Value>().await else {
                    return;
                };
                assert!(status.is_success(), "{status} {created}");
                answered
                    .lock()
                    .await
                    .created
                    .push(created["id"].as_str().unwrap().to_owned());
                if creates_answered.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER_CREATES {
                    enough.notify_one();
                }
            }
        }));
    }
    tokio::time::timeout(Duration::from_secs(60), enough.notified())
        .await
        .expect("the load reaches the kill point");
    server.child.kill().expect("SIGKILL");
    server.child.wait().unwrap();
    for task in tasks {
        task.await.expect("a load task does not panic");
    }
    let answered = std::mem::take(&mut *answered.lock().await);
    let planned = TASKS * CREATES_PER_TASK;
    assert!(
        answered.created.len() < planned,
        "the kill came mid-load ({} of {planned} creates answered)",
        answered.created.len()
    );

    let server = Server::spawn(&path);
    let api = Api {
        base_url: server.base_url.clone(),
        ..Arc::try_unwrap(api).ok().unwrap()
    };
    // The list is paged (at most 100 a page): follow `has_more` with `starting_after`.
    let mut listed: HashSet<String> = HashSet::new();
    let mut path = "/spend_requests?include_history=true&limit=100".to_owned();
    loop {
        let (status, page) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "the session survives: {page}");
        let ids: Vec<String> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|request| request["id"].as_str().unwrap().to_owned())
            .collect();
        listed.extend(ids.iter().cloned());
        match ids.last() {
            Some(last) if page["has_more"] == true => {
                path =
                    format!("/spend_requests?include_history=true&limit=100&starting_after={last}");
            }
            _ => break,
        }
    }
    for id in &answered.created {
        assert!(listed.contains(id.as_str()), "{id} was answered 2xx");
    }
    let found = answered
        .created
        .iter()
        .filter(|id| listed.contains(id.as_str()))
        .count();
    let sent: HashSet<&String> = answered.redeemed.iter().chain(&answered.unknown).collect();
    // Every SPT is redeemed once more after the restart: the ones answered 2xx must be refused.
    for (spt, amount) in &spts {
        let (status, body) = redeem(&api.http, &api.base_url, spt, *amount)
            .await
            .unwrap();
        if answered.redeemed.contains(spt) {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{spt} again: {body}");
            assert_eq!(body["error"]["code"], "token_already_used");
        } else if !sent.contains(spt) {
            assert_eq!(status, StatusCode::OK, "{spt} was never redeemed: {body}");
        }
    }
    let control = mock_link::ControlClient::new(server.base_url.clone());
    let counts = redemptions(&control.ledger().await.unwrap());
    for (spt, _) in &spts {
        assert_eq!(counts.get(spt), Some(&1), "{spt} is redeemed exactly once");
    }
    println!(
        "state: {} of {planned} creates and {} of {} redemptions answered 2xx before SIGKILL \
         ({} redemptions in flight); {found} creates found after the restart (and {} saved \
         whose answer the kill cut), {} SPTs redeemed once each",
        answered.created.len(),
        answered.redeemed.len(),
        spts.len(),
        answered.unknown.len(),
        listed.len() - spts.len() - found,
        counts.len(),
    );
}

#[test]
fn an_unknown_schema_version_or_an_unwritable_path_stops_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99;")
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mock-link"))
        .args(["--port", "0", "--state"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("schema version 99"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_mock-link"))
        .args(["--port", "0", "--state"])
        .arg(dir.path().join("missing-dir/state.db"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot create the state database"),
        "{stderr}"
    );
}

/// Creates `count` card spend requests from `tasks` tasks; answers requests per second.
async fn creates_per_second(link: &MockLink, count: usize, tasks: usize) -> f64 {
    let api = Arc::new(Api::default_user(link).await);
    let started = Instant::now();
    let mut running = Vec::new();
    for task in 0..tasks {
        let api = api.clone();
        running.push(tokio::spawn(async move {
            for index in (task..count).step_by(tasks) {
                api.create(with(card_request(), json!({"amount": 1000 + index})))
                    .await;
            }
        }));
    }
    for task in running {
        task.await.unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// The cost of `--state`: spend-request creates per second in memory and with SQLite.
/// `cargo test --release -p mock-link --test state -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn measure_the_cost_of_state() {
    let dir = tempfile::tempdir().unwrap();
    for (count, tasks) in [(300, 1), (300, 8)] {
        let memory = MockLink::builder().start().await.unwrap();
        let in_memory = creates_per_second(&memory, count, tasks).await;
        memory.shutdown().await;
        let path = dir.path().join(format!("cost-{tasks}.db"));
        let sqlite = start_on(&path).await;
        let with_state = creates_per_second(&sqlite, count, tasks).await;
        sqlite.shutdown().await;
        println!(
            "{count} creates from {tasks} task(s): {in_memory:.0}/s in memory, \
             {with_state:.0}/s with --state ({:.1} KB database at the end)",
            database_bytes(&path) as f64 / 1024.0
        );
    }
}

/// The cost of one change with `--state` as the history grows: a `mock-link --state` binary
/// (`MOCK_LINK_BIN`, default this build's) is filled with spend requests up to each size of
/// `STATE_SIZES` (default `1000 10000`), 8 creates in flight, then 100 spend requests are each
/// created (with `request_approval`) and approved, one after the other: two saved changes each.
/// `MOCK_LINK_BIN=target/release/mock-link cargo test -p mock-link --test state -- --ignored --nocapture measure_a_change`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn measure_a_change_with_state_as_the_history_grows() {
    const ROUNDS: usize = 100;
    let binary = std::env::var("MOCK_LINK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_mock-link").to_owned());
    let sizes = std::env::var("STATE_SIZES").unwrap_or_else(|_| "1000 10000".to_owned());
    let dir = tempfile::tempdir().unwrap();
    for size in sizes
        .split_whitespace()
        .map(|size| size.parse::<usize>().unwrap())
    {
        let path = dir.path().join(format!("grow-{size}.db"));
        let server = Server::spawn_binary(Path::new(&binary), &path);
        let control = mock_link::ControlClient::new(server.base_url.clone());
        let tokens = control.issue_tokens("usr_default").await.unwrap();
        let api = Arc::new(Api {
            http: reqwest::Client::new(),
            base_url: server.base_url.clone(),
            access_token: tokens["access_token"].as_str().unwrap().to_owned(),
        });
        let fill = size - ROUNDS;
        let started = Instant::now();
        let mut running = Vec::new();
        for task in 0..8 {
            let api = api.clone();
            running.push(tokio::spawn(async move {
                for index in (task..fill).step_by(8) {
                    api.create(with(card_request(), json!({"amount": 1000 + index})))
                        .await;
                }
            }));
        }
        for task in running {
            task.await.unwrap();
        }
        let filled = started.elapsed();
        let started = Instant::now();
        for round in 0..ROUNDS {
            let created = api
                .create(with(
                    card_request(),
                    json!({"amount": 1000 + fill + round, "request_approval": true}),
                ))
                .await;
            control
                .approve_spend_request(created["id"].as_str().unwrap())
                .await
                .unwrap();
        }
        let rounds = started.elapsed();
        println!(
            "{size} spend requests: filling {fill} took {:.1} s; then {ROUNDS} create + approve \
             took {:.2} s, {:.2} ms per saved change; database {:.1} MB ({binary})",
            filled.as_secs_f64(),
            rounds.as_secs_f64(),
            rounds.as_secs_f64() * 1000.0 / (2 * ROUNDS) as f64,
            database_bytes(&path) as f64 / 1e6,
        );
    }
}

/// The database's size on disk with its write-ahead log.
fn database_bytes(path: &Path) -> u64 {
    let wal = path.with_extension("db-wal");
    [path, wal.as_path()]
        .iter()
        .filter_map(|file| std::fs::metadata(file).ok())
        .map(|metadata| metadata.len())
        .sum()
}
