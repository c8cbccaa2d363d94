//! Deliveries and their acknowledgements. Status moves follow the choreography's state
//! machine (`choreography::DeliveryStatus::can_move_to`) and are compare-and-set, so a
//! delivery is moved by one worker at a time and a crash leaves it where it was.

use choreography::DeliveryStatus;
use sqlx::Row;

use crate::{Store, StoreError, now};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub upc: String,
    pub dsp: String,
    pub revision: i64,
    pub message_id: String,
    pub intent: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub bytes: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub uploaded_at: Option<String>,
    /// When the batch or release folder was made (its name); None before packaging.
    pub package_at: Option<String>,
    pub priority: bool,
}

/// One file of a delivery, in upload order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryFile {
    pub seq: i64,
    pub uri: String,
    pub source: String,
    pub md5: String,
    pub size: i64,
    pub sent_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub upc: &'a str,
    pub dsp: &'a str,
    pub revision: i64,
    pub message_id: &'a str,
    pub intent: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AckRow {
    pub id: i64,
    pub dsp: String,
    pub message_id: String,
    pub source: String,
    pub acked_at: String,
    pub received_at: String,
    pub status: String,
    pub action: String,
    pub error_text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewAck<'a> {
    pub dsp: &'a str,
    pub message_id: &'a str,
    pub source: &'a str,
    pub acked_at: &'a str,
    pub status: &'a str,
    pub action: &'a str,
    pub error_text: Option<&'a str>,
    pub document: &'a str,
}

const DELIVERY_COLUMNS: &str = "id, upc, dsp, revision, message_id, intent, status, attempts, bytes, last_error, created_at, updated_at, uploaded_at, package_at, priority";

fn delivery_row(r: &sqlx::any::AnyRow) -> Result<DeliveryRow, StoreError> {
    let status: String = r.try_get("status")?;
    Ok(DeliveryRow {
        id: r.try_get("id")?,
        upc: r.try_get("upc")?,
        dsp: r.try_get("dsp")?,
        revision: r.try_get("revision")?,
        message_id: r.try_get("message_id")?,
        intent: r.try_get("intent")?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
            upc: r.try_get("upc").unwrap_or_default(),
            revision: r.try_get("revision").unwrap_or_default(),
            why: format!("delivery status {status:?}"),
        })?,
        attempts: r.try_get("attempts")?,
        bytes: r.try_get("bytes")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        uploaded_at: r.try_get("uploaded_at")?,
        package_at: r.try_get("package_at")?,
        priority: r.try_get::<i64, _>("priority")? != 0,
    })
}

impl Store {
    /// Queues a delivery; the same message to the same DSP again returns the existing one
    /// (a message takes effect once).
    pub async fn queue_delivery(&self, d: &NewDelivery<'_>) -> Result<DeliveryRow, StoreError> {
        self.queue(d, None, false, &[]).await
    }

    /// Queues a delivery with its files (upload order) and package time, in one
    /// transaction: a delivery is never there without its file list. The same message to
    /// the same DSP again returns the existing delivery untouched.
    pub async fn queue_package(
        &self,
        d: &NewDelivery<'_>,
        package_at: &str,
        priority: bool,
        files: &[(String, String, String, i64)],
    ) -> Result<DeliveryRow, StoreError> {
        self.queue(d, Some(package_at), priority, files).await
    }

    async fn queue(
        &self,
        d: &NewDelivery<'_>,
        package_at: Option<&str>,
        priority: bool,
        files: &[(String, String, String, i64)],
    ) -> Result<DeliveryRow, StoreError> {
        let at = now();
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO deliveries (upc, dsp, revision, message_id, intent, status, created_at, updated_at, package_at, priority) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6, $7, $8) ON CONFLICT (dsp, message_id) DO NOTHING",
        )
        .bind(d.upc)
        .bind(d.dsp)
        .bind(d.revision)
        .bind(d.message_id)
        .bind(d.intent)
        .bind(&at)
        .bind(package_at)
        .bind(i64::from(priority))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let r = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE dsp = $1 AND message_id = $2"
        ))
        .bind(d.dsp)
        .bind(d.message_id)
        .fetch_one(&mut *tx)
        .await?;
        let row = delivery_row(&r)?;
        if inserted {
            for (seq, (uri, source, md5, size)) in files.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO delivery_files (delivery_id, seq, uri, source, md5, size) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(row.id)
                .bind(seq as i64)
                .bind(uri)
                .bind(source)
                .bind(md5)
                .bind(*size)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(row)
    }

    /// A delivery's files in upload order.
    pub async fn delivery_files(&self, id: i64) -> Result<Vec<DeliveryFile>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, uri, source, md5, size, sent_at FROM delivery_files WHERE delivery_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryFile {
                    seq: r.try_get("seq")?,
                    uri: r.try_get("uri")?,
                    source: r.try_get("source")?,
                    md5: r.try_get("md5")?,
                    size: r.try_get("size")?,
                    sent_at: r.try_get("sent_at")?,
                })
            })
            .collect()
    }

    /// Marks one file as being in place at the DSP.
    pub async fn mark_sent(&self, id: i64, seq: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE delivery_files SET sent_at = $1 WHERE delivery_id = $2 AND seq = $3")
            .bind(now())
            .bind(id)
            .bind(seq)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A resend the DSP asked for: a new package folder, every file to be sent again.
    pub async fn repackage(&self, id: i64, package_at: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE deliveries SET package_at = $1, updated_at = $2 WHERE id = $3")
            .bind(package_at)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE delivery_files SET sent_at = NULL WHERE delivery_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest delivery of a release to a DSP.
    pub async fn latest_delivery(
        &self,
        upc: &str,
        dsp: &str,
    ) -> Result<Option<DeliveryRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE upc = $1 AND dsp = $2 ORDER BY id DESC LIMIT 1"
        ))
        .bind(upc)
        .bind(dsp)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(delivery_row).transpose()
    }

    /// Records that a notice went out; false when it already had (nothing recorded).
    pub async fn record_notice(
        &self,
        delivery_id: i64,
        kind: &str,
        detail: &str,
        recipient: &str,
        how: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO notices (delivery_id, kind, detail, recipient, how, sent_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (delivery_id, kind, detail) DO NOTHING",
        )
        .bind(delivery_id)
        .bind(kind)
        .bind(detail)
        .bind(recipient)
        .bind(how)
        .bind(now())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Whether a notice of this kind and detail went out for the delivery.
    pub async fn notice_sent(
        &self,
        delivery_id: i64,
        kind: &str,
        detail: &str,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM notices WHERE delivery_id = $1 AND kind = $2 AND detail = $3",
        )
        .bind(delivery_id)
        .bind(kind)
        .bind(detail)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(delivery_row).transpose()
    }

    /// Every delivery, oldest first.
    pub async fn deliveries(&self) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery_row).collect()
    }

    /// Moves a delivery from `from` to `to` if it is still at `from`; false when another
    /// worker moved it first. Starting an upload counts an attempt; `bytes` records what was
    /// sent; an error is kept until the next successful move.
    pub async fn move_delivery(
        &self,
        id: i64,
        from: DeliveryStatus,
        to: DeliveryStatus,
        bytes: Option<i64>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        if !from.can_move_to(to) {
            return Err(StoreError::BadMove {
                from: from.as_str(),
                to: to.as_str(),
            });
        }
        let at = now();
        let attempt = i64::from(to == DeliveryStatus::Uploading);
        let uploaded = (to == DeliveryStatus::Uploaded).then(|| at.clone());
        let done = sqlx::query(
            "UPDATE deliveries SET status = $1, attempts = attempts + $2, bytes = COALESCE($3, bytes), \
             last_error = $4, updated_at = $5, uploaded_at = COALESCE($6, uploaded_at) \
             WHERE id = $7 AND status = $8",
        )
        .bind(to.as_str())
        .bind(attempt)
        .bind(bytes)
        .bind(error)
        .bind(&at)
        .bind(uploaded)
        .bind(id)
        .bind(from.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Keeps an acknowledgement; true when it is new (the same source twice is one).
    pub async fn record_ack(&self, a: &NewAck<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO acknowledgements (dsp, message_id, source, acked_at, received_at, status, action, error_text, document) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (dsp, message_id, source) DO NOTHING",
        )
        .bind(a.dsp)
        .bind(a.message_id)
        .bind(a.source)
        .bind(a.acked_at)
        .bind(now())
        .bind(a.status)
        .bind(a.action)
        .bind(a.error_text)
        .bind(a.document)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Every acknowledgement of a message, in the order received.
    pub async fn acks(&self, dsp: &str, message_id: &str) -> Result<Vec<AckRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, dsp, message_id, source, acked_at, received_at, status, action, error_text \
             FROM acknowledgements WHERE dsp = $1 AND message_id = $2 ORDER BY id",
        )
        .bind(dsp)
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AckRow {
                    id: r.try_get("id")?,
                    dsp: r.try_get("dsp")?,
                    message_id: r.try_get("message_id")?,
                    source: r.try_get("source")?,
                    acked_at: r.try_get("acked_at")?,
                    received_at: r.try_get("received_at")?,
                    status: r.try_get("status")?,
                    action: r.try_get("action")?,
                    error_text: r.try_get("error_text")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// Records a file made from `source` in `codec` (its bytes already in the file store).
    pub async fn record_derived(
        &self,
        source: &model::ContentHash,
        codec: &str,
        derived: &crate::FileRecord,
    ) -> Result<(), StoreError> {
        let at = now();
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO files (sha256, md5, size, original_name, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING")
            .bind(derived.sha256.to_string())
            .bind(&derived.md5)
            .bind(derived.size as i64)
            .bind(&derived.original_name)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO derived_files (source, codec, derived, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (source, codec) DO NOTHING")
            .bind(source.to_string())
            .bind(codec)
            .bind(derived.sha256.to_string())
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The file made from `source` in `codec`, if one was.
    pub async fn derived(
        &self,
        source: &model::ContentHash,
        codec: &str,
    ) -> Result<Option<crate::FileRecord>, StoreError> {
        let row = sqlx::query("SELECT derived FROM derived_files WHERE source = $1 AND codec = $2")
            .bind(source.to_string())
            .bind(codec)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let hash: String = r.try_get("derived")?;
        let hash = model::ContentHash::parse(&hash).map_err(|e| StoreError::Corrupt {
            upc: String::new(),
            revision: 0,
            why: format!("derived file hash: {e}"),
        })?;
        self.file(&hash).await
    }
}
