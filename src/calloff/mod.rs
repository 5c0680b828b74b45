//! Call-offs against framework contracts (lifecycle steps 7 and 8): the contract register with
//! remaining volume, orders that never exceed a maximum even under concurrency, the order life
//! (confirm, reject, deliver, cancel), member quotas and the 80 % / 90-day alerts.

pub mod api;
pub mod extra;
pub mod routes;

use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::award::ContractRow;
use crate::db::cached::cached;
use crate::db::schema::{
    calloff_lines, calloffs, contract_members, contract_positions, contracts, organisations, tender_positions, users,
};
use crate::db::{write_tx, DbConn};
use crate::domain::calloff::{self as rules, CalloffStatus, PositionLimit, Refusal};
use crate::domain::identifiers;
use crate::domain::money::{Amount, Price, Quantity};

use crate::domain::policy::Reach;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::{mail, AppState};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// A contract position with what is left of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegisterPosition {
    pub position_id: i64,
    pub position_no: i32,
    pub description: String,
    pub unit: String,
    pub unit_price: Price,
    pub max_quantity: Quantity,
    pub called_quantity: Quantity,
    pub remaining: Quantity,
}

/// A contract as the register shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegisterEntry {
    #[serde(flatten)]
    pub contract: ContractRow,
    pub vendor: String,
    pub lot_title: String,
    pub remaining_value: Amount,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub utilisation_percent: rust_decimal::Decimal,
    pub active: bool,
    pub exhausted: bool,
}

fn today(state: &AppState) -> NaiveDate {
    state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}

fn entry(conn: &mut DbConn, state: &AppState, c: ContractRow) -> AppResult<RegisterEntry> {
    let vendor: String = organisations::table
        .find(c.vendor_id)
        .select(organisations::name)
        .first(conn)?;
    let lot_title: String = crate::db::schema::tender_lots::table
        .find(c.lot_id)
        .select(crate::db::schema::tender_lots::title)
        .first(conn)?;
    Ok(entry_of(today(state), c, vendor, lot_title))
}

fn entry_of(today: NaiveDate, c: ContractRow, vendor: String, lot_title: String) -> RegisterEntry {
    let remaining_value = Amount::from_minor(c.max_value.minor() - c.called_value.minor()).unwrap_or(Amount::ZERO);
    RegisterEntry {
        utilisation_percent: rules::utilisation_percent(c.called_value, c.max_value),
        active: rules::is_active(today, c.term_start, c.term_end),
        exhausted: remaining_value.minor() == 0,
        remaining_value,
        vendor,
        lot_title,
        contract: c,
    }
}

/// The contracts `user` may see: all for the cooperative, its own for a vendor, the entitled
/// ones for a buyer's member.
pub fn register(conn: &mut DbConn, state: &AppState, user: &CurrentUser) -> AppResult<Vec<RegisterEntry>> {
    Ok(register_page(conn, state, user, None)?.0)
}

/// One page of the register (all of it without `page`) and how many contracts it has: one
/// query with vendor and lot joined in, the contract document left out (the register never
/// shows it, and a contract's text is long).
pub fn register_page(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    page: Option<crate::web::paging::Page>,
) -> AppResult<(Vec<RegisterEntry>, i64)> {
    use crate::db::schema::tender_lots;
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    let visible = || {
        let q = contracts::table.into_boxed();
        match user.reach() {
            Reach::Everything => q,
            Reach::Vendor(vendor) => q.filter(contracts::vendor_id.eq(vendor)),
            Reach::Member(member) => q.filter(
                contracts::id.eq_any(
                    contract_members::table
                        .filter(contract_members::member_id.eq(member))
                        .select(contract_members::contract_id),
                ),
            ),
        }
    };
    let total: i64 = visible().count().get_result(conn)?;
    let mut q = visible()
        .inner_join(organisations::table)
        .inner_join(tender_lots::table)
        .order(contracts::id.desc())
        .select((
            (
                contracts::id,
                contracts::number,
                contracts::tender_id,
                contracts::lot_id,
                contracts::award_id,
                contracts::vendor_id,
                contracts::term_start,
                contracts::term_end,
                contracts::max_value,
                sql::<Text>("''"),
                contracts::document_sha256,
                contracts::created_at,
                contracts::called_value,
                contracts::alert_utilisation_at,
                contracts::alert_expiry_at,
            ),
            organisations::name,
            tender_lots::title,
        ));
    if let Some(p) = page {
        q = q.limit(p.size).offset(p.offset());
    }
    let rows: Vec<(ContractRow, String, String)> = q.load(conn)?;
    let today = today(state);
    Ok((
        rows.into_iter()
            .map(|(c, vendor, lot)| entry_of(today, c, vendor, lot))
            .collect(),
        total,
    ))
}

/// One contract with its positions and what is left, for those who may see it.
pub fn detail(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> AppResult<(RegisterEntry, Vec<RegisterPosition>)> {
    let c = crate::award::contract(conn, user, id)?;
    let positions = positions(conn, id)?;
    Ok((entry(conn, state, c)?, positions))
}

pub fn positions(conn: &mut DbConn, contract_id: i64) -> AppResult<Vec<RegisterPosition>> {
    let rows: Vec<(i64, i32, String, String, Price, Quantity, Quantity)> = contract_positions::table
        .inner_join(tender_positions::table)
        .filter(contract_positions::contract_id.eq(contract_id))
        .order(tender_positions::position_no.asc())
        .select((
            contract_positions::position_id,
            tender_positions::position_no,
            tender_positions::description,
            tender_positions::unit,
            contract_positions::unit_price,
            contract_positions::max_quantity,
            contract_positions::called_quantity,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(position_id, position_no, description, unit, unit_price, max, called)| {
                let limit = PositionLimit {
                    position_id,
                    position_no,
                    unit_price,
                    max_quantity: max,
                    called_quantity: called,
                };
                RegisterPosition {
                    remaining: limit.remaining(),
                    position_id,
                    position_no,
                    description,
                    unit,
                    unit_price,
                    max_quantity: max,
                    called_quantity: called,
                }
            },
        )
        .collect())
}

/// A call-off as a buyer orders it, read at the edge (form, order file or API).
#[derive(Debug, Clone, Default)]
pub struct CalloffCommand {
    /// Position id → quantity; positions not ordered are left out.
    pub quantities: Vec<(i64, Quantity)>,
    pub delivery_address: String,
    pub cost_centre: String,
    pub leitweg_id: String,
    pub note: String,
}

/// What `place` accepted.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Placed {
    pub id: i64,
    pub number: String,
    pub total: Amount,
}

fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_default().push(message.into());
}

struct Valid {
    lines: Vec<(i64, Quantity)>,
    delivery_address: String,
    cost_centre: String,
    leitweg_id: Option<String>,
    note: String,
}

/// The checks of `place` that need no contract: address, cost centre, Leitweg-ID, note.
pub fn check_fields(input: &CalloffCommand) -> AppResult<()> {
    validate(input, &[]).map(|_| ())
}

fn validate(input: &CalloffCommand, positions: &[TermsPosition]) -> AppResult<Valid> {
    let mut errors = FieldErrors::new();
    let mut lines = Vec::new();
    for &(position_id, quantity) in &input.quantities {
        let no = positions
            .iter()
            .find(|p| p.position_id == position_id)
            .map(|p| p.position_no)
            .unwrap_or(0);
        match quantity.positive() {
            Ok(q) => lines.push((position_id, q)),
            Err(e) => push(
                &mut errors,
                &format!("q_{position_id}"),
                format!("Pos. {no}: Die Menge {e}."),
            ),
        }
    }
    let delivery_address = input.delivery_address.trim().to_string();
    if !(5..=500).contains(&delivery_address.chars().count()) {
        push(
            &mut errors,
            "delivery_address",
            "Bitte geben Sie die Lieferanschrift an (5 bis 500 Zeichen).",
        );
    }
    let cost_centre = input.cost_centre.trim().to_string();
    if !(1..=50).contains(&cost_centre.chars().count()) {
        push(
            &mut errors,
            "cost_centre",
            "Bitte geben Sie die Kostenstelle an (bis 50 Zeichen).",
        );
    }
    let leitweg_id = match input.leitweg_id.trim() {
        "" => None,
        l => match identifiers::leitweg_id(l) {
            Ok(l) => Some(l),
            Err(e) => {
                push(&mut errors, "leitweg_id", e.to_string());
                None
            }
        },
    };
    let note = input.note.trim().to_string();
    if note.chars().count() > 1000 {
        push(
            &mut errors,
            "note",
            "Die Bemerkung darf höchstens 1000 Zeichen lang sein.",
        );
    }
    if errors.is_empty() && lines.is_empty() {
        push(
            &mut errors,
            "lines",
            "Bitte geben Sie für mindestens eine Position eine Menge an.",
        );
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    Ok(Valid {
        lines,
        delivery_address,
        cost_centre,
        leitweg_id,
        note,
    })
}

fn vendor_users(conn: &mut DbConn, vendor_id: i64) -> AppResult<Vec<(String, String)>> {
    Ok(users::table
        .filter(users::organisation_id.eq(vendor_id))
        .filter(users::active.eq(true))
        .filter(users::role.eq(Role::Vendor))
        .select((users::email, users::name))
        .load(conn)?)
}

/// What never changes on a concluded contract: its terms, priced positions and entitled
/// members (frozen at publication). Running totals, quotas and alert markers are not in here.
#[derive(Debug, Clone)]
pub struct ContractTerms {
    pub number: String,
    pub tender_id: i64,
    pub lot_id: i64,
    pub vendor_id: i64,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub positions: Vec<TermsPosition>,
    pub members: Vec<i64>,
    /// Reference price candidates by member and position (issue #7): demand, estimates and
    /// bids are final once the contract is concluded.
    pub references:
        std::collections::HashMap<i64, std::collections::HashMap<i64, crate::domain::savings::ReferenceCandidates>>,
}

#[derive(Debug, Clone)]
pub struct TermsPosition {
    pub position_id: i64,
    pub position_no: i32,
    pub description: String,
    pub unit: String,
    pub unit_price: Price,
}

/// Contract terms by contract id, kept for the life of the process. Safe with several
/// instances: a concluded contract's terms are written once, in the transaction that creates
/// it, and never changed.
#[derive(Debug, Default)]
pub struct TermsCache {
    terms: std::sync::RwLock<std::collections::HashMap<i64, std::sync::Arc<ContractTerms>>>,
    /// Off on the plain path (`BUENDEL_SPEED=plain`): the terms are read for every call-off.
    off: bool,
}

/// More contracts than a cooperative concludes in decades; past it the cache starts afresh.
const TERMS_CACHE_LIMIT: usize = 10_000;

impl TermsCache {
    /// A cache that keeps terms (`true`) or reads them each time.
    pub fn new(on: bool) -> TermsCache {
        TermsCache {
            terms: std::sync::RwLock::default(),
            off: !on,
        }
    }

    pub fn get(&self, conn: &mut DbConn, contract_id: i64) -> AppResult<std::sync::Arc<ContractTerms>> {
        if self.off {
            return Ok(std::sync::Arc::new(load_terms(conn, contract_id)?));
        }
        if let Some(t) = self.terms.read().ok().and_then(|m| m.get(&contract_id).cloned()) {
            return Ok(t);
        }
        let terms = std::sync::Arc::new(load_terms(conn, contract_id)?);
        if let Ok(mut m) = self.terms.write() {
            if m.len() >= TERMS_CACHE_LIMIT {
                m.clear();
            }
            m.insert(contract_id, terms.clone());
        }
        Ok(terms)
    }
}

fn load_terms(conn: &mut DbConn, contract_id: i64) -> AppResult<ContractTerms> {
    let (number, tender_id, lot_id, vendor_id, term_start, term_end): (String, i64, i64, i64, NaiveDate, NaiveDate) =
        contracts::table
            .find(contract_id)
            .select((
                contracts::number,
                contracts::tender_id,
                contracts::lot_id,
                contracts::vendor_id,
                contracts::term_start,
                contracts::term_end,
            ))
            .first(conn)?;
    let positions: Vec<TermsPosition> = positions(conn, contract_id)?
        .into_iter()
        .map(|p| TermsPosition {
            position_id: p.position_id,
            position_no: p.position_no,
            description: p.description,
            unit: p.unit,
            unit_price: p.unit_price,
        })
        .collect();
    let members = contract_members::table
        .filter(contract_members::contract_id.eq(contract_id))
        .order(contract_members::member_id.asc())
        .select(contract_members::member_id)
        .load::<i64>(conn)?;
    let ids: Vec<i64> = positions.iter().map(|p: &TermsPosition| p.position_id).collect();
    let references = crate::savings::candidates(conn, lot_id, &members, &ids)?;
    Ok(ContractTerms {
        number,
        tender_id,
        lot_id,
        vendor_id,
        term_start,
        term_end,
        positions,
        members,
        references,
    })
}

/// Stand-ins for a call-off's id, number and document hash in what is rendered before the write
/// lock (the values exist only inside it). Random per process, so no typed text can contain
/// them; letters and digits only, so HTML escaping leaves them as they are.
struct Marks {
    id: String,
    number: String,
    sha: String,
    /// The first characters of the random part every mark shares: what is left of a mark that
    /// a template cut short.
    stem: String,
}

impl Marks {
    /// The document with its number filled in.
    fn fill(&self, document: &str, number: &str) -> AppResult<String> {
        let filled = document.replace(&self.number, number);
        self.check(&filled)?;
        Ok(filled)
    }

    /// Refuses text in which a mark, or a piece of one, survived: an operator's template that
    /// transforms the number, link or hash (`| lower`, `| truncate`) would otherwise store and
    /// mail it. Marks are upper case, so `| upper` leaves them whole and they are filled.
    fn check(&self, text: &str) -> AppResult<()> {
        if text.to_ascii_uppercase().contains(&self.stem) {
            return Err(AppError::Internal(
                "Vorlage des Abrufs: Nummer, Link und Prüfsumme müssen unverändert ausgegeben werden \
                 ({{ number }}, {{ url }}, {{ sha256 }})."
                    .into(),
            ));
        }
        Ok(())
    }
}

static MARKS: std::sync::LazyLock<Marks> = std::sync::LazyLock::new(|| {
    let nonce: String = crate::auth::random_token()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Marks {
        id: format!("ID{nonce}X"),
        number: format!("NR{nonce}X"),
        sha: format!("SHA{nonce}X"),
        stem: nonce.chars().take(8).collect(),
    }
});

/// The id the next call-off gets, known before it is stored so that its number and document
/// are written once: PostgreSQL's sequence (taken outside any lock); on SQLite the write lock
/// of the transaction is held, so the next rowid is ours. On PostgreSQL a refused call-off has
/// used its number, so order numbers may have gaps; they are unique and rising, never reused.
pub fn next_calloff_id(conn: &mut DbConn) -> AppResult<i64> {
    #[derive(QueryableByName)]
    struct Next {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let sql: &'static [&'static str] = match conn {
        DbConn::Pg(_) => &["SELECT nextval(pg_get_serial_sequence('calloffs', 'id')) AS id"],
        DbConn::Sqlite(_) => &[
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'calloffs'), 0), \
             COALESCE((SELECT MAX(id) FROM calloffs), 0)) + 1 AS id",
        ],
    };
    Ok(cached(sql, vec![]).get_result::<Next>(conn)?.id)
}

/// The guarded updates of the running totals, as statements that stay prepared (every call-off
/// runs them; Diesel would prepare each UPDATE again). Each takes only what still fits.
pub mod totals {
    use crate::db::cached::cached;
    use crate::db::DbConn;
    use crate::domain::money::Amount;
    use chrono::NaiveDateTime;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Nullable, Timestamp};

    /// `quantity` (minor units) more of a position, if its maximum allows.
    pub fn take_position(c: &mut DbConn, contract_id: i64, position_id: i64, quantity: i64) -> QueryResult<bool> {
        let sql = &[
            "UPDATE contract_positions SET called_quantity = called_quantity + ",
            " WHERE contract_id = ",
            " AND position_id = ",
            " AND called_quantity + ",
            " <= max_quantity",
        ];
        Ok(cached(sql, vec![quantity, contract_id, position_id, quantity]).execute(c)? == 1)
    }

    /// The contract's totals after taking `total` (cents), if its maximum value allows.
    #[derive(Debug, QueryableByName)]
    pub struct ContractTotals {
        #[diesel(sql_type = BigInt)]
        pub called_value: Amount,
        #[diesel(sql_type = BigInt)]
        pub max_value: Amount,
        #[diesel(sql_type = Nullable<Timestamp>)]
        pub alert_utilisation_at: Option<NaiveDateTime>,
    }

    pub fn take_contract(c: &mut DbConn, contract_id: i64, total: i64) -> QueryResult<Option<ContractTotals>> {
        let sql = &[
            "UPDATE contracts SET called_value = called_value + ",
            " WHERE id = ",
            " AND called_value + ",
            " <= max_value RETURNING called_value, max_value, alert_utilisation_at",
        ];
        cached(sql, vec![total, contract_id, total]).get_result(c).optional()
    }

    /// `total` (cents) more on the member's account, if its quota (when set) allows.
    pub fn take_member(c: &mut DbConn, contract_id: i64, member_id: i64, total: i64) -> QueryResult<bool> {
        let sql = &[
            "UPDATE contract_members SET called_value = called_value + ",
            " WHERE contract_id = ",
            " AND member_id = ",
            " AND (quota_value IS NULL OR called_value + ",
            " <= quota_value)",
        ];
        Ok(cached(sql, vec![total, contract_id, member_id, total]).execute(c)? == 1)
    }
}

/// Places a call-off. Everything but the running totals is written first; the guarded updates
/// of the totals come last, just before COMMIT, so the hot rows of a busy contract are locked
/// (PostgreSQL) for the shortest time, and no two call-offs together ever take more than a
/// maximum, on any number of instances. A refusal is explained with what is left.
pub fn place(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    contract_id: i64,
    input: &CalloffCommand,
) -> AppResult<Placed> {
    user.require(&[Role::Buyer])?;
    let terms = match state.contract_terms.get(conn, contract_id) {
        Err(AppError::NotFound) => return Err(AppError::NotFound),
        other => other?,
    };
    if terms.members.binary_search(&user.organisation_id).is_err() {
        return Err(AppError::NotFound);
    }
    let today = today(state);
    if !rules::is_active(today, terms.term_start, terms.term_end) {
        return Err(AppError::Conflict(format!(
            "Die Rahmenvereinbarung {} gilt vom {} bis {}; heute sind keine Abrufe möglich.",
            terms.number,
            terms.term_start.format("%d.%m.%Y"),
            terms.term_end.format("%d.%m.%Y")
        )));
    }
    let valid = validate(input, &terms.positions)?;
    let fixed: Vec<PositionLimit> = terms
        .positions
        .iter()
        .map(|p| PositionLimit {
            position_id: p.position_id,
            position_no: p.position_no,
            unit_price: p.unit_price,
            max_quantity: Quantity::ZERO,
            called_quantity: Quantity::ZERO,
        })
        .collect();
    let (mut lines, total) = rules::price(&fixed, &valid.lines).map_err(|r| refused(r, |_| String::new()))?;
    // Fixed order of row locks: two call-offs never wait on each other in a circle.
    lines.sort_unstable_by_key(|l| l.position_id);
    let position = |id: i64| terms.positions.iter().find(|p| p.position_id == id);
    let doc_lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            let p = position(l.position_id);
            json!({
                "position_no": p.map(|p| p.position_no), "description": p.map(|p| &p.description),
                "unit": p.map(|p| &p.unit), "quantity": l.quantity, "unit_price": l.unit_price, "line_total": l.line_total,
            })
        })
        .collect();
    // Everything that needs no write lock happens before it is taken: the reads (on SQLite the
    // group commit runs queued call-offs one after the other on one connection) and the
    // rendering. Only id, number and hash are known inside; they replace the marks there.
    let vendor: (String, String, String, String) = organisations::table
        .find(terms.vendor_id)
        .select((
            organisations::name,
            organisations::street,
            organisations::postal_code,
            organisations::city,
        ))
        .first(conn)?;
    let recipients = vendor_users(conn, terms.vendor_id)?;
    // Savings are fixed with the order (issue #7): reference price, its source, the saving,
    // and the board's grouping keys, so the dashboard is one scan of the lines.
    let references = crate::savings::line_references(terms.references.get(&user.organisation_id), &lines)?;
    let now = state.clock.now_naive();
    let order_year = crate::savings::berlin_year(now);
    let marks = &*MARKS;
    let document = state.documents.render(
        "calloff_order",
        &json!({
            "number": marks.number,
            "contract": { "number": terms.number, "term_start": terms.term_start, "term_end": terms.term_end },
            "member": user.organisation_name, "ordered_by": user.name,
            "vendor": { "name": vendor.0, "street": vendor.1, "postal_code": vendor.2, "city": vendor.3 },
            "delivery_address": valid.delivery_address, "cost_centre": valid.cost_centre,
            "leitweg_id": valid.leitweg_id, "note": valid.note, "lines": doc_lines, "total": total, "created_at": now,
        }),
    )?;
    let mails = recipients
        .iter()
        .map(|(email, name)| {
            let mail = state.mail.render(
                "calloff_placed",
                &json!({ "name": name, "number": marks.number, "contract": terms.number, "member": user.organisation_name,
                         "total": total, "sha256": marks.sha, "url": format!("{}/abrufe/{}", state.config.base_url, marks.id) }),
            )?;
            Ok((email.clone(), mail))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let (state, user) = (state.clone(), user.clone());
    state.clone().writes.write(conn, move |c| {
        let (state, user, terms) = (&state, &user, &*terms);
        let id = next_calloff_id(c)?;
        // The year of the order time, read once: number and savings year never disagree.
        let number = format!("AB-{order_year}-{id:06}");
        let document = marks.fill(&document, &number)?;
        let sha = hex::encode(Sha256::digest(document.as_bytes()));
        diesel::insert_into(calloffs::table)
            .values((
                calloffs::id.eq(id),
                calloffs::number.eq(&number),
                calloffs::contract_id.eq(contract_id),
                calloffs::member_id.eq(user.organisation_id),
                calloffs::ordered_by.eq(user.id),
                calloffs::status.eq(CalloffStatus::Placed),
                calloffs::delivery_address.eq(&valid.delivery_address),
                calloffs::cost_centre.eq(&valid.cost_centre),
                calloffs::leitweg_id.eq(&valid.leitweg_id),
                calloffs::note.eq(&valid.note),
                calloffs::total.eq(total),
                calloffs::created_at.eq(now),
                calloffs::document.eq(&document),
                calloffs::document_sha256.eq(&sha),
            ))
            .execute(c)?;
        for l in &lines {
            let r = references.get(&l.position_id).copied().unwrap_or_default();
            diesel::insert_into(calloff_lines::table)
                .values((
                    calloff_lines::calloff_id.eq(id),
                    calloff_lines::position_id.eq(l.position_id),
                    calloff_lines::quantity.eq(l.quantity),
                    calloff_lines::unit_price.eq(l.unit_price),
                    calloff_lines::line_total.eq(l.line_total),
                    calloff_lines::reference_price.eq(r.price),
                    calloff_lines::reference_source.eq(r.source_code()),
                    calloff_lines::saving.eq(r.saving),
                    calloff_lines::member_id.eq(user.organisation_id),
                    calloff_lines::contract_id.eq(contract_id),
                    calloff_lines::order_year.eq(order_year),
                ))
                .execute(c)?;
        }
        audit::record_first(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "calloff.placed",
                "calloff",
                id,
                json!({ "number": number, "contract_id": contract_id, "member_id": user.organisation_id, "total": total, "lines": lines.len(), "document_sha256": sha }),
            ),
        )?;
        let id_text = id.to_string();
        let filled = [(&*marks.number, &*number), (&*marks.sha, &*sha), (&*marks.id, &*id_text)];
        for (email, mail) in &mails {
            let mail = mail.filled(&filled);
            marks.check(&mail.subject)?;
            marks.check(&mail.text)?;
            marks.check(&mail.html)?;
            mail::enqueue_rendered(c, state, email, &mail, None)?;
        }
        take_volume(c, state, user, contract_id, terms, &lines, total)?;
        Ok(Placed { id, number, total })
    })
}

/// The refusal of a whole call-off, every reason worded for the buyer.
fn refused(problems: Vec<Refusal>, unit: impl Fn(i64) -> String) -> AppError {
    AppError::Validation {
        message: "Der Abruf wurde nicht angenommen; nichts wurde bestellt.".into(),
        fields: FieldErrors::from([(
            "lines".to_string(),
            problems.iter().map(|r| refusal_text(r, &unit)).collect(),
        )]),
    }
}

/// A refusal in German, with what is left in German notation.
fn refusal_text(refusal: &Refusal, unit: impl Fn(i64) -> String) -> String {
    use crate::german::{money_de, quantity_de};
    match *refusal {
        Refusal::UnknownPosition => "Eine Position gehört nicht zu dieser Rahmenvereinbarung.".into(),
        Refusal::NotPositive { position_no } => format!("Pos. {position_no}: Die Menge muss größer als 0 sein."),
        Refusal::OverMaximum {
            position_id,
            position_no,
            remaining,
            max,
            asked,
        } => format!(
            "Pos. {position_no}: Es sind nur noch {} {} abrufbar (Höchstmenge {}); angefragt {}.",
            quantity_de(remaining.to_decimal()),
            unit(position_id),
            quantity_de(max.to_decimal()),
            quantity_de(asked.to_decimal()),
        ),
        Refusal::Amount { position_no, ref error } => format!("Pos. {position_no}: Der Betrag {error}."),
        Refusal::NoLines => "Bitte geben Sie für mindestens eine Position eine Menge an.".into(),
        Refusal::OverValue { total, left } => format!(
            "Der Abruf ({}) überschreitet den verbleibenden Höchstwert der Rahmenvereinbarung ({}).",
            money_de(total.to_decimal()),
            money_de(left.to_decimal())
        ),
        Refusal::OverQuota { total, left } => format!(
            "Der Abruf ({}) überschreitet das verbleibende Kontingent Ihres Hauses ({}).",
            money_de(total.to_decimal()),
            money_de(left.to_decimal())
        ),
    }
}

/// The guarded updates of the running totals (positions in id order, the contract, the
/// member), then the 80 % alert if this call-off crossed it. A guard that does not hold refuses
/// the call-off with what is left, read in the same transaction.
fn take_volume(
    c: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    contract_id: i64,
    terms: &ContractTerms,
    lines: &[rules::PricedLine],
    total: Amount,
) -> AppResult<()> {
    let mut held = true;
    for l in lines {
        held &= totals::take_position(c, contract_id, l.position_id, l.quantity.minor())?;
    }
    let taken = if held {
        totals::take_contract(c, contract_id, total.minor())?
    } else {
        None
    };
    held &= taken.is_some() && totals::take_member(c, contract_id, user.organisation_id, total.minor())?;
    let totals = taken.map(|t| (t.called_value, t.max_value, t.alert_utilisation_at));
    match totals {
        Some((called, max, None)) if held && rules::utilisation_alert_due(called, max) => {
            utilisation_alert(c, state, contract_id, &terms.number, called, max)
        }
        Some(_) if held => Ok(()),
        _ => Err(explain_refusal(c, user, contract_id, terms, lines)),
    }
}

/// Why the guarded updates refused: the limits as they stand now, judged by the same rules the
/// page shows. Only if they would take the call-off after all (another one was just cancelled)
/// is the answer "try again".
fn explain_refusal(
    c: &mut DbConn,
    user: &CurrentUser,
    contract_id: i64,
    terms: &ContractTerms,
    lines: &[rules::PricedLine],
) -> AppError {
    let race = || {
        AppError::Conflict(
            "Ein anderer Abruf war schneller; die Restmenge reicht nicht mehr. Bitte prüfen Sie die verbleibenden Mengen."
                .into(),
        )
    };
    let now = (|| -> AppResult<_> {
        let positions = positions(c, contract_id)?;
        let (called, max): (Amount, Amount) = contracts::table
            .find(contract_id)
            .select((contracts::called_value, contracts::max_value))
            .first(c)?;
        let (quota, member_called): (Option<Amount>, Amount) = contract_members::table
            .filter(contract_members::contract_id.eq(contract_id))
            .filter(contract_members::member_id.eq(user.organisation_id))
            .select((contract_members::quota_value, contract_members::called_value))
            .first(c)?;
        Ok((positions, called, max, quota, member_called))
    })();
    let Ok((positions, called, max, quota, member_called)) = now else {
        return race();
    };
    let limits: Vec<PositionLimit> = positions
        .iter()
        .map(|p| PositionLimit {
            position_id: p.position_id,
            position_no: p.position_no,
            unit_price: p.unit_price,
            max_quantity: p.max_quantity,
            called_quantity: p.called_quantity,
        })
        .collect();
    let left = |max: Amount, called: Amount| Amount::from_minor(max.minor() - called.minor()).unwrap_or(Amount::ZERO);
    let wanted: Vec<(i64, Quantity)> = lines.iter().map(|l| (l.position_id, l.quantity)).collect();
    let unit = |id: i64| {
        terms
            .positions
            .iter()
            .find(|p| p.position_id == id)
            .map(|p| p.unit.clone())
            .unwrap_or_default()
    };
    match rules::check(
        &limits,
        &wanted,
        left(max, called),
        quota.map(|q| left(q, member_called)),
    ) {
        Err(problems) => refused(problems, unit),
        Ok(_) => race(),
    }
}

/// Sends the 80 % alert once: the guarded update marks it, only the call-off that crosses the
/// threshold (on any instance) sends the mails.
fn utilisation_alert(
    conn: &mut DbConn,
    state: &AppState,
    contract_id: i64,
    number: &str,
    called: Amount,
    max: Amount,
) -> AppResult<()> {
    let now = state.clock.now_naive();
    let marked = diesel::update(
        contracts::table
            .filter(contracts::id.eq(contract_id))
            .filter(contracts::alert_utilisation_at.is_null()),
    )
    .set(contracts::alert_utilisation_at.eq(Some(now)))
    .execute(conn)?;
    if marked == 1 {
        let percent = rules::utilisation_percent(called, max);
        alert_mails(
            conn,
            state,
            contract_id,
            number,
            "contract_alert_utilisation",
            json!({ "percent": percent }),
        )?;
        audit::record(
            conn,
            &state.clock,
            &crate::audit::Actor::system("Abrufüberwachung"),
            Event::new(
                "contract.alert_utilisation",
                "contract",
                contract_id,
                json!({ "percent": percent }),
            ),
        )?;
    }
    Ok(())
}

/// Officers and the buyers of entitled members.
fn alert_mails(
    conn: &mut DbConn,
    state: &AppState,
    contract_id: i64,
    number: &str,
    template: &str,
    extra: serde_json::Value,
) -> AppResult<usize> {
    let members = contract_members::table
        .filter(contract_members::contract_id.eq(contract_id))
        .select(contract_members::member_id);
    let recipients: Vec<(String, String)> = users::table
        .filter(users::active.eq(true))
        .filter(
            users::role
                .eq(Role::Officer)
                .or(users::role.eq(Role::Buyer).and(users::organisation_id.eq_any(members))),
        )
        .select((users::email, users::name))
        .load(conn)?;
    for (email, name) in &recipients {
        let mut ctx = extra.clone();
        ctx["name"] = json!(name);
        ctx["number"] = json!(number);
        ctx["url"] = json!(format!("{}/vertraege/{}", state.config.base_url, contract_id));
        mail::enqueue(conn, state, email, template, &ctx)?;
    }
    Ok(recipients.len())
}

/// Sends the 90-day expiry alert once per contract; run by the background task.
pub fn expiry_alerts(conn: &mut DbConn, state: &AppState) -> AppResult<usize> {
    let today = today(state);
    let due: Vec<(i64, String, NaiveDate)> = contracts::table
        .filter(contracts::alert_expiry_at.is_null())
        .filter(contracts::term_end.ge(today))
        .select((contracts::id, contracts::number, contracts::term_end))
        .load(conn)?;
    let mut sent = 0;
    for (id, number, end) in due
        .into_iter()
        .filter(|(_, _, end)| rules::expiry_alert_due(today, *end))
    {
        sent += write_tx(conn, |c| {
            let marked = diesel::update(
                contracts::table
                    .filter(contracts::id.eq(id))
                    .filter(contracts::alert_expiry_at.is_null()),
            )
            .set(contracts::alert_expiry_at.eq(Some(state.clock.now_naive())))
            .execute(c)?;
            if marked != 1 {
                return Ok(0);
            }
            audit::record(
                c,
                &state.clock,
                &crate::audit::Actor::system("Abrufüberwachung"),
                Event::new("contract.alert_expiry", "contract", id, json!({ "term_end": end })),
            )?;
            alert_mails(
                c,
                state,
                id,
                &number,
                "contract_alert_expiry",
                json!({ "term_end": end }),
            )
        })?;
    }
    Ok(sent)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = calloffs)]
pub struct Calloff {
    pub id: i64,
    pub number: String,
    pub contract_id: i64,
    pub member_id: i64,
    pub ordered_by: i64,
    pub status: CalloffStatus,
    pub delivery_address: String,
    pub cost_centre: String,
    pub leitweg_id: Option<String>,
    pub note: String,
    pub total: Amount,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub rejected_at: Option<NaiveDateTime>,
    pub reject_reason: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub document: String,
    pub document_sha256: String,
}

impl Calloff {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
}

/// A call-off for those who may see it: the ordering member's buyers, the contract's vendor,
/// the cooperative. Others get "not found".
pub fn find(conn: &mut DbConn, user: &CurrentUser, id: i64) -> AppResult<(Calloff, i64)> {
    let c: Calloff = calloffs::table.find(id).select(Calloff::as_select()).first(conn)?;
    let vendor_id: i64 = contracts::table
        .find(c.contract_id)
        .select(contracts::vendor_id)
        .first(conn)?;
    let allowed = match user.reach() {
        Reach::Everything => true,
        reach @ Reach::Member(_) => reach.member(c.member_id),
        reach @ Reach::Vendor(_) => reach.vendor(vendor_id),
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    Ok((c, vendor_id))
}

/// Call-offs `user` may see, newest first, optionally of one contract.
pub fn list(conn: &mut DbConn, user: &CurrentUser, contract_id: Option<i64>) -> AppResult<Vec<Calloff>> {
    let mut q = calloffs::table
        .order(calloffs::id.desc())
        .select(Calloff::as_select())
        .into_boxed();
    if let Some(cid) = contract_id {
        q = q.filter(calloffs::contract_id.eq(cid));
    }
    match user.reach() {
        Reach::Everything => {}
        Reach::Member(member) => q = q.filter(calloffs::member_id.eq(member)),
        Reach::Vendor(vendor) => {
            let mine = contracts::table
                .filter(contracts::vendor_id.eq(vendor))
                .select(contracts::id);
            q = q.filter(calloffs::contract_id.eq_any(mine));
        }
    }
    Ok(q.limit(500).load(conn)?)
}

/// One page of the call-offs `user` may see, newest first, optionally of one contract, without
/// their order documents (a list never shows them); with `count`, also how many there are.
pub fn list_page(
    conn: &mut DbConn,
    user: &CurrentUser,
    contract_id: Option<i64>,
    page: crate::web::paging::Page,
    count: bool,
) -> AppResult<(Vec<Calloff>, i64)> {
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    let visible = || {
        let mut q = calloffs::table.into_boxed();
        if let Some(cid) = contract_id {
            q = q.filter(calloffs::contract_id.eq(cid));
        }
        match user.reach() {
            Reach::Everything => q,
            Reach::Member(member) => q.filter(calloffs::member_id.eq(member)),
            Reach::Vendor(vendor) => q.filter(
                calloffs::contract_id.eq_any(
                    contracts::table
                        .filter(contracts::vendor_id.eq(vendor))
                        .select(contracts::id),
                ),
            ),
        }
    };
    let rows: Vec<Calloff> = visible()
        .order(calloffs::id.desc())
        .limit(page.size)
        .offset(page.offset())
        .select((
            calloffs::id,
            calloffs::number,
            calloffs::contract_id,
            calloffs::member_id,
            calloffs::ordered_by,
            calloffs::status,
            calloffs::delivery_address,
            calloffs::cost_centre,
            calloffs::leitweg_id,
            calloffs::note,
            calloffs::total,
            calloffs::created_at,
            calloffs::confirmed_at,
            calloffs::rejected_at,
            calloffs::reject_reason,
            calloffs::delivered_at,
            calloffs::cancelled_at,
            sql::<Text>("''"),
            calloffs::document_sha256,
        ))
        .load(conn)?;
    let total = if count {
        visible().count().get_result(conn)?
    } else {
        rows.len() as i64
    };
    Ok((rows, total))
}

/// Gives back a call-off's volume (cancelled before confirmation, or rejected by the vendor).
fn release(conn: &mut DbConn, c: &Calloff) -> AppResult<()> {
    let lines: Vec<(i64, Quantity)> = calloff_lines::table
        .filter(calloff_lines::calloff_id.eq(c.id))
        .select((calloff_lines::position_id, calloff_lines::quantity))
        .load(conn)?;
    for (position_id, q) in lines {
        diesel::update(
            contract_positions::table
                .filter(contract_positions::contract_id.eq(c.contract_id))
                .filter(contract_positions::position_id.eq(position_id)),
        )
        .set(contract_positions::called_quantity.eq(contract_positions::called_quantity - q.minor()))
        .execute(conn)?;
    }
    diesel::update(calloff_lines::table.filter(calloff_lines::calloff_id.eq(c.id)))
        .set(calloff_lines::holds_volume.eq(false))
        .execute(conn)?;
    diesel::update(contracts::table.find(c.contract_id))
        .set(contracts::called_value.eq(contracts::called_value - c.total.minor()))
        .execute(conn)?;
    diesel::update(
        contract_members::table
            .filter(contract_members::contract_id.eq(c.contract_id))
            .filter(contract_members::member_id.eq(c.member_id)),
    )
    .set(contract_members::called_value.eq(contract_members::called_value - c.total.minor()))
    .execute(conn)?;
    Ok(())
}

/// The next step of a call-off's life, by whom it may be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Vendor of the contract, while placed.
    Confirm,
    /// Vendor of the contract, while placed; frees the volume.
    Reject,
    /// Ordering member's buyer, once confirmed.
    Deliver,
    /// Ordering member's buyer, before confirmation; frees the volume.
    Cancel,
}

pub fn advance(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    step: Step,
    reason: &str,
) -> AppResult<Calloff> {
    write_tx(conn, |c| {
        let (calloff, vendor_id) = find(c, user, id)?;
        let (role_ok, from) = match step {
            Step::Confirm | Step::Reject => (user.role == Role::Vendor && vendor_id == user.organisation_id, "placed"),
            Step::Deliver => (
                user.role == Role::Buyer && calloff.member_id == user.organisation_id,
                "confirmed",
            ),
            Step::Cancel => (
                user.role == Role::Buyer && calloff.member_id == user.organisation_id,
                "placed",
            ),
        };
        if !role_ok {
            return Err(AppError::forbidden());
        }
        let now = state.clock.now_naive();
        // Guarded on the status: two clicks, two instances — one step happens once.
        let target = calloffs::table
            .filter(calloffs::id.eq(id))
            .filter(calloffs::status.eq(from));
        let n = match step {
            Step::Confirm => diesel::update(target)
                .set((
                    calloffs::status.eq(CalloffStatus::Confirmed),
                    calloffs::confirmed_at.eq(Some(now)),
                ))
                .execute(c)?,
            Step::Reject => {
                let reason = reason.trim();
                if reason.chars().count() < 3 {
                    return Err(AppError::field("reason", "Bitte begründen Sie die Ablehnung."));
                }
                diesel::update(target)
                    .set((
                        calloffs::status.eq(CalloffStatus::Rejected),
                        calloffs::rejected_at.eq(Some(now)),
                        calloffs::reject_reason.eq(Some(reason)),
                    ))
                    .execute(c)?
            }
            Step::Deliver => diesel::update(target)
                .set((
                    calloffs::status.eq(CalloffStatus::Delivered),
                    calloffs::delivered_at.eq(Some(now)),
                ))
                .execute(c)?,
            Step::Cancel => diesel::update(target)
                .set((
                    calloffs::status.eq(CalloffStatus::Cancelled),
                    calloffs::cancelled_at.eq(Some(now)),
                ))
                .execute(c)?,
        };
        if n != 1 {
            return Err(AppError::Conflict(format!(
                "Der Abruf {} ist {}; dieser Schritt ist nicht (mehr) möglich.",
                calloff.number,
                calloff.status_label()
            )));
        }
        if matches!(step, Step::Reject | Step::Cancel) {
            release(c, &calloff)?;
        }
        let action = match step {
            Step::Confirm => "calloff.confirmed",
            Step::Reject => "calloff.rejected",
            Step::Deliver => "calloff.delivered",
            Step::Cancel => "calloff.cancelled",
        };
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                action,
                "calloff",
                id,
                json!({ "number": calloff.number, "reason": reason.trim() }),
            ),
        )?;
        // The other side hears of it.
        let to: Vec<(String, String)> = match step {
            Step::Confirm | Step::Reject => users::table
                .filter(users::organisation_id.eq(calloff.member_id))
                .filter(users::role.eq(Role::Buyer))
                .filter(users::active.eq(true))
                .select((users::email, users::name))
                .load(c)?,
            Step::Deliver | Step::Cancel => vendor_users(c, vendor_id)?,
        };
        let updated: Calloff = calloffs::table.find(id).select(Calloff::as_select()).first(c)?;
        for (email, name) in to {
            mail::enqueue(
                c,
                state,
                &email,
                "calloff_status",
                &json!({ "name": name, "number": updated.number, "status": updated.status_label(), "reason": reason.trim(),
                         "url": format!("{}/abrufe/{}", state.config.base_url, id) }),
            )?;
        }
        Ok(updated)
    })
}

// --- for the API

/// One line of a call-off with the contract position it orders.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CalloffLine {
    pub position_id: i64,
    pub position_no: i32,
    pub description: String,
    pub unit: String,
    pub quantity: Quantity,
    pub unit_price: Price,
    pub line_total: Amount,
}

/// The lines of a call-off in position order; the caller has checked that `user` may see it.
pub fn lines(conn: &mut DbConn, calloff_id: i64) -> AppResult<Vec<CalloffLine>> {
    let rows: Vec<(i64, i32, String, String, Quantity, Price, Amount)> = calloff_lines::table
        .inner_join(tender_positions::table)
        .filter(calloff_lines::calloff_id.eq(calloff_id))
        .order(tender_positions::position_no.asc())
        .select((
            calloff_lines::position_id,
            tender_positions::position_no,
            tender_positions::description,
            tender_positions::unit,
            calloff_lines::quantity,
            calloff_lines::unit_price,
            calloff_lines::line_total,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(position_id, position_no, description, unit, quantity, unit_price, line_total)| CalloffLine {
                position_id,
                position_no,
                description,
                unit,
                quantity,
                unit_price,
                line_total,
            },
        )
        .collect())
}

/// Call-offs `user` may see (the same rule as `list`), newest first, at most 500: optionally of
/// one contract, and created at or after `from` and before `until` (UTC).
pub fn list_created(
    conn: &mut DbConn,
    user: &CurrentUser,
    contract_id: Option<i64>,
    from: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
) -> AppResult<Vec<Calloff>> {
    let mut q = calloffs::table
        .order(calloffs::id.desc())
        .select(Calloff::as_select())
        .into_boxed();
    if let Some(cid) = contract_id {
        q = q.filter(calloffs::contract_id.eq(cid));
    }
    if let Some(from) = from {
        q = q.filter(calloffs::created_at.ge(from));
    }
    if let Some(until) = until {
        q = q.filter(calloffs::created_at.lt(until));
    }
    match user.reach() {
        Reach::Everything => {}
        Reach::Member(member) => q = q.filter(calloffs::member_id.eq(member)),
        Reach::Vendor(vendor) => {
            let mine = contracts::table
                .filter(contracts::vendor_id.eq(vendor))
                .select(contracts::id);
            q = q.filter(calloffs::contract_id.eq_any(mine));
        }
    }
    Ok(q.limit(500).load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::MARKS;

    #[test]
    fn the_number_replaces_its_mark_wherever_the_template_put_it() {
        let draft = format!("<title>Abruf {0}</title><h1>Nr. {0}</h1>", MARKS.number);
        let document = MARKS.fill(&draft, "AB-2026-000042").unwrap();
        assert_eq!(
            document,
            "<title>Abruf AB-2026-000042</title><h1>Nr. AB-2026-000042</h1>"
        );
    }

    #[test]
    fn a_mark_that_survived_is_refused_not_stored() {
        // A template that wrote the number in lower case or cut the link leaves a mark behind.
        let lower = format!("Abruf {}", MARKS.number.to_lowercase());
        let cut = format!("Link /abrufe/{}…", &MARKS.id[..12]);
        assert!(MARKS.fill(&lower, "AB-1").is_err());
        assert!(MARKS.check(&cut).is_err());
        assert!(MARKS.check(&format!("Prüfsumme {}", MARKS.sha)).is_err());
        assert!(MARKS.check("Abruf AB-2026-000042").is_ok());
    }

    #[test]
    fn a_number_in_capitals_is_still_filled_in() {
        let draft = format!("ABRUF {}", MARKS.number.to_uppercase());
        assert_eq!(MARKS.fill(&draft, "AB-2026-000042").unwrap(), "ABRUF AB-2026-000042");
    }

    #[test]
    fn marks_are_plain_letters_and_digits_so_escaping_keeps_them() {
        for mark in [&MARKS.id, &MARKS.number, &MARKS.sha] {
            assert!(
                mark.len() > 20 && mark.chars().all(|c| c.is_ascii_alphanumeric()),
                "{mark}"
            );
        }
        assert_ne!(MARKS.id, MARKS.number);
    }
}
