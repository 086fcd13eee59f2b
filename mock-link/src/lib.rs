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
//! ## Where things are
//!
//! - [`auth`]: the device flow, refresh, revoke, and the bearer check of the API host.
//! - [`spend_requests`]: the API handlers; [`spend_requests::state_machine`] is the pure
//!   `transition(state, event)`; [`spend_requests::validation`] every field rule;
//!   [`spend_requests::credentials`] test cards and SPTs.
//! - [`stripe`]: `POST /v1/payment_intents` (SPT redemption) and its retrieve;
//!   [`granted_tokens`]: the seller's view of an SPT and Stripe's test helpers;
//!   [`seller_client`]: a typed client of those routes for tests playing the seller.
//! - [`accounts`], [`balances`], [`observations`]: the other API resources.
//! - [`control`] and [`control_client`]: the `/__control` API and its typed client;
//!   [`scripts`] (outcomes after N polls, magic inputs), [`faults`], [`seed`].
//! - [`pages`]: the HTML pages; [`request_log`]: the middleware that logs and redacts.
//! - [`clock`], [`config`], [`store`], [`error`], [`server`]: the plumbing;
//!   [`state_db`]: `--state`, the store kept in SQLite across restarts.
//!
//! The seeded account: user `usr_default` (Jenny Rosen) with a default Visa
//! `csmrpd_default_visa` and a Mastercard `csmrpd_default_mastercard`; the seeded merchant
//! has secret key `sk_test_mock_merchant` and network id `profile_mock_merchant`.
//! See `docs/mock-link.md` for every endpoint and decision.

pub mod accounts;
pub mod auth;
pub mod balances;
mod body;
pub mod clock;
pub mod config;
pub mod control;
pub mod control_access;
pub mod control_client;
pub mod error;
pub mod faults;
pub mod granted_tokens;
mod ids;
pub mod insights;
pub mod model;
pub mod observations;
pub mod pages;
pub mod request_log;
pub mod seller_client;
pub mod serve;
pub mod server;
pub mod spend_requests;
pub mod stripe;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::Config;
pub use control_client::{ControlClient, ControlError, loopback_http_client};
pub use error::Error;
pub use model::scripts::{DeviceOutcome, DeviceScript, SpendOutcome, SpendRequestScript};
pub use model::seed::Seed;
pub use model::spend_request::state_machine::Resolution;
pub use seller_client::{SellerClient, StripeAnswer};

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
    /// is saved before its response is sent (see [`model::state_db`]).
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
        let limits = self.limits;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve::serve(listener, app, limits, async {
                let _ = stopped.await;
            })
            .await;
        });
        tracing::info!(%base_url, "mock-link listening");
        Ok(MockLink {
            control: ControlClient::new(base_url.clone()).with_token(control_token.clone()),
            control_token,
            base_url,
            address,
            state,
            stop: Some(stop),
            task: Some(task),
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
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockLink {
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

    /// Direct access to the shared state (for in-process assertions).
    pub fn state(&self) -> &model::AppState {
        &self.state
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockLink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
