//! Roles, organisation kinds and which role belongs to which kind of organisation (DESIGN: people).

crate::coded_enum!(
    /// What a user may do (DESIGN: people); one role per user.
    Role {
        Admin => "admin", "Administration",
        Officer => "officer", "Vergabestelle",
        Buyer => "buyer", "Einkauf (Mitglied)",
        Vendor => "vendor", "Lieferant",
        Board => "board", "Vorstand",
    }
);
crate::coded_enum!(
    /// The kind of organisation.
    OrgType {
        Cooperative => "cooperative", "Genossenschaft",
        Member => "member", "Mitglied",
        Vendor => "vendor", "Lieferant",
    }
);
crate::coded_enum!(
    /// The kind of public body a member is.
    MemberKind {
        Land => "land", "Land",
        Kommune => "kommune", "Kommune",
        Hochschule => "hochschule", "Hochschule",
        Sonstige => "sonstige", "sonstige",
    }
);
crate::coded_enum!(
    /// Whether a vendor firm may bid and ask.
    VendorStatus {
        Pending => "pending", "wartet auf Freigabe",
        Approved => "approved", "freigegeben",
        Suspended => "suspended", "gesperrt",
    }
);

impl Role {
    /// The kind of organisation a user of this role must belong to.
    pub fn org_type(self) -> OrgType {
        match self {
            Role::Admin | Role::Officer | Role::Board => OrgType::Cooperative,
            Role::Buyer => OrgType::Member,
            Role::Vendor => OrgType::Vendor,
        }
    }

    /// Whether a user of this role may belong to an organisation of `org`.
    pub fn fits(self, org: OrgType) -> bool {
        self.org_type() == org
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooperative_roles_belong_to_the_cooperative() {
        for role in [Role::Admin, Role::Officer, Role::Board] {
            assert!(role.fits(OrgType::Cooperative));
            assert!(!role.fits(OrgType::Member));
            assert!(!role.fits(OrgType::Vendor));
        }
    }

    #[test]
    fn buyer_belongs_to_member_and_vendor_to_vendor() {
        assert!(Role::Buyer.fits(OrgType::Member));
        assert!(!Role::Buyer.fits(OrgType::Vendor));
        assert!(Role::Vendor.fits(OrgType::Vendor));
        assert!(!Role::Vendor.fits(OrgType::Cooperative));
    }

    #[test]
    fn codes_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.code().parse::<Role>().unwrap(), *role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
