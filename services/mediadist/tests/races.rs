//! Races on one distribution, many times over, against the real workers
//! with several consumers per service (so two commands on the same
//! distribution are genuinely processed at the same moment):
//!
//! - the same slip handed over at two desks at once: one handover, the
//!   other desk told ALREADY_COLLECTED;
//! - cancel and mark-ready on the same PREPARING request at once;
//! - cancel and handover on the same READY request at once.
//!
//! Whatever the order the two commands were applied in, the database must
//! tell exactly that order: the row, the audit trail and the outbox.

mod common;

use common::TestEnv;
use futures_util::{stream, StreamExt};
use mediadist_domain::catalog::CommandType;
use mediadist_domain::reply::{Outcome, Reply};
use mediadist_domain::{ReasonCode, Reference, Status};
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);
/// Commands (or pairs of commands) in flight at once.
const PARALLEL: usize = 32;
/// Consumers per worker service, at least.
const CONSUMERS: usize = 4;
const MEDIA: [&str; 5] = ["CD", "DVD", "XRAY_FILM", "USB", "DIGITAL_COPY"];

async fn start() -> TestEnv {
    let env = TestEnv::start_with(|c| c.consumers = c.consumers.max(CONSUMERS)).await;
    for (user, role) in [
        ("clerk1", "CLERK"),
        ("rad1", "RADIOGRAPHER"),
        ("desk1", "RECEPTION"),
        ("desk2", "RECEPTION"),
        ("admin1", "ADMIN"),
    ] {
        env.add_staff(user, role).await;
    }
    env
}

async fn send(env: &TestEnv, c: CommandType, data: Value) -> Reply {
    env.client
        .send(c, data, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{c:?}: {e}"))
}

async fn accepted(env: &TestEnv, c: CommandType, data: Value) -> Reply {
    let r = send(env, c, data).await;
    assert_eq!(r.outcome, Outcome::Accepted, "{c:?}: {r:?}");
    r
}

/// A valid synthetic MyKad for patient `n`: an existing date, place code 14.
fn mykad(n: usize) -> String {
    format!(
        "{:02}{:02}{:02}-14-{:04}",
        70 + n % 30,
        1 + n % 12,
        1 + n % 28,
        1000 + n
    )
}

/// One distribution under test.
#[derive(Debug, Clone)]
struct Dist {
    id: i64,
    token: String,
    /// The patient's MyKad, for a self-collection.
    ic: String,
    /// The audit rows its preparation wrote.
    history: Vec<AuditRow>,
}

/// Registers `studies` studies (ten per synthetic patient), requests each in
/// all five media, and takes every request to `until` (REQUESTED,
/// PREPARING or READY) through the slip, all in bounded parallel.
async fn distributions(env: &TestEnv, studies: usize, until: Status) -> Vec<Dist> {
    let per_study = stream::iter(0..studies)
        .map(|n| async move {
            let patient = n / 10;
            let uid = format!("1.2.826.0.1.3680043.10.7.{n}");
            accepted(
                env,
                CommandType::RegisterStudy,
                json!({
                    "patient": { "mrn": format!("SYN7{patient:04}"), "name": format!("Synthetic^Race{patient}"),
                                 "ic": mykad(patient) },
                    "study": { "uid": uid, "modalities": ["CT"] },
                    "examinations": [{ "series_uid": format!("{uid}.1"), "modality": "CT", "instance_count": 10 }]
                }),
            )
            .await;
            (uid, mykad(patient))
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await;
    let wanted: Vec<(String, String, &str)> = per_study
        .into_iter()
        .flat_map(|(uid, ic)| MEDIA.map(|m| (uid.clone(), ic.clone(), m)))
        .collect();
    stream::iter(wanted)
        .map(|(uid, ic, media)| async move {
            let r = accepted(
                env,
                CommandType::RequestMedia,
                json!({
                    "study_uids": [uid], "media_type": media, "quantity": 1, "urgency": "NORMAL",
                    "requester": { "type": "PATIENT" }, "actor": "clerk1"
                }),
            )
            .await;
            let id = r.distribution_id.expect("a distribution id");
            let token = env.config.slip_key.sign(id, 1).to_string();
            let mut history = vec![row("requested", "clerk1", &r.command_id, None, "REQUESTED")];
            if until != Status::Requested {
                let r = accepted(
                    env,
                    CommandType::StartPreparing,
                    json!({"target": {"token": token}, "actor": "rad1"}),
                )
                .await;
                assert_eq!(r.status, Some(Status::Preparing));
                history.push(row("preparing", "rad1", &r.command_id, Some("REQUESTED"), "PREPARING"));
            }
            if until == Status::Ready {
                let r = accepted(
                    env,
                    CommandType::MarkReady,
                    json!({"target": {"token": token}, "storage_location": format!("Shelf {id}"), "actor": "rad1"}),
                )
                .await;
                assert_eq!(r.status, Some(Status::Ready));
                history.push(row("ready", "rad1", &r.command_id, Some("PREPARING"), "READY"));
            }
            Dist {
                id,
                token,
                ic,
                history,
            }
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await
}

fn handover(d: &Dist, desk: &str) -> Value {
    json!({
        "target": { "token": d.token },
        "collector": { "name": format!("Synthetic Collector {}", d.id),
                       "document": { "type": "MYKAD", "number": d.ic }, "relationship": "SELF" },
        "document_seen": true,
        "actor": desk
    })
}

fn cancel(d: &Dist) -> Value {
    json!({
        "target": { "distribution_id": d.id },
        "reason": format!("patient left before {}", Reference::from_id(d.id)),
        "actor": "admin1"
    })
}

fn mark_ready(d: &Dist) -> Value {
    json!({
        "target": { "token": d.token },
        "storage_location": format!("Shelf C{}", d.id),
        "actor": "rad1"
    })
}

/// Sends two commands on one distribution at the same moment; `flip` swaps
/// which is published first.
async fn at_once(
    env: &TestEnv,
    flip: bool,
    a: (CommandType, Value),
    b: (CommandType, Value),
) -> (Reply, Reply) {
    if flip {
        let (rb, ra) = tokio::join!(send(env, b.0, b.1), send(env, a.0, a.1));
        (ra, rb)
    } else {
        tokio::join!(send(env, a.0, a.1), send(env, b.0, b.1))
    }
}

/// Everything the database holds about one distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Trail {
    status: String,
    storage_location: Option<String>,
    cancellation_reason: Option<String>,
    handed_over_by: Option<String>,
    collected_by: Option<String>,
    /// (event, actor, command id, from, to), in order.
    audit: Vec<(String, String, String, Option<String>, String)>,
    /// Event names in the outbox, in order.
    outbox: Vec<String>,
    /// Whether the request still blocks another of its studies and media.
    active: bool,
}

async fn trails(env: &TestEnv) -> BTreeMap<i64, Trail> {
    let rows = sqlx::query(
        "SELECT d.id, d.status, d.storage_location, d.cancellation_reason, ho.username AS handed_over_by,
                d.collected_by,
                (SELECT bool_or(ds.active) FROM distribution_studies ds WHERE ds.distribution_id = d.id) AS active,
                (SELECT coalesce(json_agg(json_build_array(e.event, e.actor, e.command_id, e.from_status, e.to_status)
                          ORDER BY e.id), '[]') FROM distribution_events e WHERE e.distribution_id = d.id) AS audit,
                (SELECT coalesce(json_agg(o.event_type ORDER BY o.id), '[]') FROM outbox o
                  WHERE o.subject = d.id::text) AS outbox
         FROM media_distributions d LEFT JOIN staff ho ON ho.id = d.handed_over_by_id",
    )
    .fetch_all(&env.pool)
    .await
    .expect("distributions");
    rows.into_iter()
        .map(|r| {
            let audit: Value = r.get("audit");
            let outbox: Value = r.get("outbox");
            let audit = serde_json::from_value(audit).expect("audit rows");
            let outbox: Vec<String> = serde_json::from_value(outbox).expect("outbox rows");
            let trail = Trail {
                status: r.get("status"),
                storage_location: r.get("storage_location"),
                cancellation_reason: r.get("cancellation_reason"),
                handed_over_by: r.get("handed_over_by"),
                collected_by: r.get("collected_by"),
                audit,
                outbox: outbox
                    .iter()
                    .map(|t| {
                        t.trim_start_matches("org.mediadist.distribution.")
                            .trim_end_matches(".v1")
                            .to_string()
                    })
                    .collect(),
                active: r.get::<Option<bool>, _>("active").unwrap_or(false),
            };
            (r.get("id"), trail)
        })
        .collect()
}

/// When each command's transaction began (the inbox row's `now()`).
async fn began(env: &TestEnv) -> HashMap<String, chrono::DateTime<chrono::Utc>> {
    sqlx::query_as("SELECT message_id, processed_at FROM inbox")
        .fetch_all(&env.pool)
        .await
        .expect("inbox")
        .into_iter()
        .collect()
}

/// When each command's event was put in the outbox (its CloudEvents
/// `time`, taken just before COMMIT), by command id.
async fn enqueued(env: &TestEnv) -> HashMap<String, chrono::DateTime<chrono::Utc>> {
    sqlx::query_as(
        "SELECT e.command_id, (o.payload->>'time')::timestamptz FROM distribution_events e
         JOIN outbox o ON o.subject = e.distribution_id::text AND o.payload->>'correlationid' = e.correlation_id
          AND o.event_type = 'org.mediadist.distribution.' || e.event || '.v1'",
    )
    .fetch_all(&env.pool)
    .await
    .expect("outbox")
    .into_iter()
    .collect()
}

/// Whether the command applied second had begun its transaction before the
/// one applied first had written its event, i.e. before it committed: the
/// two were in flight together and the row lock decided.
struct Overlap {
    began: HashMap<String, chrono::DateTime<chrono::Utc>>,
    enqueued: HashMap<String, chrono::DateTime<chrono::Utc>>,
}

impl Overlap {
    async fn load(env: &TestEnv) -> Overlap {
        Overlap {
            began: began(env).await,
            enqueued: enqueued(env).await,
        }
    }

    fn together(&self, first: &Reply, second: &Reply) -> bool {
        match (
            self.enqueued.get(&first.command_id),
            self.began.get(&second.command_id),
        ) {
            (Some(done), Some(start)) => start < done,
            _ => false,
        }
    }
}

type AuditRow = (String, String, String, Option<String>, String);

fn row(event: &str, actor: &str, command: &str, from: Option<&str>, to: &str) -> AuditRow {
    (
        event.into(),
        actor.into(),
        command.into(),
        from.map(String::from),
        to.into(),
    )
}

/// What went wrong, by kind, so one bug shows as one line with a count.
#[derive(Default)]
struct Failures(BTreeMap<&'static str, Vec<String>>);

impl Failures {
    fn add(&mut self, kind: &'static str, what: String) {
        self.0.entry(kind).or_default().push(what);
    }

    fn assert_none(&self, of: &str) {
        if self.0.is_empty() {
            return;
        }
        let report: Vec<String> = self
            .0
            .iter()
            .map(|(kind, all)| {
                format!(
                    "{kind}: {} of {of}, e.g.\n  {}",
                    all.len(),
                    all.iter().take(3).cloned().collect::<Vec<_>>().join("\n  ")
                )
            })
            .collect();
        panic!("{}", report.join("\n"));
    }
}

fn events(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_slip_handed_over_at_two_desks_at_once_is_collected_once() {
    let started = Instant::now();
    let env = start().await;
    let dists = distributions(&env, 200, Status::Ready).await;
    assert_eq!(dists.len(), 1000);
    let prepared = started.elapsed();

    // Two reception staff, two command ids, the same slip, at once; which
    // desk publishes first alternates.
    let env_ref = &env;
    let outcomes: Vec<(Dist, [(&str, Reply); 2])> = stream::iter(dists.into_iter().enumerate())
        .map(|(n, d)| async move {
            let (first, second) = if n % 2 == 0 {
                ("desk1", "desk2")
            } else {
                ("desk2", "desk1")
            };
            let (a, b) = tokio::join!(
                send(env_ref, CommandType::Handover, handover(&d, first)),
                send(env_ref, CommandType::Handover, handover(&d, second))
            );
            (d, [(first, a), (second, b)])
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let raced = started.elapsed() - prepared;

    let trails = trails(&env).await;
    let overlap = Overlap::load(&env).await;
    let mut failures = Failures::default();
    let mut overlapped = 0;
    let mut wins: BTreeMap<&str, usize> = BTreeMap::new();
    for (d, [(desk_a, a), (desk_b, b)]) in &outcomes {
        let (winner, won, lost) = match (a.outcome, b.outcome) {
            (Outcome::Accepted, Outcome::Rejected) => (*desk_a, a, b),
            (Outcome::Rejected, Outcome::Accepted) => (*desk_b, b, a),
            _ => {
                failures.add(
                    "not exactly one handover accepted",
                    format!("{}: {desk_a} got {a:?}, {desk_b} got {b:?}", d.id),
                );
                continue;
            }
        };
        *wins.entry(winner).or_default() += 1;
        if won.status != Some(Status::Collected) || won.distribution_id != Some(d.id) {
            failures.add("the winner's answer", format!("{}: {won:?}", d.id));
        }
        let refusal = lost.rejection.as_ref();
        if refusal.map(|r| r.code) != Some(ReasonCode::AlreadyCollected)
            || lost.distribution_id != Some(d.id)
        {
            failures.add("the loser's answer", format!("{}: {lost:?}", d.id));
        } else if !refusal
            .map(|r| r.message.ends_with(&format!("handed over by {winner}")))
            .unwrap_or(false)
        {
            // The desk that lost must be told who handed the media over.
            failures.add(
                "the ALREADY_COLLECTED refusal does not name the winning desk",
                format!(
                    "{}: won by {winner}, the other desk was told {:?}",
                    d.id,
                    refusal.map(|r| &r.message)
                ),
            );
        }
        let mut audit = d.history.clone();
        audit.push(row(
            "collected",
            winner,
            &won.command_id,
            Some("READY"),
            "COLLECTED",
        ));
        let want = Trail {
            status: "COLLECTED".into(),
            storage_location: Some(format!("Shelf {}", d.id)),
            cancellation_reason: None,
            handed_over_by: Some(winner.to_string()),
            collected_by: Some(format!("Synthetic Collector {}", d.id)),
            audit,
            outbox: events(&["requested", "preparing", "ready", "collected"]),
            active: false,
        };
        match trails.get(&d.id) {
            Some(t) if *t == want => {}
            other => failures.add(
                "the database does not tell one handover by the winner",
                format!("{}: holds {other:?}, expected {want:?}", d.id),
            ),
        }
        overlapped += usize::from(overlap.together(won, lost));
    }
    println!(
        "double handover: 1000 slips, 2000 handovers; prepared in {prepared:.1?}, raced in {raced:.1?}, test {:.1?}; \
         wins {wins:?}; {overlapped} pairs provably in flight together",
        started.elapsed()
    );
    failures.assert_none("1000 slips");
    let collected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE event_type = 'org.mediadist.distribution.collected.v1'",
    )
    .fetch_one(&env.pool)
    .await
    .expect("outbox");
    assert_eq!(collected, 1000, "one collected event per slip, in all");
    assert!(
        overlapped > 0,
        "no pair was ever in flight together: the race was not exercised"
    );
    env.stop().await;
}

/// Cancelling is allowed from REQUESTED, PREPARING and READY (DESIGN.md), so
/// cancel and mark-ready on a PREPARING request have two correct outcomes:
/// the cancel first (mark-ready refused ALREADY_CANCELLED, nothing shelved),
/// or mark-ready first and then the cancel from READY (both accepted, the
/// media to shred). Either way the database must tell exactly that order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_and_mark_ready_at_once_apply_in_one_order() {
    let started = Instant::now();
    let env = start().await;
    let dists = distributions(&env, 60, Status::Preparing).await;
    assert_eq!(dists.len(), 300);
    let prepared = started.elapsed();

    let env_ref = &env;
    let outcomes: Vec<(Dist, Reply, Reply)> = stream::iter(dists.into_iter().enumerate())
        .map(|(n, d)| async move {
            let (c, r) = at_once(
                env_ref,
                n % 2 == 1,
                (CommandType::Cancel, cancel(&d)),
                (CommandType::MarkReady, mark_ready(&d)),
            )
            .await;
            (d, c, r)
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let raced = started.elapsed() - prepared;

    let trails = trails(&env).await;
    let overlap = Overlap::load(&env).await;
    let mut failures = Failures::default();
    let (mut cancel_first, mut ready_first, mut overlapped) = (0, 0, 0);
    for (d, c, r) in &outcomes {
        let reason = format!("patient left before {}", Reference::from_id(d.id));
        let mut audit = d.history.clone();
        let (want, first, second) = match (c.outcome, r.outcome) {
            (Outcome::Accepted, Outcome::Rejected) => {
                cancel_first += 1;
                let refused = r.rejection.as_ref().map(|x| (x.code, x.message.clone()));
                let said = format!(
                    "{} was cancelled; this slip no longer works",
                    Reference::from_id(d.id)
                );
                if c.status != Some(Status::Cancelled)
                    || refused != Some((ReasonCode::AlreadyCancelled, said))
                    || r.distribution_id != Some(d.id)
                {
                    failures.add(
                        "answers",
                        format!("{}: cancel {c:?}, mark-ready {r:?}", d.id),
                    );
                }
                audit.push(row(
                    "cancelled",
                    "admin1",
                    &c.command_id,
                    Some("PREPARING"),
                    "CANCELLED",
                ));
                let want = Trail {
                    status: "CANCELLED".into(),
                    storage_location: None,
                    cancellation_reason: Some(reason),
                    handed_over_by: None,
                    collected_by: None,
                    audit,
                    outbox: events(&["requested", "preparing", "cancelled"]),
                    active: false,
                };
                (want, c, r)
            }
            (Outcome::Accepted, Outcome::Accepted) => {
                ready_first += 1;
                if r.status != Some(Status::Ready) || c.status != Some(Status::Cancelled) {
                    failures.add(
                        "answers",
                        format!("{}: cancel {c:?}, mark-ready {r:?}", d.id),
                    );
                }
                audit.push(row(
                    "ready",
                    "rad1",
                    &r.command_id,
                    Some("PREPARING"),
                    "READY",
                ));
                audit.push(row(
                    "cancelled",
                    "admin1",
                    &c.command_id,
                    Some("READY"),
                    "CANCELLED",
                ));
                let want = Trail {
                    status: "CANCELLED".into(),
                    storage_location: Some(format!("Shelf C{}", d.id)),
                    cancellation_reason: Some(reason),
                    handed_over_by: None,
                    collected_by: None,
                    audit,
                    outbox: events(&["requested", "preparing", "ready", "cancelled"]),
                    active: false,
                };
                (want, r, c)
            }
            _ => {
                failures.add(
                    "neither legal order",
                    format!("{}: cancel {c:?}, mark-ready {r:?}", d.id),
                );
                continue;
            }
        };
        match trails.get(&d.id) {
            Some(t) if *t == want => {}
            other => failures.add(
                "the database does not tell the order the answers told",
                format!("{}: holds {other:?}, expected {want:?}", d.id),
            ),
        }
        overlapped += usize::from(overlap.together(first, second));
    }
    println!(
        "cancel vs mark-ready: 300 requests; prepared in {prepared:.1?}, raced in {raced:.1?}, test {:.1?}; \
         cancel first {cancel_first}, ready first {ready_first}; {overlapped} pairs provably in flight together",
        started.elapsed()
    );
    failures.assert_none("300 requests");
    // Every cancel after preparation began asks for the media to be shredded.
    let unshredded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM distribution_events WHERE event = 'cancelled'
         AND (details->>'media_to_shred')::boolean IS DISTINCT FROM TRUE",
    )
    .fetch_one(&env.pool)
    .await
    .expect("audit");
    assert_eq!(unshredded, 0);
    // The two go to different services, so they are processed side by side;
    // how often one begins before the other has committed is reported, not
    // required (the mark-ready transaction is short).
    env.stop().await;
}

/// On a READY request, cancel and handover exclude each other: exactly one
/// wins, the other is refused (ALREADY_COLLECTED or ALREADY_CANCELLED) and
/// leaves no audit row and no event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_and_handover_at_once_let_exactly_one_win() {
    let started = Instant::now();
    let env = start().await;
    let dists = distributions(&env, 60, Status::Ready).await;
    assert_eq!(dists.len(), 300);
    let prepared = started.elapsed();

    let env_ref = &env;
    let outcomes: Vec<(Dist, Reply, Reply)> = stream::iter(dists.into_iter().enumerate())
        .map(|(n, d)| async move {
            let (c, h) = at_once(
                env_ref,
                n % 2 == 1,
                (CommandType::Cancel, cancel(&d)),
                (CommandType::Handover, handover(&d, "desk1")),
            )
            .await;
            (d, c, h)
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let raced = started.elapsed() - prepared;

    let trails = trails(&env).await;
    let overlap = Overlap::load(&env).await;
    let mut failures = Failures::default();
    let (mut cancelled, mut collected, mut overlapped) = (0, 0, 0);
    for (d, c, h) in &outcomes {
        let mut audit = d.history.clone();
        let shelf = Some(format!("Shelf {}", d.id));
        let code = |r: &Reply| r.rejection.as_ref().map(|x| x.code);
        let (want, winner, loser) = match (c.outcome, h.outcome) {
            (Outcome::Accepted, Outcome::Rejected) => {
                cancelled += 1;
                if c.status != Some(Status::Cancelled)
                    || code(h) != Some(ReasonCode::AlreadyCancelled)
                {
                    failures.add("answers", format!("{}: cancel {c:?}, handover {h:?}", d.id));
                }
                audit.push(row(
                    "cancelled",
                    "admin1",
                    &c.command_id,
                    Some("READY"),
                    "CANCELLED",
                ));
                let want = Trail {
                    status: "CANCELLED".into(),
                    storage_location: shelf,
                    cancellation_reason: Some(format!(
                        "patient left before {}",
                        Reference::from_id(d.id)
                    )),
                    handed_over_by: None,
                    collected_by: None,
                    audit,
                    outbox: events(&["requested", "preparing", "ready", "cancelled"]),
                    active: false,
                };
                (want, c, h)
            }
            (Outcome::Rejected, Outcome::Accepted) => {
                collected += 1;
                if h.status != Some(Status::Collected)
                    || code(c) != Some(ReasonCode::AlreadyCollected)
                {
                    failures.add("answers", format!("{}: cancel {c:?}, handover {h:?}", d.id));
                } else if !c
                    .rejection
                    .as_ref()
                    .map(|x| x.message.ends_with("handed over by desk1"))
                    .unwrap_or(false)
                {
                    failures.add(
                        "the ALREADY_COLLECTED refusal does not name the desk that handed over",
                        format!("{}: the admin was told {:?}", d.id, c.rejection),
                    );
                }
                audit.push(row(
                    "collected",
                    "desk1",
                    &h.command_id,
                    Some("READY"),
                    "COLLECTED",
                ));
                let want = Trail {
                    status: "COLLECTED".into(),
                    storage_location: shelf,
                    cancellation_reason: None,
                    handed_over_by: Some("desk1".into()),
                    collected_by: Some(format!("Synthetic Collector {}", d.id)),
                    audit,
                    outbox: events(&["requested", "preparing", "ready", "collected"]),
                    active: false,
                };
                (want, h, c)
            }
            _ => {
                failures.add(
                    "not exactly one of cancel and handover accepted",
                    format!("{}: cancel {c:?}, handover {h:?}", d.id),
                );
                continue;
            }
        };
        match trails.get(&d.id) {
            Some(t) if *t == want => {}
            other => failures.add(
                "the database does not tell the winner alone",
                format!("{}: holds {other:?}, expected {want:?}", d.id),
            ),
        }
        overlapped += usize::from(overlap.together(winner, loser));
    }
    println!(
        "cancel vs handover: 300 requests; prepared in {prepared:.1?}, raced in {raced:.1?}, test {:.1?}; \
         cancelled {cancelled}, collected {collected}; {overlapped} pairs provably in flight together",
        started.elapsed()
    );
    failures.assert_none("300 requests");
    assert!(overlapped > 0, "no pair was ever in flight together");
    env.stop().await;
}
