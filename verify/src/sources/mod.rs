//! Sources: where observations come from (files, trees). All I/O lives here.

pub mod db;
pub mod level;
pub mod lines;
pub mod logfile;
pub mod named;
pub mod rawdir;
pub mod tail;
pub mod tree;
