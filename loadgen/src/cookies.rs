//! One cookie jar per student (RFC 6265 through `cookie_store`: domain, path,
//! expiry, `Secure`, `HttpOnly`): what an answer sets goes with that
//! student's later requests, never with another student's. A jar holds at
//! most `MAX_COOKIES`, the oldest evicted first, as browsers do per domain.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use hyper::header::HeaderValue;
use url::Url;

/// Cookies accepted from one answer, and their length, at most (a hostile
/// server cannot grow a student's jar without bound).
pub const MAX_SET_COOKIES: usize = 32;
pub const MAX_COOKIE_BYTES: usize = 4096;
/// Cookies one jar holds, at most (browsers keep about 50 per domain): a
/// server setting a new name on every answer cannot grow the `Cookie` header
/// without bound.
pub const MAX_COOKIES: usize = 50;

/// A cookie's identity in the store: domain, path, name.
type Key = (String, String, String);

/// The store and its keys, oldest first (a cookie set again keeps its place:
/// RFC 6265 keeps the old creation time).
#[derive(Debug, Default)]
struct Held {
    store: cookie_store::CookieStore,
    order: VecDeque<Key>,
}

/// A student's jar for one origin (`https://host:port`). The store is made
/// when the first cookie arrives: an idle student of a cookie-less API holds
/// two words here.
#[derive(Debug)]
pub struct Jar {
    origin: Arc<str>,
    store: Mutex<Option<Box<Held>>>,
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
        let store = &guard.as_ref()?.store;
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
        let held = guard.get_or_insert_with(Default::default);
        for c in set_cookies.iter().take(MAX_SET_COOKIES) {
            held.put(c, &url);
        }
    }

    /// A cookie's value (`{cookie:NAME}` in templates), if the jar holds it.
    pub fn value(&self, name: &str) -> Option<String> {
        let guard = self.store.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()?
            .store
            .iter_unexpired()
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string())
    }
}

impl Held {
    /// Stores one `Set-Cookie` value, then evicts the oldest past `MAX_COOKIES`.
    fn put(&mut self, set_cookie: &str, url: &Url) {
        let Ok(c) = cookie_store::Cookie::parse(set_cookie, url) else {
            return;
        };
        let key: Key = (String::from(&c.domain), String::from(&c.path), c.name().to_string());
        match self.store.insert(c.into_owned(), url) {
            Ok(cookie_store::StoreAction::Inserted) => self.order.push_back(key),
            // Deleted by the server: gone from the jar, not kept as an expired entry.
            Ok(cookie_store::StoreAction::ExpiredExisting) => {
                self.store.remove(&key.0, &key.1, &key.2);
                self.order.retain(|k| *k != key);
            }
            _ => {}
        }
        while self.order.len() > MAX_COOKIES {
            if let Some((d, p, n)) = self.order.pop_front() {
                self.store.remove(&d, &p, &n);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.store.iter_any().count()
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

    #[test]
    fn a_jar_keeps_the_newest_cookies_only() {
        let jar = Jar::new("http://example.com".into());
        jar.store("/", &["first=1; Path=/".to_string()]);
        for i in 0..200 {
            jar.store("/", &[format!("c{i}=v; Path=/")]);
        }
        let held = jar.store.lock().unwrap();
        assert_eq!(held.as_ref().unwrap().len(), MAX_COOKIES);
        drop(held);
        assert_eq!(jar.value("first"), None, "the oldest is evicted");
        assert_eq!(jar.value("c199").as_deref(), Some("v"));
        assert_eq!(jar.value("c150").as_deref(), Some("v"));
        assert_eq!(jar.value("c149"), None);
        let h = jar.header("/").unwrap();
        assert_eq!(h.to_str().unwrap().matches('=').count(), MAX_COOKIES);
        // A deleted cookie leaves no expired entry behind.
        jar.store("/", &["c199=; Path=/; Max-Age=0".to_string()]);
        assert_eq!(jar.store.lock().unwrap().as_ref().unwrap().len(), MAX_COOKIES - 1);
    }
}
