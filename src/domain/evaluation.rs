//! The evaluation method a tender publishes (DESIGN "Evaluation methods"): method, A- and
//! B-criteria, weights, price formula, score places, abnormally-low percentages and the band of the
//! extended UfAB method. Validated here; the scoring itself comes with evaluation and award.

use super::numbers;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    fn parse(text: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.code() == text.trim())
    }

    /// Methods that score quality need at least one B-criterion.
    pub fn uses_quality(self) -> bool {
        self != Method::LowestPrice
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceFormula {
    /// max × P_min / P_i
    Quotient,
    /// max × (2·P_min − P_i) / P_min, floored at 0
    Linear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    LowestPrice,
    HighestPerformance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BCriterion {
    pub name: String,
    /// Relative weight (> 0, at most 2 places).
    pub weight: Decimal,
}

/// The published evaluation of a tender. Decimals travel as strings in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationSpec {
    pub method: Method,
    pub a_criteria: Vec<String>,
    pub b_criteria: Vec<BCriterion>,
    /// Weighted method only: weights in percent, summing to 100.
    pub price_weight: Decimal,
    pub quality_weight: Decimal,
    pub price_formula: PriceFormula,
    /// Points the best price gets (weighted method).
    pub max_points: Decimal,
    /// Scores are rounded once to this many places before ranking.
    pub score_places: u32,
    /// § 60 VgV: flag a lot total this many percent below the next-lowest valid bid …
    pub abnormally_low_next_percent: Decimal,
    /// … or below the estimate.
    pub abnormally_low_estimate_percent: Decimal,
    /// Extended UfAB method: bids within this percent of the best Z stay in.
    pub band_percent: Option<Decimal>,
    pub decision: Option<Decision>,
}

/// The evaluation as entered in a form or the API, all text, before validation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct EvaluationInput {
    pub method: String,
    /// One A-criterion per line.
    pub a_criteria: String,
    /// One B-criterion per line: `Bezeichnung; Gewicht`.
    pub b_criteria: String,
    pub price_weight: String,
    pub quality_weight: String,
    pub price_formula: String,
    pub max_points: String,
    pub score_places: String,
    pub abnormally_low_next_percent: String,
    pub abnormally_low_estimate_percent: String,
    pub band_percent: String,
    pub decision: String,
}

impl EvaluationInput {
    /// The defaults a new tender starts from.
    pub fn defaults() -> EvaluationInput {
        EvaluationInput {
            method: "weighted".into(),
            a_criteria: "Lieferung innerhalb von 10 Werktagen nach Abruf\nHerstellergarantie mindestens 36 Monate"
                .into(),
            b_criteria: "Servicekonzept; 60\nNachhaltigkeit; 40".into(),
            price_weight: "70".into(),
            quality_weight: "30".into(),
            price_formula: "quotient".into(),
            max_points: "100".into(),
            score_places: "3".into(),
            abnormally_low_next_percent: "20".into(),
            abnormally_low_estimate_percent: "20".into(),
            band_percent: "5".into(),
            decision: "lowest_price".into(),
        }
    }

    /// The form again from a stored specification.
    pub fn from_spec(spec: &EvaluationSpec) -> EvaluationInput {
        let de = |d: Decimal| d.normalize().to_string().replace('.', ",");
        EvaluationInput {
            method: spec.method.code().into(),
            a_criteria: spec.a_criteria.join("\n"),
            b_criteria: spec
                .b_criteria
                .iter()
                .map(|b| format!("{}; {}", b.name, de(b.weight)))
                .collect::<Vec<_>>()
                .join("\n"),
            price_weight: de(spec.price_weight),
            quality_weight: de(spec.quality_weight),
            price_formula: match spec.price_formula {
                PriceFormula::Quotient => "quotient".into(),
                PriceFormula::Linear => "linear".into(),
            },
            max_points: de(spec.max_points),
            score_places: spec.score_places.to_string(),
            abnormally_low_next_percent: de(spec.abnormally_low_next_percent),
            abnormally_low_estimate_percent: de(spec.abnormally_low_estimate_percent),
            band_percent: spec.band_percent.map(de).unwrap_or_default(),
            decision: match spec.decision {
                Some(Decision::HighestPerformance) => "highest_performance".into(),
                _ => "lowest_price".into(),
            },
        }
    }

    /// Every problem at once, keyed by field name.
    pub fn validate(&self) -> Result<EvaluationSpec, BTreeMap<String, Vec<String>>> {
        // Shared by the small parsers below, which each report into it.
        let errors: std::cell::RefCell<BTreeMap<String, Vec<String>>> = Default::default();
        let err =
            |field: &str, message: String| errors.borrow_mut().entry(field.to_string()).or_default().push(message);
        let method = Method::parse(&self.method);
        if method.is_none() {
            err("method", "Bitte wählen Sie eine Wertungsmethode.".into());
        }
        let method = method.unwrap_or(Method::LowestPrice);

        let a_criteria: Vec<String> = lines(&self.a_criteria).map(str::to_string).collect();
        if let Some(long) = a_criteria.iter().find(|a| a.chars().count() > 500) {
            err(
                "a_criteria",
                format!(
                    "Das A-Kriterium „{}…“ ist zu lang (höchstens 500 Zeichen).",
                    short(long)
                ),
            );
        }

        let mut b_criteria = Vec::new();
        for (i, line) in lines(&self.b_criteria).enumerate() {
            let Some((name, weight)) = line.rsplit_once(';') else {
                err(
                    "b_criteria",
                    format!(
                        "Zeile {}: Bitte „Bezeichnung; Gewicht“ angeben, z. B. „Servicekonzept; 60“.",
                        i + 1
                    ),
                );
                continue;
            };
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                err(
                    "b_criteria",
                    format!("Zeile {}: Bitte eine Bezeichnung (bis 200 Zeichen) angeben.", i + 1),
                );
            }
            match percent(weight, false) {
                Ok(w) if w > Decimal::ZERO => b_criteria.push(BCriterion {
                    name: name.to_string(),
                    weight: w,
                }),
                Ok(_) => err(
                    "b_criteria",
                    format!("Zeile {}: Das Gewicht muss größer als 0 sein.", i + 1),
                ),
                Err(e) => err("b_criteria", format!("Zeile {}: Das Gewicht {e}.", i + 1)),
            }
        }
        if method.uses_quality() && b_criteria.is_empty() && !errors.borrow().contains_key("b_criteria") {
            err(
                "b_criteria",
                format!("Die Methode „{}“ braucht mindestens ein B-Kriterium.", method.label()),
            );
        }

        let pct = |field: &str, text: &str, default: Decimal| -> Decimal {
            if text.trim().is_empty() {
                return default;
            }
            match percent(text, true) {
                Ok(d) => d,
                Err(e) => {
                    err(field, format!("Der Wert {e}."));
                    default
                }
            }
        };
        let (price_weight, quality_weight) = if method == Method::Weighted {
            (
                pct("price_weight", &self.price_weight, dec!(70)),
                pct("quality_weight", &self.quality_weight, dec!(30)),
            )
        } else {
            (dec!(100), dec!(0))
        };
        let abnormally_low_next_percent = pct(
            "abnormally_low_next_percent",
            &self.abnormally_low_next_percent,
            dec!(20),
        );
        let abnormally_low_estimate_percent = pct(
            "abnormally_low_estimate_percent",
            &self.abnormally_low_estimate_percent,
            dec!(20),
        );
        let band_percent = (method == Method::UfabExtended).then(|| pct("band_percent", &self.band_percent, dec!(5)));
        if method == Method::Weighted && price_weight + quality_weight != dec!(100) {
            err(
                "quality_weight",
                format!(
                    "Preis- und Qualitätsgewicht müssen zusammen 100 % ergeben (jetzt {} %).",
                    (price_weight + quality_weight).normalize()
                ),
            );
        }
        if band_percent.is_some_and(|b| b <= Decimal::ZERO || b >= dec!(100)) {
            err(
                "band_percent",
                "Die Bandbreite muss zwischen 0 und 100 % liegen, z. B. 5.".into(),
            );
        }
        let price_formula = match self.price_formula.trim() {
            "" | "quotient" => PriceFormula::Quotient,
            "linear" => PriceFormula::Linear,
            _ => {
                err("price_formula", "Bitte wählen Sie eine Preisformel.".into());
                PriceFormula::Quotient
            }
        };
        let max_points = if self.max_points.trim().is_empty() {
            dec!(100)
        } else {
            match numbers::parse_form(&self.max_points) {
                Ok(d) if d > Decimal::ZERO && d <= dec!(1000) && d.scale() <= 2 => d,
                _ => {
                    err(
                        "max_points",
                        "Die Höchstpunktzahl muss eine Zahl über 0 und bis 1000 sein.".into(),
                    );
                    dec!(100)
                }
            }
        };
        let score_places = match self.score_places.trim() {
            "" => 3,
            t => match t.parse::<u32>() {
                Ok(p) if p <= 6 => p,
                _ => {
                    err(
                        "score_places",
                        "Die Nachkommastellen der Punkte müssen zwischen 0 und 6 liegen.".into(),
                    );
                    3
                }
            },
        };
        let decision = if method == Method::UfabExtended {
            match self.decision.trim() {
                "lowest_price" => Some(Decision::LowestPrice),
                "highest_performance" => Some(Decision::HighestPerformance),
                _ => {
                    err(
                        "decision",
                        "Bitte wählen Sie das Entscheidungskriterium der erweiterten Richtwertmethode.".into(),
                    );
                    None
                }
            }
        } else {
            None
        };
        let errors = errors.into_inner();
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

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

fn short(text: &str) -> String {
    text.chars().take(30).collect()
}

/// A percentage 0..=100 (or any positive weight when `bounded` is false) with at most 2 places.
fn percent(text: &str, bounded: bool) -> Result<Decimal, String> {
    let d = numbers::parse_form(text.trim().trim_end_matches('%').trim())?;
    if d.is_sign_negative() {
        return Err("darf nicht negativ sein".into());
    }
    if d.scale() > 2 && d.normalize().scale() > 2 {
        return Err("hat höchstens 2 Nachkommastellen".into());
    }
    if bounded && d > dec!(100) {
        return Err("darf höchstens 100 % sein".into());
    }
    Ok(d.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> EvaluationInput {
        EvaluationInput::defaults()
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
        i.quality_weight = "40".into();
        let e = i.validate().unwrap_err();
        assert!(e["quality_weight"][0].contains("110"));
    }

    #[test]
    fn quality_methods_need_b_criteria() {
        for m in ["weighted", "ufab_simple", "ufab_extended"] {
            let mut i = valid();
            i.method = m.into();
            i.b_criteria = String::new();
            assert!(i.validate().unwrap_err().contains_key("b_criteria"), "{m}");
        }
        let mut i = valid();
        i.method = "lowest_price".into();
        i.b_criteria = String::new();
        assert!(i.validate().is_ok());
    }

    #[test]
    fn b_criterion_lines_need_name_and_positive_weight() {
        let mut i = valid();
        i.b_criteria = "Service\nQualität; 0\n; 5\nDesign; -1".into();
        let e = i.validate().unwrap_err();
        assert_eq!(e["b_criteria"].len(), 4, "{e:?}");
        assert!(e["b_criteria"][0].starts_with("Zeile 1"));
    }

    #[test]
    fn german_decimal_weights_are_exact() {
        let mut i = valid();
        i.price_weight = "62,5".into();
        i.quality_weight = "37,5 %".into();
        let s = i.validate().unwrap();
        assert_eq!(s.price_weight, dec!(62.5));
    }

    #[test]
    fn percent_with_three_places_is_refused() {
        let mut i = valid();
        i.abnormally_low_next_percent = "20,125".into();
        assert!(i.validate().unwrap_err().contains_key("abnormally_low_next_percent"));
    }

    #[test]
    fn extended_method_needs_band_and_decision() {
        let mut i = valid();
        i.method = "ufab_extended".into();
        i.decision = String::new();
        i.band_percent = "100".into();
        let e = i.validate().unwrap_err();
        assert!(e.contains_key("decision") && e.contains_key("band_percent"));
        i.decision = "highest_performance".into();
        i.band_percent = "7,5".into();
        let s = i.validate().unwrap();
        assert_eq!(s.band_percent, Some(dec!(7.5)));
        assert_eq!(s.decision, Some(Decision::HighestPerformance));
    }

    #[test]
    fn score_places_limited() {
        let mut i = valid();
        i.score_places = "7".into();
        assert!(i.validate().unwrap_err().contains_key("score_places"));
        i.score_places = "0".into();
        assert_eq!(i.validate().unwrap().score_places, 0);
    }

    #[test]
    fn unknown_method_refused() {
        let mut i = valid();
        i.method = "dice".into();
        assert!(i.validate().unwrap_err().contains_key("method"));
    }

    #[test]
    fn round_trip_through_form() {
        let mut i = valid();
        i.method = "ufab_extended".into();
        let s = i.validate().unwrap();
        assert_eq!(EvaluationInput::from_spec(&s).validate().unwrap(), s);
    }

    #[test]
    fn spec_serialises_decimals_as_strings() {
        let s = valid().validate().unwrap();
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["price_weight"], "70");
        assert_eq!(j["method"], "weighted");
    }
}
