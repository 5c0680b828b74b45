//! The dashboard pages: savings, volume and utilisation with SVG charts and their data tables,
//! and every view as German Excel CSV; a buyer's page and files show its own member only.

use super::chart::{bar_chart, BarChart};
use super::{Dashboard, Figure};
use crate::auth::CurrentUser;
use crate::db::schema::organisations;
use crate::db::Db;
use crate::domain::roles::{OrgType, Role};
use crate::error::{AppError, AppResult};
use crate::german::money_de;
use crate::import::CsvDownload;
use crate::web::Layout;
use crate::AppState;
use diesel::prelude::*;
use rocket::{get, routes, Build, Rocket};
use rocket_dyn_templates::Template;
use serde_json::json;

/// Loads the dashboard for `user` after checking the filter it asked for.
pub async fn load(
    db: &Db,
    state: &AppState,
    user: &CurrentUser,
    jahr: Option<&str>,
    mitglied: Option<&str>,
) -> AppResult<Dashboard> {
    if user.role == Role::Vendor {
        return Err(super::scope_for_vendor());
    }
    let year = super::parse_year(jahr)?;
    let member = super::parse_member(mitglied)?;
    let (u, st) = (user.clone(), state.clone());
    db.run(move |c| {
        let scope = super::scope_for(c, &u, member)?;
        Ok(st.dashboards.get(c, &st, scope, year)?.as_ref().clone())
    })
    .await
}

fn chart_of(id: &str, title: &str, figures: &[Figure], contracted: bool) -> BarChart {
    let rows: Vec<(String, i64, String)> = figures
        .iter()
        .map(|f| {
            let a = if contracted { f.contracted } else { f.realised };
            (f.label.clone(), a.minor(), money_de(a.to_decimal()))
        })
        .collect();
    let what = if contracted { "vertragliche" } else { "realisierte" };
    bar_chart(
        id,
        title,
        &format!("Balkendiagramm der {what}n Einsparungen; die Zahlen stehen in der Tabelle darunter."),
        &rows,
    )
}

fn query_of(d: &Dashboard) -> String {
    let mut parts = Vec::new();
    if let Some(y) = d.year {
        parts.push(format!("jahr={y}"));
    }
    if let Some(m) = d.member_id {
        parts.push(format!("mitglied={m}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[get("/auswertung?<jahr>&<mitglied>")]
async fn page(
    jahr: Option<&str>,
    mitglied: Option<&str>,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Template> {
    let d = load(&db, &state, &user, jahr, mitglied).await?;
    let coop = user.is_cooperative();
    let members: Vec<(i64, String)> = if coop {
        db.run(|c| {
            Ok(organisations::table
                .filter(organisations::org_type.eq(OrgType::Member))
                .order(organisations::name.asc())
                .select((organisations::id, organisations::name))
                .load(c)?)
        })
        .await?
    } else {
        Vec::new()
    };
    let today = state.clock.now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let utilisation_rows: Vec<(String, i64, String)> = d
        .contracts
        .iter()
        .map(|c| {
            // Percent with two places as hundredths: an integer of the same proportion.
            let hundredths = (c.utilisation_percent * rust_decimal::Decimal::ONE_HUNDRED)
                .trunc()
                .try_into()
                .unwrap_or(0i64);
            (
                format!("{} (Los {})", c.number, c.lot_no),
                hundredths,
                format!("{} %", crate::german::decimal_de(c.utilisation_percent, 2, 2)),
            )
        })
        .collect();
    let sections = vec![
        json!({ "id": "mitglieder", "title": "Nach Mitglied", "column": "Mitglied", "figures": d.by_member,
                "chart": chart_of("diagramm-mitglieder", "Realisierte Einsparungen nach Mitglied", &d.by_member, false) }),
        json!({ "id": "vertraege", "title": "Nach Rahmenvereinbarung", "column": "Rahmenvereinbarung", "figures": d.by_contract,
                "chart": chart_of("diagramm-vertraege", "Realisierte Einsparungen nach Rahmenvereinbarung", &d.by_contract, false) }),
        json!({ "id": "lose", "title": "Nach Los", "column": "Los", "figures": d.by_lot,
                "chart": chart_of("diagramm-lose", "Vertragliche Einsparungen nach Los", &d.by_lot, true) }),
        json!({ "id": "cpv", "title": "Nach CPV-Abteilung", "column": "CPV-Abteilung", "figures": d.by_cpv_division,
                "chart": chart_of("diagramm-cpv", "Realisierte Einsparungen nach CPV-Abteilung", &d.by_cpv_division, false) }),
        json!({ "id": "jahre", "title": "Nach Jahr", "column": "Jahr", "figures": d.by_year,
                "chart": chart_of("diagramm-jahre", "Realisierte Einsparungen nach Jahr", &d.by_year, false) }),
    ];
    Ok(layout.render(
        "savings/dashboard",
        json!({
            "d": d,
            "sections": sections,
            "sources": d.by_source,
            "source_chart": chart_of("diagramm-quellen", "Realisierte Einsparungen nach Herkunft des Referenzpreises", &d.by_source, false),
            "utilisation_chart": bar_chart("diagramm-auslastung", "Ausschöpfung der Rahmenvereinbarungen in Prozent", "Balkendiagramm der Ausschöpfung je Rahmenvereinbarung; die Zahlen stehen in der Tabelle darunter.", &utilisation_rows),
            "query": query_of(&d),
            "coop": coop,
            "members": members.iter().map(|(id, name)| json!({ "id": id, "name": name })).collect::<Vec<_>>(),
            "years": super::year_choices(&d, today),
            "process_configured": state.config.process_cost.is_some(),
            "process_cost": state.config.process_cost,
        }),
    ))
}

#[get("/auswertung/<file>?<jahr>&<mitglied>")]
async fn csv(
    file: &str,
    jahr: Option<&str>,
    mitglied: Option<&str>,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<CsvDownload> {
    let view = file.strip_suffix(".csv").ok_or(AppError::NotFound)?;
    if !super::VIEWS.iter().any(|(v, _)| *v == view) {
        return Err(AppError::NotFound);
    }
    let d = load(&db, &state, &user, jahr, mitglied).await?;
    let bytes = super::view_csv(&d, view).ok_or(AppError::NotFound)?;
    let mut name = format!("auswertung-{view}");
    if let Some(m) = d.member_id {
        name.push_str(&format!("-mitglied-{m}"));
    }
    if let Some(y) = d.year {
        name.push_str(&format!("-{y}"));
    }
    Ok(CsvDownload::new(bytes, &format!("{name}.csv")))
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount("/", routes![page, csv])
}
