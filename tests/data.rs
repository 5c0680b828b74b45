//! Storage guarantees on both backends: exact money columns, the audit hash chain and its
//! verification (library and CLI), the outbox sending each mail once, the demo data.

mod common;

use buendel::audit::{self, Actor, Event};
use buendel::db::schema::{audit_events, outbox};
use buendel::db::{write_tx, Backend};
use buendel::domain::bid::BidStatus;
use buendel::domain::calloff::CalloffStatus;
use buendel::domain::ids::{AuditEventId, BidId, OrgId, TenderId, TenderPositionId};
use buendel::domain::money::{Amount, Price, Quantity};
use buendel::mail::OutboxStatus;
use common::*;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rocket::http::Status;
use rust_decimal_macros::dec;
use std::str::FromStr;

diesel::table! {
    money_probe (id) {
        id -> BigInt,
        price -> BigInt,
        quantity -> BigInt,
        amount -> BigInt,
    }
}

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[test]
fn money_columns_round_trip_exactly_and_sum_in_sql() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let mut c = app.conn();
        let ddl = match b {
            Backend::Sqlite => "CREATE TABLE money_probe (id INTEGER PRIMARY KEY AUTOINCREMENT, price BIGINT NOT NULL, quantity BIGINT NOT NULL, amount BIGINT NOT NULL)",
            Backend::Postgres => "CREATE TABLE money_probe (id BIGSERIAL PRIMARY KEY, price BIGINT NOT NULL, quantity BIGINT NOT NULL, amount BIGINT NOT NULL)",
        };
        diesel::sql_query(ddl).execute(&mut *c).unwrap();
        let values = [
            (dec!(0), dec!(0.001), dec!(0)),
            (dec!(0.0001), dec!(1), dec!(-0.01)),
            (dec!(999999999.9999), dec!(999999999.999), dec!(9999999999999.99)),
        ];
        for (p, q, a) in values {
            diesel::insert_into(money_probe::table)
                .values((
                    money_probe::price.eq(Price::from_decimal(p).unwrap()),
                    money_probe::quantity.eq(Quantity::from_decimal(q).unwrap()),
                    money_probe::amount.eq(Amount::from_decimal(a).unwrap()),
                ))
                .execute(&mut *c)
                .unwrap();
        }
        let back: Vec<(Price, Quantity, Amount)> = money_probe::table
            .order(money_probe::id)
            .select((money_probe::price, money_probe::quantity, money_probe::amount))
            .load(&mut *c)
            .unwrap();
        for ((p, q, a), (bp, bq, ba)) in values.iter().zip(back) {
            assert_eq!(bp.to_decimal(), *p);
            assert_eq!(bq.to_decimal(), *q);
            assert_eq!(ba.to_decimal(), *a);
        }
        let sum: Sum = diesel::sql_query("SELECT CAST(SUM(price) AS BIGINT) AS total FROM money_probe")
            .get_result(&mut *c)
            .unwrap();
        // 0 + 0.0001 + 999 999 999.9999 = 1 000 000 000.0000, in ten-thousandths of a euro.
        assert_eq!(sum.total, 10_000_000_000_000);
        assert!(
            Price::from_minor(sum.total).is_err(),
            "a sum may exceed what one price holds"
        );
        // A value the type cannot hold is an error when read, never silently accepted.
        diesel::sql_query("UPDATE money_probe SET price = -1")
            .execute(&mut *c)
            .unwrap();
        let bad: Result<Vec<Price>, _> = money_probe::table.select(money_probe::price).load(&mut *c);
        assert!(bad.is_err());
    });
}

#[test]
fn newtypes_refuse_what_they_cannot_hold() {
    assert!(Price::from_str("0.00001").is_err());
    assert!(Price::from_str("-1").is_err());
    assert!(Price::from_str("1000000000").is_err());
    assert!(Quantity::from_str("1.0001").is_err());
    assert!(Amount::from_str("0.001").is_err());
}

fn record_some(app: &TestApp, n: usize) {
    let mut c = app.conn();
    for i in 0..n {
        write_tx(&mut c, |c| {
            audit::record(
                c,
                &app.state.clock,
                &Actor::system("test"),
                Event::new("probe.changed", "probe", i % 3, serde_json::json!({ "i": i })),
            )
        })
        .unwrap();
    }
}

#[test]
fn audit_chain_verifies_and_names_a_row_altered_behind_the_apps_back() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        record_some(&app, 9);
        let mut c = app.conn();
        let report = audit::verify(&mut c).unwrap().expect("intact chain");
        assert_eq!(report.events, 9);
        assert_eq!(report.streams, 3);
        let victim: AuditEventId = audit_events::table
            .filter(audit_events::stream.eq("probe:1"))
            .filter(audit_events::seq.eq(2))
            .select(audit_events::id)
            .first(&mut *c)
            .unwrap();
        diesel::update(audit_events::table.find(victim))
            .set(audit_events::details.eq("{\"i\":999}"))
            .execute(&mut *c)
            .unwrap();
        let broken = audit::verify(&mut c).unwrap().expect_err("tampering found");
        assert_eq!(broken.event_id, victim);
        assert!(broken.to_string().contains("verändert"), "{broken}");
    });
}

#[test]
fn audit_chain_detects_a_deleted_event() {
    each_backend(|b| {
        let app = TestApp::new(b);
        record_some(&app, 6);
        let mut c = app.conn();
        let gone: AuditEventId = audit_events::table
            .filter(audit_events::stream.eq("probe:0"))
            .filter(audit_events::seq.eq(1))
            .select(audit_events::id)
            .first(&mut *c)
            .unwrap();
        diesel::delete(audit_events::table.find(gone)).execute(&mut *c).unwrap();
        let broken = audit::verify(&mut c).unwrap().expect_err("gap found");
        assert_eq!(broken.stream, "probe:0");
        assert!(broken.reason.contains("fehlt"));
    });
}

#[test]
fn concurrent_writers_keep_every_stream_chain_intact() {
    each_backend(|b| {
        let app = TestApp::new(b);
        std::thread::scope(|s| {
            for t in 0..4 {
                let app = &app;
                s.spawn(move || {
                    let mut c = app.conn();
                    for i in 0..10 {
                        write_tx(&mut c, |c| {
                            audit::record(
                                c,
                                &app.state.clock,
                                &Actor::system("t"),
                                Event::new(
                                    "probe.changed",
                                    "probe",
                                    (t + i) % 2,
                                    serde_json::json!({ "t": t, "i": i }),
                                ),
                            )
                        })
                        .unwrap();
                    }
                });
            }
        });
        let mut c = app.conn();
        let report = audit::verify(&mut c).unwrap().expect("intact");
        assert_eq!(report.events, 40);
    });
}

#[test]
fn audit_verify_command_reports_tampering_with_exit_code() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        record_some(&app, 3);
        let run = || {
            std::process::Command::new(env!("CARGO_BIN_EXE_buendel"))
                .args(["audit", "verify"])
                .env("DATABASE_URL", &app.database_url)
                .env(
                    "BUENDEL_SECRET_KEY",
                    "ZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktZmFrZS1rZXktZm9yLXRlc3Rz",
                )
                .env("BUENDEL_MAIL_TRANSPORT", "stub")
                .output()
                .expect("run buendel")
        };
        let ok = run();
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        assert!(String::from_utf8_lossy(&ok.stdout).contains("Protokoll unversehrt: 3 Ereignisse"));
        let mut c = app.conn();
        let victim: AuditEventId = audit_events::table
            .order(audit_events::id.desc())
            .select(audit_events::id)
            .first(&mut *c)
            .unwrap();
        diesel::update(audit_events::table.find(victim))
            .set(audit_events::actor_label.eq("jemand anderes"))
            .execute(&mut *c)
            .unwrap();
        let bad = run();
        assert_eq!(bad.status.code(), Some(2));
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains(&format!("Ereignis #{victim}")), "{err}");
    });
}

#[test]
fn vendor_registration_mails_the_admins_and_waits_for_approval() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let client = app.client();
        let fields = [
            ("name", "Neue Technik GmbH"),
            ("street", "Hauptstraße 5"),
            ("postal_code", "34117"),
            ("city", "Kassel"),
            ("vat_id", "DE136695976"),
            ("contact_email", "angebote@neue-technik.example"),
            ("person_name", "Eva Neu"),
            ("email", "eva@neue-technik.example"),
            ("password", "Sicheres-Passwort-9"),
            ("password_repeat", "Sicheres-Passwort-9"),
        ];
        let res = post_form(&client, "/registrieren", &fields);
        assert_eq!(res.status(), Status::Created);
        assert!(res.into_string().unwrap().contains("Neue Technik GmbH"));
        assert_eq!(app.deliver_mail(), 1);
        let mails = app.sent_mail();
        assert_eq!(mails[0].0, "admin@test.example");
        assert!(mails[0].1.contains("Neue Lieferantenregistrierung"));
        // Pending: the vendor cannot log in yet.
        let fresh = app.client();
        let res = post_form(
            &fresh,
            "/anmelden",
            &[
                ("email", "eva@neue-technik.example"),
                ("password", "Sicheres-Passwort-9"),
            ],
        );
        assert_eq!(res.status(), Status::Forbidden);
        assert!(res.into_string().unwrap().contains("noch nicht freigegeben"));
        // The admin approves; the vendor is told and can log in.
        let admin = browser(&app, "admin");
        let vendor_id: OrgId = {
            use buendel::db::schema::organisations;
            let mut c = app.conn();
            organisations::table
                .filter(organisations::name.eq("Neue Technik GmbH"))
                .select(organisations::id)
                .first(&mut *c)
                .unwrap()
        };
        assert!(vendor_id > w.vendor);
        let res = post_form(
            &admin,
            &format!("/verwaltung/lieferanten/{vendor_id}/status"),
            &[("status", "approved")],
        );
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(app.deliver_mail(), 1);
        assert!(app.sent_mail()[1].1.contains("freigegeben"));
        assert_eq!(
            login_with(&app.client(), "eva@neue-technik.example", "Sicheres-Passwort-9"),
            Status::SeeOther
        );
    });
}

#[test]
fn registration_with_bad_input_lists_every_problem_and_stores_nothing() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = app.client();
        let res = post_form(
            &client,
            "/registrieren",
            &[
                ("name", "X"),
                ("vat_id", "DE123"),
                ("email", "kein-at"),
                ("password", "kurz"),
                ("password_repeat", "anders"),
            ],
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = res.into_string().unwrap();
        for msg in [
            "Namen an",
            "USt-IdNr.",
            "E-Mail-Adresse",
            "mindestens 10 Zeichen",
            "stimmen nicht überein",
            "Postleitzahl",
        ] {
            assert!(html.contains(msg), "missing {msg}");
        }
        assert!(
            html.contains("href=\"#feld-vat_id\""),
            "error summary links to the field"
        );
        let mut c = app.conn();
        let mails: i64 = outbox::table.count().get_result(&mut *c).unwrap();
        assert_eq!(mails, 0);
    });
}

#[test]
fn registration_writes_an_eml_file_with_the_file_transport() {
    let app = TestApp::with_vars(Backend::Sqlite, &[("BUENDEL_MAIL_TRANSPORT", "file")]);
    app.world();
    let fields = [
        ("name", "Datei Technik GmbH"),
        ("street", "Hauptstraße 5"),
        ("postal_code", "34117"),
        ("city", "Kassel"),
        ("vat_id", "DE136695976"),
        ("contact_email", "angebote@datei.example"),
        ("person_name", "Eva Datei"),
        ("email", "eva@datei.example"),
        ("password", "Sicheres-Passwort-9"),
        ("password_repeat", "Sicheres-Passwort-9"),
    ];
    assert_eq!(
        post_form(&app.client(), "/registrieren", &fields).status(),
        Status::Created
    );
    assert_eq!(app.deliver_mail(), 1);
    let outbox_dir = app.cleanup.dir.path().join("data").join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("To: admin@test.example"));
    assert!(eml.contains("Datei Technik GmbH"));
}

#[test]
fn each_mail_is_sent_exactly_once_by_two_competing_senders() {
    each_backend(|b| {
        let app = TestApp::new(b);
        {
            let mut c = app.conn();
            for i in 0..30 {
                write_tx(&mut c, |c| {
                    buendel::mail::enqueue(
                        c,
                        &app.state,
                        &format!("empfaenger{i}@test.example"),
                        "account_created",
                        &serde_json::json!({ "name": "X", "role": "Einkauf", "login_url": "http://x" }),
                    )
                })
                .unwrap();
            }
        }
        let other = buendel::mail::Transport::stub();
        let rt = rocket::tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (a, b2) = rt.block_on(async {
            let f1 = async {
                let mut n = 0;
                for _ in 0..3 {
                    n += buendel::mail::sender::process_once(&app.state, &app.db, &app.transport)
                        .await
                        .unwrap();
                }
                n
            };
            let f2 = async {
                let mut n = 0;
                for _ in 0..3 {
                    n += buendel::mail::sender::process_once(&app.state, &app.db, &other)
                        .await
                        .unwrap();
                }
                n
            };
            rocket::tokio::join!(f1, f2)
        });
        assert_eq!(a + b2, 30);
        let mut recipients: Vec<String> = app
            .transport
            .sent()
            .iter()
            .chain(other.sent().iter())
            .flat_map(|m| m.envelope().to().iter().map(|a| a.to_string()).collect::<Vec<_>>())
            .collect();
        recipients.sort();
        recipients.dedup();
        assert_eq!(recipients.len(), 30, "no mail twice, none lost");
        let mut c = app.conn();
        let sent: i64 = outbox::table
            .filter(outbox::status.eq(OutboxStatus::Sent))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(sent, 30);
    });
}

#[test]
fn failed_mail_is_retried_later_and_then_marked_failed() {
    each_backend(|b| {
        let app = TestApp::with_vars(b, &[("BUENDEL_MAIL_FROM", "buendel <noreply@buendel.example>")]);
        {
            let mut c = app.conn();
            write_tx(&mut c, |c| {
                buendel::mail::enqueue(
                    c,
                    &app.state,
                    "kaputt@@adresse",
                    "account_created",
                    &serde_json::json!({ "name": "X", "role": "Y", "login_url": "z" }),
                )
            })
            .unwrap();
        }
        assert_eq!(app.deliver_mail(), 0);
        // Not due again until the backoff has passed.
        assert_eq!(app.deliver_mail(), 0);
        let attempts = || -> (i32, String) {
            let mut c = app.conn();
            outbox::table
                .select((outbox::attempts, outbox::status))
                .first(&mut *c)
                .unwrap()
        };
        assert_eq!(attempts(), (1, "pending".to_string()));
        for _ in 0..10 {
            app.state.clock.advance(chrono::Duration::hours(2));
            app.deliver_mail();
        }
        assert_eq!(attempts(), (8, "failed".to_string()));
    });
}

#[test]
fn demo_data_loads_once_and_every_demo_role_can_log_in() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let users = {
            let mut c = app.conn();
            buendel::seed::load(&mut c, &app.state, std::path::Path::new("seed-data")).expect("seed")
        };
        assert!(users.len() >= 10);
        for role in ["admin", "officer", "buyer", "vendor", "board"] {
            let u = users
                .iter()
                .find(|u| u.role.code() == role && !u.email.contains("domblick"))
                .unwrap_or_else(|| panic!("demo {role}"));
            let client = app.client();
            assert_eq!(
                login_with(&client, &u.email, buendel::seed::DEMO_PASSWORD),
                Status::SeeOther,
                "{}",
                u.email
            );
            let res = client.get("/").dispatch();
            assert_eq!(res.status(), Status::Ok, "{}", u.email);
        }
        // The pending demo vendor cannot log in yet.
        let pending = users.iter().find(|u| u.email.contains("domblick")).unwrap();
        assert_eq!(
            login_with(&app.client(), &pending.email, buendel::seed::DEMO_PASSWORD),
            Status::Forbidden
        );
        let mut c = app.conn();
        assert!(buendel::seed::load(&mut c, &app.state, std::path::Path::new("seed-data")).is_err());
        assert!(audit::verify(&mut c).unwrap().is_ok());
    });
}

#[test]
fn demo_tenders_are_played_through_the_services_one_sealed_and_one_opened() {
    use buendel::db::schema::{bids, tender_documents, tender_members, tender_questions, tenders};
    use buendel::error::AppError;
    use buendel::tender::{self, bids as bid_service};
    each_backend(|b| {
        let app = TestApp::new(b);
        let mut c = app.conn();
        buendel::seed::load(&mut c, &app.state, std::path::Path::new("seed-data")).expect("seed");
        let now = app.state.clock.now_naive();
        let officer = buendel::seed::demo_user(&mut c, "vergabe@buendel.example").unwrap();
        let all: Vec<(TenderId, String, chrono::NaiveDateTime)> = tenders::table
            .order(tenders::id.asc())
            .select((tenders::id, tenders::status, tenders::bid_deadline))
            .load(&mut *c)
            .unwrap();
        let statuses = |c: &mut buendel::db::DbConn, id: TenderId| -> Vec<String> {
            bids::table
                .filter(bids::tender_id.eq(id))
                .order(bids::id.asc())
                .select(bids::status)
                .load(c)
                .unwrap()
        };

        // (a) Published, deadline ahead, bids sealed for every role of the cooperative.
        let (published, _, deadline) = *all
            .iter()
            .find(|(_, s, _)| s == "published")
            .expect("a published demo tender");
        assert!(deadline > now, "the published tender's deadline lies ahead");
        let mut seen = statuses(&mut c, published);
        seen.sort();
        seen.dedup();
        assert_eq!(seen, ["submitted", "superseded", "withdrawn"]);
        assert!(bid_service::count_current(&mut c, published).unwrap() >= 2);
        for email in [
            "vergabe@buendel.example",
            "admin@buendel.example",
            "vorstand@buendel.example",
        ] {
            let user = buendel::seed::demo_user(&mut c, email).unwrap();
            assert!(
                matches!(
                    bid_service::opened(&mut c, &user, published),
                    Err(AppError::Forbidden(_))
                ),
                "{email} must not read sealed bids"
            );
            assert!(tender::opening_record(&mut c, &user, published).is_err());
        }
        // The vendor that withdrew and resubmitted sees its history.
        let vendor = buendel::seed::demo_user(&mut c, "vertrieb@mainbogen-systemhaus.example").unwrap();
        let (current, history) = bid_service::own(&mut c, &vendor, published).unwrap();
        assert!(current.is_some());
        assert_eq!(
            history.iter().map(|h| h.status.code()).collect::<Vec<_>>(),
            ["submitted", "withdrawn"]
        );
        assert_eq!(tender::lots(&mut c, published).unwrap().len(), 2);
        let documents: i64 = tender_documents::table
            .filter(tender_documents::tender_id.eq(published))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(documents, 1);
        let questions = tender::questions(&mut c, Some(&officer), published).unwrap();
        assert_eq!(questions.iter().filter(|q| q.answer.is_some()).count(), 1);
        assert_eq!(questions.iter().filter(|q| q.answer.is_none()).count(), 1);

        // (b) Opened by two officers; the record names every current bid's receipt.
        let (opened, _, deadline) = *all
            .iter()
            .find(|(_, s, _)| s == "opened")
            .expect("an opened demo tender");
        assert!(deadline < now);
        let t = tender::find(&mut c, opened).unwrap();
        assert!(t.opening_started_by.is_some() && t.opening_started_by != t.opened_by);
        let (_, record) = tender::opening_record(&mut c, &officer, opened).unwrap();
        let receipts: Vec<String> = bids::table
            .filter(bids::tender_id.eq(opened))
            .filter(bids::status.eq(BidStatus::Submitted))
            .select(bids::receipt_sha256)
            .load(&mut *c)
            .unwrap();
        assert_eq!(receipts.len(), 3);
        for r in &receipts {
            assert!(record.contains(r.as_str()), "opening record lacks receipt {r}");
        }
        let (_, opened_bids) = bid_service::opened(&mut c, &officer, opened).unwrap();
        assert_eq!(opened_bids.len(), 3);

        // Both froze their entitled members at publication; the chain holds.
        for id in [published, opened] {
            let members: i64 = tender_members::table
                .filter(tender_members::tender_id.eq(id))
                .count()
                .get_result(&mut *c)
                .unwrap();
            assert!(members >= 3, "tender {id} has {members} entitled members");
        }
        let asked: i64 = tender_questions::table.count().get_result(&mut *c).unwrap();
        assert_eq!(asked, 3);
        assert!(audit::verify(&mut c).unwrap().is_ok());
    });
}

#[test]
fn demo_tender_is_evaluated_awarded_and_concluded_into_framework_contracts() {
    use buendel::award;
    use buendel::db::schema::{award_notices, bid_prices, contract_positions, contracts, outbox, users};
    use buendel::domain::standstill;
    use sha2::{Digest, Sha256};
    each_backend(|b| {
        let app = TestApp::new(b);
        let mut c = app.conn();
        buendel::seed::load(&mut c, &app.state, std::path::Path::new("seed-data")).expect("seed");
        let now = app.state.clock.now_naive();
        let local = |t: chrono::NaiveDateTime| t.and_utc().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
        let region = app.state.config.holiday_region();
        let officer = buendel::seed::demo_user(&mut c, "vergabe@buendel.example").unwrap();
        let mut tender_ids: Vec<TenderId> = contracts::table
            .select(contracts::tender_id)
            .distinct()
            .load(&mut *c)
            .unwrap();
        tender_ids.sort();
        assert_eq!(tender_ids.len(), 1, "one demo tender ends in framework contracts");
        let tender_id = tender_ids[0];
        let (_, evaluation) = award::evaluation(&mut c, &officer, tender_id).unwrap();
        assert_eq!(evaluation.len(), 2);
        let positions = buendel::tender::positions(&mut c, tender_id).unwrap();
        let mut pages: Vec<String> = vec![
            format!("/ausschreibungen/{tender_id}/wertung"),
            format!("/ausschreibungen/{tender_id}/vergabevermerk"),
        ];
        let mut contract_numbers = Vec::new();
        let mut contract_pages = Vec::new();
        let mut winners = Vec::new();
        for lot in &evaluation {
            pages.push(format!("/ausschreibungen/{tender_id}/wertung/los/{}", lot.lot.id));
            // Evaluation finished: every bid scored, § 60 flags decided, the best bid won.
            assert!(lot.blockers.is_empty(), "Los {}: {:?}", lot.lot.lot_no, lot.blockers);
            assert!(lot.bids.iter().all(|b| b.scores.iter().all(Option::is_some)));
            for flag in &lot.low_flags {
                let review = lot
                    .reviews
                    .iter()
                    .find(|r| r.bid_id == flag.bid_id)
                    .expect("§ 60 review");
                assert!(review.decision.is_some() && review.reason.as_deref().is_some_and(|r| r.len() > 20));
            }
            let a = lot.award.as_ref().expect("every lot awarded");
            assert_eq!(Some(a.bid_id), lot.proposed_bid_id);
            assert_eq!(a.status, buendel::domain::bid::AwardStatus::Concluded);
            // The standstill as § 134 GWB counts it ended before the conclusion, which is past.
            assert_eq!(
                a.standstill_last_day,
                standstill::last_day(local(a.informed_at), true, region)
            );
            let concluded_at = a.concluded_at.expect("concluded");
            assert!(local(concluded_at) > a.standstill_last_day && concluded_at < now);

            // § 134 information: a notice with rank and reason, and a mail, for every other bidder.
            let notices: Vec<(BidId, i64, Option<i32>, String)> = award_notices::table
                .filter(award_notices::award_id.eq(a.id))
                .order(award_notices::bid_id.asc())
                .select((
                    award_notices::bid_id,
                    award_notices::vendor_id,
                    award_notices::bid_rank,
                    award_notices::reason,
                ))
                .load(&mut *c)
                .unwrap();
            let mut others: Vec<BidId> = lot.bids.iter().map(|b| b.bid_id).filter(|id| *id != a.bid_id).collect();
            others.sort();
            assert!(!others.is_empty(), "Los {} had competition", lot.lot.lot_no);
            assert_eq!(notices.iter().map(|n| n.0).collect::<Vec<_>>(), others);
            for (bid_id, vendor_id, rank, reason) in &notices {
                let scored = lot.ranking.iter().find(|s| s.bid_id == *bid_id).expect("ranked");
                assert_eq!(*rank, Some(scored.rank as i32));
                assert!(scored.rank > 1 && !reason.is_empty());
                let emails: Vec<String> = users::table
                    .filter(users::organisation_id.eq(vendor_id))
                    .select(users::email)
                    .load(&mut *c)
                    .unwrap();
                let informed: Vec<String> = outbox::table
                    .filter(outbox::recipient.eq_any(&emails))
                    .filter(outbox::subject.like(format!("Information nach § 134 GWB:%Los {}", lot.lot.lot_no)))
                    .select(outbox::body_text)
                    .load(&mut *c)
                    .unwrap();
                assert_eq!(informed.len(), emails.len(), "§ 134 mail to vendor {vendor_id}");
                let own_rank = format!("Rang {} von", scored.rank);
                assert!(informed
                    .iter()
                    .all(|m| m.contains(&own_rank) && m.contains(reason.as_str())));
            }

            // The framework contract: its document as hashed, its maximum value as the sum of
            // maximum quantity × winning unit price over its positions.
            let (contract_id, number, max_value, document, sha): (i64, String, Amount, String, String) =
                contracts::table
                    .filter(contracts::award_id.eq(a.id))
                    .select((
                        contracts::id,
                        contracts::number,
                        contracts::max_value,
                        contracts::document,
                        contracts::document_sha256,
                    ))
                    .first(&mut *c)
                    .expect("a contract per concluded award");
            assert_eq!(hex::encode(Sha256::digest(document.as_bytes())), sha);
            assert!(document.contains(&number) && number.starts_with("RV-"));
            let lines: Vec<(TenderPositionId, Price, Quantity)> = contract_positions::table
                .filter(contract_positions::contract_id.eq(contract_id))
                .select((
                    contract_positions::position_id,
                    contract_positions::unit_price,
                    contract_positions::max_quantity,
                ))
                .load(&mut *c)
                .unwrap();
            let lot_positions: Vec<_> = positions.iter().filter(|p| p.lot_id == lot.lot.id).collect();
            assert_eq!(lines.len(), lot_positions.len());
            let mut sum = Amount::ZERO;
            for (position_id, price, max_quantity) in &lines {
                let p = lot_positions
                    .iter()
                    .find(|p| p.id == *position_id)
                    .expect("a lot position");
                assert_eq!(*max_quantity, p.max_quantity);
                let bid_price: Price = bid_prices::table
                    .filter(bid_prices::bid_id.eq(a.bid_id))
                    .filter(bid_prices::position_id.eq(position_id))
                    .select(bid_prices::unit_price)
                    .first(&mut *c)
                    .unwrap();
                assert_eq!(*price, bid_price);
                sum = sum
                    .checked_add(Amount::line_total(*max_quantity, *price).unwrap())
                    .unwrap();
            }
            assert!(!sum.is_zero());
            assert_eq!(max_value, sum, "{number}");
            let letters: i64 = outbox::table
                .filter(outbox::subject.eq(format!(
                    "Zuschlag: Rahmenvereinbarung {number} – {}",
                    buendel::tender::find(&mut c, tender_id).unwrap().title
                )))
                .count()
                .get_result(&mut *c)
                .unwrap();
            assert!(letters >= 1, "award letter for {number}");
            pages.push(format!("/vertraege/{contract_id}"));
            contract_pages.push(format!("/vertraege/{contract_id}"));
            contract_numbers.push(number);
            winners.push(a.vendor_id);
        }
        winners.dedup();
        assert_eq!(winners.len(), 2, "the two lots go to different vendors");
        assert!(audit::verify(&mut c).unwrap().is_ok());
        drop(c);

        // The pages show it to the cooperative's officer.
        let client = app.client();
        assert_eq!(
            login_with(&client, "vergabe@buendel.example", buendel::seed::DEMO_PASSWORD),
            Status::SeeOther
        );
        for page in &pages {
            let res = client.get(page.as_str()).dispatch();
            assert_eq!(res.status(), Status::Ok, "{page}");
            let body = res.into_string().unwrap();
            assert!(!body.contains("Fehlercode"), "{page} shows an error page");
        }
        let vermerk = client
            .get(format!("/ausschreibungen/{tender_id}/vergabevermerk"))
            .dispatch()
            .into_string()
            .unwrap();
        for number in &contract_numbers {
            assert!(vermerk.contains(number.as_str()), "Vergabevermerk lacks {number}");
        }
        // A vendor sees the contract it won and no other.
        let vendor = app.client();
        assert_eq!(
            login_with(
                &vendor,
                "vertrieb@mainbogen-systemhaus.example",
                buendel::seed::DEMO_PASSWORD
            ),
            Status::SeeOther
        );
        let seen: Vec<Status> = contract_pages
            .iter()
            .map(|page| vendor.get(page.as_str()).dispatch().status())
            .collect();
        assert_eq!(seen.iter().filter(|s| **s == Status::Ok).count(), 1, "{seen:?}");
        assert_eq!(seen.iter().filter(|s| **s == Status::NotFound).count(), 1, "{seen:?}");
    });
}

#[test]
fn demo_evaluations_and_awards_are_checked_before_anything_is_stored() {
    // Each broken variant of the seed is refused with a message naming the file, on an empty
    // database that stays empty.
    let cases: [(&str, &str, &str); 4] = [
        (
            "awards.csv",
            "software-2026;2;mainbogen-systemhaus",
            "software-2026;3;mainbogen-systemhaus",
        ),
        ("awards.csv", ";1\n", ";-5\n"),
        ("evaluations.csv", ";score;-38;09:30;7|5;", ";score;-38;09:30;7|11;"),
        (
            "evaluations.csv",
            "2;request_explanation;-38;11:30",
            "2;request_explanation;-30;11:30",
        ),
    ];
    each_backend(|b| {
        for (file, from, to) in cases {
            let dir = tempfile::tempdir().unwrap();
            for entry in std::fs::read_dir("seed-data").unwrap() {
                let path = entry.unwrap().path();
                let target = dir.path().join(path.file_name().unwrap());
                if path.is_dir() {
                    std::fs::create_dir(&target).unwrap();
                    for doc in std::fs::read_dir(&path).unwrap() {
                        let doc = doc.unwrap().path();
                        std::fs::copy(&doc, target.join(doc.file_name().unwrap())).unwrap();
                    }
                } else {
                    std::fs::copy(&path, &target).unwrap();
                }
            }
            let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
            assert!(text.contains(from), "{file}: {from}");
            std::fs::write(dir.path().join(file), text.replacen(from, to, 1)).unwrap();
            let app = TestApp::new(b);
            let mut c = app.conn();
            let Err(err) = buendel::seed::load(&mut c, &app.state, dir.path()) else {
                panic!("{file} with „{to}“ was accepted");
            };
            let detail = err.user_detail();
            assert!(detail.contains(file), "{to}: {detail}");
            assert!(buendel::seed::is_empty(&mut c).unwrap(), "{to}");
        }
    });
}

#[test]
fn registering_an_address_that_has_an_account_answers_alike_and_warns_its_owner() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let before: i64 = {
            use buendel::db::schema::organisations;
            let mut c = app.conn();
            organisations::table.count().get_result(&mut *c).unwrap()
        };
        let fields = [
            ("name", "Doppelt GmbH"),
            ("street", "Hauptstraße 5"),
            ("postal_code", "34117"),
            ("city", "Kassel"),
            ("vat_id", "DE136695976"),
            ("contact_email", "angebote@doppelt.example"),
            ("person_name", "Eva Doppelt"),
            ("email", "Vendor@Test.example"),
            ("password", "Sicheres-Passwort-9"),
            ("password_repeat", "Sicheres-Passwort-9"),
        ];
        let client = app.client();
        let res = post_form(&client, "/registrieren", &fields);
        assert_eq!(res.status(), Status::Created, "same answer as a new registration");
        assert!(!res.into_string().unwrap().contains("vergeben"));
        let after: i64 = {
            use buendel::db::schema::organisations;
            let mut c = app.conn();
            organisations::table.count().get_result(&mut *c).unwrap()
        };
        assert_eq!(after, before, "nothing stored");
        assert_eq!(app.deliver_mail(), 1);
        let (to, body) = app.sent_mail().remove(0);
        assert_eq!(to, "vendor@test.example");
        assert!(body.contains("bereits ein Zugang"));
    });
}

#[test]
fn a_failing_step_leaves_neither_change_nor_audit_event_nor_mail() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let mut c = app.conn();
        let result = write_tx(&mut c, |c| {
            let data = org_input("Halbfertig GmbH")
                .validate(buendel::domain::roles::OrgType::Member)
                .unwrap();
            let id = buendel::orgs::insert_org(c, app.state.clock.now_naive(), &data, None)?;
            audit::record(
                c,
                &app.state.clock,
                &Actor::system("test"),
                Event::new("organisation.created", "organisation", id, serde_json::json!({})),
            )?;
            buendel::mail::enqueue(
                c,
                &app.state,
                "x@test.example",
                "account_created",
                &serde_json::json!({ "name": "X", "role": "Y", "login_url": "z" }),
            )?;
            buendel::mail::enqueue(c, &app.state, "x@test.example", "gibt_es_nicht", &serde_json::json!({}))
        });
        assert!(result.is_err());
        use buendel::db::schema::organisations;
        assert_eq!(organisations::table.count().get_result::<i64>(&mut *c).unwrap(), 0);
        assert_eq!(audit_events::table.count().get_result::<i64>(&mut *c).unwrap(), 0);
        assert_eq!(outbox::table.count().get_result::<i64>(&mut *c).unwrap(), 0);
        // The connection is usable again afterwards.
        assert!(write_tx(&mut c, |_| Ok(())).is_ok());
    });
}

#[test]
fn a_mail_whose_sender_died_is_sent_by_another_after_the_claim_expires() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let mut c = app.conn();
        write_tx(&mut c, |c| {
            buendel::mail::enqueue(
                c,
                &app.state,
                "y@test.example",
                "account_created",
                &serde_json::json!({ "name": "Y", "role": "Z", "login_url": "u" }),
            )
        })
        .unwrap();
        // A sender claims it and dies before sending.
        let claimed = buendel::mail::sender::claim_next(&mut c, app.state.clock.now_naive(), "toter-sender").unwrap();
        assert!(claimed.is_some());
        drop(c);
        assert_eq!(app.deliver_mail(), 0, "still claimed");
        app.state.clock.advance(chrono::Duration::minutes(6));
        assert_eq!(app.deliver_mail(), 1);
        assert_eq!(app.sent_mail().len(), 1);
    });
}

#[test]
fn the_sender_takes_a_lapsed_claim_first_then_the_mail_due_longest() {
    use buendel::mail::sender::claim_next;
    each_backend(|b| {
        let app = TestApp::new(b);
        let mut c = app.conn();
        let enqueue = |c: &mut buendel::db::DbConn, to: &str| {
            write_tx(c, |c| {
                buendel::mail::enqueue(
                    c,
                    &app.state,
                    to,
                    "account_created",
                    &serde_json::json!({ "name": "Y", "role": "Z", "login_url": "u" }),
                )
            })
            .unwrap();
        };
        enqueue(&mut c, "erste@test.example");
        enqueue(&mut c, "zweite@test.example");
        enqueue(&mut c, "dritte@test.example");
        let next =
            |c: &mut buendel::db::DbConn, at, sender: &str| claim_next(c, at, sender).unwrap().map(|row| row.recipient);
        let now = app.state.clock.now_naive();
        // The second mail failed once and waits for its retry: the third is due before it.
        diesel::update(outbox::table.filter(outbox::recipient.eq("zweite@test.example")))
            .set(outbox::next_attempt_at.eq(now + chrono::Duration::seconds(30)))
            .execute(&mut *c)
            .unwrap();
        let first: Vec<_> = (0..3).map(|_| next(&mut c, now, "a")).collect();
        assert_eq!(
            first,
            [
                Some("erste@test.example".to_string()),
                Some("dritte@test.example".to_string()),
                None
            ],
            "the retry is not due yet"
        );
        // Sender "a" dies; six minutes later its claims have lapsed and come before the retry.
        let later = now + chrono::Duration::minutes(6);
        let second: Vec<_> = (0..4).map(|_| next(&mut c, later, "b")).collect();
        assert_eq!(
            second,
            [
                Some("erste@test.example".to_string()),
                Some("dritte@test.example".to_string()),
                Some("zweite@test.example".to_string()),
                None
            ]
        );
    });
}

#[test]
fn old_login_failures_are_pruned() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = app.client();
        login_with(&client, "admin@test.example", "falsch-falsch");
        let mut c = app.conn();
        use buendel::db::schema::login_failures;
        let count = |c: &mut buendel::db::DbConn| login_failures::table.count().get_result::<i64>(c).unwrap();
        assert_eq!(count(&mut c), 2);
        assert_eq!(
            buendel::mail::sender::prune_login_failures(&mut c, app.state.clock.now_naive()).unwrap(),
            0
        );
        app.state.clock.advance(chrono::Duration::days(2));
        assert_eq!(
            buendel::mail::sender::prune_login_failures(&mut c, app.state.clock.now_naive()).unwrap(),
            2
        );
        assert_eq!(count(&mut c), 0);
    });
}

#[test]
fn demo_calloffs_never_exceed_a_maximum_and_show_every_state() {
    use buendel::db::schema::{calloff_lines, calloffs, contract_members, contract_positions, contracts};
    each_backend(|b| {
        let app = TestApp::new(b);
        let mut c = app.conn();
        buendel::seed::load(&mut c, &app.state, std::path::Path::new("seed-data")).expect("seed");
        let now = app.state.clock.now_naive();
        let contracts: Vec<(
            i64,
            String,
            Amount,
            Amount,
            Option<chrono::NaiveDateTime>,
            chrono::NaiveDateTime,
        )> = contracts::table
            .order(contracts::id)
            .select((
                contracts::id,
                contracts::number,
                contracts::called_value,
                contracts::max_value,
                contracts::alert_utilisation_at,
                contracts::created_at,
            ))
            .load(&mut *c)
            .unwrap();
        assert_eq!(contracts.len(), 2);
        let mut alerted = 0;
        for (id, number, called_value, max_value, alert, concluded_at) in &contracts {
            let orders: Vec<(i64, i64, String, Amount, chrono::NaiveDateTime)> = calloffs::table
                .filter(calloffs::contract_id.eq(id))
                .select((
                    calloffs::id,
                    calloffs::member_id,
                    calloffs::status,
                    calloffs::total,
                    calloffs::created_at,
                ))
                .load(&mut *c)
                .unwrap();
            assert!(orders.len() >= 3, "{number} has call-offs");
            let live: Vec<i64> = orders
                .iter()
                .filter(|o| o.2 != "cancelled" && o.2 != "rejected")
                .map(|o| o.0)
                .collect();
            for o in &orders {
                assert!(
                    o.4 > *concluded_at && o.4 < now,
                    "{number}: call-off {} after conclusion, before now",
                    o.0
                );
            }
            // Per position: what the live call-offs hold is the running total, within the maximum.
            let positions: Vec<(i64, Quantity, Quantity)> = contract_positions::table
                .filter(contract_positions::contract_id.eq(id))
                .select((
                    contract_positions::position_id,
                    contract_positions::called_quantity,
                    contract_positions::max_quantity,
                ))
                .load(&mut *c)
                .unwrap();
            for (position_id, called, max) in &positions {
                let held: i64 = calloff_lines::table
                    .filter(calloff_lines::calloff_id.eq_any(&live))
                    .filter(calloff_lines::position_id.eq(position_id))
                    .select(calloff_lines::quantity)
                    .load::<Quantity>(&mut *c)
                    .unwrap()
                    .iter()
                    .map(|q| q.minor())
                    .sum();
                assert_eq!(held, called.minor(), "{number} position {position_id}");
                assert!(
                    called.minor() <= max.minor(),
                    "{number} position {position_id} over its maximum"
                );
            }
            // The value: live totals are the contract's called value and every member's share.
            let sum = |member: Option<i64>| -> i64 {
                orders
                    .iter()
                    .filter(|o| live.contains(&o.0) && member.is_none_or(|m| m == o.1))
                    .map(|o| o.3.minor())
                    .sum()
            };
            assert_eq!(sum(None), called_value.minor(), "{number}");
            assert!(
                called_value.minor() <= max_value.minor(),
                "{number} over its maximum value"
            );
            let members: Vec<(i64, Amount)> = contract_members::table
                .filter(contract_members::contract_id.eq(id))
                .select((contract_members::member_id, contract_members::called_value))
                .load(&mut *c)
                .unwrap();
            for o in &orders {
                assert!(
                    members.iter().any(|m| m.0 == o.1),
                    "{number}: only entitled members call off"
                );
            }
            for (member, called) in &members {
                assert_eq!(sum(Some(*member)), called.minor(), "{number} member {member}");
            }
            let over_80 = called_value.minor() * 100 > max_value.minor() * 80;
            assert_eq!(
                over_80,
                alert.is_some(),
                "{number}: the 80 % alert exactly when crossed"
            );
            alerted += usize::from(over_80);
        }
        assert_eq!(alerted, 1, "one contract over 80 %, the other lower");
        let mut statuses: Vec<String> = calloffs::table
            .select(calloffs::status)
            .distinct()
            .load(&mut *c)
            .unwrap();
        statuses.sort();
        assert_eq!(statuses, ["cancelled", "confirmed", "delivered", "placed", "rejected"]);
        let reasons: Vec<Option<String>> = calloffs::table
            .filter(calloffs::status.eq(CalloffStatus::Rejected))
            .select(calloffs::reject_reason)
            .load(&mut *c)
            .unwrap();
        assert!(reasons.iter().all(|r| r.as_deref().is_some_and(|r| r.len() > 20)));
        assert!(audit::verify(&mut c).unwrap().is_ok());
        let ids: Vec<(i64, i64)> = calloffs::table
            .select((calloffs::id, calloffs::contract_id))
            .load(&mut *c)
            .unwrap();
        drop(c);

        // An entitled buyer sees the register, the contracts and the own call-offs.
        let client = app.client();
        assert_eq!(
            login_with(&client, "einkauf@uni-frankfurt.example", buendel::seed::DEMO_PASSWORD),
            Status::SeeOther
        );
        let mut pages = vec!["/vertraege".to_string()];
        pages.extend(contracts.iter().map(|c| format!("/vertraege/{}", c.0)));
        let own: Vec<i64> = {
            let mut c = app.conn();
            let me = buendel::seed::demo_user(&mut c, "einkauf@uni-frankfurt.example").unwrap();
            calloffs::table
                .filter(calloffs::member_id.eq(me.organisation_id))
                .select(calloffs::id)
                .load(&mut *c)
                .unwrap()
        };
        assert!(!own.is_empty() && own.len() < ids.len());
        pages.extend(own.iter().map(|id| format!("/abrufe/{id}")));
        for page in &pages {
            let res = client.get(page.as_str()).dispatch();
            assert_eq!(res.status(), Status::Ok, "{page}");
            assert!(
                !res.into_string().unwrap().contains("Fehlercode"),
                "{page} shows an error page"
            );
        }
    });
}
