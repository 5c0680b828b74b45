//! The generated cooperative (`buendel seed --scale tiny`) on both backends: the planned counts,
//! no contract, position or member over its maximum, totals that match the call-offs, an intact
//! audit chain, the same data for the same seed, and the main pages open for every role.

mod common;

use buendel::audit;
use buendel::db::page::PAGE_SIZE;
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

#[test]
fn long_lists_come_in_pages_with_german_links_and_a_bad_page_is_a_400() {
    each_backend(|b| {
        let app = TestApp::new(b);
        generate(&app, 2);
        let busiest: i64 = {
            let mut c = app.conn();
            let ids: Vec<i64> = calloffs::table.select(calloffs::contract_id).load(&mut *c).unwrap();
            let mut counts = std::collections::HashMap::new();
            for id in ids {
                *counts.entry(id).or_insert(0) += 1;
            }
            counts.into_iter().max_by_key(|(_, n)| *n).map(|(id, _)| id).unwrap()
        };
        let client = app.client();
        assert_eq!(
            login_with(&client, "vergabe@buendel.example", buendel::seed::DEMO_PASSWORD),
            Status::SeeOther
        );
        let pages = (100 + PAGE_SIZE - 1) / PAGE_SIZE;
        let first = client.get("/katalog").dispatch().into_string().unwrap();
        assert!(
            first.contains(&format!("Katalogpositionen (100), Seite 1 von {pages}")),
            "caption"
        );
        assert!(first.contains("href=\"/katalog?seite=2\" rel=\"next\">Weiter</a>"));
        assert!(first.contains("aria-current=\"page\""));
        let last = client
            .get(format!("/katalog?seite={pages}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(last.contains("rel=\"prev\">Zurück</a>"));
        assert!(!last.contains(">Weiter</a>"));
        let calloffs = client.get(format!("/vertraege/{busiest}?seite=2")).dispatch();
        assert_eq!(calloffs.status(), Status::Ok);
        assert!(calloffs.into_string().unwrap().contains("rel=\"prev\">Zurück</a>"));
        for bad in ["0", "x", "-3"] {
            for path in ["/katalog", "/vertraege"] {
                let res = client.get(format!("{path}?seite={bad}")).dispatch();
                assert_eq!(res.status(), Status::BadRequest, "{path}?seite={bad}");
                assert!(res.into_string().unwrap().contains("„seite“"), "{path}?seite={bad}");
            }
        }
    });
}

/// The rows of one section of the dashboard page, as the row headers show them.
fn section_rows(page: &str, view: &str) -> Vec<String> {
    let start = page
        .find(&format!("aria-labelledby=\"abschnitt-{view}\""))
        .unwrap_or_else(|| panic!("section {view}"));
    let section = &page[start..start + page[start..].find("</section>").unwrap()];
    section
        .split("<tr><th scope=\"row\">")
        .skip(1)
        .map(|row| row[..row.find("</th>").unwrap()].to_string())
        .collect()
}

#[test]
fn the_dashboard_shows_the_ten_largest_members_and_all_of_them_on_request() {
    each_backend(|b| {
        let app = TestApp::new(b);
        {
            // Twice the tiny plan's members and tenders: more than ten rows in each section.
            let plan = Plan {
                members: 24,
                tenders: 6,
                members_per_tender: 14,
                ..Plan::TINY
            };
            let mut c = app.conn();
            seed_scale::run(&mut c, &app.state, Path::new("seed-data"), plan, 3).expect("seed");
        }
        let board = app.client();
        assert_eq!(
            login_with(&board, "vorstand@buendel.example", buendel::seed::DEMO_PASSWORD),
            Status::SeeOther
        );
        // Every member's realised saving, from the export (which always has all rows).
        let csv = String::from_utf8(board.get("/auswertung/mitglieder.csv").dispatch().into_bytes().unwrap()).unwrap();
        let mut savings: Vec<(rust_decimal::Decimal, String)> = csv
            .trim_start_matches('\u{feff}')
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let cells: Vec<&str> = l.split(';').collect();
                let saving = cells[2].replace('.', "").replace(',', ".").parse().unwrap();
                (saving, cells[0].trim_matches('"').to_string())
            })
            .collect();
        assert!(
            savings.len() > 10,
            "the tiny cooperative has more than ten members with figures"
        );
        savings.sort_by_key(|s| std::cmp::Reverse(s.0));

        let page = board.get("/auswertung").dispatch().into_string().unwrap();
        let shown = section_rows(&page, "mitglieder");
        assert_eq!(shown.len(), 10, "{shown:?}");
        let tenth = savings[9].0;
        for name in &shown {
            let (saving, _) = savings.iter().find(|(_, n)| n == name).unwrap();
            assert!(*saving >= tenth, "{name} is not among the ten largest");
        }
        let all_link = "/auswertung?alle=mitglieder#abschnitt-mitglieder";
        let link = format!("<a href=\"{all_link}\">Alle {} Zeilen anzeigen</a>", savings.len());
        let section = &page[page.find("abschnitt-mitglieder").unwrap()..];
        assert!(
            page.contains(&link),
            "{link} in {}",
            &section[..section.len().min(6000)]
        );
        assert!(page.contains(&format!(
            "die 10 mit der höchsten realisierten Einsparung von {}",
            savings.len()
        )));

        let all = board
            .get("/auswertung?alle=mitglieder")
            .dispatch()
            .into_string()
            .unwrap();
        assert_eq!(section_rows(&all, "mitglieder").len(), savings.len());
        assert!(!all.contains(all_link), "no link to what is shown already");

        let res = board.get("/auswertung?alle=alles").dispatch();
        assert_eq!(res.status(), Status::BadRequest);
        assert!(res.into_string().unwrap().contains("ist keine Ansicht der Auswertung"));
    });
}

/// Data lines of a German CSV export (header and blank lines left out).
fn csv_lines(body: Vec<u8>) -> usize {
    String::from_utf8(body)
        .unwrap()
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count()
}

#[test]
fn the_call_off_export_has_every_line_of_the_period_not_just_the_newest_call_offs() {
    each_backend(|b| {
        let app = TestApp::new(b);
        {
            // More than 500 call-offs: the export once read only the newest 500 and filtered them.
            let plan = Plan {
                calloff_lines: 3_000,
                ..Plan::TINY
            };
            let mut c = app.conn();
            seed_scale::run(&mut c, &app.state, Path::new("seed-data"), plan, 5).expect("seed");
        }
        let (all, oldest): (i64, chrono::NaiveDateTime) = {
            let mut c = app.conn();
            let calloff_count: i64 = calloffs::table.count().get_result(&mut *c).unwrap();
            assert!(calloff_count > 500, "{calloff_count} call-offs");
            (
                calloff_lines::table.count().get_result(&mut *c).unwrap(),
                calloffs::table
                    .select(diesel::dsl::min(calloffs::created_at))
                    .first::<Option<chrono::NaiveDateTime>>(&mut *c)
                    .unwrap()
                    .unwrap(),
            )
        };
        let officer = app.client();
        assert_eq!(
            login_with(&officer, "vergabe@buendel.example", buendel::seed::DEMO_PASSWORD),
            Status::SeeOther
        );
        let res = officer.get("/abrufe.csv").dispatch();
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(csv_lines(res.into_bytes().unwrap()) as i64, all, "every line");
        // The first month of the history in German days: the oldest call-offs' lines, counted
        // in the database.
        let (from, to) = (oldest.date(), oldest.date() + chrono::Duration::days(30));
        let expected: i64 = {
            let mut c = app.conn();
            calloff_lines::table
                .inner_join(calloffs::table)
                // German days: from local midnight to local midnight.
                .filter(calloffs::created_at.ge(buendel::clock::day_start_utc(from)))
                .filter(calloffs::created_at.lt(buendel::clock::day_end_utc(to)))
                .count()
                .get_result(&mut *c)
                .unwrap()
        };
        assert!(expected > 0);
        let res = officer
            .get(format!(
                "/abrufe.csv?von={}&bis={}",
                from.format("%d.%m.%Y"),
                to.format("%d.%m.%Y")
            ))
            .dispatch();
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(
            csv_lines(res.into_bytes().unwrap()) as i64,
            expected,
            "the first month's lines"
        );
    });
}
