//! Who read what: each detail read, each patient record, and each list that
//! showed identity numbers in full, as an `api_reads` row and a log line.
//! Neither carries the values themselves.

use crate::auth::Caller;
use sqlx::PgPool;

pub async fn record(
    pool: &PgPool,
    caller: &Caller,
    what: &str,
    distribution_ids: &[i64],
    patient_id: Option<i64>,
    full_fields: &[&str],
) -> Result<(), sqlx::Error> {
    tracing::info!(
        target: "mediadist_api::access",
        staff = %caller.username,
        what,
        distributions = ?distribution_ids,
        patient = ?patient_id,
        full = ?full_fields,
        "personal data read"
    );
    let fields: Vec<String> = full_fields.iter().map(|f| f.to_string()).collect();
    sqlx::query(
        "INSERT INTO api_reads (staff_id, username, what, distribution_ids, patient_id, full_fields)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(caller.staff_id)
    .bind(&caller.username)
    .bind(what)
    .bind(distribution_ids)
    .bind(patient_id)
    .bind(&fields)
    .execute(pool)
    .await?;
    Ok(())
}
