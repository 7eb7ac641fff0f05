//! The order a real client's records keep, per student in one ledger
//! section: after `killed` nothing more of that student; after `restart` its
//! login again before anything else; after `lost_at_exit` no more uploads.
//! A ledger that breaks it was not written by a client (or was edited): its
//! explanations of gaps cannot be trusted, so the break is a problem of the
//! file (`ledger_malformed`), never an explanation.

use std::collections::HashMap;

/// What the student's next records may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Killed,
    Restart,
    LostAtExit,
}

impl After {
    fn word(self) -> &'static str {
        match self {
            After::Killed => "killed",
            After::Restart => "restart",
            After::LostAtExit => "lost_at_exit",
        }
    }
}

/// Per (file, student): the last fault record, its line and its section.
#[derive(Debug, Clone, Default)]
pub struct RecordOrder {
    pending: HashMap<(usize, String), (After, u64, u64)>,
}

impl RecordOrder {
    /// Checks the record `kind` of `student` at `line` of section `section`
    /// of file `file`; says what is wrong when the order is broken.
    pub fn observe(&mut self, file: usize, section: u64, line: u64, kind: &str, student: &str) -> Option<String> {
        let key = (file, student.to_string());
        let mut broken = None;
        if let Some(&(after, at, sec)) = self.pending.get(&key)
            && sec == section
        {
            // `ended` comes from the runner (a student task aborted at the
            // stop's timeout), not from the client: it may follow anything.
            let bad = kind != "ended"
                && match after {
                    After::Killed => true,
                    After::Restart => kind != "login",
                    After::LostAtExit => matches!(kind, "upload" | "gave_up" | "skipped"),
                };
            if bad {
                broken = Some(format!(
                    "a `{kind}` record of {student} after its `{}` record on line {at}: no client writes that ({})",
                    after.word(),
                    match after {
                        After::Killed => "a killed client does nothing more",
                        After::Restart => "a restarted client logs in again first",
                        After::LostAtExit => "what is lost at exit is the last the client uploads",
                    }
                ));
            }
        }
        match kind {
            "killed" => {
                self.pending.insert(key, (After::Killed, line, section));
            }
            "restart" => {
                self.pending.insert(key, (After::Restart, line, section));
            }
            "lost_at_exit" => {
                // A kill or restart before it stays the stricter rule.
                self.pending.entry(key).or_insert((After::LostAtExit, line, section));
            }
            "login" if broken.is_none() => {
                self.pending.remove(&key);
            }
            _ => {}
        }
        broken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(records: &[&str]) -> Vec<usize> {
        let mut o = RecordOrder::default();
        records
            .iter()
            .enumerate()
            .filter_map(|(i, k)| o.observe(0, 1, i as u64 + 1, k, "s").map(|_| i + 1))
            .collect()
    }

    #[test]
    fn a_clients_own_order_passes() {
        assert!(
            run(&[
                "login",
                "upload",
                "restart",
                "login",
                "upload",
                "lost_at_exit",
                "lost_at_exit",
                "logout"
            ])
            .is_empty()
        );
        assert!(run(&["login", "upload", "upload", "killed"]).is_empty());
        assert!(
            run(&["login", "restart", "ended"]).is_empty(),
            "aborted at the stop before its login"
        );
    }

    #[test]
    fn records_no_client_writes_are_named() {
        assert_eq!(run(&["login", "killed", "upload", "logout"]), [3, 4]);
        assert_eq!(run(&["login", "restart", "upload", "login", "upload"]), [3]);
        assert_eq!(run(&["login", "lost_at_exit", "upload", "logout"]), [3]);
    }

    #[test]
    fn a_new_section_or_another_file_starts_afresh() {
        let mut o = RecordOrder::default();
        assert!(o.observe(0, 1, 1, "killed", "s").is_none());
        assert!(o.observe(0, 2, 5, "login", "s").is_none(), "the next run");
        assert!(o.observe(1, 1, 2, "upload", "s").is_none(), "another worker's file");
        assert!(o.observe(0, 1, 3, "upload", "t").is_none(), "another student");
    }
}
