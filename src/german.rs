//! German notation for people: money (1.234,56 €), quantities, dates in local time, for pages,
//! mails, documents and messages; registered as tera filters. The one place numbers become text.

use crate::domain::money::round_commercial;
use chrono::{Datelike, NaiveDateTime, Timelike};
use chrono_tz::Europe::Berlin;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use tera::{Tera, Value};

/// Formats with `.` thousands and `,` decimals, showing between `min` and `max` places.
pub fn decimal_de(value: Decimal, min_places: u32, max_places: u32) -> String {
    let rounded = round_commercial(value, max_places).normalize();
    let places = rounded.scale().max(min_places);
    let text = format!("{:.*}", places as usize, rounded.abs());
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (text.clone(), None),
    };
    let mut grouped = String::new();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "−"
    } else {
        ""
    };
    match frac_part {
        Some(f) if !f.is_empty() => format!("{sign}{grouped},{f}"),
        _ => format!("{sign}{grouped}"),
    }
}

pub fn money_de(value: Decimal) -> String {
    format!("{} €", decimal_de(value, 2, 2))
}

pub fn unit_price_de(value: Decimal) -> String {
    format!("{} €", decimal_de(value, 2, 4))
}

pub fn quantity_de(value: Decimal) -> String {
    decimal_de(value, 0, 3)
}

/// The filters run once per table cell: the serialised form ("…T…") is read with chrono's
/// `FromStr`, which does not parse a format string each time as `parse_from_str` does.
fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    text.parse()
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok())
}

/// "07.12.2026": written field by field, for the same reason.
fn dmy(d: &impl Datelike) -> String {
    format!("{:02}.{:02}.{:04}", d.day(), d.month(), d.year())
}

/// A stored (UTC) time as German local date and time.
pub fn datetime_de(utc: NaiveDateTime) -> String {
    let local = utc.and_utc().with_timezone(&Berlin);
    format!("{}, {:02}:{:02} Uhr", dmy(&local), local.hour(), local.minute())
}

/// A file size as people read it: "512 Byte", "3,4 KB", "1,2 MB".
pub fn size_de(bytes: i64) -> String {
    let (value, unit) = if bytes >= 1024 * 1024 {
        (Decimal::from(bytes) / Decimal::from(1024 * 1024), "MB")
    } else if bytes >= 1024 {
        (Decimal::from(bytes) / Decimal::from(1024), "KB")
    } else {
        return format!("{bytes} Byte");
    };
    format!("{} {unit}", decimal_de(value.round_dp(1), 0, 1))
}

/// With seconds, for receipts and records where the exact server time matters.
pub fn timestamp_de(utc: NaiveDateTime) -> String {
    utc.and_utc()
        .with_timezone(&Berlin)
        .format("%d.%m.%Y, %H:%M:%S Uhr")
        .to_string()
}

pub fn date_de(utc: NaiveDateTime) -> String {
    dmy(&utc.and_utc().with_timezone(&Berlin))
}

fn decimal_arg(value: &Value) -> tera::Result<Decimal> {
    match value {
        Value::String(s) => Decimal::from_str(s).map_err(|_| tera::Error::msg(format!("keine Zahl: {s}"))),
        Value::Number(n) => Decimal::from_str(&n.to_string()).map_err(|_| tera::Error::msg("keine Zahl")),
        Value::Null => Ok(Decimal::ZERO),
        other => Err(tera::Error::msg(format!("keine Zahl: {other}"))),
    }
}

fn time_arg(value: &Value) -> tera::Result<Option<NaiveDateTime>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => parse_naive(s)
            .map(Some)
            .ok_or_else(|| tera::Error::msg(format!("kein Zeitpunkt: {s}"))),
        other => Err(tera::Error::msg(format!("kein Zeitpunkt: {other}"))),
    }
}

/// Adds the German filters `eur`, `preis`, `menge`, `datum`, `datumzeit` to a tera instance.
pub fn register_filters(tera: &mut Tera) {
    tera.register_filter("eur", |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(money_de(decimal_arg(v)?)))
    });
    tera.register_filter("preis", |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(unit_price_de(decimal_arg(v)?)))
    });
    tera.register_filter("menge", |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(quantity_de(decimal_arg(v)?)))
    });
    tera.register_filter("datum", |v: &Value, _: &HashMap<String, Value>| {
        // A calendar date (deadlines, terms) is shown as it is; an instant in Berlin time.
        if let Some(d) = v.as_str().and_then(|s| s.parse::<chrono::NaiveDate>().ok()) {
            return Ok(Value::String(dmy(&d)));
        }
        Ok(Value::String(time_arg(v)?.map(date_de).unwrap_or_default()))
    });
    tera.register_filter("datumzeit", |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(time_arg(v)?.map(datetime_de).unwrap_or_default()))
    });
    tera.register_filter("zahl", |v: &Value, args: &HashMap<String, Value>| {
        let places = args.get("stellen").and_then(Value::as_u64).unwrap_or(2) as u32;
        let d = crate::domain::money::round_commercial(decimal_arg(v)?, places);
        Ok(Value::String(decimal_de(d, places, places)))
    });
    tera.register_filter("groesse", |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(size_de(v.as_i64().unwrap_or(0))))
    });
    tera.register_filter("zeitstempel", |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(time_arg(v)?.map(timestamp_de).unwrap_or_default()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_has_thousands_and_comma() {
        assert_eq!(money_de(dec!(1234.56)), "1.234,56 €");
        assert_eq!(money_de(dec!(1234567.5)), "1.234.567,50 €");
        assert_eq!(money_de(dec!(0)), "0,00 €");
        assert_eq!(money_de(dec!(999)), "999,00 €");
    }

    #[test]
    fn money_rounds_commercially() {
        assert_eq!(money_de(dec!(0.125)), "0,13 €");
        assert_eq!(money_de(dec!(-0.125)), "−0,13 €");
    }

    #[test]
    fn unit_price_keeps_up_to_four_places() {
        assert_eq!(unit_price_de(dec!(12.3456)), "12,3456 €");
        assert_eq!(unit_price_de(dec!(12.3)), "12,30 €");
    }

    #[test]
    fn quantity_drops_trailing_zeros() {
        assert_eq!(quantity_de(dec!(1500.000)), "1.500");
        assert_eq!(quantity_de(dec!(2.5)), "2,5");
    }

    #[test]
    fn sizes() {
        assert_eq!(size_de(512), "512 Byte");
        assert_eq!(size_de(3482), "3,4 KB");
        assert_eq!(size_de(20 * 1024 * 1024), "20 MB");
    }

    #[test]
    fn dates_are_berlin_local() {
        let winter = NaiveDateTime::parse_from_str("2026-11-23T13:05:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        assert_eq!(datetime_de(winter), "23.11.2026, 14:05 Uhr");
        let summer = NaiveDateTime::parse_from_str("2026-07-01T22:30:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        assert_eq!(datetime_de(summer), "02.07.2026, 00:30 Uhr");
        assert_eq!(date_de(summer), "02.07.2026");
    }

    #[test]
    fn filters_render_in_templates() {
        let mut tera = Tera::default();
        register_filters(&mut tera);
        tera.add_raw_template("t", "{{ a | eur }} {{ q | menge }} {{ t | datum }} {{ d | datum }}")
            .unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("a", "1234.5");
        ctx.insert("q", "10.250");
        ctx.insert("t", "2026-01-02T10:00:00");
        ctx.insert("d", "2027-04-05");
        assert_eq!(
            tera.render("t", &ctx).unwrap(),
            "1.234,50 € 10,25 02.01.2026 05.04.2027"
        );
        // Both stored forms of an instant, with and without fractions, late on New Year's Eve.
        tera.add_raw_template("z", "{{ a | datumzeit }} / {{ b | datumzeit }} / {{ b | datum }}")
            .unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("a", "2026-12-31T22:59:59.999");
        ctx.insert("b", "2026-12-31 23:01:00");
        assert_eq!(
            tera.render("z", &ctx).unwrap(),
            "31.12.2026, 23:59 Uhr / 01.01.2027, 00:01 Uhr / 01.01.2027"
        );
    }
}
