//! The `mock-link` binary prints the exports a user pastes and serves at that address.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn the_binary_prints_exports_and_serves_device_codes() {
    let seed = std::env::temp_dir().join(format!("mock-link-seed-{}.json", std::process::id()));
    std::fs::write(
        &seed,
        r#"{"users": [{"id": "usr_cli", "email": "cli@example.com"}]}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-link"))
        .args(["--port", "0", "--device-poll-interval", "0.5", "--seed"])
        .arg(&seed)
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let auth = lines.next().unwrap().unwrap();
    let api = lines.next().unwrap().unwrap();
    let base_url = auth
        .strip_prefix("export LINK_AUTH_BASE_URL=")
        .expect("first line exports the auth base")
        .to_owned();
    assert_eq!(api, format!("export LINK_API_BASE_URL={base_url}"));
    assert!(base_url.starts_with("http://127.0.0.1:"));

    let code: serde_json::Value = reqwest::Client::new()
        .post(format!("{base_url}/device/code"))
        .form(&[("client_id", "lwlpk_cli")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        code["interval"], 1,
        "0.5 s rounds up to a whole second on the wire"
    );
    let approved = reqwest::Client::new()
        .post(format!("{base_url}/__control/device_codes/approve"))
        .json(&serde_json::json!({"user_code": code["user_code"], "user_id": "usr_cli"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(approved, 200, "the seeded user exists");
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(seed).ok();
}

/// mock-link starts where the system has no CA certificates (a `FROM scratch` container): it
/// never needs the trust store.
#[tokio::test]
async fn the_binary_starts_and_serves_without_any_ca_certificate() {
    let no_certs = tempfile::tempdir().unwrap();
    let empty_file = no_certs.path().join("none.pem");
    std::fs::write(&empty_file, "").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-link"))
        .args(["--port", "0"])
        .env("RUST_LOG", "off")
        .env("SSL_CERT_FILE", &empty_file)
        .env("SSL_CERT_DIR", no_certs.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .expect("a first line before any exit")
        .unwrap();
    let base_url = first
        .strip_prefix("export LINK_AUTH_BASE_URL=")
        .unwrap_or_else(|| panic!("{first}"));
    let code = reqwest::Client::new()
        .post(format!("{base_url}/device/code"))
        .form(&[("client_id", "lwlpk_no_certs")])
        .send()
        .await
        .unwrap();
    assert_eq!(code.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_bad_seed_file_stops_the_binary_with_an_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_mock-link"))
        .args(["--port", "0", "--seed", "/nonexistent/seed.json"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("seed"));
}

#[test]
fn binding_every_interface_warns_and_prints_a_generated_control_token() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-link"))
        .args(["--bind", "0.0.0.0", "--port", "0"])
        .env("RUST_LOG", "off")
        .env_remove("MOCK_LINK_CONTROL_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut warning = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut warning)
        .unwrap();
    assert!(warning.starts_with("warning: --bind 0.0.0.0"), "{warning}");
    let token_line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find(|line| line.starts_with("export MOCK_LINK_CONTROL_TOKEN="))
        .expect("a token line");
    assert!(token_line.len() > "export MOCK_LINK_CONTROL_TOKEN=mlct_".len() + 32);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// D7: SIGTERM lets an in-flight request finish (here one held by an injected latency) and
/// then exits 0.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_drains_an_in_flight_request_then_exits() {
    use mock_link::{ArmedFault, Fault};

    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-link"))
        .args(["--port", "0"])
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base_url = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("export LINK_AUTH_BASE_URL=")
        .unwrap()
        .to_owned();
    let control = mock_link::ControlClient::new(base_url.clone());
    control
        .inject_fault(&ArmedFault {
            method: Some("POST".into()),
            path: "/device/code".into(),
            count: 1,
            fault: Fault::Latency { millis: 1500 },
        })
        .await
        .unwrap();
    let in_flight = tokio::spawn(
        reqwest::Client::new()
            .post(format!("{base_url}/device/code"))
            .form(&[("client_id", "lwlpk_drain")])
            .send(),
    );
    // The fault is taken when the request arrives: from then on it is in flight.
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(10));
    loop {
        poll.tick().await;
        let faults = control.get("/faults").await.unwrap();
        if faults["data"].as_array().unwrap().is_empty() {
            break;
        }
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let answer = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(answer.status(), 200);
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after draining: {status:?}");
}
