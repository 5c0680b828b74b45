//! Exact row counts of append-only tables (audit events, catalogue positions) without counting
//! the whole table on every page: a base counted once plus the rows after it, by primary key.

use crate::db::DbConn;
use crate::error::AppResult;
use std::sync::{Mutex, PoisonError};

/// The three queries a count needs, on one table whose rows are never deleted and whose ids
/// grow (`append_only_table!` writes them for a Diesel table).
#[derive(Debug, Clone, Copy)]
pub struct AppendOnlyTable {
    /// `SELECT COUNT(*)`.
    pub all: fn(&mut DbConn) -> diesel::QueryResult<i64>,
    /// The highest id, 0 for an empty table.
    pub max_id: fn(&mut DbConn) -> diesel::QueryResult<i64>,
    /// Rows with an id at most the given one.
    pub up_to: fn(&mut DbConn, i64) -> diesel::QueryResult<i64>,
    /// Rows with an id above the given one.
    pub after: fn(&mut DbConn, i64) -> diesel::QueryResult<i64>,
}

/// The queries of `AppendOnlyTable` for a table of `crate::db::schema` with a BIGINT `id`.
#[macro_export]
macro_rules! append_only_table {
    ($table:ident) => {{
        use diesel::prelude::*;
        use $crate::db::schema::$table;
        $crate::db::count::AppendOnlyTable {
            all: |c| $table::table.count().get_result(c),
            max_id: |c| {
                $table::table
                    .select(diesel::dsl::max($table::id))
                    .first::<Option<i64>>(c)
                    .map(Option::unwrap_or_default)
            },
            up_to: |c, id| $table::table.filter($table::id.le(id)).count().get_result(c),
            after: |c, id| $table::table.filter($table::id.gt(id)).count().get_result(c),
        }
    }};
}

/// The number of rows of an append-only table, kept per process: a base (rows up to an id,
/// counted once) plus the rows after it, counted from the primary key each time (a short
/// range). The base stays `BASE_LAG` ids behind the newest row, so that on PostgreSQL, where ids
/// are taken before commit, a transaction still open when the base is counted has long
/// committed its row into the live range; SQLite commits in id order and is exact anyway.
/// Counting 100,000 catalogue positions on each view was two thirds of the catalogue page at
/// scale; 700,000 audit events, most of the board's start page.
#[derive(Debug)]
pub struct AppendOnlyCount {
    table: AppendOnlyTable,
    base: Mutex<Option<(i64, i64)>>,
    /// Off on the plain path (`BUENDEL_SPEED=plain`): every call counts the whole table.
    off: bool,
}

/// How far the base stays behind the newest id.
const BASE_LAG: i64 = 1_000;
/// When the live range has grown this long, the base moves up (one full count).
const REBASE_AFTER: i64 = 20_000;

impl AppendOnlyCount {
    /// A count of `table` that keeps its base (`on`) or counts every row each time.
    pub fn new(table: AppendOnlyTable, on: bool) -> AppendOnlyCount {
        AppendOnlyCount {
            table,
            base: Mutex::default(),
            off: !on,
        }
    }

    /// All rows, as `SELECT COUNT(*)` would give them.
    pub fn total(&self, conn: &mut DbConn) -> AppResult<i64> {
        let t = self.table;
        if self.off {
            return Ok((t.all)(conn)?);
        }
        let max = (t.max_id)(conn)?;
        let base = *self.base.lock().unwrap_or_else(PoisonError::into_inner);
        let (base_id, base_count) = match base {
            Some((id, count)) if id <= max && max - id <= REBASE_AFTER => (id, count),
            _ => {
                let id = (max - BASE_LAG).max(0);
                let count = (t.up_to)(conn, id)?;
                *self.base.lock().unwrap_or_else(PoisonError::into_inner) = Some((id, count));
                (id, count)
            }
        };
        Ok(base_count + (t.after)(conn, base_id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::schema::catalogue_items;
    use crate::db::Db;
    use diesel::prelude::*;

    fn add(c: &mut DbConn, n: usize) {
        let now = chrono::Utc::now().naive_utc();
        c.transaction(|c| {
            for i in 0..n {
                diesel::insert_into(catalogue_items::table)
                    .values((
                        catalogue_items::description.eq(format!("Position {i}")),
                        catalogue_items::unit.eq("Stück"),
                        catalogue_items::cpv_code.eq("30213100-6"),
                        catalogue_items::active.eq(true),
                        catalogue_items::created_at.eq(now),
                    ))
                    .execute(c)?;
            }
            diesel::QueryResult::Ok(())
        })
        .unwrap();
    }

    #[test]
    fn the_kept_count_follows_every_insert_and_equals_a_full_count() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&dir.path().join("t.db").to_string_lossy(), 1).unwrap();
        db.migrate().unwrap();
        let mut c = db.get().unwrap();
        let kept = AppendOnlyCount::new(crate::append_only_table!(catalogue_items), true);
        let plain = AppendOnlyCount::new(crate::append_only_table!(catalogue_items), false);
        let before = plain.total(&mut c).unwrap();
        assert_eq!(kept.total(&mut c).unwrap(), before);
        // Past the lag and the rebase distance, so that both the live range and a new base
        // are counted.
        for (step, n) in [(1, 1), (2, 1_500), (3, 25_000)] {
            add(&mut c, n);
            let full = plain.total(&mut c).unwrap();
            assert_eq!(kept.total(&mut c).unwrap(), full, "after step {step}");
        }
        assert_eq!(plain.total(&mut c).unwrap(), before + 26_501);
    }
}
