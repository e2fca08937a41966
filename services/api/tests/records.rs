//! The audit trail, a patient's disclosures, patient search and studies,
//! and the OpenAPI document, through the router on the real system.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApi;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_disclosures_patients_and_openapi() {
    let api = TestApi::staffed().await;
    let clerk = api.login("clerk1").await;
    let rad = api.login("rad1").await;
    let desk = api.login("desk1").await;
    let (sid, uid) = api
        .register(1, Some("900101-14-1235"), "Synthetic^Farah", "2026-11-02")
        .await;
    let md = "/api/media-distributions";
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": [uid], "media_type": "USB",
                        "requester": {"type": "RELATIVE", "name": "Synthetic Spouse"}})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    api.call(
        Method::POST,
        &format!("{md}/1/start-preparing/"),
        Some(&rad),
        None,
    )
    .await;
    api.call(
        Method::POST,
        &format!("{md}/1/mark-ready/"),
        Some(&rad),
        Some(json!({"storage_location": "Drawer 3"})),
    )
    .await;
    let a = api
        .call(
            Method::POST,
            &format!("{md}/1/collect/"),
            Some(&desk),
            Some(json!({"collected_by": "Synthetic Spouse", "collected_by_ic": "A9988776", "collected_by_doc_type": "PASSPORT",
                        "collected_by_doc_country": "SGP", "relationship_to_patient": "SPOUSE",
                        "authority_reference": "CONSENT-2026-17", "document_seen": true})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["collected_by_ic"], "SGP A9988776");

    let a = api.get(&format!("{md}/MD-000001/audit/"), &clerk).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let steps: Vec<(Value, Value, Value)> = a.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].clone(),
                e["to_status"].clone(),
                e["actor"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (json!("requested"), json!("REQUESTED"), json!("clerk1")),
            (json!("preparing"), json!("PREPARING"), json!("rad1")),
            (json!("ready"), json!("READY"), json!("rad1")),
            (json!("collected"), json!("COLLECTED"), json!("desk1")),
        ]
    );
    assert_eq!(
        a.body["results"][3]["details"]["document_masked"],
        "SGP *****776"
    );
    assert_eq!(a.body["results"][3]["reason"], "slip not presented");

    let pid: i64 = sqlx::query_scalar("SELECT patient_id FROM studies WHERE id = $1")
        .bind(sid)
        .fetch_one(&api.pool)
        .await
        .unwrap();
    let a = api
        .get(&format!("/api/patients/{pid}/disclosures/"), &clerk)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = api
        .get(&format!("/api/patients/{pid}/disclosures/"), &desk)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["count"], 1);
    let d = &a.body["results"][0];
    assert_eq!(
        (
            d["reference"].clone(),
            d["media_type"].clone(),
            d["collected_by"].clone(),
            d["collected_by_document"].clone()
        ),
        (
            json!("MD-000001"),
            json!("USB"),
            json!("Synthetic Spouse"),
            json!("SGP *****776")
        )
    );
    assert_eq!(d["relationship_to_patient"], "SPOUSE");
    assert_eq!(d["authority_reference"], "CONSENT-2026-17");
    assert_eq!(d["handed_over_by"]["username"], "desk1");
    assert_eq!(d["studies"][0]["study_uid"], uid);

    // Patients for the request form: by name part, MRN start or whole IC.
    let a = api.get("/api/patients/?search=farah", &clerk).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["count"], 1);
    assert_eq!(a.body["results"][0]["nric"], "******-**-1235");
    let a = api.get("/api/patients/?search=900101-14-1235", &desk).await;
    assert_eq!(
        (
            a.body["count"].clone(),
            a.body["results"][0]["nric"].clone()
        ),
        (json!(1), json!("900101-14-1235"))
    );
    assert_eq!(
        api.get("/api/patients/?search=9001", &desk).await.body["count"],
        0
    );
    assert_eq!(
        api.get("/api/patients/?search=SYN0", &clerk).await.body["count"],
        1
    );
    for bad in ["", "farah%27%3B%20DELETE%20FROM%20patients"] {
        let a = api
            .get(&format!("/api/patients/?search={bad}"), &clerk)
            .await;
        assert_eq!(
            (a.status, a.body["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("search")),
            "{bad}: {a:?}"
        );
    }
    assert_eq!(
        api.get("/api/patients/?search=farah", &clerk).await.body["count"],
        1
    );
    // One character is a search too (a Chinese surname is one).
    assert_eq!(
        api.get("/api/patients/?search=F", &clerk).await.body["count"],
        1
    );
    // Name words in any order, as DICOM stores them (Synthetic^Farah).
    assert_eq!(
        api.get("/api/patients/?search=Farah%20Synthetic", &clerk)
            .await
            .body["count"],
        1
    );
    assert_eq!(
        api.get("/api/patients/?search=Farah%20Nobody", &clerk)
            .await
            .body["count"],
        0
    );
    let a = api
        .get(&format!("/api/patients/{pid}/studies/"), &clerk)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["results"][0]["study_uid"], uid);
    assert_eq!(
        a.body["results"][0]["examinations"][0]["instance_count"],
        10
    );
    assert_eq!(a.body["results"][0]["modalities"], json!(["CT"]));
    assert_eq!(
        api.get("/api/patients/999/studies/", &clerk).await.status,
        StatusCode::NOT_FOUND
    );

    let reads: Vec<(String, String)> = sqlx::query_as(
        "SELECT username, what FROM api_reads WHERE what IN ('audit', 'disclosures', 'patient') ORDER BY id",
    )
    .fetch_all(&api.pool)
    .await
    .unwrap();
    assert_eq!(
        reads,
        vec![
            ("clerk1".to_string(), "audit".to_string()),
            ("desk1".to_string(), "disclosures".to_string()),
            ("clerk1".to_string(), "patient".to_string()),
        ]
    );

    let a = api.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["openapi"], "3.1.0");
    assert!(a.body["paths"]["/api/media-distributions/{id}/collect/"]["patch"].is_object());
    assert_eq!(
        a.body["paths"]["/api/media-distributions/"]["post"]["x-roles"],
        "CLERK, ADMIN"
    );
    assert!(a.body["paths"]["/api/media-distributions/"]["post"]["responses"]["201"].is_object());
    assert!(
        a.body["paths"]["/api/media-distributions/{id}/"]["delete"]["responses"]["204"].is_object()
    );
    let list_params: Vec<&str> = a.body["paths"]["/api/media-distributions/"]["get"]["parameters"]
        .as_array()
        .expect("list parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in [
        "status",
        "media_type",
        "urgency",
        "patient_id",
        "from_date",
        "to_date",
        "search",
        "ordering",
        "page",
        "page_size",
    ] {
        assert!(list_params.contains(&name), "{name} in {list_params:?}");
    }
    // Every operation the document lists is routed: without a token a
    // protected one is 401 (not 404 or 405), an open one is neither.
    let paths = a.body["paths"].as_object().expect("paths").clone();
    let mut operations = 0;
    for (path, ops) in &paths {
        for (method, op) in ops.as_object().expect("operations") {
            let uri = path.replace("{id}", "1");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let answer = api.call(m, &uri, None, None).await;
            if op["security"].is_array() {
                assert_eq!(
                    answer.status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path}: {answer:?}"
                );
            } else {
                assert!(
                    ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED]
                        .contains(&answer.status),
                    "{method} {path}: {answer:?}"
                );
            }
            operations += 1;
        }
    }
    assert_eq!(operations, 32, "every operation was tried");
    api.stop().await;
}
