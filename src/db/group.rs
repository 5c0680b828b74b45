//! Group commit for SQLite's single writer: write transactions that queue up while another one
//! runs are executed together, each in its own savepoint, and committed once.
//! PostgreSQL runs each as its own transaction: it commits concurrent writers in parallel itself.

use super::{begin, commit, rollback, writer_turn, DbConn};
use crate::error::AppError;
use diesel::connection::{Connection, TransactionManager};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A write that has run in its savepoint: `Ok` waits for the COMMIT, `Err` is final already.
type Ran = Box<dyn FnOnce(Option<&str>) + Send>;
type Job = Box<dyn FnOnce(&mut DbConn) -> Ran + Send>;

/// At most this many writes share one COMMIT, so that the first of them never waits long.
const MAX_BATCH: usize = 64;

/// What a waiting writer is told: its answer, or that it is to write the batches now.
enum Message<T> {
    Done(Result<T, AppError>),
    Lead,
}

/// A queued write and how to tell its writer to take over as leader.
struct Waiting {
    job: Job,
    lead: Box<dyn Fn() + Send>,
}

/// The waiting writes, and whether a thread is writing batches (the leader).
#[derive(Default)]
struct Queue {
    jobs: Vec<Waiting>,
    leading: bool,
}

/// The queue of one database's waiting writes; one per application (it lives in `AppState`).
#[derive(Default)]
pub struct GroupCommit {
    queue: Mutex<Queue>,
    /// Off on the plain path (`BUENDEL_SPEED=plain`): every write is its own transaction.
    off: bool,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl GroupCommit {
    /// Group commit on (`true`) or each write its own transaction.
    pub fn new(on: bool) -> GroupCommit {
        GroupCommit {
            queue: Mutex::default(),
            off: !on,
        }
    }

    /// Runs `body` as a write transaction, like `write_tx`, and returns only once it is committed
    /// (or refused). On SQLite the body may share its COMMIT with others queued meanwhile: it runs
    /// in a savepoint, so its own error rolls back only its own writes, and a failed COMMIT fails
    /// every write of the batch. `body` must not start a transaction itself.
    ///
    /// Without it, each of n waiting writers pays its own BEGIN, COMMIT and WAL pages, and hands
    /// the lock to the next through a thread switch; with it the thread that finds no leader
    /// writes the queue's batches (leader/follower, no extra thread). A follower sleeps until it
    /// is sent its answer, or told to lead when the leader steps down before its write was
    /// taken: each wake-up is one that is needed. (Waking every follower after each batch to look
    /// for its answer woke seven threads per batch with a pool of eight, and under a burst they
    /// took the CPU from the leader.)
    pub fn write<T, F>(&self, conn: &mut DbConn, body: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        if self.off || matches!(conn, DbConn::Pg(_)) {
            return super::write_tx(conn, body);
        }
        // A follower waits for its answer without taking the writer's turn itself.
        super::refuse_inside_read();
        let (tx, rx) = mpsc::channel::<Message<T>>();
        let lead_tx = tx.clone();
        let job: Job = Box::new(move |c: &mut DbConn| -> Ran {
            match in_savepoint(c, body) {
                Err(e) => {
                    let _ = tx.send(Message::Done(Err(e)));
                    Box::new(|_| ())
                }
                Ok(value) => Box::new(move |commit_error: Option<&str>| {
                    let _ = tx.send(Message::Done(match commit_error {
                        None => Ok(value),
                        Some(e) => Err(AppError::Internal(format!("COMMIT fehlgeschlagen: {e}"))),
                    }));
                }),
            }
        });
        let lead = Box::new(move || {
            let _ = lead_tx.send(Message::Lead);
        });
        let mut leads = {
            let mut q = self.lock();
            q.jobs.push(Waiting { job, lead });
            !std::mem::replace(&mut q.leading, true)
        };
        loop {
            if leads {
                if let Some(answer) = self.lead(conn, &rx) {
                    return answer;
                }
            }
            match rx.recv() {
                Ok(Message::Done(answer)) => return answer,
                // Another writer may have taken the lead meanwhile (and may take this write).
                Ok(Message::Lead) => leads = !std::mem::replace(&mut self.lock().leading, true),
                Err(mpsc::RecvError) => return Err(AppError::Internal("Schreibvorgang abgebrochen".into())),
            }
        }
    }

    /// Writes batches until this thread's own write is answered (or the queue is empty), then
    /// steps down and tells the writer of the first write still queued to take over.
    fn lead<T>(&self, conn: &mut DbConn, rx: &mpsc::Receiver<Message<T>>) -> Option<Result<T, AppError>> {
        // Declared first, dropped last: the writers' lock is free again when the next one is
        // told to lead, also when a write panics (otherwise nobody would lead any more).
        let _step_down = StepDown(self);
        // Told to lead after a batch that took this write already: nothing left to do for it.
        if let Some(answer) = answered(rx) {
            return Some(answer);
        }
        let _writer = writer_turn();
        loop {
            let batch: Vec<Job> = {
                let mut q = self.lock();
                if q.jobs.is_empty() {
                    return None;
                }
                let n = q.jobs.len().min(MAX_BATCH);
                q.jobs.drain(..n).map(|w| w.job).collect()
            };
            run_batch(conn, batch);
            if let Some(answer) = answered(rx) {
                return Some(answer);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends a leader's turn: the queue has no leader, and the writer of its first write is told to
/// take over (a writer who arrives meanwhile may take the lead first; the one told then waits on).
struct StepDown<'a>(&'a GroupCommit);

impl Drop for StepDown<'_> {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        q.leading = false;
        if let Some(next) = q.jobs.first() {
            (next.lead)();
        }
    }
}

/// The answer, if there is one (a stale call to lead is skipped); a job dropped without answer
/// (BEGIN failed) is an error.
fn answered<T>(rx: &mpsc::Receiver<Message<T>>) -> Option<Result<T, AppError>> {
    loop {
        match rx.try_recv() {
            Ok(Message::Done(answer)) => return Some(answer),
            Ok(Message::Lead) => continue,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => {
                return Some(Err(AppError::Internal("Schreibvorgang abgebrochen".into())))
            }
        }
    }
}

fn in_savepoint<T>(c: &mut DbConn, body: impl FnOnce(&mut DbConn) -> Result<T, AppError>) -> Result<T, AppError> {
    type Manager = <DbConn as Connection>::TransactionManager;
    Manager::begin_transaction(c)?;
    match body(c) {
        Ok(v) => {
            Manager::commit_transaction(c)?;
            Ok(v)
        }
        Err(e) => {
            if let Err(r) = Manager::rollback_transaction(c) {
                log::error!("rollback to savepoint failed: {r}");
            }
            Err(e)
        }
    }
}

/// One transaction for the whole batch; answers go out only after the COMMIT.
fn run_batch(conn: &mut DbConn, batch: Vec<Job>) {
    if let Err(e) = begin(conn) {
        // Not run; dropping the jobs tells each caller that its write was not done.
        log::error!("BEGIN IMMEDIATE failed for {} writes: {e}", batch.len());
        return;
    }
    let ran: Vec<Ran> = batch.into_iter().map(|job| job(conn)).collect();
    let committed = commit(conn);
    let error = committed.as_ref().err().map(|e| e.to_string());
    if error.is_some() {
        rollback(conn);
    }
    for answer in ran {
        answer(error.as_deref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};
    use std::sync::Arc;

    fn insert(c: &mut DbConn, key: i64, text: &str) -> Result<(), AppError> {
        diesel::sql_query("INSERT INTO t (k, v) VALUES ($1, $2)")
            .bind::<BigInt, _>(key)
            .bind::<Text, _>(text)
            .execute(c)?;
        Ok(())
    }

    fn count(c: &mut DbConn) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<N>(c)
            .map(|r| r.n)
            .expect("count")
    }

    fn database() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::connect(dir.path().join("g.db").to_str().expect("path"), 8).expect("connect");
        diesel::sql_query("CREATE TABLE t (k BIGINT NOT NULL UNIQUE, v TEXT NOT NULL)")
            .execute(&mut *db.get().expect("conn"))
            .expect("table");
        (dir, db)
    }

    #[test]
    fn a_refused_write_rolls_back_alone_and_the_others_commit() {
        let (_dir, db) = database();
        let group = Arc::new(GroupCommit::default());
        // 40 writers race for 10 keys; the loser of each key fails on the unique key, inside a
        // batch with winners of other keys, which must stay.
        let results: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..40)
                .map(|i| {
                    let (db, group) = (&db, group.clone());
                    s.spawn(move || {
                        let mut c = db.get().expect("conn");
                        group
                            .write(&mut c, move |c| {
                                insert(c, i % 10, "first")?;
                                // A second write of the same body: rolled back with it.
                                insert(c, 1000 + i, "second")
                            })
                            .is_ok()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        assert_eq!(results.iter().filter(|ok| **ok).count(), 10);
        assert_eq!(
            count(&mut db.get().expect("conn")),
            20,
            "10 winners with both rows each"
        );
    }

    #[test]
    fn many_writers_in_a_row_each_get_their_answer_and_nothing_is_lost() {
        let (_dir, db) = database();
        let group = Arc::new(GroupCommit::default());
        // Writers that come back at once keep the queue full: leaders step down after their own
        // write and followers return while the next batch is written; none may hang or be lost.
        let answered: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..12_i64)
                .map(|t| {
                    let (db, group) = (&db, group.clone());
                    s.spawn(move || {
                        let mut c = db.get().expect("conn");
                        (0..60_i64)
                            .filter(|i| {
                                let key = t * 1000 + i;
                                matches!(group.write(&mut c, move |c| insert(c, key, "x").map(|_| key)), Ok(k) if k == key)
                            })
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).sum()
        });
        assert_eq!(answered, 720);
        assert_eq!(count(&mut db.get().expect("conn")), 720);
    }

    #[test]
    fn a_write_that_panics_does_not_stop_the_writes_queued_behind_it() {
        let (_dir, db) = database();
        let group = Arc::new(GroupCommit::default());
        let (first_db, first_group) = (db.clone(), group.clone());
        let (started_tx, started_rx) = mpsc::channel();
        let panicking = std::thread::spawn(move || {
            let mut c = first_db.get().expect("conn");
            first_group.write(&mut c, move |_| -> Result<(), AppError> {
                let _ = started_tx.send(());
                std::thread::sleep(std::time::Duration::from_millis(300));
                panic!("a broken write")
            })
        });
        // The panicking write runs (its writer leads); the next one queues behind it meanwhile
        // and must then be led by its own writer. (Should it come late, it leads anyway.)
        started_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the first write runs");
        let (done_tx, done_rx) = mpsc::channel();
        let (second_db, second_group) = (db.clone(), group.clone());
        std::thread::spawn(move || {
            let mut c = second_db.get().expect("conn");
            let _ = done_tx.send(second_group.write(&mut c, |c| insert(c, 1, "after")).is_ok());
        });
        assert!(panicking.join().is_err());
        assert_eq!(
            done_rx.recv_timeout(std::time::Duration::from_secs(10)),
            Ok(true),
            "the queued write was done"
        );
        assert!(group
            .write(&mut db.get().expect("conn"), |c| insert(c, 2, "later"))
            .is_ok());
        assert_eq!(count(&mut db.get().expect("conn")), 2);
    }

    #[test]
    fn an_answer_is_given_only_for_what_is_committed() {
        let (_dir, db) = database();
        let group = GroupCommit::default();
        let mut c = db.get().expect("conn");
        assert_eq!(
            group.write(&mut c, |c| insert(c, 1, "a").map(|_| 7)).expect("written"),
            7
        );
        let e = group
            .write(&mut c, |c| insert(c, 1, "again"))
            .expect_err("duplicate refused");
        assert!(!matches!(e, AppError::NotFound), "{e:?}");
        assert_eq!(count(&mut c), 1);
        // The connection is usable afterwards: no transaction was left open.
        write_tx_check(&mut c);
    }

    fn write_tx_check(c: &mut DbConn) {
        crate::db::write_tx(c, |c| insert(c, 2, "b")).expect("plain write_tx still works");
        assert_eq!(count(c), 2);
    }
}
