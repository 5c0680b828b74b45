//! Demand pooling (lifecycle step 1): officers run demand calls over catalogue positions, members'
//! buyers enter what they need (form, CSV, API) until the deadline, and the demand is aggregated.

pub mod api;
pub mod routes;

use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{
    catalogue_items, demand_calls, demand_invitations, demand_lines, demand_positions, demand_responses, organisations,
    users,
};
use crate::db::{write_tx, DbConn};
use crate::domain::demand::{self as rules, CallStatus, Line, PositionAggregate};
use crate::domain::money::{Price, Quantity};

use crate::domain::policy::Reach;
use crate::domain::roles::{OrgType, Role};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::import::{self, RowError, Table};
use crate::{mail, AppState};
use chrono::{NaiveDate, NaiveDateTime};

use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = demand_calls)]
pub struct DemandCall {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub term_months: i32,
    pub deadline: NaiveDateTime,
    pub status: CallStatus,
    pub all_members: bool,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub opened_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
}

impl DemandCall {
    /// Members may enter demand only while the call is open and before its deadline.
    pub fn accepts_demand(&self, now: NaiveDateTime) -> bool {
        self.status == CallStatus::Open && now < self.deadline
    }

    /// German label of the state as users see it.
    pub fn state_label(&self, now: NaiveDateTime) -> &'static str {
        match self.status {
            CallStatus::Open if now >= self.deadline => "Frist abgelaufen",
            status => status.label(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = demand_positions)]
pub struct Position {
    pub id: i64,
    pub call_id: i64,
    pub position_no: i32,
    pub catalogue_item_id: Option<i64>,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub estimate_price: Option<Price>,
}

fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_default().push(message.into());
}

/// A demand call as an officer asks for it, read at the edge (form or API).
#[derive(Debug, Clone, Default)]
pub struct CallCommand {
    pub title: String,
    pub description: String,
    pub term_months: Option<i32>,
    /// Server time (UTC) of the deadline.
    pub deadline: Option<NaiveDateTime>,
    pub all_members: bool,
    pub member_ids: Vec<i64>,
}

pub const CALL_DEADLINE_MISSING: &str = "Bitte geben Sie die Frist als Datum (TT.MM.JJJJ) und Uhrzeit (HH:MM) an.";

#[derive(Debug, Clone)]
pub struct CallData {
    pub title: String,
    pub description: String,
    pub term_months: i32,
    pub deadline: NaiveDateTime,
    pub all_members: bool,
    pub member_ids: Vec<i64>,
}

impl CallCommand {
    pub fn validate(&self, now: NaiveDateTime) -> AppResult<CallData> {
        let mut errors = FieldErrors::new();
        let title = self.title.trim().to_string();
        if !(3..=200).contains(&title.chars().count()) {
            push(
                &mut errors,
                "title",
                "Bitte geben Sie einen Titel an (3 bis 200 Zeichen).",
            );
        }
        let term_months = match self.term_months {
            Some(m) if (1..=crate::domain::tender::MAX_TERM_MONTHS).contains(&m) => m,
            _ => {
                push(
                    &mut errors,
                    "term_months",
                    format!(
                        "Bitte geben Sie die geplante Laufzeit in Monaten an (1 bis {}).",
                        crate::domain::tender::MAX_TERM_MONTHS
                    ),
                );
                0
            }
        };
        let deadline = match self.deadline {
            Some(d) if d > now => d,
            Some(_) => {
                push(&mut errors, "deadline_date", "Die Frist muss in der Zukunft liegen.");
                now
            }
            None => {
                push(&mut errors, "deadline_date", CALL_DEADLINE_MISSING);
                now
            }
        };
        if !self.all_members && self.member_ids.is_empty() {
            push(
                &mut errors,
                "member_ids",
                "Bitte laden Sie alle Mitglieder ein oder wählen Sie mindestens eines aus.",
            );
        }
        if !errors.is_empty() {
            return Err(AppError::fields(errors));
        }
        let mut member_ids = self.member_ids.clone();
        member_ids.sort_unstable();
        member_ids.dedup();
        Ok(CallData {
            title,
            description: self.description.trim().to_string(),
            term_months,
            deadline,
            all_members: self.all_members,
            member_ids,
        })
    }
}

/// A position to add: from the catalogue, or new with its own description, unit and CPV code.
#[derive(Debug, Clone, Default)]
pub struct PositionCommand {
    pub catalogue_item_id: Option<i64>,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub estimate_price: Option<Price>,
}

#[derive(Debug, Clone)]
pub struct PositionData {
    pub catalogue_item_id: Option<i64>,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub estimate_price: Option<Price>,
}

impl PositionCommand {
    pub fn validate(&self, conn: &mut DbConn) -> AppResult<PositionData> {
        let estimate_price = self.estimate_price;
        if let Some(item_id) = self.catalogue_item_id {
            let item: Option<(String, String, String)> = catalogue_items::table
                .find(item_id)
                .filter(catalogue_items::active.eq(true))
                .select((
                    catalogue_items::description,
                    catalogue_items::unit,
                    catalogue_items::cpv_code,
                ))
                .first(conn)
                .optional()?;
            let (description, unit, cpv_code) = item
                .ok_or_else(|| AppError::field("catalogue_item_id", "Diese Katalogposition gibt es nicht (mehr)."))?;
            return Ok(PositionData {
                catalogue_item_id: Some(item_id),
                description,
                unit,
                cpv_code,
                estimate_price,
            });
        }
        let (description, unit, cpv_code) =
            crate::orgs::validate_catalogue_item(&self.description, &self.unit, &self.cpv_code)?;
        Ok(PositionData {
            catalogue_item_id: None,
            description,
            unit,
            cpv_code,
            estimate_price,
        })
    }
}

pub fn find_call(conn: &mut DbConn, id: i64) -> AppResult<DemandCall> {
    // Default selection (all columns in table order): a static query id keeps the statement
    // cached instead of building the SQL on every call.
    Ok(demand_calls::table.find(id).first(conn)?)
}

pub fn positions(conn: &mut DbConn, call_id: i64) -> AppResult<Vec<Position>> {
    Ok(demand_positions::table
        .filter(demand_positions::call_id.eq(call_id))
        .order(demand_positions::position_no.asc())
        .select(Position::as_select())
        .load(conn)?)
}

pub fn invited_members(conn: &mut DbConn, call: &DemandCall) -> AppResult<Vec<(i64, String)>> {
    if call.all_members && call.status == CallStatus::Draft {
        return Ok(organisations::table
            .filter(organisations::org_type.eq(OrgType::Member))
            .filter(organisations::active.eq(true))
            .order(organisations::name.asc())
            .select((organisations::id, organisations::name))
            .load(conn)?);
    }
    Ok(demand_invitations::table
        .inner_join(organisations::table)
        .filter(demand_invitations::call_id.eq(call.id))
        .order(organisations::name.asc())
        .select((organisations::id, organisations::name))
        .load(conn)?)
}

/// Calls a user may see: all for the cooperative's roles, the invited ones (not drafts) for buyers.
pub fn list_calls(conn: &mut DbConn, user: &CurrentUser) -> AppResult<Vec<DemandCall>> {
    // Unboxed queries with the default selection keep a static query id, so Diesel reuses the
    // prepared statement instead of building the SQL on every page view.
    let all = demand_calls::table.order(demand_calls::deadline.desc());
    match user.reach() {
        Reach::Everything => Ok(all.load(conn)?),
        Reach::Member(member) => {
            let invited = demand_invitations::table
                .filter(demand_invitations::member_id.eq(member))
                .select(demand_invitations::call_id);
            Ok(all
                .filter(demand_calls::id.eq_any(invited))
                .filter(demand_calls::status.ne(CallStatus::Draft))
                .load(conn)?)
        }
        Reach::Vendor(_) => Err(AppError::forbidden()),
    }
}

/// The calls `user` may see that are not closed yet (the start page's), as `list_calls` orders them.
pub fn list_unclosed_calls(conn: &mut DbConn, user: &CurrentUser) -> AppResult<Vec<DemandCall>> {
    let all = demand_calls::table
        .filter(demand_calls::status.ne(CallStatus::Closed))
        .order(demand_calls::deadline.desc());
    match user.reach() {
        Reach::Everything => Ok(all.load(conn)?),
        Reach::Member(member) => {
            let invited = demand_invitations::table
                .filter(demand_invitations::member_id.eq(member))
                .select(demand_invitations::call_id);
            Ok(all
                .filter(demand_calls::id.eq_any(invited))
                .filter(demand_calls::status.ne(CallStatus::Draft))
                .load(conn)?)
        }
        Reach::Vendor(_) => Err(AppError::forbidden()),
    }
}

/// The calls a member has answered (saved its demand for, possibly none).
pub fn answered_calls(conn: &mut DbConn, member_id: i64) -> AppResult<Vec<i64>> {
    Ok(demand_responses::table
        .filter(demand_responses::member_id.eq(member_id))
        .select(demand_responses::call_id)
        .load(conn)?)
}

/// May `user` read `call`? Cooperative roles always; a buyer when its member is invited.
pub fn check_read(conn: &mut DbConn, user: &CurrentUser, call: &DemandCall) -> AppResult<()> {
    match user.reach() {
        Reach::Everything => Ok(()),
        Reach::Member(member) if call.status != CallStatus::Draft && is_invited(conn, call.id, member)? => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

fn is_invited(conn: &mut DbConn, call_id: i64, member_id: i64) -> AppResult<bool> {
    let n: i64 = demand_invitations::table
        .filter(demand_invitations::call_id.eq(call_id))
        .filter(demand_invitations::member_id.eq(member_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

fn call_details(data: &CallData) -> serde_json::Value {
    json!({
        "title": data.title,
        "term_months": data.term_months,
        "deadline": data.deadline,
        "all_members": data.all_members,
        "member_ids": data.member_ids,
    })
}

fn insert_position(conn: &mut DbConn, call_id: i64, data: &PositionData) -> AppResult<i64> {
    let next: Option<i32> = demand_positions::table
        .filter(demand_positions::call_id.eq(call_id))
        .select(diesel::dsl::max(demand_positions::position_no))
        .first(conn)?;
    Ok(diesel::insert_into(demand_positions::table)
        .values((
            demand_positions::call_id.eq(call_id),
            demand_positions::position_no.eq(next.unwrap_or(0) + 1),
            demand_positions::catalogue_item_id.eq(data.catalogue_item_id),
            demand_positions::description.eq(&data.description),
            demand_positions::unit.eq(&data.unit),
            demand_positions::cpv_code.eq(&data.cpv_code),
            demand_positions::estimate_price.eq(data.estimate_price),
        ))
        .returning(demand_positions::id)
        .get_result(conn)?)
}

fn stream(call_id: i64) -> String {
    format!("demand_call:{call_id}")
}

fn require_officer(user: &CurrentUser) -> AppResult<()> {
    user.require(&[Role::Officer])
}

/// Checks that chosen members exist and are active members.
fn check_members(conn: &mut DbConn, ids: &[i64]) -> AppResult<()> {
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
) -> AppResult<i64> {
    require_officer(user)?;
    write_tx(conn, |c| {
        check_members(c, &data.member_ids)?;
        let id: i64 = diesel::insert_into(demand_calls::table)
            .values((
                demand_calls::title.eq(&data.title),
                demand_calls::description.eq(&data.description),
                demand_calls::term_months.eq(data.term_months),
                demand_calls::deadline.eq(data.deadline),
                demand_calls::status.eq(CallStatus::Draft),
                demand_calls::all_members.eq(data.all_members),
                demand_calls::created_by.eq(user.id),
                demand_calls::created_at.eq(state.clock.now_naive()),
            ))
            .returning(demand_calls::id)
            .get_result(c)?;
        if !data.all_members {
            for m in &data.member_ids {
                diesel::insert_into(demand_invitations::table)
                    .values((demand_invitations::call_id.eq(id), demand_invitations::member_id.eq(m)))
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
fn mail_buyers(
    conn: &mut DbConn,
    state: &AppState,
    member_ids: &[i64],
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

fn mail_context(state: &AppState, call: &DemandCall) -> serde_json::Value {
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
pub fn update_call(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: i64, data: &CallData) -> AppResult<()> {
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
        let before: HashSet<i64> = invited_members(c, &call)?.into_iter().map(|(m, _)| m).collect();
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
        let target: Vec<i64> = if data.all_members {
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
            let added: Vec<i64> = target.iter().copied().filter(|m| !before.contains(m)).collect();
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
            let everyone: Vec<i64> = invited_members(c, &updated)?.into_iter().map(|(m, _)| m).collect();
            mail_buyers(c, state, &everyone, "demand_call_changed", &ctx)?;
        }
        Ok(())
    })
}

fn invite(conn: &mut DbConn, call_id: i64, members: &[i64]) -> AppResult<()> {
    for m in members {
        diesel::insert_into(demand_invitations::table)
            .values((
                demand_invitations::call_id.eq(call_id),
                demand_invitations::member_id.eq(m),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Adds a position; after opening, the invited buyers are told.
pub fn add_position(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    call_id: i64,
    data: &PositionData,
) -> AppResult<i64> {
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
            let members: Vec<i64> = invited_members(c, &call)?.into_iter().map(|(m, _)| m).collect();
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
    call_id: i64,
    position_id: i64,
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
pub fn open_call(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: i64) -> AppResult<usize> {
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
        let members: Vec<i64> = invited_members(c, &call)?.into_iter().map(|(m, _)| m).collect();
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
pub fn close_call(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
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

/// One line of a member's demand, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DemandEntry {
    pub position_id: i64,
    pub quantity: Quantity,
    pub reference_price: Option<Price>,
}

/// A member's current lines, by position.
pub fn member_lines(conn: &mut DbConn, call_id: i64, member_id: i64) -> AppResult<Vec<DemandEntry>> {
    let rows: Vec<(i64, Quantity, Option<Price>)> = demand_lines::table
        .filter(demand_lines::call_id.eq(call_id))
        .filter(demand_lines::member_id.eq(member_id))
        .select((
            demand_lines::position_id,
            demand_lines::quantity,
            demand_lines::reference_price,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(position_id, quantity, reference_price)| DemandEntry {
            position_id,
            quantity,
            reference_price,
        })
        .collect())
}

/// Replaces the buyer's member's whole demand in one transaction (all or nothing).
pub fn save_demand(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    call_id: i64,
    entries: &[DemandEntry],
) -> AppResult<()> {
    user.require(&[Role::Buyer])?;
    let member_id = user.organisation_id;
    write_tx(conn, |c| {
        let call = find_call(c, call_id)?;
        if call.status == CallStatus::Draft || !is_invited(c, call_id, member_id)? {
            return Err(AppError::NotFound);
        }
        if !call.accepts_demand(state.clock.now_naive()) {
            return Err(AppError::Conflict(
                "Die Frist dieser Bedarfsabfrage ist abgelaufen; Ihr Bedarf kann nicht mehr geändert werden.".into(),
            ));
        }
        let valid: HashSet<i64> = demand_positions::table
            .filter(demand_positions::call_id.eq(call_id))
            .select(demand_positions::id)
            .load::<i64>(c)?
            .into_iter()
            .collect();
        let mut seen = HashSet::new();
        for e in entries {
            if !valid.contains(&e.position_id) || !seen.insert(e.position_id) {
                return Err(AppError::BadRequest(format!(
                    "Position {} gehört nicht (oder doppelt) zu dieser Bedarfsabfrage.",
                    e.position_id
                )));
            }
            if e.quantity.is_zero() {
                return Err(AppError::BadRequest("Mengen müssen größer als 0 sein.".into()));
            }
        }
        diesel::delete(
            demand_lines::table
                .filter(demand_lines::call_id.eq(call_id))
                .filter(demand_lines::member_id.eq(member_id)),
        )
        .execute(c)?;
        // Plain column tuples: Diesel binds these about twice as fast as a derived Insertable.
        let rows: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    demand_lines::call_id.eq(call_id),
                    demand_lines::position_id.eq(e.position_id),
                    demand_lines::member_id.eq(member_id),
                    demand_lines::quantity.eq(e.quantity.minor()),
                    demand_lines::reference_price.eq(e.reference_price.map(|p| p.minor())),
                )
            })
            .collect();
        // 5 parameters a row: 4,000 rows stay below SQLite's limit of 32,766 per statement.
        for chunk in rows.chunks(4_000) {
            // Multi-row inserts are typed per backend; the enum cannot express them.
            match c {
                DbConn::Sqlite(inner) => diesel::insert_into(demand_lines::table).values(chunk).execute(inner)?,
                DbConn::Pg(inner) => diesel::insert_into(demand_lines::table).values(chunk).execute(inner)?,
            };
        }
        let now = state.clock.now_naive();
        diesel::delete(
            demand_responses::table
                .filter(demand_responses::call_id.eq(call_id))
                .filter(demand_responses::member_id.eq(member_id)),
        )
        .execute(c)?;
        diesel::insert_into(demand_responses::table)
            .values((
                demand_responses::call_id.eq(call_id),
                demand_responses::member_id.eq(member_id),
                demand_responses::answered_at.eq(now),
                demand_responses::answered_by.eq(user.id),
            ))
            .execute(c)?;
        let total: Decimal = entries.iter().map(|e| e.quantity.to_decimal()).sum();
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "demand.saved",
                "demand_call",
                call_id,
                json!({ "member_id": member_id, "lines": entries.len(), "total_quantity": total.to_string() }),
            )
            .in_stream(stream(call_id)),
        )
    })
}

/// The first `max` characters of a text, with "…" when cut.
pub(crate) fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{}…", cut.trim_end())
}

pub const CSV_POSITION: &[&str] = &["pos.", "pos", "position", "positionsnummer", "nr.", "nr"];
pub const CSV_QUANTITY: &[&str] = &["menge", "bedarf", "anzahl", "quantity"];
pub const CSV_PRICE: &[&str] = &["referenzpreis (eur netto)", "referenzpreis", "preis", "reference_price"];

/// Reads an uploaded demand file; every bad row is reported (line, column, reason).
pub fn entries_from_csv(positions: &[Position], bytes: &[u8]) -> Result<Vec<DemandEntry>, Vec<RowError>> {
    let table = Table::parse(bytes).map_err(|e| vec![e])?;
    let (pos_col, qty_col) = match (table.column(CSV_POSITION, "Pos."), table.column(CSV_QUANTITY, "Menge")) {
        (Ok(p), Ok(q)) => (p, q),
        (p, q) => return Err([p.err(), q.err()].into_iter().flatten().collect()),
    };
    let price_col = table.optional_column(CSV_PRICE);
    let style = table.decimal_style(&[Some(qty_col), price_col].into_iter().flatten().collect::<Vec<_>>());
    let by_no: HashMap<i32, i64> = positions.iter().map(|p| (p.position_no, p.id)).collect();
    let mut errors = Vec::new();
    let mut entries = Vec::with_capacity(table.rows.len());
    let mut seen: HashMap<i64, usize> = HashMap::with_capacity(table.rows.len());
    let price_header = "Referenzpreis (EUR netto)".to_string();
    for (line, cells) in &table.rows {
        let err = |column: &str, reason: String| RowError {
            line: *line,
            column: column.to_string(),
            reason,
        };
        let pos_text = import::cell(cells, pos_col)
            .map(|s| s.trim_end_matches('.'))
            .unwrap_or("");
        let Some(&position_id) = pos_text.parse::<i32>().ok().and_then(|n| by_no.get(&n)) else {
            errors.push(err(
                "Pos.",
                format!("Position „{pos_text}“ gibt es in dieser Bedarfsabfrage nicht."),
            ));
            continue;
        };
        if let Some(first) = seen.insert(position_id, *line) {
            errors.push(err(
                "Pos.",
                format!("Position {pos_text} steht doppelt in der Datei (zuerst in Zeile {first})."),
            ));
            continue;
        }
        let quantity = match import::number_cell(cells, Some(qty_col), style) {
            Ok(None) => None,
            Ok(Some(d)) => match Quantity::from_decimal(d).and_then(Quantity::positive) {
                Ok(q) => Some(q),
                Err(e) => {
                    errors.push(err(
                        "Menge",
                        format!("„{}“ {e}", import::cell(cells, qty_col).unwrap_or("")),
                    ));
                    continue;
                }
            },
            Err(e) => {
                errors.push(err("Menge", e));
                continue;
            }
        };
        let price = match import::number_cell(cells, price_col, style) {
            Ok(None) => None,
            Ok(Some(d)) => match Price::from_decimal(d) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(err(
                        &price_header,
                        format!("„{}“ {e}", price_col.and_then(|c| import::cell(cells, c)).unwrap_or("")),
                    ));
                    continue;
                }
            },
            Err(e) => {
                errors.push(err(&price_header, e));
                continue;
            }
        };
        match (quantity, price) {
            (Some(quantity), reference_price) => entries.push(DemandEntry {
                position_id,
                quantity,
                reference_price,
            }),
            (None, Some(_)) => errors.push(err("Menge", "Zum Referenzpreis fehlt die Menge.".into())),
            (None, None) => {}
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// The aggregation of call `id`, for those allowed to read it.
pub fn aggregate_for(
    conn: &mut DbConn,
    user: &CurrentUser,
    id: i64,
    today: NaiveDate,
) -> AppResult<(DemandCall, Aggregation)> {
    user.require(crate::domain::policy::AGGREGATION_READERS)?;
    let call = find_call(conn, id)?;
    let agg = aggregate(conn, &call, today)?;
    Ok((call, agg))
}

/// The buyer's template for call `id`: every position with the member's current values.
pub fn template_for(conn: &mut DbConn, user: &CurrentUser, id: i64) -> AppResult<Vec<u8>> {
    user.require(&[Role::Buyer])?;
    let call = find_call(conn, id)?;
    check_read(conn, user, &call)?;
    Ok(csv_template(
        &positions(conn, id)?,
        &member_lines(conn, id, user.organisation_id)?,
    ))
}

/// What an accepted upload did: lines saved, and earlier positions the file no longer has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvImport {
    pub saved: usize,
    pub removed_positions: Vec<i32>,
}

/// Reads an uploaded demand file and replaces the buyer's member's demand with it, all or
/// nothing. A refused file comes back as a validation error on the field `file`, one message per
/// bad row.
pub fn import_csv(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    bytes: &[u8],
) -> AppResult<CsvImport> {
    let call = find_call(conn, id)?;
    check_read(conn, user, &call)?;
    let positions = positions(conn, id)?;
    let entries = entries_from_csv(&positions, bytes).map_err(|errors| {
        let mut fields = FieldErrors::new();
        fields.insert("file".into(), errors.iter().map(|e| e.to_string()).collect());
        AppError::Validation {
            message: format!(
                "Die Datei wurde nicht übernommen: {} Fehler, nichts gespeichert.",
                errors.len()
            ),
            fields,
        }
    })?;
    let before = member_lines(conn, id, user.organisation_id)?;
    save_demand(conn, state, user, id, &entries)?;
    let removed_positions = before
        .iter()
        .filter(|b| !entries.iter().any(|e| e.position_id == b.position_id))
        .filter_map(|b| positions.iter().find(|p| p.id == b.position_id).map(|p| p.position_no))
        .collect();
    Ok(CsvImport {
        saved: entries.len(),
        removed_positions,
    })
}

/// The template a buyer downloads: every position, with the member's current values.
pub fn csv_template(positions: &[Position], current: &[DemandEntry]) -> Vec<u8> {
    let by_pos: HashMap<i64, &DemandEntry> = current.iter().map(|e| (e.position_id, e)).collect();
    let mut out = import::GermanCsv::new();
    out.row([
        "Pos.",
        "Beschreibung",
        "Einheit",
        "CPV-Code",
        "Menge",
        "Referenzpreis (EUR netto)",
    ]);
    for p in positions {
        let e = by_pos.get(&p.id);
        out.row([
            p.position_no.to_string(),
            p.description.clone(),
            p.unit.clone(),
            p.cpv_code.clone(),
            e.map(|e| import::decimal_cell(e.quantity.to_decimal(), 0))
                .unwrap_or_default(),
            e.and_then(|e| e.reference_price)
                .map(|p| import::decimal_cell(p.to_decimal(), 2))
                .unwrap_or_default(),
        ]);
    }
    out.finish()
}

/// One member's line in the breakdown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberLine {
    pub member_id: i64,
    pub member: String,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub quantity: Decimal,
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub reference_price: Option<Decimal>,
}

/// The aggregation of a call.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Aggregation {
    pub positions: Vec<(Position, PositionAggregate)>,
    pub breakdown: BTreeMap<i64, Vec<MemberLine>>,
    pub invited: usize,
    pub answered: usize,
    pub not_answered: Vec<String>,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub estimated_total: Decimal,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub eu_threshold: Decimal,
    pub eu_procedure_required: bool,
}

pub fn aggregate(conn: &mut DbConn, call: &DemandCall, today: NaiveDate) -> AppResult<Aggregation> {
    let positions = positions(conn, call.id)?;
    let rows: Vec<(i64, i64, Quantity, Option<Price>, String)> = demand_lines::table
        .inner_join(organisations::table)
        .filter(demand_lines::call_id.eq(call.id))
        .order((demand_lines::position_id.asc(), organisations::name.asc()))
        .select((
            demand_lines::position_id,
            demand_lines::member_id,
            demand_lines::quantity,
            demand_lines::reference_price,
            organisations::name,
        ))
        .load(conn)?;
    let lines: Vec<Line> = rows
        .iter()
        .map(|(position_id, member_id, quantity, reference_price, _)| Line {
            position_id: *position_id,
            member_id: *member_id,
            quantity: *quantity,
            reference_price: *reference_price,
        })
        .collect();
    let aggregates = rules::aggregate(
        &positions.iter().map(|p| (p.id, p.estimate_price)).collect::<Vec<_>>(),
        &lines,
    );
    let mut breakdown: BTreeMap<i64, Vec<MemberLine>> = BTreeMap::new();
    for (position_id, member_id, quantity, price, member) in rows {
        breakdown.entry(position_id).or_default().push(MemberLine {
            member_id,
            member,
            quantity: quantity.to_decimal(),
            reference_price: price.map(Price::to_decimal),
        });
    }
    let invited = invited_members(conn, call)?;
    let answered: HashSet<i64> = demand_responses::table
        .filter(demand_responses::call_id.eq(call.id))
        .select(demand_responses::member_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let not_answered: Vec<String> = invited
        .iter()
        .filter(|(m, _)| !answered.contains(m))
        .map(|(_, n)| n.clone())
        .collect();
    let estimated_total = rules::estimated_total(&aggregates);
    let eu_threshold = crate::domain::rules::eu_threshold_on(today).supplies_services;
    Ok(Aggregation {
        positions: positions.into_iter().zip(aggregates).collect(),
        breakdown,
        invited: invited.len(),
        answered: answered.len(),
        not_answered,
        estimated_total,
        eu_threshold,
        eu_procedure_required: estimated_total >= eu_threshold,
    })
}

/// The aggregation as German Excel CSV: one row per position and member, then the totals.
pub fn aggregation_csv(agg: &Aggregation) -> Vec<u8> {
    let cell = |d: Option<Decimal>, places: u32| d.map(|v| import::decimal_cell(v, places)).unwrap_or_default();
    let mut out = import::GermanCsv::new();
    out.row([
        "Pos.",
        "Beschreibung",
        "Einheit",
        "CPV-Code",
        "Mitglied",
        "Menge",
        "Referenzpreis (EUR netto)",
        "Mitglieder",
        "Gewichteter Referenzpreis",
        "Min. Referenzpreis",
        "Max. Referenzpreis",
        "Schätzpreis",
        "Geschätzter Wert (EUR netto)",
    ]);
    for (p, a) in &agg.positions {
        for m in agg.breakdown.get(&p.id).map(Vec::as_slice).unwrap_or(&[]) {
            out.row([
                p.position_no.to_string(),
                p.description.clone(),
                p.unit.clone(),
                p.cpv_code.clone(),
                m.member.clone(),
                import::decimal_cell(m.quantity, 0),
                cell(m.reference_price, 2),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        out.row([
            p.position_no.to_string(),
            p.description.clone(),
            p.unit.clone(),
            p.cpv_code.clone(),
            "Summe".to_string(),
            import::decimal_cell(a.total_quantity, 0),
            String::new(),
            a.members.to_string(),
            cell(a.weighted_reference_price, 2),
            cell(a.min_reference_price, 2),
            cell(a.max_reference_price, 2),
            cell(a.estimate_unit_price, 2),
            cell(a.estimated_value, 2),
        ]);
    }
    out.finish()
}
