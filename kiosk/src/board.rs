//! The live READY board at the handover desk: the relay's retained MQTT
//! topic `<ns>/board/ready` (references and masked names only), followed as
//! it changes.

use mediadist_platform::{mqtt, Config};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BoardItem {
    pub reference: String,
    /// Masked by the relay (`AHMAD B*** A***`).
    pub name: String,
    pub media_type: String,
    pub quantity: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Board {
    pub ready: Vec<BoardItem>,
}

/// Shown at most this many on the board line; the count says how many more.
const SHOWN: usize = 8;

impl Board {
    pub fn parse(payload: &[u8]) -> Result<Board, serde_json::Error> {
        serde_json::from_slice(payload)
    }

    /// `BOARD: 2 ready: MD-000001 DOE P*** (CD x 1), MD-000003 ...`
    pub fn line(&self) -> String {
        if self.ready.is_empty() {
            return "BOARD: nothing is ready for collection".into();
        }
        let mut items: Vec<String> = self
            .ready
            .iter()
            .take(SHOWN)
            .map(|i| {
                format!(
                    "{} {} ({} x {})",
                    i.reference, i.name, i.media_type, i.quantity
                )
            })
            .collect();
        if self.ready.len() > SHOWN {
            items.push(format!("and {} more", self.ready.len() - SHOWN));
        }
        format!("BOARD: {} ready: {}", self.ready.len(), items.join(", "))
    }
}

pub fn topic(cfg: &Config) -> String {
    format!("{}/board/ready", cfg.namespace)
}

/// Follows the board; the receiver holds the latest one (None until the
/// retained message arrives). The MQTT connection lives as long as a
/// receiver does, and reconnects (resubscribing) after a broker restart.
pub fn follow(cfg: &Config, client_id: &str) -> anyhow::Result<watch::Receiver<Option<Board>>> {
    let (client, mut eventloop) = AsyncClient::new(mqtt::options(&cfg.mqtt_url, client_id)?, 16);
    let (tx, rx) = watch::channel(None);
    let topic = topic(cfg);
    tokio::spawn(async move {
        loop {
            if tx.is_closed() {
                break;
            }
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if client.subscribe(&topic, QoS::AtLeastOnce).await.is_err() {
                        break;
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topic => {
                    match Board::parse(&p.payload) {
                        Ok(board) => {
                            let _ = tx.send(Some(board));
                        }
                        Err(e) => tracing::warn!(error = %e, "unreadable READY board ignored"),
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "board connection lost; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_board_line_lists_what_is_ready() {
        let board = Board::parse(
            br#"{"ready":[{"reference":"MD-000001","name":"DOE P***","media_type":"CD","quantity":1,"ready_at":null}],"updated_at":"2026-12-03T10:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(board.line(), "BOARD: 1 ready: MD-000001 DOE P*** (CD x 1)");
        assert_eq!(
            Board { ready: vec![] }.line(),
            "BOARD: nothing is ready for collection"
        );
        let many = Board {
            ready: (1..=10)
                .map(|n| BoardItem {
                    reference: format!("MD-{n:06}"),
                    name: "X***".into(),
                    media_type: "DVD".into(),
                    quantity: 2,
                })
                .collect(),
        };
        assert!(many
            .line()
            .starts_with("BOARD: 10 ready: MD-000001 X*** (DVD x 2), "));
        assert!(many
            .line()
            .ends_with("MD-000008 X*** (DVD x 2), and 2 more"));
    }
}
