//! The background mail sender: claims due outbox rows with a conditional update (so that several
//! app instances never send the same mail twice), sends them, and retries failures with backoff.
//! Its writes queue with the app's other writes (group commit): on SQLite an update of its own
//! would meet a busy writer in SQLite's busy handler, and its sleeps stall every writer behind.

use super::{build_message, Transport};
use crate::db::schema::outbox;
use crate::db::{Db, DbConn};
use crate::domain::ids::OutboxId;
use crate::error::AppResult;
use crate::mail::OutboxStatus;
use crate::AppState;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

/// How long a claim protects a mail from other senders; a sender that crashed mid-send lets the
/// claim expire and the mail is picked up again.
const CLAIM_SECONDS: i64 = 300;
const BATCH: i64 = 20;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: OutboxId,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claim_token: Option<String>,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub standstill_dates: bool,
}

impl OutboxRow {
    /// The mail as it goes out now: a § 134 GWB letter gets its sending day, the end of the
    /// standstill and the earliest date of conclusion filled in from its claim (see
    /// `standstill::stated_day`), so that a letter that waited in the outbox never promises an
    /// end counted from the day it was queued. Other mails are sent as queued.
    pub fn dated(mut self, calendar: &crate::domain::period::Calendar) -> OutboxRow {
        if let (true, Some(until)) = (self.standstill_dates, self.claimed_until) {
            let marks = crate::domain::standstill::letter_dates(until.and_utc(), calendar);
            let pairs: Vec<(&str, &str)> = marks.iter().map(|(m, v)| (*m, v.as_str())).collect();
            let fill = |text: &str| pairs.iter().fold(text.to_string(), |t, (m, v)| t.replace(m, v));
            self.subject = fill(&self.subject);
            self.body_text = fill(&self.body_text);
            self.body_html = fill(&self.body_html);
        }
        self
    }
}

/// Backoff after the n-th failed attempt: 30 s, 1 min, 2 min … capped at one hour.
pub fn backoff(attempts: i32) -> Duration {
    let secs = 30i64.saturating_mul(1i64 << attempts.clamp(0, 10).saturating_sub(1));
    Duration::seconds(secs.min(3600))
}

fn due_filter(
    now: NaiveDateTime,
) -> Box<dyn BoxableExpression<outbox::table, crate::db::MultiBackend, SqlType = diesel::sql_types::Bool>> {
    Box::new(
        (outbox::status
            .eq(OutboxStatus::Pending)
            .and(outbox::next_attempt_at.le(now)))
        .or(outbox::status
            .eq(OutboxStatus::Sending)
            .and(outbox::claimed_until.lt(now))
            .assume_not_null()),
    )
}

/// The next due mail: first one whose sender's claim ran out, else the pending one due
/// longest. Two queries, each on the `outbox_due` index (status, due time): the pending one
/// walks it and stops at its first row, the other reads only the few mails being sent. One
/// query with an OR and ORDER BY id sorted every pending mail (10 ms per claim with 40 000 mails
/// waiting, inside the write lock).
fn next_due(conn: &mut DbConn, now: NaiveDateTime) -> AppResult<Option<OutboxId>> {
    let expired = outbox::table
        .filter(outbox::status.eq(OutboxStatus::Sending))
        .filter(outbox::claimed_until.lt(now))
        .order(outbox::id.asc())
        .select(outbox::id)
        .first(conn)
        .optional()?;
    if expired.is_some() {
        return Ok(expired);
    }
    Ok(outbox::table
        .filter(outbox::status.eq(OutboxStatus::Pending))
        .filter(outbox::next_attempt_at.le(now))
        .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
        .select(outbox::id)
        .first(conn)
        .optional()?)
}

/// Claims the next due mail for this sender, if any. One at a time, right before sending, so
/// that a slow SMTP server cannot make a claim run out while the mail still waits in a batch.
pub fn claim_next(conn: &mut DbConn, now: NaiveDateTime, token: &str) -> AppResult<Option<OutboxRow>> {
    loop {
        let Some(id) = next_due(conn, now)? else {
            return Ok(None);
        };
        if let Some(row) = claim(conn, id, now, token)? {
            return Ok(Some(row));
        }
    }
}

/// Claims mail `id` for this sender if it is due and nobody else holds it.
pub fn claim(conn: &mut DbConn, id: OutboxId, now: NaiveDateTime, token: &str) -> AppResult<Option<OutboxRow>> {
    // The WHERE re-checks the state: of two instances racing for a row, only one updates it.
    let n = diesel::update(outbox::table.find(id).filter(due_filter(now)))
        .set((
            outbox::status.eq(OutboxStatus::Sending),
            outbox::claim_token.eq(token),
            outbox::claimed_until.eq(now + Duration::seconds(CLAIM_SECONDS)),
        ))
        .execute(conn)?;
    Ok(if n == 1 {
        Some(outbox::table.find(id).select(OutboxRow::as_select()).first(conn)?)
    } else {
        None
    })
}

/// Records how sending `row` under the claim `token` went: sent (with the letter as sent), or
/// failed and retried later, or given up after `max_attempts`.
pub fn finish(
    conn: &mut DbConn,
    row: &OutboxRow,
    token: &str,
    now: NaiveDateTime,
    result: Result<(), String>,
    max_attempts: i32,
) -> AppResult<()> {
    let mine = outbox::table.find(row.id).filter(outbox::claim_token.eq(token));
    match result {
        Ok(()) => {
            diesel::update(mine)
                .set((
                    outbox::status.eq(OutboxStatus::Sent),
                    outbox::sent_at.eq(now),
                    outbox::attempts.eq(row.attempts + 1),
                    outbox::last_error.eq(None::<String>),
                ))
                .execute(conn)?;
            if row.standstill_dates {
                // The letter as sent, with its dates: the record of what the bidder was told.
                diesel::update(mine)
                    .set((
                        outbox::subject.eq(&row.subject),
                        outbox::body_text.eq(&row.body_text),
                        outbox::body_html.eq(&row.body_html),
                    ))
                    .execute(conn)?;
            }
        }
        Err(e) => {
            let attempts = row.attempts + 1;
            // A § 134 letter whose award decision was withdrawn (lot cancelled or reopened)
            // while it was being sent is not tried again: it would announce a contract that
            // will not come.
            let withdrawn = row.standstill_dates && {
                use crate::db::schema::award_notice_mails;
                award_notice_mails::table
                    .find(row.id)
                    .select(award_notice_mails::outbox_id)
                    .first::<OutboxId>(conn)
                    .optional()?
                    .is_none()
            };
            let (status, e) = if withdrawn {
                (
                    OutboxStatus::Failed,
                    format!("Zurückgezogen: Zuschlagsentscheidung entfallen ({e})"),
                )
            } else if attempts >= max_attempts {
                (OutboxStatus::Failed, e)
            } else {
                (OutboxStatus::Pending, e)
            };
            // No recipient in the log: a bid receipt's recipient is the (sealed) bidder.
            log::warn!("mail {} failed (attempt {attempts}): {e}", row.id);
            diesel::update(mine)
                .set((
                    outbox::status.eq(status),
                    outbox::attempts.eq(attempts),
                    outbox::last_error.eq(Some(e)),
                    outbox::next_attempt_at.eq(now + backoff(attempts)),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// One pass over at most one batch: claim, send, record, mail by mail. Returns how many mails
/// were sent successfully.
pub async fn process_once(state: &AppState, db: &Db, transport: &Transport) -> AppResult<usize> {
    process_until(state, db, transport, || false).await
}

/// `process_once` that stops before the next mail once `stop` says so, so that a stopping
/// server does not start a mail it may not get to record (it would be sent again after its
/// claim ran out).
async fn process_until(state: &AppState, db: &Db, transport: &Transport, stop: impl Fn() -> bool) -> AppResult<usize> {
    let token = crate::auth::random_token();
    let mut sent = 0;
    for _ in 0..BATCH {
        if stop() {
            break;
        }
        let (now, claim_token) = (state.clock.now_naive(), token.clone());
        let writes = state.writes.clone();
        let Some(row) = db
            .run(move |c| writes.write(c, move |c| claim_next(c, now, &claim_token)))
            .await?
        else {
            break;
        };
        let row = row.dated(&state.config.calendar());
        let result = match build_message(
            &state.config.mail_from,
            &row.recipient,
            &row.subject,
            &row.body_text,
            &row.body_html,
        ) {
            Ok(message) => transport.send(message).await,
            Err(e) => Err(e),
        };
        if result.is_ok() {
            sent += 1;
        }
        let token = token.clone();
        let max = state.config.mail_max_attempts;
        let done = state.clock.now_naive();
        let writes = state.writes.clone();
        db.run(move |c| writes.write(c, move |c| finish(c, &row, &token, done, result, max)))
            .await?;
    }
    Ok(sent)
}

/// Deletes counted login failures older than a day: only the last window is ever counted.
pub fn prune_login_failures(conn: &mut DbConn, now: NaiveDateTime) -> AppResult<usize> {
    use crate::db::schema::login_failures;
    Ok(
        diesel::delete(login_failures::table.filter(login_failures::failed_at.lt(now - Duration::days(1))))
            .execute(conn)?,
    )
}

/// Runs until the server shuts down; also does the small housekeeping of the database.
///
/// It stops at the shutdown signal, between two mails, and the server waits for it (see
/// `lib.rs`): left running, it went on after the runtime's timers were gone and panicked in its
/// next `tick` (seen when the load test stopped a busy server), or was dropped between sending a
/// mail and recording it.
pub async fn run(state: AppState, db: Db, transport: Transport, shutdown: rocket::Shutdown) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stopping = std::sync::Arc::new(AtomicBool::new(false));
    let watch = (shutdown.clone(), stopping.clone());
    rocket::tokio::spawn(async move {
        watch.0.await;
        watch.1.store(true, Ordering::Relaxed);
    });
    // The flag stops a batch between two mails; the signal itself ends the wait for the next
    // tick (biased: once given, it wins over a due tick).
    let stop = || stopping.load(Ordering::Relaxed);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut interval = rocket::tokio::time::interval(state.config.mail_interval);
    let mut ticks: u64 = 0;
    loop {
        rocket::tokio::select! {
            biased;
            _ = &mut shutdown => return,
            _ = interval.tick() => {}
        }
        ticks += 1;
        if ticks % 1_000 == 1 {
            let now = state.clock.now_naive();
            if let Err(e) = db.run(move |c| prune_login_failures(c, now)).await {
                log::error!("housekeeping: {}", e.user_detail());
            }
            // Contracts entering their last 90 days: each alerted once (marked in the database,
            // so several instances do not repeat it).
            let st = state.clone();
            if let Err(e) = db.run(move |c| crate::calloff::expiry_alerts(c, &st)).await {
                log::error!("expiry alerts: {}", e.user_detail());
            }
        }
        if let Err(e) = process_until(&state, &db, &transport, stop).await {
            log::error!("mail sender: {}", e.user_detail());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(120));
        assert_eq!(backoff(20), Duration::seconds(3600));
    }
}
