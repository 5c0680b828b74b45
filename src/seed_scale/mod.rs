//! `buendel seed --scale kdb|tiny`: a cooperative at Kaufhaus-des-Bundes scale (or a thousandth of
//! it for tests) generated into an empty database on top of the demo data, deterministic per seed.
//!
//! The demo seed runs first (accounts, demo tenders and contracts, so every demo login works);
//! then master data, tenders, contracts and call-offs are built in memory, their running totals
//! summed as they go (so no call-off line can exceed a maximum), and written with multi-row
//! INSERTs in one transaction, audit events with a valid hash chain included.

mod audit_trail;
pub(crate) mod bulk;
mod calloffs;
mod contracts;
mod orgs;
mod vocab;

use crate::db::{write_tx, DbConn};
use crate::domain::ids::{
    AwardId, BidId, CalloffId, CatalogueItemId, ContractId, DemandCallId, DemandPositionId, LotId, OrgId, TenderId,
    TenderPositionId, UserId,
};
use crate::error::{AppError, AppResult};
use crate::AppState;
use diesel::connection::SimpleConnection;
use diesel::dsl::max;
use diesel::prelude::*;
use std::path::Path;
use std::time::Instant;

/// How much to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Member bodies in total, the demo members included.
    pub members: usize,
    pub vendors: usize,
    /// Catalogue positions in total, the demo catalogue included.
    pub catalogue: usize,
    /// Tenders of two lots each: one framework contract per lot.
    pub tenders: usize,
    pub positions_per_lot: usize,
    pub members_per_tender: usize,
    /// Call-off lines in total; call-offs carry 1 to 8 lines each (4.5 on average).
    pub calloff_lines: usize,
}

impl Plan {
    /// Kaufhaus des Bundes: 300 bodies, 500 contracts, 100,000 catalogue positions, a million
    /// call-off lines.
    pub const KDB: Plan = Plan {
        members: 300,
        vendors: 60,
        catalogue: 100_000,
        tenders: 250,
        positions_per_lot: 20,
        members_per_tender: 40,
        calloff_lines: 1_000_000,
    };

    /// The same shape at about a thousandth, for tests.
    pub const TINY: Plan = Plan {
        members: 12,
        vendors: 8,
        catalogue: 100,
        tenders: 2,
        positions_per_lot: 5,
        members_per_tender: 6,
        calloff_lines: 1_000,
    };

    pub fn by_name(name: &str) -> Option<Plan> {
        match name {
            "kdb" => Some(Plan::KDB),
            "tiny" => Some(Plan::TINY),
            _ => None,
        }
    }

    pub const LOTS_PER_TENDER: usize = 2;

    pub fn contracts(&self) -> usize {
        self.tenders * Self::LOTS_PER_TENDER
    }
}

/// What was generated, for the command's last lines and the tests.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub members: usize,
    pub contracts: usize,
    pub catalogue: usize,
    pub calloffs: usize,
    pub calloff_lines: usize,
    pub audit_events: usize,
    /// How long the generation took (printed in seconds).
    pub elapsed: std::time::Duration,
}

/// A small deterministic generator (SplitMix64): the same seed gives the same cooperative on any
/// machine and with any version of the `rand` crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; the modulo bias is irrelevant for test data).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in `from..=to`.
    pub fn between(&mut self, from: i64, to: i64) -> i64 {
        from + (self.next_u64() % ((to - from + 1).max(1) as u64)) as i64
    }

    /// A hex string of `bytes` random bytes (nonces, receipt marks).
    pub fn hex(&mut self, bytes: usize) -> String {
        (0..bytes.div_ceil(8))
            .map(|_| format!("{:016x}", self.next_u64()))
            .collect::<String>()[..bytes * 2]
            .to_string()
    }
}

/// The next free id of each table the generator writes with explicit ids (after the demo seed).
pub(crate) struct NextIds {
    pub org: OrgId,
    pub user: UserId,
    pub catalogue: CatalogueItemId,
    pub call: DemandCallId,
    pub demand_position: DemandPositionId,
    pub tender: TenderId,
    pub lot: LotId,
    pub tender_position: TenderPositionId,
    pub bid: BidId,
    pub award: AwardId,
    pub contract: ContractId,
    pub calloff: CalloffId,
}

macro_rules! next_id {
    ($conn:expr, $table:ident) => {
        (crate::db::schema::$table::table
            .select(max(crate::db::schema::$table::id))
            .first::<Option<i64>>($conn)?
            .unwrap_or(0)
            + 1)
        .into()
    };
}

/// Hands out the id in `next` and moves `next` on to the one after it.
pub(crate) fn take<T: Copy + From<i64>>(next: &mut T) -> T
where
    i64: From<T>,
{
    let id = *next;
    *next = T::from(i64::from(id) + 1);
    id
}

impl NextIds {
    fn read(conn: &mut DbConn) -> AppResult<NextIds> {
        Ok(NextIds {
            org: next_id!(conn, organisations),
            user: next_id!(conn, users),
            catalogue: next_id!(conn, catalogue_items),
            call: next_id!(conn, demand_calls),
            demand_position: next_id!(conn, demand_positions),
            tender: next_id!(conn, tenders),
            lot: next_id!(conn, tender_lots),
            tender_position: next_id!(conn, tender_positions),
            bid: next_id!(conn, bids),
            award: next_id!(conn, awards),
            contract: next_id!(conn, contracts),
            calloff: next_id!(conn, calloffs),
        })
    }
}

/// Tables written with explicit ids: PostgreSQL's sequences must be moved past them.
const EXPLICIT_ID_TABLES: &[&str] = &[
    "organisations",
    "users",
    "catalogue_items",
    "demand_calls",
    "demand_positions",
    "tenders",
    "tender_lots",
    "tender_positions",
    "bids",
    "awards",
    "contracts",
    "calloffs",
];

/// Loads the demo data into the empty database, then the generated cooperative.
pub fn run(conn: &mut DbConn, state: &AppState, demo_dir: &Path, plan: Plan, seed: u64) -> AppResult<Report> {
    let started = Instant::now();
    if !crate::seed::is_empty(conn)? {
        return Err(AppError::Conflict(
            "Die Datenbank enthält bereits Daten; Skalendaten werden nur in eine leere Datenbank geladen.".into(),
        ));
    }
    let progress = bulk::Progress::start("Demodaten");
    crate::seed::load(conn, state, demo_dir)?;
    progress.done(0);

    let mut rng = Rng::new(seed);
    let now = state.clock.now_naive();
    // One hash for every generated account, as for the demo accounts: they share its password.
    let password_hash = crate::auth::hash_password(crate::seed::DEMO_PASSWORD)?;
    let mut report = write_tx(conn, |c| {
        let mut ids = NextIds::read(c)?;
        let mut trail = audit_trail::Trail::default();
        let people = orgs::generate(c, &mut rng, &plan, &mut ids, &mut trail, now, &password_hash)?;
        let mut book = contracts::plan(c, &mut rng, &plan, &mut ids, &people, now)?;
        let placed = calloffs::generate(&mut rng, &plan, &mut ids, &mut book, &people, now)?;
        contracts::write(c, &mut rng, &book, &people, &mut trail, &state.config.calendar())?;
        calloffs::write(c, &placed, &book, &mut trail)?;
        let audit_events = trail.write(c)?;
        if let DbConn::Pg(_) = c {
            for table in EXPLICIT_ID_TABLES {
                diesel::sql_query(format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                ))
                .execute(c)?;
            }
        }
        Ok(Report {
            members: crate::db::schema::organisations::table
                .filter(crate::db::schema::organisations::org_type.eq(crate::domain::roles::OrgType::Member))
                .count()
                .get_result::<i64>(c)? as usize,
            contracts: book.contracts.len(),
            catalogue: people.catalogue.len(),
            calloffs: placed.calloffs.len(),
            calloff_lines: placed.lines.len(),
            audit_events,
            elapsed: std::time::Duration::ZERO,
        })
    })?;
    // Fresh statistics, as autovacuum or a later ANALYZE would give them; on PostgreSQL VACUUM
    // also sets the visibility map so the dashboard reads its covering index alone.
    let progress = bulk::Progress::start("Statistik");
    match conn {
        DbConn::Sqlite(c) => c.batch_execute("ANALYZE")?,
        DbConn::Pg(c) => c.batch_execute("VACUUM (ANALYZE)")?,
    }
    progress.done(0);
    report.elapsed = started.elapsed();
    Ok(report)
}
