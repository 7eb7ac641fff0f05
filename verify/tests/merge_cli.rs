//! `verify merge` end to end on real celery logs (fixtures/logs/target,
//! captured from the reference target) and on logs made odd on purpose.

mod support;

use std::fs;

use support::{fixtures, verify};
use verify::report::merge::{MergeKind, MergeReport};

fn json(args: &[&str]) -> (i32, MergeReport) {
    let mut all = vec!["merge", "--format", "json"];
    all.extend_from_slice(args);
    let run = verify(&all);
    let r = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("strict JSON: {e}\n{}\n{}", run.stdout, run.stderr));
    (run.code, r)
}

#[test]
fn real_celery_logs_tasks_failures_retries_and_server_gaps() {
    let glob = format!("{}/celery_worker_merge.log*", fixtures().join("logs/target").display());
    let (code, r) = json(&["--log", &glob]);
    assert_eq!(code, 1);
    assert_eq!(r.schema, "verify.merge/1");
    assert_eq!(r.failed_on, [MergeKind::ServerGap, MergeKind::TaskFailed]);
    let merge = r.tasks.iter().find(|t| t.name == "tasks.merge_segments").unwrap();
    assert_eq!(
        (
            merge.received,
            merge.succeeded,
            merge.failed,
            merge.retried,
            merge.never_finished
        ),
        (9, 8, 1, 2, 0)
    );
    assert!(merge.duration_ms.is_some());
    assert_eq!(r.failures.len(), 1);
    assert_eq!(
        (r.failures[0].exception.as_str(), r.failures[0].count),
        ("ValueError", 1)
    );
    assert!(r.failures[0].samples[0].text.contains("test_00008"));
    let gaps: Vec<(&str, &[[u64; 2]])> = r
        .server_gaps
        .iter()
        .map(|g| (g.id.as_str(), g.missing.as_slice()))
        .collect();
    assert_eq!(gaps, [("test_00006", &[[3, 3]][..])]);
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].id, "test_00007");
    assert!(
        r.summary.continuation_lines >= 3,
        "the traceback is kept as continuation lines"
    );
}

#[test]
fn status_log_is_clean_and_never_finished_tasks_fail() {
    let status = fixtures()
        .join("logs/target/celery_worker_status.log")
        .display()
        .to_string();
    let (code, r) = json(&["--log", &status]);
    assert_eq!((code, r.summary.failed, r.server_gaps.len()), (0, 0, 0));
    assert!(r.tasks[0].succeeded > 0);

    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("merge.log");
    fs::write(
        &log,
        "[2025-11-23 18:00:00,001: INFO/MainProcess] Task tasks.merge_segments[0a0b0c0d-0000-4000-8000-000000000001] received\n\
         [2025-11-23 18:00:00,002: INFO/MainProcess] Task tasks.merge_segments[0a0b0c0d-0000-4000-8000-000000000002] received\n\
         [2025-11-23 18:00:00,010: INFO/ForkPoolWorker-1] Task tasks.merge_segments[0a0b0c0d-0000-4000-8000-000000000002] succeeded in 0.5s: 3\n\
         [2025-11-23 18:00:01,000: WARNING/ForkPoolWorker-1] tasks.merge_segments[0a0b0c0d-0000-4000-8000-000000000002]: 学生 test_00042 缺失序号: [4, 6-7]\n\
         not a celery line\n",
    )
    .unwrap();
    let (code, r) = json(&["--log", log.to_str().unwrap(), "--gap-event", "缺失序号"]);
    assert_eq!(code, 1);
    assert_eq!(r.never_finished.len(), 1);
    assert_eq!(r.never_finished[0].id, "0a0b0c0d-0000-4000-8000-000000000001");
    assert_eq!(r.server_gaps[0].missing, [[4, 4], [6, 7]]);
    assert_eq!(r.summary.missing_seqs, 3);
    assert_eq!(r.summary.continuation_lines, 1);
}

/// The real server's merge worker log (both wordings, skips, re-queues,
/// ffmpeg failures): fixtures/logs/merge-worker.
fn real_server_logs() -> String {
    format!("{}/*.log", fixtures().join("logs/merge-worker").display())
}

#[test]
fn real_server_wordings_skipped_merges_requeues_and_ffmpeg_failures() {
    let (code, r) = json(&["--log", &real_server_logs()]);
    assert_eq!(code, 1);
    assert_eq!(
        r.failed_on,
        [MergeKind::ServerGap, MergeKind::MergeSkipped, MergeKind::TaskFailed]
    );
    // Both wordings are server gaps, read from 学生=/缺失序号= whatever the ID
    // prefix; a gap a re-queued student repeats is one entry with its count.
    let gaps: Vec<String> = r
        .server_gaps
        .iter()
        .map(|g| {
            format!(
                "{}/{} {:?} x{}",
                g.exam.as_deref().unwrap_or("-"),
                g.id,
                g.missing,
                g.times
            )
        })
        .collect();
    assert_eq!(
        gaps,
        [
            "11/2023010102 [[2, 2]] x1",
            "12/2023010103 [[3, 4]] x10",
            "12/2023010105 [[2, 2]] x1",
            "13/2023020201 [[3, 3]] x1",
        ]
    );
    // A skipped merge is a finding, once per student with its re-queues; one
    // merged at a later run is not.
    let skipped: Vec<(&str, u64, u64)> = r
        .merge_skipped
        .iter()
        .map(|m| (m.id.as_str(), m.runs, m.requeued))
        .collect();
    assert_eq!(skipped, [("2023010103", 10, 9), ("2023020201", 1, 0)]);
    // …and never a success: 18 tasks, 4 merged, 12 skipped runs, 2 failed.
    let t = &r.tasks[0];
    assert_eq!(
        (t.received, t.succeeded, t.skipped, t.failed, t.never_finished),
        (18, 4, 12, 2, 0)
    );
    assert_eq!(
        (r.summary.succeeded, r.summary.skipped, r.summary.students_skipped),
        (4, 12, 2)
    );
    // ffmpeg's stderr is a continuation of the failing task: failures and
    // retries per student, no warning, no header.
    let s = r.students.iter().find(|s| s.id == "2023010104").unwrap();
    assert_eq!(
        (s.tasks, s.requeued, s.retries, s.ffmpeg_failures, s.merged),
        (2, 1, 6, 8, false)
    );
    let s = r.students.iter().find(|s| s.id == "2023010105").unwrap();
    assert_eq!((s.skipped, s.requeued, s.merged), (1, 1, true));
    assert_eq!(r.summary.ffmpeg_failures, 8);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(
        r.summary.celery_lines + r.summary.continuation_lines + 9,
        r.summary.lines,
        "every line is a header or a continuation (9 blank)"
    );
}

#[test]
fn exam_leaves_out_tasks_of_other_exams() {
    let (code, r) = json(&["--log", &real_server_logs(), "--exam", "12"]);
    assert_eq!(code, 1);
    assert_eq!((r.summary.tasks, r.summary.other_exam_tasks), (15, 3));
    assert!(r.server_gaps.iter().all(|g| g.exam.as_deref() == Some("12")));
    assert_eq!(r.merge_skipped.len(), 1);
    assert_eq!(r.merge_skipped[0].id, "2023010103");
    let (_, r) = json(&["--log", &real_server_logs(), "--exam", "13", "--exam", "11"]);
    let ids: Vec<&str> = r.server_gaps.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["2023010102", "2023020201"]);
    assert_eq!(
        (r.summary.tasks, r.summary.failed, r.summary.ffmpeg_failures),
        (3, 0, 0)
    );
    // An exam the log does not hold: nothing audited fails, and says why.
    let run = verify(&["merge", "--log", &real_server_logs(), "--exam", "99"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("other exams left out (--exam)"), "{}", run.stdout);
}

#[test]
fn every_format_shows_skips_requeues_and_ffmpeg_failures_sanitized() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("merge.log");
    let mut text = fs::read_to_string(fixtures().join("logs/merge-worker/celery_worker_merge.log")).unwrap();
    // A hostile ID: the terminal escape must not reach any output.
    text.push_str(
        "[2026-04-15 10:40:00,001: WARNING/ForkPoolWorker-1] [视频合并] 序号不连续，跳过合并: \
         考试=12, 学生=evil\u{1b}[2J, 缺失序号=[7], 实际序号范围=1-8\n",
    );
    fs::write(&log, text).unwrap();
    let (junit, html) = (tmp.path().join("r.xml"), tmp.path().join("r.html"));
    let run = verify(&[
        "merge",
        "--log",
        log.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--color",
        "never",
        "--limit",
        "0",
    ]);
    assert_eq!(run.code, 1);
    let gate = verify(&[
        "gate",
        "--celery-log",
        log.to_str().unwrap(),
        "--github",
        "--color",
        "never",
    ]);
    assert_eq!(gate.code, 1, "{}", gate.stderr);
    // The page draws its rows from the embedded JSON, with the same words.
    let page = fs::read_to_string(&html).unwrap();
    for part in [
        "\"merge_skipped\":[{\"id\":\"2023010103\"",
        "\"requeued\":9",
        "\"ffmpeg_failures\":8",
        "\"merge_skipped\", m.id",
        "\" ffmpeg failure(s), \"",
    ] {
        assert!(page.contains(part), "html lacks {part}");
    }
    assert!(!page.contains('\u{1b}'), "html holds a raw escape");
    for (what, out) in [
        ("text", run.stdout.clone()),
        ("junit", fs::read_to_string(&junit).unwrap()),
        ("github", gate.stdout.clone()),
    ] {
        assert!(out.contains("merge_skipped"), "{what}: {out}");
        assert!(out.contains("re-queued 9 time(s)"), "{what}: {out}");
        assert!(out.contains("8 ffmpeg failure(s)"), "{what}: {out}");
        assert!(!out.contains('\u{1b}'), "{what} holds a raw escape");
    }
}

/// A log of one line over the 64 MiB line cap (garbage, or a file of NULs)
/// holds no task: `no_tasks`, exit 1, not a pass over "0 lines" (hostile
/// review: the skipped line was not counted).
#[test]
fn a_log_of_one_overlong_line_names_no_task() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("huge.log");
    fs::write(&p, vec![b'a'; (64 << 20) + 10]).unwrap();
    let (code, r) = json(&["--log", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!((r.summary.lines, r.summary.tasks, r.summary.no_tasks()), (1, 0, 1));
}
