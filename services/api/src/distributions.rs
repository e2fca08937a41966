//! `/api/media-distributions/`: reads straight from PostgreSQL, changes as
//! commands through RabbitMQ answered by the workers.

use crate::access;
use crate::auth::Caller;
use crate::body;
use crate::broker::{self, IdempotencyKey, Sent};
use crate::problem::Problem;
use crate::query::{page_link, ListQuery};
use crate::shape;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mediadist_domain::catalog::CommandType;
use mediadist_domain::command::{CollectorData, RequesterData};
use mediadist_domain::identity::DocumentInput;
use mediadist_domain::roles::Action;
use mediadist_domain::{ReasonCode, Reference, Status};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;
type Body = Result<Bytes, BytesRejection>;

fn params(p: Params) -> Result<Vec<(String, String)>, Problem> {
    p.map(|Query(v)| v)
        .map_err(|e| Problem::bad_request(format!("the query string could not be read: {e}")))
}

/// `{id}` in a path: the numeric id or the reference (`MD-000042`).
pub fn parse_id(s: &str) -> Result<i64, Problem> {
    Reference::parse(s, "id")
        .map(Reference::id)
        .map_err(|_| Problem::not_found("not a distribution id or a reference like MD-000042"))
}

/// 404 unless the distribution exists and was not deleted.
async fn ensure_live(state: &AppState, id: i64) -> Result<Status, Problem> {
    let row = sqlx::query(
        "SELECT status, deleted_at IS NOT NULL AS deleted FROM media_distributions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    match row {
        None => Err(Problem::not_found(format!(
            "no distribution {}",
            Reference::from_id(id)
        ))),
        Some(r) if r.get::<bool, _>("deleted") => Err(Problem::not_found(format!(
            "{} was deleted",
            Reference::from_id(id)
        ))),
        Some(r) => Status::parse(r.get("status"), "status").map_err(|e| Problem::internal(&e)),
    }
}

fn base_url(headers: &HeaderMap, path: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or("http");
    match host {
        Some(h) => format!("{scheme}://{h}{path}"),
        None => path.to_string(),
    }
}

/// `GET /api/media-distributions/`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    headers: HeaderMap,
    q: Params,
) -> Result<Response, Problem> {
    list_of(&state, &caller, &uri, &headers, params(q)?, None).await
}

/// `GET .../pending/`: REQUESTED, PREPARING and READY.
pub async fn pending(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    headers: HeaderMap,
    q: Params,
) -> Result<Response, Problem> {
    let open = [Status::Requested, Status::Preparing, Status::Ready];
    list_of(&state, &caller, &uri, &headers, params(q)?, Some(&open)).await
}

/// `GET .../ready/`.
pub async fn ready(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    headers: HeaderMap,
    q: Params,
) -> Result<Response, Problem> {
    list_of(
        &state,
        &caller,
        &uri,
        &headers,
        params(q)?,
        Some(&[Status::Ready]),
    )
    .await
}

async fn list_of(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    headers: &HeaderMap,
    params: Vec<(String, String)>,
    only: Option<&[Status]>,
) -> Result<Response, Problem> {
    let mut lq = ListQuery::parse(&params)?;
    let mut nothing = false;
    if let Some(only) = only {
        if lq.statuses.is_empty() {
            lq.statuses = only.to_vec();
        } else {
            lq.statuses.retain(|s| only.contains(s));
            nothing = lq.statuses.is_empty();
        }
    }
    if lq.as_of.is_none() {
        lq.as_of = sqlx::query_scalar::<_, Option<i64>>("SELECT max(id) FROM media_distributions")
            .fetch_one(&state.pool)
            .await?;
    }
    let (count, rows) = if nothing || lq.as_of.is_none() {
        (0, Vec::new())
    } else {
        // Two connections at once: the reply waits for the slower, not both.
        let (mut count, mut page) = (lq.count_query(), lq.page_query());
        tokio::try_join!(
            count.build_query_scalar::<i64>().fetch_one(&state.pool),
            page.build().fetch_all(&state.pool)
        )?
    };
    if lq.page > 1 && rows.is_empty() {
        return Err(
            Problem::not_found(format!("page {} does not exist", lq.page)).code("INVALID_PAGE"),
        );
    }
    let full = caller.sees_full_identity();
    let results: Vec<Value> = rows.iter().map(|r| shape::list_item(r, full)).collect();
    if full {
        let shown: Vec<i64> = rows
            .iter()
            .filter(|r| {
                r.try_get::<Option<String>, _>("collected_by_ic")
                    .ok()
                    .flatten()
                    .is_some()
            })
            .map(|r| r.get("id"))
            .collect();
        if !shown.is_empty() {
            access::record(
                &state.pool,
                caller,
                "distribution-list",
                &shown,
                None,
                &["collected_by_ic"],
            )
            .await?;
        }
    }
    let base = base_url(headers, uri.path());
    let next =
        (lq.page * lq.page_size < count).then(|| page_link(&base, &params, lq.page + 1, lq.as_of));
    let previous = (lq.page > 1).then(|| page_link(&base, &params, lq.page - 1, lq.as_of));
    Ok(
        Json(json!({ "count": count, "next": next, "previous": previous, "results": results }))
            .into_response(),
    )
}

/// The detail object, logged as a read (and which values were shown whole).
pub async fn read_detail(state: &AppState, caller: &Caller, id: i64) -> Result<Value, Problem> {
    let (detail, patient, fields) = detail_of(state, caller, id).await?;
    access::record(
        &state.pool,
        caller,
        "distribution",
        &[id],
        Some(patient),
        &fields,
    )
    .await?;
    Ok(detail)
}

/// The detail object as `caller` would see it, its patient, and which values
/// it holds whole; not logged (callers that show it log it). 404 when the
/// distribution does not exist or was deleted.
async fn detail_of(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(Value, i64, Vec<&'static str>), Problem> {
    let row = sqlx::query(shape::DETAIL_SELECT)
        .bind(id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no distribution {}", Reference::from_id(id))))?;
    if row
        .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>("deleted_at")
        .ok()
        .flatten()
        .is_some()
    {
        return Err(Problem::not_found(format!(
            "{} was deleted",
            Reference::from_id(id)
        )));
    }
    let studies = sqlx::query(shape::DETAIL_STUDIES)
        .bind(id)
        .fetch_all(&state.pool)
        .await?;
    let full = caller.sees_full_identity();
    let mut fields = Vec::new();
    if full {
        if row
            .try_get::<Option<String>, _>("patient_ic")
            .ok()
            .flatten()
            .is_some()
        {
            fields.push("patient_nric");
        }
        if row
            .try_get::<Option<String>, _>("collected_by_ic")
            .ok()
            .flatten()
            .is_some()
        {
            fields.push("collected_by_ic");
        }
    }
    let patient: i64 = row.get("pid");
    Ok((shape::detail(&row, &studies, full), patient, fields))
}

/// `GET .../{id}/`.
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = parse_id(&id)?;
    Ok(Json(read_detail(&state, &caller, id).await?).into_response())
}

/// The answer to a command that was not answered in time.
fn pending_answer(state: &AppState, command_id: &str) -> Response {
    let check = format!("/api/commands/{command_id}/");
    let body = json!({
        "status": "pending",
        "command_id": command_id,
        "check": check,
        "detail": format!(
            "the command was sent but not answered within {:?}; it may still be applied. \
             GET {check} for its outcome, or send the request again with the same Idempotency-Key: it is never applied twice",
            state.settings.command_timeout
        ),
    });
    let mut res = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&check) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Sends a command about distribution `id` and answers with its detail.
#[allow(clippy::too_many_arguments)]
async fn command_then_detail(
    state: &AppState,
    caller: &Caller,
    key: &IdempotencyKey,
    command: CommandType,
    id: i64,
    data: Value,
    ok: StatusCode,
) -> Result<Response, Problem> {
    match broker::send(state, caller, command, key, Some(id), data).await? {
        Sent::Pending { command_id } => Ok(pending_answer(state, &command_id)),
        Sent::Accepted(reply) => {
            let id = reply.distribution_id.unwrap_or(id);
            let mut res = if ok == StatusCode::NO_CONTENT {
                StatusCode::NO_CONTENT.into_response()
            } else {
                (ok, Json(read_detail(state, caller, id).await?)).into_response()
            };
            if ok == StatusCode::CREATED {
                if let Ok(v) = HeaderValue::from_str(&format!("/api/media-distributions/{id}/")) {
                    res.headers_mut().insert(header::LOCATION, v);
                }
            }
            if reply.duplicate {
                res.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            Ok(res)
        }
    }
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum StudyKey {
    Id(i64),
    Uid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(default)]
    study_ids: Option<Vec<StudyKey>>,
    #[serde(default)]
    daftar_id: Option<StudyKey>,
    #[serde(default)]
    daftar_ids: Option<Vec<StudyKey>>,
    media_type: String,
    #[serde(default = "one")]
    quantity: i64,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    comments: Option<String>,
    #[serde(default)]
    requester: Option<RequesterData>,
}

fn one() -> i64 {
    1
}

/// `POST /api/media-distributions/`: a request-media command.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    body: Body,
) -> Result<Response, Problem> {
    caller.may(Action::Request)?;
    let b: CreateBody = body::parse(body)?;
    let mut keys: Vec<StudyKey> = Vec::new();
    keys.extend(b.study_ids.unwrap_or_default());
    keys.extend(b.daftar_ids.unwrap_or_default());
    keys.extend(b.daftar_id);
    if keys.is_empty() {
        return Err(Problem::invalid(
            "study_ids",
            "study_ids: name at least one study",
        ));
    }
    // Said here as the domain says it, before each id becomes a UID: a few
    // KB of repeated ids would otherwise make a command past its size limit.
    let max = mediadist_domain::command::MAX_STUDIES;
    if keys.len() > max {
        return Err(Problem::invalid(
            "study_ids",
            format!("study_ids: at most {max} studies in one request"),
        ));
    }
    let ids: Vec<i64> = keys
        .iter()
        .filter_map(|k| match k {
            StudyKey::Id(i) => Some(*i),
            StudyKey::Uid(_) => None,
        })
        .collect();
    let found = sqlx::query("SELECT id, study_uid FROM studies WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_all(&state.pool)
        .await?;
    let mut uids = Vec::with_capacity(keys.len());
    for k in &keys {
        match k {
            StudyKey::Id(i) => match found.iter().find(|r| r.get::<i64, _>("id") == *i) {
                Some(r) => uids.push(r.get::<String, _>("study_uid")),
                None => {
                    return Err(Problem::invalid(
                        "study_ids",
                        format!("study_ids: no study with id {i}"),
                    )
                    .code(ReasonCode::UnknownStudy.as_str()))
                }
            },
            StudyKey::Uid(u) => uids.push(u.clone()),
        }
    }
    let requester = b.requester.unwrap_or(RequesterData {
        kind: "PATIENT".into(),
        name: None,
        organisation: None,
        reference: None,
        contact: None,
    });
    let data = json!({
        "study_uids": uids,
        "media_type": b.media_type,
        "quantity": b.quantity,
        "urgency": b.urgency.unwrap_or_else(|| "NORMAL".into()),
        "requester": requester,
        "comments": b.comments,
        "actor": caller.username,
    });
    match broker::send(&state, &caller, CommandType::RequestMedia, &key, None, data).await? {
        Sent::Pending { command_id } => Ok(pending_answer(&state, &command_id)),
        Sent::Accepted(reply) => {
            let id = reply
                .distribution_id
                .ok_or_else(|| Problem::internal(&"an accepted request without an id"))?;
            let mut res = (
                StatusCode::CREATED,
                Json(read_detail(&state, &caller, id).await?),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/api/media-distributions/{id}/")) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            if reply.duplicate {
                res.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            Ok(res)
        }
    }
}

/// The fields a request's update may change.
const EDITABLE: [&str; 3] = ["comments", "urgency", "quantity"];

/// `PATCH`/`PUT .../{id}/`: comments, urgency, and quantity while REQUESTED.
/// PATCH changes the fields it names; PUT replaces them all, so it must name
/// all three. A client may send back the whole object it read (as a DRF
/// client's PUT does): every other field must hold what it holds now, or it
/// is refused by name. A value equal to the current one is no change, so the
/// frozen quantity sent back unchanged is not refused and nothing unchanged
/// enters the audit trail.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    method: Method,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, Problem> {
    caller.may(Action::Update)?;
    let id = parse_id(&id)?;
    let body::Object(fields) = body::parse(body)?;
    let missing = EDITABLE.iter().find(|f| !fields.contains_key(**f));
    // As this caller reads it, so masked numbers sent back compare equal.
    let (current, patient, full_fields) = detail_of(&state, &caller, id).await?;
    let mut data = json!({ "target": { "distribution_id": id }, "actor": caller.username });
    for (k, v) in fields {
        match (k.as_str(), v) {
            ("comments", Value::Null) => data["comments"] = json!(""),
            ("comments", Value::String(s)) => data["comments"] = json!(s),
            ("urgency", Value::String(s)) => data["urgency"] = json!(s),
            ("quantity", Value::Number(n)) if n.is_i64() => data["quantity"] = json!(n),
            ("comments" | "urgency", _) => {
                return Err(Problem::invalid(k.clone(), format!("{k}: must be a string")))
            }
            ("quantity", _) => {
                return Err(Problem::invalid("quantity", "quantity: must be a whole number")
                )
            }
            (f, v) if current.get(f) == Some(&v) => {}
            // The server's clock: not a change anyone asks for.
            ("modified", _) => {}
            // Sent back from an older read: someone changed it since.
            ("version", v) => {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    format!(
                        "version: this request changed since it was read (version {} then, {} now); read it again and resend",
                        v, current["version"]
                    ),
                )
                .code(ReasonCode::VersionConflict.as_str())
                .field("version"))
            }
            (f, _) if current.get(f).is_some() || f == "study_ids" => {
                return Err(Problem::invalid(
                    f,
                    format!("{f}: cannot be changed here; only comments, urgency and quantity (while REQUESTED) can"),
                ))
            }
            (f, _) => {
                return Err(Problem::bad_request(format!("{f}: unknown field"))
                    .code("UNKNOWN_FIELD")
                    .field(f))
            }
        }
    }
    if let Some(missing) = missing.filter(|_| method == Method::PUT) {
        return Err(Problem::invalid(
            *missing,
            format!("{missing}: PUT replaces comments, urgency and quantity, so it needs all three (PATCH changes some)"),
        ));
    }
    let unchanged = |field: &str, given: &Value| match field {
        "comments" => {
            given.as_str().map(str::trim) == Some(current["comments"].as_str().unwrap_or(""))
        }
        "urgency" => given
            .as_str()
            .zip(current["urgency"].as_str())
            .is_some_and(|(g, c)| g.trim().eq_ignore_ascii_case(c)),
        _ => given.as_i64().is_some() && given.as_i64() == current["quantity"].as_i64(),
    };
    if let Some(obj) = data.as_object_mut() {
        let named = EDITABLE.iter().any(|f| obj.contains_key(*f));
        obj.retain(|k, v| !EDITABLE.contains(&k.as_str()) || !unchanged(k, v));
        if named && !EDITABLE.iter().any(|f| obj.contains_key(*f)) {
            // Every value is the one it has: what it is now (a read, so
            // logged as one), and no command.
            access::record(
                &state.pool,
                &caller,
                "distribution",
                &[id],
                Some(patient),
                &full_fields,
            )
            .await?;
            return Ok(Json(current).into_response());
        }
    }
    command_then_detail(
        &state,
        &caller,
        &key,
        CommandType::Update,
        id,
        data,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

fn reason_of(body: Option<String>, params: &[(String, String)]) -> Result<String, Problem> {
    body.or_else(|| {
        params
            .iter()
            .find(|(k, _)| k == "reason")
            .map(|(_, v)| v.clone())
    })
    .filter(|r| !r.trim().is_empty())
    .ok_or_else(|| Problem::invalid("reason", "reason: is required"))
}

/// `DELETE .../{id}/` (admin): leaves the lists; the audit trail stays.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<String>,
    q: Params,
    body: Body,
) -> Result<Response, Problem> {
    caller.may(Action::Delete)?;
    let id = parse_id(&id)?;
    let b: ReasonBody = body::parse(body)?;
    let reason = reason_of(b.reason, &params(q)?)?;
    ensure_live(&state, id).await?;
    let data =
        json!({ "target": { "distribution_id": id }, "reason": reason, "actor": caller.username });
    command_then_detail(
        &state,
        &caller,
        &key,
        CommandType::Delete,
        id,
        data,
        StatusCode::NO_CONTENT,
    )
    .await
}

/// A step that takes no fields (start-preparing, reprint): the role may take
/// it, the body is empty, the distribution exists; the command's data.
async fn bodiless_step(
    state: &AppState,
    caller: &Caller,
    action: Action,
    id: &str,
    body: Body,
) -> Result<(i64, Value), Problem> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nothing {}
    caller.may(action)?;
    let id = parse_id(id)?;
    let _: Nothing = body::parse(body)?;
    ensure_live(state, id).await?;
    Ok((
        id,
        json!({ "target": { "distribution_id": id }, "actor": caller.username }),
    ))
}

/// `PATCH`/`POST .../{id}/start-preparing/`.
pub async fn start_preparing(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, Problem> {
    let (id, data) = bodiless_step(&state, &caller, Action::StartPreparing, &id, body).await?;
    command_then_detail(
        &state,
        &caller,
        &key,
        CommandType::StartPreparing,
        id,
        data,
        StatusCode::OK,
    )
    .await
}

/// `PATCH`/`POST .../{id}/mark-ready/` {storage_location}.
pub async fn mark_ready(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, Problem> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct B {
        storage_location: String,
    }
    caller.may(Action::MarkReady)?;
    let id = parse_id(&id)?;
    let b: B = body::parse(body)?;
    ensure_live(&state, id).await?;
    let data = json!({ "target": { "distribution_id": id }, "storage_location": b.storage_location, "actor": caller.username });
    command_then_detail(
        &state,
        &caller,
        &key,
        CommandType::MarkReady,
        id,
        data,
        StatusCode::OK,
    )
    .await
}

/// `PATCH`/`POST .../{id}/cancel/` {reason}.
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, Problem> {
    caller.may(Action::Cancel)?;
    let id = parse_id(&id)?;
    let b: ReasonBody = body::parse(body)?;
    let reason = reason_of(b.reason, &[])?;
    ensure_live(&state, id).await?;
    let data =
        json!({ "target": { "distribution_id": id }, "reason": reason, "actor": caller.username });
    command_then_detail(
        &state,
        &caller,
        &key,
        CommandType::Cancel,
        id,
        data,
        StatusCode::OK,
    )
    .await
}

/// `PATCH .../{id}/restore/`: the seed could un-cancel; mediadist keeps
/// CANCELLED final and says so.
pub async fn restore(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = parse_id(&id)?;
    let status = ensure_live(&state, id).await?;
    let reference = Reference::from_id(id);
    let detail = if status == Status::Cancelled {
        format!("{reference} is CANCELLED, and CANCELLED is final: make a new request instead")
    } else {
        format!("{reference} is {status}, not cancelled; there is nothing to restore")
    };
    Err(Problem::new(StatusCode::CONFLICT, detail).code(ReasonCode::IllegalTransition.as_str()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectBody {
    collected_by: String,
    collected_by_ic: String,
    /// MYKAD (the default), PASSPORT or OTHER.
    #[serde(default)]
    collected_by_doc_type: Option<String>,
    #[serde(default)]
    collected_by_doc_country: Option<String>,
    #[serde(default)]
    collected_by_doc_description: Option<String>,
    relationship_to_patient: String,
    #[serde(default)]
    relationship_other: Option<String>,
    #[serde(default)]
    authority_reference: Option<String>,
    #[serde(default)]
    document_seen: bool,
    #[serde(default)]
    comments: Option<String>,
    /// The seed let clients set this; mediadist uses the server's clock.
    #[serde(default)]
    #[allow(dead_code)]
    collection_datetime: Option<Value>,
    /// The scanned slip, when the collector brought it.
    #[serde(default)]
    slip: Option<String>,
}

/// `PATCH`/`POST .../{id}/collect/`: a handover, by the same rules as the
/// kiosk; the time is the server's.
pub async fn collect(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, Problem> {
    caller.may(Action::Handover)?;
    let id = parse_id(&id)?;
    let b: CollectBody = body::parse(body)?;
    let collector = CollectorData {
        name: b.collected_by,
        document: DocumentInput {
            kind: b.collected_by_doc_type.unwrap_or_else(|| "MYKAD".into()),
            number: b.collected_by_ic,
            country: b.collected_by_doc_country,
            description: b.collected_by_doc_description,
        },
        relationship: b.relationship_to_patient,
        relationship_other: b.relationship_other,
        authority_reference: b.authority_reference,
    };
    collector.validate()?;
    let target = match b.slip {
        Some(slip) => {
            let t = state.config.slip_key.verify(&slip).map_err(|e| {
                Problem::invalid("slip", format!("slip: {e}"))
                    .code(ReasonCode::TokenInvalid.as_str())
            })?;
            if t.distribution_id != id {
                return Err(
                    Problem::invalid("slip", "slip: belongs to another distribution")
                        .code(ReasonCode::TokenInvalid.as_str()),
                );
            }
            json!({ "token": slip.trim() })
        }
        None => json!({ "distribution_id": id }),
    };
    ensure_live(&state, id).await?;
    let data = json!({
        "target": target,
        "collector": collector,
        "document_seen": b.document_seen,
        "comments": b.comments,
        "actor": caller.username,
    });
    command_then_detail(
        &state,
        &caller,
        &key,
        CommandType::Handover,
        id,
        data,
        StatusCode::OK,
    )
    .await
}

/// `GET /api/commands/{id}/`: the outcome of a command answered 202.
pub async fn command_outcome(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    if let Some(rest) = id.strip_prefix("api:") {
        if rest.split(':').next() != Some(caller.username.as_str()) {
            return Err(Problem::not_found("no such command of yours"));
        }
    }
    let stored: Option<Value> = sqlx::query_scalar("SELECT reply FROM inbox WHERE message_id = $1")
        .bind(&id)
        .fetch_optional(&state.pool)
        .await?;
    match stored.filter(|v| v.get("outcome").is_some()) {
        Some(v) => Ok(Json(v).into_response()),
        None => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "status": "pending", "command_id": id, "detail": "no outcome recorded yet" })),
        )
            .into_response()),
    }
}

/// `POST .../{id}/reprint-slip/`: a new slip version (the old slip stops
/// working); answers the detail plus the new slip's code to print.
pub async fn reprint_slip(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, Problem> {
    let (id, data) = bodiless_step(&state, &caller, Action::Reprint, &id, body).await?;
    match broker::send(
        &state,
        &caller,
        CommandType::ReprintSlip,
        &key,
        Some(id),
        data,
    )
    .await?
    {
        Sent::Pending { command_id } => Ok(pending_answer(&state, &command_id)),
        Sent::Accepted(reply) => {
            let mut detail = read_detail(&state, &caller, id).await?;
            let version = detail["slip_version"].as_i64().unwrap_or(1) as i32;
            detail["slip"] = json!(state.config.slip_key.sign(id, version).to_string());
            let mut res = Json(detail).into_response();
            if reply.duplicate {
                res.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            Ok(res)
        }
    }
}
