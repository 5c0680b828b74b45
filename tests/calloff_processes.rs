//! Call-off limits across processes: two real `buendel serve` processes on one PostgreSQL database
//! each place one call-off of one unit through the order page, then take 50 parallel ones,
//! racing for the other 16 units of a position. Exactly 16 are placed, every other one is
//! refused with 409/422 (never a 500), and the running totals and the stored lines both add up
//! to the maximum of 18.

mod common;

use buendel::db::schema::{calloff_lines, calloffs, contract_positions, contracts};
use buendel::db::Backend;
use buendel::domain::ids::ContractId;
use buendel::domain::money::Amount;
use common::process::{free_port, Process};
use common::tender_flow::*;
use common::*;
use diesel::prelude::*;
use std::sync::Barrier;
use std::time::Duration;

fn start(app: &TestApp, name: &str) -> Process {
    let port = free_port();
    let data_dir = app.cleanup.dir.path().join(name);
    // Both processes share the secret key, so the encrypted session and CSRF cookies issued by
    // one are understood by the other, as behind a load balancer.
    let mut command = app.server_command(port);
    command
        .env("BUENDEL_CLOCK_FROZEN", "true")
        .env("BUENDEL_DATA_DIR", data_dir);
    Process::start(
        &format!("server-{name}"),
        command,
        port,
        app.cleanup.dir.path(),
        Duration::from_secs(30),
    )
}

/// An HTTP client that does not follow redirects (a placed call-off answers 303).
fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(60))
        .build()
}

/// Status and body of a response, 4xx/5xx included.
fn status_and_body(result: Result<ureq::Response, ureq::Error>) -> (u16, Vec<String>, String) {
    let res = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = res.status();
    let cookies = res.all("set-cookie").into_iter().map(str::to_string).collect();
    (status, cookies, res.into_string().unwrap_or_default())
}

/// A browser's cookie jar, just enough for this test: name → value.
#[derive(Default, Clone)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, set_cookies: &[String]) {
        for c in set_cookies {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.0.retain(|(n, _)| n != name);
                self.0.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A buyer logged in through the login page of `server`: the cookies and the CSRF token of the
/// contract page's order form.
fn log_in(server: &Process, key: &str, contract_id: ContractId) -> (Jar, String) {
    let base = format!("http://127.0.0.1:{}", server.port);
    let http = agent();
    let mut jar = Jar::default();
    let (status, cookies, page) = status_and_body(http.get(&format!("{base}/anmelden")).call());
    assert_eq!(status, 200, "{page}");
    jar.take(&cookies);
    let email = format!("{key}@test.example");
    let (status, cookies, page) = status_and_body(
        http.post(&format!("{base}/anmelden"))
            .set("Cookie", &jar.header())
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(&form_body(&[
                ("email", &email),
                ("password", PASSWORD),
                ("next", "/"),
                ("_csrf", &csrf_of(&page)),
            ])),
    );
    assert_eq!(status, 303, "login {key}: {page}");
    jar.take(&cookies);
    let (status, cookies, page) = status_and_body(
        http.get(&format!("{base}/vertraege/{contract_id}"))
            .set("Cookie", &jar.header())
            .call(),
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Verbindlich abrufen"), "the order form is shown: {page}");
    jar.take(&cookies);
    (jar, csrf_of(&page))
}

#[test]
fn two_server_processes_on_one_postgresql_never_exceed_the_maximum() {
    if !backends().contains(&Backend::Postgres) {
        eprintln!("HINWEIS: PostgreSQL nicht erreichbar; der Test mit zwei Serverprozessen entfällt.");
        return;
    }
    let app = TestApp::new(Backend::Postgres);
    let w = app.world();
    let (contract_id, position) = concluded_contract(&app, &w);
    let mut servers = [start(&app, "one"), start(&app, "two")];
    // Each buyer logs in on one process and orders through both.
    let sessions = [
        log_in(&servers[0], "buyer_a", contract_id),
        log_in(&servers[1], "buyer_b", contract_id),
    ];
    let ports = [servers[0].port, servers[1].port];
    // One call-off of one unit through the order page of `port`, as the buyer of `session`.
    let order = |session: &(Jar, String), port: u16| -> (u16, String) {
        let (jar, csrf) = session;
        let body = form_body(&[
            (&format!("q_{position}"), "1"),
            ("delivery_address", "Rathaus, Marktplatz 1, 64283 Darmstadt"),
            ("cost_centre", "4711"),
            ("_csrf", csrf),
        ]);
        let (status, _, page) = status_and_body(
            agent()
                .post(&format!("http://127.0.0.1:{port}/vertraege/{contract_id}/abrufe"))
                .set("Cookie", &jar.header())
                .set("Content-Type", "application/x-www-form-urlencoded")
                .send_string(&body),
        );
        (status, page)
    };

    // Both processes place a call-off, each for the buyer logged in on the other one. (That
    // both place one in the race below is up to the scheduler, so it is not asserted there.)
    for (session, port) in [(&sessions[0], ports[1]), (&sessions[1], ports[0])] {
        let (status, page) = order(session, port);
        assert_eq!(status, 303, "the process on port {port} places a call-off: {page}");
    }

    // 50 requests of 1 unit, released together, race for the 16 units left.
    let barrier = Barrier::new(50);
    let results: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let session = &sessions[(i / 2) % 2];
                let port = ports[i % 2];
                let (barrier, order) = (&barrier, &order);
                s.spawn(move || {
                    barrier.wait();
                    order(session, port)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let placed = results.iter().filter(|(s, _)| *s == 303).count();
    let refused: Vec<&String> = results
        .iter()
        .filter(|(s, _)| matches!(s, 409 | 422))
        .map(|(_, page)| page)
        .collect();
    let unexpected: Vec<String> = results
        .iter()
        .filter(|(s, _)| !matches!(s, 303 | 409 | 422))
        .map(|(s, page)| format!("{s}: {}", page.chars().take(300).collect::<String>()))
        .collect();
    let logs: Vec<String> = servers.iter_mut().map(Process::stop).collect();
    assert!(
        unexpected.is_empty(),
        "{unexpected:?}\nlogs:\n{}",
        logs.join("\n----\n")
    );
    assert_eq!(placed, 16, "exactly the call-offs that fit");
    assert_eq!(refused.len(), 34);
    // A refusal says why, on the order page.
    assert!(
        refused
            .iter()
            .all(|p| p.contains("nur noch 0 Stück") || p.contains("Ein anderer Abruf war schneller")),
        "{}",
        refused[0]
    );

    // The running totals and the stored call-offs agree with the maximum.
    let mut c = app.conn();
    let (called, max): (i64, i64) = contract_positions::table
        .filter(contract_positions::contract_id.eq(contract_id))
        .filter(contract_positions::position_id.eq(position))
        .select((contract_positions::called_quantity, contract_positions::max_quantity))
        .first(&mut *c)
        .unwrap();
    assert_eq!((called, max), (18_000, 18_000));
    let lines: Vec<i64> = calloff_lines::table
        .inner_join(calloffs::table)
        .filter(calloffs::contract_id.eq(contract_id))
        .select(calloff_lines::quantity)
        .load::<buendel::domain::money::Quantity>(&mut *c)
        .unwrap()
        .into_iter()
        .map(|q| q.minor())
        .collect();
    assert_eq!(lines.len(), 18);
    assert_eq!(lines.iter().sum::<i64>(), max, "the lines add up to the maximum");
    let value: Amount = contracts::table
        .find(contract_id)
        .select(contracts::called_value)
        .first(&mut *c)
        .unwrap();
    assert_eq!(value.minor(), 1_440_000, "18 × 800 €");
}
