//! The scan stations against a real database and broker, without workers:
//! refusals that must send nothing, the exact commands sent (answered by a
//! scripted stand-in worker), and what the operator reads.

mod common;

use common::{FakeWorker, TestEnv, PATIENT_IC, PATIENT_NAME};
use mediadist_domain::catalog::Stage;
use mediadist_domain::reply::Reply;
use mediadist_domain::{ReasonCode, Reference, Rejection, SlipKey};
use mediadist_kiosk::station::Mode;
use mediadist_kiosk::{KioskError, StationSummary};
use serde_json::json;

const SCAN: &str = "Scan slip or type reference:";
const DOC_TYPE: &str = "Document type (MYKAD/PASSPORT/OTHER):";
const RELATIONSHIP: &str =
    "Relationship (SELF/SPOUSE/PARENT/CHILD/SIBLING/GUARDIAN/REFERRAL_HOSPITAL_STAFF/OTHER):";

fn r(id: i64) -> String {
    Reference::from_id(id).to_string()
}

fn summary(accepted: usize, refused: usize, not_recorded: usize) -> StationSummary {
    StationSummary {
        accepted,
        refused,
        not_recorded,
    }
}

fn block(id: i64, shelf: &str, status: &str) -> Vec<String> {
    vec![
        format!("Reference: {}", r(id)),
        "Patient: AHMAD B*** A***".into(),
        "Media: CD x 1".into(),
        format!("Shelf: {shelf}"),
        format!("Status: {status}"),
    ]
}

fn lines(parts: &[&[String]]) -> Vec<String> {
    parts.iter().flat_map(|p| p.iter().cloned()).collect()
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|x| x.to_string()).collect()
}

/// Nothing the station wrote names the patient in full or shows an IC number.
fn assert_private(out: &[String]) {
    for line in out {
        assert!(
            !line.to_uppercase().contains(&PATIENT_NAME.to_uppercase()),
            "{line}"
        );
        for ic in [PATIENT_IC, "900101141235", "850612-14-5523"] {
            assert!(!line.contains(ic), "{line}");
        }
    }
}

async fn assert_nothing_sent(env: &TestEnv) {
    for stage in Stage::ALL {
        assert_eq!(env.queued(stage).await, 0, "{stage:?}");
    }
}

#[tokio::test]
async fn prepare_refuses_bad_scans_and_final_requests_without_sending() {
    let env = TestEnv::start().await;
    let requested = env.distribution("REQUESTED", None, 1).await;
    let ready = env.distribution("READY", Some("A-3"), 1).await;
    let collected = env.distribution("COLLECTED", Some("B-1"), 1).await;
    let cancelled = env.distribution("CANCELLED", None, 1).await;
    let reprinted = env.distribution("REQUESTED", None, 2).await;
    let key = &env.cfg.slip_key;

    let good = key.sign(requested, 1).to_string();
    let tampered = good.replacen(
        &format!("MD1-{requested}-"),
        &format!("MD1-{}-", requested + 1),
        1,
    );
    assert_ne!(tampered, good);
    let forged = SlipKey::new(b"someone else's key")
        .sign(requested, 1)
        .to_string();
    let nowhere = key.sign(999_999, 1).to_string();
    let old_slip = key.sign(reprinted, 1).to_string();
    let mut input = format!(
        "\n  \nhello\n{tampered}\n{forged}\n{nowhere}\nMD-999999\n{old_slip}\n{}\n{}\n  {}  \r\n",
        r(ready),
        key.sign(collected, 1),
        r(cancelled),
    )
    .into_bytes();
    input.extend_from_slice(b"\xff\xfe garbage\n");
    input.extend_from_slice(&[b'A'; 5000]);
    input.extend_from_slice(b"\nQUIT\n");
    input.extend_from_slice(format!("{good}\n").as_bytes());

    let (result, out) = env.station(Mode::Prepare, "rad1", input).await;
    assert_eq!(result.unwrap(), summary(0, 11, 0));
    let not_a_code = "REFUSED: TOKEN_INVALID: this is not a mediadist slip code";
    let bad_signature =
        "REFUSED: TOKEN_INVALID: the slip code's signature is wrong: the slip is forged or damaged";
    let expected = vec![
        "PREPARE station, operator rad1. Type quit to end.".to_string(),
        SCAN.into(),
        not_a_code.into(),
        SCAN.into(),
        bad_signature.into(),
        SCAN.into(),
        bad_signature.into(),
        SCAN.into(),
        "REFUSED: TOKEN_INVALID: this slip belongs to no request here".into(),
        SCAN.into(),
        "REFUSED: NOT_FOUND: no request has that reference; check the number on the slip".into(),
        SCAN.into(),
        "REFUSED: TOKEN_SUPERSEDED: this slip was replaced by a reprint; ask for the newest slip or type the reference".into(),
        SCAN.into(),
        format!("REFUSED: ILLEGAL_TRANSITION: {} is already READY at A-3; nothing to do", r(ready)),
        SCAN.into(),
        format!(
            "REFUSED: ALREADY_COLLECTED: {} was already collected on 2026-12-04 09:30 UTC, handed over by desk1",
            r(collected)
        ),
        SCAN.into(),
        format!("REFUSED: ALREADY_CANCELLED: {} was cancelled; this slip no longer works", r(cancelled)),
        SCAN.into(),
        not_a_code.into(),
        SCAN.into(),
        not_a_code.into(),
        SCAN.into(),
        "Station closed: 0 accepted, 11 refused, 0 not recorded.".into(),
    ];
    assert_eq!(out, expected);
    assert_private(&out);
    assert_nothing_sent(&env).await;
    env.stop().await;
}

#[tokio::test]
async fn handover_shows_the_request_and_refuses_locally_what_it_can() {
    let env = TestEnv::start().await;
    let requested = env.distribution("REQUESTED", None, 1).await;
    let collected = env.distribution("COLLECTED", Some("B-1"), 1).await;
    let ready = env.distribution("READY", Some("A-3"), 1).await;
    let token = env.cfg.slip_key.sign(ready, 1).to_string();
    // A wrong answer is asked again, up to three times in all.
    let input = format!(
        "{}\n{}\n\
         {token}\nLICENCE\nLICENCE\nLICENCE\n\
         {token}\nmykad\n8506121455\n850612-14-5523\n{PATIENT_NAME}\nCOUSIN\nCOUSIN\nCOUSIN\n\
         {token}\nOTHER\n\n",
        r(requested),
        env.cfg.slip_key.sign(collected, 1),
    );
    let (result, out) = env.station(Mode::Handover, "desk1", input).await;
    assert_eq!(result.unwrap(), summary(0, 4, 1));
    let ready_block = block(ready, "A-3", "READY");
    let doc_type_again = "TRY AGAIN: answer MYKAD, PASSPORT or OTHER";
    let relationship_again = "TRY AGAIN: answer one of SELF, SPOUSE, PARENT, CHILD, SIBLING, GUARDIAN, REFERRAL_HOSPITAL_STAFF, OTHER";
    let expected = lines(&[
        &s(&["HANDOVER station, operator desk1. Type quit to end.", SCAN]),
        &block(requested, "-", "REQUESTED"),
        &s(&[
            "REFUSED: NOT_READY: the media is not ready yet (status REQUESTED); ask the radiographer",
            SCAN,
        ]),
        &block(collected, "B-1", "COLLECTED"),
        &[
            format!(
                "REFUSED: ALREADY_COLLECTED: {} was already collected on 2026-12-04 09:30 UTC, handed over by desk1",
                r(collected)
            ),
            SCAN.into(),
        ],
        &ready_block,
        &s(&[
            DOC_TYPE,
            doc_type_again,
            DOC_TYPE,
            doc_type_again,
            DOC_TYPE,
            "REFUSED: INVALID_FIELD: collector.document.type: answer MYKAD, PASSPORT or OTHER",
            SCAN,
        ]),
        &ready_block,
        &s(&[
            DOC_TYPE,
            "Document number:",
            "TRY AGAIN: a MyKad number has 12 digits (YYMMDD-PB-###G)",
            "Document number:",
            "Collector name:",
            RELATIONSHIP,
            relationship_again,
            RELATIONSHIP,
            relationship_again,
            RELATIONSHIP,
            "REFUSED: INVALID_FIELD: collector.relationship: answer one of SELF, SPOUSE, PARENT, CHILD, SIBLING, GUARDIAN, REFERRAL_HOSPITAL_STAFF, OTHER",
            SCAN,
        ]),
        &ready_block,
        &s(&[
            DOC_TYPE,
            "Document description (e.g. police card):",
            "TRY AGAIN: say what the document is (1 to 60 characters), e.g. police card",
            "Document description (e.g. police card):",
            "NOT RECORDED: the input ended before the questions were answered; nothing was sent",
            "Station closed: 0 accepted, 4 refused, 1 not recorded.",
        ]),
    ]);
    assert_eq!(out, expected);
    assert_private(&out);
    assert_nothing_sent(&env).await;
    env.stop().await;
}

#[tokio::test]
async fn prepare_sends_start_and_ready_and_prints_the_answers() {
    let env = TestEnv::start().await;
    let a = env.distribution("REQUESTED", None, 1).await;
    let b = env.distribution("PREPARING", None, 1).await;
    let c = env.distribution("REQUESTED", None, 1).await;
    let refused_ref = r(c);
    let worker = FakeWorker::start(&env.cfg, Stage::Preparation, move |ev| {
        if ev.data["target"]["reference"] == json!(refused_ref) {
            Reply::rejected(
                &ev.id,
                Some(c),
                Rejection::new(
                    ReasonCode::Forbidden,
                    "a clerk may not start preparing media",
                ),
            )
        } else {
            Reply::accepted(&ev.id, None, None)
        }
    })
    .await;
    let token_a = env.cfg.slip_key.sign(a, 1).to_string();
    let input = format!(
        "{token_a}\n{}\n  Shelf B2  \n{c}\n{}\n{token_a}\n{}\n\nquit\n",
        r(b),
        r(b),
        r(b)
    );
    let (result, out) = env.station(Mode::Prepare, "RAD1", input).await;
    assert_eq!(result.unwrap(), summary(2, 3, 0));
    assert_eq!(
        out,
        vec![
            "PREPARE station, operator rad1. Type quit to end.".to_string(),
            SCAN.into(),
            format!("PREPARING {}", r(a)),
            SCAN.into(),
            "Shelf location:".into(),
            format!("READY {} at Shelf B2", r(b)),
            SCAN.into(),
            "REFUSED: FORBIDDEN: a clerk may not start preparing media".into(),
            SCAN.into(),
            "Shelf location:".into(),
            "REFUSED: INVALID_FIELD: storage_location: that is a slip code or a reference, not a shelf location; scan the slip again".into(),
            SCAN.into(),
            "Shelf location:".into(),
            "REFUSED: INVALID_FIELD: storage_location: is required".into(),
            SCAN.into(),
            "Station closed: 2 accepted, 3 refused, 0 not recorded.".into(),
        ]
    );
    assert_eq!(
        worker.received(),
        vec![
            (
                "org.mediadist.command.start-preparing.v1".to_string(),
                json!({ "target": { "token": token_a }, "actor": "rad1" })
            ),
            (
                "org.mediadist.command.mark-ready.v1".to_string(),
                json!({ "target": { "reference": r(b) }, "storage_location": "Shelf B2", "actor": "rad1" })
            ),
            (
                "org.mediadist.command.start-preparing.v1".to_string(),
                json!({ "target": { "reference": r(c) }, "actor": "rad1" })
            ),
        ]
    );
    worker.stop().await;
    env.stop().await;
}

#[tokio::test]
async fn handover_sends_the_collector_and_prints_only_the_masked_document() {
    let env = TestEnv::start().await;
    let ids: Vec<i64> = [
        env.distribution("READY", Some("A-3"), 1).await,
        env.distribution("READY", Some("A-4"), 1).await,
        env.distribution("READY", Some("A-5"), 1).await,
        env.distribution("READY", Some("A-6"), 1).await,
    ]
    .to_vec();
    let (r1, r2, r3, r4) = (ids[0], ids[1], ids[2], ids[3]);
    let (mismatch, unseen) = (r(r2), env.cfg.slip_key.sign(r3, 1).to_string());
    let worker = FakeWorker::start(&env.cfg, Stage::Collection, move |ev| {
        let target = &ev.data["target"];
        if target["reference"] == json!(mismatch) {
            Reply::rejected(
                &ev.id,
                Some(r2),
                Rejection::new(
                    ReasonCode::IdentityMismatch,
                    "the document does not match the patient's identity on record; do not hand over",
                ),
            )
        } else if target["token"] == json!(unseen) {
            Reply::rejected(
                &ev.id,
                Some(r3),
                Rejection::new(ReasonCode::DocumentNotSeen, "confirm that you have seen the collector's identity document"),
            )
        } else {
            Reply::accepted(&ev.id, None, None)
        }
    })
    .await;
    let t1 = env.cfg.slip_key.sign(r1, 1).to_string();
    let t3 = env.cfg.slip_key.sign(r3, 1).to_string();
    let t4 = env.cfg.slip_key.sign(r4, 1).to_string();
    let input = format!(
        "{t1}\nMYKAD\n850612-14-5523\n{PATIENT_NAME}\nself\ny\n\
         {}\nic\n900101141235\nSynthetic Son\nSELF\nY\n\
         {t3}\npassport\nidn\nb 1234567\nSynthetic Friend\nOTHER\nfamily friend\nCONSENT-7\nn\n\
         {t4}\nOTHER\npolice card\nRF-00912\nSgt Synthetic\nREFERRAL_HOSPITAL_STAFF\nHKL/RAD/118\nyes\n",
        r(r2)
    );
    let (result, out) = env.station(Mode::Handover, "desk1", input).await;
    assert_eq!(result.unwrap(), summary(2, 2, 0));
    // The patient collecting for themselves is not asked for a letter.
    let mykad = s(&[
        DOC_TYPE,
        "Document number:",
        "Collector name:",
        RELATIONSHIP,
        "Document seen? (y/n)",
    ]);
    let expected = lines(&[
        &s(&["HANDOVER station, operator desk1. Type quit to end.", SCAN]),
        &block(r1, "A-3", "READY"),
        &mykad,
        &[format!("COLLECTED {} by ******-**-5523", r(r1)), SCAN.into()],
        &block(r2, "A-4", "READY"),
        &mykad,
        &s(&[
            "REFUSED: IDENTITY_MISMATCH: the document does not match the patient's identity on record; do not hand over",
            SCAN,
        ]),
        &block(r3, "A-5", "READY"),
        &s(&[
            DOC_TYPE,
            "Issuing country (e.g. IDN):",
            "Document number:",
            "Collector name:",
            RELATIONSHIP,
            "Relationship description:",
            "Authority reference (blank for none):",
            "Document seen? (y/n)",
            "REFUSED: DOCUMENT_NOT_SEEN: confirm that you have seen the collector's identity document",
            SCAN,
        ]),
        &block(r4, "A-6", "READY"),
        &s(&[
            DOC_TYPE,
            "Document description (e.g. police card):",
            "Document number:",
            "Collector name:",
            RELATIONSHIP,
            "Authority reference (blank for none):",
            "Document seen? (y/n)",
        ]),
        &[format!("COLLECTED {} by police card *****912", r(r4))],
        &s(&[SCAN, "Station closed: 2 accepted, 2 refused, 0 not recorded."]),
    ]);
    assert_eq!(out, expected);
    assert_private(&out);

    let handover = "org.mediadist.command.handover.v1".to_string();
    assert_eq!(
        worker.received(),
        vec![
            (
                handover.clone(),
                json!({
                    "target": { "token": t1 },
                    "collector": {
                        "name": PATIENT_NAME,
                        "document": { "type": "MYKAD", "number": "850612-14-5523" },
                        "relationship": "SELF",
                        "relationship_other": null,
                        "authority_reference": null
                    },
                    "document_seen": true,
                    "comments": null,
                    "actor": "desk1"
                })
            ),
            (
                handover.clone(),
                json!({
                    "target": { "reference": r(r2) },
                    "collector": {
                        "name": "Synthetic Son",
                        "document": { "type": "MYKAD", "number": "900101141235" },
                        "relationship": "SELF",
                        "relationship_other": null,
                        "authority_reference": null
                    },
                    "document_seen": true,
                    "comments": null,
                    "actor": "desk1"
                })
            ),
            (
                handover.clone(),
                json!({
                    "target": { "token": t3 },
                    "collector": {
                        "name": "Synthetic Friend",
                        "document": { "type": "PASSPORT", "number": "b 1234567", "country": "idn" },
                        "relationship": "OTHER",
                        "relationship_other": "family friend",
                        "authority_reference": "CONSENT-7"
                    },
                    "document_seen": false,
                    "comments": null,
                    "actor": "desk1"
                })
            ),
            (
                handover,
                json!({
                    "target": { "token": t4 },
                    "collector": {
                        "name": "Sgt Synthetic",
                        "document": { "type": "OTHER", "number": "RF-00912", "description": "police card" },
                        "relationship": "REFERRAL_HOSPITAL_STAFF",
                        "relationship_other": null,
                        "authority_reference": "HKL/RAD/118"
                    },
                    "document_seen": true,
                    "comments": null,
                    "actor": "desk1"
                })
            ),
        ]
    );
    worker.stop().await;
    env.stop().await;
}

#[tokio::test]
async fn no_answer_is_not_recorded() {
    let env = TestEnv::start().await;
    let id = env.distribution("REQUESTED", None, 1).await;
    let (result, out) = env
        .station(Mode::Prepare, "rad1", format!("{}\n", r(id)))
        .await;
    assert_eq!(result.unwrap(), summary(0, 0, 1));
    assert_eq!(
        out,
        s(&[
            "PREPARE station, operator rad1. Type quit to end.",
            SCAN,
            "NOT RECORDED: no answer from the workers within 700ms; scan the slip again to see whether it was recorded, then try again",
            SCAN,
            "Station closed: 0 accepted, 0 refused, 1 not recorded.",
        ])
    );
    // It was sent; with no worker it waits in the queue.
    assert_eq!(env.queued(Stage::Preparation).await, 1);
    env.stop().await;
}

#[tokio::test]
async fn the_operator_must_exist_be_active_and_have_the_role() {
    let env = TestEnv::start().await;
    for (mode, operator, code) in [
        (Mode::Prepare, "nobody", ReasonCode::UnknownStaff),
        (Mode::Prepare, "gone1", ReasonCode::StaffInactive),
        (Mode::Prepare, "clerk1", ReasonCode::Forbidden),
        (Mode::Prepare, "desk1", ReasonCode::Forbidden),
        (Mode::Handover, "rad1", ReasonCode::Forbidden),
    ] {
        let (result, out) = env.station(mode, operator, "MD-000001\n").await;
        match result {
            Err(KioskError::Operator(r)) => assert_eq!(r.code, code, "{operator}: {r}"),
            other => panic!("{operator}: {other:?}"),
        }
        assert!(out.is_empty(), "{operator}: {out:?}");
    }
    let (result, out) = env.station(Mode::Handover, "desk1", "").await;
    assert_eq!(result.unwrap(), summary(0, 0, 0));
    assert_eq!(
        out,
        s(&[
            "HANDOVER station, operator desk1. Type quit to end.",
            SCAN,
            "Station closed: 0 accepted, 0 refused, 0 not recorded.",
        ])
    );
    env.stop().await;
}

#[tokio::test]
async fn a_lost_slip_is_found_by_name_or_mrn_and_only_open_requests_show() {
    let env = TestEnv::start().await;
    let ready = env.distribution("READY", Some("A-3"), 1).await;
    let requested = env.distribution("REQUESTED", None, 1).await;
    env.distribution("COLLECTED", Some("B-1"), 1).await;
    env.distribution("CANCELLED", None, 1).await;
    // Name words in any order and case; the MRN exactly; a LIKE wildcard is
    // taken literally; a stranger's name finds nothing; SQL is not searched.
    let input =
        "find ali AHMAD\nFIND MRN-1\nfind %\nfind Synthetic Nobody\nfind x'; DROP TABLE patients\n";
    let (result, out) = env.station(Mode::Handover, "desk1", input).await;
    assert_eq!(result.unwrap(), summary(0, 0, 0));
    let found = |id: i64, status: &str| {
        format!("FOUND {} AHMAD B*** A*** MRN MRN-1 CD x 1 {status}", r(id))
    };
    let both = [
        found(ready, "READY"),
        found(requested, "REQUESTED"),
        "Type the reference to go on; it is recorded as slip not presented.".into(),
    ];
    let none = "FOUND: no open request; check the spelling, or search by MRN".to_string();
    let expected = lines(&[
        &s(&["HANDOVER station, operator desk1. Type quit to end.", SCAN]),
        &both,
        &[SCAN.into()],
        &both,
        &[SCAN.into(), none.clone(), SCAN.into(), none, SCAN.into()],
        &s(&[
            "FOUND: nothing searched; ';' is not searched for; use letters, digits, spaces and '-.,/^@():#&+%_",
            SCAN,
            "Station closed: 0 accepted, 0 refused, 0 not recorded.",
        ]),
    ]);
    assert_eq!(out, expected);
    assert_private(&out);
    assert_nothing_sent(&env).await;
    env.stop().await;
}

/// A writer the test can read while the station still runs.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("output").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().expect("output"))
            .lines()
            .map(str::to_string)
            .collect()
    }

    async fn wait_for(&self, line: &str) {
        for _ in 0..100 {
            if self.lines().iter().any(|l| l == line) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("never printed {line:?}; printed {:#?}", self.lines());
    }
}

#[tokio::test]
async fn reception_sees_the_live_ready_board_between_scans() {
    use tokio::io::AsyncWriteExt;
    let env = TestEnv::start().await;
    // The relay's part: the retained board, as it publishes it.
    let opts = mediadist_platform::mqtt::options(
        &env.cfg.mqtt_url,
        &format!("{}-board-test", env.cfg.namespace),
    )
    .expect("mqtt url");
    let (relay, mut events) = rumqttc::AsyncClient::new(opts, 16);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    let topic = mediadist_kiosk::board::topic(&env.cfg);
    let board = |refs: &[&str]| {
        let items: Vec<_> = refs
            .iter()
            .map(|r| json!({"reference": r, "name": "AHMAD B*** A***", "media_type": "CD", "quantity": 1, "ready_at": null}))
            .collect();
        serde_json::to_vec(&json!({"ready": items, "updated_at": "2026-12-03T10:00:00Z"})).unwrap()
    };
    let publish = |payload: Vec<u8>| {
        let (relay, topic) = (relay.clone(), topic.clone());
        async move {
            relay
                .publish(topic, rumqttc::QoS::AtLeastOnce, true, payload)
                .await
                .expect("publish")
        }
    };
    publish(board(&["MD-000001"])).await;

    let follow = mediadist_kiosk::board::follow(&env.cfg, &format!("{}-desk", env.cfg.namespace))
        .expect("follow");
    let (mut keyboard, input) = tokio::io::duplex(64);
    let out = Shared::default();
    let station = {
        let (cfg, pool, client, mut out) =
            (env.cfg.clone(), env.pool.clone(), &env.client, out.clone());
        async move {
            mediadist_kiosk::Station::new(&cfg, &pool, client, Mode::Handover, "desk1")
                .with_board(follow)
                .run(tokio::io::BufReader::new(input), &mut out)
                .await
        }
    };
    let script = async {
        let one = "BOARD: 1 ready: MD-000001 AHMAD B*** A*** (CD x 1)";
        out.wait_for(one).await;
        // Half a line typed when the board changes is not lost.
        keyboard.write_all(b"qu").await.expect("type");
        publish(board(&["MD-000001", "MD-000002"])).await;
        out.wait_for("BOARD: 2 ready: MD-000001 AHMAD B*** A*** (CD x 1), MD-000002 AHMAD B*** A*** (CD x 1)")
            .await;
        keyboard.write_all(b"it\n").await.expect("type");
    };
    let (result, ()) = tokio::join!(station, script);
    assert_eq!(result.expect("station"), summary(0, 0, 0));
    let printed = out.lines();
    assert_eq!(
        printed[0],
        "HANDOVER station, operator desk1. Type quit to end."
    );
    assert_eq!(
        printed.last().map(String::as_str),
        Some("Station closed: 0 accepted, 0 refused, 0 not recorded.")
    );
    let boards: Vec<&String> = printed.iter().filter(|l| l.starts_with("BOARD:")).collect();
    assert_eq!(boards.len(), 2, "{printed:#?}");
    // Each board line is followed by the scan prompt again.
    for (i, l) in printed.iter().enumerate() {
        if l.starts_with("BOARD:") {
            assert_eq!(printed[i + 1], SCAN);
        }
    }
    publish(Vec::new()).await; // clear the retained board
    env.stop().await;
}

#[tokio::test]
async fn operators_sign_in_with_a_pin_and_are_signed_out_when_idle() {
    use tokio::io::AsyncWriteExt;
    let env = TestEnv::start().await;
    for (user, pin) in [("desk1", "4821"), ("clerk1", "1111"), ("gone1", "2222")] {
        let mut conn = env.pool.acquire().await.expect("connection");
        let pin = mediadist_domain::Pin::parse(pin, "pin").expect("pin");
        mediadist_platform::store::set_pin(&mut conn, user, &pin)
            .await
            .expect("set pin");
    }
    let stored: String = sqlx::query_scalar("SELECT pin_hash FROM staff WHERE username = 'desk1'")
        .fetch_one(&env.pool)
        .await
        .expect("hash");
    assert!(stored.starts_with("$argon2id$") && !stored.contains("4821"));

    let (mut keyboard, input) = tokio::io::duplex(256);
    let out = Shared::default();
    let station = {
        let (cfg, pool, client, mut out) =
            (env.cfg.clone(), env.pool.clone(), &env.client, out.clone());
        async move {
            mediadist_kiosk::Station::new(&cfg, &pool, client, Mode::Handover, "")
                .with_pin_sign_in(std::time::Duration::from_secs(1))
                .run(tokio::io::BufReader::new(input), &mut out)
                .await
        }
    };
    let script = async {
        // A wrong PIN, an inactive account, a role that may not hand over,
        // then the right one; logout; and the idle sign-out.
        keyboard
            .write_all(
                b"desk1\n0000\ngone1\n2222\nclerk1\n1111\ndesk1\n4821\nlogout\ndesk1\n4821\n",
            )
            .await
            .expect("type");
        out.wait_for("SIGNED OUT: desk1 after 1 s without a scan.")
            .await;
        keyboard
            .write_all(b"desk1\n4821\nquit\n")
            .await
            .expect("type");
    };
    let (result, ()) = tokio::join!(station, script);
    assert_eq!(result.expect("station"), summary(0, 0, 0));
    let wrong = "SIGN-IN REFUSED: UNKNOWN_STAFF: wrong username or PIN (an admin sets PINs with: mediadist staff add --pin)";
    let signed_in = "SIGNED IN: desk1 (RECEPTION). Type logout to sign out.";
    let expected = s(&[
        "HANDOVER station. Sign in with your username and PIN; type quit to end.",
        "Username:",
        "PIN:",
        wrong,
        "Username:",
        "PIN:",
        wrong,
        "Username:",
        "PIN:",
        "SIGN-IN REFUSED: FORBIDDEN: a clerk may not hand media over",
        "Username:",
        "PIN:",
        signed_in,
        SCAN,
        "SIGNED OUT: desk1.",
        "Username:",
        "PIN:",
        signed_in,
        SCAN,
        "SIGNED OUT: desk1 after 1 s without a scan.",
        "Username:",
        "PIN:",
        signed_in,
        SCAN,
        "Station closed: 0 accepted, 0 refused, 0 not recorded.",
    ]);
    assert_eq!(out.lines(), expected);
    env.stop().await;
}

/// Five wrong PINs in a row close the station sign-in for that username
/// (the right PIN too is refused until it reopens); others still sign in.
#[tokio::test]
async fn five_wrong_pins_close_sign_in_for_that_username() {
    let env = TestEnv::start().await;
    let mut conn = env.pool.acquire().await.expect("connection");
    let pin = mediadist_domain::Pin::parse("4821", "pin").expect("pin");
    mediadist_platform::store::set_pin(&mut conn, "desk1", &pin)
        .await
        .expect("set pin");
    drop(conn);
    let input = format!("{}desk1\n4821\nquit\n", "desk1\n0000\n".repeat(5));
    let (result, out) = env.station_signing_in(Mode::Handover, &input).await;
    assert_eq!(result.expect("station"), summary(0, 0, 0));
    let wrong = "SIGN-IN REFUSED: UNKNOWN_STAFF: wrong username or PIN (an admin sets PINs with: mediadist staff add --pin)";
    let closed = "SIGN-IN REFUSED: SIGN_IN_CLOSED: too many wrong attempts for this username; sign-in is closed for 1 more minute (an admin can reopen it: mediadist staff unlock USERNAME)";
    let refused: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("SIGN-IN REFUSED"))
        .collect();
    assert_eq!(
        refused,
        vec![wrong, wrong, wrong, wrong, closed, closed],
        "{out}"
    );
    assert!(!out.contains("SIGNED IN"), "{out}");
    // Reopened by an admin, the right PIN works again.
    let mut conn = env.pool.acquire().await.expect("connection");
    assert!(mediadist_platform::throttle::reopen(&mut conn, "desk1")
        .await
        .expect("reopen"));
    drop(conn);
    let (_, out) = env
        .station_signing_in(Mode::Handover, "desk1\n4821\nquit\n")
        .await;
    assert!(out.contains("SIGNED IN: desk1 (RECEPTION)"), "{out}");
    env.stop().await;
}

#[tokio::test]
async fn a_photo_of_the_slip_can_stand_in_for_a_scan() {
    let env = TestEnv::start().await;
    let requested = env.distribution("REQUESTED", None, 1).await;
    let dir = std::env::temp_dir().join(format!("md-station-image-{}", env.cfg.namespace));
    std::fs::create_dir_all(&dir).unwrap();
    let (png, _) = mediadist_kiosk::slip::make_slip(
        &env.pool,
        &env.cfg,
        Reference::from_id(requested),
        mediadist_kiosk::slip::Paper::Mm58,
    )
    .await
    .expect("slip");
    let ours = dir.join("slip.png");
    std::fs::write(&ours, png).unwrap();
    // The same request's slip signed with another site's key.
    let mut other = env.cfg.clone();
    other.slip_key = SlipKey::new(b"another hospital");
    let (png, _) = mediadist_kiosk::slip::make_slip(
        &env.pool,
        &other,
        Reference::from_id(requested),
        mediadist_kiosk::slip::Paper::Mm58,
    )
    .await
    .expect("slip");
    let foreign = dir.join("foreign.png");
    std::fs::write(&foreign, png).unwrap();

    let input = format!(
        "image {}\nIMAGE {}\nimage {}\n",
        ours.display(),
        foreign.display(),
        dir.join("missing.png").display()
    );
    let (result, out) = env.station(Mode::Handover, "desk1", input).await;
    assert_eq!(result.unwrap(), summary(0, 3, 0));
    assert_eq!(
        out[2..7],
        block(requested, "-", "REQUESTED")[..],
        "{out:#?}"
    );
    let refusals: Vec<&String> = out.iter().filter(|l| l.starts_with("REFUSED")).collect();
    assert!(refusals[0].starts_with("REFUSED: NOT_READY"), "{out:#?}");
    for r in &refusals[1..] {
        assert!(
            r.starts_with("REFUSED: TOKEN_INVALID: could not read a slip code from the image"),
            "{out:#?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    env.stop().await;
}
