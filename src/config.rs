//! Typed configuration from environment variables (and an optional KEY=VALUE file), validated at
//! start. Every problem is reported at once, in German, with the variable to fix.

use crate::clock::{parse_shift, Clock};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    Smtp(String),
    File(PathBuf),
    Stub,
}

#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// Failed logins per account within the window before further attempts are refused.
    pub per_account: i64,
    /// Failed logins per client address within the window.
    pub per_address: i64,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Group commit and caches on (`Fast`), or every write its own transaction and nothing kept
    /// between requests (`Plain`), the path to compare the fast one against.
    pub speed: Speed,
    pub database_url: String,
    pub pool_size: u32,
    pub address: IpAddr,
    pub port: u16,
    pub secret_key: Option<String>,
    pub base_url: String,
    /// The cooperative's state (two-letter code): its public holidays end standstill periods.
    pub state_code: String,
    pub mail_transport: MailTransport,
    pub mail_from: String,
    pub mail_interval: std::time::Duration,
    pub mail_max_attempts: i32,
    pub clock_start: Option<DateTime<Utc>>,
    pub clock_shift: Duration,
    pub clock_frozen: bool,
    pub session_lifetime: Duration,
    /// How long another instance's revocation may take to reach this one (0 disables the cache).
    pub session_cache_ttl: std::time::Duration,
    pub login_limits: LoginLimits,
    pub template_dir: PathBuf,
    pub contract_template_dir: PathBuf,
    pub data_dir: PathBuf,
    /// Header a trusted reverse proxy sets to the client address (none: the socket address).
    pub ip_header: Option<String>,
    /// What one procurement procedure costs a member (EUR): with it the board sees the process
    /// savings of joint procedures; without it they are not shown.
    pub process_cost: Option<crate::domain::money::Amount>,
    /// The prefix of every OCDS ocid this instance publishes (see `domain::ocds::DEFAULT_OCID_PREFIX`).
    pub ocid_prefix: String,
}

crate::coded_enum!(
    /// The speed machinery: group commit of SQLite writes, the session cache and the contract
    /// terms cache. `Plain` is the simple path the fast one must agree with.
    Speed {
        Fast => "fast", "Gruppen-Commit und Caches",
        Plain => "plain", "jede Schreibtransaktion einzeln, ohne Caches",
    }
);

/// The variables buendel reads, with their meaning, for `--help` and the README.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("DATABASE_URL", "data/buendel.db", "SQLite-Datei oder postgres://…"),
    (
        "BUENDEL_SECRET_KEY",
        "(keiner)",
        "64 Byte, base64 (openssl rand -base64 64); Pflicht im Release-Build außer mit --demo",
    ),
    ("BUENDEL_ADDRESS", "127.0.0.1", "Adresse des HTTP-Servers"),
    ("BUENDEL_PORT", "8000", "Port des HTTP-Servers"),
    (
        "BUENDEL_BASE_URL",
        "http://127.0.0.1:8000",
        "Öffentliche Adresse für Links in E-Mails",
    ),
    ("BUENDEL_POOL_SIZE", "8", "Datenbankverbindungen je Instanz"),
    (
        "BUENDEL_SPEED",
        "fast",
        "fast: Gruppen-Commit (SQLite) und Caches; plain: jede Schreibtransaktion einzeln, ohne Caches",
    ),
    (
        "SMTP_URL",
        "(keiner)",
        "smtps://user:pass@host:465 oder smtp://host:587?tls=required; wenn gesetzt, wird per SMTP versendet",
    ),
    (
        "BUENDEL_MAIL_TRANSPORT",
        "file",
        "smtp, file (.eml unter data/outbox/) oder stub",
    ),
    ("BUENDEL_MAIL_FROM", "buendel <noreply@buendel.example>", "Absender"),
    ("BUENDEL_MAIL_INTERVAL_SECS", "2", "Abstand der Versandläufe"),
    (
        "BUENDEL_NOW",
        "(Systemzeit)",
        "Startzeit der Uhr, RFC 3339, z. B. 2026-12-01T09:00:00Z",
    ),
    ("BUENDEL_CLOCK_SHIFT", "0", "Verschiebung der Uhr, z. B. +14d, -3h"),
    ("BUENDEL_CLOCK_FROZEN", "false", "Uhr anhalten (true/false)"),
    ("BUENDEL_SESSION_HOURS", "8", "Gültigkeit einer Anmeldung in Stunden"),
    (
        "BUENDEL_LOGIN_MAX_FAILURES",
        "5",
        "Fehlversuche je Konto im Zeitfenster",
    ),
    (
        "BUENDEL_LOGIN_MAX_FAILURES_ADDRESS",
        "20",
        "Fehlversuche je Adresse im Zeitfenster",
    ),
    ("BUENDEL_LOGIN_WINDOW_MINUTES", "15", "Zeitfenster der Anmeldesperre"),
    (
        "BUENDEL_IP_HEADER",
        "(keiner)",
        "Header mit der Client-Adresse, nur hinter einem vertrauenswürdigen Proxy, z. B. X-Real-IP",
    ),
    (
        "BUENDEL_STATE",
        "HE",
        "Bundesland der Genossenschaft (BW, BY, BE, BB, HB, HH, HE, MV, NI, NW, RP, SL, SN, ST, SH, TH); seine Feiertage verlängern Fristen",
    ),
    ("BUENDEL_TEMPLATE_DIR", "templates", "Verzeichnis der Vorlagen"),
    (
        "BUENDEL_CONTRACT_TEMPLATE_DIR",
        "contract-templates",
        "Verzeichnis der Dokumentvorlagen (Öffnungsprotokoll, Verträge)",
    ),
    ("BUENDEL_DATA_DIR", "data", "Verzeichnis für Daten und Postausgang"),
    (
        "BUENDEL_PROCESS_COST",
        "(keiner)",
        "Kosten eines Vergabeverfahrens in EUR, z. B. 5000 oder 5.000,00; damit zeigt die Auswertung die Prozesseinsparung",
    ),
    (
        "BUENDEL_OCID_PREFIX",
        "ocds-buendel",
        "Präfix der OCDS-Kennungen (ocid) der offenen Daten, z. B. das bei der Open Contracting Partnership registrierte",
    ),
    (
        "BUENDEL_CONFIG",
        "(keine)",
        "Optionale Datei mit KEY=VALUE-Zeilen; Umgebungsvariablen haben Vorrang",
    ),
];

impl Config {
    /// Reads the process environment, with values from `BUENDEL_CONFIG` as fallback.
    /// `secret_required`: a release server not in demo mode must have `BUENDEL_SECRET_KEY`.
    pub fn from_env(secret_required: bool) -> Result<Config, Vec<String>> {
        let mut vars: HashMap<String, String> = HashMap::new();
        if let Ok(path) = std::env::var("BUENDEL_CONFIG") {
            match dotenvy::from_path_iter(&path) {
                Ok(iter) => {
                    for item in iter {
                        match item {
                            Ok((k, v)) => {
                                vars.insert(k, v);
                            }
                            Err(e) => return Err(vec![format!("BUENDEL_CONFIG: Datei {path} nicht lesbar: {e}")]),
                        }
                    }
                }
                Err(e) => return Err(vec![format!("BUENDEL_CONFIG: Datei {path} nicht lesbar: {e}")]),
            }
        }
        vars.extend(std::env::vars());
        Config::from_map(&vars, secret_required)
    }

    pub fn from_map(vars: &HashMap<String, String>, secret_required: bool) -> Result<Config, Vec<String>> {
        let mut problems = Vec::new();
        let get = |k: &str| vars.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());

        fn parse<T: std::str::FromStr>(
            problems: &mut Vec<String>,
            key: &str,
            value: Option<String>,
            default: T,
            what: &str,
        ) -> T {
            match value {
                None => default,
                Some(v) => v.parse().unwrap_or_else(|_| {
                    problems.push(format!("{key}: „{v}“ ist kein(e) {what}."));
                    default
                }),
            }
        }

        let data_dir = PathBuf::from(get("BUENDEL_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| data_dir.join("buendel.db").to_string_lossy().into_owned());
        if database_url.starts_with("mysql:") {
            problems.push(
                "DATABASE_URL: MySQL wird nicht unterstützt; bitte postgres://… oder einen SQLite-Dateipfad angeben."
                    .into(),
            );
        }
        let pool_size = parse(
            &mut problems,
            "BUENDEL_POOL_SIZE",
            get("BUENDEL_POOL_SIZE"),
            8u32,
            "positive ganze Zahl",
        );
        if pool_size == 0 {
            problems.push("BUENDEL_POOL_SIZE: muss mindestens 1 sein.".into());
        }
        let address = parse(
            &mut problems,
            "BUENDEL_ADDRESS",
            get("BUENDEL_ADDRESS"),
            IpAddr::from([127, 0, 0, 1]),
            "IP-Adresse",
        );
        let port = parse(
            &mut problems,
            "BUENDEL_PORT",
            get("BUENDEL_PORT"),
            8000u16,
            "Port (0–65535)",
        );

        let secret_key = get("BUENDEL_SECRET_KEY");
        if let Some(key) = &secret_key {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD.decode(key);
            if !matches!(decoded, Ok(ref bytes) if bytes.len() >= 64) {
                problems.push("BUENDEL_SECRET_KEY: muss mindestens 64 Byte als base64 sein (erzeugen mit: openssl rand -base64 64).".into());
            }
        } else if secret_required {
            problems.push("BUENDEL_SECRET_KEY: fehlt. Ein Release-Build startet ohne geheimen Schlüssel nur mit --demo (erzeugen mit: openssl rand -base64 64).".into());
        }

        let base_url = get("BUENDEL_BASE_URL").unwrap_or_else(|| format!("http://{address}:{port}"));
        if url::Url::parse(&base_url).is_err() {
            problems.push(format!("BUENDEL_BASE_URL: „{base_url}“ ist keine gültige URL."));
        }

        let smtp_url = get("SMTP_URL");
        let transport_name = get("BUENDEL_MAIL_TRANSPORT").unwrap_or_else(|| {
            if smtp_url.is_some() {
                "smtp".into()
            } else {
                "file".into()
            }
        });
        let mail_transport = match transport_name.as_str() {
            "smtp" => match smtp_url {
                Some(url) => {
                    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                        problems.push("SMTP_URL: muss mit smtp:// oder smtps:// beginnen.".into());
                    }
                    MailTransport::Smtp(url)
                }
                None => {
                    problems.push("SMTP_URL: fehlt, obwohl BUENDEL_MAIL_TRANSPORT=smtp gesetzt ist.".into());
                    MailTransport::Stub
                }
            },
            "file" => MailTransport::File(data_dir.join("outbox")),
            "stub" => MailTransport::Stub,
            other => {
                problems.push(format!(
                    "BUENDEL_MAIL_TRANSPORT: „{other}“ ist unbekannt; erlaubt sind smtp, file, stub."
                ));
                MailTransport::Stub
            }
        };
        let mail_from = get("BUENDEL_MAIL_FROM").unwrap_or_else(|| "buendel <noreply@buendel.example>".into());
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            problems.push(format!(
                "BUENDEL_MAIL_FROM: „{mail_from}“ ist keine gültige Absenderadresse."
            ));
        }
        let mail_interval_secs = parse(
            &mut problems,
            "BUENDEL_MAIL_INTERVAL_SECS",
            get("BUENDEL_MAIL_INTERVAL_SECS"),
            2u64,
            "Anzahl Sekunden",
        );

        let clock_start = match get("BUENDEL_NOW") {
            None => None,
            Some(v) => match DateTime::parse_from_rfc3339(&v) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(_) => {
                    problems.push(format!(
                        "BUENDEL_NOW: „{v}“ ist kein Zeitpunkt im Format 2026-12-01T09:00:00Z."
                    ));
                    None
                }
            },
        };
        let clock_shift = match get("BUENDEL_CLOCK_SHIFT") {
            None => Duration::zero(),
            Some(v) => parse_shift(&v).unwrap_or_else(|| {
                problems.push(format!(
                    "BUENDEL_CLOCK_SHIFT: „{v}“ ist keine Verschiebung wie +14d, -3h, 90m."
                ));
                Duration::zero()
            }),
        };
        let clock_frozen = parse(
            &mut problems,
            "BUENDEL_CLOCK_FROZEN",
            get("BUENDEL_CLOCK_FROZEN"),
            false,
            "Wahrheitswert (true/false)",
        );

        let session_hours = parse(
            &mut problems,
            "BUENDEL_SESSION_HOURS",
            get("BUENDEL_SESSION_HOURS"),
            8i64,
            "Anzahl Stunden",
        );
        if !(1..=24 * 30).contains(&session_hours) {
            problems.push("BUENDEL_SESSION_HOURS: muss zwischen 1 und 720 liegen.".into());
        }
        let speed = parse(
            &mut problems,
            "BUENDEL_SPEED",
            get("BUENDEL_SPEED"),
            Speed::Fast,
            "Wert fast oder plain",
        );
        let session_cache_secs = parse(
            &mut problems,
            "BUENDEL_SESSION_CACHE_SECS",
            get("BUENDEL_SESSION_CACHE_SECS"),
            5u64,
            "Anzahl Sekunden",
        );
        if session_cache_secs > 60 {
            problems
                .push("BUENDEL_SESSION_CACHE_SECS: höchstens 60, damit beendete Sitzungen bald überall enden.".into());
        }
        let per_account = parse(
            &mut problems,
            "BUENDEL_LOGIN_MAX_FAILURES",
            get("BUENDEL_LOGIN_MAX_FAILURES"),
            5i64,
            "positive ganze Zahl",
        );
        let per_address = parse(
            &mut problems,
            "BUENDEL_LOGIN_MAX_FAILURES_ADDRESS",
            get("BUENDEL_LOGIN_MAX_FAILURES_ADDRESS"),
            20i64,
            "positive ganze Zahl",
        );
        let window_minutes = parse(
            &mut problems,
            "BUENDEL_LOGIN_WINDOW_MINUTES",
            get("BUENDEL_LOGIN_WINDOW_MINUTES"),
            15i64,
            "Anzahl Minuten",
        );
        if per_account < 1 || per_address < 1 || window_minutes < 1 {
            problems.push("BUENDEL_LOGIN_*: Grenzen und Zeitfenster müssen mindestens 1 sein.".into());
        }

        let template_dir = PathBuf::from(get("BUENDEL_TEMPLATE_DIR").unwrap_or_else(|| "templates".into()));
        if !template_dir.join("base.html.tera").exists() {
            problems.push(format!(
                "BUENDEL_TEMPLATE_DIR: in „{}“ fehlt base.html.tera; bitte aus dem Projektverzeichnis starten oder den Pfad setzen.",
                template_dir.display()
            ));
        }

        let state_code = get("BUENDEL_STATE").unwrap_or_else(|| "HE".into()).to_ascii_uppercase();
        if crate::domain::standstill::region(&state_code).is_none() {
            problems.push(format!(
                "BUENDEL_STATE: „{state_code}“ ist kein Bundesland-Kürzel (z. B. HE für Hessen)."
            ));
        }
        let contract_template_dir =
            PathBuf::from(get("BUENDEL_CONTRACT_TEMPLATE_DIR").unwrap_or_else(|| "contract-templates".into()));
        if !contract_template_dir.join("opening_record.html.tera").exists()
            || !contract_template_dir.join("framework_contract.html.tera").exists()
        {
            problems.push(format!(
                "BUENDEL_CONTRACT_TEMPLATE_DIR: in „{}“ fehlen opening_record.html.tera oder framework_contract.html.tera; bitte aus dem Projektverzeichnis starten oder den Pfad setzen.",
                contract_template_dir.display()
            ));
        }

        let process_cost = match get("BUENDEL_PROCESS_COST") {
            None => None,
            Some(v) => match crate::domain::numbers::german(&v)
                .map_err(|e| e.to_string())
                .and_then(|d| crate::domain::money::Amount::from_decimal(d).map_err(|e| e.to_string()))
            {
                Ok(a) if a.minor() > 0 => Some(a),
                Ok(_) => {
                    problems.push(format!("BUENDEL_PROCESS_COST: „{v}“ muss größer als 0 sein."));
                    None
                }
                Err(e) => {
                    problems.push(format!(
                        "BUENDEL_PROCESS_COST: „{v}“ {e}; erwartet ist ein Betrag in EUR, z. B. 5000 oder 5.000,00."
                    ));
                    None
                }
            },
        };
        let ocid_prefix = get("BUENDEL_OCID_PREFIX").unwrap_or_else(|| "ocds-buendel".into());
        if !crate::domain::ocds::valid_ocid_prefix(&ocid_prefix) {
            problems.push(format!(
                "BUENDEL_OCID_PREFIX: „{ocid_prefix}“ ist kein Präfix wie ocds-abc123 (Kleinbuchstaben, Ziffern und Bindestriche, beginnt mit ocds-)."
            ));
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            database_url,
            pool_size,
            address,
            port,
            secret_key,
            base_url: base_url.trim_end_matches('/').to_string(),
            state_code,
            mail_transport,
            mail_from,
            mail_interval: std::time::Duration::from_secs(mail_interval_secs.max(1)),
            mail_max_attempts: 8,
            clock_start,
            clock_shift,
            clock_frozen,
            session_lifetime: Duration::hours(session_hours),
            // The plain path keeps no session between requests.
            session_cache_ttl: match speed {
                Speed::Fast => std::time::Duration::from_secs(session_cache_secs),
                Speed::Plain => std::time::Duration::ZERO,
            },
            speed,
            login_limits: LoginLimits {
                per_account,
                per_address,
                window: Duration::minutes(window_minutes),
            },
            template_dir,
            contract_template_dir,
            data_dir,
            ip_header: get("BUENDEL_IP_HEADER"),
            process_cost,
            ocid_prefix,
        })
    }

    /// The state whose public holidays count for periods (validated at start).
    pub fn holiday_region(&self) -> holiday_de::GermanRegion {
        crate::domain::standstill::region(&self.state_code).unwrap_or(holiday_de::GermanRegion::Hessen)
    }

    /// The working days every period is counted in (the Land's public holidays).
    pub fn calendar(&self) -> crate::domain::period::Calendar {
        crate::domain::period::Calendar::new(self.holiday_region())
    }

    /// The variables that move the clock away from the system time, by name (empty when none
    /// does): allowed on demo and test data only (`db::data_kind::check_clock`).
    pub fn clock_variables(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        if self.clock_start.is_some() {
            set.push("BUENDEL_NOW");
        }
        if !self.clock_shift.is_zero() {
            set.push("BUENDEL_CLOCK_SHIFT");
        }
        if self.clock_frozen {
            set.push("BUENDEL_CLOCK_FROZEN");
        }
        set
    }

    pub fn clock(&self) -> Clock {
        Clock::configured(self.clock_start, self.clock_shift, self.clock_frozen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_sqlite_and_eml_files() {
        let c = Config::from_map(&vars(&[]), false).unwrap();
        assert_eq!(c.database_url, "data/buendel.db");
        assert_eq!(c.mail_transport, MailTransport::File(PathBuf::from("data/outbox")));
        assert_eq!(c.port, 8000);
    }

    #[test]
    fn speed_is_fast_unless_plain_is_asked_for_and_plain_keeps_no_session() {
        let fast = Config::from_map(&vars(&[]), false).unwrap();
        assert_eq!(fast.speed, Speed::Fast);
        assert_eq!(fast.session_cache_ttl, std::time::Duration::from_secs(5));
        let plain = Config::from_map(&vars(&[("BUENDEL_SPEED", "plain")]), false).unwrap();
        assert_eq!(plain.speed, Speed::Plain);
        assert!(plain.session_cache_ttl.is_zero());
        let problems = Config::from_map(&vars(&[("BUENDEL_SPEED", "turbo")]), false).unwrap_err();
        assert_eq!(
            problems,
            vec!["BUENDEL_SPEED: „turbo“ ist kein(e) Wert fast oder plain.".to_string()]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = Config::from_map(
            &vars(&[
                ("BUENDEL_PORT", "achtzig"),
                ("BUENDEL_NOW", "morgen"),
                ("BUENDEL_MAIL_TRANSPORT", "taube"),
            ]),
            false,
        )
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("BUENDEL_PORT"));
        assert!(problems.iter().any(|p| p.starts_with("BUENDEL_NOW")));
        assert!(problems.iter().any(|p| p.contains("taube")));
    }

    #[test]
    fn server_without_secret_key_is_refused_when_required() {
        let problems = Config::from_map(&vars(&[]), true).unwrap_err();
        assert!(problems[0].starts_with("BUENDEL_SECRET_KEY: fehlt"), "{problems:?}");
        assert!(Config::from_map(&vars(&[]), false).is_ok());
    }

    #[test]
    fn short_secret_key_is_refused() {
        let problems = Config::from_map(&vars(&[("BUENDEL_SECRET_KEY", "c2hvcnQ=")]), false).unwrap_err();
        assert!(problems[0].contains("64 Byte"));
    }

    #[test]
    fn smtp_url_selects_smtp() {
        let c = Config::from_map(&vars(&[("SMTP_URL", "smtp://mail.example:587")]), false).unwrap();
        assert_eq!(c.mail_transport, MailTransport::Smtp("smtp://mail.example:587".into()));
    }

    #[test]
    fn process_cost_is_optional_and_read_in_german_notation() {
        assert_eq!(Config::from_map(&vars(&[]), false).unwrap().process_cost, None);
        let c = Config::from_map(&vars(&[("BUENDEL_PROCESS_COST", "5.000,50")]), false).unwrap();
        assert_eq!(c.process_cost.unwrap().minor(), 500_050);
        for bad in ["viel", "0", "-5", "1,234"] {
            let problems = Config::from_map(&vars(&[("BUENDEL_PROCESS_COST", bad)]), false).unwrap_err();
            assert!(problems[0].starts_with("BUENDEL_PROCESS_COST"), "{bad}: {problems:?}");
        }
    }

    #[test]
    fn ocid_prefix_is_checked() {
        assert_eq!(Config::from_map(&vars(&[]), false).unwrap().ocid_prefix, "ocds-buendel");
        let problems = Config::from_map(&vars(&[("BUENDEL_OCID_PREFIX", "Mein Präfix")]), false).unwrap_err();
        assert!(problems[0].starts_with("BUENDEL_OCID_PREFIX"));
    }

    #[test]
    fn clock_shift_is_applied() {
        let c = Config::from_map(
            &vars(&[
                ("BUENDEL_NOW", "2026-12-01T09:00:00Z"),
                ("BUENDEL_CLOCK_SHIFT", "+14d"),
                ("BUENDEL_CLOCK_FROZEN", "true"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(c.clock().now().to_rfc3339(), "2026-12-15T09:00:00+00:00");
    }
}
