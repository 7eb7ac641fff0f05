//! `--pattern`: the first line is the user's regex, the rest are log lines.
//! A pattern that compiles never makes a line panic the matcher.
#![no_main]
use libfuzzer_sys::fuzz_target;
use verify::classify::login::LoginMatcher;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, lines) = text.split_once('\n').unwrap_or((&text, ""));
    if pattern.len() > 200 {
        return; // regex compile time is not what this target is about
    }
    let Ok(m) = LoginMatcher::custom(pattern, None) else { return };
    for (i, line) in lines.lines().enumerate() {
        let _ = m.observe(line, 0, i as u64 + 1);
    }
});
