//! The merchant's clock: real time plus an offset that tests move forward
//! (through [`crate::MockMerchant::advance_clock`] or the control API), so
//! expiry tests never sleep.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The furthest the clock can be moved ahead: 1000 years.
pub const MAX_OFFSET_SECONDS: i64 = 1000 * 366 * 24 * 3600;

/// `at + by`, saturating at the largest representable time instead of panicking.
pub fn later(at: OffsetDateTime, by: time::Duration) -> OffsetDateTime {
    at.checked_add(by).unwrap_or(at)
}

/// Real time shifted forward by a number of seconds.
#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

impl Clock {
    /// The merchant's current time, in whole seconds.
    pub fn now(&self) -> OffsetDateTime {
        let now = later(
            OffsetDateTime::now_utc(),
            time::Duration::seconds(self.offset()),
        );
        now.replace_nanosecond(0).unwrap_or(now)
    }

    /// Moves the clock forward by `seconds` (negative values are ignored; the
    /// total offset is capped at [`MAX_OFFSET_SECONDS`]).
    pub fn advance(&self, seconds: i64) {
        let _ = self
            .offset_seconds
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                Some(
                    offset
                        .saturating_add(seconds.max(0))
                        .min(MAX_OFFSET_SECONDS),
                )
            });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_forward_only_and_never_overflows() {
        let clock = Clock::default();
        let start = clock.now();
        clock.advance(-100);
        assert_eq!(clock.offset(), 0);
        clock.advance(3600);
        assert!(clock.now() >= start + time::Duration::seconds(3600));
        clock.advance(i64::MAX);
        clock.advance(i64::MAX);
        assert_eq!(clock.offset(), MAX_OFFSET_SECONDS);
        assert!(!rfc3339(clock.now()).is_empty());
    }
}
