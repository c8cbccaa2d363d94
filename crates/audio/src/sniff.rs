//! What a file is, judged by its bytes rather than its name (an MP3 renamed `.wav` is still an
//! MP3), and the chunk layout of a WAV file, which decoders hide but DSPs check.

use std::io::{self, Read, Seek, SeekFrom};

use serde::Serialize;

/// The container a file's leading bytes identify.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub enum Container {
    Wav,
    Rf64,
    Flac,
    Aiff,
    Mp3,
    Ogg,
    Mp4,
    Aac,
    Empty,
    Unknown,
}

impl Container {
    /// Lossy formats: a master delivered in one of them is never lossless again.
    pub fn is_lossy(self) -> bool {
        matches!(
            self,
            Container::Mp3 | Container::Ogg | Container::Mp4 | Container::Aac
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Container::Wav => "WAV",
            Container::Rf64 => "RF64",
            Container::Flac => "FLAC",
            Container::Aiff => "AIFF",
            Container::Mp3 => "MP3",
            Container::Ogg => "Ogg",
            Container::Mp4 => "MP4/M4A",
            Container::Aac => "AAC (ADTS)",
            Container::Empty => "empty file",
            Container::Unknown => "unknown",
        }
    }
}

pub(crate) fn container(head: &[u8]) -> Container {
    if head.is_empty() {
        return Container::Empty;
    }
    let at = |i: usize, magic: &[u8]| head.get(i..i + magic.len()) == Some(magic);
    if at(0, b"RIFF") && at(8, b"WAVE") {
        Container::Wav
    } else if at(0, b"RF64") && at(8, b"WAVE") {
        Container::Rf64
    } else if at(0, b"fLaC") {
        Container::Flac
    } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        Container::Aiff
    } else if at(0, b"ID3") {
        Container::Mp3
    } else if at(0, b"OggS") {
        Container::Ogg
    } else if at(4, b"ftyp") {
        Container::Mp4
    } else if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xF6 == 0xF0 {
        Container::Aac
    } else if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 {
        Container::Mp3
    } else {
        Container::Unknown
    }
}

/// The chunks of a RIFF/WAVE file, as laid out on disk.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct WavLayout {
    /// `fmt ` format tag: 0x0001 PCM, 0x0003 float, 0xFFFE WAVE_FORMAT_EXTENSIBLE, 0x0055 MP3…
    pub format_tag: Option<u16>,
    /// For WAVE_FORMAT_EXTENSIBLE, the sub-format's tag (first two bytes of the GUID).
    pub sub_format_tag: Option<u16>,
    /// Chunk ids in file order (`fmt `, `LIST`, `id3 `, `data`, …).
    pub chunks: Vec<String>,
    /// The `data` chunk's declared size and how many of those bytes the file really holds.
    pub data_declared: Option<u64>,
    pub data_present: Option<u64>,
    /// Bytes that follow the end of the `data` chunk (other chunks or junk).
    pub bytes_after_data: u64,
}

impl WavLayout {
    pub fn truncated(&self) -> bool {
        matches!((self.data_declared, self.data_present), (Some(d), Some(p)) if p < d)
    }

    /// RIFF INFO lists or ID3 chunks: embedded tags that DSPs ask to have stripped.
    pub fn has_tags(&self) -> bool {
        self.chunks
            .iter()
            .any(|c| matches!(c.as_str(), "LIST" | "id3 " | "ID3 "))
    }
}

/// Checks a FLAC file's STREAMINFO (it must come first): sample rate, channels and bit
/// depth as the format allows them, before any decoder sees them.
pub(crate) fn flac_streaminfo(head: &[u8]) -> Result<(), String> {
    // "fLaC", a 4-byte block header (type 0 = STREAMINFO, length 34), then the block.
    if head.len() < 42 || head[4] & 0x7F != 0 {
        return Err("the file does not start with a STREAMINFO block".into());
    }
    let si = &head[8..42];
    let rate = (u32::from(si[10]) << 12) | (u32::from(si[11]) << 4) | (u32::from(si[12]) >> 4);
    if rate == 0 {
        return Err("STREAMINFO declares a sample rate of 0".into());
    }
    let min_block = u16::from_be_bytes([si[0], si[1]]);
    let max_block = u16::from_be_bytes([si[2], si[3]]);
    if min_block < 16 || max_block < min_block {
        return Err(format!(
            "STREAMINFO declares block sizes {min_block}..{max_block}; FLAC needs 16 or more, min ≤ max"
        ));
    }
    Ok(())
}

/// Walks a FLAC file's metadata blocks: each must fit in the file, and a PICTURE block's own
/// lengths (MIME type, description, picture data) must fit in the block — a decoder allocates
/// what they declare before it reads (a 4 GiB picture length in a small file).
pub(crate) fn flac_metadata<R: Read + Seek>(r: &mut R, file_len: u64) -> Result<(), String> {
    let mut pos = 4u64;
    loop {
        let mut h = [0u8; 4];
        r.seek(SeekFrom::Start(pos))
            .and_then(|_| r.read_exact(&mut h))
            .map_err(|_| format!("the metadata block header at byte {pos} is cut off"))?;
        let (last, kind) = (h[0] & 0x80 != 0, h[0] & 0x7F);
        let len = u64::from(u32::from_be_bytes([0, h[1], h[2], h[3]]));
        let body = pos + 4;
        if body + len > file_len {
            return Err(format!(
                "metadata block {kind} at byte {pos} declares {len} bytes; the file ends first"
            ));
        }
        if kind == 6 {
            // type, MIME length + MIME, description length + description, 4 numbers, data length.
            let mut at = 4u64;
            let mut read_u32 = |off: u64| -> Result<u64, String> {
                let mut b = [0u8; 4];
                if off + 4 > len {
                    return Err(format!("the PICTURE block at byte {pos} is cut off"));
                }
                r.seek(SeekFrom::Start(body + off))
                    .and_then(|_| r.read_exact(&mut b))
                    .map_err(|_| format!("the PICTURE block at byte {pos} is cut off"))?;
                Ok(u64::from(u32::from_be_bytes(b)))
            };
            let mime = read_u32(at)?;
            at += 4 + mime;
            let desc = read_u32(at)?;
            at += 4 + desc + 16;
            let data = read_u32(at)?;
            at += 4 + data;
            if at > len {
                return Err(format!(
                    "the PICTURE block at byte {pos} declares {at} bytes of fields in a {len}-byte block"
                ));
            }
        }
        if last {
            return Ok(());
        }
        pos = body + len;
    }
}

/// Walks the RIFF chunks. Never reads sample data; stops at the first chunk header that does
/// not fit in the file.
pub(crate) fn wav_layout<R: Read + Seek>(r: &mut R, file_len: u64) -> io::Result<WavLayout> {
    let mut layout = WavLayout::default();
    let mut pos = 12u64;
    r.seek(SeekFrom::Start(pos))?;
    while pos + 8 <= file_len {
        let mut header = [0u8; 8];
        r.read_exact(&mut header)?;
        let id = String::from_utf8_lossy(&header[..4]).into_owned();
        let size = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        let body = pos + 8;
        if id == "fmt " {
            let mut fmt = [0u8; 40];
            let n = size.min(40) as usize;
            r.read_exact(&mut fmt[..n])?;
            if n >= 2 {
                layout.format_tag = Some(u16::from_le_bytes([fmt[0], fmt[1]]));
            }
            if n >= 26 {
                layout.sub_format_tag = Some(u16::from_le_bytes([fmt[24], fmt[25]]));
            }
            // Checked here, before any decoder sees them: a zero here has crashed decoders.
            let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
            if n < 16 {
                return Err(bad(format!(
                    "the fmt chunk is {size} bytes; a PCM header needs 16"
                )));
            }
            let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
            let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
            for (name, value) in [
                ("channel count", u32::from(u16_at(2))),
                ("sample rate", rate),
                ("block alignment", u32::from(u16_at(12))),
                ("bit depth", u32::from(u16_at(14))),
            ] {
                if value == 0 {
                    return Err(bad(format!("the fmt chunk declares a {name} of 0")));
                }
            }
            if rate > 1_536_000 {
                return Err(bad(format!(
                    "the fmt chunk declares a sample rate of {rate} Hz; no audio format goes above 1 536 000"
                )));
            }
        }
        layout.chunks.push(id.clone());
        if id == "data" {
            let present = file_len.saturating_sub(body).min(size);
            layout.data_declared = Some(size);
            layout.data_present = Some(present);
            let end = body + size + (size & 1);
            layout.bytes_after_data = file_len.saturating_sub(end);
            break;
        }
        // Chunks are word-aligned: an odd size is followed by a pad byte.
        pos = body + size + (size & 1);
        r.seek(SeekFrom::Start(pos))?;
    }
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_by_content() {
        assert_eq!(container(b""), Container::Empty);
        assert_eq!(container(b"RIFF\0\0\0\0WAVEfmt "), Container::Wav);
        assert_eq!(container(b"fLaC\0\0\0\x22"), Container::Flac);
        assert_eq!(container(b"ID3\x04\0\0\0\0"), Container::Mp3);
        assert_eq!(container(&[0xFF, 0xFB, 0x90, 0x64]), Container::Mp3);
        assert_eq!(container(&[0xFF, 0xF1, 0x50, 0x80]), Container::Aac);
        assert_eq!(container(b"\0\0\0\x20ftypM4A "), Container::Mp4);
        assert_eq!(container(b"OggS\0\x02"), Container::Ogg);
        assert_eq!(container(b"hello"), Container::Unknown);
        assert!(Container::Mp3.is_lossy() && !Container::Flac.is_lossy());
    }
}
