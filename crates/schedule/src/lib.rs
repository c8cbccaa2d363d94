//! The scheduler's decisions, as a pure function of the time, the `[schedule]` settings and
//! what the catalog holds: which jobs are due now, each under the key of its slot.
//!
//! Enqueuing is insert-if-absent on (kind, scope, slot), so every worker's scheduler may
//! propose the same jobs on every tick: a slot runs once. Periodic work coalesces into the
//! current slot (a worker that was down for a day refreshes acknowledgements once, not 96
//! times); statements are per period, and every ended period with sales in it that has no
//! statements job yet gets one, so missed month ends are caught up once each.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// `[schedule]`: the scheduled jobs `liner worker` enqueues. Every job is keyed by its
/// slot, so several workers (or a restarted one) never run a slot twice.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// How often the scheduler looks for due work, in seconds.
    pub tick_seconds: u64,
    /// Deliver each cleared release to every DSP with a `[delivery]` section once the
    /// release date minus the profile's `delivery_offset_days` has come; a new revision of
    /// a delivered release (a fix) goes at once, in the priority lane.
    pub deliveries: bool,
    /// Read acknowledgements back (and alert on overdue ones) every this many minutes.
    pub acknowledgements_minutes: u64,
    /// Fetch sales reports from each DSP (its `[sales_reports] folder`, over the profile's
    /// transport) and import them, every this many hours; 0 turns it off.
    pub reports_hours: u64,
    /// On this day of the month, close the previous month: statements and payouts. 0 turns
    /// it off.
    pub statements_day: u32,
    /// Check the ledger (digests, chain, reconciliation) once a day.
    pub ledger_check: bool,
    /// Purge staged files (downloaded reports once imported, interrupted file-store writes)
    /// older than this many days, once a day.
    pub purge_after_days: u64,
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            tick_seconds: 60,
            deliveries: true,
            acknowledgements_minutes: 15,
            reports_hours: 6,
            statements_day: 1,
            ledger_check: true,
            purge_after_days: 7,
        }
    }
}

/// A job: what runs, with its parameters. The set is closed; a job row is its kind and
/// its parameters as JSON (`Job::kind`, `Job::payload`), read back with `Job::from_row`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Job {
    /// Deliver releases to DSPs (the priority lane when `priority`).
    Deliver {
        upcs: Vec<String>,
        to: Vec<String>,
        #[serde(default)]
        priority: bool,
    },
    /// Take a release down from DSPs (a purge where `purge` and the profile allow).
    Takedown {
        upc: String,
        from: Vec<String>,
        #[serde(default)]
        purge: bool,
    },
    /// Read acknowledgements back and alert on overdue ones.
    RefreshAcks,
    /// Fetch a DSP's sales reports and import them.
    FetchReports { dsp: String },
    /// Import the report files of a folder.
    ImportReports {
        folder: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        period: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dsp: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<String>,
    },
    /// Close a period (once it is over) and run its statements and payouts.
    Statements {
        period: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        out: Option<PathBuf>,
    },
    /// Check the ledger's digests, chain and reconciliation.
    LedgerCheck,
    /// Remove staged files older than `days`.
    Purge {
        #[serde(default = "a_week")]
        days: u64,
    },
}

fn a_week() -> u64 {
    7
}

/// A job row that is not one of [`Job`]'s: an unknown kind, or parameters that do not fit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPayload {
    pub kind: String,
    pub why: String,
}

impl std::fmt::Display for UnknownPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown payload for a {:?} job: {}", self.kind, self.why)
    }
}

impl std::error::Error for UnknownPayload {}

impl Job {
    /// Every kind, as stored and as `liner jobs add` takes it.
    pub const KINDS: [&'static str; 8] = [
        "deliver",
        "takedown",
        "refresh-acks",
        "fetch-reports",
        "import-reports",
        "statements",
        "ledger-check",
        "purge",
    ];

    pub fn kind(&self) -> &'static str {
        match self {
            Job::Deliver { .. } => "deliver",
            Job::Takedown { .. } => "takedown",
            Job::RefreshAcks => "refresh-acks",
            Job::FetchReports { .. } => "fetch-reports",
            Job::ImportReports { .. } => "import-reports",
            Job::Statements { .. } => "statements",
            Job::LedgerCheck => "ledger-check",
            Job::Purge { .. } => "purge",
        }
    }

    /// The parameters as stored with the job (the kind is stored beside them).
    pub fn payload(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.remove("kind");
        }
        v
    }

    /// The job a stored row holds; a row of a kind or shape this version does not know
    /// (written by another version, or by hand) is an `UnknownPayload`, never a panic.
    pub fn from_row(kind: &str, payload: &serde_json::Value) -> Result<Job, UnknownPayload> {
        let unknown = |why: String| UnknownPayload {
            kind: kind.to_owned(),
            why,
        };
        if !Job::KINDS.contains(&kind) {
            return Err(unknown(format!(
                "no such kind (expected one of {})",
                Job::KINDS.join(", ")
            )));
        }
        let mut v = match payload {
            serde_json::Value::Object(m) => m.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                return Err(unknown(format!(
                    "parameters must be an object, not {other}"
                )));
            }
        };
        v.insert("kind".into(), kind.into());
        let job: Job = serde_json::from_value(serde_json::Value::Object(v))
            .map_err(|e| unknown(e.to_string()))?;
        match &job {
            Job::Deliver { upcs, to, .. } if upcs.is_empty() || to.is_empty() => {
                Err(unknown("needs \"upcs\" and \"to\"".into()))
            }
            Job::Takedown { from, .. } if from.is_empty() => Err(unknown("needs \"from\"".into())),
            _ => Ok(job),
        }
    }

    /// The release and DSP ids it is about, for the log fields operators search by
    /// (comma-separated when several; empty when none).
    pub fn searchable(&self) -> (String, String) {
        match self {
            Job::Deliver { upcs, to, .. } => (upcs.join(","), to.join(",")),
            Job::Takedown { upc, from, .. } => (upc.clone(), from.join(",")),
            Job::FetchReports { dsp } => (String::new(), dsp.clone()),
            Job::ImportReports { dsp, .. } => (String::new(), dsp.clone().unwrap_or_default()),
            _ => (String::new(), String::new()),
        }
    }
}

/// A job the schedule makes due, under the key of its slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub kind: &'static str,
    pub scope: String,
    pub slot: String,
    pub job: Job,
    pub priority: i64,
}

impl Due {
    /// The job's parameters as stored.
    pub fn payload(&self) -> serde_json::Value {
        self.job.payload()
    }
}

/// Higher runs first. Takedowns before fixes before new deliveries before the rest.
pub const PRIORITY_TAKEDOWN: i64 = 20;
pub const PRIORITY_FIX: i64 = 10;
pub const PRIORITY_DELIVERY: i64 = 5;

/// A DSP as the scheduler sees it.
#[derive(Debug, Clone)]
pub struct DspFacts {
    pub name: String,
    /// It has a `[delivery]` section: Liner delivers to it and fetches its reports.
    pub reachable: bool,
    pub delivery_offset_days: u32,
}

/// A release's current revision and the DSPs it may be delivered to.
#[derive(Debug, Clone)]
pub struct ReleaseFacts {
    pub upc: String,
    pub release_date: NaiveDate,
    pub revision: i64,
    /// The DSPs whose QC gate it passed (a run with their profile, or staff approval).
    pub cleared_for: BTreeSet<String>,
}

/// The latest delivery of a release to a DSP.
#[derive(Debug, Clone)]
pub struct LatestDelivery {
    pub id: i64,
    pub revision: i64,
    /// queued | uploading | uploaded | acknowledged | rejected | failed
    pub status: String,
    /// new | update | takedown | purge
    pub intent: String,
}

#[derive(Debug, Clone)]
pub struct Facts {
    pub now: DateTime<Utc>,
    pub dsps: Vec<DspFacts>,
    pub releases: Vec<ReleaseFacts>,
    /// By (UPC, DSP).
    pub latest: BTreeMap<(String, String), LatestDelivery>,
    /// (UPC, DSP) pairs where some revision reached the DSP (uploaded or acknowledged).
    pub reached: BTreeSet<(String, String)>,
    /// The accounting periods sales reports were imported into.
    pub report_periods: BTreeSet<String>,
    /// Scopes of jobs not done (queued, running, waiting to retry, dead): no second
    /// delivery job is proposed beside one, so one release never uploads twice at once to
    /// one DSP, and a dead one waits for its operator.
    pub busy: BTreeSet<String>,
    /// Where period-end statements are written (a folder per period under it).
    pub statements_dir: String,
}

fn job(job: Job, scope: String, slot: String, priority: i64) -> Due {
    Due {
        kind: job.kind(),
        scope,
        slot,
        job,
        priority,
    }
}

/// The start of the `every`-minute slot `now` falls in, as its key.
pub fn slot_of(now: DateTime<Utc>, every_minutes: u64) -> String {
    let len = (every_minutes.max(1) * 60) as i64;
    let start = now.timestamp().div_euclid(len) * len;
    DateTime::from_timestamp(start, 0)
        .unwrap_or(now)
        .format("%Y-%m-%dT%H:%MZ")
        .to_string()
}

/// `YYYY-MM` of the month before `month` (`YYYY-MM`).
fn prev_month(d: NaiveDate) -> String {
    let (y, m) = if d.month() == 1 {
        (d.year() - 1, 12)
    } else {
        (d.year(), d.month() - 1)
    };
    format!("{y:04}-{m:02}")
}

/// Every job due at `f.now`.
pub fn due(s: &Schedule, f: &Facts) -> Vec<Due> {
    let now = f.now;
    let today = now.date_naive();
    let day = today.format("%Y-%m-%d").to_string();
    let mut out = Vec::new();

    if s.deliveries {
        for r in &f.releases {
            for d in f
                .dsps
                .iter()
                .filter(|d| d.reachable && r.cleared_for.contains(&d.name))
            {
                let scope = format!("upc:{}/dsp:{}", r.upc, d.name);
                if f.busy.contains(&scope) {
                    continue;
                }
                let key = (r.upc.clone(), d.name.clone());
                let fix = f.reached.contains(&key);
                let slot = match f.latest.get(&key) {
                    // Taken down there: only an operator puts it back.
                    Some(l) if matches!(l.intent.as_str(), "takedown" | "purge") => continue,
                    // Interrupted (a crash, attempts used up): resume that very delivery,
                    // whatever its revision; the current one follows once it is finished.
                    Some(l) if matches!(l.status.as_str(), "queued" | "uploading" | "failed") => {
                        format!("resume:{}", l.id)
                    }
                    // At the DSP, waiting for its acknowledgement.
                    Some(l) if l.status == "uploaded" => continue,
                    // This revision is live there, or the DSP refused it (a refusal needs a
                    // new revision, not the same message again).
                    Some(l) if l.revision >= r.revision => continue,
                    // An earlier revision finished there: this one is a fix, sent at once.
                    Some(_) => format!("rev:{}", r.revision),
                    None => {
                        let due_on = r.release_date
                            - chrono::Duration::days(i64::from(d.delivery_offset_days));
                        if today < due_on {
                            continue;
                        }
                        format!("rev:{}", r.revision)
                    }
                };
                out.push(job(
                    Job::Deliver {
                        upcs: vec![r.upc.clone()],
                        to: vec![d.name.clone()],
                        priority: fix,
                    },
                    scope,
                    slot,
                    if fix { PRIORITY_FIX } else { PRIORITY_DELIVERY },
                ));
            }
        }
    }
    if s.acknowledgements_minutes > 0 {
        out.push(job(
            Job::RefreshAcks,
            "all".into(),
            slot_of(now, s.acknowledgements_minutes),
            0,
        ));
    }
    if s.reports_hours > 0 {
        for d in f.dsps.iter().filter(|d| d.reachable) {
            out.push(job(
                Job::FetchReports {
                    dsp: d.name.clone(),
                },
                format!("dsp:{}", d.name),
                slot_of(now, s.reports_hours * 60),
                0,
            ));
        }
    }
    if s.statements_day > 0 {
        let this_month = today.format("%Y-%m").to_string();
        let last = prev_month(today);
        let mut periods: BTreeSet<String> = f
            .report_periods
            .iter()
            .filter(|p| p.as_str() < last.as_str())
            .cloned()
            .collect();
        if today.day() >= s.statements_day {
            periods.insert(last);
        }
        for p in periods
            .into_iter()
            .filter(|p| p.as_str() < this_month.as_str())
        {
            out.push(job(
                Job::Statements {
                    out: Some(PathBuf::from(format!("{}/{p}", f.statements_dir))),
                    period: p.clone(),
                },
                format!("period:{p}"),
                p,
                0,
            ));
        }
    }
    if s.ledger_check {
        out.push(job(Job::LedgerCheck, "all".into(), day.clone(), 0));
    }
    if s.purge_after_days > 0 {
        out.push(job(
            Job::Purge {
                days: s.purge_after_days,
            },
            "all".into(),
            day,
            0,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn facts(now: &str) -> Facts {
        Facts {
            now: at(now),
            dsps: vec![
                DspFacts {
                    name: "spotify".into(),
                    reachable: true,
                    delivery_offset_days: 21,
                },
                DspFacts {
                    name: "apple-music".into(),
                    reachable: true,
                    delivery_offset_days: 28,
                },
                DspFacts {
                    name: "qc-only".into(),
                    reachable: false,
                    delivery_offset_days: 21,
                },
            ],
            releases: Vec::new(),
            latest: BTreeMap::new(),
            reached: BTreeSet::new(),
            report_periods: BTreeSet::new(),
            busy: BTreeSet::new(),
            statements_dir: "/srv/liner/statements".into(),
        }
    }

    fn release(upc: &str, date_s: &str, revision: i64) -> ReleaseFacts {
        ReleaseFacts {
            upc: upc.into(),
            release_date: date(date_s),
            revision,
            cleared_for: ["spotify", "apple-music", "qc-only"]
                .iter()
                .map(|d| (*d).to_owned())
                .collect(),
        }
    }

    fn of<'a>(jobs: &'a [Due], kind: &str) -> Vec<&'a Due> {
        jobs.iter().filter(|j| j.kind == kind).collect()
    }

    fn everything_off() -> Schedule {
        Schedule {
            deliveries: false,
            acknowledgements_minutes: 0,
            reports_hours: 0,
            statements_day: 0,
            ledger_check: false,
            purge_after_days: 0,
            ..Schedule::default()
        }
    }

    #[test]
    fn a_release_is_delivered_once_its_offset_before_the_release_date_has_come() {
        let s = Schedule {
            deliveries: true,
            ..everything_off()
        };
        let mut f = facts("2026-11-26T10:00:00Z");
        f.releases = vec![
            // 21 days away: due at Spotify (offset 21) and Apple (28).
            release("A", "2026-12-17", 1),
            // 25 days away: due at Apple only.
            release("B", "2026-12-21", 1),
            // 40 days away: nowhere yet.
            release("C", "2027-01-05", 1),
            // Back catalogue: everywhere.
            release("D", "2019-05-01", 3),
            ReleaseFacts {
                cleared_for: BTreeSet::new(),
                ..release("E", "2019-05-01", 1)
            },
            // Cleared for Apple only (blocked by Spotify's profile): Apple only.
            ReleaseFacts {
                cleared_for: ["apple-music".to_owned()].into(),
                ..release("F", "2019-05-01", 1)
            },
        ];
        let jobs = due(&s, &f);
        let got: BTreeSet<String> = jobs.iter().map(|j| j.scope.clone()).collect();
        let want: BTreeSet<String> = [
            "upc:A/dsp:spotify",
            "upc:A/dsp:apple-music",
            "upc:B/dsp:apple-music",
            "upc:D/dsp:spotify",
            "upc:D/dsp:apple-music",
            "upc:F/dsp:apple-music",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(
            got, want,
            "no delivery to a QC-only profile or an uncleared release"
        );
        let d = jobs
            .iter()
            .find(|j| j.scope == "upc:D/dsp:spotify")
            .expect("D");
        assert_eq!(d.slot, "rev:3", "keyed by revision");
        assert_eq!(d.priority, PRIORITY_DELIVERY);
        assert_eq!(d.payload()["priority"], false);
        // A day later, C is still not due; B is now due at Spotify too (20 days away).
        f.now = at("2026-11-30T10:00:00Z");
        assert!(due(&s, &f).iter().any(|j| j.scope == "upc:B/dsp:spotify"));
        assert!(!due(&s, &f).iter().any(|j| j.scope.starts_with("upc:C/")));
    }

    #[test]
    fn fixes_jump_the_queue_and_finished_or_taken_down_releases_are_left_alone() {
        let s = Schedule {
            deliveries: true,
            ..everything_off()
        };
        let mut f = facts("2026-11-26T10:00:00Z");
        // Far in the future, but revision 1 already reached Spotify: revision 2 is a fix.
        f.releases = vec![release("A", "2027-06-01", 2), release("B", "2019-01-01", 1)];
        let l = |revision: i64, status: &str, intent: &str| LatestDelivery {
            id: 40 + revision,
            revision,
            status: status.into(),
            intent: intent.into(),
        };
        f.latest
            .insert(("A".into(), "spotify".into()), l(1, "acknowledged", "new"));
        f.reached.insert(("A".into(), "spotify".into()));
        f.latest
            .insert(("B".into(), "spotify".into()), l(1, "acknowledged", "new"));
        f.reached.insert(("B".into(), "spotify".into()));
        f.latest.insert(
            ("B".into(), "apple-music".into()),
            l(1, "acknowledged", "takedown"),
        );
        let jobs = due(&s, &f);
        assert_eq!(jobs.len(), 1, "{jobs:#?}");
        let j = &jobs[0];
        assert_eq!(
            (j.scope.as_str(), j.slot.as_str(), j.priority),
            ("upc:A/dsp:spotify", "rev:2", PRIORITY_FIX)
        );
        assert_eq!(j.payload()["priority"], true, "a fix ignores the lead time");
        // Refused by the DSP: the same revision is not sent again. Uploaded: the
        // acknowledgement is awaited, whatever the revision.
        for (rev, status) in [
            (2, "rejected"),
            (2, "uploaded"),
            (1, "uploaded"),
            (2, "acknowledged"),
        ] {
            f.latest
                .insert(("A".into(), "spotify".into()), l(rev, status, "update"));
            assert!(due(&s, &f).is_empty(), "{rev} {status}");
        }
        // Interrupted or out of attempts: that delivery is resumed, keyed by its id, even
        // when it carries an older revision (the fix follows once it has finished).
        for (rev, status) in [(1, "queued"), (1, "uploading"), (2, "failed")] {
            f.latest
                .insert(("A".into(), "spotify".into()), l(rev, status, "update"));
            let j = due(&s, &f);
            assert_eq!(j.len(), 1, "{status}");
            assert_eq!(j[0].slot, format!("resume:{}", 40 + rev), "{status}");
        }
        // The older revision finished (acknowledged, or refused): now revision 2 goes.
        f.latest
            .insert(("A".into(), "spotify".into()), l(1, "rejected", "update"));
        assert_eq!(due(&s, &f)[0].slot, "rev:2");
    }

    #[test]
    fn periodic_jobs_coalesce_into_their_slot() {
        let s = Schedule {
            acknowledgements_minutes: 15,
            reports_hours: 6,
            ledger_check: true,
            purge_after_days: 7,
            ..everything_off()
        };
        let a = due(&s, &facts("2026-11-26T10:14:59Z"));
        let b = due(&s, &facts("2026-11-26T10:00:00Z"));
        let c = due(&s, &facts("2026-11-26T10:15:00Z"));
        let key = |j: &[Due]| -> Vec<(String, String, String)> {
            j.iter()
                .map(|j| (j.kind.to_owned(), j.scope.clone(), j.slot.clone()))
                .collect()
        };
        assert_eq!(key(&a), key(&b), "one slot from 10:00 to 10:14:59");
        assert_eq!(of(&c, "refresh-acks")[0].slot, "2026-11-26T10:15Z");
        assert_eq!(of(&a, "refresh-acks")[0].slot, "2026-11-26T10:00Z");
        let fetch = of(&a, "fetch-reports");
        assert_eq!(fetch.len(), 2, "one per DSP Liner can reach");
        assert_eq!(fetch[0].slot, "2026-11-26T06:00Z");
        assert_eq!(fetch[0].payload()["dsp"], "spotify");
        assert_eq!(of(&a, "ledger-check")[0].slot, "2026-11-26");
        assert_eq!(of(&a, "purge")[0].payload()["days"], 7);
        assert!(due(&everything_off(), &facts("2026-11-26T10:00:00Z")).is_empty());
    }

    #[test]
    fn statements_close_each_ended_period_once_and_catch_up() {
        let s = Schedule {
            statements_day: 3,
            ..everything_off()
        };
        // Before the 3rd: October is not closed yet.
        let mut f = facts("2026-11-02T23:59:00Z");
        assert!(due(&s, &f).is_empty());
        f.now = at("2026-11-03T00:00:00Z");
        let j = due(&s, &f);
        assert_eq!(j.len(), 1);
        assert_eq!(
            (j[0].scope.as_str(), j[0].slot.as_str()),
            ("period:2026-10", "2026-10")
        );
        assert_eq!(j[0].payload()["out"], "/srv/liner/statements/2026-10");
        // January closes December of the year before.
        f.now = at("2027-01-05T08:00:00Z");
        assert_eq!(due(&s, &f)[0].slot, "2026-12");
        // Sales in August and September were never closed (the worker was down): caught
        // up, each once; the current month's sales are not closed early.
        f.report_periods = ["2026-08", "2026-09", "2026-11"]
            .iter()
            .map(|p| (*p).to_owned())
            .collect();
        f.now = at("2026-11-01T08:00:00Z");
        let slots: Vec<String> = due(&s, &f).iter().map(|j| j.slot.clone()).collect();
        assert_eq!(slots, ["2026-08", "2026-09"]);
    }
}
