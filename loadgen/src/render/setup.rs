//! `loadgen setup`'s outcome for people: one line per request, then each
//! captured value as `NAME=VALUE` (for `eval` or a CI variable). Text that
//! came from the server or the scenario file is escaped.

use std::io::{self, Write};

use common::text::escape_str;

use crate::setup::SetupReport;

/// Writes the setup outcome.
pub fn write<W: Write>(out: &mut W, r: &SetupReport) -> io::Result<()> {
    writeln!(out, "# loadgen setup: {} for {}", escape_str(&r.host), r.students)?;
    clock(out, r)?;
    for s in &r.steps {
        let status = s.status.map_or("-".to_string(), |c| c.to_string());
        // Name and URL come from the scenario file and --host.
        let request = format!("{} {} {}", s.name, s.method, s.url);
        match &s.failure {
            None => writeln!(out, "# {}: {status} ok", escape_str(&request))?,
            Some(f) => writeln!(
                out,
                "# {}: FAILED ({}); answer: {}",
                escape_str(&request),
                escape_str(f),
                escape_str(&s.answer)
            )?,
        }
    }
    if let Some(w) = &r.window {
        writeln!(
            out,
            "# exam window: {} .. {}; now on that clock {} ({})",
            escape_str(&w.start),
            escape_str(&w.end),
            w.now,
            if w.contains_now {
                "inside"
            } else {
                "OUTSIDE: logins will be refused"
            }
        )?;
    }
    for w in &r.warnings {
        writeln!(out, "# warning: {}", escape_str(w))?;
    }
    for (k, v) in &r.captures {
        writeln!(out, "{k}={}", shell_word(v))?;
    }
    Ok(())
}

/// The clock the times came from, and how far it is from this machine's.
fn clock<W: Write>(out: &mut W, r: &SetupReport) -> io::Result<()> {
    let c = &r.clock;
    let ahead = crate::clock::ahead_words(c.ahead_ms);
    match (c.source, &c.server_time) {
        ("server", Some(t)) => writeln!(
            out,
            "# server clock: {} (UTC{}, {ahead} this machine)",
            escape_str(t),
            c.offset
        )?,
        ("tz", _) => writeln!(out, "# clock: --tz UTC{} ({ahead} this machine)", c.offset)?,
        _ => writeln!(out, "# clock: this machine's (UTC{})", c.offset)?,
    }
    if let Some(n) = &c.note {
        writeln!(out, "# note: {}", escape_str(n))?;
    }
    Ok(())
}

/// A value as one shell word: bare when safe, else single-quoted (controls escaped).
fn shell_word(v: &str) -> String {
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "_.-:/+@".contains(c)) {
        return v.to_string();
    }
    format!("'{}'", escape_str(v).replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_values_are_shell_words() {
        assert_eq!(shell_word("12"), "12");
        assert_eq!(shell_word("a b'c"), "'a b'\\''c'");
        assert_eq!(shell_word("x\n\u{1b}"), "'x\\n\\u{1b}'");
    }
}
