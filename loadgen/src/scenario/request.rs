//! One request of a scenario, checked: method, path, body, file part,
//! checks and captures. Every refusal names its file, line and key.

use std::collections::BTreeMap;

use hyper::Method;
use hyper::header::HeaderName;
use toml::Spanned;

use super::compile::Ctx;
use super::raw::{RawExpect, RawFile, RawRequest, RawSize, RawStatus};
use super::template::{Place, Scope, is_builtin};
use super::{Encoding, Expect, FilePart, Request, ScenarioError, SizeDist};

/// One request; its captures are appended to `captures` (visible afterwards).
pub(super) fn request(
    cx: &Ctx,
    r: &Spanned<RawRequest>,
    key: &str,
    name: &str,
    place: Place,
    captures: &mut Vec<String>,
    vars: &BTreeMap<String, String>,
) -> Result<Request, ScenarioError> {
    let raw = r.get_ref();
    let k = |sub: &str| format!("{key}.{sub}");
    if place != Place::Student && place != Place::Sequenced {
        for (sub, present) in [
            ("every", raw.every.as_ref().map(Spanned::span)),
            ("jitter", raw.jitter.as_ref().map(Spanned::span)),
            ("offset", raw.offset.as_ref().map(Spanned::span)),
            ("probability", raw.probability.as_ref().map(Spanned::span)),
            ("sequenced", raw.sequenced.as_ref().map(Spanned::span)),
            ("queue", raw.queue.as_ref().map(Spanned::span)),
            ("enabled", raw.enabled.as_ref().map(Spanned::span)),
            ("tries", raw.tries.as_ref().map(Spanned::span)),
            ("timeout", raw.timeout.as_ref().map(Spanned::span)),
        ] {
            if let Some(span) = present {
                return Err(cx.err(Some(&span), &k(sub), format!("`{sub}` is a [[task]] key")));
            }
        }
    }
    if !matches!(place, Place::Student | Place::Sequenced | Place::Setup)
        && let Some(n) = &raw.name
    {
        return Err(cx.err(Some(&n.span()), &k("name"), format!("[{key}] is always named '{name}'")));
    }
    let scope = Scope { place, captures, vars };
    let method = match &raw.method {
        Some(m) => Method::from_bytes(m.get_ref().as_bytes()).map_err(|_| {
            cx.err(
                Some(&m.span()),
                &k("method"),
                format!("bad HTTP method '{}'", m.get_ref()),
            )
        })?,
        None => Method::POST,
    };
    let path = raw
        .path
        .as_ref()
        .ok_or_else(|| cx.err(Some(&r.span()), &k("path"), "a request needs a `path`"))?;
    if !path.get_ref().starts_with('/') {
        return Err(cx.err(
            Some(&path.span()),
            &k("path"),
            format!("path '{}' must start with /", path.get_ref()),
        ));
    }
    let file = raw
        .file
        .as_ref()
        .map(|f| file_part(cx, f, &k("file"), &scope))
        .transpose()?;
    let encoding = match raw.encoding.as_ref().map(|e| (e.get_ref().as_str(), e.span())) {
        None if file.is_some() => Encoding::Multipart,
        None => Encoding::Form,
        Some(("form", _)) => Encoding::Form,
        Some(("json", _)) => Encoding::Json,
        Some(("multipart", _)) => Encoding::Multipart,
        Some((other, span)) => {
            return Err(cx.err(
                Some(&span),
                &k("encoding"),
                format!("encoding '{other}' is not form, json or multipart"),
            ));
        }
    };
    if file.is_some() && encoding != Encoding::Multipart {
        return Err(cx.err(
            Some(&r.span()),
            &k("file"),
            "a file part needs encoding = \"multipart\"",
        ));
    }
    let mut fields = Vec::new();
    for (f, v) in &raw.fields {
        fields.push((f.clone(), cx.template(v, &k(&format!("fields.{f}")), &scope)?));
    }
    let mut headers = Vec::new();
    for (h, v) in &raw.headers {
        let hk = k(&format!("headers.{h}"));
        let hn = HeaderName::from_bytes(h.as_bytes())
            .map_err(|_| cx.err(Some(&v.span()), &hk, format!("bad header name '{h}'")))?;
        headers.push((hn, cx.template(v, &hk, &scope)?));
    }
    let path_t = cx.template(path, &k("path"), &scope)?;
    // Filled values are percent-encoded; what is written must already be a valid URL path.
    let probe = path_t.fill(&super::Values::default(), super::Escape::Url);
    if probe.contains('#') {
        // A URI parser drops the fragment: the rest of the path is never sent.
        return Err(cx.err(
            Some(&path.span()),
            &k("path"),
            format!("'#' in path '{}' is never sent (write %23)", path.get_ref()),
        ));
    }
    if probe.parse::<hyper::Uri>().is_err() {
        return Err(cx.err(
            Some(&path.span()),
            &k("path"),
            format!(
                "'{}' is not a valid URL path (percent-encode spaces and the like)",
                path.get_ref()
            ),
        ));
    }
    let expect = raw
        .expect
        .as_ref()
        .map(|e| expect(cx, e, &k("expect")))
        .transpose()?
        .unwrap_or_default();
    let mut capture = Vec::new();
    for (c, ptr) in &raw.capture {
        let ck = k(&format!("capture.{c}"));
        let ok_name = !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if !ok_name || is_builtin(c) || vars.contains_key(c) || c.starts_with("time") {
            return Err(cx.err(
                Some(&ptr.span()),
                &ck,
                format!("'{c}' cannot name a capture (letters, digits, _; not a built-in or a var)"),
            ));
        }
        if !(ptr.get_ref().is_empty() || ptr.get_ref().starts_with('/')) {
            return Err(cx.err(
                Some(&ptr.span()),
                &ck,
                format!("'{}' is not a JSON pointer (/a/b)", ptr.get_ref()),
            ));
        }
        if captures.iter().any(|x| x == c) {
            return Err(cx.err(Some(&ptr.span()), &ck, format!("'{c}' is captured twice")));
        }
        captures.push(c.clone());
        capture.push((captures.len() - 1, ptr.get_ref().clone()));
    }
    let mut ledger = Vec::new();
    for (name, ptr) in &raw.ledger {
        let lk = k(&format!("ledger.{name}"));
        if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            return Err(cx.err(
                Some(&ptr.span()),
                &lk,
                format!("'{name}' cannot name a ledger field (letters, digits, _)"),
            ));
        }
        if !ptr.get_ref().starts_with('/') {
            return Err(cx.err(
                Some(&ptr.span()),
                &lk,
                format!("'{}' is not a JSON pointer (/a/b)", ptr.get_ref()),
            ));
        }
        ledger.push((name.clone(), ptr.get_ref().clone()));
    }
    Ok(Request {
        name: raw
            .name
            .as_ref()
            .map_or_else(|| name.to_string(), |n| n.get_ref().clone()),
        method,
        path: path_t,
        encoding,
        fields,
        headers,
        file,
        expect,
        capture,
        ledger,
    })
}

fn file_part(cx: &Ctx, f: &Spanned<RawFile>, key: &str, scope: &Scope) -> Result<FilePart, ScenarioError> {
    let raw = f.get_ref();
    let span = raw.size.span();
    let bad = |m: String| cx.err(Some(&span), &format!("{key}.size"), m);
    let (size, dist) = match raw.size.get_ref() {
        RawSize::Range(size_text) => {
            let (a, b) = size_text.split_once('-').unwrap_or((size_text, size_text));
            let parse = |t: &str| common::usage::parse_size(t).map_err(|e| bad(e.0));
            let (min, max) = (parse(a)?, parse(b)?);
            if min > max || max > 4 << 30 {
                return Err(bad(format!(
                    "size '{size_text}' must be SIZE or MIN-MAX, MIN <= MAX <= 4GiB"
                )));
            }
            ((min, max), None)
        }
        RawSize::Measured { median, p90, max } => {
            let (m, p, x) = (
                decimal_size(median).map_err(&bad)?,
                decimal_size(p90).map_err(&bad)?,
                decimal_size(max).map_err(&bad)?,
            );
            if !(0 < m && m < p && p <= x && x <= 4 << 30) {
                return Err(bad("a measured size needs 0 < median < p90 <= max <= 4GiB".to_string()));
            }
            (
                (1, x),
                Some(SizeDist {
                    median: m,
                    p90: p,
                    max: x,
                }),
            )
        }
    };
    if raw.field.get_ref().is_empty() {
        return Err(cx.err(Some(&raw.field.span()), &format!("{key}.field"), "empty field name"));
    }
    Ok(FilePart {
        field: raw.field.get_ref().clone(),
        name: cx.template(&raw.name, &format!("{key}.name"), scope)?,
        content_type: raw
            .content_type
            .as_ref()
            .map_or_else(|| "application/octet-stream".to_string(), |c| c.get_ref().clone()),
        size,
        dist,
    })
}

/// `8.5MB`: a size with an optional decimal fraction (units as everywhere:
/// K, M, G are powers of 1024), whole bytes.
fn decimal_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("bad size '{text}' (try 6MB, 8.5MB)");
    let n: f64 = num.parse().map_err(|_| bad())?;
    let unit_bytes = common::usage::parse_size(&format!("1{}", unit.trim())).map_err(|_| bad())?;
    let v = (n * unit_bytes as f64).round();
    if !v.is_finite() || !(0.0..=(4u64 << 30) as f64).contains(&v) {
        return Err(format!("size '{text}' is out of range (at most 4GiB)"));
    }
    Ok(v as u64)
}

fn expect(cx: &Ctx, e: &Spanned<RawExpect>, key: &str) -> Result<Expect, ScenarioError> {
    let raw = e.get_ref();
    let status = match &raw.status {
        None => Vec::new(),
        Some(RawStatus::One(s)) => vec![*s],
        Some(RawStatus::Many(v)) => v.clone(),
    };
    if status.iter().any(|s| !(100..=599).contains(s)) {
        return Err(cx.err(Some(&e.span()), &format!("{key}.status"), "statuses are 100-599"));
    }
    let mut json = Vec::new();
    for (ptr, v) in &raw.json {
        if !ptr.starts_with('/') {
            return Err(cx.err(
                Some(&e.span()),
                &format!("{key}.json"),
                format!("'{ptr}' is not a JSON pointer (/a/b)"),
            ));
        }
        let v = serde_json::to_value(v)
            .map_err(|err| cx.err(Some(&e.span()), &format!("{key}.json.{ptr}"), err.to_string()))?;
        json.push((ptr.clone(), v));
    }
    Ok(Expect { status, json })
}
