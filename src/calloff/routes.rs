//! Pages of the contract register and call-offs: contracts with remaining volume, the buyer's
//! order form, the order's page with its life (confirm, reject, deliver, cancel) and document.

use super::{CalloffCommand, Step};
use crate::auth::csrf::FormData;
use crate::auth::CurrentUser;
use crate::db::schema::{contract_members, organisations};
use crate::db::{Db, DbConn};
use crate::domain::calloff::CalloffStatus;
use crate::domain::ids::{CalloffId, ContractId, OrgId, TenderPositionId};
use crate::domain::roles::Role;
use crate::error::{merge_fields, AppError, AppResult, FieldErrors};
use crate::import::CsvDownload;
use crate::web::paging::Page as ListPage;
use crate::web::Html;
use crate::web::{read, Layout};
use crate::AppState;
use diesel::prelude::*;
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::{ContentType, CookieJar};
use rocket::response::{status, Flash, Redirect};
use rocket::{get, post, routes, Build, Either, FromForm, Rocket};
use serde_json::{json, Value};

type Page = AppResult<Either<Flash<Redirect>, status::Custom<Html>>>;

/// The register's "latest call-offs": a glance, not a list to work through.
const LATEST_CALLOFFS: ListPage = ListPage { number: 1, size: 10 };

#[get("/vertraege?<seite>")]
async fn register(seite: Option<&str>, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    let page = ListPage::read(seite)?;
    let u = user.clone();
    let ((entries, total), (calloffs, _)) = db
        .read(move |c| {
            Ok((
                super::register_page(c, &state, &u, Some(page))?,
                // The latest few: the full lists are on each contract and in the CSV export.
                super::list_page(c, &u, None, LATEST_CALLOFFS, false)?,
            ))
        })
        .await?;
    let calloffs: Vec<Value> = calloffs
        .iter()
        .map(|c| {
            let mut v = json!(c);
            v["status_label"] = json!(c.status_label());
            v
        })
        .collect();
    Ok(layout.render(
        "calloff/register",
        json!({ "contracts": entries, "total": total, "paging": page.view("/vertraege", total), "calloffs": calloffs, "is_buyer": user.is(Role::Buyer) }),
    ))
}

fn contract_context(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: ContractId,
    page: ListPage,
) -> AppResult<Value> {
    let (entry, positions) = super::detail(conn, state, user, id)?;
    type MemberRow = (
        OrgId,
        String,
        Option<crate::domain::money::Amount>,
        crate::domain::money::Amount,
    );
    let members: Vec<MemberRow> = contract_members::table
        .inner_join(organisations::table)
        .filter(contract_members::contract_id.eq(id))
        .order(organisations::name.asc())
        .select((
            organisations::id,
            organisations::name,
            contract_members::quota_value,
            contract_members::called_value,
        ))
        .load(conn)?;
    let (calloffs, calloff_total) = super::list_page(conn, user, Some(id), page, true)?;
    let calloffs: Vec<Value> = calloffs
        .iter()
        .map(|c| {
            let mut v = json!(c);
            v["status_label"] = json!(c.status_label());
            v
        })
        .collect();
    // Buyers see their own member's quota only; the cooperative sees every member's.
    let members: Vec<Value> = members
        .into_iter()
        .map(|(member_id, name, quota, called)| {
            if user.reach().member(member_id) {
                json!({ "id": member_id, "name": name, "quota": quota, "called": called })
            } else {
                json!({ "id": member_id, "name": name })
            }
        })
        .collect();
    Ok(json!({
        "contract": entry,
        "positions": positions,
        "members": members,
        "calloffs": calloffs,
        "calloff_total": calloff_total,
        "paging": page.view(&format!("/vertraege/{id}"), calloff_total),
        "can_order": user.is(Role::Buyer) && entry.active && !entry.exhausted,
    }))
}

#[get("/vertraege/<id>?<seite>")]
async fn contract(
    id: ContractId,
    seite: Option<&str>,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Html> {
    let page = ListPage::read(seite)?;
    let ctx = db.run(move |c| contract_context(c, &state, &user, id, page)).await?;
    Ok(layout.render("calloff/contract", ctx))
}

#[post("/vertraege/<id>/abrufe", data = "<form>")]
async fn place(id: ContractId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    user.require(&[Role::Buyer])?;
    let typed: Vec<(TenderPositionId, String)> = form
        .keys()
        .filter_map(|k| k.strip_prefix("q_").and_then(|p| p.parse::<TenderPositionId>().ok()))
        .map(|p| (p, form.get(&format!("q_{p}"))))
        .collect();
    let mut input = CalloffCommand {
        quantities: Vec::new(),
        delivery_address: form.get("delivery_address"),
        cost_centre: form.get("cost_centre"),
        leitweg_id: form.get("leitweg_id"),
        note: form.get("note"),
    };
    let echo = Value::Object(form.echo());
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| {
            // A contract the member is not entitled to stays unknown, positions and all, also
            // when a quantity cannot be read.
            crate::award::contract(c, &u, id)?;
            // Quantities in German notation, each reported with its position number.
            let positions = super::positions(c, id)?;
            let mut edge = FieldErrors::new();
            for (position_id, text) in typed {
                let no = positions
                    .iter()
                    .find(|p| p.position_id == position_id)
                    .map(|p| p.position_no)
                    .unwrap_or(0);
                let what = format!("Pos. {no}: Die Menge");
                if let Some(q) = read::field(&mut edge, &format!("q_{position_id}"), &what, &text, read::quantity) {
                    input.quantities.push((position_id, q));
                }
            }
            if edge.is_empty() {
                return super::place(c, &st, &u, id, &input);
            }
            // The other fields' problems too; "no quantity" is not one when a quantity was typed.
            let mut others = super::check_fields(&input)
                .err()
                .map(|e| e.field_errors())
                .unwrap_or_default();
            others.remove("lines");
            merge_fields(&mut edge, others);
            Err(AppError::fields(edge))
        })
        .await;
    placed_or_page(result, id, echo, &layout, &user, &db, &state).await
}

/// To the new order, or the contract's page again with what was wrong and what was typed.
async fn placed_or_page(
    result: AppResult<super::Placed>,
    id: ContractId,
    echo: Value,
    layout: &Layout,
    user: &CurrentUser,
    db: &Db,
    state: &AppState,
) -> Page {
    match result {
        Ok(placed) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/abrufe/{}", placed.id)),
            format!(
                "Der Abruf {} über {} ist bestellt; der Lieferant hat die Bestellung per E-Mail erhalten.",
                placed.number,
                crate::german::money_de(placed.total.to_decimal())
            ),
        ))),
        Err(e @ (AppError::Validation { .. } | AppError::Conflict(_))) => {
            let status = e.status();
            let mut fields = e.field_errors();
            if fields.is_empty() {
                fields = FieldErrors::from([("lines".to_string(), vec![e.user_message()])]);
            }
            let (u, st) = (user.clone(), state.clone());
            let mut ctx = db
                .run(move |c| contract_context(c, &st, &u, id, ListPage::first()))
                .await?;
            ctx["form"] = echo;
            let mut page = layout.render_errors("calloff/contract", ctx, &fields);
            page.0 = status;
            Ok(Either::Right(page))
        }
        Err(e) => Err(e),
    }
}

#[get("/abrufe/<id>")]
async fn calloff(id: CalloffId, layout: Layout, user: CurrentUser, db: Db) -> AppResult<Html> {
    let u = user.clone();
    let ctx = db
        .run(move |c| {
            let (calloff, vendor_id) = super::find(c, &u, id)?;
            let mut v = json!(calloff);
            v["status_label"] = json!(calloff.status_label());
            Ok(json!({
                "calloff": v,
                "document": calloff.document,
                "can_confirm": u.is(Role::Vendor) && vendor_id == u.organisation_id && calloff.status == CalloffStatus::Placed,
                "can_deliver": u.is(Role::Buyer) && calloff.status == CalloffStatus::Confirmed,
                "can_cancel": u.is(Role::Buyer) && calloff.status == CalloffStatus::Placed,
            }))
        })
        .await?;
    Ok(layout.render("calloff/calloff", ctx))
}

#[get("/abrufe/<id>/dokument")]
async fn document(id: CalloffId, user: CurrentUser, db: Db) -> AppResult<(ContentType, String)> {
    let (c, _) = db.run(move |c| super::find(c, &user, id)).await?;
    Ok((ContentType::HTML, c.document))
}

#[post("/abrufe/<id>/<step>", data = "<form>", rank = 2)]
async fn advance(
    id: CalloffId,
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

#[get("/vertraege/<id>/vorlage.csv")]
async fn template(id: ContractId, user: CurrentUser, db: Db, state: AppState) -> AppResult<CsvDownload> {
    let bytes = db.run(move |c| super::extra::template(c, &state, &user, id)).await?;
    Ok(CsvDownload::new(bytes, &format!("abruf-vorlage-{id}.csv")))
}

#[derive(FromForm)]
pub struct OrderUpload<'r> {
    #[field(name = "_csrf")]
    csrf: Option<String>,
    file: Option<TempFile<'r>>,
    delivery_address: Option<String>,
    cost_centre: Option<String>,
    leitweg_id: Option<String>,
    note: Option<String>,
}

#[post("/vertraege/<id>/abrufe.csv", data = "<upload>")]
async fn place_csv(
    id: ContractId,
    upload: Form<OrderUpload<'_>>,
    jar: &CookieJar<'_>,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    crate::auth::csrf::verify(jar, upload.csrf.as_deref().unwrap_or(""))?;
    let bytes = match &upload.file {
        Some(f) if f.len() > 0 => crate::import::read_upload(f).await?,
        _ => Vec::new(),
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let input = CalloffCommand {
        quantities: Vec::new(),
        delivery_address: text(&upload.delivery_address),
        cost_centre: text(&upload.cost_centre),
        leitweg_id: text(&upload.leitweg_id),
        note: text(&upload.note),
    };
    let echo = json!({
        "delivery_address": input.delivery_address, "cost_centre": input.cost_centre,
        "leitweg_id": input.leitweg_id, "note": input.note,
    });
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| super::extra::place_csv(c, &st, &u, id, &bytes, input))
        .await;
    placed_or_page(result, id, echo, &layout, &user, &db, &state).await
}

/// The export of call-off lines; a buyer gets its own member's only.
#[get("/abrufe.csv?<vertrag>&<mitglied>&<von>&<bis>")]
async fn export(
    vertrag: Option<&str>,
    mitglied: Option<&str>,
    von: Option<&str>,
    bis: Option<&str>,
    user: CurrentUser,
    db: Db,
) -> AppResult<CsvDownload> {
    let filter = super::extra::ExportFilter {
        contract_id: read::query("vertrag", vertrag, "die Nummer eines Vertrags (ganze Zahl)")?,
        member_id: read::query("mitglied", mitglied, "die Nummer eines Mitglieds (ganze Zahl)")?,
        from: read::query_date("von", von)?,
        to: read::query_date("bis", bis)?,
    };
    let bytes = db.run(move |c| super::extra::export(c, &user, &filter)).await?;
    Ok(CsvDownload::new(bytes, "abrufe.csv"))
}

#[post("/vertraege/<id>/kontingente", data = "<form>")]
async fn set_quota(id: ContractId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    user.require(&[Role::Officer])?;
    let member: OrgId = form.get("member_id").parse().unwrap_or_default();
    let quota = read::amount(&form.get("quota")).map_err(|e| AppError::field("quota", format!("Das Kontingent {e}.")));
    let (u, st) = (user.clone(), state.clone());
    let result = match quota {
        Ok(q) => db
            .run(move |c| super::extra::set_quota(c, &st, &u, id, member, q))
            .await
            .map(|_| "Das Kontingent ist gespeichert; es gilt ab dem nächsten Abruf wie ein Höchstwert.".to_string()),
        Err(e) => Err(e),
    };
    match result {
        Ok(m) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/vertraege/{id}")),
            m,
        ))),
        Err(e @ AppError::Validation { .. }) => {
            let fields = e.field_errors();
            let (u, st) = (user.clone(), state.clone());
            let ctx = db
                .run(move |c| contract_context(c, &st, &u, id, ListPage::first()))
                .await?;
            Ok(Either::Right(layout.render_errors("calloff/contract", ctx, &fields)))
        }
        Err(e) => Err(e),
    }
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount(
        "/",
        routes![register, contract, place, calloff, document, advance, template, place_csv, export, set_quota],
    )
}
