//! celery worker log lines: `[2025-11-23 18:00:00,123: INFO/ForkPoolWorker-1] message`,
//! and the task lifecycle messages celery writes in them.

use super::logline::{Stamp, iso_stamp};

/// The header and message of one celery line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeleryLine<'a> {
    /// When it was written.
    pub time: Option<Stamp>,
    /// `INFO`, `WARNING`, `ERROR`, …
    pub level: &'a str,
    /// `MainProcess`, `ForkPoolWorker-1`, …
    pub process: &'a str,
    /// The rest of the line.
    pub message: &'a str,
}

/// Parses a celery line; `None` for other lines (traceback continuations, …).
pub fn parse(line: &str) -> Option<CeleryLine<'_>> {
    let rest = line.trim_start_matches('\0').strip_prefix('[')?;
    let close = rest.find("] ")?;
    let (head, message) = (&rest[..close], &rest[close + 2..]);
    let (time, who) = head.rsplit_once(": ")?;
    let (level, process) = who.split_once('/')?;
    if level.is_empty() || !level.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    // A header carries a real time and a process name: ffmpeg's stderr,
    // logged unindented inside a task's message (`[mov,mp4,… @ 0x…] …`,
    // `[concat @ 0x…] Impossible to open '…': No such file`), stays a
    // continuation of that message whatever brackets and colons it holds.
    let time = iso_stamp(time)?;
    if process.is_empty() || process.contains(char::is_whitespace) {
        return None;
    }
    Some(CeleryLine {
        time: Some(time),
        level,
        process,
        message,
    })
}

/// What celery says about a task.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskEvent<'a> {
    /// `Task name[id] received`
    Received { name: &'a str, id: &'a str },
    /// `Task name[id] succeeded in 0.12s: result`
    Succeeded {
        name: &'a str,
        id: &'a str,
        seconds: Option<f64>,
        /// The task's return value as celery printed it (`{'status': 'skipped', …}`).
        result: &'a str,
    },
    /// `Task name[id] raised unexpected: ValueError('…')` (and other failure words)
    Failed {
        name: &'a str,
        id: &'a str,
        exception: String,
        detail: &'a str,
    },
    /// `Task name[id] retry: Retry in 1s`
    Retried { name: &'a str, id: &'a str },
    /// A message the task logged: `name[id]: text`
    Message { name: &'a str, id: &'a str, text: &'a str },
}

/// `name[id]` at the start of `s`, and what follows it.
fn name_id(s: &str) -> Option<(&str, &str, &str)> {
    let open = s.find('[')?;
    let close = open + s[open..].find(']')?;
    let (name, id) = (&s[..open], &s[open + 1..close]);
    let ok = !name.is_empty()
        && !name.contains(' ')
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    ok.then(|| (name, id, &s[close + 1..]))
}

/// The exception type at the start of `ValueError('…')` / `app.Err: …`.
fn exception_type(detail: &str) -> String {
    let end = detail
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(detail.len());
    let t = &detail[..end];
    if t.is_empty() {
        "unknown".to_string()
    } else {
        t.to_string()
    }
}

/// Reads a task event from a celery message.
pub fn task_event(message: &str) -> Option<TaskEvent<'_>> {
    if let Some(rest) = message.strip_prefix("Task ") {
        let (name, id, after) = name_id(rest)?;
        let after = after.trim_start();
        if after == "received" {
            return Some(TaskEvent::Received { name, id });
        }
        if let Some(t) = after.strip_prefix("succeeded in ") {
            let (secs, result) = t.split_once("s:").unwrap_or((t.trim_end_matches('s'), ""));
            let result = result.trim();
            let seconds = secs
                .trim()
                .parse::<f64>()
                .ok()
                // NaN, infinities and negatives are no durations: a NaN would
                // reach the JSON as null and make the report unreadable.
                .filter(|s| s.is_finite() && *s >= 0.0);
            return Some(TaskEvent::Succeeded {
                name,
                id,
                seconds,
                result,
            });
        }
        if after.starts_with("retry:") {
            return Some(TaskEvent::Retried { name, id });
        }
        for word in ["raised unexpected:", "raised:", "failed:", "ignored", "rejected"] {
            if let Some(d) = after.strip_prefix(word) {
                let detail = d.trim();
                return Some(TaskEvent::Failed {
                    name,
                    id,
                    exception: exception_type(detail),
                    detail,
                });
            }
        }
        return None;
    }
    let (name, id, after) = name_id(message)?;
    let text = after.strip_prefix(':')?.trim_start();
    Some(TaskEvent::Message { name, id, text })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "7e327765-8d64-4867-9a4e-6e4e2a9952dc";

    #[test]
    fn parses_headers_and_lifecycle() {
        let text = format!(
            "[2026-11-25 00:06:57,701: INFO/ForkPoolWorker-1] Task tasks.merge_segments[{ID}] succeeded in 0.0009175s: 3"
        );
        let l = parse(&text).unwrap();
        assert_eq!((l.level, l.process), ("INFO", "ForkPoolWorker-1"));
        assert_eq!(l.time.unwrap().text, "2026-11-25 00:06:57,701");
        assert_eq!(
            task_event(l.message),
            Some(TaskEvent::Succeeded {
                name: "tasks.merge_segments",
                id: ID,
                seconds: Some(0.0009175),
                result: "3"
            })
        );
        assert_eq!(
            task_event(&format!("Task t.a[{ID}] received")),
            Some(TaskEvent::Received { name: "t.a", id: ID })
        );
        assert_eq!(
            task_event(&format!("Task t.a[{ID}] retry: Retry in 1s")),
            Some(TaskEvent::Retried { name: "t.a", id: ID })
        );
        match task_event(&format!(
            "Task t.a[{ID}] raised unexpected: ValueError('empty segment x')"
        )) {
            Some(TaskEvent::Failed { exception, .. }) => assert_eq!(exception, "ValueError"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            task_event(&format!("t.a[{ID}]: 序号缺失 student_id=test_00006 missing=3")),
            Some(TaskEvent::Message {
                name: "t.a",
                id: ID,
                text: "序号缺失 student_id=test_00006 missing=3"
            })
        );
    }

    #[test]
    fn other_lines_are_not_celery_lines() {
        assert_eq!(parse("Traceback (most recent call last):"), None);
        assert_eq!(parse("  File \"x.py\", line 1"), None);
        assert_eq!(parse("[2025-11-23 18:00:00 +0800] [12] [INFO] gunicorn"), None);
        assert_eq!(task_event("merge@vm ready."), None);
        // ffmpeg's stderr inside a message, and anything without a real time.
        assert_eq!(
            parse("[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d1c3a7e900] moov atom not found"),
            None
        );
        assert_eq!(parse("[concat @ 0x55: ERROR/x] Impossible to open 'a.mp4'"), None);
        assert_eq!(parse("[2026-04-15 10:30:00,611: ERROR/Fork Pool] x"), None);
    }

    proptest! {
        #[test]
        fn never_panics(line in "\\PC{0,100}") {
            if let Some(l) = parse(&line) {
                let _ = task_event(l.message);
            }
            let _ = task_event(&line);
        }
    }
}
