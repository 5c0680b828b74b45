//! Pages for logging in and out, changing the password, ending sessions and managing API tokens.
//! Login is rate limited per account and per client address, counted in the database so that
//! several app instances share the limit.

use super::csrf::FormData;
use super::{
    account_blocked, create_session, password_problems, revoke_sessions, set_session_cookie, sha256_hex,
    verify_password, CurrentUser, SESSION_COOKIE,
};
use crate::audit::{self, Actor, Event};
use crate::db::schema::{api_tokens, login_failures, organisations, sessions, users};
use crate::db::{cpu, lock_key, write_tx, Db, DbConn};
use crate::domain::ids::{LoginFailureId, SessionId, TokenId, UserId};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::web::Html;
use crate::web::Layout;
use crate::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rocket::http::{CookieJar, Status};
use rocket::response::{status, Flash, Redirect};
use rocket::{get, post, routes, Build, Either, Rocket};
use serde::Serialize;
use serde_json::json;
use std::net::IpAddr;

/// Only local paths are followed after login, so the parameter cannot send users elsewhere.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.chars().any(char::is_control) {
        next.to_string()
    } else {
        "/".to_string()
    }
}

#[get("/anmelden?<weiter>")]
fn login_page(layout: Layout, weiter: Option<String>) -> Either<Html, Redirect> {
    if layout.user.is_some() {
        return Either::Right(Redirect::to("/"));
    }
    Either::Left(layout.render(
        "login",
        json!({ "next": safe_next(weiter.as_deref().unwrap_or("/")), "form": {} }),
    ))
}

pub enum LoginOutcome {
    Success { token: String },
    WrongCredentials,
    Blocked(&'static str),
    RateLimited { minutes: i64, scope: &'static str },
}

fn failures_since(conn: &mut DbConn, key: &str, since: NaiveDateTime) -> AppResult<(i64, Option<NaiveDateTime>)> {
    let (count, oldest): (i64, Option<NaiveDateTime>) = login_failures::table
        .filter(login_failures::scope_key.eq(key))
        .filter(login_failures::failed_at.gt(since))
        .select((diesel::dsl::count_star(), diesel::dsl::min(login_failures::failed_at)))
        .first(conn)?;
    Ok((count, oldest))
}

/// Counts an attempt against each `(key, limit)` under a lock, so that parallel guesses cannot
/// all pass the check; returns the rows written (to delete on success) or how long to wait.
pub fn reserve_attempt(
    conn: &mut DbConn,
    state: &AppState,
    keys: &[(String, i64, &'static str)],
) -> AppResult<Result<Vec<LoginFailureId>, (i64, &'static str)>> {
    let now = state.clock.now_naive();
    let window = state.config.login_limits.window;
    for (key, max, scope) in keys {
        lock_key(conn, key)?;
        let (count, oldest) = failures_since(conn, key, now - window)?;
        if count >= *max {
            let free_at = oldest.unwrap_or(now) + window;
            let minutes = ((free_at - now).num_seconds() + 59) / 60;
            return Ok(Err((minutes.max(1), scope)));
        }
    }
    let mut ids = Vec::new();
    for (key, _, _) in keys {
        ids.push(
            diesel::insert_into(login_failures::table)
                .values(NewLoginFailure {
                    scope_key: key,
                    failed_at: now,
                })
                .returning(login_failures::id)
                .get_result(conn)?,
        );
    }
    Ok(Ok(ids))
}

/// A failed (or reserved) login attempt, counted against its scope key.
#[derive(Insertable)]
#[diesel(table_name = login_failures)]
struct NewLoginFailure<'a> {
    scope_key: &'a str,
    failed_at: NaiveDateTime,
}

type LoginRow = (
    UserId,
    String,
    bool,
    bool,
    crate::domain::roles::OrgType,
    Option<crate::domain::roles::VendorStatus>,
);

/// A login in three steps: reserve the attempt under the limits, verify the password off the
/// pool (argon2 takes tens of milliseconds), then record the outcome. A failed attempt stays
/// counted; a successful one clears the account's failures.
pub async fn attempt_login(
    db: &Db,
    state: &AppState,
    email: &str,
    password: String,
    addr: Option<IpAddr>,
) -> AppResult<LoginOutcome> {
    let email = email.trim().to_lowercase();
    let limits = &state.config.login_limits;
    let account_key = format!("account:{email}");
    let keys = vec![
        (account_key.clone(), limits.per_account, "account"),
        (
            format!(
                "address:{}",
                addr.map(|a| a.to_string()).unwrap_or_else(|| "unbekannt".into())
            ),
            limits.per_address,
            "address",
        ),
    ];
    let (st, mail) = (state.clone(), email.clone());
    let reserved = db
        .run(move |c| {
            write_tx(c, |c| {
                let ids = match reserve_attempt(c, &st, &keys)? {
                    Ok(ids) => ids,
                    Err(wait) => return Ok(Err(wait)),
                };
                let found: Option<LoginRow> = users::table
                    .inner_join(organisations::table)
                    .filter(users::email.eq(&mail))
                    .select((
                        users::id,
                        users::password_hash,
                        users::active,
                        organisations::active,
                        organisations::org_type,
                        organisations::vendor_status,
                    ))
                    .first(c)
                    .optional()?;
                Ok(Ok((ids, found)))
            })
        })
        .await?;
    let (attempt_ids, found) = match reserved {
        Ok(r) => r,
        Err((minutes, scope)) => return Ok(LoginOutcome::RateLimited { minutes, scope }),
    };
    let hash = found
        .as_ref()
        .map(|f| f.1.clone())
        .unwrap_or_else(|| super::dummy_hash().to_string());
    let password_ok = cpu(move || verify_password(&hash, &password)).await?;
    let Some((user_id, _, user_active, org_active, org_type, vendor_status)) = found.filter(|_| password_ok) else {
        return Ok(LoginOutcome::WrongCredentials);
    };
    let blocked = account_blocked(user_active, org_active, org_type, vendor_status);
    let st = state.clone();
    let token = db
        .run(move |c| {
            write_tx(c, |c| {
                // The right password is no failed guess, even for a blocked account.
                diesel::delete(login_failures::table.filter(login_failures::id.eq_any(&attempt_ids))).execute(c)?;
                if blocked.is_some() {
                    return Ok(None);
                }
                diesel::delete(login_failures::table.filter(login_failures::scope_key.eq(&account_key))).execute(c)?;
                let token = create_session(c, &st, user_id, addr.map(|a| a.to_string()))?;
                audit::record(
                    c,
                    &st.clock,
                    &Actor::user(user_id, &email),
                    Event::new(
                        "session.created",
                        "user",
                        user_id,
                        json!({ "client_addr": addr.map(|a| a.to_string()) }),
                    ),
                )?;
                Ok(Some(token))
            })
        })
        .await?;
    Ok(match (token, blocked) {
        (Some(token), _) => LoginOutcome::Success { token },
        (None, Some(reason)) => LoginOutcome::Blocked(reason),
        (None, None) => LoginOutcome::WrongCredentials,
    })
}

#[post("/anmelden", data = "<form>")]
async fn login(
    layout: Layout,
    form: FormData,
    db: Db,
    state: AppState,
    jar: &CookieJar<'_>,
    addr: Option<IpAddr>,
) -> Result<Either<Redirect, status::Custom<Html>>, AppError> {
    let email = form.get("email");
    let password = form.raw("password");
    let next = safe_next(&form.get("next"));
    let mut errors = FieldErrors::new();
    if email.is_empty() {
        errors
            .entry("email".into())
            .or_default()
            .push("Bitte geben Sie Ihre E-Mail-Adresse ein.".into());
    }
    if password.is_empty() {
        errors
            .entry("password".into())
            .or_default()
            .push("Bitte geben Sie Ihr Passwort ein.".into());
    }
    let page = |message: Option<String>| json!({ "next": next, "form": form.echo(), "message": message });
    if !errors.is_empty() {
        return Ok(Either::Right(layout.render_errors("login", page(None), &errors)));
    }
    let outcome = attempt_login(&db, &state, &email, password, addr).await?;
    let refuse = |status: Status, message: String| {
        let mut errors = FieldErrors::new();
        errors.entry("email".into()).or_default().push(message.clone());
        let mut r = layout.render_errors("login", page(Some(message)), &errors);
        r.0 = status;
        Ok(Either::Right(r))
    };
    match outcome {
        LoginOutcome::Success { token } => {
            set_session_cookie(jar, token, state.config.base_url.starts_with("https://"));
            Ok(Either::Left(Redirect::to(next)))
        }
        LoginOutcome::WrongCredentials => {
            refuse(Status::Unauthorized, "E-Mail-Adresse oder Passwort ist falsch.".into())
        }
        LoginOutcome::Blocked(reason) => refuse(Status::Forbidden, reason.into()),
        LoginOutcome::RateLimited { minutes, scope } => {
            let whom = if scope == "account" {
                "für dieses Konto"
            } else {
                "von Ihrem Anschluss"
            };
            refuse(
                Status::TooManyRequests,
                format!("Zu viele fehlgeschlagene Anmeldeversuche {whom}. Bitte warten Sie {minutes} Minute(n) und versuchen Sie es dann erneut."),
            )
        }
    }
}

#[post("/abmelden", data = "<_form>")]
async fn logout(
    _form: FormData,
    user: Option<CurrentUser>,
    db: Db,
    state: AppState,
    jar: &CookieJar<'_>,
) -> AppResult<Flash<Redirect>> {
    if let Some(user) = user {
        let st = state.clone();
        db.run(move |c| {
            write_tx(c, |c| {
                if let Some(session) = user.credential.session() {
                    diesel::update(sessions::table.find(session))
                        .set(sessions::revoked_at.eq(st.clock.now_naive()))
                        .execute(c)?;
                }
                audit::record(
                    c,
                    &st.clock,
                    &user.actor(),
                    Event::new("session.ended", "user", user.id, json!({})),
                )
            })
        })
        .await?;
    }
    state.sessions.invalidate_all();
    jar.remove_private(SESSION_COOKIE);
    Ok(Flash::success(Redirect::to("/anmelden"), "Sie wurden abgemeldet."))
}

#[derive(Serialize, Queryable)]
struct SessionView {
    id: SessionId,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    client_addr: Option<String>,
}

#[derive(Serialize, Queryable)]
struct TokenView {
    id: TokenId,
    name: String,
    token_prefix: String,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
}

fn account_context(conn: &mut DbConn, user: &CurrentUser, now: NaiveDateTime) -> AppResult<serde_json::Value> {
    let sessions: Vec<SessionView> = sessions::table
        .filter(sessions::user_id.eq(user.id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .order(sessions::created_at.desc())
        .select((
            sessions::id,
            sessions::created_at,
            sessions::expires_at,
            sessions::client_addr,
        ))
        .load(conn)?;
    let tokens: Vec<TokenView> = api_tokens::table
        .filter(api_tokens::user_id.eq(user.id))
        .filter(api_tokens::revoked_at.is_null())
        .order(api_tokens::created_at.desc())
        .select((
            api_tokens::id,
            api_tokens::name,
            api_tokens::token_prefix,
            api_tokens::created_at,
            api_tokens::last_used_at,
        ))
        .load(conn)?;
    Ok(json!({ "sessions": sessions, "tokens": tokens, "current_session": user.credential.session(), "form": {} }))
}

async fn account_page_ctx(db: &Db, state: &AppState, user: &CurrentUser) -> AppResult<serde_json::Value> {
    let u = user.clone();
    let now = state.clock.now_naive();
    db.run(move |c| account_context(c, &u, now)).await
}

#[get("/konto")]
async fn account(layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    let ctx = account_page_ctx(&db, &state, &user).await?;
    Ok(layout.render("account", ctx))
}

/// Checks the current password (limited like logins, against a stolen session guessing it),
/// hashes the new one off the pool, stores it and ends the user's other sessions.
async fn change_password_steps(
    db: &Db,
    state: &AppState,
    user: &CurrentUser,
    current: String,
    new: String,
    repeat: String,
) -> AppResult<()> {
    let mut errors = FieldErrors::new();
    for p in password_problems(&new, &user.email) {
        errors.entry("new_password".into()).or_default().push(p);
    }
    if new != repeat {
        errors
            .entry("new_password_repeat".into())
            .or_default()
            .push("Die beiden neuen Passwörter stimmen nicht überein.".into());
    }
    let key = vec![(
        format!("password:{}", user.id),
        state.config.login_limits.per_account,
        "account",
    )];
    let (st, uid) = (state.clone(), user.id);
    let (attempt_ids, hash) = db
        .run(move |c| {
            write_tx(c, |c| match reserve_attempt(c, &st, &key)? {
                Ok(ids) => Ok(Ok((
                    ids,
                    users::table.find(uid).select(users::password_hash).first::<String>(c)?,
                ))),
                Err(wait) => Ok(Err(wait)),
            })
        })
        .await?
        .map_err(|(minutes, _)| {
            AppError::TooManyRequests(format!(
                "Zu viele falsche Passwörter. Bitte warten Sie {minutes} Minute(n) und versuchen Sie es dann erneut."
            ))
        })?;
    if !cpu(move || verify_password(&hash, &current)).await? {
        errors
            .entry("current_password".into())
            .or_default()
            .push("Das bisherige Passwort ist falsch.".into());
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let new_hash = cpu(move || super::hash_password(&new)).await??;
    let (st, u) = (state.clone(), user.clone());
    db.run(move |c| {
        write_tx(c, |c| {
            diesel::delete(login_failures::table.filter(login_failures::id.eq_any(&attempt_ids))).execute(c)?;
            let now = st.clock.now_naive();
            diesel::update(users::table.find(u.id))
                .set((users::password_hash.eq(&new_hash), users::password_changed_at.eq(now)))
                .execute(c)?;
            // Other sessions may belong to whoever knew the old password.
            let ended = revoke_sessions(c, u.id, u.credential.session(), now)?;
            audit::record(
                c,
                &st.clock,
                &u.actor(),
                Event::new(
                    "user.password_changed",
                    "user",
                    u.id,
                    json!({ "other_sessions_ended": ended }),
                ),
            )
        })
    })
    .await
}

#[post("/konto/passwort", data = "<form>")]
async fn change_password(
    layout: Layout,
    user: CurrentUser,
    form: FormData,
    db: Db,
    state: AppState,
) -> AppResult<Either<Flash<Redirect>, status::Custom<Html>>> {
    let current = form.raw("current_password");
    let new = form.raw("new_password");
    let repeat = form.raw("new_password_repeat");
    let result = change_password_steps(&db, &state, &user, current, new, repeat).await;
    state.sessions.invalidate_all();
    match result {
        Ok(()) => Ok(Either::Left(Flash::success(
            Redirect::to("/konto"),
            "Ihr Passwort wurde geändert. Andere Sitzungen wurden beendet.",
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let ctx = account_page_ctx(&db, &state, &user).await?;
            Ok(Either::Right(layout.render_errors("account", ctx, &fields)))
        }
        Err(e) => Err(e),
    }
}

#[post("/konto/sitzungen/<id>/beenden", data = "<_form>")]
async fn end_session(
    id: SessionId,
    _form: FormData,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Flash<Redirect>> {
    let st = state.clone();
    db.run(move |c| {
        write_tx(c, |c| {
            let n = diesel::update(
                sessions::table
                    .find(id)
                    .filter(sessions::user_id.eq(user.id))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(st.clock.now_naive()))
            .execute(c)?;
            if n == 0 {
                return Err(AppError::NotFound);
            }
            audit::record(
                c,
                &st.clock,
                &user.actor(),
                Event::new("session.revoked", "user", user.id, json!({ "session": id })),
            )
        })
    })
    .await?;
    state.sessions.invalidate_all();
    Ok(Flash::success(Redirect::to("/konto"), "Die Sitzung wurde beendet."))
}

/// An API token as stored: the hash of its secret and the first characters.
#[derive(Insertable)]
#[diesel(table_name = api_tokens)]
struct NewToken<'a> {
    user_id: UserId,
    name: &'a str,
    token_hash: String,
    token_prefix: &'a str,
    created_at: chrono::NaiveDateTime,
}

/// Creates an API token; returns the secret, which is shown once and stored only as a hash.
pub fn create_token(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    name: &str,
) -> AppResult<(TokenId, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::field(
            "token_name",
            "Bitte geben Sie dem Token einen Namen (1 bis 100 Zeichen), z. B. „Warenwirtschaft“.",
        ));
    }
    let secret = format!("bdl_{}", super::random_token());
    write_tx(conn, |c| {
        let id: TokenId = diesel::insert_into(api_tokens::table)
            .values(NewToken {
                user_id: user.id,
                name,
                token_hash: sha256_hex(&secret),
                // Shown in the token list so the owner can tell tokens apart; not enough to use one.
                token_prefix: &secret[..10],
                created_at: state.clock.now_naive(),
            })
            .returning(api_tokens::id)
            .get_result(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "api_token.created",
                "user",
                user.id,
                json!({ "token": id, "name": name }),
            ),
        )?;
        Ok((id, secret.clone()))
    })
}

pub fn revoke_token(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: TokenId) -> AppResult<()> {
    write_tx(conn, |c| {
        let n = diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::user_id.eq(user.id))
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(state.clock.now_naive()))
        .execute(c)?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new("api_token.revoked", "user", user.id, json!({ "token": id })),
        )
    })
}

#[post("/konto/tokens", data = "<form>")]
async fn new_token(
    layout: Layout,
    user: CurrentUser,
    form: FormData,
    db: Db,
    state: AppState,
) -> AppResult<status::Custom<Html>> {
    let name = form.get("token_name");
    let (u, st) = (user.clone(), state.clone());
    let created = db.run(move |c| create_token(c, &st, &u, &name)).await;
    let mut ctx = account_page_ctx(&db, &state, &user).await?;
    match created {
        Ok((_, secret)) => {
            ctx["new_token"] = json!(secret);
            Ok(status::Custom(Status::Created, layout.render("account", ctx)))
        }
        Err(AppError::Validation { fields, .. }) => Ok(layout.render_errors("account", ctx, &fields)),
        Err(e) => Err(e),
    }
}

#[post("/konto/tokens/<id>/widerrufen", data = "<_form>")]
async fn delete_token(
    id: TokenId,
    _form: FormData,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Flash<Redirect>> {
    db.run(move |c| revoke_token(c, &state, &user, id)).await?;
    Ok(Flash::success(
        Redirect::to("/konto"),
        "Das Token wurde widerrufen und kann nicht mehr verwendet werden.",
    ))
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount(
        "/",
        routes![
            login_page,
            login,
            logout,
            account,
            change_password,
            end_session,
            new_token,
            delete_token
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next("/verwaltung/benutzer"), "/verwaltung/benutzer");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil"), "/");
        assert_eq!(safe_next("/a\tb"), "/");
        assert_eq!(safe_next("/a\nLocation: x"), "/");
    }
}
