//! The API reads one notation in every decimal field: plain decimals. "1.250" is one and a
//! quarter, never 1250; "1_000", "1,5", "1e3", "+1" and JSON numbers are refused with a German
//! message naming the field, and nothing is stored; on both backends.

mod common;

use buendel::domain::ids::DemandCallId;
use common::api::*;
use common::tender_flow::*;
use common::*;
use rocket::http::{Method, Status};
use rocket::local::blocking::Client;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

/// Plain notation with a point that a German form would read as a thousands separator.
const PLAIN: &str = "1.250";
/// What no API field takes, each for another reason.
const REFUSED: [&str; 5] = ["1_000", "9_9_9", "1,5", "1e3", "+1"];

/// The one message of a 422 under `field`.
fn refusal(res: rocket::local::blocking::LocalResponse<'_>, field: &str, sent: &Value) -> String {
    let (status, e) = answer(res);
    assert_eq!(status, Status::UnprocessableEntity, "{sent} → {e}");
    assert_eq!(e["code"], "validation_failed", "{e}");
    let message = e["fields"][field][0]
        .as_str()
        .unwrap_or_else(|| panic!("no message for {field}: {e}"))
        .to_string();
    assert!(!message.contains("expected"), "no English from serde: {message}");
    message
}

fn plain_refusal(res: rocket::local::blocking::LocalResponse<'_>, field: &str, sent: &Value) {
    let m = refusal(res, field, sent);
    assert!(
        m.contains("Schreibweise der API") || m.contains("Nachkommastellen"),
        "{field}: {m}"
    );
}

#[test]
fn demand_call_estimates_and_demand_lines_read_plain_notation_only() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let officer = api_token(&browser(&app, "officer"));
        let buyer = api_token(&browser(&app, "buyer_b"));
        let api = app.client();
        let call = |estimate: &str| {
            json!({
                "title": "Zahlen-Abfrage", "term_months": 24, "deadline": "2026-12-01T12:00:00+01:00",
                "all_members": false, "member_ids": [w.member_b],
                "positions": [{ "description": "Tablet", "unit": "Stück", "cpv_code": "30213200-7",
                                "estimate_price": estimate }]
            })
        };
        for bad in REFUSED {
            let body = call(bad);
            plain_refusal(
                send(&api, Method::Post, "/api/v1/demand-calls", &officer, &body),
                "positions[0].estimate_price",
                &body,
            );
        }
        let (status, created) = answer(send(&api, Method::Post, "/api/v1/demand-calls", &officer, &call(PLAIN)));
        assert_eq!(status, Status::Created, "{created}");
        assert_eq!(dec(&created["positions"][0]["estimate_price"]), dec!(1.25));
        let id = created["id"].as_i64().unwrap();
        let pid = created["positions"][0]["id"].as_i64().unwrap();
        let add = format!("/api/v1/demand-calls/{id}/positions");
        let position = |estimate: &str| json!({ "description": "Stift", "unit": "Stück", "cpv_code": "30213200-7", "estimate_price": estimate });
        for bad in REFUSED {
            let body = position(bad);
            plain_refusal(send(&api, Method::Post, &add, &officer, &body), "estimate_price", &body);
        }
        let (status, added) = answer(send(&api, Method::Post, &add, &officer, &position(PLAIN)));
        assert_eq!(status, Status::Created, "{added}");
        assert_eq!(dec(&added["positions"][1]["estimate_price"]), dec!(1.25));
        assert_eq!(
            added["positions"].as_array().unwrap().len(),
            2,
            "refused positions were not added"
        );

        let (status, _) = answer(send(
            &api,
            Method::Post,
            &format!("/api/v1/demand-calls/{id}/open"),
            &officer,
            &json!({}),
        ));
        assert_eq!(status, Status::Ok);
        let demand = format!("/api/v1/demand-calls/{id}/demand");
        let line = |quantity: &str, price: &str| json!({ "lines": [{ "position_id": pid, "quantity": quantity, "reference_price": price }] });
        for bad in REFUSED {
            let body = line(bad, "2");
            plain_refusal(
                send(&api, Method::Put, &demand, &buyer, &body),
                "lines[0].quantity",
                &body,
            );
            let body = line("2", bad);
            plain_refusal(
                send(&api, Method::Put, &demand, &buyer, &body),
                "lines[0].reference_price",
                &body,
            );
        }
        // Both fields wrong: both are named at once.
        let (status, e) = answer(send(&api, Method::Put, &demand, &buyer, &line("2,5", "1 000")));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(
            e["fields"]["lines[0].quantity"].is_array() && e["fields"]["lines[0].reference_price"].is_array(),
            "{e}"
        );
        let (status, mine) = answer(get(&api, &demand, &buyer));
        assert_eq!(status, Status::Ok);
        assert_eq!(
            mine["lines"].as_array().unwrap().len(),
            0,
            "nothing refused was stored: {mine}"
        );

        let (status, _) = answer(send(&api, Method::Put, &demand, &buyer, &line(PLAIN, PLAIN)));
        assert_eq!(status, Status::Ok);
        let (_, mine) = answer(get(&api, &demand, &buyer));
        assert_eq!(dec(&mine["lines"][0]["quantity"]), dec!(1.25), "{mine}");
        assert_eq!(dec(&mine["lines"][0]["reference_price"]), dec!(1.25), "{mine}");
    });
}

/// A tender body with `value` in one decimal field (named by its JSON path) and valid
/// plain values elsewhere.
fn tender_body(app: &TestApp, call: DemandCallId, field: &str, value: &str) -> Value {
    let mut body = json!({
        "demand_call_id": call,
        "title": "Zahlen-Ausschreibung",
        "buffer_percent": "20",
        "bid_deadline": (app.state.clock.now() + chrono::Duration::days(40)).to_rfc3339(),
        "term_months": 48,
        "lots": ["Gesamtleistung"],
        "evaluation": {
            "method": "weighted",
            "a_criteria": ["Lieferung in 10 Werktagen"],
            "b_criteria": [{ "name": "Servicekonzept", "weight": "100" }],
            "price_weight": "70", "quality_weight": "30", "price_formula": "quotient",
            "max_points": "100", "score_places": 3,
            "abnormally_low_next_percent": "20", "abnormally_low_estimate_percent": "20",
        },
    });
    let mut node = &mut body;
    let path: Vec<&str> = field.split('.').collect();
    for seg in &path[..path.len() - 1] {
        node = &mut node[*seg];
    }
    node[path[path.len() - 1]] = json!(value);
    body
}

#[test]
fn tender_percentages_weights_and_points_read_plain_notation_only() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (call, _) = closed_call(&app, &w, "1000");
        let officer = api_token(&browser(&app, "officer"));
        let api = app.client();
        let fields = [
            "buffer_percent",
            "evaluation.price_weight",
            "evaluation.max_points",
            "evaluation.abnormally_low_next_percent",
            "evaluation.abnormally_low_estimate_percent",
        ];
        for field in fields {
            for bad in REFUSED {
                let body = tender_body(&app, call, field, bad);
                plain_refusal(
                    send(&api, Method::Post, "/api/v1/tenders", &officer, &body),
                    field,
                    &body,
                );
            }
        }
        let mut body = tender_body(&app, call, "evaluation.b_criteria", "");
        body["evaluation"]["b_criteria"] = json!([{ "name": "Servicekonzept", "weight": "1_000" }]);
        plain_refusal(
            send(&api, Method::Post, "/api/v1/tenders", &officer, &body),
            "evaluation.b_criteria[0].weight",
            &body,
        );
        let (status, list) = answer(get(&api, "/api/v1/tenders", &officer));
        assert_eq!(status, Status::Ok);
        assert_eq!(list.as_array().unwrap().len(), 0, "nothing refused was stored: {list}");

        // "1.250" everywhere: one and a quarter, within every rule (weights 98.75 + 1.25).
        let mut body = tender_body(&app, call, "buffer_percent", PLAIN);
        let e = &mut body["evaluation"];
        e["price_weight"] = json!("98.750");
        e["quality_weight"] = json!(PLAIN);
        e["max_points"] = json!(PLAIN);
        e["abnormally_low_next_percent"] = json!(PLAIN);
        e["abnormally_low_estimate_percent"] = json!(PLAIN);
        e["b_criteria"] = json!([{ "name": "Servicekonzept", "weight": PLAIN }]);
        let (status, created) = answer(send(&api, Method::Post, "/api/v1/tenders", &officer, &body));
        assert_eq!(status, Status::Created, "{created}");
        assert_eq!(dec(&created["buffer_percent"]), dec!(1.25));
        let spec = &created["evaluation"];
        for field in [
            "quality_weight",
            "max_points",
            "abnormally_low_next_percent",
            "abnormally_low_estimate_percent",
        ] {
            assert_eq!(dec(&spec[field]), dec!(1.25), "{field}: {spec}");
        }
        assert_eq!(dec(&spec["b_criteria"][0]["weight"]), dec!(1.25));
        // The maximum is the estimate plus 1.25 %: 15 notebooks → 15.1875, not 15 × 13.5.
        let notebook = &created["positions"][0];
        assert_eq!(dec(&notebook["estimate_quantity"]), dec!(15));
        assert!(dec(&notebook["max_quantity"]) < Decimal::from(16), "{notebook}");
    });
}

fn bid_body(price: &str) -> Value {
    json!({
        "prices": [{ "position_no": 1, "unit_price": price }, { "position_no": 2, "unit_price": "150" }],
        "lots": [1],
        "a_confirmed": [true],
        "b_texts": ["Vor-Ort-Service"],
    })
}

#[test]
fn bid_prices_read_plain_notation_only() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (id, _) = published_tender(&app, &w);
        let vendor = api_token(&browser(&app, "vendor"));
        let api = app.client();
        let path = format!("/api/v1/tenders/{id}/bid");
        for bad in REFUSED {
            let body = bid_body(bad);
            let m = refusal(send(&api, Method::Put, &path, &vendor, &body), "prices", &body);
            assert!(m.starts_with("Pos. 1: Der Preis"), "{m}");
        }
        let (_, mine) = answer(get(&api, &path, &vendor));
        assert!(mine["current"].is_null(), "nothing refused was stored: {mine}");
        let (status, receipt) = answer(send(&api, Method::Put, &path, &vendor, &bid_body(PLAIN)));
        assert_eq!(status, Status::Created, "{receipt}");
        let (_, mine) = answer(get(&api, &path, &vendor));
        let first = &mine["current"]["prices"][0];
        assert_eq!(first["position_no"], 1, "{mine}");
        assert_eq!(dec(&first["unit_price"]), dec!(1.25), "{mine}");
    });
}

#[test]
fn scores_read_plain_notation_only() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (tender, _, _) = opened_with_bids(&app, &w, ("800", "150"), ("780,5", "155"));
        let officer = api_token(&browser(&app, "officer"));
        let api = app.client();
        let ours = submitted_bid_id(&app, tender, "Systemhaus Test GmbH");
        let scores = format!("/api/v1/tenders/{tender}/bids/{ours}/scores");
        let score = |s: &str| json!({ "scores": [{ "score": s, "reason": "Konzept geprüft" }] });
        for bad in REFUSED {
            let body = score(bad);
            let m = refusal(send(&api, Method::Put, &scores, &officer, &body), "scores", &body);
            assert!(m.starts_with("B1: Die Punktzahl"), "{m}");
        }
        let (status, eval) = answer(send(&api, Method::Put, &scores, &officer, &score(PLAIN)));
        assert_eq!(status, Status::Ok, "{eval}");
        let bid = eval["lots"][0]["bids"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["bid_id"] == ours.get())
            .unwrap_or_else(|| panic!("our bid in {eval}"));
        assert_eq!(dec(&bid["scores"][0]["score"]), dec!(1.25), "{bid}");
    });
}

#[test]
fn call_off_quantities_read_plain_notation_only() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (contract, _) = concluded_contract(&app, &w);
        let buyer = api_token(&browser(&app, "buyer_a"));
        let api: Client = app.client();
        let (_, positions) = answer(get(&api, &format!("/api/v1/contracts/{contract}/positions"), &buyer));
        let no = positions[0]["position_no"].as_i64().unwrap();
        let place = format!("/api/v1/contracts/{contract}/calloffs");
        let order = |q: &str| {
            json!({ "lines": [{ "position_no": no, "quantity": q }],
                    "delivery_address": "Rathaus, Marktplatz 1, 64283 Darmstadt", "cost_centre": "4711" })
        };
        for bad in REFUSED.iter().chain(&["2,5"]) {
            let body = order(bad);
            let m = refusal(send(&api, Method::Post, &place, &buyer, &body), "lines", &body);
            assert!(m.starts_with(&format!("Pos. {no}: Die Menge")), "{m}");
        }
        let (status, placed) = answer(send(&api, Method::Post, &place, &buyer, &order(PLAIN)));
        assert_eq!(status, Status::Created, "{placed}");
        assert_eq!(dec(&placed["total"]), dec!(1000.00), "1.25 × 800 €: {placed}");
    });
}
