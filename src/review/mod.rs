//! Complaints and review: a vendor's Rüge (§ 160 (3) GWB) on a tender or lot with the officer's
//! answer, and the review applications the Vergabekammer notified, which bar the Zuschlag.

pub mod api;
pub mod routes;

use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{complaints, organisations, review_applications, tender_lots, users};
use crate::db::{write_tx, DbConn};
use crate::domain::ids::{ComplaintId, LotId, OrgId, ReviewId, TenderId, UserId};
use crate::domain::period::Calendar;
use crate::domain::review::{Bar, Review};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::tender;
use crate::{mail, AppState};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

crate::coded_enum!(
    /// Where a complaint stands: waiting for the answer, remedied, or rejected.
    ComplaintStatus {
        Open => "open", "offen",
        Remedied => "remedied", "abgeholfen",
        Rejected => "rejected", "zurückgewiesen",
    }
);

/// § 160 (3) sentence 1 no. 4 GWB: a review application is inadmissible more than 15 calendar
/// days after the contracting authority's notice that it will not remedy a complaint.
pub const REVIEW_DAYS_AFTER_REJECTION: i64 = 15;

/// A complaint as stored.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = complaints)]
pub struct Complaint {
    #[schema(value_type = i64)]
    pub id: ComplaintId,
    #[schema(value_type = i64)]
    pub tender_id: TenderId,
    #[schema(value_type = Option<i64>)]
    pub lot_id: Option<LotId>,
    #[schema(value_type = i64)]
    pub vendor_id: OrgId,
    #[schema(value_type = i64)]
    pub filed_by: UserId,
    pub filed_at: NaiveDateTime,
    pub text: String,
    pub status: ComplaintStatus,
    pub answer: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub answered_by: Option<UserId>,
    pub answered_at: Option<NaiveDateTime>,
}

impl Complaint {
    /// The receipt number the vendor is given.
    pub fn number(&self) -> String {
        complaint_number(self.id, self.filed_at)
    }
}

/// "RÜ-<year>-<id>", the year of the Berlin day the complaint came in (UTC would give a
/// complaint filed at 00:30 on New Year's Day the old year).
pub fn complaint_number(id: ComplaintId, filed_at: NaiveDateTime) -> String {
    use chrono::Datelike;
    let year = crate::domain::period::berlin_day(filed_at.and_utc()).year();
    format!("RÜ-{year}-{:04}", id.get())
}

/// A complaint with the names a page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComplaintView {
    #[serde(flatten)]
    pub complaint: Complaint,
    pub number: String,
    pub vendor: String,
    pub status_label: &'static str,
    /// Losnummer, wenn die Rüge ein Los betrifft
    pub lot_no: Option<i32>,
}

/// A review application as stored.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = review_applications)]
#[schema(as = ReviewApplication)]
pub struct ReviewRow {
    #[schema(value_type = i64)]
    pub id: ReviewId,
    #[schema(value_type = i64)]
    pub tender_id: TenderId,
    #[schema(value_type = Option<i64>)]
    pub lot_id: Option<LotId>,
    pub chamber: String,
    pub file_number: String,
    pub notified_at: NaiveDateTime,
    #[schema(value_type = i64)]
    pub recorded_by: UserId,
    pub recorded_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_granted: bool,
    pub complied_at: Option<NaiveDateTime>,
    pub no_appeal_confirmed_at: Option<NaiveDateTime>,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub appeal_filed_at: Option<NaiveDateTime>,
    pub bar_extended_until: Option<NaiveDate>,
    pub bar_extended_until_decision: bool,
    pub appeal_decided_at: Option<NaiveDateTime>,
}

impl ReviewRow {
    pub fn rule(&self) -> Review {
        Review {
            chamber: self.chamber.clone(),
            file_number: self.file_number.clone(),
            notified_at: self.notified_at.and_utc(),
            decided_at: self.decided_at.map(|t| t.and_utc()),
            decision_granted: self.decision_granted,
            complied_at: self.complied_at.map(|t| t.and_utc()),
            no_appeal_confirmed_at: self.no_appeal_confirmed_at.map(|t| t.and_utc()),
            withdrawn_at: self.withdrawn_at.map(|t| t.and_utc()),
            appeal_filed_at: self.appeal_filed_at.map(|t| t.and_utc()),
            bar_extended_until: self.bar_extended_until,
            bar_extended_until_decision: self.bar_extended_until_decision,
            appeal_decided_at: self.appeal_decided_at.map(|t| t.and_utc()),
        }
    }
}

/// A review application with its bar as things stand.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    #[serde(flatten)]
    pub review: ReviewRow,
    /// Losnummer, wenn der Antrag ein Los betrifft
    pub lot_no: Option<i32>,
    /// Ob der Zuschlag jetzt gesperrt ist
    pub bars_now: bool,
    /// Warum und bis wann der Zuschlag gesperrt ist
    pub bar: Option<String>,
}

fn lot_no(conn: &mut DbConn, lot: Option<LotId>) -> AppResult<Option<i32>> {
    Ok(match lot {
        Some(id) => Some(tender_lots::table.find(id).select(tender_lots::lot_no).first(conn)?),
        None => None,
    })
}

/// The complaints on a tender `user` may read: all for the cooperative, its own for a vendor,
/// none for a member's buyer (a complaint is between the bidder and the contracting authority).
pub fn complaints_of(conn: &mut DbConn, user: &CurrentUser, tender_id: TenderId) -> AppResult<Vec<ComplaintView>> {
    let q = complaints::table
        .inner_join(organisations::table)
        .filter(complaints::tender_id.eq(tender_id))
        .order(complaints::id.asc())
        .select((Complaint::as_select(), organisations::name))
        .into_boxed();
    let q = if user.is_cooperative() {
        q
    } else if user.is(Role::Vendor) {
        q.filter(complaints::vendor_id.eq(user.organisation_id))
    } else {
        return Ok(Vec::new());
    };
    let rows: Vec<(Complaint, String)> = q.load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (complaint, vendor) in rows {
        out.push(ComplaintView {
            number: complaint.number(),
            status_label: complaint.status.label(),
            lot_no: lot_no(conn, complaint.lot_id)?,
            vendor,
            complaint,
        });
    }
    Ok(out)
}

/// The review applications on a tender, for the cooperative.
pub fn reviews_of(
    conn: &mut DbConn,
    user: &CurrentUser,
    calendar: &Calendar,
    now: NaiveDateTime,
    tender_id: TenderId,
) -> AppResult<Vec<ReviewView>> {
    if !user.is_cooperative() {
        return Ok(Vec::new());
    }
    let rows: Vec<ReviewRow> = review_applications::table
        .filter(review_applications::tender_id.eq(tender_id))
        .order(review_applications::id.asc())
        .select(ReviewRow::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for review in rows {
        let rule = review.rule();
        let bar = match rule.bar(calendar) {
            Bar::Free => None,
            Bar::Until(_, why) | Bar::Open(why) => Some(why),
        };
        out.push(ReviewView {
            lot_no: lot_no(conn, review.lot_id)?,
            bars_now: rule.barred_at(now.and_utc(), calendar).is_some(),
            bar,
            review,
        });
    }
    Ok(out)
}

/// Refuses the Zuschlag (the conclusion of the contract) on `lot_id` of a tender while a review
/// application on the tender or that lot bars it (§ 169 (1) GWB). Every path that concludes
/// goes through `award::conclude`, which calls this inside its transaction. The award decision
/// and its § 134 information stay possible: a new decision is how a review is often settled.
pub fn require_no_bar(conn: &mut DbConn, state: &AppState, tender_id: TenderId, lot_id: LotId) -> AppResult<()> {
    let rows: Vec<ReviewRow> = review_applications::table
        .filter(review_applications::tender_id.eq(tender_id))
        .filter(
            review_applications::lot_id
                .is_null()
                .or(review_applications::lot_id.eq(lot_id)),
        )
        .select(ReviewRow::as_select())
        .load(conn)?;
    let (now, calendar) = (state.clock.now(), state.config.calendar());
    let bars: Vec<String> = rows.iter().filter_map(|r| r.rule().barred_at(now, &calendar)).collect();
    if bars.is_empty() {
        Ok(())
    } else {
        Err(AppError::Conflict(bars.join(" ")))
    }
}

/// What a vendor files.
#[derive(Debug, Clone)]
pub struct ComplaintCommand {
    pub lot_id: Option<LotId>,
    pub text: String,
}

/// A vendor files a complaint on a published tender (or one of its lots): stored, confirmed
/// with a receipt number by mail, and announced to the officers. Returns its id and number.
pub fn file_complaint(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    cmd: ComplaintCommand,
) -> AppResult<(ComplaintId, String)> {
    user.require(&[Role::Vendor])?;
    let text = cmd.text.trim().to_string();
    if !(20..=8000).contains(&text.chars().count()) {
        return Err(AppError::field(
            "text",
            "Bitte beschreiben Sie, welchen Verstoß Sie rügen und warum (20 bis 8000 Zeichen).",
        ));
    }
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        tender::check_read(user, &t)?;
        if !t.is_published() {
            return Err(AppError::NotFound);
        }
        if let Some(lot) = cmd.lot_id {
            tender_lots::table
                .find(lot)
                .filter(tender_lots::tender_id.eq(tender_id))
                .select(tender_lots::id)
                .first::<LotId>(c)
                .optional()?
                .ok_or_else(|| AppError::field("lot_id", "Dieses Los gehört nicht zur Ausschreibung."))?;
        }
        let now = state.clock.now_naive();
        let id: ComplaintId = diesel::insert_into(complaints::table)
            .values((
                complaints::tender_id.eq(tender_id),
                complaints::lot_id.eq(cmd.lot_id),
                complaints::vendor_id.eq(user.organisation_id),
                complaints::filed_by.eq(user.id),
                complaints::filed_at.eq(now),
                complaints::text.eq(&text),
                complaints::status.eq(ComplaintStatus::Open),
            ))
            .returning(complaints::id)
            .get_result(c)?;
        let number = complaint_number(id, now);
        let url = format!("{}/ausschreibungen/{tender_id}#ruegen", state.config.base_url);
        mail::enqueue(
            c,
            state,
            &user.email,
            "complaint_receipt",
            &json!({ "name": user.name, "title": t.title, "number": number, "filed_at": now, "text": text, "url": url }),
        )?;
        for (email, name) in officers(c)? {
            mail::enqueue(
                c,
                state,
                &email,
                "complaint_filed",
                &json!({ "name": name, "title": t.title, "number": number, "vendor": user.organisation_name, "text": text, "url": url }),
            )?;
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "complaint.filed",
                "tender",
                tender_id,
                json!({ "complaint_id": id, "complaint_number": number, "lot_id": cmd.lot_id, "vendor": user.organisation_name, "text": text }),
            ),
        )?;
        Ok((id, number))
    })
}

fn officers(conn: &mut DbConn) -> AppResult<Vec<(String, String)>> {
    Ok(users::table
        .filter(users::role.eq(Role::Officer))
        .filter(users::active.eq(true))
        .select((users::email, users::name))
        .load(conn)?)
}

/// The officer's answer to a complaint.
#[derive(Debug, Clone)]
pub struct AnswerCommand {
    pub remedy: bool,
    pub reason: String,
}

/// Answers an open complaint inside the caller's transaction (remedy or rejection, with
/// reasons) and mails the vendor; a rejection names the 15 days of § 160 (3) no. 4 GWB. The
/// award module calls this too when a remedy reopens a lot's evaluation.
pub fn answer_in(
    c: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    complaint_id: ComplaintId,
    cmd: &AnswerCommand,
) -> AppResult<Complaint> {
    user.require(&[Role::Officer])?;
    let reason = cmd.reason.trim();
    if !(10..=8000).contains(&reason.chars().count()) {
        return Err(AppError::field(
            "reason",
            "Bitte begründen Sie die Antwort auf die Rüge (10 bis 8000 Zeichen).",
        ));
    }
    let t = tender::find_locked(c, tender_id)?;
    let complaint: Complaint = complaints::table
        .find(complaint_id)
        .filter(complaints::tender_id.eq(tender_id))
        .select(Complaint::as_select())
        .first(c)?;
    if complaint.status != ComplaintStatus::Open {
        return Err(AppError::Conflict("Diese Rüge ist bereits beantwortet.".into()));
    }
    let now = state.clock.now_naive();
    let status = if cmd.remedy {
        ComplaintStatus::Remedied
    } else {
        ComplaintStatus::Rejected
    };
    diesel::update(complaints::table.find(complaint_id))
        .set((
            complaints::status.eq(status),
            complaints::answer.eq(Some(reason)),
            complaints::answered_by.eq(Some(user.id)),
            complaints::answered_at.eq(Some(now)),
        ))
        .execute(c)?;
    // Every active user of the firm: the 15 days of § 160 (3) no. 4 run from receipt by the
    // firm, whoever filed the complaint.
    let mut recipients: Vec<(String, String)> = users::table
        .filter(users::organisation_id.eq(complaint.vendor_id))
        .filter(users::active.eq(true))
        .filter(users::role.eq(Role::Vendor))
        .select((users::email, users::name))
        .load(c)?;
    if recipients.is_empty() {
        recipients = users::table
            .find(complaint.filed_by)
            .select((users::email, users::name))
            .load(c)?;
    }
    for (email, name) in recipients {
        mail::enqueue(
            c,
            state,
            &email,
            "complaint_answered",
            &json!({ "name": name, "title": t.title, "number": complaint.number(), "remedy": cmd.remedy, "reason": reason,
                     "days": REVIEW_DAYS_AFTER_REJECTION }),
        )?;
    }
    audit::record(
        c,
        &state.clock,
        &user.actor(),
        Event::new(
            "complaint.answered",
            "tender",
            tender_id,
            json!({ "complaint_id": complaint_id, "complaint_number": complaint.number(), "status": status, "status_label": status.label(), "reason": reason }),
        ),
    )?;
    Ok(Complaint {
        status,
        answer: Some(reason.to_string()),
        answered_by: Some(user.id),
        answered_at: Some(now),
        ..complaint
    })
}

/// Answers a complaint in its own transaction.
pub fn answer(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    complaint_id: ComplaintId,
    cmd: AnswerCommand,
) -> AppResult<Complaint> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| answer_in(c, state, user, tender_id, complaint_id, &cmd))
}

/// What the officer records of a review application the chamber notified.
#[derive(Debug, Clone)]
pub struct ReviewCommand {
    pub lot_id: Option<LotId>,
    pub chamber: String,
    pub file_number: String,
    /// When the chamber notified the cooperative (UTC).
    pub notified_at: NaiveDateTime,
}

/// Records a review application: from its notification the Zuschlag on the tender (or lot) is
/// barred on every path (`require_no_bar`).
pub fn record_review(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    cmd: ReviewCommand,
) -> AppResult<ReviewId> {
    user.require(&[Role::Officer])?;
    let (chamber, file_number) = (cmd.chamber.trim().to_string(), cmd.file_number.trim().to_string());
    let mut errors = crate::error::FieldErrors::new();
    if !(3..=200).contains(&chamber.chars().count()) {
        errors
            .entry("chamber".into())
            .or_default()
            .push("Bitte die Vergabekammer nennen (z. B. Vergabekammer Hessen).".into());
    }
    if !(1..=100).contains(&file_number.chars().count()) {
        errors
            .entry("file_number".into())
            .or_default()
            .push("Bitte das Aktenzeichen der Vergabekammer angeben.".into());
    }
    let now = state.clock.now_naive();
    if cmd.notified_at > now {
        errors
            .entry("notified_at".into())
            .or_default()
            .push("Die Mitteilung der Vergabekammer liegt in der Zukunft; bitte Datum und Uhrzeit prüfen.".into());
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        if !t.is_published() {
            return Err(AppError::Conflict(
                "Ein Nachprüfungsantrag setzt eine veröffentlichte Ausschreibung voraus.".into(),
            ));
        }
        if let Some(lot) = cmd.lot_id {
            tender_lots::table
                .find(lot)
                .filter(tender_lots::tender_id.eq(tender_id))
                .select(tender_lots::id)
                .first::<LotId>(c)
                .optional()?
                .ok_or_else(|| AppError::field("lot_id", "Dieses Los gehört nicht zur Ausschreibung."))?;
        }
        let id: ReviewId = diesel::insert_into(review_applications::table)
            .values((
                review_applications::tender_id.eq(tender_id),
                review_applications::lot_id.eq(cmd.lot_id),
                review_applications::chamber.eq(&chamber),
                review_applications::file_number.eq(&file_number),
                review_applications::notified_at.eq(cmd.notified_at),
                review_applications::recorded_by.eq(user.id),
                review_applications::recorded_at.eq(now),
            ))
            .returning(review_applications::id)
            .get_result(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "review.recorded",
                "tender",
                tender_id,
                json!({ "review_id": id, "lot_id": cmd.lot_id, "chamber": chamber, "file_number": file_number, "notified_at": cmd.notified_at }),
            ),
        )?;
        Ok(id)
    })
}

/// A step of a review after its notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStep {
    /// The chamber's decision rejecting (or dismissing) the application was served on the
    /// applicant at this moment.
    DecidedRejected(NaiveDateTime),
    /// The chamber's decision granting the application was served at this moment.
    DecidedGranted(NaiveDateTime),
    /// What a granting decision ordered was carried out at this moment.
    Complied(NaiveDateTime),
    /// After the appeal period: no appeal was filed (confirmed at this moment).
    NoAppeal(NaiveDateTime),
    /// The application was withdrawn at this moment.
    Withdrawn(NaiveDateTime),
    /// An immediate appeal was filed at this moment.
    AppealFiled(NaiveDateTime),
    /// The appeal court extended the bar until this day.
    ExtendedUntil(NaiveDate),
    /// The appeal court extended the bar until its decision.
    ExtendedUntilDecision,
    /// The appeal court decided at this moment.
    AppealDecided(NaiveDateTime),
}

impl ReviewStep {
    /// German words for the record.
    fn label(self) -> &'static str {
        match self {
            ReviewStep::DecidedRejected(_) => "ablehnende Entscheidung der Vergabekammer zugestellt",
            ReviewStep::DecidedGranted(_) => "stattgebende Entscheidung der Vergabekammer zugestellt",
            ReviewStep::Complied(_) => "angeordnete Maßnahmen umgesetzt",
            ReviewStep::NoAppeal(_) => "keine sofortige Beschwerde eingelegt",
            ReviewStep::Withdrawn(_) => "Antrag zurückgenommen",
            ReviewStep::AppealFiled(_) => "sofortige Beschwerde eingelegt",
            ReviewStep::ExtendedUntil(_) => "aufschiebende Wirkung verlängert",
            ReviewStep::ExtendedUntilDecision => "aufschiebende Wirkung bis zur Beschwerdeentscheidung verlängert",
            ReviewStep::AppealDecided(_) => "Beschwerdegericht hat entschieden",
        }
    }

    fn code(self) -> &'static str {
        match self {
            ReviewStep::DecidedRejected(_) => "decided_rejected",
            ReviewStep::DecidedGranted(_) => "decided_granted",
            ReviewStep::Complied(_) => "complied",
            ReviewStep::NoAppeal(_) => "no_appeal",
            ReviewStep::Withdrawn(_) => "withdrawn",
            ReviewStep::AppealFiled(_) => "appeal_filed",
            ReviewStep::ExtendedUntil(_) => "extended_until",
            ReviewStep::ExtendedUntilDecision => "extended_until_decision",
            ReviewStep::AppealDecided(_) => "appeal_decided",
        }
    }
}

/// Records a step of a review application, in the order the procedure allows.
pub fn record_review_step(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    review_id: ReviewId,
    step: ReviewStep,
) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    let now = state.clock.now_naive();
    write_tx(conn, |c| {
        tender::find_locked(c, tender_id)?;
        let r: ReviewRow = review_applications::table
            .find(review_id)
            .filter(review_applications::tender_id.eq(tender_id))
            .select(ReviewRow::as_select())
            .first(c)?;
        let conflict = |m: &str| Err(AppError::Conflict(m.to_string()));
        if r.withdrawn_at.is_some() {
            return conflict("Der Antrag ist zurückgenommen; das Verfahren ist beendet.");
        }
        let at = match step {
            ReviewStep::DecidedRejected(at)
            | ReviewStep::DecidedGranted(at)
            | ReviewStep::Complied(at)
            | ReviewStep::NoAppeal(at)
            | ReviewStep::Withdrawn(at)
            | ReviewStep::AppealFiled(at)
            | ReviewStep::AppealDecided(at) => Some(at),
            _ => None,
        };
        if let Some(at) = at {
            if at > now {
                return Err(AppError::field("at", "Der Zeitpunkt liegt in der Zukunft."));
            }
            if at < r.notified_at {
                return Err(AppError::field(
                    "at",
                    "Der Zeitpunkt liegt vor der Mitteilung des Nachprüfungsantrags.",
                ));
            }
        }
        let target = review_applications::table.find(review_id);
        match step {
            ReviewStep::DecidedRejected(at) | ReviewStep::DecidedGranted(at) => {
                if r.decided_at.is_some() {
                    return conflict("Die Entscheidung der Vergabekammer ist bereits eingetragen.");
                }
                diesel::update(target)
                    .set((
                        review_applications::decided_at.eq(Some(at)),
                        review_applications::decision_granted.eq(matches!(step, ReviewStep::DecidedGranted(_))),
                    ))
                    .execute(c)?;
            }
            ReviewStep::Complied(at) => {
                if !r.decision_granted || r.decided_at.is_none_or(|d| at < d) {
                    return conflict("Umsetzen lassen sich nur Maßnahmen einer stattgebenden Entscheidung, nach ihr.");
                }
                diesel::update(target)
                    .set(review_applications::complied_at.eq(Some(at)))
                    .execute(c)?;
            }
            ReviewStep::NoAppeal(at) => {
                let Some(decided) = r.decided_at.filter(|_| !r.decision_granted) else {
                    return conflict("Keine Beschwerde lässt sich nur nach einer ablehnenden Entscheidung eintragen.");
                };
                let appeal_end = crate::domain::period::days_from(
                    decided.and_utc(),
                    crate::domain::review::APPEAL_DAYS,
                    &state.config.calendar(),
                )
                .ends_at;
                if r.appeal_filed_at.is_some() || at.and_utc() < appeal_end {
                    return conflict("Dass keine Beschwerde eingelegt wurde, steht erst nach Ablauf der Beschwerdefrist fest, und nur, wenn keine eingetragen ist.");
                }
                diesel::update(target)
                    .set(review_applications::no_appeal_confirmed_at.eq(Some(at)))
                    .execute(c)?;
            }
            ReviewStep::Withdrawn(at) => {
                if r.decided_at.is_some() {
                    return conflict(
                        "Nach der Entscheidung der Vergabekammer lässt sich keine Rücknahme mehr eintragen.",
                    );
                }
                diesel::update(target)
                    .set(review_applications::withdrawn_at.eq(Some(at)))
                    .execute(c)?;
            }
            ReviewStep::AppealFiled(at) => {
                if r.decided_at.is_none_or(|d| at < d) {
                    return conflict("Eine sofortige Beschwerde folgt auf die Entscheidung der Vergabekammer; bitte diese zuerst eintragen.");
                }
                diesel::update(target)
                    .set(review_applications::appeal_filed_at.eq(Some(at)))
                    .execute(c)?;
            }
            ReviewStep::ExtendedUntil(day) => {
                if r.appeal_filed_at.is_none() {
                    return conflict("Eine Verlängerung setzt eine sofortige Beschwerde voraus.");
                }
                diesel::update(target)
                    .set(review_applications::bar_extended_until.eq(Some(day)))
                    .execute(c)?;
            }
            ReviewStep::ExtendedUntilDecision => {
                if r.appeal_filed_at.is_none() {
                    return conflict("Eine Verlängerung setzt eine sofortige Beschwerde voraus.");
                }
                diesel::update(target)
                    .set(review_applications::bar_extended_until_decision.eq(true))
                    .execute(c)?;
            }
            ReviewStep::AppealDecided(at) => {
                if r.appeal_filed_at.is_none_or(|a| at < a) {
                    return conflict("Eine Beschwerdeentscheidung setzt eine sofortige Beschwerde voraus.");
                }
                diesel::update(target)
                    .set(review_applications::appeal_decided_at.eq(Some(at)))
                    .execute(c)?;
            }
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "review.updated",
                "tender",
                tender_id,
                json!({ "review_id": review_id, "step": step.code(), "step_label": step.label(), "at": at,
                        "until": match step { ReviewStep::ExtendedUntil(d) => Some(d), _ => None } }),
            ),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receipt_number_takes_the_berlin_year() {
        // 00:30 on New Year's Day in Wiesbaden is still 31 December in UTC.
        let filed = chrono::NaiveDate::from_ymd_opt(2026, 12, 31)
            .unwrap()
            .and_hms_opt(23, 30, 0)
            .unwrap();
        assert_eq!(complaint_number(ComplaintId(7), filed), "RÜ-2027-0007");
        let filed = filed - chrono::Duration::hours(1);
        assert_eq!(complaint_number(ComplaintId(7), filed), "RÜ-2026-0007");
    }
}
