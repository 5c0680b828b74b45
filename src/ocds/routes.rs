//! The public open-data page: published tenders, awards and contracts with their OCDS
//! downloads, for everyone and without login (Open Government).

use crate::db::Db;
use crate::error::AppResult;
use crate::web::Html;
use crate::web::Layout;
use crate::AppState;
use rocket::{get, routes, Build, Rocket};

#[get("/offene-daten")]
async fn page(layout: Layout, db: Db, state: AppState) -> AppResult<Html> {
    let st = state.clone();
    let mut ctx = db.run(move |c| super::public_lists(c, &st)).await?;
    ctx["ocid_prefix"] = serde_json::json!(state.config.ocid_prefix);
    Ok(layout.render("ocds/open_data", ctx))
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount("/", routes![page])
}
