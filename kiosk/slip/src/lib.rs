//! Media collection slips and envelope labels: render one (text + QR code)
//! as a thermal-printer PNG, raw ESC/POS bytes or an A6 PDF, and read the QR
//! payload back from a PNG or JPEG photo or scan of one.
//!
//! Pure functions over byte buffers; the only file access is [`decode_file`].
//! [`corpus`] makes synthetic photos of slips (rotation, blur, low contrast,
//! JPEG, perspective) for the decode tests and the benchmark.

pub mod corpus;
mod decode;
pub mod escpos;
mod font;
pub mod pdf;
mod render;
mod text;

pub use decode::{
    decode_file, decode_luma, decode_luma_step, decode_png_or_jpeg, decode_with, decode_with_step,
    DecodeError, Step,
};
pub use render::{
    encode_png, qr_layout, render_bitmap, render_png, Bitmap, Paper, QrLayout, SlipError, SlipView,
    MAX_QR_VERSION, MAX_TOKEN_LEN, MIN_MODULE_PX, QUIET_ZONE_MODULES,
};
pub use text::{romanise, romanise_name};

/// Output formats of a slip or label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// 1-bit PNG at 203 dpi, as wide as the paper.
    Png,
    /// A6 PDF for office printers (the paper width does not apply).
    Pdf,
    /// Raw ESC/POS bytes (`GS v 0` raster) to send to a thermal printer.
    EscPos,
}

/// Renders `view` in `format`; `paper` sets the width of PNG and ESC/POS.
pub fn render(view: &SlipView, format: Format, paper: Paper) -> Result<Vec<u8>, SlipError> {
    match format {
        Format::Png => render_png(view, paper),
        Format::Pdf => pdf::render_pdf(view),
        Format::EscPos => Ok(escpos::encode(&render_bitmap(view, paper)?)),
    }
}
