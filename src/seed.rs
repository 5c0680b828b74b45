//! Demo data: loads `seed-data/` (cooperative, members, vendors, catalogue, users) into an empty
//! database in one transaction, validated by the same rules as the admin pages.

use crate::audit::{self, Actor, Event};
use crate::auth::hash_password;
use crate::db::schema::{catalogue_items, organisations};
use crate::db::{write_tx, DbConn};
use crate::domain::roles::{OrgType, Role, VendorStatus};
use crate::error::{AppError, AppResult};
use crate::orgs::{self, OrgInput, UserData};
use crate::AppState;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;

/// The password of every demo account, printed at start.
pub const DEMO_PASSWORD: &str = "Demo-Passwort-2026";

#[derive(Deserialize)]
struct CoopRow {
    name: String,
    street: String,
    postal_code: String,
    city: String,
    contact_email: String,
}

#[derive(Deserialize)]
struct MemberRow {
    key: String,
    name: String,
    kind: String,
    street: String,
    postal_code: String,
    city: String,
    leitweg_id: String,
}

#[derive(Deserialize)]
struct VendorRow {
    key: String,
    name: String,
    street: String,
    postal_code: String,
    city: String,
    vat_id: String,
    contact_email: String,
    status: String,
}

#[derive(Deserialize)]
struct CatalogueRow {
    key: String,
    description: String,
    unit: String,
    cpv_code: String,
}

#[derive(Deserialize)]
struct CallRow {
    key: String,
    title: String,
    description: String,
    term_months: i32,
    deadline_days: i64,
    status: String,
}

#[derive(Deserialize)]
struct CallPositionRow {
    call: String,
    catalogue_key: String,
    estimate_price: String,
}

#[derive(Deserialize)]
struct DemandRow {
    call: String,
    member: String,
    catalogue_key: String,
    quantity: String,
    reference_price: String,
}

#[derive(Deserialize, Clone)]
pub struct UserRow {
    pub email: String,
    pub name: String,
    pub role: String,
    pub organisation: String,
}

fn read<T: for<'de> Deserialize<'de>>(dir: &Path, file: &str) -> AppResult<Vec<T>> {
    let path = dir.join(file);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(&path)
        .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
    reader
        .deserialize()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| AppError::Internal(format!("{} Zeile {}: {e}", path.display(), i + 2))))
        .collect()
}

fn invalid(file: &str, key: &str, e: AppError) -> AppError {
    let fields: Vec<String> = e
        .field_errors()
        .into_iter()
        .map(|(f, m)| format!("{f}: {}", m.join(" ")))
        .collect();
    AppError::Internal(format!("{file} „{key}“: {}", fields.join("; ")))
}

/// Whether the database holds no organisation yet.
pub fn is_empty(conn: &mut DbConn) -> AppResult<bool> {
    let n: i64 = organisations::table.count().get_result(conn)?;
    Ok(n == 0)
}

/// Loads the demo data; returns the demo users for printing. Refuses a database that has data.
pub fn load(conn: &mut DbConn, state: &AppState, dir: &Path) -> AppResult<Vec<UserRow>> {
    let coop: Vec<CoopRow> = read(dir, "cooperative.csv")?;
    let members: Vec<MemberRow> = read(dir, "members.csv")?;
    let vendors: Vec<VendorRow> = read(dir, "vendors.csv")?;
    let catalogue: Vec<CatalogueRow> = read(dir, "catalogue.csv")?;
    let users: Vec<UserRow> = read(dir, "users.csv")?;
    let calls: Vec<CallRow> = read(dir, "demand_calls.csv")?;
    let call_positions: Vec<CallPositionRow> = read(dir, "demand_positions.csv")?;
    let demand: Vec<DemandRow> = read(dir, "demand_lines.csv")?;
    let coop = coop
        .into_iter()
        .next()
        .ok_or_else(|| AppError::Internal("cooperative.csv ist leer".into()))?;
    // One hash for all demo accounts: they share the printed demo password anyway.
    let password_hash = hash_password(DEMO_PASSWORD)?;
    let actor = Actor::system("Demodaten");

    write_tx(conn, |conn| {
        if !is_empty(conn)? {
            return Err(AppError::Conflict(
                "Die Datenbank enthält bereits Daten; Demodaten werden nur in eine leere Datenbank geladen.".into(),
            ));
        }
        let now = state.clock.now_naive();
        let mut keys: HashMap<String, (i64, OrgType)> = HashMap::new();

        let coop_data = OrgInput {
            name: coop.name,
            street: coop.street,
            postal_code: coop.postal_code,
            city: coop.city,
            contact_email: coop.contact_email,
            ..Default::default()
        }
        .validate(OrgType::Cooperative)
        .map_err(|e| invalid("cooperative.csv", "Genossenschaft", e))?;
        let id = orgs::insert_org(conn, now, &coop_data, None)?;
        audit::record(
            conn,
            &state.clock,
            &actor,
            Event::new(
                "organisation.created",
                "organisation",
                id,
                orgs::org_details(&coop_data),
            ),
        )?;
        keys.insert("cooperative".into(), (id, OrgType::Cooperative));

        for m in members {
            let data = OrgInput {
                name: m.name,
                street: m.street,
                postal_code: m.postal_code,
                city: m.city,
                member_kind: m.kind,
                leitweg_id: m.leitweg_id,
                ..Default::default()
            }
            .validate(OrgType::Member)
            .map_err(|e| invalid("members.csv", &m.key, e))?;
            let id = orgs::insert_org(conn, now, &data, None)?;
            audit::record(
                conn,
                &state.clock,
                &actor,
                Event::new("organisation.created", "organisation", id, orgs::org_details(&data)),
            )?;
            keys.insert(m.key, (id, OrgType::Member));
        }

        for v in vendors {
            let status: VendorStatus = v
                .status
                .parse()
                .map_err(|e| AppError::Internal(format!("vendors.csv „{}“: status {e}", v.key)))?;
            let data = OrgInput {
                name: v.name,
                street: v.street,
                postal_code: v.postal_code,
                city: v.city,
                vat_id: v.vat_id,
                contact_email: v.contact_email,
                ..Default::default()
            }
            .validate(OrgType::Vendor)
            .map_err(|e| invalid("vendors.csv", &v.key, e))?;
            let id = orgs::insert_org(conn, now, &data, Some(status))?;
            audit::record(
                conn,
                &state.clock,
                &actor,
                Event::new("organisation.created", "organisation", id, orgs::org_details(&data)),
            )?;
            keys.insert(v.key, (id, OrgType::Vendor));
        }

        let mut catalogue_ids: HashMap<String, i64> = HashMap::new();
        for c in catalogue {
            let (description, unit, cpv) = orgs::validate_catalogue_item(&c.description, &c.unit, &c.cpv_code)
                .map_err(|e| invalid("catalogue.csv", &c.description, e))?;
            let id: i64 = diesel::insert_into(catalogue_items::table)
                .values((
                    catalogue_items::description.eq(&description),
                    catalogue_items::unit.eq(&unit),
                    catalogue_items::cpv_code.eq(&cpv),
                    catalogue_items::active.eq(true),
                    catalogue_items::created_at.eq(now),
                ))
                .returning(catalogue_items::id)
                .get_result(conn)?;
            catalogue_ids.insert(c.key.clone(), id);
            audit::record(
                conn,
                &state.clock,
                &actor,
                Event::new(
                    "catalogue_item.created",
                    "catalogue_item",
                    id,
                    json!({ "description": description, "unit": unit, "cpv_code": cpv }),
                ),
            )?;
        }

        let mut user_ids: Vec<(String, Role, i64)> = Vec::new();
        for u in &users {
            let role: Role = u
                .role
                .parse()
                .map_err(|e| AppError::Internal(format!("users.csv {}: Rolle {e}", u.email)))?;
            let (org_id, org_type) = *keys.get(&u.organisation).ok_or_else(|| {
                AppError::Internal(format!(
                    "users.csv {}: Organisation „{}“ unbekannt",
                    u.email, u.organisation
                ))
            })?;
            if !role.fits(org_type) {
                return Err(AppError::Internal(format!(
                    "users.csv {}: Rolle passt nicht zur Organisation",
                    u.email
                )));
            }
            let data = UserData {
                email: crate::domain::identifiers::email(&u.email)
                    .map_err(|e| AppError::Internal(format!("users.csv {}: {e}", u.email)))?,
                name: u.name.clone(),
                role,
                organisation_id: org_id,
                password: None,
            };
            let id = orgs::insert_user(conn, now, &data, &password_hash)?;
            audit::record(
                conn,
                &state.clock,
                &actor,
                Event::new("user.created", "user", id, orgs::user_details(&data)),
            )?;
            user_ids.push((u.organisation.clone(), role, id));
        }
        load_demand(
            conn,
            state,
            &actor,
            &calls,
            &call_positions,
            &demand,
            &keys,
            &catalogue_ids,
            &user_ids,
        )?;
        Ok(users.clone())
    })
}

fn demo_number(text: &str, what: &str) -> AppResult<Option<rust_decimal::Decimal>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::domain::numbers::parse(text, crate::domain::numbers::DecimalStyle::Comma)
        .map(Some)
        .map_err(|e| AppError::Internal(format!("{what}: {e}")))
}

/// Demand calls in every state (draft, open with answers, closed), dated relative to the clock.
#[allow(clippy::too_many_arguments)]
fn load_demand(
    conn: &mut DbConn,
    state: &AppState,
    actor: &Actor,
    calls: &[CallRow],
    call_positions: &[CallPositionRow],
    demand: &[DemandRow],
    orgs: &HashMap<String, (i64, OrgType)>,
    catalogue: &HashMap<String, i64>,
    users: &[(String, Role, i64)],
) -> AppResult<()> {
    use crate::db::schema::{demand_calls, demand_invitations, demand_lines, demand_positions, demand_responses};
    use crate::domain::money::{Price, Quantity};
    use chrono::Duration;
    let now = state.clock.now_naive();
    let officer = users
        .iter()
        .find(|(_, r, _)| *r == Role::Officer)
        .map(|u| u.2)
        .ok_or_else(|| AppError::Internal("users.csv: keine Vergabestelle für die Bedarfsabfragen".into()))?;
    let members: Vec<i64> = orgs
        .values()
        .filter(|(_, t)| *t == OrgType::Member)
        .map(|(id, _)| *id)
        .collect();
    for call in calls {
        let deadline = now + Duration::days(call.deadline_days);
        let opened_at = (call.status != "draft").then(|| deadline - Duration::days(28));
        let id: i64 = diesel::insert_into(demand_calls::table)
            .values((
                demand_calls::title.eq(&call.title),
                demand_calls::description.eq(&call.description),
                demand_calls::term_months.eq(call.term_months),
                demand_calls::deadline.eq(deadline),
                demand_calls::status.eq(&call.status),
                demand_calls::all_members.eq(true),
                demand_calls::created_by.eq(officer),
                demand_calls::created_at.eq(opened_at.unwrap_or(now) - Duration::days(2)),
                demand_calls::opened_at.eq(opened_at),
                demand_calls::closed_at.eq((call.status == "closed").then(|| deadline + Duration::days(1))),
            ))
            .returning(demand_calls::id)
            .get_result(conn)?;
        audit::record(
            conn,
            &state.clock,
            actor,
            Event::new("demand_call.created", "demand_call", id, json!({ "title": call.title })),
        )?;
        let mut position_ids: HashMap<&str, i64> = HashMap::new();
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
            let pid: i64 = diesel::insert_into(demand_positions::table)
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
        if call.status == "draft" {
            continue;
        }
        for m in &members {
            diesel::insert_into(demand_invitations::table)
                .values((demand_invitations::call_id.eq(id), demand_invitations::member_id.eq(m)))
                .execute(conn)?;
        }
        let mut answered: Vec<i64> = Vec::new();
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
    Ok(())
}
