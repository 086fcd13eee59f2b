//! The operations, shared by the CLI and the MCP server: each takes its
//! arguments and an [`Emit`](crate::output::Emit) for what it yields.

pub mod account;
pub mod auth;
pub mod mpp;
pub mod payment_methods;
pub mod spend_requests;

use std::time::Duration;

use tokio::time::Instant;

use crate::error::{ClientError, Result, codes};

/// The longest wait between two polls after transient failures.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The shortest wait after a transient failure, however short the interval.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// Consecutive transient failures tolerated when neither a timeout nor a
/// number of attempts bounds the polling.
const MAX_UNBOUNDED_FAILURES: u32 = 5;

/// Paces a polling loop and ends it with `POLLING_TIMEOUT` when the time or
/// the attempts run out. A transient failure of one poll (`retryable: true`:
/// a 5xx, a dropped connection, a timeout) is retried with backoff within the
/// same bounds.
pub struct Poller {
    interval: Duration,
    deadline: Option<Instant>,
    max_attempts: Option<u32>,
    attempts: u32,
    what: &'static str,
    /// Consecutive transient failures, and the last one.
    failures: u32,
    last_failure: Option<ClientError>,
}

/// Whether a failure says that trying again may work.
pub fn is_transient(error: &ClientError) -> bool {
    error.extra.get("retryable") == Some(&serde_json::Value::Bool(true))
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
            failures: 0,
            last_failure: None,
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

    /// A poll answered: transient failures before it are forgotten.
    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.last_failure = None;
    }

    /// A poll failed: a transient failure makes the next [`wait`](Self::wait)
    /// a backoff (the interval doubled per consecutive failure, at most
    /// [`MAX_BACKOFF`]); any other failure is returned as it is.
    pub fn failed(&mut self, error: ClientError) -> Result<()> {
        if !is_transient(&error) {
            return Err(error);
        }
        self.failures += 1;
        if self.deadline.is_none()
            && self.max_attempts.is_none()
            && self.failures > MAX_UNBOUNDED_FAILURES
        {
            return Err(error);
        }
        self.last_failure = Some(error);
        Ok(())
    }

    fn next_delay(&self) -> Duration {
        if self.failures == 0 {
            return self.interval;
        }
        let doubled = self
            .interval
            .max(MIN_BACKOFF)
            .saturating_mul(1 << (self.failures - 1).min(16));
        doubled.min(MAX_BACKOFF.max(self.interval))
    }

    /// Waits until the next poll is due (never past the deadline).
    pub async fn wait(&mut self) -> Result<()> {
        let next = Instant::now() + self.next_delay();
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
        let error = ClientError::new(
            codes::POLLING_TIMEOUT,
            format!(
                "stopped waiting for {} after {after}; run the same command again to keep waiting",
                self.what
            ),
        )
        .with("retryable", true);
        match &self.last_failure {
            Some(last) => error.with("last_error", last.to_json()),
            None => error,
        }
    }
}

/// An id safe to put in a path: letters, digits, `_` and `-` only.
pub(crate) fn path_segment<'a>(id: &'a str, what: &str, prefix: &str) -> Result<&'a str> {
    if !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(id)
    } else {
        Err(ClientError::invalid_input(format!(
            "{id:?} is not a {what} id ({prefix}...)"
        )))
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

    #[test]
    fn transient_failures_back_off_and_others_end_the_polling() {
        let transient = || ClientError::new(codes::SERVER_ERROR, "503").with("retryable", true);
        let mut poller = Poller::new(1.0, Some(60.0), None, "x").unwrap();
        let delays: Vec<_> = (0..7)
            .map(|_| {
                poller.failed(transient()).unwrap();
                poller.next_delay().as_secs()
            })
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        poller.succeeded();
        assert_eq!(poller.next_delay(), Duration::from_secs(1));
        let e = poller
            .failed(ClientError::new(codes::NOT_FOUND, "gone"))
            .unwrap_err();
        assert_eq!(e.code, codes::NOT_FOUND);
        // Unbounded polling gives up after a few transient failures in a row.
        let mut unbounded = Poller::new(1.0, None, None, "x").unwrap();
        for _ in 0..MAX_UNBOUNDED_FAILURES {
            unbounded.failed(transient()).unwrap();
        }
        assert_eq!(
            unbounded.failed(transient()).unwrap_err().code,
            codes::SERVER_ERROR
        );
    }
}
