//! `verify ids --db` and `verify gate --db` against a MariaDB started by
//! the test (scripts/db-up.sh: Debian's mariadb-server, a private datadir
//! under target/, 127.0.0.1, a free port) holding the supervise server's
//! table layout, with rows as the server writes them.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::verify;
use verify::report::ids::{IdsKind, IdsReport};

/// The server's tables as its schema declares them (columns, types, keys).
const SCHEMA: &str = "
CREATE TABLE exams (
  id int(11) NOT NULL AUTO_INCREMENT,
  name varchar(100) NOT NULL,
  start_time datetime NOT NULL,
  end_time datetime NOT NULL,
  status varchar(20) DEFAULT 'pending',
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE exam_students (
  id int(11) NOT NULL AUTO_INCREMENT,
  student_id varchar(20) NOT NULL,
  student_name varchar(20) NOT NULL,
  exam_id int(11) NULL DEFAULT NULL,
  status varchar(20) NULL DEFAULT 'pending',
  last_active datetime NULL DEFAULT NULL,
  PRIMARY KEY (id),
  KEY exam_id (exam_id),
  UNIQUE KEY uk_exam_students_exam_student (exam_id, student_id),
  CONSTRAINT exam_students_ibfk_1 FOREIGN KEY (exam_id) REFERENCES exams (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE student_login_history (
  id int(11) NOT NULL AUTO_INCREMENT,
  student_exam_id int(11) NOT NULL,
  action varchar(20) NOT NULL,
  timestamp datetime NOT NULL,
  ip varchar(45) DEFAULT NULL,
  PRIMARY KEY (id),
  KEY student_exam_id (student_exam_id),
  KEY idx_login_history_timestamp (timestamp),
  CONSTRAINT student_login_history_ibfk_1 FOREIGN KEY (student_exam_id) REFERENCES exam_students (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
";

/// Two exams; in exam 1 test_00001 logs in from two addresses 30 s apart
/// (one session never ended before the other began), test_00002 logs out
/// and in again 25 s later, test_00003 goes offline (the server's heartbeat
/// timeout, ip 'system') and logs in again; exam 2 (scoped out by
/// `--exam 1`) has test_00001 once more.
const ROWS: &str = "
INSERT INTO exams (id, name, start_time, end_time, status) VALUES
  (1, 'load test', '2026-12-04 09:00:00', '2026-12-04 12:00:00', 'active'),
  (2, 'second', '2026-12-04 09:00:00', '2026-12-04 12:00:00', 'active');
INSERT INTO exam_students (id, student_id, student_name, exam_id, status) VALUES
  (1, 'test_00001', 'test_00001', 1, 'online'),
  (2, 'test_00002', 'test_00002', 1, 'online'),
  (3, 'test_00003', 'test_00003', 1, 'online'),
  (4, 'test_00001', 'test_00001', 2, 'online');
INSERT INTO student_login_history (student_exam_id, action, timestamp, ip) VALUES
  (1, 'login', '2026-12-04 10:00:00', '10.0.0.1'),
  (2, 'login', '2026-12-04 10:00:01', '10.0.0.3'),
  (3, 'login', '2026-12-04 10:00:02', '10.0.0.5'),
  (1, 'login', '2026-12-04 10:00:30', '10.0.0.2'),
  (3, 'offline', '2026-12-04 10:05:00', 'system'),
  (3, 'login', '2026-12-04 10:06:00', '10.0.0.5'),
  (2, 'logout', '2026-12-04 10:20:00', '10.0.0.3'),
  (2, 'login', '2026-12-04 10:20:25', '10.0.0.3'),
  (2, 'online', '2026-12-04 10:20:26', '10.0.0.3'),
  (4, 'login', '2026-12-04 10:21:00', '10.0.0.9'),
  (1, 'logout', '2026-12-04 10:30:00', '10.0.0.1');
";

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}

/// A MariaDB of the test's own, stopped when dropped.
struct Db {
    dir: tempfile::TempDir,
    port: String,
}

impl Db {
    /// `None` when mariadb-server cannot be installed here (db-up.sh exit 3).
    fn up() -> Option<Db> {
        let dir = tempfile::Builder::new()
            .prefix("db")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let out = Command::new(scripts().join("db-up.sh"))
            .arg(dir.path())
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        if out.status.code() == Some(3) {
            return None;
        }
        assert!(out.status.success(), "db-up.sh failed");
        let port = String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .rsplit(':')
            .next()
            .unwrap()
            .to_string();
        Some(Db { dir, port })
    }

    fn run(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// Runs SQL as the admin (unix socket).
    fn sql(&self, db: &str, text: &str) {
        use std::io::Write;
        let admin = std::fs::read_to_string(self.run().join("admin")).unwrap();
        let mut child = Command::new("mariadb")
            .args(["--no-defaults", "-S"])
            .arg(self.run().join("mysqld.sock"))
            .args(["-u", admin.trim(), db])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "SQL failed: {text}");
    }

    fn url(&self, db: &str) -> String {
        format!("mysql://verify@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = Command::new(scripts().join("db-down.sh")).arg(self.dir.path()).status();
    }
}

#[test]
fn the_servers_login_history_gives_collisions_and_relogins_with_row_ids() {
    let Some(db) = Db::up() else {
        eprintln!(
            "\n\n######## SKIPPED: mariadb-server cannot be installed here (scripts/db-up.sh exit 3); \
             verify ids --db was NOT tested ########\n"
        );
        return;
    };
    db.sql("monitoring", SCHEMA);
    db.sql("monitoring", ROWS);
    let pw = db.run().join("password").display().to_string();
    let url = db.url("monitoring");
    let base = ["ids", "--db", &url, "--db-password-file", &pw, "--format", "json"];
    let mut args = base.to_vec();
    args.extend(["--exam", "1"]);
    let run = verify(&args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r: IdsReport = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(r.failed_on, [IdsKind::Collision]);
    let got: Vec<(&str, IdsKind)> = r.duplicates.iter().map(|d| (d.id.as_str(), d.kind)).collect();
    assert_eq!(
        got,
        [
            ("test_00001", IdsKind::Collision),
            ("test_00002", IdsKind::Relogin),
            ("test_00003", IdsKind::Relogin)
        ]
    );
    let c = &r.duplicates[0];
    let rows: Vec<(String, u64)> = c.events.iter().map(|e| (e.file.clone(), e.line)).collect();
    assert_eq!(
        rows,
        [
            ("student_login_history".to_string(), 1),
            ("student_login_history".to_string(), 4)
        ]
    );
    assert!(
        c.evidence.contains("30 s apart with no logout between")
            && c.evidence.contains("two different sources, 10.0.0.1 and 10.0.0.2"),
        "{}",
        c.evidence
    );
    let re = &r.duplicates[1].evidence;
    assert!(
        re.contains("logged out at 2026-12-04 10:20:00 (student_login_history:7), logged in again 25 s later"),
        "{re}"
    );
    let off = &r.duplicates[2].evidence;
    assert!(off.contains("went offline at 2026-12-04 10:05:00"), "{off}");
    assert_eq!(
        (r.summary.lines, r.summary.login_events, r.summary.logout_events),
        (10, 6, 3)
    );

    // Every exam: test_00001's exam-2 login comes while its exam-1 session is open.
    let all = verify(&base);
    let r: IdsReport = serde_json::from_str(&all.stdout).unwrap();
    assert_eq!(r.summary.login_events, 7);

    // The password from the environment; a wrong one is a clear exit 2.
    let env_run = |pw: &str| {
        Command::new(env!("CARGO_BIN_EXE_verify"))
            .args(["ids", "--db", &url, "--exam", "1"])
            .env("VERIFY_DB_PASSWORD", pw)
            .env_remove("MYSQL_PWD")
            .output()
            .unwrap()
    };
    let good = std::fs::read_to_string(&pw).unwrap();
    assert_eq!(env_run(good.trim()).status.code(), Some(1));
    let bad = env_run("wrong");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refused the user and password") && !err.contains("wrong"),
        "{err}"
    );

    // The wrong database (no such table) and nothing listening: exit 2, in words.
    db.sql(
        "monitoring",
        "CREATE DATABASE other; GRANT SELECT ON other.* TO 'verify'@'127.0.0.1';",
    );
    let other = db.url("other");
    let r = verify(&["ids", "--db", &other, "--db-password-file", &pw]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("the wrong database?"), "{}", r.stderr);
    let closed = format!("mysql://verify@127.0.0.1:{}/monitoring", free_port());
    let r = verify(&["ids", "--db", &closed, "--db-password-file", &pw]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot reach the database"), "{}", r.stderr);
    let r = verify(&["gate", "--db", &closed, "--db-password-file", &pw]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("cannot reach the database").count(),
        1,
        "said once: {}",
        r.stderr
    );

    // The gate takes the database as its login source (item 7).
    let g = verify(&[
        "gate",
        "--db",
        &url,
        "--db-password-file",
        &pw,
        "--exam",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(g.code, 1, "{}", g.stderr);
    let v: serde_json::Value = serde_json::from_str(&g.stdout).unwrap();
    assert_eq!(v["failed_on"], serde_json::json!(["ids:collision"]), "{}", g.stdout);
    assert_eq!(v["ids"]["summary"]["relogins"], 2);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
