//! Slip benchmark (a report, not a timed test): slips rendered per second on
//! one core, per format and paper, and the decode time of photographed slips.
//!
//!     cargo bench -p mediadist-slip --bench slips
//!
//! Every loop runs on this one thread, so the rates are per core.

use mediadist_domain::SlipKey;
use mediadist_slip::corpus::{encode, expose, Camera, Distortion, Rng, Strength};
use mediadist_slip::{decode_with, qr_layout, render, render_bitmap, Format, Paper, SlipView};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn view(token: &str) -> SlipView {
    SlipView {
        hospital: "Hospital Test Radiology".into(),
        title: "MEDIA COLLECTION SLIP".into(),
        reference: "MD-004711".into(),
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

fn rate(format: Format, paper: Paper, key: &SlipKey) -> (f64, usize) {
    // Warm up, then run for about a second.
    let mut bytes = 0;
    for i in 0..50 {
        bytes = render(&view(key.sign(i, 1).as_str()), format, paper)
            .expect("renders")
            .len();
    }
    let start = Instant::now();
    let mut n = 0i64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..50 {
            // A new token each time: the QR code is encoded afresh too.
            black_box(
                render(&view(key.sign(1000 + n, 1).as_str()), format, paper).expect("renders"),
            );
            n += 1;
        }
    }
    (n as f64 / start.elapsed().as_secs_f64(), bytes)
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    sorted[(sorted.len() - 1) * p / 100].as_secs_f64() * 1000.0
}

fn decode_times(label: &str, scale: Option<(f64, f64)>, count: usize, key: &SlipKey) {
    let mut rng = Rng::new(2026);
    let mut times = Vec::with_capacity(count);
    let mut read = 0;
    let mut pixels = 0u64;
    for i in 0..count {
        let token = key.sign(1 + i as i64, 1);
        let paper = if i % 2 == 0 { Paper::Mm58 } else { Paper::Mm80 };
        let bitmap = render_bitmap(&view(token.as_str()), paper).expect("renders");
        let mut camera = Camera::draw(Distortion::Phone, Strength::Moderate, &mut rng);
        if let Some((lo, hi)) = scale {
            camera.scale = rng.range(lo, hi);
        }
        let photo = expose(&bitmap, &camera, &mut rng);
        pixels += u64::from(photo.width()) * u64::from(photo.height());
        let file = encode(&photo, camera.jpeg_quality);
        // Timed: what `kiosk decode` does with the file's bytes.
        let start = Instant::now();
        let result = decode_with(&file, |s| key.verify(s).is_ok());
        times.push(start.elapsed());
        if result.ok().as_deref() == Some(token.as_str()) {
            read += 1;
        }
    }
    times.sort();
    println!(
        "  {label:<34} {:>5.2} MP  median {:>6.1} ms  p90 {:>6.1} ms  max {:>6.1} ms  read {read}/{count}",
        pixels as f64 / count as f64 / 1e6,
        percentile(&times, 50),
        percentile(&times, 90),
        percentile(&times, 100),
    );
}

fn main() {
    let key = SlipKey::new(b"bench-key");
    println!("slips rendered per second, one core (token signed, QR encoded, laid out, encoded):");
    for (format, name) in [
        (Format::Png, "PNG"),
        (Format::EscPos, "ESC/POS"),
        (Format::Pdf, "PDF A6"),
    ] {
        let papers: &[Paper] = if format == Format::Pdf {
            &[Paper::Mm80]
        } else {
            &[Paper::Mm58, Paper::Mm80]
        };
        for &paper in papers {
            let (per_sec, bytes) = rate(format, paper, &key);
            let paper_name = match (format, paper) {
                (Format::Pdf, _) => "A6",
                (_, Paper::Mm58) => "58 mm",
                (_, Paper::Mm80) => "80 mm",
            };
            println!("  {name:<8} {paper_name:<6} {per_sec:>8.0} /s   {bytes:>6} bytes each");
        }
    }
    println!("where a 58 mm PNG's time goes, per second on one core:");
    let per_sec = |f: &dyn Fn(i64)| {
        let start = Instant::now();
        let mut n = 0i64;
        while start.elapsed() < Duration::from_millis(700) {
            f(n);
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    let qr = per_sec(&|n| {
        black_box(qr_layout(key.sign(n, 1).as_str(), Paper::Mm58).expect("encodes"));
    });
    let bitmap = per_sec(&|n| {
        black_box(render_bitmap(&view(key.sign(n, 1).as_str()), Paper::Mm58).expect("renders"));
    });
    println!("  token + QR code only {qr:>8.0} /s");
    println!("  + layout and drawing {bitmap:>8.0} /s (the rest of a PNG is encoding)");
    println!(
        "decode of photographed slips (moderate phone-photo damage, JPEG, signature checked):"
    );
    decode_times("kiosk camera (slip at 0.8-1.3 px/dot)", None, 101, &key);
    decode_times(
        "phone photo (slip at 3-4 px/dot)",
        Some((3.0, 4.0)),
        31,
        &key,
    );
}
