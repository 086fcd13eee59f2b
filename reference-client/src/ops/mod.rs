//! The operations, shared by the CLI and the MCP server: each takes its
//! arguments and an [`Emit`](crate::output::Emit) for what it yields.

pub mod account;
pub mod auth;
pub mod mpp;
pub mod spend_requests;

use std::time::Duration;

use tokio::time::Instant;

use crate::error::{ClientError, Result, codes};

/// Paces a polling loop and ends it with `POLLING_TIMEOUT` when the time or
/// the attempts run out.
pub struct Poller {
    interval: Duration,
    deadline: Option<Instant>,
    max_attempts: Option<u32>,
    attempts: u32,
    what: &'static str,
}

impl Poller {
    /// Polls every `interval` seconds, for at most `timeout` seconds and `max_attempts` polls.
    pub fn new(
        interval: f64,
        timeout: Option<f64>,
        max_attempts: Option<u32>,
        what: &'static str,
    ) -> Result<Self> {
        let seconds = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(ClientError::invalid_input(format!(
                    "--{name} must be a number of seconds, not {v}"
                )))
            }
        };
        let interval = seconds("interval", interval)?;
        let deadline = match timeout {
            Some(t) => Some(Instant::now() + seconds("timeout", t)?),
            None => None,
        };
        Ok(Self {
            interval,
            deadline,
            max_attempts,
            attempts: 0,
            what,
        })
    }

    /// Adds to the interval (`slow_down`).
    pub fn slow_down(&mut self, by: Duration) {
        self.interval += by;
    }

    /// Counts one poll about to be made; fails when attempts or time are used up.
    pub fn attempt(&mut self) -> Result<()> {
        if self.max_attempts.is_some_and(|max| self.attempts >= max) {
            return Err(self.timeout(format!("{} polls", self.attempts)));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(self.timeout("the timeout".into()));
        }
        self.attempts += 1;
        Ok(())
    }

    /// Waits until the next poll is due (never past the deadline).
    pub async fn wait(&mut self) -> Result<()> {
        let next = Instant::now() + self.interval;
        match self.deadline {
            Some(deadline) if next > deadline => {
                tokio::time::sleep_until(deadline).await;
                Err(self.timeout("the timeout".into()))
            }
            _ => {
                tokio::time::sleep_until(next).await;
                Ok(())
            }
        }
    }

    fn timeout(&self, after: String) -> ClientError {
        ClientError::new(
            codes::POLLING_TIMEOUT,
            format!(
                "stopped waiting for {} after {after}; run the same command again to keep waiting",
                self.what
            ),
        )
        .with("retryable", true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_down_adds_to_the_interval_and_attempts_run_out() {
        let mut poller = Poller::new(0.5, None, Some(2), "x").unwrap();
        poller.slow_down(Duration::from_secs(5));
        assert_eq!(poller.interval, Duration::from_millis(5500));
        assert!(poller.attempt().is_ok());
        assert!(poller.attempt().is_ok());
        let e = poller.attempt().unwrap_err();
        assert_eq!(e.code, codes::POLLING_TIMEOUT);
        assert_eq!(e.extra["retryable"], true);
        assert!(Poller::new(-1.0, None, None, "x").is_err());
        assert!(Poller::new(f64::NAN, None, None, "x").is_err());
    }
}
