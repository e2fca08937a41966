//! `mediadist-faults`: many full lifecycles through the separate service
//! binaries while they are SIGKILLed and restarted, RabbitMQ restarts once
//! and PostgreSQL restarts once, with poison injected; then proves nothing
//! was lost, applied twice or left stuck. Exits non-zero if anything was.

use clap::Parser;
use futures_util::StreamExt;
use mediadist_platform::amqp;
use mediadist_proof::driver::Driver;
use mediadist_proof::fleet::Fleet;
use mediadist_proof::lifecycle::{lifecycle, Lifecycle};
use mediadist_proof::model::Ending;
use mediadist_proof::run::RunEnv;
use mediadist_proof::{infra, poison, queues};
use rand::{Rng, SeedableRng};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Parser, Clone)]
#[command(
    about = "Fault suite: lifecycles through the service binaries under SIGKILLs, a broker restart and a database restart",
    after_help = "Build the service binaries first (cargo build --release --workspace --bins); they are run from this tool's directory. \
The run makes its own database and namespace and removes them afterwards. It restarts the machine's RabbitMQ and PostgreSQL: run it alone."
)]
struct Args {
    /// Full lifecycles to run (about one in five is cancelled at some stage).
    #[arg(long, default_value_t = 10_000)]
    lifecycles: u64,
    /// Lifecycles in flight at once.
    #[arg(long, default_value_t = 48)]
    concurrency: usize,
    /// Poison messages to inject while it runs.
    #[arg(long, default_value_t = 30)]
    poison: usize,
    /// Consumers per worker process.
    #[arg(long, default_value_t = 4)]
    consumers: usize,
    /// Shortest pause between SIGKILLs, in milliseconds.
    #[arg(long, default_value_t = 300)]
    kill_min_ms: u64,
    /// Longest pause between SIGKILLs, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    kill_max_ms: u64,
    #[arg(long)]
    no_broker_restart: bool,
    #[arg(long)]
    no_db_restart: bool,
    /// Shell command that restarts RabbitMQ.
    #[arg(long, default_value_t = infra::default_broker_restart())]
    broker_restart: String,
    /// Shell command that restarts PostgreSQL.
    #[arg(long, default_value_t = infra::default_db_restart())]
    db_restart: String,
    /// Keep the run's database afterwards (its name is printed).
    #[arg(long)]
    keep: bool,
}

/// When a restart is due and which lifecycles wait for it. The restart starts
/// once `due` lifecycles are done; lifecycles from `gate` on are held until the
/// service has gone away, so they are sent into the outage and a fast run
/// cannot finish before the fault it is meant to meet (a 300-lifecycle CI run
/// once did, right after the broker came back).
struct Restart {
    due: u64,
    gate: u64,
    gone: watch::Sender<bool>,
}

impl Restart {
    fn new(enabled: bool, due: u64, args: &Args) -> Restart {
        let gate = (due + args.concurrency as u64).min(args.lifecycles.saturating_sub(1));
        Restart {
            due,
            gate: gate.max(due),
            gone: watch::channel(!enabled).0,
        }
    }

    /// Not begun yet (`restart` sets `gone` before it returns).
    fn pending(&self) -> bool {
        !*self.gone.borrow()
    }

    /// Holds lifecycle `n` until the service has gone away, if `n` must meet it.
    async fn admit(&self, n: u64) {
        if n >= self.gate {
            let _ = self.gone.subscribe().wait_for(|g| *g).await;
        }
    }
}

#[derive(Default)]
struct Chaos {
    kills: BTreeMap<&'static str, u32>,
    broker_away: Option<Duration>,
    db_away: Option<Duration>,
    poison_ids: HashSet<String>,
    errors: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
async fn chaos(
    fleet: Fleet,
    config: mediadist_platform::Config,
    args: Args,
    run: String,
    done: Arc<AtomicU64>,
    restarts: Arc<[Restart; 2]>,
    mut stop: watch::Receiver<bool>,
) -> Chaos {
    let mut rng = rand::rngs::StdRng::from_entropy();
    let mut c = Chaos::default();
    let [broker, db] = &*restarts;
    let mut next_kill = Instant::now() + Duration::from_millis(args.kill_min_ms);
    let mut poison_sent = 0;
    while !*stop.borrow() {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = stop.changed() => break,
        }
        if Instant::now() >= next_kill && !fleet.is_empty() {
            if let Some(name) = fleet.kill(rng.gen_range(0..fleet.len())) {
                *c.kills.entry(name).or_default() += 1;
            }
            next_kill = Instant::now()
                + Duration::from_millis(
                    rng.gen_range(args.kill_min_ms..=args.kill_max_ms.max(args.kill_min_ms)),
                );
            // Poison rides along with the kills, a few at a time.
            for _ in 0..3 {
                if poison_sent >= args.poison {
                    break;
                }
                let (id, key, body) = poison::message(&run, poison_sent);
                if poison::inject(&config, &id, &key, &body).await.is_ok() {
                    c.poison_ids.insert(id);
                    poison_sent += 1;
                }
            }
        }
        let d = done.load(Ordering::Relaxed);
        if broker.pending() && d >= broker.due {
            eprintln!("faults: restarting RabbitMQ ({d} lifecycles done)");
            match infra::restart("RabbitMQ", &args.broker_restart, 5672, &broker.gone).await {
                Ok(t) => c.broker_away = Some(t),
                Err(e) => c.errors.push(format!("{e:#}")),
            }
        }
        if db.pending() && d >= db.due {
            eprintln!("faults: restarting PostgreSQL ({d} lifecycles done)");
            match infra::restart("PostgreSQL", &args.db_restart, 5432, &db.gone).await {
                Ok(t) => c.db_away = Some(t),
                Err(e) => c.errors.push(format!("{e:#}")),
            }
        }
    }
    // Whatever poison is left goes in now, with the services back up.
    while poison_sent < args.poison {
        let (id, key, body) = poison::message(&run, poison_sent);
        match poison::inject(&config, &id, &key, &body).await {
            Ok(()) => {
                c.poison_ids.insert(id);
                poison_sent += 1;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    c
}

/// Waits until `check` says yes, or `within` passes.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let env = RunEnv::create("faults").await?;
    let config = env.config.clone();
    let log_dir = std::env::temp_dir().join(format!("mediadist-faults-{}", env.run_id));
    println!(
        "mediadist fault suite: {} lifecycles, {} at once; namespace {}, database {}, service logs in {}",
        args.lifecycles,
        args.concurrency,
        config.namespace,
        env.db_name(),
        log_dir.display()
    );

    // The outside subscriber exists before the first event does.
    let conn = amqp::connect(&config.amqp_url, "proof-setup").await?;
    let ch = conn.create_channel().await?;
    amqp::declare_topology(&ch, &config).await?;
    let subscriber = queues::declare_subscriber(&ch, &config).await?;
    let _ = conn.close(200, "bye").await;

    let fleet = Fleet::start(&config, args.consumers, &log_dir)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let supervisor = tokio::spawn({
        let (fleet, stop) = (fleet.clone(), stop_rx.clone());
        async move {
            fleet
                .supervise_until(Duration::from_millis(200), stop)
                .await
        }
    });
    let done = Arc::new(AtomicU64::new(0));
    let restarts = Arc::new([
        Restart::new(!args.no_broker_restart, args.lifecycles / 3, &args),
        Restart::new(!args.no_db_restart, args.lifecycles * 2 / 3, &args),
    ]);
    let chaos_task = tokio::spawn(chaos(
        fleet.clone(),
        config.clone(),
        args.clone(),
        env.run_id.clone(),
        done.clone(),
        restarts.clone(),
        stop_rx,
    ));

    let started = Instant::now();
    let driver = Driver::new(config.clone(), "proof/faults", Duration::from_secs(3));
    let mut rng = rand::rngs::StdRng::from_entropy();
    let plan: Vec<(u64, Ending, &str)> = (0..args.lifecycles)
        .map(|n| {
            let urgency = ["NORMAL", "NORMAL", "URGENT", "STAT"][rng.gen_range(0..4)];
            (n, Ending::pick(&mut rng), urgency)
        })
        .collect();
    let lifecycles: Vec<Lifecycle> = futures_util::stream::iter(plan)
        .map(|(n, ending, urgency)| {
            let (driver, run, key, done) = (&driver, &env.run_id, &config.slip_key, &done);
            let restarts = &restarts;
            async move {
                for r in restarts.iter() {
                    r.admit(n).await;
                }
                let l = lifecycle(driver, run, key, n, ending, urgency).await;
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                if d % 1000 == 0 {
                    eprintln!("faults: {d} lifecycles done");
                }
                l
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let _ = stop_tx.send(true);
    let chaos = chaos_task.await?;
    supervisor.await?;
    fleet.supervise()?;
    driver.close().await;

    // Let the relay publish everything and the poison reach the dead letters.
    let drained = eventually(Duration::from_secs(120), || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&env.pool)
            .await
            .is_ok_and(|n| n == 0)
    })
    .await;
    let conn = amqp::connect(&config.amqp_url, "proof-check").await?;
    let ch = conn.create_channel().await?;
    let want_dead = chaos.poison_ids.len() as u32;
    eventually(Duration::from_secs(60), || async {
        queues::depth(&ch, &config.dead_queue())
            .await
            .is_ok_and(|n| n >= want_dead)
    })
    .await;
    let unclean = fleet.stop(Duration::from_secs(30));

    // What is left in the broker.
    let mut stuck = BTreeMap::new();
    for stage in mediadist_domain::catalog::Stage::ALL {
        stuck.insert(
            stage.name(),
            queues::depth(&ch, &config.stage_queue(stage)).await?,
        );
    }
    let dead = queues::drain(&ch, &config.dead_queue()).await?;
    let received = queues::drain(&ch, &subscriber).await?;
    let _ = conn.close(200, "bye").await;

    // What the database says, against the model.
    let rows = sqlx::query(
        "SELECT d.id, d.status, array_agg(e.event ORDER BY e.id) AS trail
         FROM media_distributions d JOIN distribution_events e ON e.distribution_id = d.id GROUP BY d.id",
    )
    .fetch_all(&env.pool)
    .await?;
    let actual: HashMap<i64, (String, Vec<String>)> = rows
        .iter()
        .map(|r| (r.get("id"), (r.get("status"), r.get("trail"))))
        .collect();
    let (mut wrong_status, mut wrong_trail, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    for l in &lifecycles {
        if let Some(f) = &l.failure {
            failures.push(format!("lifecycle {}: {f}", l.n));
            continue;
        }
        let Some(id) = l.distribution else { continue };
        match actual.get(&id) {
            Some((status, _)) if status != l.ending.final_status() => wrong_status.push(format!(
                "MD-{id}: {status}, model {}",
                l.ending.final_status()
            )),
            Some((_, trail)) if *trail != l.ending.audit() => {
                wrong_trail.push(format!("MD-{id}: {trail:?}, model {:?}", l.ending.audit()))
            }
            Some(_) => {}
            None => wrong_status.push(format!("MD-{id}: missing")),
        }
    }
    let scalar = |sql: &'static str| {
        let pool = env.pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await }
    };
    let distributions = scalar("SELECT count(*) FROM media_distributions").await?;
    let applied_twice =
        scalar("SELECT count(*) - count(DISTINCT command_id) FROM distribution_events").await?;
    let audit_rows = scalar("SELECT count(*) FROM distribution_events").await?;
    // The list's tallies (migration 0005) against counting the rows.
    let wrong_tallies = scalar(
        "SELECT count(*) FROM distribution_counts c
         LEFT JOIN (SELECT status, media_type, urgency, count(*) AS n FROM media_distributions
                    WHERE deleted_at IS NULL GROUP BY 1, 2, 3) live USING (status, media_type, urgency)
         WHERE c.n <> coalesce(live.n, 0)",
    )
    .await?;
    let inbox_rows = scalar("SELECT count(*) FROM inbox").await?;
    let outbox_rows = scalar("SELECT count(*) FROM outbox").await?;
    let unpublished = scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL").await?;
    let outbox_ids: HashSet<String> =
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT event_id FROM outbox")
            .fetch_all(&env.pool)
            .await?
            .into_iter()
            .map(|u| u.to_string())
            .collect();
    let seen: HashSet<String> = received
        .iter()
        .filter_map(|m| m.message_id.clone())
        .collect();
    let lost = outbox_ids.difference(&seen).count();
    let duplicates = received.len() - seen.len();
    // A worker killed between dead-lettering and its ack dead-letters the
    // message again on redelivery: poison twice is still only poison.
    let dead_poison: HashSet<&String> = dead
        .iter()
        .filter_map(|m| m.message_id.as_ref())
        .filter(|id| chaos.poison_ids.contains(*id))
        .collect();
    let dead_other = dead
        .iter()
        .filter(|m| {
            !m.message_id
                .as_ref()
                .is_some_and(|id| chaos.poison_ids.contains(id))
        })
        .count();
    let dead_with_reason = dead.iter().filter(|m| m.reason.is_some()).count();
    let commands_sent: u64 = lifecycles.iter().map(|l| l.commands).sum();
    let collected = lifecycles
        .iter()
        .filter(|l| l.ending == Ending::Collected)
        .count();
    let total_stuck: u32 = stuck.values().sum();

    let kills: Vec<String> = chaos
        .kills
        .iter()
        .map(|(k, v)| format!("{} {v}", k.trim_start_matches("mediadist-")))
        .collect();
    println!();
    println!(
        "lifecycles  {} ({} to COLLECTED, {} CANCELLED at some stage) in {:.1} s = {:.1} lifecycles/s",
        lifecycles.len(),
        collected,
        lifecycles.len() - collected,
        elapsed.as_secs_f64(),
        lifecycles.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "chaos       SIGKILLs: {} ({}); RabbitMQ restarted: {}; PostgreSQL restarted: {}",
        chaos.kills.values().sum::<u32>(),
        kills.join(", "),
        chaos
            .broker_away
            .map_or("no".into(), |d| format!("away {:.1} s", d.as_secs_f64())),
        chaos
            .db_away
            .map_or("no".into(), |d| format!("away {:.1} s", d.as_secs_f64())),
    );
    println!(
        "producer    {commands_sent} commands, each under one id; {} resends after a lost answer, {} connections",
        driver.resends.load(Ordering::Relaxed),
        driver.reconnects.load(Ordering::Relaxed)
    );
    println!(
        "applied     {distributions} distributions (model {}); wrong status {}; wrong audit trail {}; applied twice {applied_twice}; inbox {inbox_rows} (model {commands_sent}); wrong list tallies {wrong_tallies}",
        lifecycles.len(),
        wrong_status.len(),
        wrong_trail.len()
    );
    println!(
        "events      {outbox_rows} in the outbox for {audit_rows} audit rows; unpublished {unpublished}; subscriber got {} ({} distinct): lost {lost}, duplicates {duplicates}",
        received.len(),
        seen.len()
    );
    println!("stuck       {total_stuck} messages left in the stage queues {stuck:?}");
    println!(
        "dead        {} dead letters: {} of {} injected poison ({} twice, after a kill before the ack), {dead_other} other; {dead_with_reason} carry a reason",
        dead.len(),
        dead_poison.len(),
        chaos.poison_ids.len(),
        dead.len() - dead_other - dead_poison.len()
    );
    for f in fleet.figures() {
        println!(
            "service     {:<22} killed {:>3}, started again {:>3}, peak RSS {:.1} MB",
            f.name,
            f.kills,
            f.restarts,
            f.peak_rss_kib as f64 / 1024.0
        );
    }
    let mut problems: Vec<String> = Vec::new();
    problems.extend(chaos.errors.iter().cloned());
    problems.extend(failures.iter().take(10).cloned());
    problems.extend(wrong_status.iter().take(10).cloned());
    problems.extend(wrong_trail.iter().take(10).cloned());
    let mut fail = |cond: bool, what: String| {
        if cond {
            problems.push(what);
        }
    };
    fail(
        !failures.is_empty(),
        format!("{} lifecycles failed", failures.len()),
    );
    fail(
        distributions != lifecycles.len() as i64,
        "distribution count differs from the model".into(),
    );
    fail(
        applied_twice != 0,
        format!("{applied_twice} commands applied twice"),
    );
    fail(
        wrong_tallies != 0,
        format!("{wrong_tallies} list tallies differ from the rows"),
    );
    fail(
        inbox_rows != commands_sent as i64,
        "inbox rows differ from commands sent".into(),
    );
    fail(
        outbox_rows != audit_rows,
        "outbox and audit trail differ".into(),
    );
    fail(
        !drained || unpublished != 0,
        format!("{unpublished} events never left the outbox"),
    );
    fail(
        lost != 0,
        format!("{lost} events lost on the way to the subscriber"),
    );
    fail(total_stuck != 0, format!("{total_stuck} messages stuck"));
    fail(
        dead_other != 0 || dead_poison.len() != chaos.poison_ids.len(),
        "dead-letter queue does not hold exactly the injected poison".into(),
    );
    fail(
        dead_with_reason != dead.len(),
        "a dead letter has no reason".into(),
    );
    fail(
        !unclean.is_empty(),
        format!("not stopped cleanly on SIGTERM: {unclean:?}"),
    );
    fail(
        !args.no_broker_restart && chaos.broker_away.is_none(),
        "RabbitMQ was not restarted".into(),
    );
    fail(
        !args.no_db_restart && chaos.db_away.is_none(),
        "PostgreSQL was not restarted".into(),
    );
    if !args.keep {
        env.destroy(&[subscriber]).await;
    }
    if problems.is_empty() {
        println!("RESULT      PASS: 0 lost, 0 applied twice, 0 stuck");
        Ok(())
    } else {
        for p in &problems {
            println!("PROBLEM     {p}");
        }
        println!("RESULT      FAIL");
        std::process::exit(1)
    }
}
