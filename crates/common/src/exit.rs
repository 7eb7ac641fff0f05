//! Exit codes and verdicts, in one place for both tools: 0 clean (pass),
//! 1 findings (fail), 2 usage or I/O error. A report's `verdict` word is a
//! [`Verdict`]: `pass`, `fail`, `error` (verify), `interrupted` (loadgen: a
//! run that ended before its plan, which exits 3 unless told otherwise).

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
    pub const fn code(self) -> u8 {
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

/// A report's verdict, as JSON spells it: `pass`, `fail`, `interrupted`
/// (loadgen) or `error` (any other word read back from a report is an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// loadgen: the run ended before its plan with no failure over the limit
    /// until then (a part of a run is no pass).
    Interrupted,
    #[serde(other)]
    Error,
}

impl Verdict {
    /// How the run ends with this verdict. verify judges no `interrupted`
    /// run: to it that is a word it cannot judge, an error (as any other).
    pub fn outcome(self) -> Outcome {
        match self {
            Verdict::Pass => Outcome::Clean,
            Verdict::Fail => Outcome::Findings,
            Verdict::Interrupted | Verdict::Error => Outcome::Error,
        }
    }

    /// The word (`pass`, `fail`, `interrupted`, `error`).
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Interrupted => "interrupted",
            v => v.outcome().verdict(),
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

impl From<Outcome> for Verdict {
    fn from(o: Outcome) -> Verdict {
        match o {
            Outcome::Clean => Verdict::Pass,
            Outcome::Findings => Verdict::Fail,
            Outcome::Error => Verdict::Error,
        }
    }
}

impl PartialEq<&str> for Verdict {
    fn eq(&self, other: &&str) -> bool {
        self.word() == *other
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

    #[test]
    fn verdicts_read_back_and_unknown_words_are_errors() {
        use super::Verdict;
        let v: Vec<Verdict> = serde_json::from_str(r#"["pass","fail","error","maybe","interrupted"]"#).unwrap();
        assert_eq!(
            v,
            [
                Verdict::Pass,
                Verdict::Fail,
                Verdict::Error,
                Verdict::Error,
                Verdict::Interrupted
            ]
        );
        assert_eq!(serde_json::to_string(&Verdict::Fail).unwrap(), r#""fail""#);
        // The words both tools' JSON has always had.
        for (v, word) in [
            (Verdict::Pass, "pass"),
            (Verdict::Fail, "fail"),
            (Verdict::Interrupted, "interrupted"),
            (Verdict::Error, "error"),
        ] {
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{word}\""));
            assert_eq!((v.word(), v.to_string()), (word, word.to_string()));
            assert!(v == word);
        }
        assert_eq!(
            Verdict::Interrupted.outcome(),
            super::Outcome::Error,
            "verify: not a verdict it judges"
        );
    }
}
