//! The kiosk's scan stations driven as a hand scanner would (one line per
//! scan on standard input) against the real workers: a printed slip is
//! scanned at the radiographer's bench twice, then at reception.

mod common;

use common::TestEnv;
use mediadist_domain::catalog::CommandType;
use mediadist_domain::reply::Outcome;
use mediadist_domain::Reference;
use mediadist_kiosk::receipt::ReceiptOutput;
use mediadist_kiosk::slip::Format;
use mediadist_kiosk::slip::{make_slip, Paper};
use mediadist_kiosk::station::{self, Mode, Station};
use serde_json::json;
use std::time::Duration;

async fn run_station(
    env: &TestEnv,
    mode: Mode,
    operator: &str,
    input: &str,
) -> (String, station::StationSummary) {
    run_station_with(env, mode, operator, input, None).await
}

async fn run_station_with(
    env: &TestEnv,
    mode: Mode,
    operator: &str,
    input: &str,
    receipts: Option<ReceiptOutput>,
) -> (String, station::StationSummary) {
    let mut out = Vec::new();
    let mut station = Station::new(&env.config, &env.pool, &env.client, mode, operator);
    if let Some(r) = receipts {
        station = station.with_receipts(r);
    }
    let summary = station
        .run(input.as_bytes(), &mut out)
        .await
        .expect("station");
    (String::from_utf8(out).expect("utf-8 output"), summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slip_is_scanned_at_the_bench_and_at_reception() {
    let env = TestEnv::start().await;
    env.add_staff("clerk1", "CLERK").await;
    env.add_staff("rad1", "RADIOGRAPHER").await;
    env.add_staff("desk1", "RECEPTION").await;
    let register = json!({
        "patient": { "mrn": "SYN00001", "name": "Synthetic^Aminah", "ic": "850612-14-5523" },
        "study": { "uid": "1.2.826.0.1.3680043.10.1", "study_date": "2026-12-01", "modalities": ["CT"] },
        "examinations": [{ "series_uid": "1.2.826.0.1.3680043.10.1.1", "modality": "CT", "instance_count": 80 }]
    });
    let wait = Duration::from_secs(15);
    assert_eq!(
        env.client
            .send(CommandType::RegisterStudy, register, wait)
            .await
            .unwrap()
            .outcome,
        Outcome::Accepted
    );
    let request = json!({
        "study_uids": ["1.2.826.0.1.3680043.10.1"], "media_type": "CD", "quantity": 1, "urgency": "STAT",
        "requester": { "type": "PATIENT" }, "actor": "clerk1"
    });
    let reply = env
        .client
        .send(CommandType::RequestMedia, request, wait)
        .await
        .unwrap();
    let reference = Reference::parse(reply.reference.as_deref().unwrap(), "reference").unwrap();

    // The printed slip, read back the way a scanner reads it.
    let (png, token) = make_slip(&env.pool, &env.config, reference, Paper::Mm80)
        .await
        .unwrap();
    assert_eq!(mediadist_slip::decode_png_or_jpeg(&png).unwrap(), token);

    // Bench: first scan starts preparation, second asks the shelf and marks ready.
    let (out, summary) = run_station(
        &env,
        Mode::Prepare,
        "rad1",
        &format!("{token}\n{token}\nShelf C3\nquit\n"),
    )
    .await;
    assert_eq!((summary.accepted, summary.refused), (2, 0), "{out}");
    assert!(out.contains(&format!("PREPARING {reference}")), "{out}");
    assert!(
        out.contains(&format!("READY {reference} at Shelf C3")),
        "{out}"
    );

    // Reception: the son with his own MyKad and his mother's consent letter;
    // then the same slip again, which is refused.
    // A receipt is written for the recorded handover only.
    let input = format!("{token}\nMYKAD\n900101-14-1235\nSynthetic Son\nCHILD\nCONSENT-2026-0042\ny\n{token}\nquit\n");
    let receipts = std::env::temp_dir().join(format!("md-receipts-{}", env.config.namespace));
    std::fs::create_dir_all(&receipts).unwrap();
    let output = ReceiptOutput {
        target: receipts.clone(),
        format: Format::Png,
        paper: Paper::Mm58,
    };
    let (out, summary) =
        run_station_with(&env, Mode::Handover, "desk1", &input, Some(output)).await;
    assert_eq!((summary.accepted, summary.refused), (1, 1), "{out}");
    let receipt = receipts.join(format!("{reference}-receipt.png"));
    assert!(
        out.contains(&format!(
            "COLLECTED {reference} by ******-**-1235; receipt {}",
            receipt.display()
        )),
        "{out}"
    );
    assert_eq!(std::fs::read_dir(&receipts).unwrap().count(), 1);
    let png = std::fs::read(&receipt).unwrap();
    assert_eq!(mediadist_slip::decode_png_or_jpeg(&png).unwrap(), token);
    std::fs::remove_dir_all(&receipts).ok();
    assert!(out.contains("REFUSED: ALREADY_COLLECTED"), "{out}");
    assert!(
        out.contains("SYNTHETIC A***"),
        "the masked patient name is shown: {out}"
    );
    assert!(
        !out.contains("900101141235") && !out.contains("900101-14-1235") && !out.contains("Aminah"),
        "{out}"
    );

    let (status, actor): (String, String) = sqlx::query_as(
        "SELECT d.status, s.username FROM media_distributions d JOIN staff s ON s.id = d.handed_over_by_id WHERE d.id = $1",
    )
    .bind(reference.id())
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), actor.as_str()), ("COLLECTED", "desk1"));
    env.stop().await;
}

/// Scenario 5: the patient lost the slip. Reception reprints it; the old
/// slip is refused at the desk, the new one is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reprinted_slip_replaces_the_lost_one() {
    let env = TestEnv::start().await;
    env.add_staff("clerk1", "CLERK").await;
    env.add_staff("rad1", "RADIOGRAPHER").await;
    env.add_staff("desk1", "RECEPTION").await;
    let wait = Duration::from_secs(15);
    let register = json!({
        "patient": { "mrn": "SYN00002", "name": "Synthetic^Lost", "ic": "850612-14-5523" },
        "study": { "uid": "1.2.826.0.1.3680043.10.2", "study_date": "2026-12-01", "modalities": ["MR"] },
        "examinations": []
    });
    env.client
        .send(CommandType::RegisterStudy, register, wait)
        .await
        .unwrap();
    let request = json!({
        "study_uids": ["1.2.826.0.1.3680043.10.2"], "media_type": "DVD", "quantity": 1, "urgency": "NORMAL",
        "requester": { "type": "PATIENT" }, "actor": "clerk1"
    });
    let reply = env
        .client
        .send(CommandType::RequestMedia, request, wait)
        .await
        .unwrap();
    let reference = Reference::parse(reply.reference.as_deref().unwrap(), "reference").unwrap();
    let (_, old) = make_slip(&env.pool, &env.config, reference, Paper::Mm80)
        .await
        .unwrap();

    // A radiographer may not reprint; reception may.
    let refused = mediadist_kiosk::reprint::reissue(&env.client, reference, "rad1", wait).await;
    assert!(refused
        .unwrap_err()
        .to_string()
        .starts_with("reprint refused: FORBIDDEN"));
    mediadist_kiosk::reprint::reissue(&env.client, reference, "desk1", wait)
        .await
        .unwrap();
    let (png, new) = make_slip(&env.pool, &env.config, reference, Paper::Mm80)
        .await
        .unwrap();
    assert_ne!(old, new);
    assert_eq!(mediadist_slip::decode_png_or_jpeg(&png).unwrap(), new);

    let (out, summary) = run_station(
        &env,
        Mode::Prepare,
        "rad1",
        &format!("{old}\n{new}\nquit\n"),
    )
    .await;
    assert_eq!((summary.accepted, summary.refused), (1, 1), "{out}");
    assert!(out.contains("REFUSED: TOKEN_SUPERSEDED"), "{out}");
    assert!(out.contains(&format!("PREPARING {reference}")), "{out}");
    env.stop().await;
}
