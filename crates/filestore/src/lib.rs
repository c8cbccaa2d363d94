//! Content-addressed store for audio, artwork and reports, keyed by SHA-256.
//!
//! Layout: `<root>/sha256/<first 2 hex>/<64 hex>`. A file is streamed once through SHA-256
//! and MD5 (ERN's HashSum needs one of them, some DSPs the other) into a temporary file in
//! `<root>/tmp`, flushed to disk, then renamed into place, so a crash never leaves a partial
//! file under a content name. Putting the same bytes twice stores them once. Reads verify the
//! hash, so silent corruption on disk is reported rather than shipped to a DSP.
//!
//! Several workers on several hosts may share one root (a mounted volume): rename is atomic
//! and the content name is the same whoever writes it. Hosts that share no file system put
//! the blobs in an object store instead (`remote.rs`, S3 API); the folder is then a local
//! cache of verified copies, and the bucket is the store.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use md5::Md5;
use model::ContentHash;
use sha2::{Digest, Sha256};

mod remote;
pub mod seaweed;
pub use remote::S3Settings;

#[derive(Debug, thiserror::Error)]
pub enum FileStoreError {
    #[error("file store at {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{hash} is not in the file store at {root}")]
    Missing { hash: ContentHash, root: PathBuf },
    #[error("file store {url}: {why}")]
    Remote { url: String, why: String },
    #[error("stored file {path} is corrupt: its content hashes to {actual}, not {expected}")]
    Corrupt {
        path: PathBuf,
        expected: ContentHash,
        actual: ContentHash,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> FileStoreError + '_ {
    move |source| FileStoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What the store knows about a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub sha256: ContentHash,
    /// Lower-case hex MD5.
    pub md5: String,
    pub size: u64,
}

/// Reads `input` to the end once, hashing it with SHA-256 and MD5 and, when given, copying it
/// into `copy` (named by the path for errors).
fn digest_stream(
    mut input: impl Read,
    what: &Path,
    mut copy: Option<(&mut dyn Write, &Path)>,
) -> Result<Digests, FileStoreError> {
    let mut sha = Sha256::new();
    let mut md5 = Md5::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = input.read(&mut buf).map_err(io_err(what))?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        md5.update(&buf[..n]);
        if let Some((w, path)) = copy.as_mut() {
            w.write_all(&buf[..n]).map_err(io_err(path))?;
        }
        size += n as u64;
    }
    Ok(Digests {
        sha256: ContentHash::from_digest(&sha.finalize().into()),
        md5: hex::encode(md5.finalize()),
        size,
    })
}

#[derive(Debug, Clone)]
pub struct FileStore {
    /// The store's folder; with a remote, the local cache of verified copies.
    root: PathBuf,
    remote: Option<Arc<remote::Remote>>,
}

const CHUNK: usize = 256 * 1024;

/// A file in the store's folder, as `liner files gc` sees it.
#[derive(Debug, Clone)]
pub struct Blob {
    pub hash: ContentHash,
    pub path: PathBuf,
    pub size: u64,
    pub modified: Option<std::time::SystemTime>,
}

impl FileStore {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<FileStore, FileStoreError> {
        let root = root.into();
        for dir in [root.join("sha256"), root.join("tmp")] {
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        }
        Ok(FileStore { root, remote: None })
    }

    /// Opens a store in an S3 bucket, with `cache` as the local folder for verified copies
    /// and staging. The bucket is checked once here: an unreachable endpoint, refused
    /// credentials or a missing bucket are one error naming the URL (never the secret).
    pub fn open_s3(cache: impl Into<PathBuf>, s: &S3Settings) -> Result<FileStore, FileStoreError> {
        let mut store = FileStore::open(cache)?;
        store.remote = Some(Arc::new(remote::Remote::open(s)?));
        Ok(store)
    }

    /// The local folder (the cache, for a store in a bucket).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blobs are, for people: the folder, or the bucket's URL.
    pub fn location(&self) -> String {
        match &self.remote {
            Some(r) => r.url().to_owned(),
            None => self.root.display().to_string(),
        }
    }

    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// Where the bytes with this hash live locally (whether or not they are there): the
    /// store's file, or the cache's copy of a blob in a bucket (see `local_copy`).
    pub fn path_of(&self, hash: &ContentHash) -> PathBuf {
        let hex = hash.hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }

    /// Whether the store holds these bytes; false too when the bucket cannot be asked
    /// (`has` says why).
    pub fn contains(&self, hash: &ContentHash) -> bool {
        self.has(hash).unwrap_or(false)
    }

    pub fn has(&self, hash: &ContentHash) -> Result<bool, FileStoreError> {
        match &self.remote {
            Some(r) => r.contains(hash),
            None => Ok(self.path_of(hash).is_file()),
        }
    }

    /// A local file with the blob's bytes: the store's own, or (for a bucket) a cached
    /// copy, downloaded and verified against its hash first if it is not there yet.
    pub fn local_copy(&self, hash: &ContentHash) -> Result<PathBuf, FileStoreError> {
        let path = self.path_of(hash);
        if path.is_file() {
            return Ok(path);
        }
        let Some(r) = &self.remote else {
            return Err(FileStoreError::Missing {
                hash: hash.clone(),
                root: self.root.clone(),
            });
        };
        let tmp_dir = self.root.join("tmp");
        let mut tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io_err(&tmp_dir))?;
        let tmp_path = tmp.path().to_owned();
        let d = r.download(hash, &mut tmp, &tmp_path)?;
        if &d.sha256 != hash {
            return Err(FileStoreError::Corrupt {
                path: PathBuf::from(format!("{}/sha256/{}", r.url(), hash.hex())),
                expected: hash.clone(),
                actual: d.sha256,
            });
        }
        tmp.as_file().sync_all().map_err(io_err(&tmp_path))?;
        let parent = path.parent().unwrap_or(&self.root).to_owned();
        fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        tmp.persist(&path).map_err(|e| FileStoreError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(path)
    }

    /// A local file with the blob's bytes, re-hashed now: what is sent to a DSP is what was
    /// stored, or nothing is sent.
    pub fn verified_copy(&self, hash: &ContentHash) -> Result<PathBuf, FileStoreError> {
        let fresh = !self.path_of(hash).is_file();
        let path = self.local_copy(hash)?;
        if !fresh {
            let d = FileStore::digest_file(&path)?;
            if &d.sha256 != hash {
                // A cached copy gone bad is dropped; the bucket's is fetched again.
                if self.remote.is_some() {
                    let _ = fs::remove_file(&path);
                    return self.local_copy(hash);
                }
                return Err(FileStoreError::Corrupt {
                    path,
                    expected: hash.clone(),
                    actual: d.sha256,
                });
            }
        }
        Ok(path)
    }

    /// Removes a blob (`liner files gc`): its file, or its object and cached copy.
    pub fn remove(&self, blob: &Blob) -> Result<(), FileStoreError> {
        if let Some(r) = &self.remote {
            r.delete(&blob.hash)?;
            let _ = fs::remove_file(self.path_of(&blob.hash));
            return Ok(());
        }
        fs::remove_file(&blob.path).map_err(io_err(&blob.path))
    }

    /// Streams `src` into the store and returns its digests.
    pub fn put_file(&self, src: &Path) -> Result<Digests, FileStoreError> {
        let input = File::open(src).map_err(io_err(src))?;
        self.put_reader(input, src)
    }

    /// Streams any reader into the store. `what` names the source in errors.
    pub fn put_reader(&self, input: impl Read, what: &Path) -> Result<Digests, FileStoreError> {
        let tmp_dir = self.root.join("tmp");
        let mut tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io_err(&tmp_dir))?;
        let tmp_path = tmp.path().to_owned();
        let digests = digest_stream(input, what, Some((&mut tmp, &tmp_path)))?;
        if let Some(r) = &self.remote {
            // Staged locally (the name is its hash), then sent; the staging copy goes.
            r.upload(&tmp_path, &digests)?;
            return Ok(digests);
        }
        let dest = self.path_of(&digests.sha256);
        if dest.is_file() {
            // Same bytes already stored; the temp file is removed on drop. Marking the blob
            // as just written keeps `liner files gc` (which spares recent blobs) off it while
            // the caller goes on to record its reference.
            if let Ok(f) = File::options().append(true).open(&dest) {
                let _ = f.set_modified(std::time::SystemTime::now());
            }
            return Ok(digests);
        }
        tmp.as_file().sync_all().map_err(io_err(&tmp_path))?;
        let parent = dest.parent().unwrap_or(&self.root).to_owned();
        fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        tmp.persist(&dest).map_err(|e| FileStoreError::Io {
            path: dest.clone(),
            source: e.error,
        })?;
        Ok(digests)
    }

    /// Every stored blob, read from the folder (not the catalog): for `liner files gc`.
    /// Names that are not a SHA-256 in its right folder are skipped, never touched.
    pub fn blobs(&self) -> Result<Vec<Blob>, FileStoreError> {
        if let Some(r) = &self.remote {
            return r.blobs();
        }
        let mut out = Vec::new();
        let top = self.root.join("sha256");
        for dir in fs::read_dir(&top).map_err(io_err(&top))? {
            let dir = dir.map_err(io_err(&top))?.path();
            let Some(prefix) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            if !dir.is_dir() || prefix.len() != 2 {
                continue;
            }
            for f in fs::read_dir(&dir).map_err(io_err(&dir))? {
                let path = f.map_err(io_err(&dir))?.path();
                let Some(hex) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let Ok(hash) = ContentHash::parse(&format!("sha256:{hex}")) else {
                    continue;
                };
                if !hex.starts_with(&prefix) {
                    continue;
                }
                let meta = fs::symlink_metadata(&path).map_err(io_err(&path))?;
                if !meta.is_file() {
                    continue;
                }
                out.push(Blob {
                    hash,
                    path,
                    size: meta.len(),
                    modified: meta.modified().ok(),
                });
            }
        }
        Ok(out)
    }

    /// Temporary files a write left behind (a process killed mid-write, a full disk).
    pub fn temp_files(&self) -> Result<Vec<Blob>, FileStoreError> {
        let tmp = self.root.join("tmp");
        let mut out = Vec::new();
        for f in fs::read_dir(&tmp).map_err(io_err(&tmp))? {
            let path = f.map_err(io_err(&tmp))?.path();
            let meta = fs::symlink_metadata(&path).map_err(io_err(&path))?;
            if meta.is_file() {
                out.push(Blob {
                    hash: ContentHash::from_digest(&[0; 32]),
                    path,
                    size: meta.len(),
                    modified: meta.modified().ok(),
                });
            }
        }
        Ok(out)
    }

    /// Hashes a file without storing it.
    pub fn digest_file(path: &Path) -> Result<Digests, FileStoreError> {
        let input = File::open(path).map_err(io_err(path))?;
        digest_stream(input, path, None)
    }

    /// Reads stored bytes, checking they still hash to their name.
    pub fn read_verified(&self, hash: &ContentHash) -> Result<Vec<u8>, FileStoreError> {
        let path = self.local_copy(hash)?;
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        let actual = ContentHash::from_digest(&Sha256::digest(&bytes).into());
        if &actual != hash {
            return Err(FileStoreError::Corrupt {
                path,
                expected: hash.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Re-hashes a stored file (streaming) and returns its digests, or why it is not intact.
    pub fn verify(&self, hash: &ContentHash) -> Result<Digests, FileStoreError> {
        if let Some(r) = &self.remote {
            let d = r.download(hash, &mut io::sink(), Path::new("(nowhere)"))?;
            if &d.sha256 != hash {
                return Err(FileStoreError::Corrupt {
                    path: PathBuf::from(format!("{}/sha256/{}", r.url(), hash.hex())),
                    expected: hash.clone(),
                    actual: d.sha256,
                });
            }
            return Ok(d);
        }
        let path = self.path_of(hash);
        if !path.is_file() {
            return Err(FileStoreError::Missing {
                hash: hash.clone(),
                root: self.root.clone(),
            });
        }
        let d = FileStore::digest_file(&path)?;
        if &d.sha256 != hash {
            return Err(FileStoreError::Corrupt {
                path,
                expected: hash.clone(),
                actual: d.sha256,
            });
        }
        Ok(d)
    }
}
