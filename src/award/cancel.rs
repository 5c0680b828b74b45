//! Cancelling a tender (Aufhebung, § 63 VgV) or one lot, with a reason; bidders are mailed.

use super::{clean_reason, lot_award, vendor_users};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{award_notice_mails, award_notices, awards, bid_lots, bids, outbox, tender_lots, tenders};
use crate::db::{write_tx, DbConn};
use crate::domain::bid::AwardStatus;
use crate::domain::bid::BidStatus;
use crate::domain::ids::{LotId, OrgId, TenderId};
use crate::domain::roles::Role;
use crate::domain::tender::TenderStatus;
use crate::error::{AppError, AppResult};
use crate::tender::{self, Lot};
use crate::{mail, AppState};
use diesel::prelude::*;
use serde_json::json;

/// Cancels a whole tender (Aufhebung) or one lot, with a reason; bidders are mailed.
pub fn cancel(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    lot_id: Option<LotId>,
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
            drop_award(c, l.id, "Zurückgezogen: Los aufgehoben")?;
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
        let lot_ids: Vec<LotId> = affected.iter().map(|l| l.id).collect();
        let vendor_ids: Vec<OrgId> = bids::table
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

/// Removes the (unconcluded) award decision of a lot with its § 134 notices: its letters not
/// yet sent are withdrawn with `why` (they would announce a contract that will not come), the
/// sent ones stay in the outbox as the record; the audit log keeps the decision.
pub(super) fn drop_award(c: &mut DbConn, lot_id: LotId, why: &str) -> AppResult<()> {
    let awards_of_lot = awards::table.filter(awards::lot_id.eq(lot_id)).select(awards::id);
    let letters = award_notice_mails::table.filter(award_notice_mails::award_id.eq_any(awards_of_lot));
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(letters.select(award_notice_mails::outbox_id)))
            .filter(outbox::status.eq(crate::mail::OutboxStatus::Pending)),
    )
    .set((
        outbox::status.eq(crate::mail::OutboxStatus::Failed),
        outbox::last_error.eq(Some(why)),
    ))
    .execute(c)?;
    diesel::delete(letters).execute(c)?;
    diesel::delete(award_notices::table.filter(award_notices::award_id.eq_any(awards_of_lot))).execute(c)?;
    diesel::delete(awards::table.filter(awards::lot_id.eq(lot_id))).execute(c)?;
    Ok(())
}
