//! Evaluation and award (lifecycle steps 5 and 6): price comparison, exclusions, quality scores,
//! the published method's ranking, § 60 reviews, tie decisions, the award with § 134 information
//! and standstill, conclusion into a framework contract, cancellation and the Vergabevermerk.

pub mod routes;

use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{
    audit_events, award_notices, awards, bid_lots, bid_prices, bid_scores, bids, contract_members, contract_positions,
    contracts, low_bid_reviews, organisations, tender_lots, tender_members, tenders, users,
};
use crate::db::{write_tx, DbConn};
use crate::domain::bid::{AwardStatus, ExclusionKind, LowBidDecision};
use crate::domain::evaluation::EvaluationSpec;
use crate::domain::money::{round_commercial, Amount, Price, Quantity};
use crate::domain::roles::Role;
use crate::domain::scoring::{self, Candidate, LowFlag, Scored};
use crate::domain::standstill;
use crate::error::{AppError, AppResult};
use crate::tender::{self, bids::OPENED_BID_READERS, Lot, Tender, TenderPosition};
use crate::{mail, AppState};
use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

pub const EXCLUSION_KIND_MISSING: &str = "Bitte wählen Sie den Ausschlussgrund.";
use crate::domain::bid::BidStatus;
use crate::domain::policy::Reach;
use crate::domain::tender::TenderStatus;

/// One bid on one lot, as the evaluation sees it.
#[derive(Debug, Clone, Serialize)]
pub struct LotBid {
    pub bid_id: i64,
    pub vendor_id: i64,
    pub vendor: String,
    pub submitted_at: NaiveDateTime,
    pub total: Amount,
    pub a_confirmed: Vec<bool>,
    pub excluded_kind: Option<ExclusionKind>,
    pub excluded_label: Option<&'static str>,
    pub excluded_reason: Option<String>,
    /// Score (0..10) and reason per B-criterion, `None` where not yet scored.
    pub scores: Vec<Option<(Decimal, String)>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LowReview {
    pub bid_id: i64,
    pub requested_at: NaiveDateTime,
    pub decision: Option<LowBidDecision>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = awards)]
pub struct Award {
    pub id: i64,
    pub tender_id: i64,
    pub lot_id: i64,
    pub bid_id: i64,
    pub vendor_id: i64,
    pub reason: String,
    pub status: AwardStatus,
    pub decided_by: i64,
    pub informed_at: NaiveDateTime,
    pub standstill_last_day: NaiveDate,
    pub concluded_by: Option<i64>,
    pub concluded_at: Option<NaiveDateTime>,
}

/// Everything decided and computed for one lot.
#[derive(Debug, Clone, Serialize)]
pub struct LotEvaluation {
    pub lot: Lot,
    /// Σ estimate quantity × estimate price, where every position has an estimate.
    pub estimate_total: Option<Decimal>,
    pub bids: Vec<LotBid>,
    pub ranking: Vec<Scored>,
    pub low_flags: Vec<LowFlag>,
    pub reviews: Vec<LowReview>,
    pub award: Option<Award>,
    /// Why the lot cannot be awarded yet (empty when it can).
    pub blockers: Vec<String>,
    /// The bid the officer may award: the single best-ranked, or the drawn one of a tie.
    pub proposed_bid_id: Option<i64>,
    /// The framework contract, once concluded.
    pub contract_id: Option<i64>,
}

fn require_readable(conn: &mut DbConn, user: &CurrentUser, tender_id: i64) -> AppResult<Tender> {
    // The sealed gate of the bids decides: nothing is evaluated before opening.
    let (t, _) = tender::bids::opened_meta(conn, user, tender_id)?;
    Ok(t)
}

fn require_open_for_decisions(t: &Tender) -> AppResult<()> {
    if t.cancelled_at.is_some() {
        return Err(AppError::Conflict("Die Ausschreibung ist aufgehoben.".into()));
    }
    if !t.is_opened() {
        return Err(AppError::Conflict("Die Angebote sind noch nicht geöffnet.".into()));
    }
    Ok(())
}

fn find_lot(conn: &mut DbConn, tender_id: i64, lot_id: i64) -> AppResult<Lot> {
    Ok(tender_lots::table
        .find(lot_id)
        .filter(tender_lots::tender_id.eq(tender_id))
        .first(conn)?)
}

fn estimate_total(positions: &[TenderPosition]) -> Option<Decimal> {
    let mut sum = Decimal::ZERO;
    for p in positions {
        sum += Amount::line_total(p.estimate_quantity, p.estimate_price?)
            .ok()?
            .to_decimal();
    }
    Some(sum)
}

type BidLotRow = (
    i64,
    i64,
    String,
    NaiveDateTime,
    Amount,
    String,
    Option<ExclusionKind>,
    Option<String>,
);

fn lot_bids(conn: &mut DbConn, lot_id: i64, spec: &EvaluationSpec) -> AppResult<Vec<LotBid>> {
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
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let score_rows: Vec<(i64, i32, i64, String)> = bid_scores::table
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

fn lot_award(conn: &mut DbConn, lot_id: i64) -> AppResult<Option<Award>> {
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
        .load::<(i64, NaiveDateTime, Option<LowBidDecision>, Option<String>)>(conn)?
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
    let contract_id: Option<i64> = contracts::table
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
pub fn evaluation(conn: &mut DbConn, user: &CurrentUser, tender_id: i64) -> AppResult<(Tender, Vec<LotEvaluation>)> {
    let t = require_readable(conn, user, tender_id)?;
    let spec = t.spec()?;
    let mut out = Vec::new();
    for lot in tender::lots(conn, tender_id)? {
        out.push(evaluate_lot(conn, &t, &spec, lot)?);
    }
    Ok((t, out))
}

// ----------------------------------------------------------------------------- price comparison

/// One bidder's column in the price comparison.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SheetBidder {
    pub bid_id: i64,
    pub vendor: String,
    pub total: Decimal,
    pub excluded: bool,
    /// (lot total − lowest) / lowest in percent, 2 places.
    pub deviation_from_lowest: Option<Decimal>,
    /// (lot total − estimate) / estimate in percent, 2 places.
    pub deviation_from_estimate: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SheetRow {
    pub position: TenderPosition,
    /// Per bidder (same order as `bidders`): unit price and line total.
    pub cells: Vec<Option<(Decimal, Decimal)>>,
    /// Over the valid bidders' unit prices: mean (4 places) and minimum.
    pub mean_price: Option<Decimal>,
    pub min_price: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PriceSheet {
    pub lot: Lot,
    pub bidders: Vec<SheetBidder>,
    pub rows: Vec<SheetRow>,
    pub estimate_total: Option<Decimal>,
}

fn percent_over(value: Decimal, reference: Decimal) -> Option<Decimal> {
    (!reference.is_zero()).then(|| round_commercial((value - reference) / reference * Decimal::ONE_HUNDRED, 2))
}

/// The Preisspiegel of a lot: positions × bidders with unit prices and line totals.
pub fn price_sheet(
    conn: &mut DbConn,
    user: &CurrentUser,
    tender_id: i64,
    lot_id: i64,
) -> AppResult<(Tender, PriceSheet)> {
    let t = require_readable(conn, user, tender_id)?;
    let spec = t.spec()?;
    let lot = find_lot(conn, tender_id, lot_id)?;
    let positions: Vec<TenderPosition> = tender::positions(conn, tender_id)?
        .into_iter()
        .filter(|p| p.lot_id == lot_id)
        .collect();
    let bids = lot_bids(conn, lot_id, &spec)?;
    let ids: Vec<i64> = bids.iter().map(|b| b.bid_id).collect();
    let prices: HashMap<(i64, i64), Price> = bid_prices::table
        .filter(bid_prices::bid_id.eq_any(&ids))
        .select((bid_prices::bid_id, bid_prices::position_id, bid_prices::unit_price))
        .load::<(i64, i64, Price)>(conn)?
        .into_iter()
        .map(|(b, p, u)| ((b, p), u))
        .collect();
    let estimate = estimate_total(&positions);
    let lowest = bids
        .iter()
        .filter(|b| b.excluded_kind.is_none())
        .map(|b| b.total.to_decimal())
        .min();
    let bidders = bids
        .iter()
        .map(|b| SheetBidder {
            bid_id: b.bid_id,
            vendor: b.vendor.clone(),
            total: b.total.to_decimal(),
            excluded: b.excluded_kind.is_some(),
            deviation_from_lowest: lowest.and_then(|l| percent_over(b.total.to_decimal(), l)),
            deviation_from_estimate: estimate.and_then(|e| percent_over(b.total.to_decimal(), e)),
        })
        .collect();
    let rows = positions
        .into_iter()
        .map(|p| {
            let cells: Vec<Option<(Decimal, Decimal)>> = bids
                .iter()
                .map(|b| {
                    prices.get(&(b.bid_id, p.id)).map(|u| {
                        let line = Amount::line_total(p.estimate_quantity, *u)
                            .map(Amount::to_decimal)
                            .unwrap_or_default();
                        (u.to_decimal(), line)
                    })
                })
                .collect();
            let valid: Vec<Decimal> = bids
                .iter()
                .zip(&cells)
                .filter(|(b, _)| b.excluded_kind.is_none())
                .filter_map(|(_, c)| c.map(|(u, _)| u))
                .collect();
            let mean_price = (!valid.is_empty()).then(|| {
                round_commercial(
                    valid.iter().sum::<Decimal>() / Decimal::from(valid.len()),
                    Price::PLACES,
                )
            });
            SheetRow {
                min_price: valid.iter().min().copied(),
                mean_price,
                cells,
                position: p,
            }
        })
        .collect();
    Ok((
        t,
        PriceSheet {
            lot,
            bidders,
            rows,
            estimate_total: estimate,
        },
    ))
}

/// The price comparison as German Excel CSV.
pub fn price_sheet_csv(sheet: &PriceSheet) -> Vec<u8> {
    use crate::import::{decimal_cell, GermanCsv};
    let cell = |d: Option<Decimal>, places: u32| d.map(|v| decimal_cell(v, places)).unwrap_or_default();
    let mut out = GermanCsv::new();
    let mut header = vec![
        "Pos.".to_string(),
        "Beschreibung".into(),
        "Einheit".into(),
        "Geschätzte Menge".into(),
    ];
    for b in &sheet.bidders {
        let mark = if b.excluded { " (ausgeschlossen)" } else { "" };
        header.push(format!("{}{mark}: Einzelpreis", b.vendor));
        header.push(format!("{}{mark}: Zeilensumme", b.vendor));
    }
    header.push("Mittelwert Einzelpreis".into());
    header.push("Minimum Einzelpreis".into());
    out.row(header);
    for r in &sheet.rows {
        let mut row = vec![
            r.position.position_no.to_string(),
            r.position.description.clone(),
            r.position.unit.clone(),
            decimal_cell(r.position.estimate_quantity.to_decimal(), 0),
        ];
        for c in &r.cells {
            row.push(cell(c.map(|(u, _)| u), 2));
            row.push(cell(c.map(|(_, l)| l), 2));
        }
        row.push(cell(r.mean_price, 2));
        row.push(cell(r.min_price, 2));
        out.row(row);
    }
    let mut total = vec![String::new(), "Summe des Loses".into(), String::new(), String::new()];
    for b in &sheet.bidders {
        total.push(String::new());
        total.push(decimal_cell(b.total, 2));
    }
    out.row(total);
    for (label, f) in [
        ("Abweichung vom niedrigsten Angebot (%)", 0),
        ("Abweichung von der Schätzung (%)", 1),
    ] {
        let mut row = vec![String::new(), label.to_string(), String::new(), String::new()];
        for b in &sheet.bidders {
            row.push(String::new());
            row.push(cell(
                if f == 0 {
                    b.deviation_from_lowest
                } else {
                    b.deviation_from_estimate
                },
                2,
            ));
        }
        out.row(row);
    }
    out.finish()
}

// ----------------------------------------------------------------------------- decisions

/// A bid on one lot of a tender: what most decisions are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct BidOnLot {
    pub tender_id: i64,
    pub lot_id: i64,
    pub bid_id: i64,
}

fn stream(tender_id: i64) -> String {
    tender::stream(tender_id)
}

fn bid_on_lot(conn: &mut DbConn, tender_id: i64, lot_id: i64, bid_id: i64) -> AppResult<(i64, String)> {
    let row: Option<(i64, String)> = bid_lots::table
        .inner_join(bids::table.inner_join(organisations::table))
        .filter(bid_lots::lot_id.eq(lot_id))
        .filter(bid_lots::bid_id.eq(bid_id))
        .filter(bids::tender_id.eq(tender_id))
        .filter(bids::status.eq(BidStatus::Submitted))
        .select((bids::vendor_id, organisations::name))
        .first(conn)
        .optional()?;
    row.ok_or(AppError::NotFound)
}

fn require_undecided(conn: &mut DbConn, lot_id: i64) -> AppResult<()> {
    if lot_award(conn, lot_id)?.is_some() {
        return Err(AppError::Conflict(
            "Für dieses Los ist der Zuschlag bereits erteilt; die Wertung ist abgeschlossen.".into(),
        ));
    }
    Ok(())
}

fn clean_reason(reason: &str, field: &str) -> AppResult<String> {
    let r = reason.trim();
    if !(3..=4000).contains(&r.chars().count()) {
        return Err(AppError::field(
            field,
            "Bitte begründen Sie die Entscheidung (3 bis 4000 Zeichen).",
        ));
    }
    Ok(r.to_string())
}

/// Excludes a bid from one lot, with a reason (officer).
pub fn exclude(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    target: BidOnLot,
    kind: Option<ExclusionKind>,
    reason: &str,
) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    let BidOnLot {
        tender_id,
        lot_id,
        bid_id,
    } = target;
    let Some(kind) = kind else {
        return Err(AppError::field("kind", EXCLUSION_KIND_MISSING));
    };
    let reason = clean_reason(reason, "reason")?;
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        require_open_for_decisions(&t)?;
        find_lot(c, tender_id, lot_id)?;
        require_undecided(c, lot_id)?;
        let (vendor_id, vendor) = bid_on_lot(c, tender_id, lot_id, bid_id)?;
        diesel::update(bid_lots::table.find((bid_id, lot_id)))
            .set((
                bid_lots::excluded_kind.eq(Some(kind)),
                bid_lots::excluded_reason.eq(Some(&reason)),
                bid_lots::excluded_by.eq(Some(user.id)),
                bid_lots::excluded_at.eq(Some(state.clock.now_naive())),
            ))
            .execute(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "bid.excluded",
                "bid",
                bid_id,
                json!({ "tender_id": tender_id, "lot_id": lot_id, "vendor_id": vendor_id, "vendor": vendor, "kind": kind, "reason": reason }),
            )
            .in_stream(stream(tender_id)),
        )?;
        Ok(())
    })
}

/// Records the B-criterion scores (0..10, at most 2 places) of a bid, each with a reason.
pub fn score(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: i64,
    bid_id: i64,
    scores: &[(Option<Decimal>, String)],
) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        require_open_for_decisions(&t)?;
        let spec = t.spec()?;
        let (vendor_id, vendor): (i64, String) = bids::table
            .inner_join(organisations::table)
            .filter(bids::id.eq(bid_id))
            .filter(bids::tender_id.eq(tender_id))
            .filter(bids::status.eq(BidStatus::Submitted))
            .select((bids::vendor_id, organisations::name))
            .first(c)?;
        // Scores count for every lot of the bid: refused once a lot where the bid competes
        // is awarded (its ranking is decided); a lot it was excluded from does not matter.
        let lots: Vec<(i64, Option<String>)> = bid_lots::table
            .filter(bid_lots::bid_id.eq(bid_id))
            .select((bid_lots::lot_id, bid_lots::excluded_kind))
            .load(c)?;
        for (l, excluded) in &lots {
            if excluded.is_none() {
                require_undecided(c, *l)?;
            }
        }
        let mut errors = crate::error::FieldErrors::new();
        let mut parsed = Vec::new();
        for (i, criterion) in spec.b_criteria.iter().enumerate() {
            let (score, reason) = scores.get(i).cloned().unwrap_or_default();
            let field = format!("score_{}", i + 1);
            match score {
                Some(s) if s >= Decimal::ZERO && s <= Decimal::TEN && s.normalize().scale() <= 2 => {
                    if reason.trim().chars().count() < 3 {
                        errors.entry(format!("reason_{}", i + 1)).or_default().push(format!(
                            "B{} „{}“: Bitte begründen Sie die Punktzahl kurz.",
                            i + 1,
                            criterion.name
                        ));
                    }
                    parsed.push((i as i32 + 1, s, reason.trim().to_string()));
                }
                _ => errors.entry(field).or_default().push(format!(
                    "B{} „{}“: Die Punktzahl muss zwischen 0 und 10 liegen (höchstens 2 Nachkommastellen).",
                    i + 1,
                    criterion.name
                )),
            }
        }
        if !errors.is_empty() {
            return Err(AppError::fields(errors));
        }
        let now = state.clock.now_naive();
        diesel::delete(bid_scores::table.filter(bid_scores::bid_id.eq(bid_id))).execute(c)?;
        for (no, s, reason) in &parsed {
            diesel::insert_into(bid_scores::table)
                .values((
                    bid_scores::bid_id.eq(bid_id),
                    bid_scores::criterion_no.eq(no),
                    // 0..10 with at most 2 places (checked above): exact hundredths.
                    bid_scores::score
                        .eq(rust_decimal::prelude::ToPrimitive::to_i64(&(s * Decimal::ONE_HUNDRED)).unwrap_or(0)),
                    bid_scores::reason.eq(reason),
                    bid_scores::scored_by.eq(user.id),
                    bid_scores::scored_at.eq(now),
                ))
                .execute(c)?;
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "bid.scored",
                "bid",
                bid_id,
                json!({ "tender_id": tender_id, "vendor_id": vendor_id, "vendor": vendor, "scores": parsed.iter().map(|(n, s, r)| json!({"criterion": n, "score": s, "reason": r})).collect::<Vec<_>>() }),
            )
            .in_stream(stream(tender_id)),
        )?;
        Ok(())
    })
}

/// § 60 VgV: asks the vendor of a flagged bid to explain its price (mail), recorded.
pub fn request_explanation(conn: &mut DbConn, state: &AppState, user: &CurrentUser, target: BidOnLot) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    let BidOnLot {
        tender_id,
        lot_id,
        bid_id,
    } = target;
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        require_open_for_decisions(&t)?;
        let lot = find_lot(c, tender_id, lot_id)?;
        require_undecided(c, lot_id)?;
        let (vendor_id, vendor) = bid_on_lot(c, tender_id, lot_id, bid_id)?;
        let eval = evaluate_lot(c, &t, &t.spec()?, lot.clone())?;
        if !eval.low_flags.iter().any(|f| f.bid_id == bid_id) {
            return Err(AppError::Conflict(
                "Dieses Angebot ist nicht als ungewöhnlich niedrig markiert.".into(),
            ));
        }
        let exists: i64 = low_bid_reviews::table
            .filter(low_bid_reviews::bid_id.eq(bid_id))
            .filter(low_bid_reviews::lot_id.eq(lot_id))
            .count()
            .get_result(c)?;
        if exists > 0 {
            return Err(AppError::Conflict("Die Aufklärung ist bereits verlangt.".into()));
        }
        let now = state.clock.now_naive();
        diesel::insert_into(low_bid_reviews::table)
            .values((
                low_bid_reviews::bid_id.eq(bid_id),
                low_bid_reviews::lot_id.eq(lot_id),
                low_bid_reviews::requested_by.eq(user.id),
                low_bid_reviews::requested_at.eq(now),
            ))
            .execute(c)?;
        for (email, name) in vendor_users(c, vendor_id)? {
            mail::enqueue(
                c,
                state,
                &email,
                "bid_explanation_requested",
                &json!({ "name": name, "vendor": vendor, "title": t.title, "lot_no": lot.lot_no, "lot_title": lot.title,
                         "url": format!("{}/ausschreibungen/{}", state.config.base_url, tender_id) }),
            )?;
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "bid.explanation_requested",
                "bid",
                bid_id,
                json!({ "tender_id": tender_id, "lot_id": lot_id, "vendor": vendor }),
            )
            .in_stream(stream(tender_id)),
        )?;
        Ok(())
    })
}

/// Records the decision on an abnormally low bid: accepted, or excluded (which also excludes it).
pub fn decide_low(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    target: BidOnLot,
    accept: bool,
    reason: &str,
) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    let BidOnLot {
        tender_id,
        lot_id,
        bid_id,
    } = target;
    let reason = clean_reason(reason, "reason")?;
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        require_open_for_decisions(&t)?;
        find_lot(c, tender_id, lot_id)?;
        require_undecided(c, lot_id)?;
        let (_, vendor) = bid_on_lot(c, tender_id, lot_id, bid_id)?;
        let pending: Option<Option<String>> = low_bid_reviews::table
            .filter(low_bid_reviews::bid_id.eq(bid_id))
            .filter(low_bid_reviews::lot_id.eq(lot_id))
            .select(low_bid_reviews::decision)
            .first(c)
            .optional()?;
        match pending {
            None => {
                return Err(AppError::Conflict(
                    "Bitte verlangen Sie zuerst Aufklärung vom Bieter (§ 60 Abs. 1 VgV).".into(),
                ))
            }
            Some(Some(_)) => return Err(AppError::Conflict("Darüber ist bereits entschieden.".into())),
            Some(None) => {}
        }
        let now = state.clock.now_naive();
        let decision = if accept {
            LowBidDecision::Accepted
        } else {
            LowBidDecision::Excluded
        };
        diesel::update(low_bid_reviews::table.find((bid_id, lot_id)))
            .set((
                low_bid_reviews::decision.eq(Some(decision)),
                low_bid_reviews::reason.eq(Some(&reason)),
                low_bid_reviews::decided_by.eq(Some(user.id)),
                low_bid_reviews::decided_at.eq(Some(now)),
            ))
            .execute(c)?;
        if !accept {
            diesel::update(bid_lots::table.find((bid_id, lot_id)))
                .set((
                    bid_lots::excluded_kind.eq(Some(ExclusionKind::AbnormallyLow)),
                    bid_lots::excluded_reason.eq(Some(&reason)),
                    bid_lots::excluded_by.eq(Some(user.id)),
                    bid_lots::excluded_at.eq(Some(now)),
                ))
                .execute(c)?;
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "bid.low_decided",
                "bid",
                bid_id,
                json!({ "tender_id": tender_id, "lot_id": lot_id, "vendor": vendor, "decision": decision, "reason": reason }),
            )
            .in_stream(stream(tender_id)),
        )?;
        Ok(())
    })
}

/// Records how a tie at rank 1 was decided (drawing lots), naming the drawn bid.
pub fn decide_tie(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: i64,
    lot_id: i64,
    winner_bid_id: i64,
    note: &str,
) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    let note = clean_reason(note, "note")?;
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        require_open_for_decisions(&t)?;
        let lot = find_lot(c, tender_id, lot_id)?;
        require_undecided(c, lot_id)?;
        let eval = evaluate_lot(c, &t, &t.spec()?, lot)?;
        let leaders: Vec<i64> = eval.ranking.iter().filter(|s| s.rank == 1).map(|s| s.bid_id).collect();
        if leaders.len() < 2 {
            return Err(AppError::Conflict("Auf Rang 1 besteht kein Gleichstand.".into()));
        }
        if !leaders.contains(&winner_bid_id) {
            return Err(AppError::field(
                "bid_id",
                "Gezogen werden kann nur eines der gleichrangigen Angebote.",
            ));
        }
        diesel::update(tender_lots::table.find(lot_id))
            .set((
                tender_lots::tie_winner_bid_id.eq(Some(winner_bid_id)),
                tender_lots::tie_note.eq(Some(&note)),
                tender_lots::tie_decided_by.eq(Some(user.id)),
                tender_lots::tie_decided_at.eq(Some(state.clock.now_naive())),
            ))
            .execute(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "lot.tie_decided",
                "tender",
                tender_id,
                json!({ "lot_id": lot_id, "tied": leaders, "drawn": winner_bid_id, "note": note }),
            ),
        )?;
        Ok(())
    })
}

fn vendor_users(conn: &mut DbConn, vendor_id: i64) -> AppResult<Vec<(String, String)>> {
    Ok(crate::db::schema::users::table
        .filter(crate::db::schema::users::organisation_id.eq(vendor_id))
        .filter(crate::db::schema::users::active.eq(true))
        .filter(crate::db::schema::users::role.eq(Role::Vendor))
        .select((crate::db::schema::users::email, crate::db::schema::users::name))
        .load(conn)?)
}

/// Today in the cooperative's local time.
fn local_today(state: &AppState) -> NaiveDate {
    state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}

/// Awards a lot to its best-ranked bid: every other bidder of the lot gets the § 134 GWB
/// information (winner, own rank, reason) and the standstill starts. Returns the award id.
pub fn award(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    target: BidOnLot,
    reason: &str,
) -> AppResult<i64> {
    user.require(&[Role::Officer])?;
    let BidOnLot {
        tender_id,
        lot_id,
        bid_id,
    } = target;
    let reason = clean_reason(reason, "reason")?;
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        require_open_for_decisions(&t)?;
        let lot = find_lot(c, tender_id, lot_id)?;
        require_undecided(c, lot_id)?;
        let eval = evaluate_lot(c, &t, &t.spec()?, lot.clone())?;
        if !eval.blockers.is_empty() {
            return Err(AppError::Conflict(format!(
                "Der Zuschlag ist noch nicht möglich: {}",
                eval.blockers.join(" ")
            )));
        }
        if eval.proposed_bid_id != Some(bid_id) {
            return Err(AppError::Conflict(
                "Den Zuschlag erhält das nach der veröffentlichten Methode beste Angebot; dieses ist es nicht.".into(),
            ));
        }
        let winner = eval
            .bids
            .iter()
            .find(|b| b.bid_id == bid_id)
            .ok_or(AppError::NotFound)?;
        let now = state.clock.now_naive();
        let sent = local_today(state);
        let last_day = standstill::last_day(sent, true, state.config.holiday_region());
        let award_id: i64 = diesel::insert_into(awards::table)
            .values((
                awards::tender_id.eq(tender_id),
                awards::lot_id.eq(lot_id),
                awards::bid_id.eq(bid_id),
                awards::vendor_id.eq(winner.vendor_id),
                awards::reason.eq(&reason),
                awards::status.eq(AwardStatus::Informed),
                awards::decided_by.eq(user.id),
                awards::informed_at.eq(now),
                awards::standstill_last_day.eq(last_day),
            ))
            .returning(awards::id)
            .get_result(c)?;
        let mut informed = 0;
        for b in eval.bids.iter().filter(|b| b.bid_id != bid_id) {
            let rank = eval
                .ranking
                .iter()
                .find(|s| s.bid_id == b.bid_id)
                .map(|s| s.rank as i32);
            // The rank and the scores are told by the mail; the reason says why.
            let tied_at_top = rank == Some(1) && lot.tie_winner_bid_id == Some(bid_id);
            let why = match (&b.excluded_label, &b.excluded_reason) {
                (Some(label), Some(r)) => format!("Ihr Angebot wurde ausgeschlossen ({label}): {r}"),
                _ if tied_at_top => format!(
                    "Ihr Angebot lag mit dem Zuschlagsangebot gleichauf auf Rang 1; der Losentscheid fiel auf das Angebot von {} ({}). {reason}",
                    winner.vendor,
                    lot.tie_note.as_deref().unwrap_or("Losentscheid")
                ),
                _ => reason.clone(),
            };
            let own_score = eval.ranking.iter().find(|s| s.bid_id == b.bid_id).map(|s| s.score);
            let winner_score = eval.ranking.iter().find(|s| s.bid_id == bid_id).map(|s| s.score);
            diesel::insert_into(award_notices::table)
                .values((
                    award_notices::award_id.eq(award_id),
                    award_notices::bid_id.eq(b.bid_id),
                    award_notices::vendor_id.eq(b.vendor_id),
                    award_notices::bid_rank.eq(rank),
                    award_notices::reason.eq(&why),
                ))
                .execute(c)?;
            for (email, name) in vendor_users(c, b.vendor_id)? {
                mail::enqueue(
                    c,
                    state,
                    &email,
                    "award_information",
                    &json!({ "name": name, "vendor": b.vendor, "title": t.title, "lot_no": lot.lot_no, "lot_title": lot.title,
                             "winner": winner.vendor, "rank": rank, "bidders": eval.ranking.len(), "reason": why,
                             "own_score": own_score, "winner_score": winner_score, "lowest_price": t.spec()?.method == crate::domain::evaluation::Method::LowestPrice,
                             "last_day": last_day, "sent_at": now }),
                )?;
                informed += 1;
            }
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "award.informed",
                "tender",
                tender_id,
                json!({ "award_id": award_id, "lot_id": lot_id, "bid_id": bid_id, "winner": winner.vendor, "total": winner.total,
                        "reason": reason, "standstill_last_day": last_day, "mails": informed,
                        "ranking": eval.ranking.iter().map(|s| json!({"bid_id": s.bid_id, "rank": s.rank, "score": s.score})).collect::<Vec<_>>() }),
            ),
        )?;
        Ok(award_id)
    })
}

/// The framework contract number: one sequence for the cooperative.
fn contract_number(year: i32, id: i64) -> String {
    format!("RV-{year}-{id:04}")
}

/// Concludes an award after its standstill: creates the framework contract (winning prices,
/// term, maximum quantities and value, frozen entitled members), renders and stores its
/// document with SHA-256, and mails the winner the award letter. Returns the contract id.
pub fn conclude(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: i64,
    award_id: i64,
) -> AppResult<i64> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        require_open_for_decisions(&t)?;
        let a: Award = awards::table
            .find(award_id)
            .filter(awards::tender_id.eq(tender_id))
            .select(Award::as_select())
            .first(c)?;
        if a.status == AwardStatus::Concluded {
            return Err(AppError::Conflict(
                "Der Zuschlag ist bereits erteilt und der Vertrag geschlossen.".into(),
            ));
        }
        let today = local_today(state);
        let first = a.standstill_last_day + chrono::Duration::days(1);
        if today < first {
            return Err(AppError::Conflict(format!(
                "Die Wartefrist nach § 134 GWB läuft bis einschließlich {}; der Vertrag kann frühestens am {} geschlossen werden.",
                a.standstill_last_day.format("%d.%m.%Y"),
                first.format("%d.%m.%Y")
            )));
        }
        let lot = find_lot(c, tender_id, a.lot_id)?;
        if lot.cancelled_at.is_some() {
            return Err(AppError::Conflict("Das Los ist aufgehoben.".into()));
        }
        let positions: Vec<TenderPosition> = tender::positions(c, tender_id)?
            .into_iter()
            .filter(|p| p.lot_id == a.lot_id)
            .collect();
        let prices: HashMap<i64, Price> = bid_prices::table
            .filter(bid_prices::bid_id.eq(a.bid_id))
            .select((bid_prices::position_id, bid_prices::unit_price))
            .load::<(i64, Price)>(c)?
            .into_iter()
            .collect();
        let mut max_value = Amount::ZERO;
        let mut lines = Vec::new();
        for p in &positions {
            let price = *prices
                .get(&p.id)
                .ok_or_else(|| AppError::Internal(format!("bid {} lacks position {}", a.bid_id, p.id)))?;
            let value = Amount::line_total(p.max_quantity, price).map_err(|e| AppError::Internal(e.to_string()))?;
            max_value = max_value
                .checked_add(value)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            lines.push((p, price, value));
        }
        let term_end = today
            .checked_add_months(Months::new(t.term_months as u32))
            .map(|d| d - chrono::Duration::days(1))
            .ok_or_else(|| AppError::Internal("term end".into()))?;
        let members: Vec<(i64, String)> = tender_members::table
            .inner_join(organisations::table)
            .filter(tender_members::tender_id.eq(tender_id))
            .order(organisations::name.asc())
            .select((organisations::id, organisations::name))
            .load(c)?;
        let vendor: (String, String, String, String, Option<String>) = organisations::table
            .find(a.vendor_id)
            .select((
                organisations::name,
                organisations::street,
                organisations::postal_code,
                organisations::city,
                organisations::vat_id,
            ))
            .first(c)?;
        let cooperative: (String, String, String, String) = organisations::table
            .filter(organisations::org_type.eq(crate::domain::roles::OrgType::Cooperative.code()))
            .select((
                organisations::name,
                organisations::street,
                organisations::postal_code,
                organisations::city,
            ))
            .first(c)?;
        // The id is needed for the number; insert first, then render and store the document.
        let contract_id: i64 = diesel::insert_into(contracts::table)
            .values((
                contracts::number.eq(format!("pending-{award_id}")),
                contracts::tender_id.eq(tender_id),
                contracts::lot_id.eq(a.lot_id),
                contracts::award_id.eq(award_id),
                contracts::vendor_id.eq(a.vendor_id),
                contracts::term_start.eq(today),
                contracts::term_end.eq(term_end),
                contracts::max_value.eq(max_value),
                contracts::document.eq(""),
                contracts::document_sha256.eq(""),
                contracts::created_at.eq(state.clock.now_naive()),
            ))
            .returning(contracts::id)
            .get_result(c)?;
        let number = contract_number(chrono::Datelike::year(&today), contract_id);
        let ctx = json!({
            "number": number,
            "tender": t.view(state.clock.now_naive()),
            "lot": lot,
            "vendor": { "name": vendor.0, "street": vendor.1, "postal_code": vendor.2, "city": vendor.3, "vat_id": vendor.4 },
            "cooperative": { "name": cooperative.0, "street": cooperative.1, "postal_code": cooperative.2, "city": cooperative.3 },
            "term_start": today,
            "term_end": term_end,
            "max_value": max_value,
            "positions": lines.iter().map(|(p, price, value)| json!({
                "position_no": p.position_no, "description": p.description, "unit": p.unit, "cpv_code": p.cpv_code,
                "estimate_quantity": p.estimate_quantity, "max_quantity": p.max_quantity, "unit_price": price, "max_value": value,
            })).collect::<Vec<_>>(),
            "members": members.iter().map(|(_, n)| n).collect::<Vec<_>>(),
            "award": a,
            "concluded_at": state.clock.now_naive(),
        });
        let document = state.documents.render("framework_contract", &ctx)?;
        let sha = hex::encode(Sha256::digest(document.as_bytes()));
        diesel::update(contracts::table.find(contract_id))
            .set((
                contracts::number.eq(&number),
                contracts::document.eq(&document),
                contracts::document_sha256.eq(&sha),
            ))
            .execute(c)?;
        for (p, price, _) in &lines {
            diesel::insert_into(contract_positions::table)
                .values((
                    contract_positions::contract_id.eq(contract_id),
                    contract_positions::position_id.eq(p.id),
                    contract_positions::unit_price.eq(*price),
                    contract_positions::max_quantity.eq(p.max_quantity),
                ))
                .execute(c)?;
        }
        for (m, _) in &members {
            diesel::insert_into(contract_members::table)
                .values((
                    contract_members::contract_id.eq(contract_id),
                    contract_members::member_id.eq(m),
                ))
                .execute(c)?;
        }
        diesel::update(awards::table.find(award_id))
            .set((
                awards::status.eq(AwardStatus::Concluded),
                awards::concluded_by.eq(Some(user.id)),
                awards::concluded_at.eq(Some(state.clock.now_naive())),
            ))
            .execute(c)?;
        for (email, name) in vendor_users(c, a.vendor_id)? {
            mail::enqueue(
                c,
                state,
                &email,
                "award_letter",
                &json!({ "name": name, "vendor": vendor.0, "title": t.title, "lot_no": lot.lot_no, "lot_title": lot.title,
                         "number": number, "term_start": today, "term_end": term_end, "max_value": max_value, "sha256": sha,
                         "url": format!("{}/vertraege/{}/dokument", state.config.base_url, contract_id) }),
            )?;
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "award.concluded",
                "tender",
                tender_id,
                json!({ "award_id": award_id, "contract_id": contract_id, "number": number, "max_value": max_value,
                        "term_start": today, "term_end": term_end, "document_sha256": sha }),
            ),
        )?;
        Ok(contract_id)
    })
}

/// Cancels a whole tender (Aufhebung) or one lot, with a reason; bidders are mailed.
pub fn cancel(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: i64,
    lot_id: Option<i64>,
    reason: &str,
) -> AppResult<usize> {
    user.require(&[Role::Officer])?;
    let reason = clean_reason(reason, "reason")?;
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        if t.cancelled_at.is_some() {
            return Err(AppError::Conflict("Die Ausschreibung ist bereits aufgehoben.".into()));
        }
        if t.status == TenderStatus::Draft {
            return Err(AppError::Conflict(
                "Ein Entwurf ist nicht veröffentlicht und muss nicht aufgehoben werden.".into(),
            ));
        }
        let lots = tender::lots(c, tender_id)?;
        let affected: Vec<&Lot> = match lot_id {
            Some(l) => vec![lots.iter().find(|x| x.id == l).ok_or(AppError::NotFound)?],
            None => lots.iter().collect(),
        };
        for l in &affected {
            if l.cancelled_at.is_some() && lot_id.is_some() {
                return Err(AppError::Conflict("Das Los ist bereits aufgehoben.".into()));
            }
            if let Some(a) = lot_award(c, l.id)? {
                if a.status == AwardStatus::Concluded {
                    return Err(AppError::Conflict(format!(
                        "Für Los {} ist der Vertrag bereits geschlossen; es kann nicht mehr aufgehoben werden.",
                        l.lot_no
                    )));
                }
            }
        }
        let now = state.clock.now_naive();
        for l in &affected {
            diesel::update(tender_lots::table.find(l.id))
                .set((
                    tender_lots::cancelled_at.eq(Some(now)),
                    tender_lots::cancelled_by.eq(Some(user.id)),
                    tender_lots::cancel_reason.eq(Some(&reason)),
                ))
                .execute(c)?;
            // An informed but unconcluded award falls with its lot.
            diesel::delete(award_notices::table.filter(
                award_notices::award_id.eq_any(awards::table.filter(awards::lot_id.eq(l.id)).select(awards::id)),
            ))
            .execute(c)?;
            diesel::delete(awards::table.filter(awards::lot_id.eq(l.id))).execute(c)?;
        }
        let all_cancelled = lot_id.is_none() || lots.iter().all(|l| l.cancelled_at.is_some() || Some(l.id) == lot_id);
        if all_cancelled {
            diesel::update(tenders::table.find(tender_id))
                .set((
                    tenders::cancelled_at.eq(Some(now)),
                    tenders::cancelled_by.eq(Some(user.id)),
                    tenders::cancel_reason.eq(Some(&reason)),
                ))
                .execute(c)?;
        }
        // Bidders: vendors with a current bid on an affected lot; before opening every bidder
        // of the tender (lots of a sealed bid are not read), after it the lot's bidders.
        let lot_ids: Vec<i64> = affected.iter().map(|l| l.id).collect();
        let vendor_ids: Vec<i64> = bids::table
            .inner_join(bid_lots::table)
            .filter(bids::tender_id.eq(tender_id))
            .filter(bids::status.eq(BidStatus::Submitted))
            .filter(bid_lots::lot_id.eq_any(&lot_ids))
            .select(bids::vendor_id)
            .distinct()
            .load(c)?;
        let lot_text = match lot_id {
            Some(_) => affected
                .iter()
                .map(|l| format!("Los {}: {}", l.lot_no, l.title))
                .collect::<Vec<_>>()
                .join(", "),
            None => "die gesamte Ausschreibung".to_string(),
        };
        let mut mailed = 0;
        for v in &vendor_ids {
            for (email, name) in vendor_users(c, *v)? {
                mail::enqueue(
                    c,
                    state,
                    &email,
                    "tender_cancelled",
                    &json!({ "name": name, "title": t.title, "scope": lot_text, "reason": reason, "cancelled_at": now }),
                )?;
                mailed += 1;
            }
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                if lot_id.is_some() {
                    "lot.cancelled"
                } else {
                    "tender.cancelled"
                },
                "tender",
                tender_id,
                json!({ "lots": lot_ids, "reason": reason, "bidders_mailed": mailed }),
            ),
        )?;
        Ok(mailed)
    })
}

/// The Vergabevermerk: the tender's record rendered from its audit events and decisions.
pub fn procurement_record(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: i64,
) -> AppResult<String> {
    user.require(OPENED_BID_READERS)?;
    let t = tender::find(conn, tender_id)?;
    let now = state.clock.now_naive();
    // Before opening, the record holds only what is not sealed: the bids' own stream is left out.
    let mut streams = vec![tender::stream(tender_id)];
    if t.is_opened() {
        streams.push(format!("bids:{tender_id}"));
    }
    let events: Vec<crate::audit::AuditRow> = audit_events::table
        .filter(audit_events::stream.eq_any(&streams))
        .order((audit_events::occurred_at.asc(), audit_events::id.asc()))
        .load(conn)?;
    let call = crate::demand::find_call(conn, t.demand_call_id)?;
    let evaluation = if t.is_opened() {
        let spec = t.spec()?;
        let mut out = Vec::new();
        for lot in tender::lots(conn, tender_id)? {
            out.push(evaluate_lot(conn, &t, &spec, lot)?);
        }
        out
    } else {
        Vec::new()
    };
    let contracts: Vec<(String, i64, Amount, NaiveDate, NaiveDate, String)> = contracts::table
        .filter(contracts::tender_id.eq(tender_id))
        .select((
            contracts::number,
            contracts::lot_id,
            contracts::max_value,
            contracts::term_start,
            contracts::term_end,
            contracts::document_sha256,
        ))
        .load(conn)?;
    let names: HashMap<i64, String> = users::table
        .select((users::id, users::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let ctx = json!({
        "tender": t.view(now),
        "call": { "id": call.id, "title": call.title, "closed_at": call.closed_at },
        "lots": tender::lots(conn, tender_id)?,
        "events": events.iter().map(|e| {
            let mut v = crate::audit::view(e);
            v["actor_name"] = json!(e.actor_user_id.and_then(|id| names.get(&id)).cloned().unwrap_or_else(|| e.actor_label.clone()));
            v["details"] = serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null);
            v
        }).collect::<Vec<_>>(),
        "evaluation": evaluation,
        "contracts": contracts.iter().map(|(n, l, v, s, e, sha)| json!({"number": n, "lot_id": l, "max_value": v, "term_start": s, "term_end": e, "sha256": sha})).collect::<Vec<_>>(),
        "created_at": now,
    });
    state.documents.render("vergabevermerk", &ctx)
}

/// Awards of a tender by lot id (for pages).
pub fn awards_of(conn: &mut DbConn, tender_id: i64) -> AppResult<BTreeMap<i64, Award>> {
    Ok(awards::table
        .filter(awards::tender_id.eq(tender_id))
        .select(Award::as_select())
        .load(conn)?
        .into_iter()
        .map(|a| (a.lot_id, a))
        .collect())
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = contracts)]
pub struct ContractRow {
    pub id: i64,
    pub number: String,
    pub tender_id: i64,
    pub lot_id: i64,
    pub award_id: i64,
    pub vendor_id: i64,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub max_value: Amount,
    #[serde(skip)]
    pub document: String,
    pub document_sha256: String,
    pub created_at: NaiveDateTime,
    pub called_value: Amount,
    pub alert_utilisation_at: Option<NaiveDateTime>,
    pub alert_expiry_at: Option<NaiveDateTime>,
}

/// A contract for those who may see it: the cooperative, the vendor, entitled members' buyers.
pub fn contract(conn: &mut DbConn, user: &CurrentUser, id: i64) -> AppResult<ContractRow> {
    let c: ContractRow = contracts::table.find(id).select(ContractRow::as_select()).first(conn)?;
    let allowed = match user.reach() {
        Reach::Everything => true,
        reach @ Reach::Vendor(_) => reach.vendor(c.vendor_id),
        Reach::Member(member) => {
            contract_members::table
                .filter(contract_members::contract_id.eq(id))
                .filter(contract_members::member_id.eq(member))
                .count()
                .get_result::<i64>(conn)?
                > 0
        }
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    Ok(c)
}

/// Quantity as shown in notices.
pub fn quantity_text(q: Quantity) -> String {
    crate::web::format::quantity_de(q.to_decimal())
}
