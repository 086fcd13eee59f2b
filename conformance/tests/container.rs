//! The `link-harness` container image (built by `scripts/image`), driven with testcontainers:
//! it starts, turns healthy, takes a full SPT purchase by the image's `link-ref`, runs the
//! suite, and stops. Ignored by default (it needs the image built first); run with `--ignored`.
//! Without Docker (or the image) it then says so loudly and passes, except under `CI=true`,
//! where that is a failure.

use std::time::Duration;

use mock_link::ControlClient;
use serde_json::Value;
use testcontainers::core::{ExecCommand, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

const IMAGE: &str = "link-harness";
const TOKEN: &str = "container-test-control-token";

/// Whether Docker answers and holds the image; otherwise why not.
fn docker_with_image() -> Result<(), String> {
    let inspect = std::process::Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", IMAGE])
        .output()
        .map_err(|e| format!("no docker command ({e})"))?;
    if inspect.status.success() {
        return Ok(());
    }
    Err(format!(
        "docker has no image {IMAGE} (build it with scripts/image): {}",
        String::from_utf8_lossy(&inspect.stderr).trim()
    ))
}

/// A free loopback port (the container shares the host's network).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Runs `argv` in the container; its exit code and stdout.
async fn exec(container: &ContainerAsync<GenericImage>, argv: &[&str]) -> (i64, String) {
    let mut run = container
        .exec(ExecCommand::new(argv.iter().copied()))
        .await
        .unwrap_or_else(|e| panic!("exec {argv:?}: {e}"));
    let stdout = String::from_utf8_lossy(&run.stdout_to_vec().await.unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr_to_vec().await.unwrap()).into_owned();
    let code = run.exit_code().await.unwrap().expect("an exit code");
    if code != 0 {
        eprintln!("{argv:?} exited {code}:\n{stdout}\n{stderr}");
    }
    (code, stdout)
}

/// `link-ref ... --format json` in the container: its single JSON answer.
async fn link_ref(container: &ContainerAsync<GenericImage>, args: &[&str]) -> Value {
    let mut argv = vec!["link-ref"];
    argv.extend_from_slice(args);
    argv.extend(["--format", "json"]);
    let (code, stdout) = exec(container, &argv).await;
    assert_eq!(code, 0, "{argv:?}: {stdout}");
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{argv:?}: {e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker and the link-harness image: `scripts/image`, then `cargo test -p conformance --test container -- --ignored` (CI: .ci/container)"]
async fn the_image_serves_takes_a_purchase_and_runs_the_suite() {
    if let Err(why) = docker_with_image() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true needs Docker and the {IMAGE} image: {why}");
        }
        // Straight to stderr: the test harness captures `eprintln!` of a passing test.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("\n!!! SKIPPED the container test: {why}\n\n").as_bytes(),
        );
        return;
    }
    let (health, link, merchant) = (free_port(), free_port(), free_port());
    let ports = [health, link, merchant].map(|p| p.to_string());
    let container = GenericImage::new(IMAGE, "latest")
        .with_wait_for(WaitFor::healthcheck())
        .with_network("host")
        .with_env_var("LINK_HARNESS_CONTROL_TOKEN", TOKEN)
        // Read by `serve` and by the image's health check alike.
        .with_env_var("LINK_HARNESS_HEALTH_PORT", &ports[0])
        .with_env_var("LINK_AUTH_BASE_URL", format!("http://127.0.0.1:{link}"))
        .with_env_var("LINK_API_BASE_URL", format!("http://127.0.0.1:{link}"))
        .with_cmd([
            "link-conformance",
            "serve",
            "--bind",
            "0.0.0.0",
            "--link-port",
            &ports[1],
            "--merchant-port",
            &ports[2],
        ])
        .with_startup_timeout(Duration::from_secs(60))
        .start()
        .await
        .expect("the container starts and turns healthy");
    // The image's own health check passed; the endpoint answers the host too.
    let status: Value = mock_link::loopback_http_client()
        .get(format!("http://127.0.0.1:{health}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "ok");

    // A full SPT purchase by the image's link-ref (no CA certificates in there), the user
    // approving through the control API from the host.
    let control =
        ControlClient::new(format!("http://127.0.0.1:{link}")).with_token(Some(TOKEN.into()));
    let login = link_ref(&container, &["auth", "login", "--interval", "0"]).await;
    control
        .approve_device(login["phrase"].as_str().expect("a phrase"))
        .await
        .expect("login approved");
    let status = link_ref(&container, &["auth", "status"]).await;
    assert_eq!(status["authenticated"], true);
    let created = link_ref(
        &container,
        &[
            "spend-request",
            "create",
            "--credential-type",
            "shared_payment_token",
            "--network-id",
            "profile_mock_merchant",
            "--amount",
            "2500",
            "--context",
            "A monthly market report from the container test's merchant, bought by the agent on the user's behalf, once.",
            "--request-approval",
        ],
    )
    .await;
    let id = created["id"].as_str().expect("a spend request id");
    control.approve_spend_request(id).await.expect("approved");
    let url = format!("http://127.0.0.1:{merchant}/m/api/report");
    let paid = link_ref(&container, &["mpp", "pay", &url, "--spend-request-id", id]).await;
    assert_eq!(paid["status"], 200, "{paid}");
    assert_eq!(paid["receipt"]["status"], "success", "{paid}");

    // The suite in the image, against link-ref, over its mocks: the SPT scenarios.
    let (code, summary) = exec(
        &container,
        &["link-conformance", "--quiet", "--tags", "@spt and not @mcp"],
    )
    .await;
    assert_eq!(code, 0, "{summary}");
    assert!(summary.contains("passed"), "{summary}");

    container.stop().await.expect("stops on SIGTERM");
    container.rm().await.expect("removed");
}
