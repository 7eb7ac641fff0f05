//! The worker's users: started and stopped to match the master's per-class
//! targets, each one a student with an ID of this worker's own.

use std::collections::BTreeMap;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::blocks::SpawnInfo;
use super::worker::Worker;
use crate::stats::Event;
use crate::student::{self, Student};

/// One running user.
pub(super) struct User {
    pub(super) class: String,
    /// Its student ID, to name it if it ends abnormally.
    pub(super) id: String,
    /// The ID's number (the master's IDs name users by it).
    pub(super) n: u64,
    pub(super) stop: watch::Sender<bool>,
    pub(super) handle: JoinHandle<()>,
}

impl Worker {
    /// Moves to the master's absolute per-class targets.
    pub(super) fn spawn_to(
        &mut self,
        targets: BTreeMap<String, u64>,
        host: Option<&str>,
        num_users: Option<u64>,
        workers: Option<u64>,
    ) -> anyhow::Result<()> {
        if !self.runs.in_progress() {
            self.begin_section(host);
        }
        let ctx = self.ctx(host)?;
        if !self.runs.in_progress() {
            self.runs.begin(crate::run::collector(&self.cfg.setup.scenario));
        }
        self.users.retain(|u| !u.handle.is_finished());
        let mut running: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for u in self.users.iter().filter(|u| !*u.stop.borrow()) {
            running.entry(u.class.clone()).or_default().push(u.n);
        }
        let info = SpawnInfo {
            num_users,
            expect_workers: workers,
            index: self.index,
        };
        let change = self.ids.plan(&targets, &running, info);
        let stop: std::collections::HashSet<u64> = change.stop.iter().copied().collect();
        for u in self.users.iter().filter(|u| stop.contains(&u.n)) {
            let _ = u.stop.send(true);
        }
        for (class, n, id) in change.start {
            let (stop, rx) = watch::channel(false);
            let handle = tokio::spawn(student::run(
                ctx.clone(),
                Student {
                    id: id.clone(),
                    n,
                    seed: n,
                    exam: None,
                },
                rx,
            ));
            self.users.push(User {
                class,
                id,
                n,
                stop,
                handle,
            });
        }
        self.targets = targets;
        Ok(())
    }

    /// Stops every user and waits for them, at most `stop_timeout`.
    pub(super) async fn stop_all(&mut self) {
        for u in &self.users {
            let _ = u.stop.send(true);
        }
        let deadline = Instant::now() + self.cfg.stop_timeout;
        let users: Vec<User> = self.users.drain(..).collect();
        for u in users {
            let mut h = u.handle;
            // A user that did not end by itself fails the run, as in `loadgen run`.
            let why = match tokio::time::timeout_at(deadline, &mut h).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) if e.is_panic() => Some("panicked"),
                Ok(Err(_)) => Some("cancelled"),
                Err(_) => {
                    h.abort();
                    Some("abandoned after --stop-timeout")
                }
            };
            if let Some(why) = why {
                if let Some(l) = &self.ledger {
                    l.sink().record(crate::ledger::Record::Ended {
                        student: u.id.clone(),
                        why: why.to_string(),
                    });
                }
                let _ = self.events_tx.send(Event::EndedAbnormally {
                    student: u.id,
                    why: why.to_string(),
                });
            }
        }
        self.targets.clear();
    }

    pub(super) fn live_counts(&self) -> BTreeMap<String, u64> {
        let mut m: BTreeMap<String, u64> = self.targets.keys().map(|k| (k.clone(), 0)).collect();
        for u in self
            .users
            .iter()
            .filter(|u| !u.handle.is_finished() && !*u.stop.borrow())
        {
            *m.entry(u.class.clone()).or_default() += 1;
        }
        m
    }
}
