//! Abnormally low bids (§ 60 VgV): asking the vendor to explain the price, and recording the
//! decision on the explanation.

use super::{
    bid_on_lot, clean_reason, evaluate_lot, find_lot, require_open_for_decisions, require_undecided, stream,
    vendor_users, BidOnLot,
};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{bid_lots, low_bid_reviews};
use crate::db::{write_tx, DbConn};
use crate::domain::bid::{ExclusionKind, LowBidDecision};
use crate::domain::ids::{BidId, LotId, UserId};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::tender;
use crate::{mail, AppState};
use diesel::prelude::*;
use serde_json::json;

/// A § 60 request: the decision and its reason follow later.
#[derive(Insertable)]
#[diesel(table_name = low_bid_reviews)]
struct NewReview {
    bid_id: BidId,
    lot_id: LotId,
    requested_by: UserId,
    requested_at: chrono::NaiveDateTime,
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
            .values(NewReview {
                bid_id,
                lot_id,
                requested_by: user.id,
                requested_at: now,
            })
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
