//! Who may see what (DESIGN "People and what they may do"): the reach of each role over the rows
//! of members and vendors, and the role sets of the sealed and aggregated views. Services turn
//! a reach into their query or check; pages, API, exports and the dashboard all ask here.

use super::ids::OrgId;
use super::roles::{OrgType, Role};

/// Whose rows a user reaches when reading. Changing is checked per action on top of this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The cooperative's roles (officer, admin, board): every member's and vendor's rows.
    Everything,
    /// A buyer: its member's rows (demand, call-offs, savings) and the contracts it is
    /// entitled to.
    Member(OrgId),
    /// A vendor: its firm's bids, awards and contracts and the call-offs addressed to it.
    Vendor(OrgId),
}

/// The reach of a user of `role` in the organisation `organisation_id`.
pub fn reach(role: Role, organisation_id: OrgId) -> Reach {
    match role.org_type() {
        OrgType::Cooperative => Reach::Everything,
        OrgType::Member => Reach::Member(organisation_id),
        OrgType::Vendor => Reach::Vendor(organisation_id),
    }
}

impl Reach {
    /// Whether rows of the member `member_id` are in reach.
    pub fn member(self, member_id: OrgId) -> bool {
        match self {
            Reach::Everything => true,
            Reach::Member(m) => m == member_id,
            Reach::Vendor(_) => false,
        }
    }

    /// Whether rows of the vendor firm `vendor_id` are in reach.
    pub fn vendor(self, vendor_id: OrgId) -> bool {
        match self {
            Reach::Everything => true,
            Reach::Vendor(v) => v == vendor_id,
            Reach::Member(_) => false,
        }
    }
}

impl Role {
    /// The cooperative's own roles: they see drafts, every member's figures and how many bids
    /// arrived (never a bid's content before the opening).
    pub fn is_cooperative(self) -> bool {
        self.org_type() == OrgType::Cooperative
    }
}

/// Who reads bids once two officers have opened them (§ 55 VgV): the officers who evaluate and
/// the board that oversees; never the admin, who runs the platform.
pub const OPENED_BID_READERS: &[Role] = &[Role::Officer, Role::Board];

/// Who reads every vendor's complaints and the review applications of a tender: the
/// cooperative as the contracting authority.
pub const REVIEW_READERS: &[Role] = &[Role::Officer, Role::Admin, Role::Board];

/// Who reads a demand call's aggregation across all members.
pub const AGGREGATION_READERS: &[Role] = &[Role::Officer, Role::Admin, Role::Board];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cooperative_reaches_everything_and_members_and_vendors_their_own() {
        for role in [Role::Admin, Role::Officer, Role::Board] {
            assert_eq!(reach(role, OrgId(1)), Reach::Everything);
            assert!(role.is_cooperative());
        }
        assert_eq!(reach(Role::Buyer, OrgId(7)), Reach::Member(OrgId(7)));
        assert_eq!(reach(Role::Vendor, OrgId(9)), Reach::Vendor(OrgId(9)));
        assert!(!Role::Buyer.is_cooperative() && !Role::Vendor.is_cooperative());
    }

    #[test]
    fn a_buyer_reaches_its_member_only_and_no_vendor() {
        let r = reach(Role::Buyer, OrgId(7));
        assert!(r.member(OrgId(7)));
        assert!(!r.member(OrgId(8)));
        assert!(!r.vendor(OrgId(7)));
    }

    #[test]
    fn a_vendor_reaches_its_firm_only_and_no_member() {
        let r = reach(Role::Vendor, OrgId(9));
        assert!(r.vendor(OrgId(9)));
        assert!(!r.vendor(OrgId(10)));
        assert!(!r.member(OrgId(9)));
        assert!(Reach::Everything.member(OrgId(9)) && Reach::Everything.vendor(OrgId(9)));
    }

    #[test]
    fn no_one_alone_reads_opened_bids_outside_the_evaluation() {
        assert!(!OPENED_BID_READERS.contains(&Role::Admin));
        assert!(!OPENED_BID_READERS.contains(&Role::Vendor));
        assert!(!OPENED_BID_READERS.contains(&Role::Buyer));
    }
}
