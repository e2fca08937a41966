//! The mediadist HTTP API. Queries read PostgreSQL directly; every change is
//! a command sent through RabbitMQ and answered through the reply queue, so
//! the domain's rules apply exactly as they do at the kiosk.
//!
//! Paths, methods and field names follow the seed's contract
//! (../shared/API-COMPAT.md); mediadist's own endpoints sit beside them.

pub mod access;
pub mod auth;
pub mod body;
pub mod broker;
pub mod cors;
pub mod distributions;
pub mod health;
pub mod openapi;
pub mod problem;
pub mod query;
pub mod records;
pub mod shape;
pub mod stats;

use anyhow::Context as _;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use broker::Broker;
use mediadist_platform::{db, Config, Shutdown};
use problem::Problem;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the API can be tuned by (tests shorten the command timeout).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long to wait for a worker's answer before answering 202.
    pub command_timeout: Duration,
    pub access_ttl: chrono::Duration,
    pub refresh_ttl: chrono::Duration,
    /// Browser origins allowed to call the API (CORS); none by default.
    pub cors_origins: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            command_timeout: broker::DEFAULT_COMMAND_TIMEOUT,
            access_ttl: chrono::Duration::hours(8),
            refresh_ttl: chrono::Duration::days(7),
            cors_origins: Vec::new(),
        }
    }
}

impl Settings {
    /// The defaults, with `MEDIADIST_API_CORS_ORIGINS` (comma-separated origins).
    pub fn from_env() -> Self {
        Settings {
            cors_origins: cors::origins(
                &std::env::var("MEDIADIST_API_CORS_ORIGINS").unwrap_or_default(),
            ),
            ..Settings::default()
        }
    }
}

pub struct Inner {
    pub config: Config,
    pub pool: PgPool,
    pub broker: Broker,
    pub settings: Settings,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(config: Config, pool: PgPool, settings: Settings) -> Self {
        let broker = Broker::new(config.clone());
        AppState(Arc::new(Inner {
            config,
            pool,
            broker,
            settings,
        }))
    }
}

/// Registers `path` (ending in `/`, as the seed's clients send it) and the
/// same path without the slash.
fn both(r: Router<AppState>, path: &str, m: MethodRouter<AppState>) -> Router<AppState> {
    let bare = path.trim_end_matches('/');
    r.route(path, m.clone()).route(bare, m)
}

async fn not_found() -> Problem {
    Problem::not_found("no such endpoint")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
    .code("METHOD_NOT_ALLOWED")
}

/// One line per request: method, the route (`/api/media-distributions/{id}/`,
/// never the path or query as sent: they may hold a name or an IC number),
/// status, time.
async fn log_requests(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(no route)".to_string());
    let started = Instant::now();
    let res = next.run(req).await;
    tracing::info!(
        target: "mediadist_api::http",
        %method,
        path,
        status = res.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    res
}

pub fn router(state: AppState) -> Router {
    use distributions as d;
    let md = "/api/media-distributions";
    let mut r = Router::new()
        .route("/health", get(health::health))
        .route("/health/", get(health::health))
        .route("/ready", get(health::ready))
        .route("/ready/", get(health::ready))
        .route("/api/openapi.json", get(openapi::openapi));
    r = both(r, "/api/auth/login/", post(auth::login));
    r = both(r, "/api/auth/logout/", post(auth::logout));
    r = both(r, "/api/token/", post(auth::token_obtain));
    r = both(r, "/api/token/refresh/", post(auth::token_refresh));
    r = both(r, &format!("{md}/"), get(d::list).post(d::create));
    r = both(r, &format!("{md}/pending/"), get(d::pending));
    r = both(r, &format!("{md}/ready/"), get(d::ready));
    r = both(r, &format!("{md}/stats/"), get(stats::stats));
    r = both(
        r,
        &format!("{md}/{{id}}/"),
        get(d::detail)
            .patch(d::update)
            .put(d::update)
            .delete(d::delete),
    );
    r = both(
        r,
        &format!("{md}/{{id}}/start-preparing/"),
        post(d::start_preparing).patch(d::start_preparing),
    );
    r = both(
        r,
        &format!("{md}/{{id}}/mark-ready/"),
        post(d::mark_ready).patch(d::mark_ready),
    );
    r = both(
        r,
        &format!("{md}/{{id}}/collect/"),
        post(d::collect).patch(d::collect),
    );
    r = both(
        r,
        &format!("{md}/{{id}}/cancel/"),
        post(d::cancel).patch(d::cancel),
    );
    r = both(
        r,
        &format!("{md}/{{id}}/restore/"),
        post(d::restore).patch(d::restore),
    );
    r = both(
        r,
        &format!("{md}/{{id}}/reprint-slip/"),
        post(d::reprint_slip),
    );
    r = both(r, &format!("{md}/{{id}}/audit/"), get(records::audit));
    r = both(r, "/api/commands/{id}/", get(d::command_outcome));
    r = both(r, "/api/patients/", get(records::search_patients));
    r = both(
        r,
        "/api/patients/{id}/studies/",
        get(records::patient_studies),
    );
    r = both(
        r,
        "/api/patients/{id}/disclosures/",
        get(records::disclosures),
    );
    r.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), cors::cors))
        .layer(middleware::from_fn(log_requests))
        .with_state(state)
}

/// The API's pool, after the schema is brought up to date. Its connections
/// plan every statement for its values (`plan_cache_mode =
/// force_custom_plan`): a generic plan cannot know that `status = READY` is
/// rare or that `id <= as_of` keeps every row, and picked scans several
/// times slower for the list's filters.
pub async fn connect_pool(database_url: &str, max: u32) -> anyhow::Result<PgPool> {
    db::connect_and_migrate(database_url, 1)
        .await?
        .close()
        .await;
    let opts = PgConnectOptions::from_str(database_url)?
        .options([("plan_cache_mode", "force_custom_plan")])
        .log_statements(tracing::log::LevelFilter::Trace);
    Ok(PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts)
        .await?)
}

/// Serves the API on `config.api_addr` until shutdown.
pub async fn run(config: Config, mut shutdown: Shutdown) -> anyhow::Result<()> {
    let pool = connect_pool(&config.database_url, 8).await?;
    let listener = tokio::net::TcpListener::bind(&config.api_addr)
        .await
        .with_context(|| format!("cannot listen on {} (MEDIADIST_API_ADDR)", config.api_addr))?;
    let state = AppState::new(config, pool, Settings::from_env());
    if let Err(e) = state.broker.client().await {
        tracing::warn!(error = %e, "message broker not reachable yet; commands will retry connecting");
    }
    tracing::info!(addr = %listener.local_addr()?, "HTTP API listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await?;
    state.broker.close().await;
    tracing::info!("HTTP API stopped");
    Ok(())
}
