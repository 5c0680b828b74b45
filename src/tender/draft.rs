//! Creating and changing a draft tender: lots, positions with maxima, members and the published
//! evaluation, each change audited.

use super::{find_locked, lots, positions, Tender, TenderCommand, TenderData};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{tender_lots, tender_positions, tenders};
use crate::db::{write_tx, DbConn};
use crate::domain::evaluation::{EvaluationCommand, EvaluationSpec};
use crate::domain::ids::{DemandCallId, DemandPositionId, LotId, TenderId, UserId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::roles::Role;
use crate::domain::tender::{Procedure, TenderStatus};
use crate::error::{AppError, AppResult};
use crate::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;
use std::collections::HashMap;

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

#[derive(Insertable)]
#[diesel(table_name = tender_lots)]
struct NewLot<'a> {
    tender_id: TenderId,
    lot_no: i32,
    title: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = tender_positions)]
struct NewPosition<'a> {
    tender_id: TenderId,
    lot_id: LotId,
    position_no: i32,
    demand_position_id: Option<DemandPositionId>,
    description: &'a str,
    unit: &'a str,
    cpv_code: &'a str,
    estimate_quantity: Quantity,
    max_quantity: Quantity,
    estimate_price: Option<Price>,
}

fn insert_structure(conn: &mut DbConn, id: TenderId, data: &TenderData) -> AppResult<()> {
    let mut lot_ids = HashMap::new();
    for (i, title) in data.lots.iter().enumerate() {
        let lot_no = i as i32 + 1;
        let lot_id: LotId = diesel::insert_into(tender_lots::table)
            .values(NewLot {
                tender_id: id,
                lot_no,
                title,
            })
            .returning(tender_lots::id)
            .get_result(conn)?;
        lot_ids.insert(lot_no, lot_id);
    }
    for p in &data.positions {
        diesel::insert_into(tender_positions::table)
            .values(NewPosition {
                tender_id: id,
                lot_id: lot_ids[&p.lot_no],
                position_no: p.position_no,
                demand_position_id: Some(p.demand_position_id),
                description: &p.description,
                unit: &p.unit,
                cpv_code: &p.cpv_code,
                estimate_quantity: p.estimate_quantity,
                max_quantity: p.max_quantity,
                estimate_price: p.estimate_price,
            })
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

/// A new draft tender: its demand call, what the officer set, and who created it when.
#[derive(Insertable)]
#[diesel(table_name = tenders)]
struct NewTender<'a> {
    demand_call_id: DemandCallId,
    #[diesel(embed)]
    changes: TenderChanges<'a>,
    status: TenderStatus,
    created_by: UserId,
    created_at: NaiveDateTime,
}

fn evaluation_text(spec: &EvaluationSpec) -> AppResult<String> {
    serde_json::to_string(spec).map_err(|e| AppError::Internal(format!("evaluation: {e}")))
}

/// Creates a draft tender from a closed demand call (officer). One tender per call.
pub fn create(conn: &mut DbConn, state: &AppState, user: &CurrentUser, data: &TenderData) -> AppResult<TenderId> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let existing: Option<TenderId> = tenders::table
            .filter(tenders::demand_call_id.eq(data.demand_call_id))
            .select(tenders::id)
            .first(c)
            .optional()?;
        if let Some(t) = existing {
            return Err(AppError::Conflict(format!(
                "Aus dieser Bedarfsabfrage ist bereits die Ausschreibung Nr. {t} entstanden."
            )));
        }
        let id: TenderId = diesel::insert_into(tenders::table)
            .values(NewTender {
                demand_call_id: data.demand_call_id,
                changes: TenderChanges::of(data)?,
                status: TenderStatus::Draft,
                created_by: user.id,
                created_at: state.clock.now_naive(),
            })
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
pub fn update(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: TenderId,
    data: &TenderData,
) -> AppResult<()> {
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
    let lot_no: HashMap<LotId, i32> = lots.iter().map(|l| (l.id, l.lot_no)).collect();
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
