//! Every file-store case on both backends: the folder, and a bucket of a real S3 server
//! (SeaweedFS on loopback, started here).

use std::fs;
use std::path::Path;

use filestore::seaweed::Seaweed;
use filestore::{FileStore, FileStoreError, S3Settings};

/// Runs `case` against a folder store and against a bucket store (each in a fresh place).
fn on_both(name: &str, case: impl Fn(&FileStore, &Path, Option<&Seaweed>)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = FileStore::open(dir.path().join("files")).expect("open folder");
    case(&local, dir.path(), None);

    let dir = tempfile::tempdir().expect("tempdir");
    let s3 = Seaweed::start(&dir.path().join("seaweed"), "liner-files");
    let remote =
        FileStore::open_s3(dir.path().join("cache"), &s3.settings(name)).expect("open bucket");
    assert!(remote.is_remote());
    assert_eq!(remote.location(), format!("s3://liner-files/{name}"));
    case(&remote, dir.path(), Some(&s3));
}

#[test]
fn put_is_content_addressed_idempotent_and_verified() {
    on_both("put", |store, dir, s3| {
        let src = dir.join("a.bin");
        fs::write(&src, b"hello liner").expect("write");
        let d1 = store.put_file(&src).expect("put");
        let d2 = store.put_file(&src).expect("put again");
        assert_eq!(d1, d2);
        assert_eq!(d1.size, 11);
        // Known digests of "hello liner", computed independently with sha256sum / md5sum.
        assert_eq!(
            d1.sha256.hex(),
            "d9413423b219a303a3f8ca677d8d71dfe71712e158fae96cada1ebc3ee789fad"
        );
        assert_eq!(d1.md5, "cce0ab2c8fb41dfeab7b575bf3b822a3");
        assert!(store.contains(&d1.sha256));
        assert_eq!(
            store.read_verified(&d1.sha256).expect("read"),
            b"hello liner"
        );
        assert_eq!(
            fs::read_dir(store.root().join("tmp")).expect("tmp").count(),
            0,
            "no temp files left behind"
        );
        let blobs = store.blobs().expect("blobs");
        assert_eq!(blobs.len(), 1);
        assert_eq!(
            (blobs[0].hash.clone(), blobs[0].size),
            (d1.sha256.clone(), 11)
        );

        // Corrupt the stored copy: reads must refuse it, naming the hash it should have.
        match s3 {
            None => fs::write(store.path_of(&d1.sha256), b"hello lineR").expect("corrupt"),
            Some(s3) => {
                let key = format!("put/sha256/d9/{}", d1.sha256.hex());
                assert!(s3.corrupt(&key, b"hello lineR"), "overwrite {key}");
                // The cached copy (made by read_verified above) is dropped, as on a host
                // that never had one.
                fs::remove_file(store.path_of(&d1.sha256)).expect("drop the cache");
            }
        }
        let e = store.read_verified(&d1.sha256).expect_err("corrupt");
        assert!(matches!(e, FileStoreError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains(&d1.sha256.to_string()), "{e}");
        let e = store.verify(&d1.sha256).expect_err("corrupt");
        assert!(matches!(e, FileStoreError::Corrupt { .. }), "{e}");
        let e = store.verified_copy(&d1.sha256).expect_err("corrupt");
        assert!(e.to_string().contains(&d1.sha256.to_string()), "{e}");
    });
}

#[test]
fn large_files_stream_in_parts_and_come_back_whole() {
    on_both("large", |store, dir, _| {
        // 20 MiB of varied bytes: three parts of a multipart upload.
        let src = dir.join("big.wav");
        let bytes: Vec<u8> = (0..20u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        fs::write(&src, &bytes).expect("write");
        let d = store.put_file(&src).expect("put");
        assert_eq!(d.size, 20 << 20);
        assert_eq!(d, FileStore::digest_file(&src).expect("digest"));
        let copy = store.verified_copy(&d.sha256).expect("copy");
        assert_eq!(fs::read(&copy).expect("read"), bytes);
        assert_eq!(store.verify(&d.sha256).expect("verify"), d);
    });
}

#[test]
fn missing_blobs_say_so_and_removed_blobs_are_gone() {
    on_both("remove", |store, dir, _| {
        let src = dir.join("x.txt");
        fs::write(&src, b"to be removed").expect("write");
        let d = store.put_file(&src).expect("put");
        let blob = store
            .blobs()
            .expect("blobs")
            .into_iter()
            .find(|b| b.hash == d.sha256)
            .expect("listed");
        store.remove(&blob).expect("remove");
        assert!(!store.contains(&d.sha256));
        assert!(store.blobs().expect("blobs").is_empty());
        let e = store.local_copy(&d.sha256).expect_err("gone");
        assert!(matches!(e, FileStoreError::Missing { .. }), "{e}");
    });
}

/// An unreachable endpoint, refused credentials and a missing bucket: one error each, at
/// open, naming the URL and never the secret.
#[test]
fn a_bucket_that_cannot_be_used_is_one_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s3 = Seaweed::start(&dir.path().join("seaweed"), "liner-files");
    let good = s3.settings("p");
    let secret = good.secret_access_key.clone().expect("secret");
    let cases: Vec<(S3Settings, &str)> = vec![
        (
            S3Settings {
                endpoint: Some("http://127.0.0.1:9".into()),
                ..good.clone()
            },
            "cannot be reached",
        ),
        (
            S3Settings {
                secret_access_key: Some("not-the-secret".into()),
                ..good.clone()
            },
            "credentials were refused",
        ),
        (
            S3Settings {
                bucket: "no-such-bucket".into(),
                ..good.clone()
            },
            "bucket does not exist",
        ),
    ];
    for (s, why) in cases {
        let started = std::time::Instant::now();
        let e = FileStore::open_s3(dir.path().join("cache"), &s).expect_err("refused");
        let text = e.to_string();
        assert!(text.contains(&s.url()), "{text}");
        assert!(text.contains(why), "{why}: {text}");
        assert!(
            !text.contains(&secret) && !text.contains("not-the-secret"),
            "{text}"
        );
        assert!(
            started.elapsed().as_secs() < 60,
            "{text}: took {:?}",
            started.elapsed()
        );
    }
}
