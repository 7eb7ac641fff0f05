//! The supervise server's own login history, read from its MySQL/MariaDB
//! database (`verify ids --db`, `verify gate --db`): table
//! `student_login_history` (`id`, `student_exam_id` -> `exam_students.id`,
//! `action` login/logout/online/offline, `timestamp` DATETIME in the
//! server's local time, `ip`). Read-only: one SELECT inside a read-only
//! transaction, rows streamed into the login fold (never held as a result
//! set). The password comes from a file or the environment, never from the
//! command line.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Opts, OptsBuilder, Row, TxOpts, Value};

use crate::audit::fold::ids::{IdsPart, LogState};
use crate::audit::ids::{LoginEvent, Observation};
use crate::segment::days_from_civil;
use common::text::escape_str;

/// The table read, and the name its rows carry as evidence (`table:id`).
pub const TABLE: &str = "student_login_history";

/// Environment variables a password is taken from, in this order.
pub const PASSWORD_ENV: &[&str] = &["VERIFY_DB_PASSWORD", "MYSQL_PWD"];

/// How long a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest ID, address or action kept (the columns are 20 and 45 wide).
const FIELD_CHARS: usize = 64;

/// A database to read, validated.
#[derive(Clone)]
pub struct DbSource {
    /// The URL without a password (`mysql://user@host:port/db`).
    pub shown: String,
    opts: Opts,
    /// Exam IDs to keep (empty: every exam).
    pub exams: Vec<u64>,
}

impl std::fmt::Debug for DbSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the options: they hold the password.
        f.debug_struct("DbSource")
            .field("shown", &self.shown)
            .field("exams", &self.exams)
            .finish()
    }
}

impl DbSource {
    /// Checks the URL (no password in it) and adds the password given.
    pub fn new(url: &str, password: Option<String>, exams: Vec<u64>) -> Result<DbSource, String> {
        let opts = Opts::from_url(url)
            .map_err(|e| format!("--db: not a mysql:// URL ({e}): try mysql://USER@HOST:3306/monitoring"))?;
        if opts.pass().is_some() {
            return Err(
                "--db: the URL holds a password: give it with --db-password-file FILE or the VERIFY_DB_PASSWORD \
                 environment variable, never on the command line (it shows in ps and the shell's history)"
                    .into(),
            );
        }
        let Some(db) = opts.db_name() else {
            return Err("--db: the URL names no database: mysql://USER@HOST:3306/monitoring".into());
        };
        let shown = format!(
            "mysql://{}@{}:{}/{}",
            opts.user().unwrap_or_default(),
            opts.ip_or_hostname(),
            opts.tcp_port(),
            db
        );
        let opts = Opts::from(OptsBuilder::from_opts(opts).pass(password).prefer_socket(false));
        Ok(DbSource {
            shown: escape_str(&shown),
            opts,
            exams,
        })
    }
}

/// The SELECT: every history row with its student and exam, in row order.
fn query(exams: usize) -> String {
    let scope = if exams == 0 {
        String::new()
    } else {
        format!(" WHERE es.exam_id IN ({})", vec!["?"; exams].join(", "))
    };
    format!(
        "SELECT h.id, es.student_id, es.exam_id, h.action, h.timestamp, h.ip \
         FROM {TABLE} h JOIN exam_students es ON es.id = h.student_exam_id{scope} ORDER BY h.id"
    )
}

/// Reads the login history into a login part (one "file": the table).
pub fn read_logins(src: &DbSource) -> Result<IdsPart, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("--db: start the client: {e}"))?;
    rt.block_on(read(src))
}

async fn read(src: &DbSource) -> Result<IdsPart, String> {
    let fail = |e: mysql_async::Error| explain(src, &e);
    let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, mysql_async::Conn::new(src.opts.clone()))
        .await
        .map_err(|_| format!("--db {}: no answer within {} s", src.shown, CONNECT_TIMEOUT.as_secs()))?
        .map_err(fail)?;
    let mut part = IdsPart::default();
    part.logs.push(LogState::empty(TABLE.to_string()));
    {
        let mut tx = conn
            .start_transaction(TxOpts::default().with_readonly(true).clone())
            .await
            .map_err(fail)?;
        let params: Vec<Value> = src.exams.iter().map(|&e| Value::UInt(e)).collect();
        let params = if params.is_empty() {
            mysql_async::Params::Empty
        } else {
            mysql_async::Params::Positional(params)
        };
        let mut rows = tx.exec_iter(query(src.exams.len()), params).await.map_err(fail)?;
        rows.for_each(|row| fold_row(&mut part, row)).await.map_err(fail)?;
        drop(rows);
        tx.rollback().await.map_err(fail)?;
    }
    // A failed goodbye loses nothing: every row is read.
    let _ = conn.disconnect().await;
    if let Some(log) = part.logs.first_mut() {
        log.summary.login_events = part.fold.events;
        log.summary.logout_events = part.fold.logouts;
    }
    Ok(part)
}

/// One history row: `login` opens a session, `logout` and `offline` (the
/// server's heartbeat timeout) end it, `online` (heartbeats again) neither.
fn fold_row(part: &mut IdsPart, mut row: Row) {
    let text = |v: Option<Value>| -> Option<String> {
        match v? {
            Value::Bytes(b) => Some(escape_str(
                &String::from_utf8_lossy(&b)
                    .chars()
                    .take(FIELD_CHARS)
                    .collect::<String>(),
            )),
            Value::Int(i) => Some(i.to_string()),
            Value::UInt(u) => Some(u.to_string()),
            _ => None,
        }
    };
    let id = match row.take::<Value, usize>(0) {
        Some(Value::Int(i)) => u64::try_from(i).unwrap_or(0),
        Some(Value::UInt(u)) => u,
        _ => 0,
    };
    let student = text(row.take(1));
    let action = text(row.take(3)).unwrap_or_default();
    let time = row.take::<Value, usize>(4).and_then(datetime);
    let ip = text(row.take(5));
    if let Some(log) = part.logs.first_mut() {
        log.summary.lines = log.summary.lines.saturating_add(1);
    }
    let Some(student) = student else { return };
    let event = |how| LoginEvent {
        id: student.clone(),
        file: 0,
        line: id,
        time: time.clone(),
        source: ip.clone(),
        naive: true,
        how,
        ms: None,
    };
    let obs = match action.as_str() {
        "login" => Observation::Login(event(None)),
        "logout" => Observation::Logout(event(None)),
        "offline" => Observation::Logout(event(Some("went offline"))),
        _ => return,
    };
    part.fold.observe(obs);
}

/// A DATETIME (the server's local time, no zone) as text and seconds.
fn datetime(v: Value) -> Option<(String, i64)> {
    let Value::Date(y, mo, d, h, mi, s, _) = v else {
        return None;
    };
    let secs = days_from_civil(i64::from(y), i64::from(mo), i64::from(d)) * 86_400
        + i64::from(h) * 3600
        + i64::from(mi) * 60
        + i64::from(s);
    Some((format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"), secs))
}

/// What went wrong, in words a person can act on.
fn explain(src: &DbSource, e: &mysql_async::Error) -> String {
    let at = &src.shown;
    match e {
        mysql_async::Error::Io(io) => {
            format!("--db {at}: cannot reach the database ({io}): is it running, and listening on that host and port?")
        }
        mysql_async::Error::Server(s) => match s.code {
            1045 => format!(
                "--db {at}: the server refused the user and password ({}): give the password with --db-password-file or VERIFY_DB_PASSWORD",
                escape_str(&s.message)
            ),
            1044 | 1049 => format!(
                "--db {at}: no such database, or no access to it ({})",
                escape_str(&s.message)
            ),
            1146 => format!(
                "--db {at}: {} (the supervise server's tables {TABLE} and exam_students are not in this database: the wrong database?)",
                escape_str(&s.message)
            ),
            1142 | 1143 => format!(
                "--db {at}: the user may not read {TABLE} or exam_students ({}): grant it SELECT",
                escape_str(&s.message)
            ),
            _ => format!(
                "--db {at}: the server answered error {}: {}",
                s.code,
                escape_str(&s.message)
            ),
        },
        other => format!("--db {at}: {}", escape_str(&other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_refused_and_never_shown() {
        let e = DbSource::new("mysql://u:secret@127.0.0.1:3306/monitoring", None, vec![]).unwrap_err();
        assert!(e.contains("--db-password-file") && !e.contains("secret"), "{e}");
        let ok = DbSource::new("mysql://u@127.0.0.1:3307/monitoring", Some("pw".into()), vec![1]).unwrap();
        assert_eq!(ok.shown, "mysql://u@127.0.0.1:3307/monitoring");
        assert!(!format!("{ok:?}").contains("pw"));
        assert!(DbSource::new("mysql://u@127.0.0.1:3307", None, vec![]).is_err());
        assert!(DbSource::new("http://x", None, vec![]).is_err());
    }

    #[test]
    fn the_query_scopes_exams_with_placeholders() {
        assert!(!query(0).contains("WHERE"));
        assert!(query(2).contains("es.exam_id IN (?, ?)"));
    }

    #[test]
    fn datetimes_read_as_naive_seconds() {
        let (text, secs) = datetime(Value::Date(2025, 11, 23, 18, 0, 5, 0)).unwrap();
        assert_eq!(text, "2025-11-23 18:00:05");
        assert_eq!(secs % 86_400, 18 * 3600 + 5);
        assert!(datetime(Value::NULL).is_none());
    }
}
