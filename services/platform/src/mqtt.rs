//! MQTT (rumqttc): one client, its event loop driven in a task.

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::time::Duration;
use tokio::sync::watch;

/// Parses `mqtt://host:port`.
pub fn options(url: &str, client_id: &str) -> anyhow::Result<MqttOptions> {
    let rest = url.strip_prefix("mqtt://").unwrap_or(url);
    let (host, port) = rest.rsplit_once(':').unwrap_or((rest, "1883"));
    let port: u16 = port
        .trim_end_matches('/')
        .parse()
        .map_err(|_| anyhow::anyhow!("MQTT_URL {url}: bad port"))?;
    let mut opts = MqttOptions::new(client_id, host, port);
    opts.set_keep_alive(Duration::from_secs(15));
    opts.set_max_packet_size(256 * 1024, 256 * 1024);
    Ok(opts)
}

/// A connected client; its event loop runs until the client is dropped.
/// `connected` turns true at each CONNACK.
pub fn connect(url: &str, client_id: &str) -> anyhow::Result<(AsyncClient, watch::Receiver<bool>)> {
    let (client, mut eventloop) = AsyncClient::new(options(url, client_id)?, 256);
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = tx.send(true);
                }
                // We asked to disconnect (shutdown): the loop is done, not lost.
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(rumqttc::ConnectionError::RequestsDone) => break,
                Err(e) => {
                    let _ = tx.send(false);
                    tracing::warn!(error = %e, "MQTT connection lost; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok((client, rx))
}

pub const QOS: QoS = QoS::AtLeastOnce;
