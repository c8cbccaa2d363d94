//! Quality control: the rules a release must pass before it goes to a DSP.
//!
//! Pure: a [`QcInput`] (the release, the measures of its audio and artwork, what the catalog
//! already holds, the DSP profile and the label's AI policy, today's date) goes in, a
//! [`QcReport`] comes out. Reading files, querying the store and writing reports is the
//! caller's job (`liner qc`).
//!
//! Every rule is one entry of [`RULES`]: a stable id, a default severity, a one-line summary
//! and a check function that reports findings. Adding a rule is adding an entry. A DSP profile
//! can raise or lower any rule's severity (`[qc.severity]` in its TOML).

mod audio_rules;
mod fix;
mod meta;
mod screen;
mod text;

use chrono::NaiveDate;
use model::{Release, Track};
use profiles::DspProfile;
use serde::{Deserialize, Serialize};

pub mod review;
pub use artwork::ArtworkReport;
pub use audio::{AudioReport, Plot as AudioPlot, Spectrum as AudioSpectrum};
pub use audio_rules::BLUR_THRESHOLD;
pub use fix::{FixError, apply_fixes};
pub use profiles::Severity;

/// Version of the report's JSON shape (`schemas/qc-report.schema.json`).
pub const REPORT_SCHEMA: &str = "liner-qc-report/1";

/// What a rule looks at; the report groups by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    Metadata,
    Audio,
    Artwork,
    Screening,
}

/// One check. `check` reports through the [`Findings`] it is given, which stamps the rule's
/// id and (profile-adjusted) severity on each finding.
#[derive(Debug)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub area: Area,
    pub summary: &'static str,
    pub check: fn(&QcInput<'_>, &mut Findings),
}

/// A label's stance on AI-generated content (set per label in `liner.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AiPolicy {
    /// Disclosed AI content is fine.
    Allow,
    /// Any AI content goes to staff review (a warning).
    #[default]
    Review,
    /// Any AI content blocks delivery.
    Block,
}

/// A track of another release already in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogTrack {
    pub upc: String,
    pub isrc: String,
    pub title: String,
    /// Hash of the decoded PCM, when the file has been analysed.
    pub pcm_sha256: Option<String>,
}

/// Another release already in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRelease {
    pub upc: String,
    pub title: String,
    pub display_artist: String,
    pub parental_advisory: Option<String>,
    pub artwork_dhash: Option<String>,
    pub artists: Vec<String>,
    /// (artist name, DSP profile name, artist id) for every artist with DSP ids.
    pub artist_ids: Vec<(String, String, String)>,
}

/// What the catalog holds besides the release under test: the cross-release rules need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Tracks of other releases that share an ISRC or an audio hash with this one.
    pub tracks: Vec<CatalogTrack>,
    pub releases: Vec<CatalogRelease>,
    /// The title and display artist of this UPC's earlier revision, if any.
    pub previous: Option<(String, String)>,
}

/// Everything a QC run looks at.
#[derive(Debug)]
pub struct QcInput<'a> {
    pub release: &'a Release,
    /// Per track, in release order; `None` when the file was not analysed.
    pub audio: &'a [Option<AudioReport>],
    pub artwork: Option<&'a ArtworkReport>,
    pub catalog: &'a Catalog,
    pub profile: Option<&'a DspProfile>,
    pub ai_policy: AiPolicy,
    pub today: NaiveDate,
    /// Stylised names (artist-supplied, staff-reviewed) the casing rules leave alone, and
    /// act names that really contain `&`, `and` or `x`.
    pub allow: &'a [String],
}

impl QcInput<'_> {
    pub(crate) fn tracks(&self) -> impl Iterator<Item = (usize, &Track)> {
        self.release.tracks.iter().enumerate()
    }
    pub(crate) fn audio_of(&self, i: usize) -> Option<&AudioReport> {
        self.audio.get(i).and_then(Option::as_ref)
    }
    pub(crate) fn profile_is(&self, name: &str) -> bool {
        self.profile.is_some_and(|p| p.name == name)
    }
}

/// A machine-applicable metadata change: set the field at `field` (a path into the release
/// document, e.g. `tracks[1].title`) to `value`. Audio and artwork are never rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fix {
    pub field: String,
    pub value: serde_json::Value,
}

/// What a rule found.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub area: Area,
    /// Path into the release document (`title`, `tracks[2].artists[0].name`, `artwork`…).
    pub field: String,
    /// The offending value, as written.
    pub value: Option<String>,
    pub message: String,
    /// How to fix it, for a human.
    pub hint: String,
    /// The changes `liner qc --fix` applies, where the rule knows them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
    /// Index of the track the finding is about.
    pub track: Option<usize>,
    /// In a combined report: the DSPs whose profile gives the finding this severity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dsps: Vec<String>,
}

/// Rules whose findings (below error severity) hold delivery until staff decide: the "review"
/// AI policy.
pub const REVIEW_RULES: &[&str] = &["SCREEN-AI-POLICY"];

/// What a QC run decides for one DSP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    /// Deliverable; warnings for staff to see.
    Warnings,
    /// Not deliverable until staff approve (or reject).
    Review,
    Blocked,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Warnings => "warnings",
            Outcome::Review => "needs review",
            Outcome::Blocked => "BLOCKED",
        }
    }
}

/// A row of the verdict matrix: a DSP, its outcome and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Verdict {
    /// The DSP profile's name (empty: no profile, the rules' own severities).
    pub dsp: String,
    pub outcome: Outcome,
    /// The rule ids behind the outcome (errors when blocked, review rules when in review).
    pub reasons: Vec<String>,
}

impl QcReport {
    /// This run's verdict for its profile.
    pub fn verdict(&self) -> Verdict {
        let rules = |pred: &dyn Fn(&Finding) -> bool| {
            let mut v: Vec<String> = Vec::new();
            for f in self.findings.iter().filter(|f| pred(f)) {
                if !v.contains(&f.rule) {
                    v.push(f.rule.clone());
                }
            }
            v
        };
        let (outcome, reasons) = if self.blocked {
            (Outcome::Blocked, rules(&|f| f.severity == Severity::Error))
        } else if self.needs_review {
            (
                Outcome::Review,
                rules(&|f| REVIEW_RULES.contains(&f.rule.as_str())),
            )
        } else if self.counts.warning > 0 {
            (
                Outcome::Warnings,
                rules(&|f| f.severity == Severity::Warning),
            )
        } else {
            (Outcome::Passed, Vec::new())
        };
        Verdict {
            dsp: self.profile.clone().unwrap_or_default(),
            outcome,
            reasons,
        }
    }
}

/// One report of runs against several DSP profiles: the verdict matrix first, then every
/// finding once per severity it has, naming the DSPs it has it for. Blocked when any DSP is.
pub fn combine(reports: Vec<QcReport>) -> Option<QcReport> {
    let mut it = reports.into_iter();
    let mut out = it.next()?;
    let name = |r: &QcReport| r.profile.clone().unwrap_or_default();
    let first = name(&out);
    for f in &mut out.findings {
        f.dsps = vec![first.clone()];
    }
    let mut verdicts = vec![out.verdict()];
    for r in it {
        verdicts.push(r.verdict());
        out.blocked |= r.blocked;
        out.needs_review |= r.needs_review;
        let dsp = name(&r);
        for f in r.findings {
            match out.findings.iter_mut().find(|g| {
                g.rule == f.rule
                    && g.severity == f.severity
                    && g.field == f.field
                    && g.track == f.track
                    && g.message == f.message
            }) {
                Some(g) => g.dsps.push(dsp.clone()),
                None => out.findings.push(Finding {
                    dsps: vec![dsp.clone()],
                    ..f
                }),
            }
        }
    }
    out.findings
        .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.track.cmp(&b.track)));
    let count = |s| out.findings.iter().filter(|f| f.severity == s).count();
    out.counts = Counts {
        error: count(Severity::Error),
        warning: count(Severity::Warning),
        info: count(Severity::Info),
    };
    out.profile = None;
    out.verdicts = verdicts;
    Some(out)
}

/// The sink a rule reports into.
#[derive(Debug)]
pub struct Findings {
    rule: &'static Rule,
    severity: Severity,
    out: Vec<Finding>,
}

/// A finding under construction.
#[derive(Debug)]
pub(crate) struct Builder<'f> {
    findings: &'f mut Findings,
    finding: Finding,
}

impl Findings {
    /// Starts a finding about `field`.
    pub(crate) fn at(
        &mut self,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Builder<'_> {
        let finding = Finding {
            dsps: Vec::new(),
            rule: self.rule.id.to_owned(),
            severity: self.severity,
            area: self.rule.area,
            field: field.into(),
            value: None,
            message: message.into(),
            hint: String::new(),
            fixes: Vec::new(),
            track: None,
        };
        Builder {
            findings: self,
            finding,
        }
    }
}

impl Builder<'_> {
    pub(crate) fn value(mut self, v: impl Into<String>) -> Self {
        self.finding.value = Some(v.into());
        self
    }
    pub(crate) fn hint(mut self, h: impl Into<String>) -> Self {
        self.finding.hint = h.into();
        self
    }
    pub(crate) fn track(mut self, i: usize) -> Self {
        self.finding.track = Some(i);
        self
    }
    pub(crate) fn fix(mut self, field: impl Into<String>, value: impl Serialize) -> Self {
        if let Ok(value) = serde_json::to_value(value) {
            self.finding.fixes.push(Fix {
                field: field.into(),
                value,
            });
        }
        self
    }
    /// Downgrades this one finding (e.g. a short interlude on an album is a warning where a
    /// short single is an error). Never raises above the rule's configured severity.
    pub(crate) fn at_most(mut self, s: Severity) -> Self {
        self.finding.severity = self.finding.severity.min(s);
        self
    }
}

impl Drop for Builder<'_> {
    fn drop(&mut self) {
        let f = std::mem::replace(
            &mut self.finding,
            Finding {
                rule: String::new(),
                severity: Severity::Info,
                area: Area::Metadata,
                field: String::new(),
                value: None,
                message: String::new(),
                hint: String::new(),
                fixes: Vec::new(),
                track: None,
                dsps: Vec::new(),
            },
        );
        self.findings.out.push(f);
    }
}

/// Counts per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Counts {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

/// A track's facts in the report.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TrackFacts {
    pub index: usize,
    pub disc: u16,
    pub number: u16,
    pub isrc: String,
    pub title: String,
    pub declared_duration_ms: u64,
    pub audio: Option<AudioReport>,
}

/// The result of a QC run: what staff review and what gates delivery.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct QcReport {
    pub schema: &'static str,
    pub upc: String,
    pub revision: Option<i64>,
    pub title: String,
    pub display_artist: String,
    /// Per DSP, what this run decides: passed, passed with warnings, needs staff review, or
    /// blocked, with the reasons. One row for a run against one profile; one per DSP for a
    /// combined report ([`combine`]).
    pub verdicts: Vec<Verdict>,
    pub profile: Option<String>,
    pub checked_on: NaiveDate,
    pub rules_run: usize,
    /// An error-severity finding blocks delivery (to any DSP, in a combined report).
    pub blocked: bool,
    /// Delivery waits for a staff decision (see [`REVIEW_RULES`]).
    pub needs_review: bool,
    pub counts: Counts,
    pub findings: Vec<Finding>,
    pub tracks: Vec<TrackFacts>,
    pub artwork: Option<ArtworkReport>,
}

/// Runs every rule.
pub fn run(input: &QcInput<'_>, revision: Option<i64>) -> QcReport {
    let mut findings = Vec::new();
    for rule in all_rules() {
        let severity = input
            .profile
            .and_then(|p| p.severity_override(rule.id))
            .unwrap_or(rule.severity);
        let mut sink = Findings {
            rule,
            severity,
            out: Vec::new(),
        };
        (rule.check)(input, &mut sink);
        findings.extend(sink.out);
    }
    // Errors first, then by track, keeping rule order within.
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.track.cmp(&b.track)));
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    let counts = Counts {
        error: count(Severity::Error),
        warning: count(Severity::Warning),
        info: count(Severity::Info),
    };
    let r = input.release;
    let blocked = counts.error > 0;
    let needs_review = !blocked
        && findings
            .iter()
            .any(|f| REVIEW_RULES.contains(&f.rule.as_str()));
    let mut report = QcReport {
        schema: REPORT_SCHEMA,
        upc: r.upc.to_string(),
        revision,
        title: r.display_title(),
        display_artist: meta::display_artist(&r.artists),
        verdicts: Vec::new(),
        profile: input.profile.map(|p| p.name.clone()),
        checked_on: input.today,
        rules_run: all_rules().count(),
        blocked,
        needs_review,
        counts,
        findings,
        tracks: r
            .tracks
            .iter()
            .enumerate()
            .map(|(i, t)| TrackFacts {
                index: i,
                disc: t.disc,
                number: t.number,
                isrc: t.isrc.to_string(),
                title: t.title.clone(),
                declared_duration_ms: t.duration.millis(),
                audio: input.audio_of(i).cloned(),
            })
            .collect(),
        artwork: input.artwork.cloned(),
    };
    if input.profile.is_some() {
        report.verdicts = vec![report.verdict()];
    }
    report
}

/// Every rule: metadata, audio and artwork, screening.
pub fn all_rules() -> impl Iterator<Item = &'static Rule> {
    meta::RULES
        .iter()
        .chain(audio_rules::RULES)
        .chain(screen::RULES)
}

/// Looks a rule up by id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    all_rules().find(|r| r.id == id)
}
