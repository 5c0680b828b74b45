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
    description: String,
    unit: String,
    cpv_code: String,
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
        }
        Ok(users.clone())
    })
}
