//! JSON API helpers for tests: requests with a bearer token, JSON answers, exact decimals, and
//! the check that an answer carries only fields the OpenAPI document describes.

use super::bearer;
use rocket::http::{ContentType, Method, Status};
use rocket::local::blocking::{Client, LocalResponse};
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

pub fn send<'c>(api: &'c Client, method: Method, path: &str, token: &str, body: &Value) -> LocalResponse<'c> {
    api.req(method, path.to_string())
        .header(bearer(token))
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch()
}

pub fn get<'c>(api: &'c Client, path: &str, token: &str) -> LocalResponse<'c> {
    api.get(path.to_string()).header(bearer(token)).dispatch()
}

pub fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("{v} is a string"))).unwrap()
}

/// The status and JSON body of a response.
pub fn answer(res: LocalResponse<'_>) -> (Status, Value) {
    let status = res.status();
    let text = res.into_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}")),
    )
}

/// Follows `$ref`, and through `oneOf`/`anyOf` to the branch that is not `null` (OpenAPI 3.1
/// writes an optional object as `oneOf: [{type: null}, {$ref}]`).
pub fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(r) = schema["$ref"].as_str() {
        let mut node = doc;
        for seg in r.trim_start_matches("#/").split('/') {
            node = &node[seg];
        }
        return resolve(doc, node);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branch) = schema[key]
            .as_array()
            .and_then(|b| b.iter().find(|s| s["type"] != "null"))
        {
            return resolve(doc, branch);
        }
    }
    schema
}

/// The properties of a schema, following `$ref` and merging `allOf`.
pub fn properties<'a>(doc: &'a Value, schema: &'a Value) -> Vec<(&'a String, &'a Value)> {
    let schema = resolve(doc, schema);
    let mut out: Vec<(&String, &Value)> = schema["properties"]
        .as_object()
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(properties(doc, part));
    }
    out
}

/// Every field of `value`, at every depth the schema describes, is documented.
pub fn check(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    match value {
        Value::Array(items) => {
            let item_schema = &schema["items"];
            assert!(!item_schema.is_null(), "{at}: array without item schema");
            for (i, item) in items.iter().enumerate() {
                check(doc, item_schema, item, &format!("{at}[{i}]"));
            }
        }
        Value::Object(object) => {
            let props = properties(doc, schema);
            assert!(!props.is_empty(), "{at}: object without documented properties");
            for (key, v) in object {
                let Some((_, sub)) = props.iter().find(|(name, _)| *name == key) else {
                    panic!("{at}.{key} is not documented");
                };
                check(doc, sub, v, &format!("{at}.{key}"));
            }
        }
        _ => {}
    }
}

pub fn assert_documented(doc: &Value, path: &str, method: &str, code: &str, body: &Value) {
    let schema = &doc["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "{method} {path} {code} has a schema");
    check(doc, schema, body, &format!("{method} {path}"));
}

/// Validates `value` against the document's component schema `name` in full (types, patterns,
/// `oneOf`), as schemathesis does: `assert_documented` checks only that every field is named.
pub fn assert_schema(doc: &Value, name: &str, value: &Value) {
    let schema = serde_json::json!({ "$ref": format!("#/components/schemas/{name}"), "components": doc["components"] });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}
