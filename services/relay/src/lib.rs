//! The outbox relay: publishes committed events to the events exchange with
//! publisher confirms, marks them published, mirrors them to MQTT and keeps
//! the retained READY board current. Woken by LISTEN/NOTIFY.

mod board;

use anyhow::Context as _;
use lapin::Channel;
use mediadist_platform::{amqp, db, mqtt, Config, Shutdown};
use rumqttc::AsyncClient;
use sqlx::postgres::PgListener;
use sqlx::{PgPool, Row};
use std::time::{Duration, Instant};
use tracing::{info, warn};

const BATCH: i64 = 500;
/// A safety net only: NOTIFY is what wakes the relay.
const IDLE_RECHECK: Duration = Duration::from_secs(30);
/// The shortest time between two rebuilds of the retained READY board.
const BOARD_EVERY: Duration = Duration::from_millis(250);

pub async fn run(config: Config, mut shutdown: Shutdown) -> anyhow::Result<()> {
    let pool = db::connect_and_migrate(&config.database_url, 3).await?;
    let (mqtt, _connected) = mqtt::connect(
        &config.mqtt_url,
        &format!("{}-relay-{}", config.namespace, std::process::id()),
    )?;
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_triggered() {
        let started = std::time::Instant::now();
        match serve(&config, &pool, &mqtt, shutdown.clone()).await {
            Ok(()) => break,
            Err(e) => {
                // A connection that served a while starts its retries afresh.
                if started.elapsed() > Duration::from_secs(30) {
                    backoff = Duration::from_millis(200);
                }
                warn!(error = %format!("{e:#}"), "relay interrupted; retrying in {backoff:?}");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    let _ = mqtt.disconnect().await;
    info!("relay stopped");
    Ok(())
}

async fn serve(
    config: &Config,
    pool: &PgPool,
    mqtt: &AsyncClient,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let mut listener = PgListener::connect_with(pool).await.context("listen")?;
    listener
        .listen("mediadist_outbox")
        .await
        .context("listen")?;
    let conn = amqp::connect(&config.amqp_url, "mediadist-relay")
        .await
        .context("broker")?;
    let ch = amqp::confirm_channel(&conn).await?;
    amqp::declare_topology(&ch, config).await?;
    info!(exchange = %config.events_exchange(), "relay publishing");
    board::publish(pool, mqtt, config).await?;
    let mut last_board = Instant::now();
    let mut board_dirty = false;
    loop {
        // Drain everything committed so far, then sleep until the next NOTIFY.
        loop {
            let (count, changed) = relay_batch(pool, &ch, mqtt, config).await?;
            board_dirty |= changed;
            if count < BATCH as usize {
                break;
            }
        }
        // Displays need the board fresh, not once per event: under load it
        // is rebuilt at most every BOARD_EVERY.
        if board_dirty && last_board.elapsed() >= BOARD_EVERY {
            board::publish(pool, mqtt, config).await?;
            (board_dirty, last_board) = (false, Instant::now());
        }
        let wait = if board_dirty {
            BOARD_EVERY.saturating_sub(last_board.elapsed())
        } else {
            IDLE_RECHECK
        };
        tokio::select! {
            n = listener.recv() => {
                n.context("listen")?;
                // One drain answers every commit notified so far.
                while listener.next_buffered().is_some() {}
            }
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait() => {
                let _ = conn.close(200, "bye").await;
                return Ok(());
            }
        }
    }
}

/// Publishes one batch of unpublished events, in order, and marks them.
/// A crash between publish and mark publishes again: at-least-once, and
/// subscribers dedupe on the event id. Returns how many, and whether the
/// READY board changed.
async fn relay_batch(
    pool: &PgPool,
    ch: &Channel,
    mqtt: &AsyncClient,
    config: &Config,
) -> anyhow::Result<(usize, bool)> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "SELECT id, event_id, event_type, payload FROM outbox WHERE published_at IS NULL
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok((0, false));
    }
    let mut confirms = Vec::with_capacity(rows.len());
    let mut ids = Vec::with_capacity(rows.len());
    let mut board_changed = false;
    for row in &rows {
        let event_id: uuid::Uuid = row.get("event_id");
        let event_type: String = row.get("event_type");
        let payload: serde_json::Value = row.get("payload");
        let body = serde_json::to_vec(&payload)?;
        let props =
            amqp::json_properties(&event_id.to_string()).with_type(event_type.as_str().into());
        let confirm = ch
            .basic_publish(
                &config.events_exchange(),
                &event_type,
                Default::default(),
                &body,
                props,
            )
            .await?;
        confirms.push(confirm);
        mqtt.publish(
            format!("{}/events/{event_type}", config.namespace),
            mqtt::QOS,
            false,
            body,
        )
        .await
        .context("mqtt")?;
        board_changed |= board::affects_board(&event_type);
        ids.push(row.get::<i64, _>("id"));
    }
    for confirm in confirms {
        if confirm.await?.is_nack() {
            anyhow::bail!("broker refused an event (negative confirm); it stays in the outbox");
        }
    }
    sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::debug!(count = ids.len(), "events relayed");
    Ok((ids.len(), board_changed))
}
