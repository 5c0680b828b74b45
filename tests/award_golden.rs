//! Golden tests of evaluation and award (issue #5), on both backends. Every expected number is
//! computed by hand in the comments next to it and written down as a literal; none comes from the
//! code under test. Tenders are built through the services (one lot, one or two positions), with
//! approved vendor firms of their own, and each scenario checks at least one thing a person sees:
//! the evaluation page, the price comparison, the § 134 mails in the outbox.
//!
//! Conventions of the comments: `pp` price points, `qp` quality points, `L` performance points,
//! `Z` = L × 1 000 / lot total (UfAB, per 1 000 EUR). Weighted total = (price weight × pp +
//! quality weight × qp) / 100 with qp = max × Σ(w × s) / (10 × Σw), rounded once, half away from
//! zero, to the published places (3 unless said otherwise).

mod common;

use buendel::award::{self, BidOnLot, LotEvaluation};
use buendel::db::schema::{awards, contracts, outbox};
use buendel::db::Backend;
use buendel::domain::evaluation::{BCriterion, Decision, EvaluationCommand, Method, PriceFormula};
use buendel::domain::ids::{AwardId, BidId, ContractId, LotId, TenderId};
use buendel::domain::scoring::LowFlag;
use buendel::error::{AppError, AppResult};
use chrono::{NaiveDate, TimeZone, Utc};
use common::tender_flow::*;
use common::*;
use diesel::prelude::*;
use rocket::http::Status;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// The bidders of the golden scenarios: account key (`<key>@test.example`) and firm.
const VENDORS: [(&str, &str); 4] = [
    ("anna", "Anna Systeme GmbH"),
    ("bert", "Bert IT KG"),
    ("cora", "Cora Computer AG"),
    ("dora", "Dora Daten eG"),
];

fn firm(key: &str) -> &'static str {
    VENDORS.iter().find(|(k, _)| *k == key).expect("vendor key").1
}

/// A fresh app with the world and the four bidders.
fn setup(backend: Backend) -> (TestApp, World) {
    let app = TestApp::new(backend);
    let w = app.world();
    for (key, name) in VENDORS {
        vendor_firm(&app, key, name);
    }
    (app, w)
}

/// The published evaluation: the defaults (price 70 % / quality 30 %, quotient, 100 points,
/// 3 places, § 60 at 20 % / 20 %, band 5 %, decision lowest price) with one A-criterion and the
/// given method and B-criteria.
fn evaluation(method: &str, b_criteria: &str) -> EvaluationCommand {
    EvaluationCommand {
        method: Method::from_code(method),
        a_criteria: vec!["Herstellergarantie mindestens 36 Monate".into()],
        b_criteria: b_criteria
            .lines()
            .map(|l| {
                let (name, weight) = l.split_once(';').unwrap();
                BCriterion {
                    name: name.trim().into(),
                    weight: weight.trim().parse().unwrap(),
                }
            })
            .collect(),
        ..EvaluationCommand::defaults()
    }
}

/// An opened tender of the golden scenarios with its one lot and the bids by vendor key.
struct Golden {
    id: TenderId,
    title: String,
    lot: LotId,
    bids: Vec<(&'static str, BidId)>,
}

impl Golden {
    fn bid(&self, key: &str) -> BidId {
        self.bids.iter().find(|(k, _)| *k == key).expect("bidder").1
    }

    fn key(&self, bid: BidId) -> &'static str {
        self.bids.iter().find(|(_, b)| *b == bid).expect("bid").0
    }

    fn on(&self, key: &str) -> BidOnLot {
        BidOnLot {
            tender_id: self.id,
            lot_id: self.lot,
            bid_id: self.bid(key),
        }
    }

    fn page(&self, suffix: &str) -> String {
        format!("/ausschreibungen/{}/wertung{suffix}", self.id)
    }
}

/// Demand call → tender (validated, created, published) → bids (unit prices in position order)
/// → opening by two officers.
fn golden(
    app: &TestApp,
    w: &World,
    title: &str,
    needs: &[Need],
    evaluation: EvaluationCommand,
    bids: &[(&'static str, &[&str])],
) -> Golden {
    let (call, _) = closed_call_with(app, w, title, needs);
    let (id, positions) = service_tender(app, call, title, evaluation);
    let bids = bids
        .iter()
        .map(|(key, prices)| (*key, service_bid(app, key, id, &positions, prices)))
        .collect();
    open_by_two_officers(app, id);
    Golden {
        id,
        title: title.to_string(),
        lot: positions[0].lot_id,
        bids,
    }
}

/// The officer scores every B-criterion of a bid, each with a reason.
fn score(app: &TestApp, g: &Golden, key: &str, scores: &[&str]) {
    let scores: Vec<(Option<rust_decimal::Decimal>, String)> = scores
        .iter()
        .map(|s| (Some(s.parse().unwrap()), "Konzept geprüft".to_string()))
        .collect();
    award::score(
        &mut app.conn(),
        &app.state,
        &current_user(app, "officer"),
        g.id,
        g.bid(key),
        &scores,
    )
    .unwrap();
}

fn lot(app: &TestApp, g: &Golden) -> LotEvaluation {
    let (_, mut lots) = award::evaluation(&mut app.conn(), &current_user(app, "officer"), g.id).unwrap();
    assert_eq!(lots.len(), 1);
    lots.remove(0)
}

/// The ranking as (vendor key, rounded score, rank, tied), best first.
fn ranking(app: &TestApp, g: &Golden) -> Vec<(&'static str, Decimal, u32, bool)> {
    lot(app, g)
        .ranking
        .iter()
        .map(|s| (g.key(s.bid_id), s.score, s.rank, s.tied))
        .collect()
}

fn lot_total(e: &LotEvaluation, g: &Golden, key: &str) -> Decimal {
    e.bids
        .iter()
        .find(|b| b.bid_id == g.bid(key))
        .expect("bid on the lot")
        .total
        .to_decimal()
}

fn award_to(app: &TestApp, g: &Golden, key: &str) -> AppResult<AwardId> {
    award::award(
        &mut app.conn(),
        &app.state,
        &current_user(app, "officer"),
        g.on(key),
        "Das Angebot ist nach den veröffentlichten Zuschlagskriterien das wirtschaftlichste.",
    )
}

fn conflict<T: std::fmt::Debug>(result: AppResult<T>) -> String {
    match result {
        Err(AppError::Conflict(message)) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

/// The evaluation page as the officer sees it.
fn evaluation_page(app: &TestApp, g: &Golden) -> String {
    let officer = browser(app, "officer");
    let res = officer.get(g.page("")).dispatch();
    assert_eq!(res.status(), Status::Ok);
    res.into_string().unwrap()
}

fn proposal(key: &str) -> String {
    format!(
        "Nach der veröffentlichten Methode ist das Angebot von <strong>{}</strong> das wirtschaftlichste.",
        firm(key)
    )
}

/// The text of the § 134 information mailed to a vendor about tender `g`.
fn notice(app: &TestApp, g: &Golden, key: &str) -> String {
    outbox::table
        .filter(outbox::recipient.eq(format!("{key}@test.example")))
        .filter(outbox::subject.eq(format!("Information nach § 134 GWB: {}, Los 1", g.title)))
        .select(outbox::body_text)
        .first(&mut *app.conn())
        .unwrap_or_else(|e| panic!("§ 134 information to {key}: {e}"))
}

fn s(v: &str) -> String {
    v.to_string()
}

// ----------------------------------------------------------------------------- 1. rounding

#[test]
fn weighted_score_and_line_total_at_the_midpoint_round_half_away_from_zero() {
    each_backend(|b| {
        let (app, w) = setup(b);
        // Pos. 1: 6 + 4 = 10 pieces, estimate 110 €; Pos. 2: 2 pieces, estimate 45 €.
        // Estimate of the lot: 10 × 110 + 2 × 45 = 1 190,00 €.
        // B-criteria weights 3 and 1 (Σw = 4), so qp = 100 × (3·s1 + 1·s2) / 40.
        let g = golden(
            &app,
            &w,
            "Rundung auf der Mitte",
            &[("Notebook 14 Zoll", "110", "6", "4"), ("Dockingstation", "45", "2", "")],
            evaluation("weighted", "Servicekonzept; 3\nNachhaltigkeit; 1"),
            &[("anna", &["100", "40"]), ("bert", &["125.531", "12.3425"])],
        );
        // anna: 10 × 100 = 1 000,00; 2 × 40 = 80,00 → 1 080,00.
        // bert: 10 × 125,531 = 1 255,31; 2 × 12,3425 = 24,685 → 24,69 half away from zero
        //       (banker's rounding: 24,68) → 1 280,00 (banker's: 1 279,99).
        score(&app, &g, "anna", &["6", "6"]);
        score(&app, &g, "bert", &["10", "9"]);
        let e = lot(&app, &g);
        assert_eq!(lot_total(&e, &g, "anna"), dec!(1080.00));
        assert_eq!(lot_total(&e, &g, "bert"), dec!(1280.00));
        // anna: pp = 100; qp = 100 × (18 + 6) / 40 = 60 → (70 × 100 + 30 × 60) / 100 = 88,000.
        // bert: pp = 100 × 1 080 / 1 280 = 84,375; qp = 100 × (30 + 9) / 40 = 97,5
        //       → (70 × 84,375 + 30 × 97,5) / 100 = (5 906,25 + 2 925) / 100 = 88,3125 exactly
        //       → 88,313 half away from zero (banker's rounding: 88,312).
        assert_eq!(
            ranking(&app, &g),
            vec![("bert", dec!(88.313), 1, false), ("anna", dec!(88.000), 2, false)]
        );
        let bert = e.ranking.iter().find(|s| s.bid_id == g.bid("bert")).unwrap();
        assert_eq!(bert.price_points, Some(dec!(84.375)));
        assert_eq!(bert.quality_points, Some(dec!(97.5)));
        // § 60: anna is (1 280 − 1 080) / 1 280 = 15,625 % below bert and
        // (1 190 − 1 080) / 1 190 = 9,24 % below the estimate: under 20 %, not flagged.
        assert!(e.low_flags.is_empty(), "{:?}", e.low_flags);
        assert_eq!(e.proposed_bid_id, Some(g.bid("bert")));

        let page = evaluation_page(&app, &g);
        for needle in ["88,313", "88,000", "84,375", "97,500", "60,000", &proposal("bert")] {
            assert!(page.contains(needle), "evaluation page lacks {needle}:\n{page}");
        }
        // Price comparison: bert's line 24,69 €; the mean unit price of pos. 2 over the valid
        // bids is (40 + 12,3425) / 2 = 26,17125 → 26,1713 at 4 places (banker's: 26,1712);
        // bert lies (1 280 − 1 080) / 1 080 = 18,518… → 18,52 % above the lowest bid.
        let sheet = browser(&app, "officer")
            .get(g.page(&format!("/los/{}", g.lot)))
            .dispatch()
            .into_string()
            .unwrap();
        for needle in ["12,3425 €", "24,69 €", "1.280,00 €", "26,1713 €", "18,52 %"] {
            assert!(sheet.contains(needle), "price comparison lacks {needle}:\n{sheet}");
        }

        award_to(&app, &g, "bert").unwrap();
        let info = notice(&app, &g, "anna");
        assert!(
            info.contains("Angebot von Bert IT KG") && info.contains("Rang 2 von 2"),
            "{info}"
        );
    });
}

// ----------------------------------------------------------------------------- 2. weighted

#[test]
fn weighted_quotient_and_linear_price_formula_pick_their_winners() {
    each_backend(|b| {
        let (app, w) = setup(b);
        // One position, 6 + 4 = 10 pieces, estimate 110 € → 1 100,00 €. One B-criterion
        // (weight 100): qp = 100 × 100 × s / 1 000 = 10 × s.
        // anna: 10 × 100 = 1 000,00, score 5,7 → qp 57; bert: 10 × 120 = 1 200,00, score 10 → qp 100.
        let needs = [("Notebook 14 Zoll", "110", "6", "4")];
        let bids: [(&'static str, &[&str]); 2] = [("anna", &["100"]), ("bert", &["120"])];
        let mut linear = evaluation("weighted", "Servicekonzept; 100");
        linear.price_formula = Some(PriceFormula::Linear);
        let quotient = golden(
            &app,
            &w,
            "Preisformel Quotient",
            &needs,
            evaluation("weighted", "Servicekonzept; 100"),
            &bids,
        );
        let linear = golden(&app, &w, "Preisformel linear", &needs, linear, &bids);
        for g in [&quotient, &linear] {
            score(&app, g, "anna", &["5.7"]);
            score(&app, g, "bert", &["10"]);
        }
        // Quotient: anna pp 100 → (7 000 + 30 × 57) / 100 = 87,100;
        // bert pp = 100 × 1 000 / 1 200 = 83,333… → (5 833,333… + 3 000) / 100 = 88,333… → 88,333.
        assert_eq!(
            ranking(&app, &quotient),
            vec![("bert", dec!(88.333), 1, false), ("anna", dec!(87.100), 2, false)]
        );
        // Linear: bert pp = 100 × (2 × 1 000 − 1 200) / 1 000 = 80 → (5 600 + 3 000) / 100 = 86,000;
        // anna unchanged 87,100 → anna wins.
        assert_eq!(
            ranking(&app, &linear),
            vec![("anna", dec!(87.100), 1, false), ("bert", dec!(86.000), 2, false)]
        );
        // § 60: anna is 200 / 1 200 = 16,67 % below bert, 100 / 1 100 = 9,09 % below the estimate.
        assert!(lot(&app, &linear).low_flags.is_empty());

        let page = evaluation_page(&app, &quotient);
        assert!(page.contains("88,333") && page.contains(&proposal("bert")), "{page}");
        let page = evaluation_page(&app, &linear);
        assert!(
            page.contains("86,000") && page.contains("80,000") && page.contains(&proposal("anna")),
            "{page}"
        );
        // The quotient winner is not the linear one.
        assert!(conflict(award_to(&app, &linear, "bert")).contains("dieses ist es nicht"));
        award_to(&app, &linear, "anna").unwrap();
        let info = notice(&app, &linear, "bert");
        assert!(
            info.contains("Angebot von Anna Systeme GmbH") && info.contains("Rang 2 von 2"),
            "{info}"
        );
    });
}

// ----------------------------------------------------------------------------- 3. UfAB

#[test]
fn ufab_extended_band_picks_another_winner_than_the_simple_method() {
    each_backend(|b| {
        let (app, w) = setup(b);
        // One position, 6 + 4 = 10 pieces, estimate 1 900 € → 19 000,00 €.
        // Weights 60 / 40: L = 60 × s1 + 40 × s2; Z = L × 1 000 / total.
        //   anna 10 × 2 000 = 20 000 €, 9 / 8       → L = 540 + 320 = 860   → Z = 43,000
        //   bert 10 × 1 900 = 19 000 €, 8 / 8       → L = 480 + 320 = 800   → Z = 42,105263… → 42,105
        //   cora 10 × 1 600 = 16 000 €, 6,56 / 6,5  → L = 393,6 + 260 = 653,6 → Z = 40,850 exactly
        //   dora 10 × 1 550 = 15 500 €, 4 / 5       → L = 240 + 200 = 440   → Z = 28,387096… → 28,387
        // Band 5 %: floor = 43,000 × 0,95 = 40,850 → anna, bert and cora (exactly on the floor,
        // "Z ≥ floor") are in; dora is out.
        // § 60: dora 500 / 16 000 = 3,1 % below cora, 3 500 / 19 000 = 18,4 % below the estimate;
        // cora 3 000 / 19 000 = 15,8 % below bert: nothing flagged.
        let needs = [("Notebook 14 Zoll", "1900", "6", "4")];
        let bids: [(&'static str, &[&str]); 4] = [
            ("anna", &["2000"]),
            ("bert", &["1900"]),
            ("cora", &["1600"]),
            ("dora", &["1550"]),
        ];
        let criteria = "Servicekonzept; 60\nNachhaltigkeit; 40";
        let mut by_performance = evaluation("ufab_extended", criteria);
        by_performance.decision = Some(Decision::HighestPerformance);
        let simple = golden(
            &app,
            &w,
            "Einfache Richtwertmethode",
            &needs,
            evaluation("ufab_simple", criteria),
            &bids,
        );
        let extended = golden(
            &app,
            &w,
            "Erweiterte Richtwertmethode Preis",
            &needs,
            evaluation("ufab_extended", criteria),
            &bids,
        );
        let by_performance = golden(
            &app,
            &w,
            "Erweiterte Richtwertmethode Leistung",
            &needs,
            by_performance,
            &bids,
        );
        for g in [&simple, &extended, &by_performance] {
            score(&app, g, "anna", &["9", "8"]);
            score(&app, g, "bert", &["8", "8"]);
            score(&app, g, "cora", &["6.56", "6.5"]);
            score(&app, g, "dora", &["4", "5"]);
        }
        // Simple: highest Z wins → anna.
        assert_eq!(
            ranking(&app, &simple),
            vec![
                ("anna", dec!(43.000), 1, false),
                ("bert", dec!(42.105), 2, false),
                ("cora", dec!(40.850), 3, false),
                ("dora", dec!(28.387), 4, false),
            ]
        );
        let e = lot(&app, &simple);
        let performance: Vec<(&str, Option<Decimal>)> = e
            .ranking
            .iter()
            .map(|s| (simple.key(s.bid_id), s.performance))
            .collect();
        assert_eq!(
            performance,
            vec![
                ("anna", Some(dec!(860))),
                ("bert", Some(dec!(800))),
                ("cora", Some(dec!(653.6))),
                ("dora", Some(dec!(440))),
            ]
        );
        assert!(e.low_flags.is_empty(), "{:?}", e.low_flags);
        // Extended, lowest price decides inside the band: cora 16 000 < bert 19 000 < anna 20 000;
        // dora (cheapest, but outside the band) ranks after them.
        assert_eq!(
            ranking(&app, &extended),
            vec![
                ("cora", dec!(40.850), 1, false),
                ("bert", dec!(42.105), 2, false),
                ("anna", dec!(43.000), 3, false),
                ("dora", dec!(28.387), 4, false),
            ]
        );
        let bands: Vec<(&str, Option<bool>)> = lot(&app, &extended)
            .ranking
            .iter()
            .map(|s| (extended.key(s.bid_id), s.in_band))
            .collect();
        assert_eq!(
            bands,
            vec![
                ("cora", Some(true)),
                ("bert", Some(true)),
                ("anna", Some(true)),
                ("dora", Some(false)),
            ]
        );
        // Extended, highest performance decides: anna (L 860) > bert (800) > cora (653,6).
        assert_eq!(
            ranking(&app, &by_performance)
                .iter()
                .map(|r| (r.0, r.2))
                .collect::<Vec<_>>(),
            vec![("anna", 1), ("bert", 2), ("cora", 3), ("dora", 4)]
        );

        assert!(evaluation_page(&app, &simple).contains(&proposal("anna")));
        let page = evaluation_page(&app, &extended);
        assert!(page.contains(&proposal("cora")), "{page}");
        assert_eq!(page.matches("in der Bandbreite.").count(), 3, "{page}");
        assert_eq!(page.matches("außerhalb der Bandbreite.").count(), 1, "{page}");
        assert!(page.contains("653,60") && page.contains("40,850"), "{page}");
        assert!(evaluation_page(&app, &by_performance).contains(&proposal("anna")));

        // The simple method's winner is not the extended method's.
        assert!(conflict(award_to(&app, &extended, "anna")).contains("dieses ist es nicht"));
        award_to(&app, &extended, "cora").unwrap();
        let info = notice(&app, &extended, "anna");
        assert!(
            info.contains("Angebot von Cora Computer AG") && info.contains("Rang 3 von 4"),
            "{info}"
        );
        assert!(notice(&app, &extended, "dora").contains("Rang 4 von 4"));
    });
}

// ----------------------------------------------------------------------------- 4. tie

/// Pos. 1: 10 pieces (estimate 51 €), pos. 2: 3 + 1 = 4 pieces (estimate 28 €);
/// estimate 510 + 112 = 622,00 €. Lowest price.
///   anna: 10 × 50 + 4 × 25   = 500 + 100 = 600,00
///   bert: 10 × 48 + 4 × 30   = 480 + 120 = 600,00
///   cora: 10 × 52 + 4 × 32,5 = 520 + 130 = 650,00
/// anna and bert share rank 1, cora is 3rd. § 60: anna 0 % below bert, bert 7,7 % below cora,
/// 3,5 % below the estimate: nothing flagged.
fn tie_tender(app: &TestApp, w: &World) -> Golden {
    let g = golden(
        app,
        w,
        "Gleichstand",
        &[
            ("Notebook 14 Zoll", "51", "6", "4"),
            ("Monitor 24 Zoll", "28", "3", "1"),
        ],
        evaluation("lowest_price", ""),
        &[
            ("anna", &["50", "25"]),
            ("bert", &["48", "30"]),
            ("cora", &["52", "32.5"]),
        ],
    );
    assert_eq!(
        ranking(app, &g),
        vec![
            ("anna", dec!(600.00), 1, true),
            ("bert", dec!(600.00), 1, true),
            ("cora", dec!(650.00), 3, false),
        ]
    );
    g
}

#[test]
fn tie_at_rank_one_needs_the_drawing_of_lots_before_award() {
    each_backend(|b| {
        let (app, w) = setup(b);
        let g = tie_tender(&app, &w);
        let e = lot(&app, &g);
        assert!(e.low_flags.is_empty(), "{:?}", e.low_flags);
        assert_eq!(e.proposed_bid_id, None);
        let blocker = "Gleichstand auf Rang 1 zwischen 2 Angeboten: Bitte den Losentscheid festhalten.";
        assert_eq!(e.blockers, vec![blocker.to_string()]);
        for key in ["anna", "bert"] {
            assert!(conflict(award_to(&app, &g, key)).contains(blocker), "{key}");
        }
        let page = evaluation_page(&app, &g);
        assert!(
            page.contains(blocker) && page.contains("1 (gleichauf)") && page.contains("Losentscheid festhalten"),
            "{page}"
        );

        let officer = browser(&app, "officer");
        // Only one of the tied bids can be drawn.
        let (status, body) = post(
            &officer,
            &g.page("/gleichstand"),
            &[
                (s("lot_id"), g.lot.to_string()),
                (s("bid_id"), g.bid("cora").to_string()),
                (s("note"), s("Losentscheid versehentlich mit Cora")),
            ],
        );
        assert_eq!(status, Status::UnprocessableEntity);
        assert!(
            body.contains("Gezogen werden kann nur eines der gleichrangigen Angebote."),
            "{body}"
        );
        let note = "Los gezogen durch Person officer2 im Beisein von Person officer";
        let (status, body) = post(
            &officer,
            &g.page("/gleichstand"),
            &[
                (s("lot_id"), g.lot.to_string()),
                (s("bid_id"), g.bid("bert").to_string()),
                (s("note"), s(note)),
            ],
        );
        assert_eq!(status, Status::SeeOther, "{body}");
        let e = lot(&app, &g);
        assert!(e.blockers.is_empty(), "{:?}", e.blockers);
        assert_eq!(e.proposed_bid_id, Some(g.bid("bert")));
        let page = evaluation_page(&app, &g);
        assert!(
            page.contains(&format!("Losentscheid: {note}")) && page.contains(&proposal("bert")),
            "{page}"
        );

        // The tied bid that was not drawn is not the one to award.
        assert!(conflict(award_to(&app, &g, "anna")).contains("dieses ist es nicht"));
        award_to(&app, &g, "bert").unwrap();
        assert!(notice(&app, &g, "anna").contains("Angebot von Bert IT KG"));
        let info = notice(&app, &g, "cora");
        assert!(
            info.contains("Angebot von Bert IT KG") && info.contains("Rang 3 von 3"),
            "{info}"
        );
    });
}

/// Regression (found by this file, fixed in 357c67c): the tied bidder that was not drawn was told
/// "Rang 1 von 3" and, as the reason, only that the winner's bid is the most economical; the
/// drawing of lots that decided against it was not mentioned. § 134 GWB wants the reason its bid
/// is not taken (DESIGN: "winner's name, own rank, reason").
#[test]
fn tie_loser_is_told_that_the_drawing_of_lots_decided() {
    each_backend(|b| {
        let (app, w) = setup(b);
        let g = tie_tender(&app, &w);
        let note = "Los gezogen durch Person officer2 im Beisein von Person officer";
        award::decide_tie(
            &mut app.conn(),
            &app.state,
            &current_user(&app, "officer"),
            g.id,
            g.lot,
            g.bid("bert"),
            note,
        )
        .unwrap();
        award_to(&app, &g, "bert").unwrap();
        let info = notice(&app, &g, "anna");
        assert!(
            info.contains("Angebot von Bert IT KG") && info.contains("Losentscheid") && info.contains(note),
            "the § 134 information to the tied bidder not drawn should name the drawing of lots as the reason:\n{info}"
        );
    });
}

// ----------------------------------------------------------------------------- 5. § 60 VgV

/// One position, 6 + 4 = 10 pieces, estimate 1 140 € → 11 400,00 €; lowest price. The tender
/// publishes its own § 60 settings: flag at 15 % below the next-lowest bid or 25 % below the
/// estimate (not the defaults of 20 %).
///   anna 10 × 850   =  8 500,00
///   bert 10 × 1 000 = 10 000,00
///   cora 10 × 1 050 = 10 500,00
/// anna: (10 000 − 8 500) / 10 000 = 15,00 % below bert — exactly the setting, "at least" → flagged;
///       (11 400 − 8 500) / 11 400 = 25,4385… → 25,44 % below the estimate (≥ 25) → flagged.
/// bert: 500 / 10 500 = 4,76 % below cora, 1 400 / 11 400 = 12,28 % below the estimate → not flagged.
fn low_bid_tender(app: &TestApp, w: &World, title: &str) -> Golden {
    let mut spec = evaluation("lowest_price", "");
    spec.abnormally_low_next_percent = Some(15.into());
    spec.abnormally_low_estimate_percent = Some(25.into());
    let g = golden(
        app,
        w,
        title,
        &[("Notebook 14 Zoll", "1140", "6", "4")],
        spec,
        &[("anna", &["850"]), ("bert", &["1000"]), ("cora", &["1050"])],
    );
    let e = lot(app, &g);
    assert_eq!(
        e.low_flags,
        vec![LowFlag {
            bid_id: g.bid("anna"),
            below_next_percent: Some(dec!(15.00)),
            below_estimate_percent: Some(dec!(25.44)),
        }]
    );
    assert_eq!(e.estimate_total, Some(dec!(11400.00)));
    let blocker =
        "Das Angebot von Anna Systeme GmbH ist ungewöhnlich niedrig (§ 60 VgV); bitte Aufklärung verlangen und entscheiden.";
    assert_eq!(e.blockers, vec![blocker.to_string()]);
    assert!(conflict(award_to(app, &g, "anna")).contains(blocker));
    let page = evaluation_page(app, &g);
    assert!(
        page.contains("15,00 % unter dem nächsten Angebot; 25,44 % unter der Schätzung") && page.contains(blocker),
        "{page}"
    );
    // No decision without asking the vendor first; only a flagged bid can be asked.
    assert!(conflict(award::decide_low(
        &mut app.conn(),
        &app.state,
        &current_user(app, "officer"),
        g.on("anna"),
        true,
        "Preis plausibel"
    ))
    .contains("Bitte verlangen Sie zuerst Aufklärung"));
    assert!(conflict(award::request_explanation(
        &mut app.conn(),
        &app.state,
        &current_user(app, "officer"),
        g.on("bert")
    ))
    .contains("nicht als ungewöhnlich niedrig markiert"));

    // The officer asks through the page: anna's vendor gets the mail, nobody else.
    let officer = browser(app, "officer");
    let (status, body) = post(
        &officer,
        &g.page("/aufklaerung"),
        &[
            (s("lot_id"), g.lot.to_string()),
            (s("bid_id"), g.bid("anna").to_string()),
        ],
    );
    assert_eq!(status, Status::SeeOther, "{body}");
    let subject = format!("Aufklärung Ihres Angebotspreises: {title}");
    let recipients: Vec<String> = outbox::table
        .filter(outbox::subject.eq(&subject))
        .select(outbox::recipient)
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(recipients, vec![s("anna@test.example")]);
    app.deliver_mail();
    assert!(
        app.sent_mail()
            .iter()
            .any(|(to, text)| to == "anna@test.example" && text.contains("Aufkl")),
        "the explanation request reaches anna"
    );
    assert!(conflict(award::request_explanation(
        &mut app.conn(),
        &app.state,
        &current_user(app, "officer"),
        g.on("anna")
    ))
    .contains("bereits verlangt"));
    // Asked but not decided: still no award.
    assert!(conflict(award_to(app, &g, "anna")).contains(blocker));
    g
}

#[test]
fn abnormally_low_bid_accepted_after_explanation_wins() {
    each_backend(|b| {
        let (app, w) = setup(b);
        let g = low_bid_tender(&app, &w, "Ungewöhnlich niedrig, akzeptiert");
        award::decide_low(
            &mut app.conn(),
            &app.state,
            &current_user(&app, "officer"),
            g.on("anna"),
            true,
            "Kalkulation mit Herstellerrabatt nachvollziehbar belegt.",
        )
        .unwrap();
        let e = lot(&app, &g);
        assert!(e.blockers.is_empty(), "{:?}", e.blockers);
        assert_eq!(e.proposed_bid_id, Some(g.bid("anna")));
        let page = evaluation_page(&app, &g);
        assert!(
            page.contains("Preis akzeptiert: Kalkulation mit Herstellerrabatt nachvollziehbar belegt.")
                && page.contains(&proposal("anna")),
            "{page}"
        );
        award_to(&app, &g, "anna").unwrap();
        let info = notice(&app, &g, "bert");
        assert!(
            info.contains("Angebot von Anna Systeme GmbH") && info.contains("Rang 2 von 3"),
            "{info}"
        );
    });
}

#[test]
fn abnormally_low_bid_excluded_after_explanation_gives_way() {
    each_backend(|b| {
        let (app, w) = setup(b);
        let g = low_bid_tender(&app, &w, "Ungewöhnlich niedrig, ausgeschlossen");
        let officer = browser(&app, "officer");
        let (status, body) = post(
            &officer,
            &g.page("/aufklaerung/entscheidung"),
            &[
                (s("lot_id"), g.lot.to_string()),
                (s("bid_id"), g.bid("anna").to_string()),
                (s("decision"), s("excluded")),
                (s("reason"), s("Kalkulation nicht nachvollziehbar.")),
            ],
        );
        assert_eq!(status, Status::SeeOther, "{body}");
        // Without anna: bert 10 000 (rank 1), cora 10 500 (rank 2); bert is 4,76 % below cora and
        // 12,28 % below the estimate: nothing flagged, nothing blocks.
        assert_eq!(
            ranking(&app, &g),
            vec![("bert", dec!(10000.00), 1, false), ("cora", dec!(10500.00), 2, false)]
        );
        let e = lot(&app, &g);
        assert!(e.low_flags.is_empty() && e.blockers.is_empty(), "{e:?}");
        let anna = e.bids.iter().find(|x| x.bid_id == g.bid("anna")).unwrap();
        assert_eq!(
            anna.excluded_kind,
            Some(buendel::domain::bid::ExclusionKind::AbnormallyLow)
        );
        assert!(evaluation_page(&app, &g).contains(&proposal("bert")));
        assert!(conflict(award_to(&app, &g, "anna")).contains("dieses ist es nicht"));
        award_to(&app, &g, "bert").unwrap();
        let info = notice(&app, &g, "anna");
        assert!(
            info.contains("Angebot von Bert IT KG")
                && info.contains("Ihr Angebot wurde ausgeschlossen")
                && info.contains("Ungewöhnlich niedriger Preis nicht aufgeklärt (§ 60 VgV)")
                && info.contains("Kalkulation nicht nachvollziehbar.")
                && !info.contains("Rang"),
            "{info}"
        );
        assert!(notice(&app, &g, "cora").contains("Rang 2 von 2"));
    });
}

/// Regression (found by this file, fixed in 357c67c): two equal lowest totals got different § 60
/// flags.
/// One position, 6 + 4 = 10 pieces, estimate 900 € → 9 000,00 €; lowest price, § 60 at 20 % / 20 %.
///   anna 10 × 800   =  8 000,00
///   bert 10 × 800   =  8 000,00
///   cora 10 × 1 000 = 10 000,00
/// Below the estimate: 1 000 / 9 000 = 11,1 % for both → not flagged that way.
/// Below the next-lowest valid bid, by hand, under either reading of the rule: if it is the
/// next-lowest *other* bid, that is the equal twin, 0,00 % → neither flagged; if it is the next
/// *higher* total, that is cora's, (10 000 − 8 000) / 10 000 = 20,00 % → both flagged.
///
/// The same total must get the same flag (equal treatment, § 97 (2) GWB); the code compared
/// anna with bert (0 %) but bert with cora (20 %) and flagged only bert.
#[test]
fn equal_lowest_totals_get_the_same_abnormally_low_flag() {
    each_backend(|b| {
        let (app, w) = setup(b);
        let g = golden(
            &app,
            &w,
            "Gleiche Preise und Paragraf 60",
            &[("Notebook 14 Zoll", "900", "6", "4")],
            evaluation("lowest_price", ""),
            &[("anna", &["800"]), ("bert", &["800"]), ("cora", &["1000"])],
        );
        assert_eq!(
            ranking(&app, &g),
            vec![
                ("anna", dec!(8000.00), 1, true),
                ("bert", dec!(8000.00), 1, true),
                ("cora", dec!(10000.00), 3, false),
            ]
        );
        let e = lot(&app, &g);
        let flags: Vec<(&str, Option<Decimal>, Option<Decimal>)> = e
            .low_flags
            .iter()
            .map(|f| (g.key(f.bid_id), f.below_next_percent, f.below_estimate_percent))
            .collect();
        // The rule as settled: the next-lowest bid is the lowest total *above* one's own → both
        // equal bids are 20,00 % below cora, "at least" 20 % → both flagged, none by the estimate.
        assert_eq!(
            flags,
            vec![("anna", Some(dec!(20.00)), None), ("bert", Some(dec!(20.00)), None)],
            "equal totals, equal § 60 flags"
        );
        let page = evaluation_page(&app, &g);
        assert_eq!(
            page.matches("<strong>Ungewöhnlich niedrig</strong>: 20,00 % unter dem nächsten Angebot")
                .count(),
            2,
            "{page}"
        );
    });
}

// ----------------------------------------------------------------------------- 6. exclusion

#[test]
fn excluded_winner_gives_way_and_price_points_follow_the_lowest_valid_bid() {
    each_backend(|b| {
        let (app, w) = setup(b);
        // One position, 6 + 4 = 10 pieces, estimate 1 000 € → 10 000,00 €. Weighted 70 / 30,
        // quotient, one B-criterion (weight 100): qp = 10 × s.
        //   anna 10 ×   900 =  9 000 €, score 4   → qp 40
        //   bert 10 × 1 000 = 10 000 €, score 5,3 → qp 53
        //   cora 10 × 1 200 = 12 000 €, score 9   → qp 90
        // § 60: anna 10 % below bert and the estimate, bert 16,67 % below cora: nothing flagged.
        let g = golden(
            &app,
            &w,
            "Ausschluss des Bestplatzierten",
            &[("Notebook 14 Zoll", "1000", "6", "4")],
            evaluation("weighted", "Servicekonzept; 100"),
            &[("anna", &["900"]), ("bert", &["1000"]), ("cora", &["1200"])],
        );
        score(&app, &g, "anna", &["4"]);
        score(&app, &g, "bert", &["5.3"]);
        score(&app, &g, "cora", &["9"]);
        // With anna (P_min 9 000):
        //   anna pp 100                        → (7 000 + 1 200) / 100 = 82,000
        //   cora pp 100 × 9 000 / 12 000 = 75  → (5 250 + 2 700) / 100 = 79,500
        //   bert pp 100 × 9 000 / 10 000 = 90  → (6 300 + 1 590) / 100 = 78,900
        assert_eq!(
            ranking(&app, &g),
            vec![
                ("anna", dec!(82.000), 1, false),
                ("cora", dec!(79.500), 2, false),
                ("bert", dec!(78.900), 3, false),
            ]
        );
        assert!(lot(&app, &g).low_flags.is_empty());
        assert!(evaluation_page(&app, &g).contains(&proposal("anna")));

        let officer = browser(&app, "officer");
        let (status, body) = post(
            &officer,
            &g.page("/ausschluss"),
            &[
                (s("lot_id"), g.lot.to_string()),
                (s("bid_id"), g.bid("anna").to_string()),
                (s("kind"), s("a_criterion")),
                (s("reason"), s("Herstellergarantie nur 12 Monate.")),
            ],
        );
        assert_eq!(status, Status::SeeOther, "{body}");
        // Without anna the lowest valid total is bert's (P_min 10 000):
        //   bert pp 100                                → (7 000 + 1 590) / 100 = 85,900
        //   cora pp 100 × 10 000 / 12 000 = 83,333…    → (5 833,333… + 2 700) / 100 = 85,333… → 85,333
        // so bert, third before, now wins: the price points follow the lowest *valid* bid.
        assert_eq!(
            ranking(&app, &g),
            vec![("bert", dec!(85.900), 1, false), ("cora", dec!(85.333), 2, false)]
        );
        let page = evaluation_page(&app, &g);
        for needle in [
            "Anna Systeme GmbH (9.000,00 €): A-Kriterium (Mindestanforderung) nicht erfüllt",
            "85,900",
            "85,333",
            &proposal("bert"),
        ] {
            assert!(page.contains(needle), "evaluation page lacks {needle}:\n{page}");
        }
        assert!(conflict(award_to(&app, &g, "anna")).contains("dieses ist es nicht"));
        assert!(conflict(award_to(&app, &g, "cora")).contains("dieses ist es nicht"));
        award_to(&app, &g, "bert").unwrap();
        let info = notice(&app, &g, "anna");
        assert!(
            info.contains("Angebot von Bert IT KG")
                && info.contains("Ihr Angebot wurde ausgeschlossen")
                && info.contains("A-Kriterium (Mindestanforderung) nicht erfüllt")
                && info.contains("Herstellergarantie nur 12 Monate.")
                && !info.contains("Rang"),
            "{info}"
        );
        let info = notice(&app, &g, "cora");
        assert!(
            info.contains("Angebot von Bert IT KG") && info.contains("Rang 2 von 2"),
            "{info}"
        );
    });
}

// ----------------------------------------------------------------------------- 7. standstill

fn at(rfc3339: &str) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn standstill_ending_on_easter_monday_runs_to_tuesday() {
    each_backend(|b| {
        let (app, w) = setup(b);
        // Lowest price: anna 10 × 780 = 7 800 € wins over bert 10 × 800 = 8 000 €
        // (2,5 % below bert and below the estimate 8 000 €: not abnormally low).
        let g = golden(
            &app,
            &w,
            "Wartefrist über Ostern",
            &[("Notebook 14 Zoll", "800", "6", "4")],
            evaluation("lowest_price", ""),
            &[("anna", &["780"]), ("bert", &["800"])],
        );
        // The information is sent on Friday 19 March 2027, 10:00 in Wiesbaden (CET, UTC+1).
        // Day 1 is Saturday 20 March; day 10 is Monday 29 March 2027 = Ostermontag (Easter Sunday
        // is 28 March 2027), a holiday in Hessen → the period ends on Tuesday 30 March 2027; the
        // contract may be concluded from Wednesday 31 March 2027.
        app.state.clock.set(Utc.with_ymd_and_hms(2027, 3, 19, 9, 0, 0).unwrap());
        let officer = browser(&app, "officer");
        let (status, body) = post(
            &officer,
            &g.page("/zuschlag"),
            &[
                (s("lot_id"), g.lot.to_string()),
                (s("bid_id"), g.bid("anna").to_string()),
                (s("reason"), s("Niedrigster Preis.")),
            ],
        );
        assert_eq!(status, Status::SeeOther, "{body}");
        let (award_id, last_day): (i64, NaiveDate) = awards::table
            .filter(awards::lot_id.eq(g.lot))
            .select((awards::id, awards::standstill_last_day))
            .first(&mut *app.conn())
            .unwrap();
        assert_eq!(last_day, NaiveDate::from_ymd_opt(2027, 3, 30).unwrap());
        // Queued, not sent: no standstill runs yet, and the letter has no dates yet.
        let page = officer.get(g.page("")).dispatch().into_string().unwrap();
        assert!(page.contains("wartet noch im Postausgang"), "{page}");
        assert!(notice(&app, &g, "bert").contains("[[WARTEFRIST_ENDE]]"));
        app.state
            .clock
            .set(Utc.with_ymd_and_hms(2027, 3, 19, 9, 0, 30).unwrap());
        assert!(app.deliver_mail() >= 1);
        let page = officer.get(g.page("")).dispatch().into_string().unwrap();
        assert!(
            page.contains("letzter gezählter Tag Montag, 29.03.2027 (Feiertag), verschoben auf den nächsten Werktag Dienstag, 30.03.2027 (§ 193 BGB); Fristende 30.03.2027, 24:00 Uhr")
                && page.contains("frühestens am <strong>31.03.2027</strong>"),
            "{page}"
        );
        let info = notice(&app, &g, "bert");
        assert!(
            info.contains("endet – unter Berücksichtigung von § 193 BGB – mit Ablauf des 30.03.2027")
                && info.contains("frühestens am 31.03.2027 geschlossen"),
            "{info}"
        );

        let conclude = |when: &str| {
            app.state.clock.set(at(when));
            let officer = browser(&app, "officer");
            post(&officer, &g.page(&format!("/zuschlag/{award_id}/abschluss")), &[])
        };
        let refused = "Die Wartefrist nach § 134 GWB läuft bis einschließlich 30.03.2027; der Vertrag kann frühestens am 31.03.2027 geschlossen werden.";
        // Ostermontag itself, and Tuesday 30 March 23:59 in Wiesbaden (CEST since 28 March).
        for when in ["2027-03-29T12:00:00+02:00", "2027-03-30T23:59:00+02:00"] {
            let (status, body) = conclude(when);
            assert_eq!(status, Status::Conflict, "{when}");
            assert!(body.contains(refused), "{when}: {body}");
        }
        // Wednesday 31 March, 00:01 in Wiesbaden — still 30 March 22:01 in UTC.
        let (status, location) = conclude("2027-03-31T00:01:00+02:00");
        assert_eq!(status, Status::SeeOther, "{location}");
        let contract: ContractId = id_from(&location);
        let (start, end): (NaiveDate, NaiveDate) = contracts::table
            .find(contract)
            .select((contracts::term_start, contracts::term_end))
            .first(&mut *app.conn())
            .unwrap();
        // 48 months from 31 March 2027, ending the day before: 30 March 2031.
        assert_eq!(start, NaiveDate::from_ymd_opt(2027, 3, 31).unwrap());
        assert_eq!(end, NaiveDate::from_ymd_opt(2031, 3, 30).unwrap());
    });
}
