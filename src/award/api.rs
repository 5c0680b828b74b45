//! Evaluation and award over the JSON API: the services of `crate::award` with bearer tokens.
//! Bid content is read only through the sealed gate of the services (`tender::bids::opened_meta`):
//! officers and the board, after the two-officer opening. Every decision is the officer's.

use crate::api::body::Plain;
use crate::api::Body;
use crate::auth::{ApiUser, CurrentUser};
use crate::award::{self, Award, BidOnLot, ContractRow, LotBid, LotEvaluation, LowReview, PriceSheet, SheetBidder};
use crate::db::schema::{contract_members, contract_positions, organisations, tender_lots, tender_positions};
use crate::db::{Db, DbConn};
use crate::domain::bid::ExclusionKind;
use crate::domain::evaluation::EvaluationSpec;
use crate::domain::ids::{AwardId, BidId, ContractId, LotId, OrgId, TenderId, TenderPositionId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::period::Calendar;
use crate::domain::roles::Role;
use crate::domain::scoring::{LowFlag, Scored};
use crate::domain::standstill::Channel;
use crate::domain::tender::TenderStatus;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::import::CsvDownload;
use crate::tender::{self, Lot, TenderPosition};
use crate::AppState;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rocket::http::ContentType;
use rocket::response::status;
use rocket::serde::json::Json;
use rocket::{get, post, put, routes, Route};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

// ----------------------------------------------------------------------------- evaluation

/// An award with its standstill bidder by bidder and the first day the contract may be
/// concluded (the day after the latest standstill).
#[derive(Serialize, ToSchema)]
#[schema(as = AwardDetail)]
struct ApiAward {
    #[serde(flatten)]
    award: Award,
    /// Erster Tag, an dem der Vertrag geschlossen werden kann; null, solange eine Information
    /// nach § 134 GWB nicht abgesendet ist
    conclusion_possible_from: Option<NaiveDate>,
    standstill: award::standstill::Standstill,
}

impl ApiAward {
    fn new(conn: &mut DbConn, calendar: &Calendar, award: Award) -> AppResult<ApiAward> {
        let standstill = award::standstill::of(conn, calendar, &award)?;
        Ok(ApiAward {
            conclusion_possible_from: standstill.conclusion_possible_from,
            standstill,
            award,
        })
    }
}

/// The score of one B-criterion; `score` and `reason` are null until the officer scored it.
#[derive(Serialize, ToSchema)]
struct CriterionScore {
    criterion_no: i32,
    criterion: String,
    /// 0 bis 10; null, solange nicht bewertet
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    score: Option<Decimal>,
    reason: Option<String>,
}

/// A bid on one lot as the evaluation sees it.
#[derive(Serialize, ToSchema)]
struct EvaluatedBid {
    #[schema(value_type = i64)]
    bid_id: BidId,
    #[schema(value_type = i64)]
    vendor_id: OrgId,
    vendor: String,
    submitted_at: NaiveDateTime,
    total: Amount,
    a_confirmed: Vec<bool>,
    excluded_kind: Option<ExclusionKind>,
    excluded_label: Option<&'static str>,
    excluded_reason: Option<String>,
    scores: Vec<CriterionScore>,
}

impl EvaluatedBid {
    fn new(b: LotBid, spec: &EvaluationSpec) -> EvaluatedBid {
        let scores = spec
            .b_criteria
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let current = b.scores.get(i).cloned().flatten();
                CriterionScore {
                    criterion_no: i as i32 + 1,
                    criterion: c.name.clone(),
                    score: current.as_ref().map(|(s, _)| *s),
                    reason: current.map(|(_, r)| r),
                }
            })
            .collect();
        EvaluatedBid {
            bid_id: b.bid_id,
            vendor_id: b.vendor_id,
            vendor: b.vendor,
            submitted_at: b.submitted_at,
            total: b.total,
            a_confirmed: b.a_confirmed,
            excluded_kind: b.excluded_kind,
            excluded_label: b.excluded_label,
            excluded_reason: b.excluded_reason,
            scores,
        }
    }
}

/// Everything decided and computed for one lot.
#[derive(Serialize, ToSchema)]
#[schema(as = LotEvaluation)]
struct ApiLotEvaluation {
    lot: Lot,
    /// Σ geschätzte Menge × Schätzpreis, wenn jede Position einen Schätzpreis hat
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    estimate_total: Option<Decimal>,
    bids: Vec<EvaluatedBid>,
    ranking: Vec<Scored>,
    low_flags: Vec<LowFlag>,
    reviews: Vec<LowReview>,
    award: Option<ApiAward>,
    blockers: Vec<String>,
    #[schema(value_type = Option<i64>)]
    proposed_bid_id: Option<BidId>,
}

impl ApiLotEvaluation {
    fn new(
        conn: &mut DbConn,
        calendar: &Calendar,
        e: LotEvaluation,
        spec: &EvaluationSpec,
    ) -> AppResult<ApiLotEvaluation> {
        let award = match e.award {
            Some(a) => Some(ApiAward::new(conn, calendar, a)?),
            None => None,
        };
        Ok(ApiLotEvaluation {
            lot: e.lot,
            estimate_total: e.estimate_total,
            bids: e.bids.into_iter().map(|b| EvaluatedBid::new(b, spec)).collect(),
            ranking: e.ranking,
            low_flags: e.low_flags,
            reviews: e.reviews,
            award,
            blockers: e.blockers,
            proposed_bid_id: e.proposed_bid_id,
        })
    }
}

#[derive(Serialize, ToSchema)]
struct Evaluation {
    #[schema(value_type = i64)]
    tender_id: TenderId,
    title: String,
    status: TenderStatus,
    cancelled_at: Option<NaiveDateTime>,
    evaluation: EvaluationSpec,
    lots: Vec<ApiLotEvaluation>,
}

fn evaluation_of(conn: &mut DbConn, state: &AppState, user: &CurrentUser, id: TenderId) -> AppResult<Evaluation> {
    let (t, lots) = award::evaluation(conn, user, id)?;
    let spec = t.spec()?;
    let calendar = state.config.calendar();
    let mut out = Vec::with_capacity(lots.len());
    for l in lots {
        out.push(ApiLotEvaluation::new(conn, &calendar, l, &spec)?);
    }
    Ok(Evaluation {
        tender_id: t.id,
        title: t.title,
        status: t.status,
        cancelled_at: t.cancelled_at,
        lots: out,
        evaluation: spec,
    })
}

/// A lot of the tender, or 404 (also for a lot of another tender).
fn lot_of(conn: &mut DbConn, tender_id: TenderId, lot_id: LotId) -> AppResult<Lot> {
    Ok(tender_lots::table
        .find(lot_id)
        .filter(tender_lots::tender_id.eq(tender_id))
        .first(conn)?)
}

/// One lot's evaluation, through the same gate as the whole evaluation.
fn lot_evaluation(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    id: TenderId,
    lot_id: LotId,
) -> AppResult<ApiLotEvaluation> {
    let (t, ()) = tender::bids::opened_meta(conn, user, id)?;
    let spec = t.spec()?;
    let lot = lot_of(conn, id, lot_id)?;
    let e = award::evaluate_lot(conn, &t, &spec, lot)?;
    ApiLotEvaluation::new(conn, &state.config.calendar(), e, &spec)
}

#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "get_evaluation",
    summary = "Wertung aller Lose nach der Öffnung: Angebote mit Ausschlüssen und Bewertungen, Rangfolge nach der veröffentlichten Methode, ungewöhnlich niedrige Angebote, Aufklärungen, Hinderungsgründe, vorgeschlagenes Angebot, Zuschlag (Vergabestelle, Vorstand)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Wertung", body = Evaluation)
    )
)]
#[get("/tenders/<id>/evaluation")]
async fn evaluation(user: ApiUser, db: Db, state: AppState, id: TenderId) -> AppResult<Json<Evaluation>> {
    Ok(Json(db.run(move |c| evaluation_of(c, &state, &user.0, id)).await?))
}

// ----------------------------------------------------------------------------- price comparison

#[derive(Serialize, ToSchema)]
struct ComparisonCell {
    #[schema(value_type = i64)]
    bid_id: BidId,
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    unit_price: Option<Decimal>,
    /// Geschätzte Menge × Einzelpreis, kaufmännisch auf Cent
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    line_total: Option<Decimal>,
}

#[derive(Serialize, ToSchema)]
struct ComparisonRow {
    position: TenderPosition,
    /// Je Bieter in der Reihenfolge von bidders
    cells: Vec<ComparisonCell>,
    /// Über die wertbaren Angebote, 4 Stellen
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    mean_price: Option<Decimal>,
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    min_price: Option<Decimal>,
}

/// The Preisspiegel of a lot: positions × bidders, line totals on the estimated quantities.
#[derive(Serialize, ToSchema)]
struct PriceComparison {
    #[schema(value_type = i64)]
    tender_id: TenderId,
    lot: Lot,
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    estimate_total: Option<Decimal>,
    bidders: Vec<SheetBidder>,
    rows: Vec<ComparisonRow>,
}

impl From<PriceSheet> for PriceComparison {
    fn from(s: PriceSheet) -> Self {
        let ids: Vec<BidId> = s.bidders.iter().map(|b| b.bid_id).collect();
        let rows = s
            .rows
            .into_iter()
            .map(|r| ComparisonRow {
                cells: ids
                    .iter()
                    .zip(&r.cells)
                    .map(|(bid_id, cell)| ComparisonCell {
                        bid_id: *bid_id,
                        unit_price: cell.map(|(u, _)| u),
                        line_total: cell.map(|(_, l)| l),
                    })
                    .collect(),
                position: r.position,
                mean_price: r.mean_price,
                min_price: r.min_price,
            })
            .collect();
        PriceComparison {
            tender_id: s.lot.tender_id,
            lot: s.lot,
            estimate_total: s.estimate_total,
            bidders: s.bidders,
            rows,
        }
    }
}

#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "get_price_comparison",
    summary = "Preisspiegel eines Loses: Positionen × Bieter mit Einzelpreisen und Zeilensummen auf die geschätzten Mengen, Mittelwert, Minimum, Abweichungen (Vergabestelle, Vorstand)",
    params(("id" = i64, Path), ("lot" = i64, Path)),
    responses(
        (status = 200, description = "Preisspiegel", body = PriceComparison)
    )
)]
#[get("/tenders/<id>/lots/<lot>/price-comparison")]
async fn price_comparison(user: ApiUser, db: Db, id: TenderId, lot: LotId) -> AppResult<Json<PriceComparison>> {
    let (_, sheet) = db.run(move |c| award::price_sheet(c, &user.0, id, lot)).await?;
    Ok(Json(sheet.into()))
}

#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "get_price_comparison_csv",
    summary = "Preisspiegel eines Loses als CSV (Vergabestelle, Vorstand)",
    params(("id" = i64, Path), ("lot" = i64, Path)),
    responses(
        (status = 200, description = "CSV (;, Dezimalkomma, UTF-8 mit BOM)", body = String, content_type = "text/csv")
    )
)]
#[get("/tenders/<id>/lots/<lot>/price-comparison.csv")]
async fn price_comparison_csv(user: ApiUser, db: Db, id: TenderId, lot: LotId) -> AppResult<CsvDownload> {
    let (_, sheet) = db.run(move |c| award::price_sheet(c, &user.0, id, lot)).await?;
    Ok(CsvDownload::new(
        award::price_sheet_csv(&sheet),
        &format!("preisspiegel-{id}-los-{}.csv", sheet.lot.lot_no),
    ))
}

// ----------------------------------------------------------------------------- decisions

fn missing_bid() -> AppError {
    AppError::field("bid_id", "Bitte geben Sie das Angebot an (bid_id).")
}

/// The bid on a lot of the tender a decision is about; the lot must belong to the tender.
fn target(conn: &mut DbConn, tender_id: TenderId, lot_id: LotId, bid_id: Option<BidId>) -> AppResult<BidOnLot> {
    lot_of(conn, tender_id, lot_id)?;
    Ok(BidOnLot {
        tender_id,
        lot_id,
        bid_id: bid_id.ok_or_else(missing_bid)?,
    })
}

/// Renames the fields of a validation error to those of the JSON body.
fn rename_fields(e: AppError, name: impl Fn(&str) -> String) -> AppError {
    match e {
        AppError::Validation { message, fields } => {
            let mut renamed = FieldErrors::new();
            for (k, v) in fields {
                renamed.entry(name(&k)).or_default().extend(v);
            }
            AppError::Validation {
                message,
                fields: renamed,
            }
        }
        other => other,
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ExclusionInput)]
struct ExclusionBody {
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    bid_id: Option<BidId>,
    #[serde(default)]
    kind: Option<ExclusionKind>,
    #[serde(default)]
    #[schema(min_length = 3, max_length = 4000)]
    reason: String,
}

// Excludes a bid from one lot with a reason (officer); answers with the lot's new evaluation.
#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "exclude_bid",
    summary = "Angebot für dieses Los mit Grund ausschließen (Vergabestelle); bis zum Zuschlag",
    params(("id" = i64, Path), ("lot" = i64, Path)),
    request_body = ExclusionBody,
    responses(
        (status = 200, description = "Neue Wertung des Loses", body = ApiLotEvaluation)
    )
)]
#[post("/tenders/<id>/lots/<lot>/exclusions", data = "<body>")]
async fn exclude(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    lot: LotId,
    body: Body<ExclusionBody>,
) -> AppResult<Json<ApiLotEvaluation>> {
    user.0.require(&[Role::Officer])?;
    let body = body.0;
    let u = user.0;
    Ok(Json(
        db.run(move |c| {
            let t = target(c, id, lot, body.bid_id)?;
            award::exclude(c, &state, &u, t, body.kind, &body.reason)?;
            lot_evaluation(c, &state, &u, id, lot)
        })
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
struct ScoreIn {
    #[serde(default)]
    score: Plain<Decimal>,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ScoresInput)]
struct ScoresBody {
    #[serde(default)]
    scores: Vec<ScoreIn>,
}

// Records the B-criterion scores of a bid, in the criteria's order (officer); answers with
// the evaluation of every lot.
#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "score_bid",
    summary = "B-Kriterien eines Angebots bewerten, je Kriterium in ihrer Reihenfolge Punktzahl 0 bis 10 (höchstens 2 Nachkommastellen) mit Begründung; ersetzt die vorige Bewertung (Vergabestelle)",
    params(("bid" = i64, Path), ("id" = i64, Path)),
    request_body = ScoresBody,
    responses(
        (status = 200, description = "Neue Wertung aller Lose", body = Evaluation)
    )
)]
#[put("/tenders/<id>/bids/<bid>/scores", data = "<body>")]
async fn score(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    bid: BidId,
    body: Body<ScoresBody>,
) -> AppResult<Json<Evaluation>> {
    user.0.require(&[Role::Officer])?;
    let body = body.0;
    let u = user.0;
    Ok(Json(
        db.run(move |c| {
            let count = tender::find(c, id)?.spec()?.b_criteria.len();
            let mut errors = FieldErrors::new();
            if body.scores.len() > count {
                errors.entry("scores".into()).or_default().push(format!(
                    "Diese Ausschreibung hat {count} B-Kriterien; gesendet wurden {} Bewertungen.",
                    body.scores.len()
                ));
            }
            let mut pairs = Vec::with_capacity(body.scores.len());
            for (i, s) in body.scores.iter().enumerate() {
                let score = match &s.score {
                    Plain::Absent => None,
                    Plain::Given(d) => Some(*d),
                    Plain::Bad(e) => {
                        errors
                            .entry("scores".into())
                            .or_default()
                            .push(format!("B{}: Die Punktzahl {e}.", i + 1));
                        None
                    }
                };
                pairs.push((score, s.reason.clone()));
            }
            if !errors.is_empty() {
                return Err(AppError::fields(errors));
            }
            award::score(c, &state, &u, id, bid, &pairs).map_err(|e| rename_fields(e, |_| "scores".into()))?;
            evaluation_of(c, &state, &u, id)
        })
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = BidChoice)]
struct ExplanationBody {
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    bid_id: Option<BidId>,
}

// § 60 VgV: asks the vendor of a flagged bid to explain its price (officer).
#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "request_explanation",
    summary = "Aufklärung eines ungewöhnlich niedrigen Angebots verlangen (§ 60 Abs. 1 VgV); der Bieter erhält eine E-Mail (Vergabestelle)",
    params(("id" = i64, Path), ("lot" = i64, Path)),
    request_body = ExplanationBody,
    responses(
        (status = 200, description = "Neue Wertung des Loses", body = ApiLotEvaluation)
    )
)]
#[post("/tenders/<id>/lots/<lot>/explanations", data = "<body>")]
async fn request_explanation(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    lot: LotId,
    body: Body<ExplanationBody>,
) -> AppResult<Json<ApiLotEvaluation>> {
    user.0.require(&[Role::Officer])?;
    let bid_id = body.0.bid_id;
    let u = user.0;
    Ok(Json(
        db.run(move |c| {
            let t = target(c, id, lot, bid_id)?;
            award::request_explanation(c, &state, &u, t)?;
            lot_evaluation(c, &state, &u, id, lot)
        })
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = LowDecisionInput)]
struct LowDecisionBody {
    #[serde(default)]
    accept: Option<bool>,
    #[serde(default)]
    #[schema(min_length = 3, max_length = 4000)]
    reason: String,
}

// Decides on an abnormally low bid after its explanation: accepted, or excluded (officer).
#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "decide_low_bid",
    summary = "Nach der Aufklärung entscheiden: Angebot annehmen oder ausschließen, mit Begründung (Vergabestelle)",
    params(("bid" = i64, Path), ("id" = i64, Path), ("lot" = i64, Path)),
    request_body = LowDecisionBody,
    responses(
        (status = 200, description = "Neue Wertung des Loses", body = ApiLotEvaluation)
    )
)]
#[post("/tenders/<id>/lots/<lot>/explanations/<bid>/decision", data = "<body>")]
async fn decide_low(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    lot: LotId,
    bid: BidId,
    body: Body<LowDecisionBody>,
) -> AppResult<Json<ApiLotEvaluation>> {
    user.0.require(&[Role::Officer])?;
    let body = body.0;
    let u = user.0;
    Ok(Json(
        db.run(move |c| {
            let t = target(c, id, lot, Some(bid))?;
            let accept = body.accept.ok_or_else(|| {
                AppError::field(
                    "accept",
                    "Bitte geben Sie an, ob das Angebot angenommen (true) oder ausgeschlossen (false) wird.",
                )
            })?;
            award::decide_low(c, &state, &u, t, accept, &body.reason)?;
            lot_evaluation(c, &state, &u, id, lot)
        })
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = TieDecisionInput)]
struct TieBody {
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    bid_id: Option<BidId>,
    #[serde(default)]
    #[schema(min_length = 3, max_length = 4000)]
    note: String,
}

// Records how a tie at rank 1 was decided by drawing lots, naming the drawn bid (officer).
#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "decide_tie",
    summary = "Losentscheid bei Gleichstand auf Rang 1 festhalten: das gezogene Angebot und wie gezogen wurde (Vergabestelle)",
    params(("id" = i64, Path), ("lot" = i64, Path)),
    request_body = TieBody,
    responses(
        (status = 200, description = "Neue Wertung des Loses", body = ApiLotEvaluation)
    )
)]
#[post("/tenders/<id>/lots/<lot>/tie-decision", data = "<body>")]
async fn decide_tie(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    lot: LotId,
    body: Body<TieBody>,
) -> AppResult<Json<ApiLotEvaluation>> {
    user.0.require(&[Role::Officer])?;
    let body = body.0;
    let u = user.0;
    Ok(Json(
        db.run(move |c| {
            let t = target(c, id, lot, body.bid_id)?;
            award::decide_tie(c, &state, &u, id, lot, t.bid_id, &body.note)?;
            lot_evaluation(c, &state, &u, id, lot)
        })
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = AwardInput)]
struct AwardBody {
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    bid_id: Option<BidId>,
    #[serde(default)]
    #[schema(min_length = 3, max_length = 4000)]
    reason: String,
}

// Awards a lot to its best-ranked bid (officer): the other bidders get the § 134 GWB
// information and the standstill starts.
#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "award_lot",
    summary = "Zuschlag auf das nach der veröffentlichten Methode beste Angebot beschließen: die übrigen Bieter erhalten die Information nach § 134 GWB, die Wartefrist beginnt (Vergabestelle)",
    params(("id" = i64, Path), ("lot" = i64, Path)),
    request_body = AwardBody,
    responses(
        (status = 201, description = "Zuschlagsentscheidung festgehalten, Bieter werden informiert", body = ApiAward)
    )
)]
#[post("/tenders/<id>/lots/<lot>/award", data = "<body>")]
async fn award_lot(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    lot: LotId,
    body: Body<AwardBody>,
) -> AppResult<status::Created<Json<ApiAward>>> {
    user.0.require(&[Role::Officer])?;
    let body = body.0;
    let u = user.0;
    let a = db
        .run(move |c| {
            let t = target(c, id, lot, body.bid_id)?;
            let award_id = award::award(c, &state, &u, t, &body.reason)?;
            let a = award::awards_of(c, id)?
                .into_values()
                .find(|a| a.id == award_id)
                .ok_or(AppError::NotFound)?;
            ApiAward::new(c, &state.config.calendar(), a)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/tenders/{id}/evaluation")).body(Json(a)))
}

// ----------------------------------------------------------------------------- contracts

#[derive(Serialize, ToSchema)]
struct ContractPosition {
    #[schema(value_type = i64)]
    position_id: TenderPositionId,
    position_no: i32,
    description: String,
    unit: String,
    cpv_code: String,
    unit_price: Price,
    max_quantity: Quantity,
    max_value: Amount,
}

#[derive(Serialize, ToSchema)]
struct ContractMember {
    #[schema(value_type = i64)]
    id: OrgId,
    name: String,
}

/// A framework contract without its document: data, positions with prices and maximum
/// quantities, and the entitled members.
#[derive(Serialize, ToSchema)]
#[schema(as = Contract)]
struct ContractDetail {
    #[serde(flatten)]
    contract: ContractRow,
    vendor: String,
    positions: Vec<ContractPosition>,
    members: Vec<ContractMember>,
}

type PositionRow = (TenderPositionId, i32, String, String, String, Price, Quantity);

fn contract_detail(conn: &mut DbConn, user: &CurrentUser, id: ContractId) -> AppResult<ContractDetail> {
    let contract = award::contract(conn, user, id)?;
    let vendor: String = organisations::table
        .find(contract.vendor_id)
        .select(organisations::name)
        .first(conn)?;
    let rows: Vec<PositionRow> = contract_positions::table
        .inner_join(tender_positions::table)
        .filter(contract_positions::contract_id.eq(id))
        .order(tender_positions::position_no.asc())
        .select((
            contract_positions::position_id,
            tender_positions::position_no,
            tender_positions::description,
            tender_positions::unit,
            tender_positions::cpv_code,
            contract_positions::unit_price,
            contract_positions::max_quantity,
        ))
        .load(conn)?;
    let mut positions = Vec::with_capacity(rows.len());
    for (position_id, position_no, description, unit, cpv_code, unit_price, max_quantity) in rows {
        positions.push(ContractPosition {
            max_value: Amount::line_total(max_quantity, unit_price).map_err(|e| AppError::Internal(e.to_string()))?,
            position_id,
            position_no,
            description,
            unit,
            cpv_code,
            unit_price,
            max_quantity,
        });
    }
    let members = contract_members::table
        .inner_join(organisations::table)
        .filter(contract_members::contract_id.eq(id))
        .order(organisations::name.asc())
        .select((organisations::id, organisations::name))
        .load::<(OrgId, String)>(conn)?
        .into_iter()
        .map(|(id, name)| ContractMember { id, name })
        .collect();
    Ok(ContractDetail {
        contract,
        vendor,
        positions,
        members,
    })
}

/// A sending of the § 134 information by another way than the platform's e-mail.
#[derive(Deserialize, ToSchema)]
#[schema(as = DeliveryInput)]
struct DeliveryBody {
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    bid_id: Option<BidId>,
    /// `email` (außerhalb der Plattform) oder `fax` (10 Tage Wartefrist), `post` oder `courier` (15 Tage)
    #[serde(default)]
    channel: Option<Channel>,
    /// Zeitpunkt der Absendung
    #[serde(default)]
    #[schema(schema_with = crate::api::doc::instant)]
    sent_at: String,
    /// Wohin und wie: Faxnummer, Einschreiben-Nummer, Name des Boten
    #[serde(default)]
    #[schema(min_length = 1, max_length = 500)]
    note: String,
}

// Records that a bidder's § 134 information went out by fax, post or courier (officer), when
// its e-mail failed or the firm has no one to mail; its standstill runs from that sending.
#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "record_delivery",
    summary = "Absendung der Information nach § 134 GWB an einen Bieter auf anderem Weg (E-Mail außerhalb der Plattform, Fax, Post, Bote) eintragen, wenn die E-Mail fehlschlug oder der Bieter keinen Benutzer hat; seine Wartefrist läuft ab dem Tag danach, noch nicht gesendete E-Mails an ihn werden zurückgezogen (Vergabestelle)",
    params(("award" = i64, Path), ("id" = i64, Path)),
    request_body = DeliveryBody,
    responses(
        (status = 201, description = "Absendung eingetragen; der Zuschlag mit seiner Wartefrist", body = ApiAward)
    )
)]
#[post("/tenders/<id>/awards/<award>/deliveries", data = "<body>")]
async fn record_delivery(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    award: AwardId,
    body: Body<DeliveryBody>,
) -> AppResult<status::Created<Json<ApiAward>>> {
    user.0.require(&[Role::Officer])?;
    let body = body.0;
    let mut errors = FieldErrors::new();
    let sent_at = crate::api::body::instant(&mut errors, "sent_at", "Der Zeitpunkt der Absendung", &body.sent_at);
    if body.channel.is_none() {
        crate::api::body::push(
            &mut errors,
            "channel",
            "Bitte den Weg angeben: email, fax, post oder courier.",
        );
    }
    if body.bid_id.is_none() {
        crate::api::body::push(&mut errors, "bid_id", "Bitte das Angebot (bid_id) des Bieters angeben.");
    }
    let (Some(bid_id), Some(channel), Some(sent_at), true) = (body.bid_id, body.channel, sent_at, errors.is_empty())
    else {
        return Err(AppError::fields(errors));
    };
    let u = user.0;
    let a = db
        .run(move |c| {
            let cmd = award::standstill::DeliveryCommand {
                bid_id,
                channel,
                sent_at,
                note: body.note,
            };
            award::standstill::record_delivery(c, &state, &u, id, award, cmd)?;
            let a = award::awards_of(c, id)?
                .into_values()
                .find(|a| a.id == award)
                .ok_or(AppError::NotFound)?;
            ApiAward::new(c, &state.config.calendar(), a)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/tenders/{id}/evaluation")).body(Json(a)))
}

// Concludes an award after its standstill into the framework contract (officer).
#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "conclude_contract",
    summary = "Nach Ablauf der Wartefrist den Vertrag schließen: Rahmenvereinbarung mit den Preisen des Zuschlags, Laufzeit, Höchstmengen und -wert, abrufberechtigten Mitgliedern und gespeichertem Vertragsdokument (Vergabestelle); vorher 409",
    params(("award" = i64, Path), ("id" = i64, Path)),
    responses(
        (status = 201, description = "Rahmenvereinbarung geschlossen", body = ContractDetail)
    )
)]
#[post("/tenders/<id>/awards/<award>/conclude")]
async fn conclude(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    award: AwardId,
) -> AppResult<status::Created<Json<ContractDetail>>> {
    let u = user.0;
    let contract = db
        .run(move |c| {
            let contract_id = award::conclude(c, &state, &u, id, award)?;
            contract_detail(c, &u, contract_id)
        })
        .await?;
    Ok(status::Created::new(format!("/api/v1/contracts/{}", contract.contract.id)).body(Json(contract)))
}

#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "get_contract",
    summary = "Eine Rahmenvereinbarung ohne Dokument, mit Positionen und abrufberechtigten Mitgliedern (Genossenschaft, der Auftragnehmer, Einkauf abrufberechtigter Mitglieder)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Rahmenvereinbarung", body = ContractDetail)
    )
)]
#[get("/contracts/<id>")]
async fn contract(user: ApiUser, db: Db, id: ContractId) -> AppResult<Json<ContractDetail>> {
    Ok(Json(db.run(move |c| contract_detail(c, &user.0, id)).await?))
}

// The stored contract document (HTML) as rendered at conclusion; its SHA-256 is in the contract.
#[utoipa::path(
    tag = "Verträge und Abrufe",
    operation_id = "get_contract_document",
    summary = "Das beim Vertragsschluss gespeicherte Vertragsdokument (HTML); sein SHA-256 steht in der Rahmenvereinbarung",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "HTML", body = String, content_type = "text/html")
    )
)]
#[get("/contracts/<id>/document")]
async fn contract_document(user: ApiUser, db: Db, id: ContractId) -> AppResult<(ContentType, String)> {
    let c = db.run(move |c| award::contract(c, &user.0, id)).await?;
    Ok((ContentType::HTML, c.document))
}

// ----------------------------------------------------------------------------- cancellation, record

#[derive(Deserialize, ToSchema)]
#[schema(as = CancelInput)]
struct CancelBody {
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    lot_id: Option<LotId>,
    #[serde(default)]
    #[schema(min_length = 3, max_length = 4000)]
    reason: String,
}

// Cancels the whole tender or one lot (Aufhebung) with a reason; the bidders are mailed (officer).
#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "cancel_tender",
    summary = "Ausschreibung oder ein Los mit Begründung aufheben; die Bieter werden benachrichtigt; nicht nach Vertragsschluss (Vergabestelle)",
    params(("id" = i64, Path)),
    request_body = CancelBody,
    responses(
        (status = 200, description = "Aufgehoben", body = Cancelled)
    )
)]
#[post("/tenders/<id>/cancel", data = "<body>")]
async fn cancel(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
    body: Body<CancelBody>,
) -> AppResult<Json<Cancelled>> {
    let body = body.0;
    let u = user.0;
    Ok(Json(
        db.run(move |c| {
            let mailed = award::cancel(c, &state, &u, id, body.lot_id, &body.reason)?;
            let t = tender::find(c, id)?;
            Ok(Cancelled {
                status: "cancelled",
                lot_id: body.lot_id,
                tender_cancelled: t.cancelled_at.is_some(),
                bidders_mailed: mailed,
            })
        })
        .await?,
    ))
}

// The Vergabevermerk rendered now from the tender's audit events and decisions.
#[utoipa::path(
    tag = "Wertung und Zuschlag",
    operation_id = "get_procurement_record",
    summary = "Der Vergabevermerk, jetzt aus den Ereignissen und Entscheidungen der Ausschreibung erstellt (HTML) mit SHA-256 (Vergabestelle, Vorstand)",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Vergabevermerk", body = ProcurementRecord)
    )
)]
#[get("/tenders/<id>/procurement-record")]
async fn procurement_record(
    user: ApiUser,
    db: Db,
    state: AppState,
    id: TenderId,
) -> AppResult<Json<ProcurementRecord>> {
    let html = db
        .run(move |c| award::procurement_record(c, &state, &user.0, id))
        .await?;
    Ok(Json(ProcurementRecord {
        tender_id: id,
        sha256: hex::encode(Sha256::digest(html.as_bytes())),
        html,
    }))
}

#[derive(Serialize, ToSchema)]
struct Cancelled {
    #[schema(schema_with = cancelled_status)]
    status: &'static str,
    /// Das aufgehobene Los; null: die ganze Ausschreibung
    #[schema(value_type = Option<i64>)]
    lot_id: Option<LotId>,
    /// Ob damit die ganze Ausschreibung aufgehoben ist
    tender_cancelled: bool,
    /// Benachrichtigte Ansprechpersonen der Bieter
    bidders_mailed: usize,
}

fn cancelled_status() -> utoipa::openapi::Object {
    crate::api::doc::string_enum(&["cancelled"], "Aufgehoben")
}

#[derive(Serialize, ToSchema)]
struct ProcurementRecord {
    #[schema(value_type = i64)]
    tender_id: TenderId,
    /// SHA-256 des HTML-Textes
    sha256: String,
    html: String,
}

pub fn routes() -> Vec<Route> {
    routes![
        evaluation,
        price_comparison,
        price_comparison_csv,
        exclude,
        score,
        request_explanation,
        decide_low,
        decide_tie,
        award_lot,
        record_delivery,
        conclude,
        contract,
        contract_document,
        cancel,
        procurement_record
    ]
}
