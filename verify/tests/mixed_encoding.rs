//! Logs whose encoding changes between lines (a server restarted under
//! another locale keeps appending to the same file): every line is read in
//! the encoding it is written in, the file is flagged as mixing encodings,
//! and no login or gap line is lost to the other encoding.

mod support;

use std::fs;

use encoding_rs::GB18030;
use proptest::prelude::*;
use support::{fixtures, verify};
use verify::classify::login::LoginMatcher;
use verify::engine::ids::{IdsConfig, run_ids};
use verify::expect::Expectation;
use verify::findings::FailOn;
use verify::report::ids::IdsReport;
use verify::report::merge::MergeReport;
use verify::sources::logfile::EncodingChoice;

fn gb(text: &str) -> Vec<u8> {
    GB18030.encode(text).0.into_owned()
}

/// A login line as the fixtures' gunicorn logs write it.
fn login(time: &str, id: &str, ip: &str) -> String {
    format!("[2026-12-04 {time} +0800] [1] [INFO] 登录成功 student_id={id} exam_id=1 ip={ip}\n")
}

fn ids(args: &[&str]) -> (i32, IdsReport, String) {
    let mut all = vec!["ids", "--format", "json"];
    all.extend_from_slice(args);
    let run = verify(&all);
    let r: IdsReport = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not a report: {e}\n{}\n{}", run.stdout, run.stderr));
    (run.code, r, run.stderr)
}

fn merge(args: &[&str]) -> (i32, MergeReport) {
    let mut all = vec!["merge", "--format", "json"];
    all.extend_from_slice(args);
    let run = verify(&all);
    let r: MergeReport = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not a report: {e}\n{}\n{}", run.stdout, run.stderr));
    (run.code, r)
}

/// The hostile review's first case: a UTF-8 login, then the same ID 8 s
/// later from another client in GB18030. `auto` takes the file as GB18030
/// (its head is not UTF-8); the UTF-8 line used to read as garbage, one login,
/// no undecodable line, exit 0.
#[test]
fn ids_finds_the_login_in_each_encoding_and_the_collision() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("mix.log");
    let mut bytes = login("10:00:00", "test_00001", "127.0.0.1").into_bytes();
    bytes.extend(gb(&login("10:00:08", "test_00001", "127.0.0.2")));
    fs::write(&path, &bytes).unwrap();
    let p = path.to_str().unwrap();
    for enc in ["auto", "gb18030", "utf-8"] {
        let (code, r, stderr) = ids(&["--log", p, "--expect", "test_00001..test_00001", "--encoding", enc]);
        assert_eq!(code, 1, "{enc}: {stderr}");
        let s = &r.summary;
        assert_eq!(
            (
                s.login_events,
                s.collisions,
                s.undecodable_lines,
                s.mixed_encoding_lines
            ),
            (2, 1, 0, 1),
            "{enc}"
        );
        assert_eq!(r.files[0].mixed_encoding_lines, 1);
        assert_eq!(r.files[0].encoding, if enc == "utf-8" { "utf-8" } else { "gb18030" });
        assert!(
            r.warnings.iter().any(|w| w.contains("mixes encodings")),
            "{enc}: {:?}",
            r.warnings
        );
    }
    let text = verify(&["ids", "--log", p, "--expect", "test_00001..test_00001"]);
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("mixes encodings"), "{}", text.stdout);
}

/// A UTF-8 file whose GB18030 lines come after the sampled head: `auto` says
/// UTF-8, and the byte search must still find the GB18030 login, in one
/// thread or in ranges.
#[test]
fn ids_finds_a_gb18030_login_past_a_utf8_head() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("late.log");
    let mut bytes = login("10:00:00", "test_00001", "127.0.0.1").into_bytes();
    let filler = "[2026-12-04 10:00:01 +0800] [1] [INFO] 上传 test_00002 seq=1\n";
    while bytes.len() < (2 << 20) {
        bytes.extend_from_slice(filler.as_bytes());
    }
    bytes.extend(gb(&login("10:00:08", "test_00001", "127.0.0.2")));
    bytes.extend_from_slice(b"\xff not a line in any encoding\n");
    fs::write(&path, &bytes).unwrap();
    let p = path.to_str().unwrap();
    for threads in ["1", "2"] {
        let (code, r, _) = ids(&["--log", p, "-j", threads, "--expect", "test_00001..test_00001"]);
        let s = &r.summary;
        assert_eq!(code, 1);
        assert_eq!(r.files[0].encoding, "utf-8");
        assert_eq!(
            (s.login_events, s.collisions, s.mixed_encoding_lines),
            (2, 1, 1),
            "-j {threads}"
        );
    }
}

/// A clean celery log (the fixture's start-up and one merged task).
fn clean_celery() -> String {
    let fixture = fs::read_to_string(fixtures().join("logs/merge-worker/celery_worker_merge.log")).unwrap();
    let task = "6513270e";
    let lines: Vec<&str> = fixture
        .lines()
        .enumerate()
        .filter(|(i, l)| {
            *i < 10 || l.contains(task) || (l.starts_with("[2026-04-15 10:30:00,11") && l.contains("ForkPoolWorker-1]"))
        })
        .map(|(_, l)| l)
        .collect();
    lines.join("\n") + "\n"
}

/// The review's second case: a gap line in GB18030 appended to a clean UTF-8
/// celery log used to read as a garbled note, exit 0.
#[test]
fn merge_reads_a_gb18030_gap_line_in_a_utf8_log() {
    let tmp = tempfile::tempdir().unwrap();
    let gap = "[2026-04-15 10:35:00,114: WARNING/ForkPoolWorker-1] [视频合并] 序号不连续，跳过合并: \
               考试=12, 学生=test_00009, 缺失序号=[2], 实际序号范围=1-3\n";
    let clean = tmp.path().join("clean.log");
    fs::write(&clean, clean_celery()).unwrap();
    let (code, r) = merge(&["--log", clean.to_str().unwrap()]);
    assert_eq!((code, r.summary.tasks, r.summary.mixed_encoding_lines), (0, 1, 0));

    let utf8 = tmp.path().join("utf8.log");
    fs::write(&utf8, clean_celery() + gap).unwrap();
    let (code, r) = merge(&["--log", utf8.to_str().unwrap()]);
    assert_eq!(
        (code, r.summary.students_with_gaps, r.summary.mixed_encoding_lines),
        (1, 1, 0)
    );

    let mixed = tmp.path().join("mixed.log");
    let mut bytes = clean_celery().into_bytes();
    bytes.extend(gb(gap));
    fs::write(&mixed, &bytes).unwrap();
    let m = mixed.to_str().unwrap();
    let utf8_cjk_lines = clean_celery().lines().filter(|l| !l.is_ascii()).count() as u64;
    assert!(utf8_cjk_lines >= 4);
    for enc in ["auto", "utf-8", "gb18030"] {
        let (code, r) = merge(&["--log", m, "--encoding", enc]);
        assert_eq!(code, 1, "{enc}");
        assert_eq!(r.server_gaps.len(), 1, "{enc}");
        assert_eq!(r.server_gaps[0].id, "test_00009");
        // `auto` takes the file as UTF-8 (its head is neither valid UTF-8
        // nor valid GB18030) and reads the gap line as GB18030; `gb18030`
        // reads each UTF-8 line with Chinese as UTF-8.
        let (file_enc, mixed) = match enc {
            "gb18030" => ("gb18030", utf8_cjk_lines),
            _ => ("utf-8", 1),
        };
        assert_eq!(r.summary.students_with_gaps, 1);
        assert_eq!(
            (r.files[0].encoding.as_str(), r.summary.mixed_encoding_lines),
            (file_enc, mixed),
            "{enc}"
        );
        assert_eq!(r.files[0].mixed_encoding_lines, mixed);
    }
    let text = verify(&["merge", "--log", m]);
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("mix UTF-8 and GB18030"), "{}", text.stdout);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]
    /// Whatever the mix of UTF-8 and GB18030 lines, the encoding asked for
    /// and the split into ranges, every login line written is found.
    #[test]
    fn every_login_is_found_in_either_encoding(
        lines in proptest::collection::vec((0u8..3, 0u8..20, proptest::bool::ANY), 0..200),
        choice in 0usize..3,
        threads in 1usize..3,
    ) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let mut written = 0u64;
        let mut bytes = Vec::new();
        for (i, (kind, n, in_gb)) in lines.iter().enumerate() {
            let text = match kind {
                0 => {
                    written += 1;
                    login(&format!("10:{:02}:{:02}", i / 60 % 60, i % 60), &format!("test_{n:05}"), "127.0.0.1")
                }
                1 => format!("[2026-12-04 10:00:00 +0800] [1] [INFO] 上传视频 student_id=test_{n:05} seq=1\n"),
                _ => format!("[2026-12-04 10:00:00 +0800] [1] [INFO] Booting worker with pid: {n}\n"),
            };
            if *in_gb { bytes.extend(gb(&text)) } else { bytes.extend_from_slice(text.as_bytes()) }
        }
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        let cfg = IdsConfig {
            ledgers: Vec::new(),
            db: None,
            logs: vec![file.path().display().to_string()],
            matcher: LoginMatcher::new("登录成功", "test_"),
            encoding: [EncodingChoice::Auto, EncodingChoice::Utf8, EncodingChoice::Gb18030][choice],
            window_secs: 120,
            expect: Expectation::default(),
            fail_on: FailOn::default(),
            threads,
            split_min_bytes: 1, // always split: exercises the range seams
        };
        let r = run_ids(&cfg).unwrap();
        prop_assert_eq!(r.summary.login_events, written);
        prop_assert_eq!(r.summary.undecodable_lines, 0);
        prop_assert_eq!(r.summary.lines, lines.len() as u64);
    }
}
