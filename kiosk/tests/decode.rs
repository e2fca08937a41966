//! Slips made by the renderer decode back to a token that verifies, through
//! the library and through `kiosk decode` (which prints only codes signed
//! with MEDIADIST_SLIP_KEY). No database or broker needed.

use mediadist_domain::SlipKey;
use mediadist_slip::{decode_file, render_png, Paper, SlipView};
use std::path::PathBuf;
use std::process::Command;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiosk-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn slip_png(token: &str, paper: Paper) -> Vec<u8> {
    let view = SlipView {
        hospital: "Hospital Test Radiology".into(),
        title: "MEDIA COLLECTION SLIP".into(),
        reference: "MD-000042".into(),
        lines: vec!["CD x 1".into(), "Patient: AHMAD B*** A***".into()],
        token: token.into(),
    };
    render_png(&view, paper).unwrap()
}

const KEY: &str = "decode-test-key";

fn kiosk() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiosk"));
    c.env("MEDIADIST_SLIP_KEY", KEY);
    c
}

#[test]
fn a_rendered_slip_decodes_to_a_token_that_verifies() {
    let key = SlipKey::new(KEY.as_bytes());
    for (paper, id, version) in [(Paper::Mm58, 42, 1), (Paper::Mm80, 9_876_543, 7)] {
        let token = key.sign(id, version);
        let path = temp("slip.png");
        std::fs::write(&path, slip_png(token.as_str(), paper)).unwrap();
        let decoded = decode_file(&path).unwrap();
        assert_eq!(decoded, token.as_str());
        let verified = key.verify(&decoded).unwrap();
        assert_eq!(
            (verified.distribution_id, verified.slip_version),
            (id, version)
        );
        assert!(SlipKey::new(b"another key").verify(&decoded).is_err());
        std::fs::remove_dir_all(path.parent().unwrap()).ok();
    }
}

#[test]
fn kiosk_decode_refuses_a_code_signed_with_another_key() {
    let forged = SlipKey::new(b"not our key").sign(42, 1);
    let path = temp("forged.png");
    std::fs::write(&path, slip_png(forged.as_str(), Paper::Mm80)).unwrap();
    let out = kiosk().arg("decode").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "kiosk: could not read a QR code from {}: the QR code in the image is not a valid slip code (forged, damaged or not ours)\n",
            path.display()
        )
    );
    // --unverified shows what the code holds, for a look at a stranger's code.
    let out = kiosk()
        .args(["decode", "--unverified"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{forged}\n")
    );
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}

#[test]
fn kiosk_decode_prints_the_payload() {
    let token = SlipKey::new(KEY.as_bytes()).sign(42, 1);
    let path = temp("slip.png");
    std::fs::write(&path, slip_png(token.as_str(), Paper::Mm58)).unwrap();
    let out = kiosk().arg("decode").arg(&path).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{token}\n"));
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}

#[test]
fn kiosk_decode_without_a_code_fails_clearly() {
    let blank = temp("blank.png");
    image::GrayImage::from_pixel(200, 200, image::Luma([255u8]))
        .save(&blank)
        .unwrap();
    let text = blank.with_file_name("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    let missing = blank.with_file_name("missing.png");
    for path in [&blank, &text, &missing] {
        let out = kiosk().arg("decode").arg(path).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{path:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        let expected = format!("kiosk: could not read a QR code from {}: ", path.display());
        assert!(err.starts_with(&expected), "{err}");
    }
    let out = kiosk().arg("decode").arg(&blank).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "kiosk: could not read a QR code from {}: could not read a QR code in the image\n",
            blank.display()
        )
    );
    std::fs::remove_dir_all(blank.parent().unwrap()).ok();
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["slip", "--help"],
        &["decode", "--help"],
        &["station", "--help"],
    ] {
        let out = kiosk().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage: kiosk"), "{args:?}: {text}");
    }
    let out = kiosk()
        .args(["station", "--mode", "cashier"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = kiosk()
        .args(["slip", "MD-000001", "--out", "x.png", "--paper", "57"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
