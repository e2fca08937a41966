//! The scan stations: a keyboard-wedge scanner types a slip's QR payload and
//! Enter; the operator types answers on the same keyboard. One line in, one
//! or more lines out, so a script or a test can drive it exactly as a person
//! would.
//!
//! Each scanned line is trimmed. A reference (`MD-000042`, `42`) is a manual
//! entry; anything else must verify as a slip token signed with
//! `cfg.slip_key`, or it is refused without sending anything. A blank line
//! is ignored; `quit` or the end of input closes the station. `find <name or
//! MRN>` lists open requests (masked) for a patient who lost the slip;
//! `image <file>` reads the slip's code from a photo or scan of it.
//!
//! Output lines the operator (and tests) rely on:
//!
//! - `PREPARING MD-000042`, `READY MD-000042 at <shelf>`, `COLLECTED MD-000042 by <masked document>`
//! - `REFUSED: <REASON_CODE>: <message>`: refused here or by the worker;
//!   nothing changed.
//! - `NOT RECORDED: <why>; ... try again`: the broker or database could not
//!   be reached, or no answer came in time; nothing may be assumed.
//!
//! A full IC number or a full patient name is never written.

use crate::board::Board;
use crate::error::KioskError;
use crate::lookup::{self, DistributionRow};
use crate::receipt::{self, ReceiptOutput};
use mediadist_domain::catalog::CommandType;
use mediadist_domain::command::{
    CollectorData, HandoverData, MarkReadyData, StartPreparingData, TargetData,
};
use mediadist_domain::identity::{DocumentInput, IdentityDocument};
use mediadist_domain::reply::{Outcome as ReplyOutcome, Reply};
use mediadist_domain::roles::Action;
use mediadist_domain::values::required_text;
use mediadist_domain::{
    FieldError, ReasonCode, Reference, Rejection, Relationship, SlipKey, SlipToken, Status,
};
use mediadist_platform::client::{ClientError, CommandClient};
use mediadist_platform::{store, Config};
use sqlx::PgPool;
use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::watch;

/// How long the station waits for a worker's answer by default.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer input lines are cut here (a scanner never sends this much).
pub const MAX_LINE_BYTES: usize = 1024;
/// How often a wrong answer is asked again before the handover is refused.
pub const ATTEMPTS: u32 = 3;
/// At most this many requests answer a search.
pub const FIND_LIMIT: i64 = 10;
/// Printed whenever the station waits for the next slip.
pub const SCAN_PROMPT: &str = "Scan slip or type reference:";
pub const SHELF_PROMPT: &str = "Shelf location:";
pub const USERNAME_PROMPT: &str = "Username:";
pub const PIN_PROMPT: &str = "PIN:";
pub const DOCUMENT_TYPE_PROMPT: &str = "Document type (MYKAD/PASSPORT/OTHER):";
pub const COUNTRY_PROMPT: &str = "Issuing country (e.g. IDN):";
pub const DOCUMENT_DESCRIPTION_PROMPT: &str = "Document description (e.g. police card):";
pub const DOCUMENT_NUMBER_PROMPT: &str = "Document number:";
pub const COLLECTOR_NAME_PROMPT: &str = "Collector name:";
pub const RELATIONSHIP_PROMPT: &str =
    "Relationship (SELF/SPOUSE/PARENT/CHILD/SIBLING/GUARDIAN/REFERRAL_HOSPITAL_STAFF/OTHER):";
pub const RELATIONSHIP_OTHER_PROMPT: &str = "Relationship description:";
pub const AUTHORITY_PROMPT: &str = "Authority reference (blank for none):";
pub const DOCUMENT_SEEN_PROMPT: &str = "Document seen? (y/n)";

/// What the station is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Radiographer: REQUESTED → PREPARING, then PREPARING → READY with a shelf.
    Prepare,
    /// Reception: READY → COLLECTED after the collector's identity check.
    Handover,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Prepare => "prepare",
            Mode::Handover => "handover",
        }
    }

    /// The step the operator must be allowed to take.
    fn action(self) -> Action {
        match self {
            Mode::Prepare => Action::StartPreparing,
            Mode::Handover => Action::Handover,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "prepare" => Ok(Mode::Prepare),
            "handover" => Ok(Mode::Handover),
            other => Err(format!(
                "'{other}' is not a station mode (prepare, handover)"
            )),
        }
    }
}

/// What a station session did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StationSummary {
    /// Steps a worker accepted.
    pub accepted: usize,
    /// Scans refused, here or by a worker.
    pub refused: usize,
    /// Steps whose outcome is unknown (broker, database or timeout), and a
    /// sequence cut short by the end of input.
    pub not_recorded: usize,
}

/// A scan station. Build it with [`Station::new`], then [`Station::run`] it
/// over any line input and any writer.
pub struct Station<'a> {
    cfg: &'a Config,
    pool: &'a PgPool,
    client: &'a CommandClient,
    mode: Mode,
    operator: String,
    reply_timeout: Duration,
    board: Option<watch::Receiver<Option<Board>>>,
    /// With PIN sign-in: how long without input before the operator is signed out.
    idle_sign_out: Option<Duration>,
    receipts: Option<ReceiptOutput>,
    hide_pin: bool,
}

/// Runs a station with the default reply timeout; see [`Station::run`].
pub async fn run<R, W>(
    cfg: &Config,
    pool: &PgPool,
    client: &CommandClient,
    mode: Mode,
    operator: &str,
    input: R,
    out: &mut W,
) -> Result<StationSummary, KioskError>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    Station::new(cfg, pool, client, mode, operator)
        .run(input, out)
        .await
}

impl<'a> Station<'a> {
    /// `pool` is read for statuses (never written); changes go to the
    /// workers through `client` as `operator`.
    pub fn new(
        cfg: &'a Config,
        pool: &'a PgPool,
        client: &'a CommandClient,
        mode: Mode,
        operator: &str,
    ) -> Self {
        Station {
            cfg,
            pool,
            client,
            mode,
            operator: operator.trim().to_lowercase(),
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            board: None,
            idle_sign_out: None,
            receipts: None,
            hide_pin: false,
        }
    }

    /// Turns the terminal's echo off while the PIN is typed (`stty`, on the
    /// controlling terminal): for a station whose input is a real keyboard.
    pub fn with_hidden_pin(mut self) -> Self {
        self.hide_pin = true;
        self
    }

    /// Writes a receipt after each recorded handover.
    pub fn with_receipts(mut self, out: ReceiptOutput) -> Self {
        self.receipts = Some(out);
        self
    }

    /// Operators sign in with username and PIN (the `operator` given to
    /// [`Station::new`] is ignored), sign out with `logout`, and are signed
    /// out after `idle` without input.
    pub fn with_pin_sign_in(mut self, idle: Duration) -> Self {
        self.idle_sign_out = Some(idle);
        self
    }

    /// Shows the live READY board (see [`crate::board::follow`]): a `BOARD:`
    /// line whenever it changes while the station waits for a scan.
    pub fn with_board(mut self, board: watch::Receiver<Option<Board>>) -> Self {
        self.board = Some(board);
        self
    }

    /// How long to wait for a worker's answer before `NOT RECORDED`.
    pub fn with_reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = timeout;
        self
    }

    /// Checks that the operator may run this station (an error before any
    /// output otherwise), or with [`Station::with_pin_sign_in`] asks for a
    /// username and PIN; then serves scans from `input` until `quit` or the
    /// end of input, writing to `out`. Fails only when `out` or `input`
    /// fails or a named operator is refused; every scan's problem is a line
    /// of output, and the station goes on.
    pub async fn run<R, W>(&self, input: R, out: &mut W) -> Result<StationSummary, KioskError>
    where
        R: AsyncBufRead + Unpin,
        W: Write,
    {
        let mut s = Session {
            input,
            out,
            summary: StationSummary::default(),
            partial: Vec::new(),
            started: false,
            operator: self.operator.clone(),
        };
        let title = self.mode.as_str().to_uppercase();
        match self.idle_sign_out {
            None => {
                self.check_operator().await?;
                s.say(&format!(
                    "{title} station, operator {}. Type quit to end.",
                    self.operator
                ))?;
            }
            Some(_) => {
                s.say(&format!(
                    "{title} station. Sign in with your username and PIN; type quit to end."
                ))?;
                if !self.sign_in(&mut s).await? {
                    return Ok(self.close(s)?);
                }
            }
        }
        let mut board = self.board.clone();
        let mut prompt = true;
        loop {
            if prompt {
                show_board(&mut board, &mut s, false)?;
                s.say(SCAN_PROMPT)?;
                prompt = false;
            }
            // Between scans the board may change and a signed-in operator
            // may walk away; a half-typed line survives either.
            let idle = self.idle_sign_out.unwrap_or(Duration::MAX);
            let next = tokio::select! {
                line = s.line() => Next::Line(line?),
                changed = board_changed(&mut board) => Next::Board(changed),
                _ = tokio::time::sleep(idle) => Next::Idle,
            };
            let line = match next {
                Next::Line(line) => line,
                Next::Board(true) => {
                    // `changed` marked it seen: show it now.
                    show_board(&mut board, &mut s, true)?;
                    s.say(SCAN_PROMPT)?;
                    continue;
                }
                Next::Board(false) => {
                    board = None;
                    continue;
                }
                Next::Idle => {
                    // Whatever the last operator half typed is not the next one's.
                    s.partial.clear();
                    s.started = false;
                    s.say(&format!(
                        "SIGNED OUT: {} after {} without a scan.",
                        s.operator,
                        minutes_or_seconds(idle)
                    ))?;
                    if !self.sign_in(&mut s).await? {
                        break;
                    }
                    prompt = true;
                    continue;
                }
            };
            let Some(line) = line else { break };
            if line.is_empty() {
                continue;
            }
            if line.eq_ignore_ascii_case("quit") {
                break;
            }
            prompt = true;
            if self.idle_sign_out.is_some() && line.eq_ignore_ascii_case("logout") {
                s.say(&format!("SIGNED OUT: {}.", s.operator))?;
                if !self.sign_in(&mut s).await? {
                    break;
                }
                continue;
            }
            if let Some(text) = find_text(&line) {
                self.find(text, &mut s).await?;
                continue;
            }
            // A photo or scan of the slip, when the hand scanner cannot read it.
            let line = match image_path(&line) {
                Some(path) => match read_slip_image(&self.cfg.slip_key, path).await {
                    Ok(token) => token,
                    Err(why) => {
                        s.report(Outcome::Refused(why))?;
                        continue;
                    }
                },
                None => line,
            };
            let outcome = self.scan(&line, &mut s).await?;
            let ended = matches!(outcome, Outcome::InputEnded);
            s.report(outcome)?;
            if ended {
                break;
            }
        }
        Ok(self.close(s)?)
    }

    fn close<R: AsyncBufRead + Unpin, W: Write>(
        &self,
        mut s: Session<'_, R, W>,
    ) -> std::io::Result<StationSummary> {
        let t = s.summary;
        s.say(&format!(
            "Station closed: {} accepted, {} refused, {} not recorded.",
            t.accepted, t.refused, t.not_recorded
        ))?;
        Ok(t)
    }

    /// Username and PIN until someone who may run this station signs in;
    /// false when the input ended or `quit` was typed instead.
    async fn sign_in<R, W>(&self, s: &mut Session<'_, R, W>) -> Result<bool, KioskError>
    where
        R: AsyncBufRead + Unpin,
        W: Write,
    {
        loop {
            let Some(username) = s.ask(USERNAME_PROMPT).await? else {
                return Ok(false);
            };
            if username.eq_ignore_ascii_case("quit") {
                return Ok(false);
            }
            if username.is_empty() {
                continue;
            }
            let pin = if self.hide_pin {
                terminal_echo(false);
                let pin = s.ask(PIN_PROMPT).await;
                terminal_echo(true);
                s.say("")?;
                pin?
            } else {
                s.ask(PIN_PROMPT).await?
            };
            let Some(pin) = pin else {
                return Ok(false);
            };
            let signed_in = match self.pool.acquire().await {
                Ok(mut conn) => store::sign_in_with_pin(&mut conn, &username, &pin).await,
                Err(e) => Err(e),
            };
            let refusal = match signed_in {
                Ok(Ok(staff)) => match staff.actor.authorise(self.mode.action()) {
                    Ok(()) => {
                        s.operator = staff.actor.username.clone();
                        s.say(&format!(
                            "SIGNED IN: {} ({}). Type logout to sign out.",
                            staff.actor.username, staff.actor.role
                        ))?;
                        return Ok(true);
                    }
                    Err(r) => r.to_string(),
                },
                Ok(Err(r)) => r.to_string(),
                Err(e) => {
                    tracing::warn!(error = %e, "station sign-in could not reach the database");
                    "the database could not be reached; try again".into()
                }
            };
            s.say(&format!("SIGN-IN REFUSED: {refusal}"))?;
        }
    }

    async fn check_operator(&self) -> Result<(), KioskError> {
        let mut conn = self.pool.acquire().await?;
        let staff = store::load_staff(&mut conn, &self.operator)
            .await?
            .map_err(KioskError::Operator)?;
        staff
            .actor
            .authorise(self.mode.action())
            .map_err(KioskError::Operator)
    }

    /// The lost-slip search: open requests by MRN or name, masked, so the
    /// operator can type the reference after checking the document.
    async fn find<R, W>(&self, text: &str, s: &mut Session<'_, R, W>) -> Result<(), KioskError>
    where
        R: AsyncBufRead + Unpin,
        W: Write,
    {
        let text = match mediadist_domain::SearchText::parse(text, "find") {
            Ok(t) => t,
            Err(e) => return Ok(s.say(&format!("FOUND: nothing searched; {}", e.reason))?),
        };
        match lookup::search(self.pool, text.as_str(), FIND_LIMIT).await {
            Ok(rows) if rows.is_empty() => {
                s.say("FOUND: no open request; check the spelling, or search by MRN")?
            }
            Ok(rows) => {
                for (row, mrn) in rows {
                    s.say(&format!(
                        "FOUND {} {} MRN {} {} {}",
                        row.reference(),
                        row.masked_patient(),
                        mrn,
                        row.media_line(),
                        row.status
                    ))?;
                }
                s.say("Type the reference to go on; it is recorded as slip not presented.")?;
            }
            Err(e) => {
                tracing::warn!(error = %e, "station search failed");
                s.say("FOUND: the database could not be searched; try again")?;
            }
        }
        Ok(())
    }

    /// One scan, with any questions that follow it.
    async fn scan<R, W>(&self, line: &str, s: &mut Session<'_, R, W>) -> Result<Outcome, KioskError>
    where
        R: AsyncBufRead + Unpin,
        W: Write,
    {
        let scanned = match Scanned::parse(&self.cfg.slip_key, line) {
            Ok(x) => x,
            Err(r) => return Ok(Outcome::Refused(r.to_string())),
        };
        let row = match lookup::find(self.pool, scanned.id()).await {
            Ok(Some(row)) => row,
            Ok(None) => return Ok(Outcome::Refused(scanned.not_found().to_string())),
            Err(e) => {
                tracing::warn!(error = %e, "station could not read a distribution");
                return Ok(Outcome::NotRecorded(format!(
                    "could not read the request from the database ({e}); try again"
                )));
            }
        };
        if let Scanned::Token(t) = &scanned {
            if t.slip_version != row.slip_version {
                return Ok(refused(
                    ReasonCode::TokenSuperseded,
                    "this slip was replaced by a reprint; ask for the newest slip or type the reference",
                ));
            }
        }
        let target = scanned.target();
        match self.mode {
            Mode::Prepare => self.prepare(&row, target, s).await,
            Mode::Handover => self.handover(&row, target, s).await,
        }
    }

    async fn prepare<R, W>(
        &self,
        row: &DistributionRow,
        target: TargetData,
        s: &mut Session<'_, R, W>,
    ) -> Result<Outcome, KioskError>
    where
        R: AsyncBufRead + Unpin,
        W: Write,
    {
        let reference = row.reference();
        match row.status {
            Status::Requested => {
                let data = StartPreparingData {
                    target,
                    actor: s.operator.clone(),
                };
                Ok(self
                    .send(
                        CommandType::StartPreparing,
                        &data,
                        format!("PREPARING {reference}"),
                    )
                    .await)
            }
            Status::Preparing => {
                let Some(shelf) = s.ask(SHELF_PROMPT).await? else {
                    return Ok(Outcome::InputEnded);
                };
                if self.cfg.slip_key.verify(&shelf).is_ok()
                    || Reference::parse(&shelf, "reference").is_ok()
                {
                    return Ok(invalid(
                        "storage_location",
                        "that is a slip code or a reference, not a shelf location; scan the slip again",
                    ));
                }
                let shelf = match required_text(Some(&shelf), "storage_location", 60) {
                    Ok(v) => v,
                    Err(e) => return Ok(Outcome::Refused(Rejection::from(e).to_string())),
                };
                let accepted = format!("READY {reference} at {shelf}");
                let data = MarkReadyData {
                    target,
                    storage_location: shelf,
                    actor: s.operator.clone(),
                };
                Ok(self.send(CommandType::MarkReady, &data, accepted).await)
            }
            Status::Ready => Ok(refused(
                ReasonCode::IllegalTransition,
                &format!(
                    "{reference} is already READY at {}; nothing to do",
                    row.storage_location
                        .as_deref()
                        .unwrap_or("an unrecorded shelf")
                ),
            )),
            Status::Collected | Status::Cancelled => Ok(final_refusal(row)),
        }
    }

    async fn handover<R, W>(
        &self,
        row: &DistributionRow,
        target: TargetData,
        s: &mut Session<'_, R, W>,
    ) -> Result<Outcome, KioskError>
    where
        R: AsyncBufRead + Unpin,
        W: Write,
    {
        let reference = row.reference();
        s.say(&format!("Reference: {reference}"))?;
        s.say(&format!("Patient: {}", row.masked_patient()))?;
        s.say(&format!("Media: {}", row.media_line()))?;
        s.say(&format!(
            "Shelf: {}",
            row.storage_location.as_deref().unwrap_or("-")
        ))?;
        s.say(&format!("Status: {}", row.status))?;
        match row.status {
            Status::Ready => {}
            Status::Requested | Status::Preparing => {
                return Ok(refused(
                    ReasonCode::NotReady,
                    &format!(
                        "the media is not ready yet (status {}); ask the radiographer",
                        row.status
                    ),
                ))
            }
            Status::Collected | Status::Cancelled => return Ok(final_refusal(row)),
        }

        macro_rules! ask {
            ($prompt:expr) => {
                match s.ask($prompt).await? {
                    Some(answer) => answer,
                    None => return Ok(Outcome::InputEnded),
                }
            };
        }
        // Each answer is checked as it is typed; a wrong one is asked again
        // (ATTEMPTS in all) instead of throwing the whole handover away.
        // Refusals never echo what was typed: it may be someone's IC number.
        macro_rules! ask_valid {
            ($prompt:expr, $check:expr) => {{
                let mut tries = 0;
                loop {
                    let answer = ask!($prompt);
                    match $check(answer.as_str()) {
                        Ok(v) => break v,
                        Err(e) => {
                            let e: FieldError = e;
                            tries += 1;
                            if tries == ATTEMPTS {
                                return Ok(Outcome::Refused(Rejection::from(e).to_string()));
                            }
                            s.say(&format!("TRY AGAIN: {}", e.reason))?;
                        }
                    }
                }
            }};
        }
        let kind = ask_valid!(
            DOCUMENT_TYPE_PROMPT,
            |a: &str| match a.to_ascii_uppercase().as_str() {
                "MYKAD" | "IC" | "NRIC" => Ok("MYKAD"),
                "PASSPORT" => Ok("PASSPORT"),
                "OTHER" => Ok("OTHER"),
                _ => Err(FieldError::new(
                    "collector.document.type",
                    "answer MYKAD, PASSPORT or OTHER",
                )),
            }
        );
        let country = match kind {
            "PASSPORT" => Some(ask!(COUNTRY_PROMPT)),
            _ => None,
        };
        let description = match kind {
            "OTHER" => Some(ask_valid!(DOCUMENT_DESCRIPTION_PROMPT, |a: &str| {
                required_text(Some(a), "collector.document.description", 60).map_err(|_| {
                    FieldError::new(
                        "collector.document.description",
                        "say what the document is (1 to 60 characters), e.g. police card",
                    )
                })
            })),
            _ => None,
        };
        let document = ask_valid!(DOCUMENT_NUMBER_PROMPT, |n: &str| {
            let d = DocumentInput {
                kind: kind.to_string(),
                number: n.to_string(),
                country: country.clone(),
                description: description.clone(),
            };
            IdentityDocument::parse(&d, "collector.document").map(|_| d)
        });
        let name = ask!(COLLECTOR_NAME_PROMPT);
        let relationship = ask_valid!(RELATIONSHIP_PROMPT, |a: &str| {
            Relationship::parse(a, "collector.relationship").map_err(|_| {
                FieldError::new(
                    "collector.relationship",
                    "answer one of SELF, SPOUSE, PARENT, CHILD, SIBLING, GUARDIAN, REFERRAL_HOSPITAL_STAFF, OTHER",
                )
            })
        });
        let relationship_other = match relationship {
            Relationship::Other => Some(ask!(RELATIONSHIP_OTHER_PROMPT)),
            _ => None,
        };
        // The patient collecting for themselves needs no letter.
        let authority_reference = match relationship {
            Relationship::SelfCollect => None,
            _ => Some(ask!(AUTHORITY_PROMPT)).filter(|a| !a.is_empty()),
        };
        let document_seen = ask_valid!(DOCUMENT_SEEN_PROMPT, |a: &str| match a
            .to_ascii_lowercase()
            .as_str()
        {
            "y" | "yes" => Ok(true),
            "n" | "no" => Ok(false),
            _ => Err(FieldError::new("document_seen", "answer y or n")),
        });

        let collector = CollectorData {
            name,
            document,
            relationship: relationship.as_str().to_string(),
            relationship_other,
            authority_reference,
        };
        let valid = match collector.validate() {
            Ok(c) => c,
            Err(e) => return Ok(Outcome::Refused(Rejection::from(e).to_string())),
        };
        let masked = valid.document.masked();
        let accepted = format!("COLLECTED {reference} by {masked}");
        let data = HandoverData {
            target,
            collector,
            document_seen,
            comments: None,
            actor: s.operator.clone(),
        };
        let outcome = self.send(CommandType::Handover, &data, accepted).await;
        // Only a recorded handover gets a receipt.
        match (outcome, &self.receipts) {
            (Outcome::Accepted(line), Some(out)) => {
                let note = self
                    .receipt(row.id, &masked, relationship.as_str(), out)
                    .await;
                Ok(Outcome::Accepted(format!("{line}; {note}")))
            }
            (outcome, _) => Ok(outcome),
        }
    }

    /// Writes the receipt from what the database recorded; says where, or
    /// why not (the handover stands either way).
    async fn receipt(
        &self,
        id: i64,
        masked: &str,
        relationship: &str,
        out: &ReceiptOutput,
    ) -> String {
        let row = match lookup::find(self.pool, id).await {
            Ok(Some(row)) => row,
            Ok(None) => return "receipt not printed: the request is gone".into(),
            Err(e) => {
                tracing::warn!(error = %e, "receipt: could not read the handover");
                return "receipt not printed (database); the handover is recorded".into();
            }
        };
        let token = self.cfg.slip_key.sign(row.id, row.slip_version);
        let view = receipt::view(
            &self.cfg.hospital_name,
            &row,
            masked,
            relationship,
            token.as_str(),
        );
        match receipt::write(out, &view) {
            Ok(path) => format!("receipt {}", path.display()),
            Err(e) => format!("receipt not printed ({e}); the handover is recorded"),
        }
    }

    /// Sends a command and turns its answer into the line to print;
    /// `accepted` is printed when the worker accepts.
    async fn send<T: serde::Serialize>(
        &self,
        command: CommandType,
        data: &T,
        accepted: String,
    ) -> Outcome {
        let data = match serde_json::to_value(data) {
            Ok(v) => v,
            Err(e) => return Outcome::NotRecorded(format!("could not encode the command ({e})")),
        };
        let reply = match self.client.send(command, data, self.reply_timeout).await {
            Ok(reply) => reply,
            Err(ClientError::Timeout(t)) => {
                return Outcome::NotRecorded(format!(
                    "no answer from the workers within {t:?}; scan the slip again to see whether it was recorded, then try again"
                ))
            }
            Err(e) => return Outcome::NotRecorded(format!("{e}; try again")),
        };
        outcome_of(reply, accepted)
    }
}

fn outcome_of(reply: Reply, accepted: String) -> Outcome {
    match (reply.outcome, reply.rejection) {
        (ReplyOutcome::Accepted, _) => Outcome::Accepted(accepted),
        (ReplyOutcome::Rejected, Some(r)) => Outcome::Refused(r.to_string()),
        (ReplyOutcome::Rejected, None) => {
            Outcome::Refused("the worker refused without giving a reason".to_string())
        }
    }
}

/// What woke a station waiting for a scan.
enum Next {
    Line(Option<String>),
    /// The board changed (false: the board can no longer be followed).
    Board(bool),
    /// Nothing was typed for the idle limit.
    Idle,
}

/// Resolves when the followed board changes; never without a board.
async fn board_changed(board: &mut Option<watch::Receiver<Option<Board>>>) -> bool {
    match board.as_mut() {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// Prints the board if it changed since it was last shown (or anyway).
fn show_board<R: AsyncBufRead + Unpin, W: Write>(
    board: &mut Option<watch::Receiver<Option<Board>>>,
    s: &mut Session<'_, R, W>,
    anyway: bool,
) -> std::io::Result<()> {
    let Some(rx) = board.as_mut() else {
        return Ok(());
    };
    if !anyway && !rx.has_changed().unwrap_or(false) {
        return Ok(());
    }
    let line = rx.borrow_and_update().as_ref().map(Board::line);
    match line {
        Some(line) => s.say(&line),
        None => Ok(()),
    }
}

/// What one scan came to; each prints as one line.
#[derive(Debug)]
enum Outcome {
    Accepted(String),
    /// `CODE: message`.
    Refused(String),
    NotRecorded(String),
    /// The input ended in the middle of a scan's questions.
    InputEnded,
}

fn refused(code: ReasonCode, message: &str) -> Outcome {
    Outcome::Refused(Rejection::new(code, message).to_string())
}

fn invalid(field: &str, reason: &str) -> Outcome {
    Outcome::Refused(Rejection::from(FieldError::new(field, reason)).to_string())
}

/// COLLECTED and CANCELLED requests are refused here, before anything is sent.
fn final_refusal(row: &DistributionRow) -> Outcome {
    let reference = row.reference();
    match row.status {
        Status::Cancelled => refused(
            ReasonCode::AlreadyCancelled,
            &format!("{reference} was cancelled; this slip no longer works"),
        ),
        _ => {
            let when = row
                .collected_at
                .map(|t| format!(" on {}", t.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default();
            let by = row.handed_over_by.as_deref().unwrap_or("unknown staff");
            refused(
                ReasonCode::AlreadyCollected,
                &format!("{reference} was already collected{when}, handed over by {by}"),
            )
        }
    }
}

/// A scanned line that named a distribution.
enum Scanned {
    Reference(Reference),
    Token(SlipToken),
}

impl Scanned {
    /// A reference typed by hand, or else a slip token that must verify.
    fn parse(key: &SlipKey, line: &str) -> Result<Self, Rejection> {
        if let Ok(r) = Reference::parse(line, "reference") {
            return Ok(Scanned::Reference(r));
        }
        key.verify(line)
            .map(Scanned::Token)
            .map_err(|e| Rejection::new(ReasonCode::TokenInvalid, e.to_string()))
    }

    fn id(&self) -> i64 {
        match self {
            Scanned::Reference(r) => r.id(),
            Scanned::Token(t) => t.distribution_id,
        }
    }

    fn target(&self) -> TargetData {
        match self {
            Scanned::Reference(r) => TargetData {
                reference: Some(r.to_string()),
                ..Default::default()
            },
            Scanned::Token(t) => TargetData {
                token: Some(t.as_str().to_string()),
                ..Default::default()
            },
        }
    }

    /// Not echoing the number: a mistyped IC number would parse as a reference.
    fn not_found(&self) -> Rejection {
        match self {
            Scanned::Reference(_) => Rejection::new(
                ReasonCode::NotFound,
                "no request has that reference; check the number on the slip",
            ),
            Scanned::Token(_) => Rejection::new(
                ReasonCode::TokenInvalid,
                "this slip belongs to no request here",
            ),
        }
    }
}

struct Session<'o, R, W> {
    input: R,
    out: &'o mut W,
    summary: StationSummary,
    /// The line read so far: kept here so that waiting for input can be
    /// interrupted (the board changed) without losing typed characters.
    partial: Vec<u8>,
    started: bool,
    /// Who is signed in: every command carries them as its actor.
    operator: String,
}

impl<R: AsyncBufRead + Unpin, W: Write> Session<'_, R, W> {
    fn say(&mut self, line: &str) -> std::io::Result<()> {
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }

    async fn ask(&mut self, prompt: &str) -> std::io::Result<Option<String>> {
        self.say(prompt)?;
        self.line().await
    }

    fn report(&mut self, outcome: Outcome) -> std::io::Result<()> {
        let line = match outcome {
            Outcome::Accepted(l) => {
                self.summary.accepted += 1;
                l
            }
            Outcome::Refused(why) => {
                self.summary.refused += 1;
                format!("REFUSED: {why}")
            }
            Outcome::NotRecorded(why) => {
                self.summary.not_recorded += 1;
                format!("NOT RECORDED: {why}")
            }
            Outcome::InputEnded => {
                self.summary.not_recorded += 1;
                "NOT RECORDED: the input ended before the questions were answered; nothing was sent"
                    .to_string()
            }
        };
        self.say(&line)
    }

    /// The next line, trimmed; `None` at the end of input. Bytes past
    /// [`MAX_LINE_BYTES`] are dropped and invalid UTF-8 is replaced, so a
    /// bad scan becomes a refused line instead of stopping the station.
    /// Cancel-safe: `fill_buf` reads nothing when cancelled, and what was
    /// taken from it is already in `partial`.
    async fn line(&mut self) -> std::io::Result<Option<String>> {
        loop {
            let chunk = self.input.fill_buf().await?;
            if chunk.is_empty() {
                let any = std::mem::take(&mut self.started);
                let buf = std::mem::take(&mut self.partial);
                return Ok(any.then(|| finish(&buf)));
            }
            self.started = true;
            let (take, used, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i, i + 1, true),
                None => (chunk.len(), chunk.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.partial.len());
            self.partial.extend_from_slice(&chunk[..take.min(room)]);
            self.input.consume(used);
            if done {
                self.started = false;
                let buf = std::mem::take(&mut self.partial);
                return Ok(Some(finish(&buf)));
            }
        }
    }
}

/// Echo on or off on the controlling terminal; best effort (no terminal, no
/// stty: the PIN shows, the station still works).
fn terminal_echo(on: bool) {
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return;
    };
    let _ = std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(tty)
        .status();
}

fn minutes_or_seconds(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// `image <file>` (any case): read the slip's code from a photo or scan.
fn image_path(line: &str) -> Option<&str> {
    let (word, rest) = line.split_once(char::is_whitespace)?;
    (word.eq_ignore_ascii_case("image") && !rest.trim().is_empty()).then(|| rest.trim())
}

/// The slip code in an image file; only a code signed with our key counts,
/// so a misread is "could not read", never someone else's request.
async fn read_slip_image(key: &SlipKey, path: &str) -> Result<String, String> {
    let could_not = |why: String| {
        Rejection::new(
            ReasonCode::TokenInvalid,
            format!("could not read a slip code from the image: {why}"),
        )
        .to_string()
    };
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| could_not(e.to_string()))?;
    let key = key.clone();
    tokio::task::spawn_blocking(move || {
        mediadist_slip::decode_with(&bytes, |s| key.verify(s).is_ok()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| could_not(e.to_string()))?
    .map_err(could_not)
}

/// `find <name or MRN>` (any case) asks for the lost-slip search.
fn find_text(line: &str) -> Option<&str> {
    let (word, rest) = line.split_once(char::is_whitespace)?;
    (word.eq_ignore_ascii_case("find") && !rest.trim().is_empty()).then(|| rest.trim())
}

fn finish(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}
