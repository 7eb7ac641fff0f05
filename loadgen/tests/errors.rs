//! Issue 27 item 3: errors that say what to do, from the real binary
//! against small scripted servers on 127.0.0.1.

mod support;

use std::process::{Command, Output};

use support::fake::Fake;

fn loadgen(args: &[&str]) -> (Output, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen")).args(args).output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    (out, so, se)
}

/// Flask's answer when no exam is running (non-ASCII escaped, as jsonify writes it).
const NO_EXAM: &str = r#"{"message": "\u5f53\u524d\u6ca1\u6709\u8fdb\u884c\u4e2d\u7684\u8003\u8bd5\uff0c\u8bf7\u8054\u7cfb\u7ba1\u7406\u5458", "status": "error"}"#;

/// A forgotten `loadgen setup`: the server's words beside `http 400` in the
/// table and the JSON, and a hint naming `loadgen setup` (it used to end
/// in `http 400: 30`, the answer shown nowhere).
#[test]
fn refused_logins_show_the_servers_answer_and_point_at_setup() {
    let f = Fake::start(|_, _, _| (400, NO_EXAM.into()));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let (out, so, se) = loadgen(&[
        "run",
        "--host",
        &f.url,
        "--students",
        "2",
        "--segments",
        "1",
        "--login-retries",
        "1",
        "--backoff",
        "10ms",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{so}{se}");
    assert!(
        so.contains(r#"http 400: 4 "当前没有进行中的考试，请联系管理员""#),
        "{so}"
    );
    assert!(
        so.contains("hint: every login was refused (http 400: 当前没有进行中的考试，请联系管理员)")
            && so.contains(&format!("Run `loadgen setup --host {}", f.url)),
        "{so}"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        r["endpoints"][0]["failure_answers"]["http 400"],
        r#"{"message":"当前没有进行中的考试，请联系管理员","status":"error"}"#
    );
    assert!(
        r["hints"][0].as_str().unwrap().starts_with("every login was refused"),
        "{r}"
    );
}

/// Nothing listening at --host: said in words with what to check.
#[test]
fn nothing_listening_is_said_in_words() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let host = format!("http://127.0.0.1:{port}");
    let (out, so, se) = loadgen(&[
        "run",
        "--host",
        &host,
        "--students",
        "1",
        "--segments",
        "1",
        "--login-retries",
        "0",
        "--max-fail-ratio",
        "5%",
    ]);
    assert_eq!(out.status.code(), Some(1), "{so}{se}");
    assert!(so.contains("(limit 0.05)"), "a percentage is a ratio: {so}");
    assert!(
        so.contains(&format!(
            "hint: 1 request(s) could not open a connection to {host}: nothing listens there"
        )),
        "{so}"
    );
}

/// `--max-fail-ratio 5%` is 0.05 (above); a share over 100% is refused in words.
#[test]
fn a_percentage_over_100_is_refused_in_words() {
    let (out, so, se) = loadgen(&[
        "run",
        "--host",
        "http://127.0.0.1:1",
        "--students",
        "1",
        "--segments",
        "1",
        "--max-fail-ratio",
        "150%",
    ]);
    assert_eq!(out.status.code(), Some(2), "{so}{se}");
    assert!(
        se.contains("'150%' is not a ratio between 0 and 1 (e.g. 0.05) or a percentage (e.g. 5%)"),
        "{se}"
    );
}

/// A scenario value of the wrong type is said in words with its key (it
/// used to be serde's "did not match any variant of untagged enum RawStatus").
#[test]
fn a_quoted_status_is_said_in_words_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        "version = 2\n[login]\npath = \"/api/login\"\nexpect = { status = \"200\" }\n",
    )
    .unwrap();
    let (out, so, se) = loadgen(&[
        "run",
        "--host",
        "http://127.0.0.1:1",
        "--students",
        "1",
        "--segments",
        "1",
        "--scenario",
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{so}{se}");
    assert!(
        se.contains("line 4: expect.status: the string \"200\" is not an HTTP status: write a number, `status = 200` (no quotes)"),
        "{se}"
    );
}

/// A worker with no master gives up after --master-timeout (it used to wait
/// 30 s whatever it said), saying what to start or check.
#[test]
fn a_worker_without_a_master_honours_master_timeout() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            &port.to_string(),
        ])
        .args(["--master-timeout", "1s"])
        .env_remove("WORKER_OFFSET")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the old worker waited 30 s.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > end {
            let _ = child.kill();
            panic!("the worker still waits for its master after 15 s with --master-timeout 1s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut se = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut se).unwrap();
    assert_eq!(status.code(), Some(2), "{se}");
    assert!(
        se.contains(&format!(
            "no Locust master listens at 127.0.0.1:{port} (waited 1s, --master-timeout). Start it first"
        )),
        "{se}"
    );
}

/// Issue 25: the old guide's WORKER_OFFSET is refused aloud, never ignored.
#[test]
fn worker_offset_in_a_workers_environment_is_refused_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["worker", "--master-host", "127.0.0.1", "--master-port", "1"])
        .env("WORKER_OFFSET", "20")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("WORKER_OFFSET is set (20)") && err.contains("locustfile.py"),
        "{err}"
    );
}
