//! The fold of events into statistics, and the report it gives.

use std::collections::{BTreeMap, HashMap};

use common::exit::Verdict;
use hdrhistogram::Histogram;

use super::event::{Event, FailKind, Sample};
use super::exact::{Exact, within};
use crate::report::{
    EndpointReport, HistoryRow, Latency, Lateness, PERCENTILES, RunReport, SCHEMA, StudentIssue, Students, TaskLateness,
};

/// Highest latency the histograms track exactly: one hour, in microseconds.
const MAX_US: u64 = 3_600_000_000;
/// Locust's "current" request rate is taken over this many completed seconds.
const CURRENT_WINDOW_S: u64 = 10;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("static bounds are valid")
}

/// Per-request-kind counters.
#[derive(Debug, Clone)]
pub struct EndpointStats {
    /// Display name, e.g. `login`.
    pub name: String,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    requests: u64,
    failures: u64,
    kinds: BTreeMap<FailKind, u64>,
    /// The first answer of each failure kind (bounded: one per kind).
    answers: BTreeMap<FailKind, std::sync::Arc<str>>,
    hist: Histogram<u64>,
    sum_us: u128,
    /// Exact extremes (the histogram reports bucket bounds).
    min_us: u64,
    max_us: u64,
    sent: u64,
    received: u64,
    /// Requests and failures per second since the start (index = second).
    per_second: Vec<(u64, u64)>,
}

impl EndpointStats {
    fn new(name: &str, method: &str, path: &str) -> Self {
        EndpointStats {
            name: name.into(),
            method: method.into(),
            path: path.into(),
            requests: 0,
            failures: 0,
            kinds: BTreeMap::new(),
            answers: BTreeMap::new(),
            hist: histogram(),
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            sent: 0,
            received: 0,
            per_second: Vec::new(),
        }
    }

    fn record(&mut self, s: &Sample) {
        self.requests += 1;
        self.hist.saturating_record(s.latency_us.clamp(1, MAX_US));
        self.sum_us += u128::from(s.latency_us);
        self.min_us = self.min_us.min(s.latency_us);
        self.max_us = self.max_us.max(s.latency_us);
        self.sent += s.sent;
        self.received += s.received;
        let sec = (s.at_ms / 1000) as usize;
        if self.per_second.len() <= sec {
            self.per_second.resize(sec + 1, (0, 0));
        }
        self.per_second[sec].0 += 1;
        if let Some(k) = &s.failure {
            self.failures += 1;
            *self.kinds.entry(k.clone()).or_default() += 1;
            self.per_second[sec].1 += 1;
        }
    }

    fn merge(&mut self, o: &EndpointStats) {
        self.requests += o.requests;
        self.failures += o.failures;
        for (k, n) in &o.kinds {
            *self.kinds.entry(k.clone()).or_default() += n;
        }
        for (k, a) in &o.answers {
            self.answers.entry(k.clone()).or_insert_with(|| a.clone());
        }
        self.hist.add(&o.hist).expect("same bounds");
        self.sum_us += o.sum_us;
        self.min_us = self.min_us.min(o.min_us);
        self.max_us = self.max_us.max(o.max_us);
        self.sent += o.sent;
        self.received += o.received;
        if self.per_second.len() < o.per_second.len() {
            self.per_second.resize(o.per_second.len(), (0, 0));
        }
        for (i, (r, f)) in o.per_second.iter().enumerate() {
            self.per_second[i].0 += r;
            self.per_second[i].1 += f;
        }
    }

    /// Requests and failures per second over the completed seconds before `now_ms`.
    fn current_rates(&self, now_ms: u64) -> (f64, f64) {
        let end = (now_ms / 1000) as usize; // the current second is incomplete
        let start = end.saturating_sub(CURRENT_WINDOW_S as usize);
        let span = (end - start).max(1) as f64;
        let (r, f) = self
            .per_second
            .get(start..end.min(self.per_second.len()))
            .unwrap_or(&[])
            .iter()
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        (r as f64 / span, f as f64 / span)
    }

    /// The latency figures in milliseconds.
    pub fn latency(&self) -> Latency {
        let ms = |us: u64| us as f64 / 1000.0;
        if self.requests == 0 {
            return Latency::default();
        }
        Latency {
            min: ms(self.min_us),
            p50: ms(self.quantile(0.50)),
            p90: ms(self.quantile(0.90)),
            p99: ms(self.quantile(0.99)),
            max: ms(self.max_us),
            avg: ms((self.sum_us / u128::from(self.requests)) as u64),
        }
    }

    /// Latency at Locust's quantiles, whole milliseconds (empty without requests).
    pub fn percentiles_ms(&self) -> Vec<u64> {
        if self.requests == 0 {
            return Vec::new();
        }
        // Rounded to the nearest millisecond, as the min/avg/max columns are.
        PERCENTILES
            .iter()
            .map(|(q, _)| (self.quantile(*q) + 500) / 1000)
            .collect()
    }

    /// The histogram's value at `q`, within the exact min and max.
    fn quantile(&self, q: f64) -> u64 {
        within(&self.hist, q, self.min_us, self.max_us)
    }

    fn report(&self, elapsed_s: f64) -> EndpointReport {
        EndpointReport {
            name: self.name.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            requests: self.requests,
            failures: self.failures,
            failure_kinds: self.kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            failure_answers: self
                .answers
                .iter()
                .map(|(k, a)| (k.to_string(), a.to_string()))
                .collect(),
            requests_per_s: self.requests as f64 / elapsed_s.max(1e-9),
            failures_per_s: self.failures as f64 / elapsed_s.max(1e-9),
            bytes_sent: self.sent,
            bytes_received: self.received,
            avg_response_bytes: if self.requests == 0 {
                0.0
            } else {
                self.received as f64 / self.requests as f64
            },
            latency_ms: self.latency(),
            percentiles_ms: self.percentiles_ms(),
        }
    }

    /// Requests seen.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Failures seen.
    pub fn failures(&self) -> u64 {
        self.failures
    }
}

/// What a report says about who ran, beside the statistics.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub host: String,
    pub id_range: String,
    pub id_source: String,
    /// Ranges of IDs used outside the run's population (`loadgen worker`).
    pub ids_outside_population: Vec<String>,
    /// Students planned; `None`: as many as were started.
    pub planned: Option<u64>,
    /// The verdict fails above this failure ratio.
    pub max_fail_ratio: f64,
    /// `https://` host: report TLS handshakes; `--insecure` given.
    pub tls: bool,
    pub insecure: bool,
}

/// The whole run's statistics.
#[derive(Debug, Clone)]
pub struct Collector {
    endpoints: Vec<EndpointStats>,
    /// Per task: name, histogram, exact maximum.
    tasks: Vec<(String, Exact, u64)>,
    /// The sequenced task's index (its lateness is the report's `lateness`).
    sequenced: Option<usize>,
    /// Every task together, for the live p99.
    lateness: Exact,
    students: Students,
    active: u64,
    history: Vec<HistoryRow>,
    gave_up: BTreeMap<String, Vec<u64>>,
    skipped: BTreeMap<String, Vec<u64>>,
    /// The last seq each student finished with (uploaded, given up or skipped).
    last_seq: HashMap<String, u64>,
    /// TLS handshake times, and the exact maximum.
    handshakes: Histogram<u64>,
    handshake_max: u64,
    /// Local queues (a queued task only).
    queue: Option<QueueState>,
    lost_at_exit: BTreeMap<String, Vec<u64>>,
    restarted: Vec<StudentIssue>,
    killed: Vec<StudentIssue>,
}

/// Queue figures as they come.
#[derive(Debug, Clone, Default)]
struct QueueState {
    now: u64,
    max: u64,
    max_depth: u64,
    max_oldest_ms: u64,
}

impl Collector {
    /// A collector for the scenario's request kinds: (name, method, path),
    /// and its tasks' names (lateness per task).
    pub fn new(endpoints: &[(String, String, String)], tasks: &[String], sequenced: Option<usize>) -> Collector {
        Collector {
            endpoints: endpoints.iter().map(|(n, m, p)| EndpointStats::new(n, m, p)).collect(),
            tasks: tasks.iter().map(|n| (n.clone(), Exact::new(histogram()), 0)).collect(),
            sequenced,
            lateness: Exact::new(histogram()),
            students: Students::default(),
            active: 0,
            history: Vec::new(),
            gave_up: BTreeMap::new(),
            skipped: BTreeMap::new(),
            last_seq: HashMap::new(),
            handshakes: histogram(),
            handshake_max: 0,
            queue: None,
            lost_at_exit: BTreeMap::new(),
            restarted: Vec::new(),
            killed: Vec::new(),
        }
    }

    /// Folds one event in.
    pub fn record(&mut self, ev: Event) {
        match ev {
            Event::Sample(s) => {
                if let Some(e) = self.endpoints.get_mut(s.endpoint) {
                    e.record(&s);
                }
            }
            Event::FailedAnswer { endpoint, kind, head } => {
                if let Some(e) = self.endpoints.get_mut(endpoint) {
                    e.answers.entry(kind).or_insert(head);
                }
            }
            Event::Lateness { task, us } => {
                self.lateness.saturating_record(us.min(MAX_US));
                if let Some((_, h, max)) = self.tasks.get_mut(task) {
                    h.saturating_record(us.min(MAX_US));
                    *max = (*max).max(us);
                }
            }
            Event::TlsHandshake { us } => {
                self.handshakes.saturating_record(us.min(MAX_US));
                self.handshake_max = self.handshake_max.max(us);
            }
            Event::Spawned => {
                self.students.spawned += 1;
                self.active += 1;
            }
            Event::LoggedIn => self.students.logged_in += 1,
            Event::LoginGaveUp { student } => self.students.login_failed.push(student),
            Event::SeqGaveUp { student, seq } => {
                self.last_seq.insert(student.clone(), seq);
                self.gave_up.entry(student).or_default().push(seq);
            }
            Event::SeqSkipped { student, seq } => {
                self.last_seq.insert(student.clone(), seq);
                self.skipped.entry(student).or_default().push(seq);
            }
            Event::Queued => {
                let q = self.queue.get_or_insert_with(QueueState::default);
                q.now += 1;
                q.max = q.max.max(q.now);
            }
            Event::Unqueued => {
                let q = self.queue.get_or_insert_with(QueueState::default);
                q.now = q.now.saturating_sub(1);
            }
            Event::QueueSeen { depth, oldest_ms } => {
                let q = self.queue.get_or_insert_with(QueueState::default);
                q.max_depth = q.max_depth.max(depth);
                q.max_oldest_ms = q.max_oldest_ms.max(oldest_ms);
            }
            Event::LostAtExit { student, seq } => {
                self.last_seq.insert(student.clone(), seq);
                self.lost_at_exit.entry(student).or_default().push(seq);
            }
            Event::Restarted { student, lost } => self.restarted.push(StudentIssue {
                id: student,
                seqs: lost,
            }),
            Event::Killed { student, lost } => self.killed.push(StudentIssue {
                id: student,
                seqs: lost,
            }),
            Event::Uploaded { student, seq } => {
                self.last_seq.insert(student, seq);
                self.students.segments_uploaded += 1;
            }
            Event::EndedAbnormally { student, why } => {
                // The seq it had in flight (if it uploads seqs) is lost: say so.
                if self.sequenced.is_some() {
                    let next = self.last_seq.get(&student).map_or(1, |s| s.saturating_add(1));
                    self.gave_up.entry(student.clone()).or_default().push(next);
                }
                self.students
                    .ended_abnormally
                    .push(crate::report::AbnormalEnd { id: student, why });
                self.active = self.active.saturating_sub(1);
            }
            Event::Finished { ok } => {
                if ok {
                    self.students.finished += 1;
                } else {
                    self.students.finish_failed += 1;
                }
            }
            Event::Ended => self.active = self.active.saturating_sub(1),
        }
    }

    /// Students running now.
    pub fn active(&self) -> u64 {
        self.active
    }

    /// Per-kind statistics.
    pub fn endpoints(&self) -> &[EndpointStats] {
        &self.endpoints
    }

    /// All request kinds together (Locust's "Aggregated").
    pub fn total(&self) -> EndpointStats {
        let mut t = EndpointStats::new("Aggregated", "", "");
        for e in &self.endpoints {
            t.merge(e);
        }
        t
    }

    /// Appends one history row (call about once a second): `unix_s` is the
    /// wall-clock timestamp, `now_ms` the run time.
    pub fn tick(&mut self, unix_s: u64, now_ms: u64) {
        let t = self.total();
        let (rps, fps) = t.current_rates(now_ms);
        let l = t.latency();
        self.history.push(HistoryRow {
            timestamp: unix_s,
            elapsed_s: now_ms as f64 / 1000.0,
            users: self.active,
            requests_per_s: rps,
            failures_per_s: fps,
            percentiles_ms: t.percentiles_ms(),
            total_requests: t.requests,
            total_failures: t.failures,
            avg_ms: l.avg,
            min_ms: l.min,
            max_ms: l.max,
            avg_response_bytes: if t.requests == 0 {
                0.0
            } else {
                t.received as f64 / t.requests as f64
            },
            lateness_p99_ms: (!self.lateness.is_empty()).then(|| self.lateness.value_at_quantile(0.99) as f64 / 1000.0),
            queued: self.queue.as_ref().map(|q| q.now),
        });
    }

    /// The history rows so far.
    pub fn history(&self) -> &[HistoryRow] {
        &self.history
    }

    /// Lateness of every task, in scenario order.
    pub fn task_lateness(&self) -> Vec<TaskLateness> {
        self.tasks.iter().map(task_lateness).collect()
    }

    /// Report pieces: per-kind figures, totals, lateness, students.
    pub fn summarize(&self, elapsed_s: f64) -> (Vec<EndpointReport>, EndpointReport, Lateness, Students) {
        let endpoints = self.endpoints.iter().map(|e| e.report(elapsed_s)).collect();
        let total = self.total().report(elapsed_s);
        let lateness = self
            .sequenced
            .and_then(|i| self.tasks.get(i))
            .map(|t| {
                let l = task_lateness(t);
                Lateness {
                    uploads: l.runs,
                    p50_ms: l.p50_ms,
                    p90_ms: l.p90_ms,
                    p99_ms: l.p99_ms,
                    max_ms: l.max_ms,
                }
            })
            .unwrap_or_default();
        let mut students = self.students.clone();
        let issue = |(id, seqs): (&String, &Vec<u64>)| StudentIssue {
            id: id.clone(),
            seqs: seqs.clone(),
        };
        students.gave_up = self.gave_up.iter().map(issue).collect();
        students.skipped = self.skipped.iter().map(issue).collect();
        students.lost_at_exit = self.lost_at_exit.iter().map(issue).collect();
        students.restarted = self.restarted.clone();
        students.restarted.sort_by(|a, b| a.id.cmp(&b.id));
        students.killed = self.killed.clone();
        students.killed.sort_by(|a, b| a.id.cmp(&b.id));
        students.login_failed.sort();
        students.ended_abnormally.sort_by(|a, b| a.id.cmp(&b.id));
        (endpoints, total, lateness, students)
    }
}

fn task_lateness((name, h, max): &(String, Exact, u64)) -> TaskLateness {
    let ms = |us: u64| us as f64 / 1000.0;
    TaskLateness {
        name: name.clone(),
        runs: h.len(),
        p50_ms: ms(h.value_at_quantile(0.50)),
        p90_ms: ms(h.value_at_quantile(0.90)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(*max),
    }
}

impl Collector {
    /// The run's report after `secs` seconds: figures, verdict, history.
    pub fn report(&self, meta: RunMeta, secs: f64) -> RunReport {
        let (endpoints, total, lateness, mut students) = self.summarize(secs);
        students.planned = meta.planned.unwrap_or(students.spawned);
        let fail_ratio = if total.requests == 0 {
            0.0
        } else {
            total.failures as f64 / total.requests as f64
        };
        let mut report = RunReport {
            schema: SCHEMA.to_string(),
            // A student that ended abnormally never passes, whatever the ratio says.
            verdict: if fail_ratio > meta.max_fail_ratio || !students.ended_abnormally.is_empty() {
                Verdict::Fail
            } else {
                Verdict::Pass
            },
            host: meta.host,
            id_range: meta.id_range,
            id_source: meta.id_source,
            ids_outside_population: meta.ids_outside_population,
            duration_s: secs,
            students,
            endpoints,
            total,
            fail_ratio,
            max_fail_ratio: meta.max_fail_ratio,
            lateness,
            task_lateness: self.task_lateness(),
            history: self.history.clone(),
            tls: meta.tls.then(|| {
                let ms = |q: f64| within(&self.handshakes, q, 0, self.handshake_max) as f64 / 1000.0;
                crate::report::TlsReport {
                    handshakes: self.handshakes.len(),
                    p50_ms: ms(0.5),
                    p99_ms: ms(0.99),
                    max_ms: self.handshake_max as f64 / 1000.0,
                    insecure: meta.insecure,
                }
            }),
            ledger_error: None,
            stopped_by: None,
            hints: Vec::new(),
            queue: self.queue.as_ref().map(|q| crate::report::QueueReport {
                max_queued: q.max,
                max_student_depth: q.max_depth,
                max_oldest_age_s: q.max_oldest_ms as f64 / 1000.0,
                lost_at_exit: self.lost_at_exit.values().map(|v| v.len() as u64).sum(),
            }),
            interrupted: false,
            context: None,
        };
        report.hints = crate::hints::for_run(&report);
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eps() -> Vec<(String, String, String)> {
        vec![
            ("login".into(), "POST".into(), "/api/login".into()),
            ("upload".into(), "POST".into(), "/api/upload".into()),
        ]
    }

    fn sample(endpoint: usize, at_ms: u64, latency_us: u64, failure: Option<FailKind>) -> Event {
        Event::Sample(Sample {
            endpoint,
            at_ms,
            latency_us,
            failure,
            sent: 100,
            received: 10,
        })
    }

    #[test]
    fn latency_percentiles_and_failure_kinds_from_injected_timings() {
        let mut c = Collector::new(&eps(), &[], None);
        for i in 1..=100u64 {
            c.record(sample(0, i * 10, i * 1000, None)); // 1..100 ms
        }
        c.record(sample(1, 500, 2_000, Some(FailKind::Http(500))));
        c.record(sample(1, 600, 3_000, Some(FailKind::Timeout)));
        c.record(sample(1, 700, 4_000, Some(FailKind::Http(500))));
        let (eps, total, _, _) = c.summarize(2.0);
        let l = &eps[0].latency_ms;
        assert_eq!((l.min, l.max), (1.0, 100.0));
        assert!(
            (l.p50 - 50.0).abs() < 0.1 && (l.p90 - 90.0).abs() < 0.1 && (l.p99 - 99.0).abs() < 0.1,
            "{l:?}"
        );
        assert!((l.avg - 50.5).abs() < 0.01);
        assert_eq!(eps[0].requests_per_s, 50.0);
        assert_eq!(eps[1].failures, 3);
        assert_eq!(
            eps[1].failure_kinds,
            BTreeMap::from([("http 500".to_string(), 2), ("timeout".to_string(), 1)])
        );
        assert_eq!((total.requests, total.failures, total.bytes_sent), (103, 3, 10_300));
    }

    /// Issue 27: a p99 of 26.3 ms over a max of 26.2 ms (the histogram's
    /// bucket top). Every quantile the report shows stays within the exact
    /// min and max: latency, Locust's percentiles, lateness, live p99.
    #[test]
    fn no_quantile_lies_outside_the_exact_min_and_max() {
        let mut c = Collector::new(&eps(), &["rec".into()], Some(0));
        c.record(sample(0, 5, 26_250, None));
        c.record(Event::Lateness { task: 0, us: 26_250 });
        c.tick(1_700_000_001, 1_000);
        let (eps, total, late, _) = c.summarize(1.0);
        for e in [&eps[0], &total] {
            let l = &e.latency_ms;
            assert_eq!(
                (l.min, l.p50, l.p90, l.p99, l.max),
                (26.25, 26.25, 26.25, 26.25, 26.25),
                "{l:?}"
            );
            assert!(e.percentiles_ms.iter().all(|&p| p == 26), "{:?}", e.percentiles_ms);
        }
        assert_eq!((late.p50_ms, late.p99_ms, late.max_ms), (26.25, 26.25, 26.25));
        assert_eq!(c.history()[0].lateness_p99_ms, Some(26.25));
    }

    #[test]
    fn lateness_students_and_history() {
        let mut c = Collector::new(&eps(), &["beat".into(), "upload".into()], Some(1));
        for _ in 0..3 {
            c.record(Event::Spawned);
        }
        c.record(Event::LoggedIn);
        c.record(Event::SeqGaveUp {
            student: "s2".into(),
            seq: 4,
        });
        c.record(Event::SeqGaveUp {
            student: "s2".into(),
            seq: 7,
        });
        c.record(Event::SeqSkipped {
            student: "s1".into(),
            seq: 3,
        });
        c.record(Event::Ended);
        for us in [1_000, 2_000, 250_000] {
            c.record(Event::Lateness { task: 1, us });
        }
        c.record(Event::Lateness { task: 0, us: 7_000 });
        c.record(Event::Lateness { task: 9, us: 1 }); // no such task: ignored there
        for s in 0..12u64 {
            c.record(sample(0, s * 1000 + 5, 1000, (s == 11).then_some(FailKind::Reset)));
        }
        c.tick(1_700_000_012, 12_000);
        let (_, _, late, st) = c.summarize(12.0);
        assert_eq!((late.uploads, late.max_ms), (3, 250.0));
        let per = c.task_lateness();
        assert_eq!((per[0].name.as_str(), per[0].runs, per[0].max_ms), ("beat", 1, 7.0));
        assert_eq!((per[1].runs, per[1].max_ms), (3, 250.0));
        assert_eq!((st.spawned, st.logged_in), (3, 1));
        assert_eq!(
            st.gave_up,
            [StudentIssue {
                id: "s2".into(),
                seqs: vec![4, 7]
            }]
        );
        assert_eq!(st.skipped[0].seqs, [3]);
        let h = &c.history()[0];
        assert_eq!((h.users, h.total_requests, h.total_failures), (2, 12, 1));
        // The last 10 complete seconds (2..12) hold 10 requests, one failed.
        assert_eq!((h.requests_per_s, h.failures_per_s), (1.0, 0.1));
    }
}
