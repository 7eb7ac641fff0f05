//! Issue 16: loadgen against servers as deployed. The reference target
//! behind a real nginx (Debian's) terminating TLS with a certificate from a
//! throw-away CA (scripts/tls-proxy.sh), and the target keeping students in
//! Flask's session cookie (TARGET_SESSION=1).

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use support::tls::Proxy;
use support::{Target, verify_bin};

fn loadgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .env_remove("WORKER_OFFSET")
        .output()
        .unwrap()
}

/// `loadgen run` with short intervals; returns (exit code, report, stdout).
fn run(host: &str, json: &PathBuf, extra: &[&str]) -> (i32, loadgen::report::RunReport, String) {
    let mut args = vec![
        "run",
        "--host",
        host,
        "--spawn-rate",
        "50",
        "--segments",
        "3",
        "--segment-interval",
        "400ms",
        "--segment-size",
        "4K",
        "--every",
        "heartbeat=300ms",
        "--every",
        "screenshot=500ms",
        "--login-retries",
        "0",
        "--retries",
        "0",
        "--json",
    ];
    args.push(json.to_str().unwrap());
    args.extend_from_slice(extra);
    let out = loadgen(&args);
    let report = serde_json::from_slice(&std::fs::read(json).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (
        out.status.code().unwrap(),
        report,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn https_with_the_ca_is_clean_a_wrong_ca_fails_as_tls_and_insecure_is_said() {
    let t = Target::start();
    let p = Proxy::start(&t.url);
    let setup = loadgen(&[
        "setup",
        "--host",
        &p.url,
        "--students",
        "20",
        "--cacert",
        &p.file("ca.pem"),
    ]);
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stdout));
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("r.json");

    let (code, r, out) = run(&p.url, &json, &["--students", "10", "--cacert", &p.file("ca.pem")]);
    assert_eq!(code, 0, "{out}");
    assert_eq!((r.total.failures, r.students.segments_uploaded), (0, 30), "{out}");
    let tls = r.tls.expect("an https run reports its handshakes");
    assert!(tls.handshakes >= 1 && !tls.insecure && tls.p50_ms > 0.0, "{tls:?}");
    let gate = Command::new(verify_bin())
        .args([
            "gate",
            "--log",
            &t.log(),
            "--dir",
            &t.data(),
            "--expect",
            "test_00001..test_00010",
        ])
        .args(["--expect-segments", "3"])
        .output()
        .unwrap();
    assert_eq!(gate.status.code(), Some(0), "{}", String::from_utf8_lossy(&gate.stdout));

    let (code, r, out) = run(&p.url, &json, &["--students", "5", "--cacert", &p.file("other-ca.pem")]);
    assert_eq!(code, 1);
    assert!(r.total.requests > 0 && r.total.failures == r.total.requests, "{out}");
    assert_eq!(r.total.failure_kinds.keys().collect::<Vec<_>>(), ["tls"], "{out}");
    assert!(
        out.contains("failed the TLS handshake") && out.contains("--cacert"),
        "{out}"
    );

    let (code, r, out) = run(&p.url, &json, &["--students", "5", "--first-id", "11", "--insecure"]);
    assert_eq!(code, 0, "{out}");
    assert!(r.tls.unwrap().insecure);
    assert!(out.contains("WARNING: --insecure"), "{out}");
}

#[test]
fn each_student_keeps_its_own_session_cookie() {
    let t = Target::start_with(&[("TARGET_SESSION", "1")]);
    t.setup(60);
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("r.json");
    let (code, r, out) = run(&t.url, &json, &["--students", "50"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(r.students.segments_uploaded, 150, "{out}");
    // Every upload in its own student's folder: no foreign file, no gap.
    let seq = Command::new(verify_bin())
        .args([
            "seq",
            "--dir",
            &t.data(),
            "--expect",
            "test_00001..test_00050",
            "--expect-segments",
            "3",
        ])
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&seq.stdout).unwrap();
    let f = &v["summary"]["findings"];
    assert_eq!(
        (f["foreign"].as_u64(), f["gap"].as_u64()),
        (Some(0), Some(0)),
        "{}",
        v["summary"]
    );
    assert_eq!(seq.status.code(), Some(0), "{}", v["summary"]);

    // Without cookies the server refuses every upload: counted, not hidden.
    let (code, r, out) = run(&t.url, &json, &["--students", "5", "--first-id", "51", "--no-cookies"]);
    assert_eq!(code, 1, "{out}");
    let refused = r.total.failure_kinds.get("http 401").copied().unwrap_or(0);
    let uploads: u64 = r
        .endpoints
        .iter()
        .filter(|e| e.name == "recording" || e.name == "screenshot")
        .map(|e| e.requests)
        .sum();
    assert!(uploads > 0 && refused == uploads, "{refused} of {uploads}: {out}");
}
