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
    assert_eq!(backoff(Duration::MAX, 5), Duration::from_secs(30));
}

/// Issue 24 item 12: the schedule's arithmetic cannot panic whatever the
/// durations (a jitter of u64::MAX µs was a remainder by zero).
#[test]
fn schedule_arithmetic_cannot_panic() {
    let mut rng = 0x9E37_79B9_7F4A_7C15;
    for j in [0, 1, 86_400_000_000, u64::MAX - 1, u64::MAX] {
        let d = draw_jitter(j, &mut rng);
        assert!(d <= j);
    }
    let mut still = 7;
    assert_eq!(draw_jitter(0, &mut still), 0);
    assert_eq!(still, 7, "no draw without jitter");
    let now = Instant::now();
    assert!(later(now, Duration::MAX) > now + Duration::from_secs(86_400 * 365));
    assert_eq!(later(now, Duration::from_secs(1)), now + Duration::from_secs(1));
}
