//! Open data on both backends: every OCDS release package of the demo validates against the
//! schemas in ../shared/ocds (JSON Schema draft-04, the package's release-schema URL mapped to
//! the local file), an unopened tender's package holds no bid and no bidder, call-offs are
//! processes of their own linked to the framework, and the public page needs no login.

mod common;

use buendel::db::schema::{contracts, tenders};
use buendel::domain::tender::TenderStatus;
use common::*;
use diesel::prelude::*;
use rocket::http::{ContentType, Status};
use serde_json::Value;
use std::path::Path;
use std::sync::OnceLock;

const RELEASE_SCHEMA_URL: &str =
    "https://standard.open-contracting.org/profiles/eu/schema/1__0__0__rc__1/release-schema.json";

fn schema_dir() -> &'static Path {
    Path::new("../shared/ocds")
}

fn read_json(name: &str) -> Value {
    let path = schema_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The package schema with its `$ref` to the release schema resolved from the local copy; no
/// network is ever asked.
fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let registry = jsonschema::Registry::new()
            .add(RELEASE_SCHEMA_URL, read_json("release-schema.json"))
            .expect("release schema")
            .prepare()
            .expect("registry");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .with_registry(&registry)
            .build(&read_json("release-package-schema.json"))
            .expect("package schema")
    })
}

fn assert_valid(package: &Value, what: &str) {
    let errors: Vec<String> = validator()
        .iter_errors(package)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

/// A package as anyone downloads it: no login, no token.
fn package(app: &TestApp, tender_id: i64) -> (String, Value) {
    let client = app.client();
    let res = client.get(format!("/api/v1/ocds/tenders/{tender_id}")).dispatch();
    assert_eq!(res.status(), Status::Ok, "tender {tender_id}");
    assert_eq!(res.content_type(), Some(ContentType::JSON));
    let text = res.into_string().unwrap();
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

fn demo() -> impl Fn(buendel::db::Backend) -> TestApp {
    |b| {
        let app = TestApp::new(b);
        buendel::seed::load(&mut app.conn(), &app.state, Path::new("seed-data")).expect("seed");
        app
    }
}

fn tender_by_status(app: &TestApp, status: &str) -> i64 {
    tenders::table
        .filter(tenders::status.eq(status))
        .order(tenders::id.asc())
        .select(tenders::id)
        .first(&mut *app.conn())
        .unwrap()
}

#[test]
fn the_validator_refuses_what_ocds_forbids() {
    // The check has teeth: a release without ocid, or with a tag outside the closed codelist.
    let bad = serde_json::json!({
        "uri": "http://127.0.0.1/p", "version": "1.1", "publishedDate": "2026-11-23T10:00:00Z",
        "publisher": { "name": "X" },
        "releases": [{ "id": "1", "date": "2026-11-23T10:00:00Z", "tag": ["raten"], "initiationType": "tender" }]
    });
    let errors: Vec<String> = validator().iter_errors(&bad).map(|e| e.to_string()).collect();
    assert!(errors.iter().any(|e| e.contains("ocid")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("raten")), "{errors:?}");
}

#[test]
fn every_ocds_package_of_the_demo_data_validates() {
    each_backend(|b| {
        let app = demo()(b);
        let index: Value = app.client().get("/api/v1/ocds/tenders").dispatch().into_json().unwrap();
        let listed = index.as_array().unwrap();
        let published: Vec<i64> = tenders::table
            .filter(tenders::status.ne(TenderStatus::Draft))
            .select(tenders::id)
            .load(&mut *app.conn())
            .unwrap();
        assert!(published.len() >= 2);
        assert_eq!(listed.len(), published.len(), "the index lists every published tender");
        let mut calloff_releases = 0;
        for id in published {
            let (_, p) = package(&app, id);
            assert_valid(&p, &format!("tender {id}"));
            assert_eq!(p["version"], "1.1");
            let releases = p["releases"].as_array().unwrap();
            assert!(releases[0]["ocid"]
                .as_str()
                .unwrap()
                .starts_with("ocds-buendel-ausschreibung-"));
            calloff_releases += releases.len() - 1;
        }
        assert!(calloff_releases >= 9, "every demo call-off is a process of its own");
    });
}

#[test]
fn a_package_of_a_published_but_unopened_tender_contains_no_bid() {
    each_backend(|b| {
        let app = demo()(b);
        let id = tender_by_status(&app, "published");
        let (text, p) = package(&app, id);
        assert_valid(&p, "unopened");
        let release = &p["releases"][0];
        assert!(release.get("bids").is_none(), "{release}");
        assert!(release.get("awards").is_none());
        assert_eq!(p["releases"].as_array().unwrap().len(), 1);
        // No bidder identity, no price: only the cooperative and the entitled members appear.
        for party in release["parties"].as_array().unwrap() {
            let roles: Vec<&str> = party["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            assert!(
                roles
                    .iter()
                    .all(|r| ["buyer", "procuringEntity", "centralPurchasingBody"].contains(r)),
                "{party}"
            );
        }
        let vendors: Vec<String> = buendel::db::schema::organisations::table
            .filter(buendel::db::schema::organisations::org_type.eq("vendor"))
            .select(buendel::db::schema::organisations::name)
            .load(&mut *app.conn())
            .unwrap();
        for v in &vendors {
            assert!(
                !text.contains(v.as_str()),
                "{v} named in the package of a sealed tender"
            );
        }
        assert!(!text.contains("tenderer") && !text.contains("angebot-"));
        assert!(release["tender"]["lots"].as_array().unwrap().len() == 2);
        assert!(!release["tender"]["items"].as_array().unwrap().is_empty());
    });
}

#[test]
fn an_awarded_tender_publishes_bids_awards_contracts_and_call_offs_as_related_processes() {
    each_backend(|b| {
        let app = demo()(b);
        let id = tender_by_status(&app, "opened");
        let (text, p) = package(&app, id);
        assert_valid(&p, "awarded");
        let releases = p["releases"].as_array().unwrap();
        let framework = &releases[0];
        let ocid = framework["ocid"].as_str().unwrap();
        assert_eq!(framework["tag"], serde_json::json!(["tender", "award", "contract"]));
        let statistics = framework["bids"]["statistics"].as_array().unwrap();
        assert!(statistics
            .iter()
            .any(|s| s["measure"] == "bids" && s["value"].as_u64() == Some(3)));
        assert_eq!(framework["awards"].as_array().unwrap().len(), 2);
        // Amounts are exact JSON numbers, written from the decimal: the contract's maximum value.
        let (number, max): (String, buendel::domain::money::Amount) = contracts::table
            .filter(contracts::tender_id.eq(id))
            .order(contracts::id.asc())
            .select((contracts::number, contracts::max_value))
            .first(&mut *app.conn())
            .unwrap();
        let expected = format!("\"value\":{{\"amount\":{},\"currency\":\"EUR\"}}", max.to_decimal());
        assert!(text.contains(&expected), "{expected} in {text}");
        assert!(framework["contracts"][0]["title"].as_str().unwrap().contains(&number));
        for r in &releases[1..] {
            assert!(r["ocid"].as_str().unwrap().starts_with("ocds-buendel-abruf-"));
            assert_ne!(r["ocid"], framework["ocid"]);
            let related = &r["relatedProcesses"][0];
            assert_eq!(related["scheme"], "ocid");
            assert_eq!(related["identifier"], ocid);
            assert_eq!(related["relationship"], serde_json::json!(["framework"]));
            assert!(r["contracts"][0]["items"].as_array().is_some_and(|i| !i.is_empty()));
        }
        let statuses: Vec<&str> = releases[1..]
            .iter()
            .map(|r| r["contracts"][0]["status"].as_str().unwrap())
            .collect();
        assert!(statuses.contains(&"active") && statuses.contains(&"pending") && statuses.contains(&"cancelled"));
    });
}

#[test]
fn drafts_have_no_package_and_the_open_data_page_needs_no_login() {
    each_backend(|b| {
        let app = demo()(b);
        let anonymous = app.client();
        let res = anonymous.get("/offene-daten").dispatch();
        assert_eq!(res.status(), Status::Ok);
        let page = res.into_string().unwrap();
        assert!(page.contains("<h1>Offene Daten</h1>"));
        assert!(page.contains("Rahmenvereinbarung Endpoint-Schutz, Datensicherung und Videokonferenz 2026–2029"));
        assert!(page.contains("Rahmenvereinbarung Netzwerkkomponenten 2026–2029"));
        assert!(page.contains("/api/v1/ocds/tenders/"));
        assert!(page.contains("<caption>Geschlossene Rahmenvereinbarungen (2)</caption>"));
        assert!(page.contains("Lizenzkontor"), "the awarded vendor is public");
        assert!(page.contains(">Offene Daten</a>"), "in the public navigation");
        // A draft (or an unknown tender) is nobody's open data: the published one set back.
        let id = tender_by_status(&app, "published");
        diesel::update(tenders::table.find(id))
            .set(tenders::status.eq(TenderStatus::Draft))
            .execute(&mut *app.conn())
            .unwrap();
        let res = anonymous.get(format!("/api/v1/ocds/tenders/{id}")).dispatch();
        assert_eq!(res.status(), Status::NotFound);
        assert_eq!(res.content_type(), Some(ContentType::JSON));
        assert!(!anonymous
            .get("/offene-daten")
            .dispatch()
            .into_string()
            .unwrap()
            .contains("Netzwerkkomponenten"));
        assert_eq!(
            anonymous.get("/api/v1/ocds/tenders/999999").dispatch().status(),
            Status::NotFound
        );
    });
}

#[test]
fn the_public_package_of_an_awarded_tender_with_two_bids_reveals_no_losing_bid() {
    use buendel::db::schema::{bid_lots, bids, organisations};
    each_backend(|b| {
        let app = TestApp::new(b);
        let w = app.world();
        let (contract_id, _) = common::tender_flow::concluded_contract(&app, &w);
        let (tender_id, lot_id): (buendel::domain::ids::TenderId, buendel::domain::ids::LotId) = contracts::table
            .find(contract_id)
            .select((contracts::tender_id, contracts::lot_id))
            .first(&mut *app.conn())
            .unwrap();
        // The losing bid's lot total, as the package would write it.
        let losing_total: buendel::domain::money::Amount = bid_lots::table
            .inner_join(bids::table.inner_join(organisations::table))
            .filter(bids::tender_id.eq(tender_id))
            .filter(bid_lots::lot_id.eq(lot_id))
            .filter(organisations::name.eq("Konkurrenz IT AG"))
            .select(bid_lots::total)
            .first(&mut *app.conn())
            .unwrap();
        let (text, p) = package(&app, tender_id.get());
        assert_valid(&p, "awarded with two bids");
        let release = &p["releases"][0];
        assert!(text.contains("Systemhaus Test GmbH"), "the winner is public");
        assert!(!text.contains("Konkurrenz IT AG"), "no losing bidder's name: {text}");
        let amount = losing_total.to_decimal().to_string();
        assert!(!text.contains(&amount), "no losing bid's amount {amount}: {text}");
        assert!(!text.contains("tenderer") && release["bids"].get("details").is_none());
        // The award notice's figures: two bids, two valid, no lowest/highest of two.
        let measures: Vec<(String, String)> = release["bids"]["statistics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let value = &s["value"];
                let value = value.as_str().map(String::from).unwrap_or_else(|| value.to_string());
                (s["measure"].as_str().unwrap_or_default().to_string(), value)
            })
            .collect();
        let expected = [("bids", "2"), ("validBids", "2")].map(|(m, v)| (m.to_string(), v.to_string()));
        assert_eq!(measures, expected);
    });
}
