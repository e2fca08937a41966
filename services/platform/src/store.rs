//! The SQL every stage shares: who is acting, which distribution a command
//! is about (locked for the transaction), and recording what the decider
//! decided: the row, the audit trail and the outbox, together.

use crate::worker::{Context, HandleError};
use chrono::{DateTime, Utc};
use mediadist_domain::catalog::event_type_name;
use mediadist_domain::command::{Target, TargetData};
use mediadist_domain::envelope::{CloudEvent, CommandEnvelope};
use mediadist_domain::event::{Event, EventContext};
use mediadist_domain::reply::Reply;
use mediadist_domain::roles::Actor;
use mediadist_domain::workflow::{decide, Command, Distribution};
use mediadist_domain::{
    FieldError, IdentityDocument, MediaType, Mykad, PassportNo, ReasonCode, Rejection, Role,
    SlipKey, Status, Urgency,
};
use sqlx::{PgConnection, Row};

/// A member of staff as stored.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: i64,
    pub actor: Actor,
}

/// Sets a staff member's station PIN (stored as an argon2 hash).
pub async fn set_pin(
    conn: &mut PgConnection,
    username: &str,
    pin: &mediadist_domain::Pin,
) -> anyhow::Result<()> {
    let hash = crate::secrets::hash(pin.expose())?;
    let changed = sqlx::query("UPDATE staff SET pin_hash = $2 WHERE username = $1")
        .bind(username.trim().to_lowercase())
        .bind(hash)
        .execute(conn)
        .await?
        .rows_affected();
    anyhow::ensure!(changed == 1, "no staff account '{}'", username.trim());
    Ok(())
}

/// A station sign-in: the account must exist, be active and have a PIN that
/// matches. Every failure gets the same answer, so a guess learns nothing.
pub async fn sign_in_with_pin(
    conn: &mut PgConnection,
    username: &str,
    pin: &str,
) -> Result<Result<Staff, Rejection>, sqlx::Error> {
    use crate::throttle::{self, Door};
    if let Some(until) = throttle::closed_until(conn, Door::StationPin, username).await? {
        return Ok(Err(Rejection::new(
            ReasonCode::SignInClosed,
            throttle::closed_message(until),
        )));
    }
    let stored: Option<Option<String>> =
        sqlx::query_scalar("SELECT pin_hash FROM staff WHERE username = $1 AND active")
            .bind(username.trim().to_lowercase())
            .fetch_optional(&mut *conn)
            .await?;
    let pin = pin.trim().to_string();
    let stored = stored.flatten();
    let ok = tokio::task::spawn_blocking(move || {
        crate::secrets::verify_or_waste_time(&pin, stored.as_deref())
    })
    .await
    .unwrap_or(false);
    if !ok {
        if let Some(until) = throttle::failed(conn, Door::StationPin, username).await? {
            return Ok(Err(Rejection::new(
                ReasonCode::SignInClosed,
                throttle::closed_message(until),
            )));
        }
        return Ok(Err(Rejection::new(
            ReasonCode::UnknownStaff,
            "wrong username or PIN (an admin sets PINs with: mediadist staff add --pin)",
        )));
    }
    throttle::succeeded(conn, Door::StationPin, username).await?;
    load_staff(conn, username).await
}

pub async fn load_staff(
    conn: &mut PgConnection,
    username: &str,
) -> Result<Result<Staff, Rejection>, sqlx::Error> {
    let row = sqlx::query("SELECT id, role, active FROM staff WHERE username = $1")
        .bind(username.trim().to_lowercase())
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else {
        return Ok(Err(Rejection::new(
            ReasonCode::UnknownStaff,
            format!("no staff account '{}'", username.trim()),
        )));
    };
    let role: String = row.get("role");
    let Ok(role) = Role::parse(&role, "role") else {
        return Ok(Err(Rejection::new(
            ReasonCode::UnknownStaff,
            "staff account has an unknown role",
        )));
    };
    Ok(Ok(Staff {
        id: row.get("id"),
        actor: Actor {
            username: username.trim().to_lowercase(),
            role,
            active: row.get("active"),
        },
    }))
}

/// A distribution loaded for a command, with what events need to carry.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub state: Distribution,
    pub media_type: MediaType,
    pub quantity: i64,
    pub urgency: Urgency,
}

/// Loads and locks (FOR UPDATE) one distribution: concurrent commands on it
/// queue behind this transaction, so two kiosks cannot both hand it over.
/// The staff name is a subquery, not a join: after waiting for the lock,
/// PostgreSQL re-reads the locked row but keeps a join's old rows, so the
/// loser of a race would not learn who won.
pub async fn lock_distribution(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<Loaded>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT d.id, d.status, d.slip_version, d.media_type, d.quantity, d.urgency, d.collection_datetime,
                d.deleted_at IS NOT NULL AS deleted,
                p.ic, p.passport_country, p.passport_no, p.name AS patient_name,
                (SELECT h.username FROM staff h WHERE h.id = d.handed_over_by_id) AS handed_over_by
         FROM media_distributions d
         JOIN patients p ON p.id = d.patient_id
         WHERE d.id = $1
         FOR UPDATE OF d",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    // Values come from our own constrained columns; a mismatch is a bug, reported as such.
    let bad = |what: &str| {
        sqlx::Error::Decode(format!("media_distributions.{what} holds an unknown value").into())
    };
    let ic: Option<String> = r.get("ic");
    let passport = match (
        r.get::<Option<String>, _>("passport_country"),
        r.get::<Option<String>, _>("passport_no"),
    ) {
        (Some(c), Some(n)) => PassportNo::parse(&c, &n, "passport").ok(),
        _ => None,
    };
    Ok(Some(Loaded {
        state: Distribution {
            id: r.get("id"),
            status: Status::parse(r.get("status"), "status").map_err(|_| bad("status"))?,
            slip_version: r.get("slip_version"),
            patient_ic: ic.and_then(|s| Mykad::parse(&s, "ic").ok()),
            patient_passport: passport,
            patient_name: r.get("patient_name"),
            collected_at: r.get::<Option<DateTime<Utc>>, _>("collection_datetime"),
            handed_over_by: r.get("handed_over_by"),
            deleted: r.get("deleted"),
        },
        media_type: MediaType::parse(r.get("media_type"), "media_type")
            .map_err(|_| bad("media_type"))?,
        quantity: r.get::<i32, _>("quantity") as i64,
        urgency: Urgency::parse(r.get("urgency"), "urgency").map_err(|_| bad("urgency"))?,
    }))
}

/// A target that cannot be acted on; a retired slip still names its
/// distribution, so the refusal can be recorded against it.
type Refused = (Rejection, Option<Loaded>);

/// Finds the distribution a command targets. A slip must carry a valid
/// signature and the current slip version (a reprint retires old slips).
async fn resolve_target(
    conn: &mut PgConnection,
    target: &Target,
    key: &SlipKey,
) -> Result<Result<Loaded, Refused>, sqlx::Error> {
    let (id, slip_version) = match target {
        Target::Token(text) => match key.verify(text) {
            Ok(t) => (t.distribution_id, Some(t.slip_version)),
            Err(e) => {
                return Ok(Err((
                    Rejection::new(ReasonCode::TokenInvalid, e.to_string()),
                    None,
                )))
            }
        },
        Target::Id(id) => (*id, None),
    };
    let Some(loaded) = lock_distribution(conn, id).await? else {
        let msg = match slip_version {
            Some(_) => "this slip belongs to no request here".to_string(),
            None => format!("no request {}", mediadist_domain::Reference::from_id(id)),
        };
        let code = if slip_version.is_some() {
            ReasonCode::TokenInvalid
        } else {
            ReasonCode::NotFound
        };
        return Ok(Err((Rejection::new(code, msg), None)));
    };
    if let Some(v) = slip_version {
        if v != loaded.state.slip_version {
            let r = Rejection::new(
                ReasonCode::TokenSuperseded,
                "this slip was replaced by a reprint; ask for the newest slip or look the request up by reference",
            );
            return Ok(Err((r, Some(loaded))));
        }
    }
    Ok(Ok(loaded))
}

/// The whole life of a command on an existing distribution: who, which,
/// decide, record. Refusals are answers, not errors.
///
/// `command` builds the validated command once the target is known (a
/// handover needs to know whether a slip was scanned).
pub async fn transition(
    conn: &mut PgConnection,
    env: &CommandEnvelope,
    ctx: &Context,
    target: &TargetData,
    actor: &str,
    command: impl FnOnce(&Target) -> Result<Command, FieldError>,
) -> Result<Reply, HandleError> {
    let id = &env.event.id;
    let parsed = Target::parse(target).and_then(|t| Ok((command(&t)?, t)));
    let (command, target) = match parsed {
        Ok(v) => v,
        Err(e) => return Ok(Reply::rejected(id, None, e.into())),
    };
    let target = &target;
    let staff = match load_staff(conn, actor).await? {
        Ok(s) => s,
        Err(r) => return Ok(Reply::rejected(id, None, r)),
    };
    let loaded = match resolve_target(conn, target, &ctx.config.slip_key).await? {
        Ok(l) => l,
        Err((r, stale)) => {
            // An old slip offered at the desk: someone holds a copy that was replaced.
            if let (Some(stale), Command::Handover { .. }) = (&stale, &command) {
                record_refused_handover(conn, stale, &command, &staff, env, &r).await?;
            }
            return Ok(Reply::rejected(id, None, r));
        }
    };
    let dist_id = loaded.state.id;
    match decide(&loaded.state, &command, &staff.actor, &ctx.config.policy) {
        Ok(events) => {
            let mut status = loaded.state.status;
            for event in &events {
                record(conn, &loaded, event, &staff, env).await?;
                status = event.status_after(status);
            }
            Ok(Reply::accepted(id, Some(dist_id), Some(status)))
        }
        Err(rejection) => {
            if matches!(command, Command::Handover { .. }) && refusal_is_recorded(rejection.code) {
                record_refused_handover(conn, &loaded, &command, &staff, env, &rejection).await?;
            }
            Ok(Reply::rejected(id, Some(dist_id), rejection))
        }
    }
}

/// A handover refused at the desk for who the collector is gets an audit
/// row: an attempt to take someone's records is itself worth knowing.
fn refusal_is_recorded(code: ReasonCode) -> bool {
    matches!(
        code,
        ReasonCode::IdentityMismatch | ReasonCode::AuthorityRequired | ReasonCode::DocumentNotSeen
    )
}

async fn record_refused_handover(
    conn: &mut PgConnection,
    loaded: &Loaded,
    command: &Command,
    staff: &Staff,
    env: &CommandEnvelope,
    rejection: &Rejection,
) -> Result<(), sqlx::Error> {
    let details = match command {
        // Who tried, as they gave their name: the audit says who was turned away.
        Command::Handover { collector, .. } => serde_json::json!({
            "collector_name": collector.name,
            "relationship": collector.relationship,
            "document_type": collector.document.type_code(),
            "document_masked": collector.document.masked(),
            "code": rejection.code,
        }),
        _ => serde_json::json!({ "code": rejection.code }),
    };
    let status = loaded.state.status.as_str();
    audit(
        conn,
        loaded.state.id,
        "handover-refused",
        Some(status),
        status,
        staff,
        Some(&rejection.message),
        details,
        env,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn audit(
    conn: &mut PgConnection,
    distribution_id: i64,
    event: &str,
    from: Option<&str>,
    to: &str,
    staff: &Staff,
    reason: Option<&str>,
    details: serde_json::Value,
    env: &CommandEnvelope,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO distribution_events (distribution_id, event, from_status, to_status, actor_id, actor, reason, details, command_id, correlation_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(distribution_id)
    .bind(event)
    .bind(from)
    .bind(to)
    .bind(staff.id)
    .bind(&staff.actor.username)
    .bind(reason)
    .bind(details)
    .bind(&env.event.id)
    .bind(&env.event.correlationid)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes one decided event: the distribution row, an audit row and an
/// outbox row, in the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    loaded: &Loaded,
    event: &Event,
    staff: &Staff,
    env: &CommandEnvelope,
) -> Result<(), sqlx::Error> {
    let id = loaded.state.id;
    let (reason, details) = match event {
        Event::Requested { .. } => (None, serde_json::json!({})),
        Event::PreparationStarted => {
            sqlx::query(
                "UPDATE media_distributions SET status = 'PREPARING', prepared_by_id = $2, preparation_started_at = now(),
                 version = version + 1, modified = now() WHERE id = $1",
            )
            .bind(id)
            .bind(staff.id)
            .execute(&mut *conn)
            .await?;
            (None, serde_json::json!({}))
        }
        Event::Ready { storage_location } => {
            sqlx::query(
                "UPDATE media_distributions SET status = 'READY', storage_location = $2, ready_at = now(),
                 prepared_by_id = COALESCE(prepared_by_id, $3), version = version + 1, modified = now() WHERE id = $1",
            )
            .bind(id)
            .bind(storage_location)
            .bind(staff.id)
            .execute(&mut *conn)
            .await?;
            (
                None,
                serde_json::json!({ "storage_location": storage_location }),
            )
        }
        Event::Collected {
            collector,
            slip_presented,
            authority_required_for_others,
            note,
        } => {
            let doc_kind = match &collector.document {
                IdentityDocument::Other { kind, .. } => Some(kind.clone()),
                _ => None,
            };
            sqlx::query(
                "UPDATE media_distributions SET status = 'COLLECTED', collected_by = $2, collected_by_doc_type = $3,
                 collected_by_doc_kind = $4, collected_by_ic = $5, relationship_to_patient = $6, relationship_other = $7,
                 authority_reference = $8, slip_presented = $9, collection_datetime = now(), handed_over_by_id = $10,
                 comments = CASE WHEN $11::text IS NULL THEN comments
                                 WHEN coalesce(comments, '') = '' THEN $11
                                 ELSE comments || E'\n' || $11 END,
                 version = version + 1, modified = now() WHERE id = $1",
            )
            .bind(id)
            .bind(&collector.name)
            .bind(collector.document.type_code())
            .bind(doc_kind)
            .bind(collector.document.stored_number())
            .bind(collector.relationship.as_str())
            .bind(&collector.relationship_other)
            .bind(&collector.authority_reference)
            .bind(slip_presented)
            .bind(staff.id)
            .bind(note)
            .execute(&mut *conn)
            .await?;
            deactivate_studies(conn, id).await?;
            let reason = (!slip_presented).then_some("slip not presented");
            (
                reason,
                serde_json::json!({
                    "relationship": collector.relationship,
                    "document_type": collector.document.type_code(),
                    "document_masked": collector.document.masked(),
                    "authority_reference": collector.authority_reference,
                    "slip_presented": slip_presented,
                    "authority_required_for_others": authority_required_for_others,
                    "note": note,
                }),
            )
        }
        Event::Cancelled { reason } => {
            sqlx::query(
                "UPDATE media_distributions SET status = 'CANCELLED', cancellation_reason = $2, cancelled_at = now(),
                 version = version + 1, modified = now() WHERE id = $1",
            )
            .bind(id)
            .bind(reason)
            .execute(&mut *conn)
            .await?;
            deactivate_studies(conn, id).await?;
            // Media already burned for a cancelled request must be destroyed.
            let shred = matches!(loaded.state.status, Status::Preparing | Status::Ready);
            (
                Some(reason.as_str()),
                serde_json::json!({ "media_to_shred": shred }),
            )
        }
        Event::SlipReissued { slip_version } => {
            sqlx::query("UPDATE media_distributions SET slip_version = $2, version = version + 1, modified = now() WHERE id = $1")
                .bind(id)
                .bind(slip_version)
                .execute(&mut *conn)
                .await?;
            (None, serde_json::json!({ "slip_version": slip_version }))
        }
        Event::Updated { changes } => {
            // $2 says whether comments change at all; an empty one clears them.
            sqlx::query(
                "UPDATE media_distributions SET comments = CASE WHEN $2 THEN NULLIF($3, '') ELSE comments END,
                 urgency = COALESCE($4, urgency), quantity = COALESCE($5, quantity),
                 version = version + 1, modified = now() WHERE id = $1",
            )
            .bind(id)
            .bind(changes.comments.is_some())
            .bind(&changes.comments)
            .bind(changes.urgency.map(|u| u.as_str()))
            .bind(changes.quantity.map(|q| q.get() as i32))
            .execute(&mut *conn)
            .await?;
            (None, serde_json::to_value(changes).unwrap_or_default())
        }
        Event::Deleted { reason } => {
            sqlx::query(
                "UPDATE media_distributions SET deleted_at = now(), deleted_by_id = $2, deletion_reason = $3,
                 version = version + 1, modified = now() WHERE id = $1",
            )
            .bind(id)
            .bind(staff.id)
            .bind(reason)
            .execute(&mut *conn)
            .await?;
            deactivate_studies(conn, id).await?;
            (Some(reason.as_str()), serde_json::json!({}))
        }
    };
    let from = (!matches!(event, Event::Requested { .. })).then(|| loaded.state.status.as_str());
    audit(
        conn,
        id,
        event.name(),
        from,
        event.status_after(loaded.state.status).as_str(),
        staff,
        reason,
        details,
        env,
    )
    .await?;
    let ctx = EventContext {
        distribution_id: id,
        media_type: loaded.media_type,
        quantity: loaded.quantity,
        urgency: loaded.urgency,
        previous_status: from.map(|_| loaded.state.status),
        actor: staff.actor.username.clone(),
    };
    enqueue_event(conn, event.name(), id, event.payload(&ctx), env).await
}

async fn deactivate_studies(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE distribution_studies SET active = FALSE WHERE distribution_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Puts an event in the outbox; the relay publishes it after COMMIT.
pub async fn enqueue_event(
    conn: &mut PgConnection,
    event_name: &str,
    distribution_id: i64,
    data: serde_json::Value,
    env: &CommandEnvelope,
) -> Result<(), sqlx::Error> {
    let event_id = uuid::Uuid::new_v4();
    let mut ev = CloudEvent::new(
        event_id.to_string(),
        "mediadist",
        event_type_name(event_name),
        Utc::now(),
        data,
    );
    ev.subject = Some(distribution_id.to_string());
    ev.correlationid = Some(
        env.event
            .correlationid
            .clone()
            .unwrap_or_else(|| env.event.id.clone()),
    );
    let payload = serde_json::to_value(&ev).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    sqlx::query(
        "INSERT INTO outbox (event_id, event_type, subject, payload) VALUES ($1, $2, $3, $4)",
    )
    .bind(event_id)
    .bind(&ev.kind)
    .bind(&ev.subject)
    .bind(payload)
    .execute(conn)
    .await?;
    Ok(())
}
