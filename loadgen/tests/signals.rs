//! Issue 24 item 15: SIGTERM (CI time-outs, `timeout(1)`, `docker stop`,
//! systemd) and SIGHUP stop `loadgen run` and `loadgen worker` as Ctrl-C
//! does: students log out, the ledger gets its `end` record, the reports are
//! written. A second signal ends the process at once (128 + its number).
//! Against small servers on 127.0.0.1 here; the runs against the reference
//! target and a real Locust master are in signals_real.rs (`real-servers`).

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::hung;
use support::signals::{Proc, count, free_port, loadgen_run, records, report, signal, stderr, wait};

/// A server that answers everything: login gives the token the paths carry.
fn answer_all(path: &str) -> Option<String> {
    Some(if path == "/login" { r#"{"token":"t"}"# } else { "{}" }.to_string())
}

#[test]
fn sighup_stops_a_run_as_sigterm_does() {
    let (port, _) = hung::serve(answer_all);
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("s.toml"), hung::SCENARIO).unwrap();
    let scenario = d.path().join("s.toml");
    let mut p = loadgen_run(
        &format!("http://127.0.0.1:{port}"),
        d.path(),
        &["--students", "3", "--scenario", scenario.to_str().unwrap()],
    );
    std::thread::sleep(Duration::from_secs(2));
    signal(&p, "HUP");
    let status = wait(&mut p, Duration::from_secs(60)).expect("the run stops on SIGHUP");
    let err = stderr(&mut p);
    assert_eq!(status.code(), Some(3), "{err}");
    let lines = records(&d.path().join("l.ndjson"));
    assert_eq!((count(&lines, "logout"), count(&lines, "end")), (3, 1), "{lines:?}");
    assert_eq!(report(d.path()).stopped_by.as_deref(), Some("SIGHUP"));
}

/// Uploads hang and `--stop-timeout` is long: the first SIGTERM waits for
/// them, the second ends the process at once with 143 (128 + 15).
#[test]
fn a_second_signal_ends_at_once() {
    let (port, _) = hung::serve(|path| (path == "/login").then(|| r#"{"token":"t"}"#.to_string()));
    let d = tempfile::tempdir().unwrap();
    let scenario = d.path().join("s.toml");
    std::fs::write(&scenario, hung::SCENARIO).unwrap();
    let mut p = loadgen_run(
        &format!("http://127.0.0.1:{port}"),
        d.path(),
        &[
            "--students",
            "2",
            "--scenario",
            scenario.to_str().unwrap(),
            "--stop-timeout",
            "10m",
            "--timeout",
            "10m",
        ],
    );
    std::thread::sleep(Duration::from_secs(2));
    signal(&p, "TERM");
    std::thread::sleep(Duration::from_secs(1));
    assert!(p.0.try_wait().unwrap().is_none(), "still waiting for its hung uploads");
    signal(&p, "TERM");
    let status = wait(&mut p, Duration::from_secs(30)).expect("the second signal ends it");
    let err = stderr(&mut p);
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(err.contains("SIGTERM again: exiting at once"), "{err}");
    assert!(!d.path().join("r.json").exists(), "no report: it ended at once");
}

/// Issue 27: Ctrl-C before the plan's end (here `--run-time 10m`) is no
/// pass: INTERRUPTED in the table, the JSON and the page, exit 3; with
/// `--ok-if-interrupted` exit 0, still saying so.
#[test]
fn a_run_cut_short_by_ctrl_c_says_interrupted_and_exits_3() {
    let (port, _) = hung::serve(answer_all);
    for (ok, code) in [(false, 3), (true, 0)] {
        let d = tempfile::tempdir().unwrap();
        let scenario = d.path().join("s.toml");
        std::fs::write(&scenario, hung::SCENARIO).unwrap();
        let html = d.path().join("r.html");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_loadgen"));
        cmd.args([
            "run",
            "--host",
            &format!("http://127.0.0.1:{port}"),
            "--run-time",
            "10m",
        ])
        .args(["--students", "2", "--scenario", scenario.to_str().unwrap()])
        .args(["--json", d.path().join("r.json").to_str().unwrap()])
        .args(["--html", html.to_str().unwrap()])
        .env_remove("WORKER_OFFSET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if ok {
            cmd.arg("--ok-if-interrupted");
        }
        let mut p = Proc(cmd.spawn().unwrap());
        std::thread::sleep(Duration::from_secs(2));
        signal(&p, "INT");
        let status = wait(&mut p, Duration::from_secs(60)).expect("the run stops on SIGINT");
        let err = stderr(&mut p);
        let mut table = String::new();
        std::io::Read::read_to_string(&mut p.0.stdout.take().unwrap(), &mut table).unwrap();
        assert_eq!(status.code(), Some(code), "--ok-if-interrupted {ok}: {err}");
        let last = table.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("INTERRUPTED: ") && last.contains("ended before its plan (SIGINT after"),
            "{table}"
        );
        let r = report(d.path());
        assert_eq!((r.verdict.word(), r.interrupted), ("interrupted", true));
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(page.contains(r#""verdict":"interrupted""#), "the page's report");
    }
}

/// A worker whose master is not there yet: SIGTERM ends its wait (it does
/// not sit out the 30 s connect), and its ledger section is closed.
#[test]
fn sigterm_before_the_master_answers_closes_the_workers_ledger() {
    let d = tempfile::tempdir().unwrap();
    let ledger = d.path().join("l.ndjson");
    let mut w = Proc(
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                &free_port().to_string(),
            ])
            .args(["--ledger", ledger.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(2));
    signal(&w, "TERM");
    let status = wait(&mut w, Duration::from_secs(20)).expect("the worker stops on SIGTERM");
    let err = stderr(&mut w);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("SIGTERM: stopped before reaching the master"), "{err}");
    let kinds: Vec<_> = records(&ledger).iter().map(|l| l["kind"].clone()).collect();
    assert_eq!(kinds, ["run", "end"]);
}
