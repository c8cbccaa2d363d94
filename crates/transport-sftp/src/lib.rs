//! Delivery over SFTP with libssh2 (the `ssh2` crate), blocking: callers run it on a
//! blocking thread.
//!
//! - The server's host key is checked before anything is sent: against a known_hosts file
//!   or a pinned `SHA256:` fingerprint. An unknown or changed key ends the connection with
//!   an error that says which key was offered; nothing is ever trusted on first use.
//! - Files go up under a temporary name (`name.part`) and are renamed into place, so a DSP
//!   that ingests on arrival never sees half a file. OpenSSH's SFTP v3 refuses to rename
//!   onto an existing file (`SSH_FX_FAILURE`): the stale target is removed and the rename
//!   tried once more.
//! - A `.part` left by a dropped connection is resumed, not restarted: the upload goes on
//!   from its size less a safety margin (pipelined writes can leave a ragged tail).
//! - The file's digest (its SHA-256 content address, or the MD5 a message declares) is
//!   computed over the bytes as they are sent (the resumed prefix re-read locally), on a
//!   thread of its own; a file that no longer matches is not renamed into place.
//! - Writes are 1 MiB: libssh2 pipelines a large write into many SFTP packets, which is what
//!   keeps the link full (32 KiB writes measured at about half the throughput).

use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod sshd;

use base64::Engine;
use md5::{Digest, Md5};
use sha2::Sha256;

/// The digest a file must have, checked over the bytes as they are sent. SHA-256 (the file
/// store's content address) is the cheap one where the CPU has SHA instructions, which
/// matters: on two cores the hashing thread competes with the cipher and the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Md5(String),
    Sha256(String),
}

enum Hasher {
    Md5(Md5),
    Sha256(Sha256),
}

impl Hasher {
    fn new(e: &Expect) -> Hasher {
        match e {
            Expect::Md5(_) => Hasher::Md5(Md5::new()),
            Expect::Sha256(_) => Hasher::Sha256(Sha256::new()),
        }
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(b),
            Hasher::Sha256(h) => h.update(b),
        }
    }
    fn finalize(self) -> String {
        match self {
            Hasher::Md5(h) => hex::encode(h.finalize()),
            Hasher::Sha256(h) => hex::encode(h.finalize()),
        }
    }
}

impl Expect {
    fn value(&self) -> &str {
        match self {
            Expect::Md5(v) | Expect::Sha256(v) => v.trim_start_matches("sha256:"),
        }
    }
    fn name(&self) -> &'static str {
        match self {
            Expect::Md5(_) => "MD5",
            Expect::Sha256(_) => "SHA-256",
        }
    }
}
use ssh2::{CheckResult, HashType, KnownHostFileKind, OpenFlags, OpenType, Session, Sftp};

/// Bytes per write: libssh2 splits it into pipelined SFTP packets.
pub const CHUNK: usize = 1 << 20;
/// Bytes kept in flight (sent, not yet acknowledged) during an upload.
pub const PIPELINE: usize = 1 << 20;
/// How far back a resumed upload starts from the `.part` size.
pub const RESUME_MARGIN: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// An OpenSSH private key file and its passphrase, if any.
    KeyFile {
        path: PathBuf,
        passphrase: Option<String>,
    },
    Password(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyCheck {
    KnownHosts(PathBuf),
    /// `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it.
    Fingerprint(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: Auth,
    pub host_key: HostKeyCheck,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SftpError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("SSH handshake with {addr} failed: {why}")]
    Handshake { addr: String, why: String },
    #[error(
        "host key of {addr} is UNKNOWN ({fingerprint}): it is not in {known_hosts}; refusing to connect. \
         Check the fingerprint with the DSP, then add the key to that file"
    )]
    HostKeyUnknown {
        addr: String,
        fingerprint: String,
        known_hosts: String,
    },
    #[error(
        "host key of {addr} has CHANGED: the server offered {offered}, the profile expects {expected}; \
         refusing to connect (a changed key can mean someone is intercepting the connection: confirm with the DSP)"
    )]
    HostKeyChanged {
        addr: String,
        offered: String,
        expected: String,
    },
    #[error("cannot read known_hosts {path}: {why}")]
    KnownHosts { path: String, why: String },
    #[error(
        "authentication as {user} at {addr} was refused ({why}): check the profile's key or password"
    )]
    Auth {
        user: String,
        addr: String,
        why: String,
    },
    #[error("SFTP {op} {path}: {why}")]
    Remote {
        op: &'static str,
        path: String,
        why: String,
    },
    #[error("local file {path}: {source}")]
    Local {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}: {algorithm} while sending was {got}, {expected} was expected; the file was not put in place"
    )]
    Digest {
        path: String,
        algorithm: &'static str,
        expected: String,
        got: String,
    },
    #[error("{path}: the server holds {got} bytes after the upload, {expected} were sent")]
    Size {
        path: String,
        expected: u64,
        got: u64,
    },
}

impl SftpError {
    /// Whether another attempt can help: connection trouble can, a refused key cannot.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SftpError::Connect { .. }
                | SftpError::Handshake { .. }
                | SftpError::Remote { .. }
                | SftpError::Size { .. }
        )
    }
}

fn remote(op: &'static str, path: &str, e: impl std::fmt::Display) -> SftpError {
    SftpError::Remote {
        op,
        path: path.to_owned(),
        why: e.to_string(),
    }
}

/// What one upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sent {
    /// Bytes that crossed the wire this time.
    pub bytes: u64,
    /// Where a resumed upload started (0 for a fresh one).
    pub resumed_from: u64,
    /// The file was already in place with its size: nothing sent.
    pub already_there: bool,
}

/// An authenticated SFTP session.
pub struct Connection {
    session: Session,
    sftp: Sftp,
    addr: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .finish()
    }
}

/// `SHA256:…` of a host key, as OpenSSH prints it.
pub fn fingerprint(session: &Session) -> Option<String> {
    session.host_key_hash(HashType::Sha256).map(|h| {
        format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(h)
        )
    })
}

impl Connection {
    /// Connects, verifies the host key, then authenticates. The key check comes before
    /// authentication, so no credential is offered to a server that is not the DSP.
    pub fn open(t: &Target) -> Result<Connection, SftpError> {
        let addr = format!("{}:{}", t.host, t.port);
        let connect_err = |source| SftpError::Connect {
            addr: addr.clone(),
            source,
        };
        let sock = addr
            .to_socket_addrs()
            .map_err(connect_err)?
            .next()
            .ok_or_else(|| {
                connect_err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no address",
                ))
            })?;
        let tcp = TcpStream::connect_timeout(&sock, t.timeout).map_err(connect_err)?;
        let _ = tcp.set_nodelay(true);
        let mut session = Session::new().map_err(|e| SftpError::Handshake {
            addr: addr.clone(),
            why: e.to_string(),
        })?;
        session.set_tcp_stream(tcp);
        session.handshake().map_err(|e| SftpError::Handshake {
            addr: addr.clone(),
            why: e.to_string(),
        })?;
        verify_host_key(&session, t, &addr)?;
        match &t.auth {
            Auth::KeyFile { path, passphrase } => {
                if !path.is_file() {
                    return Err(SftpError::Auth {
                        user: t.user.clone(),
                        addr,
                        why: format!("key file {} does not exist", path.display()),
                    });
                }
                session.userauth_pubkey_file(&t.user, None, path, passphrase.as_deref())
            }
            Auth::Password(p) => session.userauth_password(&t.user, p),
        }
        .map_err(|e| SftpError::Auth {
            user: t.user.clone(),
            addr: addr.clone(),
            why: e.message().to_owned(),
        })?;
        if !session.authenticated() {
            return Err(SftpError::Auth {
                user: t.user.clone(),
                addr,
                why: "not authenticated".into(),
            });
        }
        let sftp = session.sftp().map_err(|e| remote("subsystem", "sftp", e))?;
        Ok(Connection {
            session,
            sftp,
            addr,
        })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Creates `dir` and its parents (those that exist are fine).
    pub fn mkdir_p(&self, dir: &str) -> Result<(), SftpError> {
        let mut at = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            if !at.is_empty() || dir.starts_with('/') {
                at.push('/');
            }
            at.push_str(part);
            if self.sftp.stat(Path::new(&at)).is_ok() {
                continue;
            }
            if let Err(e) = self.sftp.mkdir(Path::new(&at), 0o755) {
                // Another uploader may have made it meanwhile.
                if self.sftp.stat(Path::new(&at)).is_err() {
                    return Err(remote("mkdir", &at, e));
                }
            }
        }
        Ok(())
    }

    /// The size of `path`, or None when it does not exist.
    pub fn size(&self, path: &str) -> Option<u64> {
        self.sftp
            .stat(Path::new(path))
            .ok()
            .filter(|s| s.is_file())
            .and_then(|s| s.size)
    }

    /// File names (not directories) in `dir`; an absent folder is empty.
    pub fn list(&self, dir: &str) -> Result<Vec<(String, u64)>, SftpError> {
        if self.sftp.stat(Path::new(dir)).is_err() {
            return Ok(Vec::new());
        }
        let entries = self
            .sftp
            .readdir(Path::new(dir))
            .map_err(|e| remote("readdir", dir, e))?;
        let mut out: Vec<(String, u64)> = entries
            .into_iter()
            .filter(|(_, s)| s.is_file())
            .filter_map(|(p, s)| {
                Some((
                    p.file_name()?.to_string_lossy().into_owned(),
                    s.size.unwrap_or(0),
                ))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    pub fn read(&self, path: &str) -> Result<Vec<u8>, SftpError> {
        let mut f = self
            .sftp
            .open(Path::new(path))
            .map_err(|e| remote("open", path, e))?;
        let mut out = Vec::new();
        f.read_to_end(&mut out)
            .map_err(|e| remote("read", path, e))?;
        Ok(out)
    }

    /// Streams a remote file into a local one (created or truncated); the bytes copied.
    pub fn download(&self, path: &str, dest: &Path) -> Result<u64, SftpError> {
        let mut f = self
            .sftp
            .open(Path::new(path))
            .map_err(|e| remote("open", path, e))?;
        let local = |e| SftpError::Local {
            path: dest.display().to_string(),
            source: e,
        };
        let mut out =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dest).map_err(local)?);
        let n = std::io::copy(&mut f, &mut out).map_err(|e| remote("read", path, e))?;
        out.into_inner()
            .map_err(|e| local(e.into_error()))?
            .sync_all()
            .map_err(local)?;
        Ok(n)
    }

    pub fn remove(&self, path: &str) -> Result<(), SftpError> {
        self.sftp
            .unlink(Path::new(path))
            .map_err(|e| remote("remove", path, e))
    }

    /// Uploads a local file to `dest` via `dest.part`, resuming a `.part` already there,
    /// checking the digest over what is sent, then renames it into place.
    ///
    /// `trusted`: how much of the `.part` the server acknowledged in an earlier attempt of
    /// this process. A server that failed one write may still have written later pipelined
    /// ones, leaving a hole below its size: the upload then resumes at the acknowledged
    /// offset, not at the size. Without it (after a crash of the sender, which leaves no
    /// holes) the upload resumes [`RESUME_MARGIN`] below the size. `progress` is called with
    /// the offset acknowledged so far; keep it for the next attempt.
    pub fn upload(
        &self,
        local: &Path,
        dest: &str,
        expect: &Expect,
        size: u64,
        trusted: Option<u64>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Sent, SftpError> {
        let mut src = std::fs::File::open(local).map_err(|e| SftpError::Local {
            path: local.display().to_string(),
            source: e,
        })?;
        self.put(
            &mut src,
            (&local.display().to_string(), dest),
            expect,
            size,
            trusted,
            progress,
        )
    }

    /// Uploads bytes held in memory (messages, manifests) the same way.
    pub fn upload_bytes(&self, bytes: &[u8], dest: &str) -> Result<Sent, SftpError> {
        let md5 = Expect::Md5(hex::encode(Md5::digest(bytes)));
        let mut src = std::io::Cursor::new(bytes);
        self.put(
            &mut src,
            (dest, dest),
            &md5,
            bytes.len() as u64,
            Some(0),
            &mut |_| {},
        )
    }

    /// `(what, dest)`: the source's name for errors, and where it goes.
    fn put<R: Read + Seek + Send>(
        &self,
        src: &mut R,
        (what, dest): (&str, &str),
        expect: &Expect,
        size: u64,
        trusted: Option<u64>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Sent, SftpError> {
        // Only a verified, complete upload is ever renamed to the final name.
        if self.size(dest) == Some(size) {
            return Ok(Sent {
                already_there: true,
                ..Sent::default()
            });
        }
        if let Some(parent) = dest
            .rsplit_once('/')
            .map(|(d, _)| d)
            .filter(|d| !d.is_empty())
        {
            self.mkdir_p(parent)?;
        }
        let part = format!("{dest}.part");
        let held = self.size(&part).unwrap_or(0);
        let from = match trusted {
            _ if held > size => 0,
            Some(t) => held.min(t),
            None => held.saturating_sub(RESUME_MARGIN),
        };
        let local_err = |e| SftpError::Local {
            path: what.to_owned(),
            source: e,
        };
        // The resumed prefix is hashed from the local copy: the digest still covers it all.
        let mut hasher = Hasher::new(expect);
        let mut buf = vec![0u8; CHUNK];
        let mut left = from;
        while left > 0 {
            let n = src
                .read(&mut buf[..CHUNK.min(left as usize)])
                .map_err(local_err)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
        let flags = if from == 0 {
            OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE
        } else {
            OpenFlags::WRITE | OpenFlags::CREATE
        };
        let mut out = self
            .sftp
            .open_mode(Path::new(&part), flags, 0o644, OpenType::File)
            .map_err(|e| remote("open", &part, e))?;
        out.seek(SeekFrom::Start(from))
            .map_err(|e| remote("seek", &part, e))?;
        // Reading and hashing run on their own thread, a few chunks ahead of the network:
        // on two cores the MD5 then costs no throughput.
        let mut sent = 0u64;
        let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(4);
        let (hasher, written) = std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                let mut hasher = hasher;
                loop {
                    let mut chunk = vec![0u8; CHUNK];
                    let mut filled = 0;
                    // Full chunks: libssh2 pipelines a large write best.
                    while filled < CHUNK {
                        match src.read(&mut chunk[filled..]) {
                            Ok(0) => break,
                            Ok(n) => filled += n,
                            Err(e) => {
                                let _ = tx.send(Err(e));
                                return hasher;
                            }
                        }
                    }
                    if filled == 0 {
                        return hasher;
                    }
                    chunk.truncate(filled);
                    hasher.update(&chunk);
                    if tx.send(Ok(chunk)).is_err() {
                        return hasher;
                    }
                }
            });
            // libssh2 returns from a blocking write as soon as its first packet is
            // acknowledged, and expects the unacknowledged rest passed again. Handing it
            // the whole unacknowledged tail plus fresh data on every call keeps
            // PIPELINE bytes in flight; a plain write_all per chunk would drain the pipe
            // at the end of every chunk.
            let mut result = Ok(());
            let mut pending: Vec<u8> = Vec::with_capacity(2 * PIPELINE + CHUNK);
            let mut start = 0usize;
            let mut eof = false;
            loop {
                while !eof && pending.len() - start < PIPELINE {
                    match rx.recv() {
                        Ok(Ok(c)) => pending.extend_from_slice(&c),
                        Ok(Err(e)) => {
                            result = Err(local_err(e));
                            eof = true;
                        }
                        Err(_) => eof = true,
                    }
                }
                if result.is_err() || start == pending.len() {
                    break;
                }
                match out.write(&pending[start..]) {
                    Ok(0) => {
                        result = Err(remote("write", &part, "the server accepted nothing"));
                        break;
                    }
                    Ok(n) => {
                        start += n;
                        sent += n as u64;
                        progress(from + sent);
                    }
                    Err(e) => {
                        result = Err(remote("write", &part, e));
                        break;
                    }
                }
                // Compact now and then: one copy per byte at most, amortised.
                if start >= PIPELINE {
                    pending.drain(..start);
                    start = 0;
                }
            }
            drop(rx);
            (reader.join(), result)
        });
        written?;
        let hasher = hasher.map_err(|_| SftpError::Local {
            path: what.to_owned(),
            source: std::io::Error::other("the reading thread panicked"),
        })?;
        out.flush().map_err(|e| remote("write", &part, e))?;
        drop(out);
        let got = hasher.finalize();
        if !got.eq_ignore_ascii_case(expect.value()) {
            return Err(SftpError::Digest {
                path: what.to_owned(),
                algorithm: expect.name(),
                expected: expect.value().to_owned(),
                got,
            });
        }
        let held = self.size(&part).unwrap_or(0);
        if held != size {
            // A longer stale .part is cut back by starting over next time.
            if held > size {
                let _ = self.remove(&part);
            }
            return Err(SftpError::Size {
                path: dest.to_owned(),
                expected: size,
                got: held,
            });
        }
        self.rename_into_place(&part, dest)?;
        Ok(Sent {
            bytes: sent,
            resumed_from: from,
            already_there: false,
        })
    }

    /// A plain rename, as the server does it (OpenSSH refuses to overwrite).
    pub fn rename(&self, from: &str, to: &str) -> Result<(), SftpError> {
        self.sftp
            .rename(Path::new(from), Path::new(to), None)
            .map_err(|e| remote("rename", from, e))
    }

    /// Renames `from` onto `to`. SFTP v3 servers (OpenSSH) refuse to overwrite: the old
    /// `to` is removed first when the plain rename fails because it exists.
    pub fn rename_into_place(&self, from: &str, to: &str) -> Result<(), SftpError> {
        match self.sftp.rename(Path::new(from), Path::new(to), None) {
            Ok(()) => Ok(()),
            Err(first) => {
                if self.sftp.stat(Path::new(to)).is_ok() {
                    self.remove(to)?;
                    self.sftp
                        .rename(Path::new(from), Path::new(to), None)
                        .map_err(|e| remote("rename", from, e))
                } else {
                    Err(remote("rename", from, first))
                }
            }
        }
    }

    /// Ends the session politely.
    pub fn close(self) {
        let _ = self.session.disconnect(None, "done", None);
    }
}

fn verify_host_key(session: &Session, t: &Target, addr: &str) -> Result<(), SftpError> {
    let offered = fingerprint(session).unwrap_or_else(|| "no key".into());
    match &t.host_key {
        HostKeyCheck::Fingerprint(expected) => {
            let want = expected.trim().trim_end_matches('=');
            if want == offered {
                Ok(())
            } else {
                Err(SftpError::HostKeyChanged {
                    addr: addr.to_owned(),
                    offered,
                    expected: want.to_owned(),
                })
            }
        }
        HostKeyCheck::KnownHosts(path) => {
            let mut kh = session.known_hosts().map_err(|e| SftpError::KnownHosts {
                path: path.display().to_string(),
                why: e.to_string(),
            })?;
            if !path.is_file() {
                return Err(SftpError::HostKeyUnknown {
                    addr: addr.to_owned(),
                    fingerprint: offered,
                    known_hosts: format!("{} (missing)", path.display()),
                });
            }
            kh.read_file(path, KnownHostFileKind::OpenSSH)
                .map_err(|e| SftpError::KnownHosts {
                    path: path.display().to_string(),
                    why: e.message().to_owned(),
                })?;
            let Some((key, _)) = session.host_key() else {
                return Err(SftpError::Handshake {
                    addr: addr.to_owned(),
                    why: "the server sent no host key".into(),
                });
            };
            match kh.check_port(&t.host, t.port, key) {
                CheckResult::Match => Ok(()),
                CheckResult::Mismatch => Err(SftpError::HostKeyChanged {
                    addr: addr.to_owned(),
                    offered,
                    expected: format!("the key listed in {}", path.display()),
                }),
                CheckResult::NotFound | CheckResult::Failure => Err(SftpError::HostKeyUnknown {
                    addr: addr.to_owned(),
                    fingerprint: offered,
                    known_hosts: path.display().to_string(),
                }),
            }
        }
    }
}
