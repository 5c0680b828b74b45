//! Evaluation arithmetic (lifecycle step 5): lot totals in exact integer minor units, the four
//! published methods computed exactly with `Decimal` and rounded once to the published places,
//! competition ranks with ties flagged, and § 60 VgV abnormally-low flags.

use super::evaluation::{Decision, EvaluationSpec, Method, PriceFormula};
use super::money::round_commercial;
use crate::domain::ids::BidId;
use rust_decimal::Decimal;
use serde::Serialize;
use std::cmp::Ordering;

/// quantity (1/1 000) × price (1/10 000) is in 1/10 000 000 EUR; cents are 1/100.
const PRODUCT_PER_CENT: i128 = 100_000;

/// Line total in cents: quantity × unit price, rounded half away from zero (both are never
/// negative). Integer arithmetic: the same result as `Amount::line_total`, at integer speed.
#[inline]
pub fn line_total_cents(quantity_minor: i64, price_minor: i64) -> i128 {
    // 64-bit division is several times faster than 128-bit; it holds for all but huge lines.
    match quantity_minor
        .checked_mul(price_minor)
        .and_then(|p| p.checked_add((PRODUCT_PER_CENT / 2) as i64))
    {
        Some(p) => i128::from(p / PRODUCT_PER_CENT as i64),
        None => {
            let product = quantity_minor as i128 * price_minor as i128;
            (product + PRODUCT_PER_CENT / 2) / PRODUCT_PER_CENT
        }
    }
}

/// Lot total in cents: the sum of the commercially rounded line totals.
pub fn lot_total_cents(quantities: &[i64], prices: &[i64]) -> i128 {
    quantities
        .iter()
        .zip(prices)
        .map(|(q, p)| line_total_cents(*q, *p))
        .sum()
}

/// Cents as EUR.
pub fn cents_to_decimal(cents: i128) -> Decimal {
    Decimal::from_i128_with_scale(cents, 2)
}

/// UfAB: Z = L / P is shown as performance points per 1 000 EUR, so that typical values have
/// digits before the published decimal places.
pub const Z_PER_EUROS: i64 = 1_000;

/// A valid (not excluded) bid on one lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub bid_id: BidId,
    /// Lot total in EUR.
    pub total: Decimal,
    /// Score 0..10 per B-criterion, in the criteria's order (missing = 0).
    pub scores: Vec<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Scored {
    #[schema(value_type = i64)]
    pub bid_id: BidId,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub total: Decimal,
    /// Weighted method: price points (exact, unrounded).
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub price_points: Option<Decimal>,
    /// Weighted method: quality points on the same scale as the price points (exact).
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub quality_points: Option<Decimal>,
    /// UfAB: performance points L = Σ weight × score (exact).
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub performance: Option<Decimal>,
    /// The ranking figure, rounded once to the published places: total (lowest price), points
    /// (weighted) or Z (UfAB).
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub score: Decimal,
    /// Extended UfAB: inside the band around the best Z.
    pub in_band: Option<bool>,
    /// Competition rank (1, 1, 3 …).
    pub rank: u32,
    /// Shares its rank with another bid: needs a recorded decision (drawing lots) at rank 1.
    pub tied: bool,
}

fn performance(spec: &EvaluationSpec, scores: &[Decimal]) -> Decimal {
    spec.b_criteria
        .iter()
        .enumerate()
        .map(|(i, c)| c.weight * scores.get(i).copied().unwrap_or_default())
        .sum()
}

/// How two scored bids compare for ranking; equal means same rank.
type Order = Box<dyn Fn(&Scored, &Scored) -> Ordering>;

/// Scores and ranks the valid bids of one lot with the tender's published method.
pub fn evaluate(spec: &EvaluationSpec, bids: &[Candidate]) -> Vec<Scored> {
    if bids.is_empty() {
        return Vec::new();
    }
    let places = spec.score_places;
    let min_total = bids.iter().map(|b| b.total).min().unwrap_or_default();
    let weight_sum: Decimal = spec.b_criteria.iter().map(|c| c.weight).sum();
    let mut scored: Vec<Scored> = bids
        .iter()
        .map(|b| {
            let mut s = Scored {
                bid_id: b.bid_id,
                total: b.total,
                price_points: None,
                quality_points: None,
                performance: None,
                score: Decimal::ZERO,
                in_band: None,
                rank: 0,
                tied: false,
            };
            match spec.method {
                Method::LowestPrice => s.score = b.total,
                Method::Weighted => {
                    let pp = price_points(spec, min_total, b.total);
                    let qp = if weight_sum.is_zero() {
                        Decimal::ZERO
                    } else {
                        spec.max_points * performance(spec, &b.scores) / (Decimal::TEN * weight_sum)
                    };
                    let total = (spec.price_weight * pp + spec.quality_weight * qp) / Decimal::ONE_HUNDRED;
                    s.price_points = Some(pp);
                    s.quality_points = Some(qp);
                    s.score = round_commercial(total, places);
                }
                Method::UfabSimple | Method::UfabExtended => {
                    let l = performance(spec, &b.scores);
                    s.performance = Some(l);
                    s.score = if b.total.is_zero() {
                        // A zero price cannot be divided by; it is handled as abnormally low.
                        Decimal::MAX
                    } else {
                        round_commercial(l * Decimal::from(Z_PER_EUROS) / b.total, places)
                    };
                }
            }
            s
        })
        .collect();

    // Ordering key per method; equal keys share a rank.
    let cmp: Order = match spec.method {
        Method::LowestPrice => Box::new(|a, b| a.score.cmp(&b.score)),
        Method::Weighted | Method::UfabSimple => Box::new(|a, b| b.score.cmp(&a.score)),
        Method::UfabExtended => {
            let best = scored.iter().map(|s| s.score).max().unwrap_or_default();
            let band = spec.band_percent.unwrap_or_default();
            let floor = best * (Decimal::ONE - band / Decimal::ONE_HUNDRED);
            for s in scored.iter_mut() {
                s.in_band = Some(s.score >= floor);
            }
            let decision = spec.decision.unwrap_or(Decision::LowestPrice);
            Box::new(move |a, b| {
                let (ia, ib) = (a.in_band == Some(true), b.in_band == Some(true));
                if ia != ib {
                    return ib.cmp(&ia);
                }
                if !ia {
                    return b.score.cmp(&a.score);
                }
                let (la, lb) = (a.performance.unwrap_or_default(), b.performance.unwrap_or_default());
                match decision {
                    Decision::LowestPrice => a.total.cmp(&b.total).then(lb.cmp(&la)),
                    Decision::HighestPerformance => lb.cmp(&la).then(a.total.cmp(&b.total)),
                }
            })
        }
    };
    scored.sort_by(|a, b| cmp(a, b).then(a.bid_id.cmp(&b.bid_id)));
    let mut rank = 1;
    for i in 0..scored.len() {
        if i > 0 && cmp(&scored[i - 1], &scored[i]) != Ordering::Equal {
            rank = i as u32 + 1;
        }
        scored[i].rank = rank;
    }
    for i in 0..scored.len() {
        let tied = (i > 0 && scored[i - 1].rank == scored[i].rank)
            || (i + 1 < scored.len() && scored[i + 1].rank == scored[i].rank);
        scored[i].tied = tied;
    }
    scored
}

fn price_points(spec: &EvaluationSpec, min_total: Decimal, total: Decimal) -> Decimal {
    if total.is_zero() {
        return spec.max_points;
    }
    match spec.price_formula {
        PriceFormula::Quotient => spec.max_points * min_total / total,
        PriceFormula::Linear => {
            if min_total.is_zero() {
                return Decimal::ZERO;
            }
            let p = spec.max_points * (Decimal::TWO * min_total - total) / min_total;
            p.max(Decimal::ZERO)
        }
    }
}

/// Why a lot total is abnormally low (§ 60 VgV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LowFlag {
    #[schema(value_type = i64)]
    pub bid_id: BidId,
    /// Distance below the next-lowest valid bid, in percent, if at or over the setting.
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub below_next_percent: Option<Decimal>,
    /// Distance below the estimate, in percent, if at or over the setting.
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub below_estimate_percent: Option<Decimal>,
}

/// Flags totals at least the published percentages below the next-lowest valid bid or below the
/// estimate. Percentages in the flags are rounded to 2 places for display only.
pub fn abnormally_low(spec: &EvaluationSpec, totals: &[(BidId, Decimal)], estimate: Option<Decimal>) -> Vec<LowFlag> {
    let mut sorted: Vec<(BidId, Decimal)> = totals.to_vec();
    sorted.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let below = |own: Decimal, reference: Decimal| -> Decimal { (reference - own) / reference * Decimal::ONE_HUNDRED };
    let mut flags = Vec::new();
    for (i, (bid, own)) in sorted.iter().enumerate() {
        // The next-lowest bid: the lowest total above this one, so that equal totals are
        // judged alike.
        let next = sorted[i + 1..].iter().map(|(_, t)| *t).find(|t| t > own);
        let by_next = next
            .map(|n| below(*own, n))
            .filter(|p| *p >= spec.abnormally_low_next_percent && !spec.abnormally_low_next_percent.is_zero());
        let by_estimate = estimate
            .filter(|e| !e.is_zero())
            .map(|e| below(*own, e))
            .filter(|p| *p >= spec.abnormally_low_estimate_percent && !spec.abnormally_low_estimate_percent.is_zero());
        if by_next.is_some() || by_estimate.is_some() {
            flags.push(LowFlag {
                bid_id: *bid,
                below_next_percent: by_next.map(|p| round_commercial(p, 2)),
                below_estimate_percent: by_estimate.map(|p| round_commercial(p, 2)),
            });
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evaluation::{BCriterion, EvaluationCommand};
    use crate::domain::money::{Amount, Price, Quantity};
    use rust_decimal_macros::dec;

    fn spec(method: Method) -> EvaluationSpec {
        let mut s = EvaluationCommand::defaults().validate().unwrap();
        s.method = method;
        s.b_criteria = vec![
            BCriterion {
                name: "Service".into(),
                weight: dec!(60),
            },
            BCriterion {
                name: "Nachhaltigkeit".into(),
                weight: dec!(40),
            },
        ];
        s.band_percent = Some(dec!(5));
        s.decision = Some(Decision::LowestPrice);
        s
    }

    fn c(id: i64, total: Decimal, scores: [Decimal; 2]) -> Candidate {
        Candidate {
            bid_id: BidId(id),
            total,
            scores: scores.to_vec(),
        }
    }

    #[test]
    fn integer_line_totals_match_the_decimal_rule() {
        for (q, p) in [
            ("2.5", "0.005"),
            ("10", "1.005"),
            ("3", "0.3333"),
            ("1.001", "9999.9999"),
            ("0.001", "0.0001"),
        ] {
            let q: Quantity = q.parse().unwrap();
            let p: Price = p.parse().unwrap();
            assert_eq!(
                cents_to_decimal(line_total_cents(q.minor(), p.minor())),
                Amount::line_total(q, p).unwrap().to_decimal(),
                "{q:?} × {p:?}"
            );
        }
    }

    #[test]
    fn huge_lines_take_the_wide_path_with_the_same_rule() {
        // 999 999 999.999 × 9 999 999.9999 overflows i64 in minor units.
        let q = 999_999_999_999i64;
        let p = 99_999_999_999i64;
        let exact = (q as i128 * p as i128 + 50_000) / 100_000;
        assert_eq!(line_total_cents(q, p), exact);
        assert_eq!(line_total_cents(1, 50_000), 1, "0.001 × 5 € = 0.005 € → 0.01 €");
        assert_eq!(line_total_cents(1, 49_999), 0);
    }

    #[test]
    fn lot_total_sums_rounded_lines() {
        // 3 × 0.3333 = 0.9999 → 1.00 ; 3 × 0.3333 → 1.00 : 2.00 (not 2.00 from 1.9998 by luck)
        let q = [3000, 3000, 1];
        let p = [3333, 3333, 1];
        assert_eq!(cents_to_decimal(lot_total_cents(&q, &p)), dec!(2.00));
    }

    #[test]
    fn lowest_price_ranks_ascending_and_flags_ties() {
        let s = spec(Method::LowestPrice);
        let r = evaluate(
            &s,
            &[
                c(1, dec!(100), [dec!(0); 2]),
                c(2, dec!(90), [dec!(0); 2]),
                c(3, dec!(90), [dec!(0); 2]),
            ],
        );
        assert_eq!((r[0].bid_id, r[0].rank, r[0].tied), (BidId(2), 1, true));
        assert_eq!((r[1].bid_id, r[1].rank, r[1].tied), (BidId(3), 1, true));
        assert_eq!((r[2].bid_id, r[2].rank, r[2].tied), (BidId(1), 3, false));
    }

    #[test]
    fn weighted_quotient_by_hand() {
        // max 100, price 70 %, quality 30 %, weights 60/40.
        // Bid 1: 1000 €, scores 5/5 → pp = 100, qp = 100 × (300+200)/(10×100) = 50 → 70 + 15 = 85
        // Bid 2: 1250 €, scores 10/10 → pp = 80, qp = 100 → 56 + 30 = 86
        let s = spec(Method::Weighted);
        let r = evaluate(
            &s,
            &[
                c(1, dec!(1000), [dec!(5), dec!(5)]),
                c(2, dec!(1250), [dec!(10), dec!(10)]),
            ],
        );
        assert_eq!((r[0].bid_id, r[0].score), (BidId(2), dec!(86.000)));
        assert_eq!((r[1].bid_id, r[1].score), (BidId(1), dec!(85.000)));
    }

    #[test]
    fn weighted_linear_floors_at_zero() {
        let mut s = spec(Method::Weighted);
        s.price_formula = PriceFormula::Linear;
        let r = evaluate(
            &s,
            &[
                c(1, dec!(100), [dec!(0); 2]),
                c(2, dec!(150), [dec!(0); 2]),
                c(3, dec!(250), [dec!(0); 2]),
            ],
        );
        assert_eq!(r[0].price_points, Some(dec!(100)));
        assert_eq!(r[1].price_points, Some(dec!(50)));
        assert_eq!(r[2].price_points, Some(dec!(0)), "2 × 100 − 250 < 0 → 0");
    }

    #[test]
    fn rounding_once_at_the_published_places_half_away_from_zero() {
        // Weighted, price only: 100 × 800 / 1280 = 62.5 exactly; with 0 places → 63 (banker's: 62).
        let mut s = spec(Method::Weighted);
        s.price_weight = dec!(100);
        s.quality_weight = dec!(0);
        s.score_places = 0;
        let r = evaluate(&s, &[c(1, dec!(800), [dec!(0); 2]), c(2, dec!(1280), [dec!(0); 2])]);
        assert_eq!(r[1].score, dec!(63));
    }

    #[test]
    fn ufab_simple_highest_z_wins() {
        // L1 = 60×8 + 40×6 = 720 at 12 000 € → Z = 60.000 ; L2 = 60×9+40×9 = 900 at 16 000 € → 56.250
        let s = spec(Method::UfabSimple);
        let r = evaluate(
            &s,
            &[
                c(1, dec!(12000), [dec!(8), dec!(6)]),
                c(2, dec!(16000), [dec!(9), dec!(9)]),
            ],
        );
        assert_eq!((r[0].bid_id, r[0].score), (BidId(1), dec!(60.000)));
        assert_eq!(r[1].score, dec!(56.250));
    }

    #[test]
    fn ufab_extended_band_picks_the_cheaper_bid_inside_the_band() {
        // Z1 = 720/12 000 ×1000 = 60 ; Z2 = 690/11 800 ×1000 = 58.475 (within 5 % of 60: ≥ 57)
        // Simple method: bid 1 wins. Extended with lowest price: bid 2 (cheaper) wins.
        let s = spec(Method::UfabExtended);
        let bids = [
            c(1, dec!(12000), [dec!(8), dec!(6)]),
            c(2, dec!(11800), [dec!(7.5), dec!(6)]),
        ];
        let r = evaluate(&s, &bids);
        assert_eq!(r[0].bid_id, BidId(2));
        assert_eq!(r[0].in_band, Some(true));
        let simple = evaluate(&spec(Method::UfabSimple), &bids);
        assert_eq!(simple[0].bid_id, BidId(1));
        // Decision by performance: bid 1 (L 720 > 690).
        let mut s = spec(Method::UfabExtended);
        s.decision = Some(Decision::HighestPerformance);
        assert_eq!(evaluate(&s, &bids)[0].bid_id, BidId(1));
    }

    #[test]
    fn ufab_extended_outside_the_band_ranks_after() {
        let s = spec(Method::UfabExtended);
        // Z3 = 400/11 000 × 1000 = 36.364: far outside; cheapest but last.
        let r = evaluate(
            &s,
            &[
                c(1, dec!(12000), [dec!(8), dec!(6)]),
                c(3, dec!(11000), [dec!(4), dec!(4)]),
            ],
        );
        assert_eq!((r[0].bid_id, r[1].bid_id), (BidId(1), BidId(3)));
        assert_eq!(r[1].in_band, Some(false));
    }

    #[test]
    fn abnormally_low_against_next_and_estimate() {
        let s = spec(Method::LowestPrice);
        // 79 is 21 % below 100 → flagged; 100 vs 101 not. Estimate 120: 79 is 34.17 % below.
        let f = abnormally_low(
            &s,
            &[(BidId(1), dec!(100)), (BidId(2), dec!(79)), (BidId(3), dec!(101))],
            Some(dec!(120)),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].bid_id, BidId(2));
        assert_eq!(f[0].below_next_percent, Some(dec!(21.00)));
        assert_eq!(f[0].below_estimate_percent, Some(dec!(34.17)));
        // Equal lowest totals get the same flag.
        let f = abnormally_low(
            &s,
            &[(BidId(1), dec!(80)), (BidId(2), dec!(80)), (BidId(3), dec!(100))],
            None,
        );
        assert_eq!(f.iter().map(|x| x.bid_id).collect::<Vec<_>>(), vec![BidId(1), BidId(2)]);
        // Exactly 20 % counts ("at least").
        let f = abnormally_low(&s, &[(BidId(1), dec!(100)), (BidId(2), dec!(80))], None);
        assert_eq!(f[0].below_next_percent, Some(dec!(20.00)));
    }
}
