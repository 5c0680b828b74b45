//! The audit trail browser for the admin and the board: filter by action, object, actor and
//! date, page through, and run the chain verification on demand.

use super::{verify as verify_chain, AuditRow};
use crate::auth::CurrentUser;
use crate::db::schema::audit_events;
use crate::db::Db;
use crate::domain::roles::Role;
use crate::error::AppResult;
use crate::web::{read, Layout};

use crate::web::Html;
use diesel::prelude::*;
use rocket::{get, routes, Build, Rocket};
use serde_json::json;

use crate::db::page::PAGE_SIZE;

#[derive(rocket::FromForm, Default, Clone, Debug, serde::Serialize)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub actor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[get("/protokoll?<page>&<verify>&<filter..>")]
async fn audit_page(
    layout: Layout,
    user: CurrentUser,
    db: Db,
    page: Option<&str>,
    verify: Option<String>,
    filter: AuditFilter,
    state: crate::AppState,
) -> AppResult<Html> {
    user.require(&[Role::Admin, Role::Board])?;
    let page = read::query::<i64>("page", page, "eine Seitenzahl (ganze Zahl)")?
        .unwrap_or(1)
        .clamp(1, 1_000_000);
    let from = read::query_date("from", filter.from.as_deref())?;
    let to = read::query_date("to", filter.to.as_deref())?;
    let f = filter.clone();
    let run_verify = verify.is_some();
    let (events, total, verified) = db
        .run(move |c| {
            let sealed = crate::tender::sealed_streams(c)?;
            let build = || {
                let mut q = audit_events::table
                    .filter(diesel::dsl::not(audit_events::stream.eq_any(sealed.clone())))
                    .into_boxed();
                if let Some(a) = non_empty(&f.action) {
                    q = q.filter(audit_events::action.eq(a));
                }
                if let Some(o) = non_empty(&f.object_type) {
                    q = q.filter(audit_events::object_type.eq(o));
                }
                if let Some(a) = non_empty(&f.actor) {
                    q = q.filter(audit_events::actor_label.eq(a));
                }
                if let Some(d) = from {
                    q = q.filter(audit_events::occurred_at.ge(crate::clock::day_start_utc(d)));
                }
                if let Some(d) = to {
                    q = q.filter(audit_events::occurred_at.lt(crate::clock::day_end_utc(d)));
                }
                q
            };
            let unfiltered = [&f.action, &f.object_type, &f.actor]
                .iter()
                .all(|v| non_empty(v).is_none())
                && from.is_none()
                && to.is_none();
            // Unfiltered, the total is the kept count minus the sealed streams' few events,
            // instead of counting hundreds of thousands of rows per page view.
            let total: i64 = if unfiltered {
                let hidden: i64 = audit_events::table
                    .filter(audit_events::stream.eq_any(sealed.clone()))
                    .count()
                    .get_result(c)?;
                state.audit_count.total(c)? - hidden
            } else {
                build().count().get_result(c)?
            };
            let events: Vec<AuditRow> = build()
                .order(audit_events::id.desc())
                .limit(PAGE_SIZE + 1)
                .offset((page - 1) * PAGE_SIZE)
                .select(AuditRow::as_select())
                .load(c)?;
            let verified = if run_verify { Some(verify_chain(c)?) } else { None };
            Ok((events, total, verified))
        })
        .await?;
    let has_next = events.len() as i64 > PAGE_SIZE;
    let events: Vec<_> = events.into_iter().take(PAGE_SIZE as usize).collect();
    let verify_ctx = verified.map(|r| match r {
        Ok(report) => json!({ "ok": true, "message": format!("{} Ereignisse in {} Strängen geprüft.", report.events, report.streams) }),
        Err(broken) => json!({ "ok": false, "message": broken.to_string() }),
    });
    Ok(layout.render(
        "audit",
        json!({
            "events": events.iter().map(super::view).collect::<Vec<_>>(),
            "filter": filter,
            "page": page,
            "has_next": has_next,
            "total": total,
            "verify": verify_ctx,
            "actions": super::ACTIONS.iter().map(|(v, l)| json!({ "value": v, "label": l })).collect::<Vec<_>>(),
            "object_types": super::OBJECT_TYPES.iter().map(|(v, l)| json!({ "value": v, "label": l })).collect::<Vec<_>>(),
        }),
    ))
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount("/", routes![audit_page])
}
