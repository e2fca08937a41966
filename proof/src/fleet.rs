//! The separate service binaries as real processes: started with the run's
//! environment, killed with SIGKILL, restarted like a process supervisor
//! would, stopped with SIGTERM, and measured (peak RSS).

use anyhow::Context as _;
use mediadist_platform::Config;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The worker and relay binaries a site runs apart.
pub const SERVICES: [&str; 4] = [
    "mediadist-intake",
    "mediadist-preparation",
    "mediadist-collection",
    "mediadist-relay",
];

struct Slot {
    name: &'static str,
    child: Option<Child>,
    /// Highest VmHWM seen for this slot's processes, in KiB.
    peak_rss_kib: u64,
    restarts: u32,
    kills: u32,
}

/// Every service process of one run.
#[derive(Clone)]
pub struct Fleet {
    slots: Arc<Mutex<Vec<Slot>>>,
    bin_dir: PathBuf,
    log_dir: PathBuf,
    env: Vec<(String, String)>,
}

/// What became of one service over the run.
#[derive(Debug, Clone)]
pub struct ServiceFigures {
    pub name: &'static str,
    pub peak_rss_kib: u64,
    pub restarts: u32,
    pub kills: u32,
}

/// The directory the service binaries were built into: the one this tool
/// runs from (`cargo build --bins` puts them side by side).
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .context("the tool's own directory")?
        .to_path_buf();
    for name in SERVICES {
        if !dir.join(name).is_file() {
            anyhow::bail!(
                "{} not found beside this tool; build them first: cargo build --release --workspace --bins",
                dir.join(name).display()
            );
        }
    }
    Ok(dir)
}

fn env_for(config: &Config, consumers: usize) -> Vec<(String, String)> {
    vec![
        ("DATABASE_URL".into(), config.database_url.clone()),
        ("AMQP_URL".into(), config.amqp_url.clone()),
        ("MQTT_URL".into(), config.mqtt_url.clone()),
        ("MEDIADIST_NAMESPACE".into(), config.namespace.clone()),
        (
            "MEDIADIST_SLIP_KEY".into(),
            std::env::var("MEDIADIST_SLIP_KEY")
                .unwrap_or_else(|_| mediadist_platform::config::DEV_SLIP_KEY.into()),
        ),
        (
            "MEDIADIST_DELIVERY_LIMIT".into(),
            config.delivery_limit.to_string(),
        ),
        ("MEDIADIST_PREFETCH".into(), config.prefetch.to_string()),
        ("MEDIADIST_CONSUMERS".into(), consumers.to_string()),
        (
            "RUST_LOG".into(),
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ]
}

impl Fleet {
    /// Starts one process of each service; their logs go to `log_dir`.
    pub fn start(config: &Config, consumers: usize, log_dir: &Path) -> anyhow::Result<Fleet> {
        std::fs::create_dir_all(log_dir)?;
        let fleet = Fleet {
            slots: Arc::new(Mutex::new(Vec::new())),
            bin_dir: bin_dir()?,
            log_dir: log_dir.to_path_buf(),
            env: env_for(config, consumers),
        };
        let mut slots = Vec::new();
        for name in SERVICES {
            slots.push(Slot {
                name,
                child: Some(fleet.spawn(name)?),
                peak_rss_kib: 0,
                restarts: 0,
                kills: 0,
            });
        }
        *fleet.lock() = slots;
        Ok(fleet)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        // A poisoned lock only means another task panicked; the slots are still whole.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn spawn(&self, name: &str) -> anyhow::Result<Child> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_dir.join(format!("{name}.log")))?;
        Command::new(self.bin_dir.join(name))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {name}"))
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SIGKILLs slot `i` (the supervisor brings it back).
    pub fn kill(&self, i: usize) -> Option<&'static str> {
        let mut slots = self.lock();
        let slot = slots.get_mut(i)?;
        if let Some(child) = slot.child.as_mut() {
            sample_rss(child.id(), &mut slot.peak_rss_kib);
            let _ = child.kill();
            let _ = child.wait();
            slot.child = None;
            slot.kills += 1;
        }
        Some(slot.name)
    }

    /// What a supervisor does: restarts every service that is not running
    /// (killed, or exited on its own, e.g. because the database was down at
    /// its start), and samples memory.
    pub fn supervise(&self) -> anyhow::Result<()> {
        let mut slots = self.lock();
        for slot in slots.iter_mut() {
            let running = match slot.child.as_mut() {
                Some(child) => {
                    sample_rss(child.id(), &mut slot.peak_rss_kib);
                    matches!(child.try_wait(), Ok(None))
                }
                None => false,
            };
            if !running {
                slot.child = Some(self.spawn(slot.name)?);
                slot.restarts += 1;
            }
        }
        Ok(())
    }

    /// Runs `supervise` every `every` until `stop` resolves.
    pub async fn supervise_until(&self, every: Duration, stop: tokio::sync::watch::Receiver<bool>) {
        let mut stop = stop;
        loop {
            if let Err(e) = self.supervise() {
                tracing::warn!(error = %e, "could not restart a service");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// SIGTERM to all, then waits for each to drain and exit. Returns the
    /// services that did not exit cleanly within `grace`.
    pub fn stop(&self, grace: Duration) -> Vec<String> {
        let mut slots = self.lock();
        for slot in slots.iter_mut() {
            if let Some(child) = slot.child.as_mut() {
                sample_rss(child.id(), &mut slot.peak_rss_kib);
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
            }
        }
        let deadline = std::time::Instant::now() + grace;
        let mut unclean = Vec::new();
        for slot in slots.iter_mut() {
            let Some(mut child) = slot.child.take() else {
                continue;
            };
            let status = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    _ => break None,
                }
            };
            if !status.is_some_and(|s| s.success()) {
                let _ = child.kill();
                let _ = child.wait();
                unclean.push(format!("{} ({status:?})", slot.name));
            }
        }
        unclean
    }

    pub fn figures(&self) -> Vec<ServiceFigures> {
        self.lock()
            .iter()
            .map(|s| ServiceFigures {
                name: s.name,
                peak_rss_kib: s.peak_rss_kib,
                restarts: s.restarts,
                kills: s.kills,
            })
            .collect()
    }
}

/// Raises `peak` to the process's high-water resident set (VmHWM).
fn sample_rss(pid: u32, peak: &mut u64) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return;
    };
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    if let Some(kib) = hwm {
        *peak = (*peak).max(kib);
    }
}
