//! `mediadist-api`: the HTTP API on its own (`mediadist up` also runs it).

use clap::Parser;

#[derive(Parser)]
#[command(about = "mediadist HTTP API", after_help = mediadist_platform::config::ENV_HELP)]
struct Args {}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Args::parse();
    let config = mediadist_platform::Config::from_env()?;
    mediadist_platform::telemetry::init(config.json_logs);
    let (trigger, shutdown) = mediadist_platform::Shutdown::new();
    tokio::spawn(trigger.on_signal());
    mediadist_api::run(config, shutdown).await
}
