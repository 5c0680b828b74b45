//! Savings and the board's dashboard on both backends: a hand-computed case that uses all three
//! reference sources, contracted and realised savings apart, process savings when configured,
//! charts with data tables, German Excel CSV, and a buyer who never sees another member's figures.

mod common;

use buendel::award::{self, BidOnLot};
use buendel::calloff::{self, CalloffCommand, Step};
use buendel::db::schema::calloff_lines;
use buendel::demand::{self, CallData, DemandEntry};
use buendel::domain::calloff::CalloffStatus;
use buendel::domain::evaluation::{EvaluationCommand, Method};
use buendel::domain::ids::{ContractId, DemandPositionId, OrgId, TenderId, TenderPositionId};
use buendel::domain::money::{Amount, Price};
use buendel::savings::{self, Scope};
use chrono::Duration;
use common::api::{answer, assert_documented, dec, get};
use common::tender_flow::*;
use common::*;
use diesel::prelude::*;
use rocket::http::Status;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;
use std::str::FromStr;

struct Case {
    tender_id: TenderId,
    contract_id: ContractId,
    notebook: TenderPositionId,
    dock: TenderPositionId,
}

fn order(lines: &[(TenderPositionId, &str)]) -> CalloffCommand {
    CalloffCommand {
        quantities: lines.iter().map(|(p, q)| (*p, q.parse().unwrap())).collect(),
        delivery_address: "Rathaus, Marktplatz 1, 65185 Wiesbaden".into(),
        cost_centre: "4711".into(),
        leitweg_id: String::new(),
        note: String::new(),
    }
}

/// The hand-computed case:
///
/// Demand: Notebook (officer's estimate 1.000,00 €): Adorf 10 at its own 1.100,00 €, Bedorf 5
/// without a price. Dockingstation (no estimate, no prices): Adorf 4, Bedorf 2.
/// Bids (Notebook, Dock): Systemhaus 900,00 / 200,1001; Anna 950,00 / 210,00; Bert 800,00 /
/// 150,00, excluded for a failed A-criterion. Systemhaus wins; contract prices 900 / 200,1001.
/// Median of the valid Dock prices: (200,1001 + 210,00) / 2 = 205,05005 → 205,0501 (half away
/// from zero to 4 places); Bert's excluded 150 does not count.
///
/// Call-offs: Adorf 3 Notebooks (own price: (1100 − 900) × 3 = 600,00) and 2 Docks (median:
/// 4,95 × 2 = 9,90); Bedorf 4 Notebooks (estimate: 100 × 4 = 400,00) and 1 Dock (4,95); a
/// cancelled Bedorf call-off does not count. Realised 1.014,85 €, volume 6.900,30 € (2.700 plus
/// 400,20 plus 3.600 plus 200,10). Contracted on demand: Adorf 10 × 200 plus 4 × 4,95 =
/// 2.019,80, Bedorf 5 × 100 plus 2 × 4,95 = 509,90, together 2.529,70 €.
fn savings_case(app: &TestApp, w: &World) -> Case {
    vendor_firm(app, "anna", "Anna IT GmbH");
    vendor_firm(app, "bert", "Bert Systeme AG");
    let officer = current_user(app, "officer");
    let mut c = app.conn();
    let data = CallData {
        title: "Arbeitsplatz Einsparung".into(),
        description: "Notebooks und Dockingstationen".into(),
        term_months: 48,
        deadline: app.state.clock.now_naive() + Duration::days(5),
        all_members: false,
        member_ids: vec![w.member_a, w.member_b],
    };
    let positions = [
        position("Notebook 14 Zoll", "30213100-6", Some("1000")),
        position("Dockingstation", "30237000-9", None),
    ];
    let call = demand::create_call(&mut c, &app.state, &officer, &data, &positions).unwrap();
    demand::open_call(&mut c, &app.state, &officer, call).unwrap();
    let ids: Vec<DemandPositionId> = demand::positions(&mut c, call).unwrap().iter().map(|p| p.id).collect();
    let entry = |i: usize, quantity: &str, reference: Option<&str>| DemandEntry {
        position_id: ids[i],
        quantity: q(quantity),
        reference_price: reference.map(|r| Price::from_str(r).unwrap()),
    };
    demand::save_demand(
        &mut c,
        &app.state,
        &current_user(app, "buyer_a"),
        call,
        &[entry(0, "10", Some("1100")), entry(1, "4", None)],
    )
    .unwrap();
    demand::save_demand(
        &mut c,
        &app.state,
        &current_user(app, "buyer_b"),
        call,
        &[entry(0, "5", None), entry(1, "2", None)],
    )
    .unwrap();
    app.state.clock.advance(Duration::days(6));
    demand::close_call(&mut c, &app.state, &officer, call).unwrap();
    drop(c);

    let evaluation = EvaluationCommand {
        method: Some(Method::LowestPrice),
        a_criteria: vec!["Herstellergarantie mindestens 36 Monate".into()],
        b_criteria: Vec::new(),
        ..EvaluationCommand::defaults()
    };
    let (tender_id, tp) = service_tender(app, call, "Arbeitsplatz Einsparung", evaluation);
    let ours = service_bid(app, "vendor", tender_id, &tp, &["900", "200.1001"]);
    service_bid(app, "anna", tender_id, &tp, &["950", "210"]);
    let bert = service_bid(app, "bert", tender_id, &tp, &["800", "150"]);
    open_by_two_officers(app, tender_id);
    let lot_id = tp[0].lot_id;
    let mut c = app.conn();
    let on = |bid_id| BidOnLot {
        tender_id,
        lot_id,
        bid_id,
    };
    award::exclude(
        &mut c,
        &app.state,
        &officer,
        on(bert),
        Some(buendel::domain::bid::ExclusionKind::ACriterion),
        "Die Herstellergarantie von 36 Monaten ist nicht bestätigt.",
    )
    .unwrap();
    let award_id = award::award(
        &mut c,
        &app.state,
        &officer,
        on(ours),
        "Niedrigster Preis der gültigen Angebote",
    )
    .unwrap();
    app.deliver_all_mail();
    app.state.clock.advance(Duration::days(20));
    let contract_id = award::conclude(&mut c, &app.state, &officer, tender_id, award_id).unwrap();
    let (notebook, dock) = (tp[0].id, tp[1].id);

    let buyer_a = current_user(app, "buyer_a");
    let buyer_b = current_user(app, "buyer_b");
    calloff::place(
        &mut c,
        &app.state,
        &buyer_a,
        contract_id,
        &order(&[(notebook, "3"), (dock, "2")]),
    )
    .unwrap();
    calloff::place(
        &mut c,
        &app.state,
        &buyer_b,
        contract_id,
        &order(&[(notebook, "4"), (dock, "1")]),
    )
    .unwrap();
    let cancelled = calloff::place(&mut c, &app.state, &buyer_b, contract_id, &order(&[(notebook, "1")])).unwrap();
    calloff::advance(&mut c, &app.state, &buyer_b, cancelled.id, Step::Cancel, "").unwrap();
    Case {
        tender_id,
        contract_id,
        notebook,
        dock,
    }
}

fn money(text: &str) -> Amount {
    Amount::from_decimal(Decimal::from_str(text).unwrap()).unwrap()
}

fn figure<'a>(figures: &'a [savings::Figure], label: &str) -> &'a savings::Figure {
    figures
        .iter()
        .find(|f| f.label.contains(label))
        .unwrap_or_else(|| panic!("no figure {label} in {figures:?}"))
}

#[test]
fn savings_are_exact_for_a_hand_computed_case_covering_all_three_reference_sources() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let case = savings_case(&app, &w);
        let mut c = app.conn();

        // Each line records its reference, where it came from, and the saving, in minor units.
        type Stored = (OrgId, TenderPositionId, Option<i64>, Option<String>, Option<i64>);
        let mut lines: Vec<Stored> = calloff_lines::table
            .inner_join(buendel::db::schema::calloffs::table)
            .filter(buendel::db::schema::calloffs::status.ne(CalloffStatus::Cancelled))
            .select((
                buendel::db::schema::calloffs::member_id,
                calloff_lines::position_id,
                calloff_lines::reference_price,
                calloff_lines::reference_source,
                calloff_lines::saving,
            ))
            .load(&mut *c)
            .unwrap();
        lines.sort();
        let s = |t: &str| Some(t.to_string());
        let mut expected = vec![
            (w.member_a, case.notebook, Some(11_000_000), s("member"), Some(60_000)),
            (w.member_a, case.dock, Some(2_050_501), s("median"), Some(990)),
            (w.member_b, case.notebook, Some(10_000_000), s("estimate"), Some(40_000)),
            (w.member_b, case.dock, Some(2_050_501), s("median"), Some(495)),
        ];
        expected.sort();
        assert_eq!(lines, expected);

        let d = savings::dashboard(&mut c, &app.state, Scope { member_id: None }, None).unwrap();
        assert_eq!(d.totals.realised, money("1014.85"));
        assert_eq!(d.totals.volume, money("6900.30"));
        assert_eq!(d.totals.contracted, money("2529.70"));
        assert_eq!(d.totals.lines, 4, "the cancelled call-off does not count");
        assert_eq!(d.totals.lines_without_reference, 0);
        assert_eq!(d.totals.process, None, "no procedure cost configured");

        let adorf = figure(&d.by_member, "Stadt Adorf");
        assert_eq!(
            (adorf.volume, adorf.realised, adorf.contracted),
            (money("3100.20"), money("609.90"), money("2019.80"))
        );
        let bedorf = figure(&d.by_member, "Stadt Bedorf");
        assert_eq!(
            (bedorf.volume, bedorf.realised, bedorf.contracted),
            (money("3800.10"), money("404.95"), money("509.90"))
        );
        // Realised percent of the volume at reference prices: 609,90 / (3.100,20 + 609,90).
        assert_eq!(adorf.realised_percent, Some(dec!(16.44)));
        let by_source: Vec<(String, Amount)> = d.by_source.iter().map(|f| (f.label.clone(), f.realised)).collect();
        assert_eq!(
            by_source,
            vec![
                (
                    "Eigener Referenzpreis des Mitglieds (Bedarfsabfrage)".to_string(),
                    money("600.00")
                ),
                ("Schätzpreis der Position".to_string(), money("400.00")),
                ("Median der gültigen Angebote".to_string(), money("14.85")),
            ]
        );
        let notebooks = figure(&d.by_cpv_division, "30 ");
        assert_eq!(
            notebooks.realised,
            money("1014.85"),
            "both positions are in CPV division 30"
        );
        assert_eq!(d.by_contract.len(), 1);
        assert_eq!(d.by_lot[0].contracted, money("2529.70"));
        let year = buendel::savings::berlin_year(app.state.clock.now_naive());
        assert_eq!(d.by_year.len(), 1);
        assert_eq!(d.by_year[0].label, year.to_string());

        // Another year has nothing; the member filter gives that member's share.
        let other = savings::dashboard(&mut c, &app.state, Scope { member_id: None }, Some(year - 1)).unwrap();
        assert_eq!(
            (other.totals.realised, other.totals.contracted),
            (Amount::ZERO, Amount::ZERO)
        );
        let only_b = savings::dashboard(
            &mut c,
            &app.state,
            Scope {
                member_id: Some(w.member_b),
            },
            Some(year),
        )
        .unwrap();
        assert_eq!(only_b.totals.realised, money("404.95"));
        assert_eq!(only_b.totals.contracted, money("509.90"));

        // The utilisation of the contract: called 6.900,30 of its maximum, no warning yet.
        let u = &d.contracts[0];
        assert_eq!(u.contract_id, case.contract_id);
        assert_eq!(u.called_value, money("6900.30"));
        assert_eq!(u.entitled_members, 2);
        assert!(!u.expired && !u.near_expiry);
        let _ = case.tender_id;
    });
}

#[test]
fn the_board_sees_charts_with_data_tables_and_downloads_every_view_as_german_csv() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        savings_case(&app, &w);
        let board = browser(&app, "board");
        let res = board.get("/auswertung").dispatch();
        assert_eq!(res.status(), Status::Ok);
        let page = res.into_string().unwrap();
        assert!(
            page.contains("aria-current=\"page\">Auswertung</a>"),
            "in the navigation"
        );
        for text in [
            "1.014,85 €",
            "2.529,70 €",
            "6.900,30 €",
            "Stadt Adorf",
            "Stadt Bedorf",
            "<svg role=\"img\" aria-labelledby=\"diagramm-mitglieder-titel diagramm-mitglieder-beschreibung\"",
            "<title id=\"diagramm-mitglieder-titel\">Realisierte Einsparungen nach Mitglied</title>",
            "<caption>Nach Mitglied: Volumen und Einsparungen",
            "<th scope=\"row\">Stadt Adorf</th>",
            "Median der gültigen Angebote",
            "nicht eingerichtet (BUENDEL_PROCESS_COST)",
        ] {
            assert!(page.contains(text), "page lacks {text}");
        }
        assert!(!page.contains("<script"), "no JavaScript");
        for (view, _) in savings::VIEWS {
            assert!(
                page.contains(&format!("href=\"/auswertung/{view}.csv\"")),
                "link to {view}"
            );
            let res = board.get(format!("/auswertung/{view}.csv")).dispatch();
            assert_eq!(res.status(), Status::Ok, "{view}");
            assert!(res.content_type().unwrap().to_string().starts_with("text/csv"));
            let bytes = res.into_bytes().unwrap();
            assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{view}: BOM for Excel");
        }
        let csv = String::from_utf8(board.get("/auswertung/mitglieder.csv").dispatch().into_bytes().unwrap()).unwrap();
        assert!(csv.contains("Stadt Adorf;3100,20;609,90;2019,80;16,44;2"), "{csv}");
        assert!(csv.contains("Stadt Bedorf;3800,10;404,95;509,90;"), "{csv}");
        let sources = String::from_utf8(board.get("/auswertung/quellen.csv").dispatch().into_bytes().unwrap()).unwrap();
        assert!(
            sources.contains("Median der gültigen Angebote;600,30;14,85;0,00;"),
            "{sources}"
        );
        // The officer has the dashboard in the navigation too; an unknown view is not found.
        let officer = browser(&app, "officer");
        assert!(officer
            .get("/")
            .dispatch()
            .into_string()
            .unwrap()
            .contains(">Auswertung</a>"));
        assert_eq!(
            officer.get("/auswertung/raten.csv").dispatch().status(),
            Status::NotFound
        );
    });
}

#[test]
fn a_buyer_cannot_see_another_members_figures_by_page_csv_or_api() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        savings_case(&app, &w);
        let buyer = browser(&app, "buyer_a");
        let page = buyer.get("/auswertung").dispatch().into_string().unwrap();
        assert!(page.contains("609,90 €") && page.contains("2.019,80 €"), "own figures");
        assert!(page.contains(">Auswertung</a>"), "in the buyer's navigation");
        assert!(!page.contains("Stadt Bedorf") && !page.contains("404,95"), "{page}");
        assert!(!page.contains("1.014,85"), "not the cooperative's total");

        let other = format!("mitglied={}", w.member_b);
        let res = buyer.get(format!("/auswertung?{other}")).dispatch();
        assert_eq!(res.status(), Status::Forbidden);
        let body = res.into_string().unwrap();
        assert!(body.contains("nur die Zahlen Ihres eigenen Hauses") && !body.contains("404,95"));
        for view in ["mitglieder", "vertraege", "quellen", "auslastung"] {
            let res = buyer.get(format!("/auswertung/{view}.csv?{other}&jahr=")).dispatch();
            assert_eq!(res.status(), Status::Forbidden, "{view}");
            let csv = String::from_utf8(
                buyer
                    .get(format!("/auswertung/{view}.csv"))
                    .dispatch()
                    .into_bytes()
                    .unwrap(),
            )
            .unwrap();
            assert!(!csv.contains("Bedorf") && !csv.contains("404,95"), "{view}: {csv}");
        }
        let own = format!("/auswertung/mitglieder.csv?mitglied={}", w.member_a);
        let csv = String::from_utf8(buyer.get(own).dispatch().into_bytes().unwrap()).unwrap();
        assert!(csv.contains("Stadt Adorf;3100,20;609,90;2019,80"), "{csv}");

        let token = api_token(&buyer);
        let api = app.client();
        let (status, body) = answer(get(&api, &format!("/api/v1/savings?member_id={}", w.member_b), &token));
        assert_eq!(status, Status::Forbidden);
        assert!(body["message"].as_str().unwrap().contains("eigenen Hauses"));
        let (status, body) = answer(get(&api, "/api/v1/savings", &token));
        assert_eq!(status, Status::Ok);
        assert_eq!(body["member_id"], w.member_a.get());
        assert_eq!(body["by_member"].as_array().unwrap().len(), 1);
        assert_eq!(dec(&body["totals"]["realised"]), dec!(609.90));
        assert!(body["totals"]["process"].is_null());
        let doc: Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
        assert_documented(&doc, "/savings", "get", "200", &body);

        // The board may look at one member by number, through page and API.
        let board_token = api_token(&browser(&app, "board"));
        let (status, body) = answer(get(
            &api,
            &format!("/api/v1/savings?member_id={}", w.member_b),
            &board_token,
        ));
        assert_eq!(status, Status::Ok);
        assert_eq!(dec(&body["totals"]["realised"]), dec!(404.95));
        assert_documented(&doc, "/savings", "get", "200", &body);
    });
}

#[test]
fn vendors_get_no_figures_and_bad_filters_get_a_german_message() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        savings_case(&app, &w);
        let vendor = browser(&app, "vendor");
        assert_eq!(vendor.get("/auswertung").dispatch().status(), Status::Forbidden);
        assert_eq!(
            vendor.get("/auswertung/mitglieder.csv").dispatch().status(),
            Status::Forbidden
        );
        assert!(!vendor
            .get("/")
            .dispatch()
            .into_string()
            .unwrap()
            .contains(">Auswertung</a>"));
        let api = app.client();
        let vendor_token = api_token(&vendor);
        assert_eq!(answer(get(&api, "/api/v1/savings", &vendor_token)).0, Status::Forbidden);
        // Not logged in: to the login page.
        let anonymous = app.client();
        assert_eq!(anonymous.get("/auswertung").dispatch().status(), Status::SeeOther);

        let board = browser(&app, "board");
        for (query, message) in [
            ("jahr=zwanzig", "„zwanzig“ ist kein Jahr zwischen 2000 und 2100"),
            ("jahr=1999", "„1999“ ist kein Jahr"),
            ("mitglied=abc", "„abc“ ist keine Mitgliedsnummer"),
            ("mitglied=-3", "„-3“ ist keine Mitgliedsnummer"),
            (
                "mitglied=99999999",
                "Ein Mitglied mit der Nummer 99999999 gibt es nicht",
            ),
        ] {
            let res = board.get(format!("/auswertung?{query}")).dispatch();
            assert_eq!(res.status(), Status::BadRequest, "{query}");
            assert!(res.into_string().unwrap().contains(message), "{query}");
            let res = board.get(format!("/auswertung/jahre.csv?{query}")).dispatch();
            assert_eq!(res.status(), Status::BadRequest, "{query} (CSV)");
        }
        // The vendor organisation is no member either.
        let res = board.get(format!("/auswertung?mitglied={}", w.vendor)).dispatch();
        assert_eq!(res.status(), Status::BadRequest);
        let token = api_token(&board);
        let (status, body) = answer(get(&api, "/api/v1/savings?year=abc", &token));
        assert_eq!(status, Status::BadRequest);
        assert!(body["message"].as_str().unwrap().contains("kein Jahr"));
        // An empty filter is no filter.
        assert_eq!(board.get("/auswertung?jahr=&mitglied=").dispatch().status(), Status::Ok);
    });
}

#[test]
fn process_savings_count_the_procedures_the_members_did_not_run() {
    each_backend(|b| {
        let app = TestApp::with_vars(b, &[("BUENDEL_PROCESS_COST", "5.000,00")]);
        let w = app.world();
        savings_case(&app, &w);
        let mut c = app.conn();
        let d = savings::dashboard(&mut c, &app.state, Scope { member_id: None }, None).unwrap();
        // Two entitled members, one procedure instead of two: 1 × 5.000 €.
        assert_eq!(d.totals.process, Some(money("5000.00")));
        assert_eq!(d.contracts[0].process_saving, Some(money("5000.00")));
        let page = browser(&app, "board")
            .get("/auswertung")
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("Prozesseinsparung (vermiedene Vergabeverfahren zu je 5.000,00 €)"));
        // A member's view does not claim the cooperative's process savings.
        let mine = savings::dashboard(
            &mut c,
            &app.state,
            Scope {
                member_id: Some(w.member_a),
            },
            None,
        )
        .unwrap();
        assert_eq!(mine.totals.process, None);
    });
}

#[test]
fn demo_dashboard_shows_real_savings_from_all_three_reference_sources() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let mut c = app.conn();
        buendel::seed::load(&mut c, &app.state, std::path::Path::new("seed-data")).expect("seed");
        let d = savings::dashboard(&mut c, &app.state, Scope { member_id: None }, None).unwrap();
        assert!(
            d.totals.realised.minor() > 0 && d.totals.contracted.minor() > 0,
            "{:?}",
            d.totals
        );
        let sources: Vec<&str> = d.by_source.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            sources,
            [
                "Eigener Referenzpreis des Mitglieds (Bedarfsabfrage)",
                "Schätzpreis der Position",
                "Median der gültigen Angebote"
            ]
        );
        assert!(d.by_source.iter().all(|f| f.realised.minor() > 0), "{:?}", d.by_source);
        assert!(
            d.contracts.iter().any(|u| u.near_exhaustion),
            "one demo contract above 80 %"
        );
        drop(c);
        let board = app.client();
        assert_eq!(
            login_with(&board, "vorstand@buendel.example", buendel::seed::DEMO_PASSWORD),
            Status::SeeOther
        );
        let res = board.get("/auswertung").dispatch();
        assert_eq!(res.status(), Status::Ok);
        let page = res.into_string().unwrap();
        assert!(page.contains("Goethe-Universität Frankfurt am Main") && page.contains("nahezu ausgeschöpft"));
    });
}
