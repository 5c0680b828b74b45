//! Tender rules that do not depend on storage (lifecycle step 2): minimum bid periods by
//! procedure, the framework term limit, maximum quantities from estimates, and the procedure the
//! estimated value requires.

use super::money::{round_commercial, NumberError, Quantity};
use super::period::{self, Calendar};
use chrono::NaiveDateTime;
use rust_decimal::Decimal;

crate::coded_enum!(
    /// The procedure a tender runs.
    Procedure {
        /// Offenes Verfahren nach VgV (EU-weit).
        EuOpen => "eu_open", "Offenes Verfahren (EU-weit, VgV)",
        /// Öffentliche Ausschreibung nach UVgO (national).
        National => "national", "Öffentliche Ausschreibung (national, UVgO)",
    }
);

crate::coded_enum!(
    /// A tender's state: draft, published (bids accepted until the deadline), the opening begun
    /// by one officer, opened after a second one confirmed.
    TenderStatus {
        Draft => "draft", "Entwurf",
        Published => "published", "veröffentlicht",
        Opening => "opening", "Öffnung begonnen",
        Opened => "opened", "geöffnet",
    }
);

/// Minimum days between sending the notice and the bid deadline (§ 15 VgV): 35, or 30 with
/// electronic submission (always here), 15 when urgent. National procedures have no fixed
/// minimum; under `NATIONAL_WARNING_DAYS` the officer is warned.
pub const EU_OPEN_DAYS: i64 = 35;
pub const EU_OPEN_ELECTRONIC_DAYS: i64 = 30;
pub const EU_OPEN_URGENT_DAYS: i64 = 15;
pub const NATIONAL_WARNING_DAYS: i64 = 10;
/// § 21 (6) VgV: framework agreements run at most four years unless justified.
pub const MAX_FRAMEWORK_MONTHS: i32 = 48;
/// No term is planned or tendered beyond ten years, justified or not (a plausibility bound).
pub const MAX_TERM_MONTHS: i32 = 120;

/// The outcome of a deadline check: an error blocks publication, a warning is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadlineCheck {
    Ok,
    Warning(String),
    Error(String),
}

pub fn minimum_days(procedure: Procedure, electronic: bool, urgent: bool) -> i64 {
    match (procedure, urgent, electronic) {
        (Procedure::National, _, _) => 0,
        (Procedure::EuOpen, true, _) => EU_OPEN_URGENT_DAYS,
        (Procedure::EuOpen, false, true) => EU_OPEN_ELECTRONIC_DAYS,
        (Procedure::EuOpen, false, false) => EU_OPEN_DAYS,
    }
}

/// The minimum bid period of § 15 VgV from the dispatch of the notice (§ 15 (2) VgV, 30 days
/// with electronic submission; § 15 (3) VgV, 15 days with a stated urgency: a blank reason is no
/// reason), `None` where the law sets none (national procedures).
pub fn minimum_period(
    procedure: Procedure,
    dispatched: NaiveDateTime,
    urgency_reason: Option<&str>,
    calendar: &Calendar,
) -> Option<period::DayPeriod> {
    let days = minimum_days(procedure, true, urgency_stated(urgency_reason));
    (days > 0).then(|| period::days_from(dispatched.and_utc(), days, calendar))
}

/// Whether an urgency reason was given: blank text is none.
fn urgency_stated(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| !r.trim().is_empty())
}

/// Checks a bid deadline against the dispatch of the notice (§ 15 VgV: the minimum period runs
/// "from the day after the notice was sent"), counted as every period is (`period::days_from`:
/// the period ends at 24:00 Berlin time of its last day, moved past weekends and holidays), so
/// the deadline may lie no earlier than that end. Urgency needs a recorded reason. Both
/// instants are UTC.
pub fn check_bid_deadline(
    procedure: Procedure,
    dispatched: NaiveDateTime,
    deadline: NaiveDateTime,
    urgency_reason: Option<&str>,
    calendar: &Calendar,
) -> DeadlineCheck {
    if deadline <= dispatched {
        return DeadlineCheck::Error("Die Angebotsfrist muss nach der Veröffentlichung liegen.".into());
    }
    let urgent = urgency_stated(urgency_reason);
    if let Some(minimum) = minimum_period(procedure, dispatched, urgency_reason, calendar) {
        let days = minimum.days;
        if minimum.runs_at(deadline.and_utc()) {
            let hint = if procedure == Procedure::EuOpen && !urgent {
                format!(
                    " Nur wenn eine hinreichend begründete Dringlichkeit die Regelfrist unmöglich macht, genügen {EU_OPEN_URGENT_DAYS} Tage (§ 15 Abs. 3 VgV); bitte dann den Grund angeben, er wird dokumentiert (§ 8 VgV)."
                )
            } else {
                String::new()
            };
            let paragraph = if urgent {
                "§ 15 Abs. 3 VgV"
            } else {
                "§ 15 Abs. 2, 4 VgV"
            };
            return DeadlineCheck::Error(format!(
                "Im offenen Verfahren muss die Angebotsfrist mindestens {days} Tage betragen ({paragraph}, gezählt nach § 82 VgV): {}. Die Angebotsfrist darf also frühestens am {} um 24:00 Uhr enden.{hint}",
                minimum.explain(calendar, "Absendung der Bekanntmachung"),
                minimum.last_day.format("%d.%m.%Y"),
            ));
        }
    }
    if procedure == Procedure::National
        && period::days_from(dispatched.and_utc(), NATIONAL_WARNING_DAYS, calendar).runs_at(deadline.and_utc())
    {
        return DeadlineCheck::Warning(format!(
            "Die Angebotsfrist ist kürzer als {NATIONAL_WARNING_DAYS} Tage; die UVgO verlangt eine angemessene Frist."
        ));
    }
    // Whether a deadline set on a weekend or holiday moves to the next working day (Art. 3(4)
    // Reg. 1182/71) is disputed: a bidder could claim a bid on that day was in time. Allowed,
    // but the officer is told to pick a working day.
    let deadline_day = period::berlin_day(deadline.and_utc());
    if let Some(why) = calendar.why_not_working(deadline_day) {
        return DeadlineCheck::Warning(format!(
            "Die Angebotsfrist endet an einem {why} ({}). Ob sich eine solche Frist auf den nächsten Arbeitstag verschiebt, ist umstritten; wählen Sie besser einen Arbeitstag.",
            deadline_day.format("%d.%m.%Y")
        ));
    }
    DeadlineCheck::Ok
}

/// Why a framework term is refused (§ 21 Abs. 6 VgV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TermError {
    #[error("Die Laufzeit muss mindestens einen Monat betragen.")]
    TooShort,
    #[error(
        "Rahmenvereinbarungen laufen höchstens {MAX_FRAMEWORK_MONTHS} Monate, es sei denn, ein Sonderfall ist begründet (§ 21 Abs. 6 VgV)."
    )]
    Unjustified,
}

/// Why a maximum quantity cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaximumError {
    #[error("Der Puffer darf nicht negativ sein.")]
    NegativeBuffer,
    #[error("Die Höchstmenge {0}.")]
    Quantity(#[from] NumberError),
}

/// Checks the framework term: more than 48 months only with a recorded justification.
pub fn check_term(months: i32, justification: Option<&str>) -> Result<(), TermError> {
    if months < 1 {
        return Err(TermError::TooShort);
    }
    if months > MAX_FRAMEWORK_MONTHS && justification.map(str::trim).is_none_or(str::is_empty) {
        return Err(TermError::Unjustified);
    }
    Ok(())
}

/// Maximum quantity = estimate × (1 + buffer), buffer in percent (e.g. 20); rounded commercially
/// to the estimate's own places (whole pieces stay whole: 8 × 1.2 = 9.6 → 10), at most the
/// quantity's 3 places.
pub fn maximum_quantity(estimate: Quantity, buffer_percent: Decimal) -> Result<Quantity, MaximumError> {
    if buffer_percent.is_sign_negative() {
        return Err(MaximumError::NegativeBuffer);
    }
    let exact = estimate.to_decimal();
    let places = exact.normalize().scale().min(Quantity::PLACES);
    let max = exact * (Decimal::ONE + buffer_percent / Decimal::ONE_HUNDRED);
    Ok(Quantity::from_decimal(round_commercial(max, places))?)
}

/// The procedure an estimated value requires: EU-wide at or above the threshold (§ 106 GWB).
pub fn required_procedure(estimated_value: Decimal, threshold: Decimal) -> Procedure {
    if estimated_value >= threshold {
        Procedure::EuOpen
    } else {
        Procedure::National
    }
}

/// The state of an opened tender once its lots are decided: what users know it by after the
/// opening. `None` while no lot is decided. Counts are over lots not cancelled.
pub fn award_stage_label(open_lots: usize, decided: usize, concluded: usize) -> Option<&'static str> {
    if open_lots > 0 && concluded >= open_lots {
        Some("Zuschlag erteilt, Vertrag geschlossen")
    } else if concluded > 0 {
        Some("Zuschlag teilweise erteilt")
    } else if decided > 0 {
        Some("Zuschlagsentscheidung getroffen, Wartefrist")
    } else {
        None
    }
}

crate::coded_enum!(
    /// Why the bid deadline of a published tender is extended.
    ExtensionReason {
        /// § 20 (3) sentence 1 no. 1 VgV.
        LateAnswer => "late_answer", "Auskunft später als 6 (bei Dringlichkeit 4) Tage vor Fristablauf (§ 20 Abs. 3 Satz 1 Nr. 1 VgV)",
        /// § 20 (3) sentence 1 no. 2 VgV.
        DocumentsChanged => "documents_changed", "wesentliche Änderung der Vergabeunterlagen (§ 20 Abs. 3 Satz 1 Nr. 2 VgV)",
        /// Any other reason (e.g. a request of the bidders), stated in the note.
        Other => "other", "sonstiger Grund",
    }
);

/// § 20 (3) sentence 1 no. 1 VgV: additional information asked for in good time is due at the
/// latest six days before the bid deadline, four with a stated urgency (§ 15 (3) VgV).
pub const ANSWER_DAYS_BEFORE: i64 = 6;
pub const ANSWER_DAYS_BEFORE_URGENT: i64 = 4;

/// The days before the deadline by which answers are due: six, four with a stated urgency.
pub fn answer_days(urgency_reason: Option<&str>) -> i64 {
    if urgency_stated(urgency_reason) {
        ANSWER_DAYS_BEFORE_URGENT
    } else {
        ANSWER_DAYS_BEFORE
    }
}

/// The moment from which an answer comes too late for `deadline` (UTC): 00:00 Berlin time of
/// the sixth (fourth) day before the deadline's day, counted back and not moved
/// (`period::days_before`).
pub fn answers_due(deadline: NaiveDateTime, urgency_reason: Option<&str>) -> NaiveDateTime {
    period::days_before(deadline.and_utc(), answer_days(urgency_reason)).naive_utc()
}

/// Whether an answer given at `answered_at` came too late for the deadline to stand: § 20 (3)
/// VgV then requires an extension.
pub fn answer_late(deadline: NaiveDateTime, answered_at: NaiveDateTime, urgency_reason: Option<&str>) -> bool {
    answered_at >= answers_due(deadline, urgency_reason)
}

/// The first day a new deadline may fall on so that an answer given at `answered_at` lies the
/// six (four) full days before it (Berlin days).
pub fn first_deadline_day_after_answer(answered_at: NaiveDateTime, urgency_reason: Option<&str>) -> chrono::NaiveDate {
    period::berlin_day(answered_at.and_utc()) + chrono::Duration::days(answer_days(urgency_reason) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use std::str::FromStr;

    const HE: Calendar = Calendar {
        region: holiday_de::GermanRegion::Hessen,
    };

    /// An instant given in Berlin time, as the UTC value the database stores.
    fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        use chrono::TimeZone;
        chrono_tz::Europe::Berlin
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .naive_utc()
    }

    fn check(dispatched: NaiveDateTime, deadline: NaiveDateTime, urgency: Option<&str>) -> DeadlineCheck {
        check_bid_deadline(Procedure::EuOpen, dispatched, deadline, urgency, &HE)
    }

    #[test]
    fn thirty_days_counted_from_the_day_after_dispatch() {
        // Dispatched 1 Dec 2026 12:00: day 30 is 31 Dec, the period ends at 24:00 that day. A
        // deadline at 12:00 on 31 Dec (30 × 24 hours) is a day short.
        let sent = berlin(2026, 12, 1, 12, 0);
        assert!(
            matches!(check(sent, berlin(2026, 12, 31, 12, 0), None), DeadlineCheck::Error(e) if e.contains("30 Tage") && e.contains("frühestens am 31.12.2026 um 24:00 Uhr"))
        );
        assert!(matches!(
            check(sent, berlin(2026, 12, 31, 23, 59), None),
            DeadlineCheck::Error(_)
        ));
        // 00:00 on 1 January is the first moment after the period: long enough, though on a
        // holiday (a warning, not an error).
        assert!(matches!(
            check(sent, berlin(2027, 1, 1, 0, 0), None),
            DeadlineCheck::Warning(_)
        ));
        assert_eq!(check(sent, berlin(2027, 1, 4, 12, 0), None), DeadlineCheck::Ok);
    }

    #[test]
    fn a_period_ending_on_a_sunday_runs_to_monday() {
        // Dispatched Friday 27 Nov 2026 10:00: day 30 is Sunday 27 Dec, the period ends at the
        // end of Monday 28 Dec; a deadline on Sunday 27 Dec 10:00 or Monday 28 Dec is refused.
        let sent = berlin(2026, 11, 27, 10, 0);
        let refused = check(sent, berlin(2026, 12, 27, 10, 0), None);
        assert!(
            matches!(&refused, DeadlineCheck::Error(e) if e.contains("Sonntag, 27.12.2026") && e.contains("frühestens am 28.12.2026 um 24:00 Uhr")),
            "{refused:?}"
        );
        assert!(matches!(
            check(sent, berlin(2026, 12, 28, 12, 0), None),
            DeadlineCheck::Error(_)
        ));
        assert_eq!(check(sent, berlin(2026, 12, 29, 10, 0), None), DeadlineCheck::Ok);
    }

    #[test]
    fn an_answer_is_late_from_midnight_six_days_before_the_deadline_day() {
        // Deadline Friday 18 Dec 2026, 12:00: the six days are the 12th to the 17th.
        let deadline = berlin(2026, 12, 18, 12, 0);
        assert_eq!(answers_due(deadline, None), berlin(2026, 12, 12, 0, 0));
        assert!(!answer_late(deadline, berlin(2026, 12, 11, 23, 59), None));
        assert!(answer_late(deadline, berlin(2026, 12, 12, 0, 1), None));
        // With a stated urgency four days: from 00:00 on the 14th.
        assert!(!answer_late(deadline, berlin(2026, 12, 13, 23, 59), Some("Ausfall")));
        assert!(answer_late(deadline, berlin(2026, 12, 14, 0, 1), Some("Ausfall")));
        assert!(
            answer_late(deadline, berlin(2026, 12, 13, 23, 59), Some("  ")),
            "a blank reason is no urgency"
        );
    }

    #[test]
    fn an_opened_tender_is_known_by_its_award_stage() {
        assert_eq!(award_stage_label(2, 0, 0), None);
        assert_eq!(
            award_stage_label(2, 1, 0),
            Some("Zuschlagsentscheidung getroffen, Wartefrist")
        );
        assert_eq!(award_stage_label(2, 1, 1), Some("Zuschlag teilweise erteilt"));
        assert_eq!(
            award_stage_label(2, 0, 2),
            Some("Zuschlag erteilt, Vertrag geschlossen")
        );
        // A cancelled lot does not count: one lot left, concluded.
        assert_eq!(
            award_stage_label(1, 0, 1),
            Some("Zuschlag erteilt, Vertrag geschlossen")
        );
    }

    #[test]
    fn the_new_deadline_leaves_six_full_days_after_a_late_answer() {
        // Answered Saturday 12 Dec 2026, 00:01: the new deadline falls on the 19th at the earliest.
        let answered = berlin(2026, 12, 12, 0, 1);
        assert_eq!(
            first_deadline_day_after_answer(answered, None),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 19).unwrap()
        );
        assert!(!answer_late(berlin(2026, 12, 19, 0, 30), answered, None));
        assert!(answer_late(berlin(2026, 12, 18, 23, 59), answered, None));
        // Across the change to winter time (25 Oct 2026): still whole Berlin days.
        let answered = berlin(2026, 10, 24, 23, 30);
        assert_eq!(
            first_deadline_day_after_answer(answered, None),
            chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()
        );
    }

    #[test]
    fn urgency_with_reason_allows_15_days() {
        let sent = berlin(2026, 12, 1, 12, 0);
        // Day 15 is Wednesday 16 Dec.
        assert_eq!(
            check(sent, berlin(2026, 12, 17, 9, 0), Some("Ausfall der Altgeräte")),
            DeadlineCheck::Ok
        );
        assert!(
            matches!(check(sent, berlin(2026, 12, 16, 12, 0), Some("Ausfall")), DeadlineCheck::Error(e) if e.contains("15 Tage"))
        );
        // A blank reason is no reason.
        assert!(
            matches!(check(sent, berlin(2026, 12, 17, 9, 0), Some("  ")), DeadlineCheck::Error(e) if e.contains("Grund"))
        );
    }

    #[test]
    fn national_warns_under_ten_days() {
        let sent = berlin(2026, 12, 1, 12, 0);
        let national = |deadline| check_bid_deadline(Procedure::National, sent, deadline, None, &HE);
        assert!(matches!(
            national(berlin(2026, 12, 10, 12, 0)),
            DeadlineCheck::Warning(_)
        ));
        assert_eq!(national(berlin(2026, 12, 14, 12, 0)), DeadlineCheck::Ok);
    }

    #[test]
    fn a_deadline_on_a_weekend_or_holiday_is_allowed_with_a_warning() {
        let sent = berlin(2026, 11, 2, 10, 0);
        // Sunday 20 Dec 2026 and Good Friday 26 March 2027 warn; Tuesday 22 Dec 2026 is fine.
        assert!(
            matches!(check(sent, berlin(2026, 12, 20, 12, 0), None), DeadlineCheck::Warning(w) if w.contains("Sonntag (20.12.2026)"))
        );
        assert!(
            matches!(check(sent, berlin(2027, 3, 26, 12, 0), None), DeadlineCheck::Warning(w) if w.contains("Feiertag (26.03.2027)"))
        );
        assert_eq!(check(sent, berlin(2026, 12, 22, 12, 0), None), DeadlineCheck::Ok);
    }

    #[test]
    fn deadline_before_notice_is_an_error() {
        let sent = berlin(2026, 12, 5, 12, 0);
        assert!(matches!(
            check_bid_deadline(Procedure::National, sent, sent, None, &HE),
            DeadlineCheck::Error(_)
        ));
    }

    #[test]
    fn minimum_days_table() {
        assert_eq!(minimum_days(Procedure::EuOpen, false, false), 35);
        assert_eq!(minimum_days(Procedure::EuOpen, true, false), 30);
        assert_eq!(minimum_days(Procedure::EuOpen, true, true), 15);
        assert_eq!(minimum_days(Procedure::National, true, false), 0);
    }

    #[test]
    fn term_over_48_months_needs_justification() {
        assert!(check_term(48, None).is_ok());
        assert_eq!(check_term(49, None).unwrap_err(), TermError::Unjustified);
        assert!(check_term(49, None).unwrap_err().to_string().contains("48 Monate"));
        assert!(check_term(60, Some("Amortisation der Erstausstattung")).is_ok());
        assert!(check_term(60, Some(" ")).is_err());
        assert!(check_term(0, None).is_err());
    }

    #[test]
    fn maximum_quantity_adds_the_buffer_and_rounds_commercially() {
        let q = |s: &str| Quantity::from_str(s).unwrap();
        assert_eq!(maximum_quantity(q("1000"), dec!(20)).unwrap(), q("1200"));
        // 0.001 × 1.25 = 0.00125 → 0.001 (half away from zero would need 0.0015)
        assert_eq!(maximum_quantity(q("0.001"), dec!(25)).unwrap(), q("0.001"));
        // 0.002 × 1.25 = 0.0025 → 0.003
        assert_eq!(maximum_quantity(q("0.002"), dec!(25)).unwrap(), q("0.003"));
        assert!(maximum_quantity(q("1"), dec!(-1)).is_err());
    }

    #[test]
    fn whole_estimates_give_whole_maximums() {
        let q = |s: &str| Quantity::from_str(s).unwrap();
        assert_eq!(maximum_quantity(q("8"), dec!(20)).unwrap(), q("10"));
        assert_eq!(maximum_quantity(q("6"), dec!(20)).unwrap(), q("7"));
        assert_eq!(maximum_quantity(q("2.5"), dec!(20)).unwrap(), q("3"));
        assert_eq!(maximum_quantity(q("2.25"), dec!(10)).unwrap(), q("2.48"));
    }

    #[test]
    fn procedure_follows_the_threshold() {
        assert_eq!(required_procedure(dec!(215999.99), dec!(216000)), Procedure::National);
        assert_eq!(required_procedure(dec!(216000), dec!(216000)), Procedure::EuOpen);
    }
}
