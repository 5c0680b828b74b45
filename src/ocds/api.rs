//! Open data over the API, without a token: the OCDS release package of each published tender
//! and the index of all packages. Amounts are exact JSON numbers, written from the decimals.

use crate::db::Db;
use crate::domain::ids::TenderId;
use crate::error::{AppError, AppResult};
use crate::AppState;
use rocket::response::content::RawJson;
use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use serde_json::Value;

// The packages of all published tenders.
#[utoipa::path(
    tag = "Offene Daten",
    operation_id = "list_ocds_packages",
    summary = "Offene Daten: die OCDS-Release-Pakete aller veröffentlichten Ausschreibungen (ohne Anmeldung)",
    security(()),
    responses(
        (status = 200, description = "OK", body = Vec<OcdsIndexEntry>)
    )
)]
#[get("/ocds/tenders")]
async fn index(db: Db, state: AppState) -> AppResult<Json<Vec<Value>>> {
    Ok(Json(db.run(move |c| crate::ocds::index(c, &state)).await?))
}

// One tender's release package (404 for drafts and unknown tenders).
#[utoipa::path(
    tag = "Offene Daten",
    operation_id = "get_ocds_package",
    summary = "Offene Daten: OCDS-1.1-Release-Paket einer veröffentlichten Ausschreibung (ohne Anmeldung; Entwürfe 404): Beteiligte, Ausschreibung mit Losen und Positionen, Angebote (Statistik und Einzelheiten) erst nach dem Zuschlag des Loses, Zuschläge, Rahmenvereinbarungen, jeder Abruf als eigener Vorgang mit relatedProcesses (scheme ocid, relationship framework). Beträge sind exakte JSON-Zahlen",
    security(()),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "OK", body = OcdsReleasePackage)
    )
)]
#[get("/ocds/tenders/<id>")]
async fn package(id: TenderId, db: Db, state: AppState) -> AppResult<RawJson<String>> {
    let doc = db.run(move |c| crate::ocds::package(c, &state, id)).await?;
    crate::domain::ocds::to_json_text(&doc)
        .map(RawJson)
        .map_err(|e| AppError::Internal(format!("ocds package {id}: {e}")))
}

/// An entry of `crate::ocds::index` (built as JSON there), described for the document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct OcdsIndexEntry {
    #[schema(value_type = i64)]
    tender_id: TenderId,
    ocid: String,
    title: String,
    /// Adresse des Release-Pakets
    package: String,
}

/// The release package follows the OCDS 1.1 schema, which the tests validate every demo package
/// against; the document names its top level and points there rather than repeat it.
#[derive(utoipa::ToSchema)]
#[schema(
    description = "Ein OCDS-1.1-Release-Paket nach release-package-schema.json (https://standard.open-contracting.org/1.1/en/schema/release_package/); die Releases folgen dem Release-Schema"
)]
#[allow(dead_code)]
struct OcdsReleasePackage {
    uri: String,
    version: String,
    #[serde(rename = "publishedDate")]
    published_date: String,
    publisher: serde_json::Value,
    license: Option<String>,
    /// OCDS-Releases
    releases: Vec<serde_json::Value>,
}

pub fn routes() -> Vec<Route> {
    routes![index, package]
}
