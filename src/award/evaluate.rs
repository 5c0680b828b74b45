//! Evaluation of an opened tender: each lot's valid bids ranked by the published method, with
//! § 60 flags, reviews, award and what still blocks the award.

use super::{require_readable, Award, LotBid, LotEvaluation, LowReview};
use crate::auth::CurrentUser;
use crate::db::schema::{awards, bid_lots, bid_scores, bids, contracts, low_bid_reviews, organisations};
use crate::db::DbConn;
use crate::domain::bid::BidStatus;
use crate::domain::bid::{ExclusionKind, LowBidDecision};
use crate::domain::evaluation::EvaluationSpec;
use crate::domain::ids::{BidId, ContractId, LotId, OrgId, TenderId};
use crate::domain::money::Amount;
use crate::domain::scoring::{self, Candidate, Scored};
use crate::error::AppResult;
use crate::tender::{self, Lot, Tender, TenderPosition};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

pub(super) fn estimate_total(positions: &[TenderPosition]) -> Option<Decimal> {
    let mut sum = Decimal::ZERO;
    for p in positions {
        sum += Amount::line_total(p.estimate_quantity, p.estimate_price?)
            .ok()?
            .to_decimal();
    }
    Some(sum)
}

type BidLotRow = (
    BidId,
    OrgId,
    String,
    NaiveDateTime,
    Amount,
    String,
    Option<ExclusionKind>,
    Option<String>,
);

pub(super) fn lot_bids(conn: &mut DbConn, lot_id: LotId, spec: &EvaluationSpec) -> AppResult<Vec<LotBid>> {
    let rows: Vec<BidLotRow> = bid_lots::table
        .inner_join(bids::table.inner_join(organisations::table))
        .filter(bid_lots::lot_id.eq(lot_id))
        .filter(bids::status.eq(BidStatus::Submitted))
        // Ties in time (same second) keep the order of submission.
        .order((bids::submitted_at.asc(), bids::id.asc()))
        .select((
            bids::id,
            bids::vendor_id,
            organisations::name,
            bids::submitted_at,
            bid_lots::total,
            bids::criteria,
            bid_lots::excluded_kind,
            bid_lots::excluded_reason,
        ))
        .load(conn)?;
    let ids: Vec<BidId> = rows.iter().map(|r| r.0).collect();
    let score_rows: Vec<(BidId, i32, i64, String)> = bid_scores::table
        .filter(bid_scores::bid_id.eq_any(&ids))
        .select((
            bid_scores::bid_id,
            bid_scores::criterion_no,
            bid_scores::score,
            bid_scores::reason,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(bid_id, vendor_id, vendor, submitted_at, total, criteria, kind, reason)| {
                let criteria: tender::bids::Criteria = serde_json::from_str(&criteria).unwrap_or_default();
                let scores = (1..=spec.b_criteria.len() as i32)
                    .map(|n| {
                        score_rows
                            .iter()
                            .find(|(b, c, _, _)| *b == bid_id && *c == n)
                            .map(|(_, _, s, r)| (Decimal::new(*s, 2), r.clone()))
                    })
                    .collect();
                LotBid {
                    bid_id,
                    vendor_id,
                    vendor,
                    submitted_at,
                    total,
                    a_confirmed: criteria.a_confirmed,
                    excluded_label: kind.map(ExclusionKind::label),
                    excluded_kind: kind,
                    excluded_reason: reason,
                    scores,
                }
            },
        )
        .collect())
}

pub(super) fn lot_award(conn: &mut DbConn, lot_id: LotId) -> AppResult<Option<Award>> {
    Ok(awards::table
        .filter(awards::lot_id.eq(lot_id))
        .select(Award::as_select())
        .first(conn)
        .optional()?)
}

/// Computes one lot: valid bids ranked by the published method, § 60 flags, what blocks award.
pub fn evaluate_lot(conn: &mut DbConn, t: &Tender, spec: &EvaluationSpec, lot: Lot) -> AppResult<LotEvaluation> {
    let positions: Vec<TenderPosition> = tender::positions(conn, t.id)?
        .into_iter()
        .filter(|p| p.lot_id == lot.id)
        .collect();
    let estimate = estimate_total(&positions);
    let bids = lot_bids(conn, lot.id, spec)?;
    let valid: Vec<&LotBid> = bids.iter().filter(|b| b.excluded_kind.is_none()).collect();
    let candidates: Vec<Candidate> = valid
        .iter()
        .map(|b| Candidate {
            bid_id: b.bid_id,
            total: b.total.to_decimal(),
            scores: b
                .scores
                .iter()
                .map(|s| s.as_ref().map(|(v, _)| *v).unwrap_or_default())
                .collect(),
        })
        .collect();
    let ranking = scoring::evaluate(spec, &candidates);
    let low_flags = scoring::abnormally_low(
        spec,
        &valid
            .iter()
            .map(|b| (b.bid_id, b.total.to_decimal()))
            .collect::<Vec<_>>(),
        estimate,
    );
    let reviews: Vec<LowReview> = low_bid_reviews::table
        .filter(low_bid_reviews::lot_id.eq(lot.id))
        .select((
            low_bid_reviews::bid_id,
            low_bid_reviews::requested_at,
            low_bid_reviews::decision,
            low_bid_reviews::reason,
        ))
        .load::<(BidId, NaiveDateTime, Option<LowBidDecision>, Option<String>)>(conn)?
        .into_iter()
        .map(|(bid_id, requested_at, decision, reason)| LowReview {
            bid_id,
            requested_at,
            decision,
            reason,
        })
        .collect();
    let award = lot_award(conn, lot.id)?;

    let mut blockers = Vec::new();
    if lot.cancelled_at.is_some() {
        blockers.push("Das Los ist aufgehoben.".to_string());
    }
    if valid.is_empty() {
        blockers.push("Es gibt kein wertbares Angebot.".to_string());
    }
    if spec.method.uses_quality() {
        let unscored: Vec<&str> = valid
            .iter()
            .filter(|b| b.scores.iter().any(Option::is_none))
            .map(|b| b.vendor.as_str())
            .collect();
        if !unscored.is_empty() {
            blockers.push(format!(
                "Die B-Kriterien sind noch nicht vollständig bewertet: {}.",
                unscored.join(", ")
            ));
        }
    }
    for f in &low_flags {
        let decided = reviews.iter().any(|r| r.bid_id == f.bid_id && r.decision.is_some());
        if !decided {
            let vendor = valid
                .iter()
                .find(|b| b.bid_id == f.bid_id)
                .map(|b| b.vendor.as_str())
                .unwrap_or("");
            blockers.push(format!(
                "Das Angebot von {vendor} ist ungewöhnlich niedrig (§ 60 VgV); bitte Aufklärung verlangen und entscheiden."
            ));
        }
    }
    let leaders: Vec<&Scored> = ranking.iter().filter(|s| s.rank == 1).collect();
    let proposed_bid_id = match leaders.as_slice() {
        [one] => Some(one.bid_id),
        [] => None,
        many => match lot.tie_winner_bid_id {
            Some(w) if many.iter().any(|s| s.bid_id == w) => Some(w),
            _ => {
                blockers.push(format!(
                    "Gleichstand auf Rang 1 zwischen {} Angeboten: Bitte den Losentscheid festhalten.",
                    many.len()
                ));
                None
            }
        },
    };
    let contract_id: Option<ContractId> = contracts::table
        .filter(contracts::lot_id.eq(lot.id))
        .select(contracts::id)
        .first(conn)
        .optional()?;
    Ok(LotEvaluation {
        contract_id,
        lot,
        estimate_total: estimate,
        bids,
        ranking,
        low_flags,
        reviews,
        award,
        blockers,
        proposed_bid_id,
    })
}

/// The evaluation of every lot of an opened tender, for officers and the board.
pub fn evaluation(
    conn: &mut DbConn,
    user: &CurrentUser,
    tender_id: TenderId,
) -> AppResult<(Tender, Vec<LotEvaluation>)> {
    let t = require_readable(conn, user, tender_id)?;
    let spec = t.spec()?;
    let mut out = Vec::new();
    for lot in tender::lots(conn, tender_id)? {
        out.push(evaluate_lot(conn, &t, &spec, lot)?);
    }
    Ok((t, out))
}

/// Awards of a tender by lot id (for pages).
pub fn awards_of(conn: &mut DbConn, tender_id: TenderId) -> AppResult<BTreeMap<LotId, Award>> {
    Ok(awards::table
        .filter(awards::tender_id.eq(tender_id))
        .select(Award::as_select())
        .load(conn)?
        .into_iter()
        .map(|a| (a.lot_id, a))
        .collect())
}
