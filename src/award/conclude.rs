//! Concluding an award after its standstill into a framework contract: winning prices, term,
//! maxima, entitled members, the contract document with SHA-256 and the award letter.

use super::{find_lot, local_today, require_open_for_decisions, vendor_users, Award};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{
    awards, bid_prices, contract_members, contract_positions, contracts, organisations, tender_members,
};
use crate::db::{write_tx, DbConn};
use crate::domain::bid::AwardStatus;
use crate::domain::ids::{AwardId, ContractId, LotId, OrgId, TenderId, TenderPositionId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::tender::{self, TenderPosition};
use crate::{mail, AppState};
use chrono::Months;
use diesel::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The framework contract number: one sequence for the cooperative.
fn contract_number(year: i32, id: ContractId) -> String {
    format!("RV-{year}-{id:04}")
}

#[derive(Insertable)]
#[diesel(table_name = contracts)]
struct NewContract<'a> {
    number: String,
    tender_id: TenderId,
    lot_id: LotId,
    award_id: AwardId,
    vendor_id: OrgId,
    term_start: chrono::NaiveDate,
    term_end: chrono::NaiveDate,
    max_value: Amount,
    document: &'a str,
    document_sha256: &'a str,
    created_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = contract_positions)]
struct NewContractPosition {
    contract_id: ContractId,
    position_id: TenderPositionId,
    unit_price: Price,
    max_quantity: Quantity,
}

/// An entitled member of a contract; quota and called value start empty.
#[derive(Insertable)]
#[diesel(table_name = contract_members)]
struct NewContractMember {
    contract_id: ContractId,
    member_id: OrgId,
}

/// Concludes an award after its standstill: creates the framework contract (winning prices,
/// term, maximum quantities and value, frozen entitled members), renders and stores its
/// document with SHA-256, and mails the winner the award letter. Returns the contract id.
pub fn conclude(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    award_id: AwardId,
) -> AppResult<ContractId> {
    user.require(&[Role::Officer])?;
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        require_open_for_decisions(&t)?;
        let a: Award = awards::table
            .find(award_id)
            .filter(awards::tender_id.eq(tender_id))
            .select(Award::as_select())
            .first(c)?;
        if a.status == AwardStatus::Concluded {
            return Err(AppError::Conflict(
                "Der Zuschlag ist bereits erteilt und der Vertrag geschlossen.".into(),
            ));
        }
        // § 169 (1) GWB: no Zuschlag while a review application bars it.
        crate::review::require_no_bar(c, state, tender_id, a.lot_id)?;
        let today = local_today(state);
        // § 134 GWB: every bidder informed, and the latest of their standstills over.
        let standstill = super::standstill::of(c, &state.config.calendar(), &a)?;
        let Some(first) = standstill.conclusion_possible_from else {
            return Err(AppError::Conflict(format!(
                "Der Vertrag kann noch nicht geschlossen werden, weil die Wartefrist nach § 134 GWB nicht für alle Bieter läuft: {}",
                standstill.blockers.join(" ")
            )));
        };
        if today < first {
            return Err(AppError::Conflict(format!(
                "Die Wartefrist nach § 134 GWB läuft bis einschließlich {}; der Vertrag kann frühestens am {} geschlossen werden.",
                (first - chrono::Duration::days(1)).format("%d.%m.%Y"),
                first.format("%d.%m.%Y")
            )));
        }
        let lot = find_lot(c, tender_id, a.lot_id)?;
        if lot.cancelled_at.is_some() {
            return Err(AppError::Conflict("Das Los ist aufgehoben.".into()));
        }
        let positions: Vec<TenderPosition> = tender::positions(c, tender_id)?
            .into_iter()
            .filter(|p| p.lot_id == a.lot_id)
            .collect();
        let prices: HashMap<TenderPositionId, Price> = bid_prices::table
            .filter(bid_prices::bid_id.eq(a.bid_id))
            .select((bid_prices::position_id, bid_prices::unit_price))
            .load::<(TenderPositionId, Price)>(c)?
            .into_iter()
            .collect();
        let mut max_value = Amount::ZERO;
        let mut lines = Vec::new();
        for p in &positions {
            let price = *prices
                .get(&p.id)
                .ok_or_else(|| AppError::Internal(format!("bid {} lacks position {}", a.bid_id, p.id)))?;
            let value = Amount::line_total(p.max_quantity, price).map_err(|e| AppError::Internal(e.to_string()))?;
            max_value = max_value
                .checked_add(value)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            lines.push((p, price, value));
        }
        let term_end = today
            .checked_add_months(Months::new(t.term_months as u32))
            .map(|d| d - chrono::Duration::days(1))
            .ok_or_else(|| AppError::Internal("term end".into()))?;
        let members: Vec<(OrgId, String)> = tender_members::table
            .inner_join(organisations::table)
            .filter(tender_members::tender_id.eq(tender_id))
            .order(organisations::name.asc())
            .select((organisations::id, organisations::name))
            .load(c)?;
        let vendor: (String, String, String, String, Option<String>) = organisations::table
            .find(a.vendor_id)
            .select((
                organisations::name,
                organisations::street,
                organisations::postal_code,
                organisations::city,
                organisations::vat_id,
            ))
            .first(c)?;
        let cooperative: (String, String, String, String) = organisations::table
            .filter(organisations::org_type.eq(crate::domain::roles::OrgType::Cooperative.code()))
            .select((
                organisations::name,
                organisations::street,
                organisations::postal_code,
                organisations::city,
            ))
            .first(c)?;
        // The id is needed for the number; insert first, then render and store the document.
        let contract_id: ContractId = diesel::insert_into(contracts::table)
            .values(NewContract {
                // The number needs the id; the document follows once the number is known.
                number: format!("pending-{award_id}"),
                tender_id,
                lot_id: a.lot_id,
                award_id,
                vendor_id: a.vendor_id,
                term_start: today,
                term_end,
                max_value,
                document: "",
                document_sha256: "",
                created_at: state.clock.now_naive(),
            })
            .returning(contracts::id)
            .get_result(c)?;
        let number = contract_number(chrono::Datelike::year(&today), contract_id);
        let ctx = json!({
            "number": number,
            "tender": t.view(state.clock.now_naive()),
            "lot": lot,
            "vendor": { "name": vendor.0, "street": vendor.1, "postal_code": vendor.2, "city": vendor.3, "vat_id": vendor.4 },
            "cooperative": { "name": cooperative.0, "street": cooperative.1, "postal_code": cooperative.2, "city": cooperative.3 },
            "term_start": today,
            "term_end": term_end,
            "max_value": max_value,
            "positions": lines.iter().map(|(p, price, value)| json!({
                "position_no": p.position_no, "description": p.description, "unit": p.unit, "cpv_code": p.cpv_code,
                "estimate_quantity": p.estimate_quantity, "max_quantity": p.max_quantity, "unit_price": price, "max_value": value,
            })).collect::<Vec<_>>(),
            "members": members.iter().map(|(_, n)| n).collect::<Vec<_>>(),
            "award": a,
            "concluded_at": state.clock.now_naive(),
        });
        let document = state.documents.render("framework_contract", &ctx)?;
        let sha = hex::encode(Sha256::digest(document.as_bytes()));
        diesel::update(contracts::table.find(contract_id))
            .set((
                contracts::number.eq(&number),
                contracts::document.eq(&document),
                contracts::document_sha256.eq(&sha),
            ))
            .execute(c)?;
        for (p, price, _) in &lines {
            diesel::insert_into(contract_positions::table)
                .values(NewContractPosition {
                    contract_id,
                    position_id: p.id,
                    unit_price: *price,
                    max_quantity: p.max_quantity,
                })
                .execute(c)?;
        }
        for (m, _) in &members {
            diesel::insert_into(contract_members::table)
                .values(NewContractMember {
                    contract_id,
                    member_id: *m,
                })
                .execute(c)?;
        }
        diesel::update(awards::table.find(award_id))
            .set((
                awards::status.eq(AwardStatus::Concluded),
                awards::concluded_by.eq(Some(user.id)),
                awards::concluded_at.eq(Some(state.clock.now_naive())),
            ))
            .execute(c)?;
        for (email, name) in vendor_users(c, a.vendor_id)? {
            mail::enqueue(
                c,
                state,
                &email,
                "award_letter",
                &json!({ "name": name, "vendor": vendor.0, "title": t.title, "lot_no": lot.lot_no, "lot_title": lot.title,
                         "number": number, "term_start": today, "term_end": term_end, "max_value": max_value, "sha256": sha,
                         "url": format!("{}/vertraege/{}/dokument", state.config.base_url, contract_id) }),
            )?;
        }
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "award.concluded",
                "tender",
                tender_id,
                json!({ "award_id": award_id, "contract_id": contract_id, "number": number, "max_value": max_value,
                        "term_start": today, "term_end": term_end, "document_sha256": sha }),
            ),
        )?;
        Ok(contract_id)
    })
}
