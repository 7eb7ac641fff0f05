//! Log lines of every shape we read: gunicorn error and access logs, celery,
//! Python logging. No input may panic the header, stamp, celery, login or
//! merge-line parsers.
#![no_main]
use libfuzzer_sys::fuzz_target;
use verify::classify::{celery, login::LoginMatcher, logline, mergeline};

/// Built once: compiling the regex per input would be all this target measures.
static MATCHER: std::sync::LazyLock<LoginMatcher> = std::sync::LazyLock::new(|| LoginMatcher::new("登录成功", "test_").with_logout(Some("登出"), "test_"));

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let _ = logline::header(&line);
    let _ = logline::iso_stamp(&line);
    let _ = logline::access_stamp(&line);
    if let Some(l) = celery::parse(&line) {
        let _ = celery::task_event(l.message);
    }
    let _ = celery::task_event(&line);
    let _ = MATCHER.observe(&line, 0, 1);
    // The merge worker's messages (both real wordings, fields, results).
    let _ = (mergeline::student(&line), mergeline::exam(&line), mergeline::started_task(&line));
    let _ = (mergeline::says_skipped(&line), mergeline::ffmpeg_failure(&line), mergeline::failure_echo(&line));
    let _ = mergeline::task_result(&line).skipped();
});
