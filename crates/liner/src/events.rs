//! The CLI's rendering of `app::Events`: notes, warnings and errors on stderr (notes hidden
//! by `--quiet`), meters as progress bars at a terminal.

use std::io::IsTerminal;
use std::sync::Arc;

use app::{Level, Meter, MeterKind};

/// Events for an operator at a terminal (or a script reading stderr).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cli;

impl app::Events for Cli {
    fn emit(&self, level: Level, text: &str) {
        match level {
            Level::Note => {
                if !crate::quiet() {
                    eprintln!("{text}");
                }
            }
            Level::Tell => eprintln!("{text}"),
            Level::Warning => eprintln!("warning: {text}"),
            Level::Error => eprintln!("error: {text}"),
        }
    }

    fn meter(&self, kind: MeterKind, len: u64) -> Arc<dyn Meter> {
        let bar =
            if crate::quiet() || (kind != MeterKind::Items && !std::io::stderr().is_terminal()) {
                indicatif::ProgressBar::hidden()
            } else {
                match kind {
                    MeterKind::Wait => indicatif::ProgressBar::new_spinner(),
                    _ => indicatif::ProgressBar::new(len),
                }
            };
        let template = match kind {
            MeterKind::Bytes => "uploading {bytes}/{total_bytes} at {bytes_per_sec}, {elapsed}",
            MeterKind::Items => "{msg} [{bar:30}] {pos}/{len}",
            MeterKind::Wait => "{spinner} {msg}",
            MeterKind::Reading => {
                "{spinner} {prefix} {bar:30} {bytes}/{total_bytes} ETA {eta} {msg}"
            }
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        if kind == MeterKind::Wait {
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        Arc::new(Bar(bar))
    }
}

struct Bar(indicatif::ProgressBar);

impl Meter for Bar {
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn inc_length(&self, n: u64) {
        self.0.inc_length(n);
    }
    fn message(&self, text: &str) {
        self.0.set_message(text.to_owned());
    }
    fn prefix(&self, text: &str) {
        self.0.set_prefix(text.to_owned());
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
