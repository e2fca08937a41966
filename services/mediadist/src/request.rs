//! Sending a media request from the command line and reporting its outcome.

use mediadist_domain::catalog::CommandType;
use mediadist_domain::command::{RequestMediaData, RequesterData};
use mediadist_domain::reply::{Outcome, Reply};
use mediadist_platform::client::CommandClient;
use std::time::Duration;

pub struct RequestArgs {
    pub studies: Vec<String>,
    pub media: String,
    pub quantity: i64,
    pub urgency: String,
    pub requester: String,
    pub requester_name: Option<String>,
    pub organisation: Option<String>,
    pub letter: Option<String>,
    pub comments: Option<String>,
    pub by: String,
}

pub async fn send(client: &CommandClient, a: RequestArgs) -> anyhow::Result<Reply> {
    let data = RequestMediaData {
        study_uids: a.studies,
        media_type: a.media,
        quantity: a.quantity,
        urgency: a.urgency,
        requester: RequesterData {
            kind: a.requester,
            name: a.requester_name,
            organisation: a.organisation,
            reference: a.letter,
            contact: None,
        },
        comments: a.comments,
        actor: a.by,
    };
    Ok(client
        .send(
            CommandType::RequestMedia,
            serde_json::to_value(data)?,
            Duration::from_secs(10),
        )
        .await?)
}

/// One line for the operator.
pub fn describe(reply: &Reply) -> String {
    match (reply.outcome, &reply.rejection) {
        (Outcome::Accepted, _) => format!(
            "accepted: {} {}",
            reply.reference.as_deref().unwrap_or("-"),
            reply.status.map(|s| s.as_str()).unwrap_or("")
        ),
        (Outcome::Rejected, Some(r)) => format!("refused: {}: {}", r.code, r.message),
        (Outcome::Rejected, None) => "refused".into(),
    }
}
