//! The JSON API under `/api/v1`: bearer-token authentication, the same services and rules as the
//! pages, errors as `{code, message, fields}`, and the OpenAPI document that describes it.

pub mod body;
pub mod doc;
pub mod query;

// Each capability keeps its API routes next to its pages (`<capability>/api.rs`); these names
// let the document and the mount list address them as one API.
pub use crate::award::api as award;
pub use crate::calloff::api as calloff;
pub use crate::demand::api as demand;
pub use crate::ocds::api as ocds;
pub use crate::review::api as review;
pub use crate::savings::api as savings;
pub use crate::tender::api as tender;

use crate::auth::ApiUser;
use crate::db::schema::{organisations, users};
use crate::db::Db;
use crate::domain::ids::{OrgId, UserId};
use crate::domain::roles::{OrgType, Role};
use crate::error::{AppError, AppResult};
use crate::orgs::{self, OrgInput, Organisation, User, UserInput};
use crate::AppState;
pub use body::Body;
use diesel::prelude::*;
use rocket::response::status;
use rocket::serde::json::Json;
use rocket::{get, post, put, routes, Build, Rocket};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Me {
    #[schema(value_type = i64)]
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[schema(value_type = i64)]
    pub organisation_id: OrgId,
    pub organisation_name: String,
    pub organisation_type: OrgType,
}

#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "me",
    summary = "Das eigene Konto",
    responses(
        (status = 200, description = "Konto", body = Me)
    )
)]
#[get("/me")]
fn me(user: ApiUser) -> Json<Me> {
    let u = user.0;
    Json(Me {
        id: u.id,
        email: u.email,
        name: u.name,
        role: u.role,
        organisation_id: u.organisation_id,
        organisation_name: u.organisation_name,
        organisation_type: u.org_type,
    })
}

#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "list_organisations",
    summary = "Organisationen auflisten (Administration)",
    params(("org_type" = Option<OrgType>, Query, description = "Nur Organisationen dieser Art")),
    responses(
        (status = 200, description = "Liste", body = Vec<Organisation>)
    )
)]
#[get("/organisations?<org_type>")]
async fn list_organisations(
    user: ApiUser,
    db: Db,
    _single: query::SingleValues,
    org_type: Option<String>,
) -> AppResult<Json<Vec<Organisation>>> {
    user.0.require(&[Role::Admin])?;
    let filter = match query::given("org_type", org_type.as_deref())? {
        None => None,
        Some(t) => Some(
            t.parse::<OrgType>()
                .map_err(|_| AppError::field("org_type", "Erlaubt sind cooperative, member und vendor."))?,
        ),
    };
    let rows = db
        .run(move |c| {
            let mut q = organisations::table.order(organisations::name.asc()).into_boxed();
            if let Some(t) = filter {
                q = q.filter(organisations::org_type.eq(t));
            }
            Ok(q.select(Organisation::as_select()).load(c)?)
        })
        .await?;
    Ok(Json(rows))
}

#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "get_organisation",
    summary = "Eine Organisation (die eigene, oder jede für die Administration)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Organisation", body = Organisation)
    )
)]
#[get("/organisations/<id>")]
async fn get_organisation(user: ApiUser, db: Db, id: OrgId) -> AppResult<Json<Organisation>> {
    let u = user.0;
    // Everyone may read their own organisation; only the admin reads others.
    if u.organisation_id != id {
        u.require(&[Role::Admin])?;
    }
    Ok(Json(db.run(move |c| orgs::find_org(c, id)).await?))
}

#[derive(Deserialize, ToSchema)]
struct NewOrganisation {
    #[schema(schema_with = new_org_type)]
    org_type: String,
    #[serde(flatten)]
    fields: OrgInput,
}

#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "create_organisation",
    summary = "Mitglied oder Lieferant anlegen (Administration)",
    request_body = NewOrganisation,
    responses(
        (status = 201, description = "Angelegt", body = Organisation)
    )
)]
#[post("/organisations", data = "<body>")]
async fn create_organisation(
    user: ApiUser,
    db: Db,
    state: AppState,
    body: Body<NewOrganisation>,
) -> AppResult<status::Created<Json<Organisation>>> {
    user.0.require(&[Role::Admin])?;
    let org_type = match body.0.org_type.parse::<OrgType>() {
        Ok(t @ (OrgType::Member | OrgType::Vendor)) => t,
        _ => return Err(AppError::field("org_type", "Erlaubt sind member und vendor.")),
    };
    let data = body.0.fields.validate(org_type)?;
    let actor = user.0.actor();
    let org = db
        .run(move |c| {
            let id = orgs::create_org(c, &state, &actor, &data)?;
            orgs::find_org(c, id)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/organisations/{}", org.id)).body(Json(org)))
}

// Changes an organisation's master data (admin); its kind stays what it is.
#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "update_organisation",
    summary = "Stammdaten ändern (Administration); die Art bleibt",
    params(("id" = i64, Path)),
    request_body = OrgInput,
    responses(
        (status = 200, description = "Geändert", body = Organisation)
    )
)]
#[put("/organisations/<id>", data = "<body>")]
async fn update_organisation(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: OrgId,
    body: Body<OrgInput>,
) -> AppResult<Json<Organisation>> {
    user.0.require(&[Role::Admin])?;
    let actor = user.0.actor();
    let input = body.0;
    Ok(Json(
        db.run(move |c| {
            let org_type = orgs::find_org(c, id)?.org_type;
            let data = input.validate(org_type)?;
            orgs::update_org(c, &state, &actor, id, &data)?;
            orgs::find_org(c, id)
        })
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
struct StatusBody {
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    #[schema(schema_with = settable_vendor_status)]
    vendor_status: Option<String>,
}

// Activates or deactivates an organisation, or approves or suspends a vendor (admin).
#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "organisation_status",
    summary = "Aktivieren/deaktivieren oder Lieferant freigeben/sperren (Administration)",
    params(("id" = i64, Path)),
    request_body = StatusBody,
    responses(
        (status = 200, description = "Geändert", body = Organisation)
    )
)]
#[post("/organisations/<id>/status", data = "<body>")]
async fn organisation_status(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: OrgId,
    body: Body<StatusBody>,
) -> AppResult<Json<Organisation>> {
    user.0.require(&[Role::Admin])?;
    let vendor_status = match body.0.vendor_status.as_deref() {
        None => None,
        Some(s) => match s.parse::<crate::domain::roles::VendorStatus>() {
            Ok(v @ (crate::domain::roles::VendorStatus::Approved | crate::domain::roles::VendorStatus::Suspended)) => {
                Some(v)
            }
            _ => return Err(AppError::field("vendor_status", "Erlaubt sind approved und suspended.")),
        },
    };
    if body.0.active.is_none() && vendor_status.is_none() {
        return Err(AppError::field(
            "active",
            "Bitte geben Sie active oder vendor_status an.",
        ));
    }
    let actor = user.0.actor();
    let active = body.0.active;
    Ok(Json(
        db.run(move |c| {
            if let Some(a) = active {
                orgs::set_org_active(c, &state, &actor, id, a)?;
            }
            if let Some(v) = vendor_status {
                orgs::set_vendor_status(c, &state, &actor, id, v)?;
            }
            orgs::find_org(c, id)
        })
        .await?,
    ))
}

#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "list_users",
    summary = "Benutzer auflisten (Administration)",
    responses(
        (status = 200, description = "Liste", body = Vec<User>)
    )
)]
#[get("/users")]
async fn list_users(user: ApiUser, db: Db) -> AppResult<Json<Vec<User>>> {
    user.0.require(&[Role::Admin])?;
    Ok(Json(
        db.run(|c| {
            Ok(users::table
                .order(users::email.asc())
                .select(User::as_select())
                .load(c)?)
        })
        .await?,
    ))
}

#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "get_user",
    summary = "Ein Benutzer (man selbst, oder jeder für die Administration)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Benutzer", body = User)
    )
)]
#[get("/users/<id>")]
async fn get_user(user: ApiUser, db: Db, id: UserId) -> AppResult<Json<User>> {
    if user.0.id != id {
        user.0.require(&[Role::Admin])?;
    }
    Ok(Json(db.run(move |c| orgs::find_user(c, id)).await?))
}

#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "create_user",
    summary = "Benutzer anlegen (Administration)",
    request_body = UserInput,
    responses(
        (status = 201, description = "Angelegt", body = User)
    )
)]
#[post("/users", data = "<body>")]
async fn create_user(
    user: ApiUser,
    db: Db,
    state: AppState,
    body: Body<UserInput>,
) -> AppResult<status::Created<Json<User>>> {
    user.0.require(&[Role::Admin])?;
    let actor = user.0.actor();
    let input = body.0;
    let created = db
        .run(move |c| {
            let data = input.validate(c, true)?;
            let id = orgs::create_user(c, &state, &actor, &data)?;
            orgs::find_user(c, id)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/users/{}", created.id)).body(Json(created)))
}

// Changes a user (admin): name, e-mail, role, organisation, optionally a new password. Ends the
// user's sessions and revokes its API tokens.
#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "update_user",
    summary = "Benutzer ändern (Administration); beendet Sitzungen und widerruft API-Tokens",
    params(("id" = i64, Path)),
    request_body = UserInput,
    responses(
        (status = 200, description = "Geändert", body = User)
    )
)]
#[put("/users/<id>", data = "<body>")]
async fn update_user(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: UserId,
    body: Body<UserInput>,
) -> AppResult<Json<User>> {
    user.0.require(&[Role::Admin])?;
    let actor = user.0.actor();
    let input = body.0;
    Ok(Json(
        db.run(move |c| {
            let data = input.validate(c, false)?;
            orgs::update_user(c, &state, &actor, id, &data)?;
            orgs::find_user(c, id)
        })
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
struct ActiveBody {
    active: bool,
}

#[utoipa::path(
    tag = "Konto und Stammdaten",
    operation_id = "user_active",
    summary = "Konto aktivieren oder deaktivieren (Administration)",
    params(("id" = i64, Path)),
    request_body = ActiveBody,
    responses(
        (status = 200, description = "Geändert", body = User)
    )
)]
#[post("/users/<id>/active", data = "<body>")]
async fn user_active(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: UserId,
    body: Body<ActiveBody>,
) -> AppResult<Json<User>> {
    user.0.require(&[Role::Admin])?;
    let active = body.0.active;
    let u = user.0;
    Ok(Json(
        db.run(move |c| {
            orgs::set_user_active(c, &state, &u, id, active)?;
            orgs::find_user(c, id)
        })
        .await?,
    ))
}

#[utoipa::path(
    tag = "Dokumentation",
    operation_id = "openapi_json",
    summary = "Dieses Dokument (OpenAPI 3.1)",
    security(()),
    responses(
        (status = 200, description = "OpenAPI 3.1", body = serde_json::Value, content_type = "application/json")
    )
)]
#[get("/openapi.json")]
fn openapi_json() -> rocket::response::content::RawJson<String> {
    rocket::response::content::RawJson(doc::document().to_string())
}

/// The kinds an organisation can be created as: the cooperative exists once, from the seed.
fn new_org_type() -> utoipa::openapi::Object {
    doc::string_enum(&["member", "vendor"], "Art der Organisation")
}

/// What the admin can set a vendor to; `pending` is where registration starts.
fn settable_vendor_status() -> utoipa::openapi::Object {
    doc::nullable_string_enum(&["approved", "suspended"], "Lieferant freigeben oder sperren")
}

pub const BASE: &str = "/api/v1";

/// Where the interactive reference (Swagger UI) is served.
pub const REFERENCE: &str = "/api/doku";

/// Swagger UI from the files compiled into the binary; its page loads only scripts and styles
/// of its own (the initializer with our document's address is a file, not inline), so it works
/// under the app's Content-Security-Policy.
fn reference_routes() -> Vec<rocket::Route> {
    let ui = utoipa_swagger_ui::SwaggerUi::new(format!("{REFERENCE}/<_..>"))
        .config(utoipa_swagger_ui::Config::new([format!("{BASE}/openapi.json")]));
    ui.into()
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket
        .mount("/", reference_routes())
        .mount(BASE, demand::routes())
        .mount(BASE, tender::routes())
        .mount(BASE, award::routes())
        .mount(BASE, review::routes())
        .mount(BASE, calloff::routes())
        .mount(BASE, savings::routes())
        .mount(BASE, ocds::routes())
        .mount(
            BASE,
            routes![
                me,
                list_organisations,
                get_organisation,
                create_organisation,
                update_organisation,
                organisation_status,
                list_users,
                get_user,
                create_user,
                update_user,
                user_active,
                openapi_json
            ],
        )
}
