//! `GET /health` (the process answers) and `GET /ready` (PostgreSQL and
//! RabbitMQ answer too, and whether workers read each stage's queue).
//! Neither needs authentication.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use mediadist_domain::catalog::Stage;
use serde_json::json;
use std::time::Duration;

pub async fn health() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// 503 when PostgreSQL or RabbitMQ does not answer. With both up but a stage
/// nobody consumes, `degraded` (200: reads still work, and changes wait in
/// their queue and answer 202 until a worker starts).
pub async fn ready(State(state): State<AppState>) -> Response {
    let limit = Duration::from_secs(3);
    let db = tokio::time::timeout(limit, sqlx::query("SELECT 1").execute(&state.pool)).await;
    let postgres = matches!(db, Ok(Ok(_)));
    let mq = tokio::time::timeout(limit, state.broker.client()).await;
    let mut idle = Vec::new();
    let rabbitmq = match mq {
        Ok(Ok(client)) => {
            for stage in Stage::ALL {
                let queue = state.config.stage_queue(stage);
                match tokio::time::timeout(limit, client.consumers(&queue)).await {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => idle.push(stage.name()),
                }
            }
            true
        }
        _ => false,
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let workers = match (rabbitmq, idle.is_empty()) {
        (false, _) => "unknown".to_string(),
        (true, true) => "ok".to_string(),
        (true, false) => format!("no worker reads {}", idle.join(", ")),
    };
    let (status, word_all) = match (postgres && rabbitmq, idle.is_empty()) {
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        (true, true) => (StatusCode::OK, "ready"),
        (true, false) => (StatusCode::OK, "degraded"),
    };
    let body = json!({
        "status": word_all,
        "checks": { "postgres": word(postgres), "rabbitmq": word(rabbitmq), "workers": workers },
    });
    (status, Json(body)).into_response()
}
