//! The job queue: enqueue-if-absent under a (kind, scope, slot) key, claim with a lease,
//! complete, fail with backoff until dead, release on shutdown, retry by an operator.
//!
//! Claiming is one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING`: on PostgreSQL the
//! sub-select takes its row `FOR UPDATE SKIP LOCKED`, so concurrent workers each get a
//! different job without waiting; SQLite runs the statement under its single writer lock.
//! A running job whose lease ran out is claimable again: execution is at-least-once.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use sqlx::Row;

use crate::{Backend, Store, StoreError};

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    /// What the job is about (`dsp:spotify`, `upc:196543210010/dsp:deezer`, `period:2026-10`).
    pub scope: String,
    /// The scheduled slot (`2026-11-26T06:00`); empty for an ad-hoc job, which then runs once
    /// per (kind, scope) until done.
    pub slot: String,
    pub payload: serde_json::Value,
    /// Higher runs first (takedowns and fixes use a priority lane).
    pub priority: i64,
    pub run_after: DateTime<Utc>,
    pub max_attempts: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub scope: String,
    pub slot: String,
    pub payload: serde_json::Value,
    pub priority: i64,
    pub run_after: String,
    /// queued | running | done | failed (waiting to retry) | dead (out of attempts)
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub locked_by: Option<String>,
    pub locked_until: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}

/// How a failure was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failed {
    /// Will run again after this time.
    Retry(String),
    /// Out of attempts: parked for an operator.
    Dead,
    /// The worker no longer held the lease: someone else has the job.
    LostLease,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

const COLS: &str = "id, kind, scope, slot, payload, priority, run_after, status, attempts, max_attempts, locked_by, locked_until, last_error, created_at, updated_at, finished_at";

fn job_of(r: &sqlx::any::AnyRow) -> Result<Job, StoreError> {
    let payload: String = r.try_get("payload")?;
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        scope: r.try_get("scope")?,
        slot: r.try_get("slot")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        priority: r.try_get("priority")?,
        run_after: r.try_get("run_after")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        locked_by: r.try_get("locked_by")?,
        locked_until: r.try_get("locked_until")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

/// Backoff after the n-th failed attempt: 30 s, 1 min, 2 min … capped at an hour.
pub fn backoff(attempts: i64) -> Duration {
    let secs = 30i64.saturating_mul(1i64 << attempts.clamp(1, 20).saturating_sub(1));
    Duration::seconds(secs.min(3600))
}

impl Store {
    /// Enqueues a job unless one with the same (kind, scope, slot) exists; its id if new.
    pub async fn enqueue(&self, j: &NewJob) -> Result<Option<i64>, StoreError> {
        let now = ts(Utc::now());
        let r = sqlx::query(
            "INSERT INTO jobs (kind, scope, slot, payload, priority, run_after, status, attempts, max_attempts, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $8, $8) ON CONFLICT (kind, scope, slot) DO NOTHING RETURNING id",
        )
        .bind(&j.kind)
        .bind(&j.scope)
        .bind(&j.slot)
        .bind(j.payload.to_string())
        .bind(j.priority)
        .bind(ts(j.run_after))
        .bind(j.max_attempts.max(1))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|r| r.try_get("id")).transpose()?)
    }

    /// Claims the next job that is due (highest priority, then oldest), or one whose lease
    /// ran out, for `worker` until `now + lease`.
    pub async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE ((status IN ('queued', 'failed') AND run_after <= $3) \
                 OR (status = 'running' AND locked_until < $3)) ORDER BY priority DESC, run_after, id LIMIT 1{lock}) \
             RETURNING {COLS}"
        );
        let r = sqlx::query(&sql)
            .bind(worker)
            .bind(ts(now + lease))
            .bind(ts(now))
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(job_of).transpose()
    }

    /// Extends the lease of a job this worker holds; false if it lost it.
    pub async fn heartbeat(
        &self,
        id: i64,
        worker: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND status = 'running'")
            .bind(ts(until))
            .bind(id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Marks a job done; false if the worker no longer held it.
    pub async fn complete(&self, id: i64, worker: &str) -> Result<bool, StoreError> {
        let now = ts(Utc::now());
        let r = sqlx::query(
            "UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, last_error = NULL, finished_at = $1, updated_at = $1 \
             WHERE id = $2 AND locked_by = $3 AND status = 'running'",
        )
        .bind(now)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records a failure: retry after the backoff, or dead once out of attempts.
    pub async fn fail(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<Failed, StoreError> {
        let Some(r) = sqlx::query("SELECT attempts, max_attempts FROM jobs WHERE id = $1 AND locked_by = $2 AND status = 'running'")
            .bind(id)
            .bind(worker)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(Failed::LostLease);
        };
        let (attempts, max): (i64, i64) = (r.try_get("attempts")?, r.try_get("max_attempts")?);
        let (status, after) = if attempts >= max {
            ("dead", now)
        } else {
            ("failed", now + backoff(attempts))
        };
        let n = sqlx::query(
            "UPDATE jobs SET status = $1, run_after = $2, last_error = $3, locked_by = NULL, locked_until = NULL, updated_at = $4, \
             finished_at = CASE WHEN $1 = 'dead' THEN $4 ELSE NULL END WHERE id = $5 AND locked_by = $6 AND status = 'running'",
        )
        .bind(status)
        .bind(ts(after))
        .bind(error)
        .bind(ts(now))
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(match (n.rows_affected(), status) {
            (0, _) => Failed::LostLease,
            (_, "dead") => Failed::Dead,
            _ => Failed::Retry(ts(after)),
        })
    }

    /// Parks a claimed job as dead at once, with why (a job this version cannot run: more
    /// attempts would not help). False when the worker no longer held it.
    pub async fn bury(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE jobs SET status = 'dead', last_error = $1, locked_by = NULL, locked_until = NULL, updated_at = $2, \
             finished_at = $2 WHERE id = $3 AND locked_by = $4 AND status = 'running'",
        )
        .bind(error)
        .bind(ts(now))
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(n.rows_affected() > 0)
    }

    /// Gives a claimed job back untouched (graceful shutdown): queued again, the attempt not counted.
    pub async fn release_job(&self, id: i64, worker: &str) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = attempts - 1, locked_by = NULL, locked_until = NULL, updated_at = $1 \
             WHERE id = $2 AND locked_by = $3 AND status = 'running'",
        )
        .bind(ts(Utc::now()))
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// An operator's retry of a failed or dead job: queued now with fresh attempts.
    pub async fn retry_job(&self, id: i64) -> Result<bool, StoreError> {
        let now = ts(Utc::now());
        let r = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_after = $1, last_error = NULL, finished_at = NULL, updated_at = $1 \
             WHERE id = $2 AND status IN ('failed', 'dead')",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Jobs, newest first; `all` includes done ones.
    pub async fn jobs(&self, all: bool) -> Result<Vec<Job>, StoreError> {
        let filter = if all { "" } else { "WHERE status <> 'done'" };
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM jobs {filter} ORDER BY id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_of).collect()
    }

    /// Jobs some worker is running under a live lease: a draining worker waits for them,
    /// since a job whose worker died becomes claimable when its lease runs out.
    pub async fn jobs_in_hand(&self, now: DateTime<Utc>) -> Result<i64, StoreError> {
        Ok(
            sqlx::query(
                "SELECT COUNT(*) FROM jobs WHERE status = 'running' AND locked_until >= $1",
            )
            .bind(ts(now))
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?,
        )
    }

    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let r = sqlx::query(&format!("SELECT {COLS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(job_of).transpose()
    }
}
