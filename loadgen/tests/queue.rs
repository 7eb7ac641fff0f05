//! Issue 26 item 1: a queued sequenced task (the real client) against small
//! servers on 127.0.0.1 that fail uploads on demand: failed segments stay
//! queued and drain at later flushes with the same seq and recording time;
//! what is still queued after the exit passes is `lost_at_exit`. The same
//! against the reference target is in queue_real.rs (`real-servers`).

mod support;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use support::hung::serve;

const SCENARIO: &str = r#"version = 2
[login]
path = "/login"
encoding = "json"
fields = { student_id = "{student_id}" }
capture = { token = "/token" }
[[task]]
name = "beat"
every = "300ms"
tries = 2
path = "/b"
expect = { json = { "/ok" = true } }
[[task]]
name = "shot"
every = "100ms"
enabled = false
path = "/s"
[[task]]
name = "rec"
every = "150ms"
sequenced = true
queue = { flush_every = "400ms", flush_gap = "20ms", retry = "next-flush", exit_passes = 2, exit_pass_gap = "50ms" }
path = "/u/{token}"
fields = { seq = "{seq}", ts = "{timestamp}" }
file = { field = "f", name = "s.mp4", size = { median = "1K", p90 = "1.5K", max = "2K" } }
expect = { json = { "/ok" = true } }
[logout]
path = "/out"
"#;

struct Run {
    code: i32,
    report: loadgen::report::RunReport,
    ledger: Vec<Value>,
}

fn run(port: u16, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let json = dir.path().join("r.json");
    let ledger = dir.path().join("l.ndjson");
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["run", "--host", &format!("http://127.0.0.1:{port}")])
        .args(["--students", "2", "--spawn-rate", "100", "--backoff", "10ms"])
        .args(["--scenario", scenario.to_str().unwrap()])
        .args(["--json", json.to_str().unwrap(), "--ledger", ledger.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let ledger = std::fs::read_to_string(&ledger)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        report,
        ledger,
    }
}

fn kind<'a>(l: &'a [Value], k: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    l.iter().filter(move |r| r["kind"] == k)
}

static FAILING: AtomicBool = AtomicBool::new(true);

/// Uploads fail for the first second: the queue grows, then drains at the
/// next flushes, every seq acknowledged exactly once with the same recording
/// time on every attempt, none given up or lost.
#[test]
fn failed_uploads_stay_queued_and_drain_at_later_flushes() {
    let (port, seen) = serve(|path| {
        Some(match path {
            "/login" => r#"{"token":"t"}"#.to_string(),
            p if p.starts_with("/u/") && FAILING.load(Ordering::SeqCst) => r#"{"ok":false}"#.to_string(),
            _ => r#"{"ok":true}"#.to_string(),
        })
    });
    let heal = std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_millis(1000));
        FAILING.store(false, Ordering::SeqCst);
    });
    // 12 segments take 1.8 s: the last flushes come after the healing.
    let r = run(port, &["--segments", "12", "--max-fail-ratio", "1"]);
    heal.join().unwrap();
    assert_eq!(r.code, 0, "failures are within --max-fail-ratio 1: {:?}", r.report);
    let st = &r.report.students;
    assert_eq!((st.segments_uploaded, st.finished), (24, 2), "{st:?}");
    assert!(st.gave_up.is_empty() && st.lost_at_exit.is_empty(), "{st:?}");
    let q = r.report.queue.as_ref().expect("queue figures");
    assert!(q.max_student_depth >= 3, "{q:?}");
    assert!(q.max_oldest_age_s > 0.3, "{q:?}");
    assert_eq!(q.lost_at_exit, 0);
    assert!(r.report.history.iter().any(|h| h.queued.is_some()));
    for student in ["test_00001", "test_00002"] {
        let ups: Vec<&Value> = kind(&r.ledger, "upload").filter(|u| u["student"] == student).collect();
        let mut retried = 0;
        for seq in 1..=12u64 {
            let of: Vec<&&Value> = ups.iter().filter(|u| u["seq"] == seq).collect();
            let ok: Vec<_> = of.iter().filter(|u| u["failure"].is_null()).collect();
            assert_eq!(ok.len(), 1, "{student} seq {seq}: {of:?}");
            let recorded: std::collections::BTreeSet<String> =
                of.iter().map(|u| u["recorded_ms"].to_string()).collect();
            assert_eq!(recorded.len(), 1, "one recording time per seq: {of:?}");
            assert!(!of[0]["recorded_ms"].is_null());
            if of.len() > 1 {
                retried += 1;
                // Each attempt belongs to another flush.
                let planned: std::collections::BTreeSet<String> =
                    of.iter().map(|u| u["planned_ms"].to_string()).collect();
                assert_eq!(planned.len(), of.len(), "{of:?}");
            }
        }
        assert!(retried >= 2, "{student}: {retried} seqs retried");
        // A burst uploads in seq order.
        let seqs: Vec<u64> = ups.iter().map(|u| u["seq"].as_u64().unwrap()).collect();
        let planned: Vec<u64> = ups.iter().map(|u| u["planned_ms"].as_u64().unwrap()).collect();
        for (w, p) in seqs.windows(2).zip(planned.windows(2)) {
            if p[0] == p[1] {
                assert!(w[0] < w[1], "{seqs:?}");
            }
        }
    }
    assert!(
        !seen.lock().unwrap().iter().any(|p| p == "/s"),
        "a task that is off ran"
    );
}

static ALWAYS: AtomicBool = AtomicBool::new(true);

/// Uploads always fail: after the exit passes the queue is lost, recorded
/// as `lost_at_exit` with its attempts, reported, and the student logs out.
/// The heartbeat's `tries` make two requests a run.
#[test]
fn what_is_queued_after_the_exit_passes_is_lost_at_exit() {
    let (port, seen) = serve(|path| {
        Some(match path {
            "/login" => r#"{"token":"t"}"#.to_string(),
            p if p.starts_with("/u/") && ALWAYS.load(Ordering::SeqCst) => r#"{"ok":false}"#.to_string(),
            "/b" => r#"{"ok":false}"#.to_string(),
            _ => r#"{"ok":true}"#.to_string(),
        })
    });
    let r = run(port, &["--segments", "3", "--max-fail-ratio", "1"]);
    let st = &r.report.students;
    assert_eq!(st.segments_uploaded, 0);
    assert_eq!(st.finished, 2, "logged out: {st:?}");
    assert_eq!(st.lost_at_exit.len(), 2, "{st:?}");
    assert!(st.lost_at_exit.iter().all(|i| i.seqs == [1, 2, 3]), "{st:?}");
    assert_eq!(r.report.queue.as_ref().unwrap().lost_at_exit, 6);
    let lost: Vec<&Value> = kind(&r.ledger, "lost_at_exit").collect();
    assert_eq!(lost.len(), 6, "{lost:?}");
    for l in &lost {
        let attempts = l["attempts"].as_u64().unwrap();
        let ups = kind(&r.ledger, "upload")
            .filter(|u| u["student"] == l["student"] && u["seq"] == l["seq"])
            .count() as u64;
        // At least both exit passes tried it.
        assert!(attempts >= 2 && attempts == ups, "{l}: {ups} uploads");
    }
    assert_eq!(r.code, 0, "failures are within --max-fail-ratio 1");
    let seen = seen.lock().unwrap();
    let beats = seen.iter().filter(|p| *p == "/b").count();
    assert!(beats >= 2 && beats % 2 == 0, "two tries a run: {beats}");
}

/// `--flush-every` needs a queued task, and takes MIN-MAX.
#[test]
fn flush_every_is_checked() {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            "--host",
            "http://127.0.0.1:9",
            "--students",
            "1",
            "--segments",
            "1",
        ])
        .args([
            "--scenario",
            "../fixtures/scenarios/locust-realistic.toml",
            "--flush-every",
            "1s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--flush-every: the sequenced task 'recording'") && err.contains("is not a queue"),
        "{err}"
    );
    for bad in ["2s-1s", "0s", "x"] {
        let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "run",
                "--host",
                "http://127.0.0.1:9",
                "--students",
                "1",
                "--segments",
                "1",
            ])
            .args(["--flush-every", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("must be DURATION or MIN-MAX"),
            "{bad}"
        );
    }
}

fn all_ok(path: &str) -> Option<String> {
    Some(if path == "/login" {
        r#"{"token":"t"}"#.to_string()
    } else {
        r#"{"ok":true}"#.to_string()
    })
}

/// Issue 26 item 3: `--restart-students`: the chosen clients restart at the
/// time given: the queue is lost (a `restart` record with the last seq and
/// the lost seqs), no logout, a new login, and seqs from 1 again.
#[test]
fn restarted_students_lose_their_queue_and_start_again_at_seq_1() {
    let (port, _) = serve(all_ok);
    let r = run(port, &["--segments", "6", "--restart-students", "100%@500ms"]);
    assert_eq!(r.code, 0, "{:?}", r.report);
    let st = &r.report.students;
    assert_eq!(st.restarted.len(), 2, "{st:?}");
    assert_eq!(
        (st.logged_in, st.finished),
        (2, 2),
        "one logout each, at the end: {st:?}"
    );
    for student in ["test_00001", "test_00002"] {
        let of = |k: &'static str| kind(&r.ledger, k).filter(move |x| x["student"] == student);
        let restart: Vec<&Value> = of("restart").collect();
        assert_eq!(restart.len(), 1, "{restart:?}");
        let last = restart[0]["last_seq"].as_u64().unwrap();
        let lost: Vec<u64> = restart[0]["lost"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert!((2..=4).contains(&last), "{restart:?}");
        assert_eq!(of("login").count(), 2);
        assert_eq!(of("logout").count(), 1);
        // Before the restart: seqs 1..=last, each acked once or lost; after it: 1..=6 again.
        let at = restart[0]["at_ms"].as_u64().unwrap();
        let acked = |before: bool| {
            let mut v: Vec<u64> = of("upload")
                .filter(|u| u["failure"].is_null() && (u["end_ms"].as_u64().unwrap() <= at) == before)
                .map(|u| u["seq"].as_u64().unwrap())
                .collect();
            v.sort_unstable();
            v
        };
        let mut first = acked(true);
        first.extend(&lost);
        first.sort_unstable();
        assert_eq!(first, (1..=last).collect::<Vec<_>>(), "{student}");
        assert_eq!(acked(false), (1..=6).collect::<Vec<_>>(), "{student}");
        assert_eq!(of("lost_at_exit").count(), 0);
    }
    assert_eq!(
        r.report
            .students
            .restarted
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        ["test_00001", "test_00002"]
    );
}

/// Issue 26 item 3: `--kill-students`: killed clients lose their queue and
/// never log out; the ledger says so (`killed`), the others run normally.
#[test]
fn killed_students_never_log_out() {
    let (port, _) = serve(all_ok);
    let r = run(port, &["--segments", "6", "--kill-students", "50%@500ms"]);
    let st = &r.report.students;
    let killed: Vec<&Value> = kind(&r.ledger, "killed").collect();
    assert_eq!(st.killed.len(), killed.len(), "{st:?}");
    // Two students, a 50% share: which ones is the seed's choice, the same every run.
    let again = run(port, &["--segments", "6", "--kill-students", "50%@500ms"]);
    assert_eq!(
        again.report.students.killed.iter().map(|i| &i.id).collect::<Vec<_>>(),
        st.killed.iter().map(|i| &i.id).collect::<Vec<_>>()
    );
    let all = run(port, &["--segments", "6", "--kill-students", "1@500ms"]);
    assert_eq!(all.code, 0);
    assert_eq!(all.report.students.killed.len(), 2);
    assert_eq!(all.report.students.finished, 0, "no logout");
    assert_eq!(kind(&all.ledger, "logout").count(), 0);
    for k in kind(&all.ledger, "killed") {
        assert!(k["last_seq"].as_u64().unwrap() >= 2, "{k}");
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            "--host",
            "http://127.0.0.1:9",
            "--students",
            "1",
            "--segments",
            "1",
        ])
        .args(["--kill-students", "0.7@1s", "--restart-students", "0.5@1s"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("add up to more than all the students"));
}
