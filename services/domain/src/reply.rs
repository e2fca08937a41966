//! The answer a worker sends to a command's `reply_to`, and stores in the
//! inbox so a duplicate delivery gets the same answer.

use crate::enums::Status;
use crate::error::Rejection;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Accepted,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub outcome: Outcome,
    pub command_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    /// True when this answer came from the inbox: the command was seen before.
    #[serde(default)]
    pub duplicate: bool,
}

impl Reply {
    pub fn accepted(
        command_id: &str,
        distribution_id: Option<i64>,
        status: Option<Status>,
    ) -> Self {
        Reply {
            outcome: Outcome::Accepted,
            command_id: command_id.to_string(),
            distribution_id,
            reference: distribution_id.map(|id| crate::Reference::from_id(id).to_string()),
            status,
            rejection: None,
            duplicate: false,
        }
    }

    pub fn rejected(command_id: &str, distribution_id: Option<i64>, rejection: Rejection) -> Self {
        Reply {
            outcome: Outcome::Rejected,
            command_id: command_id.to_string(),
            distribution_id,
            reference: distribution_id.map(|id| crate::Reference::from_id(id).to_string()),
            status: None,
            rejection: Some(rejection),
            duplicate: false,
        }
    }
}
