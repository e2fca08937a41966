//! Guessing passwords: five wrong ones in a row close the API's sign-in for
//! that username (429 with Retry-After), for known and unknown usernames
//! alike, through both login endpoints; a good sign-in starts the count
//! over; `mediadist staff unlock` reopens it.

mod common;

use axum::http::{Method, StatusCode};
use common::{Answer, TestApi, PASSWORD};
use serde_json::json;

async fn login(api: &TestApi, path: &str, username: &str, password: &str) -> Answer {
    api.call(
        Method::POST,
        path,
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_close_sign_in_for_that_username_only() {
    let api = TestApi::staffed().await;
    let statuses = |answers: &[Answer]| answers.iter().map(|a| a.status).collect::<Vec<_>>();

    // Four wrong, one right: the count starts over, so four more are still 401.
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(login(&api, "/api/auth/login", "clerk1", "wrong-pass-1").await);
    }
    assert_eq!(statuses(&answers), vec![StatusCode::UNAUTHORIZED; 4]);
    assert_eq!(
        login(&api, "/api/auth/login", "clerk1", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    answers.clear();
    for _ in 0..4 {
        answers.push(login(&api, "/api/token/", "clerk1", "wrong-pass-1").await);
    }
    assert_eq!(statuses(&answers), vec![StatusCode::UNAUTHORIZED; 4]);

    // The fifth in a row closes it; now even the right password is refused,
    // without saying whether it was right.
    let closed = login(&api, "/api/auth/login", "clerk1", "wrong-pass-1").await;
    assert_eq!(
        (closed.status, closed.body["code"].clone()),
        (StatusCode::TOO_MANY_REQUESTS, json!("SIGN_IN_CLOSED")),
        "{closed:?}"
    );
    let retry: i64 = closed
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    for path in ["/api/auth/login", "/api/token/"] {
        let a = login(&api, path, "clerk1", PASSWORD).await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{path}: {a:?}");
        assert!(
            a.body["detail"]
                .as_str()
                .unwrap_or("")
                .contains("closed for 1 more minute"),
            "{a:?}"
        );
    }

    // Another account is not affected; a username nobody has closes the same way.
    assert_eq!(
        login(&api, "/api/auth/login", "desk1", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    let mut unknown = Vec::new();
    for _ in 0..5 {
        unknown.push(
            login(&api, "/api/auth/login", "nobody9", "wrong-pass-1")
                .await
                .status,
        );
    }
    assert_eq!(
        unknown,
        [
            vec![StatusCode::UNAUTHORIZED; 4],
            vec![StatusCode::TOO_MANY_REQUESTS]
        ]
        .concat()
    );

    // Counted per way in and username (a station PIN is `pin:`).
    let rows: Vec<(String, i32)> =
        sqlx::query_as("SELECT key, failures FROM sign_in_failures ORDER BY key")
            .fetch_all(&api.pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![("api:clerk1".into(), 5), ("api:nobody9".into(), 5)]
    );

    // An admin reopens it (what `mediadist staff unlock clerk1` runs).
    let mut conn = api.pool.acquire().await.unwrap();
    assert!(mediadist_platform::throttle::reopen(&mut conn, "clerk1")
        .await
        .unwrap());
    assert!(!mediadist_platform::throttle::reopen(&mut conn, "clerk1")
        .await
        .unwrap());
    drop(conn);
    assert_eq!(
        login(&api, "/api/auth/login", "clerk1", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    api.stop().await;
}
