//! The preparation stage: a radiographer starts preparing media and marks it
//! ready with where it is shelved.

use futures_util::FutureExt;
use mediadist_domain::catalog::{CommandType, Stage};
use mediadist_domain::command::{MarkReadyData, StartPreparingData, Target};
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
    let (target, actor, command) = match env.command {
        CommandType::StartPreparing => {
            let d: StartPreparingData = data(env)?;
            (d.target, d.actor, Command::StartPreparing)
        }
        CommandType::MarkReady => {
            let d: MarkReadyData = data(env)?;
            (
                d.target,
                d.actor,
                Command::MarkReady {
                    storage_location: d.storage_location,
                },
            )
        }
        other => {
            return Err(HandleError::Poison(format!(
                "{} is not a preparation command",
                other.type_name()
            )))
        }
    };
    let target = match Target::parse(&target) {
        Ok(t) => t,
        Err(e) => return Ok(Reply::rejected(&env.event.id, None, e.into())),
    };
    transition(conn, env, ctx, &target, &actor, command).await
}
