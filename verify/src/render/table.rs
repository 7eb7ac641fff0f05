//! Human report: a summary table, a findings table cut at `--limit`, errors,
//! and a verdict line. Colour only when asked for (see `Style`).

use std::io::{self, Write};

use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::peaker::PriorityMax;
use tabled::settings::width::Truncate;
use tabled::settings::{Style as TableStyle, Width};

use tabled::grid::util::string::get_text_width;

use super::AuditView;
use common::exit::Outcome;
use common::text::escape_str;

/// Presentation settings for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Use ANSI colours.
    pub color: bool,
    /// Maximum findings rows (0: all).
    pub limit: usize,
    /// A CI runner reads the output: break `::` and `##[` too.
    pub runner: bool,
    /// Columns to fit in (the terminal's, or `COLUMNS`); `None`: lines as
    /// long as their text (`--wide`, or not a terminal).
    pub width: Option<usize>,
}

/// The narrowest width tables are fitted to (below it, cut cells say nothing).
pub const MIN_WIDTH: usize = 40;

/// The width to fit: `--wide` none; else `COLUMNS` when set to a number,
/// else the terminal's when standard output is one.
pub fn width(wide: bool) -> Option<usize> {
    if wide {
        return None;
    }
    terminal_width(std::io::stdout())
}

/// `COLUMNS` when set to a number, else the width of the terminal `fd` is.
pub fn terminal_width(fd: impl std::os::fd::AsFd) -> Option<usize> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    columns
        .or_else(|| terminal_size::terminal_size_of(fd).map(|(w, _)| usize::from(w.0)))
        .filter(|&w| w > 0)
        .map(|w| w.max(MIN_WIDTH))
}

/// A line cut to `width` columns, ending `…` when cut.
pub fn fit(line: &str, width: Option<usize>) -> String {
    match width {
        Some(w) if tabled::grid::util::string::get_text_width(line) > w => {
            format!("{}…", Truncate::truncate(line, w.saturating_sub(1)))
        }
        _ => line.to_string(),
    }
}

/// A table of `rows` fitted to `width`: the last column (the detail, the
/// note) is cut first, each cut cell ending `…` (the count that starts a
/// detail stays); only when that is not enough are the widest others cut.
fn fitted(rows: Vec<Vec<String>>, width: Option<usize>) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    // Every column but the last, at its widest, padded one space a side;
    // one border per column, plus one.
    let fixed: usize = (0..cols.saturating_sub(1))
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c).map(|t| get_text_width(t)))
                .max()
                .unwrap_or(0)
                .saturating_add(2)
        })
        .fold(cols.saturating_add(1), usize::saturating_add);
    let mut builder = Builder::default();
    for r in rows {
        builder.push_record(r);
    }
    let mut table = builder.build();
    table.with(TableStyle::rounded());
    let Some(w) = width else { return table.to_string() };
    let budget = w.saturating_sub(fixed).saturating_sub(2);
    if budget >= 12 {
        table.modify(Columns::last(), Width::truncate(budget).suffix("…"));
    }
    table.with(Width::truncate(w).priority(PriorityMax::right()).suffix("…"));
    table.to_string()
}

/// Writes the human report.
pub fn write<W: Write>(out: &mut W, audit: &dyn AuditView, style: Style) -> io::Result<()> {
    // Every cell through the sanitizer at this boundary: text from file names
    // and log lines never reaches the terminal raw (ESC, bidi, zero-width).
    let clean = |s: &str| {
        if style.runner {
            crate::render::escape::runner(s)
        } else {
            escape_str(s)
        }
    };
    writeln!(out, "{}", fit(&clean(&audit.title()), style.width))?;
    let summary: Vec<Vec<String>> = audit
        .summary_rows()
        .iter()
        .map(|row| row.iter().map(|c| clean(c)).collect())
        .collect();
    writeln!(out, "{}", fitted(summary, style.width))?;

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
        let mut table: Vec<Vec<String>> = Vec::with_capacity(shown.saturating_add(1));
        table.push(
            ["exam", "student", "kind", "detail"]
                .into_iter()
                .skip(skip)
                .map(str::to_string)
                .collect(),
        );
        for r in &rows[..shown] {
            let kind = format!("{}{}", r.label(), r.marker());
            table.push(
                [clean(&r.exam), clean(&r.student), clean(&kind), clean(&r.detail)]
                    .into_iter()
                    .skip(skip)
                    .collect(),
            );
        }
        writeln!(out, "{}", fitted(table, style.width))?;
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
            let line = format!("  {}: {}", clean(&e.path), clean(&e.error));
            writeln!(out, "{}", fit(&line, style.width))?;
        }
        if keep < errors.len() {
            writeln!(out, "  … and {} more", errors.len() - keep)?;
        }
    }
    writeln!(out, "\n{}", verdict_line(audit, style.color, style.width))
}

fn verdict_line(audit: &dyn AuditView, color: bool, width: Option<usize>) -> String {
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
    // Wrapped at its commas, never cut: every failing kind stays named.
    let word = wrap_list(&word, width);
    if color {
        format!("\x1b[1;{code}m{word}\x1b[0m")
    } else {
        word
    }
}

/// `a, b, c` broken after commas into lines of at most `width` columns
/// (a single longer item stays whole).
fn wrap_list(text: &str, width: Option<usize>) -> String {
    let Some(w) = width else { return text.to_string() };
    let mut lines: Vec<String> = vec![String::new()];
    for part in text.split_inclusive(", ") {
        let cur = lines
            .last_mut()
            .map_or(0, |l| tabled::grid::util::string::get_text_width(l));
        let add = tabled::grid::util::string::get_text_width(part.trim_end());
        if cur > 0 && cur.saturating_add(add) > w {
            if let Some(l) = lines.last_mut() {
                *l = l.trim_end().to_string();
            }
            lines.push(format!("  {part}"));
        } else if let Some(l) = lines.last_mut() {
            l.push_str(part);
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_and_lists_wrapped_to_the_width() {
        assert_eq!(fit("abcdef", Some(4)), "abc…");
        assert_eq!(fit("abc", Some(4)), "abc");
        assert_eq!(fit("全角文字", Some(5)), "全角…", "display width, not chars");
        assert_eq!(fit("abcdef", None), "abcdef");
        let v = "FAIL on seq:gap, seq:short, cross:gap_unexplained";
        assert_eq!(
            wrap_list(v, Some(30)),
            "FAIL on seq:gap, seq:short,\n  cross:gap_unexplained"
        );
        assert_eq!(wrap_list(v, None), v);
    }
}
