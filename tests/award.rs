//! Evaluation and award through the pages, on both backends: scores, the weighted ranking
//! computed by hand, § 134 information with the standstill, conclusion into a framework contract,
//! cancellation of a lot, the Vergabevermerk, and who may do none of it.

mod common;

use buendel::db::schema::{awards, contract_members, contract_positions, contracts, outbox};
use buendel::domain::bid::BidStatus;
use buendel::domain::ids::{AwardId, BidId, ContractId, LotId, TenderId, TenderPositionId};
use buendel::domain::money::Amount;
use buendel::domain::standstill;
use buendel::tender;
use chrono::{Duration, NaiveDate};
use common::tender_flow::*;
use common::*;
use diesel::prelude::*;
use rocket::http::Status;
use rocket::local::blocking::Client;

/// An opened tender: vendor bids 800 / 150, vendor2 bids 780,50 / 155 (lots 1 and 2).
fn opened_tender(app: &TestApp, w: &World) -> (TenderId, Vec<TenderPositionId>, Vec<LotId>) {
    second_vendor(app);
    let (id, positions) = published_tender(app, w);
    let vendor = browser(app, "vendor");
    assert_eq!(bid(&vendor, id, &positions, "800", "150").0, Status::SeeOther);
    let rival = vendor2(app);
    assert_eq!(bid(&rival, id, &positions, "780,5", "155").0, Status::SeeOther);
    let deadline = tender::find(&mut app.conn(), id).unwrap().bid_deadline;
    app.state.clock.set((deadline + Duration::minutes(10)).and_utc());
    let officer = browser(app, "officer");
    assert_eq!(
        post(&officer, &format!("/ausschreibungen/{id}/oeffnung"), &[]).0,
        Status::SeeOther
    );
    let officer2 = browser(app, "officer2");
    assert_eq!(
        post(&officer2, &format!("/ausschreibungen/{id}/oeffnung/bestaetigen"), &[]).0,
        Status::SeeOther
    );
    let lots = tender::lots(&mut app.conn(), id)
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    (id, positions, lots)
}

fn vendor2(app: &TestApp) -> Client {
    let c = app.client();
    assert_eq!(login(&c, "vendor2@test.example"), Status::SeeOther);
    c
}

fn bid_id_of(app: &TestApp, tender_id: TenderId, vendor_name: &str) -> BidId {
    use buendel::db::schema::{bids, organisations};
    bids::table
        .inner_join(organisations::table)
        .filter(bids::tender_id.eq(tender_id))
        .filter(bids::status.eq(BidStatus::Submitted))
        .filter(organisations::name.eq(vendor_name))
        .select(bids::id)
        .first(&mut *app.conn())
        .unwrap()
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn weighted_evaluation_award_standstill_and_contract() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (id, _, lots) = opened_tender(&app, &w);
        let officer = browser(&app, "officer");
        let page = officer.get(format!("/ausschreibungen/{id}/wertung")).dispatch();
        assert_eq!(page.status(), Status::Ok);
        let page = page.into_string().unwrap();
        assert!(
            page.contains("Bewertung fehlt") && page.contains("noch nicht vollständig bewertet"),
            "{page}"
        );

        let ours = bid_id_of(&app, id, "Systemhaus Test GmbH");
        let theirs = bid_id_of(&app, id, "Konkurrenz IT AG");
        // Award refused while the quality scores are missing.
        let (status, body) = post(
            &officer,
            &format!("/ausschreibungen/{id}/wertung/zuschlag"),
            &[
                (s("lot_id"), lots[0].to_string()),
                (s("bid_id"), ours.to_string()),
                (s("reason"), s("wirtschaftlichstes Angebot")),
            ],
        );
        assert_eq!(status, Status::Conflict);
        assert!(body.contains("noch nicht vollständig bewertet"), "{body}");

        // A score above 10 is refused and nothing is stored.
        let (status, body) = post(
            &officer,
            &format!("/ausschreibungen/{id}/wertung/angebot/{ours}/bewertung"),
            &[(s("score_1"), s("11")), (s("reason_1"), s("sehr gut"))],
        );
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(body.contains("zwischen 0 und 10"), "{body}");
        for (bid, score) in [(ours, "8"), (theirs, "5")] {
            let (status, body) = post(
                &officer,
                &format!("/ausschreibungen/{id}/wertung/angebot/{bid}/bewertung"),
                &[(s("score_1"), s(score)), (s("reason_1"), s("Konzept geprüft"))],
            );
            assert_eq!(status, Status::SeeOther, "{body}");
        }
        // By hand, lot 1 (70 % price, 30 % quality, quotient, 100 points, 3 places):
        // ours 12 000 € → pp 100 × 11 707,50 / 12 000 = 97,5625; qp 80 → 68,29375 + 24 = 92,29375 → 92,294
        // theirs 11 707,50 € → pp 100; qp 50 → 70 + 15 = 85,000
        let page = officer
            .get(format!("/ausschreibungen/{id}/wertung"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(page.contains("92,294") && page.contains("85,000"), "{page}");

        // The board reads but does not decide; vendors and buyers see nothing.
        let board = browser(&app, "board");
        assert_eq!(
            board.get(format!("/ausschreibungen/{id}/wertung")).dispatch().status(),
            Status::Ok
        );
        let (status, _) = post(
            &board,
            &format!("/ausschreibungen/{id}/wertung/zuschlag"),
            &[
                (s("lot_id"), lots[0].to_string()),
                (s("bid_id"), ours.to_string()),
                (s("reason"), s("x x x")),
            ],
        );
        assert_eq!(status, Status::Forbidden);
        for who in ["vendor", "buyer_a"] {
            let c = browser(&app, who);
            assert_eq!(
                c.get(format!("/ausschreibungen/{id}/wertung")).dispatch().status(),
                Status::NotFound,
                "{who}"
            );
            let (status, _) = post(
                &c,
                &format!("/ausschreibungen/{id}/wertung/angebot/{ours}/bewertung"),
                &[(s("score_1"), s("10")), (s("reason_1"), s("selbst bewertet"))],
            );
            assert_eq!(status, Status::Forbidden, "{who}");
        }
        // Not the second-ranked bid.
        let (status, _) = post(
            &officer,
            &format!("/ausschreibungen/{id}/wertung/zuschlag"),
            &[
                (s("lot_id"), lots[0].to_string()),
                (s("bid_id"), theirs.to_string()),
                (s("reason"), s("lieber die")),
            ],
        );
        assert_eq!(status, Status::Conflict);

        let (status, location) = post(
            &officer,
            &format!("/ausschreibungen/{id}/wertung/zuschlag"),
            &[
                (s("lot_id"), lots[0].to_string()),
                (s("bid_id"), ours.to_string()),
                (
                    s("reason"),
                    s("Höchste Gesamtpunktzahl nach den veröffentlichten Kriterien."),
                ),
            ],
        );
        assert_eq!(status, Status::SeeOther, "{location}");
        let today = app
            .state
            .clock
            .now()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .date_naive();
        let last = standstill::last_day(today, true, holiday_de::GermanRegion::Hessen);
        let (award_id, stored_last): (AwardId, NaiveDate) = awards::table
            .filter(awards::lot_id.eq(lots[0]))
            .select((awards::id, awards::standstill_last_day))
            .first(&mut *app.conn())
            .unwrap();
        assert_eq!(stored_last, last);
        // § 134: the other bidder learns the winner, its own rank and the reason.
        let info: String = outbox::table
            .filter(outbox::recipient.eq("vendor2@test.example"))
            .filter(outbox::subject.like("Information nach § 134 GWB%"))
            .select(outbox::body_text)
            .first(&mut *app.conn())
            .expect("§ 134 information mailed");
        assert!(
            info.contains("Systemhaus Test GmbH")
                && info.contains("Rang 2 von 2")
                && info.contains("Höchste Gesamtpunktzahl"),
            "{info}"
        );

        // Not while the information waits in the outbox: the standstill runs from its sending.
        let (status, body) = post(
            &officer,
            &format!("/ausschreibungen/{id}/wertung/zuschlag/{award_id}/abschluss"),
            &[],
        );
        assert_eq!(status, Status::Conflict);
        assert!(body.contains("Konkurrenz IT AG wartet noch im Postausgang"), "{body}");
        app.deliver_all_mail();

        // Not before the standstill has run out.
        let (status, body) = post(
            &officer,
            &format!("/ausschreibungen/{id}/wertung/zuschlag/{award_id}/abschluss"),
            &[],
        );
        assert_eq!(status, Status::Conflict);
        assert!(body.contains("Wartefrist"), "{body}");
        app.state.clock.set(
            (last + Duration::days(1))
                .and_hms_opt(8, 0, 0)
                .unwrap()
                .and_local_timezone(chrono_tz::Europe::Berlin)
                .unwrap()
                .with_timezone(&chrono::Utc),
        );
        let officer = browser(&app, "officer");
        let (status, location) = post(
            &officer,
            &format!("/ausschreibungen/{id}/wertung/zuschlag/{award_id}/abschluss"),
            &[],
        );
        assert_eq!(status, Status::SeeOther, "{location}");
        let contract_id: ContractId = location.rsplit('/').next().unwrap().parse().unwrap();
        let (max_value, sha, document): (Amount, String, String) = contracts::table
            .find(contract_id)
            .select((contracts::max_value, contracts::document_sha256, contracts::document))
            .first(&mut *app.conn())
            .unwrap();
        // Lot 1: maximum 18 notebooks × 800 € = 14 400 €.
        assert_eq!(max_value.to_decimal().to_string(), "14400.00");
        use sha2::Digest;
        assert_eq!(sha, hex::encode(sha2::Sha256::digest(document.as_bytes())));
        let positions: i64 = contract_positions::table
            .filter(contract_positions::contract_id.eq(contract_id))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(positions, 1);
        let members: i64 = contract_members::table
            .filter(contract_members::contract_id.eq(contract_id))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(members, 2);
        let doc = officer
            .get(format!("/vertraege/{contract_id}"))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(
            doc.contains("14.400,00 €") && doc.contains("Stadt Adorf") && doc.contains("800,00 €"),
            "{doc}"
        );
        // The winner and entitled buyers see the contract; the other vendor does not.
        assert_eq!(
            browser(&app, "vendor")
                .get(format!("/vertraege/{contract_id}"))
                .dispatch()
                .status(),
            Status::Ok
        );
        assert_eq!(
            browser(&app, "buyer_a")
                .get(format!("/vertraege/{contract_id}"))
                .dispatch()
                .status(),
            Status::Ok
        );
        assert_eq!(
            vendor2(&app)
                .get(format!("/vertraege/{contract_id}"))
                .dispatch()
                .status(),
            Status::NotFound
        );
        let letter: String = outbox::table
            .filter(outbox::recipient.eq("vendor@test.example"))
            .filter(outbox::subject.like("Zuschlag:%"))
            .select(outbox::body_text)
            .first(&mut *app.conn())
            .expect("award letter");
        assert!(letter.contains(&sha));

        // Lot 2 is cancelled: its bidders are told why.
        let (status, _) = post(
            &officer,
            &format!("/ausschreibungen/{id}/aufhebung"),
            &[
                (s("lot_id"), lots[1].to_string()),
                (s("reason"), s("Kein Bedarf mehr an Monitoren.")),
            ],
        );
        assert_eq!(status, Status::SeeOther);
        let cancelled: i64 = outbox::table
            .filter(outbox::subject.like("Aufhebung:%"))
            .count()
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(cancelled, 2);
        // A concluded lot cannot be cancelled any more.
        let (status, _) = post(
            &officer,
            &format!("/ausschreibungen/{id}/aufhebung"),
            &[(s("lot_id"), lots[0].to_string()), (s("reason"), s("doch nicht"))],
        );
        assert_eq!(status, Status::Conflict);

        let record = officer.get(format!("/ausschreibungen/{id}/vergabevermerk")).dispatch();
        assert_eq!(record.status(), Status::Ok);
        let record = record.into_string().unwrap();
        for needle in [
            "Angebote geöffnet",
            "Angebot bewertet",
            "Zuschlagsentscheidung, Bieter informiert",
            "Rahmenvereinbarung geschlossen",
            "Los aufgehoben",
            "Kein Bedarf mehr an Monitoren",
        ] {
            assert!(record.contains(needle), "Vergabevermerk lacks {needle}");
        }
        let csv = officer
            .get(format!(
                "/ausschreibungen/{id}/wertung/los/{}/preisspiegel.csv",
                lots[0]
            ))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(
            csv.contains("Systemhaus Test GmbH: Einzelpreis") && csv.contains("800,00") && csv.contains("790,25"),
            "{csv}"
        );
        let sheet = officer
            .get(format!("/ausschreibungen/{id}/wertung/los/{}", lots[0]))
            .dispatch()
            .into_string()
            .unwrap();
        assert!(sheet.contains("2,50 %"), "deviation of 12 000 from 11 707,50: {sheet}");
        let _ = tender::find(&mut app.conn(), id).unwrap();
    });
}
