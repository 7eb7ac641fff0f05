//! A self-contained HTML page (no network fetches) for a report: the report's
//! own JSON is embedded and drawn by a small script (segment map on a canvas,
//! duplicate-login time line, findings). The numbers are the JSON's numbers.
//! The fill (placeholders, script-safe JSON) is `common::html`, loadgen's too.

use std::ffi::OsString;
use std::io::{self, Write};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

const TEMPLATE: &str = include_str!("assets/report.html");

/// The command line after the program name, for the pages' heading.
static COMMAND: OnceLock<Vec<String>> = OnceLock::new();

/// Remembers the command line (program name first) the pages name.
pub fn remember_command(args: &[OsString]) {
    let _ = COMMAND.set(args.iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect());
}

/// What the page's heading says besides the report: which build wrote it,
/// when, and the command line.
#[derive(Serialize)]
struct Context<'a> {
    tool: String,
    generated_unix_ms: u64,
    command: &'a [String],
}

/// Writes the page for `report` (a seq, ids or gate report).
pub fn write<W: Write, R: Serialize>(out: &mut W, title: &str, report: &R) -> io::Result<()> {
    page(out, TEMPLATE, title, report)
}

/// Writes `template` filled (`common::html::page`) with verify's context:
/// the build, the time and the command line.
fn page<W: Write, R: Serialize>(out: &mut W, template: &str, title: &str, report: &R) -> io::Result<()> {
    let context = Context {
        tool: format!("verify {}", env!("CARGO_PKG_VERSION")),
        generated_unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        command: COMMAND.get().map_or(&[], Vec::as_slice),
    };
    common::html::page(out, template, title, &context, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 27: verify's pages say which build wrote them, when, and the
    /// command line; a template without the placeholder (loadgen's) is as it was.
    #[test]
    fn the_context_fills_its_placeholder_only() {
        remember_command(&["verify".into(), "gate".into(), "--dir".into(), "</script>".into()]);
        let mut out = Vec::new();
        page(&mut out, "<t>__TITLE__</t><c>__CONTEXT__</c><r>__REPORT__</r>", "T", &1).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(html.contains(r#"<c>{"tool":"verify "#), "{html}");
        assert!(
            html.contains(r#""command":["gate","--dir","\u003c/script\u003e"]}</c>"#),
            "{html}"
        );
        assert!(
            html.contains("\"generated_unix_ms\":1") || html.contains("\"generated_unix_ms\":2"),
            "{html}"
        );
        let mut out = Vec::new();
        page(&mut out, "<t>__TITLE__</t><r>__REPORT__</r>", "T", &1).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "<t>T</t><r>1</r>");
    }
}
