//! End to end: real `loadgen` processes (`setup`, then `run` with the
//! built-in supervise client) against the reference target (real gunicorn and
//! celery on 127.0.0.1, started from scripts/target-up.sh), then the server's
//! own counts and the real `verify` binary judge what the server took.

mod support;

use std::process::{Command, Output, Stdio};

use support::{Target, repo, verify_bin};

use verify::report::ids::{IdsKind, IdsReport};
use verify::report::seq::SeqReport;

fn loadgen(target: &Target, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    c.args([
        "run",
        "--host",
        &target.url,
        "--spawn-rate",
        "50",
        "--segment-size",
        "2K-4K",
    ]);
    if !args.contains(&"--segment-interval") {
        c.args(["--segment-interval", "1s"]);
    }
    // The built-in client queues its segments: flush them every second, not every 60-120 s.
    if !args.contains(&"--scenario") && !args.contains(&"--flush-every") {
        c.args(["--flush-every", "1s"]);
    }
    c.args(args)
        .env_remove("WORKER_OFFSET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn check(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} exited {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn verify_ids(t: &Target, expect: &str) -> (i32, IdsReport) {
    let out = Command::new(verify_bin())
        .args(["ids", "--log", &t.log(), "--expect", expect, "--format", "json"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).expect("verify ids JSON"),
    )
}

fn verify_seq(t: &Target, expect: &str, segments: &str) -> (i32, SeqReport) {
    let out = Command::new(verify_bin())
        .args([
            "seq",
            "--dir",
            &t.data(),
            "--expect",
            expect,
            "--expect-segments",
            segments,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).expect("verify seq JSON"),
    )
}

#[test]
fn sixty_students_six_segments_are_clean() {
    let t = Target::start();
    t.setup(60);
    let json = t.dir.path().join("run.json");
    check(
        loadgen(
            &t,
            &["--students", "60", "--segments", "6", "--json", json.to_str().unwrap()],
            &[],
        )
        .output()
        .unwrap(),
        "loadgen",
    );
    let run: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        (
            run.students.logged_in,
            run.students.segments_uploaded,
            run.students.finished
        ),
        (60, 360, 60)
    );
    assert_eq!(run.total.failures, 0);
    let (code, ids) = verify_ids(&t, "test_00001..test_00060");
    assert_eq!((code, ids.summary.distinct_ids, ids.summary.duplicated_ids), (0, 60, 0));
    let (code, seq) = verify_seq(&t, "test_00001..test_00060", "6");
    assert_eq!(code, 0, "{:?}", seq.students);
    assert_eq!((seq.summary.students, seq.summary.segments), (60, 360));
}

#[test]
fn two_generators_with_the_same_offset_share_ids_and_verify_names_them() {
    let t = Target::start();
    t.setup(8);
    // Both upload the same student's same seq at about the same instant: the
    // target writes in place like the real server, so one of them may find
    // the file truncated by the other (`文件保存失败`). The upload failures are
    // this mistake's symptom, not the test's subject: the IDs are.
    let args = ["--students", "8", "--segments", "3", "--max-fail-ratio", "100%"];
    let a = loadgen(&t, &args, &[("WORKER_OFFSET", "0")]).spawn().unwrap();
    let b = loadgen(&t, &args, &[("WORKER_OFFSET", "0")]).spawn().unwrap();
    check(a.wait_with_output().unwrap(), "loadgen a");
    check(b.wait_with_output().unwrap(), "loadgen b");
    let (code, ids) = verify_ids(&t, "test_00001..test_00008");
    assert_eq!(code, 1);
    let shared: Vec<&str> = ids.duplicates.iter().map(|d| d.id.as_str()).collect();
    let expected: Vec<String> = (1..=8).map(|n| format!("test_{n:05}")).collect();
    assert_eq!(shared, expected.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        ids.duplicates
            .iter()
            .all(|d| d.kind == IdsKind::Collision && d.count == 2)
    );
}

#[test]
fn shards_split_the_population_without_overlap() {
    let t = Target::start();
    t.setup(20);
    let args = ["--students", "20", "--segments", "2"];
    let a = loadgen(&t, &[&args[..], &["--shard", "1/2"]].concat(), &[])
        .spawn()
        .unwrap();
    let b = loadgen(&t, &[&args[..], &["--shard", "2/2"]].concat(), &[])
        .spawn()
        .unwrap();
    check(a.wait_with_output().unwrap(), "loadgen shard 1/2");
    check(b.wait_with_output().unwrap(), "loadgen shard 2/2");
    let (code, ids) = verify_ids(&t, "test_00001..test_00020");
    assert_eq!((code, ids.summary.distinct_ids, ids.summary.duplicated_ids), (0, 20, 0));
    let (code, _) = verify_seq(&t, "test_00001..test_00020", "2");
    assert_eq!(code, 0);
}

#[test]
fn skipped_seqs_are_exactly_the_gaps_verify_finds() {
    let t = Target::start();
    t.setup(5);
    let json = t.dir.path().join("run.json");
    let args = [
        "--students",
        "5",
        "--segments",
        "8",
        "--skip-seq",
        "3",
        "--skip-every",
        "5",
        "--json",
        json.to_str().unwrap(),
    ];
    check(loadgen(&t, &args, &[]).output().unwrap(), "loadgen");
    let run: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(run.students.skipped.iter().all(|s| s.seqs == [3, 5]) && run.students.skipped.len() == 5);
    let (code, seq) = verify_seq(&t, "test_00001..test_00005", "8");
    assert_eq!(code, 1);
    assert_eq!(seq.students.len(), 5);
    for s in &seq.students {
        assert_eq!(s.gaps, [[3, 3], [5, 5]], "{}", s.id);
        assert!(s.duplicates.is_empty() && s.unsequenced.is_empty() && s.short.is_none());
    }
}

/// Stops the target (celery drains its queue, so every merge is logged), then
/// runs `verify gate` over its logs and tree: (exit code, report).
fn gate(t: &Target, expect: &str, segments: &str) -> (i32, verify::report::gate::GateReport) {
    let down = Command::new(repo().join("scripts/target-down.sh"))
        .arg(t.dir.path())
        .arg("30")
        .output()
        .unwrap();
    assert!(down.status.success());
    let merge_log = t.dir.path().join("logs/celery_worker_merge.log");
    let out = Command::new(verify_bin())
        .args(["gate", "--log", &t.log(), "--celery-log", merge_log.to_str().unwrap()])
        .args([
            "--dir",
            &t.data(),
            "--expect",
            expect,
            "--expect-segments",
            segments,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).expect("verify gate JSON"),
    )
}

/// Issue 12: the real client's flow. Recordings every 2 s (3 each, ending
/// at 6 s, queued and flushed every second, the rest at the exit pass),
/// heartbeats every 0.8 s (0.8 … 5.6: 7 each), screenshots (off in the
/// real client, on with `--every`) every 2.5 s (2.5 and 5.0: 2 each); every
/// planned time is at least 0.4 s from the end, so the counts are exact.
#[test]
fn supervise_client_twenty_students_every_call_counted_by_the_server() {
    let t = Target::start();
    let exam = t.setup(20);
    let json = t.dir.path().join("run.json");
    let args = [
        "--students",
        "20",
        "--segments",
        "3",
        "--segment-interval",
        "2s",
        "--every",
        "heartbeat=800ms",
        "--every",
        "screenshot=2500ms",
        "--flush-every",
        "1s",
        "--json",
        json.to_str().unwrap(),
    ];
    check(loadgen(&t, &args, &[]).output().unwrap(), "loadgen");
    let run: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let per: Vec<(&str, u64, u64)> = run
        .endpoints
        .iter()
        .map(|e| (e.name.as_str(), e.requests, e.failures))
        .collect();
    assert_eq!(
        per,
        [
            ("login", 20, 0),
            ("heartbeat", 140, 0),
            ("screenshot", 40, 0),
            ("recording", 60, 0),
            ("logout", 20, 0)
        ]
    );
    let late: Vec<(&str, u64)> = run.task_lateness.iter().map(|l| (l.name.as_str(), l.runs)).collect();
    // The recording is queued: its lateness is one figure per flush (their number depends on the burst times).
    assert_eq!(late[..2], [("heartbeat", 140), ("screenshot", 40)]);
    assert!(late[2].0 == "recording" && late[2].1 >= 20, "{late:?}");
    assert!(run.students.lost_at_exit.is_empty());
    // The server's side: per student exactly one login and one logout, and the planned calls.
    let counts = t.counts();
    let students = counts.get(&exam).expect("calls in the setup's exam");
    assert_eq!(students.len(), 20);
    for (id, kinds) in students {
        let got: Vec<(&str, u64)> = kinds.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        assert_eq!(
            got,
            [
                ("heartbeat", 7),
                ("login", 1),
                ("logout", 1),
                ("recording", 3),
                ("screenshot", 2)
            ],
            "{id}"
        );
    }
    // The exact recordings tree: seq 0001-0003 per student, nothing else.
    let rec = t.dir.path().join("server_data").join(&exam).join("recordings");
    for n in 1..=20 {
        let id = format!("test_{n:05}");
        let mut seqs: Vec<String> = std::fs::read_dir(rec.join(&id))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .map(|name| {
                let rest = name.strip_prefix(&format!("{id}_")).unwrap_or_else(|| panic!("{name}"));
                assert_eq!(rest.len(), "YYYYMMDD_HHMMSS_seq_0001.mp4".len(), "{name}");
                rest[16..].to_string()
            })
            .collect();
        seqs.sort();
        assert_eq!(seqs, ["seq_0001.mp4", "seq_0002.mp4", "seq_0003.mp4"], "{id}");
    }
    let (code, r) = gate(&t, "test_00001..test_00020", "3");
    assert_eq!(code, 0, "{:?}", r.failed_on);
}

#[test]
fn supervise_client_skip_seq_2_fails_the_gate_with_exactly_that_gap() {
    let t = Target::start();
    t.setup(20);
    let args = ["--students", "20", "--segments", "3", "--skip-seq", "2"];
    check(loadgen(&t, &args, &[]).output().unwrap(), "loadgen");
    let (code, r) = gate(&t, "test_00001..test_00020", "3");
    assert_eq!(code, 1);
    let seq = r.seq.as_ref().unwrap();
    assert_eq!(seq.students.len(), 20);
    for s in &seq.students {
        assert_eq!(s.gaps, [[2, 2]], "{}", s.id);
        assert!(
            s.duplicates.is_empty() && s.unsequenced.is_empty() && s.short.is_none(),
            "{}",
            s.id
        );
    }
    let cross = r.cross.as_ref().unwrap();
    assert_eq!(cross.gaps.len(), 20);
    assert!(cross.gaps.iter().all(|g| g.seqs == [[2, 2]]));
}

#[test]
fn a_login_refused_by_the_server_is_counted_never_hidden() {
    // No setup: no active exam, every login is refused with 400.
    let t = Target::start();
    let json = t.dir.path().join("run.json");
    let args = [
        "--students",
        "3",
        "--segments",
        "1",
        "--login-retries",
        "1",
        "--backoff",
        "50ms",
        "--json",
        json.to_str().unwrap(),
    ];
    let out = loadgen(&t, &args, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let run: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(run.students.login_failed, ["test_00001", "test_00002", "test_00003"]);
    let login = &run.endpoints[0];
    assert_eq!((login.requests, login.failures), (6, 6));
    assert_eq!(login.failure_kinds.get("http 400"), Some(&6));
}

/// Issue 7's end-to-end: faults injected through loadgen (shared IDs, a
/// skipped seq) into the real target; the gate finds exactly them, from the
/// log, the disk and celery, and cross-checks them.
#[test]
fn gate_finds_injected_faults_from_every_side() {
    let t = Target::start();
    t.setup(4);
    let args = ["--students", "4", "--segments", "3", "--skip-seq", "2"];
    let a = loadgen(&t, &args, &[("WORKER_OFFSET", "0")]).spawn().unwrap();
    let b = loadgen(&t, &args, &[("WORKER_OFFSET", "0")]).spawn().unwrap();
    check(a.wait_with_output().unwrap(), "loadgen a");
    check(b.wait_with_output().unwrap(), "loadgen b");
    let (code, r) = gate(&t, "test_00001..test_00004", "3");
    assert_eq!(code, 1);
    let ids = r.ids.as_ref().unwrap();
    let shared: Vec<&str> = ids
        .duplicates
        .iter()
        .filter(|d| d.kind == IdsKind::Collision)
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(shared, ["test_00001", "test_00002", "test_00003", "test_00004"]);
    let cross = r.cross.as_ref().unwrap();
    let gaps: Vec<(&str, verify::report::gate::CrossKind, &[[u64; 2]])> = cross
        .gaps
        .iter()
        .map(|g| (g.id.as_str(), g.kind, g.seqs.as_slice()))
        .collect();
    let both = verify::report::gate::CrossKind::GapBoth;
    assert_eq!(
        gaps,
        (1..=4)
            .map(|_| both)
            .zip(["test_00001", "test_00002", "test_00003", "test_00004"])
            .map(|(k, id)| (id, k, &[[2u64, 2]][..]))
            .collect::<Vec<_>>()
    );
    // Same-second uploads of one seq overwrite each other on the server, so the
    // disk may or may not show the duplicate: the IDs are exact, the side is not.
    let col: Vec<&str> = cross.collisions.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(col, ["test_00001", "test_00002", "test_00003", "test_00004"]);
    assert!(r.failed_on.contains(&"cross:gap_both".to_string()) && r.failed_on.contains(&"ids:collision".to_string()));
}

/// Task options against the real server: a task with probability 0 never
/// runs, an `offset` (with jitter) places the first run, once, as `every` is
/// longer than the run.
#[test]
fn task_offset_probability_and_jitter_shape_the_calls() {
    let t = Target::start();
    let exam = t.setup(4);
    let builtin = loadgen::scenario::DEFAULT_TOML;
    let text = builtin
        .replace(
            "every = \"30s\"\ntries = 3",
            "every = \"300ms\"\nprobability = 0.0\ntries = 3",
        )
        .replace(
            "every = \"30s\"\nenabled = false",
            "every = \"60s\"\noffset = \"200ms\"\njitter = \"100ms\"",
        );
    let path = t.dir.path().join("shape.toml");
    std::fs::write(&path, text).unwrap();
    let json = t.dir.path().join("run.json");
    let args = [
        "--students",
        "4",
        "--segments",
        "3",
        "--flush-every",
        "1s",
        "--scenario",
        path.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    check(loadgen(&t, &args, &[]).output().unwrap(), "loadgen");
    let counts = t.counts();
    for (id, kinds) in &counts[&exam] {
        assert_eq!(kinds.get("heartbeat"), None, "{id}: probability 0 never runs");
        assert_eq!(kinds.get("screenshot"), Some(&1), "{id}: one run at the offset");
        assert_eq!(kinds.get("recording"), Some(&3), "{id}");
    }
    let run: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let shot = run.task_lateness.iter().find(|l| l.name == "screenshot").unwrap();
    assert_eq!(shot.runs, 4);
    let beat = run.task_lateness.iter().find(|l| l.name == "heartbeat").unwrap();
    assert_eq!(beat.runs, 0, "a run not drawn is not measured");
}

/// Issue 27: `loadgen run`'s table was 129 columns wide and broke in a
/// 100-column terminal. With `COLUMNS=100` (and 80) no line of its output is
/// wider; `--wide` prints the whole table; the JSON is the same either way.
#[test]
fn the_run_table_fits_the_terminal_width_and_wide_prints_it_whole() {
    let t = Target::start();
    t.setup(3);
    let d = tempfile::tempdir().unwrap();
    let run = |columns: &str, extra: &[&str], json: &str| {
        let json = d.path().join(json);
        let mut args = vec!["--students", "3", "--segments", "2", "--segment-interval", "500ms"];
        args.extend(["--json", json.to_str().unwrap()]);
        args.extend(extra);
        let out = check(
            loadgen(&t, &args, &[("COLUMNS", columns)]).output().unwrap(),
            "loadgen run",
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        (text, report)
    };
    let widest = |text: &str| text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    for columns in [100, 80] {
        let (text, report) = run(&columns.to_string(), &[], &format!("r{columns}.json"));
        assert!(widest(&text) <= columns, "COLUMNS={columns}:\n{text}");
        assert!(
            text.contains("│ recording ") && text.contains("│ Aggregated "),
            "{text}"
        );
        assert!(
            text.contains("\n  recording: POST /api/"),
            "the paths under the table: {text}"
        );
        let path = report["endpoints"][0]["path"].as_str().unwrap();
        assert!(
            path.starts_with("/api/") && !text.contains(&format!("login POST {path}")),
            "JSON unchanged: {path}"
        );
    }
    let (text, _) = run("100", &["--wide"], "rw.json");
    assert!(widest(&text) > 100, "--wide: the whole table\n{text}");
    assert!(text.contains("recording POST /api/"), "{text}");
}
