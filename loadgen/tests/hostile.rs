//! Issue 13 against loadgen: a hostile server cannot grow the generator's
//! memory or kill its students. Servers here are small std::net listeners
//! on 127.0.0.1, written for the case.

mod support;

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use support::hung::{SCENARIO, read_request, serve};

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Item 10: a 300 MiB answer is read as a stream and counted; the generator
/// keeps a few KiB of it (it used to hold the whole body).
#[test]
fn a_huge_answer_is_counted_not_held() {
    const SIZE: usize = 300 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (almost, almost_rx) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut r = BufReader::new(stream.try_clone().unwrap());
        read_request(&mut r);
        let mut w = stream;
        write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\nContent-Type: application/json\r\n\r\n"
        )
        .unwrap();
        let chunk = vec![b'x'; 1 << 20];
        let mut sent = 0;
        while sent + chunk.len() < SIZE {
            w.write_all(&chunk).unwrap();
            sent += chunk.len();
        }
        w.write_all(&chunk[..SIZE - sent - 1]).unwrap();
        w.flush().unwrap();
        almost.send(()).unwrap();
        let _ = go_rx.recv();
        let _ = w.write_all(b"x");
    });
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("h.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "hammer",
            "--host",
            &format!("http://127.0.0.1:{port}"),
            "--requests",
            "1",
            "--concurrency",
            "1",
        ])
        .args(["--students", "1", "--json", json.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    almost_rx.recv().unwrap();
    // All but the last byte is sent; give the client a moment to read it (a
    // bounded wait, not a timing assertion).
    let mut hwm = 0;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        hwm = hwm.max(vm_hwm_kib(child.id()));
    }
    go.send(()).unwrap();
    child.wait().unwrap();
    server.join().unwrap();
    assert!(hwm > 0, "no /proc reading");
    assert!(hwm < 100 * 1024, "peak RSS {hwm} KiB while reading a 300 MiB answer");
    let report: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report.total.bytes_received, SIZE as u64);
    // Over --max-answer-size (its default): the login fails, counted, naming the cap.
    assert_eq!(
        report.endpoints[0]
            .failure_kinds
            .get("answer too large (over 8 MiB, --max-answer-size)"),
        Some(&1)
    );
}

fn run(port: u16, extra: &[&str]) -> (i32, loadgen::report::RunReport) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let json = dir.path().join("r.json");
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            "--host",
            &format!("http://127.0.0.1:{port}"),
            "--students",
            "3",
            "--spawn-rate",
            "100",
        ])
        .args([
            "--scenario",
            scenario.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--backoff",
            "10ms",
        ])
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
    (out.status.code().unwrap_or(-1), report)
}

/// Item 3: a token with a space, a quote, a slash and a question mark,
/// placed into paths, is percent-encoded; no student dies.
#[test]
fn a_hostile_token_in_a_path_is_encoded_and_no_student_dies() {
    let (port, seen) = serve(|path| {
        Some(if path == "/login" {
            r#"{"token":"a b\"c/?#"}"#.to_string()
        } else {
            "{}".to_string()
        })
    });
    let (code, r) = run(port, &["--segments", "2"]);
    assert_eq!(code, 0, "{r:?}");
    assert_eq!(
        (r.students.logged_in, r.students.finished, r.students.segments_uploaded),
        (3, 3, 6)
    );
    assert!(r.students.ended_abnormally.is_empty());
    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|p| p == "/u/a%20b%22c%2F%3F%23"), "{seen:?}");
    assert!(seen.iter().any(|p| p == "/out/a%20b%22c%2F%3F%23"), "{seen:?}");
}

/// Item 3: students stuck on a server that never answers are abandoned at
/// the stop timeout, and that fails the run with the seq each had in flight
/// (it used to pass: no request had failed yet).
#[test]
fn students_abandoned_at_the_stop_timeout_fail_the_run() {
    let (port, _) = serve(|path| (path == "/login").then(|| r#"{"token":"t"}"#.to_string()));
    let (code, r) = run(port, &["--run-time", "1s", "--stop-timeout", "500ms"]);
    assert_eq!(code, 1, "{r:?}");
    assert_eq!(r.verdict, "fail");
    let ended: Vec<(&str, &str)> = r
        .students
        .ended_abnormally
        .iter()
        .map(|a| (a.id.as_str(), a.why.as_str()))
        .collect();
    assert_eq!(
        ended,
        [
            ("test_00001", "abandoned after --stop-timeout"),
            ("test_00002", "abandoned after --stop-timeout"),
            ("test_00003", "abandoned after --stop-timeout")
        ]
    );
    assert!(
        r.students.gave_up.iter().all(|g| g.seqs == [1]) && r.students.gave_up.len() == 3,
        "{:?}",
        r.students.gave_up
    );
}
