//! Roles, organisation kinds and which role belongs to which kind of organisation (DESIGN: people).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Officer,
    Buyer,
    Vendor,
    Board,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgType {
    Cooperative,
    Member,
    Vendor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    Land,
    Kommune,
    Hochschule,
    Sonstige,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VendorStatus {
    Pending,
    Approved,
    Suspended,
}

macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $code:literal, $label:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            pub fn code(self) -> &'static str {
                match self { $($ty::$variant => $code),+ }
            }
            /// German label for pages and mails.
            pub fn label(self) -> &'static str {
                match self { $($ty::$variant => $label),+ }
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($code => Ok($ty::$variant),)+ other => Err(format!("„{other}“ ist kein gültiger Wert")) }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.code()) }
        }
    };
}

text_enum!(Role {
    Admin => "admin", "Administration",
    Officer => "officer", "Vergabestelle",
    Buyer => "buyer", "Einkauf (Mitglied)",
    Vendor => "vendor", "Lieferant",
    Board => "board", "Vorstand",
});
text_enum!(OrgType {
    Cooperative => "cooperative", "Genossenschaft",
    Member => "member", "Mitglied",
    Vendor => "vendor", "Lieferant",
});
text_enum!(MemberKind {
    Land => "land", "Land",
    Kommune => "kommune", "Kommune",
    Hochschule => "hochschule", "Hochschule",
    Sonstige => "sonstige", "sonstige",
});
text_enum!(VendorStatus {
    Pending => "pending", "wartet auf Freigabe",
    Approved => "approved", "freigegeben",
    Suspended => "suspended", "gesperrt",
});

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
