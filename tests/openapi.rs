//! The API document: generated from the handlers, it describes exactly the mounted routes, is
//! served where clients look for it, matches its committed snapshot, and has a reference page.

mod common;

use common::*;
use rocket::http::{ContentType, Status};
use serde_json::Value;
use std::path::PathBuf;

const REFRESH: &str = "BUENDEL_UPDATE_SNAPSHOT";

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json")
}

fn served_document(app: &TestApp) -> Value {
    let client = app.client();
    let res = client.get("/api/v1/openapi.json").dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.content_type(), Some(ContentType::JSON));
    res.into_json().expect("the document is JSON")
}

/// Every mounted API route is described, and nothing is described that does not exist.
#[test]
fn openapi_document_describes_exactly_the_mounted_routes() {
    let app = TestApp::new(buendel::db::Backend::Sqlite);
    let client = app.client();
    let doc: Value = client.get("/api/v1/openapi.json").dispatch().into_json().unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented: Vec<String> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push(format!("{} {}", method.to_uppercase(), path));
        }
    }
    let mut mounted: Vec<String> = client
        .rocket()
        .routes()
        .filter(|r| r.uri.base() == "/api/v1")
        .map(|r| {
            let path = r
                .uri
                .unmounted_origin
                .path()
                .as_str()
                .replace('<', "{")
                .replace('>', "}");
            format!("{} {}", r.method, path)
        })
        .collect();
    documented.sort();
    mounted.sort();
    assert_eq!(documented, mounted);
    // Every $ref points to a defined schema or response.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/").skip(1) {
        let reference = &part[..part.find('"').unwrap()];
        let mut node = &doc["components"];
        for seg in reference.split('/') {
            node = &node[seg];
        }
        assert!(!node.is_null(), "dangling $ref {reference}");
    }
}

/// The committed snapshot is the document as served: a change to the API shows in review as a
/// change of `tests/snapshots/openapi.json`, and CI validates that file as OpenAPI 3.1.
#[test]
fn the_document_matches_its_snapshot() {
    let app = TestApp::new(buendel::db::Backend::Sqlite);
    let text = serde_json::to_string_pretty(&served_document(&app)).unwrap() + "\n";
    let path = snapshot_path();
    if std::env::var_os(REFRESH).is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    if stored != text {
        let line = stored
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| stored.lines().count().min(text.lines().count()));
        panic!(
            "The API document differs from {} from line {} on:\n  stored: {}\n  served: {}\n\
             If the change is intended, refresh the snapshot with\n  {REFRESH}=1 cargo test --test openapi\n\
             and commit the file.",
            path.display(),
            line + 1,
            stored.lines().nth(line).unwrap_or("(end)"),
            text.lines().nth(line).unwrap_or("(end)"),
        );
    }
}

/// Clients and the reference page find the document at its address, without a token.
#[test]
fn the_document_is_served_at_api_v1_openapi_json() {
    let app = TestApp::new(buendel::db::Backend::Sqlite);
    let doc = served_document(&app);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert_eq!(doc, buendel::api::doc::document());
    assert_eq!(
        doc["paths"]["/openapi.json"]["get"]["security"],
        serde_json::json!([{}])
    );
}

/// Every decimal in the document is a string in the API's plain notation, never a number.
#[test]
fn decimals_are_documented_as_plain_strings() {
    let doc = buendel::api::doc::document();
    for name in ["Price", "Quantity", "Amount", "DecimalText"] {
        let schema = &doc["components"]["schemas"][name];
        assert_eq!(schema["type"], "string", "{name}: {schema}");
        assert_eq!(
            schema["pattern"],
            buendel::domain::money::PLAIN_DECIMAL_PATTERN,
            "{name}"
        );
    }
    let text = doc.to_string();
    assert!(!text.contains("\"format\":\"double\""), "no decimal is a JSON number");
    assert!(!text.contains("\"type\":\"number\""), "no field is a JSON number");
}

/// Codes are documented as the strings the API writes, and errors with their stable code.
#[test]
fn codes_and_errors_are_string_enums() {
    let doc = buendel::api::doc::document();
    let status = &doc["components"]["schemas"]["TenderStatus"];
    assert_eq!(status["type"], "string");
    assert!(status["enum"].as_array().unwrap().contains(&"published".into()));
    let code = &doc["components"]["schemas"]["ErrorCode"];
    for status in [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429, 500] {
        let c = buendel::error::AppError::code_of_status(Status::from_code(status).unwrap());
        assert!(code["enum"].as_array().unwrap().contains(&c.into()), "{c}");
    }
    let error = &doc["components"]["responses"]["Error"]["content"]["application/json"]["schema"];
    assert_eq!(error["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode");
    assert_eq!(error["required"], serde_json::json!(["code", "message", "fields"]));
}

/// The reference page works under the app's Content-Security-Policy: no inline script, and
/// everything it loads comes from this server.
#[test]
fn the_reference_page_loads_only_its_own_files() {
    let app = TestApp::new(buendel::db::Backend::Sqlite);
    let client = app.client();
    let res = client.get("/api/doku").dispatch();
    assert_eq!(res.status(), Status::Found);
    assert_eq!(res.headers().get_one("Location"), Some("/api/doku/"));

    let res = client.get("/api/doku/").dispatch();
    assert_eq!(res.status(), Status::Ok);
    let csp = res.headers().get_one("Content-Security-Policy").unwrap().to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = res.into_string().unwrap();
    let mut sources = Vec::new();
    for tag in html.split("<script").skip(1) {
        let (attributes, rest) = tag.split_once('>').unwrap();
        let body = rest.split("</script>").next().unwrap();
        assert!(body.trim().is_empty(), "inline script: {body}");
        let src = attributes
            .split("src=\"")
            .nth(1)
            .expect("script with src")
            .split('"')
            .next()
            .unwrap();
        sources.push(src.trim_start_matches("./").to_string());
    }
    assert!(!html.contains("<style"), "inline style");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );
    assert!(sources.contains(&"swagger-initializer.js".to_string()), "{sources:?}");
    for src in &sources {
        let res = client.get(format!("/api/doku/{src}")).dispatch();
        assert_eq!(res.status(), Status::Ok, "{src}");
        assert_eq!(res.content_type(), Some(ContentType::JavaScript), "{src}");
    }
    let init = client
        .get("/api/doku/swagger-initializer.js")
        .dispatch()
        .into_string()
        .unwrap();
    assert!(init.contains("\"/api/v1/openapi.json\""), "{init}");
    let css = client.get("/api/doku/swagger-ui.css").dispatch();
    assert_eq!(css.status(), Status::Ok);
}

/// What API users read is German: every entry of the description table still names a field,
/// and no description is the English of a developer's doc comment.
#[test]
fn descriptions_are_german() {
    let mut doc = buendel::api::doc::document();
    for (key, text) in buendel::api::doc::GERMAN {
        let schemas = doc.pointer_mut("/components/schemas").unwrap();
        let target = match key.split_once('.') {
            Some((schema, field)) => buendel::api::doc::field_schema(schemas, schema, field),
            None => schemas.get_mut(*key),
        };
        assert_eq!(
            target.map(|t| t["description"].clone()),
            Some(Value::from(*text)),
            "{key}"
        );
    }
    let mut english = Vec::new();
    collect_english(&doc, "", &mut english);
    assert!(english.is_empty(), "English descriptions:\n{}", english.join("\n"));
}

fn collect_english(node: &Value, at: &str, out: &mut Vec<String>) {
    const WORDS: [&str; 12] = [
        " the ", " of ", " and ", " with ", " is ", " are ", " its ", " only ", " what ", " one ", " as ", " that ",
    ];
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                if let (true, Value::String(text)) = (key == "description" || key == "summary", value) {
                    let padded = format!(" {} ", text.to_lowercase());
                    if WORDS.iter().any(|w| padded.contains(w)) {
                        out.push(format!("{at}: {text}"));
                    }
                }
                collect_english(value, &format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_english(v, at, out)),
        _ => {}
    }
}

/// A query parameter is one value of the type the document names: given twice or empty, it is
/// refused with a German 400 instead of being taken as absent (which answered every row).
#[test]
fn a_repeated_or_empty_query_parameter_is_refused() {
    let app = TestApp::new(buendel::db::Backend::Sqlite);
    app.world();
    let token = api_token(&browser(&app, "admin"));
    let api = app.client();
    for query in [
        "/api/v1/organisations?org_type=",
        "/api/v1/organisations?org_type=member&org_type=vendor",
        "/api/v1/calloffs?to=",
        "/api/v1/calloffs?to=2026-01-01&to=2026-02-01",
        "/api/v1/savings?year=",
        "/api/v1/savings?year=2026&year=2027",
    ] {
        let (status, body) = api::answer(api::get(&api, query, &token));
        assert_eq!(status, Status::BadRequest, "{query}: {body}");
        assert_eq!(body["code"], "bad_request", "{query}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("Parameter"), "{query}: {message}");
    }
    let (status, _) = api::answer(api::get(&api, "/api/v1/organisations?org_type=member", &token));
    assert_eq!(status, Status::Ok);
}
