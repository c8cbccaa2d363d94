//! Audio and artwork rules (../shared/design/domain/audio-artwork.md §2, §4), judged from the
//! measures of the `audio` and `artwork` crates.

use artwork::{ColourModel, Format};
use audio::{AudioReport, Container};
use model::ReleaseType;

use crate::{Area, Findings, QcInput, Rule, Severity};

macro_rules! rule {
    ($id:literal, $sev:ident, $area:ident, $summary:literal, $check:path) => {
        Rule {
            id: $id,
            severity: Severity::$sev,
            area: Area::$area,
            summary: $summary,
            check: $check,
        }
    };
}

pub(crate) static RULES: &[Rule] = &[
    rule!(
        "AUD-FORMAT",
        Error,
        Audio,
        "Audio is WAV (PCM) or FLAC; lossy, unknown and empty files are refused",
        format
    ),
    rule!(
        "AUD-DECODE",
        Error,
        Audio,
        "Audio decodes cleanly end to end (and matches the FLAC MD5)",
        decode
    ),
    rule!(
        "AUD-TRUNCATED",
        Error,
        Audio,
        "The file holds every frame its header declares",
        truncated
    ),
    rule!(
        "AUD-TRAILING-DATA",
        Warning,
        Audio,
        "Nothing follows the WAV data chunk",
        trailing_data
    ),
    rule!(
        "AUD-WAV-EXTENSIBLE",
        Warning,
        Audio,
        "WAV format tag is PCM (0x0001), not WAVE_FORMAT_EXTENSIBLE",
        extensible
    ),
    rule!(
        "AUD-WAV-FLOAT",
        Warning,
        Audio,
        "WAV samples are integers, not IEEE float (format tag 0x0003)",
        float_wav
    ),
    rule!(
        "AUD-EMBEDDED-TAGS",
        Info,
        Audio,
        "No embedded tags (RIFF INFO, ID3)",
        embedded_tags
    ),
    rule!(
        "AUD-CHANNELS",
        Error,
        Audio,
        "Stereo (or what the DSP profile allows)",
        channels
    ),
    rule!(
        "AUD-SAMPLE-RATE",
        Error,
        Audio,
        "Sample rate at least 44.1 kHz",
        sample_rate
    ),
    rule!(
        "AUD-BIT-DEPTH",
        Error,
        Audio,
        "Bit depth at least 16",
        bit_depth
    ),
    rule!(
        "AUD-HIGH-RES",
        Info,
        Audio,
        "Rates above 44.1/48 kHz or depths above 24 bit are converted by the DSP",
        high_res
    ),
    rule!(
        "AUD-MIXED-FORMATS",
        Warning,
        Audio,
        "One sample rate and bit depth across the release",
        mixed_formats
    ),
    rule!(
        "AUD-DURATION-MATCH",
        Error,
        Audio,
        "Decoded duration matches the metadata within ±1 s",
        duration_match
    ),
    rule!(
        "AUD-TOO-SHORT",
        Error,
        Audio,
        "Tracks last at least 30 s (an error for singles, a warning for album interludes)",
        too_short
    ),
    rule!(
        "AUD-CONTENT-ID-MIN",
        Warning,
        Audio,
        "Tracks last at least 20 s (Content ID minimum)",
        content_id_min
    ),
    rule!(
        "AUD-SILENT",
        Error,
        Audio,
        "The track is not silent throughout",
        silent
    ),
    rule!(
        "AUD-SILENCE-EDGES",
        Warning,
        Audio,
        "At most 10 s of silence at the head or tail (an error above 30 s)",
        silence_edges
    ),
    rule!(
        "AUD-SILENCE-INNER",
        Warning,
        Audio,
        "No stretches of digital silence inside the track",
        silence_inner
    ),
    rule!(
        "AUD-CLIPPING",
        Warning,
        Audio,
        "No runs of 3 or more full-scale samples",
        clipping
    ),
    rule!(
        "AUD-TRUE-PEAK",
        Warning,
        Audio,
        "True peak at most −1 dBTP",
        true_peak
    ),
    rule!(
        "AUD-SAMPLE-PEAK",
        Warning,
        Audio,
        "Sample peak at most −0.3 dBFS",
        sample_peak
    ),
    rule!(
        "AUD-LOUDNESS",
        Warning,
        Audio,
        "Integrated loudness between −30 and −6 LUFS",
        loudness
    ),
    rule!(
        "AUD-MEASURES",
        Info,
        Audio,
        "Loudness, range, peaks and DC offset, for the record",
        measures
    ),
    rule!(
        "AUD-DC-OFFSET",
        Warning,
        Audio,
        "DC offset below 1% of full scale",
        dc_offset
    ),
    rule!(
        "AUD-DUAL-MONO",
        Warning,
        Audio,
        "A stereo file is not two identical channels",
        dual_mono
    ),
    rule!(
        "AUD-BIT-PADDED",
        Warning,
        Audio,
        "A 24-bit file uses more than 16 bits",
        bit_padded
    ),
    rule!(
        "AUD-LOSSY-SOURCE",
        Warning,
        Audio,
        "No brick-wall cutoff below Nyquist (a master made from MP3/AAC)",
        lossy_source
    ),
    rule!(
        "AUD-UPSAMPLED",
        Warning,
        Audio,
        "A high-rate file has content above 24 kHz",
        upsampled
    ),
    rule!(
        "AUD-FILE-SIZE",
        Error,
        Audio,
        "Audio files are at most 2 GB",
        file_size
    ),
    rule!(
        "ART-FORMAT",
        Error,
        Artwork,
        "Cover art is a readable JPEG or PNG",
        art_format
    ),
    rule!(
        "ART-SQUARE",
        Error,
        Artwork,
        "Cover art is square",
        art_square
    ),
    rule!(
        "ART-MIN-SIZE",
        Error,
        Artwork,
        "At least 1400 px (or the DSP's minimum); 3000 px recommended",
        art_min_size
    ),
    rule!(
        "ART-COLOUR",
        Error,
        Artwork,
        "RGB, 8 bits per channel: no CMYK, grayscale or alpha",
        art_colour
    ),
    rule!(
        "ART-ICC-EXIF",
        Info,
        Artwork,
        "Embedded ICC profile or EXIF orientation noted (Spotify asks for neither)",
        art_icc_exif
    ),
    rule!(
        "ART-FILE-SIZE",
        Warning,
        Artwork,
        "Cover art file at most 10 MB",
        art_file_size
    ),
    rule!(
        "ART-BLUR",
        Warning,
        Artwork,
        "Cover art is sharp (variance of the Laplacian above the calibrated threshold)",
        art_blur
    ),
];

/// Below this variance of the Laplacian a cover is called blurred. Calibrated on synthesized
/// covers (crates/qc/tests/calibration.rs): sharp, textured covers score in the hundreds,
/// Gaussian-blurred (σ 4–8) and 5× upscaled ones below 10; flat designs can score low too,
/// which is why this is a warning for staff, never a rejection.
pub const BLUR_THRESHOLD: f64 = 25.0;

fn each_audio<'a>(i: &'a QcInput<'_>) -> impl Iterator<Item = (usize, &'a AudioReport)> + 'a {
    i.tracks()
        .filter_map(move |(k, _)| i.audio_of(k).map(|a| (k, a)))
}

/// Tracks whose audio decoded (measure rules skip the others: AUD-FORMAT already said why).
fn each_measured<'a>(
    i: &'a QcInput<'_>,
) -> impl Iterator<Item = (usize, &'a AudioReport, &'a audio::Measures)> + 'a {
    each_audio(i).filter_map(|(k, a)| a.measures.as_ref().map(|m| (k, a, m)))
}

fn field(k: usize) -> String {
    format!("tracks[{k}].audio")
}

fn format(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if let Some(why) = &a.unreadable {
            let hint = match a.container {
                c if c.is_lossy() => {
                    "deliver the lossless master as WAV (PCM) or FLAC; a lossy file can never be made lossless"
                }
                Container::Empty => "the upload is empty: send the file again",
                Container::Aiff => "convert AIFF to FLAC before delivery",
                _ => "deliver WAV (PCM) or FLAC",
            };
            out.at(field(k), why.clone())
                .value(a.container.name())
                .hint(hint)
                .track(k);
        }
    }
}

fn decode(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if let Some(e) = &a.decode_error {
            out.at(
                field(k),
                format!("{} packet(s) failed to decode: {e}", a.decode_errors),
            )
            .hint("re-export the master; the file is corrupt")
            .track(k);
        }
        if a.md5_ok == Some(false) {
            out.at(
                field(k),
                "the decoded audio does not match the FLAC STREAMINFO MD5",
            )
            .hint("re-encode the FLAC from the master")
            .track(k);
        }
    }
}

fn truncated(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if a.unreadable.is_none() && a.truncated() {
            let detail = match (&a.wav, a.declared_frames) {
                (Some(w), _) if w.truncated() => format!(
                    "the data chunk declares {} bytes but the file holds {}",
                    w.data_declared.unwrap_or(0),
                    w.data_present.unwrap_or(0)
                ),
                (_, Some(d)) => format!(
                    "the header declares {d} frames but {} decoded",
                    a.decoded_frames
                ),
                _ => "the file ends early".into(),
            };
            out.at(field(k), format!("truncated: {detail}"))
                .hint("the upload was cut short: send the complete file")
                .track(k);
        }
    }
}

fn trailing_data(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if let Some(w) = &a.wav
            && w.bytes_after_data > 0
        {
            out.at(
                field(k),
                format!("{} bytes follow the data chunk", w.bytes_after_data),
            )
            .hint("strip trailing chunks; Spotify takes nothing after the audio")
            .track(k);
        }
    }
}

fn extensible(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if a.wav.as_ref().and_then(|w| w.format_tag) == Some(0xFFFE) {
            out.at(field(k), "WAV format tag 0xFFFE (WAVE_FORMAT_EXTENSIBLE)").value("0xFFFE")
                .hint("re-export as plain PCM WAV (tag 0x0001), or deliver FLAC (sox writes 24-bit WAV as extensible)").track(k);
        }
    }
}

fn float_wav(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        let w = a.wav.as_ref();
        let float = w.and_then(|w| w.format_tag) == Some(3)
            || (w.and_then(|w| w.format_tag) == Some(0xFFFE)
                && w.and_then(|w| w.sub_format_tag) == Some(3));
        if float {
            out.at(field(k), "IEEE float samples")
                .value(format!("{}-bit float", a.bits_per_sample.unwrap_or(32)))
                .hint("export 24-bit integer PCM (or FLAC): DSPs ingest integer PCM")
                .track(k);
        }
    }
}

fn embedded_tags(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if a.wav.as_ref().is_some_and(audio::WavLayout::has_tags) {
            out.at(field(k), "embedded tags (RIFF LIST/ID3 chunk)")
                .hint("strip embedded metadata; the ERN carries it")
                .track(k);
        }
    }
}

fn channels(i: &QcInput<'_>, out: &mut Findings) {
    let allowed: Vec<u16> = i
        .profile
        .map(|p| p.audio.channels.clone())
        .unwrap_or_else(|| vec![2]);
    for (k, a) in each_audio(i) {
        if let Some(c) = a.channels
            && !allowed.contains(&c)
        {
            out.at(field(k), format!("{c} channel(s)"))
                .value(c.to_string())
                .hint(format!(
                    "deliver {} channel(s)",
                    allowed
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(" or ")
                ))
                .track(k);
        }
    }
}

fn sample_rate(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if let Some(r) = a.sample_rate
            && r < 44_100
        {
            out.at(field(k), format!("{r} Hz"))
                .value(r.to_string())
                .hint("deliver at 44.1 kHz or above; below it DSPs do not offer lossless")
                .track(k);
        }
    }
}

fn bit_depth(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if let Some(b) = a.bits_per_sample
            && b < 16
        {
            out.at(field(k), format!("{b}-bit"))
                .value(b.to_string())
                .hint("deliver 16 or 24 bit")
                .track(k);
        }
    }
}

fn high_res(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        let (Some(r), Some(b)) = (a.sample_rate, a.bits_per_sample) else {
            continue;
        };
        let profile_ok = i.profile.is_none_or(|p| {
            p.audio.sample_rates.contains(&r) && p.audio.bit_depths.contains(&(b as u16))
        });
        if r > 48_000 || b > 24 || !profile_ok {
            let to = i.profile.map(|p| p.display_name.as_str()).unwrap_or("DSPs");
            out.at(field(k), format!("{b}-bit / {r} Hz; {to} will convert it"))
                .value(format!("{b}/{r}"))
                .hint("fine; keep the high-resolution master")
                .track(k);
        }
    }
}

fn mixed_formats(i: &QcInput<'_>, out: &mut Findings) {
    let mut seen: Vec<(u32, u32)> = each_audio(i)
        .filter_map(|(_, a)| Some((a.sample_rate?, a.bits_per_sample?)))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() > 1 {
        let list = seen
            .iter()
            .map(|(r, b)| format!("{b}-bit/{r} Hz"))
            .collect::<Vec<_>>()
            .join(", ");
        out.at("tracks", format!("the tracks mix formats: {list}"))
            .value(list)
            .hint("deliver every track of a release at one rate and depth");
    }
}

fn ms(v: u64) -> String {
    format!("{}.{:01} s", v / 1000, (v % 1000) / 100)
}

fn duration_match(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if a.measures.is_none() {
            continue;
        }
        let declared = i.release.tracks[k].duration.millis();
        if declared.abs_diff(a.duration_ms) > 1000 {
            out.at(
                format!("tracks[{k}].duration"),
                format!(
                    "the metadata says {} but the audio lasts {}",
                    ms(declared),
                    ms(a.duration_ms)
                ),
            )
            .value(i.release.tracks[k].duration.to_string())
            .hint("set the duration the file really has")
            .track(k)
            .fix(
                format!("tracks[{k}].duration"),
                model::Duration::from_millis(a.duration_ms / 1000 * 1000).to_string(),
            );
        }
    }
}

fn too_short(i: &QcInput<'_>, out: &mut Findings) {
    let single = i.release.release_type == ReleaseType::Single;
    for (k, a) in each_audio(i) {
        if a.measures.is_some() && a.duration_ms < 30_000 {
            let b = out
                .at(field(k), format!("lasts {}", ms(a.duration_ms)))
                .value(ms(a.duration_ms))
                .hint("tracks under 30 s earn nothing on most DSPs; singles are refused")
                .track(k);
            if !single {
                drop(b.at_most(Severity::Warning));
            }
        }
    }
}

fn content_id_min(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if a.measures.is_some() && a.duration_ms < 20_000 {
            out.at(
                field(k),
                format!(
                    "lasts {}, under the 20 s Content ID minimum",
                    ms(a.duration_ms)
                ),
            )
            .track(k)
            .hint("YouTube Content ID will not take it");
        }
    }
}

fn silent(i: &QcInput<'_>, out: &mut Findings) {
    for (k, _, m) in each_measured(i) {
        if m.all_silent {
            out.at(field(k), "silent throughout (nothing above −60 dBFS)")
                .hint("the export went wrong: send the real audio")
                .track(k);
        }
    }
}

fn silence_edges(i: &QcInput<'_>, out: &mut Findings) {
    for (k, _, m) in each_measured(i) {
        if m.all_silent {
            continue;
        }
        for (what, v) in [
            ("leading", m.leading_silence_ms),
            ("trailing", m.trailing_silence_ms),
        ] {
            if v > 10_000 {
                let b = out
                    .at(field(k), format!("{} of {what} silence", ms(v)))
                    .value(ms(v))
                    .hint("trim the silence to under 10 s")
                    .track(k);
                if v <= 30_000 {
                    drop(b.at_most(Severity::Warning));
                }
            }
        }
    }
}

fn silence_inner(i: &QcInput<'_>, out: &mut Findings) {
    for (k, _, m) in each_measured(i) {
        for r in &m.inner_silences {
            out.at(
                field(k),
                format!(
                    "{} of digital silence at {}",
                    ms(r.length_ms),
                    ms(r.start_ms)
                ),
            )
            .value(ms(r.length_ms))
            .hint("check the export; a hidden track is a legitimate exception staff can approve")
            .track(k);
        }
    }
}

fn clipping(i: &QcInput<'_>, out: &mut Findings) {
    for (k, _, m) in each_measured(i) {
        if m.clipped_runs > 0 {
            out.at(
                field(k),
                format!("{} run(s) of 3+ full-scale samples", m.clipped_runs),
            )
            .value(m.clipped_runs.to_string())
            .hint("re-master with a true-peak limiter; the signal was clipped")
            .track(k);
        }
    }
}

fn true_peak(i: &QcInput<'_>, out: &mut Findings) {
    for (k, _, m) in each_measured(i) {
        if m.true_peak_dbtp > -1.0 {
            out.at(field(k), format!("true peak {:+.1} dBTP", m.true_peak_dbtp))
                .value(format!("{:.2}", m.true_peak_dbtp))
                .hint("keep 1 dB of true-peak headroom: lossy transcodes overshoot")
                .track(k);
        }
    }
}

fn sample_peak(i: &QcInput<'_>, out: &mut Findings) {
    for (k, _, m) in each_measured(i) {
        if m.sample_peak_dbfs > -0.3 {
            out.at(
                field(k),
                format!("sample peak {:+.2} dBFS", m.sample_peak_dbfs),
            )
            .value(format!("{:.2}", m.sample_peak_dbfs))
            .hint("peaks above −0.3 dBFS are refused by some distributors")
            .track(k);
        }
    }
}

fn loudness(i: &QcInput<'_>, out: &mut Findings) {
    for (k, _, m) in each_measured(i) {
        match m.integrated_lufs {
            Some(l) if l > -6.0 => {
                out.at(
                    field(k),
                    format!("integrated loudness {l:.1} LUFS: louder than any master should be"),
                )
                .value(format!("{l:.2}"))
                .hint("check the master; it is likely broken or heavily clipped")
                .track(k);
            }
            Some(l) if l < -30.0 => {
                out.at(
                    field(k),
                    format!("integrated loudness {l:.1} LUFS: far too quiet"),
                )
                .value(format!("{l:.2}"))
                .hint("check the master; it is likely the wrong export")
                .track(k);
            }
            _ => {}
        }
    }
}

fn measures(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a, m) in each_measured(i) {
        let l = m
            .integrated_lufs
            .map_or("below gate".to_owned(), |l| format!("{l:.1} LUFS"));
        out.at(
            field(k),
            format!(
                "{} · {}-bit/{} Hz · {l} · LRA {:.1} LU · TP {:.1} dBTP · SP {:.1} dBFS",
                ms(a.duration_ms),
                a.bits_per_sample.unwrap_or(0),
                a.sample_rate.unwrap_or(0),
                m.loudness_range_lu,
                m.true_peak_dbtp,
                m.sample_peak_dbfs,
            ),
        )
        .track(k)
        .hint("for the record: Spotify plays at −14 LUFS, Apple ≈ −16, Deezer ≈ −15");
    }
}

fn dc_offset(i: &QcInput<'_>, out: &mut Findings) {
    for (k, _, m) in each_measured(i) {
        if m.dc_offset_percent >= 1.0 {
            out.at(
                field(k),
                format!("DC offset {:.2}% of full scale", m.dc_offset_percent),
            )
            .value(format!("{:.3}", m.dc_offset_percent))
            .hint("apply a DC-removal (high-pass) filter when mastering")
            .track(k);
        }
    }
}

fn dual_mono(i: &QcInput<'_>, out: &mut Findings) {
    for (k, _, m) in each_measured(i) {
        if m.dual_mono {
            out.at(
                field(k),
                "both channels are identical (mono sent as stereo)",
            )
            .hint("fine for a mono recording; otherwise check the mixdown")
            .track(k);
        }
    }
}

fn bit_padded(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a, m) in each_measured(i) {
        if a.bits_per_sample.unwrap_or(0) > 16 && m.effective_bits <= 16 && !m.all_silent {
            out.at(
                field(k),
                format!(
                    "{}-bit file that uses only {} bits (padded)",
                    a.bits_per_sample.unwrap_or(0),
                    m.effective_bits
                ),
            )
            .value(m.effective_bits.to_string())
            .hint("deliver the 16-bit master as 16-bit; padding adds no resolution")
            .track(k);
        }
    }
}

fn lossy_source(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a, m) in each_measured(i) {
        let (Some(s), Some(rate)) = (&m.spectrum, a.sample_rate) else {
            continue;
        };
        if s.lossy_suspect(rate) {
            out.at(field(k), format!("content stops sharply at {:.1} kHz ({:.0} dB drop)", s.cutoff_hz.unwrap_or(0.0) / 1000.0, s.edge_drop_db))
                .value(format!("{:.0} Hz", s.cutoff_hz.unwrap_or(0.0)))
                .hint("this looks like a master made from an MP3/AAC: ask for the lossless source; staff review").track(k);
        }
    }
}

fn upsampled(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a, m) in each_measured(i) {
        let (Some(s), Some(rate)) = (&m.spectrum, a.sample_rate) else {
            continue;
        };
        if s.upsampled_suspect(rate) {
            out.at(
                field(k),
                format!(
                    "{rate} Hz file with no content above {:.1} kHz",
                    s.cutoff_hz.unwrap_or(0.0) / 1000.0
                ),
            )
            .hint(
                "deliver the master at its native rate; upsampling is refused by Apple and Spotify",
            )
            .track(k);
        }
    }
}

fn file_size(i: &QcInput<'_>, out: &mut Findings) {
    for (k, a) in each_audio(i) {
        if a.file_bytes > 2 * 1024 * 1024 * 1024 {
            out.at(field(k), format!("{} MB", a.file_bytes / 1_048_576))
                .hint("split or re-encode to FLAC")
                .track(k);
        }
    }
}

fn art_format(i: &QcInput<'_>, out: &mut Findings) {
    let Some(a) = i.artwork else { return };
    if let Some(why) = &a.unreadable {
        out.at("artwork", why.clone())
            .value(format!("{:?}", a.format))
            .hint("deliver the cover as JPEG or PNG");
    } else if let Some(why) = &a.not_decoded {
        out.at("artwork", format!("pixels not checked: {why}"))
            .hint("deliver a cover of 3000–6000 px that decodes cleanly");
    }
}

fn art_square(i: &QcInput<'_>, out: &mut Findings) {
    let Some(a) = i.artwork else { return };
    if let (Some(w), Some(h), None) = (a.width, a.height, &a.unreadable)
        && w != h
    {
        out.at("artwork", format!("{w} × {h} is not square"))
            .value(format!("{w}x{h}"))
            .hint("crop or pad the cover to 1:1");
    }
}

fn art_min_size(i: &QcInput<'_>, out: &mut Findings) {
    let Some(a) = i.artwork else { return };
    let (Some(w), Some(h), None) = (a.width, a.height, &a.unreadable) else {
        return;
    };
    let side = w.min(h);
    let floor = i.profile.map_or(1400, |p| p.artwork.min_px.max(1400));
    if side < floor {
        out.at(
            "artwork",
            format!("{w} × {h} is below the {floor} px minimum"),
        )
        .value(format!("{w}x{h}"))
        .hint("deliver at least 3000 × 3000; never upscale a small image");
    } else if side < 3000 {
        out.at(
            "artwork",
            format!("{w} × {h} is below the recommended 3000 px"),
        )
        .value(format!("{w}x{h}"))
        .hint("Apple requires 3000 × 3000; deliver the original size")
        .at_most(Severity::Warning);
    }
}

fn art_colour(i: &QcInput<'_>, out: &mut Findings) {
    let Some(a) = i.artwork else { return };
    let Some(c) = a.colour else { return };
    let what = match c {
        ColourModel::Cmyk => Some("CMYK"),
        ColourModel::Grayscale => Some("grayscale"),
        ColourModel::GrayscaleAlpha => Some("grayscale with alpha"),
        ColourModel::Rgba => Some("RGB with an alpha channel"),
        ColourModel::Other => Some("an unusual colour model"),
        ColourModel::Rgb | ColourModel::Palette => None,
    };
    if let Some(w) = what {
        out.at("artwork", format!("colour model is {w}"))
            .value(format!("{c:?}"))
            .hint("convert to 8-bit RGB (sRGB) without transparency");
    } else if a.bits_per_channel.is_some_and(|b| b != 8)
        && a.format == Format::Png
        && c == ColourModel::Rgb
    {
        out.at(
            "artwork",
            format!("{} bits per channel", a.bits_per_channel.unwrap_or(0)),
        )
        .hint("convert to 8 bits per channel");
    }
}

fn art_icc_exif(i: &QcInput<'_>, out: &mut Findings) {
    let Some(a) = i.artwork else { return };
    if a.icc_profile {
        out.at("artwork", "embedded ICC colour profile")
            .hint("convert to sRGB and strip the profile (Spotify asks for none)");
    }
    if let Some(o) = a.exif_orientation.filter(|o| *o != 1) {
        out.at(
            "artwork",
            format!("EXIF orientation {o}: viewers rotate or flip it"),
        )
        .value(o.to_string())
        .hint("apply the rotation to the pixels and strip EXIF");
    }
}

fn art_file_size(i: &QcInput<'_>, out: &mut Findings) {
    let Some(a) = i.artwork else { return };
    if a.file_bytes > 10 * 1024 * 1024 {
        out.at(
            "artwork",
            format!("{:.1} MB", a.file_bytes as f64 / 1_048_576.0),
        )
        .hint("re-save as JPEG at high quality to stay under 10 MB");
    }
}

fn art_blur(i: &QcInput<'_>, out: &mut Findings) {
    let Some(a) = i.artwork else { return };
    if let Some(s) = a.sharpness
        && s < BLUR_THRESHOLD
    {
        out.at(
            "artwork",
            format!("looks blurred or upscaled (sharpness {s:.1}, threshold {BLUR_THRESHOLD})"),
        )
        .value(format!("{s:.1}"))
        .hint("deliver the original artwork; flat designs can score low, so staff may approve");
    }
}
