//! The real `loadgen` binary on bad input, without a server: a bad scenario
//! exits 2 naming its file, line and key; flags that need a sequenced task
//! are refused on a scenario without one.

use std::process::Command;

fn loadgen(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen")).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_bad_scenario_exits_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown.toml",
            "version = 2\n[login]\npath = \"/l\"\nsurprise = 1\n",
            "line 4",
            "unknown field `surprise`",
        ),
        (
            "two.toml",
            "version = 2\n[login]\npath = \"/l\"\n[[task]]\nname = \"a\"\nevery = \"1s\"\npath = \"/a\"\nsequenced = true\n[[task]]\nname = \"b\"\nevery = \"1s\"\npath = \"/b\"\nsequenced = true\n",
            "line 13",
            "key `task.b.sequenced`",
        ),
        (
            "undefined.toml",
            "version = 2\n[login]\npath = \"/l\"\n[[task]]\nname = \"a\"\nevery = \"1s\"\npath = \"/a/{exam_id}\"\n",
            "line 7",
            "undefined template {exam_id}",
        ),
        (
            "duration.toml",
            "version = 2\n[login]\npath = \"/l\"\n[[task]]\nname = \"a\"\nevery = \"soon\"\npath = \"/a\"\n",
            "line 6",
            "key `task.a.every`",
        ),
        (
            "v1.toml",
            "exam_id = \"30\"\n[login]\npath = \"/l\"\n",
            "key `version`",
            "CHANGELOG",
        ),
    ];
    for (name, text, line, what) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        let (code, out) = loadgen(&[
            "run",
            "--host",
            "http://127.0.0.1:9",
            "--students",
            "1",
            "--run-time",
            "1s",
            "--scenario",
            p,
        ]);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(
            out.contains(p) && out.contains(line) && out.contains(what),
            "{name}: {out}"
        );
    }
}

#[test]
fn sequenced_flags_need_a_sequenced_task_and_every_needs_a_known_task() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("beat.toml");
    std::fs::write(
        &path,
        "version = 2\n[login]\npath = \"/l\"\n[[task]]\nname = \"beat\"\nevery = \"1s\"\npath = \"/b\"\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let base = [
        "run",
        "--host",
        "http://127.0.0.1:9",
        "--students",
        "1",
        "--scenario",
        p,
    ];
    let (code, out) = loadgen(&[&base[..], &["--segments", "3"]].concat());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--segments applies to the sequenced task"), "{out}");
    let (code, out) = loadgen(&[&base[..], &["--run-time", "1s", "--every", "nope=1s"]].concat());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no task named 'nope'") && out.contains("beat"), "{out}");
}

#[test]
fn the_builtin_scenario_is_printed_and_parses_back() {
    let (code, out) = loadgen(&["scenario"]);
    assert_eq!(code, 0);
    let s = loadgen::scenario::Scenario::parse(&out, "printed", &Default::default()).unwrap();
    assert_eq!(s.tasks.len(), 3);
}

#[test]
fn completions_and_man_pages() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("_loadgen()") && text.contains("worker"), "{text}");
    let d = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["man", d.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for page in ["loadgen.1", "loadgen-run.1", "loadgen-worker.1"] {
        assert!(d.path().join(page).is_file(), "{page}");
    }
}
