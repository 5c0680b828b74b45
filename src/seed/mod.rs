//! Demo data: loads `seed-data/` (cooperative, members, vendors, catalogue, users, demand calls)
//! into an empty database in one transaction, validated by the same rules as the admin pages;
//! then plays the demo tenders through the tender and bid services on a clock set to the past,
//! so that receipts, audit events, mails, entitled members and the opening record are genuine;
//! the evaluation, the award with its § 134 information and the conclusion into a framework
//! contract follow the same way through the award services.

mod demand;
mod history;
mod tenders;

use crate::audit::{self, Actor, Event};
use crate::auth::hash_password;
use crate::db::schema::{catalogue_items, organisations};
use crate::db::{write_tx, DbConn};
use crate::domain::ids::{CatalogueItemId, DemandCallId, OrgId, SessionId, UserId};
use crate::domain::roles::{OrgType, Role, VendorStatus};
use crate::error::{AppError, AppResult};
use crate::orgs::{self, OrgInput, UserData};
use crate::AppState;
use demand::{load_demand, CallPositionRow, CallRow, DemandRow};
use diesel::prelude::*;
use history::load_tenders;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use tenders::{local_today, TenderSeed};

/// The password of every demo account, printed at start.
pub const DEMO_PASSWORD: &str = "Demo-Passwort-2026";

#[derive(Deserialize)]
struct CoopRow {
    pub(super) name: String,
    pub(super) street: String,
    pub(super) postal_code: String,
    pub(super) city: String,
    pub(super) contact_email: String,
}

#[derive(Deserialize)]
struct MemberRow {
    pub(super) key: String,
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) street: String,
    pub(super) postal_code: String,
    pub(super) city: String,
    pub(super) leitweg_id: String,
}

#[derive(Deserialize)]
pub(super) struct VendorRow {
    pub(super) key: String,
    pub(super) name: String,
    pub(super) street: String,
    pub(super) postal_code: String,
    pub(super) city: String,
    pub(super) vat_id: String,
    pub(super) contact_email: String,
    pub(super) status: VendorStatus,
}

#[derive(Deserialize)]
pub(super) struct CatalogueRow {
    pub(super) key: String,
    pub(super) description: String,
    pub(super) unit: String,
    pub(super) cpv_code: String,
}

#[derive(Deserialize, Clone)]
pub struct UserRow {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organisation: String,
}

pub(super) fn read<T: for<'de> Deserialize<'de>>(dir: &Path, file: &str) -> AppResult<Vec<T>> {
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

pub(super) fn invalid(file: &str, key: &str, e: AppError) -> AppError {
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
    let tender_seed = TenderSeed::read(dir)?;
    let today = local_today(state);
    tender_seed.check(
        dir,
        &calls,
        &vendors,
        &users,
        &catalogue,
        today,
        state.config.holiday_region(),
    )?;
    tender_seed.check_calloffs(&call_positions, &demand, &users, today, state.config.holiday_region())?;
    let coop = coop
        .into_iter()
        .next()
        .ok_or_else(|| AppError::Internal("cooperative.csv ist leer".into()))?;
    // One hash for all demo accounts: they share the printed demo password anyway.
    let password_hash = hash_password(DEMO_PASSWORD)?;
    let actor = Actor::system("Demodaten");

    let (users, loaded) = write_tx(conn, |conn| {
        if !is_empty(conn)? {
            return Err(AppError::Conflict(
                "Die Datenbank enthält bereits Daten; Demodaten werden nur in eine leere Datenbank geladen.".into(),
            ));
        }
        let now = state.clock.now_naive();
        // Demo data may run with a moved clock (the standstill passed in a demonstration).
        crate::db::data_kind::mark(conn, crate::db::data_kind::DataKind::Demo, now)?;
        let mut keys: HashMap<String, (OrgId, OrgType)> = HashMap::new();

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
            let status = v.status;
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

        let mut catalogue_ids: HashMap<String, CatalogueItemId> = HashMap::new();
        for c in catalogue {
            let (description, unit, cpv) = orgs::validate_catalogue_item(&c.description, &c.unit, &c.cpv_code)
                .map_err(|e| invalid("catalogue.csv", &c.description, e))?;
            let id: CatalogueItemId = diesel::insert_into(catalogue_items::table)
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

        let mut user_ids: Vec<(String, Role, UserId)> = Vec::new();
        for u in &users {
            let role = u.role;
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
        let call_ids = load_demand(
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
        Ok((
            users.clone(),
            Loaded {
                calls: call_ids,
                catalogue: catalogue_ids,
            },
        ))
    })?;
    // The services open their own write transactions, so the tenders follow the commit above.
    // Everything they read from the CSV files was checked before it; a failure here is a bug.
    load_tenders(conn, state, dir, &tender_seed, &loaded, &users).map_err(|e| {
        AppError::Internal(format!(
            "{} (Stammdaten und Bedarfsabfragen sind geladen, die Ausschreibungen nicht vollständig; \
             für einen neuen Versuch bitte die Datenbank löschen.)",
            e.user_detail()
        ))
    })?;
    Ok(users)
}

/// What the first transaction created and the tenders refer to.
pub(super) struct Loaded {
    /// demand_calls.csv key → demand call id.
    pub(super) calls: HashMap<String, DemandCallId>,
    /// catalogue.csv key → catalogue item id.
    pub(super) catalogue: HashMap<String, CatalogueItemId>,
}

/// A demo account as the services see a logged-in user.
pub fn demo_user(conn: &mut DbConn, email: &str) -> AppResult<crate::auth::CurrentUser> {
    use crate::db::schema::users;
    let (id, email, name, role, organisation_id, organisation_name, org_type): (
        UserId,
        String,
        String,
        Role,
        OrgId,
        String,
        OrgType,
    ) = users::table
        .inner_join(organisations::table)
        .filter(users::email.eq(email))
        .select((
            users::id,
            users::email,
            users::name,
            users::role,
            users::organisation_id,
            organisations::name,
            organisations::org_type,
        ))
        .first(conn)
        .map_err(|_| AppError::Internal(format!("Demo-Konto {email} fehlt")))?;
    Ok(crate::auth::CurrentUser {
        id,
        email,
        name,
        role,
        organisation_id,
        organisation_name,
        org_type,
        credential: crate::auth::Credential::Session(SessionId::default()),
    })
}
