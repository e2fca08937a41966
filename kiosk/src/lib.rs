//! The kiosk: collection slips and the scan stations.
//!
//! - [`slip::make_document`] loads a request and draws its slip or envelope
//!   label (PNG, ESC/POS or PDF) with a signed QR token (no personal data in
//!   the code).
//! - [`station::run`] is a line-oriented scan station for a keyboard-wedge
//!   scanner, in `prepare` mode (radiographer: start, then ready with a shelf)
//!   or `handover` mode (reception: identity check, then collected).
//!
//! Both are generic over their inputs so tests and the `mediadist` CLI can
//! drive them; `main.rs` only parses arguments and wires stdin/stdout.

pub mod board;
pub mod error;
pub mod lookup;
pub mod receipt;
pub mod reprint;
pub mod slip;
pub mod station;

pub use error::KioskError;
pub use station::{Mode, Station, StationSummary};
