//! One test's world: its own database (created, migrated, dropped) and its
//! own message namespace on the machine's PostgreSQL and RabbitMQ. No
//! mediadist workers run; a test that needs answers starts a scripted
//! [`FakeWorker`] on a stage queue and sees exactly what was sent.

#![allow(dead_code)]

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::BasicProperties;
use mediadist_domain::catalog::Stage;
use mediadist_domain::envelope::CloudEvent;
use mediadist_domain::reply::Reply;
use mediadist_domain::SlipKey;
use mediadist_kiosk::station::{Mode, Station};
use mediadist_kiosk::{KioskError, StationSummary};
use mediadist_platform::client::CommandClient;
use mediadist_platform::{amqp, db, Config};
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const PATIENT_NAME: &str = "Ahmad bin Ali";
pub const PATIENT_IC: &str = "850612145523";

pub struct TestEnv {
    pub cfg: Config,
    pub pool: PgPool,
    pub client: CommandClient,
    /// The secret behind `cfg.slip_key`, for the binary's MEDIADIST_SLIP_KEY.
    pub slip_secret: String,
    db_name: String,
    stopped: bool,
    patient_id: i64,
    staff_id: i64,
}

fn admin_url() -> String {
    std::env::var("MEDIADIST_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestEnv {
    pub async fn start() -> TestEnv {
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let db_name = format!("kiosk_test_{suffix}");
        let mut cfg = Config::from_env().expect("config");
        // Two consumers per stage keep parallel tests within PostgreSQL's connection limit.
        cfg.consumers = 2;
        let base = admin_url();
        let server = base
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(base);
        cfg.database_url = format!("{server}/{db_name}");
        cfg.namespace = format!("kiosk-t{suffix}");
        let slip_secret = format!("kiosk-test-key-{suffix}");
        cfg.slip_key = SlipKey::new(slip_secret.as_bytes());
        cfg.hospital_name = "Hospital Test Radiology".into();
        let pool = db::connect_and_migrate(&cfg.database_url, 4)
            .await
            .expect("database");
        let client = CommandClient::connect(&cfg, "kiosk/test")
            .await
            .expect("broker");
        for (user, role, active) in [
            ("rad1", "RADIOGRAPHER", true),
            ("desk1", "RECEPTION", true),
            ("clerk1", "CLERK", true),
            ("gone1", "RADIOGRAPHER", false),
        ] {
            sqlx::query(
                "INSERT INTO staff (username, full_name, role, active) VALUES ($1, $2, $3, $4)",
            )
            .bind(user)
            .bind(format!("Synthetic {user}"))
            .bind(role)
            .bind(active)
            .execute(&pool)
            .await
            .expect("staff");
        }
        let staff_id: i64 = sqlx::query_scalar("SELECT id FROM staff WHERE username = 'desk1'")
            .fetch_one(&pool)
            .await
            .expect("staff id");
        let patient_id: i64 = sqlx::query_scalar(
            "INSERT INTO patients (mrn, name, ic) VALUES ('MRN-1', $1, $2) RETURNING id",
        )
        .bind(PATIENT_NAME)
        .bind(PATIENT_IC)
        .fetch_one(&pool)
        .await
        .expect("patient");
        TestEnv {
            cfg,
            pool,
            client,
            slip_secret,
            db_name,
            stopped: false,
            patient_id,
            staff_id,
        }
    }

    /// Inserts a distribution straight into the table, in `status`, with
    /// the columns that status requires. Requested 2026-12-03 12:00 UTC.
    pub async fn distribution(&self, status: &str, shelf: Option<&str>, slip_version: i32) -> i64 {
        let collected = status == "COLLECTED";
        sqlx::query_scalar(
            "INSERT INTO media_distributions
               (patient_id, request_date, media_type, quantity, status, urgency, requester_type, requested_by_id,
                storage_location, slip_version, cancellation_reason,
                collected_by, collected_by_doc_type, collected_by_ic, relationship_to_patient,
                collection_datetime, handed_over_by_id)
             VALUES ($1, '2026-12-03T12:00:00Z', 'CD', 1, $2, 'URGENT', 'PATIENT', $3, $4, $5,
                     CASE WHEN $2 = 'CANCELLED' THEN 'test' END,
                     CASE WHEN $6 THEN 'Synthetic Collector' END, CASE WHEN $6 THEN 'MYKAD' END,
                     CASE WHEN $6 THEN '900101141235' END, CASE WHEN $6 THEN 'SELF' END,
                     CASE WHEN $6 THEN '2026-12-04T09:30:00Z'::timestamptz END, CASE WHEN $6 THEN $3 END)
             RETURNING id",
        )
        .bind(self.patient_id)
        .bind(status)
        .bind(self.staff_id)
        .bind(shelf)
        .bind(slip_version)
        .bind(collected)
        .fetch_one(&self.pool)
        .await
        .expect("distribution")
    }

    /// Runs a station over `input` with a short reply timeout; returns what
    /// it returned and every line it wrote.
    pub async fn station(
        &self,
        mode: Mode,
        operator: &str,
        input: impl AsRef<[u8]>,
    ) -> (Result<StationSummary, KioskError>, Vec<String>) {
        let mut out = Vec::new();
        let result = Station::new(&self.cfg, &self.pool, &self.client, mode, operator)
            .with_reply_timeout(Duration::from_millis(700))
            .run(input.as_ref(), &mut out)
            .await;
        let text = String::from_utf8(out).expect("utf-8 output");
        (result, text.lines().map(str::to_string).collect())
    }

    /// A station whose operator signs in with a PIN first; the whole output.
    pub async fn station_signing_in(
        &self,
        mode: Mode,
        input: &str,
    ) -> (Result<StationSummary, KioskError>, String) {
        let mut out = Vec::new();
        let result = Station::new(&self.cfg, &self.pool, &self.client, mode, "")
            .with_pin_sign_in(Duration::from_secs(60))
            .run(input.as_bytes(), &mut out)
            .await;
        (result, String::from_utf8(out).expect("utf-8 output"))
    }

    /// Messages waiting in a stage's queue (sent and not consumed).
    pub async fn queued(&self, stage: Stage) -> u32 {
        let conn = amqp::connect(&self.cfg.amqp_url, "kiosk-test-count")
            .await
            .expect("broker");
        let ch = conn.create_channel().await.expect("channel");
        let q = ch
            .queue_declare(
                &self.cfg.stage_queue(stage),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("queue");
        let _ = conn.close(200, "bye").await;
        q.message_count()
    }

    pub async fn stop(mut self) {
        self.stopped = true;
        self.pool.close().await;
        // Dropping the client closes its connection; the namespace and the
        // database go in `cleanup`.
        cleanup(self.cfg.clone(), self.db_name.clone()).await;
    }
}

/// Removes a test's namespace and database. Also run from `Drop`, so a
/// failing assertion does not leave them behind.
async fn cleanup(cfg: Config, db_name: String) {
    if let Ok(conn) = amqp::connect(&cfg.amqp_url, "kiosk-test-cleanup").await {
        if let Ok(ch) = conn.create_channel().await {
            let _ = amqp::delete_topology(&ch, &cfg).await;
        }
        let _ = conn.close(200, "bye").await;
    }
    if let Ok(admin) = db::connect(&admin_url(), 1).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
            .execute(&admin)
            .await;
        admin.close().await;
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let (cfg, db_name) = (self.cfg.clone(), self.db_name.clone());
        // Its own thread and runtime: we may be inside the test's runtime.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(cleanup(cfg, db_name));
            }
        })
        .join();
    }
}

/// A stand-in for a stage worker: consumes the stage's queue, records each
/// command's type and data, and answers with whatever `answer` says.
pub struct FakeWorker {
    pub received: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    conn: lapin::Connection,
}

impl FakeWorker {
    pub async fn start<F>(cfg: &Config, stage: Stage, answer: F) -> FakeWorker
    where
        F: Fn(&CloudEvent) -> Reply + Send + 'static,
    {
        let conn = amqp::connect(&cfg.amqp_url, "kiosk-test-fake-worker")
            .await
            .expect("broker");
        let ch = conn.create_channel().await.expect("channel");
        let mut deliveries = ch
            .basic_consume(
                &cfg.stage_queue(stage),
                "fake",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        let received: Arc<Mutex<Vec<(String, serde_json::Value)>>> = Arc::default();
        let seen = received.clone();
        tokio::spawn(async move {
            while let Some(Ok(d)) = deliveries.next().await {
                let ev: CloudEvent = serde_json::from_slice(&d.data).expect("a CloudEvent");
                seen.lock()
                    .expect("lock")
                    .push((ev.kind.clone(), ev.data.clone()));
                let reply = answer(&ev);
                let reply_to = d.properties.reply_to().clone().expect("reply_to");
                let corr = d
                    .properties
                    .correlation_id()
                    .clone()
                    .expect("correlation id");
                let body = serde_json::to_vec(&reply).expect("json");
                ch.basic_publish(
                    "",
                    reply_to.as_str(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default()
                        .with_correlation_id(ShortString::from(corr.as_str())),
                )
                .await
                .expect("reply");
                d.ack(BasicAckOptions::default()).await.expect("ack");
            }
        });
        FakeWorker { received, conn }
    }

    pub fn received(&self) -> Vec<(String, serde_json::Value)> {
        self.received.lock().expect("lock").clone()
    }

    pub async fn stop(self) {
        let _ = self.conn.close(200, "bye").await;
    }
}
