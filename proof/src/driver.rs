//! A producer that does what a careful kiosk or API does when the broker
//! goes away: reconnect, and send the same command again under the same id
//! until an answer comes. The workers' inbox makes the resend harmless, so
//! every command ends up applied exactly once.

use mediadist_domain::catalog::CommandType;
use mediadist_domain::reply::Reply;
use mediadist_platform::client::{ClientError, CommandClient};
use mediadist_platform::Config;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::RwLock;

pub struct Driver {
    config: Config,
    source: String,
    client: RwLock<Option<Arc<CommandClient>>>,
    /// How long to wait for an answer before sending again.
    patience: Duration,
    pub resends: AtomicU64,
    pub reconnects: AtomicU64,
}

impl Driver {
    pub fn new(config: Config, source: &str, patience: Duration) -> Driver {
        Driver {
            config,
            source: source.to_string(),
            client: RwLock::new(None),
            patience,
            resends: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
        }
    }

    async fn client(&self) -> Arc<CommandClient> {
        loop {
            if let Some(c) = self.client.read().await.as_ref() {
                if c.is_connected() {
                    return c.clone();
                }
            }
            let mut slot = self.client.write().await;
            if let Some(c) = slot.as_ref() {
                if c.is_connected() {
                    return c.clone();
                }
            }
            match CommandClient::connect(&self.config, &self.source).await {
                Ok(c) => {
                    self.reconnects.fetch_add(1, Ordering::Relaxed);
                    let c = Arc::new(c);
                    *slot = Some(c.clone());
                    return c;
                }
                Err(_) => {
                    drop(slot);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// Sends until answered. Gives up only after `deadline`.
    pub async fn send(
        &self,
        id: &str,
        command: CommandType,
        data: &serde_json::Value,
        deadline: Duration,
    ) -> Result<Reply, ClientError> {
        let give_up = tokio::time::Instant::now() + deadline;
        let mut first = true;
        loop {
            if !first {
                self.resends.fetch_add(1, Ordering::Relaxed);
            }
            first = false;
            let client = self.client().await;
            match client
                .send_with_id(id, command, None, data.clone(), self.patience)
                .await
            {
                Ok(reply) => return Ok(reply),
                Err(e) if tokio::time::Instant::now() > give_up => return Err(e),
                Err(ClientError::Timeout(_)) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub async fn close(&self) {
        if let Some(c) = self.client.write().await.take() {
            if let Ok(c) = Arc::try_unwrap(c) {
                c.close().await;
            }
        }
    }
}
