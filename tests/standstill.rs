//! The § 134 GWB standstill from the sending of each bidder's information, on both backends:
//! a letter queued before midnight and sent after it, a mail that fails, a bidder with no one
//! to mail, the officer's record of a sending by fax or post (page and API), and who may not.

mod common;

use buendel::db::schema::{outbox, users};
use buendel::domain::ids::{AwardId, BidId, LotId, TenderId};
use chrono::{DateTime, TimeZone, Utc};
use common::api::*;
use common::tender_flow::*;
use common::*;
use diesel::prelude::*;
use rocket::http::{Method, Status};
use serde_json::json;

/// An instant given in Berlin local time.
fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Berlin
        .with_ymd_and_hms(y, m, d, h, min, s)
        .unwrap()
        .with_timezone(&Utc)
}

fn s(v: &str) -> String {
    v.to_string()
}

/// An opened tender with our bid scored best and the rival's second; `before_award` runs
/// just before the officer awards lot 1 (through the page) at `at`.
fn awarded(app: &TestApp, at: DateTime<Utc>, before_award: impl FnOnce()) -> (TenderId, LotId, AwardId, BidId) {
    let w = app.world();
    let (tender_id, lots, ours, theirs) = scored_tender(app, &w);
    before_award();
    app.state.clock.set(at);
    let (status, body) = post(
        &browser(app, "officer"),
        &format!("/ausschreibungen/{tender_id}/wertung/zuschlag"),
        &[
            (s("lot_id"), lots[0].to_string()),
            (s("bid_id"), ours.to_string()),
            (s("reason"), s("Höchste Gesamtpunktzahl.")),
        ],
    );
    assert_eq!(status, Status::SeeOther, "{body}");
    let award_id: AwardId = buendel::db::schema::awards::table
        .filter(buendel::db::schema::awards::lot_id.eq(lots[0]))
        .select(buendel::db::schema::awards::id)
        .first(&mut *app.conn())
        .unwrap();
    (tender_id, lots[0], award_id, theirs)
}

fn conclude_at(app: &TestApp, tender_id: TenderId, award_id: AwardId, at: DateTime<Utc>) -> (Status, String) {
    app.state.clock.set(at);
    post(
        &browser(app, "officer"),
        &format!("/ausschreibungen/{tender_id}/wertung/zuschlag/{award_id}/abschluss"),
        &[],
    )
}

fn letter_to_rival(app: &TestApp) -> String {
    outbox::table
        .filter(outbox::recipient.eq("vendor2@test.example"))
        .filter(outbox::subject.like("Information nach § 134 GWB%"))
        .select(outbox::body_text)
        .first(&mut *app.conn())
        .expect("§ 134 letter")
}

#[test]
fn a_letter_queued_before_midnight_and_sent_after_it_states_the_later_dates() {
    each_backend(|b| {
        let app = TestApp::new(b);
        // Decided and queued on Monday 11 January 2027, 23:59:30 in Wiesbaden.
        let (tender_id, _, award_id, _) = awarded(&app, berlin(2027, 1, 11, 23, 59, 30), || {});
        let (status, body) = conclude_at(&app, tender_id, award_id, berlin(2027, 1, 11, 23, 59, 40));
        assert_eq!(status, Status::Conflict);
        assert!(body.contains("Konkurrenz IT AG wartet noch im Postausgang"), "{body}");

        // Sent ten seconds after midnight: the period runs from Tuesday 12 January, day 10 is
        // Friday 22 January, the contract may be concluded from Saturday 23 January.
        app.state.clock.set(berlin(2027, 1, 12, 0, 0, 10));
        assert!(app.deliver_all_mail() >= 1);
        let letter = letter_to_rival(&app);
        assert!(
            letter.contains("mit Ablauf des 22.01.2027") && letter.contains("frühestens am 23.01.2027 geschlossen"),
            "{letter}"
        );
        assert!(!letter.contains("[["), "every date filled in: {letter}");
        // Scores in German notation with the published places (3), not "85.0".
        assert!(
            letter.contains("(Ihre Wertungszahl 85,000, die des Zuschlagsangebots 92,294)"),
            "{letter}"
        );
        // What was sent is what the bidder received.
        let sent = app
            .sent_mail()
            .into_iter()
            .find(|(to, m)| to == "vendor2@test.example" && m.contains("134"))
            .expect("sent through the transport")
            .1;
        assert!(sent.contains("22.01.2027"), "{sent}");

        let (status, body) = conclude_at(&app, tender_id, award_id, berlin(2027, 1, 22, 23, 59, 0));
        assert_eq!(status, Status::Conflict);
        assert!(body.contains("frühestens am 23.01.2027"), "{body}");
        // The tender is known by its award stage now, not as "Angebote geöffnet".
        let page = browser(&app, "officer")
            .get(format!("/ausschreibungen/{tender_id}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("Zuschlagsentscheidung getroffen, Wartefrist"), "{page}");
        let (status, location) = conclude_at(&app, tender_id, award_id, berlin(2027, 1, 23, 0, 1, 0));
        assert_eq!(status, Status::SeeOther, "{location}");
        // One of its two lots concluded: on the list and on the open-data page.
        let list = browser(&app, "officer")
            .get("/ausschreibungen")
            .dispatch()
            .into_string()
            .unwrap();
        assert!(list.contains("Zuschlag teilweise erteilt"), "{list}");
        let api = app.client();
        let token = api_token(&browser(&app, "officer"));
        let (_, tender) = answer(get(&api, &format!("/api/v1/tenders/{tender_id}"), &token));
        assert_eq!(tender["state_label"], "Zuschlag teilweise erteilt", "{tender}");
        let (_, list) = answer(get(&api, "/api/v1/tenders", &token));
        assert_eq!(list[0]["state_label"], "Zuschlag teilweise erteilt");
        let public = app.client().get("/offene-daten").dispatch().into_string().unwrap();
        assert!(
            public.contains("Zuschlag teilweise erteilt") && !public.contains("Angebote geöffnet"),
            "{public}"
        );
    });
}

#[test]
fn a_failed_mail_blocks_the_conclusion_until_the_officer_records_a_fax() {
    each_backend(|b| {
        let app = TestApp::new(b);
        // The rival's address is one no mail server accepts: every attempt fails.
        let (tender_id, _, award_id, rival_bid) = awarded(&app, berlin(2027, 1, 11, 10, 0, 0), || {
            diesel::update(users::table.filter(users::email.eq("vendor2@test.example")))
                .set(users::email.eq("vendor2 at test.example"))
                .execute(&mut *app.conn())
                .unwrap();
        });
        for _ in 0..app.state.config.mail_max_attempts {
            app.deliver_all_mail();
            app.state.clock.advance(chrono::Duration::hours(1));
        }
        let status: String = outbox::table
            .filter(outbox::recipient.eq("vendor2 at test.example"))
            .select(outbox::status)
            .first(&mut *app.conn())
            .unwrap();
        assert_eq!(status, "failed");
        let page = browser(&app, "officer")
            .get(format!("/ausschreibungen/{tender_id}/wertung"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(
            page.contains("E-Mail mit der Information nach § 134 GWB an Konkurrenz IT AG ist fehlgeschlagen")
                && page.contains("Absendung an Konkurrenz IT AG auf anderem Weg eintragen"),
            "{page}"
        );
        // Even a month later, no contract while a bidder was not informed.
        let (status, body) = conclude_at(&app, tender_id, award_id, berlin(2027, 2, 15, 10, 0, 0));
        assert_eq!(status, Status::Conflict);
        assert!(body.contains("ist fehlgeschlagen"), "{body}");

        let path = format!("/ausschreibungen/{tender_id}/wertung/zuschlag/{award_id}/absendung");
        let fax = |date: &str, time: &str| {
            vec![
                (s("bid_id"), rival_bid.to_string()),
                (s("channel"), s("fax")),
                (s("date"), s(date)),
                (s("time"), s(time)),
                (s("note"), s("Fax an 0611 123456, Sendebericht liegt vor")),
            ]
        };
        // Nobody but the officer records a sending.
        for who in ["vendor", "buyer_a", "board", "admin"] {
            let (status, _) = post(&browser(&app, who), &path, &fax("2027-02-15", "09:00"));
            assert_eq!(status, Status::Forbidden, "{who}");
        }
        let officer = browser(&app, "officer");
        // Without a time, and in the future: refused with the field named.
        let (status, body) = post(&officer, &path, &fax("2027-02-15", ""));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("Datum (TT.MM.JJJJ) und Uhrzeit (HH:MM)"), "{body}");
        let (status, body) = post(&officer, &path, &fax("2027-02-16", "09:00"));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("liegt in der Zukunft"), "{body}");
        // Faxed Monday 15 February 2027, 09:00: 10 days, to Thursday 25 February.
        let (status, location) = post(&officer, &path, &fax("2027-02-15", "09:00"));
        assert_eq!(status, Status::SeeOther, "{location}");
        let (status, body) = post(&officer, &path, &fax("2027-02-15", "09:30"));
        assert_eq!(status, Status::Conflict, "recorded once: {body}");
        let page = officer
            .get(format!("/ausschreibungen/{tender_id}/wertung"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(
            page.contains("Fax am 15.02.2027") && page.contains("Fristende 25.02.2027, 24:00 Uhr"),
            "{page}"
        );
        let events: i64 = buendel::db::schema::audit_events::table
            .filter(buendel::db::schema::audit_events::action.eq("award.delivery_recorded"))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(events, 1);
        let (status, _) = conclude_at(&app, tender_id, award_id, berlin(2027, 2, 25, 18, 0, 0));
        assert_eq!(status, Status::Conflict);
        let (status, location) = conclude_at(&app, tender_id, award_id, berlin(2027, 2, 26, 8, 0, 0));
        assert_eq!(status, Status::SeeOther, "{location}");
    });
}

#[test]
fn a_bidder_without_recipient_is_informed_by_post_through_the_api() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let (tender_id, _, award_id, rival_bid) = awarded(&app, berlin(2027, 1, 11, 10, 0, 0), || {
            diesel::update(users::table.filter(users::email.eq("vendor2@test.example")))
                .set(users::active.eq(false))
                .execute(&mut *app.conn())
                .unwrap();
        });
        let api = app.client();
        let officer = api_token(&browser(&app, "officer"));
        let vendor = api_token(&browser(&app, "vendor"));
        let base = format!("/api/v1/tenders/{tender_id}");
        let (status, eval) = answer(get(&api, &format!("{base}/evaluation"), &officer));
        assert_eq!(status, Status::Ok);
        let award = &eval["lots"][0]["award"];
        assert_eq!(award["conclusion_possible_from"], json!(null), "{award}");
        assert_eq!(award["standstill"]["notices"][0]["standstill"]["state"], "no_recipient");
        assert!(
            award["standstill"]["blockers"][0]
                .as_str()
                .unwrap()
                .contains("Konkurrenz IT AG hat keinen aktiven Benutzer"),
            "{award}"
        );

        app.state.clock.set(berlin(2027, 1, 11, 15, 0, 0));
        let deliveries = format!("{base}/awards/{award_id}/deliveries");
        let posted = json!({ "bid_id": rival_bid, "channel": "post", "sent_at": "2027-01-11T14:00:00+01:00",
                             "note": "Einschreiben RR 1234 5678 9DE" });
        let (status, _) = answer(send(&api, Method::Post, &deliveries, &vendor, &posted));
        assert_eq!(status, Status::Forbidden);
        // An unknown way and a time that is no time are named in German.
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &deliveries,
            &officer,
            &json!({ "bid_id": rival_bid, "channel": "brieftaube", "sent_at": "2027-01-11T14:00:00+01:00", "note": "x" }),
        ));
        assert_eq!(status, Status::UnprocessableEntity, "{err}");
        assert!(
            err["fields"]["channel"][0]
                .as_str()
                .unwrap()
                .contains("„brieftaube“ ist nicht erlaubt"),
            "{err}"
        );
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &deliveries,
            &officer,
            &json!({ "bid_id": rival_bid, "channel": "fax", "sent_at": "gestern", "note": "x" }),
        ));
        assert_eq!(status, Status::UnprocessableEntity, "{err}");
        assert!(err["fields"]["sent_at"].is_array(), "{err}");
        let nothing_recorded: Option<String> = buendel::db::schema::award_notices::table
            .filter(buendel::db::schema::award_notices::bid_id.eq(rival_bid))
            .select(buendel::db::schema::award_notices::delivery_channel)
            .first(&mut *app.conn())
            .unwrap();
        assert_eq!(nothing_recorded, None);
        let (status, award) = answer(send(&api, Method::Post, &deliveries, &officer, &posted));
        assert_eq!(status, Status::Created, "{award}");
        let doc: serde_json::Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
        assert_schema(&doc, "AwardDetail", &award);
        // Posted Monday 11 January 2027: 15 days, to Tuesday 26 January; conclusion from the 27th.
        assert_eq!(award["conclusion_possible_from"], "2027-01-27", "{award}");
        let notice = &award["standstill"]["notices"][0];
        assert_eq!(notice["standstill"]["state"], "running");
        assert_eq!(notice["standstill"]["period"]["last_day"], "2027-01-26");
        assert_eq!(notice["delivery"]["channel"], "post");
        assert!(
            notice["explanation"]
                .as_str()
                .unwrap()
                .contains("15 Tage ab dem 12.01.2027"),
            "{notice}"
        );
    });
}

#[test]
fn a_letter_sent_minutes_before_midnight_counts_from_the_day_it_states() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let (tender_id, _, award_id, _) = awarded(&app, berlin(2027, 1, 11, 23, 50, 0), || {});
        // Sent at 23:57: the sender's claim runs past midnight, so the letter names the dates
        // counted from Tuesday 12 January (to Friday 22 January), and the contract waits for them.
        app.state.clock.set(berlin(2027, 1, 11, 23, 57, 0));
        assert!(app.deliver_all_mail() >= 1);
        let letter = letter_to_rival(&app);
        assert!(
            letter.contains("mit Ablauf des 22.01.2027") && letter.contains("frühestens am 23.01.2027"),
            "{letter}"
        );
        let (status, body) = conclude_at(&app, tender_id, award_id, berlin(2027, 1, 22, 9, 0, 0));
        assert_eq!(
            status,
            Status::Conflict,
            "counted from the true day it could be concluded now"
        );
        assert!(body.contains("frühestens am 23.01.2027"), "{body}");
        let (status, location) = conclude_at(&app, tender_id, award_id, berlin(2027, 1, 23, 9, 0, 0));
        assert_eq!(status, Status::SeeOther, "{location}");
    });
}

#[test]
fn recording_a_sending_withdraws_the_letters_still_waiting() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let (tender_id, _, award_id, rival_bid) = awarded(&app, berlin(2027, 1, 11, 10, 0, 0), || {});
        app.state.clock.set(berlin(2027, 1, 11, 11, 0, 0));
        let (status, location) = post(
            &browser(&app, "officer"),
            &format!("/ausschreibungen/{tender_id}/wertung/zuschlag/{award_id}/absendung"),
            &[
                (s("bid_id"), rival_bid.to_string()),
                (s("channel"), s("email")),
                (s("date"), s("11.01.2027")),
                (s("time"), s("10:30")),
                (s("note"), s("Aus dem Postfach vergabe@ an angebote@konkurrenz.example")),
            ],
        );
        assert_eq!(status, Status::SeeOther, "{location}");
        // The queued letter is withdrawn, not sent later with other dates.
        let (status, error): (String, Option<String>) = outbox::table
            .filter(outbox::recipient.eq("vendor2@test.example"))
            .filter(outbox::subject.like("Information nach § 134 GWB%"))
            .select((outbox::status, outbox::last_error))
            .first(&mut *app.conn())
            .unwrap();
        assert_eq!(status, "failed");
        assert!(error.unwrap_or_default().starts_with("Zurückgezogen"));
        app.deliver_all_mail();
        assert!(!app
            .sent_mail()
            .iter()
            .any(|(to, m)| to == "vendor2@test.example" && m.contains("134")));
        // 11 Jan + 10 days = Thursday 21 January; conclusion from Friday 22 January.
        let (status, _) = conclude_at(&app, tender_id, award_id, berlin(2027, 1, 21, 18, 0, 0));
        assert_eq!(status, Status::Conflict);
        let (status, location) = conclude_at(&app, tender_id, award_id, berlin(2027, 1, 22, 8, 0, 0));
        assert_eq!(status, Status::SeeOther, "{location}");
    });
}

#[test]
fn a_letter_being_sent_when_its_decision_is_withdrawn_is_not_tried_again() {
    use buendel::mail::sender;
    each_backend(|b| {
        let app = TestApp::new(b);
        let (tender_id, lot, _, _) = awarded(&app, berlin(2027, 1, 11, 10, 0, 0), || {});
        // Send everything else first, so that the next claim is the § 134 letter.
        app.state.clock.set(berlin(2027, 1, 11, 10, 5, 0));
        let now = app.state.clock.now_naive();
        let letter: buendel::domain::ids::OutboxId = outbox::table
            .filter(outbox::subject.like("Information nach § 134 GWB%"))
            .select(outbox::id)
            .first(&mut *app.conn())
            .unwrap();
        let row = sender::claim(&mut app.conn(), letter, now, "in-flight")
            .unwrap()
            .expect("claimed");
        // Meanwhile the officer cancels the lot.
        let (status, _) = post(
            &browser(&app, "officer"),
            &format!("/ausschreibungen/{tender_id}/aufhebung"),
            &[
                (s("lot_id"), lot.to_string()),
                (s("reason"), s("Kein Bedarf mehr an Notebooks.")),
            ],
        );
        assert_eq!(status, Status::SeeOther);
        // The send fails: the letter is given up, not queued again.
        sender::finish(
            &mut app.conn(),
            &row,
            "in-flight",
            now,
            Err("Zeitüberschreitung".into()),
            8,
        )
        .unwrap();
        let (status, error): (String, Option<String>) = outbox::table
            .find(letter)
            .select((outbox::status, outbox::last_error))
            .first(&mut *app.conn())
            .unwrap();
        assert_eq!(status, "failed");
        assert!(error.unwrap_or_default().starts_with("Zurückgezogen"));
    });
}
