//! Resource limits on what users hand Liner. Every reader that takes a label's or a DSP's
//! bytes checks its input against one of these before the input can cost time or memory out
//! of proportion to it. The defaults fit every real catalogue we know of with room to spare;
//! a distributor that needs more raises one in `[limits]` of `liner.toml`. Each refusal names
//! the limit and that setting (see [`Limits::exceeded`]); docs/limits.md lists them all.

use serde::Deserialize;

/// `[limits]` in `liner.toml`. Field names are the setting names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Bytes of one release document, sheet, `payees.csv` or ERN message. Reading one takes
    /// about 35 times its size in memory; a 1 000-track release with lyrics is ~3.5 MB.
    pub document_bytes: u64,
    /// Tracks in one release (over all discs).
    pub tracks_per_release: u32,
    /// Discs (volumes) in one release.
    pub discs_per_release: u32,
    /// Characters of one text value (a title, a name, a note).
    pub text_chars: u32,
    /// Attributes on one XML element of an ERN message.
    pub xml_attributes: u32,
    /// Bytes of one line of a sales report, after decompression.
    pub report_line_bytes: u64,
    /// How many times larger a compressed sales report may grow when decompressed.
    pub report_expansion: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            document_bytes: 4 << 20,
            tracks_per_release: 1_000,
            discs_per_release: 100,
            text_chars: 20_000,
            xml_attributes: 64,
            report_line_bytes: 64 << 10,
            report_expansion: 200,
        }
    }
}

impl Limits {
    /// The refusal text when `what` (e.g. "this release has 98901 tracks") goes over the
    /// limit named `setting` (a field of [`Limits`]): it names the limit and the setting.
    pub fn exceeded(what: &str, limit: impl std::fmt::Display, setting: &str) -> String {
        format!(
            "{what}; the limit is {limit} (raise `{setting}` under [limits] in liner.toml if you need more)"
        )
    }
}
