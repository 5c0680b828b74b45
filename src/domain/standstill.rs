//! The § 134 GWB standstill: 10 calendar days after information sent electronically or by fax,
//! 15 otherwise, counted per bidder from the day after its information was *sent*; the contract
//! waits for the latest end over all bidders and for every information to be sent at all.
//!
//! A period ending on a Saturday, Sunday or public holiday of the cooperative's Land ends on the
//! next working day (§ 193 BGB; disputed for the standstill, and the later end is the safer
//! reading: a contract concluded a day late is valid, one concluded a day early void under § 135
//! GWB). Holidays are computed.

use super::period::{self, Calendar, DayPeriod};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use holiday_de::GermanRegion;
use serde::Serialize;

/// § 134 (2) GWB.
pub const ELECTRONIC_DAYS: i64 = 10;
pub const OTHER_DAYS: i64 = 15;

crate::coded_enum!(
    /// How a § 134 information was sent. E-mail (through the outbox) and fax are "electronic or
    /// by fax" (10 days); post and a courier or personal delivery are not (15 days: § 134 (2)
    /// names only the first two for the shorter period, so a courier takes the longer one).
    Channel {
        Email => "email", "E-Mail",
        Fax => "fax", "Fax",
        Post => "post", "Post",
        Courier => "courier", "Bote oder persönliche Übergabe",
    }
);

impl Channel {
    /// The standstill's length for information sent this way.
    pub fn days(self) -> i64 {
        match self {
            Channel::Email | Channel::Fax => ELECTRONIC_DAYS,
            Channel::Post | Channel::Courier => OTHER_DAYS,
        }
    }
}

/// One mail of a bidder's § 134 information, as the outbox has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mail {
    /// Sent at `sent_at`; `stated_day` is the sending day the letter itself states (filled in
    /// when it was sent; never earlier than the true day).
    Sent {
        sent_at: DateTime<Utc>,
        stated_day: NaiveDate,
    },
    /// Waiting in the outbox (also between retries).
    Waiting,
    /// The outbox gave up on it.
    Failed,
}

/// Everything known about one bidder's § 134 information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Information {
    pub bidder: String,
    /// One mail per user of the firm; none when it has no active user.
    pub mails: Vec<Mail>,
    /// A sending by another way, recorded by an officer.
    pub delivered: Option<(Channel, DateTime<Utc>)>,
}

/// Where one bidder's standstill stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BidderStandstill {
    /// Informed: its standstill runs (or ran) as counted here.
    Running { period: DayPeriod, channel: Channel },
    /// A mail still waits in the outbox.
    Waiting,
    /// A mail failed and nothing else was recorded.
    Failed,
    /// No one to mail and nothing else was recorded.
    NoRecipient,
}

/// The standstill one sending starts: counted from the later of the true sending day and the
/// day the letter states.
pub fn period_of(
    channel: Channel,
    sent_at: DateTime<Utc>,
    stated_day: Option<NaiveDate>,
    calendar: &Calendar,
) -> DayPeriod {
    let day = stated_day.map_or(period::berlin_day(sent_at), |d| d.max(period::berlin_day(sent_at)));
    period::days_from_day(sent_at, day, channel.days(), calendar)
}

impl Information {
    /// The bidder's standstill: it runs once every mail was sent (the latest sending counts)
    /// or an officer recorded another sending; a recorded sending stands in for the mails that
    /// failed, and a mail sent after it still counts (it states its own, later date).
    pub fn standstill(&self, calendar: &Calendar) -> BidderStandstill {
        let mut sendings: Vec<(Channel, DayPeriod)> = self
            .mails
            .iter()
            .filter_map(|m| match m {
                Mail::Sent { sent_at, stated_day } => Some((
                    Channel::Email,
                    period_of(Channel::Email, *sent_at, Some(*stated_day), calendar),
                )),
                _ => None,
            })
            .collect();
        // A mail still waiting (or being sent) blocks even after a recorded sending: it may go
        // out later and name its own, later dates (recording a sending withdraws the waiting
        // ones; one in the middle of being sent is not withdrawn and must finish first).
        if self.mails.contains(&Mail::Waiting) {
            return BidderStandstill::Waiting;
        }
        match self.delivered {
            Some((channel, at)) => sendings.push((channel, period_of(channel, at, None, calendar))),
            None if self.mails.is_empty() => return BidderStandstill::NoRecipient,
            None if self.mails.contains(&Mail::Failed) => return BidderStandstill::Failed,
            None => {}
        }
        sendings
            .into_iter()
            .max_by_key(|(_, p)| p.ends_at)
            .map_or(BidderStandstill::NoRecipient, |(channel, period)| {
                BidderStandstill::Running { period, channel }
            })
    }
}

/// What keeps a contract from being concluded yet, in German, naming the bidder and what to do.
pub fn blocker(bidder: &str, state: &BidderStandstill) -> Option<String> {
    const OTHER_WAY: &str =
        "senden Sie die Information auf anderem Weg (E-Mail aus Ihrem Postfach, Fax, Post oder Bote) und tragen Sie die Absendung ein";
    match state {
        BidderStandstill::Running { .. } => None,
        BidderStandstill::Waiting => Some(format!(
            "Die Information nach § 134 GWB an {bidder} wartet noch im Postausgang; die Wartefrist beginnt erst mit der Absendung."
        )),
        BidderStandstill::Failed => Some(format!(
            "Die E-Mail mit der Information nach § 134 GWB an {bidder} ist fehlgeschlagen; {OTHER_WAY}."
        )),
        BidderStandstill::NoRecipient => Some(format!(
            "{bidder} hat keinen aktiven Benutzer, der die Information nach § 134 GWB per E-Mail erhalten könnte; {OTHER_WAY}."
        )),
    }
}

/// When a contract may be concluded after informing `bidders`: the day after the latest end
/// of their standstills, and never before `not_before` (the day after a standstill counted
/// from the decision: the floor when there is no other bidder to inform). Err lists what
/// blocks it.
pub fn earliest_conclusion(
    not_before: NaiveDate,
    bidders: &[Information],
    calendar: &Calendar,
) -> Result<NaiveDate, Vec<String>> {
    let mut first = not_before;
    let mut blockers = Vec::new();
    for b in bidders {
        let state = b.standstill(calendar);
        match &state {
            BidderStandstill::Running { period, .. } => first = first.max(period.last_day + Duration::days(1)),
            other => blockers.extend(blocker(&b.bidder, other)),
        }
    }
    if blockers.is_empty() {
        Ok(first)
    } else {
        Err(blockers)
    }
}

/// Where a § 134 letter queued in the outbox takes the dates that are known only when it is
/// sent; `letter_dates` fills them. Plain ASCII that HTML escaping leaves alone.
pub const MARK_LAST_DAY: &str = "[[WARTEFRIST_ENDE]]";
pub const MARK_FIRST_DAY: &str = "[[FRUEHESTER_VERTRAGSSCHLUSS]]";

/// The dates a § 134 letter (by e-mail) states when a sender's claim on it lasts until
/// `claimed_until`: the last day of the standstill and the earliest day of conclusion, in
/// German notation, paired with their marks. The letter names no sending day: the day it
/// counts from may be a day later than the true one (see `stated_day`), and § 134 (1) GWB
/// asks for the earliest date of conclusion.
pub fn letter_dates(claimed_until: DateTime<Utc>, calendar: &Calendar) -> [(&'static str, String); 2] {
    let last = period::last_day_after(stated_day(claimed_until), Channel::Email.days(), calendar);
    let german = |d: NaiveDate| d.format("%d.%m.%Y").to_string();
    [
        (MARK_LAST_DAY, german(last)),
        (MARK_FIRST_DAY, german(last + Duration::days(1))),
    ]
}

/// The sending day a § 134 letter states when a sender claims it at `claimed_until` minus its
/// claim window: the Berlin day at the claim's end. A send is recorded only within its claim
/// (a later one is another sender's), so the true sending day is never later than the stated
/// one, and the earliest date of conclusion the letter names is never too early.
pub fn stated_day(claimed_until: DateTime<Utc>) -> NaiveDate {
    period::berlin_day(claimed_until)
}

/// The German states by their usual two-letter code, for configuration.
pub fn region(code: &str) -> Option<GermanRegion> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "BW" => GermanRegion::BadenWuerttemberg,
        "BY" => GermanRegion::Bayern,
        "BE" => GermanRegion::Berlin,
        "BB" => GermanRegion::Brandenburg,
        "HB" => GermanRegion::Bremen,
        "HH" => GermanRegion::Hamburg,
        "HE" => GermanRegion::Hessen,
        "MV" => GermanRegion::MechlenburgVorpommern,
        "NI" => GermanRegion::Niedersachsen,
        "NW" => GermanRegion::NordrheinWestfalen,
        "RP" => GermanRegion::RheinlandPfalz,
        "SL" => GermanRegion::Saarland,
        "SN" => GermanRegion::Sachsen,
        "ST" => GermanRegion::SachsenAnhalt,
        "SH" => GermanRegion::SchleswigHolstein,
        "TH" => GermanRegion::Thueringen,
        _ => return None,
    })
}

/// The last day of the standstill for information sent on `sent` (local date), counted as every
/// period is (`period::last_day_after`).
pub fn last_day(sent: NaiveDate, electronic: bool, region: GermanRegion) -> NaiveDate {
    let days = if electronic { ELECTRONIC_DAYS } else { OTHER_DAYS };
    super::period::last_day_after(sent, days, &super::period::Calendar::new(region))
}

/// The first day the contract may be concluded: the day after the last day of the standstill.
pub fn first_conclusion_day(sent: NaiveDate, electronic: bool, region: GermanRegion) -> NaiveDate {
    last_day(sent, electronic, region) + Duration::days(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::period::Rules;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const HE: GermanRegion = GermanRegion::Hessen;

    #[test]
    fn ten_days_from_the_day_after_sending() {
        // Sent Monday 2026-11-02 → day 1 is 03.11., day 10 is Thursday 12.11.
        assert_eq!(last_day(d(2026, 11, 2), true, HE), d(2026, 11, 12));
        assert_eq!(first_conclusion_day(d(2026, 11, 2), true, HE), d(2026, 11, 13));
    }

    #[test]
    fn fifteen_days_when_not_electronic() {
        assert_eq!(last_day(d(2026, 11, 2), false, HE), d(2026, 11, 17));
    }

    #[test]
    fn weekend_end_moves_to_monday() {
        // Sent Wednesday 2026-11-11 → day 10 Saturday 21.11. → Monday 23.11.
        assert_eq!(last_day(d(2026, 11, 11), true, HE), d(2026, 11, 23));
    }

    #[test]
    fn easter_monday_in_2027_moves_to_tuesday() {
        // Easter Sunday 2027 is 28 March; sent Friday 19 March → day 10 is Monday 29 March
        // (Ostermontag) → Tuesday 30 March.
        assert_eq!(last_day(d(2027, 3, 19), true, HE), d(2027, 3, 30));
    }

    #[test]
    fn good_friday_then_weekend_then_easter_monday() {
        // 2026: Good Friday 3 April, Easter Monday 6 April. Sent 24 March → day 10 Friday 3 April
        // → Sat, Sun, Easter Monday → Tuesday 7 April.
        assert_eq!(last_day(d(2026, 3, 24), true, HE), d(2026, 4, 7));
    }

    #[test]
    fn corpus_christi_is_a_holiday_in_hessen_not_in_berlin() {
        // Fronleichnam 2026: Thursday 4 June. Sent 25 May → day 10 is 4 June.
        assert_eq!(last_day(d(2026, 5, 25), true, HE), d(2026, 6, 5));
        assert_eq!(last_day(d(2026, 5, 25), true, GermanRegion::Berlin), d(2026, 6, 4));
    }

    #[test]
    fn christmas_and_new_year() {
        // Sent 15 Dec 2026 → day 10 Friday 25 Dec → 26 Sat, 27 Sun → Monday 28 Dec.
        assert_eq!(last_day(d(2026, 12, 15), true, HE), d(2026, 12, 28));
        // Sent 22 Dec 2026 → day 10 Friday 1 Jan 2027 → Monday 4 Jan.
        assert_eq!(last_day(d(2026, 12, 22), true, HE), d(2027, 1, 4));
    }

    #[test]
    fn unity_day_and_labour_day() {
        // 3 Oct 2028 is a Tuesday; sent 23 Sep → day 10 = 3 Oct → 4 Oct.
        assert_eq!(last_day(d(2028, 9, 23), true, HE), d(2028, 10, 4));
        // 1 May 2029 Tuesday; sent 21 April → 2 May.
        assert_eq!(last_day(d(2029, 4, 21), true, HE), d(2029, 5, 2));
    }

    /// An instant given in Berlin local time.
    fn berlin(y: i32, m: u32, day: u32, h: u32, min: u32, sec: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        chrono_tz::Europe::Berlin
            .with_ymd_and_hms(y, m, day, h, min, sec)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn cal() -> Calendar {
        Calendar::new(HE)
    }

    fn mailed(sent_at: DateTime<Utc>) -> Mail {
        Mail::Sent {
            sent_at,
            stated_day: period::berlin_day(sent_at),
        }
    }

    fn bidder(mails: Vec<Mail>, delivered: Option<(Channel, DateTime<Utc>)>) -> Information {
        Information {
            bidder: "Beispiel GmbH".into(),
            mails,
            delivered,
        }
    }

    fn last_of(info: &Information) -> NaiveDate {
        match info.standstill(&cal()) {
            BidderStandstill::Running { period, .. } => period.last_day,
            other => panic!("not running: {other:?}"),
        }
    }

    #[test]
    fn sent_a_second_before_midnight_counts_from_that_day() {
        // Monday 7 Dec 2026, 23:59:30: day 1 is Tuesday 8 Dec, day 10 Thursday 17 Dec.
        let info = bidder(vec![mailed(berlin(2026, 12, 7, 23, 59, 30))], None);
        assert_eq!(last_of(&info), d(2026, 12, 17));
    }

    #[test]
    fn sent_ten_seconds_after_midnight_counts_from_the_next_day() {
        // Tuesday 8 Dec 2026, 00:00:10 (queued at 23:59:30 the day before): day 10 is Friday 18 Dec.
        let info = bidder(vec![mailed(berlin(2026, 12, 8, 0, 0, 10))], None);
        assert_eq!(last_of(&info), d(2026, 12, 18));
        let first = earliest_conclusion(d(2026, 12, 1), &[info], &cal());
        assert_eq!(first, Ok(d(2026, 12, 19)));
    }

    #[test]
    fn a_later_stated_day_counts_over_the_true_one() {
        // Sent 23:57 on 7 Dec within a claim that ran past midnight: the letter names 8 Dec.
        let info = bidder(
            vec![Mail::Sent {
                sent_at: berlin(2026, 12, 7, 23, 57, 0),
                stated_day: d(2026, 12, 8),
            }],
            None,
        );
        assert_eq!(last_of(&info), d(2026, 12, 18));
        let BidderStandstill::Running { period, .. } = info.standstill(&cal()) else {
            panic!()
        };
        let text = period.explain_by(&cal(), "Absendung der Information", Rules::Bgb);
        assert!(
            text.contains("Tag nach dem 08.12.2026, dem im Schreiben genannten Tag der Absendung der Information; tatsächlich am 07.12.2026, 23:57 Uhr"),
            "{text}"
        );
    }

    #[test]
    fn the_true_day_counts_over_an_earlier_stated_one() {
        let info = bidder(
            vec![Mail::Sent {
                sent_at: berlin(2026, 12, 8, 0, 0, 10),
                stated_day: d(2026, 12, 7),
            }],
            None,
        );
        assert_eq!(last_of(&info), d(2026, 12, 18));
    }

    #[test]
    fn a_waiting_or_failed_mail_or_no_recipient_blocks_the_conclusion() {
        let sent = mailed(berlin(2026, 11, 2, 9, 0, 0));
        for (mails, words) in [
            (vec![sent.clone(), Mail::Waiting], "wartet noch im Postausgang"),
            (vec![Mail::Failed, sent.clone()], "ist fehlgeschlagen"),
            (vec![], "keinen aktiven Benutzer"),
        ] {
            let err = earliest_conclusion(d(2026, 11, 13), &[bidder(mails, None)], &cal()).unwrap_err();
            assert_eq!(err.len(), 1);
            assert!(err[0].contains("Beispiel GmbH") && err[0].contains(words), "{err:?}");
        }
    }

    #[test]
    fn a_recorded_fax_or_letter_stands_in_for_a_failed_mail() {
        // Faxed Monday 2 Nov 2026 10:00: 10 days, to Thursday 12 Nov.
        let faxed = bidder(vec![Mail::Failed], Some((Channel::Fax, berlin(2026, 11, 2, 10, 0, 0))));
        assert_eq!(last_of(&faxed), d(2026, 11, 12));
        // Posted the same day: 15 days, to Tuesday 17 Nov.
        let posted = bidder(vec![], Some((Channel::Post, berlin(2026, 11, 2, 10, 0, 0))));
        assert_eq!(last_of(&posted), d(2026, 11, 17));
        // A courier is not "electronic or by fax": 15 days too.
        let carried = bidder(vec![], Some((Channel::Courier, berlin(2026, 11, 2, 10, 0, 0))));
        assert_eq!(last_of(&carried), d(2026, 11, 17));
    }

    #[test]
    fn a_mail_sent_after_a_recorded_sending_still_counts() {
        // Faxed on 2 Nov; the retried mail went out on 4 Nov and names its own date.
        let info = bidder(
            vec![mailed(berlin(2026, 11, 4, 8, 0, 0))],
            Some((Channel::Fax, berlin(2026, 11, 2, 10, 0, 0))),
        );
        assert_eq!(last_of(&info), d(2026, 11, 16));
    }

    #[test]
    fn a_mail_still_waiting_blocks_even_with_a_recorded_sending() {
        // Being sent when the fax was recorded: it may go out days later with its own dates.
        let info = bidder(vec![Mail::Waiting], Some((Channel::Fax, berlin(2026, 11, 2, 10, 0, 0))));
        assert_eq!(info.standstill(&cal()), BidderStandstill::Waiting);
        // Once it failed (or was withdrawn), the fax counts.
        let info = bidder(vec![Mail::Failed], Some((Channel::Fax, berlin(2026, 11, 2, 10, 0, 0))));
        assert_eq!(last_of(&info), d(2026, 11, 12));
    }

    #[test]
    fn every_mail_of_a_firm_must_be_sent_and_the_latest_counts() {
        let info = bidder(
            vec![
                mailed(berlin(2026, 11, 2, 9, 0, 0)),
                mailed(berlin(2026, 11, 3, 9, 0, 0)),
            ],
            None,
        );
        assert_eq!(last_of(&info), d(2026, 11, 13));
    }

    #[test]
    fn the_latest_bidder_decides_and_the_floor_holds() {
        let early = bidder(vec![mailed(berlin(2026, 11, 2, 9, 0, 0))], None);
        let late = bidder(vec![mailed(berlin(2026, 11, 11, 9, 0, 0))], None);
        // 11 Nov + 10 = Saturday 21 Nov → Monday 23 Nov; conclusion from Tuesday 24 Nov.
        assert_eq!(
            earliest_conclusion(d(2026, 11, 13), &[early.clone(), late], &cal()),
            Ok(d(2026, 11, 24))
        );
        // No one to inform later than the floor: the floor.
        assert_eq!(
            earliest_conclusion(d(2026, 11, 20), &[early], &cal()),
            Ok(d(2026, 11, 20))
        );
        assert_eq!(earliest_conclusion(d(2026, 11, 20), &[], &cal()), Ok(d(2026, 11, 20)));
    }

    #[test]
    fn a_claim_running_past_midnight_states_the_next_day() {
        assert_eq!(stated_day(berlin(2026, 12, 8, 0, 4, 30)), d(2026, 12, 8));
        assert_eq!(stated_day(berlin(2026, 12, 7, 23, 59, 59)), d(2026, 12, 7));
    }

    #[test]
    fn the_standstill_explains_itself_by_the_bgb() {
        // Sent Wednesday 11 Nov 2026: day 10 Saturday 21 Nov, moved to Monday 23 Nov.
        let p = period_of(Channel::Email, berlin(2026, 11, 11, 14, 5, 0), None, &cal());
        let text = p.explain_by(&cal(), "Absendung der Information", Rules::Bgb);
        assert!(
            text.starts_with(
                "10 Tage ab dem 12.11.2026 (Tag nach der Absendung der Information am 11.11.2026, 14:05 Uhr)"
            ),
            "{text}"
        );
        assert!(
            text.contains("(Samstag), verschoben auf den nächsten Werktag Montag, 23.11.2026 (§ 193 BGB)"),
            "{text}"
        );
    }

    #[test]
    fn a_letter_claimed_after_midnight_states_the_later_dates() {
        // Queued at 23:59:30 on 7 Dec, claimed at 00:00:10 on 8 Dec (claim until 00:05:10).
        let dates = letter_dates(berlin(2026, 12, 8, 0, 5, 10), &cal());
        assert_eq!(
            dates,
            [
                (MARK_LAST_DAY, "18.12.2026".to_string()),
                (MARK_FIRST_DAY, "19.12.2026".to_string()),
            ]
        );
    }

    #[test]
    fn region_codes() {
        assert_eq!(region("he"), Some(GermanRegion::Hessen));
        assert_eq!(region("XX"), None);
    }
}
