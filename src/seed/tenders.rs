//! The demo tenders as read from `tenders.csv` and the files around it (lots, questions, bids,
//! evaluations, awards, call-offs), checked before anything is played.

use super::demand::{demo_number, CallPositionRow, CallRow, DemandRow};
use super::{read, CatalogueRow, UserRow, VendorRow};
use crate::domain::calloff::CalloffStatus;
use crate::domain::demand::CallStatus;
use crate::domain::roles::{Role, VendorStatus};
use crate::error::{AppError, AppResult};
use crate::AppState;
use serde::Deserialize;
use std::path::Path;

/// Fixed local times (Europe/Berlin) of the steps the CSV files give only a day for.
pub(super) const CREATED_AT: &str = "09:00";
pub(super) const PUBLISHED_AT: &str = "10:00";
pub(super) const DEADLINE_AT: &str = "12:00";
pub(super) const OPENING_STARTED_AT: &str = "14:00";
pub(super) const OPENING_CONFIRMED_AT: &str = "14:20";
pub(super) const CONCLUDED_AT: &str = "10:00";
/// The outbox sends an award's § 134 letters this many minutes after the decision (the
/// standstill runs from the sending; an award in the last minutes of a day would move it).
pub(super) const LETTERS_SENT_AFTER_MINUTES: i64 = 3;

#[derive(Deserialize)]
pub(super) struct TenderRow {
    pub(super) key: String,
    pub(super) call: String,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) officer: String,
    pub(super) created_days: i64,
    pub(super) published_days: i64,
    pub(super) deadline_days: i64,
    pub(super) document: String,
    pub(super) opening_days: Option<i64>,
    pub(super) opened_by: String,
    pub(super) confirmed_by: String,
}

#[derive(Deserialize)]
pub(super) struct LotRow {
    pub(super) tender: String,
    pub(super) lot: i32,
    pub(super) title: String,
    pub(super) positions: String,
}

#[derive(Deserialize)]
pub(super) struct QuestionRow {
    pub(super) tender: String,
    pub(super) vendor: String,
    pub(super) asked_days: i64,
    pub(super) asked_time: String,
    pub(super) question: String,
    pub(super) answer: String,
    pub(super) answered_days: Option<i64>,
    pub(super) answered_time: String,
}

/// A complaint (Rüge) a vendor files and the officer answers (complaints.csv).
#[derive(Deserialize)]
pub(super) struct ComplaintRow {
    pub(super) tender: String,
    pub(super) vendor: String,
    pub(super) lot: Option<i32>,
    pub(super) days: i64,
    pub(super) time: String,
    pub(super) text: String,
    /// `remedy` or `reject`; empty while unanswered.
    pub(super) decision: String,
    pub(super) answer: String,
    pub(super) answered_days: Option<i64>,
    pub(super) answered_time: String,
}

#[derive(Deserialize)]
pub(super) struct BidEventRow {
    pub(super) tender: String,
    pub(super) vendor: String,
    pub(super) action: String,
    pub(super) days: i64,
    pub(super) time: String,
    pub(super) price_factor: String,
    pub(super) quality: String,
}

#[derive(Deserialize)]
pub(super) struct BidPriceRow {
    pub(super) tender: String,
    pub(super) vendor: String,
    pub(super) catalogue_key: String,
    pub(super) unit_price: String,
}

/// One evaluation decision on a bid (evaluations.csv).
#[derive(Deserialize)]
pub(super) struct EvaluationRow {
    pub(super) tender: String,
    pub(super) vendor: String,
    pub(super) lot: Option<i32>,
    pub(super) action: String,
    pub(super) days: i64,
    pub(super) time: String,
    pub(super) scores: String,
    pub(super) reason: String,
}

/// The award of one lot and, optionally, its conclusion into a framework contract (awards.csv).
#[derive(Deserialize)]
pub(super) struct AwardRow {
    pub(super) tender: String,
    pub(super) lot: i32,
    pub(super) vendor: String,
    pub(super) days: i64,
    pub(super) time: String,
    pub(super) reason: String,
    pub(super) concluded_after: Option<i64>,
}

/// A call-off against a concluded lot's framework contract and its life after (calloffs.csv).
#[derive(Deserialize)]
pub(super) struct CalloffRow {
    pub(super) tender: String,
    pub(super) lot: i32,
    pub(super) buyer: String,
    pub(super) days: i64,
    pub(super) time: String,
    pub(super) positions: String,
    pub(super) delivery_address: String,
    pub(super) cost_centre: String,
    pub(super) leitweg_id: String,
    pub(super) note: String,
    pub(super) status: CalloffStatus,
    pub(super) status_days: Option<i64>,
    pub(super) status_time: String,
    pub(super) delivered_days: Option<i64>,
    pub(super) delivered_time: String,
    pub(super) reason: String,
}

/// Positions of a call-off: `Pos:Menge` pairs separated by `|`, quantities written the German way.
pub(super) fn calloff_positions(text: &str) -> AppResult<Vec<(i32, rust_decimal::Decimal)>> {
    split_bar(text)
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (no, quantity) = pair
                .split_once(':')
                .ok_or_else(|| seed_error("calloffs.csv", format!("„{pair}“ ist nicht Pos:Menge")))?;
            let no: i32 = no
                .trim()
                .parse()
                .map_err(|_| seed_error("calloffs.csv", format!("„{pair}“: Positionsnummer")))?;
            let q = demo_number(quantity, "calloffs.csv Menge")?
                .filter(|q| *q > rust_decimal::Decimal::ZERO)
                .ok_or_else(|| seed_error("calloffs.csv", format!("„{pair}“: Menge größer als 0")))?;
            Ok((no, q))
        })
        .collect()
}

/// tenders.csv, tender_lots.csv, tender_questions.csv, complaints.csv, bids.csv,
/// bid_prices.csv, evaluations.csv and awards.csv.
pub(super) struct TenderSeed {
    pub(super) tenders: Vec<TenderRow>,
    pub(super) lots: Vec<LotRow>,
    pub(super) questions: Vec<QuestionRow>,
    pub(super) complaints: Vec<ComplaintRow>,
    pub(super) bids: Vec<BidEventRow>,
    pub(super) prices: Vec<BidPriceRow>,
    pub(super) evaluations: Vec<EvaluationRow>,
    pub(super) awards: Vec<AwardRow>,
    pub(super) calloffs: Vec<CalloffRow>,
}

/// Today in the cooperative's local time, by the given state's clock.
pub(super) fn local_today(state: &AppState) -> chrono::NaiveDate {
    state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}

/// The day (relative to `today`) an award made on day `award_days` is concluded: `after` days
/// after the last day of its § 134 standstill, computed as the award service computes it.
pub(super) fn conclusion_days(
    award_days: i64,
    after: i64,
    today: chrono::NaiveDate,
    region: holiday_de::GermanRegion,
) -> i64 {
    let sent = today + chrono::Duration::days(award_days);
    let last = crate::domain::standstill::last_day(sent, true, region);
    (last - today).num_days() + after
}

/// Scores 0..10 with at most 2 places, as the score service accepts them.
pub(super) fn demo_score(text: &str) -> AppResult<rust_decimal::Decimal> {
    let s = demo_number(text, "Punktzahl")?.ok_or_else(|| AppError::Internal("Punktzahl fehlt".into()))?;
    if s < rust_decimal::Decimal::ZERO || s > rust_decimal::Decimal::TEN || s.normalize().scale() > 2 {
        return Err(AppError::Internal(format!(
            "Punktzahl „{text}“: 0 bis 10, höchstens 2 Nachkommastellen"
        )));
    }
    Ok(s)
}

/// Day and local time of a step, for ordering; `None` when the time is not HH:MM.
pub(super) fn moment(days: i64, time: &str) -> Option<(i64, chrono::NaiveTime)> {
    chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M")
        .ok()
        .map(|t| (days, t))
}

pub(super) fn split_bar(text: &str) -> Vec<&str> {
    text.split('|').map(str::trim).collect()
}

pub(super) fn seed_error(file: &str, what: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("{file}: {what}"))
}

pub(super) fn lot_positions(row: &LotRow) -> impl Iterator<Item = &str> {
    row.positions.split(',').map(str::trim).filter(|k| !k.is_empty())
}

impl TenderSeed {
    pub(super) fn read(dir: &Path) -> AppResult<TenderSeed> {
        Ok(TenderSeed {
            tenders: read(dir, "tenders.csv")?,
            lots: read(dir, "tender_lots.csv")?,
            questions: read(dir, "tender_questions.csv")?,
            complaints: read(dir, "complaints.csv")?,
            bids: read(dir, "bids.csv")?,
            prices: read(dir, "bid_prices.csv")?,
            evaluations: read(dir, "evaluations.csv")?,
            awards: read(dir, "awards.csv")?,
            calloffs: read(dir, "calloffs.csv")?,
        })
    }

    /// Checks every reference and number before anything is stored, so that the services, which
    /// run after the first transaction, meet only data they accept. `today` and `region` date the
    /// standstill periods of the awards.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check(
        &self,
        dir: &Path,
        calls: &[CallRow],
        vendors: &[VendorRow],
        users: &[UserRow],
        catalogue: &[CatalogueRow],
        today: chrono::NaiveDate,
        region: holiday_de::GermanRegion,
    ) -> AppResult<()> {
        let officer = |email: &str, file: &str, key: &str| -> AppResult<()> {
            if users.iter().any(|u| u.email == email && u.role == Role::Officer) {
                Ok(())
            } else {
                Err(seed_error(
                    file,
                    format!("„{key}“: „{email}“ ist keine Vergabestelle aus users.csv"),
                ))
            }
        };
        let time = |text: &str, file: &str| -> AppResult<()> {
            chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M")
                .map(|_| ())
                .map_err(|_| seed_error(file, format!("Uhrzeit „{text}“ ist nicht HH:MM")))
        };
        let mut keys = Vec::new();
        for t in &self.tenders {
            if keys.contains(&t.key.as_str()) {
                return Err(seed_error("tenders.csv", format!("„{}“ doppelt", t.key)));
            }
            keys.push(t.key.as_str());
            match calls.iter().find(|c| c.key == t.call) {
                Some(c) if c.status == CallStatus::Closed => {}
                _ => {
                    return Err(seed_error(
                        "tenders.csv",
                        format!(
                            "„{}“: „{}“ ist keine abgeschlossene Bedarfsabfrage aus demand_calls.csv",
                            t.key, t.call
                        ),
                    ))
                }
            }
            if self.tenders.iter().filter(|o| o.call == t.call).count() > 1 {
                return Err(seed_error(
                    "tenders.csv",
                    format!("aus „{}“ entsteht nur eine Ausschreibung", t.call),
                ));
            }
            officer(&t.officer, "tenders.csv", &t.key)?;
            if !(t.created_days <= t.published_days && t.published_days < t.deadline_days) {
                return Err(seed_error(
                    "tenders.csv",
                    format!("„{}“: erstellt ≤ veröffentlicht < Angebotsfrist", t.key),
                ));
            }
            if !t.document.is_empty() && !dir.join("documents").join(&t.document).is_file() {
                return Err(seed_error(
                    "tenders.csv",
                    format!("„{}“: documents/{} fehlt", t.key, t.document),
                ));
            }
            if let Some(days) = t.opening_days {
                officer(&t.opened_by, "tenders.csv", &t.key)?;
                officer(&t.confirmed_by, "tenders.csv", &t.key)?;
                if t.opened_by == t.confirmed_by || days < t.deadline_days || days >= 0 {
                    return Err(seed_error(
                        "tenders.csv",
                        format!(
                            "„{}“: Öffnung durch zwei verschiedene Personen, nach der Angebotsfrist und vor heute",
                            t.key
                        ),
                    ));
                }
            } else if t.deadline_days <= 0 {
                return Err(seed_error(
                    "tenders.csv",
                    format!("„{}“: ohne Öffnung muss die Angebotsfrist in der Zukunft liegen", t.key),
                ));
            }
        }
        let tender = |key: &str, file: &str| -> AppResult<&TenderRow> {
            self.tenders
                .iter()
                .find(|t| t.key == key)
                .ok_or_else(|| seed_error(file, format!("Ausschreibung „{key}“ nicht in tenders.csv")))
        };
        let vendor = |key: &str, file: &str| -> AppResult<()> {
            let approved = vendors
                .iter()
                .any(|v| v.key == key && v.status == VendorStatus::Approved);
            if approved && users.iter().any(|u| u.organisation == key && u.role == Role::Vendor) {
                Ok(())
            } else {
                Err(seed_error(
                    file,
                    format!("„{key}“ ist kein freigegebener Lieferant mit Konto in users.csv"),
                ))
            }
        };
        for l in &self.lots {
            tender(&l.tender, "tender_lots.csv")?;
            for k in lot_positions(l) {
                if !catalogue.iter().any(|c| c.key == k) {
                    return Err(seed_error("tender_lots.csv", format!("Katalog „{k}“ unbekannt")));
                }
            }
        }
        for q in &self.questions {
            let t = tender(&q.tender, "tender_questions.csv")?;
            vendor(&q.vendor, "tender_questions.csv")?;
            time(&q.asked_time, "tender_questions.csv")?;
            let ok_asked = q.asked_days >= t.published_days && q.asked_days < t.deadline_days.min(0);
            let ok_answer = match (q.answer.trim().is_empty(), q.answered_days) {
                (true, None) => true,
                (false, Some(d)) => {
                    time(&q.answered_time, "tender_questions.csv")?;
                    d >= q.asked_days && d < t.deadline_days.min(0)
                }
                _ => false,
            };
            if !(ok_asked && ok_answer) {
                return Err(seed_error(
                    "tender_questions.csv",
                    format!(
                        "„{}“: Frage und Antwort zwischen Veröffentlichung und Frist, vor heute; Antwort mit Tag",
                        q.question
                    ),
                ));
            }
        }
        for b in &self.bids {
            let t = tender(&b.tender, "bids.csv")?;
            vendor(&b.vendor, "bids.csv")?;
            time(&b.time, "bids.csv")?;
            if !(b.days >= t.published_days && b.days < t.deadline_days.min(0)) {
                return Err(seed_error(
                    "bids.csv",
                    format!(
                        "„{} / {}“: Tag {} liegt nicht zwischen Veröffentlichung und Frist, vor heute",
                        b.tender, b.vendor, b.days
                    ),
                ));
            }
            match b.action.as_str() {
                "submit" => {
                    demo_number(&b.price_factor, "bids.csv price_factor")?;
                    if !self.prices.iter().any(|p| p.tender == b.tender && p.vendor == b.vendor) {
                        return Err(seed_error(
                            "bids.csv",
                            format!("„{} / {}“: keine Preise in bid_prices.csv", b.tender, b.vendor),
                        ));
                    }
                }
                "withdraw" => {}
                other => {
                    return Err(seed_error(
                        "bids.csv",
                        format!("action „{other}“: submit oder withdraw"),
                    ))
                }
            }
        }
        for p in &self.prices {
            tender(&p.tender, "bid_prices.csv")?;
            vendor(&p.vendor, "bid_prices.csv")?;
            let in_lot = self
                .lots
                .iter()
                .any(|l| l.tender == p.tender && lot_positions(l).any(|k| k == p.catalogue_key));
            if !in_lot {
                return Err(seed_error(
                    "bid_prices.csv",
                    format!("„{}“ ist in keinem Los von „{}“", p.catalogue_key, p.tender),
                ));
            }
            demo_number(&p.unit_price, "bid_prices.csv unit_price")?
                .ok_or_else(|| seed_error("bid_prices.csv", "unit_price fehlt"))?;
        }
        self.check_evaluation(today, region)
    }

    /// The last bids.csv row of a vendor in a tender, when it is a submission: its current bid.
    pub(super) fn current_bid(&self, tender: &str, vendor: &str) -> Option<&BidEventRow> {
        self.bids
            .iter()
            .filter(|b| b.tender == tender && b.vendor == vendor)
            .max_by_key(|b| moment(b.days, &b.time))
            .filter(|b| b.action == "submit")
    }

    /// Whether the vendor's current bid in the tender covers the lot (has prices in it).
    pub(super) fn bids_on_lot(&self, tender: &str, vendor: &str, lot: i32) -> bool {
        let Some(l) = self.lots.iter().find(|l| l.tender == tender && l.lot == lot) else {
            return false;
        };
        self.current_bid(tender, vendor).is_some()
            && self
                .prices
                .iter()
                .any(|p| p.tender == tender && p.vendor == vendor && lot_positions(l).any(|k| k == p.catalogue_key))
    }

    /// evaluations.csv and awards.csv: opened tenders, current bids on existing lots, decisions
    /// after the opening and in a possible order, awards after the evaluation, conclusions after
    /// the standstill and before today.
    pub(super) fn check_evaluation(&self, today: chrono::NaiveDate, region: holiday_de::GermanRegion) -> AppResult<()> {
        type Moment = (i64, chrono::NaiveTime);
        let opened = |key: &str, file: &str| -> AppResult<Moment> {
            match self.tenders.iter().find(|t| t.key == key) {
                Some(TenderRow {
                    opening_days: Some(d), ..
                }) => Ok(moment(*d, OPENING_CONFIRMED_AT).expect("constant time")),
                _ => Err(seed_error(
                    file,
                    format!("„{key}“ ist keine in tenders.csv geöffnete Ausschreibung"),
                )),
            }
        };
        let when = |days: i64, time: &str, file: &str, what: &str| -> AppResult<Moment> {
            let at = moment(days, time)
                .ok_or_else(|| seed_error(file, format!("{what}: Uhrzeit „{time}“ ist nicht HH:MM")))?;
            if days >= 0 {
                return Err(seed_error(file, format!("{what}: Tag {days} liegt nicht vor heute")));
            }
            Ok(at)
        };
        let bidder = |tender: &str, vendor: &str, lot: Option<i32>, file: &str| -> AppResult<()> {
            if let Some(l) = lot {
                if !self.lots.iter().any(|x| x.tender == tender && x.lot == l) {
                    return Err(seed_error(
                        file,
                        format!("„{tender}“ hat laut tender_lots.csv kein Los {l}"),
                    ));
                }
            }
            let ok = match lot {
                Some(l) => self.bids_on_lot(tender, vendor, l),
                None => self.current_bid(tender, vendor).is_some(),
            };
            if ok {
                Ok(())
            } else {
                Err(seed_error(
                    file,
                    format!(
                        "„{tender} / {vendor}{}“: kein gültiges Angebot laut bids.csv und bid_prices.csv",
                        lot.map(|l| format!(" / Los {l}")).unwrap_or_default()
                    ),
                ))
            }
        };
        let reason = |text: &str, file: &str, what: &str| -> AppResult<()> {
            if (3..=4000).contains(&text.trim().chars().count()) {
                Ok(())
            } else {
                Err(seed_error(file, format!("{what}: Begründung mit 3 bis 4000 Zeichen")))
            }
        };
        for (i, e) in self.evaluations.iter().enumerate() {
            let what = format!("„{} / {} / {}“", e.tender, e.vendor, e.action);
            let opening = opened(&e.tender, "evaluations.csv")?;
            let at = when(e.days, &e.time, "evaluations.csv", &what)?;
            if at <= opening {
                return Err(seed_error("evaluations.csv", format!("{what}: erst nach der Öffnung")));
            }
            match (e.action.as_str(), e.lot) {
                ("score", None) => {
                    bidder(&e.tender, &e.vendor, None, "evaluations.csv")?;
                    let scores = split_bar(&e.scores);
                    let reasons = split_bar(&e.reason);
                    let answers = self
                        .current_bid(&e.tender, &e.vendor)
                        .map(|b| split_bar(&b.quality).len())
                        .unwrap_or_default();
                    if scores.len() != reasons.len() || scores.len() != answers {
                        return Err(seed_error(
                            "evaluations.csv",
                            format!(
                                "{what}: je B-Kriterium (wie in bids.csv quality) eine Punktzahl \
                                 und eine Begründung, durch | getrennt"
                            ),
                        ));
                    }
                    for (s, r) in scores.iter().zip(&reasons) {
                        demo_score(s)
                            .map_err(|e| seed_error("evaluations.csv", format!("{what}: {}", e.user_detail())))?;
                        reason(r, "evaluations.csv", &what)?;
                    }
                }
                ("request_explanation", Some(lot)) => {
                    bidder(&e.tender, &e.vendor, Some(lot), "evaluations.csv")?;
                }
                ("accept_low" | "exclude_low", Some(lot)) => {
                    bidder(&e.tender, &e.vendor, Some(lot), "evaluations.csv")?;
                    reason(&e.reason, "evaluations.csv", &what)?;
                    let requested = self.evaluations[..i].iter().any(|r| {
                        r.action == "request_explanation"
                            && r.tender == e.tender
                            && r.vendor == e.vendor
                            && r.lot == e.lot
                            && moment(r.days, &r.time) < Some(at)
                    });
                    let decided = self.evaluations[..i].iter().any(|r| {
                        (r.action == "accept_low" || r.action == "exclude_low")
                            && r.tender == e.tender
                            && r.vendor == e.vendor
                            && r.lot == e.lot
                    });
                    if !requested || decided {
                        return Err(seed_error(
                            "evaluations.csv",
                            format!(
                                "{what}: genau eine Entscheidung, nach einer früheren Zeile \
                                 request_explanation zu demselben Los"
                            ),
                        ));
                    }
                }
                ("score", Some(_)) => {
                    return Err(seed_error(
                        "evaluations.csv",
                        format!("{what}: Punktzahlen gelten für das ganze Angebot, bitte ohne Los"),
                    ))
                }
                (other, _) => {
                    return Err(seed_error(
                        "evaluations.csv",
                        format!(
                            "{what}: action „{other}“ mit Los: request_explanation, accept_low \
                             oder exclude_low; ohne Los: score"
                        ),
                    ))
                }
            }
        }
        for (i, a) in self.awards.iter().enumerate() {
            let what = format!("„{} / Los {}“", a.tender, a.lot);
            let opening = opened(&a.tender, "awards.csv")?;
            bidder(&a.tender, &a.vendor, Some(a.lot), "awards.csv")?;
            reason(&a.reason, "awards.csv", &what)?;
            let at = when(a.days, &a.time, "awards.csv", &what)?;
            if at <= opening {
                return Err(seed_error("awards.csv", format!("{what}: erst nach der Öffnung")));
            }
            // Scores lock with the first award on any lot of the bid: evaluate first, then award.
            let late = self
                .evaluations
                .iter()
                .filter(|e| e.tender == a.tender)
                .any(|e| moment(e.days, &e.time) >= Some(at));
            if late {
                return Err(seed_error(
                    "awards.csv",
                    format!("{what}: erst nach allen Zeilen der Ausschreibung in evaluations.csv"),
                ));
            }
            if self.awards[..i].iter().any(|o| o.tender == a.tender && o.lot == a.lot) {
                return Err(seed_error("awards.csv", format!("{what}: doppelt")));
            }
            if let Some(after) = a.concluded_after {
                if after < 1 || conclusion_days(a.days, after, today, region) >= 0 {
                    return Err(seed_error(
                        "awards.csv",
                        format!(
                            "{what}: concluded_after ab 1 (Tage nach dem letzten Tag der \
                             Wartefrist), und der Abschluss muss vor heute liegen"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl TenderSeed {
    /// The awards.csv row a call-off refers to, with the day (relative to `today`) its contract
    /// is concluded; `None` when the lot is not awarded and concluded.
    pub(super) fn concluded(
        &self,
        tender: &str,
        lot: i32,
        today: chrono::NaiveDate,
        region: holiday_de::GermanRegion,
    ) -> Option<(usize, i64)> {
        self.awards
            .iter()
            .enumerate()
            .find(|(_, a)| a.tender == tender && a.lot == lot)
            .and_then(|(i, a)| {
                a.concluded_after
                    .map(|after| (i, conclusion_days(a.days, after, today, region)))
            })
    }

    /// calloffs.csv: concluded contracts, buyers of entitled members (those with demand for a
    /// tendered position), positions of the lot, the fields as the call-off form wants them, and
    /// every step after the conclusion, in the order of the call-off's life and before today.
    /// Whether the volume suffices is the call-off service's to say.
    pub(super) fn check_calloffs(
        &self,
        call_positions: &[CallPositionRow],
        demand: &[DemandRow],
        users: &[UserRow],
        today: chrono::NaiveDate,
        region: holiday_de::GermanRegion,
    ) -> AppResult<()> {
        const FILE: &str = "calloffs.csv";
        for (i, r) in self.calloffs.iter().enumerate() {
            let what = format!("Zeile {} („{} / Los {} / {}“)", i + 2, r.tender, r.lot, r.buyer);
            let fail = |m: &str| seed_error(FILE, format!("{what}: {m}"));
            let (_, concluded) = self
                .concluded(&r.tender, r.lot, today, region)
                .ok_or_else(|| fail("das Los ist laut awards.csv nicht als Rahmenvereinbarung geschlossen"))?;
            let tender = self
                .tenders
                .iter()
                .find(|t| t.key == r.tender)
                .ok_or_else(|| fail("Ausschreibung nicht in tenders.csv"))?;
            let lot = self
                .lots
                .iter()
                .find(|l| l.tender == r.tender && l.lot == r.lot)
                .ok_or_else(|| fail("Los nicht in tender_lots.csv"))?;
            let tendered = |key: &str| {
                self.lots
                    .iter()
                    .filter(|l| l.tender == r.tender)
                    .any(|l| lot_positions(l).any(|k| k == key))
            };
            let member = users
                .iter()
                .find(|u| u.email == r.buyer && u.role == Role::Buyer)
                .map(|u| u.organisation.as_str())
                .ok_or_else(|| fail("kein Konto mit Rolle buyer in users.csv"))?;
            let entitled = demand
                .iter()
                .any(|d| d.call == tender.call && d.member == member && tendered(&d.catalogue_key));
            if !entitled {
                return Err(fail(&format!(
                    "„{member}“ hat keinen Bedarf in „{}“ gemeldet und ist nicht abrufberechtigt",
                    tender.call
                )));
            }
            let numbered: Vec<&str> = call_positions
                .iter()
                .filter(|p| p.call == tender.call)
                .map(|p| p.catalogue_key.as_str())
                .collect();
            let positions = calloff_positions(&r.positions)?;
            if positions.is_empty() {
                return Err(fail("mindestens eine Position"));
            }
            for (k, (no, _)) in positions.iter().enumerate() {
                let key = usize::try_from(*no)
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|n| numbered.get(n))
                    .copied();
                if !key.is_some_and(|key| lot_positions(lot).any(|l| l == key)) {
                    return Err(fail(&format!("Pos. {no} gehört nicht zu Los {}", r.lot)));
                }
                if positions[..k].iter().any(|(other, _)| other == no) {
                    return Err(fail(&format!("Pos. {no} doppelt")));
                }
            }
            if !(5..=500).contains(&r.delivery_address.trim().chars().count())
                || !(1..=50).contains(&r.cost_centre.trim().chars().count())
                || r.note.trim().chars().count() > 1000
            {
                return Err(fail(
                    "Lieferanschrift 5 bis 500 Zeichen, Kostenstelle 1 bis 50, Bemerkung bis 1000",
                ));
            }
            if !r.leitweg_id.trim().is_empty() {
                crate::domain::identifiers::leitweg_id(&r.leitweg_id).map_err(|e| fail(&format!("Leitweg-ID: {e}")))?;
            }
            // Steps in days after the conclusion (10:00 on its day), each not before the last.
            let step = |days: Option<i64>, time: &str, name: &str| -> AppResult<(i64, chrono::NaiveTime)> {
                let days = days.ok_or_else(|| fail(&format!("{name}: Tag fehlt")))?;
                let at =
                    moment(days, time).ok_or_else(|| fail(&format!("{name}: Uhrzeit „{time}“ ist nicht HH:MM")))?;
                if concluded + days >= 0 {
                    return Err(fail(&format!(
                        "{name}: Tag {days} nach dem Vertragsschluss liegt nicht vor heute"
                    )));
                }
                Ok(at)
            };
            let placed = step(Some(r.days), &r.time, "Abruf")?;
            if placed <= moment(0, CONCLUDED_AT).expect("constant time") {
                return Err(fail(&format!(
                    "Abruf erst nach dem Vertragsschluss (Tag 0, {CONCLUDED_AT} Uhr)"
                )));
            }
            let answered = (r.status != CalloffStatus::Placed)
                .then(|| step(r.status_days, &r.status_time, "status_days"))
                .transpose()?;
            let delivered = (r.status == CalloffStatus::Delivered)
                .then(|| step(r.delivered_days, &r.delivered_time, "delivered_days"))
                .transpose()?;
            let in_order = answered.is_none_or(|a| a > placed) && delivered.is_none_or(|d| Some(d) > answered);
            let unused = (r.status == CalloffStatus::Placed
                && (r.status_days.is_some() || !r.status_time.trim().is_empty()))
                || (r.status != CalloffStatus::Delivered
                    && (r.delivered_days.is_some() || !r.delivered_time.trim().is_empty()));
            if !in_order || unused {
                return Err(fail(
                    "Bestätigung, Ablehnung oder Stornierung (status_days) nach dem Abruf, Lieferung \
                     (delivered_days) nach der Bestätigung, nur soweit der Status sie hat",
                ));
            }
            let reason = r.reason.trim().chars().count();
            if (r.status == CalloffStatus::Rejected && reason < 3)
                || (reason > 0 && !matches!(r.status, CalloffStatus::Rejected | CalloffStatus::Cancelled))
            {
                return Err(fail(
                    "reason: Begründung (mindestens 3 Zeichen) bei rejected, optional bei cancelled, sonst leer",
                ));
            }
        }
        Ok(())
    }
}
