//! Days at the desk (../shared/SCENARIOS.md) played through the real
//! workers: self-collection, duplicates, cancellation, two kiosks at once,
//! wrong person, a foreigner's passport, and the same command delivered twice.

mod common;

use common::TestEnv;
use mediadist_domain::catalog::CommandType;
use mediadist_domain::reply::{Outcome, Reply};
use mediadist_domain::{ReasonCode, Reference};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

async fn send(env: &TestEnv, command: CommandType, data: Value) -> Reply {
    env.client.send(command, data, WAIT).await.expect("answer")
}

fn code(r: &Reply) -> Option<ReasonCode> {
    r.rejection.as_ref().map(|r| r.code)
}

/// A synthetic patient with one CT study; returns the study UID.
async fn register(
    env: &TestEnv,
    n: u32,
    ic: Option<&str>,
    passport: Option<(&str, &str)>,
) -> String {
    let uid = format!("1.2.826.0.1.3680043.10.{n}");
    let patient = json!({
        "mrn": format!("SYN{n:05}"), "name": format!("Synthetic^Patient{n}"), "ic": ic,
        "passport": passport.map(|(c, p)| json!({"country": c, "number": p})),
    });
    let data = json!({
        "patient": patient,
        "study": { "uid": uid, "accession_number": format!("ACC{n}"), "study_date": "2026-12-01", "modalities": ["CT"] },
        "examinations": [{ "series_uid": format!("{uid}.1"), "modality": "CT", "instance_count": 120 }]
    });
    let r = send(env, CommandType::RegisterStudy, data).await;
    assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
    uid
}

async fn request(env: &TestEnv, uid: &str, media: &str) -> Reply {
    let data = json!({
        "study_uids": [uid], "media_type": media, "quantity": 1, "urgency": "NORMAL",
        "requester": { "type": "PATIENT" }, "actor": "clerk1"
    });
    send(env, CommandType::RequestMedia, data).await
}

/// Requests, prepares and readies a CD; returns (id, token).
async fn ready_cd(env: &TestEnv, uid: &str) -> (i64, String) {
    let r = request(env, uid, "CD").await;
    assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
    let id = r.distribution_id.unwrap();
    let token = env.config.slip_key.sign(id, 1).to_string();
    let r = send(
        env,
        CommandType::StartPreparing,
        json!({"target": {"token": token}, "actor": "rad1"}),
    )
    .await;
    assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
    let r = send(
        env,
        CommandType::MarkReady,
        json!({"target": {"token": token}, "storage_location": "Shelf A1", "actor": "rad1"}),
    )
    .await;
    assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
    (id, token)
}

fn handover(target: Value, doc: Value, relationship: &str, authority: Option<&str>) -> Value {
    json!({
        "target": target,
        "collector": { "name": "Synthetic Collector", "document": doc, "relationship": relationship, "authority_reference": authority },
        "document_seen": true,
        "actor": "desk1"
    })
}

async fn audit_events(env: &TestEnv, id: i64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT event FROM distribution_events WHERE distribution_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .unwrap()
}

async fn staffed() -> TestEnv {
    let env = TestEnv::start().await;
    env.add_staff("clerk1", "CLERK").await;
    env.add_staff("rad1", "RADIOGRAPHER").await;
    env.add_staff("desk1", "RECEPTION").await;
    env.add_staff("desk2", "RECEPTION").await;
    env.add_staff("admin1", "ADMIN").await;
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn desk_scenarios() {
    let env = staffed().await;

    // 1. Self-collection: the IC on the card must be the patient's.
    let uid = register(&env, 1, Some("850612-14-5523"), None).await;
    let (id, token) = ready_cd(&env, &uid).await;
    // 6. Wrong person: an IC that is not the patient's, no letter. Refused and recorded.
    let wrong = handover(
        json!({"token": token}),
        json!({"type": "MYKAD", "number": "900101-14-1235"}),
        "SELF",
        None,
    );
    let r = send(&env, CommandType::Handover, wrong).await;
    assert_eq!(code(&r), Some(ReasonCode::IdentityMismatch), "{r:?}");
    let r = send(
        &env,
        CommandType::Handover,
        handover(
            json!({"token": token}),
            json!({"type": "MYKAD", "number": "900101-14-1235"}),
            "SPOUSE",
            None,
        ),
    )
    .await;
    assert_eq!(code(&r), Some(ReasonCode::AuthorityRequired), "{r:?}");
    let r = send(
        &env,
        CommandType::Handover,
        handover(
            json!({"token": token}),
            json!({"type": "MYKAD", "number": "850612145523"}),
            "SELF",
            None,
        ),
    )
    .await;
    assert_eq!(r.status.map(|s| s.as_str()), Some("COLLECTED"), "{r:?}");
    assert_eq!(
        audit_events(&env, id).await,
        [
            "requested",
            "preparing",
            "ready",
            "handover-refused",
            "handover-refused",
            "collected"
        ]
    );
    // Each refusal records who tried, with what, and why; never the number whole.
    let refused: Vec<(serde_json::Value, String)> = sqlx::query_as(
        "SELECT details, reason FROM distribution_events WHERE distribution_id = $1 AND event = 'handover-refused' ORDER BY id",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        refused.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(),
        vec![
            json!({"collector_name": "Synthetic Collector", "relationship": "SELF", "document_type": "MYKAD",
                   "document_masked": "******-**-1235", "code": "IDENTITY_MISMATCH"}),
            json!({"collector_name": "Synthetic Collector", "relationship": "SPOUSE", "document_type": "MYKAD",
                   "document_masked": "******-**-1235", "code": "AUTHORITY_REQUIRED"}),
        ]
    );
    assert!(refused.iter().all(|(_, reason)| !reason.is_empty()));

    // 7. Same study, two requests: a second CD is refused pointing at the first; film is fine.
    let uid2 = register(&env, 2, None, None).await;
    let first = request(&env, &uid2, "CD").await;
    let second = request(&env, &uid2, "CD").await;
    assert_eq!(code(&second), Some(ReasonCode::DuplicateActiveRequest));
    assert!(second
        .rejection
        .unwrap()
        .message
        .contains(first.reference.as_deref().unwrap()));
    assert_eq!(
        request(&env, &uid2, "XRAY_FILM").await.outcome,
        Outcome::Accepted
    );

    // 8. Change of mind: only an admin cancels, with a reason; the slip stops working,
    // and the study may be requested again.
    let first_id = first.distribution_id.unwrap();
    let first_token = env.config.slip_key.sign(first_id, 1).to_string();
    let cancel = |actor: &str, reason: &str| json!({"target": {"reference": first.reference.clone().unwrap()}, "reason": reason, "actor": actor});
    assert_eq!(
        code(
            &send(
                &env,
                CommandType::Cancel,
                cancel("clerk1", "patient changed mind")
            )
            .await
        ),
        Some(ReasonCode::Forbidden)
    );
    let r = send(&env, CommandType::Cancel, cancel("admin1", " ")).await;
    assert_eq!(
        (
            code(&r),
            r.rejection.as_ref().and_then(|x| x.field.as_deref())
        ),
        (Some(ReasonCode::InvalidField), Some("reason"))
    );
    let r = send(
        &env,
        CommandType::Cancel,
        cancel("admin1", "patient changed mind"),
    )
    .await;
    assert_eq!(r.status.map(|s| s.as_str()), Some("CANCELLED"), "{r:?}");
    let r = send(
        &env,
        CommandType::StartPreparing,
        json!({"target": {"token": first_token}, "actor": "rad1"}),
    )
    .await;
    assert_eq!(code(&r), Some(ReasonCode::AlreadyCancelled));
    assert_eq!(request(&env, &uid2, "CD").await.outcome, Outcome::Accepted);

    // 9. Two kiosks, one slip, at the same moment, many times: one handover each.
    for n in 0..10 {
        let uid = register(&env, 100 + n, Some("850612-14-5523"), None).await;
        let (id, token) = ready_cd(&env, &uid).await;
        let body = |actor: &str| {
            let mut b = handover(
                json!({"token": token}),
                json!({"type": "MYKAD", "number": "850612145523"}),
                "SELF",
                None,
            );
            b["actor"] = actor.into();
            b
        };
        let (a, b) = tokio::join!(
            send(&env, CommandType::Handover, body("desk1")),
            send(&env, CommandType::Handover, body("desk2"))
        );
        let mut outcomes = [(a.outcome, code(&a)), (b.outcome, code(&b))];
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(
            outcomes,
            [
                (Outcome::Accepted, None),
                (Outcome::Rejected, Some(ReasonCode::AlreadyCollected))
            ]
        );
        let collected: i64 = sqlx::query_scalar("SELECT count(*) FROM distribution_events WHERE distribution_id = $1 AND event = 'collected'")
            .bind(id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
        assert_eq!(collected, 1);
    }

    // 11. A foreigner: passport on record, collection with that passport.
    let uid = register(&env, 3, None, Some(("IDN", "B1234567"))).await;
    let (_, token) = ready_cd(&env, &uid).await;
    let other = handover(
        json!({"token": token}),
        json!({"type": "PASSPORT", "country": "IDN", "number": "B7654321"}),
        "SELF",
        None,
    );
    assert_eq!(
        code(&send(&env, CommandType::Handover, other).await),
        Some(ReasonCode::IdentityMismatch)
    );
    let own = handover(
        json!({"token": token}),
        json!({"type": "PASSPORT", "country": "idn", "number": "b1234567"}),
        "SELF",
        None,
    );
    assert_eq!(
        send(&env, CommandType::Handover, own).await.outcome,
        Outcome::Accepted
    );

    // 5. Lost slip: handover by reference is recorded as "slip not presented".
    let uid = register(&env, 4, Some("850612-14-5523"), None).await;
    let (id, _) = ready_cd(&env, &uid).await;
    let by_ref = handover(
        json!({"reference": format!("MD-{id}")}),
        json!({"type": "MYKAD", "number": "850612-14-5523"}),
        "SELF",
        None,
    );
    assert_eq!(
        send(&env, CommandType::Handover, by_ref).await.outcome,
        Outcome::Accepted
    );
    let (presented, reason): (bool, Option<String>) = sqlx::query_as(
        "SELECT d.slip_presented, e.reason FROM media_distributions d JOIN distribution_events e ON e.distribution_id = d.id
         WHERE d.id = $1 AND e.event = 'collected'",
    )
    .bind(id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        (presented, reason.as_deref()),
        (false, Some("slip not presented"))
    );

    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reprint_update_and_delete() {
    let env = staffed().await;
    let uid = register(&env, 9, Some("850612-14-5523"), None).await;
    let r = request(&env, &uid, "CD").await;
    let id = r.distribution_id.unwrap();
    let target = json!({ "distribution_id": id });

    // Update: quantity and comments while REQUESTED (a clerk may).
    let upd = json!({"target": target, "quantity": 3, "comments": "two for the surgeon", "actor": "clerk1"});
    assert_eq!(
        send(&env, CommandType::Update, upd).await.outcome,
        Outcome::Accepted
    );
    let (q, c): (i32, Option<String>) =
        sqlx::query_as("SELECT quantity, comments FROM media_distributions WHERE id = $1")
            .bind(id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!((q, c.as_deref()), (3, Some("two for the surgeon")));

    // Reprint: a new token works, the old one is refused as superseded.
    let old = env.config.slip_key.sign(id, 1).to_string();
    let r = send(
        &env,
        CommandType::ReprintSlip,
        json!({"target": {"token": old}, "actor": "desk1"}),
    )
    .await;
    assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
    let r = send(
        &env,
        CommandType::StartPreparing,
        json!({"target": {"token": old}, "actor": "rad1"}),
    )
    .await;
    assert_eq!(code(&r), Some(ReasonCode::TokenSuperseded));
    // The old slip offered at the desk is refused and recorded: someone
    // holds a copy that was replaced.
    let r = send(
        &env,
        CommandType::Handover,
        handover(
            json!({"token": old}),
            json!({"type": "MYKAD", "number": "900101-14-1235"}),
            "SPOUSE",
            Some("CL-7"),
        ),
    )
    .await;
    assert_eq!(code(&r), Some(ReasonCode::TokenSuperseded));
    let stale: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT details FROM distribution_events WHERE distribution_id = $1 AND event = 'handover-refused'",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        stale,
        vec![
            json!({"collector_name": "Synthetic Collector", "relationship": "SPOUSE", "document_type": "MYKAD",
                    "document_masked": "******-**-1235", "code": "TOKEN_SUPERSEDED"})
        ]
    );
    let new = env.config.slip_key.sign(id, 2).to_string();
    let r = send(
        &env,
        CommandType::StartPreparing,
        json!({"target": {"token": new}, "actor": "rad1"}),
    )
    .await;
    assert_eq!(r.status.map(|s| s.as_str()), Some("PREPARING"), "{r:?}");

    // Once preparing, the quantity is fixed; urgency and comments may still change.
    let r = send(
        &env,
        CommandType::Update,
        json!({"target": target, "quantity": 1, "actor": "clerk1"}),
    )
    .await;
    assert_eq!(
        (
            code(&r),
            r.rejection.as_ref().and_then(|x| x.field.as_deref())
        ),
        (Some(ReasonCode::IllegalTransition), Some("quantity"))
    );
    let r = send(
        &env,
        CommandType::Update,
        json!({"target": target, "urgency": "STAT", "comments": "", "actor": "clerk1"}),
    )
    .await;
    assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
    let (u, c): (String, Option<String>) =
        sqlx::query_as("SELECT urgency, comments FROM media_distributions WHERE id = $1")
            .bind(id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!((u.as_str(), c), ("STAT", None));

    // Delete: admin only, with a reason; the record is refused afterwards, the
    // study can be requested again, and the audit trail keeps who and why.
    let del = |actor: &str| json!({"target": target, "reason": "entered for the wrong patient", "actor": actor});
    assert_eq!(
        code(&send(&env, CommandType::Delete, del("clerk1")).await),
        Some(ReasonCode::Forbidden)
    );
    assert_eq!(
        send(&env, CommandType::Delete, del("admin1")).await.outcome,
        Outcome::Accepted
    );
    let r = send(
        &env,
        CommandType::MarkReady,
        json!({"target": target, "storage_location": "A1", "actor": "rad1"}),
    )
    .await;
    assert_eq!(code(&r), Some(ReasonCode::NotFound));
    assert_eq!(request(&env, &uid, "CD").await.outcome, Outcome::Accepted);
    let last: (String, String, Option<String>) = sqlx::query_as(
        "SELECT event, actor, reason FROM distribution_events WHERE distribution_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        last,
        (
            "deleted".into(),
            "admin1".into(),
            Some("entered for the wrong patient".into())
        )
    );
    assert_eq!(
        audit_events(&env, id).await,
        [
            "requested",
            "updated",
            "slip-reissued",
            "handover-refused",
            "preparing",
            "updated",
            "deleted"
        ]
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_command_delivered_twice_is_applied_once_and_answered_the_same() {
    let env = staffed().await;
    let uid = register(&env, 7, None, None).await;
    let data = json!({
        "study_uids": [uid], "media_type": "DVD", "quantity": 3, "urgency": "STAT",
        "requester": { "type": "CLINICIAN", "name": "Dr Synthetic" }, "actor": "clerk1"
    });
    let first = env
        .client
        .send_with_id("req-7", CommandType::RequestMedia, None, data.clone(), WAIT)
        .await
        .unwrap();
    let again = env
        .client
        .send_with_id("req-7", CommandType::RequestMedia, None, data, WAIT)
        .await
        .unwrap();
    assert_eq!(first.outcome, Outcome::Accepted);
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(
        (again.outcome, again.distribution_id),
        (Outcome::Accepted, first.distribution_id)
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM media_distributions")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM distribution_events")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!((rows, audit, outbox), (1, 1, 1));

    // The audit trail cannot be edited or deleted, even with direct SQL.
    let upd = sqlx::query("UPDATE distribution_events SET actor = 'someone-else'")
        .execute(&env.pool)
        .await;
    assert!(upd.unwrap_err().to_string().contains("append-only"));
    let del = sqlx::query("DELETE FROM distribution_events")
        .execute(&env.pool)
        .await;
    assert!(del.unwrap_err().to_string().contains("append-only"));

    // The database refuses what the domain refuses, as a last line of defence.
    let bad = sqlx::query("UPDATE media_distributions SET quantity = 51")
        .execute(&env.pool)
        .await;
    assert!(bad.unwrap_err().to_string().contains("quantity"));
    let bad = sqlx::query("UPDATE media_distributions SET status = 'COLLECTED'")
        .execute(&env.pool)
        .await;
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("collection_fields_iff_collected"));
    env.stop().await;
}

/// Imported studies often carry no IC or passport: then a patient collecting
/// for themselves must show a document in the name on record, and a stranger
/// claiming SELF is refused and the attempt recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn self_collection_with_no_document_on_record_needs_the_name_on_record() {
    let env = staffed().await;
    let uid = register(&env, 71, None, None).await;
    let (id, token) = ready_cd(&env, &uid).await;
    let attempt = |name: &str| {
        json!({
            "target": {"token": token},
            "collector": { "name": name, "document": {"type": "MYKAD", "number": "900101-14-1235"}, "relationship": "SELF" },
            "document_seen": true,
            "actor": "desk1"
        })
    };
    let r = send(&env, CommandType::Handover, attempt("Synthetic Stranger")).await;
    assert_eq!(code(&r), Some(ReasonCode::IdentityMismatch), "{r:?}");
    let r = send(&env, CommandType::Handover, attempt("patient71 SYNTHETIC")).await;
    assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
    assert_eq!(
        audit_events(&env, id).await,
        [
            "requested",
            "preparing",
            "ready",
            "handover-refused",
            "collected"
        ]
    );
    env.stop().await;
}

/// Displays follow the retained READY board: when one of two ready requests
/// is collected right after the other became ready, the board settles on
/// the one still waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ready_board_settles_on_what_is_still_waiting() {
    let env = staffed().await;
    let (_mqtt, mut rx) = common::subscribe_mqtt(&env.config).await;
    let a = register(&env, 81, Some("900101-14-1235"), None).await;
    let b = register(&env, 82, None, None).await;
    let (_, token_a) = ready_cd(&env, &a).await;
    let (id_b, _) = ready_cd(&env, &b).await;
    let r = send(
        &env,
        CommandType::Handover,
        handover(
            json!({"token": token_a}),
            json!({"type": "MYKAD", "number": "900101-14-1235"}),
            "SELF",
            None,
        ),
    )
    .await;
    assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
    let want = vec![Reference::from_id(id_b).to_string()];
    let refs = |s: &common::Seen| -> Vec<String> {
        s.body["ready"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["reference"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    // Rebuilt at most every 250 ms, the board may skip states in between;
    // it must settle on the truth.
    common::collect_until(&mut rx, Duration::from_secs(10), |seen| {
        seen.iter()
            .rev()
            .find(|s| s.topic.ends_with("/board/ready"))
            .is_some_and(|s| refs(s) == want)
    })
    .await;
    env.stop().await;
}
