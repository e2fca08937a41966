//! Looking into RabbitMQ from outside: an independent durable subscriber,
//! queue depths, and draining a queue to see what it holds.

use lapin::options::{BasicAckOptions, BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::Channel;
use mediadist_platform::Config;

/// A message as it was found in a queue.
#[derive(Debug, Clone)]
pub struct Found {
    pub message_id: Option<String>,
    pub body: Vec<u8>,
    /// The `x-mediadist-reason` header, when the message was dead-lettered by us.
    pub reason: Option<String>,
}

pub fn subscriber_queue(config: &Config) -> String {
    format!("{}.proof-subscriber", config.namespace)
}

/// A downstream system's queue: durable (it survives a broker restart, as a
/// billing system's would) and bound to every event.
pub async fn declare_subscriber(ch: &Channel, config: &Config) -> Result<String, lapin::Error> {
    let name = subscriber_queue(config);
    ch.queue_declare(
        &name,
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        mediadist_platform::amqp::quorum_args(),
    )
    .await?;
    ch.queue_bind(
        &name,
        &config.events_exchange(),
        "#",
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    Ok(name)
}

/// Messages ready in a queue (a stopped consumer's unacked ones are back
/// in the queue by then, so after the services stop this is everything left).
pub async fn depth(ch: &Channel, queue: &str) -> Result<u32, lapin::Error> {
    let q = ch
        .queue_declare(
            queue,
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(q.message_count())
}

/// Takes (and acks) every message in the queue.
pub async fn drain(ch: &Channel, queue: &str) -> Result<Vec<Found>, lapin::Error> {
    let mut found = Vec::new();
    while let Some(m) = ch.basic_get(queue, BasicGetOptions::default()).await? {
        let d = &m.delivery;
        let reason = d
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get(mediadist_platform::amqp::REASON_HEADER))
            .and_then(|v| match v {
                AMQPValue::LongString(s) => {
                    Some(String::from_utf8_lossy(s.as_bytes()).into_owned())
                }
                _ => None,
            });
        found.push(Found {
            message_id: d.properties.message_id().as_ref().map(|s| s.to_string()),
            body: d.data.clone(),
            reason,
        });
        d.acker.ack(BasicAckOptions::default()).await?;
    }
    Ok(found)
}

pub async fn delete(ch: &Channel, queue: &str) {
    let _ = ch
        .queue_delete(queue, lapin::options::QueueDeleteOptions::default())
        .await;
}
