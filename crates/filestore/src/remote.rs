//! The object-store backend (S3 API): blobs under `<prefix>/sha256/<ab>/<hex>` in a bucket,
//! for distributors whose hosts share no file system. Uploads stream from a local temporary
//! copy (multipart for large files) and are verified by SHA-256 as they are read; downloads
//! land in the local cache only once their bytes hash to their name.
//!
//! The rest of Liner calls the file store synchronously (often from blocking tasks); the
//! object-store client is async, so it runs on a small runtime of its own, driven from a
//! helper thread per call (a caller may itself be on an async runtime thread).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use model::ContentHash;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::{Blob, Digests, FileStoreError};

/// Parts of a multipart upload; files up to this size go in one request.
const PART: usize = 8 << 20;

/// Where the bucket is and how to reach it, from `files = "s3://bucket/prefix"` and the
/// environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_REGION`; the secret is never printed).
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    pub prefix: String,
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub region: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "(set)"),
            )
            .field("region", &self.region)
            .finish()
    }
}

impl S3Settings {
    /// `s3://bucket/prefix`, the rest from `env`.
    pub fn from_url(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<S3Settings, FileStoreError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| FileStoreError::Remote {
                url: url.to_owned(),
                why: "expected s3://BUCKET/PREFIX".into(),
            })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(FileStoreError::Remote {
                url: url.to_owned(),
                why: "no bucket name (expected s3://BUCKET/PREFIX)".into(),
            });
        }
        Ok(S3Settings {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint: env("AWS_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT")),
            access_key_id: env("AWS_ACCESS_KEY_ID"),
            secret_access_key: env("AWS_SECRET_ACCESS_KEY"),
            region: env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
        })
    }

    /// The URL people see: bucket and prefix, never a credential.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

pub(crate) struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
    /// Taken only by `drop`.
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Dropped from async code too (the app's handle): never block there.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish()
    }
}

impl Remote {
    /// Connects and checks the bucket can be listed: an unreachable endpoint, refused
    /// credentials or a missing bucket fail here, once, naming the URL.
    pub(crate) fn open(s: &S3Settings) -> Result<Remote, FileStoreError> {
        let url = s.url();
        let fail = |why: String| FileStoreError::Remote {
            url: url.clone(),
            why,
        };
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_virtual_hosted_style_request(false)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(300)),
            );
        if let Some(e) = &s.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        if let (Some(k), Some(v)) = (&s.access_key_id, &s.secret_access_key) {
            b = b.with_access_key_id(k).with_secret_access_key(v);
        }
        let store = b.build().map_err(|e| fail(plain(&e)))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("filestore-s3")
            .enable_all()
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let r = Remote {
            store: Arc::new(store),
            prefix: s.prefix.clone(),
            url: url.clone(),
            rt: Some(rt),
        };
        let probe = r.key("sha256");
        r.run(async {
            let mut list = r.store.list(Some(&probe));
            match list.next().await {
                Some(Err(e)) => Err(e),
                _ => Ok(()),
            }
        })
        .map_err(|e| fail(plain(&e)))?;
        Ok(r)
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Runs a future on the store's runtime from any thread, async or not.
    fn run<T: Send>(&self, fut: impl std::future::Future<Output = T> + Send) -> T {
        let Some(rt) = &self.rt else {
            unreachable!("the runtime is only taken when the store is dropped")
        };
        std::thread::scope(|s| {
            s.spawn(|| rt.block_on(fut))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    fn key(&self, rel: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    fn blob_key(&self, hash: &ContentHash) -> ObjectPath {
        let hex = hash.hex();
        self.key(&format!("sha256/{}/{hex}", &hex[..2]))
    }

    fn error(&self, hash: &ContentHash, e: &object_store::Error) -> FileStoreError {
        FileStoreError::Remote {
            url: format!("{}/sha256/{}", self.url, hash.hex()),
            why: plain(e),
        }
    }

    pub(crate) fn contains(&self, hash: &ContentHash) -> Result<bool, FileStoreError> {
        let key = self.blob_key(hash);
        match self.run(self.store.head(&key)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(hash, &e)),
        }
    }

    /// Uploads a local file whose digests are known, unless the bucket has it; the bytes
    /// are hashed again as they are sent, and a file that changed meanwhile is not kept.
    pub(crate) fn upload(&self, file: &Path, d: &Digests) -> Result<(), FileStoreError> {
        if self.contains(&d.sha256)? {
            return Ok(());
        }
        let key = self.blob_key(&d.sha256);
        let io = |e: std::io::Error| FileStoreError::Io {
            path: file.to_owned(),
            source: e,
        };
        let mut input = File::open(file).map_err(io)?;
        let sent = self.run(async {
            let mut sha = Sha256::new();
            let mut buf = vec![0u8; PART];
            if d.size <= PART as u64 {
                let n = read_full(&mut input, &mut buf).map_err(io)?;
                sha.update(&buf[..n]);
                buf.truncate(n);
                self.store
                    .put(&key, buf.into())
                    .await
                    .map_err(|e| self.error(&d.sha256, &e))?;
            } else {
                let upload = self
                    .store
                    .put_multipart(&key)
                    .await
                    .map_err(|e| self.error(&d.sha256, &e))?;
                let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
                loop {
                    let n = read_full(&mut input, &mut buf).map_err(io)?;
                    if n == 0 {
                        break;
                    }
                    sha.update(&buf[..n]);
                    w.wait_for_capacity(4)
                        .await
                        .map_err(|e| self.error(&d.sha256, &e))?;
                    w.write(&buf[..n]);
                }
                w.finish().await.map_err(|e| self.error(&d.sha256, &e))?;
            }
            Ok::<ContentHash, FileStoreError>(ContentHash::from_digest(&sha.finalize().into()))
        })?;
        if sent != d.sha256 {
            let _ = self.run(self.store.delete(&key));
            return Err(FileStoreError::Corrupt {
                path: file.to_owned(),
                expected: d.sha256.clone(),
                actual: sent,
            });
        }
        Ok(())
    }

    /// Streams a blob into `dest`, hashing it; the digests of what arrived.
    pub(crate) fn download(
        &self,
        hash: &ContentHash,
        dest: &mut (dyn Write + Send),
        dest_path: &Path,
    ) -> Result<Digests, FileStoreError> {
        let key = self.blob_key(hash);
        self.run(async {
            let got = match self.store.get(&key).await {
                Ok(g) => g,
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(FileStoreError::Missing {
                        hash: hash.clone(),
                        root: PathBuf::from(&self.url),
                    });
                }
                Err(e) => return Err(self.error(hash, &e)),
            };
            let mut stream = got.into_stream();
            let mut sha = Sha256::new();
            let mut md5 = md5::Md5::new();
            let mut size = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.error(hash, &e))?;
                sha.update(&chunk);
                md5.update(&chunk);
                size += chunk.len() as u64;
                dest.write_all(&chunk).map_err(|e| FileStoreError::Io {
                    path: dest_path.to_owned(),
                    source: e,
                })?;
            }
            Ok(Digests {
                sha256: ContentHash::from_digest(&sha.finalize().into()),
                md5: hex::encode(md5.finalize()),
                size,
            })
        })
    }

    /// Every blob under the prefix.
    pub(crate) fn blobs(&self) -> Result<Vec<Blob>, FileStoreError> {
        let top = self.key("sha256");
        let metas = self.run(async {
            let mut out = Vec::new();
            let mut list = self.store.list(Some(&top));
            while let Some(m) = list.next().await {
                out.push(m?);
            }
            Ok::<_, object_store::Error>(out)
        });
        let metas = metas.map_err(|e| FileStoreError::Remote {
            url: self.url.clone(),
            why: plain(&e),
        })?;
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let name = m.location.filename()?.to_owned();
                let hash = ContentHash::parse(&format!("sha256:{name}")).ok()?;
                Some(Blob {
                    hash,
                    path: PathBuf::from(m.location.to_string()),
                    size: m.size,
                    modified: Some(std::time::SystemTime::from(m.last_modified)),
                })
            })
            .collect())
    }

    pub(crate) fn delete(&self, hash: &ContentHash) -> Result<(), FileStoreError> {
        let key = self.blob_key(hash);
        match self.run(self.store.delete(&key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(hash, &e)),
        }
    }
}

/// Fills `buf` unless the input ends first; how much was read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// An object-store error for people: its message without the request dump, and the
/// likely cause for the usual failures.
fn plain(e: &object_store::Error) -> String {
    let text = e.to_string();
    let lower = text.to_lowercase();
    let hint = if lower.contains("nosuchbucket") || lower.contains("bucket does not exist") {
        "the bucket does not exist"
    } else if lower.contains("accessdenied")
        || lower.contains("signaturedoesnotmatch")
        || lower.contains("invalidaccesskeyid")
        || lower.contains("403")
    {
        "the credentials were refused (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
    } else if lower.contains("connect")
        || lower.contains("dns")
        || lower.contains("timed out")
        || lower.contains("error sending request")
    {
        "the endpoint cannot be reached (AWS_ENDPOINT_URL)"
    } else {
        ""
    };
    let first = text.lines().next().unwrap_or_default();
    let first: String = first.chars().take(300).collect();
    if hint.is_empty() {
        first
    } else {
        format!("{hint} ({first})")
    }
}
