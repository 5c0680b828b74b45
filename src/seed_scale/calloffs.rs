//! About a million call-off lines over the contracts, spread over the last two years: each line
//! is priced at the contract price with its savings reference, and the running totals of
//! positions, contracts and members grow only by call-offs that still hold volume.

use super::audit_trail::Trail;
use super::bulk::insert_all;
use super::contracts::Book;
use super::orgs::People;
use super::{take, NextIds, Plan, Rng};
use crate::db::schema::{calloff_lines, calloffs};
use crate::db::DbConn;
use crate::domain::calloff::CalloffStatus;
use crate::domain::ids::{CalloffId, ContractId, OrgId, TenderPositionId, UserId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::savings::line_saving;
use crate::error::{AppError, AppResult};
use crate::savings::berlin_year;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The window the call-offs are spread over, ending now.
const WINDOW_DAYS: i64 = 720;

pub struct Calloff {
    pub id: CalloffId,
    pub number: String,
    pub contract: usize,
    pub member_id: OrgId,
    pub buyer: (UserId, String),
    pub vendor_user: (UserId, String),
    pub status: CalloffStatus,
    pub address: String,
    pub leitweg_id: Option<String>,
    pub cost_centre: String,
    pub total: i64,
    pub created_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
    pub rejected_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub lines: usize,
}

pub struct Line {
    pub calloff_id: CalloffId,
    pub position_id: TenderPositionId,
    pub quantity: i64,
    pub unit_price: i64,
    pub line_total: i64,
    pub reference_price: Option<i64>,
    pub reference_source: Option<&'static str>,
    pub saving: Option<i64>,
    pub member_id: OrgId,
    pub contract_id: ContractId,
    pub order_year: i32,
    pub holds_volume: bool,
}

pub struct Placed {
    pub calloffs: Vec<Calloff>,
    pub lines: Vec<Line>,
}

fn internal(what: &str) -> impl Fn(crate::domain::money::NumberError) -> AppError + '_ {
    move |e| AppError::Internal(format!("{what}: {e}"))
}

/// Plans the call-offs and adds what holds volume to the book's running totals.
pub fn generate(
    rng: &mut Rng,
    plan: &Plan,
    ids: &mut NextIds,
    book: &mut Book,
    people: &People,
    now: NaiveDateTime,
) -> AppResult<Placed> {
    // Some contracts are busy, most are not: weights 1 to 10.
    let weights: Vec<u64> = book.contracts.iter().map(|_| 1 + rng.below(10) as u64).collect();
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut sum = 0u64;
    for w in &weights {
        sum += w;
        cumulative.push(sum);
    }
    let expected = (plan.calloff_lines * 2 / 9).max(1) as i64;
    let window = Duration::days(WINDOW_DAYS).num_seconds();
    let start = now - Duration::days(WINDOW_DAYS);
    let mut placed = Placed {
        calloffs: Vec::with_capacity(expected as usize + 1),
        lines: Vec::with_capacity(plan.calloff_lines),
    };
    let mut left = plan.calloff_lines;
    let mut n: i64 = 0;
    while left > 0 {
        let roll = rng.next_u64() % sum;
        let k = cumulative.partition_point(|c| *c <= roll);
        let contract = &book.contracts[k];
        let tender = &book.tenders[contract.tender];
        let m = rng.below(tender.members.len());
        let member = &people.members[tender.members[m]];
        let buyer = member.buyers[rng.below(member.buyers.len())].clone();
        let vendor_user = people.vendors[tender.bids[contract.winner].1].user.clone();
        // Evenly through the window (ids grow with time, as they do in use), a few minutes apart.
        let offset = (n * window / expected).min(window - 3_600) + rng.between(0, 300);
        let created_at = start + Duration::seconds(offset);
        let order_year = berlin_year(created_at);
        let id = take(&mut ids.calloff);
        n += 1;

        let mut status = match rng.below(100) {
            0..=79 => CalloffStatus::Delivered,
            80..=87 => CalloffStatus::Confirmed,
            88..=92 => CalloffStatus::Placed,
            93..=97 => CalloffStatus::Cancelled,
            _ => CalloffStatus::Rejected,
        };
        let answered = created_at + Duration::hours(rng.between(2, 30));
        let delivered = answered + Duration::days(rng.between(1, 10));
        // What has not happened yet by now stays in its earlier state.
        if status == CalloffStatus::Delivered && delivered > now {
            status = CalloffStatus::Confirmed;
        }
        if answered > now && status != CalloffStatus::Cancelled {
            status = CalloffStatus::Placed;
        }
        let holds_volume = matches!(
            status,
            CalloffStatus::Placed | CalloffStatus::Confirmed | CalloffStatus::Delivered
        );

        let count = (1 + rng.below(8)).min(contract.positions.len()).min(left);
        let mut picks: Vec<usize> = contract.positions.clone().collect();
        for i in 0..count {
            let j = i + rng.below(picks.len() - i);
            picks.swap(i, j);
        }
        picks.truncate(count);
        // Lines in position order, as the order form writes them.
        picks.sort_unstable();
        let mut total = Amount::from_minor(0).map_err(internal("Summe"))?;
        for p in picks {
            let position = &mut book.positions[p];
            let quantity = Quantity::from_minor(rng.between(1, 25) * 1_000).map_err(internal("Menge"))?;
            let unit_price = Price::from_minor(position.unit_price).map_err(internal("Preis"))?;
            let line_total = Amount::line_total(quantity, unit_price).map_err(internal("Zeilensumme"))?;
            total = total.checked_add(line_total).map_err(internal("Summe"))?;
            let reference = match book.member_refs.get(&(member.id, position.id)) {
                Some(price) => Some((*price, "member")),
                None => match rng.below(50) {
                    0 => None,
                    1..=9 => {
                        let mut bids = position.prices.clone();
                        bids.sort_unstable();
                        Some((bids[bids.len() / 2], "median"))
                    }
                    _ => Some((position.estimate_price, "estimate")),
                },
            };
            let saving = match reference {
                Some((price, _)) => Some(
                    line_saving(
                        Price::from_minor(price).map_err(internal("Referenz"))?,
                        unit_price,
                        quantity,
                    )
                    .map_err(internal("Einsparung"))?
                    .minor(),
                ),
                None => None,
            };
            if holds_volume {
                position.called += quantity.minor();
            }
            placed.lines.push(Line {
                calloff_id: id,
                position_id: position.id,
                quantity: quantity.minor(),
                unit_price: unit_price.minor(),
                line_total: line_total.minor(),
                reference_price: reference.map(|r| r.0),
                reference_source: reference.map(|r| r.1),
                saving,
                member_id: member.id,
                contract_id: contract.id,
                order_year,
                holds_volume,
            });
        }
        left -= count;
        if holds_volume {
            let contract = &mut book.contracts[k];
            contract.called_value += total.minor();
            contract.member_called[m] += total.minor();
        }
        placed.calloffs.push(Calloff {
            id,
            number: format!("AB-{order_year}-{id:06}"),
            contract: k,
            member_id: member.id,
            buyer,
            vendor_user,
            status,
            address: member.address.clone(),
            leitweg_id: member.leitweg_id.clone(),
            cost_centre: format!("KST {}", 1_000 + rng.below(9_000)),
            total: total.minor(),
            created_at,
            confirmed_at: matches!(status, CalloffStatus::Confirmed | CalloffStatus::Delivered).then_some(answered),
            rejected_at: (status == CalloffStatus::Rejected).then_some(answered),
            delivered_at: (status == CalloffStatus::Delivered).then_some(delivered),
            cancelled_at: (status == CalloffStatus::Cancelled).then_some(answered),
            lines: count,
        });
    }
    Ok(placed)
}

/// Writes the call-offs, their lines and their events (placed, then each step taken).
pub fn write(c: &mut DbConn, placed: &Placed, book: &Book, trail: &mut Trail) -> AppResult<()> {
    let mut rows = Vec::with_capacity(placed.calloffs.len());
    let documents: Vec<(String, String)> = placed
        .calloffs
        .iter()
        .map(|o| {
            let k = &book.contracts[o.contract];
            let document = format!(
                "<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Abruf {n}</title></head>\
                 <body><h1>Abruf {n}</h1><p>aus der Rahmenvereinbarung {k}, {l} Positionen, Lieferung an {a}</p></body></html>",
                n = o.number,
                k = k.number,
                l = o.lines,
                a = o.address
            );
            let sha = hex::encode(Sha256::digest(document.as_bytes()));
            (document, sha)
        })
        .collect();
    for (o, (document, sha)) in placed.calloffs.iter().zip(&documents) {
        let contract_id = book.contracts[o.contract].id;
        let total = Amount::from_minor(o.total).map_err(internal("Summe"))?;
        let buyer = (Some(o.buyer.0), o.buyer.1.clone());
        let vendor = (Some(o.vendor_user.0), o.vendor_user.1.clone());
        trail.push(
            &buyer,
            "calloff.placed",
            "calloff",
            o.id,
            o.created_at,
            json!({ "number": o.number, "contract_id": contract_id, "member_id": o.member_id, "total": total,
                    "lines": o.lines, "document_sha256": sha }),
        );
        if let Some(at) = o.confirmed_at {
            trail.push(
                &vendor,
                "calloff.confirmed",
                "calloff",
                o.id,
                at,
                json!({ "number": o.number }),
            );
        }
        if let Some(at) = o.delivered_at {
            trail.push(
                &vendor,
                "calloff.delivered",
                "calloff",
                o.id,
                at,
                json!({ "number": o.number }),
            );
        }
        if let Some(at) = o.rejected_at {
            trail.push(
                &vendor,
                "calloff.rejected",
                "calloff",
                o.id,
                at,
                json!({ "number": o.number }),
            );
        }
        if let Some(at) = o.cancelled_at {
            trail.push(
                &buyer,
                "calloff.cancelled",
                "calloff",
                o.id,
                at,
                json!({ "number": o.number }),
            );
        }
        rows.push((
            calloffs::id.eq(o.id),
            calloffs::number.eq(&o.number),
            calloffs::contract_id.eq(contract_id),
            calloffs::member_id.eq(o.member_id),
            calloffs::ordered_by.eq(o.buyer.0),
            calloffs::status.eq(o.status),
            calloffs::delivery_address.eq(&o.address),
            calloffs::cost_centre.eq(&o.cost_centre),
            calloffs::leitweg_id.eq(&o.leitweg_id),
            calloffs::note.eq(""),
            calloffs::total.eq(o.total),
            calloffs::created_at.eq(o.created_at),
            calloffs::confirmed_at.eq(o.confirmed_at),
            calloffs::rejected_at.eq(o.rejected_at),
            calloffs::reject_reason.eq(o
                .rejected_at
                .map(|_| "Artikel beim Hersteller nicht mehr lieferbar; bitte Ersatzartikel abrufen.")),
            calloffs::delivered_at.eq(o.delivered_at),
            calloffs::cancelled_at.eq(o.cancelled_at),
            calloffs::document.eq(document),
            calloffs::document_sha256.eq(sha),
        ));
    }
    insert_all!(c, calloffs::table, "calloffs", 19, rows);
    let lines: Vec<_> = placed
        .lines
        .iter()
        .map(|l| {
            (
                calloff_lines::calloff_id.eq(l.calloff_id),
                calloff_lines::position_id.eq(l.position_id),
                calloff_lines::quantity.eq(l.quantity),
                calloff_lines::unit_price.eq(l.unit_price),
                calloff_lines::line_total.eq(l.line_total),
                calloff_lines::reference_price.eq(l.reference_price),
                calloff_lines::reference_source.eq(l.reference_source),
                calloff_lines::saving.eq(l.saving),
                calloff_lines::member_id.eq(l.member_id),
                calloff_lines::contract_id.eq(l.contract_id),
                calloff_lines::order_year.eq(l.order_year),
                calloff_lines::holds_volume.eq(l.holds_volume),
            )
        })
        .collect();
    insert_all!(c, calloff_lines::table, "calloff_lines", 12, lines);
    Ok(())
}
