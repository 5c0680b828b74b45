//! The 80 % utilisation alert (sent once, by the call-off that crosses it) and the 90-day expiry
//! alerts.

use super::today;
use crate::audit::{self, Event};
use crate::db::schema::{contract_members, contracts, users};
use crate::db::{write_tx, DbConn};
use crate::domain::calloff::{self as rules};
use crate::domain::ids::ContractId;
use crate::domain::money::Amount;
use crate::domain::roles::Role;
use crate::error::AppResult;
use crate::{mail, AppState};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::json;

/// Sends the 80 % alert once: the guarded update marks it, only the call-off that crosses the
/// threshold (on any instance) sends the mails.
pub(super) fn utilisation_alert(
    conn: &mut DbConn,
    state: &AppState,
    contract_id: ContractId,
    number: &str,
    called: Amount,
    max: Amount,
) -> AppResult<()> {
    let now = state.clock.now_naive();
    let marked = diesel::update(
        contracts::table
            .filter(contracts::id.eq(contract_id))
            .filter(contracts::alert_utilisation_at.is_null()),
    )
    .set(contracts::alert_utilisation_at.eq(Some(now)))
    .execute(conn)?;
    if marked == 1 {
        let percent = rules::utilisation_percent(called, max);
        alert_mails(
            conn,
            state,
            contract_id,
            number,
            "contract_alert_utilisation",
            json!({ "percent": percent }),
        )?;
        audit::record(
            conn,
            &state.clock,
            &crate::audit::Actor::system("Abrufüberwachung"),
            Event::new(
                "contract.alert_utilisation",
                "contract",
                contract_id,
                json!({ "percent": percent }),
            ),
        )?;
    }
    Ok(())
}

/// Officers and the buyers of entitled members.
fn alert_mails(
    conn: &mut DbConn,
    state: &AppState,
    contract_id: ContractId,
    number: &str,
    template: &str,
    extra: serde_json::Value,
) -> AppResult<usize> {
    let members = contract_members::table
        .filter(contract_members::contract_id.eq(contract_id))
        .select(contract_members::member_id);
    let recipients: Vec<(String, String)> = users::table
        .filter(users::active.eq(true))
        .filter(
            users::role
                .eq(Role::Officer)
                .or(users::role.eq(Role::Buyer).and(users::organisation_id.eq_any(members))),
        )
        .select((users::email, users::name))
        .load(conn)?;
    for (email, name) in &recipients {
        let mut ctx = extra.clone();
        ctx["name"] = json!(name);
        ctx["number"] = json!(number);
        ctx["url"] = json!(format!("{}/vertraege/{}", state.config.base_url, contract_id));
        mail::enqueue(conn, state, email, template, &ctx)?;
    }
    Ok(recipients.len())
}

/// Sends the 90-day expiry alert once per contract; run by the background task.
pub fn expiry_alerts(conn: &mut DbConn, state: &AppState) -> AppResult<usize> {
    let today = today(state);
    let due: Vec<(ContractId, String, NaiveDate)> = contracts::table
        .filter(contracts::alert_expiry_at.is_null())
        .filter(contracts::term_end.ge(today))
        .select((contracts::id, contracts::number, contracts::term_end))
        .load(conn)?;
    let mut sent = 0;
    for (id, number, end) in due
        .into_iter()
        .filter(|(_, _, end)| rules::expiry_alert_due(today, *end))
    {
        sent += write_tx(conn, |c| {
            let marked = diesel::update(
                contracts::table
                    .filter(contracts::id.eq(id))
                    .filter(contracts::alert_expiry_at.is_null()),
            )
            .set(contracts::alert_expiry_at.eq(Some(state.clock.now_naive())))
            .execute(c)?;
            if marked != 1 {
                return Ok(0);
            }
            audit::record(
                c,
                &state.clock,
                &crate::audit::Actor::system("Abrufüberwachung"),
                Event::new("contract.alert_expiry", "contract", id, json!({ "term_end": end })),
            )?;
            alert_mails(
                c,
                state,
                id,
                &number,
                "contract_alert_expiry",
                json!({ "term_end": end }),
            )
        })?;
    }
    Ok(sent)
}
