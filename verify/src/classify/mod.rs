//! Classifiers: raw lines to what they say (time, source, kind of line).

pub mod celery;
pub mod login;
pub mod logline;
pub mod mergeline;
