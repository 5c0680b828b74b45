//! Sealed against the logs: the real server process takes bids through the API (JSON and CSV
//! price sheet with criteria texts in the query), including refused ones, and nothing of their
//! content or the bidder's address appears in what the process writes, on both backends.

mod common;

use buendel::tender;
use common::process::{free_port, Process};
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

        // Refused (five places) and accepted bids as JSON, with a secret criteria text.
        for price in ["777,77777", "777,77"] {
            let _ = ureq::put(&format!("{base}/bid"))
                .set("Authorization", &auth)
                .set("Content-Type", "application/json")
                .send_string(
                    &serde_json::json!({
                        "prices": [{"position_no": 1, "unit_price": price}, {"position_no": 2, "unit_price": "133,33"}],
                        "a_confirmed": [true],
                        "b_texts": ["GEHEIMES-KONZEPT"],
                    })
                    .to_string(),
                );
        }
        // The price sheet with its criteria texts in the query string.
        let csv = "Los;Pos.;Einzelpreis (EUR netto)\n1;1;666,66\n2;2;122,22\n";
        let res = ureq::put(&format!("{base}/bid/price-sheet?a=1&b=GEHEIMES-KONZEPT-ZWEI"))
            .set("Authorization", &auth)
            .set("Content-Type", "text/csv")
            .send_string(csv);
        assert!(res.is_ok(), "price sheet accepted: {res:?}");
        let bad = ureq::put(&format!("{base}/bid/price-sheet?a=1&b=GEHEIMES-KONZEPT-DREI"))
            .set("Authorization", &auth)
            .set("Content-Type", "text/csv")
            .send_string("Los;Pos.;Einzelpreis (EUR netto)\n1;1;555,555555\n");
        assert!(bad.is_err(), "bad price sheet refused");
        assert_eq!(tender::bids::count_current(&mut app.conn(), id).unwrap(), 1);

        let log = server.stop();
        assert!(log.contains("buendel läuft auf"), "the log is captured: {log}");
        for secret in [
            "777",
            "666",
            "555",
            "133",
            "122",
            "GEHEIM",
            "vendor@test.example",
            "price-sheet?",
        ] {
            assert!(!log.contains(secret), "{secret} in the server log:\n{log}");
        }
    });
}
