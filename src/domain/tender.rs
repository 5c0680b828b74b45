//! Tender rules that do not depend on storage (lifecycle step 2): minimum bid periods by
//! procedure, the framework term limit, maximum quantities from estimates, and the procedure the
//! estimated value requires.

use super::money::{round_commercial, NumberError, Quantity};
use chrono::{Duration, NaiveDateTime};
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

/// Checks a bid deadline against the notice date. Urgency needs a recorded reason.
pub fn check_bid_deadline(
    procedure: Procedure,
    notice_sent: NaiveDateTime,
    deadline: NaiveDateTime,
    urgency_reason: Option<&str>,
) -> DeadlineCheck {
    let reason = urgency_reason.map(str::trim).filter(|r| !r.is_empty());
    if deadline <= notice_sent {
        return DeadlineCheck::Error("Die Angebotsfrist muss nach der Veröffentlichung liegen.".into());
    }
    let days = minimum_days(procedure, true, reason.is_some());
    if deadline - notice_sent < Duration::days(days) {
        let hint = if procedure == Procedure::EuOpen && reason.is_none() {
            format!(" Bei begründeter Dringlichkeit genügen {EU_OPEN_URGENT_DAYS} Tage; bitte dann den Grund angeben.")
        } else {
            String::new()
        };
        return DeadlineCheck::Error(format!(
            "Im offenen Verfahren muss die Angebotsfrist mindestens {days} Tage betragen (§ 15 VgV).{hint}"
        ));
    }
    if procedure == Procedure::National && deadline - notice_sent < Duration::days(NATIONAL_WARNING_DAYS) {
        return DeadlineCheck::Warning(format!(
            "Die Angebotsfrist ist kürzer als {NATIONAL_WARNING_DAYS} Tage; die UVgO verlangt eine angemessene Frist."
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

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use std::str::FromStr;

    fn t(day: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            + Duration::days(i64::from(day) - 1)
    }

    #[test]
    fn eu_open_needs_30_days_with_electronic_submission() {
        assert_eq!(
            check_bid_deadline(Procedure::EuOpen, t(1), t(31), None),
            DeadlineCheck::Ok
        );
        assert!(
            matches!(check_bid_deadline(Procedure::EuOpen, t(1), t(30), None), DeadlineCheck::Error(e) if e.contains("30 Tage"))
        );
    }

    #[test]
    fn one_second_short_is_too_short() {
        let deadline = t(1) + Duration::days(30) - Duration::seconds(1);
        assert!(matches!(
            check_bid_deadline(Procedure::EuOpen, t(1), deadline, None),
            DeadlineCheck::Error(_)
        ));
    }

    #[test]
    fn urgency_with_reason_allows_15_days() {
        assert_eq!(
            check_bid_deadline(Procedure::EuOpen, t(1), t(16), Some("Ausfall der Altgeräte")),
            DeadlineCheck::Ok
        );
        assert!(
            matches!(check_bid_deadline(Procedure::EuOpen, t(1), t(15), Some("Ausfall")), DeadlineCheck::Error(e) if e.contains("15 Tage"))
        );
        // A blank reason is no reason.
        assert!(
            matches!(check_bid_deadline(Procedure::EuOpen, t(1), t(16), Some("  ")), DeadlineCheck::Error(e) if e.contains("Grund"))
        );
    }

    #[test]
    fn national_warns_under_ten_days() {
        assert!(matches!(
            check_bid_deadline(Procedure::National, t(1), t(9), None),
            DeadlineCheck::Warning(_)
        ));
        assert_eq!(
            check_bid_deadline(Procedure::National, t(1), t(11), None),
            DeadlineCheck::Ok
        );
    }

    #[test]
    fn deadline_before_notice_is_an_error() {
        assert!(matches!(
            check_bid_deadline(Procedure::National, t(5), t(5), None),
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
