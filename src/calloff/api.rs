//! The contract register and call-offs over the JSON API: the services of `crate::calloff` with
//! bearer tokens. Buyers order for their own member against contracts it is entitled to, the
//! contract's vendor confirms or rejects, the buyer reports delivery or cancels before
//! confirmation; the limits are those of the services, checked in their transaction.

use crate::api::body::Plain;
use crate::api::Body;
use crate::auth::{ApiUser, CurrentUser};
use crate::calloff::{self, Calloff, CalloffCommand, CalloffLine, Placed, RegisterEntry, RegisterPosition, Step};
use crate::clock::{day_end_utc, day_start_utc};
use crate::db::{Db, DbConn};
use crate::domain::ids::{CalloffId, ContractId};
use crate::domain::money::Quantity;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::AppState;
use chrono::NaiveDate;
use rocket::http::ContentType;
use rocket::response::status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use std::collections::HashSet;

// ----------------------------------------------------------------------------- contracts

// The contracts the user may see, with remaining value, utilisation and state.
#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "list_contracts",
    summary = "Vertragsregister: die sichtbaren Rahmenvereinbarungen mit Restwert, Ausschöpfung und Zustand (Genossenschaft: alle; Lieferant: die eigenen; Einkauf: die des abrufberechtigten Mitglieds)",
    responses(
        (status = 200, description = "Register", body = Vec<RegisterEntry>)
    )
)]
#[get("/contracts")]
async fn register(user: ApiUser, db: Db, state: AppState) -> AppResult<Json<Vec<RegisterEntry>>> {
    Ok(Json(db.run(move |c| calloff::register(c, &state, &user.0)).await?))
}

// The positions of a contract with prices, maximum, called and remaining quantities.
#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "list_contract_positions",
    summary = "Die Positionen einer Rahmenvereinbarung mit Vertragspreis, Höchstmenge, abgerufener und verbleibender Menge",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Positionen", body = Vec<RegisterPosition>)
    )
)]
#[get("/contracts/<id>/positions")]
async fn positions(user: ApiUser, db: Db, state: AppState, id: ContractId) -> AppResult<Json<Vec<RegisterPosition>>> {
    let (_, positions) = db.run(move |c| calloff::detail(c, &state, &user.0, id)).await?;
    Ok(Json(positions))
}

#[derive(Deserialize, ToSchema)]
struct LineIn {
    #[serde(default)]
    position_no: Option<i32>,
    #[serde(default)]
    quantity: Plain<Quantity>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CalloffInput)]
struct CalloffBody {
    #[serde(default)]
    lines: Vec<LineIn>,
    #[serde(default)]
    #[schema(min_length = 5, max_length = 500)]
    delivery_address: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 50)]
    cost_centre: String,
    #[serde(default)]
    leitweg_id: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// Names the service's per-position quantity fields (`q_<position id>`) as the body does: `lines`.
fn body_fields(e: AppError) -> AppError {
    match e {
        AppError::Validation { message, fields } => {
            let mut renamed = FieldErrors::new();
            for (k, v) in fields {
                let name = if k.starts_with("q_") { "lines".to_string() } else { k };
                renamed.entry(name).or_default().extend(v);
            }
            AppError::Validation {
                message,
                fields: renamed,
            }
        }
        other => other,
    }
}

const REFUSED: &str = "Der Abruf wurde nicht angenommen; nichts wurde bestellt.";

/// The service input of a call-off body: position numbers become the contract's position ids.
fn calloff_input(conn: &mut DbConn, contract_id: ContractId, body: CalloffBody) -> AppResult<CalloffCommand> {
    let positions = calloff::positions(conn, contract_id)?;
    let mut errors = FieldErrors::new();
    let mut quantities = Vec::with_capacity(body.lines.len());
    let mut seen = HashSet::with_capacity(body.lines.len());
    for (i, line) in body.lines.into_iter().enumerate() {
        let mut fail = |m: String| errors.entry("lines".into()).or_default().push(m);
        let Some(no) = line.position_no else {
            fail(format!(
                "Zeile {}: Bitte geben Sie die Positionsnummer an (position_no).",
                i + 1
            ));
            continue;
        };
        let Some(p) = positions.iter().find(|p| p.position_no == no) else {
            fail(format!("Pos. {no} gibt es in dieser Rahmenvereinbarung nicht."));
            continue;
        };
        if !seen.insert(no) {
            fail(format!("Pos. {no} steht mehrfach in der Liste."));
            continue;
        }
        match line.quantity {
            Plain::Given(q) => quantities.push((p.position_id, q)),
            Plain::Absent => fail(format!("Pos. {no}: Bitte geben Sie die Menge an.")),
            Plain::Bad(e) => fail(format!("Pos. {no}: Die Menge {e}.")),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation {
            message: REFUSED.into(),
            fields: errors,
        });
    }
    Ok(CalloffCommand {
        quantities,
        delivery_address: body.delivery_address,
        cost_centre: body.cost_centre,
        leitweg_id: body.leitweg_id.unwrap_or_default(),
        note: body.note.unwrap_or_default(),
    })
}

// Places a call-off for the buyer's member at contract prices; the vendor gets it by mail.
#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "place_calloff",
    summary = "Verbindlich abrufen (Einkauf eines abrufberechtigten Mitglieds): Positionen nach Nummer mit Mengen zu Vertragspreisen; abgelehnt mit Grund, wenn der Vertrag nicht gilt (409) oder eine Höchstmenge, der Höchstwert oder das Kontingent überschritten würde (422, nichts wird bestellt); der Lieferant erhält die Bestellung per E-Mail",
    params(("id" = i64, Path)),
    request_body = CalloffBody,
    responses(
        (status = 201, description = "Bestellt", body = Placed)
    )
)]
#[post("/contracts/<id>/calloffs", data = "<body>")]
async fn place(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: ContractId,
    body: Body<CalloffBody>,
) -> AppResult<status::Created<Json<Placed>>> {
    user.0.require(&[Role::Buyer])?;
    let body = body.0;
    let u = user.0;
    let placed = db
        .run(move |c| {
            // A contract the member is not entitled to stays unknown, positions and all.
            crate::award::contract(c, &u, id)?;
            let input = calloff_input(c, id, body)?;
            calloff::place(c, &state, &u, id, &input).map_err(body_fields)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/calloffs/{}", placed.id)).body(Json(placed)))
}

// ----------------------------------------------------------------------------- call-offs

/// A call-off with its state in German.
#[derive(Serialize, ToSchema)]
#[schema(as = CalloffView)]
struct ApiCalloff {
    #[serde(flatten)]
    calloff: Calloff,
    status_label: &'static str,
}

impl From<Calloff> for ApiCalloff {
    fn from(calloff: Calloff) -> Self {
        ApiCalloff {
            status_label: calloff.status_label(),
            calloff,
        }
    }
}

/// A call-off with its lines.
#[derive(Serialize, ToSchema)]
struct CalloffDetail {
    #[serde(flatten)]
    calloff: ApiCalloff,
    lines: Vec<CalloffLine>,
}

fn detail_of(conn: &mut DbConn, calloff: Calloff) -> AppResult<CalloffDetail> {
    let lines = calloff::lines(conn, calloff.id)?;
    Ok(CalloffDetail {
        calloff: calloff.into(),
        lines,
    })
}

fn date_param(name: &str, value: Option<&str>, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let text = value.map(str::trim).filter(|s| !s.is_empty())?;
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.entry(name.into()).or_default().push(format!(
                "„{text}“ ist kein gültiges Datum; bitte im Format JJJJ-MM-TT angeben, z. B. 2026-03-31."
            ));
            None
        }
    }
}

// The user's visible call-offs, newest first: optionally of one contract, and ordered from and
// to a day (both inclusive, German time).
#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "list_calloffs",
    summary = "Die sichtbaren Abrufe, neueste zuerst, höchstens 500 (Genossenschaft: alle; Einkauf: die des eigenen Mitglieds; Lieferant: die an ihn gerichteten)",
    params(
        ("contract_id" = Option<i64>, Query, description = "Nur Abrufe dieser Rahmenvereinbarung"),
        ("from" = Option<chrono::NaiveDate>, Query, description = "Bestellt ab diesem Tag (JJJJ-MM-TT, deutsche Zeit, einschließlich)"),
        ("to" = Option<chrono::NaiveDate>, Query, description = "Bestellt bis zu diesem Tag (JJJJ-MM-TT, deutsche Zeit, einschließlich)")
    ),
    responses(
        (status = 200, description = "Abrufe", body = Vec<ApiCalloff>)
    )
)]
#[get("/calloffs?<contract_id>&<from>&<to>")]
async fn list(
    user: ApiUser,
    db: Db,
    _single: crate::api::query::SingleValues,
    contract_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> AppResult<Json<Vec<ApiCalloff>>> {
    for (name, value) in [("contract_id", &contract_id), ("from", &from), ("to", &to)] {
        crate::api::query::given(name, value.as_deref())?;
    }
    let mut errors = FieldErrors::new();
    let contract_id = match contract_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => match text.parse::<ContractId>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.entry("contract_id".into()).or_default().push(format!(
                    "„{text}“ ist keine Vertrags-ID; bitte geben Sie eine ganze Zahl an."
                ));
                None
            }
        },
    };
    let from = date_param("from", from.as_deref(), &mut errors);
    let to = date_param("to", to.as_deref(), &mut errors);
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errors
                .entry("to".into())
                .or_default()
                .push("Das Enddatum (to) liegt vor dem Anfangsdatum (from).".into());
        }
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    let from = from.map(day_start_utc);
    let until = to.map(day_end_utc);
    let rows = db
        .run(move |c| calloff::list_created(c, &user.0, contract_id, from, until))
        .await?;
    Ok(Json(rows.into_iter().map(ApiCalloff::from).collect()))
}

#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "get_calloff",
    summary = "Ein Abruf mit seinen Zeilen (das bestellende Mitglied, der Lieferant des Vertrags, die Genossenschaft)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Abruf", body = CalloffDetail)
    )
)]
#[get("/calloffs/<id>")]
async fn show(user: ApiUser, db: Db, id: CalloffId) -> AppResult<Json<CalloffDetail>> {
    Ok(Json(
        db.run(move |c| {
            let (calloff, _) = calloff::find(c, &user.0, id)?;
            detail_of(c, calloff)
        })
        .await?,
    ))
}

// The order document (HTML) stored when the call-off was placed; its SHA-256 is in the call-off.
#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "get_calloff_document",
    summary = "Das beim Abruf gespeicherte Bestelldokument (HTML); sein SHA-256 steht im Abruf",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "HTML", body = String, content_type = "text/html")
    )
)]
#[get("/calloffs/<id>/document")]
async fn document(user: ApiUser, db: Db, id: CalloffId) -> AppResult<(ContentType, String)> {
    let (c, _) = db.run(move |c| calloff::find(c, &user.0, id)).await?;
    Ok((ContentType::HTML, c.document))
}

async fn advance(
    db: Db,
    state: AppState,
    user: CurrentUser,
    id: CalloffId,
    step: Step,
    reason: String,
) -> AppResult<Json<CalloffDetail>> {
    Ok(Json(
        db.run(move |c| {
            let calloff = calloff::advance(c, &state, &user, id, step, &reason)?;
            detail_of(c, calloff)
        })
        .await?,
    ))
}

// The vendor of the contract confirms a placed call-off.
#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "confirm_calloff",
    summary = "Bestellten Abruf bestätigen (Lieferant des Vertrags); sonst 409",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Der geänderte Abruf", body = CalloffDetail)
    )
)]
#[post("/calloffs/<id>/confirm")]
async fn confirm(user: ApiUser, db: Db, state: AppState, id: CalloffId) -> AppResult<Json<CalloffDetail>> {
    advance(db, state, user.0, id, Step::Confirm, String::new()).await
}

#[derive(Deserialize, ToSchema)]
#[schema(as = RejectInput)]
struct RejectBody {
    #[serde(default)]
    #[schema(min_length = 3)]
    reason: String,
}

// The vendor of the contract rejects a placed call-off with a reason; its volume is free again.
#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "reject_calloff",
    summary = "Bestellten Abruf mit Begründung ablehnen (Lieferant des Vertrags); die Menge wird wieder frei",
    params(("id" = i64, Path)),
    request_body = RejectBody,
    responses(
        (status = 200, description = "Der geänderte Abruf", body = CalloffDetail)
    )
)]
#[post("/calloffs/<id>/reject", data = "<body>")]
async fn reject(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: CalloffId,
    body: Body<RejectBody>,
) -> AppResult<Json<CalloffDetail>> {
    advance(db, state, user.0, id, Step::Reject, body.0.reason).await
}

// The ordering member's buyer reports a confirmed call-off as delivered.
#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "deliver_calloff",
    summary = "Bestätigten Abruf als geliefert melden (Einkauf des bestellenden Mitglieds)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Der geänderte Abruf", body = CalloffDetail)
    )
)]
#[post("/calloffs/<id>/deliver")]
async fn deliver(user: ApiUser, db: Db, state: AppState, id: CalloffId) -> AppResult<Json<CalloffDetail>> {
    advance(db, state, user.0, id, Step::Deliver, String::new()).await
}

// The ordering member's buyer cancels a call-off before confirmation; its volume is free again.
#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "cancel_calloff",
    summary = "Abruf vor der Bestätigung stornieren (Einkauf des bestellenden Mitglieds); die Menge wird wieder frei; danach 409",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Der geänderte Abruf", body = CalloffDetail)
    )
)]
#[post("/calloffs/<id>/cancel")]
async fn cancel(user: ApiUser, db: Db, state: AppState, id: CalloffId) -> AppResult<Json<CalloffDetail>> {
    advance(db, state, user.0, id, Step::Cancel, String::new()).await
}

pub fn routes() -> Vec<Route> {
    routes![register, positions, place, list, show, document, confirm, reject, deliver, cancel]
}
