//! Every change is a command through RabbitMQ, answered through the reply
//! queue: the API follows the same rules as the kiosk because the same
//! workers and the same domain decide.

use crate::auth::Caller;
use crate::problem::Problem;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use mediadist_domain::catalog::CommandType;
use mediadist_domain::reply::{Outcome, Reply};
use mediadist_platform::client::{ClientError, CommandClient};
use mediadist_platform::Config;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// One command client, connected on first use and again after the broker
/// went away.
pub struct Broker {
    config: Config,
    client: Mutex<Option<Arc<CommandClient>>>,
}

impl Broker {
    pub fn new(config: Config) -> Self {
        Broker {
            config,
            client: Mutex::new(None),
        }
    }

    pub async fn client(&self) -> Result<Arc<CommandClient>, ClientError> {
        let mut held = self.client.lock().await;
        if let Some(c) = held.as_ref() {
            if c.is_connected() {
                return Ok(c.clone());
            }
        }
        let c = Arc::new(CommandClient::connect(&self.config, "mediadist/api").await?);
        *held = Some(c.clone());
        Ok(c)
    }

    pub async fn close(&self) {
        if let Some(c) = self.client.lock().await.take() {
            if let Ok(c) = Arc::try_unwrap(c) {
                c.close().await;
            }
        }
    }
}

/// The client's `Idempotency-Key`, if it sent one: letters, digits and
/// `-_.:~`, at most 100.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let Some(v) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let ok = v.to_str().ok().map(str::trim).filter(|k| {
            !k.is_empty()
                && k.len() <= 100
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:~".contains(&b))
        });
        match ok {
            Some(k) => Ok(IdempotencyKey(Some(k.to_string()))),
            None => Err(Problem::bad_request(
                "Idempotency-Key: 1 to 100 of letters, digits and - _ . : ~",
            )
            .field("Idempotency-Key")),
        }
    }
}

/// What became of a command.
pub enum Sent {
    /// Accepted (possibly answered again from the inbox for a retry).
    Accepted(Reply),
    /// Sent but not answered in time; it may still be applied.
    Pending { command_id: String },
}

/// The command id: the caller's idempotency key, scoped to the caller so
/// two clients' keys never meet; a fresh id without one. Not scoped to the
/// endpoint: the same key on another endpoint is another command under a
/// used id, refused as COMMAND_ID_REUSED rather than applied.
pub fn command_id(caller: &Caller, key: &IdempotencyKey) -> String {
    match &key.0 {
        Some(k) => format!("api:{}:{k}", caller.username),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// Sends a command and waits up to the configured time; a refusal becomes
/// the matching problem (409 for an illegal transition, 422 for a bad value).
pub async fn send(
    state: &crate::AppState,
    caller: &Caller,
    command: CommandType,
    key: &IdempotencyKey,
    subject: Option<i64>,
    data: serde_json::Value,
) -> Result<Sent, Problem> {
    let id = command_id(caller, key);
    let client = state.broker.client().await.map_err(|e| {
        tracing::warn!(error = %e, "message broker unreachable");
        Problem::unavailable("the message broker is not answering; nothing was changed")
    })?;
    let sent = client
        .send_with_id(
            &id,
            command,
            subject.map(|s| s.to_string()),
            data,
            state.settings.command_timeout,
        )
        .await;
    match sent {
        Ok(reply) => match (reply.outcome, &reply.rejection) {
            (Outcome::Accepted, _) => Ok(Sent::Accepted(reply)),
            (Outcome::Rejected, Some(r)) => Err(Problem::from_rejection(r)),
            (Outcome::Rejected, None) => Err(Problem::internal(&"a refusal without a reason")),
        },
        Err(ClientError::Timeout(_)) => Ok(Sent::Pending { command_id: id }),
        Err(e) => {
            tracing::warn!(error = %e, "command not sent");
            Err(Problem::unavailable(
                "the message broker is not answering; the command may not have been sent — retry with the same Idempotency-Key",
            ))
        }
    }
}

/// How long the API waits for a worker's answer before answering 202.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
