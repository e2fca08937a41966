//! One full lifecycle as a producer sends it: register the study, request a
//! CD, then the workflow to its model ending, each command under one id
//! however often it is resent.

use crate::driver::Driver;
use crate::model::{self, Ending};
use mediadist_domain::catalog::CommandType;
use mediadist_domain::reply::Outcome;
use mediadist_domain::SlipKey;
use std::time::Duration;

/// What one lifecycle ended as, from the producer's side.
pub struct Lifecycle {
    pub n: u64,
    pub ending: Ending,
    pub distribution: Option<i64>,
    /// Commands sent (each under one id, however often resent).
    pub commands: u64,
    pub failure: Option<String>,
}

const ANSWER_DEADLINE: Duration = Duration::from_secs(180);

pub async fn lifecycle(
    driver: &Driver,
    run: &str,
    key: &SlipKey,
    n: u64,
    ending: Ending,
    urgency: &str,
) -> Lifecycle {
    let mut out = Lifecycle {
        n,
        ending,
        distribution: None,
        commands: 0,
        failure: None,
    };
    let mut send = |command: CommandType, data: serde_json::Value| {
        out.commands += 1;
        let id = uuid::Uuid::new_v4().to_string();
        async move {
            match driver.send(&id, command, &data, ANSWER_DEADLINE).await {
                Ok(r) if r.outcome == Outcome::Accepted => Ok(r),
                Ok(r) => Err(format!(
                    "{} rejected: {:?}",
                    command.type_name(),
                    r.rejection
                )),
                Err(e) => Err(format!("{}: {e}", command.type_name())),
            }
        }
    };
    let result = async {
        send(CommandType::RegisterStudy, model::register(run, n)).await?;
        let reply = send(CommandType::RequestMedia, model::request(run, n, urgency)).await?;
        let id = reply
            .distribution_id
            .ok_or("request accepted without a distribution id")?;
        let token = key.sign(id, 1).to_string();
        let steps = match ending {
            Ending::Collected => 3,
            Ending::CancelledAfter(k) => k,
        };
        for step in 1..=steps {
            let (command, data) = model::step(step, &token, n);
            send(command, data).await?;
        }
        if let Ending::CancelledAfter(_) = ending {
            send(CommandType::Cancel, model::cancel(id)).await?;
        }
        Ok::<i64, String>(id)
    }
    .await;
    match result {
        Ok(id) => out.distribution = Some(id),
        Err(e) => out.failure = Some(e),
    }
    out
}
