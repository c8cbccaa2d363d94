//! Catalog store behaviour, run against both backends: SQLite in a temporary folder and a
//! fresh PostgreSQL database per test (named at random, so tests run in parallel). With
//! CI=true an unreachable PostgreSQL fails the test instead of skipping it.

use model::{ContentHash, FileRef, Release};
use store::{
    FileRecord, ImportOutcome, NewAck, NewDelivery, NewMessage, OpenMode, Store, StoreError,
};

mod common;
use common::TestDb;

on_both_backends!(
    import_creates_then_is_idempotent_then_revises,
    unknown_file_writes_nothing,
    failed_import_rolls_back_whole,
    isrc_lookup_sees_current_revisions_only,
    opening_twice_keeps_data,
    qc_runs_decisions_and_the_delivery_gate,
    analyses_are_cached_and_feed_the_duplicate_index,
    ern_message_history_is_kept_per_release_and_dsp,
    deliveries_move_along_the_choreography_and_keep_every_ack,
    derived_files_are_found_by_source_and_codec,
    packages_resume_file_by_file_and_notices_go_once,
);

const DOC: &str = r#"
upc = "036000291452"
title = "Night Drives"
release_type = "Single"
genre = "Electronic"
release_date = 2027-01-15
parental_advisory = "NotExplicit"
language = "en"
artwork = "AUDIO_HASH_ART"
artists = [{ name = "Nova Lune", role = "MainArtist" }]
label = { name = "Nightjar Records", email = "ops@nightjar.example" }
p_line = { year = 2027, holder = "Nightjar Records" }
c_line = { year = 2027, holder = "Nightjar Records" }
payees = [{ id = "nova-lune", name = "Nova Lune", email = "nova@example.com", currency = "EUR", payout_threshold = "20.00", payment_ref = "vault:payees/nova-lune" }]

[[tracks]]
number = 1
isrc = "GBAYE2700001"
title = "Night Drive"
duration = "3:05"
audio = "AUDIO_HASH_1"
splits = [{ payee = "nova-lune", basis_points = 10000 }]

[[tracks]]
number = 2
isrc = "GBAYE2700002"
title = "Night Drive"
version = "Extended Mix"
duration = "5:10"
audio = "AUDIO_HASH_2"
"#;

fn hash(n: u8) -> ContentHash {
    ContentHash::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).expect("hash")
}

fn release() -> Release {
    let text = DOC
        .replace("AUDIO_HASH_ART", &hash(1).to_string())
        .replace("AUDIO_HASH_1", &hash(2).to_string())
        .replace("AUDIO_HASH_2", &hash(3).to_string());
    intake::parse_document(std::path::Path::new("test.toml"), &text).expect("valid test release")
}

fn files() -> Vec<FileRecord> {
    (1..=3)
        .map(|n| FileRecord {
            sha256: hash(n),
            md5: "0".repeat(32),
            size: 100 + u64::from(n),
            original_name: format!("f{n}"),
        })
        .collect()
}

async fn counts(store: &Store) -> Vec<(&'static str, i64)> {
    store.table_counts().await.expect("counts")
}

async fn import_creates_then_is_idempotent_then_revises(store: &Store) {
    let r = release();
    assert_eq!(
        store
            .import_release(&r, &files(), "test")
            .await
            .expect("import"),
        ImportOutcome::Created { revision: 1 }
    );
    let before = counts(store).await;
    let summary_before = store
        .release(&r.upc)
        .await
        .expect("query")
        .expect("present");
    assert_eq!(
        store
            .import_release(&r, &[], "test again")
            .await
            .expect("reimport"),
        ImportOutcome::Unchanged { revision: 1 }
    );
    assert_eq!(
        counts(store).await,
        before,
        "an unchanged re-import writes nothing"
    );
    assert_eq!(
        store
            .release(&r.upc)
            .await
            .expect("query")
            .expect("present"),
        summary_before,
        "not even a timestamp"
    );

    let mut changed = r.clone();
    changed.title = "Night Drives (Deluxe)".into();
    changed.tracks[1].audio = FileRef::Stored(hash(1));
    assert_eq!(
        store
            .import_release(&changed, &[], "test")
            .await
            .expect("update"),
        ImportOutcome::Updated { revision: 2 }
    );
    let revs = store.revisions(&r.upc).await.expect("revisions");
    assert_eq!(
        revs.iter().map(|v| v.revision).collect::<Vec<_>>(),
        vec![1, 2],
        "history is kept"
    );
    assert!(revs[0].document.contains("\"Night Drives\""));
    let current = store
        .revision(&r.upc, None)
        .await
        .expect("query")
        .expect("current");
    assert_eq!(current.revision, 2);
    assert!(current.document.contains("Night Drives (Deluxe)"));
    let listed = store.releases().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].title, "Night Drives (Deluxe)");
    assert_eq!(listed[0].tracks, 2);
    assert_eq!(listed[0].status, "imported");
    assert_eq!(listed[0].artist, "Nova Lune");
    // The stored document reads back into the same release.
    let back = intake::parse_document(std::path::Path::new("stored.json"), &current.document)
        .expect("stored document parses");
    assert_eq!(back, changed);
}

async fn unknown_file_writes_nothing(store: &Store) {
    let r = release(); // its files are neither given nor recorded
    let err = store
        .import_release(&r, &files()[..2], "test")
        .await
        .expect_err("must refuse");
    assert!(matches!(err, StoreError::UnknownFile { .. }), "{err}");
    assert!(
        counts(store).await.iter().all(|(_, n)| *n == 0),
        "nothing written: {:?}",
        counts(store).await
    );
}

async fn failed_import_rolls_back_whole(store: &Store) {
    let mut r = release();
    // Two tracks at one position: the database refuses the second track row, after the
    // release, label, payee and revision rows were written in the same transaction.
    r.tracks[1].number = 1;
    let err = store
        .import_release(&r, &files(), "test")
        .await
        .expect_err("constraint violation");
    assert!(matches!(err, StoreError::Query(_)), "{err}");
    let c = counts(store).await;
    for (table, n) in c {
        assert_eq!(
            n, 0,
            "{table} after a failed import: the file records roll back too"
        );
    }
}

async fn isrc_lookup_sees_current_revisions_only(store: &Store) {
    let r = release();
    store
        .import_release(&r, &files(), "test")
        .await
        .expect("import");
    let isrc = r.tracks[1].isrc.clone();
    assert_eq!(
        store.releases_with_isrc(&isrc).await.expect("lookup"),
        vec!["036000291452".to_owned()]
    );
    let mut changed = r.clone();
    changed.tracks.pop();
    store
        .import_release(&changed, &[], "test")
        .await
        .expect("update");
    assert!(
        store
            .releases_with_isrc(&isrc)
            .await
            .expect("lookup")
            .is_empty(),
        "the track left in revision 2"
    );
}

async fn opening_twice_keeps_data(store: &Store) {
    store
        .import_release(&release(), &files(), "test")
        .await
        .expect("import");
    assert_eq!(store.releases().await.expect("list").len(), 1);
}

#[tokio::test]
async fn sqlite_catalog_must_exist_unless_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = store::sqlite_url(&dir.path().join("missing.db"));
    let err = Store::open(&url, OpenMode::Existing)
        .await
        .expect_err("no catalog yet");
    assert!(matches!(err, StoreError::NotInitialised { .. }), "{err}");
    assert!(err.to_string().contains("liner init"));
    Store::open(&url, OpenMode::Create)
        .await
        .expect("init")
        .close()
        .await;
    let again = Store::open(&url, OpenMode::Existing).await.expect("reopen");
    assert!(
        again
            .table_counts()
            .await
            .expect("counts")
            .iter()
            .all(|(_, n)| *n == 0)
    );
}

#[test]
fn urls_are_redacted() {
    assert_eq!(
        store::redact("postgres://u:secret@db:5432/x"),
        "postgres://u:***@db:5432/x"
    );
    assert_eq!(store::redact("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
}

async fn qc_runs_decisions_and_the_delivery_gate(store: &Store) {
    use store::{Gate, NewDecision, NewQcRun};
    let upc = "036000291452";
    store
        .import_release(&release(), &files(), "test")
        .await
        .expect("import");
    assert_eq!(
        store.gate(upc, "spotify").await.expect("gate"),
        Some(Gate::NotChecked { revision: 1 })
    );
    assert_eq!(
        store.gate("000000000000", "spotify").await.expect("gate"),
        None
    );
    let run = |blocked| NewQcRun {
        upc,
        revision: 1,
        profile: "spotify",
        blocked,
        needs_review: false,
        errors: i64::from(blocked),
        warnings: 0,
        report: "{}",
    };
    let blocked = store.record_qc_run(&run(true)).await.expect("qc run");
    assert_eq!(
        store.gate(upc, "spotify").await.expect("gate"),
        Some(Gate::Blocked {
            revision: 1,
            qc_run: blocked
        })
    );
    assert_eq!(
        store
            .release(&release().upc)
            .await
            .expect("summary")
            .expect("some")
            .status,
        store::STATUS_QC_BLOCKED
    );
    // The gate is per DSP: a run with Spotify's profile says nothing about Deezer.
    assert_eq!(
        store.gate(upc, "deezer").await.expect("gate"),
        Some(Gate::NotChecked { revision: 1 })
    );
    let deezer = store
        .record_qc_run(&NewQcRun {
            profile: "deezer",
            ..run(false)
        })
        .await
        .expect("qc run");
    assert_eq!(
        store.gate(upc, "deezer").await.expect("gate"),
        Some(Gate::Passed {
            revision: 1,
            qc_run: deezer
        })
    );
    assert!(
        matches!(
            store.gate(upc, "spotify").await.expect("gate"),
            Some(Gate::Blocked { .. })
        ),
        "the last run (Deezer's) does not clear Spotify"
    );
    // A run that needs a staff decision holds delivery until one is made.
    let review = store
        .record_qc_run(&NewQcRun {
            profile: "apple-music",
            needs_review: true,
            ..run(false)
        })
        .await
        .expect("qc run");
    assert_eq!(
        store.gate(upc, "apple-music").await.expect("gate"),
        Some(Gate::AwaitingReview {
            revision: 1,
            qc_run: review
        })
    );
    let passed = store.record_qc_run(&run(false)).await.expect("qc run");
    assert!(
        store
            .gate(upc, "spotify")
            .await
            .expect("gate")
            .expect("some")
            .deliverable()
    );
    let latest = store
        .latest_qc_run(upc, 1, Some("spotify"))
        .await
        .expect("latest")
        .expect("some");
    assert_eq!((latest.id, latest.blocked), (passed, false));

    let decision = |approve, code| NewDecision {
        upc,
        revision: 1,
        approve,
        code,
        reason: "because",
        operator: "Rosa <rosa@example.com>",
        qc_run_id: Some(passed),
        dsp: None,
    };
    // A decision for one DSP holds for that DSP only.
    let only_deezer = store
        .record_decision(&NewDecision {
            dsp: Some("deezer"),
            ..decision(false, "AUDIO")
        })
        .await
        .expect("decide");
    assert_eq!(
        store.gate(upc, "deezer").await.expect("gate"),
        Some(Gate::Rejected {
            revision: 1,
            decision: only_deezer.id,
            code: "AUDIO".into()
        })
    );
    assert!(
        store
            .gate(upc, "spotify")
            .await
            .expect("gate")
            .expect("some")
            .deliverable()
    );
    let d = store
        .record_decision(&decision(false, "RIGHTS"))
        .await
        .expect("decide");
    assert_eq!(
        store.gate(upc, "spotify").await.expect("gate"),
        Some(Gate::Rejected {
            revision: 1,
            decision: d.id,
            code: "RIGHTS".into()
        })
    );
    // A later QC run does not overturn staff's decision on the same revision.
    store.record_qc_run(&run(false)).await.expect("qc run");
    assert_eq!(
        store
            .release(&release().upc)
            .await
            .expect("summary")
            .expect("some")
            .status,
        store::STATUS_REJECTED
    );
    assert!(
        !store
            .gate(upc, "spotify")
            .await
            .expect("gate")
            .expect("some")
            .deliverable()
    );
    let a = store
        .record_decision(&decision(true, "CLEAN"))
        .await
        .expect("decide");
    assert_eq!(
        store.gate(upc, "spotify").await.expect("gate"),
        Some(Gate::Approved {
            revision: 1,
            decision: a.id
        })
    );

    // The log is append-only: the database itself refuses updates and deletes.
    let log = store.decisions(Some(upc)).await.expect("log");
    assert_eq!(
        log.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
        ["AUDIO", "RIGHTS", "CLEAN"]
    );
    for sql in [
        "UPDATE review_decisions SET reason = 'edited'",
        "DELETE FROM review_decisions",
    ] {
        let err = store
            .execute_raw_for_tests(sql)
            .await
            .expect_err("the audit log refuses changes");
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.decisions(None).await.expect("log"), log);

    // A new revision needs QC again.
    let mut next = release();
    next.title = "Night Drives (Deluxe)".into();
    store
        .import_release(&next, &[], "test")
        .await
        .expect("revise");
    assert_eq!(
        store.gate(upc, "spotify").await.expect("gate"),
        Some(Gate::NotChecked { revision: 2 })
    );
}

async fn analyses_are_cached_and_feed_the_duplicate_index(store: &Store) {
    store
        .import_release(&release(), &files(), "test")
        .await
        .expect("import");
    let h2 = hash(2).to_string();
    assert_eq!(store.analysis(&h2, "audio", 1).await.expect("get"), None);
    store
        .put_analysis(&h2, "audio", 1, Some("pcm-a"), None, "{\"x\":1}")
        .await
        .expect("put");
    // A second writer of the same analysis is harmless.
    store
        .put_analysis(&h2, "audio", 1, Some("pcm-a"), None, "{\"x\":1}")
        .await
        .expect("put again");
    assert_eq!(
        store
            .analysis(&h2, "audio", 1)
            .await
            .expect("get")
            .as_deref(),
        Some("{\"x\":1}")
    );
    assert_eq!(
        store.analysis(&h2, "audio", 2).await.expect("get"),
        None,
        "another analyser version"
    );
    store
        .put_analysis(
            &hash(1).to_string(),
            "artwork",
            1,
            None,
            Some("00ff00ff00ff00ff"),
            "{}",
        )
        .await
        .expect("put");
    assert_eq!(
        store.artwork_hashes().await.expect("hashes"),
        vec![(hash(1).to_string(), "00ff00ff00ff00ff".to_owned())]
    );

    let by_isrc = store
        .tracks_matching(&["GBAYE2700002".into()], &[])
        .await
        .expect("match");
    assert_eq!(by_isrc.len(), 1);
    assert_eq!(by_isrc[0].pcm_sha256, None);
    let by_pcm = store
        .tracks_matching(&[], &["pcm-a".into()])
        .await
        .expect("match");
    assert_eq!(
        (
            by_pcm.len(),
            by_pcm[0].isrc.as_str(),
            by_pcm[0].pcm_sha256.as_deref()
        ),
        (1, "GBAYE2700001", Some("pcm-a"))
    );
    assert!(
        store
            .tracks_matching(&[], &[])
            .await
            .expect("match")
            .is_empty()
    );
    assert_eq!(store.current_documents().await.expect("docs").len(), 1);
}

async fn ern_message_history_is_kept_per_release_and_dsp(store: &Store) {
    let m = |id: &'static str, dsp: &'static str, intent: &'static str| NewMessage {
        upc: "036000291452",
        dsp,
        revision: 1,
        message_id: id,
        intent,
        ern_version: "4.3",
        created_at: "2026-11-26T10:00:00+00:00",
        xml: "<ern:NewReleaseMessage/>",
    };
    store
        .record_message(&m("m1", "spotify", "new"))
        .await
        .expect("record");
    store
        .record_message(&m("m2", "spotify", "update"))
        .await
        .expect("record");
    store
        .record_message(&m("m1", "deezer", "new"))
        .await
        .expect("same id, other DSP");
    let spotify = store
        .messages("036000291452", "spotify")
        .await
        .expect("history");
    assert_eq!(
        spotify
            .iter()
            .map(|x| x.intent.as_str())
            .collect::<Vec<_>>(),
        ["new", "update"]
    );
    assert_eq!(spotify[0].sha256.len(), 64);
    assert_eq!(
        store
            .message_xml(spotify[1].id)
            .await
            .expect("xml")
            .as_deref(),
        Some("<ern:NewReleaseMessage/>")
    );
    assert_eq!(store.message_xml(-1).await.expect("none"), None);
    assert_eq!(
        store
            .messages("036000291452", "deezer")
            .await
            .expect("history")
            .len(),
        1
    );
    assert!(
        store
            .messages("036000291452", "youtube")
            .await
            .expect("history")
            .is_empty()
    );
    // A message id is used once per DSP, and the history cannot be rewritten.
    assert!(
        store
            .record_message(&m("m2", "spotify", "takedown"))
            .await
            .is_err()
    );
    assert!(
        store
            .record_message(&m("m3", "spotify", "delete"))
            .await
            .is_err(),
        "intent is checked"
    );
    for sql in [
        "UPDATE ern_messages SET intent = 'purge'",
        "DELETE FROM ern_messages",
    ] {
        assert!(
            store.execute_raw_for_tests(sql).await.is_err(),
            "{sql} must be refused"
        );
    }
    assert_eq!(
        store
            .messages("036000291452", "spotify")
            .await
            .expect("history")
            .len(),
        2
    );
}

async fn deliveries_move_along_the_choreography_and_keep_every_ack(store: &Store) {
    use choreography::DeliveryStatus::*;
    let new = NewDelivery {
        upc: "036000291452",
        dsp: "spotify",
        revision: 1,
        message_id: "m1",
        intent: "new",
    };
    let d = store.queue_delivery(&new).await.expect("queue");
    assert_eq!((d.status, d.attempts), (Queued, 0));
    // Queuing the same message again is the same delivery: it takes effect once.
    assert_eq!(store.queue_delivery(&new).await.expect("again").id, d.id);
    assert_eq!(store.deliveries().await.expect("list").len(), 1);

    assert!(
        store
            .move_delivery(d.id, Queued, Uploading, None, None)
            .await
            .expect("move")
    );
    // A second worker that still thinks it is queued does not move it.
    assert!(
        !store
            .move_delivery(d.id, Queued, Uploading, None, None)
            .await
            .expect("cas")
    );
    // Interrupted: back to queued with the error, then a second attempt uploads it.
    assert!(
        store
            .move_delivery(
                d.id,
                Uploading,
                Queued,
                Some(1_000),
                Some("connection reset")
            )
            .await
            .expect("move")
    );
    let r = store.delivery(d.id).await.expect("get").expect("row");
    assert_eq!(
        (r.status, r.attempts, r.bytes, r.last_error.as_deref()),
        (Queued, 1, 1_000, Some("connection reset"))
    );
    assert!(
        store
            .move_delivery(d.id, Queued, Uploading, None, None)
            .await
            .expect("move")
    );
    assert!(
        store
            .move_delivery(d.id, Uploading, Uploaded, Some(52_000_000), None)
            .await
            .expect("move")
    );
    let r = store.delivery(d.id).await.expect("get").expect("row");
    assert_eq!(
        (r.status, r.attempts, r.bytes, r.last_error),
        (Uploaded, 2, 52_000_000, None)
    );
    assert!(r.uploaded_at.is_some());
    // Moves outside the state machine are refused before touching the database.
    assert!(matches!(
        store
            .move_delivery(d.id, Queued, Acknowledged, None, None)
            .await,
        Err(StoreError::BadMove { .. })
    ));

    // Acknowledgements: FileOK, the same file read twice, then a later error.
    let ack = |source: &'static str, status: &'static str, action: &'static str| NewAck {
        dsp: "spotify",
        message_id: "m1",
        source,
        acked_at: "2026-11-26T11:00:00+00:00",
        status,
        action,
        error_text: (status != "FileOK").then_some("cover art below 3000 px"),
        document: "<ern-c-sftp:FtpAcknowledgementMessage/>",
    };
    assert!(
        store
            .record_ack(&ack("ACK_m1_1.xml", "FileOK", "done"))
            .await
            .expect("ack")
    );
    assert!(
        !store
            .record_ack(&ack("ACK_m1_1.xml", "FileOK", "done"))
            .await
            .expect("dup")
    );
    assert!(
        store
            .move_delivery(d.id, Uploaded, Acknowledged, None, None)
            .await
            .expect("move")
    );
    assert!(
        store
            .record_ack(&ack(
                "ACK_m1_2.xml",
                "ResourceNotMeetingSpecifications",
                "surface"
            ))
            .await
            .expect("ack")
    );
    assert!(
        store
            .move_delivery(
                d.id,
                Acknowledged,
                Rejected,
                None,
                Some("cover art below 3000 px")
            )
            .await
            .expect("move")
    );
    let acks = store.acks("spotify", "m1").await.expect("acks");
    assert_eq!(
        acks.iter().map(|a| a.status.as_str()).collect::<Vec<_>>(),
        ["FileOK", "ResourceNotMeetingSpecifications"]
    );
    assert!(
        store
            .execute_raw_for_tests("DELETE FROM acknowledgements")
            .await
            .is_err(),
        "append-only"
    );
    assert_eq!(
        store
            .delivery(d.id)
            .await
            .expect("get")
            .expect("row")
            .status,
        Rejected
    );
}

async fn derived_files_are_found_by_source_and_codec(store: &Store) {
    let r = release();
    store
        .import_release(&r, &files(), "t.toml")
        .await
        .expect("import");
    let master = hash(1);
    assert_eq!(store.derived(&master, "flac").await.expect("none"), None);
    let flac = FileRecord {
        sha256: hash(99),
        md5: "f".repeat(32),
        size: 123,
        original_name: "master.flac".into(),
    };
    store
        .record_derived(&master, "flac", &flac)
        .await
        .expect("record");
    // Recording it again (two workers made it) is harmless.
    store
        .record_derived(&master, "flac", &flac)
        .await
        .expect("again");
    assert_eq!(
        store.derived(&master, "flac").await.expect("found"),
        Some(flac.clone())
    );
    assert_eq!(store.file(&flac.sha256).await.expect("file"), Some(flac));
    assert_eq!(
        store.derived(&master, "wav").await.expect("other codec"),
        None
    );
}

async fn packages_resume_file_by_file_and_notices_go_once(store: &Store) {
    let new = NewDelivery {
        upc: "036000291452",
        dsp: "spotify",
        revision: 1,
        message_id: "m-pkg",
        intent: "new",
    };
    let files = vec![
        (
            "resources/a.flac".to_owned(),
            format!("sha256:{}", "a".repeat(64)),
            "0".repeat(32),
            10,
        ),
        (
            "036000291452.xml".to_owned(),
            "message".to_owned(),
            "1".repeat(32),
            5,
        ),
    ];
    let d = store
        .queue_package(&new, "2026-11-26T10:00:00.000Z", true, &files)
        .await
        .expect("queue");
    assert_eq!(
        (d.package_at.as_deref(), d.priority),
        (Some("2026-11-26T10:00:00.000Z"), true)
    );
    // The same message again: the same delivery, its file list untouched.
    let again = store
        .queue_package(&new, "2026-11-26T11:00:00.000Z", false, &files[..1])
        .await
        .expect("again");
    assert_eq!((again.id, again.package_at), (d.id, d.package_at.clone()));
    let listed = store.delivery_files(d.id).await.expect("files");
    assert_eq!(listed.len(), 2);
    assert_eq!((listed[0].seq, listed[1].source.as_str()), (0, "message"));
    assert!(listed.iter().all(|f| f.sent_at.is_none()));
    // Marked file by file; a resend the DSP asks for starts a new folder, all unsent.
    store.mark_sent(d.id, 0).await.expect("mark");
    let listed = store.delivery_files(d.id).await.expect("files");
    assert!(listed[0].sent_at.is_some() && listed[1].sent_at.is_none());
    store
        .repackage(d.id, "2026-11-26T12:00:00.000Z")
        .await
        .expect("repackage");
    assert!(
        store
            .delivery_files(d.id)
            .await
            .expect("files")
            .iter()
            .all(|f| f.sent_at.is_none())
    );
    let latest = store
        .latest_delivery("036000291452", "spotify")
        .await
        .expect("latest")
        .expect("row");
    assert_eq!(
        (latest.id, latest.package_at.as_deref()),
        (d.id, Some("2026-11-26T12:00:00.000Z"))
    );
    assert!(
        store
            .latest_delivery("036000291452", "deezer")
            .await
            .expect("none")
            .is_none()
    );
    // A notice goes once per delivery, kind and detail.
    assert!(
        !store
            .notice_sent(d.id, "rejected", "ACK_1")
            .await
            .expect("sent?")
    );
    assert!(
        store
            .record_notice(d.id, "rejected", "ACK_1", "label@example.com", "smtp")
            .await
            .expect("record")
    );
    assert!(
        !store
            .record_notice(d.id, "rejected", "ACK_1", "label@example.com", "smtp")
            .await
            .expect("twice")
    );
    assert!(
        store
            .notice_sent(d.id, "rejected", "ACK_1")
            .await
            .expect("sent?")
    );
    assert!(
        !store
            .notice_sent(d.id, "rejected", "ACK_2")
            .await
            .expect("other")
    );
}
