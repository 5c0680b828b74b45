//! CSRF protection for every HTML form: a random token in a private (encrypted) cookie, echoed in a
//! hidden `_csrf` field, compared in constant time by the `FormData` data guard before anything runs.

use crate::error::AppError;
use rocket::data::{Data, FromData, Outcome, ToByteUnit};
use rocket::http::{Cookie, SameSite, Status};
use rocket::request::{self, FromRequest, Request};
use subtle::ConstantTimeEq;

pub const CSRF_COOKIE: &str = "buendel_csrf";
pub const CSRF_FIELD: &str = "_csrf";

/// The token to embed in the forms of a page; creates the cookie on first use.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn token_of(req: &Request<'_>) -> String {
    req.local_cache(|| {
        if let Some(c) = req.cookies().get_private(CSRF_COOKIE) {
            return c.value().to_string();
        }
        let token = super::random_token();
        let cookie = Cookie::build((CSRF_COOKIE, token.clone()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(crate::web::is_https(req))
            .path("/");
        req.cookies().add_private(cookie);
        token
    })
    .clone()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CsrfToken {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        request::Outcome::Success(CsrfToken(token_of(req)))
    }
}

/// The fields of a submitted form (URL-encoded), in order, after the CSRF check passed.
#[derive(Debug, Clone, Default)]
pub struct FormData {
    fields: Vec<(String, String)>,
}

impl FormData {
    pub fn parse(body: &str) -> FormData {
        FormData {
            fields: url::form_urlencoded::parse(body.as_bytes()).into_owned().collect(),
        }
    }

    /// The trimmed value of a field, empty when absent.
    pub fn get(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }

    /// The value without trimming (passwords).
    pub fn raw(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    /// Every field name, in order (with repeats).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(k, _)| k.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }

    /// Values to show again in a form after an error; passwords and the token are never echoed.
    pub fn echo(&self) -> serde_json::Map<String, serde_json::Value> {
        self.fields
            .iter()
            .filter(|(k, _)| k != CSRF_FIELD && !k.contains("password"))
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect()
    }
}

const EXPIRED: &str =
    "Das Formular ist abgelaufen oder stammt nicht von dieser Seite. Bitte laden Sie die Seite neu und senden Sie es erneut.";

/// Checks a submitted token against the browser's CSRF cookie. Used by the `FormData` guard and
/// by multipart forms (file uploads), which cannot go through that guard.
pub fn verify(cookies: &rocket::http::CookieJar<'_>, submitted: &str) -> Result<(), AppError> {
    let expected = cookies
        .get_private(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if tokens_match(&expected, submitted) {
        Ok(())
    } else {
        Err(AppError::Forbidden(EXPIRED.into()))
    }
}

/// Compares the submitted token with the cookie's, in constant time.
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && expected.as_bytes().ct_eq(submitted.as_bytes()).into()
}

#[rocket::async_trait]
impl<'r> FromData<'r> for FormData {
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        let limit = req.limits().get("form").unwrap_or_else(|| 64.kibibytes());
        let body = match data.open(limit).into_string().await {
            Ok(s) if s.is_complete() => s.into_inner(),
            Ok(_) => {
                crate::web::note_error(req, "Das Formular ist zu groß.");
                return Outcome::Error((
                    Status::PayloadTooLarge,
                    AppError::BadRequest("Das Formular ist zu groß.".into()),
                ));
            }
            Err(_) => {
                return Outcome::Error((
                    Status::BadRequest,
                    AppError::BadRequest("Das Formular konnte nicht gelesen werden.".into()),
                ))
            }
        };
        let form = FormData::parse(&body);
        if let Err(e) = verify(req.cookies(), &form.raw(CSRF_FIELD)) {
            crate::web::note_error(req, EXPIRED);
            return Outcome::Error((Status::Forbidden, e));
        }
        Outcome::Success(form)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_tokens() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", ""));
        assert!(!tokens_match("", ""));
    }

    #[test]
    fn form_fields_are_decoded_and_passwords_not_echoed() {
        let f = FormData::parse("name=Stadt+Kassel&password=geheim&_csrf=x&city=K%C3%B6ln");
        assert_eq!(f.get("name"), "Stadt Kassel");
        assert_eq!(f.get("city"), "Köln");
        let echo = f.echo();
        assert!(echo.contains_key("name"));
        assert!(!echo.contains_key("password"));
        assert!(!echo.contains_key("_csrf"));
    }
}
