//! Reading one distribution with what slips and stations show about it.

use chrono::{DateTime, Utc};
use mediadist_domain::names::mask_name;
use mediadist_domain::{MediaType, Reference, Status, Urgency};
use sqlx::{PgPool, Row};
use std::fmt;

/// One distribution as the kiosk shows it. `patient_name` is the full name
/// as stored: show it only through [`DistributionRow::masked_patient`].
#[derive(Clone, PartialEq, Eq)]
pub struct DistributionRow {
    pub id: i64,
    pub status: Status,
    pub media_type: MediaType,
    pub quantity: i32,
    pub urgency: Urgency,
    pub request_date: DateTime<Utc>,
    pub slip_version: i32,
    pub storage_location: Option<String>,
    pub collected_at: Option<DateTime<Utc>>,
    /// Username of the staff member who handed it over.
    pub handed_over_by: Option<String>,
    pub patient_name: String,
}

impl DistributionRow {
    pub fn reference(&self) -> Reference {
        Reference::from_id(self.id)
    }

    /// `AHMAD B*** A***`.
    pub fn masked_patient(&self) -> String {
        mask_name(&self.patient_name)
    }

    /// `CD x 1`, `X-ray film x 2`.
    pub fn media_line(&self) -> String {
        format!("{} x {}", self.media_type.label(), self.quantity)
    }
}

// Hand-written so a stray `{:?}` in a log never prints the full name.
impl fmt::Debug for DistributionRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DistributionRow")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("media_type", &self.media_type)
            .field("quantity", &self.quantity)
            .field("urgency", &self.urgency)
            .field("request_date", &self.request_date)
            .field("slip_version", &self.slip_version)
            .field("storage_location", &self.storage_location)
            .field("collected_at", &self.collected_at)
            .field("handed_over_by", &self.handed_over_by)
            .field("patient", &self.masked_patient())
            .finish()
    }
}

const COLUMNS: &str = "SELECT d.id, d.status, d.media_type, d.quantity, d.urgency, d.request_date, d.slip_version,
        d.storage_location, d.collection_datetime, h.username AS handed_over_by, p.name AS patient_name, p.mrn
 FROM media_distributions d
 JOIN patients p ON p.id = d.patient_id
 LEFT JOIN staff h ON h.id = d.handed_over_by_id";

/// Loads distribution `id`, or `None` when there is no such request.
pub async fn find(pool: &PgPool, id: i64) -> Result<Option<DistributionRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "{COLUMNS} WHERE d.id = $1 AND d.deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| from_row(&r)).transpose()
}

/// Open requests (not collected or cancelled) of patients whose MRN is
/// `text`, or whose name holds every word of it: the desk's way to a
/// request when the slip is lost. At most `limit`, oldest first.
pub async fn search(
    pool: &PgPool,
    text: &str,
    limit: i64,
) -> Result<Vec<(DistributionRow, String)>, sqlx::Error> {
    let words: Vec<String> = text
        .split(|c: char| c == '^' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(|w| format!("%{}%", mediadist_platform::db::escape_like(w)))
        .collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(&format!(
        "{COLUMNS} WHERE d.deleted_at IS NULL AND d.status NOT IN ('COLLECTED', 'CANCELLED')
           AND (p.mrn = $1 OR p.name ILIKE ALL($2))
         ORDER BY d.request_date, d.id LIMIT $3"
    ))
    .bind(text.trim())
    .bind(&words)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((from_row(r)?, r.try_get("mrn")?)))
        .collect()
}

fn from_row(r: &sqlx::postgres::PgRow) -> Result<DistributionRow, sqlx::Error> {
    // The columns are constrained by the schema; an unknown value is a bug, reported as a decode error.
    let bad = |what: &str| {
        sqlx::Error::Decode(format!("media_distributions.{what} holds an unknown value").into())
    };
    Ok(DistributionRow {
        id: r.try_get("id")?,
        status: Status::parse(r.try_get("status")?, "status").map_err(|_| bad("status"))?,
        media_type: MediaType::parse(r.try_get("media_type")?, "media_type")
            .map_err(|_| bad("media_type"))?,
        quantity: r.try_get("quantity")?,
        urgency: Urgency::parse(r.try_get("urgency")?, "urgency").map_err(|_| bad("urgency"))?,
        request_date: r.try_get("request_date")?,
        slip_version: r.try_get("slip_version")?,
        storage_location: r.try_get("storage_location")?,
        collected_at: r.try_get("collection_datetime")?,
        handed_over_by: r.try_get("handed_over_by")?,
        patient_name: r.try_get("patient_name")?,
    })
}
