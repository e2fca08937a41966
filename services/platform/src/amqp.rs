//! RabbitMQ: connection, the topology every service agrees on, and
//! publishing with confirms (a negative confirm is an error).

use crate::config::Config;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use mediadist_domain::catalog::Stage;

pub async fn connect(url: &str, name: &str) -> Result<Connection, lapin::Error> {
    let props = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio)
        .with_connection_name(name.into());
    Connection::connect(url, props).await
}

/// A channel in confirm mode.
pub async fn confirm_channel(conn: &Connection) -> Result<Channel, lapin::Error> {
    let ch = conn.create_channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    Ok(ch)
}

fn durable_exchange() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    }
}

/// Arguments of a quorum queue (every durable queue of ours, and those of
/// tools that stand in for downstream systems).
pub fn quorum_args() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    args
}

/// Declares the commands, events and dead-letter exchanges, one quorum queue
/// per stage (dead-lettering to `<ns>.dead`, with a delivery limit), and the
/// dead-letter queue. Idempotent: every service runs it at start.
pub async fn declare_topology(ch: &Channel, cfg: &Config) -> Result<(), lapin::Error> {
    for ex in [
        cfg.commands_exchange(),
        cfg.events_exchange(),
        cfg.dead_exchange(),
    ] {
        ch.exchange_declare(
            &ex,
            ExchangeKind::Topic,
            durable_exchange(),
            FieldTable::default(),
        )
        .await?;
    }
    for stage in Stage::ALL {
        let queue = cfg.stage_queue(stage);
        let mut args = quorum_args();
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(cfg.dead_exchange().into()),
        );
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongInt(cfg.delivery_limit),
        );
        ch.queue_declare(
            &queue,
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await?;
        ch.queue_bind(
            &queue,
            &cfg.commands_exchange(),
            &format!("{}.#", stage.name()),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    }
    ch.queue_declare(
        &cfg.dead_queue(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        quorum_args(),
    )
    .await?;
    ch.queue_bind(
        &cfg.dead_queue(),
        &cfg.dead_exchange(),
        "#",
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker refused the message (negative confirm)")]
    Nacked,
}

/// Persistent JSON message properties.
pub fn json_properties(message_id: &str) -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(ShortString::from("application/cloudevents+json"))
        .with_message_id(ShortString::from(message_id))
}

/// Publishes and waits for the broker's confirm.
pub async fn publish_confirmed(
    ch: &Channel,
    exchange: &str,
    routing_key: &str,
    payload: &[u8],
    props: BasicProperties,
) -> Result<(), PublishError> {
    let confirm = ch
        .basic_publish(
            exchange,
            routing_key,
            BasicPublishOptions::default(),
            payload,
            props,
        )
        .await?
        .await?;
    match confirm {
        Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
        Confirmation::Nack(_) => Err(PublishError::Nacked),
    }
}

/// Header carrying why a message was dead-lettered by us.
pub const REASON_HEADER: &str = "x-mediadist-reason";

/// Removes a namespace's exchanges and queues (tests clean up after themselves).
pub async fn delete_topology(ch: &Channel, cfg: &Config) -> Result<(), lapin::Error> {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    for stage in Stage::ALL {
        ch.queue_delete(&cfg.stage_queue(stage), QueueDeleteOptions::default())
            .await?;
    }
    ch.queue_delete(&cfg.dead_queue(), QueueDeleteOptions::default())
        .await?;
    for ex in [
        cfg.commands_exchange(),
        cfg.events_exchange(),
        cfg.dead_exchange(),
    ] {
        ch.exchange_delete(&ex, ExchangeDeleteOptions::default())
            .await?;
    }
    Ok(())
}
