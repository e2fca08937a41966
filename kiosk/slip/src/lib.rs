//! Media collection slips: render a slip (text + QR code) as a thermal-printer
//! PNG, and read the QR payload back from a PNG or JPEG photo of one.
//!
//! Pure functions over byte buffers; the only file access is [`decode_file`].

mod decode;
mod font;
mod render;

pub use decode::{decode_file, decode_png_or_jpeg, DecodeError};
pub use render::{
    qr_layout, render_png, Paper, QrLayout, SlipError, SlipView, MAX_QR_VERSION, MAX_TOKEN_LEN,
};
