//! What the database benchmarks share: a fresh application on a temporary SQLite file or in a
//! PostgreSQL schema of its own (dropped again afterwards), with a frozen clock and no real mail.

use buendel::config::Config;
use buendel::App;
use diesel::prelude::*;
use std::collections::HashMap;

/// PostgreSQL for benchmarks, as for the tests.
pub fn pg_base() -> String {
    std::env::var("BUENDEL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A prepared application (migrations run) on an empty database.
pub struct BenchApp {
    pub app: App,
    pg_schema: Option<String>,
    _dir: tempfile::TempDir,
}

impl BenchApp {
    /// On SQLite, or on PostgreSQL in schema `<name>_<pid>`; `None` when PostgreSQL is not
    /// reachable. `extra` adds or overrides configuration variables.
    pub fn open(postgres: bool, name: &str, extra: &[(&str, &str)]) -> Option<BenchApp> {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_schema) = if postgres {
            let mut c = PgConnection::establish(&pg_base()).ok()?;
            let schema = format!("{name}_{}", std::process::id());
            diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut c)
                .ok()?;
            diesel::sql_query(format!("CREATE SCHEMA {schema}"))
                .execute(&mut c)
                .ok()?;
            (format!("{}?options=-csearch_path%3D{schema}", pg_base()), Some(schema))
        } else {
            (dir.path().join("bench.db").to_string_lossy().into_owned(), None)
        };
        let mut vars: HashMap<String, String> = [
            ("DATABASE_URL", url.as_str()),
            ("BUENDEL_MAIL_TRANSPORT", "stub"),
            ("BUENDEL_NOW", "2026-11-23T10:00:00Z"),
            ("BUENDEL_CLOCK_FROZEN", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let app = App::prepare(Config::from_map(&vars, false).unwrap()).unwrap();
        Some(BenchApp {
            app,
            pg_schema,
            _dir: dir,
        })
    }
}

impl Drop for BenchApp {
    fn drop(&mut self) {
        if let (Some(schema), Ok(mut c)) = (&self.pg_schema, PgConnection::establish(&pg_base())) {
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut c);
        }
    }
}
