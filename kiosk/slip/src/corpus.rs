//! Synthetic photos and scans of real rendered slips, for the decode tests
//! and the benchmark: the slip's bitmap is put on a table, turned, tilted,
//! blurred, dimmed, lit unevenly, given sensor noise and JPEG-compressed, each
//! from a seeded random generator so every run makes the same images.
//!
//! The camera model, applied in this order to a [`Bitmap`] (ink 0, paper 255):
//! ink and paper grey levels (contrast) → a homography (scale, rotation,
//! perspective) sampled bilinearly onto a background → Gaussian blur →
//! an illumination gradient → Gaussian noise → PNG or JPEG encoding.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

use crate::render::Bitmap;

/// SplitMix64: tiny, fast and good enough to draw distortion parameters.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// One kind of damage a photo or scan does to a slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Distortion {
    /// Turned by any angle (a slip laid down any way round).
    Rotation,
    /// Out of focus or shaken.
    Blur,
    /// Faded thermal print, dim light, light falling off across the slip.
    LowContrast,
    /// Heavy JPEG compression.
    Jpeg,
    /// Seen at an angle: the slip's rectangle becomes a quadrilateral.
    Perspective,
    /// A phone photo: all of the above at once, milder each, plus noise.
    Phone,
}

impl Distortion {
    pub const ALL: [Distortion; 6] = [
        Distortion::Rotation,
        Distortion::Blur,
        Distortion::LowContrast,
        Distortion::Jpeg,
        Distortion::Perspective,
        Distortion::Phone,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Distortion::Rotation => "rotation",
            Distortion::Blur => "blur",
            Distortion::LowContrast => "low contrast",
            Distortion::Jpeg => "jpeg",
            Distortion::Perspective => "perspective",
            Distortion::Phone => "phone photo",
        }
    }
}

/// How hard the damage is. The decode target (≥ 99%) is for `Moderate`;
/// `Severe` is past what a kiosk should need, reported to show where the
/// decoder stops (and that it then says "could not read", never a wrong code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strength {
    Moderate,
    Severe,
}

/// The drawn parameters of one photo, for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Camera {
    /// Photo pixels per slip dot.
    pub scale: f64,
    /// Degrees.
    pub rotation: f64,
    /// Largest corner displacement as a fraction of the slip's size.
    pub perspective: f64,
    /// Gaussian sigma in photo pixels.
    pub blur: f64,
    pub ink: f64,
    pub paper: f64,
    pub background: f64,
    /// Brightness change across the photo, as a fraction (0.2 = ±10%).
    pub gradient: f64,
    /// Gaussian noise sigma in grey levels.
    pub noise: f64,
    /// JPEG quality, or `None` for PNG.
    pub jpeg_quality: Option<u8>,
}

impl Camera {
    /// A clean, straight, sharp photo at `scale`.
    pub fn clean(scale: f64) -> Self {
        Camera {
            scale,
            rotation: 0.0,
            perspective: 0.0,
            blur: 0.0,
            ink: 25.0,
            paper: 235.0,
            background: 90.0,
            gradient: 0.0,
            noise: 0.0,
            jpeg_quality: None,
        }
    }

    /// Draws the parameters for `kind` at `strength`.
    pub fn draw(kind: Distortion, strength: Strength, rng: &mut Rng) -> Self {
        let severe = strength == Strength::Severe;
        let mut c = Camera::clean(rng.range(0.8, 1.3));
        c.background = rng.range(50.0, 130.0);
        // Every photo is a little off straight and a little soft.
        c.rotation = rng.range(-4.0, 4.0);
        c.blur = rng.range(0.3, 0.7);
        match kind {
            Distortion::Rotation => {
                c.rotation = rng.range(0.0, 360.0);
                if severe {
                    c.scale = rng.range(0.5, 0.6);
                }
            }
            Distortion::Blur => {
                c.blur = if severe {
                    rng.range(2.6, 3.6)
                } else {
                    rng.range(1.0, 2.0)
                };
            }
            Distortion::LowContrast => {
                let mid = rng.range(110.0, 170.0);
                let spread = if severe {
                    rng.range(12.0, 20.0)
                } else {
                    rng.range(30.0, 60.0)
                };
                c.ink = mid - spread / 2.0;
                c.paper = mid + spread / 2.0;
                c.gradient = rng.range(0.1, 0.3);
                c.noise = 2.0;
            }
            Distortion::Jpeg => {
                c.jpeg_quality = Some(if severe {
                    rng.range(3.0, 8.0) as u8
                } else {
                    rng.range(15.0, 45.0) as u8
                });
                if severe {
                    c.scale = rng.range(0.55, 0.7);
                }
            }
            Distortion::Perspective => {
                c.perspective = if severe {
                    rng.range(0.25, 0.35)
                } else {
                    rng.range(0.05, 0.15)
                };
            }
            Distortion::Phone => {
                c.rotation = rng.range(0.0, 360.0);
                c.perspective = rng.range(0.02, if severe { 0.25 } else { 0.1 });
                c.blur = rng.range(0.5, if severe { 2.5 } else { 1.3 });
                c.ink = rng.range(30.0, if severe { 120.0 } else { 80.0 });
                c.paper = rng.range(if severe { 140.0 } else { 170.0 }, 230.0);
                c.gradient = rng.range(0.0, 0.3);
                c.noise = rng.range(2.0, if severe { 14.0 } else { 6.0 });
                c.jpeg_quality = Some(rng.range(if severe { 10.0 } else { 50.0 }, 90.0) as u8);
                if severe {
                    c.scale = rng.range(0.55, 0.8);
                }
            }
        }
        c
    }
}

/// A 3x3 projective transform, row-major, mapping (x, y, 1).
type Homography = [f64; 9];

fn apply(h: &Homography, x: f64, y: f64) -> (f64, f64) {
    let w = h[6] * x + h[7] * y + h[8];
    (
        (h[0] * x + h[1] * y + h[2]) / w,
        (h[3] * x + h[4] * y + h[5]) / w,
    )
}

/// The homography taking each `from[i]` to `to[i]` (Gaussian elimination on
/// the 8x8 system with h33 = 1). `None` for degenerate corners.
fn homography(from: [(f64, f64); 4], to: [(f64, f64); 4]) -> Option<Homography> {
    let mut a = [[0f64; 9]; 8];
    for i in 0..4 {
        let ((x, y), (u, v)) = (from[i], to[i]);
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let pivot = (col..8).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col];
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (cell, p) in row.iter_mut().zip(pivot_row.iter()).skip(col) {
                    *cell -= f * p;
                }
            }
        }
    }
    let mut h = [0f64; 9];
    for (i, row) in a.iter().enumerate() {
        h[i] = row[8] / row[i];
    }
    h[8] = 1.0;
    Some(h)
}

fn gaussian_blur(buf: &mut [f32], w: usize, h: usize, sigma: f64) {
    if sigma <= 0.05 {
        return;
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32)
        .collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
    let mut tmp = vec![0f32; buf.len()];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0f32;
            for (k, weight) in kernel.iter().enumerate() {
                let sx = (x as isize + k as isize - radius).clamp(0, w as isize - 1) as usize;
                acc += weight * buf[y * w + sx];
            }
            tmp[y * w + x] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0f32;
            for (k, weight) in kernel.iter().enumerate() {
                let sy = (y as isize + k as isize - radius).clamp(0, h as isize - 1) as usize;
                acc += weight * tmp[sy * w + x];
            }
            buf[y * w + x] = acc;
        }
    }
}

/// The photo as 8-bit grey pixels, before encoding.
pub fn expose(slip: &Bitmap, camera: &Camera, rng: &mut Rng) -> image::GrayImage {
    let (sw, sh) = (f64::from(slip.width), f64::from(slip.height));
    // Forward: slip corners → photo corners (scale, rotate about the centre, jitter).
    let (sin, cos) = camera.rotation.to_radians().sin_cos();
    let size = sw.max(sh) * camera.scale;
    let corners = [(0.0, 0.0), (sw, 0.0), (sw, sh), (0.0, sh)];
    let mut moved = corners.map(|(x, y)| {
        let (dx, dy) = ((x - sw / 2.0) * camera.scale, (y - sh / 2.0) * camera.scale);
        (dx * cos - dy * sin, dx * sin + dy * cos)
    });
    for p in &mut moved {
        p.0 += rng.range(-1.0, 1.0) * camera.perspective * size;
        p.1 += rng.range(-1.0, 1.0) * camera.perspective * size;
    }
    let margin = 24.0 + 0.05 * size;
    let min_x = moved.iter().map(|p| p.0).fold(f64::MAX, f64::min) - margin;
    let min_y = moved.iter().map(|p| p.1).fold(f64::MAX, f64::min) - margin;
    let max_x = moved.iter().map(|p| p.0).fold(f64::MIN, f64::max) + margin;
    let max_y = moved.iter().map(|p| p.1).fold(f64::MIN, f64::max) + margin;
    let moved = moved.map(|(x, y)| (x - min_x, y - min_y));
    let (w, h) = (
        (max_x - min_x).ceil() as usize,
        (max_y - min_y).ceil() as usize,
    );
    // Inverse: photo pixel → slip dot. A degenerate draw falls back to a plain scale.
    let inverse = homography(moved, corners).unwrap_or([
        1.0 / camera.scale,
        0.0,
        0.0,
        0.0,
        1.0 / camera.scale,
        0.0,
        0.0,
        0.0,
        1.0,
    ]);

    let (ink, paper, bg) = (
        camera.ink as f32,
        camera.paper as f32,
        camera.background as f32,
    );
    let level = |x: i64, y: i64| -> f32 {
        if x < 0 || y < 0 || x >= i64::from(slip.width) || y >= i64::from(slip.height) {
            bg
        } else if slip.is_ink(x as u32, y as u32) {
            ink
        } else {
            paper
        }
    };
    let mut buf = vec![0f32; w * h];
    for py in 0..h {
        for px in 0..w {
            let (sx, sy) = apply(&inverse, px as f64 + 0.5, py as f64 + 0.5);
            let (sx, sy) = (sx - 0.5, sy - 0.5);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = ((sx - x0) as f32, (sy - y0) as f32);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let top = level(x0, y0) * (1.0 - fx) + level(x0 + 1, y0) * fx;
            let bottom = level(x0, y0 + 1) * (1.0 - fx) + level(x0 + 1, y0 + 1) * fx;
            buf[py * w + px] = top * (1.0 - fy) + bottom * fy;
        }
    }
    gaussian_blur(&mut buf, w, h, camera.blur);
    let angle = rng.range(0.0, std::f64::consts::TAU);
    let (gx, gy) = (angle.cos() * camera.gradient, angle.sin() * camera.gradient);
    let mut pixels = Vec::with_capacity(w * h);
    for py in 0..h {
        for px in 0..w {
            let light = 1.0 + gx * (px as f64 / w as f64 - 0.5) + gy * (py as f64 / h as f64 - 0.5);
            let mut v = f64::from(buf[py * w + px]) * light;
            if camera.noise > 0.0 {
                v += rng.normal() * camera.noise;
            }
            pixels.push(v.round().clamp(0.0, 255.0) as u8);
        }
    }
    image::GrayImage::from_raw(w as u32, h as u32, pixels)
        .unwrap_or_else(|| image::GrayImage::new(w as u32, h as u32))
}

/// Encodes a photo as the camera would deliver it.
pub fn encode(photo: &image::GrayImage, jpeg_quality: Option<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let (w, h) = (photo.width(), photo.height());
    // Encoding an in-memory greyscale buffer cannot fail; an empty result
    // would only make the decode tests fail loudly.
    let _ = match jpeg_quality {
        Some(q) => JpegEncoder::new_with_quality(&mut out, q.clamp(1, 100)).write_image(
            photo.as_raw(),
            w,
            h,
            ExtendedColorType::L8,
        ),
        None => PngEncoder::new(&mut out).write_image(photo.as_raw(), w, h, ExtendedColorType::L8),
    };
    out
}

/// A photo of `slip` damaged by `kind` at `strength`: the encoded file and
/// the parameters drawn.
pub fn photograph(
    slip: &Bitmap,
    kind: Distortion,
    strength: Strength,
    rng: &mut Rng,
) -> (Vec<u8>, Camera) {
    let camera = Camera::draw(kind, strength, rng);
    let photo = expose(slip, &camera, rng);
    (encode(&photo, camera.jpeg_quality), camera)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(xs, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(Rng::new(8).next_u64(), xs[0]);
        let u = Rng::new(1).unit();
        assert!((0.0..1.0).contains(&u));
    }

    #[test]
    fn homography_maps_the_corners() {
        let from = [(0.0, 0.0), (10.0, 0.0), (10.0, 20.0), (0.0, 20.0)];
        let to = [(5.0, 3.0), (30.0, 1.0), (28.0, 50.0), (2.0, 45.0)];
        let h = homography(from, to).unwrap();
        for (f, t) in from.iter().zip(to.iter()) {
            let (u, v) = apply(&h, f.0, f.1);
            assert!((u - t.0).abs() < 1e-6 && (v - t.1).abs() < 1e-6, "{u},{v}");
        }
        let same = [(0.0, 0.0); 4];
        assert_eq!(homography(same, to), None);
    }

    #[test]
    fn a_clean_exposure_keeps_ink_and_paper_levels() {
        let slip = Bitmap {
            width: 4,
            height: 4,
            pixels: [0, 0, 255, 255].repeat(4),
        };
        let photo = expose(&slip, &Camera::clean(1.0), &mut Rng::new(1));
        // 24 px margin + 5% of 4 px, on each side of the 4 px slip.
        assert_eq!((photo.width(), photo.height()), (53, 53));
        let at = |x, y| photo.get_pixel(x, y).0[0];
        assert_eq!(at(0, 0), 90);
        // The slip starts at 24.2 px; pixel 25's centre samples dots 0 and 1
        // (ink), pixel 27's dots 2 and 3 (paper).
        assert_eq!(at(25, 25), 25);
        assert_eq!(at(27, 25), 235);
        assert_eq!(at(27, 40), 90);
    }
}
