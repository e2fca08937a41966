//! `mediadist-bench`: the pipeline against the raw limit, in one run on this
//! machine. Raw SQL is the workers' own transactions called directly (no
//! broker); raw AMQP is lapin publish-with-confirm and consume-with-ack on a
//! quorum queue; the pipeline is full lifecycles through the separate service
//! binaries; latency is a scan's command to its event at an outside
//! subscriber at a steady rate; memory is each service's peak RSS.

use clap::Parser;
use futures_util::{FutureExt, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use mediadist_domain::catalog::CommandType;
use mediadist_domain::envelope::{parse_command, CloudEvent};
use mediadist_domain::reply::Outcome;
use mediadist_platform::client::CommandClient;
use mediadist_platform::worker::{self, Context, Handler};
use mediadist_platform::{amqp, db};
use mediadist_proof::driver::Driver;
use mediadist_proof::fleet::Fleet;
use mediadist_proof::lifecycle::{lifecycle, Lifecycle};
use mediadist_proof::model::{self, Ending};
use mediadist_proof::run::RunEnv;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    about = "Benchmark: the pipeline beside the raw limit (bare worker transactions, bare lapin), latency at a steady rate, peak RSS",
    after_help = "Build first: cargo build --release --workspace --bins (the services run from this tool's directory)."
)]
struct Args {
    /// Lifecycles (register, request, start, ready, handover) per throughput measurement.
    #[arg(long, default_value_t = 2000)]
    lifecycles: u64,
    /// Lifecycles in flight at once.
    #[arg(long, default_value_t = 48)]
    concurrency: usize,
    /// Consumers per worker process (the raw SQL runs with as many connections as all workers together).
    #[arg(long, default_value_t = 4)]
    consumers: usize,
    /// Messages for the raw AMQP measurement.
    #[arg(long, default_value_t = 20_000)]
    amqp_messages: u64,
    /// Steady command rate for the latency measurement.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// How long the latency measurement runs.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

const COMMANDS_PER_LIFECYCLE: u64 = 5;

fn envelope(command: CommandType, data: serde_json::Value) -> anyhow::Result<Vec<u8>> {
    let ev = CloudEvent::new(
        uuid::Uuid::new_v4().to_string(),
        "proof/bench",
        command.type_name(),
        chrono::Utc::now(),
        data,
    );
    Ok(serde_json::to_vec(&ev)?)
}

fn handler(command: CommandType) -> Handler {
    use mediadist_domain::catalog::Stage;
    match command.stage() {
        Stage::Intake => |c, e, x| mediadist_intake::handle(c, e, x).boxed(),
        Stage::Preparation => |c, e, x| mediadist_preparation::handle(c, e, x).boxed(),
        Stage::Collection => |c, e, x| mediadist_collection::handle(c, e, x).boxed(),
    }
}

/// One command exactly as a worker applies it (parse, inbox, handler,
/// audit, outbox, commit), without the broker.
async fn apply_bare(
    ctx: &Context,
    command: CommandType,
    data: serde_json::Value,
) -> anyhow::Result<mediadist_domain::reply::Reply> {
    let bytes = envelope(command, data)?;
    let env = parse_command(&bytes)?;
    Ok(worker::apply(&env, ctx, handler(command)).await?)
}

/// Registers and requests study `n`; then, if `steps`, the workflow to COLLECTED.
async fn lifecycle_bare(ctx: &Context, run: &str, n: u64, steps: bool) -> anyhow::Result<i64> {
    apply_bare(ctx, CommandType::RegisterStudy, model::register(run, n)).await?;
    let reply = apply_bare(
        ctx,
        CommandType::RequestMedia,
        model::request(run, n, "NORMAL"),
    )
    .await?;
    let id = reply
        .distribution_id
        .ok_or_else(|| anyhow::anyhow!("request refused: {:?}", reply.rejection))?;
    if steps {
        let token = ctx.config.slip_key.sign(id, 1).to_string();
        for step in 1..=3 {
            let (command, data) = model::step(step, &token, n);
            let r = apply_bare(ctx, command, data).await?;
            anyhow::ensure!(r.outcome == Outcome::Accepted, "refused: {:?}", r.rejection);
        }
    }
    Ok(id)
}

async fn raw_sql(env: &RunEnv, args: &Args, first: u64) -> anyhow::Result<f64> {
    let connections = (3 * args.consumers) as u32;
    let ctx = Context {
        config: env.config.clone(),
        pool: db::connect(&env.config.database_url, connections).await?,
    };
    let started = Instant::now();
    let results: Vec<anyhow::Result<i64>> =
        futures_util::stream::iter(first..first + args.lifecycles)
            .map(|n| {
                let ctx = &ctx;
                async move { lifecycle_bare(ctx, &env.run_id, n, true).await }
            })
            .buffer_unordered(args.concurrency)
            .collect()
            .await;
    let secs = started.elapsed().as_secs_f64();
    for r in results {
        r?;
    }
    ctx.pool.close().await;
    Ok(args.lifecycles as f64 / secs)
}

/// Publish-with-confirm from `concurrency` producers sharing one channel (as
/// the command client does) and consume-with-ack at the workers' prefetch.
async fn raw_amqp(env: &RunEnv, args: &Args) -> anyhow::Result<f64> {
    let config = &env.config;
    let queue = format!("{}.bench-raw", config.namespace);
    let conn = amqp::connect(&config.amqp_url, "bench-raw").await?;
    let setup = conn.create_channel().await?;
    setup
        .queue_declare(
            &queue,
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            amqp::quorum_args(),
        )
        .await?;
    let consumer_conn = amqp::connect(&config.amqp_url, "bench-raw-consumer").await?;
    let cch = consumer_conn.create_channel().await?;
    cch.basic_qos(config.prefetch, BasicQosOptions::default())
        .await?;
    let mut consumer = cch
        .basic_consume(
            &queue,
            "raw",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let total = args.amqp_messages;
    let body = envelope(
        CommandType::StartPreparing,
        serde_json::json!({"target": {"distribution_id": 1}, "actor": "rad1"}),
    )?;
    let pch = amqp::confirm_channel(&conn).await?;
    let started = Instant::now();
    let consumed = tokio::spawn(async move {
        let mut n = 0;
        while n < total {
            match consumer.next().await {
                Some(Ok(d)) => {
                    d.acker.ack(BasicAckOptions::default()).await?;
                    n += 1;
                }
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        Ok::<u64, lapin::Error>(n)
    });
    let per = total / args.concurrency as u64;
    let published: Vec<anyhow::Result<()>> = futures_util::stream::iter(0..args.concurrency)
        .map(|p| {
            let (pch, body, queue) = (&pch, &body, &queue);
            let count = if p == 0 {
                total - per * (args.concurrency as u64 - 1)
            } else {
                per
            };
            async move {
                for i in 0..count {
                    amqp::publish_confirmed(
                        pch,
                        "",
                        queue,
                        body,
                        amqp::json_properties(&format!("raw-{p}-{i}")),
                    )
                    .await?;
                }
                Ok(())
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    for p in published {
        p?;
    }
    let got = consumed.await??;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(got == total, "consumed {got} of {total}");
    setup
        .queue_delete(&queue, Default::default())
        .await
        .map(|_| ())?;
    let _ = consumer_conn.close(200, "bye").await;
    let _ = conn.close(200, "bye").await;
    Ok(total as f64 / secs)
}

async fn pipeline(env: &RunEnv, args: &Args, first: u64) -> anyhow::Result<f64> {
    let driver = Driver::new(env.config.clone(), "proof/bench", Duration::from_secs(30));
    let key = &env.config.slip_key;
    let started = Instant::now();
    let results: Vec<Lifecycle> = futures_util::stream::iter(first..first + args.lifecycles)
        .map(|n| {
            let driver = &driver;
            async move { lifecycle(driver, &env.run_id, key, n, Ending::Collected, "NORMAL").await }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    if let Some(f) = results.iter().find_map(|l| l.failure.as_ref()) {
        anyhow::bail!("a pipeline lifecycle failed: {f}");
    }
    driver.close().await;
    Ok(args.lifecycles as f64 / secs)
}

/// Start-preparing scans at a steady rate; each timed from its publish to
/// its `preparing` event at an outside subscriber. Returns milliseconds.
async fn latency(env: &RunEnv, args: &Args, first: u64) -> anyhow::Result<Vec<f64>> {
    let config = &env.config;
    let count = args.rate * args.seconds;
    // Setup, not measured: requests made with the workers' own transactions.
    let ctx = Context {
        config: config.clone(),
        pool: db::connect(&config.database_url, 4).await?,
    };
    let ids: Vec<i64> = futures_util::stream::iter(first..first + count)
        .map(|n| {
            let ctx = &ctx;
            async move { lifecycle_bare(ctx, &env.run_id, n, false).await }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    // Let the relay publish the setup's events before measuring.
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&ctx.pool)
        .await?
        > 0
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ctx.pool.close().await;

    let conn = amqp::connect(&config.amqp_url, "bench-subscriber").await?;
    let ch = conn.create_channel().await?;
    let q = ch
        .queue_declare(
            "",
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    ch.queue_bind(
        q.name().as_str(),
        &config.events_exchange(),
        "org.mediadist.distribution.preparing.v1",
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    let mut events = ch
        .basic_consume(
            q.name().as_str(),
            "bench",
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let arrivals = tokio::spawn({
        let sent = sent.clone();
        async move {
            let mut ms = Vec::with_capacity(count as usize);
            while (ms.len() as u64) < count {
                let Ok(Some(Ok(d))) =
                    tokio::time::timeout(Duration::from_secs(30), events.next()).await
                else {
                    break;
                };
                let at = Instant::now();
                let body: serde_json::Value = serde_json::from_slice(&d.data).unwrap_or_default();
                let subject = body["subject"].as_str().unwrap_or_default().to_string();
                let t0 = sent.lock().ok().and_then(|m| m.get(&subject).copied());
                if let Some(t0) = t0 {
                    ms.push((at - t0).as_secs_f64() * 1000.0);
                }
            }
            ms
        }
    });
    let client = CommandClient::connect(config, "proof/bench-scans").await?;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for id in &ids {
        tick.tick().await;
        let data = serde_json::json!({"target": {"distribution_id": id}, "actor": "rad1"});
        if let Ok(mut m) = sent.lock() {
            m.insert(id.to_string(), Instant::now());
        }
        client
            .publish(
                &uuid::Uuid::new_v4().to_string(),
                CommandType::StartPreparing,
                data,
            )
            .await?;
    }
    let ms = arrivals.await?;
    client.close().await;
    let _ = conn.close(200, "bye").await;
    anyhow::ensure!(
        ms.len() as u64 == count,
        "only {} of {count} events arrived",
        ms.len()
    );
    Ok(ms)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let env = RunEnv::create("bench").await?;
    let log_dir = std::env::temp_dir().join(format!("mediadist-bench-{}", env.run_id));
    eprintln!(
        "bench: namespace {}, database {}, service logs in {}",
        env.config.namespace,
        env.db_name(),
        log_dir.display()
    );
    let conn = amqp::connect(&env.config.amqp_url, "bench-setup").await?;
    amqp::declare_topology(&conn.create_channel().await?, &env.config).await?;
    let _ = conn.close(200, "bye").await;

    eprintln!("bench: raw SQL ({} lifecycles)", args.lifecycles);
    let sql = raw_sql(&env, &args, 0).await?;
    eprintln!("bench: raw AMQP ({} messages)", args.amqp_messages);
    let raw_amqp = raw_amqp(&env, &args).await?;
    let fleet = Fleet::start(&env.config, args.consumers, &log_dir)?;
    eprintln!("bench: pipeline ({} lifecycles)", args.lifecycles);
    let pipe = pipeline(&env, &args, 1_000_000).await?;
    eprintln!(
        "bench: latency ({} commands/s for {} s)",
        args.rate, args.seconds
    );
    let mut ms = latency(&env, &args, 2_000_000).await?;
    ms.sort_by(f64::total_cmp);
    fleet.supervise()?;
    let unclean = fleet.stop(Duration::from_secs(20));
    let figures = fleet.figures();

    let per_cmd = COMMANDS_PER_LIFECYCLE as f64;
    let limit = (sql * per_cmd).min(raw_amqp);
    println!(
        "mediadist benchmark: {} lifecycles of {COMMANDS_PER_LIFECYCLE} commands, {} in flight, {} consumers per worker",
        args.lifecycles, args.concurrency, args.consumers
    );
    println!(
        "raw SQL     {:>8.0} commands/s  ({:.0} lifecycles/s; the workers' transactions called directly, {} connections)",
        sql * per_cmd,
        sql,
        3 * args.consumers
    );
    println!(
        "raw AMQP    {:>8.0} messages/s  (publish with confirm + consume with ack, one quorum queue, {} producers)",
        raw_amqp, args.concurrency
    );
    println!(
        "pipeline    {:>8.0} commands/s  ({:.0} lifecycles/s through the separate service binaries)",
        pipe * per_cmd,
        pipe
    );
    println!(
        "ratios      pipeline/raw SQL {:.2}, pipeline/raw AMQP {:.2}, pipeline/limit {:.2} (target >= 0.5)",
        pipe / sql,
        pipe * per_cmd / raw_amqp,
        pipe * per_cmd / limit
    );
    println!(
        "latency     scan command -> event at a subscriber, {} commands/s for {} s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 <= 20 ms)",
        args.rate,
        args.seconds,
        percentile(&ms, 50.0),
        percentile(&ms, 99.0),
        ms.last().copied().unwrap_or(f64::NAN)
    );
    for f in &figures {
        println!(
            "peak RSS    {:<22} {:>6.1} MB (target <= 40 MB)",
            f.name,
            f.peak_rss_kib as f64 / 1024.0
        );
    }
    if !unclean.is_empty() {
        println!("note        not stopped cleanly: {unclean:?}");
    }
    env.destroy(&[]).await;
    Ok(())
}
