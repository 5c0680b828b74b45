//! Evaluation and award through the JSON API, on both backends: the officer scores, ranks,
//! awards with § 134 information, concludes after the standstill into a framework contract, and
//! cancels a lot; exclusions, § 60 reviews and tie decisions; nobody else decides anything, bad
//! input gets German errors and never a 500, and every answer carries only documented fields.

mod common;

use buendel::domain::ids::BidId;
use buendel::domain::standstill;
use chrono::Duration;
use common::api::*;
use common::tender_flow::*;
use common::*;
use rocket::http::{ContentType, Method, Status};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::str::FromStr;

/// The tokens of the world's users (and of the second vendor), by key.
struct Tokens {
    officer: String,
    admin: String,
    board: String,
    buyer: String,
    vendor: String,
    vendor2: String,
}

fn tokens(app: &TestApp) -> Tokens {
    let t = |key: &str| api_token(&browser(app, key));
    Tokens {
        officer: t("officer"),
        admin: t("admin"),
        board: t("board"),
        buyer: t("buyer_a"),
        vendor: t("vendor"),
        vendor2: api_token(&vendor2_browser(app)),
    }
}

// ----------------------------------------------------------------------------- tests

/// Lot 1 (15 notebooks, maximum 18): vendor 800 € → 12 000 €, vendor2 780,50 € → 11 707,50 €.
/// Lot 2 (6 monitors): vendor 150 € → 900 €, vendor2 155 € → 930 €.
#[test]
fn officer_scores_awards_and_concludes_through_the_api() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (id, _, lots) = opened_with_bids(&app, &w, ("800", "150"), ("780,5", "155"));
        let tk = tokens(&app);
        let api = app.client();
        let doc: Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
        let ours = submitted_bid_id(&app, id, "Systemhaus Test GmbH");
        let theirs = submitted_bid_id(&app, id, "Konkurrenz IT AG");
        let base = format!("/api/v1/tenders/{id}");

        // The evaluation: both lots, nothing scored yet.
        let (status, eval) = answer(get(&api, &format!("{base}/evaluation"), &tk.officer));
        assert_eq!(status, Status::Ok, "{eval}");
        assert_documented(&doc, "/tenders/{id}/evaluation", "get", "200", &eval);
        assert_eq!(eval["evaluation"]["method"], "weighted");
        assert_eq!(eval["lots"].as_array().unwrap().len(), 2);
        let lot1 = &eval["lots"][0];
        assert_eq!(lot1["lot"]["id"], lots[0].get());
        assert_eq!(lot1["bids"].as_array().unwrap().len(), 2);
        assert_eq!(lot1["bids"][0]["total"], "12000.00");
        assert_eq!(lot1["bids"][0]["scores"][0]["criterion"], "Servicekonzept");
        assert!(lot1["bids"][0]["scores"][0]["score"].is_null());
        assert!(lot1["award"].is_null());
        assert!(
            lot1["blockers"].to_string().contains("noch nicht vollständig bewertet"),
            "{lot1}"
        );
        // The board reads; the admin, vendors and buyers do not.
        assert_eq!(get(&api, &format!("{base}/evaluation"), &tk.board).status(), Status::Ok);
        assert_eq!(
            get(&api, &format!("{base}/evaluation"), &tk.admin).status(),
            Status::Forbidden
        );
        for token in [&tk.vendor, &tk.vendor2, &tk.buyer] {
            assert_eq!(
                get(&api, &format!("{base}/evaluation"), token).status(),
                Status::NotFound
            );
        }

        // The price comparison, as JSON and as CSV.
        let path = format!("{base}/lots/{}/price-comparison", lots[0]);
        let (status, sheet) = answer(get(&api, &path, &tk.officer));
        assert_eq!(status, Status::Ok, "{sheet}");
        assert_documented(&doc, "/tenders/{id}/lots/{lot}/price-comparison", "get", "200", &sheet);
        assert_eq!(sheet["bidders"].as_array().unwrap().len(), 2);
        let row = &sheet["rows"][0];
        assert_eq!(dec(&row["cells"][0]["unit_price"]), Decimal::from(800));
        assert_eq!(dec(&row["cells"][0]["line_total"]), Decimal::from(12000));
        assert_eq!(dec(&row["mean_price"]), Decimal::from_str("790.25").unwrap());
        assert_eq!(dec(&row["min_price"]), Decimal::from_str("780.5").unwrap());
        assert_eq!(
            dec(&sheet["bidders"][0]["deviation_from_lowest"]),
            Decimal::from_str("2.5").unwrap()
        );
        let res = get(&api, &format!("{path}.csv"), &tk.board);
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.content_type().unwrap().sub(), "csv");
        let csv = res.into_string().unwrap();
        assert!(
            csv.contains("Systemhaus Test GmbH: Einzelpreis") && csv.contains("790,25"),
            "{csv}"
        );
        assert_eq!(get(&api, &format!("{path}.csv"), &tk.vendor).status(), Status::NotFound);
        // Unknown lots, bids, awards and tenders are 404, never 500.
        for path in [
            format!("{base}/lots/999999/price-comparison"),
            format!("{base}/lots/999999/price-comparison.csv"),
            "/api/v1/tenders/999999/evaluation".to_string(),
            "/api/v1/tenders/999999/procurement-record".to_string(),
            "/api/v1/contracts/999999".to_string(),
            "/api/v1/contracts/999999/document".to_string(),
            format!("{base}/lots/abc/price-comparison"),
        ] {
            let (status, err) = answer(get(&api, &path, &tk.officer));
            assert_eq!(status, Status::NotFound, "{path}: {err}");
        }
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &format!("{base}/lots/999999/award"),
            &tk.officer,
            &json!({ "bid_id": ours, "reason": "bestes Angebot" }),
        ));
        assert_eq!(status, Status::NotFound);
        let (status, _) = answer(send(
            &api,
            Method::Put,
            &format!("{base}/bids/999999/scores"),
            &tk.officer,
            &json!({ "scores": [{ "score": "5", "reason": "Konzept geprüft" }] }),
        ));
        assert_eq!(status, Status::NotFound);

        // No award while the quality scores are missing.
        let award_path = format!("{base}/lots/{}/award", lots[0]);
        let award_body =
            json!({ "bid_id": ours, "reason": "Höchste Gesamtpunktzahl nach den veröffentlichten Kriterien." });
        let (status, err) = answer(send(&api, Method::Post, &award_path, &tk.officer, &award_body));
        assert_eq!(status, Status::Conflict);
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("noch nicht vollständig bewertet"),
            "{err}"
        );

        // Scores: above 10 refused in German, numbers refused, nothing stored.
        let scores_path = |bid: BidId| format!("{base}/bids/{bid}/scores");
        let (status, err) = answer(send(
            &api,
            Method::Put,
            &scores_path(ours),
            &tk.officer,
            &json!({ "scores": [{ "score": "11", "reason": "sehr gut" }] }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        let message = err["fields"]["scores"][0].as_str().unwrap();
        assert!(message.contains("zwischen 0 und 10"), "{err}");
        let (status, err) = answer(send(
            &api,
            Method::Put,
            &scores_path(ours),
            &tk.officer,
            &json!({ "scores": [{ "score": 7.5, "reason": "sehr gut" }] }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err.to_string().contains("Zeichenkette"), "{err}");
        let (status, err) = answer(send(
            &api,
            Method::Put,
            &scores_path(ours),
            &tk.officer,
            &json!({ "scores": [{ "score": "7.5" }] }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err.to_string().contains("begründen"), "{err}");
        let (status, err) = answer(send(
            &api,
            Method::Put,
            &scores_path(ours),
            &tk.officer,
            &json!({ "scores": [{ "score": "5", "reason": "gut" }, { "score": "5", "reason": "gut" }] }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err.to_string().contains("1 B-Kriterien"), "{err}");
        let res = api
            .put(scores_path(ours))
            .header(bearer(&tk.officer))
            .header(ContentType::JSON)
            .body("{\"scores\": [")
            .dispatch();
        let (status, err) = answer(res);
        assert_eq!(status, Status::BadRequest);
        assert!(err["message"].as_str().unwrap().contains("Ungültiges JSON"), "{err}");
        let (_, eval) = answer(get(&api, &format!("{base}/evaluation"), &tk.officer));
        assert!(eval["lots"][0]["bids"][0]["scores"][0]["score"].is_null());
        // Only the officer scores.
        for token in [&tk.vendor, &tk.vendor2, &tk.buyer, &tk.board, &tk.admin] {
            let res = send(
                &api,
                Method::Put,
                &scores_path(ours),
                token,
                &json!({ "scores": [{ "score": "10", "reason": "selbst bewertet" }] }),
            );
            assert!(
                matches!(res.status(), Status::Forbidden | Status::NotFound),
                "{}",
                res.status()
            );
        }

        // Plain notation: a decimal comma is refused.
        let (status, err) = answer(send(
            &api,
            Method::Put,
            &scores_path(theirs),
            &tk.officer,
            &json!({ "scores": [{ "score": "5,0", "reason": "Konzept geprüft" }] }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(
            err["fields"]["scores"][0]
                .as_str()
                .unwrap()
                .contains("Schreibweise der API"),
            "{err}"
        );
        for (bid, score) in [(ours, "8.0"), (theirs, "5.0")] {
            let (status, eval) = answer(send(
                &api,
                Method::Put,
                &scores_path(bid),
                &tk.officer,
                &json!({ "scores": [{ "score": score, "reason": "Konzept geprüft" }] }),
            ));
            assert_eq!(status, Status::Ok, "{eval}");
            assert_documented(&doc, "/tenders/{id}/bids/{bid}/scores", "put", "200", &eval);
        }
        // By hand (see tests/award.rs): ours 92,294 points, theirs 85,000.
        let (_, eval) = answer(get(&api, &format!("{base}/evaluation"), &tk.officer));
        let lot1 = &eval["lots"][0];
        assert_eq!(lot1["ranking"][0]["bid_id"], ours.get());
        assert_eq!(dec(&lot1["ranking"][0]["score"]), Decimal::from_str("92.294").unwrap());
        assert_eq!(lot1["ranking"][1]["bid_id"], theirs.get());
        assert_eq!(dec(&lot1["ranking"][1]["score"]), Decimal::from(85));
        assert_eq!(lot1["ranking"][1]["rank"], 2);
        assert_eq!(dec(&lot1["bids"][0]["scores"][0]["score"]), Decimal::from(8));
        assert_eq!(lot1["proposed_bid_id"], ours.get());
        assert_eq!(lot1["blockers"], json!([]));

        // Nobody but the officer awards, and only the best-ranked bid.
        for token in [&tk.vendor, &tk.buyer, &tk.board, &tk.admin] {
            let res = send(&api, Method::Post, &award_path, token, &award_body);
            assert!(
                matches!(res.status(), Status::Forbidden | Status::NotFound),
                "{}",
                res.status()
            );
        }
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &award_path,
            &tk.officer,
            &json!({ "bid_id": theirs, "reason": "lieber die" }),
        ));
        assert_eq!(status, Status::Conflict, "{err}");
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &award_path,
            &tk.officer,
            &json!({ "reason": "ohne Angebot" }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err["fields"]["bid_id"].is_array(), "{err}");
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &award_path,
            &tk.officer,
            &json!({ "bid_id": ours, "reason": "x" }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err["fields"]["reason"].is_array(), "{err}");

        let res = send(&api, Method::Post, &award_path, &tk.officer, &award_body);
        assert_eq!(res.status(), Status::Created);
        assert_eq!(
            res.headers().get_one("Location"),
            Some(format!("{base}/evaluation").as_str())
        );
        let (_, awarded) = answer(res);
        assert_documented(&doc, "/tenders/{id}/lots/{lot}/award", "post", "201", &awarded);
        let today = app
            .state
            .clock
            .now()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .date_naive();
        let last = standstill::last_day(today, true, holiday_de::GermanRegion::Hessen);
        assert_eq!(awarded["standstill_last_day"], last.to_string());
        // The information waits in the outbox: no standstill runs yet.
        assert_eq!(awarded["conclusion_possible_from"], Value::Null, "{awarded}");
        assert_eq!(awarded["standstill"]["notices"][0]["standstill"]["state"], "waiting");
        assert_eq!(awarded["status"], "informed");
        assert_eq!(awarded["bid_id"], ours.get());
        let award_id = awarded["id"].as_i64().unwrap();
        // Decided: no more exclusions, scores or a second award on this lot.
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &format!("{base}/lots/{}/exclusions", lots[0]),
            &tk.officer,
            &json!({ "bid_id": theirs, "kind": "other", "reason": "zu spät bemerkt" }),
        ));
        assert_eq!(status, Status::Conflict, "{err}");
        assert_eq!(
            send(&api, Method::Post, &award_path, &tk.officer, &award_body).status(),
            Status::Conflict
        );
        let (_, eval) = answer(get(&api, &format!("{base}/evaluation"), &tk.board));
        assert_documented(&doc, "/tenders/{id}/evaluation", "get", "200", &eval);
        assert_eq!(eval["lots"][0]["award"]["id"], award_id);

        // Sent on the day of the decision: the standstill runs from the next day.
        app.deliver_all_mail();
        let (_, eval) = answer(get(&api, &format!("{base}/evaluation"), &tk.officer));
        // The running standstill with its counting is documented as it is answered.
        assert_documented(&doc, "/tenders/{id}/evaluation", "get", "200", &eval);
        assert_schema(&doc, "Evaluation", &eval);
        assert_eq!(
            eval["lots"][0]["award"]["conclusion_possible_from"],
            (last + Duration::days(1)).to_string(),
            "{eval}"
        );
        // Not before the standstill has run out, and only by the officer.
        let conclude = format!("{base}/awards/{award_id}/conclude");
        let (status, err) = answer(send(&api, Method::Post, &conclude, &tk.officer, &json!({})));
        assert_eq!(status, Status::Conflict);
        assert!(err["message"].as_str().unwrap().contains("Wartefrist"), "{err}");
        app.state.clock.set(
            (last + Duration::days(1))
                .and_hms_opt(8, 0, 0)
                .unwrap()
                .and_local_timezone(chrono_tz::Europe::Berlin)
                .unwrap()
                .with_timezone(&chrono::Utc),
        );
        for token in [&tk.vendor, &tk.buyer, &tk.board, &tk.admin] {
            let res = send(&api, Method::Post, &conclude, token, &json!({}));
            assert!(
                matches!(res.status(), Status::Forbidden | Status::NotFound),
                "{}",
                res.status()
            );
        }
        assert_eq!(
            send(
                &api,
                Method::Post,
                &format!("{base}/awards/999999/conclude"),
                &tk.officer,
                &json!({})
            )
            .status(),
            Status::NotFound
        );
        let res = send(&api, Method::Post, &conclude, &tk.officer, &json!({}));
        assert_eq!(res.status(), Status::Created);
        let location = res.headers().get_one("Location").unwrap().to_string();
        let (_, contract) = answer(res);
        assert_documented(&doc, "/tenders/{id}/awards/{award}/conclude", "post", "201", &contract);
        let contract_id = contract["id"].as_i64().unwrap();
        assert_eq!(location, format!("/api/v1/contracts/{contract_id}"));
        assert!(contract["number"].as_str().unwrap().starts_with("RV-"), "{contract}");
        assert!(contract.get("document").is_none());
        // Maximum 18 notebooks × 800 € = 14 400 €.
        assert_eq!(contract["max_value"], "14400.00");
        assert_eq!(contract["vendor"], "Systemhaus Test GmbH");
        assert_eq!(contract["term_start"], (last + Duration::days(1)).to_string());
        let positions = contract["positions"].as_array().unwrap();
        assert_eq!(positions.len(), 1);
        assert_eq!(dec(&positions[0]["unit_price"]), Decimal::from(800));
        assert_eq!(dec(&positions[0]["max_quantity"]), Decimal::from(18));
        assert_eq!(positions[0]["max_value"], "14400.00");
        let members: Vec<&str> = contract["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(members, ["Stadt Adorf", "Stadt Bedorf"]);
        let (status, err) = answer(send(&api, Method::Post, &conclude, &tk.officer, &json!({})));
        assert_eq!(status, Status::Conflict, "{err}");

        // The contract and its document: the cooperative, the winner, entitled buyers.
        for token in [&tk.officer, &tk.board, &tk.vendor, &tk.buyer] {
            let (status, seen) = answer(get(&api, &location, token));
            assert_eq!(status, Status::Ok);
            assert_documented(&doc, "/contracts/{id}", "get", "200", &seen);
            assert_eq!(seen, contract);
        }
        assert_eq!(get(&api, &location, &tk.vendor2).status(), Status::NotFound);
        let res = get(&api, &format!("{location}/document"), &tk.vendor);
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.content_type(), Some(ContentType::HTML));
        let document = res.into_string().unwrap();
        assert_eq!(
            contract["document_sha256"],
            hex::encode(Sha256::digest(document.as_bytes()))
        );
        assert!(document.contains("14.400,00 €"), "{document}");
        assert_eq!(
            get(&api, &format!("{location}/document"), &tk.vendor2).status(),
            Status::NotFound
        );

        // Lot 2 is cancelled; the concluded lot 1 cannot be.
        let cancel = format!("{base}/cancel");
        let cancel_body = json!({ "lot_id": lots[1], "reason": "Kein Bedarf mehr an Monitoren." });
        for token in [&tk.vendor, &tk.buyer, &tk.board] {
            assert_eq!(
                send(&api, Method::Post, &cancel, token, &cancel_body).status(),
                Status::Forbidden
            );
        }
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &cancel,
            &tk.officer,
            &json!({ "lot_id": lots[1] }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err["fields"]["reason"].is_array(), "{err}");
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &cancel,
            &tk.officer,
            &json!({ "lot_id": 999999, "reason": "falsches Los" }),
        ));
        assert_eq!(status, Status::NotFound);
        let (status, cancelled) = answer(send(&api, Method::Post, &cancel, &tk.officer, &cancel_body));
        assert_eq!(status, Status::Ok, "{cancelled}");
        assert_documented(&doc, "/tenders/{id}/cancel", "post", "200", &cancelled);
        assert_eq!(cancelled["bidders_mailed"], 2);
        assert_eq!(cancelled["tender_cancelled"], false);
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &cancel,
            &tk.officer,
            &json!({ "lot_id": lots[0], "reason": "doch nicht" }),
        ));
        assert_eq!(status, Status::Conflict, "{err}");

        // The Vergabevermerk names every step; its hash is the hash of its text.
        let (status, record) = answer(get(&api, &format!("{base}/procurement-record"), &tk.officer));
        assert_eq!(status, Status::Ok);
        assert_documented(&doc, "/tenders/{id}/procurement-record", "get", "200", &record);
        let html = record["html"].as_str().unwrap();
        assert_eq!(record["sha256"], hex::encode(Sha256::digest(html.as_bytes())));
        for needle in [
            "Angebot bewertet",
            "Zuschlagsentscheidung, Bieter informiert",
            "Rahmenvereinbarung geschlossen",
            "Los aufgehoben",
            "Kein Bedarf mehr an Monitoren",
        ] {
            assert!(html.contains(needle), "Vergabevermerk lacks {needle}");
        }
        for token in [&tk.vendor, &tk.buyer, &tk.admin] {
            let status = get(&api, &format!("{base}/procurement-record"), token).status();
            assert!(matches!(status, Status::Forbidden | Status::NotFound), "{status}");
        }
    });
}

/// Lot 1: vendor 600 € → 9 000 € (more than 20 % below vendor2's 11 707,50 € and the estimate of
/// 12 000 €: abnormally low). Lot 2: both 150 € → 900 €, scored alike: a tie at rank 1.
#[test]
fn exclusions_low_bid_reviews_and_ties_through_the_api() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (id, _, lots) = opened_with_bids(&app, &w, ("600", "150"), ("780,5", "150"));
        let tk = tokens(&app);
        let api = app.client();
        let doc: Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
        let ours = submitted_bid_id(&app, id, "Systemhaus Test GmbH");
        let theirs = submitted_bid_id(&app, id, "Konkurrenz IT AG");
        let base = format!("/api/v1/tenders/{id}");
        for bid in [ours, theirs] {
            let res = send(
                &api,
                Method::Put,
                &format!("{base}/bids/{bid}/scores"),
                &tk.officer,
                &json!({ "scores": [{ "score": "6", "reason": "solides Konzept" }] }),
            );
            assert_eq!(res.status(), Status::Ok);
        }
        let (_, eval) = answer(get(&api, &format!("{base}/evaluation"), &tk.officer));
        let lot1 = &eval["lots"][0];
        assert_eq!(lot1["low_flags"][0]["bid_id"], ours.get(), "{lot1}");
        assert!(lot1["blockers"].to_string().contains("ungewöhnlich niedrig"), "{lot1}");
        assert_eq!(lot1["proposed_bid_id"], ours.get());

        // § 60: explanation first, then a decision with a reason.
        let explanations = format!("{base}/lots/{}/explanations", lots[0]);
        let decision = |bid: BidId| format!("{explanations}/{bid}/decision");
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &decision(ours),
            &tk.officer,
            &json!({ "accept": true, "reason": "Preis plausibel" }),
        ));
        assert_eq!(status, Status::Conflict);
        assert!(err["message"].as_str().unwrap().contains("zuerst Aufklärung"), "{err}");
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &explanations,
            &tk.officer,
            &json!({ "bid_id": theirs }),
        ));
        assert_eq!(status, Status::Conflict, "not flagged");
        let (status, err) = answer(send(&api, Method::Post, &explanations, &tk.officer, &json!({})));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err["fields"]["bid_id"].is_array(), "{err}");
        for token in [&tk.vendor, &tk.board] {
            assert_eq!(
                send(&api, Method::Post, &explanations, token, &json!({ "bid_id": ours })).status(),
                Status::Forbidden
            );
        }
        let (status, lot) = answer(send(
            &api,
            Method::Post,
            &explanations,
            &tk.officer,
            &json!({ "bid_id": ours }),
        ));
        assert_eq!(status, Status::Ok, "{lot}");
        assert_documented(&doc, "/tenders/{id}/lots/{lot}/explanations", "post", "200", &lot);
        assert_eq!(lot["reviews"][0]["bid_id"], ours.get());
        assert!(lot["reviews"][0]["decision"].is_null());
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &explanations,
            &tk.officer,
            &json!({ "bid_id": ours }),
        ));
        assert_eq!(status, Status::Conflict, "{err}");
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &decision(ours),
            &tk.officer,
            &json!({ "reason": "ohne Entscheidung" }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err["fields"]["accept"].is_array(), "{err}");
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &decision(ours),
            &tk.officer,
            &json!({ "accept": false }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err["fields"]["reason"].is_array(), "{err}");
        let (status, lot) = answer(send(
            &api,
            Method::Post,
            &decision(ours),
            &tk.officer,
            &json!({ "accept": false, "reason": "Die Aufklärung erklärt den Preis nicht." }),
        ));
        assert_eq!(status, Status::Ok, "{lot}");
        assert_documented(
            &doc,
            "/tenders/{id}/lots/{lot}/explanations/{bid}/decision",
            "post",
            "200",
            &lot,
        );
        assert_eq!(lot["reviews"][0]["decision"], "excluded");
        assert_eq!(lot["bids"][0]["excluded_kind"], "abnormally_low");
        assert_eq!(lot["ranking"].as_array().unwrap().len(), 1);
        assert_eq!(lot["proposed_bid_id"], theirs.get());
        assert_eq!(lot["blockers"], json!([]));

        // Lot 2: a tie at rank 1 needs the drawn bid recorded.
        let lot2 = &eval["lots"][1];
        assert_eq!(lot2["ranking"][0]["tied"], true, "{lot2}");
        assert!(lot2["proposed_bid_id"].is_null());
        let award2 = format!("{base}/lots/{}/award", lots[1]);
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &award2,
            &tk.officer,
            &json!({ "bid_id": ours, "reason": "gezogen" }),
        ));
        assert_eq!(status, Status::Conflict);
        assert!(err["message"].as_str().unwrap().contains("Gleichstand"), "{err}");
        let tie = format!("{base}/lots/{}/tie-decision", lots[1]);
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &tie,
            &tk.officer,
            &json!({ "bid_id": theirs }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err["fields"]["note"].is_array(), "{err}");
        assert_eq!(
            send(
                &api,
                Method::Post,
                &tie,
                &tk.board,
                &json!({ "bid_id": theirs, "note": "Los gezogen" })
            )
            .status(),
            Status::Forbidden
        );
        let (status, lot) = answer(send(
            &api,
            Method::Post,
            &tie,
            &tk.officer,
            &json!({ "bid_id": theirs, "note": "Los gezogen durch zwei Personen der Vergabestelle" }),
        ));
        assert_eq!(status, Status::Ok, "{lot}");
        assert_documented(&doc, "/tenders/{id}/lots/{lot}/tie-decision", "post", "200", &lot);
        assert_eq!(lot["lot"]["tie_winner_bid_id"], theirs.get());
        assert_eq!(lot["proposed_bid_id"], theirs.get());

        // Exclusions: the kind must be one of the listed, with a reason.
        let exclusions = format!("{base}/lots/{}/exclusions", lots[1]);
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &exclusions,
            &tk.officer,
            &json!({ "bid_id": ours, "kind": "unbekannt", "reason": "irgendwas" }),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(err["fields"]["kind"].is_array(), "{err}");
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &format!("{base}/lots/999999/exclusions"),
            &tk.officer,
            &json!({ "bid_id": ours, "kind": "other", "reason": "falsches Los" }),
        ));
        assert_eq!(status, Status::NotFound);
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &exclusions,
            &tk.officer,
            &json!({ "bid_id": 999999, "kind": "other", "reason": "unbekanntes Angebot" }),
        ));
        assert_eq!(status, Status::NotFound);
        for token in [&tk.vendor2, &tk.buyer, &tk.board] {
            assert_eq!(
                send(
                    &api,
                    Method::Post,
                    &exclusions,
                    token,
                    &json!({ "bid_id": ours, "kind": "other", "reason": "Konkurrent" })
                )
                .status(),
                Status::Forbidden
            );
        }
        let (status, lot) = answer(send(
            &api,
            Method::Post,
            &exclusions,
            &tk.officer,
            &json!({ "bid_id": ours, "kind": "a_criterion", "reason": "Lieferzeit nicht bestätigt" }),
        ));
        assert_eq!(status, Status::Ok, "{lot}");
        assert_documented(&doc, "/tenders/{id}/lots/{lot}/exclusions", "post", "200", &lot);
        assert_eq!(lot["bids"][0]["excluded_kind"], "a_criterion");
        assert_eq!(lot["bids"][0]["excluded_reason"], "Lieferzeit nicht bestätigt");
        assert_eq!(lot["ranking"].as_array().unwrap().len(), 1);

        // Wrong bodies: German 422/415 naming the field, never a 500; no token: 401.
        let res = api
            .post(exclusions.clone())
            .header(bearer(&tk.officer))
            .header(ContentType::JSON)
            .body("{\"bid_id\": \"eins\"}")
            .dispatch();
        let (status, err) = answer(res);
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(
            err["fields"]["bid_id"][0], "„bid_id“ muss eine ganze Zahl sein, nicht eine Zeichenkette.",
            "{err}"
        );
        let res = api
            .post(award2.clone())
            .header(bearer(&tk.officer))
            .header(ContentType::Form)
            .body("bid_id=1")
            .dispatch();
        assert_eq!(res.status(), Status::UnsupportedMediaType);
        let res = api.get(format!("{base}/evaluation")).dispatch();
        assert_eq!(res.status(), Status::Unauthorized);

        // The whole tender is cancelled: nothing more is decided.
        let (status, cancelled) = answer(send(
            &api,
            Method::Post,
            &format!("{base}/cancel"),
            &tk.officer,
            &json!({ "reason": "Haushaltsmittel gestrichen." }),
        ));
        assert_eq!(status, Status::Ok, "{cancelled}");
        assert_eq!(cancelled["tender_cancelled"], true);
        assert!(cancelled["lot_id"].is_null());
        let (status, err) = answer(send(
            &api,
            Method::Post,
            &award2,
            &tk.officer,
            &json!({ "bid_id": theirs, "reason": "gezogen" }),
        ));
        assert_eq!(status, Status::Conflict);
        assert!(err["message"].as_str().unwrap().contains("aufgehoben"), "{err}");
    });
}
