//! Pages of tenders: the officer's tender from a closed demand call (lots, evaluation, documents,
//! publication, answers, two-person opening), the vendor's questions and sealed bid, and the
//! public notices.

use super::bids::{self, BidInput};
use super::form::TenderForm;
use super::{Tender, TenderCommand};
use crate::auth::csrf::FormData;
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::{Db, DbConn};
use crate::domain::evaluation::Method;
use crate::domain::ids::{DemandCallId, DocumentId, LotId, QuestionId, TenderId};
use crate::domain::roles::Role;
use crate::domain::tender::{Procedure, TenderStatus};
use crate::error::{joined, AppError, AppResult, FieldErrors};
use crate::import::CsvDownload;
use crate::web::Html;
use crate::web::{read, Layout};
use crate::AppState;
use rocket::form::Form;
use rocket::fs::TempFile;
use rocket::http::{ContentType, CookieJar, Header, Status};
use rocket::response::{status, Flash, Redirect};
use rocket::{get, post, routes, Build, Either, FromForm, Responder, Rocket};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

type Page = AppResult<Either<Flash<Redirect>, status::Custom<Html>>>;

fn is_cooperative(user: &CurrentUser) -> bool {
    user.is_cooperative()
}

#[get("/ausschreibungen")]
async fn list(layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    let now = state.clock.now_naive();
    let u = user.clone();
    let (rows, ready) = db
        .run(move |c| {
            let ready = if u.is(Role::Officer) {
                super::calls_ready(c)?
            } else {
                Vec::new()
            };
            let mut rows: Vec<Value> = super::list(c, &u)?.iter().map(|t| t.view(now)).collect();
            super::label_award_stage(c, &mut rows)?;
            Ok((rows, ready))
        })
        .await?;
    Ok(layout.render(
        "tender/list",
        json!({ "tenders": rows, "ready_calls": ready, "can_create": user.is(Role::Officer) }),
    ))
}

// ----------------------------------------------------------------------------- the tender form

/// The form's context: the input as flat fields, the call's positions with demand, the choices.
fn form_context(
    conn: &mut DbConn,
    state: &AppState,
    input: &TenderForm,
    tender_id: Option<TenderId>,
) -> AppResult<Value> {
    let call = crate::demand::find_call(conn, input.demand_call_id)?;
    let now = state.clock.now_naive();
    let agg = crate::demand::aggregate(conn, &call, now.date())?;
    let positions: Vec<Value> = agg
        .positions
        .iter()
        .map(|(p, a)| {
            json!({
                "id": p.id, "position_no": p.position_no, "description": p.description, "unit": p.unit,
                "total_quantity": a.total_quantity.to_string(), "members": a.members,
                "estimate_unit_price": a.estimate_unit_price.map(|d| d.to_string()),
                "has_demand": !a.total_quantity.is_zero(),
                "lot": input.assignment.get(&p.id).copied().unwrap_or(1),
            })
        })
        .collect();
    let mut lots: Vec<String> = input.lots.clone();
    // Two empty rows for new lots.
    lots.push(String::new());
    lots.push(String::new());
    let mut form = serde_json::to_value(input).unwrap_or(Value::Null);
    form["evaluation"] = json!(input.evaluation);
    Ok(json!({
        "call": { "id": call.id, "title": call.title, "term_months": call.term_months },
        "tender_id": tender_id,
        "positions": positions,
        "lot_rows": lots,
        "lot_count": input.lots.len().max(1),
        "form": form,
        "procedures": [
            {"value": Procedure::EuOpen, "label": Procedure::EuOpen.label()},
            {"value": Procedure::National, "label": Procedure::National.label()},
        ],
        "formulas": [
            {"value": "quotient", "label": "Quotient: Höchstpunkte × P_min / P"},
            {"value": "linear", "label": "Linear: Höchstpunkte × (2·P_min − P) / P_min, mindestens 0"},
        ],
        "decisions": [
            {"value": "lowest_price", "label": "Niedrigster Preis"},
            {"value": "highest_performance", "label": "Höchste Leistungspunkte"},
        ],
        "methods": Method::ALL.iter().map(|m| json!({"value": m.code(), "label": m.label()})).collect::<Vec<_>>(),
        "estimated_total": agg.estimated_total.to_string(),
        "eu_threshold": agg.eu_threshold.to_string(),
    }))
}

#[get("/ausschreibungen/neu?<bedarf>")]
async fn new_tender(
    bedarf: Option<&str>,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Html> {
    user.require(&[Role::Officer])?;
    let call_id = read::query::<DemandCallId>("bedarf", bedarf, "die Nummer einer Bedarfsabfrage (ganze Zahl)")?
        .ok_or_else(|| AppError::BadRequest("Bitte wählen Sie eine abgeschlossene Bedarfsabfrage.".into()))?;
    let st = state.clone();
    let ctx = db
        .run(move |c| {
            let call = crate::demand::find_call(c, call_id)?;
            if !super::calls_ready(c)?.iter().any(|r| r.id == call.id) {
                return Err(AppError::Conflict(
                    "Eine Ausschreibung entsteht aus einer abgeschlossenen Bedarfsabfrage, und aus jeder nur einmal."
                        .into(),
                ));
            }
            let positions = crate::demand::positions(c, call_id)?;
            let input = TenderForm::from_command(&TenderCommand::defaults_for(&call, &positions));
            form_context(c, &st, &input, None)
        })
        .await?;
    Ok(layout.render("tender/form", ctx))
}

#[post("/ausschreibungen", data = "<form>")]
async fn create(form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    user.require(&[Role::Officer])?;
    let input = TenderForm::from_form(&form);
    let (u, st, (command, edge)) = (user.clone(), state.clone(), input.read());
    let result = db
        .run(move |c| {
            let data = joined(edge, command.validate(c, st.clock.now_naive(), &st.config.calendar()))?;
            Ok((super::create(c, &st, &u, &data)?, data.warnings))
        })
        .await;
    match result {
        Ok((id, warnings)) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/ausschreibungen/{id}")),
            with_warnings(
                "Der Entwurf der Ausschreibung wurde angelegt. Fügen Sie Unterlagen hinzu und veröffentlichen Sie ihn.",
                &warnings,
            ),
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let st = state.clone();
            let ctx = db.run(move |c| form_context(c, &st, &input, None)).await?;
            Ok(Either::Right(layout.render_errors("tender/form", ctx, &fields)))
        }
        Err(e) => Err(e),
    }
}

fn with_warnings(message: &str, warnings: &[String]) -> String {
    if warnings.is_empty() {
        message.to_string()
    } else {
        format!("{message} Hinweis: {}", warnings.join(" "))
    }
}

#[get("/ausschreibungen/<id>/bearbeiten")]
async fn edit(id: TenderId, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    user.require(&[Role::Officer])?;
    let st = state.clone();
    let ctx = db
        .run(move |c| {
            let t = super::find(c, id)?;
            if t.status != TenderStatus::Draft {
                return Err(AppError::Conflict(
                    "Eine veröffentlichte Ausschreibung kann nicht mehr geändert werden.".into(),
                ));
            }
            let input = TenderForm::from_command(&super::command_of(c, &t)?);
            form_context(c, &st, &input, Some(id))
        })
        .await?;
    Ok(layout.render("tender/form", ctx))
}

#[post("/ausschreibungen/<id>", data = "<form>")]
async fn update(id: TenderId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    user.require(&[Role::Officer])?;
    let input = TenderForm::from_form(&form);
    let (u, st, (command, edge)) = (user.clone(), state.clone(), input.read());
    let result = db
        .run(move |c| {
            let data = joined(edge, command.validate(c, st.clock.now_naive(), &st.config.calendar()))?;
            super::update(c, &st, &u, id, &data)?;
            Ok(data.warnings)
        })
        .await;
    match result {
        Ok(warnings) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/ausschreibungen/{id}")),
            with_warnings("Die Änderungen wurden gespeichert.", &warnings),
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let st = state.clone();
            let ctx = db.run(move |c| form_context(c, &st, &input, Some(id))).await?;
            Ok(Either::Right(layout.render_errors("tender/form", ctx, &fields)))
        }
        Err(e) => Err(e),
    }
}

// ----------------------------------------------------------------------------- the tender page

fn positions_by_lot(conn: &mut DbConn, t: &Tender) -> AppResult<Vec<Value>> {
    let lots = super::lots(conn, t.id)?;
    let positions = super::positions(conn, t.id)?;
    Ok(lots
        .iter()
        .map(|l| {
            json!({
                "lot": l,
                "positions": positions.iter().filter(|p| p.lot_id == l.id).collect::<Vec<_>>(),
            })
        })
        .collect())
}

/// Everything the tender page shows to this user; never bid content.
fn detail(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: TenderId) -> AppResult<Value> {
    let t = super::find_readable(conn, user, id)?;
    let now = state.clock.now_naive();
    let mut view = [t.view(now)];
    super::label_award_stage(conn, &mut view)?;
    let [view] = view;
    let mut ctx = json!({
        "tender": view,
        "lots": positions_by_lot(conn, &t)?,
        "documents": super::documents(conn, id)?,
        "questions": super::questions(conn, Some(user), id)?,
        "entitled": super::entitled_members(conn, &t)?.into_iter().map(|(_, n)| n).collect::<Vec<_>>(),
        "is_officer": user.is(Role::Officer),
        "is_vendor": user.is(Role::Vendor),
        "cooperative": is_cooperative(user),
        "can_read_bids": bids::OPENED_BID_READERS.contains(&user.role) && t.is_opened(),
        "extensions": super::extensions(conn, id)?.into_iter().map(|e| json!({
            "old_deadline": e.old_deadline, "new_deadline": e.new_deadline, "reason_label": e.reason.label(), "note": e.note,
            "extended_at": e.extended_at,
        })).collect::<Vec<_>>(),
    });
    if is_cooperative(user) && t.is_published() {
        ctx["bid_count"] = json!(bids::count_current(conn, id)?);
        // How the § 15 VgV minimum period was counted (from publication, the dispatch the
        // platform records today).
        if let Some(sent) = t.published_at {
            let calendar = state.config.calendar();
            if let Some(p) =
                crate::domain::tender::minimum_period(t.procedure, sent, t.urgency_reason.as_deref(), &calendar)
            {
                ctx["minimum_period"] = json!(p.explain(&calendar, "Absendung der Bekanntmachung"));
            }
        }
    }
    if user.is(Role::Officer) {
        ctx["can_edit"] = json!(t.status == TenderStatus::Draft);
        ctx["can_start_opening"] = json!(t.status == TenderStatus::Published && now >= t.bid_deadline);
        ctx["can_confirm_opening"] = json!(t.status == TenderStatus::Opening && t.opening_started_by != Some(user.id));
        ctx["waiting_for_second"] = json!(t.status == TenderStatus::Opening && t.opening_started_by == Some(user.id));
        if t.accepts_bids(now) {
            // § 20 (3) VgV: an answer later than six (four) days before the deadline requires
            // an extension; the page says so and offers it.
            let late = super::late_answers(conn, &t)?;
            ctx["can_extend"] = json!(true);
            ctx["late_answers"] = json!(late);
            ctx["answers_due"] = json!(crate::domain::tender::answers_due(
                t.bid_deadline,
                t.urgency_reason.as_deref()
            ));
            ctx["extension_reasons"] = json!(crate::domain::tender::ExtensionReason::ALL
                .iter()
                .map(|r| json!({"value": r, "label": r.label()}))
                .collect::<Vec<_>>());
        }
    }
    if user.is(Role::Vendor) {
        let (current, _) = bids::own(conn, user, id)?;
        ctx["own_bid"] = json!(current.map(|b| json!({
            "submitted_at": b.bid.submitted_at, "receipt_sha256": b.bid.receipt_sha256, "version": b.bid.version
        })));
    }
    Ok(ctx)
}

async fn detail_ctx(db: &Db, state: &AppState, user: &CurrentUser, id: TenderId) -> AppResult<Value> {
    let (st, u) = (state.clone(), user.clone());
    db.run(move |c| detail(c, &st, &u, id)).await
}

#[get("/ausschreibungen/<id>")]
async fn show(id: TenderId, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    Ok(layout.render("tender/show", detail_ctx(&db, &state, &user, id).await?))
}

/// Redirects with a message, or shows the tender page again with the error at `field`.
#[allow(clippy::too_many_arguments)]
async fn after(
    result: AppResult<String>,
    id: TenderId,
    field: &str,
    echo: Option<Value>,
    layout: &Layout,
    user: &CurrentUser,
    db: &Db,
    state: &AppState,
) -> Page {
    let e = match result {
        Ok(message) => {
            return Ok(Either::Left(Flash::success(
                Redirect::to(format!("/ausschreibungen/{id}")),
                message,
            )))
        }
        Err(e) => e,
    };
    let status = match &e {
        AppError::Validation { .. } => Status::UnprocessableEntity,
        AppError::Conflict(_) => Status::Conflict,
        // The second-officer rule is explained on the page, not on a bare error page.
        AppError::Forbidden(_) if user.is(Role::Officer) => Status::Forbidden,
        _ => return Err(e),
    };
    let mut fields = e.field_errors();
    // A refused action (conflict, second officer) is explained next to the action buttons; the
    // field it came from may not even be shown any more (e.g. questions after the deadline).
    let target = if matches!(e, AppError::Validation { .. }) {
        field
    } else {
        "aktion"
    };
    if fields.is_empty() {
        fields.insert(target.to_string(), vec![e.user_message()]);
    } else if target == "aktion" || field.starts_with("answer_") || field == "aktion" {
        // The service names its fields generically; on this page they belong to `field`.
        let key = if field == "aktion" { "aktion" } else { target };
        fields = FieldErrors::from([(key.to_string(), fields.into_values().flatten().collect())]);
    }
    let mut ctx = detail_ctx(db, state, user, id).await?;
    if let Some(echo) = echo {
        ctx["form"] = echo;
    }
    let mut page = layout.render_errors("tender/show", ctx, &fields);
    page.0 = status;
    Ok(Either::Right(page))
}

#[post("/ausschreibungen/<id>/veroeffentlichen", data = "<_form>")]
async fn publish(id: TenderId, _form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| super::publish(c, &st, &u, id))
        .await
        .map(|n| format!("Die Ausschreibung ist veröffentlicht; {n} Ansprechpersonen freigegebener Lieferanten wurden per E-Mail benachrichtigt. Der Kreis der abrufberechtigten Mitglieder steht jetzt fest."));
    after(result, id, "aktion", None, &layout, &user, &db, &state).await
}

#[derive(FromForm)]
pub struct DocumentUpload<'r> {
    #[field(name = "_csrf")]
    csrf: Option<String>,
    file: Option<TempFile<'r>>,
}

#[post("/ausschreibungen/<id>/unterlagen", data = "<upload>")]
async fn add_document(
    id: TenderId,
    upload: Form<DocumentUpload<'_>>,
    jar: &CookieJar<'_>,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    crate::auth::csrf::verify(jar, upload.csrf.as_deref().unwrap_or(""))?;
    let (name, bytes) = match &upload.file {
        Some(f) if f.len() > 0 => (
            f.raw_name()
                .map(|n| n.dangerous_unsafe_unsanitized_raw().as_str().to_string())
                .unwrap_or_default(),
            crate::import::read_upload(f).await?,
        ),
        _ => (String::new(), Vec::new()),
    };
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| super::add_document(c, &st, &u, id, &name, &bytes))
        .await
        .map(|_| "Die Unterlage wurde hinzugefügt; ihr SHA-256-Wert ist gespeichert.".to_string());
    after(result, id, "file", None, &layout, &user, &db, &state).await
}

#[post("/ausschreibungen/<id>/unterlagen/<doc>/entfernen", data = "<_form>")]
async fn remove_document(
    id: TenderId,
    doc: DocumentId,
    _form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| super::remove_document(c, &st, &u, id, doc))
        .await
        .map(|_| "Die Unterlage wurde entfernt.".to_string());
    after(result, id, "file", None, &layout, &user, &db, &state).await
}

/// A stored document as a download.
#[derive(Responder)]
pub struct Download {
    body: Vec<u8>,
    content_type: ContentType,
    disposition: Header<'static>,
}

impl Download {
    pub fn new(name: &str, content_type: &str, body: Vec<u8>) -> Download {
        let ascii: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded = url::form_urlencoded::byte_serialize(name.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        Download {
            body,
            content_type: ContentType::parse_flexible(content_type).unwrap_or(ContentType::Binary),
            disposition: Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
        }
    }
}

#[get("/ausschreibungen/<id>/unterlagen/<doc>")]
async fn document(id: TenderId, doc: DocumentId, user: CurrentUser, db: Db) -> AppResult<Download> {
    let (name, content_type, body) = db
        .run(move |c| {
            super::find_readable(c, &user, id)?;
            super::document(c, id, doc)
        })
        .await?;
    Ok(Download::new(&name, &content_type, body))
}

#[post("/ausschreibungen/<id>/fragen", data = "<form>")]
async fn ask(id: TenderId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let question = form.get("question");
    let result = db
        .run(move |c| super::ask(c, &st, &u, id, &question))
        .await
        .map(|_| "Ihre Frage wurde an die Vergabestelle übermittelt. Die Antwort erhalten alle Bieter, ohne dass Ihr Unternehmen genannt wird.".to_string());
    after(
        result,
        id,
        "question",
        Some(Value::Object(form.echo())),
        &layout,
        &user,
        &db,
        &state,
    )
    .await
}

#[post("/ausschreibungen/<id>/fragen/<q>/antwort", data = "<form>")]
async fn answer(
    id: TenderId,
    q: QuestionId,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let text = form.get("answer");
    let result = db
        .run(move |c| super::answer(c, &st, &u, id, q, &text))
        .await
        .map(|n| format!("Die Antwort ist veröffentlicht und ging an {n} Ansprechpersonen der Lieferanten, ohne den Fragenden zu nennen."));
    let mut echo = serde_json::Map::new();
    echo.insert(format!("answer_{q}"), json!(form.get("answer")));
    after(
        result,
        id,
        &format!("answer_{q}"),
        Some(Value::Object(echo)),
        &layout,
        &user,
        &db,
        &state,
    )
    .await
}

/// The officer extends the running bid deadline (§ 20 (3) VgV).
#[post("/ausschreibungen/<id>/frist", data = "<form>")]
async fn extend(id: TenderId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let mut errors = FieldErrors::new();
    let new_deadline = read::local_datetime(&form.get("deadline_date"), &form.get("deadline_time"));
    if new_deadline.is_none() || form.get("deadline_time").trim().is_empty() {
        errors
            .entry("new_deadline".into())
            .or_default()
            .push("Bitte die neue Angebotsfrist mit Datum (TT.MM.JJJJ) und Uhrzeit (HH:MM) angeben.".into());
    }
    let reason = crate::domain::tender::ExtensionReason::from_code(&form.get("reason"));
    if reason.is_none() {
        errors
            .entry("reason".into())
            .or_default()
            .push("Bitte den Grund der Verlängerung wählen.".into());
    }
    let result = match (new_deadline, reason, errors.is_empty()) {
        (Some(new_deadline), Some(reason), true) => {
            let cmd = super::ExtensionCommand {
                new_deadline,
                reason,
                note: form.get("note"),
            };
            db.run(move |c| super::extend_deadline(c, &st, &u, id, cmd))
                .await
                .map(|n| {
                    format!(
                        "Die Angebotsfrist ist verlängert; {n} Ansprechpersonen der Lieferanten wurden benachrichtigt."
                    )
                })
        }
        _ => Err(AppError::fields(errors)),
    };
    after(
        result,
        id,
        "aktion",
        Some(Value::Object(form.echo())),
        &layout,
        &user,
        &db,
        &state,
    )
    .await
}

#[post("/ausschreibungen/<id>/oeffnung", data = "<_form>")]
async fn start_opening(
    id: TenderId,
    _form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| super::start_opening(c, &st, &u, id))
        .await
        .map(|_| "Die Öffnung ist begonnen. Eine zweite Person der Vergabestelle muss sie jetzt bestätigen; erst dann sind die Angebote lesbar.".to_string());
    after(result, id, "aktion", None, &layout, &user, &db, &state).await
}

#[post("/ausschreibungen/<id>/oeffnung/bestaetigen", data = "<_form>")]
async fn confirm_opening(
    id: TenderId,
    _form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| super::confirm_opening(c, &st, &u, id))
        .await
        .map(|sha| format!("Die Angebote sind geöffnet. Die Niederschrift ist gespeichert (SHA-256 {sha})."));
    after(result, id, "aktion", None, &layout, &user, &db, &state).await
}

// ----------------------------------------------------------------------------- bids

/// The vendor's bid page: receipt, history, form with its current prices.
fn bid_context(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: TenderId) -> AppResult<Value> {
    let t = super::find_readable(conn, user, id)?;
    let (current, history) = bids::own(conn, user, id)?;
    let now = state.clock.now_naive();
    let spec = t.spec()?;
    let mut form = serde_json::Map::new();
    if let Some(b) = &current {
        for (pid, price) in &b.prices {
            form.insert(
                format!("p_{pid}"),
                json!(crate::german::decimal_de(price.to_decimal(), 2, 4)),
            );
        }
        for (i, ok) in b.criteria.a_confirmed.iter().enumerate() {
            if *ok {
                form.insert(format!("a_{}", i + 1), json!("ja"));
            }
        }
        for (i, text) in b.criteria.b_texts.iter().enumerate() {
            form.insert(format!("b_{}", i + 1), json!(text));
        }
    }
    Ok(json!({
        "tender": t.view(now),
        "lots": positions_by_lot(conn, &t)?,
        "spec": spec,
        "current": current.as_ref().map(|b| json!({
            "version": b.bid.version, "submitted_at": b.bid.submitted_at,
            "receipt_sha256": b.bid.receipt_sha256, "lot_totals": b.lot_totals,
        })),
        "history": history,
        "form": form,
    }))
}

#[get("/ausschreibungen/<id>/angebot")]
async fn bid_page(id: TenderId, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    user.require(&[Role::Vendor])?;
    let st = state.clone();
    let ctx = db.run(move |c| bid_context(c, &st, &user, id)).await?;
    Ok(layout.render("tender/bid", ctx))
}

/// The bid form (multipart, because of the optional price sheet): prices `p_<position id>`,
/// confirmations `a_<n>`, texts `b_<n>`, chosen lots `lot` and an optional CSV `file`.
#[derive(FromForm)]
pub struct BidForm<'r> {
    #[field(name = "_csrf")]
    csrf: Option<String>,
    file: Option<TempFile<'r>>,
    #[field(name = "lot")]
    lots: Vec<String>,
    /// Every other field by name.
    #[field(name = "f")]
    fields: HashMap<String, String>,
}

/// Reads the bid from the form or, when a file is attached, its prices from the price sheet.
fn bid_input(
    conn: &mut DbConn,
    user: &CurrentUser,
    id: TenderId,
    fields: &HashMap<String, String>,
    lots: &[String],
    csv: Option<&[u8]>,
) -> AppResult<BidInput> {
    let t = super::find_readable(conn, user, id)?;
    let spec = t.spec()?;
    let all_lots = super::lots(conn, id)?;
    let positions = super::positions(conn, id)?;
    let get = |name: &str| fields.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
    let prices = match csv {
        Some(bytes) => bids::prices_from_csv(&positions, &all_lots, bytes).map_err(|errors| AppError::Validation {
            message: format!(
                "Das Preisblatt wurde nicht übernommen: {} Fehler, nichts gespeichert.",
                errors.len()
            ),
            fields: FieldErrors::from([("file".to_string(), errors.iter().map(|e| e.to_string()).collect())]),
        })?,
        None => bids::prices_from_form(&positions, get).map_err(AppError::fields)?,
    };
    Ok(BidInput {
        prices,
        lots: lots
            .iter()
            .filter_map(|l| l.parse::<LotId>().ok())
            .filter(|l| all_lots.iter().any(|x| x.id == *l))
            .collect(),
        a_confirmed: (1..=spec.a_criteria.len())
            .map(|n| !get(&format!("a_{n}")).is_empty())
            .collect(),
        b_texts: (1..=spec.b_criteria.len()).map(|n| get(&format!("b_{n}"))).collect(),
    })
}

#[post("/ausschreibungen/<id>/angebot", data = "<form>")]
async fn submit_bid(
    id: TenderId,
    form: Form<BidForm<'_>>,
    jar: &CookieJar<'_>,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    crate::auth::csrf::verify(jar, form.csrf.as_deref().unwrap_or(""))?;
    user.require(&[Role::Vendor])?;
    let csv = match &form.file {
        Some(f) if f.len() > 0 => Some(crate::import::read_upload(f).await?),
        _ => None,
    };
    let fields = form.fields.clone();
    let lots = form.lots.clone();
    let (u, st) = (user.clone(), state.clone());
    let result = db
        .run(move |c| {
            let input = bid_input(c, &u, id, &fields, &lots, csv.as_deref())?;
            bids::submit(c, &st, &u, id, &input)
        })
        .await;
    match result {
        Ok(r) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/ausschreibungen/{id}/angebot")),
            format!(
                "Ihr Angebot ist eingegangen: {} (Serverzeit). Quittung (SHA-256): {}. Eine Bestätigung ist per E-Mail unterwegs.",
                crate::german::timestamp_de(r.submitted_at),
                r.receipt_sha256
            ),
        ))),
        Err(e @ (AppError::Validation { .. } | AppError::Conflict(_))) => {
            let status = e.status();
            let mut fields = e.field_errors();
            if fields.is_empty() {
                fields.insert("aktion".into(), vec![e.user_message()]);
            }
            let (u, st) = (user.clone(), state.clone());
            let mut ctx = db.run(move |c| bid_context(c, &st, &u, id)).await?;
            // What the vendor typed comes back, not the stored bid.
            ctx["form"] = json!(form.fields);
            ctx["chosen_lots"] = json!(form.lots);
            let mut page = layout.render_errors("tender/bid", ctx, &fields);
            page.0 = status;
            Ok(Either::Right(page))
        }
        Err(e) => Err(e),
    }
}

#[post("/ausschreibungen/<id>/angebot/zurueckziehen", data = "<_form>")]
async fn withdraw_bid(
    id: TenderId,
    _form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = db.run(move |c| bids::withdraw(c, &st, &u, id)).await;
    match result {
        Ok(()) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/ausschreibungen/{id}/angebot")),
            "Ihr Angebot ist zurückgezogen. Bis zur Frist können Sie ein neues abgeben.",
        ))),
        Err(e @ AppError::Conflict(_)) => {
            let (u, st) = (user.clone(), state.clone());
            let ctx = db.run(move |c| bid_context(c, &st, &u, id)).await?;
            let mut page = layout.render_errors(
                "tender/bid",
                ctx,
                &FieldErrors::from([("aktion".to_string(), vec![e.user_message()])]),
            );
            page.0 = Status::Conflict;
            Ok(Either::Right(page))
        }
        Err(e) => Err(e),
    }
}

#[get("/ausschreibungen/<id>/preisblatt.csv")]
async fn price_sheet(id: TenderId, user: CurrentUser, db: Db) -> AppResult<CsvDownload> {
    let bytes = db
        .run(move |c| {
            let t = super::find_readable(c, &user, id)?;
            let current = if user.is(Role::Vendor) {
                bids::own(c, &user, id)?.0.map(|b| b.prices).unwrap_or_default()
            } else {
                BTreeMap::new()
            };
            Ok(bids::price_sheet_csv(
                &super::lots(c, t.id)?,
                &super::positions(c, t.id)?,
                &current,
            ))
        })
        .await?;
    Ok(CsvDownload::new(bytes, &format!("preisblatt-{id}.csv")))
}

#[get("/ausschreibungen/<id>/angebote")]
async fn opened_bids(id: TenderId, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    let now = state.clock.now_naive();
    let ctx = db
        .run(move |c| {
            let (t, bids) = bids::opened(c, &user, id)?;
            let lots = super::lots(c, id)?;
            let positions = super::positions(c, id)?;
            let rows: Vec<Value> = positions
                .iter()
                .map(|p| {
                    json!({
                        "position": p,
                        "lot_no": lots.iter().find(|l| l.id == p.lot_id).map(|l| l.lot_no),
                        "prices": bids.iter().map(|b| b.prices.get(&p.id)).collect::<Vec<_>>(),
                    })
                })
                .collect();
            Ok(json!({ "tender": t.view(now), "bids": bids, "rows": rows, "lots": lots }))
        })
        .await?;
    Ok(layout.render("tender/bids", ctx))
}

#[get("/ausschreibungen/<id>/angebote.csv")]
async fn opened_bids_csv(id: TenderId, user: CurrentUser, db: Db) -> AppResult<CsvDownload> {
    let bytes = db
        .run(move |c| {
            let (_, bids) = bids::opened(c, &user, id)?;
            Ok(bids::opened_csv(&super::positions(c, id)?, &super::lots(c, id)?, &bids))
        })
        .await?;
    Ok(CsvDownload::new(bytes, &format!("angebote-{id}.csv")))
}

#[get("/ausschreibungen/<id>/oeffnungsprotokoll")]
async fn opening_record(id: TenderId, user: CurrentUser, db: Db) -> AppResult<(ContentType, String)> {
    let (_, text) = db.run(move |c| super::opening_record(c, &user, id)).await?;
    Ok((ContentType::HTML, text))
}

// ----------------------------------------------------------------------------- public notices

#[get("/bekanntmachungen")]
async fn notices(layout: Layout, db: Db, state: AppState) -> AppResult<Html> {
    let now = state.clock.now_naive();
    let tenders = db.run(super::list_public).await?;
    Ok(layout.render(
        "tender/notices",
        json!({ "tenders": tenders.iter().map(|t| t.view(now)).collect::<Vec<_>>() }),
    ))
}

fn public_tender(conn: &mut DbConn, id: TenderId) -> AppResult<Tender> {
    let t = super::find(conn, id)?;
    if !t.is_published() {
        return Err(AppError::NotFound);
    }
    Ok(t)
}

#[get("/bekanntmachungen/<id>")]
async fn notice(id: TenderId, layout: Layout, user: MaybeUser, db: Db, state: AppState) -> AppResult<Html> {
    let now = state.clock.now_naive();
    let ctx = db
        .run(move |c| {
            let t = public_tender(c, id)?;
            Ok(json!({
                "tender": t.view(now),
                "lots": positions_by_lot(c, &t)?,
                "documents": super::documents(c, id)?,
                "questions": super::questions(c, None, id)?,
                "entitled": super::entitled_members(c, &t)?.into_iter().map(|(_, n)| n).collect::<Vec<_>>(),
                "logged_in": user.0.is_some(),
            }))
        })
        .await?;
    Ok(layout.render("tender/notice", ctx))
}

#[get("/bekanntmachungen/<id>/unterlagen/<doc>")]
async fn public_document(id: TenderId, doc: DocumentId, db: Db) -> AppResult<Download> {
    let (name, content_type, body) = db
        .run(move |c| {
            public_tender(c, id)?;
            super::document(c, id, doc)
        })
        .await?;
    Ok(Download::new(&name, &content_type, body))
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount(
        "/",
        routes![
            list,
            new_tender,
            create,
            edit,
            update,
            show,
            extend,
            publish,
            add_document,
            remove_document,
            document,
            ask,
            answer,
            start_opening,
            confirm_opening,
            bid_page,
            submit_bid,
            withdraw_bid,
            price_sheet,
            opened_bids,
            opened_bids_csv,
            opening_record,
            notices,
            notice,
            public_document
        ],
    )
}
