//! Pages of evaluation and award: the evaluation of an opened tender per lot, the price
//! comparison (page and CSV), a bid's scores and exclusion, § 60 reviews, tie decisions, award,
//! conclusion, cancellation, the Vergabevermerk and the framework contract document.

use super::{BidOnLot, LotEvaluation};
use crate::auth::csrf::FormData;
use crate::auth::CurrentUser;
use crate::db::{Db, DbConn};
use crate::domain::bid::{AwardStatus, ExclusionKind};
use crate::domain::ids::{AwardId, BidId, ContractId, LotId, TenderId};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::import::CsvDownload;
use crate::web::Html;
use crate::web::{read, Layout};
use crate::AppState;
use rocket::http::{ContentType, Status};
use rocket::response::{status, Flash, Redirect};
use rocket::{get, post, routes, Build, Either, Rocket};
use rust_decimal::Decimal;
use serde_json::{json, Value};

type Page = AppResult<Either<Flash<Redirect>, status::Custom<Html>>>;

fn lot_view(e: &LotEvaluation) -> Value {
    let mut v = json!(e);
    // Rows in rank order with the bid's data next to its score, for the table.
    let rows: Vec<Value> = e
        .ranking
        .iter()
        .map(|s| {
            let bid = e.bids.iter().find(|b| b.bid_id == s.bid_id);
            json!({
                "score": s,
                "bid": bid,
                "low": e.low_flags.iter().find(|f| f.bid_id == s.bid_id),
                "review": e.reviews.iter().find(|r| r.bid_id == s.bid_id),
            })
        })
        .collect();
    v["rows"] = json!(rows);
    v["can_cancel"] =
        json!(e.lot.cancelled_at.is_none() && e.award.as_ref().is_none_or(|a| a.status != AwardStatus::Concluded));
    v["excluded"] = json!(e.bids.iter().filter(|b| b.excluded_kind.is_some()).collect::<Vec<_>>());
    v["tied"] = json!(e
        .ranking
        .iter()
        .filter(|s| s.rank == 1 && s.tied)
        .map(
            |s| json!({ "bid_id": s.bid_id, "vendor": e.bids.iter().find(|b| b.bid_id == s.bid_id).map(|b| &b.vendor) })
        )
        .collect::<Vec<_>>());
    v["proposed_vendor"] = json!(e
        .proposed_bid_id
        .and_then(|id| e.bids.iter().find(|b| b.bid_id == id))
        .map(|b| &b.vendor));
    v
}

fn context(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: TenderId) -> AppResult<Value> {
    let (t, lots) = super::evaluation(conn, user, id)?;
    let now = state.clock.now_naive();
    let today = state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let spec = t.spec()?;
    let calendar = state.config.calendar();
    let mut views = Vec::new();
    for e in &lots {
        let mut v = lot_view(e);
        if let Some(a) = &e.award {
            v["standstill"] = json!(super::standstill::of(conn, &calendar, a)?);
        }
        views.push(v);
    }
    // Review applications that bar the Zuschlag now (§ 169 (1) GWB), shown above the lots.
    let bars: Vec<crate::review::ReviewView> = crate::review::reviews_of(conn, user, &calendar, now, id)?
        .into_iter()
        .filter(|r| r.bars_now)
        .collect();
    Ok(json!({
        "tender": t.view(now),
        "spec": spec,
        "lots": views,
        "review_bars": bars,
        // The platform's own e-mail is never recorded by hand: "E-Mail" here is one sent
        // from the officer's own mailbox.
        "channels": crate::domain::standstill::Channel::ALL.iter().map(|c| json!({"value": c, "label": match c {
            crate::domain::standstill::Channel::Email => "E-Mail aus dem eigenen Postfach",
            other => other.label(),
        }})).collect::<Vec<_>>(),
        "today": today,
        "is_officer": user.is(Role::Officer),
        "kinds": ExclusionKind::ALL.iter().map(|k| json!({"value": k, "label": k.label()})).collect::<Vec<_>>(),
    }))
}

#[get("/ausschreibungen/<id>/wertung")]
async fn evaluation(id: TenderId, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> AppResult<Html> {
    let ctx = db.run(move |c| context(c, &state, &user, id)).await?;
    Ok(layout.render("award/evaluation", ctx))
}

/// Redirects back to the evaluation with a message, or shows it again with the error.
async fn after(
    result: AppResult<String>,
    id: TenderId,
    layout: &Layout,
    user: &CurrentUser,
    db: &Db,
    state: &AppState,
) -> Page {
    let e = match result {
        Ok(message) => {
            return Ok(Either::Left(Flash::success(
                Redirect::to(format!("/ausschreibungen/{id}/wertung")),
                message,
            )))
        }
        Err(e) => e,
    };
    let status = match &e {
        AppError::Validation { .. } => Status::UnprocessableEntity,
        AppError::Conflict(_) => Status::Conflict,
        _ => return Err(e),
    };
    // Decisions are forms in a long page: every message goes to the summary at the top.
    let mut messages: Vec<String> = e.field_errors().into_values().flatten().collect();
    if messages.is_empty() {
        messages.push(e.user_message());
    }
    let fields = FieldErrors::from([("aktion".to_string(), messages)]);
    let (st, u) = (state.clone(), user.clone());
    let ctx = db.run(move |c| context(c, &st, &u, id)).await?;
    let mut page = layout.render_errors("award/evaluation", ctx, &fields);
    page.0 = status;
    Ok(Either::Right(page))
}

fn target(id: TenderId, form: &FormData) -> BidOnLot {
    BidOnLot {
        tender_id: id,
        lot_id: form.get("lot_id").parse().unwrap_or(LotId(0)),
        bid_id: form.get("bid_id").parse().unwrap_or(BidId(0)),
    }
}

#[post("/ausschreibungen/<id>/wertung/ausschluss", data = "<form>")]
async fn exclude(id: TenderId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    // An unknown reason is refused by the service like a missing one.
    let (kind, reason) = (ExclusionKind::from_code(&form.get("kind")), form.get("reason"));
    let t = target(id, &form);
    let result = db
        .run(move |c| super::exclude(c, &st, &u, t, kind, &reason))
        .await
        .map(|_| "Das Angebot ist für dieses Los ausgeschlossen; die Rangfolge wurde neu berechnet.".to_string());
    after(result, id, &layout, &user, &db, &state).await
}

#[get("/ausschreibungen/<id>/wertung/angebot/<bid>")]
async fn bid_page(
    id: TenderId,
    bid: BidId,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Html> {
    let ctx = db
        .run(move |c| {
            let mut ctx = context(c, &state, &user, id)?;
            let (_, lots) = super::evaluation(c, &user, id)?;
            let b = lots
                .iter()
                .flat_map(|l| l.bids.iter())
                .find(|b| b.bid_id == bid)
                .cloned()
                .ok_or(AppError::NotFound)?;
            let texts = crate::tender::bids::opened(c, &user, id)?
                .1
                .into_iter()
                .find(|x| x.bid.id == bid)
                .map(|x| x.criteria.b_texts)
                .unwrap_or_default();
            let criteria: Vec<Value> = ctx["spec"]["b_criteria"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let current = b.scores.get(i).cloned().flatten();
                    json!({
                        "no": i + 1, "criterion": c, "text": texts.get(i),
                        "score": current.as_ref().map(|(s, _)| crate::german::decimal_de(*s, 0, 2)),
                        "reason": current.map(|(_, r)| r),
                    })
                })
                .collect();
            ctx["bid"] = json!(b);
            ctx["criteria"] = json!(criteria);
            Ok(ctx)
        })
        .await?;
    Ok(layout.render("award/bid", ctx))
}

#[post("/ausschreibungen/<id>/wertung/angebot/<bid>/bewertung", data = "<form>")]
async fn score(
    id: TenderId,
    bid: BidId,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    // A score that is no number is refused with the service's rule (0 to 10, 2 places).
    let scores: Vec<(Option<Decimal>, String)> = (1..=50)
        .map(|n| {
            let score = read::decimal(&form.get(&format!("score_{n}"))).ok().flatten();
            (score, form.get(&format!("reason_{n}")))
        })
        .collect();
    let result = db
        .run(move |c| super::score(c, &st, &u, id, bid, &scores))
        .await
        .map(|_| "Die Bewertung ist gespeichert; die Rangfolge wurde neu berechnet.".to_string());
    after(result, id, &layout, &user, &db, &state).await
}

#[post("/ausschreibungen/<id>/wertung/aufklaerung", data = "<form>")]
async fn request_explanation(
    id: TenderId,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let t = target(id, &form);
    let result = db
        .run(move |c| super::request_explanation(c, &st, &u, t))
        .await
        .map(|_| "Der Bieter wurde per E-Mail um Aufklärung seines Preises gebeten (§ 60 Abs. 1 VgV).".to_string());
    after(result, id, &layout, &user, &db, &state).await
}

#[post("/ausschreibungen/<id>/wertung/aufklaerung/entscheidung", data = "<form>")]
async fn decide_low(id: TenderId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let t = target(id, &form);
    let accept = form.get("decision") == "accepted";
    let reason = form.get("reason");
    let result = db
        .run(move |c| super::decide_low(c, &st, &u, t, accept, &reason))
        .await
        .map(|_| "Die Entscheidung zum ungewöhnlich niedrigen Angebot ist festgehalten.".to_string());
    after(result, id, &layout, &user, &db, &state).await
}

#[post("/ausschreibungen/<id>/wertung/gleichstand", data = "<form>")]
async fn decide_tie(id: TenderId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let t = target(id, &form);
    let note = form.get("note");
    let result = db
        .run(move |c| super::decide_tie(c, &st, &u, t.tender_id, t.lot_id, t.bid_id, &note))
        .await
        .map(|_| "Der Losentscheid ist festgehalten.".to_string());
    after(result, id, &layout, &user, &db, &state).await
}

#[post("/ausschreibungen/<id>/wertung/zuschlag", data = "<form>")]
async fn award(id: TenderId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let t = target(id, &form);
    let reason = form.get("reason");
    let result = db.run(move |c| super::award(c, &st, &u, t, &reason)).await.map(|_| {
        "Die Zuschlagsentscheidung ist festgehalten; die übrigen Bieter erhalten die Information nach § 134 GWB. \
             Die Wartefrist jedes Bieters beginnt am Tag nach der Absendung seiner Information."
            .to_string()
    });
    after(result, id, &layout, &user, &db, &state).await
}

/// The officer records that a bidder's § 134 information went out by fax, post or courier.
#[post("/ausschreibungen/<id>/wertung/zuschlag/<award>/absendung", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn record_delivery(
    id: TenderId,
    award: AwardId,
    form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = match delivery_command(&form) {
        Ok(cmd) => {
            db.run(move |c| super::standstill::record_delivery(c, &st, &u, id, award, cmd))
                .await
        }
        Err(e) => Err(e),
    };
    let result = result
        .map(|_| "Die Absendung ist eingetragen; die Wartefrist dieses Bieters läuft ab dem Tag danach.".to_string());
    after(result, id, &layout, &user, &db, &state).await
}

/// The form's fields read into the command; every field that cannot be read is named.
fn delivery_command(form: &FormData) -> AppResult<super::standstill::DeliveryCommand> {
    let mut errors = FieldErrors::new();
    let bid_id = form.get("bid_id").parse::<BidId>().ok();
    let channel = crate::domain::standstill::Channel::from_code(&form.get("channel"));
    if channel.is_none() {
        errors
            .entry("channel".into())
            .or_default()
            .push("Bitte den Weg wählen: E-Mail, Fax, Post oder Bote.".into());
    }
    let sent_at = read::local_datetime(&form.get("date"), &form.get("time"));
    if sent_at.is_none() || form.get("time").trim().is_empty() {
        errors
            .entry("sent_at".into())
            .or_default()
            .push("Bitte Datum (TT.MM.JJJJ) und Uhrzeit (HH:MM) der Absendung angeben.".into());
    }
    match (bid_id, channel, sent_at, errors.is_empty()) {
        (Some(bid_id), Some(channel), Some(sent_at), true) => Ok(super::standstill::DeliveryCommand {
            bid_id,
            channel,
            sent_at,
            note: form.get("note"),
        }),
        (None, ..) => Err(AppError::NotFound),
        _ => Err(AppError::fields(errors)),
    }
}

#[post("/ausschreibungen/<id>/wertung/zuschlag/<award>/abschluss", data = "<_form>")]
async fn conclude(
    id: TenderId,
    award: AwardId,
    _form: FormData,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let result = db.run(move |c| super::conclude(c, &st, &u, id, award)).await;
    match result {
        Ok(contract) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/vertraege/{contract}")),
            "Die Rahmenvereinbarung ist geschlossen; der Auftragnehmer hat das Zuschlagsschreiben erhalten.",
        ))),
        Err(e) => after(Err(e), id, &layout, &user, &db, &state).await,
    }
}

#[post("/ausschreibungen/<id>/aufhebung", data = "<form>")]
async fn cancel(id: TenderId, form: FormData, layout: Layout, user: CurrentUser, db: Db, state: AppState) -> Page {
    let (u, st) = (user.clone(), state.clone());
    let lot = form.get("lot_id").parse::<LotId>().ok();
    let reason = form.get("reason");
    let result = db
        .run(move |c| super::cancel(c, &st, &u, id, lot, &reason))
        .await
        .map(|n| format!("Die Aufhebung ist festgehalten; {n} Ansprechpersonen der Bieter wurden benachrichtigt."));
    match result {
        Ok(message) => Ok(Either::Left(Flash::success(
            Redirect::to(format!("/ausschreibungen/{id}")),
            message,
        ))),
        // Before opening there is no evaluation page to return to.
        Err(e @ (AppError::Validation { .. } | AppError::Conflict(_))) if !is_opened(&db, id).await => {
            Err(AppError::BadRequest(e.user_detail()))
        }
        Err(e) => after(Err(e), id, &layout, &user, &db, &state).await,
    }
}

async fn is_opened(db: &Db, id: TenderId) -> bool {
    db.run(move |c| crate::tender::find(c, id))
        .await
        .is_ok_and(|t| t.is_opened())
}

#[get("/ausschreibungen/<id>/wertung/los/<lot>")]
async fn price_sheet(
    id: TenderId,
    lot: LotId,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Html> {
    let now = state.clock.now_naive();
    let ctx = db
        .run(move |c| {
            let (t, sheet) = super::price_sheet(c, &user, id, lot)?;
            Ok(json!({ "tender": t.view(now), "sheet": sheet }))
        })
        .await?;
    Ok(layout.render("award/price_sheet", ctx))
}

#[get("/ausschreibungen/<id>/wertung/los/<lot>/preisspiegel.csv")]
async fn price_sheet_csv(id: TenderId, lot: LotId, user: CurrentUser, db: Db) -> AppResult<CsvDownload> {
    let (_, sheet) = db.run(move |c| super::price_sheet(c, &user, id, lot)).await?;
    Ok(CsvDownload::new(
        super::price_sheet_csv(&sheet),
        &format!("preisspiegel-{id}-los-{}.csv", sheet.lot.lot_no),
    ))
}

#[get("/ausschreibungen/<id>/vergabevermerk")]
async fn record(id: TenderId, user: CurrentUser, db: Db, state: AppState) -> AppResult<(ContentType, String)> {
    let text = db.run(move |c| super::procurement_record(c, &state, &user, id)).await?;
    Ok((ContentType::HTML, text))
}

#[get("/vertraege/<id>/dokument")]
async fn contract(id: ContractId, user: CurrentUser, db: Db) -> AppResult<(ContentType, String)> {
    let c = db.run(move |c| super::contract(c, &user, id)).await?;
    Ok((ContentType::HTML, c.document))
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount(
        "/",
        routes![
            evaluation,
            exclude,
            bid_page,
            score,
            request_explanation,
            decide_low,
            decide_tie,
            award,
            record_delivery,
            conclude,
            cancel,
            price_sheet,
            price_sheet_csv,
            record,
            contract
        ],
    )
}
