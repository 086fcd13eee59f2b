//! Where Link is and where the session lives, from the environment.

use std::path::PathBuf;
use std::time::Duration;

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
    /// `LINK_HTTP_TIMEOUT` (seconds, fractional allowed): per request.
    pub http_timeout: Duration,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
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
            http_timeout: non_empty("LINK_HTTP_TIMEOUT")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64)
                .unwrap_or(Duration::from_secs(30)),
        }
    }
}

fn trim_slash(url: String) -> String {
    url.trim_end_matches('/').to_owned()
}
