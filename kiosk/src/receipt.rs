//! The handover receipt: printed only after the worker has recorded the
//! handover, with the time and staff the database recorded, the collector's
//! document masked, and the slip's own code (scanning it now answers
//! "already collected").

use crate::lookup::DistributionRow;
use crate::slip::{Format, Paper};
use chrono::Local;
use mediadist_slip::SlipView;
use std::path::{Path, PathBuf};

pub const TITLE: &str = "MEDIA HANDOVER RECEIPT";

/// Where and how a station writes receipts.
#[derive(Debug, Clone)]
pub struct ReceiptOutput {
    /// A folder (one file per receipt), or a printer device for ESC/POS.
    pub target: PathBuf,
    pub format: Format,
    pub paper: Paper,
}

/// What the receipt says: `row` as loaded after the handover was recorded.
pub fn view(
    hospital: &str,
    row: &DistributionRow,
    masked_document: &str,
    relationship: &str,
    token: &str,
) -> SlipView {
    let when = row
        .collected_at
        .map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into());
    let by = row.handed_over_by.as_deref().unwrap_or("-");
    SlipView {
        hospital: hospital.to_string(),
        title: TITLE.to_string(),
        reference: row.reference().to_string(),
        lines: vec![
            format!("Media: {}", row.media_line()),
            format!("Patient: {}", row.masked_patient()),
            format!("Collected by: {masked_document} ({relationship})"),
            format!("Handed over: {when} by {by}"),
            "Keep this receipt.".to_string(),
        ],
        token: token.to_string(),
    }
}

/// Renders and writes the receipt; a folder gets `<REF>-receipt.<ext>`.
pub fn write(out: &ReceiptOutput, view: &SlipView) -> Result<PathBuf, ReceiptError> {
    let bytes = mediadist_slip::render(view, out.format, out.paper)?;
    let path = if out.target.is_dir() {
        out.target.join(file_name(&view.reference, out.format))
    } else {
        out.target.clone()
    };
    write_file(&path, &bytes)?;
    Ok(path)
}

fn file_name(reference: &str, format: Format) -> String {
    let ext = match format {
        Format::Png => "png",
        Format::Pdf => "pdf",
        Format::EscPos => "bin",
    };
    format!("{reference}-receipt.{ext}")
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReceiptError> {
    std::fs::write(path, bytes).map_err(|e| ReceiptError::Write(path.display().to_string(), e))
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error(transparent)]
    Render(#[from] mediadist_slip::SlipError),
    #[error("writing {0}: {1}")]
    Write(String, std::io::Error),
}
