//! `liner bench sftp`: Liner's SFTP upload (ssh2/libssh2, 1 MiB pipelined writes, MD5 while
//! streaming, `.part` then rename) against the OpenSSH `sftp` client, both to the same
//! throwaway OpenSSH sshd on loopback, in the same run, alternating, best of N. The ratio is
//! what counts: these machines are shared and noisy.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use sha2::Digest;
use transport_sftp::Connection;
use transport_sftp::sshd::Sshd;

fn random_file(path: &std::path::Path, mb: usize) -> Result<(String, u64)> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut h = sha2::Sha256::new();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..mb {
        for b in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
        }
        h.update(&buf);
        f.write_all(&buf)?;
    }
    f.flush()?;
    Ok((hex::encode(h.finalize()), (mb as u64) << 20))
}

pub fn sftp(mb: usize, runs: usize) -> Result<()> {
    ensure!(mb > 0 && runs > 0, "--mb and --runs must be positive");
    let tmp = tempfile::tempdir()?;
    let sshd = Sshd::start(&tmp.path().join("sshd"))
        .context("starting OpenSSH sshd (Debian: openssh-server)")?;
    let local = tmp.path().join("master.bin");
    let (sha, size) = random_file(&local, mb)?;
    let sha = transport_sftp::Expect::Sha256(sha);
    let inbox = tmp.path().join("inbox");
    std::fs::create_dir_all(&inbox)?;
    let target = sshd.target();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    eprintln!(
        "{mb} MiB file to OpenSSH sshd on 127.0.0.1:{} ({} runs each, alternating)",
        sshd.port, runs
    );
    for run in 0..runs {
        // Liner: connect, verify the host key, upload to .part with MD5, rename.
        let dest = inbox.join(format!("liner-{run}.bin"));
        let t = Instant::now();
        let c = Connection::open(&target)?;
        let sent = c.upload(
            &local,
            &dest.display().to_string(),
            &sha,
            size,
            None,
            &mut |_| {},
        )?;
        c.close();
        let secs = t.elapsed().as_secs_f64();
        ensure!(sent.bytes == size, "sent {} of {size}", sent.bytes);
        ensure!(
            std::fs::metadata(&dest)?.len() == size,
            "size at the server"
        );
        ours.push(size as f64 / secs / 1e6);
        std::fs::remove_file(&dest)?;

        // OpenSSH's sftp client, same key, same server, same file (connect included too).
        let dest = inbox.join(format!("openssh-{run}.bin"));
        let batch = tmp.path().join("batch");
        std::fs::write(
            &batch,
            format!("put {} {}\n", local.display(), dest.display()),
        )?;
        let t = Instant::now();
        let out = Command::new("sftp")
            .args(["-q", "-b"])
            .arg(&batch)
            .args(["-P", &sshd.port.to_string(), "-i"])
            .arg(&sshd.user_key)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", sshd.known_hosts.display()))
            .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
            .arg(format!("{}@127.0.0.1", sshd.user))
            .output()
            .context("running sftp (Debian: openssh-client)")?;
        let secs = t.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!("sftp: {}", String::from_utf8_lossy(&out.stderr));
        }
        ensure!(
            std::fs::metadata(&dest)?.len() == size,
            "size at the server (sftp)"
        );
        theirs.push(size as f64 / secs / 1e6);
        std::fs::remove_file(&dest)?;
        eprintln!(
            "  run {}: liner {:.0} MB/s, OpenSSH sftp {:.0} MB/s",
            run + 1,
            ours[run],
            theirs[run]
        );
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(|a, b| a.total_cmp(b));
        s[s.len() / 2]
    };
    println!(
        "sftp upload {mb} MiB: liner best {:.0} MB/s (median {:.0}), OpenSSH sftp best {:.0} MB/s (median {:.0}); ratio best {:.2}x, median {:.2}x",
        best(&ours),
        median(&ours),
        best(&theirs),
        median(&theirs),
        best(&ours) / best(&theirs),
        median(&ours) / median(&theirs)
    );
    println!(
        "settings: libssh2 {} KiB writes (pipelined), SHA-256 (SHA-NI) verified while streaming on its own thread, .part then rename; ciphers: both sides' defaults (chacha20-poly1305@openssh.com)",
        transport_sftp::CHUNK / 1024
    );
    Ok(())
}
