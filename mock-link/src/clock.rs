//! The virtual clock: real time plus an offset that only the control API moves.
//!
//! Every expiry in mock-link (device codes, tokens, spend requests, credentials)
//! is computed from [`Clock::now`], so a test advances the clock instead of sleeping. mock-merchant
//! runs on the same [`Clock`] type.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The longest span mock-link adds to a time (lifetimes, clock advances): 100 years. Longer
/// spans are cut to it, so no configuration or request can overflow a `SystemTime`.
pub const MAX_SPAN: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `time + by`, with `by` cut to [`MAX_SPAN`].
pub fn later(time: SystemTime, by: Duration) -> SystemTime {
    time.checked_add(by.min(MAX_SPAN)).unwrap_or(time)
}

/// Real time shifted forward by an offset that only moves forward.
///
/// The one virtual clock of both mocks: mock-link keeps it in its store (and its `--state`
/// database), mock-merchant in its shared state. Moving it takes `&mut self`, so a change to
/// mock-link's clock goes through the store's one door like every other change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Clock {
    offset: Duration,
}

/// [`Clock::try_advance`] refused: the clock would be more than [`MAX_SPAN`] ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the clock is {} s ahead and can be at most 100 years ({} s) ahead", .ahead.as_secs(), MAX_SPAN.as_secs())]
pub struct TooFarAhead {
    /// How far the clock is ahead now.
    pub ahead: Duration,
}

impl Clock {
    /// The current virtual time.
    pub fn now(&self) -> SystemTime {
        later(SystemTime::now(), self.offset)
    }

    /// Moves the virtual time forward, cutting the offset at [`MAX_SPAN`]; time never goes
    /// backwards.
    pub fn advance(&mut self, by: Duration) {
        self.offset = self.offset.saturating_add(by).min(MAX_SPAN);
    }

    /// Moves the virtual time forward by exactly `by`, or not at all when that would take the
    /// clock more than [`MAX_SPAN`] ahead. The control APIs answer 400 then: answering 200
    /// without moving would leave a test believing time passed.
    pub fn try_advance(&mut self, by: Duration) -> Result<(), TooFarAhead> {
        match self
            .offset
            .checked_add(by)
            .filter(|moved| *moved <= MAX_SPAN)
        {
            Some(moved) => {
                self.offset = moved;
                Ok(())
            }
            None => Err(TooFarAhead { ahead: self.offset }),
        }
    }

    /// How far the virtual clock is ahead of real time.
    pub fn offset(&self) -> Duration {
        self.offset
    }
}

/// Whole seconds since the Unix epoch (what the wire carries).
pub fn unix_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unix milliseconds of `time` (0 before the epoch).
pub fn unix_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// RFC 3339 text of `time` in UTC, whole seconds (`2026-01-30T12:00:00Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let whole = time::OffsetDateTime::from_unix_timestamp(unix_seconds(time))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    whole
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The UTC calendar date of unix `seconds` (`2026-01-30`).
pub fn calendar_date(seconds: i64) -> String {
    let moment = time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    moment
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// The instant `seconds` after the Unix epoch (negative values clamp to the epoch).
pub fn from_unix_seconds(seconds: i64) -> SystemTime {
    later(UNIX_EPOCH, Duration::from_secs(seconds.max(0) as u64))
}

/// Seconds left until `deadline`, rounded up, zero once it has passed.
pub fn seconds_until(now: SystemTime, deadline: SystemTime) -> u64 {
    match deadline.duration_since(now) {
        Ok(left) => left.as_secs() + u64::from(left.subsec_nanos() > 0),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward_by_at_least_the_offset() {
        let mut clock = Clock::default();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now().duration_since(before).unwrap() >= Duration::from_secs(3600));
        assert_eq!(clock.offset(), Duration::from_secs(3600));
    }

    #[test]
    fn timestamps_render_as_rfc3339_and_dates() {
        let moment = UNIX_EPOCH + Duration::from_secs(1_769_774_400);
        assert_eq!(rfc3339(moment), "2026-01-30T12:00:00Z");
        assert_eq!(calendar_date(1_769_774_400), "2026-01-30");
    }

    #[test]
    fn huge_spans_are_cut_instead_of_overflowing() {
        let mut clock = Clock::default();
        clock.advance(Duration::MAX);
        clock.advance(Duration::MAX);
        assert_eq!(clock.offset(), MAX_SPAN);
        let _ = clock.now();
        let far = later(SystemTime::now(), Duration::MAX);
        assert!(far > SystemTime::now());
        let _ = from_unix_seconds(i64::MAX);
    }

    #[test]
    fn try_advance_moves_exactly_or_not_at_all() {
        let mut clock = Clock::default();
        clock
            .try_advance(MAX_SPAN - Duration::from_secs(10))
            .unwrap();
        let refused = clock.try_advance(Duration::from_secs(11)).unwrap_err();
        assert_eq!(refused.ahead, MAX_SPAN - Duration::from_secs(10));
        assert_eq!(clock.offset(), MAX_SPAN - Duration::from_secs(10));
        clock.try_advance(Duration::from_secs(10)).unwrap();
        assert_eq!(clock.offset(), MAX_SPAN);
        assert!(clock.try_advance(Duration::MAX).is_err());
    }

    #[test]
    fn seconds_until_rounds_up_and_stops_at_zero() {
        let now = UNIX_EPOCH + Duration::from_secs(100);
        assert_eq!(seconds_until(now, now + Duration::from_millis(1500)), 2);
        assert_eq!(seconds_until(now, now - Duration::from_secs(1)), 0);
    }
}
