//! Periods as the law counts them, for every deadline of a procedure: days from an event, ending
//! at 24:00 Berlin time of the last day and moved past weekends and the Land's public holidays.
//!
//! The rule is the same in the two sources that govern our periods:
//! - Regulation (EEC, Euratom) No 1182/71, which § 82 VgV applies to the periods of the VgV
//!   (§ 15 bid periods, § 20 extensions): a period in days from an event starts on the day after
//!   it (Art. 3(1)), runs from the first hour of its first day to the end of the last hour of its
//!   last day (Art. 3(2)(b)), includes weekends and holidays (Art. 3(3)), ends on the next working
//!   day when its last day is a Saturday, Sunday or public holiday (Art. 3(4)), and a period of
//!   two days or more holds at least two working days (Art. 3(5)).
//! - §§ 187(1), 188(1) BGB for the § 134 GWB standstill, with § 193 BGB moving a last day on a
//!   weekend or holiday to the next working day. Whether § 193 applies to the standstill is
//!   disputed; moving the end later is the safer reading (a contract concluded a day late is
//!   valid, one concluded a day early is void under § 135 GWB), so we take it.
//!
//! Periods in hours start at the next full hour and are not moved (Art. 3(1), 3(2)(a), 3(4)).
//! Periods counted backwards from an event ("six days before the deadline", § 20(3) VgV) are
//! not moved either: moving them would shorten the time they protect.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Europe::Berlin;
use holiday_de::GermanRegion;
use serde::Serialize;

/// The working days of the cooperative's Land: Monday to Friday except its public holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    pub region: GermanRegion,
}

impl Calendar {
    pub fn new(region: GermanRegion) -> Calendar {
        Calendar { region }
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !self.region.is_holiday(day)
    }

    /// `day` itself when it is a working day, else the next one.
    pub fn working_day_from(&self, day: NaiveDate) -> NaiveDate {
        let mut d = day;
        while !self.is_working_day(d) {
            d += Duration::days(1);
        }
        d
    }

    /// Why `day` is not a working day, for the explanation of a moved end.
    pub fn why_not_working(&self, day: NaiveDate) -> Option<&'static str> {
        if self.region.is_holiday(day) {
            Some("Feiertag")
        } else {
            match day.weekday() {
                Weekday::Sat => Some("Samstag"),
                Weekday::Sun => Some("Sonntag"),
                _ => None,
            }
        }
    }
}

/// The Berlin calendar day of an instant.
pub fn berlin_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Berlin).date_naive()
}

/// 00:00 Berlin time of `day`, as an instant. Midnight exists on every day in Germany (the
/// clocks change at 02:00 and 03:00); were it ever skipped, the first instant of the day after
/// the gap would not be earlier than this fallback, so nothing ends early.
pub fn berlin_midnight(day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_time(chrono::NaiveTime::MIN);
    Berlin
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| naive.and_utc())
}

/// Which rules count a period: the Regulation for the periods of the VgV, the BGB for the
/// § 134 GWB standstill. Both move a last day on a weekend or holiday; they name it differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// Reg. 1182/71, applied by § 82 VgV.
    Regulation,
    /// §§ 187(1), 188(1), 193 BGB.
    Bgb,
    /// § 222 ZPO (court periods: the BGB's counting, a last day on a weekend or holiday moved
    /// by § 222 (2) ZPO).
    Zpo,
}

impl Rules {
    fn working_day(self) -> &'static str {
        match self {
            // The Regulation's word (Art. 2(2)); in German a Saturday is a "Werktag".
            Rules::Regulation => "Arbeitstag",
            Rules::Bgb | Rules::Zpo => "Werktag",
        }
    }

    fn moving_rule(self) -> &'static str {
        match self {
            Rules::Regulation => "Art. 3 Abs. 4 VO (EWG, Euratom) Nr. 1182/71",
            Rules::Bgb => "§ 193 BGB",
            Rules::Zpo => "§ 222 Abs. 2 ZPO",
        }
    }
}

/// A period counted in days from an event, with every step of the counting, so that pages and
/// the API can show how a date came about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DayPeriod {
    /// The event the period runs from (the dispatch of a notice, the sending of a letter).
    #[serde(serialize_with = "naive_utc")]
    pub event: DateTime<Utc>,
    /// Its length in calendar days.
    pub days: i64,
    /// The first day counted: the day after the event (Berlin time).
    pub first_day: NaiveDate,
    /// The last day by counting alone.
    pub counted_last_day: NaiveDate,
    /// The last day after moving past weekends and holidays (the same when not moved).
    pub last_day: NaiveDate,
    /// The end: 24:00 Berlin time of `last_day`, i.e. 00:00 of the day after.
    #[serde(serialize_with = "naive_utc")]
    pub ends_at: DateTime<Utc>,
}

/// Instants are written as every instant of the API is: UTC without an offset
/// ("2027-01-11T23:00:00").
fn naive_utc<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&at.naive_utc(), s)
}

impl DayPeriod {
    /// Whether the end was moved to a later working day.
    pub fn moved(&self) -> bool {
        self.last_day != self.counted_last_day
    }

    /// Whether `at` lies within the period (before its end).
    pub fn runs_at(&self, at: DateTime<Utc>) -> bool {
        at < self.ends_at
    }

    /// How the period was counted, in German, with `event` naming what it runs from (e.g.
    /// "Absendung der Bekanntmachung"): "30 Tage ab dem 28.11.2026 (Tag nach der Absendung der
    /// Bekanntmachung am 27.11.2026, 10:00 Uhr), letzter gezählter Tag Sonntag, 27.12.2026
    /// (Sonntag), verschoben auf den nächsten Arbeitstag Montag, 28.12.2026; Fristende
    /// 28.12.2026, 24:00 Uhr". "Arbeitstag" is the Regulation's word (Art. 2(2)): in German a
    /// Saturday is a "Werktag".
    pub fn explain(&self, calendar: &Calendar, event: &str) -> String {
        self.explain_by(calendar, event, Rules::Regulation)
    }

    /// `explain` for a period whose end the named rules move (the standstill: § 193 BGB).
    pub fn explain_by(&self, calendar: &Calendar, event: &str, rules: Rules) -> String {
        let day = |d: NaiveDate| format!("{}, {}", weekday_de(d), d.format("%d.%m.%Y"));
        let at = self.event.with_timezone(&Berlin).format("%d.%m.%Y, %H:%M Uhr");
        let counted_from = self.first_day - Duration::days(1);
        let from = if counted_from == berlin_day(self.event) {
            format!("Tag nach der {event} am {at}")
        } else {
            // Counted from a later day than the event's own (see `days_from_day`).
            format!(
                "Tag nach dem {}, dem im Schreiben genannten Tag der {event}; tatsächlich am {at}",
                counted_from.format("%d.%m.%Y")
            )
        };
        let mut s = format!(
            "{} Tage ab dem {} ({from}), letzter gezählter Tag {}",
            self.days,
            self.first_day.format("%d.%m.%Y"),
            day(self.counted_last_day),
        );
        let moved_to = calendar.working_day_from(self.counted_last_day);
        if let Some(why) = calendar.why_not_working(self.counted_last_day) {
            s.push_str(&format!(
                " ({why}), verschoben auf den nächsten {} {} ({})",
                rules.working_day(),
                day(moved_to),
                rules.moving_rule()
            ));
        }
        if self.last_day != moved_to {
            s.push_str(&format!(
                ", verlängert bis {}, damit die Frist zwei Arbeitstage umfasst (Art. 3 Abs. 5 VO (EWG, Euratom) Nr. 1182/71)",
                day(self.last_day)
            ));
        }
        s.push_str(&format!("; Fristende {}, 24:00 Uhr", self.last_day.format("%d.%m.%Y")));
        s
    }
}

fn weekday_de(day: NaiveDate) -> &'static str {
    match day.weekday() {
        Weekday::Mon => "Montag",
        Weekday::Tue => "Dienstag",
        Weekday::Wed => "Mittwoch",
        Weekday::Thu => "Donnerstag",
        Weekday::Fri => "Freitag",
        Weekday::Sat => "Samstag",
        Weekday::Sun => "Sonntag",
    }
}

/// A period of `days` calendar days from `event` (days ≥ 1): first day the day after the event,
/// end at 24:00 of the last day, moved to the next working day, and extended until it holds two
/// working days when it is two days or longer (Art. 3(5) Reg. 1182/71).
pub fn days_from(event: DateTime<Utc>, days: i64, calendar: &Calendar) -> DayPeriod {
    days_from_day(event, berlin_day(event), days, calendar)
}

/// `days_from` counted from `event_day` instead of the event's own Berlin day: a day the
/// period must not start before (a letter that states a later sending day than the true one).
pub fn days_from_day(event: DateTime<Utc>, event_day: NaiveDate, days: i64, calendar: &Calendar) -> DayPeriod {
    let days = days.max(1);
    let last_day = last_day_after(event_day, days, calendar);
    DayPeriod {
        event,
        days,
        first_day: event_day + Duration::days(1),
        counted_last_day: event_day + Duration::days(days),
        last_day,
        ends_at: berlin_midnight(last_day + Duration::days(1)),
    }
}

/// The last day of a period of `days` calendar days from an event on `event_day` (Berlin):
/// counted from the day after, moved to the next working day, holding at least two working days
/// when it is two days or longer.
pub fn last_day_after(event_day: NaiveDate, days: i64, calendar: &Calendar) -> NaiveDate {
    let days = days.max(1);
    let first_day = event_day + Duration::days(1);
    let mut last_day = calendar.working_day_from(event_day + Duration::days(days));
    if days >= 2 {
        let working = |to: NaiveDate| {
            first_day
                .iter_days()
                .take_while(|d| *d <= to)
                .filter(|d| calendar.is_working_day(*d))
                .count()
        };
        while working(last_day) < 2 {
            last_day = calendar.working_day_from(last_day + Duration::days(1));
        }
    }
    last_day
}

/// The latest moment that still lies `days` full days before `event`: the days counted back are
/// the days before the event's own day, and the moment is the start of the first of them
/// (00:00 Berlin time). Not moved past weekends or holidays. E.g. "at the latest six days
/// before a deadline on 20 December" is 00:00 on 14 December: the 14th to the 19th are the six
/// days, so an answer sent on the 13th is in time, one sent on the 14th is not.
pub fn days_before(event: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    berlin_midnight(berlin_day(event) - Duration::days(days.max(0)))
}

/// The end of a period of `hours` from `event`: it starts at the next full hour (the hour in
/// which the event happens is not counted) and is not moved.
pub fn hours_from(event: DateTime<Utc>, hours: i64) -> DateTime<Utc> {
    let truncated = event
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(event);
    truncated + Duration::hours(1 + hours.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HE: Calendar = Calendar {
        region: GermanRegion::Hessen,
    };

    /// The last day of a period of `days` from `event` in Hessen.
    fn last(event: DateTime<Utc>, days: i64) -> NaiveDate {
        days_from(event, days, &HE).last_day
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// An instant given in Berlin time.
    fn berlin(y: i32, m: u32, day: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Berlin
            .from_local_datetime(&d(y, m, day).and_hms_opt(h, min, s).unwrap())
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_event_day_is_not_counted_and_the_end_is_midnight_berlin() {
        // Notice 1 Dec 2026 12:00: day 1 is 2 Dec, day 30 is Thursday 31 Dec, the period ends
        // at 24:00 that day (= 1 Jan 2027 00:00 Berlin = 31 Dec 23:00 UTC).
        let p = days_from(berlin(2026, 12, 1, 12, 0, 0), 30, &HE);
        assert_eq!(p.first_day, d(2026, 12, 2));
        assert_eq!(p.last_day, d(2026, 12, 31));
        assert!(!p.moved());
        assert_eq!(p.ends_at, berlin(2027, 1, 1, 0, 0, 0));
        assert_eq!(p.ends_at.to_rfc3339(), "2026-12-31T23:00:00+00:00");
        // A bid deadline at 12:00 on the 31st lies inside the period: too short.
        assert!(p.runs_at(berlin(2026, 12, 31, 12, 0, 0)));
        assert!(p.runs_at(berlin(2026, 12, 31, 23, 59, 59)));
        assert!(!p.runs_at(berlin(2027, 1, 1, 0, 0, 0)));
    }

    #[test]
    fn a_notice_dispatched_on_a_friday_ending_on_a_sunday_runs_to_monday() {
        // Friday 27 Nov 2026 10:00 + 30 days: day 30 is Sunday 27 Dec → Monday 28 Dec.
        let p = days_from(berlin(2026, 11, 27, 10, 0, 0), 30, &HE);
        assert_eq!(p.counted_last_day, d(2026, 12, 27));
        assert_eq!(p.last_day, d(2026, 12, 28));
        assert!(p.moved());
        assert!(p.runs_at(berlin(2026, 12, 27, 10, 0, 0)));
        assert!(p.runs_at(berlin(2026, 12, 28, 23, 59, 0)));
        let text = p.explain(&HE, "Absendung");
        assert!(text.contains("Sonntag, 27.12.2026"), "{text}");
        assert!(text.contains("Montag, 28.12.2026"), "{text}");
        assert!(text.contains("Fristende 28.12.2026, 24:00 Uhr"), "{text}");
        assert!(
            text.contains("Tag nach der Absendung am 27.11.2026, 10:00 Uhr"),
            "{text}"
        );
    }

    #[test]
    fn a_last_day_on_a_saturday_moves_to_monday() {
        // Wednesday 11 Nov 2026 + 10 days: Saturday 21 Nov → Monday 23 Nov.
        let p = days_from(berlin(2026, 11, 11, 9, 0, 0), 10, &HE);
        assert_eq!(p.last_day, d(2026, 11, 23));
        assert!(p.explain(&HE, "Absendung").contains("(Samstag)"));
    }

    #[test]
    fn easter_monday_in_hessen_moves_the_end_to_tuesday() {
        // 2027: Easter Monday 29 March. Sent Friday 19 March → day 10 is Easter Monday.
        let p = days_from(berlin(2027, 3, 19, 15, 0, 0), 10, &HE);
        assert_eq!(p.counted_last_day, d(2027, 3, 29));
        assert_eq!(p.last_day, d(2027, 3, 30));
        assert!(p.explain(&HE, "Absendung").contains("(Feiertag)"));
    }

    #[test]
    fn german_unity_day_moves_the_end() {
        // 3 Oct 2028 is a Tuesday: sent 23 Sep → day 10 = 3 Oct → Wednesday 4 Oct.
        let p = days_from(berlin(2028, 9, 23, 8, 0, 0), 10, &HE);
        assert_eq!(p.last_day, d(2028, 10, 4));
        // 3 Oct 2026 is a Saturday: day 10 = 3 Oct → Monday 5 Oct.
        let p = days_from(berlin(2026, 9, 23, 8, 0, 0), 10, &HE);
        assert_eq!(p.last_day, d(2026, 10, 5));
    }

    #[test]
    fn holidays_are_those_of_the_land() {
        // Corpus Christi (Thursday 4 June 2026) is a holiday in Hessen, not in Berlin.
        let event = berlin(2026, 5, 25, 12, 0, 0);
        assert_eq!(days_from(event, 10, &HE).last_day, d(2026, 6, 5));
        assert_eq!(
            days_from(event, 10, &Calendar::new(GermanRegion::Berlin)).last_day,
            d(2026, 6, 4)
        );
    }

    #[test]
    fn one_second_either_side_of_midnight_is_a_day_apart() {
        // Sent at 23:59:30 Berlin on Monday 2 Nov: day 1 is 3 Nov, day 10 Thursday 12 Nov.
        let late = days_from(berlin(2026, 11, 2, 23, 59, 30), 10, &HE);
        assert_eq!(late.last_day, d(2026, 11, 12));
        // Sent 40 s later, at 00:00:10 on 3 Nov: day 10 is Friday 13 Nov.
        let after = days_from(berlin(2026, 11, 3, 0, 0, 10), 10, &HE);
        assert_eq!(after.last_day, d(2026, 11, 13));
        // 23:59:30 Berlin in winter is 22:59:30 UTC: a UTC day would have counted the same
        // day; 00:00:10 Berlin is 23:00:10 UTC of the day before, which a UTC count would
        // have placed on 2 Nov.
        assert_eq!(berlin_day(berlin(2026, 11, 3, 0, 0, 10)), d(2026, 11, 3));
    }

    #[test]
    fn midnight_in_summer_and_winter_time() {
        assert_eq!(berlin_midnight(d(2026, 7, 1)).to_rfc3339(), "2026-06-30T22:00:00+00:00");
        assert_eq!(berlin_midnight(d(2026, 1, 1)).to_rfc3339(), "2025-12-31T23:00:00+00:00");
        // The night of the switch to summer time (29 March 2026) still has its midnight.
        assert_eq!(
            berlin_midnight(d(2026, 3, 29)).to_rfc3339(),
            "2026-03-28T23:00:00+00:00"
        );
        assert_eq!(
            berlin_midnight(d(2026, 3, 30)).to_rfc3339(),
            "2026-03-29T22:00:00+00:00"
        );
    }

    #[test]
    fn christmas_and_new_year() {
        // Sent 22 Dec 2026 → day 10 is Friday 1 Jan 2027 (holiday) → Monday 4 Jan.
        assert_eq!(last(berlin(2026, 12, 22, 11, 0, 0), 10), d(2027, 1, 4));
        // Good Friday 3 April 2026, Easter Monday 6 April: day 10 on Good Friday → Tuesday 7.
        assert_eq!(last(berlin(2026, 3, 24, 11, 0, 0), 10), d(2026, 4, 7));
    }

    #[test]
    fn a_short_period_holds_two_working_days() {
        // Thursday 24 Dec 2026 + 2 days: 25 and 26 Dec are holidays, 27 a Sunday; moved to
        // Monday 28 Dec, which is one working day; the second is Tuesday 29 Dec.
        let p = days_from(berlin(2026, 12, 24, 10, 0, 0), 2, &HE);
        assert_eq!(p.counted_last_day, d(2026, 12, 26));
        assert_eq!(p.last_day, d(2026, 12, 29));
        let text = p.explain(&HE, "Absendung");
        assert!(
            text.contains("(Feiertag), verschoben auf den nächsten Arbeitstag Montag, 28.12.2026"),
            "{text}"
        );
        assert!(
            text.contains("verlängert bis Dienstag, 29.12.2026, damit die Frist zwei Arbeitstage umfasst"),
            "{text}"
        );
        // Friday + 3 days: Saturday, Sunday, Monday. Monday is a working day, not moved, but the
        // only one: extended to Tuesday, and the text does not call Monday a non-working day.
        let p = days_from(berlin(2026, 11, 6, 10, 0, 0), 3, &HE);
        assert_eq!(p.last_day, d(2026, 11, 10));
        let text = p.explain(&HE, "Absendung");
        assert!(!text.contains("verschoben"), "{text}");
        assert!(
            text.contains("letzter gezählter Tag Montag, 09.11.2026, verlängert bis Dienstag, 10.11.2026"),
            "{text}"
        );
        // A one-day period needs no second working day.
        assert_eq!(last(berlin(2026, 12, 24, 10, 0, 0), 1), d(2026, 12, 28));
        // Monday + 2 days = Wednesday, two working days already.
        assert_eq!(last(berlin(2026, 11, 2, 10, 0, 0), 2), d(2026, 11, 4));
    }

    #[test]
    fn counting_backwards_is_not_moved() {
        // Six days before a deadline on Sunday 20 Dec 2026, 12:00: the 14th to the 19th are the
        // six days, the latest moment is 00:00 on Monday 14 Dec.
        let latest = days_before(berlin(2026, 12, 20, 12, 0, 0), 6);
        assert_eq!(latest, berlin(2026, 12, 14, 0, 0, 0));
        // Over a holiday: four days before Tuesday 7 April 2026 is 00:00 on Good Friday, 3 April
        // (not moved to a working day).
        assert_eq!(
            days_before(berlin(2026, 4, 7, 10, 0, 0), 4),
            berlin(2026, 4, 3, 0, 0, 0)
        );
    }

    #[test]
    fn hours_start_at_the_next_full_hour() {
        // 48 hours from 10:17 run from 11:00 to 11:00 two days later, not moved on a Sunday.
        assert_eq!(
            hours_from(berlin(2026, 12, 18, 10, 17, 45), 48),
            berlin(2026, 12, 20, 11, 0, 0)
        );
        assert_eq!(
            hours_from(berlin(2026, 12, 18, 10, 0, 0), 1),
            berlin(2026, 12, 18, 12, 0, 0)
        );
    }
}
