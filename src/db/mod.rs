//! Database access for both backends: the connection enum, the r2d2 pool, migrations per backend,
//! and the request guard that runs blocking Diesel work off the async runtime.

pub mod cached;
pub mod count;
pub mod data_kind;
pub mod group;
pub mod page;
pub mod schema;
pub mod types;

use crate::error::AppError;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use rocket::request::{FromRequest, Outcome, Request};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection type over both backends; PostgreSQL first, because SQLite accepts any path.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs one Diesel expression on the concrete connection of either backend (it is compiled for
/// each). Through `DbConn` every execution walks the query's syntax tree behind dynamic calls
/// (to decide whether it may be cached, to build its SQL as the cache key, to bind); on the
/// concrete connection a query with a static id is found in the statement cache by its type.
/// For the reads on every page view (the session, the start page's).
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// PostgreSQL when the URL says so; everything else is a SQLite file path.
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Establishes the right variant explicitly instead of relying on the derive's trial order.
#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
}

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        let conn = match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url).map(DbConn::Pg),
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                SqliteConnection::establish(path).map(DbConn::Sqlite)
            }
        };
        conn.map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    /// A connection handed back inside a transaction (a panic mid-`write_tx`, a failed rollback)
    /// would keep SQLite's write lock and fail every later transaction: drop it instead.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        let status = match conn {
            DbConn::Pg(c) => AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth(),
            DbConn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth(),
        };
        !matches!(status, Ok(None))
    }
}

/// SQLite needs per-connection settings: WAL for concurrent readers, a busy timeout instead of
/// immediate "database is locked", and foreign keys, which are off by default. Temporary
/// storage in memory: the savepoint journal of each group-committed write otherwise spills to
/// a temporary file created and unlinked per batch (5 % of a call-off's CPU in perf).
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            c.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                 PRAGMA wal_autocheckpoint = 10000; PRAGMA temp_store = MEMORY;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

type DbPool = Pool<Manager>;

/// A pooled connection; derefs to `DbConn`.
pub type Pooled = PooledConnection<Manager>;

/// The pool plus its backend; cloned cheaply into every request.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: Backend,
    /// While any clone lives, the SQLite checkpointer runs.
    _alive: std::sync::Arc<()>,
    /// One per pooled connection: a request waits for its turn as a parked task, not as a
    /// thread blocked inside the pool (see `run`).
    turns: std::sync::Arc<rocket::tokio::sync::Semaphore>,
}

/// How long a request waits for a database connection before it is refused.
const POOL_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the background thread copies the SQLite WAL into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(50);

/// WAL frames (one page each) above which the checkpointer finishes its copy while holding the
/// writers' turn, so that the next writer starts the WAL from its beginning again.
const WAL_RESTART_FRAMES: i64 = 4_000;

/// What `PRAGMA wal_checkpoint` reports of the WAL: its frames (pages) when the copy began.
#[derive(QueryableByName)]
struct Checkpointed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    log: i64,
}

/// Copies the WAL's frames into the database without waiting for anyone; returns the frame count.
fn checkpoint_passive(conn: &mut SqliteConnection) -> QueryResult<i64> {
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
        .get_result::<Checkpointed>(conn)
        .map(|c| c.log)
}

/// One round of the checkpointer; `last_log` is the frame count after the previous round (the
/// same count means no writer came since).
fn checkpoint_round(conn: &mut SqliteConnection, last_log: &mut i64) -> QueryResult<()> {
    let log = checkpoint_passive(conn)?;
    let grown = log >= WAL_RESTART_FRAMES && log != *last_log;
    *last_log = log;
    // The count shows the frames seen at the start; writers appended while they were copied.
    // The rest is copied with the writers waiting, so the WAL starts over.
    if grown {
        let _writers = SQLITE_WRITER.lock().unwrap_or_else(PoisonError::into_inner);
        *last_log = checkpoint_passive(conn)?;
    }
    Ok(())
}

/// Checkpoints SQLite's WAL off the write path. Left to SQLite, the writer whose COMMIT crosses
/// the auto-checkpoint size copies the pages and waits for two fsyncs while holding the write
/// lock — every writer behind it stalls (25 ms per 10 000 pages on this kind of disk, about
/// once a second under load). A PASSIVE checkpoint on its own connection never blocks writers,
/// but under a steady stream of writes it never catches up either: the WAL is only started
/// again from its beginning once every frame is copied, so it grew to the auto-checkpoint size
/// and the writer paid after all. So the bulk is copied without blocking anyone, and when the
/// WAL has grown, the few frames written meanwhile are copied while this process's writers wait
/// their turn (1–4 ms measured under load: small fsyncs). A reader on an older snapshot can
/// still hold the copy back (the WAL then starts over a round later, and the locked pass copies
/// more); the writers' own auto-checkpoint remains as a safety net should this thread fall
/// behind.
fn spawn_checkpointer(path: String, alive: std::sync::Weak<()>) {
    let run = move || {
        let Ok(mut conn) = SqliteConnection::establish(&path) else {
            return;
        };
        if conn.batch_execute("PRAGMA busy_timeout = 1000;").is_err() {
            return;
        }
        let mut last_log = 0;
        while alive.upgrade().is_some() {
            std::thread::sleep(CHECKPOINT_INTERVAL);
            if let Err(e) = checkpoint_round(&mut conn, &mut last_log) {
                log::warn!("SQLite checkpoint: {e}");
            }
        }
    };
    if let Err(e) = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(run) {
        log::warn!("SQLite checkpoint thread not started: {e}");
    }
}

impl Db {
    pub fn connect(url: &str, pool_size: u32) -> Result<Db, AppError> {
        let backend = Backend::from_url(url);
        if backend == Backend::Sqlite {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        AppError::Internal(format!("Verzeichnis {} nicht anlegbar: {e}", dir.display()))
                    })?;
                }
            }
        }
        let manager = Manager {
            url: url.to_string(),
            backend,
        };
        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(POOL_TIMEOUT)
            // A failed connection shows up on use; a probe query per checkout would double the
            // round trips of every request.
            .test_on_check_out(false)
            .connection_customizer(Box::new(SqlitePragmas))
            .build(manager)
            .map_err(|e| AppError::Internal(format!("Datenbank {} nicht erreichbar: {e}", backend.name())))?;
        let alive = std::sync::Arc::new(());
        if backend == Backend::Sqlite {
            let path = url.strip_prefix("sqlite://").unwrap_or(url).to_string();
            spawn_checkpointer(path, std::sync::Arc::downgrade(&alive));
        }
        Ok(Db {
            pool,
            backend,
            _alive: alive,
            turns: std::sync::Arc::new(rocket::tokio::sync::Semaphore::new(pool_size as usize)),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for blocking code (CLI, migrations, background tasks already off the runtime).
    pub fn get(&self) -> Result<PooledConnection<Manager>, AppError> {
        self.pool
            .get()
            .map_err(|e| AppError::Internal(format!("keine Datenbankverbindung: {e}")))
    }

    /// Waits as a parked task until a pooled connection is free for this request.
    async fn turn(&self) -> Result<rocket::tokio::sync::OwnedSemaphorePermit, AppError> {
        // As long as the pool would wait for a connection, then the same error as the pool's.
        rocket::tokio::time::timeout(POOL_TIMEOUT, self.turns.clone().acquire_owned())
            .await
            .map_err(|_| AppError::Internal("keine Datenbankverbindung: Zeit abgelaufen".into()))?
            .map_err(|e| AppError::Internal(format!("Datenbank geschlossen: {e}")))
    }

    /// Runs blocking Diesel work without stalling the async runtime: on the multi-threaded
    /// runtime the current worker hands its other tasks to the remaining workers for the
    /// duration (`block_in_place`), which saves the thread hand-off of `spawn_blocking` on every
    /// query; on a single-threaded runtime (tests) the work moves to the blocking pool.
    ///
    /// The turn is taken before: a request that waits for a connection waits as a parked task.
    /// Waiting inside the pool, each one held a thread of its own — 64 concurrent requests made
    /// 64 threads, started in the middle of the burst that needed them (the first second of a
    /// load at 70 % of the maximum had a p99 of 130 ms; once the threads existed, 9 ms).
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        use rocket::tokio::runtime::{Handle, RuntimeFlavor};
        let turn = self.turn().await?;
        let db = self.clone();
        let work = move || {
            let mut conn = db.get()?;
            let result = f(&mut conn);
            drop(conn);
            drop(turn);
            result
        };
        if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
            return rocket::tokio::task::block_in_place(work);
        }
        rocket::tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::Internal(format!("Hintergrundaufgabe abgebrochen: {e}")))?
    }

    /// Runs a page's read: bounded work (a page of rows, lookups by key) that writes nothing.
    /// On SQLite it runs on the calling worker: a read in WAL mode never waits for a lock, and
    /// handing the worker over (`block_in_place`, as `run` does) cost more than the start page's
    /// three queries (buyer's start page 8,000 → 11,100 req/s on the demo data). A write inside
    /// would wait for the writer's turn with the worker held: `writer_turn` refuses it in debug
    /// builds, so the tests find one. Long scans (dashboards, exports) and writes use `run`, and
    /// on PostgreSQL, where every query is a round trip over the network, this is `run`.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        if self.backend == Backend::Postgres {
            return self.run(f).await;
        }
        let turn = self.turn().await?;
        // Background work (the dashboard's refresh, the start-up count) takes connections
        // without a turn: when none is free now, the read waits off the worker, as `run` does.
        let Some(mut conn) = self.pool.try_get() else {
            drop(turn);
            return self.run(f).await;
        };
        let _reading = ReadOnly::enter();
        let result = read_snapshot(&mut conn, f);
        drop(conn);
        drop(turn);
        result
    }

    pub fn migrate(&self) -> Result<(), AppError> {
        let mut conn = self.get()?;
        run_migrations(&mut conn)
    }
}

pub fn run_migrations(conn: &mut DbConn) -> Result<(), AppError> {
    let result = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| AppError::Internal(format!("Migration fehlgeschlagen: {e}")))
}

/// Runs `f` in one read transaction: each statement on its own began and ended one (a
/// shared-memory lock each), and the page sees one snapshot. BEGIN and COMMIT stay prepared
/// (Diesel's transaction parsed both on every page view: 5 % of the start page). After an error
/// or a panic in `f` the transaction is rolled back; should even that fail, the connection is
/// marked broken (`has_broken`), so the pool never hands out one that holds an old snapshot.
fn read_snapshot<T>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, AppError>) -> Result<T, AppError> {
    use cached::cached;
    crate::on_backend!(&mut *conn, |c| cached(&["BEGIN"], vec![]).execute(c))?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
    let ended = match &outcome {
        Ok(Ok(_)) => crate::on_backend!(&mut *conn, |c| cached(&["COMMIT"], vec![]).execute(c)).map(|_| ()),
        _ => Err(diesel::result::Error::RollbackTransaction),
    };
    if ended.is_err() {
        // Diesel's own rollback knows of no transaction here: the plain statement ends it.
        if let Err(e) = conn.batch_execute("ROLLBACK") {
            log::error!("read transaction not ended, connection dropped: {e}");
            crate::on_backend!(&mut *conn, |c| AnsiTransactionManager::transaction_manager_status_mut(
                c
            )
            .set_in_error());
        }
    }
    match outcome {
        Ok(Ok(value)) => {
            ended?;
            Ok(value)
        }
        Ok(Err(e)) => Err(e),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// SQLite admits one writer; within this process the next one is handed the turn at once.
/// Left to SQLite's busy handler, waiting writers poll with sleeps of up to 100 ms and the lock
/// stands idle in between (the p99 of call-offs under load). Other processes on the same file
/// still wait through `BEGIN IMMEDIATE` and the busy timeout.
static SQLITE_WRITER: Mutex<()> = Mutex::new(());

thread_local! {
    /// Set while `Db::read` runs its closure on an async worker.
    static READ_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the current thread as inside `Db::read` until dropped.
struct ReadOnly(bool);

impl ReadOnly {
    fn enter() -> ReadOnly {
        ReadOnly(READ_ONLY.with(|r| r.replace(true)))
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        READ_ONLY.with(|r| r.set(self.0));
    }
}

/// A write waits for the writers ahead of it: inside `Db::read` that would hold an async worker.
fn refuse_inside_read() {
    debug_assert!(
        !READ_ONLY.with(std::cell::Cell::get),
        "a write inside Db::read: use Db::run"
    );
}

/// This process's turn to write to SQLite. Waiting for it inside `Db::read` would hold an async
/// worker for as long as the writer ahead takes: a bug, caught by the tests in debug builds.
fn writer_turn() -> std::sync::MutexGuard<'static, ()> {
    refuse_inside_read();
    SQLITE_WRITER.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A write transaction that holds the write lock from its first statement: `BEGIN IMMEDIATE` on
/// SQLite (no deadlock when a read is upgraded to a write), a plain transaction on PostgreSQL.
/// The audit event and any outbox mail of a change are written inside the same closure.
pub fn write_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError>,
{
    let _writer = matches!(conn, DbConn::Sqlite(_)).then(writer_turn);
    begin(conn)?;
    match f(conn) {
        Ok(value) => match commit(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                rollback(conn);
                Err(e.into())
            }
        },
        Err(e) => {
            rollback(conn);
            Err(e)
        }
    }
}

fn begin(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
    }
}

fn commit(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::commit_transaction(c),
        DbConn::Pg(c) => AnsiTransactionManager::commit_transaction(c),
    }
}

/// Serialises the current write transaction against others naming the same `key`: a
/// transaction-scoped advisory lock on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already admits one
/// writer at a time.
pub fn lock_key(conn: &mut DbConn, key: &str) -> Result<(), AppError> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(c)?;
    }
    Ok(())
}

/// Runs CPU-heavy work (password hashing) on the blocking pool, never on a request worker and
/// never while holding a database connection.
pub async fn cpu<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    rocket::tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(format!("Hintergrundaufgabe abgebrochen: {e}")))
}

fn rollback(conn: &mut DbConn) {
    let result = match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
        DbConn::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
    };
    if let Err(e) = result {
        log::error!("rollback failed: {e}");
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Db {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match req.rocket().state::<Db>() {
            Some(db) => Outcome::Success(db.clone()),
            None => Outcome::Error((rocket::http::Status::InternalServerError, ())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_a_steady_stream_of_writes_the_wal_starts_over_before_the_writers_must_checkpoint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wal.db");
        let db = Db::connect(path.to_str().expect("path"), 2).expect("connect");
        let mut c = db.get().expect("connection");
        c.batch_execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
            .expect("table");
        // About 3 pages per write, 12 000 in all, at most a thousand writes a second: without
        // the checkpointer's finish under the writers' lock, a PASSIVE checkpoint never sees
        // a WAL without new frames, the WAL grows to the 10 000 pages of the auto-checkpoint
        // and the writer that crosses it copies them all.
        for k in 0..4_000_i64 {
            write_tx(&mut c, |c| {
                diesel::sql_query("INSERT INTO t (k, v) VALUES ($1, zeroblob(8000))")
                    .bind::<diesel::sql_types::BigInt, _>(k)
                    .execute(c)?;
                Ok(())
            })
            .expect("write");
            std::thread::sleep(Duration::from_millis(1));
        }
        let wal = std::fs::metadata(dir.path().join("wal.db-wal")).expect("WAL").len();
        let frame = 4096 + 24;
        assert!(wal < 7_000 * frame, "the WAL grew to {} frames", wal / frame);
        drop(c);
        drop(db);
    }

    /// The rows of the test table, as this connection sees them.
    fn rows(c: &mut DbConn) -> QueryResult<i64> {
        diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT COUNT(*) FROM t)",
        ))
        .get_result(c)
    }

    fn temp_db(dir: &tempfile::TempDir) -> Db {
        let db = Db::connect(dir.path().join("t.db").to_str().expect("path"), 1).expect("connect");
        db.get()
            .expect("connection")
            .batch_execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .expect("table");
        db
    }

    #[rocket::async_test]
    async fn a_read_sees_one_snapshot_and_leaves_no_transaction_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = temp_db(&dir);
        let writer = db.clone();
        let path = dir.path().join("t.db");
        // A row written by another connection between the read's two queries is not seen.
        let (before, after) = db
            .read(move |c| {
                let before: i64 = rows(c)?;
                let mut other = SqliteConnection::establish(path.to_str().expect("path")).expect("second connection");
                other.batch_execute("INSERT INTO t (k) VALUES (1)").expect("insert");
                let after: i64 = rows(c)?;
                Ok((before, after))
            })
            .await
            .expect("read");
        assert_eq!((before, after), (0, 0));
        // The pool's one connection is free again and outside any transaction: it sees the row.
        let now: i64 = writer.read(|c| Ok(rows(c)?)).await.expect("second read");
        assert_eq!(now, 1);
    }

    #[rocket::async_test]
    async fn a_read_that_panics_ends_its_transaction() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = temp_db(&dir);
        let panicking = db.clone();
        let outcome = rocket::tokio::spawn(async move {
            panicking
                .read(|c| -> Result<(), AppError> {
                    c.batch_execute("SELECT COUNT(*) FROM t")?;
                    panic!("mid-read");
                })
                .await
        })
        .await;
        assert!(outcome.is_err(), "the panic reaches the caller");
        // Written after the panic: the pool's one connection sees it, so it holds no snapshot.
        let path = dir.path().join("t.db");
        SqliteConnection::establish(path.to_str().expect("path"))
            .expect("second connection")
            .batch_execute("INSERT INTO t (k) VALUES (7)")
            .expect("insert");
        let seen: i64 = db.read(|c| Ok(rows(c)?)).await.expect("read after the panic");
        assert_eq!(seen, 1);
    }

    #[cfg(debug_assertions)]
    #[rocket::async_test]
    #[should_panic(expected = "a write inside Db::read")]
    async fn a_write_inside_a_read_is_a_bug_the_tests_find() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = temp_db(&dir);
        let _ = db
            .read(|c| {
                write_tx(c, |c| {
                    c.batch_execute("INSERT INTO t (k) VALUES (2)")?;
                    Ok(())
                })
            })
            .await;
    }
}
