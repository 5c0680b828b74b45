//! Sealed against the logs: the real server process takes bids through the API (JSON and CSV
//! price sheet with criteria texts in the query), including refused ones, and nothing of their
//! content or the bidder's address appears in what the process writes, on both backends.

mod common;

use buendel::tender;
use common::process::{free_port, Process};
use common::secret::{secret_text, SecretNumber};
use common::tender_flow::*;
use common::*;
use std::time::Duration;

fn start(app: &TestApp, port: u16) -> Process {
    let mut command = app.server_command(port);
    command.env("BUENDEL_CLOCK_FROZEN", "true");
    Process::start("server", command, port, app.cleanup.dir.path(), Duration::from_secs(30))
}

#[test]
fn bid_content_never_reaches_the_server_log() {
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (id, _) = published_tender(&app, &w);
        let token = api_token(&browser(&app, "vendor"));
        let port = free_port();
        let mut server = start(&app, port);
        let base = format!("http://127.0.0.1:{port}/api/v1/tenders/{id}");
        let auth = format!("Bearer {token}");
        // Every price and criteria text is random (see `secret`): nothing else the process
        // writes, not its port, a time, an id or a hash, can contain one of them by chance.
        let refused_price = SecretNumber::new(5);
        let (json_price, json_monitor) = (SecretNumber::new(2), SecretNumber::new(2));
        let (sheet_price, sheet_monitor) = (SecretNumber::new(2), SecretNumber::new(2));
        let bad_sheet_price = SecretNumber::new(6);
        let texts = [secret_text("GEHEIM"), secret_text("GEHEIM"), secret_text("GEHEIM")];

        // Refused (five places) and accepted bids as JSON, with a secret criteria text.
        for (price, accepted) in [(&refused_price, false), (&json_price, true)] {
            let res = ureq::put(&format!("{base}/bid"))
                .set("Authorization", &auth)
                .set("Content-Type", "application/json")
                .send_string(
                    &serde_json::json!({
                        "prices": [
                            {"position_no": 1, "unit_price": price.plain()},
                            {"position_no": 2, "unit_price": json_monitor.plain()},
                        ],
                        "a_confirmed": [true],
                        "b_texts": [&texts[0]],
                    })
                    .to_string(),
                );
            assert_eq!(res.is_ok(), accepted, "JSON bid at {}: {res:?}", price.plain());
        }
        // The price sheet with its criteria texts in the query string.
        let csv = format!(
            "Los;Pos.;Einzelpreis (EUR netto)\n1;1;{}\n2;2;{}\n",
            sheet_price.german(),
            sheet_monitor.german()
        );
        let res = ureq::put(&format!("{base}/bid/price-sheet?a=1&b={}", texts[1]))
            .set("Authorization", &auth)
            .set("Content-Type", "text/csv")
            .send_string(&csv);
        assert!(res.is_ok(), "price sheet accepted: {res:?}");
        let bad = ureq::put(&format!("{base}/bid/price-sheet?a=1&b={}", texts[2]))
            .set("Authorization", &auth)
            .set("Content-Type", "text/csv")
            .send_string(&format!(
                "Los;Pos.;Einzelpreis (EUR netto)\n1;1;{}\n",
                bad_sheet_price.german()
            ));
        assert!(bad.is_err(), "bad price sheet refused");
        assert_eq!(tender::bids::count_current(&mut app.conn(), id).unwrap(), 1);

        let log = server.stop();
        assert!(log.contains("buendel läuft auf"), "the log is captured: {log}");
        for price in [
            &refused_price,
            &json_price,
            &json_monitor,
            &sheet_price,
            &sheet_monitor,
            &bad_sheet_price,
        ] {
            if let Some(trace) = price.found_in(&log) {
                panic!("price {} in the server log as {trace}:\n{log}", price.plain());
            }
        }
        for secret in texts
            .iter()
            .map(String::as_str)
            .chain(["GEHEIM-", "vendor@test.example", "price-sheet?"])
        {
            assert!(!log.contains(secret), "{secret} in the server log:\n{log}");
        }
    });
}
