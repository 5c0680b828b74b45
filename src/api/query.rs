//! Query parameters of the API as the document describes them: one value per name, never empty.
//! Rocket would quietly take a repeated or empty scalar as absent and answer every row.

use crate::error::AppError;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use std::collections::HashSet;

/// A request guard that refuses a query naming a parameter twice (400); list parameters such
/// as the price sheet's `a` and `b` are read without it.
pub struct SingleValues;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SingleValues {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        let mut seen = HashSet::new();
        for field in req.uri().query().into_iter().flat_map(|q| q.segments()) {
            if !seen.insert(field.0) {
                let error = AppError::BadRequest(format!(
                    "Der Parameter „{}“ ist mehrfach angegeben; erlaubt ist ein Wert.",
                    field.0
                ));
                crate::web::note_app_error(req, &error);
                return Outcome::Error((Status::BadRequest, error));
            }
        }
        Outcome::Success(SingleValues)
    }
}

/// The value of an optional query parameter; given but empty is a 400, since an empty value
/// is no value of the type the document names.
pub fn given<'a>(name: &str, value: Option<&'a str>) -> Result<Option<&'a str>, AppError> {
    match value {
        Some(v) if v.trim().is_empty() => Err(AppError::BadRequest(format!(
            "Der Parameter „{name}“ ist leer; lassen Sie ihn weg oder geben Sie einen Wert an."
        ))),
        other => Ok(other),
    }
}
