//! What never changes on a concluded contract (terms, priced positions, entitled members), read
//! once and kept per process on the fast path.

use super::positions;
use crate::db::schema::{contract_members, contracts};
use crate::db::DbConn;
use crate::domain::ids::{ContractId, LotId, OrgId, TenderId, TenderPositionId};
use crate::domain::money::Price;
use crate::error::AppResult;
use chrono::NaiveDate;
use diesel::prelude::*;

/// What never changes on a concluded contract: its terms, priced positions and entitled
/// members (frozen at publication). Running totals, quotas and alert markers are not in here.
#[derive(Debug, Clone)]
pub struct ContractTerms {
    pub number: String,
    pub tender_id: TenderId,
    pub lot_id: LotId,
    pub vendor_id: OrgId,
    pub term_start: NaiveDate,
    pub term_end: NaiveDate,
    pub positions: Vec<TermsPosition>,
    pub members: Vec<OrgId>,
    /// Reference price candidates by member and position (issue #7): demand, estimates and
    /// bids are final once the contract is concluded.
    pub references: std::collections::HashMap<
        OrgId,
        std::collections::HashMap<TenderPositionId, crate::domain::savings::ReferenceCandidates>,
    >,
}

#[derive(Debug, Clone)]
pub struct TermsPosition {
    pub position_id: TenderPositionId,
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
    terms: std::sync::RwLock<std::collections::HashMap<ContractId, std::sync::Arc<ContractTerms>>>,
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

    pub fn get(&self, conn: &mut DbConn, contract_id: ContractId) -> AppResult<std::sync::Arc<ContractTerms>> {
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

pub(super) fn load_terms(conn: &mut DbConn, contract_id: ContractId) -> AppResult<ContractTerms> {
    let (number, tender_id, lot_id, vendor_id, term_start, term_end): (
        String,
        TenderId,
        LotId,
        OrgId,
        NaiveDate,
        NaiveDate,
    ) = contracts::table
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
        .load::<OrgId>(conn)?;
    let ids: Vec<TenderPositionId> = positions.iter().map(|p: &TermsPosition| p.position_id).collect();
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
