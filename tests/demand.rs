//! Demand pooling as members and officers use it, on both backends: calls, demand by form, CSV
//! and API, the deadline, who may see what, and the aggregation to the last decimal.

mod common;

use buendel::db::schema::{audit_events, demand_lines, outbox};
use buendel::demand::{self, CallData, DemandEntry, PositionData};
use buendel::domain::ids::{DemandCallId, DemandPositionId, OrgId};
use buendel::domain::money::{Price, Quantity};
use common::secret::SecretNumber;
use common::*;
use diesel::prelude::*;
use rocket::http::{ContentType, Status};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::str::FromStr;

fn position(description: &str, cpv: &str, estimate: Option<&str>) -> PositionData {
    PositionData {
        catalogue_item_id: None,
        description: description.into(),
        unit: "Stück".into(),
        cpv_code: cpv.into(),
        estimate_price: estimate.map(|e| Price::from_str(e).unwrap()),
    }
}

/// An open call inviting member A and member B, with three positions, deadline in 10 days.
fn open_call(app: &TestApp, w: &World) -> (DemandCallId, Vec<DemandPositionId>) {
    let officer = current_user(app, "officer");
    let mut c = app.conn();
    let data = CallData {
        title: "Arbeitsplatz 2027".into(),
        description: "Notebooks und Monitore".into(),
        term_months: 48,
        deadline: app.state.clock.now_naive() + chrono::Duration::days(10),
        all_members: false,
        member_ids: vec![w.member_a, w.member_b],
    };
    let positions = [
        position("Notebook 14 Zoll", "30213100-6", None),
        position("Monitor 24 Zoll", "30231300-0", Some("150")),
        position("Rollout je Gerät", "51611100-9", None),
    ];
    let id = demand::create_call(&mut c, &app.state, &officer, &data, &positions).unwrap();
    demand::open_call(&mut c, &app.state, &officer, id).unwrap();
    let ids = demand::positions(&mut c, id)
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    (id, ids)
}

fn lines_of(app: &TestApp, call: DemandCallId, member: OrgId) -> Vec<DemandEntry> {
    let mut c = app.conn();
    demand::member_lines(&mut c, call, member).unwrap()
}

fn upload(client: &rocket::local::blocking::Client, call: DemandCallId, bytes: &[u8]) -> (Status, String) {
    let token = csrf(client);
    let boundary = "----buendelgrenze";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n").as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bedarf.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = client
        .post(format!("/bedarf/{call}/meldung.csv"))
        .header(ContentType::new("multipart", "form-data").with_params(("boundary", boundary)))
        .body(body)
        .dispatch();
    (res.status(), res.into_string().unwrap_or_default())
}

#[test]
fn opening_a_call_mails_the_buyers_of_invited_members_only() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        open_call(&app, &w);
        app.deliver_mail();
        let mut to: Vec<String> = app.sent_mail().into_iter().map(|(t, _)| t).collect();
        to.sort();
        assert_eq!(to, vec!["buyer_a@test.example", "buyer_b@test.example"]);
        assert!(app.sent_mail()[0].1.contains("Arbeitsplatz 2027"));
    });
}

#[test]
fn buyer_enters_demand_by_form_in_german_notation() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, pos) = open_call(&app, &w);
        let client = browser(&app, "buyer_a");
        let (q0, p0, q1) = (
            format!("q_{}", pos[0]),
            format!("p_{}", pos[0]),
            format!("q_{}", pos[1]),
        );
        let res = post_form(
            &client,
            &format!("/bedarf/{call}/meldung"),
            &[(&q0, "1.200"), (&p0, "949,50"), (&q1, "12,5")],
        );
        assert_eq!(res.status(), Status::SeeOther);
        let lines = lines_of(&app, call, w.member_a);
        assert_eq!(lines.len(), 2);
        let nb = lines.iter().find(|l| l.position_id == pos[0]).unwrap();
        assert_eq!(nb.quantity.to_decimal(), dec!(1200));
        assert_eq!(nb.reference_price.unwrap().to_decimal(), dec!(949.50));
        let mon = lines.iter().find(|l| l.position_id == pos[1]).unwrap();
        assert_eq!(mon.quantity.to_decimal(), dec!(12.5));
        assert_eq!(mon.reference_price, None);
    });
}

#[test]
fn bad_form_values_are_explained_and_nothing_is_stored() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, pos) = open_call(&app, &w);
        let client = browser(&app, "buyer_a");
        let fields = [
            (format!("q_{}", pos[0]), "-5".to_string()),
            (format!("q_{}", pos[1]), "1,2345".to_string()),
            (format!("p_{}", pos[2]), "12,00".to_string()),
        ];
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let res = post_form(&client, &format!("/bedarf/{call}/meldung"), &refs);
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = res.into_string().unwrap();
        assert!(html.contains("Die Menge „-5“ darf nicht negativ sein"), "{html}");
        assert!(html.contains("mehr als 3 Nachkommastellen"));
        assert!(html.contains("auch die Menge an"));
        assert!(lines_of(&app, call, w.member_a).is_empty());
    });
}

#[test]
fn csv_upload_handles_every_german_excel_dialect() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, _) = open_call(&app, &w);
        let client = browser(&app, "buyer_a");
        let cases: Vec<(&str, Vec<u8>, [Decimal; 2])> = vec![
            (
                "semicolon, decimal comma, thousands",
                b"Pos.;Menge;Referenzpreis (EUR netto)\n1;1.234,5;999,99\n2;10;\n".to_vec(),
                [dec!(1234.5), dec!(10)],
            ),
            (
                "comma separator, decimal point",
                b"Pos,Menge,Referenzpreis\n1,1234.5,999.99\n2,10,\n".to_vec(),
                [dec!(1234.5), dec!(10)],
            ),
            (
                "comma separator, quoted decimal comma",
                b"Pos,Menge,Referenzpreis\n1,\"1.234,5\",\"999,99\"\n2,10,\n".to_vec(),
                [dec!(1234.5), dec!(10)],
            ),
            (
                "UTF-8 with BOM and CRLF, blank lines",
                b"\xEF\xBB\xBFPos.;Menge;Referenzpreis\r\n\r\n1;7;1,5\r\n\r\n2;3\r\n".to_vec(),
                [dec!(7), dec!(3)],
            ),
            (
                "Windows-1252 with umlauts",
                b"Pos.;Beschreibung;Menge\n1;Ger\xE4t f\xFCr B\xFCro;4\n2;Bildschirm;6\n".to_vec(),
                [dec!(4), dec!(6)],
            ),
            (
                "semicolon, decimal point, thousands comma",
                b"Pos.;Menge\n1;1,234.5\n2;2.25\n".to_vec(),
                [dec!(1234.5), dec!(2.25)],
            ),
        ];
        for (name, bytes, expected) in cases {
            let (status, html) = upload(&client, call, &bytes);
            assert_eq!(status, Status::SeeOther, "{name}: {html}");
            let mut lines = lines_of(&app, call, w.member_a);
            lines.sort_by_key(|l| l.position_id);
            let quantities: Vec<Decimal> = lines.iter().map(|l| l.quantity.to_decimal()).collect();
            assert_eq!(quantities, expected.to_vec(), "{name}");
        }
    });
}

#[test]
fn windows_1252_file_keeps_umlauts_in_reported_errors() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, _) = open_call(&app, &w);
        let client = browser(&app, "buyer_a");
        let (status, html) = upload(&client, call, b"Pos.;Beschreibung;Menge\n1;Ger\xE4t;vier\n");
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(html.contains("„vier“ ist keine Zahl"), "{html}");
    });
}

#[test]
fn a_file_with_three_bad_rows_reports_all_three_and_stores_nothing() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, pos) = open_call(&app, &w);
        // Existing demand must survive a refused file untouched.
        let buyer = current_user(&app, "buyer_a");
        {
            let mut c = app.conn();
            demand::save_demand(
                &mut c,
                &app.state,
                &buyer,
                call,
                &[DemandEntry {
                    position_id: pos[2],
                    quantity: Quantity::from_str("5").unwrap(),
                    reference_price: None,
                }],
            )
            .unwrap();
        }
        let client = browser(&app, "buyer_a");
        let file = "Pos.;Menge;Referenzpreis\n1;10;\n9;5;\n2;-3;\n3;1,0001;\n1;4;\n";
        let (status, html) = upload(&client, call, file.as_bytes());
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(
            html.contains("Zeile 3, Spalte „Pos.“: Position „9“ gibt es in dieser Bedarfsabfrage nicht."),
            "{html}"
        );
        assert!(html.contains("Zeile 4, Spalte „Menge“"), "negative");
        assert!(
            html.contains("Zeile 5, Spalte „Menge“: „1,0001“ hat mehr als 3 Nachkommastellen"),
            "{html}"
        );
        assert!(html.contains("Zeile 6, Spalte „Pos.“: Position 1 steht doppelt in der Datei (zuerst in Zeile 2)."));
        let lines = lines_of(&app, call, w.member_a);
        assert_eq!(lines.len(), 1, "nothing stored from the refused file");
        assert_eq!(lines[0].position_id, pos[2]);
    });
}

#[test]
fn api_csv_upload_reports_every_bad_row_as_json() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, _) = open_call(&app, &w);
        let token = api_token(&browser(&app, "buyer_a"));
        let api = app.client();
        let res = api
            .put(format!("/api/v1/demand-calls/{call}/demand.csv"))
            .header(bearer(&token))
            .header(ContentType::CSV)
            .body("Pos.;Menge\n1;x\n2;-1\n7;1\n")
            .dispatch();
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let body: Value = res.into_json().unwrap();
        let errors = body["fields"]["file"].as_array().unwrap();
        assert_eq!(errors.len(), 3, "{body}");
        assert!(body["message"].as_str().unwrap().contains("nichts gespeichert"));
        assert!(lines_of(&app, call, w.member_a).is_empty());
        let ok = api
            .put(format!("/api/v1/demand-calls/{call}/demand.csv"))
            .header(bearer(&token))
            .header(ContentType::CSV)
            .body("Pos.;Menge\n1;3\n")
            .dispatch();
        assert_eq!(ok.status(), Status::Ok);
        assert_eq!(lines_of(&app, call, w.member_a).len(), 1);
    });
}

#[test]
fn csv_template_is_prefilled_and_reads_back_unchanged() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, pos) = open_call(&app, &w);
        let buyer = current_user(&app, "buyer_a");
        {
            let mut c = app.conn();
            demand::save_demand(
                &mut c,
                &app.state,
                &buyer,
                call,
                &[DemandEntry {
                    position_id: pos[0],
                    quantity: Quantity::from_str("1234.5").unwrap(),
                    reference_price: Some(Price::from_str("949.1234").unwrap()),
                }],
            )
            .unwrap();
        }
        let client = browser(&app, "buyer_a");
        let res = client.get(format!("/bedarf/{call}/vorlage.csv")).dispatch();
        assert_eq!(res.status(), Status::Ok);
        assert!(res
            .headers()
            .get_one("Content-Disposition")
            .unwrap()
            .contains("bedarf-"));
        let bytes = res.into_bytes().unwrap();
        assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert!(text.starts_with("Pos.;Beschreibung;Einheit;CPV-Code;Menge;Referenzpreis (EUR netto)"));
        assert!(
            text.contains("1;Notebook 14 Zoll;Stück;30213100-6;1234,5;949,1234"),
            "{text}"
        );
        let before = lines_of(&app, call, w.member_a);
        let (status, _) = upload(&client, call, text.as_bytes());
        assert_eq!(status, Status::SeeOther);
        assert_eq!(lines_of(&app, call, w.member_a), before);
    });
}

#[test]
fn demand_after_the_deadline_is_refused() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, pos) = open_call(&app, &w);
        app.state.clock.advance(chrono::Duration::days(10));
        let client = browser(&app, "buyer_a");
        let q = format!("q_{}", pos[0]);
        let res = post_form(&client, &format!("/bedarf/{call}/meldung"), &[(&q, "5")]);
        assert_eq!(res.status(), Status::Conflict);
        assert!(res
            .into_string()
            .unwrap()
            .contains("Frist dieser Bedarfsabfrage ist abgelaufen"));
        let (status, _) = upload(&client, call, b"Pos.;Menge\n1;5\n");
        assert_eq!(status, Status::Conflict);
        let token = api_token(&client);
        let api = app.client();
        let res = api
            .put(format!("/api/v1/demand-calls/{call}/demand"))
            .header(bearer(&token))
            .header(ContentType::JSON)
            .body(json!({ "lines": [{ "position_id": pos[0], "quantity": "5" }] }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::Conflict);
        assert!(lines_of(&app, call, w.member_a).is_empty());
    });
}

#[test]
fn a_buyer_never_reads_or_changes_another_members_lines() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, pos) = open_call(&app, &w);
        let buyer_b = current_user(&app, "buyer_b");
        // Random figures: the CSRF token on A's page cannot contain them by chance ("777" could).
        let (quantity, price) = (SecretNumber::new(0), SecretNumber::new(2));
        {
            let mut c = app.conn();
            demand::save_demand(
                &mut c,
                &app.state,
                &buyer_b,
                call,
                &[DemandEntry {
                    position_id: pos[0],
                    quantity: Quantity::from_str(&quantity.plain()).unwrap(),
                    reference_price: Some(Price::from_str(&price.plain()).unwrap()),
                }],
            )
            .unwrap();
        }
        let a = browser(&app, "buyer_a");
        let page = a.get(format!("/bedarf/{call}")).dispatch().into_string().unwrap();
        assert_eq!(price.found_in(&page), None, "B's reference price is not shown to A");
        assert!(!page.contains("Stadt Bedorf"));
        assert_eq!(
            quantity.found_in(&page),
            None,
            "with fewer than three reporting members no total is shown"
        );
        assert_eq!(
            a.get(format!("/bedarf/{call}/auswertung")).dispatch().status(),
            Status::Forbidden
        );
        assert_eq!(
            a.get(format!("/bedarf/{call}/auswertung.csv")).dispatch().status(),
            Status::Forbidden
        );
        let template = a
            .get(format!("/bedarf/{call}/vorlage.csv"))
            .dispatch()
            .into_string()
            .unwrap();
        assert_eq!(quantity.found_in(&template), None, "{template}");
        // A saving its own demand leaves B's untouched.
        let q = format!("q_{}", pos[1]);
        assert_eq!(
            post_form(&a, &format!("/bedarf/{call}/meldung"), &[(&q, "1")]).status(),
            Status::SeeOther
        );
        assert_eq!(lines_of(&app, call, w.member_b).len(), 1);
        // API: own lines only; aggregation refused.
        let token = api_token(&a);
        let api = app.client();
        let mine: Value = api
            .get(format!("/api/v1/demand-calls/{call}/demand"))
            .header(bearer(&token))
            .dispatch()
            .into_json()
            .unwrap();
        assert_eq!(mine["lines"].as_array().unwrap().len(), 1);
        assert_eq!(mine["lines"][0]["quantity"], "1.000");
        assert_eq!(
            api.get(format!("/api/v1/demand-calls/{call}/aggregation"))
                .header(bearer(&token))
                .dispatch()
                .status(),
            Status::Forbidden
        );
        let detail: Value = api
            .get(format!("/api/v1/demand-calls/{call}"))
            .header(bearer(&token))
            .dispatch()
            .into_json()
            .unwrap();
        assert_eq!(
            detail["invited_members"],
            json!([w.member_a]),
            "a buyer does not learn who else is invited"
        );
    });
}

#[test]
fn members_not_invited_and_vendors_see_nothing() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let mut w = app.world();
        let (call, pos) = open_call(&app, &w);
        // A third member, not invited.
        {
            let mut c = app.conn();
            let data = org_input("Stadt Cedorf")
                .validate(buendel::domain::roles::OrgType::Member)
                .unwrap();
            let m = buendel::orgs::insert_org(&mut c, app.state.clock.now_naive(), &data, None).unwrap();
            let user = buendel::orgs::UserData {
                email: "buyer_c@test.example".into(),
                name: "Person C".into(),
                role: buendel::domain::roles::Role::Buyer,
                organisation_id: m,
                password: None,
            };
            let hash = buendel::auth::hash_password(PASSWORD).unwrap();
            w.users.insert(
                "buyer_c",
                buendel::orgs::insert_user(&mut c, app.state.clock.now_naive(), &user, &hash).unwrap(),
            );
        }
        let c = browser(&app, "buyer_c");
        assert_eq!(c.get(format!("/bedarf/{call}")).dispatch().status(), Status::NotFound);
        let q = format!("q_{}", pos[0]);
        assert_eq!(
            post_form(&c, &format!("/bedarf/{call}/meldung"), &[(&q, "5")]).status(),
            Status::NotFound
        );
        assert!(!c
            .get("/bedarf")
            .dispatch()
            .into_string()
            .unwrap()
            .contains("Arbeitsplatz 2027"));
        let v = browser(&app, "vendor");
        assert_eq!(v.get("/bedarf").dispatch().status(), Status::Forbidden);
        assert_eq!(v.get(format!("/bedarf/{call}")).dispatch().status(), Status::NotFound);
        let mut conn = app.conn();
        let n: i64 = demand_lines::table.count().get_result(&mut *conn).unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn only_officers_run_calls() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, _) = open_call(&app, &w);
        for key in ["admin", "board", "buyer_a", "vendor"] {
            let client = browser(&app, key);
            assert_eq!(
                client.get("/bedarf/neu").dispatch().status(),
                Status::Forbidden,
                "{key}"
            );
            let edit = client.get(format!("/bedarf/{call}/bearbeiten")).dispatch().status();
            assert!(
                matches!(edit, Status::Forbidden | Status::NotFound),
                "{key} may not open the edit page: {edit}"
            );
            for path in [
                format!("/bedarf/{call}/abschliessen"),
                format!("/bedarf/{call}/positionen"),
                format!("/bedarf/{call}"),
            ] {
                let res = post_form(
                    &client,
                    &path,
                    &[("description", "X"), ("unit", "Stück"), ("cpv_code", "30213100-6")],
                );
                assert!(
                    matches!(res.status(), Status::Forbidden | Status::NotFound),
                    "{key} {path}: {}",
                    res.status()
                );
            }
        }
        let mut c = app.conn();
        assert_eq!(demand::positions(&mut c, call).unwrap().len(), 3);
    });
}

#[test]
fn officer_creates_opens_edits_and_closes_a_call_through_the_pages() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let officer = browser(&app, "officer");
        // A draft needs a position: a new one with a bad CPV check digit is refused.
        let res = post_form(
            &officer,
            "/bedarf",
            &[
                ("title", "Netzwerk 2027"),
                ("term_months", "36"),
                ("deadline_date", "2026-12-10"),
                ("deadline_time", "12:00"),
                ("invite", "all"),
                ("new_description", "Switch 24 Port"),
                ("new_unit", "Stück"),
                ("new_cpv_code", "32420000-4"),
            ],
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res
            .into_string()
            .unwrap()
            .contains("falsche Prüfziffer (erwartet 32420000-3)"));
        let res = post_form(
            &officer,
            "/bedarf",
            &[
                ("title", "Netzwerk 2027"),
                ("term_months", "36"),
                ("deadline_date", "2026-12-10"),
                ("deadline_time", "12:00"),
                ("invite", "all"),
                ("new_description", "Switch 24 Port"),
                ("new_unit", "Stück"),
                ("new_cpv_code", "32420000-3"),
            ],
        );
        assert_eq!(res.status(), Status::SeeOther);
        let id: i64 = res
            .headers()
            .get_one("Location")
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // Drafts are invisible to buyers.
        assert_eq!(
            browser(&app, "buyer_a")
                .get(format!("/bedarf/{id}"))
                .dispatch()
                .status(),
            Status::NotFound
        );
        assert_eq!(
            post_form(&officer, &format!("/bedarf/{id}/oeffnen"), &[]).status(),
            Status::SeeOther
        );
        assert_eq!(app.deliver_mail(), 2, "both members' buyers");
        // The particulars are changed on a page of their own, linked from the call's page.
        let page = officer.get(format!("/bedarf/{id}")).dispatch().into_string().unwrap();
        assert!(page.contains(&format!("href=\"/bedarf/{id}/bearbeiten\"")));
        let edit = officer.get(format!("/bedarf/{id}/bearbeiten")).dispatch();
        assert_eq!(edit.status(), Status::Ok);
        let edit = edit.into_string().unwrap();
        assert!(edit.contains("value=\"Netzwerk 2027\"") && edit.contains("name=\"member_ids\""));
        // A term that is no number comes back on that page with the message and what was typed.
        let res = post_form(
            &officer,
            &format!("/bedarf/{id}"),
            &[
                ("title", "Netzwerk 2028"),
                ("term_months", "drei"),
                ("deadline_date", "2026-12-17"),
                ("invite", "all"),
            ],
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = res.into_string().unwrap();
        assert!(html.contains("Angaben ändern: Netzwerk 2027") && html.contains("value=\"Netzwerk 2028\""));
        assert!(
            html.contains("href=\"#feld-term_months\""),
            "the error summary links the field"
        );
        assert_eq!(app.deliver_mail(), 0, "nothing was changed, nobody told");
        // After opening: extending the deadline is announced to every invited buyer and audited.
        let res = post_form(
            &officer,
            &format!("/bedarf/{id}"),
            &[
                ("title", "Netzwerk 2027"),
                ("term_months", "36"),
                ("deadline_date", "2026-12-17"),
                ("deadline_time", "12:00"),
                ("invite", "all"),
            ],
        );
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(app.deliver_mail(), 2);
        let changed = &app.sent_mail()[2].1;
        assert!(
            changed.contains("10.12.2026") && changed.contains("17.12.2026"),
            "the change is named: {changed}"
        );
        let mut c = app.conn();
        let updates: i64 = audit_events::table
            .filter(audit_events::action.eq("demand_call.updated"))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(updates, 1);
        drop(c);
        // Closing before the deadline is refused with a reason; after it, it works.
        let res = post_form(&officer, &format!("/bedarf/{id}/abschliessen"), &[]);
        assert_eq!(res.status(), Status::Conflict);
        assert!(res.into_string().unwrap().contains("Frist läuft noch"));
        app.state.clock.advance(chrono::Duration::days(30));
        assert_eq!(
            post_form(&officer, &format!("/bedarf/{id}/abschliessen"), &[]).status(),
            Status::SeeOther
        );
        // A month later the session has ended: a fresh login.
        let officer = browser(&app, "officer");
        let closed = officer.get(format!("/bedarf/{id}/bearbeiten")).dispatch();
        assert_eq!(closed.status(), Status::Conflict, "a closed call is not changed");
        assert!(closed.into_string().unwrap().contains("nicht mehr ändern"));
        let _ = w;
    });
}

#[test]
fn aggregation_is_exact_to_the_last_decimal() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, pos) = open_call(&app, &w);
        let save = |key: &str, entries: Vec<(DemandPositionId, &str, Option<&str>)>| {
            let user = current_user(&app, key);
            let mut c = app.conn();
            let entries: Vec<DemandEntry> = entries
                .into_iter()
                .map(|(p, q, r)| DemandEntry {
                    position_id: p,
                    quantity: Quantity::from_str(q).unwrap(),
                    reference_price: r.map(|r| Price::from_str(r).unwrap()),
                })
                .collect();
            demand::save_demand(&mut c, &app.state, &user, call, &entries).unwrap();
        };
        // Position 1: (1 × 1.0001 + 2 × 2.0002) / 3 = 1.6668333… → 1.6668; 3 × 1.6668 = 5.0004 → 5.00
        save("buyer_a", vec![(pos[0], "1", Some("1.0001")), (pos[1], "0.125", None)]);
        save(
            "buyer_b",
            vec![(pos[0], "2", Some("2.0002")), (pos[1], "0.5", Some("99"))],
        );
        let mut c = app.conn();
        let call_row = demand::find_call(&mut c, call).unwrap();
        let agg = demand::aggregate(&mut c, &call_row, app.state.clock.now_naive().date()).unwrap();
        let (_, p1) = &agg.positions[0];
        assert_eq!(p1.total_quantity, dec!(3));
        assert_eq!(p1.members, 2);
        assert_eq!(p1.weighted_reference_price, Some(dec!(1.6668)));
        assert_eq!(p1.min_reference_price, Some(dec!(1.0001)));
        assert_eq!(p1.max_reference_price, Some(dec!(2.0002)));
        assert_eq!(p1.estimated_value, Some(dec!(5.00)));
        // Position 2 has the officer's estimate 150: 0.625 × 150 = 93.75.
        let (_, p2) = &agg.positions[1];
        assert_eq!(p2.total_quantity, dec!(0.625));
        assert_eq!(p2.estimate_unit_price, Some(dec!(150)));
        assert_eq!(p2.estimated_value, Some(dec!(93.75)));
        let (_, p3) = &agg.positions[2];
        assert_eq!(p3.members, 0);
        assert_eq!(agg.estimated_total, dec!(98.75));
        assert_eq!(agg.answered, 2);
        assert!(agg.not_answered.is_empty());
        assert_eq!(agg.eu_threshold, dec!(216000));
        assert!(!agg.eu_procedure_required);
        // The export carries the same numbers in German notation.
        let csv = String::from_utf8(demand::aggregation_csv(&agg)[3..].to_vec()).unwrap();
        assert!(csv.contains(";Summe;3;;2;1,6668;1,0001;2,0002;1,6668;5,00"), "{csv}");
        assert!(csv.contains("Stadt Adorf;1;1,0001"), "{csv}");
    });
}

#[test]
fn eu_threshold_is_flagged_from_216000_euro() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, pos) = open_call(&app, &w);
        let user = current_user(&app, "buyer_a");
        let mut c = app.conn();
        // 1440 monitors × 150 (officer's estimate) = 216,000.00 exactly: at the threshold.
        demand::save_demand(
            &mut c,
            &app.state,
            &user,
            call,
            &[DemandEntry {
                position_id: pos[1],
                quantity: Quantity::from_str("1440").unwrap(),
                reference_price: None,
            }],
        )
        .unwrap();
        let call_row = demand::find_call(&mut c, call).unwrap();
        let agg = demand::aggregate(&mut c, &call_row, app.state.clock.now_naive().date()).unwrap();
        assert_eq!(agg.estimated_total, dec!(216000.00));
        assert!(agg.eu_procedure_required);
        assert_eq!(agg.not_answered, vec!["Stadt Bedorf".to_string()]);
    });
}

#[test]
fn api_runs_the_whole_call() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let officer = api_token(&browser(&app, "officer"));
        let buyer = api_token(&browser(&app, "buyer_b"));
        let api = app.client();
        let res = api
            .post("/api/v1/demand-calls")
            .header(bearer(&officer))
            .header(ContentType::JSON)
            .body(json!({
                "title": "API-Abfrage", "term_months": 24, "deadline": "2026-12-01T12:00:00+01:00",
                "all_members": false, "member_ids": [w.member_b],
                "positions": [{ "description": "Tablet", "unit": "Stück", "cpv_code": "30213200-7", "estimate_price": "399.99" }]
            }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::Created);
        let created: Value = res.into_json().unwrap();
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["positions"][0]["estimate_price"], "399.9900");
        let pid = created["positions"][0]["id"].as_i64().unwrap();
        assert_eq!(
            api.post(format!("/api/v1/demand-calls/{id}/open"))
                .header(bearer(&officer))
                .dispatch()
                .status(),
            Status::Ok
        );
        let res = api
            .put(format!("/api/v1/demand-calls/{id}/demand"))
            .header(bearer(&buyer))
            .header(ContentType::JSON)
            .body(
                json!({ "lines": [{ "position_id": pid, "quantity": "10.5", "reference_price": "420" }] }).to_string(),
            )
            .dispatch();
        assert_eq!(res.status(), Status::Ok);
        // Too many places in a JSON number string is refused, not rounded.
        let res = api
            .put(format!("/api/v1/demand-calls/{id}/demand"))
            .header(bearer(&buyer))
            .header(ContentType::JSON)
            .body(json!({ "lines": [{ "position_id": pid, "quantity": "10.5555" }] }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let err: Value = res.into_json().unwrap();
        assert_eq!(
            err["fields"]["lines[0].quantity"][0], "„10.5555“ hat mehr als 3 Nachkommastellen.",
            "{err}"
        );
        let agg: Value = api
            .get(format!("/api/v1/demand-calls/{id}/aggregation"))
            .header(bearer(&officer))
            .dispatch()
            .into_json()
            .unwrap();
        assert_eq!(agg["estimated_total"], "4199.90");
        assert_eq!(agg["positions"][0][1]["total_quantity"], "10.500");
        let csv = api
            .get(format!("/api/v1/demand-calls/{id}/aggregation.csv"))
            .header(bearer(&officer))
            .dispatch();
        assert_eq!(csv.status(), Status::Ok);
        // Buyers cannot create calls.
        let res = api
            .post("/api/v1/demand-calls")
            .header(bearer(&buyer))
            .header(ContentType::JSON)
            .body("{}")
            .dispatch();
        assert!(matches!(res.status(), Status::Forbidden | Status::UnprocessableEntity));
        let mut c = app.conn();
        let mails: i64 = outbox::table.count().get_result(&mut *c).unwrap();
        assert_eq!(mails, 1, "buyer_b was invited by mail");
    });
}

#[test]
fn buyers_see_totals_only_from_three_reporting_members() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let officer = current_user(&app, "officer");
        let mut c = app.conn();
        // A third member with a buyer, invited to a call with one position.
        let data = org_input("Stadt Cedorf")
            .validate(buendel::domain::roles::OrgType::Member)
            .unwrap();
        let member_c = buendel::orgs::insert_org(&mut c, app.state.clock.now_naive(), &data, None).unwrap();
        let user = buendel::orgs::UserData {
            email: "buyer_c@test.example".into(),
            name: "Person C".into(),
            role: buendel::domain::roles::Role::Buyer,
            organisation_id: member_c,
            password: None,
        };
        buendel::orgs::insert_user(
            &mut c,
            app.state.clock.now_naive(),
            &user,
            &buendel::auth::hash_password(PASSWORD).unwrap(),
        )
        .unwrap();
        let call_data = CallData {
            title: "Drei".into(),
            description: String::new(),
            term_months: 12,
            deadline: app.state.clock.now_naive() + chrono::Duration::days(3),
            all_members: true,
            member_ids: vec![],
        };
        let call = demand::create_call(
            &mut c,
            &app.state,
            &officer,
            &call_data,
            &[position("Headset", "32342100-3", None)],
        )
        .unwrap();
        demand::open_call(&mut c, &app.state, &officer, call).unwrap();
        let pid = demand::positions(&mut c, call).unwrap()[0].id;
        drop(c);
        let page_total = |html: &str| html.contains(">1.111<");
        for (key, qty) in [("buyer_a", "1000"), ("buyer_b", "100")] {
            let u = current_user(&app, key);
            let mut c = app.conn();
            demand::save_demand(
                &mut c,
                &app.state,
                &u,
                call,
                &[DemandEntry {
                    position_id: pid,
                    quantity: Quantity::from_str(qty).unwrap(),
                    reference_price: None,
                }],
            )
            .unwrap();
        }
        let a = browser(&app, "buyer_a");
        assert!(
            !a.get(format!("/bedarf/{call}"))
                .dispatch()
                .into_string()
                .unwrap()
                .contains(">1.100<"),
            "two members: hidden"
        );
        let u = current_user(&app, "buyer_c");
        {
            let mut c = app.conn();
            demand::save_demand(
                &mut c,
                &app.state,
                &u,
                call,
                &[DemandEntry {
                    position_id: pid,
                    quantity: Quantity::from_str("11").unwrap(),
                    reference_price: None,
                }],
            )
            .unwrap();
        }
        assert!(
            page_total(&a.get(format!("/bedarf/{call}")).dispatch().into_string().unwrap()),
            "three members: shown"
        );
        let _ = w;
    });
}

#[test]
fn csv_upload_names_the_positions_it_removed() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, pos) = open_call(&app, &w);
        let buyer = current_user(&app, "buyer_a");
        {
            let mut c = app.conn();
            let entries: Vec<DemandEntry> = pos
                .iter()
                .map(|p| DemandEntry {
                    position_id: *p,
                    quantity: Quantity::from_str("2").unwrap(),
                    reference_price: None,
                })
                .collect();
            demand::save_demand(&mut c, &app.state, &buyer, call, &entries).unwrap();
        }
        let client = browser(&app, "buyer_a");
        let (status, _) = upload(&client, call, b"Pos.;Menge\n1;5\n");
        assert_eq!(status, Status::SeeOther);
        let page = client.get(format!("/bedarf/{call}")).dispatch().into_string().unwrap();
        assert!(page.contains("1 Position mit Bedarf"), "{page}");
        assert!(page.contains("Nicht mehr enthalten und daher entfernt: Pos. 2, 3."));
    });
}

/// The buyer's start page line of `call`: `Some(true)` when it shows "Bedarf gemeldet",
/// `Some(false)` for "noch nicht gemeldet", `None` when the call is not listed.
fn start_page_badge(client: &rocket::local::blocking::Client, call: DemandCallId) -> Option<bool> {
    let res = client.get("/").dispatch();
    assert_eq!(res.status(), Status::Ok);
    let page = res.into_string().unwrap();
    let link = format!("<a href=\"/bedarf/{call}\">");
    let line = page.lines().find(|l| l.contains(&link))?;
    match (line.contains("Bedarf gemeldet"), line.contains("noch nicht gemeldet")) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => panic!("Zeile ohne eindeutigen Status: {line}"),
    }
}

#[test]
fn the_start_page_says_per_member_whether_it_has_answered() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, pos) = open_call(&app, &w);
        // A second call that invites member B only: member A's start page does not list it.
        let officer = current_user(&app, "officer");
        let only_b = {
            let mut c = app.conn();
            let data = CallData {
                title: "Drucker 2027".into(),
                description: String::new(),
                term_months: 24,
                deadline: app.state.clock.now_naive() + chrono::Duration::days(5),
                all_members: false,
                member_ids: vec![w.member_b],
            };
            let id = demand::create_call(
                &mut c,
                &app.state,
                &officer,
                &data,
                &[position("Drucker", "30232110-8", None)],
            )
            .unwrap();
            demand::open_call(&mut c, &app.state, &officer, id).unwrap();
            id
        };
        let a = browser(&app, "buyer_a");
        let b_client = browser(&app, "buyer_b");
        assert_eq!(start_page_badge(&a, call), Some(false));
        assert_eq!(start_page_badge(&a, only_b), None, "nicht eingeladen");
        assert_eq!(start_page_badge(&b_client, call), Some(false));
        assert_eq!(start_page_badge(&b_client, only_b), Some(false));

        // Member B answers the shared call: only B's line changes.
        let q = format!("q_{}", pos[0]);
        let res = post_form(&b_client, &format!("/bedarf/{call}/meldung"), &[(&q, "3")]);
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(start_page_badge(&b_client, call), Some(true));
        assert_eq!(start_page_badge(&b_client, only_b), Some(false));
        assert_eq!(start_page_badge(&a, call), Some(false), "B's Meldung zählt nicht für A");

        let res = post_form(&a, &format!("/bedarf/{call}/meldung"), &[(&q, "7")]);
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(start_page_badge(&a, call), Some(true));
    });
}
