//! The `mock-merchant` binary: starts on the given port and prints the merchants and their URLs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child when the test ends, pass or fail.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_every_merchant_url_and_serves_them() {
    let child = Command::new(env!("CARGO_BIN_EXE_mock-merchant"))
        .args(["--port", "0", "--link-url", "http://127.0.0.1:9"])
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
