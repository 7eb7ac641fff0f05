//! The API a virtual student talks to, described in TOML. The built-in default
//! is the reference target's API (fixtures/target/README.md).
//!
//! Templates in paths, fields and headers: `{student_id}`, `{exam_id}`,
//! `{seq}`, `{token}`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The built-in scenario, as TOML (also shown by `loadgen scenario`).
pub const DEFAULT_TOML: &str = r#"# loadgen scenario: the reference target's API (fixtures/target/README.md).
exam_id = "30"

[login]
method = "POST"
path = "/api/login"
encoding = "form"            # form | json
fields = { student_id = "{student_id}", exam_id = "{exam_id}" }
token = "/token"             # JSON pointer of the token in the answer ("" if none)

[upload]
method = "POST"
path = "/api/upload"
fields = { token = "{token}", seq = "{seq}" }
file_field = "file"
file_name = "{student_id}_seq_{seq}.mp4"
content_type = "video/mp4"

[finish]
method = "POST"
path = "/api/finish"
encoding = "form"
fields = { token = "{token}" }
"#;

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The exam ID used in `{exam_id}`.
    #[serde(default = "default_exam")]
    pub exam_id: String,
    /// Logging in.
    pub login: Call,
    /// Uploading one segment (multipart).
    pub upload: Upload,
    /// Ending the exam (optional).
    pub finish: Option<Call>,
}

fn default_exam() -> String {
    "30".into()
}

fn default_method() -> String {
    "POST".into()
}

/// How a body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// `application/x-www-form-urlencoded`.
    #[default]
    Form,
    /// `application/json` (string values).
    Json,
}

/// A plain request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON pointer to the token in the answer (login only; empty: none).
    #[serde(default)]
    pub token: String,
}

/// The upload request: multipart with the fields and one file part.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub file_field: String,
    pub file_name: String,
    #[serde(default = "default_content_type")]
    pub content_type: String,
}

fn default_content_type() -> String {
    "application/octet-stream".into()
}

/// Values for templates.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    pub student_id: &'a str,
    pub exam_id: &'a str,
    pub seq: Option<u64>,
    pub token: &'a str,
}

impl Vars<'_> {
    /// Fills `{…}` placeholders. A field whose template is exactly `{seq}`
    /// is dropped by the caller when there is no seq.
    pub fn fill(&self, template: &str) -> String {
        if !template.contains('{') {
            return template.to_string();
        }
        let seq = self.seq.map(|s| s.to_string()).unwrap_or_default();
        template
            .replace("{student_id}", self.student_id)
            .replace("{exam_id}", self.exam_id)
            .replace("{seq}", &seq)
            .replace("{token}", self.token)
    }
}

/// Why a scenario was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("read scenario {0}: {1}")]
    Read(String, std::io::Error),
    #[error("scenario {0}: {1}")]
    Parse(String, toml::de::Error),
    #[error("scenario {0}: {1}")]
    Invalid(String, String),
}

impl Scenario {
    /// The built-in scenario.
    pub fn builtin() -> Scenario {
        Scenario::parse(DEFAULT_TOML, "built-in").expect("the built-in scenario parses")
    }

    /// Parses and checks a scenario.
    pub fn parse(text: &str, name: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse(name.into(), e))?;
        for path in [&s.login.path, &s.upload.path]
            .into_iter()
            .chain(s.finish.as_ref().map(|f| &f.path))
        {
            if !path.starts_with('/') {
                return Err(ScenarioError::Invalid(
                    name.into(),
                    format!("path '{path}' must start with /"),
                ));
            }
        }
        Ok(s)
    }

    /// Reads a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Read(name.clone(), e))?;
        Scenario::parse(&text, &name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_the_target_api() {
        let s = Scenario::builtin();
        assert_eq!(
            (s.login.path.as_str(), s.upload.path.as_str()),
            ("/api/login", "/api/upload")
        );
        assert_eq!(s.login.token, "/token");
        assert_eq!(s.finish.unwrap().fields["token"], "{token}");
    }

    #[test]
    fn the_readme_scenario_for_another_api_parses() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios/other-api.toml");
        let s = Scenario::load(&path).unwrap();
        assert_eq!(
            (s.login.encoding, s.login.token.as_str()),
            (Encoding::Json, "/data/access_token")
        );
        assert_eq!(s.upload.headers["Authorization"], "Bearer {token}");
        assert_eq!(s.finish.unwrap().method, "DELETE");
    }

    #[test]
    fn templates_fill_and_bad_scenarios_are_refused() {
        let v = Vars {
            student_id: "test_00001",
            exam_id: "30",
            seq: Some(7),
            token: "t",
        };
        assert_eq!(v.fill("{student_id}_seq_{seq}.mp4"), "test_00001_seq_7.mp4");
        assert!(matches!(Scenario::parse("x = 1", "t"), Err(ScenarioError::Parse(..))));
        let bad = DEFAULT_TOML.replace("path = \"/api/login\"", "path = \"api/login\"");
        assert!(matches!(Scenario::parse(&bad, "t"), Err(ScenarioError::Invalid(..))));
    }
}
