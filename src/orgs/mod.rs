//! Organisations (the cooperative, members, vendors), user accounts and the catalogue: models,
//! validation and the services that change them, each with its audit event in one transaction.

pub mod routes;

use crate::audit::{self, Actor, Event};
use crate::auth::{hash_password, password_problems, revoke_sessions, CurrentUser};
use crate::db::schema::{catalogue_items, organisations, users};
use crate::db::{write_tx, DbConn};
use crate::domain::identifiers;
use crate::domain::roles::{MemberKind, OrgType, Role, VendorStatus};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::mail;
use crate::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: i64,
    pub org_type: OrgType,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub member_kind: Option<MemberKind>,
    pub leitweg_id: Option<String>,
    pub vat_id: Option<String>,
    pub contact_email: Option<String>,
    pub vendor_status: Option<VendorStatus>,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub organisation_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(skip)]
    pub password_hash: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub password_changed_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = catalogue_items)]
pub struct CatalogueItem {
    pub id: i64,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_default().push(message.into());
}

fn errors_or<T>(errors: FieldErrors, value: T) -> AppResult<T> {
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(AppError::fields(errors))
    }
}

/// What a form or API body says about an organisation, before validation.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct OrgInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub member_kind: String,
    #[serde(default)]
    pub leitweg_id: String,
    #[serde(default)]
    pub vat_id: String,
    #[serde(default)]
    pub contact_email: String,
}

/// A validated organisation, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgData {
    pub org_type: OrgType,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub member_kind: Option<MemberKind>,
    pub leitweg_id: Option<String>,
    pub vat_id: Option<String>,
    pub contact_email: Option<String>,
}

impl OrgInput {
    pub fn validate(&self, org_type: OrgType) -> AppResult<OrgData> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim().to_string();
        if name.chars().count() < 2 || name.chars().count() > 200 {
            push(&mut errors, "name", "Bitte geben Sie den Namen an (2 bis 200 Zeichen).");
        }
        let street = self.street.trim().to_string();
        if street.is_empty() || street.chars().count() > 200 {
            push(&mut errors, "street", "Bitte geben Sie Straße und Hausnummer an.");
        }
        let postal_code = self.postal_code.trim().to_string();
        let plz_ok = postal_code.len() == 5 && postal_code.bytes().all(|b| b.is_ascii_digit());
        if !plz_ok {
            push(
                &mut errors,
                "postal_code",
                "Bitte geben Sie eine gültige Postleitzahl an (fünf Ziffern).",
            );
        }
        let city = self.city.trim().to_string();
        if city.is_empty() || city.chars().count() > 100 {
            push(&mut errors, "city", "Bitte geben Sie den Ort an.");
        }
        let mut data = OrgData {
            org_type,
            name,
            street,
            postal_code,
            city,
            member_kind: None,
            leitweg_id: None,
            vat_id: None,
            contact_email: None,
        };
        match org_type {
            OrgType::Member => {
                match self.member_kind.trim().parse::<MemberKind>() {
                    Ok(kind) => data.member_kind = Some(kind),
                    Err(_) => push(
                        &mut errors,
                        "member_kind",
                        "Bitte wählen Sie die Art des Mitglieds (Land, Kommune, Hochschule, sonstige).",
                    ),
                }
                if !self.leitweg_id.trim().is_empty() {
                    match identifiers::leitweg_id(&self.leitweg_id) {
                        Ok(id) => data.leitweg_id = Some(id),
                        Err(e) => push(&mut errors, "leitweg_id", format!("Die Leitweg-ID {e}.")),
                    }
                }
            }
            OrgType::Vendor => {
                match identifiers::vat_id(&self.vat_id) {
                    Ok(id) => data.vat_id = Some(id),
                    Err(e) => push(&mut errors, "vat_id", format!("Die USt-IdNr. {e}.")),
                }
                match identifiers::email(&self.contact_email) {
                    Ok(mail) => data.contact_email = Some(mail),
                    Err(e) => push(&mut errors, "contact_email", format!("Die Kontakt-E-Mail {e}.")),
                }
            }
            OrgType::Cooperative => {
                if let Ok(mail) = identifiers::email(&self.contact_email) {
                    data.contact_email = Some(mail);
                }
            }
        }
        errors_or(errors, data)
    }
}

pub fn find_org(conn: &mut DbConn, id: i64) -> AppResult<Organisation> {
    // Default selection (all columns in table order): a static query id keeps the statement
    // cached instead of building the SQL on every call.
    Ok(organisations::table.find(id).first(conn)?)
}

pub fn list_orgs(conn: &mut DbConn, org_type: OrgType) -> AppResult<Vec<Organisation>> {
    Ok(organisations::table
        .filter(organisations::org_type.eq(org_type))
        .order(organisations::name.asc())
        .select(Organisation::as_select())
        .load(conn)?)
}

pub fn cooperative(conn: &mut DbConn) -> AppResult<Option<Organisation>> {
    Ok(organisations::table
        .filter(organisations::org_type.eq(OrgType::Cooperative))
        .order(organisations::id.asc())
        .select(Organisation::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_org(
    conn: &mut DbConn,
    now: NaiveDateTime,
    data: &OrgData,
    vendor_status: Option<VendorStatus>,
) -> AppResult<i64> {
    Ok(diesel::insert_into(organisations::table)
        .values((
            organisations::org_type.eq(data.org_type),
            organisations::name.eq(&data.name),
            organisations::street.eq(&data.street),
            organisations::postal_code.eq(&data.postal_code),
            organisations::city.eq(&data.city),
            organisations::member_kind.eq(data.member_kind),
            organisations::leitweg_id.eq(&data.leitweg_id),
            organisations::vat_id.eq(&data.vat_id),
            organisations::contact_email.eq(&data.contact_email),
            organisations::vendor_status.eq(vendor_status),
            organisations::active.eq(true),
            organisations::created_at.eq(now),
        ))
        .returning(organisations::id)
        .get_result(conn)?)
}

pub(crate) fn org_details(data: &OrgData) -> serde_json::Value {
    json!({
        "org_type": data.org_type.code(),
        "name": data.name,
        "street": data.street,
        "postal_code": data.postal_code,
        "city": data.city,
        "member_kind": data.member_kind.map(|k| k.code()),
        "leitweg_id": data.leitweg_id,
        "vat_id": data.vat_id,
        "contact_email": data.contact_email,
    })
}

/// Creates an organisation (admin); vendors created by the admin start approved.
pub fn create_org(conn: &mut DbConn, state: &AppState, actor: &Actor, data: &OrgData) -> AppResult<i64> {
    write_tx(conn, |conn| {
        let status = (data.org_type == OrgType::Vendor).then_some(VendorStatus::Approved);
        let id = insert_org(conn, state.clock.now_naive(), data, status)?;
        audit::record(
            conn,
            &state.clock,
            actor,
            Event::new("organisation.created", "organisation", id, org_details(data)),
        )?;
        Ok(id)
    })
}

pub fn update_org(conn: &mut DbConn, state: &AppState, actor: &Actor, id: i64, data: &OrgData) -> AppResult<()> {
    write_tx(conn, |conn| {
        let existing = find_org(conn, id)?;
        if existing.org_type != data.org_type {
            return Err(AppError::NotFound);
        }
        diesel::update(organisations::table.find(id))
            .set((
                organisations::name.eq(&data.name),
                organisations::street.eq(&data.street),
                organisations::postal_code.eq(&data.postal_code),
                organisations::city.eq(&data.city),
                organisations::member_kind.eq(data.member_kind),
                organisations::leitweg_id.eq(&data.leitweg_id),
                organisations::vat_id.eq(&data.vat_id),
                organisations::contact_email.eq(&data.contact_email),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            &state.clock,
            actor,
            Event::new("organisation.updated", "organisation", id, org_details(data)),
        )
    })
}

/// Activates or deactivates an organisation; deactivation ends the sessions of all its users.
pub fn set_org_active(conn: &mut DbConn, state: &AppState, actor: &Actor, id: i64, active: bool) -> AppResult<()> {
    let result = write_tx(conn, |conn| {
        let org = find_org(conn, id)?;
        if org.org_type == OrgType::Cooperative && !active {
            return Err(AppError::Conflict(
                "Die Genossenschaft selbst kann nicht deaktiviert werden.".into(),
            ));
        }
        diesel::update(organisations::table.find(id))
            .set(organisations::active.eq(active))
            .execute(conn)?;
        if !active {
            let user_ids: Vec<i64> = users::table
                .filter(users::organisation_id.eq(id))
                .select(users::id)
                .load(conn)?;
            for uid in user_ids {
                revoke_sessions(conn, uid, None, state.clock.now_naive())?;
            }
        }
        let action = if active {
            "organisation.activated"
        } else {
            "organisation.deactivated"
        };
        audit::record(
            conn,
            &state.clock,
            actor,
            Event::new(action, "organisation", id, json!({ "name": org.name })),
        )
    });
    // Sessions cached by this instance may carry the old rights.
    state.sessions.invalidate_all();
    result
}

/// Approves or suspends a vendor; the vendor's users are told by mail.
pub fn set_vendor_status(
    conn: &mut DbConn,
    state: &AppState,
    actor: &Actor,
    id: i64,
    status: VendorStatus,
) -> AppResult<()> {
    let result = write_tx(conn, |conn| {
        let org = find_org(conn, id)?;
        if org.org_type != OrgType::Vendor {
            return Err(AppError::NotFound);
        }
        let old = org.vendor_status;
        if old == Some(status) {
            return Ok(());
        }
        diesel::update(organisations::table.find(id))
            .set(organisations::vendor_status.eq(status))
            .execute(conn)?;
        let vendor_users: Vec<User> = users::table
            .filter(users::organisation_id.eq(id))
            .select(User::as_select())
            .load(conn)?;
        for u in &vendor_users {
            if status == VendorStatus::Suspended {
                revoke_sessions(conn, u.id, None, state.clock.now_naive())?;
            }
            if status == VendorStatus::Approved && u.active {
                mail::enqueue(
                    conn,
                    state,
                    &u.email,
                    "vendor_approved",
                    &json!({ "name": u.name, "company": org.name }),
                )?;
            }
        }
        audit::record(
            conn,
            &state.clock,
            actor,
            Event::new(
                &format!("vendor.{}", status.code()),
                "organisation",
                id,
                json!({ "name": org.name, "from": old, "to": status.code() }),
            ),
        )
    });
    // Sessions cached by this instance may carry the old rights.
    state.sessions.invalidate_all();
    result
}

/// What a form or API body says about a user account.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct UserInput {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub organisation_id: Option<i64>,
    #[serde(default)]
    pub password: String,
}

#[derive(Debug, Clone)]
pub struct UserData {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organisation_id: i64,
    pub password: Option<String>,
}

impl UserInput {
    /// Checks the fields and that the role fits the organisation's kind; `new` requires a password.
    pub fn validate(&self, conn: &mut DbConn, new: bool) -> AppResult<UserData> {
        let mut errors = FieldErrors::new();
        let email = identifiers::email(&self.email).unwrap_or_else(|e| {
            push(&mut errors, "email", format!("Die E-Mail-Adresse {e}."));
            String::new()
        });
        let name = self.name.trim().to_string();
        if name.chars().count() < 2 || name.chars().count() > 200 {
            push(&mut errors, "name", "Bitte geben Sie den Namen an (2 bis 200 Zeichen).");
        }
        let role = self.role.parse::<Role>().ok();
        if role.is_none() {
            push(&mut errors, "role", "Bitte wählen Sie eine Rolle.");
        }
        let org = match self.organisation_id {
            Some(id) => organisations::table
                .find(id)
                .select(Organisation::as_select())
                .first(conn)
                .optional()?,
            None => None,
        };
        match (&org, role) {
            (None, _) => push(&mut errors, "organisation_id", "Bitte wählen Sie eine Organisation."),
            (Some(o), Some(r)) => {
                let org_type = o.org_type;
                if !r.fits(org_type) {
                    push(
                        &mut errors,
                        "role",
                        format!(
                            "Die Rolle „{}“ passt nicht zu „{}“ ({}); sie gehört zu: {}.",
                            r.label(),
                            o.name,
                            org_type.label(),
                            r.org_type().label()
                        ),
                    );
                }
            }
            _ => {}
        }
        let password = if new || !self.password.is_empty() {
            for p in password_problems(&self.password, &email) {
                push(&mut errors, "password", p);
            }
            Some(self.password.clone())
        } else {
            None
        };
        errors_or(
            errors,
            UserData {
                email,
                name,
                role: role.unwrap_or(Role::Buyer),
                organisation_id: self.organisation_id.unwrap_or(0),
                password,
            },
        )
    }
}

pub fn find_user(conn: &mut DbConn, id: i64) -> AppResult<User> {
    Ok(users::table.find(id).select(User::as_select()).first(conn)?)
}

pub fn email_taken(conn: &mut DbConn, email: &str, except: Option<i64>) -> AppResult<bool> {
    let count: i64 = users::table
        .filter(users::email.eq(email))
        .filter(users::id.ne(except.unwrap_or(-1)))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

fn email_taken_error() -> AppError {
    AppError::field("email", "Diese E-Mail-Adresse ist bereits vergeben.")
}

/// The unique index on e-mail decides a race between two requests for the same address.
fn email_unique(e: diesel::result::Error) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            email_taken_error()
        }
        other => other.into(),
    }
}

pub fn insert_user(conn: &mut DbConn, now: NaiveDateTime, data: &UserData, password_hash: &str) -> AppResult<i64> {
    diesel::insert_into(users::table)
        .values((
            users::organisation_id.eq(data.organisation_id),
            users::email.eq(&data.email),
            users::name.eq(&data.name),
            users::role.eq(data.role),
            users::password_hash.eq(password_hash),
            users::active.eq(true),
            users::created_at.eq(now),
            users::password_changed_at.eq(now),
        ))
        .returning(users::id)
        .get_result(conn)
        .map_err(email_unique)
}

pub(crate) fn user_details(data: &UserData) -> serde_json::Value {
    json!({ "email": data.email, "name": data.name, "role": data.role.code(), "organisation_id": data.organisation_id })
}

/// Creates an account (admin or CLI) and tells the new user by mail; the password is never mailed.
pub fn create_user(conn: &mut DbConn, state: &AppState, actor: &Actor, data: &UserData) -> AppResult<i64> {
    let hash = hash_password(data.password.as_deref().unwrap_or_default())?;
    write_tx(conn, |conn| {
        if email_taken(conn, &data.email, None)? {
            return Err(email_taken_error());
        }
        let id = insert_user(conn, state.clock.now_naive(), data, &hash)?;
        audit::record(
            conn,
            &state.clock,
            actor,
            Event::new("user.created", "user", id, user_details(data)),
        )?;
        mail::enqueue(
            conn,
            state,
            &data.email,
            "account_created",
            &json!({ "name": data.name, "role": data.role.label(), "login_url": format!("{}/anmelden", state.config.base_url) }),
        )?;
        Ok(id)
    })
}

pub fn update_user(conn: &mut DbConn, state: &AppState, actor: &Actor, id: i64, data: &UserData) -> AppResult<()> {
    let hash = match &data.password {
        Some(p) => Some(hash_password(p)?),
        None => None,
    };
    let result = write_tx(conn, |conn| {
        find_user(conn, id)?;
        if email_taken(conn, &data.email, Some(id))? {
            return Err(email_taken_error());
        }
        let now = state.clock.now_naive();
        diesel::update(users::table.find(id))
            .set((
                users::email.eq(&data.email),
                users::name.eq(&data.name),
                users::role.eq(data.role),
                users::organisation_id.eq(data.organisation_id),
            ))
            .execute(conn)
            .map_err(email_unique)?;
        if let Some(hash) = &hash {
            diesel::update(users::table.find(id))
                .set((users::password_hash.eq(hash), users::password_changed_at.eq(now)))
                .execute(conn)?;
        }
        // A changed role or organisation must not keep old sessions with the old rights.
        revoke_sessions(conn, id, None, now)?;
        // Tokens were issued under the old role, organisation or password.
        diesel::update(
            crate::db::schema::api_tokens::table
                .filter(crate::db::schema::api_tokens::user_id.eq(id))
                .filter(crate::db::schema::api_tokens::revoked_at.is_null()),
        )
        .set(crate::db::schema::api_tokens::revoked_at.eq(now))
        .execute(conn)?;
        let mut details = user_details(data);
        details["password_reset"] = json!(hash.is_some());
        audit::record(
            conn,
            &state.clock,
            actor,
            Event::new("user.updated", "user", id, details),
        )
    });
    // Sessions cached by this instance may carry the old rights.
    state.sessions.invalidate_all();
    result
}

pub fn set_user_active(
    conn: &mut DbConn,
    state: &AppState,
    actor: &CurrentUser,
    id: i64,
    active: bool,
) -> AppResult<()> {
    if id == actor.id && !active {
        return Err(AppError::Conflict(
            "Sie können Ihr eigenes Konto nicht deaktivieren.".into(),
        ));
    }
    let result = write_tx(conn, |conn| {
        let user = find_user(conn, id)?;
        diesel::update(users::table.find(id))
            .set(users::active.eq(active))
            .execute(conn)?;
        if !active {
            revoke_sessions(conn, id, None, state.clock.now_naive())?;
        }
        let action = if active { "user.activated" } else { "user.deactivated" };
        audit::record(
            conn,
            &state.clock,
            &actor.actor(),
            Event::new(action, "user", id, json!({ "email": user.email })),
        )
    });
    // Sessions cached by this instance may carry the old rights.
    state.sessions.invalidate_all();
    result
}

/// What a vendor enters when registering itself.
#[derive(Debug, Clone, Default)]
pub struct RegistrationInput {
    pub org: OrgInput,
    pub person_name: String,
    pub email: String,
    pub password: String,
    pub password_repeat: String,
}

/// Vendor self-registration: a pending vendor and its first user; every active admin is mailed.
/// A registration that passed every check that needs no database.
#[derive(Debug, Clone)]
pub struct Registration {
    pub org: OrgData,
    pub person_name: String,
    pub email: String,
}

/// Checks a registration form; every problem is reported at once.
pub fn validate_registration(input: &RegistrationInput) -> AppResult<Registration> {
    let mut errors = match input.org.validate(OrgType::Vendor) {
        Ok(_) => FieldErrors::new(),
        Err(e) => e.field_errors(),
    };
    let email = identifiers::email(&input.email).unwrap_or_else(|e| {
        push(&mut errors, "email", format!("Die E-Mail-Adresse {e}."));
        String::new()
    });
    if input.person_name.trim().chars().count() < 2 {
        push(&mut errors, "person_name", "Bitte geben Sie Ihren Namen an.");
    }
    for p in password_problems(&input.password, &email) {
        push(&mut errors, "password", p);
    }
    if input.password != input.password_repeat {
        push(
            &mut errors,
            "password_repeat",
            "Die beiden Passwörter stimmen nicht überein.",
        );
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    Ok(Registration {
        org: input.org.validate(OrgType::Vendor)?,
        person_name: input.person_name.trim().to_string(),
        email,
    })
}

/// Stores a pending vendor and its first user and mails every active admin. When the address
/// already has an account, nothing is stored and its owner is told by mail instead, so that the
/// page answers the same either way and reveals no accounts. Returns the new vendor's id.
pub fn register_vendor(
    conn: &mut DbConn,
    state: &AppState,
    reg: &Registration,
    password_hash: &str,
) -> AppResult<Option<i64>> {
    let (data, email) = (&reg.org, &reg.email);
    write_tx(conn, |conn| {
        if email_taken(conn, email, None)? {
            mail::enqueue(
                conn,
                state,
                email,
                "registration_existing",
                &json!({ "company": data.name, "login_url": format!("{}/anmelden", state.config.base_url) }),
            )?;
            return Ok(None);
        }
        let now = state.clock.now_naive();
        let org_id = insert_org(conn, now, data, Some(VendorStatus::Pending))?;
        let user = UserData {
            email: email.clone(),
            name: reg.person_name.clone(),
            role: Role::Vendor,
            organisation_id: org_id,
            password: None,
        };
        let user_id = insert_user(conn, now, &user, password_hash)?;
        let actor = Actor::user(user_id, email);
        audit::record(
            conn,
            &state.clock,
            &actor,
            Event::new("vendor.registered", "organisation", org_id, org_details(data)),
        )?;
        audit::record(
            conn,
            &state.clock,
            &actor,
            Event::new("user.created", "user", user_id, user_details(&user)),
        )?;
        let admins: Vec<(String, String)> = users::table
            .filter(users::role.eq(Role::Admin))
            .filter(users::active.eq(true))
            .select((users::email, users::name))
            .load(conn)?;
        for (admin_email, admin_name) in admins {
            mail::enqueue(
                conn,
                state,
                &admin_email,
                "vendor_registered",
                &json!({
                    "name": admin_name,
                    "company": data.name,
                    "city": data.city,
                    "vat_id": data.vat_id,
                    "contact": user.name,
                    "email": email,
                    "review_url": format!("{}/verwaltung/lieferanten/{}", state.config.base_url, org_id),
                }),
            )?;
        }
        Ok(Some(org_id))
    })
}

/// A catalogue position: description, unit and CPV code (`NNNNNNNN-N`).
pub fn validate_catalogue_item(description: &str, unit: &str, cpv: &str) -> AppResult<(String, String, String)> {
    let mut errors = FieldErrors::new();
    let description = description.trim().to_string();
    if description.chars().count() < 3 || description.chars().count() > 500 {
        push(
            &mut errors,
            "description",
            "Bitte beschreiben Sie die Position (3 bis 500 Zeichen).",
        );
    }
    let unit = unit.trim().to_string();
    if unit.is_empty() || unit.chars().count() > 40 {
        push(
            &mut errors,
            "unit",
            "Bitte geben Sie die Einheit an, z. B. Stück oder Personentag.",
        );
    }
    let cpv = match crate::domain::cpv::validate(cpv) {
        Ok(code) => code,
        Err(e) => {
            push(&mut errors, "cpv_code", format!("Der CPV-Code {e}."));
            String::new()
        }
    };
    errors_or(errors, (description, unit, cpv))
}

/// One page of the catalogue in its order (CPV code, then age) and the number of positions.
pub fn catalogue_page(conn: &mut DbConn, page: crate::web::paging::Page) -> AppResult<(Vec<CatalogueItem>, i64)> {
    let items = catalogue_items::table
        .order((catalogue_items::cpv_code.asc(), catalogue_items::id.asc()))
        .limit(page.size)
        .offset(page.offset())
        .select(CatalogueItem::as_select())
        .load(conn)?;
    let total = catalogue_items::table.count().get_result(conn)?;
    Ok((items, total))
}

/// Up to this many active positions fit one select list; a larger catalogue is searched.
pub const CATALOGUE_CHOICES: i64 = 500;

/// The active positions a form offers: the whole catalogue while it fits one select list
/// (`false`), else the first matches of `search` in description or CPV code, none without a
/// search (`true`: the form shows a search field).
pub fn catalogue_choices(conn: &mut DbConn, search: Option<&str>) -> AppResult<(Vec<CatalogueItem>, bool)> {
    let active = || {
        catalogue_items::table
            .filter(catalogue_items::active.eq(true))
            .order((catalogue_items::cpv_code.asc(), catalogue_items::id.asc()))
            .select(CatalogueItem::as_select())
            .into_boxed()
    };
    let first: Vec<CatalogueItem> = active().limit(CATALOGUE_CHOICES + 1).load(conn)?;
    if first.len() as i64 <= CATALOGUE_CHOICES {
        return Ok((first, false));
    }
    let Some(term) = search.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok((Vec::new(), true));
    };
    // LIKE wildcards typed by the user are taken literally.
    let escaped: String = term
        .chars()
        .flat_map(|ch| match ch {
            '%' | '_' | '\\' => vec!['\\', ch],
            _ => vec![ch],
        })
        .collect();
    let pattern = format!("%{escaped}%");
    let found = active()
        .filter(
            catalogue_items::description
                .like(pattern.clone())
                .escape('\\')
                .or(catalogue_items::cpv_code.like(pattern).escape('\\')),
        )
        .limit(100)
        .load(conn)?;
    Ok((found, true))
}

pub fn list_catalogue(conn: &mut DbConn) -> AppResult<Vec<CatalogueItem>> {
    Ok(catalogue_items::table
        .order((catalogue_items::cpv_code.asc(), catalogue_items::id.asc()))
        .select(CatalogueItem::as_select())
        .load(conn)?)
}

pub fn create_catalogue_item(
    conn: &mut DbConn,
    state: &AppState,
    actor: &Actor,
    (description, unit, cpv): &(String, String, String),
) -> AppResult<i64> {
    write_tx(conn, |conn| {
        let id: i64 = diesel::insert_into(catalogue_items::table)
            .values((
                catalogue_items::description.eq(description),
                catalogue_items::unit.eq(unit),
                catalogue_items::cpv_code.eq(cpv),
                catalogue_items::active.eq(true),
                catalogue_items::created_at.eq(state.clock.now_naive()),
            ))
            .returning(catalogue_items::id)
            .get_result(conn)?;
        audit::record(
            conn,
            &state.clock,
            actor,
            Event::new(
                "catalogue_item.created",
                "catalogue_item",
                id,
                json!({ "description": description, "unit": unit, "cpv_code": cpv }),
            ),
        )?;
        Ok(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member_input() -> OrgInput {
        OrgInput {
            name: "Stadt Kassel".into(),
            street: "Obere Königsstraße 8".into(),
            postal_code: "34117".into(),
            city: "Kassel".into(),
            member_kind: "kommune".into(),
            leitweg_id: "991-33333TEST-33".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_member_passes() {
        let data = member_input().validate(OrgType::Member).unwrap();
        assert_eq!(data.member_kind, Some(MemberKind::Kommune));
        assert_eq!(data.leitweg_id.as_deref(), Some("991-33333TEST-33"));
    }

    #[test]
    fn member_errors_name_each_field() {
        let input = OrgInput {
            postal_code: "3411".into(),
            member_kind: "verein".into(),
            leitweg_id: "123".into(),
            ..member_input()
        };
        let errors = input.validate(OrgType::Member).unwrap_err().field_errors();
        assert!(errors.contains_key("postal_code"));
        assert!(errors.contains_key("member_kind"));
        assert!(errors.contains_key("leitweg_id"));
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn vendor_needs_vat_id_and_contact() {
        let input = OrgInput {
            vat_id: "DE136695975".into(),
            contact_email: "x".into(),
            ..member_input()
        };
        let errors = input.validate(OrgType::Vendor).unwrap_err().field_errors();
        assert!(errors["vat_id"][0].contains("Prüfziffer"));
        assert!(errors.contains_key("contact_email"));
    }

    #[test]
    fn catalogue_cpv_format() {
        assert!(validate_catalogue_item("Notebook 14 Zoll", "Stück", "30213100-6").is_ok());
        let errors = validate_catalogue_item("", "", "30213100").unwrap_err().field_errors();
        assert_eq!(errors.len(), 3);
    }
}
