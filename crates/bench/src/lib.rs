//! `liner bench …`: Liner's performance figures, each measured beside its reference in the
//! same run (these machines are shared and noisy: ratios, not absolute times). Benchmarks
//! that measure a command run the `liner` binary that calls them (`current_exe`).

pub mod audio;
pub mod ern;
pub mod intake;
pub mod limits;
pub mod qc;
pub mod royalties;
pub mod sftp;
