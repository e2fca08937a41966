//! A media request: the studies must be registered and of one patient, and
//! none may already have an active request for the same media type.

use mediadist_domain::command::RequestMediaData;
use mediadist_domain::envelope::CommandEnvelope;
use mediadist_domain::event::Event;
use mediadist_domain::reply::Reply;
use mediadist_domain::workflow::{decide_request, ActiveRequest, Distribution, StudyFacts};
use mediadist_domain::{MediaType, Status, StudyUid};
use mediadist_platform::store::{load_staff, record, Loaded};
use mediadist_platform::worker::HandleError;
use sqlx::{PgConnection, Row};

pub async fn handle(
    conn: &mut PgConnection,
    env: &CommandEnvelope,
    d: RequestMediaData,
) -> Result<Reply, HandleError> {
    let id = &env.event.id;
    let staff = match load_staff(conn, &d.actor).await? {
        Ok(s) => s,
        Err(r) => return Ok(Reply::rejected(id, None, r)),
    };
    let request = match d.validate() {
        Ok(r) => r,
        Err(e) => return Ok(Reply::rejected(id, None, e.into())),
    };
    let uids: Vec<&str> = request.study_uids.iter().map(StudyUid::as_str).collect();
    // Locking the studies serialises concurrent requests for them, so the
    // duplicate check below sees every committed request.
    let rows = sqlx::query("SELECT id, study_uid, patient_id FROM studies WHERE study_uid = ANY($1) ORDER BY id FOR UPDATE")
        .bind(&uids)
        .fetch_all(&mut *conn)
        .await?;
    let known: Vec<StudyFacts> = rows
        .iter()
        .filter_map(|r| {
            Some(StudyFacts {
                uid: StudyUid::parse(r.get("study_uid"), "study_uid").ok()?,
                patient_id: r.get("patient_id"),
            })
        })
        .collect();
    let active_rows = sqlx::query(
        "SELECT s.study_uid, ds.media_type, ds.distribution_id FROM distribution_studies ds
         JOIN studies s ON s.id = ds.study_id WHERE ds.active AND s.study_uid = ANY($1)",
    )
    .bind(&uids)
    .fetch_all(&mut *conn)
    .await?;
    let active: Vec<ActiveRequest> = active_rows
        .iter()
        .filter_map(|r| {
            Some(ActiveRequest {
                study_uid: StudyUid::parse(r.get("study_uid"), "study_uid").ok()?,
                media_type: MediaType::parse(r.get("media_type"), "media_type").ok()?,
                distribution_id: r.get("distribution_id"),
            })
        })
        .collect();
    let event = match decide_request(&request, &staff.actor, &known, &active) {
        Ok(e) => e,
        Err(r) => return Ok(Reply::rejected(id, None, r)),
    };
    let Event::Requested {
        media_type,
        quantity,
        urgency,
        requester,
        comments,
        ..
    } = &event
    else {
        return Err(HandleError::Poison(
            "decider returned an unexpected event".into(),
        ));
    };
    let patient_id: i64 = rows
        .first()
        .map(|r| r.get("patient_id"))
        .unwrap_or_default();
    let dist_id: i64 = sqlx::query_scalar(
        "INSERT INTO media_distributions (patient_id, media_type, quantity, urgency, requester_type, requester_name,
            requester_organisation, requester_reference, requester_contact, requested_by_id, comments)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(patient_id)
    .bind(media_type.as_str())
    .bind(quantity.get() as i32)
    .bind(urgency.as_str())
    .bind(requester.kind.as_str())
    .bind(&requester.name)
    .bind(&requester.organisation)
    .bind(&requester.reference)
    .bind(&requester.contact)
    .bind(staff.id)
    .bind(comments)
    .fetch_one(&mut *conn)
    .await?;
    let study_ids: Vec<i64> = rows.iter().map(|r| r.get("id")).collect();
    sqlx::query(
        "INSERT INTO distribution_studies (distribution_id, study_id, media_type) SELECT $1, unnest($2::bigint[]), $3",
    )
    .bind(dist_id)
    .bind(&study_ids)
    .bind(media_type.as_str())
    .execute(&mut *conn)
    .await?;
    let loaded = Loaded {
        state: Distribution {
            id: dist_id,
            status: Status::Requested,
            slip_version: 1,
            patient_ic: None,
            patient_passport: None,
            patient_name: String::new(),
            collected_at: None,
            handed_over_by: None,
            deleted: false,
        },
        media_type: *media_type,
        quantity: quantity.get(),
        urgency: *urgency,
    };
    record(conn, &loaded, &event, &staff, env).await?;
    Ok(Reply::accepted(id, Some(dist_id), Some(Status::Requested)))
}
