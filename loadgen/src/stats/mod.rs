//! Statistics: events in (from student tasks, over a channel), report out.
//! Nothing here reads the clock: every event carries its own timings, so the
//! statistics are tested with injected values.

pub mod collector;
pub mod event;
pub mod exact;

pub use collector::{Collector, RunMeta};
pub use event::{Event, FailKind, Sample};
