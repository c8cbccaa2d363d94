//! The mock's keys, made on first run under `<root>/keys` and reused after: a host key per
//! SFTP DSP, the user key Liner logs in with (`liner_ed25519`, what the shipped profiles
//! name), the `known_hosts` listing each DSP's host key (what the profiles pin), and a
//! bearer token per HTTP DSP (`<dsp>.token`). Private files are mode 0600. None of them is
//! ever committed: they are made where the mock runs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{HashAlg, PrivateKey, PublicKey};

use crate::DspError;

#[derive(Debug, Clone)]
pub struct Keys {
    pub dir: PathBuf,
}

fn err(what: &Path, e: impl std::fmt::Display) -> DspError {
    DspError::Io(format!("{}: {e}", what.display()))
}

fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed
}

fn write_private(path: &Path, text: &str) -> Result<(), DspError> {
    std::fs::write(path, text).map_err(|e| err(path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| err(path, e))
}

/// Loads an OpenSSH private key, or makes a new Ed25519 one there.
pub fn load_or_make(path: &Path, comment: &str) -> Result<PrivateKey, DspError> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return PrivateKey::from_openssh(text).map_err(|e| err(path, e));
    }
    let mut key = PrivateKey::from(Ed25519Keypair::from_seed(&random_seed()));
    key.set_comment(comment);
    let text = key.to_openssh(LineEnding::LF).map_err(|e| err(path, e))?;
    write_private(path, &text)?;
    let public = key.public_key().to_openssh().map_err(|e| err(path, e))?;
    let pub_path = path.with_extension("pub");
    std::fs::write(&pub_path, format!("{public}\n")).map_err(|e| err(&pub_path, e))?;
    Ok(key)
}

impl Keys {
    pub fn ensure(dir: &Path) -> Result<Keys, DspError> {
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        let k = Keys {
            dir: dir.to_owned(),
        };
        load_or_make(&k.user_key_path(), "liner@mock-dsp")?;
        Ok(k)
    }

    pub fn user_key_path(&self) -> PathBuf {
        self.dir.join("liner_ed25519")
    }

    pub fn known_hosts_path(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    pub fn user_public(&self) -> Result<PublicKey, DspError> {
        let p = self.user_key_path();
        Ok(load_or_make(&p, "liner@mock-dsp")?.public_key().clone())
    }

    pub fn host_key(&self, dsp: &str) -> Result<PrivateKey, DspError> {
        load_or_make(
            &self.dir.join(format!("host_{dsp}_ed25519")),
            &format!("mock-dsp {dsp}"),
        )
    }

    /// Lists `key` for `[host]:port` in known_hosts, replacing an older line for it.
    pub fn trust(&self, host: &str, port: u16, key: &PrivateKey) -> Result<(), DspError> {
        let path = self.known_hosts_path();
        let pattern = if port == 22 {
            host.to_owned()
        } else {
            format!("[{host}]:{port}")
        };
        let public = key.public_key().to_openssh().map_err(|e| err(&path, e))?;
        // Keep the type and base64, drop the comment.
        let public: String = public.split(' ').take(2).collect::<Vec<_>>().join(" ");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let mut lines: Vec<String> = old
            .lines()
            .filter(|l| l.split(' ').next() != Some(pattern.as_str()))
            .map(str::to_owned)
            .collect();
        lines.push(format!("{pattern} {public}"));
        crate::write_atomically(&path, (lines.join("\n") + "\n").as_bytes())
            .map_err(|e| err(&path, e))
    }

    /// `SHA256:…` of a DSP's host key, for a profile that pins a fingerprint.
    pub fn fingerprint(&self, dsp: &str) -> Result<String, DspError> {
        Ok(self
            .host_key(dsp)?
            .public_key()
            .fingerprint(HashAlg::Sha256)
            .to_string())
    }

    /// The bearer token of an HTTP DSP, made on first use.
    pub fn token(&self, dsp: &str) -> Result<String, DspError> {
        let path = self.dir.join(format!("{dsp}.token"));
        if let Ok(t) = std::fs::read_to_string(&path) {
            return Ok(t.trim().to_owned());
        }
        let t = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        write_private(&path, &format!("{t}\n"))?;
        Ok(t)
    }
}
