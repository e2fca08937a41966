//! `GET /health` (the process answers) and `GET /ready` (PostgreSQL and
//! RabbitMQ answer too). Neither needs authentication.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::time::Duration;

pub async fn health() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

pub async fn ready(State(state): State<AppState>) -> Response {
    let limit = Duration::from_secs(3);
    let db = tokio::time::timeout(limit, sqlx::query("SELECT 1").execute(&state.pool)).await;
    let postgres = matches!(db, Ok(Ok(_)));
    let mq = tokio::time::timeout(limit, state.broker.client()).await;
    let rabbitmq = matches!(mq, Ok(Ok(_)));
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = json!({
        "status": if postgres && rabbitmq { "ready" } else { "not ready" },
        "checks": { "postgres": word(postgres), "rabbitmq": word(rabbitmq) },
    });
    let status = if postgres && rabbitmq {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
