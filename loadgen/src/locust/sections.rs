//! The worker's `--ledger`: one section per Locust run. The first opens when
//! the worker starts (a ledger that cannot be opened is refused before the
//! master is waited for), each stop from the master closes the run's section
//! with `run_end` (an idle worker's too: its ledger is complete for that run
//! while it waits for the next), and the next swarm opens a new one that
//! names its host. The section open when the worker leaves closes with `end`.
//! A worker killed during a run leaves the earlier runs' sections complete.

use super::worker::Worker;

impl Worker {
    /// Closes the ledger's section as the worker leaves (its `end` record).
    pub(super) fn end_section(&mut self) {
        self.close_section(crate::ledger::Ledger::finish);
    }

    /// Closes the run's section at the master's stop (`run_end`); the next
    /// run opens its own, and its students a context that writes there.
    pub(super) fn end_run_section(&mut self) {
        self.close_section(crate::ledger::Ledger::finish_run);
    }

    fn close_section(&mut self, finish: fn(crate::ledger::Ledger) -> Result<u64, String>) {
        if let Some(l) = self.ledger.take() {
            if let Err(e) = finish(l) {
                self.ledger_error.get_or_insert(e);
            }
            self.ctx = None;
        }
    }

    /// Opens a new run's ledger section after a stop closed the last one.
    pub(super) fn begin_section(&mut self, host: Option<&str>) {
        let Some(target) = &self.cfg.setup.ledger else { return };
        if self.ledger.is_some() || self.ledger_error.is_some() {
            return;
        }
        let host = self.cfg.host.as_deref().or(host).unwrap_or("(from the Locust master)");
        // The file is this worker's own by now: the section follows its content.
        let target = crate::ledger::Target {
            path: target.path.clone(),
            append: true,
        };
        match crate::run::open_ledger(&target, host, &self.cfg.setup.scenario) {
            Ok(l) => self.ledger = Some(l),
            Err(e) => {
                let e = format!("{e:#}");
                eprintln!("loadgen worker: {e}; the run goes on without a ledger, and it will exit 2");
                self.ledger_error = Some(e);
            }
        }
    }
}
