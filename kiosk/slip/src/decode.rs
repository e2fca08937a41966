//! Reads a QR payload back from a photo or scan of a slip.
//!
//! A phone photo is rotated, blurred, dim, JPEG-compressed and seen at an
//! angle. rqrr (a port of quirc) copes with rotation and perspective by
//! itself; what defeats it is mostly thresholding (low contrast, uneven
//! light) and module size (too small after a far shot, or smeared by blur
//! and JPEG). So the decoder tries, in order and stopping at the first code
//! that decodes *and* that the caller accepts:
//!
//! 1. the image as it is (large photos first reduced to at most
//!    [`WORK_MAX_SIDE`] px on their long side, for speed);
//! 2. binarised against a local mean (an integral image, window about 1/8
//!    of the short side, margin from the 2nd-98th percentile contrast) —
//!    uneven light, low contrast, blur;
//!    then again with a much finer margin (a faint slip on a contrasty table);
//! 3. half size (a box filter averages JPEG blocks and noise away);
//! 4. double size (small codes; rqrr needs a few pixels per module);
//! 5. the full-resolution original, when step 1 had reduced it.
//!
//! The caller's `accept` check (the slip token's HMAC in the kiosk) makes
//! a misread impossible to return: a payload that fails it only moves on to
//! the next attempt, and when nothing passes the answer is "could not read".

use image::GrayImage;
use std::path::{Path, PathBuf};

/// Photos larger than this on their long side are first decoded reduced.
pub const WORK_MAX_SIDE: u32 = 1400;

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
    #[error("could not read the QR code in the image ({0})")]
    Unreadable(String),
    #[error("the QR code in the image is not a valid slip code (forged, damaged or not ours)")]
    Rejected,
}

/// Decodes the first readable QR code in a PNG or JPEG image.
pub fn decode_png_or_jpeg(bytes: &[u8]) -> Result<String, DecodeError> {
    decode_with(bytes, |_| true)
}

/// Decodes a PNG or JPEG image, returning the first QR payload for which
/// `accept` is true (the kiosk passes the token's signature check).
pub fn decode_with(bytes: &[u8], accept: impl FnMut(&str) -> bool) -> Result<String, DecodeError> {
    decode_with_step(bytes, accept).map(|(payload, _)| payload)
}

/// [`decode_with`], also saying which attempt read the code.
pub fn decode_with_step(
    bytes: &[u8],
    accept: impl FnMut(&str) -> bool,
) -> Result<(String, Step), DecodeError> {
    // image's default limits cap allocations, so hostile headers fail cleanly.
    let img = image::load_from_memory(bytes).map_err(|e| DecodeError::NotAnImage(e.to_string()))?;
    let luma = img.into_luma8();
    // The QR decoder is third-party code fed with outside images: a panic in
    // it must become "could not read", not a dead kiosk.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_luma_step(&luma, accept)
    }))
    .unwrap_or_else(|_| Err(DecodeError::Unreadable("the decoder failed".to_string())))
}

/// What the attempts found so far, to report the most useful failure.
struct Outcome<F> {
    accept: F,
    rejected: bool,
    last_error: Option<String>,
}

impl<F: FnMut(&str) -> bool> Outcome<F> {
    /// Looks at what the grids of one attempt decoded to.
    fn consider(&mut self, decoded: Vec<Result<String, String>>) -> Option<String> {
        // A photo may catch stray finder-like patterns; keep trying the others.
        for result in decoded {
            match result {
                Ok(content) => {
                    if (self.accept)(&content) {
                        return Some(content);
                    }
                    self.rejected = true;
                }
                Err(e) => self.last_error = Some(e),
            }
        }
        None
    }

    fn error(self) -> DecodeError {
        if self.rejected {
            DecodeError::Rejected
        } else if let Some(e) = self.last_error {
            DecodeError::Unreadable(e)
        } else {
            DecodeError::NoCode
        }
    }
}

/// Detects and decodes the grids of a prepared image (rqrr's image-buffer
/// trait is private, so this cannot be a generic function), and returns
/// from the enclosing function when a payload is accepted.
macro_rules! attempt {
    ($outcome:expr, $step:expr, $prepared:expr) => {{
        let mut prepared = $prepared;
        let decoded: Vec<Result<String, String>> = prepared
            .detect_grids()
            .iter()
            .map(|g| g.decode().map(|(_, c)| c).map_err(|e| e.to_string()))
            .collect();
        if let Some(found) = $outcome.consider(decoded) {
            return Ok((found, $step));
        }
    }};
}

/// [`attempt!`] on a binarised image (0 = ink), taken as it is.
macro_rules! attempt_binary {
    ($outcome:expr, $step:expr, $bin:expr) => {{
        let bin: GrayImage = $bin;
        let w = bin.width() as usize;
        let raw = bin.as_raw();
        attempt!(
            $outcome,
            $step,
            rqrr::PreparedImage::prepare_from_bitmap(w, bin.height() as usize, |x, y| {
                raw[y * w + x] == 0
            })
        );
    }};
}

/// Which attempt read the code (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// rqrr on the image as it is (reduced when large).
    Plain,
    /// Local-mean binarisation.
    Binarised,
    /// Half size, then rqrr or binarised.
    Half,
    /// Double size, binarised.
    Double,
    /// Full resolution of a large photo, binarised.
    FullResolution,
}

/// [`decode_with`] on an already decoded greyscale image.
pub fn decode_luma(
    img: &GrayImage,
    accept: impl FnMut(&str) -> bool,
) -> Result<String, DecodeError> {
    decode_luma_step(img, accept).map(|(payload, _)| payload)
}

/// [`decode_luma`], also saying which attempt read the code.
pub fn decode_luma_step(
    img: &GrayImage,
    accept: impl FnMut(&str) -> bool,
) -> Result<(String, Step), DecodeError> {
    if img.width() == 0 || img.height() == 0 {
        return Err(DecodeError::NoCode);
    }
    let mut outcome = Outcome {
        accept,
        rejected: false,
        last_error: None,
    };
    let long_side = img.width().max(img.height());
    let reduced = if long_side > WORK_MAX_SIDE {
        Some(reduce(img, long_side.div_ceil(WORK_MAX_SIDE)))
    } else {
        None
    };
    let base = reduced.as_ref().unwrap_or(img);

    // 1. As it is.
    attempt!(
        outcome,
        Step::Plain,
        rqrr::PreparedImage::prepare(base.clone())
    );
    // 2. Binarised against the local mean.
    attempt_binary!(outcome, Step::Binarised, binarise_local(base));
    // A faint slip on a contrasty background: a margin from the whole
    // image's contrast hides it, so try a much finer one.
    attempt_binary!(outcome, Step::Binarised, binarise_local_with(base, 48));
    // 3. Half size.
    if base.width().min(base.height()) >= 200 {
        let half = reduce(base, 2);
        attempt!(
            outcome,
            Step::Half,
            rqrr::PreparedImage::prepare(half.clone())
        );
        attempt_binary!(outcome, Step::Half, binarise_local(&half));
    }
    // 4. Double size.
    if base.width().max(base.height()) <= WORK_MAX_SIDE {
        attempt_binary!(outcome, Step::Double, binarise_local(&enlarge2(base)));
    }
    // 5. Full resolution, when the first attempts were on a reduced copy.
    if reduced.is_some() {
        attempt_binary!(outcome, Step::FullResolution, binarise_local(img));
    }
    Err(outcome.error())
}

/// Box-filter reduction by an integer `factor`.
fn reduce(img: &GrayImage, factor: u32) -> GrayImage {
    let factor = factor.max(1);
    let (w, h) = (img.width() / factor, img.height() / factor);
    let (w, h) = (w.max(1), h.max(1));
    let src = img.as_raw();
    let stride = img.width() as usize;
    let mut out = vec![0u8; w as usize * h as usize];
    let f = factor as usize;
    let area = (f * f) as u32;
    for y in 0..h as usize {
        for x in 0..w as usize {
            let mut sum = 0u32;
            for dy in 0..f {
                let row = (y * f + dy).min(img.height() as usize - 1) * stride;
                for dx in 0..f {
                    let col = (x * f + dx).min(stride - 1);
                    sum += u32::from(src[row + col]);
                }
            }
            out[y * w as usize + x] = (sum / area) as u8;
        }
    }
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| GrayImage::new(w, h))
}

/// Bilinear enlargement by two.
fn enlarge2(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width(), img.height());
    let mut out = GrayImage::new(w * 2, h * 2);
    let px = |x: u32, y: u32| u32::from(img.get_pixel(x.min(w - 1), y.min(h - 1)).0[0]);
    for y in 0..h * 2 {
        let sy = y / 2;
        let fy = y % 2;
        for x in 0..w * 2 {
            let sx = x / 2;
            let fx = x % 2;
            let v = match (fx, fy) {
                (0, 0) => px(sx, sy),
                (1, 0) => (px(sx, sy) + px(sx + 1, sy)) / 2,
                (0, 1) => (px(sx, sy) + px(sx, sy + 1)) / 2,
                _ => (px(sx, sy) + px(sx + 1, sy) + px(sx, sy + 1) + px(sx + 1, sy + 1)) / 4,
            };
            out.put_pixel(x, y, image::Luma([v as u8]));
        }
    }
    out
}

/// Binarises against the mean of a square window around each pixel (from an
/// integral image, so the cost does not depend on the window). A pixel is
/// ink when it is darker than the local mean by a margin that scales with
/// the image's overall contrast, so flat paper noise stays white.
fn binarise_local(img: &GrayImage) -> GrayImage {
    binarise_local_with(img, 12)
}

/// [`binarise_local`] with the margin at 1/`divisor` of the image's contrast.
fn binarise_local_with(img: &GrayImage, divisor: i64) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    // Contrast from the 2nd and 98th percentiles.
    let mut hist = [0usize; 256];
    for &p in src {
        hist[p as usize] += 1;
    }
    let total = src.len();
    let percentile = |q: usize| {
        let target = total * q / 100;
        let mut seen = 0usize;
        for (v, &n) in hist.iter().enumerate() {
            seen += n;
            if seen > target {
                return v as i64;
            }
        }
        255
    };
    let (lo, hi) = (percentile(2), percentile(98));
    let margin = ((hi - lo) / divisor).max(2);

    let mut integral = vec![0u64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row_sum = 0u64;
        for x in 0..w {
            row_sum += u64::from(src[y * w + x]);
            integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row_sum;
        }
    }
    let r = (w.min(h) / 16).max(4);
    let mut out = vec![255u8; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let sum = integral[y1 * (w + 1) + x1] + integral[y0 * (w + 1) + x0]
                - integral[y0 * (w + 1) + x1]
                - integral[y1 * (w + 1) + x0];
            let n = ((y1 - y0) * (x1 - x0)) as i64;
            let mean = sum as i64 / n;
            if (src[y * w + x] as i64) < mean - margin {
                out[y * w + x] = 0;
            }
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out)
        .unwrap_or_else(|| GrayImage::from_pixel(w as u32, h as u32, image::Luma([255])))
}

/// Reads `path` and decodes the first QR code in it.
pub fn decode_file(path: &Path) -> Result<String, DecodeError> {
    let bytes = std::fs::read(path).map_err(|source| DecodeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_png_or_jpeg(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_averages_blocks() {
        let img = GrayImage::from_raw(4, 2, vec![0, 100, 200, 255, 100, 200, 255, 255]).unwrap();
        let half = reduce(&img, 2);
        assert_eq!((half.width(), half.height()), (2, 1));
        assert_eq!(half.as_raw(), &vec![100, 241]);
    }

    #[test]
    fn enlarge_interpolates() {
        let img = GrayImage::from_raw(2, 1, vec![0, 200]).unwrap();
        let big = enlarge2(&img);
        assert_eq!((big.width(), big.height()), (4, 2));
        assert_eq!(big.as_raw(), &vec![0, 100, 200, 200, 0, 100, 200, 200]);
    }

    #[test]
    fn empty_images_have_no_code() {
        let err = decode_luma(&GrayImage::new(0, 0), |_| true).unwrap_err();
        assert!(matches!(err, DecodeError::NoCode), "{err:?}");
        let err = decode_luma_step(&GrayImage::new(1, 0), |_| true).unwrap_err();
        assert!(matches!(err, DecodeError::NoCode), "{err:?}");
    }
}
