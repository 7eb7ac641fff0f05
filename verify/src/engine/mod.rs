//! Engines: a source feeding an audit fold, producing one report.

pub mod gate;
pub mod ids;
pub mod ledger;
pub mod merge;
pub mod seq;
pub mod watch;
