//! What can go wrong in the kiosk library.

use mediadist_domain::{Reference, Rejection};

#[derive(Debug, thiserror::Error)]
pub enum KioskError {
    #[error("no request {0}")]
    NotFound(Reference),
    #[error("{0} was already collected; a collected request gets no new slip")]
    AlreadyCollected(Reference),
    #[error("{0} was cancelled; a cancelled request gets no slip")]
    Cancelled(Reference),
    /// The station operator may not run this station (unknown, inactive or
    /// wrong role).
    #[error("this operator cannot run the station: {0}")]
    Operator(Rejection),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the slip could not be drawn: {0}")]
    Slip(#[from] mediadist_slip::SlipError),
    /// Reading the scanner or writing the display failed.
    #[error("station input/output: {0}")]
    Io(#[from] std::io::Error),
}
