//! The retained `<ns>/board/ready` topic: what waiting-room displays and
//! handover kiosks show. Reference and masked name only.

use anyhow::Context as _;
use mediadist_domain::names::mask_name;
use mediadist_domain::Reference;
use mediadist_platform::{mqtt, Config};
use rumqttc::AsyncClient;
use sqlx::{PgPool, Row};

pub fn affects_board(event_type: &str) -> bool {
    [".ready.", ".collected.", ".cancelled.", ".deleted."]
        .iter()
        .any(|s| event_type.contains(s))
}

pub async fn publish(pool: &PgPool, mqtt: &AsyncClient, config: &Config) -> anyhow::Result<()> {
    let rows = sqlx::query(
        "SELECT d.id, p.name, d.media_type, d.quantity, d.ready_at FROM media_distributions d
         JOIN patients p ON p.id = d.patient_id WHERE d.status = 'READY' AND d.deleted_at IS NULL ORDER BY d.ready_at, d.id LIMIT 500",
    )
    .fetch_all(pool)
    .await?;
    let items: Vec<_> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "reference": Reference::from_id(r.get("id")).to_string(),
                "name": mask_name(r.get("name")),
                "media_type": r.get::<String, _>("media_type"),
                "quantity": r.get::<i32, _>("quantity"),
                "ready_at": r.get::<Option<chrono::DateTime<chrono::Utc>>, _>("ready_at"),
            })
        })
        .collect();
    let body = serde_json::to_vec(
        &serde_json::json!({ "ready": items, "updated_at": chrono::Utc::now() }),
    )?;
    mqtt.publish(
        format!("{}/board/ready", config.namespace),
        mqtt::QOS,
        true,
        body,
    )
    .await
    .context("mqtt board")?;
    Ok(())
}
