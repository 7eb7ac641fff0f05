//! JUnit XML for CI (quick-junit): one test suite per audit, one case per subject.

use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::AuditView;

/// Writes the JUnit report of one or more audits.
pub fn write<W: Write>(out: &mut W, name: &str, audits: &[&dyn AuditView]) -> io::Result<()> {
    let mut report = Report::new(name);
    for audit in audits {
        report.add_test_suite(suite(*audit));
    }
    report.serialize(out).map_err(io::Error::other)
}

fn suite(audit: &dyn AuditView) -> TestSuite {
    // Every string through the XML-safe sanitizer: U+FFFE in a file name
    // would make the whole document unparseable.
    let x = |s: &str| crate::render::escape::xml(s);
    let mut suite = TestSuite::new(x(audit.name()));
    for case in audit.junit_cases() {
        let status = if let Some(err) = &case.error {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(x(err));
            s
        } else if case.failures.is_empty() {
            TestCaseStatus::success()
        } else {
            let failures: Vec<String> = case.failures.iter().map(|f| x(f)).collect();
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(failures.join("; "));
            s.set_description(failures.join("\n"));
            s
        };
        let mut tc = TestCase::new(x(&case.name), status);
        tc.set_classname(x(&case.classname));
        if !case.notes.is_empty() {
            let notes: Vec<String> = case.notes.iter().map(|n| x(n)).collect();
            tc.set_system_out(notes.join("\n"));
        }
        suite.add_test_case(tc);
    }
    suite
}
