//! Restarting the machine's RabbitMQ and PostgreSQL, the way an operator (or
//! a power cut) would. The commands are the ones this machine starts them
//! with; both can be replaced for another machine.

use anyhow::Context as _;
use std::time::{Duration, Instant};

pub fn default_broker_restart() -> String {
    // `stop` returns once the node is down; the port answering again is
    // what says it is back.
    "rabbitmqctl stop >/dev/null 2>&1; rabbitmq-server -detached".into()
}

pub fn default_db_restart() -> String {
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .unwrap_or_else(|| "15".into());
    format!("pg_ctlcluster --skip-systemctl-redirect -m fast {version} main restart")
}

/// Runs a restart command and waits until `port` answers again. Returns how
/// long the service was away. `gone` is set once the port stops answering (or
/// the command has finished), so callers can send traffic into the outage.
pub async fn restart(
    what: &str,
    command: &str,
    port: u16,
    gone: &tokio::sync::watch::Sender<bool>,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let watcher = tokio::spawn({
        let gone = gone.clone();
        async move {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            gone.send_replace(true);
        }
    });
    let status = tokio::task::spawn_blocking({
        let command = command.to_string();
        move || {
            std::process::Command::new("sh")
                .args(["-c", &command])
                .status()
        }
    })
    .await;
    watcher.abort();
    gone.send_replace(true);
    let status = status?.with_context(|| format!("running the {what} restart command"))?;
    if !status.success() {
        anyhow::bail!("{what} restart command failed ({status}): {command}");
    }
    wait_for_port(port, Duration::from_secs(90))
        .await
        .with_context(|| format!("{what} did not come back on port {port}"))?;
    Ok(started.elapsed())
}

pub async fn wait_for_port(port: u16, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("nothing answers on 127.0.0.1:{port}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
