//! The pooled demand: totals per position, members, quantity-weighted reference prices, min/max,
//! the estimated value against the EU threshold, and its CSV export.

use super::{find_call, invited_members, positions, DemandCall, Position};
use crate::auth::CurrentUser;
use crate::db::schema::{demand_lines, demand_responses, organisations};
use crate::db::DbConn;
use crate::domain::demand::{self as rules, Line, PositionAggregate};
use crate::domain::ids::{DemandCallId, DemandPositionId, OrgId};
use crate::domain::money::{Price, Quantity};
use crate::error::AppResult;
use crate::import;
use chrono::NaiveDate;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// The aggregation of call `id`, for those allowed to read it.
pub fn aggregate_for(
    conn: &mut DbConn,
    user: &CurrentUser,
    id: DemandCallId,
    today: NaiveDate,
) -> AppResult<(DemandCall, Aggregation)> {
    user.require(crate::domain::policy::AGGREGATION_READERS)?;
    let call = find_call(conn, id)?;
    let agg = aggregate(conn, &call, today)?;
    Ok((call, agg))
}

/// One member's line in the breakdown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberLine {
    #[schema(value_type = i64)]
    pub member_id: OrgId,
    pub member: String,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub quantity: Decimal,
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub reference_price: Option<Decimal>,
}

/// The aggregation of a call.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Aggregation {
    pub positions: Vec<(Position, PositionAggregate)>,
    #[schema(value_type = BTreeMap<i64, Vec<MemberLine>>)]
    pub breakdown: BTreeMap<DemandPositionId, Vec<MemberLine>>,
    pub invited: usize,
    pub answered: usize,
    pub not_answered: Vec<String>,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub estimated_total: Decimal,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub eu_threshold: Decimal,
    pub eu_procedure_required: bool,
}

pub fn aggregate(conn: &mut DbConn, call: &DemandCall, today: NaiveDate) -> AppResult<Aggregation> {
    let positions = positions(conn, call.id)?;
    let rows: Vec<(DemandPositionId, OrgId, Quantity, Option<Price>, String)> = demand_lines::table
        .inner_join(organisations::table)
        .filter(demand_lines::call_id.eq(call.id))
        .order((demand_lines::position_id.asc(), organisations::name.asc()))
        .select((
            demand_lines::position_id,
            demand_lines::member_id,
            demand_lines::quantity,
            demand_lines::reference_price,
            organisations::name,
        ))
        .load(conn)?;
    let lines: Vec<Line> = rows
        .iter()
        .map(|(position_id, member_id, quantity, reference_price, _)| Line {
            position_id: *position_id,
            member_id: *member_id,
            quantity: *quantity,
            reference_price: *reference_price,
        })
        .collect();
    let aggregates = rules::aggregate(
        &positions.iter().map(|p| (p.id, p.estimate_price)).collect::<Vec<_>>(),
        &lines,
    );
    let mut breakdown: BTreeMap<DemandPositionId, Vec<MemberLine>> = BTreeMap::new();
    for (position_id, member_id, quantity, price, member) in rows {
        breakdown.entry(position_id).or_default().push(MemberLine {
            member_id,
            member,
            quantity: quantity.to_decimal(),
            reference_price: price.map(Price::to_decimal),
        });
    }
    let invited = invited_members(conn, call)?;
    let answered: HashSet<OrgId> = demand_responses::table
        .filter(demand_responses::call_id.eq(call.id))
        .select(demand_responses::member_id)
        .load::<OrgId>(conn)?
        .into_iter()
        .collect();
    let not_answered: Vec<String> = invited
        .iter()
        .filter(|(m, _)| !answered.contains(m))
        .map(|(_, n)| n.clone())
        .collect();
    let estimated_total = rules::estimated_total(&aggregates);
    let eu_threshold = crate::domain::rules::eu_threshold_on(today).supplies_services;
    Ok(Aggregation {
        positions: positions.into_iter().zip(aggregates).collect(),
        breakdown,
        invited: invited.len(),
        answered: answered.len(),
        not_answered,
        estimated_total,
        eu_threshold,
        eu_procedure_required: estimated_total >= eu_threshold,
    })
}

/// The aggregation as German Excel CSV: one row per position and member, then the totals.
pub fn aggregation_csv(agg: &Aggregation) -> Vec<u8> {
    let cell = |d: Option<Decimal>, places: u32| d.map(|v| import::decimal_cell(v, places)).unwrap_or_default();
    let mut out = import::GermanCsv::new();
    out.row([
        "Pos.",
        "Beschreibung",
        "Einheit",
        "CPV-Code",
        "Mitglied",
        "Menge",
        "Referenzpreis (EUR netto)",
        "Mitglieder",
        "Gewichteter Referenzpreis",
        "Min. Referenzpreis",
        "Max. Referenzpreis",
        "Schätzpreis",
        "Geschätzter Wert (EUR netto)",
    ]);
    for (p, a) in &agg.positions {
        for m in agg.breakdown.get(&p.id).map(Vec::as_slice).unwrap_or(&[]) {
            out.row([
                p.position_no.to_string(),
                p.description.clone(),
                p.unit.clone(),
                p.cpv_code.clone(),
                m.member.clone(),
                import::decimal_cell(m.quantity, 0),
                cell(m.reference_price, 2),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        out.row([
            p.position_no.to_string(),
            p.description.clone(),
            p.unit.clone(),
            p.cpv_code.clone(),
            "Summe".to_string(),
            import::decimal_cell(a.total_quantity, 0),
            String::new(),
            a.members.to_string(),
            cell(a.weighted_reference_price, 2),
            cell(a.min_reference_price, 2),
            cell(a.max_reference_price, 2),
            cell(a.estimate_unit_price, 2),
            cell(a.estimated_value, 2),
        ]);
    }
    out.finish()
}
