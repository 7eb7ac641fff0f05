//! The link to the master: frames out through a small trait, frames in over a
//! channel. The real one is a ZeroMQ DEALER (pure-Rust `zeromq`) whose routing
//! identity is the worker's node id; tests can plug in channels instead.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use zeromq::util::PeerIdentity;
use zeromq::{DealerSocket, Socket, SocketOptions, SocketRecv, SocketSend, ZmqMessage};

/// Where frames go.
pub trait FrameSink: Send {
    /// Sends one frame (one ZeroMQ message part).
    fn send(&mut self, frame: Vec<u8>) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// A live link: a sink, and incoming frames (an `Err` ends the link).
pub struct Link {
    pub sink: Box<dyn FrameSink>,
    pub incoming: mpsc::Receiver<Result<Vec<u8>, String>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Link")
    }
}

struct ZmqSink(zeromq::DealerSendHalf);

impl FrameSink for ZmqSink {
    fn send(&mut self, frame: Vec<u8>) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move { self.0.send(ZmqMessage::from(frame)).await.map_err(|e| e.to_string()) })
    }
}

/// Connects a DEALER with routing identity `identity` to `tcp://host:port`,
/// giving up after `timeout`.
pub async fn connect(host: &str, port: u16, identity: &str, timeout: Duration) -> Result<Link, String> {
    let mut opts = SocketOptions::default();
    let id = PeerIdentity::try_from(Bytes::from(identity.as_bytes().to_vec())).map_err(|e| e.to_string())?;
    opts.peer_identity(id).connect_timeout(timeout);
    let mut socket = DealerSocket::with_options(opts);
    let endpoint = format!("tcp://{host}:{port}");
    tokio::time::timeout(timeout + Duration::from_secs(1), socket.connect(&endpoint))
        .await
        .map_err(|_| format!("connect {endpoint}: timed out"))?
        .map_err(|e| format!("connect {endpoint}: {e}"))?;
    let (send, mut recv) = socket.split();
    let (tx, incoming) = mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            match recv.recv().await {
                Ok(msg) => {
                    // One frame per message; a stray extra frame is ignored.
                    let frame = msg.get(0).map(|b| b.to_vec()).unwrap_or_default();
                    if tx.send(Ok(frame)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string())).await;
                    return;
                }
            }
        }
    });
    Ok(Link {
        sink: Box::new(ZmqSink(send)),
        incoming,
    })
}
