//! Personal data never reaches the logs through the API: a lifecycle with
//! the patient's name and IC numbers in bodies, query strings and a path,
//! logged at debug level, and the captured text searched for them.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApi;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ic_number_or_name_in_the_api_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug,lapin=off")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let api = TestApi::staffed().await;
    let clerk = api.login("clerk1").await;
    let rad = api.login("rad1").await;
    let desk = api.login("desk1").await;
    let (sid, _) = api
        .register(42, Some("850612-14-5523"), "Zulkifli^Rahman", "2026-12-01")
        .await;
    let md = "/api/media-distributions";
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": [sid], "media_type": "CD"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    for q in [
        "zulkifli",
        "Zulkifli%20Rahman",
        "850612-14-5523",
        "850612145523",
    ] {
        let a = api.get(&format!("{md}/?search={q}"), &desk).await;
        assert_eq!(a.body["count"], 1, "{q}");
    }
    assert_eq!(
        api.get("/api/patients/?search=zulkifli", &desk).await.body["count"],
        1
    );
    // An IC typed where an id belongs: refused, never echoed.
    let a = api.get(&format!("{md}/850612145523/"), &desk).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(!a.body.to_string().contains("850612"), "{a:?}");
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
        Some(json!({"storage_location": "A1"})),
    )
    .await;
    let collect = |ic: &str| json!({"collected_by": "Rahman Zulkifli", "collected_by_ic": ic, "relationship_to_patient": "SELF", "document_seen": true});
    // Invalid, someone else's, then the patient's own card.
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/collect/"),
            Some(&desk),
            Some(collect("900101-17-1235")),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/collect/"),
            Some(&desk),
            Some(collect("900101-14-1235")),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/collect/"),
            Some(&desk),
            Some(collect("850612-14-5523")),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["collected_by_ic"], "850612-14-5523");
    let a = api
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "desk1", "password": "850612145523"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    api.stop().await;

    let text = String::from_utf8_lossy(&captured.0.lock().unwrap()).to_string();
    assert!(
        text.contains("mediadist_api::access"),
        "the read log is there"
    );
    assert!(
        text.contains("path=\"/api/media-distributions/{id}/collect/\""),
        "routes are logged"
    );
    // Whole numbers only: six digits alone turn up in timestamps by chance.
    for secret in [
        "850612-14-5523",
        "850612145523",
        "900101-17-1235",
        "900101171235",
        "900101-14-1235",
        "900101141235",
        "Zulkifli",
        "ZULKIFLI",
        "Rahman",
        "RAHMAN",
    ] {
        assert!(!text.contains(secret), "{secret} appears in the logs");
    }
}
