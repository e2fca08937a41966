//! Beyond the seed: a distribution's audit trail, a patient's disclosures
//! (every copy handed over: what, to whom, when, by whom), patient search
//! and a patient's studies for the request form. Each read is logged.

use crate::access;
use crate::auth::Caller;
use crate::distributions::parse_id;
use crate::problem::Problem;
use crate::shape::{document_value, ic_value, staff_object};
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use mediadist_domain::{Mykad, Reference};
use serde_json::{json, Value};
use sqlx::Row;

fn patient_id(s: &str) -> Result<i64, Problem> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Problem::not_found("not a patient id"))
}

async fn patient(state: &AppState, id: i64) -> Result<sqlx::postgres::PgRow, Problem> {
    sqlx::query("SELECT id, mrn, issuer, name, ic, passport_country, birth_date, sex FROM patients WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no patient {id}")))
}

/// `GET /api/media-distributions/{id}/audit/`: every step, oldest first;
/// collectors' documents appear masked, as they were recorded.
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = parse_id(&id)?;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT patient_id FROM media_distributions WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.pool)
            .await?;
    let Some(pid) = exists else {
        return Err(Problem::not_found(format!(
            "no distribution {}",
            Reference::from_id(id)
        )));
    };
    let rows = sqlx::query(
        "SELECT id, at, event, from_status, to_status, actor, reason, details, command_id
         FROM distribution_events WHERE distribution_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    access::record(&state.pool, &caller, "audit", &[id], Some(pid), &[]).await?;
    let events: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<i64, _>("id"),
                "at": r.get::<DateTime<Utc>, _>("at"),
                "event": r.get::<String, _>("event"),
                "from_status": r.get::<Option<String>, _>("from_status"),
                "to_status": r.get::<String, _>("to_status"),
                "actor": r.get::<String, _>("actor"),
                "reason": r.get::<Option<String>, _>("reason"),
                "details": r.get::<Value, _>("details"),
                "command_id": r.get::<String, _>("command_id"),
            })
        })
        .collect();
    Ok(Json(json!({
        "id": id,
        "reference": Reference::from_id(id).to_string(),
        "count": events.len(),
        "results": events,
    }))
    .into_response())
}

/// `GET /api/patients/{id}/disclosures/` (reception, admin): every copy of
/// the patient's studies that left the department.
pub async fn disclosures(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    if !caller.sees_full_identity() {
        return Err(Problem::forbidden(
            "only reception and administrators may read a patient's disclosures",
        ));
    }
    let id = patient_id(&id)?;
    let p = patient(&state, id).await?;
    let rows = sqlx::query(
        "SELECT d.id, d.media_type, d.quantity, d.collected_by, d.collected_by_ic, d.collected_by_doc_type,
                d.collected_by_doc_kind, d.relationship_to_patient, d.relationship_other, d.authority_reference,
                d.slip_presented, d.collection_datetime, d.handed_over_by_id, ho.username AS ho_username,
                ho.full_name AS ho_name, d.requester_type, d.requester_organisation,
                (SELECT coalesce(json_agg(json_build_object('id', s.id, 'study_uid', s.study_uid,
                    'study_date', s.study_date, 'description', s.description,
                    'accession_number', s.accession_number) ORDER BY s.study_date, s.id), '[]'::json)
                 FROM distribution_studies ds JOIN studies s ON s.id = ds.study_id
                 WHERE ds.distribution_id = d.id) AS studies
         FROM media_distributions d JOIN staff ho ON ho.id = d.handed_over_by_id
         WHERE d.patient_id = $1 AND d.status = 'COLLECTED'
         ORDER BY d.collection_datetime, d.id",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.get("id")).collect();
    access::record(&state.pool, &caller, "disclosures", &ids, Some(id), &[]).await?;
    let results: Vec<Value> = rows
        .iter()
        .map(|r| {
            let did: i64 = r.get("id");
            json!({
                "distribution_id": did,
                "reference": Reference::from_id(did).to_string(),
                "media_type": r.get::<String, _>("media_type"),
                "quantity": r.get::<i32, _>("quantity"),
                "studies": r.get::<Value, _>("studies"),
                "requester_type": r.get::<String, _>("requester_type"),
                "requester_organisation": r.get::<Option<String>, _>("requester_organisation"),
                "collected_by": r.get::<Option<String>, _>("collected_by"),
                "collected_by_document": document_value(
                    r.get::<Option<String>, _>("collected_by_doc_type").as_deref(),
                    r.get::<Option<String>, _>("collected_by_ic").as_deref(),
                    r.get::<Option<String>, _>("collected_by_doc_kind").as_deref(),
                    false,
                ),
                "relationship_to_patient": r.get::<Option<String>, _>("relationship_to_patient"),
                "relationship_other": r.get::<Option<String>, _>("relationship_other"),
                "authority_reference": r.get::<Option<String>, _>("authority_reference"),
                "slip_presented": r.get::<Option<bool>, _>("slip_presented"),
                "collection_datetime": r.get::<Option<DateTime<Utc>>, _>("collection_datetime"),
                "handed_over_by": staff_object(r.get("handed_over_by_id"), r.get("ho_username"), r.get("ho_name")),
            })
        })
        .collect();
    Ok(Json(json!({
        "patient": { "id": id, "mrn": p.get::<String, _>("mrn"), "name": p.get::<String, _>("name") },
        "count": results.len(),
        "results": results,
    }))
    .into_response())
}

fn patient_json(r: &sqlx::postgres::PgRow, full: bool) -> Value {
    json!({
        "id": r.get::<i64, _>("id"),
        "mrn": r.get::<String, _>("mrn"),
        "issuer": r.get::<String, _>("issuer"),
        "name": r.get::<String, _>("name"),
        "nric": ic_value(r.get::<Option<String>, _>("ic").as_deref(), full),
        "passport_country": r.get::<Option<String>, _>("passport_country"),
        "birth_date": r.get::<Option<NaiveDate>, _>("birth_date"),
        "sex": r.get::<Option<String>, _>("sex"),
    })
}

/// `GET /api/patients/?search=`: by name (part), MRN (start) or IC (whole).
pub async fn search_patients(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, Problem> {
    let params = q
        .map(|Query(v)| v)
        .map_err(|e| Problem::bad_request(format!("the query string could not be read: {e}")))?;
    let search = params
        .iter()
        .rev()
        .find(|(k, _)| k == "search")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    // One character is a whole surname in Chinese (陈): the list's rule.
    if search.is_empty() {
        return Err(Problem::invalid(
            "search",
            "search: 1 to 100 characters of a name, an MRN or an IC number",
        ));
    }
    let search = mediadist_domain::SearchText::parse(&search, "search")?
        .as_str()
        .to_string();
    let ic = Mykad::parse(&search, "search")
        .ok()
        .map(|m| m.digits().to_string());
    let mut q = sqlx::QueryBuilder::new(
        "SELECT p.id, p.mrn, p.issuer, p.name, p.ic, p.passport_country, p.birth_date, p.sex FROM patients p WHERE ",
    );
    crate::query::push_name_match(&mut q, "p.name", &search);
    q.push(" OR p.mrn ILIKE ")
        .push_bind(format!("{}%", mediadist_platform::db::escape_like(&search)))
        .push(" OR p.ic = ")
        .push_bind(ic)
        .push(" ORDER BY p.name, p.id LIMIT 50");
    let rows = q.build().fetch_all(&state.pool).await?;
    let full = caller.sees_full_identity();
    let results: Vec<Value> = rows.iter().map(|r| patient_json(r, full)).collect();
    if full {
        let shown: Vec<i64> = rows
            .iter()
            .filter(|r| r.get::<Option<String>, _>("ic").is_some())
            .map(|r| r.get("id"))
            .collect();
        if !shown.is_empty() {
            tracing::info!(target: "mediadist_api::access", staff = %caller.username, patients = ?shown, "patient identity numbers shown in full");
            access::record(&state.pool, &caller, "patient-search", &[], None, &["nric"]).await?;
        }
    }
    Ok(Json(json!({ "count": results.len(), "results": results })).into_response())
}

/// `GET /api/patients/{id}/studies/`: the patient and their studies with
/// examinations, for the request form.
pub async fn patient_studies(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = patient_id(&id)?;
    let p = patient(&state, id).await?;
    let rows = sqlx::query(
        "SELECT s.id, s.study_uid, s.accession_number, s.study_date, s.description, s.modalities,
            (SELECT coalesce(json_agg(json_build_object('id', e.id, 'series_uid', e.series_uid, 'modality', e.modality,
                'description', e.description, 'series_number', e.series_number, 'instance_count', e.instance_count)
                ORDER BY e.series_number NULLS LAST, e.id), '[]'::json)
             FROM examinations e WHERE e.study_id = s.id) AS examinations
         FROM studies s WHERE s.patient_id = $1 ORDER BY s.study_date DESC NULLS LAST, s.id",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let full = caller.sees_full_identity();
    let fields: &[&str] = if full && p.get::<Option<String>, _>("ic").is_some() {
        &["nric"]
    } else {
        &[]
    };
    access::record(&state.pool, &caller, "patient", &[], Some(id), fields).await?;
    let studies: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<i64, _>("id"),
                "study_uid": r.get::<String, _>("study_uid"),
                "accession_number": r.get::<Option<String>, _>("accession_number"),
                "study_date": r.get::<Option<NaiveDate>, _>("study_date"),
                "description": r.get::<Option<String>, _>("description"),
                "modalities": r.get::<Vec<String>, _>("modalities"),
                "examinations": r.get::<Value, _>("examinations"),
            })
        })
        .collect();
    Ok(Json(
        json!({ "patient": patient_json(&p, full), "count": studies.len(), "results": studies }),
    )
    .into_response())
}
