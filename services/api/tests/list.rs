//! The list through the router on the real system: pagination (pinned while
//! rows arrive), every filter the seed names, search, ordering, the pending
//! and ready lists, and stats with turnaround.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApi;
use serde_json::{json, Value};

fn ids(v: &Value) -> Vec<i64> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_search_ordering_pagination_and_stats() {
    let api = TestApi::staffed().await;
    let clerk = api.login("clerk1").await;
    let rad = api.login("rad1").await;
    let desk = api.login("desk1").await;
    let admin = api.login("admin1").await;
    let md = "/api/media-distributions";
    let mut studies = Vec::new();
    for n in 1..=12u32 {
        let name = if n == 12 {
            "Çelik^Nurul 李".to_string()
        } else {
            format!("Synthetic^Patient{n}")
        };
        studies.push(api.register(n, None, &name, "2026-12-01").await);
    }
    let create = |sid: i64, media: &str, urgency: &str, comments: Option<&str>| json!({"study_ids": [sid], "media_type": media, "urgency": urgency, "comments": comments});
    // ids 1-12 CD, 13-24 DVD (URGENT for the first three), 25-30 USB STAT.
    for (i, (sid, _)) in studies.iter().enumerate() {
        let a = api
            .call(
                Method::POST,
                &format!("{md}/"),
                Some(&clerk),
                Some(create(*sid, "CD", "NORMAL", None)),
            )
            .await;
        assert_eq!(a.body["id"], i as i64 + 1, "{a:?}");
    }
    for (i, (sid, _)) in studies.iter().enumerate() {
        let u = if i < 3 { "URGENT" } else { "NORMAL" };
        let a = api
            .call(
                Method::POST,
                &format!("{md}/"),
                Some(&clerk),
                Some(create(*sid, "DVD", u, None)),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    }
    for (sid, _) in studies.iter().take(6) {
        let a = api
            .call(
                Method::POST,
                &format!("{md}/"),
                Some(&clerk),
                Some(create(*sid, "USB", "STAT", None)),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    }
    // 1-4 started; 1, 2 ready; 3 cancelled; 1 collected.
    for id in 1..=4 {
        let a = api
            .call(
                Method::POST,
                &format!("{md}/{id}/start-preparing/"),
                Some(&rad),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
    }
    for id in 1..=2 {
        let a = api
            .call(
                Method::PATCH,
                &format!("{md}/{id}/mark-ready/"),
                Some(&rad),
                Some(json!({"storage_location": "Shelf C1"})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
    }
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/3/cancel/"),
            Some(&admin),
            Some(json!({"reason": "duplicate"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    let a = api
        .call(
            Method::PATCH,
            &format!("{md}/1/collect/"),
            Some(&desk),
            Some(
                json!({"collected_by": "Patient1 Synthetic", "collected_by_ic": "900101-14-1235",
                        "relationship_to_patient": "SELF", "document_seen": true}),
            ),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");

    // Pagination: 25 a page, newest first, links pinned with as_of.
    let a = api.get(&format!("{md}/"), &clerk).await;
    assert_eq!(a.body["count"], 30);
    assert_eq!(ids(&a.body), (6..=30).rev().collect::<Vec<_>>());
    assert_eq!(
        a.body["next"],
        "http://api.test/api/media-distributions/?as_of=30&page=2"
    );
    assert_eq!(a.body["previous"], Value::Null);
    // A request arriving between pages does not shift page 2.
    let a31 = api
        .call(
            Method::POST,
            &format!("{md}/"),
            Some(&clerk),
            Some(create(studies[6].0, "USB", "STAT", Some("courier to HKL"))),
        )
        .await;
    assert_eq!(a31.body["id"], 31);
    let a = api.get(&format!("{md}/?as_of=30&page=2"), &clerk).await;
    assert_eq!(
        (a.body["count"].clone(), ids(&a.body)),
        (json!(30), vec![5, 4, 3, 2, 1])
    );
    assert_eq!(a.body["next"], Value::Null);
    assert_eq!(
        a.body["previous"],
        "http://api.test/api/media-distributions/?as_of=30"
    );
    let a = api.get(&format!("{md}/?as_of=30&page=3"), &clerk).await;
    assert_eq!(
        (a.status, a.body["code"].clone()),
        (StatusCode::NOT_FOUND, json!("INVALID_PAGE"))
    );
    let a = api.get(&format!("{md}/?page_size=500"), &clerk).await;
    assert_eq!(
        (a.body["count"].clone(), ids(&a.body).len()),
        (json!(31), 31)
    );
    let a = api.get(&format!("{md}/?page_size=10&page=4"), &clerk).await;
    assert_eq!(ids(&a.body), vec![1]);
    assert_eq!(
        a.body["previous"],
        "http://api.test/api/media-distributions/?page_size=10&as_of=31&page=3"
    );
    let a = api.get(&format!("{md}/?page=zero"), &clerk).await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("page"))
    );

    // Filters: one value, comma lists, repeated parameters.
    let count = |a: &common::Answer| a.body["count"].as_i64().unwrap_or(-1);
    assert_eq!(
        count(&api.get(&format!("{md}/?media_type=CD"), &clerk).await),
        12
    );
    assert_eq!(
        count(&api.get(&format!("{md}/?media_type=CD,DVD"), &clerk).await),
        24
    );
    assert_eq!(
        count(
            &api.get(&format!("{md}/?media_type=cd&media_type=usb"), &clerk)
                .await
        ),
        19
    );
    assert_eq!(
        count(&api.get(&format!("{md}/?urgency=STAT"), &clerk).await),
        7
    );
    assert_eq!(
        count(&api.get(&format!("{md}/?urgency=URGENT,STAT"), &clerk).await),
        10
    );
    assert_eq!(
        count(&api.get(&format!("{md}/?status=REQUESTED"), &clerk).await),
        27
    );
    assert_eq!(
        ids(&api
            .get(&format!("{md}/?status=PREPARING,READY"), &clerk)
            .await
            .body),
        vec![4, 2]
    );
    assert_eq!(
        ids(&api
            .get(
                &format!("{md}/?status=COLLECTED&media_type=CD&urgency=NORMAL"),
                &clerk
            )
            .await
            .body),
        vec![1]
    );
    let a = api.get(&format!("{md}/?status=LOST"), &clerk).await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("status"))
    );
    assert_eq!(
        a.body["detail"],
        "status: 'LOST' is not one of REQUESTED, PREPARING, READY, COLLECTED, CANCELLED"
    );
    let patient1: i64 = sqlx::query_scalar("SELECT patient_id FROM studies WHERE id = $1")
        .bind(studies[0].0)
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert_eq!(
        ids(&api
            .get(&format!("{md}/?patient_id={patient1}"), &clerk)
            .await
            .body),
        vec![25, 13, 1]
    );
    assert_eq!(
        ids(&api
            .get(&format!("{md}/?study={}", studies[1].0), &clerk)
            .await
            .body),
        vec![26, 14, 2]
    );
    assert_eq!(
        ids(&api
            .get(&format!("{md}/?study={}", studies[1].1), &clerk)
            .await
            .body),
        vec![26, 14, 2]
    );
    assert_eq!(
        ids(&api
            .get(
                &format!("{md}/?study={}&media_type=DVD", studies[1].0),
                &clerk
            )
            .await
            .body),
        vec![14]
    );

    // The work lists.
    let a = api.get(&format!("{md}/pending/"), &clerk).await;
    assert_eq!(count(&a), 29);
    let ready = api.get(&format!("{md}/ready/"), &clerk).await;
    assert_eq!(ids(&ready.body), vec![2]);
    // Reception's list says where to find it.
    assert_eq!(ready.body["results"][0]["storage_location"], "Shelf C1");
    assert!(
        ready.body["results"][0]["ready_at"].is_string(),
        "{ready:?}"
    );
    assert_eq!(
        count(
            &api.get(&format!("{md}/pending/?status=COLLECTED"), &clerk)
                .await
        ),
        0
    );
    assert_eq!(
        ids(&api
            .get(&format!("{md}/pending/?status=PREPARING"), &clerk)
            .await
            .body),
        vec![4]
    );

    // Search: name (either separator), MRN, reference, collector, their
    // document (whole numbers only), comments; SQL and wildcards are text.
    let search = |q: &str| format!("{md}/?search={q}");
    assert_eq!(
        ids(&api.get(&search("patient10"), &clerk).await.body),
        vec![22, 10]
    );
    assert_eq!(
        ids(&api.get(&search("Synthetic%20Patient10"), &clerk).await.body),
        vec![22, 10]
    );
    assert_eq!(
        ids(&api.get(&search("SYN00010"), &clerk).await.body),
        vec![22, 10]
    );
    assert_eq!(
        ids(&api.get(&search("MD-000015"), &clerk).await.body),
        vec![15]
    );
    // Name words in any order: patients 1, 10 and 11 (Synthetic^Patient1x),
    // as DICOM stores them, and the collector of MD-000001.
    assert_eq!(
        ids(&api.get(&search("patient1%20synthetic"), &clerk).await.body),
        vec![25, 23, 22, 13, 11, 10, 1]
    );
    assert_eq!(
        ids(&api.get(&search("Nurul%20%C3%87elik"), &clerk).await.body),
        vec![24, 12]
    );
    assert_eq!(
        ids(&api.get(&search("900101-14-1235"), &clerk).await.body),
        vec![1]
    );
    assert_eq!(count(&api.get(&search("900101"), &clerk).await), 0);
    assert_eq!(
        ids(&api.get(&search("courier"), &clerk).await.body),
        vec![31]
    );
    assert_eq!(
        ids(&api.get(&search("%E6%9D%8E"), &clerk).await.body),
        vec![24, 12]
    );
    assert_eq!(
        ids(&api.get(&search("%C3%87elik"), &clerk).await.body),
        vec![24, 12]
    );
    // SQL-shaped text is refused by name (it would only ever be searched
    // for as a value), and the data is all still there.
    for sql in [
        "%27%3B%20DROP%20TABLE%20media_distributions%3B%20--",
        "1%20OR%201%3D1",
        "x%27%20UNION%20SELECT%20password_hash%20FROM%20staff",
    ] {
        let a = api.get(&search(sql), &clerk).await;
        assert_eq!(
            (a.status, a.body["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("search")),
            "{sql}: {a:?}"
        );
    }
    assert_eq!(count(&api.get(&format!("{md}/"), &clerk).await), 31);
    assert_eq!(
        ids(&api.get(&search("O%27Brien"), &clerk).await.body),
        Vec::<i64>::new()
    );
    assert_eq!(count(&api.get(&search("%25"), &clerk).await), 0);
    assert_eq!(count(&api.get(&search("_"), &clerk).await), 0);
    let a = api.get(&search(&"a".repeat(101)), &clerk).await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("search"))
    );
    let a = api.get(&search("%07"), &clerk).await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("search"))
    );

    // Ordering: urgency by severity, status in workflow order, nulls last.
    let a = api
        .get(&format!("{md}/?ordering=-urgency&page_size=7"), &clerk)
        .await;
    assert_eq!(ids(&a.body), vec![31, 30, 29, 28, 27, 26, 25]);
    assert_eq!(
        ids(&api
            .get(&format!("{md}/?ordering=urgency&page_size=2"), &clerk)
            .await
            .body),
        vec![1, 2]
    );
    assert_eq!(
        ids(&api
            .get(&format!("{md}/?ordering=-status&page_size=4"), &clerk)
            .await
            .body),
        vec![3, 1, 2, 4]
    );
    assert_eq!(
        ids(&api
            .get(&format!("{md}/?ordering=status&page_size=1"), &clerk)
            .await
            .body),
        vec![5]
    );
    assert_eq!(
        ids(&api
            .get(
                &format!("{md}/?ordering=-collection_datetime&page_size=1"),
                &clerk
            )
            .await
            .body),
        vec![1]
    );
    assert_eq!(
        ids(&api
            .get(&format!("{md}/?ordering=request_date&page_size=3"), &clerk)
            .await
            .body),
        vec![1, 2, 3]
    );
    let a = api
        .get(&format!("{md}/?ordering=patient_name"), &clerk)
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("ordering"))
    );

    // Dates: requests moved to June, at noon so no time zone moves their day.
    for (id, day) in [(5, "2026-06-15"), (6, "2026-06-16"), (7, "2026-06-17")] {
        sqlx::query("UPDATE media_distributions SET request_date = $2::date + interval '12 hours' WHERE id = $1")
            .bind(id as i64)
            .bind(chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap())
            .execute(&api.pool)
            .await
            .unwrap();
    }
    assert_eq!(
        ids(&api
            .get(
                &format!("{md}/?from_date=2026-06-15&to_date=2026-06-16"),
                &clerk
            )
            .await
            .body),
        vec![6, 5]
    );
    assert_eq!(
        ids(&api
            .get(&format!("{md}/?to_date=2026-06-30"), &clerk)
            .await
            .body),
        vec![7, 6, 5]
    );
    assert_eq!(
        count(
            &api.get(&format!("{md}/?from_date=2026-06-17"), &clerk)
                .await
        ),
        29
    );
    let a = api
        .get(
            &format!("{md}/?from_date=2026-06-17&to_date=2026-06-15"),
            &clerk,
        )
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("to_date"))
    );
    let a = api
        .get(&format!("{md}/?from_date=15/06/2026"), &clerk)
        .await;
    assert_eq!(
        (a.status, a.body["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("from_date"))
    );

    // Stats: the seed's keys and counts, turnaround from known times.
    sqlx::query(
        "UPDATE media_distributions SET ready_at = request_date + interval '600 seconds',
            collection_datetime = request_date + interval '4200 seconds' WHERE id = 1",
    )
    .execute(&api.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE media_distributions SET ready_at = request_date + interval '60 seconds' WHERE id = 2")
        .execute(&api.pool)
        .await
        .unwrap();
    let a = api.get(&format!("{md}/stats/"), &clerk).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(
        a.body,
        json!({
            "total_distributions": 31,
            "status_breakdown": {"REQUESTED": 27, "PREPARING": 1, "READY": 1, "COLLECTED": 1, "CANCELLED": 1},
            "media_type_breakdown": {"CD": 12, "DVD": 12, "XRAY_FILM": 0, "USB": 7, "DIGITAL_COPY": 0},
            "urgency_breakdown": {"NORMAL": 21, "URGENT": 3, "STAT": 7},
            "recent_activity": {"requests_last_30_days": 28, "collections_last_30_days": 1},
            "turnaround": {
                "requested_from": (chrono::Utc::now().date_naive() - chrono::Days::new(29)).to_string(),
                "requested_to": null,
                "request_to_ready": {"count": 2, "median_seconds": 330.0, "p90_seconds": 546.0},
                "ready_to_collected": {"count": 1, "median_seconds": 3600.0, "p90_seconds": 3600.0},
            },
        })
    );
    let a = api
        .get(
            &format!("{md}/stats/?from_date=2026-06-15&to_date=2026-06-17"),
            &clerk,
        )
        .await;
    assert_eq!(a.body["total_distributions"], 3);
    assert_eq!(a.body["status_breakdown"]["REQUESTED"], 3);
    assert_eq!(
        a.body["daily"],
        json!([
            {"date": "2026-06-15", "requested": 1, "collected": 0},
            {"date": "2026-06-16", "requested": 1, "collected": 0},
            {"date": "2026-06-17", "requested": 1, "collected": 0},
        ])
    );
    // Reception's list shows the collector's number whole, and that is logged.
    let a = api.get(&format!("{md}/?status=COLLECTED"), &desk).await;
    assert_eq!(a.body["results"][0]["collected_by_ic"], "900101-14-1235");
    let logged: Vec<(String, Vec<i64>, Vec<String>)> = sqlx::query_as(
        "SELECT what, distribution_ids, full_fields FROM api_reads WHERE username = 'desk1' AND what = 'distribution-list'",
    )
    .fetch_all(&api.pool)
    .await
    .unwrap();
    assert_eq!(
        logged,
        vec![(
            "distribution-list".to_string(),
            vec![1],
            vec!["collected_by_ic".to_string()]
        )]
    );
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM media_distributions")
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert_eq!(total, 31, "searches changed nothing");
    api.stop().await;
}
