//! The seed's contract pinned through the router on the real system: the
//! detail and list shapes, one distribution from request to collection,
//! refusals as problem details (409, 422, 400, 413), masking by role and
//! the log of who read what.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApi;
use serde_json::{json, Value};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn sorted(k: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = k.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

const DETAIL_KEYS: &[&str] = &[
    // The seed's.
    "id",
    "request_date",
    "studies",
    "study_count",
    "patient_name",
    "patient_mrn",
    "patient_nric",
    "media_type",
    "quantity",
    "status",
    "urgency",
    "collected_by",
    "collected_by_ic",
    "relationship_to_patient",
    "collection_datetime",
    "prepared_by",
    "handed_over_by",
    "comments",
    "cancellation_reason",
    "created",
    "modified",
    "media_type_choices",
    "status_choices",
    "urgency_choices",
    // mediadist's, beside them.
    "reference",
    "patient_id",
    "patient_name_masked",
    "requester",
    "requested_by",
    "preparation_started_at",
    "ready_at",
    "storage_location",
    "collected_by_doc_type",
    "relationship_other",
    "authority_reference",
    "slip_presented",
    "cancelled_at",
    "slip_version",
    "version",
];

const LIST_KEYS: &[&str] = &[
    "id",
    "request_date",
    "media_type",
    "quantity",
    "status",
    "urgency",
    "collected_by",
    "collected_by_ic",
    "relationship_to_patient",
    "collection_datetime",
    "patient_name",
    "patient_mrn",
    "study_count",
    "study_summary",
    "prepared_by_name",
    "handed_over_by_name",
    "cancellation_reason",
    "comments",
    // mediadist's, beside them.
    "reference",
    "storage_location",
    "ready_at",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_request_to_collection_with_the_seed_shapes() {
    let api = TestApi::staffed().await;
    let clerk = api.login("clerk1").await;
    let rad = api.login("rad1").await;
    let desk = api.login("desk1").await;
    let admin = api.login("admin1").await;
    let (s1, _) = api
        .register(1, Some("900101-14-1235"), "Synthetic^Aminah", "2026-11-30")
        .await;
    let (s2, _) = api.register(2, None, "Synthetic^Boon", "2026-12-01").await;
    let md = "/api/media-distributions";

    // Create with the seed's fields.
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": [s1], "media_type": "CD", "quantity": 2, "urgency": "URGENT", "comments": "for referral"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.header("location"), Some("/api/media-distributions/1/"));
    let d = &a.body;
    assert_eq!(keys(d), sorted(DETAIL_KEYS));
    assert_eq!(
        (
            d["id"].clone(),
            d["reference"].clone(),
            d["status"].clone(),
            d["quantity"].clone(),
            d["urgency"].clone()
        ),
        (
            json!(1),
            json!("MD-000001"),
            json!("REQUESTED"),
            json!(2),
            json!("URGENT")
        )
    );
    assert_eq!(d["patient_name"], "Synthetic^Aminah");
    assert_eq!(d["patient_name_masked"], "SYNTHETIC A***");
    assert_eq!(d["patient_mrn"], "SYN00001");
    assert_eq!(
        d["patient_nric"], "******-**-1235",
        "a clerk sees the IC masked"
    );
    assert_eq!(d["comments"], "for referral");
    assert_eq!(d["study_count"], 1);
    assert_eq!(
        d["requester"],
        json!({"type": "PATIENT", "name": null, "organisation": null, "reference": null, "contact": null})
    );
    assert_eq!(d["requested_by"]["username"], "clerk1");
    assert_eq!(d["prepared_by"], Value::Null);
    let st = &d["studies"][0];
    assert_eq!(
        keys(st),
        sorted(&[
            "id",
            "study_uid",
            "pesakit",
            "tarikh",
            "parent_accession_number",
            "study_description"
        ])
    );
    assert_eq!(st["id"], s1);
    assert_eq!(st["tarikh"], "2026-11-30");
    assert_eq!(st["parent_accession_number"], "ACC1");
    assert_eq!(st["study_description"], "CT study 1");
    assert_eq!(keys(&st["pesakit"]), sorted(&["id", "nama", "nric", "mrn"]));
    assert_eq!(st["pesakit"]["nric"], "******-**-1235");
    assert_eq!(
        d["status_choices"][2],
        json!({"value": "READY", "label": "Ready for collection"})
    );
    assert_eq!(d["media_type_choices"].as_array().unwrap().len(), 5);
    assert_eq!(
        d["urgency_choices"],
        json!([
            {"value": "NORMAL", "label": "Normal"}, {"value": "URGENT", "label": "Urgent"}, {"value": "STAT", "label": "STAT"}
        ])
    );

    // Many study ids in a small body: refused by the domain's limit, named,
    // before they become a command too large to send.
    let many: Vec<i64> = vec![s2; 1500];
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": many, "media_type": "DVD"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone(), a.body["detail"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("study_ids"),
            json!("study_ids: at most 50 studies in one request")
        )
    );
    // A NUL anywhere is named, not dead-lettered; in a username it never
    // reaches the database.
    let a = api
        .call_with(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            &[],
            Some(format!(
                r#"{{"study_ids": [{s2}], "media_type": "DVD", "requester": {{"type": "RELATIVE", "name": "A\u0000B"}}}}"#
            )),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("requester.name")),
        "{a:?}"
    );
    let a = api
        .call_with(
            Method::POST,
            "/api/auth/login",
            None,
            &[],
            Some(r#"{"username": "clerk1\u0000", "password": "synthetic-pass-1"}"#.into()),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("username")),
        "{a:?}"
    );
    // A study given as neither an id nor a UID says what it takes.
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"daftar_id": [s2], "media_type": "DVD"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone(), a.body["detail"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("daftar_id"),
            json!("daftar_id: must be a study id (a number) or a study instance UID (text)")
        )
    );
    // Legacy daftar_id; defaults quantity 1, NORMAL.
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"daftar_id": s2, "media_type": "dvd"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(
        (
            a.body["id"].clone(),
            a.body["media_type"].clone(),
            a.body["quantity"].clone(),
            a.body["urgency"].clone()
        ),
        (json!(2), json!("DVD"), json!(1), json!("NORMAL"))
    );
    assert_eq!(a.body["patient_nric"], Value::Null);

    // Refusals at creation.
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"daftar_ids": [s2], "media_type": "DVD"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone()),
        (StatusCode::CONFLICT, json!("DUPLICATE_ACTIVE_REQUEST"))
    );
    assert_eq!(
        a.body["detail"],
        "study 1.2.826.0.1.3680043.10.2 already has an active DVD request: MD-000002"
    );
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": [s1, s2], "media_type": "USB"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone(), a.body["field"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("STUDIES_OF_DIFFERENT_PATIENTS"),
            json!("study_ids")
        )
    );
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": [999], "media_type": "USB"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone(), a.body["detail"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("UNKNOWN_STUDY"),
            json!("study_ids: no study with id 999")
        )
    );
    // The domain's bound, answered by the worker, named for the API.
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": [s1], "media_type": "USB", "quantity": 51})),
        )
        .await;
    assert_eq!(
        (
            a.status,
            a.body["code"].clone(),
            a.body["field"].clone(),
            a.body["detail"].clone()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("INVALID_FIELD"),
            json!("quantity"),
            json!("quantity: must be 1 to 50, got 51")
        )
    );
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": [s1], "media_type": "BLURAY"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("media_type"))
    );
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": [s1], "media_type": "USB", "quantity": "two"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("quantity"))
    );
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": [s1], "media_type": "USB", "colour": "red"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone(), a.body["field"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("UNKNOWN_FIELD"),
            json!("colour")
        )
    );
    let a = api
        .call_with(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            &[],
            Some("{\"study_ids\": [".into()),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("MALFORMED_REQUEST"))
    );
    // Just under the body limit, with quotes that double when escaped:
    // still the field's own error, and nothing dead-lettered.
    let at_limit = format!(
        "{{\"study_ids\": [{s1}], \"media_type\": \"CD\", \"comments\": \"{}\"}}",
        "\\\"".repeat((16 * 1024 - 80) / 2)
    );
    assert!(at_limit.len() <= 16 * 1024, "{}", at_limit.len());
    let a = api
        .call_with(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            &[],
            Some(at_limit),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("comments")),
        "{a:?}"
    );
    let big = format!("{{\"comments\": \"{}\"}}", "x".repeat(70 * 1024));
    let a = api
        .call_with(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            &[],
            Some(big),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone()),
        (StatusCode::PAYLOAD_TOO_LARGE, json!("BODY_TOO_LARGE"))
    );
    assert_eq!(a.content_type(), "application/problem+json");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM media_distributions")
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert_eq!(count, 2, "no refused request changed anything");

    // Update while REQUESTED; workflow fields are refused by name.
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/"),
            Some(&clerk),
            Some(json!({"comments": "for HKL referral", "quantity": 3})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(
        (a.body["comments"].clone(), a.body["quantity"].clone()),
        (json!("for HKL referral"), json!(3))
    );
    let a = api
        .call(
            Method::PUT,
            &format!("{md}/1/"),
            Some(&clerk),
            Some(json!({"status": "READY"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("status"))
    );
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/"),
            Some(&clerk),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("changes"))
    );

    // The bench: start, then a second start is an illegal transition (409).
    let a = api
        .call(
            Method::POST,
            &format!("{md}/MD-000001/start-preparing/"),
            Some(&rad),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["status"], "PREPARING");
    assert_eq!(
        a.body["prepared_by"],
        json!({"id": a.body["prepared_by"]["id"], "username": "rad1", "first_name": "Synthetic", "last_name": "rad1"})
    );
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/md-1/start-preparing/"),
            Some(&rad),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{a:?}");
    assert_eq!(a.content_type(), "application/problem+json");
    assert_eq!(a.body["code"], "ILLEGAL_TRANSITION");
    assert_eq!(a.body["type"], "urn:mediadist:problem:ILLEGAL_TRANSITION");
    assert_eq!(
        a.body["detail"],
        "cannot start preparing media while the request is PREPARING"
    );
    assert_eq!(a.body["error"], a.body["detail"]);
    // Quantity is frozen once preparation started.
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/"),
            Some(&clerk),
            Some(json!({"quantity": 1})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone(), a.body["field"].clone()),
        (
            StatusCode::CONFLICT,
            json!("ILLEGAL_TRANSITION"),
            json!("quantity")
        )
    );
    // A key given twice in an update is refused, not the last one taken.
    let a = api
        .call_with(
            Method::PATCH,
            &format!("{md}/1/"),
            Some(&clerk),
            &[],
            Some(r#"{"comments": "a", "comments": "b"}"#.into()),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone(), a.body["field"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("DUPLICATE_FIELD"),
            json!("comments")
        )
    );
    // PUT replaces all three editable fields; sending back the frozen
    // quantity unchanged is no change, so it is not refused.
    let a = api
        .call(
            Method::PUT,
            &format!("{md}/1/"),
            Some(&clerk),
            Some(json!({"comments": "for HKL referral", "urgency": "NORMAL"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("quantity")),
        "{a:?}"
    );
    let updates = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM distribution_events WHERE distribution_id = 1 AND event = 'updated'",
        )
        .fetch_one(&api.pool)
        .await
        .unwrap()
    };
    let before = updates().await;
    let a = api
        .call(
            Method::PUT,
            &format!("{md}/1/"),
            Some(&clerk),
            Some(json!({"comments": "for HKL referral, by courier", "urgency": "urgent", "quantity": 3})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(
        (
            a.body["comments"].clone(),
            a.body["urgency"].clone(),
            a.body["quantity"].clone()
        ),
        (
            json!("for HKL referral, by courier"),
            json!("URGENT"),
            json!(3)
        )
    );
    assert_eq!(updates().await, before + 1);
    // The same again changes nothing and records nothing.
    let again = api
        .call(
            Method::PATCH,
            &format!("{md}/1/"),
            Some(&clerk),
            Some(json!({"comments": "for HKL referral, by courier", "urgency": "URGENT", "quantity": 3})),
        )
        .await;
    assert_eq!(
        (again.status, again.body["urgency"].clone()),
        (StatusCode::OK, json!("URGENT")),
        "{again:?}"
    );
    assert_eq!(updates().await, before + 1);
    // A DRF client PUTs back the whole object it read: the read-only fields
    // hold what they hold, so only the edit counts. From an older read, the
    // version says someone changed it since.
    let mut full = api.get(&format!("{md}/1/"), &clerk).await.body;
    full["comments"] = json!("by courier, sent back whole");
    let a = api
        .call(
            Method::PUT,
            &format!("{md}/1/"),
            Some(&clerk),
            Some(full.clone()),
        )
        .await;
    assert_eq!(
        (a.status, a.body["comments"].clone()),
        (StatusCode::OK, json!("by courier, sent back whole")),
        "{a:?}"
    );
    full["comments"] = json!("from a stale read");
    let a = api
        .call(Method::PUT, &format!("{md}/1/"), Some(&clerk), Some(full))
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone(), a.body["field"].clone()),
        (
            StatusCode::CONFLICT,
            json!("VERSION_CONFLICT"),
            json!("version")
        ),
        "{a:?}"
    );
    let mut full = api.get(&format!("{md}/1/"), &clerk).await.body;
    full["status"] = json!("READY");
    let a = api
        .call(Method::PUT, &format!("{md}/1/"), Some(&clerk), Some(full))
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("status")),
        "{a:?}"
    );
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/mark-ready/"),
            Some(&rad),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("storage_location"))
    );
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/mark-ready/"),
            Some(&rad),
            Some(json!({"storage_location": "Shelf B2"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["status"].clone()),
        (StatusCode::OK, json!("READY")),
        "{a:?}"
    );
    assert_eq!(a.body["storage_location"], "Shelf B2");

    // Reception: a bad IC is 422 naming the field; someone else's IC is refused.
    let collect = |ic: &str| {
        json!({"collected_by": "Synthetic Aminah", "collected_by_ic": ic, "relationship_to_patient": "SELF",
               "document_seen": true, "collection_datetime": "2020-01-01T00:00:00Z"})
    };
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/collect/"),
            Some(&desk),
            Some(collect("900101-17-1235")),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone(), a.body["field"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("INVALID_FIELD"),
            json!("collected_by_ic")
        )
    );
    assert_eq!(
        a.body["detail"],
        "collected_by_ic: place-of-birth code 17 is not issued"
    );
    let a = api
        .call(
            Method::POST,
            &format!("{md}/1/collect/"),
            Some(&desk),
            Some(collect("850612-14-5523")),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone(), a.body["field"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("IDENTITY_MISMATCH"),
            json!("collected_by_ic")
        )
    );
    let mut seen_not = collect("900101-14-1235");
    seen_not["document_seen"] = json!(false);
    let a = api
        .call(
            Method::POST,
            &format!("{md}/1/collect/"),
            Some(&desk),
            Some(seen_not),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("DOCUMENT_NOT_SEEN"))
    );
    let before = chrono::Utc::now();
    let mut with_note = collect("900101141235");
    with_note["comments"] = json!("signed the collection book");
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/collect/"),
            Some(&desk),
            Some(with_note),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let d = &a.body;
    assert_eq!(d["status"], "COLLECTED");
    // The desk's note joins the request's comments, and the audit row.
    assert_eq!(
        d["comments"],
        "by courier, sent back whole\nsigned the collection book"
    );
    let noted: Value = sqlx::query_scalar(
        "SELECT details->'note' FROM distribution_events WHERE distribution_id = 1 AND event = 'collected'",
    )
    .fetch_one(&api.pool)
    .await
    .unwrap();
    assert_eq!(noted, "signed the collection book");
    assert_eq!(d["collected_by"], "Synthetic Aminah");
    assert_eq!(
        d["collected_by_ic"], "900101-14-1235",
        "reception sees the number in full"
    );
    assert_eq!(d["patient_nric"], "900101-14-1235");
    assert_eq!(d["relationship_to_patient"], "SELF");
    assert_eq!(d["slip_presented"], false);
    assert_eq!(d["handed_over_by"]["username"], "desk1");
    let at: chrono::DateTime<chrono::Utc> =
        d["collection_datetime"].as_str().unwrap().parse().unwrap();
    assert!(
        at >= before - chrono::Duration::seconds(1),
        "the server's clock, not the client's 2020: {at}"
    );

    // A clerk sees the same record masked.
    let a = api.get(&format!("{md}/MD-000001/"), &clerk).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["collected_by_ic"], "******-**-1235");
    assert_eq!(a.body["patient_nric"], "******-**-1235");

    // Who read what: each detail read, with the values shown whole; no values.
    let reads: Vec<(String, String, Vec<i64>, Vec<String>)> = sqlx::query_as(
        "SELECT username, what, distribution_ids, full_fields FROM api_reads WHERE distribution_ids = '{1}' ORDER BY id DESC LIMIT 2",
    )
    .fetch_all(&api.pool)
    .await
    .unwrap();
    assert_eq!(
        reads,
        vec![
            ("clerk1".into(), "distribution".into(), vec![1], vec![]),
            (
                "desk1".into(),
                "distribution".into(),
                vec![1],
                vec!["patient_nric".into(), "collected_by_ic".into()]
            ),
        ]
    );

    // Final states: 409 with the domain's codes; restore refused.
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/cancel/"),
            Some(&admin),
            Some(json!({"reason": "late"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone()),
        (StatusCode::CONFLICT, json!("ALREADY_COLLECTED"))
    );
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/2/cancel/"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("reason"))
    );
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/2/cancel/"),
            Some(&admin),
            Some(json!({"reason": "patient withdrew the request"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(
        (
            a.body["status"].clone(),
            a.body["cancellation_reason"].clone()
        ),
        (json!("CANCELLED"), json!("patient withdrew the request"))
    );
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/2/restore/"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.body["code"].clone()),
        (StatusCode::CONFLICT, json!("ILLEGAL_TRANSITION"))
    );
    assert_eq!(
        a.body["detail"],
        "MD-000002 is CANCELLED, and CANCELLED is final: make a new request instead"
    );

    // The list: the seed's item shape, newest first.
    let a = api.get(&format!("{md}/"), &clerk).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        keys(&a.body),
        sorted(&["count", "next", "previous", "results"])
    );
    assert_eq!(
        (
            a.body["count"].clone(),
            a.body["next"].clone(),
            a.body["previous"].clone()
        ),
        (json!(2), Value::Null, Value::Null)
    );
    let items = a.body["results"].as_array().unwrap();
    assert_eq!(
        items.iter().map(|i| i["id"].clone()).collect::<Vec<_>>(),
        vec![json!(2), json!(1)]
    );
    assert_eq!(keys(&items[1]), sorted(LIST_KEYS));
    assert_eq!(
        items[1]["study_summary"],
        json!({"date_range": "2026-11-30", "accession_numbers": ["ACC1"], "total_studies": 1, "study_descriptions": ["CT study 1"]})
    );
    assert_eq!(items[1]["collected_by_ic"], "******-**-1235");
    assert_eq!(items[1]["prepared_by_name"], "Synthetic rad1");
    assert_eq!(items[1]["handed_over_by_name"], "Synthetic desk1");
    assert_eq!(
        items[0]["cancellation_reason"],
        "patient withdrew the request"
    );

    // Delete (admin, with a reason): gone from lists and details; audit stays.
    let a = api
        .call(Method::DELETE, &format!("{md}/2/"), Some(&admin), None)
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("reason"))
    );
    let a = api
        .call(
            Method::DELETE,
            &format!("{md}/2/?reason=entered%20twice"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    let a = api.get(&format!("{md}/2/"), &admin).await;
    assert_eq!(
        (a.status, a.body["detail"].clone()),
        (StatusCode::NOT_FOUND, json!("MD-000002 was deleted"))
    );
    assert_eq!(api.get(&format!("{md}/"), &admin).await.body["count"], 1);
    let trail: Vec<String> = sqlx::query_scalar(
        "SELECT event FROM distribution_events WHERE distribution_id = 2 ORDER BY id",
    )
    .fetch_all(&api.pool)
    .await
    .unwrap();
    assert_eq!(trail, ["requested", "cancelled", "deleted"]);
    let a = api.get(&format!("{md}/not-an-id/"), &admin).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    api.stop().await;
}
