//! Every output format carries the same readable code: PNG, ESC/POS (parsed
//! back into the dots a printer would burn) and PDF (its rectangles drawn).

use mediadist_domain::SlipKey;
use mediadist_slip::{
    decode_png_or_jpeg, encode_png, escpos, pdf, qr_layout, render, render_bitmap, romanise,
    Bitmap, Format, Paper, SlipView,
};

fn view(token: &str) -> SlipView {
    SlipView {
        hospital: "Hospital Sultanah Aminah".into(),
        title: "MEDIA COLLECTION SLIP".into(),
        reference: "MD-000042".into(),
        lines: vec![
            "CD x 1".into(),
            "Urgency: URGENT".into(),
            "Requested: 2026-12-03".into(),
            "Patient: AHMAD B*** A***".into(),
            "Bring this slip and your identity card".into(),
        ],
        token: token.into(),
    }
}

fn token(id: i64, version: i32) -> String {
    SlipKey::new(b"formats-test-key")
        .sign(id, version)
        .as_str()
        .to_string()
}

#[test]
fn real_tokens_fit_qr_version_3_at_level_q() {
    // MD1-42-1- + 16 MAC chars = 25 chars: above version 1-Q's 16, within 2-Q's 29.
    let small = token(42, 1);
    assert_eq!(small.len(), 25);
    assert_eq!(qr_layout(&small, Paper::Mm58).unwrap().version, 2);
    // Ten-digit ids and two-digit slip versions: 34 chars, version 3-Q holds 35.
    let big = token(9_999_999_999, 99);
    assert_eq!(big.len(), 34);
    for paper in [Paper::Mm58, Paper::Mm80] {
        let layout = qr_layout(&big, paper).unwrap();
        assert_eq!(layout.version, 3);
        assert_eq!(layout.quiet_zone, 4);
        assert_eq!(layout.module_px, 8);
        assert!(layout.size_px <= paper.width_px());
    }
}

#[test]
fn png_is_one_bit_at_203_dpi() {
    let png = render(&view(&token(42, 1)), Format::Png, Paper::Mm58).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&png));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    assert_eq!(info.width, 384);
    assert_eq!(info.bit_depth, png::BitDepth::One);
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let dims = info.pixel_dims.unwrap();
    assert_eq!(
        (dims.xppu, dims.yppu, dims.unit),
        (7992, 7992, png::Unit::Meter)
    );
    // 7992 dots per metre is 203.0 dots per inch.
    assert_eq!((f64::from(dims.xppu) * 0.0254).round(), 203.0);
}

#[test]
fn escpos_is_the_png_bitmap_dot_for_dot() {
    for (paper, row_bytes) in [(Paper::Mm58, 48u16), (Paper::Mm80, 72u16)] {
        let t = token(1234, 2);
        let bitmap = render_bitmap(&view(&t), paper).unwrap();
        let job = render(&view(&t), Format::EscPos, paper).unwrap();
        assert_eq!(&job[..2], &escpos::INIT);
        assert_eq!(&job[2..6], &escpos::RASTER);
        assert_eq!(u16::from_le_bytes([job[6], job[7]]), row_bytes);
        let first_band = bitmap.height.min(escpos::BAND_ROWS) as u16;
        assert_eq!(u16::from_le_bytes([job[8], job[9]]), first_band);
        assert!(job.ends_with(&[0x1B, 0x64, 0x04, 0x1D, 0x56, 0x42, 0x00]));
        let bands = bitmap.height.div_ceil(escpos::BAND_ROWS) as usize;
        assert_eq!(
            job.len(),
            2 + bands * 8 + row_bytes as usize * bitmap.height as usize + 7
        );

        let printed = escpos::parse(&job).unwrap();
        assert_eq!(printed, bitmap);
        let png = encode_png(&printed).unwrap();
        assert_eq!(decode_png_or_jpeg(&png).unwrap(), t);
    }
}

#[test]
fn escpos_parse_refuses_other_bytes() {
    let job = render(&view(&token(1, 1)), Format::EscPos, Paper::Mm58).unwrap();
    assert_eq!(escpos::parse(&job[1..]), Err(escpos::ParseError::NoInit));
    assert_eq!(
        escpos::parse(&job[..job.len() - 1]),
        Err(escpos::ParseError::NoCut)
    );
    let mut cut_short = job[..100].to_vec();
    cut_short.extend_from_slice(&job[job.len() - 7..]);
    assert_eq!(
        escpos::parse(&cut_short),
        Err(escpos::ParseError::Truncated(2))
    );
}

/// The PDF as text, with its cross-reference table checked: every object
/// offset points at that object, and startxref points at the table.
fn checked_pdf(bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).expect("the PDF is ASCII");
    assert!(text.starts_with("%PDF-1.4\n"));
    assert!(text.ends_with("%%EOF\n"));
    let startxref: usize = text
        .rsplit("startxref\n")
        .next()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(text[startxref..].starts_with("xref\n0 "));
    let table: Vec<&str> = text[startxref..].lines().collect();
    let count: usize = table[1].split(' ').nth(1).unwrap().parse().unwrap();
    assert_eq!(table[2], "0000000000 65535 f ");
    for n in 1..count {
        let entry = table[2 + n];
        assert_eq!(entry.len(), 19, "{entry:?}");
        let offset: usize = entry[..10].parse().unwrap();
        assert!(
            text[offset..].starts_with(&format!("{n} 0 obj\n")),
            "object {n}"
        );
    }
    assert!(text.contains(&format!("/Size {count} ")));
    // Each stream's /Length is exact.
    for part in text.split("<< /Length ").skip(1) {
        let (len, rest) = part.split_once(" >>\nstream\n").unwrap();
        let len: usize = len.parse().unwrap();
        assert!(rest[len..].starts_with("endstream"));
    }
    text
}

/// Draws the filled rectangles of the first page's content stream at
/// `px_per_pt`, as a printer would, into a bitmap.
fn rasterise_first_page(text: &str, px_per_pt: f32) -> Bitmap {
    let stream = text
        .split("stream\n")
        .nth(1)
        .unwrap()
        .split("endstream")
        .next()
        .unwrap();
    let width = (pdf::A6_WIDTH_PT * px_per_pt).ceil() as u32;
    let height = (pdf::A6_HEIGHT_PT * px_per_pt).ceil() as u32;
    let mut pixels = vec![255u8; (width * height) as usize];
    for line in stream.lines().filter(|l| l.ends_with(" re")) {
        let n: Vec<f32> = line
            .split(' ')
            .take(4)
            .map(|v| v.parse().unwrap())
            .collect();
        // PDF y goes up from the bottom.
        let x0 = (n[0] * px_per_pt).round() as u32;
        let x1 = ((n[0] + n[2]) * px_per_pt).round() as u32;
        let y0 = ((pdf::A6_HEIGHT_PT - n[1] - n[3]) * px_per_pt).round() as u32;
        let y1 = ((pdf::A6_HEIGHT_PT - n[1]) * px_per_pt).round() as u32;
        for y in y0..y1.min(height) {
            for x in x0..x1.min(width) {
                pixels[(y * width + x) as usize] = 0;
            }
        }
    }
    Bitmap {
        width,
        height,
        pixels,
    }
}

#[test]
fn pdf_is_a6_with_the_text_and_a_code_that_decodes() {
    let t = token(77, 3);
    let bytes = render(&view(&t), Format::Pdf, Paper::Mm58).unwrap();
    let text = checked_pdf(&bytes);
    assert!(text.contains("/MediaBox [0 0 297.64 419.53]"));
    assert!(text.contains("/Count 1 "));
    assert!(text.contains("/BaseFont /Courier "));
    for shown in [
        "(Hospital Sultanah Aminah) Tj",
        "(MEDIA COLLECTION SLIP) Tj",
        "(MD-000042) Tj",
        "(Patient: AHMAD B*** A***) Tj",
        "(Bring this slip and your identity card) Tj",
    ] {
        assert!(text.contains(shown), "{shown}");
    }
    // The token is only in the code, never printed as text.
    assert!(!text.contains(&t));
    let page = rasterise_first_page(&text, 2.0);
    let png = encode_png(&page).unwrap();
    assert_eq!(decode_png_or_jpeg(&png).unwrap(), t);
}

#[test]
fn a_long_label_continues_on_a_second_pdf_page() {
    let mut v = view(&token(5, 1));
    v.title = "MEDIA ENVELOPE LABEL".into();
    for i in 0..30 {
        v.lines
            .push(format!("2026-11-{:02} CT BRAIN ({i})", i % 28 + 1));
    }
    let text = checked_pdf(&render(&v, Format::Pdf, Paper::Mm80).unwrap());
    assert!(text.contains("/Count 2 "));
    assert!(text.contains("(MD-000042 \\(continued\\)) Tj"));
    assert!(text.contains("(2026-11-02 CT BRAIN \\(29\\)) Tj"));
}

#[test]
fn non_latin_text_prints_as_its_romanisation() {
    let t = token(8, 1);
    let mut written = view(&t);
    written.lines[3] = "Patient: 陈美玲".into();
    let mut romanised = view(&t);
    romanised.lines[3] = "Patient: Chen Mei Ling".into();
    assert_eq!(romanise("Patient: 陈美玲"), "Patient: Chen Mei Ling");
    // The same dots as the romanised text, so not '?' boxes.
    assert_eq!(
        render_bitmap(&written, Paper::Mm58).unwrap(),
        render_bitmap(&romanised, Paper::Mm58).unwrap()
    );
    let mut unknown = view(&t);
    unknown.lines[3] = "Patient: ????".into();
    assert_ne!(
        render_bitmap(&written, Paper::Mm58).unwrap(),
        render_bitmap(&unknown, Paper::Mm58).unwrap()
    );
    let pdf = String::from_utf8(render(&written, Format::Pdf, Paper::Mm58).unwrap()).unwrap();
    assert!(pdf.contains("(Patient: Chen Mei Ling) Tj"));
}
