//! Property: for generated logs, the duplicate set is exactly the set of IDs
//! with two or more login lines, however the file is split across threads.

use std::collections::BTreeMap;
use std::io::Write;

use proptest::prelude::*;
use verify::classify::login::LoginMatcher;
use verify::engine::ids::{IdsConfig, run_ids};
use verify::expect::Expectation;
use verify::findings::FailOn;
use verify::sources::logfile::EncodingChoice;

#[derive(Debug, Clone)]
enum Line {
    Login(u8),
    Failed(u8),
    Upload(u8),
    Noise(String),
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        (0u8..30).prop_map(Line::Login),
        (0u8..30).prop_map(Line::Failed),
        (0u8..30).prop_map(Line::Upload),
        "[ -~]{0,40}".prop_map(Line::Noise),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn duplicates_are_the_ids_logged_in_twice(lines in proptest::collection::vec(line(), 0..300), threads in 1usize..4) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let mut logins: BTreeMap<String, u32> = BTreeMap::new();
        for (i, l) in lines.iter().enumerate() {
            let text = match l {
                Line::Login(n) => {
                    *logins.entry(format!("test_{n:05}")).or_default() += 1;
                    format!("[2025-11-23 18:{:02}:{:02} +0800] [7] [INFO] 登录成功 student_id=test_{n:05}", i / 60 % 60, i % 60)
                }
                Line::Failed(n) => format!("[2025-11-23 18:00:00 +0800] [7] [WARNING] 登录失败 test_{n:05}"),
                Line::Upload(n) => format!("[2025-11-23 18:00:00 +0800] [7] [INFO] upload test_{n:05} seq=1"),
                Line::Noise(s) => s.replace("test_", "tst_"),
            };
            writeln!(file, "{text}").unwrap();
        }
        let cfg = IdsConfig {
            ledgers: Vec::new(),
            db: None,
            logs: vec![file.path().display().to_string()],
            matcher: LoginMatcher::new("登录成功", "test_"),
            encoding: EncodingChoice::Utf8,
            window_secs: 120,
            expect: Expectation::default(),
            fail_on: FailOn::default(),
            threads,
            split_min_bytes: 1, // always split: exercises the range seams
        };
        let r = run_ids(&cfg).unwrap();
        let want: Vec<String> = logins.iter().filter(|(_, c)| **c > 1).map(|(id, _)| id.clone()).collect();
        let got: Vec<String> = r.duplicates.iter().map(|d| d.id.clone()).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(r.summary.login_events, logins.values().map(|&c| c as u64).sum::<u64>());
        prop_assert_eq!(r.summary.lines, lines.len() as u64);
    }
}
