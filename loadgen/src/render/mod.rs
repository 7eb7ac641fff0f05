//! Renderers of a run report: one file per format.

pub mod csv;
pub mod endpoints;
pub mod html;
pub mod setup;
pub mod table;
pub mod width;
