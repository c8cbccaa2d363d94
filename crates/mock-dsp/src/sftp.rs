//! The mock's SFTP server: russh + russh-sftp over a jailed folder.
//!
//! `nodelay` is on: russh's default (Nagle) with libssh2's pipelined writes costs about six
//! times the throughput (delivery notes §9). Rename onto an existing file fails with
//! SSH_FX_FAILURE, as OpenSSH's SFTP v3 does, so a client that forgets it fails here too.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use russh::keys::{PrivateKey, PublicKey};
use russh::server::{Auth, Msg, Server as _, Session};
use russh::{Channel, ChannelId};
use russh_sftp::protocol::{
    Attrs, Data, File, FileAttributes, Handle, Name, OpenFlags, Status, StatusCode, Version,
};
use tokio::task::JoinHandle;

use crate::{Dsp, DspError};

#[derive(Clone)]
struct Server {
    dsp: Arc<Dsp>,
    user: String,
    user_key: PublicKey,
}

impl russh::server::Server for Server {
    type Handler = Connection;
    fn new_client(&mut self, _: Option<std::net::SocketAddr>) -> Connection {
        Connection {
            dsp: Arc::clone(&self.dsp),
            user: self.user.clone(),
            user_key: self.user_key.clone(),
            channels: HashMap::new(),
        }
    }
}

struct Connection {
    dsp: Arc<Dsp>,
    user: String,
    user_key: PublicKey,
    channels: HashMap<ChannelId, Channel<Msg>>,
}

impl Connection {
    /// Only the account's user, with the key the mock made for it.
    fn allow(&self, user: &str, key: &PublicKey) -> Auth {
        if user == self.user && key.key_data() == self.user_key.key_data() {
            Auth::Accept
        } else {
            Auth::reject()
        }
    }
}

impl russh::server::Handler for Connection {
    type Error = anyhow::Error;

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.allow(user, offer.public_key))
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let a = self.allow(user, key.public_key);
        if a != Auth::Accept {
            tracing::warn!(
                dsp = self.dsp.name(),
                user,
                "refused a key that is not the account's"
            );
        }
        Ok(a)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.close(channel)?;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match (name, self.channels.remove(&id)) {
            ("sftp", Some(channel)) => {
                session.channel_success(id)?;
                let handler = Files {
                    dsp: Arc::clone(&self.dsp),
                    jail: self.dsp.jail(),
                    handles: HashMap::new(),
                    next: 0,
                    written: 0,
                    session: session.handle(),
                };
                russh_sftp::server::run(channel.into_stream(), handler).await;
            }
            _ => session.channel_failure(id)?,
        }
        Ok(())
    }
}

enum Open {
    File(std::fs::File),
    Dir(Option<Vec<File>>),
}

struct Files {
    dsp: Arc<Dsp>,
    jail: PathBuf,
    handles: HashMap<String, Open>,
    next: u64,
    written: u64,
    session: russh::server::Handle,
}

fn ok(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Ok".into(),
        language_tag: "en-US".into(),
    }
}

fn code(e: &std::io::Error) -> StatusCode {
    match e.kind() {
        std::io::ErrorKind::NotFound => StatusCode::NoSuchFile,
        std::io::ErrorKind::PermissionDenied => StatusCode::PermissionDenied,
        _ => StatusCode::Failure,
    }
}

fn attrs(m: &std::fs::Metadata) -> FileAttributes {
    FileAttributes::from(m)
}

impl Files {
    /// The real path of a client path: absolute paths start at the jail; `..` is refused.
    fn resolve(&self, p: &str) -> Result<PathBuf, StatusCode> {
        let mut out = self.jail.clone();
        for c in Path::new(p).components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(s) => out.push(s),
                Component::ParentDir | Component::Prefix(_) => {
                    return Err(StatusCode::PermissionDenied);
                }
            }
        }
        Ok(out)
    }

    fn handle(&mut self, o: Open) -> String {
        self.next += 1;
        let h = format!("h{}", self.next);
        self.handles.insert(h.clone(), o);
        h
    }
}

impl russh_sftp::server::Handler for Files {
    type Error = StatusCode;

    fn unimplemented(&self) -> StatusCode {
        StatusCode::OpUnsupported
    }

    async fn init(&mut self, _: u32, _: HashMap<String, String>) -> Result<Version, StatusCode> {
        Ok(Version::new())
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        _: FileAttributes,
    ) -> Result<Handle, StatusCode> {
        let path = self.resolve(&filename)?;
        let mut o = std::fs::OpenOptions::new();
        o.read(pflags.contains(OpenFlags::READ))
            .write(pflags.contains(OpenFlags::WRITE) || pflags.contains(OpenFlags::APPEND))
            .create(pflags.contains(OpenFlags::CREATE))
            .truncate(pflags.contains(OpenFlags::TRUNCATE));
        if pflags.contains(OpenFlags::CREATE) && pflags.contains(OpenFlags::EXCLUDE) {
            o.create_new(true);
        }
        let f = o.open(&path).map_err(|e| code(&e))?;
        Ok(Handle {
            id,
            handle: self.handle(Open::File(f)),
        })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, StatusCode> {
        self.handles.remove(&handle);
        Ok(ok(id))
    }

    async fn read(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        len: u32,
    ) -> Result<Data, StatusCode> {
        let Some(Open::File(f)) = self.handles.get_mut(&handle) else {
            return Err(StatusCode::BadMessage);
        };
        f.seek(SeekFrom::Start(offset)).map_err(|e| code(&e))?;
        let mut buf = vec![0u8; len.min(256 * 1024) as usize];
        let n = f.read(&mut buf).map_err(|e| code(&e))?;
        if n == 0 {
            return Err(StatusCode::Eof);
        }
        buf.truncate(n);
        Ok(Data { id, data: buf })
    }

    async fn write(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<Status, StatusCode> {
        let faults = self.dsp.faults.clone();
        if let Some(limit) = faults.disk_full_after_bytes {
            let mut c = self.dsp.counters.lock().map_err(|_| StatusCode::Failure)?;
            if c.bytes_held + data.len() as u64 > limit {
                return Err(StatusCode::Failure);
            }
            c.bytes_held += data.len() as u64;
        }
        if let Some(after) = faults.disconnect_after_bytes
            && self.written + data.len() as u64 > after
        {
            let drop_it = {
                let mut c = self.dsp.counters.lock().map_err(|_| StatusCode::Failure)?;
                let go = faults.disconnects == 0 || c.disconnects_done < faults.disconnects;
                if go {
                    c.disconnects_done += 1;
                }
                go
            };
            if drop_it {
                tracing::warn!(
                    dsp = self.dsp.name(),
                    after,
                    "dropping the connection (fault injection)"
                );
                let _ = self
                    .session
                    .disconnect(
                        russh::Disconnect::ByApplication,
                        "fault injection".into(),
                        "en".into(),
                    )
                    .await;
                return Err(StatusCode::ConnectionLost);
            }
        }
        if let Some(rate) = faults.slow_bytes_per_sec.filter(|r| *r > 0) {
            tokio::time::sleep(Duration::from_secs_f64(data.len() as f64 / rate as f64)).await;
        }
        let Some(Open::File(f)) = self.handles.get_mut(&handle) else {
            return Err(StatusCode::BadMessage);
        };
        f.seek(SeekFrom::Start(offset)).map_err(|e| code(&e))?;
        f.write_all(&data).map_err(|e| code(&e))?;
        self.written += data.len() as u64;
        Ok(ok(id))
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, StatusCode> {
        self.stat(id, path).await
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, StatusCode> {
        let p = self.resolve(&path)?;
        let m = std::fs::metadata(&p).map_err(|e| code(&e))?;
        Ok(Attrs {
            id,
            attrs: attrs(&m),
        })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, StatusCode> {
        let Some(Open::File(f)) = self.handles.get(&handle) else {
            return Err(StatusCode::BadMessage);
        };
        let m = f.metadata().map_err(|e| code(&e))?;
        Ok(Attrs {
            id,
            attrs: attrs(&m),
        })
    }

    async fn setstat(
        &mut self,
        id: u32,
        _: String,
        _: FileAttributes,
    ) -> Result<Status, StatusCode> {
        Ok(ok(id))
    }

    async fn fsetstat(
        &mut self,
        id: u32,
        _: String,
        _: FileAttributes,
    ) -> Result<Status, StatusCode> {
        Ok(ok(id))
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, StatusCode> {
        let p = self.resolve(&path)?;
        let mut files = Vec::new();
        for e in std::fs::read_dir(&p).map_err(|e| code(&e))?.flatten() {
            if let Ok(m) = e.metadata() {
                files.push(File::new(e.file_name().to_string_lossy(), attrs(&m)));
            }
        }
        Ok(Handle {
            id,
            handle: self.handle(Open::Dir(Some(files))),
        })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, StatusCode> {
        match self.handles.get_mut(&handle) {
            Some(Open::Dir(files)) => match files.take() {
                Some(files) if !files.is_empty() => Ok(Name { id, files }),
                _ => Err(StatusCode::Eof),
            },
            _ => Err(StatusCode::BadMessage),
        }
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, StatusCode> {
        let p = self.resolve(&filename)?;
        std::fs::remove_file(&p).map_err(|e| code(&e))?;
        Ok(ok(id))
    }

    async fn mkdir(
        &mut self,
        id: u32,
        path: String,
        _: FileAttributes,
    ) -> Result<Status, StatusCode> {
        let p = self.resolve(&path)?;
        std::fs::create_dir(&p).map_err(|e| code(&e))?;
        Ok(ok(id))
    }

    async fn rmdir(&mut self, id: u32, path: String) -> Result<Status, StatusCode> {
        let p = self.resolve(&path)?;
        std::fs::remove_dir(&p).map_err(|e| code(&e))?;
        Ok(ok(id))
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, StatusCode> {
        let p = self.resolve(&path)?;
        let rel = p
            .strip_prefix(&self.jail)
            .map_err(|_| StatusCode::PermissionDenied)?;
        let shown = format!("/{}", rel.display());
        Ok(Name {
            id,
            files: vec![File::dummy(shown)],
        })
    }

    async fn rename(
        &mut self,
        id: u32,
        oldpath: String,
        newpath: String,
    ) -> Result<Status, StatusCode> {
        let from = self.resolve(&oldpath)?;
        let to = self.resolve(&newpath)?;
        // OpenSSH (SFTP v3) refuses to overwrite; so does this DSP.
        if to.exists() {
            return Err(StatusCode::Failure);
        }
        std::fs::rename(&from, &to).map_err(|e| code(&e))?;
        Ok(ok(id))
    }
}

/// Serves one DSP's SFTP on `host:port`.
pub async fn serve(
    dsp: Arc<Dsp>,
    host: &str,
    port: u16,
    host_key: PrivateKey,
    user_key: PublicKey,
) -> Result<JoinHandle<()>, DspError> {
    let user = match dsp.profile.delivery.as_ref().map(|d| &d.transport) {
        Some(profiles::Transport::Sftp(s)) => s.user.clone(),
        _ => {
            return Err(DspError::Config(format!(
                "{} has no SFTP endpoint",
                dsp.name()
            )));
        }
    };
    let config = Arc::new(russh::server::Config {
        keys: vec![host_key],
        nodelay: true,
        auth_rejection_time: Duration::from_millis(200),
        auth_rejection_time_initial: Some(Duration::ZERO),
        inactivity_timeout: Some(Duration::from_secs(600)),
        window_size: 16 * 1024 * 1024,
        ..Default::default()
    });
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|e| DspError::Io(format!("{} SFTP on {host}:{port}: {e}", dsp.name())))?;
    let mut server = Server {
        dsp: Arc::clone(&dsp),
        user,
        user_key,
    };
    tracing::info!(dsp = dsp.name(), "SFTP on {host}:{port}");
    Ok(tokio::spawn(async move {
        if let Err(e) = server.run_on_socket(config, &listener).await {
            tracing::error!("SFTP server: {e}");
        }
    }))
}
