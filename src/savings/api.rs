//! The board's figures over the API: the same dashboard as `/auswertung`, for the cooperative or
//! one member; a buyer gets its own member's figures only, a vendor none.

use crate::auth::ApiUser;
use crate::db::Db;
use crate::error::AppResult;
use crate::savings::Dashboard;
use crate::AppState;
use rocket::serde::json::Json;
use rocket::{get, routes, Route};

#[utoipa::path(
    tag = "Auswertung",
    operation_id = "get_savings",
    summary = "Auswertung: Abrufvolumen, realisierte und vertragliche Einsparungen nach Mitglied, Rahmenvereinbarung, Los, CPV-Abteilung, Jahr und Herkunft des Referenzpreises, Ausschöpfung und Laufzeit der Verträge (Genossenschaft: alle oder ein Mitglied; Einkauf: nur das eigene Mitglied, ein anderes ist 403; Lieferanten 403)",
    params(
        ("year" = Option<i32>, Query, minimum = 2000, maximum = 2100, description = "Nur dieses Jahr (deutsche Zeit): Abrufe nach Bestelltag, vertragliche Einsparungen nach Vertragsschluss; sonst 400"),
        ("member_id" = Option<i64>, Query, description = "Nur dieses Mitglied (Genossenschaft); für den Einkauf nur das eigene")
    ),
    responses(
        (status = 200, description = "Auswertung", body = Dashboard)
    )
)]
#[get("/savings?<year>&<member_id>")]
async fn dashboard(
    user: ApiUser,
    db: Db,
    state: AppState,
    _single: crate::api::query::SingleValues,
    year: Option<&str>,
    member_id: Option<&str>,
) -> AppResult<Json<Dashboard>> {
    let year = crate::api::query::given("year", year)?;
    let member_id = crate::api::query::given("member_id", member_id)?;
    let d = crate::savings::routes::load(&db, &state, &user.0, year, member_id).await?;
    Ok(Json(Dashboard::clone(&d)))
}

pub fn routes() -> Vec<Route> {
    routes![dashboard]
}
