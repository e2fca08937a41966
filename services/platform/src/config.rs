//! Configuration from the environment, with defaults that work on a
//! developer machine with the local services.

use mediadist_domain::workflow::HandoverPolicy;
use mediadist_domain::SlipKey;
use std::env;

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub amqp_url: String,
    pub mqtt_url: String,
    /// Prefix of every exchange, queue and MQTT topic; tests use a random one.
    pub namespace: String,
    pub slip_key: SlipKey,
    pub hospital_name: String,
    pub prefetch: u16,
    /// Deliveries of one message before the broker dead-letters it.
    pub delivery_limit: i32,
    /// Consumers per worker service.
    pub consumers: usize,
    pub policy: HandoverPolicy,
    pub api_addr: String,
    pub json_logs: bool,
}

pub const DEV_SLIP_KEY: &str = "mediadist-development-slip-key-change-me";

fn var(name: &str, default: &str) -> String {
    env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn num<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match env::var(name) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v} is not a valid number")),
        _ => Ok(default),
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let namespace = var("MEDIADIST_NAMESPACE", "mediadist");
        if !namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            anyhow::bail!("MEDIADIST_NAMESPACE may hold letters, digits, - and _ only");
        }
        Ok(Config {
            database_url: var(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/mediadist",
            ),
            amqp_url: var("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
            mqtt_url: var("MQTT_URL", "mqtt://127.0.0.1:1883"),
            namespace,
            slip_key: SlipKey::new(var("MEDIADIST_SLIP_KEY", DEV_SLIP_KEY).as_bytes()),
            hospital_name: var("MEDIADIST_HOSPITAL", "Hospital Radiology Department"),
            prefetch: num("MEDIADIST_PREFETCH", 32)?,
            delivery_limit: num("MEDIADIST_DELIVERY_LIMIT", 5)?,
            consumers: num("MEDIADIST_CONSUMERS", 4)?,
            policy: HandoverPolicy {
                authority_required_for_others: var("MEDIADIST_AUTHORITY_FOR_OTHERS", "true")
                    != "false",
            },
            api_addr: var("MEDIADIST_API_ADDR", "127.0.0.1:8080"),
            json_logs: var("MEDIADIST_LOG_FORMAT", "text") == "json",
        })
    }

    pub fn exchange(&self, kind: &str) -> String {
        format!("{}.{kind}", self.namespace)
    }

    pub fn commands_exchange(&self) -> String {
        self.exchange("commands")
    }

    pub fn events_exchange(&self) -> String {
        self.exchange("events")
    }

    pub fn dead_exchange(&self) -> String {
        self.exchange("dead")
    }

    pub fn dead_queue(&self) -> String {
        format!("{}.dead-letters", self.namespace)
    }

    pub fn stage_queue(&self, stage: mediadist_domain::catalog::Stage) -> String {
        format!("{}.{}", self.namespace, stage.name())
    }
}

/// The configuration variables, for `--help` texts.
pub const ENV_HELP: &str = "Environment: DATABASE_URL, AMQP_URL, MQTT_URL, MEDIADIST_NAMESPACE (default mediadist), \
MEDIADIST_SLIP_KEY, MEDIADIST_HOSPITAL, MEDIADIST_PREFETCH, MEDIADIST_DELIVERY_LIMIT, MEDIADIST_CONSUMERS, \
MEDIADIST_AUTHORITY_FOR_OTHERS, MEDIADIST_API_ADDR, MEDIADIST_API_CORS_ORIGINS, MEDIADIST_LOG_FORMAT=json, RUST_LOG";
