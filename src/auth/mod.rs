//! Authentication: argon2id passwords, server-side sessions behind a private cookie, API bearer
//! tokens stored hashed, and the request guards that tell every handler who is asking.

pub mod csrf;
pub mod routes;

use crate::db::schema::{api_tokens, organisations, sessions, users};
use crate::db::{Db, DbConn};
use crate::domain::ids::{OrgId, SessionId, TokenId, UserId};
use crate::domain::policy::{self, Reach};
use crate::domain::roles::{OrgType, Role, VendorStatus};
use crate::error::{AppError, AppResult};
use crate::AppState;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "buendel_session";

/// Recently resolved sessions of this instance, so that a page costs one database round trip,
/// not two. Every change on this instance that can end or restrict a session clears it at once;
/// changes made by another instance take effect here after at most the time to live.
pub struct SessionCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<String, (CurrentUser, NaiveDateTime, std::time::Instant)>>,
}

impl SessionCache {
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl: std::time::Duration) -> SessionCache {
        SessionCache {
            ttl,
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn get(&self, token_hash: &str, now: NaiveDateTime) -> Option<CurrentUser> {
        let entries = self.entries.lock().ok()?;
        let (user, expires_at, cached_at) = entries.get(token_hash)?;
        (cached_at.elapsed() < self.ttl && *expires_at > now).then(|| user.clone())
    }

    fn put(&self, token_hash: String, user: CurrentUser, expires_at: NaiveDateTime) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(token_hash, (user, expires_at, std::time::Instant::now()));
        }
    }

    /// Forgets every cached session (after logouts, revocations, deactivations, role changes).
    pub fn invalidate_all(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
pub const MIN_PASSWORD_LEN: usize = 10;

pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the account does not exist, so that the answer takes as long
/// as for a real account and does not reveal which e-mail addresses are registered.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("buendel-dummy-password").unwrap_or_default())
}

/// The password rules, as German messages (empty when the password is acceptable).
pub fn password_problems(password: &str, email: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if password.chars().count() < MIN_PASSWORD_LEN {
        problems.push(format!(
            "Das Passwort muss mindestens {MIN_PASSWORD_LEN} Zeichen lang sein."
        ));
    }
    if !email.is_empty() && password.to_lowercase().contains(&email.to_lowercase()) {
        problems.push("Das Passwort darf die E-Mail-Adresse nicht enthalten.".into());
    }
    problems
}

/// A new random secret, URL-safe, 256 bits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The user behind a request, with what every permission check needs.
#[derive(Debug, Clone, Serialize)]
pub struct CurrentUser {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub organisation_id: OrgId,
    pub organisation_name: String,
    pub org_type: OrgType,
    /// The session row (pages) or token row (API) the request came with.
    #[serde(skip)]
    pub credential: Credential,
}

/// What a request was authenticated with: a session (pages) or an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session(SessionId),
    Token(TokenId),
}

impl Credential {
    /// The session, if the request came with one.
    pub fn session(self) -> Option<SessionId> {
        match self {
            Credential::Session(id) => Some(id),
            Credential::Token(_) => None,
        }
    }
}

impl CurrentUser {
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor::user(self.id, &self.email)
    }

    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }

    /// Whose rows this user reaches (`domain::policy`).
    pub fn reach(&self) -> Reach {
        policy::reach(self.role, self.organisation_id)
    }

    /// One of the cooperative's own roles (officer, admin, board).
    pub fn is_cooperative(&self) -> bool {
        self.role.is_cooperative()
    }

    /// Refuses unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> AppResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }
}

type UserRow = (
    UserId,
    String,
    String,
    Role,
    OrgId,
    bool,
    String,
    OrgType,
    bool,
    Option<VendorStatus>,
);

fn user_columns() -> (
    users::id,
    users::email,
    users::name,
    users::role,
    users::organisation_id,
    users::active,
    organisations::name,
    organisations::org_type,
    organisations::active,
    organisations::vendor_status,
) {
    (
        users::id,
        users::email,
        users::name,
        users::role,
        users::organisation_id,
        users::active,
        organisations::name,
        organisations::org_type,
        organisations::active,
        organisations::vendor_status,
    )
}

/// Why an account may not be used right now, if it may not (German, for the login page).
pub fn account_blocked(
    user_active: bool,
    org_active: bool,
    org_type: OrgType,
    vendor_status: Option<VendorStatus>,
) -> Option<&'static str> {
    if !user_active || !org_active {
        return Some("Dieses Konto ist deaktiviert. Bitte wenden Sie sich an die Administration der Genossenschaft.");
    }
    if org_type == OrgType::Vendor {
        match vendor_status {
            Some(VendorStatus::Approved) => {}
            Some(VendorStatus::Suspended) => {
                return Some("Ihr Unternehmen ist gesperrt. Bitte wenden Sie sich an die Genossenschaft.")
            }
            _ => return Some("Ihr Unternehmen ist noch nicht freigegeben. Sie erhalten eine E-Mail, sobald die Prüfung abgeschlossen ist."),
        }
    }
    None
}

fn to_current_user(row: UserRow, credential: Credential) -> Option<CurrentUser> {
    let (id, email, name, role, organisation_id, user_active, org_name, org_type, org_active, vendor_status) = row;
    if account_blocked(user_active, org_active, org_type, vendor_status).is_some() {
        return None;
    }
    Some(CurrentUser {
        id,
        email,
        name,
        role,
        organisation_id,
        organisation_name: org_name,
        org_type,
        credential,
    })
}

/// Looks up a live session by the hash of its cookie token; returns the user and the expiry.
pub fn session_user(
    conn: &mut DbConn,
    token_hash: &str,
    now: NaiveDateTime,
) -> AppResult<Option<(CurrentUser, NaiveDateTime)>> {
    let row: Option<(SessionId, NaiveDateTime, UserRow)> = crate::on_backend!(conn, |c| sessions::table
        .inner_join(users::table.inner_join(organisations::table))
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select((sessions::id, sessions::expires_at, user_columns()))
        .first(c)
        .optional())?;
    Ok(
        row.and_then(|(sid, expires_at, u)| {
            to_current_user(u, Credential::Session(sid)).map(|user| (user, expires_at))
        }),
    )
}

/// Looks up a live API token.
/// Records when a token was last used, at most once an hour, so that the owner can spot unused
/// or unexpectedly used tokens without a write on every API request.
pub fn token_user(conn: &mut DbConn, token: &str, now: NaiveDateTime) -> AppResult<Option<CurrentUser>> {
    let row: Option<(TokenId, Option<NaiveDateTime>, UserRow)> = api_tokens::table
        .inner_join(users::table.inner_join(organisations::table))
        .filter(api_tokens::token_hash.eq(sha256_hex(token)))
        .filter(api_tokens::revoked_at.is_null())
        .select((api_tokens::id, api_tokens::last_used_at, user_columns()))
        .first(conn)
        .optional()?;
    let Some((tid, last_used, u)) = row else {
        return Ok(None);
    };
    if last_used.is_none_or(|t| now - t > chrono::Duration::hours(1)) {
        diesel::update(api_tokens::table.find(tid))
            .set(api_tokens::last_used_at.eq(now))
            .execute(conn)?;
    }
    Ok(to_current_user(u, Credential::Token(tid)))
}

/// A session as stored: only the hash of the cookie's secret.
#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct NewSession {
    token_hash: String,
    user_id: UserId,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    client_addr: Option<String>,
}

/// Creates a session row and returns the secret that goes into the private cookie.
pub fn create_session(
    conn: &mut DbConn,
    state: &AppState,
    user_id: UserId,
    client_addr: Option<String>,
) -> AppResult<String> {
    let token = random_token();
    let now = state.clock.now_naive();
    diesel::insert_into(sessions::table)
        .values(NewSession {
            token_hash: sha256_hex(&token),
            user_id,
            created_at: now,
            expires_at: now + state.config.session_lifetime,
            client_addr,
        })
        .execute(conn)?;
    Ok(token)
}

/// Revokes every live session of a user, optionally sparing one (the current one).
pub fn revoke_sessions(
    conn: &mut DbConn,
    user_id: UserId,
    except: Option<SessionId>,
    now: NaiveDateTime,
) -> AppResult<usize> {
    let query = diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne(except.unwrap_or(SessionId(-1)))),
    )
    .set(sessions::revoked_at.eq(now));
    Ok(query.execute(conn)?)
}

pub fn set_session_cookie(jar: &CookieJar<'_>, token: String, secure: bool) {
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/");
    jar.add_private(cookie);
}

async fn load_session_user(req: &Request<'_>) -> Option<CurrentUser> {
    let token_hash = sha256_hex(req.cookies().get_private(SESSION_COOKIE)?.value());
    let db = req.rocket().state::<Db>()?.clone();
    let state = req.rocket().state::<AppState>()?;
    let now = state.clock.now_naive();
    if let Some(user) = state.sessions.get(&token_hash, now) {
        return Some(user);
    }
    let key = token_hash.clone();
    match db.read(move |c| session_user(c, &key, now)).await {
        Ok(Some((user, expires_at))) => {
            state.sessions.put(token_hash, user.clone(), expires_at);
            Some(user)
        }
        Ok(None) => None,
        Err(e) => {
            log::error!("session lookup: {}", e.user_detail());
            None
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentUser {
    type Error = ();

    /// Pages: the user of the session cookie; without one, a redirect to the login page (401).
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let cached = req.local_cache_async(async { load_session_user(req).await }).await;
        match cached {
            Some(user) => Outcome::Success(user.clone()),
            None => Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

/// The user of an API request, from `Authorization: Bearer …`.
pub struct ApiUser(pub CurrentUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(header) = req.headers().get_one("Authorization") else {
            return Outcome::Error((Status::Unauthorized, ()));
        };
        let Some(token) = header.strip_prefix("Bearer ").map(|t| t.trim().to_string()) else {
            return Outcome::Error((Status::Unauthorized, ()));
        };
        let Some(db) = req.rocket().state::<Db>().cloned() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let now = req
            .rocket()
            .state::<AppState>()
            .map(|s| s.clock.now_naive())
            .unwrap_or_default();
        match db.run(move |c| token_user(c, &token, now)).await {
            Ok(Some(user)) => Outcome::Success(ApiUser(user)),
            Ok(None) => Outcome::Error((Status::Unauthorized, ())),
            Err(e) => {
                log::error!("token lookup: {}", e.user_detail());
                Outcome::Error((Status::InternalServerError, ()))
            }
        }
    }
}

/// The user of a page request, if logged in (for pages open to everyone, like the login page).
pub struct MaybeUser(pub Option<CurrentUser>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybeUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let cached = req.local_cache_async(async { load_session_user(req).await }).await;
        Outcome::Success(MaybeUser(cached.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let hash = hash_password("richtig-langes-passwort").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "richtig-langes-passwort"));
        assert!(!verify_password(&hash, "falsches-passwort"));
    }

    #[test]
    fn garbage_hash_never_verifies() {
        assert!(!verify_password("kein-hash", "egal"));
    }

    #[test]
    fn short_password_and_email_in_password_are_refused() {
        assert_eq!(password_problems("kurz", "").len(), 1);
        assert_eq!(password_problems("anna@x.example-123", "anna@x.example").len(), 1);
        assert!(password_problems("eine-gute-passphrase", "anna@x.example").is_empty());
    }

    #[test]
    fn pending_and_suspended_vendors_are_blocked() {
        let vendor = |s| account_blocked(true, true, OrgType::Vendor, Some(s));
        assert!(vendor(VendorStatus::Pending).is_some());
        assert!(vendor(VendorStatus::Suspended).is_some());
        assert!(vendor(VendorStatus::Approved).is_none());
        assert!(account_blocked(true, true, OrgType::Vendor, None).is_some());
        assert!(account_blocked(false, true, OrgType::Member, None).is_some());
        assert!(account_blocked(true, false, OrgType::Member, None).is_some());
        assert!(account_blocked(true, true, OrgType::Member, None).is_none());
    }

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        assert_ne!(random_token(), random_token());
        assert_eq!(sha256_hex("abc").len(), 64);
        assert_eq!(sha256_hex("abc"), sha256_hex("abc"));
    }
}
