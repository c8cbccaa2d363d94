//! Sales report files fetched from the DSPs: what a scheduled fetch has already taken, so
//! each remote file is downloaded and judged once.

use chrono::{SecondsFormat, Utc};
use sqlx::Row;

use crate::{Store, StoreError};

/// One remote file as fetched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FetchedReport {
    pub dsp: String,
    pub name: String,
    pub size: i64,
    pub sha256: String,
    /// imported | already (the same content was imported before) | refused
    pub outcome: String,
    pub detail: String,
    pub fetched_at: String,
}

impl Store {
    /// Whether this DSP's file of this name and size was fetched before.
    pub async fn was_fetched(&self, dsp: &str, name: &str, size: i64) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("SELECT 1 FROM fetched_reports WHERE dsp = $1 AND name = $2 AND size = $3")
                .bind(dsp)
                .bind(name)
                .bind(size)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// Records a fetched file and what its import did; false when it was recorded already.
    pub async fn record_fetched(&self, f: &FetchedReport) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO fetched_reports (dsp, name, size, sha256, outcome, detail, fetched_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&f.dsp)
        .bind(&f.name)
        .bind(f.size)
        .bind(&f.sha256)
        .bind(&f.outcome)
        .bind(&f.detail)
        .bind(if f.fetched_at.is_empty() {
            Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
        } else {
            f.fetched_at.clone()
        })
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Every fetched file, oldest first.
    pub async fn fetched_reports(&self) -> Result<Vec<FetchedReport>, StoreError> {
        let rows = sqlx::query(
            "SELECT dsp, name, size, sha256, outcome, detail, fetched_at FROM fetched_reports \
             ORDER BY fetched_at, dsp, name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FetchedReport {
                    dsp: r.try_get("dsp")?,
                    name: r.try_get("name")?,
                    size: r.try_get("size")?,
                    sha256: r.try_get("sha256")?,
                    outcome: r.try_get("outcome")?,
                    detail: r.try_get("detail")?,
                    fetched_at: r.try_get("fetched_at")?,
                })
            })
            .collect()
    }
}
