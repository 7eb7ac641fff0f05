//! The login fold: login and logout events in, per-ID state, duplicates
//! classified out (`sessions.rs`). Incremental and free of I/O, so batch
//! files, a live tailer, client ledgers and the server's database feed the
//! same code; partial folds merge (parallel chunks of one file).

use std::collections::HashMap;

use crate::report::ids::{DuplicateId, IdLogins, LineSample, LoginRef};

/// One login (or logout) seen in a log, a ledger or the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// The time was written without a zone (`时间=…` of the logout print,
    /// a database `DATETIME`): read as UTC, then aligned with the zone of the
    /// ID's other events when classified.
    pub naive: bool,
    /// For a session's end that is no logout: what ended it (`went offline`,
    /// `restarted`, `was killed`).
    pub how: Option<&'static str>,
    /// Unix milliseconds, for a client ledger's record: whole seconds
    /// cannot order two machines' records of one ID.
    pub ms: Option<i64>,
}

/// What a login line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// A login with an ID.
    Login(LoginEvent),
    /// The end of a session (a logout, or what else ended it) with an ID.
    Logout(LoginEvent),
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
    /// Session ends (logouts) per ID, in arrival order.
    pub logouts_by_id: HashMap<String, Vec<LoginEvent>>,
    /// Logout events seen.
    pub logouts: u64,
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
            Observation::Logout(ev) => {
                self.logouts += 1;
                self.logouts_by_id.entry(ev.id.clone()).or_default().push(ev);
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
        self.logouts += other.logouts;
        for (id, evs) in other.by_id {
            self.by_id.entry(id).or_default().extend(evs);
        }
        for (id, evs) in other.logouts_by_id {
            self.logouts_by_id.entry(id).or_default().extend(evs);
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
            .map(|(id, evs)| classify(id, evs, self.ends(id), window_secs, file_name))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// The session ends of one ID.
    pub fn ends(&self, id: &str) -> &[LoginEvent] {
        self.logouts_by_id.get(id).map_or(&[], Vec::as_slice)
    }

    /// Every ID that logged in with its events (time order; logouts' zone-less
    /// times aligned), sorted by ID.
    pub fn logins(&self, file_name: &dyn Fn(usize) -> String) -> Vec<IdLogins> {
        let mut out: Vec<IdLogins> = self
            .by_id
            .iter()
            .map(|(id, evs)| {
                let (logins, logouts) = super::sessions::timeline(evs, self.ends(id));
                IdLogins {
                    id: id.clone(),
                    events: logins.iter().map(|(t, e)| aligned_ref(e, *t, file_name)).collect(),
                    logouts: logouts.iter().map(|(t, e)| aligned_ref(e, *t, file_name)).collect(),
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
    aligned_ref(e, e.time.as_ref().map(|t| t.1), file_name)
}

/// A report entry with the event's time as aligned (`unix`): a report read
/// back (`gate --merge`) then needs no zone to compare it.
pub fn aligned_ref(e: &LoginEvent, unix: Option<i64>, file_name: &dyn Fn(usize) -> String) -> LoginRef {
    LoginRef {
        file: file_name(e.file),
        line: e.line,
        time: e.time.as_ref().map(|t| t.0.clone()),
        unix,
        source: e.source.clone(),
        how: e.how.map(str::to_string),
    }
}

pub use super::sessions::classify;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ids::IdsKind;
    use proptest::prelude::*;

    fn ev(id: &str, line: u64, t: Option<i64>, src: &str) -> Observation {
        Observation::Login(LoginEvent {
            id: id.into(),
            file: 0,
            line,
            time: t.map(|t| (format!("t{t}"), t)),
            source: Some(src.into()),
            ..LoginEvent::default()
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

        /// With logouts: merging is still exact, and an ID whose every login
        /// follows a logout of its own after the login before never collides.
        #[test]
        fn logouts_merge_exactly_and_sequential_sessions_never_collide(
            evs in proptest::collection::vec((0u8..6, 0i64..600, any::<bool>()), 0..60),
            cut in 0usize..60,
        ) {
            let obs: Vec<Observation> = evs.iter().enumerate().map(|(i, (id, t, out))| {
                let Observation::Login(e) = ev(&format!("s{id}"), i as u64 + 1, Some(*t), "w") else { unreachable!() };
                if *out { Observation::Logout(e) } else { Observation::Login(e) }
            }).collect();
            let cut = cut.min(obs.len());
            let mut whole = LoginFold::default();
            obs.iter().cloned().for_each(|o| whole.observe(o));
            let (mut a, mut b) = (LoginFold::default(), LoginFold::default());
            obs[..cut].iter().cloned().for_each(|o| a.observe(o));
            obs[cut..].iter().cloned().for_each(|o| b.observe(o));
            a.merge(b);
            prop_assert_eq!(a.duplicates(120, &name), whole.duplicates(120, &name));
            // Strictly alternating login, logout, login, … in time: relogins only.
            let mut f = LoginFold::default();
            for k in 0..evs.len().min(20) as i64 {
                let o = ev("x", k as u64 + 1, Some(k * 5), "w");
                f.observe(if k % 2 == 1 { match o { Observation::Login(e) => Observation::Logout(e), o => o } } else { o });
            }
            prop_assert!(f.duplicates(120, &name).iter().all(|d| d.kind == IdsKind::Relogin));
        }
    }
}
