//! Delivery over a DSP's HTTP API (custom REST, delivery notes §5), with reqwest.
//!
//! - Files are streamed from disk, never read whole. An upload resumes: `HEAD` asks how
//!   much the DSP holds (`Upload-Offset`), `PATCH` sends the rest from there.
//! - The message is `POST`ed with an `Idempotency-Key` (the message id): sending it again
//!   after a crash or a lost answer has no second effect at the DSP.
//! - Every failure says whether it is worth another attempt ([`HttpError::outcome`]): the
//!   retry decision itself is `transport::decide`, shared by every transport.

use std::path::Path;
use std::time::Duration;

use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{url}: {why}")]
    Connection { url: String, why: String },
    #[error("{url}: the DSP answered HTTP {code}: {body}{}", status_hint(*.code, self))]
    Status {
        url: String,
        code: u16,
        retry_after: Option<String>,
        body: String,
    },
    #[error("local file {path}: {why}")]
    Local { path: String, why: String },
    #[error("{path}: MD5 of the file is {got}, the message declares {expected}; not sent")]
    Digest {
        path: String,
        expected: String,
        got: String,
    },
}

/// What an operator can do about a refusal of our credentials.
fn status_hint(code: u16, e: &HttpError) -> &'static str {
    let HttpError::Status { .. } = e else {
        return "";
    };
    match code {
        401 => {
            " (the DSP did not accept Liner's credentials: check the bearer token the DSP profile's [transport] names with `token_env` or `token_file`, and that it has not expired)"
        }
        403 => {
            " (the DSP refused this account: check the token's permissions, or that the profile's endpoint is the one this account may use)"
        }
        _ => "",
    }
}

impl HttpError {
    /// (connection failure text, or HTTP code and Retry-After) for `transport::decide`.
    pub fn outcome(&self) -> (Option<&str>, Option<(u16, Option<&str>)>) {
        match self {
            HttpError::Connection { why, .. } => (Some(why.as_str()), None),
            HttpError::Status {
                code, retry_after, ..
            } => (None, Some((*code, retry_after.as_deref()))),
            // Local problems are not the DSP's: never retried.
            HttpError::Local { .. } | HttpError::Digest { .. } => (None, Some((400, None))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// What the DSP answered to a message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Receipt {
    pub receipt: String,
    pub message_id: String,
    pub status: String,
    pub error: Option<String>,
}

/// One file of a folder listing (sales reports).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Listed {
    pub name: String,
    pub size: u64,
}

/// One acknowledgement document as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AckDoc {
    pub name: String,
    pub document: String,
}

fn conn(url: &str, e: reqwest::Error) -> HttpError {
    HttpError::Connection {
        url: url.to_owned(),
        why: e.to_string(),
    }
}

async fn status_error(url: &str, r: reqwest::Response) -> HttpError {
    let code = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = r.text().await.unwrap_or_default();
    HttpError::Status {
        url: url.to_owned(),
        code,
        retry_after,
        body: body.chars().take(500).collect(),
    }
}

/// Bytes per read while streaming a file.
const CHUNK: usize = 1 << 20;

impl Client {
    pub fn new(
        base_url: &str,
        token: Option<String>,
        timeout: Duration,
    ) -> Result<Client, HttpError> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .build()
            .map_err(|e| conn(base_url, e))?;
        Ok(Client {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    fn req(&self, m: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(m, url);
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Bytes the DSP holds of an upload.
    pub async fn offset(&self, key: &str, path: &str) -> Result<u64, HttpError> {
        let url = format!("{}/uploads/{key}/{path}", self.base);
        let r = self
            .req(reqwest::Method::HEAD, &url)
            .send()
            .await
            .map_err(|e| conn(&url, e))?;
        if !r.status().is_success() {
            return Err(status_error(&url, r).await);
        }
        Ok(r.headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Uploads a file (resuming what the DSP holds), its MD5 checked over the whole file
    /// as it is read. Returns the bytes sent this time.
    pub async fn upload(
        &self,
        key: &str,
        path: &str,
        local: &Path,
        md5: &str,
        size: u64,
    ) -> Result<u64, HttpError> {
        let local_err = |e: std::io::Error| HttpError::Local {
            path: local.display().to_string(),
            why: e.to_string(),
        };
        let held = self.offset(key, path).await?;
        if held == size {
            return Ok(0);
        }
        let mut f = tokio::fs::File::open(local).await.map_err(local_err)?;
        // The held prefix is hashed from the local copy, so the digest covers it all.
        let from = if held > size { 0 } else { held };
        let mut hasher = Md5::new();
        let mut buf = vec![0u8; CHUNK];
        let mut left = from;
        while left > 0 {
            let n = f
                .read(&mut buf[..CHUNK.min(left as usize)])
                .await
                .map_err(local_err)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
        // Whole-file digest first: a file that changed since it was measured is not sent.
        let mut rest = tokio::fs::File::open(local).await.map_err(local_err)?;
        rest.seek(std::io::SeekFrom::Start(from))
            .await
            .map_err(local_err)?;
        loop {
            let n = rest.read(&mut buf).await.map_err(local_err)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let got = hex::encode(hasher.finalize());
        if !got.eq_ignore_ascii_case(md5) {
            return Err(HttpError::Digest {
                path: local.display().to_string(),
                expected: md5.to_owned(),
                got,
            });
        }
        f.seek(std::io::SeekFrom::Start(from))
            .await
            .map_err(local_err)?;
        let url = format!("{}/uploads/{key}/{path}", self.base);
        let body =
            reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(f, CHUNK));
        let r = self
            .req(reqwest::Method::PATCH, &url)
            .header("upload-offset", from.to_string())
            .header("upload-length", size.to_string())
            .header("content-length", (size - from).to_string())
            .body(body)
            .send()
            .await
            .map_err(|e| conn(&url, e))?;
        if !r.status().is_success() {
            return Err(status_error(&url, r).await);
        }
        Ok(size - from)
    }

    /// Posts the message under its idempotency key.
    pub async fn submit(&self, key: &str, xml: &[u8]) -> Result<Receipt, HttpError> {
        let url = format!("{}/messages", self.base);
        let r = self
            .req(reqwest::Method::POST, &url)
            .header("idempotency-key", key)
            .header("content-type", "application/xml")
            .body(xml.to_vec())
            .send()
            .await
            .map_err(|e| conn(&url, e))?;
        let code = r.status().as_u16();
        if code == 400 {
            // A refusal that still carries a receipt: the DSP's reason, for the operator.
            let text = r.text().await.unwrap_or_default();
            if let Ok(rc) = serde_json::from_str::<Receipt>(&text) {
                return Ok(rc);
            }
            return Err(HttpError::Status {
                url,
                code,
                retry_after: None,
                body: text,
            });
        }
        if !r.status().is_success() {
            return Err(status_error(&url, r).await);
        }
        r.json().await.map_err(|e| conn(&url, e))
    }

    /// `GET url`, a success status required.
    async fn get(&self, url: &str) -> Result<reqwest::Response, HttpError> {
        let r = self
            .req(reqwest::Method::GET, url)
            .send()
            .await
            .map_err(|e| conn(url, e))?;
        if !r.status().is_success() {
            return Err(status_error(url, r).await);
        }
        Ok(r)
    }

    /// The files in a folder of the DSP's API (sales reports): `GET {base}/{folder}`.
    pub async fn list(&self, folder: &str) -> Result<Vec<Listed>, HttpError> {
        let url = format!("{}/{}", self.base, folder.trim_matches('/'));
        self.get(&url)
            .await?
            .json()
            .await
            .map_err(|e| conn(&url, e))
    }

    /// Streams one file of such a folder into a local file (created or truncated); the
    /// bytes written.
    pub async fn download(
        &self,
        folder: &str,
        name: &str,
        dest: &std::path::Path,
    ) -> Result<u64, HttpError> {
        use tokio::io::AsyncWriteExt;
        let url = format!("{}/{}/{name}", self.base, folder.trim_matches('/'));
        let mut r = self.get(&url).await?;
        let local = |e: std::io::Error| HttpError::Local {
            path: dest.display().to_string(),
            why: e.to_string(),
        };
        let mut f = tokio::fs::File::create(dest).await.map_err(local)?;
        let mut n = 0u64;
        while let Some(chunk) = r.chunk().await.map_err(|e| conn(&url, e))? {
            f.write_all(&chunk).await.map_err(local)?;
            n += chunk.len() as u64;
        }
        f.sync_all().await.map_err(local)?;
        Ok(n)
    }

    /// Acknowledgements the DSP has written for a message.
    pub async fn acks(&self, message_id: &str) -> Result<Vec<AckDoc>, HttpError> {
        let url = format!("{}/acks/{message_id}", self.base);
        self.get(&url)
            .await?
            .json()
            .await
            .map_err(|e| conn(&url, e))
    }
}

#[cfg(test)]
mod hint_tests {
    use super::*;

    /// Hardening defect 16: an HTTP 401 gave no hint about the token setting.
    #[test]
    fn defect_16_a_401_names_the_token_setting() {
        let e = HttpError::Status {
            url: "https://dsp.example/ern".into(),
            code: 401,
            retry_after: None,
            body: "unauthorized".into(),
        };
        let text = e.to_string();
        assert!(
            text.contains("token_env") && text.contains("token_file"),
            "{text}"
        );
        let e = HttpError::Status {
            url: "u".into(),
            code: 500,
            retry_after: None,
            body: "x".into(),
        };
        assert_eq!(e.to_string(), "u: the DSP answered HTTP 500: x");
    }
}
