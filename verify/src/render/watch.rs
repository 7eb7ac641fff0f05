//! `verify watch` on the terminal: alerts as lines, the summary as a line
//! (rewritten in place on a terminal), and the closing line. Everything that
//! came from a log or a file name is escaped here.

use std::io::{self, Write};
use std::time::SystemTime;

use crate::audit::fold::live::WatchEvent;
use crate::audit::fold::{Alert, Tally};
use crate::audit::ranges;
use common::text::escape_str;

/// How output lines are laid out: plain lines, or (on a terminal) alerts above
/// a summary line that is rewritten in place.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    pub in_place: bool,
    /// The terminal's columns (or `COLUMNS`): a summary rewritten in place
    /// must fit one line, or each redraw leaves a wrapped copy behind.
    pub width: Option<usize>,
}

impl Screen {
    /// An alert (or a final line): on a terminal it first clears the summary line.
    pub fn line(&self, text: &str) -> String {
        if self.in_place {
            format!("\r\x1b[2K{text}\n")
        } else {
            format!("{text}\n")
        }
    }

    /// The summary: rewritten in place on a terminal, a new line otherwise.
    pub fn summary(&self, text: &str) -> String {
        if self.in_place {
            // One column spare: a line that fills the last one wraps on some terminals.
            let fitted = crate::render::table::fit(text, self.width.map(|w| w.saturating_sub(1)));
            format!("\r\x1b[2K{fitted}")
        } else {
            format!("{text}\n")
        }
    }

    /// Writes one event.
    pub fn write(&self, out: &mut dyn Write, ev: &WatchEvent) -> io::Result<()> {
        let text = match ev {
            WatchEvent::Alert { at, alert } => self.line(&format!("[{}] {}", stamp(*at), alert_text(alert))),
            WatchEvent::Summary {
                at,
                tally,
                lines_per_s,
                files_per_s,
            } => self.summary(&format!(
                "[{}] {}, {lines_per_s:.0} lines/s, {files_per_s:.0} folder reads/s",
                stamp(*at),
                tally_text(tally)
            )),
            WatchEvent::HeldBack { at, count } => self.line(&format!(
                "[{}] {count} more alert(s) held back (over --max-alerts-per-second; all are in the final report)",
                stamp(*at)
            )),
            WatchEvent::Stopping { at } => self.line(&format!(
                "[{}] stopping (signal: SIGINT, SIGTERM or SIGHUP)",
                stamp(*at)
            )),
            WatchEvent::Done { at, stats } => self.line(&format!(
                "[{}] watched {:.0} s: {} lines ({} rotations, {} truncations), {} folder reads",
                stamp(*at),
                stats.seconds,
                stats.lines,
                stats.rotations,
                stats.truncations,
                stats.folder_reads
            )),
        };
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

/// One alert, escaped.
pub fn alert_text(a: &Alert) -> String {
    match a {
        Alert::DuplicateLogin { id, evidence } => {
            format!("ALERT duplicate login {}: {}", escape_str(id), escape_str(evidence))
        }
        Alert::ServerGap { id, missing } => format!(
            "ALERT server reports missing seq {} for {}",
            ranges::format(missing),
            escape_str(id)
        ),
        Alert::GapConfirmed {
            exam,
            id,
            missing,
            grace,
        } => format!(
            "ALERT gap confirmed: {}{} seq {} missing ({} seqs; a later seq arrived {} s ago)",
            exam.as_deref()
                .map(|e| format!("exam {} ", escape_str(e)))
                .unwrap_or_default(),
            escape_str(id),
            ranges::format(missing),
            ranges::count(missing),
            grace.as_secs()
        ),
    }
}

fn tally_text(t: &Tally) -> String {
    let expected = if t.expected > 0 {
        format!(" of {} expected", t.expected)
    } else {
        String::new()
    };
    let latest = match t.latest {
        Some([a, b]) if a != b => format!("{a}-{b}"),
        Some([a, _]) => a.to_string(),
        None => "-".into(),
    };
    format!(
        "logins {} ({} distinct{expected}), duplicate IDs {}, students uploading {}, latest seqs {latest}, seqs confirmed missing {}, server gaps {}",
        t.logins, t.distinct, t.duplicates, t.uploading, t.gaps_confirmed, t.server_gaps
    )
}

fn stamp(at: SystemTime) -> String {
    let secs = at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_layout_rewrites_the_summary_and_prints_alerts_above_it() {
        let tty = Screen {
            in_place: true,
            width: None,
        };
        assert_eq!(tty.summary("s"), "\r\x1b[2Ks");
        assert_eq!(tty.line("ALERT x"), "\r\x1b[2KALERT x\n");
        let plain = Screen {
            in_place: false,
            width: Some(40),
        };
        assert_eq!(plain.summary("s"), "s\n");
        assert_eq!(plain.line("ALERT x"), "ALERT x\n");
    }

    /// Issue 27: a summary wider than the terminal wraps, and the next
    /// redraw (`\r`, clear line) leaves the wrapped part behind.
    #[test]
    fn the_summary_rewritten_in_place_fits_one_line() {
        let tty = Screen {
            in_place: true,
            width: Some(60),
        };
        let long = "[10:00:00Z] logins 12000 (11990 IDs of 12000 expected), 3 duplicates, 11990 uploading";
        let out = tty.summary(long);
        let line = out.trim_start_matches("\r\x1b[2K");
        assert_eq!(line.chars().count(), 59, "{line}");
        assert!(line.ends_with('…') && line.starts_with("[10:00:00Z] logins 12000"));
    }

    #[test]
    fn alerts_escape_what_came_from_logs_and_names() {
        let a = Alert::DuplicateLogin {
            id: "test_1\x1b]0;pwn\x07".into(),
            evidence: "from 10.0.0.1\u{202e}".into(),
        };
        let t = alert_text(&a);
        assert!(!t.contains('\x1b') && !t.contains('\u{202e}'), "{t}");
        let g = Alert::GapConfirmed {
            exam: Some("30".into()),
            id: "test_00001".into(),
            missing: vec![[2, 99_999_999_999_998]],
            grace: std::time::Duration::ZERO,
        };
        assert_eq!(
            alert_text(&g),
            "ALERT gap confirmed: exam 30 test_00001 seq 2-99999999999998 missing (99999999999997 seqs; a later seq arrived 0 s ago)"
        );
    }
}
