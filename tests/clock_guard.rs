//! The clock may be moved (BUENDEL_NOW, BUENDEL_CLOCK_SHIFT, BUENDEL_CLOCK_FROZEN) only on a
//! database marked as demo or test data: the real binary refuses to start otherwise, both backends.

mod common;

use buendel::db::data_kind::{self, DataKind};
use buendel::db::schema::data_kind as data_kind_table;
use common::process::{free_port, Process};
use common::*;
use diesel::prelude::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `command` until it ends (at most a minute) and returns whether it succeeded and what it
/// wrote; `None` when it was still running (a server that started although it should not).
fn run_to_end(mut command: Command, log: &std::path::Path) -> Option<(bool, String)> {
    let out = std::fs::File::create(log).unwrap();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some((status.success(), std::fs::read_to_string(log).unwrap_or_default()));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_moved_clock_is_refused_on_real_data_and_allowed_on_demo_or_test_data() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let logs = tempfile::tempdir().unwrap();
        // The harness marks its databases as test data; without the mark they hold real data.
        diesel::delete(data_kind_table::table)
            .execute(&mut *app.conn())
            .unwrap();

        let (ok, out) = run_to_end(app.server_command(free_port()), &logs.path().join("now.log"))
            .expect("the server must not start with BUENDEL_NOW on real data");
        assert!(!ok, "{out}");
        assert!(
            out.contains("Die Uhr darf nur bei Demo- oder Testdaten verstellt werden"),
            "{out}"
        );
        assert!(out.contains("BUENDEL_NOW"), "{out}");

        // `--demo` on a database with real data loads nothing and lifts nothing.
        let mut demo = app.server_command(free_port());
        demo.arg("--demo")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("BUENDEL_NOW")
            .env("BUENDEL_CLOCK_SHIFT", "+14d");
        let (ok, out) = run_to_end(demo, &logs.path().join("demo.log"))
            .expect("the server must not start with a shifted clock on real data");
        assert!(!ok, "{out}");
        assert!(
            out.contains("BUENDEL_CLOCK_SHIFT") && !out.contains("BUENDEL_NOW"),
            "{out}"
        );
        assert_eq!(data_kind::read(&mut app.conn()).unwrap(), None);

        // Adding an account writes its audit time with the clock: refused as well.
        let mut user = Command::new(env!("CARGO_BIN_EXE_buendel"));
        user.args([
            "user",
            "add",
            "--email",
            "neu@test.example",
            "--name",
            "Neu",
            "--role",
            "officer",
        ])
        .args(["--organisation", "Genossenschaft"])
        .env("DATABASE_URL", &app.database_url)
        .env("BUENDEL_CLOCK_FROZEN", "true");
        let (ok, out) = run_to_end(user, &logs.path().join("user.log")).expect("user add ends");
        assert!(!ok && out.contains("BUENDEL_CLOCK_FROZEN"), "{out}");

        // The system clock is always allowed; a moved one once the database is marked.
        let port = free_port();
        let mut plain = app.server_command(port);
        plain.env_remove("BUENDEL_NOW");
        Process::start("plain", plain, port, logs.path(), Duration::from_secs(60)).stop();
        data_kind::mark(&mut app.conn(), DataKind::Test, app.state.clock.now_naive()).unwrap();
        let port = free_port();
        Process::start(
            "marked",
            app.server_command(port),
            port,
            logs.path(),
            Duration::from_secs(60),
        )
        .stop();
    });
}
