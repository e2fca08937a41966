//! Making a request's collection slip or envelope label: load it, sign a
//! token with the current slip version, lay out what it says, render it as
//! PNG, PDF or ESC/POS.

use crate::error::KioskError;
use crate::lookup::{self, DistributionRow};
use chrono::{Local, NaiveDate};
use mediadist_domain::names::mask_name;
use mediadist_domain::{Reference, SlipToken, Status};
use mediadist_platform::Config;
use mediadist_slip::{romanise_name, SlipView};
pub use mediadist_slip::{Format, Paper};
use sqlx::{PgPool, Row};

pub const TITLE: &str = "MEDIA COLLECTION SLIP";
pub const LABEL_TITLE: &str = "MEDIA ENVELOPE LABEL";
pub const INSTRUCTION: &str = "Bring this slip and your identity card";

/// The patient's slip, or the label for the media envelope. Both carry the
/// same token: scanning either finds the same request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Slip,
    Label,
}

impl Kind {
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Slip => "slip",
            Kind::Label => "label",
        }
    }
}

/// One study on an envelope label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyLine {
    pub date: Option<NaiveDate>,
    pub description: Option<String>,
    pub modalities: Vec<String>,
    pub accession: Option<String>,
}

impl StudyLine {
    /// `2026-11-30 CT THORAX (CT) acc A123`.
    pub fn line(&self) -> String {
        let mut out = match self.date {
            Some(d) => d.format("%Y-%m-%d").to_string(),
            None => "undated".to_string(),
        };
        out.push(' ');
        out.push_str(
            self.description
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .unwrap_or("(no description)"),
        );
        if !self.modalities.is_empty() {
            out.push_str(&format!(" ({})", self.modalities.join("/")));
        }
        if let Some(acc) = self.accession.as_deref().filter(|a| !a.trim().is_empty()) {
            out.push_str(&format!(" acc {}", acc.trim()));
        }
        out
    }
}

/// The patient's name as slips and labels print it: romanised when it is
/// written in another script (marked so), then masked: `AHMAD B*** A***`,
/// `CHEN M*** L*** (romanised)`. Romanising first also splits a Chinese
/// name into syllables, so only the surname is shown in full.
pub fn printed_name(full_name: &str) -> String {
    let (romanised, transliterated) = romanise_name(full_name);
    let masked = mask_name(&romanised);
    if masked.is_empty() {
        "(no name on record)".to_string()
    } else if transliterated {
        format!("{masked} (romanised)")
    } else {
        masked
    }
}

fn common_lines(row: &DistributionRow) -> Vec<String> {
    let requested = row.request_date.with_timezone(&Local).date_naive();
    vec![
        row.media_line(),
        format!("Urgency: {}", row.urgency),
        format!("Requested: {}", requested.format("%Y-%m-%d")),
        format!("Patient: {}", printed_name(&row.patient_name)),
    ]
}

/// What the slip for `row` says. Pure: the patient's name is masked here and
/// nothing else about the patient is printed; the QR holds only `token`.
/// The request date is shown in the kiosk's local time zone.
pub fn view(hospital: &str, row: &DistributionRow, token: &SlipToken) -> SlipView {
    let mut lines = common_lines(row);
    lines.push(INSTRUCTION.to_string());
    SlipView {
        hospital: hospital.to_string(),
        title: TITLE.to_string(),
        reference: row.reference().to_string(),
        lines,
        token: token.as_str().to_string(),
    }
}

/// What the envelope label says: the slip's lines without the instruction,
/// the shelf when known, and the studies on the media.
pub fn label_view(
    hospital: &str,
    row: &DistributionRow,
    token: &SlipToken,
    studies: &[StudyLine],
) -> SlipView {
    let mut lines = common_lines(row);
    if let Some(shelf) = row.storage_location.as_deref() {
        lines.push(format!("Shelf: {shelf}"));
    }
    if studies.is_empty() {
        lines.push("Studies: none on record".to_string());
    } else {
        lines.push(format!("Studies ({}):", studies.len()));
        lines.extend(studies.iter().map(|s| format!("- {}", s.line())));
    }
    SlipView {
        hospital: hospital.to_string(),
        title: LABEL_TITLE.to_string(),
        reference: row.reference().to_string(),
        lines,
        token: token.as_str().to_string(),
    }
}

/// The studies distribution `id` covers, oldest first.
pub async fn studies(pool: &PgPool, id: i64) -> Result<Vec<StudyLine>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.study_date, s.description, s.modalities, s.accession_number
         FROM distribution_studies ds
         JOIN studies s ON s.id = ds.study_id
         WHERE ds.distribution_id = $1
         ORDER BY s.study_date NULLS LAST, s.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StudyLine {
                date: r.try_get("study_date")?,
                description: r.try_get("description")?,
                modalities: r.try_get("modalities")?,
                accession: r.try_get("accession_number")?,
            })
        })
        .collect()
}

/// Loads `reference`, refuses it when it is COLLECTED or CANCELLED, signs a
/// token for its current slip version with `cfg.slip_key`, and renders the
/// slip or label in `format` (`paper` for PNG and ESC/POS). Returns the
/// bytes and the token text.
pub async fn make_document(
    pool: &PgPool,
    cfg: &Config,
    reference: Reference,
    kind: Kind,
    format: Format,
    paper: Paper,
) -> Result<(Vec<u8>, String), KioskError> {
    let row = lookup::find(pool, reference.id())
        .await?
        .ok_or(KioskError::NotFound(reference))?;
    match row.status {
        Status::Collected => return Err(KioskError::AlreadyCollected(reference)),
        Status::Cancelled => return Err(KioskError::Cancelled(reference)),
        Status::Requested | Status::Preparing | Status::Ready => {}
    }
    let token = cfg.slip_key.sign(row.id, row.slip_version);
    let view = match kind {
        Kind::Slip => view(&cfg.hospital_name, &row, &token),
        Kind::Label => label_view(
            &cfg.hospital_name,
            &row,
            &token,
            &studies(pool, row.id).await?,
        ),
    };
    let bytes = mediadist_slip::render(&view, format, paper)?;
    Ok((bytes, token.as_str().to_string()))
}

/// [`make_document`] for the patient's slip as a PNG.
pub async fn make_slip(
    pool: &PgPool,
    cfg: &Config,
    reference: Reference,
    paper: Paper,
) -> Result<(Vec<u8>, String), KioskError> {
    make_document(pool, cfg, reference, Kind::Slip, Format::Png, paper).await
}
