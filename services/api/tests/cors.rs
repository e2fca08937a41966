//! CORS: the listed browser origin gets the headers (and preflights their
//! answer), any other origin gets none.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApi;
use mediadist_api::Settings;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_listed_origins_get_cors_headers() {
    let settings = Settings {
        cors_origins: vec!["https://media.hospital.example".into()],
        ..Settings::default()
    };
    let api = TestApi::start_with(false, settings).await;
    api.add_staff("clerk1", "CLERK").await;
    let clerk = api.login("clerk1").await;
    let md = "/api/media-distributions/";
    let pre = [
        ("origin", "https://media.hospital.example"),
        ("access-control-request-method", "PATCH"),
        (
            "access-control-request-headers",
            "authorization, content-type",
        ),
    ];
    let a = api
        .call_with(
            Method::OPTIONS,
            "/api/media-distributions/1/collect/",
            None,
            &pre,
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://media.hospital.example")
    );
    assert_eq!(
        a.header("access-control-allow-methods"),
        Some("GET, POST, PUT, PATCH, DELETE")
    );
    assert_eq!(
        a.header("access-control-allow-headers"),
        Some("authorization, content-type, idempotency-key")
    );
    let a = api
        .call_with(
            Method::GET,
            md,
            Some(&clerk),
            &[("origin", "https://media.hospital.example")],
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://media.hospital.example")
    );
    assert_eq!(
        a.header("access-control-expose-headers"),
        Some("location, idempotent-replayed")
    );
    let a = api
        .call_with(
            Method::GET,
            md,
            Some(&clerk),
            &[("origin", "https://elsewhere.example")],
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.header("access-control-allow-origin")),
        (StatusCode::OK, None)
    );
    let a = api
        .call_with(
            Method::OPTIONS,
            md,
            None,
            &[
                ("origin", "https://elsewhere.example"),
                ("access-control-request-method", "POST"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.header("access-control-allow-origin")),
        (StatusCode::METHOD_NOT_ALLOWED, None)
    );
    api.stop().await;
}
