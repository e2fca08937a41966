//! The JSON shapes of the seed's contract (../shared/API-COMPAT.md): the
//! list item and the detail object, with identity numbers masked unless the
//! caller's role needs them whole.

use chrono::{DateTime, NaiveDate, Utc};
use mediadist_domain::names::mask_name;
use mediadist_domain::{IdentityDocument, MediaType, Mykad, Reference, Status, Urgency};
use serde_json::{json, Value};
use sqlx::postgres::PgRow;
use sqlx::Row;

/// The columns a list item needs, for the ids in `page` (see `ListQuery::page_query`).
pub const LIST_SELECT: &str = "SELECT d.id, d.request_date, d.media_type, d.quantity, d.status, d.urgency,
    d.collected_by, d.collected_by_ic, d.collected_by_doc_type, d.collected_by_doc_kind,
    d.relationship_to_patient, d.collection_datetime, d.cancellation_reason, d.comments,
    d.storage_location, d.ready_at,
    p.name AS patient_name, p.mrn AS patient_mrn,
    pr.full_name AS prepared_by_name, ho.full_name AS handed_over_by_name,
    st.study_count, st.min_date, st.max_date, st.accessions, st.descriptions
  FROM page
  JOIN media_distributions d ON d.id = page.id
  JOIN patients p ON p.id = d.patient_id
  LEFT JOIN staff pr ON pr.id = d.prepared_by_id
  LEFT JOIN staff ho ON ho.id = d.handed_over_by_id
  CROSS JOIN LATERAL (
    SELECT count(*) AS study_count, min(s.study_date) AS min_date, max(s.study_date) AS max_date,
      (array_agg(s.accession_number ORDER BY s.study_date NULLS LAST, s.id)
         FILTER (WHERE s.accession_number IS NOT NULL AND s.accession_number <> ''))[1:3] AS accessions,
      array_agg(DISTINCT s.description ORDER BY s.description)
         FILTER (WHERE s.description IS NOT NULL AND s.description <> '') AS descriptions
    FROM distribution_studies ds JOIN studies s ON s.id = ds.study_id
    WHERE ds.distribution_id = d.id
  ) st";

/// A stored MyKad in full (`900101-14-1235`) or masked (`******-**-1235`).
pub fn ic_value(stored: Option<&str>, full: bool) -> Option<String> {
    let s = stored?;
    match Mykad::parse(s, "ic") {
        Ok(m) if full => {
            let d = m.digits();
            Some(format!("{}-{}-{}", &d[..6], &d[6..8], &d[8..]))
        }
        Ok(m) => Some(m.masked()),
        Err(_) => Some("****".into()),
    }
}

/// The collector's document number, in full or masked, whatever its type.
pub fn document_value(
    doc_type: Option<&str>,
    stored: Option<&str>,
    kind: Option<&str>,
    full: bool,
) -> Option<String> {
    let stored = stored?;
    let doc = IdentityDocument::from_stored(doc_type.unwrap_or("MYKAD"), stored, kind);
    Some(match (doc, full) {
        (Some(IdentityDocument::Mykad { .. }), true) => ic_value(Some(stored), true)?,
        (Some(IdentityDocument::Passport { passport }), true) => {
            format!("{} {}", passport.country, passport.number)
        }
        (Some(IdentityDocument::Other { number, .. }), true) => number,
        (Some(d), false) => d.masked(),
        (None, _) => "****".into(),
    })
}

fn date_range(min: Option<NaiveDate>, max: Option<NaiveDate>) -> Option<String> {
    match (min, max) {
        (Some(a), Some(b)) if a == b => Some(a.to_string()),
        (Some(a), Some(b)) => Some(format!("{a} - {b}")),
        _ => None,
    }
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    r: &'r PgRow,
    c: &str,
) -> Option<T> {
    r.try_get::<Option<T>, _>(c).ok().flatten()
}

/// One list item, as the seed's list serializer had it (plus `reference`).
pub fn list_item(r: &PgRow, full: bool) -> Value {
    let id: i64 = r.get("id");
    let accessions: Vec<String> = get(r, "accessions").unwrap_or_default();
    let descriptions: Vec<String> = get(r, "descriptions").unwrap_or_default();
    let count: i64 = r.get("study_count");
    json!({
        "id": id,
        "reference": Reference::from_id(id).to_string(),
        "request_date": r.get::<DateTime<Utc>, _>("request_date"),
        "media_type": r.get::<String, _>("media_type"),
        "quantity": r.get::<i32, _>("quantity"),
        "status": r.get::<String, _>("status"),
        "urgency": r.get::<String, _>("urgency"),
        "collected_by": get::<String>(r, "collected_by"),
        "collected_by_ic": document_value(
            get::<String>(r, "collected_by_doc_type").as_deref(),
            get::<String>(r, "collected_by_ic").as_deref(),
            get::<String>(r, "collected_by_doc_kind").as_deref(),
            full,
        ),
        "relationship_to_patient": get::<String>(r, "relationship_to_patient"),
        "collection_datetime": get::<DateTime<Utc>>(r, "collection_datetime"),
        "patient_name": r.get::<String, _>("patient_name"),
        "patient_mrn": r.get::<String, _>("patient_mrn"),
        "study_count": count,
        "study_summary": {
            "date_range": date_range(get(r, "min_date"), get(r, "max_date")),
            "accession_numbers": accessions,
            "total_studies": count,
            "study_descriptions": descriptions,
        },
        "prepared_by_name": get::<String>(r, "prepared_by_name"),
        "handed_over_by_name": get::<String>(r, "handed_over_by_name"),
        "cancellation_reason": get::<String>(r, "cancellation_reason"),
        "comments": get::<String>(r, "comments"),
        // Beside the seed's keys: where reception finds it, and since when.
        "storage_location": get::<String>(r, "storage_location"),
        "ready_at": get::<DateTime<Utc>>(r, "ready_at"),
    })
}

/// `{id, username, first_name, last_name}` from a staff id and full name.
pub fn staff_object(id: Option<i64>, username: Option<String>, full_name: Option<String>) -> Value {
    let (Some(id), Some(username)) = (id, username) else {
        return Value::Null;
    };
    let name = full_name.unwrap_or_default();
    let (first, last) = name.trim().split_once(' ').unwrap_or((name.trim(), ""));
    json!({ "id": id, "username": username, "first_name": first, "last_name": last.trim() })
}

fn choices<T: Copy>(
    all: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Value {
    Value::Array(
        all.iter()
            .map(|v| json!({ "value": value(*v), "label": label(*v) }))
            .collect(),
    )
}

/// The columns the detail object needs, for one id.
pub const DETAIL_SELECT: &str =
    "SELECT d.*, p.name AS patient_name, p.mrn AS patient_mrn, p.ic AS patient_ic,
    p.id AS pid,
    rq.username AS rq_username, rq.full_name AS rq_name,
    pr.username AS pr_username, pr.full_name AS pr_name,
    ho.username AS ho_username, ho.full_name AS ho_name
  FROM media_distributions d
  JOIN patients p ON p.id = d.patient_id
  JOIN staff rq ON rq.id = d.requested_by_id
  LEFT JOIN staff pr ON pr.id = d.prepared_by_id
  LEFT JOIN staff ho ON ho.id = d.handed_over_by_id
  WHERE d.id = $1";

pub const DETAIL_STUDIES: &str = "SELECT s.id, s.study_uid, s.accession_number, s.study_date, s.description,
    p.id AS pid, p.name, p.ic, p.mrn
  FROM distribution_studies ds JOIN studies s ON s.id = ds.study_id JOIN patients p ON p.id = s.patient_id
  WHERE ds.distribution_id = $1 ORDER BY s.study_date NULLS LAST, s.id";

/// The detail object of the seed's contract, plus mediadist's own fields.
pub fn detail(d: &PgRow, studies: &[PgRow], full: bool) -> Value {
    let id: i64 = d.get("id");
    let studies: Vec<Value> = studies
        .iter()
        .map(|s| {
            json!({
                "id": s.get::<i64, _>("id"),
                "study_uid": s.get::<String, _>("study_uid"),
                "pesakit": {
                    "id": s.get::<i64, _>("pid"),
                    "nama": s.get::<String, _>("name"),
                    "nric": ic_value(get::<String>(s, "ic").as_deref(), full),
                    "mrn": s.get::<String, _>("mrn"),
                },
                "tarikh": get::<NaiveDate>(s, "study_date"),
                "parent_accession_number": get::<String>(s, "accession_number"),
                "study_description": get::<String>(s, "description"),
            })
        })
        .collect();
    let name: String = d.get("patient_name");
    json!({
        "id": id,
        "reference": Reference::from_id(id).to_string(),
        "request_date": d.get::<DateTime<Utc>, _>("request_date"),
        "study_count": studies.len(),
        "studies": studies,
        "patient_id": d.get::<i64, _>("pid"),
        "patient_name": name,
        "patient_name_masked": mask_name(&name),
        "patient_mrn": d.get::<String, _>("patient_mrn"),
        "patient_nric": ic_value(get::<String>(d, "patient_ic").as_deref(), full),
        "media_type": d.get::<String, _>("media_type"),
        "quantity": d.get::<i32, _>("quantity"),
        "status": d.get::<String, _>("status"),
        "urgency": d.get::<String, _>("urgency"),
        "requester": {
            "type": d.get::<String, _>("requester_type"),
            "name": get::<String>(d, "requester_name"),
            "organisation": get::<String>(d, "requester_organisation"),
            "reference": get::<String>(d, "requester_reference"),
            "contact": get::<String>(d, "requester_contact"),
        },
        "requested_by": staff_object(get(d, "requested_by_id"), get(d, "rq_username"), get(d, "rq_name")),
        "preparation_started_at": get::<DateTime<Utc>>(d, "preparation_started_at"),
        "ready_at": get::<DateTime<Utc>>(d, "ready_at"),
        "storage_location": get::<String>(d, "storage_location"),
        "collected_by": get::<String>(d, "collected_by"),
        "collected_by_ic": document_value(
            get::<String>(d, "collected_by_doc_type").as_deref(),
            get::<String>(d, "collected_by_ic").as_deref(),
            get::<String>(d, "collected_by_doc_kind").as_deref(),
            full,
        ),
        "collected_by_doc_type": get::<String>(d, "collected_by_doc_type"),
        "relationship_to_patient": get::<String>(d, "relationship_to_patient"),
        "relationship_other": get::<String>(d, "relationship_other"),
        "authority_reference": get::<String>(d, "authority_reference"),
        "slip_presented": get::<bool>(d, "slip_presented"),
        "collection_datetime": get::<DateTime<Utc>>(d, "collection_datetime"),
        "prepared_by": staff_object(get(d, "prepared_by_id"), get(d, "pr_username"), get(d, "pr_name")),
        "handed_over_by": staff_object(get(d, "handed_over_by_id"), get(d, "ho_username"), get(d, "ho_name")),
        "comments": get::<String>(d, "comments"),
        "cancellation_reason": get::<String>(d, "cancellation_reason"),
        "cancelled_at": get::<DateTime<Utc>>(d, "cancelled_at"),
        "slip_version": d.get::<i32, _>("slip_version"),
        "version": d.get::<i64, _>("version"),
        "created": d.get::<DateTime<Utc>, _>("created"),
        "modified": d.get::<DateTime<Utc>, _>("modified"),
        "media_type_choices": choices(MediaType::ALL, MediaType::as_str, MediaType::label),
        "status_choices": choices(Status::ALL, Status::as_str, Status::label),
        "urgency_choices": choices(Urgency::ALL, Urgency::as_str, Urgency::label),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_numbers_mask_and_format() {
        assert_eq!(
            ic_value(Some("900101141235"), true).as_deref(),
            Some("900101-14-1235")
        );
        assert_eq!(
            ic_value(Some("900101141235"), false).as_deref(),
            Some("******-**-1235")
        );
        assert_eq!(ic_value(None, false), None);
        assert_eq!(
            document_value(Some("PASSPORT"), Some("SGP:A9988776"), None, false).as_deref(),
            Some("SGP *****776")
        );
        assert_eq!(
            document_value(Some("PASSPORT"), Some("SGP:A9988776"), None, true).as_deref(),
            Some("SGP A9988776")
        );
        assert_eq!(
            document_value(
                Some("OTHER"),
                Some("HKL-00912"),
                Some("staff ID card"),
                false
            )
            .as_deref(),
            Some("staff ID card ******912")
        );
    }

    #[test]
    fn staff_names_split() {
        assert_eq!(
            staff_object(
                Some(3),
                Some("rad1".into()),
                Some("Synthetic Rad One".into())
            ),
            json!({"id": 3, "username": "rad1", "first_name": "Synthetic", "last_name": "Rad One"})
        );
        assert_eq!(staff_object(None, None, None), Value::Null);
        assert_eq!(date_range(None, None), None);
    }
}
