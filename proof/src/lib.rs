//! The guarantees as code anyone can run: the fault suite
//! (`mediadist-faults`) and the benchmark against the raw limit
//! (`mediadist-bench`), on the machine's real PostgreSQL and RabbitMQ with
//! the separate service binaries as real processes.

pub mod driver;
pub mod fleet;
pub mod infra;
pub mod lifecycle;
pub mod model;
pub mod poison;
pub mod queues;
pub mod run;
