//! buendel: joint public procurement for cooperatives of public bodies.
//! This crate builds the Rocket application from a `Config`; `main.rs` and the tests share it.

pub mod api;
pub mod audit;
pub mod auth;
pub mod award;
pub mod calloff;
pub mod clock;
pub mod config;
pub mod db;
pub mod demand;
pub mod documents;
pub mod domain;
pub mod error;
pub mod german;
pub mod import;
pub mod mail;
pub mod ocds;
pub mod orgs;
pub mod review;
pub mod savings;
pub mod seed;
pub mod seed_scale;
pub mod tender;
pub mod web;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::mail::{MailTemplates, Transport};
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};
use std::sync::Arc;

/// How long a stopping server waits for the mail sender to finish the mail in hand.
const SENDER_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What every request and background task shares: configuration, the clock and mail templates.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub clock: Clock,
    pub mail: Arc<MailTemplates>,
    pub documents: Arc<documents::DocumentTemplates>,
    pub sessions: Arc<auth::SessionCache>,
    pub contract_terms: Arc<calloff::TermsCache>,
    /// All audit events (the board's start page, the audit log's pages).
    pub audit_count: Arc<db::count::AppendOnlyCount>,
    /// All catalogue positions (the catalogue's pages).
    pub catalogue_count: Arc<db::count::AppendOnlyCount>,
    pub dashboards: Arc<savings::DashboardCache>,
    pub start_counts: Arc<web::start::StartCounts>,
    pub writes: Arc<db::group::GroupCommit>,
}

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for AppState {
    type Error = ();

    async fn from_request(req: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, ()> {
        match req.rocket().state::<AppState>() {
            Some(s) => rocket::request::Outcome::Success(s.clone()),
            None => rocket::request::Outcome::Error((rocket::http::Status::InternalServerError, ())),
        }
    }
}

/// Everything needed to build the web application; tests construct this with their own database,
/// clock and mail stub.
pub struct App {
    pub state: AppState,
    pub db: Db,
    pub transport: Transport,
    /// Whether to start the background mail sender (tests drive it by hand).
    pub run_mail_sender: bool,
}

impl App {
    /// Connects, migrates and prepares templates; reports problems in German.
    pub fn prepare(config: Config) -> Result<App, String> {
        let db = Db::connect(&config.database_url, config.pool_size).map_err(|e| e.user_detail())?;
        db.migrate().map_err(|e| e.user_detail())?;
        let mail = MailTemplates::load(&config.template_dir).map_err(|e| format!("E-Mail-Vorlagen: {e}"))?;
        let documents = documents::DocumentTemplates::load(&config.contract_template_dir)
            .map_err(|e| format!("Dokumentvorlagen: {e}"))?;
        let transport = Transport::from_config(&config).map_err(|e| format!("E-Mail-Versand: {e}"))?;
        let clock = config.clock();
        let fast = config.speed == config::Speed::Fast;
        Ok(App {
            state: AppState {
                sessions: Arc::new(auth::SessionCache::new(config.session_cache_ttl)),
                contract_terms: Arc::new(calloff::TermsCache::new(fast)),
                audit_count: Arc::new(db::count::AppendOnlyCount::new(append_only_table!(audit_events), fast)),
                catalogue_count: Arc::new(db::count::AppendOnlyCount::new(
                    append_only_table!(catalogue_items),
                    fast,
                )),
                dashboards: Arc::new(savings::DashboardCache::new(fast)),
                start_counts: Arc::new(web::start::StartCounts::new(fast)),
                writes: Arc::new(db::group::GroupCommit::new(fast)),
                config: Arc::new(config),
                clock,
                mail: Arc::new(mail),
                documents: Arc::new(documents),
            },
            db,
            transport,
            run_mail_sender: true,
        })
    }

    pub fn rocket(self) -> Rocket<Build> {
        let config = &self.state.config;
        let mut figment = rocket::Config::figment()
            .merge(("address", config.address))
            .merge(("port", config.port))
            .merge(("template_dir", config.template_dir.clone()))
            .merge(("ident", "buendel"))
            // Request lines carry query strings (e.g. a bid's criteria texts on the price-sheet
            // API): only warnings and errors are logged unless ROCKET_LOG_LEVEL says otherwise.
            .merge((
                "log_level",
                std::env::var("ROCKET_LOG_LEVEL").unwrap_or_else(|_| "critical".into()),
            ))
            .merge((
                "limits",
                rocket::data::Limits::default()
                    .limit("form", rocket::data::ByteUnit::Kibibyte(256))
                    .limit("data-form", rocket::data::ByteUnit::Mebibyte(32))
                    .limit("file", rocket::data::ByteUnit::Mebibyte(32))
                    .limit("json", rocket::data::ByteUnit::Mebibyte(16))
                    .limit("string", rocket::data::ByteUnit::Mebibyte(32)),
            ));
        // Only a trusted proxy may name the client address; otherwise anyone could pick a new
        // address per request and escape the per-address login limit.
        figment = match &config.ip_header {
            Some(header) => figment.merge(("ip_header", header.clone())),
            None => figment.merge(("ip_header", false)),
        };
        match &config.secret_key {
            Some(key) => figment = figment.merge(("secret_key", key.clone())),
            None => {
                // Development and demo only (config refuses a keyless release server otherwise):
                // a fresh random key per start, so sessions end with the process.
                use rand::RngCore;
                let mut key = [0u8; 64];
                rand::thread_rng().fill_bytes(&mut key);
                figment = figment.merge(("secret_key", key.to_vec()));
            }
        }
        let sending = Arc::new(std::sync::Mutex::new(None::<rocket::tokio::task::JoinHandle<()>>));
        let stopping = sending.clone();
        let sender = self
            .run_mail_sender
            .then(|| (self.state.clone(), self.db.clone(), self.transport.clone()));
        // The server (not a test client) computes the board's dashboard as it starts.
        let warm = self.run_mail_sender.then(|| (self.state.clone(), self.db.clone()));
        let pages = web::Pages::default();
        let rocket = rocket::custom(figment)
            .manage(self.state)
            .manage(self.db)
            .manage(self.transport)
            .manage(pages.clone())
            .attach(web::templates_fairing(pages))
            .attach(web::SecurityHeaders)
            .attach(AdHoc::on_liftoff("mail sender", move |rocket| {
                let shutdown = rocket.shutdown();
                Box::pin(async move {
                    if let Some((state, db, transport)) = sender {
                        let task = rocket::tokio::spawn(mail::sender::run(state, db, transport, shutdown));
                        *sending.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task);
                    }
                })
            }))
            .attach(AdHoc::on_liftoff("dashboard", move |_| {
                Box::pin(async move {
                    if let Some((state, db)) = warm {
                        // The board's start page counts every audit event once per process.
                        let (counted, pool) = (state.clone(), db.clone());
                        rocket::tokio::task::spawn_blocking(move || {
                            if let Err(e) = pool.get().and_then(|mut c| counted.audit_count.total(&mut c)) {
                                log::warn!("Protokollereignisse beim Start nicht gezählt: {e}");
                            }
                        });
                        state.dashboards.clone().warm_up(db, state);
                    }
                })
            }))
            // The sender finishes the mail in hand before the runtime goes: dropped between
            // sending and recording, the mail would be sent again once its claim ran out.
            .attach(AdHoc::on_shutdown("mail sender stops", move |_| {
                let task = stopping
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                Box::pin(async move {
                    if let Some(task) = task {
                        let waited = rocket::tokio::time::timeout(SENDER_STOP_TIMEOUT, task).await;
                        if waited.is_err() {
                            log::warn!("mail sender did not stop within {SENDER_STOP_TIMEOUT:?}");
                        }
                    }
                })
            }));
        let rocket = web::mount(rocket);
        let rocket = auth::routes::mount(rocket);
        let rocket = orgs::routes::mount(rocket);
        let rocket = audit::routes::mount(rocket);
        let rocket = demand::routes::mount(rocket);
        let rocket = tender::routes::mount(rocket);
        let rocket = award::routes::mount(rocket);
        let rocket = review::routes::mount(rocket);
        let rocket = calloff::routes::mount(rocket);
        let rocket = savings::routes::mount(rocket);
        let rocket = ocds::routes::mount(rocket);
        api::mount(rocket)
    }
}
