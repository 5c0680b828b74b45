//! The buendel command line: serve the web app (optionally with demo data), migrate, manage
//! users, verify the audit chain. All of it runs on SQLite or PostgreSQL from `DATABASE_URL`.

use buendel::audit::Actor;
use buendel::config::Config;
use buendel::domain::ids::OrgId;
use buendel::orgs::{self, UserInput};
use buendel::{seed, App};
use clap::{Parser, Subcommand};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "buendel",
    version,
    about = "Gemeinsame öffentliche Beschaffung für Genossenschaften öffentlicher Auftraggeber"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Startet den Webserver (Migrationen laufen beim Start).
    Serve {
        /// Lädt seed-data/ in eine leere Datenbank und zeigt die Demo-Zugänge.
        #[arg(long)]
        demo: bool,
        /// Verzeichnis der Demodaten.
        #[arg(long, default_value = "seed-data")]
        seed_dir: PathBuf,
    },
    /// Wendet ausstehende Migrationen an.
    Migrate,
    /// Füllt eine leere Datenbank mit Demodaten und einer erzeugten Genossenschaft (kdb: 300
    /// Mitglieder, 500 Verträge, 100.000 Katalogpositionen, 1.000.000 Abrufzeilen; tiny: ein Tausendstel).
    Seed {
        #[arg(long, value_parser = ["kdb", "tiny"])]
        scale: String,
        /// Startwert des Zufallsgenerators: gleicher Wert, gleiche Daten.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "seed-data")]
        seed_dir: PathBuf,
    },
    /// Benutzerverwaltung.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Prüfkette des Protokolls.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Legt ein Konto an; das Passwort wird von der Standardeingabe gelesen.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, officer, buyer, vendor oder board
        #[arg(long)]
        role: String,
        /// Nummer oder genauer Name der Organisation
        #[arg(long)]
        organisation: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Prüft die Hash-Kette aller Protokollereignisse und nennt das erste fehlerhafte.
    Verify,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("Fehler: {message}");
    ExitCode::FAILURE
}

/// Reads the configuration; only the server needs the secret key (`serving` without `--demo`).
fn config(secret_required: bool) -> Result<Config, ExitCode> {
    // Debug builds are for development and never need the key.
    Config::from_env(secret_required && !cfg!(debug_assertions)).map_err(|problems| {
        eprintln!("Die Konfiguration ist unvollständig:");
        for p in problems {
            eprintln!("  - {p}");
        }
        ExitCode::FAILURE
    })
}

fn prepare(secret_required: bool) -> Result<App, ExitCode> {
    App::prepare(config(secret_required)?).map_err(fail)
}

/// Refuses a moved clock unless the database holds demo or test data.
fn check_clock(app: &App) -> Result<(), ExitCode> {
    app.db
        .get()
        .and_then(|mut c| buendel::db::data_kind::check_clock(&mut c, &app.state.config))
        .map_err(|e| fail(e.user_detail()))
}

// glibc malloc spends much of a request in arena locks under many threads; mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { demo, seed_dir } => serve(demo, seed_dir),
        Command::Migrate => match prepare(false) {
            Ok(app) => {
                println!("Datenbank ({}) ist auf dem neuesten Stand.", app.db.backend().name());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Seed { scale, seed, seed_dir } => seed_scale(&scale, seed, &seed_dir),
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    name,
                    role,
                    organisation,
                },
        } => {
            let app = match prepare(false) {
                Ok(app) => app,
                Err(code) => return code,
            };
            if let Err(code) = check_clock(&app) {
                return code;
            }
            eprint!("Passwort (mindestens {} Zeichen): ", buendel::auth::MIN_PASSWORD_LEN);
            let mut password = String::new();
            if std::io::stdin().lock().read_line(&mut password).is_err() {
                return fail("Passwort konnte nicht gelesen werden.");
            }
            let result = (|| {
                let mut conn = app.db.get()?;
                let org_id = resolve_org(&mut conn, &organisation)?;
                let input = UserInput {
                    email,
                    name,
                    role,
                    organisation_id: Some(org_id),
                    password: password.trim_end_matches(['\r', '\n']).to_string(),
                };
                let data = input.validate(&mut conn, true)?;
                orgs::create_user(&mut conn, &app.state, &Actor::system("Kommandozeile"), &data)
            })();
            match result {
                Ok(id) => {
                    println!("Konto #{id} angelegt.");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    for (field, messages) in e.field_errors() {
                        eprintln!("  {field}: {}", messages.join(" "));
                    }
                    fail(e.user_detail())
                }
            }
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            // Verifying only reads: no migrations, no outbox directory.
            let config = match config(false) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let result = buendel::db::Db::connect(&config.database_url, 1)
                .and_then(|db| db.get())
                .and_then(|mut c| buendel::audit::verify(&mut c));
            match result {
                Ok(Ok(report)) => {
                    println!(
                        "Protokoll unversehrt: {} Ereignisse in {} Strängen geprüft.",
                        report.events, report.streams
                    );
                    ExitCode::SUCCESS
                }
                Ok(Err(broken)) => {
                    eprintln!("Protokoll verletzt: {broken}");
                    ExitCode::from(2)
                }
                Err(e) => fail(e.user_detail()),
            }
        }
    }
}

fn resolve_org(conn: &mut buendel::db::DbConn, text: &str) -> buendel::error::AppResult<OrgId> {
    use buendel::db::schema::organisations;
    use diesel::prelude::*;
    let found: Option<OrgId> = match text.parse::<OrgId>() {
        Ok(id) => organisations::table
            .find(id)
            .select(organisations::id)
            .first(conn)
            .optional()?,
        Err(_) => organisations::table
            .filter(organisations::name.eq(text))
            .select(organisations::id)
            .first(conn)
            .optional()?,
    };
    found.ok_or_else(|| {
        buendel::error::AppError::field("organisation_id", format!("Organisation „{text}“ nicht gefunden."))
    })
}

fn serve(demo: bool, seed_dir: PathBuf) -> ExitCode {
    let app = match prepare(!demo) {
        Ok(app) => app,
        Err(code) => return code,
    };
    if demo {
        let loaded = app.db.get().and_then(|mut c| {
            if seed::is_empty(&mut c)? {
                seed::load(&mut c, &app.state, &seed_dir).map(Some)
            } else {
                Ok(None)
            }
        });
        match loaded {
            Ok(Some(users)) => {
                println!("Demodaten aus {} geladen.", seed_dir.display());
                print_demo_logins(&users);
            }
            Ok(None) => {
                println!("Die Datenbank enthält bereits Daten; Demodaten wurden nicht erneut geladen.");
                println!(
                    "Demo-Zugänge (falls aus seed-data geladen): Passwort „{}“.",
                    seed::DEMO_PASSWORD
                );
            }
            Err(e) => return fail(format!("Demodaten: {}", e.user_detail())),
        }
    }
    // After the demo data: a fresh demo database is marked by loading it; `--demo` on a database
    // with real data leaves it unmarked and the moved clock refused.
    if let Err(code) = check_clock(&app) {
        return code;
    }
    let config = app.state.config.clone();
    println!(
        "buendel läuft auf {} ({}). Beenden mit Strg+C.",
        config.base_url,
        app.db.backend().name()
    );
    let rocket = app.rocket();
    let result = rocket::execute(rocket.launch());
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(format!("Server: {e}")),
    }
}

fn seed_scale(scale: &str, seed: u64, seed_dir: &std::path::Path) -> ExitCode {
    let Some(plan) = buendel::seed_scale::Plan::by_name(scale) else {
        return fail(format!("unbekannte Größe „{scale}“ (kdb oder tiny)"));
    };
    let app = match prepare(false) {
        Ok(app) => app,
        Err(code) => return code,
    };
    println!("Erzeuge „{scale}“ (Startwert {seed}) in {} …", app.db.backend().name());
    match app
        .db
        .get()
        .and_then(|mut c| buendel::seed_scale::run(&mut c, &app.state, seed_dir, plan, seed))
    {
        Ok(r) => {
            println!(
                "Fertig in {:.1} s: {} Mitglieder, {} Verträge, {} Katalogpositionen, {} Abrufe mit {} Zeilen, {} Protokollereignisse.",
                r.elapsed.as_secs_f64(), r.members, r.contracts, r.catalogue, r.calloffs, r.calloff_lines, r.audit_events
            );
            println!(
                "Demo-Zugänge wie bei „serve --demo“, Passwort „{}“.",
                seed::DEMO_PASSWORD
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.user_detail()),
    }
}

fn print_demo_logins(users: &[seed::UserRow]) {
    println!();
    println!("Demo-Zugänge (Passwort für alle: {}):", seed::DEMO_PASSWORD);
    for u in users {
        println!("  {:<8} {:<42} {}", u.role.code(), u.email, u.name);
    }
    println!();
}
