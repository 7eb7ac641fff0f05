//! Log lines of every shape we read: gunicorn error and access logs, celery,
//! Python logging. No input may panic the header, stamp or celery parsers.
#![no_main]
use libfuzzer_sys::fuzz_target;
use verify::classify::{celery, login::LoginMatcher, logline};

/// Built once: compiling the regex per input would be all this target measures.
static MATCHER: std::sync::LazyLock<LoginMatcher> = std::sync::LazyLock::new(|| LoginMatcher::new("登录成功", "test_"));

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
});
