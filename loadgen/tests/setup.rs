//! `loadgen setup` against small scripted servers (issue 26 item 6, issue
//! 27 item 3): the exam's window in the server's time, and what it requested.

mod support;

use std::process::{Command, Output};

use chrono::{Duration, NaiveDateTime, Utc};
use support::fake::Fake;

const WALL: &str = "%Y-%m-%d %H:%M:%S";

fn setup(args: &[&str]) -> (Output, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("setup")
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    (out, so, se)
}

/// The form fields of the request that created the exam.
fn exam_fields(f: &Fake) -> std::collections::BTreeMap<String, String> {
    let seen = f.seen();
    let create = seen
        .iter()
        .find(|s| s.path.ends_with("/exams"))
        .expect("the exam was created");
    form_urlencoded::parse(create.body.as_bytes()).into_owned().collect()
}

fn wall(t: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(t, WALL).unwrap()
}

/// A server whose clock is 8 hours ahead of UTC, the generator in UTC: the
/// exam's window is written in the server's time and contains its now (it
/// used to be the generator's, over before it began for the server).
#[test]
fn the_exam_window_is_in_the_servers_time() {
    let f = Fake::start(|_, path, _| match path {
        "/api/server_time" => (
            200,
            format!(
                r#"{{"server_time": "{}"}}"#,
                (Utc::now() + Duration::hours(8)).naive_utc().format(WALL)
            ),
        ),
        "/api/exams" => (200, r#"{"status":"success","exam_id":7}"#.into()),
        _ => (404, "{}".into()),
    });
    let (out, so, se) = setup(&["--host", &f.url, "--students", "3"]);
    assert!(out.status.success(), "{so}{se}");
    let fields = exam_fields(&f);
    let server_now = Utc::now().naive_utc() + Duration::hours(8);
    let (start, end) = (wall(&fields["start_time"]), wall(&fields["end_time"]));
    assert!(
        start < server_now && server_now < end,
        "window {start} .. {end} misses the server's now {server_now}\n{so}"
    );
    assert!((server_now - start - Duration::minutes(10)).num_seconds().abs() < 60);
    assert!(
        so.contains("# server clock: ") && so.contains("UTC+08:00, 8h 0m"),
        "{so}"
    );
    assert!(so.contains("# exam window: ") && so.contains("(inside)"), "{so}");
    assert!(so.contains("\nexam_id=7\n") && !se.contains("warning"), "{so}{se}");
}

/// A server without the clock route: `--tz` gives its zone; without it the
/// window is this machine's time, said with what to do.
#[test]
fn without_the_route_tz_is_the_fallback() {
    let f = Fake::start(|_, path, _| match path {
        "/api/exams" => (200, r#"{"status":"success","exam_id":8}"#.into()),
        _ => (404, r#"{"error":"not found"}"#.into()),
    });
    let (out, so, se) = setup(&["--host", &f.url, "--students", "2", "--tz", "+08:00"]);
    assert!(out.status.success(), "{so}{se}");
    let start = wall(&exam_fields(&f)["start_time"]);
    let want = Utc::now().naive_utc() + Duration::hours(8) - Duration::minutes(10);
    assert!((want - start).num_seconds().abs() < 60, "{start} vs {want}\n{so}");
    assert!(
        so.contains("# clock: --tz UTC+08:00") && so.contains("GET /api/server_time: http 404"),
        "{so}"
    );

    let g = Fake::start(|_, path, _| match path {
        "/api/exams" => (200, r#"{"status":"success","exam_id":9}"#.into()),
        _ => (404, "{}".into()),
    });
    let (out, so, se) = setup(&["--host", &g.url, "--students", "2"]);
    assert!(out.status.success(), "{so}{se}");
    assert!(
        se.contains("warning: the server did not give its time (GET /api/server_time: http 404)")
            && se.contains("give it with --tz"),
        "{se}"
    );
}

/// A window that misses the server's now is a warning before any student runs.
#[test]
fn a_window_outside_the_servers_now_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        r#"version = 2
[[setup]]
path = "/api/exams"
encoding = "form"
fields = { start_time = "{time-5h:%Y-%m-%d %H:%M:%S}", end_time = "{time-2h:%Y-%m-%d %H:%M:%S}" }
capture = { exam_id = "/exam_id" }
[login]
path = "/api/login"
"#,
    )
    .unwrap();
    let f = Fake::start(|_, path, _| match path {
        "/api/server_time" => (200, r#"{"server_time": "2026-12-04 17:30:00"}"#.into()),
        _ => (200, r#"{"status":"success","exam_id":1}"#.into()),
    });
    let (out, so, se) = setup(&[
        "--host",
        &f.url,
        "--students",
        "1",
        "--scenario",
        scenario.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{so}{se}");
    assert_eq!(exam_fields(&f)["end_time"].get(..13), Some("2026-12-04 15"));
    assert!(so.contains("OUTSIDE: logins will be refused"), "{so}");
    assert!(
        se.contains("does not contain the server's now (2026-12-04 17:30") && se.contains("refuse every login"),
        "{se}"
    );
}

/// `--host http://H:P/api`: the lines show the URL really requested
/// (`/api/api/exams`; they used to say `/api/exams`), and a warning says why.
#[test]
fn a_host_with_a_path_shows_the_url_requested() {
    let f = Fake::start(|_, path, _| match path {
        "/api/server_time" | "/api/exams" => (200, r#"{"status":"success","exam_id":1}"#.into()),
        _ => (404, "<h1>Not Found</h1>".into()),
    });
    let host = format!("{}/api", f.url);
    let (out, so, se) = setup(&["--host", &host, "--students", "1"]);
    assert_eq!(out.status.code(), Some(1), "{so}{se}");
    assert!(
        so.contains(&format!(
            "POST {}/api/api/exams: FAILED (http 404); answer: <h1>Not Found</h1>",
            f.url
        )),
        "{so}"
    );
    assert!(
        se.contains("this requests /api/api/exams; give --host without the path"),
        "{se}"
    );
    assert!(f.seen().iter().any(|s| s.path == "/api/api/exams"));
}

/// Nothing listening: the failure says what to check.
#[test]
fn nothing_listening_is_said_in_words() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let host = format!("http://127.0.0.1:{port}");
    let (out, so, se) = setup(&["--host", &host, "--students", "1"]);
    assert_eq!(out.status.code(), Some(1), "{so}{se}");
    assert!(so.contains("FAILED (connect)"), "{so}");
    assert!(
        se.contains(&format!("could not open a connection to {host}: nothing listens there")),
        "{se}"
    );
}
