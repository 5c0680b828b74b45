//! Computed dashboards kept while nothing has changed, and computed again in the background
//! when computing takes long.

use super::dashboard::{dashboard, Dashboard};
use super::scope::Scope;
use crate::db::DbConn;
use crate::domain::ids::{AuditEventId, OrgId};
use crate::error::AppResult;
use crate::AppState;
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::HashMap;

/// Computed dashboards, kept while nothing has changed: every change that moves a figure (a
/// call-off and each step of it, an award, demand) writes an audit event in its transaction, so
/// the newest event id is the version of all figures. A dashboard is reused for the same
/// scope, year, day and version, at most `DASHBOARD_TTL` long: on PostgreSQL an event id can
/// commit after a higher one, and the age limit bounds how long such a change can go unseen.
///
/// A dashboard that took `SLOW_DASHBOARD` or more to compute (the whole cooperative at the scale
/// of a large one: seconds) is not computed again while readers wait: they keep getting the last
/// one while a background thread computes the new one, so a change shows up one computation
/// later, and at most once per twenty times its computing time: with call-offs coming in all
/// day, the whole cooperative's dashboard would otherwise be computed back to back, a core
/// taken from every other page. A quick one (a member's own, or a small cooperative) is
/// always computed at once.
#[derive(Debug, Default)]
pub struct DashboardCache {
    entries: std::sync::Mutex<HashMap<DashboardKey, CachedDashboard>>,
    /// Held while one dashboard is computed: 32 board members opening the page at once wait for
    /// one computation instead of running 32 side by side on the same cores.
    computing: std::sync::Mutex<()>,
    /// Set while a background thread computes a slow dashboard again (one at a time).
    refreshing: std::sync::atomic::AtomicBool,
    /// Off on the plain path (`BUENDEL_SPEED=plain`): every request computes its dashboard.
    off: bool,
}

/// Member, year and day a dashboard was computed for.
type DashboardKey = (Option<OrgId>, Option<i32>, NaiveDate);

/// A computed dashboard with the version it shows, when and how long it took to compute.
#[derive(Debug, Clone)]
struct CachedDashboard {
    version: AuditEventId,
    at: std::time::Instant,
    cost: std::time::Duration,
    dashboard: std::sync::Arc<Dashboard>,
}

const DASHBOARD_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a dashboard that took `cost` to compute is reused: an unchanged one
/// `DASHBOARD_TTL`, a slow one (changed or not) twenty times its computing time when that is
/// longer.
fn kept_for(cost: std::time::Duration) -> std::time::Duration {
    DASHBOARD_TTL.max(cost.saturating_mul(20))
}
/// From this computing time on, readers get the last dashboard while the next one is computed.
const SLOW_DASHBOARD: std::time::Duration = std::time::Duration::from_millis(200);

impl DashboardCache {
    /// A cache that reuses dashboards (`true`) or computes each one.
    pub fn new(on: bool) -> DashboardCache {
        DashboardCache {
            off: !on,
            ..DashboardCache::default()
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<DashboardKey, CachedDashboard>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The dashboard for `scope` and `year`, computed only when something changed.
    pub fn get(
        &self,
        conn: &mut DbConn,
        db: &crate::db::Db,
        state: &AppState,
        scope: Scope,
        year: Option<i32>,
    ) -> AppResult<std::sync::Arc<Dashboard>> {
        if self.off {
            return Ok(std::sync::Arc::new(dashboard(conn, state, scope, year)?));
        }
        let version = current_version(conn)?;
        let key = (scope.member_id, year, berlin_today(state));
        let current = |entry: &CachedDashboard| entry.version == version && entry.at.elapsed() < kept_for(entry.cost);
        let cached = self.entries().get(&key).cloned();
        if let Some(entry) = cached {
            if current(&entry) {
                return Ok(entry.dashboard);
            }
            if entry.cost >= SLOW_DASHBOARD {
                if entry.at.elapsed() >= kept_for(entry.cost) {
                    self.refresh_in_background(db.clone(), state.clone(), scope, year);
                }
                return Ok(entry.dashboard);
            }
        }
        let _computing = self.computing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = self.entries().get(&key).filter(|e| current(e)) {
            return Ok(entry.dashboard.clone());
        }
        Ok(self.compute(conn, state, scope, year, version)?.dashboard)
    }

    /// Computes a dashboard and keeps it.
    fn compute(
        &self,
        conn: &mut DbConn,
        state: &AppState,
        scope: Scope,
        year: Option<i32>,
        version: AuditEventId,
    ) -> AppResult<CachedDashboard> {
        let key = (scope.member_id, year, berlin_today(state));
        let started = std::time::Instant::now();
        let entry = CachedDashboard {
            version,
            dashboard: std::sync::Arc::new(dashboard(conn, state, scope, year)?),
            cost: started.elapsed(),
            at: std::time::Instant::now(),
        };
        let mut map = self.entries();
        // One entry per member and year at most; a day change leaves old ones behind.
        if map.len() > 4_096 {
            map.clear();
        }
        map.insert(key, entry.clone());
        Ok(entry)
    }

    /// Computes the dashboard again on a thread of its own, unless one is being computed so.
    fn refresh_in_background(&self, db: crate::db::Db, state: AppState, scope: Scope, year: Option<i32>) {
        use std::sync::atomic::Ordering;
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let work = move || {
            let cache = state.dashboards.clone();
            let result = db.get().and_then(|mut conn| {
                // The version is read first: a change committed while computing is picked up
                // by the next refresh.
                let version = current_version(&mut conn)?;
                cache.compute(&mut conn, &state, scope, year, version)
            });
            if let Err(e) = result {
                log::warn!("Auswertung im Hintergrund nicht berechnet: {e}");
            }
            cache.refreshing.store(false, Ordering::Release);
        };
        if let Err(e) = std::thread::Builder::new().name("dashboard".into()).spawn(work) {
            log::warn!("Auswertung im Hintergrund nicht gestartet: {e}");
            self.refreshing.store(false, Ordering::Release);
        }
    }

    /// Computes the cooperative's dashboard on a thread of its own, so that the board's first
    /// visit after a start does not wait for it.
    pub fn warm_up(&self, db: crate::db::Db, state: AppState) {
        if !self.off {
            self.refresh_in_background(db, state, Scope { member_id: None }, None);
        }
    }
}

/// The version of all figures: the newest audit event.
fn current_version(conn: &mut DbConn) -> AppResult<AuditEventId> {
    use crate::db::schema::audit_events;
    Ok(audit_events::table
        .select(diesel::dsl::max(audit_events::id))
        .first::<Option<AuditEventId>>(conn)?
        .unwrap_or_default())
}

fn berlin_today(state: &AppState) -> NaiveDate {
    state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_quick_dashboard_is_kept_ten_seconds_a_slow_one_twenty_times_its_cost() {
        assert_eq!(kept_for(Duration::from_millis(40)), DASHBOARD_TTL);
        assert_eq!(kept_for(Duration::from_millis(500)), DASHBOARD_TTL);
        assert_eq!(kept_for(Duration::from_millis(1_400)), Duration::from_secs(28));
        assert!(kept_for(SLOW_DASHBOARD) >= DASHBOARD_TTL);
    }
}
