//! Why a command or a value was refused, as a stable reason code plus words
//! a person at the desk can act on.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A bad value, naming the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Stable, machine-readable reason codes. Clients switch on these; the
/// message beside them is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReasonCode {
    InvalidField,
    NotFound,
    UnknownStudy,
    StudiesOfDifferentPatients,
    DuplicateActiveRequest,
    IllegalTransition,
    AlreadyCollected,
    AlreadyCancelled,
    NotReady,
    Forbidden,
    UnknownStaff,
    StaffInactive,
    IdentityMismatch,
    AuthorityRequired,
    DocumentNotSeen,
    TokenInvalid,
    TokenSuperseded,
    VersionConflict,
    /// A command id sent again with a different command (an API client's
    /// Idempotency-Key reused for another request).
    CommandIdReused,
    /// Too many wrong PINs or passwords in a row (domain::throttle).
    SignInClosed,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::InvalidField => "INVALID_FIELD",
            ReasonCode::NotFound => "NOT_FOUND",
            ReasonCode::UnknownStudy => "UNKNOWN_STUDY",
            ReasonCode::StudiesOfDifferentPatients => "STUDIES_OF_DIFFERENT_PATIENTS",
            ReasonCode::DuplicateActiveRequest => "DUPLICATE_ACTIVE_REQUEST",
            ReasonCode::IllegalTransition => "ILLEGAL_TRANSITION",
            ReasonCode::AlreadyCollected => "ALREADY_COLLECTED",
            ReasonCode::AlreadyCancelled => "ALREADY_CANCELLED",
            ReasonCode::NotReady => "NOT_READY",
            ReasonCode::Forbidden => "FORBIDDEN",
            ReasonCode::UnknownStaff => "UNKNOWN_STAFF",
            ReasonCode::StaffInactive => "STAFF_INACTIVE",
            ReasonCode::IdentityMismatch => "IDENTITY_MISMATCH",
            ReasonCode::AuthorityRequired => "AUTHORITY_REQUIRED",
            ReasonCode::DocumentNotSeen => "DOCUMENT_NOT_SEEN",
            ReasonCode::TokenInvalid => "TOKEN_INVALID",
            ReasonCode::TokenSuperseded => "TOKEN_SUPERSEDED",
            ReasonCode::VersionConflict => "VERSION_CONFLICT",
            ReasonCode::CommandIdReused => "COMMAND_ID_REUSED",
            ReasonCode::SignInClosed => "SIGN_IN_CLOSED",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused command: the code, what to tell the operator, and the field
/// when one value was at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{code}: {message}")]
pub struct Rejection {
    pub code: ReasonCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Rejection {
    pub fn new(code: ReasonCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<FieldError> for Rejection {
    fn from(e: FieldError) -> Self {
        Rejection {
            code: ReasonCode::InvalidField,
            message: e.to_string(),
            field: Some(e.field),
        }
    }
}
