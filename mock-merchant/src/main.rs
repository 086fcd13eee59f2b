//! `mock-merchant`: serve the merchant catalogue against a running mock-link.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use mock_merchant::{CATALOGUE, DEFAULT_NETWORK_ID, DEFAULT_SECRET_KEY, MockMerchant};

/// The shops an agent meets, honest and hostile.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Base URL of mock-link (the Stripe API that settles SPTs).
    #[arg(
        long,
        env = "MOCK_MERCHANT_LINK_URL",
        default_value = "http://127.0.0.1:4010"
    )]
    link_url: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 4020)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Stripe secret key the merchants settle with.
    #[arg(long, env = "MOCK_MERCHANT_SECRET_KEY", default_value = DEFAULT_SECRET_KEY)]
    secret_key: String,
    /// Network id (Stripe business network profile) the challenges name.
    #[arg(long, default_value = DEFAULT_NETWORK_ID)]
    network_id: String,
    /// HMAC key binding challenge ids (at least 32 bytes). Default: a random
    /// key per start; set one for reproducible challenge ids.
    #[arg(long, env = "MOCK_MERCHANT_CHALLENGE_SECRET", hide_env_values = true)]
    challenge_secret: Option<String>,
    /// Challenge lifetime in seconds.
    #[arg(long, default_value_t = 300)]
    challenge_lifetime: u64,
    /// Milliseconds a request's headers may take (also closes idle keep-alive connections).
    #[arg(long, default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// Milliseconds a request's body may take once its headers arrived (408 after).
    #[arg(long, default_value_t = 10_000)]
    body_timeout_ms: u64,
    /// Open connections at most; more wait to be accepted.
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// Token the control API requires (`Authorization: Bearer <token>`).
    /// Default: none on a loopback bind, a generated and printed one otherwise.
    #[arg(long, env = "MOCK_MERCHANT_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,
    /// The token mock-link's control API requires, for the card shop's card checks.
    #[arg(long, env = "MOCK_LINK_CONTROL_TOKEN", hide_env_values = true)]
    link_control_token: Option<String>,
    /// Turn the control API (`/__control/*`) off.
    #[arg(long)]
    no_control: bool,
    /// Milliseconds SIGTERM or Ctrl-C waits for in-flight requests.
    #[arg(long, default_value_t = 10_000)]
    drain_timeout_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "mock_merchant=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let stop = mock_link::serve::stop_signal().context("listening for SIGTERM")?;
    let mut builder = MockMerchant::builder();
    if let Some(secret) = args.challenge_secret {
        builder = builder.challenge_secret(secret);
    }
    let token_given = args.control_token.is_some();
    if let Some(token) = args.control_token {
        builder = builder.control_token(token);
    }
    if args.no_control {
        builder = builder.no_control();
    }
    if let Some(token) = args.link_control_token {
        builder = builder.link_control_token(token);
    }
    if args.bind.is_unspecified() {
        eprintln!(
            "warning: --bind {} serves every interface: anyone who can reach port {} can use the merchants, and the control API needs its token",
            args.bind, args.port
        );
    }
    let merchant = builder
        .link(args.link_url.clone())
        .secret_key(args.secret_key)
        .network_id(args.network_id)
        .challenge_lifetime(Duration::from_secs(args.challenge_lifetime))
        .bind(SocketAddr::new(args.bind, args.port))
        .header_read_timeout(Duration::from_millis(args.header_timeout_ms))
        .body_timeout(Duration::from_millis(args.body_timeout_ms))
        .max_connections(args.max_connections)
        .drain_timeout(Duration::from_millis(args.drain_timeout_ms))
        .start()
        .await
        .context("starting mock-merchant")?;
    println!(
        "mock-merchant on {} (settling at {})",
        merchant.base_url(),
        args.link_url
    );
    for info in CATALOGUE {
        println!("\n{}: {}", info.id, info.proves);
        for path in info.paths {
            println!("  {}{path}", merchant.base_url());
        }
    }
    if let (Some(token), false, false) = (merchant.control_token(), token_given, args.no_control) {
        println!("\nexport MOCK_MERCHANT_CONTROL_TOKEN={token}");
    }
    println!(
        "\ncontrol: {0}/__control/ledger  {0}/__control/clock/advance  discovery: {0}/openapi.json",
        merchant.base_url()
    );
    stop.await.context("waiting for Ctrl-C")?;
    tracing::info!("stopping: draining in-flight requests");
    merchant.shutdown().await;
    Ok(())
}
