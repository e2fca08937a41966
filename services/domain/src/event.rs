//! What happened to a distribution: the decider's output, the audit trail's
//! rows and the outbox's events.

use crate::command::{Collector, Requester};
use crate::enums::{MediaType, Status, Urgency};
use crate::values::{Quantity, StudyUid};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Requested {
        study_uids: Vec<StudyUid>,
        media_type: MediaType,
        quantity: Quantity,
        urgency: Urgency,
        requester: Requester,
        comments: Option<String>,
    },
    PreparationStarted,
    Ready {
        storage_location: String,
    },
    Collected {
        collector: Collector,
        slip_presented: bool,
    },
    Cancelled {
        reason: String,
    },
}

impl Event {
    /// The short name used in event types (`...distribution.<name>.v1`) and
    /// in the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Requested { .. } => "requested",
            Event::PreparationStarted => "preparing",
            Event::Ready { .. } => "ready",
            Event::Collected { .. } => "collected",
            Event::Cancelled { .. } => "cancelled",
        }
    }

    /// The status the distribution has after this event.
    pub fn status_after(&self) -> Status {
        match self {
            Event::Requested { .. } => Status::Requested,
            Event::PreparationStarted => Status::Preparing,
            Event::Ready { .. } => Status::Ready,
            Event::Collected { .. } => Status::Collected,
            Event::Cancelled { .. } => Status::Cancelled,
        }
    }
}
