//! Fast multi-row INSERTs per backend: the multi-connection enum has no batch insert, so each
//! backend gets its own typed statement, in chunks that stay under its bound-variable limit.

use crate::db::DbConn;
use std::time::Instant;

/// SQLite refuses more than 32,766 bound variables in one statement.
pub const SQLITE_MAX_VARIABLES: usize = 32_766;
/// PostgreSQL's wire protocol counts parameters in 16 bits.
pub const PG_MAX_VARIABLES: usize = 65_535;

/// Rows per statement for a table of `columns` columns on this connection's backend.
pub fn rows_per_statement(conn: &DbConn, columns: usize) -> usize {
    let limit = match conn {
        DbConn::Sqlite(_) => SQLITE_MAX_VARIABLES,
        DbConn::Pg(_) => PG_MAX_VARIABLES,
    };
    (limit / columns).max(1)
}

/// Inserts `$rows` (a slice of tuples of `column.eq(value)`) into `$table` in as few statements
/// as the backend allows, and prints how many rows took how long.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $name:expr, $columns:expr, $rows:expr) => {{
        let rows = $rows;
        let progress = $crate::seed_scale::bulk::Progress::start($name);
        let per = $crate::seed_scale::bulk::rows_per_statement(&*$conn, $columns);
        for chunk in rows.chunks(per) {
            match &mut *$conn {
                $crate::db::DbConn::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c)?,
                $crate::db::DbConn::Pg(c) => diesel::insert_into($table).values(chunk).execute(c)?,
            };
        }
        progress.done(rows.len());
    }};
}
pub(crate) use insert_all;

/// One line per table on standard error: name, rows, seconds.
pub struct Progress {
    name: &'static str,
    started: Instant,
}

impl Progress {
    pub fn start(name: &'static str) -> Progress {
        Progress {
            name,
            started: Instant::now(),
        }
    }

    pub fn done(self, rows: usize) {
        eprintln!(
            "  {:<22} {:>10} Zeilen {:>7.1} s",
            self.name,
            rows,
            self.started.elapsed().as_secs_f64()
        );
    }
}
