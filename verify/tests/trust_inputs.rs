//! Inputs a hostile or hurried user gives: relative paths, logs in another
//! encoding, logs without a single event, `--fail-on` sets that drop the
//! ledger's verdict. Each must end in a failure or a warning, never a quiet PASS.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::verify;

fn segment(rec: &Path, id: &str, seq: u32) {
    let dir = rec.join(id);
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join(format!("{id}_20251123_1800{:02}_seq_{seq:04}.mp4", seq * 2)),
        "x",
    )
    .unwrap();
}

fn watch_in(cwd: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_verify"))
        .current_dir(cwd)
        .arg("watch")
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the child, killing it if it runs far past its own --duration
/// (a hang guard, not a speed check).
fn finish(mut child: Child, limit: Duration) -> Output {
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > limit {
            child.kill().unwrap();
            panic!("verify did not stop by itself within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Item 1: `--dir x`, `--dir ./x`, `--dir x/../y`: the tree is watched, the
/// gap and the student folder that appear during the run are in the alerts
/// and the final report, and the report shows the paths as the user wrote them.
#[test]
fn watch_with_a_relative_dir_sees_the_tree_change() {
    let base = tempfile::tempdir().unwrap();
    let forms = [("a", "a"), ("./b", "b"), ("x/../c", "c")];
    fs::create_dir_all(base.path().join("x")).unwrap();
    let mut children = Vec::new();
    for (arg, real) in forms {
        let rec = base.path().join(real).join("30/recordings");
        segment(&rec, "test_00001", 1);
        let child = watch_in(
            base.path(),
            &[
                "--dir",
                arg,
                "--expect",
                "test_00001..test_00002",
                "--duration",
                "4s",
                "--grace",
                "1s",
                "--format",
                "json",
            ],
        );
        children.push((arg, rec, child));
    }
    std::thread::sleep(Duration::from_millis(800));
    for (_, rec, _) in &children {
        segment(rec, "test_00001", 2);
        segment(rec, "test_00001", 4); // seq 3 never comes
        segment(rec, "test_00002", 1); // a student folder that appears during the run
        fs::write(rec.join("notes.txt"), "x").unwrap(); // a stray file
    }
    for (arg, _, child) in children {
        let out = finish(child, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("ALERT gap confirmed: exam 30 test_00001 seq 3 missing"),
            "--dir {arg}: no gap alert in:\n{stderr}"
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let seq = &v["seq"];
        assert_eq!(seq["summary"]["students"], 2, "--dir {arg}: {}", seq["summary"]);
        assert_eq!(seq["missing_students"], serde_json::json!([]), "--dir {arg}");
        assert!(
            v["failed_on"].as_array().unwrap().contains(&"seq:gap".into()),
            "--dir {arg}: {}",
            v["failed_on"]
        );
        assert_eq!(out.status.code(), Some(1), "--dir {arg}: {stderr}");
        // Shown as written, matched in absolute form.
        assert_eq!(seq["scanned"]["root"], arg);
        let recordings = seq["scanned"]["exams"][0]["recordings"].as_str().unwrap();
        assert_eq!(recordings, format!("{arg}/30/recordings"));
        assert_eq!(seq["scanned"]["exams"][0]["students"], 2, "--dir {arg}");
        let stray = format!("{arg}/30/recordings/notes.txt");
        assert_eq!(seq["stray_files"], serde_json::json!([stray]), "--dir {arg}");
    }
}

/// Item 17: a `--fail-on` that replaces the cross set drops `acked_missing`
/// from it: said on stderr; the `+cross:` form keeps it, and says nothing.
#[test]
fn a_fail_on_that_drops_acked_missing_is_warned_about() {
    let d = tempfile::tempdir().unwrap();
    segment(&d.path().join("30/recordings"), "test_00001", 1);
    let dir = d.path().to_str().unwrap();
    let replaced = verify(&["gate", "--dir", dir, "--fail-on", "cross:gap_disk_only"]);
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    assert!(
        replaced
            .stderr
            .contains("warning: --fail-on leaves out cross:acked_missing"),
        "{}",
        replaced.stderr
    );
    let added = verify(&["gate", "--dir", dir, "--fail-on", "+cross:gap_disk_only"]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    assert!(!added.stderr.contains("acked_missing"), "{}", added.stderr);
}

/// The folder reads `verify watch` counted, from its last line.
fn folder_reads(stderr: &str) -> u64 {
    let line = stderr.lines().rev().find(|l| l.contains(" folder reads")).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "folder").unwrap();
    words[at - 1].parse().unwrap()
}

/// Item 11: reading a young folder raised events that woke the loop that read
/// it again (23,000 reads for 3 folders in 4 s). Each folder is read at most
/// once per `--tick`: 10 folders, 3 s at 100 ms, at most 10 x 31 reads.
#[test]
fn new_folders_are_read_at_most_once_per_tick() {
    let d = tempfile::tempdir().unwrap();
    let rec = d.path().join("30/recordings");
    segment(&rec, "test_00001", 1);
    let child = watch_in(
        d.path(),
        &["--dir", ".", "--duration", "3s", "--tick", "100ms", "--format", "json"],
    );
    std::thread::sleep(Duration::from_millis(500));
    for n in 2..=11 {
        segment(&rec, &format!("test_{n:05}"), 1);
        segment(&rec, &format!("test_{n:05}"), 2);
    }
    let out = finish(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["seq"]["summary"]["students"], 11, "{stderr}");
    assert_eq!(v["seq"]["summary"]["segments"], 21, "{stderr}");
    let reads = folder_reads(&stderr);
    assert!(
        (10..=310).contains(&reads),
        "{reads} folder reads for 10 new folders:\n{stderr}"
    );
}

/// A fixture log re-encoded as a server with a Chinese locale writes it.
fn gb18030_copy(dir: &Path, fixture: &str) -> std::path::PathBuf {
    let text = fs::read_to_string(support::fixtures().join("logs/target").join(fixture)).unwrap();
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    assert_ne!(&bytes[..], text.as_bytes(), "the fixture must hold Chinese text");
    let path = dir.join(fixture);
    fs::write(&path, &bytes).unwrap();
    path
}

fn json(args: &[&str]) -> (i32, serde_json::Value, String) {
    let run = verify(&[args, &["--format", "json"]].concat());
    let v = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run.code, v, run.stderr)
}

/// Item 5: a GB18030 gunicorn log is read as GB18030 by default (its logins
/// all found, the choice said in the report), and a log read with the wrong
/// encoding, where no login is found, fails as `ids:no_logins` unless
/// `--allow-empty`.
#[test]
fn a_gb18030_log_is_detected_and_a_log_without_logins_fails() {
    let d = tempfile::tempdir().unwrap();
    let gb = gb18030_copy(d.path(), "gunicorn_access.log");
    let gb = gb.to_str().unwrap();
    let utf8 = support::fixtures().join("logs/target/gunicorn_access.log");
    let (code_utf8, want, _) = json(&["ids", "--log", utf8.to_str().unwrap()]);
    let (code, v, stderr) = json(&["ids", "--log", gb]);
    assert_eq!(v["summary"]["login_events"], 8, "{stderr}");
    assert_eq!(v["summary"]["login_events"], want["summary"]["login_events"]);
    let dups = |v: &serde_json::Value| -> Vec<(String, String, Vec<u64>)> {
        let list = v["duplicates"].as_array().unwrap().iter();
        list.map(|d| {
            let lines = d["events"].as_array().unwrap().iter();
            let lines = lines.map(|e| e["line"].as_u64().unwrap()).collect();
            (d["id"].to_string(), d["evidence"].to_string(), lines)
        })
        .collect()
    };
    assert_eq!(dups(&v), dups(&want));
    assert_eq!(dups(&v).len(), 1);
    assert_eq!(v["failed_on"], want["failed_on"]);
    assert_eq!(code, code_utf8);
    assert_eq!(v["files"][0]["encoding"], "gb18030");
    assert_eq!(want["files"][0]["encoding"], "utf-8");
    let warned = v["warnings"].as_array().unwrap();
    assert!(
        warned
            .iter()
            .any(|w| w.as_str().unwrap().contains("encoding detected as gb18030")),
        "{warned:?}"
    );
    assert!(want["warnings"].as_array().unwrap().is_empty(), "{}", want["warnings"]);

    // Forced to the other encoding: each line is still read in the one it
    // is written in, and the file is said to mix encodings.
    let (code, v, _) = json(&["ids", "--log", gb, "--encoding", "utf-8"]);
    assert_eq!(v["summary"]["login_events"], want["summary"]["login_events"]);
    assert_eq!(code, code_utf8);
    let warned = v["warnings"].as_array().unwrap();
    assert!(
        warned.iter().any(|w| w.as_str().unwrap().contains("mixes encodings")),
        "{warned:?}"
    );
    // A GB18030 log without one login: the run fails.
    let none = gb18030_copy(d.path(), "celery_worker_status.log");
    let none = none.to_str().unwrap();
    let (code, v, _) = json(&["ids", "--log", none]);
    assert_eq!(v["summary"]["login_events"], 0);
    assert_eq!(v["failed_on"], serde_json::json!(["no_logins"]));
    assert_eq!(code, 1);
    let table = verify(&["ids", "--log", none]);
    assert!(table.stdout.contains("not one login event"), "{}", table.stdout);
    let (code, v, _) = json(&["ids", "--log", none, "--allow-empty"]);
    assert_eq!((code, &v["failed_on"]), (0, &serde_json::json!([])));
    // An empty log is not a log without logins.
    let empty = d.path().join("empty.log");
    fs::write(&empty, "").unwrap();
    let (code, _, _) = json(&["ids", "--log", empty.to_str().unwrap()]);
    assert_eq!(code, 0);
}

/// Item 5, `verify merge`: a GB18030 celery log is detected (its `序号缺失`
/// gap found), and a log without a single task line fails as `merge:no_tasks`.
#[test]
fn a_gb18030_celery_log_is_detected_and_a_log_without_tasks_fails() {
    let d = tempfile::tempdir().unwrap();
    let gb = gb18030_copy(d.path(), "celery_worker_merge.log");
    let utf8 = support::fixtures().join("logs/target/celery_worker_merge.log");
    let (_, want, _) = json(&["merge", "--log", utf8.to_str().unwrap()]);
    let (_, v, stderr) = json(&["merge", "--log", gb.to_str().unwrap()]);
    assert_eq!(v["server_gaps"].as_array().unwrap().len(), 1, "{stderr}");
    assert_eq!(v["summary"], want["summary"]);
    assert_eq!(v["files"][0]["encoding"], "gb18030");
    assert_eq!(want["files"][0]["encoding"], "utf-8");

    let not_celery = support::fixtures().join("logs/target/gunicorn_access.log");
    let not_celery = not_celery.to_str().unwrap();
    let (code, v, _) = json(&["merge", "--log", not_celery]);
    assert_eq!((code, &v["failed_on"]), (1, &serde_json::json!(["no_tasks"])));
    let table = verify(&["merge", "--log", not_celery]);
    assert!(table.stdout.contains("not one task line"), "{}", table.stdout);
    let (code, v, _) = json(&["merge", "--log", not_celery, "--allow-empty"]);
    assert_eq!((code, &v["failed_on"]), (0, &serde_json::json!([])));
}

/// Item 5, `verify gate`: its parts fail the same way, and `--allow-empty`
/// (or `allow_empty = true` in the config) passes them.
#[test]
fn the_gate_fails_on_logs_without_logins_or_tasks() {
    let d = tempfile::tempdir().unwrap();
    let gb = gb18030_copy(d.path(), "gunicorn_access.log");
    let gb = gb.to_str().unwrap();
    let celery = support::fixtures().join("logs/target/celery_worker_status.log");
    let celery = celery.to_str().unwrap();
    let none = gb18030_copy(d.path(), "celery_worker_status.log");
    let args = ["gate", "--log", none.to_str().unwrap(), "--celery-log", gb];
    let (code, v, _) = json(&args);
    let failed: Vec<&str> = v["failed_on"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        failed.contains(&"ids:no_logins") && failed.contains(&"merge:no_tasks"),
        "{failed:?}"
    );
    assert_eq!(code, 1);
    let (code, v, _) = json(&[&args[..], &["--allow-empty"]].concat());
    assert_eq!((code, &v["failed_on"]), (0, &serde_json::json!([])), "{v}");
    let toml = d.path().join("verify.toml");
    fs::write(&toml, "allow_empty = true\n").unwrap();
    let (code, _, _) = json(&[&args[..], &["--config", toml.to_str().unwrap()]].concat());
    assert_eq!(code, 0);
    // Detected by default: the GB18030 log's logins are found.
    let (_, v, _) = json(&["gate", "--log", gb, "--celery-log", celery]);
    assert_eq!(v["ids"]["summary"]["login_events"], 8, "{}", v["ids"]["summary"]);
}

/// Item 5, live: a log that starts with ASCII lines ("Booting worker"), one
/// that exists at start and one that appears during `verify watch`, is
/// decided on its first line that tells UTF-8 from GB18030, and its GB18030
/// logins are counted.
#[test]
fn watch_detects_gb18030_in_a_log_that_starts_with_ascii() {
    let booting = "[2025-11-23 17:59:59 +0800] [7] [INFO] Booting worker with pid: 7\n";
    let mut logins = String::new();
    for n in 1..=3 {
        logins.push_str(&format!(
            "[2025-11-23 18:00:0{n} +0800] [7] [INFO] 登录成功 student_id=test_{n:05} exam_id=30 ip=10.0.0.{n}\n"
        ));
    }
    let (logins, _, _) = encoding_rs::GB18030.encode(&logins);
    let runs: Vec<_> = [false, true]
        .into_iter()
        .map(|exists| {
            let d = tempfile::tempdir().unwrap();
            if exists {
                fs::write(d.path().join("gunicorn.log"), booting).unwrap();
            }
            let child = watch_in(
                d.path(),
                &["--log", "gunicorn.log", "--duration", "3s", "--format", "json"],
            );
            (exists, d, child)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(600));
    for (exists, d, _) in &runs {
        let mut bytes = if *exists {
            Vec::new()
        } else {
            booting.as_bytes().to_vec()
        };
        bytes.extend_from_slice(&logins);
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.path().join("gunicorn.log"))
            .unwrap();
        std::io::Write::write_all(&mut f, &bytes).unwrap();
    }
    for (exists, _d, child) in runs {
        let out = finish(child, Duration::from_secs(60));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ids = &v["ids"];
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            ids["summary"]["login_events"], 3,
            "log there at start: {exists}; {stderr}"
        );
        assert_eq!(ids["files"][0]["encoding"], "gb18030", "log there at start: {exists}");
        assert_eq!(out.status.code(), Some(0), "{}", v["failed_on"]);
    }
}

/// Runs `verify` with a hang guard (a FIFO must not block it).
fn verify_guarded(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child, Duration::from_secs(20))
}

/// `gate --config` and `gate --merge` read regular files only, with a size
/// cap: `/dev/zero` grew memory without end, a FIFO hung.
#[test]
fn config_and_merge_files_must_be_regular_and_small() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let big = d.path().join("big.toml");
    fs::write(&big, vec![b'#'; (1 << 20) + 1]).unwrap();
    let fifo = fifo.to_str().unwrap();
    for (flag, file, says) in [
        ("--config", "/dev/zero", "not a regular file"),
        ("--config", fifo, "not a regular file"),
        ("--config", big.to_str().unwrap(), "larger than 1048576 bytes"),
        ("--merge", "/dev/zero", "not a regular file"),
        ("--merge", fifo, "not a regular file"),
    ] {
        let out = verify_guarded(&["gate", flag, file, "--dir", "."]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {file}: {stderr}");
        assert!(stderr.contains(&format!("{flag} {file}: {says}")), "{stderr}");
    }
}

/// A FIFO or a device named as a log or a ledger is refused (exit 2, the
/// reason named) instead of blocking at the open or reading forever.
#[test]
fn fifos_and_devices_named_as_logs_or_ledgers_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let fifo = fifo.to_str().unwrap();
    let log = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/logs/gunicorn_access.log");
    for args in [
        vec!["ids", "--log", fifo],
        vec!["ids", "--log", "/dev/zero"],
        vec!["merge", "--log", "/dev/zero"],
        vec!["gate", "--log", "/dev/zero"],
        vec!["gate", "--ledger", fifo, "--log", log],
        vec!["gate", "--ledger", "/dev/zero", "--log", log],
    ] {
        let child = Command::new(env!("CARGO_BIN_EXE_verify"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = finish(child, Duration::from_secs(20));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}: {all}");
        assert!(all.contains("not a regular file"), "{args:?}: {all}");
    }
}

/// A named file whose name holds control characters: refused in words, the
/// name escaped (its ESC reached the terminal raw; hostile review).
#[test]
fn a_password_file_named_with_control_characters_is_escaped_when_refused() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("e\u{1b}[31mX");
    fs::create_dir(&dir).unwrap();
    let r = verify(&[
        "ids",
        "--db",
        "mysql://u@127.0.0.1:1/db",
        "--db-password-file",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    assert!(
        !r.stderr.contains('\u{1b}') && r.stderr.contains("\\u{1b}"),
        "{:?}",
        r.stderr
    );
}
