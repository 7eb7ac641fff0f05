//! Reading client ledgers (`--ledger`, paths or globs) into the fold.

use std::path::Path;

use crate::audit::fold::ledger::LedgerPart;
use crate::report::PathError;
use crate::sources::lines::{self, Filter};
use crate::sources::logfile::{self, Input};

/// Reads every ledger.
pub fn read_ledgers(args: &[String]) -> LedgerPart {
    let (inputs, bad) = logfile::expand(args);
    let mut part = LedgerPart {
        errors: bad.into_iter().map(|(path, error)| PathError { path, error }).collect(),
        ..LedgerPart::default()
    };
    for input in &inputs {
        read_input(&mut part, input, None);
    }
    part
}

/// Reads the first `limit` bytes of one ledger as the next file of `part`
/// (`verify watch`: what it holds at start, up to where following begins).
pub fn read_prefix(part: &mut LedgerPart, path: &Path, limit: u64) {
    read_input(part, &Input::File(path.to_path_buf()), Some(limit));
}

fn read_input(part: &mut LedgerPart, input: &Input, limit: Option<u64>) {
    // A file that cannot be opened is an error, not an empty ledger.
    let reader = match logfile::open_reader(input, limit) {
        Ok(r) => r,
        Err(e) => {
            part.errors.push(logfile::input_error(input, &e));
            return;
        }
    };
    let idx = part.add_file(input.name());
    // `scan` hands on every line but those over its cap: their numbers are
    // the ones skipped, and each is folded as overlong where it was.
    let mut next = 0u64;
    let (st, err) = lines::scan(reader, None, &Filter::All, |i, l| {
        for _ in next..i {
            part.observe_overlong(idx);
        }
        part.observe_line(idx, l);
        next = i.saturating_add(1);
    });
    for _ in next..st.lines {
        part.observe_overlong(idx);
    }
    if let Some(e) = err {
        part.errors.push(logfile::stopped_error(input, &e));
    }
}
