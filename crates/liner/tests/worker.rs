//! `liner worker` and `liner jobs` as an operator runs them: queued jobs run once each,
//! a failing job backs off and parks dead with its error until retried, the scheduler
//! enqueues each slot once however often it ticks, and SIGTERM stops the worker cleanly.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{repo, stdout_of_success};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let e = Env {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        // The shipped profiles point at mock DSPs that are not running here: no deliveries
        // or report fetches in these tests (the operations tests run those).
        std::fs::write(
            e.dir.path().join("liner.toml"),
            "[schedule]\ndeliveries = false\nreports_hours = 0\n",
        )
        .expect("config");
        e.ok(&["init"]);
        e
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_liner"));
        c.current_dir(repo())
            .args(args)
            .env(
                "LINER_DATABASE",
                store::sqlite_url(&self.dir.path().join("catalog.db")),
            )
            .env("LINER_FILES", self.dir.path().join("files"))
            .env("LINER_OUTBOX", self.dir.path().join("outbox"))
            .env("LINER_CONFIG", self.dir.path().join("liner.toml"))
            .env_remove("DATABASE_URL");
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        stdout_of_success(args, self.cmd(args).output().expect("run liner"))
    }

    fn jobs(&self) -> Vec<serde_json::Value> {
        let v: serde_json::Value =
            serde_json::from_str(&self.ok(&["jobs", "--all", "--json"])).expect("json");
        v.as_array().cloned().unwrap_or_default()
    }
}

#[test]
fn queued_jobs_run_once_failures_park_dead_and_retry_requeues() {
    let e = Env::new();
    assert!(
        e.ok(&[
            "jobs",
            "add",
            "ledger-check",
            "--scope",
            "all",
            "--slot",
            "2026-11-26"
        ])
        .contains("queued")
    );
    assert!(
        e.ok(&[
            "jobs",
            "add",
            "ledger-check",
            "--scope",
            "all",
            "--slot",
            "2026-11-26"
        ])
        .contains("already queued")
    );
    let folder = e.dir.path().join("no-such-folder").display().to_string();
    e.ok(&[
        "jobs",
        "add",
        "import-reports",
        "--scope",
        "dsp:spotify",
        "--max-attempts",
        "1",
        "--payload",
        &format!("{{\"folder\":\"{folder}\",\"period\":\"2026-10\"}}"),
    ]);
    let bad = e
        .cmd(&["jobs", "add", "launch-rockets"])
        .output()
        .expect("run");
    assert!(!bad.status.success(), "unknown kinds are refused");
    let out = e
        .cmd(&["worker", "--drain", "--no-schedule", "--runners", "2"])
        .output()
        .expect("worker");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    // JSON lines with the job's id, kind and scope.
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "job done" && l["fields"]["kind"] == "ledger-check"),
        "{log}"
    );
    assert!(
        lines.iter().any(
            |l| l["fields"]["message"] == "job failed" && l["fields"]["scope"] == "dsp:spotify"
        ),
        "{log}"
    );
    let jobs = e.jobs();
    assert_eq!(jobs.len(), 2);
    let check = jobs
        .iter()
        .find(|j| j["kind"] == "ledger-check")
        .expect("check job");
    assert_eq!(
        (check["status"].as_str(), check["attempts"].as_i64()),
        (Some("done"), Some(1))
    );
    let import = jobs
        .iter()
        .find(|j| j["kind"] == "import-reports")
        .expect("import job");
    assert_eq!(import["status"], "dead");
    assert!(
        import["last_error"]
            .as_str()
            .is_some_and(|s| s.contains("no-such-folder")),
        "{import}"
    );
    // The operator fixes the cause and retries.
    std::fs::create_dir_all(e.dir.path().join("no-such-folder")).expect("mkdir");
    let id = import["id"].as_i64().expect("id").to_string();
    assert!(e.ok(&["jobs", "retry", &id]).contains("queued again"));
    assert!(
        !e.cmd(&["jobs", "retry", &id])
            .output()
            .expect("run")
            .status
            .success(),
        "a queued job is not retried"
    );
    e.ok(&["worker", "--drain", "--no-schedule"]);
    let jobs = e.jobs();
    assert!(jobs.iter().all(|j| j["status"] == "done"), "{jobs:?}");
}

#[test]
fn the_scheduler_enqueues_each_slot_once_and_sigterm_stops_the_worker() {
    let e = Env::new();
    let mut child = e
        .cmd(&["worker", "--runners", "2", "--poll-ms", "50"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("worker");
    // Many scheduler ticks within the same slots: each scheduled job exists once and runs.
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = e.jobs();
        if jobs.len() >= 4 && jobs.iter().all(|j| j["status"] == "done") {
            break;
        }
        assert!(
            Instant::now() < until,
            "scheduled jobs did not run: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    let jobs = e.jobs();
    let kinds: Vec<&str> = jobs.iter().filter_map(|j| j["kind"].as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "refresh-acks").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "ledger-check").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "purge").count(),
        1,
        "{kinds:?}"
    );
    assert!(
        !kinds
            .iter()
            .any(|k| *k == "fetch-reports" || *k == "deliver"),
        "turned off in [schedule]: {kinds:?}"
    );
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < until, "the worker did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "a clean exit on SIGTERM: {status:?}");
    let mut log = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("log");
    assert!(
        log.contains("shutdown requested") && log.contains("worker stopped"),
        "{log}"
    );
}

/// Issue 18: jobs are a closed set now. Rows written before (kind strings and JSON
/// parameters, as every earlier version wrote them straight into the queue) still run when
/// they fit a kind; a row of a kind or shape this version does not know is parked dead with
/// "unknown payload" and the worker goes on — never a panic.
#[test]
fn job_rows_written_before_the_closed_set_run_or_park_dead_as_unknown_payload() {
    let e = Env::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let catalog = store::Store::open(
            &store::sqlite_url(&e.dir.path().join("catalog.db")),
            store::OpenMode::Existing,
        )
        .await
        .expect("catalog");
        let rows = [
            ("ledger-check", "old-1", serde_json::json!({})),
            ("purge", "old-2", serde_json::json!({"days": 30})),
            (
                "refresh-acks",
                "old-3",
                serde_json::json!({"note": "a key no kind reads"}),
            ),
            ("launch-rockets", "old-4", serde_json::json!({})),
            (
                "deliver",
                "old-5",
                serde_json::json!({"upcs": "196543210010"}),
            ),
            ("statements", "old-6", serde_json::json!([2026, 10])),
        ];
        for (kind, scope, payload) in rows {
            catalog
                .enqueue(&store::NewJob {
                    kind: kind.into(),
                    scope: scope.into(),
                    slot: String::new(),
                    payload,
                    priority: 0,
                    run_after: chrono::Utc::now(),
                    max_attempts: 5,
                })
                .await
                .expect("enqueue");
        }
        catalog.close().await;
    });
    let out = e
        .cmd(&["worker", "--drain", "--no-schedule"])
        .output()
        .expect("worker");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        !log.contains("panicked") && !log.contains("internal error"),
        "{log}"
    );
    let jobs = e.jobs();
    let by_scope = |s: &str| {
        jobs.iter()
            .find(|j| j["scope"] == s)
            .unwrap_or_else(|| panic!("no job {s}: {jobs:#?}"))
            .clone()
    };
    for s in ["old-1", "old-2", "old-3"] {
        assert_eq!(by_scope(s)["status"], "done", "{s}: {:#}", by_scope(s));
    }
    for s in ["old-4", "old-5", "old-6"] {
        let j = by_scope(s);
        assert_eq!(j["status"], "dead", "{s}: {j:#}");
        assert_eq!(j["attempts"], 1, "parked at once, not retried: {j:#}");
        assert!(
            j["last_error"]
                .as_str()
                .is_some_and(|t| t.contains("unknown payload")),
            "{j:#}"
        );
    }
}
