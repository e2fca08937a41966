//! Counting wrong PINs and passwords in PostgreSQL (table
//! `sign_in_failures`), so every station and API instance sees the same
//! count and a restart forgets nothing. The rule is `domain::throttle`.

use chrono::{DateTime, Utc};
use mediadist_domain::throttle;
use sqlx::PgConnection;

/// The ways in, counted apart: a wrong PIN does not close the API.
#[derive(Debug, Clone, Copy)]
pub enum Door {
    StationPin,
    ApiPassword,
}

fn key(door: Door, username: &str) -> String {
    let prefix = match door {
        Door::StationPin => "pin",
        Door::ApiPassword => "api",
    };
    let name: String = username.trim().to_lowercase().chars().take(150).collect();
    format!("{prefix}:{name}")
}

/// Until when sign-in is closed for this username, if it is now.
pub async fn closed_until(
    conn: &mut PgConnection,
    door: Door,
    username: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT closed_until FROM sign_in_failures WHERE key = $1 AND closed_until > now()",
    )
    .bind(key(door, username))
    .fetch_optional(conn)
    .await
    .map(Option::flatten)
}

/// Counts a wrong secret; returns until when sign-in is now closed, if it is.
pub async fn failed(
    conn: &mut PgConnection,
    door: Door,
    username: &str,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let forget = throttle::forget_after().num_seconds() as f64;
    let failures: i32 = sqlx::query_scalar(
        "INSERT INTO sign_in_failures (key, failures) VALUES ($1, 1)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN sign_in_failures.last_at < now() - make_interval(secs => $2)
                           THEN 1 ELSE sign_in_failures.failures + 1 END,
           last_at = now()
         RETURNING failures",
    )
    .bind(key(door, username))
    .bind(forget)
    .fetch_one(&mut *conn)
    .await?;
    let Some(wait) = throttle::lockout(failures) else {
        return Ok(None);
    };
    sqlx::query_scalar(
        "UPDATE sign_in_failures SET closed_until = now() + make_interval(secs => $2) WHERE key = $1 RETURNING closed_until",
    )
    .bind(key(door, username))
    .bind(wait.num_seconds() as f64)
    .fetch_one(conn)
    .await
}

/// A sign-in that worked starts the count over.
pub async fn succeeded(
    conn: &mut PgConnection,
    door: Door,
    username: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sign_in_failures WHERE key = $1")
        .bind(key(door, username))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Reopens every way in for a username (`mediadist staff unlock`); returns
/// whether anything was closed or counting.
pub async fn reopen(conn: &mut PgConnection, username: &str) -> Result<bool, sqlx::Error> {
    let n = sqlx::query("DELETE FROM sign_in_failures WHERE key = ANY($1)")
        .bind(vec![
            key(Door::StationPin, username),
            key(Door::ApiPassword, username),
        ])
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// The answer while closed, as the domain words it.
pub fn closed_message(until: DateTime<Utc>) -> String {
    throttle::closed_message(until - Utc::now())
}
