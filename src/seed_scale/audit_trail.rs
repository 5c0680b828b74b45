//! The generated audit events: collected per stream while the data is built, then chained with
//! the audit module's own hash (sequence and previous hash per stream) and written in bulk.

use super::bulk::insert_all;
use crate::audit::{compute_hash, GENESIS_HASH};
use crate::db::schema::audit_events;
use crate::db::DbConn;
use crate::domain::ids::UserId;
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

struct Pending {
    stream: String,
    actor_user_id: Option<UserId>,
    actor_label: String,
    action: &'static str,
    object_type: &'static str,
    object_id: String,
    occurred_at: NaiveDateTime,
    details: String,
}

#[derive(Default)]
pub struct Trail {
    events: Vec<Pending>,
}

impl Trail {
    /// An event in its object's own stream (`object_type:object_id`); the object is a row of
    /// any table, so its id is taken as text, like `audit::Event::new` does.
    pub fn push(
        &mut self,
        actor: &(Option<UserId>, String),
        action: &'static str,
        object_type: &'static str,
        object_id: impl ToString,
        occurred_at: NaiveDateTime,
        details: serde_json::Value,
    ) {
        let object_id = object_id.to_string();
        self.push_in(
            format!("{object_type}:{object_id}"),
            actor,
            action,
            object_type,
            object_id,
            occurred_at,
            details,
        );
    }

    /// An event chained into another aggregate's stream (a bid's or award's into its tender).
    #[allow(clippy::too_many_arguments)]
    pub fn push_in(
        &mut self,
        stream: String,
        actor: &(Option<UserId>, String),
        action: &'static str,
        object_type: &'static str,
        object_id: impl ToString,
        occurred_at: NaiveDateTime,
        details: serde_json::Value,
    ) {
        self.events.push(Pending {
            stream,
            actor_user_id: actor.0,
            actor_label: actor.1.clone(),
            action,
            object_type,
            object_id: object_id.to_string(),
            occurred_at,
            details: details.to_string(),
        });
    }

    /// Numbers the events per stream in the order they were pushed, hashes each onto its
    /// predecessor and writes them all; returns how many.
    pub fn write(self, c: &mut DbConn) -> AppResult<usize> {
        let mut heads: HashMap<&str, (i64, String)> = HashMap::new();
        let mut rows = Vec::with_capacity(self.events.len());
        for e in &self.events {
            let (seq, prev) = match heads.get(e.stream.as_str()) {
                Some((seq, hash)) => (seq + 1, hash.clone()),
                None => (1, GENESIS_HASH.to_string()),
            };
            let hash = compute_hash(
                &prev,
                &e.stream,
                seq,
                e.actor_user_id,
                &e.actor_label,
                e.action,
                e.object_type,
                &e.object_id,
                e.occurred_at,
                &e.details,
            );
            heads.insert(&e.stream, (seq, hash.clone()));
            rows.push((
                audit_events::stream.eq(&e.stream),
                audit_events::seq.eq(seq),
                audit_events::actor_user_id.eq(e.actor_user_id),
                audit_events::actor_label.eq(&e.actor_label),
                audit_events::action.eq(e.action),
                audit_events::object_type.eq(e.object_type),
                audit_events::object_id.eq(&e.object_id),
                audit_events::occurred_at.eq(e.occurred_at),
                audit_events::details.eq(&e.details),
                audit_events::prev_hash.eq(prev),
                audit_events::hash.eq(hash),
            ));
        }
        let n = rows.len();
        insert_all!(c, audit_events::table, "audit_events", 11, rows);
        Ok(n)
    }
}
