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
