//! Issue 13 against loadgen: a hostile server cannot grow the generator's
//! memory or kill its students. Servers here are small std::net listeners
//! on 127.0.0.1, written for the case.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;

/// Reads one HTTP request (headers and a Content-Length body).
fn read_request(r: &mut BufReader<std::net::TcpStream>) {
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    let _ = r.read_exact(&mut body);
}

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
    // Not JSON: the login's check fails, counted, with its pointer.
    assert_eq!(report.endpoints[0].failure_kinds.get("check /status"), Some(&1));
}
