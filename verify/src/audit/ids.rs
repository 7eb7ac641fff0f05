//! The login fold: login events in, per-ID state, duplicates classified out.
//! Incremental and free of I/O, so batch files and a live tailer feed the same
//! code; partial folds merge (parallel chunks of one file).

use std::collections::HashMap;

use crate::report::ids::{DuplicateId, IdLogins, IdsKind, LineSample, LoginRef};

/// One login seen in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginEvent {
    /// Student ID.
    pub id: String,
    /// Index of the file in the run's file list.
    pub file: usize,
    /// Line number, from 1.
    pub line: u64,
    /// Timestamp text and seconds since the epoch, if the line had one.
    pub time: Option<(String, i64)>,
    /// Client address or worker, if known.
    pub source: Option<String>,
}

/// What a login line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// A login with an ID.
    Login(LoginEvent),
    /// The event word without an ID.
    Malformed { file: usize, line: u64, text: String },
    /// The event word inside a continuation of a multi-line entry (a traceback
    /// frame, an exception message): not a login.
    Continuation,
}

/// Samples of malformed lines kept for the report.
pub const MALFORMED_SAMPLES: usize = 5;

/// The fold's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginFold {
    /// Events per ID, in arrival order.
    pub by_id: HashMap<String, Vec<LoginEvent>>,
    /// Login events seen.
    pub events: u64,
    /// Malformed lines seen.
    pub malformed: u64,
    /// Continuation lines holding the event word, not counted as logins.
    pub continuations: u64,
    /// The first malformed lines: (file, line, text).
    pub malformed_samples: Vec<(usize, u64, String)>,
}

impl LoginFold {
    /// Adds one observation.
    pub fn observe(&mut self, obs: Observation) {
        match obs {
            Observation::Login(ev) => {
                self.events += 1;
                self.by_id.entry(ev.id.clone()).or_default().push(ev);
            }
            Observation::Malformed { file, line, text } => {
                self.malformed += 1;
                if self.malformed_samples.len() < MALFORMED_SAMPLES {
                    self.malformed_samples.push((file, line, text));
                }
            }
            Observation::Continuation => self.continuations += 1,
        }
    }

    /// Merges a later partial fold into this one.
    pub fn merge(&mut self, other: LoginFold) {
        self.events += other.events;
        self.malformed += other.malformed;
        self.continuations += other.continuations;
        for (id, evs) in other.by_id {
            self.by_id.entry(id).or_default().extend(evs);
        }
        self.malformed_samples.extend(other.malformed_samples);
        self.malformed_samples.sort();
        self.malformed_samples.truncate(MALFORMED_SAMPLES);
    }

    /// IDs with two or more logins, classified, sorted by ID.
    pub fn duplicates(&self, window_secs: i64, file_name: &dyn Fn(usize) -> String) -> Vec<DuplicateId> {
        let mut out: Vec<DuplicateId> = self
            .by_id
            .iter()
            .filter(|(_, evs)| evs.len() > 1)
            .map(|(id, evs)| classify(id, evs, window_secs, file_name))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Every ID with its events (time order), sorted by ID.
    pub fn logins(&self, file_name: &dyn Fn(usize) -> String) -> Vec<IdLogins> {
        let mut out: Vec<IdLogins> = self
            .by_id
            .iter()
            .map(|(id, evs)| {
                let mut evs: Vec<&LoginEvent> = evs.iter().collect();
                evs.sort_by_key(|e| (e.time.as_ref().map_or(i64::MAX, |t| t.1), e.file, e.line));
                IdLogins {
                    id: id.clone(),
                    events: evs.into_iter().map(|e| login_ref(e, file_name)).collect(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// Malformed samples as report entries.
    pub fn samples(&self, file_name: &dyn Fn(usize) -> String) -> Vec<LineSample> {
        self.malformed_samples
            .iter()
            .map(|(f, line, text)| LineSample {
                file: file_name(*f),
                line: *line,
                text: text.clone(),
            })
            .collect()
    }
}

/// A login event as a report entry.
pub fn login_ref(e: &LoginEvent, file_name: &dyn Fn(usize) -> String) -> LoginRef {
    LoginRef {
        file: file_name(e.file),
        line: e.line,
        time: e.time.as_ref().map(|t| t.0.clone()),
        unix: e.time.as_ref().map(|t| t.1),
        source: e.source.clone(),
    }
}

/// `collision` when two logins of one ID fall within the window of each other
/// (or cannot be told apart in time), `relogin` when they are sequential.
pub fn classify(id: &str, evs: &[LoginEvent], window: i64, file_name: &dyn Fn(usize) -> String) -> DuplicateId {
    let mut evs: Vec<&LoginEvent> = evs.iter().collect();
    evs.sort_by_key(|e| (e.time.as_ref().map_or(i64::MAX, |t| t.1), e.file, e.line));
    let mut closest: Option<(i64, usize)> = None; // (seconds apart, index of the later one)
    let mut untimed = false;
    for (i, pair) in evs.windows(2).enumerate() {
        match (&pair[0].time, &pair[1].time) {
            (Some(a), Some(b)) => {
                let d = b.1 - a.1;
                if closest.is_none_or(|(c, _)| d < c) {
                    closest = Some((d, i + 1));
                }
            }
            _ => untimed = true,
        }
    }
    let src = |e: &LoginEvent| e.source.clone().unwrap_or_else(|| "unknown source".into());
    let (kind, evidence) = match closest {
        Some((d, i)) if d <= window => (
            IdsKind::Collision,
            format!(
                "{} logins, two {d} s apart (within --window {window} s) from {} and {}",
                evs.len(),
                src(evs[i - 1]),
                src(evs[i])
            ),
        ),
        _ if untimed => (
            IdsKind::Collision,
            format!(
                "{} logins on lines without timestamps: they cannot be told apart in time",
                evs.len()
            ),
        ),
        Some((d, _)) => (
            IdsKind::Relogin,
            format!(
                "{} logins, the closest {d} s apart (over --window {window} s)",
                evs.len()
            ),
        ),
        None => unreachable!("two or more events give at least one pair"),
    };
    DuplicateId {
        id: id.to_string(),
        count: evs.len() as u64,
        kind,
        evidence,
        events: evs.iter().map(|e| login_ref(e, file_name)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(id: &str, line: u64, t: Option<i64>, src: &str) -> Observation {
        Observation::Login(LoginEvent {
            id: id.into(),
            file: 0,
            line,
            time: t.map(|t| (format!("t{t}"), t)),
            source: Some(src.into()),
        })
    }

    fn name(_: usize) -> String {
        "log".into()
    }

    #[test]
    fn close_logins_collide_and_far_ones_relogin() {
        let mut f = LoginFold::default();
        for o in [
            ev("a", 1, Some(0), "w1"),
            ev("a", 2, Some(3), "w2"),
            ev("b", 3, Some(0), "w1"),
            ev("b", 4, Some(900), "w1"),
            ev("c", 5, Some(1), "w1"),
        ] {
            f.observe(o);
        }
        let d = f.duplicates(120, &name);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].id.as_str(), d[0].kind), ("a", IdsKind::Collision));
        assert!(
            d[0].evidence.contains("3 s apart") && d[0].evidence.contains("w1 and w2"),
            "{}",
            d[0].evidence
        );
        assert_eq!((d[1].id.as_str(), d[1].kind, d[1].count), ("b", IdsKind::Relogin, 2));
    }

    #[test]
    fn untimed_duplicates_are_collisions() {
        let mut f = LoginFold::default();
        f.observe(ev("a", 1, None, "x"));
        f.observe(ev("a", 2, None, "x"));
        assert_eq!(f.duplicates(120, &name)[0].kind, IdsKind::Collision);
    }

    #[test]
    fn malformed_lines_are_counted_with_a_few_samples() {
        let mut f = LoginFold::default();
        for i in 0..9 {
            f.observe(Observation::Malformed {
                file: 0,
                line: i,
                text: format!("l{i}"),
            });
        }
        assert_eq!((f.malformed, f.malformed_samples.len()), (9, MALFORMED_SAMPLES));
    }

    proptest! {
        /// Merging partial folds equals folding everything in one go, and the
        /// duplicate set is exactly the IDs with two or more logins.
        #[test]
        fn merge_is_exact(ids in proptest::collection::vec((0u8..20, 0i64..1000), 0..80), cut in 0usize..80) {
            let obs: Vec<Observation> = ids.iter().enumerate().map(|(i, (id, t))| ev(&format!("s{id}"), i as u64 + 1, Some(*t), "w")).collect();
            let cut = cut.min(obs.len());
            let mut whole = LoginFold::default();
            obs.iter().cloned().for_each(|o| whole.observe(o));
            let (mut a, mut b) = (LoginFold::default(), LoginFold::default());
            obs[..cut].iter().cloned().for_each(|o| a.observe(o));
            obs[cut..].iter().cloned().for_each(|o| b.observe(o));
            a.merge(b);
            prop_assert_eq!(a.duplicates(120, &name), whole.duplicates(120, &name));
            let mut counts = std::collections::BTreeMap::new();
            for (id, _) in &ids { *counts.entry(format!("s{id}")).or_insert(0) += 1; }
            let want: Vec<String> = counts.into_iter().filter(|(_, c)| *c > 1).map(|(k, _)| k).collect();
            let got: Vec<String> = whole.duplicates(120, &name).into_iter().map(|d| d.id).collect();
            prop_assert_eq!(got, want);
        }
    }
}
