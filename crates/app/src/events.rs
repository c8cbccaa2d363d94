//! `Events`: what a use case tells the person or log following it, in place of printing.
//! The CLI prints them on stderr (notes hidden by `--quiet`, meters as progress bars at a
//! terminal), the worker logs them through `tracing` as JSON lines, the web will stream them.

use std::sync::Arc;

/// How much an event matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Progress and facts for a person following along (hidden by `--quiet`).
    Note,
    /// An outcome always told (an acknowledgement read, a delivery failed or refused).
    Tell,
    /// Something is wrong, and the run goes on.
    Warning,
    /// One part of the run failed; the rest goes on.
    Error,
}

/// What a meter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterKind {
    /// Bytes uploaded.
    Bytes,
    /// Items done out of a known number (releases, files).
    Items,
    /// Waiting on others, with a message of what for.
    Wait,
    /// Bytes of a file read, with its name and a message of how fast.
    Reading,
}

/// A progress meter: bytes or items done of a total that may grow.
pub trait Meter: Send + Sync {
    fn inc(&self, n: u64);
    fn inc_length(&self, n: u64);
    fn message(&self, text: &str);
    /// What is being metered (a file's name).
    fn prefix(&self, _text: &str) {}
    fn finish(&self);
}

/// The sink a use case tells what happens.
pub trait Events: Send + Sync {
    fn emit(&self, level: Level, text: &str);

    /// A meter for a long step; none by default.
    fn meter(&self, _kind: MeterKind, _len: u64) -> Arc<dyn Meter> {
        Arc::new(NoMeter)
    }

    fn note(&self, text: &str) {
        self.emit(Level::Note, text);
    }
    fn tell(&self, text: &str) {
        self.emit(Level::Tell, text);
    }
    fn warn(&self, text: &str) {
        self.emit(Level::Warning, text);
    }
    fn error(&self, text: &str) {
        self.emit(Level::Error, text);
    }
}

/// A meter that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMeter;

impl Meter for NoMeter {
    fn inc(&self, _: u64) {}
    fn inc_length(&self, _: u64) {}
    fn message(&self, _: &str) {}
    fn finish(&self) {}
}

/// Events logged through `tracing`: a worker's JSON lines, a server's log.
#[derive(Debug, Clone, Copy, Default)]
pub struct Logged;

impl Events for Logged {
    fn emit(&self, level: Level, text: &str) {
        match level {
            Level::Note | Level::Tell => tracing::info!("{text}"),
            Level::Warning => tracing::warn!("{text}"),
            Level::Error => tracing::error!("{text}"),
        }
    }
}

/// Events kept in memory, for tests and for front ends that show them after the fact.
#[derive(Debug, Default)]
pub struct Recorded(std::sync::Mutex<Vec<(Level, String)>>);

impl Recorded {
    pub fn take(&self) -> Vec<(Level, String)> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

impl Events for Recorded {
    fn emit(&self, level: Level, text: &str) {
        if let Ok(mut v) = self.0.lock() {
            v.push((level, text.to_owned()));
        }
    }
}

/// `note!(events, "…", args)`: a note from a format string.
#[macro_export]
macro_rules! note {
    ($ev:expr, $($t:tt)*) => {
        $crate::Events::note($ev, &format!($($t)*))
    };
}
