//! Savings and the board's figures (lifecycle step 9): the reference price each call-off line is
//! stored with, contracted and realised savings, volume and utilisation by member, contract, lot,
//! CPV division and year, for the cooperative or one member; as data for pages, CSV and API.

pub mod api;
pub mod chart;
pub mod routes;

use crate::auth::CurrentUser;
use crate::db::schema::{
    bid_lots, bid_prices, bids, contract_members, contract_positions, contracts, demand_lines, organisations,
    tender_lots, tender_positions, tenders,
};
use crate::db::DbConn;
use crate::domain::bid::BidStatus;
use crate::domain::calloff::{self as calloff_rules, PricedLine};
use crate::domain::ids::{ContractId, LotId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::policy::Reach;
use crate::domain::roles::OrgType;
use crate::domain::savings::{self as rules, ReferenceCandidates, ReferenceSource};
use crate::error::{AppError, AppResult};
use crate::AppState;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use serde::Serialize;
use std::collections::HashMap;

/// What a call-off line is stored with: its reference, where it came from, and the saving.
/// All `None` when no reference exists (no own price, no estimate, no valid bid).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineReference {
    pub price: Option<Price>,
    pub source: Option<ReferenceSource>,
    pub saving: Option<Amount>,
}

impl LineReference {
    pub fn source_code(&self) -> Option<&'static str> {
        self.source.map(ReferenceSource::code)
    }
}

/// The reference candidates of each of `members` for contract positions of a lot, by member and
/// position: its own price from the demand call, the position's estimate, the median of the valid
/// bids (current, not excluded on the lot) — three queries, whatever the number of members and
/// positions. Final once the contract is concluded, so the contract's cached terms hold them.
pub fn candidates(
    conn: &mut DbConn,
    lot_id: LotId,
    members: &[i64],
    position_ids: &[i64],
) -> AppResult<HashMap<i64, HashMap<i64, ReferenceCandidates>>> {
    let positions: Vec<(i64, Option<i64>, Option<Price>)> = tender_positions::table
        .filter(tender_positions::id.eq_any(position_ids))
        .select((
            tender_positions::id,
            tender_positions::demand_position_id,
            tender_positions::estimate_price,
        ))
        .load(conn)?;
    let demand_ids: Vec<i64> = positions.iter().filter_map(|p| p.1).collect();
    let own: HashMap<(i64, i64), Price> = demand_lines::table
        .filter(demand_lines::member_id.eq_any(members))
        .filter(demand_lines::position_id.eq_any(&demand_ids))
        .select((
            demand_lines::member_id,
            demand_lines::position_id,
            demand_lines::reference_price,
        ))
        .load::<(i64, i64, Option<Price>)>(conn)?
        .into_iter()
        .filter_map(|(m, id, p)| p.map(|p| ((m, id), p)))
        .collect();
    let valid_on_lot = bid_lots::table
        .filter(bid_lots::lot_id.eq(lot_id))
        .filter(bid_lots::excluded_kind.is_null())
        .select(bid_lots::bid_id);
    let current = bids::table
        .filter(bids::status.eq(BidStatus::Submitted))
        .select(bids::id);
    let mut offered: HashMap<i64, Vec<Price>> = HashMap::new();
    for (position_id, price) in bid_prices::table
        .filter(bid_prices::position_id.eq_any(position_ids))
        .filter(bid_prices::bid_id.eq_any(valid_on_lot))
        .filter(bid_prices::bid_id.eq_any(current))
        .select((bid_prices::position_id, bid_prices::unit_price))
        .load::<(i64, Price)>(conn)?
    {
        offered.entry(position_id).or_default().push(price);
    }
    let medians: HashMap<i64, Price> = offered
        .iter()
        .filter_map(|(id, prices)| rules::median(prices).map(|m| (*id, m)))
        .collect();
    Ok(members
        .iter()
        .map(|&m| {
            let of_member = positions
                .iter()
                .map(|&(id, demand_id, estimate)| {
                    let c = ReferenceCandidates {
                        member: demand_id.and_then(|d| own.get(&(m, d)).copied()),
                        estimate,
                        median: medians.get(&id).copied(),
                    };
                    (id, c)
                })
                .collect();
            (m, of_member)
        })
        .collect())
}

/// The reference and saving of each priced call-off line, keyed by position, from the ordering
/// member's candidates; `calloff::place` stores them with the lines.
pub fn line_references(
    candidates: Option<&HashMap<i64, ReferenceCandidates>>,
    lines: &[PricedLine],
) -> AppResult<HashMap<i64, LineReference>> {
    let mut out = HashMap::with_capacity(lines.len());
    for l in lines {
        let chosen = candidates
            .and_then(|c| c.get(&l.position_id))
            .and_then(ReferenceCandidates::choose);
        let r = match chosen {
            Some((price, source)) => LineReference {
                price: Some(price),
                source: Some(source),
                saving: Some(
                    rules::line_saving(price, l.unit_price, l.quantity)
                        .map_err(|e| AppError::Internal(format!("saving of position {}: {e}", l.position_id)))?,
                ),
            },
            None => LineReference::default(),
        };
        out.insert(l.position_id, r);
    }
    Ok(out)
}

// ----------------------------------------------------------------------------- who sees what

/// Whose figures a view shows: the whole cooperative, or one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scope {
    pub member_id: Option<i64>,
}

/// Why a vendor gets no figures.
pub fn scope_for_vendor() -> AppError {
    AppError::Forbidden(
        "Die Auswertung der Einsparungen steht der Genossenschaft und ihren Mitgliedern offen, nicht Lieferanten."
            .into(),
    )
}

/// The cooperative may look at everything or at one member; a buyer only ever at its own member,
/// whatever the address asks for; vendors not at all.
pub fn scope_for(conn: &mut DbConn, user: &CurrentUser, requested_member: Option<i64>) -> AppResult<Scope> {
    match user.reach() {
        Reach::Vendor(_) => Err(scope_for_vendor()),
        Reach::Member(member) => match requested_member {
            Some(m) if m != member => Err(AppError::Forbidden(
                "Sie sehen nur die Zahlen Ihres eigenen Hauses; die anderer Mitglieder nicht.".into(),
            )),
            _ => Ok(Scope {
                member_id: Some(member),
            }),
        },
        Reach::Everything => {
            if let Some(m) = requested_member {
                let kind: Option<OrgType> = organisations::table
                    .find(m)
                    .select(organisations::org_type)
                    .first(conn)
                    .optional()?;
                if kind != Some(OrgType::Member) {
                    return Err(AppError::BadRequest(format!(
                        "Ein Mitglied mit der Nummer {m} gibt es nicht."
                    )));
                }
            }
            Ok(Scope {
                member_id: requested_member,
            })
        }
    }
}

/// A year given in a filter: four digits within the platform's plausible range.
pub fn parse_year(text: Option<&str>) -> AppResult<Option<i32>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => match t.parse::<i32>() {
            Ok(y) if (2000..=2100).contains(&y) => Ok(Some(y)),
            _ => Err(AppError::BadRequest(format!(
                "„{t}“ ist kein Jahr zwischen 2000 und 2100 (z. B. 2026)."
            ))),
        },
    }
}

/// A member number given in a filter.
pub fn parse_member(text: Option<&str>) -> AppResult<Option<i64>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|m| *m > 0)
            .map(Some)
            .ok_or_else(|| AppError::BadRequest(format!("„{t}“ ist keine Mitgliedsnummer."))),
    }
}

// ----------------------------------------------------------------------------- the cube

/// Realised figures of call-off lines, summed per member, contract, position, year and source.
#[derive(Debug, Clone, QueryableByName)]
pub struct CubeRow {
    #[diesel(sql_type = BigInt)]
    pub member_id: i64,
    #[diesel(sql_type = BigInt)]
    pub contract_id: ContractId,
    #[diesel(sql_type = BigInt)]
    pub position_id: i64,
    #[diesel(sql_type = Integer)]
    pub year: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub source: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub volume: i64,
    #[diesel(sql_type = BigInt)]
    pub saving: i64,
    #[diesel(sql_type = BigInt)]
    pub lines: i64,
}

/// The one aggregation over call-off lines: a SUM/GROUP BY over BIGINT cents on the lines alone.
/// Each line carries its call-off's member, contract, German order year and whether it still holds
/// volume (migration 000008), so no join is needed and SQLite streams the groups in the order of
/// the covering index `calloff_lines_cube`. `member` and `year` are validated integers.
pub fn cube_sql(member: Option<i64>, year: Option<i32>) -> String {
    let mut filter = String::new();
    if let Some(m) = member {
        filter.push_str(&format!(" AND member_id = {m}"));
    }
    if let Some(y) = year {
        filter.push_str(&format!(" AND order_year = {y}"));
    }
    format!(
        "SELECT member_id, contract_id, position_id, order_year AS year, reference_source AS source, \
         CAST(SUM(line_total) AS BIGINT) AS volume, CAST(COALESCE(SUM(saving), 0) AS BIGINT) AS saving, \
         COUNT(*) AS lines \
         FROM calloff_lines WHERE holds_volume = TRUE{filter} \
         GROUP BY member_id, contract_id, position_id, order_year, reference_source"
    )
}

pub fn cube(conn: &mut DbConn, member: Option<i64>, year: Option<i32>) -> AppResult<Vec<CubeRow>> {
    Ok(match conn {
        DbConn::Pg(c) => diesel::sql_query(cube_sql(member, year)).load::<CubeRow>(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(cube_sql(member, year)).load::<CubeRow>(c)?,
    })
}

// ----------------------------------------------------------------------------- the dashboard

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
    pub member_id: Option<i64>,
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
    let in_view = |m: i64| {
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
    let member_rows: Vec<(ContractId, i64)> = member_q.load(conn)?;
    let mut members_of: HashMap<ContractId, Vec<i64>> = HashMap::new();
    for (c, m) in &member_rows {
        members_of.entry(*c).or_default().push(*m);
    }
    let names: HashMap<i64, String> = organisations::table
        .filter(organisations::org_type.eq(OrgType::Member))
        .select((organisations::id, organisations::name))
        .load::<(i64, String)>(conn)?
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
    let cp: Vec<(ContractId, i64, Price, String)> = cp_q.load(conn)?;
    let mut positions_of: HashMap<ContractId, Vec<&(ContractId, i64, Price, String)>> = HashMap::new();
    for c in &cp {
        positions_of.entry(c.0).or_default().push(c);
    }
    let cpv_of: HashMap<i64, String> = cp.iter().map(|(_, p, _, cpv)| (*p, rules::cpv_division(cpv))).collect();

    // Figures are summed in cents under numeric keys (a million lines give some 300,000 cube
    // rows); keys and labels are written once per figure at the end.
    let mut by_member: HashMap<i64, Sums> = HashMap::new();
    let mut by_contract: HashMap<ContractId, Sums> = HashMap::new();
    let mut by_lot: HashMap<i64, Sums> = HashMap::new();
    let mut by_cpv: HashMap<&str, Sums> = HashMap::new();
    let mut by_year: HashMap<i32, Sums> = HashMap::new();
    let mut by_source: HashMap<Option<ReferenceSource>, Sums> = HashMap::new();
    // A contract's lot by number; a contract without its row (never in practice) stands for its
    // own lot under the negative of its number.
    let lot_of = |contract: ContractId| info.get(&contract).map_or(-contract.get(), |i| i.lot_id.get());
    let cpv_of_position = |p: i64| cpv_of.get(&p).map_or("??", String::as_str);
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
    let demand: HashMap<(i64, i64), Quantity> = {
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
        for (t, m, quantity) in q.load::<(i64, i64, Quantity)>(conn)? {
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
        let positions: &[&(ContractId, i64, Price, String)] = positions_of.get(&r.0).map_or(&[], Vec::as_slice);
        let members: Vec<i64> = members_of
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

/// The views a dashboard exports, by the name in their CSV address.
pub const VIEWS: [(&str, &str); 7] = [
    ("mitglieder", "Nach Mitglied"),
    ("vertraege", "Nach Rahmenvereinbarung"),
    ("lose", "Nach Los"),
    ("cpv", "Nach CPV-Abteilung"),
    ("jahre", "Nach Jahr"),
    ("quellen", "Nach Herkunft des Referenzpreises"),
    ("auslastung", "Ausschöpfung und Laufzeit der Rahmenvereinbarungen"),
];

fn money_cell(a: Amount) -> String {
    crate::import::decimal_cell(a.to_decimal(), 2)
}

/// One view as German Excel CSV; `None` for a view that does not exist.
pub fn view_csv(d: &Dashboard, view: &str) -> Option<Vec<u8>> {
    let mut out = crate::import::GermanCsv::new();
    let figures = match view {
        "mitglieder" => Some((&d.by_member, "Mitglied")),
        "vertraege" => Some((&d.by_contract, "Rahmenvereinbarung")),
        "lose" => Some((&d.by_lot, "Los")),
        "cpv" => Some((&d.by_cpv_division, "CPV-Abteilung")),
        "jahre" => Some((&d.by_year, "Jahr")),
        "quellen" => Some((&d.by_source, "Referenzpreis")),
        "auslastung" => None,
        _ => return None,
    };
    match figures {
        Some((rows, what)) => {
            out.row([
                what,
                "Abrufvolumen (EUR netto)",
                "Realisierte Einsparung (EUR netto)",
                "Vertragliche Einsparung (EUR netto)",
                "Einsparquote realisiert (%)",
                "Abrufzeilen",
            ]);
            for f in rows {
                out.row([
                    f.label.clone(),
                    money_cell(f.volume),
                    money_cell(f.realised),
                    money_cell(f.contracted),
                    f.realised_percent
                        .map(|p| crate::import::decimal_cell(p, 2))
                        .unwrap_or_default(),
                    f.lines.to_string(),
                ]);
            }
        }
        None => {
            out.row([
                "Rahmenvereinbarung",
                "Ausschreibung",
                "Los",
                "Lieferant",
                "Laufzeit von",
                "Laufzeit bis",
                "Höchstwert (EUR netto)",
                "Abgerufen (EUR netto)",
                "Ausschöpfung (%)",
                "Abrufberechtigte Mitglieder",
                "Hinweis",
                "Prozesseinsparung (EUR)",
            ]);
            for c in &d.contracts {
                out.row([
                    c.number.clone(),
                    c.tender_title.clone(),
                    format!("{}: {}", c.lot_no, c.lot_title),
                    c.vendor.clone(),
                    c.term_start.format("%d.%m.%Y").to_string(),
                    c.term_end.format("%d.%m.%Y").to_string(),
                    money_cell(c.max_value),
                    money_cell(c.called_value),
                    crate::import::decimal_cell(c.utilisation_percent, 2),
                    c.entitled_members.to_string(),
                    c.warning.clone(),
                    c.process_saving.map(money_cell).unwrap_or_default(),
                ]);
            }
        }
    }
    Some(out.finish())
}

/// What a contract's row warns of, in words.
pub fn warning(c: &Utilisation) -> String {
    let mut parts = Vec::new();
    if c.near_exhaustion {
        parts.push(format!(
            "nahezu ausgeschöpft (ab {} %)",
            calloff_rules::ALERT_UTILISATION_PERCENT
        ));
    }
    if c.near_expiry {
        parts.push(format!(
            "läuft in höchstens {} Tagen aus",
            calloff_rules::ALERT_EXPIRY_DAYS
        ));
    }
    if c.expired {
        parts.push("abgelaufen".to_string());
    }
    parts.join("; ")
}

/// Years as the filter offers them: those with figures, and the current one.
pub fn year_choices(d: &Dashboard, today: NaiveDate) -> Vec<i32> {
    let mut y = d.years.clone();
    y.push(today.year());
    y.sort_unstable();
    y.dedup();
    y
}

/// Computed dashboards, kept while nothing has changed: every change that moves a figure (a
/// call-off and each step of it, an award, demand) writes an audit event in its transaction, so
/// the newest event id is the version of all figures. A dashboard is reused for the same
/// scope, year, day and version, at most `DASHBOARD_TTL` long: on PostgreSQL an event id can
/// commit after a higher one, and the age limit bounds how long such a change can go unseen.
///
/// A dashboard that took `SLOW_DASHBOARD` or more to compute (the whole cooperative at the scale
/// of a large one: seconds) is not computed again while readers wait: they keep getting the last
/// one while a background thread computes the new one, so a change shows up one computation
/// later. A quick one (a member's own, or a small cooperative) is always computed at once.
#[derive(Debug, Default)]
pub struct DashboardCache {
    entries: std::sync::Mutex<HashMap<DashboardKey, CachedDashboard>>,
    /// Held while one dashboard is computed: 32 board members opening the page at once wait for
    /// one computation instead of running 32 side by side on the same cores.
    computing: std::sync::Mutex<()>,
    /// Set while a background thread computes a slow dashboard again (one at a time).
    refreshing: std::sync::atomic::AtomicBool,
    /// Off on the plain path (`BUENDEL_SPEED=plain`): every request computes its dashboard.
    off: bool,
}

/// Member, year and day a dashboard was computed for.
type DashboardKey = (Option<i64>, Option<i32>, NaiveDate);

/// A computed dashboard with the version it shows, when and how long it took to compute.
#[derive(Debug, Clone)]
struct CachedDashboard {
    version: i64,
    at: std::time::Instant,
    cost: std::time::Duration,
    dashboard: std::sync::Arc<Dashboard>,
}

const DASHBOARD_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// From this computing time on, readers get the last dashboard while the next one is computed.
const SLOW_DASHBOARD: std::time::Duration = std::time::Duration::from_millis(200);

impl DashboardCache {
    /// A cache that reuses dashboards (`true`) or computes each one.
    pub fn new(on: bool) -> DashboardCache {
        DashboardCache {
            off: !on,
            ..DashboardCache::default()
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<DashboardKey, CachedDashboard>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The dashboard for `scope` and `year`, computed only when something changed.
    pub fn get(
        &self,
        conn: &mut DbConn,
        db: &crate::db::Db,
        state: &AppState,
        scope: Scope,
        year: Option<i32>,
    ) -> AppResult<std::sync::Arc<Dashboard>> {
        if self.off {
            return Ok(std::sync::Arc::new(dashboard(conn, state, scope, year)?));
        }
        let version = current_version(conn)?;
        let key = (scope.member_id, year, berlin_today(state));
        let current = |entry: &CachedDashboard| entry.version == version && entry.at.elapsed() < DASHBOARD_TTL;
        let cached = self.entries().get(&key).cloned();
        if let Some(entry) = cached {
            if current(&entry) {
                return Ok(entry.dashboard);
            }
            if entry.cost >= SLOW_DASHBOARD {
                self.refresh_in_background(db.clone(), state.clone(), scope, year);
                return Ok(entry.dashboard);
            }
        }
        let _computing = self.computing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = self.entries().get(&key).filter(|e| current(e)) {
            return Ok(entry.dashboard.clone());
        }
        Ok(self.compute(conn, state, scope, year, version)?.dashboard)
    }

    /// Computes a dashboard and keeps it.
    fn compute(
        &self,
        conn: &mut DbConn,
        state: &AppState,
        scope: Scope,
        year: Option<i32>,
        version: i64,
    ) -> AppResult<CachedDashboard> {
        let key = (scope.member_id, year, berlin_today(state));
        let started = std::time::Instant::now();
        let entry = CachedDashboard {
            version,
            dashboard: std::sync::Arc::new(dashboard(conn, state, scope, year)?),
            cost: started.elapsed(),
            at: std::time::Instant::now(),
        };
        let mut map = self.entries();
        // One entry per member and year at most; a day change leaves old ones behind.
        if map.len() > 4_096 {
            map.clear();
        }
        map.insert(key, entry.clone());
        Ok(entry)
    }

    /// Computes the dashboard again on a thread of its own, unless one is being computed so.
    fn refresh_in_background(&self, db: crate::db::Db, state: AppState, scope: Scope, year: Option<i32>) {
        use std::sync::atomic::Ordering;
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let work = move || {
            let cache = state.dashboards.clone();
            let result = db.get().and_then(|mut conn| {
                // The version is read first: a change committed while computing is picked up
                // by the next refresh.
                let version = current_version(&mut conn)?;
                cache.compute(&mut conn, &state, scope, year, version)
            });
            if let Err(e) = result {
                log::warn!("Auswertung im Hintergrund nicht berechnet: {e}");
            }
            cache.refreshing.store(false, Ordering::Release);
        };
        if let Err(e) = std::thread::Builder::new().name("dashboard".into()).spawn(work) {
            log::warn!("Auswertung im Hintergrund nicht gestartet: {e}");
            self.refreshing.store(false, Ordering::Release);
        }
    }

    /// Computes the cooperative's dashboard on a thread of its own, so that the board's first
    /// visit after a start does not wait for it.
    pub fn warm_up(&self, db: crate::db::Db, state: AppState) {
        if !self.off {
            self.refresh_in_background(db, state, Scope { member_id: None }, None);
        }
    }
}

/// The version of all figures: the newest audit event.
fn current_version(conn: &mut DbConn) -> AppResult<i64> {
    use crate::db::schema::audit_events;
    Ok(audit_events::table
        .select(diesel::dsl::max(audit_events::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

fn berlin_today(state: &AppState) -> NaiveDate {
    state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}
