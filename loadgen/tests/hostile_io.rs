//! Issue 24 against loadgen's input and output: big answers, files that are
//! not files, a server growing the cookie jar, uploads that must carry their
//! file. Servers here are small std::net listeners on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    cookie: Option<String>,
    body: usize,
}

type Handler = dyn Fn(&Seen, usize) -> (String, Vec<u8>) + Send + Sync;

/// A keep-alive server: `answer(request, n)` (n: requests so far) gives
/// extra header lines and the body. Requests are recorded.
fn serve(answer: Arc<Handler>) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (seen, answer) = (seen2.clone(), answer.clone());
            std::thread::spawn(move || {
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let mut w = stream;
                loop {
                    let mut first = String::new();
                    if r.read_line(&mut first).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
                    let (mut len, mut cookie) = (0usize, None);
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        if lower.starts_with("cookie:") {
                            cookie = Some(line[7..].trim().to_string());
                        }
                    }
                    let got = std::io::copy(&mut (&mut r).take(len as u64), &mut std::io::sink()).unwrap_or(0);
                    let req = Seen {
                        path,
                        cookie,
                        body: got as usize,
                    };
                    let n = {
                        let mut s = seen.lock().unwrap();
                        s.push(req.clone());
                        s.len()
                    };
                    let (headers, body) = answer(&req, n);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/json\r\n{headers}\r\n",
                        body.len()
                    );
                    if w.write_all(head.as_bytes()).and_then(|_| w.write_all(&body)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, seen)
}

fn loadgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Item 7: `loadgen setup --students 5000` against a server that echoes the
/// student list (about 300 KiB of JSON) captures the exam (it failed as
/// `check /status`: answers were cut at 64 KiB). Past `--max-answer-size`
/// the failure says so and names the cap.
#[test]
fn a_big_json_answer_is_parsed_up_to_the_cap() {
    let (port, seen) = serve(Arc::new(|req: &Seen, _| {
        let students: Vec<String> = (1..=5000).map(|i| format!("test_{i:05} Student {i}")).collect();
        let body = serde_json::json!({"status": "success", "exam_id": 41, "students": students, "echo": req.body});
        (String::new(), body.to_string().into_bytes())
    }));
    let host = format!("http://127.0.0.1:{port}");
    let out = loadgen(&["setup", "--host", &host, "--students", "5000"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("exam_id=41"), "{}", text(&out));
    // The first request may be the server's clock (`/api/server_time`).
    let exams = seen
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.path.ends_with("/exams"))
        .map(|r| r.body);
    assert!(
        exams.is_some_and(|b| b > 64 << 10),
        "the request carried the list: {exams:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("setup.json");
    let out = loadgen(&[
        "setup",
        "--host",
        &host,
        "--students",
        "5000",
        "--max-answer-size",
        "64K",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        report["steps"][0]["failure"],
        "answer too large (over 64 KiB, --max-answer-size)"
    );
    for bad in ["0", "2G", "lots"] {
        let out = loadgen(&["setup", "--host", &host, "--students", "1", "--max-answer-size", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        assert!(text(&out).contains("--max-answer-size"), "{}", text(&out));
    }
}

/// Runs loadgen, killed (and the test failed) if it has not ended in 20 s.
fn bounded(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("loadgen {args:?} still running after 20 s: {}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Item 10: files a user names that are not regular files, or too large,
/// are refused at once with a message naming the flag (`--cacert /dev/zero`
/// grew memory until abort; a FIFO hung forever).
#[test]
fn named_files_must_be_regular_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let big = dir.path().join("big.pem");
    std::fs::File::create(&big).unwrap().set_len(5 << 20).unwrap();
    let fifo = fifo.to_str().unwrap();
    let d = dir.path().to_str().unwrap();
    let https = ["setup", "--host", "https://127.0.0.1:9", "--students", "1"];
    let run = [
        "run",
        "--host",
        "http://127.0.0.1:9",
        "--students",
        "1",
        "--segments",
        "1",
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            [&https[..], &["--cacert", "/dev/zero"]].concat(),
            "--cacert /dev/zero: not a regular file (a device)",
        ),
        (
            [&https[..], &["--cacert", fifo]].concat(),
            "not a regular file (a FIFO)",
        ),
        (
            [&https[..], &["--cacert", d]].concat(),
            "not a regular file (a directory)",
        ),
        (
            [&https[..], &["--cacert", big.to_str().unwrap()]].concat(),
            "larger than the 4 MiB limit for this flag",
        ),
        ([&run[..], &["--scenario", fifo]].concat(), "--scenario"),
        (
            [&run[..], &["--scenario", "/dev/zero"]].concat(),
            "not a regular file (a device)",
        ),
        ([&run[..], &["--payload", fifo]].concat(), "--payload"),
        (
            [&run[..], &["--payload", "/dev/zero"]].concat(),
            "not a regular file (a device)",
        ),
    ];
    for (args, want) in cases {
        let out = bounded(&args);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {t}");
        assert!(t.contains(want), "{args:?}: want '{want}' in: {t}");
    }
}

/// A scenario with one fast task, for cookies.
const PING: &str = r#"version = 2
[login]
path = "/login"
[[task]]
name = "ping"
every = "10ms"
path = "/ping"
"#;

/// Item 13: a server setting a new cookie name on every answer cannot grow
/// the `Cookie` header without bound (it reached 3.9 KB after 134 requests).
/// Here each answer sets three new names.
#[test]
fn the_cookie_header_stays_bounded() {
    let (port, seen) = serve(Arc::new(|_: &Seen, n| {
        let set: String = ["a", "b", "c"]
            .iter()
            .map(|k| format!("Set-Cookie: {k}{n}=v{n}; Path=/\r\n"))
            .collect();
        (set, b"{}".to_vec())
    }));
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, PING).unwrap();
    let out = loadgen(&[
        "run",
        "--host",
        &format!("http://127.0.0.1:{port}"),
        "--students",
        "1",
        "--run-time",
        "3s",
        "--scenario",
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 40, "only {} requests", seen.len());
    let most = seen
        .iter()
        .filter_map(|s| s.cookie.as_ref())
        .map(|c| c.split("; ").count())
        .max()
        .unwrap();
    assert_eq!(most, 50, "cookies per request, at most");
    let last = seen.last().and_then(|s| s.cookie.clone()).unwrap();
    let newest = format!("c{}=v{}", seen.len() - 1, seen.len() - 1);
    assert!(last.contains(&newest), "the newest cookies are kept: {last}");
    assert!(!last.split("; ").any(|c| c == "a1=v1"), "the oldest is evicted: {last}");
}

/// A scenario whose task uploads a 300 KiB file part.
const UPLOAD: &str = r#"version = 2
[login]
path = "/login"
[[task]]
name = "recording"
every = "1s"
path = "/upload"
fields = { a = "1" }
file = { field = "video", name = "v.mp4", size = "300K" }
"#;

/// Item 18: `hammer --request recording` sends the file part (it sent the
/// form fields alone: 50 uploads of a 16 MiB scenario were 14 KiB in all).
#[test]
fn hammered_uploads_carry_their_file() {
    let (port, seen) = serve(Arc::new(|_: &Seen, _| (String::new(), b"{}".to_vec())));
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, UPLOAD).unwrap();
    let json = dir.path().join("h.json");
    let out = loadgen(&[
        "hammer",
        "--host",
        &format!("http://127.0.0.1:{port}"),
        "--scenario",
        scenario.to_str().unwrap(),
        "--request",
        "recording",
        "--requests",
        "20",
        "--students",
        "2",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rec = report.endpoints.iter().find(|e| e.name == "recording").unwrap();
    assert_eq!(rec.requests, 20);
    assert!(rec.bytes_sent >= 20 * 300 * 1024, "{} bytes sent", rec.bytes_sent);
    let uploads: Vec<usize> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path == "/upload")
        .map(|s| s.body)
        .collect();
    assert_eq!(uploads.len(), 20);
    assert!(uploads.iter().all(|&b| b >= 300 * 1024), "{uploads:?}");
}

/// Item 17: certificate options with an http:// host are said to do nothing.
#[test]
fn tls_options_with_plain_http_are_warned_about() {
    let (port, _) = serve(Arc::new(|_: &Seen, _| {
        (String::new(), br#"{"status":"success","exam_id":1}"#.to_vec())
    }));
    let host = format!("http://127.0.0.1:{port}");
    let out = loadgen(&["setup", "--host", &host, "--students", "1", "--insecure"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: --insecure is ignored: the host is http://"),
        "{err}"
    );
}
