//! `liner`: the operator's command line. It wires the crates together and holds no business
//! rules of its own: intake parses, the file store keeps bytes, the store keeps the catalog.
//!
//! Output contract: stdout carries data (tables, or JSON with `--json`); stderr carries logs,
//! progress and errors. Exit codes: 0 ok, 1 error (including rejected input), 2 usage.

/// Whether `--quiet` asked for errors only on stderr.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Progress and notes for the operator on stderr; nothing with `--quiet`. Errors and warnings
/// use `eprintln!` and are always shown.
macro_rules! note {
    ($($t:tt)*) => {
        if !crate::quiet() {
            eprintln!($($t)*);
        }
    };
}

mod deliver;
mod demo;
mod doctor;
mod ern_cmd;
mod events;
mod files_cmd;
mod import;
mod qc;
mod royalty_cmd;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use app::home;
use app::{Config, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "liner",
    version,
    about = "Liner: a music distributor's pipeline from release intake to royalties"
)]
struct Cli {
    /// Config file (default: ./liner.toml if present). Env: LINER_CONFIG.
    #[arg(long, short = 'c', global = true)]
    config: Option<PathBuf>,
    /// Catalog database URL: sqlite://PATH or postgres://USER@HOST/DB. Env: LINER_DATABASE, DATABASE_URL.
    #[arg(long, global = true)]
    database: Option<String>,
    /// Content-addressed file store folder. Env: LINER_FILES.
    #[arg(long, global = true)]
    files: Option<PathBuf>,
    /// DSP profiles folder. Env: LINER_PROFILES.
    #[arg(long, global = true)]
    profiles: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Errors and warnings only on stderr: no progress, no notes (data on stdout as always).
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make this folder a Liner home: a commented liner.toml, the catalog and file store in
    /// .liner/, the shipped DSP profiles in dsps/ and CSV report layouts in report-formats/.
    /// Inside a home (or with LINER_HOME) it changes nothing and says so; with --database or
    /// --config it creates that catalog and file store only.
    Init {
        /// Make a non-empty folder a home without asking.
        #[arg(long)]
        yes: bool,
        /// Print what was made (home, config, catalog, file store) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the configuration, database and migrations, DSP profiles (host keys, credentials),
    /// schemas, file store, disk space, contracts and mail; say what to fix. Exit 1 on a failure.
    Doctor {
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Import releases: folders with release.toml/json, .toml/.json documents, .csv sheets,
    /// and DDEX ERN messages (.xml) with their resource files beside them.
    Import {
        /// Release folders, .toml/.json documents, .csv sheets or DDEX ERN messages (.xml).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The UPC to key an ERN message on when it identifies its release without one
        /// (GRid or proprietary id only).
        #[arg(long, value_name = "UPC")]
        upc: Option<String>,
        /// Accept an ERN message's resource files that carry no HashSum Liner can check
        /// (MD5 or SHA-256): only for a package you trust, as nothing ties their bytes to it.
        #[arg(long)]
        trust_unhashed: bool,
        /// Print one JSON object per input release on stdout.
        #[arg(long)]
        json: bool,
    },
    /// List the releases in the catalog.
    Releases {
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one release; with --json, the document (re-importable as is).
    Show {
        /// The release's UPC (EAN-13 or UPC-A).
        upc: String,
        /// A past revision instead of the current one.
        #[arg(long)]
        revision: Option<i64>,
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check the file store against the catalog: every recorded file present, intact, same size and MD5.
    Verify {
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The file store: `liner files gc` removes what nothing refers to (asks first).
    Files {
        #[command(subcommand)]
        action: FilesCommand,
    },
    /// List and check the DSP profiles.
    Profiles {
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Render the fixture documents and synthesize their audio and artwork.
    Fixtures {
        /// The fixtures folder.
        #[arg(long, default_value = "fixtures")]
        dir: PathBuf,
        /// Synthesize media again even where files exist.
        #[arg(long)]
        force: bool,
    },
    /// Quality control: metadata style rules, audio and artwork analysis, intake screening.
    /// Exits 0 when nothing blocks delivery, 3 when something does.
    Qc {
        /// A UPC in the catalog, or a release folder / document.
        target: String,
        /// Print the report as JSON (schemas/qc-report.schema.json).
        #[arg(long)]
        json: bool,
        /// Write the staff report as one self-contained HTML page.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Check against this DSP profile's requirements and severities.
        #[arg(long, value_name = "NAME")]
        dsp: Option<String>,
        /// Apply the machine-applicable metadata fixes and record a new revision.
        #[arg(long)]
        fix: bool,
    },
    /// List the QC rules: id, area, severity (as a DSP profile sets it, with --dsp), summary.
    Rules {
        /// The DSP profile's name (e.g. spotify).
        #[arg(long, value_name = "NAME")]
        dsp: Option<String>,
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Staff review: list releases with their QC state, approve or reject with a reason code.
    Review {
        #[command(subcommand)]
        action: ReviewCommand,
    },
    /// Print a JSON Schema: the release document's, or the QC report's.
    Schema {
        /// Which schema: the release document (default) or the QC report.
        #[arg(long, value_enum, default_value = "release")]
        of: SchemaKind,
    },
    /// DDEX ERN messages: build one for a release and DSP, or validate a file.
    Ern {
        #[command(subcommand)]
        action: ErnCommand,
    },
    /// Deliver releases (new, or updates of what was sent) to DSPs, resuming any delivery
    /// left unfinished; --wait waits for the acknowledgements.
    Deliver(deliver::DeliverArgs),
    /// Take a release down at DSPs (end-dated deals; --purge where the profile allows).
    Takedown(deliver::TakedownArgs),
    /// Deliveries per release and DSP: status, attempts, bytes, latest acknowledgement, errors.
    Deliveries(deliver::DeliveriesArgs),
    /// Sales reports: import (DSR flat files, CSV exports), list, unmatched usage, rematch.
    Reports {
        #[command(subcommand)]
        action: royalty_cmd::ReportsCommand,
    },
    /// The royalty ledger: balances, and a check of every invariant.
    Ledger {
        #[command(subcommand)]
        action: royalty_cmd::LedgerCommand,
    },
    /// Royalty statements for a reporting period (CSV and HTML per payee); closes the period.
    Statements(royalty_cmd::StatementsArgs),
    /// Reporting periods: close one for good (asks first), list them open or closed.
    Period {
        #[command(subcommand)]
        action: royalty_cmd::PeriodCommand,
    },
    /// Payouts: pay balances above threshold, write the payment file, e-mail statements.
    Payouts {
        #[command(subcommand)]
        action: royalty_cmd::PayoutsCommand,
    },
    /// Run scheduled and queued jobs: a scheduler and N runners; SIGTERM finishes the jobs in
    /// hand and exits. JSON logs on stderr.
    Worker(worker::WorkerArgs),
    /// The batch job queue: queued, running, failed and dead jobs (done ones with --all).
    Jobs {
        #[command(subcommand)]
        action: Option<JobsCommand>,
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
        /// Also list what is finished.
        #[arg(long)]
        all: bool,
    },
    /// Exchange rates used to pay payees in their currency.
    Fx {
        #[command(subcommand)]
        action: royalty_cmd::FxCommand,
    },
    /// The mock DSPs: `serve` runs them on the profiles' loopback addresses.
    Dsp {
        #[command(subcommand)]
        action: deliver::DspCommand,
    },
    /// Measure a hot path against a reference measured in the same run.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
    /// The main job on the fixtures with embedded defaults: fixtures, init, import, list, show.
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(
        after_long_help = "Examples:\n  liner completions bash > ~/.local/share/bash-completion/completions/liner\n  liner completions zsh > ~/.zfunc/_liner"
    )]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Write the manual pages (liner.1 and one per command) into a folder, or liner.1 on stdout.
    #[command(
        after_long_help = "Examples:\n  liner man --out /usr/local/share/man/man1\n  liner man | man -l -"
    )]
    Man {
        /// The folder for liner.1, liner-import.1, … (default: liner.1 on stdout).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// The main job on the embedded defaults: fixtures, import, QC, ERN, delivery to mock DSPs,
    /// sales reports fetched back, statements and payouts, in ./liner-demo.
    Demo {
        /// Where the demo's catalog, file store and artifacts go.
        #[arg(long, default_value = "liner-demo")]
        out: PathBuf,
        /// The fixtures folder.
        #[arg(long, default_value = "fixtures")]
        fixtures: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Queue a failed or dead job again, with fresh attempts.
    Retry {
        /// The job's id (from `liner jobs`).
        id: i64,
    },
    /// Queue a job by hand (same kind, scope and slot as a queued one: nothing added).
    Add(worker::AddJobArgs),
}

#[derive(Debug, Subcommand)]
enum ErnCommand {
    /// Build the ERN message a release needs at a DSP (first delivery, update, takedown or
    /// purge, from the messages sent before), validate it, record it, print or write it.
    Build(ern_cmd::BuildArgs),
    /// Validate an ERN file: the official XSD of its version, then Release Profile rules.
    Validate {
        /// The file to read.
        file: PathBuf,
        /// The DDEX XSD folder (else LINER_DDEX_SCHEMAS, else ../shared/ddex/xsd beside a checkout).
        #[arg(long, value_name = "DIR")]
        schemas: Option<PathBuf>,
        /// Run Liner's own Release Profile checks only; without it, no schemas is an error.
        #[arg(long)]
        no_xsd: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SchemaKind {
    Release,
    QcReport,
}

#[derive(Debug, Subcommand)]
enum ReviewCommand {
    /// Releases with their latest QC run, status and whether they may be delivered.
    List {
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The decision audit log (one release's with a UPC).
    Log {
        /// The release's UPC (EAN-13 or UPC-A).
        upc: Option<String>,
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Approve the latest revision for every DSP, or one with --dsp (codes: CLEAN, OVERRIDE,
    /// EDITED; see docs/qc.md).
    Approve {
        /// The release's UPC (EAN-13 or UPC-A).
        upc: String,
        /// CLEAN (the default when QC passed), OVERRIDE or EDITED.
        #[arg(long)]
        code: Option<String>,
        /// Why; required for OVERRIDE and EDITED.
        #[arg(long)]
        reason: Option<String>,
        /// Only for this DSP (default: every DSP).
        #[arg(long, value_name = "NAME")]
        dsp: Option<String>,
        /// Print the logged decision as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reject the latest revision for every DSP, or one with --dsp (codes: METADATA, AUDIO,
    /// ARTWORK, RIGHTS, DUPLICATE, AI-POLICY, FRAUD, LEGAL, OTHER); a reason is required.
    Reject {
        /// The release's UPC (EAN-13 or UPC-A).
        upc: String,
        /// The reason code.
        #[arg(long)]
        code: String,
        /// Why, for the label and the audit log.
        #[arg(long)]
        reason: String,
        /// Only for this DSP (default: every DSP).
        #[arg(long, value_name = "NAME")]
        dsp: Option<String>,
        /// Print the logged decision as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BenchTarget {
    /// DSR parse rate (lines per CPU-second, against Python's csv.reader on the same file)
    /// and the whole import into the ledger (SQLite; PostgreSQL with --postgres), with peak RSS.
    Royalties {
        /// How many usage lines.
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
        /// A larger unmatched import for the memory figure (0: skip).
        #[arg(long, default_value_t = 10_000_000)]
        big: u64,
        /// A PostgreSQL URL to a fresh, empty database for the PostgreSQL figure.
        #[arg(long)]
        postgres: Option<String>,
        /// The fixtures folder to build the catalog from.
        #[arg(long, default_value = "fixtures")]
        fixtures: PathBuf,
    },
    /// Peak memory (RSS) of the commands a hostile input reaches, against the 256 MiB
    /// budget: 1 M unmatched usage lines through import, ledger check, reports unmatched and
    /// rematch; QC of a 400-track release of duplicates; a gzip holding one 1.5 GB line; a
    /// 98 901-track release.
    Limits {
        /// Unmatched usage lines (each a different unknown recording).
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
        /// Bytes of the one line in the gzip.
        #[arg(long, default_value_t = 1_500_000_000)]
        line_bytes: u64,
        /// The fixtures folder (rendered by `liner fixtures`) for the QC release's media.
        #[arg(long, default_value = "fixtures")]
        fixtures: PathBuf,
    },
    /// In-process sample-rate conversion against SoX `rate -v` (when installed): passband
    /// ripple, aliasing and speed for 96→44.1 kHz and 44.1→48 kHz.
    Audio {
        /// Length of the stereo master timed, in seconds.
        #[arg(long, default_value_t = 240)]
        seconds: u32,
        /// Timed runs (the best counts).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Full audio analysis vs ffmpeg `ebur128=peak=true` (speed ratio), and loudness /
    /// true-peak accuracy vs ffmpeg on EBU Tech 3341-style signals. Needs ffmpeg.
    Qc {
        /// Timed runs; the best counts.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Length of the test master.
        #[arg(long, default_value_t = 240.0)]
        seconds: f64,
    },
    /// ERN build (12-track album) and read (official samples) on one core, against
    /// ddex-builder (with --python) and libxml2's XSD validation in the same run.
    Ern {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// A Python with ddex-builder installed, for the reference (bench/ddex_builder_ref.py).
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// The DDEX sample folder (default: beside the schemas).
        #[arg(long, value_name = "DIR")]
        samples: Option<PathBuf>,
    },
    /// SFTP upload to a throwaway OpenSSH sshd on loopback, against the OpenSSH sftp
    /// client in the same run. Needs openssh-server and openssh-client.
    Sftp {
        /// File size in MiB.
        #[arg(long, default_value_t = 200)]
        mb: usize,
        /// Timed runs; the best counts.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Release intake of a generated sheet and a large JSON document.
    Intake {
        /// Releases in the generated sheet.
        #[arg(long, default_value_t = 2000)]
        releases: usize,
        /// Tracks per generated document.
        #[arg(long, default_value_t = 10)]
        tracks: usize,
        /// Best of this many runs.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

/// The commands by flow, as `liner --help` lists them.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "Catalog",
        &[
            "init", "import", "releases", "show", "verify", "files", "schema", "fixtures",
        ],
    ),
    ("QC", &["qc", "rules", "review"]),
    ("ERN", &["ern", "profiles"]),
    ("Delivery", &["deliver", "takedown", "deliveries", "dsp"]),
    (
        "Royalties",
        &["reports", "fx", "ledger", "statements", "period", "payouts"],
    ),
    ("Operations", &["worker", "jobs", "doctor"]),
    ("Tools", &["completions", "man", "bench", "demo"]),
];

#[derive(Debug, Subcommand)]
enum FilesCommand {
    /// Remove stored files nothing refers to (a refused report's, a failed import's, temp
    /// files of a killed write). Shows what would go and asks first; anything written within
    /// --min-age-hours is kept, so it is safe while workers run.
    #[command(
        after_long_help = "Examples:\n  liner files gc              # show, then ask\n  liner files gc --dry-run    # only show\n  liner files gc --yes        # in a script"
    )]
    Gc(files_cmd::GcArgs),
}

/// The top-level command with its subcommands listed by flow instead of in one list.
fn cli_command() -> clap::Command {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut text = String::new();
    for (group, names) in GROUPS {
        text.push_str(&format!("{group}:\n"));
        for n in *names {
            let about = cmd
                .find_subcommand(n)
                .and_then(|c| c.get_about())
                .map(|a| a.to_string())
                .unwrap_or_default();
            let first = about.lines().next().unwrap_or_default();
            text.push_str(&format!("  {n:<12} {first}\n"));
        }
        text.push('\n');
    }
    cmd.help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{text}Options:\n{{options}}{{after-help}}"
    ))
    .after_help("`liner <command> --help` for a command's flags and examples. Exit codes: 0 ok, 1 error, 2 usage, 3 QC blocked.")
}

/// A panic is a bug in Liner: say so in one plain line instead of Rust's panic text. One
/// inside a guarded audio decode is caught and becomes a QC finding: nothing is printed.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if audio::decoding() {
            return;
        }
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        let at = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "liner: internal error: {what}{at}. This is a bug in Liner; please report it with the command you ran (run with RUST_BACKTRACE=1 for details)."
        );
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
}

fn main() -> ExitCode {
    let cli = {
        use clap::FromArgMatches;
        match Cli::from_arg_matches(&cli_command().get_matches()) {
            Ok(c) => c,
            Err(e) => e.exit(),
        }
    };
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    install_panic_hook();
    init_tracing(cli.verbose, matches!(cli.command, Command::Worker(_)));
    let overrides = Overrides {
        config: cli.config.clone(),
        database: cli.database.clone(),
        files: cli.files.clone(),
        profiles: cli.profiles.clone(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(run(cli.command, overrides)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    };
    // `liner bench limits` measures each command's peak memory from outside.
    if let Some(p) = std::env::var_os("LINER_PEAK_RSS_FILE") {
        let _ = std::fs::write(p, format!("{:.1}", app::peak_rss_mib()));
    }
    code
}

/// An error chain as one sentence for people: each cause once (a context that already quotes
/// its cause is not followed by it again), without Rust's "(os error N)" suffixes.
fn error_text(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let mut t = cause.to_string();
        while let Some(i) = t.find(" (os error ") {
            let end = t[i..].find(')').map_or(t.len(), |j| i + j + 1);
            t.replace_range(i..end, "");
        }
        if parts.iter().any(|p| p.contains(t.as_str())) {
            continue;
        }
        parts.push(t);
    }
    parts.join(": ")
}

fn init_tracing(verbose: u8, worker: bool) {
    let level = match verbose {
        // A worker runs unattended: its job log is the point.
        0 if worker => "info",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if worker {
        // One JSON object per line, with the job, release and DSP ids operators search for.
        fmt.json().init();
    } else {
        fmt.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}

async fn run(command: Command, overrides: Overrides) -> Result<ExitCode> {
    match command {
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "liner", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out } => {
            let cmd = <Cli as clap::CommandFactory>::command();
            match out {
                None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?,
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    clap_mangen::generate_to(cmd, &dir)
                        .with_context(|| format!("writing manual pages into {}", dir.display()))?;
                    println!("manual pages written to {}", dir.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor { json } => doctor::doctor(&overrides, json).await,
        Command::Init { yes, json } => {
            let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            // A catalog named explicitly is created where it is named; otherwise the current
            // folder becomes a home (unless it is in one already).
            let explicit = overrides.config.is_some()
                || overrides.database.is_some()
                || ["LINER_CONFIG", "LINER_DATABASE", "DATABASE_URL"]
                    .iter()
                    .any(|k| var(k).is_some());
            let mut existing = None;
            if !explicit {
                let cwd = std::env::current_dir()?;
                match home::find(var("LINER_HOME").as_deref(), &cwd)? {
                    Some(h) => existing = Some(h),
                    None => match home::create(&cwd, yes, |q| {
                        crate::confirm(q).map_err(|e| format!("{e:#}"))
                    })? {
                        home::Made::Declined => {
                            eprintln!("nothing changed");
                            return Ok(ExitCode::FAILURE);
                        }
                        home::Made::Created | home::Made::Existing => {}
                    },
                }
            }
            let cfg = Config::load(&overrides)?;
            let made = app::catalog::init(&cfg).await?;
            let (had_catalog, releases) = (made.had_catalog, made.releases);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "home": cfg.home,
                        "created": existing.is_none() || !had_catalog,
                        "config": cfg.source,
                        "catalog": app::redact(&cfg.database),
                        "files": cfg.files,
                        "releases": releases,
                    }))?
                );
                return Ok(ExitCode::SUCCESS);
            }
            match (&existing, had_catalog) {
                (Some(h), true) => eprintln!(
                    "{} is already a Liner home ({releases} releases); nothing changed",
                    h.display()
                ),
                _ => {
                    if let (None, Some(h)) = (&existing, &cfg.home)
                        && !explicit
                    {
                        note!(
                            "Liner home made in {}: liner.toml (commented), dsps/ (the shipped DSP profiles), report-formats/",
                            h.display()
                        );
                    }
                    note!(
                        "config: {}\ncatalog ready at {} ({releases} releases); file store at {}",
                        cfg.source,
                        app::redact(&cfg.database),
                        cfg.files_remote
                            .clone()
                            .unwrap_or_else(|| cfg.files.display().to_string())
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            paths,
            json,
            upc,
            trust_unhashed,
        } => {
            let cfg = Config::load(&overrides)?;
            let upc = upc
                .map(|u| model::Icpn::parse(&u))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--upc: {e}"))?;
            import::run_with(&cfg, &paths, json, upc.as_ref(), trust_unhashed).await
        }
        Command::Releases { json } => {
            let app = app::App::open(Config::load(&overrides)?).await?;
            let list = app::catalog::releases(&app).await?;
            app.close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print_releases(&list);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show {
            upc,
            revision,
            json,
        } => {
            let upc = app::lookup_upc(&upc)?;
            let app = app::App::open(Config::load(&overrides)?).await?;
            let shown = app::catalog::show(&app, &upc, revision).await;
            app.close().await;
            let (summary, rev, doc) = shown?;
            if json {
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                print_release(&summary, &rev, &doc);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Files {
            action: FilesCommand::Gc(args),
        } => {
            let cfg = Config::load(&overrides)?;
            files_cmd::gc(&cfg, args).await
        }
        Command::Verify { json } => {
            let app = app::App::open(Config::load(&overrides)?).await?;
            let v = app::catalog::verify(&app).await;
            app.close().await;
            let v = v?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for p in &v.problems {
                    println!("✗ {} ({}): {}", p.sha256, p.name, p.problem);
                }
            }
            note!(
                "{} file(s) checked, {} problem(s)",
                v.files,
                v.problems.len()
            );
            Ok(if v.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Profiles { json } => {
            let profiles = app::catalog::checked_profiles(&Config::load(&overrides)?)?;
            if json {
                let list: Vec<_> = profiles
                    .iter()
                    .map(|p| serde_json::json!({
                        "name": p.name, "display_name": p.display_name, "party_id": p.party_id.to_string(),
                        "ern_version": p.ern_version.to_string(),
                        "commercial_models": p.commercial_models.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                        "lead_time_days": { "warn": p.lead_time.warn_days, "refuse": p.lead_time.refuse_days },
                        "qc_severity": p.qc.severity,
                        "delivery": p.delivery.as_ref().map(delivery_summary),
                    }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<16} {:<16} {:<7} {:<20} {:<52} models",
                    "profile", "dsp", "ern", "party id", "delivery"
                );
                for p in &profiles {
                    let models = p
                        .commercial_models
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    println!(
                        "{:<16} {:<16} {:<7} {:<20} {:<52} {models}",
                        p.name,
                        p.display_name,
                        p.ern_version.to_string(),
                        p.party_id.to_string(),
                        p.delivery
                            .as_ref()
                            .map_or_else(|| "-".to_owned(), delivery_summary)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fixtures { dir, force } => {
            let mode = if force {
                fixtures::Regenerate::All
            } else {
                fixtures::Regenerate::Missing
            };
            let report = fixtures::generate(&dir, chrono::Local::now().date_naive(), mode)?;
            note!(
                "fixtures: {} documents rendered, {} media files synthesized, {} kept",
                report.documents.len(),
                report.synthesized.len(),
                report.kept
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { of } => {
            println!(
                "{}",
                match of {
                    SchemaKind::Release => release_schema(),
                    SchemaKind::QcReport => qc_report_schema(),
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            target: BenchTarget::Qc { runs, seconds },
        } => {
            bench::qc::qc(runs, seconds)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            target:
                BenchTarget::Ern {
                    seconds,
                    python,
                    samples,
                },
        } => {
            bench::ern::ern(python.as_deref(), seconds, samples)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            target:
                BenchTarget::Royalties {
                    lines,
                    big,
                    postgres,
                    fixtures,
                },
        } => {
            bench::royalties::bench(lines, big, postgres, &fixtures).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            target:
                BenchTarget::Limits {
                    lines,
                    line_bytes,
                    fixtures,
                },
        } => {
            bench::limits::bench(lines, line_bytes, &fixtures)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            target: BenchTarget::Audio { seconds, runs },
        } => {
            bench::audio::bench(seconds, runs)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            target: BenchTarget::Sftp { mb, runs },
        } => {
            bench::sftp::sftp(mb, runs)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            target:
                BenchTarget::Intake {
                    releases,
                    tracks,
                    runs,
                },
        } => {
            bench::intake::intake(releases, tracks, runs.max(1))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Qc {
            target,
            json,
            html,
            dsp,
            fix,
        } => {
            let cfg = Config::load(&overrides)?;
            qc::run(
                &cfg,
                qc::QcArgs {
                    target,
                    json,
                    html,
                    dsp,
                    fix,
                    brief: false,
                },
            )
            .await
        }
        Command::Rules { dsp, json } => {
            let cfg = Config::load(&overrides)?;
            qc::rules(&cfg, dsp.as_deref(), json)
        }
        Command::Review { action } => {
            let cfg = Config::load(&overrides)?;
            let action = match action {
                ReviewCommand::List { json } => qc::ReviewAction::List { json },
                ReviewCommand::Log { upc, json } => qc::ReviewAction::Log { upc, json },
                ReviewCommand::Approve {
                    upc,
                    code,
                    reason,
                    dsp,
                    json,
                } => qc::ReviewAction::Decide {
                    upc,
                    approve: true,
                    code,
                    reason,
                    dsp,
                    json,
                },
                ReviewCommand::Reject {
                    upc,
                    code,
                    reason,
                    dsp,
                    json,
                } => qc::ReviewAction::Decide {
                    upc,
                    approve: false,
                    code: Some(code),
                    reason: Some(reason),
                    dsp,
                    json,
                },
            };
            qc::review(&cfg, action).await
        }
        Command::Deliver(a) => deliver::deliver(&Config::load(&overrides)?, a).await,
        Command::Takedown(a) => deliver::takedown(&Config::load(&overrides)?, a).await,
        Command::Deliveries(a) => deliver::deliveries(&Config::load(&overrides)?, a).await,
        Command::Reports { action } => {
            royalty_cmd::reports(&Config::load(&overrides)?, action).await
        }
        Command::Ledger { action } => royalty_cmd::ledger(&Config::load(&overrides)?, action).await,
        Command::Statements(a) => royalty_cmd::statements(&Config::load(&overrides)?, a).await,
        Command::Period { action } => royalty_cmd::period(&Config::load(&overrides)?, action).await,
        Command::Payouts { action } => {
            royalty_cmd::payouts(&Config::load(&overrides)?, action).await
        }
        Command::Fx { action } => royalty_cmd::fx(&Config::load(&overrides)?, action).await,
        Command::Worker(a) => worker::worker(&Config::load(&overrides)?, a).await,
        Command::Jobs { action, json, all } => {
            let cfg = Config::load(&overrides)?;
            if let Some(JobsCommand::Add(a)) = action {
                return worker::add(&cfg, a).await;
            }
            let app = app::App::open(cfg).await?;
            let out = jobs(&app, action, json, all).await;
            app.close().await;
            out
        }
        Command::Dsp { action } => deliver::dsp(&Config::load(&overrides)?, action).await,
        Command::Ern { action } => match action {
            ErnCommand::Validate {
                file,
                schemas,
                no_xsd,
                json,
            } => ern_cmd::validate(&file, schemas.as_deref(), no_xsd, json),
            ErnCommand::Build(args) => {
                let cfg = Config::load(&overrides)?;
                ern_cmd::build(&cfg, args).await
            }
        },
        Command::Demo { out, fixtures } => demo::run(&out, &fixtures).await,
    }
}

/// The JSON Schema of the release document, as committed in `schemas/release.schema.json`.
/// `liner jobs [retry ID]`: the queue, or a job queued again.
async fn jobs(
    app: &app::App,
    action: Option<JobsCommand>,
    json: bool,
    all: bool,
) -> Result<ExitCode> {
    if let Some(JobsCommand::Retry { id }) = action {
        app::jobs::retry(app, id).await?;
        if json {
            println!("{}", serde_json::json!({"job": id, "status": "queued"}));
        } else {
            println!("job {id} queued again");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let list = app::jobs::list(app, all).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else if list.is_empty() {
        println!("no jobs");
    } else {
        for j in &list {
            println!(
                "{:>6} {:<8} {:<10} {:<36} slot {:<17} attempts {}/{} {}{}",
                j.id,
                j.status,
                j.kind,
                j.scope,
                if j.slot.is_empty() { "-" } else { &j.slot },
                j.attempts,
                j.max_attempts,
                j.locked_by
                    .as_deref()
                    .map(|w| format!("held by {w} "))
                    .unwrap_or_default(),
                j.last_error
                    .as_deref()
                    .map(|e| format!("last error: {e}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn release_schema() -> String {
    let schema = schemars::schema_for!(model::Release);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

/// The JSON Schema of `liner qc --json` (schemas/qc-report.schema.json).
pub(crate) fn qc_report_schema() -> String {
    let mut schema = schemars::schema_for!(::qc::QcReport);
    schema.insert(
        "$id".into(),
        format!("https://liner.invalid/schemas/{}.json", ::qc::REPORT_SCHEMA).into(),
    );
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

pub(crate) fn print_releases(list: &[app::views::ReleaseSummary]) {
    if list.is_empty() {
        note!("the catalog has no releases yet: `liner import <folder>`");
        return;
    }
    println!(
        "{:<14} {:<7} {:<11} {:>6} {:<10} {:>3}  title / artist",
        "upc", "type", "date", "tracks", "status", "rev"
    );
    for r in list {
        println!(
            "{:<14} {:<7} {:<11} {:>6} {:<10} {:>3}  {} — {}",
            r.upc,
            r.release_type,
            r.release_date,
            r.tracks,
            r.status,
            r.revision,
            r.title,
            r.artist
        );
    }
}

pub(crate) fn print_release(
    summary: &app::views::ReleaseSummary,
    rev: &app::views::StoredRevision,
    doc: &serde_json::Value,
) {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    println!("{} — {}", summary.title, summary.artist);
    println!(
        "  UPC {}   {}   {}   label {}",
        summary.upc, summary.release_type, summary.release_date, summary.label
    );
    println!(
        "  status {}   revision {} (imported {} from {})",
        summary.status, rev.revision, rev.imported_at, rev.source
    );
    println!(
        "  language {}   parental advisory {}   genre {}",
        s(&doc["language"]),
        s(&doc["parental_advisory"]),
        s(&doc["genre"])
    );
    println!("  artwork {}", s(&doc["artwork"]["file"]));
    if let Some(tracks) = doc["tracks"].as_array() {
        for t in tracks {
            let version = t["version"]
                .as_str()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default();
            let artists = t["artists"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| format!("{} [{}]", s(&x["name"]), s(&x["role"])))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            println!(
                "  {}-{:>2}  {}  {:>6}  {}{}  — {}",
                t["disc"],
                t["number"],
                s(&t["isrc"]),
                s(&t["duration"]),
                s(&t["title"]),
                version,
                artists
            );
        }
    }
}

/// `sftp batch liner@127.0.0.1:2221/inbox` / `http release-by-release https://…`.
pub(crate) fn delivery_summary(d: &profiles::Delivery) -> String {
    let how = match d.choreography {
        profiles::Choreography::Batch => "batch",
        profiles::Choreography::ReleaseByRelease => "release-by-release",
    };
    match &d.transport {
        profiles::Transport::Sftp(s) => {
            format!("sftp {how} {}@{}:{}{}", s.user, s.host, s.port, s.root)
        }
        profiles::Transport::Http(h) => format!("http {how} {}", h.base_url),
    }
}

/// Asks a yes/no question on the terminal; without one, the answer is no and the error says
/// how to say yes in a script.
pub(crate) fn confirm(question: &str) -> Result<bool> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        anyhow::bail!("{question}\nno terminal to ask on: pass --yes to proceed");
    }
    eprint!("{question} [y/N] ");
    std::io::Write::flush(&mut std::io::stderr())?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

#[cfg(test)]
mod cli_tests {
    use super::*;

    /// Hardening defect 16: error chains repeated their cause ("opening x: No such file or
    /// directory (os error 2): No such file or directory (os error 2)") and showed Rust's
    /// "(os error N)".
    #[test]
    fn defect_16_an_error_chain_says_each_cause_once_in_plain_words() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = anyhow::Error::new(io)
            .context(format!(
                "opening /x.csv: {}",
                std::io::Error::from_raw_os_error(2)
            ))
            .context("reading the rates");
        let text = error_text(&e);
        assert_eq!(
            text,
            "reading the rates: opening /x.csv: No such file or directory: entity not found"
        );
        let doubled = anyhow::Error::new(std::io::Error::from_raw_os_error(13)).context(format!(
            "writing /y: {}",
            std::io::Error::from_raw_os_error(13)
        ));
        assert_eq!(error_text(&doubled), "writing /y: Permission denied");
    }

    /// Every command is listed under a flow, and every flag and argument of every command
    /// says what it is for.
    #[test]
    fn help_groups_every_command_and_describes_every_flag() {
        let cmd = cli_command();
        let listed: Vec<&str> = GROUPS.iter().flat_map(|(_, n)| n.iter().copied()).collect();
        for sub in cmd.get_subcommands() {
            assert!(
                listed.contains(&sub.get_name()),
                "{} is in no help group",
                sub.get_name()
            );
        }
        fn walk(c: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in c.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" || a.is_hide_set() {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for s in c.get_subcommands() {
                if s.get_name() == "help" {
                    continue;
                }
                if s.get_about().is_none() {
                    missing.push(format!("{path} {} (no about)", s.get_name()));
                }
                walk(s, &format!("{path} {}", s.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&cmd, "liner", &mut missing);
        assert!(missing.is_empty(), "undescribed: {missing:#?}");
    }
}
