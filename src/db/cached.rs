//! Hand-written statements that stay prepared on the connection: Diesel prepares every UPDATE
//! and every `sql_query` afresh, which cost a call-off more CPU than its writes (perf, issue #6).

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// Fixed SQL with BIGINT parameters between its parts: `parts[0] ? parts[1] ? … parts[n]`, the
/// placeholders written by the backend (`?` or `$n`). Cached by its SQL text, so two statements
/// never share a prepared statement.
#[derive(Debug, Clone)]
pub struct CachedSql {
    parts: &'static [&'static str],
    binds: Vec<i64>,
}

/// One statement; `parts` has one element more than `binds`.
pub fn cached(parts: &'static [&'static str], binds: Vec<i64>) -> CachedSql {
    assert_eq!(parts.len(), binds.len() + 1, "{parts:?}: one part more than parameters");
    CachedSql { parts, binds }
}

impl QueryId for CachedSql {
    type QueryId = ();
    // Not static: the cache key is then the SQL text, not the Rust type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for CachedSql {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for CachedSql {}

impl<DB> QueryFragment<DB> for CachedSql
where
    DB: Backend + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for (i, part) in self.parts.iter().enumerate() {
            out.push_sql(part);
            if let Some(value) = self.binds.get(i) {
                out.push_bind_param::<BigInt, i64>(value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::cached;
    use crate::db::Db;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        v: i64,
    }

    #[test]
    fn parameters_land_between_the_parts_and_results_load() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&dir.path().join("t.db").to_string_lossy(), 1).unwrap();
        let mut c = db.get().unwrap();
        c.batch_execute("CREATE TABLE t (k BIGINT PRIMARY KEY, v BIGINT NOT NULL)")
            .unwrap();
        let insert = |c: &mut crate::db::DbConn, k: i64, v: i64| {
            cached(&["INSERT INTO t (k, v) VALUES (", ", ", ")"], vec![k, v])
                .execute(c)
                .unwrap()
        };
        assert_eq!(insert(&mut c, 1, 10), 1);
        assert_eq!(insert(&mut c, 2, 20), 1);
        let add = |c: &mut crate::db::DbConn, by: i64, k: i64, max: i64| {
            cached(
                &[
                    "UPDATE t SET v = v + ",
                    " WHERE k = ",
                    " AND v + ",
                    " <= ",
                    " RETURNING v",
                ],
                vec![by, k, by, max],
            )
            .load::<Row>(c)
            .unwrap()
        };
        assert_eq!(add(&mut c, 5, 1, 15), vec![Row { v: 15 }]);
        // The same statement again (now from the cache), refused by its guard.
        assert_eq!(add(&mut c, 5, 1, 15), vec![]);
        assert_eq!(add(&mut c, 1, 2, 100), vec![Row { v: 21 }]);
    }
}
