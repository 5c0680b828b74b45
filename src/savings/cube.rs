//! The one aggregation over call-off lines: realised volume and savings in cents per member,
//! contract, position, year and reference source.

use crate::db::DbConn;
use crate::domain::ids::{ContractId, OrgId, TenderPositionId};
use crate::error::AppResult;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

/// Realised figures of call-off lines, summed per member, contract, position, year and source.
#[derive(Debug, Clone, QueryableByName)]
pub struct CubeRow {
    #[diesel(sql_type = BigInt)]
    pub member_id: OrgId,
    #[diesel(sql_type = BigInt)]
    pub contract_id: ContractId,
    #[diesel(sql_type = BigInt)]
    pub position_id: TenderPositionId,
    #[diesel(sql_type = Integer)]
    pub year: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub source: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub volume: i64,
    #[diesel(sql_type = BigInt)]
    pub saving: i64,
    #[diesel(sql_type = BigInt)]
    pub lines: i64,
}

/// The one aggregation over call-off lines: a SUM/GROUP BY over BIGINT cents on the lines alone.
/// Each line carries its call-off's member, contract, German order year and whether it still holds
/// volume (migration 000008), so no join is needed and SQLite streams the groups in the order of
/// the covering index `calloff_lines_cube`. `member` and `year` are validated integers.
pub fn cube_sql(member: Option<OrgId>, year: Option<i32>) -> String {
    let mut filter = String::new();
    if let Some(m) = member {
        filter.push_str(&format!(" AND member_id = {m}"));
    }
    if let Some(y) = year {
        filter.push_str(&format!(" AND order_year = {y}"));
    }
    format!(
        "SELECT member_id, contract_id, position_id, order_year AS year, reference_source AS source, \
         CAST(SUM(line_total) AS BIGINT) AS volume, CAST(COALESCE(SUM(saving), 0) AS BIGINT) AS saving, \
         COUNT(*) AS lines \
         FROM calloff_lines WHERE holds_volume = TRUE{filter} \
         GROUP BY member_id, contract_id, position_id, order_year, reference_source"
    )
}

pub fn cube(conn: &mut DbConn, member: Option<OrgId>, year: Option<i32>) -> AppResult<Vec<CubeRow>> {
    Ok(match conn {
        DbConn::Pg(c) => diesel::sql_query(cube_sql(member, year)).load::<CubeRow>(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(cube_sql(member, year)).load::<CubeRow>(c)?,
    })
}
