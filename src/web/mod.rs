//! The web shell: page layout and navigation by role, German error pages and catchers, security
//! headers, the stylesheet, the start page per role, and the health endpoints for load balancers.

pub mod paging;
pub mod read;
pub mod respond;
pub mod start;

use crate::auth::csrf::CsrfToken;
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::Db;
use crate::domain::roles::Role;
use crate::error::FieldErrors;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::request::{FlashMessage, FromRequest, Outcome, Request};
use rocket::response::{
    content::{RawCss, RawHtml},
    status, Redirect, Responder,
};
use rocket::{catch, catchers, get, routes, Build, Response, Rocket};
use rocket_dyn_templates::Template;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::{Arc, PoisonError, RwLock};
use tera::Tera;

/// The page templates as rocket_dyn_templates loaded them (again after each change, in debug
/// builds): its fairing finds, loads and reloads them, and hands each loaded set to this slot.
/// Pages are rendered from here rather than through its `Template`, which turns every context
/// into figment's values and then into Tera's (a fifth of the start page's time went to those
/// copies); `Html` gives Tera the context as it was built.
#[derive(Clone, Default)]
pub struct Pages(Arc<RwLock<Option<Arc<Tera>>>>);

impl Pages {
    fn current(&self) -> Option<Arc<Tera>> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Loads the page templates with the German filters, into `pages` too.
pub fn templates_fairing(pages: Pages) -> impl Fairing {
    Template::custom(move |engines| {
        crate::german::register_filters(&mut engines.tera);
        *pages.0.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(engines.tera.clone()));
    })
}

/// A page: its template and context, rendered as HTML when it is sent.
#[derive(Debug)]
pub struct Html {
    name: &'static str,
    context: Value,
}

impl Html {
    pub fn render(name: &'static str, context: Value) -> Html {
        Html { name, context }
    }
}

impl<'r> Responder<'r, 'static> for Html {
    fn respond_to(self, req: &'r Request<'_>) -> rocket::response::Result<'static> {
        let Some(tera) = req.rocket().state::<Pages>().and_then(Pages::current) else {
            log::error!("Seitenvorlagen nicht geladen");
            return Err(Status::InternalServerError);
        };
        let rendered = tera::Context::from_value(self.context).and_then(|c| tera.render(self.name, &c));
        match rendered {
            Ok(html) => RawHtml(html).respond_to(req),
            Err(e) => {
                // Tera's error says where; its sources say what (an unknown variable, a filter).
                let mut chain = vec![e.to_string()];
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    chain.push(cause.to_string());
                    source = cause.source();
                }
                log::error!("Seite {} nicht darstellbar: {}", self.name, chain.join(": "));
                Err(Status::InternalServerError)
            }
        }
    }
}

/// Whether the app is published under https (cookies get `Secure`, responses HSTS).
pub fn is_https(req: &Request<'_>) -> bool {
    req.rocket()
        .state::<crate::AppState>()
        .is_some_and(|s| s.config.base_url.starts_with("https://"))
}

/// API requests get JSON errors; pages get HTML.
pub fn wants_json(req: &Request<'_>) -> bool {
    req.uri().path().starts_with("/api/")
        || req
            .headers()
            .get_one("Accept")
            .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"))
}

#[derive(Default, Clone)]
struct ErrorNote(Option<(String, FieldErrors)>);

/// Remembers why a guard refused, so the catcher can say it (catchers do not see guard errors).
pub fn note_error(req: &Request<'_>, message: &str) {
    let _ = req.local_cache(|| ErrorNote(Some((message.to_string(), FieldErrors::new()))));
}

/// Like `note_error`, with the error's field messages for the API's `fields`.
pub fn note_app_error(req: &Request<'_>, error: &crate::error::AppError) {
    let _ = req.local_cache(|| ErrorNote(Some((error.user_message(), error.field_errors()))));
}

#[derive(Serialize)]
struct NavItem {
    href: &'static str,
    label: &'static str,
    current: bool,
}

fn nav_for(role: Option<Role>, path: &str) -> Vec<NavItem> {
    let items: Vec<(&'static str, &'static str)> = match role {
        None => vec![
            ("/bekanntmachungen", "Bekanntmachungen"),
            ("/offene-daten", "Offene Daten"),
            ("/anmelden", "Anmelden"),
            ("/registrieren", "Als Lieferant registrieren"),
        ],
        Some(Role::Admin) => vec![
            ("/", "Start"),
            ("/bedarf", "Bedarfsabfragen"),
            ("/ausschreibungen", "Ausschreibungen"),
            ("/vertraege", "Verträge"),
            ("/verwaltung/mitglieder", "Mitglieder"),
            ("/verwaltung/lieferanten", "Lieferanten"),
            ("/verwaltung/benutzer", "Benutzer"),
            ("/katalog", "Katalog"),
            ("/protokoll", "Protokoll"),
            ("/verwaltung/postausgang", "Postausgang"),
        ],
        Some(Role::Officer) => vec![
            ("/", "Start"),
            ("/bedarf", "Bedarfsabfragen"),
            ("/ausschreibungen", "Ausschreibungen"),
            ("/vertraege", "Verträge"),
            ("/auswertung", "Auswertung"),
            ("/katalog", "Katalog"),
        ],
        Some(Role::Board) => vec![
            ("/", "Start"),
            ("/bedarf", "Bedarfsabfragen"),
            ("/ausschreibungen", "Ausschreibungen"),
            ("/vertraege", "Verträge"),
            ("/auswertung", "Auswertung"),
            ("/protokoll", "Protokoll"),
        ],
        Some(Role::Buyer) => vec![
            ("/", "Start"),
            ("/bedarf", "Bedarfsabfragen"),
            ("/ausschreibungen", "Ausschreibungen"),
            ("/vertraege", "Verträge und Abrufe"),
            ("/auswertung", "Auswertung"),
        ],
        Some(Role::Vendor) => vec![
            ("/", "Start"),
            ("/ausschreibungen", "Ausschreibungen"),
            ("/vertraege", "Verträge und Abrufe"),
        ],
    };
    items
        .into_iter()
        .map(|(href, label)| NavItem {
            href,
            label,
            current: if href == "/" {
                path == "/"
            } else {
                path.starts_with(href)
            },
        })
        .collect()
}

fn base_context(user: Option<&CurrentUser>, csrf: &str, path: &str, flash: Option<(String, String)>) -> Value {
    json!({
        "user": user.map(|u| json!({
            "name": u.name,
            "email": u.email,
            "role": u.role.code(),
            "role_label": u.role.label(),
            "organisation": u.organisation_name,
        })),
        "nav": nav_for(user.map(|u| u.role), path),
        "csrf": csrf,
        "flash": flash.map(|(kind, message)| json!({"kind": kind, "message": message})),
    })
}

fn merge(mut base: Value, page: Value) -> Value {
    if let (Some(b), Value::Object(p)) = (base.as_object_mut(), page) {
        for (k, v) in p {
            b.insert(k, v);
        }
    }
    base
}

/// Everything the base layout needs, as one request guard for page handlers.
pub struct Layout {
    pub user: Option<CurrentUser>,
    csrf: String,
    path: String,
    flash: Option<(String, String)>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Layout {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let MaybeUser(user) = match MaybeUser::from_request(req).await {
            Outcome::Success(u) => u,
            _ => MaybeUser(None),
        };
        let csrf = match CsrfToken::from_request(req).await {
            Outcome::Success(t) => t.0,
            _ => String::new(),
        };
        let flash = match FlashMessage::from_request(req).await {
            Outcome::Success(f) => Some((f.kind().to_string(), f.message().to_string())),
            _ => None,
        };
        Outcome::Success(Layout {
            user,
            csrf,
            path: req.uri().path().to_string(),
            flash,
        })
    }
}

impl Layout {
    pub fn render(&self, name: &'static str, page: Value) -> Html {
        let ctx = merge(
            base_context(self.user.as_ref(), &self.csrf, &self.path, self.flash.clone()),
            page,
        );
        Html::render(name, ctx)
    }

    /// Renders a form page again with the user's input and the errors, as 422.
    pub fn render_errors(&self, name: &'static str, page: Value, errors: &FieldErrors) -> status::Custom<Html> {
        let page = merge(page, json!({ "errors": error_list(errors), "field_errors": errors }));
        status::Custom(Status::UnprocessableEntity, self.render(name, page))
    }
}

/// Errors in display order for the error summary, each linking to its field.
pub fn error_list(errors: &FieldErrors) -> Vec<Value> {
    errors
        .iter()
        .flat_map(|(field, messages)| messages.iter().map(move |m| json!({"field": field, "message": m})))
        .collect()
}

/// The German error page (used by `AppError` and the catchers).
pub fn error_page(req: &Request<'_>, status: Status, message: &str, fields: &FieldErrors) -> Html {
    let user = req.local_cache(|| None::<CurrentUser>).clone();
    let csrf = req
        .cookies()
        .get_private(crate::auth::csrf::CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let title = match status.code {
        403 => "Keine Berechtigung",
        404 => "Nicht gefunden",
        422 => "Angaben unvollständig",
        429 => "Zu viele Versuche",
        400 => "Ungültige Anfrage",
        409 => "Konflikt",
        _ => "Fehler",
    };
    let ctx = merge(
        base_context(user.as_ref(), &csrf, req.uri().path().as_str(), None),
        json!({"status": status.code, "title": title, "message": message, "errors": error_list(fields)}),
    );
    Html::render("error", ctx)
}

/// What a catcher answers with.
// Built once per error answer and sent at once, never stored: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(rocket::Responder)]
pub enum Caught {
    Json(status::Custom<rocket::response::content::RawJson<String>>),
    Page(status::Custom<Html>),
    Redirect(Redirect),
}

async fn catcher_response(status: Status, req: &Request<'_>, default_message: &str) -> Caught {
    // No route ran for a 404, so the user is not known yet; the page should still show the
    // user's own navigation.
    if !wants_json(req) {
        let _ = MaybeUser::from_request(req).await;
    }
    let (message, fields) = req
        .local_cache(ErrorNote::default)
        .0
        .clone()
        .unwrap_or_else(|| (default_message.to_string(), FieldErrors::new()));
    if wants_json(req) {
        let code = crate::error::AppError::code_of_status(status);
        let body = json!({"code": code, "message": message, "fields": fields}).to_string();
        return Caught::Json(status::Custom(status, rocket::response::content::RawJson(body)));
    }
    Caught::Page(status::Custom(status, error_page(req, status, &message, &fields)))
}

#[catch(401)]
async fn unauthorized(req: &Request<'_>) -> Caught {
    if wants_json(req) {
        return catcher_response(
            Status::Unauthorized,
            req,
            "Bitte mit einem gültigen API-Token anmelden (Authorization: Bearer …).",
        )
        .await;
    }
    let next: String = url::form_urlencoded::byte_serialize(req.uri().path().as_str().as_bytes()).collect();
    Caught::Redirect(Redirect::to(format!("/anmelden?weiter={next}")))
}

#[catch(403)]
async fn forbidden(req: &Request<'_>) -> Caught {
    catcher_response(Status::Forbidden, req, "Sie haben für diese Seite keine Berechtigung.").await
}

#[catch(404)]
async fn not_found(req: &Request<'_>) -> Caught {
    catcher_response(
        Status::NotFound,
        req,
        "Diese Seite gibt es nicht. Bitte prüfen Sie die Adresse oder gehen Sie zur Startseite.",
    )
    .await
}

#[catch(422)]
async fn unprocessable(req: &Request<'_>) -> Caught {
    // A GET has no body: its 422 comes from a path segment that is no number (`/bedarf/abc`),
    // which for the user is simply a page that does not exist.
    if req.method() == rocket::http::Method::Get {
        return not_found(req).await;
    }
    catcher_response(
        Status::UnprocessableEntity,
        req,
        "Die gesendeten Daten sind unvollständig oder haben ein falsches Format.",
    )
    .await
}

#[catch(400)]
async fn bad_request(req: &Request<'_>) -> Caught {
    catcher_response(
        Status::BadRequest,
        req,
        "Die Anfrage ist ungültig. Bitte prüfen Sie Ihre Eingaben.",
    )
    .await
}

#[catch(413)]
async fn too_large(req: &Request<'_>) -> Caught {
    catcher_response(Status::PayloadTooLarge, req, "Die gesendeten Daten sind zu groß.").await
}

#[catch(415)]
async fn unsupported_media_type(req: &Request<'_>) -> Caught {
    catcher_response(
        Status::UnsupportedMediaType,
        req,
        "Dieses Format wird hier nicht angenommen. Bitte prüfen Sie den Content-Type.",
    )
    .await
}

#[catch(default)]
async fn default_catcher(status: Status, req: &Request<'_>) -> Caught {
    catcher_response(
        status,
        req,
        "Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später erneut.",
    )
    .await
}

/// Security headers on every response (DESIGN: security is a feature).
pub struct SecurityHeaders;

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ));
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new("Referrer-Policy", "same-origin"));
        res.set_header(Header::new(
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ));
        res.set_header(Header::new("Cross-Origin-Opener-Policy", "same-origin"));
        if is_https(req) {
            res.set_header(Header::new(
                "Strict-Transport-Security",
                "max-age=31536000; includeSubDomains",
            ));
        }
        if !req.uri().path().starts_with("/static/") {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}

const APP_CSS: &str = include_str!("../../static/app.css");

#[derive(rocket::Responder)]
struct Css {
    body: RawCss<&'static str>,
    cache: Header<'static>,
}

#[get("/static/app.css")]
fn stylesheet() -> Css {
    Css {
        body: RawCss(APP_CSS),
        cache: Header::new("Cache-Control", "public, max-age=3600"),
    }
}

/// Liveness: plain text, touches nothing.
#[get("/health")]
fn health() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[get("/ready")]
async fn ready(db: Db) -> status::Custom<&'static str> {
    let ok = db
        .run(|c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute("SELECT 1").map_err(crate::error::AppError::from)
        })
        .await
        .is_ok();
    if ok {
        status::Custom(Status::Ok, "bereit")
    } else {
        status::Custom(Status::ServiceUnavailable, "Datenbank nicht erreichbar")
    }
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
        .mount("/", routes![stylesheet, health, ready, start::index])
        .register(
            "/",
            catchers![
                unauthorized,
                forbidden,
                not_found,
                unprocessable,
                bad_request,
                too_large,
                unsupported_media_type,
                default_catcher
            ],
        )
}
