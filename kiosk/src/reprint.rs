//! A replacement for a lost slip: the workers issue a new slip version, so
//! the old slip stops working, and the caller prints the new one.

use mediadist_domain::catalog::CommandType;
use mediadist_domain::reply::Outcome;
use mediadist_domain::Reference;
use mediadist_platform::client::CommandClient;
use std::time::Duration;

/// Asks for a new slip version for `reference`, recorded for staff `by`.
pub async fn reissue(
    client: &CommandClient,
    reference: Reference,
    by: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let data = serde_json::json!({
        "target": { "reference": reference.to_string() },
        "actor": by,
    });
    let reply = client.send(CommandType::ReprintSlip, data, timeout).await?;
    match reply.outcome {
        Outcome::Accepted => Ok(()),
        Outcome::Rejected => anyhow::bail!(
            "reprint refused: {}",
            reply.rejection.map(|r| r.to_string()).unwrap_or_default()
        ),
    }
}
