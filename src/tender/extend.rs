//! Extending the bid deadline of a published tender (§ 20 (3) VgV): when an answer came later
//! than six (four) days before the deadline, when the documents changed significantly, or for
//! another stated reason; every vendor is mailed, the extension is recorded and audited.

use super::publish::{mail_context, mail_vendors};
use super::{find_locked, Tender};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{deadline_extensions, tender_questions, tenders};
use crate::db::{write_tx, DbConn};
use crate::domain::ids::{TenderId, UserId};
use crate::domain::roles::Role;
use crate::domain::tender::{self as rules, ExtensionReason};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

/// What the officer decides.
#[derive(Debug, Clone)]
pub struct ExtensionCommand {
    /// The new deadline (UTC).
    pub new_deadline: NaiveDateTime,
    pub reason: ExtensionReason,
    pub note: String,
}

/// An extension as recorded.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = deadline_extensions)]
#[schema(as = DeadlineExtension)]
pub struct Extension {
    pub old_deadline: NaiveDateTime,
    pub new_deadline: NaiveDateTime,
    pub reason: ExtensionReason,
    pub note: String,
    #[schema(value_type = i64)]
    pub extended_by: UserId,
    pub extended_at: NaiveDateTime,
}

/// The extensions of a tender, oldest first (public: the deadline is).
pub fn extensions(conn: &mut DbConn, tender_id: TenderId) -> AppResult<Vec<Extension>> {
    Ok(deadline_extensions::table
        .filter(deadline_extensions::tender_id.eq(tender_id))
        .order(deadline_extensions::id.asc())
        .select(Extension::as_select())
        .load(conn)?)
}

/// The answers of a tender that came too late for its current deadline (§ 20 (3) sentence 1
/// no. 1 VgV), as their answer times: each one requires an extension.
pub fn late_answers(conn: &mut DbConn, t: &Tender) -> AppResult<Vec<NaiveDateTime>> {
    let answered: Vec<NaiveDateTime> = tender_questions::table
        .filter(tender_questions::tender_id.eq(t.id))
        .filter(tender_questions::answered_at.is_not_null())
        .select(tender_questions::answered_at.assume_not_null())
        .load(conn)?;
    Ok(answered
        .into_iter()
        .filter(|a| rules::answer_late(t.bid_deadline, *a, t.urgency_reason.as_deref()))
        .collect())
}

/// Extends the bid deadline of a published tender whose deadline has not passed. For a late
/// answer the new deadline must leave the six (four) full days after the latest such answer.
/// Every vendor is mailed the new deadline; bids already submitted stay valid.
pub fn extend_deadline(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    cmd: ExtensionCommand,
) -> AppResult<usize> {
    user.require(&[Role::Officer])?;
    let note = cmd.note.trim().to_string();
    if !(10..=2000).contains(&note.chars().count()) {
        return Err(AppError::field(
            "note",
            "Bitte begründen Sie die Verlängerung (10 bis 2000 Zeichen); die Begründung geht an alle Lieferanten und in den Vergabevermerk.",
        ));
    }
    write_tx(conn, |c| {
        let t = find_locked(c, tender_id)?;
        let now = state.clock.now_naive();
        if !t.accepts_bids(now) {
            return Err(AppError::Conflict(
                "Verlängern lässt sich nur die laufende Angebotsfrist einer veröffentlichten Ausschreibung.".into(),
            ));
        }
        let mut errors = FieldErrors::new();
        if cmd.new_deadline <= t.bid_deadline {
            errors
                .entry("new_deadline".into())
                .or_default()
                .push("Die neue Angebotsfrist muss nach der bisherigen liegen.".into());
        }
        if cmd.reason == ExtensionReason::LateAnswer {
            match late_answers(c, &t)?.into_iter().max() {
                None => errors.entry("reason".into()).or_default().push(
                    "Keine Antwort kam später als 6 (bei Dringlichkeit 4) Tage vor Fristablauf; bitte einen anderen Grund wählen."
                        .into(),
                ),
                Some(latest) => {
                    let first = rules::first_deadline_day_after_answer(latest, t.urgency_reason.as_deref());
                    if rules::answer_late(cmd.new_deadline, latest, t.urgency_reason.as_deref()) {
                        errors.entry("new_deadline".into()).or_default().push(format!(
                            "Die Antwort vom {} muss mindestens {} volle Tage vor der neuen Frist liegen (§ 20 Abs. 3 Satz 1 Nr. 1 VgV): frühestens am {}.",
                            crate::domain::period::berlin_day(latest.and_utc()).format("%d.%m.%Y"),
                            rules::answer_days(t.urgency_reason.as_deref()),
                            first.format("%d.%m.%Y")
                        ));
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(AppError::fields(errors));
        }
        diesel::update(tenders::table.find(tender_id))
            .set(tenders::bid_deadline.eq(cmd.new_deadline))
            .execute(c)?;
        diesel::insert_into(deadline_extensions::table)
            .values((
                deadline_extensions::tender_id.eq(tender_id),
                deadline_extensions::old_deadline.eq(t.bid_deadline),
                deadline_extensions::new_deadline.eq(cmd.new_deadline),
                deadline_extensions::reason.eq(cmd.reason),
                deadline_extensions::note.eq(&note),
                deadline_extensions::extended_by.eq(user.id),
                deadline_extensions::extended_at.eq(now),
            ))
            .execute(c)?;
        let mut ctx = mail_context(state, &t);
        ctx["old_deadline"] = json!(t.bid_deadline);
        ctx["bid_deadline"] = json!(cmd.new_deadline);
        ctx["reason"] = json!(cmd.reason.label());
        ctx["note"] = json!(note);
        let mailed = mail_vendors(c, state, "tender_extended", &ctx)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.deadline_extended",
                "tender",
                tender_id,
                json!({ "old_deadline": t.bid_deadline, "new_deadline": cmd.new_deadline, "ground": cmd.reason,
                        "reason_label": cmd.reason.label(), "note": note, "mails": mailed }),
            ),
        )?;
        Ok(mailed)
    })
}
