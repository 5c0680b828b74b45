//! Issue #5: evaluating 30 bids × 5,000 positions.
//!
//! 1. `evaluate_30x5000`: the pure evaluation (lot totals commercially rounded per line, weighted
//!    price and quality points, ranks) with the exact arithmetic of `domain::scoring`, next to the
//!    same computation in f64 as the floor. Target: under 10 ms and within 3× of the floor.
//! 2. `load_and_evaluate_30x5000/<backend>`: an opened tender with one lot of 5,000 positions and 30
//!    scored bids (150,000 prices) in a fresh database, evaluated through `award::evaluation`, and
//!    the Preisspiegel through `award::price_sheet`, on SQLite and PostgreSQL. Target: under 300 ms.
//!
//! Run: `cargo bench --bench evaluation`. The data is deterministic (fixed seed). PostgreSQL is
//! `BUENDEL_TEST_POSTGRES_URL` or postgres://postgres@127.0.0.1:5432/test with a schema of its own,
//! dropped at the end; when it is unreachable only SQLite is measured, unless CI=true.

use buendel::auth::CurrentUser;
use buendel::award;
use buendel::config::Config;
use buendel::db::schema::{
    bid_lots, bid_prices, bid_scores, bids, organisations, tender_lots, tender_positions, tenders, users,
};
use buendel::db::{write_tx, DbConn};
use buendel::demand::{self, CallData};
use buendel::domain::bid::BidStatus;
use buendel::domain::evaluation::{EvaluationCommand, EvaluationSpec};
use buendel::domain::ids::{BidId, LotId, OrgId, SessionId, TenderId, TenderPositionId, UserId};
use buendel::domain::money::{Amount, Price, Quantity};
use buendel::domain::roles::{OrgType, Role, VendorStatus};
use buendel::domain::scoring::{self, Candidate, Scored};
use buendel::domain::tender::Procedure;
use buendel::domain::tender::TenderStatus;
use buendel::App;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const POSITIONS: usize = 5_000;
const BIDS: usize = 30;
const SEED: u64 = 20_261_123;

// ----------------------------------------------------------------------------- data

/// One lot: quantities (1/1 000) and estimate prices (1/10 000), and the bids on it.
struct Data {
    quantities: Vec<i64>,
    estimate_prices: Vec<i64>,
    bids: Vec<BidData>,
}

struct BidData {
    /// Unit price per position, 1/10 000 EUR.
    prices: Vec<i64>,
    /// B-scores in hundredths (0..=1000), one per B-criterion of the default specification.
    scores: [i64; 2],
}

/// 5,000 positions of 1..=500 units (a fifth with a fraction of 3 places) at 0.50..500 EUR, and
/// 30 bids at their own price level (90..115 %) with ±5 % per position and all 4 places used.
fn generate() -> Data {
    let mut rng = StdRng::seed_from_u64(SEED);
    let quantities: Vec<i64> = (0..POSITIONS)
        .map(|_| {
            let whole = rng.gen_range(1..=500i64) * 1_000;
            if rng.gen_bool(0.2) {
                whole + rng.gen_range(1..1_000)
            } else {
                whole
            }
        })
        .collect();
    let estimate_prices: Vec<i64> = (0..POSITIONS).map(|_| rng.gen_range(5_000..=5_000_000i64)).collect();
    let bids = (0..BIDS)
        .map(|_| {
            let level = rng.gen_range(9_000..=11_500i64);
            let prices = estimate_prices
                .iter()
                .map(|base| {
                    let noise = rng.gen_range(9_500..=10_500i64);
                    (base * level / 10_000 * noise / 10_000 + rng.gen_range(0..10)).max(1)
                })
                .collect();
            BidData {
                prices,
                scores: [rng.gen_range(300..=1_000), rng.gen_range(300..=1_000)],
            }
        })
        .collect();
    Data {
        quantities,
        estimate_prices,
        bids,
    }
}

fn spec() -> EvaluationSpec {
    let spec = EvaluationCommand::defaults().validate().unwrap();
    assert_eq!(spec.b_criteria.len(), 2, "the data carries two B-scores per bid");
    spec
}

// ----------------------------------------------------------------------------- exact

/// Totals (integer cents per line, rounded half away from zero), points and ranks, exactly.
fn evaluate_exact(spec: &EvaluationSpec, data: &Data) -> Vec<Scored> {
    let candidates: Vec<Candidate> = data
        .bids
        .iter()
        .enumerate()
        .map(|(i, b)| Candidate {
            bid_id: BidId(i as i64),
            total: scoring::cents_to_decimal(scoring::lot_total_cents(&data.quantities, &b.prices)),
            scores: b.scores.iter().map(|s| Decimal::new(*s, 2)).collect(),
        })
        .collect();
    scoring::evaluate(spec, &candidates)
}

// ----------------------------------------------------------------------------- f64 floor

/// The same inputs as f64 (converted once, outside the measurement).
struct FloatData {
    quantities: Vec<f64>,
    bids: Vec<(Vec<f64>, [f64; 2])>,
    max_points: f64,
    price_weight: f64,
    quality_weight: f64,
    criterion_weights: [f64; 2],
    places: i32,
}

impl FloatData {
    fn new(spec: &EvaluationSpec, data: &Data) -> FloatData {
        let f = |d: Decimal| d.to_f64().unwrap();
        FloatData {
            quantities: data.quantities.iter().map(|q| *q as f64 / 1_000.0).collect(),
            bids: data
                .bids
                .iter()
                .map(|b| {
                    (
                        b.prices.iter().map(|p| *p as f64 / 10_000.0).collect(),
                        [b.scores[0] as f64 / 100.0, b.scores[1] as f64 / 100.0],
                    )
                })
                .collect(),
            max_points: f(spec.max_points),
            price_weight: f(spec.price_weight),
            quality_weight: f(spec.quality_weight),
            criterion_weights: [f(spec.b_criteria[0].weight), f(spec.b_criteria[1].weight)],
            places: spec.score_places as i32,
        }
    }
}

/// (bid index, score, rank) in ranking order.
fn evaluate_f64(d: &FloatData) -> Vec<(i64, f64, u32)> {
    let totals: Vec<f64> = d
        .bids
        .iter()
        .map(|(prices, _)| {
            d.quantities
                .iter()
                .zip(prices)
                .map(|(q, p)| (q * p * 100.0).round() / 100.0)
                .sum()
        })
        .collect();
    let min = totals.iter().copied().fold(f64::INFINITY, f64::min);
    let weight_sum: f64 = d.criterion_weights.iter().sum();
    let scale = 10f64.powi(d.places);
    let mut scored: Vec<(i64, f64, u32)> = d
        .bids
        .iter()
        .zip(&totals)
        .enumerate()
        .map(|(i, ((_, scores), total))| {
            let pp = if *total == 0.0 {
                d.max_points
            } else {
                d.max_points * min / total
            };
            let performance: f64 = d.criterion_weights.iter().zip(scores).map(|(w, s)| w * s).sum();
            let qp = d.max_points * performance / (10.0 * weight_sum);
            let points = (d.price_weight * pp + d.quality_weight * qp) / 100.0;
            (i as i64, (points * scale).round() / scale, 0)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut rank = 1;
    for i in 0..scored.len() {
        if i > 0 && scored[i - 1].1 != scored[i].1 {
            rank = i as u32 + 1;
        }
        scored[i].2 = rank;
    }
    scored
}

// ----------------------------------------------------------------------------- timing

/// Median wall time of `runs` calls after `warm` unmeasured ones, printed next to criterion.
fn median<T>(warm: usize, runs: usize, mut f: impl FnMut() -> T) -> Duration {
    for _ in 0..warm {
        black_box(f());
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ----------------------------------------------------------------------------- group 1

fn sanity_pure(spec: &EvaluationSpec, data: &Data, floats: &FloatData) {
    // Exact totals against the Decimal rule of `Amount::line_total`, for a few bids.
    for i in [0, BIDS / 2, BIDS - 1] {
        let b = &data.bids[i];
        let by_decimal = data
            .quantities
            .iter()
            .zip(&b.prices)
            .map(|(q, p)| {
                Amount::line_total(Quantity::from_minor(*q).unwrap(), Price::from_minor(*p).unwrap()).unwrap()
            })
            .fold(Amount::ZERO, |sum, line| sum.checked_add(line).unwrap());
        assert_eq!(
            scoring::cents_to_decimal(scoring::lot_total_cents(&data.quantities, &b.prices)),
            by_decimal.to_decimal(),
            "bid {i}"
        );
    }
    let exact = evaluate_exact(spec, data);
    let float = evaluate_f64(floats);
    let exact_order: Vec<i64> = exact.iter().map(|s| s.bid_id.get()).collect();
    let float_order: Vec<i64> = float.iter().map(|s| s.0).collect();
    assert_eq!(
        exact_order, float_order,
        "f64 ranks differently from the exact evaluation"
    );
    assert!(exact.iter().all(|s| !s.tied), "the data should have no ties");
    // How far f64 drifts on this data (information only).
    let mut lines_off = 0usize;
    let mut max_cents_off = 0i128;
    for (i, (prices, _)) in floats.bids.iter().enumerate() {
        let float_total: f64 = floats
            .quantities
            .iter()
            .zip(prices)
            .map(|(q, p)| (q * p * 100.0).round() / 100.0)
            .sum();
        let exact_cents = scoring::lot_total_cents(&data.quantities, &data.bids[i].prices);
        max_cents_off = max_cents_off.max((exact_cents - (float_total * 100.0).round() as i128).abs());
        for (j, (q, p)) in floats.quantities.iter().zip(prices).enumerate() {
            let f = ((q * p * 100.0).round()) as i128;
            if f != scoring::line_total_cents(data.quantities[j], data.bids[i].prices[j]) {
                lines_off += 1;
            }
        }
    }
    println!(
        "sanity: exact totals = Σ Amount::line_total; ranking f64 = exact ({} bids, winner bid {}, {} points); \
         f64 line totals off by a cent in {lines_off} of {} lines, lot totals off by up to {max_cents_off} cents",
        exact.len(),
        exact[0].bid_id,
        exact[0].score,
        POSITIONS * BIDS,
    );
}

fn bench_pure(c: &mut Criterion, spec: &EvaluationSpec, data: &Data) {
    let floats = FloatData::new(spec, data);
    sanity_pure(spec, data, &floats);

    let exact = median(20, 201, || evaluate_exact(black_box(spec), black_box(data)));
    let float = median(20, 201, || evaluate_f64(black_box(&floats)));
    println!(
        "evaluate_{BIDS}x{POSITIONS} medians (201 runs): exact {:.3} ms, f64 floor {:.3} ms, ratio {:.2}× \
         (targets: < 10 ms, < 3×)",
        ms(exact),
        ms(float),
        exact.as_secs_f64() / float.as_secs_f64()
    );

    let mut group = c.benchmark_group(format!("evaluate_{BIDS}x{POSITIONS}"));
    group
        .sample_size(100)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("exact (integer cents per line, Decimal points)", |b| {
        b.iter(|| evaluate_exact(black_box(spec), black_box(data)))
    });
    group.bench_function("f64 floor", |b| b.iter(|| evaluate_f64(black_box(&floats))));
    group.finish();
}

// ----------------------------------------------------------------------------- group 2

fn pg_base() -> String {
    std::env::var("BUENDEL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The database of one backend; the PostgreSQL schema is dropped with it.
struct Database {
    app: App,
    officer: CurrentUser,
    tender: TenderId,
    lot: LotId,
    /// Database bid id per generated bid.
    bid_ids: Vec<BidId>,
    _dir: tempfile::TempDir,
    pg_schema: Option<String>,
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(schema) = &self.pg_schema {
            if let Ok(mut c) = PgConnection::establish(&pg_base()) {
                let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut c);
            }
        }
    }
}

/// Multi-row inserts per backend (the multi-connection has no batch insert), in chunks of at most
/// 30,000 bind parameters (SQLite allows 32,766).
macro_rules! insert_batched {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {
        for chunk in $rows.chunks(30_000 / $columns) {
            match &mut *$conn {
                DbConn::Sqlite(s) => diesel::insert_into($table).values(chunk).execute(s)?,
                DbConn::Pg(p) => diesel::insert_into($table).values(chunk).execute(p)?,
            };
        }
    };
}

/// A fresh database with an opened tender: one lot of 5,000 positions, 30 submitted bids of 30
/// vendors with prices, lot totals and B-scores. `None` if PostgreSQL is unreachable.
fn database(postgres: bool, spec: &EvaluationSpec, data: &Data) -> Option<Database> {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg_schema) = if postgres {
        let mut c = match PgConnection::establish(&pg_base()) {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("PostgreSQL unter {} ist nicht erreichbar (CI=true): {e}", pg_base());
                }
                eprintln!("WARNUNG: PostgreSQL nicht erreichbar ({e}); nur SQLite gemessen.");
                return None;
            }
        };
        let schema = format!("bench_eval_{}_{:08x}", std::process::id(), rand::random::<u32>());
        diesel::sql_query(format!("CREATE SCHEMA {schema}"))
            .execute(&mut c)
            .unwrap();
        let sep = if pg_base().contains('?') { '&' } else { '?' };
        (
            format!("{}{sep}options=-csearch_path%3D{schema}", pg_base()),
            Some(schema),
        )
    } else {
        (dir.path().join("bench.db").to_string_lossy().into_owned(), None)
    };
    let data_dir = dir.path().join("data").to_string_lossy().into_owned();
    let vars: HashMap<String, String> = [
        ("DATABASE_URL", url.as_str()),
        ("BUENDEL_MAIL_TRANSPORT", "stub"),
        ("BUENDEL_NOW", "2026-11-23T10:00:00Z"),
        ("BUENDEL_CLOCK_FROZEN", "true"),
        ("BUENDEL_POOL_SIZE", "2"),
        ("BUENDEL_DATA_DIR", data_dir.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let app = App::prepare(Config::from_map(&vars, false).unwrap()).unwrap();
    let mut db = Database {
        officer: CurrentUser {
            id: UserId(0),
            email: "officer@bench.example".into(),
            name: "Vergabestelle".into(),
            role: Role::Officer,
            organisation_id: OrgId(0),
            organisation_name: "Genossenschaft".into(),
            org_type: OrgType::Cooperative,
            credential: buendel::auth::Credential::Session(SessionId::default()),
        },
        app,
        tender: TenderId(0),
        lot: LotId(0),
        bid_ids: Vec::new(),
        _dir: dir,
        pg_schema,
    };
    let started = Instant::now();
    let mut c = db.app.db.get().unwrap();
    let now = db.app.state.clock.now_naive();

    // Cooperative, officer, one member, and a demand call the tender stems from.
    let org = |c: &mut DbConn, name: &str, t: OrgType| {
        let input = buendel::orgs::OrgInput {
            name: name.into(),
            street: "Weg 1".into(),
            postal_code: "65185".into(),
            city: "Wiesbaden".into(),
            member_kind: "kommune".into(),
            ..Default::default()
        };
        buendel::orgs::insert_org(c, now, &input.validate(t).unwrap(), None).unwrap()
    };
    let coop = org(&mut c, "Genossenschaft", OrgType::Cooperative);
    let member = org(&mut c, "Stadt Benchdorf", OrgType::Member);
    let officer_data = buendel::orgs::UserData {
        email: "officer@bench.example".into(),
        name: "Vergabestelle".into(),
        role: Role::Officer,
        organisation_id: coop,
        password: None,
    };
    db.officer.id = buendel::orgs::insert_user(&mut c, now, &officer_data, "x").unwrap();
    db.officer.organisation_id = coop;
    let call_data = CallData {
        title: "Bench".into(),
        description: String::new(),
        term_months: 48,
        deadline: now - chrono::Duration::days(60),
        all_members: false,
        member_ids: vec![member],
    };
    let call = demand::create_call(&mut c, &db.app.state, &db.officer, &call_data, &[]).unwrap();
    let officer = db.officer.id;

    let (tender, lot, bid_ids) = write_tx(&mut c, |c| {
        // 30 approved vendors with one user each.
        let mut vendors = Vec::with_capacity(BIDS);
        for i in 1..=BIDS {
            let vendor: OrgId = diesel::insert_into(organisations::table)
                .values((
                    organisations::org_type.eq(OrgType::Vendor.code()),
                    organisations::name.eq(format!("Anbieter {i:02} GmbH")),
                    organisations::street.eq("Industriestraße 1"),
                    organisations::postal_code.eq("60311"),
                    organisations::city.eq("Frankfurt am Main"),
                    organisations::contact_email.eq(format!("angebote{i}@bench.example")),
                    organisations::vendor_status.eq(VendorStatus::Approved.code()),
                    organisations::active.eq(true),
                    organisations::created_at.eq(now),
                ))
                .returning(organisations::id)
                .get_result(c)?;
            let user: UserId = diesel::insert_into(users::table)
                .values((
                    users::organisation_id.eq(vendor),
                    users::email.eq(format!("vendor{i}@bench.example")),
                    users::name.eq(format!("Vertrieb {i}")),
                    users::role.eq(Role::Vendor.code()),
                    users::password_hash.eq("x"),
                    users::active.eq(true),
                    users::created_at.eq(now),
                    users::password_changed_at.eq(now),
                ))
                .returning(users::id)
                .get_result(c)?;
            vendors.push((vendor, user));
        }

        // The tender, opened after its deadline by two officers.
        let estimate: i128 = scoring::lot_total_cents(&data.quantities, &data.estimate_prices);
        let estimated_value = Amount::from_minor(i64::try_from(estimate).unwrap()).unwrap();
        let deadline = now - chrono::Duration::days(2);
        let tender: TenderId = diesel::insert_into(tenders::table)
            .values((
                tenders::demand_call_id.eq(call),
                tenders::title.eq("Bench-Ausschreibung (30 × 5.000)"),
                tenders::description.eq(""),
                tenders::procedure.eq(Procedure::EuOpen),
                tenders::buffer_percent.eq("20"),
                tenders::estimated_value.eq(estimated_value),
                tenders::threshold.eq(Amount::from_minor(22_100_000).unwrap()),
                tenders::bid_deadline.eq(deadline),
                tenders::term_months.eq(48),
                tenders::evaluation.eq(serde_json::to_string(spec).unwrap()),
                tenders::status.eq(TenderStatus::Opened),
                tenders::created_by.eq(officer),
                tenders::created_at.eq(now - chrono::Duration::days(50)),
                tenders::published_by.eq(Some(officer)),
                tenders::published_at.eq(Some(now - chrono::Duration::days(49))),
                tenders::opening_started_by.eq(Some(officer)),
                tenders::opening_started_at.eq(Some(deadline + chrono::Duration::hours(1))),
                tenders::opened_by.eq(Some(officer)),
                tenders::opened_at.eq(Some(deadline + chrono::Duration::hours(2))),
                tenders::opening_record.eq(Some("Niederschrift (Benchmark)")),
            ))
            .returning(tenders::id)
            .get_result(c)?;
        let lot: LotId = diesel::insert_into(tender_lots::table)
            .values((
                tender_lots::tender_id.eq(tender),
                tender_lots::lot_no.eq(1),
                tender_lots::title.eq("Gesamtleistung"),
            ))
            .returning(tender_lots::id)
            .get_result(c)?;

        let positions: Vec<_> = data
            .quantities
            .iter()
            .zip(&data.estimate_prices)
            .enumerate()
            .map(|(n, (q, p))| {
                (
                    tender_positions::tender_id.eq(tender),
                    tender_positions::lot_id.eq(lot),
                    tender_positions::position_no.eq(n as i32 + 1),
                    tender_positions::description.eq(format!("Position {}", n + 1)),
                    tender_positions::unit.eq("Stück"),
                    tender_positions::cpv_code.eq("30213100-6"),
                    tender_positions::estimate_quantity.eq(Quantity::from_minor(*q).unwrap()),
                    tender_positions::max_quantity.eq(Quantity::from_minor(q + q / 5).unwrap()),
                    tender_positions::estimate_price.eq(Some(Price::from_minor(*p).unwrap())),
                )
            })
            .collect();
        insert_batched!(c, tender_positions::table, positions, 9);
        let position_ids: Vec<TenderPositionId> = tender_positions::table
            .filter(tender_positions::tender_id.eq(tender))
            .order(tender_positions::position_no.asc())
            .select(tender_positions::id)
            .load(c)?;
        assert_eq!(position_ids.len(), POSITIONS);

        let criteria = r#"{"a_confirmed":[true,true],"b_texts":["Servicekonzept","Nachhaltigkeitskonzept"]}"#;
        let mut bid_ids = Vec::with_capacity(BIDS);
        for (i, (b, (vendor, user))) in data.bids.iter().zip(&vendors).enumerate() {
            let bid: BidId = diesel::insert_into(bids::table)
                .values((
                    bids::tender_id.eq(tender),
                    bids::vendor_id.eq(vendor),
                    bids::version.eq(1),
                    bids::status.eq(BidStatus::Submitted),
                    bids::submitted_by.eq(user),
                    bids::submitted_at.eq(deadline - chrono::Duration::minutes(600 - i as i64 * 10)),
                    bids::nonce.eq(format!("{:032x}", i + 1)),
                    bids::receipt_sha256.eq(format!("{:064x}", i + 1)),
                    bids::criteria.eq(criteria),
                ))
                .returning(bids::id)
                .get_result(c)?;
            let total = scoring::lot_total_cents(&data.quantities, &b.prices);
            diesel::insert_into(bid_lots::table)
                .values((
                    bid_lots::bid_id.eq(bid),
                    bid_lots::lot_id.eq(lot),
                    bid_lots::total.eq(Amount::from_minor(i64::try_from(total).unwrap()).unwrap()),
                ))
                .execute(c)?;
            let prices: Vec<_> = position_ids
                .iter()
                .zip(&b.prices)
                .map(|(position, price)| {
                    (
                        bid_prices::bid_id.eq(bid),
                        bid_prices::position_id.eq(*position),
                        bid_prices::unit_price.eq(Price::from_minor(*price).unwrap()),
                    )
                })
                .collect();
            insert_batched!(c, bid_prices::table, prices, 3);
            let scores: Vec<_> = b
                .scores
                .iter()
                .enumerate()
                .map(|(n, s)| {
                    (
                        bid_scores::bid_id.eq(bid),
                        bid_scores::criterion_no.eq(n as i32 + 1),
                        bid_scores::score.eq(*s),
                        bid_scores::reason.eq("Nachvollziehbar begründet."),
                        bid_scores::scored_by.eq(officer),
                        bid_scores::scored_at.eq(now - chrono::Duration::hours(1)),
                    )
                })
                .collect();
            insert_batched!(c, bid_scores::table, scores, 6);
            bid_ids.push(bid);
        }
        Ok((tender, lot, bid_ids))
    })
    .unwrap();
    if let DbConn::Pg(p) = &mut *c {
        diesel::sql_query("ANALYZE").execute(p).unwrap();
    }
    drop(c);
    eprintln!(
        "{}: 1 lot, {POSITIONS} positions, {BIDS} bids, {} prices prepared in {:.1} s",
        if postgres { "PostgreSQL" } else { "SQLite" },
        POSITIONS * BIDS,
        started.elapsed().as_secs_f64()
    );
    db.tender = tender;
    db.lot = lot;
    db.bid_ids = bid_ids;
    Some(db)
}

fn sanity_db(db: &Database, spec: &EvaluationSpec, data: &Data) {
    let mut conn = db.app.db.get().unwrap();
    let (_, lots) = award::evaluation(&mut conn, &db.officer, db.tender).unwrap();
    assert_eq!(lots.len(), 1);
    let lot = &lots[0];
    assert_eq!(lot.bids.len(), BIDS);
    assert!(lot.blockers.is_empty(), "{:?}", lot.blockers);
    let index: HashMap<BidId, i64> = db.bid_ids.iter().enumerate().map(|(i, id)| (*id, i as i64)).collect();
    let from_db: Vec<(i64, Decimal, u32)> = lot
        .ranking
        .iter()
        .map(|s| (index[&s.bid_id], s.score, s.rank))
        .collect();
    let in_memory: Vec<(i64, Decimal, u32)> = evaluate_exact(spec, data)
        .iter()
        .map(|s| (s.bid_id.get(), s.score, s.rank))
        .collect();
    assert_eq!(
        from_db, in_memory,
        "the database evaluation differs from the in-memory one"
    );
    assert_eq!(lot.proposed_bid_id, Some(db.bid_ids[in_memory[0].0 as usize]));
    let recomputed: Vec<(i64, Decimal, u32)> = load_prices_and_evaluate(&mut conn, spec, db)
        .iter()
        .map(|s| (index[&s.bid_id], s.score, s.rank))
        .collect();
    assert_eq!(recomputed, in_memory, "totals recomputed from the stored prices differ");

    let (_, sheet) = award::price_sheet(&mut conn, &db.officer, db.tender, db.lot).unwrap();
    assert_eq!(sheet.rows.len(), POSITIONS);
    assert_eq!(sheet.bidders.len(), BIDS);
    // Σ of the sheet's line totals per bidder = the stored lot total.
    for (col, bidder) in sheet.bidders.iter().enumerate() {
        let sum: Decimal = sheet.rows.iter().map(|r| r.cells[col].unwrap().1).sum();
        assert_eq!(sum, bidder.total, "bidder {}", bidder.vendor);
    }
}

/// The floor under the price comparison: the lot's quantities and the bids' 150,000 prices loaded
/// with the same primary-key query `price_sheet` uses, the totals recomputed from them with
/// `scoring::line_total_cents` and ranked (no rows of Decimals built).
fn load_prices_and_evaluate(conn: &mut DbConn, spec: &EvaluationSpec, db: &Database) -> Vec<Scored> {
    let quantities: HashMap<TenderPositionId, i64> = tender_positions::table
        .filter(tender_positions::lot_id.eq(db.lot))
        .select((tender_positions::id, tender_positions::estimate_quantity))
        .load::<(TenderPositionId, Quantity)>(conn)
        .unwrap()
        .into_iter()
        .map(|(id, q)| (id, q.minor()))
        .collect();
    let rows: Vec<(BidId, TenderPositionId, Price)> = bid_prices::table
        .filter(bid_prices::bid_id.eq_any(&db.bid_ids))
        .select((bid_prices::bid_id, bid_prices::position_id, bid_prices::unit_price))
        .load(conn)
        .unwrap();
    let mut totals: HashMap<BidId, i128> = HashMap::with_capacity(db.bid_ids.len());
    for (bid, position, price) in &rows {
        if let Some(q) = quantities.get(position) {
            *totals.entry(*bid).or_default() += scoring::line_total_cents(*q, price.minor());
        }
    }
    let scores: Vec<(BidId, i32, i64)> = bid_scores::table
        .filter(bid_scores::bid_id.eq_any(&db.bid_ids))
        .select((bid_scores::bid_id, bid_scores::criterion_no, bid_scores::score))
        .load(conn)
        .unwrap();
    let candidates: Vec<Candidate> = db
        .bid_ids
        .iter()
        .map(|id| {
            let mut s = vec![Decimal::ZERO; spec.b_criteria.len()];
            for (_, n, v) in scores.iter().filter(|(b, _, _)| b == id) {
                s[*n as usize - 1] = Decimal::new(*v, 2);
            }
            Candidate {
                bid_id: *id,
                total: scoring::cents_to_decimal(totals[id]),
                scores: s,
            }
        })
        .collect();
    scoring::evaluate(spec, &candidates)
}

fn bench_backend(c: &mut Criterion, name: &str, db: &Database, spec: &EvaluationSpec, data: &Data) {
    sanity_db(db, spec, data);
    let mut conn = db.app.db.get().unwrap();
    let evaluation = median(3, 21, || award::evaluation(&mut conn, &db.officer, db.tender).unwrap());
    let sheet = median(2, 11, || {
        award::price_sheet(&mut conn, &db.officer, db.tender, db.lot).unwrap()
    });
    let anchor = median(2, 11, || load_prices_and_evaluate(&mut conn, spec, db));
    println!(
        "load_and_evaluate_{BIDS}x{POSITIONS}/{name} medians: award::evaluation {:.2} ms (21 runs), \
         award::price_sheet {:.1} ms (11 runs), anchor (load 150,000 prices, recompute, rank) {:.1} ms \
         (11 runs) (target: < 300 ms)",
        ms(evaluation),
        ms(sheet),
        ms(anchor)
    );

    let mut group = c.benchmark_group(format!("load_and_evaluate_{BIDS}x{POSITIONS}/{name}"));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(2));
    group.bench_function("award::evaluation", |b| {
        b.iter(|| award::evaluation(&mut conn, &db.officer, black_box(db.tender)).unwrap())
    });
    group.sample_size(10).measurement_time(Duration::from_secs(15));
    group.bench_function("award::price_sheet (Preisspiegel, 150,000 prices)", |b| {
        b.iter(|| award::price_sheet(&mut conn, &db.officer, black_box(db.tender), db.lot).unwrap())
    });
    group.bench_function("anchor: load 150,000 prices, recompute totals, rank", |b| {
        b.iter(|| load_prices_and_evaluate(&mut conn, black_box(spec), db))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let spec = spec();
    let data = generate();
    bench_pure(c, &spec, &data);

    let sqlite = database(false, &spec, &data).expect("sqlite");
    bench_backend(c, "sqlite", &sqlite, &spec, &data);
    drop(sqlite);
    if let Some(pg) = database(true, &spec, &data) {
        bench_backend(c, "postgres", &pg, &spec, &data);
    }
}

criterion_group!(group, benches);
criterion_main!(group);
