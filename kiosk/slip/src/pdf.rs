//! A6 PDF of a slip or label for office printers, written by hand.
//!
//! PDF 1.4 with the standard Courier and Courier-Bold fonts (every PDF
//! reader has them, so nothing is embedded) and the QR code as filled
//! rectangles, so it prints sharp at any resolution. Courier is monospaced:
//! every character is 0.6 em wide, which makes wrapping exact. The text is
//! romanised to ASCII first, like the thermal slip.

use qrcode::types::Color;

use crate::render::{build_qr, SlipError, SlipView, QUIET_ZONE_MODULES};
use crate::text;

/// A6 is 105 mm x 148 mm; in PDF points (1/72 inch).
pub const A6_WIDTH_PT: f32 = 297.64;
pub const A6_HEIGHT_PT: f32 = 419.53;

const MARGIN: f32 = 24.0;
/// Courier advances 0.6 em per character.
const COURIER_EM: f32 = 0.6;
const HEADER_PT: f32 = 11.0;
const REFERENCE_PT: f32 = 26.0;
const BODY_PT: f32 = 10.0;
const LEADING: f32 = 1.25;
/// 3 pt ≈ 1.06 mm per module: easy for any scanner, 39 mm for a version 3 code.
pub const MODULE_PT: f32 = 3.0;
/// Refuse absurd slips rather than write thousands of pages.
const MAX_PAGES: usize = 20;

struct Line {
    text: String,
    bold: bool,
    size: f32,
    centre: bool,
}

fn chars_per_line(size: f32) -> usize {
    ((A6_WIDTH_PT - 2.0 * MARGIN) / (size * COURIER_EM)) as usize
}

fn wrapped(out: &mut Vec<Line>, line: &str, bold: bool, size: f32, centre: bool) {
    for text in crate::render::wrap(&text::romanise(line), chars_per_line(size)) {
        out.push(Line {
            text,
            bold,
            size,
            centre,
        });
    }
}

/// A PDF string literal: `(`, `)` and `\` escaped. The text is ASCII already.
fn pdf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('(');
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push(')');
    out
}

fn draw_line(content: &mut String, line: &Line, top: f32) {
    let width = line.text.chars().count() as f32 * line.size * COURIER_EM;
    let x = if line.centre {
        (A6_WIDTH_PT - width) / 2.0
    } else {
        MARGIN
    };
    // The baseline sits about 0.8 em below the top of the line.
    let y = A6_HEIGHT_PT - top - line.size * 0.8;
    let font = if line.bold { "F2" } else { "F1" };
    content.push_str(&format!(
        "BT /{font} {} Tf {x:.2} {y:.2} Td {} Tj ET\n",
        line.size,
        pdf_string(&line.text)
    ));
}

/// Renders `view` as an A6 portrait PDF: header, the reference in large
/// type, the QR code, then the lines (continued on further pages when a
/// label lists many studies). Returns the file's bytes.
pub fn render_pdf(view: &SlipView) -> Result<Vec<u8>, SlipError> {
    let (code, _version) = build_qr(&view.token)?;
    let modules = code.width() as u32;

    let mut header = Vec::new();
    wrapped(&mut header, &view.hospital, true, HEADER_PT, true);
    wrapped(&mut header, &view.title, true, HEADER_PT, true);
    let mut reference = Vec::new();
    wrapped(&mut reference, &view.reference, true, REFERENCE_PT, true);
    let mut body = Vec::new();
    for line in &view.lines {
        wrapped(&mut body, line, false, BODY_PT, false);
    }

    let mut pages: Vec<String> = Vec::new();
    let mut content = String::new();
    let mut top = MARGIN;
    for line in &header {
        draw_line(&mut content, line, top);
        top += line.size * LEADING;
    }
    // A rule under the header.
    top += 4.0;
    content.push_str(&format!(
        "{MARGIN:.2} {:.2} {:.2} 1.5 re f\n",
        A6_HEIGHT_PT - top - 1.5,
        A6_WIDTH_PT - 2.0 * MARGIN
    ));
    top += 10.0;
    for line in &reference {
        draw_line(&mut content, line, top);
        top += line.size * LEADING;
    }

    // The QR code: quiet zone is the white page; dark modules as runs of rectangles.
    let side = (modules + 2 * QUIET_ZONE_MODULES) as f32 * MODULE_PT;
    let qr_left = (A6_WIDTH_PT - side) / 2.0 + QUIET_ZONE_MODULES as f32 * MODULE_PT;
    let qr_top = top + QUIET_ZONE_MODULES as f32 * MODULE_PT;
    let colors = code.to_colors();
    for (my, row) in colors.chunks_exact(modules as usize).enumerate() {
        let mut mx = 0usize;
        while mx < row.len() {
            if row[mx] != Color::Dark {
                mx += 1;
                continue;
            }
            let start = mx;
            while mx < row.len() && row[mx] == Color::Dark {
                mx += 1;
            }
            content.push_str(&format!(
                "{:.2} {:.2} {:.2} {MODULE_PT:.2} re\n",
                qr_left + start as f32 * MODULE_PT,
                A6_HEIGHT_PT - qr_top - (my as f32 + 1.0) * MODULE_PT,
                (mx - start) as f32 * MODULE_PT,
            ));
        }
    }
    content.push_str("f\n");
    top += side;

    for line in &body {
        let height = line.size * LEADING;
        if top + height > A6_HEIGHT_PT - MARGIN {
            pages.push(std::mem::take(&mut content));
            if pages.len() >= MAX_PAGES {
                return Err(SlipError::TooTall {
                    height_px: (pages.len() as u64 + 1) * A6_HEIGHT_PT as u64,
                });
            }
            top = MARGIN;
            let continued = Line {
                text: format!("{} (continued)", text::romanise(&view.reference)),
                bold: true,
                size: HEADER_PT,
                centre: true,
            };
            draw_line(&mut content, &continued, top);
            top += HEADER_PT * LEADING + 6.0;
        }
        draw_line(&mut content, line, top);
        top += height;
    }
    pages.push(content);
    Ok(write_document(&pages, &text::romanise(&view.reference)))
}

/// Writes the objects and the cross-reference table. Objects: 1 catalog,
/// 2 page tree, 3 Courier, 4 Courier-Bold, 5 info, then a page and its
/// content stream for each page.
fn write_document(pages: &[String], title: &str) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let page_ids: Vec<usize> = (0..pages.len()).map(|i| 6 + 2 * i).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".to_string());
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        page_ids
            .iter()
            .map(|id| format!("{id} 0 R"))
            .collect::<Vec<_>>()
            .join(" "),
        pages.len()
    ));
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>"
            .to_string(),
    );
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold /Encoding /WinAnsiEncoding >>"
            .to_string(),
    );
    objects.push(format!(
        "<< /Title {} /Producer (mediadist) >>",
        pdf_string(title)
    ));
    for (i, content) in pages.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {A6_WIDTH_PT} {A6_HEIGHT_PT}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            page_ids[i] + 1
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }

    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{object}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        out.push_str(&format!("{offset:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(pdf_string("A (B) \\ C"), "(A \\(B\\) \\\\ C)");
        assert_eq!(pdf_string("é"), "(?)");
    }

    #[test]
    fn courier_lines_fit_the_page() {
        // 249.64 pt / 6 pt = 41 characters of 10 pt Courier.
        assert_eq!(chars_per_line(BODY_PT), 41);
        const { assert!(41.0 * BODY_PT * COURIER_EM <= A6_WIDTH_PT - 2.0 * MARGIN) };
        const { assert!(42.0 * BODY_PT * COURIER_EM > A6_WIDTH_PT - 2.0 * MARGIN) };
        // MD-000042 in 26 pt: 9 x 15.6 = 140.4 pt, one line.
        assert_eq!(chars_per_line(REFERENCE_PT), 16);
    }
}
