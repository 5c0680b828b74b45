//! A vendor submits a 5,000-position price sheet (German Excel CSV) over HTTP to the release
//! server: `PUT /api/v1/tenders/<id>/bid/price-sheet` with a keep-alive client, end to end (token
//! lookup, CSV parse, validation, receipt hash, 5,000 price rows, audit event, receipt mail).
//! Next to it, in-process, the parts: the CSV parse alone and the service call alone.
//!
//! Run: `cargo bench --bench bid_price_sheet` (builds the release binary it starts). The data is
//! prepared in-process in a fresh SQLite file; the server runs on a free loopback port with a
//! frozen clock before the bid deadline and is killed at the end.

use buendel::auth::CurrentUser;
use buendel::config::Config;
use buendel::db::schema::demand_positions;
use buendel::db::DbConn;
use buendel::demand::{self, CallData, DemandEntry};
use buendel::domain::evaluation::EvaluationCommand;
use buendel::domain::ids::{OrgId, SessionId, TenderId, UserId};
use buendel::domain::money::{Price, Quantity};
use buendel::domain::roles::{OrgType, Role, VendorStatus};
use buendel::tender::{self, bids, TenderCommand};
use buendel::App;
use criterion::{criterion_group, criterion_main, Criterion};
use diesel::prelude::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const POSITIONS: usize = 5_000;

/// The release binary: Cargo names it for benchmarks; the fallback is the usual path.
fn binary() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_buendel") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/buendel"),
    }
}

struct Prepared {
    app: App,
    vendor: CurrentUser,
    tender: TenderId,
    token: String,
    csv: Vec<u8>,
    database_url: String,
    dir: tempfile::TempDir,
}

fn current(id: UserId, role: Role, org: OrgId, org_type: OrgType) -> CurrentUser {
    CurrentUser {
        id,
        email: format!("{}@bench.example", role.code()),
        name: role.code().into(),
        role,
        organisation_id: org,
        organisation_name: String::new(),
        org_type,
        credential: buendel::auth::Credential::Session(SessionId::default()),
    }
}

/// A closed demand call of 5,000 positions with demand, a published one-lot tender of all of them,
/// an approved vendor with an API token, and the vendor's filled-in price sheet.
fn prepare() -> Prepared {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("bench.db").to_string_lossy().into_owned();
    let data_dir = dir.path().join("data").to_string_lossy().into_owned();
    let vars: HashMap<String, String> = [
        ("DATABASE_URL", url.as_str()),
        ("BUENDEL_MAIL_TRANSPORT", "stub"),
        ("BUENDEL_NOW", "2026-11-23T10:00:00Z"),
        ("BUENDEL_CLOCK_FROZEN", "true"),
        ("BUENDEL_DATA_DIR", data_dir.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let app = App::prepare(Config::from_map(&vars, false).unwrap()).unwrap();
    let mut c = app.db.get().unwrap();
    let now = app.state.clock.now_naive();
    // The release server below runs with this frozen clock: allowed on a marked database only.
    buendel::db::data_kind::mark(&mut c, buendel::db::data_kind::DataKind::Test, now).unwrap();
    let org = |c: &mut DbConn, name: &str, t: OrgType, status: Option<VendorStatus>| {
        let input = buendel::orgs::OrgInput {
            name: name.into(),
            street: "Weg 1".into(),
            postal_code: "65185".into(),
            city: "Wiesbaden".into(),
            member_kind: "kommune".into(),
            vat_id: "DE136695976".into(),
            contact_email: "angebote@bench.example".into(),
            ..Default::default()
        };
        buendel::orgs::insert_org(c, now, &input.validate(t).unwrap(), status).unwrap()
    };
    let coop = org(&mut c, "Genossenschaft", OrgType::Cooperative, None);
    let member = org(&mut c, "Stadt Benchdorf", OrgType::Member, None);
    let vendor_org = org(
        &mut c,
        "Systemhaus Bench GmbH",
        OrgType::Vendor,
        Some(VendorStatus::Approved),
    );
    let user = |c: &mut DbConn, role: Role, org: OrgId| {
        let data = buendel::orgs::UserData {
            email: format!("{}@bench.example", role.code()),
            name: role.code().into(),
            role,
            organisation_id: org,
            password: None,
        };
        buendel::orgs::insert_user(c, now, &data, "x").unwrap()
    };
    let officer = current(
        user(&mut c, Role::Officer, coop),
        Role::Officer,
        coop,
        OrgType::Cooperative,
    );
    let buyer = current(user(&mut c, Role::Buyer, member), Role::Buyer, member, OrgType::Member);
    let vendor = current(
        user(&mut c, Role::Vendor, vendor_org),
        Role::Vendor,
        vendor_org,
        OrgType::Vendor,
    );

    // The demand call: 5,000 positions in bulk, demand for each, closed after its deadline.
    let data = CallData {
        title: "Bench".into(),
        description: String::new(),
        term_months: 48,
        deadline: now + chrono::Duration::days(10),
        all_members: false,
        member_ids: vec![member],
    };
    let call = demand::create_call(&mut c, &app.state, &officer, &data, &[]).unwrap();
    let rows: Vec<_> = (1..=POSITIONS as i32)
        .map(|n| {
            (
                demand_positions::call_id.eq(call),
                demand_positions::position_no.eq(n),
                demand_positions::description.eq(format!("Position {n}")),
                demand_positions::unit.eq("Stück"),
                demand_positions::cpv_code.eq("30213100-6"),
            )
        })
        .collect();
    for chunk in rows.chunks(1_000) {
        match &mut *c {
            DbConn::Sqlite(s) => diesel::insert_into(demand_positions::table)
                .values(chunk)
                .execute(s)
                .unwrap(),
            DbConn::Pg(p) => diesel::insert_into(demand_positions::table)
                .values(chunk)
                .execute(p)
                .unwrap(),
        };
    }
    demand::open_call(&mut c, &app.state, &officer, call).unwrap();
    let positions = demand::positions(&mut c, call).unwrap();
    let entries: Vec<DemandEntry> = positions
        .iter()
        .map(|p| DemandEntry {
            position_id: p.id,
            quantity: Quantity::from_minor(((p.position_no % 9) as i64 + 1) * 1_000).unwrap(),
            reference_price: Some(Price::from_minor((p.position_no as i64 % 2_000 + 1) * 10_000).unwrap()),
        })
        .collect();
    demand::save_demand(&mut c, &app.state, &buyer, call, &entries).unwrap();
    app.state.clock.advance(chrono::Duration::days(11));
    demand::close_call(&mut c, &app.state, &officer, call).unwrap();

    // The tender: one lot with every position, deadline in 40 days, published.
    let now = app.state.clock.now_naive();
    let input = TenderCommand {
        demand_call_id: call,
        title: "Bench-Ausschreibung".into(),
        description: String::new(),
        procedure: Some(buendel::domain::tender::Procedure::EuOpen),
        buffer_percent: Some(20.into()),
        bid_deadline: Some(now + chrono::Duration::days(40)),
        term_months: Some(48),
        evaluation: EvaluationCommand::defaults(),
        lots: vec!["Gesamtleistung".into()],
        assignment: positions.iter().map(|p| (p.id, 1)).collect(),
        ..Default::default()
    };
    let data = input.validate(&mut c, now, &app.state.config.calendar()).unwrap();
    let tender_id = tender::create(&mut c, &app.state, &officer, &data).unwrap();
    tender::publish(&mut c, &app.state, &officer, tender_id).unwrap();
    let (_, token) = buendel::auth::routes::create_token(&mut c, &app.state, &vendor, "Bench").unwrap();

    // The vendor's sheet as Excel writes it: semicolons, decimal comma, thousands points.
    let mut csv =
        String::from("Los;Pos.;Beschreibung;Einheit;CPV-Code;Geschätzte Menge;Höchstmenge;Einzelpreis (EUR netto)\n");
    for p in tender::positions(&mut c, tender_id).unwrap() {
        let n = p.position_no;
        csv.push_str(&format!(
            "1;{n};{};{};{};{};{};{}.{:03},{:02}\n",
            p.description,
            p.unit,
            p.cpv_code,
            p.estimate_quantity
                .to_decimal()
                .normalize()
                .to_string()
                .replace('.', ","),
            p.max_quantity.to_decimal().normalize().to_string().replace('.', ","),
            n % 3 + 1,
            n % 1000,
            n % 100
        ));
    }
    drop(c);
    Prepared {
        app,
        vendor,
        tender: tender_id,
        token,
        csv: csv.into_bytes(),
        database_url: url,
        dir,
    }
}

/// The server process; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(p: &Prepared) -> Server {
    use base64::Engine;
    use rand::RngCore;
    let binary = binary();
    assert!(
        binary.exists(),
        "{} fehlt: bitte `cargo bench --bench bid_price_sheet` verwenden (baut das Release-Programm)",
        binary.display()
    );
    let mut key = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut key);
    let port = free_port();
    let now = p.app.state.clock.now().to_rfc3339();
    let child = Command::new(&binary)
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", &p.database_url)
        .env("BUENDEL_ADDRESS", "127.0.0.1")
        .env("BUENDEL_PORT", port.to_string())
        .env(
            "BUENDEL_SECRET_KEY",
            base64::engine::general_purpose::STANDARD.encode(key),
        )
        .env("BUENDEL_MAIL_TRANSPORT", "stub")
        .env("BUENDEL_NOW", now)
        .env("BUENDEL_CLOCK_FROZEN", "true")
        .env("BUENDEL_DATA_DIR", p.dir.path().join("data"))
        .env_remove("BUENDEL_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{} startet nicht: {e}", binary.display()));
    let mut server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("Der Server hat sich beendet: {status}");
        }
        if ureq::get(&format!("{}/api/v1/openapi.json", server.base))
            .timeout(Duration::from_secs(1))
            .call()
            .is_ok()
        {
            return server;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Der Server antwortet nicht."
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn submit(agent: &ureq::Agent, url: &str, token: &str, csv: &[u8]) {
    match agent
        .put(url)
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "text/csv")
        .send_bytes(csv)
    {
        Ok(res) => {
            assert_eq!(res.status(), 201);
            // Reading the body to the end returns the connection to the pool.
            let body = res.into_string().unwrap();
            assert!(body.contains("receipt_sha256"), "{body}");
        }
        Err(ureq::Error::Status(code, res)) => {
            panic!("{code}: {}", res.into_string().unwrap_or_default())
        }
        Err(e) => panic!("{e}"),
    }
}

fn benches(c: &mut Criterion) {
    let prepared = prepare();
    let server = start_server(&prepared);
    let agent = ureq::AgentBuilder::new()
        .max_idle_connections_per_host(1)
        .timeout(Duration::from_secs(60))
        .build();
    let url = format!(
        "{}/api/v1/tenders/{}/bid/price-sheet?a=1&a=2&b=Vor-Ort-Service%20in%2024%20Stunden&b=EPEAT%20Gold",
        server.base, prepared.tender
    );

    // The median as a plain number, next to criterion's estimates.
    for _ in 0..3 {
        submit(&agent, &url, &prepared.token, &prepared.csv);
    }
    let mut times: Vec<Duration> = (0..31)
        .map(|_| {
            let t = Instant::now();
            submit(&agent, &url, &prepared.token, &prepared.csv);
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "PUT price-sheet, {POSITIONS} positions, 31 requests: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        times[0].as_secs_f64() * 1e3,
        times[15].as_secs_f64() * 1e3,
        times[30].as_secs_f64() * 1e3
    );

    let mut group = c.benchmark_group(format!("bid_price_sheet_{POSITIONS}"));
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(15))
        .warm_up_time(Duration::from_secs(2));
    group.bench_function("http: PUT price-sheet (release server, SQLite)", |b| {
        b.iter(|| submit(&agent, &url, &prepared.token, &prepared.csv))
    });
    let (lots, positions) = {
        let mut conn = prepared.app.db.get().unwrap();
        (
            tender::lots(&mut conn, prepared.tender).unwrap(),
            tender::positions(&mut conn, prepared.tender).unwrap(),
        )
    };
    group.bench_function("part: bids::prices_from_csv (in-process)", |b| {
        b.iter(|| bids::prices_from_csv(&positions, &lots, &prepared.csv).unwrap().len())
    });
    let prices = bids::prices_from_csv(&positions, &lots, &prepared.csv).unwrap();
    let input = bids::BidInput {
        prices,
        lots: Vec::new(),
        a_confirmed: vec![true, true],
        b_texts: vec!["Vor-Ort-Service".into(), "EPEAT Gold".into()],
    };
    group.bench_function("part: bids::submit (in-process, SQLite)", |b| {
        b.iter(|| {
            let mut conn = prepared.app.db.get().unwrap();
            bids::submit(
                &mut conn,
                &prepared.app.state,
                &prepared.vendor,
                prepared.tender,
                &input,
            )
            .unwrap()
        })
    });
    group.finish();
    drop(server);
}

criterion_group!(group, benches);
criterion_main!(group);
