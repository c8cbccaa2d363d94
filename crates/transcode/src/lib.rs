//! Audio in the format each DSP profile asks for.
//!
//! [`plan`] (pure) decides from the measured master and the profile's `[audio]` what to do:
//! keep the file, re-wrap it losslessly (WAV ↔ FLAC), or convert its sample rate and bit
//! depth to ones the DSP lists; a master that is not lossless is refused. A channel count the
//! DSP does not list is reported, not changed (no up- or down-mixing of a label's audio).
//!
//! Everything happens in process, with no external tool: decoding with symphonia, FLAC
//! encoding with flacenc, rate conversion with Liner's own band-limited polyphase resampler
//! ([`Resampler`]) and TPDF dither ([`quantise`]).
//!
//! [`convert`] re-wraps the master losslessly, then proves the result: the decoded PCM of the
//! new file must hash the same as the master's (the audio crate's normalised PCM SHA-256), so
//! a delivered FLAC is bit-for-bit the label's audio.
//!
//! [`resample`] converts the rate (flat to 0.9 × the lower Nyquist frequency, ≥ 110 dB
//! stopband from it on) and the depth (TPDF dither when the depth goes down or the master is
//! floating point), writes WAV or FLAC, and checks the result is what was asked: the rate, the
//! depth, the channels and the duration (within one output sample per second of audio). The
//! audio cannot be bit-identical to the master, by design; it is deterministic.
//!
//! Memory: a conversion holds the decoded master (4 bytes per sample) and, when resampling,
//! one channel in and one out at a time as 32-bit floats.

mod pcm;
mod resample;

use std::path::{Path, PathBuf};

pub use pcm::{FLAC_MAX_BITS, Pcm, Samples, decode, write_flac, write_wav};
pub use resample::{PASSBAND, Resampler, STOPBAND_DB, quantise};

use audio::{AudioReport, Container};
use profiles::{AudioCodec, AudioSpec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// None: deliver the master's own file; Some: a file in this codec (a lossless re-wrap,
    /// or the resampled audio when `resample` is set).
    pub convert: Option<AudioCodec>,
    /// The rate and depth to convert to, when the DSP does not list the master's.
    pub resample: Option<Target>,
}

/// A sample rate and bit depth to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    pub rate: u32,
    pub bits: u16,
}

impl Target {
    /// The derived file's key in the store: `flac@44100/16`.
    pub fn key(&self, codec: AudioCodec) -> String {
        let c = match codec {
            AudioCodec::Flac => "flac",
            AudioCodec::Wav => "wav",
        };
        format!("{c}@{}/{}", self.rate, self.bits)
    }
}

/// Of the values a DSP lists, the highest not above the master's (no upsampling where a
/// lower one is taken), else the lowest listed.
fn nearest<T: Copy + Ord>(have: T, listed: &[T]) -> Option<T> {
    listed
        .iter()
        .copied()
        .filter(|v| *v <= have)
        .max()
        .or_else(|| listed.iter().copied().min())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the master is {0:?}, not a lossless WAV or FLAC")]
    NotLossless(Container),
    #[error("the master's {what} is {have}; this DSP takes {takes}")]
    Mismatch {
        what: &'static str,
        have: String,
        takes: String,
    },
    #[error("the master could not be measured: {0}")]
    Unreadable(String),
}

/// A floating-point master (`pcm_f32le`, `pcm_f64le`): never delivered as it is.
fn is_float(report: &AudioReport) -> bool {
    report
        .codec
        .as_deref()
        .is_some_and(|c| c.starts_with("pcm_f"))
}

fn list<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to deliver for a master measured as `report`, to a DSP taking `spec`.
///
/// A rate or depth the DSP does not list is converted to the nearest it does; a floating-point
/// master goes to the deepest integer depth listed (at most 24 bits in FLAC); a channel count
/// the DSP does not list is refused (Liner does not remix a label's audio).
pub fn plan(report: &AudioReport, spec: &AudioSpec) -> Result<Plan, Refusal> {
    if let Some(why) = &report.unreadable {
        return Err(Refusal::Unreadable(why.clone()));
    }
    let have = match report.container {
        Container::Wav => AudioCodec::Wav,
        Container::Flac => AudioCodec::Flac,
        other => return Err(Refusal::NotLossless(other)),
    };
    let channels = report.channels.unwrap_or(0);
    if !spec.channels.contains(&channels) {
        return Err(Refusal::Mismatch {
            what: "channel count",
            have: channels.to_string(),
            takes: list(&spec.channels),
        });
    }
    let rate = report.sample_rate.unwrap_or(0);
    let float = is_float(report);
    let bits = report
        .bits_per_sample
        .and_then(|b| u16::try_from(b).ok())
        .unwrap_or(0);
    // The depths this DSP can be sent: FLAC stops at 24 bits.
    let depths: Vec<u16> = spec
        .bit_depths
        .iter()
        .copied()
        .filter(|b| spec.codec != AudioCodec::Flac || *b <= FLAC_MAX_BITS)
        .collect();
    if depths.is_empty() && !spec.bit_depths.is_empty() {
        return Err(Refusal::Mismatch {
            what: "bit depth",
            have: bits.to_string(),
            takes: format!("{} (none of which FLAC can carry)", list(&spec.bit_depths)),
        });
    }
    let flac_too_deep = spec.codec == AudioCodec::Flac && bits > FLAC_MAX_BITS;
    let rate_ok = spec.sample_rates.is_empty() || spec.sample_rates.contains(&rate);
    let bits_ok = !float && !flac_too_deep && (depths.is_empty() || depths.contains(&bits));
    let resample = if rate_ok && bits_ok {
        None
    } else {
        let deepest = if float || flac_too_deep {
            depths.iter().copied().max()
        } else {
            nearest(bits, &depths)
        };
        Some(Target {
            rate: if rate_ok {
                rate
            } else {
                nearest(rate, &spec.sample_rates).unwrap_or(rate)
            },
            bits: if bits_ok {
                bits
            } else {
                deepest
                    .unwrap_or(24)
                    .min(if spec.codec == AudioCodec::Flac {
                        FLAC_MAX_BITS
                    } else {
                        32
                    })
            },
        })
    };
    Ok(Plan {
        convert: (have != spec.codec || resample.is_some()).then_some(spec.codec),
        resample,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("{path}: {why}")]
    Read { path: PathBuf, why: String },
    #[error("{path}: cannot write the converted audio: {why}")]
    Write { path: PathBuf, why: String },
    #[error("{path}: the resampled file is not what was asked: {why}")]
    Resampled { path: PathBuf, why: String },
    #[error(
        "{path}: the converted audio differs from the master (decoded PCM {}, master {})",
        got.as_deref().unwrap_or("unreadable"),
        want.as_deref().unwrap_or("unreadable")
    )]
    Differs {
        path: PathBuf,
        got: Option<String>,
        want: Option<String>,
    },
}

fn write(
    dst: &Path,
    codec: AudioCodec,
    rate: u32,
    channels: u16,
    bits: u16,
    data: &[i32],
) -> Result<(), ConvertError> {
    let r = match codec {
        AudioCodec::Flac => pcm::write_flac(dst, rate, channels, bits, data),
        AudioCodec::Wav => {
            pcm::write_wav(dst, rate, channels, bits, data).map_err(|e| e.to_string())
        }
    };
    r.map_err(|why| ConvertError::Write {
        path: dst.to_owned(),
        why,
    })
}

/// Converts `src` (measured as `master`) into `codec` at `dst` losslessly, and proves the
/// decoded audio is the master's. Returns the new file's measurement.
pub fn convert(
    src: &Path,
    master: &AudioReport,
    codec: AudioCodec,
    dst: &Path,
) -> Result<AudioReport, ConvertError> {
    let read = |why: String| ConvertError::Read {
        path: src.to_owned(),
        why,
    };
    let pcm = pcm::decode(src).map_err(read)?;
    let Samples::Int { bits, data } = &pcm.samples else {
        return Err(read(
            "floating-point audio cannot be re-wrapped losslessly; it is converted to an integer depth".into(),
        ));
    };
    write(dst, codec, pcm.rate, pcm.channels, *bits, data)?;
    let made = audio::analyse(dst);
    if made.pcm_sha256.is_none() || made.pcm_sha256 != master.pcm_sha256 {
        return Err(ConvertError::Differs {
            path: dst.to_owned(),
            got: made.pcm_sha256,
            want: master.pcm_sha256.clone(),
        });
    }
    Ok(made)
}

/// Converts `src` (measured as `master`) to `target`'s rate and depth in `codec` at `dst`,
/// and checks the result is what was asked. Returns the new file's measurement.
pub fn resample(
    src: &Path,
    master: &AudioReport,
    target: Target,
    codec: AudioCodec,
    dst: &Path,
) -> Result<AudioReport, ConvertError> {
    resample_only(src, target, codec, dst)?;
    let made = audio::analyse(dst);
    let bad = |why: String| ConvertError::Resampled {
        path: dst.to_owned(),
        why,
    };
    if made.sample_rate != Some(target.rate)
        || made.bits_per_sample != Some(u32::from(target.bits))
        || made.channels != master.channels
    {
        let show = |v: Option<String>| v.unwrap_or_else(|| "?".into());
        return Err(bad(format!(
            "{} Hz, {} bits, {} channels",
            show(made.sample_rate.map(|v| v.to_string())),
            show(made.bits_per_sample.map(|v| v.to_string())),
            show(made.channels.map(|v| v.to_string()))
        )));
    }
    // Same duration: frames scale with the rate (a sample of slack per second).
    let want = master.decoded_frames as f64 * f64::from(target.rate)
        / f64::from(master.sample_rate.unwrap_or(target.rate).max(1));
    let slack = (want / f64::from(target.rate)).ceil() + 1.0;
    if (made.decoded_frames as f64 - want).abs() > slack {
        return Err(bad(format!(
            "{} frames, expected {want:.0}",
            made.decoded_frames
        )));
    }
    Ok(made)
}

/// The conversion alone, file to file (decode, resample, dither, write), without the checks
/// [`resample`] makes after: what the audio benchmark times against SoX.
pub fn resample_only(
    src: &Path,
    target: Target,
    codec: AudioCodec,
    dst: &Path,
) -> Result<(), ConvertError> {
    let pcm = pcm::decode(src).map_err(|why| ConvertError::Read {
        path: src.to_owned(),
        why,
    })?;
    let data = convert_pcm(&pcm, target);
    write(dst, codec, target.rate, pcm.channels, target.bits, &data)
}

/// Decoded audio at `target`'s rate and depth, interleaved: resampled per channel when the
/// rate changes, then quantised (TPDF dither when the depth goes down or the source is
/// floating point; a deeper integer target takes the codes exactly).
pub fn convert_pcm(pcm: &Pcm, target: Target) -> Vec<i32> {
    let channels = usize::from(pcm.channels.max(1));
    let (src_bits, float) = match &pcm.samples {
        Samples::Int { bits, .. } => (*bits, false),
        Samples::Float(_) => (32, true),
    };
    if pcm.rate == target.rate
        && !float
        && let Samples::Int { bits, data } = &pcm.samples
        && target.bits >= *bits
    {
        let up = target.bits - bits;
        return data.iter().map(|&s| s << up).collect();
    }
    let dither = float || target.bits < src_bits;
    let resampler = (pcm.rate != target.rate).then(|| Resampler::new(pcm.rate, target.rate));
    let mut out: Vec<i32> = Vec::new();
    for ch in 0..channels {
        let plane = pcm.plane(ch);
        let plane = match &resampler {
            Some(r) => r.process(&plane),
            None => plane,
        };
        // A seed per channel: the channels' dither is uncorrelated.
        let q = quantise(&plane, target.bits, dither, ch as u64 + 1);
        if out.is_empty() {
            out = vec![0; q.len() * channels];
        }
        for (i, v) in q.into_iter().enumerate() {
            out[i * channels + ch] = v;
        }
    }
    out
}
