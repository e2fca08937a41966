//! The first milestone end to end on the real services: real DICOM studies
//! are imported, a CD is requested, its slip printed and scanned, prepared,
//! made ready and handed over; events reach an outside AMQP subscriber and
//! MQTT; poison is dead-lettered with its reason while the pipeline works on.

mod common;

use common::{collect_until, subscribe_events, subscribe_mqtt, Seen, TestEnv};
use futures_util::StreamExt;
use lapin::options::BasicConsumeOptions;
use lapin::types::{AMQPValue, FieldTable};
use mediadist_domain::catalog::CommandType;
use mediadist_domain::reply::{Outcome, Reply};
use mediadist_domain::{ReasonCode, Reference};
use mediadist_kiosk::slip::Paper;
use mediadist_platform::amqp;
use serde_json::json;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

fn samples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/dicom"))
}

async fn send(env: &TestEnv, command: CommandType, data: serde_json::Value) -> Reply {
    env.client.send(command, data, WAIT).await.expect("answer")
}

fn code(reply: &Reply) -> Option<ReasonCode> {
    reply.rejection.as_ref().map(|r| r.code)
}

async fn counts(env: &TestEnv) -> (i64, i64, i64, i64) {
    let r = sqlx::query(
        "SELECT (SELECT count(*) FROM patients) p, (SELECT count(*) FROM studies) s,
                (SELECT count(*) FROM examinations) e, (SELECT COALESCE(sum(instance_count), 0)::bigint FROM examinations) i",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    (r.get("p"), r.get("s"), r.get("e"), r.get("i"))
}

/// Event types per distinct event id, for one distribution.
fn by_type(seen: &[Seen], subject: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in seen.iter().filter(|s| s.body["subject"] == subject) {
        m.entry(s.body["type"].as_str().unwrap_or("").to_string())
            .or_default()
            .insert(s.body["id"].as_str().unwrap_or("").to_string());
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cd_travels_from_dicom_import_to_a_collected_handover() {
    let env = TestEnv::start().await;
    let mut events = subscribe_events(&env.config).await;
    let (_mqtt, mut mqtt_rx) = subscribe_mqtt(&env.config).await;
    env.add_staff("clerk1", "CLERK").await;
    env.add_staff("rad1", "RADIOGRAPHER").await;
    env.add_staff("desk1", "RECEPTION").await;

    // Import the real sample data; importing it twice changes nothing.
    let summary = mediadist::import::import(&env.client, samples(), &mut std::io::sink())
        .await
        .unwrap();
    assert_eq!(
        (
            summary.patients,
            summary.studies,
            summary.series,
            summary.instances
        ),
        (5, 9, 16, 83)
    );
    assert_eq!(
        (
            summary.registered,
            summary.refused.len(),
            summary.unanswered
        ),
        (9, 0, 0)
    );
    let skipped: BTreeSet<String> = summary
        .skipped
        .iter()
        .map(|(p, _)| p.rsplit("dicom/").next().unwrap_or(p).to_string())
        .collect();
    let expected: BTreeSet<String> = [
        "SOURCE.md",
        "pacs-sample/DICOMDIR",
        "pacs-sample/DICOMDIR-bigEnd",
        "pacs-sample/DICOMDIR-empty.dcm",
        "pacs-sample/DICOMDIR-implicit",
        "pacs-sample/DICOMDIR-nooffset",
        "pacs-sample/DICOMDIR-nopatient",
        "pacs-sample/DICOMDIR-reordered",
        "pacs-sample/TINY_ALPHA/DICOMDIR",
        "pacs-sample/TINY_ALPHA/README",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(skipped, expected);
    assert_eq!(counts(&env).await, (5, 9, 16, 83));
    let modified_before: Vec<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT modified FROM patients ORDER BY id")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    let again = mediadist::import::import(&env.client, samples(), &mut std::io::sink())
        .await
        .unwrap();
    assert_eq!(again.registered, 9);
    assert_eq!(counts(&env).await, (5, 9, 16, 83));
    let modified_after: Vec<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT modified FROM patients ORDER BY id")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(
        modified_before, modified_after,
        "a second import must not touch patients"
    );

    // Request a CD of Doe^Peter's Brain-MRA study.
    let study_uid: String = sqlx::query_scalar(
        "SELECT s.study_uid FROM studies s JOIN patients p ON p.id = s.patient_id
         WHERE p.name = 'Doe^Peter' AND s.description = 'Brain-MRA'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    let args = mediadist::request::RequestArgs {
        studies: vec![study_uid.clone()],
        media: "CD".into(),
        quantity: 1,
        urgency: "NORMAL".into(),
        requester: "RELATIVE".into(),
        requester_name: Some("Synthetic Son".into()),
        organisation: None,
        letter: Some("CONSENT-2026-0042".into()),
        comments: None,
        by: "clerk1".into(),
    };
    let requested = mediadist::request::send(&env.client, args).await.unwrap();
    assert_eq!(requested.outcome, Outcome::Accepted, "{requested:?}");
    let id = requested.distribution_id.unwrap();
    let reference = requested.reference.clone().unwrap();
    assert_eq!(reference, format!("MD-{id:06}"));

    // The slip: a PNG whose QR holds the signed token; decode it back.
    let dir = std::env::temp_dir().join(format!("mediadist-{}", env.config.namespace));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("slip.png");
    let (bytes, token) = mediadist_kiosk::slip::make_slip(
        &env.pool,
        &env.config,
        Reference::parse(&reference, "reference").unwrap(),
        Paper::Mm58,
    )
    .await
    .unwrap();
    std::fs::write(&png, bytes).unwrap();
    let decoded = mediadist_slip::decode_file(&png).unwrap();
    assert_eq!(decoded, token);
    assert_eq!(decoded, env.config.slip_key.sign(id, 1).as_str());
    std::fs::remove_dir_all(&dir).ok();

    // Prepare and ready it by the decoded token.
    let target = json!({ "token": decoded });
    let r = send(
        &env,
        CommandType::StartPreparing,
        json!({ "target": target, "actor": "rad1" }),
    )
    .await;
    assert_eq!(
        (r.outcome, r.status.map(|s| s.as_str())),
        (Outcome::Accepted, Some("PREPARING")),
        "{r:?}"
    );
    let r = send(
        &env,
        CommandType::MarkReady,
        json!({ "target": target, "storage_location": "Shelf B2", "actor": "rad1" }),
    )
    .await;
    assert_eq!(
        (r.outcome, r.status.map(|s| s.as_str())),
        (Outcome::Accepted, Some("READY")),
        "{r:?}"
    );
    // The media waits on the shelf until the READY board (rebuilt at most
    // every 250 ms) lists it, as it would at a real desk.
    let listed = |s: &Seen| {
        s.topic.ends_with("/board/ready")
            && s.body["ready"]
                .as_array()
                .map(|a| a.iter().any(|i| i["reference"] == reference.as_str()))
                .unwrap_or(false)
    };
    let early_mqtt = collect_until(&mut mqtt_rx, WAIT, |seen| seen.iter().any(listed)).await;

    // Hand it over to a relative with a valid (synthetic) MyKad and the consent letter.
    let handover = json!({
        "target": target,
        "collector": {
            "name": "Synthetic Son",
            "document": { "type": "MYKAD", "number": "900101-14-1235" },
            "relationship": "CHILD",
            "authority_reference": "CONSENT-2026-0042"
        },
        "document_seen": true,
        "actor": "desk1"
    });
    let r = send(&env, CommandType::Handover, handover.clone()).await;
    assert_eq!(
        (r.outcome, r.status.map(|s| s.as_str())),
        (Outcome::Accepted, Some("COLLECTED")),
        "{r:?}"
    );

    // The same slip again: refused, and says so.
    let r = send(&env, CommandType::Handover, handover.clone()).await;
    assert_eq!(
        (r.outcome, code(&r)),
        (Outcome::Rejected, Some(ReasonCode::AlreadyCollected)),
        "{r:?}"
    );
    assert!(
        r.rejection
            .as_ref()
            .unwrap()
            .message
            .contains("handed over by desk1"),
        "{r:?}"
    );

    // A tampered token: refused.
    let mut tampered = decoded.clone();
    tampered.replace_range(4..5, if &decoded[4..5] == "9" { "8" } else { "9" });
    let mut forged = handover.clone();
    forged["target"] = json!({ "token": tampered });
    let r = send(&env, CommandType::Handover, forged).await;
    assert_eq!(
        (r.outcome, code(&r)),
        (Outcome::Rejected, Some(ReasonCode::TokenInvalid)),
        "{r:?}"
    );

    // Poison: not JSON, and an unknown type. Both dead-lettered with reasons.
    let conn = amqp::connect(&env.config.amqp_url, "test-poison")
        .await
        .unwrap();
    let ch = amqp::confirm_channel(&conn).await.unwrap();
    let commands = env.config.commands_exchange();
    amqp::publish_confirmed(
        &ch,
        &commands,
        "collection.handover",
        b"{not json",
        amqp::json_properties("poison-1"),
    )
    .await
    .unwrap();
    let unknown = json!({"specversion":"1.0","id":"poison-2","source":"test","type":"org.mediadist.command.teleport.v1","data":{}});
    amqp::publish_confirmed(
        &ch,
        &commands,
        "intake.teleport",
        unknown.to_string().as_bytes(),
        amqp::json_properties("poison-2"),
    )
    .await
    .unwrap();
    let mut dead = ch
        .basic_consume(
            &env.config.dead_queue(),
            "dead",
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut reasons = BTreeMap::new();
    while reasons.len() < 2 {
        let d = tokio::time::timeout(WAIT, dead.next())
            .await
            .expect("dead letters")
            .unwrap()
            .unwrap();
        let headers = d.properties.headers().clone().unwrap_or_default();
        let reason = match headers.inner().get(amqp::REASON_HEADER) {
            Some(AMQPValue::LongString(s)) => s.to_string(),
            other => panic!("no reason header: {other:?}"),
        };
        let id = d
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default();
        reasons.insert(id, reason);
    }
    assert!(
        reasons["poison-1"].starts_with("message is not UTF-8 JSON"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons["poison-2"],
        "unknown command type 'org.mediadist.command.teleport.v1'"
    );
    let _ = conn.close(200, "bye").await;

    // ...and the pipeline keeps working: X-ray film of the same study is a new request.
    let film = json!({
        "study_uids": [study_uid], "media_type": "XRAY_FILM", "quantity": 2, "urgency": "URGENT",
        "requester": { "type": "PATIENT" }, "actor": "clerk1"
    });
    let r = send(&env, CommandType::RequestMedia, film).await;
    assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");

    // The final row.
    let row = sqlx::query(
        "SELECT d.status, d.collected_by, d.collected_by_ic, d.collected_by_doc_type, d.relationship_to_patient,
                d.authority_reference, d.slip_presented, d.storage_location, d.collection_datetime IS NOT NULL AS has_time,
                pr.username AS prepared_by, ho.username AS handed_over_by, rq.username AS requested_by, d.version
         FROM media_distributions d JOIN staff rq ON rq.id = d.requested_by_id
         LEFT JOIN staff pr ON pr.id = d.prepared_by_id LEFT JOIN staff ho ON ho.id = d.handed_over_by_id
         WHERE d.id = $1",
    )
    .bind(id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("status"), "COLLECTED");
    assert_eq!(row.get::<String, _>("collected_by"), "Synthetic Son");
    assert_eq!(row.get::<String, _>("collected_by_ic"), "900101141235");
    assert_eq!(row.get::<String, _>("collected_by_doc_type"), "MYKAD");
    assert_eq!(row.get::<String, _>("relationship_to_patient"), "CHILD");
    assert_eq!(
        row.get::<String, _>("authority_reference"),
        "CONSENT-2026-0042"
    );
    assert!(row.get::<bool, _>("slip_presented"));
    assert_eq!(row.get::<String, _>("storage_location"), "Shelf B2");
    assert!(row.get::<bool, _>("has_time"));
    assert_eq!(row.get::<String, _>("requested_by"), "clerk1");
    assert_eq!(row.get::<String, _>("prepared_by"), "rad1");
    assert_eq!(row.get::<String, _>("handed_over_by"), "desk1");
    assert_eq!(row.get::<i64, _>("version"), 4);

    // Exactly four audit rows, with their actors.
    let audit: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT event, to_status, actor FROM distribution_events WHERE distribution_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    let want = [
        ("requested", "REQUESTED", "clerk1"),
        ("preparing", "PREPARING", "rad1"),
        ("ready", "READY", "rad1"),
        ("collected", "COLLECTED", "desk1"),
    ];
    assert_eq!(
        audit,
        want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .to_vec()
    );

    // `mediadist show` tells the whole story, the collector's document masked.
    let shown = mediadist::show::render(&env.pool, &reference)
        .await
        .unwrap();
    assert!(
        shown.starts_with(&format!("{reference}  COLLECTED\n")),
        "{shown}"
    );
    assert!(
        shown.contains("by Synthetic Son (******-**-1235, CHILD) handed over by desk1"),
        "{shown}"
    );
    assert!(
        shown.contains("Brain-MRA") && shown.contains("DOE P***"),
        "{shown}"
    );
    assert_eq!(
        shown.lines().skip_while(|l| *l != "audit trail:").count(),
        5,
        "{shown}"
    );
    assert!(
        !shown.contains("900101141235") && !shown.contains("Doe^Peter"),
        "{shown}"
    );

    // An outside AMQP subscriber and an MQTT subscriber each received the
    // four events of this distribution, each once per event id.
    let subject = id.to_string();
    let expect_types: BTreeSet<String> = ["requested", "preparing", "ready", "collected"]
        .iter()
        .map(|t| format!("org.mediadist.distribution.{t}.v1"))
        .collect();
    let complete = |seen: &[Seen]| {
        by_type(seen, &subject)
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
            == expect_types
    };
    let amqp_seen = collect_until(&mut events, WAIT, complete).await;
    let amqp_types = by_type(&amqp_seen, &subject);
    assert!(
        amqp_types.values().all(|ids| ids.len() == 1),
        "{amqp_types:?}"
    );
    for s in amqp_seen.iter().filter(|s| s.body["subject"] == subject) {
        assert_eq!(
            s.topic,
            s.body["type"].as_str().unwrap(),
            "routing key is the event type"
        );
        let text = s.body.to_string();
        assert!(
            !text.contains("900101141235")
                && !text.contains("Synthetic Son")
                && !text.contains("Doe"),
            "{text}"
        );
    }
    // MQTT: the same four events, and the READY board listing the CD (masked
    // name) while it waited, then without it once collected.
    let mqtt_seen = collect_until(&mut mqtt_rx, WAIT, |later| {
        let seen: Vec<Seen> = early_mqtt.iter().chain(later).cloned().collect();
        let events: Vec<Seen> = seen
            .iter()
            .filter(|s| s.topic.contains("/events/"))
            .cloned()
            .collect();
        let boards: Vec<&Seen> = seen
            .iter()
            .filter(|s| s.topic.ends_with("/board/ready"))
            .collect();
        complete(&events)
            && boards.iter().any(|b| listed(b))
            && boards.last().map(|b| !listed(b)).unwrap_or(false)
    })
    .await;
    let mqtt_seen: Vec<Seen> = early_mqtt.into_iter().chain(mqtt_seen).collect();
    let only_events: Vec<Seen> = mqtt_seen
        .iter()
        .filter(|s| s.topic.contains("/events/"))
        .cloned()
        .collect();
    let mqtt_types = by_type(&only_events, &subject);
    assert_eq!(
        mqtt_types.keys().cloned().collect::<BTreeSet<_>>(),
        expect_types
    );
    assert!(
        mqtt_types.values().all(|ids| ids.len() == 1),
        "{mqtt_types:?}"
    );
    for s in only_events.iter().filter(|s| s.body["subject"] == subject) {
        assert_eq!(
            s.topic,
            format!(
                "{}/events/{}",
                env.config.namespace,
                s.body["type"].as_str().unwrap()
            )
        );
    }
    let shown = mqtt_seen
        .iter()
        .find(|s| listed(s))
        .expect("board listed the ready CD");
    let item = shown.body["ready"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == reference.as_str())
        .unwrap();
    assert_eq!(item["name"], "DOE P***");

    env.stop().await;
}
