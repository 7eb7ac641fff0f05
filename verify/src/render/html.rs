//! A self-contained HTML page (no network fetches) for a report: the report's
//! own JSON is embedded and drawn by a small script (segment map on a canvas,
//! duplicate-login time line, findings). The numbers are the JSON's numbers.

use std::io::{self, Write};

use serde::Serialize;

const TEMPLATE: &str = include_str!("assets/report.html");

/// The report as JSON that cannot end or comment out its script element:
/// `<`, `>`, `&` and U+2028/2029 only occur inside JSON strings, where
/// `\uXXXX` means the same characters.
fn embeddable_json<R: Serialize>(report: &R) -> io::Result<String> {
    Ok(serde_json::to_string(report)?
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029"))
}

/// Writes the page for `report` (a seq, ids or gate report).
pub fn write<W: Write, R: Serialize>(out: &mut W, title: &str, report: &R) -> io::Result<()> {
    page(out, TEMPLATE, title, report)
}

/// Writes `template` with `__TITLE__` and `__REPORT__` filled (loadgen's run
/// page uses it too). The template is split at its placeholders, so text
/// inside the report or the title (a `--dir` holding `__REPORT__`) is never
/// taken for one.
pub fn page<W: Write, R: Serialize>(out: &mut W, template: &str, title: &str, report: &R) -> io::Result<()> {
    let json = embeddable_json(report)?;
    let (head, tail) = template.split_once("__REPORT__").unwrap_or((template, ""));
    let (before, after) = head.split_once("__TITLE__").unwrap_or((head, ""));
    out.write_all(before.as_bytes())?;
    out.write_all(crate::text::html(title).as_bytes())?;
    out.write_all(after.as_bytes())?;
    out.write_all(json.as_bytes())?;
    out.write_all(tail.as_bytes())
}
