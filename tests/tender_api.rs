//! Tenders and sealed bids through the JSON API, on both backends: an officer builds and publishes
//! a tender from a closed demand call, vendors bid by JSON and CSV until the deadline and not a
//! second later, nobody reads a bid before two different officers open them, and the opening
//! record names every receipt.

mod common;

use buendel::demand::{self, CallData, DemandEntry, PositionData};
use buendel::domain::evaluation::EvaluationCommand;
use buendel::domain::ids::{DemandCallId, DemandPositionId, OrgId};
use buendel::domain::money::{Price, Quantity};
use buendel::domain::roles::{OrgType, Role, VendorStatus};
use buendel::orgs::{self, UserData};
use common::secret::SecretNumber;
use common::*;
use rocket::http::{ContentType, Status};
use rocket::local::blocking::Client;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
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

fn entry(position_id: DemandPositionId, quantity: &str, reference: Option<&str>) -> DemandEntry {
    DemandEntry {
        position_id,
        quantity: Quantity::from_str(quantity).unwrap(),
        reference_price: reference.map(|r| Price::from_str(r).unwrap()),
    }
}

/// A demand call with three positions, answered by both members and closed; returns the call and
/// its position ids. The clock ends one day after the call's deadline.
fn closed_call(app: &TestApp, w: &World) -> (DemandCallId, Vec<DemandPositionId>) {
    let officer = current_user(app, "officer");
    let mut c = app.conn();
    let data = CallData {
        title: "Arbeitsplatz 2027".into(),
        description: "Notebooks, Monitore, Rollout".into(),
        term_months: 48,
        deadline: app.state.clock.now_naive() + chrono::Duration::days(10),
        all_members: false,
        member_ids: vec![w.member_a, w.member_b],
    };
    let positions = [
        position("Notebook 14 Zoll", "30213100-6", Some("900")),
        position("Monitor 24 Zoll", "30231300-0", Some("150")),
        position("Rollout je Gerät", "51611100-9", None),
    ];
    let id = demand::create_call(&mut c, &app.state, &officer, &data, &positions).unwrap();
    demand::open_call(&mut c, &app.state, &officer, id).unwrap();
    let pos: Vec<DemandPositionId> = demand::positions(&mut c, id)
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    let buyer_a = current_user(app, "buyer_a");
    let buyer_b = current_user(app, "buyer_b");
    demand::save_demand(
        &mut c,
        &app.state,
        &buyer_a,
        id,
        &[
            entry(pos[0], "100", Some("950")),
            entry(pos[1], "40", None),
            entry(pos[2], "100", None),
        ],
    )
    .unwrap();
    demand::save_demand(
        &mut c,
        &app.state,
        &buyer_b,
        id,
        &[entry(pos[0], "20.5", None), entry(pos[2], "20", Some("35.5"))],
    )
    .unwrap();
    app.state.clock.advance(chrono::Duration::days(11));
    demand::close_call(&mut c, &app.state, &officer, id).unwrap();
    (id, pos)
}

/// The tokens of the world's users, by key.
struct Tokens {
    officer: String,
    officer2: String,
    admin: String,
    board: String,
    buyer: String,
    vendor: String,
    vendor2: String,
}

/// A second approved vendor firm with its user `vendor2@test.example`.
fn second_vendor(app: &TestApp) -> OrgId {
    let mut c = app.conn();
    let now = app.state.clock.now_naive();
    let data = org_input("Konkurrenz IT AG").validate(OrgType::Vendor).unwrap();
    let org = orgs::insert_org(&mut c, now, &data, Some(VendorStatus::Approved)).unwrap();
    let user = UserData {
        email: "vendor2@test.example".into(),
        name: "Person vendor2".into(),
        role: Role::Vendor,
        organisation_id: org,
        password: None,
    };
    let hash = buendel::auth::hash_password(PASSWORD).unwrap();
    orgs::insert_user(&mut c, now, &user, &hash).unwrap();
    org
}

fn tokens(app: &TestApp) -> Tokens {
    second_vendor(app);
    let t = |key: &str| api_token(&browser(app, key));
    Tokens {
        officer: t("officer"),
        officer2: t("officer2"),
        admin: t("admin"),
        board: t("board"),
        buyer: t("buyer_a"),
        vendor: t("vendor"),
        vendor2: t("vendor2"),
    }
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339()
}

/// The tender body: two lots (hardware: positions 1 and 2; services: position 3), the default
/// weighted evaluation with two A- and two B-criteria, deadline in 40 days.
fn tender_body(app: &TestApp, call: DemandCallId, pos: &[DemandPositionId]) -> Value {
    json!({
        "demand_call_id": call,
        "title": "Arbeitsplatz 2027 – Rahmenvereinbarung",
        "description": "Notebooks, Monitore und Rollout für die Mitglieder",
        "buffer_percent": "20",
        "bid_deadline": rfc3339(app.state.clock.now_naive() + chrono::Duration::days(40)),
        "term_months": 48,
        "evaluation": serde_json::to_value(EvaluationCommand::defaults().validate().unwrap()).unwrap(),
        "lots": ["Hardware", "Rollout"],
        "assignment": { pos[0].to_string(): 1, pos[1].to_string(): 1, pos[2].to_string(): 2 },
    })
}

fn send_json<'c>(
    api: &'c Client,
    method: rocket::http::Method,
    path: &str,
    token: &str,
    body: &Value,
) -> rocket::local::blocking::LocalResponse<'c> {
    api.req(method, path.to_string())
        .header(bearer(token))
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch()
}

fn get<'c>(api: &'c Client, path: &str, token: &str) -> rocket::local::blocking::LocalResponse<'c> {
    api.get(path.to_string()).header(bearer(token)).dispatch()
}

fn post<'c>(api: &'c Client, path: &str, token: &str) -> rocket::local::blocking::LocalResponse<'c> {
    api.post(path.to_string()).header(bearer(token)).dispatch()
}

/// A published tender from a closed call; returns its id and its deadline.
fn published_tender(app: &TestApp, w: &World, api: &Client, tk: &Tokens) -> (i64, chrono::NaiveDateTime) {
    let (call, pos) = closed_call(app, w);
    let res = send_json(
        api,
        rocket::http::Method::Post,
        "/api/v1/tenders",
        &tk.officer,
        &tender_body(app, call, &pos),
    );
    assert_eq!(res.status(), Status::Created);
    let created: Value = res.into_json().unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        post(api, &format!("/api/v1/tenders/{id}/publish"), &tk.officer).status(),
        Status::Ok
    );
    let deadline = created["bid_deadline"].as_str().unwrap();
    let deadline = chrono::NaiveDateTime::parse_from_str(deadline, "%Y-%m-%dT%H:%M:%S").unwrap();
    (id, deadline)
}

/// A complete JSON bid on lot 1 (positions 1 and 2) with both A-criteria confirmed.
fn json_bid(notebook: &str, monitor: &str) -> Value {
    json!({
        "prices": [
            { "position_no": 1, "unit_price": notebook },
            { "position_no": 2, "unit_price": monitor }
        ],
        "lots": [1],
        "a_confirmed": [true, true],
        "b_texts": ["Vor-Ort-Service in 24 Stunden", "EPEAT Gold"]
    })
}

fn put_price_sheet<'c>(
    api: &'c Client,
    id: i64,
    token: &str,
    query: &str,
    csv: &str,
) -> rocket::local::blocking::LocalResponse<'c> {
    api.put(format!("/api/v1/tenders/{id}/bid/price-sheet{query}"))
        .header(bearer(token))
        .header(ContentType::CSV)
        .body(csv)
        .dispatch()
}

// ----------------------------------------------------------------------------- OpenAPI check

/// Follows `$ref`, merges `allOf`, and returns the property names of a schema.
fn documented_properties(doc: &Value, schema: &Value) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let mut node = doc;
        for seg in r.trim_start_matches("#/").split('/') {
            node = &node[seg];
        }
        return documented_properties(doc, node);
    }
    // An optional object is `oneOf: [{type: null}, {$ref}]` in OpenAPI 3.1.
    if let Some(branch) = schema["oneOf"]
        .as_array()
        .and_then(|b| b.iter().find(|s| s["type"] != "null"))
    {
        return documented_properties(doc, branch);
    }
    let mut names: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        names.extend(documented_properties(doc, part));
    }
    names
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(r) = schema["$ref"].as_str() {
        let mut node = doc;
        for seg in r.trim_start_matches("#/").split('/') {
            node = &node[seg];
        }
        return resolve(doc, node);
    }
    match schema["oneOf"]
        .as_array()
        .and_then(|b| b.iter().find(|s| s["type"] != "null"))
    {
        Some(branch) => resolve(doc, branch),
        None => schema,
    }
}

/// Every field of an answer (and of each item of a list answer) is documented.
fn assert_documented(doc: &Value, path: &str, method: &str, code: &str, body: &Value) {
    let schema = &doc["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "{method} {path} {code} has a schema");
    let schema = resolve(doc, schema);
    let (objects, schema): (Vec<&Value>, &Value) = match body {
        Value::Array(items) => (items.iter().collect(), resolve(doc, &schema["items"])),
        other => (vec![other], schema),
    };
    let documented = documented_properties(doc, schema);
    for object in objects {
        for key in object.as_object().expect("object").keys() {
            assert!(
                documented.contains(key),
                "{method} {path}: field {key} is not documented"
            );
        }
    }
}

// ----------------------------------------------------------------------------- tests

#[test]
fn officer_builds_and_publishes_a_tender_from_a_closed_demand_call() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let tk = tokens(&app);
        let api = app.client();
        let doc: Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
        let (call, pos) = closed_call(&app, &w);
        let body = tender_body(&app, call, &pos);
        // Only officers build tenders.
        for token in [&tk.admin, &tk.board, &tk.vendor, &tk.buyer] {
            let res = send_json(&api, rocket::http::Method::Post, "/api/v1/tenders", token, &body);
            assert_eq!(res.status(), Status::Forbidden);
        }
        // All problems at once, in German.
        let mut bad = body.clone();
        bad["bid_deadline"] = json!("morgen");
        let res = send_json(&api, rocket::http::Method::Post, "/api/v1/tenders", &tk.officer, &bad);
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().unwrap().contains("Angebotsfrist"));
        let mut bad = body.clone();
        bad["assignment"] = json!({ pos[0].to_string(): 1, pos[1].to_string(): 1, pos[2].to_string(): 3 });
        bad["title"] = json!("x");
        let res = send_json(&api, rocket::http::Method::Post, "/api/v1/tenders", &tk.officer, &bad);
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let err: Value = res.into_json().unwrap();
        assert!(
            err["fields"]["title"].is_array() && err["fields"]["assignment"].is_array(),
            "{err}"
        );

        let res = send_json(&api, rocket::http::Method::Post, "/api/v1/tenders", &tk.officer, &body);
        assert_eq!(res.status(), Status::Created);
        let created: Value = res.into_json().unwrap();
        assert_documented(&doc, "/tenders", "post", "201", &created);
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["status"], "draft");
        assert_eq!(created["lots"].as_array().unwrap().len(), 2);
        let positions = created["positions"].as_array().unwrap();
        assert_eq!(positions.len(), 3);
        assert_eq!(positions[0]["estimate_quantity"], "120.500");
        assert_eq!(positions[0]["max_quantity"], "144.600");
        assert_eq!(created["evaluation"]["method"], "weighted");
        assert_eq!(created["bid_count"], 0);
        // A second tender from the same call is refused.
        let res = send_json(&api, rocket::http::Method::Post, "/api/v1/tenders", &tk.officer, &body);
        assert_eq!(res.status(), Status::Conflict);
        // Drafts are the cooperative's: vendors and buyers do not see them.
        assert_eq!(
            get(&api, &format!("/api/v1/tenders/{id}"), &tk.vendor).status(),
            Status::NotFound
        );
        let listed: Value = get(&api, "/api/v1/tenders", &tk.vendor).into_json().unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 0);

        // Documents: raw upload with the name in the query; type from the content.
        let res = api
            .post(format!("/api/v1/tenders/{id}/documents?name=Leistungsbeschreibung.txt"))
            .header(bearer(&tk.officer))
            .header(ContentType::Plain)
            .body("Leistungsbeschreibung: Notebooks mit 16 GB RAM.")
            .dispatch();
        assert_eq!(res.status(), Status::Created);
        let meta: Value = res.into_json().unwrap();
        let doc_id = meta["id"].as_i64().unwrap();
        assert_eq!(
            meta["size_bytes"],
            "Leistungsbeschreibung: Notebooks mit 16 GB RAM.".len()
        );
        let res = api
            .post(format!("/api/v1/tenders/{id}/documents?name=angebot.pdf"))
            .header(bearer(&tk.officer))
            .body("kein PDF")
            .dispatch();
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().unwrap().contains("Erlaubt sind PDF"));
        let res = api
            .post(format!("/api/v1/tenders/{id}/documents?name=gross.txt"))
            .header(bearer(&tk.officer))
            .body(vec![b'a'; buendel::tender::MAX_DOCUMENT_BYTES + 10])
            .dispatch();
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().unwrap().contains("größer als 20 MB"));
        let res = api
            .post(format!("/api/v1/tenders/{id}/documents"))
            .header(bearer(&tk.officer))
            .body("Text")
            .dispatch();
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let res = api
            .post(format!("/api/v1/tenders/{id}/documents?name=Hinweis.txt"))
            .header(bearer(&tk.vendor))
            .body("Text")
            .dispatch();
        assert_eq!(res.status(), Status::Forbidden);
        let res = api
            .post(format!("/api/v1/tenders/{id}/documents?name=Entwurf.txt"))
            .header(bearer(&tk.officer))
            .body("vorläufig")
            .dispatch();
        let draft_doc = res.into_json::<Value>().unwrap()["id"].as_i64().unwrap();
        let res = api
            .delete(format!("/api/v1/tenders/{id}/documents/{draft_doc}"))
            .header(bearer(&tk.officer))
            .dispatch();
        assert_eq!(res.status(), Status::Ok);

        // The draft changes, then is published.
        let mut changed = body.clone();
        changed["title"] = json!("Arbeitsplatz 2027 (geändert)");
        changed.as_object_mut().unwrap().remove("demand_call_id");
        let res = send_json(
            &api,
            rocket::http::Method::Put,
            &format!("/api/v1/tenders/{id}"),
            &tk.officer,
            &changed,
        );
        assert_eq!(res.status(), Status::Ok);
        let updated: Value = res.into_json().unwrap();
        assert_documented(&doc, "/tenders/{id}", "put", "200", &updated);
        assert_eq!(updated["title"], "Arbeitsplatz 2027 (geändert)");
        assert_eq!(
            post(&api, &format!("/api/v1/tenders/{id}/publish"), &tk.vendor).status(),
            Status::Forbidden
        );
        let res = post(&api, &format!("/api/v1/tenders/{id}/publish"), &tk.officer);
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.into_json::<Value>().unwrap()["vendors_mailed"], 2);
        assert_eq!(
            post(&api, &format!("/api/v1/tenders/{id}/publish"), &tk.officer).status(),
            Status::Conflict
        );
        let res = send_json(
            &api,
            rocket::http::Method::Put,
            &format!("/api/v1/tenders/{id}"),
            &tk.officer,
            &changed,
        );
        assert_eq!(res.status(), Status::Conflict);

        // Vendors now read it, without the number of bids.
        let listed: Value = get(&api, "/api/v1/tenders", &tk.vendor).into_json().unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_documented(&doc, "/tenders", "get", "200", &listed);
        let seen: Value = get(&api, &format!("/api/v1/tenders/{id}"), &tk.vendor)
            .into_json()
            .unwrap();
        assert_documented(&doc, "/tenders/{id}", "get", "200", &seen);
        assert_eq!(seen["status"], "published");
        assert!(seen.get("bid_count").is_none());
        assert_eq!(seen["documents"].as_array().unwrap().len(), 1);
        let members: Vec<&str> = seen["entitled_members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(members, vec!["Stadt Adorf", "Stadt Bedorf"]);
        let res = get(&api, &format!("/api/v1/tenders/{id}/documents/{doc_id}"), &tk.vendor);
        assert_eq!(res.status(), Status::Ok);
        assert!(res
            .headers()
            .get_one("Content-Disposition")
            .unwrap()
            .contains("Leistungsbeschreibung.txt"));
        assert_eq!(
            res.into_string().unwrap(),
            "Leistungsbeschreibung: Notebooks mit 16 GB RAM."
        );

        // Questions: the asker is never named; answers reach everyone.
        let res = send_json(
            &api,
            rocket::http::Method::Post,
            &format!("/api/v1/tenders/{id}/questions"),
            &tk.vendor,
            &json!({ "question": "Sind auch 15-Zoll-Geräte zulässig?" }),
        );
        assert_eq!(res.status(), Status::Created);
        let q: Value = res.into_json().unwrap();
        assert_documented(&doc, "/tenders/{id}/questions", "post", "201", &q);
        assert_eq!(q["mine"], true);
        let qid = q["id"].as_i64().unwrap();
        let others: Value = get(&api, &format!("/api/v1/tenders/{id}/questions"), &tk.vendor2)
            .into_json()
            .unwrap();
        assert_eq!(
            others.as_array().unwrap().len(),
            0,
            "unanswered questions stay with the asker"
        );
        let res = send_json(
            &api,
            rocket::http::Method::Post,
            &format!("/api/v1/tenders/{id}/questions/{qid}/answer"),
            &tk.officer,
            &json!({ "answer": "Nein, nur 14 Zoll." }),
        );
        assert_eq!(res.status(), Status::Ok);
        let answered: Value = res.into_json().unwrap();
        assert_documented(
            &doc,
            "/tenders/{id}/questions/{question}/answer",
            "post",
            "200",
            &answered,
        );
        let others: Value = get(&api, &format!("/api/v1/tenders/{id}/questions"), &tk.vendor2)
            .into_json()
            .unwrap();
        assert_documented(&doc, "/tenders/{id}/questions", "get", "200", &others);
        assert_eq!(others[0]["answer"], "Nein, nur 14 Zoll.");
        assert_eq!(others[0]["mine"], false);
        assert!(!others.to_string().contains("Systemhaus"));

        // The officer sees the count of bids.
        let officer_view: Value = get(&api, &format!("/api/v1/tenders/{id}"), &tk.officer)
            .into_json()
            .unwrap();
        assert_eq!(officer_view["bid_count"], 0);
    });
}

#[test]
fn vendor_bids_by_json_and_by_csv_and_every_change_gets_a_new_receipt() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let tk = tokens(&app);
        let api = app.client();
        let doc: Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
        let (id, _) = published_tender(&app, &w, &api, &tk);
        let bid_path = format!("/api/v1/tenders/{id}/bid");

        // JSON takes plain notation only: German notation is refused, naming the position.
        let res = send_json(
            &api,
            rocket::http::Method::Put,
            &bid_path,
            &tk.vendor,
            &json_bid("849.90", "1.234,5"),
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let refused: Value = res.into_json().unwrap();
        assert!(
            refused["fields"]["prices"][0]
                .as_str()
                .unwrap()
                .starts_with("Pos. 2: Der Preis „1.234,5“"),
            "{refused}"
        );
        let res = send_json(
            &api,
            rocket::http::Method::Put,
            &bid_path,
            &tk.vendor,
            &json_bid("849.90", "1234.5"),
        );
        assert_eq!(res.status(), Status::Created);
        let first: Value = res.into_json().unwrap();
        assert_documented(&doc, "/tenders/{id}/bid", "put", "201", &first);
        let hash1 = first["receipt_sha256"].as_str().unwrap().to_string();
        assert_eq!(hash1.len(), 64);
        assert!(hash1.bytes().all(|c| c.is_ascii_hexdigit()));
        // 120.5 × 849.90 + 40 × 1234.50
        assert_eq!(first["lot_totals"], json!([{ "lot_no": 1, "total": "151792.95" }]));

        // Another price, another receipt.
        let res = send_json(
            &api,
            rocket::http::Method::Put,
            &bid_path,
            &tk.vendor,
            &json_bid("0.125", "1234.5"),
        );
        assert_eq!(res.status(), Status::Created);
        let second: Value = res.into_json().unwrap();
        let hash2 = second["receipt_sha256"].as_str().unwrap().to_string();
        assert_ne!(hash1, hash2);
        assert_eq!(second["version"], 2);
        let own: Value = get(&api, &bid_path, &tk.vendor).into_json().unwrap();
        assert_documented(&doc, "/tenders/{id}/bid", "get", "200", &own);
        assert_eq!(own["current"]["receipt_sha256"], hash2.as_str());
        assert_eq!(
            own["current"]["prices"],
            json!([{ "position_no": 1, "unit_price": "0.1250" }, { "position_no": 2, "unit_price": "1234.5000" }])
        );
        assert_eq!(own["history"].as_array().unwrap().len(), 2);
        assert_eq!(own["history"][1]["status"], "superseded");

        // Bad JSON bids name every problem and change nothing.
        let res = send_json(
            &api,
            rocket::http::Method::Put,
            &bid_path,
            &tk.vendor,
            &json!({
                "prices": [
                    { "position_no": 1, "unit_price": "zwölf" },
                    { "position_no": 2, "unit_price": 12.5 },
                    { "position_no": 99, "unit_price": "1" },
                    { "position_no": 3, "unit_price": "1.00001" }
                ],
                "lots": [7], "a_confirmed": [true, true]
            }),
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let err: Value = res.into_json().unwrap();
        let text = err["fields"].to_string();
        assert!(text.contains("Pos. 1: Der Preis „zwölf“ ist keine Zahl"), "{text}");
        assert!(
            text.contains("Pos. 2: Der Preis 12.5 muss als Zeichenkette stehen, damit nichts gerundet wird"),
            "{text}"
        );
        assert!(text.contains("Pos. 99 gibt es in dieser Ausschreibung nicht"), "{text}");
        assert!(
            text.contains("Pos. 3: Der Preis „1.00001“ hat mehr als 4 Nachkommastellen"),
            "{text}"
        );
        assert!(text.contains("Los 7 gibt es in dieser Ausschreibung nicht"), "{text}");
        // A lot with a missing price, unconfirmed A-criteria: the service's messages.
        let res = send_json(
            &api,
            rocket::http::Method::Put,
            &bid_path,
            &tk.vendor,
            &json!({ "prices": [{ "position_no": 1, "unit_price": "10" }], "a_confirmed": [true, true] }),
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().unwrap().contains("Pos. 2"));
        let mut unconfirmed = json_bid("10", "10");
        unconfirmed["a_confirmed"] = json!([true]);
        let res = send_json(&api, rocket::http::Method::Put, &bid_path, &tk.vendor, &unconfirmed);
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().unwrap().contains("A2"));
        let res = api
            .put(bid_path.clone())
            .header(bearer(&tk.vendor))
            .header(ContentType::JSON)
            .body("{\"prices\": [")
            .dispatch();
        assert_eq!(res.status(), Status::BadRequest);
        assert!(res.into_string().unwrap().contains("Ungültiges JSON"));
        // Officers do not bid.
        let res = send_json(
            &api,
            rocket::http::Method::Put,
            &bid_path,
            &tk.officer,
            &json_bid("1", "1"),
        );
        assert_eq!(res.status(), Status::Forbidden);
        let own: Value = get(&api, &bid_path, &tk.vendor).into_json().unwrap();
        assert_eq!(own["current"]["receipt_sha256"], hash2.as_str());

        // The price sheet: template with the own prices, filled in Excel's German style.
        let res = get(&api, &format!("/api/v1/tenders/{id}/price-sheet.csv"), &tk.vendor);
        assert_eq!(res.status(), Status::Ok);
        let template = res.into_string().unwrap();
        assert!(template.contains("Einzelpreis (EUR netto)"));
        assert!(
            template.contains(";0,125\n") || template.contains(";0,125\r\n"),
            "{template}"
        );
        let other_template = get(&api, &format!("/api/v1/tenders/{id}/price-sheet.csv"), &tk.vendor2)
            .into_string()
            .unwrap();
        assert!(
            !other_template.contains("0,125"),
            "another vendor's template has no prices"
        );
        let csv = "Los;Pos.;Beschreibung;Einzelpreis (EUR netto)\n\
                   1;1;Notebook 14 Zoll;849,90\n\
                   1;2;Monitor 24 Zoll;1.234,50\n\
                   2;3;Rollout je Gerät;39,00\n";
        let res = put_price_sheet(&api, id, &tk.vendor, "?a=1&a=2&b=Vor-Ort-Service&b=EPEAT%20Gold", csv);
        assert_eq!(res.status(), Status::Created);
        let third: Value = res.into_json().unwrap();
        assert_documented(&doc, "/tenders/{id}/bid/price-sheet", "put", "201", &third);
        let hash3 = third["receipt_sha256"].as_str().unwrap().to_string();
        assert_ne!(hash3, hash2);
        assert_ne!(hash3, hash1);
        assert_eq!(
            third["lot_totals"],
            json!([{ "lot_no": 1, "total": "151792.95" }, { "lot_no": 2, "total": "4680.00" }])
        );
        let own: Value = get(&api, &bid_path, &tk.vendor).into_json().unwrap();
        assert_eq!(own["current"]["b_texts"], json!(["Vor-Ort-Service", "EPEAT Gold"]));
        assert_eq!(own["current"]["a_confirmed"], json!([true, true]));

        // A file with bad rows: each one reported, nothing taken.
        let bad = "Los;Pos.;Einzelpreis (EUR netto)\n1;1;abc\n1;2;-5\n2;3;1,5\n1;44;3\n";
        let res = put_price_sheet(&api, id, &tk.vendor, "?a=1&a=2", bad);
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let err: Value = res.into_json().unwrap();
        let rows = err["fields"]["file"].as_array().unwrap();
        assert_eq!(rows.len(), 3, "{err}");
        assert!(rows[0].as_str().unwrap().starts_with("Zeile 2"), "{err}");
        assert!(rows[2].as_str().unwrap().contains("„44“"), "{err}");
        // Criteria numbers that do not exist, a file that is no CSV.
        let res = put_price_sheet(&api, id, &tk.vendor, "?a=1&a=7&a=zwei", csv);
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let err: Value = res.into_json().unwrap();
        assert_eq!(err["fields"]["a"].as_array().unwrap().len(), 2, "{err}");
        let res = put_price_sheet(&api, id, &tk.vendor, "?a=1", csv);
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().unwrap().contains("Offen: A2."));
        let res = put_price_sheet(&api, id, &tk.vendor, "", csv);
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().unwrap().contains("Offen: A1, A2."));
        let res = api
            .put(format!("/api/v1/tenders/{id}/bid/price-sheet"))
            .header(bearer(&tk.vendor))
            .header(ContentType::JSON)
            .body("{}")
            .dispatch();
        assert_eq!(res.status(), Status::BadRequest);
        assert!(res.into_string().unwrap().contains("text/csv"));
        let own: Value = get(&api, &bid_path, &tk.vendor).into_json().unwrap();
        assert_eq!(own["current"]["receipt_sha256"], hash3.as_str());

        // Withdrawal, then a fresh bid.
        let res = api.delete(bid_path.clone()).header(bearer(&tk.vendor)).dispatch();
        assert_eq!(res.status(), Status::Ok);
        let own: Value = get(&api, &bid_path, &tk.vendor).into_json().unwrap();
        assert!(own["current"].is_null());
        assert_eq!(own["history"][0]["status"], "withdrawn");
        let res = api.delete(bid_path.clone()).header(bearer(&tk.vendor)).dispatch();
        assert_eq!(res.status(), Status::Conflict);
    });
}

#[test]
fn a_bid_at_or_after_the_deadline_is_refused() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let tk = tokens(&app);
        let api = app.client();
        let (id, deadline) = published_tender(&app, &w, &api, &tk);
        let bid_path = format!("/api/v1/tenders/{id}/bid");
        let csv = "Los;Pos.;Einzelpreis (EUR netto)\n1;1;10\n1;2;20\n";
        // One second before: accepted.
        app.state.clock.set(deadline.and_utc() - chrono::Duration::seconds(1));
        let res = send_json(
            &api,
            rocket::http::Method::Put,
            &bid_path,
            &tk.vendor,
            &json_bid("10", "20"),
        );
        assert_eq!(res.status(), Status::Created);
        // Exactly at the deadline and one second after: refused, whichever way it comes.
        for at in [deadline.and_utc(), deadline.and_utc() + chrono::Duration::seconds(1)] {
            app.state.clock.set(at);
            let res = send_json(
                &api,
                rocket::http::Method::Put,
                &bid_path,
                &tk.vendor,
                &json_bid("9", "19"),
            );
            assert_eq!(res.status(), Status::Conflict, "at {at}");
            assert!(res.into_string().unwrap().contains("Angebotsfrist"));
            let res = put_price_sheet(&api, id, &tk.vendor2, "?a=1&a=2", csv);
            assert_eq!(res.status(), Status::Conflict, "csv at {at}");
            let res = api.delete(bid_path.clone()).header(bearer(&tk.vendor)).dispatch();
            assert_eq!(res.status(), Status::Conflict);
            let res = send_json(
                &api,
                rocket::http::Method::Post,
                &format!("/api/v1/tenders/{id}/questions"),
                &tk.vendor,
                &json!({ "question": "Noch eine späte Frage?" }),
            );
            assert_eq!(res.status(), Status::Conflict);
        }
        let own: Value = get(&api, &bid_path, &tk.vendor).into_json().unwrap();
        assert_eq!(own["history"].as_array().unwrap().len(), 1);
        assert_eq!(own["current"]["prices"][0]["unit_price"], "10.0000");
    });
}

#[test]
fn nobody_reads_a_bid_before_two_officers_open_them() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let tk = tokens(&app);
        let api = app.client();
        let doc: Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
        let (id, deadline) = published_tender(&app, &w, &api, &tk);
        // Prices no other response may ever contain: random, so that no id, time, token or hash
        // in a response can contain one by chance.
        let (notebook, monitor) = (SecretNumber::new(4), SecretNumber::new(4));
        let rival = [SecretNumber::new(2), SecretNumber::new(2), SecretNumber::new(2)];
        let res = send_json(
            &api,
            rocket::http::Method::Put,
            &format!("/api/v1/tenders/{id}/bid"),
            &tk.vendor,
            &json_bid(&notebook.plain(), &monitor.plain()),
        );
        assert_eq!(res.status(), Status::Created);
        let receipt1: Value = res.into_json().unwrap();
        app.state.clock.advance(chrono::Duration::minutes(1));
        let csv = format!(
            "Los;Pos.;Einzelpreis (EUR netto)\n1;1;{}\n1;2;{}\n2;3;{}\n",
            rival[0].german(),
            rival[1].german(),
            rival[2].german()
        );
        let res = put_price_sheet(&api, id, &tk.vendor2, "?a=1&a=2&b=Service", &csv);
        assert_eq!(res.status(), Status::Created);
        let receipt2: Value = res.into_json().unwrap();
        let secrets: Vec<&SecretNumber> = [&notebook, &monitor].into_iter().chain(&rival).collect();
        let sealed = |phase: &str| {
            let mut readers = vec![
                ("officer", &tk.officer, Status::Forbidden),
                ("admin", &tk.admin, Status::Forbidden),
                ("board", &tk.board, Status::Forbidden),
                ("buyer", &tk.buyer, Status::NotFound),
            ];
            readers.push(("vendor2", &tk.vendor2, Status::NotFound));
            for (who, token, status) in readers {
                for path in [
                    format!("/api/v1/tenders/{id}/bids"),
                    format!("/api/v1/tenders/{id}/bids.csv"),
                    format!("/api/v1/tenders/{id}/opening-record"),
                ] {
                    let res = get(&api, &path, token);
                    let code = res.status();
                    let body = res.into_string().unwrap_or_default();
                    if path.ends_with("opening-record") {
                        assert!(code.code >= 400, "{phase}: {who} {path} {code}");
                    } else {
                        assert_eq!(code, status, "{phase}: {who} {path}: {body}");
                    }
                    for s in &secrets {
                        if let Some(trace) = s.found_in(&body) {
                            panic!("{phase}: {who} {path} shows {trace}: {body}");
                        }
                    }
                }
                // The tender itself and the other vendor's own view show no content either.
                let body = get(&api, &format!("/api/v1/tenders/{id}"), token)
                    .into_string()
                    .unwrap();
                let own = get(&api, &format!("/api/v1/tenders/{id}/bid"), token)
                    .into_string()
                    .unwrap();
                let sheet = get(&api, &format!("/api/v1/tenders/{id}/price-sheet.csv"), token)
                    .into_string()
                    .unwrap();
                for s in [&notebook, &monitor] {
                    assert!(
                        s.found_in(&body).is_none() && s.found_in(&own).is_none() && s.found_in(&sheet).is_none(),
                        "{phase}: {who}"
                    );
                }
            }
        };
        sealed("before the deadline");
        let view: Value = get(&api, &format!("/api/v1/tenders/{id}"), &tk.board)
            .into_json()
            .unwrap();
        assert_eq!(view["bid_count"], 2);
        // Opening is for after the deadline.
        assert_eq!(
            post(&api, &format!("/api/v1/tenders/{id}/opening"), &tk.officer).status(),
            Status::Conflict
        );
        app.state.clock.set(deadline.and_utc() + chrono::Duration::minutes(5));
        sealed("after the deadline");
        // Nobody but officers starts; the starter cannot confirm alone.
        for token in [&tk.admin, &tk.board, &tk.vendor] {
            assert_eq!(
                post(&api, &format!("/api/v1/tenders/{id}/opening"), token).status(),
                Status::Forbidden
            );
        }
        assert_eq!(
            post(&api, &format!("/api/v1/tenders/{id}/opening/confirm"), &tk.officer).status(),
            Status::Conflict,
            "nothing to confirm yet"
        );
        let res = post(&api, &format!("/api/v1/tenders/{id}/opening"), &tk.officer);
        assert_eq!(res.status(), Status::Ok);
        let res = post(&api, &format!("/api/v1/tenders/{id}/opening/confirm"), &tk.officer);
        assert_eq!(res.status(), Status::Forbidden);
        assert!(res.into_string().unwrap().contains("zweite, andere Person"));
        for token in [&tk.admin, &tk.board] {
            assert_eq!(
                post(&api, &format!("/api/v1/tenders/{id}/opening/confirm"), token).status(),
                Status::Forbidden
            );
        }
        sealed("opening started by one officer");

        // The second officer confirms: now officers and the board read the bids.
        let res = post(&api, &format!("/api/v1/tenders/{id}/opening/confirm"), &tk.officer2);
        assert_eq!(res.status(), Status::Ok);
        let confirmed: Value = res.into_json().unwrap();
        for token in [&tk.officer, &tk.officer2, &tk.board] {
            let res = get(&api, &format!("/api/v1/tenders/{id}/bids"), token);
            assert_eq!(res.status(), Status::Ok);
            let opened: Value = res.into_json().unwrap();
            assert_documented(&doc, "/tenders/{id}/bids", "get", "200", &opened);
            assert_eq!(opened.as_array().unwrap().len(), 2);
            assert_eq!(opened[0]["vendor"], "Systemhaus Test GmbH");
            assert_eq!(opened[0]["prices"][0]["unit_price"], notebook.plain());
            assert_eq!(opened[1]["vendor"], "Konkurrenz IT AG");
            assert_eq!(opened[1]["b_texts"], json!(["Service", ""]));
            let csv = get(&api, &format!("/api/v1/tenders/{id}/bids.csv"), token)
                .into_string()
                .unwrap();
            for s in [&notebook, &rival[0]] {
                assert!(
                    csv.contains(&s.german()) || csv.contains(&s.german_grouped()),
                    "{} in {csv}",
                    s.german()
                );
            }
        }
        // The admin runs the system, not the procurement; vendors and buyers never read bids.
        for token in [&tk.admin, &tk.vendor, &tk.buyer] {
            let res = get(&api, &format!("/api/v1/tenders/{id}/bids"), token);
            assert!(matches!(res.status(), Status::Forbidden | Status::NotFound));
            assert_eq!(notebook.found_in(&res.into_string().unwrap()), None);
        }
        // The opening record names every receipt and matches its stored hash.
        let res = get(&api, &format!("/api/v1/tenders/{id}/opening-record"), &tk.officer);
        assert_eq!(res.status(), Status::Ok);
        let record: Value = res.into_json().unwrap();
        assert_documented(&doc, "/tenders/{id}/opening-record", "get", "200", &record);
        let html = record["html"].as_str().unwrap();
        for r in [&receipt1, &receipt2] {
            assert!(html.contains(r["receipt_sha256"].as_str().unwrap()), "{html}");
        }
        assert_eq!(record["sha256"], hex::encode(Sha256::digest(html.as_bytes())));
        assert_eq!(record["sha256"], confirmed["opening_record_sha256"]);
        assert_eq!(
            get(&api, &format!("/api/v1/tenders/{id}/opening-record"), &tk.admin).status(),
            Status::Forbidden
        );
        assert_eq!(
            post(&api, &format!("/api/v1/tenders/{id}/opening/confirm"), &tk.officer2).status(),
            Status::Conflict
        );
    });
}

#[test]
fn bad_requests_get_german_json_errors_never_a_500() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let tk = tokens(&app);
        let api = app.client();
        let (id, _) = published_tender(&app, &w, &api, &tk);
        let check = |res: rocket::local::blocking::LocalResponse<'_>, expected: Status| {
            let status = res.status();
            assert_eq!(res.content_type(), Some(ContentType::JSON), "{status}");
            let body: Value = res.into_json().unwrap();
            assert_eq!(status, expected, "{body}");
            assert!(body["message"].is_string(), "{body}");
        };
        check(get(&api, "/api/v1/tenders/abc", &tk.officer), Status::NotFound);
        check(get(&api, "/api/v1/tenders/999999", &tk.officer), Status::NotFound);
        check(api.get("/api/v1/tenders").dispatch(), Status::Unauthorized);
        check(
            post(&api, "/api/v1/tenders/abc/publish", &tk.officer),
            Status::UnprocessableEntity,
        );
        check(
            api.post("/api/v1/tenders")
                .header(bearer(&tk.officer))
                .header(ContentType::JSON)
                .body("[1, 2")
                .dispatch(),
            Status::BadRequest,
        );
        check(
            api.post("/api/v1/tenders")
                .header(bearer(&tk.officer))
                .header(ContentType::JSON)
                .body(json!({ "lots": "eins", "term_months": "zwölf" }).to_string())
                .dispatch(),
            Status::UnprocessableEntity,
        );
        check(
            api.post("/api/v1/tenders")
                .header(bearer(&tk.officer))
                .header(ContentType::JSON)
                .body("{}")
                .dispatch(),
            Status::UnprocessableEntity,
        );
        check(
            send_json(
                &api,
                rocket::http::Method::Put,
                &format!("/api/v1/tenders/{id}/bid"),
                &tk.vendor,
                &json!({ "prices": [{ "position_no": "eins", "unit_price": "1" }] }),
            ),
            Status::UnprocessableEntity,
        );
        check(
            send_json(
                &api,
                rocket::http::Method::Post,
                &format!("/api/v1/tenders/{id}/questions/abc/answer"),
                &tk.officer,
                &json!({ "answer": "Ja" }),
            ),
            Status::UnprocessableEntity,
        );
        check(
            send_json(
                &api,
                rocket::http::Method::Post,
                &format!("/api/v1/tenders/{id}/questions/424242/answer"),
                &tk.officer,
                &json!({ "answer": "Ja, gern." }),
            ),
            Status::NotFound,
        );
        check(
            get(&api, &format!("/api/v1/tenders/{id}/documents/424242"), &tk.vendor),
            Status::NotFound,
        );
        check(
            put_price_sheet(&api, id, &tk.vendor, "", ""),
            Status::UnprocessableEntity,
        );
        check(
            put_price_sheet(&api, id, &tk.vendor, "?a=1&a=2", "\"kaputt;1\n1;\"2"),
            Status::UnprocessableEntity,
        );
        check(
            api.put(format!("/api/v1/tenders/{id}/bid/price-sheet"))
                .header(bearer(&tk.vendor))
                .header(ContentType::CSV)
                .body(vec![0xFFu8, 0xFE, 0x00, 0x01, b';', b'\n'])
                .dispatch(),
            Status::UnprocessableEntity,
        );
    });
}
