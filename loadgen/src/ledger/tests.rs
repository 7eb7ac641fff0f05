use super::*;

fn run_record() -> Record {
    Record::Run {
        v: VERSION,
        tool: "loadgen".into(),
        host: "http://h".into(),
        scenario: "built-in".into(),
        task: Some("recording".into()),
        started_unix_ms: 1,
    }
}

fn upload(seq: u64) -> Record {
    Record::Upload {
        student: "test_00001".into(),
        seq: Some(seq),
        attempt: 1,
        planned_ms: 30_000,
        start_ms: 30_001,
        end_ms: 30_090,
        bytes_sent: 1200,
        recorded_ms: None,
        file: Some("recording_3.mp4".into()),
        file_size: 1000,
        exam: Some("7".into()),
        status: Some(200),
        failure: None,
        answer: [("filename".to_string(), serde_json::json!("x.mp4"))].into(),
    }
}

fn target(path: &Path, append: bool) -> Target {
    Target {
        path: path.to_path_buf(),
        append,
    }
}

fn kinds(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn records_are_one_json_line_each_and_the_file_ends_with_end() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("l.ndjson");
    let l = Ledger::open(&target(&p, false), run_record()).unwrap();
    let s = l.sink();
    s.record(upload(3));
    drop(s);
    assert_eq!(l.finish().unwrap(), 3);
    let text = std::fs::read_to_string(&p).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["kind"], "run");
    assert_eq!(lines[1]["kind"], "upload");
    assert_eq!(lines[1]["exam"], "7");
    assert_eq!(lines[1]["status"], 200);
    assert_eq!(lines[1]["failure"], serde_json::Value::Null);
    assert_eq!(lines[1]["answer"]["filename"], "x.mp4");
    assert_eq!(lines[2], serde_json::json!({"kind": "end", "records": 3}));
}

/// Issue 27: a Locust run stopped by the master closes its section with
/// `run_end` (the worker stays), counted like `end`; the next section opens
/// after it.
#[test]
fn a_run_stopped_by_the_master_closes_with_run_end() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("l.ndjson");
    let l = Ledger::open(&target(&p, false), run_record()).unwrap();
    l.sink().record(upload(1));
    assert_eq!(l.finish_run().unwrap(), 3);
    let l = Ledger::open(&target(&p, true), run_record()).unwrap();
    assert_eq!(l.finish_run().unwrap(), 2);
    assert_eq!(kinds(&p), ["run", "upload", "run_end", "run", "run_end"]);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.ends_with("{\"kind\":\"run_end\",\"records\":2}\n"), "{text}");
}

/// Issue 24 item 4: a restarted worker must not erase the earlier run's evidence.
#[test]
fn an_existing_ledger_is_refused_and_left_as_it_was() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("l.ndjson");
    Ledger::open(&target(&p, false), run_record())
        .unwrap()
        .finish()
        .unwrap();
    let before = std::fs::read(&p).unwrap();
    let e = Ledger::open(&target(&p, false), run_record()).unwrap_err();
    assert!(e.downcast_ref::<UsageError>().is_some(), "{e:#}");
    assert!(format!("{e:#}").contains("--ledger-append"), "{e:#}");
    assert_eq!(std::fs::read(&p).unwrap(), before, "untouched");
}

#[test]
fn append_adds_a_section_on_a_line_of_its_own() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("l.ndjson");
    let l = Ledger::open(&target(&p, true), run_record()).unwrap();
    l.sink().record(upload(1));
    l.finish().unwrap();
    // A killed run's half line at the end.
    let mut f = OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(br#"{"kind":"upload","stud"#).unwrap();
    drop(f);
    let before = std::fs::read_to_string(&p).unwrap();
    let l = Ledger::open(&target(&p, true), run_record()).unwrap();
    l.sink().record(upload(2));
    assert_eq!(l.finish().unwrap(), 3);
    let after = std::fs::read_to_string(&p).unwrap();
    let (old, new) = after.split_at(before.len());
    assert_eq!(old, before, "the earlier content is kept byte for byte");
    assert!(new.starts_with("\n{\"kind\":\"run\""), "{new}");
    let sections: Vec<&str> = new.lines().skip(1).collect();
    assert_eq!(sections.len(), 3, "{new}");
    // A file ending with its newline gets no blank line.
    let l = Ledger::open(&target(&p, true), run_record()).unwrap();
    l.finish().unwrap();
    let last = std::fs::read_to_string(&p).unwrap();
    assert!(!last.contains("\n\n"), "{last}");
    assert_eq!(kinds(&p).iter().filter(|k| *k == "run").count(), 3);
}

#[test]
fn append_refuses_what_is_not_a_ledger() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("passwd");
    std::fs::write(&p, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    let e = Ledger::open(&target(&p, true), run_record()).unwrap_err();
    assert!(format!("{e:#}").contains("not a ledger"), "{e:#}");
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        "root:x:0:0:root:/root:/bin/bash\n"
    );
    let e = Ledger::open(&target(Path::new("/dev/null"), true), run_record()).unwrap_err();
    assert!(format!("{e:#}").contains("not a regular file"), "{e:#}");
    // An empty file is a ledger yet to be written.
    let empty = d.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    Ledger::open(&target(&empty, true), run_record())
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(kinds(&empty), ["run", "end"]);
}

/// A writer that takes `room` bytes, then fails as a full disk does.
struct Full {
    room: usize,
    taken: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Write for Full {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::from_raw_os_error(28));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        self.taken.lock().unwrap().extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Issue 24 item 14: the first write error is kept and returned by `finish`;
/// records sent after it are dropped, not queued without bound.
#[test]
fn a_full_disk_is_reported_and_the_writer_stops_cleanly() {
    let taken = Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = Full {
        room: 600,
        taken: taken.clone(),
    };
    let l = Ledger::start(out, Path::new("full.ndjson"), run_record()).unwrap();
    let s = l.sink();
    for seq in 1..=20 {
        s.record(upload(seq));
    }
    // Let the writer meet the error while the run is still going.
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while l.failed.get().is_none() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(l.failed.get().is_some(), "noticed while the run goes on");
    s.record(upload(21));
    let e = l.finish().unwrap_err();
    assert!(
        e.contains("full.ndjson") && e.contains("No space left on device"),
        "{e}"
    );
    assert_eq!(taken.lock().unwrap().len(), 600);
}
