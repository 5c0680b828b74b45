//! Tenders and sealed bids over the JSON API: the services of `crate::tender` with bearer tokens.
//! Bid content leaves this module only through `bids::own` (the bidder's own organisation) and
//! `bids::opened` (the cooperative after the two-officer opening); nothing else reads it.

use crate::api::body::{self, Plain};
use crate::api::Body;
use crate::auth::{ApiUser, CurrentUser};
use crate::db::{Db, DbConn};
use crate::domain::evaluation::{BCriterion, Decision, EvaluationCommand, Method, PriceFormula};
use crate::domain::ids::{
    BidId, DemandCallId, DemandPositionId, DocumentId, LotId, OrgId, QuestionId, TenderId, TenderPositionId,
};
use crate::domain::money::{Amount, Price};
use crate::domain::tender::Procedure;

use crate::domain::bid::BidStatus;
use crate::domain::roles::Role;
use crate::domain::tender::TenderStatus;
use crate::error::{joined, AppError, AppResult, FieldErrors};
use crate::import::CsvDownload;
use crate::tender::bids::{self, BidContent, BidInput, BidRow, Receipt};
use crate::tender::{self, DocumentMeta, Lot, PublicQuestion, Tender, TenderCommand, TenderPosition};
use crate::AppState;
use chrono::NaiveDateTime;
use rocket::data::{Data, ToByteUnit};
use rocket::http::{ContentType, Header};
use rocket::response::status;
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use utoipa::ToSchema;

/// A tender as every reader of it sees it: data, lots, positions, documents, questions and the
/// entitled members; the cooperative also sees the number of bids.
fn detail(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: TenderId) -> AppResult<Value> {
    let t = tender::find_readable(conn, user, id)?;
    let mut view = [t.view(state.clock.now_naive())];
    tender::label_award_stage(conn, &mut view)?;
    let [mut v] = view;
    v["lots"] = json!(tender::lots(conn, id)?);
    v["positions"] = json!(tender::positions(conn, id)?);
    v["documents"] = json!(tender::documents(conn, id)?);
    v["questions"] = json!(tender::questions(conn, Some(user), id)?);
    v["entitled_members"] = json!(tender::entitled_members(conn, &t)?
        .into_iter()
        .map(|(id, name)| json!({ "id": id, "name": name }))
        .collect::<Vec<_>>());
    if user.is_cooperative() {
        v["bid_count"] = json!(bids::count_current(conn, id)?);
    }
    Ok(v)
}

/// `Tender::view` as the API answers it. The service builds it as JSON, so this type describes
/// it for the document; `assert_documented` in the tests holds the two together.
#[derive(ToSchema)]
#[allow(dead_code)]
struct TenderView {
    #[serde(flatten)]
    tender: Tender,
    state_label: String,
    procedure_label: String,
    accepts_bids: bool,
    deadline_passed: bool,
}

/// What `detail` answers, described for the document like `TenderView`.
#[derive(ToSchema)]
#[allow(dead_code)]
struct TenderDetail {
    #[serde(flatten)]
    view: TenderView,
    lots: Vec<Lot>,
    positions: Vec<TenderPosition>,
    documents: Vec<DocumentMeta>,
    questions: Vec<PublicQuestion>,
    entitled_members: Vec<EntitledMember>,
    /// Nur für die Genossenschaft: Zahl der gültigen Angebote, nie ihr Inhalt
    bid_count: Option<i64>,
    /// Nur beim Anlegen und Ändern: Hinweise, die nicht blockieren
    warnings: Option<Vec<String>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct EntitledMember {
    #[schema(value_type = i64)]
    id: OrgId,
    name: String,
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "list_tenders",
    summary = "Ausschreibungen (Genossenschaft: alle; sonst die veröffentlichten)",
    responses(
        (status = 200, description = "Liste", body = Vec<TenderView>)
    )
)]
#[get("/tenders")]
async fn list(user: ApiUser, db: Db, state: AppState) -> AppResult<Json<Vec<Value>>> {
    let now = state.clock.now_naive();
    let rows = db
        .run(move |c| {
            let mut rows: Vec<Value> = tender::list(c, &user.0)?.iter().map(|t| t.view(now)).collect();
            tender::label_award_stage(c, &mut rows)?;
            Ok(rows)
        })
        .await?;
    Ok(Json(rows))
}

/// A B-criterion as the API takes it.
#[derive(Deserialize, Serialize, Default, ToSchema)]
#[schema(as = BCriterionInput)]
#[serde(default)]
struct ApiBCriterion {
    name: String,
    weight: Plain<Decimal>,
}

/// The published evaluation as the API takes it: the shape it is shown in, decimals as plain
/// strings, codes for method, price formula and decision.
#[derive(Deserialize, Serialize, Default, ToSchema)]
#[schema(as = EvaluationInput)]
#[serde(default)]
struct ApiEvaluation {
    #[schema(schema_with = evaluation_method)]
    method: Option<String>,
    a_criteria: Vec<String>,
    b_criteria: Vec<ApiBCriterion>,
    price_weight: Plain<Decimal>,
    quality_weight: Plain<Decimal>,
    #[schema(schema_with = price_formula)]
    price_formula: Option<String>,
    max_points: Plain<Decimal>,
    score_places: Option<u32>,
    abnormally_low_next_percent: Plain<Decimal>,
    abnormally_low_estimate_percent: Plain<Decimal>,
    band_percent: Plain<Decimal>,
    #[schema(schema_with = decision)]
    decision: Option<String>,
}

// The codes these fields take; read as text so that a wrong one is a German field message.
fn evaluation_method() -> utoipa::openapi::Object {
    let mut codes = vec![""];
    codes.extend(Method::ALL.iter().map(|m| m.code()));
    crate::api::doc::nullable_string_enum(&codes, "Wertungsmethode; leer: Standard")
}

fn price_formula() -> utoipa::openapi::Object {
    crate::api::doc::nullable_string_enum(&["", "quotient", "linear"], "Preisformel; leer: Standard")
}

fn decision() -> utoipa::openapi::Object {
    crate::api::doc::nullable_string_enum(
        &["", "lowest_price", "highest_performance"],
        "Entscheidungsregel der einfachen Richtwertmethode",
    )
}

fn procedure() -> utoipa::openapi::Object {
    crate::api::doc::string_enum(
        &["", "eu_open", "national"],
        "Leer: was der geschätzte Auftragswert verlangt",
    )
}

impl ApiEvaluation {
    fn command(self, errors: &mut FieldErrors) -> EvaluationCommand {
        let field = |name: &str| format!("evaluation.{name}");
        let code = |errors: &mut FieldErrors, name: &str, text: &Option<String>, allowed: &[&str]| -> Option<String> {
            match text.as_deref().unwrap_or_default().trim() {
                "" => None,
                t if allowed.contains(&t) => Some(t.to_string()),
                t => {
                    body::push(
                        errors,
                        &field(name),
                        format!("„{t}“ ist nicht erlaubt; erlaubt: {}.", allowed.join(", ")),
                    );
                    None
                }
            }
        };
        let methods: Vec<&str> = Method::ALL.iter().map(|m| m.code()).collect();
        let method = code(errors, "method", &self.method, &methods).and_then(|m| Method::from_code(&m));
        let price_formula = code(errors, "price_formula", &self.price_formula, &["quotient", "linear"])
            .and_then(|f| PriceFormula::from_code(&f));
        let decision = code(
            errors,
            "decision",
            &self.decision,
            &["lowest_price", "highest_performance"],
        )
        .and_then(|d| Decision::from_code(&d));
        let mut b_criteria = Vec::new();
        for (i, b) in self.b_criteria.into_iter().enumerate() {
            if let Some(weight) = b.weight.take(&field(&format!("b_criteria[{i}].weight")), errors) {
                b_criteria.push(BCriterion { name: b.name, weight });
            }
        }
        EvaluationCommand {
            method,
            a_criteria: self.a_criteria,
            b_criteria,
            price_weight: self.price_weight.optional(&field("price_weight"), errors),
            quality_weight: self.quality_weight.optional(&field("quality_weight"), errors),
            price_formula,
            max_points: self.max_points.optional(&field("max_points"), errors),
            score_places: self.score_places,
            abnormally_low_next_percent: self
                .abnormally_low_next_percent
                .optional(&field("abnormally_low_next_percent"), errors),
            abnormally_low_estimate_percent: self
                .abnormally_low_estimate_percent
                .optional(&field("abnormally_low_estimate_percent"), errors),
            band_percent: self.band_percent.optional(&field("band_percent"), errors),
            decision,
        }
    }
}

/// A tender as the API takes it: the deadline as an instant (RFC 3339) instead of local date and
/// time, the term in whole months, decimals as plain strings.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = TenderInput)]
#[serde(default)]
struct ApiTenderInput {
    #[schema(value_type = Option<i64>)]
    demand_call_id: Option<DemandCallId>,
    #[schema(min_length = 3, max_length = 200)]
    title: String,
    description: String,
    #[schema(schema_with = procedure)]
    procedure: String,
    buffer_percent: Plain<Decimal>,
    #[schema(schema_with = crate::api::doc::instant)]
    bid_deadline: String,
    urgency_reason: String,
    term_months: Option<i32>,
    term_justification: String,
    evaluation: ApiEvaluation,
    /// Losbezeichnungen, Los 1 zuerst
    lots: Vec<String>,
    /// Position der Bedarfsabfrage (id) → Losnummer; bei einem Los entbehrlich
    #[schema(value_type = BTreeMap<i64, i32>)]
    assignment: BTreeMap<DemandPositionId, i32>,
}

impl ApiTenderInput {
    /// The command and what could not be read. Without an assignment and with a single lot,
    /// every position of the call goes into that lot (the services leave out those without
    /// demand).
    fn command(self, conn: &mut DbConn, demand_call_id: DemandCallId) -> AppResult<(TenderCommand, FieldErrors)> {
        let mut errors = FieldErrors::new();
        let bid_deadline = match self.bid_deadline.trim() {
            "" => None,
            text => body::instant(&mut errors, "bid_deadline", "Die Angebotsfrist", text),
        };
        let procedure = match self.procedure.trim() {
            "" => None,
            t => {
                let p = Procedure::from_code(t);
                if p.is_none() {
                    body::push(
                        &mut errors,
                        "procedure",
                        format!("„{t}“ ist nicht erlaubt; erlaubt: eu_open, national."),
                    );
                }
                p
            }
        };
        let assignment = if self.assignment.is_empty() && self.lots.len() == 1 {
            match crate::demand::find_call(conn, demand_call_id) {
                Ok(_) => crate::demand::positions(conn, demand_call_id)?
                    .into_iter()
                    .map(|p| (p.id, 1))
                    .collect(),
                Err(_) => BTreeMap::new(),
            }
        } else {
            self.assignment
        };
        let command = TenderCommand {
            demand_call_id,
            title: self.title,
            description: self.description,
            procedure,
            buffer_percent: self.buffer_percent.optional("buffer_percent", &mut errors),
            bid_deadline,
            urgency_reason: self.urgency_reason,
            term_months: self.term_months,
            term_justification: self.term_justification,
            evaluation: self.evaluation.command(&mut errors),
            lots: self.lots,
            assignment,
        };
        Ok((command, errors))
    }

    /// The validated tender: every problem of reading and of the rules at once.
    fn validate(
        self,
        conn: &mut DbConn,
        demand_call_id: DemandCallId,
        now: NaiveDateTime,
        calendar: &crate::domain::period::Calendar,
    ) -> AppResult<tender::TenderData> {
        let (command, edge) = self.command(conn, demand_call_id)?;
        joined(edge, command.validate(conn, now, calendar))
    }
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "create_tender",
    summary = "Ausschreibung als Entwurf aus einer abgeschlossenen Bedarfsabfrage anlegen (Vergabestelle)",
    request_body = ApiTenderInput,
    responses(
        (status = 201, description = "Angelegt", body = TenderDetail)
    )
)]
#[post("/tenders", data = "<body>")]
async fn create(
    user: ApiUser,
    db: Db,
    state: AppState,
    body: Body<ApiTenderInput>,
) -> AppResult<status::Created<Json<Value>>> {
    user.0.require(&[Role::Officer])?;
    let input = body.0;
    let u = user.0;
    let (id, v) = db
        .run(move |c| {
            let call_id = input.demand_call_id.unwrap_or_default();
            let data = input.validate(c, call_id, state.clock.now_naive(), &state.config.calendar())?;
            let id = tender::create(c, &state, &u, &data)?;
            let mut v = detail(c, &state, &u, id)?;
            v["warnings"] = json!(data.warnings);
            Ok((id, v))
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/tenders/{id}")).body(Json(v)))
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "get_tender",
    summary = "Eine Ausschreibung mit Losen, Positionen, Unterlagen, Fragen und abrufberechtigten Mitgliedern; die Genossenschaft sieht die Zahl der Angebote, nie ihren Inhalt",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Ausschreibung", body = TenderDetail)
    )
)]
#[get("/tenders/<id>")]
async fn show(user: ApiUser, db: Db, state: AppState, id: TenderId) -> AppResult<Json<Value>> {
    Ok(Json(db.run(move |c| detail(c, &state, &user.0, id)).await?))
}

// Replaces a draft: data, lots and positions (officer).
#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "update_tender",
    summary = "Entwurf ersetzen: Angaben, Lose, Positionen (Vergabestelle)",
    params(("id" = i64, Path)),
    request_body = ApiTenderInput,
    responses(
        (status = 200, description = "Geändert", body = TenderDetail)
    )
)]
#[put("/tenders/<id>", data = "<body>")]
async fn update(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    body: Body<ApiTenderInput>,
) -> AppResult<Json<Value>> {
    user.0.require(&[Role::Officer])?;
    let input = body.0;
    let u = user.0;
    Ok(Json(
        db.run(move |c| {
            let call_id = match input.demand_call_id {
                Some(call) => call,
                None => tender::find(c, id)?.demand_call_id,
            };
            let data = input.validate(c, call_id, state.clock.now_naive(), &state.config.calendar())?;
            tender::update(c, &state, &u, id, &data)?;
            let mut v = detail(c, &state, &u, id)?;
            v["warnings"] = json!(data.warnings);
            Ok(v)
        })
        .await?,
    ))
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "publish_tender",
    summary = "Veröffentlichen: Frist erneut geprüft, abrufberechtigte Mitglieder festgeschrieben, Lieferanten benachrichtigt (Vergabestelle)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Veröffentlicht", body = Published)
    )
)]
#[post("/tenders/<id>/publish")]
async fn publish(user: ApiUser, db: Db, state: AppState, id: TenderId) -> AppResult<Json<Published>> {
    let mailed = db.run(move |c| tender::publish(c, &state, &user.0, id)).await?;
    Ok(Json(Published {
        status: TenderStatus::Published,
        vendors_mailed: mailed,
    }))
}

#[derive(Serialize, ToSchema)]
struct Published {
    status: TenderStatus,
    vendors_mailed: usize,
}

/// An extension of the running bid deadline (§ 20 (3) VgV).
#[derive(Deserialize, ToSchema)]
#[schema(as = ExtensionInput)]
struct ExtensionBody {
    /// Die neue Angebotsfrist
    #[serde(default)]
    #[schema(schema_with = crate::api::doc::instant)]
    bid_deadline: String,
    #[serde(default)]
    reason: Option<crate::domain::tender::ExtensionReason>,
    /// Begründung; geht an alle Lieferanten und in den Vergabevermerk
    #[serde(default)]
    #[schema(min_length = 10, max_length = 2000)]
    note: String,
}

#[derive(Serialize, ToSchema)]
struct Extended {
    bid_deadline: NaiveDateTime,
    vendors_mailed: usize,
    extensions: Vec<tender::Extension>,
}

// Extends the running bid deadline (officer): § 20 (3) VgV when an answer came late or the
// documents changed significantly, or for another stated reason; every vendor is mailed.
#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "extend_bid_deadline",
    summary = "Angebotsfrist verlängern (extension, § 20 Abs. 3 VgV): nach einer Antwort später als 6 (bei Dringlichkeit 4) Tage vor Fristablauf, nach wesentlicher Änderung der Unterlagen oder aus anderem Grund; alle Lieferanten werden benachrichtigt (Vergabestelle)",
    params(("id" = i64, Path)),
    request_body = ExtensionBody,
    responses(
        (status = 200, description = "Verlängert", body = Extended)
    )
)]
#[post("/tenders/<id>/extension", data = "<body>")]
async fn extend(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    body: Body<ExtensionBody>,
) -> AppResult<Json<Extended>> {
    user.0.require(&[crate::domain::roles::Role::Officer])?;
    let b = body.0;
    let mut errors = FieldErrors::new();
    let new_deadline = body::instant(&mut errors, "bid_deadline", "Die neue Angebotsfrist", &b.bid_deadline);
    if b.reason.is_none() {
        body::push(
            &mut errors,
            "reason",
            "Bitte den Grund angeben: late_answer, documents_changed oder other.",
        );
    }
    let (Some(new_deadline), Some(reason), true) = (new_deadline, b.reason, errors.is_empty()) else {
        return Err(AppError::fields(errors));
    };
    let u = user.0;
    let out = db
        .run(move |c| {
            let cmd = tender::ExtensionCommand {
                new_deadline,
                reason,
                note: b.note,
            };
            let mailed = tender::extend_deadline(c, &state, &u, id, cmd)?;
            Ok(Extended {
                bid_deadline: new_deadline,
                vendors_mailed: mailed,
                extensions: tender::extensions(c, id)?,
            })
        })
        .await?;
    Ok(Json(out))
}

// ----------------------------------------------------------------------------- documents

// Uploads a document to a draft; the body is the file as it is, its name in `?name=`.
#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "add_tender_document",
    summary = "Unterlage zum Entwurf hochladen: Inhalt roh im Body, Dateiname in `name`; PDF, DOCX, XLSX, ODT, ODS, ZIP, TXT, CSV; höchstens 20 MB (Vergabestelle)",
    params(("name" = String, Query, description = "Dateiname mit Endung"), ("id" = i64, Path)),
    request_body(content = crate::api::doc::Binary, content_type = "application/octet-stream", description = "Die Datei, wie sie ist"),
    responses(
        (status = 201, description = "Hochgeladen", body = DocumentMeta)
    )
)]
#[post("/tenders/<id>/documents?<name>", data = "<data>")]
async fn add_document(
    user: ApiUser,
    db: Db,
    state: AppState,
    _single: crate::api::query::SingleValues,
    id: TenderId,
    name: Option<String>,
    data: Data<'_>,
) -> AppResult<status::Created<Json<DocumentMeta>>> {
    user.0.require(&[Role::Officer])?;
    // One byte over the limit is enough for the service to refuse the file with its message.
    let bytes = data
        .open((tender::MAX_DOCUMENT_BYTES + 1).bytes())
        .into_bytes()
        .await
        .map_err(|e| AppError::BadRequest(format!("Die Datei konnte nicht gelesen werden: {e}")))?
        .into_inner();
    let name = name.unwrap_or_default();
    let u = user.0;
    let meta = db
        .run(move |c| {
            let doc = tender::add_document(c, &state, &u, id, &name, &bytes)?;
            tender::documents(c, id)?
                .into_iter()
                .find(|d| d.id == doc)
                .ok_or(AppError::NotFound)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/tenders/{id}/documents/{}", meta.id)).body(Json(meta)))
}

/// A stored file as a download, in its stored type.
#[derive(rocket::Responder)]
struct Download {
    body: Vec<u8>,
    content_type: ContentType,
    disposition: Header<'static>,
}

/// `Content-Disposition` for any file name: an ASCII fallback plus the exact name (RFC 6266).
fn attachment(file_name: &str) -> Header<'static> {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    Header::new(
        "Content-Disposition",
        format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
    )
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "get_tender_document",
    summary = "Unterlage herunterladen",
    params(("doc" = i64, Path), ("id" = i64, Path)),
    responses(
        (status = 200, description = "Die Datei im gespeicherten Format", body = crate::api::doc::Binary, content_type = "*/*")
    )
)]
#[get("/tenders/<id>/documents/<doc>")]
async fn download_document(user: ApiUser, db: Db, id: TenderId, doc: DocumentId) -> AppResult<Download> {
    let (name, content_type, body) = db
        .run(move |c| {
            tender::find_readable(c, &user.0, id)?;
            tender::document(c, id, doc)
        })
        .await?;
    Ok(Download {
        body,
        content_type: ContentType::parse_flexible(&content_type).unwrap_or(ContentType::Binary),
        disposition: attachment(&name),
    })
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "remove_tender_document",
    summary = "Unterlage aus dem Entwurf entfernen (Vergabestelle)",
    params(("doc" = i64, Path), ("id" = i64, Path)),
    responses(
        (status = 200, description = "Entfernt", body = Removed)
    )
)]
#[delete("/tenders/<id>/documents/<doc>")]
async fn remove_document(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    doc: DocumentId,
) -> AppResult<Json<Removed>> {
    db.run(move |c| tender::remove_document(c, &state, &user.0, id, doc))
        .await?;
    Ok(Json(Removed { removed: doc }))
}

#[derive(Serialize, ToSchema)]
struct Removed {
    #[schema(value_type = i64)]
    removed: DocumentId,
}

// ----------------------------------------------------------------------------- questions

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "list_questions",
    summary = "Bieterfragen: beantwortete für alle, eigene offene für den Lieferanten, alle für die Genossenschaft; nie wer fragte",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Fragen", body = Vec<PublicQuestion>)
    )
)]
#[get("/tenders/<id>/questions")]
async fn questions(user: ApiUser, db: Db, id: TenderId) -> AppResult<Json<Vec<PublicQuestion>>> {
    Ok(Json(
        db.run(move |c| {
            tender::find_readable(c, &user.0, id)?;
            tender::questions(c, Some(&user.0), id)
        })
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
struct QuestionBody {
    #[serde(default)]
    #[schema(min_length = 5, max_length = 4000)]
    question: String,
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "ask_question",
    summary = "Frage stellen (Lieferant, bis zur Angebotsfrist)",
    params(("id" = i64, Path)),
    request_body = QuestionBody,
    responses(
        (status = 201, description = "Gestellt", body = PublicQuestion)
    )
)]
#[post("/tenders/<id>/questions", data = "<body>")]
async fn ask(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    body: Body<QuestionBody>,
) -> AppResult<status::Created<Json<PublicQuestion>>> {
    let text = body.0.question;
    let u = user.0;
    let question = db
        .run(move |c| {
            let qid = tender::ask(c, &state, &u, id, &text)?;
            tender::questions(c, Some(&u), id)?
                .into_iter()
                .find(|q| q.id == qid)
                .ok_or(AppError::NotFound)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/tenders/{id}/questions")).body(Json(question)))
}

#[derive(Deserialize, ToSchema)]
struct AnswerBody {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 8000)]
    answer: String,
}

#[derive(Serialize, ToSchema)]
struct Answered {
    #[serde(flatten)]
    question: PublicQuestion,
    vendors_mailed: usize,
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "answer_question",
    summary = "Frage beantworten; die Antwort geht ohne Fragesteller an alle Lieferanten (Vergabestelle)",
    params(("id" = i64, Path), ("question" = i64, Path)),
    request_body = AnswerBody,
    responses(
        (status = 200, description = "Beantwortet", body = Answered)
    )
)]
#[post("/tenders/<id>/questions/<question>/answer", data = "<body>")]
async fn answer(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    question: QuestionId,
    body: Body<AnswerBody>,
) -> AppResult<Json<Answered>> {
    let text = body.0.answer;
    let u = user.0;
    Ok(Json(
        db.run(move |c| {
            let mailed = tender::answer(c, &state, &u, id, question, &text)?;
            let q = tender::questions(c, Some(&u), id)?
                .into_iter()
                .find(|q| q.id == question)
                .ok_or(AppError::NotFound)?;
            Ok(Answered {
                question: q,
                vendors_mailed: mailed,
            })
        })
        .await?,
    ))
}

// ----------------------------------------------------------------------------- bids

#[derive(Serialize, ToSchema)]
struct LotTotal {
    lot_no: i32,
    total: Amount,
}

fn lot_totals(totals: &[(i32, Amount)]) -> Vec<LotTotal> {
    totals
        .iter()
        .map(|(lot_no, total)| LotTotal {
            lot_no: *lot_no,
            total: *total,
        })
        .collect()
}

#[derive(Serialize, ToSchema)]
#[schema(as = Receipt)]
struct ApiReceipt {
    #[schema(value_type = i64)]
    bid_id: BidId,
    version: i32,
    submitted_at: NaiveDateTime,
    receipt_sha256: String,
    lot_totals: Vec<LotTotal>,
}

impl From<Receipt> for ApiReceipt {
    fn from(r: Receipt) -> Self {
        ApiReceipt {
            bid_id: r.bid_id,
            version: r.version,
            submitted_at: r.submitted_at,
            receipt_sha256: r.receipt_sha256,
            lot_totals: lot_totals(&r.lot_totals),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
struct PositionPrice {
    position_no: i32,
    unit_price: Price,
}

/// A bid with its content, priced by position number.
#[derive(Serialize, ToSchema)]
#[schema(as = Bid)]
struct ApiBid {
    #[schema(value_type = i64)]
    bid_id: BidId,
    #[schema(value_type = i64)]
    vendor_id: OrgId,
    vendor: String,
    version: i32,
    status: BidStatus,
    submitted_at: NaiveDateTime,
    receipt_sha256: String,
    lot_totals: Vec<LotTotal>,
    prices: Vec<PositionPrice>,
    a_confirmed: Vec<bool>,
    b_texts: Vec<String>,
}

impl ApiBid {
    fn new(b: BidContent, position_no: &HashMap<TenderPositionId, i32>) -> ApiBid {
        let mut prices: Vec<PositionPrice> = b
            .prices
            .iter()
            .map(|(pid, price)| PositionPrice {
                position_no: position_no.get(pid).copied().unwrap_or(0),
                unit_price: *price,
            })
            .collect();
        prices.sort_unstable_by_key(|p| p.position_no);
        ApiBid {
            bid_id: b.bid.id,
            vendor_id: b.bid.vendor_id,
            vendor: b.vendor,
            version: b.bid.version,
            status: b.bid.status,
            submitted_at: b.bid.submitted_at,
            receipt_sha256: b.bid.receipt_sha256,
            lot_totals: lot_totals(&b.lot_totals),
            prices,
            a_confirmed: b.criteria.a_confirmed,
            b_texts: b.criteria.b_texts,
        }
    }
}

/// One version of the vendor's own bid, without content.
#[derive(Serialize, ToSchema)]
struct BidVersion {
    #[schema(value_type = i64)]
    bid_id: BidId,
    version: i32,
    status: BidStatus,
    submitted_at: NaiveDateTime,
    withdrawn_at: Option<NaiveDateTime>,
    receipt_sha256: String,
}

impl From<BidRow> for BidVersion {
    fn from(b: BidRow) -> Self {
        BidVersion {
            bid_id: b.id,
            version: b.version,
            status: b.status,
            submitted_at: b.submitted_at,
            withdrawn_at: b.withdrawn_at,
            receipt_sha256: b.receipt_sha256,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct OwnBid {
    current: Option<ApiBid>,
    history: Vec<BidVersion>,
}

fn position_numbers(conn: &mut DbConn, id: TenderId) -> AppResult<HashMap<TenderPositionId, i32>> {
    Ok(tender::positions(conn, id)?
        .into_iter()
        .map(|p| (p.id, p.position_no))
        .collect())
}

// The vendor's own current bid with content, and every version it submitted.
#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "get_own_bid",
    summary = "Das eigene Angebot mit Inhalt und alle eigenen Fassungen (Lieferant)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Eigenes Angebot", body = OwnBid)
    )
)]
#[get("/tenders/<id>/bid")]
async fn own_bid(user: ApiUser, db: Db, id: TenderId) -> AppResult<Json<OwnBid>> {
    Ok(Json(
        db.run(move |c| {
            let (current, history) = bids::own(c, &user.0, id)?;
            let numbers = position_numbers(c, id)?;
            Ok(OwnBid {
                current: current.map(|b| ApiBid::new(b, &numbers)),
                history: history.into_iter().map(BidVersion::from).collect(),
            })
        })
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
struct PriceIn {
    position_no: i32,
    #[serde(default)]
    unit_price: Plain<Price>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = BidInput)]
struct BidBody {
    #[serde(default)]
    prices: Vec<PriceIn>,
    #[serde(default)]
    lots: Vec<i32>,
    #[serde(default)]
    a_confirmed: Vec<bool>,
    #[serde(default)]
    b_texts: Vec<String>,
}

fn lot_ids(conn: &mut DbConn, id: TenderId, lot_numbers: &[i32], errors: &mut FieldErrors) -> AppResult<Vec<LotId>> {
    let lots = tender::lots(conn, id)?;
    let mut out = Vec::new();
    for n in lot_numbers {
        match lots.iter().find(|l| l.lot_no == *n) {
            Some(l) => out.push(l.id),
            None => errors
                .entry("lots".into())
                .or_default()
                .push(format!("Los {n} gibt es in dieser Ausschreibung nicht.")),
        }
    }
    Ok(out)
}

fn validation(message: &str, errors: FieldErrors) -> AppError {
    AppError::Validation {
        message: message.into(),
        fields: errors,
    }
}

// Submits (or resubmits) the vendor's bid: prices by position number.
#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "submit_bid",
    summary = "Angebot abgeben oder ersetzen, bis zur Angebotsfrist (Lieferant); ersetzt die vorige Fassung",
    params(("id" = i64, Path)),
    request_body = BidBody,
    responses(
        (status = 201, description = "Eingangsbestätigung", body = ApiReceipt)
    )
)]
#[put("/tenders/<id>/bid", data = "<body>")]
async fn submit_bid(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    body: Body<BidBody>,
) -> AppResult<status::Created<Json<ApiReceipt>>> {
    user.0.require(&[Role::Vendor])?;
    let body = body.0;
    let u = user.0;
    let receipt = db
        .run(move |c| {
            // A draft's positions stay hidden: the tender must be readable first.
            tender::find_readable(c, &u, id)?;
            let by_no: HashMap<i32, TenderPositionId> = tender::positions(c, id)?
                .into_iter()
                .map(|p| (p.position_no, p.id))
                .collect();
            let mut errors = FieldErrors::new();
            let mut prices = HashMap::with_capacity(body.prices.len());
            let mut seen = HashSet::with_capacity(body.prices.len());
            for p in &body.prices {
                let mut fail = |m: String| errors.entry("prices".into()).or_default().push(m);
                let Some(pid) = by_no.get(&p.position_no) else {
                    fail(format!("Pos. {} gibt es in dieser Ausschreibung nicht.", p.position_no));
                    continue;
                };
                if !seen.insert(p.position_no) {
                    fail(format!("Pos. {} steht mehrfach in der Liste.", p.position_no));
                    continue;
                }
                match &p.unit_price {
                    Plain::Absent => {}
                    Plain::Given(price) => {
                        prices.insert(*pid, *price);
                    }
                    Plain::Bad(e) => fail(format!("Pos. {}: Der Preis {e}.", p.position_no)),
                }
            }
            let lots = lot_ids(c, id, &body.lots, &mut errors)?;
            if !errors.is_empty() {
                return Err(validation(
                    "Das Angebot wurde nicht abgegeben; bitte korrigieren Sie die markierten Angaben.",
                    errors,
                ));
            }
            let input = BidInput {
                prices,
                lots,
                a_confirmed: body.a_confirmed,
                b_texts: body.b_texts,
            };
            bids::submit(c, &state, &u, id, &input)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/tenders/{id}/bid")).body(Json(receipt.into())))
}

/// The criteria answers of a price-sheet upload: `a` names each confirmed A-criterion by its
/// number (1, 2, … or A1, A2, …), `b` gives the B-texts in order.
fn a_confirmed(numbers: &[String], count: usize, errors: &mut FieldErrors) -> Vec<bool> {
    let mut confirmed = vec![false; count];
    for n in numbers {
        let text = n.trim();
        let digits = text.strip_prefix(['A', 'a']).unwrap_or(text);
        match digits.parse::<usize>() {
            Ok(i) if (1..=count).contains(&i) => confirmed[i - 1] = true,
            _ => errors.entry("a".into()).or_default().push(if count == 0 {
                format!("„{text}“: Diese Ausschreibung hat keine Mindestanforderungen (A-Kriterien).")
            } else {
                format!("„{text}“ ist kein A-Kriterium dieser Ausschreibung; erlaubt sind 1 bis {count}.")
            }),
        }
    }
    confirmed
}

/// Whether a raw upload may be a CSV file (text, Excel's CSV type, or untyped).
fn csv_like(ct: Option<&ContentType>) -> bool {
    ct.is_none_or(|ct| {
        matches!(
            (ct.top().as_str(), ct.sub().as_str()),
            ("text", "csv")
                | ("text", "plain")
                | ("application", "csv")
                | ("application", "vnd.ms-excel")
                | ("application", "octet-stream")
        )
    })
}

// Submits the vendor's bid from a CSV price sheet (the template of `price-sheet.csv`), all or
// nothing; the criteria answers come as query parameters.
#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "submit_price_sheet",
    summary = "Angebot als CSV-Preisblatt abgeben (Spalten Los, Pos., Einzelpreis (EUR netto)); alles oder nichts, jede fehlerhafte Zeile wird gemeldet (Lieferant)",
    params(
        ("a" = Vec<String>, Query, explode, description = "Nummer jeder bestätigten Mindestanforderung (A-Kriterium), z. B. a=1&a=2"),
        ("b" = Vec<String>, Query, explode, description = "Antworten auf die B-Kriterien in ihrer Reihenfolge"),
        ("id" = i64, Path)
    ),
    request_body(content = String, content_type = "text/csv", description = "CSV (;, Dezimalkomma, UTF-8 mit BOM)"),
    responses(
        (status = 201, description = "Eingangsbestätigung", body = ApiReceipt)
    )
)]
#[put("/tenders/<id>/bid/price-sheet?<a>&<b>", data = "<data>")]
#[allow(clippy::too_many_arguments)]
async fn submit_price_sheet(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    a: Vec<String>,
    b: Vec<String>,
    content_type: Option<&ContentType>,
    data: Data<'_>,
) -> AppResult<status::Created<Json<ApiReceipt>>> {
    user.0.require(&[Role::Vendor])?;
    if !csv_like(content_type) {
        return Err(AppError::BadRequest(
            "Bitte senden Sie die Preisliste als CSV (Content-Type: text/csv).".into(),
        ));
    }
    let bytes = data
        .open(32.mebibytes())
        .into_bytes()
        .await
        .map_err(|e| AppError::BadRequest(format!("Die Datei konnte nicht gelesen werden: {e}")))?;
    if !bytes.is_complete() {
        return Err(AppError::field("file", "Die Datei ist größer als 32 MiB."));
    }
    let bytes = bytes.into_inner();
    let u = user.0;
    let receipt = db
        .run(move |c| {
            let t = tender::find_readable(c, &u, id)?;
            let lots = tender::lots(c, id)?;
            let positions = tender::positions(c, id)?;
            let prices = bids::prices_from_csv(&positions, &lots, &bytes).map_err(|rows| {
                validation(
                    &format!(
                        "Die Preisliste wurde nicht übernommen: {} Fehler, kein Angebot abgegeben.",
                        rows.len()
                    ),
                    FieldErrors::from([("file".to_string(), rows.iter().map(|e| e.to_string()).collect())]),
                )
            })?;
            let mut errors = FieldErrors::new();
            let confirmed = a_confirmed(&a, t.spec()?.a_criteria.len(), &mut errors);
            if !errors.is_empty() {
                return Err(validation(
                    "Das Angebot wurde nicht abgegeben; bitte korrigieren Sie die markierten Angaben.",
                    errors,
                ));
            }
            let input = BidInput {
                prices,
                lots: Vec::new(),
                a_confirmed: confirmed,
                b_texts: b,
            };
            bids::submit(c, &state, &u, id, &input)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/tenders/{id}/bid")).body(Json(receipt.into())))
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "withdraw_bid",
    summary = "Angebot zurückziehen, bis zur Angebotsfrist (Lieferant)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Zurückgezogen", body = Withdrawn)
    )
)]
#[delete("/tenders/<id>/bid")]
async fn withdraw_bid(user: ApiUser, db: Db, state: AppState, id: TenderId) -> AppResult<Json<Withdrawn>> {
    db.run(move |c| bids::withdraw(c, &state, &user.0, id)).await?;
    Ok(Json(Withdrawn {
        status: BidStatus::Withdrawn,
    }))
}

#[derive(Serialize, ToSchema)]
struct Withdrawn {
    status: BidStatus,
}

// The price sheet template: every position; for a vendor prefilled with its current prices.
#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "get_price_sheet",
    summary = "CSV-Preisblatt mit allen Positionen; für Lieferanten mit den eigenen aktuellen Preisen",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "CSV (;, Dezimalkomma, UTF-8 mit BOM)", body = String, content_type = "text/csv")
    )
)]
#[get("/tenders/<id>/price-sheet.csv")]
async fn price_sheet(user: ApiUser, db: Db, id: TenderId) -> AppResult<CsvDownload> {
    let bytes = db
        .run(move |c| {
            let current = if user.0.is(Role::Vendor) {
                bids::own(c, &user.0, id)?.0.map(|b| b.prices).unwrap_or_default()
            } else {
                tender::find_readable(c, &user.0, id)?;
                BTreeMap::new()
            };
            let lots = tender::lots(c, id)?;
            let positions = tender::positions(c, id)?;
            Ok(bids::price_sheet_csv(&lots, &positions, &current))
        })
        .await?;
    Ok(CsvDownload::new(bytes, &format!("preisblatt-{id}.csv")))
}

// ----------------------------------------------------------------------------- opening

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "start_opening",
    summary = "Öffnung nach Ablauf der Angebotsfrist beginnen (Vergabestelle); eine zweite Person muss bestätigen",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Begonnen", body = OpeningStarted)
    )
)]
#[post("/tenders/<id>/opening")]
async fn start_opening(user: ApiUser, db: Db, state: AppState, id: TenderId) -> AppResult<Json<OpeningStarted>> {
    db.run(move |c| tender::start_opening(c, &state, &user.0, id)).await?;
    Ok(Json(OpeningStarted {
        status: TenderStatus::Opening,
    }))
}

#[derive(Serialize, ToSchema)]
struct OpeningStarted {
    status: TenderStatus,
}

#[derive(Serialize, ToSchema)]
struct Opened {
    status: TenderStatus,
    opening_record_sha256: String,
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "confirm_opening",
    summary = "Öffnung als zweite, andere Person der Vergabestelle bestätigen (§ 55 VgV); erstellt die Niederschrift",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Geöffnet", body = Opened)
    )
)]
#[post("/tenders/<id>/opening/confirm")]
async fn confirm_opening(user: ApiUser, db: Db, state: AppState, id: TenderId) -> AppResult<Json<Opened>> {
    let sha = db.run(move |c| tender::confirm_opening(c, &state, &user.0, id)).await?;
    Ok(Json(Opened {
        status: TenderStatus::Opened,
        opening_record_sha256: sha,
    }))
}

// The bids that count, with content: only after the opening, only for officers and the board.
#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "list_opened_bids",
    summary = "Die gültigen Angebote mit Inhalt: erst nach der Öffnung, nur Vergabestelle und Vorstand",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Angebote", body = Vec<ApiBid>)
    )
)]
#[get("/tenders/<id>/bids")]
async fn opened_bids(user: ApiUser, db: Db, id: TenderId) -> AppResult<Json<Vec<ApiBid>>> {
    Ok(Json(
        db.run(move |c| {
            let (_, opened) = bids::opened(c, &user.0, id)?;
            let numbers = position_numbers(c, id)?;
            Ok(opened.into_iter().map(|b| ApiBid::new(b, &numbers)).collect())
        })
        .await?,
    ))
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "get_opened_bids_csv",
    summary = "Die geöffneten Angebote als CSV, eine Zeile je Angebot und Position (Vergabestelle, Vorstand)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "CSV (;, Dezimalkomma, UTF-8 mit BOM)", body = String, content_type = "text/csv")
    )
)]
#[get("/tenders/<id>/bids.csv")]
async fn opened_bids_csv(user: ApiUser, db: Db, id: TenderId) -> AppResult<CsvDownload> {
    let bytes = db
        .run(move |c| {
            let (_, opened) = bids::opened(c, &user.0, id)?;
            let lots = tender::lots(c, id)?;
            let positions = tender::positions(c, id)?;
            Ok(bids::opened_csv(&positions, &lots, &opened))
        })
        .await?;
    Ok(CsvDownload::new(bytes, &format!("angebote-{id}.csv")))
}

#[utoipa::path(
    tag = "Ausschreibungen und Angebote",
    operation_id = "get_opening_record",
    summary = "Die gespeicherte Niederschrift der Öffnung (HTML) mit SHA-256 (Vergabestelle, Vorstand)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Niederschrift", body = OpeningRecord)
    )
)]
#[get("/tenders/<id>/opening-record")]
async fn opening_record(user: ApiUser, db: Db, id: TenderId) -> AppResult<Json<OpeningRecord>> {
    let (t, html) = db.run(move |c| tender::opening_record(c, &user.0, id)).await?;
    Ok(Json(OpeningRecord {
        tender_id: t.id,
        opened_at: t.opened_at,
        sha256: t.opening_record_sha256,
        html,
    }))
}

#[derive(Serialize, ToSchema)]
struct OpeningRecord {
    #[schema(value_type = i64)]
    tender_id: TenderId,
    opened_at: Option<NaiveDateTime>,
    /// SHA-256 des HTML-Textes
    sha256: Option<String>,
    html: String,
}

pub fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        show,
        update,
        publish,
        extend,
        add_document,
        download_document,
        remove_document,
        questions,
        ask,
        answer,
        own_bid,
        submit_bid,
        submit_price_sheet,
        withdraw_bid,
        price_sheet,
        start_opening,
        confirm_opening,
        opened_bids,
        opened_bids_csv,
        opening_record
    ]
}
