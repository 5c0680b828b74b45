//! How an `AppError` reaches the user: JSON with a stable code for API clients, a German error
//! page (or the login redirect) for browsers; internal detail goes to the log only.

use crate::error::{AppError, FieldErrors};
use rocket::http::{ContentType, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde::Serialize;
use std::io::Cursor;

/// The JSON error body of the API.
#[derive(Serialize)]
pub struct ApiErrorBody {
    pub code: &'static str,
    pub message: String,
    pub fields: FieldErrors,
}

impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        if matches!(self, AppError::Internal(_) | AppError::Database(_)) {
            log::error!("{} {}: {}", req.method(), req.uri(), self.user_detail());
        }
        let status = self.status();
        if super::wants_json(req) {
            let body = ApiErrorBody {
                code: self.code(),
                message: self.user_message(),
                fields: self.field_errors(),
            };
            let json = serde_json::to_string(&body).unwrap_or_else(|_| "{}".into());
            return Response::build()
                .status(status)
                .header(ContentType::JSON)
                .sized_body(json.len(), Cursor::new(json))
                .ok();
        }
        if status == Status::Unauthorized {
            return rocket::response::Redirect::to("/anmelden").respond_to(req);
        }
        let mut response =
            super::error_page(req, status, &self.user_message(), &self.field_errors()).respond_to(req)?;
        response.set_status(status);
        Ok(response)
    }
}
