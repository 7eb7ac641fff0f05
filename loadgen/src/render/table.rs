//! The final report for people, and the live progress line. Text that came
//! from a scenario file or the command line (task names, paths, IDs, the
//! host) is sanitized here, where it meets the terminal.

use std::io::{self, Write};
use std::time::Duration;

use common::exit::Verdict;
use common::text::escape_str;

use super::endpoints::ms;
use crate::report::RunReport;
use crate::stats::Collector;

/// One line of live progress.
pub fn progress_line(c: &Collector, elapsed: Duration, planned: u64) -> String {
    let t = c.total();
    let last = c.history().last();
    let rps = last.map_or(0.0, |h| h.requests_per_s);
    let p99 = last.and_then(|h| h.percentiles_ms.get(7).copied());
    let late = last.and_then(|h| h.lateness_p99_ms);
    format!(
        "[{:>5}s] students {}/{} | requests {} ({} failed) | {:.1} req/s | p99 {} | lateness p99 {}",
        elapsed.as_secs(),
        c.active(),
        planned,
        t.requests(),
        t.failures(),
        rps,
        p99.map_or("-".into(), |v| format!("{v} ms")),
        late.map_or("-".into(), |v| format!("{v:.0} ms")),
    )
}

/// Writes the final report, the whole table whatever the width.
pub fn write<W: Write>(out: &mut W, r: &RunReport) -> io::Result<()> {
    write_fitted(out, r, None)
}

/// Writes the final report with no line wider than `width` (the terminal's:
/// see `width::terminal`); `None`: everything whole.
pub fn write_fitted<W: Write>(out: &mut W, r: &RunReport, width: Option<usize>) -> io::Result<()> {
    let mut buf = Vec::new();
    body(&mut buf, r, width)?;
    out.write_all(super::width::wrap(&String::from_utf8_lossy(&buf), width).as_bytes())
}

fn body<W: Write>(out: &mut W, r: &RunReport, width: Option<usize>) -> io::Result<()> {
    writeln!(
        out,
        "loadgen run: {} for {:.1} s, students {} ({})",
        escape_str(&r.host),
        r.duration_s,
        escape_str(&r.id_range),
        escape_str(&r.id_source)
    )?;
    if !r.ids_outside_population.is_empty() {
        writeln!(
            out,
            "IDs outside the population (users moved between workers; enrol them): {}",
            r.ids_outside_population.join(", ")
        )?;
    }
    let (table, paths) = super::endpoints::fitted(r, width);
    writeln!(out, "{table}")?;
    if !paths.is_empty() {
        writeln!(out, "requests:")?;
        for p in paths {
            writeln!(out, "{p}")?;
        }
    }
    let s = &r.students;
    writeln!(
        out,
        "students: {} planned, {} started, {} logged in, {} logged out; {} sequenced uploads",
        s.planned, s.spawned, s.logged_in, s.finished, s.segments_uploaded
    )?;
    for l in &r.task_lateness {
        if l.runs == 0 {
            // A queued task's lateness is its flush timer's: uploads that all
            // came in the exit passes (`--segments` ended the students before
            // a timed flush) were sent, but never on a plan.
            let sent = r.endpoints.iter().find(|e| e.name == l.name).map_or(0, |e| e.requests);
            let why = if sent > 0 && r.queue.is_some() {
                format!("no timed flush; its {sent} request(s) came in the exit passes")
            } else {
                "no runs".to_string()
            };
            writeln!(out, "{} lateness (start vs plan): - ({why})", escape_str(&l.name))?;
            continue;
        }
        writeln!(
            out,
            "{} lateness (start vs plan): p50 {} ms, p90 {} ms, p99 {} ms, max {} ms over {} runs",
            escape_str(&l.name),
            ms(l.p50_ms),
            ms(l.p90_ms),
            ms(l.p99_ms),
            ms(l.max_ms),
            l.runs
        )?;
    }
    if !s.ended_abnormally.is_empty() {
        let items: Vec<String> = s
            .ended_abnormally
            .iter()
            .map(|a| escape_str(&format!("{} ({})", a.id, a.why)))
            .collect();
        writeln!(
            out,
            "ended abnormally ({}), failing the run: {}",
            items.len(),
            list(&items)
        )?;
    }
    if !s.login_failed.is_empty() {
        writeln!(
            out,
            "never logged in ({}): {}",
            s.login_failed.len(),
            list(&s.login_failed.iter().map(|i| escape_str(i)).collect::<Vec<_>>())
        )?;
    }
    for (what, issues) in [
        ("given up after retries", &s.gave_up),
        ("skipped on purpose", &s.skipped),
        ("still queued at exit, lost", &s.lost_at_exit),
        ("lost in a client restart (--restart-students)", &s.restarted),
        ("lost when the client was killed (--kill-students)", &s.killed),
    ] {
        if !issues.is_empty() {
            let items: Vec<String> = issues
                .iter()
                .map(|i| format!("{} seq {:?}", escape_str(&i.id), i.seqs))
                .collect();
            writeln!(out, "seqs {what} ({} students): {}", issues.len(), list(&items))?;
        }
    }
    if let Some(q) = &r.queue {
        writeln!(
            out,
            "local queues: at most {} segment(s) queued at once over all students, {} in one student's queue; \
             oldest queued segment {:.1} s at most; {} lost at exit",
            q.max_queued, q.max_student_depth, q.max_oldest_age_s, q.lost_at_exit
        )?;
    }
    if let Some(t) = &r.tls {
        writeln!(
            out,
            "TLS handshakes: {} (p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms)",
            t.handshakes, t.p50_ms, t.p99_ms, t.max_ms
        )?;
        if t.insecure {
            writeln!(out, "WARNING: --insecure: the server's certificate was not verified")?;
        }
        let failed_tls = r.total.failure_kinds.get("tls").copied().unwrap_or(0);
        if failed_tls > 0 {
            writeln!(
                out,
                "{failed_tls} request(s) failed the TLS handshake: the server's certificate is not trusted for this host \
                 (give --cacert with the CA that signed it, or --insecure), or the port does not speak TLS"
            )?;
        }
    }
    for h in &r.hints {
        writeln!(out, "hint: {}", escape_str(h))?;
    }
    let verdict = match (r.verdict, r.interrupted) {
        (Verdict::Pass, _) => "PASS",
        (Verdict::Fail, false) => "FAIL",
        (Verdict::Fail, true) => "FAIL, INTERRUPTED",
        _ => "INTERRUPTED",
    };
    writeln!(
        out,
        "{verdict}: failure ratio {:.4} (limit {}){}",
        r.fail_ratio,
        r.max_fail_ratio,
        if r.interrupted {
            let by = r.stopped_by.as_deref().map_or("the master's loss".into(), escape_str);
            format!(
                "; ended before its plan ({by} after {:.1} s): the figures cover only that part",
                r.duration_s
            )
        } else {
            String::new()
        }
    )
}

/// At most `n` characters, an ellipsis when cut.
pub(super) fn cut(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn list(items: &[String]) -> String {
    let mut s = items.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 10 {
        s.push_str(&format!(" …+{} more (see --json)", items.len() - 10));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{AbnormalEnd, EndpointReport, Latency, Lateness, Students, TaskLateness};

    /// Issue 24 item 17: names from the scenario file (ESC, CR) are escaped
    /// in the table, the lateness lines and the lists of students.
    #[test]
    fn names_holding_terminal_controls_are_escaped() {
        let hostile = "be\u{1b}[2Jat\r";
        let ep = EndpointReport {
            name: hostile.into(),
            method: "POST".into(),
            path: "/b\u{1b}]0;x\u{7}".into(),
            requests: 1,
            failures: 1,
            failure_kinds: [(format!("capture {hostile} missing"), 1)].into(),
            failure_answers: [(
                format!("capture {hostile} missing"),
                serde_json::json!({ "message": hostile }).to_string(),
            )]
            .into(),
            requests_per_s: 1.0,
            failures_per_s: 1.0,
            bytes_sent: 0,
            bytes_received: 0,
            avg_response_bytes: 0.0,
            latency_ms: Latency::default(),
            percentiles_ms: vec![],
        };
        let r = RunReport {
            schema: crate::report::SCHEMA.into(),
            verdict: common::exit::Verdict::Fail,
            host: "http://127.0.0.1:1".into(),
            id_range: "t\u{1b}1..t\u{1b}3".into(),
            id_source: "all".into(),
            duration_s: 1.0,
            students: Students {
                ended_abnormally: vec![AbnormalEnd {
                    id: "t\u{1b}1".into(),
                    why: "panicked".into(),
                }],
                login_failed: vec!["t\r2".into()],
                ..Students::default()
            },
            endpoints: vec![ep.clone()],
            total: ep,
            fail_ratio: 1.0,
            max_fail_ratio: 0.01,
            lateness: Lateness::default(),
            task_lateness: vec![TaskLateness {
                name: hostile.into(),
                ..TaskLateness::default()
            }],
            history: vec![],
            tls: None,
            ledger_error: Some("write l\u{1b}.ndjson: disk full".into()),
            stopped_by: None,
            interrupted: false,
            context: None,
            ids_outside_population: vec![],
            hints: vec![format!("hint {hostile}")],
            queue: None,
        };
        let mut out = Vec::new();
        write(&mut out, &r).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains(['\u{1b}', '\r', '\u{7}']), "{text:?}");
        assert!(text.contains("be\\u{1b}[2Jat\\r lateness"), "{text}");
        assert!(
            text.contains("capture be\\u{1b}[2Jat\\r missing: 1 \"be\\u{1b}[2Jat\\r\""),
            "{text}"
        );
        assert!(text.contains("hint: hint be\\u{1b}"), "{text}");
        assert!(
            text.contains("t\\u{1b}1 (panicked)") && text.contains("t\\r2"),
            "{text}"
        );
    }

    /// A run of the built-in scenario's shape: `login` answered, `heartbeat`
    /// never sent, a long failure list on `recording`.
    pub(super) fn sample() -> RunReport {
        let ep = |name: &str, path: &str, requests: u64, kinds: &[(&str, u64)]| EndpointReport {
            name: name.into(),
            method: "POST".into(),
            path: path.into(),
            requests,
            failures: kinds.iter().map(|k| k.1).sum(),
            failure_kinds: kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            requests_per_s: requests as f64,
            failures_per_s: 0.0,
            bytes_sent: requests * 9000,
            bytes_received: requests * 10,
            avg_response_bytes: 10.0,
            latency_ms: Latency {
                min: 1.5,
                p50: 2.0,
                p90: 3.0,
                p99: 26.2,
                max: 26.2,
                avg: 2.5,
            },
            percentiles_ms: vec![],
            failure_answers: Default::default(),
        };
        let mut idle = ep("heartbeat", "/api/supervise/heartbeat", 0, &[]);
        idle.latency_ms = Latency::default();
        let rec = ep(
            "recording",
            "/api/supervise/upload_recording_segment",
            1200,
            &[("http 500", 12), ("timeout", 3), ("connect", 1), ("reset", 2)],
        );
        let total = ep(
            "Aggregated",
            "",
            1212,
            &[("http 500", 12), ("timeout", 3), ("connect", 1), ("reset", 2)],
        );
        RunReport {
            schema: crate::report::SCHEMA.into(),
            verdict: common::exit::Verdict::Pass,
            host: "http://127.0.0.1:8000".into(),
            id_range: "test_00001..test_00012".into(),
            id_source: "all".into(),
            duration_s: 60.0,
            students: Students::default(),
            endpoints: vec![ep("login", "/api/supervise/login", 12, &[]), idle, rec],
            total,
            fail_ratio: 0.015,
            max_fail_ratio: 0.02,
            lateness: Lateness::default(),
            task_lateness: vec![TaskLateness {
                name: "heartbeat".into(),
                ..TaskLateness::default()
            }],
            history: vec![],
            tls: None,
            ledger_error: None,
            stopped_by: None,
            interrupted: false,
            context: None,
            ids_outside_population: vec![],
            hints: vec![],
            queue: None,
        }
    }

    fn text(r: &RunReport) -> String {
        let mut out = Vec::new();
        write(&mut out, r).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Issue 27: a request kind never sent shows `-` where latencies go, and
    /// a task that never ran gives no lateness figure.
    #[test]
    fn what_was_never_measured_shows_a_dash() {
        let t = text(&sample());
        let row = t.lines().find(|l| l.contains("heartbeat POST")).unwrap();
        let cells: Vec<&str> = row.split('│').map(str::trim).collect();
        assert_eq!(&cells[6..11], ["-", "-", "-", "-", "-"], "{row}");
        assert!(t.contains("heartbeat lateness (start vs plan): - (no runs)"), "{t}");
        assert!(!t.contains("over 0 runs"), "{t}");
        // A queued task whose uploads all came in the exit passes.
        let mut q = sample();
        q.queue = Some(crate::report::QueueReport::default());
        q.task_lateness[0].name = "recording".into();
        let t = text(&q);
        assert!(
            t.contains(
                "recording lateness (start vs plan): - (no timed flush; its 1200 request(s) came in the exit passes)"
            ),
            "{t}"
        );
    }

    /// Issue 27: the table is 129 columns whole; at 100 and 80 columns no
    /// line is wider (the paths move under the table, then columns go, then
    /// cells wrap), and every row is still there. No width: all of it.
    #[test]
    fn the_report_fits_100_and_80_columns() {
        let mut r = sample();
        r.interrupt();
        r.stopped_by = Some("SIGINT".into());
        let whole = {
            let mut out = Vec::new();
            write_fitted(&mut out, &r, None).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert!(whole.lines().any(|l| super::super::width::of(l) > 120), "{whole}");
        for w in [100, 80] {
            let mut out = Vec::new();
            write_fitted(&mut out, &r, Some(w)).unwrap();
            let t = String::from_utf8(out).unwrap();
            println!("{t}");
            assert!(t.lines().all(|l| super::super::width::of(l) <= w), "{w}:\n{t}");
            for name in ["login", "heartbeat", "recording", "Aggregated"] {
                assert!(
                    t.lines().any(|l| l.starts_with(&format!("│ {name} "))),
                    "{name} row at {w}:\n{t}"
                );
            }
            assert!(
                t.contains("  recording: POST /api/supervise/upload_recording_segment"),
                "{t}"
            );
            assert!(t.contains("p99"), "{t}");
            assert!(t.lines().any(|l| l.starts_with("INTERRUPTED: ")), "{t}");
        }
    }
}
