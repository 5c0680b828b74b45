//! Awarding a lot to its best-ranked bid: the § 134 GWB information to every other bidder and
//! the start of the standstill.

use super::{
    clean_reason, evaluate_lot, find_lot, local_today, require_open_for_decisions, require_undecided, vendor_users,
    BidOnLot,
};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{award_notice_mails, award_notices, awards};
use crate::db::{write_tx, DbConn};
use crate::domain::bid::AwardStatus;
use crate::domain::ids::{AwardId, BidId, LotId, OrgId, TenderId, UserId};
use crate::domain::roles::Role;
use crate::domain::standstill;
use crate::error::{AppError, AppResult};
use crate::tender;
use crate::{mail, AppState};
use diesel::prelude::*;
use serde_json::json;

#[derive(Insertable)]
#[diesel(table_name = awards)]
struct NewAward<'a> {
    tender_id: TenderId,
    lot_id: LotId,
    bid_id: BidId,
    vendor_id: OrgId,
    reason: &'a str,
    status: AwardStatus,
    decided_by: UserId,
    informed_at: chrono::NaiveDateTime,
    standstill_last_day: chrono::NaiveDate,
}

/// The § 134 GWB information one unsuccessful bidder gets.
#[derive(Insertable)]
#[diesel(table_name = award_notices)]
struct NewAwardNotice<'a> {
    award_id: AwardId,
    bid_id: BidId,
    vendor_id: OrgId,
    bid_rank: Option<i32>,
    reason: &'a str,
}

/// Awards a lot to its best-ranked bid: every other bidder of the lot gets the § 134 GWB
/// information (winner, own rank, reason) and the standstill starts. Returns the award id.
pub fn award(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    target: BidOnLot,
    reason: &str,
) -> AppResult<AwardId> {
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
        // A pending review bars the Zuschlag (the conclusion, `conclude`), not this decision:
        // deciding anew with a new § 134 information is how a review is often settled.
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
        // The standstill counted from the decision: the earliest it can end. Each bidder's own
        // runs from the sending of its information (`super::standstill`).
        let decided = local_today(state);
        let last_day = standstill::last_day(decided, true, state.config.holiday_region());
        let award_id: AwardId = diesel::insert_into(awards::table)
            .values(NewAward {
                tender_id,
                lot_id,
                bid_id,
                vendor_id: winner.vendor_id,
                reason: &reason,
                status: AwardStatus::Informed,
                decided_by: user.id,
                informed_at: now,
                standstill_last_day: last_day,
            })
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
                .values(NewAwardNotice {
                    award_id,
                    bid_id: b.bid_id,
                    vendor_id: b.vendor_id,
                    bid_rank: rank,
                    reason: &why,
                })
                .execute(c)?;
            for (email, name) in vendor_users(c, b.vendor_id)? {
                // The dates stay marks until the sender sends the letter: the standstill runs
                // from the sending, not from this decision (§ 134 (2) GWB).
                let outbox_id = mail::enqueue_standstill_letter(
                    c,
                    state,
                    &email,
                    "award_information",
                    &json!({ "name": name, "vendor": b.vendor, "title": t.title, "lot_no": lot.lot_no, "lot_title": lot.title,
                             "winner": winner.vendor, "rank": rank, "bidders": eval.ranking.len(), "reason": why,
                             "own_score": own_score, "winner_score": winner_score, "places": t.spec()?.score_places, "lowest_price": t.spec()?.method == crate::domain::evaluation::Method::LowestPrice,
                             "last_day": standstill::MARK_LAST_DAY, "first_day": standstill::MARK_FIRST_DAY }),
                )?;
                diesel::insert_into(award_notice_mails::table)
                    .values((
                        award_notice_mails::outbox_id.eq(outbox_id),
                        award_notice_mails::award_id.eq(award_id),
                        award_notice_mails::bid_id.eq(b.bid_id),
                    ))
                    .execute(c)?;
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
