//! `mediadist`: every service in one process, and the operator commands.

use clap::{Parser, Subcommand};
use mediadist::{import, request, show, staff, up};
use mediadist_platform::client::CommandClient;
use mediadist_platform::{config::ENV_HELP, db, telemetry, Config, Shutdown};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "mediadist", version, about = "Radiology media distribution tracker", after_help = ENV_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Migrate, then run intake, preparation, collection, relay and the HTTP API in one process.
    Up {
        /// Import this DICOM folder once the workers are up (the demo).
        #[arg(long)]
        import: Option<PathBuf>,
    },
    /// Create the database if needed and apply migrations.
    Migrate,
    /// Register the studies found in a folder of DICOM files (and DICOMDIR file-sets).
    ImportDicom { path: PathBuf },
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCmd,
    },
    /// Request media for one or more studies of one patient and print the reference.
    Request {
        /// StudyInstanceUID; repeat for several studies.
        #[arg(long = "study", required = true)]
        studies: Vec<String>,
        #[arg(long, default_value = "CD")]
        media: String,
        #[arg(long, default_value_t = 1)]
        quantity: i64,
        #[arg(long, default_value = "NORMAL")]
        urgency: String,
        /// PATIENT, RELATIVE, REFERRAL_HOSPITAL or CLINICIAN.
        #[arg(long, default_value = "PATIENT")]
        requester: String,
        /// Name of the relative or clinician who asked.
        #[arg(long)]
        requester_name: Option<String>,
        /// The referral hospital.
        #[arg(long)]
        organisation: Option<String>,
        /// Consent or referral letter reference.
        #[arg(long)]
        letter: Option<String>,
        #[arg(long)]
        comments: Option<String>,
        /// Staff username making the request.
        #[arg(long)]
        by: String,
    },
    /// Status, fields and the whole audit trail of a request.
    Show { reference: String },
}

#[derive(Subcommand)]
enum StaffCmd {
    /// Add (or update) a staff account.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// CLERK, RADIOGRAPHER, RECEPTION or ADMIN.
        #[arg(long)]
        role: String,
        /// Password for the HTTP API (8 to 200 characters; stored as an
        /// argon2 hash). `-` reads it from standard input.
        #[arg(long, env = "MEDIADIST_STAFF_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// PIN for signing in at a kiosk station (4 to 8 digits; stored as
        /// an argon2 hash).
        #[arg(long, env = "MEDIADIST_STAFF_PIN", hide_env_values = true)]
        pin: Option<String>,
    },
    /// Reopen sign-in (stations and API) closed after too many wrong PINs
    /// or passwords.
    Unlock { username: String },
}

/// Errors end as one clear line, not a stack trace.
fn main() {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mediadist: cannot start: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("mediadist: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    telemetry::init(config.json_logs);
    match cli.command {
        Cmd::Up { import: folder } => {
            let (trigger, shutdown) = Shutdown::new();
            tokio::spawn(trigger.on_signal());
            let services = tokio::spawn(up::run_with_api(config.clone(), shutdown));
            if let Some(folder) = folder {
                let client = CommandClient::connect(&config, "mediadist/import").await?;
                let summary = import::import(&client, &folder, &mut std::io::stderr()).await?;
                eprint!("{summary}");
                client.close().await;
            }
            services.await??;
        }
        Cmd::Migrate => {
            db::connect_and_migrate(&config.database_url, 1).await?;
            println!("database is up to date");
        }
        Cmd::ImportDicom { path } => {
            let client = CommandClient::connect(&config, "mediadist/import").await?;
            let summary = import::import(&client, &path, &mut std::io::stderr()).await?;
            print!("{summary}");
            client.close().await;
        }
        Cmd::Staff {
            command:
                StaffCmd::Add {
                    username,
                    name,
                    role,
                    password,
                    pin,
                },
        } => {
            let pin = pin
                .map(|p| mediadist_domain::Pin::parse(&p, "--pin"))
                .transpose()?;
            let password = match password.as_deref() {
                Some("-") => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    Some(line.trim_end_matches(['\r', '\n']).to_string())
                }
                other => other.map(str::to_string),
            };
            let pool = db::connect_and_migrate(&config.database_url, 1).await?;
            let id = staff::add_with_password(&pool, &username, &name, &role, password.as_deref())
                .await?;
            let mut conn = pool.acquire().await?;
            if let Some(pin) = &pin {
                mediadist_platform::store::set_pin(&mut conn, &username, pin).await?;
            }
            if pin.is_some() || password.is_some() {
                // New secrets, a fresh count of wrong ones.
                mediadist_platform::throttle::reopen(&mut conn, &username).await?;
            }
            // As stored: the username lower case, the role by its name.
            let role = mediadist_domain::Role::parse(&role, "--role")?;
            println!(
                "staff {} ({}) id {id}",
                username.trim().to_lowercase(),
                role.as_str()
            );
        }
        Cmd::Staff {
            command: StaffCmd::Unlock { username },
        } => {
            let pool = db::connect_and_migrate(&config.database_url, 1).await?;
            let mut conn = pool.acquire().await?;
            if mediadist_platform::throttle::reopen(&mut conn, &username).await? {
                println!("sign-in reopened for {}", username.trim());
            } else {
                println!("sign-in was not closed for {}", username.trim());
            }
        }
        Cmd::Request {
            studies,
            media,
            quantity,
            urgency,
            requester,
            requester_name,
            organisation,
            letter,
            comments,
            by,
        } => {
            let client = CommandClient::connect(&config, "mediadist/cli").await?;
            let args = request::RequestArgs {
                studies,
                media,
                quantity,
                urgency,
                requester,
                requester_name,
                organisation,
                letter,
                comments,
                by,
            };
            let reply = request::send(&client, args).await?;
            println!("{}", request::describe(&reply));
            client.close().await;
            if reply.outcome != mediadist_domain::reply::Outcome::Accepted {
                std::process::exit(1);
            }
        }
        Cmd::Show { reference } => {
            let pool = db::connect(&config.database_url, 1).await?;
            print!("{}", show::render(&pool, &reference).await?);
        }
    }
    Ok(())
}
