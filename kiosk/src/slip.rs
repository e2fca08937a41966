//! Making a request's collection slip: load it, sign a token with the
//! current slip version, lay out what the slip says, render the PNG.

use crate::error::KioskError;
use crate::lookup::{self, DistributionRow};
use chrono::Local;
use mediadist_domain::{Reference, SlipToken, Status};
use mediadist_platform::Config;
pub use mediadist_slip::Paper;
use mediadist_slip::SlipView;
use sqlx::PgPool;

pub const TITLE: &str = "MEDIA COLLECTION SLIP";
pub const INSTRUCTION: &str = "Bring this slip and your identity card";

/// What the slip for `row` says. Pure: the patient's name is masked here and
/// nothing else about the patient is printed; the QR holds only `token`.
/// The request date is shown in the kiosk's local time zone.
pub fn view(hospital: &str, row: &DistributionRow, token: &SlipToken) -> SlipView {
    let requested = row.request_date.with_timezone(&Local).date_naive();
    SlipView {
        hospital: hospital.to_string(),
        title: TITLE.to_string(),
        reference: row.reference().to_string(),
        lines: vec![
            row.media_line(),
            format!("Urgency: {}", row.urgency),
            format!("Requested: {}", requested.format("%Y-%m-%d")),
            format!("Patient: {}", row.masked_patient()),
            INSTRUCTION.to_string(),
        ],
        token: token.as_str().to_string(),
    }
}

/// Loads `reference`, refuses it when it is COLLECTED or CANCELLED, signs a
/// token for its current slip version with `cfg.slip_key`, and renders the
/// slip for `paper`. Returns the PNG bytes and the token text.
pub async fn make_slip(
    pool: &PgPool,
    cfg: &Config,
    reference: Reference,
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
    let png = mediadist_slip::render_png(&view(&cfg.hospital_name, &row, &token), paper)?;
    Ok((png, token.as_str().to_string()))
}
