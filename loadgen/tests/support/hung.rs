//! Small hostile HTTP servers on 127.0.0.1 for tests: answers chosen per
//! path, or none at all (a hung server).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// Reads one HTTP request (headers and a Content-Length body).
pub fn read_request(r: &mut BufReader<std::net::TcpStream>) {
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    let _ = r.read_exact(&mut body);
}

/// A keep-alive HTTP server on 127.0.0.1: `answer(path)` gives the JSON to
/// send, or `None` to never answer (a hung server). Paths seen are recorded.
pub fn serve(answer: fn(&str) -> Option<String>) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let seen = seen2.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let mut w = stream;
                loop {
                    let mut first = String::new();
                    if r.read_line(&mut first).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
                    read_request(&mut r);
                    seen.lock().unwrap().push(path.clone());
                    match answer(&path) {
                        Some(body) => {
                            let head = format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n",
                                body.len()
                            );
                            if w.write_all(head.as_bytes())
                                .and_then(|_| w.write_all(body.as_bytes()))
                                .is_err()
                            {
                                return;
                            }
                        }
                        None => {
                            // Hung: hold the connection until the client goes.
                            let mut sink = Vec::new();
                            let _ = r.read_to_end(&mut sink);
                            return;
                        }
                    }
                }
            });
        }
    });
    (port, seen)
}

/// A scenario whose paths carry the login's token.
pub const SCENARIO: &str = r#"version = 2
[login]
path = "/login"
encoding = "json"
fields = { student_id = "{student_id}" }
capture = { token = "/token" }
[[task]]
name = "rec"
every = "200ms"
sequenced = true
path = "/u/{token}"
fields = { seq = "{seq}" }
file = { field = "f", name = "s.mp4", size = "1K" }
[logout]
path = "/out/{token}"
"#;
