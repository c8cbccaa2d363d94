//! The plan against profile specs, and real conversions with the flac tool proven by the
//! decoded-PCM hash (CI installs flac).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use profiles::{AudioCodec, AudioSpec};
use transcode::{Plan, Refusal, convert, plan};

/// A PCM WAV of a few tones: 16 or 24 bits, any rate and channel count.
fn wav(path: &Path, rate: u32, bits: u16, channels: u16, frames: u32) {
    let bytes = u32::from(bits / 8);
    let data = frames * u32::from(channels) * bytes;
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(channels) * bytes).to_le_bytes());
    b.extend_from_slice(&(u16::try_from(u32::from(channels) * bytes).unwrap()).to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    for n in 0..frames {
        for c in 0..channels {
            let x = 0.3 * ((f64::from(n) + f64::from(c) * 11.0) * 0.017).sin();
            let full = f64::from((1u32 << (bits - 1)) - 1);
            let v = (x * full) as i32;
            b.extend_from_slice(&v.to_le_bytes()[..usize::from(bits / 8)]);
        }
    }
    std::fs::write(path, b).unwrap();
}

fn spec(codec: AudioCodec, rates: &[u32], bits: &[u16]) -> AudioSpec {
    AudioSpec {
        codec,
        sample_rates: rates.to_vec(),
        bit_depths: bits.to_vec(),
        channels: vec![2],
    }
}

fn have_flac() -> bool {
    if std::process::Command::new("flac")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have the flac tool (.ci/run installs it)"
    );
    false
}

#[test]
fn the_plan_keeps_or_rewraps_and_reports_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("m.wav");
    wav(&w, 44_100, 24, 2, 44_100);
    let m = audio::analyse(&w);
    let keep = Plan {
        convert: None,
        resample: None,
        differs: vec![],
    };
    assert_eq!(
        plan(&m, &spec(AudioCodec::Wav, &[44_100], &[16, 24])),
        Ok(keep)
    );
    let flac = plan(&m, &spec(AudioCodec::Flac, &[44_100, 48_000], &[24])).unwrap();
    assert_eq!(
        (flac.convert, flac.differs.len()),
        (Some(AudioCodec::Flac), 0)
    );
    // A rate or depth the DSP does not list: converted to the nearest it takes (never
    // upsampled where a lower rate is listed).
    let p = plan(&m, &spec(AudioCodec::Flac, &[32_000, 48_000], &[16])).unwrap();
    assert_eq!(
        (p.convert, p.resample, p.differs.len()),
        (
            Some(AudioCodec::Flac),
            Some(transcode::Target {
                rate: 32_000,
                bits: 16
            }),
            0
        )
    );
    let p = plan(&m, &spec(AudioCodec::Wav, &[48_000], &[16, 24])).unwrap();
    assert_eq!(
        p.resample,
        Some(transcode::Target {
            rate: 48_000,
            bits: 24
        }),
        "only higher rates listed: the lowest of them"
    );
    assert_eq!(p.convert, Some(AudioCodec::Wav), "a WAV DSP gets a new WAV");
    let mono = dir.path().join("mono.wav");
    wav(&mono, 44_100, 16, 1, 44_100);
    let p = plan(
        &audio::analyse(&mono),
        &spec(AudioCodec::Wav, &[44_100], &[16]),
    )
    .unwrap();
    assert!(
        matches!(
            p.differs[..],
            [Refusal::Mismatch {
                what: "channel count",
                ..
            }]
        ),
        "{p:?}"
    );
    // Not audio at all: refused.
    let junk = dir.path().join("x.wav");
    std::fs::write(&junk, b"ID3not audio at all").unwrap();
    assert!(
        plan(
            &audio::analyse(&junk),
            &spec(AudioCodec::Wav, &[44_100], &[16])
        )
        .is_err()
    );
}

#[test]
fn wav_to_flac_and_back_is_the_same_audio() {
    if !have_flac() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("m.wav");
    wav(&w, 48_000, 24, 2, 48_000 * 2);
    let master = audio::analyse(&w);
    let f = dir.path().join("m.flac");
    let made = convert(&w, &master, AudioCodec::Flac, &f).unwrap();
    assert_eq!(made.container, audio::Container::Flac);
    assert_eq!(
        (made.sample_rate, made.bits_per_sample, made.channels),
        (Some(48_000), Some(24), Some(2))
    );
    assert!(std::fs::metadata(&f).unwrap().len() < std::fs::metadata(&w).unwrap().len());
    let back = dir.path().join("back.wav");
    let again = convert(&f, &made, AudioCodec::Wav, &back).unwrap();
    assert_eq!(again.container, audio::Container::Wav);
    assert_eq!(again.pcm_sha256, master.pcm_sha256);
    // A conversion that would not be the master's audio is refused.
    let other = dir.path().join("other.wav");
    wav(&other, 48_000, 24, 2, 48_000);
    let e = convert(
        &other,
        &master,
        AudioCodec::Flac,
        &dir.path().join("o.flac"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("differs from the master"), "{e}");
    // A file flac cannot read is the tool's error, with the file named.
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"RIFF....WAVEnope").unwrap();
    let e = convert(&junk, &master, AudioCodec::Flac, &dir.path().join("j.flac")).unwrap_err();
    assert!(e.to_string().contains("junk.wav"), "{e}");
}

#[test]
fn resampled_to_what_the_dsp_takes() {
    if !have_flac() {
        return;
    }
    if std::process::Command::new("sox")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have sox (.ci/run installs it)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("m.wav");
    wav(&w, 48_000, 24, 2, 48_000 * 3);
    let master = audio::analyse(&w);
    let t = transcode::Target {
        rate: 44_100,
        bits: 16,
    };
    let f = dir.path().join("m.flac");
    let made = transcode::resample(&w, &master, t, AudioCodec::Flac, &f).unwrap();
    assert_eq!(made.container, audio::Container::Flac);
    assert_eq!(
        (made.sample_rate, made.bits_per_sample, made.channels),
        (Some(44_100), Some(16), Some(2))
    );
    assert!(
        (i64::try_from(made.decoded_frames).unwrap() - 44_100 * 3).abs() <= 4,
        "{}",
        made.decoded_frames
    );
    assert!((made.duration_ms as i64 - 3_000).abs() <= 2);
    // The tone survives: loudness within a fraction of a dB of the master's.
    let (a, b) = (
        master.measures.as_ref().map(|m| m.integrated_lufs),
        made.measures.as_ref().map(|m| m.integrated_lufs),
    );
    if let (Some(Some(a)), Some(Some(b))) = (a, b) {
        assert!((a - b).abs() < 0.2, "{a} vs {b}");
    }
    let wv = dir.path().join("m16.wav");
    let made = transcode::resample(&w, &master, t, AudioCodec::Wav, &wv).unwrap();
    assert_eq!(made.container, audio::Container::Wav);
    assert_eq!(made.bits_per_sample, Some(16));
}
