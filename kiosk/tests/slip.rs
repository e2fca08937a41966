//! Slips from the database: what they say, the token they carry, and the
//! requests that get none.

mod common;

use chrono::{TimeZone, Utc};
use common::TestEnv;
use mediadist_domain::{MediaType, Reference, SlipKey, Status, Urgency};
use mediadist_kiosk::lookup::DistributionRow;
use mediadist_kiosk::slip::{
    label_view, make_document, make_slip, printed_name, view, Format, Kind, Paper, StudyLine,
};
use mediadist_kiosk::KioskError;
use mediadist_slip::{decode_png_or_jpeg, encode_png, escpos, SlipView};
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

    for (args, noun, magic) in [
        (&["--format", "pdf"][..], "slip", &b"%PDF-1.4"[..]),
        (
            &["--format", "escpos", "--label"],
            "label",
            &escpos::INIT[..],
        ),
        (&["--label", "--paper", "58"], "label", &b"\x89PNG"[..]),
    ] {
        let out = kiosk()
            .args(["slip", &reference, "--out"])
            .arg(&png)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("{reference}: {noun} written to {}\n", png.display())
        );
        assert!(std::fs::read(&png).unwrap().starts_with(magic), "{args:?}");
    }
    let out = kiosk()
        .args(["slip", &reference, "--out", "x", "--format", "jpeg"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

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
        "kiosk: REF is not a reference like MD-000042\n"
    );

    std::fs::remove_dir_all(&dir).ok();
    env.stop().await;
}

#[test]
fn names_in_other_scripts_are_romanised_then_masked() {
    assert_eq!(printed_name("Ahmad bin Ali"), "AHMAD B*** A***");
    // Accents go, and are not a transliteration.
    assert_eq!(printed_name("José Núñez"), "JOSE N***");
    // Chinese without spaces: one syllable per character, so only the surname shows.
    assert_eq!(printed_name("陈美玲"), "CHEN M*** L*** (romanised)");
    assert_eq!(printed_name("முருகன் செல்வம்"), "MURUKAN S*** (romanised)");
    assert_eq!(printed_name("محمد علي"), "MHMD A*** (romanised)");
    assert_eq!(printed_name("  "), "(no name on record)");
}

fn row(id: i64) -> DistributionRow {
    DistributionRow {
        id,
        status: Status::Ready,
        media_type: MediaType::Dvd,
        quantity: 2,
        urgency: Urgency::Normal,
        request_date: Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap(),
        slip_version: 2,
        storage_location: Some("B-4".into()),
        collected_at: None,
        handed_over_by: None,
        patient_name: "Tan Mei Ling".into(),
    }
}

#[test]
fn the_label_lists_the_studies_and_carries_the_same_token() {
    let token = SlipKey::new(b"k").sign(7, 2);
    let studies = vec![
        StudyLine {
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 30),
            description: Some("CT THORAX".into()),
            modalities: vec!["CT".into()],
            accession: Some("A1001".into()),
        },
        StudyLine {
            date: None,
            description: None,
            modalities: vec!["MR".into(), "SR".into()],
            accession: None,
        },
    ];
    let label = label_view("H", &row(7), &token, &studies);
    assert_eq!(
        label,
        SlipView {
            hospital: "H".into(),
            title: "MEDIA ENVELOPE LABEL".into(),
            reference: "MD-000007".into(),
            lines: vec![
                "DVD x 2".into(),
                "Urgency: NORMAL".into(),
                "Requested: 2026-12-03".into(),
                "Patient: TAN M*** L***".into(),
                "Shelf: B-4".into(),
                "Studies (2):".into(),
                "- 2026-11-30 CT THORAX (CT) acc A1001".into(),
                "- undated (no description) (MR/SR)".into(),
            ],
            token: token.as_str().into(),
        }
    );
    assert_eq!(label.token, view("H", &row(7), &token).token);
    let none = label_view("H", &row(7), &token, &[]);
    assert_eq!(none.lines[5], "Studies: none on record");
}

#[tokio::test]
async fn every_format_of_slip_and_label_carries_the_current_token() {
    let env = TestEnv::start().await;
    let id = env.distribution("READY", Some("C-2"), 2).await;
    sqlx::query(
        "WITH s AS (
           INSERT INTO studies (study_uid, patient_id, accession_number, study_date, description, modalities)
           SELECT '1.2.826.0.1.3680043.99.' || $1, patient_id, 'ACC77', '2026-11-28', 'MRI BRAIN', '{MR}'
           FROM media_distributions WHERE id = $1 RETURNING id)
         INSERT INTO distribution_studies (distribution_id, study_id, media_type)
         SELECT $1, id, 'CD' FROM s",
    )
    .bind(id)
    .execute(&env.pool)
    .await
    .unwrap();
    let expected = env.cfg.slip_key.sign(id, 2);
    let r = Reference::from_id(id);
    for kind in [Kind::Slip, Kind::Label] {
        for paper in [Paper::Mm58, Paper::Mm80] {
            let (png, token) = make_document(&env.pool, &env.cfg, r, kind, Format::Png, paper)
                .await
                .unwrap();
            assert_eq!(token, expected.as_str());
            assert_eq!(decode_png_or_jpeg(&png).unwrap(), token);
            let (job, _) = make_document(&env.pool, &env.cfg, r, kind, Format::EscPos, paper)
                .await
                .unwrap();
            let printed = escpos::parse(&job).unwrap();
            assert_eq!(printed.width, paper.width_px());
            assert_eq!(
                decode_png_or_jpeg(&encode_png(&printed).unwrap()).unwrap(),
                token
            );
        }
        let (pdf, _) = make_document(&env.pool, &env.cfg, r, kind, Format::Pdf, Paper::Mm80)
            .await
            .unwrap();
        let text = String::from_utf8(pdf).unwrap();
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.contains("(Patient: AHMAD B*** A***) Tj"));
        assert!(!text.contains(common::PATIENT_IC));
        assert!(!text.to_lowercase().contains("ahmad bin ali"));
        assert_eq!(
            text.contains("(- 2026-11-28 MRI BRAIN \\(MR\\) acc ACC77) Tj"),
            kind == Kind::Label,
            "{kind:?}"
        );
        assert_eq!(
            text.contains("(Bring this slip and your identity card) Tj"),
            kind == Kind::Slip
        );
    }
    env.stop().await;
}
