//! The suite against the bundled reference client passes, over the command
//! line and over MCP; reports are written.

use std::path::PathBuf;
use std::process::Command;

fn report_len(summary: &std::path::Path) -> usize {
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(summary).unwrap()).unwrap();
    summary["results"].as_array().unwrap().len()
        + summary["not_applicable"].as_array().unwrap().len()
}

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
    assert!(
        xml.contains(r#"<testcase classname="Authentication" name="Status without a session says not authenticated" time=""#),
        "{xml}"
    );
    // Every scenario that ran is in the file, with the steps it ran.
    assert_eq!(xml.matches("<testcase ").count(), report_len(&summary));
    assert!(
        xml.contains("passed  Given a user who is not logged in"),
        "{xml}"
    );
    assert_eq!(
        xml.matches("<testcase ").count(),
        xml.matches("<testcase classname=").count()
    );
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
        .args(["--quiet", "--strict", "--profile", "link-ref", "--mcp"])
        .arg(format!("{} --mcp", link_ref.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("client: mcp:"), "{stdout}");
}

fn link_ref() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_link-conformance"))
        .parent()?
        .join("link-ref");
    path.is_file().then_some(path)
}

fn double(name: &str) -> Option<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/doubles")
        .join(name);
    Some(format!("sh {} {}", script.display(), link_ref()?.display()))
}

/// Runs the suite with `args`; returns (success, summary JSON, stdout).
fn run_with(name: &str, args: &[&str]) -> (bool, serde_json::Value, String) {
    let summary = out_dir(name).join("summary.json");
    let out = conformance()
        .arg("--quiet")
        .args(args)
        .arg("--summary")
        .arg(&summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = serde_json::from_slice(&std::fs::read(&summary).unwrap_or_default())
        .unwrap_or(serde_json::Value::Null);
    (out.status.success(), report, stdout)
}

fn names_with(report: &serde_json::Value, verdict: &str) -> Vec<String> {
    report["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter(|r| r["verdict"] == verdict)
                .map(|r| r["scenario"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Scenario name patterns (outline placeholders as wildcards) whose steps
/// expect the client to fail (other than in `auth login`).
fn scenarios_expecting_errors() -> Vec<regex::Regex> {
    let mut patterns = Vec::new();
    let placeholder = regex::Regex::new(r"<[^>]+>").unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../features");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "feature") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let mut name: Option<String> = None;
        let mut expects_error = false;
        let mut flush = |name: &mut Option<String>, expects: &mut bool| {
            if let Some(n) = name.take()
                && *expects
            {
                let escaped = regex::escape(&n);
                let wild = placeholder.replace_all(&escaped, ".*").into_owned();
                patterns.push(regex::Regex::new(&format!("^{wild}$")).unwrap());
            }
            *expects = false;
        };
        for line in text.lines().map(str::trim) {
            if let Some(n) = line
                .strip_prefix("Scenario Outline:")
                .or_else(|| line.strip_prefix("Scenario:"))
            {
                flush(&mut name, &mut expects_error);
                name = Some(n.trim().to_owned());
            } else if line.contains("it fails")
                || line.contains("the payment is refused")
                || line.contains("agrees with the oracle")
            {
                expects_error = true;
            } else if line.contains("the agent starts \"auth login") {
                // The double streams `auth login` untouched.
                name = None;
            }
        }
        flush(&mut name, &mut expects_error);
    }
    patterns
}

#[test]
fn a_client_printing_errors_on_stderr_fails_exactly_the_error_scenarios() {
    let Some(client) = double("errors-on-stderr.sh") else {
        eprintln!("link-ref not built; skipped");
        return;
    };
    let (ok, report, stdout) = run_with("stderr-double", &["--strict", "--client", &client]);
    assert!(!ok, "{stdout}");
    let failed = names_with(&report, "failed");
    let passed = names_with(&report, "passed");
    let patterns = scenarios_expecting_errors();
    let expects = |name: &str| patterns.iter().any(|p| p.is_match(name));
    assert!(failed.len() > 20, "{failed:?}");
    for name in &failed {
        assert!(
            expects(name),
            "failed although it expects no error: {name}\n{stdout}"
        );
    }
    for name in &passed {
        assert!(
            !expects(name),
            "passed although the client hides its errors: {name}"
        );
    }
}

#[test]
fn a_client_that_does_not_revoke_at_logout_fails_only_the_logout_scenario() {
    let Some(client) = double("logout-without-revoke.sh") else {
        eprintln!("link-ref not built; skipped");
        return;
    };
    let logout = "Logout forgets the session and revokes it at Link";
    let (ok, report, stdout) = run_with("logout-double", &["--tags", "@auth", "--client", &client]);
    assert!(!ok, "{stdout}");
    assert_eq!(
        names_with(&report, "failed"),
        vec![logout.to_owned()],
        "{stdout}"
    );

    // Listed as an expected failure, the run passes ...
    let dir = out_dir("logout-double");
    let expected = dir.join("expected-failures.txt");
    std::fs::write(&expected, format!("# known failures\n{logout}\n")).unwrap();
    let junit = dir.join("junit.xml");
    let (ok, report, stdout) = run_with(
        "logout-double-expected",
        &[
            "--tags",
            "@auth",
            "--client",
            &client,
            "--expected-failures",
            expected.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert!(ok, "{stdout}");
    assert_eq!(
        names_with(&report, "expected_failure"),
        vec![logout.to_owned()]
    );
    // In JUnit too it is no failure (CI would go red otherwise), but it is not hidden.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(
        xml.contains(
            r#"<skipped message="expected failure: Link never received POST /device/revoke"/>"#
        ),
        "{xml}"
    );

    // ... and a listed scenario that passes fails the run (the list must shrink).
    let status = "Status when logged in says authenticated";
    std::fs::write(&expected, format!("{logout}\n{status}\n")).unwrap();
    let (ok, report, stdout) = run_with(
        "logout-double-unexpected",
        &[
            "--tags",
            "@auth",
            "--client",
            &client,
            "--expected-failures",
            expected.to_str().unwrap(),
        ],
    );
    assert!(!ok, "{stdout}");
    assert_eq!(
        names_with(&report, "unexpected_pass"),
        vec![status.to_owned()]
    );
}

#[test]
fn a_profile_lists_failures_per_transport_and_capabilities() {
    let Some(link_ref) = link_ref() else {
        eprintln!("link-ref not built; skipped");
        return;
    };
    // A profile claiming the reference client fails one scenario on its
    // command line only, and lacks @spt.
    let profile = out_dir("profile").join("my-client");
    std::fs::create_dir_all(&profile).unwrap();
    let status = "Status when logged in says authenticated";
    std::fs::write(profile.join("capabilities"), "spt\n+mcp-error-codes\n").unwrap();
    std::fs::write(
        profile.join("expected-failures-cli"),
        format!("# why\n{status}\n"),
    )
    .unwrap();
    let profile = profile.to_str().unwrap();
    let (ok, report, stdout) = run_with(
        "profile-cli",
        &["--tags", "@AUTH-06 or @PAY-03", "--profile", profile],
    );
    assert!(
        !ok,
        "the listed scenario passes, so the run fails: {stdout}"
    );
    assert_eq!(
        names_with(&report, "unexpected_pass"),
        vec![status.to_owned()]
    );
    assert!(
        !report["not_applicable"].as_array().unwrap().is_empty(),
        "{stdout}"
    );
    // Over MCP the -cli list is not read.
    let mcp = format!("{} --mcp", link_ref.display());
    let (ok, report, stdout) = run_with(
        "profile-mcp",
        &["--tags", "@AUTH-06", "--profile", profile, "--mcp", &mcp],
    );
    assert!(ok, "{stdout}");
    assert!(
        names_with(&report, "unexpected_pass").is_empty(),
        "{stdout}"
    );
    // A profile that does not exist stops the run before it starts.
    let missing = conformance()
        .args(["--profile", "no-such-client"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn capabilities_shards_and_name_filters_select_scenarios() {
    if link_ref().is_none() {
        eprintln!("link-ref not built; skipped");
        return;
    }
    let dir = out_dir("capabilities");
    let caps = dir.join("capabilities.txt");
    std::fs::write(&caps, "# this client has no shared payment tokens\n@spt\n").unwrap();
    let (ok, report, stdout) = run_with(
        "capabilities",
        &["--tags", "@spend", "--capabilities", caps.to_str().unwrap()],
    );
    assert!(ok, "{stdout}");
    let not_applicable = report["not_applicable"].as_array().unwrap();
    assert!(
        not_applicable
            .iter()
            .any(|n| n["scenario"]
                == "A shared payment token request without a network id is refused"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not applicable: the client lacks @spt"),
        "{stdout}"
    );
    let ran: Vec<String> = names_with(&report, "passed");
    assert!(
        !ran.iter().any(|n| n.contains("shared payment token")),
        "{ran:?}"
    );

    // Two shards split the scenarios without overlap.
    let (_, one, _) = run_with("shard-1", &["--tags", "@auth", "--shard", "1/2"]);
    let (_, two, _) = run_with("shard-2", &["--tags", "@auth", "--shard", "2/2"]);
    let (_, all, _) = run_with("shard-all", &["--tags", "@auth"]);
    let mut split = names_with(&one, "passed");
    split.extend(names_with(&two, "passed"));
    split.sort();
    let mut whole = names_with(&all, "passed");
    whole.sort();
    assert_eq!(split, whole);
    assert!(!names_with(&one, "passed").is_empty() && !names_with(&two, "passed").is_empty());

    // --name narrows by regex; a run that selects nothing is not a pass.
    let (ok, report, _) = run_with("name", &["--name", "^Status without a session"]);
    assert!(ok);
    assert_eq!(names_with(&report, "passed").len(), 1);
    let (ok, _, _) = run_with("nothing", &["--name", "^no such scenario$"]);
    assert!(!ok);
}

#[test]
fn a_decoder_that_never_refuses_fails_the_refusal_and_property_scenarios() {
    let Some(client) = double("decode-accepts-everything.sh") else {
        eprintln!("link-ref not built; skipped");
        return;
    };
    let (ok, report, stdout) = run_with(
        "decode-double",
        &["--tags", "@merchant", "--client", &client],
    );
    assert!(!ok, "{stdout}");
    let mut failed = names_with(&report, "failed");
    failed.sort();
    let property = "Decoding agrees with the oracle on 300 generated headers (seed 20261125)";
    assert!(failed.iter().any(|n| n == property), "{stdout}");
    assert!(
        failed
            .iter()
            .any(|n| n.starts_with("Challenges without a stripe one"))
    );
    assert_eq!(
        failed
            .iter()
            .filter(|n| n.starts_with("A malformed stripe challenge"))
            .count(),
        6
    );
    assert_eq!(failed.len(), 8, "{failed:?}");
    // The seed is in the failure, so the run can be reproduced.
    assert!(stdout.contains("seed 20261125"), "{stdout}");

    // --fail-fast stops at the first failure.
    let (ok, report, stdout) = run_with(
        "decode-double-fail-fast",
        &[
            "--tags",
            "@merchant",
            "--client",
            &client,
            "--fail-fast",
            "--concurrency",
            "1",
        ],
    );
    assert!(!ok, "{stdout}");
    assert_eq!(names_with(&report, "failed").len(), 1, "{stdout}");
    assert!(report["results"].as_array().unwrap().len() < 13, "{stdout}");
}

/// Runs the double `script` on the scenarios `tags` selects and asserts that
/// the run fails with exactly `expected` failed; returns the summary.
fn fails_exactly(script: &str, tags: &str, expected: &[&str]) -> Option<serde_json::Value> {
    let Some(client) = double(script) else {
        eprintln!("link-ref not built; skipped");
        return None;
    };
    let (ok, report, stdout) = run_with(script, &["--tags", tags, "--client", &client]);
    assert!(!ok, "{stdout}");
    let mut failed = names_with(&report, "failed");
    failed.sort();
    assert_eq!(failed, expected, "{stdout}");
    Some(report)
}

#[test]
fn a_client_printing_the_public_clients_shapes_passes() {
    // Pretty-printed arrays, pretty error objects, logins handed over at once:
    // the adapter must read them as it reads JSON lines. (`@property` is left
    // out only because it starts the double 300 times.)
    let Some(client) = double("public-shapes.sh") else {
        eprintln!("link-ref not built; skipped");
        return;
    };
    let (ok, report, stdout) = run_with(
        "public-shapes",
        &["--strict", "--tags", "not @property", "--client", &client],
    );
    assert!(ok, "{stdout}");
    assert!(names_with(&report, "passed").len() > 60, "{stdout}");
}

#[test]
fn a_client_printing_the_1x_shapes_and_polling_by_the_1x_rule_passes() {
    // {payment_details, unavailable_count}, approval_url, a fixed wallet URL
    // for payment-methods add, and polls that return at any status change
    // (link-cli-1x.md section 7): both versions conform.
    let Some(client) = double("shapes-1x.sh") else {
        eprintln!("link-ref not built; skipped");
        return;
    };
    let (ok, report, stdout) = run_with(
        "shapes-1x",
        &["--strict", "--tags", "not @property", "--client", &client],
    );
    assert!(ok, "{stdout}");
    assert!(names_with(&report, "passed").len() > 60, "{stdout}");
}

#[test]
fn an_mcp_server_behind_progressive_discovery_passes() {
    // Only search_tools, get_tool_details, call_read_tool and call_write_tool
    // are listed (as the public link-cli's framework serves them): the suite
    // finds the contract's tools through them and calls reads as reads.
    let Some(link_ref) = link_ref() else {
        eprintln!("link-ref not built; skipped");
        return;
    };
    let proxy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/doubles/discovery-mcp.py");
    let mcp = format!("python3 {} {}", proxy.display(), link_ref.display());
    let (ok, report, stdout) = run_with(
        "discovery-mcp",
        &["--tags", "@mcp or @PM-01 or @MER-01", "--mcp", &mcp],
    );
    assert!(ok, "{stdout}");
    assert!(names_with(&report, "passed").len() >= 7, "{stdout}");
}

#[test]
fn plain_mcp_tool_errors_conform_and_codes_count_only_when_declared() {
    let Some(link_ref) = link_ref() else {
        eprintln!("link-ref not built; skipped");
        return;
    };
    let proxy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/doubles/plain-errors-mcp.py");
    let mcp = format!("python3 {} {}", proxy.display(), link_ref.display());
    let tags = "@errors and not @AUTH-03 and not @property";
    let (ok, report, stdout) = run_with("plain-errors-mcp", &["--tags", tags, "--mcp", &mcp]);
    assert!(ok, "{stdout}");
    assert!(names_with(&report, "passed").len() >= 10, "{stdout}");

    // Declaring `mcp-error-codes` makes the suite read the codes: exactly the
    // scenarios that expect a failure fail.
    let caps = out_dir("plain-errors-mcp-declared").join("capabilities");
    std::fs::write(&caps, "+mcp-error-codes\n").unwrap();
    let (ok, report, stdout) = run_with(
        "plain-errors-mcp-declared",
        &[
            "--tags",
            tags,
            "--mcp",
            &mcp,
            "--capabilities",
            caps.to_str().unwrap(),
        ],
    );
    assert!(!ok, "{stdout}");
    let failed = names_with(&report, "failed");
    let expecting = scenarios_expecting_errors();
    assert!(failed.len() >= 5, "{stdout}");
    for name in &failed {
        assert!(
            expecting.iter().any(|p| p.is_match(name)),
            "{name} failed but expects no error: {stdout}"
        );
    }
}

const BACK_OFF: &str = "Login backs off by 5 more seconds when Link answers slow_down";
const INTERVAL: &str = "Login polls at the server's interval until the user acts";

#[test]
fn a_client_that_ignores_the_polling_interval_fails_only_the_interval_scenarios() {
    // Not @browser: its 200 back-to-back polls may run out before a person clicks through
    // the page in Chromium (a timing, not what this double is about).
    fails_exactly(
        "impatient-login.sh",
        "@auth and not @browser",
        &[BACK_OFF, INTERVAL],
    );
}

#[test]
fn a_client_that_ignores_slow_down_fails_only_the_back_off_scenario() {
    // Not @browser: this double gives up after 8 polls at the first interval (0 s here),
    // sooner than a person clicks through the page in Chromium, so whether it passes the
    // browser login would depend on timing.
    let Some(report) = fails_exactly(
        "ignores-slow-down.sh",
        "@auth and not @browser",
        &[BACK_OFF],
    ) else {
        return;
    };
    // It keeps to the first interval, so the plain interval scenario passes.
    assert!(names_with(&report, "passed").contains(&INTERVAL.to_owned()));
}

#[test]
fn a_client_that_reuses_a_spent_token_fails_only_the_second_purchase() {
    fails_exactly(
        "reuses-spt.sh",
        "@spt and not @strict",
        &["A second purchase gets a new token, never the spent one"],
    );
}

#[test]
fn the_matrix_has_a_column_per_client_and_a_row_per_family() {
    let Some(client) = double("logout-without-revoke.sh") else {
        eprintln!("link-ref not built; skipped");
        return;
    };
    let dir = out_dir("matrix");
    let out = conformance()
        .args([
            "matrix",
            "--tags",
            "@AUTH-07 or @MCP-01",
            "--client",
            &client,
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = std::fs::read_to_string(dir.join("matrix.md")).unwrap();
    assert!(
        md.contains("| Authentication | ✅ 1/1 | ✅ 1/1 | ❌ 0/1 |"),
        "{md}"
    );
    assert!(
        md.contains("| The same operations as MCP tools | n/a | ✅ 1/1 | n/a |"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("matrix.json")).unwrap()).unwrap();
    assert_eq!(json["clients"].as_array().unwrap().len(), 3);
}
