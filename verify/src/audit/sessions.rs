//! Sessions of one student ID: its logins and what ended them (logouts, a
//! server's `offline`, a client's restart), in time order. A login after
//! the end of the session before is a relogin, whatever the time between;
//! a login while another session of the ID is open is an overlap, a
//! collision when within the window (or with no time to tell).

use super::ids::{LoginEvent, aligned_ref};
use crate::report::ids::{DuplicateId, IdsKind};

/// No window: every overlap collides (client ledgers record every session).
pub const NO_WINDOW: i64 = i64::MAX;

/// `+0800`, `-05:30` or `Z` ending a time text: seconds east of UTC.
pub fn zone_of(text: &str) -> Option<i64> {
    let t = text.trim_end();
    if t.ends_with('Z') {
        return Some(0);
    }
    let tail: Vec<u8> = t.bytes().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
    let tail: Vec<u8> = match tail.iter().position(|&b| b == b'+' || b == b'-') {
        Some(i) => tail.get(i..).unwrap_or_default().to_vec(),
        None => return None,
    };
    let sign = if tail.first() == Some(&b'-') { -1 } else { 1 };
    let digits: Vec<i64> = tail
        .iter()
        .skip(1)
        .filter(|&&b| b != b':')
        .map(|&b| i64::from(b) - i64::from(b'0'))
        .collect();
    match digits[..] {
        [h1, h2, m1, m2] if digits.iter().all(|d| (0..10).contains(d)) => {
            Some(sign * ((h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60))
        }
        _ => None,
    }
}

/// The words a session's end can carry (`how`), back from a report's text.
pub fn how_of(text: Option<&str>) -> Option<&'static str> {
    HOWS.iter().copied().find(|h| Some(*h) == text)
}

/// Every `how` this build writes.
pub const HOWS: &[&str] = &["went offline", "restarted", "was killed"];

/// An event with its aligned time (`None`: untimed).
pub type Timed<'a> = (Option<i64>, &'a LoginEvent);

/// The ID's logins and session ends, each sorted by (aligned time, file,
/// line); untimed events last, in file order. Zone-less times take the zone
/// of the ID's first event that has one.
pub fn timeline<'a>(logins: &'a [LoginEvent], ends: &'a [LoginEvent]) -> (Vec<Timed<'a>>, Vec<Timed<'a>>) {
    let zone = logins
        .iter()
        .chain(ends)
        .filter(|e| !e.naive)
        .find_map(|e| e.time.as_ref().and_then(|t| zone_of(&t.0)))
        .unwrap_or(0);
    let at = |e: &'a LoginEvent| -> Timed<'a> {
        let t = e
            .time
            .as_ref()
            .map(|t| if e.naive { t.1.saturating_sub(zone) } else { t.1 });
        (t, e)
    };
    let key = |x: &Timed<'_>| (x.0.unwrap_or(i64::MAX), x.1.file, x.1.line);
    let mut l: Vec<Timed<'a>> = logins.iter().map(at).collect();
    let mut o: Vec<Timed<'a>> = ends.iter().map(at).collect();
    l.sort_by_key(key);
    o.sort_by_key(key);
    (l, o)
}

/// Two consecutive logins of one ID.
struct Pair<'a> {
    a: Timed<'a>,
    b: Timed<'a>,
    /// The last session end between them, if any.
    end: Option<Timed<'a>>,
}

impl Pair<'_> {
    fn apart(&self) -> Option<i64> {
        Some(self.b.0?.saturating_sub(self.a.0?))
    }

    fn collides(&self, window: i64) -> bool {
        self.end.is_none() && self.apart().is_none_or(|d| d <= window)
    }
}

fn src(e: &LoginEvent) -> String {
    e.source.clone().unwrap_or_else(|| "an unknown source".into())
}

/// `collision` when a login comes while another session of the ID is open
/// and within `window` seconds of its login (or the two cannot be told
/// apart in time); `relogin` when every login came after the session before
/// ended, or long after it began.
pub fn classify(
    id: &str,
    logins: &[LoginEvent],
    ends: &[LoginEvent],
    window: i64,
    file_name: &dyn Fn(usize) -> String,
) -> DuplicateId {
    let (l, o) = timeline(logins, ends);
    let key = |x: &Timed<'_>| (x.0.unwrap_or(i64::MAX), x.1.file, x.1.line);
    // One walk over both sorted lists: the ends between two logins are those
    // after the first and up to the second (linear, whatever a log holds).
    let mut pairs: Vec<Pair<'_>> = Vec::new();
    let mut next_end = 0usize;
    for w in l.windows(2) {
        let [a, b] = w else { continue };
        let mut end = None;
        while let Some(e) = o.get(next_end) {
            if key(e) > key(b) {
                break;
            }
            if key(e) >= key(a) {
                end = Some(*e);
            }
            next_end += 1;
        }
        if window == NO_WINDOW {
            end = own_end(&o, a, b);
        }
        pairs.push(Pair { a: *a, b: *b, end });
    }
    let at = |e: &LoginEvent| format!("{}:{}", file_name(e.file), e.line);
    let n = l.len();
    let collision = pairs
        .iter()
        .filter(|p| p.collides(window))
        .min_by_key(|p| p.apart().unwrap_or(i64::MAX));
    let (kind, evidence) = if let Some(p) = collision {
        let sources = if src(p.a.1) != src(p.b.1) {
            format!("from two different sources, {} and {}", src(p.a.1), src(p.b.1))
        } else {
            format!(
                "both from {}: two clients behind one address, or one that restarted without logging out",
                src(p.a.1)
            )
        };
        let within = if window == NO_WINDOW {
            String::new()
        } else {
            format!(" (within --window {window} s)")
        };
        let text = match p.apart() {
            Some(d) => {
                format!("{n} logins; two {d} s apart with no logout between: overlapping sessions{within}, {sources}")
            }
            None => format!(
                "{n} logins on lines without timestamps and no logout between: they cannot be told apart in time, {sources}"
            ),
        };
        (IdsKind::Collision, text)
    } else {
        (IdsKind::Relogin, relogin_words(n, &pairs, window, &at))
    };
    DuplicateId {
        id: id.to_string(),
        count: n as u64,
        kind,
        evidence,
        events: l.iter().map(|(t, e)| aligned_ref(e, *t, file_name)).collect(),
        logouts: o.iter().map(|(t, e)| aligned_ref(e, *t, file_name)).collect(),
    }
}

/// Client ledgers (no window): each file is one client, and only its own
/// end (logout, restart, kill) closes its session, strictly before the next
/// login by the milliseconds both records carry. A login of the ID by another
/// worker while this one's session was open is two clients at once; after
/// its logout, a relogin (IDs handed to another worker for the next run).
fn own_end<'a>(o: &[Timed<'a>], a: &Timed<'a>, b: &Timed<'a>) -> Option<Timed<'a>> {
    let (sa, sb) = (a.0?, b.0?);
    let from = o.partition_point(|e| e.0.is_some_and(|t| t < sa));
    let before_b = |e: &LoginEvent| match (e.ms, b.1.ms) {
        (Some(x), Some(y)) => x < y,
        // Without milliseconds, the same file's order decides, else the second.
        _ if e.file == b.1.file => e.line < b.1.line,
        _ => e.time.as_ref().is_some_and(|t| t.1 < sb),
    };
    let after_a = |e: &LoginEvent| match (e.ms, a.1.ms) {
        (Some(x), Some(y)) => x >= y,
        _ => e.line > a.1.line,
    };
    o.iter()
        .skip(from)
        .take_while(|e| e.0.is_some_and(|t| t <= sb))
        .filter(|e| e.1.file == a.1.file && after_a(e.1) && before_b(e.1))
        .last()
        .copied()
}

/// Why no pair collides, in words: the shortest time from a session's end
/// to the next login, and the closest logins without an end between.
fn relogin_words(n: usize, pairs: &[Pair<'_>], window: i64, at: &dyn Fn(&LoginEvent) -> String) -> String {
    let after_end: Vec<&Pair<'_>> = pairs.iter().filter(|p| p.end.is_some()).collect();
    let mut parts = Vec::new();
    let shortest = after_end.iter().min_by_key(|p| {
        p.end
            .and_then(|e| Some(p.b.0?.saturating_sub(e.0?)))
            .unwrap_or(i64::MAX)
    });
    if let Some(p) = shortest
        && let Some(end) = p.end
    {
        let how = end.1.how.unwrap_or("logged out");
        let when = end.1.time.as_ref().map(|t| format!(" at {}", t.0)).unwrap_or_default();
        let gap = match (p.b.0, end.0) {
            (Some(b), Some(e)) => format!("{} s later", b.saturating_sub(e)),
            _ => "later".into(),
        };
        let each = if after_end.len() == pairs.len() {
            "each after the session before ended"
        } else {
            "some after the session before ended"
        };
        parts.push(format!("{each}: {how}{when} ({}), logged in again {gap}", at(end.1)));
    }
    let open = pairs
        .iter()
        .filter(|p| p.end.is_none())
        .min_by_key(|p| p.apart().unwrap_or(i64::MAX));
    if let Some(p) = open {
        let d = p.apart().map_or_else(|| "?".to_string(), |d| d.to_string());
        parts.push(format!(
            "the closest two {d} s apart with no logout between (over --window {window} s: a later session, not an overlap)"
        ));
    }
    format!("{n} logins; {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: u64, t: i64, src: &str) -> LoginEvent {
        LoginEvent {
            id: "s".into(),
            line,
            time: Some((format!("2025-11-23 00:00:{t:02} +0000"), t)),
            source: Some(src.into()),
            ..LoginEvent::default()
        }
    }

    fn name(_: usize) -> String {
        "log".into()
    }

    #[test]
    fn a_login_after_a_logout_is_a_relogin_however_close() {
        let d = classify("s", &[ev(1, 0, "a"), ev(3, 25, "a")], &[ev(2, 20, "a")], 120, &name);
        assert_eq!(d.kind, IdsKind::Relogin, "{}", d.evidence);
        assert!(
            d.evidence.contains("logged out at") && d.evidence.contains("5 s later"),
            "{}",
            d.evidence
        );
        assert_eq!(d.logouts.len(), 1);
    }

    #[test]
    fn overlapping_sessions_collide_and_say_whether_the_sources_differ() {
        let d = classify("s", &[ev(1, 0, "a"), ev(2, 3, "b")], &[ev(3, 9, "a")], 120, &name);
        assert_eq!(d.kind, IdsKind::Collision);
        assert!(d.evidence.contains("two different sources, a and b"), "{}", d.evidence);
        let d = classify("s", &[ev(1, 0, "a"), ev(2, 3, "a")], &[], 120, &name);
        assert!(d.evidence.contains("both from a"), "{}", d.evidence);
        let far = classify("s", &[ev(1, 0, "a"), ev(2, 59, "b")], &[], 30, &name);
        assert_eq!(far.kind, IdsKind::Relogin, "{}", far.evidence);
        let ledger = classify("s", &[ev(1, 0, "a"), ev(2, 59, "b")], &[], NO_WINDOW, &name);
        assert_eq!(ledger.kind, IdsKind::Collision, "{}", ledger.evidence);
    }

    #[test]
    fn two_ledgers_holding_one_id_collide_unless_its_own_logout_came_first() {
        let on = |file: usize, line: u64, ms: i64| LoginEvent {
            file,
            ms: Some(ms),
            ..ev(line, ms / 1000, if file == 0 { "w1.ndjson" } else { "w2.ndjson" })
        };
        // Worker 2 logs in at .020, worker 1 logs out at .500: overlapping.
        let d = classify("s", &[on(0, 1, 10), on(1, 1, 20)], &[on(0, 2, 500)], NO_WINDOW, &name);
        assert_eq!(d.kind, IdsKind::Collision, "{}", d.evidence);
        assert!(d.evidence.contains("w1.ndjson and w2.ndjson"), "{}", d.evidence);
        // Worker 1 out at 1.000, worker 2 in at 5.000: the ID moved on (a relogin).
        let d = classify(
            "s",
            &[on(0, 1, 10), on(1, 1, 5000)],
            &[on(0, 2, 1000)],
            NO_WINDOW,
            &name,
        );
        assert_eq!(d.kind, IdsKind::Relogin, "{}", d.evidence);
        // Another worker's logout never closes this one's session.
        let d = classify(
            "s",
            &[on(0, 1, 10), on(1, 1, 20), on(1, 3, 9000)],
            &[on(1, 2, 100)],
            NO_WINDOW,
            &name,
        );
        assert_eq!(d.kind, IdsKind::Collision, "{}", d.evidence);
        // One worker logging in twice without its own end between: a collision.
        let d = classify("s", &[on(0, 1, 0), on(0, 3, 5000)], &[on(1, 2, 1000)], NO_WINDOW, &name);
        assert_eq!(d.kind, IdsKind::Collision, "{}", d.evidence);
    }

    #[test]
    fn zone_less_logouts_take_the_logins_zone() {
        let mut login2 = ev(3, 8 * 3600 + 30, "a");
        login2.time = Some(("2025-11-23 08:00:30 +0800".into(), 30));
        let mut login1 = ev(1, 0, "a");
        login1.time = Some(("2025-11-23 08:00:00 +0800".into(), 0));
        let mut out = ev(2, 0, "a");
        // 08:00:10 local, written without a zone: 10 s after the first login.
        out.time = Some(("2025-11-23 08:00:10".into(), 8 * 3600 + 10));
        out.naive = true;
        let d = classify("s", &[login1, login2], &[out], 120, &name);
        assert_eq!(d.kind, IdsKind::Relogin, "{}", d.evidence);
        assert_eq!(d.logouts[0].unix, Some(10));
    }

    #[test]
    fn a_hostile_number_of_sessions_of_one_id_is_one_linear_walk() {
        // 50,000 sessions: a quadratic walk would take minutes here.
        let n = 50_000i64;
        let logins: Vec<LoginEvent> = (0..n).map(|k| ev(k as u64 * 2 + 1, k * 10, "a")).collect();
        let outs: Vec<LoginEvent> = (0..n).map(|k| ev(k as u64 * 2 + 2, k * 10 + 5, "a")).collect();
        let d = classify("s", &logins, &outs, 120, &name);
        assert_eq!(
            (d.kind, d.count, d.logouts.len()),
            (IdsKind::Relogin, n as u64, n as usize)
        );
        assert!(
            d.evidence.contains("each after the session before ended"),
            "{}",
            d.evidence
        );
    }

    #[test]
    fn zones_parse() {
        assert_eq!(zone_of("23/Nov/2025:18:00:00 +0800"), Some(8 * 3600));
        assert_eq!(zone_of("2025-11-23T18:00:00-05:30"), Some(-(5 * 3600 + 1800)));
        assert_eq!(zone_of("2025-11-23 18:00:00"), None);
        assert_eq!(zone_of("2025-11-23T18:00:00Z"), Some(0));
    }
}
