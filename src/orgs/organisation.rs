//! Members, vendors and the cooperative: input checked into `OrgData` (Leitweg-ID, VAT ID,
//! e-mail), created, changed, deactivated, vendors approved or suspended; each change audited.

use super::{errors_or, push, Organisation, User};
use crate::audit::{self, Actor, Event};
use crate::auth::revoke_sessions;
use crate::db::schema::{organisations, users};
use crate::db::{write_tx, DbConn};
use crate::domain::identifiers;
use crate::domain::ids::{OrgId, UserId};
use crate::domain::roles::{MemberKind, OrgType, VendorStatus};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::mail;
use crate::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

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

pub fn find_org(conn: &mut DbConn, id: OrgId) -> AppResult<Organisation> {
    // Default selection (all columns in table order): a static query id keeps the statement
    // cached instead of building the SQL on every call.
    Ok(crate::on_backend!(conn, |c| organisations::table.find(id).first(c))?)
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

/// An organisation as stored, active from the start; an empty optional field is written as NULL.
#[derive(Insertable)]
#[diesel(table_name = organisations, treat_none_as_default_value = false)]
struct NewOrg<'a> {
    org_type: OrgType,
    name: &'a str,
    street: &'a str,
    postal_code: &'a str,
    city: &'a str,
    member_kind: Option<MemberKind>,
    leitweg_id: Option<&'a str>,
    vat_id: Option<&'a str>,
    contact_email: Option<&'a str>,
    vendor_status: Option<VendorStatus>,
    active: bool,
    created_at: NaiveDateTime,
}

pub fn insert_org(
    conn: &mut DbConn,
    now: NaiveDateTime,
    data: &OrgData,
    vendor_status: Option<VendorStatus>,
) -> AppResult<OrgId> {
    Ok(diesel::insert_into(organisations::table)
        .values(NewOrg {
            org_type: data.org_type,
            name: &data.name,
            street: &data.street,
            postal_code: &data.postal_code,
            city: &data.city,
            member_kind: data.member_kind,
            leitweg_id: data.leitweg_id.as_deref(),
            vat_id: data.vat_id.as_deref(),
            contact_email: data.contact_email.as_deref(),
            vendor_status,
            active: true,
            created_at: now,
        })
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
pub fn create_org(conn: &mut DbConn, state: &AppState, actor: &Actor, data: &OrgData) -> AppResult<OrgId> {
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

pub fn update_org(conn: &mut DbConn, state: &AppState, actor: &Actor, id: OrgId, data: &OrgData) -> AppResult<()> {
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
pub fn set_org_active(conn: &mut DbConn, state: &AppState, actor: &Actor, id: OrgId, active: bool) -> AppResult<()> {
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
            let user_ids: Vec<UserId> = users::table
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
    id: OrgId,
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
