//! Exit codes, in one place: 0 clean, 1 findings, 2 usage or I/O error.

/// How a run ended; the numeric value is the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing that fails was found.
    Clean = 0,
    /// At least one finding of a failing kind.
    Findings = 1,
    /// Bad usage, or an I/O error that left the audit incomplete. Wins over findings.
    Error = 2,
}

impl Outcome {
    /// Combines two outcomes: the worse one wins (error > findings > clean).
    pub fn merge(self, other: Outcome) -> Outcome {
        self.max(other)
    }

    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The outcome of an audit: read errors win, then failing findings.
    pub fn judge(errors: bool, failing: bool) -> Outcome {
        if errors {
            Outcome::Error
        } else if failing {
            Outcome::Findings
        } else {
            Outcome::Clean
        }
    }

    /// Back from a report's `verdict` word (`pass`, `fail`, anything else is an error).
    pub fn from_verdict(verdict: &str) -> Outcome {
        match verdict {
            "pass" => Outcome::Clean,
            "fail" => Outcome::Findings,
            _ => Outcome::Error,
        }
    }

    /// The word used for this outcome in reports.
    pub fn verdict(self) -> &'static str {
        match self {
            Outcome::Clean => "pass",
            Outcome::Findings => "fail",
            Outcome::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome::*;

    #[test]
    fn error_wins_over_findings_and_clean() {
        assert_eq!(Clean.merge(Findings), Findings);
        assert_eq!(Findings.merge(Error), Error);
        assert_eq!(Error.merge(Clean), Error);
        assert_eq!(Clean.merge(Clean), Clean);
        assert_eq!((Clean.code(), Findings.code(), Error.code()), (0, 1, 2));
    }
}
