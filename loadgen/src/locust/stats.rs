//! Locust-format statistics: deltas since the last report, as a Python
//! worker sends them every 3 s (bucketed response times, per-second maps in
//! Unix seconds, errors grouped). Fed by the same events as the collector.

use std::collections::BTreeMap;

use super::protocol::{Entry, ErrorEntry, Stats, bucket};
use crate::stats::{FailKind, Sample};

#[derive(Debug, Clone)]
struct Acc {
    start_time: f64,
    last: Option<f64>,
    n: u64,
    fails: u64,
    total_ms: f64,
    max_ms: f64,
    min_ms: Option<f64>,
    content: u64,
    rt: BTreeMap<u64, u64>,
    rps: BTreeMap<i64, u64>,
    fps: BTreeMap<i64, u64>,
}

impl Acc {
    fn new(start: f64) -> Acc {
        Acc {
            start_time: start,
            last: None,
            n: 0,
            fails: 0,
            total_ms: 0.0,
            max_ms: 0.0,
            min_ms: None,
            content: 0,
            rt: BTreeMap::new(),
            rps: BTreeMap::new(),
            fps: BTreeMap::new(),
        }
    }

    fn add(&mut self, at: f64, ms: f64, failed: bool, content: u64) {
        self.n += 1;
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
        self.total_ms += ms;
        self.max_ms = self.max_ms.max(ms);
        self.min_ms = Some(self.min_ms.map_or(ms, |m| m.min(ms)));
        self.content += content;
        *self.rt.entry(bucket(ms)).or_default() += 1;
        let sec = at.floor() as i64;
        *self.rps.entry(sec).or_default() += 1;
        if failed {
            self.fails += 1;
            *self.fps.entry(sec).or_default() += 1;
        }
    }

    fn entry(&self, name: &str, method: &str) -> Entry {
        Entry {
            name: name.into(),
            method: method.into(),
            last_request_timestamp: self.last,
            start_time: self.start_time,
            num_requests: self.n,
            num_none_requests: 0,
            num_failures: self.fails,
            total_response_time: self.total_ms,
            max_response_time: self.max_ms,
            min_response_time: self.min_ms,
            total_content_length: self.content,
            response_times: self.rt.clone(),
            num_reqs_per_sec: self.rps.clone(),
            num_fail_per_sec: self.fps.clone(),
        }
    }
}

/// The delta being built, and the clock mapping (run milliseconds -> Unix seconds).
#[derive(Debug, Clone)]
pub struct Delta {
    names: Vec<(String, String)>,
    entries: Vec<Acc>,
    total: Acc,
    errors: BTreeMap<String, ErrorEntry>,
    /// The server's words per (request kind, failure kind), first seen: they
    /// name the error on the master (kept across deltas, so the name is stable).
    answers: BTreeMap<(usize, FailKind), String>,
    epoch_at_start: f64,
}

impl Delta {
    /// `names`: (name, method) per request kind; `epoch_at_start`: Unix time of run millisecond 0.
    pub fn new(names: Vec<(String, String)>, epoch_at_start: f64) -> Delta {
        let entries = names.iter().map(|_| Acc::new(epoch_at_start)).collect();
        Delta {
            names,
            entries,
            total: Acc::new(epoch_at_start),
            errors: BTreeMap::new(),
            answers: BTreeMap::new(),
            epoch_at_start,
        }
    }

    /// A failed request's answer (`answer::head`), before its sample.
    pub fn answer(&mut self, endpoint: usize, kind: &FailKind, head: &str) {
        self.answers.entry((endpoint, kind.clone())).or_insert_with(|| {
            let words = crate::answer::words(head);
            let cut: String = words.chars().take(100).collect();
            let words = if cut.len() < words.len() {
                format!("{cut}…")
            } else {
                cut
            };
            common::text::escape_str(&words).to_string()
        });
    }

    /// Folds one request in.
    pub fn record(&mut self, s: &Sample) {
        let Some(acc) = self.entries.get_mut(s.endpoint) else {
            return;
        };
        let at = self.epoch_at_start + s.at_ms as f64 / 1000.0;
        let ms = s.latency_us as f64 / 1000.0;
        acc.add(at, ms, s.failure.is_some(), s.received);
        self.total.add(at, ms, s.failure.is_some(), s.received);
        if let Some(kind) = &s.failure {
            let (name, method) = &self.names[s.endpoint];
            let error = match self.answers.get(&(s.endpoint, kind.clone())) {
                Some(words) => format!("{kind}: {words}"),
                None => kind.to_string(),
            };
            // Any stable unique key merges on the master; this one is readable.
            let e = self
                .errors
                .entry(format!("{method}.{name}.{error}"))
                .or_insert_with(|| ErrorEntry {
                    name: name.clone(),
                    method: method.clone(),
                    error,
                    occurrences: 0,
                    first_seen: Some(at),
                    last_seen: Some(at),
                });
            e.occurrences += 1;
            e.last_seen = Some(at);
        }
    }

    /// The report since the last one, then a fresh delta starting at `now` (Unix s).
    pub fn take(&mut self, now: f64, user_classes_count: BTreeMap<String, u64>) -> Stats {
        let stats = self
            .entries
            .iter()
            .zip(&self.names)
            .filter(|(a, _)| a.n > 0 || a.fails > 0)
            .map(|(a, (n, m))| a.entry(n, m))
            .collect();
        let report = Stats {
            stats,
            stats_total: self.total.entry("Aggregated", ""),
            errors: std::mem::take(&mut self.errors),
            user_count: user_classes_count.values().sum(),
            user_classes_count,
        };
        self.entries.iter_mut().for_each(|a| *a = Acc::new(now));
        self.total = Acc::new(now);
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::FailKind;

    /// Issue 27 item 3: the master's error table carries the server's words.
    #[test]
    fn errors_are_named_with_the_servers_words() {
        let mut d = Delta::new(vec![("login".into(), "POST".into())], 1000.0);
        let fail = Sample {
            endpoint: 0,
            at_ms: 10,
            latency_us: 1_000,
            failure: Some(FailKind::Http(400)),
            sent: 1,
            received: 10,
        };
        d.answer(
            0,
            &FailKind::Http(400),
            r#"{"message":"当前没有进行中的考试\u001b[2J","status":"error"}"#,
        );
        d.answer(0, &FailKind::Http(400), r#"{"message":"later words are not used"}"#);
        d.record(&fail);
        let r = d.take(1001.0, BTreeMap::new());
        let e = r.errors.values().next().unwrap();
        assert_eq!(e.error, "http 400: 当前没有进行中的考试\\u{1b}[2J");
        d.record(&fail);
        let r = d.take(1002.0, BTreeMap::new());
        assert_eq!(
            r.errors.values().next().unwrap().error,
            "http 400: 当前没有进行中的考试\\u{1b}[2J",
            "stable across deltas"
        );
    }

    #[test]
    fn deltas_bucket_and_reset() {
        let mut d = Delta::new(
            vec![
                ("/api/login".into(), "POST".into()),
                ("/api/upload".into(), "POST".into()),
            ],
            1000.0,
        );
        let s = |endpoint, at_ms, latency_us, failure| Sample {
            endpoint,
            at_ms,
            latency_us,
            failure,
            sent: 1,
            received: 10,
        };
        d.record(&s(0, 500, 2_500, None)); // 2.5 ms -> bucket 2
        d.record(&s(0, 1500, 147_000, Some(FailKind::Http(500)))); // 147 ms -> 150
        d.record(&s(1, 1600, 3_432_000, None)); // 3432 ms -> 3400
        let r = d.take(1003.0, BTreeMap::from([("StudentUser".into(), 2)]));
        assert_eq!(r.stats.len(), 2);
        let login = &r.stats[0];
        assert_eq!((login.num_requests, login.num_failures), (2, 1));
        assert_eq!(login.response_times, BTreeMap::from([(2, 1), (150, 1)]));
        assert_eq!(login.num_reqs_per_sec, BTreeMap::from([(1000, 1), (1001, 1)]));
        assert_eq!(login.num_fail_per_sec, BTreeMap::from([(1001, 1)]));
        assert_eq!((login.min_response_time, login.max_response_time), (Some(2.5), 147.0));
        assert_eq!(r.stats_total.num_requests, 3);
        assert_eq!(r.errors.values().next().unwrap().error, "http 500");
        assert_eq!(r.user_count, 2);
        let idle = d.take(1006.0, BTreeMap::new());
        assert!(idle.stats.is_empty() && idle.errors.is_empty());
        assert_eq!(
            (
                idle.stats_total.num_requests,
                idle.stats_total.start_time,
                idle.stats_total.min_response_time
            ),
            (0, 1003.0, None)
        );
    }
}
