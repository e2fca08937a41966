//! A whole mediadist for one test, in-process: its own database and message
//! namespace on the machine's real PostgreSQL and RabbitMQ, the workers
//! running (`mediadist::up::run_all`), and the API's router driven through
//! `tower::ServiceExt::oneshot` with real bearer tokens.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use mediadist_api::{AppState, Settings};
use mediadist_domain::catalog::CommandType;
use mediadist_domain::reply::Outcome;
use mediadist_platform::shutdown::ShutdownTrigger;
use mediadist_platform::{amqp, db, Config, Shutdown};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::time::Duration;
use tower::ServiceExt;

pub const PASSWORD: &str = "synthetic-pass-1";

pub struct TestApi {
    pub config: Config,
    pub pool: PgPool,
    pub state: AppState,
    pub router: Router,
    trigger: ShutdownTrigger,
    shutdown: Shutdown,
    services: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    db_name: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Answer {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn admin_url() -> String {
    std::env::var("MEDIADIST_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestApi {
    pub async fn start() -> TestApi {
        TestApi::start_with(true, Settings::default()).await
    }

    /// `workers: false` leaves commands unanswered (the 202 path) until
    /// `start_workers`.
    pub async fn start_with(workers: bool, settings: Settings) -> TestApi {
        if std::env::var_os("RUST_LOG").is_some() {
            mediadist_platform::telemetry::init(false);
        }
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let db_name = format!("md_api_{suffix}");
        let mut config = Config::from_env().expect("config");
        config.consumers = 1;
        let base = admin_url();
        config.database_url = format!(
            "{}/{db_name}",
            base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base)
        );
        config.namespace = format!("a{suffix}");
        config.slip_key = mediadist_domain::SlipKey::new(format!("test-key-{suffix}").as_bytes());
        let pool = mediadist_api::connect_pool(&config.database_url, 4)
            .await
            .expect("database");
        let (trigger, shutdown) = Shutdown::new();
        let state = AppState::new(config.clone(), pool.clone(), settings);
        // Declares the topology, so commands sent before the workers start wait in their queues.
        state.broker.client().await.expect("broker");
        let router = mediadist_api::router(state.clone());
        let mut api = TestApi {
            config,
            pool,
            state,
            router,
            trigger,
            shutdown,
            services: None,
            db_name,
        };
        if workers {
            api.start_workers();
        }
        api
    }

    pub fn start_workers(&mut self) {
        self.services = Some(tokio::spawn(mediadist::up::run_all(
            self.config.clone(),
            self.shutdown.clone(),
        )));
    }

    /// A member of staff with the test password, through `mediadist staff add`'s code.
    pub async fn add_staff(&self, username: &str, role: &str) {
        mediadist::staff::add_with_password(
            &self.pool,
            username,
            &format!("Synthetic {username}"),
            role,
            Some(PASSWORD),
        )
        .await
        .expect("staff");
    }

    /// The usual desk: clerk1, rad1, desk1, admin1.
    pub async fn staffed() -> TestApi {
        let api = TestApi::start().await;
        for (u, r) in [
            ("clerk1", "CLERK"),
            ("rad1", "RADIOGRAPHER"),
            ("desk1", "RECEPTION"),
            ("admin1", "ADMIN"),
        ] {
            api.add_staff(u, r).await;
        }
        api
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.call_with(method, path, token, &[], body.map(|b| b.to_string()))
            .await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "api.test");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b)),
            None => req.body(Body::empty()),
        }
        .expect("request");
        let res = self.router.clone().oneshot(req).await.expect("response");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
            .await
            .expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn login(&self, username: &str) -> String {
        let a = self
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        a.body["token"].as_str().expect("token").to_string()
    }

    /// A synthetic patient with one study (through the register-study
    /// command, as an import would); returns (study id, study UID).
    pub async fn register(
        &self,
        n: u32,
        ic: Option<&str>,
        name: &str,
        date: &str,
    ) -> (i64, String) {
        let uid = format!("1.2.826.0.1.3680043.10.{n}");
        let data = json!({
            "patient": { "mrn": format!("SYN{n:05}"), "name": name, "ic": ic },
            "study": { "uid": uid, "accession_number": format!("ACC{n}"), "study_date": date,
                       "description": format!("CT study {n}"), "modalities": ["CT"] },
            "examinations": [{ "series_uid": format!("{uid}.1"), "modality": "CT", "instance_count": 10 }]
        });
        let client = self.state.broker.client().await.expect("broker");
        let r = client
            .send(CommandType::RegisterStudy, data, Duration::from_secs(15))
            .await
            .expect("answer");
        assert_eq!(r.outcome, Outcome::Accepted, "{r:?}");
        let id: i64 = sqlx::query_scalar("SELECT id FROM studies WHERE study_uid = $1")
            .bind(&uid)
            .fetch_one(&self.pool)
            .await
            .expect("study");
        (id, uid)
    }

    /// Stops the workers, then removes the namespace and the database.
    pub async fn stop(self) {
        self.trigger.trigger();
        if let Some(services) = self.services {
            let stopped = tokio::time::timeout(Duration::from_secs(20), services).await;
            assert!(
                matches!(stopped, Ok(Ok(Ok(())))),
                "services did not stop cleanly: {stopped:?}"
            );
        }
        self.state.broker.close().await;
        drop(self.router);
        drop(self.state);
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
