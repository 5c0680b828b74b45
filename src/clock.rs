//! The one clock all code asks for "now". Configuration (and tests) can set or shift it, so that
//! deadlines and waiting periods are tested and demonstrated without waiting.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SubsecRound, Utc};
use std::sync::{Arc, RwLock};

/// The first instant (stored as UTC) of a German calendar day: a period "from 1 January" a
/// German user asks for starts at 23:00 UTC the day before (22:00 in summer time).
pub fn day_start_utc(day: NaiveDate) -> NaiveDateTime {
    crate::domain::period::berlin_midnight(day).naive_utc()
}

/// The first instant (UTC) after a German calendar day: the end of a period "until" that day.
pub fn day_end_utc(day: NaiveDate) -> NaiveDateTime {
    day_start_utc(day.succ_opt().unwrap_or(day))
}

#[derive(Debug, Clone, Copy)]
struct State {
    offset: Duration,
    frozen_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Clock {
    state: Arc<RwLock<State>>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    pub fn system() -> Clock {
        Clock {
            state: Arc::new(RwLock::new(State {
                offset: Duration::zero(),
                frozen_at: None,
            })),
        }
    }

    /// A clock that starts at `start` (if given), shifted by `shift`, running or frozen.
    pub fn configured(start: Option<DateTime<Utc>>, shift: Duration, frozen: bool) -> Clock {
        let clock = Clock::system();
        if frozen {
            let at = start.unwrap_or_else(Utc::now) + shift;
            clock.write(|s| s.frozen_at = Some(at));
            return clock;
        }
        if let Some(start) = start {
            clock.set(start);
        }
        clock.advance(shift);
        clock
    }

    fn read(&self) -> State {
        *self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self, f: impl FnOnce(&mut State)) {
        let mut guard = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard);
    }

    /// Now, in UTC, truncated to microseconds so that stored and re-read times compare equal on
    /// both backends (PostgreSQL keeps microseconds).
    pub fn now(&self) -> DateTime<Utc> {
        let s = self.read();
        let t = s.frozen_at.unwrap_or_else(|| Utc::now() + s.offset);
        t.trunc_subsecs(6)
    }

    /// Now as stored in the database: naive UTC.
    pub fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }

    pub fn set(&self, at: DateTime<Utc>) {
        self.write(|s| {
            if s.frozen_at.is_some() {
                s.frozen_at = Some(at);
            } else {
                s.offset = at - Utc::now();
            }
        });
    }

    pub fn advance(&self, by: Duration) {
        self.write(|s| match s.frozen_at.as_mut() {
            Some(t) => *t += by,
            None => s.offset += by,
        });
    }

    pub fn freeze(&self) {
        let now = self.now();
        self.write(|s| s.frozen_at = Some(now));
    }
}

/// Parses a shift like `+14d`, `-3h`, `90m`, `30s`.
pub fn parse_shift(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let unit = rest.chars().last()?;
    let number: i64 = rest[..rest.len() - unit.len_utf8()].parse().ok()?;
    let d = match unit {
        'd' => Duration::try_days(number)?,
        'h' => Duration::try_hours(number)?,
        'm' => Duration::try_minutes(number)?,
        's' => Duration::try_seconds(number)?,
        _ => return None,
    };
    Some(d * sign)
}

#[cfg(test)]
mod tests {
    use super::{day_end_utc, day_start_utc};
    use chrono::NaiveDate;

    fn utc(text: &str) -> chrono::NaiveDateTime {
        text.parse().unwrap()
    }

    #[test]
    fn a_german_day_starts_at_its_local_midnight() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(day_start_utc(day(2026, 1, 1)), utc("2025-12-31T23:00:00"));
        assert_eq!(day_start_utc(day(2026, 7, 1)), utc("2026-06-30T22:00:00"));
        // Summer time begins at 02:00 on 29 March 2026: that day still starts at 23:00 UTC.
        assert_eq!(day_start_utc(day(2026, 3, 29)), utc("2026-03-28T23:00:00"));
        assert_eq!(day_end_utc(day(2026, 3, 29)), utc("2026-03-29T22:00:00"));
        assert_eq!(day_end_utc(day(2026, 10, 3)), utc("2026-10-03T22:00:00"));
        assert_eq!(day_end_utc(day(2026, 12, 31)), utc("2026-12-31T23:00:00"));
    }

    use super::*;
    use chrono::TimeZone;

    #[test]
    fn frozen_clock_stands_still_and_can_be_advanced() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let clock = Clock::configured(Some(start), Duration::zero(), true);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::days(10));
        assert_eq!(clock.now(), start + Duration::days(10));
    }

    #[test]
    fn running_clock_starts_at_configured_time() {
        let start = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let clock = Clock::configured(Some(start), Duration::hours(1), false);
        let diff = clock.now() - (start + Duration::hours(1));
        assert!(diff >= Duration::zero() && diff < Duration::seconds(5));
    }

    #[test]
    fn shifts_parse_with_units_and_signs() {
        assert_eq!(parse_shift("+14d"), Some(Duration::days(14)));
        assert_eq!(parse_shift("-3h"), Some(Duration::hours(-3)));
        assert_eq!(parse_shift("90m"), Some(Duration::minutes(90)));
        assert_eq!(parse_shift("14x"), None);
        assert_eq!(parse_shift(""), None);
        assert_eq!(parse_shift("d"), None);
    }
}
