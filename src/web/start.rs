//! The start page: what each role sees first, with counts and an empty state that says what to
//! do next.

use crate::auth::CurrentUser;
use crate::db::schema::{audit_events, catalogue_items, organisations, outbox, users};
use crate::db::{Db, DbConn};
use crate::domain::demand::CallStatus;
use crate::domain::ids::OrgId;
use crate::domain::roles::{OrgType, Role, VendorStatus};
use crate::error::AppResult;
use crate::mail::OutboxStatus;
use crate::web::Html;
use crate::web::Layout;
use diesel::prelude::*;
use rocket::get;
use serde_json::{json, Value};

/// The numbers the start pages show as figures: members, vendors, users, catalogue positions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    members: i64,
    vendors: i64,
    approved_vendors: i64,
    users: i64,
    catalogue: i64,
}

/// The start pages' counts, kept for `COUNTS_TTL`: counting 100,000 catalogue positions and
/// the organisations took a third of the officer's start page at scale, and a figure on a start
/// page may be a few seconds old. Off on the plain path (`BUENDEL_SPEED=plain`).
#[derive(Debug, Default)]
pub struct StartCounts {
    kept: std::sync::Mutex<Option<(std::time::Instant, Counts)>>,
    off: bool,
}

const COUNTS_TTL: std::time::Duration = std::time::Duration::from_secs(10);

impl StartCounts {
    /// Counts that are kept a while (`true`) or counted on every page.
    pub fn new(on: bool) -> StartCounts {
        StartCounts {
            off: !on,
            ..StartCounts::default()
        }
    }

    fn get(&self, conn: &mut DbConn) -> AppResult<Counts> {
        let kept = *self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, counts)) = kept.filter(|(at, _)| !self.off && at.elapsed() < COUNTS_TTL) {
            return Ok(counts);
        }
        let counts = Counts {
            members: count_orgs(conn, OrgType::Member, None)?,
            vendors: count_orgs(conn, OrgType::Vendor, None)?,
            approved_vendors: count_orgs(conn, OrgType::Vendor, Some(VendorStatus::Approved))?,
            users: users::table
                .filter(users::active.eq(true))
                .count()
                .get_result::<i64>(conn)?,
            catalogue: catalogue_items::table.count().get_result::<i64>(conn)?,
        };
        *self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((std::time::Instant::now(), counts));
        Ok(counts)
    }
}

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
    Ok(calls
        .into_iter()
        .filter(|(c, _)| match user.role {
            Role::Buyer => c.accepts_demand(now),
            _ => c.status != CallStatus::Closed,
        })
        .map(|(c, answered)| {
            json!({
                "id": c.id, "title": c.title, "deadline": c.deadline, "status": c.status,
                "state_label": c.state_label(now), "deadline_passed": now >= c.deadline,
                "answered": answered,
            })
        })
        .collect())
}

/// Tenders that need this user: the officer's running ones (not cancelled), the vendor's open
/// ones (accepting bids).
fn active_tenders(conn: &mut DbConn, user: &CurrentUser, now: chrono::NaiveDateTime) -> AppResult<Value> {
    let tenders = crate::tender::list_active(conn, user, now, 10)?;
    let mut views: Vec<Value> = tenders
        .into_iter()
        .filter(|t| match user.role {
            Role::Vendor => t.state.accepts_bids(now),
            _ => true,
        })
        .map(|t| t.view(now))
        .collect();
    crate::tender::label_award_stage(conn, &mut views)?;
    Ok(Value::Array(views))
}

fn start_context(
    conn: &mut DbConn,
    user: &CurrentUser,
    now: chrono::NaiveDateTime,
    state: &crate::AppState,
) -> AppResult<Value> {
    let mut ctx = json!({ "role": user.role.code() });
    match user.role {
        Role::Admin => {
            let pending: Vec<(OrgId, String, String, chrono::NaiveDateTime)> = organisations::table
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
            let c = state.start_counts.get(conn)?;
            ctx["counts"] = json!({
                "members": c.members,
                "vendors": c.vendors,
                "pending_vendors": pending.len(),
                "users": c.users,
                "catalogue": c.catalogue,
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
            let c = state.start_counts.get(conn)?;
            ctx["counts"] = json!({ "members": c.members, "vendors": c.approved_vendors, "catalogue": c.catalogue });
        }
        Role::Board => {
            let c = state.start_counts.get(conn)?;
            ctx["counts"] = json!({
                "members": c.members,
                "vendors": c.approved_vendors,
                "audit_events": state.audit_count.total(conn)?,
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
pub async fn index(layout: Layout, user: CurrentUser, db: Db, state: crate::AppState) -> AppResult<Html> {
    let u = user.clone();
    let now = state.clock.now_naive();
    let role = u.role;
    let work = move |c: &mut DbConn| start_context(c, &u, now, &state);
    // The administrator's pending registrations and the board's event count can scan a table:
    // off the worker. The others read a few rows by key (the officer's counts are kept 10 s).
    let ctx = match role {
        Role::Admin | Role::Board => db.run(work).await?,
        _ => db.read(work).await?,
    };
    Ok(layout.render("start", ctx))
}
