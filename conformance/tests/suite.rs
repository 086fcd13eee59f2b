//! The suite against the bundled reference client passes, over the command
//! line and over MCP; reports are written.

use std::path::PathBuf;
use std::process::Command;

fn conformance() -> Command {
    Command::new(env!("CARGO_BIN_EXE_link-conformance"))
}

fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_reference_client_passes_every_scenario() {
    let dir = out_dir("reference");
    let junit = dir.join("junit.xml");
    let json = dir.join("cucumber.json");
    let summary = dir.join("summary.json");
    let out = conformance()
        .args(["--quiet", "--strict", "--junit"])
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .arg("--summary")
        .arg(&summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verdict: PASS"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.starts_with("<?xml") && xml.contains("<testsuites"),
        "{xml}"
    );
    assert!(!xml.contains("<failure"), "{xml}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(report.as_array().is_some_and(|f| !f.is_empty()));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let results = summary["results"].as_array().unwrap();
    assert!(results.len() > 30, "{}", results.len());
    assert!(results.iter().all(|r| r["verdict"] == "passed"));
}

#[test]
fn the_reference_client_passes_over_mcp_too() {
    let link_ref = PathBuf::from(env!("CARGO_BIN_EXE_link-conformance"))
        .parent()
        .unwrap()
        .join("link-ref");
    if !link_ref.is_file() {
        // `cargo test --workspace` builds it; a lone `cargo test -p conformance` may not.
        eprintln!("{} not built; skipped", link_ref.display());
        return;
    }
    let out = conformance()
        .args(["--quiet", "--strict", "--mcp"])
        .arg(format!("{} --mcp", link_ref.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("client: mcp:"), "{stdout}");
}
