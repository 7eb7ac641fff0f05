//! JSON output: the report structs, serialized as they are (the contract).

use std::io::{self, Write};

use serde::Serialize;

/// Writes `report` as pretty JSON followed by a newline.
pub fn write<W: Write, R: Serialize>(out: &mut W, report: &R) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
