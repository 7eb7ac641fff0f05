//! Logins as the load generator's workers recorded them (`loadgen --ledger`):
//! each answered login opens a session of its student, a logout (or the
//! client's restart or death) ends it. Folded into the same login fold as a
//! server's log lines, with the ledger file as the source: one ID logged in
//! by two workers, or twice by one without an end between, is a collision
//! whatever the time between (a ledger records every session the client
//! had, so no window applies).

use common::ledger::{Decoded, Record, decode};

use crate::audit::ids::{LoginEvent, LoginFold, Observation};
use crate::audit::sessions::NO_WINDOW;
use crate::report::gate::{CrossKind, LedgerRow};
use crate::report::ids::{DuplicateId, IdsKind};

use super::fold::ledger::LedgerPart;

/// The ledgers' logins so far.
#[derive(Debug, Clone, Default)]
pub struct LedgerLogins {
    pub fold: LoginFold,
    /// Per file: the open section's `started_unix_ms`.
    started: Vec<Option<u64>>,
}

impl LedgerLogins {
    /// Folds one record of file `file` (named `name`) at `line`, of `kind`
    /// (only `run`, `login`, `logout`, `restart` and `killed` matter: those
    /// few lines are decoded whole, uploads never).
    pub fn observe(&mut self, file: usize, name: &str, line: u64, kind: &str, bytes: &[u8]) {
        if !matches!(kind, "run" | "login" | "logout" | "restart" | "killed") {
            return;
        }
        let Decoded::Record(r) = decode(bytes) else { return };
        if self.started.len() <= file {
            self.started.resize(file.saturating_add(1), None);
        }
        let started = self.started.get(file).copied().flatten();
        let event = |student: &str, ms: u64, how: Option<&'static str>| LoginEvent {
            id: student.to_string(),
            file,
            line,
            time: started.map(|s| stamp(s.saturating_add(ms))),
            source: Some(name.to_string()),
            naive: false,
            how,
            ms: started.and_then(|s| i64::try_from(s.saturating_add(ms)).ok()),
        };
        let obs = match &r {
            Record::Run { started_unix_ms, .. } => {
                // A start outside 2000-2100 is no clock: its logins are
                // untimed, and an untimed login of an ID held elsewhere
                // collides (it cannot be placed after the other's end).
                let plausible = (946_684_800_000..4_102_444_800_000).contains(started_unix_ms);
                if let Some(s) = self.started.get_mut(file) {
                    *s = plausible.then_some(*started_unix_ms);
                }
                return;
            }
            Record::Login {
                student,
                end_ms,
                failure: None,
                ..
            } => Observation::Login(event(student, *end_ms, None)),
            Record::Logout {
                student,
                start_ms,
                failure: None,
                ..
            } => Observation::Logout(event(student, *start_ms, None)),
            Record::Restart { student, at_ms, .. } => Observation::Logout(event(student, *at_ms, Some("restarted"))),
            Record::Killed { student, at_ms, .. } => Observation::Logout(event(student, *at_ms, Some("was killed"))),
            _ => return,
        };
        self.fold.observe(obs);
    }

    /// IDs logged in more than once, classified (no window: see the module).
    pub fn duplicates(&self, file_name: &dyn Fn(usize) -> String) -> Vec<DuplicateId> {
        self.fold.duplicates(NO_WINDOW, file_name)
    }
}

/// Milliseconds since the epoch as (`2026-12-04 09:40:01.250Z`, seconds).
fn stamp(ms: u64) -> (String, i64) {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let text = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    );
    (text, secs)
}

/// Days since 1970-01-01 -> (year, month, day) (the inverse of
/// `segment::days_from_civil`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The gate's rows for the ledgers' duplicated logins (`--ledger`):
/// `ledger_collision` (fails) and `ledger_relogin`, each naming every login
/// record of the ID.
pub fn rows(ledger: &LedgerPart) -> Vec<LedgerRow> {
    let name = |i: usize| ledger.files.get(i).map_or_else(String::new, |f| f.name.clone());
    ledger
        .logins
        .duplicates(&name)
        .into_iter()
        .map(|d| {
            let records: Vec<String> = d.events.iter().map(|e| format!("{}:{}", e.file, e.line)).collect();
            LedgerRow {
                kind: if d.kind == IdsKind::Collision {
                    CrossKind::LedgerCollision
                } else {
                    CrossKind::LedgerRelogin
                },
                record: d.events.get(1).map(|e| format!("{}:{}", e.file, e.line)),
                file: None,
                detail: format!("ledger: {}; login records {}", d.evidence, records.join(", ")),
                id: d.id,
                exam: None,
                seqs: Vec::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = r#"{"kind":"run","v":3,"tool":"loadgen","host":"h","scenario":"s","task":"recording","started_unix_ms":1764892800000}"#;

    fn login(student: &str, end_ms: u64, failure: &str) -> String {
        format!(
            r#"{{"kind":"login","student":"{student}","exam":"1","attempt":1,"start_ms":0,"end_ms":{end_ms},"failure":{failure}}}"#
        )
    }

    fn logout(student: &str, start_ms: u64) -> String {
        format!(
            r#"{{"kind":"logout","student":"{student}","exam":"1","attempt":1,"start_ms":{start_ms},"end_ms":{start_ms},"failure":null}}"#
        )
    }

    fn fold(files: &[&[String]]) -> LedgerLogins {
        let mut l = LedgerLogins::default();
        for (f, lines) in files.iter().enumerate() {
            for (i, text) in lines.iter().enumerate() {
                let kind = if text.contains("\"run\"") { "run" } else { "login" };
                let kind = if text.contains("\"logout\"") { "logout" } else { kind };
                let kind = if text.contains("\"restart\"") { "restart" } else { kind };
                l.observe(f, &format!("w{f}.ndjson"), i as u64 + 1, kind, text.as_bytes());
            }
        }
        l
    }

    fn name(i: usize) -> String {
        format!("w{i}.ndjson")
    }

    #[test]
    fn two_workers_collide_and_one_worker_relogs_after_a_logout_or_restart() {
        let w0 = [
            RUN.to_string(),
            login("a", 100, "null"),
            login("b", 100, "\"http 500\""),
            login("b", 900, "null"),
            logout("b", 5_000),
            login("b", 600_000, "null"),
            login("c", 100, "null"),
            r#"{"kind":"restart","student":"c","exam":"1","at_ms":2000,"last_seq":3,"lost":[]}"#.to_string(),
            login("c", 2_500, "null"),
        ];
        let w1 = [RUN.to_string(), login("a", 3_600_000, "null")];
        let d = fold(&[&w0, &w1]).duplicates(&name);
        let got: Vec<(&str, IdsKind, u64)> = d.iter().map(|d| (d.id.as_str(), d.kind, d.count)).collect();
        assert_eq!(
            got,
            [
                ("a", IdsKind::Collision, 2),
                ("b", IdsKind::Relogin, 2),
                ("c", IdsKind::Relogin, 2)
            ]
        );
        assert!(
            d[0].evidence.contains("two different sources, w0.ndjson and w1.ndjson"),
            "{}",
            d[0].evidence
        );
        assert_eq!((d[0].events[0].line, d[0].events[1].file.as_str()), (2, "w1.ndjson"));
        assert!(d[2].evidence.contains("restarted at"), "{}", d[2].evidence);
        assert_eq!(d[0].events[0].time.as_deref(), Some("2025-12-05 00:00:00.100Z"));
    }

    #[test]
    fn twice_by_one_worker_without_a_logout_collides() {
        let w0 = [RUN.to_string(), login("a", 100, "null"), login("a", 9_000_000, "null")];
        let d = fold(&[&w0]).duplicates(&name);
        assert_eq!(d[0].kind, IdsKind::Collision);
        assert!(d[0].evidence.contains("both from w0.ndjson"), "{}", d[0].evidence);
    }
}
