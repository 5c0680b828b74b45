//! Call-off rules without storage (lifecycle step 8): a contract's remaining volume, what a
//! call-off may take, utilisation, and when the 80 % and 90-day alerts are due.

use super::ids::TenderPositionId;
use super::money::{Amount, NumberError, Price, Quantity};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

crate::coded_enum!(
    /// A call-off's state. Placed and confirmed call-offs hold volume, as do delivered ones;
    /// rejected and cancelled ones have given it back.
    CalloffStatus {
        Placed => "placed", "bestellt, Bestätigung ausstehend",
        Confirmed => "confirmed", "vom Lieferanten bestätigt",
        Rejected => "rejected", "vom Lieferanten abgelehnt",
        Delivered => "delivered", "geliefert",
        Cancelled => "cancelled", "storniert",
    }
);

/// Alert when this share of the maximum value is called off (DESIGN step 7).
pub const ALERT_UTILISATION_PERCENT: i64 = 80;
/// Alert this many days before the contract ends.
pub const ALERT_EXPIRY_DAYS: i64 = 90;

/// A contract position as a call-off sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionLimit {
    pub position_id: TenderPositionId,
    pub position_no: i32,
    pub unit_price: Price,
    pub max_quantity: Quantity,
    pub called_quantity: Quantity,
}

impl PositionLimit {
    pub fn remaining(&self) -> Quantity {
        Quantity::from_minor(self.max_quantity.minor() - self.called_quantity.minor()).unwrap_or(Quantity::ZERO)
    }
}

/// A priced line of a call-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PricedLine {
    pub position_id: TenderPositionId,
    pub quantity: Quantity,
    pub unit_price: Price,
    pub line_total: Amount,
}

/// Why a call-off line or the whole call-off is refused, with the figures the user needs to fix
/// it; the calloff service words it in German.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A requested position is not part of the framework contract.
    UnknownPosition,
    NotPositive {
        position_no: i32,
    },
    /// More than is left of a position's maximum quantity.
    OverMaximum {
        position_id: TenderPositionId,
        position_no: i32,
        remaining: Quantity,
        max: Quantity,
        asked: Quantity,
    },
    /// The line total or the sum cannot be represented.
    Amount {
        position_no: i32,
        error: NumberError,
    },
    NoLines,
    /// More than is left of the contract's maximum value.
    OverValue {
        total: Amount,
        left: Amount,
    },
    /// More than is left of the member's quota.
    OverQuota {
        total: Amount,
        left: Amount,
    },
}

/// Prices the requested lines and checks them against what is left: per position, the
/// contract's maximum value and the member's quota. Every refusal reason at once.
pub fn check(
    limits: &[PositionLimit],
    lines: &[(TenderPositionId, Quantity)],
    value_left: Amount,
    quota_left: Option<Amount>,
) -> Result<(Vec<PricedLine>, Amount), Vec<Refusal>> {
    judge(limits, lines, Some((value_left, quota_left)))
}

/// Prices the requested lines without looking at what is left: the position must belong to the
/// contract, the quantity be positive and the amounts representable. The limits themselves are
/// then enforced by the guarded updates of the running totals; `check` explains a refusal.
pub fn price(
    limits: &[PositionLimit],
    lines: &[(TenderPositionId, Quantity)],
) -> Result<(Vec<PricedLine>, Amount), Vec<Refusal>> {
    judge(limits, lines, None)
}

/// `check` when `left` holds the remaining value and quota; `price` when it is `None`.
fn judge(
    limits: &[PositionLimit],
    lines: &[(TenderPositionId, Quantity)],
    left: Option<(Amount, Option<Amount>)>,
) -> Result<(Vec<PricedLine>, Amount), Vec<Refusal>> {
    let mut problems = Vec::new();
    let mut priced = Vec::with_capacity(lines.len());
    let mut total = Amount::ZERO;
    for (position_id, quantity) in lines {
        let Some(limit) = limits.iter().find(|l| l.position_id == *position_id) else {
            problems.push(Refusal::UnknownPosition);
            continue;
        };
        let position_no = limit.position_no;
        if quantity.minor() <= 0 {
            problems.push(Refusal::NotPositive { position_no });
            continue;
        }
        if left.is_some() && quantity.minor() > limit.remaining().minor() {
            problems.push(Refusal::OverMaximum {
                position_id: limit.position_id,
                position_no,
                remaining: limit.remaining(),
                max: limit.max_quantity,
                asked: *quantity,
            });
            continue;
        }
        match Amount::line_total(*quantity, limit.unit_price).and_then(|l| Ok((l, total.checked_add(l)?))) {
            Ok((line_total, sum)) => {
                total = sum;
                priced.push(PricedLine {
                    position_id: *position_id,
                    quantity: *quantity,
                    unit_price: limit.unit_price,
                    line_total,
                });
            }
            Err(error) => problems.push(Refusal::Amount { position_no, error }),
        }
    }
    if lines.is_empty() {
        problems.push(Refusal::NoLines);
    }
    if let Some((value_left, quota_left)) = left.filter(|_| problems.is_empty()) {
        if total.minor() > value_left.minor() {
            problems.push(Refusal::OverValue {
                total,
                left: value_left,
            });
        } else if let Some(q) = quota_left.filter(|q| total.minor() > q.minor()) {
            problems.push(Refusal::OverQuota { total, left: q });
        }
    }
    if problems.is_empty() {
        Ok((priced, total))
    } else {
        Err(problems)
    }
}

/// Utilisation in percent, two places (display; alerts compare exactly).
pub fn utilisation_percent(called: Amount, max: Amount) -> Decimal {
    if max.minor() == 0 {
        return Decimal::ONE_HUNDRED;
    }
    (Decimal::from(called.minor()) * Decimal::ONE_HUNDRED / Decimal::from(max.minor())).round_dp(2)
}

/// Whether called reaches the alert share of max, exactly: called × 100 ≥ max × 80.
pub fn utilisation_alert_due(called: Amount, max: Amount) -> bool {
    i128::from(called.minor()) * 100 >= i128::from(max.minor()) * i128::from(ALERT_UTILISATION_PERCENT)
}

/// Whether `today` is within the last 90 days of a term ending on `term_end`.
pub fn expiry_alert_due(today: NaiveDate, term_end: NaiveDate) -> bool {
    today <= term_end && (term_end - today).num_days() <= ALERT_EXPIRY_DAYS
}

/// A contract accepts call-offs on the days of its term.
pub fn is_active(today: NaiveDate, term_start: NaiveDate, term_end: NaiveDate) -> bool {
    term_start <= today && today <= term_end
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn q(s: &str) -> Quantity {
        Quantity::from_str(s).unwrap()
    }
    fn a(s: &str) -> Amount {
        Amount::from_str(s).unwrap()
    }

    fn limits() -> Vec<PositionLimit> {
        vec![
            PositionLimit {
                position_id: TenderPositionId(1),
                position_no: 1,
                unit_price: Price::from_str("800").unwrap(),
                max_quantity: q("18"),
                called_quantity: q("10"),
            },
            PositionLimit {
                position_id: TenderPositionId(2),
                position_no: 2,
                unit_price: Price::from_str("0.3333").unwrap(),
                max_quantity: q("1000"),
                called_quantity: q("0"),
            },
        ]
    }

    #[test]
    fn prices_lines_and_sums_rounded_line_totals() {
        let (lines, total) = check(
            &limits(),
            &[(TenderPositionId(1), q("2")), (TenderPositionId(2), q("3"))],
            a("100000"),
            None,
        )
        .unwrap();
        assert_eq!(lines[1].line_total, a("1.00"));
        assert_eq!(total, a("1601.00"));
    }

    #[test]
    fn exactly_the_rest_is_allowed_one_more_is_not() {
        assert!(check(&limits(), &[(TenderPositionId(1), q("8"))], a("100000"), None).is_ok());
        let e = check(&limits(), &[(TenderPositionId(1), q("8.001"))], a("100000"), None).unwrap_err();
        assert_eq!(
            e,
            vec![Refusal::OverMaximum {
                position_id: TenderPositionId(1),
                position_no: 1,
                remaining: q("8"),
                max: q("18"),
                asked: q("8.001"),
            }]
        );
    }

    #[test]
    fn value_and_quota_limits_say_what_is_left() {
        let e = check(&limits(), &[(TenderPositionId(1), q("2"))], a("1599.99"), None).unwrap_err();
        assert_eq!(
            e,
            vec![Refusal::OverValue {
                total: a("1600.00"),
                left: a("1599.99")
            }]
        );
        let e = check(&limits(), &[(TenderPositionId(1), q("2"))], a("5000"), Some(a("800"))).unwrap_err();
        assert_eq!(
            e,
            vec![Refusal::OverQuota {
                total: a("1600.00"),
                left: a("800")
            }]
        );
        assert!(check(&limits(), &[(TenderPositionId(1), q("1"))], a("5000"), Some(a("800"))).is_ok());
    }

    #[test]
    fn unknown_positions_and_empty_orders_are_refused() {
        assert_eq!(
            check(&limits(), &[(TenderPositionId(9), q("1"))], a("1"), None).unwrap_err(),
            vec![Refusal::UnknownPosition]
        );
        assert_eq!(check(&limits(), &[], a("1"), None).unwrap_err(), vec![Refusal::NoLines]);
    }

    #[test]
    fn price_ignores_what_is_left_but_not_the_positions() {
        // 30 of position 1 are far beyond the 8 left: the guarded update decides that, not price.
        let (lines, total) = price(
            &limits(),
            &[(TenderPositionId(1), q("30")), (TenderPositionId(2), q("3"))],
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(total, a("24001.00"));
        assert!(price(&limits(), &[(TenderPositionId(9), q("1"))]).is_err());
        assert!(price(&limits(), &[]).is_err());
        let e = price(&limits(), &[(TenderPositionId(1), q("0"))]).unwrap_err();
        assert_eq!(e, vec![Refusal::NotPositive { position_no: 1 }]);
    }

    #[test]
    fn price_and_check_agree_on_the_amounts() {
        let wanted = [(TenderPositionId(1), q("2.5")), (TenderPositionId(2), q("7"))];
        assert_eq!(
            price(&limits(), &wanted).unwrap(),
            check(&limits(), &wanted, a("100000"), Some(a("100000"))).unwrap()
        );
    }

    #[test]
    fn alerts() {
        assert!(!utilisation_alert_due(a("79.99"), a("100")));
        assert!(utilisation_alert_due(a("80"), a("100")));
        assert_eq!(utilisation_percent(a("1"), a("3")), Decimal::from_str("33.33").unwrap());
        let end = NaiveDate::from_ymd_opt(2027, 3, 31).unwrap();
        assert!(!expiry_alert_due(end - chrono::Duration::days(91), end));
        assert!(expiry_alert_due(end - chrono::Duration::days(90), end));
        assert!(!expiry_alert_due(end + chrono::Duration::days(1), end));
        assert!(is_active(end, end - chrono::Duration::days(10), end));
        assert!(!is_active(end + chrono::Duration::days(1), end, end));
    }
}
