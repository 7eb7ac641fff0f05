//! Turning the scenario into HTTP requests for one student.

use bytes::{BufMut, Bytes, BytesMut};
use hyper::Method;
use hyper::header::{HeaderName, HeaderValue};

use crate::http::{Body, content_type};
use crate::scenario::{Call, Encoding, Upload, Vars};

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

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap_or(Method::POST)
}

fn headers(map: &std::collections::BTreeMap<String, String>, vars: &Vars) -> Vec<(HeaderName, HeaderValue)> {
    map.iter()
        .filter_map(|(k, v)| {
            Some((
                HeaderName::from_bytes(k.as_bytes()).ok()?,
                HeaderValue::from_str(&vars.fill(v)).ok()?,
            ))
        })
        .collect()
}

/// Fields with their values; a field that is only `{seq}` is left out when there is no seq.
fn fields<'a>(
    map: &'a std::collections::BTreeMap<String, String>,
    vars: &'a Vars,
) -> impl Iterator<Item = (&'a str, String)> + 'a {
    map.iter()
        .filter(move |(_, v)| !(v.as_str() == "{seq}" && vars.seq.is_none()))
        .map(move |(k, v)| (k.as_str(), vars.fill(v)))
}

/// A login or finish request.
pub fn call(c: &Call, vars: &Vars) -> Prepared {
    let mut hs = headers(&c.headers, vars);
    let body = match c.encoding {
        Encoding::Form => {
            hs.push(content_type("application/x-www-form-urlencoded"));
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields(&c.fields, vars) {
                ser.append_pair(k, &v);
            }
            Bytes::from(ser.finish())
        }
        Encoding::Json => {
            hs.push(content_type("application/json"));
            let obj: serde_json::Map<String, serde_json::Value> = fields(&c.fields, vars)
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect();
            Bytes::from(serde_json::to_vec(&obj).expect("strings serialize"))
        }
    };
    Prepared {
        method: method(&c.method),
        path: vars.fill(&c.path),
        headers: hs,
        body: Body::new([body]),
    }
}

/// An upload: multipart fields, then the file part streamed from `payload`.
pub fn upload(u: &Upload, vars: &Vars, payload: Bytes) -> Prepared {
    let mut hs = headers(&u.headers, vars);
    hs.push(content_type(&format!("multipart/form-data; boundary={BOUNDARY}")));
    let mut head = BytesMut::with_capacity(512);
    for (k, v) in fields(&u.fields, vars) {
        head.put_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{v}\r\n",
                quote(k)
            )
            .as_bytes(),
        );
    }
    head.put_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            quote(&u.file_field),
            quote(&vars.fill(&u.file_name)),
            u.content_type
        )
        .as_bytes(),
    );
    let tail = Bytes::from(format!("\r\n--{BOUNDARY}--\r\n"));
    Prepared {
        method: method(&u.method),
        path: vars.fill(&u.path),
        headers: hs,
        body: Body::new([head.freeze(), payload, tail]),
    }
}

fn quote(s: &str) -> String {
    s.replace('"', "%22").replace(['\r', '\n'], "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn vars(seq: Option<u64>) -> Vars<'static> {
        Vars {
            student_id: "test_00001",
            exam_id: "30",
            seq,
            token: "tok en",
        }
    }

    #[test]
    fn form_login_and_json_variant() {
        let s = Scenario::builtin();
        let p = call(&s.login, &vars(None));
        assert_eq!((p.method.as_str(), p.path.as_str()), ("POST", "/api/login"));
        assert_eq!(p.body.len(), "exam_id=30&student_id=test_00001".len() as u64);
        let mut j = s.login.clone();
        j.encoding = Encoding::Json;
        let p = call(&j, &vars(None));
        assert_eq!(p.headers.last().unwrap().1, "application/json");
        assert_eq!(
            p.body.len(),
            r#"{"exam_id":"30","student_id":"test_00001"}"#.len() as u64
        );
    }

    #[test]
    fn multipart_upload_wraps_the_payload_and_drops_seq_when_absent() {
        let s = Scenario::builtin();
        let payload = Bytes::from(vec![1u8; 1000]);
        let with = upload(&s.upload, &vars(Some(3)), payload.clone());
        let without = upload(&s.upload, &vars(None), payload);
        assert!(with.body.len() > 1000);
        let seq_part =
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"seq\"\r\n\r\n3\r\n").len() as u64;
        assert_eq!(
            with.body.len() - without.body.len(),
            seq_part + "_seq_3".len() as u64 - "_seq_".len() as u64
        );
    }
}
