//! `verify gate` end to end on one real run of the reference target (its
//! gunicorn and celery logs and its recordings tree, fixtures/logs/target).
//! Paths are relative to the package folder (cargo runs tests there), so the
//! JUnit golden file does not depend on where the repository lives.

mod support;

use std::fs;

use support::{assert_same_text, verify};
use verify::findings::Kind;
use verify::report::gate::{CrossKind, GateReport};

const T: &str = "../fixtures/logs/target";

fn base_args() -> Vec<String> {
    [
        "gate",
        "--log",
        &format!("{T}/gunicorn_access.log*"),
        "--celery-log",
        &format!("{T}/celery_worker_merge.log*"),
        "--dir",
        &format!("{T}/server_data"),
        "--expect",
        "test_00001..test_00009",
        "--expect-segments",
        "3",
    ]
    .map(String::from)
    .to_vec()
}

fn json(extra: &[&str]) -> (i32, GateReport, String) {
    let mut args = base_args();
    args.extend(["--format", "json"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = verify(&args);
    let r = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("strict JSON: {e}\n{}\n{}", run.stdout, run.stderr));
    support::assert_pretty_json(&run.stdout, &r);
    (run.code, r, run.stderr)
}

#[test]
fn exact_findings_and_cross_checks_of_a_real_run() {
    let (code, r, _) = json(&[]);
    assert_eq!(code, 1);
    assert_eq!(r.schema, "verify.gate/1");
    assert_eq!(
        r.failed_on,
        [
            "ids:collision",
            "seq:gap",
            "seq:duplicate",
            "seq:unsequenced",
            "seq:empty",
            "seq:short",
            "merge:server_gap",
            "merge:task_failed",
            "cross:gap_both",
            "cross:collision_confirmed"
        ]
    );
    let checks: Vec<(&str, &str)> = r.checks.iter().map(|c| (c.check.as_str(), c.verdict.word())).collect();
    assert_eq!(
        checks,
        [("ids", "fail"), ("seq", "fail"), ("merge", "fail"), ("cross", "fail")]
    );
    let cross = r.cross.as_ref().unwrap();
    let gaps: Vec<(&str, CrossKind, &[[u64; 2]])> = cross
        .gaps
        .iter()
        .map(|g| (g.id.as_str(), g.kind, g.seqs.as_slice()))
        .collect();
    assert_eq!(gaps, [("test_00006", CrossKind::GapBoth, &[[3, 3]][..])]);
    let col: Vec<(&str, CrossKind)> = cross.collisions.iter().map(|c| (c.id.as_str(), c.kind)).collect();
    assert_eq!(col, [("test_00005", CrossKind::CollisionConfirmed)]);
    assert!(cross.logins_without_recordings.is_empty() && cross.recordings_without_login.is_empty());
    assert_eq!(r.ids.as_ref().unwrap().summary.distinct_ids, 9);
    assert_eq!(r.seq.as_ref().unwrap().summary.students, 9);
    assert_eq!(r.merge.as_ref().unwrap().server_gaps.len(), 1);
}

#[test]
fn junit_has_one_suite_per_check_and_matches_the_golden_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("gate.xml");
    let mut args = base_args();
    args.extend(["--junit".to_string(), out.display().to_string()]);
    assert_eq!(verify(&args).code, 1);
    let actual = fs::read_to_string(&out).unwrap();
    for suite in ["verify ids", "verify seq", "verify merge", "verify cross-checks"] {
        assert!(
            actual.contains(&format!("<testsuite name=\"{suite}\"")),
            "{suite} missing"
        );
    }
    let golden = std::path::Path::new(T).join("expected-gate.junit.xml");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&golden, &actual).unwrap();
    }
    assert_same_text(&actual, &fs::read_to_string(golden).unwrap(), "gate JUnit");
}

#[test]
fn github_annotations_respect_the_per_step_limit_and_fill_the_step_summary() {
    // A tree with far more than 10 failing findings.
    let tmp = tempfile::tempdir().unwrap();
    let spec = support::gentree::Spec {
        exam: "30".into(),
        students: 200,
        segments: 10,
        fault_every: 2,
        seed: 5,
        size: 1,
    };
    let truth = support::gentree::generate(tmp.path(), &spec).unwrap();
    let summary = tmp.path().join("summary.md");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verify"))
        .args([
            "gate",
            "--dir",
            truth.recordings.to_str().unwrap(),
            "--expect",
            "test_00001..test_00200",
            "--github",
        ])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let errors = stdout.lines().filter(|l| l.starts_with("::error ")).count();
    let notices = stdout.lines().filter(|l| l.starts_with("::notice ")).count();
    assert_eq!(errors, 10, "GitHub keeps 10 errors per step: emit exactly that many");
    assert!(stdout.lines().filter(|l| l.starts_with("::warning ")).count() <= 10);
    assert_eq!(notices, 1, "a notice counts what was left out");
    assert!(
        stdout.contains("::error title=verify gate seq%3Amissing_student::test_"),
        "{stdout}"
    );
    let md = fs::read_to_string(&summary).unwrap();
    assert!(md.contains("❌ **FAIL**") && md.contains("| seq:gap | test_"), "{md}");
    let rows = md.lines().filter(|l| l.starts_with("| seq:")).count();
    assert!(rows > 10, "the summary holds the full table, not just the annotations");
}

#[test]
fn merge_of_per_server_reports_equals_one_run_over_all_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let part = |log: &str, name: &str| {
        let run = verify(&[
            "gate",
            "--log",
            &format!("{T}/{log}"),
            "--expect",
            "test_00001..test_00009",
            "--format",
            "json",
        ]);
        let p = tmp.path().join(name);
        fs::write(&p, &run.stdout).unwrap();
        p.display().to_string()
    };
    let (a, b) = (
        part("gunicorn_access.log.1", "a.json"),
        part("gunicorn_access.log", "b.json"),
    );
    let merged = verify(&["gate", "--merge", &a, &b, "--format", "json"]);
    let m: GateReport = serde_json::from_str(&merged.stdout).unwrap();
    let whole = verify(&[
        "gate",
        "--log",
        &format!("{T}/gunicorn_access.log*"),
        "--expect",
        "test_00001..test_00009",
        "--format",
        "json",
    ]);
    let w: GateReport = serde_json::from_str(&whole.stdout).unwrap();
    let (mi, wi) = (m.ids.unwrap(), w.ids.unwrap());
    assert_eq!(merged.code, whole.code);
    assert_eq!(
        (mi.summary.login_events, mi.summary.distinct_ids, mi.summary.collisions),
        (wi.summary.login_events, wi.summary.distinct_ids, wi.summary.collisions)
    );
    assert!(
        mi.missing.is_empty(),
        "missing on one server but present on the other is not missing"
    );
    let ids =
        |r: &verify::report::ids::IdsReport| r.duplicates.iter().map(|d| (d.id.clone(), d.kind)).collect::<Vec<_>>();
    assert_eq!(ids(&mi), ids(&wi));
    assert_eq!(m.merged_from.len(), 2);
}

#[test]
fn config_file_with_flags_winning_and_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("verify.toml");
    fs::write(
        &cfg,
        format!("log = [\"{T}/gunicorn_access.log*\"]\nexpect = [\"test_00001..test_00009\"]\nfail_on = [\"-ids:collision\"]\n"),
    )
    .unwrap();
    let run = verify(&["gate", "--config", cfg.to_str().unwrap(), "--format", "json"]);
    let r: GateReport = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        (run.code, r.verdict.word()),
        (0, "pass"),
        "the config turned collisions into notes"
    );
    let run = verify(&[
        "gate",
        "--config",
        cfg.to_str().unwrap(),
        "--fail-on",
        "+ids:collision",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "flags add to the config's fail-on");
    assert_eq!(verify(&["gate"]).code, 2);
    let bad = verify(&["gate", "--dir", ".", "--fail-on", "gap"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("CHECK:KIND"), "{}", bad.stderr);
}

#[test]
fn html_report_embeds_the_json_report_and_fetches_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("gate.html");
    let mut args = base_args();
    args.extend(["--html".to_string(), page.display().to_string()]);
    let run = verify(&args);
    assert_eq!(run.code, 1);
    let html = fs::read_to_string(&page).unwrap();
    let start = html.find(r#"<script id="report" type="application/json">"#).unwrap();
    let body = &html[start..];
    let text = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    let embedded: GateReport = serde_json::from_str(&text.replace("<\\/", "</")).unwrap();
    let (_, direct, _) = json(&[]);
    assert_eq!(embedded, direct, "the page's numbers are the JSON report's");
    for attr in ["src=\"http", "href=\"http", "src='http", "@import", "url(http"] {
        assert!(!html.contains(attr), "the page must work offline: found {attr}");
    }
}

/// `--max-missing-ratio` applies to combined reports as to one server's.
#[test]
fn missing_ratio_applies_under_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for (server, seqs) in [("a", [1u32, 2, 3, 5]), ("b", [1, 2, 3, 4])] {
        let rec = tmp.path().join(server).join("recordings");
        let id = if server == "a" { "test_00001" } else { "test_00002" };
        fs::create_dir_all(rec.join(id)).unwrap();
        for s in seqs {
            fs::write(
                rec.join(id).join(format!("{id}_20251123_1800{s:02}_seq_{s:04}.mp4")),
                "x",
            )
            .unwrap();
        }
        let run = verify(&["gate", "--dir", rec.to_str().unwrap(), "--format", "json"]);
        let p = tmp.path().join(format!("{server}.json"));
        fs::write(&p, &run.stdout).unwrap();
        reports.push(p.display().to_string());
    }
    let strict = verify(&["gate", "--merge", &reports[0], &reports[1]]);
    assert_eq!(strict.code, 1, "one seq of eight is missing: {}", strict.stdout);
    let lenient = verify(&[
        "gate",
        "--merge",
        &reports[0],
        &reports[1],
        "--max-missing-ratio",
        "20%",
    ]);
    assert_eq!(lenient.code, 0, "1 missing of 8 is under 20 %: {}", lenient.stdout);
    let tight = verify(&[
        "gate",
        "--merge",
        &reports[0],
        &reports[1],
        "--max-missing-ratio",
        "0.1",
    ]);
    assert_eq!(tight.code, 1, "1 of 8 is over 10 %: {}", tight.stdout);
}

/// `--ledger` findings of per-server reports survive `gate --merge`, labelled.
#[test]
fn ledger_findings_survive_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for server in ["a", "b"] {
        let id = if server == "a" { "test_00001" } else { "test_00002" };
        let rec = tmp.path().join(server).join("recordings");
        fs::create_dir_all(rec.join(id)).unwrap();
        fs::write(rec.join(id).join(format!("{id}_20251123_180001_seq_0001.mp4")), "x").unwrap();
        let ledger = tmp.path().join(format!("{server}.ndjson"));
        let run = r#"{"kind":"run","v":2,"tool":"loadgen","host":"h","scenario":"s","task":null,"started_unix_ms":1}"#;
        let lines: Vec<String> = std::iter::once(run.to_string())
            .chain((1..=2).map(|seq| {
                format!(
                    r#"{{"kind":"upload","student":"{id}","seq":{seq},"attempt":1,"planned_ms":0,"start_ms":0,"end_ms":1,"bytes_sent":1,"file":null,"file_size":1,"failure":null}}"#
                )
            }))
            .chain([r#"{"kind":"end","records":4}"#.to_string()])
            .collect();
        fs::write(&ledger, lines.join("\n") + "\n").unwrap();
        let run = verify(&[
            "gate",
            "--dir",
            rec.to_str().unwrap(),
            "--ledger",
            ledger.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(run.code, 1, "{}", run.stdout);
        let p = tmp.path().join(format!("{server}.json"));
        fs::write(&p, &run.stdout).unwrap();
        reports.push(p.display().to_string());
    }
    let merged = verify(&["gate", "--merge", &reports[0], &reports[1], "--format", "json"]);
    assert_eq!(merged.code, 1);
    let m: GateReport = serde_json::from_str(&merged.stdout).unwrap();
    let l = m.cross.as_ref().unwrap().ledger.as_ref().unwrap();
    let rows: Vec<(&str, &str)> = l.rows.iter().map(|r| (r.id.as_str(), r.kind.name())).collect();
    assert_eq!(rows, [("test_00001", "acked_missing"), ("test_00002", "acked_missing")]);
    assert_eq!(l.files.len(), 2);
    assert!(l.files[0].path.starts_with(&reports[0]), "{:?}", l.files);
    assert!(
        m.failed_on.contains(&"cross:acked_missing".to_string()),
        "{:?}",
        m.failed_on
    );
}
