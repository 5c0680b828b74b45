//! Test harness: every test gets its own database on each backend (a temp SQLite file; on
//! PostgreSQL its own schema), a frozen clock, and a mail stub it drives by hand.
#![allow(dead_code)]

pub mod api;
pub mod process;
pub mod secret;
pub mod tender_flow;

use buendel::config::Config;
use buendel::db::{Backend, Db};
use buendel::domain::ids::{OrgId, SessionId, UserId};
use buendel::domain::roles::{OrgType, Role, VendorStatus};
use buendel::mail::Transport;
use buendel::orgs::{self, OrgInput, UserData};
use buendel::{App, AppState};
use diesel::prelude::*;
use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::{Client, LocalResponse};
use std::collections::HashMap;
use std::sync::OnceLock;

pub const PASSWORD: &str = "Test-Passwort-1";
pub const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

fn pg_base() -> String {
    std::env::var("BUENDEL_TEST_POSTGRES_URL").unwrap_or_else(|_| PG_DEFAULT.to_string())
}

/// The backends to run on: SQLite always; PostgreSQL when reachable. In CI an unreachable
/// PostgreSQL is a failure, never a silent skip.
pub fn backends() -> Vec<Backend> {
    static PG: OnceLock<bool> = OnceLock::new();
    let pg = *PG.get_or_init(|| match PgConnection::establish(&pg_base()) {
        Ok(_) => true,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL unter {} ist nicht erreichbar (CI=true): {e}", pg_base());
            }
            eprintln!("WARNUNG: PostgreSQL nicht erreichbar ({e}); Tests laufen nur auf SQLite.");
            false
        }
    });
    if pg {
        vec![Backend::Sqlite, Backend::Postgres]
    } else {
        vec![Backend::Sqlite]
    }
}

/// Runs `f` once per backend.
pub fn each_backend(f: impl Fn(Backend)) {
    for b in backends() {
        eprintln!("--- backend {}", b.name());
        f(b);
    }
}

/// Removes the test database when the test ends.
pub struct Cleanup {
    pub dir: tempfile::TempDir,
    pub pg_schema: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(schema) = &self.pg_schema {
            if let Ok(mut c) = PgConnection::establish(&pg_base()) {
                let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut c);
            }
        }
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub state: AppState,
    pub db: Db,
    pub transport: Transport,
    pub database_url: String,
    pub cleanup: Cleanup,
}

pub fn unique_name() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("t_{n:016x}")
}

/// The database URL for a fresh test database of `backend`.
pub fn fresh_database(backend: Backend) -> (String, Cleanup) {
    let dir = tempfile::tempdir().expect("tempdir");
    match backend {
        Backend::Sqlite => {
            let url = dir.path().join("test.db").to_string_lossy().into_owned();
            (url, Cleanup { dir, pg_schema: None })
        }
        Backend::Postgres => {
            let schema = unique_name();
            let mut c = PgConnection::establish(&pg_base()).expect("postgres");
            diesel::sql_query(format!("CREATE SCHEMA {schema}"))
                .execute(&mut c)
                .expect("create schema");
            let sep = if pg_base().contains('?') { '&' } else { '?' };
            let url = format!("{}{sep}options=-csearch_path%3D{schema}", pg_base());
            (
                url,
                Cleanup {
                    dir,
                    pg_schema: Some(schema),
                },
            )
        }
    }
}

/// The tests' secret key; processes sharing it understand each other's session and CSRF cookies.
pub const SERVER_SECRET: &str =
    "ZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktZmFrZS1rZXktZm9yLXRlc3Rz";

impl TestApp {
    /// The real server on this test's database: `serve` on 127.0.0.1:`port` with the tests'
    /// secret key, stub mail and this app's clock reading; a test adds what it needs.
    pub fn server_command(&self, port: u16) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_buendel"));
        command
            .arg("serve")
            .env("DATABASE_URL", &self.database_url)
            .env("BUENDEL_PORT", port.to_string())
            .env("BUENDEL_ADDRESS", "127.0.0.1")
            .env("BUENDEL_SECRET_KEY", SERVER_SECRET)
            .env("BUENDEL_MAIL_TRANSPORT", "stub")
            .env("BUENDEL_NOW", self.state.clock.now().to_rfc3339())
            .env_remove("ROCKET_LOG_LEVEL");
        command
    }

    pub fn new(backend: Backend) -> TestApp {
        TestApp::with_vars(backend, &[])
    }

    /// A test app with extra configuration variables.
    pub fn with_vars(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
        let (url, cleanup) = fresh_database(backend);
        TestApp::on_database(backend, url, cleanup, extra)
    }

    /// A test app on a database the test has prepared (from `fresh_database`); pending
    /// migrations run as at every start.
    pub fn on_database(backend: Backend, url: String, cleanup: Cleanup, extra: &[(&str, &str)]) -> TestApp {
        let data_dir = cleanup.dir.path().join("data").to_string_lossy().into_owned();
        let mut vars: HashMap<String, String> = [
            ("DATABASE_URL", url.as_str()),
            ("BUENDEL_MAIL_TRANSPORT", "stub"),
            ("BUENDEL_NOW", "2026-11-23T10:00:00Z"),
            ("BUENDEL_CLOCK_FROZEN", "true"),
            ("BUENDEL_POOL_SIZE", "4"),
            ("BUENDEL_DATA_DIR", data_dir.as_str()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        // CI runs the call-off, savings and concurrency tests once more on the plain path.
        if let Ok(speed) = std::env::var("BUENDEL_TEST_SPEED") {
            vars.insert("BUENDEL_SPEED".into(), speed);
        }
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let config = Config::from_map(&vars, false).expect("config");
        let app = App::prepare(config).expect("prepare");
        // The tests move the clock; the real server refuses that on an unmarked database.
        let mut c = app.db.get().expect("connection");
        buendel::db::data_kind::mark(
            &mut c,
            buendel::db::data_kind::DataKind::Test,
            app.state.clock.now_naive(),
        )
        .expect("mark test data");
        drop(c);
        TestApp {
            backend,
            state: app.state,
            db: app.db,
            transport: app.transport,
            database_url: url,
            cleanup,
        }
    }

    /// A new browser: its own cookie jar, same database, clock and mail.
    pub fn client(&self) -> Client {
        let app = App {
            state: self.state.clone(),
            db: self.db.clone(),
            transport: self.transport.clone(),
            run_mail_sender: false,
        };
        Client::tracked(app.rocket()).expect("rocket")
    }

    pub fn conn(&self) -> buendel::db::Pooled {
        self.db.get().expect("connection")
    }

    /// Sends what is in the outbox through the transport, as the background task would.
    pub fn deliver_mail(&self) -> usize {
        let rt = rocket::tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(buendel::mail::sender::process_once(
            &self.state,
            &self.db,
            &self.transport,
        ))
        .expect("mail")
    }

    /// Sends everything due in the outbox, batch after batch (a § 134 letter may wait behind
    /// the receipts of a whole procedure). Returns how many were sent.
    pub fn deliver_all_mail(&self) -> usize {
        let mut total = 0;
        loop {
            let n = self.deliver_mail();
            if n == 0 {
                return total;
            }
            total += n;
        }
    }

    pub fn sent_mail(&self) -> Vec<(String, String)> {
        self.transport
            .sent()
            .iter()
            .map(|m| {
                let to = m
                    .envelope()
                    .to()
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                (to, String::from_utf8_lossy(&m.formatted()).into_owned())
            })
            .collect()
    }
}

/// Organisations and accounts most tests need.
pub struct World {
    pub coop: OrgId,
    pub member_a: OrgId,
    pub member_b: OrgId,
    pub vendor: OrgId,
    pub users: HashMap<&'static str, UserId>,
}

fn shared_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| buendel::auth::hash_password(PASSWORD).unwrap())
}

pub fn org_input(name: &str) -> OrgInput {
    OrgInput {
        name: name.into(),
        street: "Teststraße 1".into(),
        postal_code: "65185".into(),
        city: "Wiesbaden".into(),
        member_kind: "kommune".into(),
        vat_id: "DE136695976".into(),
        contact_email: "kontakt@firma.example".into(),
        ..Default::default()
    }
}

impl TestApp {
    pub fn world(&self) -> World {
        let mut c = self.conn();
        let now = self.state.clock.now_naive();
        let org = |c: &mut buendel::db::DbConn, name: &str, t: OrgType, status: Option<VendorStatus>| {
            let data = org_input(name).validate(t).unwrap();
            orgs::insert_org(c, now, &data, status).unwrap()
        };
        let coop = org(&mut c, "Testgenossenschaft eG", OrgType::Cooperative, None);
        let member_a = org(&mut c, "Stadt Adorf", OrgType::Member, None);
        let member_b = org(&mut c, "Stadt Bedorf", OrgType::Member, None);
        let vendor = org(
            &mut c,
            "Systemhaus Test GmbH",
            OrgType::Vendor,
            Some(VendorStatus::Approved),
        );
        let mut users = HashMap::new();
        for (key, role, org_id) in [
            ("admin", Role::Admin, coop),
            ("officer", Role::Officer, coop),
            ("officer2", Role::Officer, coop),
            ("board", Role::Board, coop),
            ("buyer_a", Role::Buyer, member_a),
            ("buyer_b", Role::Buyer, member_b),
            ("vendor", Role::Vendor, vendor),
        ] {
            let data = UserData {
                email: format!("{key}@test.example"),
                name: format!("Person {key}"),
                role,
                organisation_id: org_id,
                password: None,
            };
            users.insert(key, orgs::insert_user(&mut c, now, &data, shared_hash()).unwrap());
        }
        World {
            coop,
            member_a,
            member_b,
            vendor,
            users,
        }
    }
}

/// The CSRF token from the hidden field of a page's form.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in page:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// The browser's CSRF token: what every form of the pages it loaded carries.
pub fn csrf(client: &Client) -> String {
    if client.cookies().get_private(buendel::auth::csrf::CSRF_COOKIE).is_none() {
        let page = client.get("/anmelden").dispatch().into_string().unwrap_or_default();
        if page.contains("_csrf") {
            return csrf_of(&page);
        }
    }
    client
        .cookies()
        .get_private(buendel::auth::csrf::CSRF_COOKIE)
        .expect("csrf cookie")
        .value()
        .to_string()
}

pub fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// Posts a form with the page's CSRF token, as a browser would.
pub fn post_form<'c>(client: &'c Client, path: &str, fields: &[(&str, &str)]) -> LocalResponse<'c> {
    let token = csrf(client);
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("_csrf", &token));
    client
        .post(path.to_string())
        .header(ContentType::Form)
        .body(form_body(&all))
        .dispatch()
}

pub fn login(client: &Client, email: &str) -> Status {
    login_with(client, email, PASSWORD)
}

pub fn login_with(client: &Client, email: &str, password: &str) -> Status {
    post_form(
        client,
        "/anmelden",
        &[("email", email), ("password", password), ("next", "/")],
    )
    .status()
}

/// A logged-in browser for one of the world's users.
pub fn browser(app: &TestApp, key: &str) -> Client {
    let client = app.client();
    assert_eq!(
        login(&client, &format!("{key}@test.example")),
        Status::SeeOther,
        "login {key}"
    );
    client
}

pub fn bearer(token: &str) -> Header<'static> {
    Header::new("Authorization", format!("Bearer {token}"))
}

/// Creates an API token for the user of `client` through the account page.
pub fn api_token(client: &Client) -> String {
    let res = post_form(client, "/konto/tokens", &[("token_name", "Test")]);
    assert_eq!(res.status(), Status::Created);
    let html = res.into_string().unwrap();
    let start = html.find("bdl_").expect("token shown once");
    html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// The `CurrentUser` of one of the world's users, for calling services directly.
pub fn current_user(app: &TestApp, key: &str) -> buendel::auth::CurrentUser {
    use buendel::db::schema::{organisations, users};
    let mut c = app.conn();
    let (id, email, name, role, organisation_id, organisation_name, org_type): (
        UserId,
        String,
        String,
        String,
        OrgId,
        String,
        String,
    ) = users::table
        .inner_join(organisations::table)
        .filter(users::email.eq(format!("{key}@test.example")))
        .select((
            users::id,
            users::email,
            users::name,
            users::role,
            users::organisation_id,
            organisations::name,
            organisations::org_type,
        ))
        .first(&mut *c)
        .expect("user");
    buendel::auth::CurrentUser {
        id,
        email,
        name,
        role: role.parse().unwrap(),
        organisation_id,
        organisation_name,
        org_type: org_type.parse().unwrap(),
        credential: buendel::auth::Credential::Session(SessionId::default()),
    }
}
