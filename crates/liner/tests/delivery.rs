//! Delivery end to end: `liner deliver|takedown|deliveries` as an operator runs them,
//! against the mock DSPs started in this process on free loopback ports (SFTP batch,
//! SFTP release-by-release, SFTP batch with WAV, HTTP), with e-mail going to a real SMTP
//! server (aiosmtpd) on loopback.

use std::collections::BTreeMap;
use std::process::Output;
use std::time::{Duration, Instant};

use sha2::Digest;

mod common;
use common::fixtures;
use common::world::{DSPS, World, check_dsp_files};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn deliver_everything_then_update_and_take_down() {
    let w = World::new(BTreeMap::new());
    let upcs = w.catalog();
    assert_eq!(upcs.len(), 5, "the fixture releases that pass QC: {upcs:?}");
    let mut args = vec!["deliver"];
    args.extend(upcs.iter().map(String::as_str));
    args.extend([
        "--to",
        "spotify,youtube-music,apple-music,deezer",
        "--wait",
        "--timeout",
        "120",
    ]);
    let out = w.liner(&args);
    assert!(out.status.success(), "deliver: {}", stderr(&out));

    // The operator's view: every delivery acknowledged.
    let all = w.deliveries();
    assert_eq!(all.len(), upcs.len() * 4);
    for d in &all {
        assert_eq!(d["status"], "acknowledged", "{d:#}");
        assert_eq!(d["intent"], "new");
        assert_eq!(d["latest_ack"], "FileOK");
        assert!(d["bytes"].as_i64().unwrap_or(0) > 0);
    }
    // The DSPs' view agrees: every release live, each message once.
    for dsp in DSPS {
        let st = w.state(dsp);
        assert_eq!(st.catalog.len(), upcs.len(), "{dsp} catalog");
        for upc in &upcs {
            let live = &st.catalog[upc];
            assert_eq!(live.status, "live", "{dsp} {upc}");
            let ours = all
                .iter()
                .find(|d| d["upc"] == upc.as_str() && d["dsp"] == dsp)
                .expect("delivery");
            assert_eq!(
                ours["message_id"],
                live.message_id.as_str(),
                "{dsp} holds what Liner sent"
            );
        }
        assert!(check_dsp_files(&w, dsp) >= upcs.len() * 2);
    }
    // Apple takes WAV masters, the others FLAC: what arrived says so.
    let apple = &w.state("apple-music").catalog[&upcs[0]];
    assert!(apple.files.iter().any(|(u, _, _)| u.ends_with(".wav")));
    let spotify = &w.state("spotify").catalog[&upcs[0]];
    assert!(spotify.files.iter().any(|(u, _, _)| u.ends_with(".flac")));

    // Deezer takes 44.1 kHz / 16-bit only: masters at other rates and depths were
    // resampled (SoX), and the messages describe the files delivered.
    let mut flacs = Vec::new();
    let mut stack = vec![
        w.mock()
            .dsp("deezer")
            .expect("dsp")
            .dir
            .join("http/uploads"),
    ];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "flac") {
                flacs.push(p);
            }
        }
    }
    assert!(!flacs.is_empty());
    for f in &flacs {
        let a = audio::analyse(f);
        assert_eq!(
            (a.sample_rate, a.bits_per_sample),
            (Some(44_100), Some(16)),
            "{}",
            f.display()
        );
    }

    // Nothing changed: nothing to send.
    let again = w.liner(&["deliver", &upcs[0], "--to", "spotify"]);
    assert!(again.status.success());
    assert!(
        stderr(&again).contains("nothing to send"),
        "{}",
        stderr(&again)
    );

    // An update (new title) reaches Spotify and changes what it shows.
    w.retitle(&upcs[0], "Night Drives (Deluxe)");
    let out = w.liner(&["deliver", &upcs[0], "--to", "spotify", "--wait"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let d = w.deliveries();
    let sp = d
        .iter()
        .find(|x| x["upc"] == upcs[0].as_str() && x["dsp"] == "spotify")
        .expect("spotify delivery");
    assert_eq!(sp["intent"], "update");
    assert_eq!(sp["status"], "acknowledged");
    assert_eq!(
        w.state("spotify").catalog[&upcs[0]].title,
        "Night Drives (Deluxe)"
    );
    assert_ne!(
        w.state("deezer").catalog[&upcs[0]].title,
        "Night Drives (Deluxe)",
        "only Spotify was updated"
    );

    // A takedown reaches YouTube (deals end-dated two days back) and Deezer (HTTP).
    let out = w.liner(&[
        "takedown",
        &upcs[1],
        "--from",
        "youtube-music,deezer",
        "--wait",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        w.state("youtube-music").catalog[&upcs[1]].status,
        "taken-down"
    );
    assert_eq!(w.state("deezer").catalog[&upcs[1]].status, "taken-down");
    assert_eq!(w.state("spotify").catalog[&upcs[1]].status, "live");
    assert_eq!(
        w.status(&upcs[1], "youtube-music").as_deref(),
        Some("acknowledged")
    );
    // Spotify refuses purges; Liner does not send one.
    let purge = w.liner(&["takedown", &upcs[1], "--from", "spotify", "--purge"]);
    assert!(!purge.status.success());
    assert!(stderr(&purge).contains("purge"), "{}", stderr(&purge));
}

#[test]
fn operator_errors_are_clear_mailed_and_nothing_is_delivered() {
    let w = World::new(BTreeMap::new());
    let upcs = w.catalog();
    let keys = w.dir.path().join("dsp/keys");
    let known = keys.join("known_hosts");
    let good_known = std::fs::read_to_string(&known).expect("known_hosts");

    // 1. A changed host key: Spotify's entry now holds another server's key.
    let sp_port = w.ports["spotify"];
    let yt_port = w.ports["youtube-music"];
    let yt_line = good_known
        .lines()
        .find(|l| l.starts_with(&format!("[127.0.0.1]:{yt_port} ")))
        .expect("youtube line")
        .replace(&format!(":{yt_port}]"), &format!(":{sp_port}]"))
        .replace(&format!("]:{yt_port} "), &format!("]:{sp_port} "));
    let tampered: Vec<String> = good_known
        .lines()
        .filter(|l| !l.starts_with(&format!("[127.0.0.1]:{sp_port} ")))
        .map(str::to_owned)
        .chain([yt_line])
        .collect();
    std::fs::write(&known, tampered.join("\n") + "\n").expect("tamper");
    let out = w.liner(&["deliver", &upcs[0], "--to", "spotify"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("host key") && err.contains("CHANGED") && err.contains("SHA256:"),
        "{err}"
    );
    assert!(err.contains("nothing is marked delivered"), "{err}");
    assert_eq!(w.status(&upcs[0], "spotify").as_deref(), Some("failed"));
    std::fs::write(&known, &good_known).expect("restore");

    // An unknown host: a known_hosts without the server.
    std::fs::write(&known, "").expect("empty");
    let out = w.liner(&["deliver", &upcs[0], "--to", "spotify"]);
    assert!(stderr(&out).contains("UNKNOWN"), "{}", stderr(&out));
    std::fs::write(&known, &good_known).expect("restore");

    // 2. A wrong credential: Apple's profile names a key the DSP does not know.
    let other = keys.join("someone_else");
    mock_dsp::keys::load_or_make(&other, "someone else").expect("key");
    let apple = w.dir.path().join("dsps/apple-music.toml");
    let good_apple = std::fs::read_to_string(&apple).expect("profile");
    std::fs::write(
        &apple,
        good_apple.replace(
            &format!("{}/liner_ed25519", keys.display()),
            other.to_str().expect("utf-8"),
        ),
    )
    .expect("profile");
    let out = w.liner(&["deliver", &upcs[0], "--to", "apple-music"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("authentication as liner") && err.contains("refused"),
        "{err}"
    );
    assert_eq!(w.status(&upcs[0], "apple-music").as_deref(), Some("failed"));
    std::fs::write(&apple, &good_apple).expect("restore");

    // 3. A missing resource: a stored master has gone from the file store.
    let doc: serde_json::Value =
        serde_json::from_str(&w.ok(&["show", &upcs[1], "--json"])).expect("json");
    let hash = doc["tracks"][0]["audio"]
        .as_str()
        .expect("stored audio")
        .to_owned();
    let store = filestore::FileStore::open(w.dir.path().join("files")).expect("file store");
    let h = model::ContentHash::parse(&hash).expect("hash");
    std::fs::rename(store.path_of(&h), w.dir.path().join("lost")).expect("lose the file");
    let out = w.liner(&["deliver", &upcs[1], "--to", "apple-music"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("missing from the file store") && err.contains(&hash),
        "{err}"
    );
    assert!(err.contains("nothing is marked delivered"), "{err}");
    assert_eq!(w.status(&upcs[1], "apple-music"), None, "nothing queued");
    assert!(!w.state("apple-music").catalog.contains_key(&upcs[1]));
    std::fs::rename(w.dir.path().join("lost"), store.path_of(&h)).expect("restore");

    // 4. An XSD-invalid message, queued behind Liner's back (straight into the store):
    // the DSP refuses it and Liner reports the DSP's words.
    let rt = &w.rt;
    let upc = upcs[2].clone();
    let db = format!("sqlite://{}", w.dir.path().join("catalog.db").display());
    rt.block_on(async {
        let s = store::Store::open(&db, store::OpenMode::Existing)
            .await
            .expect("store");
        let good = w.ok(&["ern", "build", &upc, "--dsp", "spotify"]);
        // An element the ERN 4.3 XSD does not allow there: invalid, still well-formed.
        let bad = good
            .replacen("<ReleaseList>", "<ReleaseList><NotAnErnElement/>", 1)
            .replace("-spotify-", "-spotify-bad-");
        let mid = bad
            .split("<MessageId>")
            .nth(1)
            .and_then(|x| x.split('<').next())
            .expect("message id")
            .to_owned();
        s.record_message(&store::NewMessage {
            upc: &upc,
            dsp: "spotify",
            revision: 1,
            message_id: &mid,
            intent: "new",
            ern_version: "4.3",
            created_at: "2026-11-26T10:00:00Z",
            xml: &bad,
        })
        .await
        .expect("record");
        let mut files: Vec<(String, String, String, i64)> = Vec::new();
        let doc: serde_json::Value =
            serde_json::from_str(&w.ok(&["show", &upc, "--json"])).expect("json");
        let _ = doc;
        // The message alone: the DSP's XSD check comes before its file checks.
        files.push((
            format!("{upc}.xml"),
            "message".into(),
            hex::encode(md5::Md5::digest(bad.as_bytes())),
            bad.len() as i64,
        ));
        s.queue_package(
            &store::NewDelivery {
                upc: &upc,
                dsp: "spotify",
                revision: 1,
                message_id: &mid,
                intent: "new",
            },
            "2026-11-26T10:00:00.000Z",
            false,
            &files,
        )
        .await
        .expect("queue");
        s.close().await;
    });
    let out = w.liner(&[
        "deliver",
        &upc,
        "--to",
        "spotify",
        "--wait",
        "--timeout",
        "60",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("resuming delivery"), "{err}");
    assert!(
        err.contains("REJECTED (NewReleaseMessageInvalid)") && err.contains("XSD"),
        "{err}"
    );
    assert_eq!(w.status(&upc, "spotify").as_deref(), Some("rejected"));
    assert!(
        !w.state("spotify").catalog.contains_key(&upc),
        "nothing live at the DSP"
    );

    // 5. QC gates delivery: the release with planted problems is refused, not queued.
    let problems = fixtures().join("qc/problems");
    w.ok(&["import", problems.to_str().expect("utf-8")]);
    let list: serde_json::Value =
        serde_json::from_str(&w.ok(&["releases", "--json"])).expect("json");
    let blocked = list
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["upc"].as_str().unwrap_or_default().to_owned())
        .find(|u| !upcs.contains(u))
        .expect("the problems release");
    assert_eq!(w.liner(&["qc", &blocked]).status.code(), Some(3));
    let out = w.liner(&["deliver", &blocked, "--to", "spotify"]);
    assert_eq!(out.status.code(), Some(3), "a QC refusal exits 3");
    assert!(
        stderr(&out).contains("is not cleared for spotify"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.status(&blocked, "spotify"), None, "nothing queued");

    // Every problem reached the label by e-mail, naming the release and the cause.
    let mails = w.mails();
    let has = |needle: &str| mails.iter().any(|m| m.contains(needle));
    assert!(has("host key") && has("CHANGED"), "{mails:#?}");
    assert!(has("authentication as liner"), "{mails:#?}");
    assert!(has("missing from the file store"), "{mails:#?}");
    assert!(
        has("spotify rejected") && has("NewReleaseMessageInvalid"),
        "{mails:#?}"
    );
    assert!(
        mails
            .iter()
            .all(|m| m.contains("To: ") && m.contains("[Liner]"))
    );
    if w.smtp.is_some() {
        assert!(
            mails.iter().all(|m| m.contains("X-RcptTo:")),
            "received over SMTP"
        );
    }
    // Nothing above is marked delivered, and no DSP went live with a failed one.
    assert!(w.state("spotify").catalog.is_empty());
}

/// Deliveries through dropped connections, 503s, cut uploads, a slow DSP and a
/// `liner deliver` killed mid-run end with one effect each at the DSP, byte-identical
/// files and the acknowledged state recorded. `LINER_FAULT_ROUNDS` adds update rounds (20
/// deliveries each): `LINER_FAULT_ROUNDS=10 cargo test --release -p liner --test delivery
/// faults -- --nocapture` runs 200+.
#[test]
fn faults_end_with_one_effect_each() {
    let mut faults = BTreeMap::new();
    faults.insert(
        "spotify".to_owned(),
        mock_dsp::Faults {
            disconnect_after_bytes: Some(1_500_000),
            disconnects: 4,
            ..Default::default()
        },
    );
    faults.insert(
        "deezer".to_owned(),
        mock_dsp::Faults {
            http_503_every: Some(7),
            retry_after_secs: 0,
            http_cut_after_bytes: Some(700_000),
            http_cuts: 4,
            ..Default::default()
        },
    );
    faults.insert(
        "apple-music".to_owned(),
        mock_dsp::Faults {
            slow_bytes_per_sec: Some(20_000_000),
            ack_delay_ms: 300,
            ..Default::default()
        },
    );
    faults.insert(
        "youtube-music".to_owned(),
        mock_dsp::Faults {
            disconnect_after_bytes: Some(2_500_000),
            disconnects: 2,
            ..Default::default()
        },
    );
    let w = World::new(faults);
    let upcs = w.catalog();
    let mut args = vec!["deliver"];
    args.extend(upcs.iter().map(String::as_str));
    args.extend(["--to", "spotify,youtube-music,apple-music,deezer"]);

    // Killed mid-run, once a delivery is uploading.
    let mut child = w
        .command(&args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let uploading = w
            .deliveries()
            .iter()
            .any(|d| d["status"] == "uploading" && d["dsp"] == "apple-music");
        if uploading || Instant::now() > until {
            std::thread::sleep(Duration::from_millis(300));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    let before = w.deliveries();
    assert!(
        before
            .iter()
            .any(|d| d["status"] != "uploaded" && d["status"] != "acknowledged"),
        "the kill left something unfinished: {before:#?}"
    );

    // Run again: it resumes, and ends with everything acknowledged.
    let mut rerun = args.clone();
    rerun.extend(["--wait", "--timeout", "180"]);
    let out = w.liner(&rerun);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("resuming delivery"),
        "{}",
        stderr(&out)
    );
    let mut total = upcs.len() * 4;
    // Takedowns of two releases everywhere: ten more deliveries.
    for upc in &upcs[..3] {
        let out = w.liner(&[
            "takedown",
            upc,
            "--from",
            "spotify,youtube-music,apple-music,deezer",
            "--wait",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        total += 4;
    }
    let rounds: usize = std::env::var("LINER_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for r in 0..rounds {
        // Each round a new revision of every release (a genre change: QC takes it; a new
        // title under the same UPC it would flag as a reused UPC).
        let genre = ["Ambient", "Jazz"][r % 2];
        for upc in &upcs {
            w.revise(upc, |doc| {
                doc["genre"] = serde_json::Value::String(genre.to_owned())
            });
        }
        let out = w.liner(&rerun);
        assert!(out.status.success(), "round {r}: {}", stderr(&out));
        total += upcs.len() * 4;
    }

    let all: Vec<serde_json::Value> =
        serde_json::from_str(&w.ok(&["deliveries", "--json", "--all"])).expect("json");
    assert_eq!(all.len(), total, "one delivery per request");
    for d in &all {
        assert_eq!(d["status"], "acknowledged", "{d:#}");
    }
    let mut files = 0;
    for dsp in DSPS {
        files += check_dsp_files(&w, dsp);
        let st = w.state(dsp);
        assert_eq!(st.catalog.len(), upcs.len(), "{dsp}: one entry per release");
        // Every message Liner sent took effect exactly once, and nothing else did.
        let ours: Vec<&str> = all
            .iter()
            .filter(|d| d["dsp"] == dsp)
            .filter_map(|d| d["message_id"].as_str())
            .collect();
        assert_eq!(st.effects.len(), ours.len(), "{dsp}: {:?}", st.effects);
        for m in ours {
            assert_eq!(st.effects.get(m), Some(&1), "{dsp}: {m}");
        }
    }
    let hit: Vec<String> = w
        .mock()
        .dsps
        .iter()
        .map(|d| {
            let (dropped, busy, cut) = d.faults_injected();
            format!("{}: {dropped} dropped, {busy} 503, {cut} cut", d.name())
        })
        .collect();
    let (dropped, busy, cut) = w
        .mock()
        .dsps
        .iter()
        .map(|d| d.faults_injected())
        .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    assert!(
        dropped > 0 && busy > 0 && cut > 0,
        "the faults happened: {hit:?}"
    );
    eprintln!(
        "fault test: {total} deliveries acknowledged, one effect each; {files} files byte-identical at the DSPs; faults injected: {}; killed and resumed once",
        hit.join("; ")
    );
}

/// A DSP that acknowledges FileOK and later an error gets the release again; a DSP whose
/// acknowledgements never come raises an alert and an e-mail; an unreadable acknowledgement
/// is reported; the daily summary goes to the distributor.
#[test]
fn later_errors_overdue_and_unreadable_acknowledgements() {
    let mut faults = BTreeMap::new();
    faults.insert(
        "spotify".to_owned(),
        mock_dsp::Faults {
            later_error_every: Some(2),
            ack_delay_ms: 100,
            ..Default::default()
        },
    );
    faults.insert(
        "youtube-music".to_owned(),
        mock_dsp::Faults {
            lose_ack_every: Some(1),
            ..Default::default()
        },
    );
    faults.insert(
        "deezer".to_owned(),
        mock_dsp::Faults {
            corrupt_ack_every: Some(1),
            ..Default::default()
        },
    );
    let w = World::new(faults);
    let upcs = w.catalog();
    std::fs::write(
        w.dir.path().join("liner.toml"),
        "[mail]\nfrom = \"Liner <liner@distributor.example>\"\nsummary_to = \"ops@distributor.example\"\n",
    )
    .expect("liner.toml");

    // FileOK for both; the second is followed by a ResourceCorrupt.
    let out = w.liner(&["deliver", &upcs[0], &upcs[1], "--to", "spotify", "--wait"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let later = w
        .deliveries()
        .into_iter()
        .find(|d| {
            d["dsp"] == "spotify"
                && w.state("spotify")
                    .acks
                    .iter()
                    .filter(|a| a.0 == d["message_id"].as_str().unwrap_or_default())
                    .count()
                    > 1
        })
        .or_else(|| {
            std::thread::sleep(Duration::from_millis(800));
            w.deliveries().into_iter().find(|d| {
                d["dsp"] == "spotify"
                    && w.state("spotify").acks.iter().any(|a| {
                        a.0 == d["message_id"].as_str().unwrap_or_default()
                            && a.1 == "ResourceCorrupt"
                    })
            })
        })
        .expect("one delivery got a later error");
    let mid = later["message_id"].as_str().expect("id").to_owned();
    let upc = later["upc"].as_str().expect("upc").to_owned();
    // `deliveries --refresh` reads it, sends the release again, and the DSP's next FileOK
    // (the latest) makes it acknowledged again.
    // (The resend may already have happened while `deliver --wait` was still polling.)
    let until = Instant::now() + Duration::from_secs(30);
    let mut said = stderr(&out);
    loop {
        let o = w.liner(&["deliveries", "--refresh"]);
        said.push_str(&stderr(&o));
        if w.status(&upc, "spotify").as_deref() == Some("acknowledged")
            && said.contains("asks for a resend")
        {
            break;
        }
        assert!(
            Instant::now() < until,
            "not acknowledged again: {said}; DSP acks {:?}; ours {:?}; files {:?}",
            w.state("spotify").acks,
            w.deliveries(),
            std::fs::read_dir(
                w.mock()
                    .dsp("spotify")
                    .expect("dsp")
                    .jail()
                    .join("acknowledgements")
            )
            .map(|r| r.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(said.contains("ResourceCorrupt"), "{said}");
    let db = format!("sqlite://{}", w.dir.path().join("catalog.db").display());
    let history = w.rt.block_on(async {
        let s = store::Store::open(&db, store::OpenMode::Existing)
            .await
            .expect("store");
        let a = s.acks("spotify", &mid).await.expect("acks");
        s.close().await;
        a
    });
    let statuses: Vec<&str> = history.iter().map(|a| a.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["FileOK", "ResourceCorrupt", "FileOK"],
        "every acknowledgement kept"
    );
    assert_eq!(
        w.state("spotify").effects[&mid],
        1,
        "the resend took effect once"
    );

    // Acknowledgements that never come: past the deadline (0 h here), an alert and an e-mail.
    let yt = w.dir.path().join("dsps/youtube-music.toml");
    let text = std::fs::read_to_string(&yt).expect("profile");
    std::fs::write(
        &yt,
        text.replace("ack_deadline_hours = 48", "ack_deadline_hours = 0"),
    )
    .expect("profile");
    let out = w.liner(&["deliver", &upcs[0], "--to", "youtube-music"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::thread::sleep(Duration::from_millis(300));
    let out = w.liner(&["deliveries", "--refresh", "--json"]);
    assert!(
        stderr(&out).contains("ALERT") && stderr(&out).contains("no acknowledgement"),
        "{}",
        stderr(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let yt_row = v
        .as_array()
        .expect("array")
        .iter()
        .find(|d| d["dsp"] == "youtube-music")
        .expect("row")
        .clone();
    assert_eq!(yt_row["status"], "uploaded");
    assert_eq!(yt_row["ack_overdue"], true);

    // An unreadable acknowledgement: reported, and the delivery is not taken as acknowledged.
    let out = w.liner(&[
        "deliver",
        &upcs[0],
        "--to",
        "deezer",
        "--wait",
        "--timeout",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is unreadable"), "{}", stderr(&out));
    assert_eq!(w.status(&upcs[0], "deezer").as_deref(), Some("uploaded"));

    // The daily summary.
    let out = w.liner(&["deliveries", "--summary"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mails = w.mails();
    assert!(
        mails
            .iter()
            .any(|m| m.contains("has not acknowledged") && m.contains("youtube-music")),
        "{mails:#?}"
    );
    let summary = mails
        .iter()
        .find(|m| m.contains("delivery summary"))
        .expect("summary mail");
    assert!(
        summary.contains("ops@distributor.example") && summary.contains("acknowledged: 2"),
        "{summary}"
    );
}

/// A PCM WAV rewritten with a WAVE_FORMAT_EXTENSIBLE header (same samples): what Spotify's
/// profile refuses and the other DSPs take with a warning.
fn make_extensible(path: &std::path::Path) {
    let b = std::fs::read(path).expect("wav");
    assert_eq!(&b[12..16], b"fmt ");
    let fmt_len = u32::from_le_bytes(b[16..20].try_into().expect("4")) as usize;
    let fmt = &b[20..20 + fmt_len];
    let (channels, bits) = (
        u16::from_le_bytes([fmt[2], fmt[3]]),
        u16::from_le_bytes([fmt[14], fmt[15]]),
    );
    let rest = &b[20 + fmt_len..];
    let mut ext = fmt[..16].to_vec();
    ext[0..2].copy_from_slice(&0xFFFEu16.to_le_bytes());
    ext.extend_from_slice(&22u16.to_le_bytes());
    ext.extend_from_slice(&bits.to_le_bytes());
    let mask: u32 = if channels == 2 { 3 } else { 4 };
    ext.extend_from_slice(&mask.to_le_bytes());
    // KSDATAFORMAT_SUBTYPE_PCM
    ext.extend_from_slice(&[
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B,
        0x71,
    ]);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&((4 + 8 + ext.len() + rest.len()) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&(ext.len() as u32).to_le_bytes());
    out.extend_from_slice(&ext);
    out.extend_from_slice(rest);
    std::fs::write(path, out).expect("write");
}

/// The QC gate is per DSP: a revision blocked by Spotify's profile (extensible WAV) and
/// passed by Deezer's is refused for Spotify (exit 3) and delivered to Deezer, whichever
/// profile QC ran with last.
#[test]
fn a_release_blocked_for_one_dsp_goes_to_the_others() {
    let w = World::new(BTreeMap::new());
    w.catalog();
    let upc = "196543210034";
    let src = fixtures().join("releases/paper-boats");
    let copy = w.dir.path().join("paper-boats");
    std::fs::create_dir_all(copy.join("audio")).expect("mkdir");
    std::fs::create_dir_all(copy.join("artwork")).expect("mkdir");
    for sub in ["release.toml", "audio", "artwork"] {
        let from = src.join(sub);
        if from.is_dir() {
            for e in std::fs::read_dir(&from).expect("dir").flatten() {
                std::fs::copy(e.path(), copy.join(sub).join(e.file_name())).expect("copy");
            }
        } else {
            std::fs::copy(&from, copy.join(sub)).expect("copy");
        }
    }
    let first = std::fs::read_dir(copy.join("audio"))
        .expect("audio")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .min()
        .expect("a wav");
    make_extensible(&first);
    w.ok(&["import", copy.to_str().expect("utf-8")]);
    // Checked for Deezer last: the gate still knows Spotify's verdict.
    let out = w.liner(&["qc", upc, "--json"]);
    assert_eq!(out.status.code(), Some(3), "blocked for one DSP: exit 3");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let verdict = |dsp: &str| {
        report["verdicts"]
            .as_array()
            .expect("verdicts")
            .iter()
            .find(|v| v["dsp"] == dsp)
            .map(|v| v["outcome"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(verdict("spotify").as_deref(), Some("blocked"), "{report}");
    assert_ne!(verdict("deezer").as_deref(), Some("blocked"));
    assert_eq!(
        w.liner(&["qc", upc, "--dsp", "deezer"]).status.code(),
        Some(0)
    );
    let out = w.liner(&[
        "deliver",
        upc,
        "--to",
        "spotify,deezer",
        "--wait",
        "--timeout",
        "120",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not cleared for spotify"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.status(upc, "deezer").as_deref(), Some("acknowledged"));
    assert_eq!(w.status(upc, "spotify"), None, "nothing queued for Spotify");
}

/// Issue 18: the file store in a bucket (SeaweedFS on loopback). Releases import into it and
/// deliver from it; an object corrupted in the bucket is refused at delivery — on a host
/// without a cached copy — with the hash it should have had, and nothing reaches the DSP.
#[test]
fn a_store_in_a_bucket_delivers_and_refuses_a_corrupted_object_with_its_hash() {
    let mut w = World::new(BTreeMap::new());
    let s3 = filestore::seaweed::Seaweed::start(&w.dir.path().join("seaweed"), "liner-files");
    w.env = s3.env("world");
    let upcs = w.catalog();
    assert!(upcs.len() >= 2, "{upcs:?}");
    let keys = s3.keys();
    assert!(
        keys.iter().any(|k| k.starts_with("world/sha256/")),
        "the files are in the bucket: {keys:?}"
    );
    w.ok(&[
        "deliver",
        &upcs[0],
        "--to",
        "spotify",
        "--wait",
        "--timeout",
        "60",
    ]);
    assert_eq!(
        w.status(&upcs[0], "spotify").as_deref(),
        Some("acknowledged")
    );

    let doc: serde_json::Value =
        serde_json::from_str(&w.ok(&["show", &upcs[1], "--json"])).expect("json");
    // The cover goes as stored (audio may go as a re-wrap made from the master).
    let hash = doc["artwork"]["file"]
        .as_str()
        .expect("stored artwork")
        .to_owned();
    let hex = hash.trim_start_matches("sha256:");
    assert!(s3.corrupt(
        &format!("world/sha256/{}/{hex}", &hex[..2]),
        b"not the master"
    ));
    // This host's cached copies go: it is now a host that never had them.
    // (With the store in a bucket, the home's .liner/files is the local cache.)
    std::fs::remove_dir_all(w.dir.path().join(".liner/files/sha256")).expect("drop the cache");
    let out = w.liner(&["deliver", &upcs[1], "--to", "spotify"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is corrupt") && err.contains(&hash), "{err}");
    assert!(
        !w.state("spotify").catalog.contains_key(&upcs[1]),
        "nothing delivered"
    );
}
