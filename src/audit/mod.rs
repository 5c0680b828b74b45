//! The audit trail: every state change writes an event in its own transaction, hash-chained per
//! stream (one stream per aggregate, e.g. `user:7`), so writers on different objects never queue.

pub mod routes;

use crate::clock::Clock;
use crate::db::schema::audit_events;
use crate::db::DbConn;
use crate::domain::ids::{AuditEventId, UserId};
use crate::error::{AppError, AppResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// German names of the actions, for the audit pages (the code stays in the record).
pub const ACTIONS: &[(&str, &str)] = &[
    ("session.created", "Anmeldung"),
    ("session.ended", "Abmeldung"),
    ("session.revoked", "Sitzung beendet"),
    ("user.created", "Benutzer angelegt"),
    ("user.updated", "Benutzer geändert"),
    ("user.activated", "Benutzer aktiviert"),
    ("user.deactivated", "Benutzer deaktiviert"),
    ("user.password_changed", "Passwort geändert"),
    ("api_token.created", "API-Token erstellt"),
    ("api_token.revoked", "API-Token widerrufen"),
    ("organisation.created", "Organisation angelegt"),
    ("organisation.updated", "Organisation geändert"),
    ("organisation.activated", "Organisation aktiviert"),
    ("organisation.deactivated", "Organisation deaktiviert"),
    ("vendor.registered", "Lieferant registriert"),
    ("vendor.approved", "Lieferant freigegeben"),
    ("vendor.suspended", "Lieferant gesperrt"),
    ("catalogue_item.created", "Katalogposition aufgenommen"),
    ("demand_call.created", "Bedarfsabfrage angelegt"),
    ("demand_call.updated", "Bedarfsabfrage geändert"),
    ("demand_call.opened", "Bedarfsabfrage geöffnet"),
    ("demand_call.closed", "Bedarfsabfrage abgeschlossen"),
    ("demand_position.added", "Position hinzugefügt"),
    ("demand_position.removed", "Position entfernt"),
    ("demand.saved", "Bedarf gemeldet"),
    ("tender.created", "Ausschreibung angelegt"),
    ("tender.updated", "Ausschreibung geändert"),
    ("tender.document_added", "Vergabeunterlage hinzugefügt"),
    ("tender.document_removed", "Vergabeunterlage entfernt"),
    ("tender.published", "Ausschreibung veröffentlicht"),
    ("tender.question_asked", "Bieterfrage gestellt"),
    ("tender.question_answered", "Bieterfrage beantwortet"),
    ("bid.submitted", "Angebot abgegeben"),
    ("bid.withdrawn", "Angebot zurückgezogen"),
    ("tender.deadline_extended", "Angebotsfrist verlängert (§ 20 Abs. 3 VgV)"),
    ("tender.opening_started", "Öffnung begonnen"),
    ("tender.opened", "Angebote geöffnet"),
    ("bid.excluded", "Angebot ausgeschlossen"),
    ("bid.scored", "Angebot bewertet"),
    ("bid.explanation_requested", "Aufklärung verlangt (§ 60 VgV)"),
    ("bid.low_decided", "Über niedriges Angebot entschieden"),
    ("lot.tie_decided", "Losentscheid festgehalten"),
    ("award.informed", "Zuschlagsentscheidung, Bieter informiert (§ 134 GWB)"),
    (
        "award.delivery_recorded",
        "Information nach § 134 GWB auf anderem Weg abgesendet",
    ),
    (
        "award.withdrawn",
        "Zuschlagsentscheidung zurückgenommen, Wertung wieder eröffnet",
    ),
    ("award.concluded", "Zuschlag erteilt: Rahmenvereinbarung geschlossen"),
    ("complaint.filed", "Rüge eingegangen (§ 160 Abs. 3 GWB)"),
    ("complaint.answered", "Rüge beantwortet"),
    ("review.recorded", "Nachprüfungsantrag mitgeteilt (§ 169 Abs. 1 GWB)"),
    ("review.updated", "Nachprüfungsverfahren: Schritt eingetragen"),
    ("lot.cancelled", "Los aufgehoben"),
    ("tender.cancelled", "Ausschreibung aufgehoben"),
    ("calloff.placed", "Abruf bestellt"),
    ("calloff.confirmed", "Abruf bestätigt"),
    ("calloff.rejected", "Abruf abgelehnt"),
    ("calloff.delivered", "Abruf geliefert"),
    ("calloff.cancelled", "Abruf storniert"),
    ("contract.alert_utilisation", "Warnung: 80 % ausgeschöpft"),
    ("contract.alert_expiry", "Warnung: Laufzeitende in 90 Tagen"),
    ("contract.quota_set", "Kontingent festgelegt"),
];

/// German names of the object types.
pub const OBJECT_TYPES: &[(&str, &str)] = &[
    ("user", "Benutzer"),
    ("organisation", "Organisation"),
    ("catalogue_item", "Katalogposition"),
    ("demand_call", "Bedarfsabfrage"),
    ("demand_position", "Position einer Bedarfsabfrage"),
    ("tender", "Ausschreibung"),
    ("bid", "Angebot"),
    ("calloff", "Abruf"),
    ("contract", "Rahmenvereinbarung"),
];

fn label_of(table: &[(&str, &'static str)], code: &str) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// An event as the pages show it: German labels next to the codes.
pub fn view(row: &AuditRow) -> serde_json::Value {
    let mut v = serde_json::json!(row);
    v["action_label"] = serde_json::json!(label_of(ACTIONS, &row.action).unwrap_or(&row.action));
    v["object_label"] = serde_json::json!(label_of(OBJECT_TYPES, &row.object_type).unwrap_or(&row.object_type));
    v
}

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something: a user, or the system itself (seeding, background tasks).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub label: String,
}

impl Actor {
    pub fn system(what: &str) -> Actor {
        Actor {
            user_id: None,
            label: format!("system: {what}"),
        }
    }

    pub fn user(id: UserId, email: &str) -> Actor {
        Actor {
            user_id: Some(id),
            label: email.to_string(),
        }
    }
}

/// One event to record. The stream defaults to `object_type:object_id`.
#[derive(Debug, Clone)]
pub struct Event {
    pub stream: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub details: serde_json::Value,
}

impl Event {
    pub fn new(action: &str, object_type: &str, object_id: impl ToString, details: serde_json::Value) -> Event {
        let object_id = object_id.to_string();
        Event {
            stream: format!("{object_type}:{object_id}"),
            action: action.to_string(),
            object_type: object_type.to_string(),
            object_id,
            details,
        }
    }

    /// Chains the event into another aggregate's stream (e.g. a call-off into its contract).
    pub fn in_stream(mut self, stream: impl Into<String>) -> Event {
        self.stream = stream.into();
        self
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: AuditEventId,
    pub stream: String,
    pub seq: i64,
    pub actor_user_id: Option<UserId>,
    pub actor_label: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub occurred_at: NaiveDateTime,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditRow<'a> {
    stream: &'a str,
    seq: i64,
    actor_user_id: Option<UserId>,
    actor_label: &'a str,
    action: &'a str,
    object_type: &'a str,
    object_id: &'a str,
    occurred_at: NaiveDateTime,
    details: &'a str,
    prev_hash: &'a str,
    hash: &'a str,
}

/// The content that is hashed, in a fixed field order.
#[derive(Serialize)]
struct Canonical<'a> {
    stream: &'a str,
    seq: i64,
    actor_user_id: Option<UserId>,
    actor_label: &'a str,
    action: &'a str,
    object_type: &'a str,
    object_id: &'a str,
    occurred_at: String,
    details: &'a str,
}

/// The chain's hash of one event; shared with the scale generator, which chains events in bulk.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute_hash(
    prev_hash: &str,
    stream: &str,
    seq: i64,
    actor_user_id: Option<UserId>,
    actor_label: &str,
    action: &str,
    object_type: &str,
    object_id: &str,
    occurred_at: NaiveDateTime,
    details: &str,
) -> String {
    let canonical = Canonical {
        stream,
        seq,
        actor_user_id,
        actor_label,
        action,
        object_type,
        object_id,
        occurred_at: occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        details,
    };
    let json = serde_json::to_string(&canonical).unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(json.as_bytes());
    hex::encode(hasher.finalize())
}

fn row_hash(row: &AuditRow) -> String {
    compute_hash(
        &row.prev_hash,
        &row.stream,
        row.seq,
        row.actor_user_id,
        &row.actor_label,
        &row.action,
        &row.object_type,
        &row.object_id,
        row.occurred_at,
        &row.details,
    )
}

/// Appends an event. Must run inside the change's `write_tx`: on PostgreSQL a transaction-scoped
/// advisory lock on the stream serialises writers of that stream only; SQLite's write transaction
/// is already exclusive.
pub fn record(conn: &mut DbConn, clock: &Clock, actor: &Actor, event: Event) -> AppResult<()> {
    crate::db::lock_key(conn, &event.stream)?;
    let last: Option<(i64, String)> = audit_events::table
        .filter(audit_events::stream.eq(&event.stream))
        .order(audit_events::seq.desc())
        .select((audit_events::seq, audit_events::hash))
        .first(conn)
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    append(conn, clock, actor, event, seq, &prev_hash)
}

/// Records the first event of a stream whose object the same transaction has just created (a
/// call-off): nobody else can write to the stream yet, so neither its lock nor its last hash is
/// needed. Should the stream exist after all, the unique (stream, seq) key refuses the event and
/// with it the whole transaction, so the chain can never fork.
pub fn record_first(conn: &mut DbConn, clock: &Clock, actor: &Actor, event: Event) -> AppResult<()> {
    append(conn, clock, actor, event, 1, GENESIS_HASH)
}

fn append(conn: &mut DbConn, clock: &Clock, actor: &Actor, event: Event, seq: i64, prev_hash: &str) -> AppResult<()> {
    let occurred_at = clock.now_naive();
    let details =
        serde_json::to_string(&event.details).map_err(|e| AppError::Internal(format!("audit details: {e}")))?;
    let hash = compute_hash(
        prev_hash,
        &event.stream,
        seq,
        actor.user_id,
        &actor.label,
        &event.action,
        &event.object_type,
        &event.object_id,
        occurred_at,
        &details,
    );
    diesel::insert_into(audit_events::table)
        .values(NewAuditRow {
            stream: &event.stream,
            seq,
            actor_user_id: actor.user_id,
            actor_label: &actor.label,
            action: &event.action,
            object_type: &event.object_type,
            object_id: &event.object_id,
            occurred_at,
            details: &details,
            prev_hash,
            hash: &hash,
        })
        .execute(conn)?;
    Ok(())
}

/// The first broken link found by `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub event_id: AuditEventId,
    pub stream: String,
    pub seq: i64,
    pub reason: String,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Ereignis #{} (Strang {}, Nr. {}): {}",
            self.event_id, self.stream, self.seq, self.reason
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    pub streams: usize,
}

/// Walks every stream in order and recomputes each hash; names the first event that does not fit.
/// Pages through `(stream, seq)`, the chain's own order, so that events committed meanwhile
/// cannot be skipped or seen out of order.
pub fn verify(conn: &mut DbConn) -> AppResult<Result<VerifyReport, BrokenLink>> {
    const PAGE: i64 = 5_000;
    let mut head: Option<(String, i64, String)> = None;
    let mut streams = 0usize;
    let mut count = 0u64;
    loop {
        let mut query = audit_events::table.into_boxed();
        if let Some((stream, seq, _)) = &head {
            query = query.filter(
                audit_events::stream
                    .gt(stream.clone())
                    .or(audit_events::stream.eq(stream.clone()).and(audit_events::seq.gt(*seq))),
            );
        }
        let rows: Vec<AuditRow> = query
            .order((audit_events::stream.asc(), audit_events::seq.asc()))
            .limit(PAGE)
            .select(AuditRow::as_select())
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            count += 1;
            let (expected_seq, expected_prev) = match &head {
                Some((stream, seq, hash)) if *stream == row.stream => (seq + 1, hash.clone()),
                _ => {
                    streams += 1;
                    (1, GENESIS_HASH.to_string())
                }
            };
            let broken = |reason: String| BrokenLink {
                event_id: row.id,
                stream: row.stream.clone(),
                seq: row.seq,
                reason,
            };
            if row.seq != expected_seq {
                return Ok(Err(broken(format!(
                    "Nummer {expected_seq} erwartet, {} gefunden (Ereignis fehlt oder wurde eingefügt)",
                    row.seq
                ))));
            }
            if row.prev_hash != expected_prev {
                return Ok(Err(broken("Verweis auf das vorige Ereignis stimmt nicht".into())));
            }
            if row_hash(&row) != row.hash {
                return Ok(Err(broken(
                    "Inhalt wurde nachträglich verändert (Hash stimmt nicht)".into(),
                )));
            }
            head = Some((row.stream, row.seq, row.hash));
        }
    }
    Ok(Ok(VerifyReport { events: count, streams }))
}
