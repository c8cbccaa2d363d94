//! The SFTP client against a real OpenSSH sshd (Debian openssh-server) on a loopback port,
//! started by the test with throwaway keys: what real DSPs run, not only our mock.

use std::io::Write;

use md5::Digest;
use transport_sftp::sshd::{Sshd, sshd_binary};
use transport_sftp::{Connection, Expect, HostKeyCheck, SftpError};

fn server(dir: &std::path::Path) -> Option<Sshd> {
    if sshd_binary().is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but sshd is not installed (openssh-server)"
        );
        eprintln!("sshd not installed: skipped");
        return None;
    }
    Some(Sshd::start(&dir.join("sshd")).expect("sshd starts"))
}

fn data(n: usize) -> Vec<u8> {
    // Incompressible enough, deterministic.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn uploads_resumes_and_renames_like_a_real_dsp_expects() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(sshd) = server(tmp.path()) else {
        return;
    };
    let remote = tmp.path().join("inbox");
    std::fs::create_dir_all(&remote).expect("inbox");
    let bytes = data(12 * 1024 * 1024 + 12_345);
    let local = tmp.path().join("master.flac");
    std::fs::File::create(&local)
        .and_then(|mut f| f.write_all(&bytes))
        .expect("write");
    let md5 = hex::encode(md5::Md5::digest(&bytes));
    let sha = Expect::Sha256(hex::encode(sha2::Sha256::digest(&bytes)));
    let size = bytes.len() as u64;

    let c = Connection::open(&sshd.target()).expect("connect with a pinned key");
    let dest = format!("{}/N_1/123/resources/a.flac", remote.display());

    // A partial .part from an earlier, dropped attempt: the upload resumes from it.
    let part = format!("{dest}.part");
    c.mkdir_p(&format!("{}/N_1/123/resources", remote.display()))
        .expect("mkdir -p");
    c.upload_bytes(&bytes[..5 * 1024 * 1024], &part)
        .expect("partial");
    let mut seen = 0u64;
    let sent = c
        .upload(&local, &dest, &sha, size, None, &mut |at| seen = at)
        .expect("upload");
    assert_eq!(
        sent.resumed_from,
        4 * 1024 * 1024,
        "5 MiB held, resumed 1 MiB back"
    );
    assert_eq!(sent.bytes, size - sent.resumed_from);
    assert_eq!(seen, size, "progress ends at the whole file");
    let there = std::fs::read(&dest).expect("uploaded file");
    assert_eq!(there.len(), bytes.len());
    assert_eq!(
        hex::encode(md5::Md5::digest(&there)),
        md5,
        "byte-identical after resume"
    );
    assert!(!std::path::Path::new(&part).exists(), "no .part left");

    // A .part with a hole (a server that failed one write and took later ones): resumed
    // at the offset the server acknowledged, the hole is filled.
    let holed = format!("{}/holed.bin", remote.display());
    let mut with_hole = bytes[..8 * 1024 * 1024].to_vec();
    with_hole[2 * 1024 * 1024..3 * 1024 * 1024].fill(0);
    c.upload_bytes(&with_hole, &format!("{holed}.part"))
        .expect("holed part");
    let s = c
        .upload(
            &local,
            &holed,
            &sha,
            size,
            Some(2 * 1024 * 1024),
            &mut |_| {},
        )
        .expect("resume at the acknowledged offset");
    assert_eq!(s.resumed_from, 2 * 1024 * 1024);
    assert_eq!(
        hex::encode(md5::Md5::digest(std::fs::read(&holed).expect("read"))),
        md5
    );

    // Already there with its size: nothing sent.
    let again = c
        .upload(&local, &dest, &sha, size, None, &mut |_| {})
        .expect("again");
    assert!(again.already_there && again.bytes == 0);

    // A stale file of another size at the final name: OpenSSH refuses to rename onto it;
    // the client removes it and renames.
    let stale = format!("{}/stale.bin", remote.display());
    std::fs::write(&stale, b"old").expect("stale");
    let s = c
        .upload(
            &local,
            &stale,
            &Expect::Md5(md5.clone()),
            size,
            None,
            &mut |_| {},
        )
        .expect("over a stale file");
    assert!(!s.already_there);
    assert_eq!(std::fs::read(&stale).expect("read").len(), bytes.len());

    // A file that changed since it was measured is not put in place.
    let wrong = c.upload(
        &local,
        &format!("{}/wrong.bin", remote.display()),
        &Expect::Md5("0".repeat(32)),
        size,
        None,
        &mut |_| {},
    );
    assert!(matches!(wrong, Err(SftpError::Digest { .. })), "{wrong:?}");
    assert!(!remote.join("wrong.bin").exists());

    // Listing and reading back (how acknowledgements are fetched).
    std::fs::create_dir_all(remote.join("acks")).expect("acks");
    std::fs::write(remote.join("acks/ACK_m1_1.xml"), b"<ack/>").expect("ack");
    let acks = format!("{}/acks", remote.display());
    assert_eq!(
        c.list(&acks).expect("list"),
        vec![("ACK_m1_1.xml".to_owned(), 6)]
    );
    assert_eq!(
        c.read(&format!("{acks}/ACK_m1_1.xml")).expect("read"),
        b"<ack/>"
    );
    assert!(
        c.list(&format!("{}/none", remote.display()))
            .expect("absent")
            .is_empty()
    );
    c.close();
}

#[test]
fn a_changed_or_unknown_host_key_and_a_wrong_key_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(sshd) = server(tmp.path()) else {
        return;
    };

    let mut t = sshd.target();
    t.host_key =
        HostKeyCheck::Fingerprint("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    let e = Connection::open(&t).expect_err("a changed key");
    assert!(matches!(e, SftpError::HostKeyChanged { .. }), "{e}");
    assert!(
        e.to_string().contains("CHANGED") && e.to_string().contains("SHA256:"),
        "{e}"
    );
    assert!(!e.is_transient());

    let empty = tmp.path().join("empty_known_hosts");
    std::fs::write(&empty, "").expect("empty");
    let mut t = sshd.target();
    t.host_key = HostKeyCheck::KnownHosts(empty);
    let e = Connection::open(&t).expect_err("an unknown key");
    assert!(matches!(e, SftpError::HostKeyUnknown { .. }), "{e}");

    // The right fingerprint, as ssh-keygen prints it, is accepted.
    let out = std::process::Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(sshd.dir.join("host_ed25519.pub"))
        .output()
        .expect("ssh-keygen -l");
    let fp = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_owned();
    let mut t = sshd.target();
    t.host_key = HostKeyCheck::Fingerprint(fp);
    Connection::open(&t).expect("pinned fingerprint").close();

    // A key the server does not know.
    let other = tmp.path().join("other_ed25519");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("ssh-keygen");
    let mut t = sshd.target();
    t.auth = transport_sftp::Auth::KeyFile {
        path: other,
        passphrase: None,
    };
    let e = Connection::open(&t).expect_err("a wrong key");
    assert!(matches!(e, SftpError::Auth { .. }), "{e}");
    assert!(!e.is_transient());
}
