//! Artwork facts from real encoded images and from hostile headers.

use artwork::{ColourModel, Format, analyse, analyse_bytes};

fn encode_png(img: &image::DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn gradient(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x % 256) as u8,
            (y % 256) as u8,
            ((x * 7 + y * 3) % 256) as u8,
        ])
    })
}

#[test]
fn reads_size_colour_and_format_from_real_files() {
    let rgb = encode_png(&gradient(320, 200).into());
    let r = analyse_bytes(&rgb, rgb.len() as u64);
    assert_eq!(
        (r.format, r.width, r.height, r.colour),
        (Format::Png, Some(320), Some(200), Some(ColourModel::Rgb))
    );
    assert!(r.sharpness.is_some() && r.dhash.is_some());
    assert!(
        r.thumbnail
            .as_deref()
            .is_some_and(|t| t.starts_with("data:image/jpeg;base64,"))
    );

    let gray = encode_png(&image::DynamicImage::from(gradient(64, 64)).grayscale());
    assert_eq!(analyse_bytes(&gray, 0).colour, Some(ColourModel::Grayscale));
    let rgba = encode_png(
        &image::DynamicImage::from(gradient(64, 64))
            .to_rgba8()
            .into(),
    );
    assert_eq!(analyse_bytes(&rgba, 0).colour, Some(ColourModel::Rgba));

    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&gradient(100, 100))
        .expect("jpeg");
    let r = analyse_bytes(&jpeg, 0);
    assert_eq!(
        (r.format, r.colour, r.width),
        (Format::Jpeg, Some(ColourModel::Rgb), Some(100))
    );
}

/// A JPEG's frame header with 4 components is CMYK, whatever a decoder turns it into; APP1
/// EXIF orientation and APP2 ICC segments are noticed.
#[test]
fn cmyk_icc_and_exif_come_from_jpeg_headers() {
    let mut b = vec![0xFF, 0xD8];
    // APP1 Exif, little-endian TIFF, IFD0 with one entry: Orientation (0x0112) = 6.
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0".to_vec();
    exif.extend_from_slice(&[
        1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    b.extend_from_slice(&[0xFF, 0xE1]);
    b.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    b.extend_from_slice(&exif);
    let icc = b"ICC_PROFILE\0\x01\x01fake".to_vec();
    b.extend_from_slice(&[0xFF, 0xE2]);
    b.extend_from_slice(&((icc.len() + 2) as u16).to_be_bytes());
    b.extend_from_slice(&icc);
    // SOF0: 8-bit, 3000 × 3000, 4 components.
    b.extend_from_slice(&[
        0xFF, 0xC0, 0, 20, 8, 0x0B, 0xB8, 0x0B, 0xB8, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4,
        0x11, 0,
    ]);
    b.extend_from_slice(&[0xFF, 0xD9]);
    let r = analyse_bytes(&b, b.len() as u64);
    assert_eq!(r.colour, Some(ColourModel::Cmyk));
    assert_eq!((r.width, r.height), (Some(3000), Some(3000)));
    assert!(r.icc_profile);
    assert_eq!(r.exif_orientation, Some(6));
    assert!(r.not_decoded.is_some(), "no scan data to decode");
}

#[test]
fn hostile_headers_are_findings_with_bounded_memory() {
    // A 5-byte "PNG".
    let r = analyse_bytes(b"\x89PNG\r", 5);
    assert_eq!(r.format, Format::Unknown);
    assert!(r.unreadable.is_some());
    let r = analyse_bytes(b"\x89PNG\r\n\x1a\n\0\0", 10);
    assert_eq!(r.format, Format::Png);
    assert!(
        r.unreadable
            .as_deref()
            .is_some_and(|u| u.contains("too short")),
        "{:?}",
        r.unreadable
    );

    // A valid 20000 × 20000 PNG header: its size is reported, its pixels are not decoded.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&20_000u32.to_be_bytes());
    png.extend_from_slice(&20_000u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    let r = analyse_bytes(&png, png.len() as u64);
    assert_eq!((r.width, r.height), (Some(20_000), Some(20_000)));
    assert!(
        r.not_decoded
            .as_deref()
            .is_some_and(|n| n.contains("decode limit")),
        "{:?}",
        r.not_decoded
    );
    assert!(r.sharpness.is_none());

    // Empty, GIF, truncated JPEG, a PNG whose pixel data is garbage.
    assert_eq!(analyse_bytes(b"", 0).format, Format::Empty);
    assert!(analyse_bytes(b"GIF89a....", 10).unreadable.is_some());
    assert!(
        analyse_bytes(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00], 5)
            .unreadable
            .is_some()
    );
    let mut bad = encode_png(&gradient(50, 50).into());
    let n = bad.len();
    bad[n / 2..n - 12].iter_mut().for_each(|b| *b = 0x5A);
    let r = analyse_bytes(&bad, 0);
    assert!(r.not_decoded.is_some() && r.width == Some(50), "{r:?}");

    // A missing file.
    assert!(
        analyse(std::path::Path::new("/nonexistent/cover.jpg"))
            .unreadable
            .is_some()
    );
}

/// Hardening defect 11: the decode limit was per side only, so a 10 000 × 10 000 image (and
/// a 16-bit one at twice the bytes) was decoded. Now total pixels are capped as well.
#[test]
fn defect_11_total_pixels_are_capped_not_only_each_side() {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&10_000u32.to_be_bytes());
    png.extend_from_slice(&10_000u32.to_be_bytes());
    png.extend_from_slice(&[16, 2, 0, 0, 0, 0, 0, 0, 0]);
    let r = analyse_bytes(&png, png.len() as u64);
    assert_eq!((r.width, r.height), (Some(10_000), Some(10_000)));
    let why = r.not_decoded.expect("not decoded");
    assert!(
        why.contains("100000000 pixels") && why.contains("decode limit"),
        "{why}"
    );
}
