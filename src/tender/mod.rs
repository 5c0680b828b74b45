//! Tenders (lifecycle steps 2 and 4): built from a closed demand call with lots, maximum
//! quantities, procedure, deadline, term and evaluation; published with documents and answered
//! questions; opened by two different officers, which renders and stores the opening record.

pub mod bids;
pub mod form;
pub mod routes;

use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{
    demand_lines, organisations, tender_documents, tender_lots, tender_members, tender_positions, tender_questions,
    tenders, users,
};
use crate::db::{write_tx, DbConn};
use crate::demand;
use crate::domain::demand::CallStatus;
use crate::domain::evaluation::{EvaluationCommand, EvaluationSpec};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::roles::{OrgType, Role, VendorStatus};
use crate::domain::tender::{self as rules, DeadlineCheck, Procedure, TenderStatus};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::{mail, AppState};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = tenders)]
pub struct Tender {
    pub id: i64,
    pub demand_call_id: i64,
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
    pub evaluation: String,
    pub status: TenderStatus,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub published_by: Option<i64>,
    pub published_at: Option<NaiveDateTime>,
    pub opening_started_by: Option<i64>,
    pub opening_started_at: Option<NaiveDateTime>,
    pub opened_by: Option<i64>,
    pub opened_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub opening_record: Option<String>,
    pub opening_record_sha256: Option<String>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancelled_by: Option<i64>,
    pub cancel_reason: Option<String>,
}

impl Tender {
    pub fn is_published(&self) -> bool {
        self.status != TenderStatus::Draft
    }

    /// Bids are accepted while published and before the deadline, by server time.
    pub fn accepts_bids(&self, now: NaiveDateTime) -> bool {
        self.status == TenderStatus::Published && now < self.bid_deadline && self.cancelled_at.is_none()
    }

    pub fn is_opened(&self) -> bool {
        self.status == TenderStatus::Opened
    }

    pub fn procedure_label(&self) -> &'static str {
        self.procedure.label()
    }

    pub fn state_label(&self, now: NaiveDateTime) -> &'static str {
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

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = tender_lots)]
pub struct Lot {
    pub id: i64,
    pub tender_id: i64,
    pub lot_no: i32,
    pub title: String,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancelled_by: Option<i64>,
    pub cancel_reason: Option<String>,
    pub tie_winner_bid_id: Option<i64>,
    pub tie_note: Option<String>,
    pub tie_decided_by: Option<i64>,
    pub tie_decided_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = tender_positions)]
pub struct TenderPosition {
    pub id: i64,
    pub tender_id: i64,
    pub lot_id: i64,
    pub position_no: i32,
    pub demand_position_id: Option<i64>,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub estimate_quantity: Quantity,
    pub max_quantity: Quantity,
    pub estimate_price: Option<Price>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = tender_documents)]
pub struct DocumentMeta {
    pub id: i64,
    pub tender_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_at: NaiveDateTime,
}

/// A question as every reader sees it: never who asked.
#[derive(Debug, Clone, Serialize)]
pub struct PublicQuestion {
    pub id: i64,
    pub question: String,
    pub asked_at: NaiveDateTime,
    pub answer: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    /// Only in the asking vendor's own view.
    pub mine: bool,
    /// Number in the order of asking, the same for every reader.
    pub number: usize,
}

fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_default().push(message.into());
}

/// A tender as an officer asks for it, every value typed and read at the edge (form or API);
/// `None` takes the default or is refused by `validate` where a value is required.
#[derive(Debug, Clone, Default)]
pub struct TenderCommand {
    pub demand_call_id: i64,
    pub title: String,
    pub description: String,
    /// `None` picks what the estimated value requires.
    pub procedure: Option<Procedure>,
    pub buffer_percent: Option<Decimal>,
    /// Server time (UTC) of the end of the bid period.
    pub bid_deadline: Option<NaiveDateTime>,
    pub urgency_reason: String,
    pub term_months: Option<i32>,
    pub term_justification: String,
    pub evaluation: EvaluationCommand,
    /// Lot titles, lot 1 first.
    pub lots: Vec<String>,
    /// Demand position id → lot number (1-based). Positions without demand are left out.
    pub assignment: BTreeMap<i64, i32>,
}

pub const BUFFER_RULE: &str =
    "Der Puffer muss zwischen 0 und 100 % liegen, mit höchstens 2 Nachkommastellen (z. B. 20).";
pub const DEADLINE_MISSING: &str = "Bitte geben Sie die Angebotsfrist als Datum (TT.MM.JJJJ) und Uhrzeit (HH:MM) an.";
pub const TERM_MISSING: &str = "Bitte geben Sie die Laufzeit in ganzen Monaten an.";
pub const PROCEDURE_MISSING: &str = "Bitte wählen Sie ein Verfahren.";

/// A position as it will be tendered.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedPosition {
    pub demand_position_id: i64,
    pub lot_no: i32,
    pub position_no: i32,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub estimate_quantity: Quantity,
    pub max_quantity: Quantity,
    pub estimate_price: Option<Price>,
}

/// A validated tender, ready to store.
#[derive(Debug, Clone)]
pub struct TenderData {
    pub demand_call_id: i64,
    pub title: String,
    pub description: String,
    pub procedure: Procedure,
    pub buffer_percent: Decimal,
    pub estimated_value: Amount,
    pub threshold: Amount,
    pub bid_deadline: NaiveDateTime,
    pub urgency_reason: Option<String>,
    pub term_months: i32,
    pub term_justification: Option<String>,
    pub evaluation: EvaluationSpec,
    pub lots: Vec<String>,
    pub positions: Vec<PlannedPosition>,
    /// Shown to the officer, never blocking.
    pub warnings: Vec<String>,
}

fn optional_text(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

impl TenderCommand {
    /// Defaults for a tender from `call`: its title and term, one lot, 20 % buffer.
    pub fn defaults_for(call: &demand::DemandCall, positions: &[demand::Position]) -> TenderCommand {
        TenderCommand {
            demand_call_id: call.id,
            title: call.title.clone(),
            description: call.description.clone(),
            buffer_percent: Some(Decimal::from(20)),
            term_months: Some(call.term_months),
            evaluation: EvaluationCommand::defaults(),
            lots: vec!["Gesamtleistung".into()],
            assignment: positions.iter().map(|p| (p.id, 1)).collect(),
            ..Default::default()
        }
    }

    /// Checks everything against the closed call's aggregation and the rules in force at `now`;
    /// all problems at once.
    pub fn validate(&self, conn: &mut DbConn, now: NaiveDateTime) -> AppResult<TenderData> {
        let mut errors = FieldErrors::new();
        let call = demand::find_call(conn, self.demand_call_id)
            .map_err(|_| AppError::field("demand_call_id", "Bitte wählen Sie eine abgeschlossene Bedarfsabfrage."))?;
        if call.status != CallStatus::Closed {
            push(
                &mut errors,
                "demand_call_id",
                "Eine Ausschreibung entsteht erst aus einer abgeschlossenen Bedarfsabfrage.",
            );
        }
        let title = self.title.trim().to_string();
        if !(3..=200).contains(&title.chars().count()) {
            push(
                &mut errors,
                "title",
                "Bitte geben Sie einen Titel an (3 bis 200 Zeichen).",
            );
        }
        let buffer_percent = match self.buffer_percent {
            None => Decimal::from(20),
            Some(d) if !d.is_sign_negative() && d <= Decimal::from(100) && d.normalize().scale() <= 2 => d.normalize(),
            Some(_) => {
                push(&mut errors, "buffer_percent", BUFFER_RULE);
                Decimal::from(20)
            }
        };
        let term_justification = optional_text(&self.term_justification);
        let term_months = match self.term_months {
            Some(m) if m > rules::MAX_TERM_MONTHS => {
                push(
                    &mut errors,
                    "term_months",
                    format!(
                        "Die Laufzeit kann höchstens {} Monate betragen.",
                        rules::MAX_TERM_MONTHS
                    ),
                );
                m
            }
            Some(m) => {
                if let Err(e) = rules::check_term(m, term_justification.as_deref()) {
                    push(&mut errors, "term_months", e);
                }
                m
            }
            None => {
                push(&mut errors, "term_months", TERM_MISSING);
                0
            }
        };
        let evaluation = match self.evaluation.validate() {
            Ok(spec) => Some(spec),
            Err(e) => {
                for (k, v) in e {
                    errors.entry(format!("evaluation.{k}")).or_default().extend(v);
                }
                None
            }
        };

        // Lots: titles present, every used position assigned to an existing lot, no lot empty.
        let lots: Vec<String> = self.lots.iter().map(|l| l.trim().to_string()).collect();
        if lots.is_empty() {
            push(&mut errors, "lots", "Bitte legen Sie mindestens ein Los an.");
        }
        for (i, l) in lots.iter().enumerate() {
            if l.is_empty() || l.chars().count() > 200 {
                push(
                    &mut errors,
                    "lots",
                    format!("Los {}: Bitte geben Sie eine Bezeichnung an (bis 200 Zeichen).", i + 1),
                );
            }
        }
        let today = now.date();
        let agg = demand::aggregate(conn, &call, today)?;
        let mut planned = Vec::new();
        let mut warnings = Vec::new();
        let mut without_demand = Vec::new();
        let mut value = Decimal::ZERO;
        let mut unpriced = Vec::new();
        for (p, a) in &agg.positions {
            if a.total_quantity.is_zero() {
                without_demand.push(p.position_no);
                continue;
            }
            let lot_no = match self.assignment.get(&p.id) {
                Some(n) if *n >= 1 && (*n as usize) <= lots.len() => *n,
                _ => {
                    push(
                        &mut errors,
                        "assignment",
                        format!("Pos. {} ist keinem bestehenden Los zugeordnet.", p.position_no),
                    );
                    continue;
                }
            };
            let estimate = match Quantity::from_decimal(a.total_quantity) {
                Ok(q) => q,
                Err(e) => {
                    push(
                        &mut errors,
                        "assignment",
                        format!("Pos. {}: Die Menge {e}.", p.position_no),
                    );
                    continue;
                }
            };
            let max = match rules::maximum_quantity(estimate, buffer_percent) {
                Ok(m) => m,
                Err(e) => {
                    push(&mut errors, "buffer_percent", format!("Pos. {}: {e}", p.position_no));
                    continue;
                }
            };
            let estimate_price = a.estimate_unit_price.and_then(|d| Price::from_decimal(d).ok());
            match estimate_price.map(|price| Amount::line_total(max, price)) {
                // The framework's value is what could be called off: the maximum (§ 3 (4) VgV).
                Some(Ok(line)) => value += line.to_decimal(),
                Some(Err(e)) => push(
                    &mut errors,
                    "buffer_percent",
                    format!("Pos. {}: Der Wert der Höchstmenge {e}.", p.position_no),
                ),
                None => unpriced.push(p.position_no),
            }
            planned.push(PlannedPosition {
                demand_position_id: p.id,
                lot_no,
                position_no: p.position_no,
                description: p.description.clone(),
                unit: p.unit.clone(),
                cpv_code: p.cpv_code.clone(),
                estimate_quantity: estimate,
                max_quantity: max,
                estimate_price,
            });
        }
        let with_demand = agg
            .positions
            .iter()
            .filter(|(_, a)| !a.total_quantity.is_zero())
            .count();
        if with_demand == 0 && call.status == CallStatus::Closed {
            push(
                &mut errors,
                "assignment",
                "Für keine Position der Bedarfsabfrage wurde Bedarf gemeldet; es gibt nichts auszuschreiben.",
            );
        }
        for (i, _) in lots.iter().enumerate() {
            let n = i as i32 + 1;
            if !planned.iter().any(|p| p.lot_no == n) && !planned.is_empty() {
                push(
                    &mut errors,
                    "assignment",
                    format!(
                        "Los {n} enthält keine Position; bitte ordnen Sie Positionen zu oder entfernen Sie das Los."
                    ),
                );
            }
        }
        if !without_demand.is_empty() {
            warnings.push(format!(
                "Ohne gemeldeten Bedarf und daher nicht ausgeschrieben: Pos. {}.",
                join(&without_demand)
            ));
        }
        if !unpriced.is_empty() {
            warnings.push(format!(
                "Ohne Schätz- oder Referenzpreis, daher nicht im geschätzten Auftragswert: Pos. {}.",
                join(&unpriced)
            ));
        }
        let threshold_dec = crate::domain::rules::eu_threshold_on(today).supplies_services;
        let required = rules::required_procedure(value, threshold_dec);
        let procedure = match self.procedure {
            None => required,
            Some(Procedure::EuOpen) => Procedure::EuOpen,
            Some(Procedure::National) => {
                if required == Procedure::EuOpen {
                    push(
                        &mut errors,
                        "procedure",
                        format!(
                            "Der geschätzte Auftragswert ({} EUR) erreicht den EU-Schwellenwert ({} EUR); das offene Verfahren ist vorgeschrieben (§ 106 GWB).",
                            crate::web::format::decimal_de(value, 2, 2),
                            crate::web::format::decimal_de(threshold_dec, 2, 2)
                        ),
                    );
                }
                Procedure::National
            }
        };
        let urgency_reason = optional_text(&self.urgency_reason);
        let bid_deadline = match self.bid_deadline {
            Some(d) => {
                // Checked as if published now; publication checks again.
                match rules::check_bid_deadline(procedure, now, d, urgency_reason.as_deref()) {
                    DeadlineCheck::Error(e) => push(&mut errors, "deadline_date", e),
                    DeadlineCheck::Warning(w) => warnings.push(w),
                    DeadlineCheck::Ok => {}
                }
                d
            }
            None => {
                push(&mut errors, "deadline_date", DEADLINE_MISSING);
                now
            }
        };
        let estimated_value = Amount::from_decimal(value);
        if estimated_value.is_err() {
            push(
                &mut errors,
                "buffer_percent",
                "Der geschätzte Auftragswert ist zu groß.",
            );
        }
        match (evaluation, estimated_value) {
            (Some(evaluation), Ok(estimated_value)) if errors.is_empty() => Ok(TenderData {
                demand_call_id: call.id,
                title,
                description: self.description.trim().to_string(),
                procedure,
                buffer_percent,
                estimated_value,
                threshold: Amount::from_decimal(threshold_dec).map_err(|e| AppError::Internal(e.to_string()))?,
                bid_deadline,
                urgency_reason,
                term_months,
                term_justification,
                evaluation,
                lots,
                positions: planned,
                warnings,
            }),
            _ => Err(AppError::fields(errors)),
        }
    }
}

fn join(numbers: &[i32]) -> String {
    numbers.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
}

pub fn stream(id: i64) -> String {
    format!("tender:{id}")
}

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Tender> {
    Ok(tenders::table.find(id).first(conn)?)
}

/// The tender inside a write transaction, locked against concurrent changes of the same tender
/// (PostgreSQL advisory lock on its stream; SQLite's immediate transaction already is exclusive).
pub fn find_locked(conn: &mut DbConn, id: i64) -> AppResult<Tender> {
    crate::db::lock_key(conn, &stream(id))?;
    find(conn, id)
}

pub fn lots(conn: &mut DbConn, tender_id: i64) -> AppResult<Vec<Lot>> {
    Ok(tender_lots::table
        .filter(tender_lots::tender_id.eq(tender_id))
        .order(tender_lots::lot_no.asc())
        .load(conn)?)
}

pub fn positions(conn: &mut DbConn, tender_id: i64) -> AppResult<Vec<TenderPosition>> {
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
        .load::<i64>(conn)?
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

pub fn find_readable(conn: &mut DbConn, user: &CurrentUser, id: i64) -> AppResult<Tender> {
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
pub fn list_active(conn: &mut DbConn, user: &CurrentUser, now: NaiveDateTime, limit: i64) -> AppResult<Vec<Tender>> {
    let q = tenders::table
        .filter(tenders::cancelled_at.is_null())
        .order(tenders::bid_deadline.desc())
        .limit(limit);
    if user.is_cooperative() {
        Ok(q.load(conn)?)
    } else if user.role == crate::domain::roles::Role::Vendor {
        Ok(q.filter(tenders::status.eq(TenderStatus::Published))
            .filter(tenders::bid_deadline.gt(now))
            .load(conn)?)
    } else {
        Ok(q.filter(tenders::status.ne(TenderStatus::Draft)).load(conn)?)
    }
}

/// Published tenders for the public notice pages.
pub fn list_public(conn: &mut DbConn) -> AppResult<Vec<Tender>> {
    Ok(tenders::table
        .filter(tenders::status.ne(TenderStatus::Draft))
        .order(tenders::bid_deadline.desc())
        .load(conn)?)
}

fn tender_details(data: &TenderData) -> serde_json::Value {
    json!({
        "title": data.title,
        "demand_call_id": data.demand_call_id,
        "procedure": data.procedure,
        "buffer_percent": data.buffer_percent,
        "estimated_value": data.estimated_value,
        "bid_deadline": data.bid_deadline,
        "urgency_reason": data.urgency_reason,
        "term_months": data.term_months,
        "term_justification": data.term_justification,
        "lots": data.lots,
        "positions": data.positions.len(),
        "evaluation": data.evaluation,
    })
}

fn insert_structure(conn: &mut DbConn, id: i64, data: &TenderData) -> AppResult<()> {
    let mut lot_ids = HashMap::new();
    for (i, title) in data.lots.iter().enumerate() {
        let lot_no = i as i32 + 1;
        let lot_id: i64 = diesel::insert_into(tender_lots::table)
            .values((
                tender_lots::tender_id.eq(id),
                tender_lots::lot_no.eq(lot_no),
                tender_lots::title.eq(title),
            ))
            .returning(tender_lots::id)
            .get_result(conn)?;
        lot_ids.insert(lot_no, lot_id);
    }
    for p in &data.positions {
        diesel::insert_into(tender_positions::table)
            .values((
                tender_positions::tender_id.eq(id),
                tender_positions::lot_id.eq(lot_ids[&p.lot_no]),
                tender_positions::position_no.eq(p.position_no),
                tender_positions::demand_position_id.eq(Some(p.demand_position_id)),
                tender_positions::description.eq(&p.description),
                tender_positions::unit.eq(&p.unit),
                tender_positions::cpv_code.eq(&p.cpv_code),
                tender_positions::estimate_quantity.eq(p.estimate_quantity),
                tender_positions::max_quantity.eq(p.max_quantity),
                tender_positions::estimate_price.eq(p.estimate_price),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// What an officer sets on a draft, the same for creating and updating it.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = tenders, treat_none_as_null = true)]
struct TenderChanges<'a> {
    title: &'a str,
    description: &'a str,
    procedure: Procedure,
    buffer_percent: String,
    estimated_value: Amount,
    threshold: Amount,
    bid_deadline: NaiveDateTime,
    urgency_reason: Option<&'a str>,
    term_months: i32,
    term_justification: Option<&'a str>,
    evaluation: String,
}

impl<'a> TenderChanges<'a> {
    fn of(data: &'a TenderData) -> AppResult<TenderChanges<'a>> {
        Ok(TenderChanges {
            title: &data.title,
            description: &data.description,
            procedure: data.procedure,
            buffer_percent: data.buffer_percent.to_string(),
            estimated_value: data.estimated_value,
            threshold: data.threshold,
            bid_deadline: data.bid_deadline,
            urgency_reason: data.urgency_reason.as_deref(),
            term_months: data.term_months,
            term_justification: data.term_justification.as_deref(),
            evaluation: evaluation_text(&data.evaluation)?,
        })
    }
}

fn evaluation_text(spec: &EvaluationSpec) -> AppResult<String> {
    serde_json::to_string(spec).map_err(|e| AppError::Internal(format!("evaluation: {e}")))
}

/// Creates a draft tender from a closed demand call (officer). One tender per call.
pub fn create(conn: &mut DbConn, state: &AppState, user: &CurrentUser, data: &TenderData) -> AppResult<i64> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let existing: Option<i64> = tenders::table
            .filter(tenders::demand_call_id.eq(data.demand_call_id))
            .select(tenders::id)
            .first(c)
            .optional()?;
        if let Some(t) = existing {
            return Err(AppError::Conflict(format!(
                "Aus dieser Bedarfsabfrage ist bereits die Ausschreibung Nr. {t} entstanden."
            )));
        }
        let id: i64 = diesel::insert_into(tenders::table)
            .values((
                tenders::demand_call_id.eq(data.demand_call_id),
                TenderChanges::of(data)?,
                tenders::status.eq(TenderStatus::Draft),
                tenders::created_by.eq(user.id),
                tenders::created_at.eq(state.clock.now_naive()),
            ))
            .returning(tenders::id)
            .get_result(c)?;
        insert_structure(c, id, data)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new("tender.created", "tender", id, tender_details(data)),
        )?;
        Ok(id)
    })
}

/// Replaces a draft's data, lots and positions (officer).
pub fn update(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: i64, data: &TenderData) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        if t.status != TenderStatus::Draft {
            return Err(AppError::Conflict(
                "Eine veröffentlichte Ausschreibung kann nicht mehr geändert werden.".into(),
            ));
        }
        if t.demand_call_id != data.demand_call_id {
            return Err(AppError::field(
                "demand_call_id",
                "Die Bedarfsabfrage einer Ausschreibung lässt sich nicht wechseln.",
            ));
        }
        diesel::update(tenders::table.find(id))
            .set(TenderChanges::of(data)?)
            .execute(c)?;
        diesel::delete(tender_positions::table.filter(tender_positions::tender_id.eq(id))).execute(c)?;
        diesel::delete(tender_lots::table.filter(tender_lots::tender_id.eq(id))).execute(c)?;
        insert_structure(c, id, data)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new("tender.updated", "tender", id, tender_details(data)),
        )?;
        Ok(())
    })
}

/// The command that stores a draft again as it is, for editing.
pub fn command_of(conn: &mut DbConn, t: &Tender) -> AppResult<TenderCommand> {
    let lots = lots(conn, t.id)?;
    let positions = positions(conn, t.id)?;
    let lot_no: HashMap<i64, i32> = lots.iter().map(|l| (l.id, l.lot_no)).collect();
    Ok(TenderCommand {
        demand_call_id: t.demand_call_id,
        title: t.title.clone(),
        description: t.description.clone(),
        procedure: Some(t.procedure),
        buffer_percent: t.buffer_percent.parse().ok(),
        bid_deadline: Some(t.bid_deadline),
        urgency_reason: t.urgency_reason.clone().unwrap_or_default(),
        term_months: Some(t.term_months),
        term_justification: t.term_justification.clone().unwrap_or_default(),
        evaluation: EvaluationCommand::from_spec(&t.spec()?),
        lots: lots.iter().map(|l| l.title.clone()).collect(),
        assignment: positions
            .iter()
            .filter_map(|p| Some((p.demand_position_id?, lot_no[&p.lot_id])))
            .collect(),
    })
}

pub fn local_parts(t: NaiveDateTime) -> (String, String) {
    let l = t.and_utc().with_timezone(&chrono_tz::Europe::Berlin);
    (l.format("%Y-%m-%d").to_string(), l.format("%H:%M").to_string())
}

/// Every active user of an approved vendor: who hears of publications and answers.
fn vendor_recipients(conn: &mut DbConn) -> AppResult<Vec<(String, String, String)>> {
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

fn mail_vendors(conn: &mut DbConn, state: &AppState, template: &str, ctx: &serde_json::Value) -> AppResult<usize> {
    let recipients = vendor_recipients(conn)?;
    for (email, name, vendor) in &recipients {
        let mut ctx = ctx.clone();
        ctx["name"] = json!(name);
        ctx["vendor"] = json!(vendor);
        mail::enqueue(conn, state, email, template, &ctx)?;
    }
    Ok(recipients.len())
}

fn mail_context(state: &AppState, t: &Tender) -> serde_json::Value {
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
pub fn entitled_members(conn: &mut DbConn, t: &Tender) -> AppResult<Vec<(i64, String)>> {
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

/// Publishes a draft: the deadline is checked again against the real sending time, the entitled
/// members are frozen, and every approved vendor is mailed. Returns the number of vendor mails.
pub fn publish(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: i64) -> AppResult<usize> {
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
        if let DeadlineCheck::Error(e) =
            rules::check_bid_deadline(procedure, now, t.bid_deadline, t.urgency_reason.as_deref())
        {
            return Err(AppError::field(
                "deadline_date",
                format!("{e} Bitte verlängern Sie die Angebotsfrist vor der Veröffentlichung."),
            ));
        }
        let members = entitled_members(c, &t)?;
        for (m, _) in &members {
            diesel::insert_into(tender_members::table)
                .values((tender_members::tender_id.eq(id), tender_members::member_id.eq(m)))
                .execute(c)?;
        }
        diesel::update(tenders::table.find(id))
            .set((
                tenders::status.eq(TenderStatus::Published),
                tenders::published_by.eq(Some(user.id)),
                tenders::published_at.eq(Some(now)),
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

// ----------------------------------------------------------------------------- documents

/// Largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 20 * 1024 * 1024;

/// The types tender documents may have, decided from the content, not the name.
fn document_type(file_name: &str, bytes: &[u8]) -> Option<&'static str> {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match infer::get(bytes).map(|k| k.mime_type()) {
        Some("application/pdf") if ext == "pdf" => Some("application/pdf"),
        Some("application/zip") | Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
            if ext == "docx" =>
        {
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        }
        Some("application/zip") | Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            if ext == "xlsx" =>
        {
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        }
        Some("application/zip") if ext == "zip" => Some("application/zip"),
        Some("application/vnd.oasis.opendocument.text") if ext == "odt" => {
            Some("application/vnd.oasis.opendocument.text")
        }
        Some("application/vnd.oasis.opendocument.spreadsheet") if ext == "ods" => {
            Some("application/vnd.oasis.opendocument.spreadsheet")
        }
        None if (ext == "txt" || ext == "csv") && std::str::from_utf8(bytes).is_ok() => Some(if ext == "csv" {
            "text/csv; charset=utf-8"
        } else {
            "text/plain; charset=utf-8"
        }),
        _ => None,
    }
}

fn clean_file_name(name: &str) -> String {
    // Only the last path part, without control characters: it ends up in a download header.
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    base.chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(120)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Attaches a document to a draft (officer): type from the content, size limit, SHA-256 stored.
pub fn add_document(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    file_name: &str,
    bytes: &[u8],
) -> AppResult<i64> {
    user.require(&[Role::Officer])?;
    let name = clean_file_name(file_name);
    if name.is_empty() {
        return Err(AppError::field("file", "Bitte wählen Sie eine Datei aus."));
    }
    if bytes.is_empty() {
        return Err(AppError::field("file", "Die Datei ist leer."));
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(AppError::field(
            "file",
            format!("Die Datei ist größer als {} MB.", MAX_DOCUMENT_BYTES / 1024 / 1024),
        ));
    }
    let content_type = document_type(&name, bytes).ok_or_else(|| {
        AppError::field(
            "file",
            "Erlaubt sind PDF, DOCX, XLSX, ODT, ODS, ZIP sowie Text und CSV in UTF-8; Dateiendung und Inhalt müssen zusammenpassen.",
        )
    })?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        if t.status != TenderStatus::Draft {
            return Err(AppError::Conflict(
                "Unterlagen lassen sich nur vor der Veröffentlichung ändern.".into(),
            ));
        }
        let doc_id: i64 = diesel::insert_into(tender_documents::table)
            .values((
                tender_documents::tender_id.eq(id),
                tender_documents::file_name.eq(&name),
                tender_documents::content_type.eq(content_type),
                tender_documents::size_bytes.eq(bytes.len() as i64),
                tender_documents::sha256.eq(&sha256),
                tender_documents::content.eq(bytes),
                tender_documents::uploaded_by.eq(user.id),
                tender_documents::uploaded_at.eq(state.clock.now_naive()),
            ))
            .returning(tender_documents::id)
            .get_result(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.document_added",
                "tender",
                id,
                json!({ "document_id": doc_id, "file_name": name, "size_bytes": bytes.len(), "sha256": sha256 }),
            ),
        )?;
        Ok(doc_id)
    })
}

pub fn remove_document(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: i64, doc_id: i64) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        if t.status != TenderStatus::Draft {
            return Err(AppError::Conflict(
                "Unterlagen lassen sich nur vor der Veröffentlichung ändern.".into(),
            ));
        }
        let (name, sha): (String, String) = tender_documents::table
            .find(doc_id)
            .filter(tender_documents::tender_id.eq(id))
            .select((tender_documents::file_name, tender_documents::sha256))
            .first(c)?;
        diesel::delete(tender_documents::table.find(doc_id)).execute(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.document_removed",
                "tender",
                id,
                json!({ "document_id": doc_id, "file_name": name, "sha256": sha }),
            ),
        )?;
        Ok(())
    })
}

pub fn documents(conn: &mut DbConn, tender_id: i64) -> AppResult<Vec<DocumentMeta>> {
    Ok(tender_documents::table
        .filter(tender_documents::tender_id.eq(tender_id))
        .order(tender_documents::id.asc())
        .select(DocumentMeta::as_select())
        .load(conn)?)
}

/// A document's name, type and content, for a download of a tender the caller may read.
pub fn document(conn: &mut DbConn, tender_id: i64, doc_id: i64) -> AppResult<(String, String, Vec<u8>)> {
    Ok(tender_documents::table
        .find(doc_id)
        .filter(tender_documents::tender_id.eq(tender_id))
        .select((
            tender_documents::file_name,
            tender_documents::content_type,
            tender_documents::content,
        ))
        .first(conn)?)
}

// ----------------------------------------------------------------------------- questions

/// A vendor asks a question about a published tender before its deadline.
pub fn ask(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: i64, question: &str) -> AppResult<i64> {
    user.require(&[Role::Vendor])?;
    let question = question.trim();
    if !(5..=4000).contains(&question.chars().count()) {
        return Err(AppError::field(
            "question",
            "Bitte formulieren Sie Ihre Frage (5 bis 4000 Zeichen).",
        ));
    }
    write_tx(conn, |c| {
        let t = find_readable(c, user, id)?;
        if !t.accepts_bids(state.clock.now_naive()) {
            return Err(AppError::Conflict(
                "Fragen sind nur bis zum Ablauf der Angebotsfrist möglich.".into(),
            ));
        }
        bids::require_approved_vendor(c, user)?;
        let qid: i64 = diesel::insert_into(tender_questions::table)
            .values((
                tender_questions::tender_id.eq(id),
                tender_questions::vendor_id.eq(user.organisation_id),
                tender_questions::asked_by.eq(user.id),
                tender_questions::question.eq(question),
                tender_questions::asked_at.eq(state.clock.now_naive()),
            ))
            .returning(tender_questions::id)
            .get_result(c)?;
        // The question goes into the record (the Vergabevermerk needs it); who asked is the
        // event's actor, visible to the cooperative only, never to other vendors.
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.question_asked",
                "tender",
                id,
                json!({ "question_id": qid, "question": question }),
            )
            .in_stream(stream(id)),
        )?;
        for (email, name) in officers(c)? {
            mail::enqueue(
                c,
                state,
                &email,
                "tender_question",
                &json!({ "name": name, "title": t.title, "question": question, "url": format!("{}/ausschreibungen/{}#fragen", state.config.base_url, id) }),
            )?;
        }
        Ok(qid)
    })
}

fn officers(conn: &mut DbConn) -> AppResult<Vec<(String, String)>> {
    Ok(users::table
        .filter(users::role.eq(Role::Officer))
        .filter(users::active.eq(true))
        .select((users::email, users::name))
        .load(conn)?)
}

/// An officer answers; the answer is published to all vendors without the asker and mailed.
pub fn answer(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    question_id: i64,
    answer: &str,
) -> AppResult<usize> {
    user.require(&[Role::Officer])?;
    let answer = answer.trim();
    if !(2..=8000).contains(&answer.chars().count()) {
        return Err(AppError::field(
            "answer",
            "Bitte geben Sie eine Antwort ein (bis 8000 Zeichen).",
        ));
    }
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        let (question, answered): (String, Option<NaiveDateTime>) = tender_questions::table
            .find(question_id)
            .filter(tender_questions::tender_id.eq(id))
            .select((tender_questions::question, tender_questions::answered_at))
            .first(c)?;
        if answered.is_some() {
            return Err(AppError::Conflict("Diese Frage ist bereits beantwortet.".into()));
        }
        // After the deadline nobody can act on an answer any more.
        if !t.accepts_bids(state.clock.now_naive()) {
            return Err(AppError::Conflict(
                "Fragen lassen sich nur bis zum Ablauf der Angebotsfrist beantworten.".into(),
            ));
        }
        let now = state.clock.now_naive();
        diesel::update(tender_questions::table.find(question_id))
            .set((
                tender_questions::answer.eq(Some(answer)),
                tender_questions::answered_by.eq(Some(user.id)),
                tender_questions::answered_at.eq(Some(now)),
            ))
            .execute(c)?;
        let mut ctx = mail_context(state, &t);
        ctx["question"] = json!(question);
        ctx["answer"] = json!(answer);
        let mailed = mail_vendors(c, state, "tender_answer", &ctx)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.question_answered",
                "tender",
                id,
                json!({ "question_id": question_id, "answer": answer, "vendors_mailed": mailed }),
            ),
        )?;
        Ok(mailed)
    })
}

/// id, asking vendor, question, asked at, answer, answered at.
type QuestionRow = (i64, i64, String, NaiveDateTime, Option<String>, Option<NaiveDateTime>);

/// Questions as `user` may see them: vendors and the public see answered ones (and a vendor its
/// own open ones); the cooperative sees all. Never the asker's identity.
pub fn questions(conn: &mut DbConn, user: Option<&CurrentUser>, tender_id: i64) -> AppResult<Vec<PublicQuestion>> {
    let rows: Vec<QuestionRow> = tender_questions::table
        .filter(tender_questions::tender_id.eq(tender_id))
        .order(tender_questions::id.asc())
        .select((
            tender_questions::id,
            tender_questions::vendor_id,
            tender_questions::question,
            tender_questions::asked_at,
            tender_questions::answer,
            tender_questions::answered_at,
        ))
        .load(conn)?;
    let cooperative = user.is_some_and(CurrentUser::is_cooperative);
    let own_org = user.filter(|u| u.role == Role::Vendor).map(|u| u.organisation_id);
    Ok(rows
        .into_iter()
        .enumerate()
        .filter(|(_, (_, vendor, _, _, answer, _))| cooperative || answer.is_some() || Some(*vendor) == own_org)
        .map(
            |(i, (id, vendor, question, asked_at, answer, answered_at))| PublicQuestion {
                number: i + 1,
                id,
                question,
                asked_at,
                answer,
                answered_at,
                mine: Some(vendor) == own_org,
            },
        )
        .collect())
}

// ----------------------------------------------------------------------------- opening

/// The first officer starts the opening after the deadline; a second one must confirm.
pub fn start_opening(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: i64) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        let now = state.clock.now_naive();
        if t.status != TenderStatus::Published {
            return Err(AppError::Conflict(match t.status {
                TenderStatus::Draft => "Die Ausschreibung ist noch nicht veröffentlicht.".into(),
                TenderStatus::Opening => {
                    "Die Öffnung ist bereits begonnen; eine zweite Person der Vergabestelle muss sie bestätigen.".into()
                }
                TenderStatus::Published | TenderStatus::Opened => "Die Angebote sind bereits geöffnet.".into(),
            }));
        }
        if now < t.bid_deadline {
            return Err(AppError::Conflict(
                "Die Angebote können erst nach Ablauf der Angebotsfrist geöffnet werden.".into(),
            ));
        }
        diesel::update(tenders::table.find(id))
            .set((
                tenders::status.eq(TenderStatus::Opening),
                tenders::opening_started_by.eq(Some(user.id)),
                tenders::opening_started_at.eq(Some(now)),
            ))
            .execute(c)?;
        for (email, name) in officers(c)?.into_iter().filter(|(e, _)| *e != user.email) {
            mail::enqueue(
                c,
                state,
                &email,
                "tender_opening_started",
                &json!({ "name": name, "title": t.title, "started_by": user.name, "url": format!("{}/ausschreibungen/{}", state.config.base_url, id) }),
            )?;
        }
        let count = bids::count_current(c, id)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new("tender.opening_started", "tender", id, json!({ "bids": count })),
        )?;
        Ok(())
    })
}

/// The second, different officer confirms: the bids become readable and the opening record
/// (contract-templates/opening_record) is rendered, stored with its SHA-256, and audited.
pub fn confirm_opening(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: i64) -> AppResult<String> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        if t.status != TenderStatus::Opening {
            return Err(AppError::Conflict(if t.status == TenderStatus::Opened {
                "Die Angebote sind bereits geöffnet.".into()
            } else {
                "Die Öffnung muss zuerst von einer Person der Vergabestelle begonnen werden.".into()
            }));
        }
        if t.opening_started_by == Some(user.id) {
            return Err(AppError::Forbidden(
                "Die Öffnung muss eine zweite, andere Person der Vergabestelle bestätigen (§ 55 VgV).".into(),
            ));
        }
        let now = state.clock.now_naive();
        let starter: (String, String) = users::table
            .find(t.opening_started_by.unwrap_or_default())
            .select((users::name, users::email))
            .first(c)?;
        let record = bids::opening_rows(c, &t)?;
        let lots = lots(c, id)?;
        let ctx = json!({
            "tender": t.view(now),
            "lots": lots,
            "bids": record,
            "started_by": starter.0,
            "started_at": t.opening_started_at,
            "confirmed_by": user.name,
            "opened_at": now,
            "cooperative": cooperative_name(c)?,
        });
        let text = state.documents.render("opening_record", &ctx)?;
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        diesel::update(tenders::table.find(id))
            .set((
                tenders::status.eq(TenderStatus::Opened),
                tenders::opened_by.eq(Some(user.id)),
                tenders::opened_at.eq(Some(now)),
                tenders::opening_record.eq(Some(&text)),
                tenders::opening_record_sha256.eq(Some(&sha)),
            ))
            .execute(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.opened",
                "tender",
                id,
                json!({ "started_by": starter.1, "confirmed_by": user.email, "bids": record.len(), "opening_record_sha256": sha }),
            ),
        )?;
        Ok(sha)
    })
}

fn cooperative_name(conn: &mut DbConn) -> AppResult<String> {
    Ok(organisations::table
        .filter(organisations::org_type.eq(OrgType::Cooperative))
        .select(organisations::name)
        .first::<String>(conn)
        .optional()?
        .unwrap_or_default())
}

/// The stored opening record, for the cooperative once opened.
pub fn opening_record(conn: &mut DbConn, user: &CurrentUser, id: i64) -> AppResult<(Tender, String)> {
    user.require(crate::domain::policy::OPENED_BID_READERS)?;
    let t = find(conn, id)?;
    match t.opening_record.clone() {
        Some(text) if t.is_opened() => Ok((t, text)),
        _ => Err(AppError::Conflict("Die Angebote sind noch nicht geöffnet.".into())),
    }
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
