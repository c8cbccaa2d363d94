//! Audio in the format each DSP profile asks for.
//!
//! [`plan`] (pure) decides from the measured master and the profile's `[audio]` what to do:
//! keep the file or re-wrap it losslessly (WAV ↔ FLAC); a master that is not lossless is
//! refused. A sample rate, bit depth or channel count the DSP does not list is reported, not
//! changed: Liner does not resample yet, the master goes as it is (QC's AUD-HIGH-RES tells
//! staff the DSP will convert it).
//!
//! [`convert`] runs the reference `flac` tool (`--verify`), then proves the result: the
//! decoded PCM of the new file must hash the same as the master's (the audio crate's
//! normalised PCM SHA-256), so a delivered FLAC is bit-for-bit the label's audio.

use std::path::{Path, PathBuf};
use std::process::Command;

use audio::{AudioReport, Container};
use profiles::{AudioCodec, AudioSpec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// None: deliver the master's own file; Some: its lossless re-wrap in this codec.
    pub convert: Option<AudioCodec>,
    /// What the DSP's spec lists differently (rate, bit depth, channels), for the operator.
    pub differs: Vec<Refusal>,
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
    if !spec.sample_rates.contains(&rate) {
        differs.push(Refusal::Mismatch {
            what: "sample rate",
            have: format!("{rate} Hz"),
            takes: format!("{} Hz", list(&spec.sample_rates)),
        });
    }
    let bits = report
        .bits_per_sample
        .and_then(|b| u16::try_from(b).ok())
        .unwrap_or(0);
    if !spec.bit_depths.contains(&bits) {
        differs.push(Refusal::Mismatch {
            what: "bit depth",
            have: format!("{bits} bits"),
            takes: format!("{} bits", list(&spec.bit_depths)),
        });
    }
    let channels = report.channels.unwrap_or(0);
    if !spec.channels.contains(&channels) {
        differs.push(Refusal::Mismatch {
            what: "channel count",
            have: channels.to_string(),
            takes: list(&spec.channels),
        });
    }
    Ok(Plan {
        convert: (have != spec.codec).then_some(spec.codec),
        differs,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("the flac tool is not installed (Debian: apt-get install flac): {0}")]
    NoTool(std::io::Error),
    #[error("flac failed on {path}: {stderr}")]
    Tool { path: PathBuf, stderr: String },
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
