//! Open data (Open Government): an OCDS 1.1 release package per published tender with parties,
//! lots and items, bids only for awarded lots, awards, contracts, and each call-off as its own
//! contracting process linked to the framework; plus the lists of the public open-data page.

pub mod api;
pub mod routes;

use crate::award::{Award, ContractRow};
use crate::db::schema::{
    bid_lots, bids, calloff_lines, calloffs, contract_positions, contracts, organisations, tender_members,
    tender_positions, tenders,
};
use crate::db::DbConn;
use crate::domain::bid::AwardStatus;
use crate::domain::bid::BidStatus;
use crate::domain::ids::{BidId, CalloffId, LotId, OrgId, TenderId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::ocds as rules;
use crate::domain::tender::TenderStatus;
use crate::error::{AppError, AppResult};
use crate::orgs::Organisation;
use crate::tender::{Lot, Tender, TenderPosition};
use crate::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The address of a tender's package, relative to the server.
pub fn package_path(tender_id: TenderId) -> String {
    format!("/api/v1/ocds/tenders/{tender_id}")
}

/// A published tender, or "not found": drafts are nobody's open data.
pub fn published(conn: &mut DbConn, tender_id: TenderId) -> AppResult<Tender> {
    let t = crate::tender::find(conn, tender_id)?;
    if !t.is_published() {
        return Err(AppError::NotFound);
    }
    Ok(t)
}

fn money(a: Amount) -> Value {
    json!({ "amount": a.to_decimal().to_string(), "currency": "EUR" })
}

fn price(p: Price) -> Value {
    json!({ "amount": p.to_decimal().to_string(), "currency": "EUR" })
}

fn quantity(q: Quantity) -> String {
    q.to_decimal().to_string()
}

fn org_id(id: OrgId) -> String {
    format!("org-{id}")
}

fn reference(o: &Organisation) -> Value {
    json!({ "id": org_id(o.id), "name": o.name })
}

fn party(o: &Organisation, roles: &BTreeSet<&'static str>) -> Value {
    json!({
        "id": org_id(o.id),
        "name": o.name,
        "address": { "streetAddress": o.street, "postalCode": o.postal_code, "locality": o.city, "countryName": "Deutschland" },
        "roles": roles.iter().collect::<Vec<_>>(),
    })
}

fn lot_ref(lot_no: i32) -> String {
    format!("los-{lot_no}")
}

fn classification(cpv: &str) -> Value {
    // OCDS names CPV codes without the check digit.
    json!({ "scheme": "CPV", "id": cpv.split('-').next().unwrap_or(cpv) })
}

/// A call-off: (id, number, member, status, total, created at, confirmed at).
type CalloffRow = (
    CalloffId,
    String,
    OrgId,
    String,
    Amount,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// A current bid on a lot: (bid id, lot, lot total, excluded).
type LotBidRow = (BidId, LotId, Amount, Option<String>);

/// Collects parties and their roles while the release is built.
#[derive(Default)]
struct Parties {
    roles: BTreeMap<OrgId, BTreeSet<&'static str>>,
}

impl Parties {
    fn add(&mut self, id: OrgId, role: &'static str) {
        self.roles.entry(id).or_default().insert(role);
    }

    fn build(&self, conn: &mut DbConn) -> AppResult<(Vec<Value>, BTreeMap<OrgId, Organisation>)> {
        let orgs: BTreeMap<OrgId, Organisation> = organisations::table
            .filter(organisations::id.eq_any(self.roles.keys().copied().collect::<Vec<_>>()))
            .select(Organisation::as_select())
            .load(conn)?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        let list = self
            .roles
            .iter()
            .filter_map(|(id, roles)| orgs.get(id).map(|o| party(o, roles)))
            .collect();
        Ok((list, orgs))
    }
}

/// The release package of a published tender: one release for the tender, one per call-off.
pub fn package(conn: &mut DbConn, state: &AppState, tender_id: TenderId) -> AppResult<Value> {
    let t = published(conn, tender_id)?;
    let now = state.clock.now_naive();
    let today = state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let prefix = &state.config.ocid_prefix;
    let ocid = rules::tender_ocid(prefix, t.id);
    let coop =
        crate::orgs::cooperative(conn)?.ok_or_else(|| AppError::Internal("no cooperative organisation".into()))?;
    let lots = crate::tender::lots(conn, t.id)?;
    let positions: Vec<TenderPosition> = crate::tender::positions(conn, t.id)?;
    let awards: BTreeMap<LotId, Award> = crate::award::awards_of(conn, t.id)?;
    let lot_no = |lot_id: LotId| lots.iter().find(|l| l.id == lot_id).map(|l| l.lot_no).unwrap_or(0);
    let mut parties = Parties::default();
    parties.add(coop.id, "procuringEntity");
    parties.add(coop.id, "centralPurchasingBody");
    parties.add(coop.id, "buyer");
    let members: Vec<OrgId> = tender_members::table
        .filter(tender_members::tender_id.eq(t.id))
        .select(tender_members::member_id)
        .load(conn)?;
    for m in &members {
        parties.add(*m, "buyer");
    }

    // Bids are published per lot only once that lot is awarded, and never before the opening.
    let awarded_lots: Vec<LotId> = awards.keys().copied().collect();
    let lot_bids: Vec<LotBidRow> = if t.is_opened() && !awarded_lots.is_empty() {
        bid_lots::table
            .inner_join(bids::table)
            .filter(bids::tender_id.eq(t.id))
            .filter(bids::status.eq(BidStatus::Submitted))
            .filter(bid_lots::lot_id.eq_any(&awarded_lots))
            .order((bid_lots::lot_id.asc(), bids::id.asc()))
            .select((bids::id, bid_lots::lot_id, bid_lots::total, bid_lots::excluded_kind))
            .load(conn)?
    } else {
        Vec::new()
    };
    // No "tenderer" parties: the bids stay confidential after the procedure too (§ 5(2) VgV);
    // the award publishes the winner, the statistics what the award notice carries.
    for a in awards.values() {
        parties.add(a.vendor_id, "supplier");
    }
    let contract_rows: Vec<ContractRow> = contracts::table
        .filter(contracts::tender_id.eq(t.id))
        .order(contracts::id.asc())
        .select(ContractRow::as_select())
        .load(conn)?;
    let (party_list, orgs) = parties.build(conn)?;
    let org_ref = |id: OrgId| {
        orgs.get(&id)
            .map(reference)
            .unwrap_or_else(|| json!({ "id": org_id(id) }))
    };

    let lot_status = |l: &Lot| {
        if l.cancelled_at.is_some() || t.cancelled_at.is_some() {
            "cancelled"
        } else if awards.get(&l.id).is_some_and(|a| a.status == AwardStatus::Concluded) {
            "complete"
        } else {
            "active"
        }
    };
    let open_lots = lots.iter().filter(|l| l.cancelled_at.is_none()).count();
    let mut tender = json!({
        "id": format!("ausschreibung-{}", t.id),
        "title": t.title,
        "description": t.description,
        "status": rules::tender_status(t.cancelled_at.is_some(), open_lots, awards.len()),
        "procurementMethod": "open",
        "procurementMethodDetails": t.procedure_label(),
        "mainProcurementCategory": "goods",
        "value": money(t.estimated_value),
        "procuringEntity": reference(&coop),
        "techniques": { "hasFrameworkAgreement": true },
        "tenderPeriod": { "startDate": t.published_at.map(rules::instant), "endDate": rules::instant(t.bid_deadline) },
        "lots": lots.iter().map(|l| json!({ "id": lot_ref(l.lot_no), "title": l.title, "status": lot_status(l) })).collect::<Vec<_>>(),
        "items": positions.iter().map(|p| json!({
            "id": format!("pos-{}", p.position_no),
            "description": p.description,
            "classification": classification(&p.cpv_code),
            "quantity": quantity(p.max_quantity),
            "unit": { "name": p.unit },
            "relatedLot": lot_ref(lot_no(p.lot_id)),
        })).collect::<Vec<_>>(),
    });
    if let Some(opened) = t.opened_at.filter(|_| t.is_opened()) {
        tender["bidOpening"] = json!({ "date": rules::instant(opened) });
    }

    let mut release = json!({
        "ocid": ocid,
        "id": format!("{ocid}-{}", now.format("%Y%m%d%H%M%S")),
        "date": rules::instant(now),
        "initiationType": "tender",
        "language": "de",
        "title": t.title,
        "buyer": reference(&coop),
        "parties": party_list,
        "tender": tender,
    });
    let mut tags = vec!["tender"];

    if !lot_bids.is_empty() {
        let mut statistics = Vec::new();
        for lot_id in &awarded_lots {
            let on_lot: Vec<&LotBidRow> = lot_bids.iter().filter(|b| b.1 == *lot_id).collect();
            let valid: Vec<Amount> = on_lot.iter().filter(|b| b.3.is_none()).map(|b| b.2).collect();
            let n = lot_no(*lot_id);
            let stat = |measure: &str, value: String| json!({ "id": format!("los-{n}-{measure}"), "measure": measure, "value": value, "relatedLot": lot_ref(n) });
            statistics.push(stat("bids", on_lot.len().to_string()));
            statistics.push(stat("validBids", valid.len().to_string()));
            if let (Some(lo), Some(hi), true) = (
                valid.iter().min(),
                valid.iter().max(),
                rules::bid_range_public(valid.len()),
            ) {
                let mut low = stat("lowestValidBidValue", lo.to_decimal().to_string());
                low["currency"] = json!("EUR");
                let mut high = stat("highestValidBidValue", hi.to_decimal().to_string());
                high["currency"] = json!("EUR");
                statistics.push(low);
                statistics.push(high);
            }
        }
        release["bids"] = json!({ "statistics": statistics });
    }

    if !awards.is_empty() {
        tags.push("award");
        release["awards"] = json!(awards
            .values()
            .map(|a| {
                let n = lot_no(a.lot_id);
                let total = lot_bids
                    .iter()
                    .find(|b| b.0 == a.bid_id && b.1 == a.lot_id)
                    .map(|b| money(b.2));
                let mut v = json!({
                    "id": format!("zuschlag-{}", a.id),
                    "title": format!("Zuschlag Los {n}"),
                    "status": rules::award_status(a.status),
                    "date": rules::instant(a.informed_at),
                    "suppliers": [org_ref(a.vendor_id)],
                    "relatedLots": [lot_ref(n)],
                });
                if let Some(total) = total {
                    v["value"] = total;
                }
                v
            })
            .collect::<Vec<_>>());
    }

    let mut releases = Vec::new();
    if !contract_rows.is_empty() {
        tags.push("contract");
        let mut list = Vec::new();
        for k in &contract_rows {
            let items: Vec<(i32, String, String, String, Price, Quantity)> = contract_positions::table
                .inner_join(tender_positions::table)
                .filter(contract_positions::contract_id.eq(k.id))
                .order(tender_positions::position_no.asc())
                .select((
                    tender_positions::position_no,
                    tender_positions::description,
                    tender_positions::unit,
                    tender_positions::cpv_code,
                    contract_positions::unit_price,
                    contract_positions::max_quantity,
                ))
                .load(conn)?;
            list.push(json!({
                "id": format!("vertrag-{}", k.id),
                "awardID": format!("zuschlag-{}", k.award_id),
                "title": format!("Rahmenvereinbarung {}", k.number),
                "status": rules::contract_status(today, k.term_start, k.term_end),
                "period": { "startDate": rules::day_start(k.term_start), "endDate": rules::day_end(k.term_end) },
                "value": money(k.max_value),
                "dateSigned": rules::instant(k.created_at),
                "items": items.iter().map(|(no, description, unit, cpv, p, max)| json!({
                    "id": format!("pos-{no}"),
                    "description": description,
                    "classification": classification(cpv),
                    "quantity": quantity(*max),
                    "unit": { "name": unit, "value": price(*p) },
                })).collect::<Vec<_>>(),
            }));
            releases.extend(calloff_releases(conn, state, &t, k, &ocid)?);
        }
        release["contracts"] = json!(list);
    }
    release["tag"] = json!(tags);
    releases.insert(0, release);

    Ok(json!({
        "uri": format!("{}{}", state.config.base_url, package_path(t.id)),
        "version": rules::VERSION,
        "publishedDate": rules::instant(now),
        "publisher": { "name": coop.name },
        "license": rules::LICENSE,
        "releases": releases,
    }))
}

/// Each call-off of a framework contract as a contracting process of its own, linked to the
/// framework's process (relatedProcesses, scheme `ocid`, relationship `framework`).
fn calloff_releases(
    conn: &mut DbConn,
    state: &AppState,
    t: &Tender,
    k: &ContractRow,
    framework_ocid: &str,
) -> AppResult<Vec<Value>> {
    let rows: Vec<CalloffRow> = calloffs::table
        .filter(calloffs::contract_id.eq(k.id))
        .order(calloffs::id.asc())
        .select((
            calloffs::id,
            calloffs::number,
            calloffs::member_id,
            calloffs::status,
            calloffs::total,
            calloffs::created_at,
            calloffs::confirmed_at,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, number, member_id, status, total, created_at, confirmed_at) in rows {
        let ocid = rules::calloff_ocid(&state.config.ocid_prefix, id);
        let lines: Vec<(i32, String, String, String, Quantity, Price)> = calloff_lines::table
            .inner_join(tender_positions::table)
            .filter(calloff_lines::calloff_id.eq(id))
            .order(tender_positions::position_no.asc())
            .select((
                tender_positions::position_no,
                tender_positions::description,
                tender_positions::unit,
                tender_positions::cpv_code,
                calloff_lines::quantity,
                calloff_lines::unit_price,
            ))
            .load(conn)?;
        let mut parties = Parties::default();
        parties.add(member_id, "buyer");
        parties.add(k.vendor_id, "supplier");
        let (party_list, orgs) = parties.build(conn)?;
        let org_ref = |id: OrgId| {
            orgs.get(&id)
                .map(reference)
                .unwrap_or_else(|| json!({ "id": org_id(id) }))
        };
        let items: Vec<Value> = lines
            .iter()
            .map(|(no, description, unit, cpv, q, p)| {
                json!({
                    "id": format!("pos-{no}"),
                    "description": description,
                    "classification": classification(cpv),
                    "quantity": quantity(*q),
                    "unit": { "name": unit, "value": price(*p) },
                })
            })
            .collect();
        let code = rules::calloff_status(&status);
        let mut contract = json!({
            "id": format!("abruf-{id}"),
            "awardID": format!("abruf-{id}"),
            "title": format!("Abruf {number}"),
            "status": code,
            "value": money(total),
            "items": items,
        });
        if let Some(c) = confirmed_at {
            contract["dateSigned"] = json!(rules::instant(c));
        }
        out.push(json!({
            "ocid": ocid,
            "id": format!("{ocid}-{}", state.clock.now_naive().format("%Y%m%d%H%M%S")),
            "date": rules::instant(confirmed_at.unwrap_or(created_at)),
            "tag": ["award", "contract"],
            "initiationType": "tender",
            "language": "de",
            "title": format!("Abruf {number} aus der Rahmenvereinbarung {}", k.number),
            "buyer": org_ref(member_id),
            "parties": party_list,
            "relatedProcesses": [{
                "id": "rahmenvereinbarung",
                "relationship": ["framework"],
                "scheme": "ocid",
                "identifier": framework_ocid,
                "title": t.title,
                "uri": format!("{}{}", state.config.base_url, package_path(t.id)),
            }],
            "awards": [{
                "id": format!("abruf-{id}"),
                "title": format!("Abruf {number}"),
                "status": code,
                "date": rules::instant(created_at),
                "value": money(total),
                "suppliers": [org_ref(k.vendor_id)],
            }],
            "contracts": [contract],
        }));
    }
    Ok(out)
}

/// What the public open-data page lists: published tenders, awards and contracts.
pub fn public_lists(conn: &mut DbConn, state: &AppState) -> AppResult<Value> {
    let now = state.clock.now_naive();
    let list = crate::tender::list_public(conn)?;
    let stages = crate::tender::award_labels(
        conn,
        &list
            .iter()
            .map(|t| (t.id, t.status, t.cancelled_at))
            .collect::<Vec<_>>(),
    )?;
    let tenders_out: Vec<Value> = list
        .iter()
        .map(|t| {
            json!({
                "id": t.id, "title": t.title, "procedure": t.procedure_label(),
                "state": stages.get(&t.id).copied().unwrap_or_else(|| t.state_label(now)),
                "published_at": t.published_at, "bid_deadline": t.bid_deadline,
                "ocid": rules::tender_ocid(&state.config.ocid_prefix, t.id), "package": package_path(t.id),
            })
        })
        .collect();
    let awards: Vec<(TenderId, String, i32, String, String, AwardStatus, NaiveDateTime)> =
        crate::db::schema::awards::table
            .inner_join(tenders::table)
            .inner_join(
                crate::db::schema::tender_lots::table
                    .on(crate::db::schema::tender_lots::id.eq(crate::db::schema::awards::lot_id)),
            )
            .inner_join(organisations::table)
            .filter(tenders::status.ne(TenderStatus::Draft))
            .order(crate::db::schema::awards::id.asc())
            .select((
                tenders::id,
                tenders::title,
                crate::db::schema::tender_lots::lot_no,
                crate::db::schema::tender_lots::title,
                organisations::name,
                crate::db::schema::awards::status,
                crate::db::schema::awards::informed_at,
            ))
            .load(conn)?;
    let awards_out: Vec<Value> = awards
        .iter()
        .map(|(tid, title, lot_no, lot_title, vendor, status, at)| {
            json!({
                "tender_id": tid, "tender": title, "lot_no": lot_no, "lot": lot_title, "vendor": vendor,
                "status": if *status == AwardStatus::Concluded { "Vertrag geschlossen" } else { "Zuschlag erteilt, Wartefrist" },
                "informed_at": at, "package": package_path(*tid),
            })
        })
        .collect();
    let contract_rows: Vec<(ContractRow, String, String)> = contracts::table
        .inner_join(tenders::table)
        .inner_join(organisations::table)
        .order(contracts::id.asc())
        .select((ContractRow::as_select(), tenders::title, organisations::name))
        .load(conn)?;
    let contracts_out: Vec<Value> = contract_rows
        .iter()
        .map(|(k, title, vendor)| {
            json!({
                "number": k.number, "tender_id": k.tender_id, "tender": title, "vendor": vendor,
                "term_start": k.term_start, "term_end": k.term_end, "max_value": k.max_value,
                "called_value": k.called_value, "package": package_path(k.tender_id),
            })
        })
        .collect();
    Ok(json!({ "tenders": tenders_out, "awards": awards_out, "contracts": contracts_out }))
}

/// The packages there are, for the API's index.
pub fn index(conn: &mut DbConn, state: &AppState) -> AppResult<Vec<Value>> {
    Ok(crate::tender::list_public(conn)?
        .iter()
        .map(|t| {
            json!({
                "tender_id": t.id,
                "ocid": rules::tender_ocid(&state.config.ocid_prefix, t.id),
                "title": t.title,
                "package": format!("{}{}", state.config.base_url, package_path(t.id)),
            })
        })
        .collect())
}
