//! Operations end to end: `liner worker` processes run against the mock DSPs started in
//! this process, and are killed with SIGKILL in the middle of a job.
//!
//! - One worker on SQLite, its scheduler delivering what is due, killed mid-delivery and
//!   started again: every job completes and every message takes effect once at the DSP.
//! - Three workers on one PostgreSQL database sharing ~200 jobs (deliveries and sales
//!   report imports), one killed mid-job: every job done, each effect once.
//!   `LINER_WORKERS_JOBS=1000 cargo test -p liner --test operations three -- --nocapture`
//!   runs the documented larger version.
//! - The scheduler's report fetch over SFTP and HTTP: the mock DSPs' reports imported once,
//!   a refused one reported once.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Datelike;

mod common;
use common::world::{DSPS, World, check_dsp_files};

/// A `liner worker` child whose JSON log lines are collected as they come.
struct Worker {
    child: Child,
    log: Arc<Mutex<Vec<serde_json::Value>>>,
    name: String,
}

impl Worker {
    fn start(w: &World, name: &str, extra: &[&str]) -> Worker {
        let mut args = vec!["worker", "--name", name, "--poll-ms", "50"];
        args.extend_from_slice(extra);
        let mut child = w
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start liner worker");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && let Ok(mut l) = sink.lock()
                {
                    l.push(v);
                }
            }
        });
        Worker {
            child,
            log,
            name: name.to_owned(),
        }
    }

    /// Log lines whose message is `msg`, as their fields.
    fn events(&self, msg: &str) -> Vec<serde_json::Value> {
        self.log
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|v| v["fields"]["message"] == msg)
                    .map(|v| v["fields"].clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until a job of `kind` has started and not finished, then SIGKILLs the worker
    /// `after` later; the job id it was running.
    fn kill_during(&mut self, kind: &str, after: Duration, timeout: Duration) -> i64 {
        let until = Instant::now() + timeout;
        let job = loop {
            let done: BTreeSet<i64> = self
                .events("job done")
                .iter()
                .filter_map(|f| f["job"].as_i64())
                .collect();
            if let Some(j) = self
                .events("job started")
                .iter()
                .filter(|f| f["kind"] == kind)
                .filter_map(|f| f["job"].as_i64())
                .find(|j| !done.contains(j))
            {
                break j;
            }
            assert!(
                Instant::now() < until,
                "{}: no {kind} job started within {timeout:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        std::thread::sleep(after);
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
        job
    }

    fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let until = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!("{} did not finish within {timeout:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn jobs(w: &World) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(&w.ok(&["jobs", "--all", "--json"])).expect("json");
    v.as_array().cloned().unwrap_or_default()
}

/// Reads acknowledgements back until every latest delivery is acknowledged.
fn until_acknowledged(w: &World, timeout: Duration) -> Vec<serde_json::Value> {
    let until = Instant::now() + timeout;
    loop {
        w.ok(&["deliveries", "--refresh"]);
        let d = w.deliveries();
        if d.iter().all(|d| d["status"] == "acknowledged") {
            return d;
        }
        assert!(Instant::now() < until, "not all acknowledged: {d:#?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn set_schedule(w: &World, schedule: &str) {
    std::fs::write(
        w.dir.path().join("liner.toml"),
        format!("[schedule]\n{schedule}\n"),
    )
    .expect("config");
}

/// Which (UPC, DSP) deliveries are due today, from the release dates and the shipped
/// profiles' offsets: what the scheduler must have enqueued.
fn due_pairs(w: &World, upcs: &[String]) -> BTreeSet<(String, String)> {
    let list: serde_json::Value =
        serde_json::from_str(&w.ok(&["releases", "--json"])).expect("json");
    let today = chrono::Utc::now().date_naive();
    let mut out = BTreeSet::new();
    for r in list.as_array().expect("array") {
        let upc = r["upc"].as_str().expect("upc").to_owned();
        if !upcs.contains(&upc) {
            continue;
        }
        let date = chrono::NaiveDate::parse_from_str(
            r["release_date"].as_str().expect("date"),
            "%Y-%m-%d",
        )
        .expect("date");
        for dsp in DSPS {
            let profile = profiles::load_dir(&w.dir.path().join("dsps")).expect("profiles");
            let p = profile.iter().find(|p| p.name == dsp).expect("profile");
            if date - chrono::Duration::days(i64::from(p.lead_time.delivery_offset_days)) <= today {
                out.insert((upc.clone(), dsp.to_owned()));
            }
        }
    }
    out
}

fn print_jobs(w: &World) {
    eprintln!("$ liner jobs --all\n{}", w.ok(&["jobs", "--all"]));
}

fn print_dsp_view(w: &World) {
    for dsp in DSPS {
        let st = w.state(dsp);
        eprintln!(
            "mock DSP {dsp}: {} releases live, {} messages, effects per message {:?}",
            st.catalog.len(),
            st.effects.len(),
            st.effects.values().collect::<BTreeSet<_>>()
        );
    }
}

#[test]
fn killing_the_worker_mid_delivery_and_starting_it_again_completes_every_job_once() {
    let w = World::new(BTreeMap::new());
    let upcs = w.catalog();
    assert!(upcs.len() >= 3, "fixture releases pass QC: {upcs:?}");
    // Push one release's date out of its delivery window (40 days away): the scheduler must
    // leave it alone until its offset comes.
    // Bring the others inside every DSP's window (15 days away; the fixtures' own dates are
    // 4 to 7 weeks out), except the last, which keeps its date.
    let today = chrono::Utc::now().date_naive();
    let move_to = |upc: &str, days: i64| {
        let d = (today + chrono::Duration::days(days)).to_string();
        w.revise(upc, |doc| {
            if doc
                .get("original_release_date")
                .is_some_and(|o| !o.is_null())
            {
                doc["original_release_date"] = serde_json::Value::String(d.clone());
            }
            doc["release_date"] = serde_json::Value::String(d);
        });
    };
    move_to(&upcs[0], 40);
    for upc in &upcs[1..upcs.len() - 1] {
        move_to(upc, 15);
    }
    // A release QC blocks, inside the window too: it must not be scheduled.
    let problems = common::fixtures().join("qc/problems");
    w.ok(&["import", problems.to_str().expect("utf-8")]);
    let all: serde_json::Value =
        serde_json::from_str(&w.ok(&["releases", "--json"])).expect("json");
    let blocked: Vec<String> = all
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["upc"].as_str().map(str::to_owned))
        .filter(|u| !upcs.contains(u))
        .collect();
    assert!(!blocked.is_empty(), "the fixtures hold a release QC blocks");
    for upc in &blocked {
        let mut doc: serde_json::Value =
            serde_json::from_str(&w.ok(&["show", upc, "--json"])).expect("json");
        let d = (today + chrono::Duration::days(15)).to_string();
        if doc
            .get("original_release_date")
            .is_some_and(|o| !o.is_null())
        {
            doc["original_release_date"] = serde_json::Value::String(d.clone());
        }
        doc["release_date"] = serde_json::Value::String(d);
        let path = w.dir.path().join(format!("{upc}-soon.json"));
        std::fs::write(&path, serde_json::to_vec(&doc).expect("json")).expect("write");
        w.ok(&["import", path.to_str().expect("utf-8")]);
        assert_eq!(
            w.liner(&["qc", upc]).status.code(),
            Some(3),
            "{upc} stays blocked"
        );
    }
    let due = due_pairs(&w, &upcs);
    assert!(
        !due.iter().any(|(u, _)| u == &upcs[0]),
        "40 days away is not due"
    );
    assert!(due.len() >= 8, "{due:?}");
    set_schedule(
        &w,
        "tick_seconds = 1\nreports_hours = 0\nstatements_day = 0\nacknowledgements_minutes = 0\nledger_check = false\npurge_after_days = 0",
    );

    // One worker, 2 runners; killed while a delivery is in its hands.
    let mut first = Worker::start(&w, "first", &["--runners", "2", "--lease", "3"]);
    let killed = first.kill_during(
        "deliver",
        Duration::from_millis(150),
        Duration::from_secs(60),
    );
    let after_kill = jobs(&w);
    let running: Vec<&serde_json::Value> = after_kill
        .iter()
        .filter(|j| j["status"] == "running")
        .collect();
    assert!(
        running.iter().any(|j| j["id"] == killed),
        "job {killed} is left running under the dead worker's lease: {after_kill:#?}"
    );
    eprintln!("killed the worker during job {killed}; the table then:");
    print_jobs(&w);

    // Started again: it takes the job over once the lease runs out, and drains the queue.
    let mut second = Worker::start(&w, "second", &["--runners", "2", "--lease", "3", "--drain"]);
    assert!(second.wait(Duration::from_secs(240)).success());
    let table = jobs(&w);
    print_jobs(&w);
    let delivers: Vec<&serde_json::Value> =
        table.iter().filter(|j| j["kind"] == "deliver").collect();
    let scheduled: BTreeSet<(String, String)> = delivers
        .iter()
        .map(|j| {
            let s = j["scope"].as_str().expect("scope");
            let (u, d) = s
                .strip_prefix("upc:")
                .and_then(|s| s.split_once("/dsp:"))
                .expect("scope upc:…/dsp:…");
            (u.to_owned(), d.to_owned())
        })
        .collect();
    assert_eq!(
        scheduled, due,
        "the scheduler enqueued exactly the due deliveries"
    );
    assert_eq!(delivers.len(), due.len(), "one job per due delivery");
    for j in &table {
        assert_eq!(j["status"], "done", "{j:#}");
    }
    let k = table
        .iter()
        .find(|j| j["id"] == killed)
        .expect("killed job");
    assert!(k["attempts"].as_i64() >= Some(2), "taken over: {k:#}");
    assert!(
        second.events("job done").iter().any(|f| f["job"] == killed),
        "the restarted worker finished job {killed}"
    );

    // Every due delivery reaches its DSP once and is acknowledged; the held-back release
    // went nowhere.
    let rows = until_acknowledged(&w, Duration::from_secs(60));
    let pairs: BTreeSet<(String, String)> = rows
        .iter()
        .map(|d| {
            (
                d["upc"].as_str().unwrap_or_default().to_owned(),
                d["dsp"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(pairs, due);
    for dsp in DSPS {
        check_dsp_files(&w, dsp);
        let st = w.state(dsp);
        let ours: BTreeSet<&str> = rows
            .iter()
            .filter(|d| d["dsp"] == dsp)
            .filter_map(|d| d["message_id"].as_str())
            .collect();
        assert_eq!(st.effects.len(), ours.len(), "{dsp}: {:?}", st.effects);
        assert!(
            st.effects.values().all(|n| *n == 1),
            "{dsp}: {:?}",
            st.effects
        );
        assert!(
            !st.catalog.contains_key(&upcs[0]),
            "{dsp} got the held-back release"
        );
    }
    print_dsp_view(&w);
    eprintln!("{}", w.ok(&["deliveries"]));

    // A fix: a delivered release changes. The next run sends it as an update at once, in
    // the priority lane, to every DSP that has it.
    let fixed = &upcs[1];
    let before = jobs(&w).len();
    w.retitle(fixed, "A Corrected Title");
    let mut third = Worker::start(&w, "third", &["--drain"]);
    assert!(third.wait(Duration::from_secs(240)).success());
    let table = jobs(&w);
    let fixes: Vec<&serde_json::Value> = table
        .iter()
        .filter(|j| {
            j["scope"]
                .as_str()
                .is_some_and(|s| s.starts_with(&format!("upc:{fixed}/")))
        })
        .filter(|j| j["slot"] == "rev:3")
        .collect();
    let reached = due.iter().filter(|(u, _)| u == fixed).count();
    assert_eq!(table.len(), before + reached, "only the fix was scheduled");
    assert_eq!(fixes.len(), reached);
    for j in &fixes {
        assert_eq!(j["status"], "done", "{j:#}");
        assert_eq!(j["priority"], 10, "the fix lane: {j:#}");
    }
    let rows = until_acknowledged(&w, Duration::from_secs(60));
    for d in rows.iter().filter(|d| d["upc"] == fixed.as_str()) {
        assert_eq!(
            (d["intent"].as_str(), d["revision"].as_i64()),
            (Some("update"), Some(3)),
            "{d:#}"
        );
    }
    for dsp in DSPS {
        assert!(w.state(dsp).effects.values().all(|n| *n == 1));
    }

    // One delivery of a release to a DSP at a time: while a job holds the lock, an
    // operator's `liner deliver` of the same release to the same DSP is refused, naming it.
    let store =
        w.rt.block_on(store::Store::open(&w.database, store::OpenMode::Existing))
            .expect("catalog");
    let lock = format!("deliver:{fixed}/spotify");
    let held = w.rt.block_on(store.take_lock(
        &lock,
        "job:999",
        chrono::Utc::now(),
        chrono::Duration::seconds(60),
    ));
    assert_eq!(held.expect("take"), Ok(()));
    let out = w.liner(&["deliver", fixed, "--to", "spotify"]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("{fixed} is being delivered to spotify by job:999")),
        "{said}"
    );
    assert!(
        w.rt.block_on(store.release_lock(&lock, "job:999"))
            .expect("release")
    );
    let said = String::from_utf8_lossy(&w.liner(&["deliver", fixed, "--to", "spotify"]).stderr)
        .into_owned();
    assert!(said.contains("already live there"), "{said}");
    w.rt.block_on(store.close());
}

/// A Spotify-style CSV report of `lines` lines over the catalog's ISRCs; its total in
/// millionths of a dollar.
fn csv_report(isrcs: &[String], n: usize, lines: usize) -> (String, i64) {
    let mut out = String::from(
        "ISRC,UPC,Spotify Track URI,Track Name,Artist Name,Country,Streams,Net Revenue,Currency,Month,Product\n",
    );
    let mut total = 0i64;
    for l in 0..lines {
        let isrc = &isrcs[(n + l) % isrcs.len()];
        // Distinct amounts per report: every report is its own content.
        let micros = 1_000 + (n as i64) * 37 + (l as i64) * 11;
        total += micros;
        out.push_str(&format!(
            "{isrc},,,,,{},{},{}.{:06},USD,2026-10,premium\n",
            ["US", "DE", "JP", "BR"][l % 4],
            100 + l,
            micros / 1_000_000,
            micros % 1_000_000
        ));
    }
    (out, total)
}

#[test]
fn three_workers_on_postgres_share_the_queue_and_each_job_takes_effect_once() {
    let Some(w) = World::on_postgres(BTreeMap::new()) else {
        return;
    };
    let upcs = w.catalog();
    let total_jobs: usize = std::env::var("LINER_WORKERS_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let started = Instant::now();
    // Deliveries: every cleared release to every DSP.
    let mut n_deliver = 0;
    for upc in &upcs {
        for dsp in DSPS {
            let payload = serde_json::json!({ "upcs": [upc], "to": [dsp], "priority": true });
            w.ok(&[
                "jobs",
                "add",
                "deliver",
                "--scope",
                &format!("upc:{upc}/dsp:{dsp}"),
                "--payload",
                &payload.to_string(),
            ]);
            n_deliver += 1;
        }
    }
    // Sales reports, one per job, each in its own folder.
    let shown: serde_json::Value =
        serde_json::from_str(&w.ok(&["show", &upcs[0], "--json"])).expect("json");
    let isrcs: Vec<String> = shown["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .filter_map(|t| t["isrc"].as_str().map(str::to_owned))
        .collect();
    assert!(!isrcs.is_empty());
    let n_reports = total_jobs.saturating_sub(n_deliver).max(10);
    // Payees are paid in USD, EUR, GBP and JPY: this month's rates.
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let fx = w.dir.path().join("fx.csv");
    std::fs::write(
        &fx,
        format!("period,base,quote,rate\n{month},USD,EUR,0.9231\n{month},USD,GBP,0.7912\n{month},USD,JPY,151.37\n"),
    )
    .expect("fx");
    w.ok(&["fx", "import", &fx.display().to_string()]);
    let mut expected_micros = 0i64;
    let reports = w.dir.path().join("incoming-reports");
    for n in 0..n_reports {
        let dir = reports.join(format!("r{n:04}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let (csv, total) = csv_report(&isrcs, n, 6);
        expected_micros += total;
        std::fs::write(dir.join(format!("spotify_{n:04}.csv")), csv).expect("write");
        let payload = serde_json::json!({
            "folder": dir.display().to_string(),
            "dsp": "spotify",
            "format": "spotify",
        });
        w.ok(&[
            "jobs",
            "add",
            "import-reports",
            "--scope",
            &format!("report:{n:04}"),
            "--payload",
            &payload.to_string(),
        ]);
    }
    let queued = jobs(&w).len();
    assert_eq!(queued, n_deliver + n_reports);
    eprintln!(
        "{queued} jobs queued ({n_deliver} deliveries, {n_reports} report imports) in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let t0 = Instant::now();
    let args = ["--runners", "2", "--lease", "3", "--drain", "--no-schedule"];
    let mut a = Worker::start(&w, "host-a", &args);
    let mut b = Worker::start(&w, "host-b", &args);
    let mut c = Worker::start(&w, "host-c", &args);
    let killed = a.kill_during(
        "deliver",
        Duration::from_millis(100),
        Duration::from_secs(60),
    );
    eprintln!("host-a killed during job {killed}");
    assert!(b.wait(Duration::from_secs(600)).success());
    assert!(c.wait(Duration::from_secs(600)).success());
    let secs = t0.elapsed().as_secs_f64();

    let table = jobs(&w);
    for j in &table {
        assert_eq!(j["status"], "done", "{j:#}");
    }
    let by_worker: BTreeMap<&str, usize> = [("host-a", &a), ("host-b", &b), ("host-c", &c)]
        .iter()
        .map(|(n, x)| (*n, x.events("job done").len()))
        .collect();
    assert_eq!(
        by_worker.values().sum::<usize>(),
        table.len(),
        "each job completed once: {by_worker:?}"
    );
    let k = table
        .iter()
        .find(|j| j["id"] == killed)
        .expect("killed job");
    assert!(k["attempts"].as_i64() >= Some(2), "{k:#}");
    assert!(
        [&b, &c]
            .iter()
            .any(|x| x.events("job done").iter().any(|f| f["job"] == killed)),
        "job {killed} finished by another worker"
    );
    let a_started = a.events("job started").len();
    assert!(a_started >= 1);
    assert!(
        by_worker.get("host-b").copied().unwrap_or(0) > 0
            && by_worker.get("host-c").copied().unwrap_or(0) > 0,
        "both survivors took jobs: {by_worker:?}"
    );

    // Each report imported once, and the money is exact.
    let list: serde_json::Value =
        serde_json::from_str(&w.ok(&["reports", "list", "--json"])).expect("json");
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), n_reports, "one report per import job");
    let booked: i64 = list
        .iter()
        .map(|r| {
            let t = r["totals"]["USD"].as_str().expect("USD total");
            let (i, f) = t.split_once('.').unwrap_or((t, ""));
            let f = format!("{f:0<6}");
            i.parse::<i64>().expect("int") * 1_000_000 + f[..6].parse::<i64>().expect("frac")
        })
        .sum();
    assert_eq!(
        booked, expected_micros,
        "booked = what the reports say, once"
    );
    w.ok(&["ledger", "check"]);

    // Each delivery reached its DSP once.
    let rows = until_acknowledged(&w, Duration::from_secs(120));
    assert_eq!(rows.len(), n_deliver);
    for dsp in DSPS {
        check_dsp_files(&w, dsp);
        let st = w.state(dsp);
        assert_eq!(st.effects.len(), upcs.len(), "{dsp}: {:?}", st.effects);
        assert!(
            st.effects.values().all(|n| *n == 1),
            "{dsp}: {:?}",
            st.effects
        );
    }
    eprintln!(
        "{} jobs by 3 workers (one killed mid-job) in {secs:.1}s: {by_worker:?}; host-a started {a_started} before it was killed",
        table.len()
    );
    print_dsp_view(&w);
}

#[test]
fn the_scheduler_fetches_sales_reports_over_sftp_and_http_and_imports_each_once() {
    let w = World::new(BTreeMap::new());
    let upcs = w.catalog();
    let mut args: Vec<&str> = vec!["deliver"];
    args.extend(upcs.iter().map(String::as_str));
    args.extend([
        "--to",
        "spotify,youtube-music,apple-music,deezer",
        "--priority",
        "--wait",
    ]);
    w.ok(&args);
    let now = chrono::Utc::now().date_naive();
    let month = now.format("%Y-%m").to_string();
    let usage = (now.with_day(1).expect("day 1") - chrono::Duration::days(1))
        .format("%Y-%m")
        .to_string();
    let fx = w.dir.path().join("fx.csv");
    std::fs::write(
        &fx,
        format!("period,base,quote,rate\n{month},USD,EUR,0.9188\n{month},USD,GBP,0.7801\n{month},USD,JPY,149.02\n{month},EUR,USD,1.0884\n{month},EUR,GBP,0.8490\n{month},EUR,JPY,162.19\n"),
    )
    .expect("fx");
    w.ok(&["fx", "import", &fx.display().to_string()]);
    // Each mock DSP leaves last month's report where its profile says: DSR over SFTP
    // (Spotify, YouTube), the Apple CSV layout over SFTP, DSR over HTTP (Deezer).
    let root = w.dir.path().join("dsp").display().to_string();
    for dsp in DSPS {
        w.ok(&["dsp", "report", dsp, "--period", &usage, "--root", &root]);
    }
    set_schedule(
        &w,
        "tick_seconds = 1\ndeliveries = false\nacknowledgements_minutes = 0\nstatements_day = 0\nledger_check = false\npurge_after_days = 0\n[mail]\nsummary_to = \"ops@distributor.example\"",
    );
    let mut worker = Worker::start(&w, "fetcher", &["--drain", "--tick-ms", "200"]);
    assert!(worker.wait(Duration::from_secs(120)).success());
    let table = jobs(&w);
    let fetches: Vec<&serde_json::Value> = table
        .iter()
        .filter(|j| j["kind"] == "fetch-reports")
        .collect();
    assert_eq!(fetches.len(), DSPS.len(), "{table:#?}");
    assert!(
        fetches.iter().all(|j| j["status"] == "done"),
        "{fetches:#?}"
    );

    let list: serde_json::Value =
        serde_json::from_str(&w.ok(&["reports", "list", "--json"])).expect("json");
    let list = list.as_array().expect("array");
    let dsps: BTreeSet<&str> = list.iter().filter_map(|r| r["dsp"].as_str()).collect();
    assert_eq!(
        dsps,
        DSPS.iter().copied().collect(),
        "one report from each DSP"
    );
    for r in list {
        assert_eq!(r["usage_lines"], r["matched_lines"], "fully matched: {r:#}");
        assert!(r["usage_lines"].as_i64() > Some(0));
        assert_eq!(r["reporting_period"], month.as_str());
    }
    w.ok(&["ledger", "check"]);
    let fetched: serde_json::Value =
        serde_json::from_str(&w.ok(&["reports", "fetched", "--json"])).expect("json");
    let fetched = fetched.as_array().expect("array").clone();
    assert!(fetched.len() >= DSPS.len());
    assert!(
        fetched.iter().all(|f| f["outcome"] == "imported"),
        "{fetched:#?}"
    );

    // Nothing new: nothing downloaded, nothing booked.
    let again = w.ok(&["reports", "fetch"]);
    assert_eq!(again.matches(", 0 new;").count(), DSPS.len(), "{again}");

    // A broken report (its FOOT line lost) next to the good one: refused, recorded, and the
    // operators told once.
    let folder = w
        .mock()
        .dsp("spotify")
        .expect("spotify")
        .jail()
        .join("reports");
    let good = std::fs::read_dir(&folder)
        .expect("reports")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tsv"))
        .expect("a DSR file");
    let text = std::fs::read_to_string(&good).expect("read");
    let cut: Vec<&str> = text.lines().filter(|l| !l.starts_with("FOOT")).collect();
    let name = good
        .file_name()
        .expect("name")
        .to_string_lossy()
        .replace("T0000", "T1200");
    std::fs::write(folder.join(&name), cut.join("\n") + "\n").expect("write");
    let out = w.liner(&["reports", "fetch", "--dsp", "spotify"]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("REFUSED {name}")), "{said}");
    let out = w.liner(&["reports", "fetch", "--dsp", "spotify"]);
    assert!(
        out.status.success(),
        "the refused file is not fetched again"
    );
    let alerts: Vec<String> = w
        .mails()
        .into_iter()
        .filter(|m| m.contains("ops@distributor.example") && m.contains("refused"))
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(alerts[0].contains(&name), "{}", alerts[0]);
    assert_eq!(
        list.len(),
        serde_json::from_str::<serde_json::Value>(&w.ok(&["reports", "list", "--json"]))
            .expect("json")
            .as_array()
            .map_or(0, Vec::len),
        "nothing booked from the refused file"
    );

    // The purge job empties the staging folder; the records keep the files from coming back.
    let staging = w.dir.path().join("files/incoming");
    let staged = |d: &std::path::Path| -> usize {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| std::fs::read_dir(e.path()).map_or(0, |r| r.count()))
            .sum()
    };
    assert!(staged(&staging) > DSPS.len());
    w.ok(&[
        "jobs",
        "add",
        "purge",
        "--scope",
        "test",
        "--payload",
        "{\"days\":0}",
    ]);
    let mut purge = Worker::start(&w, "purger", &["--drain", "--no-schedule"]);
    assert!(purge.wait(Duration::from_secs(60)).success());
    assert_eq!(staged(&staging), 0);
    let again = w.ok(&["reports", "fetch"]);
    assert_eq!(again.matches(", 0 new;").count(), DSPS.len(), "{again}");
}

/// Runs a draining worker over what is queued; its stdout and stderr.
fn drain(w: &World) -> (String, String) {
    let out = w
        .command(&["worker", "--drain", "--no-schedule", "--poll-ms", "50"])
        .output()
        .expect("run liner worker");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// operations.md: a worker's log is JSON lines on stderr, and it prints nothing else. Every
/// kind of job that delivers, reads acknowledgements, fetches and imports sales reports or
/// closes a period runs through one worker here, and every line it writes is parsed.
#[test]
fn a_worker_writes_only_json_lines_whatever_its_jobs_do() {
    let w = World::new(BTreeMap::new());
    let upcs = w.catalog();
    let add = |kind: &str, scope: &str, payload: serde_json::Value| {
        w.ok(&[
            "jobs",
            "add",
            kind,
            "--scope",
            scope,
            "--payload",
            &payload.to_string(),
        ]);
    };
    add(
        "deliver",
        "all",
        serde_json::json!({"upcs": upcs, "to": DSPS, "priority": true}),
    );
    let (stdout, first) = drain(&w);
    assert_eq!(stdout, "", "nothing on stdout");
    until_acknowledged(&w, Duration::from_secs(120));

    let now = chrono::Utc::now().date_naive();
    let usage = (now.with_day(1).expect("day 1") - chrono::Duration::days(1))
        .format("%Y-%m")
        .to_string();
    let fx = w.dir.path().join("fx.csv");
    let rates: String = [usage.as_str(), &now.format("%Y-%m").to_string()]
        .iter()
        .map(|m| format!("{m},USD,EUR,0.9188\n{m},USD,GBP,0.7801\n{m},USD,JPY,149.02\n{m},EUR,USD,1.0884\n{m},EUR,GBP,0.8490\n{m},EUR,JPY,162.19\n"))
        .collect();
    std::fs::write(&fx, format!("period,base,quote,rate\n{rates}")).expect("fx");
    w.ok(&["fx", "import", &fx.display().to_string()]);
    let root = w.dir.path().join("dsp").display().to_string();
    for dsp in ["spotify", "deezer"] {
        w.ok(&["dsp", "report", dsp, "--period", &usage, "--root", &root]);
    }
    // Spotify's report imported from its folder (booked into last month, which the
    // statements job then closes); Deezer's fetched over HTTP.
    let spotify_reports = w
        .mock()
        .dsp("spotify")
        .expect("spotify")
        .jail()
        .join("reports");
    add(
        "import-reports",
        "dsp:spotify",
        serde_json::json!({"folder": spotify_reports, "dsp": "spotify", "period": usage}),
    );
    add(
        "fetch-reports",
        "dsp:deezer",
        serde_json::json!({"dsp": "deezer"}),
    );
    add("refresh-acks", "all", serde_json::json!({}));
    add(
        "takedown",
        &upcs[0],
        serde_json::json!({"upc": upcs[0], "from": ["deezer"]}),
    );
    let out = w.dir.path().join("statements").display().to_string();
    add(
        "statements",
        &usage,
        serde_json::json!({"period": usage, "out": out}),
    );
    let (stdout, second) = drain(&w);
    assert_eq!(stdout, "", "nothing on stdout");

    let mut kinds_done = BTreeSet::new();
    for line in first.lines().chain(second.lines()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{v}"
        );
        if v["fields"]["message"] == "job done" {
            kinds_done.insert(v["fields"]["kind"].as_str().unwrap_or_default().to_owned());
        }
    }
    let jobs = jobs(&w);
    assert!(jobs.iter().all(|j| j["status"] == "done"), "{jobs:#?}");
    for kind in [
        "deliver",
        "takedown",
        "refresh-acks",
        "fetch-reports",
        "import-reports",
        "statements",
    ] {
        assert!(
            kinds_done.contains(kind),
            "{kind}: {kinds_done:?}\n{second}"
        );
    }
    // What the jobs did is in the log, as events: the uploads and the report imports.
    assert!(first.contains("uploaded (delivery"), "{first}");
    assert!(second.contains("sales report imported"), "{second}");
}
