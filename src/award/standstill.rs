//! The § 134 GWB standstill of an award, bidder by bidder from the sending of each information
//! (`domain::standstill` counts), and the officer's record of a sending by fax, post or courier.

use super::{find_lot, Award};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::schema::{award_notice_mails, award_notices, awards, organisations, outbox};
use crate::db::{write_tx, DbConn};
use crate::domain::bid::AwardStatus;
use crate::domain::ids::{AwardId, BidId, OrgId, TenderId};
use crate::domain::period::{Calendar, Rules};
use crate::domain::roles::Role;
use crate::domain::standstill::{self, BidderStandstill, Channel, Information, Mail};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::mail::OutboxStatus;
use crate::tender;
use crate::AppState;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// One mail of a bidder's information, as the officer sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoticeMail {
    pub recipient: String,
    pub status: OutboxStatus,
    pub status_label: &'static str,
    /// Versandzeitpunkt, UTC
    pub sent_at: Option<NaiveDateTime>,
    /// Der im Schreiben genannte Tag der Absendung
    pub stated_day: Option<NaiveDate>,
}

/// A sending by another way, recorded by an officer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub channel: Channel,
    pub channel_label: &'static str,
    /// Zeitpunkt der Absendung, UTC
    pub sent_at: NaiveDateTime,
    pub note: String,
    pub recorded_at: NaiveDateTime,
}

/// One unsuccessful bidder's information and the standstill it started.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoticeStandstill {
    #[schema(value_type = i64)]
    pub bid_id: BidId,
    #[schema(value_type = i64)]
    pub vendor_id: OrgId,
    pub vendor: String,
    pub rank: Option<i32>,
    pub mails: Vec<NoticeMail>,
    pub delivery: Option<Delivery>,
    pub standstill: BidderStandstill,
    /// Wie die Wartefrist dieses Bieters berechnet wurde
    pub explanation: Option<String>,
    /// Was den Vertragsschluss wegen dieses Bieters noch hindert
    pub blocker: Option<String>,
}

/// The standstill of one award over all bidders it informs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Standstill {
    pub notices: Vec<NoticeStandstill>,
    /// Erster Tag, an dem der Vertrag geschlossen werden kann; null, solange eine Information
    /// nicht abgesendet ist
    pub conclusion_possible_from: Option<NaiveDate>,
    /// Was den Vertragsschluss noch hindert (leer, wenn nur die Frist läuft)
    pub blockers: Vec<String>,
}

type MailRow = (
    BidId,
    String,
    OutboxStatus,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);
type NoticeRow = (
    BidId,
    OrgId,
    Option<i32>,
    Option<Channel>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<NaiveDateTime>,
);

/// The standstill of `award`: each bidder's information with its mails and recorded sending,
/// its period, and the first day the contract may be concluded.
pub fn of(conn: &mut DbConn, calendar: &Calendar, award: &Award) -> AppResult<Standstill> {
    let rows: Vec<NoticeRow> = award_notices::table
        .filter(award_notices::award_id.eq(award.id))
        .order((award_notices::bid_rank.asc(), award_notices::bid_id.asc()))
        .select((
            award_notices::bid_id,
            award_notices::vendor_id,
            award_notices::bid_rank,
            award_notices::delivery_channel.nullable(),
            award_notices::delivery_sent_at,
            award_notices::delivery_note,
            award_notices::delivery_recorded_at,
        ))
        .load(conn)?;
    let vendors: BTreeMap<OrgId, String> = organisations::table
        .filter(organisations::id.eq_any(rows.iter().map(|r| r.1).collect::<Vec<_>>()))
        .select((organisations::id, organisations::name))
        .load::<(OrgId, String)>(conn)?
        .into_iter()
        .collect();
    let mut mails: BTreeMap<BidId, Vec<NoticeMail>> = BTreeMap::new();
    let mail_rows: Vec<MailRow> = award_notice_mails::table
        .inner_join(outbox::table)
        .filter(award_notice_mails::award_id.eq(award.id))
        .order(outbox::id.asc())
        .select((
            award_notice_mails::bid_id,
            outbox::recipient,
            outbox::status,
            outbox::sent_at,
            outbox::claimed_until,
        ))
        .load(conn)?;
    for (bid_id, recipient, status, sent_at, claimed_until) in mail_rows {
        // The letter states the day of its claim's end (`standstill::stated_day`); the claim
        // that sent it is the last one, and its end stays recorded.
        let stated_day = match status {
            OutboxStatus::Sent => claimed_until.or(sent_at).map(|t| standstill::stated_day(t.and_utc())),
            _ => None,
        };
        mails.entry(bid_id).or_default().push(NoticeMail {
            recipient,
            status_label: status.label(),
            status,
            sent_at,
            stated_day,
        });
    }
    let floor = award.standstill_last_day + chrono::Duration::days(1);
    let mut notices = Vec::new();
    let mut informations = Vec::new();
    for (bid_id, vendor_id, rank, channel, delivered_at, note, recorded_at) in rows {
        let vendor = vendors.get(&vendor_id).cloned().unwrap_or_default();
        let own = mails.remove(&bid_id).unwrap_or_default();
        let delivery = match (channel, delivered_at, recorded_at) {
            (Some(channel), Some(sent_at), Some(recorded_at)) => Some(Delivery {
                channel_label: channel.label(),
                channel,
                sent_at,
                note: note.unwrap_or_default(),
                recorded_at,
            }),
            _ => None,
        };
        let information = Information {
            bidder: vendor.clone(),
            mails: own
                .iter()
                .map(|m| match (m.status, m.sent_at, m.stated_day) {
                    (OutboxStatus::Sent, Some(sent_at), Some(stated_day)) => Mail::Sent {
                        sent_at: sent_at.and_utc(),
                        stated_day,
                    },
                    (OutboxStatus::Failed, _, _) => Mail::Failed,
                    _ => Mail::Waiting,
                })
                .collect(),
            delivered: delivery.as_ref().map(|d| (d.channel, d.sent_at.and_utc())),
        };
        let state = information.standstill(calendar);
        let explanation = match &state {
            BidderStandstill::Running { period, channel } => Some(period.explain_by(
                calendar,
                &format!("Absendung der Information ({})", channel.label()),
                Rules::Bgb,
            )),
            _ => None,
        };
        notices.push(NoticeStandstill {
            bid_id,
            vendor_id,
            blocker: standstill::blocker(&vendor, &state),
            vendor,
            rank,
            mails: own,
            delivery,
            standstill: state,
            explanation,
        });
        informations.push(information);
    }
    let (conclusion_possible_from, blockers) = match standstill::earliest_conclusion(floor, &informations, calendar) {
        Ok(day) => (Some(day), Vec::new()),
        Err(blockers) => (None, blockers),
    };
    Ok(Standstill {
        notices,
        conclusion_possible_from,
        blockers,
    })
}

/// What an officer records about a sending by another way.
#[derive(Debug, Clone)]
pub struct DeliveryCommand {
    pub bid_id: BidId,
    pub channel: Channel,
    /// When it was sent (UTC).
    pub sent_at: NaiveDateTime,
    /// Where to and how: fax number, registered-mail number, name of the courier.
    pub note: String,
}

/// Records that the § 134 information to the bidder of `cmd.bid_id` was sent by another way
/// (a mail failed, or the firm has no one to mail). Its standstill runs from that sending; the
/// bidder's mails not yet sent are withdrawn, so that no second letter names other dates.
pub fn record_delivery(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    tender_id: TenderId,
    award_id: AwardId,
    cmd: DeliveryCommand,
) -> AppResult<()> {
    user.require(&[Role::Officer])?;
    let note = cmd.note.trim().to_string();
    let mut errors = FieldErrors::new();
    if note.is_empty() || note.chars().count() > 500 {
        errors.entry("note".into()).or_default().push(
            "Bitte angeben, wohin und wie die Information ging (z. B. Faxnummer, Einschreiben-Nummer, Name des Boten); höchstens 500 Zeichen."
                .into(),
        );
    }
    let now = state.clock.now_naive();
    if cmd.sent_at > now {
        errors.entry("sent_at".into()).or_default().push(
            "Der Zeitpunkt der Absendung liegt in der Zukunft; eintragen lässt sich nur, was schon abgesendet ist."
                .into(),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    write_tx(conn, |c| {
        let t = tender::find_locked(c, tender_id)?;
        super::require_open_for_decisions(&t)?;
        let a: Award = awards::table
            .find(award_id)
            .filter(awards::tender_id.eq(t.id))
            .select(Award::as_select())
            .first(c)?;
        if a.status == AwardStatus::Concluded {
            return Err(AppError::Conflict(
                "Der Vertrag ist bereits geschlossen; eine Absendung lässt sich nicht mehr eintragen.".into(),
            ));
        }
        find_lot(c, tender_id, a.lot_id)?;
        if cmd.sent_at < a.informed_at {
            return Err(AppError::field(
                "sent_at",
                "Die Information kann nicht vor der Zuschlagsentscheidung abgesendet worden sein.",
            ));
        }
        let notice = award_notices::table
            .filter(award_notices::award_id.eq(award_id))
            .filter(award_notices::bid_id.eq(cmd.bid_id));
        let recorded: Option<Option<NaiveDateTime>> =
            notice.select(award_notices::delivery_recorded_at).first(c).optional()?;
        match recorded {
            None => return Err(AppError::NotFound),
            Some(Some(_)) => {
                return Err(AppError::Conflict(
                    "Für diesen Bieter ist bereits eine Absendung eingetragen.".into(),
                ))
            }
            Some(None) => {}
        }
        diesel::update(notice)
            .set((
                award_notices::delivery_channel.eq(Some(cmd.channel)),
                award_notices::delivery_sent_at.eq(Some(cmd.sent_at)),
                award_notices::delivery_note.eq(Some(&note)),
                award_notices::delivery_recorded_by.eq(Some(user.id)),
                award_notices::delivery_recorded_at.eq(Some(now)),
            ))
            .execute(c)?;
        let withdrawn = diesel::update(
            outbox::table
                .filter(
                    outbox::id.eq_any(
                        award_notice_mails::table
                            .filter(award_notice_mails::award_id.eq(award_id))
                            .filter(award_notice_mails::bid_id.eq(cmd.bid_id))
                            .select(award_notice_mails::outbox_id),
                    ),
                )
                .filter(outbox::status.eq(OutboxStatus::Pending)),
        )
        .set((
            outbox::status.eq(OutboxStatus::Failed),
            outbox::last_error.eq(Some(format!(
                "Zurückgezogen: Absendung auf anderem Weg eingetragen ({})",
                cmd.channel.label()
            ))),
        ))
        .execute(c)?;
        audit::record(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "award.delivery_recorded",
                "tender",
                tender_id,
                json!({ "award_id": award_id, "bid_id": cmd.bid_id, "channel": cmd.channel, "channel_label": cmd.channel.label(), "sent_at": cmd.sent_at,
                        "note": note, "withdrawn_mails": withdrawn }),
            ),
        )?;
        Ok(())
    })
}
