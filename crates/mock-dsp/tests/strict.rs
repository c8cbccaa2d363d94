//! The mock DSP is strict where real DSPs are: a jailed account, OpenSSH's rename rule,
//! only its own user key, no ingest before the exact BatchComplete manifest.

use std::path::Path;
use std::time::{Duration, Instant};

use transport_sftp::{Auth, Connection, HostKeyCheck, SftpError, Target};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

fn profile(dir: &Path, port: u16) -> Vec<profiles::DspProfile> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/dsps/spotify.toml"),
    )
    .expect("shipped profile")
    .replace(".liner/dsp/keys", dir.join("keys").to_str().expect("utf-8"))
    .replace("port = 2221", &format!("port = {port}"));
    let profiles = dir.join("dsps");
    std::fs::create_dir_all(&profiles).expect("dir");
    std::fs::write(profiles.join("spotify.toml"), text).expect("write");
    profiles::load_dir(&profiles).expect("profile loads")
}

fn target(dir: &Path, port: u16, key: &Path) -> Target {
    Target {
        host: "127.0.0.1".into(),
        port,
        user: "liner".into(),
        auth: Auth::KeyFile {
            path: key.to_owned(),
            passphrase: None,
        },
        host_key: HostKeyCheck::KnownHosts(dir.join("keys/known_hosts")),
        timeout: Duration::from_secs(10),
    }
}

/// A mock Spotify on a free port under `dir`, its key and known_hosts where the profile
/// says; returns the runtime serving it (keep it alive), the mock and the port.
fn start(
    dir: &Path,
    faults: std::collections::BTreeMap<String, mock_dsp::Faults>,
) -> (tokio::runtime::Runtime, mock_dsp::Running, u16) {
    let port = free_port();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let running = rt
        .block_on(mock_dsp::start(
            &profile(dir, port),
            &mock_dsp::Settings {
                root: dir.join("dsp-root"),
                schemas: None,
                faults,
                scan_every: Duration::from_millis(50),
            },
        ))
        .expect("start");
    // The keys the profile names were made by the mock.
    std::fs::create_dir_all(dir.join("keys")).expect("keys");
    for f in ["liner_ed25519", "known_hosts"] {
        std::fs::copy(dir.join("dsp-root/keys").join(f), dir.join("keys").join(f)).expect("copy");
    }
    (rt, running, port)
}

#[test]
fn a_strict_sftp_dsp() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let (_rt, running, port) = start(dir, Default::default());
    let c = Connection::open(&target(dir, port, &dir.join("keys/liner_ed25519"))).expect("login");

    // Jailed: `..` is refused, `/` is the account's home.
    let e = c
        .upload_bytes(b"x", "/inbox/../../escape.txt")
        .expect_err("outside the jail");
    assert!(matches!(e, SftpError::Remote { .. }), "{e}");
    assert!(!dir.join("escape.txt").exists() && !dir.join("dsp-root/escape.txt").exists());

    // OpenSSH's rule: no rename onto an existing file; the client's fallback handles it.
    c.upload_bytes(b"one", "/inbox/a.txt").expect("a");
    c.upload_bytes(b"two", "/inbox/b.txt").expect("b");
    let e = c
        .rename("/inbox/a.txt", "/inbox/b.txt")
        .expect_err("refused like OpenSSH");
    assert!(e.to_string().contains("rename"), "{e}");
    c.rename_into_place("/inbox/a.txt", "/inbox/b.txt")
        .expect("remove, then rename");
    let jail = running.dsp("spotify").expect("dsp").jail();
    assert_eq!(std::fs::read(jail.join("inbox/b.txt")).expect("b"), b"one");

    // A batch is not ingested before its exact manifest; then it is, and acknowledged.
    c.upload_bytes(b"<not-ern/>", "/inbox/N_20261126000000000/123/123.xml")
        .expect("message");
    c.upload_bytes(
        b"",
        "/inbox/N_20261126000000000/BatchComplete_20261126000000000.xml.part",
    )
    .expect("a .part is not the manifest");
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        c.list("/acknowledgements").expect("list").is_empty(),
        "nothing ingested yet"
    );
    let manifest = choreography::write_manifest(&choreography::Manifest {
        sender: choreography::Party {
            dpid: "PADPIDA2026112601L".into(),
            name: None,
        },
        recipient: choreography::Party {
            dpid: "PADPIDA0000000001S".into(),
            name: None,
        },
        created: "2026-11-26T00:00:00Z".into(),
        test: false,
        root_directory: "N_20261126000000000".into(),
        messages: vec![choreography::BatchEntry {
            message_id: "m1".into(),
            url: "123/123.xml".into(),
            icpns: vec!["123".into()],
            delivery: choreography::DeliveryType::NewReleaseDelivery,
            md5: None,
        }],
    });
    c.upload_bytes(
        &manifest,
        "/inbox/N_20261126000000000/BatchComplete_20261126000000000.xml",
    )
    .expect("manifest");
    let until = Instant::now() + Duration::from_secs(10);
    let acks = loop {
        let acks = c.list("/acknowledgements").expect("list");
        if !acks.is_empty() || Instant::now() > until {
            break acks;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(acks.len(), 1, "{acks:?}");
    let ack = choreography::read_ack(
        &c.read(&format!("/acknowledgements/{}", acks[0].0))
            .expect("read"),
    )
    .expect("a valid acknowledgement");
    assert_eq!(ack.status, "NewReleaseMessageInvalid");
    assert!(
        ack.error_text
            .unwrap_or_default()
            .contains("unreadable message")
    );
    c.close();

    // Only the account's key logs in.
    let other = dir.join("other_ed25519");
    mock_dsp::keys::load_or_make(&other, "other").expect("key");
    let e = Connection::open(&target(dir, port, &other)).expect_err("a stranger's key");
    assert!(matches!(e, SftpError::Auth { .. }), "{e}");
    running.stop();
}

#[test]
fn a_full_disk_refuses_writes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let mut faults = std::collections::BTreeMap::new();
    faults.insert(
        "spotify".to_owned(),
        mock_dsp::Faults {
            disk_full_after_bytes: Some(100_000),
            ..Default::default()
        },
    );
    let (_rt, running, port) = start(dir, faults);
    let c = Connection::open(&target(dir, port, &dir.join("keys/liner_ed25519"))).expect("login");
    c.upload_bytes(&[7u8; 50_000], "/inbox/small.bin")
        .expect("fits");
    let e = c
        .upload_bytes(&[7u8; 200_000], "/inbox/big.bin")
        .expect_err("the disk is full");
    assert!(matches!(e, SftpError::Remote { op: "write", .. }), "{e}");
    assert!(
        e.is_transient(),
        "a full disk may clear: retried with backoff"
    );
    let jail = running.dsp("spotify").expect("dsp").jail();
    assert!(
        !jail.join("inbox/big.bin").exists(),
        "nothing half-written under the final name"
    );
    c.close();
    running.stop();
}
