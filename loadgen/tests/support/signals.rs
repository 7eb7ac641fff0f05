//! Shared by signals.rs and signals_real.rs: a process killed when
//! dropped, signals, bounded waits, the ledger and the JSON report.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the process when dropped (test failures included).
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn signal(p: &Proc, name: &str) {
    let st = Command::new("kill")
        .args([&format!("-{name}"), &p.0.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Waits for a process, at most `limit` (a bound, not a speed claim).
pub fn wait(p: &mut Proc, limit: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(s) = p.0.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

pub fn stderr(p: &mut Proc) -> String {
    use std::io::Read;
    let mut s = String::new();
    p.0.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

pub fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Ledger lines of `kind`.
pub fn count(lines: &[serde_json::Value], kind: &str) -> usize {
    lines.iter().filter(|l| l["kind"] == kind).count()
}

pub fn loadgen_run(host: &str, dir: &Path, extra: &[&str]) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(["run", "--host", host, "--spawn-rate", "50", "--run-time", "10m"])
            .args(["--ledger", dir.join("l.ndjson").to_str().unwrap()])
            .args(["--json", dir.join("r.json").to_str().unwrap()])
            .args(extra)
            .env_remove("WORKER_OFFSET")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

pub fn report(dir: &Path) -> loadgen::report::RunReport {
    serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
