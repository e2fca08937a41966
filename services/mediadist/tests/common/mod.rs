//! A whole mediadist in-process for one test: its own database and its own
//! message namespace on the machine's real PostgreSQL, RabbitMQ and
//! Mosquitto, so tests run in parallel and never see each other's messages.

#![allow(dead_code)]

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use mediadist_platform::client::CommandClient;
use mediadist_platform::shutdown::ShutdownTrigger;
use mediadist_platform::{amqp, db, Config, Shutdown};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::mpsc;

pub struct TestEnv {
    pub config: Config,
    pub pool: PgPool,
    pub client: CommandClient,
    trigger: ShutdownTrigger,
    services: tokio::task::JoinHandle<anyhow::Result<()>>,
    db_name: String,
}

fn admin_url() -> String {
    std::env::var("MEDIADIST_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestEnv {
    pub async fn start() -> TestEnv {
        TestEnv::start_with(|_| {}).await
    }

    /// Like `start`, with a last say on the configuration (e.g. more
    /// consumers per service) before anything connects.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestEnv {
        // Service logs only when asked: RUST_LOG=info cargo test ...
        if std::env::var_os("RUST_LOG").is_some() {
            mediadist_platform::telemetry::init(false);
        }
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let db_name = format!("md_test_{suffix}");
        let mut config = Config::from_env().expect("config");
        // Two consumers per stage keep parallel tests within PostgreSQL's connection limit.
        config.consumers = 2;
        let base = admin_url();
        config.database_url = format!(
            "{}/{db_name}",
            base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base)
        );
        config.namespace = format!("t{suffix}");
        config.slip_key = mediadist_domain::SlipKey::new(format!("test-key-{suffix}").as_bytes());
        adjust(&mut config);
        let pool = db::connect_and_migrate(&config.database_url, 5)
            .await
            .expect("database");
        let (trigger, shutdown) = Shutdown::new();
        let services = tokio::spawn(mediadist::up::run_all(config.clone(), shutdown));
        let client = CommandClient::connect(&config, "test")
            .await
            .expect("broker");
        TestEnv {
            config,
            pool,
            client,
            trigger,
            services,
            db_name,
        }
    }

    pub async fn add_staff(&self, username: &str, role: &str) {
        mediadist::staff::add(&self.pool, username, &format!("Synthetic {username}"), role)
            .await
            .expect("staff");
    }

    /// Stops the services, then removes the namespace and the database.
    pub async fn stop(self) {
        self.trigger.trigger();
        let stopped = tokio::time::timeout(Duration::from_secs(20), self.services).await;
        assert!(
            matches!(stopped, Ok(Ok(Ok(())))),
            "services did not stop cleanly: {stopped:?}"
        );
        self.client.close().await;
        if let Ok(conn) = amqp::connect(&self.config.amqp_url, "test-cleanup").await {
            if let Ok(ch) = conn.create_channel().await {
                let _ = amqp::delete_topology(&ch, &self.config).await;
            }
            let _ = conn.close(200, "bye").await;
        }
        self.pool.close().await;
        if let Ok(admin) = db::connect(&admin_url(), 1).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.db_name
            ))
            .execute(&admin)
            .await;
        }
    }
}

/// A message as an outside subscriber saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub topic: String,
    pub body: serde_json::Value,
}

/// An independent subscriber: its own exclusive queue bound to every event.
pub async fn subscribe_events(config: &Config) -> mpsc::UnboundedReceiver<Seen> {
    let conn = amqp::connect(&config.amqp_url, "test-subscriber")
        .await
        .expect("broker");
    let ch = conn.create_channel().await.expect("channel");
    amqp::declare_topology(&ch, config).await.expect("topology");
    let q = ch
        .queue_declare(
            "",
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("queue");
    ch.queue_bind(
        q.name().as_str(),
        &config.events_exchange(),
        "#",
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("bind");
    let mut consumer = ch
        .basic_consume(
            q.name().as_str(),
            "sub",
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _conn = conn;
        while let Some(Ok(d)) = consumer.next().await {
            let body = serde_json::from_slice(&d.data).unwrap_or(serde_json::Value::Null);
            if tx
                .send(Seen {
                    topic: d.routing_key.to_string(),
                    body,
                })
                .is_err()
            {
                break;
            }
        }
    });
    rx
}

/// An MQTT subscriber to the namespace's events and board.
pub async fn subscribe_mqtt(config: &Config) -> (AsyncClient, mpsc::UnboundedReceiver<Seen>) {
    let opts = mediadist_platform::mqtt::options(
        &config.mqtt_url,
        &format!("{}-test-sub", config.namespace),
    )
    .expect("mqtt url");
    let (client, mut eventloop) = AsyncClient::new(opts, 64);
    client
        .subscribe(format!("{}/events/#", config.namespace), QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    client
        .subscribe(
            format!("{}/board/ready", config.namespace),
            QoS::AtLeastOnce,
        )
        .await
        .expect("subscribe");
    let (tx, rx) = mpsc::unbounded_channel();
    let (subscribed_tx, mut subscribed_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let body =
                        serde_json::from_slice(&p.payload).unwrap_or(serde_json::Value::Null);
                    if tx
                        .send(Seen {
                            topic: p.topic.clone(),
                            body,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = subscribed_tx.send(());
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), subscribed_rx.recv())
            .await
            .expect("MQTT suback");
    }
    (client, rx)
}

/// Receives until `done` says the collected messages are complete, or fails
/// after `within`.
pub async fn collect_until(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    within: Duration,
    mut done: impl FnMut(&[Seen]) -> bool,
) -> Vec<Seen> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while !done(&seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(m)) => seen.push(m),
            _ => panic!(
                "timed out; saw {} messages: {:#?}",
                seen.len(),
                seen.iter().map(|s| &s.topic).collect::<Vec<_>>()
            ),
        }
    }
    seen
}
