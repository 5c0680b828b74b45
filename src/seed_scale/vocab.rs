//! German names for generated data: member bodies, vendors, catalogue products and tenders, built
//! from small word lists so that a hundred thousand rows still read like a real cooperative.

use super::Rng;
use crate::domain::roles::MemberKind;

const CITIES: &[(&str, &str)] = &[
    ("Wiesbaden", "65185"),
    ("Frankfurt am Main", "60311"),
    ("Kassel", "34117"),
    ("Darmstadt", "64283"),
    ("Offenbach am Main", "63065"),
    ("Hanau", "63450"),
    ("Gießen", "35390"),
    ("Marburg", "35037"),
    ("Fulda", "36037"),
    ("Rüsselsheim am Main", "65428"),
    ("Bad Homburg vor der Höhe", "61348"),
    ("Wetzlar", "35578"),
    ("Oberursel", "61440"),
    ("Rodgau", "63110"),
    ("Dreieich", "63303"),
    ("Bensheim", "64625"),
    ("Hofheim am Taunus", "65719"),
    ("Limburg an der Lahn", "65549"),
    ("Bad Hersfeld", "36251"),
    ("Eschwege", "37269"),
    ("Korbach", "34497"),
    ("Heppenheim", "64646"),
    ("Friedberg", "61169"),
    ("Lauterbach", "36341"),
    ("Alsfeld", "36304"),
];

const LAND_BODIES: &[&str] = &[
    "Landesamt für Steuern",
    "Landesamt für Denkmalpflege",
    "Landesamt für Naturschutz, Umwelt und Geologie",
    "Landesamt für Bodenmanagement und Geoinformation",
    "Landesamt für Gesundheit und Pflege",
    "Polizeipräsidium",
    "Staatsbauamt",
    "Regierungspräsidium",
    "Landesbetrieb Bau und Immobilien",
    "Landesarchiv",
    "Amtsgericht",
    "Landgericht",
    "Finanzamt",
    "Justizvollzugsanstalt",
    "Staatliches Schulamt",
];

const HOCHSCHULEN: &[&str] = &[
    "Hochschule für angewandte Wissenschaften",
    "Technische Hochschule",
    "Universität",
    "Hochschule für Musik und Darstellende Kunst",
    "Verwaltungshochschule",
];

const SONSTIGE: &[&str] = &[
    "Zweckverband Abfallwirtschaft",
    "Kommunales Gebietsrechenzentrum",
    "Sparkassen- und Giroverband",
    "Wasserverband",
    "Klinikum",
    "Studierendenwerk",
];

/// A member body's name, kind and city; `n` keeps names unique across the 300.
pub fn member(rng: &mut Rng, n: usize) -> (String, MemberKind, &'static str, &'static str) {
    let (city, postal) = CITIES[n % CITIES.len()];
    let round = n / CITIES.len();
    let (name, kind) = match rng.below(10) {
        0..=3 => {
            let body = LAND_BODIES[(n / 3 + round) % LAND_BODIES.len()];
            (format!("{body} {city}"), MemberKind::Land)
        }
        4..=7 => {
            let body = [
                "Stadt",
                "Gemeinde",
                "Kreisausschuss des Landkreises",
                "Magistrat der Stadt",
            ][rng.below(4)];
            (format!("{body} {city}"), MemberKind::Kommune)
        }
        8 => (
            format!("{} {city}", HOCHSCHULEN[rng.below(HOCHSCHULEN.len())]),
            MemberKind::Hochschule,
        ),
        _ => (
            format!("{} {city}", SONSTIGE[rng.below(SONSTIGE.len())]),
            MemberKind::Sonstige,
        ),
    };
    // The counter makes every name unique even where word lists and cities repeat.
    (format!("{name} ({})", n + 1), kind, city, postal)
}

const VENDOR_STEMS: &[&str] = &[
    "Taunus",
    "Rheingau",
    "Vogelsberg",
    "Spessart",
    "Kinzig",
    "Lahn",
    "Eder",
    "Werra",
    "Rhön",
    "Bergstraße",
    "Wetterau",
    "Main",
    "Nidda",
    "Schwalm",
    "Diemel",
    "Odenwald",
];
const VENDOR_TRADES: &[&str] = &[
    "Systemhaus",
    "Bürotechnik",
    "Datentechnik",
    "IT-Service",
    "Netzwerkbau",
    "Medientechnik",
    "Büromöbel",
    "Lizenzvertrieb",
];
const LEGAL_FORMS: &[&str] = &["GmbH", "GmbH & Co. KG", "AG", "e. K.", "KG"];

/// A vendor's name and city.
pub fn vendor(rng: &mut Rng, n: usize) -> (String, &'static str, &'static str) {
    let stem = VENDOR_STEMS[n % VENDOR_STEMS.len()];
    let trade = VENDOR_TRADES[(n / VENDOR_STEMS.len() + rng.below(3)) % VENDOR_TRADES.len()];
    let form = LEGAL_FORMS[rng.below(LEGAL_FORMS.len())];
    let (city, postal) = CITIES[rng.below(CITIES.len())];
    (format!("{stem}-{trade} {} {form}", n + 1), city, postal)
}

/// Product families: noun, unit, CPV code, the attributes that vary, and a typical unit price
/// range in euros.
struct Family {
    noun: &'static str,
    unit: &'static str,
    cpv: &'static str,
    variants: &'static [&'static str],
    extras: &'static [&'static str],
    price_from: u32,
    price_to: u32,
}

const FAMILIES: &[Family] = &[
    Family {
        noun: "Notebook",
        unit: "Stück",
        cpv: "30213100-6",
        variants: &["13 Zoll", "14 Zoll", "15,6 Zoll", "16 Zoll"],
        extras: &[
            "16 GB RAM, 512 GB SSD",
            "32 GB RAM, 1 TB SSD",
            "8 GB RAM, 256 GB SSD",
            "64 GB RAM, 2 TB SSD",
        ],
        price_from: 600,
        price_to: 2400,
    },
    Family {
        noun: "Monitor",
        unit: "Stück",
        cpv: "30231300-0",
        variants: &["22 Zoll", "24 Zoll", "27 Zoll", "32 Zoll", "34 Zoll gebogen"],
        extras: &[
            "Full HD, höhenverstellbar",
            "WQHD, USB-C",
            "4K, USB-C mit 90 W",
            "entspiegelt, Pivot",
        ],
        price_from: 110,
        price_to: 900,
    },
    Family {
        noun: "Dockingstation",
        unit: "Stück",
        cpv: "30237000-9",
        variants: &["USB-C", "Thunderbolt 4", "USB-C Reise"],
        extras: &[
            "2 Monitore",
            "3 Monitore",
            "mit 100 W Ladeleistung",
            "mit Netzwerkanschluss 2,5 Gbit/s",
        ],
        price_from: 60,
        price_to: 350,
    },
    Family {
        noun: "Kopierpapier",
        unit: "Karton",
        cpv: "30197630-1",
        variants: &["A4 80 g/m²", "A4 75 g/m² Recycling", "A3 80 g/m²", "A4 90 g/m²"],
        extras: &["Blauer Engel", "FSC-zertifiziert", "hochweiß", "5 × 500 Blatt"],
        price_from: 18,
        price_to: 60,
    },
    Family {
        noun: "Bürodrehstuhl",
        unit: "Stück",
        cpv: "39112000-0",
        variants: &["Synchronmechanik", "mit Armlehnen 4D", "Netzrücken", "Stehhilfe"],
        extras: &[
            "Sitztiefenverstellung",
            "Lordosenstütze",
            "bis 150 kg",
            "Bezug Stoff schwarz",
        ],
        price_from: 180,
        price_to: 950,
    },
    Family {
        noun: "Schreibtisch",
        unit: "Stück",
        cpv: "39121100-7",
        variants: &[
            "160 × 80 cm",
            "180 × 80 cm",
            "140 × 70 cm",
            "elektrisch höhenverstellbar",
        ],
        extras: &["Dekor Ahorn", "Dekor Weiß", "mit Kabelwanne", "Gestell anthrazit"],
        price_from: 250,
        price_to: 1300,
    },
    Family {
        noun: "Switch",
        unit: "Stück",
        cpv: "32422000-7",
        variants: &["24 Ports", "48 Ports PoE+", "8 Ports", "16 Ports SFP+"],
        extras: &["verwaltbar, Layer 3", "lüfterlos", "stapelbar", "mit 5 Jahren Service"],
        price_from: 150,
        price_to: 6500,
    },
    Family {
        noun: "Toner",
        unit: "Stück",
        cpv: "30125110-5",
        variants: &["schwarz", "cyan", "magenta", "gelb"],
        extras: &[
            "Standardkapazität",
            "hohe Kapazität",
            "Originalhersteller",
            "Rücknahme inklusive",
        ],
        price_from: 35,
        price_to: 240,
    },
    Family {
        noun: "Softwarelizenz Endpoint-Schutz",
        unit: "Lizenz",
        cpv: "48761000-0",
        variants: &["1 Jahr", "3 Jahre", "Server", "Arbeitsplatz"],
        extras: &[
            "mit EDR",
            "Verwaltungskonsole",
            "Behördenlizenz",
            "deutschsprachiger Support",
        ],
        price_from: 12,
        price_to: 180,
    },
    Family {
        noun: "Headset",
        unit: "Stück",
        cpv: "32342100-3",
        variants: &["beidohrig USB", "einohrig USB-C", "Bluetooth", "DECT"],
        extras: &[
            "Geräuschunterdrückung",
            "für Videokonferenzen zertifiziert",
            "mit Ladestation",
            "Ersatzpolster",
        ],
        price_from: 40,
        price_to: 320,
    },
];

/// A catalogue product: description, unit, CPV code, and a typical unit price in euro cents.
pub fn product(rng: &mut Rng, n: usize) -> (String, &'static str, &'static str, i64) {
    let f = &FAMILIES[n % FAMILIES.len()];
    let variant = f.variants[rng.below(f.variants.len())];
    let extra = f.extras[rng.below(f.extras.len())];
    let cents = i64::from(f.price_from) * 100 + rng.below(((f.price_to - f.price_from) * 100) as usize) as i64;
    // The article number keeps 100,000 descriptions apart, as in a real supplier catalogue.
    (
        format!("{} {variant}, {extra}, Art.-Nr. {:06}", f.noun, n + 1),
        f.unit,
        f.cpv,
        cents,
    )
}

const SUBJECTS: &[&str] = &[
    "IT-Arbeitsplatzausstattung",
    "Büromöbel",
    "Papier und Büromaterial",
    "Netzwerkkomponenten",
    "Drucker und Verbrauchsmaterial",
    "Softwarelizenzen",
    "Medientechnik",
    "Audio- und Konferenztechnik",
];

/// A tender's title for its number.
pub fn tender_title(n: usize, year: i32) -> String {
    format!("{} {year} – Rahmenvereinbarung {}", SUBJECTS[n % SUBJECTS.len()], n + 1)
}
