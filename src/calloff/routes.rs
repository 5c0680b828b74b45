//! Pages of the contract register and call-offs: contracts with remaining volume, the buyer's
//! order form, the order's page with its life (confirm, reject, deliver, cancel) and document.

use super::{CalloffInput, Step};
use crate::auth::csrf::FormData;
use crate::auth::CurrentUser;
use crate::db::schema::{contract_members, organisations};
use crate::db::{Db, DbConn};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::web::Layout;
use crate::AppState;
use diesel::prelude::*;
use rocket::http::ContentType;
use rocket::response::{status, Flash, Redirect};
use rocket::{get, post, routes, Build, Either, Rocket};
use rocket_dyn_templates::Template;
use serde_json::{json, Value};

type Page = AppResult<Either<Flash<Redirect>, status::Custom<Template>>>;

#[get("/vertraege")]
async fn register(layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Template> {
    let u = user.clone();
    let (entries, calloffs) = db
        .run(move |c| Ok((super::register(c, &state, &u)?, super::list(c, &u, None)?)))
        .await?;
    let calloffs: Vec<Value> = calloffs
        .iter()
        .take(50)
        .map(|c| {
            let mut v = json!(c);
            v["status_label"] = json!(c.status_label());
            v
        })
        .collect();
    Ok(layout.render(
        "calloff/register",
        json!({ "contracts": entries, "calloffs": calloffs, "is_buyer": user.is(Role::Buyer) }),
    ))
}

fn contract_context(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: i64) -> AppResult<Value> {
    let (entry, positions) = super::detail(conn, state, user, id)?;
    let members: Vec<(
        String,
        Option<crate::domain::money::Amount>,
        crate::domain::money::Amount,
    )> = contract_members::table
        .inner_join(organisations::table)
        .filter(contract_members::contract_id.eq(id))
        .order(organisations::name.asc())
        .select((
            organisations::name,
            contract_members::quota_value,
            contract_members::called_value,
        ))
        .load(conn)?;
    let calloffs: Vec<Value> = super::list(conn, user, Some(id))?
        .iter()
        .map(|c| {
            let mut v = json!(c);
            v["status_label"] = json!(c.status_label());
            v
        })
        .collect();
    // Buyers see their own member's figures only; the cooperative sees every member's.
    let members: Vec<Value> = members
        .into_iter()
        .map(|(name, quota, called)| {
            if matches!(user.role, Role::Officer | Role::Admin | Role::Board) {
                json!({ "name": name, "quota": quota, "called": called })
            } else {
                json!({ "name": name })
            }
        })
        .collect();
    Ok(json!({
        "contract": entry,
        "positions": positions,
        "members": members,
        "calloffs": calloffs,
        "can_order": user.is(Role::Buyer) && entry.active && !entry.exhausted,
    }))
}

#[get("/vertraege/<id>")]
async fn contract(id: i64, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Template> {
    let ctx = db.run(move |c| contract_context(c, &state, &user, id)).await?;
    Ok(layout.render("calloff/contract", ctx))
}

#[post("/vertraege/<id>/abrufe", data = "<form>")]
async fn place(id: i64, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    user.require(&[Role::Buyer])?;
    let quantities: Vec<(i64, String)> = form
        .keys()
        .filter_map(|k| k.strip_prefix("q_").and_then(|p| p.parse::<i64>().ok()))
        .map(|p| (p, form.get(&format!("q_{p}"))))
        .collect();
    let input = CalloffInput {
        quantities,
        delivery_address: form.get("delivery_address"),
        cost_centre: form.get("cost_centre"),
        leitweg_id: form.get("leitweg_id"),
        note: form.get("note"),
    };
    let (u, st) = (user.clone(), state.clone());
    let result = db.run(move |c| super::place(c, &st, &u, id, &input)).await;
    match result {
        Ok(placed) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/abrufe/{}", placed.id)),
            format!(
                "Der Abruf {} über {} ist bestellt; der Lieferant hat die Bestellung per E-Mail erhalten.",
                placed.number,
                crate::web::format::money_de(placed.total.to_decimal())
            ),
        ))),
        Err(e @ (AppError::Validation { .. } | AppError::Conflict(_))) => {
            let status = e.status();
            let mut fields = e.field_errors();
            if fields.is_empty() {
                fields = FieldErrors::from([("lines".to_string(), vec![e.user_message()])]);
            }
            let (u, st) = (user.clone(), state.clone());
            let mut ctx = db.run(move |c| contract_context(c, &st, &u, id)).await?;
            ctx["form"] = Value::Object(form.echo());
            let mut page = layout.render_errors("calloff/contract", ctx, &fields);
            page.0 = status;
            Ok(Either::Right(page))
        }
        Err(e) => Err(e),
    }
}

#[get("/abrufe/<id>")]
async fn calloff(id: i64, layout: Layout, user: CurrentUser, db: Db) -> AppResult<Template> {
    let u = user.clone();
    let ctx = db
        .run(move |c| {
            let (calloff, vendor_id) = super::find(c, &u, id)?;
            let mut v = json!(calloff);
            v["status_label"] = json!(calloff.status_label());
            Ok(json!({
                "calloff": v,
                "document": calloff.document,
                "can_confirm": u.is(Role::Vendor) && vendor_id == u.organisation_id && calloff.status == "placed",
                "can_deliver": u.is(Role::Buyer) && calloff.status == "confirmed",
                "can_cancel": u.is(Role::Buyer) && calloff.status == "placed",
            }))
        })
        .await?;
    Ok(layout.render("calloff/calloff", ctx))
}

#[get("/abrufe/<id>/dokument")]
async fn document(id: i64, user: CurrentUser, db: Db) -> AppResult<(ContentType, String)> {
    let (c, _) = db.run(move |c| super::find(c, &user, id)).await?;
    Ok((ContentType::HTML, c.document))
}

#[post("/abrufe/<id>/<step>", data = "<form>", rank = 2)]
async fn advance(
    id: i64,
    step: &str,
    form: FormData,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Flash<Redirect>> {
    let step = match step {
        "bestaetigen" => Step::Confirm,
        "ablehnen" => Step::Reject,
        "geliefert" => Step::Deliver,
        "stornieren" => Step::Cancel,
        _ => return Err(AppError::NotFound),
    };
    let reason = form.get("reason");
    let c = db
        .run(move |c| super::advance(c, &state, &user, id, step, &reason))
        .await;
    match c {
        Ok(c) => Ok(Flash::success(
            Redirect::to(format!("/abrufe/{id}")),
            format!("Der Abruf {} ist jetzt {}.", c.number, c.status_label()),
        )),
        // The order's page explains the refusal; a validation error has one field only.
        Err(e @ (AppError::Validation { .. } | AppError::Conflict(_))) => Ok(Flash::error(
            Redirect::to(format!("/abrufe/{id}")),
            e.field_errors()
                .into_values()
                .flatten()
                .next()
                .unwrap_or_else(|| e.user_message()),
        )),
        Err(e) => Err(e),
    }
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount("/", routes![register, contract, place, calloff, document, advance])
}
