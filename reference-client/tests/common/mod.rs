//! Runs `link-ref` against an in-process mock-link with its own HOME.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use mock_link::MockLink;
use serde_json::Value;

/// One scenario: a fresh mock-link, an empty HOME.
pub struct Env {
    pub link: MockLink,
    pub home: tempfile::TempDir,
    pub extra_env: Vec<(String, String)>,
}

/// What a command printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON values printed, one per line.
    pub fn values(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {l}\nstderr: {}", self.stderr))
            })
            .collect()
    }

    /// The last JSON value printed.
    pub fn json(&self) -> Value {
        self.values()
            .pop()
            .unwrap_or_else(|| panic!("no output; stderr: {}", self.stderr))
    }

    /// Asserts exit 1 with a `{code, message}` error of `code`; returns it.
    pub fn error(&self, code: &str) -> Value {
        assert_eq!(self.code, 1, "expected a failure, got {self:?}");
        let e = self.json();
        assert_eq!(e["code"], code, "{self:?}");
        assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
        e
    }

    /// Asserts exit 0; returns the last value.
    pub fn ok(&self) -> Value {
        assert_eq!(self.code, 0, "expected success, got {self:?}");
        self.json()
    }
}

impl Env {
    /// A mock-link that accepts fast polls.
    pub async fn start() -> Self {
        Self::with(MockLink::builder().device_poll_interval(Duration::ZERO)).await
    }

    /// Arms a fault at mock-link (`POST /__control/faults`; `armed` as `mock_link::ArmedFault`
    /// takes it: `{"method"?, "path", "count"?, "fault"}`).
    pub async fn arm_fault(&self, armed: Value) {
        self.link
            .control()
            .post("/faults", armed)
            .await
            .expect("fault armed");
    }

    /// A mock-link from a builder.
    pub async fn with(builder: mock_link::MockLinkBuilder) -> Self {
        Self {
            link: builder.start().await.expect("mock-link starts"),
            home: tempfile::tempdir().expect("temp HOME"),
            extra_env: Vec::new(),
        }
    }

    pub fn session_path(&self) -> PathBuf {
        self.home.path().join(".config/link-ref/session.json")
    }

    /// The command with this scenario's environment and nothing else of Link's.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_link-ref"));
        for (k, _) in std::env::vars() {
            if k.starts_with("LINK_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("HOME", self.home.path())
            .env("LINK_AUTH_BASE_URL", self.link.base_url())
            .env("LINK_API_BASE_URL", self.link.base_url())
            .env("LINK_HTTP_TIMEOUT", "5");
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd.args(args).stdin(Stdio::null());
        cmd
    }

    /// Runs to the end (on a blocking thread, so the in-process server keeps serving).
    pub async fn run(&self, args: &[&str]) -> Run {
        let cmd = self.command(args);
        tokio::task::spawn_blocking(move || {
            let out = assert_cmd::Command::from_std(cmd)
                .output()
                .expect("link-ref runs");
            Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        })
        .await
        .expect("join")
    }

    /// Runs with `--format json`.
    pub async fn json(&self, args: &[&str]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--format", "json"]);
        self.run(&all).await
    }

    /// Starts a long-running command; its stdout is read line by line.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut cmd = self.command(args);
        cmd.args(["--format", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("link-ref starts");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Running { child, stdout }
    }

    /// Logs in through the device flow (`--interval 0`, approve, `auth status`).
    pub async fn login(&self) {
        let first = self.json(&["auth", "login", "--interval", "0"]).await.ok();
        let phrase = first["phrase"].as_str().expect("phrase").to_owned();
        self.link
            .control()
            .approve_device(&phrase)
            .await
            .expect("approve");
        let status = self.json(&["auth", "status"]).await.ok();
        assert_eq!(status["authenticated"], true);
    }

    /// Paths of the API requests that reached mock-link.
    pub async fn request_paths(&self) -> Vec<String> {
        self.link
            .control()
            .received_requests()
            .await
            .expect("request log")
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }
}

/// A command still running.
pub struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Running {
    /// The next JSON line (blocking read on a thread).
    pub async fn next_json(&mut self) -> Value {
        let reader = &mut self.stdout;
        let line = tokio::task::block_in_place(|| {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read");
            line
        });
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
    }

    /// Waits for the exit; returns the code and the remaining JSON lines.
    pub async fn finish(mut self) -> (i32, Vec<Value>) {
        tokio::task::block_in_place(|| {
            let mut rest = Vec::new();
            let mut line = String::new();
            while self.stdout.read_line(&mut line).expect("read") > 0 {
                if !line.trim().is_empty() {
                    rest.push(
                        serde_json::from_str(&line)
                            .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}")),
                    );
                }
                line.clear();
            }
            let status = self.child.wait().expect("wait");
            (status.code().unwrap_or(-1), rest)
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A context long enough for Link.
pub fn context() -> String {
    "The agent is buying one annual subscription to the Example Times for the user, as they asked in this conversation today.".into()
}

/// A scripted merchant: the n-th request gets the n-th answer (the last one
/// repeats), and every request's method, path and headers are kept.
pub struct Stub {
    pub url: String,
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
}

/// A request a stub received: method, path, headers.
pub type Seen = (String, String, Vec<(String, String)>);

/// One scripted answer: status and headers.
pub type StubAnswer = (u16, Vec<(&'static str, String)>);

impl Stub {
    pub async fn start(answers: Vec<StubAnswer>) -> Self {
        use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
        use axum::response::IntoResponse;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let answers = std::sync::Arc::new(answers);
        let app = axum::Router::new().fallback(move |request: Request<axum::body::Body>| {
            let log = log.clone();
            let answers = answers.clone();
            async move {
                let headers = request
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push((
                        request.method().to_string(),
                        request.uri().path().to_owned(),
                        headers,
                    ));
                    log.len() - 1
                };
                let (status, headers) = &answers[n.min(answers.len() - 1)];
                let mut response = (StatusCode::from_u16(*status).unwrap(), "{}").into_response();
                for (name, value) in headers {
                    response.headers_mut().append(
                        HeaderName::from_static(name),
                        HeaderValue::from_str(value).unwrap(),
                    );
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, seen }
    }

    /// How many requests carried a `Payment` credential in any header.
    pub fn credentials_received(&self) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, headers)| headers.iter().any(|(_, v)| v.starts_with("Payment ")))
            .count()
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

/// A stripe charge challenge for mock-link's merchant network, `extra` appended.
pub fn stripe_challenge(id: &str, amount: &str, extra: &str) -> String {
    let request = mpp_wire::mpp::base64url_encode(
        format!(
            r#"{{"amount":"{amount}","currency":"usd","methodDetails":{{"networkId":"profile_mock_merchant","paymentMethodTypes":["card"]}}}}"#
        )
        .as_bytes(),
    );
    format!(
        r#"Payment id="{id}", realm="stub", method="stripe", intent="charge", request="{request}"{extra}"#
    )
}
