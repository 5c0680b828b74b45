//! The board's figures over the API: the same dashboard as `/auswertung`, for the cooperative or
//! one member; a buyer gets its own member's figures only, a vendor none.

use crate::auth::ApiUser;
use crate::db::Db;
use crate::error::AppResult;
use crate::savings::Dashboard;
use crate::AppState;
use rocket::serde::json::Json;
use rocket::{get, routes, Route};

#[get("/savings?<year>&<member_id>")]
async fn dashboard(
    user: ApiUser,
    db: Db,
    state: AppState,
    year: Option<&str>,
    member_id: Option<&str>,
) -> AppResult<Json<Dashboard>> {
    Ok(Json(
        crate::savings::routes::load(&db, &state, &user.0, year, member_id).await?,
    ))
}

pub fn routes() -> Vec<Route> {
    routes![dashboard]
}
