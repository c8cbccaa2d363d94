//! Final statements: a closed period's statement of each payee, rendered once and kept, so
//! rendering it again gives the same bytes (migration 0010; rows are never changed).

use sqlx::Row;

use crate::{Store, StoreError, now};

/// A payee's final statement of a period: the people's CSV, the exact lines and the HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalStatement {
    pub period: String,
    pub payee: String,
    pub csv: String,
    pub lines_csv: String,
    pub html: String,
}

impl Store {
    /// The periods that have been closed, oldest first.
    pub async fn closed_periods(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT period FROM ledger_transactions WHERE kind = 'close' ORDER BY period",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>("period"))
            .collect::<Result<_, _>>()?)
    }

    /// Every reporting period with sales postings (imports, reversals, rematches), with how
    /// many transactions each has, oldest first.
    pub async fn periods_with_postings(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT period, COUNT(*) AS n FROM ledger_transactions WHERE kind IN ('import', 'reversal', 'rematch') GROUP BY period ORDER BY period",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("period")?, r.try_get("n")?)))
            .collect()
    }

    /// Keeps a final statement unless one is already kept for its period and payee; returns
    /// the one kept (the first rendering wins).
    pub async fn keep_final_statement(
        &self,
        s: &FinalStatement,
    ) -> Result<FinalStatement, StoreError> {
        let mut t = self.begin_write().await?;
        if let Some(old) = final_of(&mut t, &s.period, &s.payee).await? {
            t.commit().await?;
            return Ok(old);
        }
        sqlx::query("INSERT INTO final_statements (period, payee, csv, lines_csv, html, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&s.period)
            .bind(&s.payee)
            .bind(&s.csv)
            .bind(&s.lines_csv)
            .bind(&s.html)
            .bind(now())
            .execute(&mut *t)
            .await?;
        t.commit().await?;
        Ok(s.clone())
    }

    /// The final statement kept for a payee's period, if any.
    pub async fn final_statement(
        &self,
        period: &str,
        payee: &str,
    ) -> Result<Option<FinalStatement>, StoreError> {
        let mut c = self.pool.acquire().await?;
        final_of(&mut c, period, payee).await
    }
}

async fn final_of(
    c: &mut sqlx::AnyConnection,
    period: &str,
    payee: &str,
) -> Result<Option<FinalStatement>, StoreError> {
    let r = sqlx::query(
        "SELECT period, payee, csv, lines_csv, html FROM final_statements WHERE period = $1 AND payee = $2",
    )
    .bind(period)
    .bind(payee)
    .fetch_optional(&mut *c)
    .await?;
    r.map(|r| {
        Ok(FinalStatement {
            period: r.try_get("period")?,
            payee: r.try_get("payee")?,
            csv: r.try_get("csv")?,
            lines_csv: r.try_get("lines_csv")?,
            html: r.try_get("html")?,
        })
    })
    .transpose()
}
