//! QC persistence: cached analyses, QC runs and the append-only review log.

use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError, now};

/// A QC run as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QcRun {
    pub id: i64,
    pub upc: String,
    pub revision: i64,
    /// The DSP profile it was run for; empty for the generic rules.
    pub profile: String,
    pub blocked: bool,
    /// Delivery to this DSP waits for a staff decision (the "review" AI policy).
    pub needs_review: bool,
    pub errors: i64,
    pub warnings: i64,
    pub created_at: String,
    #[serde(skip)]
    pub report: String,
}

/// A staff decision, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub id: i64,
    pub upc: String,
    pub revision: i64,
    pub decision: String,
    pub code: String,
    pub reason: String,
    pub operator: String,
    pub qc_run_id: Option<i64>,
    pub decided_at: String,
    /// The DSP the decision is for; `None`: every DSP.
    pub dsp: Option<String>,
}

/// A QC run to store.
#[derive(Debug, Clone, Copy)]
pub struct NewQcRun<'a> {
    pub upc: &'a str,
    pub revision: i64,
    /// The DSP profile's name; empty for the generic rules.
    pub profile: &'a str,
    pub blocked: bool,
    pub needs_review: bool,
    pub errors: i64,
    pub warnings: i64,
    /// The report as JSON.
    pub report: &'a str,
}

/// A new decision to log.
#[derive(Debug, Clone)]
pub struct NewDecision<'a> {
    pub upc: &'a str,
    pub revision: i64,
    pub approve: bool,
    pub code: &'a str,
    pub reason: &'a str,
    pub operator: &'a str,
    pub qc_run_id: Option<i64>,
    /// The DSP the decision is for; `None`: every DSP.
    pub dsp: Option<&'a str>,
}

/// Whether a release's latest revision may be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "gate", rename_all = "kebab-case")]
pub enum Gate {
    /// No QC run on the latest revision.
    NotChecked {
        revision: i64,
    },
    /// The latest QC run found nothing blocking and staff have not rejected it.
    Passed {
        revision: i64,
        qc_run: i64,
    },
    /// Staff approved the latest revision (possibly over QC findings).
    Approved {
        revision: i64,
        decision: i64,
    },
    Blocked {
        revision: i64,
        qc_run: i64,
    },
    /// QC found nothing blocking, but a finding waits for a staff decision.
    AwaitingReview {
        revision: i64,
        qc_run: i64,
    },
    Rejected {
        revision: i64,
        decision: i64,
        code: String,
    },
}

impl Gate {
    pub fn deliverable(&self) -> bool {
        matches!(self, Gate::Passed { .. } | Gate::Approved { .. })
    }

    /// The revision the gate is about.
    pub fn revision(&self) -> i64 {
        match self {
            Gate::NotChecked { revision }
            | Gate::Passed { revision, .. }
            | Gate::Approved { revision, .. }
            | Gate::Blocked { revision, .. }
            | Gate::AwaitingReview { revision, .. }
            | Gate::Rejected { revision, .. } => *revision,
        }
    }
}

impl std::fmt::Display for Gate {
    /// For people: what the gate says and what to do, with no debug forms.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gate::NotChecked { revision } => {
                write!(
                    f,
                    "revision {revision} has no QC run for this DSP (run `liner qc`)"
                )
            }
            Gate::Passed { revision, qc_run } => {
                write!(f, "revision {revision} passed QC (run {qc_run})")
            }
            Gate::Approved { revision, decision } => {
                write!(
                    f,
                    "revision {revision} approved by staff (decision {decision})"
                )
            }
            Gate::Blocked { revision, qc_run } => write!(
                f,
                "revision {revision} is blocked by QC (run {qc_run}): fix it, or have staff approve it"
            ),
            Gate::AwaitingReview { revision, qc_run } => write!(
                f,
                "revision {revision} waits for a staff decision (QC run {qc_run}: `liner review approve|reject`)"
            ),
            Gate::Rejected {
                revision,
                decision,
                code,
            } => write!(
                f,
                "revision {revision} was rejected by staff ({code}, decision {decision})"
            ),
        }
    }
}

/// A track of a current revision, with its audio's PCM hash when analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedTrack {
    pub upc: String,
    pub isrc: String,
    pub title: String,
    pub pcm_sha256: Option<String>,
}

/// Release status values QC and review write.
pub const STATUS_QC_PASSED: &str = "qc-passed";
pub const STATUS_QC_BLOCKED: &str = "qc-blocked";
pub const STATUS_APPROVED: &str = "approved";
pub const STATUS_REJECTED: &str = "rejected";

fn run_of(r: &sqlx::any::AnyRow) -> QcRun {
    QcRun {
        id: r.get("id"),
        upc: r.get("upc"),
        revision: r.get("revision"),
        profile: r.get("profile"),
        blocked: r.get::<i64, _>("blocked") != 0,
        needs_review: r.get::<i64, _>("needs_review") != 0,
        errors: r.get("errors"),
        warnings: r.get("warnings"),
        created_at: r.get("created_at"),
        report: r.get("report"),
    }
}

fn decision_of(r: &sqlx::any::AnyRow) -> Decision {
    Decision {
        id: r.get("id"),
        upc: r.get("upc"),
        revision: r.get("revision"),
        decision: r.get("decision"),
        code: r.get("code"),
        reason: r.get("reason"),
        operator: r.get("operator"),
        qc_run_id: r.get("qc_run_id"),
        decided_at: r.get("decided_at"),
        dsp: r.get("dsp"),
    }
}

impl Store {
    /// A cached analysis report (JSON) of a stored file.
    pub async fn analysis(
        &self,
        sha256: &str,
        kind: &str,
        version: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT report FROM file_analyses WHERE sha256 = $1 AND kind = $2 AND analyser_version = $3")
            .bind(sha256)
            .bind(kind)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Caches an analysis; a concurrent writer of the same analysis wins harmlessly.
    pub async fn put_analysis(
        &self,
        sha256: &str,
        kind: &str,
        version: i64,
        pcm_sha256: Option<&str>,
        dhash: Option<&str>,
        report: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO file_analyses (sha256, kind, analyser_version, pcm_sha256, dhash, report, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (sha256, kind, analyser_version) DO NOTHING",
        )
        .bind(sha256)
        .bind(kind)
        .bind(version)
        .bind(pcm_sha256)
        .bind(dhash)
        .bind(report)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Tracks of current revisions whose ISRC is in `isrcs` or whose audio hashes to one of
    /// `pcm_hashes`: what the duplicate and ISRC-reuse screens compare against.
    pub async fn tracks_matching(
        &self,
        isrcs: &[String],
        pcm_hashes: &[String],
    ) -> Result<Vec<IndexedTrack>, StoreError> {
        if isrcs.is_empty() && pcm_hashes.is_empty() {
            return Ok(Vec::new());
        }
        // One placeholder per value: the Any driver has no array binds.
        let list = |from: usize, n: usize| {
            (from..from + n)
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut cond = Vec::new();
        if !isrcs.is_empty() {
            cond.push(format!("t.isrc IN ({})", list(1, isrcs.len())));
        }
        if !pcm_hashes.is_empty() {
            cond.push(format!(
                "a.pcm_sha256 IN ({})",
                list(1 + isrcs.len(), pcm_hashes.len())
            ));
        }
        let sql = format!(
            "SELECT DISTINCT t.upc, t.isrc, t.title, a.pcm_sha256, t.disc, t.number FROM tracks t
             JOIN releases r ON r.upc = t.upc AND r.current_revision = t.revision
             LEFT JOIN file_analyses a ON a.sha256 = t.audio_sha256 AND a.kind = 'audio'
             WHERE {} ORDER BY t.upc, t.disc, t.number",
            cond.join(" OR ")
        );
        let mut q = sqlx::query(&sql);
        for v in isrcs.iter().chain(pcm_hashes) {
            q = q.bind(v.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        let out = rows
            .iter()
            .map(|r| IndexedTrack {
                upc: r.get(0),
                isrc: r.get(1),
                title: r.get(2),
                pcm_sha256: r.get(3),
            })
            .collect();
        Ok(out)
    }

    /// The current document of every release, with the artwork's dHash when analysed.
    pub async fn current_documents(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.upc, v.document FROM releases r JOIN release_revisions v ON v.upc = r.upc AND v.revision = r.current_revision ORDER BY v.upc",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Every cached artwork dHash, by file hash.
    pub async fn artwork_hashes(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT sha256, dhash FROM file_analyses WHERE kind = 'artwork' AND dhash IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Stores a QC run and sets the release's status from it (unless staff already decided on
    /// this revision: their decision stands until the next revision).
    pub async fn record_qc_run(&self, run: &NewQcRun<'_>) -> Result<i64, StoreError> {
        let NewQcRun {
            upc,
            revision,
            profile,
            blocked,
            needs_review,
            errors,
            warnings,
            report,
        } = *run;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO qc_runs (upc, revision, profile, blocked, needs_review, errors, warnings, report, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(upc)
        .bind(revision)
        .bind(profile)
        .bind(i64::from(blocked))
        .bind(i64::from(needs_review))
        .bind(errors)
        .bind(warnings)
        .bind(report)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        let decided: Option<i64> =
            sqlx::query("SELECT id FROM review_decisions WHERE upc = $1 AND revision = $2 LIMIT 1")
                .bind(upc)
                .bind(revision)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.get(0));
        if decided.is_none() {
            sqlx::query("UPDATE releases SET status = $1 WHERE upc = $2 AND current_revision = $3")
                .bind(if blocked {
                    STATUS_QC_BLOCKED
                } else {
                    STATUS_QC_PASSED
                })
                .bind(upc)
                .bind(revision)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The latest QC run on a revision (any profile when `profile` is `None`).
    pub async fn latest_qc_run(
        &self,
        upc: &str,
        revision: i64,
        profile: Option<&str>,
    ) -> Result<Option<QcRun>, StoreError> {
        let row = match profile {
            Some(p) => sqlx::query("SELECT * FROM qc_runs WHERE upc = $1 AND revision = $2 AND profile = $3 ORDER BY id DESC LIMIT 1")
                .bind(upc)
                .bind(revision)
                .bind(p)
                .fetch_optional(&self.pool)
                .await?,
            None => sqlx::query("SELECT * FROM qc_runs WHERE upc = $1 AND revision = $2 ORDER BY id DESC LIMIT 1")
                .bind(upc)
                .bind(revision)
                .fetch_optional(&self.pool)
                .await?,
        };
        Ok(row.as_ref().map(run_of))
    }

    /// Every QC run of a release, newest first.
    pub async fn qc_runs(&self, upc: &str) -> Result<Vec<QcRun>, StoreError> {
        let rows = sqlx::query("SELECT * FROM qc_runs WHERE upc = $1 ORDER BY id DESC")
            .bind(upc)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(run_of).collect())
    }

    /// Appends a staff decision and sets the release's status. The log is never updated or
    /// deleted (triggers refuse both).
    pub async fn record_decision(&self, d: &NewDecision<'_>) -> Result<Decision, StoreError> {
        let mut tx = self.begin_write().await?;
        let at = now();
        let id: i64 = sqlx::query(
            "INSERT INTO review_decisions (upc, revision, decision, code, reason, operator, qc_run_id, decided_at, dsp) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(d.upc)
        .bind(d.revision)
        .bind(if d.approve { "approve" } else { "reject" })
        .bind(d.code)
        .bind(d.reason)
        .bind(d.operator)
        .bind(d.qc_run_id)
        .bind(&at)
        .bind(d.dsp)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        sqlx::query("UPDATE releases SET status = $1 WHERE upc = $2 AND current_revision = $3")
            .bind(if d.approve {
                STATUS_APPROVED
            } else {
                STATUS_REJECTED
            })
            .bind(d.upc)
            .bind(d.revision)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Decision {
            id,
            upc: d.upc.to_owned(),
            revision: d.revision,
            decision: if d.approve { "approve" } else { "reject" }.to_owned(),
            code: d.code.to_owned(),
            reason: d.reason.to_owned(),
            operator: d.operator.to_owned(),
            qc_run_id: d.qc_run_id,
            decided_at: at,
            dsp: d.dsp.map(str::to_owned),
        })
    }

    /// Runs one statement as is. Tests use it to prove the database itself guards invariants
    /// (the append-only review log); the application never sends raw SQL.
    #[doc(hidden)]
    pub async fn execute_raw_for_tests(&self, sql: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql).execute(&self.pool).await?.rows_affected())
    }

    /// The decision log, oldest first; one release's when `upc` is given.
    pub async fn decisions(&self, upc: Option<&str>) -> Result<Vec<Decision>, StoreError> {
        let rows = match upc {
            Some(u) => {
                sqlx::query("SELECT * FROM review_decisions WHERE upc = $1 ORDER BY id")
                    .bind(u)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM review_decisions ORDER BY id")
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows.iter().map(decision_of).collect())
    }

    /// Whether the latest revision of `upc` may be delivered to `dsp`: staff's latest decision
    /// on it for that DSP (or for every DSP) wins; otherwise its latest QC run with that DSP's
    /// profile decides (and one that needs review waits for staff). A QC run with another
    /// profile says nothing about this DSP.
    pub async fn gate(&self, upc: &str, dsp: &str) -> Result<Option<Gate>, StoreError> {
        let Some(rev) = sqlx::query("SELECT current_revision FROM releases WHERE upc = $1")
            .bind(upc)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let revision: i64 = rev.get(0);
        let decision = sqlx::query("SELECT * FROM review_decisions WHERE upc = $1 AND revision = $2 AND (dsp IS NULL OR dsp = $3) ORDER BY id DESC LIMIT 1")
            .bind(upc)
            .bind(revision)
            .bind(dsp)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(decision_of);
        if let Some(d) = decision {
            return Ok(Some(if d.decision == "approve" {
                Gate::Approved {
                    revision,
                    decision: d.id,
                }
            } else {
                Gate::Rejected {
                    revision,
                    decision: d.id,
                    code: d.code,
                }
            }));
        }
        Ok(Some(
            match self.latest_qc_run(upc, revision, Some(dsp)).await? {
                None => Gate::NotChecked { revision },
                Some(r) if r.blocked => Gate::Blocked {
                    revision,
                    qc_run: r.id,
                },
                Some(r) if r.needs_review => Gate::AwaitingReview {
                    revision,
                    qc_run: r.id,
                },
                Some(r) => Gate::Passed {
                    revision,
                    qc_run: r.id,
                },
            },
        ))
    }
}
