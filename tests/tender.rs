//! Tenders as officers and vendors use them through the pages, on both backends: the tender from
//! a closed demand call, deadline and term rules, publication, documents, questions, sealed bids
//! with receipts, the deadline to the second, and the two-person opening.

mod common;

use buendel::db::schema::{audit_events, outbox, tender_members};
use buendel::demand;
use buendel::domain::ids::{OrgId, TenderId};
use buendel::tender::{self, TenderCommand};
use chrono::Duration;
use common::secret::SecretNumber;
use common::tender_flow::*;
use common::*;
use diesel::prelude::*;
use rocket::http::{ContentType, Status};

#[test]
fn officer_builds_and_publishes_a_tender_from_a_closed_call() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, positions) = closed_call(&app, &w, "800");
        let officer = browser(&app, "officer");

        let page = officer
            .get(format!("/ausschreibungen/neu?bedarf={call}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(
            page.contains("Notebook 14 Zoll") && page.contains("kein Bedarf"),
            "{page}"
        );

        let form = with_deadline(&app, tender_form(call, &positions), 31);
        let (status, location) = post(&officer, "/ausschreibungen", &form);
        assert_eq!(status, Status::SeeOther, "{location}");
        let id: TenderId = id_from(&location);
        let mut c = app.conn();
        let t = tender::find(&mut c, id).unwrap();
        assert_eq!(t.status.code(), "draft");
        // 15 notebooks × 1.2 = 18 maximum at 800 € + 6 monitors × 1.2 = 7.2 → 7 whole monitors at
        // 150 €: 18 × 800 + 7 × 150 = 15 450 €, below the threshold → national.
        assert_eq!(t.estimated_value.to_decimal().to_string(), "15450.00");
        assert_eq!(t.procedure.code(), "national");
        let tp = tender::positions(&mut c, id).unwrap();
        assert_eq!(tp.len(), 2, "the position without demand is left out");
        assert_eq!(tp[0].estimate_quantity, q("15"));
        assert_eq!(tp[0].max_quantity, q("18"));
        assert_eq!(tp[1].max_quantity, q("7"));
        let lots = tender::lots(&mut c, id).unwrap();
        assert_eq!(lots.len(), 2);
        assert_ne!(tp[0].lot_id, tp[1].lot_id);

        // Draft: no public notice, not for vendors.
        let anonymous = app.client();
        assert_eq!(
            anonymous.get(format!("/bekanntmachungen/{id}")).dispatch().status(),
            Status::NotFound
        );
        let vendor = browser(&app, "vendor");
        assert_eq!(
            vendor.get(format!("/ausschreibungen/{id}")).dispatch().status(),
            Status::NotFound
        );

        let (status, _) = post(&officer, &format!("/ausschreibungen/{id}/veroeffentlichen"), &[]);
        assert_eq!(status, Status::SeeOther);
        let frozen: Vec<OrgId> = tender_members::table
            .filter(tender_members::tender_id.eq(id))
            .order(tender_members::member_id.asc())
            .select(tender_members::member_id)
            .load(&mut *c)
            .unwrap();
        let mut expected = vec![w.member_a, w.member_b];
        expected.sort();
        assert_eq!(frozen, expected);
        app.deliver_mail();
        let mails = app.sent_mail();
        assert!(
            mails
                .iter()
                .any(|(to, body)| to == "vendor@test.example" && body.contains("Arbeitsplatzausstattung 2027")),
            "approved vendor is mailed"
        );
        let notice = anonymous.get(format!("/bekanntmachungen/{id}")).dispatch();
        assert_eq!(notice.status(), Status::Ok);
        let notice = notice.into_string().unwrap();
        assert!(notice.contains("Stadt Adorf") && notice.contains("Höchstmenge"));
        let list = vendor.get("/ausschreibungen").dispatch().into_string().unwrap();
        assert!(list.contains("Arbeitsplatzausstattung 2027"));
        // Published means frozen.
        let (status, _) = post(&officer, &format!("/ausschreibungen/{id}"), &form);
        assert_eq!(status, Status::Conflict);
        // Only officers build tenders.
        let buyer = browser(&app, "buyer_a");
        let (status, _) = post(&buyer, "/ausschreibungen", &form);
        assert_eq!(status, Status::Forbidden);
    });
}

#[test]
fn deadline_and_term_rules_are_enforced_with_german_messages() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        // 15 × 1.2 × 20 000 € alone is far above the threshold: EU procedure.
        let (call, positions) = closed_call(&app, &w, "20000");
        let officer = browser(&app, "officer");
        let base = tender_form(call, &positions);

        let mut national = with_deadline(&app, base.clone(), 40);
        national.iter_mut().find(|(k, _)| k == "procedure").unwrap().1 = "national".into();
        let (status, body) = post(&officer, "/ausschreibungen", &national);
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("offene Verfahren ist vorgeschrieben"), "{body}");

        let (status, body) = post(&officer, "/ausschreibungen", &with_deadline(&app, base.clone(), 29));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("mindestens 30 Tage"), "{body}");

        let mut urgent = with_deadline(&app, base.clone(), 14);
        urgent.push(("urgency_reason".into(), "Ausfall des Altvertrags".into()));
        let (status, body) = post(&officer, "/ausschreibungen", &urgent);
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("mindestens 15 Tage"), "{body}");

        // 30 days ahead at the same time of day is 30 × 24 hours, yet a day short: the period runs
        // from the day after the notice to the end (24:00) of its thirtieth day (§ 15 VgV).
        let (status, body) = post(&officer, "/ausschreibungen", &with_deadline(&app, base.clone(), 30));
        assert_eq!(status, Status::UnprocessableEntity);
        // The thirtieth day is a working day here (a Tuesday): the period ends at its 24:00.
        let day_30 = (app.state.clock.now() + chrono::Duration::days(30)).with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(chrono::Datelike::weekday(&day_30), chrono::Weekday::Tue);
        let end = format!("frühestens am {} um 24:00 Uhr", day_30.format("%d.%m.%Y"));
        assert!(body.contains(&end), "{body}");

        let mut long = with_deadline(&app, base.clone(), 31);
        long.iter_mut().find(|(k, _)| k == "term_months").unwrap().1 = "49".into();
        let (status, body) = post(&officer, "/ausschreibungen", &long);
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("höchstens 48 Monate"), "{body}");
        let stored: i64 = audit_events::table
            .filter(audit_events::action.eq("tender.created"))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(stored, 0, "nothing stored for refused forms");

        long.push(("term_justification".into(), "Amortisation der Rolloutkosten".into()));
        let (status, location) = post(&officer, "/ausschreibungen", &long);
        assert_eq!(status, Status::SeeOther, "{location}");
        let t = tender::find(&mut app.conn(), id_from(&location)).unwrap();
        assert_eq!(t.procedure.code(), "eu_open");
        assert_eq!(t.term_months, 49);
        // Published, the officer's page says how the § 15 minimum period was counted.
        let (status, _) = post(&officer, &format!("/ausschreibungen/{}/veroeffentlichen", t.id), &[]);
        assert_eq!(status, Status::SeeOther);
        let page = officer
            .get(format!("/ausschreibungen/{}", t.id))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("Mindestangebotsfrist (§ 15 VgV)"), "{page}");
        let sent = app.state.clock.now().with_timezone(&chrono_tz::Europe::Berlin);
        let counted = format!(
            "30 Tage ab dem {} (Tag nach der Absendung der Bekanntmachung am {})",
            (sent + Duration::days(1)).format("%d.%m.%Y"),
            sent.format("%d.%m.%Y, %H:%M Uhr")
        );
        assert!(page.contains(&counted), "{page}");

        // With a reason, 15 days: counted from the day after publication to the end of the
        // fifteenth day (a Monday here), so 15 × 24 hours is refused and the next day accepted.
        let mut c = app.conn();
        let calendar = app.state.config.calendar();
        let mut input = TenderCommand::defaults_for(&demand::find_call(&mut c, call).unwrap(), &[]);
        input.assignment = positions.iter().take(2).map(|p| (*p, 1)).collect();
        input.urgency_reason = "Ausfall des Altvertrags".into();
        input.bid_deadline = Some((app.state.clock.now() + Duration::days(15)).naive_utc());
        let e = input
            .validate(&mut c, app.state.clock.now_naive(), &calendar)
            .unwrap_err();
        assert!(e.field_errors()["deadline_date"][0].contains("mindestens 15 Tage"));
        input.bid_deadline = Some((app.state.clock.now() + Duration::days(16)).naive_utc());
        assert!(input.validate(&mut c, app.state.clock.now_naive(), &calendar).is_ok());
        input.urgency_reason = String::new();
        let e = input
            .validate(&mut c, app.state.clock.now_naive(), &calendar)
            .unwrap_err();
        assert!(e.field_errors()["deadline_date"][0].contains("30 Tage"));
    });
}

#[test]
fn publication_rechecks_the_deadline_against_the_sending_day() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, positions) = closed_call(&app, &w, "20000");
        let officer = browser(&app, "officer");
        let (status, location) = post(
            &officer,
            "/ausschreibungen",
            &with_deadline(&app, tender_form(call, &positions), 31),
        );
        assert_eq!(status, Status::SeeOther);
        let id: TenderId = id_from(&location);
        app.state.clock.advance(Duration::days(2));
        let officer = browser(&app, "officer");
        let (status, body) = post(&officer, &format!("/ausschreibungen/{id}/veroeffentlichen"), &[]);
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("verlängern Sie die Angebotsfrist"), "{body}");
        assert_eq!(tender::find(&mut app.conn(), id).unwrap().status.code(), "draft");
    });
}

#[test]
fn the_threshold_of_the_dispatch_day_decides_the_procedure() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        // December 2025: threshold 221,000 EUR. Maxima 18 notebooks at 12,052.78 and 7 monitors
        // at 150: 218,000.04 EUR, a national procedure is allowed on the day of the draft.
        app.state.clock.set(
            chrono::DateTime::parse_from_rfc3339("2025-12-09T10:00:00Z")
                .unwrap()
                .to_utc(),
        );
        let (call, positions) = closed_call(&app, &w, "12052.78");
        let officer = browser(&app, "officer");
        let mut national = with_deadline(&app, tender_form(call, &positions), 40);
        national.iter_mut().find(|(k, _)| k == "procedure").unwrap().1 = "national".into();
        let (status, location) = post(&officer, "/ausschreibungen", &national);
        assert_eq!(status, Status::SeeOther, "{location}");
        let id: TenderId = id_from(&location);
        let draft = tender::find(&mut app.conn(), id).unwrap();
        assert_eq!(draft.estimated_value.to_decimal(), rust_decimal_macros::dec!(218000.04));
        assert_eq!(draft.threshold.to_decimal(), rust_decimal_macros::dec!(221000));

        // Sent on 12 January 2026, when 216,000 EUR applies: refused, nothing published.
        app.state.clock.set(
            chrono::DateTime::parse_from_rfc3339("2026-01-12T09:00:00Z")
                .unwrap()
                .to_utc(),
        );
        let officer = browser(&app, "officer");
        let (status, body) = post(&officer, &format!("/ausschreibungen/{id}/veroeffentlichen"), &[]);
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(
            body.contains(
                "Am Tag der Absendung der Bekanntmachung (12.01.2026) gilt der EU-Schwellenwert von 216.000,00 EUR"
            ),
            "{body}"
        );
        assert!(body.contains("218.000,04 EUR"), "{body}");
        assert_eq!(tender::find(&mut app.conn(), id).unwrap().status.code(), "draft");

        // Still in December it goes out nationally, with the threshold of its dispatch day.
        app.state.clock.set(
            chrono::DateTime::parse_from_rfc3339("2025-12-30T09:00:00Z")
                .unwrap()
                .to_utc(),
        );
        let officer = browser(&app, "officer");
        let (status, body) = post(&officer, &format!("/ausschreibungen/{id}/veroeffentlichen"), &[]);
        assert_eq!(status, Status::SeeOther, "{body}");
        let published = tender::find(&mut app.conn(), id).unwrap();
        assert_eq!(published.status.code(), "published");
        assert_eq!(published.threshold.to_decimal(), rust_decimal_macros::dec!(221000));
    });
}

#[test]
fn vendor_bids_by_form_and_price_sheet_and_gets_a_receipt() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (id, positions) = published_tender(&app, &w);
        let vendor = browser(&app, "vendor");

        // Lot 1 priced, lot 2 chosen without prices: every missing price is named.
        let p0 = format!("f[p_{}]", positions[0]);
        let lot2 = tender::lots(&mut app.conn(), id).unwrap()[1].id.to_string();
        let (status, body) = multipart(
            &vendor,
            &format!("/ausschreibungen/{id}/angebot"),
            &[(&p0, "799,90"), ("lot", &lot2), ("f[a_1]", "ja")],
            None,
        );
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("Es fehlen 1 Preis: Los 2 Pos. 2"), "{body}");
        assert!(body.contains("799,90"), "typed price comes back");

        // Too many decimal places are refused, not rounded.
        let (status, body) = bid(&vendor, id, &positions, "799,12345", "149");
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("Nachkommastellen"), "{body}");

        let (status, location) = bid(&vendor, id, &positions, "799,90", "149,50");
        assert_eq!(status, Status::SeeOther, "{location}");
        let first = receipt_of(&vendor, id);
        let page = vendor
            .get(format!("/ausschreibungen/{id}/angebot"))
            .dispatch()
            .into_string()
            .unwrap();
        // 15 × 799.90 = 11 998.50 ; 6 × 149.50 = 897.00
        assert!(page.contains("11.998,50 €") && page.contains("897,00 €"), "{page}");
        // The receipt shows the server's time of submission to the second (the clock is frozen).
        let submitted = buendel::german::timestamp_de(app.state.clock.now_naive());
        assert!(page.contains(&submitted), "server time {submitted} shown");

        let receipt_mail: String = outbox::table
            .filter(outbox::recipient.eq("vendor@test.example"))
            .filter(outbox::subject.like("Eingangsbest%"))
            .select(outbox::body_text)
            .first(&mut *app.conn())
            .expect("receipt mail");
        assert!(
            receipt_mail.contains(&first),
            "receipt hash {first} in the mail:\n{receipt_mail}"
        );
        assert!(
            !receipt_mail.contains("799,90") && !receipt_mail.contains("799.9"),
            "no price in mail"
        );

        // Same content again → new nonce; a changed price → new hash too, and the history keeps both.
        let csv = "Los;Pos.;Beschreibung;Einheit;CPV-Code;Geschätzte Menge;Höchstmenge;Einzelpreis (EUR netto)\n1;1;Notebook;Stück;30213100-6;15;18;799,91\n2;2;Monitor;Stück;30231300-0;6;7;149,50\n";
        let (status, location) = multipart(
            &vendor,
            &format!("/ausschreibungen/{id}/angebot"),
            &[("f[a_1]", "ja")],
            Some(("preisblatt.csv", csv.as_bytes())),
        );
        assert_eq!(status, Status::SeeOther, "{location}");
        let second = receipt_of(&vendor, id);
        assert_ne!(first, second);
        let page = vendor
            .get(format!("/ausschreibungen/{id}/angebot"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("ersetzt") && page.contains(&first) && page.contains("799,91"));

        // A bad price sheet names every bad row and changes nothing.
        let bad = "Los;Pos.;Einzelpreis (EUR netto)\n1;1;abc\n2;7;1\n";
        let (status, body) = multipart(
            &vendor,
            &format!("/ausschreibungen/{id}/angebot"),
            &[("f[a_1]", "ja")],
            Some(("preisblatt.csv", bad.as_bytes())),
        );
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("Zeile 2") && body.contains("Zeile 3"), "{body}");
        assert_eq!(receipt_of(&vendor, id), second);

        // Withdraw: no current bid, the history stays.
        let (status, _) = post(&vendor, &format!("/ausschreibungen/{id}/angebot/zurueckziehen"), &[]);
        assert_eq!(status, Status::SeeOther);
        let page = vendor
            .get(format!("/ausschreibungen/{id}/angebot"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("kein gültiges Angebot") && page.contains("zurückgezogen"));
        assert_eq!(buendel::tender::bids::count_current(&mut app.conn(), id).unwrap(), 0);
    });
}

#[test]
fn a_bid_at_or_after_the_deadline_is_refused_by_server_time() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (id, positions) = published_tender(&app, &w);
        let deadline = tender::find(&mut app.conn(), id).unwrap().bid_deadline;
        // Sessions last 8 hours: log in again after each jump of the clock.
        app.state.clock.set((deadline - Duration::seconds(1)).and_utc());
        let vendor = browser(&app, "vendor");
        let (status, location) = bid(&vendor, id, &positions, "800", "150");
        assert_eq!(status, Status::SeeOther, "{location}");
        app.state.clock.set(deadline.and_utc());
        let (status, body) = bid(&vendor, id, &positions, "700", "150");
        assert_eq!(status, Status::Conflict);
        assert!(body.contains("Angebotsfrist ist am"), "{body}");
        app.state.clock.set((deadline + Duration::seconds(1)).and_utc());
        let (status, _) = bid(&vendor, id, &positions, "700", "150");
        assert_eq!(status, Status::Conflict);
        let (status, _) = post(&vendor, &format!("/ausschreibungen/{id}/angebot/zurueckziehen"), &[]);
        assert_eq!(status, Status::Conflict, "no withdrawal after the deadline either");
        assert_eq!(buendel::tender::bids::count_current(&mut app.conn(), id).unwrap(), 1);
    });
}

#[test]
fn nobody_but_the_bidder_reads_a_sealed_bid() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        second_vendor(&app);
        let (id, positions) = published_tender(&app, &w);
        let vendor = browser(&app, "vendor");
        // Random prices: no receipt hash, token, id or time on a page can contain them by chance.
        let (notebook, monitor) = (SecretNumber::new(2), SecretNumber::new(2));
        let (status, _) = bid(&vendor, id, &positions, &notebook.german(), &monitor.german());
        assert_eq!(status, Status::SeeOther);
        let shows_a_price = |text: &str| notebook.found_in(text).or_else(|| monitor.found_in(text));
        let deadline = tender::find(&mut app.conn(), id).unwrap().bid_deadline;

        for when in [None, Some(deadline + Duration::hours(1))] {
            if let Some(t) = when {
                app.state.clock.set(t.and_utc());
            }
            for who in ["officer", "admin", "board", "vendor2", "buyer_a"] {
                let client = if who == "vendor2" {
                    let c = app.client();
                    assert_eq!(login(&c, "vendor2@test.example"), Status::SeeOther);
                    c
                } else {
                    browser(&app, who)
                };
                for path in [
                    format!("/ausschreibungen/{id}/angebote"),
                    format!("/ausschreibungen/{id}/angebote.csv"),
                    format!("/ausschreibungen/{id}/oeffnungsprotokoll"),
                    format!("/ausschreibungen/{id}"),
                    format!("/ausschreibungen/{id}/angebot"),
                    format!("/ausschreibungen/{id}/preisblatt.csv"),
                    format!("/bekanntmachungen/{id}"),
                    "/protokoll".to_string(),
                    "/verwaltung/postausgang".to_string(),
                ] {
                    let res = client.get(path.clone()).dispatch();
                    let status = res.status();
                    let body = res.into_string().unwrap_or_default();
                    assert_eq!(
                        shows_a_price(&body),
                        None,
                        "{who} read a sealed price at {path} ({status})"
                    );
                    assert!(
                        !body.contains("Systemhaus Test GmbH (Fassung"),
                        "{who} read a sealed bid at {path} ({status})"
                    );
                    if path.contains("/angebote") {
                        assert!(
                            status == Status::Forbidden || status == Status::NotFound,
                            "{who} {path}: {status}"
                        );
                    }
                }
            }
        }
        // Who bid does not show in the admin's outbox or the audit trail before opening.
        app.state.clock.set((deadline - Duration::days(1)).and_utc());
        let admin = browser(&app, "admin");
        let outbox_page = admin.get("/verwaltung/postausgang").dispatch().into_string().unwrap();
        assert!(!outbox_page.contains("Eingangsbest"), "receipt subject hidden");
        assert!(outbox_page.contains("Bieter (verschlossen bis zur Öffnung)"));
        let audit_page = admin.get("/protokoll").dispatch().into_string().unwrap();
        assert!(
            audit_page.contains("Ausschreibung veröffentlicht"),
            "other events still listed"
        );
        assert!(
            !audit_page.contains("Bieter (verschlossen"),
            "bid events hidden until opening"
        );
        let start_page = browser(&app, "board").get("/").dispatch().into_string().unwrap();
        assert!(!start_page.contains("Bieter (verschlossen"));
        // Officers see the number of bids, not who bid.
        let page = browser(&app, "officer")
            .get(format!("/ausschreibungen/{id}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("Eingegangene Angebote: 1"));
        assert!(!page.contains("Systemhaus Test GmbH"), "bidder's name is sealed too");
        // Neither the audit trail nor any mail in the outbox holds a price.
        let details: Vec<String> = audit_events::table
            .select(audit_events::details)
            .load(&mut *app.conn())
            .unwrap();
        // (They hold the receipt hash, 64 random hex digits: with "777" and "133" as the prices,
        // about one run in 33 per backend failed here.)
        assert!(details.iter().all(|d| shows_a_price(d).is_none()), "{details:?}");
        let mails: Vec<(String, String)> = outbox::table
            .select((outbox::body_text, outbox::body_html))
            .load(&mut *app.conn())
            .unwrap();
        assert!(mails
            .iter()
            .all(|(t, h)| shows_a_price(t).is_none() && shows_a_price(h).is_none()));
    });
}

#[test]
fn two_different_officers_open_and_the_record_lists_every_receipt() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        second_vendor(&app);
        let (id, positions) = published_tender(&app, &w);
        let vendor = browser(&app, "vendor");
        assert_eq!(bid(&vendor, id, &positions, "800", "150").0, Status::SeeOther);
        let first = receipt_of(&vendor, id);
        let rival = app.client();
        assert_eq!(login(&rival, "vendor2@test.example"), Status::SeeOther);
        assert_eq!(bid(&rival, id, &positions, "780,5", "155").0, Status::SeeOther);
        let second = receipt_of(&rival, id);

        let officer = browser(&app, "officer");
        let (status, body) = post(&officer, &format!("/ausschreibungen/{id}/oeffnung"), &[]);
        assert_eq!(status, Status::Conflict, "not before the deadline");
        assert!(body.contains("erst nach Ablauf"), "{body}");

        let deadline = tender::find(&mut app.conn(), id).unwrap().bid_deadline;
        app.state.clock.set((deadline + Duration::minutes(5)).and_utc());
        let (officer, officer2, vendor) = (
            browser(&app, "officer"),
            browser(&app, "officer2"),
            browser(&app, "vendor"),
        );
        let (status, _) = post(&officer, &format!("/ausschreibungen/{id}/oeffnung"), &[]);
        assert_eq!(status, Status::SeeOther);
        // The same officer cannot confirm alone; the bids stay sealed.
        let (status, body) = post(&officer, &format!("/ausschreibungen/{id}/oeffnung/bestaetigen"), &[]);
        assert_eq!(status, Status::Forbidden);
        assert!(body.contains("zweite, andere Person"), "{body}");
        assert_eq!(
            officer
                .get(format!("/ausschreibungen/{id}/angebote"))
                .dispatch()
                .status(),
            Status::Forbidden
        );
        // Admin and board are not officers.
        for who in ["admin", "board"] {
            let (status, _) = post(
                &browser(&app, who),
                &format!("/ausschreibungen/{id}/oeffnung/bestaetigen"),
                &[],
            );
            assert_eq!(status, Status::Forbidden, "{who}");
        }

        let (status, _) = post(&officer2, &format!("/ausschreibungen/{id}/oeffnung/bestaetigen"), &[]);
        assert_eq!(status, Status::SeeOther);
        let t = tender::find(&mut app.conn(), id).unwrap();
        assert_eq!(t.status.code(), "opened");

        let record = officer
            .get(format!("/ausschreibungen/{id}/oeffnungsprotokoll"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(record.contains(&first) && record.contains(&second));
        assert!(record.contains("Systemhaus Test GmbH") && record.contains("Konkurrenz IT AG"));
        // Lot totals: 15 × 800 = 12 000 ; 15 × 780.50 = 11 707.50 ; 6 × 155 = 930
        assert!(record.contains("12.000,00 €") && record.contains("11.707,50 €") && record.contains("930,00 €"));
        assert!(record.contains("Person officer") && record.contains("Person officer2"));
        use sha2::Digest;
        assert_eq!(
            t.opening_record_sha256.unwrap(),
            hex::encode(sha2::Sha256::digest(record.as_bytes()))
        );

        let bids = officer.get(format!("/ausschreibungen/{id}/angebote")).dispatch();
        assert_eq!(bids.status(), Status::Ok);
        assert!(bids.into_string().unwrap().contains("780,50 €"));
        let board = browser(&app, "board");
        let csv = board.get(format!("/ausschreibungen/{id}/angebote.csv")).dispatch();
        assert_eq!(csv.status(), Status::Ok);
        assert!(csv.into_string().unwrap().contains("780,50"));
        // Admins run the system, not the procurement; other vendors see nothing before award.
        assert_eq!(
            browser(&app, "admin")
                .get(format!("/ausschreibungen/{id}/angebote"))
                .dispatch()
                .status(),
            Status::Forbidden
        );
        assert_eq!(
            vendor
                .get(format!("/ausschreibungen/{id}/angebote"))
                .dispatch()
                .status(),
            Status::NotFound
        );

        let opened: i64 = audit_events::table
            .filter(audit_events::action.eq("tender.opened"))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(opened, 1);
    });
}

#[test]
fn documents_are_checked_by_content_and_published_with_their_hash() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, positions) = closed_call(&app, &w, "800");
        let officer = browser(&app, "officer");
        let (_, location) = post(
            &officer,
            "/ausschreibungen",
            &with_deadline(&app, tender_form(call, &positions), 31),
        );
        let id: TenderId = id_from(&location);
        let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
        let (status, body) = multipart(
            &officer,
            &format!("/ausschreibungen/{id}/unterlagen"),
            &[],
            Some(("Leistungsbeschreibung.pdf", pdf)),
        );
        assert_eq!(status, Status::SeeOther, "{body}");
        // An executable renamed to .pdf, and a PDF renamed to .docx, are refused.
        let (status, body) = multipart(
            &officer,
            &format!("/ausschreibungen/{id}/unterlagen"),
            &[],
            Some(("virus.pdf", b"MZ\x90\x00\x03\x00\x00\x00")),
        );
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("Dateiendung und Inhalt"), "{body}");
        let (status, _) = multipart(
            &officer,
            &format!("/ausschreibungen/{id}/unterlagen"),
            &[],
            Some(("x.docx", pdf)),
        );
        assert_eq!(status, Status::UnprocessableEntity);
        let (status, _) = multipart(
            &browser(&app, "vendor"),
            &format!("/ausschreibungen/{id}/unterlagen"),
            &[],
            Some(("y.pdf", pdf)),
        );
        assert!(
            status == Status::Forbidden || status == Status::NotFound,
            "vendor cannot attach: {status}"
        );
        let docs = tender::documents(&mut app.conn(), id).unwrap();
        assert_eq!(docs.len(), 1);
        use sha2::Digest;
        assert_eq!(docs[0].sha256, hex::encode(sha2::Sha256::digest(pdf)));
        let anonymous = app.client();
        let url = format!("/bekanntmachungen/{id}/unterlagen/{}", docs[0].id);
        assert_eq!(
            anonymous.get(url.clone()).dispatch().status(),
            Status::NotFound,
            "not before publication"
        );
        assert_eq!(
            post(&officer, &format!("/ausschreibungen/{id}/veroeffentlichen"), &[]).0,
            Status::SeeOther
        );
        let res = anonymous.get(url).dispatch();
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.content_type(), Some(ContentType::PDF));
        assert_eq!(res.into_bytes().unwrap(), pdf.to_vec());
        // After publication the documents are frozen.
        let (status, _) = multipart(
            &officer,
            &format!("/ausschreibungen/{id}/unterlagen"),
            &[],
            Some(("neu.pdf", pdf)),
        );
        assert_eq!(status, Status::Conflict);
    });
}

#[test]
fn answers_reach_every_vendor_without_the_askers_name() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        second_vendor(&app);
        let (id, _) = published_tender(&app, &w);
        app.deliver_mail();
        let vendor = browser(&app, "vendor");
        let (status, _) = post(
            &vendor,
            &format!("/ausschreibungen/{id}/fragen"),
            &[("question".into(), "Sind Dockingstationen Teil von Los 1?".into())],
        );
        assert_eq!(status, Status::SeeOther);
        let rival = app.client();
        assert_eq!(login(&rival, "vendor2@test.example"), Status::SeeOther);
        let page = rival
            .get(format!("/ausschreibungen/{id}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(
            !page.contains("Dockingstationen"),
            "unanswered questions stay with the asker"
        );

        let officer = browser(&app, "officer");
        let page = officer
            .get(format!("/ausschreibungen/{id}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("Dockingstationen"));
        let qid = tender::questions(&mut app.conn(), None, id).unwrap();
        assert!(qid.is_empty(), "the public sees only answered questions");
        let all = tender::questions(&mut app.conn(), Some(&current_user(&app, "officer")), id).unwrap();
        let (status, _) = post(
            &officer,
            &format!("/ausschreibungen/{id}/fragen/{}/antwort", all[0].id),
            &[("answer".into(), "Nein, Dockingstationen sind nicht Gegenstand.".into())],
        );
        assert_eq!(status, Status::SeeOther);
        // A vendor cannot answer.
        let (status, _) = post(
            &rival,
            &format!("/ausschreibungen/{id}/fragen/{}/antwort", all[0].id),
            &[("answer".into(), "Doch".into())],
        );
        assert_eq!(status, Status::Forbidden);

        let page = rival
            .get(format!("/ausschreibungen/{id}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("Dockingstationen sind nicht Gegenstand"));
        assert!(!page.contains("Systemhaus Test GmbH"), "asker not named");
        let public = app
            .client()
            .get(format!("/bekanntmachungen/{id}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(public.contains("Dockingstationen sind nicht Gegenstand") && !public.contains("Systemhaus Test GmbH"));
        app.deliver_mail();
        let mails = app.sent_mail();
        for to in ["vendor@test.example", "vendor2@test.example"] {
            let mail = mails
                .iter()
                .find(|(r, body)| r == to && body.contains("Antwort auf eine Bieterfrage"))
                .unwrap_or_else(|| panic!("answer mailed to {to}"));
            assert!(mail.1.contains("Dockingstationen"));
        }
        let rival_mail = mails
            .iter()
            .find(|(r, body)| r == "vendor2@test.example" && body.contains("Antwort auf eine Bieterfrage"))
            .unwrap();
        assert!(
            !rival_mail.1.contains("Systemhaus Test GmbH"),
            "asker not named in the mail"
        );
        // After the deadline nobody answers any more: no one could act on it.
        let (status, _) = post(
            &vendor,
            &format!("/ausschreibungen/{id}/fragen"),
            &[("question".into(), "Noch eine Frage zur Garantie?".into())],
        );
        assert_eq!(status, Status::SeeOther);
        let open_q = tender::questions(&mut app.conn(), Some(&current_user(&app, "officer")), id).unwrap();
        let deadline = tender::find(&mut app.conn(), id).unwrap().bid_deadline;
        app.state.clock.set(deadline.and_utc());
        let late_officer = browser(&app, "officer");
        let (status, body) = post(
            &late_officer,
            &format!("/ausschreibungen/{id}/fragen/{}/antwort", open_q[1].id),
            &[("answer".into(), "Zu spät".into())],
        );
        assert_eq!(status, Status::Conflict);
        assert!(body.contains("bis zum Ablauf der Angebotsfrist"), "{body}");
    });
}
