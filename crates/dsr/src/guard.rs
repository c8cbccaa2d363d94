//! A guard between a sales report's bytes and its readers: no line may outgrow a limit, and
//! a compressed report may not expand without bound. Both refusals name the file, the line
//! and the `[limits]` setting; neither needs more memory than one line's limit.

use std::io::{self, Read};

/// The limits of one report file (from `[limits]` in liner.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardLimits {
    /// Bytes of one line, after decompression.
    pub max_line: u64,
    /// Bytes the file may hold once decompressed (`None`: not compressed, no cap).
    pub max_total: Option<u64>,
    /// The expansion ratio `max_total` came from, for the message.
    pub ratio: u64,
}

impl GuardLimits {
    /// The cap for a file of `compressed` bytes: `ratio` times that, but at least 64 MiB so a
    /// small, highly repetitive real report is never refused.
    pub fn for_compressed(max_line: u64, compressed: u64, ratio: u64) -> GuardLimits {
        GuardLimits {
            max_line,
            max_total: Some(compressed.saturating_mul(ratio).max(64 << 20)),
            ratio,
        }
    }

    pub fn plain(max_line: u64) -> GuardLimits {
        GuardLimits {
            max_line,
            max_total: None,
            ratio: 0,
        }
    }
}

/// Reads through `inner`, counting lines; fails with an `InvalidData` error naming
/// `name:line` as soon as a limit is passed.
#[derive(Debug)]
pub struct Guarded<R> {
    inner: R,
    name: String,
    limits: GuardLimits,
    line: u64,
    in_line: u64,
    total: u64,
}

impl<R: Read> Guarded<R> {
    pub fn new(inner: R, name: impl Into<String>, limits: GuardLimits) -> Guarded<R> {
        Guarded {
            inner,
            name: name.into(),
            limits,
            line: 1,
            in_line: 0,
            total: 0,
        }
    }
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        self.total += n as u64;
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            self.in_line += (nl - start) as u64;
            self.check_line()?;
            self.line += 1;
            self.in_line = 0;
            start = nl + 1;
        }
        self.in_line += (n - start) as u64;
        self.check_line()?;
        if let Some(max) = self.limits.max_total
            && self.total > max
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}:{}: the file decompresses to more than {} times its compressed size ({max} bytes); the limit is {}× (raise `report_expansion` under [limits] in liner.toml if you need more)",
                    self.name, self.line, self.limits.ratio, self.limits.ratio
                ),
            ));
        }
        Ok(n)
    }
}

impl<R> Guarded<R> {
    fn check_line(&self) -> io::Result<()> {
        if self.in_line > self.limits.max_line {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}:{}: a line longer than {} bytes; the limit is {} bytes (raise `report_line_bytes` under [limits] in liner.toml if you need more)",
                    self.name, self.line, self.limits.max_line, self.limits.max_line
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_refused_with_its_file_and_line() {
        let text = format!("a\nb\n{}\nc\n", "x".repeat(100));
        let mut g = Guarded::new(text.as_bytes(), "r.tsv", GuardLimits::plain(50));
        let mut out = Vec::new();
        let e = g.read_to_end(&mut out).expect_err("refused").to_string();
        assert!(e.starts_with("r.tsv:3: a line longer than 50 bytes"), "{e}");
        let mut ok = Guarded::new(&b"a\nbb\n"[..], "r.tsv", GuardLimits::plain(2));
        let mut out = Vec::new();
        ok.read_to_end(&mut out).expect("fits");
        assert_eq!(out, b"a\nbb\n");
    }

    #[test]
    fn expansion_past_the_cap_is_refused() {
        let limits = GuardLimits {
            max_line: 1 << 20,
            max_total: Some(10),
            ratio: 5,
        };
        let mut g = Guarded::new(&b"12345\n67890\nabc\n"[..], "r.tsv.gz", limits);
        let mut out = Vec::new();
        let e = g.read_to_end(&mut out).expect_err("refused").to_string();
        assert!(
            e.contains("more than 5 times") && e.contains("report_expansion"),
            "{e}"
        );
    }
}
