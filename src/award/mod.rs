//! Evaluation and award (lifecycle steps 5 and 6): price comparison, exclusions, quality scores,
//! the published method's ranking, § 60 reviews, tie decisions, the award with § 134 information
//! and standstill, conclusion into a framework contract, cancellation and the Vergabevermerk.

pub mod api;
mod award_lot;
mod cancel;
mod conclude;
mod contract;
mod evaluate;
mod exclude;
mod low_price;
mod price_sheet;
mod record;
mod reopen;
pub mod routes;
mod score;
pub mod standstill;
mod tie;

pub use award_lot::award;
pub use cancel::cancel;
pub use conclude::conclude;
pub use contract::{contract, quantity_text, ContractRow};
pub use evaluate::{awards_of, evaluate_lot, evaluation};
use evaluate::{estimate_total, lot_award, lot_bids};
pub use exclude::exclude;
pub use low_price::{decide_low, request_explanation};
pub use price_sheet::{price_sheet, price_sheet_csv, PriceSheet, SheetBidder, SheetRow};
pub use record::procurement_record;
pub use reopen::reopen;
pub use score::score;
pub use tie::decide_tie;

use crate::auth::CurrentUser;
use crate::db::schema::{awards, bid_lots, bids, organisations, tender_lots};
use crate::db::DbConn;
use crate::domain::bid::{AwardStatus, ExclusionKind, LowBidDecision};
use crate::domain::ids::{AwardId, BidId, ContractId, LotId, OrgId, TenderId, UserId};
use crate::domain::money::Amount;
use crate::domain::roles::Role;
use crate::domain::scoring::{LowFlag, Scored};
use crate::error::{AppError, AppResult};
use crate::tender::{self, Lot, Tender};
use crate::AppState;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

pub const EXCLUSION_KIND_MISSING: &str = "Bitte wählen Sie den Ausschlussgrund.";
use crate::domain::bid::BidStatus;

/// One bid on one lot, as the evaluation sees it.
#[derive(Debug, Clone, Serialize)]
pub struct LotBid {
    pub bid_id: BidId,
    pub vendor_id: OrgId,
    pub vendor: String,
    pub submitted_at: NaiveDateTime,
    pub total: Amount,
    pub a_confirmed: Vec<bool>,
    pub excluded_kind: Option<ExclusionKind>,
    pub excluded_label: Option<&'static str>,
    pub excluded_reason: Option<String>,
    /// Score (0..10) and reason per B-criterion, `None` where not yet scored.
    pub scores: Vec<Option<(Decimal, String)>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LowReview {
    #[schema(value_type = i64)]
    pub bid_id: BidId,
    pub requested_at: NaiveDateTime,
    pub decision: Option<LowBidDecision>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = awards)]
pub struct Award {
    #[schema(value_type = i64)]
    pub id: AwardId,
    #[schema(value_type = i64)]
    pub tender_id: TenderId,
    #[schema(value_type = i64)]
    pub lot_id: LotId,
    #[schema(value_type = i64)]
    pub bid_id: BidId,
    #[schema(value_type = i64)]
    pub vendor_id: OrgId,
    pub reason: String,
    pub status: AwardStatus,
    #[schema(value_type = i64)]
    pub decided_by: UserId,
    pub informed_at: NaiveDateTime,
    pub standstill_last_day: NaiveDate,
    #[schema(value_type = Option<i64>)]
    pub concluded_by: Option<UserId>,
    pub concluded_at: Option<NaiveDateTime>,
}

/// Everything decided and computed for one lot.
#[derive(Debug, Clone, Serialize)]
pub struct LotEvaluation {
    pub lot: Lot,
    /// Σ estimate quantity × estimate price, where every position has an estimate.
    pub estimate_total: Option<Decimal>,
    pub bids: Vec<LotBid>,
    pub ranking: Vec<Scored>,
    pub low_flags: Vec<LowFlag>,
    pub reviews: Vec<LowReview>,
    pub award: Option<Award>,
    /// Why the lot cannot be awarded yet (empty when it can).
    pub blockers: Vec<String>,
    /// The bid the officer may award: the single best-ranked, or the drawn one of a tie.
    pub proposed_bid_id: Option<BidId>,
    /// The framework contract, once concluded.
    pub contract_id: Option<ContractId>,
}

fn require_readable(conn: &mut DbConn, user: &CurrentUser, tender_id: TenderId) -> AppResult<Tender> {
    // The sealed gate of the bids decides: nothing is evaluated before opening.
    let (t, _) = tender::bids::opened_meta(conn, user, tender_id)?;
    Ok(t)
}

fn require_open_for_decisions(t: &Tender) -> AppResult<()> {
    if t.cancelled_at.is_some() {
        return Err(AppError::Conflict("Die Ausschreibung ist aufgehoben.".into()));
    }
    if !t.is_opened() {
        return Err(AppError::Conflict("Die Angebote sind noch nicht geöffnet.".into()));
    }
    Ok(())
}

fn find_lot(conn: &mut DbConn, tender_id: TenderId, lot_id: LotId) -> AppResult<Lot> {
    Ok(tender_lots::table
        .find(lot_id)
        .filter(tender_lots::tender_id.eq(tender_id))
        .first(conn)?)
}

/// A bid on one lot of a tender: what most decisions are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct BidOnLot {
    pub tender_id: TenderId,
    pub lot_id: LotId,
    pub bid_id: BidId,
}

fn stream(tender_id: TenderId) -> String {
    tender::stream(tender_id)
}

fn bid_on_lot(conn: &mut DbConn, tender_id: TenderId, lot_id: LotId, bid_id: BidId) -> AppResult<(OrgId, String)> {
    let row: Option<(OrgId, String)> = bid_lots::table
        .inner_join(bids::table.inner_join(organisations::table))
        .filter(bid_lots::lot_id.eq(lot_id))
        .filter(bid_lots::bid_id.eq(bid_id))
        .filter(bids::tender_id.eq(tender_id))
        .filter(bids::status.eq(BidStatus::Submitted))
        .select((bids::vendor_id, organisations::name))
        .first(conn)
        .optional()?;
    row.ok_or(AppError::NotFound)
}

fn require_undecided(conn: &mut DbConn, lot_id: LotId) -> AppResult<()> {
    if lot_award(conn, lot_id)?.is_some() {
        return Err(AppError::Conflict(
            "Für dieses Los ist der Zuschlag bereits erteilt; die Wertung ist abgeschlossen.".into(),
        ));
    }
    Ok(())
}

fn clean_reason(reason: &str, field: &str) -> AppResult<String> {
    let r = reason.trim();
    if !(3..=4000).contains(&r.chars().count()) {
        return Err(AppError::field(
            field,
            "Bitte begründen Sie die Entscheidung (3 bis 4000 Zeichen).",
        ));
    }
    Ok(r.to_string())
}

fn vendor_users(conn: &mut DbConn, vendor_id: OrgId) -> AppResult<Vec<(String, String)>> {
    Ok(crate::db::schema::users::table
        .filter(crate::db::schema::users::organisation_id.eq(vendor_id))
        .filter(crate::db::schema::users::active.eq(true))
        .filter(crate::db::schema::users::role.eq(Role::Vendor))
        .select((crate::db::schema::users::email, crate::db::schema::users::name))
        .load(conn)?)
}

/// Today in the cooperative's local time.
fn local_today(state: &AppState) -> NaiveDate {
    state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}
