//! Call-offs in German Excel CSV (order by file, template, export per member, contract and
//! period) and member quotas set by officers.

use super::{positions, CalloffCommand};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{calloff_lines, calloffs, contract_members, contracts, organisations, tender_positions};
use crate::db::{write_tx, DbConn};
use crate::domain::ids::{ContractId, OrgId, TenderPositionId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::numbers;
use crate::domain::policy::Reach;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::import::{self, RowError, Table};
use crate::AppState;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::json;

/// The order template: every position with price and what is left.
pub fn template(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    contract_id: ContractId,
) -> AppResult<Vec<u8>> {
    let (_, positions) = super::detail(conn, state, user, contract_id)?;
    let mut out = import::GermanCsv::new();
    out.row([
        "Pos.",
        "Beschreibung",
        "Einheit",
        "Einzelpreis (EUR netto)",
        "Verbleibend",
        "Menge",
    ]);
    for p in &positions {
        out.row([
            p.position_no.to_string(),
            p.description.clone(),
            p.unit.clone(),
            import::decimal_cell(p.unit_price.to_decimal(), 2),
            import::decimal_cell(p.remaining.to_decimal(), 0),
            String::new(),
        ]);
    }
    Ok(out.finish())
}

/// Quantities from an order file (columns "Pos." and "Menge"); every bad row is reported and
/// nothing is ordered from a file with errors.
pub fn quantities_from_csv(
    conn: &mut DbConn,
    contract_id: ContractId,
    bytes: &[u8],
) -> AppResult<Vec<(TenderPositionId, Quantity)>> {
    let positions = positions(conn, contract_id)?;
    let refuse = |errors: Vec<RowError>| AppError::Validation {
        message: format!(
            "Die Datei wurde nicht übernommen: {} Fehler, nichts bestellt.",
            errors.len()
        ),
        fields: FieldErrors::from([("file".to_string(), errors.iter().map(|e| e.to_string()).collect())]),
    };
    let table = Table::parse(bytes).map_err(|e| refuse(vec![e]))?;
    let (pos_col, qty_col) = match (
        table.column(&["pos.", "pos", "position"], "Pos."),
        table.column(&["menge", "quantity"], "Menge"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => return Err(refuse(a.err().into_iter().chain(b.err()).collect())),
    };
    let style = table.decimal_style(&[qty_col]);
    let mut errors = Vec::new();
    let mut out: Vec<(TenderPositionId, Quantity)> = Vec::new();
    for (line, row) in &table.rows {
        let pos_text = import::cell(row, pos_col).unwrap_or("");
        let qty_text = import::cell(row, qty_col).unwrap_or("");
        if qty_text.is_empty() {
            continue;
        }
        let Some(p) = pos_text
            .parse::<i32>()
            .ok()
            .and_then(|n| positions.iter().find(|p| p.position_no == n))
        else {
            errors.push(RowError {
                line: *line,
                column: "Pos.".into(),
                reason: format!("„{pos_text}“ ist keine Position dieser Rahmenvereinbarung."),
            });
            continue;
        };
        if out.iter().any(|(id, _)| *id == p.position_id) {
            errors.push(RowError {
                line: *line,
                column: "Pos.".into(),
                reason: format!("Pos. {} steht mehrfach in der Datei.", p.position_no),
            });
            continue;
        }
        match numbers::parse(qty_text, style)
            .map_err(|e| e.to_string())
            .and_then(|d| Quantity::from_decimal(d).map_err(|e| format!("„{qty_text}“ {e}")))
        {
            Ok(q) => out.push((p.position_id, q)),
            Err(e) => errors.push(RowError {
                line: *line,
                column: "Menge".into(),
                reason: format!("Die Menge {e}."),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(refuse(errors));
    }
    Ok(out)
}

/// Places a call-off from an order file plus the form's address fields.
pub fn place_csv(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    contract_id: ContractId,
    bytes: &[u8],
    mut input: CalloffCommand,
) -> AppResult<super::Placed> {
    user.require(&[Role::Buyer])?;
    // Only entitled buyers learn anything about the contract's positions.
    super::detail(conn, state, user, contract_id)?;
    input.quantities = quantities_from_csv(conn, contract_id, bytes)?;
    super::place(conn, state, user, contract_id, &input)
}

/// Export filter; `None` means all the user may see.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub contract_id: Option<ContractId>,
    pub member_id: Option<OrgId>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

type ExportRow = (
    String,
    chrono::NaiveDateTime,
    String,
    String,
    String,
    i32,
    String,
    Quantity,
    Price,
    Amount,
);

/// The most call-off lines one export holds: a large cooperative's two years (a million lines)
/// are narrowed by period, member or contract first.
pub const EXPORT_MAX_LINES: i64 = 100_000;

/// Call-off lines as German Excel CSV, per member, contract and period (German days); a
/// buyer only ever gets its own member's lines, a vendor those of its contracts. Every line of
/// the choice, or a refusal that says how to narrow it: until 2026-12 the export read the newest
/// 500 call-offs and filtered those, so a year's export of a busy cooperative came back short.
pub fn export(conn: &mut DbConn, user: &CurrentUser, filter: &ExportFilter) -> AppResult<Vec<u8>> {
    use crate::clock::{day_end_utc, day_start_utc};
    // The lines with their call-off, contract and member, narrowed in the database; who may see
    // which call-off is `orders::visible`'s rule, said here over the joined contract.
    let chosen = || {
        let mut q = calloff_lines::table
            .inner_join(
                calloffs::table
                    .inner_join(contracts::table)
                    .inner_join(organisations::table),
            )
            .inner_join(tender_positions::table)
            .into_boxed();
        match user.reach() {
            Reach::Everything => {}
            Reach::Member(member) => q = q.filter(calloffs::member_id.eq(member)),
            Reach::Vendor(vendor) => q = q.filter(contracts::vendor_id.eq(vendor)),
        }
        if let Some(c) = filter.contract_id {
            q = q.filter(calloffs::contract_id.eq(c));
        }
        if let Some(m) = filter.member_id {
            q = q.filter(calloffs::member_id.eq(m));
        }
        if let Some(f) = filter.from {
            q = q.filter(calloffs::created_at.ge(day_start_utc(f)));
        }
        if let Some(t) = filter.to {
            q = q.filter(calloffs::created_at.lt(day_end_utc(t)));
        }
        q
    };
    let lines: i64 = chosen().count().get_result(conn)?;
    if lines > EXPORT_MAX_LINES {
        return Err(AppError::BadRequest(format!(
            "Die Auswahl umfasst {} Abrufzeilen; eine Datei fasst höchstens {}. Bitte grenzen Sie sie mit „von“ und „bis“, „mitglied“ oder „vertrag“ ein.",
            crate::german::quantity_de(lines.into()),
            crate::german::quantity_de(EXPORT_MAX_LINES.into()),
        )));
    }
    let rows: Vec<ExportRow> = chosen()
        .order((calloffs::id.asc(), tender_positions::position_no.asc()))
        .select((
            calloffs::number,
            calloffs::created_at,
            calloffs::status,
            organisations::name,
            contracts::number,
            tender_positions::position_no,
            tender_positions::description,
            calloff_lines::quantity,
            calloff_lines::unit_price,
            calloff_lines::line_total,
        ))
        .load(conn)?;
    let mut out = import::GermanCsv::new();
    out.row([
        "Abruf",
        "Datum",
        "Status",
        "Mitglied",
        "Rahmenvereinbarung",
        "Pos.",
        "Beschreibung",
        "Menge",
        "Einzelpreis (EUR netto)",
        "Summe (EUR netto)",
    ]);
    for (number, at, status, member, contract, no, description, q, p, total) in rows {
        out.row([
            number,
            crate::german::datetime_de(at),
            status,
            member,
            contract,
            no.to_string(),
            description,
            import::decimal_cell(q.to_decimal(), 0),
            import::decimal_cell(p.to_decimal(), 2),
            import::decimal_cell(total.to_decimal(), 2),
        ]);
    }
    Ok(out.finish())
}

/// Sets (or with `None` removes) a member's quota on a contract (officer). A quota cannot be
/// below what the member has already called off, nor above the contract's maximum value.
pub fn set_quota(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    contract_id: ContractId,
    member_id: OrgId,
    quota: Option<Amount>,
) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        crate::db::lock_key(c, &format!("contract:{contract_id}"))?;
        let max: Amount = contracts::table
            .find(contract_id)
            .select(contracts::max_value)
            .first(c)?;
        let called: Amount = contract_members::table
            .filter(contract_members::contract_id.eq(contract_id))
            .filter(contract_members::member_id.eq(member_id))
            .select(contract_members::called_value)
            .first(c)?;
        if let Some(q) = quota {
            if q.minor() < called.minor() {
                return Err(AppError::field(
                    "quota",
                    format!(
                        "Das Mitglied hat bereits {} abgerufen; das Kontingent kann nicht darunter liegen.",
                        crate::german::money_de(called.to_decimal())
                    ),
                ));
            }
            if q.minor() > max.minor() {
                return Err(AppError::field(
                    "quota",
                    format!(
                        "Das Kontingent kann den Höchstwert der Rahmenvereinbarung ({}) nicht übersteigen.",
                        crate::german::money_de(max.to_decimal())
                    ),
                ));
            }
        }
        diesel::update(
            contract_members::table
                .filter(contract_members::contract_id.eq(contract_id))
                .filter(contract_members::member_id.eq(member_id)),
        )
        .set(contract_members::quota_value.eq(quota))
        .execute(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "contract.quota_set",
                "contract",
                contract_id,
                json!({ "member_id": member_id, "quota": quota }),
            ),
        )?;
        Ok(())
    })
}
