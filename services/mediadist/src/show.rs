//! `mediadist show REF`: a distribution's fields and its whole audit trail.

use chrono::{DateTime, Utc};
use mediadist_domain::Reference;
use sqlx::{PgPool, Row};
use std::fmt::Write;

pub async fn render(pool: &PgPool, reference: &str) -> anyhow::Result<String> {
    let id = Reference::parse(reference, "reference")?.id();
    let Some(d) = sqlx::query(
        "SELECT d.*, p.name AS patient_name, p.mrn, rq.username AS requested_by, pr.username AS prepared_by,
                ho.username AS handed_over_by
         FROM media_distributions d JOIN patients p ON p.id = d.patient_id
         JOIN staff rq ON rq.id = d.requested_by_id
         LEFT JOIN staff pr ON pr.id = d.prepared_by_id
         LEFT JOIN staff ho ON ho.id = d.handed_over_by_id
         WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    else {
        anyhow::bail!("no request {}", Reference::from_id(id));
    };
    let studies = sqlx::query(
        "SELECT s.study_uid, s.accession_number, s.study_date, s.description FROM distribution_studies ds
         JOIN studies s ON s.id = ds.study_id WHERE ds.distribution_id = $1 ORDER BY s.study_date, s.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let events = sqlx::query("SELECT at, event, from_status, to_status, actor, reason, details FROM distribution_events WHERE distribution_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(pool)
        .await?;
    let mut o = String::new();
    let opt = |c: &str| {
        d.try_get::<Option<String>, _>(c)
            .ok()
            .flatten()
            .unwrap_or_else(|| "-".into())
    };
    let time = |c: &str| {
        d.try_get::<Option<DateTime<Utc>>, _>(c)
            .ok()
            .flatten()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "-".into())
    };
    writeln!(
        o,
        "{}  {}",
        Reference::from_id(id),
        d.get::<String, _>("status")
    )?;
    writeln!(
        o,
        "patient:      {} (MRN {})",
        mediadist_domain::names::mask_name(d.get("patient_name")),
        d.get::<String, _>("mrn")
    )?;
    writeln!(
        o,
        "media:        {} x {}",
        d.get::<String, _>("media_type"),
        d.get::<i32, _>("quantity")
    )?;
    writeln!(o, "urgency:      {}", d.get::<String, _>("urgency"))?;
    writeln!(
        o,
        "requested:    {} by {}",
        time("request_date"),
        d.get::<String, _>("requested_by")
    )?;
    writeln!(
        o,
        "requester:    {} {} {} {}",
        d.get::<String, _>("requester_type"),
        opt("requester_name"),
        opt("requester_organisation"),
        opt("requester_reference")
    )?;
    writeln!(
        o,
        "prepared by:  {}   shelf: {}",
        opt("prepared_by"),
        opt("storage_location")
    )?;
    if d.get::<String, _>("status") == "COLLECTED" {
        let doc = mediadist_domain::IdentityDocument::from_stored(
            &opt("collected_by_doc_type"),
            &opt("collected_by_ic"),
            d.get::<Option<String>, _>("collected_by_doc_kind")
                .as_deref(),
        );
        let masked = doc
            .map(|d| d.masked())
            .unwrap_or_else(|| "(unreadable document)".into());
        writeln!(
            o,
            "collected:    {} by {} ({}, {}) handed over by {}",
            time("collection_datetime"),
            opt("collected_by"),
            masked,
            opt("relationship_to_patient"),
            opt("handed_over_by")
        )?;
    }
    if let Some(r) = d.get::<Option<String>, _>("cancellation_reason") {
        writeln!(o, "cancelled:    {}", r)?;
    }
    writeln!(o, "studies:")?;
    for s in &studies {
        writeln!(
            o,
            "  {}  acc {}  {}  {}",
            s.get::<String, _>("study_uid"),
            s.get::<Option<String>, _>("accession_number")
                .unwrap_or_else(|| "-".into()),
            s.get::<Option<chrono::NaiveDate>, _>("study_date")
                .map(|x| x.to_string())
                .unwrap_or_else(|| "-".into()),
            s.get::<Option<String>, _>("description")
                .unwrap_or_default()
        )?;
    }
    writeln!(o, "audit trail:")?;
    for e in &events {
        writeln!(
            o,
            "  {}  {:<17} {:>9} -> {:<9} by {}{}",
            e.get::<DateTime<Utc>, _>("at").format("%Y-%m-%d %H:%M:%S"),
            e.get::<String, _>("event"),
            e.get::<Option<String>, _>("from_status")
                .unwrap_or_default(),
            e.get::<String, _>("to_status"),
            e.get::<String, _>("actor"),
            e.get::<Option<String>, _>("reason")
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        )?;
    }
    Ok(o)
}
