//! Master data: member bodies with their buyers, vendors with a sales account each, and the
//! catalogue; the demo's own rows are read back and join the generated ones.

use super::audit_trail::Trail;
use super::bulk::insert_all;
use super::{take, vocab, NextIds, Plan, Rng};
use crate::db::schema::{catalogue_items, organisations, users};
use crate::db::DbConn;
use crate::domain::ids::{CatalogueItemId, OrgId, UserId};
use crate::domain::roles::{OrgType, Role, VendorStatus};
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

pub struct Member {
    pub id: OrgId,
    pub address: String,
    pub leitweg_id: Option<String>,
    /// (user id, e-mail) of the member's buyers.
    pub buyers: Vec<(UserId, String)>,
}

pub struct Vendor {
    pub id: OrgId,
    pub user: (UserId, String),
}

pub struct Item {
    pub id: CatalogueItemId,
    pub description: String,
    pub unit: String,
    pub cpv: String,
    /// A typical unit price in euro cents.
    pub cents: i64,
}

/// Everyone and everything the tenders and call-offs refer to.
pub struct People {
    pub members: Vec<Member>,
    pub vendors: Vec<Vendor>,
    pub catalogue: Vec<Item>,
    /// (user id, e-mail) of the cooperative's procurement officers.
    pub officers: Vec<(UserId, String)>,
}

const FIRST_NAMES: &[&str] = &[
    "Anna",
    "Jonas",
    "Lena",
    "Felix",
    "Sarah",
    "Tobias",
    "Miriam",
    "Stefan",
    "Katrin",
    "Daniel",
    "Sophie",
    "Jan",
    "Birgit",
    "Matthias",
    "Eva",
    "Christian",
];
const LAST_NAMES: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
];

fn person(rng: &mut Rng) -> String {
    format!(
        "{} {}",
        FIRST_NAMES[rng.below(FIRST_NAMES.len())],
        LAST_NAMES[rng.below(LAST_NAMES.len())]
    )
}

/// Reads the demo rows, generates the rest up to the plan and writes organisations, users and
/// catalogue items with their audit events.
pub fn generate(
    c: &mut DbConn,
    rng: &mut Rng,
    plan: &Plan,
    ids: &mut NextIds,
    trail: &mut Trail,
    now: NaiveDateTime,
    password_hash: &str,
) -> AppResult<People> {
    let mut people = read_demo(c, rng)?;
    // The plan counts every organisation; demo members without a buyer do not order, though.
    let count = |c: &mut DbConn, t: OrgType| -> AppResult<usize> {
        let n: i64 = organisations::table
            .filter(organisations::org_type.eq(t))
            .count()
            .get_result(c)?;
        Ok(n as usize)
    };
    let (demo_members, demo_vendors) = (count(c, OrgType::Member)?, count(c, OrgType::Vendor)?);
    let actor = (None, "system: Skalendaten".to_string());

    let mut org_rows = Vec::new();
    let mut user_rows = Vec::new();
    let mut add_user = |org: OrgId, email: String, name: String, role: Role, trail: &mut Trail, ids: &mut NextIds| {
        let id = take(&mut ids.user);
        trail.push(
            &actor,
            "user.created",
            "user",
            id,
            now,
            json!({ "email": email, "name": name, "role": role.code(), "organisation_id": org }),
        );
        user_rows.push((
            users::id.eq(id),
            users::organisation_id.eq(org),
            users::email.eq(email.clone()),
            users::name.eq(name),
            users::role.eq(role),
            users::password_hash.eq(password_hash.to_string()),
            users::active.eq(true),
            users::created_at.eq(now),
            users::password_changed_at.eq(now),
        ));
        (id, email)
    };

    for n in demo_members..plan.members {
        let (name, kind, city, postal) = vocab::member(rng, n);
        let id = take(&mut ids.org);
        let street = format!(
            "{}straße {}",
            ["Rathaus", "Schloss", "Bahnhof", "Markt", "Kirch"][rng.below(5)],
            1 + rng.below(80)
        );
        let leitweg = format!("06{:04}-{:05}-{:02}", rng.below(10_000), n + 1, rng.below(100));
        trail.push(
            &actor,
            "organisation.created",
            "organisation",
            id,
            now,
            json!({ "name": name, "org_type": "member", "city": city }),
        );
        org_rows.push((
            organisations::id.eq(id),
            organisations::org_type.eq(OrgType::Member),
            organisations::name.eq(name.clone()),
            organisations::street.eq(street.clone()),
            organisations::postal_code.eq(postal.to_string()),
            organisations::city.eq(city.to_string()),
            organisations::member_kind.eq(Some(kind)),
            organisations::leitweg_id.eq(Some(leitweg.clone())),
            organisations::vat_id.eq(None::<String>),
            organisations::contact_email.eq(None::<String>),
            organisations::vendor_status.eq(None::<VendorStatus>),
            organisations::active.eq(true),
            organisations::created_at.eq(now),
        ));
        // Larger bodies order through two purchasing offices.
        let buyers = (0..1 + usize::from(rng.below(4) == 0))
            .map(|b| {
                add_user(
                    id,
                    format!("einkauf{}@mitglied{}.example", b + 1, n + 1),
                    person(rng),
                    Role::Buyer,
                    trail,
                    ids,
                )
            })
            .collect();
        people.members.push(Member {
            id,
            address: format!("{name}, {street}, {postal} {city}"),
            leitweg_id: Some(leitweg),
            buyers,
        });
    }

    for n in demo_vendors..plan.vendors {
        let (name, city, postal) = vocab::vendor(rng, n);
        let id = take(&mut ids.org);
        let email = format!("vertrieb@lieferant{}.example", n + 1);
        trail.push(
            &actor,
            "organisation.created",
            "organisation",
            id,
            now,
            json!({ "name": name, "org_type": "vendor", "city": city }),
        );
        org_rows.push((
            organisations::id.eq(id),
            organisations::org_type.eq(OrgType::Vendor),
            organisations::name.eq(name),
            organisations::street.eq(format!("Industriestraße {}", 1 + rng.below(120))),
            organisations::postal_code.eq(postal.to_string()),
            organisations::city.eq(city.to_string()),
            organisations::member_kind.eq(None::<crate::domain::roles::MemberKind>),
            organisations::leitweg_id.eq(None::<String>),
            organisations::vat_id.eq(Some(format!("DE{:09}", rng.below(1_000_000_000)))),
            organisations::contact_email.eq(Some(email.clone())),
            organisations::vendor_status.eq(Some(VendorStatus::Approved)),
            organisations::active.eq(true),
            organisations::created_at.eq(now),
        ));
        let user = add_user(id, email, person(rng), Role::Vendor, trail, ids);
        people.vendors.push(Vendor { id, user });
    }
    insert_all!(c, organisations::table, "organisations", 12, org_rows);
    insert_all!(c, users::table, "users", 9, user_rows);

    let mut item_rows = Vec::new();
    for n in people.catalogue.len()..plan.catalogue {
        let (description, unit, cpv, cents) = vocab::product(rng, n);
        let id = take(&mut ids.catalogue);
        trail.push(
            &actor,
            "catalogue_item.created",
            "catalogue_item",
            id,
            now,
            json!({ "description": description, "unit": unit, "cpv_code": cpv }),
        );
        item_rows.push((
            catalogue_items::id.eq(id),
            catalogue_items::description.eq(description.clone()),
            catalogue_items::unit.eq(unit),
            catalogue_items::cpv_code.eq(cpv),
            catalogue_items::active.eq(true),
            catalogue_items::created_at.eq(now),
        ));
        people.catalogue.push(Item {
            id,
            description,
            unit: unit.to_string(),
            cpv: cpv.to_string(),
            cents,
        });
    }
    insert_all!(c, catalogue_items::table, "catalogue_items", 6, item_rows);
    Ok(people)
}

/// The demo's members with their buyers, its approved vendors with an account, its catalogue
/// (given a typical price) and its officers.
fn read_demo(c: &mut DbConn, rng: &mut Rng) -> AppResult<People> {
    type OrgRow = (OrgId, String, String, String, String, Option<String>);
    let orgs: Vec<OrgRow> = organisations::table
        .filter(organisations::org_type.eq(OrgType::Member))
        .order(organisations::id)
        .select((
            organisations::id,
            organisations::name,
            organisations::street,
            organisations::postal_code,
            organisations::city,
            organisations::leitweg_id,
        ))
        .load(c)?;
    let accounts: Vec<(UserId, OrgId, String, Role)> = users::table
        .order(users::id)
        .select((users::id, users::organisation_id, users::email, users::role))
        .load(c)?;
    let of = |org: OrgId, role: Role| -> Vec<(UserId, String)> {
        accounts
            .iter()
            .filter(|(_, o, _, r)| *o == org && *r == role)
            .map(|(id, _, email, _)| (*id, email.clone()))
            .collect()
    };
    let members = orgs
        .into_iter()
        .map(|(id, name, street, postal, city, leitweg_id)| Member {
            id,
            address: format!("{name}, {street}, {postal} {city}"),
            leitweg_id,
            buyers: of(id, Role::Buyer),
        })
        .filter(|m| !m.buyers.is_empty())
        .collect();
    let vendor_ids: Vec<OrgId> = organisations::table
        .filter(organisations::org_type.eq(OrgType::Vendor))
        .filter(organisations::vendor_status.eq(VendorStatus::Approved))
        .order(organisations::id)
        .select(organisations::id)
        .load(c)?;
    let vendors = vendor_ids
        .into_iter()
        .filter_map(|id| of(id, Role::Vendor).into_iter().next().map(|user| Vendor { id, user }))
        .collect();
    let items: Vec<(CatalogueItemId, String, String, String)> = catalogue_items::table
        .order(catalogue_items::id)
        .select((
            catalogue_items::id,
            catalogue_items::description,
            catalogue_items::unit,
            catalogue_items::cpv_code,
        ))
        .load(c)?;
    let catalogue = items
        .into_iter()
        .map(|(id, description, unit, cpv)| Item {
            id,
            description,
            unit,
            cpv,
            cents: rng.between(2_000, 150_000),
        })
        .collect();
    let officers = accounts
        .iter()
        .filter(|(_, _, _, r)| *r == Role::Officer)
        .map(|(id, _, email, _)| (*id, email.clone()))
        .collect();
    Ok(People {
        members,
        vendors,
        catalogue,
        officers,
    })
}
