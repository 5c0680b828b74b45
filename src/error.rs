//! The one error type of buendel: a German message saying what to fix, its HTTP status and stable
//! code; the web edge (`web::respond`) shows it as a page or as JSON, the log keeps internal detail.

use rocket::http::Status;
use std::collections::BTreeMap;

/// Field name → German messages, for error summaries and API `fields`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Bitte melden Sie sich an.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("Die angeforderte Seite oder das Objekt wurde nicht gefunden.")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Validation { message: String, fields: FieldErrors },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("Interner Fehler")]
    Internal(String),
    /// A database failure that is neither "not found" nor a lost race; the cause stays attached
    /// for the log.
    #[error("Interner Fehler")]
    Database(#[source] diesel::result::Error),
}

impl AppError {
    pub fn forbidden() -> Self {
        AppError::Forbidden("Sie haben für diese Aktion keine Berechtigung.".into())
    }

    /// A validation error with one message per field.
    pub fn fields(fields: FieldErrors) -> Self {
        AppError::Validation {
            message: "Bitte korrigieren Sie die markierten Angaben.".into(),
            fields,
        }
    }

    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.entry(name.to_string()).or_default().push(message.into());
        Self::fields(fields)
    }

    pub fn status(&self) -> Status {
        match self {
            AppError::Unauthorized => Status::Unauthorized,
            AppError::Forbidden(_) => Status::Forbidden,
            AppError::NotFound => Status::NotFound,
            AppError::BadRequest(_) => Status::BadRequest,
            AppError::Validation { .. } => Status::UnprocessableEntity,
            AppError::Conflict(_) => Status::Conflict,
            AppError::TooManyRequests(_) => Status::TooManyRequests,
            AppError::PayloadTooLarge(_) => Status::PayloadTooLarge,
            AppError::UnsupportedMediaType(_) => Status::UnsupportedMediaType,
            AppError::Internal(_) | AppError::Database(_) => Status::InternalServerError,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::BadRequest(_) => "bad_request",
            AppError::Validation { .. } => "validation_failed",
            AppError::Conflict(_) => "conflict",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Internal(_) | AppError::Database(_) => "internal",
        }
    }

    /// The stable code of an error answered by status alone (catchers, guards).
    pub fn code_of_status(status: Status) -> &'static str {
        match status.code {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            406 => "not_acceptable",
            409 => "conflict",
            413 => "payload_too_large",
            415 => "unsupported_media_type",
            422 => "validation_failed",
            429 => "too_many_requests",
            _ => "internal",
        }
    }

    /// What the user reads; internal details never leave the log.
    pub fn user_message(&self) -> String {
        match self {
            AppError::Internal(_) | AppError::Database(_) => {
                "Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später erneut.".into()
            }
            other => other.to_string(),
        }
    }

    /// Full detail for the operator (CLI, start-up), including internal causes.
    pub fn user_detail(&self) -> String {
        match self {
            AppError::Internal(detail) => detail.clone(),
            AppError::Database(cause) => format!("database: {cause}"),
            other => other.to_string(),
        }
    }

    pub fn field_errors(&self) -> FieldErrors {
        match self {
            AppError::Validation { fields, .. } => fields.clone(),
            _ => FieldErrors::new(),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound,
            // A parallel request got there first (e.g. two tenders for one call): a conflict the
            // user can resolve by reloading, not an internal error.
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                AppError::Conflict(
                    "Jemand anderes hat das gerade gleichzeitig angelegt oder geändert. Bitte laden Sie die Seite neu."
                        .into(),
                )
            }
            other => AppError::Database(other),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Joins what the edge could not read with what the service then refused, so that the user
/// sees every problem at once; a message both found is shown once. The service must only have
/// checked (read), never written, when the edge found something.
pub fn joined<T>(edge: FieldErrors, result: AppResult<T>) -> AppResult<T> {
    if edge.is_empty() {
        return result;
    }
    let mut fields = edge;
    match result {
        Ok(_) => {}
        Err(AppError::Validation { fields: more, .. }) => merge_fields(&mut fields, more),
        Err(other) => return Err(other),
    }
    Err(AppError::fields(fields))
}

/// Adds `more` to `fields`, each message once per field.
pub fn merge_fields(fields: &mut FieldErrors, more: FieldErrors) {
    for (field, messages) in more {
        let known = fields.entry(field).or_default();
        for m in messages {
            if !known.contains(&m) {
                known.push(m);
            }
        }
    }
}
