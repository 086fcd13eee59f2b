//! The CI integrations (`action.yml`, `ci/gitlab/link-harness.gitlab-ci.yml`) parse, and every
//! link-harness command they run is one the image holds (`scripts/image`'s binaries; checked
//! in the image itself too when Docker has it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    yaml_serde::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// The binaries `scripts/image` puts in the image.
fn image_binaries() -> BTreeSet<String> {
    let script = read("scripts/image");
    let line = script
        .lines()
        .find_map(|l| l.trim().strip_prefix("binaries=("))
        .expect("scripts/image lists its binaries");
    line.trim_end_matches(')')
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Repository files a shell text runs: `$GITHUB_ACTION_PATH/<file>` and `link-harness-run-suite`
/// (the GitLab template's download of ci/run-suite).
fn scripts_run(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split("$GITHUB_ACTION_PATH/")
        .skip(1)
        .map(|rest| rest.split(['"', ' ', '\n']).next().unwrap().to_owned())
        .collect();
    if text.contains("link-harness-run-suite") {
        found.push("ci/run-suite".into());
    }
    found
}

/// Commands a script runs from the link-harness binaries directory.
fn harness_commands(script: &str) -> BTreeSet<String> {
    script
        .split("$LINK_HARNESS_BIN/")
        .skip(1)
        .map(|rest| rest.split(['"', ' ', '\n']).next().unwrap().to_owned())
        .collect()
}

fn action_runs() -> Vec<String> {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["client", "mcp", "profile", "shard"] {
        assert!(action["inputs"][input].is_object(), "action input {input}");
    }
    let steps = action["runs"]["steps"].as_array().expect("steps");
    assert!(
        steps.iter().any(|s| s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/upload-artifact@"))),
        "the JUnit report is uploaded"
    );
    steps
        .iter()
        .filter_map(|step| {
            let run = step["run"].as_str()?;
            assert!(
                step["shell"].is_string(),
                "a composite run step names its shell: {run}"
            );
            Some(run.to_owned())
        })
        .collect()
}

fn gitlab_script() -> Vec<String> {
    let template = yaml("ci/gitlab/link-harness.gitlab-ci.yml");
    let job = &template[".link-harness"];
    assert_eq!(job["artifacts"]["reports"]["junit"], "$LINK_HARNESS_JUNIT");
    job["script"]
        .as_array()
        .expect("a script")
        .iter()
        .map(|line| line.as_str().expect("script lines are strings").to_owned())
        .collect()
}

#[test]
fn every_command_the_ci_templates_run_is_in_the_image() {
    let image = image_binaries();
    assert_eq!(
        image,
        ["link-conformance", "link-ref", "mock-link", "mock-merchant"]
            .map(String::from)
            .into()
    );
    let texts: Vec<String> = action_runs().into_iter().chain(gitlab_script()).collect();
    // (`--path "$GITHUB_ACTION_PATH/<crate>"` names directories: cargo install, checked below.)
    let scripts: BTreeSet<String> = texts
        .iter()
        .flat_map(|t| scripts_run(t))
        .filter(|path| repo().join(path).is_file())
        .collect();
    assert!(
        scripts.contains("ci/run-suite") && scripts.contains("scripts/image"),
        "{scripts:?}"
    );
    let mut commands = BTreeSet::new();
    for script in &scripts {
        let text = read(script);
        commands.extend(harness_commands(&text));
    }
    assert!(commands.contains("link-conformance"), "{commands:?}");
    for command in &commands {
        assert!(
            image.contains(command),
            "{command} is not in the image ({image:?})"
        );
    }
    // `binary` mode installs those same commands with cargo.
    let action = action_runs().join("\n");
    for (package, binary) in [
        ("conformance", "link-conformance"),
        ("reference-client", "link-ref"),
    ] {
        assert!(action.contains(&format!("--path \"$GITHUB_ACTION_PATH/{package}\"")));
        assert!(read(&format!("{package}/Cargo.toml")).contains(&format!("name = \"{binary}\"")));
    }
    in_the_image_when_docker_has_it(&commands);
}

/// `docker run link-harness <command> --version` for each command, when Docker holds the image.
fn in_the_image_when_docker_has_it(commands: &BTreeSet<String>) {
    let has_image = std::process::Command::new("docker")
        .args(["image", "inspect", "link-harness"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_image {
        eprintln!("(no link-harness image in Docker: checked against scripts/image only)");
        return;
    }
    for command in commands {
        let run = std::process::Command::new("docker")
            .args([
                "run",
                "--rm",
                "--network",
                "none",
                "link-harness",
                command,
                "--version",
            ])
            .output()
            .unwrap();
        assert!(run.status.success(), "{command} in the image: {run:?}");
    }
}
