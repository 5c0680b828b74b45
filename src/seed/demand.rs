//! Demo demand calls in every state (draft, open with answers, closed), dated relative to the
//! clock, with the members' quantities and prices.

use crate::audit::{self, Actor, Event};
use crate::db::schema::catalogue_items;
use crate::db::DbConn;
use crate::domain::demand::CallStatus;
use crate::domain::ids::{CatalogueItemId, DemandCallId, DemandPositionId, OrgId, UserId};
use crate::domain::roles::{OrgType, Role};
use crate::error::{AppError, AppResult};
use crate::AppState;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

#[derive(Deserialize)]
pub(super) struct CallRow {
    pub(super) key: String,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) term_months: i32,
    pub(super) deadline_days: i64,
    pub(super) status: CallStatus,
}

#[derive(Deserialize)]
pub(super) struct CallPositionRow {
    pub(super) call: String,
    pub(super) catalogue_key: String,
    pub(super) estimate_price: String,
}

#[derive(Deserialize)]
pub(super) struct DemandRow {
    pub(super) call: String,
    pub(super) member: String,
    pub(super) catalogue_key: String,
    pub(super) quantity: String,
    pub(super) reference_price: String,
}

pub(super) fn demo_number(text: &str, what: &str) -> AppResult<Option<rust_decimal::Decimal>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::domain::numbers::parse(text, crate::domain::numbers::DecimalStyle::Comma)
        .map(Some)
        .map_err(|e| AppError::Internal(format!("{what}: {e}")))
}

/// Demand calls in every state (draft, open with answers, closed), dated relative to the clock.
#[allow(clippy::too_many_arguments)]
pub(super) fn load_demand(
    conn: &mut DbConn,
    state: &AppState,
    actor: &Actor,
    calls: &[CallRow],
    call_positions: &[CallPositionRow],
    demand: &[DemandRow],
    orgs: &HashMap<String, (OrgId, OrgType)>,
    catalogue: &HashMap<String, CatalogueItemId>,
    users: &[(String, Role, UserId)],
) -> AppResult<HashMap<String, DemandCallId>> {
    use crate::db::schema::{demand_calls, demand_invitations, demand_lines, demand_positions, demand_responses};
    use crate::domain::money::{Price, Quantity};
    use chrono::Duration;
    let now = state.clock.now_naive();
    let officer = users
        .iter()
        .find(|(_, r, _)| *r == Role::Officer)
        .map(|u| u.2)
        .ok_or_else(|| AppError::Internal("users.csv: keine Vergabestelle für die Bedarfsabfragen".into()))?;
    let members: Vec<OrgId> = orgs
        .values()
        .filter(|(_, t)| *t == OrgType::Member)
        .map(|(id, _)| *id)
        .collect();
    let mut call_ids = HashMap::new();
    for call in calls {
        let deadline = now + Duration::days(call.deadline_days);
        let opened_at = (call.status != CallStatus::Draft).then(|| deadline - Duration::days(28));
        let id: DemandCallId = diesel::insert_into(demand_calls::table)
            .values((
                demand_calls::title.eq(&call.title),
                demand_calls::description.eq(&call.description),
                demand_calls::term_months.eq(call.term_months),
                demand_calls::deadline.eq(deadline),
                demand_calls::status.eq(call.status),
                demand_calls::all_members.eq(true),
                demand_calls::created_by.eq(officer),
                demand_calls::created_at.eq(opened_at.unwrap_or(now) - Duration::days(2)),
                demand_calls::opened_at.eq(opened_at),
                demand_calls::closed_at.eq((call.status == CallStatus::Closed).then(|| deadline + Duration::days(1))),
            ))
            .returning(demand_calls::id)
            .get_result(conn)?;
        call_ids.insert(call.key.clone(), id);
        audit::record(
            conn,
            &state.clock,
            actor,
            Event::new("demand_call.created", "demand_call", id, json!({ "title": call.title })),
        )?;
        let mut position_ids: HashMap<&str, DemandPositionId> = HashMap::new();
        for (no, p) in call_positions.iter().filter(|p| p.call == call.key).enumerate() {
            let item = *catalogue.get(&p.catalogue_key).ok_or_else(|| {
                AppError::Internal(format!("demand_positions.csv: Katalog „{}“ unbekannt", p.catalogue_key))
            })?;
            let (description, unit, cpv): (String, String, String) = catalogue_items::table
                .find(item)
                .select((
                    catalogue_items::description,
                    catalogue_items::unit,
                    catalogue_items::cpv_code,
                ))
                .first(conn)?;
            let estimate = demo_number(&p.estimate_price, "demand_positions.csv Schätzpreis")?
                .map(Price::from_decimal)
                .transpose()
                .map_err(|e| AppError::Internal(format!("demand_positions.csv: {e}")))?;
            let pid: DemandPositionId = diesel::insert_into(demand_positions::table)
                .values((
                    demand_positions::call_id.eq(id),
                    demand_positions::position_no.eq(no as i32 + 1),
                    demand_positions::catalogue_item_id.eq(item),
                    demand_positions::description.eq(description),
                    demand_positions::unit.eq(unit),
                    demand_positions::cpv_code.eq(cpv),
                    demand_positions::estimate_price.eq(estimate),
                ))
                .returning(demand_positions::id)
                .get_result(conn)?;
            position_ids.insert(p.catalogue_key.as_str(), pid);
        }
        if call.status == CallStatus::Draft {
            continue;
        }
        for m in &members {
            diesel::insert_into(demand_invitations::table)
                .values((demand_invitations::call_id.eq(id), demand_invitations::member_id.eq(m)))
                .execute(conn)?;
        }
        let mut answered: Vec<OrgId> = Vec::new();
        for d in demand.iter().filter(|d| d.call == call.key) {
            let (member, _) = *orgs
                .get(&d.member)
                .ok_or_else(|| AppError::Internal(format!("demand_lines.csv: Mitglied „{}“ unbekannt", d.member)))?;
            let position = *position_ids.get(d.catalogue_key.as_str()).ok_or_else(|| {
                AppError::Internal(format!(
                    "demand_lines.csv: Position „{}“ nicht in „{}“",
                    d.catalogue_key, d.call
                ))
            })?;
            let quantity = demo_number(&d.quantity, "demand_lines.csv Menge")?
                .ok_or_else(|| AppError::Internal("demand_lines.csv: Menge fehlt".into()))
                .and_then(|q| {
                    Quantity::from_decimal(q).map_err(|e| AppError::Internal(format!("demand_lines.csv: Menge {e}")))
                })?;
            let price = demo_number(&d.reference_price, "demand_lines.csv Referenzpreis")?
                .map(Price::from_decimal)
                .transpose()
                .map_err(|e| AppError::Internal(format!("demand_lines.csv: {e}")))?;
            diesel::insert_into(demand_lines::table)
                .values((
                    demand_lines::call_id.eq(id),
                    demand_lines::position_id.eq(position),
                    demand_lines::member_id.eq(member),
                    demand_lines::quantity.eq(quantity),
                    demand_lines::reference_price.eq(price),
                ))
                .execute(conn)?;
            if !answered.contains(&member) {
                answered.push(member);
            }
        }
        for member in answered {
            let key = orgs
                .iter()
                .find(|(_, (oid, _))| *oid == member)
                .map(|(k, _)| k.clone())
                .unwrap_or_default();
            let by = users
                .iter()
                .find(|(o, r, _)| *o == key && *r == Role::Buyer)
                .map(|u| u.2)
                .unwrap_or(officer);
            diesel::insert_into(demand_responses::table)
                .values((
                    demand_responses::call_id.eq(id),
                    demand_responses::member_id.eq(member),
                    demand_responses::answered_at.eq(opened_at.unwrap_or(now) + Duration::days(3)),
                    demand_responses::answered_by.eq(by),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                &state.clock,
                actor,
                Event::new("demand.saved", "demand_call", id, json!({ "member_id": member }))
                    .in_stream(format!("demand_call:{id}")),
            )?;
        }
    }
    Ok(call_ids)
}
