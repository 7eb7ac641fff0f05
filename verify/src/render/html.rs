//! A self-contained HTML page (no network fetches) for a report: the report's
//! own JSON is embedded and drawn by a small script (segment map on a canvas,
//! duplicate-login time line, findings). The numbers are the JSON's numbers.

use std::io::{self, Write};

use serde::Serialize;

const TEMPLATE: &str = include_str!("assets/report.html");

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Writes the page for `report` (a seq, ids or gate report).
pub fn write<W: Write, R: Serialize>(out: &mut W, title: &str, report: &R) -> io::Result<()> {
    // `</` inside JSON strings would end the script element early.
    let json = serde_json::to_string(report)?.replace("</", "<\\/");
    let page = TEMPLATE
        .replacen("__TITLE__", &escape_html(title), 1)
        .replacen("__REPORT__", &json, 1);
    out.write_all(page.as_bytes())
}
