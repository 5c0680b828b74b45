//! The contract register: every framework contract a user may see, with what is left of its
//! maximum value and of each position, paginated for long lists.

use crate::auth::CurrentUser;
use crate::award::ContractRow;
use crate::db::schema::{contract_members, contract_positions, contracts, organisations, tender_positions};
use crate::db::DbConn;
use crate::domain::calloff::{self as rules, PositionLimit};
use crate::domain::ids::{ContractId, TenderPositionId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::policy::Reach;
use crate::error::AppResult;
use crate::AppState;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

/// A contract position with what is left of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegisterPosition {
    #[schema(value_type = i64)]
    pub position_id: TenderPositionId,
    pub position_no: i32,
    pub description: String,
    pub unit: String,
    pub unit_price: Price,
    pub max_quantity: Quantity,
    pub called_quantity: Quantity,
    pub remaining: Quantity,
}

/// A contract as the register shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegisterEntry {
    #[serde(flatten)]
    pub contract: ContractRow,
    pub vendor: String,
    pub lot_title: String,
    pub remaining_value: Amount,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub utilisation_percent: rust_decimal::Decimal,
    pub active: bool,
    pub exhausted: bool,
}

pub(super) fn today(state: &AppState) -> NaiveDate {
    state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}

fn entry(conn: &mut DbConn, state: &AppState, c: ContractRow) -> AppResult<RegisterEntry> {
    let vendor: String = organisations::table
        .find(c.vendor_id)
        .select(organisations::name)
        .first(conn)?;
    let lot_title: String = crate::db::schema::tender_lots::table
        .find(c.lot_id)
        .select(crate::db::schema::tender_lots::title)
        .first(conn)?;
    Ok(entry_of(today(state), c, vendor, lot_title))
}

fn entry_of(today: NaiveDate, c: ContractRow, vendor: String, lot_title: String) -> RegisterEntry {
    let remaining_value = Amount::from_minor(c.max_value.minor() - c.called_value.minor()).unwrap_or(Amount::ZERO);
    RegisterEntry {
        utilisation_percent: rules::utilisation_percent(c.called_value, c.max_value),
        active: rules::is_active(today, c.term_start, c.term_end),
        exhausted: remaining_value.minor() == 0,
        remaining_value,
        vendor,
        lot_title,
        contract: c,
    }
}

/// The contracts `user` may see: all for the cooperative, its own for a vendor, the entitled
/// ones for a buyer's member.
pub fn register(conn: &mut DbConn, state: &AppState, user: &CurrentUser) -> AppResult<Vec<RegisterEntry>> {
    Ok(register_page(conn, state, user, None)?.0)
}

/// One page of the register (all of it without `page`) and how many contracts it has: one
/// query with vendor and lot joined in, the contract document left out (the register never
/// shows it, and a contract's text is long).
pub fn register_page(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    page: Option<crate::db::page::Page>,
) -> AppResult<(Vec<RegisterEntry>, i64)> {
    use crate::db::schema::tender_lots;
    use diesel::sql_types::Text;
    let visible = || {
        let q = contracts::table.into_boxed();
        match user.reach() {
            Reach::Everything => q,
            Reach::Vendor(vendor) => q.filter(contracts::vendor_id.eq(vendor)),
            Reach::Member(member) => q.filter(
                contracts::id.eq_any(
                    contract_members::table
                        .filter(contract_members::member_id.eq(member))
                        .select(contract_members::contract_id),
                ),
            ),
        }
    };
    let total: i64 = visible().count().get_result(conn)?;
    let mut q = visible()
        .inner_join(organisations::table)
        .inner_join(tender_lots::table)
        .order(contracts::id.desc())
        .select((
            (
                contracts::id,
                contracts::number,
                contracts::tender_id,
                contracts::lot_id,
                contracts::award_id,
                contracts::vendor_id,
                contracts::term_start,
                contracts::term_end,
                contracts::max_value,
                // The document left out as a bound empty text: an SQL literal would make Diesel
                // prepare the statement on every page view (a tenth of the register page).
                "".into_sql::<Text>(),
                contracts::document_sha256,
                contracts::created_at,
                contracts::called_value,
                contracts::alert_utilisation_at,
                contracts::alert_expiry_at,
            ),
            organisations::name,
            tender_lots::title,
        ));
    if let Some(p) = page {
        q = q.limit(p.size).offset(p.offset());
    }
    let rows: Vec<(ContractRow, String, String)> = q.load(conn)?;
    let today = today(state);
    Ok((
        rows.into_iter()
            .map(|(c, vendor, lot)| entry_of(today, c, vendor, lot))
            .collect(),
        total,
    ))
}

/// One contract with its positions and what is left, for those who may see it.
pub fn detail(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: ContractId,
) -> AppResult<(RegisterEntry, Vec<RegisterPosition>)> {
    let c = crate::award::contract(conn, user, id)?;
    let positions = positions(conn, id)?;
    Ok((entry(conn, state, c)?, positions))
}

pub fn positions(conn: &mut DbConn, contract_id: ContractId) -> AppResult<Vec<RegisterPosition>> {
    let rows: Vec<(TenderPositionId, i32, String, String, Price, Quantity, Quantity)> = contract_positions::table
        .inner_join(tender_positions::table)
        .filter(contract_positions::contract_id.eq(contract_id))
        .order(tender_positions::position_no.asc())
        .select((
            contract_positions::position_id,
            tender_positions::position_no,
            tender_positions::description,
            tender_positions::unit,
            contract_positions::unit_price,
            contract_positions::max_quantity,
            contract_positions::called_quantity,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(position_id, position_no, description, unit, unit_price, max, called)| {
                let limit = PositionLimit {
                    position_id,
                    position_no,
                    unit_price,
                    max_quantity: max,
                    called_quantity: called,
                };
                RegisterPosition {
                    remaining: limit.remaining(),
                    position_id,
                    position_no,
                    description,
                    unit,
                    unit_price,
                    max_quantity: max,
                    called_quantity: called,
                }
            },
        )
        .collect())
}
