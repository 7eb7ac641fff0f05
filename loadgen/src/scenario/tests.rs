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

#[test]
fn the_builtin_is_the_supervise_client() {
    let s = Scenario::builtin().unwrap();
    let names: Vec<&str> = s.tasks.iter().map(|t| t.request.name.as_str()).collect();
    assert_eq!(names, ["heartbeat", "screenshot", "recording"]);
    assert_eq!(s.sequenced(), Some(2));
    let rec = &s.tasks[2];
    assert_eq!(
        (rec.every, rec.request.encoding),
        (Duration::from_secs(30), Encoding::Multipart)
    );
    let file = rec.request.file.as_ref().unwrap();
    assert_eq!((file.field.as_str(), file.size), ("video", (15 << 20, 20 << 20)));
    assert_eq!(s.tasks[0].every, Duration::from_secs(10));
    assert_eq!(s.login.encoding, Encoding::Json);
    assert_eq!(s.captures, ["exam_id"]);
    assert_eq!(s.setup.len(), 1);
    assert_eq!(s.setup_captures, ["exam_id"]);
    assert_eq!(s.logout.as_ref().unwrap().path.source(), "/api/logout");
    let eps: Vec<String> = s.endpoints().into_iter().map(|e| e.0).collect();
    assert_eq!(eps, ["login", "heartbeat", "screenshot", "recording", "logout"]);
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

#[test]
fn overrides_change_intervals_and_vars() {
    let o = Overrides {
        vars: vec![("exam_name".into(), "midterm".into())],
        every: vec![("heartbeat".into(), Duration::from_secs(3))],
    };
    let s = Scenario::parse(DEFAULT_TOML, "b", &o).unwrap();
    assert_eq!(s.tasks[0].every, Duration::from_secs(3));
    let v = Values::default();
    let name = &s.setup[0].fields.iter().find(|(k, _)| k == "name").unwrap().1;
    assert_eq!(name.fill(&v, Escape::None), "midterm");
    let bad = Overrides {
        every: vec![("nope".into(), Duration::from_secs(3))],
        ..Overrides::default()
    };
    let e = Scenario::parse(DEFAULT_TOML, "b", &bad).unwrap_err().to_string();
    assert!(e.contains("`--every`") && e.contains("no task named 'nope'"), "{e}");
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
