//! Commands not answered in time, and retries: 202 with where to look, and
//! a retry with the same Idempotency-Key applied once.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApi;
use mediadist_api::Settings;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_command_is_202_and_the_retry_is_applied_once() {
    let settings = Settings {
        command_timeout: Duration::from_millis(1500),
        ..Settings::default()
    };
    // No workers yet: the command waits in its queue.
    let mut api = TestApi::start_with(false, settings).await;
    api.add_staff("clerk1", "CLERK").await;
    let patient: i64 = sqlx::query_scalar(
        "INSERT INTO patients (mrn, name) VALUES ('SYN00001', 'Synthetic^Chong') RETURNING id",
    )
    .fetch_one(&api.pool)
    .await
    .unwrap();
    let study: i64 = sqlx::query_scalar("INSERT INTO studies (study_uid, patient_id) VALUES ('1.2.826.0.1.3680043.10.1', $1) RETURNING id")
        .bind(patient)
        .fetch_one(&api.pool)
        .await
        .unwrap();
    // Readiness tells the truth: reads work, nobody applies changes yet.
    let ready = api.call(Method::GET, "/ready", None, None).await;
    assert_eq!(
        (ready.status, ready.body.clone()),
        (
            StatusCode::OK,
            json!({"status": "degraded", "checks": {"postgres": "ok", "rabbitmq": "ok",
                   "workers": "no worker reads intake, preparation, collection"}})
        )
    );
    let clerk = api.login("clerk1").await;
    let body = json!({"study_ids": [study], "media_type": "CD"}).to_string();
    let key = [("idempotency-key", "req-2026-12-03-0001")];
    let a = api
        .call_with(
            Method::POST,
            "/api/media-distributions/",
            Some(&clerk),
            &key,
            Some(body.clone()),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{a:?}");
    let check = "/api/commands/api:clerk1:req-2026-12-03-0001/";
    assert_eq!(a.header("location"), Some(check));
    assert_eq!(a.body["status"], "pending");
    assert_eq!(a.body["check"], check);
    assert_eq!(a.body["command_id"], "api:clerk1:req-2026-12-03-0001");
    let a = api.get(check, &clerk).await;
    assert_eq!(
        (a.status, a.body["status"].clone()),
        (StatusCode::ACCEPTED, json!("pending"))
    );

    // The workers come back; the client retries with the same key until answered.
    api.start_workers();
    let mut a = api
        .call_with(
            Method::POST,
            "/api/media-distributions/",
            Some(&clerk),
            &key,
            Some(body.clone()),
        )
        .await;
    for _ in 0..10 {
        if a.status != StatusCode::ACCEPTED {
            break;
        }
        a = api
            .call_with(
                Method::POST,
                "/api/media-distributions/",
                Some(&clerk),
                &key,
                Some(body.clone()),
            )
            .await;
    }
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.header("idempotent-replayed"), Some("true"));
    assert_eq!(a.body["id"], 1);
    let a = api.get(check, &clerk).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        (
            a.body["outcome"].clone(),
            a.body["distribution_id"].clone(),
            a.body["status"].clone()
        ),
        (json!("accepted"), json!(1), json!("REQUESTED"))
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM media_distributions")
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert_eq!(n, 1, "applied once");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_with_a_key_never_apply_twice_and_keys_are_per_caller() {
    let api = TestApi::staffed().await;
    let clerk = api.login("clerk1").await;
    let admin = api.login("admin1").await;
    let (s1, _) = api.register(1, None, "Synthetic^Devi", "2026-12-01").await;
    let (s2, _) = api.register(2, None, "Synthetic^Ewe", "2026-12-01").await;
    let md = "/api/media-distributions";
    let key = [("idempotency-key", "k-1")];
    let create = |sid: i64| Some(json!({"study_ids": [sid], "media_type": "CD"}).to_string());
    let a = api
        .call_with(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            &key,
            create(s1),
        )
        .await;
    assert_eq!(
        (a.status, a.header("idempotent-replayed")),
        (StatusCode::CREATED, None),
        "{a:?}"
    );
    let b = api
        .call_with(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            &key,
            create(s1),
        )
        .await;
    assert_eq!(
        (b.status, b.header("idempotent-replayed")),
        (StatusCode::CREATED, Some("true"))
    );
    assert_eq!(a.body["id"], b.body["id"]);
    // The same key with another body is refused, not answered with the first.
    let reused = api
        .call_with(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            &key,
            create(s2),
        )
        .await;
    assert_eq!(
        (
            reused.status,
            reused.body["code"].clone(),
            reused.body["field"].clone()
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("COMMAND_ID_REUSED"),
            json!("Idempotency-Key")
        ),
        "{reused:?}"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM media_distributions")
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "nothing was created for the reused key");
    // A key names one request whatever the endpoint: reused on another, refused.
    let elsewhere = api
        .call_with(
            Method::PATCH,
            &format!("{md}/1/"),
            Some(&clerk),
            &key,
            Some(json!({"comments": "x"}).to_string()),
        )
        .await;
    assert_eq!(
        (elsewhere.status, elsewhere.body["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("COMMAND_ID_REUSED")),
        "{elsewhere:?}"
    );
    let comments: Option<String> =
        sqlx::query_scalar("SELECT comments FROM media_distributions WHERE id = 1")
            .fetch_one(&api.pool)
            .await
            .unwrap();
    assert_eq!(
        comments, None,
        "the update under a used key was not applied"
    );
    // Another caller's same key is another command.
    let c = api
        .call_with(
            Method::POST,
            &format!("{md}/"),
            Some(&admin),
            &key,
            create(s2),
        )
        .await;
    assert_eq!(
        (c.status, c.body["id"].clone()),
        (StatusCode::CREATED, json!(2))
    );
    // Without a key a second identical request is a new command: refused as a duplicate.
    let d = api
        .call_with(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            &[],
            create(s1),
        )
        .await;
    assert_eq!(
        (d.status, d.body["code"].clone()),
        (StatusCode::CONFLICT, json!("DUPLICATE_ACTIVE_REQUEST"))
    );

    // A cancel retried: one cancellation in the audit trail.
    let cancel = Some(json!({"reason": "asked by the patient"}).to_string());
    let key = [("idempotency-key", "cancel-1")];
    for replayed in [None, Some("true")] {
        let a = api
            .call_with(
                Method::PATCH,
                &format!("{md}/1/cancel/"),
                Some(&admin),
                &key,
                cancel.clone(),
            )
            .await;
        assert_eq!(
            (a.status, a.header("idempotent-replayed")),
            (StatusCode::OK, replayed),
            "{a:?}"
        );
        assert_eq!(a.body["status"], "CANCELLED");
    }
    let cancels: i64 = sqlx::query_scalar("SELECT count(*) FROM distribution_events WHERE distribution_id = 1 AND event = 'cancelled'")
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert_eq!(cancels, 1);
    let other = api
        .call_with(
            Method::PATCH,
            &format!("{md}/2/cancel/"),
            Some(&admin),
            &key,
            cancel.clone(),
        )
        .await;
    assert_eq!(
        (other.status, other.body["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("COMMAND_ID_REUSED")),
        "{other:?}"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM media_distributions WHERE id = 2")
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert_eq!(
        status, "REQUESTED",
        "the other distribution was not cancelled"
    );
    let a = api
        .call_with(
            Method::PATCH,
            &format!("{md}/1/cancel/"),
            Some(&admin),
            &[("idempotency-key", "bad key!")],
            cancel,
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("Idempotency-Key"))
    );
    api.stop().await;
}
