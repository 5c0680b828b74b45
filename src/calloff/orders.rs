//! A call-off's life after placing: lists for buyer, vendor and cooperative, confirm, reject,
//! deliver, cancel (which releases its volume), and its lines for the API.

use super::vendor_users;
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{
    calloff_lines, calloffs, contract_members, contract_positions, contracts, tender_positions, users,
};
use crate::db::{write_tx, DbConn};
use crate::domain::calloff::CalloffStatus;
use crate::domain::ids::{CalloffId, ContractId, OrgId, TenderPositionId, UserId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::policy::Reach;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::{mail, AppState};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = calloffs)]
pub struct Calloff {
    #[schema(value_type = i64)]
    pub id: CalloffId,
    pub number: String,
    #[schema(value_type = i64)]
    pub contract_id: ContractId,
    #[schema(value_type = i64)]
    pub member_id: OrgId,
    #[schema(value_type = i64)]
    pub ordered_by: UserId,
    pub status: CalloffStatus,
    pub delivery_address: String,
    pub cost_centre: String,
    pub leitweg_id: Option<String>,
    pub note: String,
    pub total: Amount,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub rejected_at: Option<NaiveDateTime>,
    pub reject_reason: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub document: String,
    pub document_sha256: String,
}

impl Calloff {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
}

/// A call-off for those who may see it: the ordering member's buyers, the contract's vendor,
/// the cooperative. Others get "not found".
pub fn find(conn: &mut DbConn, user: &CurrentUser, id: CalloffId) -> AppResult<(Calloff, OrgId)> {
    let c: Calloff = calloffs::table.find(id).select(Calloff::as_select()).first(conn)?;
    let vendor_id: OrgId = contracts::table
        .find(c.contract_id)
        .select(contracts::vendor_id)
        .first(conn)?;
    let allowed = match user.reach() {
        Reach::Everything => true,
        reach @ Reach::Member(_) => reach.member(c.member_id),
        reach @ Reach::Vendor(_) => reach.vendor(vendor_id),
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    Ok((c, vendor_id))
}

/// The call-offs `user` may see, optionally of one contract, as a query to narrow further: the
/// one visibility rule of the lists, the pages and the export.
pub(super) fn visible<'a>(
    user: &CurrentUser,
    contract_id: Option<ContractId>,
) -> calloffs::BoxedQuery<'a, crate::db::MultiBackend> {
    let mut q = calloffs::table.into_boxed();
    if let Some(cid) = contract_id {
        q = q.filter(calloffs::contract_id.eq(cid));
    }
    match user.reach() {
        Reach::Everything => q,
        Reach::Member(member) => q.filter(calloffs::member_id.eq(member)),
        Reach::Vendor(vendor) => q.filter(
            calloffs::contract_id.eq_any(
                contracts::table
                    .filter(contracts::vendor_id.eq(vendor))
                    .select(contracts::id),
            ),
        ),
    }
}

/// Call-offs `user` may see, newest first, optionally of one contract.
pub fn list(conn: &mut DbConn, user: &CurrentUser, contract_id: Option<ContractId>) -> AppResult<Vec<Calloff>> {
    Ok(visible(user, contract_id)
        .order(calloffs::id.desc())
        .select(Calloff::as_select())
        .limit(500)
        .load(conn)?)
}

/// One page of the call-offs `user` may see, newest first, optionally of one contract, without
/// their order documents (a list never shows them); with `count`, also how many there are.
pub fn list_page(
    conn: &mut DbConn,
    user: &CurrentUser,
    contract_id: Option<ContractId>,
    page: crate::db::page::Page,
    count: bool,
) -> AppResult<(Vec<Calloff>, i64)> {
    use diesel::sql_types::Text;
    let rows: Vec<Calloff> = visible(user, contract_id)
        .order(calloffs::id.desc())
        .limit(page.size)
        .offset(page.offset())
        .select((
            calloffs::id,
            calloffs::number,
            calloffs::contract_id,
            calloffs::member_id,
            calloffs::ordered_by,
            calloffs::status,
            calloffs::delivery_address,
            calloffs::cost_centre,
            calloffs::leitweg_id,
            calloffs::note,
            calloffs::total,
            calloffs::created_at,
            calloffs::confirmed_at,
            calloffs::rejected_at,
            calloffs::reject_reason,
            calloffs::delivered_at,
            calloffs::cancelled_at,
            // The document left out as a bound empty text: an SQL literal would make Diesel
            // prepare the statement on every page view (a tenth of the register page).
            "".into_sql::<Text>(),
            calloffs::document_sha256,
        ))
        .load(conn)?;
    let total = if count {
        visible(user, contract_id).count().get_result(conn)?
    } else {
        rows.len() as i64
    };
    Ok((rows, total))
}

/// Gives back a call-off's volume (cancelled before confirmation, or rejected by the vendor).
pub(super) fn release(conn: &mut DbConn, c: &Calloff) -> AppResult<()> {
    let lines: Vec<(TenderPositionId, Quantity)> = calloff_lines::table
        .filter(calloff_lines::calloff_id.eq(c.id))
        .select((calloff_lines::position_id, calloff_lines::quantity))
        .load(conn)?;
    for (position_id, q) in lines {
        diesel::update(
            contract_positions::table
                .filter(contract_positions::contract_id.eq(c.contract_id))
                .filter(contract_positions::position_id.eq(position_id)),
        )
        .set(contract_positions::called_quantity.eq(contract_positions::called_quantity - q.minor()))
        .execute(conn)?;
    }
    diesel::update(calloff_lines::table.filter(calloff_lines::calloff_id.eq(c.id)))
        .set(calloff_lines::holds_volume.eq(false))
        .execute(conn)?;
    diesel::update(contracts::table.find(c.contract_id))
        .set(contracts::called_value.eq(contracts::called_value - c.total.minor()))
        .execute(conn)?;
    diesel::update(
        contract_members::table
            .filter(contract_members::contract_id.eq(c.contract_id))
            .filter(contract_members::member_id.eq(c.member_id)),
    )
    .set(contract_members::called_value.eq(contract_members::called_value - c.total.minor()))
    .execute(conn)?;
    Ok(())
}

/// The next step of a call-off's life, by whom it may be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Vendor of the contract, while placed.
    Confirm,
    /// Vendor of the contract, while placed; frees the volume.
    Reject,
    /// Ordering member's buyer, once confirmed.
    Deliver,
    /// Ordering member's buyer, before confirmation; frees the volume.
    Cancel,
}

pub fn advance(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: CalloffId,
    step: Step,
    reason: &str,
) -> AppResult<Calloff> {
    write_tx(conn, |c| {
        let (calloff, vendor_id) = find(c, user, id)?;
        let (role_ok, from) = match step {
            Step::Confirm | Step::Reject => (user.role == Role::Vendor && vendor_id == user.organisation_id, "placed"),
            Step::Deliver => (
                user.role == Role::Buyer && calloff.member_id == user.organisation_id,
                "confirmed",
            ),
            Step::Cancel => (
                user.role == Role::Buyer && calloff.member_id == user.organisation_id,
                "placed",
            ),
        };
        if !role_ok {
            return Err(AppError::forbidden());
        }
        let now = state.clock.now_naive();
        // Guarded on the status: two clicks, two instances — one step happens once.
        let target = calloffs::table
            .filter(calloffs::id.eq(id))
            .filter(calloffs::status.eq(from));
        let n = match step {
            Step::Confirm => diesel::update(target)
                .set((
                    calloffs::status.eq(CalloffStatus::Confirmed),
                    calloffs::confirmed_at.eq(Some(now)),
                ))
                .execute(c)?,
            Step::Reject => {
                let reason = reason.trim();
                if reason.chars().count() < 3 {
                    return Err(AppError::field("reason", "Bitte begründen Sie die Ablehnung."));
                }
                diesel::update(target)
                    .set((
                        calloffs::status.eq(CalloffStatus::Rejected),
                        calloffs::rejected_at.eq(Some(now)),
                        calloffs::reject_reason.eq(Some(reason)),
                    ))
                    .execute(c)?
            }
            Step::Deliver => diesel::update(target)
                .set((
                    calloffs::status.eq(CalloffStatus::Delivered),
                    calloffs::delivered_at.eq(Some(now)),
                ))
                .execute(c)?,
            Step::Cancel => diesel::update(target)
                .set((
                    calloffs::status.eq(CalloffStatus::Cancelled),
                    calloffs::cancelled_at.eq(Some(now)),
                ))
                .execute(c)?,
        };
        if n != 1 {
            return Err(AppError::Conflict(format!(
                "Der Abruf {} ist {}; dieser Schritt ist nicht (mehr) möglich.",
                calloff.number,
                calloff.status_label()
            )));
        }
        if matches!(step, Step::Reject | Step::Cancel) {
            release(c, &calloff)?;
        }
        let action = match step {
            Step::Confirm => "calloff.confirmed",
            Step::Reject => "calloff.rejected",
            Step::Deliver => "calloff.delivered",
            Step::Cancel => "calloff.cancelled",
        };
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                action,
                "calloff",
                id,
                json!({ "number": calloff.number, "reason": reason.trim() }),
            ),
        )?;
        // The other side hears of it.
        let to: Vec<(String, String)> = match step {
            Step::Confirm | Step::Reject => users::table
                .filter(users::organisation_id.eq(calloff.member_id))
                .filter(users::role.eq(Role::Buyer))
                .filter(users::active.eq(true))
                .select((users::email, users::name))
                .load(c)?,
            Step::Deliver | Step::Cancel => vendor_users(c, vendor_id)?,
        };
        let updated: Calloff = calloffs::table.find(id).select(Calloff::as_select()).first(c)?;
        for (email, name) in to {
            mail::enqueue(
                c,
                state,
                &email,
                "calloff_status",
                &json!({ "name": name, "number": updated.number, "status": updated.status_label(), "reason": reason.trim(),
                         "url": format!("{}/abrufe/{}", state.config.base_url, id) }),
            )?;
        }
        Ok(updated)
    })
}

// --- for the API

/// One line of a call-off with the contract position it orders.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CalloffLine {
    #[schema(value_type = i64)]
    pub position_id: TenderPositionId,
    pub position_no: i32,
    pub description: String,
    pub unit: String,
    pub quantity: Quantity,
    pub unit_price: Price,
    pub line_total: Amount,
}

/// The lines of a call-off in position order; the caller has checked that `user` may see it.
pub fn lines(conn: &mut DbConn, calloff_id: CalloffId) -> AppResult<Vec<CalloffLine>> {
    let rows: Vec<(TenderPositionId, i32, String, String, Quantity, Price, Amount)> = calloff_lines::table
        .inner_join(tender_positions::table)
        .filter(calloff_lines::calloff_id.eq(calloff_id))
        .order(tender_positions::position_no.asc())
        .select((
            calloff_lines::position_id,
            tender_positions::position_no,
            tender_positions::description,
            tender_positions::unit,
            calloff_lines::quantity,
            calloff_lines::unit_price,
            calloff_lines::line_total,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(position_id, position_no, description, unit, quantity, unit_price, line_total)| CalloffLine {
                position_id,
                position_no,
                description,
                unit,
                quantity,
                unit_price,
                line_total,
            },
        )
        .collect())
}

/// Call-offs `user` may see (the same rule as `list`), newest first, at most 500: optionally of
/// one contract, and created at or after `from` and before `until` (UTC).
pub fn list_created(
    conn: &mut DbConn,
    user: &CurrentUser,
    contract_id: Option<ContractId>,
    from: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
) -> AppResult<Vec<Calloff>> {
    let mut q = calloffs::table
        .order(calloffs::id.desc())
        .select(Calloff::as_select())
        .into_boxed();
    if let Some(cid) = contract_id {
        q = q.filter(calloffs::contract_id.eq(cid));
    }
    if let Some(from) = from {
        q = q.filter(calloffs::created_at.ge(from));
    }
    if let Some(until) = until {
        q = q.filter(calloffs::created_at.lt(until));
    }
    match user.reach() {
        Reach::Everything => {}
        Reach::Member(member) => q = q.filter(calloffs::member_id.eq(member)),
        Reach::Vendor(vendor) => {
            let mine = contracts::table
                .filter(contracts::vendor_id.eq(vendor))
                .select(contracts::id);
            q = q.filter(calloffs::contract_id.eq_any(mine));
        }
    }
    Ok(q.limit(500).load(conn)?)
}
