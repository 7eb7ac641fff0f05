//! What `loadgen` and `verify` both speak, defined once: today the client
//! ledger's format (`loadgen --ledger` writes it, `verify gate --ledger`
//! reads it). Serialized types only; no I/O.

pub mod ledger;
