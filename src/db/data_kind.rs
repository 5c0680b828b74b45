//! The mark that a database holds demo or test data, not real procurement, and the guard that
//! lets only such a database run with a moved clock.

use crate::config::Config;
use crate::db::schema::data_kind;
use crate::db::DbConn;
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

crate::coded_enum!(
    /// What a marked database holds.
    DataKind {
        /// Loaded by `serve --demo` or `seed --scale`.
        Demo => "demo", "Demodaten",
        /// A test's or benchmark's database.
        Test => "test", "Testdaten",
    }
);

/// Marks the database as holding `kind` data; a database marked once keeps its first mark.
pub fn mark(conn: &mut DbConn, kind: DataKind, at: NaiveDateTime) -> AppResult<()> {
    if read(conn)?.is_none() {
        diesel::insert_into(data_kind::table)
            .values((
                data_kind::id.eq(1),
                data_kind::kind.eq(kind),
                data_kind::marked_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The mark, `None` for real data.
pub fn read(conn: &mut DbConn) -> AppResult<Option<DataKind>> {
    Ok(data_kind::table
        .select(data_kind::kind)
        .first::<DataKind>(conn)
        .optional()?)
}

/// Refuses a moved clock on a database that is not marked as demo or test data: on real data
/// `BUENDEL_CLOCK_SHIFT=+14d` would end every standstill (§ 134 GWB) and open bids before their
/// deadline, and every audit time would be wrong. The message names the variables to remove.
pub fn check_clock(conn: &mut DbConn, config: &Config) -> AppResult<()> {
    let moved = config.clock_variables();
    if moved.is_empty() || read(conn)?.is_some() {
        return Ok(());
    }
    Err(crate::error::AppError::Internal(format!(
        "Die Uhr darf nur bei Demo- oder Testdaten verstellt werden; diese Datenbank enthält echte Daten. Bitte entfernen Sie {} aus der Umgebung und starten Sie erneut.",
        moved.join(", ")
    )))
}
