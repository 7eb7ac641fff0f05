//! A lean HTTP/1.1 client: hyper's connection-level API over a shared pool of
//! keep-alive connections. Idle students hold no connection; a request takes
//! one from the pool (or opens one) and gives it back when the answer is read.
//! Bodies are lists of `Bytes`: an upload sends a slice of the one shared
//! payload buffer, never a copy of it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::stats::FailKind;

/// A request body made of shared chunks.
#[derive(Debug, Clone, Default)]
pub struct Body {
    chunks: VecDeque<Bytes>,
    len: u64,
}

impl Body {
    /// A body of these chunks, sent in order.
    pub fn new(chunks: impl IntoIterator<Item = Bytes>) -> Body {
        let chunks: VecDeque<Bytes> = chunks.into_iter().filter(|c| !c.is_empty()).collect();
        let len = chunks.iter().map(|c| c.len() as u64).sum();
        Body { chunks, len }
    }

    /// Bytes in the body.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty body.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunks, in sending order.
    pub fn chunks(&self) -> impl Iterator<Item = &Bytes> {
        self.chunks.iter()
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().chunks.pop_front().map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.chunks.iter().map(|c| c.len() as u64).sum())
    }
}

/// The target, parsed from `--host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https://…`: every connection is TLS.
    pub tls: bool,
    /// `host:port` for the Host header.
    pub authority: String,
    /// The host name alone (SNI, certificate check, cookie domain).
    pub host: String,
    /// Path prefix (no trailing slash), usually empty.
    pub base: String,
}

/// Why `--host` was refused.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("--host must start with http:// or https://")]
    Scheme,
    #[error("--host has no host name")]
    Empty,
    #[error("resolve {0}: {1}")]
    Resolve(String, std::io::Error),
}

impl Target {
    /// Parses `http[s]://host[:port][/base]`.
    pub fn parse(url: &str) -> Result<Target, HostError> {
        let (tls, rest) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(r), _) => (false, r),
            (_, Some(r)) => (true, r),
            _ => return Err(HostError::Scheme),
        };
        let (authority, base) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
        if authority.is_empty() {
            return Err(HostError::Empty);
        }
        let has_port = authority.contains(':') && !authority.ends_with(']');
        let host = if has_port {
            authority.rsplit_once(':').map_or(authority, |(h, _)| h)
        } else {
            authority
        };
        let authority = if has_port {
            authority.to_string()
        } else {
            format!("{authority}:{}", if tls { 443 } else { 80 })
        };
        let base = base.trim_end_matches('/');
        Ok(Target {
            tls,
            host: host.to_string(),
            authority,
            base: if base.is_empty() {
                String::new()
            } else {
                format!("/{base}")
            },
        })
    }

    /// `https://host:port/base`: where cookies are scoped.
    pub fn origin(&self) -> String {
        format!(
            "{}://{}{}",
            if self.tls { "https" } else { "http" },
            self.authority,
            self.base
        )
    }

    /// Resolves the address once, at start.
    pub async fn resolve(&self) -> Result<SocketAddr, HostError> {
        let mut addrs = tokio::net::lookup_host(&self.authority)
            .await
            .map_err(|e| HostError::Resolve(self.authority.clone(), e))?;
        addrs
            .next()
            .ok_or_else(|| HostError::Resolve(self.authority.clone(), std::io::Error::other("no address")))
    }
}

/// A finished exchange.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The response body, or its start when it is longer than the request
    /// keeps (`len` says): the whole body up to `--max-answer-size` when checks,
    /// captures or the ledger read it, `SNIPPET` bytes otherwise.
    pub body: Bytes,
    /// The whole body's length (the rest was read and counted, not kept).
    pub len: u64,
    /// `Set-Cookie` values (at most `cookies::MAX_SET_COOKIES`, each at most
    /// `cookies::MAX_COOKIE_BYTES`).
    pub set_cookies: Vec<String>,
    /// The TLS handshake of the connection this request opened, if it opened one.
    pub tls_handshake: Option<Duration>,
}

impl Answer {
    /// True when `body` is only the start of the answer.
    pub fn is_cut(&self) -> bool {
        (self.body.len() as u64) < self.len
    }
}

/// `--max-answer-size`'s default: bytes of an answer kept for checks and
/// captures (a setup answer echoing 5,000 students is about 300 KiB). Past
/// it the rest is counted and dropped, so a server streaming huge answers
/// cannot grow the generator's memory.
pub const DEFAULT_MAX_ANSWER: usize = 8 << 20;

/// Bytes kept of an answer nothing reads (for messages, such as setup's).
pub const SNIPPET: usize = 4 << 10;

/// Reads a body to its end as a stream, keeping its first `keep` bytes.
async fn read_capped(mut body: hyper::body::Incoming, keep: usize) -> Result<(Bytes, u64), FailKind> {
    let mut kept: Option<bytes::BytesMut> = None;
    let mut first: Option<Bytes> = None;
    let mut len = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| FailKind::Reset)?;
        let Ok(data) = frame.into_data() else { continue };
        len = len.saturating_add(data.len() as u64);
        let held = first.as_ref().map_or(0, Bytes::len) + kept.as_ref().map_or(0, |k| k.len());
        let room = keep.saturating_sub(held);
        if room == 0 {
            continue;
        }
        let take = data.slice(..data.len().min(room));
        match (&mut first, &mut kept) {
            // The common case, one frame: kept without a copy.
            (None, _) => first = Some(take),
            (Some(f), None) => {
                let mut b = bytes::BytesMut::with_capacity(f.len() + take.len());
                b.extend_from_slice(f);
                b.extend_from_slice(&take);
                kept = Some(b);
            }
            (Some(_), Some(k)) => k.extend_from_slice(&take),
        }
    }
    let body = match kept {
        Some(k) => k.freeze(),
        None => first.unwrap_or_default(),
    };
    Ok((body, len))
}

/// The connector and the name for SNI.
struct Tls(tokio_rustls::TlsConnector, rustls::pki_types::ServerName<'static>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls({:?})", self.1)
    }
}

/// The shared client.
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    target: Target,
    /// The Host header, validated once (`None`: the authority is not a valid header value).
    host: Option<HeaderValue>,
    /// TLS, for an `https://` target.
    tls: Option<Tls>,
    /// Where cookies are scoped, shared by every student's jar.
    origin: std::sync::Arc<str>,
    idle: Mutex<Vec<SendRequest<Body>>>,
    max_idle: usize,
    timeout: Duration,
    /// `--max-answer-size`.
    max_answer: usize,
}

impl Client {
    /// A client of `target` at `addr`, keeping at most `max_idle` idle
    /// connections; `tls` is used when the target is `https://`.
    pub fn new(
        target: Target,
        addr: SocketAddr,
        timeout: Duration,
        max_idle: usize,
        tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    ) -> Client {
        let tls = tls.filter(|_| target.tls).and_then(|c| {
            Some(Tls(
                tokio_rustls::TlsConnector::from(c),
                crate::tls::server_name(&target.host)?,
            ))
        });
        Client {
            addr,
            origin: target.origin().into(),
            host: HeaderValue::from_str(&target.authority).ok(),
            target,
            tls,
            idle: Mutex::new(Vec::new()),
            max_idle,
            timeout,
            max_answer: DEFAULT_MAX_ANSWER,
        }
    }

    /// Keeps answers read for JSON up to `bytes` (`--max-answer-size`).
    pub fn with_max_answer(mut self, bytes: usize) -> Client {
        self.max_answer = bytes;
        self
    }

    /// `--max-answer-size`.
    pub fn max_answer(&self) -> usize {
        self.max_answer
    }

    /// The target's origin (`https://host:port/base`), where cookies are scoped.
    pub fn origin(&self) -> std::sync::Arc<str> {
        self.origin.clone()
    }

    /// A new connection; with TLS, also how long its handshake took.
    async fn connect(&self) -> Result<(SendRequest<Body>, Option<Duration>), FailKind> {
        let tcp = TcpStream::connect(self.addr).await.map_err(|_| FailKind::Connect)?;
        let _ = tcp.set_nodelay(true);
        if self.target.tls {
            let Tls(connector, name) = self.tls.as_ref().ok_or(FailKind::Tls)?;
            let t0 = std::time::Instant::now();
            let stream = connector.connect(name.clone(), tcp).await.map_err(|_| FailKind::Tls)?;
            let took = t0.elapsed();
            let (sender, conn) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|_| FailKind::Connect)?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            return Ok((sender, Some(took)));
        }
        let (sender, conn) = http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|_| FailKind::Connect)?;
        tokio::spawn(async move {
            let _ = conn.await; // ends when the server closes or the sender is dropped
        });
        Ok((sender, None))
    }

    /// A ready connection from the pool (`None`: reused), or a new one with
    /// its TLS handshake time.
    async fn checkout(&self) -> Result<(SendRequest<Body>, Option<Option<Duration>>), FailKind> {
        loop {
            // A poisoned pool (a panic elsewhere) still holds usable connections.
            let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match pooled {
                Some(mut s) => {
                    if s.ready().await.is_ok() {
                        return Ok((s, None));
                    }
                }
                None => {
                    let (s, hs) = self.connect().await?;
                    return Ok((s, Some(hs)));
                }
            }
        }
    }

    fn checkin(&self, s: SendRequest<Body>) {
        if s.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.max_idle {
            idle.push(s);
        }
    }

    /// Sends one request and reads the whole answer, within the timeout,
    /// keeping its first `keep` bytes. A reused connection the server had
    /// closed is retried once on a new one.
    pub async fn send(
        &self,
        method: &Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Body,
        keep: usize,
    ) -> Result<Answer, FailKind> {
        let uri = if self.target.base.is_empty() {
            path.to_string()
        } else {
            format!("{}{path}", self.target.base)
        };
        let host = self.host.clone().ok_or(FailKind::Protocol)?;
        let exchange = async {
            let mut attempt = 0;
            loop {
                let (mut sender, opened) = self.checkout().await?;
                let reused = opened.is_none();
                // An invalid URI (a scenario path with a space) is a `protocol` failure, never a panic.
                let mut req = Request::builder()
                    .method(method.clone())
                    .uri(&uri)
                    .body(body.clone())
                    .map_err(|_| FailKind::Protocol)?;
                let h = req.headers_mut();
                h.insert(HOST, host.clone());
                for (k, v) in headers {
                    h.insert(k.clone(), v.clone());
                }
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let set_cookies = set_cookies(resp.headers());
                        let (body, len) = read_capped(resp.into_body(), keep).await?;
                        self.checkin(sender);
                        return Ok(Answer {
                            status,
                            body,
                            len,
                            set_cookies,
                            tls_handshake: opened.flatten(),
                        });
                    }
                    Err(e)
                        if reused
                            && attempt == 0
                            && (e.is_canceled() || e.is_closed() || e.is_incomplete_message()) =>
                    {
                        attempt += 1;
                    }
                    Err(_) => return Err(FailKind::Reset),
                }
            }
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| FailKind::Timeout)?
    }
}

/// The answer's `Set-Cookie` values, bounded (no allocation when there are none).
fn set_cookies(h: &hyper::HeaderMap) -> Vec<String> {
    h.get_all(hyper::header::SET_COOKIE)
        .iter()
        .take(crate::cookies::MAX_SET_COOKIES)
        .filter(|v| v.len() <= crate::cookies::MAX_COOKIE_BYTES)
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

/// `(Content-Type, value)` for a body encoding.
pub fn content_type(value: &str) -> (HeaderName, HeaderValue) {
    (
        CONTENT_TYPE,
        HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts() {
        let t = Target::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!((t.authority.as_str(), t.base.as_str()), ("127.0.0.1:5000", ""));
        let b = Target::parse("http://localhost/app/").unwrap();
        assert_eq!((b.authority.as_str(), b.base.as_str()), ("localhost:80", "/app"));
        let s = Target::parse("https://exam.example.com/api").unwrap();
        assert_eq!(
            (s.tls, s.authority.as_str(), s.host.as_str(), s.origin().as_str()),
            (
                true,
                "exam.example.com:443",
                "exam.example.com",
                "https://exam.example.com:443/api"
            )
        );
        let v6 = Target::parse("https://[::1]:8443").unwrap();
        assert_eq!((v6.host.as_str(), v6.authority.as_str()), ("[::1]", "[::1]:8443"));
        assert!(matches!(Target::parse("ftp://x"), Err(HostError::Scheme)));
        assert!(matches!(Target::parse("http:///x"), Err(HostError::Empty)));
    }

    #[test]
    fn bodies_share_chunks_and_know_their_length() {
        let payload = Bytes::from(vec![7u8; 1000]);
        let b = Body::new([Bytes::from_static(b"head"), payload.slice(0..600), Bytes::new()]);
        assert_eq!(b.len(), 604);
        assert_eq!(hyper::body::Body::size_hint(&b).exact(), Some(604));
        assert_eq!(b.chunks[1].as_ptr(), payload.as_ptr(), "the payload is not copied");
    }
}
