//! Review before the Vergabekammer: from the chamber's notice of a review application no
//! Zuschlag may be given (§ 169 (1) GWB) until the chamber has decided and the two weeks for an
//! immediate appeal have passed (§ 172 (1) GWB); an appeal keeps the bar two weeks longer (§ 173
//! (1) sentence 2), or until the appeal court decides where it extends it (sentence 3); a
//! withdrawn application ends the bar at once.
//!
//! The two-week periods run from service of the decision and end with the same weekday two
//! weeks later (§ 222 (1) ZPO with §§ 187 (1), 188 (2) BGB): counted as 14 days from the day
//! after, moved past weekends and holidays (§ 222 (2) ZPO). The bar enforces the timing only;
//! what the chamber ordered (e.g. a new evaluation) is the officer's to carry out.

use super::period::{self, Calendar, Rules};
use chrono::{DateTime, NaiveDate, Utc};

/// § 172 (1) GWB: the immediate appeal within two weeks of service.
pub const APPEAL_DAYS: i64 = 14;
/// § 173 (1) sentence 2 GWB: the appeal's suspensive effect ends two weeks after the appeal
/// period.
pub const APPEAL_EFFECT_DAYS: i64 = 14;

/// A review application as recorded by the officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub chamber: String,
    pub file_number: String,
    /// When the chamber notified the cooperative in text form (§ 169 (1)).
    pub notified_at: DateTime<Utc>,
    /// Service of the chamber's decision on the applicant (the appeal period runs from it).
    pub decided_at: Option<DateTime<Utc>>,
    /// The chamber granted the application (ordered measures or forbade the award).
    pub decision_granted: bool,
    /// The officer carried out what a granting decision ordered.
    pub complied_at: Option<DateTime<Utc>>,
    /// The officer confirmed, after the appeal period, that no appeal was filed (e.g. asked
    /// the appeal court).
    pub no_appeal_confirmed_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// An immediate appeal against the decision (§ 171 GWB).
    pub appeal_filed_at: Option<DateTime<Utc>>,
    /// The appeal court extended the suspensive effect until this day (end of day).
    pub bar_extended_until: Option<NaiveDate>,
    /// The appeal court extended it until its decision (§ 173 (1) sentence 3).
    pub bar_extended_until_decision: bool,
    pub appeal_decided_at: Option<DateTime<Utc>>,
}

/// Whether, and until when, a review bars the Zuschlag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bar {
    /// No bar (any more).
    Free,
    /// Barred until this moment, for the reason given.
    Until(DateTime<Utc>, String),
    /// Barred until something still to happen (a decision), for the reason given.
    Open(String),
}

impl Review {
    fn name(&self) -> String {
        format!("Nachprüfungsverfahren {} (Az. {})", self.chamber, self.file_number)
    }

    /// The bar this review puts on the Zuschlag, as things stand.
    pub fn bar(&self, calendar: &Calendar) -> Bar {
        let name = self.name();
        if self.withdrawn_at.is_some() {
            return Bar::Free;
        }
        let Some(decided) = self.decided_at else {
            return Bar::Open(format!(
                "{name}: Seit der Mitteilung am {} darf der Zuschlag bis zur Entscheidung der Vergabekammer und dem Ablauf der Beschwerdefrist nicht erteilt werden (§ 169 Abs. 1 GWB).",
                at(self.notified_at)
            ));
        };
        if self.appeal_decided_at.is_some() {
            return Bar::Free;
        }
        if self.decision_granted {
            // The chamber ordered measures (or forbade the award): no Zuschlag against its
            // decision until they are carried out or the appeal court decides otherwise.
            return match self.complied_at {
                Some(_) => Bar::Free,
                None => Bar::Open(format!(
                    "{name}: Die Vergabekammer hat dem Antrag stattgegeben; der Zuschlag bleibt gesperrt, bis die angeordneten Maßnahmen umgesetzt und eingetragen sind oder das Beschwerdegericht anders entschieden hat (§ 168 Abs. 1, § 173 Abs. 3 GWB)."
                )),
            };
        }
        let appeal = period::days_from(decided, APPEAL_DAYS, calendar);
        let effect_end = period::last_day_after(appeal.last_day, APPEAL_EFFECT_DAYS, calendar);
        let Some(_) = self.appeal_filed_at else {
            if self.no_appeal_confirmed_at.is_some_and(|t| t >= appeal.ends_at) {
                return Bar::Free;
            }
            // An appeal filed on the last day of the period keeps the bar (§ 173 (1) sentence
            // 1), and the officer may hear of it days later: without the officer's confirmation
            // that none was filed, the bar holds as long as an appeal would have kept it.
            return Bar::Until(
                period::berlin_midnight(effect_end + chrono::Duration::days(1)),
                format!(
                    "{name}: Die Beschwerdefrist nach § 172 Abs. 1 GWB läuft bis {}, 24:00 Uhr (Berechnung: {}). Eine bis dahin eingelegte sofortige Beschwerde sperrt den Zuschlag bis einschließlich {} (§ 173 Abs. 1 GWB); so lange bleibt er gesperrt, es sei denn, nach Ablauf der Beschwerdefrist ist eingetragen, dass keine Beschwerde eingelegt wurde.",
                    appeal.last_day.format("%d.%m.%Y"),
                    appeal.explain_by(calendar, "Zustellung der Entscheidung", Rules::Zpo),
                    effect_end.format("%d.%m.%Y")
                ),
            );
        };
        if self.bar_extended_until_decision {
            return Bar::Open(format!(
                "{name}: Das Beschwerdegericht hat die aufschiebende Wirkung bis zu seiner Entscheidung verlängert (§ 173 Abs. 1 Satz 3 GWB)."
            ));
        }
        let last = self.bar_extended_until.map_or(effect_end, |d| d.max(effect_end));
        Bar::Until(
            period::berlin_midnight(last + chrono::Duration::days(1)),
            format!(
                "{name}: Die sofortige Beschwerde hat aufschiebende Wirkung bis einschließlich {} (§ 173 Abs. 1 GWB); bis dahin darf der Zuschlag nicht erteilt werden.",
                last.format("%d.%m.%Y")
            ),
        )
    }

    /// Why the Zuschlag is barred at `now`, if it is.
    pub fn barred_at(&self, now: DateTime<Utc>, calendar: &Calendar) -> Option<String> {
        match self.bar(calendar) {
            Bar::Free => None,
            Bar::Until(end, why) => (now < end).then_some(why),
            Bar::Open(why) => Some(why),
        }
    }
}

fn at(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Berlin)
        .format("%d.%m.%Y, %H:%M Uhr")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use holiday_de::GermanRegion;

    fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Berlin
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn cal() -> Calendar {
        Calendar::new(GermanRegion::Hessen)
    }

    fn notified() -> Review {
        Review {
            chamber: "Vergabekammer Hessen".into(),
            file_number: "69d-VK-12/2027".into(),
            notified_at: berlin(2027, 2, 1, 11, 0),
            decided_at: None,
            decision_granted: false,
            complied_at: None,
            no_appeal_confirmed_at: None,
            withdrawn_at: None,
            appeal_filed_at: None,
            bar_extended_until: None,
            bar_extended_until_decision: false,
            appeal_decided_at: None,
        }
    }

    #[test]
    fn a_pending_application_bars_without_end() {
        let r = notified();
        let why = r.barred_at(berlin(2027, 12, 31, 12, 0), &cal()).unwrap();
        assert!(
            why.contains("§ 169 Abs. 1 GWB") && why.contains("69d-VK-12/2027"),
            "{why}"
        );
    }

    #[test]
    fn a_withdrawal_ends_the_bar_at_once() {
        let r = Review {
            withdrawn_at: Some(berlin(2027, 2, 10, 9, 0)),
            ..notified()
        };
        assert_eq!(r.barred_at(berlin(2027, 2, 10, 9, 1), &cal()), None);
    }

    #[test]
    fn after_the_decision_the_bar_holds_as_long_as_an_unknown_appeal_would() {
        // Served Monday 1 March 2027: the appeal period ends with Monday 15 March; an appeal
        // filed that day would bar to 29 March = Ostermontag → Tuesday 30 March.
        let r = Review {
            decided_at: Some(berlin(2027, 3, 1, 10, 0)),
            ..notified()
        };
        let why = r.barred_at(berlin(2027, 3, 16, 9, 0), &cal()).unwrap();
        assert!(
            why.contains("läuft bis 15.03.2027, 24:00 Uhr") && why.contains("bis einschließlich 30.03.2027"),
            "{why}"
        );
        assert_eq!(r.barred_at(berlin(2027, 3, 31, 0, 0), &cal()), None);
        // Confirmed after the period that no appeal was filed: free from then on.
        let confirmed = Review {
            no_appeal_confirmed_at: Some(berlin(2027, 3, 16, 9, 30)),
            ..r.clone()
        };
        assert_eq!(confirmed.barred_at(berlin(2027, 3, 16, 9, 31), &cal()), None);
        // A confirmation before the period ended proves nothing.
        let early = Review {
            no_appeal_confirmed_at: Some(berlin(2027, 3, 15, 9, 0)),
            ..r
        };
        assert!(early.barred_at(berlin(2027, 3, 20, 9, 0), &cal()).is_some());
    }

    #[test]
    fn an_appeal_period_ending_on_easter_monday_runs_to_tuesday() {
        // Served Monday 15 March 2027: day 14 is Monday 29 March (Ostermontag) → 30 March.
        let r = Review {
            decided_at: Some(berlin(2027, 3, 15, 10, 0)),
            ..notified()
        };
        let why = r.barred_at(berlin(2027, 3, 30, 12, 0), &cal()).unwrap();
        assert!(
            why.contains("bis 30.03.2027, 24:00 Uhr")
                && why.contains("§ 172 Abs. 1 GWB")
                && why.contains("(§ 222 Abs. 2 ZPO)"),
            "{why}"
        );
    }

    #[test]
    fn a_granting_decision_bars_until_its_measures_are_carried_out() {
        let granted = Review {
            decided_at: Some(berlin(2027, 3, 1, 10, 0)),
            decision_granted: true,
            ..notified()
        };
        let why = granted.barred_at(berlin(2027, 9, 1, 9, 0), &cal()).unwrap();
        assert!(
            why.contains("stattgegeben") && why.contains("§ 173 Abs. 3 GWB"),
            "{why}"
        );
        let complied = Review {
            complied_at: Some(berlin(2027, 4, 1, 9, 0)),
            ..granted
        };
        assert_eq!(complied.barred_at(berlin(2027, 4, 1, 9, 1), &cal()), None);
    }

    #[test]
    fn an_appeal_keeps_the_bar_two_weeks_after_the_appeal_period() {
        // Served 1 March, appeal period to Monday 15 March, effect to Monday 29 March =
        // Ostermontag → Tuesday 30 March.
        let r = Review {
            decided_at: Some(berlin(2027, 3, 1, 10, 0)),
            appeal_filed_at: Some(berlin(2027, 3, 10, 10, 0)),
            ..notified()
        };
        let why = r.barred_at(berlin(2027, 3, 30, 23, 0), &cal()).unwrap();
        assert!(why.contains("bis einschließlich 30.03.2027"), "{why}");
        assert_eq!(r.barred_at(berlin(2027, 3, 31, 0, 0), &cal()), None);
    }

    #[test]
    fn the_appeal_court_may_extend_the_bar_until_it_decides() {
        let extended = Review {
            decided_at: Some(berlin(2027, 3, 1, 10, 0)),
            appeal_filed_at: Some(berlin(2027, 3, 10, 10, 0)),
            bar_extended_until_decision: true,
            ..notified()
        };
        assert!(extended.barred_at(berlin(2028, 1, 1, 0, 0), &cal()).is_some());
        let decided = Review {
            appeal_decided_at: Some(berlin(2027, 6, 1, 10, 0)),
            ..extended.clone()
        };
        assert_eq!(decided.barred_at(berlin(2027, 6, 1, 10, 1), &cal()), None);
        let until = Review {
            bar_extended_until_decision: false,
            bar_extended_until: Some(NaiveDate::from_ymd_opt(2027, 5, 3).unwrap()),
            ..extended
        };
        assert!(until.barred_at(berlin(2027, 5, 3, 23, 59), &cal()).is_some());
        assert_eq!(until.barred_at(berlin(2027, 5, 4, 0, 0), &cal()), None);
    }
}
