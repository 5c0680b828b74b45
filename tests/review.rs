//! Complaints and review on both backends: a review application bars award and conclusion on
//! every path (page, API, service) until its withdrawal or the appeal period after the decision;
//! a remedied complaint reopens a lot's evaluation and a new § 134 information follows; a
//! rejection names the 15 days of § 160 (3) no. 4 GWB; and who may do none of it.

mod common;

use buendel::auth::CurrentUser;
use buendel::db::schema::{audit_events, awards, outbox};
use buendel::domain::ids::{AwardId, LotId, TenderId};
use chrono::{DateTime, TimeZone, Utc};
use common::api::*;
use common::tender_flow::*;
use common::*;
use diesel::prelude::*;
use rocket::http::{Method, Status};
use serde_json::json;

fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Berlin
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn s(v: &str) -> String {
    v.to_string()
}

fn award_form(lot: LotId, bid: impl ToString) -> Vec<(String, String)> {
    vec![
        (s("lot_id"), lot.to_string()),
        (s("bid_id"), bid.to_string()),
        (s("reason"), s("Höchste Gesamtpunktzahl.")),
    ]
}

fn award_id(app: &TestApp, lot: LotId) -> Option<AwardId> {
    awards::table
        .filter(awards::lot_id.eq(lot))
        .select(awards::id)
        .first(&mut *app.conn())
        .optional()
        .unwrap()
}

fn events(app: &TestApp, action: &str) -> i64 {
    audit_events::table
        .filter(audit_events::action.eq(action))
        .count()
        .get_result(&mut *app.conn())
        .unwrap()
}

fn review_path(id: TenderId) -> String {
    format!("/ausschreibungen/{id}/nachpruefung")
}

fn record_review(
    officer: &rocket::local::blocking::Client,
    id: TenderId,
    lot: Option<LotId>,
    file_number: &str,
    date: &str,
    time: &str,
) -> (Status, String) {
    post(
        officer,
        &review_path(id),
        &[
            (s("chamber"), s("Vergabekammer Hessen")),
            (s("file_number"), s(file_number)),
            (s("lot_id"), lot.map(|l| l.to_string()).unwrap_or_default()),
            (s("date"), s(date)),
            (s("time"), s(time)),
        ],
    )
}

#[test]
fn a_review_application_bars_the_conclusion_on_every_path_until_it_ends() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (id, lots, ours, _) = scored_tender(&app, &w);
        app.state.clock.set(berlin(2027, 2, 1, 11, 0));
        let officer = browser(&app, "officer");
        for lot in &lots {
            let (status, _) = post(
                &officer,
                &format!("/ausschreibungen/{id}/wertung/zuschlag"),
                &award_form(*lot, ours),
            );
            assert_eq!(status, Status::SeeOther);
        }
        let (lot1, lot2) = (award_id(&app, lots[0]).unwrap(), award_id(&app, lots[1]).unwrap());
        app.deliver_all_mail();

        // Two applications notified on 3 February: one on the whole tender, one on lot 1.
        app.state.clock.set(berlin(2027, 2, 3, 9, 0));
        let officer = browser(&app, "officer");
        for who in ["vendor", "buyer_a", "board", "admin"] {
            let (status, _) = record_review(&browser(&app, who), id, None, "69d-VK-1/2027", "2027-02-03", "08:30");
            assert_eq!(status, Status::Forbidden, "{who}");
        }
        let (status, body) = record_review(&officer, id, None, "", "2027-02-03", "");
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(
            body.contains("Aktenzeichen") && body.contains("Uhrzeit (HH:MM)"),
            "{body}"
        );
        let (status, body) = record_review(&officer, id, None, "69d-VK-1/2027", "2027-02-04", "08:30");
        assert_eq!(status, Status::UnprocessableEntity, "in the future: {body}");
        let (status, _) = record_review(&officer, id, None, "69d-VK-1/2027", "2027-02-03", "08:30");
        assert_eq!(status, Status::SeeOther);
        let (status, _) = record_review(&officer, id, Some(lots[0]), "69d-VK-2/2027", "2027-02-03", "08:45");
        assert_eq!(status, Status::SeeOther);
        assert_eq!(events(&app, "review.recorded"), 2);
        let page = officer
            .get(format!("/ausschreibungen/{id}/wertung"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("Zuschlag gesperrt: Nachprüfungsverfahren"), "{page}");

        // After the standstills: the conclusion is refused by page, API and the service.
        app.state.clock.set(berlin(2027, 2, 20, 9, 0));
        let officer = browser(&app, "officer");
        let conclude_page = |award: AwardId| format!("/ausschreibungen/{id}/wertung/zuschlag/{award}/abschluss");
        let (status, body) = post(&officer, &conclude_page(lot1), &[]);
        assert_eq!(status, Status::Conflict);
        assert!(
            body.contains("§ 169 Abs. 1 GWB") && body.contains("Az. 69d-VK-2&#x2F;2027"),
            "{body}"
        );
        let (status, body) = post(&officer, &conclude_page(lot2), &[]);
        assert_eq!(status, Status::Conflict, "the whole tender's application bars lot 2");
        assert!(body.contains("Az. 69d-VK-1&#x2F;2027"), "{body}");
        let api = app.client();
        let token = api_token(&officer);
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &format!("/api/v1/tenders/{id}/awards/{lot1}/conclude"),
            &token,
            &json!({}),
        ));
        assert_eq!(status, Status::Conflict);
        let officer_user: CurrentUser = current_user(&app, "officer");
        let refused = buendel::award::conclude(&mut app.conn(), &app.state, &officer_user, id, lot1);
        assert!(
            matches!(refused, Err(buendel::error::AppError::Conflict(_))),
            "{refused:?}"
        );

        // The whole tender's application is withdrawn: lot 2 may be concluded, lot 1 not yet.
        let (_, reviews) = answer(get(&api, &format!("/api/v1/tenders/{id}/review-applications"), &token));
        let doc: serde_json::Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
        for r in reviews.as_array().unwrap() {
            assert_schema(&doc, "ReviewView", r);
        }
        let (whole, on_lot) = (reviews[0]["id"].as_i64().unwrap(), reviews[1]["id"].as_i64().unwrap());
        assert_eq!(reviews[0]["bars_now"], true);
        let vendor_token = api_token(&browser(&app, "vendor"));
        let (status, _) = answer(get(
            &api,
            &format!("/api/v1/tenders/{id}/review-applications"),
            &vendor_token,
        ));
        assert_eq!(status, Status::Forbidden);
        let steps = |review: i64| format!("/api/v1/tenders/{id}/review-applications/{review}/steps");
        let (status, view) = answer(send(
            &api,
            Method::Post,
            &steps(whole),
            &token,
            &json!({ "step": "withdrawn", "at": "2027-02-19T16:00:00+01:00" }),
        ));
        assert_eq!(status, Status::Ok, "{view}");
        assert_eq!(view["bars_now"], false);
        let (status, location) = post(&officer, &conclude_page(lot2), &[]);
        assert_eq!(status, Status::SeeOther, "{location}");

        // Lot 1: a decision before the appeal step is out of order; the rejecting decision is
        // served Monday 1 March 2027.
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &steps(on_lot),
            &token,
            &json!({ "step": "appeal_filed", "at": "2027-02-19T10:00:00+01:00" }),
        ));
        assert_eq!(status, Status::Conflict);
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &steps(on_lot),
            &token,
            &json!({ "step": "decided_rejected", "at": "morgen" }),
        ));
        assert_eq!(status, Status::UnprocessableEntity, "{err}");
        app.state.clock.set(berlin(2027, 3, 2, 9, 0));
        let token = api_token(&browser(&app, "officer"));
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &steps(on_lot),
            &token,
            &json!({ "step": "decided_rejected", "at": "2027-03-01T10:00:00+01:00" }),
        ));
        assert_eq!(status, Status::Ok);
        // The appeal period ends with Monday 15 March; an appeal the officer does not know of yet
        // would bar to 29 March (Ostermontag) → 30 March, so the bar holds until confirmed.
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &steps(on_lot),
            &token,
            &json!({ "step": "no_appeal", "at": "2027-03-02T09:00:00+01:00" }),
        ));
        assert_eq!(status, Status::Conflict, "no appeal is known only after the period");
        app.state.clock.set(berlin(2027, 3, 16, 9, 0));
        let officer = browser(&app, "officer");
        let (status, body) = post(&officer, &conclude_page(lot1), &[]);
        assert_eq!(status, Status::Conflict);
        assert!(
            body.contains("läuft bis 15.03.2027, 24:00 Uhr") && body.contains("bis einschließlich 30.03.2027"),
            "{body}"
        );
        let (status, _) = post(
            &officer,
            &format!("/ausschreibungen/{id}/nachpruefung/{on_lot}/schritt"),
            &[
                (s("step"), s("no_appeal")),
                (s("date"), s("2027-03-16")),
                (s("time"), s("08:55")),
            ],
        );
        assert_eq!(status, Status::SeeOther);
        let (status, location) = post(&officer, &conclude_page(lot1), &[]);
        assert_eq!(status, Status::SeeOther, "{location}");
        assert_eq!(events(&app, "review.updated"), 3);
    });
}

#[test]
fn a_remedied_complaint_reopens_the_lot_and_a_new_information_follows() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (id, lots, ours, theirs) = scored_tender(&app, &w);
        app.state.clock.set(berlin(2027, 2, 1, 11, 0));
        let officer = browser(&app, "officer");
        let (status, _) = post(
            &officer,
            &format!("/ausschreibungen/{id}/wertung/zuschlag"),
            &award_form(lots[0], ours),
        );
        assert_eq!(status, Status::SeeOther);
        app.deliver_all_mail();

        // The rival files a complaint on lot 1 and gets a receipt number.
        let rival = vendor2_browser(&app);
        let complaint_text = "Die Qualitätspunkte unseres Servicekonzepts sind nicht nachvollziehbar begründet.";
        let complaints = format!("/ausschreibungen/{id}/ruegen");
        let (status, body) = post(
            &rival,
            &complaints,
            &[(s("lot_id"), lots[0].to_string()), (s("text"), s("zu kurz"))],
        );
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("20 bis 8000 Zeichen"), "{body}");
        let (status, location) = post(
            &rival,
            &complaints,
            &[(s("lot_id"), lots[0].to_string()), (s("text"), s(complaint_text))],
        );
        assert_eq!(status, Status::SeeOther, "{location}");
        let receipt: String = outbox::table
            .filter(outbox::recipient.eq("vendor2@test.example"))
            .filter(outbox::subject.like("Eingangsbestätigung Ihrer Rüge RÜ-2027-%"))
            .select(outbox::body_text)
            .first(&mut *app.conn())
            .expect("receipt");
        assert!(receipt.contains(complaint_text), "{receipt}");
        // Nobody else files it, or reads it.
        for who in ["buyer_a", "officer", "board"] {
            let (status, _) = post(&browser(&app, who), &complaints, &[(s("text"), s(complaint_text))]);
            assert_eq!(status, Status::Forbidden, "{who}");
        }
        let other = browser(&app, "vendor")
            .get(&complaints)
            .dispatch()
            .into_string()
            .unwrap();
        assert!(
            !other.contains(complaint_text) && !other.contains("Konkurrenz IT AG"),
            "{other}"
        );
        let page = officer.get(&complaints).dispatch().into_string().unwrap();
        assert!(
            page.contains(complaint_text) && page.contains("von Konkurrenz IT AG"),
            "{page}"
        );

        // The officer remedies it and reopens lot 1: the award decision is withdrawn.
        let api = app.client();
        let vendor_token = api_token(&rival);
        let (_, list) = answer(get(&api, &format!("/api/v1/tenders/{id}/complaints"), &vendor_token));
        let complaint = list[0]["id"].as_i64().unwrap();
        assert_eq!(list[0]["status"], "open");
        let (status, _) = post(
            &browser(&app, "vendor"),
            &format!("{complaints}/{complaint}/antwort"),
            &[
                (s("decision"), s("reopen")),
                (s("reason"), s("Die Bewertung wird neu begründet.")),
            ],
        );
        assert_eq!(status, Status::Forbidden);
        let (status, location) = post(
            &officer,
            &format!("{complaints}/{complaint}/antwort"),
            &[
                (s("decision"), s("reopen")),
                (
                    s("reason"),
                    s("Die Qualitätspunkte werden neu und nachvollziehbar begründet."),
                ),
            ],
        );
        assert_eq!(status, Status::SeeOther, "{location}");
        assert_eq!(award_id(&app, lots[0]), None, "the award decision is withdrawn");
        assert_eq!(events(&app, "award.withdrawn"), 1);
        let told: Vec<String> = outbox::table
            .filter(outbox::subject.like("Zuschlagsentscheidung zurückgenommen:%Los 1"))
            .order(outbox::recipient.asc())
            .select(outbox::recipient)
            .load(&mut *app.conn())
            .unwrap();
        assert_eq!(
            told,
            ["vendor2@test.example", "vendor@test.example"],
            "every bidder of the lot is told"
        );
        let (_, list) = answer(get(&api, &format!("/api/v1/tenders/{id}/complaints"), &vendor_token));
        assert_eq!(list[0]["status"], "remedied");

        // Re-scored: the rival's bid now ranks first and gets the award; our firm is informed.
        buendel::award::score(
            &mut app.conn(),
            &app.state,
            &current_user(&app, "officer"),
            id,
            theirs,
            &[(Some("10".parse().unwrap()), "neu bewertet".into())],
        )
        .unwrap();
        let (status, body) = post(
            &officer,
            &format!("/ausschreibungen/{id}/wertung/zuschlag"),
            &award_form(lots[0], theirs),
        );
        assert_eq!(status, Status::SeeOther, "{body}");
        let letters: Vec<String> = outbox::table
            .filter(outbox::subject.like("Information nach § 134 GWB%Los 1"))
            .order(outbox::id.asc())
            .select(outbox::recipient)
            .load(&mut *app.conn())
            .unwrap();
        assert_eq!(letters, ["vendor2@test.example", "vendor@test.example"]);

        // A second complaint is rejected through the API: the answer names the 15 days.
        let (status, filed) = answer(send(
            &api,
            Method::Post,
            &format!("/api/v1/tenders/{id}/complaints"),
            &vendor_token,
            &json!({ "text": "Die Losaufteilung benachteiligt mittelständische Unternehmen." }),
        ));
        assert_eq!(status, Status::Created, "{filed}");
        let second = filed["id"].as_i64().unwrap();
        assert!(filed["number"].as_str().unwrap().starts_with("RÜ-2027-"));
        let token = api_token(&officer);
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &format!("/api/v1/tenders/{id}/complaints/{second}/answer"),
            &token,
            &json!({ "decision": "vielleicht", "reason": "Die Lose folgen den Fachgebieten." }),
        ));
        assert_eq!(status, Status::UnprocessableEntity, "{err}");
        let (status, answered) = answer(send(
            &api,
            Method::Post,
            &format!("/api/v1/tenders/{id}/complaints/{second}/answer"),
            &token,
            &json!({ "decision": "reject", "reason": "Die Lose folgen den Fachgebieten (§ 97 Abs. 4 GWB)." }),
        ));
        assert_eq!(status, Status::Ok, "{answered}");
        assert_eq!(answered["status"], "rejected");
        let doc: serde_json::Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
        assert_schema(&doc, "ComplaintView", &answered);
        let mail: String = outbox::table
            .filter(outbox::recipient.eq("vendor2@test.example"))
            .filter(outbox::subject.like("Antwort auf Ihre Rüge%"))
            .order(outbox::id.desc())
            .select(outbox::body_text)
            .first(&mut *app.conn())
            .unwrap();
        assert!(
            mail.contains("Wir helfen der Rüge nicht ab")
                && mail.contains("mehr als 15 Kalendertage")
                && mail.contains("§ 160 Abs. 3 Satz 1 Nr. 4 GWB"),
            "{mail}"
        );
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &format!("/api/v1/tenders/{id}/complaints/{second}/answer"),
            &token,
            &json!({ "decision": "remedy", "reason": "Doch abhelfen, bitte." }),
        ));
        assert_eq!(status, Status::Conflict, "answered once");
        assert_eq!(events(&app, "complaint.filed"), 2);
        assert_eq!(events(&app, "complaint.answered"), 2);
    });
}

#[test]
fn the_demo_shows_an_answered_complaint_and_a_tender_in_its_standstill() {
    use buendel::db::schema::{complaints, tenders};
    each_backend(|b| {
        let app = TestApp::new(b);
        buendel::seed::load(&mut app.conn(), &app.state, std::path::Path::new("seed-data")).expect("seed");
        let (tender_id, status): (TenderId, String) = complaints::table
            .inner_join(tenders::table)
            .filter(tenders::title.like("%Drucker%"))
            .select((complaints::tender_id, complaints::status))
            .first(&mut *app.conn())
            .unwrap();
        assert_eq!(status, "rejected");
        let award: buendel::award::Award = awards::table
            .filter(awards::tender_id.eq(tender_id))
            .select(buendel::award::Award::as_select())
            .first(&mut *app.conn())
            .unwrap();
        let standstill = buendel::award::standstill::of(&mut app.conn(), &app.state.config.calendar(), &award).unwrap();
        let today = app
            .state
            .clock
            .now()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .date_naive();
        // Every bidder informed by a sent letter, the standstill still running.
        assert!(standstill.blockers.is_empty(), "{:?}", standstill.blockers);
        assert!(standstill.conclusion_possible_from.unwrap() > today);
        assert!(standstill
            .notices
            .iter()
            .all(|n| n.mails.iter().all(|m| m.sent_at.is_some())));
    });
}
