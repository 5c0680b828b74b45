//! A demand call and its positions as an officer asks for them, typed at the edge, checked into
//! `CallData` and `PositionData` ready to store.

use crate::db::schema::catalogue_items;
use crate::db::DbConn;
use crate::domain::ids::{CatalogueItemId, OrgId};
use crate::domain::money::Price;
use crate::error::{AppError, AppResult, FieldErrors};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub(super) fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_default().push(message.into());
}

/// A demand call as an officer asks for it, read at the edge (form or API).
#[derive(Debug, Clone, Default)]
pub struct CallCommand {
    pub title: String,
    pub description: String,
    pub term_months: Option<i32>,
    /// Server time (UTC) of the deadline.
    pub deadline: Option<NaiveDateTime>,
    pub all_members: bool,
    pub member_ids: Vec<OrgId>,
}

pub const CALL_DEADLINE_MISSING: &str = "Bitte geben Sie die Frist als Datum (TT.MM.JJJJ) und Uhrzeit (HH:MM) an.";

#[derive(Debug, Clone)]
pub struct CallData {
    pub title: String,
    pub description: String,
    pub term_months: i32,
    pub deadline: NaiveDateTime,
    pub all_members: bool,
    pub member_ids: Vec<OrgId>,
}

impl CallCommand {
    pub fn validate(&self, now: NaiveDateTime) -> AppResult<CallData> {
        let mut errors = FieldErrors::new();
        let title = self.title.trim().to_string();
        if !(3..=200).contains(&title.chars().count()) {
            push(
                &mut errors,
                "title",
                "Bitte geben Sie einen Titel an (3 bis 200 Zeichen).",
            );
        }
        let term_months = match self.term_months {
            Some(m) if (1..=crate::domain::tender::MAX_TERM_MONTHS).contains(&m) => m,
            _ => {
                push(
                    &mut errors,
                    "term_months",
                    format!(
                        "Bitte geben Sie die geplante Laufzeit in Monaten an (1 bis {}).",
                        crate::domain::tender::MAX_TERM_MONTHS
                    ),
                );
                0
            }
        };
        let deadline = match self.deadline {
            Some(d) if d > now => d,
            Some(_) => {
                push(&mut errors, "deadline_date", "Die Frist muss in der Zukunft liegen.");
                now
            }
            None => {
                push(&mut errors, "deadline_date", CALL_DEADLINE_MISSING);
                now
            }
        };
        if !self.all_members && self.member_ids.is_empty() {
            push(
                &mut errors,
                "member_ids",
                "Bitte laden Sie alle Mitglieder ein oder wählen Sie mindestens eines aus.",
            );
        }
        if !errors.is_empty() {
            return Err(AppError::fields(errors));
        }
        let mut member_ids = self.member_ids.clone();
        member_ids.sort_unstable();
        member_ids.dedup();
        Ok(CallData {
            title,
            description: self.description.trim().to_string(),
            term_months,
            deadline,
            all_members: self.all_members,
            member_ids,
        })
    }
}

/// A position to add: from the catalogue, or new with its own description, unit and CPV code.
#[derive(Debug, Clone, Default)]
pub struct PositionCommand {
    pub catalogue_item_id: Option<CatalogueItemId>,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub estimate_price: Option<Price>,
}

#[derive(Debug, Clone)]
pub struct PositionData {
    pub catalogue_item_id: Option<CatalogueItemId>,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub estimate_price: Option<Price>,
}

impl PositionCommand {
    pub fn validate(&self, conn: &mut DbConn) -> AppResult<PositionData> {
        let estimate_price = self.estimate_price;
        if let Some(item_id) = self.catalogue_item_id {
            let item: Option<(String, String, String)> = catalogue_items::table
                .find(item_id)
                .filter(catalogue_items::active.eq(true))
                .select((
                    catalogue_items::description,
                    catalogue_items::unit,
                    catalogue_items::cpv_code,
                ))
                .first(conn)
                .optional()?;
            let (description, unit, cpv_code) = item
                .ok_or_else(|| AppError::field("catalogue_item_id", "Diese Katalogposition gibt es nicht (mehr)."))?;
            return Ok(PositionData {
                catalogue_item_id: Some(item_id),
                description,
                unit,
                cpv_code,
                estimate_price,
            });
        }
        let (description, unit, cpv_code) =
            crate::orgs::validate_catalogue_item(&self.description, &self.unit, &self.cpv_code)?;
        Ok(PositionData {
            catalogue_item_id: None,
            description,
            unit,
            cpv_code,
            estimate_price,
        })
    }
}
