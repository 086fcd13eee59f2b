//! # mock-link: an offline Link for testing Link clients
//!
//! mock-link serves Link's auth host (OAuth device flow), API host (spend requests, payment
//! details, user info), the Stripe `POST /v1/payment_intents` subset a merchant uses to redeem
//! a shared payment token, a control API for tests under `/__control`, and human pages,
//! all on one loopback listener. Every expiry runs on a virtual clock, so tests never sleep.
//!
//! ## Tutorial
//!
//! Start a server, log in with the device flow, approve the device through the control API
//! (standing in for the human), and call the API with the token:
//!
//! ```
//! use std::time::Duration;
//! use mock_link::MockLink;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let link = MockLink::builder()
//!     .device_poll_interval(Duration::ZERO)
//!     .start()
//!     .await?;
//! let http = reqwest::Client::new();
//!
//! // The client asks for a device code...
//! let code: serde_json::Value = http
//!     .post(format!("{}/device/code", link.base_url()))
//!     .form(&[("client_id", "lwlpk_example"), ("client_hint", "tutorial")])
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! // ...the human approves it (here: the control API)...
//! link.control()
//!     .approve_device(code["user_code"].as_str().unwrap())
//!     .await?;
//! // ...and the next poll gets tokens.
//! let tokens: serde_json::Value = http
//!     .post(format!("{}/device/token", link.base_url()))
//!     .form(&[
//!         ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
//!         ("device_code", code["device_code"].as_str().unwrap()),
//!         ("client_id", "lwlpk_example"),
//!     ])
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! let me: serde_json::Value = http
//!     .get(format!("{}/userinfo", link.base_url()))
//!     .bearer_auth(tokens["access_token"].as_str().unwrap())
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(me["email"], "jenny.rosen@example.com");
//!
//! // Expiries follow the virtual clock: one hour later the access token is refused.
//! link.control().advance_clock(Duration::from_secs(3600)).await?;
//! let status = http
//!     .get(format!("{}/userinfo", link.base_url()))
//!     .bearer_auth(tokens["access_token"].as_str().unwrap())
//!     .send()
//!     .await?
//!     .status();
//! assert_eq!(status, 401);
//! link.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## Driving it and asserting on what a client did
//!
//! [`MockLink::start`] is the default server on a free loopback port (the builder,
//! [`MockLink::builder`], changes lifetimes, seeds users, keeps state in SQLite, ...).
//! [`MockLink::control`] is the [`ControlClient`]: it stands in for the human (approve, deny),
//! the payment network (succeed, fail), the calendar (advance the clock) and the test author
//! (faults, scripts). [`MockLink::received_requests`] and [`MockLink::ledger`] are the typed
//! records a test asserts on; the control client answers the same records over HTTP, for a
//! mock-link in another process:
//!
//! ```
//! use mock_link::MockLink;
//! use serde_json::{Value, json};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let link = MockLink::start().await;
//! // A logged-in agent (without the device flow) asks for a shared payment token...
//! let tokens = link.control().issue_tokens(mock_link::DEFAULT_USER_ID).await?;
//! let created: Value = reqwest::Client::new()
//!     .post(format!("{}/spend_requests", link.base_url()))
//!     .bearer_auth(tokens["access_token"].as_str().unwrap())
//!     .json(&json!({
//!         "payment_details": mock_link::DEFAULT_CARD_ID,
//!         "credential_type": "shared_payment_token",
//!         "network_id": mock_link::DEFAULT_MERCHANT_NETWORK_ID,
//!         "amount": 2500,
//!         "currency": "usd",
//!         "context": "Buying one premium market report from the mock merchant for the user, who asked for today's edition of it.",
//!         "request_approval": true,
//!     }))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! // ...the user approves it (the control API plays the human)...
//! let id = created["id"].as_str().unwrap();
//! let approved = link.control().approve_spend_request(id).await?;
//! assert_eq!(approved["status"], "approved");
//!
//! // ...and the test asserts on what the client sent (secrets redacted)...
//! let sent = link.received_requests();
//! assert_eq!((sent[0].method.as_str(), sent[0].path.as_str()), ("POST", "/spend_requests"));
//! assert_eq!(sent[0].headers["authorization"], "Bearer [REDACTED]");
//! // ...and on what Link issued, in-process or over HTTP alike.
//! let ledger = link.ledger();
//! assert_eq!(ledger[0].event, "issued");
//! assert_eq!(ledger[0].spend_request_id.as_deref(), Some(id));
//! assert_eq!(link.control().ledger().await?, ledger);
//! # Ok(())
//! # }
//! ```
//!
//! ## The whole test-author API
//!
//! - [`MockLink`] (`start`, `builder`, `base_url`, `control`, `received_requests`, `ledger`,
//!   `shutdown`) and [`MockLinkBuilder`]; [`Config`] and [`Seed`] (with [`SeedUser`],
//!   [`NewPaymentMethod`], [`Merchant`]) for what it starts with.
//! - [`ControlClient`] and [`ControlError`]: the `/__control` API, typed.
//! - Records: [`LoggedRequest`], [`LedgerEntry`]; scripted outcomes [`DeviceScript`]
//!   ([`DeviceOutcome`]) and [`SpendRequestScript`] ([`SpendOutcome`], [`Resolution`]);
//!   armed faults [`ArmedFault`] ([`Fault`]).
//! - [`SellerClient`]: the Stripe routes as a seller calls them.
//! - [`openapi()`]: the OpenAPI 3.1 document of every route (also served at `/openapi.json`).
//! - The seeded ids ([`DEFAULT_USER_ID`], [`DEFAULT_CARD_ID`], ...), the scopes
//!   ([`DEFAULT_SCOPE`], [`APPROVE_SCOPE`]), [`passes_luhn`] and the bounds in [`limits`].
//!
//! ## Where things are (for contributors)
//!
//! - `model/`: the records and the rules that change them, below every handler: `store.rs`
//!   (with `app_state.rs` and `state_db.rs`, `--state` in SQLite), `seed.rs`, `accounts.rs`,
//!   `spend_request/` (the pure `state_machine.rs`, `validation.rs`, `credentials.rs`,
//!   `payment.rs`, and `lifecycle.rs`: the one door for every change after creation),
//!   `granted_token.rs`, `ledger.rs`, `request_log.rs`, `scripts.rs`.
//! - Handlers above it, importing downward only: `auth.rs`, `spend_requests.rs`,
//!   `accounts.rs`, `balances.rs`, `insights.rs`, `observations.rs`, `stripe.rs`,
//!   `granted_tokens.rs`, `control/` (one file a route group), `pages.rs`; the middleware
//!   `request_log.rs`, `faults.rs`, `control_access.rs`; `server.rs` and `serve.rs`.
//!
//! The seeded account: user `usr_default` (Jenny Rosen) with a default Visa
//! `csmrpd_default_visa` and a Mastercard `csmrpd_default_mastercard`; the seeded merchant
//! has secret key `sk_test_mock_merchant` and network id `profile_mock_merchant`.
//! See `docs/mock-link.md` for every endpoint and decision.

mod accounts;
mod api_schemas;
mod auth;
mod balances;
mod body;
mod clock;
mod config;
mod control;
mod control_access;
mod control_client;
mod error;
mod faults;
mod granted_tokens;
mod ids;
mod insights;
mod model;
mod observations;
mod openapi;
mod pages;
mod request_log;
mod seller_client;
pub mod serve;
mod server;
mod spend_requests;
mod stripe;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;

pub use auth::DEFAULT_SCOPE;
pub use clock::{Clock, TooFarAhead};
pub use config::Config;
pub use control_client::{ControlClient, ControlError, loopback_http_client};
pub use faults::{ArmedFault, Fault};
pub use model::accounts::{
    Address, BankAccount, CardDetails, DEFAULT_CARD_ID, DEFAULT_MERCHANT_NETWORK_ID,
    DEFAULT_MERCHANT_SECRET_KEY, DEFAULT_USER_ID, Merchant, PaymentMethod, SECOND_CARD_ID,
    ShippingAddress,
};
pub use model::ledger::LedgerEntry;
pub use model::request_log::LoggedRequest;
pub use model::scripts::{DeviceOutcome, DeviceScript, SpendOutcome, SpendRequestScript};
pub use model::seed::{NewPaymentMethod, Seed, SeedUser};
pub use model::spend_request::credentials::passes_luhn;
pub use model::spend_request::state_machine::Resolution;
pub use seller_client::{SellerClient, StripeAnswer};
pub use spend_requests::APPROVE_SCOPE;

/// The OpenAPI 3.1 document of mock-link's HTTP API (auth host, API host, Stripe subset and
/// control API), as served at `GET /openapi.json` and committed as
/// `docs/openapi/mock-link.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::document()
}

/// The bounds mock-link enforces, for tests that probe them.
pub mod limits {
    pub use crate::clock::MAX_SPAN;
    pub use crate::model::request_log::{
        MAX_LOGGED_BODY_BYTES, MAX_LOGGED_BYTES, MAX_LOGGED_REQUESTS,
    };
    pub use crate::model::spend_request::validation::MAX_AMOUNT;
}

/// Configures and starts a mock-link.
#[derive(Debug, Clone)]
pub struct MockLinkBuilder {
    config: Config,
    bind: SocketAddr,
    seed: Seed,
    state: Option<PathBuf>,
    control_token: Option<String>,
    control_enabled: bool,
    limits: serve::ServeLimits,
}

impl MockLinkBuilder {
    /// Time to send a whole request head; also closes idle keep-alive connections (10 s).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// Time to send a whole request body once its head is read (30 s); later: 408.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_read_timeout = timeout;
        self
    }

    /// Open connections at most (512); more wait until one closes.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.limits.max_connections = max;
        self
    }

    /// How long shutdown lets in-flight requests finish (10 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.limits.shutdown_grace = grace;
        self
    }

    /// Requires `Authorization: Bearer <token>` on the control API. Without one, binding a
    /// non-loopback address generates a token ([`MockLink::control_token`]).
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        self.control_token = Some(token.into());
        self
    }

    /// Turns the control API off: every `/__control` path answers 404.
    pub fn no_control(mut self) -> Self {
        self.control_enabled = false;
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Access-token lifetime (default 1 h).
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.access_token_lifetime = lifetime;
        self
    }

    /// Refresh-token lifetime (default 30 days).
    pub fn refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.refresh_token_lifetime = lifetime;
        self
    }

    /// Device-code lifetime (default 10 min).
    pub fn device_code_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.device_code_lifetime = lifetime;
        self
    }

    /// Minimum time between two token polls (default 5 s); faster polls get `slow_down`.
    pub fn device_poll_interval(mut self, interval: Duration) -> Self {
        self.config.device_poll_interval = interval;
        self
    }

    /// How long an undecided spend request lives without `expires_at` (default 12 h).
    pub fn spend_request_expiry(mut self, expiry: Duration) -> Self {
        self.config.spend_request_expiry = expiry;
        self
    }

    /// Allows the OAuth client `client_id` to send `expires_at` on create (repeatable).
    pub fn expires_at_client(mut self, client_id: impl Into<String>) -> Self {
        self.config.expires_at_clients.push(client_id.into());
        self
    }

    /// How long after approval an SPT shows on retrieve (default 0: at once).
    pub fn spt_delay(mut self, delay: Duration) -> Self {
        self.config.spt_delay = delay;
        self
    }

    /// How long issued cards and SPTs stay usable (default 1 h).
    pub fn credential_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.credential_lifetime = lifetime;
        self
    }

    /// Extra users, payment methods and merchants, kept across control-API resets.
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, a free loopback port).
    pub fn bind(mut self, address: SocketAddr) -> Self {
        self.bind = address;
        self
    }

    /// Keeps the state in the SQLite database at `path` (created when missing), so it
    /// survives restarts: a start on an existing database continues from it. Every change
    /// is saved before its response is sent (see `docs/mock-link.md`).
    pub fn state(mut self, path: impl Into<PathBuf>) -> Self {
        self.state = Some(path.into());
        self
    }

    /// Binds the listener and serves in a background task.
    /// Fails when the address cannot be bound, the seed is invalid, or the state database
    /// cannot be used (another mock-link holds it, an unknown schema version, not readable).
    pub async fn start(self) -> std::io::Result<MockLink> {
        let listener = TcpListener::bind(self.bind).await?;
        let address = listener.local_addr()?;
        let base_url = format!("http://{address}");
        let invalid = |error: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, error);
        let (store, state_db) = match &self.state {
            None => (
                model::Store::new(self.config, base_url.clone(), self.seed)
                    .map_err(|error| invalid(error.to_string()))?,
                None,
            ),
            Some(path) => {
                let (store, db) =
                    model::state_db::open_store(path, self.config, base_url.clone(), self.seed)
                        .map_err(|error| invalid(error.to_string()))?;
                (store, Some(Arc::new(db)))
            }
        };
        let state = model::AppState {
            store: Arc::new(Mutex::new(store)),
            state_db,
        };
        let control_token = self.control_token.or_else(|| {
            (self.control_enabled && !address.ip().is_loopback())
                .then(|| ids::random_secret(control_access::CONTROL_TOKEN_PREFIX))
        });
        let access = control_access::ControlAccess {
            enabled: self.control_enabled,
            token: control_token.clone(),
            bind: address.ip(),
        };
        let app = server::router(state.clone())
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(access),
                control_access::guard,
            ))
            .layer(axum::Extension(serve::BodyReadTimeout(
                self.limits.body_read_timeout,
            )));
        let server = serve::Running::spawn(listener, app, self.limits.options());
        tracing::info!(%base_url, "mock-link listening");
        Ok(MockLink {
            control: ControlClient::new(base_url.clone()).with_token(control_token.clone()),
            control_token,
            base_url,
            address,
            state,
            server,
        })
    }
}

/// A running mock-link; it stops when shut down or dropped.
#[derive(Debug)]
pub struct MockLink {
    base_url: String,
    address: SocketAddr,
    control: ControlClient,
    control_token: Option<String>,
    state: model::AppState,
    server: serve::Running,
}

impl MockLink {
    /// Starts a mock-link with the default configuration on a free loopback port: the
    /// shortcut for `MockLink::builder().start()`.
    ///
    /// # Panics
    /// When the loopback listener cannot be bound (a broken test host).
    pub async fn start() -> Self {
        Self::builder()
            .start()
            .await
            .expect("mock-link starts on a free loopback port")
    }

    /// A builder with the default configuration, bound to `127.0.0.1:0`.
    pub fn builder() -> MockLinkBuilder {
        MockLinkBuilder {
            config: Config::default(),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seed: Seed::default(),
            state: None,
            control_token: None,
            control_enabled: true,
            limits: serve::ServeLimits::default(),
        }
    }

    /// `http://127.0.0.1:<port>`: the auth, API and Stripe base URL alike.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the listener is bound to.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The token the control API requires, if any (configured or generated).
    pub fn control_token(&self) -> Option<&str> {
        self.control_token.as_deref()
    }

    /// The control-API client (it sends the control token).
    pub fn control(&self) -> &ControlClient {
        &self.control
    }

    /// What clients sent, oldest first, secrets redacted: the request log, read in-process
    /// (over HTTP: [`ControlClient::received_requests`]).
    pub fn received_requests(&self) -> Vec<LoggedRequest> {
        self.state.lock().request_log.iter().cloned().collect()
    }

    /// The credential ledger, oldest first: every credential issued, redeemed, refused or
    /// revoked, read in-process (over HTTP: [`ControlClient::ledger`]).
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.state.lock().ledger.to_vec()
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}
