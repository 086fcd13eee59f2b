//! The merchant's clock: real time plus an offset that tests move forward
//! (through [`crate::MockMerchant::advance_clock`] or the control API), so
//! expiry tests never sleep.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Real time shifted forward by a number of seconds.
#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

impl Clock {
    /// The merchant's current time, in whole seconds.
    pub fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc() + time::Duration::seconds(self.offset());
        now.replace_nanosecond(0).unwrap_or(now)
    }

    /// Moves the clock forward by `seconds` (negative values are ignored).
    pub fn advance(&self, seconds: i64) {
        self.offset_seconds
            .fetch_add(seconds.max(0), Ordering::SeqCst);
    }

    /// How many seconds the clock is ahead of real time.
    pub fn offset(&self) -> i64 {
        self.offset_seconds.load(Ordering::SeqCst)
    }
}

/// RFC 3339 text of `at` (`2026-01-01T00:00:00Z`).
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Parses RFC 3339 text.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}
