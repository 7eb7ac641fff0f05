//! Issue 27, the first hour with `verify seq` and `gate`: two runs on one
//! server audited as two exams (`--exam`, expectations per exam, each
//! finding naming its exam), and the wrong folder refused (exit 2) saying
//! what was looked for and where the layout is. The real binary on trees
//! built in a temp dir.

use std::fs;
use std::path::Path;
use std::process::Command;

fn verify(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `server_data/30` holds students 1-2 (the first run), `server_data/31`
/// students 1-4 (the second); plus the neighbours of a server_data.
fn two_runs(root: &Path) {
    for (exam, n) in [("30", 2), ("31", 4)] {
        for i in 1..=n {
            let id = format!("test_{i:05}");
            let dir = root.join("server_data").join(exam).join("recordings").join(&id);
            fs::create_dir_all(&dir).unwrap();
            for q in 1..=2 {
                fs::write(dir.join(format!("{id}_20251123_18000{q}_seq_000{q}.mp4")), b"x").unwrap();
            }
        }
    }
    for d in ["logs", "run", "broker"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(root.join("logs/gunicorn_access.log"), b"127.0.0.1 - - GET /\n").unwrap();
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn exam_scopes_the_audit_and_each_exam_is_expected_whole() {
    let d = tempfile::tempdir().unwrap();
    two_runs(d.path());
    let sd = s(&d.path().join("server_data"));
    let expect = ["--expect", "test_00001..test_00004"];
    for cmd in ["seq", "gate"] {
        let (code, out, err) =
            verify(&[&[cmd, "--dir", &sd, "--exam", "31"], &expect[..], &["--format", "json"]].concat());
        assert_eq!(code, 0, "{cmd}: {out} {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let seq = if cmd == "seq" { &v } else { &v["seq"] };
        assert_eq!(seq["scanned"]["exams"].as_array().unwrap().len(), 1, "{cmd}");
        assert_eq!(seq["scanned"]["exams"][0]["exam"], "31");
    }
    // Without --exam: both exams seen, each expected whole, findings named by exam.
    let (code, out, _) = verify(&[&["seq", "--dir", &sd], &expect[..]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("2 exams: 30, 31"), "{out}");
    assert!(out.contains("30: 2 student(s), 31: 4 student(s)"), "{out}");
    assert!(out.contains("│ 30   │ test_00003 │ missing_student"), "{out}");
    let (code, _, err) = verify(&["seq", "--dir", &sd, "--exam", "32"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--exam 32: no exam folder") && err.contains("it holds: 30, 31"),
        "{err}"
    );
}

#[test]
fn the_wrong_level_is_refused_saying_where_the_layout_is() {
    let d = tempfile::tempdir().unwrap();
    two_runs(d.path());
    let root = s(d.path());
    for cmd in ["seq", "gate"] {
        let (code, out, err) = verify(&[cmd, "--dir", &root]);
        assert_eq!(code, 2, "{cmd} one level above server_data: {out}");
        assert!(
            err.contains("server_data/ is inside") && err.contains(&format!("did you mean --dir {root}/server_data?")),
            "{err}"
        );
        let (code, _, err) = verify(&[cmd, "--dir", &format!("{root}/logs")]);
        assert_eq!(code, 2);
        assert!(err.contains("has no recordings layout: looked for"), "{err}");
        let student = format!("{root}/server_data/31/recordings/test_00002");
        let (code, _, err) = verify(&[cmd, "--dir", &student]);
        assert_eq!(code, 2);
        assert!(
            err.contains("one student's folder (test_00002") && err.contains(&format!("--dir {root}/server_data/31")),
            "{err}"
        );
    }
}

/// Errors that say what to do: a mistyped path is `not found`, a folder
/// given as a log `is a directory`, a missing `--dir` said once, a dashed
/// range refused with the dotted one, a percentage taken as a ratio.
#[test]
fn errors_say_what_to_do() {
    let d = tempfile::tempdir().unwrap();
    two_runs(d.path());
    let root = s(d.path());
    let sd = format!("{root}/server_data");
    let (code, out, _) = verify(&["ids", "--log", &format!("{root}/logs/gunicorn_acess.log")]);
    assert_eq!(code, 2);
    assert!(out.contains("gunicorn_acess.log: not found"), "{out}");
    let (code, out, _) = verify(&["ids", "--log", &format!("{root}/logs")]);
    assert_eq!(code, 2);
    assert!(out.contains("logs: is a directory: give the files in it"), "{out}");
    for cmd in ["seq", "gate"] {
        let (code, _, err) = verify(&[cmd, "--dir", &format!("{root}/server_dat")]);
        assert_eq!(code, 2);
        assert_eq!(
            err.trim_end(),
            format!("verify: --dir {root}/server_dat: not found"),
            "{cmd}"
        );
    }
    let (code, _, err) = verify(&["seq", "--dir", &sd, "--expect", "test_00001-test_00040"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean test_00001..test_00040?"), "{err}");
    let (code, out, err) = verify(&["gate", "--dir", &sd, "--max-missing-ratio", "5%", "--format", "json"]);
    assert_eq!(code, 0, "{out} {err}");
}
