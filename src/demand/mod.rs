//! Demand pooling (lifecycle step 1): officers run demand calls over catalogue positions, members'
//! buyers enter what they need (form, CSV, API) until the deadline, and the demand is aggregated.

mod aggregation;
mod answers;
pub mod api;
mod call;
mod command;
pub mod routes;

pub use aggregation::{aggregate, aggregate_for, aggregation_csv, Aggregation, MemberLine};
pub(crate) use answers::short;
pub use answers::{
    csv_template, entries_from_csv, import_csv, member_lines, save_demand, template_for, CsvImport, DemandEntry,
    CSV_POSITION, CSV_PRICE, CSV_QUANTITY,
};
pub use call::{add_position, close_call, create_call, open_call, remove_position, update_call};
pub use command::{CallCommand, CallData, PositionCommand, PositionData, CALL_DEADLINE_MISSING};

use crate::auth::CurrentUser;
use crate::db::schema::{demand_calls, demand_invitations, demand_positions, demand_responses, organisations};
use crate::db::DbConn;
use crate::domain::demand::CallStatus;
use crate::domain::ids::{CatalogueItemId, DemandCallId, DemandPositionId, OrgId, UserId};
use crate::domain::money::Price;

use crate::domain::policy::Reach;
use crate::domain::roles::{OrgType, Role};
use crate::error::{AppError, AppResult};
use chrono::NaiveDateTime;

use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = demand_calls)]
pub struct DemandCall {
    #[schema(value_type = i64)]
    pub id: DemandCallId,
    pub title: String,
    pub description: String,
    pub term_months: i32,
    pub deadline: NaiveDateTime,
    pub status: CallStatus,
    pub all_members: bool,
    #[schema(value_type = i64)]
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub opened_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
}

impl DemandCall {
    /// Members may enter demand only while the call is open and before its deadline.
    pub fn accepts_demand(&self, now: NaiveDateTime) -> bool {
        self.status == CallStatus::Open && now < self.deadline
    }

    /// The officer may change a call's particulars while it is a draft or still takes demand.
    pub fn editable(&self, now: NaiveDateTime) -> bool {
        self.status == CallStatus::Draft || self.accepts_demand(now)
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
    #[schema(value_type = i64)]
    pub id: DemandPositionId,
    #[schema(value_type = i64)]
    pub call_id: DemandCallId,
    pub position_no: i32,
    #[schema(value_type = Option<i64>)]
    pub catalogue_item_id: Option<CatalogueItemId>,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub estimate_price: Option<Price>,
}

pub fn find_call(conn: &mut DbConn, id: DemandCallId) -> AppResult<DemandCall> {
    // Default selection (all columns in table order): a static query id keeps the statement
    // cached instead of building the SQL on every call.
    Ok(demand_calls::table.find(id).first(conn)?)
}

pub fn positions(conn: &mut DbConn, call_id: DemandCallId) -> AppResult<Vec<Position>> {
    Ok(demand_positions::table
        .filter(demand_positions::call_id.eq(call_id))
        .order(demand_positions::position_no.asc())
        .select(Position::as_select())
        .load(conn)?)
}

pub fn invited_members(conn: &mut DbConn, call: &DemandCall) -> AppResult<Vec<(OrgId, String)>> {
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

/// The calls `user` may see that are not closed yet (the start page's), as `list_calls` orders
/// them, each with whether the user's member has answered it (always `false` for the
/// cooperative's roles). One query: the member's answers are joined, not read separately.
pub fn list_unclosed_calls(conn: &mut DbConn, user: &CurrentUser) -> AppResult<Vec<(DemandCall, bool)>> {
    // Spelled as the two states an index on (status, deadline) can find: `<> closed` made
    // SQLite read every call ever run.
    let all = demand_calls::table
        .filter(
            demand_calls::status
                .eq(CallStatus::Draft)
                .or(demand_calls::status.eq(CallStatus::Open)),
        )
        .order(demand_calls::deadline.desc());
    match user.reach() {
        Reach::Everything => Ok(all.load(conn)?.into_iter().map(|c| (c, false)).collect()),
        Reach::Member(member) => Ok(crate::on_backend!(conn, |c| all
            .inner_join(
                demand_invitations::table.on(demand_invitations::call_id
                    .eq(demand_calls::id)
                    .and(demand_invitations::member_id.eq(member))),
            )
            .left_join(
                demand_responses::table.on(demand_responses::call_id
                    .eq(demand_calls::id)
                    .and(demand_responses::member_id.eq(member))),
            )
            .filter(demand_calls::status.ne(CallStatus::Draft))
            .select((
                DemandCall::as_select(),
                demand_responses::answered_at.nullable().is_not_null()
            ))
            .load(c))?),
        Reach::Vendor(_) => Err(AppError::forbidden()),
    }
}

/// The calls a member has answered (saved its demand for, possibly none).
pub fn answered_calls(conn: &mut DbConn, member_id: OrgId) -> AppResult<Vec<DemandCallId>> {
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

fn is_invited(conn: &mut DbConn, call_id: DemandCallId, member_id: OrgId) -> AppResult<bool> {
    let n: i64 = demand_invitations::table
        .filter(demand_invitations::call_id.eq(call_id))
        .filter(demand_invitations::member_id.eq(member_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

fn stream(call_id: DemandCallId) -> String {
    format!("demand_call:{call_id}")
}

fn require_officer(user: &CurrentUser) -> AppResult<()> {
    user.require(&[Role::Officer])
}
