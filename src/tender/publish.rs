//! Publishing a draft: deadline and EU threshold checked again at sending time, entitled members
//! frozen, every approved vendor mailed.

use super::{find_locked, Tender};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{demand_lines, organisations, tender_members, tender_positions, tenders, users};
use crate::db::{write_tx, DbConn};
use crate::domain::ids::{OrgId, TenderId};
use crate::domain::money::Amount;
use crate::domain::roles::{OrgType, Role, VendorStatus};
use crate::domain::tender::{self as rules, DeadlineCheck, Procedure, TenderStatus};
use crate::error::{AppError, AppResult};
use crate::{mail, AppState};
use diesel::prelude::*;
use serde_json::json;

/// Every active user of an approved vendor: who hears of publications and answers.
pub(super) fn vendor_recipients(conn: &mut DbConn) -> AppResult<Vec<(String, String, String)>> {
    Ok(users::table
        .inner_join(organisations::table)
        .filter(organisations::org_type.eq(OrgType::Vendor))
        .filter(organisations::vendor_status.eq(VendorStatus::Approved))
        .filter(organisations::active.eq(true))
        .filter(users::active.eq(true))
        .filter(users::role.eq(Role::Vendor))
        .select((users::email, users::name, organisations::name))
        .load(conn)?)
}

pub(super) fn mail_vendors(
    conn: &mut DbConn,
    state: &AppState,
    template: &str,
    ctx: &serde_json::Value,
) -> AppResult<usize> {
    let recipients = vendor_recipients(conn)?;
    for (email, name, vendor) in &recipients {
        let mut ctx = ctx.clone();
        ctx["name"] = json!(name);
        ctx["vendor"] = json!(vendor);
        mail::enqueue(conn, state, email, template, &ctx)?;
    }
    Ok(recipients.len())
}

pub(super) fn mail_context(state: &AppState, t: &Tender) -> serde_json::Value {
    json!({
        "title": t.title,
        "tender_id": t.id,
        "bid_deadline": t.bid_deadline,
        "procedure": t.procedure_label(),
        "url": format!("{}/ausschreibungen/{}", state.config.base_url, t.id),
        "notice_url": format!("{}/bekanntmachungen/{}", state.config.base_url, t.id),
    })
}

/// Members entitled to call off: those with demand for a tendered position.
pub fn entitled_members(conn: &mut DbConn, t: &Tender) -> AppResult<Vec<(OrgId, String)>> {
    if t.is_published() {
        return Ok(tender_members::table
            .inner_join(organisations::table)
            .filter(tender_members::tender_id.eq(t.id))
            .order(organisations::name.asc())
            .select((organisations::id, organisations::name))
            .load(conn)?);
    }
    let tendered = tender_positions::table
        .filter(tender_positions::tender_id.eq(t.id))
        .select(tender_positions::demand_position_id.assume_not_null());
    Ok(demand_lines::table
        .inner_join(organisations::table)
        .filter(demand_lines::position_id.eq_any(tendered))
        .order(organisations::name.asc())
        .select((organisations::id, organisations::name))
        .distinct()
        .load(conn)?)
}

/// A member entitled to call off, frozen at publication.
#[derive(Insertable)]
#[diesel(table_name = tender_members)]
struct EntitledMember {
    tender_id: TenderId,
    member_id: OrgId,
}

/// The EU threshold on the day of dispatch (§ 3 (3) VgV: the value is estimated when the notice
/// is sent), checked against the draft's procedure: a national draft whose value reaches the
/// threshold in force that day (thresholds change on 1 January) must become an EU-wide one first.
fn threshold_at_dispatch(t: &Tender, now: chrono::NaiveDateTime) -> AppResult<Amount> {
    let day = crate::domain::period::berlin_day(now.and_utc());
    let threshold = crate::domain::rules::eu_threshold_on(day).supplies_services;
    let value = t.estimated_value.to_decimal();
    if t.procedure == Procedure::National && rules::required_procedure(value, threshold) == Procedure::EuOpen {
        return Err(AppError::field(
            "procedure",
            format!(
                "Am Tag der Absendung der Bekanntmachung ({}) gilt der EU-Schwellenwert von {} EUR; der geschätzte Auftragswert von {} EUR erreicht ihn. Das offene Verfahren (EU-weit) ist vorgeschrieben (§ 106 GWB, § 3 Abs. 3 VgV): bitte stellen Sie das Verfahren im Entwurf um.",
                day.format("%d.%m.%Y"),
                crate::german::decimal_de(threshold, 2, 2),
                crate::german::decimal_de(value, 2, 2),
            ),
        ));
    }
    Amount::from_decimal(threshold).map_err(|e| AppError::Internal(e.to_string()))
}

/// Publishes a draft: the deadline is checked again against the real sending time, the entitled
/// members are frozen, and every approved vendor is mailed. Returns the number of vendor mails.
pub fn publish(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: TenderId) -> AppResult<usize> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        if t.status != TenderStatus::Draft {
            return Err(AppError::Conflict(
                "Die Ausschreibung ist bereits veröffentlicht.".into(),
            ));
        }
        let now = state.clock.now_naive();
        let procedure = t.procedure;
        if let DeadlineCheck::Error(e) = rules::check_bid_deadline(
            procedure,
            now,
            t.bid_deadline,
            t.urgency_reason.as_deref(),
            &state.config.calendar(),
        ) {
            return Err(AppError::field(
                "deadline_date",
                format!("{e} Bitte verlängern Sie die Angebotsfrist vor der Veröffentlichung."),
            ));
        }
        let threshold = threshold_at_dispatch(&t, now)?;
        let members = entitled_members(c, &t)?;
        for (m, _) in &members {
            diesel::insert_into(tender_members::table)
                .values(EntitledMember {
                    tender_id: id,
                    member_id: *m,
                })
                .execute(c)?;
        }
        diesel::update(tenders::table.find(id))
            .set((
                tenders::status.eq(TenderStatus::Published),
                tenders::published_by.eq(Some(user.id)),
                tenders::published_at.eq(Some(now)),
                tenders::threshold.eq(threshold),
            ))
            .execute(c)?;
        let mailed = mail_vendors(c, state, "tender_published", &mail_context(state, &t))?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.published",
                "tender",
                id,
                json!({ "entitled_members": members.iter().map(|(m, _)| m).collect::<Vec<_>>(), "vendors_mailed": mailed, "bid_deadline": t.bid_deadline }),
            ),
        )?;
        Ok(mailed)
    })
}
