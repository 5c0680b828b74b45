//! Reading form fields as typed into German pages: numbers in German notation through
//! `numbers::german`, then into the exact newtypes. Empty means "not given"; a reason is German.

use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::numbers;
use crate::error::{AppError, FieldErrors};
use chrono::TimeZone;
use rust_decimal::Decimal;

/// A German decimal, `None` when empty; a `%` sign may follow.
pub fn decimal(text: &str) -> Result<Option<Decimal>, String> {
    match text.trim().trim_end_matches('%').trim() {
        "" => Ok(None),
        t => numbers::german(t).map(Some).map_err(|e| e.to_string()),
    }
}

pub fn price(text: &str) -> Result<Option<Price>, String> {
    exact(text, Price::from_decimal)
}

pub fn quantity(text: &str) -> Result<Option<Quantity>, String> {
    exact(text, Quantity::from_decimal)
}

pub fn amount(text: &str) -> Result<Option<Amount>, String> {
    exact(text, Amount::from_decimal)
}

fn exact<T, E: std::fmt::Display>(text: &str, make: impl Fn(Decimal) -> Result<T, E>) -> Result<Option<T>, String> {
    match text.trim() {
        "" => Ok(None),
        t => {
            let d = numbers::german(t).map_err(|e| e.to_string())?;
            make(d).map(Some).map_err(|e| format!("„{t}“ {e}"))
        }
    }
}

/// A German local date and time as stored UTC; an ambiguous autumn hour takes the earlier one.
pub fn local_datetime(date: &str, time: &str) -> Option<chrono::NaiveDateTime> {
    let date = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(date.trim(), "%d.%m.%Y"))
        .ok()?;
    let time = if time.trim().is_empty() {
        chrono::NaiveTime::from_hms_opt(23, 59, 0)?
    } else {
        chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M").ok()?
    };
    chrono_tz::Europe::Berlin
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.naive_utc())
}

/// A query parameter: absent or empty is `None`; a value that is no `T` is a 400 naming the
/// parameter and what it takes (`expected`, e.g. "eine ganze Zahl").
pub fn query<T: std::str::FromStr>(name: &str, value: Option<&str>, expected: &str) -> Result<Option<T>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| bad_query(name, v, expected)),
    }
}

/// A date parameter: ISO (`2026-12-31`) or German (`31.12.2026`).
pub fn query_date(name: &str, value: Option<&str>) -> Result<Option<chrono::NaiveDate>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .or_else(|_| chrono::NaiveDate::parse_from_str(v, "%d.%m.%Y"))
            .map(Some)
            .map_err(|_| bad_query(name, v, "ein Datum (JJJJ-MM-TT oder TT.MM.JJJJ)")),
    }
}

fn bad_query(name: &str, value: &str, expected: &str) -> AppError {
    let shown: String = value.chars().take(40).collect();
    AppError::BadRequest(format!(
        "Der Parameter „{name}“ muss {expected} sein; „{shown}“ ist das nicht."
    ))
}

/// Runs `read` on `text`; a failure is recorded under `field` as "`what` <reason>.".
pub fn field<T>(
    errors: &mut FieldErrors,
    field: &str,
    what: &str,
    text: &str,
    read: impl Fn(&str) -> Result<Option<T>, String>,
) -> Option<T> {
    match read(text) {
        Ok(v) => v,
        Err(e) => {
            errors
                .entry(field.to_string())
                .or_default()
                .push(format!("{what} {e}."));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn german_notation_with_thousands_points() {
        assert_eq!(price("1.234,5").unwrap().unwrap().to_decimal(), dec!(1234.5));
        assert_eq!(quantity("2,5").unwrap().unwrap().to_decimal(), dec!(2.5));
        assert_eq!(decimal("20 %").unwrap(), Some(dec!(20)));
        assert_eq!(price("  ").unwrap(), None);
    }

    #[test]
    fn more_places_than_the_type_holds_are_refused() {
        assert!(price("1,00001").unwrap_err().contains("Nachkommastellen"));
        assert!(quantity("1,0001").unwrap_err().contains("Nachkommastellen"));
        assert!(price("-1").unwrap_err().contains("negativ"));
    }

    #[test]
    fn a_bad_query_parameter_is_a_400_naming_it() {
        assert_eq!(
            query::<i64>("vertrag", Some("12"), "eine ganze Zahl").unwrap(),
            Some(12)
        );
        assert_eq!(query::<i64>("vertrag", Some(""), "eine ganze Zahl").unwrap(), None);
        let e = query::<i64>("vertrag", Some("abc"), "eine ganze Zahl").unwrap_err();
        assert_eq!(e.status(), rocket::http::Status::BadRequest);
        assert_eq!(
            e.to_string(),
            "Der Parameter „vertrag“ muss eine ganze Zahl sein; „abc“ ist das nicht."
        );
        assert!(query_date("von", Some("31.02.2026")).is_err());
        assert_eq!(
            query_date("von", Some("01.03.2026")).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
        );
    }

    #[test]
    fn a_failure_is_recorded_under_its_field() {
        let mut errors = FieldErrors::new();
        assert_eq!(
            field(&mut errors, "estimate_price", "Der Schätzpreis", "zwölf", price),
            None
        );
        assert_eq!(
            errors["estimate_price"],
            vec!["Der Schätzpreis „zwölf“ ist keine Zahl.".to_string()]
        );
    }
}
