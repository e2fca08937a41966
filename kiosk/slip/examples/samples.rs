//! Writes sample slips, a label and damaged photos of them into a folder, to
//! look at: `cargo run -p mediadist-slip --example samples -- /tmp/slips`.
//! Synthetic data only; the token is signed with a throwaway key.

use mediadist_domain::SlipKey;
use mediadist_slip::corpus::{photograph, Distortion, Rng, Strength};
use mediadist_slip::{render, render_bitmap, Format, Paper, SlipView};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "slip-samples".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let token = SlipKey::new(b"samples-key").sign(42, 1);
    let slip = SlipView {
        hospital: "Hospital Test Radiology".into(),
        title: "MEDIA COLLECTION SLIP".into(),
        reference: "MD-000042".into(),
        lines: vec![
            "CD x 1".into(),
            "Urgency: URGENT".into(),
            "Requested: 2026-12-03".into(),
            "Patient: CHEN M*** L*** (romanised)".into(),
            "Bring this slip and your identity card".into(),
        ],
        token: token.as_str().into(),
    };
    let mut label = slip.clone();
    label.title = "MEDIA ENVELOPE LABEL".into();
    label.lines.pop();
    label.lines.push("Shelf: B-4".into());
    label.lines.push("Studies (1):".into());
    label
        .lines
        .push("- 2026-11-30 CT THORAX (CT) acc A1001".into());
    for (name, view) in [("slip", &slip), ("label", &label)] {
        for (paper, mm) in [(Paper::Mm58, 58), (Paper::Mm80, 80)] {
            std::fs::write(
                dir.join(format!("{name}-{mm}.png")),
                render(view, Format::Png, paper)?,
            )?;
        }
        std::fs::write(
            dir.join(format!("{name}.pdf")),
            render(view, Format::Pdf, Paper::Mm80)?,
        )?;
        std::fs::write(
            dir.join(format!("{name}-80.escpos")),
            render(view, Format::EscPos, Paper::Mm80)?,
        )?;
    }
    let bitmap = render_bitmap(&slip, Paper::Mm58)?;
    let mut rng = Rng::new(1);
    for kind in Distortion::ALL {
        for strength in [Strength::Moderate, Strength::Severe] {
            let (photo, camera) = photograph(&bitmap, kind, strength, &mut rng);
            let ext = if camera.jpeg_quality.is_some() {
                "jpg"
            } else {
                "png"
            };
            let name = format!(
                "photo-{}-{:?}.{ext}",
                kind.name().replace(' ', "-"),
                strength
            )
            .to_lowercase();
            std::fs::write(dir.join(name), photo)?;
        }
    }
    println!("samples written to {}", dir.display());
    Ok(())
}
