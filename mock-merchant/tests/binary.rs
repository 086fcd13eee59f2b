//! The `mock-merchant` binary: starts on the given port and prints the merchants and their URLs.

use std::io::{BufRead, BufReader, Lines};
use std::process::{ChildStdout, Command, Stdio};

/// Kills the child when the test ends, pass or fail.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args` and `envs`: the process, its base URL and
/// the rest of its stdout.
fn start(args: &[&str], envs: &[(&str, &str)]) -> (Running, String, Lines<BufReader<ChildStdout>>) {
    let child = Command::new(env!("CARGO_BIN_EXE_mock-merchant"))
        .args(["--port", "0", "--link-url", "http://127.0.0.1:9"])
        .args(args)
        .env_remove("MOCK_MERCHANT_CHALLENGE_SECRET")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut running = Running(child);
    let stdout = running.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .strip_prefix("mock-merchant on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    (running, base, lines)
}

/// The stripe challenge `base`'s `api` report offers.
async fn stripe_challenge(base: &str) -> mpp_wire::StripeChallenge {
    let probe = reqwest::get(format!("{base}/m/api/report")).await.unwrap();
    let fields = probe.headers().get_all("www-authenticate");
    mpp_wire::select_stripe_challenge(fields.iter().map(|v| v.as_bytes())).unwrap()
}

/// Whether `challenge`'s id is bound with `key`.
fn bound_with(challenge: &mpp_wire::StripeChallenge, key: &str) -> bool {
    let echo = challenge.challenge.to_echo();
    mpp_wire::BindingParams::of_echo(&echo, None).bound_id(key, mpp_wire::HeaderSlot::AfterOpaque)
        == challenge.id
}

#[tokio::test]
async fn the_challenge_secret_is_random_unless_the_flag_or_the_environment_sets_it() {
    let key = "a-fixed-key-for-reproducible-tests-0123456789";
    let (_flag, base, _) = start(&["--challenge-secret", key], &[]);
    assert!(
        bound_with(&stripe_challenge(&base).await, key),
        "--challenge-secret"
    );
    let (_env, base, _) = start(&[], &[("MOCK_MERCHANT_CHALLENGE_SECRET", key)]);
    assert!(
        bound_with(&stripe_challenge(&base).await, key),
        "the environment"
    );
    let (_default, base, _) = start(&[], &[]);
    let challenge = stripe_challenge(&base).await;
    assert!(!bound_with(&challenge, key));
    assert!(!bound_with(
        &challenge,
        "mock-merchant-challenge-binding-key-0123456789"
    ));
}

#[test]
fn a_short_challenge_secret_is_refused_at_startup() {
    let output = Command::new(env!("CARGO_BIN_EXE_mock-merchant"))
        .args(["--port", "0", "--challenge-secret", "too-short"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least 32 bytes"), "{stderr}");
}

#[tokio::test]
async fn the_binary_prints_every_merchant_url_and_serves_them() {
    let (_running, base, mut lines) = start(&[], &[]);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("control:") {
            break;
        }
        printed.push(line);
    }
    for merchant in mock_merchant::CATALOGUE {
        assert!(
            printed
                .iter()
                .any(|l| l.starts_with(&format!("{}: ", merchant.id))),
            "{} listed",
            merchant.id
        );
        for path in merchant.paths {
            let url = format!("  {base}{path}");
            assert!(printed.contains(&url), "{url}");
        }
    }
    let probe = reqwest::get(format!("{base}/m/api/report")).await.unwrap();
    assert_eq!(probe.status(), 402);
}

#[tokio::test]
async fn sigterm_drains_an_in_flight_request_then_exits_0() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut running, base, _lines) = start(&[], &[]);
    let address = base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // `Expect: 100-continue` is the readiness signal: hyper answers `100 Continue` only
    // once a handler reads the body, so the request is in flight, not unread in the socket.
    stream
        .write_all(b"POST /m/api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n")
        .await
        .unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).await.unwrap();
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    stream.write_all(b"{\"rows\":").await.unwrap();
    let pid = running.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    // Readiness without sleeping: the listener closes once the signal is handled.
    let refused = async {
        while tokio::net::TcpStream::connect(&address).await.is_ok() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), refused)
        .await
        .expect("the listener closes on SIGTERM");
    stream.write_all(b"100}").await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 402"), "{answer}");
    let status = running.0.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// A merchant starts where the system has no CA certificates (a `FROM scratch` container): its
/// client for a plain-HTTP Link never reads the trust store.
#[tokio::test]
async fn the_binary_starts_and_serves_without_any_ca_certificate() {
    let no_certs =
        std::env::temp_dir().join(format!("mock-merchant-no-certs-{}", std::process::id()));
    std::fs::create_dir_all(&no_certs).unwrap();
    let empty_file = no_certs.join("none.pem");
    std::fs::write(&empty_file, "").unwrap();
    let (_running, base, _lines) = start(
        &[],
        &[
            ("SSL_CERT_FILE", empty_file.to_str().unwrap()),
            ("SSL_CERT_DIR", no_certs.to_str().unwrap()),
        ],
    );
    let probe = reqwest::get(format!("{base}/m/api/report")).await.unwrap();
    assert_eq!(probe.status(), 402);
    std::fs::remove_dir_all(no_certs).ok();
}
