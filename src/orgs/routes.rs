//! Admin pages for members, vendors, users and the catalogue; vendor self-registration; the
//! outbox status page. Every handler checks the role before it reads or changes anything.

use super::{OrgInput, RegistrationInput, UserInput};
use crate::auth::csrf::FormData;
use crate::auth::CurrentUser;
use crate::db::schema::{organisations, outbox, users};
use crate::db::Db;
use crate::domain::ids::{OrgId, OutboxId, UserId};
use crate::domain::roles::{MemberKind, OrgType, Role, VendorStatus};
use crate::domain::tender::TenderStatus;
use crate::error::{AppError, AppResult};
use crate::web::Html;
use crate::web::Layout;
use crate::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rocket::http::Status;
use rocket::response::{status, Flash, Redirect};
use rocket::{get, post, routes, Build, Either, Rocket};
use serde::Serialize;
use serde_json::{json, Value};

type FormResult = AppResult<Either<Flash<Redirect>, status::Custom<Html>>>;

/// The two organisation lists the admin manages, by their German URL segment.
fn org_kind(segment: &str) -> AppResult<(OrgType, &'static str, &'static str)> {
    match segment {
        "mitglieder" => Ok((OrgType::Member, "mitglieder", "Mitglied")),
        "lieferanten" => Ok((OrgType::Vendor, "lieferanten", "Lieferant")),
        _ => Err(AppError::NotFound),
    }
}

fn options<T: Copy>(all: &[T], code: fn(T) -> &'static str, label: fn(T) -> &'static str) -> Value {
    all.iter()
        .map(|v| json!({ "value": code(*v), "label": label(*v) }))
        .collect()
}

fn org_form_input(form: &FormData) -> OrgInput {
    OrgInput {
        name: form.get("name"),
        street: form.get("street"),
        postal_code: form.get("postal_code"),
        city: form.get("city"),
        member_kind: form.get("member_kind"),
        leitweg_id: form.get("leitweg_id"),
        vat_id: form.get("vat_id"),
        contact_email: form.get("contact_email"),
    }
}

fn org_page(org_type: OrgType, segment: &str, label: &str, org: Option<&super::Organisation>, form: Value) -> Value {
    json!({
        "org_type": org_type.code(),
        "segment": segment,
        "kind_label": label,
        "org": org,
        "form": form,
        "member_kinds": options(MemberKind::ALL, MemberKind::code, MemberKind::label),
    })
}

#[get("/verwaltung/<segment>", rank = 5)]
async fn org_list(segment: &str, layout: Layout, user: CurrentUser, db: Db) -> AppResult<Html> {
    user.require(&[Role::Admin])?;
    let (org_type, segment, label) = org_kind(segment)?;
    let orgs = db.run(move |c| super::list_orgs(c, org_type)).await?;
    let rows: Vec<Value> = orgs
        .iter()
        .map(|o| {
            json!({
                "org": o,
                "kind_label": o.member_kind.map(MemberKind::label),
                "status_label": o.vendor_status.map(VendorStatus::label),
            })
        })
        .collect();
    Ok(layout.render(
        "admin/org_list",
        json!({ "rows": rows, "segment": segment, "kind_label": label, "org_type": org_type.code() }),
    ))
}

#[get("/verwaltung/<segment>/neu", rank = 5)]
async fn org_new(segment: &str, layout: Layout, user: CurrentUser) -> AppResult<Html> {
    user.require(&[Role::Admin])?;
    let (org_type, segment, label) = org_kind(segment)?;
    Ok(layout.render("admin/org_form", org_page(org_type, segment, label, None, json!({}))))
}

#[post("/verwaltung/<segment>", data = "<form>", rank = 5)]
async fn org_create(
    segment: &str,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> FormResult {
    user.require(&[Role::Admin])?;
    let (org_type, segment, label) = org_kind(segment)?;
    let input = org_form_input(&form);
    let actor = user.actor();
    let result = match input.validate(org_type) {
        Ok(data) => db.run(move |c| super::create_org(c, &state, &actor, &data)).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(id) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/verwaltung/{segment}/{id}")),
            format!("{label} wurde angelegt."),
        ))),
        Err(AppError::Validation { fields, .. }) => Ok(Either::Right(layout.render_errors(
            "admin/org_form",
            org_page(org_type, segment, label, None, json!(form.echo())),
            &fields,
        ))),
        Err(e) => Err(e),
    }
}

#[derive(Serialize, Queryable)]
struct UserListRow {
    id: UserId,
    email: String,
    name: String,
    role: Role,
    active: bool,
    organisation: String,
}

#[get("/verwaltung/<segment>/<id>", rank = 6)]
async fn org_edit(segment: &str, id: OrgId, layout: Layout, user: CurrentUser, db: Db) -> AppResult<Html> {
    user.require(&[Role::Admin])?;
    let (org_type, segment, label) = org_kind(segment)?;
    let (org, members) = db
        .run(move |c| {
            let org = super::find_org(c, id)?;
            let members: Vec<(UserId, String, String, Role, bool)> = users::table
                .filter(users::organisation_id.eq(id))
                .order(users::name.asc())
                .select((users::id, users::email, users::name, users::role, users::active))
                .load(c)?;
            Ok((org, members))
        })
        .await?;
    if org.org_type != org_type {
        return Err(AppError::NotFound);
    }
    let form = json!(org);
    let mut ctx = org_page(org_type, segment, label, Some(&org), form);
    ctx["users"] = members
        .into_iter()
        .map(|(id, email, name, role, active)| json!({ "id": id, "email": email, "name": name, "role_label": role.label(), "active": active }))
        .collect();
    ctx["status_label"] = json!(org.vendor_status.map(VendorStatus::label));
    Ok(layout.render("admin/org_form", ctx))
}

#[post("/verwaltung/<segment>/<id>", data = "<form>", rank = 5)]
async fn org_update(
    segment: &str,
    id: OrgId,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> FormResult {
    user.require(&[Role::Admin])?;
    let (org_type, segment, label) = org_kind(segment)?;
    let input = org_form_input(&form);
    let actor = user.actor();
    let result = match input.validate(org_type) {
        Ok(data) => db.run(move |c| super::update_org(c, &state, &actor, id, &data)).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/verwaltung/{segment}/{id}")),
            "Die Änderungen wurden gespeichert.",
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let org = db.run(move |c| super::find_org(c, id)).await?;
            Ok(Either::Right(layout.render_errors(
                "admin/org_form",
                org_page(org_type, segment, label, Some(&org), json!(form.echo())),
                &fields,
            )))
        }
        Err(e) => Err(e),
    }
}

#[post("/verwaltung/<segment>/<id>/aktiv", data = "<form>", rank = 5)]
async fn org_active(
    segment: &str,
    id: OrgId,
    form: FormData,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Flash<Redirect>> {
    user.require(&[Role::Admin])?;
    let (org_type, segment, _) = org_kind(segment)?;
    let active = form.get("active") == "true";
    let actor = user.actor();
    db.run(move |c| {
        if super::find_org(c, id)?.org_type != org_type {
            return Err(AppError::NotFound);
        }
        super::set_org_active(c, &state, &actor, id, active)
    })
    .await?;
    let message = if active {
        "Die Organisation ist wieder aktiv."
    } else {
        "Die Organisation wurde deaktiviert; ihre Benutzer wurden abgemeldet."
    };
    Ok(Flash::success(
        Redirect::to(format!("/verwaltung/{segment}/{id}")),
        message,
    ))
}

#[post("/verwaltung/lieferanten/<id>/status", data = "<form>")]
async fn vendor_status(
    id: OrgId,
    form: FormData,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Flash<Redirect>> {
    user.require(&[Role::Admin])?;
    let status = match form.get("status").parse::<VendorStatus>() {
        Ok(s @ (VendorStatus::Approved | VendorStatus::Suspended)) => s,
        _ => {
            return Err(AppError::BadRequest(
                "Unbekannter Status; erlaubt sind approved und suspended.".into(),
            ))
        }
    };
    let actor = user.actor();
    db.run(move |c| super::set_vendor_status(c, &state, &actor, id, status))
        .await?;
    Ok(Flash::success(
        Redirect::to(format!("/verwaltung/lieferanten/{id}")),
        format!("Status: {}.", status.label()),
    ))
}

fn org_options(conn: &mut crate::db::DbConn) -> AppResult<Value> {
    let orgs: Vec<(OrgId, String, OrgType)> = organisations::table
        .filter(organisations::active.eq(true))
        .order((organisations::org_type.asc(), organisations::name.asc()))
        .select((organisations::id, organisations::name, organisations::org_type))
        .load(conn)?;
    Ok(orgs
        .into_iter()
        .map(|(id, name, t)| {
            let kind = t.label();
            json!({ "value": id.to_string(), "label": format!("{name} ({kind})") })
        })
        .collect())
}

fn user_page(orgs: Value, existing: Option<&super::User>, form: Value) -> Value {
    json!({
        "roles": options(Role::ALL, Role::code, Role::label),
        "organisations": orgs,
        "existing": existing,
        "form": form,
    })
}

#[get("/verwaltung/benutzer")]
async fn user_list(layout: Layout, user: CurrentUser, db: Db) -> AppResult<Html> {
    user.require(&[Role::Admin])?;
    let rows: Vec<UserListRow> = db
        .run(|c| {
            Ok(users::table
                .inner_join(organisations::table)
                .order((organisations::name.asc(), users::name.asc()))
                .select((
                    users::id,
                    users::email,
                    users::name,
                    users::role,
                    users::active,
                    organisations::name,
                ))
                .load(c)?)
        })
        .await?;
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| json!({ "user": r, "role_label": r.role.label() }))
        .collect();
    Ok(layout.render("admin/user_list", json!({ "rows": rows })))
}

#[get("/verwaltung/benutzer/neu")]
async fn user_new(layout: Layout, user: CurrentUser, db: Db) -> AppResult<Html> {
    user.require(&[Role::Admin])?;
    let orgs = db.run(org_options).await?;
    Ok(layout.render("admin/user_form", user_page(orgs, None, json!({}))))
}

fn user_form_input(form: &FormData) -> UserInput {
    UserInput {
        email: form.get("email"),
        name: form.get("name"),
        role: form.get("role"),
        organisation_id: form.get("organisation_id").parse().ok(),
        password: form.raw("password"),
    }
}

#[post("/verwaltung/benutzer", data = "<form>")]
async fn user_create(form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> FormResult {
    user.require(&[Role::Admin])?;
    let input = user_form_input(&form);
    let actor = user.actor();
    let result = db
        .run(move |c| {
            let data = input.validate(c, true)?;
            super::create_user(c, &state, &actor, &data)
        })
        .await;
    match result {
        Ok(id) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/verwaltung/benutzer/{id}")),
            "Das Konto wurde angelegt; die Person wurde per E-Mail informiert.",
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let orgs = db.run(org_options).await?;
            Ok(Either::Right(layout.render_errors(
                "admin/user_form",
                user_page(orgs, None, json!(form.echo())),
                &fields,
            )))
        }
        Err(e) => Err(e),
    }
}

#[get("/verwaltung/benutzer/<id>")]
async fn user_edit(id: UserId, layout: Layout, user: CurrentUser, db: Db) -> AppResult<Html> {
    user.require(&[Role::Admin])?;
    let (existing, orgs) = db.run(move |c| Ok((super::find_user(c, id)?, org_options(c)?))).await?;
    let form = json!({
        "email": existing.email, "name": existing.name, "role": existing.role,
        "organisation_id": existing.organisation_id.to_string(),
    });
    Ok(layout.render("admin/user_form", user_page(orgs, Some(&existing), form)))
}

#[post("/verwaltung/benutzer/<id>", data = "<form>")]
async fn user_update(
    id: UserId,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> FormResult {
    user.require(&[Role::Admin])?;
    let input = user_form_input(&form);
    let actor = user.actor();
    let result = db
        .run(move |c| {
            let data = input.validate(c, false)?;
            super::update_user(c, &state, &actor, id, &data)
        })
        .await;
    match result {
        Ok(()) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/verwaltung/benutzer/{id}")),
            "Die Änderungen wurden gespeichert; laufende Sitzungen der Person wurden beendet.",
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let (existing, orgs) = db.run(move |c| Ok((super::find_user(c, id)?, org_options(c)?))).await?;
            Ok(Either::Right(layout.render_errors(
                "admin/user_form",
                user_page(orgs, Some(&existing), json!(form.echo())),
                &fields,
            )))
        }
        Err(e) => Err(e),
    }
}

#[post("/verwaltung/benutzer/<id>/aktiv", data = "<form>")]
async fn user_active(
    id: UserId,
    form: FormData,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Flash<Redirect>> {
    user.require(&[Role::Admin])?;
    let active = form.get("active") == "true";
    db.run(move |c| super::set_user_active(c, &state, &user, id, active))
        .await?;
    let message = if active {
        "Das Konto ist wieder aktiv."
    } else {
        "Das Konto wurde deaktiviert und abgemeldet."
    };
    Ok(Flash::success(
        Redirect::to(format!("/verwaltung/benutzer/{id}")),
        message,
    ))
}

#[get("/katalog?<seite>")]
async fn catalogue(layout: Layout, user: CurrentUser, db: Db, state: AppState, seite: Option<&str>) -> AppResult<Html> {
    user.require(&[Role::Admin, Role::Officer])?;
    let page = crate::web::paging::Page::read(seite)?;
    let (items, total) = db
        .read(move |c| super::catalogue_page(c, &state.catalogue_count, page))
        .await?;
    Ok(layout.render(
        "catalogue",
        json!({ "items": items, "total": total, "paging": page.view("/katalog", total), "form": {} }),
    ))
}

#[post("/katalog", data = "<form>")]
async fn catalogue_add(form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> FormResult {
    user.require(&[Role::Admin])?;
    let actor = user.actor();
    let validated = super::validate_catalogue_item(&form.get("description"), &form.get("unit"), &form.get("cpv_code"));
    let count = state.catalogue_count.clone();
    let result = match validated {
        Ok(item) => {
            db.run(move |c| super::create_catalogue_item(c, &state, &actor, &item))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Either::Left(Flash::success(
            Redirect::to("/katalog"),
            "Die Position wurde in den Katalog aufgenommen.",
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let page = crate::web::paging::Page::first();
            let (items, total) = db.read(move |c| super::catalogue_page(c, &count, page)).await?;
            Ok(Either::Right(layout.render_errors(
                "catalogue",
                json!({ "items": items, "total": total, "paging": page.view("/katalog", total), "form": form.echo() }),
                &fields,
            )))
        }
        Err(e) => Err(e),
    }
}

#[get("/registrieren")]
fn register_page(layout: Layout) -> Either<Html, Redirect> {
    if layout.user.is_some() {
        return Either::Right(Redirect::to("/"));
    }
    Either::Left(layout.render("register", json!({ "form": {} })))
}

/// Validates, limits registrations per client address like logins, hashes the password off the
/// pool, then stores.
async fn register_steps(
    db: &Db,
    state: &AppState,
    input: &RegistrationInput,
    addr: Option<std::net::IpAddr>,
) -> AppResult<()> {
    let reg = super::validate_registration(input)?;
    let key = vec![(
        format!(
            "register:{}",
            addr.map(|a| a.to_string()).unwrap_or_else(|| "unbekannt".into())
        ),
        state.config.login_limits.per_address,
        "address",
    )];
    let st = state.clone();
    db.run(move |c| crate::db::write_tx(c, |c| crate::auth::routes::reserve_attempt(c, &st, &key)))
        .await?
        .map_err(|(minutes, _)| {
            AppError::TooManyRequests(format!(
                "Zu viele Registrierungen von Ihrem Anschluss. Bitte warten Sie {minutes} Minute(n)."
            ))
        })?;
    let password = input.password.clone();
    let hash = crate::db::cpu(move || crate::auth::hash_password(&password)).await??;
    let st = state.clone();
    db.run(move |c| super::register_vendor(c, &st, &reg, &hash)).await?;
    Ok(())
}

#[post("/registrieren", data = "<form>")]
async fn register(
    form: FormData,
    layout: Layout,
    db: Db,
    state: AppState,
    addr: Option<std::net::IpAddr>,
) -> AppResult<Either<status::Custom<Html>, status::Custom<Html>>> {
    let input = RegistrationInput {
        org: org_form_input(&form),
        person_name: form.get("person_name"),
        email: form.get("email"),
        password: form.raw("password"),
        password_repeat: form.raw("password_repeat"),
    };
    match register_steps(&db, &state, &input, addr).await {
        Ok(()) => Ok(Either::Left(status::Custom(
            Status::Created,
            layout.render("register_done", json!({ "company": form.get("name") })),
        ))),
        Err(AppError::Validation { fields, .. }) => Ok(Either::Right(layout.render_errors(
            "register",
            json!({ "form": form.echo() }),
            &fields,
        ))),
        Err(e) => Err(e),
    }
}

#[derive(Serialize, Queryable)]
struct OutboxView {
    id: OutboxId,
    recipient: String,
    subject: String,
    status: crate::mail::OutboxStatus,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    sent_at: Option<NaiveDateTime>,
}

#[get("/verwaltung/postausgang")]
async fn outbox_page(layout: Layout, user: CurrentUser, db: Db) -> AppResult<Html> {
    user.require(&[Role::Admin])?;
    let (rows, counts) = db
        .run(|c| {
            use crate::db::schema::tenders;
            let rows: Vec<(OutboxView, Option<TenderStatus>)> = outbox::table
                .left_join(tenders::table)
                .order(outbox::id.desc())
                .limit(100)
                .select((
                    (
                        outbox::id,
                        outbox::recipient,
                        outbox::subject,
                        outbox::status,
                        outbox::attempts,
                        outbox::next_attempt_at,
                        outbox::last_error,
                        outbox::created_at,
                        outbox::sent_at,
                    ),
                    tenders::status.nullable(),
                ))
                .load(c)?;
            // Mails about a sealed bid name the bidder: hidden until the tender is opened.
            let rows: Vec<OutboxView> = rows
                .into_iter()
                .map(|(mut row, tender_status)| {
                    if tender_status.is_some_and(|s| s != TenderStatus::Opened) {
                        row.recipient = "Bieter (verschlossen bis zur Öffnung)".into();
                        row.subject = "Mail zu einem verschlossenen Angebot".into();
                        row.last_error = row.last_error.map(|_| "(verschlossen)".into());
                    }
                    row
                })
                .collect();
            let counts: Vec<(String, i64)> = outbox::table
                .group_by(outbox::status)
                .select((outbox::status, diesel::dsl::count_star()))
                .load(c)?;
            Ok((rows, counts))
        })
        .await?;
    let count = |s: &str| counts.iter().find(|(k, _)| k == s).map(|(_, n)| *n).unwrap_or(0);
    Ok(layout.render(
        "admin/outbox",
        json!({
            "rows": rows,
            "pending": count("pending") + count("sending"),
            "sent": count("sent"),
            "failed": count("failed"),
        }),
    ))
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount(
        "/",
        routes![
            org_list,
            org_new,
            org_create,
            org_edit,
            org_update,
            org_active,
            vendor_status,
            user_list,
            user_new,
            user_create,
            user_edit,
            user_update,
            user_active,
            catalogue,
            catalogue_add,
            register_page,
            register,
            outbox_page
        ],
    )
}
