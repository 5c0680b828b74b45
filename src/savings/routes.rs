//! The dashboard pages: savings, volume and utilisation with SVG charts and their data tables,
//! and every view as German Excel CSV; a buyer's page and files show its own member only.

use super::chart::{bar_chart, BarChart};
use super::{Dashboard, Figure};
use crate::auth::CurrentUser;
use crate::db::schema::organisations;
use crate::db::Db;
use crate::domain::ids::OrgId;
use crate::domain::roles::{OrgType, Role};
use crate::error::{AppError, AppResult};
use crate::german::money_de;
use crate::import::CsvDownload;
use crate::web::Html;
use crate::web::Layout;
use crate::AppState;
use diesel::prelude::*;
use rocket::{get, routes, Build, Rocket};
use serde_json::json;

/// Loads the dashboard for `user` after checking the filter it asked for.
pub async fn load(
    db: &Db,
    state: &AppState,
    user: &CurrentUser,
    jahr: Option<&str>,
    mitglied: Option<&str>,
) -> AppResult<std::sync::Arc<Dashboard>> {
    if user.role == Role::Vendor {
        return Err(super::scope_for_vendor());
    }
    let year = super::parse_year(jahr)?;
    let member = super::parse_member(mitglied)?;
    let (u, st, pool) = (user.clone(), state.clone(), db.clone());
    db.run(move |c| {
        let scope = super::scope_for(c, &u, member)?;
        st.dashboards.get(c, &pool, &st, scope, year)
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

/// How many rows a section of the page shows at most; the CSV file and `?alle=<view>` have all.
/// At the scale of a large cooperative (300 members, 500 contracts) the full page was 1 MB of
/// tables and charts that nobody reads from top to bottom.
pub const TOP_ROWS: usize = 10;

/// The rows a section shows: all of them while there are at most `TOP_ROWS` (in their usual
/// order) or `all` is asked for, else the `TOP_ROWS` largest by `amount`, largest first.
pub fn top<T>(rows: &[T], all: bool, amount: impl Fn(&T) -> i64) -> Vec<&T> {
    let mut shown: Vec<&T> = rows.iter().collect();
    if all || shown.len() <= TOP_ROWS {
        return shown;
    }
    // Stable: equal amounts keep their usual order.
    shown.sort_by_key(|r| std::cmp::Reverse(amount(r)));
    shown.truncate(TOP_ROWS);
    shown
}

/// One section of the page (a view of the dashboard): its chart and table rows, limited to the
/// largest unless the user asked for all of it.
fn section(
    (id, title, column): (&str, &str, &str),
    chart_title: &str,
    figures: &[Figure],
    contracted: bool,
    all: Option<&str>,
) -> serde_json::Value {
    let shown: Vec<Figure> = top(figures, all == Some(id), |f| {
        if contracted {
            f.contracted.minor()
        } else {
            f.realised.minor()
        }
    })
    .into_iter()
    .cloned()
    .collect();
    json!({
        "id": id, "title": title, "column": column,
        "chart": chart_of(&format!("diagramm-{id}"), chart_title, &shown, contracted),
        "figures": shown,
        "total": figures.len(),
        "limited": shown.len() < figures.len(),
        "measure": if contracted { "vertraglichen" } else { "realisierten" },
    })
}

#[get("/auswertung?<jahr>&<mitglied>&<alle>")]
async fn page(
    jahr: Option<&str>,
    mitglied: Option<&str>,
    alle: Option<&str>,
    layout: Layout,
    user: CurrentUser,
    db: Db,
    state: AppState,
) -> AppResult<Html> {
    let all = match alle.map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(view) if super::VIEWS.iter().any(|(v, _)| *v == view) => Some(view),
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "„{}“ ist keine Ansicht der Auswertung (alle=mitglieder, vertraege, lose, cpv, jahre, quellen oder auslastung).",
                other.chars().take(40).collect::<String>()
            )))
        }
    };
    let d = load(&db, &state, &user, jahr, mitglied).await?;
    let query = query_of(&d);
    let coop = user.is_cooperative();
    let members: Vec<(OrgId, String)> = if coop {
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
    // The contracts that need attention first (a warning), then the most used.
    let contracts = top(&d.contracts, all == Some("auslastung"), |c| {
        let hundredths: i64 = (c.utilisation_percent * rust_decimal::Decimal::ONE_HUNDRED)
            .trunc()
            .try_into()
            .unwrap_or(0);
        hundredths.saturating_add(if c.warning.is_empty() { 0 } else { 1 << 40 })
    });
    let utilisation_rows: Vec<(String, i64, String)> = contracts
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
        section(
            ("mitglieder", "Nach Mitglied", "Mitglied"),
            "Realisierte Einsparungen nach Mitglied",
            &d.by_member,
            false,
            all,
        ),
        section(
            ("vertraege", "Nach Rahmenvereinbarung", "Rahmenvereinbarung"),
            "Realisierte Einsparungen nach Rahmenvereinbarung",
            &d.by_contract,
            false,
            all,
        ),
        section(
            ("lose", "Nach Los", "Los"),
            "Vertragliche Einsparungen nach Los",
            &d.by_lot,
            true,
            all,
        ),
        section(
            ("cpv", "Nach CPV-Abteilung", "CPV-Abteilung"),
            "Realisierte Einsparungen nach CPV-Abteilung",
            &d.by_cpv_division,
            false,
            all,
        ),
        section(
            ("jahre", "Nach Jahr", "Jahr"),
            "Realisierte Einsparungen nach Jahr",
            &d.by_year,
            false,
            all,
        ),
    ];
    Ok(layout.render(
        "savings/dashboard",
        json!({
            "d": {
                "year": d.year, "member_id": d.member_id, "member_name": d.member_name, "totals": d.totals,
            },
            "contracts": contracts,
            "contracts_total": d.contracts.len(),
            "sections": sections,
            "sources": d.by_source,
            "source_chart": chart_of("diagramm-quellen", "Realisierte Einsparungen nach Herkunft des Referenzpreises", &d.by_source, false),
            "utilisation_chart": bar_chart("diagramm-auslastung", "Ausschöpfung der Rahmenvereinbarungen in Prozent", "Balkendiagramm der Ausschöpfung je Rahmenvereinbarung; die Zahlen stehen in der Tabelle darunter.", &utilisation_rows),
            "query": query,
            "coop": coop,
            "member_options": member_options(&members, d.member_id),
            "years": super::year_choices(&d, today),
            "top_rows": TOP_ROWS,
            "process_configured": state.config.process_cost.is_some(),
            "process_cost": state.config.process_cost,
        }),
    ))
}

/// The member filter's `<option>`s, written here: with 300 members they were a third of the
/// page and, passed as 300 values through the template context, a third of its time.
fn member_options(members: &[(OrgId, String)], chosen: Option<OrgId>) -> String {
    use std::fmt::Write;
    let mut html = String::with_capacity(members.len() * 64);
    for (id, name) in members {
        let selected = if chosen == Some(*id) { " selected" } else { "" };
        let _ = write!(
            html,
            "<option value=\"{id}\"{selected}>{}</option>",
            tera::escape_html(name)
        );
    }
    html
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

#[cfg(test)]
mod tests {
    use super::{member_options, top, TOP_ROWS};
    use crate::domain::ids::OrgId;

    #[test]
    fn the_member_filter_marks_the_chosen_member_and_escapes_names() {
        let members = vec![
            (OrgId(3), "Stadt <A> & Co".to_string()),
            (OrgId(7), "Kreis \"B\"".to_string()),
        ];
        let html = member_options(&members, Some(OrgId(7)));
        assert_eq!(
            html,
            "<option value=\"3\">Stadt &lt;A&gt; &amp; Co</option><option value=\"7\" selected>Kreis &quot;B&quot;</option>"
        );
        assert!(!member_options(&members, None).contains("selected"));
    }

    #[test]
    fn a_short_view_keeps_every_row_in_its_order() {
        let rows = [3, 1, 2];
        assert_eq!(top(&rows, false, |r| *r), vec![&3, &1, &2]);
    }

    #[test]
    fn a_long_view_shows_the_largest_first_and_ties_in_their_order() {
        let rows: Vec<(i64, char)> = (0..TOP_ROWS as i64 + 2)
            .map(|i| (i % 4, (b'a' + i as u8) as char))
            .collect();
        let shown = top(&rows, false, |r| r.0);
        assert_eq!(shown.len(), TOP_ROWS);
        assert_eq!(shown[0], &(3, 'd'));
        assert_eq!(shown[1], &(3, 'h'));
        assert!(shown.windows(2).all(|w| w[0].0 >= w[1].0));
        assert_eq!(top(&rows, true, |r| r.0).len(), rows.len(), "all on request");
    }
}
