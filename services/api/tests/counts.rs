//! The list's `count` comes from `distribution_counts` (migrations 0005, 0010) when
//! only status, media type and urgency filter. These tests change rows every
//! way the system does (and some it never does) and hold the tallies and the
//! API's count against a plain `count(*)`.

mod common;

use common::TestApi;
use sqlx::PgPool;

const STATUSES: [&str; 5] = ["REQUESTED", "PREPARING", "READY", "COLLECTED", "CANCELLED"];
const MEDIA: [&str; 5] = ["CD", "DVD", "XRAY_FILM", "USB", "DIGITAL_COPY"];
const URGENCIES: [&str; 3] = ["NORMAL", "URGENT", "STAT"];

/// Rows of `distribution_counts` that disagree with counting the table.
async fn disagreements(pool: &PgPool) -> Vec<(String, String, String, i64, i64)> {
    sqlx::query_as(
        "SELECT c.status, c.media_type, c.urgency, c.n, coalesce(live.n, 0)
         FROM distribution_counts c
         LEFT JOIN (SELECT status, media_type, urgency, count(*) AS n FROM media_distributions
                    WHERE deleted_at IS NULL GROUP BY 1, 2, 3) live
           USING (status, media_type, urgency)
         WHERE c.n <> coalesce(live.n, 0)",
    )
    .fetch_all(pool)
    .await
    .expect("compare")
}

async fn insert(pool: &PgPool, patient: i64, media: &str, urgency: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO media_distributions (patient_id, media_type, quantity, status, urgency, requester_type, requested_by_id)
         VALUES ($1, $2, 1, 'REQUESTED', $3, 'PATIENT', (SELECT min(id) FROM staff)) RETURNING id",
    )
    .bind(patient)
    .bind(media)
    .bind(urgency)
    .fetch_one(pool)
    .await
    .expect("insert")
}

async fn patient(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO patients (mrn, name) VALUES ('SYN-COUNT', 'Synthetic^Count') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .expect("patient")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tallies_follow_every_kind_of_change() {
    let api = TestApi::staffed().await;
    let pool = &api.pool;
    let p = patient(pool).await;
    let mut ids = Vec::new();
    for (i, media) in MEDIA.iter().enumerate() {
        for urgency in URGENCIES.iter().take(1 + i % 3) {
            ids.push(insert(pool, p, media, urgency).await);
        }
    }
    assert_eq!(disagreements(pool).await, vec![]);
    // Through the workflow, a change of urgency and media, cancellations.
    sqlx::query("UPDATE media_distributions SET status = 'PREPARING', prepared_by_id = requested_by_id WHERE id = ANY($1)")
        .bind(&ids[..6])
        .execute(pool)
        .await
        .expect("prepare");
    sqlx::query("UPDATE media_distributions SET status = 'READY', storage_location = 'Shelf A' WHERE id = ANY($1)")
        .bind(&ids[..3])
        .execute(pool)
        .await
        .expect("ready");
    sqlx::query(
        "UPDATE media_distributions SET urgency = 'STAT', media_type = 'DVD' WHERE id = $1",
    )
    .bind(ids[6])
    .execute(pool)
    .await
    .expect("urgency");
    sqlx::query("UPDATE media_distributions SET status = 'CANCELLED', cancellation_reason = 'synthetic' WHERE id = ANY($1)")
        .bind(&ids[7..9])
        .execute(pool)
        .await
        .expect("cancel");
    // Updates that leave the counted columns alone change nothing.
    sqlx::query("UPDATE media_distributions SET comments = 'courier', status = status")
        .execute(pool)
        .await
        .expect("comments");
    assert_eq!(disagreements(pool).await, vec![]);
    // A deleted record leaves the counts; a rolled-back change never enters them.
    sqlx::query("UPDATE media_distributions SET deleted_at = now(), deleted_by_id = requested_by_id, deletion_reason = 'duplicate' WHERE id = $1")
        .bind(ids[4])
        .execute(pool)
        .await
        .expect("delete");
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("UPDATE media_distributions SET urgency = 'URGENT' WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .expect("urgent");
    tx.rollback().await.expect("rollback");
    assert_eq!(disagreements(pool).await, vec![]);
    let total: i64 = sqlx::query_scalar("SELECT sum(n)::bigint FROM distribution_counts")
        .fetch_one(pool)
        .await
        .expect("sum");
    assert_eq!(total, ids.len() as i64 - 1);
    // Emptying the table behind the trigger is refused.
    let truncated = sqlx::query("TRUNCATE media_distributions CASCADE")
        .execute(pool)
        .await;
    assert!(truncated.is_err(), "TRUNCATE was allowed");
    api.stop().await;
}

/// Rows moving in opposite directions at once (NORMAL→STAT beside
/// STAT→NORMAL) touch the same two tallies; the trigger takes them in key
/// order, so neither transaction is lost to a deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opposite_moves_at_once_do_not_deadlock() {
    let api = TestApi::staffed().await;
    let pool = api.pool.clone();
    // Each tally update lingers, so a trigger taking its two tallies in the
    // order the row moved would hold one while the other side holds the other.
    sqlx::raw_sql(
        "CREATE FUNCTION linger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.005); RETURN NULL; END $$;
         CREATE TRIGGER linger AFTER UPDATE ON distribution_counts FOR EACH ROW EXECUTE FUNCTION linger();",
    )
    .execute(&pool)
    .await
    .expect("slow tallies");
    let p = patient(&pool).await;
    let a = insert(&pool, p, "CD", "NORMAL").await;
    let b = insert(&pool, p, "CD", "STAT").await;
    let flip = |id: i64, rounds: usize| {
        let pool = pool.clone();
        tokio::spawn(async move {
            for _ in 0..rounds {
                let mut tx = pool.begin().await?;
                sqlx::query("UPDATE media_distributions SET urgency = CASE urgency WHEN 'NORMAL' THEN 'STAT' ELSE 'NORMAL' END WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(())
        })
    };
    let (x, y) = (flip(a, 100), flip(b, 100));
    let (x, y) = (x.await.expect("task"), y.await.expect("task"));
    assert!(x.is_ok() && y.is_ok(), "{x:?} {y:?}");
    assert_eq!(disagreements(&pool).await, vec![]);
    api.stop().await;
}

/// The API's count for each filter combination is the number of rows it
/// would page through, pinned pages included while new requests arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_count_matches_the_rows() {
    let api = TestApi::staffed().await;
    let clerk = api.login("clerk1").await;
    let pool = &api.pool;
    let p = patient(pool).await;
    for (i, media) in MEDIA.iter().enumerate() {
        for (j, urgency) in URGENCIES.iter().enumerate() {
            for _ in 0..(i + j) % 3 + 1 {
                insert(pool, p, media, urgency).await;
            }
        }
    }
    sqlx::query("UPDATE media_distributions SET status = 'CANCELLED', cancellation_reason = 'synthetic' WHERE id % 4 = 0")
        .execute(pool)
        .await
        .expect("cancel");
    let filters = [
        ("", None, None, None),
        ("?status=CANCELLED", Some("CANCELLED"), None, None),
        ("?media_type=CD,USB", None, Some("CD,USB"), None),
        (
            "?urgency=STAT&status=REQUESTED",
            Some("REQUESTED"),
            None,
            Some("STAT"),
        ),
        (
            "?status=REQUESTED,CANCELLED&media_type=DVD&urgency=NORMAL,URGENT",
            Some("REQUESTED,CANCELLED"),
            Some("DVD"),
            Some("NORMAL,URGENT"),
        ),
    ];
    let counted = |s: Option<&str>, m: Option<&str>, u: Option<&str>, up_to: i64| {
        let any = |v: Option<&str>, all: &[&str]| -> Vec<String> {
            v.map(|v| v.split(',').map(String::from).collect())
                .unwrap_or_else(|| all.iter().map(|s| s.to_string()).collect())
        };
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM media_distributions WHERE deleted_at IS NULL AND status = ANY($1)
             AND media_type = ANY($2) AND urgency = ANY($3) AND id <= $4",
        )
        .bind(any(s, &STATUSES))
        .bind(any(m, &MEDIA))
        .bind(any(u, &URGENCIES))
        .bind(up_to)
    };
    let first_max: i64 = sqlx::query_scalar("SELECT max(id) FROM media_distributions")
        .fetch_one(pool)
        .await
        .expect("max");
    for (query, s, m, u) in filters {
        let a = api
            .get(&format!("/api/media-distributions/{query}"), &clerk)
            .await;
        let want = counted(s, m, u, first_max)
            .fetch_one(pool)
            .await
            .expect("count");
        assert!(want > 0, "{query}: the data should match something");
        assert_eq!(a.body["count"], want, "{query}: {a:?}");
    }
    // New requests arrive; a page pinned to the first read keeps its count.
    for media in MEDIA {
        insert(pool, p, media, "STAT").await;
    }
    for (query, s, m, u) in filters {
        let sep = if query.is_empty() { '?' } else { '&' };
        let pinned = api
            .get(
                &format!("/api/media-distributions/{query}{sep}as_of={first_max}"),
                &clerk,
            )
            .await;
        let want = counted(s, m, u, first_max)
            .fetch_one(pool)
            .await
            .expect("count");
        assert_eq!(pinned.body["count"], want, "{query} pinned: {pinned:?}");
        let fresh = api
            .get(&format!("/api/media-distributions/{query}"), &clerk)
            .await;
        let want = counted(s, m, u, i64::MAX)
            .fetch_one(pool)
            .await
            .expect("count");
        assert_eq!(fresh.body["count"], want, "{query} fresh: {fresh:?}");
    }
    api.stop().await;
}
