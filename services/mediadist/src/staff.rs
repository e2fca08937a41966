//! Staff accounts.

use mediadist_domain::Role;
use sqlx::PgPool;

pub async fn add(
    pool: &PgPool,
    username: &str,
    full_name: &str,
    role: &str,
) -> anyhow::Result<i64> {
    add_with_password(pool, username, full_name, role, None).await
}

/// Adds (or updates) an account; with a password, the HTTP API accepts it
/// (and every API token signed in with the old one ends). Without one, an
/// existing password stays as it was.
pub async fn add_with_password(
    pool: &PgPool,
    username: &str,
    full_name: &str,
    role: &str,
    password: Option<&str>,
) -> anyhow::Result<i64> {
    let role = Role::parse(role, "role")?;
    let hash = password
        .map(mediadist_api::auth::hash_password)
        .transpose()?;
    let username = username.trim().to_lowercase();
    let id = sqlx::query_scalar(
        "INSERT INTO staff (username, full_name, role, password_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT (username) DO UPDATE SET full_name = EXCLUDED.full_name, role = EXCLUDED.role, active = TRUE,
             password_hash = COALESCE(EXCLUDED.password_hash, staff.password_hash)
         RETURNING id",
    )
    .bind(&username)
    .bind(full_name.trim())
    .bind(role.as_str())
    .bind(hash)
    .fetch_one(pool)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.constraint().is_some() => {
            anyhow::anyhow!("username must be 2 to 40 of a-z 0-9 . _ - and the name 1 to 200 characters")
        }
        other => other.into(),
    })?;
    if password.is_some() {
        mediadist_api::auth::revoke_all(pool, id).await?;
    }
    Ok(id)
}
