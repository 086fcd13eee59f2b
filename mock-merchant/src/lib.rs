//! # mock-merchant: the shops an agent meets, honest and hostile
//!
//! One axum server hosting a catalogue of merchants under their own path
//! prefixes (`/m/<merchant-id>/...`), each a scenario a Link client or an
//! agent must handle. The paid ones speak the HTTP `Payment` scheme through
//! `mpp-wire` and settle shared payment tokens at a Stripe-compatible API,
//! normally an in-process mock-link. See `docs/mock-merchant.md` for the
//! catalogue and [`CATALOGUE`] for the same list in code.
//!
//! ## Tutorial
//!
//! Start mock-link (it plays Link and Stripe) and a mock-merchant settling
//! there, probe a paid endpoint, pay its stripe challenge with an SPT that
//! a user approved, and read the receipt and the merchant's ledger:
//!
//! ```
//! use mock_link::MockLink;
//! use mock_merchant::MockMerchant;
//! use serde_json::{Value, json};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let link = MockLink::start().await;
//! let merchant = MockMerchant::start(link.base_url()).await;
//! let http = reqwest::Client::new();
//!
//! // 1. The probe: 402 with several challenges, stripe among them.
//! let url = merchant.url("api", "/report");
//! let probe = http.get(&url).send().await?;
//! assert_eq!(probe.status(), 402);
//! let fields = probe.headers().get_all("www-authenticate").iter().map(|v| v.as_bytes());
//! let challenge = mpp_wire::select_stripe_challenge(fields)?;
//! assert_eq!(challenge.network_id, "profile_mock_merchant");
//!
//! // 2. The user approves a spend request for that network: an SPT.
//! let tokens = link.control().issue_tokens("usr_default").await?;
//! let created: Value = http
//!     .post(format!("{}/spend_requests", link.base_url()))
//!     .bearer_auth(tokens["access_token"].as_str().unwrap())
//!     .json(&json!({
//!         "payment_details": "csmrpd_default_visa",
//!         "credential_type": "shared_payment_token",
//!         "network_id": challenge.network_id,
//!         "amount": 2500,
//!         "currency": "usd",
//!         "context": "Buying one premium market report from the mock merchant for the user, who asked for today's edition of it.",
//!         "request_approval": true,
//!     }))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! let approved = link
//!     .control()
//!     .approve_spend_request(created["id"].as_str().unwrap())
//!     .await?;
//! let spt = approved["shared_payment_token"]["id"].as_str().unwrap();
//!
//! // 3. The paid retry: 200, the resource and a receipt naming the PaymentIntent.
//! let credential = mpp_wire::format_credential(&challenge.spt_credential(spt));
//! let paid = http.get(&url).header("authorization", credential).send().await?;
//! assert_eq!(paid.status(), 200);
//! let receipt = mpp_wire::parse_receipt(paid.headers()["payment-receipt"].to_str()?)?;
//! assert!(receipt.reference.starts_with("pi_"));
//!
//! // 4. What the merchant saw, for assertions.
//! let events: Vec<String> = merchant
//!     .ledger_of("api")
//!     .into_iter()
//!     .filter(|e| e.challenge_id.as_deref() == Some(challenge.id.as_str()))
//!     .map(|e| e.event)
//!     .collect();
//! assert_eq!(events, ["challenge_issued", "credential_received", "paid"]);
//! merchant.shutdown().await;
//! link.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Expiry runs on the merchant's own clock ([`MockMerchant::advance_clock`] or
//! `POST /__control/clock/advance`), so tests never sleep.
//!
//! ## The whole test-author API
//!
//! - [`MockMerchant`] (`start`, `builder`, `base_url`, `url`, `ledger`, `ledger_of`,
//!   `set_knobs`, `knobs_of`, `advance_clock`, `reset`, `shutdown`) and
//!   [`MockMerchantBuilder`] (with [`Config`], [`SettleStyle`], [`Limits`]).
//! - The catalogue: [`CATALOGUE`] ([`MerchantInfo`]) and the paid endpoints [`PAID`]
//!   ([`PaidSpec`]); the seeded merchant's [`DEFAULT_SECRET_KEY`] and [`DEFAULT_NETWORK_ID`].
//! - Records: [`LedgerEntry`], what a merchant saw and did, the same on
//!   `GET /__control/ledger`.
//! - Faults: [`Knobs`] ([`Change`], [`Redirect`], [`Target`]), per merchant:
//!
//! ```
//! use mock_merchant::{Knobs, MockMerchant};
//!
//! # #[tokio::main]
//! # async fn main() {
//! let link = mock_link::MockLink::start().await;
//! let merchant = MockMerchant::start(link.base_url()).await;
//! // Refuse every payer after verification (403); a probe still gets its 402.
//! let knobs = Knobs { refuse_payers: vec!["*".into()], ..Knobs::default() };
//! merchant.set_knobs("api", knobs.clone());
//! assert_eq!(merchant.knobs_of("api"), knobs);
//! let probe = reqwest::get(merchant.url("api", "/report")).await.unwrap();
//! assert_eq!(probe.status(), 402);
//! assert_eq!(merchant.ledger_of("api")[0].event, "challenge_issued");
//! # }
//! ```
//!
//! - The bounds its routes use, in [`limits`].

mod catalogue;
mod challenges;
mod clock;
mod control;
mod control_access;
mod control_openapi;
mod hostile;
mod issuer;
mod knobs;
mod ledger;
mod listen;
mod mcp;
mod pages;
mod paid;
mod respond;
mod server;
mod settle;
mod shop;
mod state;
mod verify;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mock_link::serve;
use tokio::net::TcpListener;

pub use catalogue::{CATALOGUE, MerchantInfo};
pub use knobs::{Change, Knobs, Redirect, Target};
pub use ledger::LedgerEntry;
pub use listen::Limits;
pub use paid::{PAID, PaidSpec};
pub use state::{Config, SettleStyle};

/// The OpenAPI 3.1 document of the control API (`/__control`), as served at
/// `GET /__control/openapi.json` and committed as `docs/openapi/mock-merchant-control.json`
/// (`GET /openapi.json` is the MPP discovery document of the paid routes).
pub fn control_openapi() -> utoipa::openapi::OpenApi {
    control_openapi::document()
}

/// The bounds and names mock-merchant's routes use, for tests that probe them.
pub mod limits {
    pub use crate::hostile::{HUGE_BODY_BYTES, MANY_FIELDS};
    pub use crate::mcp::PAID_TOOL;
    pub use crate::paid::MAX_BODY_BYTES;
}

/// The secret key of mock-link's seeded merchant.
pub const DEFAULT_SECRET_KEY: &str = "sk_test_mock_merchant";
/// The network id of mock-link's seeded merchant.
pub const DEFAULT_NETWORK_ID: &str = "profile_mock_merchant";
/// A fresh random HMAC key for challenge ids (256 bits, hex), the default
/// for every start: a published key would let anyone mint valid ids.
pub fn random_challenge_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No Stripe API base URL was given.
    #[error("no Stripe API base URL: call .link(<mock-link base URL>)")]
    MissingLink,
    /// The challenge HMAC key is shorter than 32 bytes.
    #[error("the challenge secret must be at least 32 bytes")]
    WeakChallengeSecret,
    /// Binding the listener failed.
    #[error("could not listen: {0}")]
    Io(#[from] std::io::Error),
}

/// The address URLs name: a 1.x Link client sends a credential over plain
/// HTTP only to the exact hosts `127.0.0.1`, `localhost` and `[::1]`, so a
/// server listening on every interface advertises the loopback one.
fn advertised(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, address.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, address.port()))
        }
        _ => address,
    }
}

/// Configures and starts a mock-merchant.
#[derive(Debug, Clone)]
pub struct MockMerchantBuilder {
    link_url: Option<String>,
    secret_key: String,
    network_id: String,
    challenge_secret: String,
    challenge_lifetime: Duration,
    bind: SocketAddr,
    cross_origin: Option<String>,
    verify_cards_at_link: bool,
    link_control_token: Option<String>,
    settle_style: SettleStyle,
    header_slot: mpp_wire::HeaderSlot,
    limits: Limits,
    control_token: Option<String>,
    control_enabled: bool,
}

impl MockMerchantBuilder {
    /// Requires `Authorization: Bearer <token>` on the control API (default:
    /// none on a loopback bind, a generated one on any other address).
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        self.control_token = Some(token.into());
        self
    }

    /// The token mock-link's control API requires (mock-link started with
    /// `--control-token`): the card shop sends it when it asks mock-link about a card.
    pub fn link_control_token(mut self, token: impl Into<String>) -> Self {
        self.link_control_token = Some(token.into());
        self
    }

    /// Turns the control API off (every `/__control` path is 404); the Rust
    /// methods (`ledger()`, `reset()`, ...) still work.
    pub fn no_control(mut self) -> Self {
        self.control_enabled = false;
        self
    }

    /// A request's headers must arrive within this (default 10 s); an idle
    /// keep-alive connection is closed after it too.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// A request's body must arrive within this once its headers did
    /// (default 10 s; 408 Problem Details otherwise).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_timeout = timeout;
        self
    }

    /// Open connections at most (default 512); more wait to be accepted.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.limits.max_connections = max;
        self
    }

    /// How long `shutdown()` (and SIGTERM) waits for in-flight requests
    /// before dropping them (default 10 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.limits.drain_timeout = timeout;
        self
    }

    /// Base URL of the Stripe-compatible API that settles SPTs (mock-link's `base_url()`).
    pub fn link(mut self, base_url: impl Into<String>) -> Self {
        self.link_url = Some(base_url.into());
        self
    }

    /// The Stripe secret key (default: mock-link's seeded `sk_test_mock_merchant`).
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = key.into();
        self
    }

    /// The network id challenges name (default: mock-link's seeded `profile_mock_merchant`).
    pub fn network_id(mut self, network_id: impl Into<String>) -> Self {
        self.network_id = network_id.into();
        self
    }

    /// The HMAC key challenge ids are bound with (at least 32 bytes; default:
    /// a random key per start). Set one for reproducible ids in tests.
    pub fn challenge_secret(mut self, secret: impl Into<String>) -> Self {
        self.challenge_secret = secret.into();
        self
    }

    /// How long a challenge stays payable (default 5 minutes).
    pub fn challenge_lifetime(mut self, lifetime: Duration) -> Self {
        self.challenge_lifetime = lifetime;
        self
    }

    /// The address to listen on (default `127.0.0.1:0`).
    pub fn bind(mut self, address: SocketAddr) -> Self {
        self.bind = address;
        self
    }

    /// The other origin that cross-origin redirects and the phishing form
    /// point to (default `http://localhost:<port>`, this server under another host name).
    pub fn cross_origin(mut self, base_url: impl Into<String>) -> Self {
        self.cross_origin = Some(base_url.into());
        self
    }

    /// Whether the card shop asks mock-link's control API that a card was
    /// issued by Link and is within its `valid_until` (default true); when
    /// false, it checks Luhn, expiry and CVC only.
    pub fn verify_cards_at_link(mut self, verify: bool) -> Self {
        self.verify_cards_at_link = verify;
        self
    }

    /// How settlement calls the Stripe API (default: Bearer key, no
    /// `Stripe-Version`, idempotency key `<challenge id>_<spt>`).
    pub fn settle_style(mut self, style: SettleStyle) -> Self {
        self.settle_style = style;
        self
    }

    /// Where a challenge's credential `header` goes in its HMAC input:
    /// after `opaque` as draft -02 says (the default), or before it as the
    /// `mpp` crate 0.18 does (`HeaderSlot::BeforeOpaque`).
    pub fn header_slot(mut self, slot: mpp_wire::HeaderSlot) -> Self {
        self.header_slot = slot;
        self
    }

    /// Binds the listener and serves in a background task.
    pub async fn start(self) -> Result<MockMerchant, StartError> {
        let link_url = self.link_url.ok_or(StartError::MissingLink)?;
        if self.challenge_secret.len() < 32 {
            return Err(StartError::WeakChallengeSecret);
        }
        let listener = TcpListener::bind(self.bind).await?;
        let address = listener.local_addr()?;
        let base_url = format!("http://{}", advertised(address));
        let cross_origin = self
            .cross_origin
            .unwrap_or_else(|| format!("http://localhost:{}", address.port()));
        let config = Config {
            link_url,
            secret_key: self.secret_key,
            network_id: self.network_id,
            challenge_secret: self.challenge_secret,
            challenge_lifetime: self.challenge_lifetime,
            verify_cards_at_link: self.verify_cards_at_link,
            link_control_token: self.link_control_token,
            settle_style: self.settle_style,
            header_slot: self.header_slot,
            limits: self.limits,
            control: control_access::ControlAccess {
                enabled: self.control_enabled,
                token: self.control_token.or_else(|| {
                    (!address.ip().is_loopback())
                        .then(|| format!("mmct_{}", random_challenge_secret()))
                }),
                bind: address.ip(),
            },
        };
        let shared = Arc::new(state::Shared::new(config, base_url.clone(), cross_origin));
        let app = server::router(shared.clone());
        let server = serve::Running::spawn(listener, app, self.limits.options());
        tracing::info!(%base_url, "mock-merchant listening");
        Ok(MockMerchant {
            base_url,
            address,
            shared,
            server,
        })
    }
}

/// A running mock-merchant; it stops when shut down or dropped.
#[derive(Debug)]
pub struct MockMerchant {
    base_url: String,
    address: SocketAddr,
    shared: state::AppState,
    server: serve::Running,
}

impl MockMerchant {
    /// Starts every merchant with the defaults on a free loopback port, settling at the
    /// mock-link at `link_base_url`: the shortcut for
    /// `MockMerchant::builder().link(link_base_url).start()`.
    ///
    /// # Panics
    /// When the loopback listener cannot be bound (a broken test host).
    pub async fn start(link_base_url: &str) -> Self {
        Self::builder()
            .link(link_base_url)
            .start()
            .await
            .expect("mock-merchant starts on a free loopback port")
    }

    /// A builder with the defaults, bound to `127.0.0.1:0`.
    pub fn builder() -> MockMerchantBuilder {
        MockMerchantBuilder {
            link_url: None,
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            network_id: DEFAULT_NETWORK_ID.to_owned(),
            challenge_secret: random_challenge_secret(),
            challenge_lifetime: Duration::from_secs(300),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            cross_origin: None,
            verify_cards_at_link: true,
            link_control_token: None,
            settle_style: SettleStyle::default(),
            header_slot: mpp_wire::HeaderSlot::default(),
            limits: Limits::default(),
            control_token: None,
            control_enabled: true,
        }
    }

    /// `http://127.0.0.1:<port>` (the loopback address even when listening
    /// on every interface; `http://[::1]:<port>` for IPv6).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The token the control API requires, if any (set, or generated for a
    /// non-loopback bind).
    pub fn control_token(&self) -> Option<&str> {
        self.shared.config.control.token.as_deref()
    }

    /// The address the listener is bound to.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The URL of `path` (starting with `/`) of merchant `merchant_id`.
    pub fn url(&self, merchant_id: &str, path: &str) -> String {
        format!("{}/m/{merchant_id}{path}", self.base_url)
    }

    /// The other origin cross-origin redirects point to.
    pub fn cross_origin(&self) -> &str {
        &self.shared.cross_origin
    }

    /// Every ledger entry so far, oldest first.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared.ledger(None)
    }

    /// The ledger entries of one merchant.
    pub fn ledger_of(&self, merchant_id: &str) -> Vec<LedgerEntry> {
        self.shared.ledger(Some(merchant_id))
    }

    /// Sets the fault knobs of merchant `merchant_id` (replacing its previous
    /// ones; `Knobs::default()` clears them). See `docs/mock-merchant.md`.
    pub fn set_knobs(&self, merchant_id: &str, knobs: Knobs) {
        self.shared.set_knobs(merchant_id, knobs);
    }

    /// The fault knobs of merchant `merchant_id`.
    pub fn knobs_of(&self, merchant_id: &str) -> Knobs {
        self.shared.knobs_of(merchant_id)
    }

    /// Forgets the ledger, claimed challenges, probe counts, charged cards and knobs.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Moves the merchant clock forward (challenge expiry, card expiry), at most 100 years
    /// ahead in all.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Stops accepting connections, lets in-flight requests finish (at most
    /// the drain timeout), and waits for the server task to end.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}
