//! DDEX DSR flat files (Digital Sales Reporting), pure: no files opened, no clock read.
//!
//! - [`read::ReportReader`] streams the files of one report (any `BufRead`: a file, a gzip
//!   decoder) and hands each usage line, resolved through its block to ISRC / ICPN / DSP ids,
//!   to a callback. It checks what the reference parser skips: FOOT line and block counts,
//!   that every SummaryRecordId resolves, usage and money sums against their summaries, that
//!   BlockIds are unique across files, that the name agrees with HEAD.
//! - [`name::FileName`] is the standard file name.
//! - [`write`] produces valid Basic Audio reports: the mock DSP's sales reports and the
//!   benchmark's large inputs.

pub mod guard;
pub mod name;
pub mod numbers;
pub mod read;
pub mod write;

pub use guard::{GuardLimits, Guarded};
pub use name::FileName;
pub use read::{Finding, Header, ReportInfo, ReportReader, Severity, Summary, UsageLine};
