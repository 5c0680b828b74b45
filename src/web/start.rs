//! The start page: what each role sees first, with counts and an empty state that says what to
//! do next.

use crate::auth::CurrentUser;
use crate::db::schema::{audit_events, catalogue_items, organisations, outbox, users};
use crate::db::{Db, DbConn};
use crate::domain::demand::CallStatus;
use crate::domain::roles::{OrgType, Role, VendorStatus};
use crate::error::AppResult;
use crate::mail::OutboxStatus;
use crate::web::Layout;
use diesel::prelude::*;
use rocket::get;
use rocket_dyn_templates::Template;
use serde_json::{json, Value};

fn count_orgs(conn: &mut DbConn, org_type: OrgType, status: Option<VendorStatus>) -> AppResult<i64> {
    let mut q = organisations::table
        .filter(organisations::org_type.eq(org_type))
        .filter(organisations::active.eq(true))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(organisations::vendor_status.eq(s));
    }
    Ok(q.count().get_result(conn)?)
}

fn recent_events(conn: &mut DbConn) -> AppResult<Value> {
    let sealed = crate::tender::sealed_streams(conn)?;
    let rows: Vec<crate::audit::AuditRow> = audit_events::table
        .filter(diesel::dsl::not(audit_events::stream.eq_any(sealed)))
        .order(audit_events::id.desc())
        .limit(10)
        .select(crate::audit::AuditRow::as_select())
        .load(conn)?;
    Ok(rows.iter().map(crate::audit::view).collect())
}

/// Calls that need this user: the officer's drafts and running calls, the buyer's open ones.
fn pending_calls(conn: &mut DbConn, user: &CurrentUser, now: chrono::NaiveDateTime) -> AppResult<Value> {
    // Neither role's start page shows closed calls: they are left out in SQL.
    let calls = crate::demand::list_unclosed_calls(conn, user)?;
    let answered = crate::demand::answered_calls(conn, user.organisation_id)?;
    Ok(calls
        .into_iter()
        .filter(|c| match user.role {
            Role::Buyer => c.accepts_demand(now),
            _ => c.status != CallStatus::Closed,
        })
        .map(|c| {
            json!({
                "id": c.id, "title": c.title, "deadline": c.deadline, "status": c.status,
                "state_label": c.state_label(now), "deadline_passed": now >= c.deadline,
                "answered": answered.contains(&c.id),
            })
        })
        .collect())
}

/// Tenders that need this user: the officer's running ones (not cancelled), the vendor's open
/// ones (accepting bids).
fn active_tenders(conn: &mut DbConn, user: &CurrentUser, now: chrono::NaiveDateTime) -> AppResult<Value> {
    let tenders = crate::tender::list_active(conn, user, now, 10)?;
    Ok(tenders
        .into_iter()
        .filter(|t| match user.role {
            Role::Vendor => t.accepts_bids(now),
            _ => true,
        })
        .map(|t| t.view(now))
        .collect())
}

fn start_context(
    conn: &mut DbConn,
    user: &CurrentUser,
    now: chrono::NaiveDateTime,
    audit_count: &crate::audit::EventCount,
) -> AppResult<Value> {
    let mut ctx = json!({ "role": user.role.code() });
    match user.role {
        Role::Admin => {
            let pending: Vec<(i64, String, String, chrono::NaiveDateTime)> = organisations::table
                .filter(organisations::org_type.eq(OrgType::Vendor))
                .filter(organisations::vendor_status.eq(VendorStatus::Pending))
                .order(organisations::created_at.asc())
                .select((
                    organisations::id,
                    organisations::name,
                    organisations::city,
                    organisations::created_at,
                ))
                .load(conn)?;
            ctx["counts"] = json!({
                "members": count_orgs(conn, OrgType::Member, None)?,
                "vendors": count_orgs(conn, OrgType::Vendor, None)?,
                "pending_vendors": pending.len(),
                "users": users::table.filter(users::active.eq(true)).count().get_result::<i64>(conn)?,
                "catalogue": catalogue_items::table.count().get_result::<i64>(conn)?,
                "mails_failed": outbox::table.filter(outbox::status.eq(OutboxStatus::Failed)).count().get_result::<i64>(conn)?,
            });
            ctx["pending_vendors"] = pending
                .into_iter()
                .map(|(id, name, city, created_at)| json!({ "id": id, "name": name, "city": city, "created_at": created_at }))
                .collect();
        }
        Role::Officer => {
            ctx["calls"] = pending_calls(conn, user, now)?;
            ctx["tenders"] = active_tenders(conn, user, now)?;
            ctx["counts"] = json!({
                "members": count_orgs(conn, OrgType::Member, None)?,
                "vendors": count_orgs(conn, OrgType::Vendor, Some(VendorStatus::Approved))?,
                "catalogue": catalogue_items::table.count().get_result::<i64>(conn)?,
            });
        }
        Role::Board => {
            ctx["counts"] = json!({
                "members": count_orgs(conn, OrgType::Member, None)?,
                "vendors": count_orgs(conn, OrgType::Vendor, Some(VendorStatus::Approved))?,
                "audit_events": audit_count.total(conn)?,
            });
            ctx["recent_events"] = recent_events(conn)?;
        }
        Role::Buyer | Role::Vendor => {
            // Only the user's own organisation: nothing about other members or vendors.
            let org = crate::orgs::find_org(conn, user.organisation_id)?;
            ctx["organisation"] = json!(org);
            if user.role == Role::Buyer {
                ctx["calls"] = pending_calls(conn, user, now)?;
            } else {
                ctx["tenders"] = active_tenders(conn, user, now)?;
            }
        }
    }
    Ok(ctx)
}

#[get("/")]
pub async fn index(layout: Layout, user: CurrentUser, db: Db, state: crate::AppState) -> AppResult<Template> {
    let u = user.clone();
    let now = state.clock.now_naive();
    let ctx = db.run(move |c| start_context(c, &u, now, &state.audit_count)).await?;
    Ok(layout.render("start", ctx))
}
