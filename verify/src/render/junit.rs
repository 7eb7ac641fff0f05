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
    let mut suite = TestSuite::new(audit.name());
    for case in audit.junit_cases() {
        let status = if let Some(err) = &case.error {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(err.clone());
            s
        } else if case.failures.is_empty() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(case.failures.join("; "));
            s.set_description(case.failures.join("\n"));
            s
        };
        let mut tc = TestCase::new(case.name, status);
        tc.set_classname(case.classname);
        if !case.notes.is_empty() {
            tc.set_system_out(case.notes.join("\n"));
        }
        suite.add_test_case(tc);
    }
    suite
}
