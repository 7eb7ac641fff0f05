//! The scenario as written: serde types that keep each value's place in the
//! file (`Spanned`), so `compile` can name the line of whatever it refuses.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

type Sp<T> = Spanned<T>;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub version: Option<Sp<i64>>,
    pub student_name: Option<Sp<String>>,
    #[serde(default)]
    pub vars: BTreeMap<String, Sp<String>>,
    #[serde(default)]
    pub setup: Vec<Sp<RawRequest>>,
    pub login: Option<Sp<RawRequest>>,
    #[serde(default, rename = "task")]
    pub tasks: Vec<Sp<RawRequest>>,
    pub logout: Option<Sp<RawRequest>>,
    /// The login capture the `--ledger` records as each student's exam.
    pub ledger_exam: Option<Sp<String>>,
}

/// One request; the task keys are refused outside `[[task]]` by `compile`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    pub name: Option<Sp<String>>,
    pub method: Option<Sp<String>>,
    pub path: Option<Sp<String>>,
    pub encoding: Option<Sp<String>>,
    #[serde(default)]
    pub fields: BTreeMap<String, Sp<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Sp<String>>,
    pub file: Option<Sp<RawFile>>,
    pub expect: Option<Sp<RawExpect>>,
    #[serde(default)]
    pub capture: BTreeMap<String, Sp<String>>,
    #[serde(default)]
    pub ledger: BTreeMap<String, Sp<String>>,
    pub every: Option<Sp<String>>,
    pub jitter: Option<Sp<String>>,
    pub offset: Option<Sp<String>>,
    pub probability: Option<Sp<f64>>,
    pub sequenced: Option<Sp<bool>>,
    pub queue: Option<Sp<RawQueue>>,
    /// An unsequenced task's attempts per run, and each attempt's time limit.
    pub tries: Option<Sp<i64>>,
    pub timeout: Option<Sp<String>>,
    /// `enabled = false`: the task runs only when `--every` names it.
    pub enabled: Option<Sp<bool>>,
}

/// `queue = { flush_every = "60s", … }` on a sequenced task.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    pub flush_every: Sp<String>,
    pub flush_jitter: Option<Sp<String>>,
    pub flush_gap: Option<Sp<String>>,
    pub retry: Option<Sp<String>>,
    pub exit_passes: Option<Sp<i64>>,
    pub exit_pass_gap: Option<Sp<String>>,
}

/// `size = "6MB-10MB"` or `size = { median = "6MB", p90 = "8.5MB", max = "10.6MB" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawSize {
    Range(String),
    Measured { median: String, p90: String, max: String },
}

/// A multipart file part.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub field: Sp<String>,
    pub name: Sp<String>,
    pub content_type: Option<Sp<String>>,
    pub size: Sp<RawSize>,
}

/// `status = 200` or `status = [200, 201]`.
#[derive(Debug)]
pub enum RawStatus {
    One(u16),
    Many(Vec<u16>),
}

/// By hand, not `untagged`: a wrong type is said in words with the key
/// (`status = "200"` used to give "did not match any variant of untagged enum RawStatus").
impl<'de> Deserialize<'de> for RawStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        fn bad<E: Error>(got: impl std::fmt::Display) -> E {
            E::custom(format!(
                "expect.status: {got} is not an HTTP status: write a number, `status = 200` (no quotes), or a list, `status = [200, 201]`"
            ))
        }
        fn one<E: Error>(v: toml::Value) -> Result<u16, E> {
            match &v {
                toml::Value::Integer(n) => u16::try_from(*n)
                    .ok()
                    .filter(|n| (100..=599).contains(n))
                    .ok_or_else(|| bad(n)),
                toml::Value::String(s) => Err(bad(format!("the string \"{s}\""))),
                other => Err(bad(format!("a {}", other.type_str()))),
            }
        }
        match toml::Value::deserialize(d)? {
            toml::Value::Array(all) => all.into_iter().map(one).collect::<Result<_, _>>().map(RawStatus::Many),
            v => one(v).map(RawStatus::One),
        }
    }
}

/// Checks on an answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub status: Option<RawStatus>,
    #[serde(default)]
    pub json: BTreeMap<String, toml::Value>,
}
