//! The contract register and call-offs through the JSON API, on both backends: a buyer orders by
//! position number, over a maximum is refused saying what is left, members not entitled and
//! other vendors see nothing, the order life (confirm, reject, deliver, cancel) with 409 where a
//! step is no longer possible, date filters with German errors, and every answer carries only
//! documented fields.

mod common;

use buendel::domain::roles::{OrgType, Role};
use buendel::orgs::{self, UserData};
use chrono::Duration;
use common::api::*;
use common::tender_flow::*;
use common::*;
use rocket::http::{ContentType, Method, Status};
use rocket::local::blocking::{Client, LocalResponse};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A buyer of a member added after publication: not entitled to call off.
fn late_buyer(app: &TestApp) {
    let mut c = app.conn();
    let now = app.state.clock.now_naive();
    let late = orgs::insert_org(
        &mut c,
        now,
        &org_input("Stadt Cedorf").validate(OrgType::Member).unwrap(),
        None,
    )
    .unwrap();
    let hash = buendel::auth::hash_password(PASSWORD).unwrap();
    orgs::insert_user(
        &mut c,
        now,
        &UserData {
            email: "buyer_c@test.example".into(),
            name: "Person buyer_c".into(),
            role: Role::Buyer,
            organisation_id: late,
            password: None,
        },
        &hash,
    )
    .unwrap();
}

fn post<'c>(api: &'c Client, path: &str, token: &str) -> LocalResponse<'c> {
    api.post(path.to_string()).header(bearer(token)).dispatch()
}

fn order(lines: Value) -> Value {
    json!({
        "lines": lines,
        "delivery_address": "Rathaus, Marktplatz 1, 64283 Darmstadt",
        "cost_centre": "4711",
    })
}

// ----------------------------------------------------------------------------- tests

#[test]
fn buyers_call_off_through_the_api_within_every_limit() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (contract_id, position) = concluded_contract(&app, &w);
        late_buyer(&app);
        let t = |key: &str| api_token(&browser(&app, key));
        let (buyer_a, buyer_b, buyer_c, vendor, officer) =
            (t("buyer_a"), t("buyer_b"), t("buyer_c"), t("vendor"), t("officer"));
        let vendor2 = api_token(&vendor2_browser(&app));
        let api = app.client();
        let doc: Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();

        // The register: the entitled member sees the contract with its remaining value.
        let (status, register) = answer(get(&api, "/api/v1/contracts", &buyer_a));
        assert_eq!(status, Status::Ok, "{register}");
        assert_documented(&doc, "/contracts", "get", "200", &register);
        let entry = &register.as_array().unwrap()[0];
        assert_eq!(entry["id"], contract_id.get());
        assert_eq!(dec(&entry["remaining_value"]), Decimal::new(14_400, 0));
        assert_eq!(entry["active"], true);
        assert_eq!(entry["exhausted"], false);
        assert!(entry.get("document").is_none());
        let (_, none) = answer(get(&api, "/api/v1/contracts", &buyer_c));
        assert_eq!(none, json!([]), "a member not entitled sees no contract");
        let (_, none) = answer(get(&api, "/api/v1/contracts", &vendor2));
        assert_eq!(none, json!([]), "another vendor sees no contract");

        let positions_path = format!("/api/v1/contracts/{contract_id}/positions");
        let (status, positions) = answer(get(&api, &positions_path, &buyer_a));
        assert_eq!(status, Status::Ok, "{positions}");
        assert_documented(&doc, "/contracts/{id}/positions", "get", "200", &positions);
        let notebook = positions
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["position_id"] == position.get())
            .unwrap()
            .clone();
        let no = notebook["position_no"].as_i64().unwrap();
        assert_eq!(dec(&notebook["remaining"]), Decimal::new(18, 0));
        for token in [&buyer_c, &vendor2] {
            assert_eq!(get(&api, &positions_path, token).status(), Status::NotFound);
        }

        // A buyer orders by position number.
        let place_path = format!("/api/v1/contracts/{contract_id}/calloffs");
        let res = send(
            &api,
            Method::Post,
            &place_path,
            &buyer_a,
            &order(json!([{ "position_no": no, "quantity": "5" }])),
        );
        let location = res.headers().get_one("Location").unwrap_or_default().to_string();
        let (status, placed) = answer(res);
        assert_eq!(status, Status::Created, "{placed}");
        assert_documented(&doc, "/contracts/{id}/calloffs", "post", "201", &placed);
        assert_eq!(placed["total"], "4000.00");
        assert!(placed["number"].as_str().unwrap().starts_with("AB-"), "{placed}");
        let first = placed["id"].as_i64().unwrap();
        assert_eq!(location, format!("/api/v1/calloffs/{first}"));

        // More than is left: 422 saying what is left, nothing stored.
        let (status, e) = answer(send(
            &api,
            Method::Post,
            &place_path,
            &buyer_b,
            &order(json!([{ "position_no": no, "quantity": "14" }])),
        ));
        assert_eq!(status, Status::UnprocessableEntity, "{e}");
        assert!(e["fields"]["lines"][0].as_str().unwrap().contains("nur noch 13"), "{e}");
        // Unknown positions, numbers instead of strings, too many places: named per line.
        let (status, e) = answer(send(
            &api,
            Method::Post,
            &place_path,
            &buyer_b,
            &order(json!([{ "position_no": 99, "quantity": "1" }, { "position_no": no, "quantity": 2 }])),
        ));
        assert_eq!(status, Status::UnprocessableEntity, "{e}");
        let lines = e["fields"]["lines"].to_string();
        assert!(
            lines.contains("Pos. 99 gibt es in dieser Rahmenvereinbarung nicht"),
            "{e}"
        );
        assert!(lines.contains("als Zeichenkette"), "{e}");
        let (status, e) = answer(send(
            &api,
            Method::Post,
            &place_path,
            &buyer_b,
            &order(json!([{ "position_no": no, "quantity": "1.0001" }])),
        ));
        assert_eq!(status, Status::UnprocessableEntity, "{e}");
        assert!(
            e["fields"]["lines"][0]
                .as_str()
                .unwrap()
                .starts_with(&format!("Pos. {no}")),
            "{e}"
        );
        let (status, e) = answer(send(
            &api,
            Method::Post,
            &place_path,
            &buyer_b,
            &json!({ "lines": [{ "position_no": no, "quantity": "1" }] }),
        ));
        assert_eq!(status, Status::UnprocessableEntity, "{e}");
        assert!(
            e["fields"]["delivery_address"].is_array() && e["fields"]["cost_centre"].is_array(),
            "{e}"
        );
        let (_, after) = answer(get(&api, &positions_path, &buyer_a));
        let called: Decimal = after
            .as_array()
            .unwrap()
            .iter()
            .map(|p| dec(&p["called_quantity"]))
            .sum();
        assert_eq!(called, Decimal::new(5, 0), "nothing refused was stored");

        // A member not entitled gets 404 even for an unknown position; vendors and officers 403.
        for body in [
            order(json!([{ "position_no": no, "quantity": "1" }])),
            order(json!([{ "position_no": 99, "quantity": "1" }])),
        ] {
            let (status, e) = answer(send(&api, Method::Post, &place_path, &buyer_c, &body));
            assert_eq!(status, Status::NotFound, "{e}");
        }
        for token in [&vendor, &officer] {
            let res = send(
                &api,
                Method::Post,
                &place_path,
                token,
                &order(json!([{ "position_no": no, "quantity": "1" }])),
            );
            assert_eq!(res.status(), Status::Forbidden);
        }

        // Plain notation only: "2.5", and "1.250" is one and a quarter, not 1250.
        let (status, second) = answer(send(
            &api,
            Method::Post,
            &place_path,
            &buyer_b,
            &order(json!([{ "position_no": no, "quantity": "2.5" }])),
        ));
        assert_eq!(status, Status::Created, "{second}");
        assert_eq!(second["total"], "2000.00");
        let second = second["id"].as_i64().unwrap();
        let (status, third) = answer(send(
            &api,
            Method::Post,
            &place_path,
            &buyer_b,
            &order(json!([{ "position_no": no, "quantity": "1.250" }])),
        ));
        assert_eq!(status, Status::Created, "{third}");
        assert_eq!(third["total"], "1000.00");
        let third = third["id"].as_i64().unwrap();

        // Lists: each sees what is theirs.
        let ids = |token: &str, query: &str| -> Vec<i64> {
            let (status, list) = answer(get(&api, &format!("/api/v1/calloffs{query}"), token));
            assert_eq!(status, Status::Ok, "{list}");
            assert_documented(&doc, "/calloffs", "get", "200", &list);
            list.as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect()
        };
        assert_eq!(ids(&buyer_a, ""), vec![first]);
        assert_eq!(ids(&buyer_b, ""), vec![third, second]);
        assert_eq!(ids(&vendor, ""), vec![third, second, first]);
        assert_eq!(
            ids(&officer, &format!("?contract_id={contract_id}")),
            vec![third, second, first]
        );
        assert!(ids(&vendor2, "").is_empty());
        assert!(ids(&buyer_c, "").is_empty());
        assert!(ids(&officer, &format!("?contract_id={}", contract_id.get() + 1000)).is_empty());
        let today = app
            .state
            .clock
            .now()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .date_naive();
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        assert_eq!(ids(&vendor, &format!("?from={0}&to={0}", day(today))).len(), 3);
        assert!(ids(&vendor, &format!("?to={}", day(today - Duration::days(1)))).is_empty());
        assert!(ids(&vendor, &format!("?from={}", day(today + Duration::days(1)))).is_empty());
        for (query, field) in [
            ("?from=31.12.2026", "from"),
            ("?to=2026-02-30", "to"),
            ("?contract_id=abc", "contract_id"),
            ("?from=2026-05-02&to=2026-05-01", "to"),
        ] {
            let (status, e) = answer(get(&api, &format!("/api/v1/calloffs{query}"), &buyer_a));
            assert_eq!(status, Status::UnprocessableEntity, "{query}: {e}");
            assert!(e["fields"][field].is_array(), "{query}: {e}");
        }

        // One call-off with its lines and its document, for those who may see it.
        let path = format!("/api/v1/calloffs/{first}");
        let (status, detail) = answer(get(&api, &path, &buyer_a));
        assert_eq!(status, Status::Ok, "{detail}");
        assert_documented(&doc, "/calloffs/{id}", "get", "200", &detail);
        assert_eq!(detail["status"], "placed");
        assert_eq!(detail["lines"][0]["position_no"], no);
        assert_eq!(dec(&detail["lines"][0]["quantity"]), Decimal::new(5, 0));
        assert_eq!(detail["lines"][0]["line_total"], "4000.00");
        assert!(detail.get("document").is_none());
        for token in [&buyer_b, &buyer_c, &vendor2] {
            assert_eq!(get(&api, &path, token).status(), Status::NotFound);
            assert_eq!(get(&api, &format!("{path}/document"), token).status(), Status::NotFound);
        }
        let res = get(&api, &format!("{path}/document"), &vendor);
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.content_type(), Some(ContentType::HTML));
        let html = res.into_string().unwrap();
        assert!(html.contains(detail["number"].as_str().unwrap()));
        assert_eq!(hex::encode(Sha256::digest(html.as_bytes())), detail["document_sha256"]);

        // The order life: the other vendor cannot confirm; the vendor confirms; no cancelling then.
        assert_eq!(
            post(&api, &format!("{path}/confirm"), &vendor2).status(),
            Status::NotFound
        );
        assert_eq!(
            post(&api, &format!("{path}/confirm"), &buyer_a).status(),
            Status::Forbidden
        );
        let (status, confirmed) = answer(post(&api, &format!("{path}/confirm"), &vendor));
        assert_eq!(status, Status::Ok, "{confirmed}");
        assert_documented(&doc, "/calloffs/{id}/confirm", "post", "200", &confirmed);
        assert_eq!(confirmed["status"], "confirmed");
        assert!(confirmed["confirmed_at"].is_string());
        let (status, e) = answer(post(&api, &format!("{path}/cancel"), &buyer_a));
        assert_eq!(status, Status::Conflict, "{e}");
        assert!(e["message"].as_str().unwrap().contains("nicht (mehr) möglich"), "{e}");
        let (status, e) = answer(post(&api, &format!("{path}/confirm"), &vendor));
        assert_eq!(status, Status::Conflict, "{e}");
        let (status, delivered) = answer(post(&api, &format!("{path}/deliver"), &buyer_a));
        assert_eq!(status, Status::Ok, "{delivered}");
        assert_documented(&doc, "/calloffs/{id}/deliver", "post", "200", &delivered);
        assert_eq!(delivered["status"], "delivered");

        // Rejection needs a reason and frees the volume; cancelling before confirmation too.
        let reject = format!("/api/v1/calloffs/{second}/reject");
        let (status, e) = answer(send(&api, Method::Post, &reject, &vendor, &json!({ "reason": "" })));
        assert_eq!(status, Status::UnprocessableEntity, "{e}");
        assert!(e["fields"]["reason"].is_array(), "{e}");
        assert_eq!(
            send(
                &api,
                Method::Post,
                &reject,
                &vendor2,
                &json!({ "reason": "nicht lieferbar" })
            )
            .status(),
            Status::NotFound
        );
        let (status, rejected) = answer(send(
            &api,
            Method::Post,
            &reject,
            &vendor,
            &json!({ "reason": "nicht lieferbar" }),
        ));
        assert_eq!(status, Status::Ok, "{rejected}");
        assert_documented(&doc, "/calloffs/{id}/reject", "post", "200", &rejected);
        assert_eq!(rejected["status"], "rejected");
        assert_eq!(rejected["reject_reason"], "nicht lieferbar");
        let cancel = format!("/api/v1/calloffs/{third}/cancel");
        assert_eq!(post(&api, &cancel, &buyer_a).status(), Status::NotFound);
        let (status, cancelled) = answer(post(&api, &cancel, &buyer_b));
        assert_eq!(status, Status::Ok, "{cancelled}");
        assert_documented(&doc, "/calloffs/{id}/cancel", "post", "200", &cancelled);
        assert_eq!(cancelled["status"], "cancelled");
        let (_, register) = answer(get(&api, "/api/v1/contracts", &officer));
        assert_eq!(dec(&register[0]["remaining_value"]), Decimal::new(10_400, 0));
        let (_, positions) = answer(get(&api, &positions_path, &officer));
        let notebook = positions
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["position_id"] == position.get())
            .unwrap();
        assert_eq!(dec(&notebook["remaining"]), Decimal::new(13, 0));

        // Exhausted: 13 fit exactly, then nothing is left.
        let (status, _) = answer(send(
            &api,
            Method::Post,
            &place_path,
            &buyer_a,
            &order(json!([{ "position_no": no, "quantity": "13" }])),
        ));
        assert_eq!(status, Status::Created);
        let (_, register) = answer(get(&api, "/api/v1/contracts", &buyer_b));
        assert_eq!(register[0]["exhausted"], true);
        let (status, e) = answer(send(
            &api,
            Method::Post,
            &place_path,
            &buyer_b,
            &order(json!([{ "position_no": no, "quantity": "1" }])),
        ));
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(e["fields"]["lines"][0].as_str().unwrap().contains("nur noch 0"), "{e}");
    });
}
