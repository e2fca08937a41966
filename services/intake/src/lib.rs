//! The intake stage: study registration (RIS feed or DICOM import), media
//! requests, and the clerk's and admin's changes to a request: cancel,
//! update, reprint the slip, delete.

mod register;
mod request;

use futures_util::FutureExt;
use mediadist_domain::catalog::{CommandType, Stage};
use mediadist_domain::command::{CancelData, DeleteData, ReprintSlipData, UpdateData};
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
            transition(conn, env, ctx, &d.target, &d.actor, |_| {
                Ok(Command::Cancel {
                    reason: d.reason.clone(),
                })
            })
            .await
        }
        CommandType::ReprintSlip => {
            let d: ReprintSlipData = data(env)?;
            transition(conn, env, ctx, &d.target, &d.actor, |_| {
                Ok(Command::Reprint)
            })
            .await
        }
        CommandType::Update => {
            let d: UpdateData = data(env)?;
            transition(conn, env, ctx, &d.target, &d.actor, |_| {
                Ok(Command::Update {
                    changes: d.validate()?,
                })
            })
            .await
        }
        CommandType::Delete => {
            let d: DeleteData = data(env)?;
            transition(conn, env, ctx, &d.target, &d.actor, |_| {
                Ok(Command::Delete {
                    reason: d.reason.clone(),
                })
            })
            .await
        }
        other => Err(HandleError::Poison(format!(
            "{} is not an intake command",
            other.type_name()
        ))),
    }
}
