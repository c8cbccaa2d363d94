//! A throwaway OpenSSH `sshd` on a loopback port, for the interoperability tests and the
//! throughput benchmark: its own host and user keys, `internal-sftp`, no PAM, stopped (by
//! its pid) when dropped. Needs Debian's openssh-server and openssh-client (ssh-keygen).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Sshd {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub user: String,
    /// The user's private key (OpenSSH format).
    pub user_key: PathBuf,
    /// A known_hosts file listing this server.
    pub known_hosts: PathBuf,
}

fn run(cmd: &mut Command) -> std::io::Result<()> {
    let out = cmd.output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// The sshd binary, if installed.
pub fn sshd_binary() -> Option<PathBuf> {
    ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

impl Sshd {
    /// Starts sshd on a free loopback port with everything under `dir`.
    pub fn start(dir: &Path) -> std::io::Result<Sshd> {
        let bin = sshd_binary().ok_or_else(|| {
            std::io::Error::other("sshd is not installed (Debian: openssh-server)")
        })?;
        std::fs::create_dir_all(dir)?;
        // sshd insists on its privilege-separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let host = dir.join("host_ed25519");
        let user_key = dir.join("user_ed25519");
        for k in [&host, &user_key] {
            if !k.is_file() {
                run(Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                    .arg(k))?;
            }
        }
        std::fs::copy(user_key.with_extension("pub"), dir.join("authorized_keys"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(|| {
                Command::new("id")
                    .arg("-un")
                    .output()
                    .ok()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            })
            .unwrap_or_else(|| "root".into());
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
                 PermitRootLogin prohibit-password\nPidFile {}\nSubsystem sftp internal-sftp\nLogLevel ERROR\n",
                host.display(),
                dir.join("authorized_keys").display(),
                dir.join("sshd.pid").display()
            ),
        )?;
        let child = Command::new(bin)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("sshd.log"))?)
            .spawn()?;
        let pubkey = std::fs::read_to_string(host.with_extension("pub"))?;
        let known_hosts = dir.join("known_hosts");
        let key: Vec<&str> = pubkey.split_whitespace().take(2).collect();
        std::fs::write(
            &known_hosts,
            format!("[127.0.0.1]:{port} {}\n", key.join(" ")),
        )?;
        let mut s = Sshd {
            child,
            port,
            dir: dir.to_owned(),
            user,
            user_key,
            known_hosts,
        };
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = s.child.try_wait() {
                return Err(std::io::Error::other(format!(
                    "sshd exited ({status}): {}",
                    std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
                )));
            }
            if Instant::now() > until {
                return Err(std::io::Error::other("sshd did not start listening"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(s)
    }

    /// A target for this server with its pinned key and the user's key.
    pub fn target(&self) -> crate::Target {
        crate::Target {
            host: "127.0.0.1".into(),
            port: self.port,
            user: self.user.clone(),
            auth: crate::Auth::KeyFile {
                path: self.user_key.clone(),
                passphrase: None,
            },
            host_key: crate::HostKeyCheck::KnownHosts(self.known_hosts.clone()),
            timeout: Duration::from_secs(30),
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
