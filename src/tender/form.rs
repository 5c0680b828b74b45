//! The tender form as typed (text, for showing it again with its errors) and its reading into a
//! `TenderCommand` with German notation; every field that cannot be read is reported at once.

use super::TenderCommand;
use crate::auth::csrf::FormData;
use crate::domain::evaluation::{self, BCriterion, Decision, EvaluationCommand, Method, PriceFormula};
use crate::domain::ids::{DemandCallId, DemandPositionId};
use crate::domain::numbers;
use crate::domain::tender::Procedure;
use crate::error::FieldErrors;
use crate::web::read;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// The evaluation fields of the form, as typed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvaluationForm {
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

/// The tender form, as typed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TenderForm {
    pub demand_call_id: DemandCallId,
    pub title: String,
    pub description: String,
    pub procedure: String,
    pub buffer_percent: String,
    pub deadline_date: String,
    pub deadline_time: String,
    pub urgency_reason: String,
    pub term_months: String,
    pub term_justification: String,
    pub evaluation: EvaluationForm,
    pub lots: Vec<String>,
    pub assignment: BTreeMap<DemandPositionId, i32>,
}

/// A decimal as a German form shows it: comma, no trailing zeros.
fn de(d: Decimal) -> String {
    d.normalize().to_string().replace('.', ",")
}

fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_default().push(message.into());
}

/// A German decimal (`%` may follow), `None` when empty; a bad value is recorded under `field`
/// with `message`, or with the reader's reason after "Der Wert" when `message` is `None`.
fn decimal(errors: &mut FieldErrors, field: &str, text: &str, message: Option<&str>) -> Option<Decimal> {
    read::decimal(text).unwrap_or_else(|e| {
        push(
            errors,
            field,
            message.map_or_else(|| format!("Der Wert {e}."), str::to_string),
        );
        None
    })
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

impl EvaluationForm {
    pub fn from_command(c: &EvaluationCommand) -> EvaluationForm {
        EvaluationForm {
            method: c.method.map(Method::code).unwrap_or_default().into(),
            a_criteria: c.a_criteria.join("\n"),
            b_criteria: c
                .b_criteria
                .iter()
                .map(|b| format!("{}; {}", b.name, de(b.weight)))
                .collect::<Vec<_>>()
                .join("\n"),
            price_weight: c.price_weight.map(de).unwrap_or_default(),
            quality_weight: c.quality_weight.map(de).unwrap_or_default(),
            price_formula: c.price_formula.map(PriceFormula::code).unwrap_or_default().into(),
            max_points: c.max_points.map(de).unwrap_or_default(),
            score_places: c.score_places.map(|p| p.to_string()).unwrap_or_default(),
            abnormally_low_next_percent: c.abnormally_low_next_percent.map(de).unwrap_or_default(),
            abnormally_low_estimate_percent: c.abnormally_low_estimate_percent.map(de).unwrap_or_default(),
            band_percent: c.band_percent.map(de).unwrap_or_default(),
            decision: c.decision.map(Decision::code).unwrap_or_default().into(),
        }
    }

    /// The command and what could not be read (field names without the `evaluation.` prefix).
    pub fn read(&self) -> (EvaluationCommand, FieldErrors) {
        let mut errors = FieldErrors::new();
        let method = Method::from_code(&self.method);
        if method.is_none() {
            push(&mut errors, "method", evaluation::METHOD_MISSING);
        }
        let mut b_criteria = Vec::new();
        for (i, line) in lines(&self.b_criteria).enumerate() {
            let Some((name, weight)) = line.rsplit_once(';') else {
                push(
                    &mut errors,
                    "b_criteria",
                    format!(
                        "Zeile {}: Bitte „Bezeichnung; Gewicht“ angeben, z. B. „Servicekonzept; 60“.",
                        i + 1
                    ),
                );
                continue;
            };
            let weight = weight.trim().trim_end_matches('%').trim();
            match numbers::german(weight) {
                Ok(w) => b_criteria.push(BCriterion {
                    name: name.trim().to_string(),
                    weight: w,
                }),
                Err(e) => push(&mut errors, "b_criteria", format!("Zeile {}: Das Gewicht {e}.", i + 1)),
            }
        }
        let price_formula = match self.price_formula.trim() {
            "" => None,
            t => {
                let f = PriceFormula::from_code(t);
                if f.is_none() {
                    push(&mut errors, "price_formula", "Bitte wählen Sie eine Preisformel.");
                }
                f
            }
        };
        let score_places = match self.score_places.trim() {
            "" => None,
            t => match t.parse::<u32>() {
                Ok(p) => Some(p),
                Err(_) => {
                    push(&mut errors, "score_places", evaluation::SCORE_PLACES_RULE);
                    None
                }
            },
        };
        let decision = match self.decision.trim() {
            "" => None,
            t => Decision::from_code(t),
        };
        let max_points = decimal(
            &mut errors,
            "max_points",
            &self.max_points,
            Some(evaluation::MAX_POINTS_RULE),
        );
        let command = EvaluationCommand {
            method,
            a_criteria: lines(&self.a_criteria).map(str::to_string).collect(),
            b_criteria,
            price_weight: decimal(&mut errors, "price_weight", &self.price_weight, None),
            quality_weight: decimal(&mut errors, "quality_weight", &self.quality_weight, None),
            price_formula,
            max_points,
            score_places,
            abnormally_low_next_percent: decimal(
                &mut errors,
                "abnormally_low_next_percent",
                &self.abnormally_low_next_percent,
                None,
            ),
            abnormally_low_estimate_percent: decimal(
                &mut errors,
                "abnormally_low_estimate_percent",
                &self.abnormally_low_estimate_percent,
                None,
            ),
            band_percent: decimal(&mut errors, "band_percent", &self.band_percent, None),
            decision,
        };
        (command, errors)
    }
}

impl TenderForm {
    /// The form's fields: text fields by name, evaluation fields `evaluation.<name>`, lot titles
    /// `lot_title_<n>` and the lot of each demand position `lot_<demand position id>`.
    pub fn from_form(form: &FormData) -> TenderForm {
        let e = |name: &str| form.get(&format!("evaluation.{name}"));
        let mut lots: Vec<String> = (1..=50).map(|n| form.get(&format!("lot_title_{n}"))).collect();
        while lots.last().is_some_and(String::is_empty) {
            lots.pop();
        }
        let assignment: BTreeMap<DemandPositionId, i32> = form
            .keys()
            .filter_map(|k| {
                k.strip_prefix("lot_")
                    .and_then(|id| id.parse::<DemandPositionId>().ok())
            })
            .map(|id| (id, form.get(&format!("lot_{id}")).parse().unwrap_or(0)))
            .collect();
        TenderForm {
            demand_call_id: form.get("demand_call_id").parse().unwrap_or_default(),
            title: form.get("title"),
            description: form.get("description"),
            procedure: form.get("procedure"),
            buffer_percent: form.get("buffer_percent"),
            deadline_date: form.get("deadline_date"),
            deadline_time: form.get("deadline_time"),
            urgency_reason: form.get("urgency_reason"),
            term_months: form.get("term_months"),
            term_justification: form.get("term_justification"),
            evaluation: EvaluationForm {
                method: e("method"),
                a_criteria: e("a_criteria"),
                b_criteria: e("b_criteria"),
                price_weight: e("price_weight"),
                quality_weight: e("quality_weight"),
                price_formula: e("price_formula"),
                max_points: e("max_points"),
                score_places: e("score_places"),
                abnormally_low_next_percent: e("abnormally_low_next_percent"),
                abnormally_low_estimate_percent: e("abnormally_low_estimate_percent"),
                band_percent: e("band_percent"),
                decision: e("decision"),
            },
            lots,
            assignment,
        }
    }

    /// The form showing `c` (a new tender's defaults or a stored draft).
    pub fn from_command(c: &TenderCommand) -> TenderForm {
        let (deadline_date, deadline_time) = match c.bid_deadline {
            Some(d) => super::local_parts(d),
            None => (String::new(), "12:00".into()),
        };
        TenderForm {
            demand_call_id: c.demand_call_id,
            title: c.title.clone(),
            description: c.description.clone(),
            procedure: c.procedure.map(Procedure::code).unwrap_or_default().into(),
            buffer_percent: c.buffer_percent.map(de).unwrap_or_default(),
            deadline_date,
            deadline_time,
            urgency_reason: c.urgency_reason.clone(),
            term_months: c.term_months.map(|m| m.to_string()).unwrap_or_default(),
            term_justification: c.term_justification.clone(),
            evaluation: EvaluationForm::from_command(&c.evaluation),
            lots: c.lots.clone(),
            assignment: c.assignment.clone(),
        }
    }

    /// The command and what could not be read, every field at once.
    pub fn read(&self) -> (TenderCommand, FieldErrors) {
        let mut errors = FieldErrors::new();
        let procedure = match self.procedure.trim() {
            "" => None,
            t => {
                let p = Procedure::from_code(t);
                if p.is_none() {
                    push(&mut errors, "procedure", super::PROCEDURE_MISSING);
                }
                p
            }
        };
        let buffer_percent = decimal(
            &mut errors,
            "buffer_percent",
            &self.buffer_percent,
            Some(super::BUFFER_RULE),
        );
        let bid_deadline = crate::web::read::local_datetime(&self.deadline_date, &self.deadline_time);
        if bid_deadline.is_none() {
            push(&mut errors, "deadline_date", super::DEADLINE_MISSING);
        }
        let term_months = match self.term_months.trim().parse::<i32>() {
            Ok(m) => Some(m),
            Err(_) => {
                push(&mut errors, "term_months", super::TERM_MISSING);
                None
            }
        };
        let (evaluation, evaluation_errors) = self.evaluation.read();
        for (k, v) in evaluation_errors {
            errors.entry(format!("evaluation.{k}")).or_default().extend(v);
        }
        let command = TenderCommand {
            demand_call_id: self.demand_call_id,
            title: self.title.clone(),
            description: self.description.clone(),
            procedure,
            buffer_percent,
            bid_deadline,
            urgency_reason: self.urgency_reason.clone(),
            term_months,
            term_justification: self.term_justification.clone(),
            evaluation,
            lots: self.lots.clone(),
            assignment: self.assignment.clone(),
        };
        (command, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn form() -> EvaluationForm {
        EvaluationForm::from_command(&EvaluationCommand::defaults())
    }

    #[test]
    fn german_weights_are_read_exactly() {
        let mut f = form();
        f.price_weight = "62,5".into();
        f.quality_weight = "37,5 %".into();
        let (c, e) = f.read();
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(c.price_weight, Some(dec!(62.5)));
        assert_eq!(c.validate().unwrap().quality_weight, dec!(37.5));
    }

    #[test]
    fn a_point_grouping_by_three_is_a_thousands_point_in_the_form() {
        let mut f = form();
        f.max_points = "1.000".into();
        assert_eq!(f.read().0.max_points, Some(dec!(1000)));
    }

    #[test]
    fn unreadable_lines_and_rule_breaks_are_all_reported() {
        let mut f = form();
        f.b_criteria = "Service\nQualität; 0\n; 5\nDesign; viel".into();
        let (c, mut e) = f.read();
        assert_eq!(e["b_criteria"].len(), 2, "{e:?}");
        assert!(e["b_criteria"][0].starts_with("Zeile 1"));
        assert!(e["b_criteria"][1].starts_with("Zeile 4"));
        for (k, v) in c.validate().unwrap_err() {
            e.entry(k).or_default().extend(v);
        }
        assert_eq!(e["b_criteria"].len(), 4, "{e:?}");
    }

    #[test]
    fn unknown_codes_are_refused_with_the_services_words() {
        let mut f = form();
        f.method = "dice".into();
        f.score_places = "drei".into();
        let (_, e) = f.read();
        assert_eq!(e["method"], vec![evaluation::METHOD_MISSING.to_string()]);
        assert_eq!(e["score_places"], vec![evaluation::SCORE_PLACES_RULE.to_string()]);
    }

    #[test]
    fn the_form_shows_a_command_again_as_it_reads_it() {
        let mut c = EvaluationCommand::defaults();
        c.method = Some(Method::UfabExtended);
        c.band_percent = Some(dec!(7.5));
        let (again, e) = EvaluationForm::from_command(&c).read();
        assert!(e.is_empty());
        assert_eq!(again, c);
    }
}
