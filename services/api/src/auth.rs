//! Who is calling: argon2 password hashes, opaque bearer tokens stored as
//! SHA-256 hashes with an expiry, the login/logout endpoints and the seed's
//! `/api/token/` pair beside them, and the extractor every other endpoint
//! uses (401 without a valid token, 403 when the role may not do the step).

use crate::body;
use crate::problem::Problem;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use mediadist_domain::roles::{Action, Actor};
use mediadist_domain::Role;
use mediadist_platform::secrets;
use mediadist_platform::throttle::{self, Door};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has 8 to 200 characters")]
    Length,
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// An argon2id hash in PHC string form (`$argon2id$v=19$...`), by the
/// platform's hashing (the stations' PINs use the same).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let n = password.chars().count();
    if !(8..=200).contains(&n) {
        return Err(PasswordError::Length);
    }
    secrets::hash(password).map_err(|e| PasswordError::Hash(e.to_string()))
}

/// True when `password` matches the stored hash; an unreadable hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    secrets::verify(password, stored)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// 32 random bytes as 64 hex digits; only its hash is stored.
fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new token of `session` (one sign-in: see migration 0009).
pub async fn issue(
    pool: &PgPool,
    staff_id: i64,
    kind: TokenKind,
    ttl: Duration,
    session: uuid::Uuid,
) -> Result<(String, DateTime<Utc>), sqlx::Error> {
    let token = new_token();
    let expires_at = Utc::now() + ttl;
    sqlx::query(
        "INSERT INTO api_tokens (token_hash, staff_id, kind, expires_at, session) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(staff_id)
    .bind(kind.as_str())
    .bind(expires_at)
    .bind(session)
    .execute(pool)
    .await?;
    Ok((token, expires_at))
}

/// Ends every token of a member of staff: their password changed, so no
/// sign-in made with the old one may go on.
pub async fn revoke_all(pool: &PgPool, staff_id: i64) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = now() WHERE staff_id = $1 AND revoked_at IS NULL",
    )
    .bind(staff_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
}

/// The authenticated member of staff behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub staff_id: i64,
    pub username: String,
    pub role: Role,
    token_hash: Vec<u8>,
    /// The sign-in this token came from (none for tokens from before 0009).
    session: Option<uuid::Uuid>,
}

impl Caller {
    /// 403 with the domain's words when the role may not take the step.
    pub fn may(&self, action: Action) -> Result<(), Problem> {
        let actor = Actor {
            username: self.username.clone(),
            role: self.role,
            active: true,
        };
        actor
            .authorise(action)
            .map_err(|r| Problem::forbidden(r.message))
    }

    /// See [`mediadist_domain::roles::sees_full_identity`].
    pub fn sees_full_identity(&self) -> bool {
        mediadist_domain::roles::sees_full_identity(self.role)
    }
}

/// Looks a token up: unexpired, not revoked, of the kind asked for, and its
/// staff account still active.
async fn lookup(pool: &PgPool, token: &str, kind: TokenKind) -> Result<Option<Caller>, Problem> {
    let hash = token_hash(token);
    let row = sqlx::query(
        "SELECT s.id, s.username, s.role, t.session FROM api_tokens t JOIN staff s ON s.id = t.staff_id
         WHERE t.token_hash = $1 AND t.kind = $2 AND t.revoked_at IS NULL AND t.expires_at > now() AND s.active",
    )
    .bind(&hash)
    .bind(kind.as_str())
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role = Role::parse(row.get("role"), "role").map_err(|e| Problem::internal(&e))?;
    Ok(Some(Caller {
        staff_id: row.get("id"),
        username: row.get("username"),
        role,
        token_hash: hash,
        session: row.get("session"),
    }))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(Problem::unauthorized(
                "authentication required: send Authorization: Bearer <token> (POST /api/auth/login)",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header must be Bearer <token>")
            })?;
        lookup(&state.pool, token, TokenKind::Access)
            .await?
            .ok_or_else(|| {
                Problem::unauthorized("the token is not valid, has expired or was revoked")
            })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

/// Checks a username and password; the same answer for every way it fails.
async fn check_login(state: &AppState, b: LoginBody) -> Result<i64, Problem> {
    let username = b.username.trim().to_lowercase();
    if username.is_empty() {
        return Err(Problem::invalid("username", "username: is required"));
    }
    if b.password.is_empty() {
        return Err(Problem::invalid("password", "password: is required"));
    }
    let mut conn = state.pool.acquire().await?;
    if let Some(until) = throttle::closed_until(&mut conn, Door::ApiPassword, &username).await? {
        tracing::info!("login refused: sign-in closed");
        return Err(Problem::sign_in_closed(until));
    }
    let row = sqlx::query("SELECT id, password_hash, active FROM staff WHERE username = $1")
        .bind(&username)
        .fetch_optional(&mut *conn)
        .await?;
    let (id, stored, active) = match &row {
        Some(r) => (
            r.get::<i64, _>("id"),
            r.get::<Option<String>, _>("password_hash"),
            r.get::<bool, _>("active"),
        ),
        None => (0, None, false),
    };
    let usable = stored.is_some() && active;
    let password = b.password;
    // A missing account costs as long as a wrong password.
    let ok = tokio::task::spawn_blocking(move || {
        secrets::verify_or_waste_time(&password, stored.as_deref())
    })
    .await
    .unwrap_or(false);
    if ok && usable {
        throttle::succeeded(&mut conn, Door::ApiPassword, &username).await?;
        tracing::info!(staff = %username, "logged in");
        Ok(id)
    } else {
        tracing::info!("login refused");
        // Only a wrong password counts, not the right one for a closed account.
        let closed = match ok {
            true => None,
            false => throttle::failed(&mut conn, Door::ApiPassword, &username).await?,
        };
        Err(closed.map_or_else(
            || Problem::unauthorized("invalid username or password"),
            Problem::sign_in_closed,
        ))
    }
}

/// `POST /api/auth/login` {username, password} → {token, expires_at}.
pub async fn login(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let b: LoginBody = body::parse(body)?;
    let id = check_login(&state, b).await?;
    let (token, expires_at) = issue(
        &state.pool,
        id,
        TokenKind::Access,
        state.settings.access_ttl,
        uuid::Uuid::new_v4(),
    )
    .await?;
    Ok(
        Json(json!({ "token": token, "token_type": "Bearer", "expires_at": expires_at }))
            .into_response(),
    )
}

/// `POST /api/auth/logout`: revokes the token that came with the request
/// (and a refresh token named in the body, if any).
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct B {
        #[serde(default)]
        refresh: Option<String>,
    }
    let b: B = body::parse(body)?;
    // This token and every other of its sign-in (the refresh token too).
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = now()
         WHERE (token_hash = $1 OR session = $2) AND revoked_at IS NULL",
    )
    .bind(&caller.token_hash)
    .bind(caller.session)
    .execute(&state.pool)
    .await?;
    if let Some(r) = b.refresh {
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1 AND staff_id = $2 AND revoked_at IS NULL",
        )
        .bind(token_hash(&r))
        .bind(caller.staff_id)
        .execute(&state.pool)
        .await?;
    }
    tracing::info!(staff = %caller.username, "logged out");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The seed's `POST /api/token/` {username, password} → {access, refresh}.
pub async fn token_obtain(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let b: LoginBody = body::parse(body)?;
    let id = check_login(&state, b).await?;
    let session = uuid::Uuid::new_v4();
    let (access, _) = issue(
        &state.pool,
        id,
        TokenKind::Access,
        state.settings.access_ttl,
        session,
    )
    .await?;
    let (refresh, _) = issue(
        &state.pool,
        id,
        TokenKind::Refresh,
        state.settings.refresh_ttl,
        session,
    )
    .await?;
    Ok(Json(json!({ "access": access, "refresh": refresh })).into_response())
}

/// The seed's `POST /api/token/refresh/` {refresh} → {access}.
pub async fn token_refresh(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct B {
        refresh: String,
    }
    let b: B = body::parse(body)?;
    let caller = lookup(&state.pool, b.refresh.trim(), TokenKind::Refresh)
        .await?
        .ok_or_else(|| {
            Problem::unauthorized("the refresh token is not valid, has expired or was revoked")
        })?;
    let (access, _) = issue(
        &state.pool,
        caller.staff_id,
        TokenKind::Access,
        state.settings.access_ttl,
        caller.session.unwrap_or_else(uuid::Uuid::new_v4),
    )
    .await?;
    Ok(Json(json!({ "access": access })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("synthetic-pass-1").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("synthetic-pass-1", &h));
        assert!(!verify_password("synthetic-pass-2", &h));
        assert!(!verify_password("synthetic-pass-1", "not a hash"));
        assert!(matches!(hash_password("short"), Err(PasswordError::Length)));
    }

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 32);
    }
}
