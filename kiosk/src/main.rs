//! `kiosk`: print collection slips, read a slip's QR code from a photo, and
//! run the scan stations for a keyboard-wedge scanner.

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use mediadist_domain::Reference;
use mediadist_kiosk::reprint;
use mediadist_kiosk::slip::{make_document, Format, Kind, Paper};
use mediadist_kiosk::station::{Mode, Station};
use mediadist_platform::client::CommandClient;
use mediadist_platform::config::ENV_HELP;
use mediadist_platform::{db, telemetry, Config};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "kiosk", about = "mediadist kiosk: collection slips and scan stations", after_help = ENV_HELP)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a request's collection slip (or, with --label, the label for
    /// its media envelope; both carry the same code) as a PNG or raw ESC/POS
    /// bytes for a thermal printer, or an A6 PDF for an office printer.
    #[command(after_help = ENV_HELP)]
    Slip {
        /// The request's reference: MD-000042 or 42.
        reference: String,
        /// Where to write it (a file, or a printer device such as /dev/usb/lp0 for escpos).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// png: 203 dpi, paper wide; escpos: the same dots as printer commands; pdf: A6.
        #[arg(long, value_enum, default_value = "png")]
        format: FormatArg,
        /// Paper roll width in millimetres (png and escpos).
        #[arg(long, value_enum, default_value = "80")]
        paper: PaperArg,
        /// The envelope label (lists the studies) instead of the patient's slip.
        #[arg(long)]
        label: bool,
        /// A replacement for a lost slip: a new code is issued first and the
        /// old slip stops working. Needs --by.
        #[arg(long, requires = "by")]
        reprint: bool,
        /// The staff username the reprint is recorded for (clerk, reception or admin).
        #[arg(long, value_name = "USERNAME")]
        by: Option<String>,
    },
    /// Print the slip code in a photo or scan of a slip (PNG or JPEG).
    ///
    /// Only a code signed with MEDIADIST_SLIP_KEY is printed; anything else
    /// is "could not read", never a wrong code.
    #[command(after_help = ENV_HELP)]
    Decode {
        /// The image file.
        file: PathBuf,
        /// Print any QR code's payload, without checking it is a slip of ours.
        #[arg(long)]
        unverified: bool,
    },
    /// Run a scan station: read scans and answers from stdin, one a line.
    ///
    /// prepare: a REQUESTED slip starts preparation; a PREPARING slip asks for
    /// the shelf and marks it READY. handover: shows whose media it is, asks
    /// for the collector's document, name and relationship, and records the
    /// collection. Operators sign in with their username and PIN (`mediadist
    /// staff add --pin`) and every step is recorded for them; `logout` signs out.
    /// Type a reference (MD-000042) when a slip will not scan, `find <name or
    /// MRN>` when it is lost; `quit` or end of input closes the station.
    #[command(after_help = ENV_HELP)]
    Station {
        #[arg(long, value_enum)]
        mode: ModeArg,
        /// Minutes without a scan before the operator is signed out.
        #[arg(long, default_value_t = 10)]
        idle_minutes: u64,
        /// Handover: write a receipt after each recorded handover, into this
        /// folder (or to a printer device such as /dev/usb/lp0 for escpos).
        #[arg(long, value_name = "DIR_OR_DEVICE")]
        receipts: Option<PathBuf>,
        /// The receipts' format.
        #[arg(long, value_enum, default_value = "png")]
        receipt_format: FormatArg,
        /// The receipts' paper roll width in millimetres (png and escpos).
        #[arg(long, value_enum, default_value = "80")]
        paper: PaperArg,
        /// Seconds to wait for a worker's answer.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum PaperArg {
    #[value(name = "58")]
    Mm58,
    #[value(name = "80")]
    Mm80,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Png,
    Pdf,
    Escpos,
}

impl From<PaperArg> for Paper {
    fn from(p: PaperArg) -> Paper {
        match p {
            PaperArg::Mm58 => Paper::Mm58,
            PaperArg::Mm80 => Paper::Mm80,
        }
    }
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Png => Format::Png,
            FormatArg::Pdf => Format::Pdf,
            FormatArg::Escpos => Format::EscPos,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Prepare,
    Handover,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kiosk: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    // tokio reads stdin on a blocking thread that cannot be cancelled; after
    // `quit` the station must not wait for one more line before exiting.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kiosk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Decode { file, unverified } => {
            let cfg = Config::from_env()?;
            let cant = |e: &dyn std::fmt::Display| {
                anyhow::anyhow!("could not read a QR code from {}: {e}", file.display())
            };
            let bytes = std::fs::read(&file).map_err(|e| cant(&e))?;
            let payload = mediadist_slip::decode_with(&bytes, |s| {
                unverified || cfg.slip_key.verify(s).is_ok()
            })
            .map_err(|e| cant(&e))?;
            println!("{payload}");
            Ok(())
        }
        Command::Slip {
            reference,
            out,
            format,
            paper,
            label,
            reprint,
            by,
        } => {
            let reference = Reference::parse(&reference, "reference")
                .map_err(|e| anyhow::anyhow!("REF {}", e.reason))?;
            let cfg = Config::from_env()?;
            telemetry::init(cfg.json_logs);
            let pool = db::connect(&cfg.database_url, 1)
                .await
                .context("connecting to the database")?;
            if let (true, Some(by)) = (reprint, by) {
                let client = CommandClient::connect(&cfg, "kiosk/reprint")
                    .await
                    .context("connecting to the message broker")?;
                let reissued =
                    reprint::reissue(&client, reference, &by, std::time::Duration::from_secs(10))
                        .await;
                client.close().await;
                reissued?;
            }
            let (paper, format) = (Paper::from(paper), Format::from(format));
            let kind = if label { Kind::Label } else { Kind::Slip };
            let (bytes, _token) =
                make_document(&pool, &cfg, reference, kind, format, paper).await?;
            std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
            println!("{reference}: {} written to {}", kind.noun(), out.display());
            Ok(())
        }
        Command::Station {
            mode,
            idle_minutes,
            receipts,
            receipt_format,
            paper,
            timeout,
        } => {
            let mode = match mode {
                ModeArg::Prepare => Mode::Prepare,
                ModeArg::Handover => Mode::Handover,
            };
            let cfg = Config::from_env()?;
            telemetry::init(cfg.json_logs);
            let pool = db::connect(&cfg.database_url, 2)
                .await
                .context("connecting to the database")?;
            let client = CommandClient::connect(&cfg, &format!("kiosk/{mode}"))
                .await
                .context("connecting to the message broker")?;
            let input = tokio::io::BufReader::new(tokio::io::stdin());
            let mut out = std::io::stdout();
            let mut station = Station::new(&cfg, &pool, &client, mode, "")
                .with_reply_timeout(std::time::Duration::from_secs(timeout.max(1)))
                .with_pin_sign_in(std::time::Duration::from_secs(idle_minutes.max(1) * 60));
            // At a real keyboard the PIN is typed without echo.
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                station = station.with_hidden_pin();
            }
            if let Some(target) = receipts {
                station = station.with_receipts(mediadist_kiosk::receipt::ReceiptOutput {
                    target,
                    format: receipt_format.into(),
                    paper: paper.into(),
                });
            }
            // Reception sees the live READY board between scans.
            if mode == Mode::Handover {
                let id = format!("{}-kiosk-{}", cfg.namespace, std::process::id());
                station = station.with_board(mediadist_kiosk::board::follow(&cfg, &id)?);
            }
            let result = station.run(input, &mut out).await;
            client.close().await;
            result?;
            Ok(())
        }
    }
}
