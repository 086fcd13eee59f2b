//! What every client adapter shares: the environment a scenario gives the client, why a
//! client could not be driven, and how long one operation may take.

use std::path::PathBuf;
use std::time::Duration;

use tokio::process::Command;

/// How long any single operation may take before the suite gives up on it.
pub const OPERATION_BOUND: Duration = Duration::from_secs(60);

/// Why a client could not be driven.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("could not start {program:?}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{0} did not finish within {1:?}")]
    Timeout(String, Duration),
    #[error("I/O with the client failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("MCP: {0}")]
    Mcp(String),
}

/// What a scenario gives the client: its own HOME and the mocks' URLs.
#[derive(Debug, Clone)]
pub struct ClientEnv {
    pub home: PathBuf,
    pub link_url: String,
    pub extra: Vec<(String, String)>,
}

impl ClientEnv {
    pub(crate) fn apply_to(&self, cmd: &mut Command) {
        for (key, _) in std::env::vars() {
            if key.starts_with("LINK_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("LINK_AUTH_BASE_URL", &self.link_url)
            .env("LINK_API_BASE_URL", &self.link_url)
            .env("LINK_HTTP_TIMEOUT", "3")
            .env("NO_COLOR", "1")
            // Keep Node clients offline: their update checks ask the npm
            // registry, here a closed port on loopback (the update-feed
            // scenario points it at a feed of its own).
            .env("npm_config_registry", "http://127.0.0.1:9/")
            .env("NO_UPDATE_NOTIFIER", "1");
        for (k, v) in &self.extra {
            cmd.env(k, v);
        }
    }
}
