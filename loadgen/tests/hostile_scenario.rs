//! Issue 24 against loadgen's scenario compiler and its flags, through the
//! real binary: huge durations, `--var` and `--every` as a careless or
//! hostile user types them, a sequenced task without its seq, and task names
//! that hold terminal controls. Servers are the small std::net listeners of
//! `support::hung`, on 127.0.0.1.

mod support;

use std::process::Command;

use support::hung::serve;

/// A scenario with a `[vars]` entry in the paths, a sequenced task and a
/// plain one (`TASK` and `EXTRA` are replaced per test).
const SCENARIO: &str = r#"version = 2
[vars]
dir = "d"
[login]
path = "/login/{dir}/end"
[[task]]
name = "rec"
every = "200ms"
sequenced = true
path = "/u/{dir}"
fields = { seq = "{seq}" }
[[task]]
name = "TASK"
every = "100ms"
path = "/beat"
EXTRA
"#;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `loadgen run` of `scenario` against 127.0.0.1:`port` (3 students).
fn run(port: u16, scenario: &str, extra: &[&str]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, scenario).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["run", "--host", &format!("http://127.0.0.1:{port}")])
        .args(["--students", "3", "--spawn-rate", "100", "--scenario"])
        .arg(&path)
        .args(extra)
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn scenario(task: &str, extra: &str) -> String {
    SCENARIO.replace("TASK", task).replace("EXTRA", extra)
}

fn ok_server() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    serve(|_| Some("{}".to_string()))
}

/// A usage error: exit 2 before any request, with `want` on stderr.
fn refused(extra: &[&str], text: &str, want: &str) {
    let o = run(9, text, extra);
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains(want), "want {want:?} in: {}", o.stderr);
}

/// Item 12: a jitter of u64::MAX ms was accepted and every student panicked
/// (remainder by zero); it is refused with the file, line and key.
#[test]
fn a_huge_jitter_is_refused_with_its_line() {
    let text = scenario("beat", "jitter = \"18446744073709551615ms\"");
    refused(
        &["--run-time", "1s"],
        &text,
        "line 16, key `task.beat.jitter`: '18446744073709551615ms' is too long: at most 24h",
    );
    refused(
        &["--run-time", "1s", "--every", "beat=25h"],
        &scenario("beat", ""),
        "--every beat=25h: '25h' is too long: at most 24h",
    );
    refused(
        &["--run-time", "1s", "--segment-interval", "25h"],
        &scenario("beat", ""),
        "--segment-interval 25h: must be above 0 and at most 24h",
    );
}

/// Item 12: the longest accepted durations (a day of every, jitter and
/// offset, on both tasks) run and stop cleanly: no student panics.
#[test]
fn the_longest_accepted_durations_run_without_a_panic() {
    let (port, _) = ok_server();
    let text = scenario("beat", "jitter = \"24h\"\noffset = \"0s\"").replace(
        "every = \"200ms\"",
        "every = \"24h\"\njitter = \"24h\"\noffset = \"0ms\"",
    );
    let o = run(
        port,
        &text,
        &["--run-time", "1s", "--every", "beat=24h", "--segment-interval", "24h"],
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        !o.stdout.contains("panicked") && !o.stdout.contains("ended abnormally"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("3 started, 3 logged in"), "{}", o.stdout);
}

/// Item 16: `--var` values are percent-encoded in paths (`/..`, `?` and `#`
/// went out raw, and `#` dropped the rest of the path); the last one wins.
#[test]
fn var_values_are_encoded_in_paths_and_the_last_wins() {
    let (port, seen) = ok_server();
    let o = run(
        port,
        &scenario("beat", ""),
        &["--segments", "1", "--var", "dir=x", "--var", "dir=/../a?b#c"],
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|p| p == "/login/%2F..%2Fa%3Fb%23c/end"), "{seen:?}");
    assert!(seen.iter().any(|p| p == "/u/%2F..%2Fa%3Fb%23c"), "{seen:?}");
    assert!(!seen.iter().any(|p| p.contains("/x") || p.contains('#')), "{seen:?}");
}

/// Item 16: the last `--every` for a task wins (the first used to): the
/// beat task runs every 100ms, not once a day.
#[test]
fn the_last_every_wins() {
    let (port, seen) = ok_server();
    let o = run(
        port,
        &scenario("beat", ""),
        &["--run-time", "1s", "--every", "beat=24h", "--every", "beat=100ms"],
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let beats = seen.lock().unwrap().iter().filter(|p| *p == "/beat").count();
    assert!(beats >= 3, "{beats} beats:\n{}", o.stdout);
}

/// Item 16: a `--var` the scenario does not declare, or a built-in or
/// captured name, exits 2 naming the flag (it was silently ignored); errors
/// about a flag's value name the flag, not a scenario line.
#[test]
fn bad_var_and_every_flags_exit_2_naming_the_flag() {
    let text = scenario("beat", "");
    fn args<'a>(flag: &'a str, v: &'a str) -> [&'a str; 4] {
        ["--run-time", "1s", flag, v]
    }
    refused(
        &args("--var", "foo=1"),
        &text,
        "loadgen: --var foo=1: the scenario declares no [vars] entry foo (it declares: dir)",
    );
    for name in ["student_id", "n", "seq", "timestamp"] {
        let v = format!("{name}=1");
        refused(
            &args("--var", &v),
            &text,
            &format!("--var {name}=1: {name} is a built-in template name, not a [vars] entry"),
        );
    }
    let captures = text.replace(
        "path = \"/login/{dir}/end\"",
        "path = \"/l\"\ncapture = { tok = \"/t\" }",
    );
    refused(
        &args("--var", "tok=1"),
        &captures,
        "--var tok=1: tok is captured from an answer, not a [vars] entry",
    );
    for (v, want) in [
        ("beat=0s", "loadgen: --every beat=0s: must be above 0"),
        ("beat=soon", "loadgen: --every beat=soon: bad duration"),
        (
            "nope=1s",
            "loadgen: --every nope=1s: the scenario has no task named 'nope' (tasks: rec, beat)",
        ),
    ] {
        let o = run(9, &text, &args("--every", v));
        assert_eq!(o.code, 2, "{}", o.stderr);
        assert!(o.stderr.starts_with(want) && !o.stderr.contains("line"), "{}", o.stderr);
    }
}

/// Item 17: a sequenced task whose templates never send `{seq}` is refused
/// with its line and key (it was accepted).
#[test]
fn a_sequenced_task_without_seq_is_refused() {
    let text = scenario("beat", "").replace("fields = { seq = \"{seq}\" }\n", "");
    refused(
        &["--run-time", "1s"],
        &text,
        "line 9, key `task.rec.sequenced`: a sequenced task sends its seq",
    );
}

/// Item 17: a task name holding ESC and CR is escaped in the table, the
/// lateness lines and the CSV (it went out raw and could rewrite the screen).
#[test]
fn task_names_with_esc_and_cr_are_escaped_in_every_text_output() {
    let (port, _) = ok_server();
    let text = scenario("be\\u001b[2Jat\\r", "");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("out");
    let o = run(port, &text, &["--run-time", "1s", "--csv", csv.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let stats = std::fs::read_to_string(dir.path().join("out_stats.csv")).unwrap();
    for (what, out) in [("stdout", &o.stdout), ("stderr", &o.stderr), ("csv", &stats)] {
        assert!(!out.contains(['\u{1b}', '\r']), "{what} holds ESC or CR: {out:?}");
    }
    assert!(o.stdout.contains("be\\u{1b}[2Jat\\r POST /beat"), "{}", o.stdout);
    assert!(o.stdout.contains("be\\u{1b}[2Jat\\r lateness"), "{}", o.stdout);
    assert!(stats.contains("be\\u{1b}[2Jat\\r"), "{stats}");
}
