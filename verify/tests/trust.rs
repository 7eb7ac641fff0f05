//! Issue 13: hostile and odd input never makes `verify` crash, lie or grow
//! without bound. One test per item, each building its input in a temp dir.

mod support;

use std::fs;

use support::verify;

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

/// Item 4: a time zone with a multibyte character is not a time zone, not a crash.
#[test]
fn multibyte_time_zone_is_no_crash() {
    let d = tempfile::tempdir().unwrap();
    let log = write(
        d.path(),
        "g.log",
        b"[2025-11-23 18:00:00 +0\xc3\xa91] [1] [INFO] \xe7\x99\xbb\xe5\xbd\x95\xe6\x88\x90\xe5\x8a\x9f student_id=test_00001 ip=1.2.3.4\n",
    );
    for args in [
        vec!["ids", "--log", &log],
        vec!["merge", "--log", &log],
        vec!["gate", "--log", &log],
    ] {
        let r = verify(&args);
        assert!(r.code == 0 || r.code == 1, "{args:?}: exit {} {}", r.code, r.stderr);
    }
    let r = verify(&["ids", "--log", &log, "--format", "json"]);
    assert!(r.stdout.contains("test_00001"), "{}", r.stdout);
}

/// Item 7: a `--pattern` whose `id` group is optional and did not match is a
/// malformed line, not a panic.
#[test]
fn optional_id_group_that_did_not_match_is_malformed() {
    let d = tempfile::tempdir().unwrap();
    let log = write(
        d.path(),
        "g.log",
        "login ok user=test_00001\nlogin ok user=\n".as_bytes(),
    );
    let r = verify(&[
        "ids",
        "--log",
        &log,
        "--pattern",
        r"login ok user=(?P<id>test_\d+)?",
        "--format",
        "json",
    ]);
    assert!(r.code == 0 || r.code == 1, "exit {}: {}", r.code, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["summary"]["login_events"], 1);
    assert_eq!(v["summary"]["malformed"], 1);
}
