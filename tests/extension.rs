//! Extending the bid deadline (§ 20 (3) VgV) on both backends: an answer later than six days
//! before the deadline makes the page ask for an extension; the officer extends (page and API),
//! the new deadline must leave six full days after the answer, every vendor is mailed, bids are
//! accepted until the new deadline, and nobody else may extend.

mod common;

use buendel::db::schema::{audit_events, outbox};
use buendel::tender;
use chrono::{DateTime, Duration, Utc};
use common::api::*;
use common::tender_flow::*;
use common::*;
use diesel::prelude::*;
use rocket::http::{Method, Status};
use serde_json::json;

fn s(v: &str) -> String {
    v.to_string()
}

fn berlin_text(t: DateTime<Utc>) -> (String, String) {
    let local = t.with_timezone(&chrono_tz::Europe::Berlin);
    (local.format("%Y-%m-%d").to_string(), local.format("%H:%M").to_string())
}

#[test]
fn a_late_answer_requires_an_extension_that_every_vendor_learns_of() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        second_vendor(&app);
        let (id, positions) = published_tender(&app, &w);
        let deadline = tender::find(&mut app.conn(), id).unwrap().bid_deadline.and_utc();
        let vendor = browser(&app, "vendor");
        let (status, _) = post(
            &vendor,
            &format!("/ausschreibungen/{id}/fragen"),
            &[(s("question"), s("Sind Dockingstationen Teil von Los 1?"))],
        );
        assert_eq!(status, Status::SeeOther);

        // Answered five days before the deadline: too late for it to stand.
        app.state.clock.set(deadline - Duration::days(5));
        let officer = browser(&app, "officer");
        let question = tender::questions(&mut app.conn(), Some(&current_user(&app, "officer")), id).unwrap()[0].id;
        let (status, _) = post(
            &officer,
            &format!("/ausschreibungen/{id}/fragen/{question}/antwort"),
            &[(s("answer"), s("Nein, Dockingstationen sind nicht Gegenstand."))],
        );
        assert_eq!(status, Status::SeeOther);
        let page = officer
            .get(format!("/ausschreibungen/{id}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("§ 20 Abs. 3 Satz 1 Nr. 1 VgV so zu verlängern"), "{page}");

        let path = format!("/ausschreibungen/{id}/frist");
        let form = |new: DateTime<Utc>, reason: &str| {
            let (date, time) = berlin_text(new);
            vec![
                (s("reason"), s(reason)),
                (s("deadline_date"), date),
                (s("deadline_time"), time),
                (
                    s("note"),
                    s("Die Antwort zu Los 1 kam spät; alle sollen sie berücksichtigen können."),
                ),
            ]
        };
        for who in ["vendor", "buyer_a", "board", "admin"] {
            let (status, _) = post(
                &browser(&app, who),
                &path,
                &form(deadline + Duration::days(7), "late_answer"),
            );
            assert_eq!(status, Status::Forbidden, "{who}");
        }
        // Six full days must lie between the answer and the new deadline.
        let (status, body) = post(&officer, &path, &form(deadline + Duration::days(1), "late_answer"));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(
            body.contains("mindestens 6 volle Tage") && body.contains("frühestens am"),
            "{body}"
        );
        let (status, body) = post(&officer, &path, &form(deadline - Duration::days(1), "other"));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("nach der bisherigen liegen"), "{body}");
        let new_deadline = deadline + Duration::days(7);
        let (status, location) = post(&officer, &path, &form(new_deadline, "late_answer"));
        assert_eq!(status, Status::SeeOther, "{location}");
        let stored = tender::find(&mut app.conn(), id).unwrap().bid_deadline.and_utc();
        assert_eq!(stored, new_deadline);
        let mails: Vec<String> = outbox::table
            .filter(outbox::subject.like("Angebotsfrist verlängert:%"))
            .select(outbox::recipient)
            .load(&mut *app.conn())
            .unwrap();
        assert!(
            mails.contains(&s("vendor@test.example")) && mails.contains(&s("vendor2@test.example")),
            "{mails:?}"
        );
        let events: i64 = audit_events::table
            .filter(audit_events::action.eq("tender.deadline_extended"))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(events, 1);
        let page = browser(&app, "vendor")
            .get(format!("/ausschreibungen/{id}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("Verlängerungen der Angebotsfrist"), "{page}");

        // After the old deadline, bids are still accepted until the new one.
        app.state.clock.set(deadline + Duration::hours(1));
        let rival = vendor2_browser(&app);
        let (status, body) = bid(&rival, id, &positions, "780,5", "155");
        assert_eq!(status, Status::SeeOther, "{body}");

        // Through the API: a reason is required; another reason extends again.
        let api = app.client();
        let token = api_token(&browser(&app, "officer"));
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &format!("/api/v1/tenders/{id}/extension"),
            &token,
            &json!({ "bid_deadline": "2027-02-01T12:00:00+01:00", "note": "Wesentliche Änderung der Leistungsbeschreibung." }),
        ));
        assert_eq!(status, Status::UnprocessableEntity, "{err}");
        assert!(err["fields"]["reason"].is_array(), "{err}");
        let vendor_token = api_token(&browser(&app, "vendor"));
        let body = json!({ "bid_deadline": "2027-02-01T12:00:00+01:00", "reason": "documents_changed",
                           "note": "Wesentliche Änderung der Leistungsbeschreibung." });
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &format!("/api/v1/tenders/{id}/extension"),
            &vendor_token,
            &body,
        ));
        assert_eq!(status, Status::Forbidden);
        let (status, extended) = answer(send(
            &api,
            Method::Post,
            &format!("/api/v1/tenders/{id}/extension"),
            &token,
            &body,
        ));
        assert_eq!(status, Status::Ok, "{extended}");
        assert_eq!(extended["extensions"].as_array().unwrap().len(), 2);
        let doc: serde_json::Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
        assert_schema(&doc, "Extended", &extended);
        assert_eq!(extended["extensions"][1]["reason"], "documents_changed");
    });
}
