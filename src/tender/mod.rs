//! Tenders (lifecycle steps 2 and 4): built from a closed demand call with lots, maximum
//! quantities, procedure, deadline, term and evaluation; published with documents and answered
//! questions; opened by two different officers, which renders and stores the opening record.

pub mod api;
pub mod bids;
mod documents;
mod draft;
mod extend;
pub mod form;
mod opening;
mod plan;
mod publish;
mod questions;
pub mod routes;

pub use documents::{add_document, document, documents, remove_document, MAX_DOCUMENT_BYTES};
pub use draft::{command_of, create, update};
pub use extend::{extend_deadline, extensions, late_answers, Extension, ExtensionCommand};
pub use opening::{confirm_opening, opening_record, start_opening};
pub use plan::{
    PlannedPosition, TenderCommand, TenderData, BUFFER_RULE, DEADLINE_MISSING, PROCEDURE_MISSING, TERM_MISSING,
};
pub use publish::{entitled_members, publish};
use publish::{mail_context, mail_vendors};
pub use questions::{answer, ask, questions};

use crate::auth::CurrentUser;
use crate::db::schema::{tender_documents, tender_lots, tender_positions, tenders};
use crate::db::DbConn;
use crate::demand;
use crate::domain::demand::CallStatus;
use crate::domain::evaluation::EvaluationSpec;
use crate::domain::ids::{
    BidId, DemandCallId, DemandPositionId, DocumentId, LotId, QuestionId, TenderId, TenderPositionId, UserId,
};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::tender::{Procedure, TenderStatus};
use crate::error::{AppError, AppResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

/// Where a tender stands: its status, bid deadline and cancellation, as every list shows it.
#[derive(Debug, Clone, Copy, Queryable, Selectable)]
#[diesel(table_name = tenders)]
pub struct TenderState {
    pub status: TenderStatus,
    pub bid_deadline: NaiveDateTime,
    pub cancelled_at: Option<NaiveDateTime>,
}

impl TenderState {
    /// Bids are accepted while published and before the deadline, by server time.
    pub fn accepts_bids(self, now: NaiveDateTime) -> bool {
        self.status == TenderStatus::Published && now < self.bid_deadline && self.cancelled_at.is_none()
    }

    /// German label of the state as users see it.
    pub fn label(self, now: NaiveDateTime) -> &'static str {
        if self.cancelled_at.is_some() {
            return "aufgehoben";
        }
        match self.status {
            TenderStatus::Draft => "Entwurf",
            TenderStatus::Published if now < self.bid_deadline => "veröffentlicht, Angebotsfrist läuft",
            TenderStatus::Published => "Angebotsfrist abgelaufen, Öffnung ausstehend",
            TenderStatus::Opening => "Öffnung begonnen, Bestätigung ausstehend",
            TenderStatus::Opened => "Angebote geöffnet",
        }
    }
}

/// A tender as the start pages list it: a link, its title and its state (the whole row carries
/// the description, the evaluation and the opening record, 11 % of the officer's start page
/// when serialised for ten lines).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenders)]
pub struct TenderLine {
    pub id: TenderId,
    pub title: String,
    #[diesel(embed)]
    pub state: TenderState,
}

impl TenderLine {
    pub fn view(&self, now: NaiveDateTime) -> serde_json::Value {
        json!({
            "id": self.id, "title": self.title, "status": self.state.status,
            "bid_deadline": self.state.bid_deadline, "state_label": self.state.label(now),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = tenders)]
pub struct Tender {
    #[schema(value_type = i64)]
    pub id: TenderId,
    #[schema(value_type = i64)]
    pub demand_call_id: DemandCallId,
    pub title: String,
    pub description: String,
    pub procedure: Procedure,
    pub buffer_percent: String,
    pub estimated_value: Amount,
    pub threshold: Amount,
    pub bid_deadline: NaiveDateTime,
    pub urgency_reason: Option<String>,
    pub term_months: i32,
    pub term_justification: Option<String>,
    #[schema(value_type = crate::domain::evaluation::EvaluationSpec)]
    pub evaluation: String,
    pub status: TenderStatus,
    #[schema(value_type = i64)]
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    #[schema(value_type = Option<i64>)]
    pub published_by: Option<UserId>,
    pub published_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<i64>)]
    pub opening_started_by: Option<UserId>,
    pub opening_started_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<i64>)]
    pub opened_by: Option<UserId>,
    pub opened_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub opening_record: Option<String>,
    pub opening_record_sha256: Option<String>,
    pub cancelled_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<i64>)]
    pub cancelled_by: Option<UserId>,
    pub cancel_reason: Option<String>,
}

impl Tender {
    pub fn is_published(&self) -> bool {
        self.status != TenderStatus::Draft
    }

    /// The columns its state is read from.
    pub fn state(&self) -> TenderState {
        TenderState {
            status: self.status,
            bid_deadline: self.bid_deadline,
            cancelled_at: self.cancelled_at,
        }
    }

    /// Bids are accepted while published and before the deadline, by server time.
    pub fn accepts_bids(&self, now: NaiveDateTime) -> bool {
        self.state().accepts_bids(now)
    }

    pub fn is_opened(&self) -> bool {
        self.status == TenderStatus::Opened
    }

    pub fn procedure_label(&self) -> &'static str {
        self.procedure.label()
    }

    pub fn state_label(&self, now: NaiveDateTime) -> &'static str {
        self.state().label(now)
    }

    pub fn spec(&self) -> AppResult<EvaluationSpec> {
        serde_json::from_str(&self.evaluation)
            .map_err(|e| AppError::Internal(format!("evaluation of tender {}: {e}", self.id)))
    }

    /// What every page and the API show of a tender (no bid content, ever).
    pub fn view(&self, now: NaiveDateTime) -> serde_json::Value {
        let mut v = json!(self);
        v["state_label"] = json!(self.state_label(now));
        v["procedure_label"] = json!(self.procedure_label());
        v["accepts_bids"] = json!(self.accepts_bids(now));
        v["deadline_passed"] = json!(now >= self.bid_deadline);
        v["evaluation"] = serde_json::from_str(&self.evaluation).unwrap_or(serde_json::Value::Null);
        v
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = tender_lots)]
pub struct Lot {
    #[schema(value_type = i64)]
    pub id: LotId,
    #[schema(value_type = i64)]
    pub tender_id: TenderId,
    pub lot_no: i32,
    pub title: String,
    pub cancelled_at: Option<NaiveDateTime>,
    #[schema(value_type = Option<i64>)]
    pub cancelled_by: Option<UserId>,
    pub cancel_reason: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub tie_winner_bid_id: Option<BidId>,
    pub tie_note: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub tie_decided_by: Option<UserId>,
    pub tie_decided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = tender_positions)]
pub struct TenderPosition {
    #[schema(value_type = i64)]
    pub id: TenderPositionId,
    #[schema(value_type = i64)]
    pub tender_id: TenderId,
    #[schema(value_type = i64)]
    pub lot_id: LotId,
    pub position_no: i32,
    #[schema(value_type = Option<i64>)]
    pub demand_position_id: Option<DemandPositionId>,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub estimate_quantity: Quantity,
    pub max_quantity: Quantity,
    pub estimate_price: Option<Price>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = tender_documents)]
pub struct DocumentMeta {
    #[schema(value_type = i64)]
    pub id: DocumentId,
    #[schema(value_type = i64)]
    pub tender_id: TenderId,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_at: NaiveDateTime,
}

/// A question as every reader sees it: never who asked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicQuestion {
    #[schema(value_type = i64)]
    pub id: QuestionId,
    pub question: String,
    pub asked_at: NaiveDateTime,
    pub answer: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    /// Only in the asking vendor's own view.
    pub mine: bool,
    /// Number in the order of asking, the same for every reader.
    pub number: usize,
}

pub fn stream(id: TenderId) -> String {
    format!("tender:{id}")
}

pub fn find(conn: &mut DbConn, id: TenderId) -> AppResult<Tender> {
    Ok(tenders::table.find(id).first(conn)?)
}

/// The tender inside a write transaction, locked against concurrent changes of the same tender
/// (PostgreSQL advisory lock on its stream; SQLite's immediate transaction already is exclusive).
pub fn find_locked(conn: &mut DbConn, id: TenderId) -> AppResult<Tender> {
    crate::db::lock_key(conn, &stream(id))?;
    find(conn, id)
}

pub fn lots(conn: &mut DbConn, tender_id: TenderId) -> AppResult<Vec<Lot>> {
    Ok(tender_lots::table
        .filter(tender_lots::tender_id.eq(tender_id))
        .order(tender_lots::lot_no.asc())
        .load(conn)?)
}

pub fn positions(conn: &mut DbConn, tender_id: TenderId) -> AppResult<Vec<TenderPosition>> {
    Ok(tender_positions::table
        .filter(tender_positions::tender_id.eq(tender_id))
        .order(tender_positions::position_no.asc())
        .load(conn)?)
}

/// The audit streams of bids still sealed: audit pages leave them out until the opening, so
/// that not even the timing of submissions shows who bid.
pub fn sealed_streams(conn: &mut DbConn) -> AppResult<Vec<String>> {
    Ok(tenders::table
        .filter(tenders::status.ne(TenderStatus::Opened))
        .select(tenders::id)
        .load::<TenderId>(conn)?
        .into_iter()
        .map(|id| format!("bids:{id}"))
        .collect())
}

/// Who may see a tender: the cooperative always; everyone else once it is published.
pub fn check_read(user: &CurrentUser, tender: &Tender) -> AppResult<()> {
    if user.is_cooperative() || tender.is_published() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

pub fn find_readable(conn: &mut DbConn, user: &CurrentUser, id: TenderId) -> AppResult<Tender> {
    let t = find(conn, id)?;
    check_read(user, &t)?;
    Ok(t)
}

pub fn list(conn: &mut DbConn, user: &CurrentUser) -> AppResult<Vec<Tender>> {
    let all = tenders::table.order(tenders::bid_deadline.desc());
    if user.is_cooperative() {
        Ok(all.load(conn)?)
    } else {
        Ok(all.filter(tenders::status.ne(TenderStatus::Draft)).load(conn)?)
    }
}

/// The start page's tenders: not cancelled, latest deadline first, at most `limit`; for a
/// vendor only those accepting bids at `now`, for a buyer none in draft. Filtered in SQL, so the
/// page reads ten rows however many tenders there are.
pub fn list_active(
    conn: &mut DbConn,
    user: &CurrentUser,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<TenderLine>> {
    // Built inside: a selection is typed for one backend.
    Ok(crate::on_backend!(conn, |c| {
        let q = tenders::table
            .filter(tenders::cancelled_at.is_null())
            .order(tenders::bid_deadline.desc())
            .limit(limit)
            .select(TenderLine::as_select());
        if user.is_cooperative() {
            q.load(c)
        } else if user.role == crate::domain::roles::Role::Vendor {
            q.filter(tenders::status.eq(TenderStatus::Published))
                .filter(tenders::bid_deadline.gt(now))
                .load(c)
        } else {
            q.filter(tenders::status.ne(TenderStatus::Draft)).load(c)
        }
    })?)
}

/// The state labels of opened tenders among `tenders` whose lots are decided or concluded
/// (`domain::tender::award_stage_label`), by tender: "Angebote geöffnet" is no longer what they
/// are. Two small queries, and none when no tender is opened.
pub fn award_labels(
    conn: &mut DbConn,
    tenders: &[(TenderId, TenderStatus, Option<NaiveDateTime>)],
) -> AppResult<std::collections::HashMap<TenderId, &'static str>> {
    use crate::db::schema::awards;
    use crate::domain::bid::AwardStatus;
    let opened: Vec<TenderId> = tenders
        .iter()
        .filter(|(_, status, cancelled)| *status == TenderStatus::Opened && cancelled.is_none())
        .map(|(id, _, _)| *id)
        .collect();
    let mut out = std::collections::HashMap::new();
    if opened.is_empty() {
        return Ok(out);
    }
    let decisions: Vec<(TenderId, AwardStatus)> = awards::table
        .filter(awards::tender_id.eq_any(&opened))
        .select((awards::tender_id, awards::status))
        .load(conn)?;
    let lots: Vec<TenderId> = tender_lots::table
        .filter(tender_lots::tender_id.eq_any(&opened))
        .filter(tender_lots::cancelled_at.is_null())
        .select(tender_lots::tender_id)
        .load(conn)?;
    for id in opened {
        let open_lots = lots.iter().filter(|t| **t == id).count();
        let of = |s: AwardStatus| decisions.iter().filter(|(t, st)| *t == id && *st == s).count();
        if let Some(label) =
            crate::domain::tender::award_stage_label(open_lots, of(AwardStatus::Informed), of(AwardStatus::Concluded))
        {
            out.insert(id, label);
        }
    }
    Ok(out)
}

/// Puts the award stage into `state_label` of tender views (`Tender::view`) that have one.
pub fn label_award_stage(conn: &mut DbConn, views: &mut [serde_json::Value]) -> AppResult<()> {
    let keys: Vec<(TenderId, TenderStatus, Option<NaiveDateTime>)> = views
        .iter()
        .filter_map(|v| {
            Some((
                TenderId(v["id"].as_i64()?),
                TenderStatus::from_code(v["status"].as_str()?)?,
                serde_json::from_value(v["cancelled_at"].clone()).ok()?,
            ))
        })
        .collect();
    let labels = award_labels(conn, &keys)?;
    for v in views.iter_mut() {
        if let Some(label) = v["id"].as_i64().and_then(|id| labels.get(&TenderId(id))) {
            v["state_label"] = json!(label);
        }
    }
    Ok(())
}

/// Published tenders for the public notice pages.
pub fn list_public(conn: &mut DbConn) -> AppResult<Vec<Tender>> {
    Ok(tenders::table
        .filter(tenders::status.ne(TenderStatus::Draft))
        .order(tenders::bid_deadline.desc())
        .load(conn)?)
}

pub fn local_parts(t: NaiveDateTime) -> (String, String) {
    let l = t.and_utc().with_timezone(&chrono_tz::Europe::Berlin);
    (l.format("%Y-%m-%d").to_string(), l.format("%H:%M").to_string())
}

/// Closed demand calls without a tender yet, for the officer's "new tender" choice.
pub fn calls_ready(conn: &mut DbConn) -> AppResult<Vec<demand::DemandCall>> {
    use crate::db::schema::demand_calls;
    let used = tenders::table.select(tenders::demand_call_id);
    Ok(demand_calls::table
        .filter(demand_calls::status.eq(CallStatus::Closed))
        .filter(diesel::dsl::not(demand_calls::id.eq_any(used)))
        .order(demand_calls::closed_at.desc())
        .load(conn)?)
}
