//! Migrations up, down and up again on both backends: each down.sql takes back exactly what its
//! up.sql made (tables, columns, indexes, constraints, sequences), reverting them all leaves an
//! empty schema, and the app works on a database migrated a second time.

mod common;

use buendel::db::{Backend, Db, DbConn, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use common::tender_flow::*;
use common::*;
use diesel::backend::Backend as DieselBackend;
use diesel::migration::{Migration, MigrationSource};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use rocket::http::Status;
use std::collections::{BTreeMap, BTreeSet};

/// One object of the schema: kind ("table", "column", "index", ...), name, and what defines it.
#[derive(QueryableByName, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    detail: String,
}

type Schema = BTreeSet<Entry>;

/// What the migrations made in SQLite. `sqlite_*` objects are SQLite's own (`sqlite_sequence`
/// stays once an AUTOINCREMENT table existed; autoindexes are covered by the table's SQL).
const SQLITE_SCHEMA: &str = r#"
    SELECT m.type AS kind, m.name AS name, COALESCE(m.sql, '') AS detail
    FROM sqlite_master m
    WHERE m.name NOT LIKE 'sqlite\_%' ESCAPE '\' AND m.tbl_name <> '__diesel_schema_migrations'
    UNION ALL
    SELECT 'column', m.name || '.' || c.name,
           c.type || ' notnull=' || c."notnull" || ' default=' || COALESCE(c.dflt_value, '-') || ' pk=' || c.pk
    FROM sqlite_master m JOIN pragma_table_info(m.name) c
    WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
      AND m.name <> '__diesel_schema_migrations'
    UNION ALL
    SELECT 'foreign key', m.name || '.' || f."from", f."table" || '.' || COALESCE(f."to", '')
    FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
    WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
      AND m.name <> '__diesel_schema_migrations'
"#;

/// What the migrations made in the test's PostgreSQL schema (`current_schema()`, set through
/// the URL's search_path): every relation (tables, indexes, sequences, views), column,
/// constraint and function.
const POSTGRES_SCHEMA: &str = r#"
    SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence'
                          WHEN 'v' THEN 'view' ELSE 'relation ' || c.relkind::text END AS kind,
           c.relname::text AS name,
           CASE WHEN c.relkind = 'i' THEN pg_get_indexdef(c.oid) ELSE '' END AS detail
    FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace
      AND c.relname NOT IN ('__diesel_schema_migrations', '__diesel_schema_migrations_pkey')
    UNION ALL
    SELECT 'column', table_name::text || '.' || column_name::text,
           data_type::text || ' nullable=' || is_nullable::text || ' default=' || COALESCE(column_default::text, '-')
    FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'
    UNION ALL
    SELECT 'constraint', conrelid::regclass::text || '.' || conname::text, pg_get_constraintdef(oid)
    FROM pg_constraint
    WHERE connamespace = current_schema()::regnamespace
      AND conrelid::regclass::text <> '__diesel_schema_migrations'
    UNION ALL
    SELECT 'function', proname::text, pg_get_function_identity_arguments(oid)
    FROM pg_proc
    WHERE pronamespace = current_schema()::regnamespace
"#;

fn schema<C: Connection>(conn: &mut C, query: &str) -> Schema
where
    C::Backend: DieselBackend,
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, Entry>,
{
    diesel::sql_query(query)
        .load::<Entry>(conn)
        .expect("read the schema")
        .into_iter()
        .collect()
}

fn tables(schema: &Schema) -> BTreeSet<String> {
    schema
        .iter()
        .filter(|e| e.kind == "table")
        .map(|e| e.name.clone())
        .collect()
}

/// The difference of two schemas, for a readable failure.
fn diff(expected: &Schema, actual: &Schema) -> String {
    let missing: Vec<_> = expected.difference(actual).collect();
    let extra: Vec<_> = actual.difference(expected).collect();
    format!("missing: {missing:#?}\nleft over or changed: {extra:#?}")
}

/// The embedded migrations of one backend, usable as a source more than once.
#[derive(Clone, Copy)]
struct Source(&'static EmbeddedMigrations);

impl<DB: DieselBackend> MigrationSource<DB> for Source {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<DB>>>> {
        MigrationSource::<DB>::migrations(self.0)
    }
}

/// Up, down and up again, on a fresh database of one backend; returns the names of the
/// migrations it went through. After all of it, every migration is applied again.
fn up_down_up<C, DB>(conn: &mut C, source: Source, read: impl Fn(&mut C) -> Schema) -> Vec<String>
where
    DB: DieselBackend,
    C: MigrationHarness<DB>,
{
    let mut migrations: Vec<Box<dyn Migration<DB>>> = source.migrations().expect("migrations");
    migrations.sort_by(|a, b| a.name().version().cmp(&b.name().version()));
    assert!(migrations.len() >= 7, "the migrations are embedded");
    let names: Vec<String> = migrations.iter().map(|m| m.name().to_string()).collect();

    // One by one: after up and down of migration N the schema is what the ones before N made,
    // and up again makes the same schema as the first time.
    // Creates diesel's own table of applied versions, which single steps expect.
    assert!(
        conn.applied_migrations().expect("applied").is_empty(),
        "a fresh database"
    );
    let empty = read(conn);
    assert_eq!(empty, Schema::new(), "a fresh database is empty");
    let mut states = vec![empty];
    for (m, name) in migrations.iter().zip(&names) {
        let before = states.last().expect("a state").clone();
        conn.run_migration(m.as_ref())
            .unwrap_or_else(|e| panic!("up {name}: {e}"));
        let after = read(conn);
        assert_ne!(after, before, "{name} changes the schema");
        conn.revert_migration(m.as_ref())
            .unwrap_or_else(|e| panic!("down {name}: {e}"));
        let reverted = read(conn);
        assert!(
            reverted == before,
            "down.sql of {name} does not take back its up.sql:\n{}",
            diff(&before, &reverted)
        );
        conn.run_migration(m.as_ref())
            .unwrap_or_else(|e| panic!("up {name} again: {e}"));
        let again = read(conn);
        assert!(
            again == after,
            "{name} up again differs from the first time:\n{}",
            diff(&after, &again)
        );
        states.push(after);
    }
    assert_eq!(conn.applied_migrations().expect("applied").len(), names.len());

    // All down, newest first, through the states seen on the way up.
    for name in names.iter().rev() {
        conn.revert_last_migration(source)
            .unwrap_or_else(|e| panic!("revert {name}: {e}"));
        states.pop();
        let expected = states.last().expect("a state");
        let now = read(conn);
        assert!(&now == expected, "after reverting {name}:\n{}", diff(expected, &now));
    }
    assert!(
        conn.applied_migrations().expect("applied").is_empty(),
        "no migration recorded as applied"
    );
    let left = read(conn);
    assert!(
        left.is_empty(),
        "reverting every migration leaves an empty schema (besides diesel's own table): {left:#?}"
    );

    // And up again: the same schema as the first time.
    let applied = conn.run_pending_migrations(source).expect("up again").len();
    assert_eq!(applied, names.len());
    names
}

/// Every table and column `src/db/schema.rs` names (the code's view of the database).
fn code_schema() -> BTreeMap<String, BTreeSet<String>> {
    let text = include_str!("../src/db/schema.rs");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut table: Option<String> = None;
    let mut expect_table = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("diesel::table!") {
            expect_table = true;
        } else if expect_table && !line.is_empty() && !line.starts_with('#') {
            let name = line.split([' ', '(']).next().expect("table name");
            table = Some(name.to_string());
            out.entry(name.to_string()).or_default();
            expect_table = false;
        } else if let (Some(t), Some((column, _))) = (&table, line.split_once(" -> ")) {
            out.get_mut(t).expect("table").insert(column.trim().to_string());
        } else if line == "}" {
            table = None;
        }
    }
    assert!(out.len() >= 30, "schema.rs parsed: {out:?}");
    out
}

/// The tables and columns of the database, as the schema entries list them.
fn database_columns(schema: &Schema) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> =
        tables(schema).into_iter().map(|t| (t, BTreeSet::new())).collect();
    for e in schema.iter().filter(|e| e.kind == "column") {
        let (table, column) = e.name.split_once('.').expect("table.column");
        out.get_mut(table)
            .unwrap_or_else(|| panic!("column {} of a table not listed", e.name))
            .insert(column.to_string());
    }
    out
}

#[test]
fn migrations_go_up_down_and_up_again_and_the_app_works_after() {
    each_backend(|b| {
        let (url, cleanup) = fresh_database(b);
        // Through the app's own pool: the same connection settings as `buendel migrate`
        // (on SQLite, foreign keys on).
        let db = Db::connect(&url, 2).expect("connect");
        let migrated = {
            let mut pooled = db.get().expect("connection");
            match &mut *pooled {
                DbConn::Sqlite(c) => {
                    let names = up_down_up(c, Source(&SQLITE_MIGRATIONS), |c| schema(c, SQLITE_SCHEMA));
                    (names, schema(c, SQLITE_SCHEMA))
                }
                DbConn::Pg(c) => {
                    let names = up_down_up(c, Source(&POSTGRES_MIGRATIONS), |c| schema(c, POSTGRES_SCHEMA));
                    (names, schema(c, POSTGRES_SCHEMA))
                }
            }
        };
        let (names, remigrated) = migrated;
        drop(db);

        // Both backends have the same migrations, and the re-migrated database has exactly the
        // tables and columns the code names.
        let other = match b {
            Backend::Sqlite => "migrations/postgres",
            Backend::Postgres => "migrations/sqlite",
        };
        let mut folders: Vec<String> = std::fs::read_dir(other)
            .expect("migrations folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        folders.sort();
        let versions: Vec<String> = names
            .iter()
            .map(|n| n.split('_').next().unwrap_or_default().replace('-', ""))
            .collect();
        let other_versions: Vec<String> = folders
            .iter()
            .map(|n| n.split('_').next().unwrap_or_default().replace('-', ""))
            .collect();
        assert_eq!(versions, other_versions, "same migrations as {other}");
        assert_eq!(
            database_columns(&remigrated),
            code_schema(),
            "src/db/schema.rs matches the database"
        );

        // The app runs on it: a tender published, bid on, opened, awarded and concluded; a
        // call-off placed against the contract through the order page.
        let app = TestApp::on_database(b, url, cleanup, &[]);
        let w = app.world();
        let (contract_id, position) = concluded_contract(&app, &w);
        let buyer = browser(&app, "buyer_a");
        let (status, body) = post(
            &buyer,
            &format!("/vertraege/{contract_id}/abrufe"),
            &[
                (format!("q_{position}"), "2".into()),
                (
                    "delivery_address".into(),
                    "Rathaus, Marktplatz 1, 64283 Darmstadt".into(),
                ),
                ("cost_centre".into(), "4711".into()),
            ],
        );
        assert_eq!(status, Status::SeeOther, "{body}");
        use buendel::db::schema::{calloff_lines, contract_positions};
        let mut c = app.conn();
        let called: i64 = contract_positions::table
            .filter(contract_positions::contract_id.eq(contract_id))
            .filter(contract_positions::position_id.eq(position))
            .select(contract_positions::called_quantity)
            .first(&mut *c)
            .expect("the contract position");
        assert_eq!(called, 2_000, "two units called off (in thousandths)");
        let lines: i64 = calloff_lines::table
            .filter(calloff_lines::contract_id.eq(contract_id))
            .count()
            .get_result(&mut *c)
            .expect("count");
        assert_eq!(lines, 1);
        assert!(buendel::audit::verify(&mut c).expect("verify").is_ok());
    });
}
