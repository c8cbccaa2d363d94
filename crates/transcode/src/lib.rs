//! Audio in the format each DSP profile asks for.
//!
//! [`plan`] (pure) decides from the measured master and the profile's `[audio]` what to do:
//! keep the file, re-wrap it losslessly (WAV ↔ FLAC), or convert its sample rate and bit
//! depth to ones the DSP lists; a master that is not lossless is refused. A channel count the
//! DSP does not list is reported, not changed (no up- or down-mixing of a label's audio).
//!
//! [`convert`] runs the reference `flac` tool (`--verify`), then proves the result: the
//! decoded PCM of the new file must hash the same as the master's (the audio crate's
//! normalised PCM SHA-256), so a delivered FLAC is bit-for-bit the label's audio.
//!
//! [`resample`] runs SoX (`rate -v`: its very-high-quality linear-phase resampler; TPDF
//! dither when the bit depth goes down), then `flac` for FLAC DSPs, and checks the result is
//! what was asked: the rate, the depth, the channels and the duration (within one output
//! sample per second of audio). The audio cannot be bit-identical to the master, by design.

use std::path::{Path, PathBuf};
use std::process::Command;

use audio::{AudioReport, Container};
use profiles::{AudioCodec, AudioSpec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// None: deliver the master's own file; Some: a file in this codec (a lossless re-wrap,
    /// or the resampled audio when `resample` is set).
    pub convert: Option<AudioCodec>,
    /// The rate and depth to convert to, when the DSP does not list the master's.
    pub resample: Option<Target>,
    /// What the DSP's spec lists differently (rate, bit depth, channels), for the operator.
    pub differs: Vec<Refusal>,
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

fn list<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to deliver for a master measured as `report`, to a DSP taking `spec`.
pub fn plan(report: &AudioReport, spec: &AudioSpec) -> Result<Plan, Refusal> {
    if let Some(why) = &report.unreadable {
        return Err(Refusal::Unreadable(why.clone()));
    }
    let have = match report.container {
        Container::Wav => AudioCodec::Wav,
        Container::Flac => AudioCodec::Flac,
        other => return Err(Refusal::NotLossless(other)),
    };
    let mut differs = Vec::new();
    let rate = report.sample_rate.unwrap_or(0);
    let bits = report
        .bits_per_sample
        .and_then(|b| u16::try_from(b).ok())
        .unwrap_or(0);
    let rate_ok = spec.sample_rates.is_empty() || spec.sample_rates.contains(&rate);
    let bits_ok = spec.bit_depths.is_empty() || spec.bit_depths.contains(&bits);
    let resample = if rate_ok && bits_ok {
        None
    } else {
        Some(Target {
            rate: if rate_ok {
                rate
            } else {
                nearest(rate, &spec.sample_rates).unwrap_or(rate)
            },
            bits: if bits_ok {
                bits
            } else {
                nearest(bits, &spec.bit_depths).unwrap_or(bits)
            },
        })
    };
    let channels = report.channels.unwrap_or(0);
    if !spec.channels.contains(&channels) {
        differs.push(Refusal::Mismatch {
            what: "channel count",
            have: channels.to_string(),
            takes: list(&spec.channels),
        });
    }
    Ok(Plan {
        convert: (have != spec.codec || resample.is_some()).then_some(spec.codec),
        resample,
        differs,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("the flac tool is not installed (Debian: apt-get install flac): {0}")]
    NoTool(std::io::Error),
    #[error("flac failed on {path}: {stderr}")]
    Tool { path: PathBuf, stderr: String },
    #[error("SoX is not installed (Debian: apt-get install sox): {0}")]
    NoSox(std::io::Error),
    #[error("{path}: the resampled file is not what was asked: {why}")]
    Resampled { path: PathBuf, why: String },
    #[error(
        "{path}: the converted audio differs from the master (decoded PCM {got:?}, master {want:?})"
    )]
    Differs {
        path: PathBuf,
        got: Option<String>,
        want: Option<String>,
    },
}

/// Converts `src` (measured as `master`) into `codec` at `dst`, and proves the decoded audio
/// is the master's. Returns the new file's measurement.
pub fn convert(
    src: &Path,
    master: &AudioReport,
    codec: AudioCodec,
    dst: &Path,
) -> Result<AudioReport, ConvertError> {
    let mut cmd = Command::new("flac");
    cmd.args(["--silent", "--force"]);
    match codec {
        // --best: the smallest files; --verify: flac decodes what it wrote and compares.
        AudioCodec::Flac => cmd.args(["--best", "--verify"]),
        AudioCodec::Wav => cmd.arg("--decode"),
    };
    let out = cmd
        .arg("-o")
        .arg(dst)
        .arg(src)
        .output()
        .map_err(ConvertError::NoTool)?;
    if !out.status.success() {
        return Err(ConvertError::Tool {
            path: src.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
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
    let wav = match codec {
        AudioCodec::Wav => dst.to_owned(),
        AudioCodec::Flac => dst.with_extension("resampled.wav"),
    };
    // -V1: errors only; rate -v: very high quality; SoX dithers (TPDF) by itself when the
    // output has fewer bits than the input, and only then.
    let out = Command::new("sox")
        .arg("-V1")
        .arg(src)
        .args(["-b", &target.bits.to_string(), "-e", "signed-integer"])
        .arg(&wav)
        .args(["rate", "-v", &target.rate.to_string()])
        .output()
        .map_err(ConvertError::NoSox)?;
    if !out.status.success() {
        return Err(ConvertError::Tool {
            path: src.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    if codec == AudioCodec::Flac {
        let out = Command::new("flac")
            .args(["--silent", "--force", "--best", "--verify", "-o"])
            .arg(dst)
            .arg(&wav)
            .output()
            .map_err(ConvertError::NoTool)?;
        let _ = std::fs::remove_file(&wav);
        if !out.status.success() {
            return Err(ConvertError::Tool {
                path: src.to_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
    }
    let made = audio::analyse(dst);
    let bad = |why: String| ConvertError::Resampled {
        path: dst.to_owned(),
        why,
    };
    if made.sample_rate != Some(target.rate)
        || made.bits_per_sample != Some(u32::from(target.bits))
        || made.channels != master.channels
    {
        return Err(bad(format!(
            "{:?} Hz, {:?} bits, {:?} channels",
            made.sample_rate, made.bits_per_sample, made.channels
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
