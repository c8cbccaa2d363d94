//! `liner bench audio`: Liner's in-process sample-rate conversion against SoX `rate -v` (when
//! SoX is installed; the benchmark says so when it is not), for 96 → 44.1 kHz and
//! 44.1 → 48 kHz: passband ripple up to 0.9 × the lower Nyquist frequency, aliasing (tones
//! above the output's band, or the images an upsampler leaves), and speed on a 4-minute
//! stereo master, all measured in the same run.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use profiles::AudioCodec;

/// A sine of `freq` Hz at amplitude 0.5, `secs` seconds at `rate`.
fn tone(rate: u32, freq: f64, secs: f64) -> Vec<f32> {
    let n = (f64::from(rate) * secs) as usize;
    (0..n)
        .map(|i| {
            (0.5 * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as f32
        })
        .collect()
}

/// The amplitude of `freq` in `x` (least squares against sin and cos) and the RMS of what is
/// left, over the middle of the signal (the edges hold the filters' start and end).
fn fit(x: &[f32], rate: u32, freq: f64) -> (f64, f64) {
    let skip = x.len() / 8;
    let mid = &x[skip..x.len() - skip];
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let (mut ss, mut sc, mut cc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (k, &v) in mid.iter().enumerate() {
        let t = (k + skip) as f64 * w;
        let (s, c) = t.sin_cos();
        ss += s * s;
        sc += s * c;
        cc += c * c;
        xs += f64::from(v) * s;
        xc += f64::from(v) * c;
    }
    let det = ss * cc - sc * sc;
    let (a, b) = if det.abs() < 1e-12 || freq <= 0.0 {
        (0.0, 0.0)
    } else {
        ((xs * cc - xc * sc) / det, (xc * ss - xs * sc) / det)
    };
    let mut res = 0.0;
    for (k, &v) in mid.iter().enumerate() {
        let t = (k + skip) as f64 * w;
        let e = f64::from(v) - (a * t.sin() + b * t.cos());
        res += e * e;
    }
    ((a * a + b * b).sqrt(), (res / mid.len() as f64).sqrt())
}

fn db(x: f64) -> f64 {
    20.0 * x.max(1e-20).log10()
}

/// Ripple and aliasing of a converter given as a function from input samples to output.
struct Quality {
    /// Largest deviation from the input level over the passband, dB.
    ripple_db: f64,
    /// Worst level, relative to the tone, of what does not belong in the output, dB.
    alias_db: f64,
}

fn quality(from: u32, to: u32, convert: &dyn Fn(&[f32]) -> Result<Vec<f32>>) -> Result<Quality> {
    let low_nyquist = f64::from(from.min(to)) / 2.0;
    let secs = 1.0;
    // Passband: 20 Hz to 0.9 × the lower Nyquist, log-spaced, and the edge itself.
    let mut ripple: f64 = 0.0;
    let edge = 0.9 * low_nyquist;
    let mut freqs: Vec<f64> = (0..24)
        .map(|i| 20.0 * (edge / 20.0).powf(f64::from(i) / 23.0))
        .collect();
    freqs.push(edge);
    for f in freqs {
        let y = convert(&tone(from, f, secs))?;
        let (amp, _) = fit(&y, to, f);
        ripple = ripple.max(db(amp / 0.5).abs());
    }
    // Aliasing: downsampling, tones between the new Nyquist and the old one must vanish;
    // upsampling, a tone near the top of the band must leave no image above it.
    let mut alias = f64::NEG_INFINITY;
    if to < from {
        let hi = f64::from(from) / 2.0;
        for i in 0..12 {
            let f = low_nyquist + (hi - low_nyquist) * (0.01 + 0.98 * f64::from(i) / 11.0);
            let y = convert(&tone(from, f, secs))?;
            let (_, rms) = fit(&y, to, 0.0);
            alias = alias.max(db(rms / (0.5 / 2f64.sqrt())));
        }
    } else {
        for f in [0.9 * low_nyquist, 0.95 * low_nyquist, 0.99 * low_nyquist] {
            let y = convert(&tone(from, f, secs))?;
            let (_, rms) = fit(&y, to, f);
            alias = alias.max(db(rms / (0.5 / 2f64.sqrt())));
        }
    }
    Ok(Quality {
        ripple_db: ripple,
        alias_db: alias,
    })
}

fn sox_installed() -> bool {
    Command::new("sox").arg("--version").output().is_ok()
}

/// A mono 32-bit float WAV for SoX.
fn write_float_wav(path: &Path, rate: u32, x: &[f32]) -> Result<()> {
    let data = (x.len() * 4) as u32;
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&3u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 4).to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&32u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    for v in x {
        b.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, b)?;
    Ok(())
}

fn sox_convert(dir: &Path, from: u32, to: u32, x: &[f32]) -> Result<Vec<f32>> {
    let i = dir.join("in.wav");
    let o = dir.join("out.wav");
    write_float_wav(&i, from, x)?;
    let out = Command::new("sox")
        .arg("-V1")
        .arg(&i)
        .args(["-e", "floating-point", "-b", "32"])
        .arg(&o)
        .args(["rate", "-v", &to.to_string()])
        .output()
        .context("running sox")?;
    if !out.status.success() {
        bail!("sox: {}", String::from_utf8_lossy(&out.stderr));
    }
    let pcm = transcode::decode(&o).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(pcm.plane(0))
}

/// A 4-minute stereo 24-bit master at `rate`: a chord with a slow sweep and some noise.
fn master(path: &Path, rate: u32, secs: u32) -> Result<()> {
    let frames = (rate * secs) as usize;
    let mut data = Vec::with_capacity(frames * 2);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for n in 0..frames {
        let t = n as f64 / f64::from(rate);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
        for c in 0..2 {
            let sweep = 200.0 + 8000.0 * (t / f64::from(secs));
            let v = 0.2 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()
                + 0.15 * (2.0 * std::f64::consts::PI * (330.0 + f64::from(c)) * t).sin()
                + 0.1 * (2.0 * std::f64::consts::PI * sweep * t).sin()
                + 0.02 * noise;
            data.push((v * 8_388_607.0) as i32);
        }
    }
    transcode::write_wav(path, rate, 2, 24, &data)?;
    Ok(())
}

pub fn bench(seconds: u32, runs: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let sox = sox_installed();
    println!(
        "audio benchmark: Liner's resampler (Kaiser-windowed polyphase, {} dB stopband) against SoX `rate -v`{}",
        transcode::STOPBAND_DB,
        if sox {
            ""
        } else {
            " — SoX is not installed: Liner's figures only (apt-get install sox for the comparison)"
        }
    );
    for (from, to) in [(96_000u32, 44_100u32), (44_100, 48_000)] {
        println!("\n{from} Hz → {to} Hz");
        let r = transcode::Resampler::new(from, to);
        let liner = |x: &[f32]| -> Result<Vec<f32>> { Ok(r.process(x)) };
        let q = quality(from, to, &liner)?;
        println!(
            "  Liner: passband ripple {:.4} dB (spec ≤ 0.1 up to {:.0} Hz), aliasing {:.1} dB (spec ≤ −100), {} taps per output sample",
            q.ripple_db,
            0.9 * f64::from(from.min(to)) / 2.0,
            q.alias_db,
            r.taps()
        );
        if sox {
            let sdir = dir.path().to_owned();
            let soxf = move |x: &[f32]| sox_convert(&sdir, from, to, x);
            let s = quality(from, to, &soxf)?;
            println!(
                "  SoX:   passband ripple {:.4} dB, aliasing {:.1} dB",
                s.ripple_db, s.alias_db
            );
        }
        // Speed: a stereo 24-bit master, file to file (decode, convert, dither, write WAV).
        let src = dir.path().join(format!("master-{from}.wav"));
        master(&src, from, seconds)?;
        let target = transcode::Target { rate: to, bits: 16 };
        let mut best_liner = f64::MAX;
        let mut best_sox = f64::MAX;
        for _ in 0..runs {
            let dst = dir.path().join("liner.wav");
            let t = Instant::now();
            transcode::resample_only(&src, target, AudioCodec::Wav, &dst)?;
            best_liner = best_liner.min(t.elapsed().as_secs_f64());
            if sox {
                let t = Instant::now();
                let out = Command::new("sox")
                    .arg("-V1")
                    .arg(&src)
                    .args(["-b", "16"])
                    .arg(dir.path().join("sox.wav"))
                    .args(["rate", "-v", &to.to_string()])
                    .output()?;
                if !out.status.success() {
                    bail!("sox: {}", String::from_utf8_lossy(&out.stderr));
                }
                best_sox = best_sox.min(t.elapsed().as_secs_f64());
            }
        }
        if sox {
            println!(
                "  speed, {seconds} s stereo 24-bit → 16-bit WAV, best of {runs}: Liner {best_liner:.2} s, SoX {best_sox:.2} s → Liner at {:.2}× SoX's speed (spec ≥ 0.5×)",
                best_sox / best_liner
            );
        } else {
            println!(
                "  speed, {seconds} s stereo 24-bit → 16-bit WAV, best of {runs}: Liner {best_liner:.2} s ({:.0}× real time)",
                f64::from(seconds) / best_liner
            );
        }
    }
    Ok(())
}
