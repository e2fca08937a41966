//! `GET /api/media-distributions/stats/`: the seed's keys, plus turnaround
//! (request → ready, ready → collected: median and 90th percentile, over the
//! dates given or the last 30 days) and, with `from_date` and `to_date`,
//! counts per day.

use crate::auth::Caller;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use mediadist_domain::{MediaType, Status, Urgency};
use serde_json::{json, Map, Value};
use sqlx::Row;

fn zeroes(all: impl Iterator<Item = &'static str>) -> Map<String, Value> {
    all.map(|k| (k.to_string(), json!(0))).collect()
}

fn date(params: &[(String, String)], name: &str) -> Result<Option<NaiveDate>, Problem> {
    match params.iter().rev().find(|(k, _)| k == name) {
        None => Ok(None),
        Some((_, v)) => NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| Problem::invalid(name, format!("{name}: a date as YYYY-MM-DD"))),
    }
}

pub async fn stats(
    State(state): State<AppState>,
    _caller: Caller,
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, Problem> {
    let params = q
        .map(|Query(v)| v)
        .map_err(|e| Problem::bad_request(format!("the query string could not be read: {e}")))?;
    let from = date(&params, "from_date")?;
    let to = date(&params, "to_date")?;
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(Problem::invalid("to_date", "to_date: is before from_date"));
        }
        if (b - a).num_days() > 366 {
            return Err(Problem::invalid(
                "to_date",
                "to_date: at most 366 days after from_date",
            ));
        }
    }
    let pool = &state.pool;
    let windowed = from.is_some() || to.is_some();
    // The same date window as the list's, on the request date.
    let window = "d.deleted_at IS NULL AND ($1::date IS NULL OR d.request_date >= $1::date)
                  AND ($2::date IS NULL OR d.request_date < $2::date + 1)";
    let grouped = |source: &str, n: &str| {
        format!(
            "SELECT d.status, d.media_type, d.urgency, GROUPING(d.status) AS gs, GROUPING(d.media_type) AS gm, {n} AS n
             FROM {source} GROUP BY GROUPING SETS ((d.status), (d.media_type), (d.urgency))"
        )
    };
    // Over all time the tallies (migration 0005) know the counts; a window
    // walks the request-date index.
    let groups = if windowed {
        sqlx::query(&grouped(
            &format!("media_distributions d WHERE {window}"),
            "count(*)",
        ))
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?
    } else {
        sqlx::query(&grouped("distribution_counts d", "sum(d.n)::bigint"))
            .fetch_all(pool)
            .await?
    };
    let mut status = zeroes(Status::ALL.iter().map(|s| s.as_str()));
    let mut media = zeroes(MediaType::ALL.iter().map(|s| s.as_str()));
    let mut urgency = zeroes(Urgency::ALL.iter().map(|s| s.as_str()));
    let mut total = 0i64;
    for r in &groups {
        let n: i64 = r.get("n");
        let (gs, gm): (i32, i32) = (r.get("gs"), r.get("gm"));
        if gs == 0 {
            total += n;
            status.insert(r.get::<String, _>("status"), json!(n));
        } else if gm == 0 {
            media.insert(r.get::<String, _>("media_type"), json!(n));
        } else {
            urgency.insert(r.get::<String, _>("urgency"), json!(n));
        }
    }
    let recent = sqlx::query(
        "SELECT (SELECT count(*) FROM media_distributions WHERE deleted_at IS NULL
                   AND request_date >= now() - interval '30 days') AS requests,
                (SELECT count(*) FROM media_distributions WHERE deleted_at IS NULL
                   AND collection_datetime >= now() - interval '30 days') AS collections",
    )
    .fetch_one(pool)
    .await?;
    // Turnaround is about how the desk works now: without dates, the
    // requests of the last 30 days (all time would be a scan of every row,
    // and years-old figures say little).
    let (t_from, t_to) = match windowed {
        true => (from, to),
        false => (
            Some(chrono::Utc::now().date_naive() - chrono::Days::new(29)),
            None,
        ),
    };
    let turnaround = sqlx::query(&format!(
        "SELECT
           count(d.ready_at) AS rr_n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.ready_at - d.request_date)) AS rr_p50,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM d.ready_at - d.request_date)) AS rr_p90,
           count(d.collection_datetime) FILTER (WHERE d.ready_at IS NOT NULL) AS rc_n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.collection_datetime - d.ready_at)) AS rc_p50,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM d.collection_datetime - d.ready_at)) AS rc_p90
         FROM media_distributions d WHERE {window}"
    ))
    .bind(t_from)
    .bind(t_to)
    .fetch_one(pool)
    .await?;
    let figure = |n: &str, p50: &str, p90: &str| {
        json!({
            "count": turnaround.get::<i64, _>(n),
            "median_seconds": turnaround.try_get::<Option<f64>, _>(p50).ok().flatten(),
            "p90_seconds": turnaround.try_get::<Option<f64>, _>(p90).ok().flatten(),
        })
    };
    let mut out = json!({
        "total_distributions": total,
        "status_breakdown": status,
        "media_type_breakdown": media,
        "urgency_breakdown": urgency,
        "recent_activity": {
            "requests_last_30_days": recent.get::<i64, _>("requests"),
            "collections_last_30_days": recent.get::<i64, _>("collections"),
        },
        "turnaround": {
            "requested_from": t_from,
            "requested_to": t_to,
            "request_to_ready": figure("rr_n", "rr_p50", "rr_p90"),
            "ready_to_collected": figure("rc_n", "rc_p50", "rc_p90"),
        },
    });
    if let (Some(a), Some(b)) = (from, to) {
        let days = sqlx::query(
            "SELECT day::date AS day,
                (SELECT count(*) FROM media_distributions d WHERE d.deleted_at IS NULL
                   AND d.request_date >= day AND d.request_date < day + interval '1 day') AS requested,
                (SELECT count(*) FROM media_distributions d WHERE d.deleted_at IS NULL
                   AND d.collection_datetime >= day AND d.collection_datetime < day + interval '1 day') AS collected
             FROM generate_series($1::date::timestamptz, $2::date::timestamptz, interval '1 day') AS day ORDER BY day",
        )
        .bind(a)
        .bind(b)
        .fetch_all(pool)
        .await?;
        out["daily"] = Value::Array(
            days.iter()
                .map(|r| {
                    json!({
                        "date": r.get::<NaiveDate, _>("day"),
                        "requested": r.get::<i64, _>("requested"),
                        "collected": r.get::<i64, _>("collected"),
                    })
                })
                .collect(),
        );
    }
    Ok(Json(out).into_response())
}
