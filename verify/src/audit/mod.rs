//! The audits: pure folds from observations to report structs. Nothing here
//! does I/O or reads the clock, so tests can feed them anything.

pub mod acked;
pub mod causes;
pub mod cross;
pub mod explain;
pub mod fold;
pub mod ids;
pub mod ledger_checks;
pub mod ledger_logins;
pub mod merge;
pub mod obs;
pub mod order;
pub mod ranges;
pub mod reconcile;
pub mod seq;
pub mod sessions;
pub mod unsequenced;
