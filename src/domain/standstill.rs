//! The § 134 GWB standstill: 10 calendar days after electronic information (15 otherwise),
//! counted from the day after sending; a period ending on a Saturday, Sunday or public holiday of
//! the cooperative's state ends on the next working day (§ 193 BGB). Holidays are computed.

use chrono::{Duration, NaiveDate};
use holiday_de::GermanRegion;

/// § 134 (2) GWB.
pub const ELECTRONIC_DAYS: i64 = 10;
pub const OTHER_DAYS: i64 = 15;

/// The German states by their usual two-letter code, for configuration.
pub fn region(code: &str) -> Option<GermanRegion> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "BW" => GermanRegion::BadenWuerttemberg,
        "BY" => GermanRegion::Bayern,
        "BE" => GermanRegion::Berlin,
        "BB" => GermanRegion::Brandenburg,
        "HB" => GermanRegion::Bremen,
        "HH" => GermanRegion::Hamburg,
        "HE" => GermanRegion::Hessen,
        "MV" => GermanRegion::MechlenburgVorpommern,
        "NI" => GermanRegion::Niedersachsen,
        "NW" => GermanRegion::NordrheinWestfalen,
        "RP" => GermanRegion::RheinlandPfalz,
        "SL" => GermanRegion::Saarland,
        "SN" => GermanRegion::Sachsen,
        "ST" => GermanRegion::SachsenAnhalt,
        "SH" => GermanRegion::SchleswigHolstein,
        "TH" => GermanRegion::Thueringen,
        _ => return None,
    })
}

/// The last day of the standstill for information sent on `sent` (local date), counted as every
/// period is (`period::last_day_after`).
pub fn last_day(sent: NaiveDate, electronic: bool, region: GermanRegion) -> NaiveDate {
    let days = if electronic { ELECTRONIC_DAYS } else { OTHER_DAYS };
    super::period::last_day_after(sent, days, &super::period::Calendar::new(region))
}

/// The first day the contract may be concluded: the day after the last day of the standstill.
pub fn first_conclusion_day(sent: NaiveDate, electronic: bool, region: GermanRegion) -> NaiveDate {
    last_day(sent, electronic, region) + Duration::days(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const HE: GermanRegion = GermanRegion::Hessen;

    #[test]
    fn ten_days_from_the_day_after_sending() {
        // Sent Monday 2026-11-02 → day 1 is 03.11., day 10 is Thursday 12.11.
        assert_eq!(last_day(d(2026, 11, 2), true, HE), d(2026, 11, 12));
        assert_eq!(first_conclusion_day(d(2026, 11, 2), true, HE), d(2026, 11, 13));
    }

    #[test]
    fn fifteen_days_when_not_electronic() {
        assert_eq!(last_day(d(2026, 11, 2), false, HE), d(2026, 11, 17));
    }

    #[test]
    fn weekend_end_moves_to_monday() {
        // Sent Wednesday 2026-11-11 → day 10 Saturday 21.11. → Monday 23.11.
        assert_eq!(last_day(d(2026, 11, 11), true, HE), d(2026, 11, 23));
    }

    #[test]
    fn easter_monday_in_2027_moves_to_tuesday() {
        // Easter Sunday 2027 is 28 March; sent Friday 19 March → day 10 is Monday 29 March
        // (Ostermontag) → Tuesday 30 March.
        assert_eq!(last_day(d(2027, 3, 19), true, HE), d(2027, 3, 30));
    }

    #[test]
    fn good_friday_then_weekend_then_easter_monday() {
        // 2026: Good Friday 3 April, Easter Monday 6 April. Sent 24 March → day 10 Friday 3 April
        // → Sat, Sun, Easter Monday → Tuesday 7 April.
        assert_eq!(last_day(d(2026, 3, 24), true, HE), d(2026, 4, 7));
    }

    #[test]
    fn corpus_christi_is_a_holiday_in_hessen_not_in_berlin() {
        // Fronleichnam 2026: Thursday 4 June. Sent 25 May → day 10 is 4 June.
        assert_eq!(last_day(d(2026, 5, 25), true, HE), d(2026, 6, 5));
        assert_eq!(last_day(d(2026, 5, 25), true, GermanRegion::Berlin), d(2026, 6, 4));
    }

    #[test]
    fn christmas_and_new_year() {
        // Sent 15 Dec 2026 → day 10 Friday 25 Dec → 26 Sat, 27 Sun → Monday 28 Dec.
        assert_eq!(last_day(d(2026, 12, 15), true, HE), d(2026, 12, 28));
        // Sent 22 Dec 2026 → day 10 Friday 1 Jan 2027 → Monday 4 Jan.
        assert_eq!(last_day(d(2026, 12, 22), true, HE), d(2027, 1, 4));
    }

    #[test]
    fn unity_day_and_labour_day() {
        // 3 Oct 2028 is a Tuesday; sent 23 Sep → day 10 = 3 Oct → 4 Oct.
        assert_eq!(last_day(d(2028, 9, 23), true, HE), d(2028, 10, 4));
        // 1 May 2029 Tuesday; sent 21 April → 2 May.
        assert_eq!(last_day(d(2029, 4, 21), true, HE), d(2029, 5, 2));
    }

    #[test]
    fn region_codes() {
        assert_eq!(region("he"), Some(GermanRegion::Hessen));
        assert_eq!(region("XX"), None);
    }
}
