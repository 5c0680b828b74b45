//! The legal numbers of DESIGN.md as dated, named settings, never literals in routes.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// EU thresholds for supplies and services (net EUR), valid for a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EuThreshold {
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    /// Sub-central contracting authorities (Länder, municipalities, universities).
    pub supplies_services: Decimal,
    /// Top and upper federal authorities.
    pub supplies_services_federal: Decimal,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// Delegated Regulations (EU) 2023/2495 and 2025 revision.
pub fn eu_thresholds() -> [EuThreshold; 2] {
    [
        EuThreshold {
            valid_from: date(2024, 1, 1),
            valid_to: date(2025, 12, 31),
            supplies_services: Decimal::from(221_000),
            supplies_services_federal: Decimal::from(143_000),
        },
        EuThreshold {
            valid_from: date(2026, 1, 1),
            valid_to: date(2027, 12, 31),
            supplies_services: Decimal::from(216_000),
            supplies_services_federal: Decimal::from(140_000),
        },
    ]
}

/// The threshold in force on `day`; the latest known one after its period (until a new one is set).
pub fn eu_threshold_on(day: NaiveDate) -> EuThreshold {
    let all = eu_thresholds();
    all.iter()
        .find(|t| t.valid_from <= day && day <= t.valid_to)
        .copied()
        .unwrap_or_else(|| {
            if day < all[0].valid_from {
                all[0]
            } else {
                all[all.len() - 1]
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn threshold_2026_is_216000() {
        assert_eq!(eu_threshold_on(date(2026, 11, 23)).supplies_services, dec!(216000));
        assert_eq!(
            eu_threshold_on(date(2027, 12, 31)).supplies_services_federal,
            dec!(140000)
        );
    }

    #[test]
    fn threshold_2025_is_221000() {
        assert_eq!(eu_threshold_on(date(2025, 12, 31)).supplies_services, dec!(221000));
    }
}
