//! Vendors register themselves: organisation and first user in one transaction, pending until
//! an officer approves.

use super::{email_taken, insert_org, insert_user, org_details, push, user_details, OrgData, OrgInput, UserData};
use crate::audit::{self, Actor, Event};
use crate::auth::password_problems;
use crate::db::schema::users;
use crate::db::{write_tx, DbConn};
use crate::domain::identifiers;
use crate::domain::ids::OrgId;
use crate::domain::roles::{OrgType, Role, VendorStatus};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::mail;
use crate::AppState;
use diesel::prelude::*;
use serde_json::json;

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
) -> AppResult<Option<OrgId>> {
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
