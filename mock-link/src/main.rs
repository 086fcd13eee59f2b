//! `mock-link`: runs the offline Link on a local port and prints the env exports.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use mock_link::{MockLink, Seed};

/// An offline Link (Stripe's agent wallet) for testing Link clients.
#[derive(Debug, Parser)]
#[command(name = "mock-link", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "MOCK_LINK_BIND")]
    bind: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 4010, env = "MOCK_LINK_PORT")]
    port: u16,
    /// Access-token lifetime in seconds (fractions allowed).
    #[arg(long, default_value_t = 3600.0)]
    access_token_lifetime: f64,
    /// Refresh-token lifetime in seconds.
    #[arg(long, default_value_t = 2_592_000.0)]
    refresh_token_lifetime: f64,
    /// Device-code lifetime in seconds.
    #[arg(long, default_value_t = 600.0)]
    device_code_lifetime: f64,
    /// Minimum seconds between two token polls (faster polls get slow_down).
    #[arg(long, default_value_t = 5.0)]
    device_poll_interval: f64,
    /// Seconds an undecided spend request lives when it names no expires_at.
    #[arg(long, default_value_t = 43_200.0)]
    spend_request_expiry: f64,
    /// An OAuth client id allowed to send expires_at on create (repeatable; default none).
    #[arg(long = "expires-at-client", value_name = "CLIENT_ID")]
    expires_at_clients: Vec<String>,
    /// Seconds an issued card or SPT stays usable.
    #[arg(long, default_value_t = 3600.0)]
    credential_lifetime: f64,
    /// Seconds after approval before an SPT shows on retrieve (PAY-10).
    #[arg(long, default_value_t = 0.0)]
    spt_delay: f64,
    /// JSON file with extra users, payment methods and merchants (see docs/mock-link.md).
    #[arg(long, value_name = "FILE")]
    seed: Option<PathBuf>,
    /// Keep the state in this SQLite database (created when missing) so it survives restarts.
    #[arg(long, value_name = "PATH", env = "MOCK_LINK_STATE")]
    state: Option<PathBuf>,
    /// Require `Authorization: Bearer <TOKEN>` on the control API (generated when binding a
    /// non-loopback address without one).
    #[arg(
        long,
        env = "MOCK_LINK_CONTROL_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    control_token: Option<String>,
    /// Seconds a client has to send a request head; also closes idle keep-alive connections.
    #[arg(long, default_value_t = 10.0)]
    header_read_timeout: f64,
    /// Seconds a client has to send a request body once its head is read (then 408).
    #[arg(long, default_value_t = 30.0)]
    body_read_timeout: f64,
    /// Open connections at most; more wait until one closes.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Seconds shutdown (SIGTERM, Ctrl-C) lets in-flight requests finish.
    #[arg(long, default_value_t = 10.0)]
    shutdown_grace: f64,
    /// Turn the control API off (every /__control path answers 404; a token is then unused).
    #[arg(long)]
    no_control: bool,
}

fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .with_context(|| format!("--{name} must be a non-negative number of seconds"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "mock_link=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let seed = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read seed file {}", path.display()))?;
            Seed::from_json(&text)
                .with_context(|| format!("seed file {} is not a valid seed", path.display()))?
        }
        None => Seed::default(),
    };
    let mut builder = MockLink::builder();
    if args.bind.is_unspecified() {
        eprintln!(
            "warning: --bind {} listens on every interface: anyone who can reach port {} can use \
             mock-link (its control API needs the control token printed below)",
            args.bind, args.port
        );
    }
    if let Some(token) = &args.control_token {
        builder = builder.control_token(token.clone());
    }
    if args.no_control {
        builder = builder.no_control();
    }
    for client_id in &args.expires_at_clients {
        builder = builder.expires_at_client(client_id.clone());
    }
    if let Some(path) = &args.state {
        builder = builder.state(path.clone());
    }
    let link = builder
        .seed(seed)
        .bind(SocketAddr::new(args.bind, args.port))
        .access_token_lifetime(seconds(
            "access-token-lifetime",
            args.access_token_lifetime,
        )?)
        .refresh_token_lifetime(seconds(
            "refresh-token-lifetime",
            args.refresh_token_lifetime,
        )?)
        .device_code_lifetime(seconds("device-code-lifetime", args.device_code_lifetime)?)
        .device_poll_interval(seconds("device-poll-interval", args.device_poll_interval)?)
        .spend_request_expiry(seconds("spend-request-expiry", args.spend_request_expiry)?)
        .credential_lifetime(seconds("credential-lifetime", args.credential_lifetime)?)
        .spt_delay(seconds("spt-delay", args.spt_delay)?)
        .header_read_timeout(seconds("header-read-timeout", args.header_read_timeout)?)
        .body_read_timeout(seconds("body-read-timeout", args.body_read_timeout)?)
        .max_connections(args.max_connections as usize)
        .shutdown_grace(seconds("shutdown-grace", args.shutdown_grace)?)
        .start()
        .await
        .with_context(|| format!("cannot start on {}:{}", args.bind, args.port))?;
    let stop = mock_link::serve::stop_signal().context("cannot listen for SIGTERM")?;
    let base_url = link.base_url().to_owned();
    println!("export LINK_AUTH_BASE_URL={base_url}");
    println!("export LINK_API_BASE_URL={base_url}");
    println!("# Stripe API base for merchants: {base_url} (secret key sk_test_mock_merchant)");
    if args.no_control {
        println!("# Control API: off (--no-control)");
    } else {
        println!("# Control API: {base_url}/__control");
    }
    if let Some(token) = link.control_token()
        && args.control_token.is_none()
    {
        // Generated: the user needs it to reach the control API.
        println!("export MOCK_LINK_CONTROL_TOKEN={token}");
    }
    if let Some(path) = &args.state {
        println!("# State kept in {}", path.display());
    }
    stop.await.context("cannot wait for Ctrl-C")?;
    eprintln!("mock-link: stopping; letting in-flight requests finish");
    link.shutdown().await;
    Ok(())
}
