//! Excluding a bid from a lot (§ 57 VgV and the published A-criteria), with a reason.

use super::{
    bid_on_lot, clean_reason, find_lot, require_open_for_decisions, require_undecided, stream, BidOnLot,
    EXCLUSION_KIND_MISSING,
};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::bid_lots;
use crate::db::{write_tx, DbConn};
use crate::domain::bid::ExclusionKind;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::tender;
use crate::AppState;
use diesel::prelude::*;
use serde_json::json;

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
