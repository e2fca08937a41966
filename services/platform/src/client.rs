//! Sending a command and waiting for its outcome, for producers that need
//! one (the CLI, the kiosk, the API). Answers come back over RabbitMQ's
//! direct reply-to, matched by correlation id.

use crate::amqp;
use crate::config::Config;
use futures_util::StreamExt;
use lapin::options::BasicConsumeOptions;
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection};
use mediadist_domain::catalog::CommandType;
use mediadist_domain::envelope::CloudEvent;
use mediadist_domain::reply::Reply;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

const REPLY_TO: &str = "amq.rabbitmq.reply-to";

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Reply>>>>;

pub struct CommandClient {
    conn: Connection,
    ch: Channel,
    pending: Pending,
    exchange: String,
    source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("message broker unreachable: {0}")]
    Broker(#[from] lapin::Error),
    #[error(transparent)]
    Publish(#[from] amqp::PublishError),
    /// The command was sent; its outcome is unknown. Sending it again with
    /// the same id is safe: the worker's inbox makes it a no-op.
    #[error("no answer within {0:?}; the command may still be applied")]
    Timeout(Duration),
}

impl CommandClient {
    /// `source` names the producer in each command's CloudEvents `source`.
    pub async fn connect(cfg: &Config, source: &str) -> Result<Self, ClientError> {
        let conn = amqp::connect(&cfg.amqp_url, source).await?;
        let setup = conn.create_channel().await?;
        amqp::declare_topology(&setup, cfg).await?;
        let ch = amqp::confirm_channel(&conn).await?;
        let mut replies = ch
            .basic_consume(
                REPLY_TO,
                "replies",
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        let pending: Pending = Arc::default();
        let waiting = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(d)) = replies.next().await {
                let Some(corr) = d
                    .properties
                    .correlation_id()
                    .as_ref()
                    .map(|c| c.to_string())
                else {
                    continue;
                };
                let Ok(reply) = serde_json::from_slice::<Reply>(&d.data) else {
                    tracing::warn!(correlation_id = %corr, "unreadable reply ignored");
                    continue;
                };
                let tx = waiting.lock().ok().and_then(|mut m| m.remove(&corr));
                if let Some(tx) = tx {
                    let _ = tx.send(reply);
                }
            }
        });
        Ok(CommandClient {
            conn,
            ch,
            pending,
            exchange: cfg.commands_exchange(),
            source: source.to_string(),
        })
    }

    /// Sends a command with a fresh id and waits for the answer.
    pub async fn send(
        &self,
        command: CommandType,
        data: serde_json::Value,
        timeout: Duration,
    ) -> Result<Reply, ClientError> {
        self.send_with_id(
            &uuid::Uuid::new_v4().to_string(),
            command,
            None,
            data,
            timeout,
        )
        .await
    }

    /// Sends a command with the caller's id (an idempotency key) and waits.
    pub async fn send_with_id(
        &self,
        id: &str,
        command: CommandType,
        subject: Option<String>,
        data: serde_json::Value,
        timeout: Duration,
    ) -> Result<Reply, ClientError> {
        let correlation = uuid::Uuid::new_v4().to_string();
        let mut ev = CloudEvent::new(
            id.to_string(),
            &self.source,
            command.type_name(),
            chrono::Utc::now(),
            data,
        );
        ev.subject = subject;
        ev.correlationid = Some(correlation.clone());
        let body = serde_json::to_vec(&ev).unwrap_or_default();
        let (tx, rx) = oneshot::channel();
        if let Ok(mut m) = self.pending.lock() {
            m.insert(correlation.clone(), tx);
        }
        let props = amqp::json_properties(id)
            .with_reply_to(ShortString::from(REPLY_TO))
            .with_correlation_id(ShortString::from(correlation.as_str()));
        let sent = amqp::publish_confirmed(
            &self.ch,
            &self.exchange,
            &command.routing_key(),
            &body,
            props,
        )
        .await;
        if let Err(e) = sent {
            self.forget(&correlation);
            return Err(e.into());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            _ => {
                self.forget(&correlation);
                Err(ClientError::Timeout(timeout))
            }
        }
    }

    /// Publishes without waiting for an answer (bulk import).
    pub async fn publish(
        &self,
        id: &str,
        command: CommandType,
        data: serde_json::Value,
    ) -> Result<(), ClientError> {
        let ev = CloudEvent::new(
            id.to_string(),
            &self.source,
            command.type_name(),
            chrono::Utc::now(),
            data,
        );
        let body = serde_json::to_vec(&ev).unwrap_or_default();
        amqp::publish_confirmed(
            &self.ch,
            &self.exchange,
            &command.routing_key(),
            &body,
            amqp::json_properties(id),
        )
        .await?;
        Ok(())
    }

    fn forget(&self, correlation: &str) {
        if let Ok(mut m) = self.pending.lock() {
            m.remove(correlation);
        }
    }

    /// How many consumers (worker processes' channels) read `queue` now.
    pub async fn consumers(&self, queue: &str) -> Result<u32, ClientError> {
        // A channel of its own: a passive declare of a missing queue closes it.
        let ch = self.conn.create_channel().await?;
        let q = ch
            .queue_declare(
                queue,
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await;
        let _ = ch.close(200, "bye").await;
        Ok(q?.consumer_count())
    }

    /// False once the broker connection is gone (a restart, a network cut):
    /// the caller connects a new client.
    pub fn is_connected(&self) -> bool {
        self.conn.status().connected()
    }

    pub async fn close(self) {
        let _ = self.conn.close(200, "bye").await;
    }
}
