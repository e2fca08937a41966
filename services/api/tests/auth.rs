//! Authentication and roles through the router, against the real
//! PostgreSQL and RabbitMQ: login/logout, the seed's token pair, 401 versus
//! 403 for every action, health and readiness.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApi, PASSWORD};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_login_logout_and_the_token_pair() {
    let api = TestApi::staffed().await;

    let a = api.call(Method::GET, "/health", None, None).await;
    assert_eq!(
        (a.status, a.body.clone()),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    assert_eq!(
        api.call(Method::GET, "/health/", None, None).await.status,
        StatusCode::OK
    );
    // The workers were just started: ready once each has begun consuming.
    let mut a = api.call(Method::GET, "/ready", None, None).await;
    for _ in 0..50 {
        if a.body["status"] != "degraded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        a = api.call(Method::GET, "/ready/", None, None).await;
    }
    assert_eq!(
        (a.status, a.body.clone()),
        (
            StatusCode::OK,
            json!({"status": "ready", "checks": {"postgres": "ok", "rabbitmq": "ok", "workers": "ok"}})
        )
    );

    // No token: 401 as problem details, with the challenge header.
    let a = api
        .call(Method::GET, "/api/media-distributions/", None, None)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.content_type(), "application/problem+json");
    assert_eq!(
        a.header("www-authenticate"),
        Some("Bearer realm=\"mediadist\"")
    );
    assert_eq!(a.body["status"], 401);
    assert_eq!(a.body["code"], "UNAUTHENTICATED");
    assert_eq!(a.body["title"], "Unauthorized");
    assert_eq!(a.body["error"], a.body["detail"]);
    let a = api
        .get("/api/media-distributions/", "0123456789abcdef")
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.body["detail"],
        "the token is not valid, has expired or was revoked"
    );

    // Wrong password and unknown user get the same answer.
    for (u, p) in [("clerk1", "wrong-password"), ("nobody", PASSWORD)] {
        let a = api
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"username": u, "password": p})),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{u}");
        assert_eq!(a.body["detail"], "invalid username or password");
    }
    let a = api
        .call(
            Method::POST,
            "/api/auth/login/",
            None,
            Some(json!({"username": "clerk1"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("password"))
    );
    let a = api
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "clerk1", "password": PASSWORD, "remember": true})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("remember"))
    );

    // The stored hash is argon2id, never the password.
    let stored: String =
        sqlx::query_scalar("SELECT password_hash FROM staff WHERE username = 'clerk1'")
            .fetch_one(&api.pool)
            .await
            .unwrap();
    assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");
    assert!(!stored.contains(PASSWORD));

    // Login: a 64-hex-digit token expiring in 8 hours; only its hash is stored.
    let a = api
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "Clerk1", "password": PASSWORD})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let token = a.body["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let expires: chrono::DateTime<chrono::Utc> =
        a.body["expires_at"].as_str().unwrap().parse().unwrap();
    let left = expires - chrono::Utc::now();
    assert!(
        left > chrono::Duration::minutes(479) && left <= chrono::Duration::hours(8),
        "{left}"
    );
    let plain: i64 =
        sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE encode(token_hash, 'hex') = $1")
            .bind(&token)
            .fetch_one(&api.pool)
            .await
            .unwrap();
    assert_eq!(plain, 0, "the token itself is not stored");

    let a = api.get("/api/media-distributions/", &token).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(
        a.body,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );

    // Logout revokes exactly that token.
    let other = api.login("clerk1").await;
    let a = api
        .call(Method::POST, "/api/auth/logout", Some(&token), None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/api/media-distributions/", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.get("/api/media-distributions/", &other).await.status,
        StatusCode::OK
    );

    // The seed's pair: access + refresh; refresh gives a new access token.
    let a = api
        .call(
            Method::POST,
            "/api/token/",
            None,
            Some(json!({"username": "rad1", "password": PASSWORD})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let mut keys: Vec<&String> = a.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["access", "refresh"]);
    let (access, refresh) = (
        a.body["access"].as_str().unwrap().to_string(),
        a.body["refresh"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        api.get("/api/media-distributions/", &access).await.status,
        StatusCode::OK
    );
    // A refresh token is not an access token.
    assert_eq!(
        api.get("/api/media-distributions/", &refresh).await.status,
        StatusCode::UNAUTHORIZED
    );
    let a = api
        .call(
            Method::POST,
            "/api/token/refresh/",
            None,
            Some(json!({"refresh": refresh})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let fresh = a.body["access"].as_str().unwrap().to_string();
    assert_ne!(fresh, access);
    assert_eq!(
        api.get("/api/media-distributions/", &fresh).await.status,
        StatusCode::OK
    );
    let a = api
        .call(
            Method::POST,
            "/api/token/refresh/",
            None,
            Some(json!({"refresh": access})),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::UNAUTHORIZED,
        "an access token does not refresh"
    );
    // Logging out ends the whole sign-in: the refresh token and every access
    // token of it, whichever one logs out; another sign-in goes on.
    let elsewhere = api.login("rad1").await;
    let a = api
        .call(Method::POST, "/api/auth/logout/", Some(&fresh), None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = api
        .call(
            Method::POST,
            "/api/token/refresh/",
            None,
            Some(json!({"refresh": refresh})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.get("/api/media-distributions/", &access).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.get("/api/media-distributions/", &elsewhere)
            .await
            .status,
        StatusCode::OK
    );
    // A new password ends every sign-in made with the old one.
    api.add_staff("rad1", "RADIOGRAPHER").await;
    assert_eq!(
        api.get("/api/media-distributions/", &elsewhere)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // A deactivated account's tokens stop working at once.
    let desk = api.login("desk1").await;
    sqlx::query("UPDATE staff SET active = FALSE WHERE username = 'desk1'")
        .execute(&api.pool)
        .await
        .unwrap();
    assert_eq!(
        api.get("/api/media-distributions/", &desk).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Unknown paths and methods are problem details too.
    let a = api.get("/api/nothing-here/", &other).await;
    assert_eq!(
        (a.status, a.content_type()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    let a = api
        .call(
            Method::DELETE,
            "/api/media-distributions/stats/",
            Some(&other),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    api.stop().await;
}

/// Each action refused (403, the domain's words) for the roles the role
/// matrix excludes; an allowed role gets past the check (here: 404, as the
/// distribution does not exist), so 403 is never a stand-in for 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_refusals_are_403_and_distinct_from_401_and_404() {
    let api = TestApi::staffed().await;
    let mut tokens = std::collections::HashMap::new();
    for u in ["clerk1", "rad1", "desk1", "admin1"] {
        tokens.insert(u, api.login(u).await);
    }
    let md = "/api/media-distributions/MD-000777";
    // (method, path, body, refused roles, allowed roles)
    type Case<'a> = (
        Method,
        String,
        serde_json::Value,
        Vec<&'a str>,
        Vec<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            format!("{md}/start-preparing/"),
            json!({}),
            vec!["clerk1", "desk1"],
            vec!["rad1", "admin1"],
        ),
        (
            Method::PATCH,
            format!("{md}/mark-ready/"),
            json!({"storage_location": "Shelf A1"}),
            vec!["clerk1", "desk1"],
            vec!["rad1", "admin1"],
        ),
        (
            Method::PATCH,
            format!("{md}/collect/"),
            json!({"collected_by": "Synthetic Collector", "collected_by_ic": "900101-14-1235",
                   "relationship_to_patient": "SELF", "document_seen": true}),
            vec!["clerk1", "rad1"],
            vec!["desk1", "admin1"],
        ),
        (
            Method::PATCH,
            format!("{md}/cancel/"),
            json!({"reason": "asked by the patient"}),
            vec!["clerk1", "rad1", "desk1"],
            vec!["admin1"],
        ),
        (
            Method::PATCH,
            format!("{md}/"),
            json!({"comments": "x"}),
            vec!["rad1", "desk1"],
            vec!["clerk1", "admin1"],
        ),
        (
            Method::DELETE,
            format!("{md}/"),
            json!({"reason": "entered twice"}),
            vec!["clerk1", "rad1", "desk1"],
            vec!["admin1"],
        ),
    ];
    for (method, path, body, refused, allowed) in &cases {
        let a = api
            .call(method.clone(), path, None, Some(body.clone()))
            .await;
        assert_eq!(
            a.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token"
        );
        for u in refused {
            let a = api
                .call(method.clone(), path, Some(&tokens[u]), Some(body.clone()))
                .await;
            assert_eq!(
                a.status,
                StatusCode::FORBIDDEN,
                "{u} {method} {path}: {a:?}"
            );
            assert_eq!(a.body["code"], "FORBIDDEN");
        }
        for u in allowed {
            let a = api
                .call(method.clone(), path, Some(&tokens[u]), Some(body.clone()))
                .await;
            assert_eq!(
                a.status,
                StatusCode::NOT_FOUND,
                "{u} {method} {path}: {a:?}"
            );
            assert_eq!(a.body["detail"], "no distribution MD-000777");
        }
    }
    // Creating: radiographers and reception may not request media.
    let create = json!({"study_ids": [1], "media_type": "CD"});
    for u in ["rad1", "desk1"] {
        let a = api
            .call(
                Method::POST,
                "/api/media-distributions/",
                Some(&tokens[u]),
                Some(create.clone()),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{u}");
    }
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/collect/"),
            Some(&tokens["clerk1"]),
            Some(json!({})),
        )
        .await;
    assert_eq!(a.body["detail"], "a clerk may not hand media over");
    assert_eq!(a.body["error"], "a clerk may not hand media over");
    api.stop().await;
}
