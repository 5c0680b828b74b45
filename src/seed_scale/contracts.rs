//! The way to a framework contract, generated: a closed demand call with the members' demand, an
//! opened tender of two lots, three bids, the award to the lowest bid per lot, the contract with
//! its positions and members. Planned first (call-offs fill in the totals), written afterwards.

use super::audit_trail::Trail;
use super::bulk::insert_all;
use super::orgs::People;
use super::{take, vocab, NextIds, Plan, Rng};
use crate::db::schema::*;
use crate::db::DbConn;
use crate::domain::bid::{AwardStatus, BidStatus};
use crate::domain::demand::CallStatus;
use crate::domain::ids::{
    AwardId, BidId, CatalogueItemId, ContractId, DemandCallId, DemandPositionId, LotId, OrgId, TenderId,
    TenderPositionId,
};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::tender::{Procedure, TenderStatus};
use crate::error::{AppError, AppResult};
use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::ops::Range;

/// Bids per tender: the lowest wins each lot.
const BIDDERS: usize = 3;

pub struct Position {
    pub id: TenderPositionId,
    pub demand_position_id: DemandPositionId,
    pub position_no: i32,
    pub catalogue_id: CatalogueItemId,
    pub description: String,
    pub unit: String,
    pub cpv: String,
    /// Estimate from the catalogue, 1/10,000 euro.
    pub estimate_price: i64,
    /// One unit price per bid of the tender, 1/10,000 euro; the contract's is the winner's.
    pub prices: Vec<i64>,
    pub unit_price: i64,
    /// Quantity called off so far, 1/1,000 units (running total the call-offs fill in).
    pub called: i64,
}

pub struct Contract {
    pub id: ContractId,
    pub number: String,
    pub tender: usize,
    pub lot_id: LotId,
    pub lot_no: i32,
    pub award_id: AwardId,
    /// Index into the tender's bids.
    pub winner: usize,
    pub positions: Range<usize>,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub concluded_at: NaiveDateTime,
    /// Cents called off so far, in total and per entitled member (same order as the tender's).
    pub called_value: i64,
    pub member_called: Vec<i64>,
}

pub struct Tender {
    pub id: TenderId,
    pub call_id: DemandCallId,
    pub title: String,
    /// Indexes into `People::members`.
    pub members: Vec<usize>,
    /// (bid id, index into `People::vendors`).
    pub bids: Vec<(BidId, usize)>,
    /// The day everything is dated from: the bid deadline.
    pub base: NaiveDateTime,
}

/// Values copied from the demo's opened tender, so that the generated tenders read like it.
struct Template {
    buffer_percent: String,
    threshold: i64,
    evaluation: String,
    criteria: String,
}

pub struct Book {
    pub tenders: Vec<Tender>,
    pub contracts: Vec<Contract>,
    pub positions: Vec<Position>,
    /// The member's own reference price for a position (its demand line), 1/10,000 euro.
    pub member_refs: HashMap<(OrgId, TenderPositionId), i64>,
    /// Demand lines: (position index, member index, quantity 1/1,000).
    demand: Vec<(usize, usize, i64)>,
    template: Template,
}

fn template(c: &mut DbConn) -> AppResult<Template> {
    let tender: Option<(TenderId, String, i64, String)> = tenders::table
        .filter(tenders::status.eq(TenderStatus::Opened))
        .order(tenders::id)
        .select((
            tenders::id,
            tenders::buffer_percent,
            tenders::threshold,
            tenders::evaluation,
        ))
        .first(c)
        .optional()?;
    let (id, buffer_percent, threshold, evaluation) =
        tender.ok_or_else(|| AppError::Internal("Die Demodaten enthalten keine geöffnete Ausschreibung.".into()))?;
    let criteria: String = bids::table
        .filter(bids::tender_id.eq(id))
        .order(bids::id)
        .select(bids::criteria)
        .first(c)?;
    Ok(Template {
        buffer_percent,
        threshold,
        evaluation,
        criteria,
    })
}

fn at(date: NaiveDateTime, days: i64, hour: u32) -> NaiveDateTime {
    let day = (date + Duration::days(days)).date();
    day.and_hms_opt(hour, 0, 0).unwrap_or(date)
}

/// Plans tenders, lots, positions, bids and contracts; nothing is written yet.
pub fn plan(
    c: &mut DbConn,
    rng: &mut Rng,
    plan: &Plan,
    ids: &mut NextIds,
    people: &People,
    now: NaiveDateTime,
) -> AppResult<Book> {
    let template = template(c)?;
    let mut book = Book {
        tenders: Vec::with_capacity(plan.tenders),
        contracts: Vec::with_capacity(plan.contracts()),
        positions: Vec::with_capacity(plan.contracts() * plan.positions_per_lot),
        member_refs: HashMap::new(),
        demand: Vec::new(),
        template,
    };
    let per_tender = plan.members_per_tender.min(people.members.len());
    for t in 0..plan.tenders {
        // Bid deadlines 30 to 33 months back: every contract runs through the call-off window.
        let base = at(now, -rng.between(900, 1_000), 12);
        let (tender_id, call_id) = (take(&mut ids.tender), take(&mut ids.call));
        let mut members: Vec<usize> = (0..people.members.len()).collect();
        for i in 0..per_tender {
            let j = i + rng.below(members.len() - i);
            members.swap(i, j);
        }
        members.truncate(per_tender);
        members.sort_unstable();
        let mut vendors: Vec<usize> = (0..people.vendors.len()).collect();
        for i in 0..BIDDERS.min(vendors.len()) {
            let j = i + rng.below(vendors.len() - i);
            vendors.swap(i, j);
        }
        let bids: Vec<(BidId, usize)> = vendors
            .into_iter()
            .take(BIDDERS)
            .map(|v| (take(&mut ids.bid), v))
            .collect();
        let mut position_no = 0;
        for lot in 0..Plan::LOTS_PER_TENDER {
            let start = book.positions.len();
            for _ in 0..plan.positions_per_lot {
                position_no += 1;
                let item = &people.catalogue[rng.below(people.catalogue.len())];
                let estimate_price = item.cents * 100;
                // Bids lie between 70 % and 105 % of the estimate.
                let prices: Vec<i64> = bids
                    .iter()
                    .map(|_| estimate_price * rng.between(70, 105) / 100)
                    .collect();
                let id = take(&mut ids.tender_position);
                let demand_position_id = take(&mut ids.demand_position);
                // A quarter of the members report demand for a position, with their own price.
                for (m, member) in members.iter().enumerate() {
                    if rng.below(4) == 0 {
                        let reference = estimate_price * rng.between(95, 130) / 100;
                        book.member_refs.insert((people.members[*member].id, id), reference);
                        book.demand.push((book.positions.len(), m, rng.between(5, 400) * 1_000));
                    }
                }
                book.positions.push(Position {
                    id,
                    demand_position_id,
                    position_no,
                    catalogue_id: item.id,
                    description: item.description.clone(),
                    unit: item.unit.clone(),
                    cpv: item.cpv.clone(),
                    estimate_price,
                    prices,
                    unit_price: 0,
                    called: 0,
                });
            }
            let range = start..book.positions.len();
            // The lowest lot total wins (price-only in effect; the demo's scoring stays on the
            // demo tenders).
            let totals: Vec<i64> = (0..bids.len())
                .map(|b| book.positions[range.clone()].iter().map(|p| p.prices[b]).sum())
                .collect();
            let winner = (0..bids.len()).min_by_key(|b| totals[*b]).unwrap_or(0);
            for p in &mut book.positions[range.clone()] {
                p.unit_price = p.prices[winner];
            }
            let concluded_at = at(base, 20 + rng.between(0, 5), 10);
            let term_start = concluded_at.date() + Duration::days(1);
            let term_end = term_start
                .checked_add_months(Months::new(48))
                .map(|d| d - Duration::days(1))
                .unwrap_or(term_start);
            let id = take(&mut ids.contract);
            book.contracts.push(Contract {
                id,
                number: format!("RV-{}-{id:04}", concluded_at.year()),
                tender: t,
                lot_id: take(&mut ids.lot),
                lot_no: lot as i32 + 1,
                award_id: take(&mut ids.award),
                winner,
                positions: range,
                term_start,
                term_end,
                concluded_at,
                called_value: 0,
                member_called: vec![0; members.len()],
            });
        }
        book.tenders.push(Tender {
            id: tender_id,
            call_id,
            title: vocab::tender_title(t, base.year()),
            members,
            bids,
            base,
        });
    }
    Ok(book)
}

fn minor_total(quantity: i64, price: i64) -> AppResult<i64> {
    let q = Quantity::from_minor(quantity).map_err(|e| AppError::Internal(format!("Menge: {e}")))?;
    let p = Price::from_minor(price).map_err(|e| AppError::Internal(format!("Preis: {e}")))?;
    Ok(Amount::line_total(q, p)
        .map_err(|e| AppError::Internal(format!("Summe: {e}")))?
        .minor())
}

fn sha(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Writes demand calls, tenders, bids, awards and contracts with their totals, after the
/// call-offs have been planned.
pub fn write(
    c: &mut DbConn,
    rng: &mut Rng,
    book: &Book,
    people: &People,
    trail: &mut Trail,
    calendar: &crate::domain::period::Calendar,
) -> AppResult<()> {
    let officer = people
        .officers
        .first()
        .cloned()
        .ok_or_else(|| AppError::Internal("Die Demodaten enthalten keine Vergabestelle.".into()))?;
    let officer2 = people.officers.get(1).cloned().unwrap_or_else(|| officer.clone());
    let officer_actor = (Some(officer.0), officer.1.clone());
    let tpl = &book.template;
    // The contract (lot) of each position.
    let mut owner = vec![0usize; book.positions.len()];
    for (k, contract) in book.contracts.iter().enumerate() {
        for i in contract.positions.clone() {
            owner[i] = k;
        }
    }

    // Demand per position: the sum of the members' quantities, estimate at least one unit more
    // than is called off later, maximum 20 % above the estimate (the demo's buffer).
    let mut demanded = vec![0i64; book.positions.len()];
    for (p, _, q) in &book.demand {
        demanded[*p] += q;
    }
    let estimate_quantity = |p: usize| -> i64 {
        let called = book.positions[p].called;
        demanded[p].max(called * 10 / 12 + 1_000).max(1_000) / 1_000 * 1_000
    };
    let max_quantity = |p: usize| -> i64 {
        let est = estimate_quantity(p);
        (est * 12 / 10).max(book.positions[p].called).max(est)
    };

    let mut calls = Vec::new();
    let mut demand_positions = Vec::new();
    let mut invitations = Vec::new();
    let mut responses = Vec::new();
    let mut tender_rows = Vec::new();
    let mut tender_members = Vec::new();
    for t in &book.tenders {
        let created = at(t.base, -120, 9);
        calls.push((
            demand_calls::id.eq(t.call_id),
            demand_calls::title.eq(t.title.clone()),
            demand_calls::description.eq(format!("Gemeinsamer Bedarf der Mitglieder für „{}“", t.title)),
            demand_calls::term_months.eq(48),
            demand_calls::deadline.eq(at(t.base, -90, 12)),
            demand_calls::status.eq(CallStatus::Closed),
            demand_calls::all_members.eq(false),
            demand_calls::created_by.eq(officer.0),
            demand_calls::created_at.eq(created),
            demand_calls::opened_at.eq(Some(at(t.base, -110, 9))),
            demand_calls::closed_at.eq(Some(at(t.base, -89, 9))),
        ));
        for m in &t.members {
            let member = people.members[*m].id;
            invitations.push((
                demand_invitations::call_id.eq(t.call_id),
                demand_invitations::member_id.eq(member),
            ));
            responses.push((
                demand_responses::call_id.eq(t.call_id),
                demand_responses::member_id.eq(member),
                demand_responses::answered_at.eq(at(t.base, -95, 11)),
                demand_responses::answered_by.eq(people.members[*m].buyers[0].0),
            ));
            tender_members.push((tender_members::tender_id.eq(t.id), tender_members::member_id.eq(member)));
        }
    }
    let mut estimated = vec![0i64; book.tenders.len()];
    for (i, p) in book.positions.iter().enumerate() {
        let tender = book.contracts[owner[i]].tender;
        estimated[tender] += minor_total(estimate_quantity(i), p.estimate_price)?;
        demand_positions.push((
            demand_positions::id.eq(p.demand_position_id),
            demand_positions::call_id.eq(book.tenders[tender].call_id),
            demand_positions::position_no.eq(p.position_no),
            demand_positions::catalogue_item_id.eq(Some(p.catalogue_id)),
            demand_positions::description.eq(p.description.clone()),
            demand_positions::unit.eq(p.unit.clone()),
            demand_positions::cpv_code.eq(p.cpv.clone()),
            demand_positions::estimate_price.eq(Some(p.estimate_price)),
        ));
    }
    let demand_lines: Vec<_> = book
        .demand
        .iter()
        .map(|(p, m, q)| {
            let position = &book.positions[*p];
            let tender = book.contracts[owner[*p]].tender;
            let member = people.members[book.tenders[tender].members[*m]].id;
            (
                demand_lines::call_id.eq(book.tenders[tender].call_id),
                demand_lines::position_id.eq(position.demand_position_id),
                demand_lines::member_id.eq(member),
                demand_lines::quantity.eq(*q),
                demand_lines::reference_price.eq(book.member_refs.get(&(member, position.id)).copied()),
            )
        })
        .collect();
    for (i, t) in book.tenders.iter().enumerate() {
        let record = format!(
            "Öffnungsprotokoll „{}“: {} Angebote fristgerecht eingegangen und geöffnet.",
            t.title,
            t.bids.len()
        );
        tender_rows.push((
            tenders::id.eq(t.id),
            tenders::demand_call_id.eq(t.call_id),
            tenders::title.eq(t.title.clone()),
            tenders::description.eq(format!("Rahmenvereinbarung über 48 Monate: {}", t.title)),
            tenders::procedure.eq(Procedure::EuOpen),
            tenders::buffer_percent.eq(tpl.buffer_percent.clone()),
            tenders::estimated_value.eq(estimated[i]),
            tenders::threshold.eq(tpl.threshold),
            tenders::bid_deadline.eq(t.base),
            tenders::term_months.eq(48),
            tenders::evaluation.eq(tpl.evaluation.clone()),
            tenders::status.eq(TenderStatus::Opened),
            tenders::created_by.eq(officer.0),
            tenders::created_at.eq(at(t.base, -80, 9)),
            tenders::published_by.eq(Some(officer.0)),
            tenders::published_at.eq(Some(at(t.base, -75, 10))),
            tenders::opening_started_by.eq(Some(officer.0)),
            tenders::opening_started_at.eq(Some(at(t.base, 0, 14))),
            tenders::opened_by.eq(Some(officer2.0)),
            tenders::opened_at.eq(Some(at(t.base, 0, 15))),
            tenders::opening_record_sha256.eq(Some(sha(&record))),
            tenders::opening_record.eq(Some(record)),
        ));
        for (action, day) in [("tender.created", -80), ("tender.published", -75), ("tender.opened", 0)] {
            trail.push(
                &officer_actor,
                action,
                "tender",
                t.id,
                at(t.base, day, 10),
                json!({ "title": t.title }),
            );
        }
    }
    insert_all!(c, demand_calls::table, "demand_calls", 11, calls);
    insert_all!(c, demand_positions::table, "demand_positions", 8, demand_positions);
    insert_all!(c, demand_invitations::table, "demand_invitations", 2, invitations);
    insert_all!(c, demand_responses::table, "demand_responses", 4, responses);
    insert_all!(c, demand_lines::table, "demand_lines", 5, demand_lines);
    insert_all!(c, tenders::table, "tenders", 22, tender_rows);
    insert_all!(c, tender_members::table, "tender_members", 2, tender_members);

    let mut lots = Vec::new();
    let mut positions = Vec::new();
    for k in &book.contracts {
        let t = &book.tenders[k.tender];
        lots.push((
            tender_lots::id.eq(k.lot_id),
            tender_lots::tender_id.eq(t.id),
            tender_lots::lot_no.eq(k.lot_no),
            tender_lots::title.eq(format!(
                "Los {}: {}",
                k.lot_no, book.positions[k.positions.start].description
            )),
        ));
        for i in k.positions.clone() {
            let p = &book.positions[i];
            positions.push((
                tender_positions::id.eq(p.id),
                tender_positions::tender_id.eq(t.id),
                tender_positions::lot_id.eq(k.lot_id),
                tender_positions::position_no.eq(p.position_no),
                tender_positions::demand_position_id.eq(Some(p.demand_position_id)),
                tender_positions::description.eq(p.description.clone()),
                tender_positions::unit.eq(p.unit.clone()),
                tender_positions::cpv_code.eq(p.cpv.clone()),
                tender_positions::estimate_quantity.eq(estimate_quantity(i)),
                tender_positions::max_quantity.eq(max_quantity(i)),
                tender_positions::estimate_price.eq(Some(p.estimate_price)),
            ));
        }
    }
    insert_all!(c, tender_lots::table, "tender_lots", 4, lots);
    insert_all!(c, tender_positions::table, "tender_positions", 11, positions);

    let mut bid_rows = Vec::new();
    let mut bid_lots = Vec::new();
    let mut bid_prices = Vec::new();
    for (ti, t) in book.tenders.iter().enumerate() {
        for (b, (bid_id, v)) in t.bids.iter().enumerate() {
            let vendor = &people.vendors[*v];
            let submitted = at(t.base, -rng.between(2, 20), 9 + b as u32);
            bid_rows.push((
                bids::id.eq(bid_id),
                bids::tender_id.eq(t.id),
                bids::vendor_id.eq(vendor.id),
                bids::version.eq(1),
                bids::status.eq(BidStatus::Submitted),
                bids::submitted_by.eq(vendor.user.0),
                bids::submitted_at.eq(submitted),
                bids::nonce.eq(rng.hex(16)),
                bids::receipt_sha256.eq(rng.hex(32)),
                bids::criteria.eq(tpl.criteria.clone()),
            ));
            trail.push_in(
                format!("bid:{bid_id}"),
                &(Some(vendor.user.0), vendor.user.1.clone()),
                "bid.submitted",
                "bid",
                *bid_id,
                submitted,
                json!({ "tender_id": t.id, "version": 1 }),
            );
            for k in book.contracts.iter().filter(|k| k.tender == ti) {
                let mut total = 0;
                for i in k.positions.clone() {
                    let p = &book.positions[i];
                    total += minor_total(estimate_quantity(i), p.prices[b])?;
                    bid_prices.push((
                        bid_prices::bid_id.eq(bid_id),
                        bid_prices::position_id.eq(p.id),
                        bid_prices::unit_price.eq(p.prices[b]),
                    ));
                }
                bid_lots.push((
                    bid_lots::bid_id.eq(bid_id),
                    bid_lots::lot_id.eq(k.lot_id),
                    bid_lots::total.eq(total),
                ));
            }
        }
    }
    insert_all!(c, bids::table, "bids", 10, bid_rows);
    insert_all!(c, bid_lots::table, "bid_lots", 3, bid_lots);
    insert_all!(c, bid_prices::table, "bid_prices", 3, bid_prices);

    let mut awards = Vec::new();
    let mut notices = Vec::new();
    let mut contract_rows = Vec::new();
    let mut contract_positions = Vec::new();
    let mut contract_members = Vec::new();
    for k in &book.contracts {
        let t = &book.tenders[k.tender];
        let (bid_id, v) = t.bids[k.winner];
        let vendor = &people.vendors[v];
        let informed = at(t.base, 5, 10);
        let reason = "Den Zuschlag erhält das wirtschaftlichste Angebot: die niedrigste Losesumme.".to_string();
        awards.push((
            awards::id.eq(k.award_id),
            awards::tender_id.eq(t.id),
            awards::lot_id.eq(k.lot_id),
            awards::bid_id.eq(bid_id),
            awards::vendor_id.eq(vendor.id),
            awards::reason.eq(reason.clone()),
            awards::status.eq(AwardStatus::Concluded),
            awards::decided_by.eq(officer.0),
            awards::informed_at.eq(informed),
            // Counted as the award itself counts it: from the Berlin day of the information,
            // moved past weekends and holidays (§ 134 (2) GWB, § 193 BGB).
            awards::standstill_last_day.eq(crate::domain::standstill::last_day(
                crate::domain::period::berlin_day(informed.and_utc()),
                true,
                calendar.region,
            )),
            awards::concluded_by.eq(Some(officer.0)),
            awards::concluded_at.eq(Some(k.concluded_at)),
        ));
        let mut ranked: Vec<usize> = (0..t.bids.len()).collect();
        let lot_total = |b: usize| -> i64 { book.positions[k.positions.clone()].iter().map(|p| p.prices[b]).sum() };
        ranked.sort_by_key(|b| lot_total(*b));
        for (rank, b) in ranked.iter().enumerate() {
            let (other, ov) = t.bids[*b];
            notices.push((
                award_notices::award_id.eq(k.award_id),
                award_notices::bid_id.eq(other),
                award_notices::vendor_id.eq(people.vendors[ov].id),
                award_notices::bid_rank.eq(Some(rank as i32 + 1)),
                award_notices::reason.eq(if rank == 0 {
                    reason.clone()
                } else {
                    format!("Ihr Angebot liegt nach der Wertung auf Rang {}.", rank + 1)
                }),
                // No outbox in generated history: the information counts as sent by e-mail
                // at the decision, recorded as such.
                award_notices::delivery_channel.eq(Some(crate::domain::standstill::Channel::Email)),
                award_notices::delivery_sent_at.eq(Some(informed)),
                award_notices::delivery_note.eq(Some("Erzeugte Daten: per E-Mail informiert")),
                award_notices::delivery_recorded_at.eq(Some(informed)),
            ));
        }
        trail.push_in(
            format!("tender:{}", t.id),
            &officer_actor,
            "award.informed",
            "tender",
            t.id,
            informed,
            json!({ "lot_id": k.lot_id, "bid_id": bid_id }),
        );
        // The maximum value leaves the called share between 40 % and 79 %: no contract is over
        // its maximum, none has crossed the 80 % alert that the generator does not raise.
        let headroom = rng.between(127, 250);
        let max_value = (k.called_value * headroom / 100).max(100_000);
        let document = format!(
            "Rahmenvereinbarung {} über Los {} der Ausschreibung „{}“ zwischen der Genossenschaft und {}.",
            k.number, k.lot_no, t.title, vendor.user.1
        );
        let document_sha = sha(&document);
        trail.push_in(
            format!("tender:{}", t.id),
            &officer_actor,
            "award.concluded",
            "tender",
            t.id,
            k.concluded_at,
            json!({ "contract_id": k.id, "number": k.number, "term_start": k.term_start,
                    "term_end": k.term_end, "document_sha256": document_sha }),
        );
        contract_rows.push((
            contracts::id.eq(k.id),
            contracts::number.eq(k.number.clone()),
            contracts::tender_id.eq(t.id),
            contracts::lot_id.eq(k.lot_id),
            contracts::award_id.eq(k.award_id),
            contracts::vendor_id.eq(vendor.id),
            contracts::term_start.eq(k.term_start),
            contracts::term_end.eq(k.term_end),
            contracts::max_value.eq(max_value),
            contracts::document.eq(document),
            contracts::document_sha256.eq(document_sha),
            contracts::created_at.eq(k.concluded_at),
            contracts::called_value.eq(k.called_value),
        ));
        for i in k.positions.clone() {
            let p = &book.positions[i];
            contract_positions.push((
                contract_positions::contract_id.eq(k.id),
                contract_positions::position_id.eq(p.id),
                contract_positions::unit_price.eq(p.unit_price),
                contract_positions::max_quantity.eq(max_quantity(i)),
                contract_positions::called_quantity.eq(p.called),
            ));
        }
        for (m, member) in t.members.iter().enumerate() {
            contract_members.push((
                contract_members::contract_id.eq(k.id),
                contract_members::member_id.eq(people.members[*member].id),
                contract_members::quota_value.eq(None::<i64>),
                contract_members::called_value.eq(k.member_called[m]),
            ));
        }
    }
    insert_all!(c, awards::table, "awards", 12, awards);
    insert_all!(c, award_notices::table, "award_notices", 9, notices);
    insert_all!(c, contracts::table, "contracts", 13, contract_rows);
    insert_all!(
        c,
        contract_positions::table,
        "contract_positions",
        5,
        contract_positions
    );
    insert_all!(c, contract_members::table, "contract_members", 4, contract_members);
    Ok(())
}
