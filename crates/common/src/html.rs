//! The fill of both tools' self-contained HTML pages (no network fetches): a
//! template's `__TITLE__`, `__CONTEXT__` and `__REPORT__` replaced by the
//! title and by JSON that cannot end or comment out its script element. The
//! templates, and what the context holds, are each tool's own.

use std::io::{self, Write};

use serde::Serialize;

/// `value` as JSON that cannot end or comment out its script element:
/// `<`, `>`, `&` and U+2028/2029 only occur inside JSON strings, where
/// `\uXXXX` means the same characters.
pub fn embeddable_json<R: Serialize>(value: &R) -> io::Result<String> {
    Ok(serde_json::to_string(value)?
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029"))
}

/// Writes `template` with `__TITLE__`, `__CONTEXT__` (when the template has
/// it: `context`, e.g. the build, the time and the command line; a template
/// without it, as loadgen's, passes `&()`) and `__REPORT__` filled. The
/// template is split at its placeholders, so text inside the report or the
/// title (a `--dir` holding `__REPORT__`) is never taken for one.
pub fn page<W: Write, C: Serialize, R: Serialize>(
    out: &mut W,
    template: &str,
    title: &str,
    context: &C,
    report: &R,
) -> io::Result<()> {
    let json = embeddable_json(report)?;
    let (head, tail) = template.split_once("__REPORT__").unwrap_or((template, ""));
    let (before, after) = head.split_once("__TITLE__").unwrap_or((head, ""));
    out.write_all(before.as_bytes())?;
    out.write_all(crate::text::html(title).as_bytes())?;
    if let Some((a, b)) = after.split_once("__CONTEXT__") {
        out.write_all(a.as_bytes())?;
        out.write_all(embeddable_json(context)?.as_bytes())?;
        out.write_all(b.as_bytes())?;
    } else {
        out.write_all(after.as_bytes())?;
    }
    out.write_all(json.as_bytes())?;
    out.write_all(tail.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill<C: Serialize>(template: &str, title: &str, context: &C, report: &str) -> String {
        let mut out = Vec::new();
        page(&mut out, template, title, context, &report).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn placeholders_are_filled_by_position_and_nothing_ends_the_script() {
        let t = "<t>__TITLE__</t><c>__CONTEXT__</c><r>__REPORT__</r>";
        assert_eq!(
            fill(t, "a<b>__REPORT__", &["x"], "</script>&\u{2028}__TITLE__"),
            r#"<t>a&lt;b&gt;__REPORT__</t><c>["x"]</c><r>"\u003c/script\u003e\u0026\u2028__TITLE__"</r>"#
        );
        assert_eq!(
            fill("<t>__TITLE__</t><r>__REPORT__</r>", "T", &(), "1"),
            r#"<t>T</t><r>"1"</r>"#
        );
        assert_eq!(fill("no placeholders", "T", &(), "1"), r#"no placeholdersT"1""#);
    }
}
