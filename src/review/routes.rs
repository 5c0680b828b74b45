//! The page of complaints and review on a tender: vendors file a Rüge and read the answer;
//! officers answer (and may reopen a lot's evaluation) and record review applications.

use super::{AnswerCommand, ComplaintCommand, ReviewCommand, ReviewStep};
use crate::auth::csrf::FormData;
use crate::auth::CurrentUser;
use crate::db::{Db, DbConn};
use crate::domain::ids::{ComplaintId, LotId, ReviewId, TenderId};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::tender;
use crate::web::{read, Html, Layout};
use crate::AppState;
use rocket::http::Status;
use rocket::response::{status, Flash, Redirect};
use rocket::{get, post, routes, Build, Either, Rocket};
use serde_json::{json, Value};

type Page = AppResult<Either<Flash<Redirect>, status::Custom<Html>>>;

fn context(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: TenderId) -> AppResult<Value> {
    let t = tender::find_readable(conn, user, id)?;
    if !t.is_published() {
        return Err(AppError::NotFound);
    }
    let now = state.clock.now_naive();
    let lots = tender::lots(conn, id)?;
    Ok(json!({
        "tender": t.view(now),
        "lots": lots.iter().map(|l| json!({"value": l.id, "label": format!("Los {}: {}", l.lot_no, l.title)})).collect::<Vec<_>>(),
        "complaints": super::complaints_of(conn, user, id)?,
        "reviews": super::reviews_of(conn, user, &state.config.calendar(), now, id)?,
        "is_vendor": user.is(Role::Vendor),
        "is_officer": user.is(Role::Officer),
        "cooperative": user.is_cooperative(),
        "steps": [
            {"value": "decided_rejected", "label": "Ablehnende Entscheidung der Vergabekammer dem Antragsteller zugestellt"},
            {"value": "decided_granted", "label": "Stattgebende Entscheidung der Vergabekammer zugestellt"},
            {"value": "complied", "label": "Angeordnete Maßnahmen umgesetzt"},
            {"value": "no_appeal", "label": "Keine sofortige Beschwerde eingelegt (nach Ablauf der Beschwerdefrist festgestellt)"},
            {"value": "withdrawn", "label": "Antrag zurückgenommen"},
            {"value": "appeal_filed", "label": "Sofortige Beschwerde eingelegt"},
            {"value": "extended_until", "label": "Aufschiebende Wirkung verlängert bis (Tag)"},
            {"value": "extended_until_decision", "label": "Aufschiebende Wirkung verlängert bis zur Beschwerdeentscheidung"},
            {"value": "appeal_decided", "label": "Beschwerdegericht hat entschieden"},
        ],
    }))
}

#[get("/ausschreibungen/<id>/ruegen")]
async fn page(id: TenderId, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    let ctx = db.run(move |c| context(c, &state, &user, id)).await?;
    Ok(layout.render("review/page", ctx))
}

/// Back to the page with a message, or the page again with the error and what was typed.
async fn after(
    result: AppResult<String>,
    id: TenderId,
    form: &FormData,
    layout: &Layout,
    user: &CurrentUser,
    db: &Db,
    state: &AppState,
) -> Page {
    let e = match result {
        Ok(message) => {
            return Ok(Either::Left(Flash::success(
                Redirect::to(format!("/ausschreibungen/{id}/ruegen")),
                message,
            )))
        }
        Err(e) => e,
    };
    let status = match &e {
        AppError::Validation { .. } => Status::UnprocessableEntity,
        AppError::Conflict(_) => Status::Conflict,
        _ => return Err(e),
    };
    // The answer and step forms repeat per complaint and review: their messages go to the
    // summary at the top (field ids there are not unique); the review form's moment is its
    // date field.
    let per_item = !form.get("decision").is_empty() || !form.get("step").is_empty() || !form.get("reason").is_empty();
    let mut fields = e.field_errors();
    if per_item || fields.is_empty() {
        let mut messages: Vec<String> = fields.into_values().flatten().collect();
        if messages.is_empty() {
            messages.push(e.user_message());
        }
        fields = FieldErrors::from([("aktion".to_string(), messages)]);
    } else if let Some(m) = fields.remove("notified_at") {
        fields.entry("date".to_string()).or_default().extend(m);
    }
    let (st, u) = (state.clone(), user.clone());
    let mut ctx = db.run(move |c| context(c, &st, &u, id)).await?;
    ctx["form"] = Value::Object(form.echo());
    let mut page = layout.render_errors("review/page", ctx, &fields);
    page.0 = status;
    Ok(Either::Right(page))
}

fn optional_lot(form: &FormData) -> AppResult<Option<LotId>> {
    match form.get("lot_id").trim() {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|_| AppError::field("lot_id", "Bitte ein Los der Ausschreibung wählen oder keines.")),
    }
}

fn moment(form: &FormData, date: &str, time: &str, field: &str) -> AppResult<chrono::NaiveDateTime> {
    let (d, t) = (form.get(date), form.get(time));
    if t.trim().is_empty() {
        return Err(AppError::field(
            field,
            "Bitte Datum (TT.MM.JJJJ) und Uhrzeit (HH:MM) angeben.",
        ));
    }
    read::local_datetime(&d, &t)
        .ok_or_else(|| AppError::field(field, "Bitte Datum (TT.MM.JJJJ) und Uhrzeit (HH:MM) angeben."))
}

#[post("/ausschreibungen/<id>/ruegen", data = "<form>")]
async fn file(id: TenderId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = match optional_lot(&form) {
        Ok(lot_id) => {
            let cmd = ComplaintCommand {
                lot_id,
                text: form.get("text"),
            };
            db.run(move |c| super::file_complaint(c, &st, &u, id, cmd)).await
        }
        Err(e) => Err(e),
    };
    let result = result.map(|(_, number)| {
        format!("Ihre Rüge ist eingegangen (Nummer {number}); die Eingangsbestätigung geht Ihnen per E-Mail zu.")
    });
    after(result, id, &form, &layout, &user, &db, &state).await
}

#[post("/ausschreibungen/<id>/ruegen/<complaint>/antwort", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn answer(
    id: TenderId,
    complaint: ComplaintId,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let reason = form.get("reason");
    let result = match form.get("decision").as_str() {
        "reopen" => db
            .run(move |c| crate::award::reopen(c, &st, &u, id, complaint, &reason))
            .await
            .map(|_| "Der Rüge ist abgeholfen; die Zuschlagsentscheidung des Loses ist zurückgenommen und die Wertung wieder offen. Nach der neuen Entscheidung erhalten die Bieter eine neue Information nach § 134 GWB.".to_string()),
        decision @ ("remedy" | "reject") => {
            let cmd = AnswerCommand {
                remedy: decision == "remedy",
                reason,
            };
            db.run(move |c| super::answer(c, &st, &u, id, complaint, cmd))
                .await
                .map(|_| "Die Antwort ist festgehalten und ging dem Bieter per E-Mail zu.".to_string())
        }
        _ => Err(AppError::field(
            "decision",
            "Bitte wählen: abhelfen, abhelfen und Wertung wieder eröffnen, oder zurückweisen.",
        )),
    };
    after(result, id, &form, &layout, &user, &db, &state).await
}

#[post("/ausschreibungen/<id>/nachpruefung", data = "<form>")]
async fn record(id: TenderId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let cmd = (|| -> AppResult<ReviewCommand> {
        let mut errors = FieldErrors::new();
        let lot_id = optional_lot(&form).unwrap_or_else(|e| {
            errors.extend(e.field_errors());
            None
        });
        let notified_at = moment(&form, "date", "time", "notified_at").unwrap_or_else(|e| {
            errors.extend(e.field_errors());
            chrono::NaiveDateTime::MIN
        });
        if !errors.is_empty() {
            return Err(AppError::fields(errors));
        }
        Ok(ReviewCommand {
            lot_id,
            chamber: form.get("chamber"),
            file_number: form.get("file_number"),
            notified_at,
        })
    })();
    let result = match cmd {
        Ok(cmd) => db
            .run(move |c| super::record_review(c, &st, &u, id, cmd))
            .await
            .map(|_| {
                "Der Nachprüfungsantrag ist eingetragen; bis auf Weiteres ist der Zuschlag gesperrt (§ 169 Abs. 1 GWB)."
                    .to_string()
            }),
        Err(e) => Err(e),
    };
    after(result, id, &form, &layout, &user, &db, &state).await
}

#[post("/ausschreibungen/<id>/nachpruefung/<review>/schritt", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn step(
    id: TenderId,
    review: ReviewId,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let step = (|| -> AppResult<ReviewStep> {
        let at = || moment(&form, "date", "time", "at");
        Ok(match form.get("step").as_str() {
            "decided_rejected" => ReviewStep::DecidedRejected(at()?),
            "decided_granted" => ReviewStep::DecidedGranted(at()?),
            "complied" => ReviewStep::Complied(at()?),
            "no_appeal" => ReviewStep::NoAppeal(at()?),
            "withdrawn" => ReviewStep::Withdrawn(at()?),
            "appeal_filed" => ReviewStep::AppealFiled(at()?),
            "appeal_decided" => ReviewStep::AppealDecided(at()?),
            "extended_until_decision" => ReviewStep::ExtendedUntilDecision,
            "extended_until" => ReviewStep::ExtendedUntil(
                read::query_date("date", Some(&form.get("date")))
                    .ok()
                    .flatten()
                    .ok_or_else(|| {
                        AppError::field("at", "Bitte den Tag angeben, bis zu dem verlängert ist (TT.MM.JJJJ).")
                    })?,
            ),
            _ => return Err(AppError::field("step", "Bitte wählen, was geschehen ist.")),
        })
    })();
    let result = match step {
        Ok(step) => db
            .run(move |c| super::record_review_step(c, &st, &u, id, review, step))
            .await
            .map(|_| "Der Verfahrensschritt ist eingetragen.".to_string()),
        Err(e) => Err(e),
    };
    after(result, id, &form, &layout, &user, &db, &state).await
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount("/", routes![page, file, answer, record, step])
}
