//! Pages of demand pooling: the officer's calls (create, edit, positions, open, close), the
//! buyer's demand entry by form and CSV, and the aggregation with its CSV export.

use super::{CallCommand, DemandCall, DemandEntry, Position, PositionCommand};
use crate::auth::csrf::FormData;
use crate::auth::CurrentUser;
use crate::db::schema::{demand_responses, organisations};
use crate::db::{Db, DbConn};
use crate::domain::demand::CallStatus;
use crate::domain::ids::{CatalogueItemId, DemandCallId, DemandPositionId, OrgId};
use crate::domain::roles::{OrgType, Role};
use crate::error::{joined, merge_fields, AppError, AppResult, FieldErrors};
use crate::import::CsvDownload;
use crate::web::Html;
use crate::web::{read, Layout};
use crate::AppState;
use chrono::NaiveDateTime;
use chrono_tz::Europe::Berlin;
use diesel::prelude::*;
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::{CookieJar, Status};
use rocket::response::{status, Flash, Redirect};
use rocket::{get, post, routes, Build, Either, FromForm, Rocket};
use serde_json::{json, Value};

type Page = AppResult<Either<Flash<Redirect>, status::Custom<Html>>>;

fn members(conn: &mut DbConn) -> AppResult<Vec<Value>> {
    let rows: Vec<(OrgId, String)> = organisations::table
        .filter(organisations::org_type.eq(OrgType::Member))
        .filter(organisations::active.eq(true))
        .order(organisations::name.asc())
        .select((organisations::id, organisations::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| json!({ "id": id, "name": name }))
        .collect())
}

/// Marks the members the form has chosen (`form.member_ids`, as typed or as stored) as
/// `checked`: the template's own `in` test compared every member with every chosen id, which took
/// most of the page's time with 300 members.
fn check_members(ctx: &mut Value) {
    let chosen: std::collections::HashSet<String> = ctx["form"]["member_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if let Some(members) = ctx["members"].as_array_mut() {
        for m in members {
            let checked = chosen.contains(&m["id"].to_string());
            m["checked"] = json!(checked);
        }
    }
}

/// The call form; a term or deadline that cannot be read is refused by the service's rule.
fn call_command(form: &FormData) -> CallCommand {
    CallCommand {
        title: form.get("title"),
        description: form.get("description"),
        term_months: form.get("term_months").trim().parse().ok(),
        deadline: read::local_datetime(&form.get("deadline_date"), &form.get("deadline_time")),
        all_members: form.get("invite") != "chosen",
        member_ids: form.all("member_ids").iter().filter_map(|v| v.parse().ok()).collect(),
    }
}

fn local(t: NaiveDateTime) -> (String, String) {
    let l = t.and_utc().with_timezone(&Berlin);
    (l.format("%Y-%m-%d").to_string(), l.format("%H:%M").to_string())
}

fn call_view(call: &DemandCall, now: NaiveDateTime) -> Value {
    let mut v = json!(call);
    v["state_label"] = json!(call.state_label(now));
    v["accepts_demand"] = json!(call.accepts_demand(now));
    v["deadline_passed"] = json!(now >= call.deadline);
    v
}

#[get("/bedarf")]
async fn list(layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    let now = state.clock.now_naive();
    let u = user.clone();
    let (calls, answered) = db
        .run(move |c| Ok((super::list_calls(c, &u)?, super::answered_calls(c, u.organisation_id)?)))
        .await?;
    let rows: Vec<Value> = calls
        .iter()
        .map(|call| {
            let mut v = call_view(call, now);
            v["answered"] = json!(answered.contains(&call.id));
            v
        })
        .collect();
    Ok(layout.render(
        "demand/list",
        json!({ "calls": rows, "can_create": user.is(Role::Officer) }),
    ))
}

fn new_page(conn: &mut DbConn, form: Value) -> AppResult<Value> {
    let mut ctx = json!({
        "catalogue": crate::orgs::catalogue_choices(conn, None)?.0,
        "members": members(conn)?,
        "form": form,
    });
    check_members(&mut ctx);
    Ok(ctx)
}

#[get("/bedarf/neu")]
async fn new_call(layout: Layout, user: CurrentUser, db: Db) -> AppResult<Html> {
    user.require(&[Role::Officer])?;
    let ctx = db
        .run(|c| {
            new_page(
                c,
                json!({ "invite": "all", "term_months": "48", "deadline_time": "12:00" }),
            )
        })
        .await?;
    Ok(layout.render("demand/new", ctx))
}

#[post("/bedarf", data = "<form>")]
async fn create(form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    user.require(&[Role::Officer])?;
    let input = call_command(&form);
    let catalogue_ids: Vec<CatalogueItemId> = form
        .all("catalogue_item_id")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    let mut edge = FieldErrors::new();
    let new_position = PositionCommand {
        description: form.get("new_description"),
        unit: form.get("new_unit"),
        cpv_code: form.get("new_cpv_code"),
        estimate_price: read::field(
            &mut edge,
            "new_estimate_price",
            "Der Schätzpreis",
            &form.get("new_estimate_price"),
            read::price,
        ),
        catalogue_item_id: None,
    };
    let wants_new =
        !(new_position.description.is_empty() && new_position.unit.is_empty() && new_position.cpv_code.is_empty());
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| {
            let mut errors = edge;
            let data = input
                .validate(st.clock.now_naive())
                .map_err(|e| merge_fields(&mut errors, e.field_errors()))
                .ok();
            let mut positions = Vec::new();
            for id in catalogue_ids {
                match (PositionCommand {
                    catalogue_item_id: Some(id),
                    ..Default::default()
                })
                .validate(c)
                {
                    Ok(p) => positions.push(p),
                    Err(e) => merge_fields(&mut errors, e.field_errors()),
                }
            }
            if wants_new {
                match new_position.validate(c) {
                    Ok(p) => positions.push(p),
                    Err(e) => {
                        for (k, v) in e.field_errors() {
                            errors.entry(format!("new_{k}")).or_default().extend(v);
                        }
                    }
                }
            }
            if positions.is_empty() && errors.is_empty() {
                errors.insert(
                    "catalogue_item_id".into(),
                    vec![
                        "Bitte wählen Sie mindestens eine Position aus dem Katalog oder legen Sie eine neue an.".into(),
                    ],
                );
            }
            match data {
                Some(data) if errors.is_empty() => super::create_call(c, &st, &u, &data, &positions),
                _ => Err(AppError::fields(errors)),
            }
        })
        .await;
    match result {
        Ok(id) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/bedarf/{id}")),
            "Der Entwurf wurde angelegt. Prüfen Sie ihn und öffnen Sie ihn dann für die Mitglieder.",
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let mut echo = form.echo();
            echo.insert("member_ids".into(), json!(form.all("member_ids")));
            echo.insert("catalogue_item_id".into(), json!(form.all("catalogue_item_id")));
            let ctx = db.run(move |c| new_page(c, Value::Object(echo))).await?;
            Ok(Either::Right(layout.render_errors("demand/new", ctx, &fields)))
        }
        Err(e) => Err(e),
    }
}

/// Everything the call's page shows to this user.
fn detail(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: DemandCallId) -> AppResult<Value> {
    let call = super::find_call(conn, id)?;
    super::check_read(conn, user, &call)?;
    let now = state.clock.now_naive();
    let positions = super::positions(conn, id)?;
    let agg = super::aggregate(conn, &call, now.date())?;
    let with_demand: Vec<Value> = positions
        .iter()
        .zip(&agg.positions)
        .map(|(p, (_, a))| {
            let mut v = json!(p);
            v["has_demand"] = json!(a.members > 0);
            v
        })
        .collect();
    let mut ctx = json!({ "call": call_view(&call, now), "positions": with_demand });
    if user.is(Role::Buyer) {
        let mine = super::member_lines(conn, id, user.organisation_id)?;
        let answered_at: Option<NaiveDateTime> = demand_responses::table
            .filter(demand_responses::call_id.eq(id))
            .filter(demand_responses::member_id.eq(user.organisation_id))
            .select(demand_responses::answered_at)
            .first(conn)
            .optional()?;
        let mut form = serde_json::Map::new();
        for e in &mine {
            form.insert(
                format!("q_{}", e.position_id),
                json!(crate::german::quantity_de(e.quantity.to_decimal())),
            );
            if let Some(p) = e.reference_price {
                form.insert(
                    format!("p_{}", e.position_id),
                    json!(crate::german::decimal_de(p.to_decimal(), 2, 4)),
                );
            }
        }
        // Totals only: a buyer never sees another member's lines.
        let rows: Vec<Value> = agg
            .positions
            .iter()
            .map(
                |(p, a)| {
                    let total = a.total_for_members();
                    json!({ "position": p, "total_quantity": total.map(|t| t.to_string()), "members": total.map(|_| a.members) })
                },
            )
            .collect();
        ctx["rows"] = json!(rows);
        ctx["min_members_for_totals"] = json!(crate::domain::demand::MIN_MEMBERS_FOR_TOTALS);
        ctx["form"] = Value::Object(form);
        ctx["answered_at"] = json!(answered_at);
        ctx["view"] = json!("buyer");
    } else {
        let invited = super::invited_members(conn, &call)?;
        ctx["invited"] = json!(invited.iter().map(|(_, n)| n).collect::<Vec<_>>());
        // Members nobody can answer for: the officer should know before waiting for them.
        let with_buyer: std::collections::HashSet<OrgId> = crate::db::schema::users::table
            .filter(crate::db::schema::users::role.eq(Role::Buyer))
            .filter(crate::db::schema::users::active.eq(true))
            .select(crate::db::schema::users::organisation_id)
            .load::<OrgId>(conn)?
            .into_iter()
            .collect();
        ctx["without_buyer"] = json!(invited
            .iter()
            .filter(|(m, _)| !with_buyer.contains(m))
            .map(|(_, n)| n)
            .collect::<Vec<_>>());
        ctx["answered"] = json!(agg.answered);
        ctx["view"] = json!("cooperative");
        ctx["can_edit"] = json!(user.is(Role::Officer) && call.editable(now));
        ctx["can_open"] = json!(user.is(Role::Officer) && call.status == CallStatus::Draft);
        ctx["can_close"] = json!(user.is(Role::Officer) && call.status == CallStatus::Open && now >= call.deadline);
        // Only an editable call offers the catalogue; a large one through a search.
        if user.is(Role::Officer) && ctx["can_edit"] == json!(true) {
            let (items, search) = crate::orgs::catalogue_choices(conn, None)?;
            ctx["catalogue"] = json!(items);
            ctx["catalogue_search"] = json!(search);
        }
    }
    Ok(ctx)
}

/// The page that changes a call's particulars and its invited members, as stored.
fn edit(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: DemandCallId) -> AppResult<Value> {
    user.require(&[Role::Officer])?;
    let call = super::find_call(conn, id)?;
    super::check_read(conn, user, &call)?;
    let now = state.clock.now_naive();
    if !call.editable(now) {
        return Err(AppError::Conflict(
            "Die Bedarfsabfrage nimmt keinen Bedarf mehr an; ihre Angaben lassen sich nicht mehr ändern.".into(),
        ));
    }
    let (deadline_date, deadline_time) = local(call.deadline);
    let invited = super::invited_members(conn, &call)?;
    Ok(json!({
        "call": call_view(&call, now),
        "members": members(conn)?,
        "form": {
            "title": call.title, "description": call.description, "term_months": call.term_months.to_string(),
            "deadline_date": deadline_date, "deadline_time": deadline_time,
            "invite": if call.all_members { "all" } else { "chosen" },
            "member_ids": invited.iter().map(|(m, _)| m.to_string()).collect::<Vec<_>>(),
        },
    }))
}

#[get("/bedarf/<id>/bearbeiten")]
async fn edit_page(id: DemandCallId, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    let mut ctx = db.run(move |c| edit(c, &state, &user, id)).await?;
    check_members(&mut ctx);
    Ok(layout.render("demand/edit", ctx))
}

async fn detail_ctx(db: &Db, state: &AppState, user: &CurrentUser, id: DemandCallId) -> AppResult<Value> {
    let (st, u) = (state.clone(), user.clone());
    db.run(move |c| detail(c, &st, &u, id)).await
}

#[get("/bedarf/<id>?<katalog>")]
async fn show(
    id: DemandCallId,
    katalog: Option<String>,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Html> {
    let mut ctx = detail_ctx(&db, &state, &user, id).await?;
    if let (Some(term), Some(true)) = (katalog, ctx["catalogue_search"].as_bool()) {
        let t = term.clone();
        let (items, _) = db.run(move |c| crate::orgs::catalogue_choices(c, Some(&t))).await?;
        ctx["catalogue"] = json!(items);
        ctx["catalogue_term"] = json!(term);
    }
    Ok(layout.render("demand/show", ctx))
}

/// Re-renders the call's page with errors, or redirects with a message.
async fn after(
    result: AppResult<String>,
    id: DemandCallId,
    layout: &Layout,
    user: &CurrentUser,
    db: &Db,
    state: &AppState,
    echo: Option<Value>,
) -> Page {
    match result {
        Ok(message) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/bedarf/{id}")),
            message,
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let mut ctx = detail_ctx(db, state, user, id).await?;
            if let Some(echo) = echo {
                ctx["form"] = echo;
            }
            Ok(Either::Right(layout.render_errors("demand/show", ctx, &fields)))
        }
        Err(AppError::Conflict(message)) => {
            let mut fields = FieldErrors::new();
            fields.insert("aktion".into(), vec![message]);
            let ctx = detail_ctx(db, state, user, id).await?;
            let mut page = layout.render_errors("demand/show", ctx, &fields);
            page.0 = Status::Conflict;
            Ok(Either::Right(page))
        }
        Err(e) => Err(e),
    }
}

#[post("/bedarf/<id>", data = "<form>")]
async fn update(id: DemandCallId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    user.require(&[Role::Officer])?;
    let input = call_command(&form);
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| {
            let data = input.validate(st.clock.now_naive())?;
            super::update_call(c, &st, &u, id, &data)
        })
        .await
        .map(|_| "Die Änderungen wurden gespeichert; eingeladene Mitglieder wurden informiert, falls die Abfrage schon offen ist.".to_string());
    let mut echo = form.echo();
    echo.insert("member_ids".into(), json!(form.all("member_ids")));
    // Refusals are shown on the form that was sent, with what was typed.
    let (fields, status) = match result {
        Err(AppError::Validation { fields, .. }) => (fields, Status::UnprocessableEntity),
        Err(AppError::Conflict(message)) => (
            FieldErrors::from([("aktion".to_string(), vec![message])]),
            Status::Conflict,
        ),
        other => return after(other, id, &layout, &user, &db, &state, None).await,
    };
    let (st, u) = (state.clone(), user.clone());
    let mut ctx = db.run(move |c| edit(c, &st, &u, id)).await?;
    ctx["form"] = Value::Object(echo);
    check_members(&mut ctx);
    let mut page = layout.render_errors("demand/edit", ctx, &fields);
    page.0 = status;
    Ok(Either::Right(page))
}

#[post("/bedarf/<id>/positionen", data = "<form>")]
async fn add_position(
    id: DemandCallId,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    user.require(&[Role::Officer])?;
    let mut edge = FieldErrors::new();
    let input = PositionCommand {
        catalogue_item_id: form.get("catalogue_item_id").parse().ok(),
        description: form.get("description"),
        unit: form.get("unit"),
        cpv_code: form.get("cpv_code"),
        estimate_price: read::field(
            &mut edge,
            "estimate_price",
            "Der Schätzpreis",
            &form.get("estimate_price"),
            read::price,
        ),
    };
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| {
            let data = joined(edge, input.validate(c))?;
            super::add_position(c, &st, &u, id, &data)
        })
        .await
        .map(|_| "Die Position wurde hinzugefügt.".to_string());
    after(result, id, &layout, &user, &db, &state, None).await
}

#[post("/bedarf/<id>/positionen/<pid>/entfernen", data = "<_form>")]
async fn remove_position(
    id: DemandCallId,
    pid: DemandPositionId,
    _form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| super::remove_position(c, &st, &u, id, pid))
        .await
        .map(|_| "Die Position wurde entfernt.".to_string());
    after(result, id, &layout, &user, &db, &state, None).await
}

#[post("/bedarf/<id>/oeffnen", data = "<_form>")]
async fn open(id: DemandCallId, _form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| super::open_call(c, &st, &u, id))
        .await
        .map(|n| format!("Die Bedarfsabfrage ist offen; {n} Einkäuferinnen und Einkäufer der eingeladenen Mitglieder wurden per E-Mail benachrichtigt."));
    after(result, id, &layout, &user, &db, &state, None).await
}

#[post("/bedarf/<id>/abschliessen", data = "<_form>")]
async fn close(id: DemandCallId, _form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| super::close_call(c, &st, &u, id))
        .await
        .map(|_| "Die Bedarfsabfrage ist abgeschlossen; der Bedarf ist endgültig.".to_string());
    after(result, id, &layout, &user, &db, &state, None).await
}

#[post("/bedarf/<id>/meldung", data = "<form>")]
async fn save_form(
    id: DemandCallId,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    user.require(&[Role::Buyer])?;
    // What the buyer typed comes back on error, not the stored values.
    let echo = Value::Object(form.echo());
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| {
            let call = super::find_call(c, id)?;
            super::check_read(c, &u, &call)?;
            let positions = super::positions(c, id)?;
            let entries = entries_from_form(&positions, |f| form.get(f)).map_err(AppError::fields)?;
            super::save_demand(c, &st, &u, id, &entries)?;
            Ok(entries.len())
        })
        .await
        .map(|n| {
            format!(
                "Ihr Bedarf wurde gespeichert ({}). Sie können ihn bis zur Frist ändern.",
                positions_phrase(n)
            )
        });
    after(result, id, &layout, &user, &db, &state, Some(echo)).await
}

#[get("/bedarf/<id>/vorlage.csv")]
async fn template_csv(id: DemandCallId, user: CurrentUser, db: Db) -> AppResult<CsvDownload> {
    let bytes = db.run(move |c| super::template_for(c, &user, id)).await?;
    Ok(CsvDownload::new(bytes, &format!("bedarf-{id}.csv")))
}

#[derive(FromForm)]
pub struct CsvUpload<'r> {
    #[field(name = "_csrf")]
    csrf: String,
    file: TempFile<'r>,
}

/// "1 Position mit Bedarf" / "3 Positionen mit Bedarf".
fn positions_phrase(n: usize) -> String {
    if n == 1 {
        "1 Position mit Bedarf".into()
    } else {
        format!("{n} Positionen mit Bedarf")
    }
}

#[post("/bedarf/<id>/meldung.csv", data = "<upload>")]
async fn upload_csv(
    id: DemandCallId,
    upload: Form<CsvUpload<'_>>,
    jar: &CookieJar<'_>,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    crate::auth::csrf::verify(jar, &upload.csrf)?;
    let bytes = crate::import::read_upload(&upload.file).await?;
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| super::import_csv(c, &st, &u, id, &bytes))
        .await
        .map(|import| {
            // A replacement must not go unnoticed: name the positions the file dropped.
            let mut message = format!("Die Datei wurde übernommen: {}.", positions_phrase(import.saved));
            if !import.removed_positions.is_empty() {
                let list: Vec<String> = import.removed_positions.iter().map(i32::to_string).collect();
                message.push_str(&format!(
                    " Nicht mehr enthalten und daher entfernt: Pos. {}.",
                    list.join(", ")
                ));
            }
            message
        });
    after(result, id, &layout, &user, &db, &state, None).await
}

fn aggregation_view(agg: &super::Aggregation) -> Value {
    let rows: Vec<Value> = agg
        .positions
        .iter()
        .map(|(p, a)| json!({ "position": p, "agg": a, "members": agg.breakdown.get(&p.id).cloned().unwrap_or_default() }))
        .collect();
    json!({
        "rows": rows,
        "invited": agg.invited,
        "answered": agg.answered,
        "not_answered": agg.not_answered,
        "estimated_total": agg.estimated_total.to_string(),
        "eu_threshold": agg.eu_threshold.to_string(),
        "eu_procedure_required": agg.eu_procedure_required,
    })
}

#[get("/bedarf/<id>/auswertung")]
async fn aggregation(id: DemandCallId, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    let now = state.clock.now_naive();
    let (call, agg) = db.run(move |c| super::aggregate_for(c, &user, id, now.date())).await?;
    let mut ctx = aggregation_view(&agg);
    ctx["call"] = call_view(&call, now);
    Ok(layout.render("demand/aggregation", ctx))
}

#[get("/bedarf/<id>/auswertung.csv")]
async fn aggregation_csv(id: DemandCallId, user: CurrentUser, db: Db, state: AppState) -> AppResult<CsvDownload> {
    let today = state.clock.now_naive().date();
    let (_, agg) = db.run(move |c| super::aggregate_for(c, &user, id, today)).await?;
    Ok(CsvDownload::new(
        super::aggregation_csv(&agg),
        &format!("bedarf-{id}-auswertung.csv"),
    ))
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount(
        "/",
        routes![
            list,
            new_call,
            create,
            show,
            edit_page,
            update,
            add_position,
            remove_position,
            open,
            close,
            save_form,
            template_csv,
            upload_csv,
            aggregation,
            aggregation_csv
        ],
    )
}

/// Reads the demand form: fields `q_<position id>` (quantity) and `p_<position id>` (reference
/// price); an empty quantity means no demand for that position.
fn entries_from_form(positions: &[Position], get: impl Fn(&str) -> String) -> Result<Vec<DemandEntry>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut entries = Vec::new();
    for p in positions {
        let (qf, pf) = (format!("q_{}", p.id), format!("p_{}", p.id));
        let (qt, pt) = (get(&qf), get(&pf));
        let label = format!("Pos. {} ({})", p.position_no, super::short(&p.description, 40));
        let quantity = read::field(&mut errors, &qf, &format!("{label}: Die Menge"), &qt, |t| {
            read::quantity(t)?
                .map(|q| q.positive().map_err(|e| format!("„{}“ {e}", t.trim())))
                .transpose()
        });
        let price = read::field(
            &mut errors,
            &pf,
            &format!("{label}: Der Referenzpreis"),
            &pt,
            read::price,
        );
        if qt.is_empty() && !pt.is_empty() {
            errors
                .entry(qf.clone())
                .or_default()
                .push(format!("{label}: Bitte geben Sie zum Referenzpreis auch die Menge an."));
        }
        if let Some(quantity) = quantity {
            entries.push(DemandEntry {
                position_id: p.id,
                quantity,
                reference_price: price,
            });
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}
