//! The seq list of a `序号缺失` message: ranges come back sorted, merged and
//! inclusive, whatever the text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ranges = verify::classify::mergeline::missing_seqs(&text);
    for r in &ranges {
        assert!(r[0] <= r[1]);
    }
    for w in ranges.windows(2) {
        assert!(w[0][1].saturating_add(1) < w[1][0], "merged and sorted");
    }
    let _ = verify::audit::ranges::count(&ranges);
});
