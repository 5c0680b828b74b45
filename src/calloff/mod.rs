//! Call-offs against framework contracts (lifecycle steps 7 and 8): the contract register with
//! remaining volume, orders that never exceed a maximum even under concurrency, the order life
//! (confirm, reject, deliver, cancel), member quotas and the 80 % / 90-day alerts.

mod alerts;
pub mod api;
pub mod extra;
mod orders;
mod place;
mod register;
pub mod routes;
mod terms;

pub use alerts::expiry_alerts;
use alerts::utilisation_alert;
pub use orders::{advance, find, lines, list, list_created, list_page, Calloff, CalloffLine, Step};
pub use place::{check_fields, next_calloff_id, place, totals, CalloffCommand, Placed};
use register::today;
pub use register::{detail, positions, register, register_page, RegisterEntry, RegisterPosition};
pub use terms::{ContractTerms, TermsCache, TermsPosition};

use crate::db::schema::users;
use crate::db::DbConn;
use crate::domain::ids::OrgId;
use crate::domain::roles::Role;
use crate::error::AppResult;
use diesel::prelude::*;

fn vendor_users(conn: &mut DbConn, vendor_id: OrgId) -> AppResult<Vec<(String, String)>> {
    Ok(users::table
        .filter(users::organisation_id.eq(vendor_id))
        .filter(users::active.eq(true))
        .filter(users::role.eq(Role::Vendor))
        .select((users::email, users::name))
        .load(conn)?)
}
