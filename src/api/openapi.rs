//! The OpenAPI 3 document of `/api/v1`. A test compares its paths with the mounted routes, so a
//! route cannot exist without being described here.

use serde_json::{json, Value};

fn error_responses() -> Value {
    json!({
        "400": { "$ref": "#/components/responses/Error" },
        "401": { "$ref": "#/components/responses/Error" },
        "403": { "$ref": "#/components/responses/Error" },
        "404": { "$ref": "#/components/responses/Error" },
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

fn id_param() -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "format": "int64" } }])
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

pub fn document() -> Value {
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
