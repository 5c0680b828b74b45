//! Demo data: loads `seed-data/` (cooperative, members, vendors, catalogue, users, demand calls)
//! into an empty database in one transaction, validated by the same rules as the admin pages;
//! then plays the demo tenders through the tender and bid services on a clock set to the past,
//! so that receipts, audit events, mails, entitled members and the opening record are genuine;
//! the evaluation, the award with its § 134 information and the conclusion into a framework
//! contract follow the same way through the award services.

use crate::audit::{self, Actor, Event};
use crate::auth::hash_password;
use crate::db::schema::{catalogue_items, organisations};
use crate::db::{write_tx, DbConn};
use crate::domain::bid::BidStatus;
use crate::domain::calloff::CalloffStatus;
use crate::domain::demand::CallStatus;
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
    status: VendorStatus,
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
    status: CallStatus,
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
    pub role: Role,
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
struct Loaded {
    /// demand_calls.csv key → demand call id.
    calls: HashMap<String, i64>,
    /// catalogue.csv key → catalogue item id.
    catalogue: HashMap<String, i64>,
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
) -> AppResult<HashMap<String, i64>> {
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
    let mut call_ids = HashMap::new();
    for call in calls {
        let deadline = now + Duration::days(call.deadline_days);
        let opened_at = (call.status != CallStatus::Draft).then(|| deadline - Duration::days(28));
        let id: i64 = diesel::insert_into(demand_calls::table)
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
        if call.status == CallStatus::Draft {
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
    Ok(call_ids)
}

// ----------------------------------------------------------------------------- tenders

/// Fixed local times (Europe/Berlin) of the steps the CSV files give only a day for.
const CREATED_AT: &str = "09:00";
const PUBLISHED_AT: &str = "10:00";
const DEADLINE_AT: &str = "12:00";
const OPENING_STARTED_AT: &str = "14:00";
const OPENING_CONFIRMED_AT: &str = "14:20";
const CONCLUDED_AT: &str = "10:00";

#[derive(Deserialize)]
struct TenderRow {
    key: String,
    call: String,
    title: String,
    description: String,
    officer: String,
    created_days: i64,
    published_days: i64,
    deadline_days: i64,
    document: String,
    opening_days: Option<i64>,
    opened_by: String,
    confirmed_by: String,
}

#[derive(Deserialize)]
struct LotRow {
    tender: String,
    lot: i32,
    title: String,
    positions: String,
}

#[derive(Deserialize)]
struct QuestionRow {
    tender: String,
    vendor: String,
    asked_days: i64,
    asked_time: String,
    question: String,
    answer: String,
    answered_days: Option<i64>,
    answered_time: String,
}

#[derive(Deserialize)]
struct BidEventRow {
    tender: String,
    vendor: String,
    action: String,
    days: i64,
    time: String,
    price_factor: String,
    quality: String,
}

#[derive(Deserialize)]
struct BidPriceRow {
    tender: String,
    vendor: String,
    catalogue_key: String,
    unit_price: String,
}

/// One evaluation decision on a bid (evaluations.csv).
#[derive(Deserialize)]
struct EvaluationRow {
    tender: String,
    vendor: String,
    lot: Option<i32>,
    action: String,
    days: i64,
    time: String,
    scores: String,
    reason: String,
}

/// The award of one lot and, optionally, its conclusion into a framework contract (awards.csv).
#[derive(Deserialize)]
struct AwardRow {
    tender: String,
    lot: i32,
    vendor: String,
    days: i64,
    time: String,
    reason: String,
    concluded_after: Option<i64>,
}

/// A call-off against a concluded lot's framework contract and its life after (calloffs.csv).
#[derive(Deserialize)]
struct CalloffRow {
    tender: String,
    lot: i32,
    buyer: String,
    days: i64,
    time: String,
    positions: String,
    delivery_address: String,
    cost_centre: String,
    leitweg_id: String,
    note: String,
    status: CalloffStatus,
    status_days: Option<i64>,
    status_time: String,
    delivered_days: Option<i64>,
    delivered_time: String,
    reason: String,
}

/// Positions of a call-off: `Pos:Menge` pairs separated by `|`, quantities written the German way.
fn calloff_positions(text: &str) -> AppResult<Vec<(i32, rust_decimal::Decimal)>> {
    split_bar(text)
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (no, quantity) = pair
                .split_once(':')
                .ok_or_else(|| seed_error("calloffs.csv", format!("„{pair}“ ist nicht Pos:Menge")))?;
            let no: i32 = no
                .trim()
                .parse()
                .map_err(|_| seed_error("calloffs.csv", format!("„{pair}“: Positionsnummer")))?;
            let q = demo_number(quantity, "calloffs.csv Menge")?
                .filter(|q| *q > rust_decimal::Decimal::ZERO)
                .ok_or_else(|| seed_error("calloffs.csv", format!("„{pair}“: Menge größer als 0")))?;
            Ok((no, q))
        })
        .collect()
}

/// tenders.csv, tender_lots.csv, tender_questions.csv, bids.csv, bid_prices.csv,
/// evaluations.csv and awards.csv.
struct TenderSeed {
    tenders: Vec<TenderRow>,
    lots: Vec<LotRow>,
    questions: Vec<QuestionRow>,
    bids: Vec<BidEventRow>,
    prices: Vec<BidPriceRow>,
    evaluations: Vec<EvaluationRow>,
    awards: Vec<AwardRow>,
    calloffs: Vec<CalloffRow>,
}

/// Today in the cooperative's local time, by the given state's clock.
fn local_today(state: &AppState) -> chrono::NaiveDate {
    state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}

/// The day (relative to `today`) an award made on day `award_days` is concluded: `after` days
/// after the last day of its § 134 standstill, computed as the award service computes it.
fn conclusion_days(award_days: i64, after: i64, today: chrono::NaiveDate, region: holiday_de::GermanRegion) -> i64 {
    let sent = today + chrono::Duration::days(award_days);
    let last = crate::domain::standstill::last_day(sent, true, region);
    (last - today).num_days() + after
}

/// Scores 0..10 with at most 2 places, as the score service accepts them.
fn demo_score(text: &str) -> AppResult<rust_decimal::Decimal> {
    let s = demo_number(text, "Punktzahl")?.ok_or_else(|| AppError::Internal("Punktzahl fehlt".into()))?;
    if s < rust_decimal::Decimal::ZERO || s > rust_decimal::Decimal::TEN || s.normalize().scale() > 2 {
        return Err(AppError::Internal(format!(
            "Punktzahl „{text}“: 0 bis 10, höchstens 2 Nachkommastellen"
        )));
    }
    Ok(s)
}

/// Day and local time of a step, for ordering; `None` when the time is not HH:MM.
fn moment(days: i64, time: &str) -> Option<(i64, chrono::NaiveTime)> {
    chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M")
        .ok()
        .map(|t| (days, t))
}

fn split_bar(text: &str) -> Vec<&str> {
    text.split('|').map(str::trim).collect()
}

fn seed_error(file: &str, what: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("{file}: {what}"))
}

fn lot_positions(row: &LotRow) -> impl Iterator<Item = &str> {
    row.positions.split(',').map(str::trim).filter(|k| !k.is_empty())
}

impl TenderSeed {
    fn read(dir: &Path) -> AppResult<TenderSeed> {
        Ok(TenderSeed {
            tenders: read(dir, "tenders.csv")?,
            lots: read(dir, "tender_lots.csv")?,
            questions: read(dir, "tender_questions.csv")?,
            bids: read(dir, "bids.csv")?,
            prices: read(dir, "bid_prices.csv")?,
            evaluations: read(dir, "evaluations.csv")?,
            awards: read(dir, "awards.csv")?,
            calloffs: read(dir, "calloffs.csv")?,
        })
    }

    /// Checks every reference and number before anything is stored, so that the services, which
    /// run after the first transaction, meet only data they accept. `today` and `region` date the
    /// standstill periods of the awards.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        dir: &Path,
        calls: &[CallRow],
        vendors: &[VendorRow],
        users: &[UserRow],
        catalogue: &[CatalogueRow],
        today: chrono::NaiveDate,
        region: holiday_de::GermanRegion,
    ) -> AppResult<()> {
        let officer = |email: &str, file: &str, key: &str| -> AppResult<()> {
            if users.iter().any(|u| u.email == email && u.role == Role::Officer) {
                Ok(())
            } else {
                Err(seed_error(
                    file,
                    format!("„{key}“: „{email}“ ist keine Vergabestelle aus users.csv"),
                ))
            }
        };
        let time = |text: &str, file: &str| -> AppResult<()> {
            chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M")
                .map(|_| ())
                .map_err(|_| seed_error(file, format!("Uhrzeit „{text}“ ist nicht HH:MM")))
        };
        let mut keys = Vec::new();
        for t in &self.tenders {
            if keys.contains(&t.key.as_str()) {
                return Err(seed_error("tenders.csv", format!("„{}“ doppelt", t.key)));
            }
            keys.push(t.key.as_str());
            match calls.iter().find(|c| c.key == t.call) {
                Some(c) if c.status == CallStatus::Closed => {}
                _ => {
                    return Err(seed_error(
                        "tenders.csv",
                        format!(
                            "„{}“: „{}“ ist keine abgeschlossene Bedarfsabfrage aus demand_calls.csv",
                            t.key, t.call
                        ),
                    ))
                }
            }
            if self.tenders.iter().filter(|o| o.call == t.call).count() > 1 {
                return Err(seed_error(
                    "tenders.csv",
                    format!("aus „{}“ entsteht nur eine Ausschreibung", t.call),
                ));
            }
            officer(&t.officer, "tenders.csv", &t.key)?;
            if !(t.created_days <= t.published_days && t.published_days < t.deadline_days) {
                return Err(seed_error(
                    "tenders.csv",
                    format!("„{}“: erstellt ≤ veröffentlicht < Angebotsfrist", t.key),
                ));
            }
            if !t.document.is_empty() && !dir.join("documents").join(&t.document).is_file() {
                return Err(seed_error(
                    "tenders.csv",
                    format!("„{}“: documents/{} fehlt", t.key, t.document),
                ));
            }
            if let Some(days) = t.opening_days {
                officer(&t.opened_by, "tenders.csv", &t.key)?;
                officer(&t.confirmed_by, "tenders.csv", &t.key)?;
                if t.opened_by == t.confirmed_by || days < t.deadline_days || days >= 0 {
                    return Err(seed_error(
                        "tenders.csv",
                        format!(
                            "„{}“: Öffnung durch zwei verschiedene Personen, nach der Angebotsfrist und vor heute",
                            t.key
                        ),
                    ));
                }
            } else if t.deadline_days <= 0 {
                return Err(seed_error(
                    "tenders.csv",
                    format!("„{}“: ohne Öffnung muss die Angebotsfrist in der Zukunft liegen", t.key),
                ));
            }
        }
        let tender = |key: &str, file: &str| -> AppResult<&TenderRow> {
            self.tenders
                .iter()
                .find(|t| t.key == key)
                .ok_or_else(|| seed_error(file, format!("Ausschreibung „{key}“ nicht in tenders.csv")))
        };
        let vendor = |key: &str, file: &str| -> AppResult<()> {
            let approved = vendors
                .iter()
                .any(|v| v.key == key && v.status == VendorStatus::Approved);
            if approved && users.iter().any(|u| u.organisation == key && u.role == Role::Vendor) {
                Ok(())
            } else {
                Err(seed_error(
                    file,
                    format!("„{key}“ ist kein freigegebener Lieferant mit Konto in users.csv"),
                ))
            }
        };
        for l in &self.lots {
            tender(&l.tender, "tender_lots.csv")?;
            for k in lot_positions(l) {
                if !catalogue.iter().any(|c| c.key == k) {
                    return Err(seed_error("tender_lots.csv", format!("Katalog „{k}“ unbekannt")));
                }
            }
        }
        for q in &self.questions {
            let t = tender(&q.tender, "tender_questions.csv")?;
            vendor(&q.vendor, "tender_questions.csv")?;
            time(&q.asked_time, "tender_questions.csv")?;
            let ok_asked = q.asked_days >= t.published_days && q.asked_days < t.deadline_days.min(0);
            let ok_answer = match (q.answer.trim().is_empty(), q.answered_days) {
                (true, None) => true,
                (false, Some(d)) => {
                    time(&q.answered_time, "tender_questions.csv")?;
                    d >= q.asked_days && d < t.deadline_days.min(0)
                }
                _ => false,
            };
            if !(ok_asked && ok_answer) {
                return Err(seed_error(
                    "tender_questions.csv",
                    format!(
                        "„{}“: Frage und Antwort zwischen Veröffentlichung und Frist, vor heute; Antwort mit Tag",
                        q.question
                    ),
                ));
            }
        }
        for b in &self.bids {
            let t = tender(&b.tender, "bids.csv")?;
            vendor(&b.vendor, "bids.csv")?;
            time(&b.time, "bids.csv")?;
            if !(b.days >= t.published_days && b.days < t.deadline_days.min(0)) {
                return Err(seed_error(
                    "bids.csv",
                    format!(
                        "„{} / {}“: Tag {} liegt nicht zwischen Veröffentlichung und Frist, vor heute",
                        b.tender, b.vendor, b.days
                    ),
                ));
            }
            match b.action.as_str() {
                "submit" => {
                    demo_number(&b.price_factor, "bids.csv price_factor")?;
                    if !self.prices.iter().any(|p| p.tender == b.tender && p.vendor == b.vendor) {
                        return Err(seed_error(
                            "bids.csv",
                            format!("„{} / {}“: keine Preise in bid_prices.csv", b.tender, b.vendor),
                        ));
                    }
                }
                "withdraw" => {}
                other => {
                    return Err(seed_error(
                        "bids.csv",
                        format!("action „{other}“: submit oder withdraw"),
                    ))
                }
            }
        }
        for p in &self.prices {
            tender(&p.tender, "bid_prices.csv")?;
            vendor(&p.vendor, "bid_prices.csv")?;
            let in_lot = self
                .lots
                .iter()
                .any(|l| l.tender == p.tender && lot_positions(l).any(|k| k == p.catalogue_key));
            if !in_lot {
                return Err(seed_error(
                    "bid_prices.csv",
                    format!("„{}“ ist in keinem Los von „{}“", p.catalogue_key, p.tender),
                ));
            }
            demo_number(&p.unit_price, "bid_prices.csv unit_price")?
                .ok_or_else(|| seed_error("bid_prices.csv", "unit_price fehlt"))?;
        }
        self.check_evaluation(today, region)
    }

    /// The last bids.csv row of a vendor in a tender, when it is a submission: its current bid.
    fn current_bid(&self, tender: &str, vendor: &str) -> Option<&BidEventRow> {
        self.bids
            .iter()
            .filter(|b| b.tender == tender && b.vendor == vendor)
            .max_by_key(|b| moment(b.days, &b.time))
            .filter(|b| b.action == "submit")
    }

    /// Whether the vendor's current bid in the tender covers the lot (has prices in it).
    fn bids_on_lot(&self, tender: &str, vendor: &str, lot: i32) -> bool {
        let Some(l) = self.lots.iter().find(|l| l.tender == tender && l.lot == lot) else {
            return false;
        };
        self.current_bid(tender, vendor).is_some()
            && self
                .prices
                .iter()
                .any(|p| p.tender == tender && p.vendor == vendor && lot_positions(l).any(|k| k == p.catalogue_key))
    }

    /// evaluations.csv and awards.csv: opened tenders, current bids on existing lots, decisions
    /// after the opening and in a possible order, awards after the evaluation, conclusions after
    /// the standstill and before today.
    fn check_evaluation(&self, today: chrono::NaiveDate, region: holiday_de::GermanRegion) -> AppResult<()> {
        type Moment = (i64, chrono::NaiveTime);
        let opened = |key: &str, file: &str| -> AppResult<Moment> {
            match self.tenders.iter().find(|t| t.key == key) {
                Some(TenderRow {
                    opening_days: Some(d), ..
                }) => Ok(moment(*d, OPENING_CONFIRMED_AT).expect("constant time")),
                _ => Err(seed_error(
                    file,
                    format!("„{key}“ ist keine in tenders.csv geöffnete Ausschreibung"),
                )),
            }
        };
        let when = |days: i64, time: &str, file: &str, what: &str| -> AppResult<Moment> {
            let at = moment(days, time)
                .ok_or_else(|| seed_error(file, format!("{what}: Uhrzeit „{time}“ ist nicht HH:MM")))?;
            if days >= 0 {
                return Err(seed_error(file, format!("{what}: Tag {days} liegt nicht vor heute")));
            }
            Ok(at)
        };
        let bidder = |tender: &str, vendor: &str, lot: Option<i32>, file: &str| -> AppResult<()> {
            if let Some(l) = lot {
                if !self.lots.iter().any(|x| x.tender == tender && x.lot == l) {
                    return Err(seed_error(
                        file,
                        format!("„{tender}“ hat laut tender_lots.csv kein Los {l}"),
                    ));
                }
            }
            let ok = match lot {
                Some(l) => self.bids_on_lot(tender, vendor, l),
                None => self.current_bid(tender, vendor).is_some(),
            };
            if ok {
                Ok(())
            } else {
                Err(seed_error(
                    file,
                    format!(
                        "„{tender} / {vendor}{}“: kein gültiges Angebot laut bids.csv und bid_prices.csv",
                        lot.map(|l| format!(" / Los {l}")).unwrap_or_default()
                    ),
                ))
            }
        };
        let reason = |text: &str, file: &str, what: &str| -> AppResult<()> {
            if (3..=4000).contains(&text.trim().chars().count()) {
                Ok(())
            } else {
                Err(seed_error(file, format!("{what}: Begründung mit 3 bis 4000 Zeichen")))
            }
        };
        for (i, e) in self.evaluations.iter().enumerate() {
            let what = format!("„{} / {} / {}“", e.tender, e.vendor, e.action);
            let opening = opened(&e.tender, "evaluations.csv")?;
            let at = when(e.days, &e.time, "evaluations.csv", &what)?;
            if at <= opening {
                return Err(seed_error("evaluations.csv", format!("{what}: erst nach der Öffnung")));
            }
            match (e.action.as_str(), e.lot) {
                ("score", None) => {
                    bidder(&e.tender, &e.vendor, None, "evaluations.csv")?;
                    let scores = split_bar(&e.scores);
                    let reasons = split_bar(&e.reason);
                    let answers = self
                        .current_bid(&e.tender, &e.vendor)
                        .map(|b| split_bar(&b.quality).len())
                        .unwrap_or_default();
                    if scores.len() != reasons.len() || scores.len() != answers {
                        return Err(seed_error(
                            "evaluations.csv",
                            format!(
                                "{what}: je B-Kriterium (wie in bids.csv quality) eine Punktzahl \
                                 und eine Begründung, durch | getrennt"
                            ),
                        ));
                    }
                    for (s, r) in scores.iter().zip(&reasons) {
                        demo_score(s)
                            .map_err(|e| seed_error("evaluations.csv", format!("{what}: {}", e.user_detail())))?;
                        reason(r, "evaluations.csv", &what)?;
                    }
                }
                ("request_explanation", Some(lot)) => {
                    bidder(&e.tender, &e.vendor, Some(lot), "evaluations.csv")?;
                }
                ("accept_low" | "exclude_low", Some(lot)) => {
                    bidder(&e.tender, &e.vendor, Some(lot), "evaluations.csv")?;
                    reason(&e.reason, "evaluations.csv", &what)?;
                    let requested = self.evaluations[..i].iter().any(|r| {
                        r.action == "request_explanation"
                            && r.tender == e.tender
                            && r.vendor == e.vendor
                            && r.lot == e.lot
                            && moment(r.days, &r.time) < Some(at)
                    });
                    let decided = self.evaluations[..i].iter().any(|r| {
                        (r.action == "accept_low" || r.action == "exclude_low")
                            && r.tender == e.tender
                            && r.vendor == e.vendor
                            && r.lot == e.lot
                    });
                    if !requested || decided {
                        return Err(seed_error(
                            "evaluations.csv",
                            format!(
                                "{what}: genau eine Entscheidung, nach einer früheren Zeile \
                                 request_explanation zu demselben Los"
                            ),
                        ));
                    }
                }
                ("score", Some(_)) => {
                    return Err(seed_error(
                        "evaluations.csv",
                        format!("{what}: Punktzahlen gelten für das ganze Angebot, bitte ohne Los"),
                    ))
                }
                (other, _) => {
                    return Err(seed_error(
                        "evaluations.csv",
                        format!(
                            "{what}: action „{other}“ mit Los: request_explanation, accept_low \
                             oder exclude_low; ohne Los: score"
                        ),
                    ))
                }
            }
        }
        for (i, a) in self.awards.iter().enumerate() {
            let what = format!("„{} / Los {}“", a.tender, a.lot);
            let opening = opened(&a.tender, "awards.csv")?;
            bidder(&a.tender, &a.vendor, Some(a.lot), "awards.csv")?;
            reason(&a.reason, "awards.csv", &what)?;
            let at = when(a.days, &a.time, "awards.csv", &what)?;
            if at <= opening {
                return Err(seed_error("awards.csv", format!("{what}: erst nach der Öffnung")));
            }
            // Scores lock with the first award on any lot of the bid: evaluate first, then award.
            let late = self
                .evaluations
                .iter()
                .filter(|e| e.tender == a.tender)
                .any(|e| moment(e.days, &e.time) >= Some(at));
            if late {
                return Err(seed_error(
                    "awards.csv",
                    format!("{what}: erst nach allen Zeilen der Ausschreibung in evaluations.csv"),
                ));
            }
            if self.awards[..i].iter().any(|o| o.tender == a.tender && o.lot == a.lot) {
                return Err(seed_error("awards.csv", format!("{what}: doppelt")));
            }
            if let Some(after) = a.concluded_after {
                if after < 1 || conclusion_days(a.days, after, today, region) >= 0 {
                    return Err(seed_error(
                        "awards.csv",
                        format!(
                            "{what}: concluded_after ab 1 (Tage nach dem letzten Tag der \
                             Wartefrist), und der Abschluss muss vor heute liegen"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl TenderSeed {
    /// The awards.csv row a call-off refers to, with the day (relative to `today`) its contract
    /// is concluded; `None` when the lot is not awarded and concluded.
    fn concluded(
        &self,
        tender: &str,
        lot: i32,
        today: chrono::NaiveDate,
        region: holiday_de::GermanRegion,
    ) -> Option<(usize, i64)> {
        self.awards
            .iter()
            .enumerate()
            .find(|(_, a)| a.tender == tender && a.lot == lot)
            .and_then(|(i, a)| {
                a.concluded_after
                    .map(|after| (i, conclusion_days(a.days, after, today, region)))
            })
    }

    /// calloffs.csv: concluded contracts, buyers of entitled members (those with demand for a
    /// tendered position), positions of the lot, the fields as the call-off form wants them, and
    /// every step after the conclusion, in the order of the call-off's life and before today.
    /// Whether the volume suffices is the call-off service's to say.
    fn check_calloffs(
        &self,
        call_positions: &[CallPositionRow],
        demand: &[DemandRow],
        users: &[UserRow],
        today: chrono::NaiveDate,
        region: holiday_de::GermanRegion,
    ) -> AppResult<()> {
        const FILE: &str = "calloffs.csv";
        for (i, r) in self.calloffs.iter().enumerate() {
            let what = format!("Zeile {} („{} / Los {} / {}“)", i + 2, r.tender, r.lot, r.buyer);
            let fail = |m: &str| seed_error(FILE, format!("{what}: {m}"));
            let (_, concluded) = self
                .concluded(&r.tender, r.lot, today, region)
                .ok_or_else(|| fail("das Los ist laut awards.csv nicht als Rahmenvereinbarung geschlossen"))?;
            let tender = self
                .tenders
                .iter()
                .find(|t| t.key == r.tender)
                .ok_or_else(|| fail("Ausschreibung nicht in tenders.csv"))?;
            let lot = self
                .lots
                .iter()
                .find(|l| l.tender == r.tender && l.lot == r.lot)
                .ok_or_else(|| fail("Los nicht in tender_lots.csv"))?;
            let tendered = |key: &str| {
                self.lots
                    .iter()
                    .filter(|l| l.tender == r.tender)
                    .any(|l| lot_positions(l).any(|k| k == key))
            };
            let member = users
                .iter()
                .find(|u| u.email == r.buyer && u.role == Role::Buyer)
                .map(|u| u.organisation.as_str())
                .ok_or_else(|| fail("kein Konto mit Rolle buyer in users.csv"))?;
            let entitled = demand
                .iter()
                .any(|d| d.call == tender.call && d.member == member && tendered(&d.catalogue_key));
            if !entitled {
                return Err(fail(&format!(
                    "„{member}“ hat keinen Bedarf in „{}“ gemeldet und ist nicht abrufberechtigt",
                    tender.call
                )));
            }
            let numbered: Vec<&str> = call_positions
                .iter()
                .filter(|p| p.call == tender.call)
                .map(|p| p.catalogue_key.as_str())
                .collect();
            let positions = calloff_positions(&r.positions)?;
            if positions.is_empty() {
                return Err(fail("mindestens eine Position"));
            }
            for (k, (no, _)) in positions.iter().enumerate() {
                let key = usize::try_from(*no)
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|n| numbered.get(n))
                    .copied();
                if !key.is_some_and(|key| lot_positions(lot).any(|l| l == key)) {
                    return Err(fail(&format!("Pos. {no} gehört nicht zu Los {}", r.lot)));
                }
                if positions[..k].iter().any(|(other, _)| other == no) {
                    return Err(fail(&format!("Pos. {no} doppelt")));
                }
            }
            if !(5..=500).contains(&r.delivery_address.trim().chars().count())
                || !(1..=50).contains(&r.cost_centre.trim().chars().count())
                || r.note.trim().chars().count() > 1000
            {
                return Err(fail(
                    "Lieferanschrift 5 bis 500 Zeichen, Kostenstelle 1 bis 50, Bemerkung bis 1000",
                ));
            }
            if !r.leitweg_id.trim().is_empty() {
                crate::domain::identifiers::leitweg_id(&r.leitweg_id).map_err(|e| fail(&format!("Leitweg-ID: {e}")))?;
            }
            // Steps in days after the conclusion (10:00 on its day), each not before the last.
            let step = |days: Option<i64>, time: &str, name: &str| -> AppResult<(i64, chrono::NaiveTime)> {
                let days = days.ok_or_else(|| fail(&format!("{name}: Tag fehlt")))?;
                let at =
                    moment(days, time).ok_or_else(|| fail(&format!("{name}: Uhrzeit „{time}“ ist nicht HH:MM")))?;
                if concluded + days >= 0 {
                    return Err(fail(&format!(
                        "{name}: Tag {days} nach dem Vertragsschluss liegt nicht vor heute"
                    )));
                }
                Ok(at)
            };
            let placed = step(Some(r.days), &r.time, "Abruf")?;
            if placed <= moment(0, CONCLUDED_AT).expect("constant time") {
                return Err(fail(&format!(
                    "Abruf erst nach dem Vertragsschluss (Tag 0, {CONCLUDED_AT} Uhr)"
                )));
            }
            let answered = (r.status != CalloffStatus::Placed)
                .then(|| step(r.status_days, &r.status_time, "status_days"))
                .transpose()?;
            let delivered = (r.status == CalloffStatus::Delivered)
                .then(|| step(r.delivered_days, &r.delivered_time, "delivered_days"))
                .transpose()?;
            let in_order = answered.is_none_or(|a| a > placed) && delivered.is_none_or(|d| Some(d) > answered);
            let unused = (r.status == CalloffStatus::Placed
                && (r.status_days.is_some() || !r.status_time.trim().is_empty()))
                || (r.status != CalloffStatus::Delivered
                    && (r.delivered_days.is_some() || !r.delivered_time.trim().is_empty()));
            if !in_order || unused {
                return Err(fail(
                    "Bestätigung, Ablehnung oder Stornierung (status_days) nach dem Abruf, Lieferung \
                     (delivered_days) nach der Bestätigung, nur soweit der Status sie hat",
                ));
            }
            let reason = r.reason.trim().chars().count();
            if (r.status == CalloffStatus::Rejected && reason < 3)
                || (reason > 0 && !matches!(r.status, CalloffStatus::Rejected | CalloffStatus::Cancelled))
            {
                return Err(fail(
                    "reason: Begründung (mindestens 3 Zeichen) bei rejected, optional bei cancelled, sonst leer",
                ));
            }
        }
        Ok(())
    }
}

/// A demo account as the services see a logged-in user.
pub fn demo_user(conn: &mut DbConn, email: &str) -> AppResult<crate::auth::CurrentUser> {
    use crate::db::schema::users;
    let (id, email, name, role, organisation_id, organisation_name, org_type): (
        i64,
        String,
        String,
        Role,
        i64,
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
        credential_id: 0,
    })
}

/// One step of the demo history, in the order it happened.
#[derive(Clone, Copy)]
enum Step {
    /// Create the draft and attach its document.
    Create(usize),
    Publish(usize),
    Ask(usize),
    Answer(usize),
    Bid(usize),
    StartOpening(usize),
    ConfirmOpening(usize),
    /// A row of evaluations.csv: score, § 60 request or decision.
    Evaluate(usize),
    /// Award a lot (sends the § 134 information).
    Award(usize),
    /// Conclude the award into a framework contract after the standstill.
    Conclude(usize),
    /// A row of calloffs.csv: the buyer places the call-off.
    PlaceCalloff(usize),
    /// The vendor confirms or rejects it, or the buyer cancels it.
    AnswerCalloff(usize),
    /// The buyer records the delivery.
    DeliverCalloff(usize),
}

/// A service error with what the demo was doing, and every field message.
fn during(what: String) -> impl FnOnce(AppError) -> AppError {
    move |e| {
        let fields: Vec<String> = e
            .field_errors()
            .into_iter()
            .map(|(f, m)| format!("{f}: {}", m.join(" ")))
            .collect();
        AppError::Internal(format!("{what}: {} {}", e.user_detail(), fields.join("; ")))
    }
}

/// Plays tenders.csv and the files around it through the services, each step at its own time on
/// a frozen clock set forward step by step (the demo itself runs on the real clock).
fn load_tenders(
    conn: &mut DbConn,
    state: &AppState,
    dir: &Path,
    seed: &TenderSeed,
    loaded: &Loaded,
    users: &[UserRow],
) -> AppResult<()> {
    use crate::award;
    use crate::clock::Clock;
    use crate::domain::money::{round_commercial, Price};
    use crate::tender::{self, bids, TenderCommand};
    use chrono::Duration;

    let now = state.clock.now_naive();
    let today = local_today(state);
    let day = |days: i64| (today + Duration::days(days)).format("%Y-%m-%d").to_string();
    let at = |days: i64, time: &str| -> AppResult<chrono::NaiveDateTime> {
        crate::web::read::local_datetime(&day(days), time)
            .ok_or_else(|| AppError::Internal(format!("Zeitpunkt {} {time} ungültig", day(days))))
    };

    let mut steps: Vec<(chrono::NaiveDateTime, Step)> = Vec::new();
    for (i, t) in seed.tenders.iter().enumerate() {
        steps.push((at(t.created_days, CREATED_AT)?, Step::Create(i)));
        steps.push((at(t.published_days, PUBLISHED_AT)?, Step::Publish(i)));
        if let Some(d) = t.opening_days {
            steps.push((at(d, OPENING_STARTED_AT)?, Step::StartOpening(i)));
            steps.push((at(d, OPENING_CONFIRMED_AT)?, Step::ConfirmOpening(i)));
        }
    }
    for (i, q) in seed.questions.iter().enumerate() {
        steps.push((at(q.asked_days, &q.asked_time)?, Step::Ask(i)));
        if let Some(d) = q.answered_days {
            steps.push((at(d, &q.answered_time)?, Step::Answer(i)));
        }
    }
    for (i, b) in seed.bids.iter().enumerate() {
        steps.push((at(b.days, &b.time)?, Step::Bid(i)));
    }
    for (i, e) in seed.evaluations.iter().enumerate() {
        steps.push((at(e.days, &e.time)?, Step::Evaluate(i)));
    }
    for (i, a) in seed.awards.iter().enumerate() {
        steps.push((at(a.days, &a.time)?, Step::Award(i)));
        if let Some(after) = a.concluded_after {
            let days = conclusion_days(a.days, after, today, state.config.holiday_region());
            steps.push((at(days, CONCLUDED_AT)?, Step::Conclude(i)));
        }
    }
    for (i, r) in seed.calloffs.iter().enumerate() {
        let (_, concluded) = seed
            .concluded(&r.tender, r.lot, today, state.config.holiday_region())
            .ok_or_else(|| {
                seed_error(
                    "calloffs.csv",
                    format!("„{} / Los {}“ nicht geschlossen", r.tender, r.lot),
                )
            })?;
        steps.push((at(concluded + r.days, &r.time)?, Step::PlaceCalloff(i)));
        if let Some(d) = r.status_days {
            steps.push((at(concluded + d, &r.status_time)?, Step::AnswerCalloff(i)));
        }
        if let Some(d) = r.delivered_days {
            steps.push((at(concluded + d, &r.delivered_time)?, Step::DeliverCalloff(i)));
        }
    }
    // Stable: steps at the same minute keep the order above.
    steps.sort_by_key(|(t, _)| *t);
    let Some((first, _)) = steps.first() else {
        return Ok(());
    };
    if let Some((late, _)) = steps.iter().find(|(t, _)| *t >= now) {
        return Err(AppError::Internal(format!(
            "Demo-Ausschreibungen: Schritt am {late} liegt nicht in der Vergangenheit"
        )));
    }
    let past = AppState {
        clock: Clock::configured(Some(first.and_utc()), Duration::zero(), true),
        ..state.clone()
    };
    let vendor_email = |key: &str| -> AppResult<&str> {
        users
            .iter()
            .find(|u| u.organisation == key && u.role == Role::Vendor)
            .map(|u| u.email.as_str())
            .ok_or_else(|| AppError::Internal(format!("Lieferant „{key}“ ohne Konto")))
    };

    let mut tender_ids: HashMap<&str, i64> = HashMap::new();
    let mut question_ids: HashMap<usize, i64> = HashMap::new();
    let mut award_ids: HashMap<usize, i64> = HashMap::new();
    // awards.csv row → framework contract id; calloffs.csv row → call-off id.
    let mut contract_ids: HashMap<usize, i64> = HashMap::new();
    let mut calloff_ids: HashMap<usize, i64> = HashMap::new();
    let tender_officer = |key: &str| -> &str {
        seed.tenders
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.officer.as_str())
            .unwrap_or_default()
    };
    // The tender's officer, the tender id and the vendor's current bid on it (with its lot id).
    let target = |conn: &mut DbConn,
                  ids: &HashMap<&str, i64>,
                  tender: &str,
                  vendor: &str,
                  lot: Option<i32>|
     -> AppResult<(crate::auth::CurrentUser, crate::award::BidOnLot)> {
        use crate::db::schema::bids;
        let officer = demo_user(conn, tender_officer(tender))?;
        let tender_id = ids.get(tender).copied().ok_or_else(|| {
            AppError::Internal(format!(
                "Ausschreibung „{tender}“ ist zu diesem Zeitpunkt noch nicht angelegt"
            ))
        })?;
        let vendor_id = demo_user(conn, vendor_email(vendor)?)?.organisation_id;
        let bid_id: i64 = bids::table
            .filter(bids::tender_id.eq(tender_id))
            .filter(bids::vendor_id.eq(vendor_id))
            .filter(bids::status.eq(BidStatus::Submitted))
            .select(bids::id)
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::Internal(format!("„{tender} / {vendor}“: kein gültiges Angebot")))?;
        let lot_id = match lot {
            Some(no) => {
                tender::lots(conn, tender_id)?
                    .into_iter()
                    .find(|l| l.lot_no == no)
                    .ok_or_else(|| AppError::Internal(format!("„{tender}“ hat kein Los {no}")))?
                    .id
            }
            None => 0,
        };
        Ok((
            officer,
            crate::award::BidOnLot {
                tender_id,
                lot_id,
                bid_id,
            },
        ))
    };
    let tender_id = |ids: &HashMap<&str, i64>, key: &str| -> AppResult<i64> {
        ids.get(key).copied().ok_or_else(|| {
            AppError::Internal(format!(
                "Ausschreibung „{key}“ ist zu diesem Zeitpunkt noch nicht angelegt"
            ))
        })
    };
    for (time, step) in steps {
        past.clock.set(time.and_utc());
        match step {
            Step::Create(i) => {
                let t = &seed.tenders[i];
                let officer = demo_user(conn, &t.officer)?;
                let call_id = loaded.calls[&t.call];
                let call = crate::demand::find_call(conn, call_id)?;
                let positions = crate::demand::positions(conn, call_id)?;
                let mut lots: Vec<&LotRow> = seed.lots.iter().filter(|l| l.tender == t.key).collect();
                lots.sort_by_key(|l| l.lot);
                let mut input = TenderCommand::defaults_for(&call, &[]);
                input.title = t.title.clone();
                input.description = t.description.clone();
                input.bid_deadline = crate::web::read::local_datetime(&day(t.deadline_days), DEADLINE_AT);
                input.lots = lots.iter().map(|l| l.title.clone()).collect();
                for (no, l) in lots.iter().enumerate() {
                    for key in lot_positions(l) {
                        let item = loaded.catalogue.get(key).copied();
                        let p = positions
                            .iter()
                            .find(|p| p.catalogue_item_id.is_some() && p.catalogue_item_id == item)
                            .ok_or_else(|| {
                                seed_error(
                                    "tender_lots.csv",
                                    format!("„{key}“ ist keine Position von „{}“", t.call),
                                )
                            })?;
                        input.assignment.insert(p.id, no as i32 + 1);
                    }
                }
                let data = input
                    .validate(conn, past.clock.now_naive())
                    .map_err(during(format!("tenders.csv „{}“", t.key)))?;
                let id = tender::create(conn, &past, &officer, &data)
                    .map_err(during(format!("Ausschreibung „{}“ anlegen", t.key)))?;
                if !t.document.is_empty() {
                    past.clock.advance(Duration::minutes(30));
                    let bytes = std::fs::read(dir.join("documents").join(&t.document))
                        .map_err(|e| seed_error("tenders.csv", format!("documents/{}: {e}", t.document)))?;
                    tender::add_document(conn, &past, &officer, id, &t.document, &bytes)
                        .map_err(during(format!("Unterlage {}", t.document)))?;
                }
                tender_ids.insert(t.key.as_str(), id);
            }
            Step::Publish(i) => {
                let t = &seed.tenders[i];
                let officer = demo_user(conn, &t.officer)?;
                tender::publish(conn, &past, &officer, tender_id(&tender_ids, &t.key)?)
                    .map_err(during(format!("Ausschreibung „{}“ veröffentlichen", t.key)))?;
            }
            Step::Ask(i) => {
                let q = &seed.questions[i];
                let vendor = demo_user(conn, vendor_email(&q.vendor)?)?;
                let qid = tender::ask(conn, &past, &vendor, tender_id(&tender_ids, &q.tender)?, &q.question)
                    .map_err(during(format!("tender_questions.csv „{}“", q.question)))?;
                question_ids.insert(i, qid);
            }
            Step::Answer(i) => {
                let q = &seed.questions[i];
                let t = seed.tenders.iter().find(|t| t.key == q.tender).expect("checked");
                let officer = demo_user(conn, &t.officer)?;
                let qid = question_ids
                    .get(&i)
                    .copied()
                    .ok_or_else(|| seed_error("tender_questions.csv", "Antwort vor der Frage"))?;
                tender::answer(
                    conn,
                    &past,
                    &officer,
                    tender_id(&tender_ids, &q.tender)?,
                    qid,
                    &q.answer,
                )
                .map_err(during(format!("tender_questions.csv Antwort auf „{}“", q.question)))?;
            }
            Step::Bid(i) => {
                let b = &seed.bids[i];
                let vendor = demo_user(conn, vendor_email(&b.vendor)?)?;
                let id = tender_id(&tender_ids, &b.tender)?;
                let what = format!("bids.csv „{} / {} / {}“", b.tender, b.vendor, b.action);
                if b.action == "withdraw" {
                    bids::withdraw(conn, &past, &vendor, id).map_err(during(what))?;
                    continue;
                }
                let factor =
                    demo_number(&b.price_factor, "bids.csv price_factor")?.unwrap_or(rust_decimal::Decimal::ONE);
                let tendered = tender::find(conn, id)?;
                let positions = tender::positions(conn, id)?;
                let call_positions = crate::demand::positions(conn, tendered.demand_call_id)?;
                let mut prices = HashMap::new();
                for p in seed
                    .prices
                    .iter()
                    .filter(|p| p.tender == b.tender && p.vendor == b.vendor)
                {
                    let item = loaded.catalogue.get(&p.catalogue_key).copied();
                    let position = positions
                        .iter()
                        .find(|tp| {
                            call_positions
                                .iter()
                                .any(|cp| Some(cp.id) == tp.demand_position_id && cp.catalogue_item_id == item)
                        })
                        .ok_or_else(|| {
                            seed_error(
                                "bid_prices.csv",
                                format!("„{}“ wird in „{}“ nicht ausgeschrieben", p.catalogue_key, p.tender),
                            )
                        })?;
                    let list = demo_number(&p.unit_price, "bid_prices.csv unit_price")?.unwrap_or_default();
                    // The factor makes a resubmission cheaper or dearer; prices stay in cents.
                    let price = Price::from_decimal(round_commercial(list * factor, 2))
                        .map_err(|e| seed_error("bid_prices.csv", format!("{}: {e}", p.catalogue_key)))?;
                    prices.insert(position.id, price);
                }
                let spec = tendered.spec()?;
                let input = bids::BidInput {
                    prices,
                    lots: Vec::new(),
                    a_confirmed: vec![true; spec.a_criteria.len()],
                    b_texts: b.quality.split('|').map(|s| s.trim().to_string()).collect(),
                };
                bids::submit(conn, &past, &vendor, id, &input).map_err(during(what))?;
            }
            Step::StartOpening(i) => {
                let t = &seed.tenders[i];
                let officer = demo_user(conn, &t.opened_by)?;
                tender::start_opening(conn, &past, &officer, tender_id(&tender_ids, &t.key)?)
                    .map_err(during(format!("Öffnung von „{}“ beginnen", t.key)))?;
            }
            Step::ConfirmOpening(i) => {
                let t = &seed.tenders[i];
                let officer = demo_user(conn, &t.confirmed_by)?;
                tender::confirm_opening(conn, &past, &officer, tender_id(&tender_ids, &t.key)?)
                    .map_err(during(format!("Öffnung von „{}“ bestätigen", t.key)))?;
            }
            Step::Evaluate(i) => {
                let e = &seed.evaluations[i];
                let (officer, bid) = target(conn, &tender_ids, &e.tender, &e.vendor, e.lot)?;
                let what = during(format!("evaluations.csv „{} / {} / {}“", e.tender, e.vendor, e.action));
                match e.action.as_str() {
                    "score" => {
                        let mut scores = Vec::new();
                        for (s, r) in split_bar(&e.scores).into_iter().zip(split_bar(&e.reason)) {
                            let score = crate::domain::numbers::german(s)
                                .map_err(|m| seed_error("evaluations.csv", format!("Punktzahl {m}")))?;
                            scores.push((Some(score), r.to_string()));
                        }
                        award::score(conn, &past, &officer, bid.tender_id, bid.bid_id, &scores).map_err(what)?;
                    }
                    "request_explanation" => award::request_explanation(conn, &past, &officer, bid).map_err(what)?,
                    decision => {
                        let accept = decision == "accept_low";
                        award::decide_low(conn, &past, &officer, bid, accept, &e.reason).map_err(what)?;
                    }
                }
            }
            Step::Award(i) => {
                let a = &seed.awards[i];
                let (officer, bid) = target(conn, &tender_ids, &a.tender, &a.vendor, Some(a.lot))?;
                let id = award::award(conn, &past, &officer, bid, &a.reason).map_err(during(format!(
                    "awards.csv „{} / Los {} / {}“",
                    a.tender, a.lot, a.vendor
                )))?;
                award_ids.insert(i, id);
            }
            Step::Conclude(i) => {
                let a = &seed.awards[i];
                let officer = demo_user(conn, tender_officer(&a.tender))?;
                let award_id = award_ids
                    .get(&i)
                    .copied()
                    .ok_or_else(|| seed_error("awards.csv", "Abschluss vor dem Zuschlag"))?;
                let contract_id = award::conclude(conn, &past, &officer, tender_id(&tender_ids, &a.tender)?, award_id)
                    .map_err(during(format!("awards.csv „{} / Los {}“ abschließen", a.tender, a.lot)))?;
                contract_ids.insert(i, contract_id);
            }
            Step::PlaceCalloff(i) => {
                let r = &seed.calloffs[i];
                let what = format!(
                    "calloffs.csv Zeile {} („{} / Los {} / {}“)",
                    i + 2,
                    r.tender,
                    r.lot,
                    r.buyer
                );
                let contract_id = seed
                    .concluded(&r.tender, r.lot, today, state.config.holiday_region())
                    .and_then(|(a, _)| contract_ids.get(&a).copied())
                    .ok_or_else(|| seed_error("calloffs.csv", format!("{what}: Abruf vor dem Vertragsschluss")))?;
                let buyer = demo_user(conn, &r.buyer)?;
                let positions = crate::calloff::positions(conn, contract_id)?;
                let mut quantities = Vec::new();
                for (no, q) in calloff_positions(&r.positions)? {
                    let p = positions
                        .iter()
                        .find(|p| p.position_no == no)
                        .ok_or_else(|| seed_error("calloffs.csv", format!("{what}: Pos. {no} nicht im Vertrag")))?;
                    let q = crate::domain::money::Quantity::from_decimal(q)
                        .map_err(|e| seed_error("calloffs.csv", format!("{what}: Pos. {no}: Die Menge {e}")))?;
                    quantities.push((p.position_id, q));
                }
                let input = crate::calloff::CalloffCommand {
                    quantities,
                    delivery_address: r.delivery_address.clone(),
                    cost_centre: r.cost_centre.clone(),
                    leitweg_id: r.leitweg_id.clone(),
                    note: r.note.clone(),
                };
                let placed = crate::calloff::place(conn, &past, &buyer, contract_id, &input).map_err(during(what))?;
                calloff_ids.insert(i, placed.id);
            }
            Step::AnswerCalloff(i) | Step::DeliverCalloff(i) => {
                use crate::calloff::Step as Life;
                let r = &seed.calloffs[i];
                let deliver = matches!(step, Step::DeliverCalloff(_));
                let what = format!("calloffs.csv Zeile {} („{} / {}“)", i + 2, r.buyer, r.status);
                let id = calloff_ids
                    .get(&i)
                    .copied()
                    .ok_or_else(|| seed_error("calloffs.csv", format!("{what}: Schritt vor dem Abruf")))?;
                let (life, actor) = match (deliver, r.status) {
                    (true, _) => (Life::Deliver, r.buyer.clone()),
                    (false, CalloffStatus::Cancelled) => (Life::Cancel, r.buyer.clone()),
                    (false, status) => {
                        let vendor = seed
                            .awards
                            .iter()
                            .find(|a| a.tender == r.tender && a.lot == r.lot)
                            .map(|a| a.vendor.as_str())
                            .unwrap_or_default();
                        let life = if status == CalloffStatus::Rejected {
                            Life::Reject
                        } else {
                            Life::Confirm
                        };
                        (life, vendor_email(vendor)?.to_string())
                    }
                };
                let user = demo_user(conn, &actor)?;
                let reason = if deliver { "" } else { r.reason.as_str() };
                crate::calloff::advance(conn, &past, &user, id, life, reason).map_err(during(what))?;
            }
        }
    }
    Ok(())
}
