//! A tie at rank 1: recording how it was decided (drawing lots) and which bid was drawn.

use super::{clean_reason, evaluate_lot, find_lot, require_open_for_decisions, require_undecided};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::tender_lots;
use crate::db::{write_tx, DbConn};
use crate::domain::ids::{BidId, LotId, TenderId};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::tender;
use crate::AppState;
use diesel::prelude::*;
use serde_json::json;

/// Records how a tie at rank 1 was decided (drawing lots), naming the drawn bid.
pub fn decide_tie(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    lot_id: LotId,
    winner_bid_id: BidId,
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
        let leaders: Vec<BidId> = eval.ranking.iter().filter(|s| s.rank == 1).map(|s| s.bid_id).collect();
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
