use super::*;

#[test]
fn skip_rules() {
    let r = SkipRule {
        seqs: [3].into(),
        every: Some(5),
    };
    let skipped: Vec<u64> = (1..=12).filter(|s| r.skips(*s)).collect();
    assert_eq!(skipped, [3, 5, 10]);
    assert!(!SkipRule::default().skips(1));
}

/// Issue 24 item 2: which login capture is the exam on ledger records.
#[test]
fn the_ledger_exam_is_the_named_capture_or_exam_id() {
    let s = Scenario::builtin().unwrap();
    assert_eq!(
        s.ledger_exam.and_then(|i| s.captures.get(i)).map(String::as_str),
        Some("exam_id")
    );
    let text = |extra: &str| {
        format!("version = 2\n{extra}\n[login]\npath = \"/l\"\ncapture = {{ token = \"/t\", session = \"/s\" }}\n")
    };
    let parse = |t: &str| Scenario::parse(t, "t.toml", &Default::default());
    assert_eq!(parse(&text("")).unwrap().ledger_exam, None, "no exam_id, no exam");
    let named = parse(&text("ledger_exam = \"session\"")).unwrap();
    assert_eq!(
        named
            .ledger_exam
            .and_then(|i| named.captures.get(i))
            .map(String::as_str),
        Some("session")
    );
    let e = parse(&text("ledger_exam = \"exam\"")).unwrap_err().to_string();
    assert!(
        e.contains("line 2") && e.contains("`ledger_exam`") && e.contains("session, token"),
        "{e}"
    );
}

#[test]
fn backoff_doubles_and_caps() {
    let b = Duration::from_millis(500);
    assert_eq!(backoff(b, 0), b);
    assert_eq!(backoff(b, 2), Duration::from_secs(2));
    assert_eq!(backoff(b, 20), Duration::from_secs(30));
}
