//! The tender plan: an officer's `TenderCommand` checked against the demand call and the law
//! (procedure by value, § 15 VgV deadline, term, evaluation) into `TenderData` ready to store.

use crate::db::DbConn;
use crate::demand;
use crate::domain::demand::CallStatus;
use crate::domain::evaluation::{EvaluationCommand, EvaluationSpec};
use crate::domain::ids::{DemandCallId, DemandPositionId};
use crate::domain::money::{Amount, Price, Quantity};
use crate::domain::tender::{self as rules, DeadlineCheck, Procedure};
use crate::error::{AppError, AppResult, FieldErrors};
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

pub(super) fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_default().push(message.into());
}

/// A tender as an officer asks for it, every value typed and read at the edge (form or API);
/// `None` takes the default or is refused by `validate` where a value is required.
#[derive(Debug, Clone, Default)]
pub struct TenderCommand {
    pub demand_call_id: DemandCallId,
    pub title: String,
    pub description: String,
    /// `None` picks what the estimated value requires.
    pub procedure: Option<Procedure>,
    pub buffer_percent: Option<Decimal>,
    /// Server time (UTC) of the end of the bid period.
    pub bid_deadline: Option<NaiveDateTime>,
    pub urgency_reason: String,
    pub term_months: Option<i32>,
    pub term_justification: String,
    pub evaluation: EvaluationCommand,
    /// Lot titles, lot 1 first.
    pub lots: Vec<String>,
    /// Demand position id → lot number (1-based). Positions without demand are left out.
    pub assignment: BTreeMap<DemandPositionId, i32>,
}

pub const BUFFER_RULE: &str =
    "Der Puffer muss zwischen 0 und 100 % liegen, mit höchstens 2 Nachkommastellen (z. B. 20).";
pub const DEADLINE_MISSING: &str = "Bitte geben Sie die Angebotsfrist als Datum (TT.MM.JJJJ) und Uhrzeit (HH:MM) an.";
pub const TERM_MISSING: &str = "Bitte geben Sie die Laufzeit in ganzen Monaten an.";
pub const PROCEDURE_MISSING: &str = "Bitte wählen Sie ein Verfahren.";

/// A position as it will be tendered.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedPosition {
    pub demand_position_id: DemandPositionId,
    pub lot_no: i32,
    pub position_no: i32,
    pub description: String,
    pub unit: String,
    pub cpv_code: String,
    pub estimate_quantity: Quantity,
    pub max_quantity: Quantity,
    pub estimate_price: Option<Price>,
}

/// A validated tender, ready to store.
#[derive(Debug, Clone)]
pub struct TenderData {
    pub demand_call_id: DemandCallId,
    pub title: String,
    pub description: String,
    pub procedure: Procedure,
    pub buffer_percent: Decimal,
    pub estimated_value: Amount,
    pub threshold: Amount,
    pub bid_deadline: NaiveDateTime,
    pub urgency_reason: Option<String>,
    pub term_months: i32,
    pub term_justification: Option<String>,
    pub evaluation: EvaluationSpec,
    pub lots: Vec<String>,
    pub positions: Vec<PlannedPosition>,
    /// Shown to the officer, never blocking.
    pub warnings: Vec<String>,
}

pub(super) fn optional_text(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

impl TenderCommand {
    /// Defaults for a tender from `call`: its title and term, one lot, 20 % buffer.
    pub fn defaults_for(call: &demand::DemandCall, positions: &[demand::Position]) -> TenderCommand {
        TenderCommand {
            demand_call_id: call.id,
            title: call.title.clone(),
            description: call.description.clone(),
            buffer_percent: Some(Decimal::from(20)),
            term_months: Some(call.term_months),
            evaluation: EvaluationCommand::defaults(),
            lots: vec!["Gesamtleistung".into()],
            assignment: positions.iter().map(|p| (p.id, 1)).collect(),
            ..Default::default()
        }
    }

    /// Checks everything against the closed call's aggregation and the rules in force at `now`;
    /// all problems at once.
    pub fn validate(
        &self,
        conn: &mut DbConn,
        now: NaiveDateTime,
        calendar: &crate::domain::period::Calendar,
    ) -> AppResult<TenderData> {
        let mut errors = FieldErrors::new();
        let call = demand::find_call(conn, self.demand_call_id)
            .map_err(|_| AppError::field("demand_call_id", "Bitte wählen Sie eine abgeschlossene Bedarfsabfrage."))?;
        if call.status != CallStatus::Closed {
            push(
                &mut errors,
                "demand_call_id",
                "Eine Ausschreibung entsteht erst aus einer abgeschlossenen Bedarfsabfrage.",
            );
        }
        let title = self.title.trim().to_string();
        if !(3..=200).contains(&title.chars().count()) {
            push(
                &mut errors,
                "title",
                "Bitte geben Sie einen Titel an (3 bis 200 Zeichen).",
            );
        }
        let buffer_percent = match self.buffer_percent {
            None => Decimal::from(20),
            Some(d) if !d.is_sign_negative() && d <= Decimal::from(100) && d.normalize().scale() <= 2 => d.normalize(),
            Some(_) => {
                push(&mut errors, "buffer_percent", BUFFER_RULE);
                Decimal::from(20)
            }
        };
        let term_justification = optional_text(&self.term_justification);
        let term_months = match self.term_months {
            Some(m) if m > rules::MAX_TERM_MONTHS => {
                push(
                    &mut errors,
                    "term_months",
                    format!(
                        "Die Laufzeit kann höchstens {} Monate betragen.",
                        rules::MAX_TERM_MONTHS
                    ),
                );
                m
            }
            Some(m) => {
                if let Err(e) = rules::check_term(m, term_justification.as_deref()) {
                    push(&mut errors, "term_months", e.to_string());
                }
                m
            }
            None => {
                push(&mut errors, "term_months", TERM_MISSING);
                0
            }
        };
        let evaluation = match self.evaluation.validate() {
            Ok(spec) => Some(spec),
            Err(e) => {
                for (k, v) in e {
                    errors.entry(format!("evaluation.{k}")).or_default().extend(v);
                }
                None
            }
        };

        // Lots: titles present, every used position assigned to an existing lot, no lot empty.
        let lots: Vec<String> = self.lots.iter().map(|l| l.trim().to_string()).collect();
        if lots.is_empty() {
            push(&mut errors, "lots", "Bitte legen Sie mindestens ein Los an.");
        }
        for (i, l) in lots.iter().enumerate() {
            if l.is_empty() || l.chars().count() > 200 {
                push(
                    &mut errors,
                    "lots",
                    format!("Los {}: Bitte geben Sie eine Bezeichnung an (bis 200 Zeichen).", i + 1),
                );
            }
        }
        let today = now.date();
        let agg = demand::aggregate(conn, &call, today)?;
        let mut planned = Vec::new();
        let mut warnings = Vec::new();
        let mut without_demand = Vec::new();
        let mut value = Decimal::ZERO;
        let mut unpriced = Vec::new();
        for (p, a) in &agg.positions {
            if a.total_quantity.is_zero() {
                without_demand.push(p.position_no);
                continue;
            }
            let lot_no = match self.assignment.get(&p.id) {
                Some(n) if *n >= 1 && (*n as usize) <= lots.len() => *n,
                _ => {
                    push(
                        &mut errors,
                        "assignment",
                        format!("Pos. {} ist keinem bestehenden Los zugeordnet.", p.position_no),
                    );
                    continue;
                }
            };
            let estimate = match Quantity::from_decimal(a.total_quantity) {
                Ok(q) => q,
                Err(e) => {
                    push(
                        &mut errors,
                        "assignment",
                        format!("Pos. {}: Die Menge {e}.", p.position_no),
                    );
                    continue;
                }
            };
            let max = match rules::maximum_quantity(estimate, buffer_percent) {
                Ok(m) => m,
                Err(e) => {
                    push(&mut errors, "buffer_percent", format!("Pos. {}: {e}", p.position_no));
                    continue;
                }
            };
            let estimate_price = a.estimate_unit_price.and_then(|d| Price::from_decimal(d).ok());
            match estimate_price.map(|price| Amount::line_total(max, price)) {
                // The framework's value is what could be called off: the maximum (§ 3 (4) VgV).
                Some(Ok(line)) => value += line.to_decimal(),
                Some(Err(e)) => push(
                    &mut errors,
                    "buffer_percent",
                    format!("Pos. {}: Der Wert der Höchstmenge {e}.", p.position_no),
                ),
                None => unpriced.push(p.position_no),
            }
            planned.push(PlannedPosition {
                demand_position_id: p.id,
                lot_no,
                position_no: p.position_no,
                description: p.description.clone(),
                unit: p.unit.clone(),
                cpv_code: p.cpv_code.clone(),
                estimate_quantity: estimate,
                max_quantity: max,
                estimate_price,
            });
        }
        let with_demand = agg
            .positions
            .iter()
            .filter(|(_, a)| !a.total_quantity.is_zero())
            .count();
        if with_demand == 0 && call.status == CallStatus::Closed {
            push(
                &mut errors,
                "assignment",
                "Für keine Position der Bedarfsabfrage wurde Bedarf gemeldet; es gibt nichts auszuschreiben.",
            );
        }
        for (i, _) in lots.iter().enumerate() {
            let n = i as i32 + 1;
            if !planned.iter().any(|p| p.lot_no == n) && !planned.is_empty() {
                push(
                    &mut errors,
                    "assignment",
                    format!(
                        "Los {n} enthält keine Position; bitte ordnen Sie Positionen zu oder entfernen Sie das Los."
                    ),
                );
            }
        }
        if !without_demand.is_empty() {
            warnings.push(format!(
                "Ohne gemeldeten Bedarf und daher nicht ausgeschrieben: Pos. {}.",
                join(&without_demand)
            ));
        }
        if !unpriced.is_empty() {
            warnings.push(format!(
                "Ohne Schätz- oder Referenzpreis, daher nicht im geschätzten Auftragswert: Pos. {}.",
                join(&unpriced)
            ));
        }
        // The threshold of the Berlin day (thresholds change at midnight German time on 1 January).
        let threshold_dec =
            crate::domain::rules::eu_threshold_on(crate::domain::period::berlin_day(now.and_utc())).supplies_services;
        let required = rules::required_procedure(value, threshold_dec);
        let procedure = match self.procedure {
            None => required,
            Some(Procedure::EuOpen) => Procedure::EuOpen,
            Some(Procedure::National) => {
                if required == Procedure::EuOpen {
                    push(
                        &mut errors,
                        "procedure",
                        format!(
                            "Der geschätzte Auftragswert ({} EUR) erreicht den EU-Schwellenwert ({} EUR); das offene Verfahren ist vorgeschrieben (§ 106 GWB).",
                            crate::german::decimal_de(value, 2, 2),
                            crate::german::decimal_de(threshold_dec, 2, 2)
                        ),
                    );
                }
                Procedure::National
            }
        };
        let urgency_reason = optional_text(&self.urgency_reason);
        let bid_deadline = match self.bid_deadline {
            Some(d) => {
                // Checked as if published now; publication checks again.
                match rules::check_bid_deadline(procedure, now, d, urgency_reason.as_deref(), calendar) {
                    DeadlineCheck::Error(e) => push(&mut errors, "deadline_date", e),
                    DeadlineCheck::Warning(w) => warnings.push(w),
                    DeadlineCheck::Ok => {}
                }
                d
            }
            None => {
                push(&mut errors, "deadline_date", DEADLINE_MISSING);
                now
            }
        };
        let estimated_value = Amount::from_decimal(value);
        if estimated_value.is_err() {
            push(
                &mut errors,
                "buffer_percent",
                "Der geschätzte Auftragswert ist zu groß.",
            );
        }
        match (evaluation, estimated_value) {
            (Some(evaluation), Ok(estimated_value)) if errors.is_empty() => Ok(TenderData {
                demand_call_id: call.id,
                title,
                description: self.description.trim().to_string(),
                procedure,
                buffer_percent,
                estimated_value,
                threshold: Amount::from_decimal(threshold_dec).map_err(|e| AppError::Internal(e.to_string()))?,
                bid_deadline,
                urgency_reason,
                term_months,
                term_justification,
                evaluation,
                lots,
                positions: planned,
                warnings,
            }),
            _ => Err(AppError::fields(errors)),
        }
    }
}

pub(super) fn join(numbers: &[i32]) -> String {
    numbers.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
}
