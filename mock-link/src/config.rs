//! Lifetimes and intervals that a test or a user can tune.

use std::time::Duration;

/// Every lifetime mock-link applies; all are `Duration`s so tests can use fractions of a second.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// How long an access token works after it is issued.
    pub access_token_lifetime: Duration,
    /// How long a refresh token can be exchanged.
    pub refresh_token_lifetime: Duration,
    /// How long a device code can be approved and polled.
    pub device_code_lifetime: Duration,
    /// The minimum time between two polls of `/device/token` (`interval`).
    pub device_poll_interval: Duration,
    /// How long a spend request stays open for approval when the caller gives no `expires_at`.
    pub spend_request_expiry: Duration,
    /// How long an issued card or SPT stays usable after approval (`valid_until`).
    pub credential_lifetime: Duration,
    /// OAuth client ids (`client_id` of the login) allowed to send `expires_at` on create;
    /// everyone else gets 400 `expires_at_not_supported`. Empty by default, as at Link.
    pub expires_at_clients: Vec<String>,
    /// How long after approval an SPT appears on retrieve (PAY-10; default 0: at once).
    pub spt_delay: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            access_token_lifetime: Duration::from_secs(3600),
            refresh_token_lifetime: Duration::from_secs(30 * 24 * 3600),
            device_code_lifetime: Duration::from_secs(600),
            device_poll_interval: Duration::from_secs(5),
            spend_request_expiry: Duration::from_secs(12 * 3600),
            credential_lifetime: Duration::from_secs(3600),
            expires_at_clients: Vec::new(),
            spt_delay: Duration::ZERO,
        }
    }
}
