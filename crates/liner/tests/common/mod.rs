//! Helpers the binary's test files share.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub(crate) mod world;

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Renders and synthesizes the fixtures once per test process.
#[allow(dead_code)]
pub(crate) fn fixtures() -> PathBuf {
    static DONE: OnceLock<PathBuf> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = repo().join("fixtures");
        let out = Command::new(env!("CARGO_BIN_EXE_liner"))
            .args(["fixtures", "--dir"])
            .arg(&dir)
            .output()
            .expect("run fixtures");
        assert!(
            out.status.success(),
            "fixtures: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .clone()
}

/// The DDEX XSDs beside the checkout; with `CI=true` they must be there.
#[allow(dead_code)]
pub(crate) fn schemas() -> Option<PathBuf> {
    let p = repo().join("../shared/ddex/xsd");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but ../shared/ddex/xsd is missing"
        );
        None
    }
}

/// The stdout of a liner run that must have succeeded; otherwise a failure with both streams.
#[allow(dead_code)]
pub(crate) fn stdout_of_success(args: &[&str], out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "liner {args:?} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A free loopback port for a test server, below the kernel's ephemeral range (32768 and up
/// on Linux): a port the kernel hands out for a connection or a `bind(0)` meanwhile can
/// never be the one picked here. Each call in a process takes the next port of its own walk,
/// so concurrent tests do not pick the same one.
#[allow(dead_code)]
pub(crate) fn free_port() -> u16 {
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
    panic!("no free port in 20000-31999");
}

/// A real SMTP server (aiosmtpd, from PyPI) writing a Maildir; stopped on drop.
#[allow(dead_code)]
pub(crate) struct Smtp {
    child: std::process::Child,
    pub(crate) port: u16,
    maildir: PathBuf,
}

impl Smtp {
    #[allow(dead_code)]
    pub(crate) fn start(dir: &Path) -> Option<Smtp> {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but aiosmtpd is not installed (pip install aiosmtpd)"
            );
            eprintln!("aiosmtpd not installed: e-mail goes to the outbox only");
            return None;
        }
        let maildir = dir.join("maildir");
        for d in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(d)).expect("maildir");
        }
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()
            .expect("start aiosmtpd");
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Smtp {
            child,
            port,
            maildir,
        })
    }

    /// Every message received so far, as text.
    #[allow(dead_code)]
    pub(crate) fn received(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in ["new", "cur"] {
            for e in std::fs::read_dir(self.maildir.join(d))
                .into_iter()
                .flatten()
                .flatten()
            {
                out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        out
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL database of a test's own, dropped at the end.
pub(crate) struct PgDb {
    pub(crate) url: String,
    admin: String,
    name: String,
}

impl PgDb {
    /// None when PostgreSQL is unreachable (a failure under `CI=true`).
    #[allow(dead_code)]
    pub(crate) fn create() -> Option<PgDb> {
        let admin = std::env::var("LINER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!(
            "liner_t{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let created = Command::new("psql")
            .args([
                admin.as_str(),
                "-q",
                "-c",
                &format!("CREATE DATABASE {name}"),
            ])
            .output();
        match created {
            Ok(o) if o.status.success() => {}
            other => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI=true and PostgreSQL at {admin} is unreachable: {other:?}"
                );
                eprintln!("skipping: PostgreSQL at {admin} unreachable");
                return None;
            }
        }
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Some(PgDb {
            url: format!("{base}/{name}"),
            admin: admin.clone(),
            name,
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.admin.as_str(),
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// Checks a statement page adds up as people read it: in every table each amount column sums
/// to its total, the summary to the closing balance, the income breakdown to the income; no
/// amount has more places than its currency, none is a negative zero.
#[allow(dead_code)]
pub(crate) fn statement_adds_up(html: &str) {
    let cur = html
        .split("amounts in ")
        .nth(1)
        .and_then(|r| r.get(..3))
        .expect("the page names its currency");
    let places = u32::from(model::Currency::parse(cur).expect("currency").exponent());
    let parse = |s: &str| -> i128 {
        let zero = !s.contains(|c: char| ('1'..='9').contains(&c));
        assert!(!(zero && s.starts_with('-')), "negative zero {s:?}");
        let (neg, body) = s.strip_prefix('-').map_or((false, s), |b| (true, b));
        let digits: String = body.chars().filter(|c| *c != ',').collect();
        let (w, f) = digits.split_once('.').unwrap_or((&digits, ""));
        assert_eq!(f.len() as u32, places, "{s:?}: {cur} has {places} decimals");
        let v: i128 = format!("{w}{f}").parse().expect("a number");
        if neg { -v } else { v }
    };
    let cells = |row: &str| -> Vec<String> {
        row.split("class=\"n\"")
            .skip(1)
            .map(|c| {
                let c = c.trim_start_matches(" id=\"closing\"");
                c[1..c.find('<').expect("cell end")].to_owned()
            })
            .collect()
    };
    for (id, amount_cols) in [
        ("summary", vec![0]),
        ("income", vec![0]),
        ("tracks", vec![1]),
        ("dsps", vec![1]),
        ("lines", vec![1, 2]),
    ] {
        let start = html
            .find(&format!("<table id=\"{id}\""))
            .unwrap_or_else(|| panic!("table {id}"));
        let t = &html[start..start + html[start..].find("</table>").expect("end")];
        let body = &t[t.find("<tbody>").expect("tbody")..t.find("<tfoot>").expect("tfoot")];
        let foot = cells(&t[t.find("<tfoot>").expect("tfoot")..]);
        let rows: Vec<Vec<String>> = body
            .split("<tr>")
            .skip(1)
            .map(cells)
            .filter(|c| !c.is_empty())
            .collect();
        for col in amount_cols {
            let sum: i128 = rows.iter().map(|r| parse(&r[col])).sum();
            assert_eq!(sum, parse(&foot[col]), "table {id}, column {col}");
        }
    }
}
