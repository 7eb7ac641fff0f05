//! Markdown for a PR comment or GitHub's job summary: verdict, summary table,
//! findings table (cut to fit a size budget).

use std::fmt::Write;

use super::AuditView;
use common::exit::Outcome;

/// A table cell: sanitized (no CR or newline can start a heading), HTML
/// escaped (a file named `<img …>` stays text), `|` escaped.
fn cell(s: &str) -> String {
    common::text::html(s).replace('|', "\\|")
}

/// The report as Markdown, at most `max_bytes` long (rows are dropped, and
/// counted, to stay within it).
pub fn render(audit: &dyn AuditView, max_bytes: usize) -> String {
    let mut out = String::new();
    let verdict = match audit.outcome() {
        Outcome::Clean => "✅ **PASS**".to_string(),
        Outcome::Findings => format!("❌ **FAIL** on {}", audit.failed_on().join(", ")),
        Outcome::Error => "⚠️ **ERROR**: some inputs could not be read".to_string(),
    };
    let _ = writeln!(out, "### {}\n\n{verdict}\n", cell(&audit.title()));
    let _ = writeln!(out, "| | value | note |\n|---|---:|---|");
    for [a, b, c] in audit.summary_rows() {
        let _ = writeln!(out, "| {} | {} | {} |", cell(&a), cell(&b), cell(&c));
    }
    let rows = audit.finding_rows();
    if !rows.is_empty() {
        let _ = writeln!(out, "\n| kind | student | detail |\n|---|---|---|");
        for (i, r) in rows.iter().enumerate() {
            let line = format!(
                "| {}{} | {} | {} |\n",
                cell(&r.label()),
                r.marker(),
                cell(&r.student),
                cell(&r.detail)
            );
            if out.len() + line.len() + 200 > max_bytes {
                let _ = writeln!(out, "\n… {} more findings (see the JSON report)", rows.len() - i);
                break;
            }
            out.push_str(&line);
        }
    }
    for e in audit.errors() {
        let line = format!("\n- error: `{}`: {}", cell(&e.path), cell(&e.error));
        if out.len() + line.len() < max_bytes {
            out.push_str(&line);
        }
    }
    out.push('\n');
    out
}
