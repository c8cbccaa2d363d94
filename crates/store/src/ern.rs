//! The history of ERN messages built per release and DSP.

use sqlx::Row;

use crate::{Store, StoreError};

/// One message Liner built for a DSP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SentMessage {
    pub id: i64,
    pub upc: String,
    pub dsp: String,
    pub revision: i64,
    pub message_id: String,
    /// new | update | takedown | purge
    pub intent: String,
    pub ern_version: String,
    pub created_at: String,
    pub sha256: String,
}

#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub upc: &'a str,
    pub dsp: &'a str,
    pub revision: i64,
    pub message_id: &'a str,
    pub intent: &'a str,
    pub ern_version: &'a str,
    pub created_at: &'a str,
    pub xml: &'a str,
}

const COLUMNS: &str = "id, upc, dsp, revision, message_id, intent, ern_version, created_at, sha256";

fn row(r: &sqlx::any::AnyRow) -> Result<SentMessage, StoreError> {
    Ok(SentMessage {
        id: r.try_get("id")?,
        upc: r.try_get("upc")?,
        dsp: r.try_get("dsp")?,
        revision: r.try_get("revision")?,
        message_id: r.try_get("message_id")?,
        intent: r.try_get("intent")?,
        ern_version: r.try_get("ern_version")?,
        created_at: r.try_get("created_at")?,
        sha256: r.try_get("sha256")?,
    })
}

impl Store {
    /// Records a built message; its id (a message id is unique per DSP).
    pub async fn record_message(&self, m: &NewMessage<'_>) -> Result<i64, StoreError> {
        use sha2::Digest;
        let sha = hex::encode(sha2::Sha256::digest(m.xml.as_bytes()));
        let r = sqlx::query(
            "INSERT INTO ern_messages (upc, dsp, revision, message_id, intent, ern_version, created_at, sha256, xml) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(m.upc)
        .bind(m.dsp)
        .bind(m.revision)
        .bind(m.message_id)
        .bind(m.intent)
        .bind(m.ern_version)
        .bind(m.created_at)
        .bind(sha)
        .bind(m.xml)
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Every message built for a release at a DSP, oldest first.
    pub async fn messages(&self, upc: &str, dsp: &str) -> Result<Vec<SentMessage>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM ern_messages WHERE upc = $1 AND dsp = $2 ORDER BY id"
        ))
        .bind(upc)
        .bind(dsp)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row).collect()
    }
}

impl Store {
    /// The XML of a recorded message.
    pub async fn message_xml(&self, id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT xml FROM ern_messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("xml")?),
            None => None,
        })
    }
}
