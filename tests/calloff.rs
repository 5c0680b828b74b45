//! Call-offs on both backends: the register, each refusal (not active, not entitled, over a
//! maximum), cancel frees volume, the order life, the 80 % alert once, and 50 parallel call-offs
//! racing for the last units of a position.

mod common;

use buendel::calloff::{self, CalloffCommand, Step};
use buendel::db::schema::{audit_events, calloff_lines, calloffs, contract_positions, contracts, outbox};
use buendel::domain::ids::{CalloffId, ContractId, OutboxId, TenderPositionId};
use buendel::domain::money::{Amount, Quantity};
use buendel::domain::roles::{OrgType, Role};
use buendel::error::AppError;
use buendel::orgs::{self, UserData};
use chrono::Duration;
use common::tender_flow::*;
use common::*;
use diesel::prelude::*;
use rocket::http::Status;

fn order(position: TenderPositionId, quantity: &str) -> CalloffCommand {
    CalloffCommand {
        quantities: vec![(position, quantity.parse().unwrap())],
        delivery_address: "Rathaus, Marktplatz 1, 64283 Darmstadt".into(),
        cost_centre: "4711".into(),
        leitweg_id: String::new(),
        note: String::new(),
    }
}

fn called(app: &TestApp, contract_id: ContractId) -> (i64, i64) {
    let q: i64 = contract_positions::table
        .filter(contract_positions::contract_id.eq(contract_id))
        .select(contract_positions::called_quantity)
        .first(&mut *app.conn())
        .unwrap();
    let v: Amount = contracts::table
        .find(contract_id)
        .select(contracts::called_value)
        .first(&mut *app.conn())
        .unwrap();
    (q / 1000, v.minor() / 100)
}

#[test]
fn call_offs_respect_every_limit_and_cancel_frees_volume() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (contract_id, position) = concluded_contract(&app, &w);
        let buyer_a = current_user(&app, "buyer_a");
        let buyer_b = current_user(&app, "buyer_b");
        let mut c = app.conn();

        let first = calloff::place(&mut c, &app.state, &buyer_a, contract_id, &order(position, "5")).unwrap();
        assert_eq!(first.total.to_decimal().to_string(), "4000.00");
        assert!(first.number.starts_with("AB-"));
        assert_eq!(called(&app, contract_id), (5, 4000));

        // More than is left: refused, saying what is left, nothing stored — neither the order,
        // its lines, its audit event nor the vendor's mail, though they are written before the
        // guarded updates refuse.
        let stored = |c: &mut buendel::db::DbConn| -> (i64, i64, i64, i64) {
            (
                calloffs::table.count().get_result(c).unwrap(),
                calloff_lines::table.count().get_result(c).unwrap(),
                audit_events::table.count().get_result(c).unwrap(),
                outbox::table.count().get_result(c).unwrap(),
            )
        };
        let before = stored(&mut c);
        let e = calloff::place(&mut c, &app.state, &buyer_b, contract_id, &order(position, "14")).unwrap_err();
        let msg = e.field_errors()["lines"].join(" ");
        assert!(msg.contains("nur noch 13 Stück"), "{msg}");
        assert_eq!(called(&app, contract_id), (5, 4000));
        assert_eq!(stored(&mut c), before);

        // A member not entitled (added after publication) does not even see the contract.
        let now = app.state.clock.now_naive();
        let late = orgs::insert_org(
            &mut c,
            now,
            &org_input("Stadt Cedorf").validate(OrgType::Member).unwrap(),
            None,
        )
        .unwrap();
        let hash = buendel::auth::hash_password(PASSWORD).unwrap();
        orgs::insert_user(
            &mut c,
            now,
            &UserData {
                email: "buyer_c@test.example".into(),
                name: "Person buyer_c".into(),
                role: Role::Buyer,
                organisation_id: late,
                password: None,
            },
            &hash,
        )
        .unwrap();
        let buyer_c = current_user(&app, "buyer_c");
        assert!(matches!(
            calloff::place(&mut c, &app.state, &buyer_c, contract_id, &order(position, "1")),
            Err(AppError::NotFound)
        ));
        // Vendors and officers do not call off.
        for who in ["vendor", "officer"] {
            assert!(matches!(
                calloff::place(
                    &mut c,
                    &app.state,
                    &current_user(&app, who),
                    contract_id,
                    &order(position, "1")
                ),
                Err(AppError::Forbidden(_))
            ));
        }
        // Bad input: a German message per field, nothing stored.
        let mut bad = order(position, "0");
        bad.cost_centre = String::new();
        bad.leitweg_id = "nicht-gueltig".into();
        let e = calloff::place(&mut c, &app.state, &buyer_b, contract_id, &bad).unwrap_err();
        let fields = e.field_errors();
        assert!(
            fields.contains_key(&format!("q_{position}"))
                && fields.contains_key("cost_centre")
                && fields.contains_key("leitweg_id"),
            "{fields:?}"
        );

        // Cancel before confirmation frees the volume; afterwards the vendor cannot confirm it.
        calloff::advance(&mut c, &app.state, &buyer_a, first.id, Step::Cancel, "").unwrap();
        assert_eq!(called(&app, contract_id), (0, 0));
        let vendor = current_user(&app, "vendor");
        assert!(matches!(
            calloff::advance(&mut c, &app.state, &vendor, first.id, Step::Confirm, ""),
            Err(AppError::Conflict(_))
        ));

        // Now 18 fit exactly; the life of an order: confirm, deliver.
        let all = calloff::place(&mut c, &app.state, &buyer_b, contract_id, &order(position, "18")).unwrap();
        assert_eq!(called(&app, contract_id), (18, 14400));
        // Another member's buyer cannot touch it; the other vendor does not see it.
        assert!(matches!(
            calloff::advance(&mut c, &app.state, &buyer_a, all.id, Step::Cancel, ""),
            Err(AppError::NotFound)
        ));
        calloff::advance(&mut c, &app.state, &vendor, all.id, Step::Confirm, "").unwrap();
        assert!(matches!(
            calloff::advance(&mut c, &app.state, &buyer_b, all.id, Step::Cancel, ""),
            Err(AppError::Conflict(_))
        ));
        calloff::advance(&mut c, &app.state, &buyer_b, all.id, Step::Deliver, "").unwrap();
        // Exhausted: the register says so, the next call-off is refused.
        let e = calloff::place(&mut c, &app.state, &buyer_a, contract_id, &order(position, "1")).unwrap_err();
        assert!(e.field_errors()["lines"][0].contains("nur noch 0 Stück"));
        let register = calloff::register(&mut c, &app.state, &buyer_a).unwrap();
        assert!(register[0].exhausted);

        // After the term: not active.
        let end: chrono::NaiveDate = contracts::table
            .find(contract_id)
            .select(contracts::term_end)
            .first(&mut *c)
            .unwrap();
        app.state
            .clock
            .set((end + Duration::days(1)).and_hms_opt(12, 0, 0).unwrap().and_utc());
        calloff::advance(&mut c, &app.state, &vendor, first.id, Step::Reject, "x").unwrap_err();
        let e = calloff::place(&mut c, &app.state, &buyer_a, contract_id, &order(position, "1")).unwrap_err();
        assert!(
            matches!(e, AppError::Conflict(ref m) if m.contains("keine Abrufe")),
            "{e:?}"
        );
    });
}

#[test]
fn the_80_percent_alert_fires_once_and_buyers_order_through_the_page() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (contract_id, position) = concluded_contract(&app, &w);
        let alerts = |app: &TestApp| -> i64 {
            outbox::table
                .filter(outbox::subject.like("%ausgeschöpft"))
                .count()
                .get_result(&mut *app.conn())
                .unwrap()
        };
        let browser_a = browser(&app, "buyer_a");
        let page = browser_a
            .get(format!("/vertraege/{contract_id}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(
            page.contains("14.400,00 €") && page.contains("Verbindlich abrufen"),
            "{page}"
        );
        let (status, location) = post(
            &browser_a,
            &format!("/vertraege/{contract_id}/abrufe"),
            &[
                (format!("q_{position}"), "14".into()),
                (
                    "delivery_address".into(),
                    "Rathaus, Marktplatz 1, 64283 Darmstadt".into(),
                ),
                ("cost_centre".into(), "4711".into()),
            ],
        );
        assert_eq!(status, Status::SeeOther, "{location}");
        assert_eq!(alerts(&app), 0, "77,8 % is below 80 %");
        let (status, body) = post(
            &browser_a,
            &format!("/vertraege/{contract_id}/abrufe"),
            &[
                (format!("q_{position}"), "5".into()),
                (
                    "delivery_address".into(),
                    "Rathaus, Marktplatz 1, 64283 Darmstadt".into(),
                ),
                ("cost_centre".into(), "4711".into()),
            ],
        );
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("nur noch 4 Stück"), "{body}");
        let (status, _) = post(
            &browser_a,
            &format!("/vertraege/{contract_id}/abrufe"),
            &[
                (format!("q_{position}"), "1".into()),
                (
                    "delivery_address".into(),
                    "Rathaus, Marktplatz 1, 64283 Darmstadt".into(),
                ),
                ("cost_centre".into(), "4711".into()),
            ],
        );
        assert_eq!(status, Status::SeeOther);
        // 15 of 18 (83,3 %): officers (2) and the buyers of both entitled members (2) are told.
        assert_eq!(alerts(&app), 4);
        let buyer_b = current_user(&app, "buyer_b");
        calloff::place(
            &mut app.conn(),
            &app.state,
            &buyer_b,
            contract_id,
            &order(position, "1"),
        )
        .unwrap();
        assert_eq!(alerts(&app), 4, "only once");
        // The vendor got each order; other vendors see neither contract nor order.
        let orders: i64 = outbox::table
            .filter(outbox::recipient.eq("vendor@test.example"))
            .filter(outbox::subject.like("Neuer Abruf%"))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(orders, 3);
        // Each order mail names its own call-off: number, document hash and link, in both parts.
        let mails: Vec<(OutboxId, String, String, String, String)> = outbox::table
            .filter(outbox::subject.like("Neuer Abruf%"))
            .select((
                outbox::id,
                outbox::subject,
                outbox::body_text,
                outbox::body_html,
                outbox::recipient,
            ))
            .load(&mut *app.conn())
            .unwrap();
        let placed: Vec<(CalloffId, String, String)> = calloffs::table
            .order(calloffs::id)
            .select((calloffs::id, calloffs::number, calloffs::document_sha256))
            .load(&mut *app.conn())
            .unwrap();
        assert_eq!(mails.len(), placed.len());
        // Each call-off's mail is found by its number (the outbox is read in no set order).
        for (id, number, sha) in &placed {
            let mine: Vec<_> = mails.iter().filter(|m| m.1.contains(number.as_str())).collect();
            assert_eq!(mine.len(), 1, "one order mail names {number}: {mails:?}");
            let (_, _, text, html, _) = mine[0];
            let link = format!("/abrufe/{id}");
            assert!(
                text.contains(number.as_str()) && text.contains(sha.as_str()) && text.contains(&link),
                "{text}"
            );
            assert!(html.contains(number.as_str()) && html.contains(sha.as_str()), "{html}");
            assert!(
                html.contains(&format!("&#x2F;abrufe&#x2F;{id}")) || html.contains(&link),
                "{html}"
            );
        }
        let rival = vendor2_browser(&app);
        assert_eq!(
            rival.get(format!("/vertraege/{contract_id}")).dispatch().status(),
            Status::NotFound
        );
        assert_eq!(
            rival.get(format!("/abrufe/{}", 1)).dispatch().status(),
            Status::NotFound
        );
    });
}

#[test]
fn fifty_parallel_call_offs_never_exceed_the_maximum() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (contract_id, position) = concluded_contract(&app, &w);
        let buyers = [current_user(&app, "buyer_a"), current_user(&app, "buyer_b")];
        // 50 requests of 1 unit race for the 18 units there are.
        let results: Vec<Result<(), String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..50)
                .map(|i| {
                    let (app, buyer) = (&app, &buyers[i % 2]);
                    s.spawn(move || {
                        let mut c = app.conn();
                        match calloff::place(&mut c, &app.state, buyer, contract_id, &order(position, "1")) {
                            Ok(_) => Ok(()),
                            Err(AppError::Validation { .. } | AppError::Conflict(_)) => Err("refused".into()),
                            Err(e) => Err(format!("unexpected: {e:?}")),
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let unexpected: Vec<&String> = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .filter(|e| *e != "refused")
            .collect();
        assert!(unexpected.is_empty(), "{unexpected:?}");
        assert_eq!(ok, 18, "exactly the call-offs that fit");
        assert_eq!(called(&app, contract_id), (18, 14400));
        let max: Quantity = contract_positions::table
            .filter(contract_positions::contract_id.eq(contract_id))
            .select(contract_positions::max_quantity)
            .first(&mut *app.conn())
            .unwrap();
        assert_eq!(max.minor(), 18_000);
        // Each placed call-off opened its own audit stream; the refused ones left nothing, and
        // the chain is intact.
        let placed: Vec<String> = audit_events::table
            .filter(audit_events::action.eq("calloff.placed"))
            .select(audit_events::stream)
            .load(&mut *app.conn())
            .unwrap();
        assert_eq!(placed.len(), 18);
        assert_eq!(placed.iter().collect::<std::collections::HashSet<_>>().len(), 18);
        assert!(buendel::audit::verify(&mut app.conn()).unwrap().is_ok());
    });
}

#[test]
fn order_by_csv_export_per_member_and_quota() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (contract_id, position) = concluded_contract(&app, &w);
        let browser_a = browser(&app, "buyer_a");
        // The template names the position; a filled-in file orders, a bad one names each bad row.
        let template = browser_a
            .get(format!("/vertraege/{contract_id}/vorlage.csv"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(
            template.contains("Notebook 14 Zoll") && template.contains("Verbleibend"),
            "{template}"
        );
        let path = format!("/vertraege/{contract_id}/abrufe.csv");
        let address = [("delivery_address", "Rathaus, Marktplatz 1"), ("cost_centre", "4711")];
        let (status, body) = multipart(
            &browser_a,
            &path,
            &address,
            Some(("abruf.csv", b"Pos.;Menge\n1;x\n9;1\n")),
        );
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("Zeile 2") && body.contains("Zeile 3"), "{body}");
        assert_eq!(called(&app, contract_id), (0, 0));
        let (status, location) = multipart(
            &browser_a,
            &path,
            &address,
            Some(("abruf.csv", "Pos.;Menge\n1;3\n".as_bytes())),
        );
        assert_eq!(status, Status::SeeOther, "{location}");
        assert_eq!(called(&app, contract_id), (3, 2400));
        let buyer_b = current_user(&app, "buyer_b");
        calloff::place(
            &mut app.conn(),
            &app.state,
            &buyer_b,
            contract_id,
            &order(position, "2"),
        )
        .unwrap();

        // Each buyer exports its own member's lines only; the officer sees both.
        let mine = browser_a.get("/abrufe.csv").dispatch().into_string().unwrap();
        assert!(mine.contains("Stadt Adorf") && !mine.contains("Stadt Bedorf"), "{mine}");
        let all = browser(&app, "officer")
            .get(format!("/abrufe.csv?vertrag={contract_id}&von=01.01.2026"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(all.contains("Stadt Adorf") && all.contains("Stadt Bedorf"), "{all}");
        let bad = browser_a.get("/abrufe.csv?von=morgen").dispatch();
        assert_eq!(bad.status(), Status::BadRequest);
        // Periods are German days: member B's call-off moved to 00:30 on New Year's Day (23:30
        // UTC the day before) is in the new year's export, not in the old year's.
        diesel::update(calloffs::table.filter(calloffs::member_id.eq(w.member_b)))
            .set(calloffs::created_at.eq("2026-12-31T23:30:00".parse::<chrono::NaiveDateTime>().unwrap()))
            .execute(&mut *app.conn())
            .unwrap();
        let officer = browser(&app, "officer");
        let export = |query: &str| {
            officer
                .get(format!("/abrufe.csv?{query}"))
                .dispatch()
                .into_string()
                .unwrap()
        };
        let new_year = export("von=01.01.2027&bis=01.01.2027");
        assert!(
            new_year.contains("Stadt Bedorf") && !new_year.contains("Stadt Adorf"),
            "{new_year}"
        );
        assert!(!export("von=31.12.2026&bis=31.12.2026").contains("Stadt Bedorf"));

        // A quota of 3 200 € for member B: 2 units (1 600 €) called, 2 more fit, a third does not.
        let officer = browser(&app, "officer");
        let (status, body) = post(
            &officer,
            &format!("/vertraege/{contract_id}/kontingente"),
            &[
                ("member_id".into(), w.member_b.to_string()),
                ("quota".into(), "1.000".into()),
            ],
        );
        assert_eq!(status, Status::UnprocessableEntity, "below what B already called");
        assert!(body.contains("bereits 1.600,00 €"), "{body}");
        let (status, _) = post(
            &officer,
            &format!("/vertraege/{contract_id}/kontingente"),
            &[
                ("member_id".into(), w.member_b.to_string()),
                ("quota".into(), "3.200,00".into()),
            ],
        );
        assert_eq!(status, Status::SeeOther);
        // A buyer cannot raise its own member's quota (the refusal below proves it stayed).
        let (status, _) = post(
            &browser(&app, "buyer_b"),
            &format!("/vertraege/{contract_id}/kontingente"),
            &[
                ("member_id".into(), w.member_b.to_string()),
                ("quota".into(), "14.400".into()),
            ],
        );
        assert_eq!(status, Status::Forbidden);
        let mut c = app.conn();
        calloff::place(&mut c, &app.state, &buyer_b, contract_id, &order(position, "2")).unwrap();
        let e = calloff::place(&mut c, &app.state, &buyer_b, contract_id, &order(position, "1")).unwrap_err();
        assert!(e.field_errors()["lines"][0].contains("Kontingent"), "{e:?}");
        // Member A has no quota and may still order.
        calloff::place(
            &mut c,
            &app.state,
            &current_user(&app, "buyer_a"),
            contract_id,
            &order(position, "1"),
        )
        .unwrap();
    });
}
