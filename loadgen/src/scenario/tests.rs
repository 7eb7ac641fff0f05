//! Parser tests: the shipped scenarios, and every kind of bad scenario named
//! by file, line and key.

use super::*;

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse(text, "s.toml", &Overrides::default())
}

/// The message of a refused scenario.
fn refused(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const MINI: &str = r#"version = 2
[login]
path = "/api/login"
capture = { exam_id = "/exam_id" }
[[task]]
name = "beat"
every = "1s"
path = "/b/{exam_id}"
"#;

/// Issue 26 item 2: the built-in is the real client (heartbeat 30 s with 3
/// tries of 20 s, screenshots off, 60 s segments of the measured sizes,
/// queued and flushed every 60-120 s with next-flush retries and 3 exit
/// passes 5 s apart, a logout without `username`).
#[test]
fn the_builtin_is_the_supervise_client() {
    let s = Scenario::builtin().unwrap();
    let names: Vec<&str> = s.tasks.iter().map(|t| t.request.name.as_str()).collect();
    assert_eq!(names, ["heartbeat", "screenshot", "recording"]);
    assert_eq!(s.sequenced(), Some(2));
    let rec = &s.tasks[2];
    assert_eq!(
        (rec.every, rec.request.encoding),
        (Duration::from_secs(60), Encoding::Multipart)
    );
    assert_eq!(
        rec.queue,
        Some(Queue {
            flush_every: Duration::from_secs(60),
            flush_jitter: Duration::from_secs(60),
            flush_gap: Duration::from_secs(1),
            retry: Retry::NextFlush,
            exit_passes: 3,
            exit_pass_gap: Duration::from_secs(5),
        })
    );
    let file = rec.request.file.as_ref().unwrap();
    assert_eq!(file.field.as_str(), "video");
    assert_eq!(
        file.dist,
        Some(SizeDist {
            median: 6 << 20,
            p90: 8_912_896,
            max: 11_114_906,
        })
    );
    let hb = &s.tasks[0];
    assert_eq!(
        (hb.every, hb.tries, hb.timeout, hb.enabled),
        (Duration::from_secs(30), 3, Some(Duration::from_secs(20)), true)
    );
    let shot = &s.tasks[1];
    assert_eq!((shot.every, shot.enabled), (Duration::from_secs(30), false));
    assert_eq!(s.login.encoding, Encoding::Json);
    assert_eq!(s.captures, ["exam_id"]);
    assert_eq!(s.setup.len(), 1);
    assert_eq!(s.setup_captures, ["exam_id"]);
    let logout = s.logout.as_ref().unwrap();
    assert_eq!(logout.path.source(), "/api/logout");
    let fields: Vec<&str> = logout.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(fields, ["exam_id", "student_id"]);
    let eps: Vec<String> = s.endpoints().into_iter().map(|e| e.0).collect();
    assert_eq!(eps, ["login", "heartbeat", "screenshot", "recording", "logout"]);
    // `--every screenshot=30s` turns the screenshots on.
    let o = Overrides {
        every: pairs(&[("screenshot", "30s")]),
        ..Overrides::default()
    };
    assert!(Scenario::parse(DEFAULT_TOML, "b", &o).unwrap().tasks[1].enabled);
}

/// Issue 26 item 2: the users' own Locust test ships as a scenario.
#[test]
fn the_locust_realistic_scenario_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios/locust-realistic.toml");
    let s = Scenario::load(&path, &Overrides::default()).unwrap();
    let rec = &s.tasks[s.sequenced().unwrap()];
    assert_eq!(
        (rec.every, rec.jitter, rec.tries, rec.queue),
        (Duration::from_secs(60), Duration::from_secs(10), 3, None)
    );
    assert_eq!(rec.request.file.as_ref().unwrap().size, (6 << 20, 10 << 20));
    assert_eq!(s.tasks[0].every, Duration::from_secs(30));
    assert!(s.logout.is_none());
}

const QUEUED: &str = r#"version = 2
[login]
path = "/api/login"
[[task]]
name = "rec"
every = "60s"
sequenced = true
path = "/r/{seq}"
"#;

/// Issue 26 item 1: the queue's keys, their defaults and their refusals.
#[test]
fn a_sequenced_task_can_be_a_queue() {
    let s = parse(&format!("{QUEUED}queue = {{ flush_every = \"2s\" }}\n")).unwrap();
    assert_eq!(
        s.tasks[0].queue,
        Some(Queue {
            flush_every: Duration::from_secs(2),
            flush_jitter: Duration::ZERO,
            flush_gap: Duration::ZERO,
            retry: Retry::NextFlush,
            exit_passes: 1,
            exit_pass_gap: Duration::ZERO,
        })
    );
    let s = parse(&format!(
        "{QUEUED}queue = {{ flush_every = \"2s\", retry = \"immediate:3\" }}\n"
    ))
    .unwrap();
    assert_eq!(s.tasks[0].queue.unwrap().retry, Retry::Immediate(3));
    for (queue, why) in [
        ("{ flush_every = \"0s\" }", "`flush_every` must be above 0"),
        ("{ flush_every = \"1s\", retry = \"later\" }", "retry 'later' must be"),
        (
            "{ flush_every = \"1s\", retry = \"immediate:0\" }",
            "retry 'immediate:0' must be",
        ),
        (
            "{ flush_every = \"1s\", exit_passes = -1 }",
            "exit_passes must be 0 to 100",
        ),
        ("{ flush_every = \"1s\", every = \"1s\" }", "unknown field `every`"),
    ] {
        let e = refused(&format!("{QUEUED}queue = {queue}\n"));
        assert!(e.contains(why) && e.contains("line 9"), "{queue}: {e}");
    }
    let e = refused(&format!("{MINI}queue = {{ flush_every = \"1s\" }}\n"));
    assert!(e.contains("only the sequenced task can be a queue"), "{e}");
    let e = refused(&format!("{QUEUED}queue = {{ flush_every = \"1s\" }}\ntries = 2\n"));
    assert!(e.contains("a queued task retries by its queue's `retry`"), "{e}");
    let e = refused(&format!("{QUEUED}enabled = false\n"));
    assert!(e.contains("the sequenced task cannot be off"), "{e}");
    let e = refused("version = 2\n[login]\npath = \"/l\"\nqueue = { flush_every = \"1s\" }\n");
    assert!(e.contains("`queue` is a [[task]] key"), "{e}");
}

/// Issue 26 item 1: `size = { median, p90, max }` (decimals allowed), checked.
#[test]
fn a_measured_size_distribution_parses_and_is_checked() {
    let file = |size: &str| format!("{QUEUED}file = {{ field = \"v\", name = \"x\", size = {size} }}\n");
    let s = parse(&file("{ median = \"1.5K\", p90 = \"2K\", max = \"3K\" }")).unwrap();
    let f = s.tasks[0].request.file.as_ref().unwrap();
    assert_eq!(
        (f.size, f.dist),
        (
            (1, 3072),
            Some(SizeDist {
                median: 1536,
                p90: 2048,
                max: 3072
            })
        )
    );
    for bad in [
        "{ median = \"2K\", p90 = \"1K\", max = \"3K\" }",
        "{ median = \"0\", p90 = \"1K\", max = \"3K\" }",
        "{ median = \"1K\", p90 = \"2K\", max = \"5G\" }",
        "{ median = \"x\", p90 = \"2K\", max = \"3K\" }",
    ] {
        let e = refused(&file(bad));
        assert!(e.contains("line 9") && e.contains("size"), "{bad}: {e}");
    }
}

#[test]
fn the_readme_scenario_for_another_api_parses() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios/other-api.toml");
    let s = Scenario::load(&path, &Overrides::default()).unwrap();
    assert_eq!(s.captures, ["token"]);
    assert_eq!(s.tasks[1].request.expect.status, [200, 201]);
    assert_eq!(
        s.tasks[1].request.expect.json,
        [("/ok".to_string(), serde_json::json!(true))]
    );
    assert_eq!(s.tasks[0].jitter, Duration::from_secs(1));
    assert_eq!(s.logout.unwrap().method, Method::DELETE);
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The message of a built-in scenario refused with these overrides.
fn refused_with(vars: &[(&str, &str)], every: &[(&str, &str)]) -> String {
    let o = Overrides {
        vars: pairs(vars),
        every: pairs(every),
    };
    Scenario::parse(DEFAULT_TOML, "b", &o).unwrap_err().to_string()
}

#[test]
fn overrides_change_intervals_and_vars() {
    let o = Overrides {
        vars: pairs(&[("exam_name", "midterm")]),
        every: pairs(&[("heartbeat", "3s")]),
    };
    let s = Scenario::parse(DEFAULT_TOML, "b", &o).unwrap();
    assert_eq!(s.tasks[0].every, Duration::from_secs(3));
    let v = Values::default();
    let name = &s.setup[0].fields.iter().find(|(k, _)| k == "name").unwrap().1;
    assert_eq!(name.fill(&v, Escape::None), "midterm");
    let e = refused_with(&[], &[("nope", "3s")]);
    assert_eq!(
        e,
        "--every nope=3s: the scenario has no task named 'nope' (tasks: heartbeat, screenshot, recording)"
    );
}

/// Issue 24 item 16: the last `--var` and the last `--every` for a name win
/// (`--every` used to keep the first).
#[test]
fn the_last_override_for_a_name_wins() {
    let o = Overrides {
        vars: pairs(&[("exam_name", "a"), ("exam_name", "b")]),
        every: pairs(&[("heartbeat", "3s"), ("heartbeat", "4s")]),
    };
    let s = Scenario::parse(DEFAULT_TOML, "b", &o).unwrap();
    assert_eq!(s.tasks[0].every, Duration::from_secs(4));
    let name = &s.setup[0].fields.iter().find(|(k, _)| k == "name").unwrap().1;
    assert_eq!(name.fill(&Values::default(), Escape::None), "b");
}

/// Issue 24 item 16: a `--var` the scenario does not declare, or a built-in
/// or captured name, is refused naming the flag (they were silently ignored).
#[test]
fn undeclared_and_reserved_vars_are_refused_naming_the_flag() {
    assert_eq!(
        refused_with(&[("foo", "1")], &[]),
        "--var foo=1: the scenario declares no [vars] entry foo (it declares: exam_name)"
    );
    for name in [
        "student_id",
        "n",
        "seq",
        "timestamp",
        "student_ip",
        "student_list",
        "time",
    ] {
        let e = refused_with(&[(name, "1")], &[]);
        assert_eq!(
            e,
            format!("--var {name}=1: {name} is a built-in template name, not a [vars] entry")
        );
    }
    assert!(refused_with(&[("time+3h:%H", "1")], &[]).contains("built-in"));
    assert!(refused_with(&[("cookie:session", "1")], &[]).contains("built-in"));
    assert_eq!(
        refused_with(&[("exam_id", "7")], &[]),
        "--var exam_id=7: exam_id is captured from an answer, not a [vars] entry"
    );
    let e = Scenario::parse(
        MINI,
        "s.toml",
        &Overrides {
            vars: pairs(&[("x", "1")]),
            ..Overrides::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.ends_with("(it declares: none)"), "{e}");
}

/// Issue 24 item 16: a bad `--every` value names the flag as typed, not the
/// scenario line of the task's `every` (it used to blame the file).
#[test]
fn bad_every_values_name_the_flag() {
    assert_eq!(
        refused_with(&[], &[("heartbeat", "0s")]),
        "--every heartbeat=0s: must be above 0"
    );
    assert_eq!(
        refused_with(&[], &[("heartbeat", "25h")]),
        "--every heartbeat=25h: '25h' is too long: at most 24h"
    );
    let e = refused_with(&[], &[("heartbeat", "soon")]);
    assert!(e.starts_with("--every heartbeat=soon: bad duration"), "{e}");
}

/// Issue 24 item 16: `[vars]` values, set in the file or by `--var`, are
/// percent-encoded in paths like every filled value (`/..`, `?` and `#` went
/// out raw; `#` dropped the rest of the path) and sent as written in bodies.
#[test]
fn var_values_are_encoded_in_paths() {
    let text =
        "version = 2\n[vars]\ndir = \"a b\"\n[login]\npath = \"/x/{dir}/end?q={dir}\"\nfields = { d = \"{dir}\" }\n";
    let v = Values::default();
    let s = Scenario::parse(text, "s.toml", &Overrides::default()).unwrap();
    assert_eq!(s.login.path.fill(&v, Escape::Url), "/x/a%20b/end?q=a%20b");
    let o = Overrides {
        vars: pairs(&[("dir", "/../a?b#c")]),
        ..Overrides::default()
    };
    let s = Scenario::parse(text, "s.toml", &o).unwrap();
    assert_eq!(
        s.login.path.fill(&v, Escape::Url),
        "/x/%2F..%2Fa%3Fb%23c/end?q=%2F..%2Fa%3Fb%23c"
    );
    assert_eq!(s.login.fields[0].1.fill(&v, Escape::None), "/../a?b#c");
    assert_eq!(s.login.path.source(), "/x/{dir}/end?q={dir}");
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let e = refused(&MINI.replace("every = \"1s\"", "every = \"1s\"\nevry = 3"));
    assert!(
        e.starts_with("scenario s.toml line 8") && e.contains("unknown field `evry`"),
        "{e}"
    );
}

#[test]
fn two_sequenced_tasks_are_refused() {
    let text =
        format!("{MINI}sequenced = true\n[[task]]\nname = \"rec\"\nevery = \"2s\"\npath = \"/r\"\nsequenced = true\n");
    let e = refused(&text);
    assert!(
        e.contains("line 14") && e.contains("key `task.rec.sequenced`") && e.contains("'beat' already is"),
        "{e}"
    );
}

#[test]
fn undefined_templates_and_captures_are_refused() {
    let e = refused(&MINI.replace("/b/{exam_id}", "/b/{exam}"));
    assert!(
        e.contains("line 8") && e.contains("key `task.beat.path`") && e.contains("undefined template {exam}"),
        "{e}"
    );
    let e = refused(&MINI.replace("/b/{exam_id}", "/b/{seq}"));
    assert!(e.contains("only for the sequenced task"), "{e}");
    let e = refused(&MINI.replace("path = \"/api/login\"", "path = \"/api/login/{exam_id}\""));
    assert!(e.contains("line 3") && e.contains("key `login.path`"), "{e}");
    let e = refused(&format!("{MINI}capture = {{ x = \"/x\" }}\n"));
    assert!(e.contains("key `task.beat.capture`"), "{e}");
    let e = refused(&MINI.replace("\"/exam_id\"", "\"exam_id\""));
    assert!(e.contains("line 4") && e.contains("not a JSON pointer"), "{e}");
}

#[test]
fn bad_durations_sizes_and_values_are_refused() {
    let e = refused(&MINI.replace("every = \"1s\"", "every = \"1 fortnight\""));
    assert!(
        e.contains("line 7") && e.contains("key `task.beat.every`") && e.contains("bad duration"),
        "{e}"
    );
    let e = refused(&MINI.replace("every = \"1s\"", "every = \"0s\""));
    assert!(e.contains("must be above 0"), "{e}");
    let e = refused(&format!(
        "{MINI}file = {{ field = \"f\", name = \"a\", size = \"9K-1K\" }}\n"
    ));
    assert!(e.contains("key `task.beat.file.size`"), "{e}");
    let e = refused(&format!("{MINI}probability = 1.5\n"));
    assert!(e.contains("key `task.beat.probability`"), "{e}");
    let e = refused(&MINI.replace("[login]\n", "[login]\nevery = \"1s\"\n"));
    assert!(e.contains("key `login.every`") && e.contains("[[task]] key"), "{e}");
    let e = refused(&format!("{MINI}encoding = \"xml\"\n"));
    assert!(e.contains("key `task.beat.encoding`"), "{e}");
    let e = refused(&MINI.replace("path = \"/b/{exam_id}\"", "path = \"b\""));
    assert!(e.contains("must start with /"), "{e}");
    let e = refused(&MINI.replace("path = \"/b/{exam_id}\"", "path = \"/b/{exam_id}#x\""));
    assert!(e.contains("line 8") && e.contains("is never sent (write %23)"), "{e}");
    let e = refused(&MINI.replace("path = \"/b/{exam_id}\"", "path = \"/a b/{exam_id}\""));
    assert!(e.contains("line 8") && e.contains("not a valid URL path"), "{e}");
}

#[test]
fn versions_and_names_are_checked() {
    let e = refused(&MINI.replace("version = 2\n", ""));
    assert!(e.contains("key `version`") && e.contains("CHANGELOG"), "{e}");
    let e = refused(&MINI.replace("version = 2", "version = 1"));
    assert!(e.contains("line 1"), "{e}");
    let e = refused(&format!(
        "{MINI}[[task]]\nname = \"beat\"\nevery = \"1s\"\npath = \"/c\"\n"
    ));
    assert!(e.contains("two tasks are named 'beat'"), "{e}");
    let e = refused(&format!("{MINI}[[task]]\nevery = \"1s\"\npath = \"/c\"\n"));
    assert!(e.contains("needs a name"), "{e}");
    let e = refused("version = 2\n");
    assert!(e.contains("[login]"), "{e}");
    let e = refused("version = 2\n[login\n");
    assert!(e.contains("line 2"), "{e}");
}

/// Issue 24 item 12: a duration past a day is refused where it is written
/// (it used to be accepted, and every student panicked drawing its jitter).
#[test]
fn durations_past_a_day_are_refused_with_their_line() {
    // MINI with `key = value` as the beat task's last line (line 8).
    let with = |key: &str, value: &str| {
        let base = if key == "every" {
            MINI.replace("every = \"1s\"\n", "")
        } else {
            MINI.to_string()
        };
        format!("{base}{key} = \"{value}\"\n")
    };
    for key in ["every", "jitter", "offset"] {
        let line = if key == "every" { "line 8" } else { "line 9" };
        let e = refused(&with(key, "18446744073709551615ms"));
        assert!(
            e.contains(line) && e.contains(&format!("key `task.beat.{key}`")) && e.contains("at most 24h"),
            "{e}"
        );
        assert!(refused(&with(key, "1441m")).contains("at most 24h"));
        let t = &parse(&with(key, "24h")).unwrap().tasks[0];
        let day = Duration::from_secs(86_400);
        assert!([t.every, t.jitter, t.first()].contains(&day));
    }
}

/// Issue 24 item 17: a sequenced task whose templates never send `{seq}`
/// is refused at its `sequenced` line (it was accepted).
#[test]
fn a_sequenced_task_must_send_its_seq() {
    let e = refused(&format!("{MINI}sequenced = true\n"));
    assert!(
        e.contains("line 9") && e.contains("key `task.beat.sequenced`") && e.contains("use {seq}"),
        "{e}"
    );
    for place in [
        "path = \"/b/{seq}\"",
        "fields = { s = \"{seq}\" }",
        "headers = { X-Seq = \"{seq}\" }",
        "file = { field = \"f\", name = \"r_{seq}.mp4\", size = \"1K\" }",
    ] {
        let text = format!("{MINI}sequenced = true\n{place}\n").replace("path = \"/b/{exam_id}\"\n", "");
        let text = if place.starts_with("path") {
            text
        } else {
            format!("{text}path = \"/b\"\n")
        };
        let s = parse(&text).unwrap_or_else(|e| panic!("{place}: {e}"));
        assert_eq!(s.sequenced(), Some(0));
    }
}
