//! Slips from the database: what they say, the token they carry, and the
//! requests that get none.

mod common;

use chrono::{TimeZone, Utc};
use common::TestEnv;
use mediadist_domain::{MediaType, Reference, SlipKey, Status, Urgency};
use mediadist_kiosk::lookup::DistributionRow;
use mediadist_kiosk::slip::{make_slip, view, Paper};
use mediadist_kiosk::KioskError;
use mediadist_slip::{decode_png_or_jpeg, SlipView};
use std::process::Command;

#[test]
fn the_slip_says_what_the_desk_needs_and_no_more() {
    let row = DistributionRow {
        id: 42,
        status: Status::Requested,
        media_type: MediaType::Cd,
        quantity: 1,
        urgency: Urgency::Urgent,
        // Noon UTC: the same calendar day in any time zone from UTC-11 to UTC+11.
        request_date: Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap(),
        slip_version: 1,
        storage_location: None,
        collected_at: None,
        handed_over_by: None,
        patient_name: "Ahmad bin Ali".into(),
    };
    let token = SlipKey::new(b"k").sign(42, 1);
    assert_eq!(
        view("Hospital Test Radiology", &row, &token),
        SlipView {
            hospital: "Hospital Test Radiology".into(),
            title: "MEDIA COLLECTION SLIP".into(),
            reference: "MD-000042".into(),
            lines: vec![
                "CD x 1".into(),
                "Urgency: URGENT".into(),
                "Requested: 2026-12-03".into(),
                "Patient: AHMAD B*** A***".into(),
                "Bring this slip and your identity card".into(),
            ],
            token: token.as_str().into(),
        }
    );
    let films = DistributionRow {
        media_type: MediaType::XrayFilm,
        quantity: 3,
        ..row.clone()
    };
    assert_eq!(view("H", &films, &token).lines[0], "X-ray film x 3");
    // Debug never shows the full name either.
    assert!(!format!("{row:?}").contains("Ahmad bin Ali"), "{row:?}");
    assert!(format!("{row:?}").contains("AHMAD B*** A***"));
}

#[tokio::test]
async fn make_slip_signs_the_current_version_and_refuses_final_requests() {
    let env = TestEnv::start().await;
    let requested = env.distribution("REQUESTED", None, 1).await;
    let reprinted = env.distribution("READY", Some("A-3"), 3).await;
    let collected = env.distribution("COLLECTED", Some("B-1"), 1).await;
    let cancelled = env.distribution("CANCELLED", None, 1).await;

    for (id, version, paper) in [(requested, 1, Paper::Mm58), (reprinted, 3, Paper::Mm80)] {
        let (png, token) = make_slip(&env.pool, &env.cfg, Reference::from_id(id), paper)
            .await
            .unwrap();
        assert_eq!(token, env.cfg.slip_key.sign(id, version).as_str());
        assert_eq!(decode_png_or_jpeg(&png).unwrap(), token);
        let t = env.cfg.slip_key.verify(&token).unwrap();
        assert_eq!((t.distribution_id, t.slip_version), (id, version));
        assert_eq!(
            image::load_from_memory(&png).unwrap().width(),
            paper.width_px()
        );
    }

    let r = Reference::from_id(collected);
    let e = make_slip(&env.pool, &env.cfg, r, Paper::Mm58)
        .await
        .unwrap_err();
    assert!(
        matches!(e, KioskError::AlreadyCollected(x) if x == r),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("{r} was already collected; a collected request gets no new slip")
    );
    let r = Reference::from_id(cancelled);
    let e = make_slip(&env.pool, &env.cfg, r, Paper::Mm58)
        .await
        .unwrap_err();
    assert!(matches!(e, KioskError::Cancelled(x) if x == r), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("{r} was cancelled; a cancelled request gets no slip")
    );
    let r = Reference::from_id(999_999);
    let e = make_slip(&env.pool, &env.cfg, r, Paper::Mm58)
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "no request MD-999999");

    env.stop().await;
}

#[tokio::test]
async fn kiosk_slip_writes_a_png_that_kiosk_decode_reads() {
    let env = TestEnv::start().await;
    let id = env.distribution("REQUESTED", None, 1).await;
    let collected = env.distribution("COLLECTED", Some("B-1"), 1).await;
    let dir = std::env::temp_dir().join(format!("kiosk-test-{}", env.cfg.namespace));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("slip.png");
    let kiosk = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kiosk"));
        c.env("DATABASE_URL", &env.cfg.database_url)
            .env("MEDIADIST_SLIP_KEY", &env.slip_secret)
            .env("MEDIADIST_HOSPITAL", "Hospital Test Radiology");
        c
    };
    let reference = Reference::from_id(id).to_string();

    let out = kiosk()
        .args(["slip", &id.to_string(), "--paper", "58", "--out"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{reference}: slip written to {}\n", png.display())
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 384);

    let out = kiosk().arg("decode").arg(&png).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", env.cfg.slip_key.sign(id, 1))
    );

    let out = kiosk()
        .args(["slip", &Reference::from_id(collected).to_string(), "--out"])
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "kiosk: {} was already collected; a collected request gets no new slip\n",
            Reference::from_id(collected)
        )
    );

    let out = kiosk()
        .args(["slip", "MD-12x", "--out"])
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "kiosk: 'MD-12x' is not a reference like MD-000042\n"
    );

    std::fs::remove_dir_all(&dir).ok();
    env.stop().await;
}
