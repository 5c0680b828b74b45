//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' `#[utoipa::path]` and the
//! types they read and answer; served at `/api/v1/openapi.json` and shown at `/api/doku`.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Response};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

use super::{award, calloff, demand, ocds, review, savings, tender};

// An error answer as `AppError`'s responder writes it: the stable `code` for programs, the German
// `message` for people, and the problems of each field (JSON path or parameter name).
#[derive(Serialize, ToSchema, ToResponse)]
#[schema(description = "Fehlerantwort: fester code für Programme, deutsche message für Menschen, die Probleme je Feld")]
#[response(description = "Fehler")]
pub struct Error {
    code: ErrorCode,
    /// Deutsche Meldung, was zu korrigieren ist
    message: String,
    /// Die Probleme je Feld (JSON-Pfad wie `lines[0].quantity` oder Name des Parameters)
    fields: BTreeMap<String, Vec<String>>,
}

crate::coded_enum!(
    /// The stable codes of `AppError::code` and `AppError::code_of_status`.
    ErrorCode {
        BadRequest => "bad_request", "Anfrage nicht lesbar",
        Unauthorized => "unauthorized", "nicht angemeldet",
        Forbidden => "forbidden", "nicht erlaubt",
        NotFound => "not_found", "nicht gefunden",
        MethodNotAllowed => "method_not_allowed", "Methode nicht erlaubt",
        NotAcceptable => "not_acceptable", "Format nicht lieferbar",
        Conflict => "conflict", "Zustand lässt es nicht zu",
        PayloadTooLarge => "payload_too_large", "Inhalt zu groß",
        UnsupportedMediaType => "unsupported_media_type", "Format nicht angenommen",
        ValidationFailed => "validation_failed", "Angaben fehlerhaft",
        TooManyRequests => "too_many_requests", "zu viele Anfragen",
        Internal => "internal", "interner Fehler",
    }
);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "buendel API",
        version = "1",
        description = "Gemeinsame öffentliche Beschaffung. Authentifizierung mit einem API-Token (Mein Konto → API-Tokens) als `Authorization: Bearer …`. Geldbeträge und Mengen sind Zeichenketten mit Dezimalpunkt (`\"1234.56\"`), nie JSON-Zahlen. Fehler antworten mit einem festen `code` und einer deutschen `message`."
    ),
    servers((url = "/api/v1")),
    security(("bearer" = [])),
    paths(
        super::me,
        super::list_organisations,
        super::get_organisation,
        super::create_organisation,
        super::update_organisation,
        super::organisation_status,
        super::list_users,
        super::get_user,
        super::create_user,
        super::update_user,
        super::user_active,
        super::openapi_json,
        demand::list,
        demand::create,
        demand::show,
        demand::update,
        demand::add_position,
        demand::open,
        demand::close,
        demand::my_demand,
        demand::put_demand,
        demand::demand_template,
        demand::put_demand_csv,
        demand::aggregation,
        demand::aggregation_csv,
        tender::list,
        tender::create,
        tender::show,
        tender::update,
        tender::publish,
        tender::add_document,
        tender::download_document,
        tender::remove_document,
        tender::questions,
        tender::ask,
        tender::answer,
        tender::own_bid,
        tender::submit_bid,
        tender::submit_price_sheet,
        tender::withdraw_bid,
        tender::price_sheet,
        tender::extend,
        tender::start_opening,
        tender::confirm_opening,
        tender::opened_bids,
        tender::opened_bids_csv,
        tender::opening_record,
        award::evaluation,
        award::price_comparison,
        award::price_comparison_csv,
        award::exclude,
        award::score,
        award::request_explanation,
        award::decide_low,
        award::decide_tie,
        award::award_lot,
        award::record_delivery,
        award::conclude,
        award::contract,
        award::contract_document,
        award::cancel,
        award::procurement_record,
        review::list_complaints,
        review::file_complaint,
        review::answer_complaint,
        review::list_reviews,
        review::record_review,
        review::record_step,
        calloff::register,
        calloff::positions,
        calloff::place,
        calloff::list,
        calloff::show,
        calloff::document,
        calloff::confirm,
        calloff::reject,
        calloff::deliver,
        calloff::cancel,
        savings::dashboard,
        ocds::index,
        ocds::package,
    ),
    components(schemas(Error), responses(Error)),
    modifiers(&Conventions),
)]
pub struct ApiDoc;

/// What every operation shares, added once here instead of on each handler: the bearer scheme,
/// and the error answers (every operation can be refused; those with a body also for its size
/// and type).
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("API-Token aus „Mein Konto → API-Tokens“"))
                    .build(),
            ),
        );
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                add_errors(op);
            }
        }
    }
}

fn add_errors(op: &mut Operation) {
    let mut codes = vec!["400", "401", "403", "404", "409", "422"];
    if op.request_body.is_some() {
        codes.extend(["413", "415"]);
    }
    for code in codes {
        op.responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| RefOr::<Response>::Ref(utoipa::openapi::Ref::from_response_name("Error")));
    }
}

/// The document as served: `utoipa`'s output with timestamps, id-keyed maps, integer ranges
/// and defaults described as the API writes and reads them, and German descriptions. The API's
/// timestamps are UTC without an offset (`2026-12-07T09:30:00`, chrono's `NaiveDateTime`), which
/// `format: date-time` (RFC 3339, offset required) would misdescribe.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
    as_written(&mut doc);
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        german_descriptions(schemas);
    }
    doc
}

/// German descriptions of the types and fields whose doc comments (English, for developers) or
/// missing comments would otherwise be what API users read: `Schema` or `Schema.field`. A test
/// checks that every entry still names a field.
pub const GERMAN: &[(&str, &str)] = &[
    ("Aggregation", "Bündelung einer Bedarfsabfrage: je Position Summen und Referenzpreise, die Aufschlüsselung nach Mitgliedern, der Rücklauf und die Schwellenwertprüfung"),
    ("Aggregation.positions", "Je Position ein Paar aus der Position und ihrer Bündelung"),
    ("Aggregation.breakdown", "Je Position (id) die Zeilen der Mitglieder"),
    ("Aggregation.invited", "Eingeladene Mitglieder"),
    ("Aggregation.answered", "Mitglieder, die Bedarf gemeldet haben"),
    ("Aggregation.not_answered", "Mitglieder ohne Antwort"),
    ("Aggregation.estimated_total", "Geschätzter Auftragswert, EUR netto"),
    ("Aggregation.eu_threshold", "EU-Schwellenwert, EUR netto"),
    ("Aggregation.eu_procedure_required", "Ob der geschätzte Wert ein EU-weites Verfahren verlangt"),
    ("AwardDetail", "Eine Zuschlagsentscheidung mit der Wartefrist jedes informierten Bieters und dem ersten Tag, an dem der Vertrag geschlossen werden kann"),
    ("Award.informed_at", "Zeitpunkt der Zuschlagsentscheidung, UTC; die Wartefristen laufen ab der Absendung jeder Information (standstill)"),
    ("Award.standstill_last_day", "Letzter Tag einer ab der Zuschlagsentscheidung gezählten Wartefrist: frühestes mögliches Ende, auch wenn kein anderer Bieter zu informieren ist"),
    ("Standstill", "Die Wartefrist nach § 134 GWB über alle zu informierenden Bieter"),
    ("NoticeStandstill", "Die Information eines nicht berücksichtigten Bieters und die Wartefrist, die sie in Gang setzte"),
    ("NoticeMail", "Eine E-Mail mit der Information an einen Benutzer des Bieters"),
    ("Delivery", "Eine von der Vergabestelle eingetragene Absendung auf anderem Weg: E-Mail außerhalb der Plattform, Fax, Post oder Bote"),
    ("DeliveryInput", "Absendung der Information auf anderem Weg"),
    ("Complaint", "Eine Rüge (§ 160 Abs. 3 GWB), wie gespeichert"),
    ("ComplaintAnswerInput", "Die Antwort der Vergabestelle auf eine Rüge"),
    ("ComplaintInput", "Eine Rüge zu einer Ausschreibung oder einem ihrer Lose"),
    ("ComplaintView", "Eine Rüge mit Nummer, Bieter und Stand in Worten"),
    ("ReviewApplication", "Ein Nachprüfungsantrag, wie gespeichert"),
    ("ReviewApplicationInput", "Ein von der Vergabekammer mitgeteilter Nachprüfungsantrag"),
    ("ReviewStepInput", "Ein Schritt des Nachprüfungsverfahrens nach der Mitteilung"),
    ("ReviewView", "Ein Nachprüfungsantrag mit der Sperre des Zuschlags, wie sie jetzt steht"),
    ("DeadlineExtension", "Eine Verlängerung der Angebotsfrist mit alter und neuer Frist, Grund und Begründung"),
    ("ExtensionInput", "Verlängerung der laufenden Angebotsfrist"),
    ("Extended", "Die verlängerte Angebotsfrist mit allen Verlängerungen"),
    ("DayPeriod", "Eine in Tagen ab einem Ereignis gezählte Frist mit jedem Rechenschritt"),
    ("DayPeriod.event", "Das Ereignis, ab dem die Frist läuft (z. B. Absendung der Information), UTC"),
    ("DayPeriod.days", "Länge in Kalendertagen"),
    ("DayPeriod.first_day", "Erster gezählter Tag: der Tag nach dem Ereignis (Berliner Zeit)"),
    ("DayPeriod.counted_last_day", "Letzter Tag nach bloßem Zählen"),
    ("DayPeriod.last_day", "Letzter Tag nach Verschiebung über Wochenenden und Feiertage (sonst derselbe)"),
    ("DayPeriod.ends_at", "Fristende: 24:00 Uhr Berliner Zeit des letzten Tages, UTC"),
    ("BidderStandstill", "Stand der Wartefrist eines Bieters: running (läuft oder ist abgelaufen, mit Berechnung), waiting (E-Mail wartet), failed (E-Mail fehlgeschlagen), no_recipient (niemand, an den gesendet werden kann)"),
    ("BCriterion.weight", "Relatives Gewicht (> 0, höchstens 2 Nachkommastellen)"),
    ("BCriterionInput", "Ein B-Kriterium mit Bezeichnung und Gewicht"),
    ("Bid", "Ein Angebot mit Inhalt, die Preise nach Positionsnummer"),
    ("BidVersion", "Eine Fassung des eigenen Angebots, ohne Inhalt"),
    ("Calloff.total", "EUR netto"),
    ("Calloff.document_sha256", "SHA-256 des gespeicherten Bestelldokuments"),
    ("CalloffView", "Ein Abruf mit seinem Zustand in Worten"),
    ("CalloffDetail", "Ein Abruf mit seinen Zeilen"),
    ("CalloffInput", "Ein Abruf: Positionen der Rahmenvereinbarung nach Nummer mit Mengen"),
    ("CalloffLine", "Eine Zeile eines Abrufs mit der bestellten Vertragsposition"),
    ("CalloffLine.unit_price", "Vertragspreis, EUR netto"),
    ("CalloffLine.line_total", "Menge × Vertragspreis, kaufmännisch auf Cent"),
    ("Contract", "Eine Rahmenvereinbarung ohne Dokument: Angaben, Positionen mit Preisen und Höchstmengen, abrufberechtigte Mitglieder"),
    ("ContractRow.max_value", "Höchstwert, EUR netto"),
    ("ContractRow.called_value", "Abgerufener Wert, EUR netto"),
    ("ContractRow.document_sha256", "SHA-256 des gespeicherten Vertragsdokuments"),
    ("ContractRow.alert_utilisation_at", "Wann die 80-%-Warnung versandt wurde"),
    ("ContractRow.alert_expiry_at", "Wann die Warnung 90 Tage vor Laufzeitende versandt wurde"),
    ("CriterionScore", "Die Bewertung eines B-Kriteriums; score und reason sind null, solange nicht bewertet"),
    ("DemandCallFields", "Die Angaben einer Bedarfsabfrage; die Frist als Zeitpunkt mit Zeitzone"),
    ("DemandCallInput", "Eine neue Bedarfsabfrage: Angaben und Positionen"),
    ("DemandEntry", "Eine Bedarfszeile des eigenen Mitglieds"),
    ("DemandLineInput", "Eine Bedarfszeile: Menge > 0 (höchstens 3 Nachkommastellen), Referenzpreis ≥ 0 (höchstens 4)"),
    ("EvaluatedBid", "Ein Angebot auf ein Los, wie die Wertung es sieht"),
    ("EvaluatedBid.total", "Summe des Loses, EUR netto"),
    ("EvaluationInput", "Die Wertung, wie sie veröffentlicht wird; Dezimalzahlen als Zeichenketten, Codes für Methode, Preisformel und Entscheidungsregel"),
    ("EvaluationSpec", "Die veröffentlichte Wertung"),
    ("EvaluationSpec.abnormally_low_next_percent", "§ 60 VgV: so viel Prozent unter dem nächstgünstigeren gültigen Angebot gilt ein Angebot als ungewöhnlich niedrig"),
    ("EvaluationSpec.abnormally_low_estimate_percent", "§ 60 VgV: so viel Prozent unter der Kostenschätzung gilt ein Angebot als ungewöhnlich niedrig"),
    ("EvaluationSpec.band_percent", "Erweiterte Richtwertmethode: Schwankungsbereich um das beste Z in Prozent"),
    ("EvaluationSpec.max_points", "Punkte für den besten Preis (gewichtete Methode)"),
    ("EvaluationSpec.price_weight", "Nur gewichtete Methode: Gewichte in Prozent, zusammen 100"),
    ("EvaluationSpec.score_places", "Nachkommastellen, auf die die Wertungszahl einmal gerundet wird"),
    ("Figure", "Eine Zeile einer Sicht: Mitglied, Rahmenvereinbarung, Los, CPV-Abteilung, Jahr oder Herkunft des Referenzpreises"),
    ("Figure.key", "Schlüssel der Gruppe"),
    ("Figure.volume", "Abrufvolumen (Σ Zeilensummen bestellter, bestätigter und gelieferter Abrufe), EUR netto"),
    ("Figure.realised", "Realisierte Einsparung: Σ (Referenzpreis − Vertragspreis) × Menge je Abrufzeile, kaufmännisch auf Cent, EUR netto"),
    ("Figure.contracted", "Vertragliche Einsparung auf die gemeldeten Bedarfsmengen der abrufberechtigten Mitglieder, EUR netto"),
    ("Figure.realised_percent", "Realisierte Einsparung in Prozent des Volumens zu Referenzpreisen"),
    ("LotEvaluation", "Alles, was für ein Los entschieden und berechnet ist"),
    ("LotEvaluation.ranking", "Die wertbaren Angebote in Rangfolge"),
    ("LotEvaluation.blockers", "Warum der Zuschlag noch nicht möglich ist (leer, wenn er es ist)"),
    ("LotEvaluation.proposed_bid_id", "Das Angebot, auf das der Zuschlag erteilt werden kann"),
    ("LotTotal.total", "Σ geschätzte Menge × Einzelpreis, je Zeile kaufmännisch auf Cent gerundet"),
    ("LowFlag", "Ungewöhnlich niedriges Angebot (§ 60 VgV)"),
    ("LowFlag.below_next_percent", "Prozent unter dem nächstgünstigeren gültigen Angebot, wenn mindestens die veröffentlichte Grenze"),
    ("LowFlag.below_estimate_percent", "Prozent unter der Kostenschätzung, wenn mindestens die veröffentlichte Grenze"),
    ("MemberLine", "Die Zeile eines Mitglieds in der Aufschlüsselung"),
    ("OcdsIndexEntry", "Ein veröffentlichtes Release-Paket"),
    ("OcdsReleasePackage", "Ein OCDS-1.1-Release-Paket nach release-package-schema.json (https://standard.open-contracting.org/1.1/en/schema/release_package/); die Releases folgen dem Release-Schema"),
    ("OrgInput", "Stammdaten einer Organisation; Mitglieder brauchen member_kind, Lieferanten vat_id und contact_email"),
    ("Organisation.created_at", "UTC, ISO 8601 ohne Zeitzone"),
    ("Placed", "Der angenommene Abruf"),
    ("Placed.number", "Abrufnummer (AB-…)"),
    ("Placed.total", "Σ Menge × Vertragspreis, je Zeile kaufmännisch auf Cent gerundet, EUR netto"),
    ("PositionInput", "Eine Position aus dem Katalog (catalogue_item_id) oder neu (description, unit, cpv_code), mit Schätzpreis"),
    ("PriceComparison", "Der Preisspiegel eines Loses: Positionen × Bieter, Zeilensummen auf die geschätzten Mengen"),
    ("PublicQuestion", "Eine Bieterfrage, wie alle sie sehen: nie, wer fragte"),
    ("PublicQuestion.mine", "Nur in der Sicht des fragenden Lieferanten wahr"),
    ("PublicQuestion.number", "Nummer in der Reihenfolge des Eingangs, für alle gleich"),
    ("Receipt.submitted_at", "Serverzeit, UTC"),
    ("Receipt.receipt_sha256", "SHA-256 des kanonischen Angebotsinhalts"),
    ("RegisterEntry", "Eine Rahmenvereinbarung, wie das Vertragsregister sie zeigt"),
    ("RegisterEntry.remaining_value", "Restwert = Höchstwert − abgerufener Wert, EUR netto"),
    ("RegisterEntry.utilisation_percent", "Ausschöpfung des Höchstwerts in Prozent"),
    ("RegisterEntry.active", "Heute innerhalb der Laufzeit"),
    ("RegisterEntry.exhausted", "Höchstwert erreicht (EuGH C-23/20): keine Abrufe mehr"),
    ("RegisterPosition", "Eine Vertragsposition mit dem, was von ihr übrig ist"),
    ("RegisterPosition.unit_price", "Vertragspreis, EUR netto"),
    ("RegisterPosition.remaining", "Noch abrufbare Menge"),
    ("Scored", "Ein wertbares Angebot in der Rangfolge"),
    ("Scored.price_points", "Gewichtete Methode: Preispunkte, exakt"),
    ("Scored.quality_points", "Gewichtete Methode: Qualitätspunkte, exakt"),
    ("Scored.performance", "UfAB: Leistungspunkte L = Σ Gewicht × Punktzahl, exakt"),
    ("Scored.score", "Wertungszahl, einmal auf die veröffentlichten Stellen gerundet: Summe, Punkte oder Z"),
    ("Scored.in_band", "Erweiterte Richtwertmethode: im Schwankungsbereich"),
    ("Scored.rank", "Rang (1, 1, 3 …)"),
    ("Scored.tied", "Teilt den Rang mit einem anderen Angebot; auf Rang 1 braucht es einen Losentscheid"),
    ("SheetBidder", "Die Spalte eines Bieters im Preisspiegel"),
    ("SheetBidder.deviation_from_lowest", "(Summe − niedrigste Summe) / niedrigste Summe in Prozent, 2 Stellen"),
    ("SheetBidder.deviation_from_estimate", "(Summe − Schätzung) / Schätzung in Prozent, 2 Stellen"),
    ("Tender.buffer_percent", "Puffer auf die geschätzte Menge in Prozent"),
    ("Tender.estimated_value", "Geschätzter Auftragswert (Höchstmengen × Schätzpreise), EUR netto"),
    ("Tender.threshold", "EU-Schwellenwert am Tag der Veröffentlichung (im Entwurf: am Tag der Anlage), EUR netto"),
    ("TenderDetail", "Eine Ausschreibung mit Losen, Positionen, Unterlagen, Fragen und abrufberechtigten Mitgliedern"),
    ("TenderInput", "Eine Ausschreibung: die Angebotsfrist als Zeitpunkt mit Zeitzone, die Laufzeit in Monaten, Dezimalzahlen als Zeichenketten"),
    ("TenderPosition.estimate_quantity", "Gebündelter Bedarf"),
    ("TenderPosition.max_quantity", "Höchstmenge = Schätzung × (1 + Puffer)"),
    ("TenderView", "Eine Ausschreibung mit ihrem Zustand"),
    ("Totals.process", "Prozesseinsparung, nur wenn BUENDEL_PROCESS_COST gesetzt ist und für die ganze Genossenschaft"),
    ("UserInput", "Ein Benutzerkonto; beim Ändern ist das Passwort entbehrlich"),
    ("UserInput.password", "Mindestens 10 Zeichen"),
    ("Utilisation", "Die Ausschöpfung einer Rahmenvereinbarung mit ihren Hinweisen"),
    ("Utilisation.near_exhaustion", "Mindestens 80 % des Höchstwerts abgerufen"),
    ("Utilisation.near_expiry", "Endet in höchstens 90 Tagen"),
    ("Utilisation.process_saving", "(abrufberechtigte Mitglieder − 1) × BUENDEL_PROCESS_COST; nur für die Genossenschaft und nur, wenn eingerichtet"),
    ("Utilisation.warning", "Hinweise in Worten (nahezu ausgeschöpft, läuft aus, abgelaufen); leer ohne"),
];

fn german_descriptions(schemas: &mut Value) {
    for (key, text) in GERMAN {
        let target = match key.split_once('.') {
            Some((schema, field)) => field_schema(schemas, schema, field),
            None => schemas.get_mut(*key),
        };
        if let Some(Value::Object(target)) = target {
            // An optional field is `oneOf: [{$ref, description}, {type: null}]`: the doc comment
            // sits in the branch.
            for branch in target
                .get_mut("oneOf")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(branch) = branch.as_object_mut() {
                    branch.remove("description");
                }
            }
            target.insert("description".into(), (*text).into());
        }
    }
}

/// The schema of `field` in component `schema`, also where the component is an `allOf` of a
/// flattened type and its own fields.
pub fn field_schema<'a>(schemas: &'a mut Value, schema: &str, field: &str) -> Option<&'a mut Value> {
    let component = schemas.get_mut(schema)?;
    if component.pointer(&format!("/properties/{field}")).is_some() {
        return component.pointer_mut(&format!("/properties/{field}"));
    }
    let parts = component.get_mut("allOf")?.as_array_mut()?;
    parts
        .iter_mut()
        .find_map(|part| part.get_mut("properties").and_then(|p| p.get_mut(field)))
}

/// A file as it is, for uploads and downloads.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .content_media_type("application/octet-stream")
            .description(Some("Die Datei, wie sie ist"))
            .into()
    }
}

impl ToSchema for Binary {
    fn name() -> std::borrow::Cow<'static, str> {
        "Datei".into()
    }
}

const NAIVE_TIMESTAMP_PATTERN: &str = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$";

fn as_written(node: &mut Value) {
    match node {
        Value::Object(map) => {
            // A map keyed by ids (`BTreeMap<i64, _>`) has string keys in JSON; `utoipa` writes
            // `propertyNames: {type: integer}`, which no JSON key can match.
            if let Some(names) = map.get_mut("propertyNames") {
                if names.get("type").and_then(Value::as_str) == Some("integer") {
                    *names = serde_json::json!({ "type": "string", "pattern": "^-?[0-9]+$" });
                }
            }
            if map.get("format").and_then(Value::as_str) == Some("date-time") {
                map.remove("format");
                map.insert("pattern".into(), NAIVE_TIMESTAMP_PATTERN.into());
                map.entry("description")
                    .or_insert_with(|| "Zeitpunkt in UTC, ISO 8601 ohne Zeitzone".into());
            }
            // A body read with `#[serde(default)]` gets `Default::default()` written as every
            // field's default (`""`, `null`): not a value the API would take in its place, since
            // the service then refuses the field as missing (and `""` breaks a `minLength`).
            if ["type", "$ref", "oneOf", "allOf"].iter().any(|k| map.contains_key(*k)) {
                map.remove("default");
            }
            // An integer's format is a range serde enforces; JSON Schema does not read formats
            // as ranges, so the bounds are written out.
            let range = match map.get("format").and_then(Value::as_str) {
                Some("int32") => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
                Some("int64") => Some((i64::MIN, i64::MAX)),
                _ => None,
            };
            if let Some((min, max)) = range {
                map.entry("minimum").or_insert(min.into());
                map.entry("maximum").or_insert(max.into());
            }
            map.values_mut().for_each(as_written);
        }
        Value::Array(items) => items.iter_mut().for_each(as_written),
        _ => {}
    }
}

/// A string field that takes one of `codes` (fields read as text and checked by their service).
pub fn string_enum(codes: &[&str], description: &str) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(codes.iter().copied()))
        .description(Some(description))
        .build()
}

/// Like `string_enum`, and `null` for not given.
pub fn nullable_string_enum(codes: &[&str], description: &str) -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    let values = codes.iter().map(|c| Value::from(*c)).chain([Value::Null]);
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// An instant the API takes with its offset (RFC 3339), e.g. a deadline; answers write UTC
/// without one.
pub fn instant() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(
            r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
        ))
        .description(Some(
            "Zeitpunkt mit Zeitzone (RFC 3339), z. B. 2026-12-31T12:00:00+01:00",
        ))
        .build()
}
