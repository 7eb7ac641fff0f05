//! Turning a scenario request into HTTP for one student: form, JSON or
//! multipart bodies, the file part streamed from the shared payload.

use bytes::{BufMut, Bytes, BytesMut};
use hyper::Method;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use crate::http::{Answer, Body, Client};
use crate::scenario::{Captured, Encoding, Escape, Request, Values};
use crate::stats::FailKind;

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Body,
}

/// The multipart boundary: fixed, and long enough never to occur in a payload by chance.
const BOUNDARY: &str = "loadgen-7d1f3c9a2b8e4f60a5c1d2e3f4a5b6c7";
const MULTIPART: &str = "multipart/form-data; boundary=loadgen-7d1f3c9a2b8e4f60a5c1d2e3f4a5b6c7";

/// Fields with their values; a field that is only `{seq}` is left out when there is no seq.
fn fields<'a>(r: &'a Request, v: &'a Values) -> impl Iterator<Item = (&'a str, &'a crate::scenario::Template)> + 'a {
    r.fields
        .iter()
        .filter(move |(_, t)| !(t.is_only_seq() && v.seq.is_none()))
        .map(|(k, t)| (k.as_str(), t))
}

/// Builds the request; `file` is the file part's content (multipart only).
/// A header value a template filled with forbidden bytes (a newline from a
/// server answer) makes it a `protocol` failure, never a panic.
pub fn prepare(r: &Request, v: &Values, file: Bytes) -> Result<Prepared, FailKind> {
    let mut hs = Vec::with_capacity(r.headers.len() + 1);
    for (k, t) in &r.headers {
        let value = HeaderValue::from_str(&t.fill(v, Escape::None)).map_err(|_| FailKind::Protocol)?;
        hs.push((k.clone(), value));
    }
    let body = match r.encoding {
        Encoding::Form => {
            hs.push((
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            ));
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, t) in fields(r, v) {
                ser.append_pair(k, &t.fill(v, Escape::None));
            }
            Body::new([Bytes::from(ser.finish())])
        }
        Encoding::Json => {
            hs.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
            let obj: serde_json::Map<String, serde_json::Value> =
                fields(r, v).map(|(k, t)| (k.to_string(), t.fill_json(v))).collect();
            Body::new([Bytes::from(serde_json::Value::Object(obj).to_string())])
        }
        Encoding::Multipart => {
            hs.push((CONTENT_TYPE, HeaderValue::from_static(MULTIPART)));
            let mut head = BytesMut::with_capacity(512);
            for (k, t) in fields(r, v) {
                head.put_slice(
                    format!(
                        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{}\r\n",
                        quote(k),
                        t.fill(v, Escape::None)
                    )
                    .as_bytes(),
                );
            }
            match &r.file {
                Some(f) => {
                    head.put_slice(
                        format!(
                            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                            quote(&f.field),
                            quote(&f.name.fill(v, Escape::None)),
                            quote(&f.content_type)
                        )
                        .as_bytes(),
                    );
                    Body::new([head.freeze(), file, Bytes::from(format!("\r\n--{BOUNDARY}--\r\n"))])
                }
                None => {
                    head.put_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
                    Body::new([head.freeze()])
                }
            }
        }
    };
    let path = r.path.fill(v, Escape::Url);
    Ok(Prepared {
        method: r.method.clone(),
        path,
        headers: hs,
        body,
    })
}

/// One request's outcome.
#[derive(Debug)]
pub struct Outcome {
    /// The captures of a successful answer, or why the request failed.
    pub result: Result<Vec<(usize, Captured)>, FailKind>,
    /// Request body bytes sent.
    pub sent: u64,
    /// Response body bytes received (all of them, not only those kept).
    pub received: u64,
    /// The answer, when one came.
    pub answer: Option<Answer>,
    /// The answer's fields the request names for the ledger.
    pub ledger: crate::answer::LedgerFields,
}

/// Builds, sends and judges one request: the one path every controller
/// (students, hammer, setup) takes. `names` are the capture names of the
/// request's place (login's or setup's); `ledger`: take the answer fields the
/// ledger records.
pub async fn exchange(
    client: &Client,
    r: &Request,
    names: &[String],
    v: &Values<'_>,
    file: Bytes,
    ledger: bool,
) -> Outcome {
    let mut p = match prepare(r, v, file) {
        Ok(p) => p,
        Err(k) => {
            return Outcome {
                result: Err(k),
                sent: 0,
                received: 0,
                answer: None,
                ledger: Default::default(),
            };
        }
    };
    let sent = p.body.len();
    // The student's jar: its cookies go out, the answer's come in.
    if let Some(h) = v.jar.and_then(|j| j.header(&p.path)) {
        p.headers.push((hyper::header::COOKIE, h));
    }
    let keep = if crate::answer::needs_body(r, ledger) {
        client.max_answer()
    } else {
        crate::http::SNIPPET
    };
    match client.send(&p.method, &p.path, &p.headers, p.body, keep).await {
        Ok(a) => {
            if let Some(j) = v.jar {
                j.store(&p.path, &a.set_cookies);
            }
            let cut = a.is_cut().then_some(keep as u64);
            let (result, ledger) = crate::answer::judge_full(r, names, a.status, &a.body, cut, ledger);
            Outcome {
                result,
                sent,
                received: a.len,
                answer: Some(a),
                ledger,
            }
        }
        Err(k) => Outcome {
            result: Err(k),
            sent,
            received: 0,
            answer: None,
            ledger: Default::default(),
        },
    }
}

fn quote(s: &str) -> String {
    s.replace('"', "%22").replace(['\r', '\n'], "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Captured, Scenario};

    fn body_text(p: &Prepared) -> String {
        p.body.chunks().map(|c| String::from_utf8_lossy(c)).collect()
    }

    #[test]
    fn json_login_and_heartbeat_keep_types() {
        let s = Scenario::builtin().unwrap();
        let caps = [Captured::new(serde_json::json!(12))];
        let v = Values {
            student_id: "test_00001",
            n: 1,
            student_name: "Student 1",
            captures: &caps,
            ..Values::default()
        };
        let login = prepare(&s.login, &v, Bytes::new()).unwrap();
        assert_eq!((login.method.as_str(), login.path.as_str()), ("POST", "/api/login"));
        assert_eq!(
            body_text(&login),
            r#"{"student_id":"test_00001","student_name":"Student 1"}"#
        );
        let hb = prepare(&s.tasks[0].request, &v, Bytes::new()).unwrap();
        assert_eq!(body_text(&hb), r#"{"exam_id":12,"student_id":"test_00001"}"#);
    }

    #[test]
    fn multipart_recording_wraps_the_payload_and_drops_seq_when_absent() {
        let s = Scenario::builtin().unwrap();
        let caps = [Captured::new(serde_json::json!(12))];
        let payload = Bytes::from(vec![1u8; 1000]);
        let rec = &s.tasks[2].request;
        let mk = |seq| Values {
            student_id: "test_00001",
            seq,
            captures: &caps,
            ..Values::default()
        };
        let with = prepare(rec, &mk(Some(3)), payload.clone()).unwrap();
        let without = prepare(rec, &mk(None), payload.clone()).unwrap();
        let text = body_text(&with);
        assert!(text.contains("name=\"sequence\"\r\n\r\n3\r\n") && text.contains("filename=\"recording_3.mp4\""));
        assert!(text.contains("name=\"exam_id\"\r\n\r\n12\r\n"));
        assert!(!body_text(&without).contains("name=\"sequence\""));
        assert_eq!(with.body.len(), text.len() as u64);
        assert!(with.body.len() > 1000);
        assert_eq!(MULTIPART, format!("multipart/form-data; boundary={BOUNDARY}"));
    }

    #[test]
    fn hostile_captured_values_are_encoded_or_refused() {
        let text = "version = 2\n[login]\npath = \"/l\"\ncapture = { t = \"/t\" }\n[[task]]\nname = \"x\"\nevery = \"1s\"\npath = \"/s/{t}?q={t}\"\nheaders = { Authorization = \"Bearer {t}\" }\n";
        let s = Scenario::parse(text, "t", &Default::default()).unwrap();
        let caps = [Captured::new(serde_json::json!("a b\"/?"))];
        let v = Values {
            captures: &caps,
            ..Values::default()
        };
        let p = prepare(&s.tasks[0].request, &v, Bytes::new()).unwrap();
        assert_eq!(p.path, "/s/a%20b%22%2F%3F?q=a%20b%22%2F%3F");
        let bad = [Captured::new(serde_json::json!("x\r\nEvil: 1"))];
        let v = Values {
            captures: &bad,
            ..Values::default()
        };
        assert!(matches!(
            prepare(&s.tasks[0].request, &v, Bytes::new()),
            Err(FailKind::Protocol)
        ));
    }
}
