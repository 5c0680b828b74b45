//! User accounts: one role each, e-mail unique, created, changed and deactivated by an admin;
//! sessions end when a role or the account changes.

use super::{errors_or, push, Organisation, User};
use crate::audit::{self, Actor, Event};
use crate::auth::{hash_password, password_problems, revoke_sessions, CurrentUser};
use crate::db::schema::{organisations, users};
use crate::db::{write_tx, DbConn};
use crate::domain::identifiers;
use crate::domain::ids::{OrgId, UserId};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::mail;
use crate::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

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
    #[schema(value_type = Option<i64>)]
    pub organisation_id: Option<OrgId>,
    #[serde(default)]
    pub password: String,
}

#[derive(Debug, Clone)]
pub struct UserData {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organisation_id: OrgId,
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
                organisation_id: self.organisation_id.unwrap_or_default(),
                password,
            },
        )
    }
}

pub fn find_user(conn: &mut DbConn, id: UserId) -> AppResult<User> {
    Ok(users::table.find(id).select(User::as_select()).first(conn)?)
}

pub fn email_taken(conn: &mut DbConn, email: &str, except: Option<UserId>) -> AppResult<bool> {
    let count: i64 = users::table
        .filter(users::email.eq(email))
        .filter(users::id.ne(except.unwrap_or(UserId(-1))))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

pub(super) fn email_taken_error() -> AppError {
    AppError::field("email", "Diese E-Mail-Adresse ist bereits vergeben.")
}

/// The unique index on e-mail decides a race between two requests for the same address.
pub(super) fn email_unique(e: diesel::result::Error) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            email_taken_error()
        }
        other => other.into(),
    }
}

/// A user account as stored: active, only the password's hash.
#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUser<'a> {
    organisation_id: OrgId,
    email: &'a str,
    name: &'a str,
    role: Role,
    password_hash: &'a str,
    active: bool,
    created_at: NaiveDateTime,
    password_changed_at: NaiveDateTime,
}

pub fn insert_user(conn: &mut DbConn, now: NaiveDateTime, data: &UserData, password_hash: &str) -> AppResult<UserId> {
    diesel::insert_into(users::table)
        .values(NewUser {
            organisation_id: data.organisation_id,
            email: &data.email,
            name: &data.name,
            role: data.role,
            password_hash,
            active: true,
            created_at: now,
            password_changed_at: now,
        })
        .returning(users::id)
        .get_result(conn)
        .map_err(email_unique)
}

pub(crate) fn user_details(data: &UserData) -> serde_json::Value {
    json!({ "email": data.email, "name": data.name, "role": data.role.code(), "organisation_id": data.organisation_id })
}

/// Creates an account (admin or CLI) and tells the new user by mail; the password is never mailed.
pub fn create_user(conn: &mut DbConn, state: &AppState, actor: &Actor, data: &UserData) -> AppResult<UserId> {
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

pub fn update_user(conn: &mut DbConn, state: &AppState, actor: &Actor, id: UserId, data: &UserData) -> AppResult<()> {
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
    id: UserId,
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
