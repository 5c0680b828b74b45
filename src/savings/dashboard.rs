//! The dashboard: realised and contracted savings by member, contract, lot, CPV division, year
//! and reference source, and the contracts' utilisation, added up from the cube.

use super::cube::cube;
use super::scope::Scope;
use super::view::warning;
use crate::db::schema::{
    contract_members, contract_positions, contracts, demand_lines, organisations, tender_lots, tender_positions,
    tenders,
};
use crate::db::DbConn;
use crate::domain::calloff::{self as calloff_rules};
use crate::domain::ids::{ContractId, LotId, OrgId, TenderPositionId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::roles::OrgType;
use crate::domain::savings::{self as rules, ReferenceCandidates, ReferenceSource};
use crate::error::{AppError, AppResult};
use crate::AppState;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// One row of a view: a member, contract, lot, CPV division, year or reference source.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Figure {
    pub key: String,
    pub label: String,
    /// Called-off volume (Σ line totals of call-offs that hold volume), EUR net.
    pub volume: Amount,
    /// Realised savings on those call-offs.
    pub realised: Amount,
    /// Contracted savings on the demanded quantities (not for the source view).
    pub contracted: Amount,
    /// Realised savings in percent of the volume at reference prices (volume + realised).
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub realised_percent: Option<rust_decimal::Decimal>,
    pub lines: i64,
}

impl Figure {
    fn new(key: String, label: String) -> Figure {
        Figure {
            key,
            label,
            volume: Amount::ZERO,
            realised: Amount::ZERO,
            contracted: Amount::ZERO,
            realised_percent: None,
            lines: 0,
        }
    }
}

/// A contract's use, with its warnings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Utilisation {
    #[schema(value_type = i64)]
    pub contract_id: ContractId,
    pub number: String,
    pub tender_title: String,
    pub lot_no: i32,
    pub lot_title: String,
    pub vendor: String,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub max_value: Amount,
    pub called_value: Amount,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub utilisation_percent: rust_decimal::Decimal,
    pub entitled_members: i64,
    pub near_exhaustion: bool,
    pub near_expiry: bool,
    pub expired: bool,
    /// Procedures the entitled members did not run, valued at the configured cost.
    pub process_saving: Option<Amount>,
    /// The warnings in words (empty without any).
    pub warning: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub volume: Amount,
    pub realised: Amount,
    pub contracted: Amount,
    pub process: Option<Amount>,
    pub lines: i64,
    pub lines_without_reference: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    #[schema(value_type = Option<i64>)]
    pub member_id: Option<OrgId>,
    pub member_name: Option<String>,
    pub year: Option<i32>,
    pub years: Vec<i32>,
    pub totals: Totals,
    pub by_member: Vec<Figure>,
    pub by_contract: Vec<Figure>,
    pub by_lot: Vec<Figure>,
    pub by_cpv_division: Vec<Figure>,
    pub by_year: Vec<Figure>,
    pub by_source: Vec<Figure>,
    pub contracts: Vec<Utilisation>,
}

struct ContractInfo {
    number: String,
    tender_title: String,
    lot_id: LotId,
    lot_no: i32,
    lot_title: String,
    year: i32,
}

/// The German calendar year of a stored (UTC) instant.
pub fn berlin_year(utc: NaiveDateTime) -> i32 {
    utc.and_utc().with_timezone(&chrono_tz::Europe::Berlin).year()
}

fn add(a: Amount, minor: i64) -> AppResult<Amount> {
    a.checked_add(Amount::from_minor(minor).map_err(|e| AppError::Internal(format!("amount: {e}")))?)
        .map_err(|e| AppError::Internal(format!("sum: {e}")))
}

fn finish(figures: Vec<Figure>) -> Vec<Figure> {
    figures
        .into_iter()
        .map(|mut f| {
            let at_reference = Amount::from_minor(f.volume.minor() + f.realised.minor()).unwrap_or(Amount::ZERO);
            f.realised_percent = rules::percent(f.realised, at_reference);
            f
        })
        .collect()
}

/// Everything the board (or a buyer, for its member) sees, for one year or all.
pub fn dashboard(conn: &mut DbConn, state: &AppState, scope: Scope, year: Option<i32>) -> AppResult<Dashboard> {
    let cube = cube(conn, scope.member_id, year)?;
    // Contracts in view: all for the cooperative, the entitled ones for a member.
    let mut contract_q = contracts::table
        .inner_join(tender_lots::table.inner_join(tenders::table))
        .inner_join(organisations::table)
        .select((
            contracts::id,
            contracts::number,
            tenders::title,
            contracts::lot_id,
            tender_lots::lot_no,
            tender_lots::title,
            contracts::created_at,
            organisations::name,
            contracts::term_start,
            contracts::term_end,
            contracts::max_value,
            contracts::called_value,
        ))
        .order(contracts::id.asc())
        .into_boxed();
    if let Some(m) = scope.member_id {
        let entitled = contract_members::table
            .filter(contract_members::member_id.eq(m))
            .select(contract_members::contract_id);
        contract_q = contract_q.filter(contracts::id.eq_any(entitled));
    }
    type ContractSql = (
        ContractId,
        String,
        String,
        LotId,
        i32,
        String,
        NaiveDateTime,
        String,
        NaiveDate,
        NaiveDate,
        Amount,
        Amount,
    );
    let contract_rows: Vec<ContractSql> = contract_q.load(conn)?;
    // Positions and demand are filtered by subqueries, never by lists of bound ids: at scale
    // such lists passed SQLite's limit of bound variables (HTTP 500). A member's own contracts
    // stay a short list.
    let in_view = |m: OrgId| {
        contract_members::table
            .filter(contract_members::member_id.eq(m))
            .select(contract_members::contract_id)
    };
    let mut member_q = contract_members::table
        .select((contract_members::contract_id, contract_members::member_id))
        .into_boxed();
    if scope.member_id.is_some() {
        // A member's own contracts: a short list.
        member_q = member_q
            .filter(contract_members::contract_id.eq_any(contract_rows.iter().map(|r| r.0).collect::<Vec<_>>()));
    }
    let member_rows: Vec<(ContractId, OrgId)> = member_q.load(conn)?;
    let mut members_of: HashMap<ContractId, Vec<OrgId>> = HashMap::new();
    for (c, m) in &member_rows {
        members_of.entry(*c).or_default().push(*m);
    }
    let names: HashMap<OrgId, String> = organisations::table
        .filter(organisations::org_type.eq(OrgType::Member))
        .select((organisations::id, organisations::name))
        .load::<(OrgId, String)>(conn)?
        .into_iter()
        .collect();
    let mut info: HashMap<ContractId, ContractInfo> = HashMap::new();
    let today = state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let mut contracts_out = Vec::new();
    let mut process_total: Option<Amount> = state.config.process_cost.map(|_| Amount::ZERO);
    for r in &contract_rows {
        let created_year = berlin_year(r.6);
        info.insert(
            r.0,
            ContractInfo {
                number: r.1.clone(),
                tender_title: r.2.clone(),
                lot_id: r.3,
                lot_no: r.4,
                lot_title: r.5.clone(),
                year: created_year,
            },
        );
        let entitled = members_of.get(&r.0).map_or(0, Vec::len) as i64;
        let process_saving = match state.config.process_cost {
            Some(cost) if scope.member_id.is_none() && year.is_none_or(|y| y == created_year) => Some(
                rules::process_saving(cost, entitled)
                    .map_err(|e| AppError::Internal(format!("process saving: {e}")))?,
            ),
            _ => None,
        };
        if let (Some(t), Some(p)) = (process_total, process_saving) {
            process_total = Some(add(t, p.minor())?);
        }
        let days_left = (r.9 - today).num_days();
        contracts_out.push(Utilisation {
            contract_id: r.0,
            number: r.1.clone(),
            tender_title: r.2.clone(),
            lot_no: r.4,
            lot_title: r.5.clone(),
            vendor: r.7.clone(),
            term_start: r.8,
            term_end: r.9,
            max_value: r.10,
            called_value: r.11,
            utilisation_percent: calloff_rules::utilisation_percent(r.11, r.10),
            entitled_members: entitled,
            near_exhaustion: calloff_rules::utilisation_alert_due(r.11, r.10),
            near_expiry: (0..=calloff_rules::ALERT_EXPIRY_DAYS).contains(&days_left),
            expired: days_left < 0,
            process_saving,
            warning: String::new(),
        });
    }
    for u in &mut contracts_out {
        u.warning = warning(u);
    }
    if scope.member_id.is_some() {
        process_total = None;
    }

    // Positions of the contracts in view: CPV code, estimate, demand position, contract price.
    let mut cp_q = contract_positions::table
        .inner_join(tender_positions::table)
        .select((
            contract_positions::contract_id,
            contract_positions::position_id,
            contract_positions::unit_price,
            tender_positions::cpv_code,
        ))
        .into_boxed();
    if let Some(m) = scope.member_id {
        cp_q = cp_q.filter(contract_positions::contract_id.eq_any(in_view(m)));
    }
    let cp: Vec<(ContractId, TenderPositionId, Price, String)> = cp_q.load(conn)?;
    let mut positions_of: HashMap<ContractId, Vec<&(ContractId, TenderPositionId, Price, String)>> = HashMap::new();
    for c in &cp {
        positions_of.entry(c.0).or_default().push(c);
    }
    let cpv_of: HashMap<TenderPositionId, String> =
        cp.iter().map(|(_, p, _, cpv)| (*p, rules::cpv_division(cpv))).collect();

    // Figures are summed in cents under numeric keys (a million lines give some 300,000 cube
    // rows); keys and labels are written once per figure at the end.
    let mut by_member: HashMap<OrgId, Sums> = HashMap::new();
    let mut by_contract: HashMap<ContractId, Sums> = HashMap::new();
    let mut by_lot: HashMap<i64, Sums> = HashMap::new();
    let mut by_cpv: HashMap<&str, Sums> = HashMap::new();
    let mut by_year: HashMap<i32, Sums> = HashMap::new();
    let mut by_source: HashMap<Option<ReferenceSource>, Sums> = HashMap::new();
    // A contract's lot by number; a contract without its row (never in practice) stands for its
    // own lot under the negative of its number.
    let lot_of = |contract: ContractId| info.get(&contract).map_or(-contract.get(), |i| i.lot_id.get());
    let cpv_of_position = |p: TenderPositionId| cpv_of.get(&p).map_or("??", String::as_str);
    let mut totals = Sums::default();
    let mut lines_without_reference = 0;
    let mut years: Vec<i32> = Vec::new();
    for row in &cube {
        years.push(row.year);
        let source = row.source.as_deref().and_then(ReferenceSource::from_code);
        for sums in [
            by_member.entry(row.member_id).or_default(),
            by_contract.entry(row.contract_id).or_default(),
            by_lot.entry(lot_of(row.contract_id)).or_default(),
            by_cpv.entry(cpv_of_position(row.position_id)).or_default(),
            by_year.entry(row.year).or_default(),
            by_source.entry(source).or_default(),
            &mut totals,
        ] {
            sums.add_realised(row.volume, row.saving, row.lines)?;
        }
        if source.is_none() {
            lines_without_reference += row.lines;
        }
    }

    // Contracted savings: demanded quantity × (reference − contract price) per entitled member.
    // Demand of the contract positions, by (tender position, member): joined in SQL, looked up
    // by key (a search through all demand lines per contract, member and position took minutes
    // at scale).
    let demand: HashMap<(TenderPositionId, OrgId), Quantity> = {
        let mut q = demand_lines::table
            .inner_join(
                tender_positions::table
                    .on(tender_positions::demand_position_id.eq(demand_lines::position_id.nullable())),
            )
            .filter(tender_positions::id.eq_any(contract_positions::table.select(contract_positions::position_id)))
            .select((tender_positions::id, demand_lines::member_id, demand_lines::quantity))
            .into_boxed();
        if let Some(m) = scope.member_id {
            q = q.filter(demand_lines::member_id.eq(m));
        }
        let mut map = HashMap::new();
        for (t, m, quantity) in q.load::<(TenderPositionId, OrgId, Quantity)>(conn)? {
            // The first line wins, as the search through the list did.
            map.entry((t, m)).or_insert(quantity);
        }
        map
    };
    for r in &contract_rows {
        let Some(i) = info.get(&r.0) else { continue };
        if year.is_some_and(|y| y != i.year) {
            continue;
        }
        let positions: &[&(ContractId, TenderPositionId, Price, String)] =
            positions_of.get(&r.0).map_or(&[], Vec::as_slice);
        let members: Vec<OrgId> = members_of
            .get(&r.0)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
            .filter(|m| scope.member_id.is_none_or(|s| s == *m))
            .collect();
        let terms = state.contract_terms.get(conn, r.0)?;
        for m in members {
            let Some(cands) = terms.references.get(&m) else {
                continue;
            };
            for p in positions {
                let Some(quantity) = demand.get(&(p.1, m)) else {
                    continue;
                };
                let Some((reference, _)) = cands.get(&p.1).and_then(ReferenceCandidates::choose) else {
                    continue;
                };
                let saving = rules::line_saving(reference, p.2, *quantity)
                    .map_err(|e| AppError::Internal(format!("contracted saving: {e}")))?
                    .minor();
                for sums in [
                    by_member.entry(m).or_default(),
                    by_contract.entry(r.0).or_default(),
                    by_lot.entry(lot_of(r.0)).or_default(),
                    by_cpv.entry(cpv_of_position(p.1)).or_default(),
                    by_year.entry(i.year).or_default(),
                    &mut totals,
                ] {
                    sums.add_contracted(saving)?;
                }
            }
        }
        years.push(i.year);
    }
    years.sort_unstable();
    years.dedup();
    let mut by_member = figures(by_member, |m| {
        (
            format!("{m:08}"),
            names.get(m).cloned().unwrap_or_else(|| format!("Mitglied {m}")),
        )
    })?;
    by_member.sort_by(|a, b| a.label.cmp(&b.label));
    let by_contract = figures(by_contract, |id| match info.get(id) {
        Some(i) => (
            format!("{id:08}"),
            format!("{} – {} (Los {})", i.number, i.tender_title, i.lot_no),
        ),
        None => (format!("{id:08}"), format!("Vertrag {id}")),
    })?;
    // A lot's label from any of its contracts (they share tender and lot).
    let lot_info: HashMap<i64, &ContractInfo> = info.values().map(|i| (i.lot_id.get(), i)).collect();
    let by_lot = figures(by_lot, |lot| match lot_info.get(lot) {
        Some(i) if *lot >= 0 => (
            format!("{lot:08}"),
            format!("{}, Los {}: {}", i.tender_title, i.lot_no, i.lot_title),
        ),
        _ => (format!("v{:08}", -lot), format!("Los des Vertrags {}", -lot)),
    })?;
    let by_cpv_division = figures(by_cpv, |d| (d.to_string(), rules::cpv_division_label(d)))?;
    let by_year = figures(by_year, |y| (y.to_string(), y.to_string()))?;
    let by_source = figures(by_source, |s| match s {
        Some(s) => (format!("{}", *s as u8), s.label().to_string()),
        None => ("9".into(), "Ohne Referenzpreis".into()),
    })?;
    Ok(Dashboard {
        member_id: scope.member_id,
        member_name: scope.member_id.and_then(|m| names.get(&m).cloned()),
        year,
        years,
        totals: Totals {
            volume: amount(totals.volume)?,
            realised: amount(totals.realised)?,
            contracted: amount(totals.contracted)?,
            process: process_total,
            lines: totals.lines,
            lines_without_reference,
        },
        by_member,
        by_contract,
        by_lot,
        by_cpv_division,
        by_year,
        by_source,
        contracts: contracts_out,
    })
}

/// One figure's sums in cents while a dashboard is added up.
#[derive(Debug, Default, Clone, Copy)]
struct Sums {
    volume: i64,
    realised: i64,
    contracted: i64,
    lines: i64,
}

impl Sums {
    fn add_realised(&mut self, volume: i64, saving: i64, lines: i64) -> AppResult<()> {
        self.volume = checked(self.volume, volume)?;
        self.realised = checked(self.realised, saving)?;
        self.lines = checked(self.lines, lines)?;
        Ok(())
    }

    fn add_contracted(&mut self, saving: i64) -> AppResult<()> {
        self.contracted = checked(self.contracted, saving)?;
        Ok(())
    }
}

fn checked(a: i64, b: i64) -> AppResult<i64> {
    a.checked_add(b)
        .ok_or_else(|| AppError::Internal("sum: beyond the range of cents".into()))
}

fn amount(minor: i64) -> AppResult<Amount> {
    Amount::from_minor(minor).map_err(|e| AppError::Internal(format!("amount: {e}")))
}

/// A view's figures from its sums, ordered by key, each with its share of savings.
fn figures<K>(sums: HashMap<K, Sums>, key_and_label: impl Fn(&K) -> (String, String)) -> AppResult<Vec<Figure>> {
    let mut out = Vec::with_capacity(sums.len());
    for (k, s) in sums {
        let (key, label) = key_and_label(&k);
        let mut f = Figure::new(key, label);
        f.volume = amount(s.volume)?;
        f.realised = amount(s.realised)?;
        f.contracted = amount(s.contracted)?;
        f.lines = s.lines;
        out.push(f);
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(finish(out))
}
