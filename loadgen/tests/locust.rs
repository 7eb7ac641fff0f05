//! `loadgen worker` under a real Locust master (2.47.0 from PyPI, in the
//! virtualenv scripts/locust/venv.sh makes), against the reference target.
//! Everything listens on 127.0.0.1 and every process is stopped by the test.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Target, hung, repo, verify_bin};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn locust_venv() -> PathBuf {
    let out = Command::new(repo().join("scripts/locust/venv.sh")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Kills the process when dropped (test failures included).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn master(t: &Target, port: u16, workers: u32, users: u32, run_time: &str) -> Proc {
    master_at(&t.url, t.dir.path(), port, workers, users, run_time)
}

fn master_at(url: &str, dir: &std::path::Path, port: u16, workers: u32, users: u32, run_time: &str) -> Proc {
    let csv = dir.join("lc");
    let p = master_proc(url, dir, port, workers, users, run_time, &csv);
    // Workers wait for a master only --master-timeout: start them once it listens.
    let end = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    p
}

fn master_proc(
    url: &str,
    dir: &std::path::Path,
    port: u16,
    workers: u32,
    users: u32,
    run_time: &str,
    csv: &std::path::Path,
) -> Proc {
    Proc(
        Command::new(locust_venv().join("bin/locust"))
            .args(["-f", repo().join("scripts/locust/locustfile.py").to_str().unwrap()])
            .args([
                "--master",
                "--headless",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                &port.to_string(),
            ])
            .args([
                "--expect-workers",
                &workers.to_string(),
                "-u",
                &users.to_string(),
                "-r",
                "20",
                "-t",
                run_time,
                "--host",
                url,
            ])
            .args(["--csv", csv.to_str().unwrap(), "--only-summary"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("master.log")).unwrap())
            .spawn()
            .unwrap(),
    )
}

fn worker(port: u16, name: &str, extra: &[&str]) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .env_remove("WORKER_OFFSET")
            .args([
                "worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                &port.to_string(),
                "--node-id",
                name,
            ])
            .args([
                "--segment-interval",
                "1s",
                "--flush-every",
                "1s",
                "--segment-size",
                "8K",
                "--every",
                "heartbeat=1s",
                "--every",
                "screenshot=2s",
                "--stop-timeout",
                "5s",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Waits for a process, at most `limit`; `None` on time-out.
fn wait(p: &mut Proc, limit: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(s) = p.0.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn output(p: &mut Proc) -> String {
    use std::io::Read;
    let mut s = String::new();
    p.0.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    p.0.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

/// The headless master's `--csv` stats file and its Aggregated row's fields.
fn master_csv(t: &Target) -> (String, Vec<String>) {
    let csv = std::fs::read_to_string(t.dir.path().join("lc_stats.csv")).unwrap();
    let agg = csv
        .lines()
        .find(|l| l.starts_with(",Aggregated"))
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    (csv, agg)
}

fn ids(t: &Target) -> verify::report::ids::IdsReport {
    let out = Command::new(verify_bin())
        .args(["ids", "--log", &t.log(), "--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_real_master_drives_two_workers_and_every_id_is_unique() {
    let t = Target::start();
    t.setup(40);
    let port = free_port();
    let mut m = master(&t, port, 2, 40, "15s");
    let runs = t.dir.path().join("runs");
    let runs_arg = runs.to_str().unwrap();
    let mut w1 = worker(port, "loadgen-a", &["--run-reports", &format!("{runs_arg}/a")]);
    let mut w2 = worker(port, "loadgen-b", &["--run-reports", &format!("{runs_arg}/b")]);
    let status = wait(&mut m, Duration::from_secs(90)).expect("the master ends its run");
    assert!(
        status.success(),
        "master exit {status:?}: {}",
        std::fs::read_to_string(t.dir.path().join("master.log")).unwrap()
    );
    for w in [&mut w1, &mut w2] {
        assert!(
            wait(w, Duration::from_secs(30))
                .expect("the worker quits with the master")
                .success()
        );
        let out = output(w);
        assert!(
            out.contains("joined the master as index") && out.contains("PASS"),
            "{out}"
        );
    }
    let (csv, agg) = master_csv(&t);
    let (requests, failures): (u64, u64) = (agg[2].parse().unwrap(), agg[3].parse().unwrap());
    let median: f64 = agg[4].parse().unwrap();
    assert!(requests > 200, "{csv}");
    assert_eq!(failures, 0, "{csv}");
    assert!(median > 0.0 && median < 1000.0, "sensible percentiles: {csv}");
    // Every task of the scenario under its own name.
    for name in ["login", "heartbeat", "screenshot", "recording", "logout"] {
        assert!(csv.contains(&format!("POST,{name},")), "{csv}");
    }
    // Each worker's report of the one run: its own block and students.
    let mut blocks = Vec::new();
    for w in ["a", "b"] {
        let run: loadgen::report::RunReport =
            serde_json::from_slice(&std::fs::read(runs.join(w).join("run-1.json")).unwrap()).unwrap();
        assert_eq!(run.students.logged_in, 20, "{w}: {:?}", run.students);
        assert!(run.total.requests > 100, "{w}: {}", run.total.requests);
        blocks.push(run.id_range.split(' ').next().unwrap().to_string());
        assert!(!runs.join(w).join("run-2.json").exists(), "one run, one report");
    }
    blocks.sort();
    assert_eq!(blocks, ["test_00001..test_00020", "test_00021..test_00040"]);
    let r = ids(&t);
    assert_eq!((r.summary.distinct_ids, r.summary.duplicated_ids), (40, 0));
    let expected: Vec<String> = (1..=40).map(|n| format!("test_{n:05}")).collect();
    assert_eq!(r.logins.iter().map(|l| l.id.clone()).collect::<Vec<_>>(), expected);
}

#[test]
fn a_killed_worker_is_dropped_and_no_id_is_reused() {
    let t = Target::start();
    // Users moved off a dead worker take IDs just above the population (21, 22, …): enrol them too.
    t.setup(20 + 20);
    let port = free_port();
    let mut m = master(&t, port, 2, 20, "14s");
    let mut w1 = worker(port, "loadgen-keep", &[]);
    let mut w2 = worker(port, "loadgen-kill", &[]);
    std::thread::sleep(Duration::from_secs(6));
    w2.0.kill().unwrap();
    let _ = w2.0.wait();
    wait(&mut m, Duration::from_secs(90)).expect("the master ends its run");
    assert!(
        wait(&mut w1, Duration::from_secs(30))
            .expect("the survivor quits with the master")
            .success()
    );
    let log = std::fs::read_to_string(t.dir.path().join("master.log")).unwrap();
    assert!(log.contains("missing"), "the master noticed the dead worker:\n{log}");
    let r = ids(&t);
    assert_eq!(r.summary.duplicated_ids, 0, "no ID reused: {:?}", r.duplicates);
    assert_eq!(r.summary.distinct_ids, 20);
}

#[test]
fn when_the_master_dies_the_worker_exits_with_a_report() {
    let t = Target::start();
    t.setup(4);
    let port = free_port();
    let mut m = master(&t, port, 1, 4, "60s");
    let mut w = worker(
        port,
        "loadgen-orphan",
        &[
            "--master-timeout",
            "3s",
            "--json",
            t.dir.path().join("w.json").to_str().unwrap(),
        ],
    );
    std::thread::sleep(Duration::from_secs(6));
    m.0.kill().unwrap();
    let _ = m.0.wait();
    // Bounded, not timed: `wait` gives up after 30 s and the test fails there.
    let status = wait(&mut w, Duration::from_secs(30)).expect("the worker gives up on its own within 30 s");
    let out = output(&mut w);
    // Issue 27: the master's loss cut the run short: INTERRUPTED, exit 3.
    assert_eq!(status.code(), Some(3), "{out}");
    assert!(out.contains("master is gone") && out.contains("students:"), "{out}");
    assert!(
        out.contains("INTERRUPTED: ") && out.contains("(the master's loss after"),
        "{out}"
    );
    let report: loadgen::report::RunReport =
        serde_json::from_slice(&std::fs::read(t.dir.path().join("w.json")).unwrap()).unwrap();
    assert!(
        report.interrupted && report.verdict == "interrupted",
        "{}",
        report.verdict
    );
    assert!(
        report.students.logged_in >= 1 && report.total.requests > 0,
        "{out}\n{}",
        std::fs::read_to_string(t.dir.path().join("master.log")).unwrap()
    );
}

/// Users stuck on a server that never answers are abandoned at the stop
/// timeout, and that fails the worker's report, as it fails `loadgen run`.
#[test]
fn worker_users_abandoned_at_the_stop_fail_the_workers_report() {
    let (http, _) = hung::serve(|path| (path == "/login").then(|| r#"{"token":"t"}"#.to_string()));
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, hung::SCENARIO).unwrap();
    let json = dir.path().join("w.json");
    let port = free_port();
    let mut m = master_at(&format!("http://127.0.0.1:{http}"), dir.path(), port, 1, 3, "4s");
    let mut w = Proc(
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                &port.to_string(),
            ])
            .args(["--node-id", "loadgen-stuck", "--scenario", scenario.to_str().unwrap()])
            .args(["--stop-timeout", "500ms", "--json", json.to_str().unwrap()])
            .args(["--ledger", dir.path().join("w.ndjson").to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait(&mut m, Duration::from_secs(90)).expect("the master ends its run");
    let status = wait(&mut w, Duration::from_secs(30)).expect("the worker quits with the master");
    let out = output(&mut w);
    assert_eq!(status.code(), Some(1), "{out}");
    let r: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(r.verdict, "fail", "{out}");
    let ended: Vec<&str> = r.students.ended_abnormally.iter().map(|a| a.why.as_str()).collect();
    assert_eq!(ended, ["abandoned after --stop-timeout"; 3], "{out}");
    // The worker's ledger says the same, and ends with its end record.
    let ledger = std::fs::read_to_string(dir.path().join("w.ndjson")).unwrap();
    let lines: Vec<serde_json::Value> = ledger.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.first().unwrap()["kind"], "run");
    assert_eq!(lines.last().unwrap()["kind"], "end");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["kind"] == "login" && l["failure"].is_null())
            .count(),
        3,
        "{ledger}"
    );
    assert_eq!(lines.iter().filter(|l| l["kind"] == "ended").count(), 3, "{ledger}");
}

/// A worker under a real master loads a server over HTTPS (nginx with a
/// throw-away CA in front of the target): the host comes from the master, the
/// trust anchor from `--cacert`; every request is counted by both sides.
#[test]
fn a_worker_under_the_master_loads_an_https_server() {
    let t = Target::start();
    t.setup(6);
    let proxy = support::tls::Proxy::start(&t.url);
    let port = free_port();
    let mut m = master_at(&proxy.url, t.dir.path(), port, 1, 6, "8s");
    let json = t.dir.path().join("w.json");
    let mut w = worker(
        port,
        "loadgen-tls",
        &["--cacert", &proxy.file("ca.pem"), "--json", json.to_str().unwrap()],
    );
    let status = wait(&mut m, Duration::from_secs(90)).expect("the master ends its run");
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(t.dir.path().join("master.log")).unwrap()
    );
    let ws = wait(&mut w, Duration::from_secs(30)).expect("the worker quits with the master");
    let out = output(&mut w);
    assert!(ws.success(), "{out}");
    let r: loadgen::report::RunReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let tls = r.tls.as_ref().expect("TLS figures in the report of an https:// host");
    assert!(tls.handshakes >= 1 && !tls.insecure, "{tls:?}");
    assert_eq!((r.students.logged_in, r.total.failures), (6, 0), "{out}");
    assert!(r.total.requests > 20, "{out}");
    let (csv, agg) = master_csv(&t);
    assert_eq!(agg[3], "0", "no failure at the master either: {csv}");
    let ids = ids(&t);
    assert_eq!((ids.summary.distinct_ids, ids.summary.duplicated_ids), (6, 0));
}

/// The users' guide's master: its web UI, no `--expect-workers` (Locust only
/// honours that headless), driven over HTTP as the browser does.
struct WebMaster {
    proc: Proc,
    web: u16,
    port: u16,
}

impl WebMaster {
    fn start(dir: &std::path::Path, extra: &[&str]) -> WebMaster {
        let (port, web) = (free_port(), free_port());
        let proc = Proc(
            Command::new(locust_venv().join("bin/locust"))
                .args(["-f", repo().join("scripts/locust/locustfile.py").to_str().unwrap()])
                .args(["--master", "--web-host", "127.0.0.1", "--web-port", &web.to_string()])
                .args([
                    "--master-bind-host",
                    "127.0.0.1",
                    "--master-bind-port",
                    &port.to_string(),
                ])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("master.log")).unwrap())
                .spawn()
                .unwrap(),
        );
        WebMaster { proc, web, port }
    }

    /// `curl` against the web UI; the body, or `None` when it does not answer.
    fn http(&self, args: &[&str], path: &str) -> Option<String> {
        let out = Command::new("curl")
            .args(["-fsS", "--max-time", "10"])
            .args(args)
            .arg(format!("http://127.0.0.1:{}{path}", self.web))
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).to_string())
    }

    fn stats(&self) -> serde_json::Value {
        self.http(&[], "/stats/requests")
            .and_then(|b| serde_json::from_str(&b).ok())
            .unwrap_or_default()
    }

    /// Polls the master's `/stats/requests` until `pred` holds, at most `limit`.
    fn until(&self, what: &str, limit: Duration, pred: impl Fn(&serde_json::Value) -> bool) {
        let end = Instant::now() + limit;
        loop {
            let s = self.stats();
            if pred(&s) {
                return;
            }
            assert!(Instant::now() < end, "{what}: not within {limit:?}; last stats {s}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn workers(s: &serde_json::Value, state: &str) -> usize {
        s["workers"]
            .as_array()
            .map_or(0, |w| w.iter().filter(|w| w["state"] == state).count())
    }

    fn swarm(&self, users: u32, host: &str) {
        let body = self
            .http(
                &[
                    "-d",
                    &format!("user_count={users}"),
                    "-d",
                    "spawn_rate=20",
                    "-d",
                    &format!("host={host}"),
                ],
                "/swarm",
            )
            .expect("POST /swarm answers");
        assert!(
            body.contains("\"success\": true") || body.contains("\"success\":true"),
            "{body}"
        );
    }

    /// SIGTERM, as Ctrl-C: the master sends every worker `quit` and exits.
    fn quit(mut self) {
        let pid = self.proc.0.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        wait(&mut self.proc, Duration::from_secs(30)).expect("the master exits on SIGTERM");
    }

    fn stop(&self) {
        self.http(&["-X", "POST"], "/stop").expect("POST /stop answers");
        self.until("the master stopped", Duration::from_secs(60), |s| {
            s["state"] == "stopped"
        });
    }
}

/// Logins per student ID in the target's log.
fn logins_per_id(t: &Target) -> std::collections::BTreeMap<u64, usize> {
    ids(t)
        .logins
        .iter()
        .map(|l| (l.id.trim_start_matches("test_").parse().unwrap(), l.events.len()))
        .collect()
}

/// Polls the target's log until `n` distinct students logged in, at most 60 s.
fn until_logins(t: &Target, n: usize) -> std::collections::BTreeMap<u64, usize> {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let l = logins_per_id(t);
        if l.len() >= n || Instant::now() > end {
            return l;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Issue 25: the guide's own master (web UI, no --expect-workers), two
/// workers joined 3 s apart, 20 users from the web UI: the server sees
/// exactly test_00001..test_00020, one login each.
#[test]
fn the_guides_master_hands_two_late_joined_workers_the_whole_population() {
    let t = Target::start();
    t.setup(20);
    let m = WebMaster::start(t.dir.path(), &[]);
    let runs = t.dir.path().join("runs");
    let mut w1 = worker(
        m.port,
        "loadgen-first",
        &["--run-reports", runs.join("a").to_str().unwrap()],
    );
    std::thread::sleep(Duration::from_secs(3));
    let mut w2 = worker(
        m.port,
        "loadgen-second",
        &["--run-reports", runs.join("b").to_str().unwrap()],
    );
    m.until("2 workers ready", Duration::from_secs(60), |s| {
        WebMaster::workers(s, "ready") == 2
    });
    m.swarm(20, &t.url);
    let seen = until_logins(&t, 20);
    std::thread::sleep(Duration::from_secs(3));
    m.stop();
    let seen_after = logins_per_id(&t);
    assert_eq!(seen, seen_after, "no login after the 20");
    let expected: std::collections::BTreeMap<u64, usize> = (1..=20).map(|n| (n, 1)).collect();
    assert_eq!(seen_after, expected, "exactly test_00001..test_00020, one login each");
    m.quit();
    let mut blocks = Vec::new();
    for (w, dir) in [(&mut w1, "a"), (&mut w2, "b")] {
        let _ = wait(w, Duration::from_secs(30));
        let out = output(w);
        assert!(
            out.contains("from the master"),
            "the worker says whose IDs it uses: {out}"
        );
        assert!(!out.contains("outside"), "no ID outside the population: {out}");
        let run: loadgen::report::RunReport =
            serde_json::from_slice(&std::fs::read(runs.join(dir).join("run-1.json")).unwrap()).unwrap();
        assert_eq!(run.students.logged_in, 10, "{dir}: {out}");
        assert!(
            run.ids_outside_population.is_empty(),
            "{:?}",
            run.ids_outside_population
        );
        blocks.push(run.id_range.split(' ').next().unwrap().to_string());
    }
    blocks.sort();
    assert_eq!(blocks, ["test_00001..test_00010", "test_00011..test_00020"]);
}

/// Issue 25: three workers, 60 users, one killed with --enable-rebalancing:
/// every ID unique, the moved users' IDs above 60 and at most 20 above it;
/// a new swarm after a stop reuses 1..60.
#[test]
fn a_dead_workers_users_move_to_fresh_ids_just_above_the_population() {
    let t = Target::start();
    t.setup(80);
    let m = WebMaster::start(t.dir.path(), &["--enable-rebalancing"]);
    let runs = t.dir.path().join("runs");
    let run_dir = |w: &str| runs.join(w).to_str().unwrap().to_string();
    let mut w1 = worker(m.port, "loadgen-w1", &["--run-reports", &run_dir("w1")]);
    let mut w2 = worker(m.port, "loadgen-w2", &["--run-reports", &run_dir("w2")]);
    let mut w3 = worker(m.port, "loadgen-w3", &[]);
    m.until("3 workers ready", Duration::from_secs(60), |s| {
        WebMaster::workers(s, "ready") == 3
    });
    m.swarm(60, &t.url);
    let first = until_logins(&t, 60);
    assert_eq!(first.keys().copied().collect::<Vec<_>>(), (1..=60).collect::<Vec<_>>());
    w3.0.kill().unwrap();
    let _ = w3.0.wait();
    let moved = until_logins(&t, 80);
    std::thread::sleep(Duration::from_secs(2));
    m.stop();
    let after = logins_per_id(&t);
    assert_eq!(moved, after, "no login after the 20 moved users");
    assert!(after.values().all(|&n| n == 1), "every ID logged in once: {after:?}");
    let above: Vec<u64> = after.keys().copied().filter(|&n| n > 60).collect();
    assert_eq!(
        above,
        (61..=80).collect::<Vec<_>>(),
        "the moved users: just above the population"
    );
    let log = std::fs::read_to_string(t.dir.path().join("master.log")).unwrap();
    assert!(log.contains("missing"), "the master noticed the dead worker:\n{log}");
    // A new swarm after the stop is a new run: 1..60 again, nothing above.
    m.swarm(60, &t.url);
    let end = Instant::now() + Duration::from_secs(60);
    while logins_per_id(&t).values().filter(|&&n| n == 2).count() < 60 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2));
    m.stop();
    let second = logins_per_id(&t);
    let twice: Vec<u64> = second.iter().filter(|(_, n)| **n == 2).map(|(k, _)| *k).collect();
    assert_eq!(twice, (1..=60).collect::<Vec<_>>(), "run 2 reused 1..60: {second:?}");
    assert_eq!(second.len(), 80, "and nothing above 80: {second:?}");
    m.quit();
    for w in [&mut w1, &mut w2] {
        let _ = wait(w, Duration::from_secs(30));
        let out = output(w);
        assert!(
            out.contains("outside the run's population test_00001..test_00060: test_000"),
            "one warning names the range: {out}"
        );
    }
    let outside: Vec<String> = ["w1", "w2"]
        .iter()
        .flat_map(|w| {
            let run: loadgen::report::RunReport =
                serde_json::from_slice(&std::fs::read(runs.join(w).join("run-1.json")).unwrap()).unwrap();
            run.ids_outside_population
        })
        .collect();
    assert!(
        !outside.is_empty() && outside.iter().all(|r| r.contains("test_000")),
        "{outside:?}"
    );
}

/// The `kind` of every line of a ledger.
fn ledger_kinds(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Polls a worker's ledger until it holds `sections` sections closed by `run_end`, at most 20 s.
fn until_run_ends(path: &std::path::Path, sections: usize) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let k = ledger_kinds(path);
        if k.iter().filter(|k| *k == "run_end").count() >= sections || Instant::now() > end {
            return k;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Issue 27: after a clean Stop in the web UI, with the workers still
/// connected, every worker's ledger (the idle one's too) closes the run's
/// section with `run_end`, and the gate reads both ledgers as complete.
#[test]
fn every_workers_ledger_is_complete_at_each_stop_from_the_master() {
    let t = Target::start();
    t.setup(2);
    let m = WebMaster::start(t.dir.path(), &[]);
    let ledger = |w: &str| t.dir.path().join(format!("{w}.ndjson"));
    let (la, lb) = (ledger("a"), ledger("b"));
    let mut wa = worker(m.port, "loadgen-a", &["--ledger", la.to_str().unwrap()]);
    let mut wb = worker(m.port, "loadgen-b", &["--ledger", lb.to_str().unwrap()]);
    m.until("2 workers ready", Duration::from_secs(60), |s| {
        WebMaster::workers(s, "ready") == 2
    });
    // One user: one worker runs it, the other stays idle.
    m.swarm(1, &t.url);
    until_logins(&t, 1);
    std::thread::sleep(Duration::from_secs(3));
    m.stop();
    let (ka, kb) = (until_run_ends(&la, 1), until_run_ends(&lb, 1));
    for k in [&ka, &kb] {
        assert_eq!(
            (k.first().map(String::as_str), k.last().map(String::as_str)),
            (Some("run"), Some("run_end")),
            "{k:?}"
        );
        assert!(!k.contains(&"end".to_string()), "the worker stays: {k:?}");
    }
    let logins = |k: &[String]| k.iter().filter(|k| *k == "login").count();
    assert_eq!(logins(&ka) + logins(&kb), 1, "{ka:?} {kb:?}");
    // The audit, with the workers still waiting for the next run.
    let out = Command::new(verify_bin())
        .args([
            "gate",
            "--log",
            &t.log(),
            "--dir",
            &t.data(),
            "--expect",
            "test_00001..test_00001",
        ])
        .args([
            "--ledger",
            la.to_str().unwrap(),
            "--ledger",
            lb.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let r: verify::report::gate::GateReport =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let l = r.cross.as_ref().unwrap().ledger.as_ref().unwrap();
    assert!(l.files.len() == 2 && l.files.iter().all(|f| f.complete), "{l:?}");
    assert!(
        !l.rows
            .iter()
            .any(|x| x.kind == verify::report::gate::CrossKind::LedgerIncomplete),
        "{:?}",
        l.rows
    );
    // A second run: a section of its own in each ledger, closed at its stop.
    m.swarm(1, &t.url);
    std::thread::sleep(Duration::from_secs(3));
    m.stop();
    for p in [&la, &lb] {
        let k = until_run_ends(p, 2);
        let marks: Vec<&str> = k
            .iter()
            .map(String::as_str)
            .filter(|k| ["run", "run_end", "end"].contains(k))
            .collect();
        assert_eq!(marks, ["run", "run_end", "run", "run_end"], "{k:?}");
    }
    m.quit();
    for (w, p) in [(&mut wa, &la), (&mut wb, &lb)] {
        assert!(
            wait(w, Duration::from_secs(30)).is_some_and(|s| s.success()),
            "{}",
            output(w)
        );
        assert_eq!(
            ledger_kinds(p).last().map(String::as_str),
            Some("run_end"),
            "no empty section at the quit"
        );
    }
}

/// The master's ID book (scripts/locust/locustfile.py) against Locust's own
/// dispatcher, without a master: a paced ramp fills one block per worker; a
/// worker lost during the ramp leaves its unstarted block to the others;
/// users moved after the ramp take numbers just above the population.
#[test]
fn the_masters_book_follows_locusts_dispatcher() {
    let script = r#"
import locustfile as lf
from locust.runners import WorkerNode
sent = []
class Runner:
    def send_message(self, kind, data, worker):
        assert kind == "loadgen_ids" and data["version"] == 1
        sent.append((worker, data["ids"]["StudentUser"], data["population"]))
lf.BOOK.runner = Runner()
def last(workers):
    return {w: r for w, r, _ in sent[-workers:]}
a, b, c = WorkerNode("b_1"), WorkerNode("a_2"), WorkerNode("c_3")
d = lf.IdDispatcher([a, b], [lf.StudentUser])
lf.BOOK.new_run()
d.new_dispatch(20, 200)  # 20 users, one step
for _ in d: pass
assert last(2) == {"a_2": [[1, 10]], "b_1": [[11, 20]]}, sent
# A new run: 3 workers, 30 users ramped 5 at a time; c_3 lost after two steps.
sent.clear()
d = lf.IdDispatcher([a, b, c], [lf.StudentUser])
lf.BOOK.new_run()
d.new_dispatch(30, 1000)
d._user_count_per_dispatch_iteration = 5
it = iter(d)
next(it); next(it)
assert last(3)["c_3"] == [[21, 23]], sent
d.remove_worker(c)
for _ in it: pass
got = last(2)
numbers = sorted(n for r in got.values() for a_, b_ in r for n in range(a_, b_ + 1))
assert numbers == [n for n in range(1, 31) if n not in (21, 22, 23)] + [31, 32, 33], got
print("ok")
"#;
    let out = Command::new(locust_venv().join("bin/python"))
        .args(["-c", script])
        .current_dir(repo().join("scripts/locust"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("ok"), "{text}");
}
