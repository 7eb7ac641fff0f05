//! The terminal's width, and prose lines wrapped to it. The run's table is
//! built to fit (`table.rs`); the lines around it are wrapped here, so that
//! no line is wider than the terminal: a 100-column terminal broke the
//! table's box lines and the verdict line.

use std::io::IsTerminal;

use tabled::grid::util::string::get_line_width;
use tabled::settings::width::Wrap;

/// Narrowest width honoured: below it the table cannot keep its columns.
pub const MIN: usize = 40;

/// The width to fit: `None` (no limit) with `--wide`, else `COLUMNS` when
/// it holds a number, else the width of the terminal stdout is, else none
/// (a pipe or a file gets everything).
pub fn terminal(wide: bool) -> Option<usize> {
    if wide {
        return None;
    }
    let columns = std::env::var("COLUMNS").ok();
    from(columns.as_deref(), || {
        let out = std::io::stdout();
        if !out.is_terminal() {
            return None;
        }
        terminal_size::terminal_size_of(&out).map(|(w, _)| usize::from(w.0))
    })
}

/// `COLUMNS` when it is a positive number, else what `tty` says.
fn from(columns: Option<&str>, tty: impl FnOnce() -> Option<usize>) -> Option<usize> {
    match columns.and_then(|c| c.trim().parse::<usize>().ok()) {
        Some(w) if w > 0 => Some(w.max(MIN)),
        _ => tty().filter(|&w| w > 0).map(|w| w.max(MIN)),
    }
}

/// Display width of one line (wide characters count two).
pub fn of(line: &str) -> usize {
    get_line_width(line)
}

/// `text`'s lines, each wrapped at spaces to `width` (continuations
/// indented by two); unchanged without a width.
pub fn wrap(text: &str, width: Option<usize>) -> String {
    let Some(width) = width else { return text.to_string() };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        if of(body) <= width {
            out.push_str(line);
            continue;
        }
        let mut first = true;
        let mut rest = body;
        while !rest.is_empty() {
            let room = if first { width } else { width.saturating_sub(2) };
            let piece = take(rest, room);
            if !first {
                out.push_str("  ");
            }
            out.push_str(piece.trim_end());
            rest = rest.get(piece.len()..).unwrap_or_default().trim_start();
            if !rest.is_empty() {
                out.push('\n');
            }
            first = false;
        }
        out.push_str(nl);
    }
    out
}

/// The longest head of `s` that fits `room` columns, ending at a space when
/// one is in it (a word wider than `room` is cut).
fn take(s: &str, room: usize) -> &str {
    if of(s) <= room {
        return s;
    }
    let wrapped = Wrap::wrap(s, room.max(1), true);
    let first = wrapped.lines().next().unwrap_or_default();
    // The wrapper keeps the text's characters in order: its first line is a prefix.
    let n = first.trim_end().len();
    match s.get(..n) {
        Some(p) if n > 0 => p,
        _ => s.char_indices().nth(1).and_then(|(i, _)| s.get(..i)).unwrap_or(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_wins_over_the_tty_and_a_tiny_width_is_raised() {
        assert_eq!(from(Some("100"), || Some(200)), Some(100));
        assert_eq!(from(Some("10"), || None), Some(MIN));
        assert_eq!(from(Some("x"), || Some(120)), Some(120));
        assert_eq!(from(None, || None), None);
        assert_eq!(from(Some("0"), || None), None);
    }

    #[test]
    fn long_lines_wrap_at_spaces_and_short_ones_stay() {
        let text =
            "short\nINTERRUPTED: failure ratio 0.0000 (limit 0.01); ended before its plan (SIGINT after 2.1 s)\n";
        let out = wrap(text, Some(40));
        assert!(out.lines().all(|l| of(l) <= 40), "{out}");
        assert!(
            out.starts_with("short\nINTERRUPTED: failure ratio 0.0000 (limit\n  0.01); "),
            "{out}"
        );
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(words(&out), words(text), "nothing lost");
        assert_eq!(wrap(text, None), text);
        let long = "x".repeat(100);
        assert!(wrap(&long, Some(40)).lines().all(|l| of(l) <= 40));
        let cjk = "当前没有进行中的考试，请联系管理员 ".repeat(4);
        assert!(
            wrap(&cjk, Some(40)).lines().all(|l| of(l) <= 40),
            "wide characters count two"
        );
    }
}
