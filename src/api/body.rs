//! Reading API requests: JSON bodies whose every problem is answered in German with the field's
//! path, and `Plain<T>` fields that read the API's plain decimals and keep a bad value's reason
//! until the command is built, so that all fields' problems are reported at once.

use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::numbers;
use crate::error::{AppError, FieldErrors};
use rocket::data::{Data, FromData, Outcome, ToByteUnit};
use rocket::request::Request;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A JSON body whose parse errors are answered in German with the position of the problem.
pub struct Body<T>(pub T);

#[rocket::async_trait]
impl<'r, T: serde::de::DeserializeOwned> FromData<'r> for Body<T> {
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        let fail = |error: AppError| {
            crate::web::note_app_error(req, &error);
            Outcome::Error((error.status(), error))
        };
        if req.content_type().is_some_and(|ct| !ct.is_json()) {
            return fail(AppError::UnsupportedMediaType(
                "Bitte senden Sie JSON (Content-Type: application/json).".into(),
            ));
        }
        let limit = req.limits().get("json").unwrap_or_else(|| 1.mebibytes());
        let text = match data.open(limit).into_string().await {
            Ok(s) if s.is_complete() => s.into_inner(),
            Ok(_) => return fail(AppError::PayloadTooLarge(format!("Der Inhalt ist größer als {limit}."))),
            Err(_) => {
                return fail(AppError::BadRequest(
                    "Der Inhalt konnte nicht gelesen werden (kein gültiges UTF-8?).".into(),
                ))
            }
        };
        match read_json::<T>(&text) {
            Ok(v) => Outcome::Success(Body(v)),
            Err(e) => fail(e),
        }
    }
}

/// Reads `text` as `T`; a syntax error is a 400 naming line and column, a value of the wrong
/// shape a 422 naming the field, both in German.
pub fn read_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AppError> {
    // Syntax first, so that a broken body is a 400 even where its beginning has the wrong shape.
    let value: Value = serde_json::from_str(text).map_err(|e| json_error("", &e))?;
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, &e.into_inner())
    })
}

fn json_error(path: &str, error: &serde_json::Error) -> AppError {
    match error.classify() {
        serde_json::error::Category::Data => {
            let field = if path == "." || path.is_empty() { "body" } else { path };
            AppError::field(field, german_data_error(field, &error.to_string()))
        }
        _ => AppError::BadRequest(format!(
            "Ungültiges JSON in Zeile {}, Spalte {}: {}",
            error.line(),
            error.column(),
            german_syntax_error(&error.to_string())
        )),
    }
}

/// serde_json's wording without its position suffix.
fn bare(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

fn german_syntax_error(message: &str) -> &'static str {
    let m = bare(message);
    if m.starts_with("EOF") {
        "der Inhalt endet zu früh"
    } else if m.starts_with("trailing") {
        "nach dem Ende steht noch etwas (oder ein Komma zu viel)"
    } else if m.starts_with("key must be a string") {
        "Feldnamen müssen in Anführungszeichen stehen"
    } else if m.contains("control character") || m.contains("escape") {
        "eine Zeichenkette enthält ein ungültiges Zeichen"
    } else {
        "an dieser Stelle wird ein anderes Zeichen erwartet"
    }
}

/// What a JSON value of serde's `kind` is called in German.
fn german_kind(kind: &str) -> &'static str {
    let k = kind.trim();
    if k.starts_with("integer")
        || k.starts_with("i64")
        || k.starts_with("i32")
        || k.starts_with("u32")
        || k.starts_with("u64")
        || k.starts_with("u16")
        || k.starts_with("u8")
        || k.starts_with("usize")
    {
        "eine ganze Zahl"
    } else if k.starts_with("floating point") {
        "eine Zahl"
    } else if k.starts_with("string") || k.starts_with("a string") || k.starts_with("char") {
        "eine Zeichenkette"
    } else if k.starts_with("boolean") || k.starts_with("a boolean") || k.starts_with("bool") {
        "true oder false"
    } else if k.starts_with("sequence") || k.starts_with("a sequence") || k.contains("tuple") {
        "eine Liste"
    } else if k.starts_with("map") || k.starts_with("a map") || k.starts_with("struct") {
        "ein Objekt"
    } else if k.starts_with("null") || k.starts_with("unit") {
        "null"
    } else {
        "ein anderer Wert"
    }
}

/// serde's data errors in German; our own `Deserialize` impls already speak German.
fn german_data_error(field: &str, message: &str) -> String {
    let m = bare(message);
    let backticked = |s: &str| s.split('`').nth(1).unwrap_or("").to_string();
    if let Some(rest) = m.strip_prefix("missing field ") {
        return format!("Das Feld „{}“ fehlt.", backticked(rest));
    }
    if let Some(rest) = m.strip_prefix("unknown field ") {
        return format!("Das Feld „{}“ gibt es hier nicht.", backticked(rest));
    }
    if let Some(rest) = m.strip_prefix("unknown variant ") {
        let allowed: Vec<String> = rest
            .split_once("expected ")
            .map(|(_, e)| e.split('`').skip(1).step_by(2).map(str::to_string).collect())
            .unwrap_or_default();
        return format!(
            "„{}“ ist hier nicht erlaubt; erlaubt: {}.",
            backticked(rest),
            allowed.join(", ")
        );
    }
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return format!(
            "„{field}“ muss {} sein, nicht {}.",
            german_kind(expected),
            german_kind(got)
        );
    }
    if let Some(rest) = m.strip_prefix("invalid value: ") {
        let expected = rest.split_once(", expected ").map(|(_, e)| e).unwrap_or("");
        return format!(
            "„{field}“ hat einen ungültigen Wert; erwartet: {}.",
            german_kind(expected)
        );
    }
    if m.starts_with("invalid length") {
        return format!("„{field}“ hat die falsche Anzahl von Einträgen.");
    }
    if m.is_ascii() {
        // Anything else from serde is English: say what we know, never the English text.
        return format!("„{field}“ hat ein falsches Format.");
    }
    m.to_string()
}

/// A value that an API body writes as a plain decimal string.
pub trait PlainValue: Sized {
    fn from_plain(text: &str) -> Result<Self, String>;
}

impl PlainValue for Decimal {
    fn from_plain(text: &str) -> Result<Self, String> {
        numbers::plain(text).map_err(|e| e.to_string())
    }
}

macro_rules! plain_newtype {
    ($t:ty) => {
        impl PlainValue for $t {
            fn from_plain(text: &str) -> Result<Self, String> {
                let d = numbers::plain(text).map_err(|e| e.to_string())?;
                <$t>::from_decimal(d).map_err(|e| format!("„{text}“ {e}"))
            }
        }
    };
}
plain_newtype!(Price);
plain_newtype!(Quantity);
plain_newtype!(Amount);

/// A decimal field of an API body. Reading it never fails: a bad value keeps its German reason
/// until `take` or `optional` reports it under the field's name.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Plain<T> {
    #[default]
    Absent,
    Given(T),
    Bad(String),
}

impl<'de, T: PlainValue> Deserialize<'de> for Plain<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Plain::Absent,
            // An empty field is a field not filled in, as in a form.
            Value::String(s) if s.is_empty() => Plain::Absent,
            Value::String(s) => match T::from_plain(&s) {
                Ok(v) => Plain::Given(v),
                Err(e) => Plain::Bad(e),
            },
            Value::Number(n) => Plain::Bad(format!(
                "{n} muss als Zeichenkette stehen, damit nichts gerundet wird: \"{n}\""
            )),
            _ => Plain::Bad("Erwartet wird eine Zahl als Zeichenkette, z. B. \"12.5\"".into()),
        })
    }
}

impl<T> utoipa::ToSchema for Plain<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        "PlainDecimal".into()
    }
}

/// Documented as what `Deserialize` above takes without a problem: a plain decimal string,
/// or `null` and `""` for a field not filled in. The field's rules (required, > 0, places,
/// range) are checked when the command is built and answered as a 422. `utoipa` documents
/// generic fields through `ComposeSchema`; every `Plain<T>` reads the same notation.
impl<T> utoipa::__dev::ComposeSchema for Plain<T> {
    fn compose(
        _generics: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .pattern(Some(r"^(-?\d+(\.\d+)?)?$"))
            .description(Some(
                "Dezimalzahl als Zeichenkette mit Dezimalpunkt, z. B. \"1234.5\"; leer oder null: nicht angegeben",
            ))
            .into()
    }
}

/// For the document's defaults of bodies that are `#[serde(default)]`: the value as the API
/// writes it, or `null`.
impl<T: serde::Serialize> serde::Serialize for Plain<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Plain::Given(v) => v.serialize(s),
            Plain::Absent | Plain::Bad(_) => s.serialize_none(),
        }
    }
}

impl<T> Plain<T> {
    /// The value, or its problem recorded under `field`; a missing value is a problem too.
    pub fn take(self, field: &str, errors: &mut FieldErrors) -> Option<T> {
        match self {
            Plain::Given(v) => Some(v),
            Plain::Absent => {
                push(errors, field, format!("Das Feld „{field}“ fehlt."));
                None
            }
            Plain::Bad(e) => {
                push(errors, field, format!("{e}."));
                None
            }
        }
    }

    /// The value if given, `None` if absent; a bad value is recorded under `field`.
    pub fn optional(self, field: &str, errors: &mut FieldErrors) -> Option<T> {
        match self {
            Plain::Given(v) => Some(v),
            Plain::Absent => None,
            Plain::Bad(e) => {
                push(errors, field, format!("{e}."));
                None
            }
        }
    }
}

/// Reads an API instant (RFC 3339 with offset, e.g. `2027-01-15T12:00:00+01:00`) as UTC; a
/// value that is none is recorded under `field` as "`what` muss ein Zeitpunkt wie … sein."
pub fn instant(errors: &mut FieldErrors, field: &str, what: &str, text: &str) -> Option<chrono::NaiveDateTime> {
    match chrono::DateTime::parse_from_rfc3339(text.trim()) {
        Ok(t) => Some(t.naive_utc()),
        Err(_) => {
            push(
                errors,
                field,
                format!("{what} muss ein Zeitpunkt wie 2027-01-15T12:00:00+01:00 sein."),
            );
            None
        }
    }
}

pub fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_default().push(message.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::http::Status;
    use rust_decimal_macros::dec;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Sample {
        count: i64,
        #[serde(default)]
        price: Plain<Price>,
        #[serde(default)]
        factor: Plain<Decimal>,
    }

    fn message(e: AppError) -> (Status, String) {
        let fields = e.field_errors();
        let text = fields.values().flatten().cloned().collect::<Vec<_>>().join(" | ");
        (e.status(), if text.is_empty() { e.to_string() } else { text })
    }

    #[test]
    fn a_point_is_always_the_decimal_point() {
        let s: Sample = read_json(r#"{"count": 1, "price": "1.250", "factor": "0.125"}"#).unwrap();
        assert_eq!(s.price, Plain::Given(Price::from_decimal(dec!(1.25)).unwrap()));
        assert_eq!(s.factor, Plain::Given(dec!(0.125)));
    }

    #[test]
    fn underscores_commas_and_numbers_are_refused_in_german() {
        for (json, needle) in [
            (r#"{"count": 1, "price": "1_000"}"#, "Schreibweise der API"),
            (r#"{"count": 1, "price": "1,5"}"#, "Schreibweise der API"),
            (r#"{"count": 1, "price": 1.5}"#, "als Zeichenkette"),
            (r#"{"count": 1, "price": "1.00001"}"#, "Nachkommastellen"),
        ] {
            let s: Sample = read_json(json).unwrap();
            let mut errors = FieldErrors::new();
            assert_eq!(s.price.take("price", &mut errors), None);
            assert!(errors["price"][0].contains(needle), "{json}: {errors:?}");
        }
    }

    #[test]
    fn wrong_shapes_name_the_field_in_german() {
        let (status, m) = message(read_json::<Sample>(r#"{"count": "x"}"#).unwrap_err());
        assert_eq!(status, Status::UnprocessableEntity);
        assert_eq!(m, "„count“ muss eine ganze Zahl sein, nicht eine Zeichenkette.");
        let (_, m) = message(read_json::<Sample>(r#"{}"#).unwrap_err());
        assert_eq!(m, "Das Feld „count“ fehlt.");
        let (_, m) = message(read_json::<Sample>(r#""Angebot""#).unwrap_err());
        assert_eq!(m, "„body“ muss ein Objekt sein, nicht eine Zeichenkette.");
        let (_, m) = message(read_json::<Vec<Sample>>(r#"[{"count": 1}, {"count": true}]"#).unwrap_err());
        assert_eq!(m, "„[1].count“ muss eine ganze Zahl sein, nicht true oder false.");
    }

    #[test]
    fn broken_json_is_a_400_with_line_and_column() {
        let (status, m) = message(read_json::<Sample>("{\"count\": ").unwrap_err());
        assert_eq!(status, Status::BadRequest);
        assert_eq!(m, "Ungültiges JSON in Zeile 1, Spalte 10: der Inhalt endet zu früh");
        let (_, m) = message(read_json::<Sample>("{\"count\": 1} x").unwrap_err());
        assert!(m.starts_with("Ungültiges JSON in Zeile 1, Spalte 14"), "{m}");
        assert!(!m.contains("expected"), "no English from serde: {m}");
    }
}
