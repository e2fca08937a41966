//! The poison a fault run injects while it works: messages no worker can
//! understand, which must end in the dead-letter queue with a reason and
//! nowhere else.

use mediadist_platform::{amqp, Config};

/// The `k`th poison message: (message id, routing key, body).
pub fn message(run: &str, k: usize) -> (String, String, Vec<u8>) {
    let id = format!("poison-{run}-{k}");
    let event = |kind: &str, data: serde_json::Value| {
        serde_json::to_vec(&serde_json::json!({
            "specversion": "1.0", "id": id, "source": "proof/poison", "type": kind,
            "time": "2026-12-03T10:00:00Z", "data": data
        }))
        .unwrap_or_default()
    };
    let (key, body) = match k % 6 {
        0 => ("intake.request-media", b"{not json".to_vec()),
        1 => ("preparation.start-preparing", vec![0xff, 0xfe, b'{', 0x80]),
        2 => (
            "intake.request-media",
            event("org.mediadist.command.teleport.v1", serde_json::json!({})),
        ),
        3 => (
            "intake.request-media",
            event(
                "org.mediadist.command.request-media.v9",
                serde_json::json!({}),
            ),
        ),
        // A handover routed to the intake queue: not intake's to apply.
        4 => (
            "intake.handover",
            event(
                "org.mediadist.command.handover.v1",
                serde_json::json!({"target": {"distribution_id": 1}}),
            ),
        ),
        _ => (
            "collection.handover",
            event(
                "org.mediadist.command.handover.v1",
                serde_json::json!({"target": "not an object"}),
            ),
        ),
    };
    (id, key.to_string(), body)
}

/// Publishes one poison message with confirms on a short-lived connection.
pub async fn inject(config: &Config, id: &str, key: &str, body: &[u8]) -> anyhow::Result<()> {
    let conn = amqp::connect(&config.amqp_url, "proof-poison").await?;
    let ch = amqp::confirm_channel(&conn).await?;
    let sent = amqp::publish_confirmed(
        &ch,
        &config.commands_exchange(),
        key,
        body,
        amqp::json_properties(id),
    )
    .await;
    let _ = conn.close(200, "bye").await;
    Ok(sent?)
}
