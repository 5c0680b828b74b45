//! Placing a call-off: the order checked and priced, its number and document written once, and
//! the running totals taken by guarded updates that never exceed a maximum, even concurrently.

use super::{positions, today, utilisation_alert, vendor_users, ContractTerms, TermsPosition};
use crate::audit::{self, Event};
use crate::auth::CurrentUser;
use crate::db::cached::cached;
use crate::db::schema::{calloff_lines, calloffs, contract_members, contracts, organisations};
use crate::db::DbConn;
use crate::domain::calloff::{self as rules, CalloffStatus, PositionLimit, Refusal};
use crate::domain::identifiers;
use crate::domain::ids::{CalloffId, ContractId, TenderPositionId};
use crate::domain::money::{Amount, Quantity};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::{mail, AppState};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// A call-off as a buyer orders it, read at the edge (form, order file or API).
#[derive(Debug, Clone, Default)]
pub struct CalloffCommand {
    /// Position id → quantity; positions not ordered are left out.
    pub quantities: Vec<(TenderPositionId, Quantity)>,
    pub delivery_address: String,
    pub cost_centre: String,
    pub leitweg_id: String,
    pub note: String,
}

/// What `place` accepted.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Placed {
    #[schema(value_type = i64)]
    pub id: CalloffId,
    pub number: String,
    pub total: Amount,
}

fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_default().push(message.into());
}

struct Valid {
    lines: Vec<(TenderPositionId, Quantity)>,
    delivery_address: String,
    cost_centre: String,
    leitweg_id: Option<String>,
    note: String,
}

/// The checks of `place` that need no contract: address, cost centre, Leitweg-ID, note.
pub fn check_fields(input: &CalloffCommand) -> AppResult<()> {
    validate(input, &[]).map(|_| ())
}

fn validate(input: &CalloffCommand, positions: &[TermsPosition]) -> AppResult<Valid> {
    let mut errors = FieldErrors::new();
    let mut lines = Vec::new();
    for &(position_id, quantity) in &input.quantities {
        let no = positions
            .iter()
            .find(|p| p.position_id == position_id)
            .map(|p| p.position_no)
            .unwrap_or(0);
        match quantity.positive() {
            Ok(q) => lines.push((position_id, q)),
            Err(e) => push(
                &mut errors,
                &format!("q_{position_id}"),
                format!("Pos. {no}: Die Menge {e}."),
            ),
        }
    }
    let delivery_address = input.delivery_address.trim().to_string();
    if !(5..=500).contains(&delivery_address.chars().count()) {
        push(
            &mut errors,
            "delivery_address",
            "Bitte geben Sie die Lieferanschrift an (5 bis 500 Zeichen).",
        );
    }
    let cost_centre = input.cost_centre.trim().to_string();
    if !(1..=50).contains(&cost_centre.chars().count()) {
        push(
            &mut errors,
            "cost_centre",
            "Bitte geben Sie die Kostenstelle an (bis 50 Zeichen).",
        );
    }
    let leitweg_id = match input.leitweg_id.trim() {
        "" => None,
        l => match identifiers::leitweg_id(l) {
            Ok(l) => Some(l),
            Err(e) => {
                push(&mut errors, "leitweg_id", e.to_string());
                None
            }
        },
    };
    let note = input.note.trim().to_string();
    if note.chars().count() > 1000 {
        push(
            &mut errors,
            "note",
            "Die Bemerkung darf höchstens 1000 Zeichen lang sein.",
        );
    }
    if errors.is_empty() && lines.is_empty() {
        push(
            &mut errors,
            "lines",
            "Bitte geben Sie für mindestens eine Position eine Menge an.",
        );
    }
    if !errors.is_empty() {
        return Err(AppError::fields(errors));
    }
    Ok(Valid {
        lines,
        delivery_address,
        cost_centre,
        leitweg_id,
        note,
    })
}

/// Stand-ins for a call-off's id, number and document hash in what is rendered before the write
/// lock (the values exist only inside it). Random per process, so no typed text can contain
/// them; letters and digits only, so HTML escaping leaves them as they are.
struct Marks {
    id: String,
    number: String,
    sha: String,
    /// The first characters of the random part every mark shares: what is left of a mark that
    /// a template cut short.
    stem: String,
}

impl Marks {
    /// The document with its number filled in.
    fn fill(&self, document: &str, number: &str) -> AppResult<String> {
        let filled = document.replace(&self.number, number);
        self.check(&filled)?;
        Ok(filled)
    }

    /// Refuses text in which a mark, or a piece of one, survived: an operator's template that
    /// transforms the number, link or hash (`| lower`, `| truncate`) would otherwise store and
    /// mail it. Marks are upper case, so `| upper` leaves them whole and they are filled.
    fn check(&self, text: &str) -> AppResult<()> {
        if text.to_ascii_uppercase().contains(&self.stem) {
            return Err(AppError::Internal(
                "Vorlage des Abrufs: Nummer, Link und Prüfsumme müssen unverändert ausgegeben werden \
                 ({{ number }}, {{ url }}, {{ sha256 }})."
                    .into(),
            ));
        }
        Ok(())
    }
}

static MARKS: std::sync::LazyLock<Marks> = std::sync::LazyLock::new(|| {
    let nonce: String = crate::auth::random_token()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Marks {
        id: format!("ID{nonce}X"),
        number: format!("NR{nonce}X"),
        sha: format!("SHA{nonce}X"),
        stem: nonce.chars().take(8).collect(),
    }
});

/// The id the next call-off gets, known before it is stored so that its number and document
/// are written once: PostgreSQL's sequence (taken outside any lock); on SQLite the write lock
/// of the transaction is held, so the next rowid is ours. On PostgreSQL a refused call-off has
/// used its number, so order numbers may have gaps; they are unique and rising, never reused.
pub fn next_calloff_id(conn: &mut DbConn) -> AppResult<CalloffId> {
    #[derive(QueryableByName)]
    struct Next {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: CalloffId,
    }
    let sql: &'static [&'static str] = match conn {
        DbConn::Pg(_) => &["SELECT nextval(pg_get_serial_sequence('calloffs', 'id')) AS id"],
        DbConn::Sqlite(_) => &[
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'calloffs'), 0), \
             COALESCE((SELECT MAX(id) FROM calloffs), 0)) + 1 AS id",
        ],
    };
    Ok(cached(sql, vec![]).get_result::<Next>(conn)?.id)
}

/// The guarded updates of the running totals, as statements that stay prepared (every call-off
/// runs them; Diesel would prepare each UPDATE again). Each takes only what still fits.
pub mod totals {
    use crate::db::cached::cached;
    use crate::db::DbConn;
    use crate::domain::ids::{ContractId, OrgId, TenderPositionId};
    use crate::domain::money::Amount;
    use chrono::NaiveDateTime;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Nullable, Timestamp};

    /// `quantity` (minor units) more of a position, if its maximum allows.
    pub fn take_position(
        c: &mut DbConn,
        contract_id: ContractId,
        position_id: TenderPositionId,
        quantity: i64,
    ) -> QueryResult<bool> {
        let sql = &[
            "UPDATE contract_positions SET called_quantity = called_quantity + ",
            " WHERE contract_id = ",
            " AND position_id = ",
            " AND called_quantity + ",
            " <= max_quantity",
        ];
        Ok(cached(sql, vec![quantity, contract_id.get(), position_id.get(), quantity]).execute(c)? == 1)
    }

    /// The contract's totals after taking `total` (cents), if its maximum value allows.
    #[derive(Debug, QueryableByName)]
    pub struct ContractTotals {
        #[diesel(sql_type = BigInt)]
        pub called_value: Amount,
        #[diesel(sql_type = BigInt)]
        pub max_value: Amount,
        #[diesel(sql_type = Nullable<Timestamp>)]
        pub alert_utilisation_at: Option<NaiveDateTime>,
    }

    pub fn take_contract(c: &mut DbConn, contract_id: ContractId, total: i64) -> QueryResult<Option<ContractTotals>> {
        let sql = &[
            "UPDATE contracts SET called_value = called_value + ",
            " WHERE id = ",
            " AND called_value + ",
            " <= max_value RETURNING called_value, max_value, alert_utilisation_at",
        ];
        cached(sql, vec![total, contract_id.get(), total])
            .get_result(c)
            .optional()
    }

    /// `total` (cents) more on the member's account, if its quota (when set) allows.
    pub fn take_member(c: &mut DbConn, contract_id: ContractId, member_id: OrgId, total: i64) -> QueryResult<bool> {
        let sql = &[
            "UPDATE contract_members SET called_value = called_value + ",
            " WHERE contract_id = ",
            " AND member_id = ",
            " AND (quota_value IS NULL OR called_value + ",
            " <= quota_value)",
        ];
        Ok(cached(sql, vec![total, contract_id.get(), member_id.get(), total]).execute(c)? == 1)
    }
}

/// Places a call-off. Everything but the running totals is written first; the guarded updates
/// of the totals come last, just before COMMIT, so the hot rows of a busy contract are locked
/// (PostgreSQL) for the shortest time, and no two call-offs together ever take more than a
/// maximum, on any number of instances. A refusal is explained with what is left.
pub fn place(
    conn: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    contract_id: ContractId,
    input: &CalloffCommand,
) -> AppResult<Placed> {
    user.require(&[Role::Buyer])?;
    let terms = match state.contract_terms.get(conn, contract_id) {
        Err(AppError::NotFound) => return Err(AppError::NotFound),
        other => other?,
    };
    if terms.members.binary_search(&user.organisation_id).is_err() {
        return Err(AppError::NotFound);
    }
    let today = today(state);
    if !rules::is_active(today, terms.term_start, terms.term_end) {
        return Err(AppError::Conflict(format!(
            "Die Rahmenvereinbarung {} gilt vom {} bis {}; heute sind keine Abrufe möglich.",
            terms.number,
            terms.term_start.format("%d.%m.%Y"),
            terms.term_end.format("%d.%m.%Y")
        )));
    }
    let valid = validate(input, &terms.positions)?;
    let fixed: Vec<PositionLimit> = terms
        .positions
        .iter()
        .map(|p| PositionLimit {
            position_id: p.position_id,
            position_no: p.position_no,
            unit_price: p.unit_price,
            max_quantity: Quantity::ZERO,
            called_quantity: Quantity::ZERO,
        })
        .collect();
    let (mut lines, total) = rules::price(&fixed, &valid.lines).map_err(|r| refused(r, |_| String::new()))?;
    // Fixed order of row locks: two call-offs never wait on each other in a circle.
    lines.sort_unstable_by_key(|l| l.position_id);
    let position = |id: TenderPositionId| terms.positions.iter().find(|p| p.position_id == id);
    let doc_lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            let p = position(l.position_id);
            json!({
                "position_no": p.map(|p| p.position_no), "description": p.map(|p| &p.description),
                "unit": p.map(|p| &p.unit), "quantity": l.quantity, "unit_price": l.unit_price, "line_total": l.line_total,
            })
        })
        .collect();
    // Everything that needs no write lock happens before it is taken: the reads (on SQLite the
    // group commit runs queued call-offs one after the other on one connection) and the
    // rendering. Only id, number and hash are known inside; they replace the marks there.
    let vendor: (String, String, String, String) = organisations::table
        .find(terms.vendor_id)
        .select((
            organisations::name,
            organisations::street,
            organisations::postal_code,
            organisations::city,
        ))
        .first(conn)?;
    let recipients = vendor_users(conn, terms.vendor_id)?;
    // Savings are fixed with the order (issue #7): reference price, its source, the saving,
    // and the board's grouping keys, so the dashboard is one scan of the lines.
    let references = crate::savings::line_references(terms.references.get(&user.organisation_id), &lines)?;
    let now = state.clock.now_naive();
    let order_year = crate::savings::berlin_year(now);
    let marks = &*MARKS;
    let document = state.documents.render(
        "calloff_order",
        &json!({
            "number": marks.number,
            "contract": { "number": terms.number, "term_start": terms.term_start, "term_end": terms.term_end },
            "member": user.organisation_name, "ordered_by": user.name,
            "vendor": { "name": vendor.0, "street": vendor.1, "postal_code": vendor.2, "city": vendor.3 },
            "delivery_address": valid.delivery_address, "cost_centre": valid.cost_centre,
            "leitweg_id": valid.leitweg_id, "note": valid.note, "lines": doc_lines, "total": total, "created_at": now,
        }),
    )?;
    let mails = recipients
        .iter()
        .map(|(email, name)| {
            let mail = state.mail.render(
                "calloff_placed",
                &json!({ "name": name, "number": marks.number, "contract": terms.number, "member": user.organisation_name,
                         "total": total, "sha256": marks.sha, "url": format!("{}/abrufe/{}", state.config.base_url, marks.id) }),
            )?;
            Ok((email.clone(), mail))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let (state, user) = (state.clone(), user.clone());
    state.clone().writes.write(conn, move |c| {
        let (state, user, terms) = (&state, &user, &*terms);
        let id = next_calloff_id(c)?;
        // The year of the order time, read once: number and savings year never disagree.
        let number = format!("AB-{order_year}-{id:06}");
        let document = marks.fill(&document, &number)?;
        let sha = hex::encode(Sha256::digest(document.as_bytes()));
        // Column tuples: the call-off's hot path; Diesel binds tuples about twice as fast as a
        // derived Insertable (measured on the demand import).
        diesel::insert_into(calloffs::table)
            .values((
                calloffs::id.eq(id),
                calloffs::number.eq(&number),
                calloffs::contract_id.eq(contract_id),
                calloffs::member_id.eq(user.organisation_id),
                calloffs::ordered_by.eq(user.id),
                calloffs::status.eq(CalloffStatus::Placed),
                calloffs::delivery_address.eq(&valid.delivery_address),
                calloffs::cost_centre.eq(&valid.cost_centre),
                calloffs::leitweg_id.eq(&valid.leitweg_id),
                calloffs::note.eq(&valid.note),
                calloffs::total.eq(total),
                calloffs::created_at.eq(now),
                calloffs::document.eq(&document),
                calloffs::document_sha256.eq(&sha),
            ))
            .execute(c)?;
        for l in &lines {
            let r = references.get(&l.position_id).copied().unwrap_or_default();
            diesel::insert_into(calloff_lines::table)
                .values((
                    calloff_lines::calloff_id.eq(id),
                    calloff_lines::position_id.eq(l.position_id),
                    calloff_lines::quantity.eq(l.quantity),
                    calloff_lines::unit_price.eq(l.unit_price),
                    calloff_lines::line_total.eq(l.line_total),
                    calloff_lines::reference_price.eq(r.price),
                    calloff_lines::reference_source.eq(r.source_code()),
                    calloff_lines::saving.eq(r.saving),
                    calloff_lines::member_id.eq(user.organisation_id),
                    calloff_lines::contract_id.eq(contract_id),
                    calloff_lines::order_year.eq(order_year),
                ))
                .execute(c)?;
        }
        audit::record_first(
            c,
            &state.clock,
            &user.actor(),
            Event::new(
                "calloff.placed",
                "calloff",
                id,
                json!({ "number": number, "contract_id": contract_id, "member_id": user.organisation_id, "total": total, "lines": lines.len(), "document_sha256": sha }),
            ),
        )?;
        let id_text = id.to_string();
        let filled = [(&*marks.number, &*number), (&*marks.sha, &*sha), (&*marks.id, &*id_text)];
        for (email, mail) in &mails {
            let mail = mail.filled(&filled);
            marks.check(&mail.subject)?;
            marks.check(&mail.text)?;
            marks.check(&mail.html)?;
            mail::enqueue_rendered(c, state, email, &mail, None)?;
        }
        take_volume(c, state, user, contract_id, terms, &lines, total)?;
        Ok(Placed { id, number, total })
    })
}

/// The refusal of a whole call-off, every reason worded for the buyer.
fn refused(problems: Vec<Refusal>, unit: impl Fn(TenderPositionId) -> String) -> AppError {
    AppError::Validation {
        message: "Der Abruf wurde nicht angenommen; nichts wurde bestellt.".into(),
        fields: FieldErrors::from([(
            "lines".to_string(),
            problems.iter().map(|r| refusal_text(r, &unit)).collect(),
        )]),
    }
}

/// A refusal in German, with what is left in German notation.
fn refusal_text(refusal: &Refusal, unit: impl Fn(TenderPositionId) -> String) -> String {
    use crate::german::{money_de, quantity_de};
    match *refusal {
        Refusal::UnknownPosition => "Eine Position gehört nicht zu dieser Rahmenvereinbarung.".into(),
        Refusal::NotPositive { position_no } => format!("Pos. {position_no}: Die Menge muss größer als 0 sein."),
        Refusal::OverMaximum {
            position_id,
            position_no,
            remaining,
            max,
            asked,
        } => format!(
            "Pos. {position_no}: Es sind nur noch {} {} abrufbar (Höchstmenge {}); angefragt {}.",
            quantity_de(remaining.to_decimal()),
            unit(position_id),
            quantity_de(max.to_decimal()),
            quantity_de(asked.to_decimal()),
        ),
        Refusal::Amount { position_no, ref error } => format!("Pos. {position_no}: Der Betrag {error}."),
        Refusal::NoLines => "Bitte geben Sie für mindestens eine Position eine Menge an.".into(),
        Refusal::OverValue { total, left } => format!(
            "Der Abruf ({}) überschreitet den verbleibenden Höchstwert der Rahmenvereinbarung ({}).",
            money_de(total.to_decimal()),
            money_de(left.to_decimal())
        ),
        Refusal::OverQuota { total, left } => format!(
            "Der Abruf ({}) überschreitet das verbleibende Kontingent Ihres Hauses ({}).",
            money_de(total.to_decimal()),
            money_de(left.to_decimal())
        ),
    }
}

/// The guarded updates of the running totals (positions in id order, the contract, the
/// member), then the 80 % alert if this call-off crossed it. A guard that does not hold refuses
/// the call-off with what is left, read in the same transaction.
fn take_volume(
    c: &mut DbConn,
    state: &AppState,
    user: &CurrentUser,
    contract_id: ContractId,
    terms: &ContractTerms,
    lines: &[rules::PricedLine],
    total: Amount,
) -> AppResult<()> {
    let mut held = true;
    for l in lines {
        held &= totals::take_position(c, contract_id, l.position_id, l.quantity.minor())?;
    }
    let taken = if held {
        totals::take_contract(c, contract_id, total.minor())?
    } else {
        None
    };
    held &= taken.is_some() && totals::take_member(c, contract_id, user.organisation_id, total.minor())?;
    let totals = taken.map(|t| (t.called_value, t.max_value, t.alert_utilisation_at));
    match totals {
        Some((called, max, None)) if held && rules::utilisation_alert_due(called, max) => {
            utilisation_alert(c, state, contract_id, &terms.number, called, max)
        }
        Some(_) if held => Ok(()),
        _ => Err(explain_refusal(c, user, contract_id, terms, lines)),
    }
}

/// Why the guarded updates refused: the limits as they stand now, judged by the same rules the
/// page shows. Only if they would take the call-off after all (another one was just cancelled)
/// is the answer "try again".
fn explain_refusal(
    c: &mut DbConn,
    user: &CurrentUser,
    contract_id: ContractId,
    terms: &ContractTerms,
    lines: &[rules::PricedLine],
) -> AppError {
    let race = || {
        AppError::Conflict(
            "Ein anderer Abruf war schneller; die Restmenge reicht nicht mehr. Bitte prüfen Sie die verbleibenden Mengen."
                .into(),
        )
    };
    let now = (|| -> AppResult<_> {
        let positions = positions(c, contract_id)?;
        let (called, max): (Amount, Amount) = contracts::table
            .find(contract_id)
            .select((contracts::called_value, contracts::max_value))
            .first(c)?;
        let (quota, member_called): (Option<Amount>, Amount) = contract_members::table
            .filter(contract_members::contract_id.eq(contract_id))
            .filter(contract_members::member_id.eq(user.organisation_id))
            .select((contract_members::quota_value, contract_members::called_value))
            .first(c)?;
        Ok((positions, called, max, quota, member_called))
    })();
    let Ok((positions, called, max, quota, member_called)) = now else {
        return race();
    };
    let limits: Vec<PositionLimit> = positions
        .iter()
        .map(|p| PositionLimit {
            position_id: p.position_id,
            position_no: p.position_no,
            unit_price: p.unit_price,
            max_quantity: p.max_quantity,
            called_quantity: p.called_quantity,
        })
        .collect();
    let left = |max: Amount, called: Amount| Amount::from_minor(max.minor() - called.minor()).unwrap_or(Amount::ZERO);
    let wanted: Vec<(TenderPositionId, Quantity)> = lines.iter().map(|l| (l.position_id, l.quantity)).collect();
    let unit = |id: TenderPositionId| {
        terms
            .positions
            .iter()
            .find(|p| p.position_id == id)
            .map(|p| p.unit.clone())
            .unwrap_or_default()
    };
    match rules::check(
        &limits,
        &wanted,
        left(max, called),
        quota.map(|q| left(q, member_called)),
    ) {
        Err(problems) => refused(problems, unit),
        Ok(_) => race(),
    }
}

#[cfg(test)]
mod tests {
    use super::MARKS;

    #[test]
    fn the_number_replaces_its_mark_wherever_the_template_put_it() {
        let draft = format!("<title>Abruf {0}</title><h1>Nr. {0}</h1>", MARKS.number);
        let document = MARKS.fill(&draft, "AB-2026-000042").unwrap();
        assert_eq!(
            document,
            "<title>Abruf AB-2026-000042</title><h1>Nr. AB-2026-000042</h1>"
        );
    }

    #[test]
    fn a_mark_that_survived_is_refused_not_stored() {
        // A template that wrote the number in lower case or cut the link leaves a mark behind.
        let lower = format!("Abruf {}", MARKS.number.to_lowercase());
        let cut = format!("Link /abrufe/{}…", &MARKS.id[..12]);
        assert!(MARKS.fill(&lower, "AB-1").is_err());
        assert!(MARKS.check(&cut).is_err());
        assert!(MARKS.check(&format!("Prüfsumme {}", MARKS.sha)).is_err());
        assert!(MARKS.check("Abruf AB-2026-000042").is_ok());
    }

    #[test]
    fn a_number_in_capitals_is_still_filled_in() {
        let draft = format!("ABRUF {}", MARKS.number.to_uppercase());
        assert_eq!(MARKS.fill(&draft, "AB-2026-000042").unwrap(), "ABRUF AB-2026-000042");
    }

    #[test]
    fn marks_are_plain_letters_and_digits_so_escaping_keeps_them() {
        for mark in [&MARKS.id, &MARKS.number, &MARKS.sha] {
            assert!(
                mark.len() > 20 && mark.chars().all(|c| c.is_ascii_alphanumeric()),
                "{mark}"
            );
        }
        assert_ne!(MARKS.id, MARKS.number);
    }
}
