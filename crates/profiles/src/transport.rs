//! How Liner reaches a DSP: the `[delivery]` section of a profile. Credentials are named by
//! reference only (a key file path, an environment variable); a secret written into the
//! profile is refused. The server's host key is always pinned (a known_hosts file or a
//! SHA-256 fingerprint): an unknown or changed key is never trusted.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The transport and its endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Sftp(SftpEndpoint),
    Http(HttpEndpoint),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpEndpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: SftpAuth,
    pub host_key: HostKey,
    /// Where batches or release folders go.
    pub root: String,
    /// Where the DSP writes acknowledgements.
    pub acknowledgements: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SftpAuth {
    /// A private key file (OpenSSH format); its passphrase, if any, from an environment variable.
    KeyFile {
        path: PathBuf,
        passphrase_env: Option<String>,
    },
    /// A password from an environment variable.
    PasswordEnv(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKey {
    /// An OpenSSH known_hosts file that must list the server.
    KnownHosts(PathBuf),
    /// `SHA256:<base64>`, as `ssh-keygen -lf` prints it.
    Fingerprint(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpEndpoint {
    pub base_url: String,
    /// The bearer token's environment variable…
    pub token_env: Option<String>,
    /// …or a file holding it (mode 0600, outside the repository), used when the variable
    /// is not set.
    pub token_file: Option<PathBuf>,
}

/// Batch (ECHO §6: BatchComplete manifest last) or release-by-release (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Choreography {
    Batch,
    ReleaseByRelease,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 6,
            base_delay_ms: 500,
            max_delay_ms: 60_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub transport: Transport,
    pub choreography: Choreography,
    /// Uploads in flight at once to this DSP.
    pub concurrency: u32,
    pub retry: RetryPolicy,
    /// An acknowledgement later than this raises an alert.
    pub ack_deadline_hours: u32,
}

impl Delivery {
    /// Makes the relative file paths of the transport (SSH key, known_hosts, token file)
    /// relative to `base`: a profile's paths are relative to the Liner home, wherever the
    /// command runs.
    pub fn rebase(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        match &mut self.transport {
            Transport::Sftp(e) => {
                if let SftpAuth::KeyFile { path, .. } = &mut e.auth {
                    fix(path);
                }
                if let HostKey::KnownHosts(p) = &mut e.host_key {
                    fix(p);
                }
            }
            Transport::Http(e) => {
                if let Some(p) = &mut e.token_file {
                    fix(p);
                }
            }
        }
    }
}

/// The section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliveryFile {
    transport: String,
    choreography: Choreography,
    #[serde(default = "one")]
    concurrency: u32,
    #[serde(default)]
    retry: RetryPolicy,
    #[serde(default = "two_days")]
    ack_deadline_hours: u32,
    // SFTP
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    key_file: Option<PathBuf>,
    key_passphrase_env: Option<String>,
    password_env: Option<String>,
    known_hosts: Option<PathBuf>,
    host_key_fingerprint: Option<String>,
    root: Option<String>,
    acknowledgements: Option<String>,
    // HTTP
    base_url: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    // Secrets written inline: named here only to refuse them with a clear message.
    password: Option<toml::Value>,
    token: Option<toml::Value>,
    private_key: Option<toml::Value>,
    passphrase: Option<toml::Value>,
}

fn one() -> u32 {
    1
}

fn two_days() -> u32 {
    48
}

fn env_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

fn fingerprint_ok(s: &str) -> bool {
    s.strip_prefix("SHA256:").is_some_and(|b64| {
        b64.len() == 43
            && b64
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    })
}

impl DeliveryFile {
    /// Checks the section; every problem as "delivery.<key>: what is wrong".
    pub(crate) fn check(self) -> Result<Delivery, Vec<String>> {
        let mut errs = Vec::new();
        for (key, present) in [
            ("password", self.password.is_some()),
            ("token", self.token.is_some()),
            ("private_key", self.private_key.is_some()),
            ("passphrase", self.passphrase.is_some()),
        ] {
            if present {
                errs.push(format!(
                    "delivery.{key}: secrets are never written in a profile; name an environment variable ({key}_env) or a key file instead"
                ));
            }
        }
        for (key, v) in [
            ("password_env", &self.password_env),
            ("token_env", &self.token_env),
            ("key_passphrase_env", &self.key_passphrase_env),
        ] {
            if let Some(v) = v
                && !env_name_ok(v)
            {
                errs.push(format!(
                    "delivery.{key}: {v:?} is not an environment variable name (A-Z, 0-9, _)"
                ));
            }
        }
        if self.concurrency == 0 || self.concurrency > 64 {
            errs.push("delivery.concurrency: between 1 and 64".into());
        }
        if self.retry.attempts == 0 || self.retry.base_delay_ms > self.retry.max_delay_ms {
            errs.push(
                "delivery.retry: at least one attempt, and base_delay_ms no more than max_delay_ms"
                    .into(),
            );
        }
        let transport = match self.transport.as_str() {
            "sftp" => {
                let need = |key: &str, v: &Option<String>, errs: &mut Vec<String>| match v {
                    Some(s) if !s.is_empty() => Some(s.clone()),
                    _ => {
                        errs.push(format!("delivery.{key}: required for SFTP"));
                        None
                    }
                };
                let host = need("host", &self.host, &mut errs);
                let user = need("user", &self.user, &mut errs);
                let root = need("root", &self.root, &mut errs);
                let acks = need("acknowledgements", &self.acknowledgements, &mut errs);
                let auth = match (&self.key_file, &self.password_env) {
                    (Some(k), None) => Some(SftpAuth::KeyFile {
                        path: k.clone(),
                        passphrase_env: self.key_passphrase_env.clone(),
                    }),
                    (None, Some(p)) => Some(SftpAuth::PasswordEnv(p.clone())),
                    _ => {
                        errs.push(
                            "delivery: SFTP needs exactly one of key_file or password_env".into(),
                        );
                        None
                    }
                };
                let host_key = match (&self.known_hosts, &self.host_key_fingerprint) {
                    (Some(k), None) => Some(HostKey::KnownHosts(k.clone())),
                    (None, Some(f)) if fingerprint_ok(f) => Some(HostKey::Fingerprint(f.clone())),
                    (None, Some(f)) => {
                        errs.push(format!(
                            "delivery.host_key_fingerprint: {f:?} is not SHA256:<43 base64 characters> (ssh-keygen -lf prints it)"
                        ));
                        None
                    }
                    _ => {
                        errs.push(
                            "delivery: SFTP needs exactly one of known_hosts or host_key_fingerprint; the server's key is never trusted blindly"
                                .into(),
                        );
                        None
                    }
                };
                match (host, user, root, acks, auth, host_key) {
                    (
                        Some(host),
                        Some(user),
                        Some(root),
                        Some(acknowledgements),
                        Some(auth),
                        Some(host_key),
                    ) => Some(Transport::Sftp(SftpEndpoint {
                        host,
                        port: self.port.unwrap_or(22),
                        user,
                        auth,
                        host_key,
                        root,
                        acknowledgements,
                    })),
                    _ => None,
                }
            }
            "http" => match &self.base_url {
                Some(u) if u.starts_with("https://") || is_loopback_http(u) => {
                    Some(Transport::Http(HttpEndpoint {
                        base_url: u.trim_end_matches('/').to_owned(),
                        token_env: self.token_env.clone(),
                        token_file: self.token_file.clone(),
                    }))
                }
                Some(u) => {
                    errs.push(format!(
                        "delivery.base_url: {u:?} must be https:// (plain http only to loopback, for the mock DSP)"
                    ));
                    None
                }
                None => {
                    errs.push("delivery.base_url: required for HTTP".into());
                    None
                }
            },
            other => {
                errs.push(format!("delivery.transport: {other:?} is not sftp or http"));
                None
            }
        };
        match transport {
            Some(transport) if errs.is_empty() => Ok(Delivery {
                transport,
                choreography: self.choreography,
                concurrency: self.concurrency,
                retry: self.retry,
                ack_deadline_hours: self.ack_deadline_hours,
            }),
            _ => Err(errs),
        }
    }
}

fn is_loopback_http(u: &str) -> bool {
    let Some(rest) = u.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    host == "localhost"
        || host == "127.0.0.1"
        || host.starts_with("127.")
        || rest.starts_with("[::1]")
}
