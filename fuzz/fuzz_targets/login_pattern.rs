//! `--pattern`: the login matcher over hostile log lines.
//! First byte not 7 mod 8: one of the stock patterns below (compiled once,
//! so the time goes into matching lines, where a panic would hide: optional
//! `id` groups, `ts`/`source` groups that match odd text). Otherwise the
//! first line is the user's regex (compiling it costs ~100x a match, hence
//! one input in eight), the rest are log lines.
//! A pattern that compiles never makes a line panic the matcher.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use verify::classify::login::LoginMatcher;

const STOCK: &[(&str, Option<&str>)] = &[
    (r"(?P<id>test_\d+) logged in", None),
    (r"user=(?P<id>\w+)?", None),
    (r"(?:(?P<id>test_\d+)|anonymous) login", None),
    (r"^\[(?P<ts>[^\]]*)\] .*?(?P<id>\S+)$", None),
    (r"(?P<source>\S+) - (?P<id>[^ ]*) \[(?P<ts>[^\]]+)\]", None),
    (r"(?P<ts>\d{4}-\d\d-\d\d[ T][\d:.,]+)?.*?(?P<id>[^\s]*)", Some("登录成功")),
    (r"(?P<id>.)", Some("\u{0}")),
    (r"(?P<id>(?:test_)?\d{1,30})(?P<ts>)", None),
];

fn stock() -> &'static [LoginMatcher] {
    static M: OnceLock<Vec<LoginMatcher>> = OnceLock::new();
    M.get_or_init(|| {
        STOCK
            .iter()
            .filter_map(|(p, e)| LoginMatcher::custom(p, *e).ok())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let own;
    let (m, lines) = if first % 8 != 7 {
        let all = stock();
        let Some(m) = all.get(usize::from(first / 8) % all.len().max(1)) else { return };
        (m, &*text)
    } else {
        let (pattern, lines) = text.split_once('\n').unwrap_or((&text, ""));
        if pattern.len() > 200 {
            return; // regex compile time is not what this target is about
        }
        let Ok(m) = LoginMatcher::custom(pattern, None) else { return };
        own = m;
        (&own, lines)
    };
    for (i, line) in lines.lines().enumerate() {
        let _ = m.observe(line, 0, i as u64 + 1);
    }
});
