//! Admin pages and the JSON API: organisations and accounts are validated with German messages,
//! audited, and refused to everyone who is not the admin; the OpenAPI document stays true.

mod common;

use buendel::db::schema::{audit_events, organisations, users};
use common::*;
use diesel::prelude::*;
use rocket::http::{ContentType, Status};
use serde_json::{json, Value};

fn audit_count(app: &TestApp, action: &str) -> i64 {
    let mut c = app.conn();
    audit_events::table
        .filter(audit_events::action.eq(action))
        .count()
        .get_result(&mut *c)
        .unwrap()
}

#[test]
fn admin_creates_a_member_and_the_change_is_audited() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let admin = browser(&app, "admin");
        let res = post_form(
            &admin,
            "/verwaltung/mitglieder",
            &[
                ("name", "Stadt Cedorf"),
                ("street", "Markt 1"),
                ("postal_code", "35037"),
                ("city", "Marburg"),
                ("member_kind", "kommune"),
                ("leitweg_id", "991-33333TEST-33"),
            ],
        );
        assert_eq!(res.status(), Status::SeeOther);
        let location = res.headers().get_one("Location").unwrap().to_string();
        let page = admin.get(location).dispatch().into_string().unwrap();
        assert!(page.contains("Stadt Cedorf"));
        assert_eq!(audit_count(&app, "organisation.created"), 1);
        let list = admin.get("/verwaltung/mitglieder").dispatch().into_string().unwrap();
        assert!(list.contains("Stadt Cedorf") && list.contains("Stadt Adorf"));
    });
}

#[test]
fn wrong_leitweg_id_is_explained_and_nothing_is_stored() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let admin = browser(&app, "admin");
        let res = post_form(
            &admin,
            "/verwaltung/mitglieder",
            &[
                ("name", "Stadt Cedorf"),
                ("street", "Markt 1"),
                ("postal_code", "35037"),
                ("city", "Marburg"),
                ("member_kind", "kommune"),
                ("leitweg_id", "991-33333TEST-34"),
            ],
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = res.into_string().unwrap();
        assert!(html.contains("Prüfziffer stimmt nicht (erwartet 33)"), "{html}");
        assert!(html.contains("value=\"Stadt Cedorf\""), "input is kept");
        let mut c = app.conn();
        let n: i64 = organisations::table
            .filter(organisations::name.eq("Stadt Cedorf"))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn admin_creates_a_user_whose_role_must_fit_the_organisation() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let admin = browser(&app, "admin");
        let member = w.member_a.to_string();
        let res = post_form(
            &admin,
            "/verwaltung/benutzer",
            &[
                ("name", "Olga Officer"),
                ("email", "olga@test.example"),
                ("role", "officer"),
                ("organisation_id", &member),
                ("password", "Ein-gutes-Passwort"),
            ],
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().unwrap().contains("passt nicht zu"));
        let res = post_form(
            &admin,
            "/verwaltung/benutzer",
            &[
                ("name", "Bernd Buyer"),
                ("email", "Bernd@Test.example"),
                ("role", "buyer"),
                ("organisation_id", &member),
                ("password", "Ein-gutes-Passwort"),
            ],
        );
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(app.deliver_mail(), 1);
        let (to, mail) = app.sent_mail().remove(0);
        assert_eq!(to, "bernd@test.example");
        assert!(!mail.contains("Ein-gutes-Passwort"), "the password is never mailed");
        assert_eq!(
            login_with(&app.client(), "bernd@test.example", "Ein-gutes-Passwort"),
            Status::SeeOther
        );
        // The same e-mail address cannot be used twice.
        let res = post_form(
            &admin,
            "/verwaltung/benutzer",
            &[
                ("name", "Bernd Zwei"),
                ("email", "bernd@test.example"),
                ("role", "buyer"),
                ("organisation_id", &member),
                ("password", "Ein-gutes-Passwort"),
            ],
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().unwrap().contains("bereits vergeben"));
    });
}

#[test]
fn suspending_a_vendor_logs_its_users_out() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let vendor = browser(&app, "vendor");
        let admin = browser(&app, "admin");
        let res = post_form(
            &admin,
            &format!("/verwaltung/lieferanten/{}/status", w.vendor),
            &[("status", "suspended")],
        );
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(vendor.get("/").dispatch().status(), Status::SeeOther);
        assert_eq!(audit_count(&app, "vendor.suspended"), 1);
        let fresh = app.client();
        let res = post_form(
            &fresh,
            "/anmelden",
            &[("email", "vendor@test.example"), ("password", PASSWORD)],
        );
        assert_eq!(res.status(), Status::Forbidden);
        assert!(res.into_string().unwrap().contains("gesperrt"));
    });
}

#[test]
fn catalogue_is_read_by_officers_and_extended_by_the_admin_only() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let officer = browser(&app, "officer");
        let res = officer.get("/katalog").dispatch();
        assert_eq!(res.status(), Status::Ok);
        assert!(res.into_string().unwrap().contains("Der Katalog ist noch leer"));
        let res = post_form(
            &officer,
            "/katalog",
            &[
                ("description", "Notebook"),
                ("unit", "Stück"),
                ("cpv_code", "30213100-6"),
            ],
        );
        assert_eq!(res.status(), Status::Forbidden);
        assert_eq!(
            browser(&app, "buyer_a").get("/katalog").dispatch().status(),
            Status::Forbidden
        );
        let admin = browser(&app, "admin");
        let res = post_form(
            &admin,
            "/katalog",
            &[
                ("description", "Notebook 14 Zoll"),
                ("unit", "Stück"),
                ("cpv_code", "30213100"),
            ],
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        assert!(res.into_string().unwrap().contains("12345678-9"));
        let res = post_form(
            &admin,
            "/katalog",
            &[
                ("description", "Notebook 14 Zoll"),
                ("unit", "Stück"),
                ("cpv_code", "30213100-6"),
            ],
        );
        assert_eq!(res.status(), Status::SeeOther);
        let page = officer.get("/katalog").dispatch().into_string().unwrap();
        assert!(page.contains("Notebook 14 Zoll"));
        // The count the first view kept follows the new position.
        assert!(page.contains("Katalogpositionen (1)"), "{page}");
    });
}

#[test]
fn api_me_with_a_token_created_on_the_account_page() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let buyer = browser(&app, "buyer_a");
        let token = api_token(&buyer);
        let api = app.client();
        let res = api.get("/api/v1/me").header(bearer(&token)).dispatch();
        assert_eq!(res.status(), Status::Ok);
        let me: Value = res.into_json().unwrap();
        assert_eq!(me["email"], "buyer_a@test.example");
        assert_eq!(me["role"], "buyer");
        assert_eq!(me["organisation_name"], "Stadt Adorf");
        // The token is stored only as a hash.
        let mut c = app.conn();
        let stored: String = buendel::db::schema::api_tokens::table
            .select(buendel::db::schema::api_tokens::token_hash)
            .first(&mut *c)
            .unwrap();
        assert_eq!(stored, buendel::auth::sha256_hex(&token));
        drop(c);
        // The owner sees when the token was last used.
        let account = buyer.get("/konto").dispatch().into_string().unwrap();
        assert!(!account.contains(">nie<"), "last use shown instead of „nie“: {account}");
    });
}

#[test]
fn revoked_or_wrong_tokens_are_refused_with_json() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let buyer = browser(&app, "buyer_a");
        let token = api_token(&buyer);
        let api = app.client();
        let res = api.get("/api/v1/me").dispatch();
        assert_eq!(res.status(), Status::Unauthorized);
        let body: Value = res.into_json().unwrap();
        assert_eq!(body["code"], "unauthorized");
        assert!(body["message"].as_str().unwrap().contains("Bearer"));
        assert_eq!(
            api.get("/api/v1/me").header(bearer("bdl_falsch")).dispatch().status(),
            Status::Unauthorized
        );
        let id: i64 = {
            let mut c = app.conn();
            buendel::db::schema::api_tokens::table
                .select(buendel::db::schema::api_tokens::id)
                .first(&mut *c)
                .unwrap()
        };
        // Another user cannot revoke it.
        let other = browser(&app, "buyer_b");
        assert_eq!(
            post_form(&other, &format!("/konto/tokens/{id}/widerrufen"), &[]).status(),
            Status::NotFound
        );
        assert_eq!(
            api.get("/api/v1/me").header(bearer(&token)).dispatch().status(),
            Status::Ok
        );
        assert_eq!(
            post_form(&buyer, &format!("/konto/tokens/{id}/widerrufen"), &[]).status(),
            Status::SeeOther
        );
        assert_eq!(
            api.get("/api/v1/me").header(bearer(&token)).dispatch().status(),
            Status::Unauthorized
        );
    });
}

#[test]
fn api_admin_operations_are_refused_to_others() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let buyer_token = api_token(&browser(&app, "buyer_a"));
        let api = app.client();
        for path in [
            "/api/v1/users".to_string(),
            "/api/v1/organisations".to_string(),
            format!("/api/v1/organisations/{}", w.member_b),
            format!("/api/v1/users/{}", w.users["admin"]),
        ] {
            let res = api.get(path.clone()).header(bearer(&buyer_token)).dispatch();
            assert_eq!(res.status(), Status::Forbidden, "{path}");
            assert_eq!(res.into_json::<Value>().unwrap()["code"], "forbidden");
        }
        // Own organisation and own account are readable.
        assert_eq!(
            api.get(format!("/api/v1/organisations/{}", w.member_a))
                .header(bearer(&buyer_token))
                .dispatch()
                .status(),
            Status::Ok
        );
        assert_eq!(
            api.get(format!("/api/v1/users/{}", w.users["buyer_a"]))
                .header(bearer(&buyer_token))
                .dispatch()
                .status(),
            Status::Ok
        );
        let res = api
            .post("/api/v1/users")
            .header(bearer(&buyer_token))
            .header(ContentType::JSON)
            .body(json!({ "email": "x@test.example", "name": "X Y", "role": "admin", "organisation_id": w.coop, "password": "Ein-gutes-Passwort" }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::Forbidden);
        let mut c = app.conn();
        let n: i64 = users::table
            .filter(users::email.eq("x@test.example"))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn api_admin_creates_organisations_and_users_with_field_errors_in_german() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let token = api_token(&browser(&app, "admin"));
        let api = app.client();
        let res = api
            .post("/api/v1/organisations")
            .header(bearer(&token))
            .header(ContentType::JSON)
            .body(json!({ "org_type": "vendor", "name": "API Systeme AG", "street": "Weg 1", "postal_code": "60311", "city": "Frankfurt am Main", "vat_id": "DE13669597", "contact_email": "api@x.example" }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let body: Value = res.into_json().unwrap();
        assert_eq!(body["code"], "validation_failed");
        assert!(body["fields"]["vat_id"][0].as_str().unwrap().contains("9 Ziffern"));
        let res = api
            .post("/api/v1/organisations")
            .header(bearer(&token))
            .header(ContentType::JSON)
            .body(json!({ "org_type": "vendor", "name": "API Systeme AG", "street": "Weg 1", "postal_code": "60311", "city": "Frankfurt am Main", "vat_id": "DE136695976", "contact_email": "api@x.example" }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::Created);
        let org: Value = res.into_json().unwrap();
        assert_eq!(org["vendor_status"], "approved");
        let res = api
            .post("/api/v1/users")
            .header(bearer(&token))
            .header(ContentType::JSON)
            .body(json!({ "email": "neu@test.example", "name": "Neu Person", "role": "buyer", "organisation_id": w.member_b, "password": "Ein-gutes-Passwort" }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::Created);
        let user: Value = res.into_json().unwrap();
        assert!(user.get("password_hash").is_none(), "hashes never leave the server");
        assert_eq!(audit_count(&app, "user.created"), 1);
    });
}

#[test]
fn malformed_json_gets_a_german_400_and_stores_nothing() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let token = api_token(&browser(&app, "admin"));
        let api = app.client();
        let res = api
            .post("/api/v1/users")
            .header(bearer(&token))
            .header(ContentType::JSON)
            .body("{\"email\": ")
            .dispatch();
        assert_eq!(res.status(), Status::BadRequest);
        let body: Value = res.into_json().unwrap();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Ungültiges JSON in Zeile 1"),
            "{body}"
        );
        let res = api
            .post("/api/v1/users")
            .header(bearer(&token))
            .header(ContentType::Plain)
            .body("x")
            .dispatch();
        assert_eq!(res.status(), Status::UnsupportedMediaType);
        let res = api
            .get("/api/v1/organisations?org_type=verein")
            .header(bearer(&token))
            .dispatch();
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let res = api.get("/api/v1/users/abc").header(bearer(&token)).dispatch();
        assert!(res.status().code >= 400 && res.status().code < 500);
        assert_eq!(res.content_type(), Some(ContentType::JSON));
    });
}

#[test]
fn api_admin_changes_organisations_and_users_and_others_are_refused() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let admin = api_token(&browser(&app, "admin"));
        let officer = api_token(&browser(&app, "officer"));
        let board = api_token(&browser(&app, "board"));
        let vendor_session = browser(&app, "vendor");
        let api = app.client();
        // Outsiders change nothing.
        for token in [&officer, &board] {
            let res = api
                .post(format!("/api/v1/organisations/{}/status", w.vendor))
                .header(bearer(token))
                .header(ContentType::JSON)
                .body(json!({ "vendor_status": "suspended" }).to_string())
                .dispatch();
            assert_eq!(res.status(), Status::Forbidden);
            let res = api
                .post(format!("/api/v1/users/{}/active", w.users["buyer_a"]))
                .header(bearer(token))
                .header(ContentType::JSON)
                .body(json!({ "active": false }).to_string())
                .dispatch();
            assert_eq!(res.status(), Status::Forbidden);
        }
        assert_eq!(vendor_session.get("/").dispatch().status(), Status::Ok);
        // The admin suspends the vendor: its session ends.
        let res = api
            .post(format!("/api/v1/organisations/{}/status", w.vendor))
            .header(bearer(&admin))
            .header(ContentType::JSON)
            .body(json!({ "vendor_status": "suspended" }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.into_json::<Value>().unwrap()["vendor_status"], "suspended");
        assert_eq!(vendor_session.get("/").dispatch().status(), Status::SeeOther);
        let res = api
            .post(format!("/api/v1/organisations/{}/status", w.vendor))
            .header(bearer(&admin))
            .header(ContentType::JSON)
            .body(json!({ "vendor_status": "pending" }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::UnprocessableEntity);
        // Master data change with validation.
        let res = api
            .put(format!("/api/v1/organisations/{}", w.member_a))
            .header(bearer(&admin))
            .header(ContentType::JSON)
            .body(json!({ "name": "Stadt Adorf (neu)", "street": "Markt 2", "postal_code": "3511", "city": "Adorf", "member_kind": "kommune" }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let res = api
            .put(format!("/api/v1/organisations/{}", w.member_a))
            .header(bearer(&admin))
            .header(ContentType::JSON)
            .body(json!({ "name": "Stadt Adorf (neu)", "street": "Markt 2", "postal_code": "35110", "city": "Adorf", "member_kind": "kommune" }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::Ok);
        // A role change ends the user's API tokens.
        let buyer_token = api_token(&browser(&app, "buyer_a"));
        assert_eq!(
            api.get("/api/v1/me").header(bearer(&buyer_token)).dispatch().status(),
            Status::Ok
        );
        let res = api
            .put(format!("/api/v1/users/{}", w.users["buyer_a"]))
            .header(bearer(&admin))
            .header(ContentType::JSON)
            .body(json!({ "email": "buyer_a@test.example", "name": "Person A", "role": "buyer", "organisation_id": w.member_b }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(
            api.get("/api/v1/me").header(bearer(&buyer_token)).dispatch().status(),
            Status::Unauthorized
        );
        let res = api
            .post(format!("/api/v1/users/{}/active", w.users["buyer_b"]))
            .header(bearer(&admin))
            .header(ContentType::JSON)
            .body(json!({ "active": false }).to_string())
            .dispatch();
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.into_json::<Value>().unwrap()["active"], false);
        assert_eq!(audit_count(&app, "vendor.suspended"), 1);
        assert_eq!(audit_count(&app, "organisation.updated"), 1);
        assert_eq!(audit_count(&app, "user.updated"), 1);
        assert_eq!(audit_count(&app, "user.deactivated"), 1);
    });
}

/// Follows `$ref` and merges `allOf` into one list of property names.
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

/// Every field an API answer carries is documented in the schema of that answer.
#[test]
fn api_answers_carry_only_documented_fields() {
    let app = TestApp::new(buendel::db::Backend::Sqlite);
    let w = app.world();
    let token = api_token(&browser(&app, "admin"));
    let officer = current_user(&app, "officer");
    let call = {
        let mut c = app.conn();
        let data = buendel::demand::CallData {
            title: "Schema".into(),
            description: String::new(),
            term_months: 12,
            deadline: app.state.clock.now_naive() + chrono::Duration::days(5),
            all_members: true,
            member_ids: vec![],
        };
        let p = buendel::demand::PositionData {
            catalogue_item_id: None,
            description: "Tablet".into(),
            unit: "Stück".into(),
            cpv_code: "30213200-7".into(),
            estimate_price: None,
        };
        buendel::demand::create_call(&mut c, &app.state, &officer, &data, &[p]).unwrap()
    };
    let api = app.client();
    let doc: Value = api.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
    for (path, template) in [
        ("/api/v1/me".to_string(), "/me"),
        (format!("/api/v1/organisations/{}", w.member_a), "/organisations/{id}"),
        (format!("/api/v1/users/{}", w.users["buyer_a"]), "/users/{id}"),
        (format!("/api/v1/demand-calls/{call}"), "/demand-calls/{id}"),
    ] {
        let body: Value = api
            .get(path.clone())
            .header(bearer(&token))
            .dispatch()
            .into_json()
            .unwrap();
        let schema = &doc["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        let documented = documented_properties(&doc, schema);
        assert!(!documented.is_empty(), "{template} has a schema");
        for key in body.as_object().unwrap().keys() {
            assert!(documented.contains(key), "{template}: field {key} is not documented");
        }
    }
}

#[test]
fn audit_trail_reads_in_german_and_filters_by_action() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let admin = browser(&app, "admin");
        assert_eq!(
            post_form(
                &admin,
                "/katalog",
                &[
                    ("description", "Notebook 14 Zoll"),
                    ("unit", "Stück"),
                    ("cpv_code", "30213100-6")
                ]
            )
            .status(),
            Status::SeeOther
        );
        let all = admin.get("/protokoll").dispatch().into_string().unwrap();
        assert!(
            all.contains("Anmeldung") && all.contains("Katalogposition aufgenommen"),
            "{all}"
        );
        let filtered = admin
            .get("/protokoll?action=catalogue_item.created")
            .dispatch()
            .into_string()
            .unwrap();
        assert!(filtered.contains("Katalogposition aufgenommen"));
        assert!(!filtered.contains("<td>Anmeldung</td>"));
        // Dates are German days: the event moved to 00:30 on New Year's Day (23:30 UTC the day
        // before) is found under 1 January, not under 31 December.
        diesel::update(audit_events::table.filter(audit_events::action.eq("catalogue_item.created")))
            .set(audit_events::occurred_at.eq("2026-12-31T23:30:00".parse::<chrono::NaiveDateTime>().unwrap()))
            .execute(&mut *app.conn())
            .unwrap();
        let day = |d: &str| {
            admin
                .get(format!("/protokoll?action=catalogue_item.created&from={d}&to={d}"))
                .dispatch()
                .into_string()
                .unwrap()
        };
        assert!(day("2027-01-01").contains("<td>Katalogposition aufgenommen</td>"));
        assert!(day("2027-01-01").contains("01.01.2027, 00:30 Uhr"));
        assert!(!day("2026-12-31").contains("<td>Katalogposition aufgenommen</td>"));
    });
}

#[test]
fn a_logged_in_user_keeps_the_navigation_on_a_404() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let admin = browser(&app, "admin");
        let res = admin.get("/gibt-es-nicht").dispatch();
        assert_eq!(res.status(), Status::NotFound);
        let html = res.into_string().unwrap();
        assert!(
            html.contains("Postausgang") && html.contains("Mein Konto") && !html.contains("Als Lieferant registrieren"),
            "{html}"
        );
    });
}
