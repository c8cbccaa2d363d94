//! Audio analysis on synthesized signals with known answers (EBU Tech 3341-style sines for
//! loudness and true peak), and on broken files, which must give findings, never panics.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use audio::{Container, analyse};

/// Writes a PCM WAV whose sample (frame, channel) is `f` in −1..1.
fn wav(
    path: &Path,
    rate: u32,
    bits: u16,
    channels: u16,
    frames: u64,
    extensible: bool,
    f: impl Fn(u64, u16) -> f64,
) {
    let bps = u32::from(bits / 8);
    let block = u32::from(channels) * bps;
    let data = frames as u32 * block;
    let mut b = Vec::with_capacity(data as usize + 80);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&((if extensible { 60 } else { 36 }) + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&(if extensible { 40u32 } else { 16 }).to_le_bytes());
    b.extend_from_slice(&(if extensible { 0xFFFEu16 } else { 1 }).to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * block).to_le_bytes());
    b.extend_from_slice(&(block as u16).to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    if extensible {
        b.extend_from_slice(&22u16.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&[
            1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
        ]);
    }
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    let full = if bits == 16 { 32767.0 } else { 8_388_607.0 };
    for n in 0..frames {
        for c in 0..channels {
            let s = (f(n, c).clamp(-1.0, 1.0) * full).round() as i32;
            if bits == 16 {
                b.extend_from_slice(&(s as i16).to_le_bytes());
            } else {
                b.extend_from_slice(&s.to_le_bytes()[..3]);
            }
        }
    }
    std::fs::write(path, b).expect("write wav");
}

fn db(x: f64) -> f64 {
    10f64.powf(x / 20.0)
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn loudness_matches_ebu_tech_3341_sines() {
    let dir = tmp();
    // Tech 3341 cases 1 and 2: stereo 1 kHz sines at −23 and −33 dBFS read −23.0 / −33.0 LUFS.
    for level in [-23.0, -33.0] {
        let p = dir.path().join("sine.wav");
        wav(&p, 48_000, 24, 2, 48_000 * 20, false, |n, _| {
            db(level) * (2.0 * PI * 1000.0 * n as f64 / 48_000.0).sin()
        });
        let r = analyse(&p);
        let m = r.measures.expect("measures");
        let i = m.integrated_lufs.expect("above the gate");
        assert!(
            (i - level).abs() <= 0.1,
            "{level} dBFS sine measured {i} LUFS"
        );
        assert!(
            m.loudness_range_lu < 0.1,
            "a steady sine has no loudness range: {}",
            m.loudness_range_lu
        );
        assert!(
            (m.sample_peak_dbfs - level).abs() < 0.05,
            "sample peak {}",
            m.sample_peak_dbfs
        );
    }
}

#[test]
fn true_peak_sees_between_the_samples() {
    // A quarter-rate sine at 45° phase: every sample sits 3 dB below the waveform's peak.
    let dir = tmp();
    let p = dir.path().join("tp.wav");
    wav(&p, 48_000, 24, 2, 48_000 * 5, false, |n, _| {
        0.5 * (PI / 2.0 * n as f64 + PI / 4.0).sin()
    });
    let m = analyse(&p).measures.expect("measures");
    assert!(
        (m.sample_peak_dbfs - (-9.03)).abs() < 0.05,
        "sample peak {}",
        m.sample_peak_dbfs
    );
    assert!(
        (m.true_peak_dbtp - (-6.02)).abs() <= 0.2,
        "true peak {}",
        m.true_peak_dbtp
    );
}

#[test]
fn silence_clipping_padding_dual_mono_and_dc_are_measured() {
    let dir = tmp();
    let rate = 44_100u64;
    let tone = |n: u64| (2.0 * PI * 440.0 * n as f64 / rate as f64).sin();
    // 3 s silence, 10 s tone, 4 s digital silence, 10 s tone, 5 s silence.
    let p = dir.path().join("gaps.wav");
    wav(&p, 44_100, 16, 2, rate * 32, false, |n, c| {
        let s = n / rate;
        if (3..13).contains(&s) || (17..27).contains(&s) {
            0.3 * tone(n) * if c == 0 { 1.0 } else { 0.9 }
        } else {
            0.0
        }
    });
    let m = analyse(&p).measures.expect("measures");
    assert!(
        (2990..=3010).contains(&m.leading_silence_ms),
        "lead {}",
        m.leading_silence_ms
    );
    assert!(
        (4990..=5010).contains(&m.trailing_silence_ms),
        "tail {}",
        m.trailing_silence_ms
    );
    assert_eq!(m.inner_silences.len(), 1, "{:?}", m.inner_silences);
    assert!((3990..=4010).contains(&m.inner_silences[0].length_ms));
    assert!(!m.dual_mono && m.clipped_runs == 0 && !m.all_silent);

    let p = dir.path().join("hot.wav");
    wav(&p, 44_100, 16, 2, rate * 3, false, |n, _| {
        (1.6 * tone(n)).clamp(-1.0, 1.0) + 0.0
    });
    let m = analyse(&p).measures.expect("measures");
    assert!(m.clipped_runs > 100, "clipped runs {}", m.clipped_runs);
    assert!(m.dual_mono, "identical channels");
    assert!(m.sample_peak_dbfs > -0.01);

    let p = dir.path().join("padded.wav");
    wav(&p, 44_100, 24, 2, rate * 2, false, |n, c| {
        (0.3 * tone(n + u64::from(c)) * 32767.0).round() * 256.0 / 8_388_607.0
    });
    let r = analyse(&p);
    assert_eq!(r.bits_per_sample, Some(24));
    assert!(
        r.measures.expect("measures").effective_bits <= 16,
        "16-bit content in a 24-bit file"
    );

    let p = dir.path().join("dc.wav");
    wav(&p, 44_100, 16, 2, rate * 2, false, |n, _| {
        0.05 + 0.2 * tone(n)
    });
    let m = analyse(&p).measures.expect("measures");
    assert!(
        (m.dc_offset_percent - 5.0).abs() < 0.1,
        "dc {}",
        m.dc_offset_percent
    );

    let p = dir.path().join("silent.wav");
    wav(&p, 44_100, 16, 2, rate * 2, false, |_, _| 0.0);
    let m = analyse(&p).measures.expect("measures");
    assert!(m.all_silent && m.integrated_lufs.is_none());
}

#[test]
fn broken_files_are_findings_not_panics() {
    let dir = tmp();
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").expect("write");
    let r = analyse(&empty);
    assert_eq!(r.container, Container::Empty);
    assert!(r.unreadable.is_some());

    // An MP3 (ID3 header and a frame sync) renamed .wav is judged by its bytes.
    let mp3 = dir.path().join("song.wav");
    let mut bytes = b"ID3\x04\0\0\0\0\0\x10".to_vec();
    bytes.extend_from_slice(&[0u8; 16]);
    bytes.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
    bytes.extend_from_slice(&[0x55; 4000]);
    std::fs::write(&mp3, bytes).expect("write");
    let r = analyse(&mp3);
    assert_eq!(r.container, Container::Mp3);
    assert!(
        r.unreadable.as_deref().is_some_and(|u| u.contains("MP3")),
        "{:?}",
        r.unreadable
    );

    // Truncated: the header declares 10 s, the file holds about 4.
    let full = dir.path().join("full.wav");
    wav(&full, 44_100, 16, 2, 44_100 * 10, false, |n, _| {
        0.3 * (n as f64 * 0.05).sin()
    });
    let bytes = std::fs::read(&full).expect("read");
    let cut = dir.path().join("cut.wav");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 5]).expect("write");
    let r = analyse(&cut);
    assert!(r.truncated(), "{r:?}");
    assert!(
        r.duration_ms < 4_100,
        "decoded what is there: {} ms",
        r.duration_ms
    );

    // A header and nothing else, random bytes, and a RIFF header claiming a huge data chunk.
    let junk: Vec<(&str, Vec<u8>)> = vec![
        ("header-only.wav", bytes[..44].to_vec()),
        (
            "noise.wav",
            (0..5000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("riff-garbage.wav", {
            let mut v = b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0\x01\0\x02\0".to_vec();
            v.extend_from_slice(&[0xAB; 64]);
            v
        }),
        ("flac-garbage.flac", b"fLaC\0\0\0\x22garbage".to_vec()),
    ];
    for (name, data) in junk {
        let p = dir.path().join(name);
        std::fs::write(&p, data).expect("write");
        let r = analyse(&p);
        assert!(
            r.unreadable.is_some() || r.decoded_frames == 0 || r.truncated(),
            "{name}: {r:?}"
        );
    }
}

#[test]
fn extensible_wav_is_flagged_and_still_measured() {
    let dir = tmp();
    let p = dir.path().join("ext.wav");
    wav(&p, 44_100, 24, 2, 44_100, true, |n, _| {
        0.2 * (n as f64 * 0.03).sin()
    });
    let r = analyse(&p);
    assert_eq!(r.wav.as_ref().and_then(|w| w.format_tag), Some(0xFFFE));
    assert!(r.measures.is_some(), "{:?}", r.unreadable);
}

/// White noise through a 255-tap Blackman low-pass: a lossy encoder's brick wall.
fn noise(cutoff: Option<f64>, rate: f64, frames: usize) -> Vec<f64> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut white = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let raw: Vec<f64> = (0..frames + 255).map(|_| white()).collect();
    let Some(fc) = cutoff else {
        return raw[..frames].iter().map(|x| x * 0.2).collect();
    };
    let fc = fc / rate;
    let taps: Vec<f64> = (0..255)
        .map(|i| {
            let x = i as f64 - 127.0;
            let s = if x == 0.0 {
                2.0 * fc
            } else {
                (2.0 * PI * fc * x).sin() / (PI * x)
            };
            s * (0.42 - 0.5 * (2.0 * PI * i as f64 / 254.0).cos()
                + 0.08 * (4.0 * PI * i as f64 / 254.0).cos())
        })
        .collect();
    (0..frames)
        .map(|n| {
            0.3 * taps
                .iter()
                .enumerate()
                .map(|(k, t)| t * raw[n + k])
                .sum::<f64>()
        })
        .collect()
}

#[test]
fn lossy_sourced_masters_are_suspected_and_real_ones_are_not() {
    let dir = tmp();
    let rate = 44_100u32;
    let frames = rate as usize * 8;
    let cases: Vec<(&str, Vec<f64>, bool)> = vec![
        (
            "mp3-like-16k",
            noise(Some(16_000.0), f64::from(rate), frames),
            true,
        ),
        (
            "mp3-like-19k",
            noise(Some(19_000.0), f64::from(rate), frames),
            true,
        ),
        ("full-band", noise(None, f64::from(rate), frames), false),
        (
            "pure-chord",
            (0..frames)
                .map(|n| 0.2 * (2.0 * PI * 220.0 * n as f64 / f64::from(rate)).sin())
                .collect(),
            false,
        ),
    ];
    for (name, signal, lossy) in cases {
        let p: PathBuf = dir.path().join(format!("{name}.wav"));
        wav(&p, rate, 16, 2, frames as u64, false, |n, _| {
            signal[n as usize]
        });
        let m = analyse(&p).measures.expect("measures");
        let s = m.spectrum.expect("spectrum");
        assert_eq!(
            s.lossy_suspect(rate),
            lossy,
            "{name}: {:?} drop {} broadband {}",
            s.cutoff_hz,
            s.edge_drop_db,
            s.broadband_below
        );
    }
}

/// The samples of a 16-bit PCM WAV, interleaved, from its `data` chunk.
fn wav_samples(path: &std::path::Path) -> Vec<i32> {
    let b = std::fs::read(path).expect("wav");
    let at = b.windows(4).position(|w| w == b"data").expect("data chunk") + 8;
    b[at..]
        .chunks_exact(2)
        .map(|c| i32::from(i16::from_le_bytes([c[0], c[1]])))
        .collect()
}

/// WAV and FLAC of one master hash the same (the FLAC made in process by flacenc, the
/// encoder Liner delivers with; no external tool).
#[test]
fn wav_and_flac_of_one_master_share_the_pcm_hash() {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let dir = tmp();
    let w = dir.path().join("m.wav");
    wav(&w, 44_100, 16, 2, 44_100 * 3, false, |n, c| {
        0.3 * ((n + u64::from(c) * 7) as f64 * 0.021).sin()
    });
    let f = dir.path().join("m.flac");
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .expect("encoder config");
    let samples = wav_samples(&w);
    let src = flacenc::source::MemSource::from_samples(&samples, 2, 16, 44_100);
    let mut stream =
        flacenc::encode_with_fixed_block_size(&config, src, config.block_size).expect("encode");
    stream
        .stream_info_mut()
        .set_block_sizes(config.block_size, config.block_size)
        .expect("block sizes");
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).expect("write");
    std::fs::write(&f, sink.as_slice()).expect("flac file");
    let (a, b) = (analyse(&w), analyse(&f));
    assert_eq!(b.container, Container::Flac);
    assert_eq!(b.md5_ok, Some(true));
    assert!(a.pcm_sha256.is_some());
    assert_eq!(a.pcm_sha256, b.pcm_sha256);
    // A one-sample change is different audio.
    let w2 = dir.path().join("m2.wav");
    wav(&w2, 44_100, 16, 2, 44_100 * 3, false, |n, c| {
        if n == 1000 {
            0.0
        } else {
            0.3 * ((n + u64::from(c) * 7) as f64 * 0.021).sin()
        }
    });
    assert_ne!(analyse(&w2).pcm_sha256, a.pcm_sha256);
}

/// Hardening defect 12: a WAV declaring a sample rate of 0 panicked inside the decoder (the
/// panic was caught, but its text reached stderr and the finding only said "crashed"). Now
/// the header is checked first and the finding says what is wrong. FLAC likewise.
#[test]
fn defect_12_zero_sample_rates_are_refused_before_decoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("zero.wav");
    wav(&path, 44_100, 16, 2, 4410, false, |n, _| {
        (n as f64 * 0.01).sin()
    });
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[24..28].copy_from_slice(&0u32.to_le_bytes()); // fmt: sample rate
    std::fs::write(&path, &bytes).expect("write");
    let r = analyse(&path);
    let why = r.unreadable.expect("unreadable");
    assert!(why.contains("declares a sample rate of 0"), "{why}");
    assert!(!audio::decoding());
    bytes[24..28].copy_from_slice(&44_100u32.to_le_bytes());
    bytes[22..24].copy_from_slice(&0u16.to_le_bytes()); // channels
    std::fs::write(&path, &bytes).expect("write");
    let why = analyse(&path).unreadable.expect("unreadable");
    assert!(why.contains("channel count of 0"), "{why}");
    // FLAC: STREAMINFO with a zero rate.
    let mut flac = b"fLaC".to_vec();
    flac.extend_from_slice(&[0x80, 0, 0, 34]);
    let mut si = [0u8; 34];
    si[0..2].copy_from_slice(&4096u16.to_be_bytes());
    si[2..4].copy_from_slice(&4096u16.to_be_bytes());
    si[12] = 0x01 << 1; // rate 0, 1 channel, 16 bits
    si[13] = 0xF0;
    flac.extend_from_slice(&si);
    flac.extend_from_slice(&[0xFF, 0xF8, 0x69, 0x08, 0, 0, 0, 0]);
    let fpath = dir.path().join("zero.flac");
    std::fs::write(&fpath, &flac).expect("write");
    let why = analyse(&fpath).unreadable.expect("unreadable");
    assert!(why.contains("sample rate of 0"), "{why}");
}

/// Found by `cargo xtask fuzz` (audio_header): a FLAC PICTURE block declaring 4 GiB of
/// picture data in a small file made the decoder allocate it. It is refused as malformed now,
/// before any decoder reads the file.
#[test]
fn a_flac_picture_block_longer_than_itself_is_refused_before_decoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("picture.flac");
    let mut f = b"fLaC".to_vec();
    // STREAMINFO: 4096-sample blocks, 44.1 kHz, 2 channels, 16 bits.
    f.extend([0x00, 0, 0, 34]);
    let mut si = [0u8; 34];
    si[0..2].copy_from_slice(&4096u16.to_be_bytes());
    si[2..4].copy_from_slice(&4096u16.to_be_bytes());
    si[10] = 0x0A;
    si[11] = 0xC4;
    si[12] = 0x42;
    si[13] = 0xF0;
    f.extend(si);
    // The last block, a PICTURE of 40 bytes whose data length says 4 GiB.
    let mut pic = Vec::new();
    pic.extend(3u32.to_be_bytes()); // front cover
    pic.extend(0u32.to_be_bytes()); // MIME length
    pic.extend(0u32.to_be_bytes()); // description length
    pic.extend([0u8; 16]);
    pic.extend(u32::MAX.to_be_bytes()); // picture data length
    pic.extend([0u8; 8]);
    f.extend([0x86, 0, 0, pic.len() as u8]);
    f.extend(pic);
    std::fs::write(&path, &f).expect("write");
    let r = audio::analyse(&path);
    let why = r.unreadable.unwrap_or_default();
    assert!(
        why.contains("PICTURE block") && why.contains("declares"),
        "{why}"
    );
}
