//! Every service in one process, for small sites and demos.

use mediadist_platform::{db, Config, Shutdown};
use tracing::info;

/// Migrates, then runs intake, preparation, collection and the relay until
/// shutdown. If one stops with an error, the others are stopped too.
pub async fn run_all(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    run(config, shutdown, false).await
}

/// `mediadist up`: the workers and the HTTP API (on `config.api_addr`).
pub async fn run_with_api(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    run(config, shutdown, true).await
}

async fn run(config: Config, shutdown: Shutdown, api: bool) -> anyhow::Result<()> {
    let pool = db::connect_and_migrate(&config.database_url, 2).await?;
    pool.close().await;
    info!(namespace = %config.namespace, "starting intake, preparation, collection and relay");
    let mut set = tokio::task::JoinSet::new();
    if api {
        set.spawn(mediadist_api::run(config.clone(), shutdown.clone()));
    }
    set.spawn(mediadist_intake::run(config.clone(), shutdown.clone()));
    set.spawn(mediadist_preparation::run(config.clone(), shutdown.clone()));
    set.spawn(mediadist_collection::run(config.clone(), shutdown.clone()));
    set.spawn(mediadist_relay::run(config, shutdown));
    let mut result = Ok(());
    while let Some(done) = set.join_next().await {
        let outcome = done.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(e) = outcome {
            set.abort_all();
            result = Err(e);
        }
    }
    result
}
