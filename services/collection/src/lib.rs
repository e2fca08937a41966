//! The collection stage: reception hands media over to a collector whose
//! identity was checked.

use futures_util::FutureExt;
use mediadist_domain::catalog::{CommandType, Stage};
use mediadist_domain::command::HandoverData;
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
        Stage::Collection,
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
    if env.command != CommandType::Handover {
        return Err(HandleError::Poison(format!(
            "{} is not a collection command",
            env.command.type_name()
        )));
    }
    let d: HandoverData = data(env)?;
    transition(conn, env, ctx, &d.target, &d.actor, |target| {
        Ok(Command::Handover {
            collector: d.collector.validate()?,
            document_seen: d.document_seen,
            slip_presented: target.is_slip(),
            note: d.note()?,
        })
    })
    .await
}
