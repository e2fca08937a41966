//! Render → decode round trips, as the kiosk camera would see a printed slip.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use mediadist_slip::{
    decode_file, decode_png_or_jpeg, qr_layout, render_png, DecodeError, Paper, SlipError, SlipView,
};

const TOKEN: &str = "MD1-123456-1-ABCDEFGHJKMNPQRS";
const MAX_TOKEN: &str = "MD1-999999-9-ABCDEFGHJKMNPQRSTUVWXY"; // 35 chars

fn view(token: &str) -> SlipView {
    SlipView {
        hospital: "Hospital Sultanah Aminah".into(),
        title: "MEDIA COLLECTION SLIP".into(),
        reference: "MD-000042".into(),
        lines: vec![
            "CD x 1".into(),
            "URGENT".into(),
            "Requested 2026-12-03".into(),
            "Patient: AHMAD B*** A***".into(),
            "Bring this slip and your identity card".into(),
        ],
        token: token.into(),
    }
}

fn dimensions(png: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(png).unwrap();
    (img.width(), img.height())
}

#[test]
fn max_token_is_35_chars() {
    assert_eq!(MAX_TOKEN.len(), 35);
    assert_eq!(MAX_TOKEN.len(), mediadist_slip::MAX_TOKEN_LEN);
}

#[test]
fn both_papers_round_trip_typical_and_max_tokens() {
    for paper in [Paper::Mm58, Paper::Mm80] {
        for token in [TOKEN, MAX_TOKEN] {
            let png = render_png(&view(token), paper).unwrap();
            assert_eq!(dimensions(&png).0, paper.width_px());
            assert_eq!(decode_png_or_jpeg(&png).unwrap(), token, "{paper:?}");
        }
    }
}

#[test]
fn widths_are_exact() {
    let png58 = render_png(&view(TOKEN), Paper::Mm58).unwrap();
    let png80 = render_png(&view(TOKEN), Paper::Mm80).unwrap();
    assert_eq!(dimensions(&png58).0, 384);
    assert_eq!(dimensions(&png80).0, 576);
    // The 58 mm slip wraps the long last line, so it is the taller one.
    assert!(dimensions(&png58).1 > dimensions(&png80).1);
}

#[test]
fn pixels_are_pure_black_or_white() {
    let png = render_png(&view(TOKEN), Paper::Mm58).unwrap();
    let img = image::load_from_memory(&png).unwrap().into_luma8();
    assert!(img.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));
    assert_eq!(img.get_pixel(0, 0).0[0], 255);
}

#[test]
fn module_size_is_at_least_four_pixels() {
    for paper in [Paper::Mm58, Paper::Mm80] {
        let layout = qr_layout(MAX_TOKEN, paper).unwrap();
        assert_eq!(layout.version, 3);
        assert_eq!(layout.modules, 29);
        assert_eq!(layout.module_px, 8);
        assert!(layout.module_px >= 4);
        assert!(layout.size_px <= paper.width_px());
    }
}

#[test]
fn too_long_or_non_alphanumeric_tokens_are_refused() {
    let long = format!("{MAX_TOKEN}Z");
    assert_eq!(
        render_png(&view(&long), Paper::Mm80).err(),
        Some(SlipError::TooLong { len: 36 })
    );
    assert_eq!(
        render_png(&view("md1-123456"), Paper::Mm58).err(),
        Some(SlipError::InvalidToken {
            found: 'm',
            position: 0
        })
    );
    let err = render_png(&view("MD1?X"), Paper::Mm58).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the slip token has '?' at position 3; only 0-9, A-Z, space and $ % * + - . / : are allowed"
    );
}

#[test]
fn non_ascii_text_renders_and_still_decodes() {
    let mut v = view(TOKEN);
    v.hospital = "Hôpital ~ Zürich".into();
    v.lines.push(String::new());
    v.lines.push("X".repeat(200));
    let png = render_png(&v, Paper::Mm58).unwrap();
    assert_eq!(decode_png_or_jpeg(&png).unwrap(), TOKEN);
}

#[test]
fn png_without_a_code_is_no_code() {
    let mut pixels = vec![255u8; 300 * 200];
    // A black bar so the image is not trivially blank.
    for y in 80..120 {
        for x in 50..250 {
            pixels[y * 300 + x] = 0;
        }
    }
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&pixels, 300, 200, ExtendedColorType::L8)
        .unwrap();
    let err = decode_png_or_jpeg(&png).unwrap_err();
    assert!(matches!(err, DecodeError::NoCode));
    assert_eq!(err.to_string(), "could not read a QR code in the image");
}

#[test]
fn garbage_bytes_are_not_an_image() {
    let err = decode_png_or_jpeg(b"definitely not an image").unwrap_err();
    assert!(matches!(err, DecodeError::NotAnImage(_)), "{err:?}");
    // A truncated PNG is also refused, not panicked on.
    let png = render_png(&view(TOKEN), Paper::Mm58).unwrap();
    let err = decode_png_or_jpeg(&png[..png.len() / 2]).unwrap_err();
    assert!(matches!(err, DecodeError::NotAnImage(_)), "{err:?}");
}

#[test]
fn jpeg_reencode_still_decodes() {
    for paper in [Paper::Mm58, Paper::Mm80] {
        let png = render_png(&view(MAX_TOKEN), paper).unwrap();
        let img = image::load_from_memory(&png).unwrap().into_luma8();
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, 80)
            .write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                ExtendedColorType::L8,
            )
            .unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        assert_eq!(decode_png_or_jpeg(&jpeg).unwrap(), MAX_TOKEN);
    }
}

#[test]
fn decode_file_reads_and_reports_missing_files() {
    let dir = std::env::temp_dir().join(format!("mediadist-slip-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("slip.png");
    std::fs::write(&path, render_png(&view(TOKEN), Paper::Mm80).unwrap()).unwrap();
    assert_eq!(decode_file(&path).unwrap(), TOKEN);

    let missing = dir.join("missing.png");
    let err = decode_file(&missing).unwrap_err();
    assert!(matches!(err, DecodeError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.png"));
    std::fs::remove_dir_all(&dir).unwrap();
}
