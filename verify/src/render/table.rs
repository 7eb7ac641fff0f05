//! Human report: a summary table, a findings table cut at `--limit`, errors,
//! and a verdict line. Colour only when asked for (see `Style`).

use std::io::{self, Write};

use tabled::builder::Builder;
use tabled::settings::Style as TableStyle;

use super::AuditView;
use crate::exit::Outcome;
use crate::text::escape_str;

/// Presentation settings for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Use ANSI colours.
    pub color: bool,
    /// Maximum findings rows (0: all).
    pub limit: usize,
    /// A CI runner reads the output: break `::` and `##[` too.
    pub runner: bool,
}

/// Writes the human report.
pub fn write<W: Write>(out: &mut W, audit: &dyn AuditView, style: Style) -> io::Result<()> {
    // Every cell through the sanitizer at this boundary: text from file names
    // and log lines never reaches the terminal raw (ESC, bidi, zero-width).
    let clean = |s: &str| {
        if style.runner {
            crate::text::runner(s)
        } else {
            escape_str(s)
        }
    };
    writeln!(out, "{}", clean(&audit.title()))?;
    let mut summary = Builder::default();
    for row in audit.summary_rows() {
        summary.push_record(row.iter().map(|c| clean(c)));
    }
    writeln!(out, "{}", summary.build().with(TableStyle::rounded()))?;

    let rows = audit.finding_rows();
    if !rows.is_empty() {
        let shown = if style.limit == 0 {
            rows.len()
        } else {
            rows.len().min(style.limit)
        };
        writeln!(out, "\nFindings ({} of {}):", shown, rows.len())?;
        // Audits without exams (logs) leave the column out.
        let exams = rows.iter().any(|r| !r.exam.is_empty());
        let skip = usize::from(!exams);
        let mut table = Builder::default();
        table.push_record(["exam", "student", "kind", "detail"].into_iter().skip(skip));
        for r in &rows[..shown] {
            let kind = if r.fails {
                r.label()
            } else {
                format!("{} (note)", r.label())
            };
            table.push_record(
                [clean(&r.exam), clean(&r.student), clean(&kind), clean(&r.detail)]
                    .into_iter()
                    .skip(skip),
            );
        }
        writeln!(out, "{}", table.build().with(TableStyle::rounded()))?;
        if shown < rows.len() {
            writeln!(
                out,
                "… and {} more (--limit 0 shows all, --format json lists everything)",
                rows.len() - shown
            )?;
        }
    }
    let errors = audit.errors();
    if !errors.is_empty() {
        writeln!(out, "\nErrors ({}):", errors.len())?;
        let keep = if style.limit == 0 {
            errors.len()
        } else {
            errors.len().min(style.limit)
        };
        for e in &errors[..keep] {
            writeln!(out, "  {}: {}", clean(&e.path), clean(&e.error))?;
        }
        if keep < errors.len() {
            writeln!(out, "  … and {} more", errors.len() - keep)?;
        }
    }
    writeln!(out, "\n{}", verdict_line(audit, style.color))
}

fn verdict_line(audit: &dyn AuditView, color: bool) -> String {
    let (word, code) = match audit.outcome() {
        Outcome::Clean => ("PASS".to_string(), "32"),
        Outcome::Findings => (format!("FAIL on {}", audit.failed_on().join(", ")), "31"),
        Outcome::Error => match audit.failed_on() {
            f if f.is_empty() => ("ERROR: some paths could not be read (see Errors)".to_string(), "33"),
            f => (
                format!(
                    "ERROR: some paths could not be read (see Errors); also FAIL on {}",
                    f.join(", ")
                ),
                "33",
            ),
        },
    };
    if color {
        format!("\x1b[1;{code}m{word}\x1b[0m")
    } else {
        word
    }
}
