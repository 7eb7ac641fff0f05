//! Login lines: is this line a login, and of which student?

use regex::Regex;

use super::logline::{access_stamp, header, iso_stamp};
use crate::audit::ids::{LoginEvent, Observation};
use crate::audit::sessions::zone_of;
use common::text::escape_str;

/// Longest line text kept as evidence.
const SAMPLE_CHARS: usize = 300;

/// The student ID pattern: `prefix` and digits, not glued to a preceding
/// letter, digit or underscore (`contest_12` is not `test_12`); group `id`.
pub fn id_regex(prefix: &str) -> Regex {
    let pattern = format!(r"(?:^|[^A-Za-z0-9_])(?P<id>{}[0-9]+)", regex::escape(prefix));
    Regex::new(&pattern).expect("escaped prefix makes a valid regex")
}

/// Turns candidate lines into observations.
#[derive(Debug, Clone)]
pub struct LoginMatcher {
    /// The event word (`登录成功`); `None` with `--pattern` and no `--event`.
    pub event: Option<String>,
    /// Finds the ID: a named group `id`, optionally `ts` and `source`.
    pub pattern: Regex,
    /// True when `pattern` is the user's (`--pattern`): a match is the event.
    pub custom: bool,
    /// The logout word (`登出`); `None`: logouts are not read.
    pub logout: Option<String>,
    /// Finds the ID in a logout line (`ID=test_00001`).
    pub logout_id: Regex,
}

/// Why a `--pattern` was refused.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("--pattern: {0}")]
    Regex(#[from] regex::Error),
    #[error("--pattern must have a named group `id`, e.g. (?P<id>test_\\d+)")]
    NoIdGroup,
}

impl LoginMatcher {
    /// The default: `event` in the line, the ID is the first `<prefix><digits>`
    /// not preceded by a letter, digit or underscore.
    pub fn new(event: &str, prefix: &str) -> LoginMatcher {
        LoginMatcher {
            event: Some(event.to_string()),
            pattern: id_regex(prefix),
            custom: false,
            logout: None,
            logout_id: id_regex(prefix),
        }
    }

    /// The same matcher also reading logouts: lines with `word` and an ID
    /// (`学生登出: ID=test_00001, 考试=1, 时间=2025-11-23 18:00:00`).
    pub fn with_logout(mut self, word: Option<&str>, prefix: &str) -> LoginMatcher {
        self.logout = word.filter(|w| !w.is_empty()).map(str::to_string);
        self.logout_id = id_regex(prefix);
        self
    }

    /// The words a candidate line holds one of; empty: every line is one.
    pub fn words(&self) -> Vec<&str> {
        match &self.event {
            None => Vec::new(),
            Some(ev) => std::iter::once(ev.as_str()).chain(self.logout.as_deref()).collect(),
        }
    }

    /// A user's `--pattern`, optionally still gated by an event word.
    pub fn custom(pattern: &str, event: Option<&str>) -> Result<LoginMatcher, PatternError> {
        let re = Regex::new(pattern)?;
        if !re.capture_names().any(|n| n == Some("id")) {
            return Err(PatternError::NoIdGroup);
        }
        Ok(LoginMatcher {
            event: event.map(str::to_string),
            pattern: re,
            custom: true,
            logout: None,
            logout_id: id_regex("test_"),
        })
    }

    /// Classifies one decoded line (`line` numbered from 1).
    pub fn observe(&self, text: &str, file: usize, line: u64) -> Option<Observation> {
        let text = text.trim_start_matches('\0').trim_end_matches('\r');
        let is_event = self.event.as_ref().is_none_or(|ev| text.contains(ev.as_str()));
        if let Some(lo) = &self.logout
            && text.contains(lo.as_str())
            && (self.event.is_none() || !is_event)
        {
            return self.observe_logout(text, file, line);
        }
        if !is_event {
            return None;
        }
        if !self.custom && is_continuation(text) {
            return Some(Observation::Continuation);
        }
        let caps = match self.pattern.captures(text) {
            Some(c) => c,
            None if self.custom => return None,
            None => {
                let cut: String = text.chars().take(SAMPLE_CHARS).collect();
                return Some(Observation::Malformed {
                    file,
                    line,
                    text: escape_str(&cut),
                });
            }
        };
        // An optional `id` group that did not take part in the match: a line
        // with the event but no ID, never a panic.
        let Some(id) = caps.name("id") else {
            let cut: String = text.chars().take(SAMPLE_CHARS).collect();
            return Some(Observation::Malformed {
                file,
                line,
                text: escape_str(&cut),
            });
        };
        let h = header(text);
        let time = caps
            .name("ts")
            .and_then(|m| iso_stamp(m.as_str()).or_else(|| access_stamp(m.as_str())))
            .or(h.time)
            .map(|s| (s.text, s.unix));
        let source = caps.name("source").map(|m| m.as_str().to_string()).or(h.source);
        Some(Observation::Login(LoginEvent {
            id: id.as_str().to_string(),
            file,
            line,
            naive: time.as_ref().is_some_and(|t| zone_of(&t.0).is_none()),
            time,
            source,
            how: None,
            ms: None,
        }))
    }

    /// A line with the logout word: a logout when it names an ID and is no
    /// failure (`学生登出处理异常: …` ends nothing). Its time is the
    /// `时间=` field the real server prints (local, without a zone), else the
    /// line's header.
    fn observe_logout(&self, text: &str, file: usize, line: u64) -> Option<Observation> {
        if is_continuation(text)
            || ["异常", "失败", "error", "Error", "failed"]
                .iter()
                .any(|w| text.contains(w))
        {
            return None;
        }
        let id = self.logout_id.captures(text)?.name("id")?.as_str().to_string();
        let h = header(text);
        let field = text
            .find(TIME_FIELD)
            .and_then(|i| text.get(i + TIME_FIELD.len()..))
            .and_then(iso_stamp);
        let time = field.or(h.time).map(|s| (s.text, s.unix));
        Some(Observation::Logout(LoginEvent {
            id,
            file,
            line,
            naive: time.as_ref().is_some_and(|t| zone_of(&t.0).is_none()),
            time,
            source: h.source,
            how: None,
            ms: None,
        }))
    }
}

/// The time field of the real server's logout print.
const TIME_FIELD: &str = "时间=";

/// A line that continues a multi-line entry: an indented traceback frame or
/// source line, `Traceback (most recent call last):`, or the closing
/// `SomeError: message` line of a traceback.
pub fn is_continuation(text: &str) -> bool {
    if text.starts_with([' ', '\t']) || text.starts_with("Traceback (") {
        return true;
    }
    let Some((name, _)) = text.split_once(':') else {
        return false;
    };
    let dotted = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    dotted
        && ["Error", "Exception", "Warning", "Exit", "Interrupt"]
            .iter()
            .any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(o: Option<Observation>) -> LoginEvent {
        match o {
            Some(Observation::Login(e)) => e,
            other => panic!("not a login: {other:?}"),
        }
    }

    #[test]
    fn default_matcher_takes_the_first_id_after_the_event_line_check() {
        let m = LoginMatcher::new("登录成功", "test_");
        let e = login(m.observe(
            "[2025-11-23 18:00:00 +0800] [42] [INFO] 学生test_00007登录成功 (contest_99)",
            0,
            3,
        ));
        assert_eq!(
            (e.id.as_str(), e.line, e.source.as_deref()),
            ("test_00007", 3, Some("pid 42"))
        );
        assert!(
            m.observe("[2025-11-23 18:00:00 +0800] [42] [INFO] 登录失败 test_00007", 0, 4)
                .is_none()
        );
        let bad = m.observe("登录成功 but no id here (contest_12)", 0, 5);
        assert!(matches!(bad, Some(Observation::Malformed { line: 5, .. })), "{bad:?}");
    }

    #[test]
    fn the_real_servers_logout_print_is_a_logout_with_its_time() {
        let m = LoginMatcher::new("登录成功", "test_").with_logout(Some("登出"), "test_");
        let o = m.observe("学生登出: ID=test_00007, 考试=3, 时间=2025-11-23 18:05:00", 0, 4);
        let Some(Observation::Logout(e)) = o else {
            panic!("not a logout: {o:?}")
        };
        assert_eq!((e.id.as_str(), e.naive), ("test_00007", true));
        assert_eq!(e.time.unwrap().0, "2025-11-23 18:05:00");
        assert_eq!(m.observe("学生登出处理异常: test_00007 not found", 0, 5), None);
        assert_eq!(m.observe("学生登出: ID=, 考试=3", 0, 6), None);
        assert!(matches!(
            m.observe(
                "[2025-11-23 18:00:00 +0800] [1] [INFO] 登录成功 student_id=test_00001",
                0,
                7
            ),
            Some(Observation::Login(LoginEvent { naive: false, .. }))
        ));
        let no_logout = LoginMatcher::new("登录成功", "test_");
        assert_eq!(no_logout.observe("学生登出: ID=test_00007", 0, 8), None);
    }

    #[test]
    fn traceback_lines_are_continuations_not_logins() {
        let m = LoginMatcher::new("登录成功", "test_");
        for line in [
            "    raise OSError(\"test_00005 登录成功\")",
            "Traceback (most recent call last): 登录成功",
            "app.errors.LoginError: 登录成功 test_1",
        ] {
            assert_eq!(m.observe(line, 0, 1), Some(Observation::Continuation), "{line}");
        }
        assert!(matches!(
            m.observe("登录成功: test_00001", 0, 1),
            Some(Observation::Login(_))
        ));
    }

    #[test]
    fn custom_pattern_with_time_and_source_groups() {
        let m = LoginMatcher::custom(
            r#"^(?P<source>\S+) .*\[(?P<ts>[^\]]+)\] "POST /api/login\?sid=(?P<id>test_\d+)"#,
            None,
        )
        .unwrap();
        let e = login(m.observe(
            r#"10.1.1.1 - - [23/Nov/2025:18:00:00 +0800] "POST /api/login?sid=test_00003 HTTP/1.1" 200 5"#,
            1,
            9,
        ));
        assert_eq!((e.id.as_str(), e.source.as_deref()), ("test_00003", Some("10.1.1.1")));
        assert_eq!(e.time.unwrap().0, "23/Nov/2025:18:00:00 +0800");
        assert!(m.observe("GET / HTTP/1.1", 1, 10).is_none());
        assert!(matches!(
            LoginMatcher::custom("test_\\d+", None),
            Err(PatternError::NoIdGroup)
        ));
        assert!(matches!(LoginMatcher::custom("(", None), Err(PatternError::Regex(_))));
    }
}
