//! The evaluation method a tender publishes (DESIGN "Evaluation methods"): method, A- and
//! B-criteria, weights, price formula, score places, abnormally-low percentages and the band of the
//! extended UfAB method. Validated here; the scoring itself comes with evaluation and award.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    LowestPrice,
    Weighted,
    UfabSimple,
    UfabExtended,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::LowestPrice,
        Method::Weighted,
        Method::UfabSimple,
        Method::UfabExtended,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Method::LowestPrice => "lowest_price",
            Method::Weighted => "weighted",
            Method::UfabSimple => "ufab_simple",
            Method::UfabExtended => "ufab_extended",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Method::LowestPrice => "Niedrigster Preis",
            Method::Weighted => "Gewichtete Punkte (Preis und Qualität)",
            Method::UfabSimple => "Einfache Richtwertmethode (UfAB)",
            Method::UfabExtended => "Erweiterte Richtwertmethode (UfAB)",
        }
    }

    /// Methods that score quality need at least one B-criterion.
    pub fn uses_quality(self) -> bool {
        self != Method::LowestPrice
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceFormula {
    /// max × P_min / P_i
    Quotient,
    /// max × (2·P_min − P_i) / P_min, floored at 0
    Linear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    LowestPrice,
    HighestPerformance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BCriterion {
    pub name: String,
    /// Relative weight (> 0, at most 2 places).
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub weight: Decimal,
}

/// The published evaluation of a tender. Decimals travel as strings in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvaluationSpec {
    pub method: Method,
    pub a_criteria: Vec<String>,
    pub b_criteria: Vec<BCriterion>,
    /// Weighted method only: weights in percent, summing to 100.
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub price_weight: Decimal,
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub quality_weight: Decimal,
    pub price_formula: PriceFormula,
    /// Points the best price gets (weighted method).
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub max_points: Decimal,
    /// Scores are rounded once to this many places before ranking.
    pub score_places: u32,
    /// § 60 VgV: flag a lot total this many percent below the next-lowest valid bid …
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub abnormally_low_next_percent: Decimal,
    /// … or below the estimate.
    #[schema(value_type = crate::domain::money::DecimalText)]
    pub abnormally_low_estimate_percent: Decimal,
    /// Extended UfAB method: bids within this percent of the best Z stay in.
    #[schema(value_type = Option<crate::domain::money::DecimalText>)]
    pub band_percent: Option<Decimal>,
    pub decision: Option<Decision>,
}

/// The evaluation as an officer asks for it, every value typed and read at the edge; `None`
/// takes the default. `validate` applies the rules and reports every problem at once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluationCommand {
    /// `None` when no (known) method was chosen.
    pub method: Option<Method>,
    pub a_criteria: Vec<String>,
    pub b_criteria: Vec<BCriterion>,
    pub price_weight: Option<Decimal>,
    pub quality_weight: Option<Decimal>,
    pub price_formula: Option<PriceFormula>,
    pub max_points: Option<Decimal>,
    pub score_places: Option<u32>,
    pub abnormally_low_next_percent: Option<Decimal>,
    pub abnormally_low_estimate_percent: Option<Decimal>,
    pub band_percent: Option<Decimal>,
    pub decision: Option<Decision>,
}

impl EvaluationCommand {
    /// The defaults a new tender starts from.
    pub fn defaults() -> EvaluationCommand {
        EvaluationCommand {
            method: Some(Method::Weighted),
            a_criteria: vec![
                "Lieferung innerhalb von 10 Werktagen nach Abruf".into(),
                "Herstellergarantie mindestens 36 Monate".into(),
            ],
            b_criteria: vec![
                BCriterion {
                    name: "Servicekonzept".into(),
                    weight: dec!(60),
                },
                BCriterion {
                    name: "Nachhaltigkeit".into(),
                    weight: dec!(40),
                },
            ],
            price_weight: Some(dec!(70)),
            quality_weight: Some(dec!(30)),
            price_formula: Some(PriceFormula::Quotient),
            max_points: Some(dec!(100)),
            score_places: Some(3),
            abnormally_low_next_percent: Some(dec!(20)),
            abnormally_low_estimate_percent: Some(dec!(20)),
            band_percent: Some(dec!(5)),
            decision: Some(Decision::LowestPrice),
        }
    }

    /// The command that publishes `spec` again (editing a draft).
    pub fn from_spec(spec: &EvaluationSpec) -> EvaluationCommand {
        EvaluationCommand {
            method: Some(spec.method),
            a_criteria: spec.a_criteria.clone(),
            b_criteria: spec.b_criteria.clone(),
            price_weight: Some(spec.price_weight),
            quality_weight: Some(spec.quality_weight),
            price_formula: Some(spec.price_formula),
            max_points: Some(spec.max_points),
            score_places: Some(spec.score_places),
            abnormally_low_next_percent: Some(spec.abnormally_low_next_percent),
            abnormally_low_estimate_percent: Some(spec.abnormally_low_estimate_percent),
            band_percent: spec.band_percent,
            decision: spec.decision,
        }
    }

    /// Every problem at once, keyed by field name.
    pub fn validate(&self) -> Result<EvaluationSpec, BTreeMap<String, Vec<String>>> {
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let method = self.method.unwrap_or_else(|| {
            add(&mut errors, "method", METHOD_MISSING.into());
            Method::LowestPrice
        });

        let a_criteria: Vec<String> = self
            .a_criteria
            .iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        if let Some(long) = a_criteria.iter().find(|a| a.chars().count() > 500) {
            add(
                &mut errors,
                "a_criteria",
                format!(
                    "Das A-Kriterium „{}…“ ist zu lang (höchstens 500 Zeichen).",
                    short(long)
                ),
            );
        }

        let mut b_criteria = Vec::new();
        for (i, b) in self.b_criteria.iter().enumerate() {
            let name = b.name.trim();
            let which = if name.is_empty() {
                format!("B-Kriterium {}", i + 1)
            } else {
                format!("B-Kriterium „{}“", short(name))
            };
            if name.is_empty() || name.chars().count() > 200 {
                add(
                    &mut errors,
                    "b_criteria",
                    format!("{which}: Bitte eine Bezeichnung (bis 200 Zeichen) angeben."),
                );
            }
            match percent(b.weight, false) {
                Ok(w) if w > Decimal::ZERO => b_criteria.push(BCriterion {
                    name: name.to_string(),
                    weight: w,
                }),
                Ok(_) => add(
                    &mut errors,
                    "b_criteria",
                    format!("{which}: Das Gewicht muss größer als 0 sein."),
                ),
                Err(e) => add(&mut errors, "b_criteria", format!("{which}: Das Gewicht {e}.")),
            }
        }
        if method.uses_quality() && self.b_criteria.is_empty() {
            add(
                &mut errors,
                "b_criteria",
                format!("Die Methode „{}“ braucht mindestens ein B-Kriterium.", method.label()),
            );
        }

        let pct =
            |errors: &mut BTreeMap<String, Vec<String>>, field: &str, value: Option<Decimal>, default: Decimal| {
                match value.map(|v| percent(v, true)) {
                    None => default,
                    Some(Ok(d)) => d,
                    Some(Err(e)) => {
                        add(errors, field, format!("Der Wert {e}."));
                        default
                    }
                }
            };
        let (price_weight, quality_weight) = if method == Method::Weighted {
            (
                pct(&mut errors, "price_weight", self.price_weight, dec!(70)),
                pct(&mut errors, "quality_weight", self.quality_weight, dec!(30)),
            )
        } else {
            (dec!(100), dec!(0))
        };
        let abnormally_low_next_percent = pct(
            &mut errors,
            "abnormally_low_next_percent",
            self.abnormally_low_next_percent,
            dec!(20),
        );
        let abnormally_low_estimate_percent = pct(
            &mut errors,
            "abnormally_low_estimate_percent",
            self.abnormally_low_estimate_percent,
            dec!(20),
        );
        let band_percent =
            (method == Method::UfabExtended).then(|| pct(&mut errors, "band_percent", self.band_percent, dec!(5)));
        if method == Method::Weighted && price_weight + quality_weight != dec!(100) {
            add(
                &mut errors,
                "quality_weight",
                format!(
                    "Preis- und Qualitätsgewicht müssen zusammen 100 % ergeben (jetzt {} %).",
                    (price_weight + quality_weight).normalize()
                ),
            );
        }
        // § 58 (2) sentence 3 VgV lets quality alone decide only where prices are fixed; the
        // platform has no fixed-price procedure, so the price always weighs.
        if method == Method::Weighted && price_weight <= Decimal::ZERO {
            add(
                &mut errors,
                "price_weight",
                "Der Preis muss mit mehr als 0 % gewichtet sein: Nur bei Festpreisen darf allein die Qualität entscheiden (§ 58 Abs. 2 Satz 3 VgV), und Festpreise sieht dieses Verfahren nicht vor.".into(),
            );
        }
        if band_percent.is_some_and(|b| b <= Decimal::ZERO || b >= dec!(100)) {
            add(
                &mut errors,
                "band_percent",
                "Die Bandbreite muss zwischen 0 und 100 % liegen, z. B. 5.".into(),
            );
        }
        let price_formula = self.price_formula.unwrap_or(PriceFormula::Quotient);
        let max_points = match self.max_points {
            None => dec!(100),
            Some(d) if d > Decimal::ZERO && d <= dec!(1000) && d.normalize().scale() <= 2 => d.normalize(),
            Some(_) => {
                add(&mut errors, "max_points", MAX_POINTS_RULE.into());
                dec!(100)
            }
        };
        let score_places = match self.score_places {
            None => 3,
            Some(p) if p <= 6 => p,
            Some(_) => {
                add(&mut errors, "score_places", SCORE_PLACES_RULE.into());
                3
            }
        };
        let decision = if method == Method::UfabExtended {
            if self.decision.is_none() {
                add(&mut errors, "decision", DECISION_MISSING.into());
            }
            self.decision
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(EvaluationSpec {
            method,
            a_criteria,
            b_criteria,
            price_weight,
            quality_weight,
            price_formula,
            max_points,
            score_places,
            abnormally_low_next_percent,
            abnormally_low_estimate_percent,
            band_percent,
            decision,
        })
    }
}

pub const METHOD_MISSING: &str = "Bitte wählen Sie eine Wertungsmethode.";
pub const DECISION_MISSING: &str = "Bitte wählen Sie das Entscheidungskriterium der erweiterten Richtwertmethode.";
pub const MAX_POINTS_RULE: &str = "Die Höchstpunktzahl muss eine Zahl über 0 und bis 1000 sein.";
pub const SCORE_PLACES_RULE: &str = "Die Nachkommastellen der Punkte müssen zwischen 0 und 6 liegen.";

fn add(errors: &mut BTreeMap<String, Vec<String>>, field: &str, message: String) {
    errors.entry(field.to_string()).or_default().push(message);
}

fn short(text: &str) -> String {
    text.chars().take(30).collect()
}

/// A percentage 0..=100 (or any positive weight when `bounded` is false) with at most 2 places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum PercentError {
    #[error("darf nicht negativ sein")]
    Negative,
    #[error("hat höchstens 2 Nachkommastellen")]
    Places,
    #[error("darf höchstens 100 % sein")]
    OverHundred,
}

fn percent(d: Decimal, bounded: bool) -> Result<Decimal, PercentError> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(PercentError::Negative);
    }
    if d.normalize().scale() > 2 {
        return Err(PercentError::Places);
    }
    if bounded && d > dec!(100) {
        return Err(PercentError::OverHundred);
    }
    Ok(d.normalize())
}

impl Method {
    /// The method named by its published code (`weighted`, …).
    pub fn from_code(text: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.code() == text.trim())
    }
}

impl PriceFormula {
    pub fn code(self) -> &'static str {
        match self {
            PriceFormula::Quotient => "quotient",
            PriceFormula::Linear => "linear",
        }
    }

    pub fn from_code(text: &str) -> Option<PriceFormula> {
        [PriceFormula::Quotient, PriceFormula::Linear]
            .into_iter()
            .find(|f| f.code() == text.trim())
    }
}

impl Decision {
    pub fn code(self) -> &'static str {
        match self {
            Decision::LowestPrice => "lowest_price",
            Decision::HighestPerformance => "highest_performance",
        }
    }

    pub fn from_code(text: &str) -> Option<Decision> {
        [Decision::LowestPrice, Decision::HighestPerformance]
            .into_iter()
            .find(|d| d.code() == text.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> EvaluationCommand {
        EvaluationCommand::defaults()
    }

    fn b(name: &str, weight: Decimal) -> BCriterion {
        BCriterion {
            name: name.into(),
            weight,
        }
    }

    #[test]
    fn defaults_are_valid_weighted() {
        let spec = valid().validate().unwrap();
        assert_eq!(spec.method, Method::Weighted);
        assert_eq!(spec.a_criteria.len(), 2);
        assert_eq!(spec.b_criteria[0].weight, dec!(60));
        assert_eq!(spec.price_weight + spec.quality_weight, dec!(100));
        assert_eq!(spec.score_places, 3);
        assert_eq!(spec.band_percent, None);
    }

    #[test]
    fn weights_must_sum_to_100() {
        let mut i = valid();
        i.quality_weight = Some(dec!(40));
        let e = i.validate().unwrap_err();
        assert!(e["quality_weight"][0].contains("110"));
    }

    #[test]
    fn quality_methods_need_b_criteria() {
        for m in [Method::Weighted, Method::UfabSimple, Method::UfabExtended] {
            let mut i = valid();
            i.method = Some(m);
            i.b_criteria.clear();
            assert!(i.validate().unwrap_err().contains_key("b_criteria"), "{m:?}");
        }
        let mut i = valid();
        i.method = Some(Method::LowestPrice);
        i.b_criteria.clear();
        assert!(i.validate().is_ok());
    }

    #[test]
    fn b_criteria_need_name_and_positive_weight() {
        let mut i = valid();
        i.b_criteria = vec![
            b("Qualität", dec!(0)),
            b(" ", dec!(5)),
            b("Design", dec!(-1)),
            b("Ok", dec!(1.125)),
        ];
        let e = i.validate().unwrap_err();
        assert_eq!(e["b_criteria"].len(), 4, "{e:?}");
        assert!(e["b_criteria"][0].starts_with("B-Kriterium „Qualität“"), "{e:?}");
        assert!(e["b_criteria"][1].starts_with("B-Kriterium 2"), "{e:?}");
    }

    #[test]
    fn the_price_must_weigh_in_the_weighted_method() {
        let mut i = valid();
        i.price_weight = Some(dec!(0));
        i.quality_weight = Some(dec!(100));
        let e = i.validate().unwrap_err();
        assert!(e["price_weight"][0].contains("mehr als 0 %"), "{e:?}");
        // The quality may weigh nothing: that is a price competition.
        i.price_weight = Some(dec!(100));
        i.quality_weight = Some(dec!(0));
        assert!(i.validate().is_ok());
    }

    #[test]
    fn decimal_weights_are_exact() {
        let mut i = valid();
        i.price_weight = Some(dec!(62.5));
        i.quality_weight = Some(dec!(37.50));
        let s = i.validate().unwrap();
        assert_eq!(s.price_weight, dec!(62.5));
        assert_eq!(s.quality_weight.to_string(), "37.5");
    }

    #[test]
    fn percent_with_three_places_is_refused() {
        let mut i = valid();
        i.abnormally_low_next_percent = Some(dec!(20.125));
        assert!(i.validate().unwrap_err().contains_key("abnormally_low_next_percent"));
        i.abnormally_low_next_percent = Some(dec!(100.01));
        assert!(i.validate().unwrap_err()["abnormally_low_next_percent"][0].contains("höchstens 100"));
    }

    #[test]
    fn extended_method_needs_band_and_decision() {
        let mut i = valid();
        i.method = Some(Method::UfabExtended);
        i.decision = None;
        i.band_percent = Some(dec!(100));
        let e = i.validate().unwrap_err();
        assert!(e.contains_key("decision") && e.contains_key("band_percent"));
        i.decision = Some(Decision::HighestPerformance);
        i.band_percent = Some(dec!(7.5));
        let s = i.validate().unwrap();
        assert_eq!(s.band_percent, Some(dec!(7.5)));
        assert_eq!(s.decision, Some(Decision::HighestPerformance));
    }

    #[test]
    fn score_places_limited() {
        let mut i = valid();
        i.score_places = Some(7);
        assert!(i.validate().unwrap_err().contains_key("score_places"));
        i.score_places = Some(0);
        assert_eq!(i.validate().unwrap().score_places, 0);
    }

    #[test]
    fn missing_method_refused() {
        let mut i = valid();
        i.method = None;
        assert_eq!(i.validate().unwrap_err()["method"], vec![METHOD_MISSING.to_string()]);
    }

    #[test]
    fn codes_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::from_code(m.code()), Some(m));
        }
        for f in [PriceFormula::Quotient, PriceFormula::Linear] {
            assert_eq!(PriceFormula::from_code(f.code()), Some(f));
        }
        assert_eq!(Method::from_code("dice"), None);
    }

    #[test]
    fn round_trip_through_the_command() {
        let mut i = valid();
        i.method = Some(Method::UfabExtended);
        let s = i.validate().unwrap();
        assert_eq!(EvaluationCommand::from_spec(&s).validate().unwrap(), s);
    }

    #[test]
    fn spec_serialises_decimals_as_strings() {
        let s = valid().validate().unwrap();
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["price_weight"], "70");
        assert_eq!(j["method"], "weighted");
    }
}
