//! Segment file names: classification never panics, and a parsed segment's
//! student is a prefix of the name.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data);
    let exts = ["mp4".to_string(), "webm".to_string()];
    let _ = verify::segment::classify(&name, &exts);
    if let Some(seg) = verify::segment::parse(&name, &exts) {
        assert!(name.starts_with(seg.student));
    }
    let _ = common::text::escape_bytes(data);
});
