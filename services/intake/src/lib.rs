//! The intake stage: study registration (RIS feed or DICOM import), media
//! requests, and cancellations.

mod register;
mod request;

use futures_util::FutureExt;
use mediadist_domain::catalog::{CommandType, Stage};
use mediadist_domain::command::{CancelData, Target};
use mediadist_domain::envelope::CommandEnvelope;
use mediadist_domain::reply::Reply;
use mediadist_domain::workflow::Command;
use mediadist_platform::store::transition;
use mediadist_platform::worker::{self, data, Context, HandleError};
use mediadist_platform::{Config, Shutdown};
use sqlx::PgConnection;

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    worker::run(
        config,
        Stage::Intake,
        |c, e, x| handle(c, e, x).boxed(),
        shutdown,
    )
    .await
}

pub async fn handle(
    conn: &mut PgConnection,
    env: &CommandEnvelope,
    ctx: &Context,
) -> Result<Reply, HandleError> {
    match env.command {
        CommandType::RegisterStudy => register::handle(conn, env, data(env)?).await,
        CommandType::RequestMedia => request::handle(conn, env, data(env)?).await,
        CommandType::Cancel => {
            let d: CancelData = data(env)?;
            let target = match Target::parse(&d.target) {
                Ok(t) => t,
                Err(e) => return Ok(Reply::rejected(&env.event.id, None, e.into())),
            };
            transition(
                conn,
                env,
                ctx,
                &target,
                &d.actor,
                Command::Cancel { reason: d.reason },
            )
            .await
        }
        other => Err(HandleError::Poison(format!(
            "{} is not an intake command",
            other.type_name()
        ))),
    }
}
