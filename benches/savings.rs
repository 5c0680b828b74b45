//! The board's savings aggregation over 1,000,000 generated call-off lines on SQLite and
//! PostgreSQL, next to its anchor in the same run: a plain SUM scan of the same table.
//! Run: `cargo bench --bench savings` (PostgreSQL from BUENDEL_TEST_POSTGRES_URL, skipped if
//! unreachable).

mod common;

use buendel::db::DbConn;
use buendel::domain::ids::OrgId;
use common::BenchApp;
use criterion::{criterion_group, criterion_main, Criterion};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::time::Duration;

const CALLOFFS: i64 = 200_000;
const LINES_PER_CALLOFF: i64 = 5;

/// Call-offs of 8 members on 4 contracts over 24 months, one in ten cancelled; 5 lines each with
/// a reference from one of the three sources (one line in 50 without). Generated inside the
/// database in one statement per table; foreign keys are off for the generating connection only
/// (the rows point at members and contracts the benchmark does not need).
fn generate(conn: &mut DbConn) {
    let calloffs_sql = |series: &str, n: &str, created: &str| {
        format!(
            "INSERT INTO calloffs (id, number, contract_id, member_id, ordered_by, status, delivery_address, \
             cost_centre, leitweg_id, note, total, created_at, document, document_sha256) \
             {series} SELECT {n}, 'AB-' || {n}, {n} % 4 + 1, {n} % 8 + 1, 1, \
             CASE WHEN {n} % 10 = 0 THEN 'cancelled' WHEN {n} % 3 = 0 THEN 'confirmed' ELSE 'delivered' END, \
             'Rathaus', 'KST', NULL, '', 0, {created}, '', '' FROM s"
        )
    };
    let lines_sql = |series: &str, n: &str| {
        format!(
            "INSERT INTO calloff_lines (calloff_id, position_id, quantity, unit_price, line_total, \
             reference_price, reference_source, saving, member_id, contract_id, order_year, holds_volume) \
             {series} SELECT ({n} - 1) / {LINES_PER_CALLOFF} + 1, ({n} - 1) % {LINES_PER_CALLOFF} + 1, \
             ({n} % 7 + 1) * 1000, 899000 + {n} % 100, ({n} % 7 + 1) * 8990, \
             CASE WHEN {n} % 50 = 0 THEN NULL ELSE 949000 END, \
             CASE WHEN {n} % 50 = 0 THEN NULL WHEN {n} % 3 = 0 THEN 'member' WHEN {n} % 3 = 1 THEN 'estimate' ELSE 'median' END, \
             CASE WHEN {n} % 50 = 0 THEN NULL ELSE ({n} % 7 + 1) * 500 END, \
             {k} % 8 + 1, {k} % 4 + 1, 2026 + ({k} % 24) / 12, {k} % 10 <> 0 FROM s",
            // The line's call-off, whose member, contract, year and status the line repeats.
            k = format!("(({n} - 1) / {LINES_PER_CALLOFF} + 1)")
        )
    };
    let total_lines = CALLOFFS * LINES_PER_CALLOFF;
    match conn {
        DbConn::Sqlite(c) => {
            let series =
                |max: i64| format!("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {max})");
            c.batch_execute("PRAGMA foreign_keys = OFF").unwrap();
            c.batch_execute(&format!(
                "BEGIN; {}; {}; COMMIT; ANALYZE;",
                calloffs_sql(
                    &series(CALLOFFS),
                    "n",
                    "datetime('2026-01-15 10:00:00', '+' || (n % 24) || ' months')"
                ),
                lines_sql(&series(total_lines), "n")
            ))
            .unwrap();
            c.batch_execute("PRAGMA foreign_keys = ON").unwrap();
        }
        DbConn::Pg(c) => {
            let series = |max: i64| format!("WITH s AS (SELECT generate_series(1, {max}::bigint) AS n)");
            c.batch_execute(&format!(
                "SET session_replication_role = replica; BEGIN; {}; {}; COMMIT; \
                 SET session_replication_role = origin;",
                calloffs_sql(
                    &series(CALLOFFS),
                    "n",
                    "TIMESTAMP '2026-01-15 10:00:00' + (n % 24) * INTERVAL '1 month'"
                ),
                lines_sql(&series(total_lines), "n")
            ))
            .unwrap();
            // What autovacuum does after a million inserts (its insert threshold): statistics and
            // the visibility map, so the dashboard reads the covering index alone. VACUUM cannot
            // run inside the multi-statement string above.
            for table in ["calloffs", "calloff_lines"] {
                c.batch_execute(&format!("VACUUM ANALYZE {table}")).unwrap();
            }
        }
    }
}

fn setup(postgres: bool) -> Option<BenchApp> {
    let bench = BenchApp::open(postgres, "bench_savings", &[("BUENDEL_POOL_SIZE", "2")])?;
    let started = std::time::Instant::now();
    generate(&mut bench.app.db.get().unwrap());
    eprintln!(
        "{}: {} call-off lines generated in {:.1?}",
        if postgres { "PostgreSQL" } else { "SQLite" },
        CALLOFFS * LINES_PER_CALLOFF,
        started.elapsed()
    );
    Some(bench)
}

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    total: i64,
}

fn plain_sum(conn: &mut DbConn) -> i64 {
    let sql = "SELECT CAST(SUM(line_total) AS BIGINT) AS total FROM calloff_lines";
    let rows: Vec<Sum> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(sql).load(c).unwrap(),
        DbConn::Pg(c) => diesel::sql_query(sql).load(c).unwrap(),
    };
    rows[0].total
}

fn bench_backend(c: &mut Criterion, name: &str, s: &BenchApp) {
    let mut conn = s.app.db.get().unwrap();
    let cube = buendel::savings::cube(&mut conn, None, None).unwrap();
    let lines: i64 = cube.iter().map(|r| r.lines).sum();
    // One in ten call-offs is cancelled and does not count.
    assert_eq!(lines, CALLOFFS * LINES_PER_CALLOFF * 9 / 10, "{name}");
    assert!(plain_sum(&mut conn) > 0);
    let mut group = c.benchmark_group(format!("savings_1m_lines/{name}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .warm_up_time(Duration::from_secs(2));
    group.bench_function(
        "savings aggregation (dashboard cube: member, contract, position, year, source)",
        |b| b.iter(|| buendel::savings::cube(&mut conn, None, None).unwrap().len()),
    );
    group.bench_function("savings aggregation of one member and year", |b| {
        b.iter(|| {
            buendel::savings::cube(&mut conn, Some(OrgId(3)), Some(2026))
                .unwrap()
                .len()
        })
    });
    group.bench_function("anchor: plain SUM scan of calloff_lines", |b| {
        b.iter(|| plain_sum(&mut conn))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let sqlite = setup(false).expect("sqlite");
    bench_backend(c, "sqlite", &sqlite);
    drop(sqlite);
    match setup(true) {
        Some(pg) => bench_backend(c, "postgres", &pg),
        None => eprintln!("PostgreSQL nicht erreichbar: nur SQLite gemessen."),
    }
}

criterion_group!(group, benches);
criterion_main!(group);
