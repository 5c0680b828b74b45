//! Organisations (the cooperative, members, vendors), user accounts and the catalogue: models,
//! validation and the services that change them, each with its audit event in one transaction.

mod accounts;
mod catalogue;
mod organisation;
mod registration;
pub mod routes;

pub(crate) use accounts::user_details;
pub use accounts::{
    create_user, email_taken, find_user, insert_user, set_user_active, update_user, UserData, UserInput,
};
pub use catalogue::{
    catalogue_choices, catalogue_page, create_catalogue_item, list_catalogue, validate_catalogue_item,
    CATALOGUE_CHOICES,
};
pub(crate) use organisation::org_details;
pub use organisation::{
    cooperative, create_org, find_org, insert_org, list_orgs, set_org_active, set_vendor_status, update_org, OrgData,
    OrgInput,
};
pub use registration::{register_vendor, validate_registration, Registration, RegistrationInput};

use crate::db::schema::{catalogue_items, organisations, users};
use crate::domain::ids::{CatalogueItemId, OrgId, UserId};
use crate::domain::roles::{MemberKind, OrgType, Role, VendorStatus};
use crate::error::{AppError, AppResult, FieldErrors};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    #[schema(value_type = i64)]
    pub id: OrgId,
    pub org_type: OrgType,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub member_kind: Option<MemberKind>,
    pub leitweg_id: Option<String>,
    pub vat_id: Option<String>,
    pub contact_email: Option<String>,
    pub vendor_status: Option<VendorStatus>,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = users)]
pub struct User {
    #[schema(value_type = i64)]
    pub id: UserId,
    #[schema(value_type = i64)]
    pub organisation_id: OrgId,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[serde(skip)]
    pub password_hash: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub password_changed_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = catalogue_items)]
pub struct CatalogueItem {
    pub id: CatalogueItemId,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_default().push(message.into());
}

fn errors_or<T>(errors: FieldErrors, value: T) -> AppResult<T> {
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(AppError::fields(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member_input() -> OrgInput {
        OrgInput {
            name: "Stadt Kassel".into(),
            street: "Obere Königsstraße 8".into(),
            postal_code: "34117".into(),
            city: "Kassel".into(),
            member_kind: "kommune".into(),
            leitweg_id: "991-33333TEST-33".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_member_passes() {
        let data = member_input().validate(OrgType::Member).unwrap();
        assert_eq!(data.member_kind, Some(MemberKind::Kommune));
        assert_eq!(data.leitweg_id.as_deref(), Some("991-33333TEST-33"));
    }

    #[test]
    fn member_errors_name_each_field() {
        let input = OrgInput {
            postal_code: "3411".into(),
            member_kind: "verein".into(),
            leitweg_id: "123".into(),
            ..member_input()
        };
        let errors = input.validate(OrgType::Member).unwrap_err().field_errors();
        assert!(errors.contains_key("postal_code"));
        assert!(errors.contains_key("member_kind"));
        assert!(errors.contains_key("leitweg_id"));
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn vendor_needs_vat_id_and_contact() {
        let input = OrgInput {
            vat_id: "DE136695975".into(),
            contact_email: "x".into(),
            ..member_input()
        };
        let errors = input.validate(OrgType::Vendor).unwrap_err().field_errors();
        assert!(errors["vat_id"][0].contains("Prüfziffer"));
        assert!(errors.contains_key("contact_email"));
    }

    #[test]
    fn catalogue_cpv_format() {
        assert!(validate_catalogue_item("Notebook 14 Zoll", "Stück", "30213100-6").is_ok());
        let errors = validate_catalogue_item("", "", "30213100").unwrap_err().field_errors();
        assert_eq!(errors.len(), 3);
    }
}
