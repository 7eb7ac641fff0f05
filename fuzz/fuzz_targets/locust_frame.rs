//! Frames from a Locust master (msgpack): decoding never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = loadgen::locust::protocol::decode(data);
});
