//! Reopening a lot's evaluation after a remedied complaint: the award decision is withdrawn
//! (its unsent § 134 letters with it), so that the officer re-scores, re-ranks and decides
//! again, with a new § 134 information and standstill; also while a review is pending.

use super::{cancel::drop_award, lot_award};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{bid_lots, bids, organisations, tender_lots};
use crate::db::{write_tx, DbConn};
use crate::domain::bid::AwardStatus;
use crate::domain::bid::BidStatus;
use crate::domain::ids::{BidId, ComplaintId, OrgId, TenderId, UserId};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::review::{self, AnswerCommand};
use crate::tender;
use crate::{mail, AppState};
use diesel::prelude::*;
use serde_json::json;

/// Remedies complaint `complaint_id` with `reason` and reopens the evaluation of its lot (the
/// only lot when the complaint names none) by withdrawing the lot's award decision, in one
/// transaction. A concluded contract cannot be reopened.
pub fn reopen(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    complaint_id: ComplaintId,
    reason: &str,
) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let complaint = review::answer_in(
            c,
            state,
            user,
            tender_id,
            complaint_id,
            &AnswerCommand {
                remedy: true,
                reason: reason.to_string(),
            },
        )?;
        let lot_id = match complaint.lot_id {
            Some(lot) => lot,
            None => match tender::lots(c, tender_id)?.as_slice() {
                [only] => only.id,
                _ => {
                    return Err(AppError::Conflict(
                        "Die Rüge nennt kein Los, und die Ausschreibung hat mehrere: Die Wertung lässt sich nur für ein genanntes Los wieder eröffnen. Bitte der Rüge abhelfen (ohne Wiedereröffnung) oder den Bieter bitten, die Rüge für das betroffene Los zu erheben.".into(),
                    ))
                }
            },
        };
        let award = lot_award(c, lot_id)?.ok_or_else(|| {
            AppError::Conflict("Für dieses Los gibt es keine Zuschlagsentscheidung; die Wertung ist noch offen.".into())
        })?;
        if award.status == AwardStatus::Concluded {
            return Err(AppError::Conflict(
                "Der Vertrag ist bereits geschlossen (Zuschlag erteilt); die Wertung lässt sich nicht wieder eröffnen."
                    .into(),
            ));
        }
        drop_award(
            c,
            lot_id,
            "Zurückgezogen: Zuschlagsentscheidung nach Rüge zurückgenommen",
        )?;
        // A drawing of lots belonged to the old ranking; a new tie is drawn anew.
        diesel::update(tender_lots::table.find(lot_id))
            .set((
                tender_lots::tie_winner_bid_id.eq(None::<BidId>),
                tender_lots::tie_note.eq(None::<String>),
                tender_lots::tie_decided_by.eq(None::<UserId>),
                tender_lots::tie_decided_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(c)?;
        // Every bidder of the lot learns that the decision it was informed of is withdrawn and
        // that a new information will follow.
        let t = tender::find(c, tender_id)?;
        let lot = super::find_lot(c, tender_id, lot_id)?;
        let vendors: Vec<(OrgId, String)> = bid_lots::table
            .inner_join(bids::table.inner_join(organisations::table))
            .filter(bid_lots::lot_id.eq(lot_id))
            .filter(bids::status.eq(BidStatus::Submitted))
            .select((bids::vendor_id, organisations::name))
            .load(c)?;
        let mut mailed = 0;
        for (vendor_id, vendor) in &vendors {
            for (email, name) in super::vendor_users(c, *vendor_id)? {
                mail::enqueue(
                    c,
                    state,
                    &email,
                    "award_withdrawn",
                    &json!({ "name": name, "vendor": vendor, "title": t.title, "lot_no": lot.lot_no, "lot_title": lot.title }),
                )?;
                mailed += 1;
            }
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "award.withdrawn",
                "tender",
                tender_id,
                json!({ "award_id": award.id, "lot_id": lot_id, "bid_id": award.bid_id, "complaint_id": complaint_id,
                        "complaint_number": complaint.number(), "reason": reason.trim(), "mails": mailed }),
            ),
        )?;
        Ok(())
    })
}
