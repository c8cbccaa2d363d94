//! The plan against profile specs, and real conversions in process proven by the decoded-PCM
//! hash (lossless) or by rate, depth, channels and duration (resampled).
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

#[test]
fn the_plan_keeps_or_rewraps_and_reports_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("m.wav");
    wav(&w, 44_100, 24, 2, 44_100);
    let m = audio::analyse(&w);
    let keep = Plan {
        convert: None,
        resample: None,
    };
    assert_eq!(
        plan(&m, &spec(AudioCodec::Wav, &[44_100], &[16, 24])),
        Ok(keep)
    );
    let flac = plan(&m, &spec(AudioCodec::Flac, &[44_100, 48_000], &[24])).unwrap();
    assert_eq!(flac.convert, Some(AudioCodec::Flac));
    // A rate or depth the DSP does not list: converted to the nearest it takes (never
    // upsampled where a lower rate is listed).
    let p = plan(&m, &spec(AudioCodec::Flac, &[32_000, 48_000], &[16])).unwrap();
    assert_eq!(
        (p.convert, p.resample),
        (
            Some(AudioCodec::Flac),
            Some(transcode::Target {
                rate: 32_000,
                bits: 16
            }),
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
    let e = plan(
        &audio::analyse(&mono),
        &spec(AudioCodec::Wav, &[44_100], &[16]),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Refusal::Mismatch {
                what: "channel count",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "the master's channel count is 1; this DSP takes 2"
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
    // A file that is not audio is refused with the file named.
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"RIFF....WAVEnope").unwrap();
    let e = convert(&junk, &master, AudioCodec::Flac, &dir.path().join("j.flac")).unwrap_err();
    assert!(e.to_string().contains("junk.wav"), "{e}");
}

#[test]
fn resampled_to_what_the_dsp_takes() {
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

/// A 32-bit float WAV (format tag 3) of a quiet tone.
fn float_wav(path: &Path, rate: u32, channels: u16, frames: u32) {
    let data = frames * u32::from(channels) * 4;
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&3u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(channels) * 4).to_le_bytes());
    b.extend_from_slice(&(channels * 4).to_le_bytes());
    b.extend_from_slice(&32u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    for n in 0..frames {
        for c in 0..channels {
            let x = 0.25 * ((f64::from(n) + f64::from(c) * 7.0) * 0.03).sin();
            b.extend_from_slice(&(x as f32).to_le_bytes());
        }
    }
    std::fs::write(path, b).unwrap();
}

#[test]
fn a_float_master_goes_out_at_an_integer_depth_with_dither() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("float.wav");
    float_wav(&w, 48_000, 2, 48_000);
    let master = audio::analyse(&w);
    assert_eq!(master.codec.as_deref(), Some("pcm_f32le"));
    // A FLAC DSP that lists the master's rate: same rate, the deepest depth it takes.
    let p = plan(
        &master,
        &spec(AudioCodec::Flac, &[44_100, 48_000], &[16, 24]),
    )
    .unwrap();
    let t = p.resample.expect("float is never sent as it is");
    assert_eq!((t.rate, t.bits), (48_000, 24));
    let f = dir.path().join("out.flac");
    let made = transcode::resample(&w, &master, t, AudioCodec::Flac, &f).unwrap();
    assert_eq!(
        (made.sample_rate, made.bits_per_sample, made.decoded_frames),
        (Some(48_000), Some(24), 48_000)
    );
    // Same input, same bytes: the dither is deterministic, so derived files are stable.
    let g = dir.path().join("again.flac");
    transcode::resample(&w, &master, t, AudioCodec::Flac, &g).unwrap();
    assert_eq!(std::fs::read(&f).unwrap(), std::fs::read(&g).unwrap());
}

#[test]
fn more_channels_than_the_dsp_takes_is_refused_and_384k_goes_down() {
    let dir = tempfile::tempdir().unwrap();
    let six = dir.path().join("six.wav");
    wav(&six, 48_000, 24, 6, 4_800);
    let e = plan(
        &audio::analyse(&six),
        &spec(AudioCodec::Flac, &[48_000], &[24]),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the master's channel count is 6; this DSP takes 2"
    );
    // A DSP that takes six channels gets them.
    let mut s6 = spec(AudioCodec::Flac, &[48_000], &[24]);
    s6.channels = vec![2, 6];
    let p = plan(&audio::analyse(&six), &s6).unwrap();
    let f = dir.path().join("six.flac");
    let made = convert(&six, &audio::analyse(&six), p.convert.unwrap(), &f).unwrap();
    assert_eq!(made.channels, Some(6));

    let hi = dir.path().join("384.wav");
    wav(&hi, 384_000, 24, 2, 384_000 / 2);
    let master = audio::analyse(&hi);
    let p = plan(
        &master,
        &spec(AudioCodec::Flac, &[44_100, 96_000, 192_000], &[24]),
    )
    .unwrap();
    let t = p.resample.unwrap();
    assert_eq!((t.rate, t.bits), (192_000, 24));
    let made = transcode::resample(
        &hi,
        &master,
        t,
        AudioCodec::Flac,
        &dir.path().join("h.flac"),
    )
    .unwrap();
    assert_eq!(made.decoded_frames, 96_000);
    // Above flacenc's 96 kHz the FLAC is still the master's audio, bit for bit.
    let m192 = dir.path().join("192.wav");
    wav(&m192, 192_000, 24, 2, 192_000);
    let master = audio::analyse(&m192);
    let f = dir.path().join("192.flac");
    let made = convert(&m192, &master, AudioCodec::Flac, &f).unwrap();
    assert_eq!(made.sample_rate, Some(192_000));
    assert_eq!(
        made.md5_ok,
        Some(true),
        "the STREAMINFO MD5 matches the audio"
    );
    assert_eq!(made.pcm_sha256, master.pcm_sha256);
}

#[test]
fn resampling_keeps_a_tone_in_the_passband_and_drops_one_above() {
    use transcode::{Pcm, Samples, Target, convert_pcm};
    let rate = 96_000u32;
    let frames = rate as usize;
    let tone = |f: f64| -> Vec<i32> {
        (0..frames)
            .map(|n| {
                let x = 0.5 * (2.0 * std::f64::consts::PI * f * n as f64 / f64::from(rate)).sin();
                (x * 8_388_607.0).round() as i32
            })
            .collect()
    };
    let level = |v: &[i32]| -> f64 {
        let mid = &v[5_000..v.len() - 5_000];
        let ms = mid
            .iter()
            .map(|&s| (f64::from(s) / 8_388_608.0).powi(2))
            .sum::<f64>()
            / mid.len() as f64;
        10.0 * ms.log10()
    };
    let t = Target {
        rate: 44_100,
        bits: 24,
    };
    let run = |f: f64| {
        convert_pcm(
            &Pcm {
                rate,
                channels: 1,
                samples: Samples::Int {
                    bits: 24,
                    data: tone(f),
                },
            },
            t,
        )
    };
    // 0.9 × 22 050 Hz: within 0.1 dB of the input level (−9.03 dBFS for a 0.5 sine).
    let pass = level(&run(19_845.0));
    let want = 20.0 * (0.5f64 / 2f64.sqrt()).log10();
    assert!((pass - want).abs() < 0.1, "{pass} vs {want}");
    // Above the new Nyquist: at least 100 dB down.
    let stop = level(&run(30_000.0));
    assert!(stop < want - 100.0, "{stop}");
}
