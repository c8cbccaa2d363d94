//! A delivery world for the binary's tests: a catalog (SQLite, or a fresh PostgreSQL
//! database), profiles pointing at mock DSPs started in the test process on free loopback
//! ports, and e-mail going to a real SMTP server (aiosmtpd) when one can run.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

use sha2::Digest;

use super::{PgDb, Smtp, fixtures, free_port, repo, schemas};

/// A catalog, profiles pointing at mock DSPs on free ports, the mock DSPs running.
pub(crate) struct World {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) mock: Option<mock_dsp::Running>,
    pub(crate) smtp: Option<Smtp>,
    pub(crate) ports: BTreeMap<String, u16>,
    /// The catalog's URL: SQLite in `dir`, or a PostgreSQL database of its own.
    pub(crate) database: String,
    pub(crate) pg: Option<PgDb>,
    /// More environment for every command (last, so it overrides): e.g. a bucket's.
    pub(crate) env: Vec<(&'static str, String)>,
}

pub(crate) const DSPS: [&str; 4] = ["spotify", "youtube-music", "apple-music", "deezer"];

impl World {
    pub(crate) fn new(faults: BTreeMap<String, mock_dsp::Faults>) -> World {
        World::with(faults, None)
    }

    /// On a PostgreSQL database of its own; None when PostgreSQL cannot be reached outside CI.
    pub(crate) fn on_postgres(faults: BTreeMap<String, mock_dsp::Faults>) -> Option<World> {
        let pg = PgDb::create()?;
        Some(World::with(faults, Some(pg)))
    }

    fn with(faults: BTreeMap<String, mock_dsp::Faults>, pg: Option<PgDb>) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = dir.path().join("dsp/keys");
        let profiles = dir.path().join("dsps");
        std::fs::create_dir_all(&profiles).expect("profiles dir");
        let mut ports = BTreeMap::new();
        for name in DSPS {
            let text = std::fs::read_to_string(repo().join(format!("deploy/dsps/{name}.toml")))
                .expect("shipped profile");
            let port = free_port();
            ports.insert(name.to_owned(), port);
            let text = text
                .replace(".liner/dsp/keys", keys.to_str().expect("utf-8"))
                .replace(":8470/", &format!(":{port}/"))
                .lines()
                .map(|l| {
                    if l.starts_with("port = ") {
                        format!("port = {port}")
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(profiles.join(format!("{name}.toml")), text).expect("profile");
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let database = match &pg {
            Some(p) => p.url.clone(),
            None => format!("sqlite://{}", dir.path().join("catalog.db").display()),
        };
        // The scheduler of `liner worker` is off unless a test writes its own [schedule].
        std::fs::write(
            dir.path().join("liner.toml"),
            "[schedule]\ndeliveries = false\nacknowledgements_minutes = 0\nreports_hours = 0\nstatements_day = 0\nledger_check = false\npurge_after_days = 0\n",
        )
        .expect("config");
        let mut w = World {
            database,
            pg,
            smtp: Smtp::start(dir.path()),
            dir,
            rt,
            mock: None,
            ports,
            env: Vec::new(),
        };
        w.start_mock(faults);
        w.ok(&["init"]);
        w
    }

    pub(crate) fn start_mock(&mut self, faults: BTreeMap<String, mock_dsp::Faults>) {
        if let Some(m) = self.mock.take() {
            m.stop();
        }
        let profiles = profiles::load_dir(&self.dir.path().join("dsps")).expect("profiles load");
        let settings = mock_dsp::Settings {
            root: self.dir.path().join("dsp"),
            schemas: schemas(),
            faults,
            scan_every: Duration::from_millis(100),
        };
        self.mock = Some(
            self.rt
                .block_on(mock_dsp::start(&profiles, &settings))
                .expect("mock DSPs start"),
        );
    }

    pub(crate) fn mock(&self) -> &mock_dsp::Running {
        self.mock.as_ref().expect("mock running")
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_liner"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("LINER_DATABASE", &self.database)
            .env("LINER_CONFIG", self.dir.path().join("liner.toml"))
            .env("LINER_REPORT_FORMATS", repo().join("deploy/report-formats"))
            .env("LINER_FILES", self.dir.path().join("files"))
            .env("LINER_PROFILES", self.dir.path().join("dsps"))
            .env("LINER_OUTBOX", self.dir.path().join("outbox"))
            .env_remove("DATABASE_URL")
            .env_remove("LINER_DEEZER_TOKEN")
            .env_remove("RUST_LOG");
        match &self.smtp {
            Some(s) => c.env("LINER_SMTP", format!("127.0.0.1:{}", s.port)),
            None => c.env_remove("LINER_SMTP"),
        };
        match schemas() {
            Some(s) => c.env("LINER_DDEX_SCHEMAS", s),
            None => c.env_remove("LINER_DDEX_SCHEMAS"),
        };
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub(crate) fn liner(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run liner")
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        super::stdout_of_success(args, self.liner(args))
    }

    /// Imports the fixture releases and the sheet, runs QC on each; returns the UPCs that
    /// passed.
    pub(crate) fn catalog(&self) -> Vec<String> {
        let f = fixtures();
        for p in [
            "releases/night-drives",
            "releases/paper-boats",
            "releases/hoshizora",
            "sheets/catalog.csv",
        ] {
            self.ok(&["import", f.join(p).to_str().expect("utf-8")]);
        }
        let list: serde_json::Value =
            serde_json::from_str(&self.ok(&["releases", "--json"])).expect("json");
        let mut passed = Vec::new();
        for r in list.as_array().expect("array") {
            let upc = r["upc"].as_str().expect("upc").to_owned();
            if self.qc_and_review(&upc) {
                passed.push(upc);
            }
        }
        passed.sort();
        passed
    }

    pub(crate) fn deliveries(&self) -> Vec<serde_json::Value> {
        let v: serde_json::Value =
            serde_json::from_str(&self.ok(&["deliveries", "--json"])).expect("json");
        v.as_array().expect("array").clone()
    }

    pub(crate) fn status(&self, upc: &str, dsp: &str) -> Option<String> {
        self.deliveries()
            .iter()
            .find(|d| d["upc"] == upc && d["dsp"] == dsp)
            .map(|d| d["status"].as_str().unwrap_or_default().to_owned())
    }

    pub(crate) fn state(&self, dsp: &str) -> mock_dsp::State {
        self.mock().dsp(dsp).expect("dsp").state()
    }

    pub(crate) fn mails(&self) -> Vec<String> {
        match &self.smtp {
            Some(s) => s.received(),
            None => notify::outbox_files(&self.dir.path().join("outbox"))
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap_or_default())
                .collect(),
        }
    }

    /// Re-imports a release changed by `edit`: a new revision to deliver as an update.
    pub(crate) fn revise(&self, upc: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut doc: serde_json::Value =
            serde_json::from_str(&self.ok(&["show", upc, "--json"])).expect("json");
        edit(&mut doc);
        let path = self.dir.path().join(format!("{upc}-revised.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
        let said = self.ok(&["import", path.to_str().expect("utf-8")]);
        let _ = said;
        assert!(self.qc_and_review(upc), "{upc} passes QC after the change");
    }

    /// QC for every DSP; a release that passes but needs a staff decision (AI content under
    /// the default "review" policy) is approved by the world's reviewer, as a distributor's
    /// staff would. Whether it may be delivered.
    pub(crate) fn qc_and_review(&self, upc: &str) -> bool {
        let out = self.liner(&["qc", upc, "--json"]);
        if !out.status.success() {
            return false;
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("qc json");
        if report["needs_review"] == true {
            let out = self
                .command(&[
                    "review",
                    "approve",
                    upc,
                    "--reason",
                    "AI disclosure reviewed",
                ])
                .env("LINER_OPERATOR", "World Staff <staff@example.com>")
                .output()
                .expect("review");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        true
    }

    /// Re-imports a release with another title.
    pub(crate) fn retitle(&self, upc: &str, title: &str) {
        self.revise(upc, |doc| {
            doc["title"] = serde_json::Value::String(title.to_owned())
        });
    }
}

/// What is at a mock DSP: no temporary files left, every delivered file's SHA-256 is a
/// file Liner holds, every message one effect.
pub(crate) fn check_dsp_files(w: &World, dsp: &str) -> usize {
    let store = filestore::FileStore::open(w.dir.path().join("files")).expect("file store");
    let root = w.mock().dsp(dsp).expect("dsp").dir.clone();
    let mut n = 0;
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            assert!(
                !name.ends_with(".part"),
                "{dsp}: a temporary upload was left: {}",
                p.display()
            );
            if p.components().any(|c| c.as_os_str() == "resources") {
                let bytes = std::fs::read(&p).expect("read");
                let h = model::ContentHash::parse(&format!(
                    "sha256:{}",
                    hex::encode(sha2::Sha256::digest(&bytes))
                ))
                .expect("hash");
                assert!(
                    store.contains(&h),
                    "{dsp}: {} is not a byte-identical copy of a stored file",
                    p.display()
                );
                n += 1;
            }
        }
    }
    for (m, k) in &w.state(dsp).effects {
        assert_eq!(*k, 1, "{dsp}: message {m} took effect {k} times");
    }
    n
}
