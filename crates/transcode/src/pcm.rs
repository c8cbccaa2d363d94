//! Decoded audio in memory, and the two files Liner writes: PCM WAV and FLAC (flacenc).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flacenc::component::BitRepr;
use flacenc::error::SourceError;
use flacenc::error::Verify;
use flacenc::source::{Fill, Source};
use symphonia::core::audio::{AudioBufferRef, Signal};
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Samples of a decoded file, interleaved.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    /// Integer PCM, right-justified in `bits` bits (exactly the file's sample codes).
    Int { bits: u16, data: Vec<i32> },
    /// Floating-point PCM, full scale ±1.
    Float(Vec<f32>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    pub rate: u32,
    pub channels: u16,
    pub samples: Samples,
}

impl Pcm {
    pub fn frames(&self) -> usize {
        let n = match &self.samples {
            Samples::Int { data, .. } => data.len(),
            Samples::Float(d) => d.len(),
        };
        n / usize::from(self.channels.max(1))
    }

    /// One channel as floats in [−1, 1).
    pub fn plane(&self, ch: usize) -> Vec<f32> {
        let c = usize::from(self.channels);
        match &self.samples {
            Samples::Int { bits, data } => {
                let scale = 1.0 / f64::from(1u32 << (bits - 1));
                data.iter()
                    .skip(ch)
                    .step_by(c)
                    .map(|&s| (f64::from(s) * scale) as f32)
                    .collect()
            }
            Samples::Float(d) => d.iter().skip(ch).step_by(c).copied().collect(),
        }
    }
}

/// Decodes a WAV or FLAC file whole. A decode error is an error (a delivered file must be
/// the whole master), with what the decoder said.
pub fn decode(path: &Path) -> Result<Pcm, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let probed = symphonia::default::get_probe()
        .format(
            &Hint::new(),
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| format!("not WAV or FLAC audio: {e}"))?;
    let mut format = probed.format;
    let track = format.default_track().ok_or("no audio stream")?;
    let params = track.codec_params.clone();
    let id = track.id;
    let rate = params.sample_rate.ok_or("no sample rate")?;
    let channels = params
        .channels
        .map(|c| c.count())
        .ok_or("no channel count")?;
    let channels = u16::try_from(channels).map_err(|_| "too many channels")?;
    let bits = params.bits_per_sample.unwrap_or(16);
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions { verify: true })
        .map_err(|e| format!("unsupported codec: {e}"))?;
    let mut ints: Vec<i32> = Vec::new();
    let mut floats: Vec<f32> = Vec::new();
    if let Some(n) = params.n_frames {
        // A hint only; a lying header cannot make us reserve more than 1 GiB up front.
        let want = (n as usize)
            .saturating_mul(usize::from(channels))
            .min(1 << 28);
        ints.reserve(want);
    }
    let mut is_float = false;
    let mut out_bits: u16 = u16::try_from(bits).unwrap_or(32);
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(format!("cannot read: {e}")),
        };
        if packet.track_id() != id {
            continue;
        }
        let buf = decoder
            .decode(&packet)
            .map_err(|e| format!("cannot decode: {e}"))?;
        fn put<S: symphonia::core::sample::Sample + Copy>(
            out: &mut Vec<i32>,
            b: &symphonia::core::audio::AudioBuffer<S>,
            f: impl Fn(S) -> i32,
        ) {
            let c = b.spec().channels.count();
            for n in 0..b.frames() {
                for ch in 0..c {
                    out.push(f(b.chan(ch)[n]));
                }
            }
        }
        match &buf {
            AudioBufferRef::U8(b) => {
                out_bits = 8;
                put(&mut ints, b, |s| i32::from(s) - 128)
            }
            AudioBufferRef::S8(b) => {
                out_bits = 8;
                put(&mut ints, b, i32::from)
            }
            AudioBufferRef::S16(b) => {
                out_bits = 16;
                put(&mut ints, b, i32::from)
            }
            AudioBufferRef::U16(b) => {
                out_bits = 16;
                put(&mut ints, b, |s| i32::from(s) - 32_768)
            }
            AudioBufferRef::S24(b) => {
                out_bits = 24;
                put(&mut ints, b, |s| s.inner())
            }
            AudioBufferRef::U24(b) => {
                out_bits = 24;
                put(&mut ints, b, |s| s.inner() as i32 - 8_388_608)
            }
            AudioBufferRef::S32(b) => {
                // Full-scale 32-bit (symphonia left-justifies FLAC's samples): back to the
                // file's own codes.
                let b_ = bits.clamp(8, 32);
                out_bits = b_ as u16;
                put(&mut ints, b, |s| s >> (32 - b_))
            }
            AudioBufferRef::U32(b) => {
                out_bits = 32;
                put(&mut ints, b, |s| (i64::from(s) - 2_147_483_648) as i32)
            }
            AudioBufferRef::F32(b) => {
                is_float = true;
                let c = b.spec().channels.count();
                for n in 0..b.frames() {
                    for ch in 0..c {
                        floats.push(b.chan(ch)[n]);
                    }
                }
            }
            AudioBufferRef::F64(b) => {
                is_float = true;
                let c = b.spec().channels.count();
                for n in 0..b.frames() {
                    for ch in 0..c {
                        floats.push(b.chan(ch)[n] as f32);
                    }
                }
            }
        }
    }
    let samples = if is_float {
        Samples::Float(floats)
    } else {
        Samples::Int {
            bits: out_bits,
            data: ints,
        }
    };
    Ok(Pcm {
        rate,
        channels,
        samples,
    })
}

/// Writes interleaved integer samples as a PCM WAV (format tag 1, the plain form DSPs ask
/// for; never WAVE_FORMAT_EXTENSIBLE).
pub fn write_wav(path: &Path, rate: u32, channels: u16, bits: u16, data: &[i32]) -> io::Result<()> {
    let bytes = usize::from(bits.div_ceil(8));
    let len = data.len() * bytes;
    let len32 = u32::try_from(len)
        .ok()
        .filter(|l| *l <= u32::MAX - 36)
        .ok_or_else(|| io::Error::other("over 4 GiB of audio does not fit a WAV file"))?;
    let mut w = BufWriter::new(File::create(path)?);
    let block = u32::from(channels) * bytes as u32;
    w.write_all(b"RIFF")?;
    w.write_all(&(36 + len32).to_le_bytes())?;
    w.write_all(b"WAVEfmt ")?;
    w.write_all(&16u32.to_le_bytes())?;
    w.write_all(&1u16.to_le_bytes())?;
    w.write_all(&channels.to_le_bytes())?;
    w.write_all(&rate.to_le_bytes())?;
    w.write_all(&(rate * block).to_le_bytes())?;
    w.write_all(&(block as u16).to_le_bytes())?;
    w.write_all(&bits.to_le_bytes())?;
    w.write_all(b"data")?;
    w.write_all(&len32.to_le_bytes())?;
    let mut buf = Vec::with_capacity(64 * 1024);
    for chunk in data.chunks(16 * 1024) {
        buf.clear();
        for &s in chunk {
            if bits == 8 {
                // 8-bit WAV is unsigned.
                buf.push((s + 128) as u8);
            } else {
                buf.extend_from_slice(&s.to_le_bytes()[..bytes]);
            }
        }
        w.write_all(&buf)?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Feeds interleaved samples to the encoder without copying them.
struct Interleaved<'a> {
    data: &'a [i32],
    channels: usize,
    bits: usize,
    rate: usize,
    at: usize,
}

impl Source for Interleaved<'_> {
    fn channels(&self) -> usize {
        self.channels
    }
    fn bits_per_sample(&self) -> usize {
        self.bits
    }
    fn sample_rate(&self) -> usize {
        self.rate
    }
    fn read_samples<F: Fill>(
        &mut self,
        block_size: usize,
        dest: &mut F,
    ) -> Result<usize, SourceError> {
        let end = (self.at + block_size * self.channels).min(self.data.len());
        dest.fill_interleaved(&self.data[self.at..end])?;
        let frames = (end - self.at) / self.channels;
        self.at = end;
        Ok(frames)
    }
    fn len_hint(&self) -> Option<usize> {
        Some(self.data.len() / self.channels)
    }
}

/// The deepest sample FLAC encoding supports here.
pub const FLAC_MAX_BITS: u16 = 24;

/// Encodes interleaved integer samples as FLAC (STREAMINFO MD5 set, so any decoder can
/// check the audio).
pub fn write_flac(
    path: &Path,
    rate: u32,
    channels: u16,
    bits: u16,
    data: &[i32],
) -> Result<(), String> {
    if !(4..=FLAC_MAX_BITS).contains(&bits) {
        return Err(format!(
            "{bits}-bit samples cannot be encoded as FLAC here (4 to {FLAC_MAX_BITS} bits)"
        ));
    }
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, e)| format!("encoder settings: {e}"))?;
    // flacenc stops at 96 kHz (its subset check); the bitstream does not: above it, encode as
    // if at 96 kHz, then state the real rate (see `restate_rate`).
    let high = rate > FLACENC_MAX_RATE;
    let src = Interleaved {
        data,
        channels: usize::from(channels),
        bits: usize::from(bits),
        rate: if high { FLACENC_MAX_RATE } else { rate } as usize,
        at: 0,
    };
    let mut stream = flacenc::encode_with_fixed_block_size(&config, src, config.block_size)
        .map_err(|e| format!("FLAC encoding failed: {e}"))?;
    // A fixed-blocksize stream states min = max block size (the last block may be shorter);
    // the parallel encoder writes the shortest block seen, which strict decoders (symphonia)
    // read as a variable-blocksize stream and refuse.
    stream
        .stream_info_mut()
        .set_block_sizes(config.block_size, config.block_size)
        .map_err(|e| format!("FLAC encoding failed: {e}"))?;
    let bytes = if high {
        restate_rate(&stream, rate)?
    } else {
        let mut sink = flacenc::bitsink::ByteSink::new();
        stream
            .write(&mut sink)
            .map_err(|e| format!("FLAC encoding failed: {e}"))?;
        sink.into_inner()
    };
    let mut f = File::create(path).map_err(|e| format!("cannot write: {e}"))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write: {e}"))
}

/// The highest sample rate flacenc encodes.
const FLACENC_MAX_RATE: u32 = 96_000;

/// The stream's bytes with `rate` stated instead of the 96 kHz it was encoded at: STREAMINFO's
/// 20-bit rate field, and every frame header's sample-rate code set to "from STREAMINFO"
/// (0000, the same length), its CRC-8 and the frame's CRC-16 recomputed. The coded audio does
/// not depend on the rate, so the result is the same samples at `rate`.
fn restate_rate(stream: &flacenc::component::Stream, rate: u32) -> Result<Vec<u8>, String> {
    if rate >= 1 << 20 {
        return Err(format!("{rate} Hz does not fit FLAC's 20-bit sample rate"));
    }
    let fail = |e: &str| format!("FLAC encoding failed: {e}");
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).map_err(|e| fail(&e.to_string()))?;
    let mut out = sink.into_inner();
    // "fLaC", the 4-byte block header, then min/max block (4), min/max frame (6): the rate is
    // the next 20 bits.
    let at = 4 + 4 + 10;
    if out.len() < at + 3 {
        return Err(fail("short STREAMINFO"));
    }
    out[at] = (rate >> 12) as u8;
    out[at + 1] = (rate >> 4) as u8;
    out[at + 2] = (out[at + 2] & 0x0F) | (((rate & 0x0F) as u8) << 4);
    // Frames are byte-aligned and follow the metadata: walk them by their lengths.
    let lens: Vec<usize> = (0..stream.frame_count())
        .filter_map(|n| stream.frame(n))
        .map(|f| f.count_bits() / 8)
        .collect();
    let mut pos = out
        .len()
        .checked_sub(lens.iter().sum::<usize>())
        .ok_or_else(|| fail("frame lengths exceed the stream"))?;
    for len in lens {
        let b = &mut out[pos..pos + len];
        let crc8_at = frame_header_len(b).ok_or_else(|| fail("unreadable frame header"))?;
        if b.len() < crc8_at + 3 || b[2] & 0x0F >= 0x0C {
            return Err(fail("unexpected frame header"));
        }
        b[2] &= 0xF0;
        b[crc8_at] = crc8(&b[..crc8_at]);
        let crc = crc16(&b[..len - 2]);
        b[len - 2] = (crc >> 8) as u8;
        b[len - 1] = crc as u8;
        pos += len;
    }
    Ok(out)
}

/// Where a frame header's CRC-8 byte is: after sync and codes (4 bytes), the UTF-8-coded frame
/// or sample number, and the block size and sample rate stated at the end of the header.
fn frame_header_len(b: &[u8]) -> Option<usize> {
    let first = *b.get(4)?;
    let utf8 = match first.leading_ones() {
        0 => 1,
        n @ 2..=7 => n as usize,
        _ => return None,
    };
    let bs_extra = match b.get(2)? >> 4 {
        0b0110 => 1,
        0b0111 => 2,
        _ => 0,
    };
    let sr_extra = match b.get(2)? & 0x0F {
        0b1100 => 1,
        0b1101 | 0b1110 => 2,
        _ => 0,
    };
    Some(4 + utf8 + bs_extra + sr_extra)
}

/// FLAC's CRC-8 (polynomial x^8 + x^2 + x + 1, initial 0).
fn crc8(data: &[u8]) -> u8 {
    let mut c = 0u8;
    for &x in data {
        c ^= x;
        for _ in 0..8 {
            c = if c & 0x80 != 0 {
                (c << 1) ^ 0x07
            } else {
                c << 1
            };
        }
    }
    c
}

/// FLAC's CRC-16 (polynomial x^16 + x^15 + x^2 + 1, initial 0).
fn crc16(data: &[u8]) -> u16 {
    let mut c = 0u16;
    for &x in data {
        c ^= u16::from(x) << 8;
        for _ in 0..8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x8005
            } else {
                c << 1
            };
        }
    }
    c
}
