//! The reference price of a call-off line: the ordering member's own price from the demand call,
//! else the position's estimate, else the median of the valid bids, and the line's saving.

use crate::db::schema::{bid_lots, bid_prices, bids, demand_lines, tender_positions};
use crate::db::DbConn;
use crate::domain::bid::BidStatus;
use crate::domain::calloff::PricedLine;
use crate::domain::ids::{DemandPositionId, LotId, OrgId, TenderPositionId};
use crate::domain::money::{Amount, Price};
use crate::domain::savings::{self as rules, ReferenceCandidates, ReferenceSource};
use crate::error::{AppError, AppResult};
use diesel::prelude::*;
use std::collections::HashMap;

/// What a call-off line is stored with: its reference, where it came from, and the saving.
/// All `None` when no reference exists (no own price, no estimate, no valid bid).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineReference {
    pub price: Option<Price>,
    pub source: Option<ReferenceSource>,
    pub saving: Option<Amount>,
}

impl LineReference {
    pub fn source_code(&self) -> Option<&'static str> {
        self.source.map(ReferenceSource::code)
    }
}

/// The reference candidates of each of `members` for contract positions of a lot, by member and
/// position: its own price from the demand call, the position's estimate, the median of the valid
/// bids (current, not excluded on the lot) — three queries, whatever the number of members and
/// positions. Final once the contract is concluded, so the contract's cached terms hold them.
pub fn candidates(
    conn: &mut DbConn,
    lot_id: LotId,
    members: &[OrgId],
    position_ids: &[TenderPositionId],
) -> AppResult<HashMap<OrgId, HashMap<TenderPositionId, ReferenceCandidates>>> {
    let positions: Vec<(TenderPositionId, Option<DemandPositionId>, Option<Price>)> = tender_positions::table
        .filter(tender_positions::id.eq_any(position_ids))
        .select((
            tender_positions::id,
            tender_positions::demand_position_id,
            tender_positions::estimate_price,
        ))
        .load(conn)?;
    let demand_ids: Vec<DemandPositionId> = positions.iter().filter_map(|p| p.1).collect();
    let own: HashMap<(OrgId, DemandPositionId), Price> = demand_lines::table
        .filter(demand_lines::member_id.eq_any(members))
        .filter(demand_lines::position_id.eq_any(&demand_ids))
        .select((
            demand_lines::member_id,
            demand_lines::position_id,
            demand_lines::reference_price,
        ))
        .load::<(OrgId, DemandPositionId, Option<Price>)>(conn)?
        .into_iter()
        .filter_map(|(m, id, p)| p.map(|p| ((m, id), p)))
        .collect();
    let valid_on_lot = bid_lots::table
        .filter(bid_lots::lot_id.eq(lot_id))
        .filter(bid_lots::excluded_kind.is_null())
        .select(bid_lots::bid_id);
    let current = bids::table
        .filter(bids::status.eq(BidStatus::Submitted))
        .select(bids::id);
    let mut offered: HashMap<TenderPositionId, Vec<Price>> = HashMap::new();
    for (position_id, price) in bid_prices::table
        .filter(bid_prices::position_id.eq_any(position_ids))
        .filter(bid_prices::bid_id.eq_any(valid_on_lot))
        .filter(bid_prices::bid_id.eq_any(current))
        .select((bid_prices::position_id, bid_prices::unit_price))
        .load::<(TenderPositionId, Price)>(conn)?
    {
        offered.entry(position_id).or_default().push(price);
    }
    let medians: HashMap<TenderPositionId, Price> = offered
        .iter()
        .filter_map(|(id, prices)| rules::median(prices).map(|m| (*id, m)))
        .collect();
    Ok(members
        .iter()
        .map(|&m| {
            let of_member = positions
                .iter()
                .map(|&(id, demand_id, estimate)| {
                    let c = ReferenceCandidates {
                        member: demand_id.and_then(|d| own.get(&(m, d)).copied()),
                        estimate,
                        median: medians.get(&id).copied(),
                    };
                    (id, c)
                })
                .collect();
            (m, of_member)
        })
        .collect())
}

/// The reference and saving of each priced call-off line, keyed by position, from the ordering
/// member's candidates; `calloff::place` stores them with the lines.
pub fn line_references(
    candidates: Option<&HashMap<TenderPositionId, ReferenceCandidates>>,
    lines: &[PricedLine],
) -> AppResult<HashMap<TenderPositionId, LineReference>> {
    let mut out = HashMap::with_capacity(lines.len());
    for l in lines {
        let chosen = candidates
            .and_then(|c| c.get(&l.position_id))
            .and_then(ReferenceCandidates::choose);
        let r = match chosen {
            Some((price, source)) => LineReference {
                price: Some(price),
                source: Some(source),
                saving: Some(
                    rules::line_saving(price, l.unit_price, l.quantity)
                        .map_err(|e| AppError::Internal(format!("saving of position {}: {e}", l.position_id)))?,
                ),
            },
            None => LineReference::default(),
        };
        out.insert(l.position_id, r);
    }
    Ok(out)
}
