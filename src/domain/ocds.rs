//! Open Contracting Data Standard rules without storage: identifiers (ocid), dates in RFC 3339,
//! the mapping of buendel's states to OCDS codelists, and JSON whose amounts are exact numbers.

use super::bid::AwardStatus;
use crate::domain::ids::{CalloffId, TenderId};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use rust_decimal::Decimal;
use serde_json::Value;

/// The ocid prefix when `BUENDEL_OCID_PREFIX` is not set. OCDS prefixes are handed out by the Open
/// Contracting Partnership ("ocds-" + six characters); a cooperative that publishes for real
/// registers its own and configures it.
pub const DEFAULT_OCID_PREFIX: &str = "ocds-buendel";

/// The OCDS version of every package.
pub const VERSION: &str = "1.1";

/// Open data licence of the packages: Datenlizenz Deutschland – Zero – 2.0.
pub const LICENSE: &str = "https://www.govdata.de/dl-de/zero-2-0";

/// `ocds-` followed by lower-case letters, digits and hyphens, at most 40 characters.
pub fn valid_ocid_prefix(prefix: &str) -> bool {
    prefix.len() <= 40
        && prefix.strip_prefix("ocds-").is_some_and(|rest| {
            !rest.is_empty()
                && !rest.starts_with('-')
                && !rest.ends_with('-')
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// The contracting process of a tender.
pub fn tender_ocid(prefix: &str, tender_id: TenderId) -> String {
    format!("{prefix}-ausschreibung-{tender_id}")
}

/// A call-off is a contracting process of its own under the framework (OCDS: relatedProcesses).
pub fn calloff_ocid(prefix: &str, calloff_id: CalloffId) -> String {
    format!("{prefix}-abruf-{calloff_id}")
}

/// A stored UTC instant in RFC 3339.
pub fn instant(utc: NaiveDateTime) -> String {
    utc.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The first moment of a German calendar day (contract terms are days in Germany).
pub fn day_start(day: NaiveDate) -> String {
    berlin(day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// The last second of a German calendar day.
pub fn day_end(day: NaiveDate) -> String {
    berlin(day.and_hms_opt(23, 59, 59).unwrap_or_default())
}

fn berlin(local: NaiveDateTime) -> String {
    match chrono_tz::Europe::Berlin.from_local_datetime(&local).earliest() {
        Some(t) => t.to_rfc3339(),
        // A wall time that does not exist (clock change) cannot be midnight or 23:59:59.
        None => instant(local),
    }
}

/// tenderStatus: a cancelled tender is `cancelled`, one whose every open lot is awarded is
/// `complete`, everything published before is `active`.
pub fn tender_status(cancelled: bool, lots_open: usize, lots_awarded: usize) -> &'static str {
    if cancelled {
        "cancelled"
    } else if lots_open > 0 && lots_awarded == lots_open {
        "complete"
    } else {
        "active"
    }
}

/// Whether the lowest and highest valid bid values of a lot may be published (BT-710/BT-711 of
/// the award notice): not with one or two valid bids, where they are the bids themselves and
/// would reveal a losing bid's amount (§ 5(2) VgV keeps bids confidential after the procedure;
/// eForms lets the buyer withhold them).
pub fn bid_range_public(valid_bids: usize) -> bool {
    valid_bids >= 3
}

/// awardStatus: decided and informed (§ 134 GWB standstill) is `pending`, concluded is `active`.
pub fn award_status(status: AwardStatus) -> &'static str {
    match status {
        AwardStatus::Concluded => "active",
        AwardStatus::Informed => "pending",
    }
}

/// contractStatus of a framework contract on `today`.
pub fn contract_status(today: NaiveDate, start: NaiveDate, end: NaiveDate) -> &'static str {
    if today < start {
        "pending"
    } else if today > end {
        "terminated"
    } else {
        "active"
    }
}

/// contractStatus of a call-off: placed waits for the vendor, rejected or cancelled never ran.
pub fn calloff_status(status: &str) -> &'static str {
    match status {
        "placed" => "pending",
        "confirmed" | "delivered" => "active",
        _ => "cancelled",
    }
}

/// Fields that OCDS types as numbers; buendel keeps their decimals as strings until the text is
/// written, so that no value ever passes through a float.
const NUMBER_KEYS: [&str; 3] = ["amount", "quantity", "value"];

/// The JSON text of an OCDS document: a string under `amount`, `quantity` or (statistics)
/// `value` is written as the exact JSON number it spells; anything else as serde_json writes it.
pub fn to_json_text(doc: &Value) -> Result<String, String> {
    let mut out = String::with_capacity(4096);
    write(doc, false, &mut out)?;
    Ok(out)
}

fn write(v: &Value, as_number: bool, out: &mut String) -> Result<(), String> {
    match v {
        Value::String(s) if as_number => {
            let d = Decimal::from_str_exact(s).map_err(|_| format!("„{s}“ is no decimal"))?;
            // Decimal's Display is plain notation (no exponent), which is valid JSON.
            out.push_str(&d.to_string());
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).map_err(|e| e.to_string())?);
                out.push(':');
                write(item, NUMBER_KEYS.contains(&k.as_str()), out)?;
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, false, out)?;
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).map_err(|e| e.to_string())?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prefix_rules() {
        assert!(valid_ocid_prefix("ocds-buendel"));
        assert!(valid_ocid_prefix("ocds-a1b2c3"));
        for bad in ["buendel", "ocds-", "ocds-Gross", "ocds-mit leer", "ocds--x", "ocds-x-"] {
            assert!(!valid_ocid_prefix(bad), "{bad}");
        }
    }

    #[test]
    fn ocids_differ_for_tender_and_calloff() {
        assert_eq!(tender_ocid("ocds-buendel", TenderId(7)), "ocds-buendel-ausschreibung-7");
        assert_eq!(calloff_ocid("ocds-buendel", CalloffId(7)), "ocds-buendel-abruf-7");
    }

    #[test]
    fn instants_are_rfc3339_utc() {
        let t = NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(10, 5, 0)
            .unwrap();
        assert_eq!(instant(t), "2026-11-23T10:05:00Z");
    }

    #[test]
    fn days_are_german_days_with_offset() {
        let winter = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(day_start(winter), "2026-12-01T00:00:00+01:00");
        let summer = NaiveDate::from_ymd_opt(2027, 7, 1).unwrap();
        assert_eq!(day_end(summer), "2027-07-01T23:59:59+02:00");
    }

    #[test]
    fn statuses_map_to_closed_codelists() {
        assert_eq!(tender_status(true, 2, 2), "cancelled");
        assert_eq!(tender_status(false, 2, 1), "active");
        assert_eq!(tender_status(false, 2, 2), "complete");
        assert_eq!(tender_status(false, 0, 0), "active");
        assert_eq!(award_status(AwardStatus::Informed), "pending");
        assert_eq!(award_status(AwardStatus::Concluded), "active");
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(contract_status(d(1, 1), d(2, 1), d(12, 31)), "pending");
        assert_eq!(contract_status(d(2, 1), d(2, 1), d(12, 31)), "active");
        assert_eq!(contract_status(d(12, 31), d(2, 1), d(12, 31)), "active");
        assert_eq!(calloff_status("placed"), "pending");
        assert_eq!(calloff_status("delivered"), "active");
        assert_eq!(calloff_status("rejected"), "cancelled");
        assert_eq!(calloff_status("cancelled"), "cancelled");
    }

    #[test]
    fn amounts_are_written_as_exact_numbers() {
        let doc = json!({ "value": { "amount": "14400.00", "currency": "EUR" }, "items": [{ "quantity": "2.500", "description": "amount" }] });
        assert_eq!(
            to_json_text(&doc).unwrap(),
            r#"{"items":[{"description":"amount","quantity":2.500}],"value":{"amount":14400.00,"currency":"EUR"}}"#
        );
    }

    #[test]
    fn large_amounts_keep_every_digit() {
        // 9 999 999 999 999.99 has 15 significant digits plus 2; a float would round it.
        let doc = json!({ "amount": "9999999999999999.99" });
        assert_eq!(to_json_text(&doc).unwrap(), r#"{"amount":9999999999999999.99}"#);
    }

    #[test]
    fn a_number_field_that_is_no_decimal_is_an_error() {
        assert!(to_json_text(&json!({ "amount": "viel" })).is_err());
    }

    #[test]
    fn text_is_escaped_as_json() {
        let doc = json!({ "title": "Los „1“ \"A\"\n" });
        let text = to_json_text(&doc).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), doc);
    }
}
