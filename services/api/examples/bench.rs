//! List, filter and search latency through the router (auth, queries, JSON,
//! read log) beside the same SQL run bare, on a database seeded with
//! synthetic distributions. Makes its own database and drops it afterwards.
//!
//!     cargo run --release -p mediadist-api --example bench -- --distributions 1000000
//!
//! Without a broker nothing is sent: only reads are measured.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Parser;
use mediadist_api::query::ListQuery;
use mediadist_api::{AppState, Settings};
use mediadist_platform::{db, Config};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use tower::ServiceExt;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    distributions: i64,
    /// Default: a fifth of the distributions.
    #[arg(long)]
    patients: Option<i64>,
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// The caller's role: ADMIN and RECEPTION see identity numbers whole, so
    /// each of their list reads also writes a row to api_reads.
    #[arg(long, default_value = "CLERK")]
    role: String,
    /// Keep the database (named md_api_bench) for another run.
    #[arg(long)]
    keep: bool,
}

async fn seed(pool: &PgPool, n: i64, m: i64) -> anyhow::Result<()> {
    let hash = mediadist_api::auth::hash_password("synthetic-pass-1")?;
    sqlx::query("INSERT INTO staff (username, full_name, role, password_hash) VALUES ('admin1', 'Synthetic Admin', 'ADMIN', $1)")
        .bind(hash)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO patients (mrn, name) SELECT 'B' || g, 'Synthetic^Patient' || g FROM generate_series(1, $1) g",
    )
    .bind(m)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO studies (study_uid, patient_id, accession_number, study_date, description)
         SELECT '1.2.826.0.1.3680043.10.9.' || g, g, 'ACC' || g, date '2026-01-01' + (g % 300)::int, 'CT study'
         FROM generate_series(1, $1) g",
    )
    .bind(m)
    .execute(pool)
    .await?;
    // One in twenty of each open status, most collected; each patient has its five
    // distributions on five media types, and neighbouring rows differ.
    sqlx::query(
        "INSERT INTO media_distributions (patient_id, request_date, media_type, quantity, status, urgency, requester_type,
            requested_by_id, prepared_by_id, storage_location, ready_at, collected_by, collected_by_doc_type, collected_by_ic,
            relationship_to_patient, collection_datetime, handed_over_by_id, cancellation_reason, comments)
         SELECT p, rd, (ARRAY['CD','DVD','XRAY_FILM','USB','DIGITAL_COPY'])[1 + ((g - 1) / $2 + (g - 1) % $2) % 5], 1, st,
            (ARRAY['NORMAL','NORMAL','URGENT','STAT'])[1 + g % 4], 'PATIENT', 1,
            CASE WHEN st <> 'REQUESTED' THEN 1 END,
            CASE WHEN st IN ('READY', 'COLLECTED') THEN 'Shelf ' || (g % 40) END,
            CASE WHEN st IN ('READY', 'COLLECTED') THEN rd + interval '3 hours' END,
            CASE WHEN st = 'COLLECTED' THEN 'Synthetic Collector' || g END,
            CASE WHEN st = 'COLLECTED' THEN 'MYKAD' END,
            CASE WHEN st = 'COLLECTED' THEN '900101141235' END,
            CASE WHEN st = 'COLLECTED' THEN 'SELF' END,
            CASE WHEN st = 'COLLECTED' THEN rd + interval '1 day' END,
            CASE WHEN st = 'COLLECTED' THEN 1 END,
            CASE WHEN st = 'CANCELLED' THEN 'synthetic' END,
            CASE WHEN g % 10 = 0 THEN 'courier ' || g END
         FROM (SELECT g, ((g - 1) % $2) + 1 AS p, now() - (($1 - g) || ' minutes')::interval AS rd,
                 CASE g % 20 WHEN 0 THEN 'REQUESTED' WHEN 1 THEN 'PREPARING' WHEN 2 THEN 'READY' WHEN 3 THEN 'CANCELLED'
                      ELSE 'COLLECTED' END AS st
               FROM generate_series(1, $1) g) s",
    )
    .bind(n)
    .bind(m)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO distribution_studies (distribution_id, study_id, media_type, active)
         SELECT d.id, d.patient_id, d.media_type, d.status IN ('REQUESTED', 'PREPARING', 'READY') FROM media_distributions d",
    )
    .execute(pool)
    .await?;
    sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn summary(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    (percentile(&v, 0.5), percentile(&v, 0.95))
}

/// The list's own SQL (the count and the page, at once as the API runs
/// them), with no HTTP, auth or JSON around it.
async fn bare(pool: &PgPool, params: &[(String, String)]) -> anyhow::Result<()> {
    let mut lq = ListQuery::parse(params).map_err(|p| anyhow::anyhow!("{p}"))?;
    lq.as_of = sqlx::query_scalar("SELECT max(id) FROM media_distributions")
        .fetch_one(pool)
        .await?;
    let (mut count, mut page) = (lq.count_query(), lq.page_query());
    tokio::try_join!(
        count.build_query_scalar::<i64>().fetch_one(pool),
        page.build().fetch_all(pool)
    )?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let n = args.distributions.max(100);
    let m = args.patients.unwrap_or(n / 5).max(10);
    let mut config = Config::from_env()?;
    let base = config
        .database_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or_default();
    config.database_url = format!("{base}/md_api_bench");
    let admin_url = format!("{base}/postgres");
    let seeded = match db::connect(&config.database_url, 1).await {
        Ok(p) if args.keep => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM media_distributions")
                .fetch_one(&p)
                .await
                .unwrap_or(0)
        }
        _ => 0,
    };
    if seeded == 0 {
        let admin = db::connect(&admin_url, 1).await?;
        sqlx::query("DROP DATABASE IF EXISTS md_api_bench WITH (FORCE)")
            .execute(&admin)
            .await?;
    }
    let fresh = seeded == 0;
    let pool = mediadist_api::connect_pool(&config.database_url, 8).await?;
    if fresh {
        let t = Instant::now();
        seed(&pool, n, m).await?;
        eprintln!(
            "seeded {n} distributions over {m} patients in {:.1}s",
            t.elapsed().as_secs_f64()
        );
    }
    let role =
        mediadist_domain::Role::parse(&args.role, "role").map_err(|e| anyhow::anyhow!("{e}"))?;
    sqlx::query("UPDATE staff SET role = $1 WHERE username = 'admin1'")
        .bind(role.as_str())
        .execute(&pool)
        .await?;
    let router = mediadist_api::router(AppState::new(
        config.clone(),
        pool.clone(),
        Settings::default(),
    ));
    let login = Request::post("/api/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"username": "admin1", "password": "synthetic-pass-1"}"#,
        ))?;
    let res = router.clone().oneshot(login).await?;
    let body = axum::body::to_bytes(res.into_body(), 1 << 20).await?;
    let token = serde_json::from_slice::<serde_json::Value>(&body)?["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM media_distributions")
        .fetch_one(&pool)
        .await?;
    let m: i64 = sqlx::query_scalar("SELECT count(*) FROM patients")
        .fetch_one(&pool)
        .await?;
    let name = format!("Patient{}", m / 2);
    let scenarios: Vec<(&str, String)> = vec![
        ("list", String::new()),
        ("list page 40", "page=40".into()),
        ("filter status+media", "status=READY&media_type=CD".into()),
        (
            "filter urgency+dates",
            "urgency=STAT,URGENT&from_date=2026-11-01&to_date=2026-11-30".into(),
        ),
        ("filter patient", format!("patient_id={}", m / 3)),
        ("search name", format!("search={name}")),
        // Words in any order, one of them in every name.
        ("search two words", format!("search={name} Synthetic")),
        ("search MRN", format!("search=B{}", m / 4)),
    ];
    println!(
        "{rows} distributions, {m} patients, {} runs each as {} (ms)",
        args.iterations,
        role.as_str()
    );
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "", "api p50", "api p95", "bare p50", "bare p95", "ratio"
    );
    for (label, query) in scenarios {
        let params: Vec<(String, String)> = query
            .split('&')
            .filter(|s| !s.is_empty())
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        // Values are written plain above (the bare query takes them so);
        // the request line needs its spaces encoded.
        let uri = format!("/api/media-distributions/?{}", query.replace(' ', "%20"));
        let (mut api, mut sql) = (Vec::new(), Vec::new());
        for i in 0..args.iterations + 5 {
            let req = Request::get(&uri)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())?;
            let t = Instant::now();
            let res = router.clone().oneshot(req).await?;
            let status = res.status();
            let _ = axum::body::to_bytes(res.into_body(), 1 << 24).await?;
            let a = t.elapsed();
            anyhow::ensure!(status == StatusCode::OK, "{label}: {status}");
            let t = Instant::now();
            bare(&pool, &params).await?;
            let b = t.elapsed();
            if i >= 5 {
                api.push(a);
                sql.push(b);
            }
        }
        let (a50, a95) = summary(api);
        let (b50, b95) = summary(sql);
        println!(
            "{label:<22} {a50:>9.2} {a95:>9.2} {b50:>9.2} {b95:>9.2} {:>7.2}",
            a95 / b95
        );
    }
    // The dashboard's stats: no bare twin (it is several statements), so the
    // figure stands alone.
    for (label, query) in [
        ("stats", ""),
        (
            "stats one month",
            "?from_date=2026-11-01&to_date=2026-11-30",
        ),
    ] {
        let uri = format!("/api/media-distributions/stats/{query}");
        let mut api = Vec::new();
        for i in 0..args.iterations.min(50) + 3 {
            let req = Request::get(&uri)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())?;
            let t = Instant::now();
            let res = router.clone().oneshot(req).await?;
            let status = res.status();
            let _ = axum::body::to_bytes(res.into_body(), 1 << 24).await?;
            anyhow::ensure!(status == StatusCode::OK, "{label}: {status}");
            if i >= 3 {
                api.push(t.elapsed());
            }
        }
        let (a50, a95) = summary(api);
        println!("{label:<22} {a50:>9.2} {a95:>9.2}");
    }
    pool.close().await;
    if !args.keep {
        let admin = db::connect(&admin_url, 1).await?;
        sqlx::query("DROP DATABASE IF EXISTS md_api_bench WITH (FORCE)")
            .execute(&admin)
            .await?;
    }
    Ok(())
}
