//! Plays the demo tenders through the services step by step on a frozen clock, so that receipts,
//! audit events, mails and documents are genuine.

use super::demand::demo_number;
use super::tenders::{
    calloff_positions, conclusion_days, local_today, lot_positions, seed_error, split_bar, LotRow, TenderSeed,
    CONCLUDED_AT, CREATED_AT, DEADLINE_AT, LETTERS_SENT_AFTER_MINUTES, OPENING_CONFIRMED_AT, OPENING_STARTED_AT,
    PUBLISHED_AT,
};
use super::{demo_user, Loaded, UserRow};
use crate::db::DbConn;
use crate::domain::bid::BidStatus;
use crate::domain::calloff::CalloffStatus;
use crate::domain::ids::{AwardId, BidId, CalloffId, ContractId, LotId, QuestionId, TenderId};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::AppState;
use diesel::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// One step of the demo history, in the order it happened.
#[derive(Clone, Copy)]
enum Step {
    /// Create the draft and attach its document.
    Create(usize),
    Publish(usize),
    Ask(usize),
    Answer(usize),
    Bid(usize),
    StartOpening(usize),
    ConfirmOpening(usize),
    /// A row of evaluations.csv: score, § 60 request or decision.
    Evaluate(usize),
    /// A row of complaints.csv: the vendor files the complaint.
    FileComplaint(usize),
    /// The officer answers it.
    AnswerComplaint(usize),
    /// Award a lot (queues the § 134 information).
    Award(usize),
    /// The outbox sends that award's § 134 letters: the standstills run from here.
    SendLetters(usize),
    /// Conclude the award into a framework contract after the standstill.
    Conclude(usize),
    /// A row of calloffs.csv: the buyer places the call-off.
    PlaceCalloff(usize),
    /// The vendor confirms or rejects it, or the buyer cancels it.
    AnswerCalloff(usize),
    /// The buyer records the delivery.
    DeliverCalloff(usize),
}

/// A service error with what the demo was doing, and every field message.
fn during(what: String) -> impl FnOnce(AppError) -> AppError {
    move |e| {
        let fields: Vec<String> = e
            .field_errors()
            .into_iter()
            .map(|(f, m)| format!("{f}: {}", m.join(" ")))
            .collect();
        AppError::Internal(format!("{what}: {} {}", e.user_detail(), fields.join("; ")))
    }
}

/// Plays tenders.csv and the files around it through the services, each step at its own time on
/// a frozen clock set forward step by step (the demo itself runs on the real clock).
pub(super) fn load_tenders(
    conn: &mut DbConn,
    state: &AppState,
    dir: &Path,
    seed: &TenderSeed,
    loaded: &Loaded,
    users: &[UserRow],
) -> AppResult<()> {
    use crate::award;
    use crate::clock::Clock;
    use crate::domain::money::{round_commercial, Price};
    use crate::tender::{self, bids, TenderCommand};
    use chrono::Duration;

    let now = state.clock.now_naive();
    let today = local_today(state);
    let day = |days: i64| (today + Duration::days(days)).format("%Y-%m-%d").to_string();
    let at = |days: i64, time: &str| -> AppResult<chrono::NaiveDateTime> {
        crate::web::read::local_datetime(&day(days), time)
            .ok_or_else(|| AppError::Internal(format!("Zeitpunkt {} {time} ungültig", day(days))))
    };

    let mut steps: Vec<(chrono::NaiveDateTime, Step)> = Vec::new();
    for (i, t) in seed.tenders.iter().enumerate() {
        steps.push((at(t.created_days, CREATED_AT)?, Step::Create(i)));
        steps.push((at(t.published_days, PUBLISHED_AT)?, Step::Publish(i)));
        if let Some(d) = t.opening_days {
            steps.push((at(d, OPENING_STARTED_AT)?, Step::StartOpening(i)));
            steps.push((at(d, OPENING_CONFIRMED_AT)?, Step::ConfirmOpening(i)));
        }
    }
    for (i, q) in seed.questions.iter().enumerate() {
        steps.push((at(q.asked_days, &q.asked_time)?, Step::Ask(i)));
        if let Some(d) = q.answered_days {
            steps.push((at(d, &q.answered_time)?, Step::Answer(i)));
        }
    }
    for (i, r) in seed.complaints.iter().enumerate() {
        steps.push((at(r.days, &r.time)?, Step::FileComplaint(i)));
        if let Some(d) = r.answered_days {
            steps.push((at(d, &r.answered_time)?, Step::AnswerComplaint(i)));
        }
    }
    for (i, b) in seed.bids.iter().enumerate() {
        steps.push((at(b.days, &b.time)?, Step::Bid(i)));
    }
    for (i, e) in seed.evaluations.iter().enumerate() {
        steps.push((at(e.days, &e.time)?, Step::Evaluate(i)));
    }
    for (i, a) in seed.awards.iter().enumerate() {
        steps.push((at(a.days, &a.time)?, Step::Award(i)));
        steps.push((
            at(a.days, &a.time)? + Duration::minutes(LETTERS_SENT_AFTER_MINUTES),
            Step::SendLetters(i),
        ));
        if let Some(after) = a.concluded_after {
            let days = conclusion_days(a.days, after, today, state.config.holiday_region());
            steps.push((at(days, CONCLUDED_AT)?, Step::Conclude(i)));
        }
    }
    for (i, r) in seed.calloffs.iter().enumerate() {
        let (_, concluded) = seed
            .concluded(&r.tender, r.lot, today, state.config.holiday_region())
            .ok_or_else(|| {
                seed_error(
                    "calloffs.csv",
                    format!("„{} / Los {}“ nicht geschlossen", r.tender, r.lot),
                )
            })?;
        steps.push((at(concluded + r.days, &r.time)?, Step::PlaceCalloff(i)));
        if let Some(d) = r.status_days {
            steps.push((at(concluded + d, &r.status_time)?, Step::AnswerCalloff(i)));
        }
        if let Some(d) = r.delivered_days {
            steps.push((at(concluded + d, &r.delivered_time)?, Step::DeliverCalloff(i)));
        }
    }
    // Stable: steps at the same minute keep the order above.
    steps.sort_by_key(|(t, _)| *t);
    let Some((first, _)) = steps.first() else {
        return Ok(());
    };
    if let Some((late, _)) = steps.iter().find(|(t, _)| *t >= now) {
        return Err(AppError::Internal(format!(
            "Demo-Ausschreibungen: Schritt am {late} liegt nicht in der Vergangenheit"
        )));
    }
    let past = AppState {
        clock: Clock::configured(Some(first.and_utc()), Duration::zero(), true),
        ..state.clone()
    };
    let vendor_email = |key: &str| -> AppResult<&str> {
        users
            .iter()
            .find(|u| u.organisation == key && u.role == Role::Vendor)
            .map(|u| u.email.as_str())
            .ok_or_else(|| AppError::Internal(format!("Lieferant „{key}“ ohne Konto")))
    };

    let mut tender_ids: HashMap<&str, TenderId> = HashMap::new();
    let mut question_ids: HashMap<usize, QuestionId> = HashMap::new();
    let mut award_ids: HashMap<usize, AwardId> = HashMap::new();
    let mut complaint_ids: HashMap<usize, crate::domain::ids::ComplaintId> = HashMap::new();
    // awards.csv row → framework contract id; calloffs.csv row → call-off id.
    let mut contract_ids: HashMap<usize, ContractId> = HashMap::new();
    let mut calloff_ids: HashMap<usize, CalloffId> = HashMap::new();
    let tender_officer = |key: &str| -> &str {
        seed.tenders
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.officer.as_str())
            .unwrap_or_default()
    };
    // The tender's officer, the tender id and the vendor's current bid on it (with its lot id).
    let target = |conn: &mut DbConn,
                  ids: &HashMap<&str, TenderId>,
                  tender: &str,
                  vendor: &str,
                  lot: Option<i32>|
     -> AppResult<(crate::auth::CurrentUser, crate::award::BidOnLot)> {
        use crate::db::schema::bids;
        let officer = demo_user(conn, tender_officer(tender))?;
        let tender_id = ids.get(tender).copied().ok_or_else(|| {
            AppError::Internal(format!(
                "Ausschreibung „{tender}“ ist zu diesem Zeitpunkt noch nicht angelegt"
            ))
        })?;
        let vendor_id = demo_user(conn, vendor_email(vendor)?)?.organisation_id;
        let bid_id: BidId = bids::table
            .filter(bids::tender_id.eq(tender_id))
            .filter(bids::vendor_id.eq(vendor_id))
            .filter(bids::status.eq(BidStatus::Submitted))
            .select(bids::id)
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::Internal(format!("„{tender} / {vendor}“: kein gültiges Angebot")))?;
        let lot_id = match lot {
            Some(no) => {
                tender::lots(conn, tender_id)?
                    .into_iter()
                    .find(|l| l.lot_no == no)
                    .ok_or_else(|| AppError::Internal(format!("„{tender}“ hat kein Los {no}")))?
                    .id
            }
            None => LotId(0),
        };
        Ok((
            officer,
            crate::award::BidOnLot {
                tender_id,
                lot_id,
                bid_id,
            },
        ))
    };
    let tender_id = |ids: &HashMap<&str, TenderId>, key: &str| -> AppResult<TenderId> {
        ids.get(key).copied().ok_or_else(|| {
            AppError::Internal(format!(
                "Ausschreibung „{key}“ ist zu diesem Zeitpunkt noch nicht angelegt"
            ))
        })
    };
    for (time, step) in steps {
        past.clock.set(time.and_utc());
        match step {
            Step::Create(i) => {
                let t = &seed.tenders[i];
                let officer = demo_user(conn, &t.officer)?;
                let call_id = loaded.calls[&t.call];
                let call = crate::demand::find_call(conn, call_id)?;
                let positions = crate::demand::positions(conn, call_id)?;
                let mut lots: Vec<&LotRow> = seed.lots.iter().filter(|l| l.tender == t.key).collect();
                lots.sort_by_key(|l| l.lot);
                let mut input = TenderCommand::defaults_for(&call, &[]);
                input.title = t.title.clone();
                input.description = t.description.clone();
                input.bid_deadline = crate::web::read::local_datetime(&day(t.deadline_days), DEADLINE_AT);
                input.lots = lots.iter().map(|l| l.title.clone()).collect();
                for (no, l) in lots.iter().enumerate() {
                    for key in lot_positions(l) {
                        let item = loaded.catalogue.get(key).copied();
                        let p = positions
                            .iter()
                            .find(|p| p.catalogue_item_id.is_some() && p.catalogue_item_id == item)
                            .ok_or_else(|| {
                                seed_error(
                                    "tender_lots.csv",
                                    format!("„{key}“ ist keine Position von „{}“", t.call),
                                )
                            })?;
                        input.assignment.insert(p.id, no as i32 + 1);
                    }
                }
                let data = input
                    .validate(conn, past.clock.now_naive(), &past.config.calendar())
                    .map_err(during(format!("tenders.csv „{}“", t.key)))?;
                let id = tender::create(conn, &past, &officer, &data)
                    .map_err(during(format!("Ausschreibung „{}“ anlegen", t.key)))?;
                if !t.document.is_empty() {
                    past.clock.advance(Duration::minutes(30));
                    let bytes = std::fs::read(dir.join("documents").join(&t.document))
                        .map_err(|e| seed_error("tenders.csv", format!("documents/{}: {e}", t.document)))?;
                    tender::add_document(conn, &past, &officer, id, &t.document, &bytes)
                        .map_err(during(format!("Unterlage {}", t.document)))?;
                }
                tender_ids.insert(t.key.as_str(), id);
            }
            Step::Publish(i) => {
                let t = &seed.tenders[i];
                let officer = demo_user(conn, &t.officer)?;
                tender::publish(conn, &past, &officer, tender_id(&tender_ids, &t.key)?)
                    .map_err(during(format!("Ausschreibung „{}“ veröffentlichen", t.key)))?;
            }
            Step::Ask(i) => {
                let q = &seed.questions[i];
                let vendor = demo_user(conn, vendor_email(&q.vendor)?)?;
                let qid = tender::ask(conn, &past, &vendor, tender_id(&tender_ids, &q.tender)?, &q.question)
                    .map_err(during(format!("tender_questions.csv „{}“", q.question)))?;
                question_ids.insert(i, qid);
            }
            Step::FileComplaint(i) => {
                let r = &seed.complaints[i];
                let vendor = demo_user(conn, vendor_email(&r.vendor)?)?;
                let tid = tender_id(&tender_ids, &r.tender)?;
                let lot_id = match r.lot {
                    Some(no) => Some(
                        tender::lots(conn, tid)?
                            .into_iter()
                            .find(|l| l.lot_no == no)
                            .ok_or_else(|| seed_error("complaints.csv", format!("„{}“ hat kein Los {no}", r.tender)))?
                            .id,
                    ),
                    None => None,
                };
                let cmd = crate::review::ComplaintCommand {
                    lot_id,
                    text: r.text.clone(),
                };
                let (cid, _) = crate::review::file_complaint(conn, &past, &vendor, tid, cmd)
                    .map_err(during(format!("complaints.csv Zeile {}", i + 2)))?;
                complaint_ids.insert(i, cid);
            }
            Step::AnswerComplaint(i) => {
                let r = &seed.complaints[i];
                let officer = demo_user(conn, tender_officer(&r.tender))?;
                let cid = complaint_ids
                    .get(&i)
                    .copied()
                    .ok_or_else(|| seed_error("complaints.csv", "Antwort vor der Rüge"))?;
                let remedy = match r.decision.trim() {
                    "remedy" => true,
                    "reject" => false,
                    other => {
                        return Err(seed_error(
                            "complaints.csv",
                            format!("Entscheidung „{other}“: remedy oder reject"),
                        ))
                    }
                };
                let cmd = crate::review::AnswerCommand {
                    remedy,
                    reason: r.answer.clone(),
                };
                crate::review::answer(conn, &past, &officer, tender_id(&tender_ids, &r.tender)?, cid, cmd)
                    .map_err(during(format!("complaints.csv Zeile {} (Antwort)", i + 2)))?;
            }
            Step::Answer(i) => {
                let q = &seed.questions[i];
                let t = seed.tenders.iter().find(|t| t.key == q.tender).expect("checked");
                let officer = demo_user(conn, &t.officer)?;
                let qid = question_ids
                    .get(&i)
                    .copied()
                    .ok_or_else(|| seed_error("tender_questions.csv", "Antwort vor der Frage"))?;
                tender::answer(
                    conn,
                    &past,
                    &officer,
                    tender_id(&tender_ids, &q.tender)?,
                    qid,
                    &q.answer,
                )
                .map_err(during(format!("tender_questions.csv Antwort auf „{}“", q.question)))?;
            }
            Step::Bid(i) => {
                let b = &seed.bids[i];
                let vendor = demo_user(conn, vendor_email(&b.vendor)?)?;
                let id = tender_id(&tender_ids, &b.tender)?;
                let what = format!("bids.csv „{} / {} / {}“", b.tender, b.vendor, b.action);
                if b.action == "withdraw" {
                    bids::withdraw(conn, &past, &vendor, id).map_err(during(what))?;
                    continue;
                }
                let factor =
                    demo_number(&b.price_factor, "bids.csv price_factor")?.unwrap_or(rust_decimal::Decimal::ONE);
                let tendered = tender::find(conn, id)?;
                let positions = tender::positions(conn, id)?;
                let call_positions = crate::demand::positions(conn, tendered.demand_call_id)?;
                let mut prices = HashMap::new();
                for p in seed
                    .prices
                    .iter()
                    .filter(|p| p.tender == b.tender && p.vendor == b.vendor)
                {
                    let item = loaded.catalogue.get(&p.catalogue_key).copied();
                    let position = positions
                        .iter()
                        .find(|tp| {
                            call_positions
                                .iter()
                                .any(|cp| Some(cp.id) == tp.demand_position_id && cp.catalogue_item_id == item)
                        })
                        .ok_or_else(|| {
                            seed_error(
                                "bid_prices.csv",
                                format!("„{}“ wird in „{}“ nicht ausgeschrieben", p.catalogue_key, p.tender),
                            )
                        })?;
                    let list = demo_number(&p.unit_price, "bid_prices.csv unit_price")?.unwrap_or_default();
                    // The factor makes a resubmission cheaper or dearer; prices stay in cents.
                    let price = Price::from_decimal(round_commercial(list * factor, 2))
                        .map_err(|e| seed_error("bid_prices.csv", format!("{}: {e}", p.catalogue_key)))?;
                    prices.insert(position.id, price);
                }
                let spec = tendered.spec()?;
                let input = bids::BidInput {
                    prices,
                    lots: Vec::new(),
                    a_confirmed: vec![true; spec.a_criteria.len()],
                    b_texts: b.quality.split('|').map(|s| s.trim().to_string()).collect(),
                };
                bids::submit(conn, &past, &vendor, id, &input).map_err(during(what))?;
            }
            Step::StartOpening(i) => {
                let t = &seed.tenders[i];
                let officer = demo_user(conn, &t.opened_by)?;
                tender::start_opening(conn, &past, &officer, tender_id(&tender_ids, &t.key)?)
                    .map_err(during(format!("Öffnung von „{}“ beginnen", t.key)))?;
            }
            Step::ConfirmOpening(i) => {
                let t = &seed.tenders[i];
                let officer = demo_user(conn, &t.confirmed_by)?;
                tender::confirm_opening(conn, &past, &officer, tender_id(&tender_ids, &t.key)?)
                    .map_err(during(format!("Öffnung von „{}“ bestätigen", t.key)))?;
            }
            Step::Evaluate(i) => {
                let e = &seed.evaluations[i];
                let (officer, bid) = target(conn, &tender_ids, &e.tender, &e.vendor, e.lot)?;
                let what = during(format!("evaluations.csv „{} / {} / {}“", e.tender, e.vendor, e.action));
                match e.action.as_str() {
                    "score" => {
                        let mut scores = Vec::new();
                        for (s, r) in split_bar(&e.scores).into_iter().zip(split_bar(&e.reason)) {
                            let score = crate::domain::numbers::german(s)
                                .map_err(|m| seed_error("evaluations.csv", format!("Punktzahl {m}")))?;
                            scores.push((Some(score), r.to_string()));
                        }
                        award::score(conn, &past, &officer, bid.tender_id, bid.bid_id, &scores).map_err(what)?;
                    }
                    "request_explanation" => award::request_explanation(conn, &past, &officer, bid).map_err(what)?,
                    decision => {
                        let accept = decision == "accept_low";
                        award::decide_low(conn, &past, &officer, bid, accept, &e.reason).map_err(what)?;
                    }
                }
            }
            Step::Award(i) => {
                let a = &seed.awards[i];
                let (officer, bid) = target(conn, &tender_ids, &a.tender, &a.vendor, Some(a.lot))?;
                let id = award::award(conn, &past, &officer, bid, &a.reason).map_err(during(format!(
                    "awards.csv „{} / Los {} / {}“",
                    a.tender, a.lot, a.vendor
                )))?;
                award_ids.insert(i, id);
            }
            Step::SendLetters(i) => {
                use crate::db::schema::award_notice_mails;
                use crate::mail::sender;
                let award_id = award_ids
                    .get(&i)
                    .copied()
                    .ok_or_else(|| seed_error("awards.csv", "Versand vor dem Zuschlag"))?;
                let letters: Vec<crate::domain::ids::OutboxId> = award_notice_mails::table
                    .filter(award_notice_mails::award_id.eq(award_id))
                    .select(award_notice_mails::outbox_id)
                    .load(conn)?;
                // History: the letters went out then, to the demo firms' addresses; the live
                // sender does not send them again.
                let now = past.clock.now_naive();
                for id in letters {
                    if let Some(row) = sender::claim(conn, id, now, "demo-historie")? {
                        let row = row.dated(&past.config.calendar());
                        sender::finish(conn, &row, "demo-historie", now, Ok(()), past.config.mail_max_attempts)?;
                    }
                }
            }
            Step::Conclude(i) => {
                let a = &seed.awards[i];
                let officer = demo_user(conn, tender_officer(&a.tender))?;
                let award_id = award_ids
                    .get(&i)
                    .copied()
                    .ok_or_else(|| seed_error("awards.csv", "Abschluss vor dem Zuschlag"))?;
                let contract_id = award::conclude(conn, &past, &officer, tender_id(&tender_ids, &a.tender)?, award_id)
                    .map_err(during(format!("awards.csv „{} / Los {}“ abschließen", a.tender, a.lot)))?;
                contract_ids.insert(i, contract_id);
            }
            Step::PlaceCalloff(i) => {
                let r = &seed.calloffs[i];
                let what = format!(
                    "calloffs.csv Zeile {} („{} / Los {} / {}“)",
                    i + 2,
                    r.tender,
                    r.lot,
                    r.buyer
                );
                let contract_id = seed
                    .concluded(&r.tender, r.lot, today, state.config.holiday_region())
                    .and_then(|(a, _)| contract_ids.get(&a).copied())
                    .ok_or_else(|| seed_error("calloffs.csv", format!("{what}: Abruf vor dem Vertragsschluss")))?;
                let buyer = demo_user(conn, &r.buyer)?;
                let positions = crate::calloff::positions(conn, contract_id)?;
                let mut quantities = Vec::new();
                for (no, q) in calloff_positions(&r.positions)? {
                    let p = positions
                        .iter()
                        .find(|p| p.position_no == no)
                        .ok_or_else(|| seed_error("calloffs.csv", format!("{what}: Pos. {no} nicht im Vertrag")))?;
                    let q = crate::domain::money::Quantity::from_decimal(q)
                        .map_err(|e| seed_error("calloffs.csv", format!("{what}: Pos. {no}: Die Menge {e}")))?;
                    quantities.push((p.position_id, q));
                }
                let input = crate::calloff::CalloffCommand {
                    quantities,
                    delivery_address: r.delivery_address.clone(),
                    cost_centre: r.cost_centre.clone(),
                    leitweg_id: r.leitweg_id.clone(),
                    note: r.note.clone(),
                };
                let placed = crate::calloff::place(conn, &past, &buyer, contract_id, &input).map_err(during(what))?;
                calloff_ids.insert(i, placed.id);
            }
            Step::AnswerCalloff(i) | Step::DeliverCalloff(i) => {
                use crate::calloff::Step as Life;
                let r = &seed.calloffs[i];
                let deliver = matches!(step, Step::DeliverCalloff(_));
                let what = format!("calloffs.csv Zeile {} („{} / {}“)", i + 2, r.buyer, r.status);
                let id = calloff_ids
                    .get(&i)
                    .copied()
                    .ok_or_else(|| seed_error("calloffs.csv", format!("{what}: Schritt vor dem Abruf")))?;
                let (life, actor) = match (deliver, r.status) {
                    (true, _) => (Life::Deliver, r.buyer.clone()),
                    (false, CalloffStatus::Cancelled) => (Life::Cancel, r.buyer.clone()),
                    (false, status) => {
                        let vendor = seed
                            .awards
                            .iter()
                            .find(|a| a.tender == r.tender && a.lot == r.lot)
                            .map(|a| a.vendor.as_str())
                            .unwrap_or_default();
                        let life = if status == CalloffStatus::Rejected {
                            Life::Reject
                        } else {
                            Life::Confirm
                        };
                        (life, vendor_email(vendor)?.to_string())
                    }
                };
                let user = demo_user(conn, &actor)?;
                let reason = if deliver { "" } else { r.reason.as_str() };
                crate::calloff::advance(conn, &past, &user, id, life, reason).map_err(during(what))?;
            }
        }
    }
    Ok(())
}
