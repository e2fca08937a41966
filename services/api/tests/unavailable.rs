//! When RabbitMQ cannot be reached: readiness says so, and a change is
//! refused with 503 and changes nothing; reads still work.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApi;
use mediadist_api::{AppState, Settings};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_is_503_and_not_ready() {
    let api = TestApi::staffed().await;
    let clerk = api.login("clerk1").await;
    let (sid, _) = api.register(1, None, "Synthetic^Gita", "2026-12-01").await;
    // The same database, a broker address where nothing listens.
    let mut config = api.config.clone();
    config.amqp_url = "amqp://guest:guest@127.0.0.1:1/%2f".into();
    let cut = mediadist_api::router(AppState::new(config, api.pool.clone(), Settings::default()));
    let call = |method: Method, path: &str, body: Option<serde_json::Value>| {
        let mut req = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {clerk}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(axum::body::Body::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            ))
            .unwrap();
        let router = cut.clone();
        async move {
            let res = router.oneshot(req).await.unwrap();
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default(),
            )
        }
    };
    let (status, body) = call(Method::GET, "/ready", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["checks"],
        json!({"postgres": "ok", "rabbitmq": "unavailable", "workers": "unknown"})
    );
    let (status, body) = call(
        Method::POST,
        "/api/media-distributions/",
        Some(json!({"study_ids": [sid], "media_type": "CD"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::SERVICE_UNAVAILABLE, json!("UNAVAILABLE"))
    );
    assert_eq!(
        body["detail"],
        "the message broker is not answering; nothing was changed"
    );
    let (status, body) = call(Method::GET, "/api/media-distributions/", None).await;
    assert_eq!((status, body["count"].clone()), (StatusCode::OK, json!(0)));
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reprint_retires_the_old_slip() {
    let api = TestApi::staffed().await;
    let clerk = api.login("clerk1").await;
    let rad = api.login("rad1").await;
    let (sid, _) = api.register(1, None, "Synthetic^Hana", "2026-12-01").await;
    let md = "/api/media-distributions";
    let a = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(json!({"study_ids": [sid], "media_type": "CD"})),
        )
        .await;
    assert_eq!(a.body["slip_version"], 1);
    let a = api
        .call(
            Method::POST,
            &format!("{md}/1/reprint-slip/"),
            Some(&rad),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = api
        .call(
            Method::POST,
            &format!("{md}/1/reprint-slip/"),
            Some(&clerk),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["slip_version"], 2);
    let slip = a.body["slip"].as_str().unwrap().to_string();
    assert_eq!(slip, api.config.slip_key.sign(1, 2).to_string());
    // The old slip no longer opens the request at the desk; the new one does.
    let client = api.state.broker.client().await.unwrap();
    let old = api.config.slip_key.sign(1, 1).to_string();
    for (token, ok) in [(old, false), (slip, true)] {
        let r = client
            .send(
                mediadist_domain::catalog::CommandType::StartPreparing,
                json!({"target": {"token": token}, "actor": "rad1"}),
                std::time::Duration::from_secs(15),
            )
            .await
            .unwrap();
        assert_eq!(r.rejection.is_none(), ok, "{r:?}");
        if !ok {
            assert_eq!(
                r.rejection.unwrap().code,
                mediadist_domain::ReasonCode::TokenSuperseded
            );
        }
    }
    api.stop().await;
}
