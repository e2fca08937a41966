//! `mediadist-collection`: the collection worker on its own; run several to scale out
//! (competing consumers on one queue).

use clap::Parser;

#[derive(Parser)]
#[command(about = "mediadist collection worker", after_help = mediadist_platform::config::ENV_HELP)]
struct Args {}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    Args::parse();
    let config = mediadist_platform::Config::from_env()?;
    mediadist_platform::telemetry::init(config.json_logs);
    let (trigger, shutdown) = mediadist_platform::Shutdown::new();
    tokio::spawn(trigger.on_signal());
    mediadist_collection::run(config, shutdown).await
}
