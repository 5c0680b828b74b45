//! The dashboard's views as German Excel CSV, one file per view.

use super::dashboard::Dashboard;
use crate::domain::money::Amount;

/// The views a dashboard exports, by the name in their CSV address.
pub const VIEWS: [(&str, &str); 7] = [
    ("mitglieder", "Nach Mitglied"),
    ("vertraege", "Nach Rahmenvereinbarung"),
    ("lose", "Nach Los"),
    ("cpv", "Nach CPV-Abteilung"),
    ("jahre", "Nach Jahr"),
    ("quellen", "Nach Herkunft des Referenzpreises"),
    ("auslastung", "Ausschöpfung und Laufzeit der Rahmenvereinbarungen"),
];

fn money_cell(a: Amount) -> String {
    crate::import::decimal_cell(a.to_decimal(), 2)
}

/// One view as German Excel CSV; `None` for a view that does not exist.
pub fn view_csv(d: &Dashboard, view: &str) -> Option<Vec<u8>> {
    let mut out = crate::import::GermanCsv::new();
    let figures = match view {
        "mitglieder" => Some((&d.by_member, "Mitglied")),
        "vertraege" => Some((&d.by_contract, "Rahmenvereinbarung")),
        "lose" => Some((&d.by_lot, "Los")),
        "cpv" => Some((&d.by_cpv_division, "CPV-Abteilung")),
        "jahre" => Some((&d.by_year, "Jahr")),
        "quellen" => Some((&d.by_source, "Referenzpreis")),
        "auslastung" => None,
        _ => return None,
    };
    match figures {
        Some((rows, what)) => {
            out.row([
                what,
                "Abrufvolumen (EUR netto)",
                "Realisierte Einsparung (EUR netto)",
                "Vertragliche Einsparung (EUR netto)",
                "Einsparquote realisiert (%)",
                "Abrufzeilen",
            ]);
            for f in rows {
                out.row([
                    f.label.clone(),
                    money_cell(f.volume),
                    money_cell(f.realised),
                    money_cell(f.contracted),
                    f.realised_percent
                        .map(|p| crate::import::decimal_cell(p, 2))
                        .unwrap_or_default(),
                    f.lines.to_string(),
                ]);
            }
        }
        None => {
            out.row([
                "Rahmenvereinbarung",
                "Ausschreibung",
                "Los",
                "Lieferant",
                "Laufzeit von",
                "Laufzeit bis",
                "Höchstwert (EUR netto)",
                "Abgerufen (EUR netto)",
                "Ausschöpfung (%)",
                "Abrufberechtigte Mitglieder",
                "Hinweis",
                "Prozesseinsparung (EUR)",
            ]);
            for c in &d.contracts {
                out.row([
                    c.number.clone(),
                    c.tender_title.clone(),
                    format!("{}: {}", c.lot_no, c.lot_title),
                    c.vendor.clone(),
                    c.term_start.format("%d.%m.%Y").to_string(),
                    c.term_end.format("%d.%m.%Y").to_string(),
                    money_cell(c.max_value),
                    money_cell(c.called_value),
                    crate::import::decimal_cell(c.utilisation_percent, 2),
                    c.entitled_members.to_string(),
                    c.warning.clone(),
                    c.process_saving.map(money_cell).unwrap_or_default(),
                ]);
            }
        }
    }
    Some(out.finish())
}
