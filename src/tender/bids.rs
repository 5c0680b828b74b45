//! Sealed bids: submission (form, CSV price sheet, API) with a receipt, withdrawal and
//! resubmission until the deadline, and the one gate through which bid content is ever read.

use super::{find, find_readable, lots, positions, Lot, Tender, TenderPosition};
use crate::audit::{self, Actor, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{bid_lots, bid_prices, bids, organisations};
use crate::db::{lock_key, write_tx, DbConn};
use crate::domain::bid::{self as rules, BidPosition, BidStatus, Canonical, Coverage};
use crate::domain::ids::{BidId, LotId, OrgId, TenderId, TenderPositionId, UserId};
use crate::domain::money::{Amount, Price};
use crate::domain::numbers;
use crate::domain::roles::{Role, VendorStatus};
use crate::domain::tender::TenderStatus;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::import::{self, RowError, Table};
use crate::{mail, AppState};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

pub use crate::domain::policy::OPENED_BID_READERS;

const SEALED: &str = "Die Angebote sind bis zur Öffnung durch zwei Personen der Vergabestelle verschlossen.";

/// What a vendor submits: a price per position of each lot it bids on, and its answers.
#[derive(Debug, Clone, Default)]
pub struct BidInput {
    pub prices: HashMap<TenderPositionId, Price>,
    /// Lots chosen explicitly (a lot with any price counts as chosen as well).
    pub lots: Vec<LotId>,
    pub a_confirmed: Vec<bool>,
    pub b_texts: Vec<String>,
}

/// Stored with each bid: the answers to the criteria.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Criteria {
    pub a_confirmed: Vec<bool>,
    pub b_texts: Vec<String>,
}

/// The receipt a vendor gets: server time and SHA-256 of the canonical content.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub bid_id: BidId,
    pub version: i32,
    pub submitted_at: NaiveDateTime,
    pub receipt_sha256: String,
    /// (lot number, lot total) — shown to the bidder only.
    pub lot_totals: Vec<(i32, Amount)>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = bids)]
pub struct BidRow {
    pub id: BidId,
    pub tender_id: TenderId,
    pub vendor_id: OrgId,
    pub version: i32,
    pub status: BidStatus,
    pub submitted_by: UserId,
    pub submitted_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub nonce: String,
    pub receipt_sha256: String,
    #[serde(skip)]
    pub criteria: String,
}

/// A bid with its content: for its own vendor always, for the cooperative after opening.
#[derive(Debug, Clone, Serialize)]
pub struct BidContent {
    #[serde(flatten)]
    pub bid: BidRow,
    pub vendor: String,
    pub criteria: Criteria,
    pub lot_totals: Vec<(i32, Amount)>,
    /// Position id → unit price.
    pub prices: BTreeMap<TenderPositionId, Price>,
}

pub fn require_approved_vendor(conn: &mut DbConn, user: &CurrentUser) -> AppResult<()> {
    user.require(&[Role::Vendor])?;
    let status: Option<String> = organisations::table
        .find(user.organisation_id)
        .select(organisations::vendor_status)
        .first(conn)?;
    if status.as_deref() != Some(VendorStatus::Approved.code()) {
        return Err(AppError::Forbidden(
            "Ihr Unternehmen ist noch nicht freigegeben; Angebote und Fragen sind erst nach der Freigabe möglich."
                .into(),
        ));
    }
    Ok(())
}

fn bid_positions(positions: &[TenderPosition], lots: &[Lot]) -> Vec<BidPosition> {
    let lot_no: HashMap<LotId, i32> = lots.iter().map(|l| (l.id, l.lot_no)).collect();
    positions
        .iter()
        .map(|p| BidPosition {
            id: p.id,
            lot_id: p.lot_id,
            lot_no: lot_no.get(&p.lot_id).copied().unwrap_or(0),
            position_no: p.position_no,
            estimate_quantity: p.estimate_quantity,
        })
        .collect()
}

fn parse_price(text: &str, style: Option<numbers::DecimalStyle>) -> Result<Price, String> {
    let d = match style {
        Some(s) => numbers::parse(text, s),
        None => numbers::german(text),
    }
    .map_err(|e| e.to_string())?;
    Price::from_decimal(d).map_err(|e| format!("„{}“ {e}", text.trim()))
}

/// Prices from the bid form's fields `p_<position id>`; empty fields are no price.
pub fn prices_from_form(
    positions: &[TenderPosition],
    get: impl Fn(&str) -> String,
) -> Result<HashMap<TenderPositionId, Price>, FieldErrors> {
    let mut prices = HashMap::new();
    let mut errors = FieldErrors::new();
    for p in positions {
        let field = format!("p_{}", p.id);
        let text = get(&field);
        if text.trim().is_empty() {
            continue;
        }
        match parse_price(&text, None) {
            Ok(price) => {
                prices.insert(p.id, price);
            }
            Err(e) => errors
                .entry(field)
                .or_default()
                .push(format!("Pos. {}: Der Preis {e}.", p.position_no)),
        }
    }
    if errors.is_empty() {
        Ok(prices)
    } else {
        Err(errors)
    }
}

/// Prices from a price sheet (the template's columns "Los", "Pos." and "Einzelpreis"); every bad
/// row is reported, nothing is taken from a file with errors.
pub fn prices_from_csv(
    positions: &[TenderPosition],
    lots: &[Lot],
    bytes: &[u8],
) -> Result<HashMap<TenderPositionId, Price>, Vec<RowError>> {
    let table = Table::parse(bytes).map_err(|e| vec![e])?;
    let pos_col = table.column(&["pos.", "pos", "position", "positionsnummer"], "Pos.");
    let price_col = table.column(
        &["einzelpreis (eur netto)", "einzelpreis", "preis", "unit_price", "price"],
        "Einzelpreis (EUR netto)",
    );
    let lot_col = table.optional_column(&["los", "lot"]);
    let (pos_col, price_col) = match (pos_col, price_col) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => return Err(a.err().into_iter().chain(b.err()).collect()),
    };
    let lot_no: HashMap<LotId, i32> = lots.iter().map(|l| (l.id, l.lot_no)).collect();
    let by_no: HashMap<i32, &TenderPosition> = positions.iter().map(|p| (p.position_no, p)).collect();
    let style = table.decimal_style(&[price_col]);
    let mut prices = HashMap::with_capacity(table.rows.len());
    let mut seen: HashMap<TenderPositionId, usize> = HashMap::with_capacity(table.rows.len());
    let mut errors = Vec::new();
    let err = |line: usize, column: &str, reason: String| RowError {
        line,
        column: column.to_string(),
        reason,
    };
    for (line, row) in &table.rows {
        let line = *line;
        let pos_text = import::cell(row, pos_col).unwrap_or("");
        let Some(p) = pos_text.parse::<i32>().ok().and_then(|n| by_no.get(&n)) else {
            errors.push(err(
                line,
                "Pos.",
                format!("„{pos_text}“ ist keine Position dieser Ausschreibung."),
            ));
            continue;
        };
        if let Some(c) = lot_col {
            let lot_text = import::cell(row, c).unwrap_or("");
            if !lot_text.is_empty() && lot_text.parse::<i32>().ok() != lot_no.get(&p.lot_id).copied() {
                errors.push(err(
                    line,
                    "Los",
                    format!(
                        "Pos. {} gehört zu Los {}, nicht zu „{lot_text}“.",
                        p.position_no,
                        lot_no.get(&p.lot_id).copied().unwrap_or(0)
                    ),
                ));
                continue;
            }
        }
        if let Some(first) = seen.insert(p.id, line) {
            errors.push(err(
                line,
                "Pos.",
                format!("Pos. {} steht schon in Zeile {first}.", p.position_no),
            ));
            continue;
        }
        match import::cell(row, price_col).unwrap_or("") {
            "" => {}
            text => match parse_price(text, Some(style)) {
                Ok(price) => {
                    prices.insert(p.id, price);
                }
                Err(e) => errors.push(err(line, "Einzelpreis (EUR netto)", format!("Der Preis {e}."))),
            },
        }
    }
    if errors.is_empty() {
        Ok(prices)
    } else {
        Err(errors)
    }
}

/// The price sheet a vendor downloads: every position, with its own current prices if any.
pub fn price_sheet_csv(
    lots: &[Lot],
    positions: &[TenderPosition],
    current: &BTreeMap<TenderPositionId, Price>,
) -> Vec<u8> {
    let lot_no: HashMap<LotId, i32> = lots.iter().map(|l| (l.id, l.lot_no)).collect();
    let mut out = import::GermanCsv::new();
    out.row([
        "Los",
        "Pos.",
        "Beschreibung",
        "Einheit",
        "CPV-Code",
        "Geschätzte Menge",
        "Höchstmenge",
        "Einzelpreis (EUR netto)",
    ]);
    for p in positions {
        out.row([
            lot_no.get(&p.lot_id).copied().unwrap_or(0).to_string(),
            p.position_no.to_string(),
            p.description.clone(),
            p.unit.clone(),
            p.cpv_code.clone(),
            import::decimal_cell(p.estimate_quantity.to_decimal(), 0),
            import::decimal_cell(p.max_quantity.to_decimal(), 0),
            current
                .get(&p.id)
                .map(|pr| import::decimal_cell(pr.to_decimal(), 2))
                .unwrap_or_default(),
        ]);
    }
    out.finish()
}

/// The error a refused bid gets: every missing price listed.
fn missing_message(missing: &[(i32, i32)], multi_lot: bool) -> String {
    let list: Vec<String> = missing
        .iter()
        .map(|(lot, pos)| {
            if multi_lot {
                format!("Los {lot} Pos. {pos}")
            } else {
                format!("Pos. {pos}")
            }
        })
        .collect();
    format!(
        "In jedem Los, auf das Sie bieten, braucht jede Position einen Einzelpreis. Es fehlen {} Preis{}: {}.",
        missing.len(),
        if missing.len() == 1 { "" } else { "e" },
        list.join(", ")
    )
}

fn count_versions(conn: &mut DbConn, tender_id: TenderId, vendor_id: OrgId) -> AppResult<i32> {
    let max: Option<i32> = bids::table
        .filter(bids::tender_id.eq(tender_id))
        .filter(bids::vendor_id.eq(vendor_id))
        .select(diesel::dsl::max(bids::version))
        .first(conn)?;
    Ok(max.unwrap_or(0))
}

/// The audit actor of a bid event: the bidder's identity is part of the sealed content, so the
/// trail names it only by the bid's id until opening (the bid row links it to the vendor).
fn sealed_actor(user: &CurrentUser) -> Actor {
    Actor {
        user_id: Some(user.id),
        label: "Bieter (verschlossen bis zur Öffnung)".into(),
    }
}

/// Submits (or resubmits) a bid. Refused at and after the deadline by server time; a bid
/// missing a price in a lot it bids on is refused with the list of missing positions.
pub fn submit(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    input: &BidInput,
) -> AppResult<Receipt> {
    user.require(&[Role::Vendor])?;
    write_tx(conn, |c| {
        // The tender's lock: a submission and the opening never interleave, even across
        // instances whose clocks differ by a little.
        lock_key(c, &super::stream(tender_id))?;
        let t = find_readable(c, user, tender_id)?;
        let now = state.clock.now_naive();
        if !t.accepts_bids(now) {
            return Err(deadline_error(&t, now));
        }
        require_approved_vendor(c, user)?;
        let spec = t.spec()?;
        let lots = lots(c, tender_id)?;
        let positions = positions(c, tender_id)?;
        let bp = bid_positions(&positions, &lots);
        let known: std::collections::HashSet<TenderPositionId> = positions.iter().map(|p| p.id).collect();
        if let Some(unknown) = input.prices.keys().find(|id| !known.contains(id)) {
            return Err(AppError::field(
                "prices",
                format!("Die Position mit der Kennung {unknown} gehört nicht zu dieser Ausschreibung."),
            ));
        }
        let mut errors = FieldErrors::new();
        let chosen: Vec<LotId> = match rules::coverage(&bp, &input.prices, &input.lots) {
            Coverage::Lots(l) => l,
            Coverage::Empty => {
                errors.insert(
                    "prices".into(),
                    vec!["Bitte geben Sie für mindestens ein Los zu jeder Position einen Einzelpreis an.".into()],
                );
                Vec::new()
            }
            // Reported together with every other problem of the form.
            Coverage::Missing(m) => {
                errors.insert("prices".into(), vec![missing_message(&m, lots.len() > 1)]);
                Vec::new()
            }
        };
        let a_confirmed: Vec<bool> = (0..spec.a_criteria.len())
            .map(|i| input.a_confirmed.get(i).copied().unwrap_or(false))
            .collect();
        let unconfirmed: Vec<String> = a_confirmed
            .iter()
            .enumerate()
            .filter(|(_, ok)| !**ok)
            .map(|(i, _)| format!("A{}", i + 1))
            .collect();
        if !unconfirmed.is_empty() {
            errors.insert(
                "a_criteria".into(),
                vec![format!(
                    "Bitte bestätigen Sie alle Mindestanforderungen; ohne sie kann das Angebot nicht gewertet werden. Offen: {}.",
                    unconfirmed.join(", ")
                )],
            );
        }
        let b_texts: Vec<String> = (0..spec.b_criteria.len())
            .map(|i| input.b_texts.get(i).map(|t| t.trim().to_string()).unwrap_or_default())
            .collect();
        for (i, text) in b_texts.iter().enumerate() {
            if text.chars().count() > 20_000 {
                errors
                    .entry("b_criteria".into())
                    .or_default()
                    .push(format!("B{}: höchstens 20 000 Zeichen.", i + 1));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation {
                message: "Das Angebot wurde nicht abgegeben; bitte korrigieren Sie die markierten Angaben.".into(),
                fields: errors,
            });
        }
        // Only the chosen lots' prices count; stray prices elsewhere cannot exist (coverage).
        let totals = rules::lot_totals(&bp, &input.prices, &chosen)
            .map_err(|e| AppError::field("prices", format!("Eine Losesumme {e}.")))?;
        let nonce = crate::auth::random_token();
        let priced: Vec<(i32, i32, Price)> = bp
            .iter()
            .filter(|p| chosen.contains(&p.lot_id))
            .filter_map(|p| input.prices.get(&p.id).map(|pr| (p.lot_no, p.position_no, *pr)))
            .collect();
        let canonical = Canonical {
            tender_id,
            vendor_id: user.organisation_id,
            nonce: &nonce,
            prices: priced,
            a_confirmed: &a_confirmed,
            b_texts: &b_texts,
        };
        let sha = canonical.sha256();
        let version = count_versions(c, tender_id, user.organisation_id)? + 1;
        diesel::update(
            bids::table
                .filter(bids::tender_id.eq(tender_id))
                .filter(bids::vendor_id.eq(user.organisation_id))
                .filter(bids::status.eq(BidStatus::Submitted)),
        )
        .set(bids::status.eq(BidStatus::Superseded))
        .execute(c)?;
        let criteria = serde_json::to_string(&Criteria {
            a_confirmed: a_confirmed.clone(),
            b_texts: b_texts.clone(),
        })
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let bid_id: BidId = diesel::insert_into(bids::table)
            .values(NewBid {
                tender_id,
                vendor_id: user.organisation_id,
                version,
                status: BidStatus::Submitted,
                submitted_by: user.id,
                submitted_at: now,
                nonce: &nonce,
                receipt_sha256: &sha,
                criteria: &criteria,
            })
            .returning(bids::id)
            .get_result(c)?;
        let rows: Vec<(BidId, TenderPositionId, i64)> = bp
            .iter()
            .filter(|p| chosen.contains(&p.lot_id))
            .filter_map(|p| input.prices.get(&p.id).map(|pr| (bid_id, p.id, pr.minor())))
            .collect();
        insert_prices(c, &rows)?;
        for (lot_id, total) in &totals {
            diesel::insert_into(bid_lots::table)
                .values(NewBidLot {
                    bid_id,
                    lot_id: *lot_id,
                    total: *total,
                })
                .execute(c)?;
        }
        let lot_no: HashMap<LotId, i32> = lots.iter().map(|l| (l.id, l.lot_no)).collect();
        let lot_totals: Vec<(i32, Amount)> = totals.iter().map(|(l, t)| (lot_no[l], *t)).collect();
        // The record holds what proves the submission, nothing that reveals it.
        audit::record(
            c,
            &state.clock,
            &sealed_actor(user),
            Event::new(
                "bid.submitted",
                "bid",
                bid_id,
                // No version: it would link one vendor's submissions before opening.
                json!({ "tender_id": tender_id, "receipt_sha256": sha }),
            )
            .in_stream(format!("bids:{tender_id}")),
        )?;
        mail::enqueue_sealed(
            c,
            state,
            &user.email,
            "bid_receipt",
            &json!({
                "name": user.name,
                "title": t.title,
                "tender_id": tender_id,
                "version": version,
                "submitted_at": now,
                "receipt_sha256": sha,
                "lots": lot_totals.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                "bid_deadline": t.bid_deadline,
                "url": format!("{}/ausschreibungen/{}/angebot", state.config.base_url, tender_id),
            }),
            tender_id,
        )?;
        Ok(Receipt {
            bid_id,
            version,
            submitted_at: now,
            receipt_sha256: sha,
            lot_totals,
        })
    })
}

#[derive(Insertable)]
#[diesel(table_name = bids)]
struct NewBid<'a> {
    tender_id: TenderId,
    vendor_id: OrgId,
    version: i32,
    status: BidStatus,
    submitted_by: UserId,
    submitted_at: NaiveDateTime,
    nonce: &'a str,
    receipt_sha256: &'a str,
    criteria: &'a str,
}

/// A lot the bid covers, with its total; exclusion fields start empty.
#[derive(Insertable)]
#[diesel(table_name = bid_lots)]
struct NewBidLot {
    bid_id: BidId,
    lot_id: LotId,
    total: Amount,
}

/// Column tuples, not a derived `Insertable`: a price sheet has thousands of rows and Diesel binds
/// tuples about twice as fast (measured on the demand import, issue #6).
fn insert_prices(conn: &mut DbConn, rows: &[(BidId, TenderPositionId, i64)]) -> AppResult<()> {
    for chunk in rows.chunks(4_000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(b, p, u)| {
                (
                    bid_prices::bid_id.eq(*b),
                    bid_prices::position_id.eq(*p),
                    bid_prices::unit_price.eq(*u),
                )
            })
            .collect();
        // Multi-row inserts are typed per backend; the connection enum cannot express them.
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(bid_prices::table).values(&values).execute(c)?,
            DbConn::Pg(c) => diesel::insert_into(bid_prices::table).values(&values).execute(c)?,
        };
    }
    Ok(())
}

fn deadline_error(t: &Tender, now: NaiveDateTime) -> AppError {
    if t.cancelled_at.is_some() {
        AppError::Conflict("Die Ausschreibung ist aufgehoben; es werden keine Angebote mehr angenommen.".into())
    } else if t.status == TenderStatus::Published || now >= t.bid_deadline {
        AppError::Conflict(format!(
            "Die Angebotsfrist ist am {} abgelaufen; es werden keine Angebote mehr angenommen oder zurückgezogen.",
            crate::german::datetime_de(t.bid_deadline)
        ))
    } else {
        AppError::Conflict("Für diese Ausschreibung werden keine Angebote angenommen.".into())
    }
}

/// Withdraws the vendor's current bid before the deadline; history stays.
pub fn withdraw(conn: &mut DbConn, state: &AppState, user: &CurrentUser, tender_id: TenderId) -> AppResult<()> {
    user.require(&[Role::Vendor])?;
    write_tx(conn, |c| {
        // The tender's lock: a submission and the opening never interleave, even across
        // instances whose clocks differ by a little.
        lock_key(c, &super::stream(tender_id))?;
        let t = find_readable(c, user, tender_id)?;
        let now = state.clock.now_naive();
        if !t.accepts_bids(now) {
            return Err(deadline_error(&t, now));
        }
        let current: Option<BidId> = bids::table
            .filter(bids::tender_id.eq(tender_id))
            .filter(bids::vendor_id.eq(user.organisation_id))
            .filter(bids::status.eq(BidStatus::Submitted))
            .select(bids::id)
            .first(c)
            .optional()?;
        let bid_id = current.ok_or_else(|| AppError::Conflict("Sie haben kein abgegebenes Angebot.".into()))?;
        diesel::update(bids::table.find(bid_id))
            .set((bids::status.eq(BidStatus::Withdrawn), bids::withdrawn_at.eq(Some(now))))
            .execute(c)?;
        audit::record(
            c,
            &state.clock,
            &sealed_actor(user),
            Event::new("bid.withdrawn", "bid", bid_id, json!({ "tender_id": tender_id }))
                .in_stream(format!("bids:{tender_id}")),
        )?;
        mail::enqueue_sealed(
            c,
            state,
            &user.email,
            "bid_withdrawn",
            &json!({ "name": user.name, "title": t.title, "withdrawn_at": now, "bid_deadline": t.bid_deadline,
                     "url": format!("{}/ausschreibungen/{}/angebot", state.config.base_url, tender_id) }),
            tender_id,
        )?;
        Ok(())
    })
}

/// Number of bids that count (the latest submitted one per vendor): all the cooperative sees
/// before opening.
pub fn count_current(conn: &mut DbConn, tender_id: TenderId) -> AppResult<i64> {
    Ok(bids::table
        .filter(bids::tender_id.eq(tender_id))
        .filter(bids::status.eq(BidStatus::Submitted))
        .count()
        .get_result(conn)?)
}

fn content(conn: &mut DbConn, bid: BidRow, lots: &[Lot]) -> AppResult<BidContent> {
    let vendor: String = organisations::table
        .find(bid.vendor_id)
        .select(organisations::name)
        .first(conn)?;
    let prices: BTreeMap<TenderPositionId, Price> = bid_prices::table
        .filter(bid_prices::bid_id.eq(bid.id))
        .select((bid_prices::position_id, bid_prices::unit_price))
        .load::<(TenderPositionId, Price)>(conn)?
        .into_iter()
        .collect();
    let lot_no: HashMap<LotId, i32> = lots.iter().map(|l| (l.id, l.lot_no)).collect();
    let mut lot_totals: Vec<(i32, Amount)> = bid_lots::table
        .filter(bid_lots::bid_id.eq(bid.id))
        .select((bid_lots::lot_id, bid_lots::total))
        .load::<(LotId, Amount)>(conn)?
        .into_iter()
        .map(|(l, t)| (lot_no.get(&l).copied().unwrap_or(0), t))
        .collect();
    lot_totals.sort_unstable_by_key(|(n, _)| *n);
    let criteria = serde_json::from_str(&bid.criteria).unwrap_or_default();
    Ok(BidContent {
        bid,
        vendor,
        criteria,
        lot_totals,
        prices,
    })
}

/// The vendor's own bids for a tender, newest first (current, withdrawn and superseded), with
/// the content of the newest. Only ever the caller's own organisation.
pub fn own(conn: &mut DbConn, user: &CurrentUser, tender_id: TenderId) -> AppResult<(Option<BidContent>, Vec<BidRow>)> {
    user.require(&[Role::Vendor])?;
    find_readable(conn, user, tender_id)?;
    let history: Vec<BidRow> = bids::table
        .filter(bids::tender_id.eq(tender_id))
        .filter(bids::vendor_id.eq(user.organisation_id))
        .order(bids::version.desc())
        .select(BidRow::as_select())
        .load(conn)?;
    let current = match history.iter().find(|b| b.status == BidStatus::Submitted) {
        Some(b) => {
            let lots = lots(conn, tender_id)?;
            Some(content(conn, b.clone(), &lots)?)
        }
        None => None,
    };
    Ok((current, history))
}

/// The one gate for everyone but the bidder: refused for every role until two officers have
/// opened the bids; afterwards for the roles that evaluate (officers, and the board reading).
pub fn opened_meta(conn: &mut DbConn, user: &CurrentUser, tender_id: TenderId) -> AppResult<(Tender, ())> {
    let t = find(conn, tender_id)?;
    if !user.is_cooperative() {
        return Err(AppError::NotFound);
    }
    if !t.is_opened() {
        return Err(AppError::Forbidden(SEALED.into()));
    }
    user.require(OPENED_BID_READERS)?;
    Ok((t, ()))
}

/// The bids that count, with content, through the gate of `opened_meta`.
pub fn opened(conn: &mut DbConn, user: &CurrentUser, tender_id: TenderId) -> AppResult<(Tender, Vec<BidContent>)> {
    let (t, ()) = opened_meta(conn, user, tender_id)?;
    let rows: Vec<BidRow> = bids::table
        .filter(bids::tender_id.eq(tender_id))
        .filter(bids::status.eq(BidStatus::Submitted))
        // Two bids in one second keep the order they arrived in (the opening record is hashed).
        .order((bids::submitted_at.asc(), bids::id.asc()))
        .select(BidRow::as_select())
        .load(conn)?;
    let lots = lots(conn, tender_id)?;
    let mut out = Vec::with_capacity(rows.len());
    for b in rows {
        out.push(content(conn, b, &lots)?);
    }
    Ok((t, out))
}

/// One line of the opening record.
#[derive(Debug, Clone, Serialize)]
pub struct OpeningRow {
    pub vendor: String,
    pub version: i32,
    pub submitted_at: NaiveDateTime,
    pub receipt_sha256: String,
    /// (lot number, total) for the lots bid on.
    pub lot_totals: Vec<(i32, Amount)>,
}

/// The bids for the opening record; called inside the confirming transaction only.
pub(super) fn opening_rows(conn: &mut DbConn, t: &Tender) -> AppResult<Vec<OpeningRow>> {
    let rows: Vec<BidRow> = bids::table
        .filter(bids::tender_id.eq(t.id))
        .filter(bids::status.eq(BidStatus::Submitted))
        // Two bids in one second keep the order they arrived in (the opening record is hashed).
        .order((bids::submitted_at.asc(), bids::id.asc()))
        .select(BidRow::as_select())
        .load(conn)?;
    let lots = lots(conn, t.id)?;
    let mut out = Vec::new();
    for b in rows {
        let c = content(conn, b, &lots)?;
        out.push(OpeningRow {
            vendor: c.vendor,
            version: c.bid.version,
            submitted_at: c.bid.submitted_at,
            receipt_sha256: c.bid.receipt_sha256,
            lot_totals: c.lot_totals,
        });
    }
    Ok(out)
}

/// The opened bids as German Excel CSV: one row per bid and position.
pub fn opened_csv(positions: &[TenderPosition], lots: &[Lot], bids: &[BidContent]) -> Vec<u8> {
    let lot_no: HashMap<LotId, i32> = lots.iter().map(|l| (l.id, l.lot_no)).collect();
    let mut out = import::GermanCsv::new();
    out.row([
        "Bieter",
        "Eingang",
        "Quittung (SHA-256)",
        "Los",
        "Pos.",
        "Beschreibung",
        "Geschätzte Menge",
        "Einzelpreis (EUR netto)",
        "Zeilensumme (EUR netto)",
    ]);
    for b in bids {
        let submitted = crate::german::timestamp_de(b.bid.submitted_at);
        for p in positions {
            let Some(price) = b.prices.get(&p.id) else { continue };
            let line = Amount::line_total(p.estimate_quantity, *price)
                .map(|a| import::decimal_cell(a.to_decimal(), 2))
                .unwrap_or_default();
            out.row([
                b.vendor.clone(),
                submitted.clone(),
                b.bid.receipt_sha256.clone(),
                lot_no.get(&p.lot_id).copied().unwrap_or(0).to_string(),
                p.position_no.to_string(),
                p.description.clone(),
                import::decimal_cell(p.estimate_quantity.to_decimal(), 0),
                import::decimal_cell(price.to_decimal(), 2),
                line,
            ]);
        }
    }
    out.finish()
}
