//! Scoring a bid's B-criteria (0..10, at most two places), each score with its reason.

use super::{require_open_for_decisions, require_undecided, stream};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{bid_lots, bid_scores, bids, organisations};
use crate::db::{write_tx, DbConn};
use crate::domain::bid::BidStatus;
use crate::domain::ids::{BidId, LotId, OrgId, TenderId, UserId};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::tender;
use crate::AppState;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

/// One B-criterion score in hundredths, with its reason.
#[derive(Insertable)]
#[diesel(table_name = bid_scores)]
struct NewScore<'a> {
    bid_id: BidId,
    criterion_no: i32,
    score: i64,
    reason: &'a str,
    scored_by: UserId,
    scored_at: chrono::NaiveDateTime,
}

/// Records the B-criterion scores (0..10, at most 2 places) of a bid, each with a reason.
pub fn score(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    bid_id: BidId,
    scores: &[(Option<Decimal>, String)],
) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        require_open_for_decisions(&t)?;
        let spec = t.spec()?;
        let (vendor_id, vendor): (OrgId, String) = bids::table
            .inner_join(organisations::table)
            .filter(bids::id.eq(bid_id))
            .filter(bids::tender_id.eq(tender_id))
            .filter(bids::status.eq(BidStatus::Submitted))
            .select((bids::vendor_id, organisations::name))
            .first(c)?;
        // Scores count for every lot of the bid: refused once a lot where the bid competes
        // is awarded (its ranking is decided); a lot it was excluded from does not matter.
        let lots: Vec<(LotId, Option<String>)> = bid_lots::table
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
                .values(NewScore {
                    bid_id,
                    criterion_no: *no,
                    // 0..10 with at most 2 places (checked above): exact hundredths.
                    score: rust_decimal::prelude::ToPrimitive::to_i64(&(s * Decimal::ONE_HUNDRED)).unwrap_or(0),
                    reason,
                    scored_by: user.id,
                    scored_at: now,
                })
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
