//! Opening the bids: started by one officer, confirmed by a second, which renders and stores the
//! opening record.

use super::bids;
use super::questions::officers;
use super::{find, find_locked, lots, Tender};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{organisations, tenders, users};
use crate::db::{write_tx, DbConn};
use crate::domain::ids::TenderId;
use crate::domain::roles::{OrgType, Role};
use crate::domain::tender::TenderStatus;
use crate::error::{AppError, AppResult};
use crate::{mail, AppState};
use diesel::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The first officer starts the opening after the deadline; a second one must confirm.
pub fn start_opening(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: TenderId) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        let now = state.clock.now_naive();
        if t.status != TenderStatus::Published {
            return Err(AppError::Conflict(match t.status {
                TenderStatus::Draft => "Die Ausschreibung ist noch nicht veröffentlicht.".into(),
                TenderStatus::Opening => {
                    "Die Öffnung ist bereits begonnen; eine zweite Person der Vergabestelle muss sie bestätigen.".into()
                }
                TenderStatus::Published | TenderStatus::Opened => "Die Angebote sind bereits geöffnet.".into(),
            }));
        }
        if now < t.bid_deadline {
            return Err(AppError::Conflict(
                "Die Angebote können erst nach Ablauf der Angebotsfrist geöffnet werden.".into(),
            ));
        }
        diesel::update(tenders::table.find(id))
            .set((
                tenders::status.eq(TenderStatus::Opening),
                tenders::opening_started_by.eq(Some(user.id)),
                tenders::opening_started_at.eq(Some(now)),
            ))
            .execute(c)?;
        for (email, name) in officers(c)?.into_iter().filter(|(e, _)| *e != user.email) {
            mail::enqueue(
                c,
                state,
                &email,
                "tender_opening_started",
                &json!({ "name": name, "title": t.title, "started_by": user.name, "url": format!("{}/ausschreibungen/{}", state.config.base_url, id) }),
            )?;
        }
        let count = bids::count_current(c, id)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new("tender.opening_started", "tender", id, json!({ "bids": count })),
        )?;
        Ok(())
    })
}

/// The second, different officer confirms: the bids become readable and the opening record
/// (contract-templates/opening_record) is rendered, stored with its SHA-256, and audited.
pub fn confirm_opening(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: TenderId) -> AppResult<String> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        if t.status != TenderStatus::Opening {
            return Err(AppError::Conflict(if t.status == TenderStatus::Opened {
                "Die Angebote sind bereits geöffnet.".into()
            } else {
                "Die Öffnung muss zuerst von einer Person der Vergabestelle begonnen werden.".into()
            }));
        }
        if t.opening_started_by == Some(user.id) {
            return Err(AppError::Forbidden(
                "Die Öffnung muss eine zweite, andere Person der Vergabestelle bestätigen (§ 55 VgV).".into(),
            ));
        }
        let now = state.clock.now_naive();
        let starter: (String, String) = users::table
            .find(t.opening_started_by.unwrap_or_default())
            .select((users::name, users::email))
            .first(c)?;
        let record = bids::opening_rows(c, &t)?;
        let lots = lots(c, id)?;
        let ctx = json!({
            "tender": t.view(now),
            "lots": lots,
            "bids": record,
            "started_by": starter.0,
            "started_at": t.opening_started_at,
            "confirmed_by": user.name,
            "opened_at": now,
            "cooperative": cooperative_name(c)?,
        });
        let text = state.documents.render("opening_record", &ctx)?;
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        diesel::update(tenders::table.find(id))
            .set((
                tenders::status.eq(TenderStatus::Opened),
                tenders::opened_by.eq(Some(user.id)),
                tenders::opened_at.eq(Some(now)),
                tenders::opening_record.eq(Some(&text)),
                tenders::opening_record_sha256.eq(Some(&sha)),
            ))
            .execute(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.opened",
                "tender",
                id,
                json!({ "started_by": starter.1, "confirmed_by": user.email, "bids": record.len(), "opening_record_sha256": sha }),
            ),
        )?;
        Ok(sha)
    })
}

fn cooperative_name(conn: &mut DbConn) -> AppResult<String> {
    Ok(organisations::table
        .filter(organisations::org_type.eq(OrgType::Cooperative))
        .select(organisations::name)
        .first::<String>(conn)
        .optional()?
        .unwrap_or_default())
}

/// The stored opening record, for the cooperative once opened.
pub fn opening_record(conn: &mut DbConn, user: &CurrentUser, id: TenderId) -> AppResult<(Tender, String)> {
    user.require(crate::domain::policy::OPENED_BID_READERS)?;
    let t = find(conn, id)?;
    match t.opening_record.clone() {
        Some(text) if t.is_opened() => Ok((t, text)),
        _ => Err(AppError::Conflict("Die Angebote sind noch nicht geöffnet.".into())),
    }
}
