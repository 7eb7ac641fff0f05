//! What `verify watch` reports while it runs: typed events, written as text
//! only by `render::watch`.

use std::time::SystemTime;

use super::{Alert, Tally};

/// What the sink is given.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    Alert {
        at: SystemTime,
        alert: Alert,
    },
    /// Alerts not shown in the last second (over `--max-alerts-per-second`).
    HeldBack {
        at: SystemTime,
        count: u64,
    },
    Summary {
        at: SystemTime,
        tally: Tally,
        lines_per_s: f64,
        files_per_s: f64,
    },
    Stopping {
        at: SystemTime,
    },
    Done {
        at: SystemTime,
        stats: Stats,
    },
}

/// Totals of one watch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub seconds: f64,
    pub lines: u64,
    pub rotations: u64,
    pub truncations: u64,
    /// Folder reads caused by tree events.
    pub folder_reads: u64,
}
