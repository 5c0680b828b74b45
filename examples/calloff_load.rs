//! Helper of benches/load-calloffs.sh: prepares a demo database for a call-off load test, runs the
//! bare-transaction baseline in the same run, and checks the totals afterwards.
//!
//! cargo run --release --example calloff_load -- prepare  <DATABASE_URL>
//!     Lifts the maxima (quantity, value, member quotas) of the demo's first concluded contract
//!     (for the HTTP load) and its last one (for the baseline) to practically unlimited; prints
//!     shell assignments CONTRACT=…, POSITION=…, BUYER=… (a buyer of an entitled member) and
//!     BASE_CONTRACT=…, BASE_POSITION=…, BASE_MEMBER=…, BASE_USER=…, BASE_TOTAL=… (for pgbench).
//! cargo run --release --example calloff_load -- cap <DATABASE_URL> <contract> <units>
//!     Each position of the contract may take `units` more than it has (for the breach check).
//! cargo run --release --example calloff_load -- baseline <DATABASE_URL> <min|full> <threads> <secs>
//!     The bare transaction in a loop, through the app's own pool and `write_tx` (BEGIN IMMEDIATE
//!     on SQLite): `min` = one guarded UPDATE + one INSERT (the issue's reference); `full` = every
//!     write a call-off makes (three guarded updates, the call-off, its number, its line, an audit
//!     event after reading the stream's last hash, an outbox mail), without reads, rendering or
//!     HTTP. Prints "baseline <mode> <threads> <ops> <ops/s>".
//! cargo run --release --example calloff_load -- place <DATABASE_URL> <buyer e-mail> <threads> <secs>
//!     `calloff::place` itself in a loop on the first contract (one unit of its first position),
//!     in process: the service without HTTP, session and page. Prints "place <threads> <ops> <ops/s>".
//! cargo run --release --example calloff_load -- check <DATABASE_URL> <contract>
//!     Prints called/maximum per position and the sum of the stored lines; exits 1 on a breach.

use buendel::calloff::totals;
use buendel::db::schema::{
    audit_events, calloff_lines, calloffs, contract_members, contract_positions, contracts, outbox, users,
};
use buendel::db::{write_tx, Db, DbConn};
use buendel::domain::calloff::CalloffStatus;
use buendel::domain::ids::{CalloffId, ContractId, OrgId, SessionId, TenderPositionId, UserId};
use buendel::error::AppError;
use buendel::mail::OutboxStatus;
use diesel::prelude::*;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// 10⁸ units (Quantity: 3 places, at most 999 999 999,999) and 10¹² € (Amount: at most 9,99 · 10¹² €).
const UNLIMITED_UNITS: i64 = 100_000_000;
const UNLIMITED_VALUE: i64 = 100_000_000_000_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let result = match arg(0).as_str() {
        "prepare" => prepare(&arg(1)),
        "cap" => cap(
            &arg(1),
            arg(2).parse().unwrap_or(ContractId(0)),
            arg(3).parse().unwrap_or(0),
        ),
        "baseline" => baseline(
            &arg(1),
            &arg(2),
            arg(3).parse().unwrap_or(1),
            arg(4).parse().unwrap_or(5),
        ),
        "check" => check(&arg(1), arg(2).parse().unwrap_or_default()),
        "place" => place(
            &arg(1),
            &arg(2),
            arg(3).parse().unwrap_or(1),
            arg(4).parse().unwrap_or(5),
        ),
        _ => {
            eprintln!("usage: calloff_load prepare|baseline|check … (see the file's header)");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("calloff_load: {e:?}");
            ExitCode::from(2)
        }
    }
}

/// The first contract takes the HTTP load; the last one (another one when the demo has two) takes
/// the bare baseline, so that the load contract's stored lines always add up to its running total.
fn prepare(url: &str) -> Result<bool, AppError> {
    let db = Db::connect(url, 1)?;
    let mut c = db.get()?;
    let ids: Vec<ContractId> = contracts::table
        .order(contracts::id.asc())
        .select(contracts::id)
        .load(&mut *c)?;
    let (Some(&contract_id), Some(&base_id)) = (ids.first(), ids.last()) else {
        return Err(AppError::Internal("no concluded contract: start with --demo".into()));
    };
    if contract_id == base_id {
        eprintln!("warning: one contract only; the baseline writes to the load contract too");
    }
    let member_id: OrgId = contract_members::table
        .filter(contract_members::contract_id.eq(contract_id))
        .order(contract_members::member_id.asc())
        .select(contract_members::member_id)
        .first(&mut *c)?;
    let buyer: String = users::table
        .filter(users::organisation_id.eq(member_id))
        .filter(users::role.eq("buyer"))
        .filter(users::active.eq(true))
        .order(users::id.asc())
        .select(users::email)
        .first(&mut *c)?;
    let position_id: TenderPositionId = contract_positions::table
        .filter(contract_positions::contract_id.eq(contract_id))
        .order(contract_positions::position_id.asc())
        .select(contract_positions::position_id)
        .first(&mut *c)?;
    write_tx(&mut c, |c| {
        for id in [contract_id, base_id] {
            limit(c, id, UNLIMITED_UNITS)?;
            diesel::update(contracts::table.find(id))
                .set(contracts::max_value.eq(contracts::called_value + UNLIMITED_VALUE))
                .execute(c)?;
            diesel::update(contract_members::table.filter(contract_members::contract_id.eq(id)))
                .set(contract_members::quota_value.eq(None::<i64>))
                .execute(c)?;
        }
        Ok(())
    })?;
    let t = target(&mut c)?;
    println!("CONTRACT={contract_id}\nPOSITION={position_id}\nBUYER={buyer}");
    println!(
        "BASE_CONTRACT={}\nBASE_POSITION={}\nBASE_MEMBER={}\nBASE_USER={}\nBASE_TOTAL={}",
        t.contract_id,
        t.position_id,
        t.member_id,
        t.user_id,
        (t.unit_price + 50) / 100
    );
    println!(
        "BASE_PRICE={}\nDOCUMENT_BYTES={DOCUMENT_BYTES}\nMAIL_TEXT_BYTES={MAIL_TEXT_BYTES}\nMAIL_HTML_BYTES={MAIL_HTML_BYTES}\nDETAILS='{DETAILS}'",
        t.unit_price
    );
    Ok(true)
}

/// Each position of `contract_id` may take `units` more than it has.
fn limit(c: &mut DbConn, contract_id: ContractId, units: i64) -> Result<(), AppError> {
    diesel::update(contract_positions::table.filter(contract_positions::contract_id.eq(contract_id)))
        .set(contract_positions::max_quantity.eq(contract_positions::called_quantity + units * 1000))
        .execute(c)?;
    Ok(())
}

fn cap(url: &str, contract_id: ContractId, units: i64) -> Result<bool, AppError> {
    let db = Db::connect(url, 1)?;
    let mut c = db.get()?;
    write_tx(&mut c, |c| limit(c, contract_id, units))?;
    Ok(true)
}

struct Target {
    contract_id: ContractId,
    position_id: TenderPositionId,
    member_id: OrgId,
    user_id: UserId,
    unit_price: i64,
}

fn target(c: &mut DbConn) -> Result<Target, AppError> {
    let contract_id: ContractId = contracts::table
        .order(contracts::id.desc())
        .select(contracts::id)
        .first(c)?;
    let (position_id, unit_price): (TenderPositionId, i64) = contract_positions::table
        .filter(contract_positions::contract_id.eq(contract_id))
        .order(contract_positions::position_id.asc())
        .select((contract_positions::position_id, contract_positions::unit_price))
        .first(c)?;
    let member_id: OrgId = contract_members::table
        .filter(contract_members::contract_id.eq(contract_id))
        .order(contract_members::member_id.asc())
        .select(contract_members::member_id)
        .first(c)?;
    let user_id: UserId = users::table
        .filter(users::organisation_id.eq(member_id))
        .order(users::id.asc())
        .select(users::id)
        .first(c)?;
    Ok(Target {
        contract_id,
        position_id,
        member_id,
        user_id,
        unit_price,
    })
}

/// One bare call-off transaction; false when a guard refused. `min`: the guarded UPDATE and one
/// INSERT. `full`: the writes of `calloff::place` in its order — the next id, the call-off with
/// number and document, its line, the first event of its audit stream, the vendor's mail, then
/// the guarded updates of position, contract (RETURNING the totals for the alert check) and
/// member — without the reads, the rendering and HTTP.
fn one(c: &mut DbConn, t: &Target, full: bool, n: &str) -> Result<bool, AppError> {
    let now = chrono::Utc::now().naive_utc();
    let total = (t.unit_price + 50) / 100; // one unit, 4 places → cents
                                           // The same prepared statements as the call-off's own guarded updates.
    let guarded_position =
        |c: &mut DbConn| totals::take_position(c, t.contract_id, t.position_id, 1000).map_err(AppError::from);
    write_tx(c, |c| {
        if !full {
            if !guarded_position(c)? {
                return Ok(false);
            }
            insert_calloff(c, t, n, None, now, total, "", "")?;
            return Ok(true);
        }
        let id = buendel::calloff::next_calloff_id(c)?;
        insert_calloff(c, t, n, Some(id), now, total, &DOCUMENT, &"0".repeat(64))?;
        diesel::insert_into(calloff_lines::table)
            .values((
                calloff_lines::calloff_id.eq(id),
                calloff_lines::position_id.eq(t.position_id),
                calloff_lines::quantity.eq(1000_i64),
                calloff_lines::unit_price.eq(t.unit_price),
                calloff_lines::line_total.eq(total),
                calloff_lines::reference_price.eq(Some(t.unit_price + 10_000)),
                calloff_lines::reference_source.eq(Some("estimate")),
                calloff_lines::saving.eq(Some(100_i64)),
                calloff_lines::member_id.eq(t.member_id),
                calloff_lines::contract_id.eq(t.contract_id),
                calloff_lines::order_year.eq(buendel::savings::berlin_year(now)),
            ))
            .execute(c)?;
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::stream.eq(format!("baseline:{id}")),
                audit_events::seq.eq(1_i64),
                audit_events::actor_user_id.eq(Some(t.user_id)),
                audit_events::actor_label.eq("Baseline"),
                audit_events::action.eq("calloff.placed"),
                audit_events::object_type.eq("calloff"),
                audit_events::object_id.eq(id.to_string()),
                audit_events::occurred_at.eq(now),
                audit_events::details.eq(DETAILS),
                audit_events::prev_hash.eq("0".repeat(64)),
                audit_events::hash.eq("1".repeat(64)),
            ))
            .execute(c)?;
        diesel::insert_into(outbox::table)
            .values((
                outbox::recipient.eq("vendor@baseline.example"),
                outbox::subject.eq("Neuer Abruf"),
                outbox::body_text.eq(MAIL_TEXT.as_str()),
                outbox::body_html.eq(MAIL_HTML.as_str()),
                outbox::status.eq(OutboxStatus::Pending),
                outbox::attempts.eq(0),
                outbox::next_attempt_at.eq(now),
                outbox::created_at.eq(now),
            ))
            .execute(c)?;
        if !guarded_position(c)? {
            return Ok(false);
        }
        let taken = totals::take_contract(c, t.contract_id, total)?;
        let member = totals::take_member(c, t.contract_id, t.member_id, total)?;
        Ok(taken.is_some() && member)
    })
}

/// The call-off row of a baseline transaction: `id` given (as `place` does) or left to the
/// database.
#[allow(clippy::too_many_arguments)]
fn insert_calloff(
    c: &mut DbConn,
    t: &Target,
    n: &str,
    id: Option<CalloffId>,
    now: chrono::NaiveDateTime,
    total: i64,
    document: &str,
    sha: &str,
) -> Result<(), AppError> {
    let row = (
        calloffs::number.eq(format!("BL-{n}")),
        calloffs::contract_id.eq(t.contract_id),
        calloffs::member_id.eq(t.member_id),
        calloffs::ordered_by.eq(t.user_id),
        calloffs::status.eq(CalloffStatus::Placed),
        calloffs::delivery_address.eq("Rathaus, Marktplatz 1, 64283 Darmstadt"),
        calloffs::cost_centre.eq("4711"),
        calloffs::leitweg_id.eq(None::<String>),
        calloffs::note.eq(""),
        calloffs::total.eq(total),
        calloffs::created_at.eq(now),
        calloffs::document.eq(document),
        calloffs::document_sha256.eq(sha),
    );
    match id {
        Some(id) => diesel::insert_into(calloffs::table)
            .values((calloffs::id.eq(id), row))
            .execute(c)?,
        None => diesel::insert_into(calloffs::table).values(row).execute(c)?,
    };
    Ok(())
}

/// Sizes as a real call-off of one line writes them (order document, mail bodies, event).
static DOCUMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "x".repeat(DOCUMENT_BYTES));
static MAIL_TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "x".repeat(MAIL_TEXT_BYTES));
static MAIL_HTML: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "x".repeat(MAIL_HTML_BYTES));
const DOCUMENT_BYTES: usize = 1900;
const MAIL_TEXT_BYTES: usize = 380;
const MAIL_HTML_BYTES: usize = 680;
const DETAILS: &str = r#"{"contract_id":1,"document_sha256":"0000000000000000000000000000000000000000000000000000000000000000","lines":1,"member_id":4,"number":"AB-2026-000123","total":"1234.56"}"#;

fn baseline(url: &str, mode: &str, threads: usize, secs: u64) -> Result<bool, AppError> {
    let full = match mode {
        "min" => false,
        "full" => true,
        other => return Err(AppError::Internal(format!("mode {other}: min or full"))),
    };
    let db = Db::connect(url, threads as u32)?;
    let t = target(&mut *db.get()?)?;
    let nonce: u32 = rand::random();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let counts: Vec<Result<u64, AppError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let (db, t) = (&db, &t);
                s.spawn(move || {
                    let mut c = db.get()?;
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        if !one(&mut c, t, full, &format!("{nonce:08x}-{k}-{n}"))? {
                            return Err(AppError::Internal("cap reached: prepare first".into()));
                        }
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut ops = 0;
    for c in counts {
        ops += c?;
    }
    println!("baseline {mode} {threads} {ops} {:.0}", ops as f64 / elapsed);
    Ok(true)
}

fn place(url: &str, buyer: &str, threads: usize, secs: u64) -> Result<bool, AppError> {
    use buendel::db::schema::organisations;
    let vars: std::collections::HashMap<String, String> = [
        ("DATABASE_URL", url),
        ("BUENDEL_MAIL_TRANSPORT", "stub"),
        ("BUENDEL_POOL_SIZE", &threads.to_string()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = buendel::config::Config::from_map(&vars, false).map_err(|e| AppError::Internal(e.join("; ")))?;
    let app = buendel::App::prepare(config).map_err(AppError::Internal)?;
    let mut c = app.db.get()?;
    let contract_id: ContractId = contracts::table
        .order(contracts::id.asc())
        .select(contracts::id)
        .first(&mut *c)?;
    let position_id: TenderPositionId = contract_positions::table
        .filter(contract_positions::contract_id.eq(contract_id))
        .order(contract_positions::position_id.asc())
        .select(contract_positions::position_id)
        .first(&mut *c)?;
    let (id, email, name, role, organisation_id, organisation_name, org_type): (
        UserId,
        String,
        String,
        String,
        OrgId,
        String,
        String,
    ) = users::table
        .inner_join(organisations::table)
        .filter(users::email.eq(buyer))
        .select((
            users::id,
            users::email,
            users::name,
            users::role,
            users::organisation_id,
            organisations::name,
            organisations::org_type,
        ))
        .first(&mut *c)?;
    drop(c);
    let user = buendel::auth::CurrentUser {
        id,
        email,
        name,
        role: role.parse().map_err(|_| AppError::Internal("role".into()))?,
        organisation_id,
        organisation_name,
        org_type: org_type.parse().map_err(|_| AppError::Internal("org type".into()))?,
        credential: buendel::auth::Credential::Session(SessionId::default()),
    };
    let input = buendel::calloff::CalloffCommand {
        quantities: vec![(
            position_id,
            buendel::domain::money::Quantity::from_decimal(1.into()).expect("1 piece"),
        )],
        delivery_address: "Rathaus, Marktplatz 1, 64283 Darmstadt".into(),
        cost_centre: "4711".into(),
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let counts: Vec<Result<u64, AppError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (app, user, input) = (&app, &user, &input);
                s.spawn(move || {
                    let mut c = app.db.get()?;
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        buendel::calloff::place(&mut c, &app.state, user, contract_id, input)?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut ops = 0;
    for c in counts {
        ops += c?;
    }
    println!("place {threads} {ops} {:.0}", ops as f64 / elapsed);
    Ok(true)
}

fn check(url: &str, contract_id: ContractId) -> Result<bool, AppError> {
    let db = Db::connect(url, 1)?;
    let mut c = db.get()?;
    let positions: Vec<(TenderPositionId, i64, i64)> = contract_positions::table
        .filter(contract_positions::contract_id.eq(contract_id))
        .select((
            contract_positions::position_id,
            contract_positions::called_quantity,
            contract_positions::max_quantity,
        ))
        .load(&mut *c)?;
    let mut ok = true;
    for (position_id, called, max) in positions {
        let lines: Vec<i64> = calloff_lines::table
            .inner_join(calloffs::table)
            .filter(calloffs::contract_id.eq(contract_id))
            .filter(calloffs::status.ne(CalloffStatus::Cancelled))
            .filter(calloffs::status.ne(CalloffStatus::Rejected))
            .filter(calloff_lines::position_id.eq(position_id))
            .select(calloff_lines::quantity)
            .load(&mut *c)?;
        let sum: i64 = lines.iter().sum();
        let fine = called <= max && sum == called;
        ok &= fine;
        println!(
            "position {position_id}: called {} of max {} units, lines {} units in {} call-offs: {}",
            called / 1000,
            max / 1000,
            sum / 1000,
            lines.len(),
            if fine { "ok" } else { "BREACH" }
        );
    }
    let (value, max): (i64, i64) = contracts::table
        .find(contract_id)
        .select((contracts::called_value, contracts::max_value))
        .first(&mut *c)?;
    if value > max {
        println!("contract value {value} > max {max}: BREACH");
        ok = false;
    }
    Ok(ok)
}
