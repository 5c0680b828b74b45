//! The OpenAPI 3 document of `/api/v1`. A test compares its paths with the mounted routes, so a
//! route cannot exist without being described here.

use serde_json::{json, Value};

fn error_responses() -> Value {
    json!({
        "400": { "$ref": "#/components/responses/Error" },
        "401": { "$ref": "#/components/responses/Error" },
        "403": { "$ref": "#/components/responses/Error" },
        "404": { "$ref": "#/components/responses/Error" },
        "409": { "$ref": "#/components/responses/Error" },
        "422": { "$ref": "#/components/responses/Error" }
    })
}

fn ok(schema: Value, description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn op(summary: &str, success_code: &str, success: Value, extra: Value) -> Value {
    let mut responses = error_responses();
    responses[success_code] = success;
    let mut o = json!({ "summary": summary, "responses": responses });
    if let (Some(o), Value::Object(extra)) = (o.as_object_mut(), extra) {
        o.extend(extra);
    }
    o
}

fn int_path(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "integer", "format": "int64" } })
}

fn id_param() -> Value {
    json!([int_path("id")])
}

fn body(schema: &str) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn list_of(name: &str) -> Value {
    json!({ "type": "array", "items": schema_ref(name) })
}

/// The tender and bid operations, one entry per path (one `json!` each: the macro recurses per key).
fn tender_paths() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/tenders",
            json!({
                "get": op("Ausschreibungen (Genossenschaft: alle; sonst die veröffentlichten)", "200", ok(list_of("Tender"), "Liste"), json!({})),
                "post": op("Ausschreibung als Entwurf aus einer abgeschlossenen Bedarfsabfrage anlegen (Vergabestelle)", "201", ok(schema_ref("TenderDetail"), "Angelegt"), json!({ "requestBody": body("TenderInput") }))
            }),
        ),
        (
            "/tenders/{id}",
            json!({
                "get": op("Eine Ausschreibung mit Losen, Positionen, Unterlagen, Fragen und abrufberechtigten Mitgliedern; die Genossenschaft sieht die Zahl der Angebote, nie ihren Inhalt", "200", ok(schema_ref("TenderDetail"), "Ausschreibung"), json!({ "parameters": id_param() })),
                "put": op("Entwurf ersetzen: Angaben, Lose, Positionen (Vergabestelle)", "200", ok(schema_ref("TenderDetail"), "Geändert"), json!({ "parameters": id_param(), "requestBody": body("TenderInput") }))
            }),
        ),
        (
            "/tenders/{id}/publish",
            json!({
                "post": op("Veröffentlichen: Frist erneut geprüft, abrufberechtigte Mitglieder festgeschrieben, Lieferanten benachrichtigt (Vergabestelle)", "200", ok(json!({ "type": "object", "properties": { "status": { "type": "string" }, "vendors_mailed": { "type": "integer" } } }), "Veröffentlicht"), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/tenders/{id}/documents",
            json!({
                "post": op("Unterlage zum Entwurf hochladen: Inhalt roh im Body, Dateiname in `name`; PDF, DOCX, XLSX, ODT, ODS, ZIP, TXT, CSV; höchstens 20 MB (Vergabestelle)", "201", ok(schema_ref("TenderDocument"), "Hochgeladen"), json!({
                    "parameters": [
                        int_path("id"),
                        { "name": "name", "in": "query", "required": true, "schema": { "type": "string" }, "description": "Dateiname mit Endung" }
                    ],
                    "requestBody": { "required": true, "content": { "*/*": { "schema": { "type": "string", "format": "binary" } } } }
                }))
            }),
        ),
        (
            "/tenders/{id}/documents/{doc}",
            json!({
                "get": op("Unterlage herunterladen", "200", json!({ "description": "Die Datei im gespeicherten Format", "content": { "*/*": {} } }), json!({ "parameters": [int_path("id"), int_path("doc")] })),
                "delete": op("Unterlage aus dem Entwurf entfernen (Vergabestelle)", "200", ok(json!({ "type": "object", "properties": { "removed": { "type": "integer", "format": "int64" } } }), "Entfernt"), json!({ "parameters": [int_path("id"), int_path("doc")] }))
            }),
        ),
        (
            "/tenders/{id}/questions",
            json!({
                "get": op("Bieterfragen: beantwortete für alle, eigene offene für den Lieferanten, alle für die Genossenschaft; nie wer fragte", "200", ok(list_of("Question"), "Fragen"), json!({ "parameters": id_param() })),
                "post": op("Frage stellen (Lieferant, bis zur Angebotsfrist)", "201", ok(schema_ref("Question"), "Gestellt"), json!({
                    "parameters": id_param(),
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["question"], "properties": { "question": { "type": "string", "minLength": 5, "maxLength": 4000 } } } } } }
                }))
            }),
        ),
        (
            "/tenders/{id}/questions/{question}/answer",
            json!({
                "post": op("Frage beantworten; die Antwort geht ohne Fragesteller an alle Lieferanten (Vergabestelle)", "200", ok(json!({ "allOf": [schema_ref("Question"), { "type": "object", "properties": { "vendors_mailed": { "type": "integer" } } }] }), "Beantwortet"), json!({
                    "parameters": [int_path("id"), int_path("question")],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["answer"], "properties": { "answer": { "type": "string", "maxLength": 8000 } } } } } }
                }))
            }),
        ),
        (
            "/tenders/{id}/bid",
            json!({
                "get": op("Das eigene Angebot mit Inhalt und alle eigenen Fassungen (Lieferant)", "200", ok(schema_ref("OwnBid"), "Eigenes Angebot"), json!({ "parameters": id_param() })),
                "put": op("Angebot abgeben oder ersetzen, bis zur Angebotsfrist (Lieferant); ersetzt die vorige Fassung", "201", ok(schema_ref("Receipt"), "Eingangsbestätigung"), json!({ "parameters": id_param(), "requestBody": body("BidInput") })),
                "delete": op("Angebot zurückziehen, bis zur Angebotsfrist (Lieferant)", "200", ok(json!({ "type": "object", "properties": { "status": { "type": "string" } } }), "Zurückgezogen"), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/tenders/{id}/bid/price-sheet",
            json!({
                "put": op("Angebot als CSV-Preisblatt abgeben (Spalten Los, Pos., Einzelpreis (EUR netto)); alles oder nichts, jede fehlerhafte Zeile wird gemeldet (Lieferant)", "201", ok(schema_ref("Receipt"), "Eingangsbestätigung"), json!({
                    "parameters": [
                        int_path("id"),
                        { "name": "a", "in": "query", "required": false, "style": "form", "explode": true, "schema": { "type": "array", "items": { "type": "string" } }, "description": "Nummer jeder bestätigten Mindestanforderung (A-Kriterium), z. B. a=1&a=2" },
                        { "name": "b", "in": "query", "required": false, "style": "form", "explode": true, "schema": { "type": "array", "items": { "type": "string" } }, "description": "Antworten auf die B-Kriterien in ihrer Reihenfolge" }
                    ],
                    "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } }
                }))
            }),
        ),
        (
            "/tenders/{id}/price-sheet.csv",
            json!({
                "get": op("CSV-Preisblatt mit allen Positionen; für Lieferanten mit den eigenen aktuellen Preisen", "200", json!({ "description": "CSV (;, Dezimalkomma, UTF-8 mit BOM)", "content": { "text/csv": {} } }), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/tenders/{id}/opening",
            json!({
                "post": op("Öffnung nach Ablauf der Angebotsfrist beginnen (Vergabestelle); eine zweite Person muss bestätigen", "200", ok(json!({ "type": "object", "properties": { "status": { "type": "string" } } }), "Begonnen"), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/tenders/{id}/opening/confirm",
            json!({
                "post": op("Öffnung als zweite, andere Person der Vergabestelle bestätigen (§ 55 VgV); erstellt die Niederschrift", "200", ok(json!({ "type": "object", "properties": { "status": { "type": "string" }, "opening_record_sha256": { "type": "string" } } }), "Geöffnet"), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/tenders/{id}/bids",
            json!({
                "get": op("Die gültigen Angebote mit Inhalt: erst nach der Öffnung, nur Vergabestelle und Vorstand", "200", ok(list_of("Bid"), "Angebote"), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/tenders/{id}/bids.csv",
            json!({
                "get": op("Die geöffneten Angebote als CSV, eine Zeile je Angebot und Position (Vergabestelle, Vorstand)", "200", json!({ "description": "CSV", "content": { "text/csv": {} } }), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/tenders/{id}/opening-record",
            json!({
                "get": op("Die gespeicherte Niederschrift der Öffnung (HTML) mit SHA-256 (Vergabestelle, Vorstand)", "200", ok(schema_ref("OpeningRecord"), "Niederschrift"), json!({ "parameters": id_param() }))
            }),
        ),
    ]
}

fn tender_schemas() -> Vec<(&'static str, Value)> {
    let nullable_string = json!({ "type": "string", "nullable": true });
    vec![
        (
            "Tender",
            json!({
                "type": "object",
                "properties": {
                    "id": { "type": "integer", "format": "int64" },
                    "demand_call_id": { "type": "integer", "format": "int64" },
                    "title": { "type": "string" },
                    "description": { "type": "string" },
                    "procedure": { "type": "string", "enum": ["eu_open", "national"] },
                    "procedure_label": { "type": "string" },
                    "buffer_percent": { "type": "string", "description": "Puffer auf die geschätzte Menge in Prozent" },
                    "estimated_value": { "type": "string", "description": "Geschätzter Auftragswert (Höchstmengen × Schätzpreise), EUR netto" },
                    "threshold": { "type": "string", "description": "EU-Schwellenwert am Tag der Anlage, EUR netto" },
                    "bid_deadline": { "type": "string", "description": "UTC" },
                    "urgency_reason": nullable_string,
                    "term_months": { "type": "integer" },
                    "term_justification": nullable_string,
                    "evaluation": { "$ref": "#/components/schemas/EvaluationSpec" },
                    "status": { "type": "string", "enum": ["draft", "published", "opening", "opened"] },
                    "state_label": { "type": "string" },
                    "accepts_bids": { "type": "boolean" },
                    "deadline_passed": { "type": "boolean" },
                    "created_by": { "type": "integer", "format": "int64" },
                    "created_at": { "type": "string" },
                    "published_by": { "type": "integer", "format": "int64", "nullable": true },
                    "published_at": { "type": "string", "nullable": true },
                    "opening_started_by": { "type": "integer", "format": "int64", "nullable": true },
                    "opening_started_at": { "type": "string", "nullable": true },
                    "opened_by": { "type": "integer", "format": "int64", "nullable": true },
                    "opened_at": { "type": "string", "nullable": true },
                    "opening_record_sha256": nullable_string,
                    "cancelled_at": { "type": "string", "nullable": true },
                    "cancelled_by": { "type": "integer", "format": "int64", "nullable": true },
                    "cancel_reason": nullable_string
                }
            }),
        ),
        (
            "TenderDetail",
            json!({
                "allOf": [
                    { "$ref": "#/components/schemas/Tender" },
                    { "type": "object", "properties": {
                        "lots": { "type": "array", "items": { "$ref": "#/components/schemas/Lot" } },
                        "positions": { "type": "array", "items": { "$ref": "#/components/schemas/TenderPosition" } },
                        "documents": { "type": "array", "items": { "$ref": "#/components/schemas/TenderDocument" } },
                        "questions": { "type": "array", "items": { "$ref": "#/components/schemas/Question" } },
                        "entitled_members": { "type": "array", "items": { "type": "object", "properties": { "id": { "type": "integer", "format": "int64" }, "name": { "type": "string" } } } },
                        "bid_count": { "type": "integer", "description": "Nur für die Genossenschaft: Zahl der gültigen Angebote, nie ihr Inhalt" },
                        "warnings": { "type": "array", "items": { "type": "string" }, "description": "Nur beim Anlegen und Ändern: Hinweise, die nicht blockieren" }
                    } }
                ]
            }),
        ),
        (
            "EvaluationSpec",
            json!({
                "type": "object",
                "description": "Die veröffentlichte Wertung",
                "properties": {
                    "method": { "type": "string", "enum": ["lowest_price", "weighted", "ufab_simple", "ufab_extended"] },
                    "a_criteria": { "type": "array", "items": { "type": "string" } },
                    "b_criteria": { "type": "array", "items": { "type": "object", "properties": { "name": { "type": "string" }, "weight": { "type": "string" } } } },
                    "price_weight": { "type": "string" },
                    "quality_weight": { "type": "string" },
                    "price_formula": { "type": "string", "enum": ["quotient", "linear"] },
                    "max_points": { "type": "string" },
                    "score_places": { "type": "integer" },
                    "abnormally_low_next_percent": { "type": "string" },
                    "abnormally_low_estimate_percent": { "type": "string" },
                    "band_percent": nullable_string,
                    "decision": { "type": "string", "nullable": true, "enum": ["lowest_price", "highest_performance", null] }
                }
            }),
        ),
        (
            "Lot",
            json!({
                "type": "object",
                "properties": {
                    "id": { "type": "integer", "format": "int64" },
                    "tender_id": { "type": "integer", "format": "int64" },
                    "lot_no": { "type": "integer" },
                    "title": { "type": "string" },
                    "cancelled_at": { "type": "string", "nullable": true },
                    "cancelled_by": { "type": "integer", "format": "int64", "nullable": true },
                    "cancel_reason": { "type": "string", "nullable": true },
                    "tie_winner_bid_id": { "type": "integer", "format": "int64", "nullable": true },
                    "tie_note": { "type": "string", "nullable": true },
                    "tie_decided_by": { "type": "integer", "format": "int64", "nullable": true },
                    "tie_decided_at": { "type": "string", "nullable": true }
                }
            }),
        ),
        (
            "TenderPosition",
            json!({
                "type": "object",
                "properties": {
                    "id": { "type": "integer", "format": "int64" },
                    "tender_id": { "type": "integer", "format": "int64" },
                    "lot_id": { "type": "integer", "format": "int64" },
                    "position_no": { "type": "integer" },
                    "demand_position_id": { "type": "integer", "format": "int64", "nullable": true },
                    "description": { "type": "string" },
                    "unit": { "type": "string" },
                    "cpv_code": { "type": "string" },
                    "estimate_quantity": { "type": "string", "description": "Gebündelter Bedarf" },
                    "max_quantity": { "type": "string", "description": "Höchstmenge = Schätzung × (1 + Puffer)" },
                    "estimate_price": { "type": "string", "nullable": true }
                }
            }),
        ),
        (
            "TenderDocument",
            json!({
                "type": "object",
                "properties": {
                    "id": { "type": "integer", "format": "int64" },
                    "tender_id": { "type": "integer", "format": "int64" },
                    "file_name": { "type": "string" },
                    "content_type": { "type": "string" },
                    "size_bytes": { "type": "integer", "format": "int64" },
                    "sha256": { "type": "string" },
                    "uploaded_at": { "type": "string" }
                }
            }),
        ),
        (
            "Question",
            json!({
                "type": "object",
                "properties": {
                    "id": { "type": "integer", "format": "int64" },
                    "number": { "type": "integer", "description": "Nummer in der Reihenfolge des Eingangs, für alle gleich" },
                    "question": { "type": "string" },
                    "asked_at": { "type": "string" },
                    "answer": nullable_string,
                    "answered_at": { "type": "string", "nullable": true },
                    "mine": { "type": "boolean", "description": "Nur in der Sicht des fragenden Lieferanten wahr" }
                }
            }),
        ),
        (
            "TenderInput",
            json!({
                "type": "object",
                "required": ["demand_call_id", "title", "bid_deadline", "term_months", "evaluation", "lots"],
                "properties": {
                    "demand_call_id": { "type": "integer", "format": "int64", "description": "Abgeschlossene Bedarfsabfrage; beim Ändern entbehrlich und nicht änderbar" },
                    "title": { "type": "string", "minLength": 3, "maxLength": 200 },
                    "description": { "type": "string" },
                    "procedure": { "type": "string", "enum": ["", "eu_open", "national"], "description": "Leer: was der geschätzte Auftragswert verlangt" },
                    "buffer_percent": { "type": "string", "description": "0 bis 100, höchstens 2 Nachkommastellen; Standard 20" },
                    "bid_deadline": { "type": "string", "format": "date-time" },
                    "urgency_reason": { "type": "string", "description": "Begründete Dringlichkeit: 15 statt 30 Tage im offenen Verfahren" },
                    "term_months": { "type": "integer", "minimum": 1 },
                    "term_justification": { "type": "string", "description": "Pflicht bei mehr als 48 Monaten" },
                    "evaluation": { "$ref": "#/components/schemas/EvaluationInput" },
                    "lots": { "type": "array", "items": { "type": "string" }, "description": "Losbezeichnungen, Los 1 zuerst" },
                    "assignment": { "type": "object", "additionalProperties": { "type": "integer" }, "description": "Position der Bedarfsabfrage (id) → Losnummer; bei einem Los entbehrlich" }
                }
            }),
        ),
        (
            "EvaluationInput",
            json!({
                "type": "object",
                "description": "Alle Werte als Zeichenketten, wie im Formular",
                "properties": {
                    "method": { "type": "string", "enum": ["lowest_price", "weighted", "ufab_simple", "ufab_extended"] },
                    "a_criteria": { "type": "string", "description": "Eine Mindestanforderung je Zeile" },
                    "b_criteria": { "type": "string", "description": "Ein Kriterium je Zeile: Bezeichnung; Gewicht" },
                    "price_weight": { "type": "string" },
                    "quality_weight": { "type": "string" },
                    "price_formula": { "type": "string", "enum": ["quotient", "linear"] },
                    "max_points": { "type": "string" },
                    "score_places": { "type": "string" },
                    "abnormally_low_next_percent": { "type": "string" },
                    "abnormally_low_estimate_percent": { "type": "string" },
                    "band_percent": { "type": "string" },
                    "decision": { "type": "string", "enum": ["lowest_price", "highest_performance"] }
                }
            }),
        ),
        (
            "BidInput",
            json!({
                "type": "object",
                "properties": {
                    "prices": { "type": "array", "items": {
                        "type": "object",
                        "required": ["position_no", "unit_price"],
                        "properties": {
                            "position_no": { "type": "integer" },
                            "unit_price": { "type": "string", "description": "EUR netto, >= 0, höchstens 4 Nachkommastellen; Dezimalpunkt (12.50) oder deutsche Schreibweise (1.234,50); leer = kein Preis" }
                        }
                    } },
                    "lots": { "type": "array", "items": { "type": "integer" }, "description": "Losnummern, auf die geboten wird (ein Los mit einem Preis zählt ohnehin); jede Position eines gebotenen Loses braucht einen Preis" },
                    "a_confirmed": { "type": "array", "items": { "type": "boolean" }, "description": "Bestätigung jeder Mindestanforderung in ihrer Reihenfolge" },
                    "b_texts": { "type": "array", "items": { "type": "string" }, "description": "Antworten auf die B-Kriterien in ihrer Reihenfolge" }
                }
            }),
        ),
        (
            "LotTotal",
            json!({
                "type": "object",
                "properties": {
                    "lot_no": { "type": "integer" },
                    "total": { "type": "string", "description": "Σ geschätzte Menge × Einzelpreis, je Zeile kaufmännisch auf Cent gerundet" }
                }
            }),
        ),
        (
            "Receipt",
            json!({
                "type": "object",
                "properties": {
                    "bid_id": { "type": "integer", "format": "int64" },
                    "version": { "type": "integer" },
                    "submitted_at": { "type": "string", "description": "Serverzeit, UTC" },
                    "receipt_sha256": { "type": "string", "description": "SHA-256 des kanonischen Angebotsinhalts" },
                    "lot_totals": { "type": "array", "items": { "$ref": "#/components/schemas/LotTotal" } }
                }
            }),
        ),
        (
            "Bid",
            json!({
                "type": "object",
                "properties": {
                    "bid_id": { "type": "integer", "format": "int64" },
                    "vendor_id": { "type": "integer", "format": "int64" },
                    "vendor": { "type": "string" },
                    "version": { "type": "integer" },
                    "status": { "type": "string" },
                    "submitted_at": { "type": "string" },
                    "receipt_sha256": { "type": "string" },
                    "lot_totals": { "type": "array", "items": { "$ref": "#/components/schemas/LotTotal" } },
                    "prices": { "type": "array", "items": { "type": "object", "properties": { "position_no": { "type": "integer" }, "unit_price": { "type": "string" } } } },
                    "a_confirmed": { "type": "array", "items": { "type": "boolean" } },
                    "b_texts": { "type": "array", "items": { "type": "string" } }
                }
            }),
        ),
        (
            "BidVersion",
            json!({
                "type": "object",
                "properties": {
                    "bid_id": { "type": "integer", "format": "int64" },
                    "version": { "type": "integer" },
                    "status": { "type": "string", "enum": ["submitted", "superseded", "withdrawn"] },
                    "submitted_at": { "type": "string" },
                    "withdrawn_at": { "type": "string", "nullable": true },
                    "receipt_sha256": { "type": "string" }
                }
            }),
        ),
        (
            "OwnBid",
            json!({
                "type": "object",
                "properties": {
                    "current": { "allOf": [{ "$ref": "#/components/schemas/Bid" }], "nullable": true },
                    "history": { "type": "array", "items": { "$ref": "#/components/schemas/BidVersion" } }
                }
            }),
        ),
        (
            "OpeningRecord",
            json!({
                "type": "object",
                "properties": {
                    "tender_id": { "type": "integer", "format": "int64" },
                    "opened_at": { "type": "string" },
                    "sha256": { "type": "string", "description": "SHA-256 des HTML-Textes" },
                    "html": { "type": "string" }
                }
            }),
        ),
    ]
}

fn lot_params() -> Value {
    json!([int_path("id"), int_path("lot")])
}

/// The evaluation and award operations, one entry per path.
fn award_paths() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/tenders/{id}/evaluation",
            json!({
                "get": op("Wertung aller Lose nach der Öffnung: Angebote mit Ausschlüssen und Bewertungen, Rangfolge nach der veröffentlichten Methode, ungewöhnlich niedrige Angebote, Aufklärungen, Hinderungsgründe, vorgeschlagenes Angebot, Zuschlag (Vergabestelle, Vorstand)", "200", ok(schema_ref("Evaluation"), "Wertung"), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/tenders/{id}/lots/{lot}/price-comparison",
            json!({
                "get": op("Preisspiegel eines Loses: Positionen × Bieter mit Einzelpreisen und Zeilensummen auf die geschätzten Mengen, Mittelwert, Minimum, Abweichungen (Vergabestelle, Vorstand)", "200", ok(schema_ref("PriceComparison"), "Preisspiegel"), json!({ "parameters": lot_params() }))
            }),
        ),
        (
            "/tenders/{id}/lots/{lot}/price-comparison.csv",
            json!({
                "get": op("Preisspiegel eines Loses als CSV (Vergabestelle, Vorstand)", "200", json!({ "description": "CSV (;, Dezimalkomma, UTF-8 mit BOM)", "content": { "text/csv": {} } }), json!({ "parameters": lot_params() }))
            }),
        ),
        (
            "/tenders/{id}/lots/{lot}/exclusions",
            json!({
                "post": op("Angebot für dieses Los mit Grund ausschließen (Vergabestelle); bis zum Zuschlag", "200", ok(schema_ref("LotEvaluation"), "Neue Wertung des Loses"), json!({ "parameters": lot_params(), "requestBody": body("ExclusionInput") }))
            }),
        ),
        (
            "/tenders/{id}/bids/{bid}/scores",
            json!({
                "put": op("B-Kriterien eines Angebots bewerten, je Kriterium in ihrer Reihenfolge Punktzahl 0 bis 10 (höchstens 2 Nachkommastellen) mit Begründung; ersetzt die vorige Bewertung (Vergabestelle)", "200", ok(schema_ref("Evaluation"), "Neue Wertung aller Lose"), json!({ "parameters": [int_path("id"), int_path("bid")], "requestBody": body("ScoresInput") }))
            }),
        ),
        (
            "/tenders/{id}/lots/{lot}/explanations",
            json!({
                "post": op("Aufklärung eines ungewöhnlich niedrigen Angebots verlangen (§ 60 Abs. 1 VgV); der Bieter erhält eine E-Mail (Vergabestelle)", "200", ok(schema_ref("LotEvaluation"), "Neue Wertung des Loses"), json!({ "parameters": lot_params(), "requestBody": body("BidChoice") }))
            }),
        ),
        (
            "/tenders/{id}/lots/{lot}/explanations/{bid}/decision",
            json!({
                "post": op("Nach der Aufklärung entscheiden: Angebot annehmen oder ausschließen, mit Begründung (Vergabestelle)", "200", ok(schema_ref("LotEvaluation"), "Neue Wertung des Loses"), json!({ "parameters": [int_path("id"), int_path("lot"), int_path("bid")], "requestBody": body("LowDecisionInput") }))
            }),
        ),
        (
            "/tenders/{id}/lots/{lot}/tie-decision",
            json!({
                "post": op("Losentscheid bei Gleichstand auf Rang 1 festhalten: das gezogene Angebot und wie gezogen wurde (Vergabestelle)", "200", ok(schema_ref("LotEvaluation"), "Neue Wertung des Loses"), json!({ "parameters": lot_params(), "requestBody": body("TieDecisionInput") }))
            }),
        ),
        (
            "/tenders/{id}/lots/{lot}/award",
            json!({
                "post": op("Zuschlag auf das nach der veröffentlichten Methode beste Angebot beschließen: die übrigen Bieter erhalten die Information nach § 134 GWB, die Wartefrist beginnt (Vergabestelle)", "201", ok(schema_ref("Award"), "Zuschlag beschlossen"), json!({ "parameters": lot_params(), "requestBody": body("AwardInput") }))
            }),
        ),
        (
            "/tenders/{id}/awards/{award}/conclude",
            json!({
                "post": op("Nach Ablauf der Wartefrist den Vertrag schließen: Rahmenvereinbarung mit den Preisen des Zuschlags, Laufzeit, Höchstmengen und -wert, abrufberechtigten Mitgliedern und gespeichertem Vertragsdokument (Vergabestelle); vorher 409", "201", ok(schema_ref("Contract"), "Rahmenvereinbarung geschlossen"), json!({ "parameters": [int_path("id"), int_path("award")] }))
            }),
        ),
        (
            "/tenders/{id}/cancel",
            json!({
                "post": op("Ausschreibung oder ein Los mit Begründung aufheben; die Bieter werden benachrichtigt; nicht nach Vertragsschluss (Vergabestelle)", "200", ok(json!({ "type": "object", "properties": {
                    "status": { "type": "string", "enum": ["cancelled"] },
                    "lot_id": { "type": "integer", "format": "int64", "nullable": true },
                    "tender_cancelled": { "type": "boolean", "description": "Ob damit die ganze Ausschreibung aufgehoben ist" },
                    "bidders_mailed": { "type": "integer", "description": "Benachrichtigte Ansprechpersonen der Bieter" }
                } }), "Aufgehoben"), json!({ "parameters": id_param(), "requestBody": body("CancelInput") }))
            }),
        ),
        (
            "/tenders/{id}/procurement-record",
            json!({
                "get": op("Der Vergabevermerk, jetzt aus den Ereignissen und Entscheidungen der Ausschreibung erstellt (HTML) mit SHA-256 (Vergabestelle, Vorstand)", "200", ok(schema_ref("ProcurementRecord"), "Vergabevermerk"), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/contracts/{id}",
            json!({
                "get": op("Eine Rahmenvereinbarung ohne Dokument, mit Positionen und abrufberechtigten Mitgliedern (Genossenschaft, der Auftragnehmer, Einkauf abrufberechtigter Mitglieder)", "200", ok(schema_ref("Contract"), "Rahmenvereinbarung"), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/contracts/{id}/document",
            json!({
                "get": op("Das beim Vertragsschluss gespeicherte Vertragsdokument (HTML); sein SHA-256 steht in der Rahmenvereinbarung", "200", json!({ "description": "HTML", "content": { "text/html": { "schema": { "type": "string" } } } }), json!({ "parameters": id_param() }))
            }),
        ),
    ]
}

fn award_schemas() -> Vec<(&'static str, Value)> {
    let nullable_string = json!({ "type": "string", "nullable": true });
    let nullable_id = json!({ "type": "integer", "format": "int64", "nullable": true });
    let id = json!({ "type": "integer", "format": "int64" });
    vec![
        (
            "Evaluation",
            json!({
                "type": "object",
                "properties": {
                    "tender_id": id,
                    "title": { "type": "string" },
                    "status": { "type": "string" },
                    "cancelled_at": nullable_string,
                    "evaluation": { "$ref": "#/components/schemas/EvaluationSpec" },
                    "lots": { "type": "array", "items": { "$ref": "#/components/schemas/LotEvaluation" } }
                }
            }),
        ),
        (
            "LotEvaluation",
            json!({
                "type": "object",
                "properties": {
                    "lot": { "$ref": "#/components/schemas/Lot" },
                    "estimate_total": { "type": "string", "nullable": true, "description": "Σ geschätzte Menge × Schätzpreis, wenn jede Position einen Schätzpreis hat" },
                    "bids": { "type": "array", "items": { "$ref": "#/components/schemas/EvaluatedBid" } },
                    "ranking": { "type": "array", "items": { "$ref": "#/components/schemas/Ranking" }, "description": "Die wertbaren Angebote in Rangfolge" },
                    "low_flags": { "type": "array", "items": { "$ref": "#/components/schemas/LowFlag" } },
                    "reviews": { "type": "array", "items": { "$ref": "#/components/schemas/LowReview" } },
                    "award": { "allOf": [{ "$ref": "#/components/schemas/Award" }], "nullable": true },
                    "blockers": { "type": "array", "items": { "type": "string" }, "description": "Warum der Zuschlag noch nicht möglich ist (leer, wenn er es ist)" },
                    "proposed_bid_id": { "type": "integer", "format": "int64", "nullable": true, "description": "Das Angebot, auf das der Zuschlag erteilt werden kann" }
                }
            }),
        ),
        (
            "EvaluatedBid",
            json!({
                "type": "object",
                "properties": {
                    "bid_id": id,
                    "vendor_id": id,
                    "vendor": { "type": "string" },
                    "submitted_at": { "type": "string" },
                    "total": { "type": "string", "description": "Summe des Loses, EUR netto" },
                    "a_confirmed": { "type": "array", "items": { "type": "boolean" } },
                    "excluded_kind": { "type": "string", "nullable": true, "enum": ["incomplete", "a_criterion", "abnormally_low", "other", null] },
                    "excluded_label": nullable_string,
                    "excluded_reason": nullable_string,
                    "scores": { "type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "criterion_no": { "type": "integer" },
                            "criterion": { "type": "string" },
                            "score": { "type": "string", "nullable": true, "description": "0 bis 10; null, solange nicht bewertet" },
                            "reason": nullable_string
                        }
                    } }
                }
            }),
        ),
        (
            "Ranking",
            json!({
                "type": "object",
                "properties": {
                    "bid_id": id,
                    "total": { "type": "string" },
                    "price_points": { "type": "string", "nullable": true, "description": "Gewichtete Methode: Preispunkte, exakt" },
                    "quality_points": { "type": "string", "nullable": true, "description": "Gewichtete Methode: Qualitätspunkte, exakt" },
                    "performance": { "type": "string", "nullable": true, "description": "UfAB: Leistungspunkte L, exakt" },
                    "score": { "type": "string", "description": "Wertungszahl, einmal auf die veröffentlichten Stellen gerundet: Summe, Punkte oder Z" },
                    "in_band": { "type": "boolean", "nullable": true, "description": "Erweiterte Richtwertmethode: im Schwankungsbereich" },
                    "rank": { "type": "integer", "description": "1, 1, 3 …" },
                    "tied": { "type": "boolean" }
                }
            }),
        ),
        (
            "LowFlag",
            json!({
                "type": "object",
                "description": "Ungewöhnlich niedriges Angebot (§ 60 VgV)",
                "properties": {
                    "bid_id": id,
                    "below_next_percent": { "type": "string", "nullable": true },
                    "below_estimate_percent": { "type": "string", "nullable": true }
                }
            }),
        ),
        (
            "LowReview",
            json!({
                "type": "object",
                "properties": {
                    "bid_id": id,
                    "requested_at": { "type": "string" },
                    "decision": { "type": "string", "nullable": true, "enum": ["accepted", "excluded", null] },
                    "reason": nullable_string
                }
            }),
        ),
        (
            "Award",
            json!({
                "type": "object",
                "properties": {
                    "id": id,
                    "tender_id": id,
                    "lot_id": id,
                    "bid_id": id,
                    "vendor_id": id,
                    "reason": { "type": "string" },
                    "status": { "type": "string", "enum": ["informed", "concluded"] },
                    "decided_by": id,
                    "informed_at": { "type": "string", "description": "Versand der Information nach § 134 GWB, UTC" },
                    "standstill_last_day": { "type": "string", "format": "date", "description": "Letzter Tag der Wartefrist" },
                    "conclusion_possible_from": { "type": "string", "format": "date", "description": "Erster Tag, an dem der Vertrag geschlossen werden kann" },
                    "concluded_by": nullable_id,
                    "concluded_at": nullable_string
                }
            }),
        ),
        (
            "PriceComparison",
            json!({
                "type": "object",
                "properties": {
                    "tender_id": id,
                    "lot": { "$ref": "#/components/schemas/Lot" },
                    "estimate_total": nullable_string,
                    "bidders": { "type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "bid_id": id,
                            "vendor": { "type": "string" },
                            "total": { "type": "string" },
                            "excluded": { "type": "boolean" },
                            "deviation_from_lowest": { "type": "string", "nullable": true, "description": "In Prozent, 2 Stellen" },
                            "deviation_from_estimate": { "type": "string", "nullable": true, "description": "In Prozent, 2 Stellen" }
                        }
                    } },
                    "rows": { "type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "position": { "$ref": "#/components/schemas/TenderPosition" },
                            "cells": { "type": "array", "description": "Je Bieter in der Reihenfolge von bidders", "items": {
                                "type": "object",
                                "properties": {
                                    "bid_id": id,
                                    "unit_price": nullable_string,
                                    "line_total": { "type": "string", "nullable": true, "description": "Geschätzte Menge × Einzelpreis, kaufmännisch auf Cent" }
                                }
                            } },
                            "mean_price": { "type": "string", "nullable": true, "description": "Über die wertbaren Angebote, 4 Stellen" },
                            "min_price": nullable_string
                        }
                    } }
                }
            }),
        ),
        (
            "Contract",
            json!({
                "type": "object",
                "properties": {
                    "id": id,
                    "number": { "type": "string" },
                    "tender_id": id,
                    "lot_id": id,
                    "award_id": id,
                    "vendor_id": id,
                    "vendor": { "type": "string" },
                    "term_start": { "type": "string", "format": "date" },
                    "term_end": { "type": "string", "format": "date" },
                    "max_value": { "type": "string", "description": "Höchstwert, EUR netto" },
                    "document_sha256": { "type": "string", "description": "SHA-256 des gespeicherten Vertragsdokuments" },
                    "created_at": { "type": "string" },
                    "called_value": { "type": "string", "description": "Abgerufener Wert, EUR netto" },
                    "alert_utilisation_at": { "type": ["string", "null"], "description": "Wann die 80-%-Warnung versandt wurde" },
                    "alert_expiry_at": { "type": ["string", "null"], "description": "Wann die Warnung 90 Tage vor Laufzeitende versandt wurde" },
                    "positions": { "type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "position_id": id,
                            "position_no": { "type": "integer" },
                            "description": { "type": "string" },
                            "unit": { "type": "string" },
                            "cpv_code": { "type": "string" },
                            "unit_price": { "type": "string" },
                            "max_quantity": { "type": "string" },
                            "max_value": { "type": "string" }
                        }
                    } },
                    "members": { "type": "array", "items": { "type": "object", "properties": { "id": id, "name": { "type": "string" } } } }
                }
            }),
        ),
        (
            "ProcurementRecord",
            json!({
                "type": "object",
                "properties": {
                    "tender_id": id,
                    "sha256": { "type": "string", "description": "SHA-256 des HTML-Textes" },
                    "html": { "type": "string" }
                }
            }),
        ),
        (
            "ExclusionInput",
            json!({
                "type": "object",
                "required": ["bid_id", "kind", "reason"],
                "properties": {
                    "bid_id": id,
                    "kind": { "type": "string", "enum": ["incomplete", "a_criterion", "abnormally_low", "other"] },
                    "reason": { "type": "string", "minLength": 3, "maxLength": 4000 }
                }
            }),
        ),
        (
            "ScoresInput",
            json!({
                "type": "object",
                "required": ["scores"],
                "properties": {
                    "scores": { "type": "array", "description": "Je B-Kriterium in seiner Reihenfolge", "items": {
                        "type": "object",
                        "required": ["score", "reason"],
                        "properties": {
                            "score": { "type": "string", "description": "0 bis 10, höchstens 2 Nachkommastellen; Dezimalpunkt (7.5) oder Dezimalkomma (7,5)" },
                            "reason": { "type": "string", "minLength": 3 }
                        }
                    } }
                }
            }),
        ),
        (
            "BidChoice",
            json!({
                "type": "object",
                "required": ["bid_id"],
                "properties": { "bid_id": id }
            }),
        ),
        (
            "LowDecisionInput",
            json!({
                "type": "object",
                "required": ["accept", "reason"],
                "properties": {
                    "accept": { "type": "boolean", "description": "true: Preis aufgeklärt, Angebot bleibt; false: Angebot wird ausgeschlossen" },
                    "reason": { "type": "string", "minLength": 3, "maxLength": 4000 }
                }
            }),
        ),
        (
            "TieDecisionInput",
            json!({
                "type": "object",
                "required": ["bid_id", "note"],
                "properties": {
                    "bid_id": { "type": "integer", "format": "int64", "description": "Das gezogene Angebot" },
                    "note": { "type": "string", "minLength": 3, "maxLength": 4000, "description": "Wie und von wem gezogen wurde" }
                }
            }),
        ),
        (
            "AwardInput",
            json!({
                "type": "object",
                "required": ["bid_id", "reason"],
                "properties": {
                    "bid_id": id,
                    "reason": { "type": "string", "minLength": 3, "maxLength": 4000, "description": "Geht mit der Information nach § 134 GWB an die übrigen Bieter" }
                }
            }),
        ),
        (
            "CancelInput",
            json!({
                "type": "object",
                "required": ["reason"],
                "properties": {
                    "lot_id": { "type": "integer", "format": "int64", "description": "Nur dieses Los; ohne: die ganze Ausschreibung" },
                    "reason": { "type": "string", "minLength": 3, "maxLength": 4000 }
                }
            }),
        ),
    ]
}

fn calloff_step(summary: &str, request: Option<&str>) -> Value {
    let mut extra = json!({ "parameters": id_param() });
    if let Some(schema) = request {
        extra["requestBody"] = body(schema);
    }
    op(
        summary,
        "200",
        ok(schema_ref("CalloffDetail"), "Der geänderte Abruf"),
        extra,
    )
}

/// The contract register and call-off operations, one entry per path.
fn calloff_paths() -> Vec<(&'static str, Value)> {
    let date_query = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string", "format": "date" }, "description": description });
    vec![
        (
            "/contracts",
            json!({
                "get": op("Vertragsregister: die sichtbaren Rahmenvereinbarungen mit Restwert, Ausschöpfung und Zustand (Genossenschaft: alle; Lieferant: die eigenen; Einkauf: die des abrufberechtigten Mitglieds)", "200", ok(list_of("RegisterEntry"), "Register"), json!({}))
            }),
        ),
        (
            "/contracts/{id}/positions",
            json!({
                "get": op("Die Positionen einer Rahmenvereinbarung mit Vertragspreis, Höchstmenge, abgerufener und verbleibender Menge", "200", ok(list_of("RegisterPosition"), "Positionen"), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/contracts/{id}/calloffs",
            json!({
                "post": op("Verbindlich abrufen (Einkauf eines abrufberechtigten Mitglieds): Positionen nach Nummer mit Mengen zu Vertragspreisen; abgelehnt mit Grund, wenn der Vertrag nicht gilt (409) oder eine Höchstmenge, der Höchstwert oder das Kontingent überschritten würde (422, nichts wird bestellt); der Lieferant erhält die Bestellung per E-Mail", "201", ok(schema_ref("CalloffPlaced"), "Bestellt"), json!({ "parameters": id_param(), "requestBody": body("CalloffInput") }))
            }),
        ),
        (
            "/calloffs",
            json!({
                "get": op("Die sichtbaren Abrufe, neueste zuerst, höchstens 500 (Genossenschaft: alle; Einkauf: die des eigenen Mitglieds; Lieferant: die an ihn gerichteten)", "200", ok(list_of("Calloff"), "Abrufe"), json!({
                    "parameters": [
                        { "name": "contract_id", "in": "query", "required": false, "schema": { "type": "integer", "format": "int64" }, "description": "Nur Abrufe dieser Rahmenvereinbarung" },
                        date_query("from", "Bestellt ab diesem Tag (JJJJ-MM-TT, deutsche Zeit, einschließlich)"),
                        date_query("to", "Bestellt bis zu diesem Tag (JJJJ-MM-TT, deutsche Zeit, einschließlich)")
                    ]
                }))
            }),
        ),
        (
            "/calloffs/{id}",
            json!({
                "get": op("Ein Abruf mit seinen Zeilen (das bestellende Mitglied, der Lieferant des Vertrags, die Genossenschaft)", "200", ok(schema_ref("CalloffDetail"), "Abruf"), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/calloffs/{id}/document",
            json!({
                "get": op("Das beim Abruf gespeicherte Bestelldokument (HTML); sein SHA-256 steht im Abruf", "200", json!({ "description": "HTML", "content": { "text/html": { "schema": { "type": "string" } } } }), json!({ "parameters": id_param() }))
            }),
        ),
        (
            "/calloffs/{id}/confirm",
            json!({ "post": calloff_step("Bestellten Abruf bestätigen (Lieferant des Vertrags); sonst 409", None) }),
        ),
        (
            "/calloffs/{id}/reject",
            json!({ "post": calloff_step("Bestellten Abruf mit Begründung ablehnen (Lieferant des Vertrags); die Menge wird wieder frei", Some("RejectInput")) }),
        ),
        (
            "/calloffs/{id}/deliver",
            json!({ "post": calloff_step("Bestätigten Abruf als geliefert melden (Einkauf des bestellenden Mitglieds)", None) }),
        ),
        (
            "/calloffs/{id}/cancel",
            json!({ "post": calloff_step("Abruf vor der Bestätigung stornieren (Einkauf des bestellenden Mitglieds); die Menge wird wieder frei; danach 409", None) }),
        ),
    ]
}

fn calloff_schemas() -> Vec<(&'static str, Value)> {
    let nullable_string = json!({ "type": "string", "nullable": true });
    let id = json!({ "type": "integer", "format": "int64" });
    vec![
        (
            "RegisterEntry",
            json!({
                "type": "object",
                "properties": {
                    "id": id,
                    "number": { "type": "string" },
                    "tender_id": id,
                    "lot_id": id,
                    "award_id": id,
                    "vendor_id": id,
                    "vendor": { "type": "string" },
                    "lot_title": { "type": "string" },
                    "term_start": { "type": "string", "format": "date" },
                    "term_end": { "type": "string", "format": "date" },
                    "max_value": { "type": "string", "description": "Höchstwert, EUR netto" },
                    "called_value": { "type": "string", "description": "Abgerufener Wert, EUR netto" },
                    "remaining_value": { "type": "string", "description": "Restwert = Höchstwert − abgerufener Wert, EUR netto" },
                    "utilisation_percent": { "type": "string", "description": "Ausschöpfung des Höchstwerts in Prozent" },
                    "active": { "type": "boolean", "description": "Heute innerhalb der Laufzeit" },
                    "exhausted": { "type": "boolean", "description": "Höchstwert erreicht (EuGH C-23/20): keine Abrufe mehr" },
                    "document_sha256": { "type": "string", "description": "SHA-256 des gespeicherten Vertragsdokuments" },
                    "created_at": { "type": "string" },
                    "alert_utilisation_at": { "type": "string", "nullable": true, "description": "Wann die 80-%-Warnung versandt wurde" },
                    "alert_expiry_at": { "type": "string", "nullable": true, "description": "Wann die Warnung 90 Tage vor Laufzeitende versandt wurde" }
                }
            }),
        ),
        (
            "RegisterPosition",
            json!({
                "type": "object",
                "properties": {
                    "position_id": id,
                    "position_no": { "type": "integer" },
                    "description": { "type": "string" },
                    "unit": { "type": "string" },
                    "unit_price": { "type": "string", "description": "Vertragspreis, EUR netto" },
                    "max_quantity": { "type": "string" },
                    "called_quantity": { "type": "string" },
                    "remaining": { "type": "string", "description": "Noch abrufbare Menge" }
                }
            }),
        ),
        (
            "CalloffInput",
            json!({
                "type": "object",
                "required": ["lines", "delivery_address", "cost_centre"],
                "properties": {
                    "lines": { "type": "array", "minItems": 1, "items": {
                        "type": "object",
                        "required": ["position_no", "quantity"],
                        "properties": {
                            "position_no": { "type": "integer", "description": "Positionsnummer der Rahmenvereinbarung" },
                            "quantity": { "type": "string", "description": "> 0, höchstens 3 Nachkommastellen; Dezimalpunkt (2.5) oder deutsche Schreibweise (2,5)" }
                        }
                    } },
                    "delivery_address": { "type": "string", "minLength": 5, "maxLength": 500 },
                    "cost_centre": { "type": "string", "minLength": 1, "maxLength": 50 },
                    "leitweg_id": { "type": "string", "nullable": true, "description": "Für die E-Rechnung, mit Prüfziffer" },
                    "note": { "type": "string", "nullable": true, "maxLength": 1000 }
                }
            }),
        ),
        (
            "CalloffPlaced",
            json!({
                "type": "object",
                "properties": {
                    "id": id,
                    "number": { "type": "string", "description": "Abrufnummer (AB-…)" },
                    "total": { "type": "string", "description": "Σ Menge × Vertragspreis, je Zeile kaufmännisch auf Cent gerundet, EUR netto" }
                }
            }),
        ),
        (
            "Calloff",
            json!({
                "type": "object",
                "properties": {
                    "id": id,
                    "number": { "type": "string" },
                    "contract_id": id,
                    "member_id": id,
                    "ordered_by": id,
                    "status": { "type": "string", "enum": ["placed", "confirmed", "rejected", "delivered", "cancelled"] },
                    "status_label": { "type": "string" },
                    "delivery_address": { "type": "string" },
                    "cost_centre": { "type": "string" },
                    "leitweg_id": nullable_string,
                    "note": { "type": "string" },
                    "total": { "type": "string", "description": "EUR netto" },
                    "created_at": { "type": "string", "description": "UTC" },
                    "confirmed_at": nullable_string,
                    "rejected_at": nullable_string,
                    "reject_reason": nullable_string,
                    "delivered_at": nullable_string,
                    "cancelled_at": nullable_string,
                    "document_sha256": { "type": "string", "description": "SHA-256 des gespeicherten Bestelldokuments" }
                }
            }),
        ),
        (
            "CalloffDetail",
            json!({
                "allOf": [
                    { "$ref": "#/components/schemas/Calloff" },
                    { "type": "object", "properties": {
                        "lines": { "type": "array", "items": { "$ref": "#/components/schemas/CalloffLine" } }
                    } }
                ]
            }),
        ),
        (
            "CalloffLine",
            json!({
                "type": "object",
                "properties": {
                    "position_id": id,
                    "position_no": { "type": "integer" },
                    "description": { "type": "string" },
                    "unit": { "type": "string" },
                    "quantity": { "type": "string" },
                    "unit_price": { "type": "string", "description": "Vertragspreis, EUR netto" },
                    "line_total": { "type": "string", "description": "Menge × Vertragspreis, kaufmännisch auf Cent" }
                }
            }),
        ),
        (
            "RejectInput",
            json!({
                "type": "object",
                "required": ["reason"],
                "properties": { "reason": { "type": "string", "minLength": 3 } }
            }),
        ),
    ]
}

/// The board's figures and the open data (OCDS), one entry per path.
fn savings_paths() -> Vec<(&'static str, Value)> {
    let open = |summary: &str, schema: Value, extra: Value| {
        let mut o = op(summary, "200", ok(schema, "OK"), extra);
        o["security"] = json!([]);
        o
    };
    vec![
        (
            "/savings",
            json!({
                "get": op("Auswertung: Abrufvolumen, realisierte und vertragliche Einsparungen nach Mitglied, Rahmenvereinbarung, Los, CPV-Abteilung, Jahr und Herkunft des Referenzpreises, Ausschöpfung und Laufzeit der Verträge (Genossenschaft: alle oder ein Mitglied; Einkauf: nur das eigene Mitglied, ein anderes ist 403; Lieferanten 403)", "200", ok(schema_ref("SavingsDashboard"), "Auswertung"), json!({
                    "parameters": [
                        { "name": "year", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 2000, "maximum": 2100 }, "description": "Nur dieses Jahr (deutsche Zeit): Abrufe nach Bestelltag, vertragliche Einsparungen nach Vertragsschluss; sonst 400" },
                        { "name": "member_id", "in": "query", "required": false, "schema": { "type": "integer", "format": "int64" }, "description": "Nur dieses Mitglied (Genossenschaft); für den Einkauf nur das eigene" }
                    ]
                }))
            }),
        ),
        (
            "/ocds/tenders",
            json!({
                "get": open("Offene Daten: die OCDS-Release-Pakete aller veröffentlichten Ausschreibungen (ohne Anmeldung)", json!({ "type": "array", "items": schema_ref("OcdsIndexEntry") }), json!({}))
            }),
        ),
        (
            "/ocds/tenders/{id}",
            json!({
                "get": open("Offene Daten: OCDS-1.1-Release-Paket einer veröffentlichten Ausschreibung (ohne Anmeldung; Entwürfe 404): Beteiligte, Ausschreibung mit Losen und Positionen, Angebote (Statistik und Einzelheiten) erst nach dem Zuschlag des Loses, Zuschläge, Rahmenvereinbarungen, jeder Abruf als eigener Vorgang mit relatedProcesses (scheme ocid, relationship framework). Beträge sind exakte JSON-Zahlen", schema_ref("OcdsReleasePackage"), json!({ "parameters": id_param() }))
            }),
        ),
    ]
}

fn savings_schemas() -> Vec<(&'static str, Value)> {
    let amount = |d: &str| json!({ "type": "string", "description": format!("{d}, EUR netto, Dezimalpunkt") });
    let id = json!({ "type": "integer", "format": "int64" });
    vec![
        (
            "SavingsFigure",
            json!({
                "type": "object",
                "properties": {
                    "key": { "type": "string", "description": "Schlüssel der Gruppe (Mitglied, Vertrag, Los, CPV-Abteilung, Jahr, Quelle)" },
                    "label": { "type": "string" },
                    "volume": amount("Abrufvolumen (Σ Zeilensummen bestellter, bestätigter und gelieferter Abrufe)"),
                    "realised": amount("Realisierte Einsparung: Σ (Referenzpreis − Vertragspreis) × Menge je Abrufzeile, kaufmännisch auf Cent"),
                    "contracted": amount("Vertragliche Einsparung auf die gemeldeten Bedarfsmengen der abrufberechtigten Mitglieder"),
                    "realised_percent": { "type": "string", "nullable": true, "description": "Realisierte Einsparung in Prozent des Volumens zu Referenzpreisen" },
                    "lines": { "type": "integer", "format": "int64" }
                }
            }),
        ),
        (
            "SavingsUtilisation",
            json!({
                "type": "object",
                "properties": {
                    "contract_id": id,
                    "number": { "type": "string" },
                    "tender_title": { "type": "string" },
                    "lot_no": { "type": "integer" },
                    "lot_title": { "type": "string" },
                    "vendor": { "type": "string" },
                    "term_start": { "type": "string", "format": "date" },
                    "term_end": { "type": "string", "format": "date" },
                    "max_value": amount("Höchstwert"),
                    "called_value": amount("Abgerufen"),
                    "utilisation_percent": { "type": "string" },
                    "entitled_members": { "type": "integer", "format": "int64" },
                    "near_exhaustion": { "type": "boolean", "description": "Mindestens 80 % des Höchstwerts abgerufen" },
                    "near_expiry": { "type": "boolean", "description": "Endet in höchstens 90 Tagen" },
                    "expired": { "type": "boolean" },
                    "process_saving": { "type": "string", "nullable": true, "description": "(abrufberechtigte Mitglieder − 1) × BUENDEL_PROCESS_COST; nur für die Genossenschaft und nur, wenn eingerichtet" },
                    "warning": { "type": "string", "description": "Hinweise in Worten (nahezu ausgeschöpft, läuft aus, abgelaufen); leer ohne" }
                }
            }),
        ),
        (
            "SavingsDashboard",
            json!({
                "type": "object",
                "properties": {
                    "member_id": { "type": "integer", "format": "int64", "nullable": true },
                    "member_name": { "type": "string", "nullable": true },
                    "year": { "type": "integer", "nullable": true },
                    "years": { "type": "array", "items": { "type": "integer" } },
                    "totals": { "type": "object", "properties": {
                        "volume": amount("Abrufvolumen"),
                        "realised": amount("Realisierte Einsparung"),
                        "contracted": amount("Vertragliche Einsparung"),
                        "process": { "type": "string", "nullable": true, "description": "Prozesseinsparung, nur wenn BUENDEL_PROCESS_COST gesetzt ist und für die ganze Genossenschaft" },
                        "lines": { "type": "integer", "format": "int64" },
                        "lines_without_reference": { "type": "integer", "format": "int64" }
                    } },
                    "by_member": list_of("SavingsFigure"),
                    "by_contract": list_of("SavingsFigure"),
                    "by_lot": list_of("SavingsFigure"),
                    "by_cpv_division": list_of("SavingsFigure"),
                    "by_year": list_of("SavingsFigure"),
                    "by_source": list_of("SavingsFigure"),
                    "contracts": list_of("SavingsUtilisation")
                }
            }),
        ),
        (
            "OcdsIndexEntry",
            json!({
                "type": "object",
                "properties": {
                    "tender_id": id,
                    "ocid": { "type": "string" },
                    "title": { "type": "string" },
                    "package": { "type": "string", "format": "uri" }
                }
            }),
        ),
        (
            "OcdsReleasePackage",
            json!({
                "type": "object",
                "description": "Ein OCDS-1.1-Release-Paket nach dem EU-Profil (release-package-schema.json); die Releases folgen dem Release-Schema des Profils",
                "externalDocs": { "url": "https://standard.open-contracting.org/1.1/en/schema/release_package/" },
                "properties": {
                    "uri": { "type": "string", "format": "uri" },
                    "version": { "type": "string" },
                    "publishedDate": { "type": "string", "format": "date-time" },
                    "publisher": { "type": "object", "properties": { "name": { "type": "string" } } },
                    "license": { "type": "string", "format": "uri" },
                    "releases": { "type": "array", "items": { "type": "object", "description": "OCDS-Release" } }
                }
            }),
        ),
    ]
}

pub fn document() -> Value {
    let mut doc = base_document();
    for (path, item) in tender_paths()
        .into_iter()
        .chain(award_paths())
        .chain(calloff_paths())
        .chain(savings_paths())
    {
        doc["paths"][path] = item;
    }
    for (name, schema) in tender_schemas()
        .into_iter()
        .chain(award_schemas())
        .chain(calloff_schemas())
        .chain(savings_schemas())
    {
        doc["components"]["schemas"][name] = schema;
    }
    doc
}

fn base_document() -> Value {
    let nullable_string = json!({ "type": "string", "nullable": true });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "buendel API",
            "version": "1",
            "description": "Gemeinsame öffentliche Beschaffung. Authentifizierung mit einem API-Token (Mein Konto → API-Tokens) als `Authorization: Bearer …`. Geldbeträge und Mengen sind Zeichenketten mit Dezimalpunkt."
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "bearer": [] }],
        "paths": {
            "/me": { "get": op("Das eigene Konto", "200", ok(schema_ref("Me"), "Konto"), json!({})) },
            "/organisations": {
                "get": op("Organisationen auflisten (Administration)", "200", ok(list_of("Organisation"), "Liste"), json!({
                    "parameters": [{ "name": "org_type", "in": "query", "required": false, "schema": { "type": "string", "enum": ["cooperative", "member", "vendor"] } }]
                })),
                "post": op("Mitglied oder Lieferant anlegen (Administration)", "201", ok(schema_ref("Organisation"), "Angelegt"), json!({ "requestBody": body("OrganisationInput") }))
            },
            "/organisations/{id}": {
                "get": op("Eine Organisation (die eigene, oder jede für die Administration)", "200", ok(schema_ref("Organisation"), "Organisation"), json!({ "parameters": id_param() })),
                "put": op("Stammdaten ändern (Administration); die Art bleibt", "200", ok(schema_ref("Organisation"), "Geändert"), json!({ "parameters": id_param(), "requestBody": body("OrganisationInput") }))
            },
            "/organisations/{id}/status": {
                "post": op("Aktivieren/deaktivieren oder Lieferant freigeben/sperren (Administration)", "200", ok(schema_ref("Organisation"), "Geändert"), json!({
                    "parameters": id_param(),
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": { "active": { "type": "boolean" }, "vendor_status": { "type": "string", "enum": ["approved", "suspended"] } }
                    } } } }
                }))
            },
            "/users": {
                "get": op("Benutzer auflisten (Administration)", "200", ok(list_of("User"), "Liste"), json!({})),
                "post": op("Benutzer anlegen (Administration)", "201", ok(schema_ref("User"), "Angelegt"), json!({ "requestBody": body("UserInput") }))
            },
            "/users/{id}": {
                "get": op("Ein Benutzer (man selbst, oder jeder für die Administration)", "200", ok(schema_ref("User"), "Benutzer"), json!({ "parameters": id_param() })),
                "put": op("Benutzer ändern (Administration); beendet Sitzungen und widerruft API-Tokens", "200", ok(schema_ref("User"), "Geändert"), json!({ "parameters": id_param(), "requestBody": body("UserInput") }))
            },
            "/users/{id}/active": {
                "post": op("Konto aktivieren oder deaktivieren (Administration)", "200", ok(schema_ref("User"), "Geändert"), json!({
                    "parameters": id_param(),
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["active"], "properties": { "active": { "type": "boolean" } } } } } }
                }))
            },
            "/demand-calls": {
                "get": op("Bedarfsabfragen (Genossenschaft: alle; Einkauf: die eingeladenen)", "200", ok(list_of("DemandCall"), "Liste"), json!({})),
                "post": op("Bedarfsabfrage als Entwurf anlegen (Vergabestelle)", "201", ok(schema_ref("DemandCallDetail"), "Angelegt"), json!({ "requestBody": body("DemandCallInput") }))
            },
            "/demand-calls/{id}": {
                "get": op("Eine Bedarfsabfrage mit Positionen", "200", ok(schema_ref("DemandCallDetail"), "Bedarfsabfrage"), json!({ "parameters": id_param() })),
                "put": op("Angaben ändern (Vergabestelle; nach dem Öffnen nur bis zur Frist, Einladungen nur erweitern)", "200", ok(schema_ref("DemandCallDetail"), "Geändert"), json!({ "parameters": id_param(), "requestBody": body("DemandCallFields") }))
            },
            "/demand-calls/{id}/positions": {
                "post": op("Position hinzufügen (Vergabestelle)", "201", ok(schema_ref("DemandCallDetail"), "Hinzugefügt"), json!({ "parameters": id_param(), "requestBody": body("PositionInput") }))
            },
            "/demand-calls/{id}/open": {
                "post": op("Für die eingeladenen Mitglieder öffnen (Vergabestelle)", "200", ok(json!({ "type": "object" }), "Geöffnet"), json!({ "parameters": id_param() }))
            },
            "/demand-calls/{id}/close": {
                "post": op("Nach der Frist abschließen (Vergabestelle)", "200", ok(json!({ "type": "object" }), "Abgeschlossen"), json!({ "parameters": id_param() }))
            },
            "/demand-calls/{id}/demand": {
                "get": op("Der Bedarf des eigenen Mitglieds (Einkauf)", "200", ok(schema_ref("DemandLines"), "Zeilen"), json!({ "parameters": id_param() })),
                "put": op("Den Bedarf des eigenen Mitglieds ganz ersetzen (Einkauf, bis zur Frist)", "200", ok(json!({ "type": "object" }), "Gespeichert"), json!({ "parameters": id_param(), "requestBody": body("DemandLines") }))
            },
            "/demand-calls/{id}/demand.csv": {
                "get": op("CSV-Vorlage mit allen Positionen und dem eigenen Bedarf (Einkauf)", "200", json!({ "description": "CSV (;, Dezimalkomma, UTF-8 mit BOM)", "content": { "text/csv": {} } }), json!({ "parameters": id_param() })),
                "put": op("Bedarf als CSV hochladen: alles oder nichts, jede fehlerhafte Zeile wird gemeldet (Einkauf)", "200", ok(json!({ "type": "object" }), "Übernommen"), json!({ "parameters": id_param(), "requestBody": { "required": true, "content": { "text/csv": { "schema": { "type": "string" } } } } }))
            },
            "/demand-calls/{id}/aggregation": {
                "get": op("Bündelung je Position, Aufschlüsselung, Rücklauf, Schwellenwertprüfung (Genossenschaft)", "200", ok(json!({ "type": "object" }), "Auswertung"), json!({ "parameters": id_param() }))
            },
            "/demand-calls/{id}/aggregation.csv": {
                "get": op("Auswertung als CSV (Genossenschaft)", "200", json!({ "description": "CSV", "content": { "text/csv": {} } }), json!({ "parameters": id_param() }))
            },
            "/openapi.json": {
                "get": { "summary": "Dieses Dokument", "security": [], "responses": { "200": { "description": "OpenAPI 3" } } }
            }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "responses": {
                "Error": { "description": "Fehler", "content": { "application/json": { "schema": schema_ref("Error") } } }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message", "fields"],
                    "properties": {
                        "code": { "type": "string" },
                        "message": { "type": "string", "description": "Deutsche Meldung, was zu korrigieren ist" },
                        "fields": { "type": "object", "additionalProperties": { "type": "array", "items": { "type": "string" } } }
                    }
                },
                "Me": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "integer", "format": "int64" },
                        "email": { "type": "string" },
                        "name": { "type": "string" },
                        "role": { "type": "string", "enum": ["admin", "officer", "buyer", "vendor", "board"] },
                        "organisation_id": { "type": "integer", "format": "int64" },
                        "organisation_name": { "type": "string" },
                        "organisation_type": { "type": "string", "enum": ["cooperative", "member", "vendor"] }
                    }
                },
                "Organisation": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "integer", "format": "int64" },
                        "org_type": { "type": "string", "enum": ["cooperative", "member", "vendor"] },
                        "name": { "type": "string" },
                        "street": { "type": "string" },
                        "postal_code": { "type": "string" },
                        "city": { "type": "string" },
                        "member_kind": { "type": "string", "nullable": true, "enum": ["land", "kommune", "hochschule", "sonstige", null] },
                        "leitweg_id": nullable_string,
                        "vat_id": nullable_string,
                        "contact_email": nullable_string,
                        "vendor_status": { "type": "string", "nullable": true, "enum": ["pending", "approved", "suspended", null] },
                        "active": { "type": "boolean" },
                        "created_at": { "type": "string", "description": "UTC, ISO 8601 ohne Zeitzone" }
                    }
                },
                "OrganisationInput": {
                    "type": "object",
                    "required": ["org_type", "name", "street", "postal_code", "city"],
                    "properties": {
                        "org_type": { "type": "string", "enum": ["member", "vendor"] },
                        "name": { "type": "string" },
                        "street": { "type": "string" },
                        "postal_code": { "type": "string" },
                        "city": { "type": "string" },
                        "member_kind": { "type": "string", "enum": ["land", "kommune", "hochschule", "sonstige"], "description": "Pflicht für Mitglieder" },
                        "leitweg_id": { "type": "string", "description": "Optional für Mitglieder, mit Prüfziffer" },
                        "vat_id": { "type": "string", "description": "Pflicht für Lieferanten" },
                        "contact_email": { "type": "string", "description": "Pflicht für Lieferanten" }
                    }
                },
                "User": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "integer", "format": "int64" },
                        "organisation_id": { "type": "integer", "format": "int64" },
                        "email": { "type": "string" },
                        "name": { "type": "string" },
                        "role": { "type": "string", "enum": ["admin", "officer", "buyer", "vendor", "board"] },
                        "active": { "type": "boolean" },
                        "created_at": { "type": "string" },
                        "password_changed_at": { "type": "string" }
                    }
                },
                "DemandCall": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "integer", "format": "int64" },
                        "title": { "type": "string" },
                        "description": { "type": "string" },
                        "term_months": { "type": "integer" },
                        "deadline": { "type": "string", "description": "UTC" },
                        "status": { "type": "string", "enum": ["draft", "open", "closed"] },
                        "all_members": { "type": "boolean" },
                        "created_by": { "type": "integer", "format": "int64" },
                        "created_at": { "type": "string" },
                        "opened_at": { "type": "string", "nullable": true },
                        "closed_at": { "type": "string", "nullable": true }
                    }
                },
                "DemandCallDetail": {
                    "allOf": [
                        { "$ref": "#/components/schemas/DemandCall" },
                        { "type": "object", "properties": {
                            "state_label": { "type": "string" },
                            "accepts_demand": { "type": "boolean" },
                            "invited_members": { "type": "array", "items": { "type": "integer", "format": "int64" } },
                            "positions": { "type": "array", "items": { "$ref": "#/components/schemas/Position" } }
                        } }
                    ]
                },
                "Position": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "integer", "format": "int64" },
                        "call_id": { "type": "integer", "format": "int64" },
                        "position_no": { "type": "integer" },
                        "catalogue_item_id": { "type": "integer", "nullable": true },
                        "description": { "type": "string" },
                        "unit": { "type": "string" },
                        "cpv_code": { "type": "string" },
                        "estimate_price": { "type": "string", "nullable": true, "description": "EUR netto, höchstens 4 Nachkommastellen" }
                    }
                },
                "DemandCallFields": {
                    "type": "object",
                    "required": ["title", "term_months", "deadline"],
                    "properties": {
                        "title": { "type": "string" },
                        "description": { "type": "string" },
                        "term_months": { "type": "integer", "minimum": 1, "maximum": 120 },
                        "deadline": { "type": "string", "format": "date-time" },
                        "all_members": { "type": "boolean" },
                        "member_ids": { "type": "array", "items": { "type": "integer", "format": "int64" } }
                    }
                },
                "DemandCallInput": {
                    "allOf": [
                        { "$ref": "#/components/schemas/DemandCallFields" },
                        { "type": "object", "properties": { "positions": { "type": "array", "items": { "$ref": "#/components/schemas/PositionInput" } } } }
                    ]
                },
                "PositionInput": {
                    "type": "object",
                    "description": "Aus dem Katalog (catalogue_item_id) oder neu (description, unit, cpv_code)",
                    "properties": {
                        "catalogue_item_id": { "type": "integer", "format": "int64" },
                        "description": { "type": "string" },
                        "unit": { "type": "string" },
                        "cpv_code": { "type": "string", "pattern": "^[0-9]{8}-[0-9]$" },
                        "estimate_price": { "type": "string" }
                    }
                },
                "DemandLines": {
                    "type": "object",
                    "required": ["lines"],
                    "properties": {
                        "lines": { "type": "array", "items": {
                            "type": "object",
                            "required": ["position_id", "quantity"],
                            "properties": {
                                "position_id": { "type": "integer", "format": "int64" },
                                "quantity": { "type": "string", "description": "> 0, höchstens 3 Nachkommastellen" },
                                "reference_price": { "type": "string", "nullable": true, "description": ">= 0, höchstens 4 Nachkommastellen" }
                            }
                        } }
                    }
                },
                "UserInput": {
                    "type": "object",
                    "required": ["email", "name", "role", "organisation_id", "password"],
                    "properties": {
                        "email": { "type": "string" },
                        "name": { "type": "string" },
                        "role": { "type": "string", "enum": ["admin", "officer", "buyer", "vendor", "board"] },
                        "organisation_id": { "type": "integer", "format": "int64" },
                        "password": { "type": "string", "minLength": 10 }
                    }
                }
            }
        }
    })
}
