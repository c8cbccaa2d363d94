//! Calibrates the blur threshold (ART-BLUR) on synthesized covers: sharp ones with fine detail
//! score far above it; Gaussian-blurred and upscaled ones fall below.

use image::{DynamicImage, RgbImage, imageops};

fn cover(size: u32) -> RgbImage {
    RgbImage::from_fn(size, size, |x, y| {
        let t = f64::from(x + y) / f64::from(2 * size);
        let screen = if x % 12 == 0 || y % 12 == 0 { 0.8 } else { 1.0 };
        let v = ((40.0 + 180.0 * t) * screen) as u8;
        image::Rgb([v, v / 2 + 30, 255 - v])
    })
}

fn sharpness(img: RgbImage) -> f64 {
    let mut png = std::io::Cursor::new(Vec::new());
    DynamicImage::from(img)
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("png");
    let bytes = png.into_inner();
    artwork::analyse_bytes(&bytes, bytes.len() as u64)
        .sharpness
        .expect("decoded")
}

#[test]
fn blur_threshold_separates_sharp_from_blurred_and_upscaled() {
    let t = qc::BLUR_THRESHOLD;
    let sharp = sharpness(cover(1500));
    let blurred4 = sharpness(imageops::blur(&cover(1500), 4.0));
    let blurred8 = sharpness(imageops::blur(&cover(1500), 8.0));
    let small = cover(300);
    let upscaled = sharpness(imageops::resize(
        &small,
        1500,
        1500,
        imageops::FilterType::Triangle,
    ));
    eprintln!("sharp {sharp}, σ4 {blurred4}, σ8 {blurred8}, 5× upscale {upscaled}; threshold {t}");
    assert!(sharp > 4.0 * t, "sharp cover scores {sharp}");
    for (what, s) in [
        ("σ 4 blur", blurred4),
        ("σ 8 blur", blurred8),
        ("5× upscale", upscaled),
    ] {
        assert!(s < t, "{what} scores {s}, not below {t}");
    }
}
