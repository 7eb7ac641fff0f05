//! Issue 24 item 15 against real servers: SIGTERM stops `loadgen run`
//! against the reference target (scripts/target-up.sh) and `loadgen worker`
//! under a real Locust master (scripts/locust/venv.sh, from PyPI). Needs the
//! `real-servers` feature; the rest is in signals.rs.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::signals::{Proc, count, free_port, loadgen_run, records, report, signal, stderr, wait};
use support::{Target, repo};

#[test]
fn sigterm_stops_a_run_with_logouts_ledger_end_and_report() {
    let t = Target::start();
    t.setup(4);
    let d = tempfile::tempdir().unwrap();
    let mut p = loadgen_run(
        &t.url,
        d.path(),
        &[
            "--students",
            "4",
            "--segment-interval",
            "500ms",
            "--flush-every",
            "500ms",
            "--segment-size",
            "2K",
        ],
    );
    std::thread::sleep(Duration::from_secs(4));
    signal(&p, "TERM");
    let status = wait(&mut p, Duration::from_secs(60)).expect("the run stops on SIGTERM");
    let err = stderr(&mut p);
    assert_eq!(status.code(), Some(3), "ended before --run-time: {err}");
    assert!(err.contains("SIGTERM: stopping"), "{err}");
    let lines = records(&d.path().join("l.ndjson"));
    assert_eq!(lines.last().unwrap()["kind"], "end", "{lines:?}");
    let logouts: Vec<_> = lines.iter().filter(|l| l["kind"] == "logout").collect();
    assert_eq!(logouts.len(), 4, "{lines:?}");
    assert!(logouts.iter().all(|l| l["failure"].is_null()), "{logouts:?}");
    let r = report(d.path());
    assert_eq!(r.stopped_by.as_deref(), Some("SIGTERM"));
    assert_eq!((r.students.logged_in, r.students.finished), (4, 4), "{:?}", r.students);
    // The server saw each student log out.
    let logged_out: u64 = t
        .counts()
        .values()
        .flat_map(|students| students.values())
        .filter_map(|calls| calls.get("logout"))
        .sum();
    assert_eq!(logged_out, 4, "{:?}", t.counts());
}

fn locust_venv() -> PathBuf {
    let out = Command::new(repo().join("scripts/locust/venv.sh")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[test]
fn sigterm_stops_a_worker_under_a_real_master_with_its_report() {
    let t = Target::start();
    t.setup(4);
    let port = free_port();
    let _master = Proc(
        Command::new(locust_venv().join("bin/locust"))
            .args(["-f", repo().join("scripts/locust/locustfile.py").to_str().unwrap()])
            .args(["--master", "--headless", "--master-bind-host", "127.0.0.1"])
            .args(["--master-bind-port", &port.to_string(), "--expect-workers", "1"])
            .args(["-u", "4", "-r", "20", "-t", "5m", "--host", &t.url])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(t.dir.path().join("master.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let d = tempfile::tempdir().unwrap();
    let mut w = Proc(
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                &port.to_string(),
            ])
            .args([
                "--node-id",
                "loadgen-term",
                "--segment-interval",
                "1s",
                "--flush-every",
                "1s",
                "--segment-size",
                "8K",
            ])
            .args(["--ledger", d.path().join("l.ndjson").to_str().unwrap()])
            .args(["--json", d.path().join("r.json").to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Until every user has logged in (the ledger is flushed every 100 ms).
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        let l = d.path().join("l.ndjson");
        if l.exists()
            && std::fs::read_to_string(&l)
                .unwrap()
                .matches(r#""kind":"login""#)
                .count()
                >= 4
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    signal(&w, "TERM");
    let status = wait(&mut w, Duration::from_secs(60)).expect("the worker stops on SIGTERM");
    let err = stderr(&mut w);
    assert_eq!(status.code(), Some(3), "a run in progress was cut short: {err}");
    assert!(err.contains("SIGTERM: stopping users"), "{err}");
    let lines = records(&d.path().join("l.ndjson"));
    assert_eq!(lines.last().unwrap()["kind"], "end", "{lines:?}");
    assert_eq!(count(&lines, "logout"), 4, "{lines:?}");
    let r = report(d.path());
    assert_eq!(r.stopped_by.as_deref(), Some("SIGTERM"));
    assert!(r.interrupted && r.verdict == "interrupted", "{}", r.verdict);
    assert_eq!((r.students.logged_in, r.students.finished), (4, 4), "{:?}", r.students);
}

fn curl(args: &[&str]) -> serde_json::Value {
    let out = Command::new("curl").arg("-fsS").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// Polls `pred` every 200 ms, at most `limit`.
fn until(what: &str, limit: Duration, mut pred: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !pred() {
        assert!(Instant::now() < end, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A worker's ledger has one section per Locust run (the web UI's swarm …
/// stop, twice), each closed at the stop by its `run_end`; SIGTERM then ends
/// the worker, adding nothing.
#[test]
fn a_worker_writes_one_ledger_section_per_locust_run() {
    let t = Target::start();
    let exam = t.setup(4);
    let (port, web) = (free_port(), free_port());
    let _master = Proc(
        Command::new(locust_venv().join("bin/locust"))
            .args(["-f", repo().join("scripts/locust/locustfile.py").to_str().unwrap()])
            .args([
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                &port.to_string(),
            ])
            .args(["--web-host", "127.0.0.1", "--web-port", &web.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(t.dir.path().join("master.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let ui = format!("http://127.0.0.1:{web}");
    let d = tempfile::tempdir().unwrap();
    let ledger = d.path().join("l.ndjson");
    let mut w = Proc(
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                &port.to_string(),
            ])
            .args([
                "--node-id",
                "loadgen-runs",
                "--segment-interval",
                "1s",
                "--flush-every",
                "1s",
                "--segment-size",
                "8K",
            ])
            .args(["--ledger", ledger.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    until("the worker joined", Duration::from_secs(60), || {
        Command::new("curl")
            .args(["-fsS", &format!("{ui}/stats/requests")])
            .output()
            .ok()
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
            .is_some_and(|s| s["workers"].as_array().is_some_and(|w| !w.is_empty()))
    });
    for logins in [2, 4] {
        let swarm = curl(&[
            "-d",
            "user_count=2",
            "-d",
            "spawn_rate=20",
            "-d",
            &format!("host={}", t.url),
            &format!("{ui}/swarm"),
        ]);
        assert_eq!(swarm["success"], true, "{swarm}");
        until("the users logged in", Duration::from_secs(60), || {
            text(&ledger).matches(r#""kind":"login""#).count() >= logins
        });
        std::thread::sleep(Duration::from_secs(2));
        curl(&["-X", "POST", &format!("{ui}/stop")]);
        until("the run's section is closed", Duration::from_secs(60), || {
            text(&ledger).matches(r#""kind":"run_end""#).count() >= logins / 2
        });
    }
    signal(&w, "TERM");
    let status = wait(&mut w, Duration::from_secs(60)).expect("the worker stops on SIGTERM");
    let err = stderr(&mut w);
    assert_eq!(status.code(), Some(0), "{err}");
    let lines = records(&ledger);
    let sections: Vec<&[serde_json::Value]> = lines.split_inclusive(|l| l["kind"] == "run_end").collect();
    assert_eq!(sections.len(), 2, "{lines:#?}");
    for (i, s) in sections.iter().enumerate() {
        assert_eq!(s.first().unwrap()["kind"], "run", "section {i}");
        assert_eq!(s.last().unwrap()["records"], s.len() as u64, "section {i}");
        assert_eq!((count(s, "login"), count(s, "logout")), (2, 2), "section {i}: {s:#?}");
        assert!(
            s.iter()
                .filter(|l| ["login", "upload", "logout"].contains(&l["kind"].as_str().unwrap()))
                .all(|l| l["exam"] == serde_json::json!(exam)),
            "section {i}: {s:#?}"
        );
    }
    // The second run's section knows the host its swarm was given.
    assert_eq!(sections[1][0]["host"], serde_json::json!(t.url));
}
