//! Issue 13 item 17 through a real XML parser: the JUnit document with
//! hostile names is parsed by python3's xml.dom.minidom, then compared with
//! its golden file. Needs python3: the `real-servers` feature (the tier of
//! tests that run programs outside this workspace).

mod support;

use std::fs;

use support::hostile::{hidden_free, hostile_tree};
use support::verify;

/// Item 17: JUnit holds no code point XML cannot carry.
#[test]
fn hostile_names_keep_junit_well_formed() {
    let d = tempfile::tempdir().unwrap();
    let dir = hostile_tree(d.path());
    let xml = d.path().join("j.xml");
    verify(&["seq", "--dir", dir.to_str().unwrap(), "--junit", xml.to_str().unwrap()]);
    let text = fs::read_to_string(&xml).unwrap();
    hidden_free(&text, "junit");
    assert!(text.contains("\\u{fffe}"), "{text}");
    // A real XML parser accepts the document.
    let parsed = std::process::Command::new("python3")
        .args(["-c", "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])"])
        .arg(&xml)
        .output()
        .unwrap();
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    // The golden file: the whole document, hostile name included.
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/seq/expected-hostile.junit.xml");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&golden, &text).unwrap();
    }
    assert_eq!(text, fs::read_to_string(golden).unwrap(), "JUnit with hostile names");
}
