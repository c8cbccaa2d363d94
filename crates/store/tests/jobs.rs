//! The job queue on both backends: enqueue-if-absent per slot, priority order, run-after,
//! leases that expire and are taken over, backoff then dead, operator retry, release on
//! shutdown, and concurrent workers that never claim one job twice.

use chrono::{Duration, Utc};
use store::{Failed, NewJob, Store};

mod common;
use common::TestDb;

fn job(kind: &str, scope: &str, slot: &str, priority: i64) -> NewJob {
    NewJob {
        kind: kind.into(),
        scope: scope.into(),
        slot: slot.into(),
        payload: serde_json::json!({"scope": scope}),
        priority,
        run_after: Utc::now() - Duration::seconds(1),
        max_attempts: 3,
    }
}

async fn schedules_never_duplicate_a_slot_and_priority_wins(s: &Store) {
    let a = s
        .enqueue(&job("deliver", "upc:1/dsp:spotify", "2026-11-26T06:00", 0))
        .await
        .expect("enqueue");
    assert!(a.is_some());
    // A second scheduler enqueuing the same slot adds nothing.
    assert_eq!(
        s.enqueue(&job("deliver", "upc:1/dsp:spotify", "2026-11-26T06:00", 0))
            .await
            .expect("again"),
        None
    );
    let b = s
        .enqueue(&job("takedown", "upc:2/dsp:spotify", "", 10))
        .await
        .expect("enqueue")
        .expect("new");
    let mut later = job("acks", "dsp:spotify", "2026-11-26T07:00", 50);
    later.run_after = Utc::now() + Duration::hours(1);
    s.enqueue(&later).await.expect("enqueue");
    let now = Utc::now();
    let first = s
        .claim("w1", Duration::seconds(30), now)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(first.id, b, "the priority lane goes first");
    assert_eq!((first.status.as_str(), first.attempts), ("running", 1));
    let second = s
        .claim("w1", Duration::seconds(30), now)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(Some(second.id), a);
    assert!(
        s.claim("w1", Duration::seconds(30), now)
            .await
            .expect("claim")
            .is_none(),
        "the later job is not due"
    );
    assert!(s.complete(first.id, "w1").await.expect("complete"));
    assert!(
        !s.complete(first.id, "w1").await.expect("complete"),
        "done once"
    );
}

async fn an_expired_lease_is_taken_over_and_the_old_worker_is_refused(s: &Store) {
    let id = s
        .enqueue(&job("import", "dsp:deezer", "2026-11", 0))
        .await
        .expect("enqueue")
        .expect("new");
    let t0 = Utc::now();
    let j = s
        .claim("dying", Duration::seconds(5), t0)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(j.id, id);
    // Still leased: nobody else gets it.
    assert!(
        s.claim("other", Duration::seconds(5), t0 + Duration::seconds(1))
            .await
            .expect("claim")
            .is_none()
    );
    // The lease ran out (the worker died): another worker takes it, attempt 2.
    let j2 = s
        .claim("other", Duration::seconds(5), t0 + Duration::seconds(10))
        .await
        .expect("claim")
        .expect("taken over");
    assert_eq!(
        (j2.id, j2.attempts, j2.locked_by.as_deref()),
        (id, 2, Some("other"))
    );
    assert!(
        !s.complete(id, "dying").await.expect("complete"),
        "the old worker lost the lease"
    );
    assert!(
        !s.heartbeat(id, "dying", t0 + Duration::seconds(60))
            .await
            .expect("heartbeat")
    );
    assert!(
        s.heartbeat(id, "other", t0 + Duration::seconds(60))
            .await
            .expect("heartbeat")
    );
    assert!(s.complete(id, "other").await.expect("complete"));
}

async fn failures_back_off_then_park_dead_until_an_operator_retries(s: &Store) {
    let id = s
        .enqueue(&job("fetch", "dsp:youtube-music", "2026-11-26T08:00", 0))
        .await
        .expect("enqueue")
        .expect("new");
    let mut now = Utc::now();
    for attempt in 1..=3 {
        let j = s
            .claim("w", Duration::seconds(30), now)
            .await
            .expect("claim")
            .expect("due");
        assert_eq!((j.id, j.attempts), (id, attempt));
        let f = s
            .fail(id, "w", &format!("SFTP refused (try {attempt})"), now)
            .await
            .expect("fail");
        if attempt < 3 {
            assert!(matches!(f, Failed::Retry(_)), "{f:?}");
            assert!(
                s.claim("w", Duration::seconds(30), now)
                    .await
                    .expect("claim")
                    .is_none(),
                "backing off"
            );
            now += store::backoff(attempt) + Duration::seconds(1);
        } else {
            assert_eq!(f, Failed::Dead);
        }
    }
    let dead = s.job(id).await.expect("job").expect("exists");
    assert_eq!(dead.status, "dead");
    assert_eq!(dead.last_error.as_deref(), Some("SFTP refused (try 3)"));
    assert!(
        s.claim("w", Duration::seconds(30), now + Duration::hours(5))
            .await
            .expect("claim")
            .is_none(),
        "dead jobs stay parked"
    );
    assert!(s.retry_job(id).await.expect("retry"));
    let j = s
        .claim(
            "w",
            Duration::seconds(30),
            Utc::now() + Duration::seconds(1),
        )
        .await
        .expect("claim")
        .expect("queued again");
    assert_eq!((j.id, j.attempts), (id, 1));
    // Shutdown gives it back without counting the attempt.
    assert!(s.release_job(id, "w").await.expect("release"));
    let j = s.job(id).await.expect("job").expect("exists");
    assert_eq!((j.status.as_str(), j.attempts), ("queued", 0));
    assert_eq!(
        s.jobs(false)
            .await
            .expect("jobs")
            .iter()
            .filter(|j| j.id == id)
            .count(),
        1
    );
}

async fn concurrent_workers_never_claim_a_job_twice(s: &Store) {
    const N: usize = 200;
    for i in 0..N {
        s.enqueue(&job("deliver", &format!("upc:{i}"), "", (i % 3) as i64))
            .await
            .expect("enqueue");
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let me = format!("worker-{w}");
            let mut got = Vec::new();
            while let Some(j) = s
                .claim(&me, Duration::seconds(300), Utc::now())
                .await
                .expect("claim")
            {
                assert!(
                    s.complete(j.id, &me).await.expect("complete"),
                    "completing {}",
                    j.id
                );
                got.push(j.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "a job was claimed twice");
    assert!(n >= N, "every job claimed ({n})");
    assert!(
        s.jobs(false)
            .await
            .expect("jobs")
            .iter()
            .all(|j| j.kind != "deliver" || j.status == "done")
    );
}

/// Named leases: one holder at a time; the same holder again; a lapsed lease taken over;
/// renew and release only by the holder; concurrent takers never both win.
async fn locks_have_one_holder_at_a_time(s: &Store) {
    let now = Utc::now();
    let lease = Duration::seconds(60);
    let name = "deliver:196543210010/spotify";
    assert_eq!(
        s.take_lock(name, "job:1", now, lease).await.expect("take"),
        Ok(())
    );
    let held = s
        .take_lock(name, "cli:host:42", now, lease)
        .await
        .expect("take")
        .expect_err("held by job:1");
    assert_eq!(held.holder, "job:1");
    assert!(held.until > now.to_rfc3339(), "{held:?}");
    // The job, resumed by another worker, is the same holder.
    assert_eq!(
        s.take_lock(name, "job:1", now, lease).await.expect("again"),
        Ok(())
    );
    assert!(
        !s.renew_lock(name, "cli:host:42", now + lease)
            .await
            .expect("renew")
    );
    assert!(
        s.renew_lock(name, "job:1", now + lease)
            .await
            .expect("renew")
    );
    assert!(!s.release_lock(name, "cli:host:42").await.expect("release"));
    // A holder that died: once its lease ran out, someone else takes the lock.
    let later = now + Duration::seconds(121);
    assert_eq!(
        s.take_lock(name, "cli:host:42", later, lease)
            .await
            .expect("take"),
        Ok(())
    );
    assert!(
        !s.renew_lock(name, "job:1", later).await.expect("renew"),
        "job:1 lost it"
    );
    assert!(s.release_lock(name, "cli:host:42").await.expect("release"));
    assert_eq!(
        s.take_lock(name, "job:2", later, lease)
            .await
            .expect("free"),
        Ok(())
    );
    // Eight takers at once on a fresh name: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.take_lock(
                "contended",
                &format!("taker:{i}"),
                Utc::now(),
                Duration::seconds(60),
            )
            .await
            .expect("take")
            .is_ok()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.expect("task"));
    }
    assert_eq!(won, 1);
}

on_both_backends!(
    locks_have_one_holder_at_a_time,
    schedules_never_duplicate_a_slot_and_priority_wins,
    an_expired_lease_is_taken_over_and_the_old_worker_is_refused,
    failures_back_off_then_park_dead_until_an_operator_retries,
    concurrent_workers_never_claim_a_job_twice,
);
