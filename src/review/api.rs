//! Complaints and review applications over the JSON API: the services of `crate::review` (and
//! `award::reopen`) with bearer tokens, in the words `complaint` and `review_application`.

use super::{AnswerCommand, ComplaintCommand, ComplaintView, ReviewCommand, ReviewStep, ReviewView};
use crate::api::body::push;
use crate::api::Body;
use crate::auth::ApiUser;
use crate::db::{Db, DbConn};
use crate::domain::ids::{ComplaintId, LotId, ReviewId, TenderId};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::AppState;
use chrono::NaiveDateTime;
use rocket::response::status;
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route};
use serde::Deserialize;
use utoipa::ToSchema;

fn instant(errors: &mut FieldErrors, field: &str, text: &str) -> Option<NaiveDateTime> {
    crate::api::body::instant(errors, field, "Der Zeitpunkt", text)
}

fn complaint_view(
    conn: &mut DbConn,
    user: &crate::auth::CurrentUser,
    tender_id: TenderId,
    id: ComplaintId,
) -> AppResult<ComplaintView> {
    super::complaints_of(conn, user, tender_id)?
        .into_iter()
        .find(|c| c.complaint.id == id)
        .ok_or(AppError::NotFound)
}

fn review_view(
    conn: &mut DbConn,
    state: &AppState,
    user: &crate::auth::CurrentUser,
    tender_id: TenderId,
    id: ReviewId,
) -> AppResult<ReviewView> {
    super::reviews_of(conn, user, &state.config.calendar(), state.clock.now_naive(), tender_id)?
        .into_iter()
        .find(|r| r.review.id == id)
        .ok_or(AppError::NotFound)
}

#[utoipa::path(
    tag = "Rügen und Nachprüfung",
    operation_id = "list_complaints",
    summary = "Rügen einer Ausschreibung: alle für die Genossenschaft, die eigenen für einen Lieferanten",
    params(("id" = i64, Path)),
    responses((status = 200, description = "Rügen", body = Vec<ComplaintView>))
)]
#[get("/tenders/<id>/complaints")]
async fn list_complaints(user: ApiUser, db: Db, id: TenderId) -> AppResult<Json<Vec<ComplaintView>>> {
    Ok(Json(
        db.run(move |c| {
            crate::tender::find_readable(c, &user.0, id)?;
            super::complaints_of(c, &user.0, id)
        })
        .await?,
    ))
}

/// A complaint (Rüge) on a tender or one of its lots.
#[derive(Deserialize, ToSchema)]
#[schema(as = ComplaintInput)]
struct ComplaintBody {
    /// Betroffenes Los; fehlt es, betrifft die Rüge die ganze Ausschreibung
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    lot_id: Option<LotId>,
    /// Welcher Verstoß gerügt wird und warum
    #[serde(default)]
    #[schema(min_length = 20, max_length = 8000)]
    text: String,
}

#[utoipa::path(
    tag = "Rügen und Nachprüfung",
    operation_id = "file_complaint",
    summary = "Rüge nach § 160 Abs. 3 GWB erheben (Lieferant); die Eingangsbestätigung mit Nummer geht per E-Mail",
    params(("id" = i64, Path)),
    request_body = ComplaintBody,
    responses((status = 201, description = "Rüge eingegangen", body = ComplaintView))
)]
#[post("/tenders/<id>/complaints", data = "<body>")]
async fn file_complaint(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    body: Body<ComplaintBody>,
) -> AppResult<status::Created<Json<ComplaintView>>> {
    let cmd = ComplaintCommand {
        lot_id: body.0.lot_id,
        text: body.0.text,
    };
    let u = user.0;
    let view = db
        .run(move |c| {
            let (cid, _) = super::file_complaint(c, &state, &u, id, cmd)?;
            complaint_view(c, &u, id, cid)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/tenders/{id}/complaints")).body(Json(view)))
}

/// The officer's answer to a complaint.
#[derive(Deserialize, ToSchema)]
#[schema(as = ComplaintAnswerInput)]
struct AnswerBody {
    /// `remedy` (abhelfen), `reopen` (abhelfen und die Wertung des Loses wieder eröffnen) oder
    /// `reject` (nicht abhelfen)
    #[serde(default)]
    #[schema(pattern = "^(remedy|reopen|reject)$")]
    decision: String,
    /// Begründung, geht an den Bieter
    #[serde(default)]
    #[schema(min_length = 10, max_length = 8000)]
    reason: String,
}

#[utoipa::path(
    tag = "Rügen und Nachprüfung",
    operation_id = "answer_complaint",
    summary = "Rüge beantworten (Vergabestelle): abhelfen, abhelfen und die Zuschlagsentscheidung des Loses zurücknehmen (neue Wertung, neue Information nach § 134 GWB), oder zurückweisen mit Hinweis auf § 160 Abs. 3 Satz 1 Nr. 4 GWB",
    params(("complaint" = i64, Path), ("id" = i64, Path)),
    request_body = AnswerBody,
    responses((status = 200, description = "Beantwortete Rüge", body = ComplaintView))
)]
#[post("/tenders/<id>/complaints/<complaint>/answer", data = "<body>")]
async fn answer_complaint(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    complaint: ComplaintId,
    body: Body<AnswerBody>,
) -> AppResult<Json<ComplaintView>> {
    let AnswerBody { decision, reason } = body.0;
    let u = user.0;
    let view = db
        .run(move |c| {
            match decision.as_str() {
                "reopen" => crate::award::reopen(c, &state, &u, id, complaint, &reason)?,
                "remedy" | "reject" => {
                    let cmd = AnswerCommand {
                        remedy: decision == "remedy",
                        reason,
                    };
                    super::answer(c, &state, &u, id, complaint, cmd)?;
                }
                _ => {
                    u.require(&[crate::domain::roles::Role::Officer])?;
                    return Err(AppError::field("decision", "Erlaubt sind remedy, reopen und reject."));
                }
            }
            complaint_view(c, &u, id, complaint)
        })
        .await?;
    Ok(Json(view))
}

#[utoipa::path(
    tag = "Rügen und Nachprüfung",
    operation_id = "list_review_applications",
    summary = "Nachprüfungsanträge einer Ausschreibung mit der Sperre des Zuschlags (Genossenschaft)",
    params(("id" = i64, Path)),
    responses((status = 200, description = "Nachprüfungsanträge", body = Vec<ReviewView>))
)]
#[get("/tenders/<id>/review-applications")]
async fn list_reviews(user: ApiUser, db: Db, state: AppState, id: TenderId) -> AppResult<Json<Vec<ReviewView>>> {
    user.0.require(crate::domain::policy::REVIEW_READERS)?;
    Ok(Json(
        db.run(move |c| {
            crate::tender::find_readable(c, &user.0, id)?;
            super::reviews_of(c, &user.0, &state.config.calendar(), state.clock.now_naive(), id)
        })
        .await?,
    ))
}

/// A review application the Vergabekammer notified.
#[derive(Deserialize, ToSchema)]
#[schema(as = ReviewApplicationInput)]
struct ReviewBody {
    /// Betroffenes Los; fehlt es, die ganze Ausschreibung
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    lot_id: Option<LotId>,
    /// Die Vergabekammer
    #[serde(default)]
    #[schema(min_length = 3, max_length = 200)]
    chamber: String,
    /// Aktenzeichen der Vergabekammer
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    file_number: String,
    /// Zeitpunkt der Mitteilung durch die Vergabekammer (§ 169 Abs. 1 GWB)
    #[serde(default)]
    #[schema(schema_with = crate::api::doc::instant)]
    notified_at: String,
}

#[utoipa::path(
    tag = "Rügen und Nachprüfung",
    operation_id = "record_review_application",
    summary = "Nachprüfungsantrag eintragen (Vergabestelle): ab der Mitteilung sind Zuschlagsentscheidung und Vertragsschluss des Loses oder der Ausschreibung gesperrt (§ 169 Abs. 1 GWB)",
    params(("id" = i64, Path)),
    request_body = ReviewBody,
    responses((status = 201, description = "Nachprüfungsantrag eingetragen", body = ReviewView))
)]
#[post("/tenders/<id>/review-applications", data = "<body>")]
async fn record_review(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    body: Body<ReviewBody>,
) -> AppResult<status::Created<Json<ReviewView>>> {
    user.0.require(&[crate::domain::roles::Role::Officer])?;
    let b = body.0;
    let mut errors = FieldErrors::new();
    let notified_at = instant(&mut errors, "notified_at", &b.notified_at);
    let Some(notified_at) = notified_at else {
        return Err(AppError::fields(errors));
    };
    let cmd = ReviewCommand {
        lot_id: b.lot_id,
        chamber: b.chamber,
        file_number: b.file_number,
        notified_at,
    };
    let u = user.0;
    let view = db
        .run(move |c| {
            let rid = super::record_review(c, &state, &u, id, cmd)?;
            review_view(c, &state, &u, id, rid)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/tenders/{id}/review-applications")).body(Json(view)))
}

/// A step of a review application after its notification.
#[derive(Deserialize, ToSchema)]
#[schema(as = ReviewStepInput)]
struct StepBody {
    /// `decided_rejected` (ablehnende Entscheidung dem Antragsteller zugestellt),
    /// `decided_granted` (stattgebende Entscheidung zugestellt), `complied` (angeordnete
    /// Maßnahmen umgesetzt), `no_appeal` (nach Ablauf der Beschwerdefrist: keine Beschwerde),
    /// `withdrawn`, `appeal_filed`, `extended_until`, `extended_until_decision`, `appeal_decided`
    #[serde(default)]
    #[schema(
        pattern = "^(decided_rejected|decided_granted|complied|no_appeal|withdrawn|appeal_filed|extended_until|extended_until_decision|appeal_decided)$"
    )]
    step: String,
    /// Zeitpunkt des Schritts (außer bei den Verlängerungen)
    #[serde(default)]
    #[schema(schema_with = crate::api::doc::instant)]
    at: Option<String>,
    /// Bei `extended_until`: der Tag, bis zu dem das Beschwerdegericht verlängert hat
    #[serde(default)]
    until: Option<chrono::NaiveDate>,
}

#[utoipa::path(
    tag = "Rügen und Nachprüfung",
    operation_id = "record_review_step",
    summary = "Schritt eines Nachprüfungsverfahrens eintragen (Vergabestelle): Entscheidung, Rücknahme, sofortige Beschwerde, Verlängerung der aufschiebenden Wirkung, Beschwerdeentscheidung",
    params(("id" = i64, Path), ("review" = i64, Path)),
    request_body = StepBody,
    responses((status = 200, description = "Nachprüfungsantrag mit Sperre", body = ReviewView))
)]
#[post("/tenders/<id>/review-applications/<review>/steps", data = "<body>")]
async fn record_step(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    review: ReviewId,
    body: Body<StepBody>,
) -> AppResult<Json<ReviewView>> {
    user.0.require(&[crate::domain::roles::Role::Officer])?;
    let b = body.0;
    let mut errors = FieldErrors::new();
    let mut at = || instant(&mut errors, "at", b.at.as_deref().unwrap_or_default());
    let step = match b.step.as_str() {
        "decided_rejected" => at().map(ReviewStep::DecidedRejected),
        "decided_granted" => at().map(ReviewStep::DecidedGranted),
        "complied" => at().map(ReviewStep::Complied),
        "no_appeal" => at().map(ReviewStep::NoAppeal),
        "withdrawn" => at().map(ReviewStep::Withdrawn),
        "appeal_filed" => at().map(ReviewStep::AppealFiled),
        "appeal_decided" => at().map(ReviewStep::AppealDecided),
        "extended_until_decision" => Some(ReviewStep::ExtendedUntilDecision),
        "extended_until" => match b.until {
            Some(day) => Some(ReviewStep::ExtendedUntil(day)),
            None => {
                push(
                    &mut errors,
                    "until",
                    "Bitte den Tag angeben, bis zu dem verlängert ist.",
                );
                None
            }
        },
        _ => {
            push(
                &mut errors,
                "step",
                "Erlaubt sind decided_rejected, decided_granted, complied, no_appeal, withdrawn, appeal_filed, extended_until, extended_until_decision und appeal_decided.",
            );
            None
        }
    };
    let Some(step) = step else {
        return Err(AppError::fields(errors));
    };
    let u = user.0;
    let view = db
        .run(move |c| {
            super::record_review_step(c, &state, &u, id, review, step)?;
            review_view(c, &state, &u, id, review)
        })
        .await?;
    Ok(Json(view))
}

pub fn routes() -> Vec<Route> {
    routes![
        list_complaints,
        file_complaint,
        answer_complaint,
        list_reviews,
        record_review,
        record_step
    ]
}
