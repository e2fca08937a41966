//! The workflow decider: `decide(state, command) -> events | rejection` and
//! `evolve(state, event) -> state`. The one place the status rules live.
//!
//! ```text
//! REQUESTED ──start──▶ PREPARING ──ready──▶ READY ──handover──▶ COLLECTED
//!     └──────cancel────────┴──────cancel──────┘──▶ CANCELLED
//! ```

use crate::command::{Collector, RequestMedia};
use crate::enums::{MediaType, Relationship, Status};
use crate::error::{FieldError, ReasonCode, Rejection};
use crate::event::{Changes, Event};
use crate::identity::{IdentityDocument, Mykad, PassportNo};
use crate::names::same_person;
use crate::reference::Reference;
use crate::roles::{Action, Actor};
use crate::values::{required_text, StudyUid};
use chrono::{DateTime, Utc};

/// What the decider needs to know of a stored distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    pub id: i64,
    pub status: Status,
    pub slip_version: i32,
    pub patient_ic: Option<Mykad>,
    pub patient_passport: Option<PassportNo>,
    /// The patient's name on record: with no document on record, a patient
    /// collecting for themselves must show a document in this name.
    pub patient_name: String,
    pub collected_at: Option<DateTime<Utc>>,
    pub handed_over_by: Option<String>,
    /// Deleted by an admin: gone from the lists, refused by every command.
    pub deleted: bool,
}

/// A command on an existing distribution, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    StartPreparing,
    MarkReady {
        storage_location: String,
    },
    Handover {
        collector: Collector,
        document_seen: bool,
        slip_presented: bool,
        /// The desk's note (the seed's `comments` on collect).
        note: Option<String>,
    },
    Cancel {
        reason: String,
    },
    /// Print a new slip; the old one stops working.
    Reprint,
    Update {
        changes: Changes,
    },
    Delete {
        reason: String,
    },
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Command::StartPreparing => Action::StartPreparing,
            Command::MarkReady { .. } => Action::MarkReady,
            Command::Handover { .. } => Action::Handover,
            Command::Cancel { .. } => Action::Cancel,
            Command::Reprint => Action::Reprint,
            Command::Update { .. } => Action::Update,
            Command::Delete { .. } => Action::Delete,
        }
    }
}

/// Site policy for handovers; recorded with each handover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoverPolicy {
    /// Anyone but the patient must show a consent or referral letter.
    pub authority_required_for_others: bool,
}

impl Default for HandoverPolicy {
    fn default() -> Self {
        HandoverPolicy {
            authority_required_for_others: true,
        }
    }
}

pub fn decide(
    state: &Distribution,
    command: &Command,
    actor: &Actor,
    policy: &HandoverPolicy,
) -> Result<Vec<Event>, Rejection> {
    actor.authorise(command.action())?;
    if state.deleted {
        return Err(Rejection::new(
            ReasonCode::NotFound,
            format!("{} was deleted", Reference::from_id(state.id)),
        ));
    }
    // Deleting is the one step that also applies to finished requests.
    if let Command::Delete { reason } = command {
        let reason = required_text(Some(reason), "reason", 500)?;
        return Ok(vec![Event::Deleted { reason }]);
    }
    refuse_if_final(state)?;
    let event = match (state.status, command) {
        (_, Command::Reprint) => Event::SlipReissued {
            slip_version: state.slip_version + 1,
        },
        (_, Command::Update { changes }) if changes.is_empty() => {
            return Err(FieldError::new(
                "changes",
                "nothing to change: give comments, urgency or quantity",
            )
            .into())
        }
        (Status::Requested, Command::Update { changes }) => Event::Updated {
            changes: changes.clone(),
        },
        (from, Command::Update { changes }) if changes.quantity.is_some() => {
            return Err(Rejection {
                code: ReasonCode::IllegalTransition,
                message: format!(
                    "the quantity can change only while REQUESTED; this request is {from}"
                ),
                field: Some("quantity".into()),
            })
        }
        (_, Command::Update { changes }) => Event::Updated {
            changes: changes.clone(),
        },
        (Status::Requested, Command::StartPreparing) => Event::PreparationStarted,
        (Status::Preparing, Command::MarkReady { storage_location }) => Event::Ready {
            storage_location: required_text(Some(storage_location), "storage_location", 60)?,
        },
        (
            Status::Ready,
            Command::Handover {
                collector,
                document_seen,
                slip_presented,
                note,
            },
        ) => {
            check_collector(state, collector, *document_seen, policy)?;
            Event::Collected {
                collector: collector.clone(),
                slip_presented: *slip_presented,
                authority_required_for_others: policy.authority_required_for_others,
                note: note.clone(),
            }
        }
        (Status::Requested | Status::Preparing, Command::Handover { .. }) => {
            return Err(Rejection::new(
                ReasonCode::NotReady,
                format!(
                    "the media is not ready yet (status {}); ask the radiographer",
                    state.status
                ),
            ))
        }
        (_, Command::Cancel { reason }) => Event::Cancelled {
            reason: required_text(Some(reason), "reason", 500)?,
        },
        (from, cmd) => {
            return Err(Rejection::new(
                ReasonCode::IllegalTransition,
                format!(
                    "cannot {} while the request is {from}",
                    cmd.action().describe()
                ),
            ))
        }
    };
    Ok(vec![event])
}

fn refuse_if_final(state: &Distribution) -> Result<(), Rejection> {
    match state.status {
        Status::Collected => {
            let when = state
                .collected_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            let by = state.handed_over_by.as_deref().unwrap_or("unknown staff");
            Err(Rejection::new(
                ReasonCode::AlreadyCollected,
                format!(
                    "{} was already collected on {when}, handed over by {by}",
                    Reference::from_id(state.id)
                ),
            ))
        }
        Status::Cancelled => Err(Rejection::new(
            ReasonCode::AlreadyCancelled,
            format!(
                "{} was cancelled; this slip no longer works",
                Reference::from_id(state.id)
            ),
        )),
        _ => Ok(()),
    }
}

/// Who may take the media: the patient with a matching document, or
/// someone else with an authority letter (by policy).
fn check_collector(
    state: &Distribution,
    c: &Collector,
    document_seen: bool,
    policy: &HandoverPolicy,
) -> Result<(), Rejection> {
    if !document_seen {
        return Err(Rejection::new(
            ReasonCode::DocumentNotSeen,
            "confirm that you have seen the collector's identity document",
        ));
    }
    if c.relationship == Relationship::SelfCollect {
        let matches = match (&c.document, &state.patient_ic, &state.patient_passport) {
            (IdentityDocument::Mykad { number }, Some(ic), _) => number == ic,
            (_, Some(_), _) => false,
            (IdentityDocument::Passport { passport }, None, Some(p)) => passport == p,
            (_, None, Some(_)) => false,
            // No document on record (imported studies often have none):
            // the name on the document must be the name on record.
            (_, None, None) => {
                if !same_person(&state.patient_name, &c.name) {
                    return Err(Rejection::new(
                        ReasonCode::IdentityMismatch,
                        "no IC or passport is on record for this patient and the collector's name is not the patient's; \
                         hand over only with the relationship and an authority letter",
                    ));
                }
                true
            }
        };
        if !matches {
            return Err(Rejection::new(
                ReasonCode::IdentityMismatch,
                "the document does not match the patient's identity on record; do not hand over",
            ));
        }
    } else if policy.authority_required_for_others && c.authority_reference.is_none() {
        return Err(Rejection::new(
            ReasonCode::AuthorityRequired,
            "someone other than the patient needs a consent or referral letter; record its reference",
        ));
    }
    Ok(())
}

/// Applies an event to the state; the same function rebuilds state from the
/// audit trail.
pub fn evolve(
    mut state: Distribution,
    event: &Event,
    actor: &str,
    at: DateTime<Utc>,
) -> Distribution {
    state.status = event.status_after(state.status);
    match event {
        Event::Collected { .. } => {
            state.collected_at = Some(at);
            state.handed_over_by = Some(actor.to_string());
        }
        Event::SlipReissued { slip_version } => state.slip_version = *slip_version,
        Event::Deleted { .. } => state.deleted = true,
        _ => {}
    }
    state
}

/// What the request decider needs to know of the studies asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyFacts {
    pub uid: StudyUid,
    pub patient_id: i64,
}

/// An active (not final) request on one of the studies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveRequest {
    pub study_uid: StudyUid,
    pub media_type: MediaType,
    pub distribution_id: i64,
}

/// Decides a new request: the studies exist, belong to one patient, and
/// none already has an active request for the same media type.
pub fn decide_request(
    request: &RequestMedia,
    actor: &Actor,
    known: &[StudyFacts],
    active: &[ActiveRequest],
) -> Result<Event, Rejection> {
    actor.authorise(Action::Request)?;
    let mut patient = None;
    for uid in &request.study_uids {
        let Some(study) = known.iter().find(|s| &s.uid == uid) else {
            return Err(Rejection {
                code: ReasonCode::UnknownStudy,
                message: format!("study {} is not registered; import it first", uid.as_str()),
                field: Some("study_uids".into()),
            });
        };
        if *patient.get_or_insert(study.patient_id) != study.patient_id {
            return Err(Rejection {
                code: ReasonCode::StudiesOfDifferentPatients,
                message: "one request covers the studies of one patient".into(),
                field: Some("study_uids".into()),
            });
        }
    }
    if let Some(dup) = active
        .iter()
        .find(|a| a.media_type == request.media_type && request.study_uids.contains(&a.study_uid))
    {
        return Err(Rejection::new(
            ReasonCode::DuplicateActiveRequest,
            format!(
                "study {} already has an active {} request: {}",
                dup.study_uid.as_str(),
                dup.media_type,
                Reference::from_id(dup.distribution_id)
            ),
        ));
    }
    Ok(Event::Requested {
        study_uids: request.study_uids.clone(),
        media_type: request.media_type,
        quantity: request.quantity,
        urgency: request.urgency,
        requester: request.requester.clone(),
        comments: request.comments.clone(),
    })
}

#[cfg(test)]
mod tests;
