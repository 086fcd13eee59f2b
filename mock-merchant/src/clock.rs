//! The merchant's clock: mock-link's virtual [`mock_link::Clock`] (real time plus an offset that
//! only moves forward, at most 100 years), shared by the server's tasks and read in whole
//! seconds. Tests move it through [`crate::MockMerchant::advance_clock`] or the control API, so
//! expiry tests never sleep.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use mock_link::{Clock, TooFarAhead};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `at + by`, saturating at the largest representable time instead of panicking.
pub fn later(at: OffsetDateTime, by: time::Duration) -> OffsetDateTime {
    at.checked_add(by).unwrap_or(at)
}

/// The one virtual clock, shared between the server's tasks.
#[derive(Debug, Default)]
pub struct SharedClock(RwLock<Clock>);

impl SharedClock {
    /// The merchant's current time, in whole seconds.
    pub fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::from(self.read().now());
        now.replace_nanosecond(0).unwrap_or(now)
    }

    /// Moves the clock forward, cutting the offset at 100 years (see [`Clock::advance`]).
    pub fn advance(&self, by: Duration) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .advance(by);
    }

    /// Moves the clock forward by exactly `by`, or refuses (see [`Clock::try_advance`]).
    pub fn try_advance(&self, by: Duration) -> Result<(), TooFarAhead> {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .try_advance(by)
    }

    /// How many whole seconds the clock is ahead of real time.
    pub fn offset_seconds(&self) -> u64 {
        self.read().offset().as_secs()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Clock> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
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
    fn the_clock_moves_forward_in_whole_seconds_and_never_overflows() {
        let clock = SharedClock::default();
        let start = clock.now();
        assert_eq!(start.nanosecond(), 0);
        clock.advance(Duration::from_secs(3600));
        assert_eq!(clock.offset_seconds(), 3600);
        assert!(clock.now() >= start + time::Duration::seconds(3600));
        assert!(clock.try_advance(Duration::MAX).is_err());
        assert_eq!(clock.offset_seconds(), 3600);
        clock.advance(Duration::MAX);
        assert_eq!(
            clock.offset_seconds(),
            mock_link::limits::MAX_SPAN.as_secs()
        );
        assert!(!rfc3339(clock.now()).is_empty());
    }
}
