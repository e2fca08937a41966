//! Reads a QR payload back from a photo or scan of a slip.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("could not read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("not a readable PNG or JPEG image: {0}")]
    NotAnImage(String),
    #[error("could not read a QR code in the image")]
    NoCode,
    #[error("found a QR code but could not decode it: {0}")]
    Unreadable(String),
}

/// Decodes the first readable QR code in a PNG or JPEG image.
pub fn decode_png_or_jpeg(bytes: &[u8]) -> Result<String, DecodeError> {
    // image's default limits cap allocations, so hostile headers fail cleanly.
    let img = image::load_from_memory(bytes).map_err(|e| DecodeError::NotAnImage(e.to_string()))?;
    let mut prepared = rqrr::PreparedImage::prepare(img.into_luma8());
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(DecodeError::NoCode);
    }
    // A photo may catch stray finder-like patterns; keep the first grid that decodes.
    let mut last_error = None;
    for grid in &grids {
        match grid.decode() {
            Ok((_meta, content)) => return Ok(content),
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    Err(DecodeError::Unreadable(
        last_error.unwrap_or_else(|| "no grid decoded".to_string()),
    ))
}

/// Reads `path` and decodes the first QR code in it.
pub fn decode_file(path: &Path) -> Result<String, DecodeError> {
    let bytes = std::fs::read(path).map_err(|source| DecodeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_png_or_jpeg(&bytes)
}
