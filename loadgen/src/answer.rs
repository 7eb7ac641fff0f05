//! Judging an answer against its request's checks and taking its captures:
//! pure, so every outcome is tested without a server. Many Flask APIs answer
//! 200 with an error body: a check names the pointer that failed.

use std::sync::Arc;

use crate::scenario::{Captured, Request};
use crate::stats::FailKind;

/// True when two JSON values are equal, numbers compared by value (`1 == 1.0`).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The outcome of one answer: the captured values (index, value), or why it failed.
/// `names` are the capture names of the request's place (login's or setup's).
pub fn judge(r: &Request, names: &[String], status: u16, body: &[u8]) -> Result<Vec<(usize, Captured)>, FailKind> {
    judge_full(r, names, status, body, None, false).0
}

/// True when the request's checks, captures or (when `ledger`) ledger fields
/// read the answer's JSON: then the whole body is kept, up to `--max-answer-size`.
pub fn needs_body(r: &Request, ledger: bool) -> bool {
    (ledger && !r.ledger.is_empty()) || !(r.expect.json.is_empty() && r.capture.is_empty())
}

/// As `judge`, with (when `ledger`: a ledger is written) the answer's fields
/// the request names for it (`ledger = { filename = "/filename" }`), from the
/// same parse of the body. `cut`: the body is only the first `cut` bytes of a
/// longer answer (over `--max-answer-size`), so JSON cannot be read from it.
pub fn judge_full(
    r: &Request,
    names: &[String],
    status: u16,
    body: &[u8],
    cut: Option<u64>,
    ledger: bool,
) -> (Result<Vec<(usize, Captured)>, FailKind>, LedgerFields) {
    let want_fields = ledger && !r.ledger.is_empty();
    let needs_json = needs_body(r, ledger);
    if let (true, Some(cap)) = (needs_json, cut) {
        let status_ok = status_ok(r, status);
        let why = if status_ok {
            FailKind::TooLarge(cap)
        } else {
            FailKind::Http(status)
        };
        return (Err(why), LedgerFields::new());
    }
    let json: Option<serde_json::Value> = if needs_json {
        serde_json::from_slice(body).ok()
    } else {
        None
    };
    let mut fields = LedgerFields::new();
    if let Some(j) = json.as_ref().filter(|_| want_fields) {
        for (name, ptr) in &r.ledger {
            if let Some(v) = j.pointer(ptr) {
                fields.insert(name.clone(), v.clone());
            }
        }
    }
    (checks(r, names, status, json.as_ref()), fields)
}

/// Answer fields recorded in the ledger, by name.
pub type LedgerFields = std::collections::BTreeMap<String, serde_json::Value>;

/// The status the request expects (any 2xx by default).
fn status_ok(r: &Request, status: u16) -> bool {
    if r.expect.status.is_empty() {
        (200..300).contains(&status)
    } else {
        r.expect.status.contains(&status)
    }
}

fn checks(
    r: &Request,
    names: &[String],
    status: u16,
    json: Option<&serde_json::Value>,
) -> Result<Vec<(usize, Captured)>, FailKind> {
    if !status_ok(r, status) {
        return Err(FailKind::Http(status));
    }
    if r.expect.json.is_empty() && r.capture.is_empty() {
        return Ok(Vec::new());
    }
    for (ptr, want) in &r.expect.json {
        let got = json.and_then(|j| j.pointer(ptr));
        if !got.is_some_and(|g| same(g, want)) {
            return Err(FailKind::Check(Arc::from(ptr.as_str())));
        }
    }
    let mut out = Vec::with_capacity(r.capture.len());
    for (i, ptr) in &r.capture {
        let name = || Arc::from(names.get(*i).map_or("?", String::as_str));
        let value = match ptr.as_str() {
            "" => json.cloned(),
            p => json.and_then(|j| j.pointer(p)).cloned(),
        };
        match value {
            Some(v) if !v.is_null() => out.push((*i, Captured::new(v))),
            _ => return Err(FailKind::Capture(name())),
        }
    }
    Ok(out)
}

/// How much of a failed request's answer the report keeps, in bytes.
pub const HEAD: usize = 200;

/// The start of a failed request's answer, as the report keeps it: a small
/// JSON answer re-written compactly (Flask escapes non-ASCII as `\uXXXX`;
/// this gives the words back), at most `HEAD` bytes cut at a character
/// boundary, invalid UTF-8 replaced. Sanitized where it is printed.
pub fn head(body: &[u8]) -> Arc<str> {
    let json = (body.len() <= 4 << 10)
        .then(|| serde_json::from_slice::<serde_json::Value>(body).ok())
        .flatten()
        .map(|j| j.to_string());
    let bytes = json.as_deref().map_or(body, str::as_bytes);
    let cut = bytes.get(..HEAD).unwrap_or(bytes);
    let cut = match std::str::from_utf8(cut) {
        // A character cut in two at the end: leave it out.
        Err(e) if e.error_len().is_none() => cut.get(..e.valid_up_to()).unwrap_or(cut),
        _ => cut,
    };
    Arc::from(String::from_utf8_lossy(cut).trim())
}

/// What a person reads of an answer's head: a JSON object's `message`
/// (`msg`, `error`, `detail`) when it has one, else the head itself.
pub fn words(head: &str) -> String {
    let json: Option<serde_json::Value> = serde_json::from_str(head).ok();
    ["message", "msg", "error", "detail"]
        .iter()
        .find_map(|k| json.as_ref()?.get(k)?.as_str().map(str::to_string))
        .unwrap_or_else(|| head.to_string())
}

/// Slots for the capture names of a place, empty (JSON null) until taken.
pub fn slots(names: &[String]) -> Vec<Captured> {
    vec![Captured::new(serde_json::Value::Null); names.len()]
}

/// Puts captured values into their slots.
pub fn store(slots: &mut [Captured], got: Vec<(usize, Captured)>) {
    for (i, c) in got {
        if let Some(slot) = slots.get_mut(i) {
            *slot = c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn supervise_login_answers() {
        let s = Scenario::builtin().unwrap();
        let ok = br#"{"status":"success","message":"\u767b\u5f55\u6210\u529f","exam_id":7,"student_id":"test_00001"}"#;
        let caps = judge(&s.login, &s.captures, 200, ok).unwrap();
        assert_eq!(caps, [(0, Captured::new(serde_json::json!(7)))]);
        let refused = br#"{"status":"error","message":"no exam"}"#;
        assert_eq!(judge(&s.login, &s.captures, 400, refused), Err(FailKind::Http(400)));
        assert_eq!(
            judge(&s.login, &s.captures, 200, refused).unwrap_err().to_string(),
            "check /status"
        );
        let no_exam = br#"{"status":"success"}"#;
        assert_eq!(
            judge(&s.login, &s.captures, 200, no_exam).unwrap_err().to_string(),
            "capture exam_id missing"
        );
        assert_eq!(
            judge(&s.login, &s.captures, 200, b"<html>").unwrap_err().to_string(),
            "check /status"
        );
    }

    /// Issue 27 item 3: the server's words, not its escapes, and never more
    /// than `HEAD` bytes (a character is not cut in two).
    #[test]
    fn the_head_of_an_answer_keeps_the_servers_words() {
        let flask =
            br#"{"message": "\u5f53\u524d\u6ca1\u6709\u8fdb\u884c\u4e2d\u7684\u8003\u8bd5", "status": "error"}"#;
        let h = head(flask);
        assert_eq!(&*h, r#"{"message":"当前没有进行中的考试","status":"error"}"#);
        assert_eq!(words(&h), "当前没有进行中的考试");
        let long = "考".repeat(100);
        let h = head(long.as_bytes());
        assert!(h.len() <= HEAD && h.chars().all(|c| c == '考'), "{h}");
        assert_eq!(words("<html>oops</html>"), "<html>oops</html>");
        assert_eq!(&*head(b"  \xff bad \n"), "\u{fffd} bad");
    }

    #[test]
    fn expected_statuses_and_numbers() {
        let text = "version = 2\n[login]\npath = \"/l\"\nexpect = { status = [404], json = { \"/n\" = 1 } }\n";
        let s = Scenario::parse(text, "t", &Default::default()).unwrap();
        assert!(judge(&s.login, &[], 404, br#"{"n":1.0}"#).is_ok());
        assert_eq!(judge(&s.login, &[], 200, br#"{"n":1}"#), Err(FailKind::Http(200)));
        assert!(judge(&s.login, &[], 404, br#"{"n":"1"}"#).is_err());
    }

    #[test]
    fn a_cut_answer_is_too_large_not_a_failed_check() {
        let s = Scenario::builtin().unwrap();
        let head = br#"{"status":"success","exam_id":7,"#;
        let (r, _) = judge_full(&s.login, &s.captures, 200, head, Some(8 << 20), false);
        assert_eq!(
            r.unwrap_err().to_string(),
            "answer too large (over 8 MiB, --max-answer-size)"
        );
        let (r, _) = judge_full(&s.login, &s.captures, 500, head, Some(8 << 20), false);
        assert_eq!(r, Err(FailKind::Http(500)), "a wrong status says so first");
        // A request that reads nothing from the answer does not care.
        let out = s.logout.as_ref().unwrap();
        assert!(!needs_body(out, false) && needs_body(&s.tasks[0].request, false));
        assert!(judge_full(out, &s.captures, 200, b"x", Some(10), false).0.is_ok());
    }
}
