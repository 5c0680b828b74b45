//! Stopping the real server process with SIGTERM while its mail sender is at work: it exits
//! cleanly, without a panic, and leaves no mail between sending and recording.

mod common;

use buendel::db::schema::outbox;
use buendel::mail::OutboxStatus;
use common::process::{free_port, Process};
use common::*;
use diesel::prelude::*;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn a_server_stopped_while_sending_mail_exits_cleanly_and_leaves_no_mail_half_sent() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let now = app.state.clock.now_naive();
        let rows: Vec<_> = (0..2_000)
            .map(|i| {
                (
                    outbox::recipient.eq(format!("empfaenger{i}@test.example")),
                    outbox::subject.eq("Test"),
                    outbox::body_text.eq("Text"),
                    outbox::body_html.eq("<p>Text</p>"),
                    outbox::status.eq(OutboxStatus::Pending),
                    outbox::attempts.eq(0),
                    outbox::next_attempt_at.eq(now),
                    outbox::created_at.eq(now),
                )
            })
            .collect();
        buendel::db::write_tx(&mut app.conn(), |c| {
            for row in rows {
                diesel::insert_into(outbox::table).values(row).execute(c)?;
            }
            Ok(())
        })
        .expect("mails queued");
        let port = free_port();
        let mut command = app.server_command(port);
        command.env("BUENDEL_MAIL_INTERVAL_SECS", "1");
        let mut server = Process::start("server", command, port, app.cleanup.dir.path(), Duration::from_secs(30));
        let sent = |app: &TestApp| {
            outbox::table
                .filter(outbox::status.eq(OutboxStatus::Sent))
                .count()
                .get_result::<i64>(&mut *app.conn())
                .expect("count")
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while sent(&app) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(sent(&app) > 0, "the sender is at work before the stop");

        let term = Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(term.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = server.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop:\n{}",
                server.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let log = server.output();
        assert!(status.success(), "exit status {status}:\n{log}");
        assert!(!log.contains("panicked"), "a panic on shutdown:\n{log}");
        let half_sent = outbox::table
            .filter(outbox::status.eq(OutboxStatus::Sending))
            .count()
            .get_result::<i64>(&mut *app.conn())
            .expect("count");
        assert_eq!(half_sent, 0, "mails claimed but not recorded");
    });
}
