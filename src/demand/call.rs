//! Running a demand call: create, change, invite, add and remove positions, open (buyers are
//! mailed) and close; each change audited in its transaction.

use super::{find_call, invited_members, positions, require_officer, stream, CallData, DemandCall, PositionData};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{demand_calls, demand_invitations, demand_lines, demand_positions, organisations, users};
use crate::db::{write_tx, DbConn};
use crate::domain::demand::CallStatus;
use crate::domain::ids::{CatalogueItemId, DemandCallId, DemandPositionId, OrgId, UserId};
use crate::domain::money::Price;
use crate::domain::roles::{OrgType, Role};
use crate::error::{AppError, AppResult};
use crate::{mail, AppState};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;
use std::collections::HashSet;

pub(super) fn call_details(data: &CallData) -> serde_json::Value {
    json!({
        "title": data.title,
        "term_months": data.term_months,
        "deadline": data.deadline,
        "all_members": data.all_members,
        "member_ids": data.member_ids,
    })
}

/// A position of a demand call; without a catalogue item or estimate those are written as NULL.
#[derive(Insertable)]
#[diesel(table_name = demand_positions, treat_none_as_default_value = false)]
struct NewDemandPosition<'a> {
    call_id: DemandCallId,
    position_no: i32,
    catalogue_item_id: Option<CatalogueItemId>,
    description: &'a str,
    unit: &'a str,
    cpv_code: &'a str,
    estimate_price: Option<Price>,
}

/// A draft demand call; opening and closing times follow later.
#[derive(Insertable)]
#[diesel(table_name = demand_calls)]
struct NewDemandCall<'a> {
    title: &'a str,
    description: &'a str,
    term_months: i32,
    deadline: NaiveDateTime,
    status: CallStatus,
    all_members: bool,
    created_by: UserId,
    created_at: NaiveDateTime,
}

/// A member invited to a demand call.
#[derive(Insertable)]
#[diesel(table_name = demand_invitations)]
struct NewInvitation {
    call_id: DemandCallId,
    member_id: OrgId,
}

pub(super) fn insert_position(
    conn: &mut DbConn,
    call_id: DemandCallId,
    data: &PositionData,
) -> AppResult<DemandPositionId> {
    let next: Option<i32> = demand_positions::table
        .filter(demand_positions::call_id.eq(call_id))
        .select(diesel::dsl::max(demand_positions::position_no))
        .first(conn)?;
    Ok(diesel::insert_into(demand_positions::table)
        .values(NewDemandPosition {
            call_id,
            position_no: next.unwrap_or(0) + 1,
            catalogue_item_id: data.catalogue_item_id,
            description: &data.description,
            unit: &data.unit,
            cpv_code: &data.cpv_code,
            estimate_price: data.estimate_price,
        })
        .returning(demand_positions::id)
        .get_result(conn)?)
}

/// Checks that chosen members exist and are active members.
pub(super) fn check_members(conn: &mut DbConn, ids: &[OrgId]) -> AppResult<()> {
    let found: i64 = organisations::table
        .filter(organisations::id.eq_any(ids))
        .filter(organisations::org_type.eq(OrgType::Member))
        .filter(organisations::active.eq(true))
        .count()
        .get_result(conn)?;
    if found != ids.len() as i64 {
        return Err(AppError::field(
            "member_ids",
            "Mindestens ein gewähltes Mitglied gibt es nicht oder es ist deaktiviert.",
        ));
    }
    Ok(())
}

/// Creates a draft call with its positions (officer).
pub fn create_call(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    data: &CallData,
    positions: &[PositionData],
) -> AppResult<DemandCallId> {
    require_officer(user)?;
    write_tx(conn, |c| {
        check_members(c, &data.member_ids)?;
        let id: DemandCallId = diesel::insert_into(demand_calls::table)
            .values(NewDemandCall {
                title: &data.title,
                description: &data.description,
                term_months: data.term_months,
                deadline: data.deadline,
                status: CallStatus::Draft,
                all_members: data.all_members,
                created_by: user.id,
                created_at: state.clock.now_naive(),
            })
            .returning(demand_calls::id)
            .get_result(c)?;
        if !data.all_members {
            for m in &data.member_ids {
                diesel::insert_into(demand_invitations::table)
                    .values(NewInvitation {
                        call_id: id,
                        member_id: *m,
                    })
                    .execute(c)?;
            }
        }
        for p in positions {
            insert_position(c, id, p)?;
        }
        let mut details = call_details(data);
        details["positions"] = json!(positions.len());
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new("demand_call.created", "demand_call", id, details),
        )?;
        Ok(id)
    })
}

/// Mails every active buyer of the given members.
pub(super) fn mail_buyers(
    conn: &mut DbConn,
    state: &AppState,
    member_ids: &[OrgId],
    template: &str,
    ctx: &serde_json::Value,
) -> AppResult<usize> {
    let buyers: Vec<(String, String, String)> = users::table
        .inner_join(organisations::table)
        .filter(users::organisation_id.eq_any(member_ids))
        .filter(users::role.eq(Role::Buyer))
        .filter(users::active.eq(true))
        .select((users::email, users::name, organisations::name))
        .load(conn)?;
    for (email, name, member) in &buyers {
        let mut ctx = ctx.clone();
        ctx["name"] = json!(name);
        ctx["member"] = json!(member);
        mail::enqueue(conn, state, email, template, &ctx)?;
    }
    Ok(buyers.len())
}

pub(super) fn mail_context(state: &AppState, call: &DemandCall) -> serde_json::Value {
    json!({
        "title": call.title,
        "deadline": call.deadline,
        "term_months": call.term_months,
        "url": format!("{}/bedarf/{}", state.config.base_url, call.id),
    })
}

/// Changes title, description, term, deadline and invitations. Before opening freely; after
/// opening only while the deadline runs, invitations only extended, and every invited buyer is
/// told what changed.
pub fn update_call(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: DemandCallId,
    data: &CallData,
) -> AppResult<()> {
    require_officer(user)?;
    write_tx(conn, |c| {
        let call = find_call(c, id)?;
        let now = state.clock.now_naive();
        if call.status == CallStatus::Closed || (call.status == CallStatus::Open && now >= call.deadline) {
            return Err(AppError::Conflict(
                "Die Bedarfsabfrage ist abgeschlossen und kann nicht mehr geändert werden.".into(),
            ));
        }
        check_members(c, &data.member_ids)?;
        let before: HashSet<OrgId> = invited_members(c, &call)?.into_iter().map(|(m, _)| m).collect();
        if call.status == CallStatus::Open {
            if call.all_members && !data.all_members {
                return Err(AppError::field(
                    "member_ids",
                    "Nach dem Öffnen kann der Kreis der Eingeladenen nur erweitert werden.",
                ));
            }
            if !data.all_members
                && !data
                    .member_ids
                    .iter()
                    .copied()
                    .collect::<HashSet<_>>()
                    .is_superset(&before)
            {
                return Err(AppError::field(
                    "member_ids",
                    "Nach dem Öffnen kann der Kreis der Eingeladenen nur erweitert werden.",
                ));
            }
        }
        diesel::update(demand_calls::table.find(id))
            .set((
                demand_calls::title.eq(&data.title),
                demand_calls::description.eq(&data.description),
                demand_calls::term_months.eq(data.term_months),
                demand_calls::deadline.eq(data.deadline),
                demand_calls::all_members.eq(data.all_members),
            ))
            .execute(c)?;
        let target: Vec<OrgId> = if data.all_members {
            organisations::table
                .filter(organisations::org_type.eq(OrgType::Member))
                .filter(organisations::active.eq(true))
                .select(organisations::id)
                .load(c)?
        } else {
            data.member_ids.clone()
        };
        if call.status == CallStatus::Draft {
            diesel::delete(demand_invitations::table.filter(demand_invitations::call_id.eq(id))).execute(c)?;
            if !data.all_members {
                invite(c, id, &target)?;
            }
        } else {
            let added: Vec<OrgId> = target.iter().copied().filter(|m| !before.contains(m)).collect();
            invite(c, id, &added)?;
        }
        let mut details = call_details(data);
        details["previous_deadline"] = json!(call.deadline);
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new("demand_call.updated", "demand_call", id, details).in_stream(stream(id)),
        )?;
        if call.status == CallStatus::Open {
            let updated = find_call(c, id)?;
            let mut ctx = mail_context(state, &updated);
            ctx["previous_deadline"] = json!(call.deadline);
            let everyone: Vec<OrgId> = invited_members(c, &updated)?.into_iter().map(|(m, _)| m).collect();
            mail_buyers(c, state, &everyone, "demand_call_changed", &ctx)?;
        }
        Ok(())
    })
}

pub(super) fn invite(conn: &mut DbConn, call_id: DemandCallId, members: &[OrgId]) -> AppResult<()> {
    for m in members {
        diesel::insert_into(demand_invitations::table)
            .values(NewInvitation { call_id, member_id: *m })
            .execute(conn)?;
    }
    Ok(())
}

/// Adds a position; after opening, the invited buyers are told.
pub fn add_position(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    call_id: DemandCallId,
    data: &PositionData,
) -> AppResult<DemandPositionId> {
    require_officer(user)?;
    write_tx(conn, |c| {
        let call = find_call(c, call_id)?;
        if call.status == CallStatus::Closed
            || (call.status == CallStatus::Open && state.clock.now_naive() >= call.deadline)
        {
            return Err(AppError::Conflict(
                "Die Bedarfsabfrage ist abgeschlossen; Positionen können nicht mehr ergänzt werden.".into(),
            ));
        }
        let id = insert_position(c, call_id, data)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "demand_position.added",
                "demand_position",
                id,
                json!({ "description": data.description, "unit": data.unit, "cpv_code": data.cpv_code, "estimate_price": data.estimate_price }),
            )
            .in_stream(stream(call_id)),
        )?;
        if call.status == CallStatus::Open {
            let mut ctx = mail_context(state, &call);
            ctx["added_position"] = json!(data.description);
            let members: Vec<OrgId> = invited_members(c, &call)?.into_iter().map(|(m, _)| m).collect();
            mail_buyers(c, state, &members, "demand_call_changed", &ctx)?;
        }
        Ok(id)
    })
}

/// Removes a position nobody has entered demand for yet.
pub fn remove_position(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    call_id: DemandCallId,
    position_id: DemandPositionId,
) -> AppResult<()> {
    require_officer(user)?;
    write_tx(conn, |c| {
        let call = find_call(c, call_id)?;
        if call.status == CallStatus::Closed {
            return Err(AppError::Conflict("Die Bedarfsabfrage ist abgeschlossen.".into()));
        }
        let lines: i64 = demand_lines::table
            .filter(demand_lines::position_id.eq(position_id))
            .count()
            .get_result(c)?;
        if lines > 0 {
            return Err(AppError::Conflict(
                "Für diese Position haben Mitglieder bereits Bedarf gemeldet; sie kann nicht entfernt werden.".into(),
            ));
        }
        let n = diesel::delete(
            demand_positions::table
                .filter(demand_positions::id.eq(position_id))
                .filter(demand_positions::call_id.eq(call_id)),
        )
        .execute(c)?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new("demand_position.removed", "demand_position", position_id, json!({})).in_stream(stream(call_id)),
        )
    })
}

/// Opens a draft: fixes the invited members and mails their buyers.
pub fn open_call(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: DemandCallId) -> AppResult<usize> {
    require_officer(user)?;
    write_tx(conn, |c| {
        let call = find_call(c, id)?;
        if call.status != CallStatus::Draft {
            return Err(AppError::Conflict("Nur ein Entwurf kann geöffnet werden.".into()));
        }
        let now = state.clock.now_naive();
        if call.deadline <= now {
            return Err(AppError::Conflict(
                "Die Frist liegt in der Vergangenheit; bitte verlängern Sie sie vor dem Öffnen.".into(),
            ));
        }
        if positions(c, id)?.is_empty() {
            return Err(AppError::Conflict(
                "Bitte fügen Sie vor dem Öffnen mindestens eine Position hinzu.".into(),
            ));
        }
        let members: Vec<OrgId> = invited_members(c, &call)?.into_iter().map(|(m, _)| m).collect();
        if members.is_empty() {
            return Err(AppError::Conflict("Es ist kein aktives Mitglied eingeladen.".into()));
        }
        if call.all_members {
            invite(c, id, &members)?;
        }
        diesel::update(demand_calls::table.find(id))
            .set((
                demand_calls::status.eq(CallStatus::Open),
                demand_calls::opened_at.eq(now),
            ))
            .execute(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new("demand_call.opened", "demand_call", id, json!({ "invited": members })).in_stream(stream(id)),
        )?;
        mail_buyers(c, state, &members, "demand_call_opened", &mail_context(state, &call))
    })
}

/// Closes an open call after its deadline; its demand is then final.
pub fn close_call(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: DemandCallId) -> AppResult<()> {
    require_officer(user)?;
    write_tx(conn, |c| {
        let call = find_call(c, id)?;
        let now = state.clock.now_naive();
        if call.status != CallStatus::Open {
            return Err(AppError::Conflict(
                "Nur eine offene Bedarfsabfrage kann abgeschlossen werden.".into(),
            ));
        }
        if now < call.deadline {
            return Err(AppError::Conflict(
                "Die Frist läuft noch; die Bedarfsabfrage kann erst danach abgeschlossen werden.".into(),
            ));
        }
        diesel::update(demand_calls::table.find(id))
            .set((
                demand_calls::status.eq(CallStatus::Closed),
                demand_calls::closed_at.eq(now),
            ))
            .execute(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new("demand_call.closed", "demand_call", id, json!({})).in_stream(stream(id)),
        )
    })
}
