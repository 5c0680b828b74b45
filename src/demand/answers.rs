//! Members' answers until the deadline: quantities and today's prices by form, German-Excel CSV
//! (template, all-or-nothing upload with every bad row reported) or API.

use super::{check_read, find_call, is_invited, positions, stream, Position};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{demand_lines, demand_positions, demand_responses};
use crate::db::{write_tx, DbConn};
use crate::domain::demand::CallStatus;
use crate::domain::ids::{DemandCallId, DemandPositionId, OrgId, UserId};
use crate::domain::money::{Price, Quantity};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::import::{self, RowError, Table};
use crate::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// One line of a member's demand, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DemandEntry {
    #[schema(value_type = i64)]
    pub position_id: DemandPositionId,
    pub quantity: Quantity,
    pub reference_price: Option<Price>,
}

/// A member's current lines, by position.
pub fn member_lines(conn: &mut DbConn, call_id: DemandCallId, member_id: OrgId) -> AppResult<Vec<DemandEntry>> {
    let rows: Vec<(DemandPositionId, Quantity, Option<Price>)> = demand_lines::table
        .filter(demand_lines::call_id.eq(call_id))
        .filter(demand_lines::member_id.eq(member_id))
        .select((
            demand_lines::position_id,
            demand_lines::quantity,
            demand_lines::reference_price,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(position_id, quantity, reference_price)| DemandEntry {
            position_id,
            quantity,
            reference_price,
        })
        .collect())
}

/// That a member has answered a call: when, and by whom.
#[derive(Insertable)]
#[diesel(table_name = demand_responses)]
struct NewDemandResponse {
    call_id: DemandCallId,
    member_id: OrgId,
    answered_at: NaiveDateTime,
    answered_by: UserId,
}

/// Replaces the buyer's member's whole demand in one transaction (all or nothing).
pub fn save_demand(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    call_id: DemandCallId,
    entries: &[DemandEntry],
) -> AppResult<()> {
    user.require(&[Role::Buyer])?;
    let member_id = user.organisation_id;
    write_tx(conn, |c| {
        let call = find_call(c, call_id)?;
        if call.status == CallStatus::Draft || !is_invited(c, call_id, member_id)? {
            return Err(AppError::NotFound);
        }
        if !call.accepts_demand(state.clock.now_naive()) {
            return Err(AppError::Conflict(
                "Die Frist dieser Bedarfsabfrage ist abgelaufen; Ihr Bedarf kann nicht mehr geändert werden.".into(),
            ));
        }
        let valid: HashSet<DemandPositionId> = demand_positions::table
            .filter(demand_positions::call_id.eq(call_id))
            .select(demand_positions::id)
            .load::<DemandPositionId>(c)?
            .into_iter()
            .collect();
        let mut seen = HashSet::new();
        for e in entries {
            if !valid.contains(&e.position_id) || !seen.insert(e.position_id) {
                return Err(AppError::BadRequest(format!(
                    "Position {} gehört nicht (oder doppelt) zu dieser Bedarfsabfrage.",
                    e.position_id
                )));
            }
            if e.quantity.is_zero() {
                return Err(AppError::BadRequest("Mengen müssen größer als 0 sein.".into()));
            }
        }
        diesel::delete(
            demand_lines::table
                .filter(demand_lines::call_id.eq(call_id))
                .filter(demand_lines::member_id.eq(member_id)),
        )
        .execute(c)?;
        // Plain column tuples: Diesel binds these about twice as fast as a derived Insertable.
        let rows: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    demand_lines::call_id.eq(call_id),
                    demand_lines::position_id.eq(e.position_id),
                    demand_lines::member_id.eq(member_id),
                    demand_lines::quantity.eq(e.quantity.minor()),
                    demand_lines::reference_price.eq(e.reference_price.map(|p| p.minor())),
                )
            })
            .collect();
        // 5 parameters a row: 4,000 rows stay below SQLite's limit of 32,766 per statement.
        for chunk in rows.chunks(4_000) {
            // Multi-row inserts are typed per backend; the enum cannot express them.
            match c {
                DbConn::Sqlite(inner) => diesel::insert_into(demand_lines::table).values(chunk).execute(inner)?,
                DbConn::Pg(inner) => diesel::insert_into(demand_lines::table).values(chunk).execute(inner)?,
            };
        }
        let now = state.clock.now_naive();
        diesel::delete(
            demand_responses::table
                .filter(demand_responses::call_id.eq(call_id))
                .filter(demand_responses::member_id.eq(member_id)),
        )
        .execute(c)?;
        diesel::insert_into(demand_responses::table)
            .values(NewDemandResponse {
                call_id,
                member_id,
                answered_at: now,
                answered_by: user.id,
            })
            .execute(c)?;
        let total: Decimal = entries.iter().map(|e| e.quantity.to_decimal()).sum();
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "demand.saved",
                "demand_call",
                call_id,
                json!({ "member_id": member_id, "lines": entries.len(), "total_quantity": total.to_string() }),
            )
            .in_stream(stream(call_id)),
        )
    })
}

/// The first `max` characters of a text, with "…" when cut.
pub(crate) fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{}…", cut.trim_end())
}

pub const CSV_POSITION: &[&str] = &["pos.", "pos", "position", "positionsnummer", "nr.", "nr"];
pub const CSV_QUANTITY: &[&str] = &["menge", "bedarf", "anzahl", "quantity"];
pub const CSV_PRICE: &[&str] = &["referenzpreis (eur netto)", "referenzpreis", "preis", "reference_price"];

/// Reads an uploaded demand file; every bad row is reported (line, column, reason).
pub fn entries_from_csv(positions: &[Position], bytes: &[u8]) -> Result<Vec<DemandEntry>, Vec<RowError>> {
    let table = Table::parse(bytes).map_err(|e| vec![e])?;
    let (pos_col, qty_col) = match (table.column(CSV_POSITION, "Pos."), table.column(CSV_QUANTITY, "Menge")) {
        (Ok(p), Ok(q)) => (p, q),
        (p, q) => return Err([p.err(), q.err()].into_iter().flatten().collect()),
    };
    let price_col = table.optional_column(CSV_PRICE);
    let style = table.decimal_style(&[Some(qty_col), price_col].into_iter().flatten().collect::<Vec<_>>());
    let by_no: HashMap<i32, DemandPositionId> = positions.iter().map(|p| (p.position_no, p.id)).collect();
    let mut errors = Vec::new();
    let mut entries = Vec::with_capacity(table.rows.len());
    let mut seen: HashMap<DemandPositionId, usize> = HashMap::with_capacity(table.rows.len());
    let price_header = "Referenzpreis (EUR netto)".to_string();
    for (line, cells) in &table.rows {
        let err = |column: &str, reason: String| RowError {
            line: *line,
            column: column.to_string(),
            reason,
        };
        let pos_text = import::cell(cells, pos_col)
            .map(|s| s.trim_end_matches('.'))
            .unwrap_or("");
        let Some(&position_id) = pos_text.parse::<i32>().ok().and_then(|n| by_no.get(&n)) else {
            errors.push(err(
                "Pos.",
                format!("Position „{pos_text}“ gibt es in dieser Bedarfsabfrage nicht."),
            ));
            continue;
        };
        if let Some(first) = seen.insert(position_id, *line) {
            errors.push(err(
                "Pos.",
                format!("Position {pos_text} steht doppelt in der Datei (zuerst in Zeile {first})."),
            ));
            continue;
        }
        let quantity = match import::number_cell(cells, Some(qty_col), style) {
            Ok(None) => None,
            Ok(Some(d)) => match Quantity::from_decimal(d).and_then(Quantity::positive) {
                Ok(q) => Some(q),
                Err(e) => {
                    errors.push(err(
                        "Menge",
                        format!("„{}“ {e}", import::cell(cells, qty_col).unwrap_or("")),
                    ));
                    continue;
                }
            },
            Err(e) => {
                errors.push(err("Menge", e));
                continue;
            }
        };
        let price = match import::number_cell(cells, price_col, style) {
            Ok(None) => None,
            Ok(Some(d)) => match Price::from_decimal(d) {
                Ok(p) => Some(p),
                Err(e) => {
                    errors.push(err(
                        &price_header,
                        format!("„{}“ {e}", price_col.and_then(|c| import::cell(cells, c)).unwrap_or("")),
                    ));
                    continue;
                }
            },
            Err(e) => {
                errors.push(err(&price_header, e));
                continue;
            }
        };
        match (quantity, price) {
            (Some(quantity), reference_price) => entries.push(DemandEntry {
                position_id,
                quantity,
                reference_price,
            }),
            (None, Some(_)) => errors.push(err("Menge", "Zum Referenzpreis fehlt die Menge.".into())),
            (None, None) => {}
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// The buyer's template for call `id`: every position with the member's current values.
pub fn template_for(conn: &mut DbConn, user: &CurrentUser, id: DemandCallId) -> AppResult<Vec<u8>> {
    user.require(&[Role::Buyer])?;
    let call = find_call(conn, id)?;
    check_read(conn, user, &call)?;
    Ok(csv_template(
        &positions(conn, id)?,
        &member_lines(conn, id, user.organisation_id)?,
    ))
}

/// What an accepted upload did: lines saved, and earlier positions the file no longer has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvImport {
    pub saved: usize,
    pub removed_positions: Vec<i32>,
}

/// Reads an uploaded demand file and replaces the buyer's member's demand with it, all or
/// nothing. A refused file comes back as a validation error on the field `file`, one message per
/// bad row.
pub fn import_csv(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: DemandCallId,
    bytes: &[u8],
) -> AppResult<CsvImport> {
    let call = find_call(conn, id)?;
    check_read(conn, user, &call)?;
    let positions = positions(conn, id)?;
    let entries = entries_from_csv(&positions, bytes).map_err(|errors| {
        let mut fields = FieldErrors::new();
        fields.insert("file".into(), errors.iter().map(|e| e.to_string()).collect());
        AppError::Validation {
            message: format!(
                "Die Datei wurde nicht übernommen: {} Fehler, nichts gespeichert.",
                errors.len()
            ),
            fields,
        }
    })?;
    let before = member_lines(conn, id, user.organisation_id)?;
    save_demand(conn, state, user, id, &entries)?;
    let removed_positions = before
        .iter()
        .filter(|b| !entries.iter().any(|e| e.position_id == b.position_id))
        .filter_map(|b| positions.iter().find(|p| p.id == b.position_id).map(|p| p.position_no))
        .collect();
    Ok(CsvImport {
        saved: entries.len(),
        removed_positions,
    })
}

/// The template a buyer downloads: every position, with the member's current values.
pub fn csv_template(positions: &[Position], current: &[DemandEntry]) -> Vec<u8> {
    let by_pos: HashMap<DemandPositionId, &DemandEntry> = current.iter().map(|e| (e.position_id, e)).collect();
    let mut out = import::GermanCsv::new();
    out.row([
        "Pos.",
        "Beschreibung",
        "Einheit",
        "CPV-Code",
        "Menge",
        "Referenzpreis (EUR netto)",
    ]);
    for p in positions {
        let e = by_pos.get(&p.id);
        out.row([
            p.position_no.to_string(),
            p.description.clone(),
            p.unit.clone(),
            p.cpv_code.clone(),
            e.map(|e| import::decimal_cell(e.quantity.to_decimal(), 0))
                .unwrap_or_default(),
            e.and_then(|e| e.reference_price)
                .map(|p| import::decimal_cell(p.to_decimal(), 2))
                .unwrap_or_default(),
        ]);
    }
    out.finish()
}
