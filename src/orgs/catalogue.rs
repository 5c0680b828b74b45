//! The catalogue of positions (description, unit, CPV code with check digit), paginated and
//! searchable for long catalogues.

use super::{errors_or, push, CatalogueItem};
use crate::audit::{self, Actor, Event};
use crate::db::schema::catalogue_items;
use crate::db::{write_tx, DbConn};
use crate::domain::ids::CatalogueItemId;
use crate::error::{AppResult, FieldErrors};
use crate::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

/// A catalogue position: description, unit and CPV code (`NNNNNNNN-N`).
pub fn validate_catalogue_item(description: &str, unit: &str, cpv: &str) -> AppResult<(String, String, String)> {
    let mut errors = FieldErrors::new();
    let description = description.trim().to_string();
    if description.chars().count() < 3 || description.chars().count() > 500 {
        push(
            &mut errors,
            "description",
            "Bitte beschreiben Sie die Position (3 bis 500 Zeichen).",
        );
    }
    let unit = unit.trim().to_string();
    if unit.is_empty() || unit.chars().count() > 40 {
        push(
            &mut errors,
            "unit",
            "Bitte geben Sie die Einheit an, z. B. Stück oder Personentag.",
        );
    }
    let cpv = match crate::domain::cpv::validate(cpv) {
        Ok(code) => code,
        Err(e) => {
            push(&mut errors, "cpv_code", format!("Der CPV-Code {e}."));
            String::new()
        }
    };
    errors_or(errors, (description, unit, cpv))
}

/// One page of the catalogue in its order (CPV code, then age) and the number of positions
/// (kept by `count`: positions are never deleted).
pub fn catalogue_page(
    conn: &mut DbConn,
    count: &crate::db::count::AppendOnlyCount,
    page: crate::db::page::Page,
) -> AppResult<(Vec<CatalogueItem>, i64)> {
    let items = catalogue_items::table
        .order((catalogue_items::cpv_code.asc(), catalogue_items::id.asc()))
        .limit(page.size)
        .offset(page.offset())
        .select(CatalogueItem::as_select())
        .load(conn)?;
    Ok((items, count.total(conn)?))
}

/// Up to this many active positions fit one select list; a larger catalogue is searched.
pub const CATALOGUE_CHOICES: i64 = 500;

/// The active positions a form offers: the whole catalogue while it fits one select list
/// (`false`), else the first matches of `search` in description or CPV code, none without a
/// search (`true`: the form shows a search field).
pub fn catalogue_choices(conn: &mut DbConn, search: Option<&str>) -> AppResult<(Vec<CatalogueItem>, bool)> {
    let active = || {
        catalogue_items::table
            .filter(catalogue_items::active.eq(true))
            .order((catalogue_items::cpv_code.asc(), catalogue_items::id.asc()))
            .select(CatalogueItem::as_select())
            .into_boxed()
    };
    // Whether there are more than CATALOGUE_CHOICES, asked for one id: loading the first 501
    // positions only to find that, took a quarter of a demand call's page at scale.
    let large = catalogue_items::table
        .filter(catalogue_items::active.eq(true))
        .select(catalogue_items::id)
        .offset(CATALOGUE_CHOICES)
        .limit(1)
        .first::<CatalogueItemId>(conn)
        .optional()?
        .is_some();
    if !large {
        return Ok((active().load(conn)?, false));
    }
    let Some(term) = search.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok((Vec::new(), true));
    };
    // LIKE wildcards typed by the user are taken literally.
    let escaped: String = term
        .chars()
        .flat_map(|ch| match ch {
            '%' | '_' | '\\' => vec!['\\', ch],
            _ => vec![ch],
        })
        .collect();
    let pattern = format!("%{escaped}%");
    let found = active()
        .filter(
            catalogue_items::description
                .like(pattern.clone())
                .escape('\\')
                .or(catalogue_items::cpv_code.like(pattern).escape('\\')),
        )
        .limit(100)
        .load(conn)?;
    Ok((found, true))
}

pub fn list_catalogue(conn: &mut DbConn) -> AppResult<Vec<CatalogueItem>> {
    Ok(catalogue_items::table
        .order((catalogue_items::cpv_code.asc(), catalogue_items::id.asc()))
        .select(CatalogueItem::as_select())
        .load(conn)?)
}

/// A catalogue position as stored, active from the start.
#[derive(Insertable)]
#[diesel(table_name = catalogue_items)]
struct NewCatalogueItem<'a> {
    description: &'a str,
    unit: &'a str,
    cpv_code: &'a str,
    active: bool,
    created_at: NaiveDateTime,
}

pub fn create_catalogue_item(
    conn: &mut DbConn,
    state: &AppState,
    actor: &Actor,
    (description, unit, cpv): &(String, String, String),
) -> AppResult<CatalogueItemId> {
    write_tx(conn, |conn| {
        let id: CatalogueItemId = diesel::insert_into(catalogue_items::table)
            .values(NewCatalogueItem {
                description,
                unit,
                cpv_code: cpv,
                active: true,
                created_at: state.clock.now_naive(),
            })
            .returning(catalogue_items::id)
            .get_result(conn)?;
        audit::record(
            conn,
            &state.clock,
            actor,
            Event::new(
                "catalogue_item.created",
                "catalogue_item",
                id,
                json!({ "description": description, "unit": unit, "cpv_code": cpv }),
            ),
        )?;
        Ok(id)
    })
}
