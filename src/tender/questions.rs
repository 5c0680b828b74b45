//! Vendors' questions and the officer's answers, shown to every vendor without the asker.

use super::bids;
use super::{find_locked, find_readable, mail_context, mail_vendors, stream, PublicQuestion};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{tender_questions, users};
use crate::db::{write_tx, DbConn};
use crate::domain::ids::{OrgId, QuestionId, TenderId, UserId};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::{mail, AppState};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

/// A vendor's question; the answer follows later.
#[derive(Insertable)]
#[diesel(table_name = tender_questions)]
struct NewQuestion<'a> {
    tender_id: TenderId,
    vendor_id: OrgId,
    asked_by: UserId,
    question: &'a str,
    asked_at: NaiveDateTime,
}

/// A vendor asks a question about a published tender before its deadline.
pub fn ask(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: TenderId,
    question: &str,
) -> AppResult<QuestionId> {
    user.require(&[Role::Vendor])?;
    let question = question.trim();
    if !(5..=4000).contains(&question.chars().count()) {
        return Err(AppError::field(
            "question",
            "Bitte formulieren Sie Ihre Frage (5 bis 4000 Zeichen).",
        ));
    }
    write_tx(conn, |c| {
        let t = find_readable(c, user, id)?;
        if !t.accepts_bids(state.clock.now_naive()) {
            return Err(AppError::Conflict(
                "Fragen sind nur bis zum Ablauf der Angebotsfrist möglich.".into(),
            ));
        }
        bids::require_approved_vendor(c, user)?;
        let qid: QuestionId = diesel::insert_into(tender_questions::table)
            .values(NewQuestion {
                tender_id: id,
                vendor_id: user.organisation_id,
                asked_by: user.id,
                question,
                asked_at: state.clock.now_naive(),
            })
            .returning(tender_questions::id)
            .get_result(c)?;
        // The question goes into the record (the Vergabevermerk needs it); who asked is the
        // event's actor, visible to the cooperative only, never to other vendors.
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.question_asked",
                "tender",
                id,
                json!({ "question_id": qid, "question": question }),
            )
            .in_stream(stream(id)),
        )?;
        for (email, name) in officers(c)? {
            mail::enqueue(
                c,
                state,
                &email,
                "tender_question",
                &json!({ "name": name, "title": t.title, "question": question, "url": format!("{}/ausschreibungen/{}#fragen", state.config.base_url, id) }),
            )?;
        }
        Ok(qid)
    })
}

pub(super) fn officers(conn: &mut DbConn) -> AppResult<Vec<(String, String)>> {
    Ok(users::table
        .filter(users::role.eq(Role::Officer))
        .filter(users::active.eq(true))
        .select((users::email, users::name))
        .load(conn)?)
}

/// An officer answers; the answer is published to all vendors without the asker and mailed.
pub fn answer(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: TenderId,
    question_id: QuestionId,
    answer: &str,
) -> AppResult<usize> {
    user.require(&[Role::Officer])?;
    let answer = answer.trim();
    if !(2..=8000).contains(&answer.chars().count()) {
        return Err(AppError::field(
            "answer",
            "Bitte geben Sie eine Antwort ein (bis 8000 Zeichen).",
        ));
    }
    write_tx(conn, |c| {
        let t = find_locked(c, id)?;
        let (question, answered): (String, Option<NaiveDateTime>) = tender_questions::table
            .find(question_id)
            .filter(tender_questions::tender_id.eq(id))
            .select((tender_questions::question, tender_questions::answered_at))
            .first(c)?;
        if answered.is_some() {
            return Err(AppError::Conflict("Diese Frage ist bereits beantwortet.".into()));
        }
        // After the deadline nobody can act on an answer any more.
        if !t.accepts_bids(state.clock.now_naive()) {
            return Err(AppError::Conflict(
                "Fragen lassen sich nur bis zum Ablauf der Angebotsfrist beantworten.".into(),
            ));
        }
        let now = state.clock.now_naive();
        diesel::update(tender_questions::table.find(question_id))
            .set((
                tender_questions::answer.eq(Some(answer)),
                tender_questions::answered_by.eq(Some(user.id)),
                tender_questions::answered_at.eq(Some(now)),
            ))
            .execute(c)?;
        let mut ctx = mail_context(state, &t);
        ctx["question"] = json!(question);
        ctx["answer"] = json!(answer);
        let mailed = mail_vendors(c, state, "tender_answer", &ctx)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "tender.question_answered",
                "tender",
                id,
                json!({ "question_id": question_id, "answer": answer, "vendors_mailed": mailed }),
            ),
        )?;
        Ok(mailed)
    })
}

/// id, asking vendor, question, asked at, answer, answered at.
type QuestionRow = (
    QuestionId,
    OrgId,
    String,
    NaiveDateTime,
    Option<String>,
    Option<NaiveDateTime>,
);

/// Questions as `user` may see them: vendors and the public see answered ones (and a vendor its
/// own open ones); the cooperative sees all. Never the asker's identity.
pub fn questions(conn: &mut DbConn, user: Option<&CurrentUser>, tender_id: TenderId) -> AppResult<Vec<PublicQuestion>> {
    let rows: Vec<QuestionRow> = tender_questions::table
        .filter(tender_questions::tender_id.eq(tender_id))
        .order(tender_questions::id.asc())
        .select((
            tender_questions::id,
            tender_questions::vendor_id,
            tender_questions::question,
            tender_questions::asked_at,
            tender_questions::answer,
            tender_questions::answered_at,
        ))
        .load(conn)?;
    let cooperative = user.is_some_and(CurrentUser::is_cooperative);
    let own_org = user.filter(|u| u.role == Role::Vendor).map(|u| u.organisation_id);
    Ok(rows
        .into_iter()
        .enumerate()
        .filter(|(_, (_, vendor, _, _, answer, _))| cooperative || answer.is_some() || Some(*vendor) == own_org)
        .map(
            |(i, (id, vendor, question, asked_at, answer, answered_at))| PublicQuestion {
                number: i + 1,
                id,
                question,
                asked_at,
                answer,
                answered_at,
                mine: Some(vendor) == own_org,
            },
        )
        .collect())
}
