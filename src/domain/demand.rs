//! Demand aggregation (lifecycle step 1): per position the total quantity, how many members want
//! it, the quantity-weighted reference price with min and max, and the estimated value.

use super::ids::{DemandPositionId, OrgId};
use super::money::{round_commercial, Amount, Price, Quantity};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

crate::coded_enum!(
    /// A demand call's state: drafted by an officer, open for the members' answers, closed.
    CallStatus {
        Draft => "draft", "Entwurf",
        Open => "open", "offen",
        Closed => "closed", "abgeschlossen",
    }
);

/// A buyer sees a position's total only when at least this many members reported demand for it,
/// so that no single other member's quantity can be worked out from the total.
pub const MIN_MEMBERS_FOR_TOTALS: usize = 3;

/// One member's demand for one position.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub position_id: DemandPositionId,
    pub member_id: OrgId,
    pub quantity: Quantity,
    pub reference_price: Option<Price>,
}

// Field comments are `//`: `///` would become the API document's (English) descriptions.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PositionAggregate {
    #[schema(value_type = i64)]
    pub position_id: DemandPositionId,
    // Σ quantity over all members (exact; may exceed what one line holds).
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub total_quantity: Decimal,
    pub members: usize,
    // Σ(q × p) / Σq over lines with a reference price, rounded commercially to 4 places.
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub weighted_reference_price: Option<Decimal>,
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub min_reference_price: Option<Decimal>,
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub max_reference_price: Option<Decimal>,
    // The officer's estimate, else the weighted reference price.
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub estimate_unit_price: Option<Decimal>,
    // total quantity × estimate, rounded commercially to cents.
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub estimated_value: Option<Decimal>,
}

impl PositionAggregate {
    /// The total as a buyer may see it (see `MIN_MEMBERS_FOR_TOTALS`).
    pub fn total_for_members(&self) -> Option<Decimal> {
        (self.members >= MIN_MEMBERS_FOR_TOTALS).then_some(self.total_quantity)
    }
}

/// Aggregates `lines` for `positions` (id and optional officer estimate), in position order.
pub fn aggregate(positions: &[(DemandPositionId, Option<Price>)], lines: &[Line]) -> Vec<PositionAggregate> {
    let mut by_position: BTreeMap<DemandPositionId, Vec<&Line>> = BTreeMap::new();
    for line in lines {
        by_position.entry(line.position_id).or_default().push(line);
    }
    positions
        .iter()
        .map(|(position_id, estimate)| {
            let lines = by_position.get(position_id).map(Vec::as_slice).unwrap_or(&[]);
            let total_quantity: Decimal = lines.iter().map(|l| l.quantity.to_decimal()).sum();
            let priced: Vec<(Decimal, Decimal)> = lines
                .iter()
                .filter_map(|l| l.reference_price.map(|p| (l.quantity.to_decimal(), p.to_decimal())))
                .collect();
            let priced_qty: Decimal = priced.iter().map(|(q, _)| *q).sum();
            // Exact average; it is rounded for display, but the value uses the exact one so that
            // rounding happens once.
            let weighted_exact =
                (!priced_qty.is_zero()).then(|| priced.iter().map(|(q, p)| q * p).sum::<Decimal>() / priced_qty);
            let weighted = weighted_exact.map(|w| round_commercial(w, Price::PLACES));
            let exact_unit_price = estimate.map(Price::to_decimal).or(weighted_exact);
            let estimate_unit_price = estimate.map(Price::to_decimal).or(weighted);
            PositionAggregate {
                position_id: *position_id,
                total_quantity,
                members: lines.len(),
                weighted_reference_price: weighted,
                min_reference_price: priced.iter().map(|(_, p)| *p).min(),
                max_reference_price: priced.iter().map(|(_, p)| *p).max(),
                estimate_unit_price,
                estimated_value: exact_unit_price.map(|p| round_commercial(total_quantity * p, Amount::PLACES)),
            }
        })
        .collect()
}

/// Σ estimated value over positions that have one.
pub fn estimated_total(aggregates: &[PositionAggregate]) -> Decimal {
    aggregates.iter().filter_map(|a| a.estimated_value).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn q(v: Decimal) -> Quantity {
        Quantity::from_decimal(v).unwrap()
    }
    fn p(v: Decimal) -> Price {
        Price::from_decimal(v).unwrap()
    }
    fn line(pos: i64, member: i64, qty: Decimal, price: Option<Decimal>) -> Line {
        Line {
            position_id: DemandPositionId(pos),
            member_id: OrgId(member),
            quantity: q(qty),
            reference_price: price.map(p),
        }
    }

    #[test]
    fn totals_and_member_count() {
        let a = aggregate(
            &[(DemandPositionId(1), None)],
            &[line(1, 10, dec!(100), None), line(1, 11, dec!(50.5), None)],
        );
        assert_eq!(a[0].total_quantity, dec!(150.5));
        assert_eq!(a[0].members, 2);
        assert_eq!(a[0].weighted_reference_price, None);
        assert_eq!(a[0].estimated_value, None);
    }

    #[test]
    fn weighted_price_counts_only_priced_lines() {
        // (100 × 800 + 300 × 700) / 400 = 725; the unpriced line does not dilute it.
        let a = aggregate(
            &[(DemandPositionId(1), None)],
            &[
                line(1, 10, dec!(100), Some(dec!(800))),
                line(1, 11, dec!(300), Some(dec!(700))),
                line(1, 12, dec!(50), None),
            ],
        );
        assert_eq!(a[0].weighted_reference_price, Some(dec!(725)));
        assert_eq!(a[0].min_reference_price, Some(dec!(700)));
        assert_eq!(a[0].max_reference_price, Some(dec!(800)));
        assert_eq!(a[0].total_quantity, dec!(450));
        assert_eq!(a[0].estimated_value, Some(dec!(326250)));
    }

    #[test]
    fn weighted_price_rounds_once_to_four_places() {
        // (1 × 1 + 2 × 2) / 3 = 1.6666… → 1.6667
        let a = aggregate(
            &[(DemandPositionId(1), None)],
            &[line(1, 1, dec!(1), Some(dec!(1))), line(1, 2, dec!(2), Some(dec!(2)))],
        );
        assert_eq!(a[0].weighted_reference_price, Some(dec!(1.6667)));
        // value = 3 × 1.6667 = 5.0001 → 5.00
        assert_eq!(a[0].estimated_value, Some(dec!(5.00)));
    }

    #[test]
    fn value_uses_the_exact_average_not_the_rounded_one() {
        // (1 × 10 + 2 × 10.0001) / 3 = 10.0000666…; shown as 10.0001, but 3000 × exact = 30000.20,
        // while 3000 × 10.0001 would give 30000.30.
        let a = aggregate(
            &[(DemandPositionId(1), None)],
            &[
                line(1, 1, dec!(1000), Some(dec!(10))),
                line(1, 2, dec!(2000), Some(dec!(10.0001))),
            ],
        );
        assert_eq!(a[0].weighted_reference_price, Some(dec!(10.0001)));
        assert_eq!(a[0].estimated_value, Some(dec!(30000.20)));
    }

    #[test]
    fn totals_are_shown_to_members_from_three_reporting_members() {
        let two = aggregate(
            &[(DemandPositionId(1), None)],
            &[line(1, 1, dec!(1), None), line(1, 2, dec!(2), None)],
        );
        assert_eq!(two[0].total_for_members(), None);
        let three = aggregate(
            &[(DemandPositionId(1), None)],
            &[
                line(1, 1, dec!(1), None),
                line(1, 2, dec!(2), None),
                line(1, 3, dec!(3), None),
            ],
        );
        assert_eq!(three[0].total_for_members(), Some(dec!(6)));
    }

    #[test]
    fn officer_estimate_wins_over_reference_prices() {
        let a = aggregate(
            &[(DemandPositionId(1), Some(p(dec!(10.005))))],
            &[line(1, 1, dec!(3), Some(dec!(99)))],
        );
        assert_eq!(a[0].estimate_unit_price, Some(dec!(10.005)));
        // 3 × 10.005 = 30.015 → 30.02 (half away from zero)
        assert_eq!(a[0].estimated_value, Some(dec!(30.02)));
    }

    #[test]
    fn positions_without_demand_are_listed_empty() {
        let a = aggregate(
            &[(DemandPositionId(1), None), (DemandPositionId(2), None)],
            &[line(2, 1, dec!(1), None)],
        );
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].members, 0);
        assert_eq!(a[0].total_quantity, dec!(0));
    }

    #[test]
    fn estimated_total_sums_known_values() {
        let a = aggregate(
            &[(DemandPositionId(1), Some(p(dec!(2)))), (DemandPositionId(2), None)],
            &[line(1, 1, dec!(5), None), line(2, 1, dec!(5), None)],
        );
        assert_eq!(estimated_total(&a), dec!(10));
    }
}
