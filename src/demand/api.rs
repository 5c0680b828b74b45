//! Demand pooling over the JSON API: the same services and rules as the pages, plus CSV in and
//! out for a member's demand and the aggregation.

use crate::api::body::{self, Plain};
use crate::api::Body;
use crate::auth::ApiUser;
use crate::db::Db;
use crate::demand::{self, CallCommand, DemandCall, DemandEntry, Position, PositionCommand};
use crate::domain::demand::CallStatus;
use crate::domain::ids::{CatalogueItemId, DemandCallId, DemandPositionId, OrgId};
use crate::domain::money::{Price, Quantity};
use crate::domain::roles::Role;
use crate::error::{joined, merge_fields, AppError, AppResult, FieldErrors};
use crate::import::CsvDownload;
use crate::AppState;
use rocket::data::{Data, ToByteUnit};
use rocket::response::status;
use rocket::serde::json::Json;
use rocket::{get, post, put, routes, Route};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct CallDetail {
    #[serde(flatten)]
    call: DemandCall,
    state_label: &'static str,
    accepts_demand: bool,
    positions: Vec<Position>,
    #[schema(value_type = Vec<i64>)]
    invited_members: Vec<OrgId>,
}

fn detail(
    conn: &mut crate::db::DbConn,
    state: &AppState,
    user: &crate::auth::CurrentUser,
    id: DemandCallId,
) -> AppResult<CallDetail> {
    let call = demand::find_call(conn, id)?;
    demand::check_read(conn, user, &call)?;
    let now = state.clock.now_naive();
    let invited = if user.is(Role::Buyer) {
        vec![user.organisation_id]
    } else {
        demand::invited_members(conn, &call)?
            .into_iter()
            .map(|(m, _)| m)
            .collect()
    };
    Ok(CallDetail {
        state_label: call.state_label(now),
        accepts_demand: call.accepts_demand(now),
        positions: demand::positions(conn, id)?,
        invited_members: invited,
        call,
    })
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "list_demand_calls",
    summary = "Bedarfsabfragen (Genossenschaft: alle; Einkauf: die eingeladenen)",
    responses(
        (status = 200, description = "Liste", body = Vec<DemandCall>)
    )
)]
#[get("/demand-calls")]
async fn list(user: ApiUser, db: Db) -> AppResult<Json<Vec<DemandCall>>> {
    Ok(Json(db.run(move |c| demand::list_calls(c, &user.0)).await?))
}

/// A new call: its data and its positions.
#[derive(Deserialize, ToSchema)]
#[schema(as = DemandCallInput)]
struct NewCall {
    #[serde(flatten)]
    call: ApiCallInput,
    #[serde(default)]
    positions: Vec<ApiPosition>,
}

/// A position as the API takes it: from the catalogue, or new; the estimate in plain notation.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = PositionInput)]
#[serde(default)]
struct ApiPosition {
    #[schema(value_type = Option<i64>)]
    catalogue_item_id: Option<CatalogueItemId>,
    description: String,
    unit: String,
    /// CPV-Code mit Prüfziffer, z. B. 30213200-7
    cpv_code: String,
    estimate_price: Plain<Price>,
}

impl ApiPosition {
    /// The command; an unreadable estimate is recorded under `prefix` + `estimate_price`.
    fn command(self, prefix: &str, errors: &mut FieldErrors) -> PositionCommand {
        PositionCommand {
            catalogue_item_id: self.catalogue_item_id,
            description: self.description,
            unit: self.unit,
            cpv_code: self.cpv_code,
            estimate_price: self.estimate_price.optional(&format!("{prefix}estimate_price"), errors),
        }
    }
}

/// The API takes the deadline as an instant (RFC 3339) instead of local date and time.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = DemandCallFields)]
struct ApiCallInput {
    #[serde(default)]
    #[schema(min_length = 3, max_length = 200)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 120)]
    term_months: Option<i32>,
    #[serde(default)]
    #[schema(schema_with = crate::api::doc::instant)]
    deadline: String,
    #[serde(default)]
    all_members: bool,
    #[serde(default)]
    #[schema(value_type = Vec<i64>)]
    member_ids: Vec<OrgId>,
}

impl ApiCallInput {
    fn command(self, errors: &mut FieldErrors) -> CallCommand {
        let deadline = body::instant(errors, "deadline", "Die Frist", &self.deadline);
        CallCommand {
            title: self.title,
            description: self.description,
            term_months: self.term_months,
            deadline,
            all_members: self.all_members,
            member_ids: self.member_ids,
        }
    }
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "create_demand_call",
    summary = "Bedarfsabfrage als Entwurf anlegen (Vergabestelle)",
    request_body = NewCall,
    responses(
        (status = 201, description = "Angelegt", body = CallDetail)
    )
)]
#[post("/demand-calls", data = "<body>")]
async fn create(
    user: ApiUser,
    db: Db,
    state: AppState,
    body: Body<NewCall>,
) -> AppResult<status::Created<Json<CallDetail>>> {
    user.0.require(&[Role::Officer])?;
    let NewCall { call, positions } = body.0;
    let mut edge = FieldErrors::new();
    let input = call.command(&mut edge);
    let positions: Vec<PositionCommand> = positions
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.command(&format!("positions[{i}]."), &mut edge))
        .collect();
    let st = state.clone();
    let u = user.0;
    let detail = db
        .run(move |c| {
            // Every problem at once: what the edge found, the call's, then each position's.
            let mut errors = edge;
            let data = input.validate(st.clock.now_naive());
            if let Err(e) = &data {
                merge_fields(&mut errors, e.field_errors());
            }
            let mut valid = Vec::new();
            for (i, p) in positions.iter().enumerate() {
                match p.validate(c) {
                    Ok(v) => valid.push(v),
                    Err(e) => merge_fields(
                        &mut errors,
                        e.field_errors()
                            .into_iter()
                            .map(|(k, v)| (format!("positions[{i}].{k}"), v))
                            .collect(),
                    ),
                }
            }
            let data = match data {
                Ok(data) if errors.is_empty() => data,
                Err(e) if errors.is_empty() => return Err(e),
                _ => return Err(AppError::fields(errors)),
            };
            let id = demand::create_call(c, &st, &u, &data, &valid)?;
            detail(c, &st, &u, id)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/demand-calls/{}", detail.call.id)).body(Json(detail)))
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "get_demand_call",
    summary = "Eine Bedarfsabfrage mit Positionen",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Bedarfsabfrage", body = CallDetail)
    )
)]
#[get("/demand-calls/<id>")]
async fn show(user: ApiUser, db: Db, state: AppState, id: DemandCallId) -> AppResult<Json<CallDetail>> {
    Ok(Json(db.run(move |c| detail(c, &state, &user.0, id)).await?))
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "update_demand_call",
    summary = "Angaben ändern (Vergabestelle; nach dem Öffnen nur bis zur Frist, Einladungen nur erweitern)",
    params(("id" = i64, Path)),
    request_body = ApiCallInput,
    responses(
        (status = 200, description = "Geändert", body = CallDetail)
    )
)]
#[put("/demand-calls/<id>", data = "<body>")]
async fn update(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: DemandCallId,
    body: Body<ApiCallInput>,
) -> AppResult<Json<CallDetail>> {
    let mut edge = FieldErrors::new();
    let input = body.0.command(&mut edge);
    let u = user.0;
    Ok(Json(
        db.run(move |c| {
            let data = joined(edge, input.validate(state.clock.now_naive()))?;
            demand::update_call(c, &state, &u, id, &data)?;
            detail(c, &state, &u, id)
        })
        .await?,
    ))
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "add_demand_position",
    summary = "Position hinzufügen (Vergabestelle)",
    params(("id" = i64, Path)),
    request_body = ApiPosition,
    responses(
        (status = 201, description = "Hinzugefügt", body = CallDetail)
    )
)]
#[post("/demand-calls/<id>/positions", data = "<body>")]
async fn add_position(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: DemandCallId,
    body: Body<ApiPosition>,
) -> AppResult<status::Created<Json<CallDetail>>> {
    let u = user.0;
    let mut edge = FieldErrors::new();
    let input = body.0.command("", &mut edge);
    let detail = db
        .run(move |c| {
            let data = joined(edge, input.validate(c))?;
            demand::add_position(c, &state, &u, id, &data)?;
            detail(c, &state, &u, id)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/demand-calls/{id}")).body(Json(detail)))
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "open_demand_call",
    summary = "Für die eingeladenen Mitglieder öffnen (Vergabestelle)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Geöffnet", body = CallOpened)
    )
)]
#[post("/demand-calls/<id>/open")]
async fn open(user: ApiUser, db: Db, state: AppState, id: DemandCallId) -> AppResult<Json<CallOpened>> {
    let n = db.run(move |c| demand::open_call(c, &state, &user.0, id)).await?;
    Ok(Json(CallOpened {
        status: CallStatus::Open,
        buyers_notified: n,
    }))
}

#[derive(Serialize, ToSchema)]
struct CallOpened {
    status: CallStatus,
    /// Benachrichtigte Einkäufer der eingeladenen Mitglieder
    buyers_notified: usize,
}

#[derive(Serialize, ToSchema)]
struct CallClosed {
    status: CallStatus,
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "close_demand_call",
    summary = "Nach der Frist abschließen (Vergabestelle)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Abgeschlossen", body = CallClosed)
    )
)]
#[post("/demand-calls/<id>/close")]
async fn close(user: ApiUser, db: Db, state: AppState, id: DemandCallId) -> AppResult<Json<CallClosed>> {
    db.run(move |c| demand::close_call(c, &state, &user.0, id)).await?;
    Ok(Json(CallClosed {
        status: CallStatus::Closed,
    }))
}

/// A member's demand line in the API: decimals as plain strings.
#[derive(Deserialize, ToSchema)]
#[schema(as = DemandLineInput)]
struct ApiLine {
    #[schema(value_type = i64)]
    position_id: DemandPositionId,
    #[serde(default)]
    quantity: Plain<Quantity>,
    #[serde(default)]
    reference_price: Plain<Price>,
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "get_own_demand",
    summary = "Der Bedarf des eigenen Mitglieds (Einkauf)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Zeilen", body = MemberDemand)
    )
)]
#[get("/demand-calls/<id>/demand")]
async fn my_demand(user: ApiUser, db: Db, id: DemandCallId) -> AppResult<Json<MemberDemand>> {
    user.0.require(&[Role::Buyer])?;
    let u = user.0;
    let lines = db
        .run(move |c| {
            let call = demand::find_call(c, id)?;
            demand::check_read(c, &u, &call)?;
            demand::member_lines(c, id, u.organisation_id)
        })
        .await?;
    Ok(Json(MemberDemand { lines }))
}

#[derive(Serialize, ToSchema)]
struct MemberDemand {
    lines: Vec<DemandEntry>,
}

#[derive(Serialize, ToSchema)]
struct DemandSaved {
    saved_lines: usize,
}

#[derive(Serialize, ToSchema)]
struct CsvImported {
    saved_lines: usize,
    /// Nummern der Positionen, deren Bedarf die Datei entfernt hat
    removed_positions: Vec<i32>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = DemandLines)]
struct DemandBody {
    lines: Vec<ApiLine>,
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "put_own_demand",
    summary = "Den Bedarf des eigenen Mitglieds ganz ersetzen (Einkauf, bis zur Frist)",
    params(("id" = i64, Path)),
    request_body = DemandBody,
    responses(
        (status = 200, description = "Gespeichert", body = DemandSaved)
    )
)]
#[put("/demand-calls/<id>/demand", data = "<body>")]
async fn put_demand(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: DemandCallId,
    body: Body<DemandBody>,
) -> AppResult<Json<DemandSaved>> {
    let mut errors = FieldErrors::new();
    let mut entries: Vec<DemandEntry> = Vec::new();
    for (i, l) in body.0.lines.into_iter().enumerate() {
        let quantity = l.quantity.take(&format!("lines[{i}].quantity"), &mut errors);
        let reference_price = l
            .reference_price
            .optional(&format!("lines[{i}].reference_price"), &mut errors);
        if let Some(quantity) = quantity {
            entries.push(DemandEntry {
                position_id: l.position_id,
                quantity,
                reference_price,
            });
        }
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let n = entries.len();
    db.run(move |c| demand::save_demand(c, &state, &user.0, id, &entries))
        .await?;
    Ok(Json(DemandSaved { saved_lines: n }))
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "get_demand_template",
    summary = "CSV-Vorlage mit allen Positionen und dem eigenen Bedarf (Einkauf)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "CSV (;, Dezimalkomma, UTF-8 mit BOM)", body = String, content_type = "text/csv")
    )
)]
#[get("/demand-calls/<id>/demand.csv")]
async fn demand_template(user: ApiUser, db: Db, id: DemandCallId) -> AppResult<CsvDownload> {
    let bytes = db.run(move |c| demand::template_for(c, &user.0, id)).await?;
    Ok(CsvDownload::new(bytes, &format!("bedarf-{id}.csv")))
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "put_demand_csv",
    summary = "Bedarf als CSV hochladen: alles oder nichts, jede fehlerhafte Zeile wird gemeldet (Einkauf)",
    params(("id" = i64, Path)),
    request_body(content = String, content_type = "text/csv", description = "CSV (;, Dezimalkomma, UTF-8 mit BOM)"),
    responses(
        (status = 200, description = "Übernommen", body = CsvImported)
    )
)]
#[put("/demand-calls/<id>/demand.csv", data = "<data>")]
async fn put_demand_csv(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: DemandCallId,
    data: Data<'_>,
) -> AppResult<Json<CsvImported>> {
    let bytes = data
        .open(32.mebibytes())
        .into_bytes()
        .await
        .map_err(|e| AppError::BadRequest(format!("Die Datei konnte nicht gelesen werden: {e}")))?;
    if !bytes.is_complete() {
        return Err(AppError::BadRequest("Die Datei ist größer als 32 MiB.".into()));
    }
    let import = db
        .run(move |c| demand::import_csv(c, &state, &user.0, id, &bytes))
        .await?;
    Ok(Json(CsvImported {
        saved_lines: import.saved,
        removed_positions: import.removed_positions,
    }))
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "get_demand_aggregation",
    summary = "Bündelung je Position, Aufschlüsselung, Rücklauf, Schwellenwertprüfung (Genossenschaft)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Auswertung", body = demand::Aggregation)
    )
)]
#[get("/demand-calls/<id>/aggregation")]
async fn aggregation(user: ApiUser, db: Db, state: AppState, id: DemandCallId) -> AppResult<Json<demand::Aggregation>> {
    let today = state.clock.now_naive().date();
    let (_, agg) = db.run(move |c| demand::aggregate_for(c, &user.0, id, today)).await?;
    Ok(Json(agg))
}

#[utoipa::path(
    tag = "Bedarfsabfragen",
    operation_id = "get_demand_aggregation_csv",
    summary = "Auswertung als CSV (Genossenschaft)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "CSV (;, Dezimalkomma, UTF-8 mit BOM)", body = String, content_type = "text/csv")
    )
)]
#[get("/demand-calls/<id>/aggregation.csv")]
async fn aggregation_csv(user: ApiUser, db: Db, state: AppState, id: DemandCallId) -> AppResult<CsvDownload> {
    let today = state.clock.now_naive().date();
    let (_, agg) = db.run(move |c| demand::aggregate_for(c, &user.0, id, today)).await?;
    Ok(CsvDownload::new(
        demand::aggregation_csv(&agg),
        &format!("bedarf-{id}-auswertung.csv"),
    ))
}

pub fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        show,
        update,
        add_position,
        open,
        close,
        my_demand,
        put_demand,
        demand_template,
        put_demand_csv,
        aggregation,
        aggregation_csv
    ]
}
