//! Who sees which figures: the cooperative everything or one member, a buyer its own member,
//! a vendor none; and the year and member filters as the pages and the API read them.

use crate::auth::CurrentUser;
use crate::db::schema::organisations;
use crate::db::DbConn;
use crate::domain::ids::OrgId;
use crate::domain::policy::Reach;
use crate::domain::roles::OrgType;
use crate::error::{AppError, AppResult};
use diesel::prelude::*;
use serde::Serialize;

/// Whose figures a view shows: the whole cooperative, or one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scope {
    pub member_id: Option<OrgId>,
}

/// Why a vendor gets no figures.
pub fn scope_for_vendor() -> AppError {
    AppError::Forbidden(
        "Die Auswertung der Einsparungen steht der Genossenschaft und ihren Mitgliedern offen, nicht Lieferanten."
            .into(),
    )
}

/// The cooperative may look at everything or at one member; a buyer only ever at its own member,
/// whatever the address asks for; vendors not at all.
pub fn scope_for(conn: &mut DbConn, user: &CurrentUser, requested_member: Option<OrgId>) -> AppResult<Scope> {
    match user.reach() {
        Reach::Vendor(_) => Err(scope_for_vendor()),
        Reach::Member(member) => match requested_member {
            Some(m) if m != member => Err(AppError::Forbidden(
                "Sie sehen nur die Zahlen Ihres eigenen Hauses; die anderer Mitglieder nicht.".into(),
            )),
            _ => Ok(Scope {
                member_id: Some(member),
            }),
        },
        Reach::Everything => {
            if let Some(m) = requested_member {
                let kind: Option<OrgType> = organisations::table
                    .find(m)
                    .select(organisations::org_type)
                    .first(conn)
                    .optional()?;
                if kind != Some(OrgType::Member) {
                    return Err(AppError::BadRequest(format!(
                        "Ein Mitglied mit der Nummer {m} gibt es nicht."
                    )));
                }
            }
            Ok(Scope {
                member_id: requested_member,
            })
        }
    }
}

/// A year given in a filter: four digits within the platform's plausible range.
pub fn parse_year(text: Option<&str>) -> AppResult<Option<i32>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => match t.parse::<i32>() {
            Ok(y) if (2000..=2100).contains(&y) => Ok(Some(y)),
            _ => Err(AppError::BadRequest(format!(
                "„{t}“ ist kein Jahr zwischen 2000 und 2100 (z. B. 2026)."
            ))),
        },
    }
}

/// A member number given in a filter.
pub fn parse_member(text: Option<&str>) -> AppResult<Option<OrgId>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse::<OrgId>()
            .ok()
            .filter(|m| m.get() > 0)
            .map(Some)
            .ok_or_else(|| AppError::BadRequest(format!("„{t}“ ist keine Mitgliedsnummer."))),
    }
}
