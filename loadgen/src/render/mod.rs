//! Renderers of a run report: one file per format.

pub mod csv;
pub mod html;
pub mod setup;
pub mod table;
