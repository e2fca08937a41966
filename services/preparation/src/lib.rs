//! The preparation stage: a radiographer starts preparing media and marks it
//! ready with where it is shelved.

use futures_util::FutureExt;
use mediadist_domain::catalog::{CommandType, Stage};
use mediadist_domain::command::{MarkReadyData, StartPreparingData};
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
        Stage::Preparation,
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
        CommandType::StartPreparing => {
            let d: StartPreparingData = data(env)?;
            transition(conn, env, ctx, &d.target, &d.actor, |_| {
                Ok(Command::StartPreparing)
            })
            .await
        }
        CommandType::MarkReady => {
            let d: MarkReadyData = data(env)?;
            let location = d.storage_location.clone();
            transition(conn, env, ctx, &d.target, &d.actor, |_| {
                Ok(Command::MarkReady {
                    storage_location: location,
                })
            })
            .await
        }
        other => Err(HandleError::Poison(format!(
            "{} is not a preparation command",
            other.type_name()
        ))),
    }
}
