//! Tender flows most tests need: a closed demand call with demand, the officer's tender form,
//! a published tender, second vendor, multipart posts and bids through the pages.

use super::*;
use buendel::demand::{self, CallData, DemandEntry, PositionData};
use buendel::domain::bid::BidStatus;
use buendel::domain::ids::{
    BidId, ContractId, DemandCallId, DemandPositionId, LotId, OrgId, TenderId, TenderPositionId,
};
use buendel::domain::money::{Price, Quantity};
use buendel::domain::roles::{OrgType, Role, VendorStatus};
use buendel::orgs::{self, UserData};
use buendel::tender;
use chrono::Duration;
use rocket::http::{ContentType, Status};
use rocket::local::blocking::Client;
use std::str::FromStr;

pub fn position(description: &str, cpv: &str, estimate: Option<&str>) -> PositionData {
    PositionData {
        catalogue_item_id: None,
        description: description.into(),
        unit: "Stück".into(),
        cpv_code: cpv.into(),
        estimate_price: estimate.map(|e| Price::from_str(e).unwrap()),
    }
}

pub fn q(text: &str) -> Quantity {
    Quantity::from_str(text).unwrap()
}

/// A closed call: three positions, member A wants 10/4/–, member B 5/2/–; the third position
/// has no demand. Returns the call and its position ids.
pub fn closed_call(app: &TestApp, w: &World, notebook_estimate: &str) -> (DemandCallId, Vec<DemandPositionId>) {
    let officer = current_user(app, "officer");
    let mut c = app.conn();
    let data = CallData {
        title: "Arbeitsplatz 2027".into(),
        description: "Notebooks und Monitore".into(),
        term_months: 48,
        deadline: app.state.clock.now_naive() + Duration::days(5),
        all_members: false,
        member_ids: vec![w.member_a, w.member_b],
    };
    let positions = [
        position("Notebook 14 Zoll", "30213100-6", Some(notebook_estimate)),
        position("Monitor 24 Zoll", "30231300-0", Some("150")),
        position("Dockingstation", "30237000-9", None),
    ];
    let id = demand::create_call(&mut c, &app.state, &officer, &data, &positions).unwrap();
    demand::open_call(&mut c, &app.state, &officer, id).unwrap();
    let ids: Vec<DemandPositionId> = demand::positions(&mut c, id)
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    for (buyer, n, m) in [("buyer_a", "10", "4"), ("buyer_b", "5", "2")] {
        let entries = [
            DemandEntry {
                position_id: ids[0],
                quantity: q(n),
                reference_price: None,
            },
            DemandEntry {
                position_id: ids[1],
                quantity: q(m),
                reference_price: None,
            },
        ];
        demand::save_demand(&mut c, &app.state, &current_user(app, buyer), id, &entries).unwrap();
    }
    app.state.clock.advance(Duration::days(6));
    demand::close_call(&mut c, &app.state, &officer, id).unwrap();
    (id, ids)
}

/// The tender form as the officer fills it: two lots; the deadline comes from `with_deadline`.
pub fn tender_form(call: DemandCallId, positions: &[DemandPositionId]) -> Vec<(String, String)> {
    vec![
        ("demand_call_id".into(), call.to_string()),
        ("title".into(), "Arbeitsplatzausstattung 2027".into()),
        (
            "description".into(),
            "Rahmenvereinbarung über Notebooks und Monitore".into(),
        ),
        ("procedure".into(), "".into()),
        ("buffer_percent".into(), "20".into()),
        ("deadline_date".into(), String::new()),
        ("deadline_time".into(), "12:00".into()),
        ("term_months".into(), "48".into()),
        ("lot_title_1".into(), "Notebooks".into()),
        ("lot_title_2".into(), "Monitore".into()),
        (format!("lot_{}", positions[0]), "1".into()),
        (format!("lot_{}", positions[1]), "2".into()),
        ("evaluation.method".into(), "weighted".into()),
        ("evaluation.a_criteria".into(), "Lieferung in 10 Werktagen".into()),
        ("evaluation.b_criteria".into(), "Servicekonzept; 100".into()),
        ("evaluation.price_weight".into(), "70".into()),
        ("evaluation.quality_weight".into(), "30".into()),
        ("evaluation.price_formula".into(), "quotient".into()),
        ("evaluation.score_places".into(), "3".into()),
    ]
}

pub fn with_deadline(app: &TestApp, mut form: Vec<(String, String)>, days: i64) -> Vec<(String, String)> {
    let local = (app.state.clock.now() + Duration::days(days)).with_timezone(&chrono_tz::Europe::Berlin);
    for (k, v) in form.iter_mut() {
        if k == "deadline_date" {
            *v = local.format("%Y-%m-%d").to_string();
        }
        if k == "deadline_time" {
            *v = local.format("%H:%M").to_string();
        }
    }
    form
}

pub fn post(client: &Client, path: &str, form: &[(String, String)]) -> (Status, String) {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = post_form(client, path, &fields);
    let status = res.status();
    let location = res.headers().get_one("Location").map(str::to_string);
    (
        status,
        location.unwrap_or_else(|| res.into_string().unwrap_or_default()),
    )
}

/// The id at the end of a redirect's location, e.g. a `TenderId` from `/ausschreibungen/7`.
pub fn id_from<T: FromStr>(location: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    location.rsplit('/').next().unwrap().parse().unwrap()
}

/// A second approved vendor with one user `vendor2@test.example`.
pub fn second_vendor(app: &TestApp) -> OrgId {
    let mut c = app.conn();
    let now = app.state.clock.now_naive();
    let data = org_input("Konkurrenz IT AG").validate(OrgType::Vendor).unwrap();
    let org = orgs::insert_org(&mut c, now, &data, Some(VendorStatus::Approved)).unwrap();
    let hash = buendel::auth::hash_password(PASSWORD).unwrap();
    orgs::insert_user(
        &mut c,
        now,
        &UserData {
            email: "vendor2@test.example".into(),
            name: "Person vendor2".into(),
            role: Role::Vendor,
            organisation_id: org,
            password: None,
        },
        &hash,
    )
    .unwrap();
    org
}

/// A published tender with a deadline 31 days ahead; returns (tender id, tender position ids).
pub fn published_tender(app: &TestApp, w: &World) -> (TenderId, Vec<TenderPositionId>) {
    let (call, positions) = closed_call(app, w, "800");
    let officer = browser(app, "officer");
    let form = with_deadline(app, tender_form(call, &positions), 31);
    let (status, location) = post(&officer, "/ausschreibungen", &form);
    assert_eq!(status, Status::SeeOther, "{location}");
    let id: TenderId = id_from(&location);
    let (status, body) = post(&officer, &format!("/ausschreibungen/{id}/veroeffentlichen"), &[]);
    assert_eq!(status, Status::SeeOther, "{body}");
    let mut c = app.conn();
    let ids = tender::positions(&mut c, id)
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    (id, ids)
}

pub fn multipart(
    client: &Client,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> (Status, String) {
    let boundary = "----buendelgrenze";
    let token = csrf(client);
    let mut body = Vec::new();
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("_csrf", &token));
    for (k, v) in all {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let res = client
        .post(path.to_string())
        .header(ContentType::new("multipart", "form-data").with_params(("boundary", boundary)))
        .body(body)
        .dispatch();
    let status = res.status();
    let location = res.headers().get_one("Location").map(str::to_string);
    (
        status,
        location.unwrap_or_else(|| res.into_string().unwrap_or_default()),
    )
}

/// Submits a bid by form: prices for both positions (notebook, monitor), A confirmed.
pub fn bid(
    client: &Client,
    tender: TenderId,
    positions: &[TenderPositionId],
    notebook: &str,
    monitor: &str,
) -> (Status, String) {
    let p0 = format!("f[p_{}]", positions[0]);
    let p1 = format!("f[p_{}]", positions[1]);
    multipart(
        client,
        &format!("/ausschreibungen/{tender}/angebot"),
        &[
            (&p0, notebook),
            (&p1, monitor),
            ("f[a_1]", "ja"),
            ("f[b_1]", "Vor-Ort-Service in 24 Stunden"),
        ],
        None,
    )
}

pub fn receipt_of(client: &Client, tender: TenderId) -> String {
    let page = client
        .get(format!("/ausschreibungen/{tender}/angebot"))
        .dispatch()
        .into_string()
        .unwrap();
    let marker = "Quittung (SHA-256 des Angebotsinhalts)</dt><dd><code>";
    let start = page.find(marker).expect("receipt on the page") + marker.len();
    page[start..start + 64].to_string()
}

// ----------------------------------------------------------------------------- service-level flows

/// An approved vendor firm `name` with one vendor account `<key>@test.example` (password
/// `PASSWORD`), so that `current_user(app, key)` and `browser(app, key)` work for it.
pub fn vendor_firm(app: &TestApp, key: &str, name: &str) -> OrgId {
    let mut c = app.conn();
    let now = app.state.clock.now_naive();
    let data = org_input(name).validate(OrgType::Vendor).unwrap();
    let org = orgs::insert_org(&mut c, now, &data, Some(VendorStatus::Approved)).unwrap();
    orgs::insert_user(
        &mut c,
        now,
        &UserData {
            email: format!("{key}@test.example"),
            name: format!("Person {key}"),
            role: Role::Vendor,
            organisation_id: org,
            password: None,
        },
        shared_hash(),
    )
    .unwrap();
    org
}

/// A demand need: (description, estimate unit price, quantity of member A, quantity of member B);
/// an empty quantity is no demand of that member.
pub type Need<'a> = (&'a str, &'a str, &'a str, &'a str);

/// A closed call of members A and B with one position per need (advances the clock six days).
/// Returns the call and its position ids.
pub fn closed_call_with(
    app: &TestApp,
    w: &World,
    title: &str,
    needs: &[Need],
) -> (DemandCallId, Vec<DemandPositionId>) {
    const CPV: [&str; 3] = ["30213100-6", "30231300-0", "30237000-9"];
    let officer = current_user(app, "officer");
    let mut c = app.conn();
    let data = CallData {
        title: title.into(),
        description: format!("Bedarf für {title}"),
        term_months: 48,
        deadline: app.state.clock.now_naive() + Duration::days(5),
        all_members: false,
        member_ids: vec![w.member_a, w.member_b],
    };
    let positions: Vec<PositionData> = needs
        .iter()
        .enumerate()
        .map(|(i, (description, estimate, _, _))| position(description, CPV[i % CPV.len()], Some(estimate)))
        .collect();
    let id = demand::create_call(&mut c, &app.state, &officer, &data, &positions).unwrap();
    demand::open_call(&mut c, &app.state, &officer, id).unwrap();
    let ids: Vec<DemandPositionId> = demand::positions(&mut c, id)
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    for (buyer, column) in [("buyer_a", 0), ("buyer_b", 1)] {
        let entries: Vec<DemandEntry> = needs
            .iter()
            .zip(&ids)
            .filter_map(|((_, _, a, b), id)| {
                let quantity = if column == 0 { a } else { b };
                (!quantity.is_empty()).then(|| DemandEntry {
                    position_id: *id,
                    quantity: q(quantity),
                    reference_price: None,
                })
            })
            .collect();
        if !entries.is_empty() {
            demand::save_demand(&mut c, &app.state, &current_user(app, buyer), id, &entries).unwrap();
        }
    }
    app.state.clock.advance(Duration::days(6));
    demand::close_call(&mut c, &app.state, &officer, id).unwrap();
    (id, ids)
}

/// A tender from the closed `call` through the services (validate, create, publish): one lot
/// "Gesamtleistung" with every position, the given evaluation, the deadline 31 days ahead.
/// Returns the tender id and its positions.
pub fn service_tender(
    app: &TestApp,
    call: DemandCallId,
    title: &str,
    evaluation: buendel::domain::evaluation::EvaluationCommand,
) -> (TenderId, Vec<tender::TenderPosition>) {
    let officer = current_user(app, "officer");
    let mut c = app.conn();
    let now = app.state.clock.now_naive();
    let call_positions = demand::positions(&mut c, call).unwrap();
    let deadline = (app.state.clock.now() + Duration::days(31)).naive_utc();
    let input = tender::TenderCommand {
        demand_call_id: call,
        title: title.into(),
        description: format!("Rahmenvereinbarung: {title}"),
        buffer_percent: Some(20.into()),
        bid_deadline: Some(deadline),
        term_months: Some(48),
        evaluation,
        lots: vec!["Gesamtleistung".into()],
        assignment: call_positions.iter().map(|p| (p.id, 1)).collect(),
        ..Default::default()
    };
    let data = input.validate(&mut c, now, &app.state.config.calendar()).unwrap();
    let id = tender::create(&mut c, &app.state, &officer, &data).unwrap();
    tender::publish(&mut c, &app.state, &officer, id).unwrap();
    (id, tender::positions(&mut c, id).unwrap())
}

/// Submits a bid through the service as `<key>@test.example`: unit prices (plain decimal
/// notation) in position order, every A-criterion confirmed, a text per B-criterion. Returns the
/// bid id.
pub fn service_bid(
    app: &TestApp,
    key: &str,
    tender_id: TenderId,
    positions: &[tender::TenderPosition],
    prices: &[&str],
) -> BidId {
    let vendor = current_user(app, key);
    let input = tender::bids::BidInput {
        prices: positions
            .iter()
            .zip(prices)
            .map(|(p, price)| (p.id, Price::from_str(price).unwrap()))
            .collect(),
        lots: Vec::new(),
        a_confirmed: vec![true; 5],
        b_texts: vec![format!("Konzept von {key}"); 5],
    };
    tender::bids::submit(&mut app.conn(), &app.state, &vendor, tender_id, &input)
        .unwrap()
        .bid_id
}

/// Moves the clock ten minutes past the bid deadline and opens the bids with two officers.
pub fn open_by_two_officers(app: &TestApp, tender_id: TenderId) {
    let mut c = app.conn();
    let deadline = tender::find(&mut c, tender_id).unwrap().bid_deadline;
    app.state.clock.set((deadline + Duration::minutes(10)).and_utc());
    tender::start_opening(&mut c, &app.state, &current_user(app, "officer"), tender_id).unwrap();
    tender::confirm_opening(&mut c, &app.state, &current_user(app, "officer2"), tender_id).unwrap();
}

/// A logged-in browser for `vendor2@test.example` (see `second_vendor`).
pub fn vendor2_browser(app: &TestApp) -> Client {
    let c = app.client();
    assert_eq!(login(&c, "vendor2@test.example"), Status::SeeOther);
    c
}

/// An opened tender (two officers) with two bids by form: the vendor's and, a second later, the
/// second vendor's, each (notebook, monitor) unit prices. Returns (tender, positions, lots).
pub fn opened_with_bids(
    app: &TestApp,
    w: &World,
    ours: (&str, &str),
    theirs: (&str, &str),
) -> (TenderId, Vec<TenderPositionId>, Vec<LotId>) {
    second_vendor(app);
    let (id, positions) = published_tender(app, w);
    let vendor = browser(app, "vendor");
    let (status, body) = bid(&vendor, id, &positions, ours.0, ours.1);
    assert_eq!(status, Status::SeeOther, "{body}");
    // The bids are listed by submission time (ours first); in the same second of the frozen
    // clock their order would be the database's choice.
    app.state.clock.advance(Duration::seconds(1));
    let rival = vendor2_browser(app);
    let (status, body) = bid(&rival, id, &positions, theirs.0, theirs.1);
    assert_eq!(status, Status::SeeOther, "{body}");
    let deadline = tender::find(&mut app.conn(), id).unwrap().bid_deadline;
    app.state.clock.set((deadline + Duration::minutes(10)).and_utc());
    let officer = browser(app, "officer");
    assert_eq!(
        post(&officer, &format!("/ausschreibungen/{id}/oeffnung"), &[]).0,
        Status::SeeOther
    );
    let officer2 = browser(app, "officer2");
    assert_eq!(
        post(&officer2, &format!("/ausschreibungen/{id}/oeffnung/bestaetigen"), &[]).0,
        Status::SeeOther
    );
    let lots = tender::lots(&mut app.conn(), id)
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    (id, positions, lots)
}

/// The id of the current bid of the vendor firm named `vendor_name` on a tender.
pub fn submitted_bid_id(app: &TestApp, tender_id: TenderId, vendor_name: &str) -> BidId {
    use buendel::db::schema::{bids, organisations};
    bids::table
        .inner_join(organisations::table)
        .filter(bids::tender_id.eq(tender_id))
        .filter(bids::status.eq(BidStatus::Submitted))
        .filter(organisations::name.eq(vendor_name))
        .select(bids::id)
        .first(&mut *app.conn())
        .unwrap()
}

/// An opened tender with both bids scored (ours 8, the rival's 5): ours is best on every
/// lot. Returns (tender, lots, our bid, the rival's bid).
pub fn scored_tender(app: &TestApp, w: &World) -> (TenderId, Vec<LotId>, BidId, BidId) {
    let (tender_id, _, lots) = opened_with_bids(app, w, ("800", "150"), ("780,5", "155"));
    let ours = submitted_bid_id(app, tender_id, "Systemhaus Test GmbH");
    let theirs = submitted_bid_id(app, tender_id, "Konkurrenz IT AG");
    let officer = current_user(app, "officer");
    for (bid, score) in [(ours, "8"), (theirs, "5")] {
        buendel::award::score(
            &mut app.conn(),
            &app.state,
            &officer,
            tender_id,
            bid,
            &[(Some(score.parse().unwrap()), "geprüft".into())],
        )
        .unwrap();
    }
    (tender_id, lots, ours, theirs)
}

/// A concluded contract for lot 1 (notebooks): max 18 × 800 € = 14 400 €, members A and B.
pub fn concluded_contract(app: &TestApp, w: &World) -> (ContractId, TenderPositionId) {
    let (tender_id, _, lots) = opened_with_bids(app, w, ("800", "150"), ("780,5", "155"));
    let officer = current_user(app, "officer");
    let ours = submitted_bid_id(app, tender_id, "Systemhaus Test GmbH");
    let theirs = submitted_bid_id(app, tender_id, "Konkurrenz IT AG");
    let mut c = app.conn();
    for (bid, score) in [(ours, "8"), (theirs, "5")] {
        buendel::award::score(
            &mut c,
            &app.state,
            &officer,
            tender_id,
            bid,
            &[(Some(score.parse().unwrap()), "geprüft".into())],
        )
        .unwrap();
    }
    let target = buendel::award::BidOnLot {
        tender_id,
        lot_id: lots[0],
        bid_id: ours,
    };
    let award_id = buendel::award::award(&mut c, &app.state, &officer, target, "bestes Angebot").unwrap();
    // The standstill runs from the sending of the § 134 information.
    app.deliver_all_mail();
    app.state.clock.advance(Duration::days(20));
    let contract_id = buendel::award::conclude(&mut c, &app.state, &officer, tender_id, award_id).unwrap();
    let position: TenderPositionId = buendel::db::schema::contract_positions::table
        .filter(buendel::db::schema::contract_positions::contract_id.eq(contract_id))
        .select(buendel::db::schema::contract_positions::position_id)
        .first(&mut *c)
        .unwrap();
    (contract_id, position)
}
