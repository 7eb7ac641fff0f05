//! GitHub Actions output: workflow annotations for the first findings (GitHub
//! keeps 10 errors and 10 warnings per step and drops the rest silently), and
//! the full report as Markdown in `$GITHUB_STEP_SUMMARY` (1 MiB cap).

use std::io::{self, Write};

use super::AuditView;

/// Annotations kept per step by GitHub, per level.
pub const MAX_PER_LEVEL: usize = 10;
/// `$GITHUB_STEP_SUMMARY` size cap.
pub const SUMMARY_MAX_BYTES: usize = 1 << 20;

/// Escapes an annotation message: sanitized (a bare CR would start a forged
/// command line), `::` and `##[` broken, then `%`, CR, LF as the toolkit does.
fn data(s: &str) -> String {
    crate::render::escape::runner(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes an annotation property (also `:` and `,`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Writes at most `MAX_PER_LEVEL` `::error` (failing findings), `::warning`
/// (notes) and `::notice` (what the client's ledger explains) lines, and a
/// `::notice` counting the rest.
pub fn annotations<W: Write>(out: &mut W, audit: &dyn AuditView) -> io::Result<()> {
    let rows = audit.finding_rows();
    let (mut errors, mut warnings, mut notices, mut left) = (0, 0, 0, 0);
    for r in &rows {
        // What the client's ledger explains is one notice, not an error.
        let (level, n) = match (r.fails, r.explained) {
            (true, _) => ("error", &mut errors),
            (false, true) => ("notice", &mut notices),
            (false, false) => ("warning", &mut warnings),
        };
        if *n >= MAX_PER_LEVEL {
            left += 1;
            continue;
        }
        *n += 1;
        let who = if r.student.is_empty() {
            String::new()
        } else {
            format!("{}: ", r.student)
        };
        writeln!(
            out,
            "::{level} title={}::{}",
            property(&format!("{} {}", audit.name(), r.label())),
            data(&format!("{who}{}", r.detail))
        )?;
    }
    for e in audit.errors().iter().take(MAX_PER_LEVEL.saturating_sub(errors)) {
        writeln!(
            out,
            "::error title={}::{}",
            property("verify read error"),
            data(&format!("{}: {}", e.path, e.error))
        )?;
    }
    if left > 0 {
        writeln!(
            out,
            "::notice title=verify::{}",
            data(&format!("{left} more findings: see the job summary or the JSON report"))
        )?;
    }
    Ok(())
}

/// Appends the Markdown report to the file named by `$GITHUB_STEP_SUMMARY`, if set.
pub fn step_summary(audit: &dyn AuditView) -> io::Result<bool> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(false);
    };
    let md = super::markdown::render(audit, SUMMARY_MAX_BYTES - 1024);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(md.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_actions_toolkit() {
        // A newline from a name or a log line is shown, never obeyed.
        assert_eq!(data("50% a\nb"), "50%25 a\\nb");
        assert_eq!(
            data("a\r::error::x ##[error]"),
            "a\\r:\\u{3a}error:\\u{3a}x #\\u{23}[error]"
        );
        assert_eq!(property("seq:gap, x"), "seq%3Agap%2C x");
    }
}
