//! The one consumer loop every worker service runs.
//!
//! For each delivery: parse the CloudEvents envelope (poison goes to the
//! dead-letter exchange at once, with its reason in a header), then in one
//! transaction claim the message id in the inbox (a duplicate gets the stored
//! answer), let the stage's handler change the data and write audit and
//! outbox rows, store the answer, COMMIT, reply, and only then ack.

use crate::amqp::{self, REASON_HEADER};
use crate::config::Config;
use crate::db;
use crate::shutdown::Shutdown;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel};
use mediadist_domain::catalog::Stage;
use mediadist_domain::envelope::{parse_command, CommandEnvelope};
use mediadist_domain::reply::Reply;
use mediadist_domain::{ReasonCode, Rejection};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use tracing::{error, info, warn, Instrument};

/// What a worker shares with its handler.
pub struct Context {
    pub config: Config,
    pub pool: PgPool,
}

/// Why a handler could not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The message cannot be understood (its data does not fit the
    /// command's shape): dead-letter it.
    #[error("{0}")]
    Poison(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// A stage's handler: runs inside the worker's transaction.
pub type Handler = for<'a> fn(
    &'a mut PgConnection,
    &'a CommandEnvelope,
    &'a Context,
) -> BoxFuture<'a, Result<Reply, HandleError>>;

/// Parses a command's `data`; a shape error is poison.
pub fn data<T: serde::de::DeserializeOwned>(env: &CommandEnvelope) -> Result<T, HandleError> {
    serde_json::from_value(env.event.data.clone()).map_err(|e| {
        let why = mediadist_domain::envelope::redact_values(&e.to_string());
        HandleError::Poison(format!("data of {} does not fit: {why}", env.event.kind))
    })
}

/// Runs a stage's consumers until shutdown, reconnecting after broker or
/// connection failures.
pub async fn run(
    config: Config,
    stage: Stage,
    handler: Handler,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let pool =
        db::connect_and_migrate(&config.database_url, (config.consumers as u32 + 2).max(4)).await?;
    let ctx = std::sync::Arc::new(Context { config, pool });
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_triggered() {
        let started = std::time::Instant::now();
        match serve(&ctx, stage, handler, shutdown.clone()).await {
            Ok(()) => break,
            Err(e) => {
                // A connection that served a while starts its retries afresh.
                if started.elapsed() > Duration::from_secs(30) {
                    backoff = Duration::from_millis(200);
                }
                warn!(stage = stage.name(), error = %e, "broker connection lost; reconnecting in {backoff:?}");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    info!(stage = stage.name(), "worker stopped");
    Ok(())
}

async fn serve(
    ctx: &std::sync::Arc<Context>,
    stage: Stage,
    handler: Handler,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let conn = amqp::connect(&ctx.config.amqp_url, &format!("mediadist-{}", stage.name())).await?;
    let setup = conn.create_channel().await?;
    amqp::declare_topology(&setup, &ctx.config).await?;
    let queue = ctx.config.stage_queue(stage);
    info!(stage = stage.name(), queue = %queue, consumers = ctx.config.consumers, "consuming");
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..ctx.config.consumers.max(1) {
        let ch = amqp::confirm_channel(&conn).await?;
        let (ctx, queue, shutdown) = (ctx.clone(), queue.clone(), shutdown.clone());
        tasks.spawn(async move { consume(ch, &queue, n, &ctx, stage, handler, shutdown).await });
    }
    // The first consumer to end (shutdown or a lost channel) ends them all.
    let first = tasks.join_next().await;
    tasks.abort_all();
    let _ = conn.close(200, "bye").await;
    match first {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(e.into()),
        None => Ok(()),
    }
}

async fn consume(
    ch: Channel,
    queue: &str,
    n: usize,
    ctx: &Context,
    stage: Stage,
    handler: Handler,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    ch.basic_qos(ctx.config.prefetch, BasicQosOptions::default())
        .await?;
    let mut consumer = ch
        .basic_consume(
            queue,
            &format!("{}-{}-{n}", stage.name(), std::process::id()),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    loop {
        let delivery = tokio::select! {
            _ = shutdown.wait() => return Ok(()),
            d = consumer.next() => d,
        };
        let Some(delivery) = delivery else {
            anyhow::bail!("consumer on {queue} was cancelled");
        };
        let delivery = delivery?;
        let span = tracing::info_span!(
            "command",
            stage = stage.name(),
            message_id = %prop(delivery.properties.message_id()),
            correlation_id = %prop(delivery.properties.correlation_id()),
            routing_key = %delivery.routing_key,
        );
        process(&ch, delivery, ctx, stage, handler, &mut shutdown)
            .instrument(span)
            .await?;
    }
}

fn prop(p: &Option<ShortString>) -> &str {
    p.as_ref().map(|s| s.as_str()).unwrap_or("-")
}

async fn process(
    ch: &Channel,
    delivery: Delivery,
    ctx: &Context,
    stage: Stage,
    handler: Handler,
    shutdown: &mut Shutdown,
) -> anyhow::Result<()> {
    let envelope = match parse_command(&delivery.data) {
        Ok(env) if env.command.stage() != stage => Err(format!(
            "{} does not belong to the {} stage",
            env.event.kind,
            stage.name()
        )),
        Ok(env) => Ok(env),
        Err(e) => Err(e.to_string()),
    };
    let env = match envelope {
        Ok(env) => env,
        Err(reason) => return dead_letter(ch, &delivery, &reason, ctx).await,
    };
    let mut backoff = Duration::from_millis(50);
    loop {
        match apply(&env, ctx, handler).await {
            Ok(reply) => {
                send_reply(ch, &delivery, &reply).await;
                delivery.acker.ack(BasicAckOptions::default()).await?;
                return Ok(());
            }
            Err(HandleError::Poison(reason)) => {
                return dead_letter(ch, &delivery, &reason, ctx).await
            }
            Err(HandleError::Db(e)) if db::is_transient(&e) => {
                // Keep the message and wait for the database: a long outage
                // must not burn through the delivery limit.
                warn!(error = %e, "database unavailable; retrying in {backoff:?}");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait() => {
                        delivery.acker.nack(BasicNackOptions { requeue: true, ..Default::default() }).await?;
                        return Ok(());
                    }
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(HandleError::Db(e)) => {
                error!(error = %e, "database refused the command");
                return dead_letter(
                    ch,
                    &delivery,
                    &format!("database refused the command: {e}"),
                    ctx,
                )
                .await;
            }
        }
    }
}

/// One attempt in one transaction. The inbox row is claimed first, so a
/// concurrent duplicate waits for this one and then reads its answer.
/// Public so the benchmark can run exactly this work without a broker.
pub async fn apply(
    env: &CommandEnvelope,
    ctx: &Context,
    handler: Handler,
) -> Result<Reply, HandleError> {
    let fingerprint = env.fingerprint();
    let mut tx = ctx.pool.begin().await?;
    let claimed = sqlx::query("INSERT INTO inbox (message_id, command_type, reply, fingerprint) VALUES ($1, $2, '{}', $3) ON CONFLICT DO NOTHING")
        .bind(&env.event.id)
        .bind(&env.event.kind)
        .bind(&fingerprint[..])
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !claimed {
        let (stored, stored_fingerprint): (serde_json::Value, Option<Vec<u8>>) =
            sqlx::query_as("SELECT reply, fingerprint FROM inbox WHERE message_id = $1")
                .bind(&env.event.id)
                .fetch_one(&mut *tx)
                .await?;
        tx.rollback().await?;
        if stored_fingerprint.is_some_and(|f| f != fingerprint) {
            warn!("command id reused for a different command; refused");
            return Ok(Reply::rejected(
                &env.event.id,
                None,
                Rejection::new(
                    ReasonCode::CommandIdReused,
                    "this command id was already used for a different command; nothing was changed",
                ),
            ));
        }
        let mut reply: Reply = serde_json::from_value(stored)
            .map_err(|e| HandleError::Poison(format!("stored reply unreadable: {e}")))?;
        reply.duplicate = true;
        info!("duplicate command; answered from the inbox");
        return Ok(reply);
    }
    let reply = handler(&mut tx, env, ctx).await?;
    let stored = serde_json::to_value(&reply).map_err(|e| HandleError::Poison(e.to_string()))?;
    sqlx::query("UPDATE inbox SET reply = $2 WHERE message_id = $1")
        .bind(&env.event.id)
        .bind(stored)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    info!(outcome = ?reply.outcome, code = ?reply.rejection.as_ref().map(|r| r.code), "command applied");
    Ok(reply)
}

/// Sends the answer to `reply_to`, if the producer asked for one. A producer
/// that went away is not an error: the outcome is stored.
async fn send_reply(ch: &Channel, delivery: &Delivery, reply: &Reply) {
    let Some(reply_to) = delivery.properties.reply_to() else {
        return;
    };
    let mut props =
        BasicProperties::default().with_content_type(ShortString::from("application/json"));
    if let Some(c) = delivery.properties.correlation_id() {
        props = props.with_correlation_id(c.clone());
    }
    let body = match serde_json::to_vec(reply) {
        Ok(b) => b,
        Err(e) => return warn!(error = %e, "reply not serialisable"),
    };
    // Not waiting for the broker's confirm: a lost reply costs the producer
    // a resend, which the inbox answers, and waiting would hold up the ack.
    let sent = ch
        .basic_publish(
            "",
            reply_to.as_str(),
            lapin::options::BasicPublishOptions::default(),
            &body,
            props,
        )
        .await;
    if let Err(e) = sent {
        warn!(error = %e, "reply not delivered; the outcome is stored in the inbox");
    }
}

/// Publishes the message to the dead-letter exchange with the reason in a
/// header, tells the producer, then acks the original.
async fn dead_letter(
    ch: &Channel,
    delivery: &Delivery,
    reason: &str,
    ctx: &Context,
) -> anyhow::Result<()> {
    warn!(reason, "dead-lettering message");
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert(REASON_HEADER.into(), AMQPValue::LongString(reason.into()));
    headers.insert(
        "x-original-routing-key".into(),
        AMQPValue::LongString(delivery.routing_key.as_str().into()),
    );
    headers.insert(
        "x-original-exchange".into(),
        AMQPValue::LongString(delivery.exchange.as_str().into()),
    );
    let props = delivery
        .properties
        .clone()
        .with_headers(headers)
        .with_delivery_mode(2);
    amqp::publish_confirmed(
        ch,
        &ctx.config.dead_exchange(),
        delivery.routing_key.as_str(),
        &delivery.data,
        props,
    )
    .await?;
    let command_id = prop(delivery.properties.message_id()).to_string();
    let reply = Reply::rejected(
        &command_id,
        None,
        Rejection::new(
            ReasonCode::InvalidField,
            format!("message dead-lettered: {reason}"),
        ),
    );
    send_reply(ch, delivery, &reply).await;
    delivery.acker.ack(BasicAckOptions::default()).await?;
    Ok(())
}
