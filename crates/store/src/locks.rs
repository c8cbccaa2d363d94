//! Named leases: one holder at a time for work that must not run twice at once.
//!
//! Taking a lock is one upsert that succeeds when the name is free, its lease ran out, or
//! the holder is the same; renewing and releasing only work for the holder. A holder that
//! dies keeps the lock until its lease runs out.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use sqlx::Row;

use crate::{Store, StoreError};

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Who holds a lock, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHeld {
    pub holder: String,
    pub until: String,
}

impl Store {
    /// Takes `name` for `holder` until `now + lease`; the current holder when someone else
    /// has it.
    pub async fn take_lock(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Result<(), LockHeld>, StoreError> {
        let taken = sqlx::query(
            "INSERT INTO locks (name, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE locks.until < $4 OR locks.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(ts(now + lease))
        .bind(ts(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if taken == 1 {
            return Ok(Ok(()));
        }
        let r = sqlx::query("SELECT holder, until FROM locks WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(Err(match r {
            Some(r) => LockHeld {
                holder: r.try_get("holder")?,
                until: r.try_get("until")?,
            },
            // Released between the two statements: report it as free-but-busy once.
            None => LockHeld {
                holder: "(just released)".into(),
                until: ts(now),
            },
        }))
    }

    /// Extends the holder's lease; false when it no longer holds the lock.
    pub async fn renew_lock(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.take_lock_from(name, holder, holder, until).await
    }

    /// Takes the lock over from `from`, a holder known to be dead (a process of this host
    /// that is gone); false when `from` no longer holds it.
    pub async fn take_lock_from(
        &self,
        name: &str,
        from: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("UPDATE locks SET holder = $3, until = $4 WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(from)
                .bind(holder)
                .bind(ts(until))
                .execute(&self.pool)
                .await?
                .rows_affected()
                == 1,
        )
    }

    /// Gives the lock up; false when this holder did not have it.
    pub async fn release_lock(&self, name: &str, holder: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM locks WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(&self.pool)
                .await?
                .rows_affected()
                == 1,
        )
    }
}
