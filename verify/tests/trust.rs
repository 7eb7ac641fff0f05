//! Issue 13: hostile and odd input never makes `verify` crash, lie or grow
//! without bound. One test per item, each building its input in a temp dir.

mod support;

use std::fs;

use support::hostile::{hidden_free, hostile_tree};
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

/// Runs `verify` as an unprivileged user when the tests run as root (root
/// reads folders at mode 000): `None` when that is not possible here.
fn verify_unprivileged(args: &[&str]) -> Option<support::Run> {
    use std::process::Command;
    let root = Command::new("id").arg("-u").output().ok()?.stdout == b"0\n";
    let mut c = if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_verify"),
        ]);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_verify"))
    };
    let out = c.args(args).env("NO_COLOR", "1").output().ok()?;
    Some(support::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Item 2: an exam folder that cannot be read is an error (exit 2), never a
/// silent skip that lets the clean exams pass.
#[test]
fn unreadable_exam_folder_is_an_error_not_a_skip() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let data = d.path().join("server_data");
    for exam in ["30", "31"] {
        let folder = data.join(exam).join("recordings/test_00001");
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join("test_00001_20251123_180000_seq_0001.mp4"), b"x").unwrap();
    }
    fs::set_permissions(data.join("30"), fs::Permissions::from_mode(0o000)).unwrap();
    let r = verify_unprivileged(&["seq", "--dir", data.to_str().unwrap(), "--format", "json"]);
    fs::set_permissions(data.join("30"), fs::Permissions::from_mode(0o755)).unwrap();
    let Some(r) = r else {
        eprintln!("skipped: cannot run verify as an unprivileged user here");
        return;
    };
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e.to_string().contains("server_data/30")),
        "{errors:?}"
    );
}

/// Item 9: `--dir` naming a symbolic link to a folder follows that one link.
#[test]
fn dir_given_as_a_symlink_is_followed() {
    let d = tempfile::tempdir().unwrap();
    let real = d.path().join("real/recordings/test_00001");
    fs::create_dir_all(&real).unwrap();
    fs::write(real.join("test_00001_20251123_180000_seq_0001.mp4"), b"x").unwrap();
    let link = d.path().join("link");
    std::os::unix::fs::symlink(d.path().join("real"), &link).unwrap();
    let r = verify(&["seq", "--dir", link.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["summary"]["segments"], 1);
}

/// Item 8: a population past the bound is refused with a clear message
/// instead of being listed ID by ID.
#[test]
fn huge_expected_population_is_refused_clearly() {
    let d = tempfile::tempdir().unwrap();
    let r = verify(&[
        "seq",
        "--dir",
        d.path().to_str().unwrap(),
        "--expect",
        "test_00001..test_99999999999",
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("more than 10000000"), "{}", r.stderr);
}

/// Item 1: counts that would overflow never wrap to a pass. seq 1 and
/// u64::MAX: the huge seq is reported (unparseable, above --max-seq), the
/// real gap of the second student still fails the run, in `seq` and `gate`.
#[test]
fn huge_seq_numbers_never_wrap_a_gap_count_into_a_pass() {
    let d = tempfile::tempdir().unwrap();
    let rec = d.path().join("30/recordings");
    for (id, seqs) in [("test_00001", vec![1u64, u64::MAX]), ("test_00002", vec![1, 5])] {
        fs::create_dir_all(rec.join(id)).unwrap();
        for s in seqs {
            fs::write(rec.join(id).join(format!("{id}_20251123_180000_seq_{s:04}.mp4")), b"x").unwrap();
        }
    }
    let dir = d.path().join("30");
    let r = verify(&["seq", "--dir", dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["summary"]["findings"]["gap"], 3, "{}", r.stdout);
    assert_eq!(v["summary"]["findings"]["unparseable"], 1, "{}", r.stdout);
    let failed = v["failed_on"].to_string();
    assert!(failed.contains("gap") && failed.contains("unparseable"), "{failed}");
    let r = verify(&["gate", "--dir", dir.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let r = verify(&["gate", "--dir", dir.to_str().unwrap(), "--github"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    // Raised past the huge seq, the bound lets the gap through: still no wrap.
    let r = verify(&[
        "seq",
        "--dir",
        dir.to_str().unwrap(),
        "--max-seq",
        &u64::MAX.to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["summary"]["findings"]["gap"], u64::MAX, "saturated, not wrapped");
}

/// Celery merge-log lines as the reference target writes them.
fn celery_gap_line(id: &str, missing: &str) -> String {
    format!(
        "[2025-11-23 18:00:00,123: WARNING/ForkPoolWorker-1] tasks.merge_segments[0f0e0d0c-0b0a-0908-0706-050403020100]: 序号缺失 student_id={id} exam_id=30 missing={missing}\n"
    )
}

/// Item 5: a disk gap of 10^14 seqs is compared with the server's gaps as
/// ranges (it used to be expanded into a set and abort on allocation).
#[test]
fn huge_disk_gap_is_cross_checked_as_ranges() {
    let d = tempfile::tempdir().unwrap();
    let folder = d.path().join("30/recordings/test_00001");
    fs::create_dir_all(&folder).unwrap();
    for s in [1u64, 99_999_999_999_999] {
        fs::write(folder.join(format!("test_00001_20251123_180000_seq_{s:04}.mp4")), b"x").unwrap();
    }
    let log = write(d.path(), "merge.log", celery_gap_line("test_00001", "2-5").as_bytes());
    let dir = d.path().join("30");
    let r = verify(&[
        "gate",
        "--dir",
        dir.to_str().unwrap(),
        "--celery-log",
        &log,
        "--max-seq",
        "100000000000000",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let gaps = v["cross"]["gaps"].to_string();
    assert!(gaps.contains("[2,5]") && gaps.contains("[6,99999999999998]"), "{gaps}");
}

/// Item 6: a `序号缺失` line claiming huge ranges stays a few ranges in memory
/// (four 3 KB lines of `1-99999` ranges used to take 943 MB).
#[test]
fn wide_server_gap_ranges_stay_ranges() {
    let d = tempfile::tempdir().unwrap();
    let ranges: Vec<String> = (0..400)
        .map(|i| format!("{}-{}", i * 100_000 + 1, i * 100_000 + 99_999))
        .collect();
    let mut text = String::new();
    for n in 1..=4 {
        text.push_str(&celery_gap_line(&format!("test_0000{n}"), &ranges.join(",")));
    }
    // A range wider than 100,000 used to be dropped without a word.
    text.push_str(&celery_gap_line("test_00005", "5-300000"));
    let log = write(d.path(), "merge.log", text.as_bytes());
    let r = verify(&["merge", "--log", &log, "--format", "json"]);
    assert!(r.code == 0 || r.code == 1, "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let gaps = v["server_gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 5);
    assert_eq!(gaps[0]["missing"].as_array().unwrap().len(), 400);
    assert_eq!(gaps[4]["missing"], serde_json::json!([[5, 300000]]));
    assert_eq!(v["summary"]["missing_seqs"], 4 * 400 * 99_999 + 299_996);
}

/// Item 11: `succeeded in NaNs` is no duration: the report has no NaN, and
/// `verify gate --merge` reads its own report back.
#[test]
fn non_finite_task_durations_never_reach_the_report() {
    let d = tempfile::tempdir().unwrap();
    let id = "0f0e0d0c-0b0a-0908-0706-050403020100";
    let text = format!(
        "[2025-11-23 18:00:00,100: INFO/MainProcess] Task tasks.merge_segments[{id}] received\n\
         [2025-11-23 18:00:00,200: INFO/ForkPoolWorker-1] Task tasks.merge_segments[{id}] succeeded in NaNs: 3\n\
         [2025-11-23 18:00:00,300: INFO/MainProcess] Task tasks.merge_segments[{id}a] received\n\
         [2025-11-23 18:00:00,400: INFO/ForkPoolWorker-1] Task tasks.merge_segments[{id}a] succeeded in infs: 3\n"
    );
    let log = write(d.path(), "merge.log", text.as_bytes());
    let r = verify(&["gate", "--celery-log", &log, "--format", "json"]);
    assert!(r.code == 0 || r.code == 1, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("NaN"), "{}", r.stdout);
    let report = write(d.path(), "gate.json", r.stdout.as_bytes());
    let back = verify(&["gate", "--merge", &report, "--format", "json"]);
    assert!(back.code == 0 || back.code == 1, "{}{}", back.stdout, back.stderr);
}

/// Item 13: no raw ESC, bidi or zero-width character reaches the terminal.
#[test]
fn hostile_names_are_escaped_in_the_terminal_table() {
    let d = tempfile::tempdir().unwrap();
    let dir = hostile_tree(d.path());
    let r = verify(&["seq", "--dir", dir.to_str().unwrap(), "--limit", "0"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    hidden_free(&r.stdout, "seq table");
    assert!(
        r.stdout.contains("test_00001\\u{200b}"),
        "the look-alike ID is visible:\n{}",
        r.stdout
    );
    let r = verify(&["gate", "--dir", dir.to_str().unwrap(), "--limit", "0"]);
    hidden_free(&r.stdout, "gate table");
}

/// Item 14: under --github no text forges a workflow command or trips the
/// runner's legacy `##[` matcher.
#[test]
fn hostile_names_cannot_forge_github_commands() {
    let d = tempfile::tempdir().unwrap();
    let dir = hostile_tree(d.path());
    let summary = d.path().join("summary.md");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(["gate", "--dir", dir.to_str().unwrap(), "--github", "--limit", "0"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\r') && !stdout.contains("##["), "{stdout}");
    for line in stdout.lines().filter(|l| l.starts_with("::")) {
        assert!(
            ["::error title=", "::warning title=", "::notice title="]
                .iter()
                .any(|p| line.starts_with(p)),
            "a forged command: {line}"
        );
        assert_eq!(line.matches("::").count(), 2, "one command per line: {line}");
    }
    let md = fs::read_to_string(&summary).unwrap();
    assert!(!md.contains("<img"), "{md}");
}

/// Item 15: Markdown cells are HTML-escaped and hold no CR.
#[test]
fn hostile_names_stay_text_in_markdown() {
    let d = tempfile::tempdir().unwrap();
    let dir = hostile_tree(d.path());
    let md = d.path().join("gate.md");
    verify(&[
        "gate",
        "--dir",
        dir.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    let text = fs::read_to_string(&md).unwrap();
    hidden_free(&text, "markdown");
    assert!(
        !text.contains("<img") && !text.contains("<!--") && text.contains("&lt;img"),
        "{text}"
    );
}

/// Item 16: the HTML page cannot be cut short or commented out by a name,
/// and a folder named `__REPORT__` is not taken for the placeholder.
#[test]
fn hostile_names_cannot_break_the_html_page() {
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("__REPORT__");
    let dir = hostile_tree(&base);
    let page = d.path().join("gate.html");
    verify(&["gate", "--dir", dir.to_str().unwrap(), "--html", page.to_str().unwrap()]);
    let html = fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<!--<script>") && !html.contains("<img"),
        "raw markup from a name"
    );
    let start = html.find(r#"<script id="report" type="application/json">"#).unwrap();
    let json_start = start + r#"<script id="report" type="application/json">"#.len();
    let json_end = json_start + html[json_start..].find("</script>").unwrap();
    let v: serde_json::Value = serde_json::from_str(&html[json_start..json_end]).expect("the embedded JSON is whole");
    assert!(
        v.to_string().contains("__REPORT__"),
        "the folder name is data, not the placeholder"
    );
    assert!(
        v.to_string().contains("<img"),
        "the JSON still says what the name was (escaped as \\u003c)"
    );
}
