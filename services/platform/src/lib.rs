//! Shared plumbing for every mediadist service: configuration, database,
//! AMQP topology and the one consumer loop, inbox/outbox, MQTT, tracing,
//! shutdown. No business rule lives here; those are in `mediadist-domain`.

pub mod amqp;
pub mod client;
pub mod config;
pub mod db;
pub mod mqtt;
pub mod secrets;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod worker;

pub use config::Config;
pub use shutdown::Shutdown;
