//! A framework contract as its readers see it: the cooperative, the vendor and the buyers of
//! entitled members.

use crate::auth::CurrentUser;
use crate::db::schema::{contract_members, contracts};
use crate::db::DbConn;
use crate::domain::ids::{AwardId, ContractId, LotId, OrgId, TenderId};
use crate::domain::money::{Amount, Quantity};
use crate::domain::policy::Reach;
use crate::error::{AppError, AppResult};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = contracts)]
pub struct ContractRow {
    #[schema(value_type = i64)]
    pub id: ContractId,
    pub number: String,
    #[schema(value_type = i64)]
    pub tender_id: TenderId,
    #[schema(value_type = i64)]
    pub lot_id: LotId,
    #[schema(value_type = i64)]
    pub award_id: AwardId,
    #[schema(value_type = i64)]
    pub vendor_id: OrgId,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub max_value: Amount,
    #[serde(skip)]
    pub document: String,
    pub document_sha256: String,
    pub created_at: NaiveDateTime,
    pub called_value: Amount,
    pub alert_utilisation_at: Option<NaiveDateTime>,
    pub alert_expiry_at: Option<NaiveDateTime>,
}

/// A contract for those who may see it: the cooperative, the vendor, entitled members' buyers.
pub fn contract(conn: &mut DbConn, user: &CurrentUser, id: ContractId) -> AppResult<ContractRow> {
    let c: ContractRow = contracts::table.find(id).select(ContractRow::as_select()).first(conn)?;
    let allowed = match user.reach() {
        Reach::Everything => true,
        reach @ Reach::Vendor(_) => reach.vendor(c.vendor_id),
        Reach::Member(member) => {
            contract_members::table
                .filter(contract_members::contract_id.eq(id))
                .filter(contract_members::member_id.eq(member))
                .count()
                .get_result::<i64>(conn)?
                > 0
        }
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    Ok(c)
}

/// Quantity as shown in notices.
pub fn quantity_text(q: Quantity) -> String {
    crate::german::quantity_de(q.to_decimal())
}
