//! Open data over the API, without a token: the OCDS release package of each published tender
//! and the index of all packages. Amounts are exact JSON numbers, written from the decimals.

use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::AppState;
use rocket::response::content::RawJson;
use rocket::serde::json::Json;
use rocket::{get, routes, Route};
use serde_json::Value;

/// The packages of all published tenders.
#[get("/ocds/tenders")]
async fn index(db: Db, state: AppState) -> AppResult<Json<Vec<Value>>> {
    Ok(Json(db.run(move |c| crate::ocds::index(c, &state)).await?))
}

/// One tender's release package (404 for drafts and unknown tenders).
#[get("/ocds/tenders/<id>")]
async fn package(id: i64, db: Db, state: AppState) -> AppResult<RawJson<String>> {
    let doc = db.run(move |c| crate::ocds::package(c, &state, id)).await?;
    crate::domain::ocds::to_json_text(&doc)
        .map(RawJson)
        .map_err(|e| AppError::Internal(format!("ocds package {id}: {e}")))
}

pub fn routes() -> Vec<Route> {
    routes![index, package]
}
