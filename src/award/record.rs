//! The Vergabevermerk (§ 8 VgV): the tender's record rendered from its audit events and
//! decisions.

use super::evaluate_lot;
use crate::auth::CurrentUser;
use crate::db::schema::{audit_events, contracts, users};
use crate::db::DbConn;
use crate::domain::ids::{LotId, TenderId, UserId};
use crate::domain::money::Amount;
use crate::error::AppResult;
use crate::tender::{self, bids::OPENED_BID_READERS};
use crate::AppState;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::json;
use std::collections::HashMap;

/// The Vergabevermerk: the tender's record rendered from its audit events and decisions.
pub fn procurement_record(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
) -> AppResult<String> {
    user.require(OPENED_BID_READERS)?;
    let t = tender::find(conn, tender_id)?;
    let now = state.clock.now_naive();
    // Before opening, the record holds only what is not sealed: the bids' own stream is left out.
    let mut streams = vec![tender::stream(tender_id)];
    if t.is_opened() {
        streams.push(format!("bids:{tender_id}"));
    }
    let events: Vec<crate::audit::AuditRow> = audit_events::table
        .filter(audit_events::stream.eq_any(&streams))
        .order((audit_events::occurred_at.asc(), audit_events::id.asc()))
        .load(conn)?;
    let call = crate::demand::find_call(conn, t.demand_call_id)?;
    let spec = t.spec()?;
    let evaluation = if t.is_opened() {
        let mut out = Vec::new();
        for lot in tender::lots(conn, tender_id)? {
            out.push(evaluate_lot(conn, &t, &spec, lot)?);
        }
        out
    } else {
        Vec::new()
    };
    let contracts: Vec<(String, LotId, Amount, NaiveDate, NaiveDate, String)> = contracts::table
        .filter(contracts::tender_id.eq(tender_id))
        .select((
            contracts::number,
            contracts::lot_id,
            contracts::max_value,
            contracts::term_start,
            contracts::term_end,
            contracts::document_sha256,
        ))
        .load(conn)?;
    let names: HashMap<UserId, String> = users::table
        .select((users::id, users::name))
        .load::<(UserId, String)>(conn)?
        .into_iter()
        .collect();
    let mut view = [t.view(now)];
    tender::label_award_stage(conn, &mut view)?;
    let [view] = view;
    let ctx = json!({
        "tender": view,
        "call": { "id": call.id, "title": call.title, "closed_at": call.closed_at },
        "lots": tender::lots(conn, tender_id)?,
        "events": events.iter().map(|e| {
            let mut v = crate::audit::view(e);
            v["actor_name"] = json!(e.actor_user_id.and_then(|id| names.get(&id)).cloned().unwrap_or_else(|| e.actor_label.clone()));
            v["details"] = serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null);
            v
        }).collect::<Vec<_>>(),
        "evaluation": evaluation,
        "spec": spec,
        "contracts": contracts.iter().map(|(n, l, v, s, e, sha)| json!({"number": n, "lot_id": l, "max_value": v, "term_start": s, "term_end": e, "sha256": sha})).collect::<Vec<_>>(),
        "created_at": now,
    });
    state.documents.render("vergabevermerk", &ctx)
}
