//! Audio analysis for QC. One streaming decode pass (symphonia) feeds every measure: format
//! facts, EBU R128 integrated loudness, loudness range and true peak (ebur128), sample peak,
//! silence, clipping, DC offset, dual mono, bit padding, the long-term spectrum, a hash of the
//! decoded PCM for duplicate detection, and the plots the staff report draws.
//!
//! This crate measures; it does not judge. The `qc` crate turns an [`AudioReport`] into
//! findings with the thresholds of the rules and the DSP profile. A file that cannot be read
//! or decoded still yields a report, with what went wrong in it: analysis never panics on bad
//! input and its memory does not grow with the file.

mod sniff;
mod spectrum;
mod true_peak;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use ebur128::{EbuR128, Mode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use symphonia::core::audio::{AudioBufferRef, Signal};
use symphonia::core::codecs::{CODEC_TYPE_FLAC, CodecType, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

pub use sniff::{Container, WavLayout};
pub use spectrum::Spectrum;

/// Everything QC needs to know about one audio file.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AudioReport {
    pub file_bytes: u64,
    /// What the bytes are, whatever the file is called.
    pub container: Container,
    /// RIFF chunk layout, for WAV files.
    pub wav: Option<WavLayout>,
    /// The codec symphonia found (`pcm_s16le`, `flac`, …).
    pub codec: Option<String>,
    pub sample_rate: Option<u32>,
    pub bits_per_sample: Option<u32>,
    pub channels: Option<u16>,
    /// Frames the header promises, and frames that really decoded.
    pub declared_frames: Option<u64>,
    pub decoded_frames: u64,
    pub duration_ms: u64,
    /// The file could not be opened as audio at all.
    pub unreadable: Option<String>,
    /// The first decode error, and how many packets failed.
    pub decode_error: Option<String>,
    pub decode_errors: u32,
    /// FLAC: whether the decoded audio matches the STREAMINFO MD5.
    pub md5_ok: Option<bool>,
    pub measures: Option<Measures>,
    /// SHA-256 of the decoded samples, normalised to 32-bit little-endian and interleaved, with
    /// rate and channel count: the same master as WAV or FLAC gives the same hash.
    pub pcm_sha256: Option<String>,
    pub plot: Option<Plot>,
}

impl AudioReport {
    fn unreadable(file_bytes: u64, container: Container, why: String) -> AudioReport {
        AudioReport {
            file_bytes,
            container,
            wav: None,
            codec: None,
            sample_rate: None,
            bits_per_sample: None,
            channels: None,
            declared_frames: None,
            decoded_frames: 0,
            duration_ms: 0,
            unreadable: Some(why),
            decode_error: None,
            decode_errors: 0,
            md5_ok: None,
            measures: None,
            pcm_sha256: None,
            plot: None,
        }
    }

    /// Fewer frames decoded than the header declares, or a WAV `data` chunk cut short.
    pub fn truncated(&self) -> bool {
        self.wav.as_ref().is_some_and(WavLayout::truncated)
            || matches!(self.declared_frames, Some(d) if self.decoded_frames < d)
    }
}

/// The measures of a decoded signal.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Measures {
    /// EBU R128 integrated loudness, LUFS; `None` when the whole file is below the gate.
    pub integrated_lufs: Option<f64>,
    /// EBU R128 loudness range, LU.
    pub loudness_range_lu: f64,
    /// Highest inter-sample (4× oversampled) peak over all channels, dBTP.
    pub true_peak_dbtp: f64,
    /// Highest sample magnitude, dBFS.
    pub sample_peak_dbfs: f64,
    /// Silence below −60 dBFS at the head and tail.
    pub leading_silence_ms: u64,
    pub trailing_silence_ms: u64,
    /// Runs of digital silence (every channel within ±1 LSB) of 2 s or more inside the track.
    pub inner_silences: Vec<Run>,
    /// Nothing in the file rises above −60 dBFS.
    pub all_silent: bool,
    /// Runs of 3 or more consecutive full-scale samples on one channel.
    pub clipped_runs: u64,
    /// The largest per-channel mean, as a percentage of full scale.
    pub dc_offset_percent: f64,
    /// Two channels that carry identical samples throughout.
    pub dual_mono: bool,
    /// Bits of the sample word actually used (a 24-bit file padded from 16 bits uses 16).
    pub effective_bits: u32,
    pub spectrum: Option<Spectrum>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Run {
    pub start_ms: u64,
    pub length_ms: u64,
}

/// Envelopes for the staff report's plots.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Plot {
    /// Width of one waveform point.
    pub block_ms: u32,
    /// Per block: peak magnitude and RMS, 0..1 of full scale.
    pub peak: Vec<f32>,
    pub rms: Vec<f32>,
    /// Short-term (3 s) loudness every `loudness_step_ms`, LUFS; `None` below the gate.
    pub loudness_step_ms: u32,
    pub short_term_lufs: Vec<Option<f32>>,
}

/// Frames handed to the loudness thread at a time.
const METER_CHUNK: usize = 16_384;

/// The EBU R128 meter and the true-peak meter (4× oversampling, the most expensive measure)
/// run on their own thread, fed in chunks by the decoding thread: one decode, two cores.
struct Meter {
    tx: std::sync::mpsc::SyncSender<Vec<Vec<i32>>>,
    handle: std::thread::JoinHandle<Loudness>,
}

#[derive(Default)]
struct Loudness {
    integrated: Option<f64>,
    range: f64,
    true_peak: f64,
    short_term: Vec<Option<f32>>,
}

impl Meter {
    fn start(channels: usize, rate: u32) -> Option<Meter> {
        let mut meter = EbuR128::new(channels as u32, rate, Mode::I | Mode::LRA | Mode::S).ok()?;
        let mut tp_meter = true_peak::TruePeakMeter::new(channels);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<i32>>>(8);
        let step = (u64::from(rate) * u64::from(LOUDNESS_STEP_MS) / 1000) as usize;
        let handle = std::thread::Builder::new()
            .name("loudness".into())
            .spawn(move || {
                let mut short_term = Vec::new();
                let mut until_mark = step;
                for chunk in rx {
                    let len = chunk.first().map_or(0, Vec::len);
                    let mut at = 0;
                    // Fed in slices that end on the plot's 500 ms marks, so each short-term
                    // reading is taken exactly there.
                    while at < len {
                        let take = until_mark.min(len - at);
                        let planes: Vec<&[i32]> = chunk.iter().map(|p| &p[at..at + take]).collect();
                        // Cannot fail on the layout the meter was built for.
                        let _ = meter.add_frames_planar_i32(&planes);
                        tp_meter.feed(&planes);
                        at += take;
                        until_mark -= take;
                        if until_mark == 0 {
                            let st = meter.loudness_shortterm().ok().filter(|l| l.is_finite());
                            short_term.push(st.map(|l| l as f32));
                            until_mark = step;
                        }
                    }
                }
                Loudness {
                    integrated: meter.loudness_global().ok().filter(|l| l.is_finite()),
                    range: meter
                        .loudness_range()
                        .ok()
                        .filter(|l| l.is_finite())
                        .unwrap_or(0.0),
                    true_peak: tp_meter.peak(),
                    short_term,
                }
            })
            .ok()?;
        Some(Meter { tx, handle })
    }

    fn feed(&self, chunk: Vec<Vec<i32>>) {
        // A send fails only if the thread died; finish() reports that as no loudness.
        let _ = self.tx.send(chunk);
    }

    fn finish(self) -> Loudness {
        drop(self.tx);
        self.handle.join().unwrap_or_default()
    }
}

/// Waveform points kept for a plot, whatever the track length.
const PLOT_POINTS: usize = 600;
const LOUDNESS_STEP_MS: u32 = 500;
/// −60 dBFS in 32-bit full scale.
const SILENCE_THRESHOLD: i64 = 2_147_484;
const INNER_SILENCE_MIN_MS: u64 = 2000;
const MAX_INNER_RUNS: usize = 32;

thread_local! {
    static GUARDED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// True on a thread that is inside a guarded decode: a panic there is caught and reported
/// as a finding, so a panic hook should not print it.
pub fn decoding() -> bool {
    GUARDED.with(|g| g.get() > 0)
}

/// Analyses the file at `path`. Every failure is part of the report.
pub fn analyse(path: &Path) -> AudioReport {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return AudioReport::unreadable(0, Container::Unknown, e.to_string()),
    };
    // Symphonia is defensive, but a decoder bug on hostile input must become a finding, not a
    // crashed batch; headers are checked first so known crashes never start. While it runs,
    // [`decoding`] tells a front end's panic hook to stay quiet: the panic is a finding.
    GUARDED.with(|g| g.set(g.get() + 1));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| analyse_file(file)));
    GUARDED.with(|g| g.set(g.get() - 1));
    match result {
        Ok(report) => report,
        Err(_) => AudioReport::unreadable(
            std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            Container::Unknown,
            "the decoder crashed on this file".into(),
        ),
    }
}

fn analyse_file(mut file: File) -> AudioReport {
    let file_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut head = [0u8; 16];
    let n = read_up_to(&mut file, &mut head).unwrap_or(0);
    let container = sniff::container(&head[..n]);
    match container {
        Container::Empty => {
            return AudioReport::unreadable(file_bytes, container, "the file is empty".into());
        }
        Container::Unknown => {
            return AudioReport::unreadable(
                file_bytes,
                container,
                "not an audio format Liner knows (expected WAV or FLAC)".into(),
            );
        }
        c if c.is_lossy() || c == Container::Aiff || c == Container::Rf64 => {
            return AudioReport::unreadable(
                file_bytes,
                container,
                format!(
                    "the file is {}; only WAV (PCM) and FLAC are accepted",
                    c.name()
                ),
            );
        }
        _ => {}
    }
    let wav = if container == Container::Wav {
        match sniff::wav_layout(&mut file, file_bytes) {
            Ok(l) => Some(l),
            Err(e) => {
                return AudioReport::unreadable(
                    file_bytes,
                    container,
                    format!("unreadable WAV header: {e}"),
                );
            }
        }
    } else {
        let mut head = [0u8; 42];
        let n = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| read_up_to(&mut file, &mut head))
            .unwrap_or(0);
        if let Err(e) = sniff::flac_streaminfo(&head[..n])
            .and_then(|()| sniff::flac_metadata(&mut file, file_bytes))
        {
            return AudioReport::unreadable(
                file_bytes,
                container,
                format!("unreadable FLAC header: {e}"),
            );
        }
        None
    };
    if file.seek(SeekFrom::Start(0)).is_err() {
        return AudioReport::unreadable(file_bytes, container, "cannot rewind the file".into());
    }
    let mut report = decode(file, file_bytes, container);
    report.wav = wav;
    report
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn codec_name(c: CodecType) -> String {
    use symphonia::core::codecs as k;
    let name = match c {
        k::CODEC_TYPE_PCM_S16LE => "pcm_s16le",
        k::CODEC_TYPE_PCM_S24LE => "pcm_s24le",
        k::CODEC_TYPE_PCM_S32LE => "pcm_s32le",
        k::CODEC_TYPE_PCM_U8 => "pcm_u8",
        k::CODEC_TYPE_PCM_F32LE => "pcm_f32le",
        k::CODEC_TYPE_PCM_F64LE => "pcm_f64le",
        k::CODEC_TYPE_PCM_ALAW => "pcm_alaw",
        k::CODEC_TYPE_PCM_MULAW => "pcm_mulaw",
        k::CODEC_TYPE_FLAC => "flac",
        _ => return format!("{c}"),
    };
    name.into()
}

fn decode(file: File, file_bytes: u64, container: Container) -> AudioReport {
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(if container == Container::Flac {
        "flac"
    } else {
        "wav"
    });
    let probed = match symphonia::default::get_probe().format(
        &hint,
        mss,
        &FormatOptions::default(),
        &MetadataOptions::default(),
    ) {
        Ok(p) => p,
        Err(e) => {
            return AudioReport::unreadable(file_bytes, container, format!("cannot open: {e}"));
        }
    };
    let mut format = probed.format;
    let Some(track) = format.default_track() else {
        return AudioReport::unreadable(file_bytes, container, "no audio stream".into());
    };
    let params = track.codec_params.clone();
    let track_id = track.id;
    let mut report = AudioReport::unreadable(file_bytes, container, String::new());
    report.unreadable = None;
    report.codec = Some(codec_name(params.codec));
    report.sample_rate = params.sample_rate;
    report.bits_per_sample = params.bits_per_sample;
    report.channels = params.channels.map(|c| c.count() as u16);
    report.declared_frames = params.n_frames;
    let (Some(rate), Some(channels)) = (report.sample_rate, report.channels) else {
        report.unreadable = Some("the stream declares no sample rate or channel count".into());
        return report;
    };
    if rate == 0 || channels == 0 || channels > 32 {
        report.unreadable = Some(format!(
            "implausible stream: {channels} channels at {rate} Hz"
        ));
        return report;
    }
    let mut decoder = match symphonia::default::get_codecs().make(
        &params,
        &DecoderOptions {
            verify: params.codec == CODEC_TYPE_FLAC,
        },
    ) {
        Ok(d) => d,
        Err(e) => {
            report.unreadable = Some(format!("unsupported codec: {e}"));
            return report;
        }
    };
    let bits = params.bits_per_sample.unwrap_or(16).clamp(8, 32);
    let mut acc = match Accumulator::new(rate, usize::from(channels), bits, params.n_frames) {
        Some(a) => a,
        None => {
            report.unreadable = Some("the loudness meter refused this stream layout".into());
            return report;
        }
    };
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                report.decode_errors += 1;
                report.decode_error.get_or_insert_with(|| e.to_string());
                break;
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => acc.add(&buf),
            Err(SymError::DecodeError(e)) => {
                report.decode_errors += 1;
                report.decode_error.get_or_insert_with(|| e.to_string());
            }
            Err(e) => {
                report.decode_errors += 1;
                report.decode_error.get_or_insert_with(|| e.to_string());
                break;
            }
        }
    }
    report.md5_ok = decoder.finalize().verify_ok;
    report.decoded_frames = acc.frames;
    report.duration_ms = acc.frames * 1000 / u64::from(rate);
    if acc.frames > 0 {
        let (measures, plot, hash) = acc.finish();
        report.measures = Some(measures);
        report.plot = Some(plot);
        report.pcm_sha256 = Some(hash);
    }
    report
}

/// Running state of the single pass.
struct Accumulator {
    rate: u32,
    channels: usize,
    frames: u64,
    meter: Option<Meter>,
    pending: Vec<Vec<i32>>,
    planes: Vec<Vec<i32>>,
    mono: Vec<f32>,
    hash: Sha256,
    hash_buf: Vec<u8>,
    // peaks and clipping
    max_abs: i64,
    clip_hi: i32,
    clip_lo: i32,
    clip_len: Vec<u32>,
    clipped_runs: u64,
    sums: Vec<i64>,
    or_bits: u32,
    dual_mono_mismatch: u64,
    // silence
    first_loud: Option<u64>,
    last_loud: Option<u64>,
    lsb: i64,
    quiet_run_start: Option<u64>,
    inner_runs: Vec<Run>,
    // plot
    block_frames: u64,
    block_fill: u64,
    block_peak: i64,
    block_sq: f64,
    peaks: Vec<f32>,
    rms: Vec<f32>,
    spectrum: spectrum::SpectrumAccumulator,
}

impl Accumulator {
    fn new(rate: u32, channels: usize, bits: u32, expected: Option<u64>) -> Option<Self> {
        let meter = Meter::start(channels, rate)?;
        let mut hash = Sha256::new();
        hash.update(rate.to_le_bytes());
        hash.update((channels as u32).to_le_bytes());
        // Waveform blocks sized so a track of the expected length gives about PLOT_POINTS;
        // longer tracks are merged pairwise at the end.
        let block_frames = expected
            .map(|n| (n / PLOT_POINTS as u64).max(u64::from(rate) / 100))
            .unwrap_or(u64::from(rate) / 10)
            .max(1);
        Some(Accumulator {
            rate,
            channels,
            frames: 0,
            meter: Some(meter),
            pending: vec![Vec::new(); channels],
            planes: vec![Vec::new(); channels],
            mono: Vec::new(),
            hash,
            hash_buf: Vec::new(),
            max_abs: 0,
            clip_hi: (((1i64 << (bits - 1)) - 1) << (32 - bits)) as i32,
            clip_lo: i32::MIN,
            clip_len: vec![0; channels],
            clipped_runs: 0,
            sums: vec![0; channels],
            or_bits: 0,
            dual_mono_mismatch: 0,
            first_loud: None,
            last_loud: None,
            lsb: 1i64 << (32 - bits),
            quiet_run_start: None,
            inner_runs: Vec::new(),
            block_frames,
            block_fill: 0,
            block_peak: 0,
            block_sq: 0.0,
            peaks: Vec::new(),
            rms: Vec::new(),
            spectrum: spectrum::SpectrumAccumulator::new(expected, rate),
        })
    }

    /// Converts a decoded buffer to 32-bit full-scale integer planes: exact for every integer
    /// format, so clipping, padding and dual-mono checks compare real sample codes.
    fn load(&mut self, buf: &AudioBufferRef<'_>) -> usize {
        fn fill<S: symphonia::core::sample::Sample>(
            planes: &mut [Vec<i32>],
            b: &symphonia::core::audio::AudioBuffer<S>,
            f: impl Fn(S) -> i32,
        ) -> usize {
            let n = b.frames();
            for (ch, plane) in planes.iter_mut().enumerate() {
                plane.clear();
                if ch < b.spec().channels.count() {
                    plane.extend(b.chan(ch).iter().map(|&s| f(s)));
                } else {
                    plane.resize(n, 0);
                }
            }
            n
        }
        let float = |x: f64| (x.clamp(-1.0, 1.0) * 2_147_483_647.0).round() as i32;
        match buf {
            AudioBufferRef::U8(b) => fill(&mut self.planes, b, |s| (i32::from(s) - 128) << 24),
            AudioBufferRef::U16(b) => fill(&mut self.planes, b, |s| (i32::from(s) - 32768) << 16),
            AudioBufferRef::U24(b) => {
                fill(&mut self.planes, b, |s| (s.inner() as i32 - 8_388_608) << 8)
            }
            AudioBufferRef::U32(b) => fill(&mut self.planes, b, |s| {
                (i64::from(s) - 2_147_483_648) as i32
            }),
            AudioBufferRef::S8(b) => fill(&mut self.planes, b, |s| i32::from(s) << 24),
            AudioBufferRef::S16(b) => fill(&mut self.planes, b, |s| i32::from(s) << 16),
            AudioBufferRef::S24(b) => fill(&mut self.planes, b, |s| s.inner() << 8),
            AudioBufferRef::S32(b) => fill(&mut self.planes, b, |s| s),
            AudioBufferRef::F32(b) => fill(&mut self.planes, b, |s| float(f64::from(s))),
            AudioBufferRef::F64(b) => fill(&mut self.planes, b, float),
        }
    }

    fn add(&mut self, buf: &AudioBufferRef<'_>) {
        let n = self.load(buf);
        if n == 0 {
            return;
        }
        let owned = std::mem::take(&mut self.planes);
        let planes: Vec<&[i32]> = owned.iter().map(|p| &p[..n]).collect();
        for (pending, plane) in self.pending.iter_mut().zip(&planes) {
            pending.extend_from_slice(plane);
        }
        if self.pending[0].len() >= METER_CHUNK {
            self.flush_meter();
        }

        // Hash input, interleaved like the file, so it does not depend on decoder buffering.
        self.hash_buf.clear();
        self.hash_buf.reserve(n * self.channels * 4);
        self.mono.clear();
        self.mono.reserve(n);
        let inv = 1.0 / (2_147_483_648.0 * self.channels as f32);
        for f in 0..n {
            let frame_index = self.frames + f as u64;
            let mut frame_max = 0i64;
            let mut mix = 0i64;
            for (ch, plane) in planes.iter().enumerate() {
                let s = plane[f];
                self.hash_buf.extend_from_slice(&s.to_le_bytes());
                let a = i64::from(s).abs();
                frame_max = frame_max.max(a);
                mix += i64::from(s);
                self.sums[ch] += i64::from(s >> 8);
                self.or_bits |= s as u32;
                if s >= self.clip_hi || s <= self.clip_lo {
                    self.clip_len[ch] += 1;
                    if self.clip_len[ch] == 3 {
                        self.clipped_runs += 1;
                    }
                } else {
                    self.clip_len[ch] = 0;
                }
            }
            if self.channels == 2 && planes[0][f] != planes[1][f] {
                self.dual_mono_mismatch += 1;
            }
            self.mono.push(mix as f32 * inv);
            self.max_abs = self.max_abs.max(frame_max);
            if frame_max >= SILENCE_THRESHOLD {
                self.first_loud.get_or_insert(frame_index);
                self.last_loud = Some(frame_index);
            }
            if frame_max <= self.lsb {
                self.quiet_run_start.get_or_insert(frame_index);
            } else if let Some(start) = self.quiet_run_start.take() {
                self.close_quiet_run(start, frame_index);
            }
            self.block_peak = self.block_peak.max(frame_max);
            let m = f64::from(mix as f32 * inv);
            self.block_sq += m * m;
            self.block_fill += 1;
            if self.block_fill == self.block_frames {
                self.close_block();
            }
        }
        drop(planes);
        self.planes = owned;
        self.hash.update(&self.hash_buf);
        self.spectrum.feed(self.frames, &self.mono);
        self.frames += n as u64;
    }

    fn flush_meter(&mut self) {
        let chunk = std::mem::replace(
            &mut self.pending,
            vec![Vec::with_capacity(METER_CHUNK * 2); self.channels],
        );
        if let Some(m) = &self.meter {
            m.feed(chunk);
        }
    }

    fn close_quiet_run(&mut self, start: u64, end: u64) {
        let ms = |f: u64| f * 1000 / u64::from(self.rate);
        // Only runs after the music started count: leading silence is its own measure.
        if self.first_loud.is_some_and(|l| l < start)
            && ms(end - start) >= INNER_SILENCE_MIN_MS
            && self.inner_runs.len() < MAX_INNER_RUNS
        {
            self.inner_runs.push(Run {
                start_ms: ms(start),
                length_ms: ms(end - start),
            });
        }
    }

    fn close_block(&mut self) {
        self.peaks
            .push((self.block_peak as f64 / 2_147_483_648.0) as f32);
        self.rms
            .push((self.block_sq / self.block_fill.max(1) as f64).sqrt() as f32);
        self.block_peak = 0;
        self.block_sq = 0.0;
        self.block_fill = 0;
        if self.peaks.len() >= 2 * PLOT_POINTS {
            // Longer than the header said: halve the resolution to stay bounded.
            self.peaks = self
                .peaks
                .chunks(2)
                .map(|c| c.iter().copied().fold(0.0, f32::max))
                .collect();
            self.rms = self
                .rms
                .chunks(2)
                .map(|c| (c.iter().map(|r| r * r).sum::<f32>() / c.len() as f32).sqrt())
                .collect();
            self.block_frames *= 2;
        }
    }

    fn finish(mut self) -> (Measures, Plot, String) {
        if self.block_fill > 0 {
            self.close_block();
        }
        self.flush_meter();
        let loudness = self.meter.take().map(Meter::finish).unwrap_or_default();
        let db = |x: f64| {
            if x > 0.0 {
                20.0 * x.log10()
            } else {
                f64::NEG_INFINITY
            }
        };
        let round = |x: f64, places: i32| {
            let k = 10f64.powi(places);
            (x * k).round() / k
        };
        let ms = |f: u64| f * 1000 / u64::from(self.rate);
        let true_peak = loudness.true_peak;
        let integrated = loudness.integrated;
        let lra = loudness.range;
        let dc = self
            .sums
            .iter()
            .map(|s| (*s as f64 / self.frames as f64).abs() / 8_388_608.0 * 100.0)
            .fold(0.0, f64::max);
        let effective_bits = if self.or_bits == 0 {
            0
        } else {
            32 - self.or_bits.trailing_zeros()
        };
        let (leading, trailing, all_silent) = match (self.first_loud, self.last_loud) {
            (Some(first), Some(last)) => (ms(first), ms(self.frames - 1 - last), false),
            _ => (ms(self.frames), ms(self.frames), true),
        };
        let measures = Measures {
            integrated_lufs: integrated.map(|l| round(l, 2)),
            loudness_range_lu: round(lra, 2),
            true_peak_dbtp: round(db(true_peak), 2).max(-200.0),
            sample_peak_dbfs: round(db(self.max_abs as f64 / 2_147_483_648.0), 2).max(-200.0),
            leading_silence_ms: leading,
            trailing_silence_ms: trailing,
            inner_silences: self.inner_runs,
            all_silent,
            clipped_runs: self.clipped_runs,
            dc_offset_percent: round(dc, 3),
            dual_mono: self.channels == 2 && self.dual_mono_mismatch == 0 && !all_silent,
            effective_bits,
            spectrum: self.spectrum.finish(self.rate),
        };
        let plot = Plot {
            block_ms: (self.block_frames * 1000 / u64::from(self.rate)) as u32,
            peak: self.peaks,
            rms: self.rms,
            loudness_step_ms: LOUDNESS_STEP_MS,
            short_term_lufs: loudness.short_term,
        };
        (measures, plot, hex::encode(self.hash.finalize()))
    }
}
