//! The generated cooperative (`buendel seed --scale tiny`) on both backends: the planned counts,
//! no contract, position or member over its maximum, totals that match the call-offs, an intact
//! audit chain, the same data for the same seed, and the main pages open for every role.

mod common;

use buendel::audit;
use buendel::db::schema::{calloff_lines, calloffs, catalogue_items, contract_members, contract_positions, contracts};
use buendel::db::schema::{organisations, tenders};
use buendel::seed_scale::{self, Plan};
use common::*;
use diesel::prelude::*;
use rocket::http::Status;
use std::path::Path;

fn generate(app: &TestApp, seed: u64) -> seed_scale::Report {
    let mut c = app.conn();
    seed_scale::run(&mut c, &app.state, Path::new("seed-data"), Plan::TINY, seed).expect("seed --scale tiny")
}

#[test]
fn the_tiny_cooperative_has_the_planned_size_and_never_exceeds_a_maximum() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let report = generate(&app, 7);
        let plan = Plan::TINY;
        let mut c = app.conn();
        let members: i64 = organisations::table
            .filter(organisations::org_type.eq("member"))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(members as usize, plan.members);
        let items: i64 = catalogue_items::table.count().get_result(&mut *c).unwrap();
        assert_eq!(items as usize, plan.catalogue);
        assert_eq!(report.contracts, plan.contracts());
        assert_eq!(report.calloff_lines, plan.calloff_lines);
        let lines: i64 = calloff_lines::table.count().get_result(&mut *c).unwrap();
        assert!(lines as usize >= plan.calloff_lines, "{lines}");
        // A thousandth of 220,000 call-offs, give or take the random line counts.
        assert!((180..=300).contains(&report.calloffs), "{} call-offs", report.calloffs);

        let over_value: i64 = contracts::table
            .filter(contracts::called_value.gt(contracts::max_value))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(over_value, 0, "a contract over its maximum value");
        let over_quantity: i64 = contract_positions::table
            .filter(contract_positions::called_quantity.gt(contract_positions::max_quantity))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(over_quantity, 0, "a position over its maximum quantity");

        // The running totals are what the call-offs that hold volume add up to.
        let holding = ["placed", "confirmed", "delivered"];
        let orders: Vec<(i64, i64, String)> = calloffs::table
            .select((calloffs::contract_id, calloffs::total, calloffs::status))
            .load(&mut *c)
            .unwrap();
        let shares: Vec<(i64, i64)> = contract_members::table
            .select((contract_members::contract_id, contract_members::called_value))
            .load(&mut *c)
            .unwrap();
        for (id, called) in contracts::table
            .select((contracts::id, contracts::called_value))
            .load::<(i64, i64)>(&mut *c)
            .unwrap()
        {
            let sum: i64 = orders
                .iter()
                .filter(|(k, _, s)| *k == id && holding.contains(&s.as_str()))
                .map(|(_, t, _)| t)
                .sum();
            assert_eq!(sum, called, "contract {id}");
            let members: i64 = shares.iter().filter(|(k, _)| *k == id).map(|(_, v)| v).sum();
            assert_eq!(members, called, "members of {id}");
        }
        let report_events = report.audit_events;
        assert!(report_events > plan.calloff_lines / 4, "{report_events} events");
        assert!(audit::verify(&mut c).unwrap().is_ok(), "audit chain");
    });
}

#[test]
fn the_same_seed_gives_the_same_cooperative() {
    let fingerprint = |seed: u64| {
        let app = TestApp::new(buendel::db::Backend::Sqlite);
        generate(&app, seed);
        let mut c = app.conn();
        let lines: Vec<(i64, i64, i64, Option<i64>)> = calloff_lines::table
            .order((calloff_lines::calloff_id, calloff_lines::position_id))
            .select((
                calloff_lines::calloff_id,
                calloff_lines::quantity,
                calloff_lines::line_total,
                calloff_lines::saving,
            ))
            .load(&mut *c)
            .unwrap();
        let titles: Vec<String> = tenders::table
            .order(tenders::id)
            .select(tenders::title)
            .load(&mut *c)
            .unwrap();
        (lines, titles)
    };
    let first = fingerprint(3);
    assert_eq!(first, fingerprint(3));
    assert_ne!(first.0, fingerprint(4).0);
}

#[test]
fn the_main_pages_answer_for_officer_buyer_and_board() {
    each_backend(|b| {
        let app = TestApp::new(b);
        generate(&app, 1);
        let (contract, calloff): (i64, i64) = {
            let mut c = app.conn();
            let contract = contracts::table
                .order(contracts::id.desc())
                .select(contracts::id)
                .first(&mut *c)
                .unwrap();
            let calloff = calloffs::table
                .filter(calloffs::contract_id.eq(contract))
                .select(calloffs::id)
                .first(&mut *c)
                .unwrap();
            (contract, calloff)
        };
        let tender: i64 = {
            let mut c = app.conn();
            tenders::table
                .order(tenders::id.desc())
                .select(tenders::id)
                .first(&mut *c)
                .unwrap()
        };
        let pages = |email: &str, paths: &[String]| {
            let client = app.client();
            assert_eq!(
                login_with(&client, email, buendel::seed::DEMO_PASSWORD),
                Status::SeeOther,
                "{email}"
            );
            for path in paths {
                let res = client.get(path.clone()).dispatch();
                assert_eq!(res.status(), Status::Ok, "{email} {path}");
            }
        };
        let common = [
            "/".to_string(),
            "/vertraege".to_string(),
            format!("/vertraege/{contract}"),
            format!("/ausschreibungen/{tender}"),
        ];
        let mut officer = common.to_vec();
        officer.extend([
            format!("/ausschreibungen/{tender}/wertung"),
            format!("/abrufe/{calloff}"),
            "/bedarf".to_string(),
            "/katalog".to_string(),
            "/auswertung".to_string(),
        ]);
        pages("vergabe@buendel.example", &officer);
        let mut board = common.to_vec();
        board.extend(["/auswertung".to_string(), "/protokoll".to_string()]);
        pages("vorstand@buendel.example", &board);
        let buyer = ["/", "/vertraege", "/auswertung", "/bedarf"].map(String::from);
        pages("einkauf@darmstadt.example", &buyer);
    });
}
