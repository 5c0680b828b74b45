//! What the dashboard's pages show beside the figures: a contract's warning in words, the
//! years the filter offers.

use super::dashboard::{Dashboard, Utilisation};
use crate::domain::calloff as calloff_rules;
use chrono::{Datelike, NaiveDate};

/// What a contract's row warns of, in words.
pub fn warning(c: &Utilisation) -> String {
    let mut parts = Vec::new();
    if c.near_exhaustion {
        parts.push(format!(
            "nahezu ausgeschöpft (ab {} %)",
            calloff_rules::ALERT_UTILISATION_PERCENT
        ));
    }
    if c.near_expiry {
        parts.push(format!(
            "läuft in höchstens {} Tagen aus",
            calloff_rules::ALERT_EXPIRY_DAYS
        ));
    }
    if c.expired {
        parts.push("abgelaufen".to_string());
    }
    parts.join("; ")
}

/// Years as the filter offers them: those with figures, and the current one.
pub fn year_choices(d: &Dashboard, today: NaiveDate) -> Vec<i32> {
    let mut y = d.years.clone();
    y.push(today.year());
    y.sort_unstable();
    y.dedup();
    y
}
