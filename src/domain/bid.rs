//! Bid rules without storage (lifecycle step 3): which lots a set of prices bids on, which prices
//! are missing, lot totals, and the canonical content whose SHA-256 is the vendor's receipt.

use super::money::{Amount, NumberError, Price, Quantity};
use crate::domain::ids::{LotId, OrgId, TenderId, TenderPositionId};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

crate::coded_enum!(
    /// A bid version's state: the current one, withdrawn by its vendor, or replaced by a newer one.
    BidStatus {
        Submitted => "submitted", "abgegeben",
        Withdrawn => "withdrawn", "zurückgezogen",
        Superseded => "superseded", "ersetzt",
    }
);

crate::coded_enum!(
    /// Why a bid is excluded from a lot (§ 57, § 60 (3) VgV and others), recorded with a reason.
    ExclusionKind {
        Incomplete => "incomplete", "Unvollständig (fehlende Preise oder Angaben)",
        ACriterion => "a_criterion", "A-Kriterium (Mindestanforderung) nicht erfüllt",
        AbnormallyLow => "abnormally_low", "Ungewöhnlich niedriger Preis nicht aufgeklärt (§ 60 VgV)",
        Other => "other", "Sonstiger Grund",
    }
);

crate::coded_enum!(
    /// The recorded decision on an abnormally low bid after its explanation (§ 60 (3) VgV).
    LowBidDecision {
        Accepted => "accepted", "Preis aufgeklärt, Angebot bleibt in der Wertung",
        Excluded => "excluded", "ausgeschlossen",
    }
);

crate::coded_enum!(
    /// An award's state: the § 134 GWB information sent and the standstill running, or concluded.
    AwardStatus {
        Informed => "informed", "informiert, Wartefrist läuft",
        Concluded => "concluded", "Vertrag geschlossen",
    }
);

/// A position of a tender as a bid sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BidPosition {
    pub id: TenderPositionId,
    pub lot_id: LotId,
    pub lot_no: i32,
    pub position_no: i32,
    pub estimate_quantity: Quantity,
}

/// Lots a bid covers, or the positions it lacks in the lots it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// Lot ids, ascending by lot number.
    Lots(Vec<LotId>),
    /// Nothing priced at all.
    Empty,
    /// (lot number, position number) of every missing price, in order.
    Missing(Vec<(i32, i32)>),
}

/// A lot is bid on when it is chosen or any of its positions has a price; then every position of
/// that lot needs one. Prices for positions not in the tender are the caller's problem.
pub fn coverage(
    positions: &[BidPosition],
    prices: &HashMap<TenderPositionId, Price>,
    chosen_lots: &[LotId],
) -> Coverage {
    let mut lots: BTreeMap<i32, LotId> = BTreeMap::new();
    for p in positions {
        if prices.contains_key(&p.id) || chosen_lots.contains(&p.lot_id) {
            lots.insert(p.lot_no, p.lot_id);
        }
    }
    if lots.is_empty() {
        return Coverage::Empty;
    }
    let mut missing: Vec<(i32, i32)> = positions
        .iter()
        .filter(|p| lots.contains_key(&p.lot_no) && !prices.contains_key(&p.id))
        .map(|p| (p.lot_no, p.position_no))
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        return Coverage::Missing(missing);
    }
    Coverage::Lots(lots.into_values().collect())
}

/// Lot total = Σ estimate quantity × unit price, each line rounded commercially to cents.
pub fn lot_totals(
    positions: &[BidPosition],
    prices: &HashMap<TenderPositionId, Price>,
    lots: &[LotId],
) -> Result<BTreeMap<LotId, Amount>, NumberError> {
    let mut totals: BTreeMap<LotId, Amount> = lots.iter().map(|l| (*l, Amount::ZERO)).collect();
    for p in positions {
        if let (Some(total), Some(price)) = (totals.get_mut(&p.lot_id), prices.get(&p.id)) {
            *total = total.checked_add(Amount::line_total(p.estimate_quantity, *price)?)?;
        }
    }
    Ok(totals)
}

/// What a receipt covers. The random nonce keeps the published hash from revealing a price
/// by trying candidates (a one-position bid would otherwise be guessable).
#[derive(Debug, Clone)]
pub struct Canonical<'a> {
    pub tender_id: TenderId,
    pub vendor_id: OrgId,
    pub nonce: &'a str,
    /// (lot number, position number, price) of every priced position.
    pub prices: Vec<(i32, i32, Price)>,
    pub a_confirmed: &'a [bool],
    pub b_texts: &'a [String],
}

impl Canonical<'_> {
    /// One line per fact, sorted, prices with all 4 places: the same bid always gives the same
    /// text, any change of a price or an answer gives another.
    pub fn text(&self) -> String {
        let mut prices = self.prices.clone();
        prices.sort_unstable_by_key(|(lot, pos, _)| (*lot, *pos));
        let mut out = format!(
            "buendel-angebot/1\nausschreibung={}\nbieter={}\nnonce={}\n",
            self.tender_id, self.vendor_id, self.nonce
        );
        for (lot, pos, price) in prices {
            let d = price.to_decimal();
            out.push_str(&format!("los={lot};pos={pos};preis={d:.4}\n"));
        }
        for (i, ok) in self.a_confirmed.iter().enumerate() {
            out.push_str(&format!("a={};bestaetigt={}\n", i + 1, if *ok { "ja" } else { "nein" }));
        }
        for (i, text) in self.b_texts.iter().enumerate() {
            // JSON string escaping keeps line breaks in a text from forging another line.
            out.push_str(&format!(
                "b={};text={}\n",
                i + 1,
                serde_json::Value::String(text.clone())
            ));
        }
        out
    }

    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.text().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn pos(id: i64, lot: i64, no: i32, qty: rust_decimal::Decimal) -> BidPosition {
        BidPosition {
            id: TenderPositionId(id),
            lot_id: LotId(lot * 100),
            lot_no: lot as i32,
            position_no: no,
            estimate_quantity: Quantity::from_decimal(qty).unwrap(),
        }
    }

    fn positions() -> Vec<BidPosition> {
        vec![pos(1, 1, 1, dec!(10)), pos(2, 1, 2, dec!(3)), pos(3, 2, 3, dec!(2.5))]
    }

    fn price(d: rust_decimal::Decimal) -> Price {
        Price::from_decimal(d).unwrap()
    }

    #[test]
    fn nothing_priced_is_empty() {
        assert_eq!(coverage(&positions(), &HashMap::new(), &[]), Coverage::Empty);
    }

    #[test]
    fn one_complete_lot_is_enough() {
        let prices = HashMap::from([
            (TenderPositionId(1), price(dec!(1))),
            (TenderPositionId(2), price(dec!(2))),
        ]);
        assert_eq!(coverage(&positions(), &prices, &[]), Coverage::Lots(vec![LotId(100)]));
    }

    #[test]
    fn started_lot_lists_missing_positions() {
        let prices = HashMap::from([
            (TenderPositionId(1), price(dec!(1))),
            (TenderPositionId(3), price(dec!(2))),
        ]);
        assert_eq!(coverage(&positions(), &prices, &[]), Coverage::Missing(vec![(1, 2)]));
    }

    #[test]
    fn chosen_lot_without_prices_lists_all_its_positions() {
        let prices = HashMap::from([(TenderPositionId(3), price(dec!(2)))]);
        assert_eq!(
            coverage(&positions(), &prices, &[LotId(100)]),
            Coverage::Missing(vec![(1, 1), (1, 2)])
        );
    }

    #[test]
    fn zero_is_a_price() {
        let prices = HashMap::from([(TenderPositionId(3), price(dec!(0)))]);
        assert_eq!(coverage(&positions(), &prices, &[]), Coverage::Lots(vec![LotId(200)]));
    }

    #[test]
    fn lot_totals_round_each_line() {
        // 2.5 × 0.0050 = 0.0125 → 0.01 ; 10 × 1.005 = 10.05 ; 3 × 0.3333 = 0.9999 → 1.00
        let prices = HashMap::from([
            (TenderPositionId(1), price(dec!(1.005))),
            (TenderPositionId(2), price(dec!(0.3333))),
            (TenderPositionId(3), price(dec!(0.005))),
        ]);
        let t = lot_totals(&positions(), &prices, &[LotId(100), LotId(200)]).unwrap();
        assert_eq!(t[&LotId(100)].to_decimal(), dec!(11.05));
        assert_eq!(t[&LotId(200)].to_decimal(), dec!(0.01));
    }

    fn canonical<'a>(prices: Vec<(i32, i32, Price)>, a: &'a [bool], b: &'a [String]) -> Canonical<'a> {
        Canonical {
            tender_id: TenderId(7),
            vendor_id: OrgId(3),
            nonce: "n0",
            prices,
            a_confirmed: a,
            b_texts: b,
        }
    }

    #[test]
    fn hash_is_stable_and_order_independent() {
        let b = vec!["Text".to_string()];
        let x = canonical(vec![(1, 1, price(dec!(1.5))), (1, 2, price(dec!(2)))], &[true], &b);
        let y = canonical(vec![(1, 2, price(dec!(2.0))), (1, 1, price(dec!(1.50)))], &[true], &b);
        assert_eq!(x.sha256(), y.sha256());
        assert_eq!(x.sha256().len(), 64);
        assert!(x.text().contains("los=1;pos=1;preis=1.5000\n"));
    }

    #[test]
    fn hash_changes_with_any_price() {
        let b: Vec<String> = vec![];
        let base = canonical(vec![(1, 1, price(dec!(1.5))), (1, 2, price(dec!(2)))], &[], &b).sha256();
        let changed = canonical(vec![(1, 1, price(dec!(1.5001))), (1, 2, price(dec!(2)))], &[], &b).sha256();
        let other = canonical(vec![(1, 1, price(dec!(1.5))), (1, 2, price(dec!(2.0001)))], &[], &b).sha256();
        assert_ne!(base, changed);
        assert_ne!(base, other);
        assert_ne!(changed, other);
    }

    #[test]
    fn hash_changes_with_answers_nonce_and_vendor() {
        let b1 = vec!["a".to_string()];
        let b2 = vec!["b".to_string()];
        let p = vec![(1, 1, price(dec!(1)))];
        let base = canonical(p.clone(), &[true], &b1);
        assert_ne!(base.sha256(), canonical(p.clone(), &[false], &b1).sha256());
        assert_ne!(base.sha256(), canonical(p.clone(), &[true], &b2).sha256());
        let mut n = canonical(p.clone(), &[true], &b1);
        n.nonce = "n1";
        assert_ne!(base.sha256(), n.sha256());
        let mut v = canonical(p, &[true], &b1);
        v.vendor_id = OrgId(4);
        assert_ne!(base.sha256(), v.sha256());
    }

    #[test]
    fn line_break_in_text_cannot_forge_a_price_line() {
        let forged = vec!["x\nlos=1;pos=1;preis=0.0000".to_string()];
        let c = canonical(vec![], &[], &forged);
        assert!(!c.text().contains("\nlos=1;pos=1;preis=0.0000\n"));
    }
}
