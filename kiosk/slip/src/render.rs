//! Lays out a collection slip or envelope label as a 1-bit bitmap sized for a
//! 203 dpi thermal printer, and encodes it as a PNG. The same bitmap is what
//! [`crate::escpos`] sends to the printer, dot for dot.

use qrcode::types::{Color, QrError};
use qrcode::{EcLevel, QrCode, Version};

use crate::{font, text};

/// Longest token accepted: QR version 3 at level Q holds 35 alphanumeric chars.
pub const MAX_TOKEN_LEN: usize = 35;
/// Highest QR version allowed; bigger codes get too dense for cheap scanners.
pub const MAX_QR_VERSION: u8 = 3;
/// Quiet zone around the code, in modules (the QR spec's minimum).
pub const QUIET_ZONE_MODULES: u32 = 4;
/// Smallest module size that thermal print + kiosk camera read reliably.
pub const MIN_MODULE_PX: u32 = 4;
/// Beyond this the code only wastes paper.
pub const MAX_MODULE_PX: u32 = 8;
/// Refuse absurd slips (~2 m of paper) rather than allocate without bound.
pub const MAX_HEIGHT_PX: u32 = 16_000;

const MARGIN_PX: u32 = 16;
const HEADER_SCALE: u32 = 2;
/// The reference is drawn as large as fits, up to this: 5 x 7 dots = 4.4 mm tall.
const MAX_REFERENCE_SCALE: u32 = 5;
const MIN_REFERENCE_SCALE: u32 = 3;
const BODY_SCALE: u32 = 2;
const RULE_PX: u32 = 2;
const GAP_PX: u32 = 12;

const WHITE: u8 = 255;
const BLACK: u8 = 0;

/// What goes on a slip or label. The renderer does no masking; `lines` are
/// printed as given, romanised to ASCII (see [`crate::romanise`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlipView {
    pub hospital: String,
    /// e.g. "MEDIA COLLECTION SLIP" or "MEDIA ENVELOPE LABEL".
    pub title: String,
    /// Short human reference such as "MD-000042", printed large.
    pub reference: String,
    /// Free text lines, wrapped to the paper width.
    pub lines: Vec<String>,
    /// QR payload; QR alphanumeric set only, at most [`MAX_TOKEN_LEN`] chars.
    pub token: String,
}

/// Thermal paper roll width at 203 dpi.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Paper {
    /// 58 mm roll, 384 printable dots.
    Mm58,
    /// 80 mm roll, 576 printable dots.
    Mm80,
}

impl Paper {
    /// Printable width in pixels (dots).
    pub const fn width_px(self) -> u32 {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }
}

/// Geometry of the QR code as it will be drawn on a given paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrLayout {
    /// QR version (1..=3).
    pub version: u8,
    /// Modules per side, without the quiet zone (21, 25 or 29).
    pub modules: u32,
    /// Quiet zone on each side, in modules.
    pub quiet_zone: u32,
    /// Pixels per module.
    pub module_px: u32,
    /// Side of the drawn square including the quiet zone, in pixels.
    pub size_px: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SlipError {
    #[error("the slip token is empty")]
    EmptyToken,
    #[error(
        "the slip token has {found:?} at position {position}; only 0-9, A-Z, space and $ % * + - . / : are allowed"
    )]
    InvalidToken { found: char, position: usize },
    #[error(
        "the slip token is too long: {len} characters; at most {MAX_TOKEN_LEN} fit a QR version {MAX_QR_VERSION} code at level Q"
    )]
    TooLong { len: usize },
    #[error(
        "the slip token needs QR version {version}; at most version {MAX_QR_VERSION} is allowed"
    )]
    VersionTooHigh { version: u8 },
    #[error("a {modules}-module QR code does not fit {width_px} px paper at {MIN_MODULE_PX} px per module")]
    QrTooWide { modules: u32, width_px: u32 },
    #[error("could not build the QR code: {0}")]
    Qr(String),
    #[error("the slip would be {height_px} px tall; at most {MAX_HEIGHT_PX} px is allowed")]
    TooTall { height_px: u64 },
    #[error("could not encode the slip PNG: {0}")]
    Encode(String),
}

/// The QR alphanumeric character set; keeping to it lets 35 chars fit version 3-Q.
fn is_qr_alphanumeric(c: char) -> bool {
    matches!(c, '0'..='9' | 'A'..='Z' | ' ' | '$' | '%' | '*' | '+' | '-' | '.' | '/' | ':')
}

pub(crate) fn build_qr(token: &str) -> Result<(QrCode, u8), SlipError> {
    if token.is_empty() {
        return Err(SlipError::EmptyToken);
    }
    if let Some((position, found)) = token
        .chars()
        .enumerate()
        .find(|(_, c)| !is_qr_alphanumeric(*c))
    {
        return Err(SlipError::InvalidToken { found, position });
    }
    // All chars are ASCII here, so byte length == char count.
    if token.len() > MAX_TOKEN_LEN {
        return Err(SlipError::TooLong { len: token.len() });
    }
    let code = QrCode::with_error_correction_level(token, EcLevel::Q).map_err(|e| match e {
        QrError::DataTooLong => SlipError::TooLong { len: token.len() },
        other => SlipError::Qr(other.to_string()),
    })?;
    // The real limit is the version, whatever segmenting the encoder chose.
    let version = match code.version() {
        Version::Normal(v) => u8::try_from(v).unwrap_or(u8::MAX),
        Version::Micro(_) => return Err(SlipError::Qr("unexpected Micro QR code".to_string())),
    };
    if version > MAX_QR_VERSION {
        return Err(SlipError::VersionTooHigh { version });
    }
    Ok((code, version))
}

fn layout_for(code: &QrCode, version: u8, paper: Paper) -> Result<QrLayout, SlipError> {
    let modules = code.width() as u32;
    let total_modules = modules + 2 * QUIET_ZONE_MODULES;
    let width_px = paper.width_px();
    // Quiet zone is white like the paper, so the whole width is usable.
    let module_px = (width_px / total_modules).min(MAX_MODULE_PX);
    if module_px < MIN_MODULE_PX {
        return Err(SlipError::QrTooWide { modules, width_px });
    }
    Ok(QrLayout {
        version,
        modules,
        quiet_zone: QUIET_ZONE_MODULES,
        module_px,
        size_px: total_modules * module_px,
    })
}

/// Validates `token` and computes how its QR code will be laid out on `paper`.
pub fn qr_layout(token: &str, paper: Paper) -> Result<QrLayout, SlipError> {
    let (code, version) = build_qr(token)?;
    layout_for(&code, version, paper)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
}

enum Block {
    Text {
        text: String,
        scale: u32,
        align: Align,
    },
    Gap(u32),
    Rule,
}

impl Block {
    fn height(&self) -> u32 {
        match self {
            Block::Text { scale, .. } => font::ADVANCE_Y * scale,
            Block::Gap(h) => *h,
            Block::Rule => RULE_PX,
        }
    }
}

/// Word-wraps `text` to at most `max_chars` characters per line; over-long
/// words are split so nothing is ever clipped off the paper edge.
pub(crate) fn wrap(text: &str, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    let mut line_len = 0usize;
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > max_chars {
            if line_len > 0 {
                out.push(std::mem::take(&mut line));
                line_len = 0;
            }
            let rest = word.split_off(max_chars);
            out.push(word.into_iter().collect());
            word = rest;
        }
        if word.is_empty() {
            continue;
        }
        let needed = if line_len == 0 {
            word.len()
        } else {
            line_len + 1 + word.len()
        };
        if needed > max_chars {
            out.push(std::mem::take(&mut line));
            line_len = 0;
        }
        if line_len > 0 {
            line.push(' ');
            line_len += 1;
        }
        line.extend(word.iter());
        line_len += word.len();
    }
    if line_len > 0 || out.is_empty() {
        out.push(line);
    }
    out
}

fn max_chars(width_px: u32, scale: u32) -> usize {
    let avail = width_px.saturating_sub(2 * MARGIN_PX);
    ((avail / scale + 1) / font::ADVANCE_X) as usize
}

fn push_text(blocks: &mut Vec<Block>, line: &str, scale: u32, align: Align, width_px: u32) {
    for line in wrap(&text::romanise(line), max_chars(width_px, scale)) {
        blocks.push(Block::Text {
            text: line,
            scale,
            align,
        });
    }
}

/// A rendered slip: row-major, one byte per dot, 0 = ink and 255 = paper
/// (nothing else). Every write is clipped so nothing can panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl Bitmap {
    /// Whether dot (`x`, `y`) is inked; dots outside the bitmap are paper.
    pub fn is_ink(&self, x: u32, y: u32) -> bool {
        x < self.width
            && y < self.height
            && self
                .pixels
                .get(y as usize * self.width as usize + x as usize)
                .is_some_and(|p| *p == BLACK)
    }

    fn new(width: u32, height: u32) -> Self {
        Bitmap {
            width,
            height,
            pixels: vec![WHITE; width as usize * height as usize],
        }
    }

    fn fill_rect(&mut self, x: u32, y: u32, w: u32, h: u32) {
        let x_end = x.saturating_add(w).min(self.width);
        let y_end = y.saturating_add(h).min(self.height);
        for row in y.min(y_end)..y_end {
            let start = row as usize * self.width as usize;
            if let Some(span) = self
                .pixels
                .get_mut(start + x.min(x_end) as usize..start + x_end as usize)
            {
                span.fill(BLACK);
            }
        }
    }

    fn draw_text(&mut self, text: &str, x: u32, y: u32, scale: u32) {
        for (i, c) in text.chars().enumerate() {
            let cx = x + i as u32 * font::ADVANCE_X * scale;
            for gy in 0..font::GLYPH_H {
                for gx in 0..font::GLYPH_W {
                    if font::is_set(c, gx, gy) {
                        self.fill_rect(cx + gx * scale, y + gy * scale, scale, scale);
                    }
                }
            }
        }
    }
}

/// The biggest scale at which `reference` fits one line of `width_px`.
fn reference_scale(reference: &str, width_px: u32) -> u32 {
    let chars = text::romanise(reference).chars().count();
    (MIN_REFERENCE_SCALE..=MAX_REFERENCE_SCALE)
        .rev()
        .find(|s| max_chars(width_px, *s) >= chars)
        .unwrap_or(MIN_REFERENCE_SCALE)
}

/// Renders `view` as a PNG exactly `paper.width_px()` wide: 1-bit greyscale
/// (pure black and white, so the printer driver needs no dithering) with the
/// 203 dpi resolution recorded in the file.
pub fn render_png(view: &SlipView, paper: Paper) -> Result<Vec<u8>, SlipError> {
    encode_png(&render_bitmap(view, paper)?)
}

/// Lays out and draws `view` for `paper`: the text, then the QR code with its
/// quiet zone, centred.
pub fn render_bitmap(view: &SlipView, paper: Paper) -> Result<Bitmap, SlipError> {
    // Validate the token first: a slip without a readable code is useless.
    let (code, version) = build_qr(&view.token)?;
    let qr = layout_for(&code, version, paper)?;
    let width = paper.width_px();

    let mut blocks = Vec::new();
    push_text(
        &mut blocks,
        &view.hospital,
        HEADER_SCALE,
        Align::Center,
        width,
    );
    push_text(&mut blocks, &view.title, HEADER_SCALE, Align::Center, width);
    blocks.push(Block::Gap(GAP_PX / 2));
    blocks.push(Block::Rule);
    blocks.push(Block::Gap(GAP_PX));
    push_text(
        &mut blocks,
        &view.reference,
        reference_scale(&view.reference, width),
        Align::Center,
        width,
    );
    blocks.push(Block::Gap(GAP_PX));
    for line in &view.lines {
        push_text(&mut blocks, line, BODY_SCALE, Align::Left, width);
    }

    // u64 so a huge `lines` vector reports TooTall instead of overflowing.
    let text_height: u64 = blocks.iter().map(|b| u64::from(b.height())).sum();
    let height = u64::from(MARGIN_PX) + text_height + u64::from(qr.size_px) + u64::from(MARGIN_PX);
    if height > u64::from(MAX_HEIGHT_PX) {
        return Err(SlipError::TooTall { height_px: height });
    }
    let height = height as u32;

    let mut canvas = Bitmap::new(width, height);
    let mut y = MARGIN_PX;
    for block in &blocks {
        match block {
            Block::Text { text, scale, align } => {
                let w = font::text_width(text.chars().count(), *scale);
                let x = match align {
                    Align::Left => MARGIN_PX,
                    Align::Center => width.saturating_sub(w) / 2,
                };
                canvas.draw_text(text, x, y, *scale);
            }
            Block::Rule => canvas.fill_rect(MARGIN_PX, y, width - 2 * MARGIN_PX, RULE_PX),
            Block::Gap(_) => {}
        }
        y += block.height();
    }

    let qr_x = (width - qr.size_px) / 2;
    let origin = qr.quiet_zone * qr.module_px;
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let mx = (i as u32) % qr.modules;
            let my = (i as u32) / qr.modules;
            canvas.fill_rect(
                qr_x + origin + mx * qr.module_px,
                y + origin + my * qr.module_px,
                qr.module_px,
                qr.module_px,
            );
        }
    }

    Ok(canvas)
}

/// Packs `bitmap` 8 dots to a byte, most significant bit first, inked dots
/// as 1 when `ink_is_one` (ESC/POS) or as 0 (greyscale PNG); rows are padded
/// to whole bytes with paper.
pub(crate) fn pack_rows(bitmap: &Bitmap, ink_is_one: bool) -> Vec<u8> {
    let row_bytes = bitmap.width.div_ceil(8) as usize;
    let mut out = vec![if ink_is_one { 0 } else { 0xFF }; row_bytes * bitmap.height as usize];
    if bitmap.width == 0 {
        return out;
    }
    for (y, row) in bitmap
        .pixels
        .chunks_exact(bitmap.width as usize)
        .take(bitmap.height as usize)
        .enumerate()
    {
        let packed = &mut out[y * row_bytes..(y + 1) * row_bytes];
        for (x, &p) in row.iter().enumerate() {
            if p == BLACK {
                packed[x / 8] ^= 0x80 >> (x % 8);
            }
        }
    }
    out
}

/// 203 dots per inch in dots per metre, as PNG records it.
const DOTS_PER_METRE: u32 = 7992;

/// Encodes `bitmap` as a 1-bit greyscale PNG (8x less data to compress than
/// 8-bit, which is what makes rendering fast).
pub fn encode_png(bitmap: &Bitmap) -> Result<Vec<u8>, SlipError> {
    let err = |e: png::EncodingError| SlipError::Encode(e.to_string());
    let mut out = Vec::with_capacity(8 * 1024);
    let mut encoder = png::Encoder::new(&mut out, bitmap.width, bitmap.height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: DOTS_PER_METRE,
        yppu: DOTS_PER_METRE,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header().map_err(err)?;
    // Greyscale 1-bit: 0 is black, 1 is white.
    writer
        .write_image_data(&pack_rows(bitmap, false))
        .map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_widths_are_203_dpi_dots() {
        assert_eq!(Paper::Mm58.width_px(), 384);
        assert_eq!(Paper::Mm80.width_px(), 576);
    }

    #[test]
    fn wrap_breaks_on_words_and_splits_long_words() {
        assert_eq!(wrap("BRING THIS SLIP", 10), vec!["BRING THIS", "SLIP"]);
        assert_eq!(wrap("ABCDEFGHIJKL", 5), vec!["ABCDE", "FGHIJ", "KL"]);
        assert_eq!(wrap("", 5), vec![""]);
        assert_eq!(wrap("A  B", 5), vec!["A B"]);
    }

    #[test]
    fn max_chars_fits_the_printable_width() {
        // 384 - 32 = 352 px; at scale 2 a char advances 12 px: 29 chars = 346 px.
        assert_eq!(max_chars(384, 2), 29);
        assert!(font::text_width(29, 2) <= 352);
        assert!(font::text_width(30, 2) > 352);
        assert_eq!(max_chars(576, 3), 30);
    }

    #[test]
    fn the_reference_is_as_large_as_fits() {
        // 9 chars at scale 5 = 269 px: fits both papers' 352 / 544 px.
        assert_eq!(reference_scale("MD-000042", 384), 5);
        assert_eq!(reference_scale("MD-000042", 576), 5);
        // 12 chars at 5 = 359 px > 352; at 4 = 287 px.
        assert_eq!(reference_scale("MD-123456789", 384), 4);
        assert_eq!(reference_scale(&"9".repeat(40), 384), 3);
    }

    #[test]
    fn rows_pack_most_significant_bit_first() {
        let mut b = Bitmap::new(10, 2);
        b.fill_rect(0, 0, 1, 1);
        b.fill_rect(9, 1, 1, 1);
        assert_eq!(pack_rows(&b, true), vec![0x80, 0x00, 0x00, 0x40]);
        assert_eq!(pack_rows(&b, false), vec![0x7F, 0xFF, 0xFF, 0xBF]);
        assert!(b.is_ink(0, 0) && b.is_ink(9, 1));
        assert!(!b.is_ink(1, 0) && !b.is_ink(10, 1) && !b.is_ink(0, 2));
    }

    #[test]
    fn qr_layout_for_typical_and_max_tokens() {
        let short = qr_layout("MD1-123456-1-ABCDEFGHJKMNPQRS", Paper::Mm58).unwrap();
        // 29 alphanumeric chars is exactly version 2-Q's capacity.
        assert_eq!(short.version, 2);
        assert_eq!(short.modules, 25);
        assert_eq!(short.quiet_zone, 4);
        assert_eq!(short.module_px, 8);
        assert_eq!(short.size_px, 33 * 8);

        let max = "A".repeat(MAX_TOKEN_LEN);
        let layout = qr_layout(&max, Paper::Mm80).unwrap();
        assert_eq!(layout.version, 3);
        assert_eq!(layout.modules, 29);
        assert_eq!(layout.size_px, 37 * 8);
        assert_eq!(layout.module_px, 8);
        assert!(layout.module_px >= MIN_MODULE_PX);

        let tiny = qr_layout("MD1", Paper::Mm58).unwrap();
        assert_eq!(tiny.version, 1);
        assert_eq!(tiny.modules, 21);
        assert_eq!(tiny.module_px, 8);
    }

    #[test]
    fn bad_tokens_are_refused() {
        let too_long = "A".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            qr_layout(&too_long, Paper::Mm80),
            Err(SlipError::TooLong { len: 36 })
        );
        assert_eq!(
            qr_layout("md1-abc", Paper::Mm80),
            Err(SlipError::InvalidToken {
                found: 'm',
                position: 0
            })
        );
        assert_eq!(
            qr_layout("MD1_ABC", Paper::Mm80),
            Err(SlipError::InvalidToken {
                found: '_',
                position: 3
            })
        );
        assert_eq!(qr_layout("", Paper::Mm58), Err(SlipError::EmptyToken));
    }

    #[test]
    fn absurdly_long_slips_are_refused() {
        let view = SlipView {
            hospital: "H".into(),
            title: "T".into(),
            reference: "R".into(),
            lines: vec!["X".to_string(); 2_000],
            token: "MD1".into(),
        };
        assert!(matches!(
            render_png(&view, Paper::Mm58),
            Err(SlipError::TooTall { height_px }) if height_px > u64::from(MAX_HEIGHT_PX)
        ));
    }
}
