//! `link-conformance`: runs the Link client conformance suite.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use conformance::client::ClientSpec;
use conformance::runner::{self, RunOptions};
use conformance::world::Suite;

/// Drive a Link client through every documented flow against offline mocks.
#[derive(Debug, Parser)]
#[command(name = "link-conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start mock-link and mock-merchant and print the exports and merchant URLs.
    Serve(ServeArgs),
    /// Exit 0 when a `serve` answers its health check (for a container's HEALTHCHECK).
    Health {
        /// The health endpoint's port on 127.0.0.1 (the one `serve` was given).
        #[arg(long, env = "LINK_HARNESS_HEALTH_PORT", default_value_t = 4000)]
        port: u16,
    },
    /// Run several clients and write a compatibility matrix (client x flow family).
    Matrix {
        /// Further clients (commands with the link-cli surface); repeatable.
        #[arg(long)]
        client: Vec<String>,
        /// Only scenarios matching this tag expression.
        #[arg(long)]
        tags: Option<String>,
        /// Where to write matrix.md and matrix.json.
        #[arg(long, default_value = "target/conformance")]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// The address every server listens on (0.0.0.0 in the container image).
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// mock-link's port (0: any free port).
    #[arg(long, default_value_t = 4010)]
    link_port: u16,
    /// mock-merchant's port (0: any free port).
    #[arg(long, default_value_t = 4020)]
    merchant_port: u16,
    /// The health endpoint's port: `GET /health` answers 200 once both mocks serve.
    #[arg(long, env = "LINK_HARNESS_HEALTH_PORT", default_value_t = 4000)]
    health_port: u16,
    /// The control token of both mocks; generated and printed when binding a
    /// non-loopback address without one.
    #[arg(long, env = "LINK_HARNESS_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// The client: a command with the link-cli surface (default: the bundled link-ref).
    #[arg(long)]
    client: Option<String>,
    /// An MCP server over stdio with the contract's tools; alone, every scenario runs through it.
    #[arg(long)]
    mcp: Option<String>,
    /// A client profile: a name under `profiles/` (e.g. link-cli-0.13.1) or a
    /// directory, with `capabilities` and `expected-failures` files (and
    /// `expected-failures-mcp` or `-cli`, as the scenarios run).
    #[arg(long)]
    profile: Option<String>,
    /// Capabilities the client lacks (one tag per line; `+name` declares an
    /// optional behaviour it has); their scenarios are "not applicable".
    #[arg(long)]
    capabilities: Option<PathBuf>,
    /// Scenarios known to fail (one name per line); an unexpected pass fails the run.
    #[arg(long)]
    expected_failures: Option<PathBuf>,
    /// Also run the @strict client-safety scenarios (reported apart).
    #[arg(long)]
    strict: bool,
    /// A tag expression, e.g. '@spt and not @mcp'.
    #[arg(long)]
    tags: Option<String>,
    /// Only scenarios whose name matches this regex.
    #[arg(long)]
    name: Option<String>,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Run the I-th of N deterministic shards (e.g. 2/4).
    #[arg(long)]
    shard: Option<String>,
    /// Stop at the first failure.
    #[arg(long)]
    fail_fast: bool,
    /// Write a JUnit XML report.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write a Cucumber JSON report.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the suite's own summary (verdicts, timings) as JSON.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// The features directory (default: the checkout's, or `share/link-harness/features`
    /// next to the executable's directory, as installed in the container image).
    #[arg(long, default_value_os_t = shipped_data("features"))]
    features: PathBuf,
    /// Only the summary: no progress line per scenario.
    #[arg(long, short, conflicts_with = "verbose")]
    quiet: bool,
    /// Print every step as it runs (cucumber's output) instead of a line per scenario.
    #[arg(long, short)]
    verbose: bool,
}

/// The bundled reference client: next to this executable, or built now.
fn reference_client() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating link-conformance")?;
    let dir = exe.parent().context("executable without a directory")?;
    let candidates = [dir.join("link-ref"), dir.join("../link-ref")];
    if let Some(found) = candidates.iter().find(|p| p.is_file())
        && !older_than_its_sources(found)
    {
        return Ok(found.clone());
    }
    let release = dir.ends_with("release") || dir.parent().is_some_and(|p| p.ends_with("release"));
    eprintln!(
        "link-ref missing or older than its sources next to {}; building it",
        exe.display()
    );
    let mut cargo =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.args(["build", "-p", "reference-client", "--bin", "link-ref"]);
    if release {
        cargo.arg("--release");
    }
    let status = cargo
        .status()
        .context("running cargo build -p reference-client")?;
    if !status.success() {
        bail!("cargo build -p reference-client failed");
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .context("link-ref still missing after the build")
}

/// Whether a file under `reference-client/` of this repo is newer than `binary`.
fn older_than_its_sources(binary: &std::path::Path) -> bool {
    fn newest(dir: &std::path::Path) -> Option<std::time::SystemTime> {
        let mut latest = None;
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            let time = if path.is_dir() {
                newest(&path)
            } else {
                entry.metadata().ok().and_then(|m| m.modified().ok())
            };
            latest = latest.max(time);
        }
        latest
    }
    let sources = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reference-client/src");
    let built = std::fs::metadata(binary).and_then(|m| m.modified()).ok();
    match (newest(&sources), built) {
        (Some(source), Some(built)) => source > built,
        _ => false,
    }
}

/// Flow ids that have no scenario yet (`features/PENDING`), said on every run.
fn print_pending(features: &std::path::Path) {
    let Ok(text) = std::fs::read_to_string(features.join("PENDING")) else {
        return;
    };
    let pending: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if !pending.is_empty() {
        println!(
            "\n!!! {} flow ids have no scenario yet (features/PENDING):",
            pending.len()
        );
        for line in pending {
            println!("!!!   {line}");
        }
    }
}

fn words(text: &str) -> anyhow::Result<Vec<String>> {
    let words = conformance::op::split_words(text).context("unbalanced quotes")?;
    if words.is_empty() {
        bail!("an empty command");
    }
    Ok(words)
}

/// A directory the suite ships (`features`, `profiles`): the checkout's when the binary was
/// built from one that still exists, else `<prefix>/share/link-harness/<name>` for an executable
/// in `<prefix>/bin` (the container image).
fn shipped_data(name: &str) -> PathBuf {
    let checkout = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(name);
    if checkout.is_dir() {
        return checkout;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            Some(
                exe.parent()?
                    .parent()?
                    .join("share/link-harness")
                    .join(name),
            )
        })
        .filter(|installed| installed.is_dir())
        .unwrap_or(checkout)
}

/// The profile's directory: a path, or a name under the repository's `profiles/`.
fn profile_dir(profile: &str) -> anyhow::Result<PathBuf> {
    let as_path = PathBuf::from(profile);
    if as_path.is_dir() {
        return Ok(as_path);
    }
    let shipped = shipped_data("profiles").join(profile);
    if shipped.is_dir() {
        return Ok(shipped);
    }
    bail!("no profile {profile:?}: neither a directory nor one of profiles/")
}

/// What the client lacks and what it declares having (`+name` lines), and
/// the scenarios it is known to fail: from its profile, then from the flags.
#[derive(Debug, Default)]
struct Declarations {
    lacks: Vec<String>,
    has: Vec<String>,
    expected_failures: Vec<String>,
}

impl Declarations {
    fn read(args: &RunArgs) -> anyhow::Result<Self> {
        let mut capability_files = Vec::new();
        let mut failure_files = Vec::new();
        if let Some(profile) = &args.profile {
            let dir = profile_dir(profile)?;
            // A client's MCP server may fail where its command line does
            // not, and the other way round (error codes are compared only
            // on the command line, unless it declares mcp-error-codes).
            let only_mcp = args.client.is_none() && args.mcp.is_some();
            let lists = [
                dir.join("expected-failures"),
                dir.join(if only_mcp {
                    "expected-failures-mcp"
                } else {
                    "expected-failures-cli"
                }),
            ];
            capability_files.extend(Some(dir.join("capabilities")).filter(|p| p.is_file()));
            failure_files.extend(lists.into_iter().filter(|p| p.is_file()));
        }
        capability_files.extend(args.capabilities.clone());
        failure_files.extend(args.expected_failures.clone());
        let mut declared = Self::default();
        for path in &capability_files {
            for entry in runner::read_list(path)? {
                match entry.strip_prefix('+') {
                    Some(has) => declared.has.push(has.trim_start_matches('@').to_owned()),
                    None => declared.lacks.push(entry),
                }
            }
        }
        for path in &failure_files {
            declared.expected_failures.extend(runner::read_list(path)?);
        }
        Ok(declared)
    }
}

fn suite(args: &RunArgs, declared: Vec<String>) -> anyhow::Result<Suite> {
    Ok(match (&args.client, &args.mcp) {
        (Some(client), mcp) => Suite {
            client: ClientSpec::Command(words(client)?),
            mcp: mcp.as_deref().map(words).transpose()?,
            declared,
        },
        (None, Some(mcp)) => Suite {
            client: ClientSpec::Mcp(words(mcp)?),
            mcp: None,
            declared,
        },
        (None, None) => {
            let link_ref = reference_client()?.display().to_string();
            let mut declared = declared;
            // The bundled reference client keeps `{code, message}` errors over MCP.
            declared.push(conformance::world::MCP_ERROR_CODES.into());
            Suite {
                client: ClientSpec::Command(vec![link_ref.clone()]),
                mcp: Some(vec![link_ref, "--mcp".into()]),
                declared,
            }
        }
    })
}

fn options(args: &RunArgs, declared: Declarations) -> anyhow::Result<RunOptions> {
    let suite = suite(args, declared.has)?;
    let mut options = RunOptions::new(args.features.clone(), suite);
    options.unsupported = declared.lacks;
    options.expected_failures = declared.expected_failures.into_iter().collect();
    options.strict = args.strict;
    options.tags = args.tags.as_deref().map(runner::parse_tags).transpose()?;
    options.name = args
        .name
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .context("--name")?;
    options.concurrency = args.concurrency;
    options.shard = args.shard.as_deref().map(runner::parse_shard).transpose()?;
    options.fail_fast = args.fail_fast;
    options.junit = args.junit.clone();
    options.json = args.json.clone();
    options.progress = !args.quiet;
    options.verbose = args.verbose;
    Ok(options)
}

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if !args.features.is_dir() {
        bail!("no features directory at {}", args.features.display());
    }
    let declared = Declarations::read(&args)?;
    let report = runner::run(options(&args, declared)?).await?;
    println!("\n{}", report.summary());
    print_pending(&args.features);
    if let Some(path) = &args.summary {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut link = mock_link::MockLink::builder().bind((args.bind, args.link_port).into());
    if let Some(token) = &args.control_token {
        link = link.control_token(token.clone());
    }
    let link = link
        .start()
        .await
        .map_err(|e| anyhow::anyhow!("mock-link: {e}"))?;
    // mock-link names itself by the bound address; the merchant reaches it over loopback.
    let link_url = format!("http://127.0.0.1:{}", link.address().port());
    let mut shop = mock_merchant::MockMerchant::builder()
        .bind((args.bind, args.merchant_port).into())
        .link(&link_url);
    // One token for both (the given one, or the one mock-link generated for a non-loopback bind).
    if let Some(token) = link.control_token() {
        shop = shop.control_token(token).link_control_token(token);
    }
    let shop = shop
        .start()
        .await
        .map_err(|e| anyhow::anyhow!("mock-merchant: {e}"))?;
    let health = tokio::net::TcpListener::bind((args.bind, args.health_port))
        .await
        .with_context(|| format!("health endpoint on port {}", args.health_port))?;
    let health_port = health.local_addr()?.port();
    let status = serde_json::json!({
        "status": "ok",
        "link": link_url,
        "merchant": shop.base_url(),
    });
    let health_app = axum::Router::new().route(
        "/health",
        axum::routing::get(move || async move { axum::Json(status) }),
    );
    let health_task = tokio::spawn(async move { axum::serve(health, health_app).await });
    let stop = mock_link::serve::stop_signal().context("cannot listen for SIGTERM")?;
    println!("# mock-link and mock-merchant are running; Ctrl-C stops them.");
    println!("export LINK_AUTH_BASE_URL={link_url}");
    println!("export LINK_API_BASE_URL={link_url}");
    if args.control_token.is_none()
        && let Some(token) = link.control_token()
    {
        // Generated for a non-loopback bind: the user needs it to reach the control APIs.
        println!("export LINK_HARNESS_CONTROL_TOKEN={token}");
    }
    let auth = if link.control_token().is_some() {
        " -H \"authorization: Bearer $LINK_HARNESS_CONTROL_TOKEN\""
    } else {
        ""
    };
    println!(
        "# approve a login:  curl -s -X POST {link_url}/__control/device_codes/approve{auth} -H 'content-type: application/json' -d '{{\"user_code\":\"PHRASE\"}}'",
    );
    println!("# merchants:");
    for merchant in mock_merchant::CATALOGUE {
        println!("#   {:<18} {}", merchant.id, shop.url(merchant.id, "/"));
    }
    println!("# health: http://127.0.0.1:{health_port}/health");
    stop.await.context("cannot wait for Ctrl-C")?;
    health_task.abort();
    shop.shutdown().await;
    link.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// `health`: exit 0 when `url` answers 2xx, for the image's HEALTHCHECK.
async fn health(url: &str) -> anyhow::Result<ExitCode> {
    let response = mock_link::loopback_http_client()
        .get(url)
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !response.status().is_success() {
        bail!("GET {url} answered {}", response.status());
    }
    Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => run(cli.run).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Health { port }) => health(&format!("http://127.0.0.1:{port}/health")).await,
        Some(Command::Matrix { client, tags, out }) => matrix(client, tags, out).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("link-conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn matrix(
    clients: Vec<String>,
    tags: Option<String>,
    out: PathBuf,
) -> anyhow::Result<ExitCode> {
    let link_ref = reference_client()?.display().to_string();
    let mut runs: Vec<(String, Vec<String>)> = vec![
        (
            "link-ref (CLI)".into(),
            vec!["--client".into(), link_ref.clone()],
        ),
        (
            "link-ref (MCP)".into(),
            vec!["--mcp".into(), format!("{link_ref} --mcp")],
        ),
    ];
    for client in clients {
        runs.push((client.clone(), vec!["--client".into(), client]));
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let exe = std::env::current_exe().context("locating link-conformance")?;
    let mut columns = Vec::new();
    for (i, (label, args)) in runs.iter().enumerate() {
        let summary = out.join(format!("run-{i}.json"));
        eprintln!("matrix: running {label}");
        let status = std::process::Command::new(&exe)
            .args(args)
            .args(["--quiet", "--strict", "--summary"])
            .arg(&summary)
            .args(tags.iter().flat_map(|t| ["--tags", t.as_str()]))
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("running the suite for {label}"))?;
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(&summary)
                .with_context(|| format!("no summary for {label} ({status})"))?,
        )?;
        columns.push((label.clone(), report));
    }
    let table = conformance::matrix::Matrix::from_reports(&columns);
    std::fs::write(out.join("matrix.md"), table.markdown())?;
    std::fs::write(out.join("matrix.json"), serde_json::to_vec_pretty(&table)?)?;
    println!("{}", table.markdown());
    println!("written: {}", out.join("matrix.md").display());
    Ok(ExitCode::SUCCESS)
}
