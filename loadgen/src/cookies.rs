//! One cookie jar per student (RFC 6265 through `cookie_store`: domain, path,
//! expiry, `Secure`, `HttpOnly`): what an answer sets goes with that
//! student's later requests, never with another student's.

use std::sync::{Arc, Mutex};

use hyper::header::HeaderValue;
use url::Url;

/// Cookies accepted from one answer, and their length, at most (a hostile
/// server cannot grow a student's jar without bound).
pub const MAX_SET_COOKIES: usize = 32;
pub const MAX_COOKIE_BYTES: usize = 4096;

/// A student's jar for one origin (`https://host:port`). The store is made
/// when the first cookie arrives: an idle student of a cookie-less API holds
/// two words here.
#[derive(Debug)]
pub struct Jar {
    origin: Arc<str>,
    store: Mutex<Option<Box<cookie_store::CookieStore>>>,
}

impl Jar {
    pub fn new(origin: Arc<str>) -> Jar {
        Jar {
            origin,
            store: Mutex::new(None),
        }
    }

    fn url(&self, path: &str) -> Option<Url> {
        Url::parse(&format!("{}{path}", self.origin)).ok()
    }

    /// The `Cookie` header for a request to `path`, when any cookie applies.
    pub fn header(&self, path: &str) -> Option<HeaderValue> {
        let guard = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let store = guard.as_ref()?;
        // An empty jar (most requests of a cookie-less API) costs no URL parse.
        store.iter_unexpired().next()?;
        let url = self.url(path)?;
        let pairs: Vec<String> = store
            .get_request_values(&url)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if pairs.is_empty() {
            return None;
        }
        HeaderValue::from_str(&pairs.join("; ")).ok()
    }

    /// Keeps what an answer to a request for `path` set.
    pub fn store(&self, path: &str, set_cookies: &[String]) {
        if set_cookies.is_empty() {
            return;
        }
        let Some(url) = self.url(path) else { return };
        let mut guard = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let store = guard.get_or_insert_with(Default::default);
        for c in set_cookies.iter().take(MAX_SET_COOKIES) {
            let _ = store.parse(c, &url);
        }
    }

    /// A cookie's value (`{cookie:NAME}` in templates), if the jar holds it.
    pub fn value(&self, name: &str) -> Option<String> {
        let guard = self.store.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()?
            .iter_unexpired()
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_follow_path_secure_and_expiry() {
        // Not a loopback host: there, as in browsers, plain HTTP counts as secure.
        let jar = Jar::new("http://example.com:5000".into());
        jar.store(
            "/api/login",
            &[
                "session=abc; Path=/; HttpOnly".to_string(),
                "only_api=1; Path=/api/x".to_string(),
                "secure_one=2; Path=/; Secure".to_string(),
                "gone=3; Path=/; Max-Age=0".to_string(),
            ],
        );
        assert_eq!(jar.header("/api/heartbeat").unwrap(), "session=abc");
        let h = jar.header("/api/x/y").unwrap();
        assert!(h.to_str().unwrap().contains("only_api=1") && h.to_str().unwrap().contains("session=abc"));
        assert_eq!(jar.value("session").as_deref(), Some("abc"));
        assert_eq!(jar.value("gone"), None);
        let tls = Jar::new("https://example.com".into());
        tls.store("/", &["secure_one=2; Path=/; Secure".to_string()]);
        assert_eq!(tls.header("/").unwrap(), "secure_one=2");
        assert!(Jar::new("http://h".into()).header("/").is_none());
    }
}
