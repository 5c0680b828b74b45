//! Importing a member's demand of 100,000 CSV lines (validate, convert, store in one
//! transaction) on SQLite and PostgreSQL, next to its anchors: the raw CSV parse of the same
//! file and a raw insert of the pre-parsed rows. Run: `cargo bench --bench demand_import`.

mod common;

use buendel::auth::CurrentUser;
use buendel::db::schema::{demand_lines, demand_positions, organisations, users};
use buendel::db::{write_tx, DbConn};
use buendel::demand::{self, CallData, DemandEntry};
use buendel::domain::ids::{DemandCallId, OrgId, SessionId, UserId};
use buendel::domain::roles::{OrgType, Role};
use common::BenchApp;
use criterion::{criterion_group, criterion_main, Criterion};
use diesel::prelude::*;
use std::time::Duration;

const LINES: usize = 100_000;

struct Setup {
    bench: BenchApp,
    buyer: CurrentUser,
    call: DemandCallId,
    csv: Vec<u8>,
}

fn setup(postgres: bool) -> Option<Setup> {
    let bench = BenchApp::open(postgres, "bench", &[])?;
    let app = &bench.app;
    let mut c = app.db.get().unwrap();
    let now = app.state.clock.now_naive();
    let org = |c: &mut DbConn, name: &str, t: OrgType| {
        let mut input = buendel::orgs::OrgInput {
            name: name.into(),
            street: "Weg 1".into(),
            postal_code: "65185".into(),
            city: "Wiesbaden".into(),
            ..Default::default()
        };
        input.member_kind = "kommune".into();
        buendel::orgs::insert_org(c, now, &input.validate(t).unwrap(), None).unwrap()
    };
    let coop = org(&mut c, "Genossenschaft", OrgType::Cooperative);
    let member = org(&mut c, "Stadt Benchdorf", OrgType::Member);
    let user = |c: &mut DbConn, email: &str, role: Role, org: OrgId| {
        let data = buendel::orgs::UserData {
            email: email.into(),
            name: email.into(),
            role,
            organisation_id: org,
            password: None,
        };
        buendel::orgs::insert_user(c, now, &data, "x").unwrap()
    };
    let officer_id = user(&mut c, "officer@bench.example", Role::Officer, coop);
    let buyer_id = user(&mut c, "buyer@bench.example", Role::Buyer, member);
    let current = |id: UserId, role: Role, org: OrgId, org_type: OrgType| CurrentUser {
        id,
        email: String::new(),
        name: String::new(),
        role,
        organisation_id: org,
        organisation_name: String::new(),
        org_type,
        credential: buendel::auth::Credential::Session(SessionId::default()),
    };
    let officer = current(officer_id, Role::Officer, coop, OrgType::Cooperative);
    let buyer = current(buyer_id, Role::Buyer, member, OrgType::Member);
    let data = CallData {
        title: "Bench".into(),
        description: String::new(),
        term_months: 48,
        deadline: now + chrono::Duration::days(30),
        all_members: false,
        member_ids: vec![member],
    };
    let call = demand::create_call(&mut c, &app.state, &officer, &data, &[]).unwrap();
    // 100,000 positions, inserted in bulk.
    let rows: Vec<_> = (1..=LINES as i32)
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
    for chunk in rows.chunks(5_000) {
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
    let _ = organisations::table.count().get_result::<i64>(&mut *c);
    let _ = users::table.count().get_result::<i64>(&mut *c);
    demand::open_call(&mut c, &app.state, &officer, call).unwrap();
    // A German Excel file: semicolons, decimal comma, thousands separators.
    let mut csv = String::from("Pos.;Beschreibung;Einheit;CPV-Code;Menge;Referenzpreis (EUR netto)\n");
    for n in 1..=LINES {
        csv.push_str(&format!(
            "{n};Position {n};Stück;30213100-6;{}.{:03},5;{},{:02}\n",
            n % 9 + 1,
            n % 1000,
            n % 2000 + 1,
            n % 100
        ));
    }
    drop(c);
    Some(Setup {
        bench,
        buyer,
        call,
        csv: csv.into_bytes(),
    })
}

fn bench_backend(c: &mut Criterion, name: &str, s: &Setup) {
    let positions = {
        let mut conn = s.bench.app.db.get().unwrap();
        demand::positions(&mut conn, s.call).unwrap()
    };
    let parsed: Vec<DemandEntry> = demand::entries_from_csv(&positions, &s.csv).unwrap();
    assert_eq!(parsed.len(), LINES);
    let mut group = c.benchmark_group(format!("demand_import_100k/{name}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));
    group.bench_function("import (parse, validate, convert, store)", |b| {
        b.iter(|| {
            let mut conn = s.bench.app.db.get().unwrap();
            let entries = demand::entries_from_csv(&positions, &s.csv).unwrap();
            demand::save_demand(&mut conn, &s.bench.app.state, &s.buyer, s.call, &entries).unwrap();
        })
    });
    group.bench_function("part: parse and validate only", |b| {
        b.iter(|| demand::entries_from_csv(&positions, &s.csv).unwrap().len())
    });
    group.bench_function("anchor: raw insert of pre-parsed rows", |b| {
        b.iter(|| {
            let mut conn = s.bench.app.db.get().unwrap();
            let member = s.buyer.organisation_id;
            write_tx(&mut conn, |c| {
                diesel::delete(demand_lines::table.filter(demand_lines::member_id.eq(member))).execute(c)?;
                let rows: Vec<_> = parsed
                    .iter()
                    .map(|e| {
                        (
                            demand_lines::call_id.eq(s.call),
                            demand_lines::position_id.eq(e.position_id),
                            demand_lines::member_id.eq(member),
                            demand_lines::quantity.eq(e.quantity.minor()),
                            demand_lines::reference_price.eq(e.reference_price.map(|p| p.minor())),
                        )
                    })
                    .collect();
                for chunk in rows.chunks(4_000) {
                    match c {
                        DbConn::Sqlite(s) => diesel::insert_into(demand_lines::table).values(chunk).execute(s)?,
                        DbConn::Pg(p) => diesel::insert_into(demand_lines::table).values(chunk).execute(p)?,
                    };
                }
                Ok(())
            })
            .unwrap();
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let sqlite = setup(false).expect("sqlite");
    {
        let mut group = c.benchmark_group("demand_import_100k");
        group.sample_size(10).measurement_time(Duration::from_secs(10));
        let bytes = sqlite.csv.clone();
        group.bench_function("anchor: raw csv parse", |b| {
            b.iter(|| {
                let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(bytes.as_slice());
                let mut record = csv::ByteRecord::new();
                let mut n = 0usize;
                while reader.read_byte_record(&mut record).unwrap() {
                    n += record.len();
                }
                n
            })
        });
        group.finish();
    }
    bench_backend(c, "sqlite", &sqlite);
    match setup(true) {
        Some(pg) => bench_backend(c, "postgres", &pg),
        None => eprintln!("PostgreSQL nicht erreichbar: nur SQLite gemessen."),
    }
}

criterion_group!(group, benches);
criterion_main!(group);
