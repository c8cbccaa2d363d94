//! Cover-art analysis for QC. The format facts DSPs care about (JPEG components, PNG colour
//! type, ICC profile, EXIF orientation) come from the file's own headers, which decoders
//! normalise away (a CMYK JPEG decodes to RGB). Pixels are decoded only within fixed limits,
//! so a 20000 × 20000 header cannot exhaust memory: size is a fact, decoding is optional.
//!
//! Like `audio`, this crate measures and the `qc` crate judges.

use std::io::{Cursor, Read};
use std::path::Path;

use base64::Engine;
use image::{DynamicImage, GenericImageView, ImageFormat, ImageReader, Limits};
use serde::Serialize;

/// Pixels decoded at most, per side. Covers are 3000–6000 px; beyond this, decoding is refused.
pub const MAX_DECODE_SIDE: u32 = 10_000;
/// Pixels decoded at most in all (a 6000 × 6000 cover is 36 M): a 10 000 × 10 000 image
/// would decode to 400 MB and more in its copies. Its header is still checked.
pub const MAX_DECODE_PIXELS: u64 = 40_000_000;
/// Bytes the decoder may allocate, whatever the format's depth.
pub const MAX_DECODE_BYTES: u64 = 320 * 1024 * 1024;
/// Files read at most (a cover over 10 MB already draws a warning).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Tiff,
    Webp,
    Bmp,
    Empty,
    Unknown,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub enum ColourModel {
    Rgb,
    Rgba,
    Grayscale,
    GrayscaleAlpha,
    Palette,
    Cmyk,
    Other,
}

/// Everything QC needs to know about one cover image.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ArtworkReport {
    pub file_bytes: u64,
    pub format: Format,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub colour: Option<ColourModel>,
    pub bits_per_channel: Option<u8>,
    pub icc_profile: bool,
    /// EXIF orientation tag (1 = upright; 2–8 = the viewer must flip or rotate).
    pub exif_orientation: Option<u16>,
    /// The file could not be read as an image at all.
    pub unreadable: Option<String>,
    /// Pixels were not decoded (too large, or corrupt): the measures below are absent.
    pub not_decoded: Option<String>,
    /// Variance of the 4-neighbour Laplacian of luma (0–255 scale): low means blurred or
    /// upscaled (flat designs also score low).
    pub sharpness: Option<f64>,
    /// 64-bit difference hash (dHash) of a 9 × 8 grey thumbnail, hex: near-duplicate covers
    /// differ in few bits.
    pub dhash: Option<String>,
    /// A 256 px JPEG thumbnail as a data: URI, for the staff report.
    pub thumbnail: Option<String>,
}

impl ArtworkReport {
    fn new(file_bytes: u64, format: Format) -> Self {
        ArtworkReport {
            file_bytes,
            format,
            width: None,
            height: None,
            colour: None,
            bits_per_channel: None,
            icc_profile: false,
            exif_orientation: None,
            unreadable: None,
            not_decoded: None,
            sharpness: None,
            dhash: None,
            thumbnail: None,
        }
    }
}

/// Analyses the image at `path`. Every failure is part of the report.
pub fn analyse(path: &Path) -> ArtworkReport {
    let file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES).read_to_end(&mut bytes));
    if let Err(e) = read {
        let mut r = ArtworkReport::new(file_bytes, Format::Unknown);
        r.unreadable = Some(e.to_string());
        return r;
    }
    analyse_bytes(&bytes, file_bytes)
}

/// Analyses an image held in memory (`file_bytes` is the size on disk, for the report).
pub fn analyse_bytes(bytes: &[u8], file_bytes: u64) -> ArtworkReport {
    let format = sniff(bytes);
    let mut report = ArtworkReport::new(file_bytes, format);
    let header = match format {
        Format::Empty => Err("the file is empty".to_owned()),
        Format::Jpeg => jpeg_header(bytes),
        Format::Png => png_header(bytes),
        Format::Unknown => Err("not an image format Liner knows (expected JPEG or PNG)".into()),
        _ => Err(format!(
            "{format:?} images are not accepted; expected JPEG or PNG"
        )),
    };
    match header {
        Ok(h) => {
            report.width = Some(h.width);
            report.height = Some(h.height);
            report.colour = Some(h.colour);
            report.bits_per_channel = Some(h.bits);
            report.icc_profile = h.icc;
            report.exif_orientation = h.orientation;
        }
        Err(e) => {
            report.unreadable = Some(e);
            return report;
        }
    }
    let (w, h) = (report.width.unwrap_or(0), report.height.unwrap_or(0));
    if w == 0 || h == 0 {
        report.unreadable = Some(format!("the header declares a {w} × {h} image"));
        return report;
    }
    if w > MAX_DECODE_SIDE || h > MAX_DECODE_SIDE {
        report.not_decoded = Some(format!(
            "{w} × {h} is beyond the {MAX_DECODE_SIDE} px decode limit"
        ));
        return report;
    }
    if u64::from(w) * u64::from(h) > MAX_DECODE_PIXELS {
        report.not_decoded = Some(format!(
            "{w} × {h} is {} pixels, beyond the {MAX_DECODE_PIXELS}-pixel decode limit",
            u64::from(w) * u64::from(h)
        ));
        return report;
    }
    match decode(bytes, format) {
        Ok(img) => {
            report.sharpness = Some(laplacian_variance(&img));
            report.dhash = Some(format!("{:016x}", dhash(&img)));
            report.thumbnail = thumbnail(&img);
        }
        Err(e) => report.not_decoded = Some(e),
    }
    report
}

fn sniff(b: &[u8]) -> Format {
    if b.is_empty() {
        Format::Empty
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Format::Jpeg
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Format::Png
    } else if b.starts_with(b"GIF8") {
        Format::Gif
    } else if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        Format::Tiff
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Format::Webp
    } else if b.starts_with(b"BM") {
        Format::Bmp
    } else {
        Format::Unknown
    }
}

struct Header {
    width: u32,
    height: u32,
    colour: ColourModel,
    bits: u8,
    icc: bool,
    orientation: Option<u16>,
}

/// Walks JPEG marker segments up to the frame header (SOFn), noting ICC and EXIF segments.
fn jpeg_header(b: &[u8]) -> Result<Header, String> {
    let mut i = 2usize;
    let mut icc = false;
    let mut orientation = None;
    loop {
        // Markers may be padded with 0xFF fill bytes.
        while b.get(i) == Some(&0xFF) && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (b.get(i), b.get(i + 1)) else {
            return Err(format!("JPEG ends at byte {i} before its frame header"));
        };
        let len = match b.get(i + 2..i + 4) {
            Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => return Err(format!("JPEG ends inside the segment at byte {i}")),
        };
        let Some(seg) = b.get(i + 4..i + 2 + len) else {
            return Err(format!(
                "JPEG segment at byte {i} runs past the end of the file"
            ));
        };
        match marker {
            0xE1 if seg.starts_with(b"Exif\0\0") => orientation = exif_orientation(&seg[6..]),
            0xE2 if seg.starts_with(b"ICC_PROFILE\0") => icc = true,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if seg.len() < 6 {
                    return Err("JPEG frame header is too short".into());
                }
                let bits = seg[0];
                let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
                let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
                let colour = match seg[5] {
                    1 => ColourModel::Grayscale,
                    3 => ColourModel::Rgb,
                    // Four components are CMYK (or Adobe YCCK, CMYK too once decoded).
                    4 => ColourModel::Cmyk,
                    _ => ColourModel::Other,
                };
                return Ok(Header {
                    width,
                    height,
                    colour,
                    bits,
                    icc,
                    orientation,
                });
            }
            0xD9 | 0xDA => return Err("JPEG has no frame header before its scan".into()),
            _ => {}
        }
        i += 2 + len;
    }
}

/// Reads tag 0x0112 (Orientation) from IFD0 of a TIFF-structured EXIF block.
fn exif_orientation(t: &[u8]) -> Option<u16> {
    let le = match t.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let s = t.get(o..o + 2)?;
        Some(if le {
            u16::from_le_bytes([s[0], s[1]])
        } else {
            u16::from_be_bytes([s[0], s[1]])
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let s = t.get(o..o + 4)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    let ifd = u32_at(4)? as usize;
    let count = usize::from(u16_at(ifd)?);
    (0..count.min(512)).find_map(|k| {
        let e = ifd + 2 + 12 * k;
        (u16_at(e)? == 0x0112).then(|| u16_at(e + 8)).flatten()
    })
}

/// Reads the PNG IHDR, and looks for iCCP/sRGB-free ICC and eXIf chunks before IDAT.
fn png_header(b: &[u8]) -> Result<Header, String> {
    let ihdr = b
        .get(8..33)
        .ok_or("PNG is too short to hold its IHDR chunk")?;
    if &ihdr[4..8] != b"IHDR" {
        return Err("PNG does not start with an IHDR chunk".into());
    }
    let width = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
    let height = u32::from_be_bytes([ihdr[12], ihdr[13], ihdr[14], ihdr[15]]);
    let bits = ihdr[16];
    let colour = match ihdr[17] {
        0 => ColourModel::Grayscale,
        2 => ColourModel::Rgb,
        3 => ColourModel::Palette,
        4 => ColourModel::GrayscaleAlpha,
        6 => ColourModel::Rgba,
        _ => ColourModel::Other,
    };
    let mut icc = false;
    let mut orientation = None;
    let mut i = 33usize;
    while let Some(h) = b.get(i..i + 8) {
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        match &h[4..8] {
            b"iCCP" => icc = true,
            b"eXIf" => orientation = b.get(i + 8..i + 8 + len).and_then(exif_orientation),
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        i = i.saturating_add(12).saturating_add(len);
    }
    Ok(Header {
        width,
        height,
        colour,
        bits,
        icc,
        orientation,
    })
}

fn decode(bytes: &[u8], format: Format) -> Result<DynamicImage, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(if format == Format::Png {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    });
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader.decode().map_err(|e| format!("cannot decode: {e}"))
}

/// Variance of the 4-neighbour Laplacian of luma: the classic focus measure. Sharp covers
/// score in the hundreds; a Gaussian blur or an upscale leaves single digits.
fn laplacian_variance(img: &DynamicImage) -> f64 {
    let luma = img.to_luma8();
    let (w, h) = luma.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    let px = luma.as_raw();
    let w = w as usize;
    let (mut sum, mut sum_sq, mut n) = (0f64, 0f64, 0f64);
    for y in 1..h as usize - 1 {
        let row = y * w;
        for x in 1..w - 1 {
            let c = i32::from(px[row + x]);
            let l = i32::from(px[row + x - 1])
                + i32::from(px[row + x + 1])
                + i32::from(px[row - w + x])
                + i32::from(px[row + w + x])
                - 4 * c;
            let l = f64::from(l);
            sum += l;
            sum_sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    ((sum_sq / n - mean * mean) * 10.0).round() / 10.0
}

fn dhash(img: &DynamicImage) -> u64 {
    let small = img
        .resize_exact(9, 8, image::imageops::FilterType::Triangle)
        .to_luma8();
    let mut bits = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            bits <<= 1;
            if small.get_pixel(x, y)[0] < small.get_pixel(x + 1, y)[0] {
                bits |= 1;
            }
        }
    }
    bits
}

/// Number of differing bits between two dHashes (hex), `None` if either is malformed.
pub fn dhash_distance(a: &str, b: &str) -> Option<u32> {
    let a = u64::from_str_radix(a, 16).ok()?;
    let b = u64::from_str_radix(b, 16).ok()?;
    Some((a ^ b).count_ones())
}

fn thumbnail(img: &DynamicImage) -> Option<String> {
    let (w, h) = img.dimensions();
    let scale = 256.0 / f64::from(w.max(h));
    let t = img
        .thumbnail(
            ((f64::from(w) * scale).round() as u32).max(1),
            ((f64::from(h) * scale).round() as u32).max(1),
        )
        .to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82)
        .encode_image(&t)
        .ok()?;
    Some(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_formats_by_content() {
        assert_eq!(sniff(b""), Format::Empty);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Format::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), Format::Png);
        assert_eq!(sniff(b"GIF89a"), Format::Gif);
    }

    #[test]
    fn dhash_distance_counts_bits() {
        assert_eq!(
            dhash_distance("00000000000000ff", "0000000000000000"),
            Some(8)
        );
        assert_eq!(dhash_distance("zz", "00"), None);
    }
}
