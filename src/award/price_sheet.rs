//! The Preisspiegel of a lot: positions × bidders with unit prices and line totals, as a page
//! and as German Excel CSV.

use super::{estimate_total, find_lot, lot_bids, require_readable};
use crate::auth::CurrentUser;
use crate::db::schema::bid_prices;
use crate::db::DbConn;
use crate::domain::ids::{BidId, LotId, TenderId, TenderPositionId};
use crate::domain::money::{round_commercial, Amount, Price};
use crate::error::AppResult;
use crate::tender::{self, Lot, Tender, TenderPosition};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;

/// One bidder's column in the price comparison.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SheetBidder {
    #[schema(value_type = i64)]
    pub bid_id: BidId,
    pub vendor: String,
    pub total: Decimal,
    pub excluded: bool,
    /// (lot total − lowest) / lowest in percent, 2 places.
    pub deviation_from_lowest: Option<Decimal>,
    /// (lot total − estimate) / estimate in percent, 2 places.
    pub deviation_from_estimate: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SheetRow {
    pub position: TenderPosition,
    /// Per bidder (same order as `bidders`): unit price and line total.
    pub cells: Vec<Option<(Decimal, Decimal)>>,
    /// Over the valid bidders' unit prices: mean (4 places) and minimum.
    pub mean_price: Option<Decimal>,
    pub min_price: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PriceSheet {
    pub lot: Lot,
    pub bidders: Vec<SheetBidder>,
    pub rows: Vec<SheetRow>,
    pub estimate_total: Option<Decimal>,
}

fn percent_over(value: Decimal, reference: Decimal) -> Option<Decimal> {
    (!reference.is_zero()).then(|| round_commercial((value - reference) / reference * Decimal::ONE_HUNDRED, 2))
}

/// The Preisspiegel of a lot: positions × bidders with unit prices and line totals.
pub fn price_sheet(
    conn: &mut DbConn,
    user: &CurrentUser,
    tender_id: TenderId,
    lot_id: LotId,
) -> AppResult<(Tender, PriceSheet)> {
    let t = require_readable(conn, user, tender_id)?;
    let spec = t.spec()?;
    let lot = find_lot(conn, tender_id, lot_id)?;
    let positions: Vec<TenderPosition> = tender::positions(conn, tender_id)?
        .into_iter()
        .filter(|p| p.lot_id == lot_id)
        .collect();
    let bids = lot_bids(conn, lot_id, &spec)?;
    let ids: Vec<BidId> = bids.iter().map(|b| b.bid_id).collect();
    let prices: HashMap<(BidId, TenderPositionId), Price> = bid_prices::table
        .filter(bid_prices::bid_id.eq_any(&ids))
        .select((bid_prices::bid_id, bid_prices::position_id, bid_prices::unit_price))
        .load::<(BidId, TenderPositionId, Price)>(conn)?
        .into_iter()
        .map(|(b, p, u)| ((b, p), u))
        .collect();
    let estimate = estimate_total(&positions);
    let lowest = bids
        .iter()
        .filter(|b| b.excluded_kind.is_none())
        .map(|b| b.total.to_decimal())
        .min();
    let bidders = bids
        .iter()
        .map(|b| SheetBidder {
            bid_id: b.bid_id,
            vendor: b.vendor.clone(),
            total: b.total.to_decimal(),
            excluded: b.excluded_kind.is_some(),
            deviation_from_lowest: lowest.and_then(|l| percent_over(b.total.to_decimal(), l)),
            deviation_from_estimate: estimate.and_then(|e| percent_over(b.total.to_decimal(), e)),
        })
        .collect();
    let rows = positions
        .into_iter()
        .map(|p| {
            let cells: Vec<Option<(Decimal, Decimal)>> = bids
                .iter()
                .map(|b| {
                    prices.get(&(b.bid_id, p.id)).map(|u| {
                        let line = Amount::line_total(p.estimate_quantity, *u)
                            .map(Amount::to_decimal)
                            .unwrap_or_default();
                        (u.to_decimal(), line)
                    })
                })
                .collect();
            let valid: Vec<Decimal> = bids
                .iter()
                .zip(&cells)
                .filter(|(b, _)| b.excluded_kind.is_none())
                .filter_map(|(_, c)| c.map(|(u, _)| u))
                .collect();
            let mean_price = (!valid.is_empty()).then(|| {
                round_commercial(
                    valid.iter().sum::<Decimal>() / Decimal::from(valid.len()),
                    Price::PLACES,
                )
            });
            SheetRow {
                min_price: valid.iter().min().copied(),
                mean_price,
                cells,
                position: p,
            }
        })
        .collect();
    Ok((
        t,
        PriceSheet {
            lot,
            bidders,
            rows,
            estimate_total: estimate,
        },
    ))
}

/// The price comparison as German Excel CSV.
pub fn price_sheet_csv(sheet: &PriceSheet) -> Vec<u8> {
    use crate::import::{decimal_cell, GermanCsv};
    let cell = |d: Option<Decimal>, places: u32| d.map(|v| decimal_cell(v, places)).unwrap_or_default();
    let mut out = GermanCsv::new();
    let mut header = vec![
        "Pos.".to_string(),
        "Beschreibung".into(),
        "Einheit".into(),
        "Geschätzte Menge".into(),
    ];
    for b in &sheet.bidders {
        let mark = if b.excluded { " (ausgeschlossen)" } else { "" };
        header.push(format!("{}{mark}: Einzelpreis", b.vendor));
        header.push(format!("{}{mark}: Zeilensumme", b.vendor));
    }
    header.push("Mittelwert Einzelpreis".into());
    header.push("Minimum Einzelpreis".into());
    out.row(header);
    for r in &sheet.rows {
        let mut row = vec![
            r.position.position_no.to_string(),
            r.position.description.clone(),
            r.position.unit.clone(),
            decimal_cell(r.position.estimate_quantity.to_decimal(), 0),
        ];
        for c in &r.cells {
            row.push(cell(c.map(|(u, _)| u), 2));
            row.push(cell(c.map(|(_, l)| l), 2));
        }
        row.push(cell(r.mean_price, 2));
        row.push(cell(r.min_price, 2));
        out.row(row);
    }
    let mut total = vec![String::new(), "Summe des Loses".into(), String::new(), String::new()];
    for b in &sheet.bidders {
        total.push(String::new());
        total.push(decimal_cell(b.total, 2));
    }
    out.row(total);
    for (label, f) in [
        ("Abweichung vom niedrigsten Angebot (%)", 0),
        ("Abweichung von der Schätzung (%)", 1),
    ] {
        let mut row = vec![String::new(), label.to_string(), String::new(), String::new()];
        for b in &sheet.bidders {
            row.push(String::new());
            row.push(cell(
                if f == 0 {
                    b.deviation_from_lowest
                } else {
                    b.deviation_from_estimate
                },
                2,
            ));
        }
        out.row(row);
    }
    out.finish()
}
