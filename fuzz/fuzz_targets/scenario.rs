//! Scenario files: parsing never panics; a scenario that parses fills its
//! templates and builds its requests without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use loadgen::scenario::{Captured, Overrides, Scenario, Values};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(s) = Scenario::parse(text, "fuzz", &Overrides::default()) else { return };
    let caps: Vec<Captured> = s.captures.iter().map(|_| Captured::new(serde_json::json!("a b\"\r\n/?"))).collect();
    let v = Values {
        student_id: "test_00001",
        n: 1,
        student_name: "Student 1",
        seq: Some(1),
        captures: &caps,
        ..Values::default()
    };
    for r in std::iter::once(&s.login).chain(s.tasks.iter().map(|t| &t.request)).chain(s.logout.iter()) {
        let _ = loadgen::requests::prepare(r, &v, bytes::Bytes::new());
    }
});
