//! What `loadgen` and `verify` both speak, defined once, so that loadgen does
//! not depend on verify (and its log and tree readers' crates):
//!
//! - [`idspace`]: the student ID scheme (`test_00001`), ranges and shards;
//! - [`usage`]: flag values (sizes, durations, ratios) and the usage error;
//! - [`exit`]: exit codes and a report's verdict word;
//! - [`text`]: names and messages made safe for terminals, JSON and HTML;
//! - [`html`]: the fill of the self-contained HTML pages;
//! - [`regular_file`]: opening only regular files, without blocking;
//! - [`clidocs`]: shell completions and man pages;
//! - [`ledger`]: the client ledger's format (`loadgen --ledger` writes it,
//!   `verify gate --ledger` reads it).

pub mod clidocs;
pub mod exit;
pub mod html;
pub mod idspace;
pub mod ledger;
pub mod regular_file;
pub mod text;
pub mod usage;
