//! `link-bench`: the tooling `scripts/bench` drives. Baseline servers the mocks are
//! measured against, start-to-ready timing, and the single-use inputs (SPTs, paid
//! credentials, spend requests) a load run consumes. Loopback only.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, Subcommand};
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};

/// The body both baselines answer: about the size of a small API object.
fn fixed_body() -> Value {
    json!({"id": "lsrq_baseline", "object": "spend_request", "status": "created", "amount": 2500, "currency": "usd"})
}

/// mock-link's seeded merchant key (docs/mock-link.md, "Seeded data").
const MERCHANT_KEY: &str = "sk_test_mock_merchant";

#[derive(Parser)]
#[command(about = "Bench-only tooling for scripts/bench")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// A bare axum server answering every request with a fixed JSON body.
    ServeBare {
        #[arg(long)]
        port: u16,
    },
    /// A wiremock-rs MockServer with one mounted mock answering the fixed JSON body.
    ServeWiremock {
        #[arg(long)]
        port: u16,
    },
    /// Start CMD RUNS times and time process start until `GET /` on PORT answers.
    Ready {
        #[arg(long)]
        port: u16,
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(trailing_var_arg = true, required = true)]
        command: Vec<String>,
    },
    /// Mint N test-helper SPTs at mock-link (2500 usd, the seeded merchant's network).
    MintSpts {
        #[arg(long)]
        link: String,
        #[arg(long)]
        n: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// N `Authorization` values that pay mock-merchant's `/m/api/report`, each a fresh
    /// challenge with a fresh SPT.
    PaidCredentials {
        #[arg(long)]
        link: String,
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        n: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Create spend requests at mock-link (distinct amounts, so none is a duplicate),
    /// numbered FROM..TO; prints the id of the last one.
    CreateSpendRequests {
        #[arg(long)]
        link: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = 0)]
        from: usize,
        #[arg(long)]
        to: usize,
    },
}

/// In-flight requests of the preparation commands.
const PREP_CONCURRENCY: usize = 8;

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Cmd::Ready {
        port,
        runs,
        command,
    } = &cli.command
    {
        return ready(*port, *runs, command);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli.command))
}

async fn run(command: Cmd) -> Result<()> {
    let client = reqwest::Client::new();
    match command {
        Cmd::ServeBare { port } => serve_bare(port).await,
        Cmd::ServeWiremock { port } => serve_wiremock(port).await,
        Cmd::MintSpts { link, n, out } => {
            let spts = prepare(0..n, |_| mint_spt(&client, &link)).await?;
            write_lines(&out, &spts)
        }
        Cmd::PaidCredentials {
            link,
            merchant,
            n,
            out,
        } => {
            let lines = prepare(0..n, |_| paid_credential(&client, &link, &merchant)).await?;
            write_lines(&out, &lines)
        }
        Cmd::CreateSpendRequests {
            link,
            token,
            from,
            to,
        } => {
            let ids = prepare(from..to, |n| {
                create_spend_request(&client, &link, &token, n)
            })
            .await?;
            println!("{}", ids.last().map(String::as_str).unwrap_or(""));
            Ok(())
        }
        Cmd::Ready { .. } => unreachable!("handled before the runtime starts"),
    }
}

/// Runs `make` for each number, `PREP_CONCURRENCY` at a time, and keeps the answers in order.
async fn prepare<F, Fut>(numbers: std::ops::Range<usize>, make: F) -> Result<Vec<String>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<String>>,
{
    stream::iter(numbers)
        .map(make)
        .buffered(PREP_CONCURRENCY)
        .try_collect()
        .await
}

async fn serve_bare(port: u16) -> Result<()> {
    let body = fixed_body();
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { axum::Json(body) }
    });
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn serve_wiremock(port: u16) -> Result<()> {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
    let server = MockServer::builder().listener(listener).start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(fixed_body()))
        .mount(&server)
        .await;
    std::future::pending::<()>().await;
    Ok(())
}

/// Times `command` from spawn until an HTTP answer to `GET /` arrives on `port`, `runs`
/// times (the port must be free); prints `min median max` in milliseconds.
fn ready(port: u16, runs: usize, command: &[String]) -> Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let mut child = Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", command[0]))?;
        let answered = loop {
            if answers_http(address) {
                break Some(start.elapsed());
            }
            if start.elapsed() > Duration::from_secs(10) || child.try_wait()?.is_some() {
                break None;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        child.kill().ok();
        child.wait()?;
        let Some(elapsed) = answered else {
            bail!("{} never answered on {address}", command.join(" "));
        };
        times.push(elapsed.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{:.2} {:.2} {:.2}",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
    Ok(())
}

/// Whether an HTTP/1.1 answer (any status) comes back for `GET /`.
fn answers_http(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(50)) else {
        return false;
    };
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
    let request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut head = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.1 ")
}

async fn mint_spt(client: &reqwest::Client, link: &str) -> Result<String> {
    let answer: Value = client
        .post(format!(
            "{link}/v1/test_helpers/shared_payment/granted_tokens"
        ))
        .bearer_auth(MERCHANT_KEY)
        .form(&[
            ("payment_method", "pm_card_visa"),
            ("usage_limits[currency]", "usd"),
            ("usage_limits[max_amount]", "2500"),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    id_of(&answer)
}

async fn paid_credential(client: &reqwest::Client, link: &str, merchant: &str) -> Result<String> {
    let spt = mint_spt(client, link).await?;
    let answer = client
        .get(format!("{merchant}/m/api/report"))
        .send()
        .await?;
    ensure!(
        answer.status() == 402,
        "expected a 402, got {}",
        answer.status()
    );
    let values = answer.headers().get_all("www-authenticate").iter();
    let challenge = mpp_wire::select_stripe_challenge(values.map(|value| value.as_bytes()))?;
    Ok(mpp_wire::format_credential(&challenge.spt_credential(&spt)))
}

async fn create_spend_request(
    client: &reqwest::Client,
    link: &str,
    token: &str,
    n: usize,
) -> Result<String> {
    let answer: Value = client
        .post(format!("{link}/spend_requests"))
        .bearer_auth(token)
        .json(&spend_request_body(n))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    id_of(&answer)
}

/// The `id` of an object mock-link answered.
fn id_of(answer: &Value) -> Result<String> {
    answer["id"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no id in {answer}"))
}

/// The card spend request number `n` (amount `n + 1` cents, so no two are duplicates);
/// the same shape as `scripts/bench.d/create.lua` sends.
fn spend_request_body(n: usize) -> Value {
    json!({
        "payment_details": "csmrpd_default_visa",
        "credential_type": "card",
        "amount": n % 400_000 + 1,
        "currency": "usd",
        "merchant_name": "Bench Shop",
        "merchant_url": "https://shop.example",
        "context": "A benchmark purchase: the agent buys one item for the user, who asked for it by name and approves the amount.",
    })
}

fn write_lines(path: &PathBuf, lines: &[String]) -> Result<()> {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
