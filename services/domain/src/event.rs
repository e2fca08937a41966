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
        /// The site's rule when it was decided: did anyone but the patient
        /// need an authority letter? Recorded so the audit shows which rule applied.
        authority_required_for_others: bool,
        /// The desk's note; added to the request's comments.
        note: Option<String>,
    },
    Cancelled {
        reason: String,
    },
    /// A new slip was printed; the old one stops working.
    SlipReissued {
        slip_version: i32,
    },
    /// Fields outside the workflow changed (comments, urgency, quantity).
    Updated {
        changes: Changes,
    },
    /// An admin removed the record from the lists; its audit trail stays.
    Deleted {
        reason: String,
    },
}

/// The non-workflow fields an update may change; `None` = unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Changes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Quantity>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.comments.is_none() && self.urgency.is_none() && self.quantity.is_none()
    }
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
            Event::SlipReissued { .. } => "slip-reissued",
            Event::Updated { .. } => "updated",
            Event::Deleted { .. } => "deleted",
        }
    }

    /// The status the distribution has after this event, given the one
    /// it had before.
    pub fn status_after(&self, before: Status) -> Status {
        match self {
            Event::Requested { .. } => Status::Requested,
            Event::PreparationStarted => Status::Preparing,
            Event::Ready { .. } => Status::Ready,
            Event::Collected { .. } => Status::Collected,
            Event::Cancelled { .. } => Status::Cancelled,
            Event::SlipReissued { .. } | Event::Updated { .. } | Event::Deleted { .. } => before,
        }
    }
}

/// Facts about the distribution that every event payload carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContext {
    pub distribution_id: i64,
    pub media_type: MediaType,
    pub quantity: i64,
    pub urgency: Urgency,
    /// None for a new request.
    pub previous_status: Option<Status>,
    pub actor: String,
}

impl Event {
    /// The `data` of the CloudEvent downstream systems receive. No IC number
    /// and no full name: collectors' documents appear masked.
    pub fn payload(&self, ctx: &EventContext) -> serde_json::Value {
        let mut v = serde_json::json!({
            "distribution_id": ctx.distribution_id,
            "reference": crate::Reference::from_id(ctx.distribution_id).to_string(),
            "status": self.status_after(ctx.previous_status.unwrap_or(Status::Requested)),
            "previous_status": ctx.previous_status,
            "media_type": ctx.media_type,
            "quantity": ctx.quantity,
            "urgency": ctx.urgency,
            "actor": ctx.actor,
        });
        let extra = match self {
            Event::Requested {
                study_uids,
                requester,
                ..
            } => serde_json::json!({
                "study_count": study_uids.len(),
                "requester_type": requester.kind,
            }),
            Event::PreparationStarted => serde_json::json!({}),
            Event::Ready { storage_location } => {
                serde_json::json!({ "storage_location": storage_location })
            }
            // The note is free text and may name people: downstream is told there is one.
            Event::Collected {
                collector,
                slip_presented,
                authority_required_for_others,
                note,
            } => serde_json::json!({
                "noted": note.is_some(),
                "relationship": collector.relationship,
                "document_type": collector.document.type_code(),
                "document_masked": collector.document.masked(),
                "slip_presented": slip_presented,
                "authority_required_for_others": authority_required_for_others,
            }),
            Event::Cancelled { reason } => serde_json::json!({ "reason": reason }),
            Event::SlipReissued { slip_version } => {
                serde_json::json!({ "slip_version": slip_version })
            }
            // Comments are free text and may name people: downstream gets what changed, not the words.
            Event::Updated { changes } => {
                let changed: Vec<&str> = [
                    changes.comments.as_ref().map(|_| "comments"),
                    changes.urgency.map(|_| "urgency"),
                    changes.quantity.map(|_| "quantity"),
                ]
                .into_iter()
                .flatten()
                .collect();
                serde_json::json!({ "changed": changed, "urgency_now": changes.urgency, "quantity_now": changes.quantity })
            }
            Event::Deleted { reason } => serde_json::json!({ "reason": reason }),
        };
        if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
            obj.extend(more);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Collector;
    use crate::enums::Relationship;
    use crate::identity::{IdentityDocument, Mykad};

    #[test]
    fn collected_payload_masks_the_document_and_names_nobody() {
        let e = Event::Collected {
            collector: Collector {
                name: "Synthetic Son".into(),
                document: IdentityDocument::Mykad {
                    number: Mykad::parse("900101-01-1235", "d").unwrap(),
                },
                relationship: Relationship::Child,
                relationship_other: None,
                authority_reference: Some("CONSENT-1".into()),
            },
            slip_presented: true,
            authority_required_for_others: true,
            note: Some("Synthetic Son signed the book".into()),
        };
        let ctx = EventContext {
            distribution_id: 5,
            media_type: MediaType::Cd,
            quantity: 1,
            urgency: Urgency::Normal,
            previous_status: Some(Status::Ready),
            actor: "reception1".into(),
        };
        let p = e.payload(&ctx);
        assert_eq!(p["reference"], "MD-000005");
        assert_eq!(p["status"], "COLLECTED");
        assert_eq!(p["previous_status"], "READY");
        assert_eq!(p["document_masked"], "******-**-1235");
        assert_eq!(p["authority_required_for_others"], true);
        let text = p.to_string();
        assert!(
            !text.contains("900101011235") && !text.contains("Synthetic"),
            "{text}"
        );
    }
}
