//! Raw ESC/POS bytes for a thermal printer: the slip's bitmap as
//! `GS v 0` raster images.
//!
//! Why raster and not the printer's own `GS ( k` QR and text commands: the
//! print is then dot for dot the PNG that the tests decode (same font, same
//! romanisation, same quiet zone and module size), it works on the many
//! cheap 58 mm printers whose firmware has no QR support, and it does not
//! depend on the printer's code page for names. The cost is size: about
//! 48 bytes per dot row on 58 mm paper, some 30 KB a slip, nothing for USB
//! or network printers.

use crate::render::{pack_rows, Bitmap};

/// `ESC @`: initialise the printer (clears modes left by a previous job).
pub const INIT: [u8; 2] = [0x1B, 0x40];
/// `GS v 0 m`, normal density (m = 0).
pub const RASTER: [u8; 4] = [0x1D, 0x76, 0x30, 0x00];
/// `ESC d 4`: feed four lines so the QR code clears the tear bar.
pub const FEED: [u8; 3] = [0x1B, 0x64, 0x04];
/// `GS V 66 0`: feed to the cutter and make a partial cut.
pub const CUT: [u8; 4] = [0x1D, 0x56, 0x42, 0x00];
/// Rows per `GS v 0` band; small enough for the receive buffer of cheap
/// printers, which drop data from one huge image.
pub const BAND_ROWS: u32 = 256;

/// The printer job for `bitmap`: init, the raster in bands, feed, cut.
pub fn encode(bitmap: &Bitmap) -> Vec<u8> {
    let row_bytes = bitmap.width.div_ceil(8) as usize;
    let packed = pack_rows(bitmap, true);
    let mut out = Vec::with_capacity(packed.len() + 64);
    out.extend_from_slice(&INIT);
    let mut y = 0u32;
    while y < bitmap.height {
        let rows = BAND_ROWS.min(bitmap.height - y);
        out.extend_from_slice(&RASTER);
        out.extend_from_slice(&(row_bytes as u16).to_le_bytes());
        out.extend_from_slice(&(rows as u16).to_le_bytes());
        let start = y as usize * row_bytes;
        out.extend_from_slice(&packed[start..start + rows as usize * row_bytes]);
        y += rows;
    }
    out.extend_from_slice(&FEED);
    out.extend_from_slice(&CUT);
    out
}

/// Why a byte stream is not a job [`encode`] writes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the job does not start with ESC @")]
    NoInit,
    #[error("unexpected bytes at offset {0}")]
    Unexpected(usize),
    #[error("a raster band is cut short at offset {0}")]
    Truncated(usize),
    #[error("raster bands of different widths")]
    WidthChanged,
    #[error("the job does not end with feed and cut")]
    NoCut,
}

/// Reads a job written by [`encode`] back into the bitmap it prints (what a
/// printer would do), so tests can check and decode what reaches the paper.
pub fn parse(bytes: &[u8]) -> Result<Bitmap, ParseError> {
    let rest = bytes.strip_prefix(&INIT[..]).ok_or(ParseError::NoInit)?;
    let tail: Vec<u8> = FEED.iter().chain(CUT.iter()).copied().collect();
    let body = rest.strip_suffix(&tail[..]).ok_or(ParseError::NoCut)?;
    let mut pos = 0usize;
    let mut width_bytes: Option<usize> = None;
    let mut pixels = Vec::new();
    let mut height = 0u32;
    while pos < body.len() {
        let offset = pos + INIT.len();
        let header = body
            .get(pos..pos + 8)
            .ok_or(ParseError::Truncated(offset))?;
        if header[..4] != RASTER {
            return Err(ParseError::Unexpected(offset));
        }
        let xb = u16::from_le_bytes([header[4], header[5]]) as usize;
        let rows = u16::from_le_bytes([header[6], header[7]]) as usize;
        if *width_bytes.get_or_insert(xb) != xb {
            return Err(ParseError::WidthChanged);
        }
        let data = body
            .get(pos + 8..pos + 8 + xb * rows)
            .ok_or(ParseError::Truncated(offset))?;
        for row in data.chunks_exact(xb.max(1)) {
            for x in 0..xb * 8 {
                let ink = row[x / 8] & (0x80 >> (x % 8)) != 0;
                pixels.push(if ink { 0 } else { 255 });
            }
        }
        height += rows as u32;
        pos += 8 + xb * rows;
    }
    Ok(Bitmap {
        width: width_bytes.unwrap_or(0) as u32 * 8,
        height,
        pixels,
    })
}
