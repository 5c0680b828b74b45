//! Savings rules without storage (lifecycle step 9): which reference unit price a call-off line is
//! measured against, the median of the valid bids, a line's saving and the process savings.

use super::money::{round_commercial, Amount, NumberError, Price, Quantity};
use rust_decimal::Decimal;
use serde::Serialize;

/// Where a line's reference unit price came from, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceSource {
    /// The ordering member's own reference price from the demand call (what it paid so far).
    Member,
    /// The tender position's estimate (the officer's, else the quantity-weighted reference).
    Estimate,
    /// The median of the valid bids' unit prices for the position.
    Median,
}

impl ReferenceSource {
    pub const ALL: [ReferenceSource; 3] = [
        ReferenceSource::Member,
        ReferenceSource::Estimate,
        ReferenceSource::Median,
    ];

    /// The code stored in `calloff_lines.reference_source`.
    pub fn code(self) -> &'static str {
        match self {
            ReferenceSource::Member => "member",
            ReferenceSource::Estimate => "estimate",
            ReferenceSource::Median => "median",
        }
    }

    pub fn from_code(code: &str) -> Option<ReferenceSource> {
        ReferenceSource::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            ReferenceSource::Member => "Eigener Referenzpreis des Mitglieds (Bedarfsabfrage)",
            ReferenceSource::Estimate => "Schätzpreis der Position",
            ReferenceSource::Median => "Median der gültigen Angebote",
        }
    }
}

/// The median of the two middle values of an even count, rounded half away from zero
/// (kaufmännisch) to the 4 places of a unit price: the mean of two prices has at most one place
/// more, so this rounding is the only one and says which way a half step goes.
pub fn mean_rounded_to_price_places(a: Price, b: Price) -> Price {
    let mean = (a.to_decimal() + b.to_decimal()) / Decimal::TWO;
    // Between two valid prices, so always a valid price again.
    Price::from_decimal(round_commercial(mean, Price::PLACES)).unwrap_or(a.min(b))
}

/// The median of unit prices; `None` without any. An even count gives the mean of the two middle
/// values, see [`mean_rounded_to_price_places`].
pub fn median(prices: &[Price]) -> Option<Price> {
    let mut sorted = prices.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(mean_rounded_to_price_places(sorted[n / 2 - 1], sorted[n / 2])),
    }
}

/// The references a line could use; the first present one wins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReferenceCandidates {
    pub member: Option<Price>,
    pub estimate: Option<Price>,
    pub median: Option<Price>,
}

impl ReferenceCandidates {
    /// The member's own price, else the estimate, else the bids' median (issue #7).
    pub fn choose(&self) -> Option<(Price, ReferenceSource)> {
        self.member
            .map(|p| (p, ReferenceSource::Member))
            .or(self.estimate.map(|p| (p, ReferenceSource::Estimate)))
            .or(self.median.map(|p| (p, ReferenceSource::Median)))
    }
}

/// (reference − contract price) × quantity, rounded half away from zero to cents. Negative when
/// the contract is dearer than the reference: that is shown, not hidden.
pub fn line_saving(reference: Price, contract: Price, quantity: Quantity) -> Result<Amount, NumberError> {
    let exact = (reference.to_decimal() - contract.to_decimal()) * quantity.to_decimal();
    Amount::from_decimal(round_commercial(exact, Amount::PLACES))
}

/// Procedures the members did not have to run themselves: one joint procedure instead of one per
/// entitled member, so (entitled members − 1) × the configured cost of a procedure.
pub fn process_saving(cost_per_procedure: Amount, entitled_members: i64) -> Result<Amount, NumberError> {
    let avoided = (entitled_members - 1).max(0);
    let minor = cost_per_procedure
        .minor()
        .checked_mul(avoided)
        .ok_or(NumberError::TooLarge("9.999.999.999.999,99"))?;
    Amount::from_minor(minor)
}

/// The CPV division of a code: its first two digits ("30213100-6" → "30").
pub fn cpv_division(cpv_code: &str) -> String {
    cpv_code.chars().take(2).collect()
}

/// German names of the CPV divisions that occur in a cooperative buying IT; others show the code.
pub fn cpv_division_label(division: &str) -> String {
    let name = match division {
        "30" => "Büromaschinen, Computer, Ausstattung und Zubehör",
        "31" => "Elektrische Maschinen, Geräte, Ausstattung und Verbrauchsartikel",
        "32" => "Radio-, Fernseh-, Kommunikations- und Fernmeldeausrüstung",
        "38" => "Labor-, optische und Präzisionsgeräte",
        "48" => "Softwarepaket und Informationssysteme",
        "50" => "Reparatur- und Wartungsdienste",
        "51" => "Installation",
        "64" => "Post- und Telekommunikationsdienste",
        "72" => "IT-Dienste: Beratung, Software-Entwicklung, Internet und Hilfestellung",
        "79" => "Dienstleistungen für Unternehmen",
        "80" => "Allgemeine und berufliche Bildung",
        _ => return format!("CPV {division}"),
    };
    format!("{division} {name}")
}

/// Share of `part` in `whole` in percent, two places, half away from zero (display only).
pub fn percent(part: Amount, whole: Amount) -> Option<Decimal> {
    (whole.minor() != 0).then(|| {
        round_commercial(
            Decimal::from(part.minor()) * Decimal::ONE_HUNDRED / Decimal::from(whole.minor()),
            2,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn p(d: Decimal) -> Price {
        Price::from_decimal(d).unwrap()
    }

    fn q(d: Decimal) -> Quantity {
        Quantity::from_decimal(d).unwrap()
    }

    #[test]
    fn median_of_nothing_is_none() {
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn median_of_one_is_that_price() {
        assert_eq!(median(&[p(dec!(12.5))]), Some(p(dec!(12.5))));
    }

    #[test]
    fn median_of_odd_count_is_the_middle_value_whatever_the_order() {
        assert_eq!(median(&[p(dec!(30)), p(dec!(10)), p(dec!(20))]), Some(p(dec!(20))));
    }

    #[test]
    fn median_of_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(
            median(&[p(dec!(40)), p(dec!(10)), p(dec!(20)), p(dec!(30))]),
            Some(p(dec!(25)))
        );
    }

    #[test]
    fn even_median_rounds_half_away_from_zero_to_four_places() {
        // (1.0001 + 1.0002) / 2 = 1.00015 → 1.0002 (banker's rounding would give 1.0002 too, so
        // also check a case where it differs: 1.00025 → 1.0003, banker's 1.0002).
        assert_eq!(median(&[p(dec!(1.0001)), p(dec!(1.0002))]), Some(p(dec!(1.0002))));
        assert_eq!(median(&[p(dec!(1.0002)), p(dec!(1.0003))]), Some(p(dec!(1.0003))));
    }

    #[test]
    fn equal_prices_have_that_median() {
        assert_eq!(median(&[p(dec!(7)), p(dec!(7))]), Some(p(dec!(7))));
    }

    #[test]
    fn member_reference_wins_over_estimate_and_median() {
        let c = ReferenceCandidates {
            member: Some(p(dec!(900))),
            estimate: Some(p(dec!(850))),
            median: Some(p(dec!(800))),
        };
        assert_eq!(c.choose(), Some((p(dec!(900)), ReferenceSource::Member)));
    }

    #[test]
    fn estimate_wins_over_median() {
        let c = ReferenceCandidates {
            member: None,
            estimate: Some(p(dec!(850))),
            median: Some(p(dec!(800))),
        };
        assert_eq!(c.choose(), Some((p(dec!(850)), ReferenceSource::Estimate)));
    }

    #[test]
    fn median_is_the_last_resort() {
        let c = ReferenceCandidates {
            median: Some(p(dec!(800))),
            ..Default::default()
        };
        assert_eq!(c.choose(), Some((p(dec!(800)), ReferenceSource::Median)));
        assert_eq!(ReferenceCandidates::default().choose(), None);
    }

    #[test]
    fn a_zero_member_reference_still_counts() {
        let c = ReferenceCandidates {
            member: Some(Price::ZERO),
            estimate: Some(p(dec!(1))),
            median: None,
        };
        assert_eq!(c.choose(), Some((Price::ZERO, ReferenceSource::Member)));
    }

    #[test]
    fn line_saving_is_difference_times_quantity() {
        assert_eq!(
            line_saving(p(dec!(900)), p(dec!(800)), q(dec!(5)))
                .unwrap()
                .to_decimal(),
            dec!(500.00)
        );
    }

    #[test]
    fn line_saving_rounds_half_away_from_zero_to_cents() {
        // 0.0005 × 10 = 0.005 → 0.01 (banker's rounding: 0.00)
        assert_eq!(
            line_saving(p(dec!(1.0005)), p(dec!(1)), q(dec!(10)))
                .unwrap()
                .to_decimal(),
            dec!(0.01)
        );
        assert_eq!(
            line_saving(p(dec!(1)), p(dec!(1.0005)), q(dec!(10)))
                .unwrap()
                .to_decimal(),
            dec!(-0.01)
        );
    }

    #[test]
    fn dearer_contract_gives_negative_saving() {
        assert_eq!(
            line_saving(p(dec!(100)), p(dec!(110.5)), q(dec!(2)))
                .unwrap()
                .to_decimal(),
            dec!(-21.00)
        );
    }

    #[test]
    fn fractional_quantities_are_exact() {
        assert_eq!(
            line_saving(p(dec!(12.3456)), p(dec!(10)), q(dec!(2.5)))
                .unwrap()
                .to_decimal(),
            dec!(5.86)
        );
    }

    #[test]
    fn process_saving_counts_avoided_procedures() {
        let cost = Amount::from_decimal(dec!(5000)).unwrap();
        assert_eq!(process_saving(cost, 8).unwrap().to_decimal(), dec!(35000.00));
        assert_eq!(process_saving(cost, 1).unwrap(), Amount::ZERO);
        assert_eq!(process_saving(cost, 0).unwrap(), Amount::ZERO);
    }

    #[test]
    fn process_saving_refuses_overflow() {
        let cost = Amount::from_minor(999_999_999_999_999).unwrap();
        assert!(process_saving(cost, 3).is_err());
    }

    #[test]
    fn cpv_division_is_first_two_digits() {
        assert_eq!(cpv_division("30213100-6"), "30");
        assert_eq!(cpv_division_label("48"), "48 Softwarepaket und Informationssysteme");
        assert_eq!(cpv_division_label("03"), "CPV 03");
    }

    #[test]
    fn source_codes_round_trip() {
        for s in ReferenceSource::ALL {
            assert_eq!(ReferenceSource::from_code(s.code()), Some(s));
        }
        assert_eq!(ReferenceSource::from_code("guess"), None);
    }

    #[test]
    fn percent_of_zero_whole_is_none() {
        let a = Amount::from_minor(50).unwrap();
        assert_eq!(percent(a, Amount::ZERO), None);
        assert_eq!(percent(a, Amount::from_minor(150).unwrap()), Some(dec!(33.33)));
    }
}
