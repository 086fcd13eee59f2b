//! Where Link is and where the session lives, from the environment.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{ClientError, Result};
use crate::sanitize::clean_text;

/// The real service's hosts, used when no override is set.
pub const DEFAULT_AUTH_BASE_URL: &str = "https://login.link.com";
/// See [`DEFAULT_AUTH_BASE_URL`].
pub const DEFAULT_API_BASE_URL: &str = "https://api.link.com";
/// The OAuth client id this client presents.
pub const CLIENT_ID: &str = "lwlpk_link_ref";
/// Scopes asked for at login.
pub const DEFAULT_SCOPE: &str = "userinfo:read payment_methods.agentic";

/// Configuration read once per invocation.
#[derive(Debug, Clone)]
pub struct Config {
    /// `LINK_AUTH_BASE_URL`.
    pub auth_base_url: String,
    /// `LINK_API_BASE_URL`.
    pub api_base_url: String,
    /// `LINK_AUTH_FILE`, else `$HOME/.config/link-ref/session.json`.
    pub credentials_path: PathBuf,
    /// `LINK_ACCESS_TOKEN`: use this token, never refresh, never write the file.
    pub access_token: Option<String>,
    /// `LINK_REFRESH_TOKEN`: with `LINK_ACCESS_TOKEN`, allows refreshing in memory.
    pub refresh_token: Option<String>,
    /// `LINK_NO_REFRESH`: do not refresh on 401.
    pub no_refresh: bool,
    /// `LINK_UPDATE_FEED`: a URL answering the latest version (plain text or `{"version"}`).
    pub update_feed: Option<String>,
    /// `LINK_HTTP_TIMEOUT` (seconds, fractional allowed, more than 0 and at
    /// most [`MAX_HTTP_TIMEOUT_SECS`]): per request. Default 30 s.
    pub http_timeout: Duration,
    /// `LINK_HTTP_TIMEOUT` when it is not such a number: [`Config::check`]
    /// refuses it before any request.
    pub invalid_http_timeout: Option<String>,
    /// `LINK_SPT_RETRY_DELAYS` (comma-separated seconds): the waits before each
    /// retrieval of a shared payment token that Link has not minted yet, the
    /// first one before the first retrieval (default [`SPT_RETRY_DELAYS`]).
    /// Tests shorten it; a malformed value keeps the default.
    pub spt_retry_delays: Vec<Duration>,
}

/// The default of `LINK_HTTP_TIMEOUT`.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest `LINK_HTTP_TIMEOUT` accepted: a day.
pub const MAX_HTTP_TIMEOUT_SECS: f64 = 86_400.0;

/// The public client's schedule for a token that is not there yet: retrievals
/// at 0, 1, 2, 3, 5, 7, 9 and 11 seconds.
pub const SPT_RETRY_DELAYS: [f64; 8] = [0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0];

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let http_timeout = non_empty("LINK_HTTP_TIMEOUT").map(|v| parse_http_timeout(&v).ok_or(v));
        let home = non_empty("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        Self {
            auth_base_url: trim_slash(
                non_empty("LINK_AUTH_BASE_URL").unwrap_or_else(|| DEFAULT_AUTH_BASE_URL.into()),
            ),
            api_base_url: trim_slash(
                non_empty("LINK_API_BASE_URL").unwrap_or_else(|| DEFAULT_API_BASE_URL.into()),
            ),
            credentials_path: non_empty("LINK_AUTH_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".config").join("link-ref").join("session.json")),
            access_token: non_empty("LINK_ACCESS_TOKEN"),
            refresh_token: non_empty("LINK_REFRESH_TOKEN"),
            no_refresh: non_empty("LINK_NO_REFRESH").is_some_and(|v| v != "0" && v != "false"),
            update_feed: non_empty("LINK_UPDATE_FEED"),
            http_timeout: http_timeout
                .as_ref()
                .and_then(|t| t.as_ref().ok().copied())
                .unwrap_or(DEFAULT_HTTP_TIMEOUT),
            invalid_http_timeout: http_timeout.and_then(|t| t.err()),
            spt_retry_delays: non_empty("LINK_SPT_RETRY_DELAYS")
                .and_then(|v| parse_delays(&v))
                .unwrap_or_else(|| SPT_RETRY_DELAYS.map(Duration::from_secs_f64).to_vec()),
        }
    }
}

impl Config {
    /// Refuses a configuration that cannot be used (a bad `LINK_HTTP_TIMEOUT`),
    /// before anything is sent.
    pub fn check(&self) -> Result<()> {
        match &self.invalid_http_timeout {
            Some(raw) => Err(ClientError::invalid_input(format!(
                "LINK_HTTP_TIMEOUT must be a number of seconds above 0 and at most {MAX_HTTP_TIMEOUT_SECS}, not {:?}",
                clean_text(raw)
            ))),
            None => Ok(()),
        }
    }
}

/// `2.5`: seconds, above 0 and at most [`MAX_HTTP_TIMEOUT_SECS`].
fn parse_http_timeout(text: &str) -> Option<Duration> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0 && *s <= MAX_HTTP_TIMEOUT_SECS)
        .map(Duration::from_secs_f64)
}

/// `0,0.5,1`: seconds, each finite and not negative, at least one.
fn parse_delays(text: &str) -> Option<Vec<Duration>> {
    text.split(',')
        .map(|s| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(Duration::from_secs_f64)
        })
        .collect::<Option<Vec<_>>>()
        .filter(|d| !d.is_empty())
}

fn trim_slash(url: String) -> String {
    url.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spt_schedule_is_the_public_clients_unless_overridden() {
        let config = Config::from_lookup(|_| None);
        let at: Vec<f64> = config
            .spt_retry_delays
            .iter()
            .scan(0.0, |t, d| {
                *t += d.as_secs_f64();
                Some(*t)
            })
            .collect();
        assert_eq!(at, [0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 9.0, 11.0]);
        let short =
            Config::from_lookup(|k| (k == "LINK_SPT_RETRY_DELAYS").then(|| "0, 0.01".into()));
        assert_eq!(
            short.spt_retry_delays,
            [Duration::ZERO, Duration::from_millis(10)]
        );
        for bad in ["x", "1,-1", "", "1,,2"] {
            let config =
                Config::from_lookup(|k| (k == "LINK_SPT_RETRY_DELAYS").then(|| bad.into()));
            assert_eq!(config.spt_retry_delays.len(), 8, "{bad:?}");
        }
    }
}
