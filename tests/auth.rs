//! Accounts, sessions, CSRF, rate limits and roles, as users meet them, on both backends.

mod common;

use buendel::db::schema::{login_failures, organisations, sessions};
use common::*;
use diesel::prelude::*;
use rocket::http::{ContentType, Status};

#[test]
fn login_page_is_german_and_accessible() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let client = app.client();
        let res = client.get("/anmelden").dispatch();
        assert_eq!(res.status(), Status::Ok);
        let html = res.into_string().unwrap();
        assert!(html.contains("<html lang=\"de\""));
        assert!(html.contains("Zum Inhalt springen"));
        assert!(html.contains("for=\"feld-email\""));
        assert!(html.contains("name=\"_csrf\""));
    });
}

#[test]
fn anonymous_visitor_is_sent_to_login() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let client = app.client();
        let res = client.get("/verwaltung/benutzer").dispatch();
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(
            res.headers().get_one("Location"),
            Some("/anmelden?weiter=%2Fverwaltung%2Fbenutzer")
        );
    });
}

#[test]
fn each_role_logs_in_and_sees_its_start_page() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        for (key, expect) in [
            ("admin", "Lieferanten warten auf Freigabe"),
            ("officer", "Katalog"),
            ("board", "Protokoll"),
            ("buyer_a", "Stadt Adorf"),
            ("vendor", "Systemhaus Test GmbH"),
        ] {
            let client = browser(&app, key);
            let res = client.get("/").dispatch();
            assert_eq!(res.status(), Status::Ok, "{key}");
            let html = res.into_string().unwrap();
            assert!(html.contains("Willkommen, Person"), "{key}: {html}");
            assert!(html.contains(expect), "{key} should see {expect}");
        }
    });
}

#[test]
fn buyer_start_page_shows_nothing_of_other_members() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let html = browser(&app, "buyer_a").get("/").dispatch().into_string().unwrap();
        assert!(html.contains("Stadt Adorf"));
        assert!(!html.contains("Stadt Bedorf"));
    });
}

#[test]
fn wrong_password_is_refused_with_a_message() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = app.client();
        let res = post_form(
            &client,
            "/anmelden",
            &[("email", "admin@test.example"), ("password", "falsch-falsch")],
        );
        assert_eq!(res.status(), Status::Unauthorized);
        let html = res.into_string().unwrap();
        assert!(html.contains("E-Mail-Adresse oder Passwort ist falsch."));
        assert!(html.contains("error-summary"));
        assert_eq!(client.get("/").dispatch().status(), Status::SeeOther);
    });
}

#[test]
fn unknown_account_gets_the_same_answer_as_a_wrong_password() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = app.client();
        let res = post_form(
            &client,
            "/anmelden",
            &[("email", "niemand@test.example"), ("password", "falsch-falsch")],
        );
        assert_eq!(res.status(), Status::Unauthorized);
        assert!(res
            .into_string()
            .unwrap()
            .contains("E-Mail-Adresse oder Passwort ist falsch."));
    });
}

#[test]
fn repeated_wrong_passwords_lock_the_account_for_a_while() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = app.client();
        for _ in 0..5 {
            assert_eq!(
                login_with(&client, "buyer_a@test.example", "falsch-falsch"),
                Status::Unauthorized
            );
        }
        // Even the right password is refused while the lock lasts, with a clear message.
        let res = post_form(
            &client,
            "/anmelden",
            &[("email", "buyer_a@test.example"), ("password", PASSWORD)],
        );
        assert_eq!(res.status(), Status::TooManyRequests);
        let html = res.into_string().unwrap();
        assert!(
            html.contains("Zu viele fehlgeschlagene Anmeldeversuche für dieses Konto"),
            "{html}"
        );
        assert!(html.contains("15 Minute(n)"));
        // Another account from the same address is not yet affected.
        assert_eq!(login(&app.client(), "buyer_b@test.example"), Status::SeeOther);
        app.state.clock.advance(chrono::Duration::minutes(16));
        assert_eq!(login(&client, "buyer_a@test.example"), Status::SeeOther);
    });
}

#[test]
fn many_failures_from_one_address_lock_that_address() {
    each_backend(|b| {
        let app = TestApp::with_vars(b, &[("BUENDEL_LOGIN_MAX_FAILURES_ADDRESS", "3")]);
        app.world();
        let client = app.client();
        for who in ["a", "b", "c"] {
            login_with(&client, &format!("{who}@test.example"), "falsch-falsch");
        }
        let res = post_form(
            &client,
            "/anmelden",
            &[("email", "admin@test.example"), ("password", PASSWORD)],
        );
        assert_eq!(res.status(), Status::TooManyRequests);
        assert!(res.into_string().unwrap().contains("von Ihrem Anschluss"));
        let mut c = app.conn();
        let n: i64 = login_failures::table.count().get_result(&mut *c).unwrap();
        assert_eq!(n, 6, "each failure counts for account and address");
    });
}

#[test]
fn form_without_csrf_token_is_refused_and_nothing_is_stored() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = browser(&app, "admin");
        let count = || -> i64 {
            let mut c = app.conn();
            organisations::table.count().get_result(&mut *c).unwrap()
        };
        let before = count();
        let fields = [
            ("name", "Stadt Cedorf"),
            ("street", "Markt 1"),
            ("postal_code", "35037"),
            ("city", "Marburg"),
            ("member_kind", "kommune"),
        ];
        let res = client
            .post("/verwaltung/mitglieder")
            .header(ContentType::Form)
            .body(form_body(&fields))
            .dispatch();
        assert_eq!(res.status(), Status::Forbidden);
        assert!(res.into_string().unwrap().contains("Das Formular ist abgelaufen"));
        let mut forged = fields.to_vec();
        forged.push(("_csrf", "gefälscht"));
        let res = client
            .post("/verwaltung/mitglieder")
            .header(ContentType::Form)
            .body(form_body(&forged))
            .dispatch();
        assert_eq!(res.status(), Status::Forbidden);
        assert_eq!(count(), before);
        // With the token from the page it works.
        assert_eq!(
            post_form(&client, "/verwaltung/mitglieder", &fields).status(),
            Status::SeeOther
        );
        assert_eq!(count(), before + 1);
    });
}

#[test]
fn login_form_needs_csrf_token_too() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = app.client();
        let body = form_body(&[("email", "admin@test.example"), ("password", PASSWORD)]);
        let res = client.post("/anmelden").header(ContentType::Form).body(body).dispatch();
        assert_eq!(res.status(), Status::Forbidden);
    });
}

#[test]
fn buyer_vendor_officer_and_board_are_refused_on_admin_pages() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        for key in ["buyer_a", "vendor", "officer", "board"] {
            let client = browser(&app, key);
            for path in [
                "/verwaltung/mitglieder".to_string(),
                "/verwaltung/lieferanten".to_string(),
                "/verwaltung/benutzer".to_string(),
                format!("/verwaltung/benutzer/{}", w.users["admin"]),
                "/verwaltung/postausgang".to_string(),
                "/verwaltung/mitglieder/neu".to_string(),
            ] {
                let res = client.get(path.clone()).dispatch();
                assert_eq!(res.status(), Status::Forbidden, "{key} GET {path}");
                assert!(res.into_string().unwrap().contains("Keine Berechtigung"));
            }
            // State changes are refused as well, and change nothing.
            let res = post_form(
                &client,
                &format!("/verwaltung/benutzer/{}/aktiv", w.users["admin"]),
                &[("active", "false")],
            );
            assert_eq!(res.status(), Status::Forbidden, "{key}");
            let res = post_form(
                &client,
                &format!("/verwaltung/lieferanten/{}/status", w.vendor),
                &[("status", "suspended")],
            );
            assert_eq!(res.status(), Status::Forbidden, "{key}");
        }
        assert_eq!(login(&app.client(), "admin@test.example"), Status::SeeOther);
        assert_eq!(login(&app.client(), "vendor@test.example"), Status::SeeOther);
    });
}

#[test]
fn audit_trail_is_for_admin_and_board_only() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        assert_eq!(browser(&app, "admin").get("/protokoll").dispatch().status(), Status::Ok);
        assert_eq!(browser(&app, "board").get("/protokoll").dispatch().status(), Status::Ok);
        for key in ["buyer_a", "vendor", "officer"] {
            assert_eq!(
                browser(&app, key).get("/protokoll").dispatch().status(),
                Status::Forbidden,
                "{key}"
            );
        }
    });
}

#[test]
fn logout_revokes_the_session_server_side() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = browser(&app, "buyer_a");
        let stolen = client
            .cookies()
            .get_private(buendel::auth::SESSION_COOKIE)
            .expect("session cookie");
        assert_eq!(post_form(&client, "/abmelden", &[]).status(), Status::SeeOther);
        assert_eq!(client.get("/").dispatch().status(), Status::SeeOther);
        // The old cookie value, replayed in another browser, no longer works.
        let other = app.client();
        other.cookies().add_private(stolen);
        assert_eq!(other.get("/").dispatch().status(), Status::SeeOther);
    });
}

#[test]
fn sessions_expire() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = browser(&app, "buyer_a");
        assert_eq!(client.get("/").dispatch().status(), Status::Ok);
        app.state.clock.advance(chrono::Duration::hours(9));
        assert_eq!(client.get("/").dispatch().status(), Status::SeeOther);
    });
}

#[test]
fn deactivated_user_is_logged_out_at_once() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let buyer = browser(&app, "buyer_a");
        let admin = browser(&app, "admin");
        let res = post_form(
            &admin,
            &format!("/verwaltung/benutzer/{}/aktiv", w.users["buyer_a"]),
            &[("active", "false")],
        );
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(buyer.get("/").dispatch().status(), Status::SeeOther);
        let fresh = app.client();
        let res = post_form(
            &fresh,
            "/anmelden",
            &[("email", "buyer_a@test.example"), ("password", PASSWORD)],
        );
        assert_eq!(res.status(), Status::Forbidden);
        assert!(res.into_string().unwrap().contains("deaktiviert"));
    });
}

#[test]
fn admin_cannot_deactivate_own_account() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let admin = browser(&app, "admin");
        let res = post_form(
            &admin,
            &format!("/verwaltung/benutzer/{}/aktiv", w.users["admin"]),
            &[("active", "false")],
        );
        assert_eq!(res.status(), Status::Conflict);
        assert!(res.into_string().unwrap().contains("eigenes Konto"));
    });
}

#[test]
fn password_change_ends_other_sessions() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let laptop = browser(&app, "officer");
        let phone = browser(&app, "officer");
        let res = post_form(
            &laptop,
            "/konto/passwort",
            &[
                ("current_password", PASSWORD),
                ("new_password", "Neues-Passwort-22"),
                ("new_password_repeat", "Neues-Passwort-22"),
            ],
        );
        assert_eq!(res.status(), Status::SeeOther);
        assert_eq!(laptop.get("/").dispatch().status(), Status::Ok);
        assert_eq!(phone.get("/").dispatch().status(), Status::SeeOther);
        assert_eq!(
            login_with(&app.client(), "officer@test.example", "Neues-Passwort-22"),
            Status::SeeOther
        );
        assert_eq!(login(&app.client(), "officer@test.example"), Status::Unauthorized);
    });
}

#[test]
fn password_change_with_wrong_current_password_is_refused() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = browser(&app, "officer");
        let res = post_form(
            &client,
            "/konto/passwort",
            &[
                ("current_password", "falsch-falsch"),
                ("new_password", "kurz"),
                ("new_password_repeat", "anders"),
            ],
        );
        assert_eq!(res.status(), Status::UnprocessableEntity);
        let html = res.into_string().unwrap();
        assert!(html.contains("Das bisherige Passwort ist falsch."));
        assert!(html.contains("mindestens 10 Zeichen"));
        assert!(html.contains("stimmen nicht überein"));
        assert_eq!(login(&app.client(), "officer@test.example"), Status::SeeOther);
    });
}

#[test]
fn a_user_cannot_end_someone_elses_session() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let _victim = browser(&app, "buyer_b");
        let victim_session: i64 = {
            let mut c = app.conn();
            sessions::table
                .order(sessions::id.desc())
                .select(sessions::id)
                .first(&mut *c)
                .unwrap()
        };
        let attacker = browser(&app, "buyer_a");
        let res = post_form(&attacker, &format!("/konto/sitzungen/{victim_session}/beenden"), &[]);
        assert_eq!(res.status(), Status::NotFound);
        assert_eq!(_victim.get("/").dispatch().status(), Status::Ok);
    });
}

#[test]
fn security_headers_are_set() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let client = app.client();
        let res = client.get("/anmelden").dispatch();
        let h = res.headers();
        let csp = h.get_one("Content-Security-Policy").unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h.get_one("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(h.get_one("Referrer-Policy"), Some("same-origin"));
        assert_eq!(h.get_one("X-Frame-Options"), Some("DENY"));
    });
}

#[test]
fn unknown_page_is_a_german_404() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let client = app.client();
        let res = client.get("/gibt-es-nicht").dispatch();
        assert_eq!(res.status(), Status::NotFound);
        let html = res.into_string().unwrap();
        assert!(html.contains("Nicht gefunden") && html.contains("Zur Startseite"));
    });
}

#[test]
fn a_malformed_address_is_a_404_not_a_form_error() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = browser(&app, "officer");
        let res = client.get("/bedarf/abc").dispatch();
        assert_eq!(res.status(), Status::NotFound);
        assert!(res.into_string().unwrap().contains("Nicht gefunden"));
    });
}

#[test]
fn health_touches_nothing_and_ready_checks_the_database() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let client = app.client();
        let res = client.get("/health").dispatch();
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(res.into_string().as_deref(), Some("ok"));
        assert_eq!(client.get("/ready").dispatch().status(), Status::Ok);
    });
}

#[test]
fn login_redirects_back_only_to_local_pages() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = app.client();
        let res = post_form(
            &client,
            "/anmelden",
            &[
                ("email", "admin@test.example"),
                ("password", PASSWORD),
                ("next", "/verwaltung/benutzer"),
            ],
        );
        assert_eq!(res.headers().get_one("Location"), Some("/verwaltung/benutzer"));
        let client = app.client();
        let res = post_form(
            &client,
            "/anmelden",
            &[
                ("email", "admin@test.example"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        );
        assert_eq!(res.headers().get_one("Location"), Some("/"));
    });
}

#[test]
fn every_post_form_on_every_page_carries_the_csrf_token() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let anonymous = app.client();
        let admin = browser(&app, "admin");
        let buyer = browser(&app, "buyer_a");
        let officer = browser(&app, "officer");
        // An open call and a draft, so that the demand pages show all their forms (the CSV upload
        // is multipart and checked outside the form guard).
        let (open, draft) = {
            let who = current_user(&app, "officer");
            let mut c = app.conn();
            let data = buendel::demand::CallData {
                title: "Formulare".into(),
                description: String::new(),
                term_months: 12,
                deadline: app.state.clock.now_naive() + chrono::Duration::days(5),
                all_members: true,
                member_ids: vec![],
            };
            let p = buendel::demand::PositionData {
                catalogue_item_id: None,
                description: "Headset".into(),
                unit: "Stück".into(),
                cpv_code: "32342100-3".into(),
                estimate_price: None,
            };
            let open = buendel::demand::create_call(&mut c, &app.state, &who, &data, std::slice::from_ref(&p)).unwrap();
            buendel::demand::open_call(&mut c, &app.state, &who, open).unwrap();
            let draft = buendel::demand::create_call(&mut c, &app.state, &who, &data, &[p]).unwrap();
            (open, draft)
        };
        let pages: Vec<(&rocket::local::blocking::Client, String)> = vec![
            (&officer, "/bedarf".into()),
            (&officer, "/bedarf/neu".into()),
            (&officer, format!("/bedarf/{open}")),
            (&officer, format!("/bedarf/{draft}")),
            (&officer, format!("/bedarf/{draft}/bearbeiten")),
            (&officer, format!("/bedarf/{open}/auswertung")),
            (&buyer, format!("/bedarf/{open}")),
            (&anonymous, "/anmelden".into()),
            (&anonymous, "/registrieren".into()),
            (&admin, "/".into()),
            (&admin, "/konto".into()),
            (&admin, "/verwaltung/mitglieder".into()),
            (&admin, "/verwaltung/mitglieder/neu".into()),
            (&admin, format!("/verwaltung/mitglieder/{}", w.member_a)),
            (&admin, format!("/verwaltung/lieferanten/{}", w.vendor)),
            (&admin, "/verwaltung/benutzer/neu".into()),
            (&admin, format!("/verwaltung/benutzer/{}", w.users["buyer_a"])),
            (&admin, "/katalog".into()),
            (&admin, "/protokoll".into()),
            (&admin, "/verwaltung/postausgang".into()),
            (&buyer, "/".into()),
            (&buyer, "/konto".into()),
        ];
        for (client, path) in pages {
            let res = client.get(path.clone()).dispatch();
            assert_eq!(res.status(), Status::Ok, "{path}");
            let html = res.into_string().unwrap();
            let forms: Vec<&str> = html.split("<form").skip(1).collect();
            for form in forms {
                let form = &form[..form.find("</form>").unwrap_or(form.len())];
                if form.contains("method=\"post\"") {
                    assert!(form.contains("name=\"_csrf\""), "{path}: form without token: {form}");
                }
            }
        }
    });
}

#[test]
fn wrong_current_passwords_are_limited_too() {
    each_backend(|b| {
        let app = TestApp::new(b);
        app.world();
        let client = browser(&app, "officer");
        for _ in 0..5 {
            let res = post_form(
                &client,
                "/konto/passwort",
                &[
                    ("current_password", "geraten-123"),
                    ("new_password", "Neues-Passwort-22"),
                    ("new_password_repeat", "Neues-Passwort-22"),
                ],
            );
            assert_eq!(res.status(), Status::UnprocessableEntity);
        }
        let res = post_form(
            &client,
            "/konto/passwort",
            &[
                ("current_password", PASSWORD),
                ("new_password", "Neues-Passwort-22"),
                ("new_password_repeat", "Neues-Passwort-22"),
            ],
        );
        assert_eq!(res.status(), Status::TooManyRequests);
        assert!(res.into_string().unwrap().contains("Zu viele falsche Passwörter"));
    });
}
